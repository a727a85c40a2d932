// Blueprint-visible mirrors of foil.hpp's typed payloads (foil::ChatResponse, foil::SessionInit,
// foil::Persona, foil::MachineInfo, the game events, foil::Error). FoilNative.h converts to them.
// Optional values of foil.hpp become empty strings (or -1 for numbers), so Blueprints need no
// "is set" pins; scores are int32 (clamped) because that is what Blueprint math and UI expect.

#pragma once

#include "CoreMinimal.h"

#include "FoilTypes.generated.h"

/** What a game event reports (foil::EventKind StateChange ... SessionEnded). */
UENUM(BlueprintType)
enum class EFoilGameEventKind : uint8
{
	/** The conversation moved to another state: FromState, ToState, Decision. */
	StateChange UMETA(DisplayName = "State Change"),
	/** The score changed: OldScore, NewScore, Delta. */
	ScoreChange UMETA(DisplayName = "Score Change"),
	/** The machine (scenario) finished this turn: Outcome, FinalScore. */
	MachineCompleted UMETA(DisplayName = "Machine Completed"),
	/** Finishing the machine unlocked others: UnlockedMachines. */
	MachinesUnlocked UMETA(DisplayName = "Machines Unlocked"),
	/** The session ended and takes no more messages: Outcome, FinalScore. */
	SessionEnded UMETA(DisplayName = "Session Ended"),
};

/**
 * Why a request failed (foil::Error). Either refused before anything was sent (bLocal: a bad
 * argument, no client) or reported by the server/network (HttpStatus, or 0 when there was no
 * HTTP answer: codes transport_error, timeout, cancelled). Match on Code, never on Message.
 */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilError
{
	GENERATED_BODY()

	/** A stable snake_case code: the server's error code (docs/errors.md) or the library's (invalid_argument, transport_error, timeout, cancelled, ...). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Code;

	/** A sentence for people; may change between versions. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Message;

	/** The HTTP status (401, 404, 409, 429, ...), or 0 when there was no HTTP answer. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 HttpStatus = 0;

	/** Seconds the server asked to wait before retrying (429/503), or -1 when it did not say. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 RetryAfterSeconds = -1;

	/** True when the call was refused before anything was sent (bad argument, not connected). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bLocal = false;

	/** The request that failed; 0 for refused calls. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int64 RequestId = 0;

	/** One line for logs and on-screen messages, e.g. "401 invalid_api_key: Invalid API key". */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Description;

	/** True when the request was cancelled (CancelRequest, or the client was disconnected). */
	bool IsCancelled() const { return Code == TEXT("cancelled"); }
};

/** A machine unlocked by finishing another one (foil::UnlockedMachine). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilUnlockedMachine
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineId;

	/** Stable key from the persona document (e.g. order_coffee). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineKey;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Name;

	/** Whether the game should start it at once. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bIsAutoAdvance = false;
};

/**
 * The NPC's answer to a message (foil::ChatResponse). While a reply streams, the same struct
 * carries the turn's metadata with Message holding the text received so far.
 */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilChatResponse
{
	GENERATED_BODY()

	/** The reply text. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Message;

	/** The conversation's state after this turn. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString CurrentState;

	/** The score after this turn. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 Score = 0;

	/** ACCEPT, REJECT or KICK_OUT once the session ended; empty while it goes on. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Outcome;

	/** The evaluator's decision for this turn; empty if none. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Decision;

	/** Whether the NPC asked a follow-up question. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bFollowUp = false;

	/** The session (a UUID). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString SessionId;

	/** The persona's scoring mode. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString ScoringMode;

	/** How many times the conversation was redirected, or -1 when not tracked. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 RedirectCount = -1;

	/** Whether the machine (scenario) finished this turn. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bMachineCompleted = false;

	/** Machines unlocked by finishing this one. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	TArray<FFoilUnlockedMachine> UnlockedMachines;

	/** True once the session has an outcome (it takes no more messages). */
	bool HasEnded() const { return !Outcome.IsEmpty(); }
};

