//! A client behind a `FoilClient*` handle: its runtime, its event queue, its requests.
//!
//! Handles are registry ids (never reused), not addresses, so a freed or made-up handle is
//! detected (FOIL_STATUS_INVALID_HANDLE) instead of being dereferenced, and a call racing
//! foil_client_free() keeps what it uses alive through an `Arc`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::CString;
use std::future::Future;
use std::os::raw::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use foil_client::wire::{ChatHistory, ChatResponse, ResetResult, SessionInit, SessionStatus};
use foil_client::{
    refresh_schedule, Client, ClientError, GameEvent, RefreshSchedule, SessionTracker,
};
use futures_util::FutureExt;
use tokio::task::AbortHandle;

use crate::args::client_failure;
use crate::boundary::{Failure, LastError};
use crate::types::{FoilClient, FoilEvent, FoilEventCallback, FoilEventKind, FoilStatus};

/// How long foil_client_free() waits for the runtime's threads after cancelling everything.
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Live clients by handle value.
static CLIENTS: RwLock<BTreeMap<usize, Arc<ClientInner>>> = RwLock::new(BTreeMap::new());
/// The next handle value (never reused; 0 is never a handle).
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// One queued event; the payload becomes the C string handed out by foil_poll_event().
pub(crate) struct QueuedEvent {
    pub request_id: u64,
    pub kind: FoilEventKind,
    pub http_status: u16,
    pub payload: CString,
}

impl QueuedEvent {
    fn new(request_id: u64, kind: FoilEventKind, http_status: u16, payload: String) -> Self {
        QueuedEvent {
            request_id,
            kind,
            http_status,
            payload: c_payload(payload),
        }
    }

    /// Hands the payload over to C (freed by foil_event_free()).
    pub(crate) fn into_c(self) -> FoilEvent {
        let payload_len = self.payload.as_bytes().len();
        FoilEvent {
            request_id: self.request_id,
            kind: self.kind,
            http_status: self.http_status,
            payload: self.payload.into_raw(),
            payload_len,
        }
    }

    /// A view for a callback; valid while `self` lives.
    fn borrow_c(&self) -> FoilEvent {
        FoilEvent {
            request_id: self.request_id,
            kind: self.kind,
            http_status: self.http_status,
            payload: self.payload.as_ptr(),
            payload_len: self.payload.as_bytes().len(),
        }
    }
}

/// A C string of `text`; a U+0000 inside (possible in model output) becomes U+FFFD so the
/// string's length is unambiguous.
fn c_payload(text: String) -> CString {
    match CString::new(text) {
        Ok(c) => c,
        Err(e) => {
            let text = String::from_utf8(e.into_vec()).expect("was a String");
            CString::new(text.replace('\0', "\u{FFFD}")).expect("no NUL left")
        }
    }
}

/// The push callback and its user data (an opaque address the host gave us).
#[derive(Clone, Copy)]
struct Callback {
    function: unsafe extern "C" fn(*mut c_void, *const FoilEvent),
    user_data: usize,
}

/// Everything under the client's one lock.
struct State {
    queue: VecDeque<QueuedEvent>,
    in_flight: HashMap<u64, AbortHandle>,
    tracker: SessionTracker,
    callback: Option<Callback>,
    dispatcher: Option<(ThreadId, JoinHandle<()>)>,
    /// Counts the credentials set: a timer of an earlier one that fires late queues nothing.
    credential_generation: u64,
    /// When the current credential's CREDENTIAL_EXPIRING is due (`None`: an API key, or the
    /// event is queued already).
    credential_timer: Option<AbortHandle>,
    closed: bool,
}

/// What request tasks share with the C functions.
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// What a successful response tells the session tracker.
pub(crate) enum Track {
    Nothing,
    Init(SessionInit),
    Reset(ResetResult),
    Status(SessionStatus),
    History(ChatHistory),
    Turn(ChatResponse),
}

