#pragma once

#include "CoreMinimal.h"
#include "FoilNative.h"
#include "FoilTypes.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "Templates/Function.h"
#include "Templates/UniquePtr.h"
#include "Tickable.h"

#include "FoilSubsystem.generated.h"

/** A piece of a streamed reply, as it arrives. */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FFoilReplyDeltaSignature, const FString&, SessionId, const FString&, Text);
/** A whole reply (SendPlayerMessage, or a stream that finished). */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilReplySignature, const FFoilChatResponse&, Reply);
/** A game event: state or score changed, the scenario finished, machines unlocked, the session ended. */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilGameEventSignature, const FFoilGameEvent&, GameEvent);
/** A request made through this subsystem failed (also refused and cancelled ones). */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilErrorSignature, const FFoilError&, Error);
/** The player token in use expires at ExpiresAt (UTC): fetch a fresh one and call SetApiKey. */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FFoilCredentialExpiringSignature, const FDateTime&, ExpiresAt);

/**
 * The Foil Engine client of a game instance. Owns one foil::Client (include/foil.hpp over the
 * native library), created from the project settings (UFoilSettings) when the game instance
 * starts, and pumps its events once per frame in Tick, on the game thread: every callback and
 * delegate of this class runs there, inside Tick. Requests never block; each returns a request
 * id at once (0 when refused, the failure then arrives on the next Tick).
 *
 * Blueprints use the async action nodes (UFoilInitSessionAction, UFoilSendPlayerMessageAction) and
 * the delegates below; C++ uses the request methods with TFunction callbacks, or GetClient().
 * Call everything from the game thread.
 */
UCLASS()
class FOILENGINE_API UFoilEngineSubsystem : public UGameInstanceSubsystem, public FTickableGameObject
{
	GENERATED_BODY()

public:
	using FFailureCallback = TFunction<void(const FFoilError& Error)>;
	using FReplyCallback = TFunction<void(const FFoilChatResponse& Reply)>;
	/** SoFar: the turn's metadata (state, score, outcome) with Message = the text received so far. */
	using FDeltaCallback = TFunction<void(const FFoilChatResponse& SoFar, const FString& Delta)>;
	using FSessionCallback = TFunction<void(const FFoilSessionInit& Session)>;
	using FPersonasCallback = TFunction<void(const TArray<FFoilPersona>& Personas)>;
	using FMachinesCallback = TFunction<void(const TArray<FFoilMachine>& Machines)>;
	using FResetCallback = TFunction<void(const FString& SessionId)>;
	using FSessionStatusCallback = TFunction<void(const FFoilSessionStatus& Status)>;
	using FHistoryCallback = TFunction<void(const FFoilHistory& History)>;
	using FLlmKeyCallback = TFunction<void(const FFoilLlmKeyCheck& Check)>;
	using FGameEventListener = TFunction<void(const FFoilGameEvent& GameEvent)>;

	/** The subsystem of the game instance of WorldContextObject's world, or nullptr. */
	static UFoilEngineSubsystem* Get(const UObject* WorldContextObject);

	// USubsystem
	virtual void Initialize(FSubsystemCollectionBase& Collection) override;
	virtual void Deinitialize() override;

	// FTickableGameObject
	virtual void Tick(float DeltaTime) override;
	virtual ETickableTickType GetTickableTickType() const override;
	virtual bool IsTickable() const override;
	virtual bool IsTickableWhenPaused() const override { return true; }
	virtual bool IsTickableInEditor() const override { return false; }
	virtual UWorld* GetTickableGameObjectWorld() const override;
	virtual TStatId GetStatId() const override;

	/** (Re)creates the client from the project settings. False (and OnError) if it could not be created. */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool Connect();

