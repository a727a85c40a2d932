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
    pub error: ErrorDetail,
}

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
    pub error: String,
}

/// A published persona reachable by an API key (`GET /api/v1/sdk/personas`). *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Persona {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A machine the player can play now. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MachineInfo {
    pub machine_id: Uuid,
    pub machine_key: String,
    pub name: String,
    pub description: Option<String>,
    pub has_session: bool,
    pub session_outcome: Option<String>,
    pub is_linked: bool,
}

/// The player's gender, used in prompts (`{{player_gender}}`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PlayerGender {
    Female,
    Male,
    NonBinary,
}

impl PlayerGender {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayerGender::Female => "female",
            PlayerGender::Male => "male",
            PlayerGender::NonBinary => "non-binary",
        }
    }

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
    pub user_session_id: String,
    pub player_name: String,
    /// `female`, `male` or `non-binary`.
    pub player_gender: String,
}

/// Result of `init-session`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInit {
    pub session_id: Uuid,
    pub user_session_id: String,
    pub persona_name: String,
    pub persona_description: Option<String>,
    pub player_name: String,
    pub player_gender: String,
    /// The NPC's greeting.
    pub message: String,
    pub machine_id: Uuid,
}

/// Body of `message` and `message/stream`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SendMessageRequest {
    pub message: String,
    pub user_session_id: String,
}

/// A machine unlocked by finishing another one. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockedMachine {
    pub machine_id: Uuid,
    pub machine_key: String,
    pub name: String,
    pub is_auto_advance: bool,
}

/// The result of one turn. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChatResponse {
    pub message: String,
    pub current_state: String,
    pub score: i64,
    pub outcome: Option<String>,
    pub decision: Option<String>,
    pub follow_up: bool,
    pub session_id: Uuid,
    pub scoring_mode: String,
    pub redirect_count: Option<i64>,
    pub machine_completed: bool,
    pub unlocked_machines: Vec<UnlockedMachine>,
}

/// The `metadata` frame of a stream: a [`ChatResponse`] without `message`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreamMetadata {
    pub current_state: String,
    pub score: i64,
    pub outcome: Option<String>,
    pub decision: Option<String>,
    pub follow_up: bool,
    pub session_id: Uuid,
    pub scoring_mode: String,
    pub redirect_count: Option<i64>,
    pub machine_completed: bool,
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
    pub text: String,
}

/// An `error` frame of a stream (an error after the stream began).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreamError {
    pub error: String,
}

/// A session's current status. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionStatus {
    pub session_id: Uuid,
    pub persona_id: Uuid,
    pub machine_id: Uuid,
    pub current_state: String,
    pub score: i64,
    pub outcome: Option<String>,
    pub player_name: String,
    pub player_gender: String,
    pub started_at: Timestamp,
    /// When the last message was stored (the greeting, at first).
    pub last_message_at: Timestamp,
}

/// One stored message of a session. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Message {
    pub id: Uuid,
    /// `assistant` or `user`.
    pub role: String,
    pub content: String,
    pub state_key_at_time: Option<String>,
    pub score_at_time: Option<i64>,
    pub decision: Option<String>,
    pub follow_up_triggered: bool,
    pub created_at: Timestamp,
}

/// A session with its messages, the greeting first. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChatHistory {
    pub session_id: Uuid,
    pub persona_id: Uuid,
    pub messages: Vec<Message>,
    pub current_state: String,
    pub score: i64,
    pub outcome: Option<String>,
    pub player_name: String,
    pub player_gender: String,
    pub started_at: Timestamp,
    /// When the last message was stored (the greeting, at first).
    pub last_message_at: Timestamp,
}

/// Result of `reset`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResetResult {
    pub session_id: Uuid,
    pub message: String,
}

/// Body of `validate-llm-key`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ValidateLlmKeyRequest {
    #[serde(default)]
    pub model: Option<String>,
}

/// Result of `validate-llm-key`. *Exact.*
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ValidateLlmKeyResult {
    pub valid: bool,
    pub model: String,
    pub error: Option<String>,
}
