//! The persona document (personas.md §1): one persona, its variables, its machines (scenarios)
//! and the links between them.
//!
//! The same document is the body of `POST /api/v1/creator/save`, the result of
//! `GET /api/v1/personas/{id}/full` (which fills in the `id` fields) and the file format of
//! `foil-server persona import/export`. Unknown keys are rejected so typos are caught; `id`
//! fields are accepted and ignored on input so an export can be imported again unchanged.

mod validate;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

pub use validate::{Limits, Review, ValidationIssue};

/// A whole persona as a creator authors it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonaDocument {
    pub persona: PersonaInfo,
    #[serde(default)]
    pub variables: Vec<PersonaVariable>,
    pub machines: Vec<Machine>,
    #[serde(default)]
    pub machine_links: Vec<MachineLink>,
}

/// Who the NPC is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonaInfo {
    /// Filled in by the server on export; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Backstory, personality and voice.
    pub identity_prompt: String,
    /// Listed in public browsing when published.
    #[serde(default)]
    pub is_public: bool,
    /// Reachable by SDK keys and web chat.
    #[serde(default)]
    pub is_published: bool,
}

/// A persona-wide variable, available to prompts as `{{var.KEY}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonaVariable {
    pub key: String,
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// How a machine decides its outcome.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScoringMode {
    /// Transitions add `score_delta`; thresholds decide ACCEPT/REJECT.
    #[default]
    Scoring,
    /// Terminal states carry the outcome.
    PassFail,
}

impl ScoringMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringMode::Scoring => "scoring",
            ScoringMode::PassFail => "pass_fail",
        }
    }
}

/// The outcome of a finished session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Accept,
    Reject,
    KickOut,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "ACCEPT",
            Outcome::Reject => "REJECT",
            Outcome::KickOut => "KICK_OUT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACCEPT" => Some(Outcome::Accept),
            "REJECT" => Some(Outcome::Reject),
            "KICK_OUT" => Some(Outcome::KickOut),
            _ => None,
        }
    }
}

/// What a transition means when the evaluator picks it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionType {
    Pass,
    Redirect,
    Reject,
    KickOut,
}

impl DecisionType {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionType::Pass => "pass",
            DecisionType::Redirect => "redirect",
            DecisionType::Reject => "reject",
            DecisionType::KickOut => "kick_out",
        }
    }
}

/// A scenario: a state machine with a goal, stages, scoring and an outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// Filled in by the server on export; ignored on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Unique within the persona, `[a-z0-9_]+`.
    pub machine_key: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Playable from the start; at least one per persona.
    #[serde(default)]
    pub is_entry: bool,
    #[serde(default)]
    pub creator_objective: Option<String>,
    #[serde(default)]
    pub creator_win_condition: Option<String>,
    #[serde(default)]
    pub creator_lose_condition: Option<String>,
    #[serde(default)]
    pub chat_system_prompt: Option<String>,
    #[serde(default)]
    pub system_evaluation_prompt: Option<String>,
    #[serde(default)]
    pub system_summarization_prompt: Option<String>,
    #[serde(default)]
    pub scoring_mode: ScoringMode,
    /// Scoring mode: a final score ≥ this is ACCEPT. Absent means 0.
    #[serde(default)]
    pub pass_threshold: Option<i64>,
    /// Scoring mode: a score ≤ this ends the session at once with REJECT. Absent means never.
    #[serde(default)]
    pub fail_threshold: Option<i64>,
    pub states: Vec<State>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
    #[serde(default)]
    pub output_variables: Vec<OutputVariable>,
}

impl Machine {
    /// The pass threshold in effect (0 when not set).
    pub fn effective_pass_threshold(&self) -> i64 {
        self.pass_threshold.unwrap_or(0)
    }

    pub fn state(&self, key: &str) -> Option<&State> {
        self.states.iter().find(|s| s.state_key == key)
    }

