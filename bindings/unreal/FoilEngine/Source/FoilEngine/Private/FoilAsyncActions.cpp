#include "FoilAsyncActions.h"

#include "FoilNative.h"
#include "FoilSubsystem.h"

namespace
{
	FFoilError NoSubsystemError()
	{
		return FoilUnreal::MakeLocalError(TEXT("invalid_handle"),
			TEXT("no Foil Engine subsystem: the world context has no game instance"));
	}
}

// --- Init Session -----------------------------------------------------------------------------

UFoilInitSessionAction* UFoilInitSessionAction::InitSession(UObject* WorldContextObject, const FString& PersonaId,
	const FString& PlayerId, const FString& PlayerName, const FString& PlayerGender, const FString& MachineId,
	bool bFetchInitialState)
{
	UFoilInitSessionAction* Action = NewObject<UFoilInitSessionAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Name = PlayerName;
	Action->Gender = PlayerGender;
	Action->Machine = MachineId;
	Action->bFetchState = bFetchInitialState;
	Action->Subsystem = UFoilEngineSubsystem::Get(WorldContextObject);
	// Nothing else references the action while its request is in flight: the game instance
	// keeps it from being garbage-collected until SetReadyToDestroy.
	Action->RegisterWithGameInstance(WorldContextObject);
	return Action;
}

void UFoilInitSessionAction::Activate()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (Foil == nullptr)
	{
		// Nothing would ever tick to deliver a result later, so fail now.
		Fail(NoSubsystemError());
		return;
	}
	// The subsystem may outlive the action (e.g. the action was destroyed with its game
	// instance's objects): the callbacks hold it weakly.
	const TWeakObjectPtr<UFoilInitSessionAction> WeakThis(this);
	RequestId = Foil->InitSession(Persona, Player, Name, Gender, Machine,
		[WeakThis](const FFoilSessionInit& Session)
		{
			if (UFoilInitSessionAction* Self = WeakThis.Get())
			{
				Self->Succeed(Session);
			}
		},
		[WeakThis](const FFoilError& Error)
		{
			if (UFoilInitSessionAction* Self = WeakThis.Get())
			{
				Self->Fail(Error);
			}
		},
		bFetchState);
}

void UFoilInitSessionAction::Cancel()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (!bFinished && Foil != nullptr && RequestId != 0)
	{
		Foil->CancelRequest(RequestId);
	}
}

void UFoilInitSessionAction::Succeed(const FFoilSessionInit& Session)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnSuccess.Broadcast(Session, FFoilError());
	SetReadyToDestroy();
}

void UFoilInitSessionAction::Fail(const FFoilError& Error)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnFailure.Broadcast(FFoilSessionInit(), Error);
	SetReadyToDestroy();
}

// --- Send Player Message -----------------------------------------------------------------------------

UFoilSendPlayerMessageAction* UFoilSendPlayerMessageAction::SendPlayerMessage(UObject* WorldContextObject, const FString& PersonaId,
	const FString& Message, const FString& PlayerId, bool bStream, const FString& MachineId)
{
	UFoilSendPlayerMessageAction* Action = NewObject<UFoilSendPlayerMessageAction>();
	Action->Persona = PersonaId;
	Action->Player = PlayerId;
	Action->Text = Message;
	Action->Machine = MachineId;
	Action->bStreamReply = bStream;
	Action->Subsystem = UFoilEngineSubsystem::Get(WorldContextObject);
	// See UFoilInitSessionAction::InitSession.
	Action->RegisterWithGameInstance(WorldContextObject);
	return Action;
}

void UFoilSendPlayerMessageAction::Activate()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (Foil == nullptr)
	{
		Fail(NoSubsystemError());
		return;
	}
	const TWeakObjectPtr<UFoilSendPlayerMessageAction> WeakThis(this);
	auto OnReply = [WeakThis](const FFoilChatResponse& Reply)
	{
		if (UFoilSendPlayerMessageAction* Self = WeakThis.Get())
		{
			Self->Succeed(Reply);
		}
	};
	auto OnFailed = [WeakThis](const FFoilError& Error)
	{
		if (UFoilSendPlayerMessageAction* Self = WeakThis.Get())
		{
			Self->Fail(Error);
		}
	};
	if (bStreamReply)
	{
		RequestId = Foil->SendPlayerMessageStream(Persona, Text, Player, Machine,
			[WeakThis](const FFoilChatResponse& SoFar, const FString& Piece)
			{
				if (UFoilSendPlayerMessageAction* Self = WeakThis.Get())
				{
					Self->HandleDelta(SoFar, Piece);
				}
			},
			OnReply, OnFailed);
	}
	else
	{
		RequestId = Foil->SendPlayerMessage(Persona, Text, Player, Machine, OnReply, OnFailed);
	}
}

void UFoilSendPlayerMessageAction::Cancel()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (!bFinished && Foil != nullptr && RequestId != 0)
	{
		Foil->CancelRequest(RequestId);
	}
}

void UFoilSendPlayerMessageAction::HandleDelta(const FFoilChatResponse& SoFar, const FString& Piece)
{
	if (!bFinished)
	{
		OnDelta.Broadcast(SoFar, Piece, FFoilError());
	}
}

void UFoilSendPlayerMessageAction::Succeed(const FFoilChatResponse& Reply)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnSuccess.Broadcast(Reply, FString(), FFoilError());
	SetReadyToDestroy();
}

void UFoilSendPlayerMessageAction::Fail(const FFoilError& Error)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnFailure.Broadcast(FFoilChatResponse(), FString(), Error);
	SetReadyToDestroy();
}
