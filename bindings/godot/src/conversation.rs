//! One NPC conversation without request ids: the engine-agnostic core of the
//! `FoilConversation` node (no Godot types here, so it is tested against a real server).
//!
//! A [`Conversation`] owns a [`Dispatcher`] and remembers what it is waiting for: the session's
//! start, a reply (streamed or not) or a reset — one thing at a time. [`Conversation::poll`]
//! turns the dispatcher's signals into [`ConversationEvent`]s: the greeting, the reply's pieces
//! and its whole text, the game events, and failures. The game says a line with
//! [`Conversation::say`] and listens; it never sees a request id.

use std::time::Duration;

use foil_client::ClientConfig;

use crate::dispatch::{Dispatcher, RequestId, Signal};

/// Something the conversation tells the game (payloads are JSON text, except text pieces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationEvent {
    /// The session started: the NPC's greeting, and the whole `SessionInit`.
    Started {
        /// The NPC's first line.
        greeting: String,
        /// `SessionInit` JSON.
        session: String,
    },
    /// A piece of the reply being streamed.
    ReplyDelta {
        /// The text itself.
        text: String,
    },
    /// The reply is complete: its whole text, and the whole `ChatResponse`.
    ReplyFinished {
        /// The NPC's reply.
        reply: String,
        /// `ChatResponse` JSON (state, score, outcome, ...).
        response: String,
    },
    /// Game event: `{session_id, from_state, to_state, decision}`.
    StateChanged {
        /// The event's JSON.
        event: String,
    },
    /// Game event: `{session_id, old_score, new_score, delta}`.
    ScoreChanged {
        /// The event's JSON.
        event: String,
    },
    /// Game event: `{session_id, outcome, final_score}`.
    MachineCompleted {
        /// The event's JSON.
        event: String,
    },
    /// Game event: `{session_id, machines: [...]}`.
    MachinesUnlocked {
        /// The event's JSON.
        event: String,
    },
    /// Game event: `{session_id, outcome, final_score}`; the conversation is over.
    SessionEnded {
        /// The event's JSON.
        event: String,
    },
    /// The session started over (after [`Conversation::reset`]): `ResetResult` JSON.
    Reset {
        /// `ResetResult` JSON (its `message` is the new greeting).
        result: String,
    },
    /// What was waited for failed or was cancelled: `{status, code, message, retry_after}`.
    Failed {
        /// The error's JSON.
        error: String,
    },
    /// The player token expires soon (`{expires_at}`): configure a fresh one.
    CredentialExpiring {
        /// When, in seconds since the Unix epoch.
        expires_at: i64,
    },
}

/// Who the conversation is with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Participants {
    /// The persona (NPC) to talk to: its id.
    pub persona_id: String,
    /// The player (`user_session_id`): one conversation per player and persona (and machine).
    pub player_id: String,
    /// The player's name, as the NPC should use it.
    pub player_name: String,
    /// `female`, `male` or `non-binary`.
    pub player_gender: String,
    /// The scenario; empty: the persona's primary one.
    pub machine_id: String,
}

/// Why the conversation refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The conversation is waiting for something already (one line at a time).
    #[error("the conversation is waiting for an answer already")]
    Busy,
    /// `say` or `reset` before the session started.
    #[error("the conversation has not started (call start first)")]
    NotStarted,
    /// The dispatcher is shut down.
    #[error("the conversation is closed")]
    Closed,
}

/// What the conversation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Start,
    Reply,
    Reset,
}

/// One NPC conversation; see the module documentation.
#[derive(Debug)]
pub struct Conversation {
    dispatcher: Dispatcher,
    with: Participants,
    /// The session's machine, once started (later calls name it explicitly).
    machine_id: Option<String>,
    waiting: Option<(RequestId, Waiting)>,
}

impl Conversation {
    /// A conversation on its own dispatcher (runtime threads named `foil-godot`).
    pub fn new() -> std::io::Result<Conversation> {
        Ok(Conversation {
            dispatcher: Dispatcher::new()?,
            with: Participants::default(),
            machine_id: None,
            waiting: None,
        })
    }

    /// Uses `config` from the next call on (see [`Dispatcher::configure`]).
    pub fn configure(&self, config: ClientConfig) -> Result<(), foil_client::ClientError> {
        self.dispatcher.configure(config)
    }

    /// Whether it waits for the start, a reply or a reset.
    pub fn is_busy(&self) -> bool {
        self.waiting.is_some()
    }

    /// Whether the session started (a greeting came back).
    pub fn is_started(&self) -> bool {
        self.machine_id.is_some()
    }

    /// Starts (or starts over) the session with `with` → [`ConversationEvent::Started`].
    pub fn start(&mut self, with: Participants) -> Result<(), Refusal> {
        self.ready()?;
        let machine = (!with.machine_id.trim().is_empty()).then_some(with.machine_id.as_str());
        let id = self.dispatcher.init_session(
            &with.persona_id,
            &with.player_id,
            &with.player_name,
            &with.player_gender,
            machine,
        );
        self.with = with;
        self.machine_id = None;
        self.wait_for(id, Waiting::Start)
    }

