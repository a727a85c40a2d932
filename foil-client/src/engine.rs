//! The request engine the native plugins share: foil-ffi's C ABI and the Godot binding are
//! thin adapters over one [`Engine`].
//!
//! An engine owns a private Tokio runtime and a [`Client`]. Each request method spawns the
//! client call and returns a [`RequestId`] (> 0) at once; everything the call produces is
//! queued as an [`Event`], which the game takes on its own thread ([`Engine::pop`],
//! [`Engine::drain`], [`Engine::wait_finishing`]) or receives on a dedicated thread through a
//! callback ([`Engine::set_callback`]). No network I/O ever blocks the caller.
//!
//! Guarantees, for every request id:
//! - its events are queued in the order they happened: for a stream, `StreamMetadata`, then
//!   each `TextDelta` in arrival order, then `StreamDone` (or `Error`);
//! - exactly one finishing event is queued ([`EventKind::is_finishing`]), also when the
//!   request is cancelled ([`Engine::cancel`]), its task panics, or the engine shuts down
//!   (`Error` with code `cancelled`), and nothing of that request is queued after it — except
//!   the game events derived from a turn's response (`StateChange`, `ScoreChange`,
//!   `MachineCompleted`, `MachinesUnlocked`, `SessionEnded`), which follow it immediately, in
//!   that order, before any other event.
//!
//! Game events come from one [`SessionTracker`] shared by all requests of the engine: it
//! learns from `init_session`, `reset`, `get_session` and `get_history` answers and compares
//! each turn's response with the previous one of the same session, in the order the responses
//! are queued.
//!
//! One event belongs to no request (its request id is 0): `CredentialExpiring`, queued once
//! per player token in use, shortly before it expires (see [`refresh_schedule`]), so that the
//! game can set a fresh one.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use tokio::task::AbortHandle;

use crate::wire::{ChatHistory, ChatResponse, ResetResult, SessionInit, SessionStatus};
use crate::{
    refresh_schedule, Client, ClientConfig, ClientError, ErrorPayload, GameEvent, RefreshSchedule,
    SessionTracker, StreamEvent,
};

/// A request's id: unique per engine, never 0.
pub type RequestId = u64;

/// The request a `Response` event answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// [`Engine::list_personas`]: `[Persona]`.
    ListPersonas,
    /// [`Engine::list_machines`]: `[MachineInfo]`.
    ListMachines,
    /// [`Engine::init_session`]: `SessionInit`.
    InitSession,
    /// [`Engine::send_message`]: `ChatResponse` (a streamed turn ends with `StreamDone`).
    SendMessage,
    /// [`Engine::get_session`]: `SessionStatus`.
    GetSession,
    /// [`Engine::get_history`]: `ChatHistory`.
    GetHistory,
    /// [`Engine::reset`]: `ResetResult`.
    Reset,
    /// [`Engine::validate_llm_key`]: `ValidateLlmKeyResult`.
    ValidateLlmKey,
}

/// What an [`Event`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A request finished with a 200: its result as JSON.
    Response(Operation),
    /// A streamed turn's result without its text (`StreamMetadata` JSON), before any text.
    StreamMetadata,
    /// A piece of a streamed reply: the payload is the text itself.
    TextDelta,
    /// A streamed turn finished: `ChatResponse` JSON.
    StreamDone,
    /// The request failed or was cancelled: `{"status", "code", "message", "retry_after"}`.
    Error,
    /// Game event: the conversation moved to another state.
    StateChange,
    /// Game event: the score changed.
    ScoreChange,
    /// Game event: the scenario finished.
    MachineCompleted,
    /// Game event: finishing the scenario unlocked others.
    MachinesUnlocked,
    /// Game event: the session ended.
    SessionEnded,
    /// Of no request: the player token in use expires at `expires_at` (Unix seconds) — set a
    /// fresh one. Payload `{"expires_at"}`.
    CredentialExpiring {
        /// When the token expires, in seconds since the Unix epoch.
        expires_at: u64,
    },
}

impl EventKind {
    /// Whether this is its request's finishing event (its result, `StreamDone` or `Error`).
    pub fn is_finishing(self) -> bool {
        matches!(
            self,
            EventKind::Response(_) | EventKind::StreamDone | EventKind::Error
        )
    }

