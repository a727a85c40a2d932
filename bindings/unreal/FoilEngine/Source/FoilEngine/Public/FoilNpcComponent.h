// One NPC's conversation as an actor component: put it on the NPC, set the persona and the
// player, call Start Conversation and then Say for each of the player's lines; the events below
// fire on the game thread, from the subsystem's Tick. No request ids, one line at a time.

#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "FoilTypes.h"

#include "FoilNpcComponent.generated.h"

class UFoilEngineSubsystem;

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilNpcStartedSignature, const FString&, Greeting, const FFoilSessionInit&, Session);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilNpcReplyDeltaSignature, const FString&, Delta, const FString&, ReplySoFar);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilNpcReplySignature, const FFoilChatResponse&, Reply);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilNpcGameEventSignature, const FFoilGameEvent&, GameEvent);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilNpcResetSignature, const FString&, SessionId);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilNpcFailedSignature, const FFoilError&, Error);

/**
 * The conversation of one NPC with the player, through the game instance's Foil Engine
 * subsystem. While the NPC answers (IsBusy), Start Conversation, Say and Reset Conversation
 * return false. Game events of this conversation's session only are passed on (OnGameEvent),
 * after OnReply. Leaving play (EndPlay) cancels what is in flight.
 */
UCLASS(ClassGroup = "Foil Engine", meta = (BlueprintSpawnableComponent))
class FOILENGINE_API UFoilNpcComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	/** The persona (NPC) to talk to: its id (a UUID). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	FString PersonaId;

	/** Your id for the player (the API's user_session_id), e.g. a save slot or account id. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	FString PlayerId = TEXT("player");

	/** How the NPC addresses the player. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	FString PlayerName = TEXT("Player");

	/** female, male or non-binary. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	FString PlayerGender = TEXT("non-binary");

	/** The scenario; empty: the persona's primary one. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine", AdvancedDisplay)
	FString MachineId;

	/** Stream replies (OnReplyDelta for each piece) or deliver them whole. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	bool bStream = true;

	/** Start the conversation in BeginPlay. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Foil Engine")
	bool bStartOnBeginPlay = false;

	/** The session started: the NPC's greeting and the session. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcStartedSignature OnStarted;

	/** A piece of the NPC's reply (when bStream), with the reply so far. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcReplyDeltaSignature OnReplyDelta;

	/** The NPC's whole reply, with the turn's state, score and outcome. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcReplySignature OnReply;

	/** A game event of this conversation (state or score changed, scenario finished, machines unlocked, session ended). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcGameEventSignature OnGameEvent;

	/** Reset Conversation finished: the session is in its first state again. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcResetSignature OnReset;

	/** What the conversation waited for failed or was cancelled. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilNpcFailedSignature OnFailed;

	/** Starts (or starts over) the conversation → OnStarted. False while busy. */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool StartConversation();

	/** Says the player's line → OnReplyDelta…, OnReply, OnGameEvent. False while busy or before OnStarted. */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool Say(const FString& Message);

	/** Starts the session over in its first state → OnReset. False while busy or before OnStarted. */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool ResetConversation();

	/** Cancels what the conversation waits for (OnFailed with code "cancelled" follows). False when idle. */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool Cancel();

	/** Whether the NPC is still answering (or the session still starting). */
	UFUNCTION(BlueprintPure, Category = "Foil Engine")
	bool IsBusy() const { return bBusy; }

	/** Whether the conversation has started. */
	UFUNCTION(BlueprintPure, Category = "Foil Engine")
	bool IsStarted() const { return !SessionId.IsEmpty(); }

	/** The session of the conversation; empty before OnStarted. */
	UFUNCTION(BlueprintPure, Category = "Foil Engine")
	FString GetSessionId() const { return SessionId; }

	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;

private:
	/** The subsystem, or nullptr after OnFailed. */
	UFoilEngineSubsystem* FoilOrFail();
	/** Marks the conversation busy with a request (or fails at once when it was refused). */
	bool Wait(int64 Id);
	void Finish();
	void Fail(const FFoilError& Error);
	void Listen(UFoilEngineSubsystem* Foil);

	FString SessionId;
	FString SessionMachineId;
	int64 RequestId = 0;
	bool bBusy = false;
	TWeakObjectPtr<UFoilEngineSubsystem> ListeningTo;
	uint64 Listener = 0;
};
