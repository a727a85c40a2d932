//! Request and response bodies of the chat API (api.md §4).
//!
//! Response structs list *exactly* the keys the official SDKs expect: the Python SDK builds its
//! objects with `Type(**json)`, so an extra or missing key breaks it. Optional values are
//! therefore serialised as `null`, never skipped.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Timestamps travel as RFC 3339 strings in UTC with a `Z` suffix.
pub type Timestamp = String;

/// The error body of every non-429 error (api.md §1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    /// The error's message, code and optional details.
    pub error: ErrorDetail,
}

/// The `error` object of an error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// A human-readable sentence.
    pub message: String,
    /// A stable snake_case code, documented in `docs/errors.md`.
    pub code: String,
    /// Every problem found, for persona documents that fail validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<crate::persona::ValidationIssue>>,
}

/// The body of a 429 (api.md §6): a bare string, as the hosted service sends it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RateLimitBody {
    /// A human-readable sentence, e.g. `Rate limit exceeded. Try again in 12 seconds.`
    pub error: String,
}

/// A published persona reachable by an API key (`GET /api/v1/sdk/personas`). *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Persona {
    /// The persona's ID.
    pub id: Uuid,
    /// The persona's name.
    pub name: String,
    /// The persona's description; `null` when it has none.
    pub description: Option<String>,
    /// When the persona was created (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the persona was last updated (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

/// A machine the player can play now. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MachineInfo {
    /// The machine's ID.
    pub machine_id: Uuid,
    /// The machine's key, unique within the persona.
    pub machine_key: String,
    /// The machine's name.
    pub name: String,
    /// The machine's description; `null` when it has none.
    pub description: Option<String>,
    /// Whether this player has a session on this machine.
    pub has_session: bool,
    /// Outcome of the player's latest session here; `null` if none or not ended yet.
    pub session_outcome: Option<String>,
    /// Whether the machine is the target of a machine link.
    pub is_linked: bool,
}

/// The player's gender, used in prompts (`{{player_gender}}`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PlayerGender {
    /// `female`.
    Female,
    /// `male`.
    Male,
    /// `non-binary`.
    NonBinary,
}

impl PlayerGender {
    /// The wire spelling: `female`, `male` or `non-binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlayerGender::Female => "female",
            PlayerGender::Male => "male",
            PlayerGender::NonBinary => "non-binary",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "female" => Some(Self::Female),
            "male" => Some(Self::Male),
            "non-binary" => Some(Self::NonBinary),
            _ => None,
        }
    }
}

/// Body of `init-session`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InitSessionRequest {
    /// The caller's ID for the player's session (≤ 128 characters).
    pub user_session_id: String,
    /// The player's name, used in prompts (≤ 64 characters).
    pub player_name: String,
    /// `female`, `male` or `non-binary`.
    pub player_gender: String,
}

/// Result of `init-session`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInit {
    /// The session's ID.
    pub session_id: Uuid,
    /// The caller's ID for the player's session, as sent.
    pub user_session_id: String,
    /// The persona's name.
    pub persona_name: String,
    /// The persona's description; `null` when it has none.
    pub persona_description: Option<String>,
    /// The player's name.
    pub player_name: String,
    /// The player's gender: `female`, `male` or `non-binary`.
    pub player_gender: String,
    /// The NPC's greeting.
    pub message: String,
    /// The ID of the machine the session plays.
    pub machine_id: Uuid,
}

/// Body of `message` and `message/stream`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SendMessageRequest {
    /// The player's message (≤ 2,000 characters by default).
    pub message: String,
    /// The caller's ID for the player's session.
    pub user_session_id: String,
}

/// A machine unlocked by finishing another one. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockedMachine {
    /// The unlocked machine's ID.
    pub machine_id: Uuid,
    /// The unlocked machine's key.
    pub machine_key: String,
    /// The unlocked machine's name.
    pub name: String,
    /// Whether the game may move the player straight on to this machine.
    pub is_auto_advance: bool,
}

/// The result of one turn. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChatResponse {
    /// The NPC's reply.
    pub message: String,
    /// Key of the session's state after this turn.
    pub current_state: String,
    /// The session's score after this turn (an integer).
    pub score: i64,
    /// `ACCEPT`, `REJECT` or `KICK_OUT` once the session has ended; `null` while it runs.
    pub outcome: Option<String>,
    /// The decision applied: `pass`, `redirect`, `reject`, `kick_out` or `follow_up`.
    pub decision: Option<String>,
    /// Whether the NPC asked a clarifying question instead of deciding.
    pub follow_up: bool,
    /// The session's ID.
    pub session_id: Uuid,
    /// The machine's scoring mode: `scoring` or `pass_fail`.
    pub scoring_mode: String,
    /// Consecutive redirects in the current state (reset to 0 when the state changes).
    pub redirect_count: Option<i64>,
    /// Whether the session ended this turn.
    pub machine_completed: bool,
    /// Machines unlocked because the session ended this turn; empty otherwise.
    pub unlocked_machines: Vec<UnlockedMachine>,
}

