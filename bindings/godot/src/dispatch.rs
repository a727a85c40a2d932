//! The engine-agnostic core of the Godot binding: no Godot types here.
//!
//! A [`Dispatcher`] owns a private Tokio runtime (two worker threads named `foil-godot`) and a
//! [`foil_client::Client`]. Each request method spawns the client call and returns a request
//! id (> 0) at once; everything the call produces is queued as plain [`Signal`] values, which
//! the engine's main thread takes with [`Dispatcher::drain`] once per frame (the `FoilClient`
//! node does it in `_process` and emits the matching Godot signals). So no network I/O ever
//! blocks the caller, and every result reaches the game on the thread that drains.
//!
//! Guarantees, for every request id:
//! - its signals are queued in the order they happened: for a stream, `StreamMetadata`, then
//!   each `TextDelta` in arrival order, then `MessageReceived`;
//! - exactly one finishing signal is queued (its result signal or `RequestFailed`), also when
//!   it is cancelled ([`Dispatcher::cancel`]) or the dispatcher shuts down (`RequestFailed`
//!   with code `cancelled`), and nothing of that request is queued after it — except the game
//!   events (`StateChanged`, `ScoreChanged`, `MachineCompleted`, `MachinesUnlocked`,
//!   `SessionEnded`) derived from a `MessageReceived`, which follow it immediately, in that
//!   order, before any other signal.
//!
//! Game events come from one [`SessionTracker`] shared by all requests of the dispatcher: it
//! learns from `init_session`, `reset`, `get_session` and `get_history` answers and compares
//! each new chat response with the previous one of the same session.
//!
//! One signal belongs to no request (its request id is 0): [`Signal::CredentialExpiring`],
//! queued once per player token configured, shortly before it expires, so that the game can
//! configure a fresh one (see [`Dispatcher::configure`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use foil_client::{
    refresh_schedule, ArgumentError, Client, ClientConfig, ClientError, ErrorPayload, GameEvent,
    RefreshSchedule, SessionTracker, StreamEvent,
};
use foil_types::wire::{ChatHistory, ChatResponse, ResetResult, SessionInit, SessionStatus};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

/// A request's id: unique per dispatcher, never 0.
pub type RequestId = u64;

