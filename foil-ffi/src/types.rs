//! The C-visible types.

use std::os::raw::{c_char, c_void};

/// The result of a fallible call. The numbers are part of the ABI and never reused.
///
/// The message of the last failure is readable with foil_last_error().
/// cbindgen:rename-all=QualifiedScreamingSnakeCase
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoilStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// A required string argument was empty or only whitespace.
    EmptyArgument = 3,
    /// A string argument was too long (strings: 64 KiB; a player message: 2,000 characters).
    ArgumentTooLong = 4,
    /// An argument was invalid for another reason (an id that is not a UUID, a base URL that
    /// is not http(s), a value not allowed in an HTTP header).
    InvalidArgument = 5,
    /// foil_cancel() / foil_wait(): no request with this id is in flight (never issued, or
    /// already finished and its finishing event taken).
    UnknownRequest = 6,
    /// foil_wait(): the timeout passed before the request finished.
    Timeout = 7,
    /// The client's runtime or HTTP client could not be created.
    RuntimeError = 8,
    /// foil_poll_event() / foil_wait() while a push callback is set: events go to the callback.
    CallbackMode = 9,
    /// The library caught a panic (a bug); the call had no effect.
    Panic = 10,
    /// The client handle is not a live client (never created, or already freed).
    InvalidHandle = 11,
}

/// What an event reports. Every request ends with exactly one *finishing* event:
/// FOIL_EVENT_RESPONSE, FOIL_EVENT_STREAM_DONE or FOIL_EVENT_ERROR. Client events (20 and up)
/// belong to no request: their `request_id` is 0.
/// cbindgen:rename-all=prefix:FOIL_EVENT_
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoilEventKind {
    /// No event: what foil_event_free() leaves behind (and a zeroed FoilEvent).
    NONE = 0,
    /// The request finished; payload: the response JSON (the server's body: api.md §4.2
    /// shapes). Finishing.
    RESPONSE = 1,
    /// A stream's metadata: the ChatResponse keys except `message`, as JSON.
    STREAM_METADATA = 2,
    /// A piece of a streamed reply; payload: the text itself (not JSON).
    TEXT_DELTA = 3,
    /// The stream finished; payload: the full ChatResponse JSON. Finishing.
    STREAM_DONE = 4,
    /// The request failed; payload: `{"status", "code", "message", "retry_after"}` JSON
    /// (`status` 0 when there was no HTTP answer; `code` is the server's error code or one of
    /// `invalid_argument`, `transport_error`, `timeout`, `decode_error`, `stream_error`,
    /// `cancelled`, `rate_limited`, `http_error`, `internal_error`). Finishing.
    ERROR = 5,
    /// Game event: `{"session_id", "from_state", "to_state", "decision"}`.
    STATE_CHANGE = 10,
    /// Game event: `{"session_id", "old_score", "new_score", "delta"}`.
    SCORE_CHANGE = 11,
    /// Game event: `{"session_id", "outcome", "final_score"}`.
    MACHINE_COMPLETED = 12,
    /// Game event: `{"session_id", "machines": [{"machine_id", "machine_key", "name",
    /// "is_auto_advance"}]}`.
    MACHINES_UNLOCKED = 13,
    /// Game event: `{"session_id", "outcome", "final_score"}`.
    SESSION_ENDED = 14,
    /// Client event (request_id 0, http_status 0): the player token in use expires soon; get a
    /// new one from your backend and pass it to foil_client_set_api_key(). Payload:
    /// `{"expires_at": <unix seconds>}`. Queued once per token set (at creation or with
    /// foil_client_set_api_key()), `min(60 s, lifetime / 10)` before `expires_at` — at once if
    /// that moment has passed; never for an API key.
    CREDENTIAL_EXPIRING = 20,
}

impl FoilEventKind {
    /// Whether this kind ends its request.
    pub fn is_finishing(self) -> bool {
        matches!(
            self,
            FoilEventKind::RESPONSE | FoilEventKind::STREAM_DONE | FoilEventKind::ERROR
        )
    }
}

