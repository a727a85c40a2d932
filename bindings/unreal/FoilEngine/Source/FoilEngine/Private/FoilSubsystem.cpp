#include "FoilSubsystem.h"

#include "Engine/Engine.h"
#include "Engine/GameInstance.h"
#include "Engine/World.h"
#include "FoilEngineModule.h"
#include "FoilSettings.h"

#include <chrono>
#include <string>
#include <vector>

namespace
{
	std::chrono::milliseconds ToMilliseconds(float Seconds)
	{
		// 0 (or less) leaves foil.hpp's field at 0, which means "the library's default".
		return std::chrono::milliseconds(Seconds > 0.f ? static_cast<std::int64_t>(static_cast<double>(Seconds) * 1000.0 + 0.5) : 0);
	}

	// Pasted keys often carry a stray space or newline, which HTTP headers refuse.
	std::string Setting(const FString& Value)
	{
		return FoilUnreal::ToStd(Value.TrimStartAndEnd());
	}

	foil::ClientConfig ConfigFromSettings(const UFoilSettings& Settings)
	{
		foil::ClientConfig Config;
		Config.base_url = Setting(Settings.BaseUrl);
		Config.api_key = Setting(Settings.ApiKey);
		Config.llm_api_key = Setting(Settings.LlmApiKey);
		Config.llm_model = Setting(Settings.LlmModel);
		Config.llm_eval_model = Setting(Settings.LlmEvalModel);
		Config.llm_response_model = Setting(Settings.LlmResponseModel);
		Config.llm_summarization_model = Setting(Settings.LlmSummarizationModel);
		Config.llm_eval_api_key = Setting(Settings.LlmEvalApiKey);
		Config.llm_response_api_key = Setting(Settings.LlmResponseApiKey);
		Config.llm_summarization_api_key = Setting(Settings.LlmSummarizationApiKey);
		Config.timeout = ToMilliseconds(Settings.TimeoutSeconds);
		Config.stream_timeout = ToMilliseconds(Settings.StreamTimeoutSeconds);
		Config.max_retries = Settings.MaxRetries;
		Config.persona_cache_ttl = ToMilliseconds(Settings.PersonaCacheTtlSeconds);
		return Config;
	}
}

// --- lifetime ---------------------------------------------------------------------------------

UFoilEngineSubsystem* UFoilEngineSubsystem::Get(const UObject* WorldContextObject)
{
	const UWorld* World = GEngine != nullptr
		? GEngine->GetWorldFromContextObject(WorldContextObject, EGetWorldErrorMode::ReturnNull)
		: nullptr;
	const UGameInstance* GameInstance = World != nullptr ? World->GetGameInstance() : nullptr;
	return GameInstance != nullptr ? GameInstance->GetSubsystem<UFoilEngineSubsystem>() : nullptr;
}

void UFoilEngineSubsystem::Initialize(FSubsystemCollectionBase& Collection)
{
	Super::Initialize(Collection);
	bInitialized = true;

	const UFoilSettings* Settings = GetDefault<UFoilSettings>();
	MaxEventsPerTick = FMath::Max(0, Settings->MaxEventsPerTick);
	if (!Settings->bConnectOnStartup)
	{
		return;
	}
	if (Settings->ApiKey.TrimStartAndEnd().IsEmpty())
	{
		UE_LOG(LogFoilEngine, Warning,
			TEXT("No API key in Project Settings > Plugins > Foil Engine: not connecting. Set one, or call ConnectWith at run time."));
		return;
	}
	Connect();
}

void UFoilEngineSubsystem::Deinitialize()
{
	bInitialized = false;
	// The game instance (and the async actions it keeps alive) is going away: there is nobody
	// left to tell, so pending callbacks are dropped rather than finished.
	Deferred.Reset();
	PendingConfig.Reset();
	bPendingDisconnect = false;
	DestroyClient(/*bFinishPending=*/ false);
	Super::Deinitialize();
}

// --- ticking ----------------------------------------------------------------------------------