/// How long [`Dispatcher::shutdown`] waits for the runtime's threads to stop.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Something for the main thread. Payloads are JSON text (`json`), except text deltas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// `list_personas` finished: a JSON array of personas.
    Personas {
        /// The request.
        request_id: RequestId,
        /// `[Persona]`.
        json: String,
    },
    /// `list_machines` finished: a JSON array of machines.
    Machines {
        /// The request.
        request_id: RequestId,
        /// `[MachineInfo]`.
        json: String,
    },
    /// `init_session` finished: the session and the NPC's greeting.
    SessionStarted {
        /// The request.
        request_id: RequestId,
        /// `SessionInit`.
        json: String,
    },
    /// A streamed turn's result without its text, before any text.
    StreamMetadata {
        /// The request.
        request_id: RequestId,
        /// `StreamMetadata`.
        json: String,
    },
    /// A piece of a streamed reply.
    TextDelta {
        /// The request.
        request_id: RequestId,
        /// The text itself.
        text: String,
    },
    /// A turn finished (`send_message`, or the end of `send_message_stream`).
    MessageReceived {
        /// The request.
        request_id: RequestId,
        /// `ChatResponse`.
        json: String,
    },
    /// Game event: the conversation moved to another state.
    StateChanged {
        /// The request whose answer revealed it.
        request_id: RequestId,
        /// `{"session_id", "from_state", "to_state", "decision"}`.
        json: String,
    },
    /// Game event: the score changed.
    ScoreChanged {
        /// The request whose answer revealed it.
        request_id: RequestId,
        /// `{"session_id", "old_score", "new_score", "delta"}`.
        json: String,
    },
    /// Game event: the scenario finished.
    MachineCompleted {
        /// The request whose answer revealed it.
        request_id: RequestId,
        /// `{"session_id", "outcome", "final_score"}`.
        json: String,
    },
    /// Game event: finishing the scenario unlocked others.
    MachinesUnlocked {
        /// The request whose answer revealed it.
        request_id: RequestId,
        /// `{"session_id", "machines": [UnlockedMachine]}`.
        json: String,
    },
    /// Game event: the session ended.
    SessionEnded {
        /// The request whose answer revealed it.
        request_id: RequestId,
        /// `{"session_id", "outcome", "final_score"}`.
        json: String,
    },
    /// `get_session` finished.
    SessionStatus {
        /// The request.
        request_id: RequestId,
        /// `SessionStatus`.
        json: String,
    },
    /// `get_history` finished.
    History {
        /// The request.
        request_id: RequestId,
        /// `ChatHistory`.
        json: String,
    },
    /// `reset` finished.
    Reset {
        /// The request.
        request_id: RequestId,
        /// `ResetResult`.
        json: String,
    },
    /// `validate_llm_key` finished.
    LlmKeyValidated {
        /// The request.
        request_id: RequestId,
        /// `ValidateLlmKeyResult`.
        json: String,
    },
    /// The request failed (or was cancelled).
    RequestFailed {
        /// The request.
        request_id: RequestId,
        /// `{"status", "code", "message", "retry_after"}`: the server's `error.code` and
        /// message for HTTP errors; `cancelled`, `timeout`, `transport_error`,
        /// `invalid_argument`, `decode_error` or `stream_error` otherwise.
        json: String,
    },
    /// Of no request (its request id is 0): the player token in use expires soon — configure a
    /// fresh one. Queued once per token, `min(60 s, lifetime / 10)` before `expires_at` (at
    /// once when that moment has passed); never for an API key.
    CredentialExpiring {
        /// When the token expires, in seconds since the Unix epoch.
        expires_at: i64,
        /// `{"expires_at"}`.
        json: String,
    },
}

impl Signal {
    /// The request the signal belongs to.
    pub fn request_id(&self) -> RequestId {
        match self {
            Signal::Personas { request_id, .. }
            | Signal::Machines { request_id, .. }
            | Signal::SessionStarted { request_id, .. }
            | Signal::StreamMetadata { request_id, .. }
            | Signal::TextDelta { request_id, .. }
            | Signal::MessageReceived { request_id, .. }
            | Signal::StateChanged { request_id, .. }
            | Signal::ScoreChanged { request_id, .. }
            | Signal::MachineCompleted { request_id, .. }
            | Signal::MachinesUnlocked { request_id, .. }
            | Signal::SessionEnded { request_id, .. }
            | Signal::SessionStatus { request_id, .. }
            | Signal::History { request_id, .. }
            | Signal::Reset { request_id, .. }
            | Signal::LlmKeyValidated { request_id, .. }
            | Signal::RequestFailed { request_id, .. } => *request_id,
            Signal::CredentialExpiring { .. } => 0,
        }
    }