/// A client: its own worker threads, HTTP connections and event queue. Opaque; create with
/// foil_client_new(), free with foil_client_free().
pub struct FoilClient {
    _private: [u8; 0],
}

/// How to create a client. Initialise with foil_client_config_init(), then set fields.
/// Strings are NUL-terminated UTF-8, copied by foil_client_new() (they need not outlive it);
/// every string may be NULL (or empty: the same as NULL) except `api_key`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FoilClientConfig {
    /// The server (default `https://api.foilengine.io`).
    pub base_url: *const c_char,
    /// The game's API key (`pk_live_...`) or a player token (`pt_...`) from the game's
    /// backend, sent as `X-API-Key`. Required; replace it later with foil_client_set_api_key().
    pub api_key: *const c_char,
    /// `X-LLM-API-Key`: the player's/game's provider key for every pipeline step.
    pub llm_api_key: *const c_char,
    /// `X-LLM-Model`: model for every step (e.g. `openai/gpt-4o-mini`).
    pub llm_model: *const c_char,
    /// `X-LLM-Eval-Model`.
    pub llm_eval_model: *const c_char,
    /// `X-LLM-Response-Model`.
    pub llm_response_model: *const c_char,
    /// `X-LLM-Summarization-Model`.
    pub llm_summarization_model: *const c_char,
    /// `X-LLM-Eval-API-Key`.
    pub llm_eval_api_key: *const c_char,
    /// `X-LLM-Response-API-Key`.
    pub llm_response_api_key: *const c_char,
    /// `X-LLM-Summarization-API-Key`.
    pub llm_summarization_api_key: *const c_char,
    /// Time limit of each attempt of an ordinary request, ms (0 = default 30000).
    pub timeout_ms: u32,
    /// Time limit of a whole streamed reply, ms (0 = default 120000).
    pub stream_timeout_ms: u32,
    /// Retries on 429/500/502/503/504 and transport errors (< 0 = default 3; 0 = none).
    pub max_retries: i32,
    /// How long foil_list_personas() answers from its cache, ms (0 = default 60000).
    pub persona_cache_ttl_ms: u32,
}

/// One event. Filled by foil_poll_event() / foil_wait(); release its payload with
/// foil_event_free(). Do not modify the fields.
#[repr(C)]
#[derive(Debug)]
pub struct FoilEvent {
    /// The request the event belongs to (game events: the request whose response they were
    /// derived from; client events such as FOIL_EVENT_CREDENTIAL_EXPIRING: 0).
    pub request_id: u64,
    /// What happened.
    pub kind: FoilEventKind,
    /// The HTTP status of the answer (200 for RESPONSE, STREAM_METADATA, TEXT_DELTA and
    /// STREAM_DONE; the error status for ERROR); 0 if none (no HTTP answer, game events).
    pub http_status: u16,
    /// NUL-terminated UTF-8 (never contains a NUL byte itself). Owned by the library until
    /// foil_event_free(); for callback events, valid only during the callback.
    pub payload: *const c_char,
    /// Length of `payload` in bytes, without the terminating NUL.
    pub payload_len: usize,
}

impl FoilEvent {
    /// The empty event (kind NONE, payload NULL).
    pub const EMPTY: FoilEvent = FoilEvent {
        request_id: 0,
        kind: FoilEventKind::NONE,
        http_status: 0,
        payload: std::ptr::null(),
        payload_len: 0,
    };
}

/// A push-model event handler, set with foil_set_event_callback(). Called on a library
/// thread (one per client, never the game's thread), one event at a time, in queue order.
/// `event` and its payload are valid only during the call: copy what you keep, do not call
/// foil_event_free() on it. The callback should return promptly (copy the event and hand it
/// to the game's thread); foil_client_free() waits for a running callback to return (except
/// when called from the callback itself).
pub type FoilEventCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const FoilEvent)>;
