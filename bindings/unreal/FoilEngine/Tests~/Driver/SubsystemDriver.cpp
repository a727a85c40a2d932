// TEST PROGRAM, NEVER SHIPPED (Unreal ignores folders whose names end in '~'). Built by
// foil-ffi-tests/tests/unreal_standin.rs together with the plugin's Private/*.cpp against the
// Unreal stand-in (../StandIn), under AddressSanitizer and UBSan, and linked with libfoil.
//
// It plays the game engine's part: makes GEngine, a game instance, its world and its
// UFoilEngineSubsystem, loads the FoilEngine module, calls Initialize, ticks the subsystem once
// per frame (Tick(0.016f), as the tickable manager does) and calls what a game calls, checking
// every result, and that every callback, pin and delegate runs on this (the game) thread inside
// Tick. Each RunStep prints "ok <step>" or "FAIL <step>: <why>"; the exit status is 1 if any
// step failed.
//
// Environment: FOIL_BASE_URL, FOIL_API_KEY and FOIL_PERSONA_ID of a real foil-server with the
// demo personas (offline provider); FOIL_SILENT_URL, a listener that never answers (requests to
// it stay in flight); FOIL_CLOSED_URL, a port nobody listens on; FOIL_MACHINE_KEY and FOIL_OUTCOME, the scenario of a playthrough and how
// it ends. Arguments: the playthrough's messages.

#include "CoreMinimal.h"
#include "Engine/Engine.h"
#include "Engine/GameInstance.h"
#include "Engine/World.h"
#include "FoilAsyncActions.h"
#include "FoilEngineModule.h"
#include "FoilNative.h"
#include "FoilNpcComponent.h"
#include "FoilRequestActions.h"
#include "FoilSettings.h"
#include "FoilSubsystem.h"
#include "Modules/ModuleManager.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace
{
	// --- the engine's part ----------------------------------------------------------------------

	struct FGame
	{
		std::thread::id GameThread;
		UGameInstance* GameInstance = nullptr;
		UWorld* World = nullptr;
		UFoilEngineSubsystem* Foil = nullptr;
		bool bInTick = false;
	};
	FGame Game;

	/** What the subsystem's delegates broadcast, and in which order (with the steps' own callbacks). */
	struct FSeen
	{
		std::vector<std::string> Order;
		std::vector<std::pair<FString, FString>> Deltas;
		std::vector<FFoilChatResponse> Replies;
		std::vector<FFoilGameEvent> Events;
		std::vector<FFoilError> Errors;
		int CredentialExpiring = 0;
	};
	FSeen Seen;

	std::vector<std::string> Failures;  // of the running step
	int FailedSteps = 0;

	std::string U(const FString& Text) { return FoilUnreal::ToStd(Text); }
	FString F(const std::string& Text) { return FoilUnreal::ToFString(Text); }
	bool Is(const FString& Text, const char* Expected) { return U(Text) == Expected; }

	void Expect(bool bCondition, const std::string& What)
	{
		if (!bCondition)
		{
			Failures.push_back(What);
		}
	}

	/** Every callback starts with this: it must run on the game thread, inside Tick. */
	void InCallback(const char* Where, bool bMayRunOutsideTick = false)
	{
		Expect(std::this_thread::get_id() == Game.GameThread, std::string(Where) + " ran off the game thread");
		Expect(IsInGameThread(), std::string(Where) + ": IsInGameThread() is false");
		Expect(Game.bInTick || bMayRunOutsideTick, std::string(Where) + " ran outside Tick");
	}

	/** One frame: Tick the subsystem if the tickable manager would. */
	void Frame()
	{
		UFoilEngineSubsystem* Foil = Game.Foil;
		const ETickableTickType Type = Foil->GetTickableTickType();
		if (Type == ETickableTickType::Always || (Type == ETickableTickType::Conditional && Foil->IsTickable()))
		{
			Game.bInTick = true;
			Foil->Tick(0.016f);
			Game.bInTick = false;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(2));
	}

	void Frames(int Count)
	{
		for (int Index = 0; Index < Count; ++Index)
		{
			Frame();
		}
	}

	/** Frames until Done() (false, and a failure, after 30 s). */
	bool TickUntil(const std::function<bool()>& Done, const std::string& What)
	{
		const auto Deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
		while (!Done())
		{
			if (std::chrono::steady_clock::now() > Deadline)
			{
				Expect(false, "timed out waiting for " + What);
				return false;
			}
			Frame();
		}
		return true;
	}

	void RunStep(const char* Name, const std::function<void()>& Body)
	{
		Failures.clear();
		Seen = FSeen();
		Body();
		if (Failures.empty())
		{
			std::printf("ok %s\n", Name);
		}
		else
		{
			++FailedSteps;
			for (const std::string& Failure : Failures)
			{
				std::printf("FAIL %s: %s\n", Name, Failure.c_str());
			}
		}
		std::fflush(stdout);
	}

	std::string Env(const char* Name)
	{
		const char* Value = std::getenv(Name);
		if (Value == nullptr || *Value == 0)
		{
			std::fprintf(stderr, "%s is not set\n", Name);
			std::exit(2);
		}
		return Value;
	}

	std::string Describe(const FFoilError& Error) { return U(Error.Description); }

	/** How one request of a step ended (shared with its callbacks, which may outlive the step's frame). */
	struct FOutcome
	{
		int Done = 0;
		int Failed = 0;
		FFoilError Error;
		bool Finished() const { return Done + Failed > 0; }
	};

	UFoilEngineSubsystem::FFailureCallback RecordFailure(const std::shared_ptr<FOutcome>& Outcome, const char* Where)
	{
		return [Outcome, Where](const FFoilError& Error)
		{
			InCallback(Where);
			++Outcome->Failed;
			Outcome->Error = Error;
			Seen.Order.push_back("onfailure");
		};
	}

	/** The checks of a failure that the server or the library reported for request Id. */
	void ExpectFailure(const FOutcome& Outcome, int64 Id, const char* Code, int32 HttpStatus)
	{
		Expect(Outcome.Failed == 1 && Outcome.Done == 0,
			"expected exactly one failure (done " + std::to_string(Outcome.Done) + ", failed " + std::to_string(Outcome.Failed) + ")");
		Expect(Is(Outcome.Error.Code, Code), std::string("code ") + Code + " expected, got " + Describe(Outcome.Error));
		Expect(Outcome.Error.HttpStatus == HttpStatus, "HTTP status " + std::to_string(HttpStatus) + " expected: " + Describe(Outcome.Error));
		Expect(!Outcome.Error.bLocal, "not a local error: " + Describe(Outcome.Error));
		Expect(Outcome.Error.RequestId == Id, "the error names request " + std::to_string(Id));
		Expect(Seen.Errors.size() == 1 && Is(Seen.Errors[0].Code, Code) && Seen.Errors[0].RequestId == Id,
			"OnError broadcast the failure once after the callback");
	}

	void ExpectReferenced(UObject* Action, bool bReferenced, const char* When)
	{
		Expect(Game.GameInstance->ReferencedObjects.Contains(TWeakObjectPtr<UObject>(Action)) == bReferenced,
			std::string(bReferenced ? "the game instance keeps the action " : "the game instance released the action ") + When);
	}
}