void UFoilEngineSubsystem::Tick(float /*DeltaTime*/)
{
	// Failures of refused or abandoned requests, queued so that they, too, arrive here.
	if (Deferred.Num() > 0)
	{
		TArray<TFunction<void()>> Now = MoveTemp(Deferred);
		Deferred.Reset();
		for (TFunction<void()>& Call : Now)
		{
			Call();
		}
	}

	if (Client.IsValid())
	{
		// Callbacks run inside pump(); while they do, the client must not be destroyed, so
		// Connect/Disconnect called from them are applied below instead.
		TGuardValue<bool> PumpingGuard(bPumping, true);
		Client->pump(static_cast<std::size_t>(MaxEventsPerTick));
	}

	if (bPendingDisconnect)
	{
		bPendingDisconnect = false;
		DestroyClient(/*bFinishPending=*/ true);
	}
	if (PendingConfig.IsSet())
	{
		const foil::ClientConfig Config = MoveTemp(PendingConfig.GetValue());
		PendingConfig.Reset();
		ConnectWithConfig(Config);
	}
}

ETickableTickType UFoilEngineSubsystem::GetTickableTickType() const
{
	// The class default object is constructed (and so registered) like any instance; it must
	// never tick.
	return IsTemplate() ? ETickableTickType::Never : ETickableTickType::Conditional;
}

bool UFoilEngineSubsystem::IsTickable() const
{
	return bInitialized;
}

UWorld* UFoilEngineSubsystem::GetTickableGameObjectWorld() const
{
	const UGameInstance* GameInstance = GetGameInstance();
	return GameInstance != nullptr ? GameInstance->GetWorld() : nullptr;
}

TStatId UFoilEngineSubsystem::GetStatId() const
{
	RETURN_QUICK_DECLARE_CYCLE_STAT(UFoilEngineSubsystem, STATGROUP_Tickables);
}

// --- connection -------------------------------------------------------------------------------

bool UFoilEngineSubsystem::Connect()
{
	return ConnectWithConfig(ConfigFromSettings(*GetDefault<UFoilSettings>()));
}

bool UFoilEngineSubsystem::ConnectWith(const FString& BaseUrl, const FString& ApiKey, const FString& LlmApiKey,
	const FString& LlmModel)
{
	foil::ClientConfig Config = ConfigFromSettings(*GetDefault<UFoilSettings>());
	if (!BaseUrl.TrimStartAndEnd().IsEmpty())
	{
		Config.base_url = Setting(BaseUrl);
	}
	if (!ApiKey.TrimStartAndEnd().IsEmpty())
	{
		Config.api_key = Setting(ApiKey);
	}
	if (!LlmApiKey.TrimStartAndEnd().IsEmpty())
	{
		Config.llm_api_key = Setting(LlmApiKey);
	}
	if (!LlmModel.TrimStartAndEnd().IsEmpty())
	{
		Config.llm_model = Setting(LlmModel);
	}
	return ConnectWithConfig(Config);
}

bool UFoilEngineSubsystem::ConnectWithConfig(const foil::ClientConfig& Config)
{
	check(IsInGameThread());
	if (bPumping)
	{
		PendingConfig = Config;
		bPendingDisconnect = false;
		return true;
	}

	DestroyClient(/*bFinishPending=*/ true);

	const FFoilEngineModule* Module = FFoilEngineModule::Get();
	if (Module == nullptr || !Module->IsLibraryAvailable())
	{
		FailNextTick(FoilUnreal::MakeLocalError(TEXT("library_unavailable"),
			TEXT("the native library (libfoil) is not loaded; see the LogFoilEngine error at startup")), nullptr);
		return false;
	}

	// Makes no request: a wrong key or an unreachable server shows up on the first request.
	foil::Result<foil::Client> Created = foil::Client::create(Config);
	if (!Created)
	{
		FailNextTick(FoilUnreal::ToUnreal(Created.error()), nullptr);
		return false;
	}
	Client = MakeUnique<foil::Client>(MoveTemp(Created).value());
	Client->set_handlers(MakeGameEventHandlers());
	UE_LOG(LogFoilEngine, Log, TEXT("Foil Engine client created for %s."),
		Config.base_url.empty() ? TEXT("https://api.foilengine.io") : *FoilUnreal::ToFString(Config.base_url));
	return true;
}

void UFoilEngineSubsystem::Disconnect()
{
	check(IsInGameThread());
	if (bPumping)
	{
		bPendingDisconnect = true;
		PendingConfig.Reset();
		return;
	}
	DestroyClient(/*bFinishPending=*/ true);
}