    pub fn initial_state(&self) -> Option<&State> {
        self.states.iter().find(|s| s.is_initial_state)
    }
}

/// One stage of a machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct State {
    pub state_key: String,
    #[serde(default)]
    pub label: Option<String>,
    /// What the NPC should do while the conversation is in this state.
    #[serde(default)]
    pub prompt_instruction: String,
    #[serde(default)]
    pub is_initial_state: bool,
    #[serde(default)]
    pub is_terminal_state: bool,
    /// `pass_fail` machines only: the outcome of reaching this terminal state (default ACCEPT).
    #[serde(default)]
    pub terminal_outcome: Option<Outcome>,
    /// When this holds, the NPC asks a clarifying question instead of deciding.
    #[serde(default)]
    pub follow_up_condition: Option<String>,
    #[serde(default)]
    pub display_order: Option<i64>,
    /// Where the dashboard's graph editor draws this state. Layout only: the engine ignores it,
    /// and a document without positions is laid out automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// A point on the editor's canvas.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// An edge of the state machine, chosen by the evaluator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub from_state_key: String,
    pub to_state_key: String,
    pub decision_type: DecisionType,
    pub condition: String,
    #[serde(default)]
    pub score_delta: i64,
    /// Lower is considered first; ties keep document order.
    #[serde(default)]
    pub priority: i64,
}

/// A value extracted from a finished conversation and kept per player × persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutputVariable {
    pub key: String,
    pub extraction_prompt: String,
}

/// When a link between machines fires.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkConditionType {
    /// `condition_value` is `ACCEPT`, `REJECT` or `KICK_OUT`.
    Outcome,
    /// `condition_value` is a number; fires when the final score ≥ it.
    ScoreGte,
    /// `condition_value` is a number; fires when the final score ≤ it.
    ScoreLte,
    /// No value; fires whenever the machine completes.
    Always,
}

/// Finishing `from_machine_key` unlocks `to_machine_key` when the condition holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MachineLink {
    pub from_machine_key: String,
    pub to_machine_key: String,
    pub condition_type: LinkConditionType,
    /// A string outcome or a number, depending on `condition_type`.
    #[serde(default)]
    pub condition_value: Option<serde_json::Value>,
    /// The game may move the player straight on to the unlocked machine.
    #[serde(default)]
    pub is_auto_advance: bool,
}

impl MachineLink {
    /// Whether this link fires for a machine that finished with `outcome` and `score`.
    /// Call on validated documents; a malformed value never fires.
    pub fn fires(&self, outcome: Outcome, score: i64) -> bool {
        let number = || {
            self.condition_value.as_ref().and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            })
        };
        match self.condition_type {
            LinkConditionType::Always => true,
            LinkConditionType::Outcome => {
                self.condition_value
                    .as_ref()
                    .and_then(|v| v.as_str())
                    .and_then(Outcome::parse)
                    == Some(outcome)
            }
            LinkConditionType::ScoreGte => number().is_some_and(|n| score as f64 >= n),
            LinkConditionType::ScoreLte => number().is_some_and(|n| score as f64 <= n),
        }
    }
}

impl PersonaDocument {
    /// Parses a JSON document, naming the path of the first syntax or type error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            }
        })
    }

    pub fn machine(&self, key: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.machine_key == key)
    }

    /// Every problem of the document, each naming its path; empty when valid.
    pub fn validate(&self, limits: &Limits) -> Vec<ValidationIssue> {
        self.review(limits).errors
    }

    /// The problems ([`Review::errors`]) and what is accepted but ignored
    /// ([`Review::warnings`]), each naming its path.
    pub fn review(&self, limits: &Limits) -> Review {
        validate::review(self, limits)
    }

    /// Removes the server-assigned ids (for comparing or re-importing documents).
    pub fn without_ids(mut self) -> Self {
        self.persona.id = None;
        for m in &mut self.machines {
            m.id = None;
        }
        self
    }
}
