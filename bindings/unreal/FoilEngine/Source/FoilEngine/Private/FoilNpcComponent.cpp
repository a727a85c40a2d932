#include "FoilNpcComponent.h"

#include "FoilNative.h"
#include "FoilSubsystem.h"

void UFoilNpcComponent::BeginPlay()
{
	Super::BeginPlay();
	if (bStartOnBeginPlay)
	{
		StartConversation();
	}
}

void UFoilNpcComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	Cancel();
	if (UFoilEngineSubsystem* Foil = ListeningTo.Get())
	{
		Foil->RemoveGameEventListener(Listener);
	}
	ListeningTo.Reset();
	Super::EndPlay(EndPlayReason);
}

UFoilEngineSubsystem* UFoilNpcComponent::FoilOrFail()
{
	UFoilEngineSubsystem* Foil = UFoilEngineSubsystem::Get(this);
	if (Foil == nullptr)
	{
		OnFailed.Broadcast(FoilUnreal::MakeLocalError(TEXT("invalid_handle"),
			TEXT("no Foil Engine subsystem: the component's world has no game instance")));
	}
	return Foil;
}

void UFoilNpcComponent::Listen(UFoilEngineSubsystem* Foil)
{
	if (ListeningTo.Get() == Foil)
	{
		return;
	}
	if (UFoilEngineSubsystem* Old = ListeningTo.Get())
	{
		Old->RemoveGameEventListener(Listener);
	}
	const TWeakObjectPtr<UFoilNpcComponent> WeakThis(this);
	Listener = Foil->AddGameEventListener([WeakThis](const FFoilGameEvent& GameEvent)
	{
		UFoilNpcComponent* Self = WeakThis.Get();
		if (Self != nullptr && !Self->SessionId.IsEmpty() && GameEvent.SessionId.Equals(Self->SessionId))
		{
			Self->OnGameEvent.Broadcast(GameEvent);
		}
	});
	ListeningTo = Foil;
}

bool UFoilNpcComponent::Wait(int64 Id)
{
	// A refused request (0) still ends with its failure callback, on the next Tick.
	RequestId = Id;
	bBusy = true;
	return Id != 0;
}

void UFoilNpcComponent::Finish()
{
	RequestId = 0;
	bBusy = false;
}

void UFoilNpcComponent::Fail(const FFoilError& Error)
{
	Finish();
	OnFailed.Broadcast(Error);
}

bool UFoilNpcComponent::StartConversation()
{
	if (bBusy)
	{
		return false;
	}
	UFoilEngineSubsystem* Foil = FoilOrFail();
	if (Foil == nullptr)
	{
		return false;
	}
	Listen(Foil);
	SessionId.Reset();
	SessionMachineId.Reset();
	const TWeakObjectPtr<UFoilNpcComponent> WeakThis(this);
	return Wait(Foil->InitSession(PersonaId, PlayerId, PlayerName, PlayerGender, MachineId,
		[WeakThis](const FFoilSessionInit& Session)
		{
			if (UFoilNpcComponent* Self = WeakThis.Get())
			{
				Self->Finish();
				Self->SessionId = Session.SessionId;
				Self->SessionMachineId = Session.MachineId;
				Self->OnStarted.Broadcast(Session.Message, Session);
			}
		},
		[WeakThis](const FFoilError& Error)
		{
			if (UFoilNpcComponent* Self = WeakThis.Get())
			{
				Self->Fail(Error);
			}
		}));
}

bool UFoilNpcComponent::Say(const FString& Message)
{
	if (bBusy || SessionId.IsEmpty())
	{
		return false;
	}
	UFoilEngineSubsystem* Foil = FoilOrFail();
	if (Foil == nullptr)
	{
		return false;
	}
	const TWeakObjectPtr<UFoilNpcComponent> WeakThis(this);
	auto OnDone = [WeakThis](const FFoilChatResponse& Reply)
	{
		if (UFoilNpcComponent* Self = WeakThis.Get())
		{
			Self->Finish();
			Self->OnReply.Broadcast(Reply);
		}
	};
	auto OnFailure = [WeakThis](const FFoilError& Error)
	{
		if (UFoilNpcComponent* Self = WeakThis.Get())
		{
			Self->Fail(Error);
		}
	};
	if (!bStream)
	{
		return Wait(Foil->SendPlayerMessage(PersonaId, Message, PlayerId, SessionMachineId, OnDone, OnFailure));
	}
	return Wait(Foil->SendPlayerMessageStream(PersonaId, Message, PlayerId, SessionMachineId,
		[WeakThis](const FFoilChatResponse& SoFar, const FString& Delta)
		{
			if (UFoilNpcComponent* Self = WeakThis.Get())
			{
				Self->OnReplyDelta.Broadcast(Delta, SoFar.Message);
			}
		},
		OnDone, OnFailure));
}

bool UFoilNpcComponent::ResetConversation()
{
	if (bBusy || SessionId.IsEmpty())
	{
		return false;
	}
	UFoilEngineSubsystem* Foil = FoilOrFail();
	if (Foil == nullptr)
	{
		return false;
	}
	const TWeakObjectPtr<UFoilNpcComponent> WeakThis(this);
	return Wait(Foil->ResetSession(PersonaId, PlayerId, SessionMachineId,
		[WeakThis](const FString& ResetSessionId)
		{
			if (UFoilNpcComponent* Self = WeakThis.Get())
			{
				Self->Finish();
				Self->OnReset.Broadcast(ResetSessionId);
			}
		},
		[WeakThis](const FFoilError& Error)
		{
			if (UFoilNpcComponent* Self = WeakThis.Get())
			{
				Self->Fail(Error);
			}
		}));
}

bool UFoilNpcComponent::Cancel()
{
	UFoilEngineSubsystem* Foil = UFoilEngineSubsystem::Get(this);
	return bBusy && RequestId != 0 && Foil != nullptr && Foil->CancelRequest(RequestId);
}
