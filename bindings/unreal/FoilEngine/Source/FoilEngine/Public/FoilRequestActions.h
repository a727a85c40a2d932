// Blueprint latent nodes for the other requests of the subsystem: List Personas, List
// Machines, Get Session, Get History, Reset Session and Validate LLM Key (Init Session and Send
// Player Message are in FoilAsyncActions.h). Each fires exactly one of OnSuccess / OnFailure on
// the game thread, from the subsystem's Tick; its "Async Action" output pin is the action, for
// calling Cancel.

#pragma once

#include "CoreMinimal.h"
#include "FoilTypes.h"
#include "Kismet/BlueprintAsyncActionBase.h"

#include "FoilRequestActions.generated.h"

class UFoilEngineSubsystem;

/** What every request node shares: the subsystem, the request in flight, exactly one outcome. */
UCLASS(Abstract)
class FOILENGINE_API UFoilRequestAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	/** Cancels the request if it is still in flight; OnFailure then fires with code "cancelled". */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	void Cancel();

	/** Marks the node finished (false if it already was) and lets it be garbage-collected. */
	bool Finish();

protected:
	/** Finds the subsystem of the world context and keeps the node alive until it finishes. */
	void Bind(UObject* WorldContextObject);

	/** The subsystem, or nullptr after failing the node (without a game instance nothing would ever tick). */
	UFoilEngineSubsystem* SubsystemOrFail();

	/** Fails the node at once (no subsystem). */
	virtual void FailNow(const FFoilError& Error) = 0;

	TWeakObjectPtr<UFoilEngineSubsystem> Subsystem;
	int64 RequestId = 0;
	bool bFinished = false;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilPersonasPin, const TArray<FFoilPersona>&, Personas, const FFoilError&, Error);

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilMachinesPin, const TArray<FFoilMachine>&, Machines, const FFoilError&, Error);

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilSessionStatusPin, const FFoilSessionStatus&, Status, const FFoilError&, Error);

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilHistoryPin, const FFoilHistory&, History, const FFoilError&, Error);

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilResetPin, const FString&, SessionId, const FFoilError&, Error);

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilLlmKeyPin, const FFoilLlmKeyCheck&, Check, const FFoilError&, Error);

/** The published personas the API key reaches. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilListPersonasAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * The published personas the API key reaches.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", DisplayName = "List Personas (Foil)"))
	static UFoilListPersonasAction* ListPersonas(UObject* WorldContextObject);

	/** The answer (Personas; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilPersonasPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilPersonasPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
};

/** The machines (scenarios) this player can play now. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilListMachinesAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * The machines (scenarios) this player can play now.
	 * @param PersonaId  The persona.
	 * @param PlayerId   Your id for the player (the API's user_session_id).
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", DisplayName = "List Machines (Foil)"))
	static UFoilListMachinesAction* ListMachines(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId);

	/** The answer (Machines; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilMachinesPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilMachinesPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
	FString Persona;
	FString Player;
};

/** Where the player's session stands (state, score, outcome); fails with 404 session_not_found when there is none. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilGetSessionAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * Where the player's session stands (state, score, outcome); fails with 404 session_not_found when there is none.
	 * @param PersonaId  The persona.
	 * @param PlayerId   The player id given to Init Session.
	 * @param MachineId  The scenario; empty: the player's most recent session with the persona.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", AdvancedDisplay = "MachineId", DisplayName = "Get Session (Foil)"))
	static UFoilGetSessionAction* GetSession(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId);

	/** The answer (Status; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilSessionStatusPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilSessionStatusPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
	FString Persona;
	FString Player;
	FString Machine;
};

/** The session with all its messages, the greeting first (e.g. to rebuild a dialogue log after loading a save). */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilGetHistoryAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * The session with all its messages, the greeting first (e.g. to rebuild a dialogue log after loading a save).
	 * @param PersonaId  The persona.
	 * @param PlayerId   The player id given to Init Session.
	 * @param MachineId  The scenario; empty: the player's most recent session with the persona.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", AdvancedDisplay = "MachineId", DisplayName = "Get History (Foil)"))
	static UFoilGetHistoryAction* GetHistory(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId);

	/** The answer (History; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilHistoryPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilHistoryPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
	FString Persona;
	FString Player;
	FString Machine;
};

/** Starts the session over in its first state with an empty history. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilResetSessionAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * Starts the session over in its first state with an empty history.
	 * @param PersonaId  The persona.
	 * @param PlayerId   The player id given to Init Session.
	 * @param MachineId  The scenario; empty: the player's most recent session with the persona.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", AdvancedDisplay = "MachineId", DisplayName = "Reset Session (Foil)"))
	static UFoilResetSessionAction* ResetSession(UObject* WorldContextObject, const FString& PersonaId, const FString& PlayerId, const FString& MachineId);

	/** The answer (SessionId; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilResetPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilResetPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
	FString Persona;
	FString Player;
	FString Machine;
};

/** Checks the LLM key of the project settings (or ConnectWith) against a model. */
UCLASS(meta = (ExposedAsyncProxy = "AsyncAction"))
class FOILENGINE_API UFoilValidateLlmKeyAction : public UFoilRequestAction
{
	GENERATED_BODY()

public:
	/**
	 * Checks the LLM key of the project settings (or ConnectWith) against a model.
	 * @param Model      The model to check the configured LLM key against; empty: the configured or server default.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine",
		meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject", DisplayName = "Validate LLM Key (Foil)"))
	static UFoilValidateLlmKeyAction* ValidateLlmKey(UObject* WorldContextObject, const FString& Model);

	/** The answer (Check; Error is empty). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilLlmKeyPin OnSuccess;

	/** It failed (not connected, bad argument, an HTTP error, cancelled, ...). */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilLlmKeyPin OnFailure;

	virtual void Activate() override;

protected:
	virtual void FailNow(const FFoilError& Error) override;

private:
	// The node's inputs, kept from the factory until Activate.
	FString Model;
};
