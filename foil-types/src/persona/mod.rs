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
    /// Who the NPC is.
    pub persona: PersonaInfo,
    /// Persona-wide variables, available to prompts as `{{var.KEY}}`.
    #[serde(default)]
    pub variables: Vec<PersonaVariable>,
    /// The persona's machines (scenarios); at least one is an entry machine.
    pub machines: Vec<Machine>,
    /// Links that unlock a machine when another one finishes.
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
    /// The persona's name (required, ≤ 100 characters).
    pub name: String,
    /// An optional short description.
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
    /// The variable's key, `[a-z0-9_]+`, unique within the persona.
    pub key: String,
    /// The value used when the player has none of their own.
    #[serde(default)]
    pub default_value: Option<String>,
    /// An optional note on what the variable holds.
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
    /// The wire spelling: `scoring` or `pass_fail`.
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
    /// `ACCEPT`: the player succeeded.
    Accept,
    /// `REJECT`: the player failed.
    Reject,
    /// `KICK_OUT`: ended by a `kick_out` decision.
    KickOut,
}

impl Outcome {
    /// The wire spelling: `ACCEPT`, `REJECT` or `KICK_OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accept => "ACCEPT",
            Outcome::Reject => "REJECT",
            Outcome::KickOut => "KICK_OUT",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
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
    /// `pass`: move to the target state and add `score_delta`.
    Pass,
    /// `redirect`: stay in the current state; counts as a redirect.
    Redirect,
    /// `reject`: the player is rejected; the effect depends on the scoring mode.
    Reject,
    /// `kick_out`: move to the target state and end the session with `KICK_OUT`.
    KickOut,
}

impl DecisionType {
    /// The wire spelling: `pass`, `redirect`, `reject` or `kick_out`.
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
    /// The machine's name.
    pub name: String,
    /// An optional description.
    #[serde(default)]
    pub description: Option<String>,
    /// Playable from the start; at least one per persona.
    #[serde(default)]
    pub is_entry: bool,
    /// What the NPC is trying to find out or achieve.
    #[serde(default)]
    pub creator_objective: Option<String>,
    /// What counts as a win; shown to the evaluator.
    #[serde(default)]
    pub creator_win_condition: Option<String>,
    /// What counts as a loss; shown to the evaluator.
    #[serde(default)]
    pub creator_lose_condition: Option<String>,
    /// Scenario-wide instructions for the NPC's replies.
    #[serde(default)]
    pub chat_system_prompt: Option<String>,
    /// Optional extra instructions for the evaluator.
    #[serde(default)]
    pub system_evaluation_prompt: Option<String>,
    /// Optional extra instructions for summaries.
    #[serde(default)]
    pub system_summarization_prompt: Option<String>,
    /// How the machine decides its outcome (default `scoring`).
    #[serde(default)]
    pub scoring_mode: ScoringMode,
    /// Scoring mode: a final score ≥ this is ACCEPT. Absent means 0.
    #[serde(default)]
    pub pass_threshold: Option<i64>,
    /// Scoring mode: a score ≤ this ends the session at once with REJECT. Absent means never.
    #[serde(default)]
    pub fail_threshold: Option<i64>,
    /// The stages: exactly one initial state and at least one terminal state.
    pub states: Vec<State>,
    /// The edges between states, chosen by the evaluator.
    #[serde(default)]
    pub transitions: Vec<Transition>,
    /// Values extracted when the machine completes, kept per player × persona.
    #[serde(default)]
    pub output_variables: Vec<OutputVariable>,
}

impl Machine {
    /// The pass threshold in effect (0 when not set).
    pub fn effective_pass_threshold(&self) -> i64 {
        self.pass_threshold.unwrap_or(0)
    }

    /// The state with key `key`, if any.
    pub fn state(&self, key: &str) -> Option<&State> {
        self.states.iter().find(|s| s.state_key == key)
    }

    /// The initial state, if any.
    pub fn initial_state(&self) -> Option<&State> {
        self.states.iter().find(|s| s.is_initial_state)
    }
}

/// One stage of a machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The state's key, unique within the machine.
    pub state_key: String,
    /// An optional human-readable name.
    #[serde(default)]
    pub label: Option<String>,
    /// What the NPC should do while the conversation is in this state.
    #[serde(default)]
    pub prompt_instruction: String,
    /// Whether sessions start here; exactly one per machine.
    #[serde(default)]
    pub is_initial_state: bool,
    /// Whether reaching this state ends the session.
    #[serde(default)]
    pub is_terminal_state: bool,
    /// `pass_fail` machines only: the outcome of reaching this terminal state (default ACCEPT).
    #[serde(default)]
    pub terminal_outcome: Option<Outcome>,
    /// When this holds, the NPC asks a clarifying question instead of deciding.
    #[serde(default)]
    pub follow_up_condition: Option<String>,
    /// Optional sort key for listing states; display only.
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
    /// Horizontal coordinate on the canvas.
    pub x: f64,
    /// Vertical coordinate on the canvas.
    pub y: f64,
}

/// An edge of the state machine, chosen by the evaluator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// Key of the state the transition leaves.
    pub from_state_key: String,
    /// Key of the state the transition leads to.
    pub to_state_key: String,
    /// What picking this transition means.
    pub decision_type: DecisionType,
    /// When the evaluator should pick this transition, in plain words.
    pub condition: String,
    /// Added to the score when this transition is applied (an integer, default 0).
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
    /// The variable's key, `[a-z0-9_]+`, unique within the machine.
    pub key: String,
    /// What to extract from the finished conversation.
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
    /// Key of the machine whose completion is checked.
    pub from_machine_key: String,
    /// Key of the machine to unlock.
    pub to_machine_key: String,
    /// What decides whether the link fires.
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

    /// The machine with key `key`, if any.
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