    /// The name of the Godot signal it becomes.
    pub fn name(&self) -> &'static str {
        match self {
            Signal::Personas { .. } => "personas_received",
            Signal::Machines { .. } => "machines_received",
            Signal::SessionStarted { .. } => "session_started",
            Signal::StreamMetadata { .. } => "stream_metadata",
            Signal::TextDelta { .. } => "text_delta",
            Signal::MessageReceived { .. } => "message_received",
            Signal::StateChanged { .. } => "state_changed",
            Signal::ScoreChanged { .. } => "score_changed",
            Signal::MachineCompleted { .. } => "machine_completed",
            Signal::MachinesUnlocked { .. } => "machines_unlocked",
            Signal::SessionEnded { .. } => "session_ended",
            Signal::SessionStatus { .. } => "session_received",
            Signal::History { .. } => "history_received",
            Signal::Reset { .. } => "session_reset",
            Signal::LlmKeyValidated { .. } => "llm_key_validated",
            Signal::RequestFailed { .. } => "request_failed",
            Signal::CredentialExpiring { .. } => "credential_expiring",
        }
    }

    /// The payload: JSON text, or the text itself for [`Signal::TextDelta`].
    pub fn payload(&self) -> &str {
        match self {
            Signal::TextDelta { text, .. } => text,
            Signal::Personas { json, .. }
            | Signal::Machines { json, .. }
            | Signal::SessionStarted { json, .. }
            | Signal::StreamMetadata { json, .. }
            | Signal::MessageReceived { json, .. }
            | Signal::StateChanged { json, .. }
            | Signal::ScoreChanged { json, .. }
            | Signal::MachineCompleted { json, .. }
            | Signal::MachinesUnlocked { json, .. }
            | Signal::SessionEnded { json, .. }
            | Signal::SessionStatus { json, .. }
            | Signal::History { json, .. }
            | Signal::Reset { json, .. }
            | Signal::LlmKeyValidated { json, .. }
            | Signal::RequestFailed { json, .. }
            | Signal::CredentialExpiring { json, .. } => json,
        }
    }

    /// Whether this is its request's finishing signal (its result or `RequestFailed`); stream
    /// metadata, text deltas, game events and `CredentialExpiring` (of no request) are not.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Signal::StreamMetadata { .. }
                | Signal::TextDelta { .. }
                | Signal::StateChanged { .. }
                | Signal::ScoreChanged { .. }
                | Signal::MachineCompleted { .. }
                | Signal::MachinesUnlocked { .. }
                | Signal::SessionEnded { .. }
                | Signal::CredentialExpiring { .. }
        )
    }

    fn credential_expiring(expires_at: i64) -> Signal {
        Signal::CredentialExpiring {
            expires_at,
            json: format!(r#"{{"expires_at":{expires_at}}}"#),
        }
    }

    fn game_event(request_id: RequestId, event: &GameEvent) -> Signal {
        let json = event.payload_json();
        match event {
            GameEvent::StateChange { .. } => Signal::StateChanged { request_id, json },
            GameEvent::ScoreChange { .. } => Signal::ScoreChanged { request_id, json },
            GameEvent::MachineCompleted { .. } => Signal::MachineCompleted { request_id, json },
            GameEvent::MachinesUnlocked { .. } => Signal::MachinesUnlocked { request_id, json },
            GameEvent::SessionEnded { .. } => Signal::SessionEnded { request_id, json },
        }
    }
}

/// How a request ended, turned into signals under the state lock (so the tracker sees
/// responses in the order their signals are queued).
enum Outcome {
    Personas(String),
    Machines(String),
    Init(SessionInit),
    Message(ChatResponse),
    Status(SessionStatus),
    History(ChatHistory),
    Reset(ResetResult),
    KeyValidated(String),
    Failed(ErrorPayload),
}

impl Outcome {
    fn from_result<T>(result: Result<T, ClientError>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
        match result {
            Ok(value) => ok(value),
            Err(error) => Outcome::Failed(error.payload()),
        }
    }

    fn json<T: serde::Serialize>(
        result: Result<T, ClientError>,
        ok: impl FnOnce(String) -> Outcome,
    ) -> Outcome {
        Self::from_result(result, |value| ok(to_json(&value)))
    }
}

/// The queue and everything that must change together with it.
struct State {
    queue: VecDeque<Signal>,
    /// Requests without their finishing signal yet, with the sender that cancels each.
    pending: HashMap<RequestId, oneshot::Sender<()>>,
    tracker: SessionTracker,
    /// Counts the credentials configured: a timer of an earlier one that fires late queues
    /// nothing.
    credential_generation: u64,
    /// When the current credential's `CredentialExpiring` is due (`None`: an API key, no
    /// client, or the signal is queued already).
    credential_timer: Option<AbortHandle>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Notified whenever signals are queued (for [`Dispatcher::wait`]).
    queued: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic: every change is a single push or remove.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an intermediate signal of a request still pending; false when it is not
    /// (cancelled: its finishing signal is queued already, so nothing more may follow).
    fn partial(&self, signal: Signal) -> bool {
        let mut state = self.lock();
        if !state.pending.contains_key(&signal.request_id()) {
            return false;
        }
        state.queue.push_back(signal);
        self.queued.notify_all();
        true
    }