	/**
	 * (Re)creates the client from the project settings, replacing the values given here (empty
	 * ones keep the settings'): e.g. a player's own LLM key, known only at run time.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine", meta = (AdvancedDisplay = "LlmModel"))
	bool ConnectWith(const FString& BaseUrl, const FString& ApiKey, const FString& LlmApiKey, const FString& LlmModel);

	/**
	 * Frees the client. Requests in flight are cancelled; their failure callbacks (and OnError)
	 * run on the next Tick with code "cancelled". Called from a Foil callback, it takes effect
	 * when the current Tick's events have been handled.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	void Disconnect();

	/**
	 * Replaces the credential of the live client (sent as X-API-Key): an API key, or a fresh
	 * player token from your backend — typically in an OnCredentialExpiring handler. Requests
	 * made from now on send it; the new token's expiry is watched instead of the old one's.
	 * False (and OnError on the next Tick) when not connected or when the key is refused
	 * (empty, or characters not allowed in a header); the credential is unchanged then. Only
	 * the live client changes: Connect() later uses the project settings again.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool SetApiKey(const FString& ApiKey);

	/** True while a client exists (it says nothing about the server being reachable). */
	UFUNCTION(BlueprintPure, Category = "Foil Engine")
	bool IsConnected() const;

	/**
	 * Cancels a request in flight: it finishes with an error with code "cancelled" (a streamed
	 * turn is rolled back by the server). False if it is not in flight.
	 */
	UFUNCTION(BlueprintCallable, Category = "Foil Engine")
	bool CancelRequest(int64 RequestId);

	/** The native library's version (e.g. "0.1.0"), or empty if it is not loaded. */
	UFUNCTION(BlueprintPure, Category = "Foil Engine")
	static FString GetLibraryVersion();

	/** (Re)creates the client from a foil.hpp configuration. */
	bool ConnectWithConfig(const foil::ClientConfig& Config);

	/** The personas the API key reaches. */
	int64 ListPersonas(FPersonasCallback OnDone, FFailureCallback OnFailure = nullptr);

	/** The machines (scenarios) this player can play now. */
	int64 ListMachines(const FString& PersonaId, const FString& PlayerId, FMachinesCallback OnDone,
		FFailureCallback OnFailure = nullptr);

	/**
	 * Starts (or starts over) the player's session with a persona and gets the greeting.
	 * PlayerId is your id for the player (the API's user_session_id); PlayerGender is female,
	 * male or non-binary; an empty MachineId plays the persona's primary machine. With
	 * bFetchInitialState, the session's status is fetched before OnDone so that the first reply
	 * can report a StateChange (the greeting does not say the state); OnDone gets the greeting
	 * even if that fetch fails.
	 */
	int64 InitSession(const FString& PersonaId, const FString& PlayerId, const FString& PlayerName,
		const FString& PlayerGender, const FString& MachineId, FSessionCallback OnDone,
		FFailureCallback OnFailure = nullptr, bool bFetchInitialState = true);

	/**
	 * Sends the player's message (at most 2,000 characters) and gets the whole reply. The
	 * arguments follow the official SDKs' order: persona, message, player. An empty MachineId
	 * means the player's most recently active session of the persona. OnDone runs first, then
	 * OnReply, then OnGameEvent for what the turn changed. (Not named SendMessage: <windows.h>
	 * defines that as a macro, which would rename it in some translation units only.)
	 */
	int64 SendPlayerMessage(const FString& PersonaId, const FString& Message, const FString& PlayerId,
		const FString& MachineId, FReplyCallback OnDone, FFailureCallback OnFailure = nullptr);

	/**
	 * Like SendPlayerMessage, but the reply streams: OnDelta (and OnReplyDelta) for each piece as it
	 * arrives, then OnDone (and OnReply) with the whole reply — or OnFailure at any point.
	 * Streams are never retried.
	 */
	int64 SendPlayerMessageStream(const FString& PersonaId, const FString& Message, const FString& PlayerId,
		const FString& MachineId, FDeltaCallback OnDelta, FReplyCallback OnDone,
		FFailureCallback OnFailure = nullptr);

	/** Starts the session over in its initial state with an empty history. */
	int64 ResetSession(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
		FResetCallback OnDone, FFailureCallback OnFailure = nullptr);

	/**
	 * The session's status (404 session_not_found when there is none). Also teaches the client
	 * the session's state, so the next reply can report a StateChange.
	 */
	int64 GetSession(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
		FSessionStatusCallback OnDone, FFailureCallback OnFailure = nullptr);

	/** The session with all its messages, the greeting first. */
	int64 GetHistory(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
		FHistoryCallback OnDone, FFailureCallback OnFailure = nullptr);

