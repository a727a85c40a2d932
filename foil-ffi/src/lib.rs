//! The Foil Engine native plugin: a C ABI over [`foil_client`].
//!
//! Built as `libfoil.so` / `foil.dll` / `libfoil.dylib` (cdylib) and `libfoil.a` (staticlib);
//! `include/foil.h` is generated from this crate by cbindgen (see `tests/header.rs`). The
//! rlib lets Rust tests call the exported functions directly.
//!
//! Model: every request function validates its arguments, spawns the request on the client's
//! own Tokio runtime and returns a request id at once; results come back as events, drained
//! by the game with [`foil_poll_event`] (or pushed to a callback). See `docs/native-plugin.md`.
//!
//! Every exported function runs its body inside one panic boundary
//! (`boundary::boundary`): a panic becomes FOIL_STATUS_PANIC / 0 / false / NULL.

#![warn(missing_docs)]

mod args;
mod boundary;
mod client;
mod payloads;
mod types;

use std::os::raw::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use foil_client::{validate, ClientConfig, LlmHeaders};

use crate::args::{argument_failure, client_failure, optional, required};
use crate::boundary::{
    boundary, set_client_error, set_thread_error, with_client_error, with_thread_error, Failure,
};
use crate::client::{engine_failure, ClientInner};
pub use crate::types::{
    FoilClient, FoilClientConfig, FoilEvent, FoilEventCallback, FoilEventKind, FoilStatus,
};

/// The library version, NUL-terminated.
static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// How many clients are alive (not freed). For tests and leak checks; not part of the C API.
pub fn live_clients() -> usize {
    ClientInner::live_count()
}

/// How many event payloads handed out by foil_poll_event()/foil_wait() have not been freed
/// yet. For tests and leak checks; not part of the C API.
pub fn outstanding_payloads() -> usize {
    payloads::outstanding()
}

/// Records `failure` for the client and the calling thread.
fn fail(inner: &ClientInner, failure: &Failure) {
    set_client_error(&inner.last_error, failure);
    set_thread_error(failure);
}

/// The body of every request function: look up the client, run `start` (argument checks and
/// submission), and turn failures into 0 plus the last-error records.
fn request(
    client: *mut FoilClient,
    start: impl FnOnce(&ClientInner) -> Result<u64, Failure>,
) -> u64 {
    boundary(0, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return 0;
            }
        };
        match start(&inner) {
            Ok(id) => id,
            Err(failure) => {
                fail(&inner, &failure);
                0
            }
        }
    })
}

/// The library's version, e.g. `"0.1.0"` (the same as the FOIL_VERSION macro of the header
/// it was built with). Static: never freed.
#[no_mangle]
pub extern "C" fn foil_version() -> *const c_char {
    boundary(std::ptr::null(), || VERSION.as_ptr().cast())
}

/// Fills `config` with the defaults: every string NULL, timeout_ms 30000,
/// stream_timeout_ms 120000, max_retries 3, persona_cache_ttl_ms 60000. Set `api_key` (and
/// usually `base_url`) afterwards. NULL is ignored.
///
/// # Safety
/// `config` is NULL or points to writable memory for one FoilClientConfig.
#[no_mangle]
pub unsafe extern "C" fn foil_client_config_init(config: *mut FoilClientConfig) {
    boundary((), || {
        if config.is_null() {
            set_thread_error(&Failure::new(FoilStatus::NullArgument, "config is NULL"));
            return;
        }
        let defaults = FoilClientConfig {
            base_url: std::ptr::null(),
            api_key: std::ptr::null(),
            llm_api_key: std::ptr::null(),
            llm_model: std::ptr::null(),
            llm_eval_model: std::ptr::null(),
            llm_response_model: std::ptr::null(),
            llm_summarization_model: std::ptr::null(),
            llm_eval_api_key: std::ptr::null(),
            llm_response_api_key: std::ptr::null(),
            llm_summarization_api_key: std::ptr::null(),
            timeout_ms: millis(foil_client::DEFAULT_TIMEOUT),
            stream_timeout_ms: millis(foil_client::DEFAULT_STREAM_TIMEOUT),
            max_retries: foil_client::DEFAULT_MAX_RETRIES as i32,
            persona_cache_ttl_ms: millis(foil_client::DEFAULT_PERSONA_CACHE_TTL),
        };
        // SAFETY: non-NULL and writable by the caller's contract; `write` reads nothing.
        unsafe { config.write(defaults) };
    })
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn duration_or(ms: u32, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(u64::from(ms))
    }
}