/// The `metadata` frame of a stream: a [`ChatResponse`] without `message`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreamMetadata {
    /// Key of the session's state after this turn.
    pub current_state: String,
    /// The session's score after this turn (an integer).
    pub score: i64,
    /// `ACCEPT`, `REJECT` or `KICK_OUT` once the session has ended; `null` while it runs.
    pub outcome: Option<String>,
    /// The decision applied: `pass`, `redirect`, `reject`, `kick_out` or `follow_up`.
    pub decision: Option<String>,
    /// Whether the NPC asked a clarifying question instead of deciding.
    pub follow_up: bool,
    /// The session's ID.
    pub session_id: Uuid,
    /// The machine's scoring mode: `scoring` or `pass_fail`.
    pub scoring_mode: String,
    /// Consecutive redirects in the current state (reset to 0 when the state changes).
    pub redirect_count: Option<i64>,
    /// Whether the session ended this turn.
    pub machine_completed: bool,
    /// Machines unlocked because the session ended this turn; empty otherwise.
    pub unlocked_machines: Vec<UnlockedMachine>,
}

impl ChatResponse {
    /// The metadata frame sent before any text of a streamed reply.
    pub fn metadata(&self) -> StreamMetadata {
        StreamMetadata {
            current_state: self.current_state.clone(),
            score: self.score,
            outcome: self.outcome.clone(),
            decision: self.decision.clone(),
            follow_up: self.follow_up,
            session_id: self.session_id,
            scoring_mode: self.scoring_mode.clone(),
            redirect_count: self.redirect_count,
            machine_completed: self.machine_completed,
            unlocked_machines: self.unlocked_machines.clone(),
        }
    }

    /// Reassembles a full response from a stream's metadata and its concatenated text.
    pub fn from_metadata(meta: StreamMetadata, message: String) -> Self {
        ChatResponse {
            message,
            current_state: meta.current_state,
            score: meta.score,
            outcome: meta.outcome,
            decision: meta.decision,
            follow_up: meta.follow_up,
            session_id: meta.session_id,
            scoring_mode: meta.scoring_mode,
            redirect_count: meta.redirect_count,
            machine_completed: meta.machine_completed,
            unlocked_machines: meta.unlocked_machines,
        }
    }
}

/// A `text_delta` frame of a stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TextDelta {
    /// The next piece of the NPC's reply.
    pub text: String,
}

/// An `error` frame of a stream (an error after the stream began).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreamError {
    /// A human-readable sentence saying what failed.
    pub error: String,
}

/// A session's current status. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionStatus {
    /// The session's ID.
    pub session_id: Uuid,
    /// The persona's ID.
    pub persona_id: Uuid,
    /// The ID of the machine the session plays.
    pub machine_id: Uuid,
    /// Key of the session's current state.
    pub current_state: String,
    /// The session's current score (an integer).
    pub score: i64,
    /// `ACCEPT`, `REJECT` or `KICK_OUT` once the session has ended; `null` while it runs.
    pub outcome: Option<String>,
    /// The player's name.
    pub player_name: String,
    /// The player's gender: `female`, `male` or `non-binary`.
    pub player_gender: String,
    /// When the session started (RFC 3339, UTC).
    pub started_at: Timestamp,
    /// When the last message was stored (the greeting, at first).
    pub last_message_at: Timestamp,
}

/// One stored message of a session. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Message {
    /// The message's ID.
    pub id: Uuid,
    /// `assistant` or `user`.
    pub role: String,
    /// The message text.
    pub content: String,
    /// Key of the session's state at the time of this message.
    pub state_key_at_time: Option<String>,
    /// The session's score at the time of this message (an integer).
    pub score_at_time: Option<i64>,
    /// The decision of the turn this message belongs to; `null` for the greeting.
    pub decision: Option<String>,
    /// Whether this is the NPC's clarifying (follow-up) question.
    pub follow_up_triggered: bool,
    /// When the message was stored (RFC 3339, UTC).
    pub created_at: Timestamp,
}

/// A session with its messages, the greeting first. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChatHistory {
    /// The session's ID.
    pub session_id: Uuid,
    /// The persona's ID.
    pub persona_id: Uuid,
    /// The session's messages in order, the greeting first.
    pub messages: Vec<Message>,
    /// Key of the session's current state.
    pub current_state: String,
    /// The session's current score (an integer).
    pub score: i64,
    /// `ACCEPT`, `REJECT` or `KICK_OUT` once the session has ended; `null` while it runs.
    pub outcome: Option<String>,
    /// The player's name.
    pub player_name: String,
    /// The player's gender: `female`, `male` or `non-binary`.
    pub player_gender: String,
    /// When the session started (RFC 3339, UTC).
    pub started_at: Timestamp,
    /// When the last message was stored (the greeting, at first).
    pub last_message_at: Timestamp,
}

/// Result of `reset`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResetResult {
    /// The ID of the session that was reset.
    pub session_id: Uuid,
    /// A confirmation, e.g. `Conversation reset successfully`.
    pub message: String,
}

/// Body of `validate-llm-key`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ValidateLlmKeyRequest {
    /// The model to check (LiteLLM-style name); optional.
    #[serde(default)]
    pub model: Option<String>,
}

/// Result of `validate-llm-key`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ValidateLlmKeyResult {
    /// Whether the check succeeded.
    pub valid: bool,
    /// The model that was checked.
    pub model: String,
    /// What is wrong; `null` when the check succeeded.
    pub error: Option<String>,
}