/// The finishing outcome of a request.
pub(crate) enum Finish {
    /// RESPONSE (200) with this JSON payload.
    Response(String, Track),
    /// STREAM_DONE (200).
    StreamDone(ChatResponse),
    /// ERROR.
    Error(ClientError),
    /// ERROR with a payload of the library's own (a stream that failed after it began, a
    /// panic in a request task).
    Failed(foil_client::ErrorPayload),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data under the lock; a panic elsewhere cannot leave it half-updated in a way
        // that matters more than losing the client.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an intermediate event of a request still in flight; false if it is not (it
    /// was cancelled), so the task can stop.
    pub(crate) fn push_partial(&self, id: u64, kind: FoilEventKind, payload: String) -> bool {
        let mut state = self.lock();
        if !state.in_flight.contains_key(&id) {
            return false;
        }
        state
            .queue
            .push_back(QueuedEvent::new(id, kind, 200, payload));
        drop(state);
        self.changed.notify_all();
        true
    }

    /// Queues a request's finishing event, followed by the game events its response implies
    /// — unless the request already finished (cancelled): exactly one finishing event.
    pub(crate) fn finish(&self, id: u64, finish: Finish) {
        let mut state = self.lock();
        if state.in_flight.remove(&id).is_none() {
            return;
        }
        let mut game_events = Vec::new();
        let event = match finish {
            Finish::Response(payload, track) => {
                match track {
                    Track::Nothing => {}
                    Track::Init(init) => state.tracker.observe_init(&init),
                    Track::Reset(reset) => state.tracker.observe_reset(&reset),
                    Track::Status(status) => state.tracker.observe_status(&status),
                    Track::History(history) => state.tracker.observe_history(&history),
                    Track::Turn(turn) => game_events = state.tracker.observe(&turn),
                }
                QueuedEvent::new(id, FoilEventKind::RESPONSE, 200, payload)
            }
            Finish::StreamDone(response) => {
                game_events = state.tracker.observe(&response);
                QueuedEvent::new(id, FoilEventKind::STREAM_DONE, 200, to_json(&response))
            }
            Finish::Error(error) => error_event(id, &error),
            Finish::Failed(payload) => {
                QueuedEvent::new(id, FoilEventKind::ERROR, payload.status, to_json(&payload))
            }
        };
        state.queue.push_back(event);
        for game_event in game_events {
            let kind = match game_event {
                GameEvent::StateChange { .. } => FoilEventKind::STATE_CHANGE,
                GameEvent::ScoreChange { .. } => FoilEventKind::SCORE_CHANGE,
                GameEvent::MachineCompleted { .. } => FoilEventKind::MACHINE_COMPLETED,
                GameEvent::MachinesUnlocked { .. } => FoilEventKind::MACHINES_UNLOCKED,
                GameEvent::SessionEnded { .. } => FoilEventKind::SESSION_ENDED,
            };
            state
                .queue
                .push_back(QueuedEvent::new(id, kind, 0, game_event.payload_json()));
        }
        drop(state);
        self.changed.notify_all();
    }

    /// The timer of credential number `generation` went off: its CREDENTIAL_EXPIRING is
    /// queued, unless another credential replaced it meanwhile or the client was freed.
    fn credential_expiring(&self, generation: u64, expires_at: u64) {
        let mut state = self.lock();
        if state.closed || state.credential_generation != generation {
            return;
        }
        state.credential_timer = None;
        state.queue.push_back(credential_event(expires_at));
        drop(state);
        self.changed.notify_all();
    }
}