/// Creates a client: checks `config`, starts the client's worker threads (named
/// `foil-worker`) and writes the new handle to `*out_client` (only on success). Makes no
/// request. Free the client with foil_client_free().
///
/// When `api_key` is a player token (`pt_...`), its expiry is watched: see
/// FOIL_EVENT_CREDENTIAL_EXPIRING and foil_client_set_api_key().
///
/// Returns FOIL_STATUS_NULL_ARGUMENT (config, out_client or api_key NULL),
/// FOIL_STATUS_INVALID_UTF8, FOIL_STATUS_EMPTY_ARGUMENT (api_key blank),
/// FOIL_STATUS_ARGUMENT_TOO_LONG, FOIL_STATUS_INVALID_ARGUMENT (base_url not http(s), a value
/// not allowed in an HTTP header) or FOIL_STATUS_RUNTIME_ERROR; the message is readable with
/// foil_last_error(NULL, ...).
///
/// # Safety
/// `config` is NULL or points to a FoilClientConfig whose strings are NULL or NUL-terminated;
/// `out_client` is NULL or points to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn foil_client_new(
    config: *const FoilClientConfig,
    out_client: *mut *mut FoilClient,
) -> FoilStatus {
    boundary(FoilStatus::Panic, || {
        let result = (|| {
            if config.is_null() {
                return Err(Failure::new(FoilStatus::NullArgument, "config is NULL"));
            }
            if out_client.is_null() {
                return Err(Failure::new(FoilStatus::NullArgument, "out_client is NULL"));
            }
            // SAFETY: non-NULL by the check; plain pointers and integers, any value is valid.
            let c = unsafe { config.read() };
            let text = |name: &str, ptr: *const c_char| -> Result<Option<String>, Failure> {
                // SAFETY: the caller's contract on the config's strings.
                Ok(unsafe { optional(name, ptr) }?
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string))
            };
            // SAFETY: as above.
            let api_key = unsafe { required("api_key", c.api_key) }?.to_string();
            let config = ClientConfig {
                base_url: text("base_url", c.base_url)?
                    .unwrap_or_else(|| foil_client::DEFAULT_BASE_URL.to_string()),
                api_key,
                llm: LlmHeaders {
                    api_key: text("llm_api_key", c.llm_api_key)?,
                    model: text("llm_model", c.llm_model)?,
                    eval_model: text("llm_eval_model", c.llm_eval_model)?,
                    response_model: text("llm_response_model", c.llm_response_model)?,
                    summarization_model: text(
                        "llm_summarization_model",
                        c.llm_summarization_model,
                    )?,
                    eval_api_key: text("llm_eval_api_key", c.llm_eval_api_key)?,
                    response_api_key: text("llm_response_api_key", c.llm_response_api_key)?,
                    summarization_api_key: text(
                        "llm_summarization_api_key",
                        c.llm_summarization_api_key,
                    )?,
                },
                timeout: duration_or(c.timeout_ms, foil_client::DEFAULT_TIMEOUT),
                stream_timeout: duration_or(
                    c.stream_timeout_ms,
                    foil_client::DEFAULT_STREAM_TIMEOUT,
                ),
                max_retries: u32::try_from(c.max_retries)
                    .unwrap_or(foil_client::DEFAULT_MAX_RETRIES),
                persona_cache_ttl: duration_or(
                    c.persona_cache_ttl_ms,
                    foil_client::DEFAULT_PERSONA_CACHE_TTL,
                ),
            };
            let client = foil_client::Client::new(config).map_err(client_failure)?;
            ClientInner::create(client)
        })();
        match result {
            Ok(handle) => {
                // SAFETY: checked non-NULL above; `write` reads nothing.
                unsafe { out_client.write(handle) };
                FoilStatus::Ok
            }
            Err(failure) => {
                set_thread_error(&failure);
                failure.status
            }
        }
    })
}

/// Frees a client: cancels its requests (no further events), drops its queued events, stops
/// its callback thread and shuts its worker threads down from the calling thread, waiting at
/// most about 2 s for them. NULL, and a handle already freed, are ignored. Afterwards the
/// handle is invalid (calls with it fail with FOIL_STATUS_INVALID_HANDLE); payloads already
/// handed out stay valid until foil_event_free(). Creating a new client afterwards works.
///
/// Must not race with other calls on the same client (finish them first); may be called from
/// the client's own event callback.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new() (freed handles are detected).
#[no_mangle]
pub unsafe extern "C" fn foil_client_free(client: *mut FoilClient) {
    boundary((), || {
        ClientInner::free(client);
    })
}

