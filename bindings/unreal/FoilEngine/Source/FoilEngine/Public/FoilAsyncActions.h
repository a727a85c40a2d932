// Blueprint latent nodes for a conversation: "Init Session" and "Send Player Message". Each issues
// its request through UFoilEngineSubsystem and fires exactly one of OnSuccess / OnFailure, on
// the game thread, from the subsystem's Tick (so after the node's own exec output; only without
// any game instance, e.g. in an editor utility, does OnFailure fire at once).
// The node's "Async Action" output pin is the action itself, for calling Cancel.

#pragma once

#include "CoreMinimal.h"
#include "FoilTypes.h"
#include "Kismet/BlueprintAsyncActionBase.h"

#include "FoilAsyncActions.generated.h"

class UFoilEngineSubsystem;

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilInitSessionPin, const FFoilSessionInit&, Session, const FFoilError&, Error);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FFoilSendPlayerMessagePin, const FFoilChatResponse&, Reply, const FString&, Delta, const FFoilError&, Error);

/** Starts (or starts over) a conversation and gets the NPC's greeting. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilInitSessionAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	/**
	 * Starts (or starts over) the player's session with a persona; OnSuccess gets the greeting.
	 * @param PersonaId   The persona (a UUID: serve --demo prints them, ListPersonas lists them).
	 * @param PlayerId    Your id for this player (the API's user_session_id), e.g. a save slot or account id.
	 * @param PlayerName  How the NPC addresses the player.
	 * @param PlayerGender female, male or non-binary.
	 * @param MachineId   The scenario to play; empty: the persona's primary one.
	 * @param bFetchInitialState Also fetch the session's state before OnSuccess, so the first reply can report a State Change.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", DisplayName = "Init Session (Foil)",
			AdvancedDisplay = "MachineId,bFetchInitialState"))
	static UFoilInitSessionAction* InitSession(UObject* WorldContextObject, const FString& PersonaId,
		const FString& PlayerId, const FString& PlayerName, const FString& PlayerGender = TEXT("non-binary"),
		const FString& MachineId = TEXT(""), bool bFetchInitialState = true);

	/** The session started: Session holds the greeting (Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilInitSessionPin OnSuccess;

	/** It failed (not connected, bad argument, 401 bad API key, 404 unknown persona, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilInitSessionPin OnFailure;

	/** Cancels the request if it is still in flight; OnFailure then fires with code "cancelled". */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	void Cancel();

	virtual void Activate() override;

private:
	void Succeed(const FFoilSessionInit& Session);
	void Fail(const FFoilError& Error);

	// The node's inputs, kept from the factory until Activate (named apart from its parameters).
	FString Persona;
	FString Player;
	FString Name;
	FString Gender;
	FString Machine;
	bool bFetchState = true;

	TWeakObjectPtr<UFoilEngineSubsystem> Subsystem;
	int64 RequestId = 0;
	bool bFinished = false;
};

/** Sends what the player says and gets the NPC's reply, whole or streamed piece by piece. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilSendPlayerMessageAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	/**
	 * Sends the player's message to the NPC of a session started with Init Session (persona,
	 * message, player: the official SDKs' order).
	 * @param PersonaId   The persona of the session.
	 * @param Message     What the player says (at most 2,000 characters).
	 * @param PlayerId    The player id given to Init Session.
	 * @param bStream     Stream the reply: OnDelta fires for each piece as it arrives.
	 * @param MachineId   The session's scenario (Init Session's Session.MachineId); empty: the player's most recent session with the persona.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", DisplayName = "Send Player Message (Foil)",
			AdvancedDisplay = "MachineId"))
	static UFoilSendPlayerMessageAction* SendPlayerMessage(UObject* WorldContextObject, const FString& PersonaId,
		const FString& Message, const FString& PlayerId, bool bStream = true, const FString& MachineId = TEXT(""));

	/** Streaming only, once per piece: Delta is the new text, Reply.Message the text so far (Reply also has the turn's state and score). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilSendPlayerMessagePin OnDelta;

	/** The whole reply (Reply); game events (the subsystem's On Game Event) follow. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilSendPlayerMessagePin OnSuccess;

	/** It failed (not connected, message too long, 409 session_ended, stream_error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilSendPlayerMessagePin OnFailure;

	/** Cancels the request if it is still in flight (a streamed turn is rolled back); OnFailure then fires with code "cancelled". */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	void Cancel();

	virtual void Activate() override;

private:
	void HandleDelta(const FFoilChatResponse& SoFar, const FString& Piece);
	void Succeed(const FFoilChatResponse& Reply);
	void Fail(const FFoilError& Error);

	// The node's inputs, kept from the factory until Activate (named apart from its parameters).
	FString Persona;
	FString Player;
	FString Text;
	FString Machine;
	bool bStreamReply = true;

	TWeakObjectPtr<UFoilEngineSubsystem> Subsystem;
	int64 RequestId = 0;
	bool bFinished = false;
};