    /// The timer of credential number `generation` went off: its `CredentialExpiring` is
    /// queued, unless another credential replaced it meanwhile or the dispatcher shut down.
    fn credential_expiring(&self, generation: u64, expires_at: i64) {
        let mut state = self.lock();
        if state.closed || state.credential_generation != generation {
            return;
        }
        state.credential_timer = None;
        state
            .queue
            .push_back(Signal::credential_expiring(expires_at));
        self.queued.notify_all();
    }

    /// Queues the finishing signal(s) of a request, unless it was cancelled meanwhile.
    fn finish(&self, request_id: RequestId, outcome: Outcome) {
        let mut state = self.lock();
        if state.pending.remove(&request_id).is_none() {
            return;
        }
        let state = &mut *state;
        let signal = match outcome {
            Outcome::Personas(json) => Signal::Personas { request_id, json },
            Outcome::Machines(json) => Signal::Machines { request_id, json },
            Outcome::Init(init) => {
                state.tracker.observe_init(&init);
                Signal::SessionStarted {
                    request_id,
                    json: to_json(&init),
                }
            }
            Outcome::Message(response) => {
                let events = state.tracker.observe(&response);
                state.queue.push_back(Signal::MessageReceived {
                    request_id,
                    json: to_json(&response),
                });
                for event in &events {
                    state.queue.push_back(Signal::game_event(request_id, event));
                }
                self.queued.notify_all();
                return;
            }
            Outcome::Status(status) => {
                state.tracker.observe_status(&status);
                Signal::SessionStatus {
                    request_id,
                    json: to_json(&status),
                }
            }
            Outcome::History(history) => {
                state.tracker.observe_history(&history);
                Signal::History {
                    request_id,
                    json: to_json(&history),
                }
            }
            Outcome::Reset(reset) => {
                state.tracker.observe_reset(&reset);
                Signal::Reset {
                    request_id,
                    json: to_json(&reset),
                }
            }
            Outcome::KeyValidated(json) => Signal::LlmKeyValidated { request_id, json },
            Outcome::Failed(error) => Signal::RequestFailed {
                request_id,
                json: to_json(&error),
            },
        };
        state.queue.push_back(signal);
        self.queued.notify_all();
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}

fn cancelled_json() -> String {
    to_json(&ClientError::Cancelled.payload())
}

/// Runs client calls on a private runtime and queues their results as [`Signal`]s.
///
/// Usable from any thread (`&self` everywhere but [`Dispatcher::shutdown`]). Dropping it shuts
/// it down; like any Tokio runtime, it must not be shut down or dropped from inside an async
/// context (the Godot main thread is not one).
pub struct Dispatcher {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    /// The client of the last [`Dispatcher::configure`], or why there is none.
    client: Mutex<Result<Client, ClientError>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("running", &self.runtime.is_some())
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish()
    }
}