/// Replaces the client's credential, sent as `X-API-Key`: typically a fresh player token from
/// the game's backend, after FOIL_EVENT_CREDENTIAL_EXPIRING (or an API key). Requests started
/// afterwards send it, retries included; requests already sent keep the old one. The string is
/// copied and never logged. A different credential empties the persona cache.
///
/// The new credential's expiry is watched instead of the old one's: for a player token,
/// FOIL_EVENT_CREDENTIAL_EXPIRING is queued `min(60 s, lifetime / 10)` before it expires (at
/// once, before this returns, if that moment has passed); the old credential's event, if not
/// queued yet, never comes. No event for an API key.
///
/// Returns FOIL_STATUS_OK, FOIL_STATUS_NULL_ARGUMENT (client or api_key NULL),
/// FOIL_STATUS_INVALID_UTF8, FOIL_STATUS_EMPTY_ARGUMENT (api_key blank),
/// FOIL_STATUS_ARGUMENT_TOO_LONG, FOIL_STATUS_INVALID_ARGUMENT (a character not allowed in an
/// HTTP header) or FOIL_STATUS_INVALID_HANDLE; on failure the credential is unchanged.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `api_key` is NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_client_set_api_key(
    client: *mut FoilClient,
    api_key: *const c_char,
) -> FoilStatus {
    boundary(FoilStatus::Panic, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return failure.status;
            }
        };
        // SAFETY: the caller's contract on the string.
        let result = unsafe { required("api_key", api_key) }.and_then(|key| inner.set_api_key(key));
        match result {
            Ok(()) => FoilStatus::Ok,
            Err(failure) => {
                fail(&inner, &failure);
                failure.status
            }
        }
    })
}

/// Requests the published personas the API key reaches (`GET /api/v1/sdk/personas`; cached
/// for persona_cache_ttl_ms). RESPONSE payload: `[Persona]` JSON.
///
/// Returns the request id (> 0) at once, or 0 with foil_last_status()/foil_last_error() set.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new().
#[no_mangle]
pub unsafe extern "C" fn foil_list_personas(client: *mut FoilClient) -> u64 {
    request(client, |inner| {
        inner.engine.list_personas().map_err(engine_failure)
    })
}

/// Requests the machines (scenarios) this player can play now
/// (`GET /api/v1/sdk/chat/{persona_id}/machines`). RESPONSE payload: `[MachineInfo]` JSON.
///
/// Returns the request id (> 0) at once, or 0 with the error readable (NULL, invalid UTF-8,
/// blank or over-long strings; persona_id not a UUID).
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_list_machines(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player) = unsafe {
            (
                required("persona_id", persona_id)?,
                required("user_session_id", user_session_id)?,
            )
        };
        validate::list_machines(persona, player).map_err(argument_failure)?;
        inner
            .engine
            .list_machines(persona, player)
            .map_err(engine_failure)
    })
}

/// Starts (or starts over) a session and gets the NPC's greeting
/// (`POST /api/v1/sdk/chat/{persona_id}/init-session`). `player_gender` is `female`, `male`
/// or `non-binary`; `machine_id` may be NULL (or empty) for the persona's primary machine.
/// RESPONSE payload: `SessionInit` JSON.
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_init_session(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    player_name: *const c_char,
    player_gender: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, name, gender, machine) = unsafe {
            (
                required("persona_id", persona_id)?,
                required("user_session_id", user_session_id)?,
                required("player_name", player_name)?,
                required("player_gender", player_gender)?,
                optional("machine_id", machine_id)?,
            )
        };
        validate::init_session(persona, player, name, gender, machine).map_err(argument_failure)?;
        inner
            .engine
            .init_session(persona, player, name, gender, machine)
            .map_err(engine_failure)
    })
}

/// Sends the player's message and gets the whole reply
/// (`POST /api/v1/sdk/chat/{persona_id}/message`). `message` is at most 2,000 characters;
/// `machine_id` may be NULL (the player's most recently active session of the persona).
/// RESPONSE payload: `ChatResponse` JSON, followed by the game events it implies.
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_send_message(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    message: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, message, machine) =
            unsafe { message_args(persona_id, user_session_id, message, machine_id) }?;
        inner
            .engine
            .send_message(persona, player, message, machine)
            .map_err(engine_failure)
    })
}

