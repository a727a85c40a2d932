//! The `FoilConversation` node: one NPC conversation, no request ids.

// See node.rs: gdext generates undocumentable accessors for `#[export]` fields.
#![allow(
    missing_docs,
    reason = "gdext's generated property accessors cannot be documented"
)]

use godot::classes::{INode, Node};
use godot::prelude::*;

use crate::conversation::{Conversation, ConversationEvent, Participants, Refusal};
use crate::json;
use crate::node::FoilClient;

/// One conversation with one NPC: point `client` at a `FoilClient` (its server, key and LLM
/// settings are used), set `persona_id` and the player, call `start()`, then `say(text)` for
/// each of the player's lines and listen to `reply_delta` / `reply_finished` and the game
/// events. One line at a time: `say` returns false while the NPC is still answering. All
/// signals come on the main thread, from `_process`.
///
/// It runs its requests on threads of its own, so conversations never wait for each other;
/// leaving the tree cancels what is in flight without blocking the main thread.
#[derive(GodotClass)]
#[class(base=Node)]
pub struct FoilConversation {
    /// The `FoilClient` whose settings this conversation uses (read at each call, so a
    /// refreshed player token is picked up).
    #[export]
    client: Option<Gd<FoilClient>>,
    /// The NPC: the persona's id.
    #[export]
    persona_id: GString,
    /// The player (`user_session_id`): one conversation per player, persona and scenario.
    #[export]
    player_id: GString,
    /// The player's name, as the NPC should use it.
    #[export]
    player_name: GString,
    /// `female`, `male` or `non-binary`.
    #[export]
    player_gender: GString,
    /// The scenario's id; empty: the persona's primary one.
    #[export]
    machine_id: GString,
    /// Stream replies (`reply_delta` pieces as they arrive) or deliver them whole.
    #[export]
    streaming: bool,
    /// Call `start()` when the node is ready.
    #[export]
    start_on_ready: bool,

    conversation: Option<Conversation>,
    base: Base<Node>,
}

#[godot_api]
impl INode for FoilConversation {
    fn init(base: Base<Node>) -> Self {
        FoilConversation {
            client: None,
            persona_id: GString::new(),
            player_id: GString::from("player"),
            player_name: GString::from("Player"),
            player_gender: GString::from("non-binary"),
            machine_id: GString::new(),
            streaming: true,
            start_on_ready: false,
            conversation: None,
            base,
        }
    }

    fn ready(&mut self) {
        if self.start_on_ready && !godot::classes::Engine::singleton().is_editor_hint() {
            self.start();
        }
    }

    fn process(&mut self, _delta: f64) {
        let Some(conversation) = &mut self.conversation else {
            return;
        };
        for event in conversation.poll(usize::MAX) {
            self.emit(event);
            if self.conversation.is_none() {
                break; // a handler removed the node from the tree
            }
        }
    }

    fn exit_tree(&mut self) {
        // Cancels what is in flight; the threads end in the background (never blocks).
        if let Some(mut conversation) = self.conversation.take() {
            conversation.close();
        }
    }
}

#[godot_api]
impl FoilConversation {
    /// The session started: the NPC's greeting and the whole session.
    #[signal]
    fn started(greeting: GString, session: VarDictionary);
    /// A piece of the NPC's reply (when `streaming`).
    #[signal]
    fn reply_delta(text: GString);
    /// The NPC's whole reply, and the turn's result (state, score, outcome, ...).
    #[signal]
    fn reply_finished(reply: GString, response: VarDictionary);
    /// `{session_id, from_state, to_state, decision}`.
    #[signal]
    fn state_changed(event: VarDictionary);
    /// `{session_id, old_score, new_score, delta}`.
    #[signal]
    fn score_changed(event: VarDictionary);
    /// `{session_id, outcome, final_score}`.
    #[signal]
    fn machine_completed(event: VarDictionary);
    /// `{session_id, machines: [...]}`.
    #[signal]
    fn machines_unlocked(event: VarDictionary);
    /// `{session_id, outcome, final_score}`: the conversation is over.
    #[signal]
    fn session_ended(event: VarDictionary);
    /// `reset()` finished: the session is in its first state again (`message`: the greeting).
    #[signal]
    fn session_reset(result: VarDictionary);
    /// What the conversation waited for failed or was cancelled:
    /// `{status, code, message, retry_after}`.
    #[signal]
    fn failed(error: VarDictionary);
    /// The client's player token expires at `expires_at` (Unix seconds): set a fresh one on
    /// the `FoilClient`.
    #[signal]
    fn credential_expiring(expires_at: i64);