bool UFoilEngineSubsystem::SetApiKey(const FString& ApiKey)
{
	check(IsInGameThread());
	const std::string Key = Setting(ApiKey);
	if (PendingConfig.IsSet())
	{
		// Connect was called from a callback: the client made after this Tick gets the key too.
		PendingConfig.GetValue().api_key = Key;
	}
	if (!Client.IsValid())
	{
		if (PendingConfig.IsSet())
		{
			return true;
		}
		FailNextTick(FoilUnreal::MakeLocalError(TEXT("invalid_handle"),
			TEXT("not connected: call Connect or ConnectWith before SetApiKey")), nullptr);
		return false;
	}
	const foil::Result<void> Set = Client->set_api_key(Key);
	if (!Set)
	{
		FailNextTick(FoilUnreal::ToUnreal(Set.error()), nullptr);
		return false;
	}
	return true;
}

bool UFoilEngineSubsystem::IsConnected() const
{
	return Client.IsValid();
}

void UFoilEngineSubsystem::DestroyClient(bool bFinishPending)
{
	// ~foil::Client frees the native client: requests in flight are cancelled and their
	// callbacks dropped without being called (it returns within about 2 s). The requests'
	// failure paths are finished here instead, so every request made through the subsystem
	// ends exactly once.
	Client.Reset();
	TMap<uint64, FFailureCallback> Abandoned = MoveTemp(InFlight);
	InFlight.Reset();
	if (!bFinishPending)
	{
		return;
	}
	for (TPair<uint64, FFailureCallback>& Pair : Abandoned)
	{
		FFoilError Error = FoilUnreal::MakeLocalError(TEXT("cancelled"), TEXT("the Foil Engine client was disconnected"));
		Error.bLocal = false;  // it had been sent, like a request cancelled with CancelRequest
		Error.RequestId = static_cast<int64>(Pair.Key);
		FailNextTick(MoveTemp(Error), MoveTemp(Pair.Value));
	}
}

bool UFoilEngineSubsystem::CancelRequest(int64 RequestId)
{
	check(IsInGameThread());
	if (!Client.IsValid() || RequestId <= 0)
	{
		return false;
	}
	const foil::Result<void> Cancelled = Client->cancel(static_cast<foil::RequestId>(RequestId));
	return Cancelled.ok();
}

FString UFoilEngineSubsystem::GetLibraryVersion()
{
	const FFoilEngineModule* Module = FFoilEngineModule::Get();
	if (Module == nullptr || !Module->IsLibraryAvailable())
	{
		return FString();
	}
	return FoilUnreal::ToFString(foil::version());
}

void UFoilEngineSubsystem::BroadcastGameEvent(const FFoilGameEvent& GameEvent)
{
	OnGameEvent.Broadcast(GameEvent);
	// A listener may add or remove listeners: call a snapshot, skipping the ones removed since.
	TArray<uint64> Handles;
	for (const TPair<uint64, FGameEventListener>& Entry : GameEventListeners)
	{
		Handles.Add(Entry.Key);
	}
	for (const uint64 Handle : Handles)
	{
		if (const FGameEventListener* Listener = GameEventListeners.Find(Handle))
		{
			const FGameEventListener Call = *Listener;
			Call(GameEvent);
		}
	}
}

uint64 UFoilEngineSubsystem::AddGameEventListener(FGameEventListener Listener)
{
	const uint64 Handle = NextListener++;
	GameEventListeners.Add(Handle, MoveTemp(Listener));
	return Handle;
}

void UFoilEngineSubsystem::RemoveGameEventListener(uint64 Handle)
{
	GameEventListeners.Remove(Handle);
}

