//! The `FoilClient` node.

// `#[derive(GodotClass)]` (gdext 0.5) generates, in an `impl FoilClient` of its own, a
// deprecated and undocumented `pub fn get_<field>` / `set_<field>` for every `#[export]` field
// below: the fields' doc comments do not reach them, and a lint attribute on the struct does not
// cover that impl, so only a module-wide one can. Everything written in this module is
// documented; gdext plans to drop these accessors in 0.6, and this allowance with them.
#![allow(
    missing_docs,
    reason = "gdext's generated property accessors cannot be documented"
)]

use godot::classes::{Engine, INode, Node};
use godot::prelude::*;

use crate::dispatch::{Dispatcher, RequestId, Signal};
use crate::json;
use crate::settings::{self, Settings};

/// A Foil Engine client as a node: set `base_url` and `api_key`, call a request method (each
/// returns a request id at once) and connect to the signals, which are always emitted on the
/// main thread, from `_process`, in the order things happened. Every request ends with exactly
/// one result signal or `request_failed`.
///
/// `api_key` may be a player token (`pt_...`) from the game's backend: `credential_expiring`
/// then tells when to fetch a fresh one and pass it to `set_api_key` (or assign `api_key`).
#[derive(GodotClass)]
#[class(base=Node)]
pub struct FoilClient {
    /// The server (default: the hosted service).
    #[export]
    base_url: GString,
    /// The game's API key (`pk_live_...`) or a player token (`pt_...`) from its backend.
    /// Prefer setting it from code over saving it in a scene. Assigning it calls `set_api_key`.
    #[export]
    #[var(set)]
    api_key: GString,

    /// `X-LLM-Model`: the model of every pipeline step (e.g. `openai/gpt-4o-mini`).
    #[export_group(name = "LLM")]
    #[export]
    llm_model: GString,
    /// `X-LLM-API-Key`: your provider key for every step (bring your own key).
    #[export]
    llm_api_key: GString,
    /// `X-LLM-Eval-Model`: the model of the evaluation step.
    #[export]
    llm_eval_model: GString,
    /// `X-LLM-Response-Model`: the model of the reply step.
    #[export]
    llm_response_model: GString,
    /// `X-LLM-Summarization-Model`: the model of the summarization step.
    #[export]
    llm_summarization_model: GString,
    /// `X-LLM-Eval-API-Key`: the provider key of the evaluation step.
    #[export]
    llm_eval_api_key: GString,
    /// `X-LLM-Response-API-Key`: the provider key of the reply step.
    #[export]
    llm_response_api_key: GString,
    /// `X-LLM-Summarization-API-Key`: the provider key of the summarization step.
    #[export]
    llm_summarization_api_key: GString,

    /// Time limit of each attempt of an ordinary request, in seconds.
    #[export_group(name = "Requests")]
    #[export]
    timeout_seconds: f64,
    /// Time limit of a whole streamed reply, in seconds.
    #[export]
    stream_timeout_seconds: f64,
    /// Retries on 429/500/502/503/504 and connection failures (streams are never retried).
    #[export]
    max_retries: i64,
    /// How long `list_personas` answers from its cache, in seconds (0: no cache).
    #[export]
    persona_cache_seconds: f64,
    /// At most this many signals are emitted per frame (the rest wait for the next frames);
    /// 0 or less: no limit.
    #[export]
    max_signals_per_frame: i64,

    dispatcher: Option<Dispatcher>,
    base: Base<Node>,
}

#[godot_api]
impl INode for FoilClient {
    fn init(base: Base<Node>) -> Self {
        let d = Settings::default();
        let text = |s: &str| GString::from(s);
        FoilClient {
            base_url: text(&d.base_url),
            api_key: text(&d.api_key),
            llm_model: text(&d.llm_model),
            llm_api_key: text(&d.llm_api_key),
            llm_eval_model: text(&d.llm_eval_model),
            llm_response_model: text(&d.llm_response_model),
            llm_summarization_model: text(&d.llm_summarization_model),
            llm_eval_api_key: text(&d.llm_eval_api_key),
            llm_response_api_key: text(&d.llm_response_api_key),
            llm_summarization_api_key: text(&d.llm_summarization_api_key),
            timeout_seconds: d.timeout_seconds,
            stream_timeout_seconds: d.stream_timeout_seconds,
            max_retries: d.max_retries,
            persona_cache_seconds: d.persona_cache_seconds,
            max_signals_per_frame: 256,
            dispatcher: None,
            base,
        }
    }