/// Sends the player's message and streams the reply
/// (`POST /api/v1/sdk/chat/{persona_id}/message/stream`). Events, in order:
/// FOIL_EVENT_STREAM_METADATA, FOIL_EVENT_TEXT_DELTA (one per piece, as it arrives), then
/// FOIL_EVENT_STREAM_DONE (followed by the game events) — or FOIL_EVENT_ERROR at any point
/// (code `stream_error` when the server failed after the stream began; the turn was not
/// stored). Never retried; bounded by stream_timeout_ms. Arguments as foil_send_message().
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_send_message_stream(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    message: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, message, machine) =
            unsafe { message_args(persona_id, user_session_id, message, machine_id) }?;
        inner
            .engine
            .send_message_stream(persona, player, message, machine)
            .map_err(engine_failure)
    })
}

type MessageArgs<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);

/// # Safety
/// The strings are NULL or NUL-terminated.
unsafe fn message_args<'a>(
    persona_id: *const c_char,
    user_session_id: *const c_char,
    message: *const c_char,
    machine_id: *const c_char,
) -> Result<MessageArgs<'a>, Failure> {
    // SAFETY: forwarded contract.
    let (persona, player, text, machine) = unsafe {
        (
            required("persona_id", persona_id)?,
            required("user_session_id", user_session_id)?,
            required("message", message)?,
            optional("machine_id", machine_id)?,
        )
    };
    validate::send_message(persona, player, text, machine).map_err(argument_failure)?;
    Ok((persona, player, text, machine))
}

type SessionArgs<'a> = (&'a str, &'a str, Option<&'a str>);

/// # Safety
/// The strings are NULL or NUL-terminated.
unsafe fn session_args<'a>(
    persona_id: *const c_char,
    user_session_id: *const c_char,
    machine_id: *const c_char,
) -> Result<SessionArgs<'a>, Failure> {
    // SAFETY: forwarded contract.
    let (persona, player, machine) = unsafe {
        (
            required("persona_id", persona_id)?,
            required("user_session_id", user_session_id)?,
            optional("machine_id", machine_id)?,
        )
    };
    validate::session(persona, player, machine).map_err(argument_failure)?;
    Ok((persona, player, machine))
}

/// Requests the session's status (`GET /api/v1/sdk/chat/{persona_id}/session`; ERROR 404
/// `session_not_found` when there is none). RESPONSE payload: `SessionStatus` JSON. Also
/// teaches the client the session's current state, so the next turn's STATE_CHANGE can be
/// reported (call it once after foil_init_session() to get one for the first turn).
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_get_session(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, machine) =
            unsafe { session_args(persona_id, user_session_id, machine_id) }?;
        inner
            .engine
            .get_session(persona, player, machine)
            .map_err(engine_failure)
    })
}

/// Requests the session with all its messages, the greeting first
/// (`GET /api/v1/sdk/chat/{persona_id}/history`). RESPONSE payload: `ChatHistory` JSON.
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_get_history(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, machine) =
            unsafe { session_args(persona_id, user_session_id, machine_id) }?;
        inner
            .engine
            .get_history(persona, player, machine)
            .map_err(engine_failure)
    })
}

/// Starts the session over in its initial state with an empty history
/// (`POST /api/v1/sdk/chat/{persona_id}/reset`). RESPONSE payload: `ResetResult` JSON.
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); the strings are NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_reset_session(
    client: *mut FoilClient,
    persona_id: *const c_char,
    user_session_id: *const c_char,
    machine_id: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the strings.
        let (persona, player, machine) =
            unsafe { session_args(persona_id, user_session_id, machine_id) }?;
        inner
            .engine
            .reset(persona, player, machine)
            .map_err(engine_failure)
    })
}

/// Checks the configured LLM key against `model` (NULL or empty: the configured/server
/// default) (`POST /api/v1/sdk/validate-llm-key`). RESPONSE payload: `{"valid", "model",
/// "error"}` JSON.
///
/// Returns the request id (> 0) at once, or 0 with the error readable.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `model` is NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn foil_validate_llm_key(
    client: *mut FoilClient,
    model: *const c_char,
) -> u64 {
    request(client, |inner| {
        // SAFETY: the caller's contract on the string.
        let model = unsafe { optional("model", model) }?;
        validate::validate_llm_key(model).map_err(argument_failure)?;
        inner.engine.validate_llm_key(model).map_err(engine_failure)
    })
}