    /// Says the player's line → [`ConversationEvent::ReplyDelta`]s when `streamed`, then
    /// [`ConversationEvent::ReplyFinished`] and the game events.
    pub fn say(&mut self, text: &str, streamed: bool) -> Result<(), Refusal> {
        self.ready()?;
        let machine = self.machine_id.clone().ok_or(Refusal::NotStarted)?;
        let (persona, player) = (&self.with.persona_id, &self.with.player_id);
        let id = if streamed {
            self.dispatcher
                .send_message_stream(persona, player, text, Some(&machine))
        } else {
            self.dispatcher
                .send_message(persona, player, text, Some(&machine))
        };
        self.wait_for(id, Waiting::Reply)
    }

    /// Starts the session over in its first state → [`ConversationEvent::Reset`].
    pub fn reset(&mut self) -> Result<(), Refusal> {
        self.ready()?;
        let machine = self.machine_id.clone().ok_or(Refusal::NotStarted)?;
        let id = self
            .dispatcher
            .reset(&self.with.persona_id, &self.with.player_id, Some(&machine));
        self.wait_for(id, Waiting::Reset)
    }

    /// Cancels what it waits for (a streamed turn is rolled back by the server):
    /// [`ConversationEvent::Failed`] with code `cancelled` follows. False when idle.
    pub fn cancel(&mut self) -> bool {
        match self.waiting {
            Some((id, _)) => self.dispatcher.cancel(id),
            None => false,
        }
    }

    /// Takes up to `max` events, oldest first. Call it once per frame.
    pub fn poll(&mut self, max: usize) -> Vec<ConversationEvent> {
        let mut events = Vec::new();
        for signal in self.dispatcher.drain(max) {
            if let Some(event) = self.translate(signal) {
                events.push(event);
            }
        }
        events
    }

    /// Blocks until something is queued or `timeout` passes. For tools and tests.
    pub fn wait(&self, timeout: Duration) -> bool {
        self.dispatcher.wait(timeout)
    }

    /// Cancels what is in flight and lets the runtime's threads end in the background: the
    /// caller never waits. Later calls are refused with [`Refusal::Closed`].
    pub fn close(&mut self) {
        self.dispatcher.shutdown();
        self.waiting = None;
    }

    fn ready(&self) -> Result<(), Refusal> {
        if self.waiting.is_some() {
            Err(Refusal::Busy)
        } else {
            Ok(())
        }
    }

    fn wait_for(&mut self, id: RequestId, what: Waiting) -> Result<(), Refusal> {
        if id == 0 {
            return Err(Refusal::Closed);
        }
        self.waiting = Some((id, what));
        Ok(())
    }

    /// The event a signal means for the conversation (`None`: stream metadata, which the
    /// finished reply repeats).
    fn translate(&mut self, signal: Signal) -> Option<ConversationEvent> {
        if signal.is_final() && self.waiting.map(|(id, _)| id) == Some(signal.request_id()) {
            self.waiting = None;
        }
        Some(match signal {
            Signal::SessionStarted { json, .. } => {
                let session = parse(&json);
                self.machine_id = session["machine_id"].as_str().map(str::to_string);
                ConversationEvent::Started {
                    greeting: text_of(&session, "message"),
                    session: json,
                }
            }
            Signal::TextDelta { text, .. } => ConversationEvent::ReplyDelta { text },
            Signal::MessageReceived { json, .. } => ConversationEvent::ReplyFinished {
                reply: text_of(&parse(&json), "message"),
                response: json,
            },
            Signal::StateChanged { json, .. } => ConversationEvent::StateChanged { event: json },
            Signal::ScoreChanged { json, .. } => ConversationEvent::ScoreChanged { event: json },
            Signal::MachineCompleted { json, .. } => {
                ConversationEvent::MachineCompleted { event: json }
            }
            Signal::MachinesUnlocked { json, .. } => {
                ConversationEvent::MachinesUnlocked { event: json }
            }
            Signal::SessionEnded { json, .. } => ConversationEvent::SessionEnded { event: json },
            Signal::Reset { json, .. } => ConversationEvent::Reset { result: json },
            Signal::RequestFailed { json, .. } => ConversationEvent::Failed { error: json },
            Signal::CredentialExpiring { expires_at, .. } => {
                ConversationEvent::CredentialExpiring { expires_at }
            }
            // The conversation asks for nothing else; the finished reply repeats the metadata.
            Signal::StreamMetadata { .. }
            | Signal::Personas { .. }
            | Signal::Machines { .. }
            | Signal::SessionStatus { .. }
            | Signal::History { .. }
            | Signal::LlmKeyValidated { .. } => return None,
        })
    }
}

fn parse(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap_or_default()
}

fn text_of(value: &serde_json::Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}