    /// Starts (or starts over) the session → `started`. False while busy or without a client.
    #[func]
    fn start(&mut self) -> bool {
        let with = Participants {
            persona_id: self.persona_id.to_string(),
            player_id: self.player_id.to_string(),
            player_name: self.player_name.to_string(),
            player_gender: self.player_gender.to_string(),
            machine_id: self.machine_id.to_string(),
        };
        self.call(|c| c.start(with))
    }

    /// Says the player's line → `reply_delta`s (when `streaming`), `reply_finished` and the
    /// game events. False while the NPC is still answering, or before `started`.
    #[func]
    fn say(&mut self, text: GString) -> bool {
        let streamed = self.streaming;
        self.call(|c| c.say(&text.to_string(), streamed))
    }

    /// Starts the session over in its first state → `session_reset`.
    #[func]
    fn reset(&mut self) -> bool {
        self.call(Conversation::reset)
    }

    /// Cancels what the conversation waits for (`failed` with code `cancelled` follows; a
    /// streamed turn is rolled back). False when idle.
    #[func]
    fn cancel(&mut self) -> bool {
        self.conversation.as_mut().is_some_and(Conversation::cancel)
    }

    /// Whether the NPC is still answering (or the session still starting).
    #[func]
    fn is_busy(&self) -> bool {
        self.conversation
            .as_ref()
            .is_some_and(Conversation::is_busy)
    }

    /// Whether the session has started.
    #[func]
    fn is_started(&self) -> bool {
        self.conversation
            .as_ref()
            .is_some_and(Conversation::is_started)
    }
}

impl FoilConversation {
    /// Brings the conversation's client up to date with the `FoilClient`'s settings and runs
    /// `action`; a refusal is reported with `push_warning` and returns false.
    fn call(&mut self, action: impl FnOnce(&mut Conversation) -> Result<(), Refusal>) -> bool {
        let Some(client) = self.client.as_ref().filter(|c| c.is_instance_valid()) else {
            godot_warn!("FoilConversation: set `client` to a FoilClient node (in the tree) first");
            return false;
        };
        let config = client.bind().client_config();
        if self.conversation.is_none() {
            match Conversation::new() {
                Ok(conversation) => self.conversation = Some(conversation),
                Err(e) => {
                    godot_error!("FoilConversation: cannot start its runtime: {e}");
                    return false;
                }
            }
        }
        let conversation = self.conversation.as_mut().expect("made above");
        // An invalid configuration is remembered: the call fails with `failed`.
        let _ = conversation.configure(config);
        match action(conversation) {
            Ok(()) => true,
            Err(refusal) => {
                godot_warn!("FoilConversation: {refusal}");
                false
            }
        }
    }

    fn emit(&mut self, event: ConversationEvent) {
        let dict = |text: &str| json::dictionary(text);
        let mut signals = self.signals();
        match &event {
            ConversationEvent::Started { greeting, session } => {
                signals.started().emit(greeting.as_str(), &dict(session))
            }
            ConversationEvent::ReplyDelta { text } => signals.reply_delta().emit(text.as_str()),
            ConversationEvent::ReplyFinished { reply, response } => signals
                .reply_finished()
                .emit(reply.as_str(), &dict(response)),
            ConversationEvent::StateChanged { event } => signals.state_changed().emit(&dict(event)),
            ConversationEvent::ScoreChanged { event } => signals.score_changed().emit(&dict(event)),
            ConversationEvent::MachineCompleted { event } => {
                signals.machine_completed().emit(&dict(event))
            }
            ConversationEvent::MachinesUnlocked { event } => {
                signals.machines_unlocked().emit(&dict(event))
            }
            ConversationEvent::SessionEnded { event } => signals.session_ended().emit(&dict(event)),
            ConversationEvent::Reset { result } => signals.session_reset().emit(&dict(result)),
            ConversationEvent::Failed { error } => signals.failed().emit(&dict(error)),
            ConversationEvent::CredentialExpiring { expires_at } => {
                signals.credential_expiring().emit(*expires_at)
            }
        }
    }
}