    fn of_game_event(event: &GameEvent) -> EventKind {
        match event {
            GameEvent::StateChange { .. } => EventKind::StateChange,
            GameEvent::ScoreChange { .. } => EventKind::ScoreChange,
            GameEvent::MachineCompleted { .. } => EventKind::MachineCompleted,
            GameEvent::MachinesUnlocked { .. } => EventKind::MachinesUnlocked,
            GameEvent::SessionEnded { .. } => EventKind::SessionEnded,
        }
    }
}

/// Something a request (or the credential watch) produced, for the game's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The request it belongs to; 0 for `CredentialExpiring`.
    pub request_id: RequestId,
    /// What it is.
    pub kind: EventKind,
    /// 200 for results and stream events, the HTTP status of an HTTP error, otherwise 0.
    pub http_status: u16,
    /// JSON text, or the text itself for `TextDelta`.
    pub payload: String,
}

impl Event {
    fn credential_expiring(expires_at: u64) -> Event {
        Event {
            request_id: 0,
            kind: EventKind::CredentialExpiring { expires_at },
            http_status: 0,
            payload: format!(r#"{{"expires_at":{expires_at}}}"#),
        }
    }

    fn error(request_id: RequestId, error: ErrorPayload) -> Event {
        Event {
            request_id,
            kind: EventKind::Error,
            http_status: error.status,
            payload: to_json(&error),
        }
    }
}

/// Why an engine call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The engine was shut down.
    #[error("the engine is shut down")]
    Closed,
    /// A callback is set: events go to it and cannot be polled.
    #[error("an event callback is set: events are delivered to it, not polled")]
    CallbackMode,
    /// The request is not in flight (never issued, or already finished).
    #[error("no request {0} is in flight")]
    UnknownRequest(RequestId),
    /// The request did not finish before the timeout.
    #[error("request {0} did not finish in time")]
    Timeout(RequestId),
    /// The runtime or callback thread could not be started.
    #[error("could not start a thread of the engine")]
    Threads,
}

/// Receives events on the engine's callback thread, one at a time, in queue order.
pub type EventCallback = Arc<dyn Fn(Event) + Send + Sync>;

/// What a successful response tells the session tracker.
enum Track {
    Nothing,
    Init(SessionInit),
    Reset(ResetResult),
    Status(SessionStatus),
    History(ChatHistory),
    Turn(ChatResponse),
}

/// How a request ended.
enum Finish {
    Response(Operation, String, Track),
    StreamDone(ChatResponse),
    Error(ErrorPayload),
}

impl Finish {
    async fn of<T: serde::Serialize>(
        operation: Operation,
        call: impl Future<Output = Result<T, ClientError>>,
        track: impl FnOnce(T) -> Track,
    ) -> Finish {
        match call.await {
            Ok(value) => Finish::Response(operation, to_json(&value), track(value)),
            Err(error) => Finish::Error(error.payload()),
        }
    }
}

/// Everything the producers (request tasks, timers, `cancel`, `shutdown`) change together.
/// Events are sent to the inbox while this lock is held, so their order is the lock's order.
struct State {
    /// Requests without their finishing event yet.
    in_flight: HashMap<RequestId, AbortHandle>,
    tracker: SessionTracker,
    callback: Option<EventCallback>,
    callback_thread: Option<(ThreadId, JoinHandle<()>)>,
    /// Counts the credentials set: a timer of an earlier one that fires late queues nothing.
    credential_generation: u64,
    /// When the current credential's `CredentialExpiring` is due (`None`: an API key, no
    /// client, or the event is queued already).
    credential_timer: Option<AbortHandle>,
    closed: bool,
}