template <typename TNative, typename TOut, typename TIssue>
int64 UFoilEngineSubsystem::Track(TIssue&& Issue, TFunction<void(const TOut&)> OnDone, FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Issue(
		[WeakThis, IdSlot, OnDone, OnFailure](foil::Result<TNative> Result)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (!Result)
			{
				Self->Fail(FoilUnreal::ToUnreal(Result.error()), OnFailure);
				return;
			}
			if (OnDone)
			{
				OnDone(FoilUnreal::ToUnreal(*Result));
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::GetSession(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
	FSessionStatusCallback OnDone, FFailureCallback OnFailure)
{
	return Track<foil::SessionStatus, FFoilSessionStatus>(
		[this, &PersonaId, &PlayerId, &MachineId](foil::ResultCallback<foil::SessionStatus> Done)
		{
			return Client->get_session(FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId),
				FoilUnreal::ToStd(MachineId), std::move(Done));
		},
		MoveTemp(OnDone), MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::GetHistory(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
	FHistoryCallback OnDone, FFailureCallback OnFailure)
{
	return Track<foil::ChatHistory, FFoilHistory>(
		[this, &PersonaId, &PlayerId, &MachineId](foil::ResultCallback<foil::ChatHistory> Done)
		{
			return Client->get_history(FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId),
				FoilUnreal::ToStd(MachineId), std::move(Done));
		},
		MoveTemp(OnDone), MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::ValidateLlmKey(const FString& Model, FLlmKeyCallback OnDone, FFailureCallback OnFailure)
{
	return Track<foil::LlmKeyValidation, FFoilLlmKeyCheck>(
		[this, &Model](foil::ResultCallback<foil::LlmKeyValidation> Done)
		{
			return Client->validate_llm_key(FoilUnreal::ToStd(Model), std::move(Done));
		},
		MoveTemp(OnDone), MoveTemp(OnFailure));
}

foil::GameEventHandlers UFoilEngineSubsystem::MakeGameEventHandlers()
{
	// The handlers run inside pump(), called only from this object's Tick; the weak pointer is
	// belt and braces.
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	auto Broadcast = [WeakThis](const FFoilGameEvent& GameEvent)
	{
		if (UFoilEngineSubsystem* Self = WeakThis.Get())
		{
			Self->BroadcastGameEvent(GameEvent);
		}
	};

	foil::GameEventHandlers Handlers;
	Handlers.on_state_change = [Broadcast](const foil::StateChange& Payload) { Broadcast(FoilUnreal::ToUnreal(Payload)); };
	Handlers.on_score_change = [Broadcast](const foil::ScoreChange& Payload) { Broadcast(FoilUnreal::ToUnreal(Payload)); };
	Handlers.on_machine_completed = [Broadcast](const foil::MachineCompleted& Payload) { Broadcast(FoilUnreal::ToUnreal(Payload)); };
	Handlers.on_machines_unlocked = [Broadcast](const foil::MachinesUnlocked& Payload) { Broadcast(FoilUnreal::ToUnreal(Payload)); };
	Handlers.on_session_ended = [Broadcast](const foil::SessionEnded& Payload) { Broadcast(FoilUnreal::ToUnreal(Payload)); };
	Handlers.on_credential_expiring = [WeakThis](const foil::CredentialExpiring& Payload)
	{
		if (UFoilEngineSubsystem* Self = WeakThis.Get())
		{
			UE_LOG(LogFoilEngine, Log, TEXT("The player token expires at %lld: asking for a fresh one."),
				static_cast<long long>(Payload.expires_at));
			Self->OnCredentialExpiring.Broadcast(FDateTime::FromUnixTimestamp(Payload.expires_at));
		}
	};
	// Only requests issued on GetClient() without a callback end up here: nobody waits for them.
	Handlers.on_unclaimed_event = [](const foil::Event& Event)
	{
		if (Event.kind() == foil::EventKind::Error)
		{
			UE_LOG(LogFoilEngine, Warning, TEXT("Request %llu (no callback) failed: %s"),
				static_cast<unsigned long long>(Event.request_id()), *FoilUnreal::ToFString(Event.error().describe()));
		}
	};
	return Handlers;
}

// --- requests ---------------------------------------------------------------------------------

int64 UFoilEngineSubsystem::BeginRequest(const foil::Result<foil::RequestId>& Issued, const TSharedRef<uint64>& IdSlot,
	FFailureCallback OnFailure)
{
	if (!Issued)
	{
		// Refused before sending (bad argument, message too long, ...): nothing is in flight.
		FailNextTick(FoilUnreal::ToUnreal(Issued.error()), MoveTemp(OnFailure));
		return 0;
	}
	// Callbacks only run inside pump(), after this: the slot is filled before they read it.
	*IdSlot = *Issued;
	InFlight.Add(*Issued, MoveTemp(OnFailure));
	return static_cast<int64>(*Issued);
}

bool UFoilEngineSubsystem::EndRequest(uint64 RequestId)
{
	return InFlight.Remove(RequestId) > 0;
}

int64 UFoilEngineSubsystem::FailNotConnected(FFailureCallback OnFailure)
{
	FailNextTick(FoilUnreal::MakeLocalError(TEXT("invalid_handle"),
		TEXT("not connected: set an API key in Project Settings > Plugins > Foil Engine, or call Connect")),
		MoveTemp(OnFailure));
	return 0;
}

int64 UFoilEngineSubsystem::ListPersonas(FPersonasCallback OnDone, FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Client->list_personas(
		[WeakThis, IdSlot, OnDone, OnFailure](foil::Result<std::vector<foil::Persona>> Personas)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (!Personas)
			{
				Self->Fail(FoilUnreal::ToUnreal(Personas.error()), OnFailure);
				return;
			}
			TArray<FFoilPersona> Out;
			Out.Reserve(static_cast<int32>(Personas->size()));
			for (const foil::Persona& Persona : *Personas)
			{
				Out.Add(FoilUnreal::ToUnreal(Persona));
			}
			if (OnDone)
			{
				OnDone(Out);
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::ListMachines(const FString& PersonaId, const FString& PlayerId, FMachinesCallback OnDone,
	FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Client->list_machines(
		FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId),
		[WeakThis, IdSlot, OnDone, OnFailure](foil::Result<std::vector<foil::MachineInfo>> Machines)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (!Machines)
			{
				Self->Fail(FoilUnreal::ToUnreal(Machines.error()), OnFailure);
				return;
			}
			TArray<FFoilMachine> Out;
			Out.Reserve(static_cast<int32>(Machines->size()));
			for (const foil::MachineInfo& Machine : *Machines)
			{
				Out.Add(FoilUnreal::ToUnreal(Machine));
			}
			if (OnDone)
			{
				OnDone(Out);
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::InitSession(const FString& PersonaId, const FString& PlayerId, const FString& PlayerName,
	const FString& PlayerGender, const FString& MachineId, FSessionCallback OnDone, FFailureCallback OnFailure,
	bool bFetchInitialState)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const std::string Persona = FoilUnreal::ToStd(PersonaId);
	const std::string Player = FoilUnreal::ToStd(PlayerId);
	const foil::Result<foil::RequestId> Issued = Client->init_session(
		Persona, Player, FoilUnreal::ToStd(PlayerName), FoilUnreal::ToStd(PlayerGender), FoilUnreal::ToStd(MachineId),
		[WeakThis, IdSlot, Persona, Player, bFetchInitialState, OnDone, OnFailure](foil::Result<foil::SessionInit> Session)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (!Session)
			{
				Self->Fail(FoilUnreal::ToUnreal(Session.error()), OnFailure);
				return;
			}
			const FFoilSessionInit Init = FoilUnreal::ToUnreal(*Session);
			if (bFetchInitialState)
			{
				Self->FetchInitialState(Persona, Player, Session->machine_id, Init, OnDone);
			}
			else if (OnDone)
			{
				OnDone(Init);
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

void UFoilEngineSubsystem::FetchInitialState(const std::string& PersonaId, const std::string& PlayerId,
	const std::string& MachineId, const FFoilSessionInit& Session, const FSessionCallback& OnDone)
{
	// get_session teaches the client the session's current state, so that the next reply's
	// StateChange can be reported. Best effort: the greeting is delivered whatever happens.
	auto DeliverGreeting = [Session, OnDone]()
	{
		if (OnDone)
		{
			OnDone(Session);
		}
	};
	if (!Client.IsValid())
	{
		DeliverGreeting();
		return;
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Client->get_session(PersonaId, PlayerId, MachineId,
		[WeakThis, IdSlot, DeliverGreeting](foil::Result<foil::SessionStatus> /*Status*/)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self != nullptr && Self->EndRequest(*IdSlot))
			{
				DeliverGreeting();
			}
		});
	if (!Issued)
	{
		DeliverGreeting();
		return;
	}
	*IdSlot = *Issued;
	InFlight.Add(*Issued, FFailureCallback([DeliverGreeting](const FFoilError& /*Error*/) { DeliverGreeting(); }));
}

int64 UFoilEngineSubsystem::SendPlayerMessage(const FString& PersonaId, const FString& Message, const FString& PlayerId,
	const FString& MachineId, FReplyCallback OnDone, FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Client->send_message(
		FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId), FoilUnreal::ToStd(Message), FoilUnreal::ToStd(MachineId),
		[WeakThis, IdSlot, OnDone, OnFailure](foil::Result<foil::ChatResponse> Reply)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (Reply)
			{
				Self->Deliver(FoilUnreal::ToUnreal(*Reply), OnDone);
			}
			else
			{
				Self->Fail(FoilUnreal::ToUnreal(Reply.error()), OnFailure);
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::SendPlayerMessageStream(const FString& PersonaId, const FString& Message, const FString& PlayerId,
	const FString& MachineId, FDeltaCallback OnDelta, FReplyCallback OnDone, FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	// The metadata (state, score, outcome, session) comes first; text pieces add to Message.
	const TSharedRef<FFoilChatResponse> SoFar = MakeShared<FFoilChatResponse>();

	foil::StreamHandlers Handlers;
	Handlers.on_metadata = [SoFar](const foil::ChatResponse& Metadata)
	{
		*SoFar = FoilUnreal::ToUnreal(Metadata);
	};
	Handlers.on_text_delta = [WeakThis, SoFar, OnDelta](std::string_view Piece)
	{
		UFoilEngineSubsystem* Self = WeakThis.Get();
		if (Self == nullptr)
		{
			return;
		}
		// Piece is only valid during this call: converted (copied) at once.
		const FString Delta = FoilUnreal::ToFString(Piece);
		SoFar->Message += Delta;
		if (OnDelta)
		{
			OnDelta(*SoFar, Delta);
		}
		Self->OnReplyDelta.Broadcast(SoFar->SessionId, Delta);
	};
	Handlers.on_done = [WeakThis, IdSlot, OnDone](const foil::ChatResponse& Reply)
	{
		UFoilEngineSubsystem* Self = WeakThis.Get();
		if (Self != nullptr && Self->EndRequest(*IdSlot))
		{
			Self->Deliver(FoilUnreal::ToUnreal(Reply), OnDone);
		}
	};
	Handlers.on_error = [WeakThis, IdSlot, OnFailure](const foil::Error& Error)
	{
		UFoilEngineSubsystem* Self = WeakThis.Get();
		if (Self != nullptr && Self->EndRequest(*IdSlot))
		{
			Self->Fail(FoilUnreal::ToUnreal(Error), OnFailure);
		}
	};

	const foil::Result<foil::RequestId> Issued = Client->send_message_stream(
		FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId), FoilUnreal::ToStd(Message), FoilUnreal::ToStd(MachineId),
		MoveTemp(Handlers));
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

int64 UFoilEngineSubsystem::ResetSession(const FString& PersonaId, const FString& PlayerId, const FString& MachineId,
	FResetCallback OnDone, FFailureCallback OnFailure)
{
	check(IsInGameThread());
	if (!Client.IsValid())
	{
		return FailNotConnected(MoveTemp(OnFailure));
	}
	const TWeakObjectPtr<UFoilEngineSubsystem> WeakThis(this);
	const TSharedRef<uint64> IdSlot = MakeShared<uint64>(0);
	const foil::Result<foil::RequestId> Issued = Client->reset_session(
		FoilUnreal::ToStd(PersonaId), FoilUnreal::ToStd(PlayerId), FoilUnreal::ToStd(MachineId),
		[WeakThis, IdSlot, OnDone, OnFailure](foil::Result<foil::ResetResult> Reset)
		{
			UFoilEngineSubsystem* Self = WeakThis.Get();
			if (Self == nullptr || !Self->EndRequest(*IdSlot))
			{
				return;
			}
			if (!Reset)
			{
				Self->Fail(FoilUnreal::ToUnreal(Reset.error()), OnFailure);
				return;
			}
			if (OnDone)
			{
				OnDone(FoilUnreal::ToFString(Reset->session_id));
			}
		});
	return BeginRequest(Issued, IdSlot, MoveTemp(OnFailure));
}

// --- delivery ---------------------------------------------------------------------------------

void UFoilEngineSubsystem::Deliver(const FFoilChatResponse& Reply, const FReplyCallback& OnDone)
{
	if (OnDone)
	{
		OnDone(Reply);
	}
	OnReply.Broadcast(Reply);
}

void UFoilEngineSubsystem::Fail(const FFoilError& Error, const FFailureCallback& OnFailure)
{
	if (Error.IsCancelled())
	{
		UE_LOG(LogFoilEngine, Log, TEXT("Request %lld cancelled."), Error.RequestId);
	}
	else
	{
		UE_LOG(LogFoilEngine, Warning, TEXT("Request %lld failed: %s"), Error.RequestId, *Error.Description);
	}
	if (OnFailure)
	{
		OnFailure(Error);
	}
	OnError.Broadcast(Error);
}

void UFoilEngineSubsystem::FailNextTick(FFoilError Error, FFailureCallback OnFailure)
{
	// Deferred runs only from this object's Tick, so capturing this is safe.
	Deferred.Emplace([this, Error = MoveTemp(Error), OnFailure = MoveTemp(OnFailure)]()
	{
		Fail(Error, OnFailure);
	});
}
