//! A client behind a `FoilClient*` handle: the shared request engine
//! ([`foil_client::engine::Engine`]) plus the handle registry and the C view of its events.
//!
//! Handles are registry ids (never reused), not addresses, so a freed or made-up handle is
//! detected (FOIL_STATUS_INVALID_HANDLE) instead of being dereferenced, and a call racing
//! foil_client_free() keeps what it uses alive through an `Arc`.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::raw::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use foil_client::engine::{Engine, EngineError, Event, EventKind, RequestId};
use foil_client::Client;

use crate::args::client_failure;
use crate::boundary::{Failure, LastError};
use crate::types::{FoilClient, FoilEvent, FoilEventCallback, FoilEventKind, FoilStatus};

/// How long foil_client_free() waits for the runtime's threads after cancelling everything.
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Live clients by handle value.
static CLIENTS: RwLock<BTreeMap<usize, Arc<ClientInner>>> = RwLock::new(BTreeMap::new());
/// The next handle value (never reused; 0 is never a handle).
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// An engine event with its payload as the C string handed out by foil_poll_event().
pub(crate) struct QueuedEvent {
    request_id: u64,
    kind: FoilEventKind,
    http_status: u16,
    payload: CString,
}

impl From<Event> for QueuedEvent {
    fn from(event: Event) -> Self {
        let kind = match event.kind {
            EventKind::Response(_) => FoilEventKind::RESPONSE,
            EventKind::StreamMetadata => FoilEventKind::STREAM_METADATA,
            EventKind::TextDelta => FoilEventKind::TEXT_DELTA,
            EventKind::StreamDone => FoilEventKind::STREAM_DONE,
            EventKind::Error => FoilEventKind::ERROR,
            EventKind::StateChange => FoilEventKind::STATE_CHANGE,
            EventKind::ScoreChange => FoilEventKind::SCORE_CHANGE,
            EventKind::MachineCompleted => FoilEventKind::MACHINE_COMPLETED,
            EventKind::MachinesUnlocked => FoilEventKind::MACHINES_UNLOCKED,
            EventKind::SessionEnded => FoilEventKind::SESSION_ENDED,
            EventKind::CredentialExpiring { .. } => FoilEventKind::CREDENTIAL_EXPIRING,
        };
        QueuedEvent {
            request_id: event.request_id,
            kind,
            http_status: event.http_status,
            payload: c_payload(event.payload),
        }
    }
}

impl QueuedEvent {
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

/// A live client.
pub(crate) struct ClientInner {
    pub engine: Engine,
    pub last_error: Mutex<LastError>,
}

impl ClientInner {
    /// Starts the engine (2 worker threads named `foil-worker`; it watches the credential's
    /// expiry) and registers the client.
    pub(crate) fn create(client: Client) -> Result<*mut FoilClient, Failure> {
        let engine = Engine::new("foil-worker", Ok(client)).map_err(|e| {
            Failure::new(
                FoilStatus::RuntimeError,
                format!("could not start the client's threads: {e}"),
            )
        })?;
        let inner = Arc::new(ClientInner {
            engine,
            last_error: Mutex::new(LastError::new()),
        });
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

    /// Unregisters `handle` and shuts its engine down: requests cancelled, no further
    /// callback, threads stopped (waiting at most [`SHUTDOWN_TIMEOUT`]). False if it was not
    /// a live client.
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
                inner.engine.shutdown(SHUTDOWN_TIMEOUT);
                true
            }
            None => false,
        }
    }

    /// How many clients are alive (for tests and leak checks).
    pub(crate) fn live_count() -> usize {
        CLIENTS.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Replaces the credential and watches the new one's expiry; on failure nothing changes.
    pub(crate) fn set_api_key(&self, api_key: &str) -> Result<(), Failure> {
        self.engine.set_api_key(api_key).map_err(client_failure)
    }

    /// Cancels a request in flight (see [`Engine::cancel`]).
    pub(crate) fn cancel(&self, id: RequestId) -> Result<(), Failure> {
        if self.engine.cancel(id) {
            Ok(())
        } else {
            Err(engine_failure(EngineError::UnknownRequest(id)))
        }
    }

    /// The oldest queued event, if any.
    pub(crate) fn poll(&self) -> Result<Option<QueuedEvent>, Failure> {
        Ok(self.engine.pop().map_err(engine_failure)?.map(Into::into))
    }

    /// Blocks until request `id`'s finishing event is queued (and takes it) or `timeout`
    /// passes. Other events stay queued.
    pub(crate) fn wait(&self, id: RequestId, timeout: Duration) -> Result<QueuedEvent, Failure> {
        self.engine
            .wait_finishing(id, timeout)
            .map(Into::into)
            .map_err(engine_failure)
    }

    /// Sets (or with `None` removes) the push callback.
    pub(crate) fn set_callback(
        &self,
        callback: FoilEventCallback,
        user_data: *mut c_void,
    ) -> Result<(), Failure> {
        let callback = callback.map(|function| {
            // An address the host gave us, opaque to us.
            let user_data = user_data as usize;
            Arc::new(move |event: Event| {
                let event = QueuedEvent::from(event);
                let view = event.borrow_c();
                // SAFETY: the host gave us this function and promised it is callable with its
                // user data from another thread; `view` points into `event`, alive until after
                // the call.
                unsafe { function(user_data as *mut c_void, &view) };
            }) as foil_client::engine::EventCallback
        });
        self.engine.set_callback(callback).map_err(engine_failure)
    }
}

/// The C status and message of an engine refusal.
pub(crate) fn engine_failure(error: EngineError) -> Failure {
    match error {
        EngineError::Closed => invalid_handle(),
        EngineError::CallbackMode => Failure::new(
            FoilStatus::CallbackMode,
            "an event callback is set: events are delivered to it, not polled",
        ),
        EngineError::UnknownRequest(id) => Failure::new(
            FoilStatus::UnknownRequest,
            format!("no request {id} is in flight"),
        ),
        EngineError::Timeout(id) => Failure::new(
            FoilStatus::Timeout,
            format!("request {id} did not finish in time"),
        ),
        EngineError::Threads => Failure::new(
            FoilStatus::RuntimeError,
            "could not start the callback thread",
        ),
    }
}

fn invalid_handle() -> Failure {
    Failure::new(
        FoilStatus::InvalidHandle,
        "not a live client (never created, or already freed)",
    )
}