    fn process(&mut self, _delta: f64) {
        let Some(dispatcher) = &self.dispatcher else {
            return;
        };
        let max = usize::try_from(self.max_signals_per_frame)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(usize::MAX);
        for signal in dispatcher.drain(max) {
            self.emit(signal);
            // A handler may have removed the node from the tree (`exit_tree` shut the
            // dispatcher down): nothing more is emitted then.
            if self.dispatcher.is_none() {
                break;
            }
        }
    }

    fn exit_tree(&mut self) {
        // Cancels what is in flight; the runtime's threads end in the background (never
        // blocks). A node that enters the tree again makes a new one on its next request.
        if let Some(mut dispatcher) = self.dispatcher.take() {
            dispatcher.shutdown();
        }
    }
}

#[godot_api]
impl FoilClient {
    /// `list_personas` finished: an Array of persona Dictionaries.
    #[signal]
    fn personas_received(request_id: i64, personas: VarArray);
    /// `list_machines` finished: an Array of machine Dictionaries.
    #[signal]
    fn machines_received(request_id: i64, machines: VarArray);
    /// `init_session` finished: the session and the NPC's greeting (`message`).
    #[signal]
    fn session_started(request_id: i64, session: VarDictionary);
    /// A streamed turn's verdict (state, score, outcome, ...), before its text.
    #[signal]
    fn stream_metadata(request_id: i64, metadata: VarDictionary);
    /// A piece of a streamed reply.
    #[signal]
    fn text_delta(request_id: i64, text: GString);
    /// A turn finished (`send_message`, or the end of `send_message_stream`).
    #[signal]
    fn message_received(request_id: i64, response: VarDictionary);
    /// `{session_id, from_state, to_state, decision}`.
    #[signal]
    fn state_changed(request_id: i64, event: VarDictionary);
    /// `{session_id, old_score, new_score, delta}`.
    #[signal]
    fn score_changed(request_id: i64, event: VarDictionary);
    /// `{session_id, outcome, final_score}`.
    #[signal]
    fn machine_completed(request_id: i64, event: VarDictionary);
    /// `{session_id, machines: [{machine_id, machine_key, name, is_auto_advance}]}`.
    #[signal]
    fn machines_unlocked(request_id: i64, event: VarDictionary);
    /// `{session_id, outcome, final_score}`.
    #[signal]
    fn session_ended(request_id: i64, event: VarDictionary);
    /// `get_session` finished.
    #[signal]
    fn session_received(request_id: i64, session: VarDictionary);
    /// `get_history` finished.
    #[signal]
    fn history_received(request_id: i64, history: VarDictionary);
    /// `reset` finished.
    #[signal]
    fn session_reset(request_id: i64, result: VarDictionary);
    /// `validate_llm_key` finished: `{valid, model, error}`.
    #[signal]
    fn llm_key_validated(request_id: i64, result: VarDictionary);
    /// A request failed or was cancelled: `{status, code, message, retry_after}`.
    #[signal]
    fn request_failed(request_id: i64, error: VarDictionary);
    /// The player token in `api_key` expires at `expires_at` (Unix seconds): fetch a fresh one
    /// from your backend and pass it to `set_api_key`. Once per token, `min(60 s, lifetime /
    /// 10)` before it expires; never for an API key.
    #[signal]
    fn credential_expiring(expires_at: i64);