/// How events travel: producers append to `inbox` (holding `state`, then briefly `inbox`);
/// consumers move them to `outbox`, which only consumers lock, and take them from there. The game
/// thread's `pop` and `drain` only *try* the inbox lock: a worker that holds it — and may be
/// descheduled while it does — never makes a frame wait; what it is adding is taken next frame.
struct Shared {
    state: Mutex<State>,
    /// Notified, with `state` held, whenever the state changes (events sent, callback set,
    /// closed).
    changed: Condvar,
    inbox: Mutex<VecDeque<Event>>,
    outbox: Mutex<VecDeque<Event>>,
    /// Events sent and not yet taken.
    queued: AtomicUsize,
    /// Whether a callback is set (read by `pop` without the producers' lock).
    callback_set: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a send, a remove or a flag: a panic cannot leave the state
        // inconsistent in a way that matters more than losing the engine.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The consumers' side. Lock order: `state`, `outbox`, `inbox`.
    fn outbox(&self) -> MutexGuard<'_, VecDeque<Event>> {
        self.outbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends events at once, so that nothing comes between them (a response and the game
    /// events it implies). `_state` proves the producers' lock is held: the inbox's order is
    /// the lock's. The caller notifies.
    fn send(&self, _state: &State, events: impl IntoIterator<Item = Event>) {
        let events = events.into_iter().map(|mut event| {
            // Room for the NUL a C string adds, made here on the producer's thread: the game
            // thread then turns the payload into a C string without reallocating memory that
            // another thread's allocator arena owns (which can mean waiting for that arena).
            event.payload.reserve_exact(1);
            event
        });
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        let before = inbox.len();
        inbox.extend(events);
        self.queued
            .fetch_add(inbox.len() - before, Ordering::SeqCst);
    }

    /// Moves the inbox into `outbox`. Without `wait`, gives up at once when a producer holds
    /// the inbox (the game thread's path); with it, waits for the producer (blocking calls).
    fn refill(&self, outbox: &mut VecDeque<Event>, wait: bool) {
        let inbox = match self.inbox.try_lock() {
            Ok(inbox) => Some(inbox),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) if wait => {
                Some(self.inbox.lock().unwrap_or_else(|p| p.into_inner()))
            }
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(mut inbox) = inbox {
            if outbox.is_empty() {
                std::mem::swap(outbox, &mut inbox);
            } else {
                outbox.extend(inbox.drain(..));
            }
        }
    }

    /// Takes one event for a consumer (see [`Shared::refill`] for `wait`).
    fn take(&self, outbox: &mut VecDeque<Event>, wait: bool) -> Option<Event> {
        if outbox.is_empty() {
            self.refill(outbox, wait);
        }
        let event = outbox.pop_front()?;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        Some(event)
    }

    /// Queues an intermediate event of a request still in flight; false when it is not
    /// (cancelled: its finishing event is queued already), so the task can stop.
    fn push_partial(&self, request_id: RequestId, kind: EventKind, payload: String) -> bool {
        let state = self.lock();
        if !state.in_flight.contains_key(&request_id) {
            return false;
        }
        let event = Event {
            request_id,
            kind,
            http_status: 200,
            payload,
        };
        self.send(&state, [event]);
        drop(state);
        self.changed.notify_all();
        true
    }

    /// Queues a request's finishing event, followed by the game events its response implies,
    /// unless it finished already (cancelled): exactly one finishing event per request.
    fn finish(&self, request_id: RequestId, finish: Finish) {
        let mut state = self.lock();
        if state.in_flight.remove(&request_id).is_none() {
            return;
        }
        let state = &mut *state;
        let mut game_events = Vec::new();
        let event = match finish {
            Finish::Response(operation, payload, track) => {
                match track {
                    Track::Nothing => {}
                    Track::Init(init) => state.tracker.observe_init(&init),
                    Track::Reset(reset) => state.tracker.observe_reset(&reset),
                    Track::Status(status) => state.tracker.observe_status(&status),
                    Track::History(history) => state.tracker.observe_history(&history),
                    Track::Turn(turn) => game_events = state.tracker.observe(&turn),
                }
                Event {
                    request_id,
                    kind: EventKind::Response(operation),
                    http_status: 200,
                    payload,
                }
            }
            Finish::StreamDone(response) => {
                game_events = state.tracker.observe(&response);
                Event {
                    request_id,
                    kind: EventKind::StreamDone,
                    http_status: 200,
                    payload: to_json(&response),
                }
            }
            Finish::Error(error) => Event::error(request_id, error),
        };
        let game_events = game_events.iter().map(|game_event| Event {
            request_id,
            kind: EventKind::of_game_event(game_event),
            http_status: 0,
            payload: game_event.payload_json(),
        });
        self.send(state, std::iter::once(event).chain(game_events));
        self.changed.notify_all();
    }

    /// The timer of credential number `generation` went off: its `CredentialExpiring` is
    /// queued, unless another credential replaced it meanwhile or the engine shut down.
    fn credential_expiring(&self, generation: u64, expires_at: u64) {
        let mut state = self.lock();
        if state.closed || state.credential_generation != generation {
            return;
        }
        state.credential_timer = None;
        self.send(&state, [Event::credential_expiring(expires_at)]);
        self.changed.notify_all();
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}

/// The requests on one session (persona, player, machine) that answer a JSON document, each
/// named as the [`Client`] method it calls, with its [`Operation`] and what it tells the tracker.
macro_rules! session_requests {
    ($($(#[$doc:meta])* $name:ident => $operation:ident, $track:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(
            &self,
            persona_id: &str,
            user_session_id: &str,
            machine_id: Option<&str>,
        ) -> Result<RequestId, EngineError> {
            let (persona, player) = (persona_id.to_owned(), user_session_id.to_owned());
            let machine = machine_id.map(str::to_owned);
            self.submit(|client, _, _| async move {
                Finish::of(
                    Operation::$operation,
                    client.$name(&persona, &player, machine.as_deref()),
                    Track::$track,
                )
                .await
            })
        }
    )*};
}

/// Runs client calls on a private runtime and queues what they produce as [`Event`]s.
///
/// Usable from any thread through `&self`. [`Engine::shutdown`] (also run on drop) must not be
/// called from inside the engine's own callback with a wait, nor from async code that expects
/// it to wait: from there the runtime's threads finish in the background.
pub struct Engine {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    shared: Arc<Shared>,
    /// The client requests start with (or why there is none: they fail with that error).
    client: Mutex<Result<Client, ClientError>>,
    next_request: AtomicU64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Engine")
            .field("closed", &state.closed)
            .field("in_flight", &state.in_flight.len())
            .field("queued", &self.queued())
            .finish()
    }
}

impl Engine {
    /// Starts the runtime (two worker threads named `thread_name`) with `client` for the
    /// requests; with an error instead, requests fail with it until [`Engine::configure`]
    /// succeeds. A player token's expiry is watched at once.
    pub fn new(
        thread_name: &str,
        client: Result<Client, ClientError>,
    ) -> Result<Engine, EngineError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_name(thread_name)
            .enable_all()
            .build()
            .map_err(|_| EngineError::Threads)?;
        let engine = Engine {
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    in_flight: HashMap::new(),
                    tracker: SessionTracker::new(),
                    callback: None,
                    callback_thread: None,
                    credential_generation: 0,
                    credential_timer: None,
                    closed: false,
                }),
                changed: Condvar::new(),
                inbox: Mutex::new(VecDeque::new()),
                outbox: Mutex::new(VecDeque::new()),
                queued: AtomicUsize::new(0),
                callback_set: AtomicBool::new(false),
            }),
            client: Mutex::new(client),
            next_request: AtomicU64::new(1),
        };
        let key = engine
            .current_client()
            .as_ref()
            .map(|c| c.config().api_key)
            .ok();
        engine.watch_credential(key.as_deref().unwrap_or_default());
        Ok(engine)
    }

    fn current_client(&self) -> std::sync::MutexGuard<'_, Result<Client, ClientError>> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Uses `config` for the requests made from now on (requests in flight keep the client
    /// they started with). Cheap when `config` equals the current one. When only `api_key`
    /// differs (a refreshed player token), the current client is kept — its connections too —
    /// and sends the new credential from now on, also on retries of requests in flight. On
    /// failure (no API key, a bad URL, ...) later requests fail with that error until a valid
    /// config is given. A new credential's expiry is watched instead of the old one's (the
    /// same credential configured again is not watched again).
    pub fn configure(&self, config: ClientConfig) -> Result<(), ClientError> {
        let mut client = self.current_client();
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
                // The same key written differently (e.g. padded) is not a new credential.
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

    /// Replaces the credential of the current client (see [`Client::set_api_key`]) and
    /// watches the new one's expiry instead of the old one's — also when it is the same
    /// credential again (it was set, so its warning is due again). On failure nothing changes.
    pub fn set_api_key(&self, api_key: &str) -> Result<(), ClientError> {
        // The client lock serialises credential changes, so the key in use and the key
        // watched are always the same one.
        let client = self.current_client();
        let client = client.as_ref().map_err(Clone::clone)?;
        client.set_api_key(api_key)?;
        self.watch_credential(api_key);
        Ok(())
    }

    /// Schedules `CredentialExpiring` for `credential` at its refresh time — queued at once
    /// when that has passed — and drops the pending one of the previous credential. Nothing
    /// for an API key (no expiry). Called with the client lock held.
    fn watch_credential(&self, credential: &str) {
        let mut state = self.shared.lock();
        if state.closed {
            return;
        }
        state.credential_generation += 1;
        if let Some(timer) = state.credential_timer.take() {
            timer.abort();
        }
        let Some(RefreshSchedule {
            expires_at_unix: expires_at,
            wait: delay,
        }) = refresh_schedule(credential)
        else {
            return;
        };
        if delay.is_zero() {
            // Due already: takeable before the call returns.
            self.shared
                .send(&state, [Event::credential_expiring(expires_at)]);
            drop(state);
            self.shared.changed.notify_all();
            return;
        }
        let generation = state.credential_generation;
        let shared = self.shared.clone();
        let timer = self.handle.spawn(async move {
            tokio::time::sleep(delay).await;
            shared.credential_expiring(generation, expires_at);
        });
        state.credential_timer = Some(timer.abort_handle());
    }

    /// Takes the oldest queued event, if any. Never waits for the threads that queue events
    /// (the game thread calls it every frame): events being added at this very moment are
    /// taken by the next call.
    pub fn pop(&self) -> Result<Option<Event>, EngineError> {
        if self.shared.callback_set.load(Ordering::SeqCst) {
            return Err(EngineError::CallbackMode);
        }
        Ok(self.shared.take(&mut self.shared.outbox(), false))
    }

    /// Takes up to `max` queued events, oldest first (none while a callback is set). Never
    /// waits for the threads that queue events (see [`Engine::pop`]).
    pub fn drain(&self, max: usize) -> Vec<Event> {
        if self.shared.callback_set.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let mut outbox = self.shared.outbox();
        if outbox.len() < max {
            self.shared.refill(&mut outbox, false);
        }
        let n = max.min(outbox.len());
        self.shared.queued.fetch_sub(n, Ordering::SeqCst);
        outbox.drain(..n).collect()
    }

    /// Blocks until an event is queued or `timeout` passes; true if one is queued. For tools
    /// and tests: a game never blocks its main thread.
    pub fn wait_any(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        // Events are sent with `state` held: none can slip in between the check and the wait.
        while self.queued() == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// Blocks until request `request_id`'s finishing event is queued (and takes it) or
    /// `timeout` passes. Other events stay queued.
    pub fn wait_finishing(
        &self,
        request_id: RequestId,
        timeout: Duration,
    ) -> Result<Event, EngineError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.closed {
                return Err(EngineError::Closed);
            }
            if state.callback.is_some() {
                return Err(EngineError::CallbackMode);
            }
            {
                let mut outbox = self.shared.outbox();
                self.shared.refill(&mut outbox, true);
                if let Some(pos) = outbox
                    .iter()
                    .position(|e| e.request_id == request_id && e.kind.is_finishing())
                {
                    self.shared.queued.fetch_sub(1, Ordering::SeqCst);
                    return Ok(outbox.remove(pos).expect("position is valid"));
                }
            }
            if !state.in_flight.contains_key(&request_id) {
                return Err(EngineError::UnknownRequest(request_id));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(EngineError::Timeout(request_id));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Events waiting to be taken.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::SeqCst)
    }

    /// Requests that have not queued their finishing event yet.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight.len()
    }

    /// Sets (or with `None` removes) the callback that receives events on the engine's
    /// callback thread, started the first time. While one is set, events are not polled.
    pub fn set_callback(&self, callback: Option<EventCallback>) -> Result<(), EngineError> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(EngineError::Closed);
        }
        state.callback = callback;
        self.shared
            .callback_set
            .store(state.callback.is_some(), Ordering::SeqCst);
        if state.callback.is_some() && state.callback_thread.is_none() {
            let shared = self.shared.clone();
            let join = std::thread::Builder::new()
                .name("foil-callback".into())
                .spawn(move || deliver(&shared))
                .map_err(|_| EngineError::Threads)?;
            state.callback_thread = Some((join.thread().id(), join));
        }
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Cancels a request in flight: its task stops (a stream's connection is closed, so the
    /// server rolls the turn back), an `Error` with code `cancelled` finishes it at once and
    /// nothing more of it follows. False when the request is not in flight.
    pub fn cancel(&self, request_id: RequestId) -> bool {
        let mut state = self.shared.lock();
        let Some(task) = state.in_flight.remove(&request_id) else {
            return false;
        };
        task.abort();
        let cancelled = Event::error(request_id, ClientError::Cancelled.payload());
        self.shared.send(&state, [cancelled]);
        drop(state);
        self.shared.changed.notify_all();
        true
    }

    /// Cancels everything in flight (each gets its `Error` with code `cancelled`, still
    /// takeable), stops the callback thread (nothing is delivered after this returns, unless
    /// called from the callback itself) and the runtime, waiting at most `grace` for its
    /// threads — or not at all when `grace` is zero or from async code (where blocking is not
    /// allowed): the threads then end in the background, moments later. Later requests fail
    /// with [`EngineError::Closed`]. Idempotent.
    pub fn shutdown(&self, grace: Duration) {
        let callback_thread = {
            let mut state = self.shared.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            state.callback = None;
            self.shared.callback_set.store(false, Ordering::SeqCst);
            if let Some(timer) = state.credential_timer.take() {
                timer.abort();
            }
            let mut ids: Vec<RequestId> = state.in_flight.keys().copied().collect();
            ids.sort_unstable();
            let mut cancelled = Vec::with_capacity(ids.len());
            for request_id in ids {
                if let Some(task) = state.in_flight.remove(&request_id) {
                    task.abort();
                }
                cancelled.push(Event::error(request_id, ClientError::Cancelled.payload()));
            }
            self.shared.send(&state, cancelled);
            state.callback_thread.take()
        };
        self.shared.changed.notify_all();
        if let Some((thread_id, join)) = callback_thread {
            // From inside the callback the thread is this one: it ends once the callback
            // returns.
            if thread_id != std::thread::current().id() {
                let _ = join.join();
            }
        }
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(runtime) = runtime {
            if grace.is_zero() || tokio::runtime::Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(grace);
            }
        }
    }

    /// `list_personas` → `Response(ListPersonas)`.
    pub fn list_personas(&self) -> Result<RequestId, EngineError> {
        self.submit(|client, _, _| async move {
            Finish::of(Operation::ListPersonas, client.list_personas(), |_| {
                Track::Nothing
            })
            .await
        })
    }

    /// `list_machines` → `Response(ListMachines)`.
    pub fn list_machines(
        &self,
        persona_id: &str,
        user_session_id: &str,
    ) -> Result<RequestId, EngineError> {
        let (persona, player) = (persona_id.to_owned(), user_session_id.to_owned());
        self.submit(|client, _, _| async move {
            Finish::of(
                Operation::ListMachines,
                client.list_machines(&persona, &player),
                |_| Track::Nothing,
            )
            .await
        })
    }

    /// `init_session` → `Response(InitSession)`.
    pub fn init_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        player_name: &str,
        player_gender: &str,
        machine_id: Option<&str>,
    ) -> Result<RequestId, EngineError> {
        let (persona, player) = (persona_id.to_owned(), user_session_id.to_owned());
        let (name, gender) = (player_name.to_owned(), player_gender.to_owned());
        let machine = machine_id.map(str::to_owned);
        self.submit(|client, _, _| async move {
            Finish::of(
                Operation::InitSession,
                client.init_session(&persona, &player, &name, &gender, machine.as_deref()),
                Track::Init,
            )
            .await
        })
    }

    /// `send_message` → `Response(SendMessage)`, then the game events.
    pub fn send_message(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> Result<RequestId, EngineError> {
        let (persona, player) = (persona_id.to_owned(), user_session_id.to_owned());
        let (message, machine) = (message.to_owned(), machine_id.map(str::to_owned));
        self.submit(|client, _, _| async move {
            Finish::of(
                Operation::SendMessage,
                client.send_message(&persona, &player, &message, machine.as_deref()),
                Track::Turn,
            )
            .await
        })
    }

    /// `send_message_stream` → `StreamMetadata`, `TextDelta`s, `StreamDone`, then the game
    /// events. A failure the server reports mid-stream is an `Error` with code
    /// `stream_error` (the turn was not stored).
    pub fn send_message_stream(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> Result<RequestId, EngineError> {
        let (persona, player) = (persona_id.to_owned(), user_session_id.to_owned());
        let (message, machine) = (message.to_owned(), machine_id.map(str::to_owned));
        self.submit(|client, shared, request_id| async move {
            let stream =
                client.send_message_stream(&persona, &player, &message, machine.as_deref());
            futures_util::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                let (kind, payload) = match item {
                    Ok(StreamEvent::Metadata(metadata)) => {
                        (EventKind::StreamMetadata, to_json(&metadata))
                    }
                    Ok(StreamEvent::TextDelta(text)) => (EventKind::TextDelta, text),
                    Ok(StreamEvent::Done(response)) => return Finish::StreamDone(response),
                    Ok(StreamEvent::Error(message)) => {
                        return Finish::Error(ErrorPayload {
                            status: 0,
                            code: "stream_error".into(),
                            message,
                            retry_after: None,
                        })
                    }
                    Err(error) => return Finish::Error(error.payload()),
                };
                if !shared.push_partial(request_id, kind, payload) {
                    // Cancelled: its finishing event is queued already.
                    return Finish::Error(ClientError::Cancelled.payload());
                }
            }
            Finish::Error(
                ClientError::Transport("the stream ended before the reply was complete".into())
                    .payload(),
            )
        })
    }

    session_requests! {
        /// `get_session` → `Response(GetSession)`.
        get_session => GetSession, Status;
        /// `get_history` → `Response(GetHistory)`.
        get_history => GetHistory, History;
        /// `reset` → `Response(Reset)`.
        reset => Reset, Reset;
    }

    /// `validate_llm_key` → `Response(ValidateLlmKey)`.
    pub fn validate_llm_key(&self, model: Option<&str>) -> Result<RequestId, EngineError> {
        let model = model.map(str::to_owned);
        self.submit(|client, _, _| async move {
            Finish::of(
                Operation::ValidateLlmKey,
                client.validate_llm_key(model.as_deref()),
                |_| Track::Nothing,
            )
            .await
        })
    }

    /// Registers a new request and runs `job` on the runtime — or, without a valid client,
    /// queues its `Error` (that client's error) before returning. A panic in the job finishes the request
    /// with `internal_error`.
    fn submit<F, Fut>(&self, job: F) -> Result<RequestId, EngineError>
    where
        F: FnOnce(Client, Arc<Shared>, RequestId) -> Fut,
        Fut: Future<Output = Finish> + Send + 'static,
    {
        let client = self.current_client().clone();
        let request_id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let shared = self.shared.clone();
        // The lock is held while spawning so the task cannot finish before it is registered.
        let mut state = self.shared.lock();
        if state.closed {
            return Err(EngineError::Closed);
        }
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                // Takeable before the call returns, like a refused argument.
                let failed = Event::error(request_id, error.payload());
                self.shared.send(&state, [failed]);
                drop(state);
                self.shared.changed.notify_all();
                return Ok(request_id);
            }
        };
        let work = job(client, shared.clone(), request_id);
        let task = self.handle.spawn(async move {
            let finish = std::panic::AssertUnwindSafe(work)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    Finish::Error(ErrorPayload {
                        status: 0,
                        code: "internal_error".into(),
                        message: "internal error (panic) in the Foil library".into(),
                        retry_after: None,
                    })
                });
            shared.finish(request_id, finish);
        });
        state.in_flight.insert(request_id, task.abort_handle());
        Ok(request_id)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown(Duration::from_millis(500));
    }
}

/// The callback thread: hands queued events to the callback, one at a time, in order, until
/// the engine shuts down.
fn deliver(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.closed {
            return;
        }
        if let Some(callback) = state.callback.clone() {
            let event = shared.take(&mut shared.outbox(), true);
            if let Some(event) = event {
                drop(state);
                callback(event);
                state = shared.lock();
                continue;
            }
        }
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|p| p.into_inner());
    }
}
