//! The engine-agnostic core of the Godot binding: no Godot types here.
//!
//! A [`Dispatcher`] owns a private Tokio runtime (two worker threads named `foil-godot`) and a
//! [`foil_client::Client`] through the shared request engine. Each request method spawns the client call and returns a request
//! id (> 0) at once; everything the call produces is queued as plain [`Signal`] values, which
//! the engine's main thread takes with [`Dispatcher::drain`] once per frame (the `FoilClient`
//! node does it in `_process` and emits the matching Godot signals). So no network I/O ever
//! blocks the caller, and every result reaches the game on the thread that drains.
//!
//! The queueing, cancellation, ordering and game-event guarantees are the shared request
//! engine's ([`foil_client::engine`], tested there and through the C ABI); this module only
//! names its events as Godot signals: a streamed turn's `StreamDone` and a plain turn's
//! response are both `MessageReceived`, every error is `RequestFailed`.
//!
//! One signal belongs to no request (its request id is 0): [`Signal::CredentialExpiring`],
//! queued once per player token configured, shortly before it expires, so that the game can
//! configure a fresh one (see [`Dispatcher::configure`]).

use std::time::Duration;

use foil_client::engine::{Engine, EngineError, Event, EventKind, Operation};
use foil_client::{ArgumentError, ClientConfig, ClientError};

/// A request's id: unique per dispatcher, never 0.
pub type RequestId = foil_client::engine::RequestId;

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

    /// The signal of an engine event.
    fn from_event(event: Event) -> Signal {
        let Event {
            request_id,
            kind,
            payload: json,
            ..
        } = event;
        match kind {
            EventKind::Response(operation) => match operation {
                Operation::ListPersonas => Signal::Personas { request_id, json },
                Operation::ListMachines => Signal::Machines { request_id, json },
                Operation::InitSession => Signal::SessionStarted { request_id, json },
                Operation::SendMessage => Signal::MessageReceived { request_id, json },
                Operation::GetSession => Signal::SessionStatus { request_id, json },
                Operation::GetHistory => Signal::History { request_id, json },
                Operation::Reset => Signal::Reset { request_id, json },
                Operation::ValidateLlmKey => Signal::LlmKeyValidated { request_id, json },
            },
            EventKind::StreamMetadata => Signal::StreamMetadata { request_id, json },
            EventKind::TextDelta => Signal::TextDelta {
                request_id,
                text: json,
            },
            EventKind::StreamDone => Signal::MessageReceived { request_id, json },
            EventKind::Error => Signal::RequestFailed { request_id, json },
            EventKind::StateChange => Signal::StateChanged { request_id, json },
            EventKind::ScoreChange => Signal::ScoreChanged { request_id, json },
            EventKind::MachineCompleted => Signal::MachineCompleted { request_id, json },
            EventKind::MachinesUnlocked => Signal::MachinesUnlocked { request_id, json },
            EventKind::SessionEnded => Signal::SessionEnded { request_id, json },
            EventKind::CredentialExpiring { expires_at } => Signal::CredentialExpiring {
                expires_at: i64::try_from(expires_at).unwrap_or(i64::MAX),
                json,
            },
        }
    }
}

/// Runs client calls on a private runtime and queues their results as [`Signal`]s: the Godot
/// face of [`foil_client::engine::Engine`].
///
/// Usable from any thread (`&self` everywhere but [`Dispatcher::shutdown`]). Dropping it shuts
/// it down; like any Tokio runtime, it must not be shut down or dropped from inside an async
/// context (the Godot main thread is not one).
#[derive(Debug)]
pub struct Dispatcher {
    engine: Engine,
}

impl Dispatcher {
    /// Starts the runtime (two worker threads named `foil-godot`). Requests fail with
    /// `invalid_argument` until [`Dispatcher::configure`] succeeds.
    pub fn new() -> std::io::Result<Dispatcher> {
        let unconfigured =
            Err(ArgumentError::invalid("api_key", "the client is not configured yet").into());
        let engine = Engine::new("foil-godot", unconfigured).map_err(std::io::Error::other)?;
        Ok(Dispatcher { engine })
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
        self.engine.configure(config)
    }

    /// Takes up to `max` queued signals, oldest first. Call it once per frame on the thread
    /// that should receive them.
    pub fn drain(&self, max: usize) -> Vec<Signal> {
        self.engine
            .drain(max)
            .into_iter()
            .map(Signal::from_event)
            .collect()
    }

    /// Blocks until a signal is queued or `timeout` passes; true if one is queued. For tools
    /// and tests: a game never calls this on its main thread.
    pub fn wait(&self, timeout: Duration) -> bool {
        self.engine.wait_any(timeout)
    }

    /// Signals waiting to be drained.
    pub fn queued(&self) -> usize {
        self.engine.queued()
    }

    /// Requests that have not queued their finishing signal yet.
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }

    /// Cancels a request in flight: its `RequestFailed` (code `cancelled`) is queued at once,
    /// nothing more of it follows, and its connection is closed (a streamed turn is rolled back
    /// by the server). False when the request is unknown or already finished.
    pub fn cancel(&self, request_id: RequestId) -> bool {
        self.engine.cancel(request_id)
    }

    /// Cancels everything in flight (each gets its `RequestFailed` with code `cancelled`,
    /// still drainable) and stops the runtime without waiting: its threads end in the
    /// background, moments later, so the main thread never blocks (a node leaving the tree).
    /// Later requests return 0. Idempotent; also done on drop.
    pub fn shutdown(&mut self) {
        self.engine.shutdown(Duration::ZERO);
    }

    /// `list_personas` → [`Signal::Personas`].
    pub fn list_personas(&self) -> RequestId {
        id_or_zero(self.engine.list_personas())
    }

    /// `list_machines` → [`Signal::Machines`].
    pub fn list_machines(&self, persona_id: &str, user_session_id: &str) -> RequestId {
        id_or_zero(self.engine.list_machines(persona_id, user_session_id))
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
        id_or_zero(self.engine.init_session(
            persona_id,
            user_session_id,
            player_name,
            player_gender,
            machine_id,
        ))
    }

    /// `send_message` → [`Signal::MessageReceived`] and the game events.
    pub fn send_message(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        id_or_zero(
            self.engine
                .send_message(persona_id, user_session_id, message, machine_id),
        )
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
        id_or_zero(self.engine.send_message_stream(
            persona_id,
            user_session_id,
            message,
            machine_id,
        ))
    }

    /// `get_session` → [`Signal::SessionStatus`].
    pub fn get_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        id_or_zero(
            self.engine
                .get_session(persona_id, user_session_id, machine_id),
        )
    }

    /// `get_history` → [`Signal::History`].
    pub fn get_history(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        id_or_zero(
            self.engine
                .get_history(persona_id, user_session_id, machine_id),
        )
    }

    /// `reset` → [`Signal::Reset`].
    pub fn reset(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> RequestId {
        id_or_zero(self.engine.reset(persona_id, user_session_id, machine_id))
    }

    /// `validate_llm_key` → [`Signal::LlmKeyValidated`].
    pub fn validate_llm_key(&self, model: Option<&str>) -> RequestId {
        id_or_zero(self.engine.validate_llm_key(model))
    }
}

/// A request's id, or 0 when the dispatcher is shut down.
fn id_or_zero(submitted: Result<RequestId, EngineError>) -> RequestId {
    submitted.unwrap_or(0)
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