impl Dispatcher {
    /// Starts the runtime (two worker threads named `foil-godot`). Requests fail with
    /// `invalid_argument` until [`Dispatcher::configure`] succeeds.
    pub fn new() -> std::io::Result<Dispatcher> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("foil-godot")
            .enable_all()
            .build()?;
        Ok(Dispatcher {
            runtime: Some(runtime),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    pending: HashMap::new(),
                    tracker: SessionTracker::new(),
                    credential_generation: 0,
                    credential_timer: None,
                    closed: false,
                }),
                queued: Condvar::new(),
            }),
            client: Mutex::new(Err(ArgumentError::invalid(
                "api_key",
                "the client is not configured yet",
            )
            .into())),
            next_id: AtomicU64::new(1),
        })
    }

    /// Uses `config` for the requests made from now on (requests in flight keep the client
    /// they started with). Cheap when `config` equals the current one. When only `api_key`
    /// differs (a refreshed player token), the current client is kept — its connections too —
    /// and sends the new credential from now on, also on retries of requests in flight. On
    /// failure (no API key, a bad URL, ...) later requests fail with that error until a valid
    /// config is given.
    ///
    /// A new credential's expiry is watched instead of the old one's: for a player token
    /// (`pt_...`), [`Signal::CredentialExpiring`] is queued before it expires.
    pub fn configure(&self, config: ClientConfig) -> Result<(), ClientError> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let mut old_key = None;
        if let Ok(current) = &*client {
            let current_config = current.config();
            if current_config == config {
                return Ok(());
            }
            let same_but_the_key = ClientConfig {
                api_key: config.api_key.clone(),
                ..current_config.clone()
            } == config;
            if same_but_the_key && current.set_api_key(&config.api_key).is_ok() {
                if current.config().api_key != current_config.api_key {
                    self.watch_credential(&config.api_key);
                }
                return Ok(());
            }
            old_key = Some(current_config.api_key);
        }
        *client = Client::new(config);
        match &*client {
            Ok(new) => {
                let key = new.config().api_key;
                if old_key.as_deref() != Some(key.as_str()) {
                    self.watch_credential(&key);
                }
                Ok(())
            }
            Err(error) => {
                self.watch_credential("");
                Err(error.clone())
            }
        }
    }

    /// Schedules [`Signal::CredentialExpiring`] for `credential` at its refresh time (see
    /// [`refresh_schedule`]) — queued at once when that has passed — and drops the
    /// pending one of the previous credential. Nothing for an API key (no expiry).
    fn watch_credential(&self, credential: &str) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let mut state = self.shared.lock();
        if state.closed {
            return;
        }
        state.credential_generation += 1;
        if let Some(timer) = state.credential_timer.take() {
            timer.abort();
        }
        let Some(RefreshSchedule {
            expires_at_unix,
            wait: delay,
        }) = refresh_schedule(credential)
        else {
            return;
        };
        let expires_at = i64::try_from(expires_at_unix).unwrap_or(i64::MAX);
        match delay {
            delay if !delay.is_zero() => {
                let generation = state.credential_generation;
                let shared = self.shared.clone();
                let timer = runtime.spawn(async move {
                    tokio::time::sleep(delay).await;
                    shared.credential_expiring(generation, expires_at);
                });
                state.credential_timer = Some(timer.abort_handle());
            }
            // Due already: drainable at once.
            _ => {
                state
                    .queue
                    .push_back(Signal::credential_expiring(expires_at));
                self.shared.queued.notify_all();
            }
        }
    }

    /// Takes up to `max` queued signals, oldest first. Call it once per frame on the thread
    /// that should receive them.
    pub fn drain(&self, max: usize) -> Vec<Signal> {
        let mut state = self.shared.lock();
        let n = max.min(state.queue.len());
        state.queue.drain(..n).collect()
    }

    /// Blocks until a signal is queued or `timeout` passes; true if one is queued. For tools
    /// and tests: a game never calls this on its main thread.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.queue.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .queued
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// Signals waiting to be drained.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Requests that have not queued their finishing signal yet.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Cancels a request in flight: its `RequestFailed` (code `cancelled`) is queued at once,
    /// nothing more of it follows, and its connection is closed (a streamed turn is rolled back
    /// by the server). False when the request is unknown or already finished.
    pub fn cancel(&self, request_id: RequestId) -> bool {
        let mut state = self.shared.lock();
        let Some(cancel) = state.pending.remove(&request_id) else {
            return false;
        };
        let _ = cancel.send(());
        state.queue.push_back(Signal::RequestFailed {
            request_id,
            json: cancelled_json(),
        });
        self.shared.queued.notify_all();
        true
    }

    /// Cancels everything in flight (each gets its `RequestFailed` with code `cancelled`,
    /// still drainable) and stops the runtime, waiting at most [`SHUTDOWN_GRACE`] for its
    /// threads. Later requests return 0. Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        {
            let mut state = self.shared.lock();
            state.closed = true;
            if let Some(timer) = state.credential_timer.take() {
                timer.abort();
            }
            let mut ids: Vec<RequestId> = state.pending.keys().copied().collect();
            ids.sort_unstable();
            for request_id in ids {
                // Dropping the sender wakes the task, which then stops.
                state.pending.remove(&request_id);
                state.queue.push_back(Signal::RequestFailed {
                    request_id,
                    json: cancelled_json(),
                });
            }
            self.shared.queued.notify_all();
        }
        runtime.shutdown_timeout(SHUTDOWN_GRACE);
    }

    /// `list_personas` → [`Signal::Personas`].
    pub fn list_personas(&self) -> RequestId {
        self.spawn(|client| async move {
            Outcome::json(client.list_personas().await, Outcome::Personas)
        })
    }

    /// `list_machines` → [`Signal::Machines`].
    pub fn list_machines(&self, persona_id: &str, user_session_id: &str) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        self.spawn(|client| async move {
            Outcome::json(
                client.list_machines(&persona_id, &user).await,
                Outcome::Machines,
            )
        })
    }

    /// `init_session` → [`Signal::SessionStarted`].
    pub fn init_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        player_name: &str,
        player_gender: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let (name, gender) = (player_name.to_owned(), player_gender.to_owned());
        let machine_id = machine_id.map(str::to_owned);
        self.spawn(|client| async move {
            let result = client
                .init_session(&persona_id, &user, &name, &gender, machine_id.as_deref())
                .await;
            Outcome::from_result(result, Outcome::Init)
        })
    }

    /// `send_message` → [`Signal::MessageReceived`] and the game events.
    pub fn send_message(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let (message, machine_id) = (message.to_owned(), machine_id.map(str::to_owned));
        self.spawn(|client| async move {
            let result = client
                .send_message(&persona_id, &user, &message, machine_id.as_deref())
                .await;
            Outcome::from_result(result, Outcome::Message)
        })
    }

    /// `send_message_stream` → [`Signal::StreamMetadata`], [`Signal::TextDelta`]s, then
    /// [`Signal::MessageReceived`] and the game events. A failure reported by the server
    /// mid-stream is a `RequestFailed` with code `stream_error` (the turn was not stored).
    pub fn send_message_stream(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let (message, machine_id) = (message.to_owned(), machine_id.map(str::to_owned));
        let shared = self.shared.clone();
        self.spawn_with_id(move |client, request_id| async move {
            let stream =
                client.send_message_stream(&persona_id, &user, &message, machine_id.as_deref());
            futures_util::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                let signal = match item {
                    Ok(StreamEvent::Metadata(metadata)) => Signal::StreamMetadata {
                        request_id,
                        json: to_json(&metadata),
                    },
                    Ok(StreamEvent::TextDelta(text)) => Signal::TextDelta { request_id, text },
                    Ok(StreamEvent::Done(response)) => return Outcome::Message(response),
                    Ok(StreamEvent::Error(message)) => {
                        return Outcome::Failed(ErrorPayload {
                            status: 0,
                            code: "stream_error".into(),
                            message,
                            retry_after: None,
                        })
                    }
                    Err(error) => return Outcome::Failed(error.payload()),
                };
                if !shared.partial(signal) {
                    // Cancelled: its finishing signal is queued already.
                    return Outcome::Failed(ClientError::Cancelled.payload());
                }
            }
            Outcome::Failed(
                ClientError::Transport("the stream ended before the reply was complete".into())
                    .payload(),
            )
        })
    }

    /// `get_session` → [`Signal::SessionStatus`].
    pub fn get_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let machine_id = machine_id.map(str::to_owned);
        self.spawn(|client| async move {
            let result = client
                .get_session(&persona_id, &user, machine_id.as_deref())
                .await;
            Outcome::from_result(result, Outcome::Status)
        })
    }

    /// `get_history` → [`Signal::History`].
    pub fn get_history(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let machine_id = machine_id.map(str::to_owned);
        self.spawn(|client| async move {
            let result = client
                .get_history(&persona_id, &user, machine_id.as_deref())
                .await;
            Outcome::from_result(result, Outcome::History)
        })
    }

    /// `reset` → [`Signal::Reset`].
    pub fn reset(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        let (persona_id, user) = (persona_id.to_owned(), user_session_id.to_owned());
        let machine_id = machine_id.map(str::to_owned);
        self.spawn(|client| async move {
            let result = client
                .reset(&persona_id, &user, machine_id.as_deref())
                .await;
            Outcome::from_result(result, Outcome::Reset)
        })
    }

    /// `validate_llm_key` → [`Signal::LlmKeyValidated`].
    pub fn validate_llm_key(&self, model: Option<&str>) -> RequestId {
        let model = model.map(str::to_owned);
        self.spawn(|client| async move {
            Outcome::json(
                client.validate_llm_key(model.as_deref()).await,
                Outcome::KeyValidated,
            )
        })
    }

    fn spawn<F, Fut>(&self, work: F) -> RequestId
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.spawn_with_id(|client, _| work(client))
    }

    /// Registers a new request, then runs `work` on the runtime (or fails the request at once
    /// when there is no valid client). Returns 0 after shutdown.
    fn spawn_with_id<F, Fut>(&self, work: F) -> RequestId
    where
        F: FnOnce(Client, RequestId) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let Some(runtime) = &self.runtime else {
            return 0;
        };
        let request_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        {
            let mut state = self.shared.lock();
            if state.closed {
                return 0;
            }
            state.pending.insert(request_id, cancel_tx);
        }
        let client = self
            .client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                self.shared
                    .finish(request_id, Outcome::Failed(error.payload()));
                return request_id;
            }
        };
        let future = work(client, request_id);
        let shared = self.shared.clone();
        runtime.spawn(async move {
            tokio::select! {
                biased;
                // Cancelled (the finishing signal is queued by `cancel`) or shut down: dropping
                // `future` closes the connection.
                _ = cancel_rx => {}
                outcome = future => shared.finish(request_id, outcome),
            }
        });
        request_id
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unconfigured() -> Dispatcher {
        Dispatcher::new().expect("runtime")
    }

    fn json(signal: &Signal) -> serde_json::Value {
        serde_json::from_str(signal.payload()).expect("JSON payload")
    }

    #[test]
    fn requests_fail_until_configured_and_ids_grow() {
        let d = unconfigured();
        let a = d.list_personas();
        let b = d.list_personas();
        assert!(a > 0 && b > a, "{a} {b}");
        let signals = d.drain(usize::MAX);
        assert_eq!(signals.len(), 2);
        for (signal, id) in signals.iter().zip([a, b]) {
            assert_eq!(signal.request_id(), id);
            assert_eq!(signal.name(), "request_failed");
            assert_eq!(json(signal)["code"], "invalid_argument");
        }
        assert_eq!(d.in_flight(), 0);
        // A bad configuration is reported, and requests fail with it.
        let err = d
            .configure(ClientConfig::new("k").with_base_url("ftp://nope"))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        d.list_personas();
        let failed = d.drain(usize::MAX);
        assert!(json(&failed[0])["message"]
            .as_str()
            .unwrap()
            .contains("base_url"));
    }

    #[test]
    fn drain_respects_max_and_order() {
        let d = unconfigured();
        let ids: Vec<RequestId> = (0..5).map(|_| d.list_personas()).collect();
        assert_eq!(d.queued(), 5);
        let first: Vec<RequestId> = d.drain(2).iter().map(Signal::request_id).collect();
        assert_eq!(first, ids[..2]);
        assert_eq!(d.queued(), 3);
        let rest: Vec<RequestId> = d.drain(100).iter().map(Signal::request_id).collect();
        assert_eq!(rest, ids[2..]);
        assert!(d.drain(100).is_empty());
        assert!(!d.wait(Duration::from_millis(20)), "nothing queued");
    }

    fn token(expires_in: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let claims = format!(r#"{{"iat":{now},"exp":{}}}"#, now + expires_in);
        // base64url of the claims, by hand (the header and signature are not read).
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        format!("pt_e30.{payload}.c2ln")
    }

    fn credential_signals(d: &Dispatcher) -> Vec<Signal> {
        d.drain(usize::MAX)
            .into_iter()
            .filter(|s| s.name() == "credential_expiring")
            .collect()
    }

    #[test]
    fn an_expired_token_is_reported_at_once_and_only_once() {
        let d = unconfigured();
        let config = ClientConfig::new(token(-10)).with_base_url("http://127.0.0.1:9");
        d.configure(config.clone()).unwrap();
        let signals = credential_signals(&d);
        assert_eq!(signals.len(), 1, "{signals:?}");
        let signal = &signals[0];
        assert_eq!(signal.request_id(), 0);
        assert!(!signal.is_final());
        let Signal::CredentialExpiring { expires_at, .. } = signal else {
            panic!("{signal:?}");
        };
        assert_eq!(json(signal)["expires_at"], *expires_at);
        // The same configuration again: no second signal.
        d.configure(config.clone()).unwrap();
        d.configure(ClientConfig {
            api_key: format!(" {} ", config.api_key),
            ..config
        })
        .unwrap();
        assert!(credential_signals(&d).is_empty());
    }

    #[test]
    fn a_token_replaced_in_time_and_an_api_key_never_signal() {
        let d = unconfigured();
        let base = ClientConfig::new(token(2)).with_base_url("http://127.0.0.1:9");
        d.configure(base.clone()).unwrap();
        // A fresh token (only the key changes: the same client) and then an API key.
        d.configure(ClientConfig {
            api_key: token(3600),
            ..base.clone()
        })
        .unwrap();
        let keyed = unconfigured();
        keyed
            .configure(ClientConfig {
                api_key: "pk_live_x".into(),
                ..base.clone()
            })
            .unwrap();
        // A token replaced by a change that needs a new client.
        let rebuilt = unconfigured();
        rebuilt.configure(base.clone()).unwrap();
        rebuilt
            .configure(ClientConfig {
                api_key: token(3600),
                max_retries: 0,
                ..base.clone()
            })
            .unwrap();
        // A bad configuration drops the watch too.
        let broken = unconfigured();
        broken.configure(base.clone()).unwrap();
        assert!(broken
            .configure(ClientConfig {
                api_key: " ".into(),
                ..base.clone()
            })
            .is_err());
        std::thread::sleep(Duration::from_millis(2500));
        for dispatcher in [&d, &keyed, &rebuilt, &broken] {
            assert!(credential_signals(dispatcher).is_empty());
        }
        // The token kept in use does signal.
        let kept = unconfigured();
        kept.configure(ClientConfig::new(token(1)).with_base_url("http://127.0.0.1:9"))
            .unwrap();
        assert!(kept.wait(Duration::from_secs(5)), "signalled");
        assert_eq!(credential_signals(&kept).len(), 1);
    }

    #[test]
    fn after_shutdown_requests_return_zero() {
        let mut d = unconfigured();
        d.shutdown();
        assert_eq!(d.list_personas(), 0);
        assert!(d.drain(10).is_empty());
        d.shutdown(); // idempotent
        assert!(!d.cancel(1));
    }
}
