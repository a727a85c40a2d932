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

// --- Send Message -----------------------------------------------------------------------------

UFoilSendMessageAction* UFoilSendMessageAction::SendMessage(UObject* WorldContextObject, const FString& PersonaId,
	const FString& PlayerId, const FString& Message, bool bStream, const FString& MachineId)
{
	UFoilSendMessageAction* Action = NewObject<UFoilSendMessageAction>();
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

void UFoilSendMessageAction::Activate()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (Foil == nullptr)
	{
		Fail(NoSubsystemError());
		return;
	}
	const TWeakObjectPtr<UFoilSendMessageAction> WeakThis(this);
	auto OnReply = [WeakThis](const FFoilChatResponse& Reply)
	{
		if (UFoilSendMessageAction* Self = WeakThis.Get())
		{
			Self->Succeed(Reply);
		}
	};
	auto OnFailed = [WeakThis](const FFoilError& Error)
	{
		if (UFoilSendMessageAction* Self = WeakThis.Get())
		{
			Self->Fail(Error);
		}
	};
	if (bStreamReply)
	{
		RequestId = Foil->SendMessageStream(Persona, Player, Text, Machine,
			[WeakThis](const FFoilChatResponse& SoFar, const FString& Piece)
			{
				if (UFoilSendMessageAction* Self = WeakThis.Get())
				{
					Self->HandleDelta(SoFar, Piece);
				}
			},
			OnReply, OnFailed);
	}
	else
	{
		RequestId = Foil->SendMessage(Persona, Player, Text, Machine, OnReply, OnFailed);
	}
}

void UFoilSendMessageAction::Cancel()
{
	UFoilEngineSubsystem* Foil = Subsystem.Get();
	if (!bFinished && Foil != nullptr && RequestId != 0)
	{
		Foil->CancelRequest(RequestId);
	}
}

void UFoilSendMessageAction::HandleDelta(const FFoilChatResponse& SoFar, const FString& Piece)
{
	if (!bFinished)
	{
		OnDelta.Broadcast(SoFar, Piece, FFoilError());
	}
}

void UFoilSendMessageAction::Succeed(const FFoilChatResponse& Reply)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnSuccess.Broadcast(Reply, FString(), FFoilError());
	SetReadyToDestroy();
}

void UFoilSendMessageAction::Fail(const FFoilError& Error)
{
	if (bFinished)
	{
		return;
	}
	bFinished = true;
	OnFailure.Broadcast(FFoilChatResponse(), FString(), Error);
	SetReadyToDestroy();
}