namespace
{
	/** What a request node's pins received. */
	template <typename TResult>
	struct FNodePins
	{
		int Successes = 0;
		int Failures = 0;
		TResult Result{};
		FFoilError Error;
	};

	/** Activates a request node made by its factory and ticks until one of its pins fires. */
	template <typename TResult, typename TAction>
	std::shared_ptr<FNodePins<TResult>> RunNode(TAction* Action, const char* What)
	{
		auto Pins = std::make_shared<FNodePins<TResult>>();
		ExpectReferenced(Action, true, "until it fires");
		Action->OnSuccess.AddLambdaForTest([Pins, What](const TResult& Result, const FFoilError& Error)
		{
			InCallback(What);
			++Pins->Successes;
			Pins->Result = Result;
			Pins->Error = Error;
		});
		Action->OnFailure.AddLambdaForTest([Pins, What](const TResult&, const FFoilError& Error)
		{
			InCallback(What);
			++Pins->Failures;
			Pins->Error = Error;
		});
		Action->Activate();
		Expect(Pins->Successes + Pins->Failures == 0, std::string(What) + ": a pin fired inside Activate");
		TickUntil([Pins] { return Pins->Successes + Pins->Failures > 0; }, What);
		Frames(3);
		Expect(Pins->Successes + Pins->Failures == 1, std::string(What) + ": exactly one pin fired");
		ExpectReferenced(Action, false, "once it fired");
		return Pins;
	}
}

