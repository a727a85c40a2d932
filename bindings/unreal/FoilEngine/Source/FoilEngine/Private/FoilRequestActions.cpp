#include "FoilRequestActions.h"

#include "FoilNative.h"
#include "FoilSubsystem.h"

namespace
{
	/** The success callback of a node: broadcasts OnSuccess once, unless the node is gone or finished. */
	template <typename TResult, typename TAction>
	TFunction<void(const TResult&)> Succeeds(TAction* Action)
	{
		const TWeakObjectPtr<TAction> WeakAction(Action);
		return [WeakAction](const TResult& Result)
		{
			TAction* Self = WeakAction.Get();
			if (Self != nullptr && Self->Finish())
			{
				Self->OnSuccess.Broadcast(Result, FFoilError());
			}
		};
	}

	/** The failure callback of a node: broadcasts OnFailure once. */
	template <typename TResult, typename TAction>
	TFunction<void(const FFoilError&)> Fails(TAction* Action)
	{
		const TWeakObjectPtr<TAction> WeakAction(Action);
		return [WeakAction](const FFoilError& Error)
		{
			TAction* Self = WeakAction.Get();
			if (Self != nullptr && Self->Finish())
			{
				Self->OnFailure.Broadcast(TResult(), Error);
			}
		};
	}
}

void UFoilRequestAction::Bind(UObject* WorldContextObject)
{
	Subsystem = UFoilEngineSubsystem::Get(WorldContextObject);
	// Nothing else references the node while its request is in flight: the game instance keeps
	// it from being garbage-collected until Finish.
	RegisterWithGameInstance(WorldContextObject);
}

UFoilEngineSubsystem* UFoilRequestAction::SubsystemOrFail()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (Foil == nullptr)
	{
		FailNow(FoilUnreal::MakeLocalError(TEXT("invalid_handle"),
			TEXT("no Foil Engine subsystem: the world context has no game instance")));
	}
	return Foil;
}

void UFoilRequestAction::Cancel()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (!bFinished && Foil != nullptr && RequestId != 0)
	{
		Foil->CancelRequest(RequestId);
	}
}

bool UFoilRequestAction::Finish()
{
	if (bFinished)
	{
		return false;
	}
	bFinished = true;
	SetReadyToDestroy();
	return true;
}

// --- List Personas ---

UFoilListPersonasAction* UFoilListPersonasAction::ListPersonas(UObject* WorldContextObject)
{
	UFoilListPersonasAction* Action = NewObject<UFoilListPersonasAction>();
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilListPersonasAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->ListPersonas(Succeeds<TArray<FFoilPersona>>(this), Fails<TArray<FFoilPersona>>(this));
	}
}

void UFoilListPersonasAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(TArray<FFoilPersona>(), Error);
	}
}

// --- List Machines ---

UFoilListMachinesAction* UFoilListMachinesAction::ListMachines(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId)
{
	UFoilListMachinesAction* Action = NewObject<UFoilListMachinesAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilListMachinesAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->ListMachines(Persona, Player, Succeeds<TArray<FFoilMachine>>(this), Fails<TArray<FFoilMachine>>(this));
	}
}

void UFoilListMachinesAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(TArray<FFoilMachine>(), Error);
	}
}

// --- Get Session ---

UFoilGetSessionAction* UFoilGetSessionAction::GetSession(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId)
{
	UFoilGetSessionAction* Action = NewObject<UFoilGetSessionAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Machine = MachineId;
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilGetSessionAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->GetSession(Persona, Player, Machine, Succeeds<FFoilSessionStatus>(this), Fails<FFoilSessionStatus>(this));
	}
}

void UFoilGetSessionAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(FFoilSessionStatus(), Error);
	}
}

// --- Get History ---

UFoilGetHistoryAction* UFoilGetHistoryAction::GetHistory(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId)
{
	UFoilGetHistoryAction* Action = NewObject<UFoilGetHistoryAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Machine = MachineId;
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilGetHistoryAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->GetHistory(Persona, Player, Machine, Succeeds<FFoilHistory>(this), Fails<FFoilHistory>(this));
	}
}

void UFoilGetHistoryAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(FFoilHistory(), Error);
	}
}

// --- Reset Session ---

UFoilResetSessionAction* UFoilResetSessionAction::ResetSession(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId)
{
	UFoilResetSessionAction* Action = NewObject<UFoilResetSessionAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Machine = MachineId;
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilResetSessionAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->ResetSession(Persona, Player, Machine, Succeeds<FString>(this), Fails<FString>(this));
	}
}

void UFoilResetSessionAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(FString(), Error);
	}
}

// --- Validate LLM Key ---

UFoilValidateLlmKeyAction* UFoilValidateLlmKeyAction::ValidateLlmKey(UObject* WorldContextObject, const FString& Model)
{
	UFoilValidateLlmKeyAction* Action = NewObject<UFoilValidateLlmKeyAction>();
	Action->Model = Model;
	Action->Bind(WorldContextObject);
	return Action;
}

void UFoilValidateLlmKeyAction::Activate()
{
	if (UFoilEngineSubsystem* Foil = SubsystemOrFail())
	{
		RequestId = Foil->ValidateLlmKey(Model, Succeeds<FFoilLlmKeyCheck>(this), Fails<FFoilLlmKeyCheck>(this));
	}
}

void UFoilValidateLlmKeyAction::FailNow(const FFoilError& Error)
{
	if (Finish())
	{
		OnFailure.Broadcast(FFoilLlmKeyCheck(), Error);
	}
}