/// Cancels a request in flight: its work stops (a stream's connection is closed, so the
/// server rolls the turn back) and a FOIL_EVENT_ERROR with code `cancelled` finishes it;
/// nothing else of that request is queued afterwards (events queued before stay).
///
/// Returns FOIL_STATUS_OK, or FOIL_STATUS_UNKNOWN_REQUEST when the request is not in flight
/// (never issued or already finished: then it has its finishing event already).
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new().
#[no_mangle]
pub unsafe extern "C" fn foil_cancel(client: *mut FoilClient, request_id: u64) -> FoilStatus {
    boundary(FoilStatus::Panic, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return failure.status;
            }
        };
        match inner.cancel(request_id) {
            Ok(()) => FoilStatus::Ok,
            Err(failure) => {
                fail(&inner, &failure);
                failure.status
            }
        }
    })
}

/// Takes the oldest queued event into `*out_event` and returns true; returns false when the
/// queue is empty (or on failure: client invalid, out_event NULL, or a callback is set —
/// FOIL_STATUS_CALLBACK_MODE). Never blocks, not even on the library's threads: an event being
/// queued at this very moment comes with the next call. Call it once per frame until it returns
/// false.
/// The payload is owned by the library until foil_event_free(out_event).
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `out_event` is NULL or points to
/// writable memory for one FoilEvent (its previous content is overwritten, not freed).
#[no_mangle]
pub unsafe extern "C" fn foil_poll_event(
    client: *mut FoilClient,
    out_event: *mut FoilEvent,
) -> bool {
    boundary(false, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return false;
            }
        };
        if out_event.is_null() {
            fail(
                &inner,
                &Failure::new(FoilStatus::NullArgument, "out_event is NULL"),
            );
            return false;
        }
        match inner.poll() {
            Ok(Some(event)) => {
                // SAFETY: non-NULL and writable by the caller's contract.
                unsafe { out_event.write(payloads::hand_out(event)) };
                true
            }
            Ok(None) => false,
            Err(failure) => {
                fail(&inner, &failure);
                false
            }
        }
    })
}

/// Frees an event's payload and resets the event (kind FOIL_EVENT_NONE, payload NULL). NULL,
/// an event already freed, a zeroed event and a copy of a freed event are ignored. Do not
/// call it on an event passed to a callback.
///
/// # Safety
/// `event` is NULL or points to a readable and writable FoilEvent.
#[no_mangle]
pub unsafe extern "C" fn foil_event_free(event: *mut FoilEvent) {
    boundary((), || {
        if event.is_null() {
            return;
        }
        // Read only the payload field: the rest may hold anything the host wrote.
        // SAFETY: non-NULL and readable by the caller's contract.
        let payload = unsafe { std::ptr::addr_of!((*event).payload).read() };
        payloads::release(payload);
        // SAFETY: writable by the caller's contract; `write` reads nothing.
        unsafe { event.write(FoilEvent::EMPTY) };
    })
}

/// Blocks the calling thread until request `request_id` finishes (or `timeout_ms` passes) and
/// takes its finishing event (RESPONSE, STREAM_DONE or ERROR) into `*out_event`; the
/// request's other events (stream pieces, game events) stay queued for foil_poll_event().
/// Meant for tools, tests and loading screens — not for a game's frame loop.
///
/// Returns FOIL_STATUS_OK, FOIL_STATUS_TIMEOUT, FOIL_STATUS_UNKNOWN_REQUEST (not in flight
/// and no finishing event queued), FOIL_STATUS_CALLBACK_MODE, FOIL_STATUS_NULL_ARGUMENT or
/// FOIL_STATUS_INVALID_HANDLE (also when the client is freed meanwhile). `*out_event` is
/// written only on FOIL_STATUS_OK; free it with foil_event_free().
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `out_event` is NULL or points to
/// writable memory for one FoilEvent.
#[no_mangle]
pub unsafe extern "C" fn foil_wait(
    client: *mut FoilClient,
    request_id: u64,
    timeout_ms: u32,
    out_event: *mut FoilEvent,
) -> FoilStatus {
    boundary(FoilStatus::Panic, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return failure.status;
            }
        };
        let result = if out_event.is_null() {
            Err(Failure::new(FoilStatus::NullArgument, "out_event is NULL"))
        } else {
            inner.wait(request_id, Duration::from_millis(u64::from(timeout_ms)))
        };
        match result {
            Ok(event) => {
                // SAFETY: non-NULL and writable by the caller's contract.
                unsafe { out_event.write(payloads::hand_out(event)) };
                FoilStatus::Ok
            }
            Err(failure) => {
                fail(&inner, &failure);
                failure.status
            }
        }
    })
}