/** The answer to InitSession: the session and the NPC's greeting (foil::SessionInit). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilSessionInit
{
	GENERATED_BODY()

	/** The session (a UUID). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString SessionId;

	/** Your id for the player (user_session_id), as sent. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PlayerId;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PersonaName;

	/** Empty if the persona has none. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PersonaDescription;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PlayerName;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PlayerGender;

	/** The NPC's greeting. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Message;

	/** The machine (scenario) the session plays; pass it to SendPlayerMessage. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineId;
};

/** A published persona the API key reaches (foil::Persona). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilPersona
{
	GENERATED_BODY()

	/** The persona id (a UUID): what InitSession and SendPlayerMessage take. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Id;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Name;

	/** Empty if none. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Description;

	/** RFC 3339 timestamps. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString CreatedAt;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString UpdatedAt;
};

/** A machine (scenario) the player can play now (foil::MachineInfo). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilMachine
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineId;

	/** Stable key from the persona document (e.g. order_coffee). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineKey;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Name;

	/** Empty if none. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Description;

	/** Whether this player has a session on it. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bHasSession = false;

	/** The outcome of that session if it ended; empty otherwise. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString SessionOutcome;

	/** Whether another machine unlocks this one. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bIsLinked = false;
};

/**
 * A game event, derived by the library from each reply of a session (foil::StateChange,
 * foil::ScoreChange, foil::MachineCompleted, foil::MachinesUnlocked, foil::SessionEnded).
 * One struct for all kinds so a Blueprint can switch on Kind; the fields of other kinds stay
 * empty.
 */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilGameEvent
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	EFoilGameEventKind Kind = EFoilGameEventKind::StateChange;

	/** The session the event belongs to. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString SessionId;

	/** StateChange: the state before and after the turn, and the turn's decision (may be empty). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString FromState;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString ToState;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Decision;

	/** ScoreChange: the score before and after the turn; Delta = NewScore - OldScore. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 OldScore = 0;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 NewScore = 0;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 Delta = 0;

	/** MachineCompleted, SessionEnded: ACCEPT, REJECT or KICK_OUT (MachineCompleted: may be empty). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Outcome;

	/** MachineCompleted, SessionEnded: the score at the end. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 FinalScore = 0;

	/** MachinesUnlocked: the newly unlocked machines. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	TArray<FFoilUnlockedMachine> UnlockedMachines;
};

/** A session's status (foil::SessionStatus): where the conversation stands. */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilSessionStatus
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString SessionId;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PersonaId;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString MachineId;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString CurrentState;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 Score = 0;

	/** ACCEPT, REJECT or KICK_OUT once the session ended; empty while it runs. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Outcome;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PlayerName;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString PlayerGender;

	/** RFC 3339 timestamps. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString StartedAt;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString LastMessageAt;
};

/** One message of a session's history (foil::HistoryMessage), the greeting first. */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilHistoryMessage
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Id;

	/** "assistant" (the NPC) or "user" (the player). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Role;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Content;

	/** The state when the message was stored; empty if not recorded. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString StateKeyAtTime;

	/** The score when the message was stored (valid when bHasScoreAtTime). */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	int32 ScoreAtTime = 0;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bHasScoreAtTime = false;

	/** The turn's decision; empty if none. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Decision;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bFollowUpTriggered = false;

	/** RFC 3339 timestamp. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString CreatedAt;
};

/** A session with all its messages (foil::ChatHistory). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilHistory
{
	GENERATED_BODY()

	/** The session's status, as GetSession gives it. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FFoilSessionStatus Session;

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	TArray<FFoilHistoryMessage> Messages;
};

/** Whether an LLM key works (foil::LlmKeyValidation). */
USTRUCT(BlueprintType)
struct FOILENGINE_API FFoilLlmKeyCheck
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	bool bValid = false;

	/** The model it was checked against. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Model;

	/** Why not, if not; empty when valid. */
	UPROPERTY(BlueprintReadOnly, Category = "Foil Engine")
	FString Error;
};