    /// Sets `api_key` (the property's setter): an API key or a fresh player token. Once the
    /// node has started (its first request, or this call while it is in the tree at run time),
    /// requests made from now on send it — the connections are kept — and a token's expiry is
    /// watched for `credential_expiring` instead of the previous one's. A blank key makes
    /// requests fail with `request_failed` until a valid one is set.
    #[func]
    fn set_api_key(&mut self, api_key: GString) {
        self.api_key = api_key;
        if self.dispatcher.is_none()
            && self.base().is_inside_tree()
            && !Engine::singleton().is_editor_hint()
        {
            self.start();
        }
        if let Some(dispatcher) = &self.dispatcher {
            // An invalid configuration is remembered: requests fail with it.
            let _ = dispatcher.configure(self.settings().client_config());
        }
    }

    /// The published personas the API key reaches → `personas_received`.
    #[func]
    fn list_personas(&mut self) -> i64 {
        self.request(|d| d.list_personas())
    }

    /// The scenarios this player can play now → `machines_received`.
    #[func]
    fn list_machines(&mut self, persona_id: GString, user_session_id: GString) -> i64 {
        self.request(|d| d.list_machines(&persona_id.to_string(), &user_session_id.to_string()))
    }

    /// Starts (or starts over) a session → `session_started`. `player_gender` is `female`,
    /// `male` or `non-binary`; without `machine_id` the persona's primary scenario is used.
    #[func]
    fn init_session(
        &mut self,
        persona_id: GString,
        user_session_id: GString,
        player_name: GString,
        player_gender: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.init_session(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                &player_name.to_string(),
                &player_gender.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// One turn → `message_received` and the game-event signals. Arguments in the official
    /// SDKs' order: persona, message, player.
    #[func]
    fn send_message(
        &mut self,
        persona_id: GString,
        message: GString,
        user_session_id: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.send_message(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                &message.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// One turn, streamed → `stream_metadata`, `text_delta`s, then `message_received` and the
    /// game-event signals.
    #[func]
    fn send_message_stream(
        &mut self,
        persona_id: GString,
        message: GString,
        user_session_id: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.send_message_stream(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                &message.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// The session's status → `session_received`.
    #[func]
    fn get_session(
        &mut self,
        persona_id: GString,
        user_session_id: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.get_session(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// The session with all its messages → `history_received`.
    #[func]
    fn get_history(
        &mut self,
        persona_id: GString,
        user_session_id: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.get_history(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// Starts the session over → `session_reset`.
    #[func]
    fn reset(
        &mut self,
        persona_id: GString,
        user_session_id: GString,
        #[opt(default = "")] machine_id: GString,
    ) -> i64 {
        self.request(|d| {
            d.reset(
                &persona_id.to_string(),
                &user_session_id.to_string(),
                optional(&machine_id).as_deref(),
            )
        })
    }

    /// Checks the configured LLM key against `model` (or the configured/server default) →
    /// `llm_key_validated`.
    #[func]
    fn validate_llm_key(&mut self, #[opt(default = "")] model: GString) -> i64 {
        self.request(|d| d.validate_llm_key(optional(&model).as_deref()))
    }

    /// Cancels a request in flight: its `request_failed` (code `cancelled`) comes next frame and
    /// nothing else of it follows. False when it is unknown or already finished.
    #[func]
    fn cancel(&mut self, request_id: i64) -> bool {
        match (&self.dispatcher, RequestId::try_from(request_id)) {
            (Some(dispatcher), Ok(id)) => dispatcher.cancel(id),
            _ => false,
        }
    }

    /// Requests that have not finished yet.
    #[func]
    fn requests_in_flight(&self) -> i64 {
        self.dispatcher
            .as_ref()
            .map_or(0, |d| i64::try_from(d.in_flight()).unwrap_or(i64::MAX))
    }
}

impl FoilClient {
    /// The properties as plain values.
    fn settings(&self) -> Settings {
        Settings {
            base_url: self.base_url.to_string(),
            api_key: self.api_key.to_string(),
            llm_model: self.llm_model.to_string(),
            llm_api_key: self.llm_api_key.to_string(),
            llm_eval_model: self.llm_eval_model.to_string(),
            llm_response_model: self.llm_response_model.to_string(),
            llm_summarization_model: self.llm_summarization_model.to_string(),
            llm_eval_api_key: self.llm_eval_api_key.to_string(),
            llm_response_api_key: self.llm_response_api_key.to_string(),
            llm_summarization_api_key: self.llm_summarization_api_key.to_string(),
            timeout_seconds: self.timeout_seconds,
            stream_timeout_seconds: self.stream_timeout_seconds,
            max_retries: self.max_retries,
            persona_cache_seconds: self.persona_cache_seconds,
        }
    }

    /// The client configuration the properties describe (also read by `FoilConversation`).
    pub(crate) fn client_config(&self) -> foil_client::ClientConfig {
        self.settings().client_config()
    }

    /// Makes the dispatcher (its runtime), unless there is one; false if it cannot start.
    fn start(&mut self) -> bool {
        if self.dispatcher.is_none() {
            match Dispatcher::new() {
                Ok(dispatcher) => self.dispatcher = Some(dispatcher),
                Err(e) => {
                    godot_error!("FoilClient: cannot start its runtime: {e}");
                    return false;
                }
            }
        }
        true
    }

    /// Makes the dispatcher on first use, brings its client up to date with the properties,
    /// and runs `call`. A configuration error fails the request (`request_failed` next frame).
    fn request(&mut self, call: impl FnOnce(&Dispatcher) -> RequestId) -> i64 {
        if !self.start() {
            return 0;
        }
        let config = self.client_config();
        let dispatcher = self.dispatcher.as_ref().expect("made above");
        // An invalid configuration is remembered by the dispatcher: the request fails with it.
        let _ = dispatcher.configure(config);
        i64::try_from(call(dispatcher)).unwrap_or(0)
    }

    fn emit(&mut self, signal: Signal) {
        let id = i64::try_from(signal.request_id()).unwrap_or(i64::MAX);
        let dict = |json: &str| json::dictionary(json);
        let mut signals = self.signals();
        match &signal {
            Signal::Personas { json, .. } => {
                signals.personas_received().emit(id, &json::array(json))
            }
            Signal::Machines { json, .. } => {
                signals.machines_received().emit(id, &json::array(json))
            }
            Signal::SessionStarted { json, .. } => signals.session_started().emit(id, &dict(json)),
            Signal::StreamMetadata { json, .. } => signals.stream_metadata().emit(id, &dict(json)),
            Signal::TextDelta { text, .. } => signals.text_delta().emit(id, text.as_str()),
            Signal::MessageReceived { json, .. } => {
                signals.message_received().emit(id, &dict(json))
            }
            Signal::StateChanged { json, .. } => signals.state_changed().emit(id, &dict(json)),
            Signal::ScoreChanged { json, .. } => signals.score_changed().emit(id, &dict(json)),
            Signal::MachineCompleted { json, .. } => {
                signals.machine_completed().emit(id, &dict(json))
            }
            Signal::MachinesUnlocked { json, .. } => {
                signals.machines_unlocked().emit(id, &dict(json))
            }
            Signal::SessionEnded { json, .. } => signals.session_ended().emit(id, &dict(json)),
            Signal::SessionStatus { json, .. } => signals.session_received().emit(id, &dict(json)),
            Signal::History { json, .. } => signals.history_received().emit(id, &dict(json)),
            Signal::Reset { json, .. } => signals.session_reset().emit(id, &dict(json)),
            Signal::LlmKeyValidated { json, .. } => {
                signals.llm_key_validated().emit(id, &dict(json))
            }
            Signal::RequestFailed { json, .. } => signals.request_failed().emit(id, &dict(json)),
            Signal::CredentialExpiring { expires_at, .. } => {
                signals.credential_expiring().emit(*expires_at)
            }
        }
    }
}

/// `None` for an empty (or blank) string.
fn optional(s: &GString) -> Option<String> {
    settings::optional(&s.to_string())
}