/// Switches the client to push delivery: every queued and future event is passed to
/// `callback(user_data, event)` on a library thread (`foil-callback`, one per client), in
/// order; foil_poll_event()/foil_wait() then fail with FOIL_STATUS_CALLBACK_MODE. A NULL
/// `callback` switches back to polling (events not yet delivered stay queued).
///
/// The event and its payload are valid only during the call; the callback must not call
/// foil_event_free() on it and should return quickly (copy, hand to the game's main thread).
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `callback` is NULL or callable
/// with `user_data` from another thread until it is replaced or the client is freed.
#[no_mangle]
pub unsafe extern "C" fn foil_set_event_callback(
    client: *mut FoilClient,
    callback: FoilEventCallback,
    user_data: *mut c_void,
) -> FoilStatus {
    boundary(FoilStatus::Panic, || {
        let inner = match ClientInner::get(client) {
            Ok(inner) => inner,
            Err(failure) => {
                set_thread_error(&failure);
                return failure.status;
            }
        };
        match inner.set_callback(callback, user_data) {
            Ok(()) => FoilStatus::Ok,
            Err(failure) => {
                fail(&inner, &failure);
                failure.status
            }
        }
    })
}

/// The live client behind `client`, if it is one.
fn live(client: *const FoilClient) -> Option<Arc<ClientInner>> {
    if client.is_null() {
        None
    } else {
        ClientInner::get(client).ok()
    }
}

/// The status of the last failed call on `client` — or, when `client` is NULL or not a live
/// client, of the calling thread's last failed call (including calls with no client, such as
/// foil_client_new()). FOIL_STATUS_OK if none failed yet. Successful calls do not reset it.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new().
#[no_mangle]
pub unsafe extern "C" fn foil_last_status(client: *const FoilClient) -> FoilStatus {
    boundary(FoilStatus::Panic, || match live(client) {
        Some(inner) => with_client_error(&inner.last_error, |status, _| status),
        None => with_thread_error(|status, _| status),
    })
}

/// Copies the message of the last failure (same record as foil_last_status()) into `buf`:
/// NUL-terminated UTF-8, truncated at a character boundary to fit `buf_len` bytes including
/// the NUL. Returns the message's full length in bytes (without the NUL), so a caller can
/// retry with a buffer of that length + 1; `buf` may be NULL (with any `buf_len`) to ask for
/// the length only. An empty string when nothing failed.
///
/// # Safety
/// `client` is NULL or a value returned by foil_client_new(); `buf` is NULL or points to
/// `buf_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn foil_last_error(
    client: *const FoilClient,
    buf: *mut c_char,
    buf_len: usize,
) -> usize {
    boundary(0, || {
        let copy = |_status: FoilStatus, message: &str| {
            // SAFETY: forwarded contract on `buf`.
            unsafe { copy_truncated(message, buf, buf_len) };
            message.len()
        };
        match live(client) {
            Some(inner) => with_client_error(&inner.last_error, copy),
            None => with_thread_error(copy),
        }
    })
}

/// Copies `message` into `buf` as a NUL-terminated string of at most `buf_len` bytes
/// (including the NUL), cut at a character boundary. Nothing when `buf` is NULL or
/// `buf_len` is 0.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes not overlapping `message`.
unsafe fn copy_truncated(message: &str, buf: *mut c_char, buf_len: usize) {
    if buf.is_null() || buf_len == 0 {
        return;
    }
    let mut n = message.len().min(buf_len - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: `buf` has `buf_len` > n writable bytes by the caller's contract.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n);
        buf.add(n).write(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copied(message: &str, len: usize) -> Vec<u8> {
        let mut buf = vec![0xAAu8; len];
        // SAFETY: a buffer of `len` bytes.
        unsafe { copy_truncated(message, buf.as_mut_ptr().cast(), len) };
        buf
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        // "日本" is 6 bytes; 5 bytes of room (+ NUL) hold only the first character.
        assert_eq!(copied("日本", 6), [0xE6, 0x97, 0xA5, 0, 0xAA, 0xAA]);
        assert_eq!(copied("日本", 7), "日本\0".as_bytes());
        assert_eq!(copied("abc", 1), [0]);
        assert_eq!(copied("abc", 10)[..4], *b"abc\0");
        // SAFETY: NULL is allowed.
        unsafe { copy_truncated("abc", std::ptr::null_mut(), 10) };
    }
}