int main(int Argc, char** Argv)
{
	const FString BaseUrl = F(Env("FOIL_BASE_URL"));
	const FString ApiKey = F(Env("FOIL_API_KEY"));
	const FString PersonaId = F(Env("FOIL_PERSONA_ID"));
	const FString SilentUrl = F(Env("FOIL_SILENT_URL"));
	const FString ClosedUrl = F(Env("FOIL_CLOSED_URL"));
	const FString MachineKey = F(Env("FOIL_MACHINE_KEY"));
	const FString ExpectedOutcome = F(Env("FOIL_OUTCOME"));
	std::vector<FString> Playthrough;
	for (int Index = 1; Index < Argc; ++Index)
	{
		Playthrough.push_back(F(Argv[Index]));
	}
	if (Playthrough.size() < 2)
	{
		std::fprintf(stderr, "usage: FOIL_... %s <playthrough message>...\n", Argv[0]);
		return 2;
	}
	const FString UnknownPersona = TEXT("00000000-0000-4000-8000-000000000000");
	const FString Player = TEXT("unreal-standin-player");
	const FString ActionPlayer = TEXT("unreal-standin-action-player");

	// The engine: GEngine, a game instance and its world.
	Game.GameThread = std::this_thread::get_id();
	GEngine = NewObject<UEngine>();
	Game.GameInstance = NewObject<UGameInstance>();
	Game.World = NewObject<UWorld>(Game.GameInstance);
	Game.World->OwningGameInstance = Game.GameInstance;
	Game.GameInstance->World = Game.World;
	UFoilSettings* Settings = GetMutableDefault<UFoilSettings>();
	FString MachineId;
	FFoilSessionInit Session;

	RunStep("initialize_without_an_api_key_stays_disconnected", [&]
	{
		Settings->bConnectOnStartup = true;
		Settings->ApiKey = TEXT(" \n");  // blank: Initialize must not connect
		// One event per frame: a reply streams over many frames, and what a callback queues
		// (e.g. a cached persona list) is handled on a later Tick, never inside the same pump.
		Settings->MaxEventsPerTick = 1;
		UFoilEngineSubsystem* Foil = NewObject<UFoilEngineSubsystem>(Game.GameInstance);
		Game.Foil = Foil;
		Game.GameInstance->SubsystemCollection.AddSubsystemForTest(Foil);
		Foil->Initialize(Game.GameInstance->SubsystemCollection);

		Foil->OnReplyDelta.AddLambdaForTest([](const FString& SessionId, const FString& Text)
		{
			InCallback("OnReplyDelta");
			Seen.Deltas.emplace_back(SessionId, Text);
			Seen.Order.push_back("delta");
		});
		Foil->OnReply.AddLambdaForTest([](const FFoilChatResponse& Reply)
		{
			InCallback("OnReply");
			Seen.Replies.push_back(Reply);
			Seen.Order.push_back("reply");
		});
		Foil->OnGameEvent.AddLambdaForTest([](const FFoilGameEvent& GameEvent)
		{
			InCallback("OnGameEvent");
			Seen.Events.push_back(GameEvent);
			Seen.Order.push_back("event");
		});
		Foil->OnError.AddLambdaForTest([](const FFoilError& Error)
		{
			InCallback("OnError");
			Seen.Errors.push_back(Error);
			Seen.Order.push_back("error");
		});
		Foil->OnCredentialExpiring.AddLambdaForTest([](const FDateTime& /*ExpiresAt*/)
		{
			InCallback("OnCredentialExpiring");
			++Seen.CredentialExpiring;
		});

		Expect(!Foil->IsConnected(), "connected without an API key");
		Expect(Foil->IsTickable() && Foil->GetTickableTickType() == ETickableTickType::Conditional, "the subsystem ticks");
		Expect(Foil->IsTickableWhenPaused() && !Foil->IsTickableInEditor(), "ticks when paused, not in the editor");
		Expect(GetDefault<UFoilEngineSubsystem>()->GetTickableTickType() == ETickableTickType::Never,
			"the class default object never ticks");
		Expect(UFoilEngineSubsystem::Get(Game.World) == Foil, "Get(world) finds the game instance's subsystem");
		Expect(UFoilEngineSubsystem::Get(Foil) == Foil, "Get(subsystem) finds it too");
		Expect(UFoilEngineSubsystem::Get(nullptr) == nullptr, "Get(nullptr) is nullptr");
		Expect(Foil->GetTickableGameObjectWorld() == Game.World, "the tickable's world is the game instance's");
		Expect(Foil->GetClient() == nullptr, "no client");
	});

	RunStep("requests_fail_on_the_next_tick_when_not_connected", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		const int64 Id = Game.Foil->ListPersonas(
			[Outcome](const TArray<FFoilPersona>&) { ++Outcome->Done; }, RecordFailure(Outcome, "ListPersonas OnFailure"));
		Expect(Id == 0, "a refused request has id 0");
		Expect(!Outcome->Finished() && Seen.Errors.empty(), "the failure is not reported from inside the call");
		Frame();
		Expect(Outcome->Failed == 1 && Outcome->Done == 0, "one failure on the next Tick");
		Expect(Is(Outcome->Error.Code, "invalid_handle") && Outcome->Error.bLocal && Outcome->Error.RequestId == 0,
			"a local invalid_handle error: " + Describe(Outcome->Error));
		Expect(Seen.Errors.size() == 1 && Is(Seen.Errors[0].Code, "invalid_handle"), "OnError broadcast it");
		Expect(Seen.Order == std::vector<std::string>({"onfailure", "error"}), "the callback first, then OnError");
	});

	RunStep("connecting_needs_the_module", [&]
	{
		Expect(UFoilEngineSubsystem::GetLibraryVersion().IsEmpty(), "no library version before the module starts");
		Expect(!Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith succeeded without the module");
		Expect(Seen.Errors.empty(), "reported from inside the call");
		Frame();
		Expect(Seen.Errors.size() == 1 && Is(Seen.Errors[0].Code, "library_unavailable") && Seen.Errors[0].bLocal,
			"OnError reports library_unavailable on the next Tick");
		Expect(!Game.Foil->IsConnected(), "connected");
	});

	RunStep("module_startup_finds_the_library", [&]
	{
		IModuleInterface* Module = FModuleManager::Get().LoadModule(TEXT("FoilEngine"));
		Expect(Module != nullptr && Module == FFoilEngineModule::Get(), "FFoilEngineModule::Get() is the loaded module");
		Expect(FFoilEngineModule::Get() != nullptr && FFoilEngineModule::Get()->IsLibraryAvailable(), "the library is available");
		const FString Version = UFoilEngineSubsystem::GetLibraryVersion();
		Expect(!Version.IsEmpty() && Version.Equals(FoilUnreal::ToFString(foil::kHeaderVersion)),
			"library version " + U(Version) + " is the header's " + std::string(foil::kHeaderVersion));
	});

	RunStep("connect_from_project_settings", [&]
	{
		// Pasted values with stray whitespace, which the subsystem trims.
		Settings->BaseUrl = TEXT("  ") + BaseUrl + TEXT("\n");
		Settings->ApiKey = TEXT("\t") + ApiKey + TEXT(" \r\n");
		Settings->TimeoutSeconds = 20.f;
		Settings->MaxRetries = 0;  // a refused connection fails at once
		Expect(Game.Foil->Connect(), "Connect() failed");
		Expect(Game.Foil->IsConnected() && Game.Foil->GetClient() != nullptr, "not connected");
		Frame();
		Expect(Seen.Errors.empty(), "no error");
	});

	RunStep("list_personas", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto Personas = std::make_shared<TArray<FFoilPersona>>();
		const int64 Id = Game.Foil->ListPersonas(
			[Outcome, Personas](const TArray<FFoilPersona>& List)
			{
				InCallback("ListPersonas OnDone");
				++Outcome->Done;
				*Personas = List;
			},
			RecordFailure(Outcome, "ListPersonas OnFailure"));
		Expect(Id > 0, "no request id");
		Expect(!Outcome->Finished(), "finished inside the call");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the persona list"))
			return;
		Expect(Outcome->Done == 1 && Outcome->Failed == 0, "failed: " + Describe(Outcome->Error));
		bool bFound = false;
		for (const FFoilPersona& Persona : *Personas)
		{
			bFound = bFound || (Persona.Id.Equals(PersonaId) && !Persona.Name.IsEmpty() && !Persona.CreatedAt.IsEmpty());
		}
		Expect(bFound, "the persona " + U(PersonaId) + " is not among " + std::to_string(Personas->Num()));
	});

	RunStep("list_machines", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto Machines = std::make_shared<TArray<FFoilMachine>>();
		const int64 Id = Game.Foil->ListMachines(PersonaId, Player,
			[Outcome, Machines](const TArray<FFoilMachine>& List)
			{
				InCallback("ListMachines OnDone");
				++Outcome->Done;
				*Machines = List;
			},
			RecordFailure(Outcome, "ListMachines OnFailure"));
		Expect(Id > 0, "no request id");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the machine list"))
			return;
		Expect(Outcome->Done == 1, "failed: " + Describe(Outcome->Error));
		for (const FFoilMachine& Machine : *Machines)
		{
			if (Machine.MachineKey.Equals(MachineKey))
			{
				MachineId = Machine.MachineId;
			}
		}
		Expect(!MachineId.IsEmpty(), "no machine " + U(MachineKey) + " among " + std::to_string(Machines->Num()));
	});

	RunStep("init_session", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto Init = std::make_shared<FFoilSessionInit>();
		const int64 Id = Game.Foil->InitSession(PersonaId, Player, TEXT("Ada"), TEXT("female"), MachineId,
			[Outcome, Init](const FFoilSessionInit& Started)
			{
				InCallback("InitSession OnDone");
				++Outcome->Done;
				*Init = Started;
			},
			RecordFailure(Outcome, "InitSession OnFailure"));
		Expect(Id > 0, "no request id");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the greeting"))
			return;
		Frames(3);
		Expect(Outcome->Done == 1 && Outcome->Failed == 0, "failed: " + Describe(Outcome->Error));
		Session = *Init;
		Expect(!Session.SessionId.IsEmpty() && !Session.Message.IsEmpty(), "a session and a greeting");
		Expect(Session.PlayerId.Equals(Player) && Session.PlayerName.Equals(TEXT("Ada")) && Session.PlayerGender.Equals(TEXT("female")),
			"the player as sent");
		Expect(Session.MachineId.Equals(MachineId) && !Session.PersonaName.IsEmpty(), "the machine and persona");
		std::printf("  greeting: %s\n", U(Session.Message).c_str());
	});

	RunStep("send_player_message_stream", [&]
	{
		struct FStream
		{
			FOutcome Outcome;
			FString Accumulated;
			int Pieces = 0;
			bool bSoFarMatches = true;
			bool bSessionKnown = true;
			FFoilChatResponse Reply;
		};
		auto State = std::make_shared<FStream>();
		const FString SessionId = Session.SessionId;
		const int64 Id = Game.Foil->SendPlayerMessageStream(PersonaId, Playthrough[0], Player, MachineId,
			[State, SessionId](const FFoilChatResponse& SoFar, const FString& Delta)
			{
				InCallback("SendPlayerMessageStream OnDelta");
				Seen.Order.push_back("ondelta");
				++State->Pieces;
				State->Accumulated += Delta;
				State->bSoFarMatches = State->bSoFarMatches && SoFar.Message.Equals(State->Accumulated) && !Delta.IsEmpty();
				State->bSessionKnown = State->bSessionKnown && SoFar.SessionId.Equals(SessionId);
			},
			[State](const FFoilChatResponse& Reply)
			{
				InCallback("SendPlayerMessageStream OnDone");
				Seen.Order.push_back("ondone");
				++State->Outcome.Done;
				State->Reply = Reply;
			},
			[State](const FFoilError& Error)
			{
				InCallback("SendPlayerMessageStream OnFailure");
				++State->Outcome.Failed;
				State->Outcome.Error = Error;
			});
		Expect(Id > 0, "no request id");
		if (!TickUntil([State] { return State->Outcome.Finished(); }, "the streamed reply"))
			return;
		Frames(3);
		Expect(State->Outcome.Done == 1 && State->Outcome.Failed == 0, "failed: " + Describe(State->Outcome.Error));
		Expect(State->Pieces >= 1, "no pieces");
		Expect(State->bSoFarMatches, "SoFar.Message is not the text received so far");
		Expect(State->bSessionKnown, "SoFar lacks the session (metadata first)");
		Expect(State->Reply.Message.Equals(State->Accumulated), "the reply is not the pieces put together: '" +
			U(State->Reply.Message) + "' vs '" + U(State->Accumulated) + "'");
		Expect(State->Reply.SessionId.Equals(SessionId) && !State->Reply.CurrentState.IsEmpty(), "the reply's session and state");
		Expect(static_cast<int>(Seen.Deltas.size()) == State->Pieces, "OnReplyDelta once per piece");
		for (const auto& [DeltaSession, Text] : Seen.Deltas)
		{
			Expect(DeltaSession.Equals(SessionId) && !Text.IsEmpty(), "OnReplyDelta's session and text");
		}
		Expect(Seen.Replies.size() == 1 && Seen.Replies[0].Message.Equals(State->Reply.Message), "OnReply once with the reply");
		// ondelta, delta (per piece), then ondone, reply, then the game events.
		std::vector<std::string> Expected;
		for (int Index = 0; Index < State->Pieces; ++Index)
		{
			Expected.push_back("ondelta");
			Expected.push_back("delta");
		}
		Expected.push_back("ondone");
		Expected.push_back("reply");
		Expected.resize(Expected.size() + Seen.Events.size(), "event");
		Expect(Seen.Order == Expected, "callbacks and delegates out of order");
		std::printf("  %d pieces, %zu game events: %s\n", State->Pieces, Seen.Events.size(), U(State->Reply.Message).c_str());
	});

	RunStep("send_player_message", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto Reply = std::make_shared<FFoilChatResponse>();
		const int64 Id = Game.Foil->SendPlayerMessage(PersonaId, Playthrough[1], Player, MachineId,
			[Outcome, Reply](const FFoilChatResponse& Whole)
			{
				InCallback("SendPlayerMessage OnDone");
				Seen.Order.push_back("ondone");
				++Outcome->Done;
				*Reply = Whole;
			},
			RecordFailure(Outcome, "SendPlayerMessage OnFailure"));
		Expect(Id > 0, "no request id");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the reply"))
			return;
		Frames(3);
		Expect(Outcome->Done == 1 && Outcome->Failed == 0, "failed: " + Describe(Outcome->Error));
		Expect(!Reply->Message.IsEmpty() && Reply->SessionId.Equals(Session.SessionId), "a reply in the session");
		Expect(Seen.Deltas.empty(), "a whole reply has no pieces");
		Expect(Seen.Replies.size() == 1 && Seen.Order.size() >= 2 && Seen.Order[0] == "ondone" && Seen.Order[1] == "reply",
			"OnDone, then OnReply");
	});

	RunStep("reset_session", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto ResetId = std::make_shared<FString>();
		const int64 Id = Game.Foil->ResetSession(PersonaId, Player, MachineId,
			[Outcome, ResetId](const FString& SessionId)
			{
				InCallback("ResetSession OnDone");
				++Outcome->Done;
				*ResetId = SessionId;
			},
			RecordFailure(Outcome, "ResetSession OnFailure"));
		Expect(Id > 0, "no request id");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the reset"))
			return;
		Expect(Outcome->Done == 1 && !ResetId->IsEmpty(), "failed: " + Describe(Outcome->Error));
	});

	RunStep("playthrough_reaches_its_outcome_with_game_events", [&]
	{
		FFoilChatResponse Last;
		for (std::size_t Index = 0; Index < Playthrough.size() && Failures.empty(); ++Index)
		{
			auto Outcome = std::make_shared<FOutcome>();
			auto Reply = std::make_shared<FFoilChatResponse>();
			auto OnDone = [Outcome, Reply](const FFoilChatResponse& Whole)
			{
				InCallback("playthrough OnDone");
				++Outcome->Done;
				*Reply = Whole;
			};
			// Alternately streamed and whole.
			const int64 Id = Index % 2 == 0
				? Game.Foil->SendPlayerMessageStream(PersonaId, Playthrough[Index], Player, MachineId, nullptr, OnDone,
					RecordFailure(Outcome, "playthrough OnFailure"))
				: Game.Foil->SendPlayerMessage(PersonaId, Playthrough[Index], Player, MachineId, OnDone,
					RecordFailure(Outcome, "playthrough OnFailure"));
			Expect(Id > 0, "no request id");
			TickUntil([Outcome] { return Outcome->Finished(); }, "reply " + std::to_string(Index + 1));
			Frames(3);
			Expect(Outcome->Done == 1, "message " + std::to_string(Index + 1) + " failed: " + Describe(Outcome->Error));
			Expect(Reply->HasEnded() == (Index + 1 == Playthrough.size()), "the session ends with the last message");
			Last = *Reply;
		}
		Frames(20);  // the last turn's game events, one per frame
		const std::vector<FFoilGameEvent>& Events = Seen.Events;
		Expect(Seen.Replies.size() == Playthrough.size(), "OnReply once per message");
		Expect(Last.Outcome.Equals(ExpectedOutcome), "outcome " + U(Last.Outcome) + ", expected " + U(ExpectedOutcome));
		bool bStateChange = false;
		bool bScoreChange = false;
		bool bEnded = false;
		for (const FFoilGameEvent& Event : Events)
		{
			Expect(Event.SessionId.Equals(Last.SessionId), "a game event of another session");
			switch (Event.Kind)
			{
			case EFoilGameEventKind::StateChange:
				bStateChange = true;
				Expect(!Event.FromState.IsEmpty() && !Event.ToState.IsEmpty() && !Event.FromState.Equals(Event.ToState),
					"a state change from " + U(Event.FromState) + " to " + U(Event.ToState));
				break;
			case EFoilGameEventKind::ScoreChange:
				bScoreChange = true;
				Expect(Event.Delta == Event.NewScore - Event.OldScore && Event.Delta != 0, "a score change's delta");
				break;
			case EFoilGameEventKind::SessionEnded:
				bEnded = true;
				Expect(Event.Outcome.Equals(ExpectedOutcome) && Event.FinalScore == Last.Score, "the session's end");
				break;
			default:
				break;
			}
		}
		Expect(bStateChange && bScoreChange && bEnded, "state changes, score changes and the session's end were broadcast");
		std::printf("  %zu game events, outcome %s, score %d\n", Events.size(), U(Last.Outcome).c_str(), Last.Score);
	});

	RunStep("unknown_persona_fails_with_404", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		const int64 Id = Game.Foil->InitSession(UnknownPersona, Player, TEXT("Ada"), TEXT("female"), FString(),
			[Outcome](const FFoilSessionInit&) { ++Outcome->Done; }, RecordFailure(Outcome, "InitSession OnFailure"));
		Expect(Id > 0, "no request id");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the failure"))
			return;
		Frames(3);
		ExpectFailure(*Outcome, Id, "persona_not_found", 404);
		Expect(!Outcome->Error.Description.IsEmpty() && !Outcome->Error.IsCancelled(), "a description");
	});

	RunStep("refused_requests_fail_on_the_next_tick", [&]
	{
		FString TooLong;
		for (int Index = 0; Index < 2001; ++Index)
		{
			TooLong += TEXT("a");
		}
		auto Empty = std::make_shared<FOutcome>();
		auto Long = std::make_shared<FOutcome>();
		const int64 EmptyId = Game.Foil->SendPlayerMessage(FString(), TEXT("Hello"), Player, MachineId,
			[Empty](const FFoilChatResponse&) { ++Empty->Done; }, RecordFailure(Empty, "SendPlayerMessage OnFailure"));
		const int64 LongId = Game.Foil->SendPlayerMessageStream(PersonaId, TooLong, Player, MachineId, nullptr,
			[Long](const FFoilChatResponse&) { ++Long->Done; }, RecordFailure(Long, "SendPlayerMessageStream OnFailure"));
		Expect(EmptyId == 0 && LongId == 0, "refused requests have id 0");
		Expect(!Empty->Finished() && !Long->Finished(), "reported from inside the call");
		Frame();
		for (const auto& Outcome : {Empty, Long})
		{
			Expect(Outcome->Failed == 1 && Outcome->Done == 0 && Outcome->Error.bLocal && Outcome->Error.RequestId == 0 &&
				!Outcome->Error.Code.IsEmpty(), "a local failure: " + Describe(Outcome->Error));
		}
		Expect(Seen.Errors.size() == 2, "OnError twice");
		std::printf("  %s; %s\n", Describe(Empty->Error).c_str(), Describe(Long->Error).c_str());
	});

	RunStep("cancel_request", [&]
	{
		Expect(Game.Foil->ConnectWith(SilentUrl, ApiKey, FString(), FString()), "ConnectWith the silent server");
		auto Outcome = std::make_shared<FOutcome>();
		auto Pieces = std::make_shared<int>(0);
		const int64 Id = Game.Foil->SendPlayerMessageStream(PersonaId, TEXT("Anyone there?"), Player, MachineId,
			[Pieces](const FFoilChatResponse&, const FString&) { ++*Pieces; },
			[Outcome](const FFoilChatResponse&) { ++Outcome->Done; }, RecordFailure(Outcome, "stream OnFailure"));
		Expect(Id > 0, "no request id");
		Frames(5);
		Expect(!Outcome->Finished(), "the silent server answered");
		Expect(Game.Foil->CancelRequest(Id), "CancelRequest refused a request in flight");
		Expect(!Outcome->Finished(), "the cancellation is not reported from inside the call");
		if (!TickUntil([Outcome] { return Outcome->Finished(); }, "the cancellation"))
			return;
		Frames(5);
		ExpectFailure(*Outcome, Id, "cancelled", 0);
		Expect(Outcome->Error.IsCancelled() && *Pieces == 0, "IsCancelled, and no pieces");
		Expect(!Game.Foil->CancelRequest(Id), "CancelRequest of a finished request");
		Expect(!Game.Foil->CancelRequest(0) && !Game.Foil->CancelRequest(-7), "CancelRequest of no request");
	});

	RunStep("disconnect_with_a_request_in_flight", [&]
	{
		Expect(Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith the server");
		auto Outcome = std::make_shared<FOutcome>();
		const int64 Id = Game.Foil->InitSession(PersonaId, TEXT("unreal-standin-disconnect"), TEXT("Cy"), TEXT("non-binary"),
			FString(), [Outcome](const FFoilSessionInit&) { ++Outcome->Done; }, RecordFailure(Outcome, "InitSession OnFailure"));
		Expect(Id > 0, "no request id");
		Game.Foil->Disconnect();
		Expect(!Game.Foil->IsConnected() && Game.Foil->GetClient() == nullptr, "still connected");
		Expect(!Outcome->Finished(), "the failure is reported from inside Disconnect");
		Frame();
		Expect(Outcome->Failed == 1, "no failure on the next Tick");
		Frames(20);
		ExpectFailure(*Outcome, Id, "cancelled", 0);
	});

	RunStep("connect_and_disconnect_from_callbacks", [&]
	{
		// Disconnect from a callback: applied when the Tick's events have been handled.
		Expect(Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith the server");
		auto Outcome = std::make_shared<FOutcome>();
		auto bConnectedAfterDisconnect = std::make_shared<bool>(false);
		Game.Foil->ListPersonas(
			[Outcome, bConnectedAfterDisconnect](const TArray<FFoilPersona>&)
			{
				InCallback("ListPersonas OnDone");
				++Outcome->Done;
				Game.Foil->Disconnect();
				*bConnectedAfterDisconnect = Game.Foil->IsConnected();
			},
			RecordFailure(Outcome, "ListPersonas OnFailure"));
		TickUntil([Outcome] { return Outcome->Finished(); }, "the persona list");
		Expect(Outcome->Done == 1, "failed: " + Describe(Outcome->Error));
		Expect(*bConnectedAfterDisconnect, "Disconnect destroyed the client inside its own callback");
		Expect(!Game.Foil->IsConnected(), "Disconnect was not applied at the end of the Tick");

		// Connect from a callback: the new client replaces the old one after the Tick; a request
		// made meanwhile on the old one is cancelled (on the next Tick), one on the new one works.
		Expect(Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith the server");
		auto First = std::make_shared<FOutcome>();
		auto Orphan = std::make_shared<FOutcome>();
		auto OrphanId = std::make_shared<int64>(0);
		auto OldClient = std::make_shared<foil::Client*>(Game.Foil->GetClient());
		Game.Foil->ListPersonas(
			[First, Orphan, OrphanId, ClosedUrl, ApiKey](const TArray<FFoilPersona>&)
			{
				InCallback("ListPersonas OnDone");
				++First->Done;
				Expect(Game.Foil->ConnectWith(ClosedUrl, TEXT("pk_live_replaced"), FString(), FString()),
					"ConnectWith from a callback");
				Expect(Game.Foil->IsConnected(), "ConnectWith from a callback replaced the client inside the callback");
				Expect(Game.Foil->SetApiKey(ApiKey), "SetApiKey of the pending client");
				*OrphanId = Game.Foil->ListPersonas([Orphan](const TArray<FFoilPersona>&) { ++Orphan->Done; },
					RecordFailure(Orphan, "orphan OnFailure"));
			},
			RecordFailure(First, "ListPersonas OnFailure"));
		TickUntil([First] { return First->Finished(); }, "the persona list");
		Expect(First->Done == 1, "failed: " + Describe(First->Error));
		Expect(Game.Foil->IsConnected() && Game.Foil->GetClient() != *OldClient, "the client was not replaced after the Tick");
		Expect(*OrphanId > 0 && !Orphan->Finished(), "the request on the old client was refused or finished in the same Tick");
		Frame();
		Expect(Orphan->Failed == 1 && Is(Orphan->Error.Code, "cancelled") && Orphan->Error.RequestId == *OrphanId,
			"the old client's request was not cancelled on the next Tick: " + Describe(Orphan->Error));
		// The new client took the base URL of the ConnectWith: a closed port, so a transport error.
		auto Probe = std::make_shared<FOutcome>();
		Game.Foil->ListPersonas([Probe](const TArray<FFoilPersona>&) { ++Probe->Done; }, RecordFailure(Probe, "probe OnFailure"));
		TickUntil([Probe] { return Probe->Finished(); }, "the probe");
		Expect(Probe->Failed == 1 && Probe->Error.HttpStatus == 0 && !Probe->Error.bLocal,
			"the new client talks to the new base URL: " + Describe(Probe->Error));
		Expect(Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith the server again");
	});

	FFoilSessionInit ActionSession;

	RunStep("async_init_session_action", [&]
	{
		struct FPins
		{
			int Successes = 0;
			int Failures = 0;
			FFoilSessionInit Session;
			FFoilError Error;
		};
		auto Pins = std::make_shared<FPins>();
		UFoilInitSessionAction* Action =
			UFoilInitSessionAction::InitSession(Game.World, PersonaId, ActionPlayer, TEXT("Bo"), TEXT("male"), MachineId, true);
		ExpectReferenced(Action, true, "until it fires");
		Action->OnSuccess.AddLambdaForTest([Pins](const FFoilSessionInit& Started, const FFoilError& Error)
		{
			InCallback("Init Session OnSuccess");
			++Pins->Successes;
			Pins->Session = Started;
			Pins->Error = Error;
		});
		Action->OnFailure.AddLambdaForTest([Pins](const FFoilSessionInit&, const FFoilError& Error)
		{
			InCallback("Init Session OnFailure");
			++Pins->Failures;
			Pins->Error = Error;
		});
		Action->Activate();
		Expect(Pins->Successes + Pins->Failures == 0, "a pin fired inside Activate");
		if (!TickUntil([Pins] { return Pins->Successes + Pins->Failures > 0; }, "Init Session"))
			return;
		Action->Cancel();  // finished: nothing to cancel
		Frames(5);
		Expect(Pins->Successes == 1 && Pins->Failures == 0, "OnSuccess once: " + Describe(Pins->Error));
		Expect(!Pins->Session.SessionId.IsEmpty() && !Pins->Session.Message.IsEmpty() && Pins->Session.MachineId.Equals(MachineId),
			"the session and its greeting");
		Expect(Pins->Error.Code.IsEmpty() && Pins->Error.HttpStatus == 0, "an empty error on success");
		ExpectReferenced(Action, false, "once it fired");
		ActionSession = Pins->Session;
	});

	struct FMessagePins
	{
		int Deltas = 0;
		int Successes = 0;
		int Failures = 0;
		FString Accumulated;
		bool bDeltasMatch = true;
		FFoilChatResponse Reply;
		FFoilError Error;
	};
	auto BindMessagePins = [](UFoilSendPlayerMessageAction* Action, const std::shared_ptr<FMessagePins>& Pins,
		bool bMayFailAtOnce = false)
	{
		Action->OnDelta.AddLambdaForTest([Pins](const FFoilChatResponse& SoFar, const FString& Delta, const FFoilError& Error)
		{
			InCallback("Send Player Message OnDelta");
			++Pins->Deltas;
			Pins->Accumulated += Delta;
			Pins->bDeltasMatch = Pins->bDeltasMatch && SoFar.Message.Equals(Pins->Accumulated) && Error.Code.IsEmpty();
		});
		Action->OnSuccess.AddLambdaForTest([Pins](const FFoilChatResponse& Reply, const FString& Delta, const FFoilError& Error)
		{
			InCallback("Send Player Message OnSuccess");
			++Pins->Successes;
			Pins->Reply = Reply;
			Pins->bDeltasMatch = Pins->bDeltasMatch && Delta.IsEmpty() && Error.Code.IsEmpty();
		});
		Action->OnFailure.AddLambdaForTest([Pins, bMayFailAtOnce](const FFoilChatResponse&, const FString&, const FFoilError& Error)
		{
			InCallback("Send Player Message OnFailure", bMayFailAtOnce);
			++Pins->Failures;
			Pins->Error = Error;
		});
	};

	RunStep("async_send_player_message_action_streams", [&]
	{
		auto Pins = std::make_shared<FMessagePins>();
		UFoilSendPlayerMessageAction* Action = UFoilSendPlayerMessageAction::SendPlayerMessage(
			Game.World, PersonaId, Playthrough[0], ActionPlayer, true, ActionSession.MachineId);
		ExpectReferenced(Action, true, "until it fires");
		BindMessagePins(Action, Pins);
		Action->Activate();
		Expect(Pins->Successes + Pins->Failures + Pins->Deltas == 0, "a pin fired inside Activate");
		if (!TickUntil([Pins] { return Pins->Successes + Pins->Failures > 0; }, "Send Player Message"))
			return;
		Frames(5);
		Expect(Pins->Successes == 1 && Pins->Failures == 0, "OnSuccess once: " + Describe(Pins->Error));
		Expect(Pins->Deltas >= 1 && Pins->bDeltasMatch, "OnDelta per piece with the text so far");
		Expect(Pins->Reply.Message.Equals(Pins->Accumulated) && Pins->Reply.SessionId.Equals(ActionSession.SessionId),
			"the reply is the pieces put together");
		Expect(Seen.Replies.size() == 1, "the subsystem's OnReply fired too");
		ExpectReferenced(Action, false, "once it fired");
	});

	RunStep("async_send_player_message_action_whole_reply", [&]
	{
		auto Pins = std::make_shared<FMessagePins>();
		UFoilSendPlayerMessageAction* Action = UFoilSendPlayerMessageAction::SendPlayerMessage(
			Game.World, PersonaId, Playthrough[1], ActionPlayer, false, ActionSession.MachineId);
		BindMessagePins(Action, Pins);
		Action->Activate();
		if (!TickUntil([Pins] { return Pins->Successes + Pins->Failures > 0; }, "Send Player Message"))
			return;
		Frames(5);
		Expect(Pins->Successes == 1 && Pins->Failures == 0 && Pins->Deltas == 0, "OnSuccess once, no OnDelta: " + Describe(Pins->Error));
		Expect(!Pins->Reply.Message.IsEmpty() && Pins->bDeltasMatch, "a reply, with an empty Delta and Error");
		ExpectReferenced(Action, false, "once it fired");
	});

	RunStep("async_request_actions", [&]
	{
		auto Personas = RunNode<TArray<FFoilPersona>>(UFoilListPersonasAction::ListPersonas(Game.World), "List Personas");
		bool bFound = false;
		for (const FFoilPersona& Persona : Personas->Result)
		{
			bFound = bFound || Persona.Id.Equals(PersonaId);
		}
		Expect(Personas->Successes == 1 && bFound, "List Personas lists the persona: " + Describe(Personas->Error));

		auto Machines = RunNode<TArray<FFoilMachine>>(
			UFoilListMachinesAction::ListMachines(Game.World, PersonaId, ActionPlayer), "List Machines");
		Expect(Machines->Successes == 1 && Machines->Result.Num() >= 1, "List Machines: " + Describe(Machines->Error));

		auto Status = RunNode<FFoilSessionStatus>(
			UFoilGetSessionAction::GetSession(Game.World, PersonaId, ActionPlayer, ActionSession.MachineId), "Get Session");
		Expect(Status->Successes == 1 && Status->Result.SessionId.Equals(ActionSession.SessionId)
				&& !Status->Result.CurrentState.IsEmpty(),
			"Get Session: the action player's session: " + Describe(Status->Error));

		auto History = RunNode<FFoilHistory>(
			UFoilGetHistoryAction::GetHistory(Game.World, PersonaId, ActionPlayer, ActionSession.MachineId), "Get History");
		// The greeting and the two turns of the steps above.
		Expect(History->Successes == 1 && History->Result.Messages.Num() == 5
				&& History->Result.Messages[0].Role.Equals(TEXT("assistant"))
				&& History->Result.Messages[1].Content.Equals(Playthrough[0])
				&& History->Result.Session.SessionId.Equals(ActionSession.SessionId),
			"Get History: greeting first, then the player's lines: " + Describe(History->Error));

		auto Key = RunNode<FFoilLlmKeyCheck>(UFoilValidateLlmKeyAction::ValidateLlmKey(Game.World, TEXT("")), "Validate LLM Key");
		Expect(Key->Successes == 1 && !Key->Result.Model.IsEmpty(), "Validate LLM Key answers with a model: " + Describe(Key->Error));

		auto Missing = RunNode<FFoilSessionStatus>(
			UFoilGetSessionAction::GetSession(Game.World, PersonaId, TEXT("nobody-here"), TEXT("")), "Get Session (none)");
		Expect(Missing->Failures == 1 && Is(Missing->Error.Code, "session_not_found") && Missing->Error.HttpStatus == 404,
			"Get Session without a session fails with 404: " + Describe(Missing->Error));

		auto Reset = RunNode<FString>(
			UFoilResetSessionAction::ResetSession(Game.World, PersonaId, ActionPlayer, ActionSession.MachineId), "Reset Session");
		Expect(Reset->Successes == 1 && Reset->Result.Equals(ActionSession.SessionId), "Reset Session: " + Describe(Reset->Error));
	});

	RunStep("npc_component_conversation", [&]
	{
		struct FNpcSeen
		{
			int Started = 0;
			FString Greeting;
			FString Deltas;
			std::vector<FFoilChatResponse> Replies;
			std::vector<FFoilGameEvent> Events;
			std::vector<FFoilError> Failures;
			int Resets = 0;
		};
		auto S = std::make_shared<FNpcSeen>();
		UFoilNpcComponent* Npc = NewObject<UFoilNpcComponent>(Game.World);
		Npc->PersonaId = PersonaId;
		Npc->PlayerId = TEXT("unreal-standin-npc");
		Npc->PlayerName = TEXT("Cy");
		Npc->PlayerGender = TEXT("female");
		Npc->MachineId = MachineId;
		Npc->OnStarted.AddLambdaForTest([S](const FString& Greeting, const FFoilSessionInit& Started)
		{
			InCallback("NPC OnStarted");
			++S->Started;
			S->Greeting = Greeting;
			Expect(Greeting.Equals(Started.Message), "the greeting is the session's message");
		});
		Npc->OnReplyDelta.AddLambdaForTest([S](const FString& Delta, const FString& SoFar)
		{
			InCallback("NPC OnReplyDelta");
			S->Deltas += Delta;
			Expect(SoFar.Len() >= Delta.Len(), "the reply so far includes the piece");
		});
		Npc->OnReply.AddLambdaForTest([S](const FFoilChatResponse& Reply)
		{
			InCallback("NPC OnReply");
			S->Replies.push_back(Reply);
		});
		Npc->OnGameEvent.AddLambdaForTest([S](const FFoilGameEvent& GameEvent)
		{
			InCallback("NPC OnGameEvent");
			Expect(!S->Replies.empty(), "a game event after its reply");
			S->Events.push_back(GameEvent);
		});
		Npc->OnReset.AddLambdaForTest([S](const FString&) { InCallback("NPC OnReset"); ++S->Resets; });
		Npc->OnFailed.AddLambdaForTest([S](const FFoilError& Error)
		{
			InCallback("NPC OnFailed");
			S->Failures.push_back(Error);
		});
		Npc->BeginPlay();
		Expect(!Npc->Say(TEXT("too early")), "Say before the conversation started is refused");
		Expect(Npc->StartConversation() && Npc->IsBusy(), "StartConversation");
		Expect(!Npc->StartConversation() && !Npc->Say(TEXT("now")), "one thing at a time");
		if (!TickUntil([Npc] { return !Npc->IsBusy(); }, "the NPC's greeting"))
			return;
		Expect(S->Started == 1 && !S->Greeting.IsEmpty() && Npc->IsStarted(), "OnStarted with the greeting");
		for (const FString& Line : Playthrough)
		{
			Expect(Npc->Say(Line), "Say");
			Expect(!Npc->Say(Line), "Say while the NPC answers is refused");
			if (!TickUntil([Npc] { return !Npc->IsBusy(); }, "the NPC's reply"))
				return;
		}
		Frames(10);  // the driver delivers one event per frame: the last reply's game events follow it
		Expect(S->Failures.empty(), "no failure");
		Expect(S->Replies.size() == Playthrough.size() && !S->Deltas.IsEmpty(), "a streamed reply per line");
		bool bEnded = false;
		for (const FFoilGameEvent& GameEvent : S->Events)
		{
			Expect(GameEvent.SessionId.Equals(Npc->GetSessionId()), "only this conversation's game events");
			bEnded = bEnded || (GameEvent.Kind == EFoilGameEventKind::SessionEnded && GameEvent.Outcome.Equals(ExpectedOutcome));
		}
		Expect(bEnded, "the playthrough ends the NPC's session with its outcome (" + std::to_string(S->Events.size())
			+ " game events, last reply's outcome " + (S->Replies.empty() ? std::string("none") : U(S->Replies.back().Outcome)) + ")");

		Expect(Npc->ResetConversation(), "ResetConversation");
		TickUntil([Npc] { return !Npc->IsBusy(); }, "the reset");
		Expect(S->Resets == 1, "OnReset");
		Expect(Npc->Say(Playthrough[0]) && Npc->Cancel(), "Cancel a reply in flight");
		TickUntil([Npc] { return !Npc->IsBusy(); }, "the cancelled reply");
		Expect(S->Failures.size() == 1 && Is(S->Failures[0].Code, "cancelled"), "OnFailed with code cancelled");
		Expect(!Npc->Cancel(), "nothing left to cancel");
		Npc->EndPlay(EEndPlayReason::Destroyed);
	});

	RunStep("async_action_failure", [&]
	{
		auto Failures = std::make_shared<std::vector<std::pair<FFoilSessionInit, FFoilError>>>();
		auto Successes = std::make_shared<int>(0);
		UFoilInitSessionAction* Action =
			UFoilInitSessionAction::InitSession(Game.World, UnknownPersona, ActionPlayer, TEXT("Bo"), TEXT("male"));
		Action->OnSuccess.AddLambdaForTest([Successes](const FFoilSessionInit&, const FFoilError&) { ++*Successes; });
		Action->OnFailure.AddLambdaForTest([Failures](const FFoilSessionInit& Empty, const FFoilError& Error)
		{
			InCallback("Init Session OnFailure");
			Failures->emplace_back(Empty, Error);
		});
		Action->Activate();
		if (!TickUntil([Failures] { return !Failures->empty(); }, "Init Session's failure"))
			return;
		Frames(5);
		Expect(Failures->size() == 1 && *Successes == 0, "OnFailure once");
		const FFoilError& Error = (*Failures)[0].second;
		Expect(Is(Error.Code, "persona_not_found") && Error.HttpStatus == 404 && !Error.bLocal, "a 404: " + Describe(Error));
		Expect((*Failures)[0].first.SessionId.IsEmpty(), "an empty session on failure");
		ExpectReferenced(Action, false, "once it fired");
	});

	RunStep("async_action_cancel", [&]
	{
		Expect(Game.Foil->ConnectWith(SilentUrl, ApiKey, FString(), FString()), "ConnectWith the silent server");
		auto Pins = std::make_shared<FMessagePins>();
		UFoilSendPlayerMessageAction* Action = UFoilSendPlayerMessageAction::SendPlayerMessage(
			Game.World, PersonaId, TEXT("Anyone there?"), ActionPlayer, true, ActionSession.MachineId);
		BindMessagePins(Action, Pins);
		Action->Activate();
		Frames(5);
		Expect(Pins->Successes + Pins->Failures == 0, "the silent server answered");
		Action->Cancel();
		if (!TickUntil([Pins] { return Pins->Successes + Pins->Failures > 0; }, "the cancellation"))
			return;
		Frames(5);
		Expect(Pins->Failures == 1 && Pins->Successes == 0 && Pins->Deltas == 0, "OnFailure once");
		Expect(Pins->Error.IsCancelled() && !Pins->Error.bLocal, "cancelled: " + Describe(Pins->Error));
		ExpectReferenced(Action, false, "once it fired");
		Expect(Game.Foil->ConnectWith(BaseUrl, ApiKey, FString(), FString()), "ConnectWith the server again");
	});

	RunStep("async_action_without_a_game_instance_fails_at_once", [&]
	{
		auto Pins = std::make_shared<FMessagePins>();
		UFoilSendPlayerMessageAction* Action =
			UFoilSendPlayerMessageAction::SendPlayerMessage(nullptr, PersonaId, TEXT("Hello?"), ActionPlayer);
		ExpectReferenced(Action, false, "(no game instance to keep it)");
		BindMessagePins(Action, Pins, /*bMayFailAtOnce=*/ true);
		Action->Activate();
		Expect(Pins->Failures == 1 && Pins->Successes == 0, "OnFailure fires inside Activate");
		Expect(Is(Pins->Error.Code, "invalid_handle") && Pins->Error.bLocal, "invalid_handle: " + Describe(Pins->Error));
		Frames(3);
		Expect(Pins->Failures == 1, "fired again");
	});

	RunStep("async_action_collected_while_in_flight", [&]
	{
		auto Pins = std::make_shared<FMessagePins>();
		UFoilSendPlayerMessageAction* Action = UFoilSendPlayerMessageAction::SendPlayerMessage(
			Game.World, PersonaId, Playthrough[0], ActionPlayer, false, ActionSession.MachineId);
		BindMessagePins(Action, Pins);
		Action->Activate();
		const TWeakObjectPtr<UFoilSendPlayerMessageAction> Weak(Action);
		Action->MarkAsGarbage();
		CollectGarbage(RF_NoFlags);
		Expect(!Weak.IsValid(), "the action was not collected");
		// Its request finishes in the subsystem (OnReply), which skips the destroyed action.
		if (!TickUntil([] { return !Seen.Replies.empty() || !Seen.Errors.empty(); }, "the request's end"))
			return;
		Frames(5);
		Expect(Seen.Replies.size() == 1 && Seen.Errors.empty(), "the request ended with a reply");
		Expect(Pins->Successes + Pins->Failures + Pins->Deltas == 0, "a destroyed action's pins fired");
	});

	RunStep("deinitialize_with_requests_in_flight", [&]
	{
		auto Outcome = std::make_shared<FOutcome>();
		auto Pins = std::make_shared<FMessagePins>();
		Game.Foil->SendPlayerMessageStream(PersonaId, Playthrough[1], ActionPlayer, ActionSession.MachineId,
			[Outcome](const FFoilChatResponse&, const FString&) { ++Outcome->Done; },
			[Outcome](const FFoilChatResponse&) { ++Outcome->Done; }, RecordFailure(Outcome, "stream OnFailure"));
		UFoilSendPlayerMessageAction* Action = UFoilSendPlayerMessageAction::SendPlayerMessage(
			Game.World, PersonaId, Playthrough[0], ActionPlayer, false, ActionSession.MachineId);
		BindMessagePins(Action, Pins);
		Action->Activate();
		const auto Started = std::chrono::steady_clock::now();
		Game.Foil->Deinitialize();
		const auto Took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - Started);
		Expect(Took < std::chrono::seconds(5), "Deinitialize took " + std::to_string(Took.count()) + " ms");
		Expect(!Game.Foil->IsConnected() && !Game.Foil->IsTickable(), "still connected or ticking");
		Frames(50);
		Expect(!Outcome->Finished() && Pins->Successes + Pins->Failures + Pins->Deltas == 0, "a dropped callback ran");
		Expect(Seen.Order.empty(), "a delegate fired after Deinitialize");
		std::printf("  Deinitialize took %lld ms\n", static_cast<long long>(Took.count()));
	});

	RunStep("module_shutdown", [&]
	{
		Expect(FModuleManager::Get().UnloadModule(TEXT("FoilEngine")), "UnloadModule");
		Expect(FFoilEngineModule::Get() == nullptr, "the module is still there");
		Expect(UFoilEngineSubsystem::GetLibraryVersion().IsEmpty(), "a library version without the module");
	});

	std::printf("%s\n", FailedSteps == 0 ? "all steps passed" : "some steps FAILED");
	return FailedSteps == 0 ? 0 : 1;
}