/// CREDENTIAL_EXPIRING: a client event, of no request.
fn credential_event(expires_at: u64) -> QueuedEvent {
    QueuedEvent::new(
        0,
        FoilEventKind::CREDENTIAL_EXPIRING,
        0,
        format!(r#"{{"expires_at":{expires_at}}}"#),
    )
}

fn error_event(id: u64, error: &ClientError) -> QueuedEvent {
    QueuedEvent::new(
        id,
        FoilEventKind::ERROR,
        error.status().unwrap_or(0),
        error.payload_json(),
    )
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}

/// A live client.
pub(crate) struct ClientInner {
    pub client: Client,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    shared: Arc<Shared>,
    next_request: AtomicU64,
    pub last_error: Mutex<LastError>,
}

impl ClientInner {
    /// Builds the runtime (2 worker threads named `foil-worker`), starts watching the
    /// credential's expiry and registers the client.
    pub(crate) fn create(client: Client) -> Result<*mut FoilClient, Failure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_name("foil-worker")
            .enable_all()
            .build()
            .map_err(|e| {
                Failure::new(
                    FoilStatus::RuntimeError,
                    format!("could not start the client's threads: {e}"),
                )
            })?;
        let inner = Arc::new(ClientInner {
            client,
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    in_flight: HashMap::new(),
                    tracker: SessionTracker::new(),
                    callback: None,
                    dispatcher: None,
                    credential_generation: 0,
                    credential_timer: None,
                    closed: false,
                }),
                changed: Condvar::new(),
            }),
            next_request: AtomicU64::new(1),
            last_error: Mutex::new(LastError::new()),
        });
        let api_key = inner.client.config().api_key;
        inner.watch_credential(&mut inner.shared.lock(), &api_key);
        let key = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed) as usize;
        CLIENTS
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, inner);
        Ok(key as *mut FoilClient)
    }

    /// The live client behind `handle`.
    pub(crate) fn get(handle: *const FoilClient) -> Result<Arc<ClientInner>, Failure> {
        if handle.is_null() {
            return Err(Failure::new(FoilStatus::NullArgument, "client is NULL"));
        }
        CLIENTS
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(handle as usize))
            .cloned()
            .ok_or_else(invalid_handle)
    }

    /// Unregisters `handle` and shuts its client down (see [`ClientInner::shutdown`]).
    /// False if it was not a live client.
    pub(crate) fn free(handle: *mut FoilClient) -> bool {
        if handle.is_null() {
            return false;
        }
        let inner = CLIENTS
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(handle as usize));
        match inner {
            Some(inner) => {
                inner.shutdown();
                true
            }
            None => false,
        }
    }

    /// How many clients are alive (for tests and leak checks).
    pub(crate) fn live_count() -> usize {
        CLIENTS.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Cancels every request, drops queued events, stops the callback thread and shuts the
    /// runtime down from the calling thread, waiting at most [`SHUTDOWN_TIMEOUT`] for its
    /// threads.
    fn shutdown(&self) {
        let dispatcher = {
            let mut state = self.shared.lock();
            state.closed = true;
            for (_, task) in state.in_flight.drain() {
                task.abort();
            }
            state.queue.clear();
            state.callback = None;
            if let Some(timer) = state.credential_timer.take() {
                timer.abort();
            }
            state.dispatcher.take()
        };
        self.shared.changed.notify_all();
        if let Some((thread_id, join)) = dispatcher {
            // From inside the callback the dispatcher is this thread: it ends by itself once
            // the callback returns.
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
            if tokio::runtime::Handle::try_current().is_ok() {
                // Called from async code (a host that runs Tokio itself): blocking here is not
                // allowed; the threads finish in the background.
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
            }
        }
    }

    /// Replaces the credential (see `Client::set_api_key`) and watches the new one's expiry
    /// instead of the old one's, under the state lock so that concurrent calls cannot leave
    /// one credential in use and another watched. On failure nothing changes.
    pub(crate) fn set_api_key(&self, api_key: &str) -> Result<(), Failure> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(invalid_handle());
        }
        self.client.set_api_key(api_key).map_err(client_failure)?;
        self.watch_credential(&mut state, api_key);
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Schedules CREDENTIAL_EXPIRING for `credential` at its refresh time (see
    /// `foil_client::refresh_schedule`) — queued right away when that has passed — and
    /// drops the pending one of the previous credential. Nothing for an API key (no expiry).
    fn watch_credential(&self, state: &mut State, credential: &str) {
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
        match delay {
            delay if !delay.is_zero() => {
                let generation = state.credential_generation;
                let shared = self.shared.clone();
                let timer = self.handle.spawn(async move {
                    tokio::time::sleep(delay).await;
                    shared.credential_expiring(generation, expires_at);
                });
                state.credential_timer = Some(timer.abort_handle());
            }
            // Due already: queued before the call returns, so the caller sees it on its next
            // poll.
            _ => state.queue.push_back(credential_event(expires_at)),
        }
    }

    /// Starts a request: `job` gets the client and the request id and must produce the
    /// finishing outcome; it may queue intermediate events through `Shared::push_partial`.
    /// Returns the request id at once.
    pub(crate) fn submit<F, Fut>(&self, job: F) -> Result<u64, Failure>
    where
        F: FnOnce(Client, Arc<Shared>, u64) -> Fut,
        Fut: Future<Output = Finish> + Send + 'static,
    {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let shared = self.shared.clone();
        let work = job(self.client.clone(), shared.clone(), id);
        // The lock is held while spawning so the task cannot finish before it is registered.
        let mut state = self.shared.lock();
        if state.closed {
            return Err(invalid_handle());
        }
        let task = self.handle.spawn(async move {
            let finish = match std::panic::AssertUnwindSafe(work).catch_unwind().await {
                Ok(finish) => finish,
                Err(_) => Finish::Failed(foil_client::ErrorPayload {
                    status: 0,
                    code: "internal_error".into(),
                    message: "internal error (panic) in the Foil library".into(),
                    retry_after: None,
                }),
            };
            shared.finish(id, finish);
        });
        state.in_flight.insert(id, task.abort_handle());
        Ok(id)
    }

    /// Cancels a request in flight: its task is aborted and an ERROR event with code
    /// `cancelled` finishes it.
    pub(crate) fn cancel(&self, id: u64) -> Result<(), Failure> {
        let mut state = self.shared.lock();
        let Some(task) = state.in_flight.remove(&id) else {
            return Err(unknown_request(id));
        };
        task.abort();
        state
            .queue
            .push_back(error_event(id, &ClientError::Cancelled));
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// The oldest queued event, if any.
    pub(crate) fn poll(&self) -> Result<Option<QueuedEvent>, Failure> {
        let mut state = self.shared.lock();
        if state.callback.is_some() {
            return Err(callback_mode());
        }
        Ok(state.queue.pop_front())
    }

    /// Blocks until request `id`'s finishing event is queued (and takes it) or `timeout`
    /// passes. Other events stay queued.
    pub(crate) fn wait(&self, id: u64, timeout: Duration) -> Result<QueuedEvent, Failure> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.closed {
                return Err(invalid_handle());
            }
            if state.callback.is_some() {
                return Err(callback_mode());
            }
            if let Some(pos) = state
                .queue
                .iter()
                .position(|e| e.request_id == id && e.kind.is_finishing())
            {
                return Ok(state.queue.remove(pos).expect("position is valid"));
            }
            if !state.in_flight.contains_key(&id) {
                return Err(unknown_request(id));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Failure::new(
                    FoilStatus::Timeout,
                    format!("request {id} did not finish in time"),
                ));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Sets (or with `None` removes) the push callback; starts the callback thread the first
    /// time.
    pub(crate) fn set_callback(
        &self,
        callback: FoilEventCallback,
        user_data: *mut c_void,
    ) -> Result<(), Failure> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(invalid_handle());
        }
        state.callback = callback.map(|function| Callback {
            function,
            user_data: user_data as usize,
        });
        if state.callback.is_some() && state.dispatcher.is_none() {
            let shared = self.shared.clone();
            let join = std::thread::Builder::new()
                .name("foil-callback".into())
                .spawn(move || dispatch(shared))
                .map_err(|e| {
                    Failure::new(
                        FoilStatus::RuntimeError,
                        format!("could not start the callback thread: {e}"),
                    )
                })?;
            state.dispatcher = Some((join.thread().id(), join));
        }
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }
}

/// The callback thread: hands queued events to the callback, one at a time, in order.
fn dispatch(shared: Arc<Shared>) {
    let mut state = shared.lock();
    loop {
        if state.closed {
            return;
        }
        if let Some(callback) = state.callback {
            if let Some(event) = state.queue.pop_front() {
                drop(state);
                let view = event.borrow_c();
                // SAFETY: the host gave us this function and promised it is callable with its
                // user data; `view` points into `event`, alive until after the call.
                unsafe { (callback.function)(callback.user_data as *mut c_void, &view) };
                drop(event);
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

fn invalid_handle() -> Failure {
    Failure::new(
        FoilStatus::InvalidHandle,
        "not a live client (never created, or already freed)",
    )
}

fn unknown_request(id: u64) -> Failure {
    Failure::new(
        FoilStatus::UnknownRequest,
        format!("no request {id} is in flight"),
    )
}

fn callback_mode() -> Failure {
    Failure::new(
        FoilStatus::CallbackMode,
        "an event callback is set: events are delivered to it, not polled",
    )
}