	/** Checks the configured LLM key against Model (empty: the configured or server default). */
	int64 ValidateLlmKey(const FString& Model, FLlmKeyCallback OnDone, FFailureCallback OnFailure = nullptr);

	/**
	 * Calls Listener with every game event, right after OnGameEvent, inside Tick; for C++
	 * objects that cannot bind a dynamic delegate (UFoilNpcComponent filters its session's).
	 * Returns a handle for RemoveGameEventListener.
	 */
	uint64 AddGameEventListener(FGameEventListener Listener);

	/** Stops calling a listener (also from inside one). */
	void RemoveGameEventListener(uint64 Handle);

	/**
	 * The underlying client, for what the methods above do not cover (get_history,
	 * validate_llm_key, ...), or nullptr when not connected. Use its callback overloads: their
	 * callbacks run in this subsystem's Tick. Do not call pump(), poll_event() or wait() on it
	 * (they would take events meant for the subsystem), and do not keep the pointer across
	 * Connect/Disconnect.
	 */
	foil::Client* GetClient() const { return Client.Get(); }

	/** Each piece of a streamed reply (SessionId, text), as it arrives. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilReplyDeltaSignature OnReplyDelta;

	/** Each whole reply: SendPlayerMessage's, or a stream's when it finishes. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilReplySignature OnReply;

	/** Game events, after the reply they come from. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilGameEventSignature OnGameEvent;

	/** Every failed request made through this subsystem, after its own failure callback. */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilErrorSignature OnError;

	/**
	 * The player token the client uses expires soon (at ExpiresAt, UTC): fetch a fresh one from
	 * your backend and pass it to SetApiKey. Broadcast once per token, min(60 s, lifetime / 10)
	 * before it expires (on the next Tick if that moment has passed); never for an API key.
	 */
	UPROPERTY(BlueprintAssignable, Category = "Foil Engine")
	FFoilCredentialExpiringSignature OnCredentialExpiring;

private:
	foil::GameEventHandlers MakeGameEventHandlers();
	void DestroyClient(bool bFinishPending);

	/** Registers an issued request (so Disconnect can finish it), or fails a refused one next Tick. */
	int64 BeginRequest(const foil::Result<foil::RequestId>& Issued, const TSharedRef<uint64>& IdSlot,
		FFailureCallback OnFailure);
	/** False when the request was already finished (or abandoned by Disconnect). */
	bool EndRequest(uint64 RequestId);
	int64 FailNotConnected(FFailureCallback OnFailure);

	/**
	 * Issues a request whose callback gets a foil.hpp result of TNative, and delivers it
	 * converted (FoilUnreal::ToUnreal) to OnDone, or the failure to OnFailure (and OnError).
	 */
	template <typename TNative, typename TOut, typename TIssue>
	int64 Track(TIssue&& Issue, TFunction<void(const TOut&)> OnDone, FFailureCallback OnFailure);

	void BroadcastGameEvent(const FFoilGameEvent& GameEvent);

	void FetchInitialState(const std::string& PersonaId, const std::string& PlayerId,
		const std::string& MachineId, const FFoilSessionInit& Session, const FSessionCallback& OnDone);

	void Deliver(const FFoilChatResponse& Reply, const FReplyCallback& OnDone);
	void Fail(const FFoilError& Error, const FFailureCallback& OnFailure);
	void FailNextTick(FFoilError Error, FFailureCallback OnFailure);

	/** The client; destroying it frees the native client (cancelling what is in flight). */
	TUniquePtr<foil::Client> Client;

	/** Requests in flight → their failure path, for Disconnect to finish them. */
	TMap<uint64, FFailureCallback> InFlight;

	/** Work for the start of the next Tick (failures of refused or abandoned requests). */
	TArray<TFunction<void()>> Deferred;

	/** Connect/Disconnect asked for from a callback, applied once pump() has returned. */
	TOptional<foil::ClientConfig> PendingConfig;
	bool bPendingDisconnect = false;

	/** AddGameEventListener's listeners, by handle. */
	TMap<uint64, FGameEventListener> GameEventListeners;
	uint64 NextListener = 1;

	bool bPumping = false;
	bool bInitialized = false;
	int32 MaxEventsPerTick = 0;
};
