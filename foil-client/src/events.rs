//! Game events derived from chat responses (see [`SessionTracker`]).

use std::collections::{HashMap, HashSet};

use foil_types::wire::{
    ChatHistory, ChatResponse, ResetResult, SessionInit, SessionStatus, UnlockedMachine,
};
use serde::Serialize;
use uuid::Uuid;

/// Something that happened in a session, derived by [`SessionTracker`]. Serialises (with
/// [`GameEvent::payload_json`]) to the JSON payloads of the native plugin's game events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GameEvent {
    /// The conversation moved to another state.
    /// Payload `{"session_id", "from_state", "to_state", "decision"}`.
    StateChange {
        /// The session.
        session_id: Uuid,
        /// The state before the turn.
        from_state: String,
        /// The state after the turn.
        to_state: String,
        /// The evaluator's decision of the turn (`pass`, `fail`, ...), when given.
        decision: Option<String>,
    },
    /// The score changed. Payload `{"session_id", "old_score", "new_score", "delta"}`.
    ScoreChange {
        /// The session.
        session_id: Uuid,
        /// The score before the turn.
        old_score: i64,
        /// The score after the turn.
        new_score: i64,
        /// `new_score - old_score`.
        delta: i64,
    },
    /// The scenario (machine) finished this turn.
    /// Payload `{"session_id", "outcome", "final_score"}`.
    MachineCompleted {
        /// The session.
        session_id: Uuid,
        /// `ACCEPT`, `REJECT` or `KICK_OUT` (null if the server gave none).
        outcome: Option<String>,
        /// The score at the end.
        final_score: i64,
    },
    /// Finishing the scenario unlocked other scenarios.
    /// Payload `{"session_id", "machines": [UnlockedMachine]}`.
    MachinesUnlocked {
        /// The session.
        session_id: Uuid,
        /// The newly unlocked machines (each reported once per session).
        machines: Vec<UnlockedMachine>,
    },
    /// The session ended (it accepts no more messages).
    /// Payload `{"session_id", "outcome", "final_score"}`.
    SessionEnded {
        /// The session.
        session_id: Uuid,
        /// `ACCEPT`, `REJECT` or `KICK_OUT`.
        outcome: String,
        /// The score at the end.
        final_score: i64,
    },
}

impl GameEvent {
    /// The session the event belongs to.
    pub fn session_id(&self) -> Uuid {
        match self {
            GameEvent::StateChange { session_id, .. }
            | GameEvent::ScoreChange { session_id, .. }
            | GameEvent::MachineCompleted { session_id, .. }
            | GameEvent::MachinesUnlocked { session_id, .. }
            | GameEvent::SessionEnded { session_id, .. } => *session_id,
        }
    }

    /// A stable name: `state_change`, `score_change`, `machine_completed`,
    /// `machines_unlocked` or `session_ended`.
    pub fn name(&self) -> &'static str {
        match self {
            GameEvent::StateChange { .. } => "state_change",
            GameEvent::ScoreChange { .. } => "score_change",
            GameEvent::MachineCompleted { .. } => "machine_completed",
            GameEvent::MachinesUnlocked { .. } => "machines_unlocked",
            GameEvent::SessionEnded { .. } => "session_ended",
        }
    }

    /// The event's fields as a JSON object (see each variant for the keys).
    pub fn payload_json(&self) -> String {
        serde_json::to_string(self).expect("plain enum serialises")
    }
}

/// The last known status of one session.
#[derive(Debug, Clone, Default)]
struct Known {
    state: Option<String>,
    score: Option<i64>,
    outcome: Option<String>,
    completed: bool,
    unlocked: HashSet<Uuid>,
}

/// Derives [`GameEvent`]s by comparing each [`ChatResponse`] with the previous status of the
/// same session (by `session_id`).
///
/// The server answers each turn with a whole [`ChatResponse`]; games usually want to know
/// what *changed*: the NPC moved to another state, the score went up, the scenario ended. The
/// tracker remembers the last known status of every session and turns each new response into
/// events.
///
/// What it knows before the first turn of a session:
/// - after [`SessionTracker::observe_init`] or [`SessionTracker::observe_reset`]: the score
///   (0) and that the session is running, but **not** the state's name (the init-session
///   answer does not carry it). So the first turn after an init emits a `ScoreChange` when
///   the score moved, but no `StateChange`.
/// - after [`SessionTracker::observe_status`] or [`SessionTracker::observe_history`] (a
///   `get_session`/`get_history` answer): everything, so the next turn's `StateChange` is
///   emitted too. Games that want a `StateChange` for the very first turn fetch the session
///   once after init.
/// - nothing: the first response only records the status; only the facts that need no
///   comparison (`MachineCompleted`, `MachinesUnlocked`, `SessionEnded`) are emitted.
///
/// The tracker does no I/O and fetches nothing itself. One tracker per client is the usual
/// set-up; it is cheap (one small entry per session).
#[derive(Debug, Default)]
pub struct SessionTracker {
    sessions: HashMap<Uuid, Known>,
}

impl SessionTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a turn and returns what changed, in this order: `StateChange`, `ScoreChange`,
    /// `MachineCompleted`, `MachinesUnlocked`, `SessionEnded`.
    pub fn observe(&mut self, response: &ChatResponse) -> Vec<GameEvent> {
        let session_id = response.session_id;
        let known = self.sessions.entry(session_id).or_default();
        let mut events = Vec::new();
        if let Some(from) = &known.state {
            if *from != response.current_state {
                events.push(GameEvent::StateChange {
                    session_id,
                    from_state: from.clone(),
                    to_state: response.current_state.clone(),
                    decision: response.decision.clone(),
                });
            }
        }
        if let Some(old) = known.score {
            if old != response.score {
                events.push(GameEvent::ScoreChange {
                    session_id,
                    old_score: old,
                    new_score: response.score,
                    delta: response.score - old,
                });
            }
        }
        if response.machine_completed && !known.completed {
            events.push(GameEvent::MachineCompleted {
                session_id,
                outcome: response.outcome.clone(),
                final_score: response.score,
            });
        }
        let new_machines: Vec<UnlockedMachine> = response
            .unlocked_machines
            .iter()
            .filter(|m| known.unlocked.insert(m.machine_id))
            .cloned()
            .collect();
        if !new_machines.is_empty() {
            events.push(GameEvent::MachinesUnlocked {
                session_id,
                machines: new_machines,
            });
        }
        if let (Some(outcome), None) = (&response.outcome, &known.outcome) {
            events.push(GameEvent::SessionEnded {
                session_id,
                outcome: outcome.clone(),
                final_score: response.score,
            });
        }
        known.state = Some(response.current_state.clone());
        known.score = Some(response.score);
        known.outcome = response.outcome.clone();
        known.completed |= response.machine_completed;
        events
    }

    /// Records a (re)started session: score 0, running, state unknown. `init-session` on an
    /// existing session starts it over, so what was known about it is forgotten.
    pub fn observe_init(&mut self, init: &SessionInit) {
        self.restart(init.session_id);
    }

    /// Records a reset session (same as [`SessionTracker::observe_init`]).
    pub fn observe_reset(&mut self, reset: &ResetResult) {
        self.restart(reset.session_id);
    }

    /// Records a session's full status (a `get_session` answer).
    pub fn observe_status(&mut self, status: &SessionStatus) {
        self.set(
            status.session_id,
            &status.current_state,
            status.score,
            status.outcome.as_deref(),
        );
    }

    /// Records a session's full status (a `get_history` answer).
    pub fn observe_history(&mut self, history: &ChatHistory) {
        self.set(
            history.session_id,
            &history.current_state,
            history.score,
            history.outcome.as_deref(),
        );
    }

    /// Forgets a session.
    pub fn forget(&mut self, session_id: Uuid) {
        self.sessions.remove(&session_id);
    }

    /// How many sessions are tracked.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is tracked.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn restart(&mut self, session_id: Uuid) {
        self.sessions.insert(
            session_id,
            Known {
                score: Some(0),
                ..Known::default()
            },
        );
    }

    fn set(&mut self, session_id: Uuid, state: &str, score: i64, outcome: Option<&str>) {
        let known = self.sessions.entry(session_id).or_default();
        known.state = Some(state.to_string());
        known.score = Some(score);
        known.outcome = outcome.map(str::to_string);
        // An ended session was completed, whether or not we saw the turn; a running one
        // (perhaps reset elsewhere) was not.
        known.completed = outcome.is_some();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(state: &str, score: i64, outcome: Option<&str>) -> ChatResponse {
        ChatResponse {
            message: "m".into(),
            current_state: state.into(),
            score,
            outcome: outcome.map(Into::into),
            decision: Some("pass".into()),
            follow_up: false,
            session_id: Uuid::from_u128(7),
            scoring_mode: "standard".into(),
            redirect_count: Some(0),
            machine_completed: outcome.is_some(),
            unlocked_machines: Vec::new(),
        }
    }

    fn init() -> SessionInit {
        SessionInit {
            session_id: Uuid::from_u128(7),
            user_session_id: "p".into(),
            persona_name: "n".into(),
            persona_description: None,
            player_name: "Ada".into(),
            player_gender: "female".into(),
            message: "hi".into(),
            machine_id: Uuid::from_u128(1),
        }
    }

    #[test]
    fn first_response_without_history_emits_no_diffs() {
        let mut t = SessionTracker::new();
        assert!(t.observe(&response("S1", 2, None)).is_empty());
        // The second one is compared with the first.
        let events = t.observe(&response("S2", 3, None));
        assert_eq!(
            events,
            vec![
                GameEvent::StateChange {
                    session_id: Uuid::from_u128(7),
                    from_state: "S1".into(),
                    to_state: "S2".into(),
                    decision: Some("pass".into()),
                },
                GameEvent::ScoreChange {
                    session_id: Uuid::from_u128(7),
                    old_score: 2,
                    new_score: 3,
                    delta: 1,
                },
            ]
        );
    }

    #[test]
    fn after_init_the_score_is_known_but_not_the_state() {
        let mut t = SessionTracker::new();
        t.observe_init(&init());
        let events = t.observe(&response("S1", 2, None));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].name(), "score_change");
        // A repeated identical response changes nothing.
        assert!(t.observe(&response("S1", 2, None)).is_empty());
    }

    #[test]
    fn ending_turn_and_unlocks_are_reported_once() {
        let mut t = SessionTracker::new();
        t.observe_init(&init());
        t.observe(&response("S1", 1, None));
        let mut end = response("END", 3, Some("ACCEPT"));
        let unlocked = UnlockedMachine {
            machine_id: Uuid::from_u128(9),
            machine_key: "next".into(),
            name: "Next".into(),
            is_auto_advance: false,
        };
        end.unlocked_machines = vec![unlocked.clone()];
        let names: Vec<&str> = t.observe(&end).iter().map(GameEvent::name).collect();
        assert_eq!(
            names,
            [
                "state_change",
                "score_change",
                "machine_completed",
                "machines_unlocked",
                "session_ended"
            ]
        );
        assert!(t.observe(&end).is_empty(), "nothing new the second time");
        // A reset starts over.
        t.observe_reset(&ResetResult {
            session_id: Uuid::from_u128(7),
            message: "ok".into(),
        });
        let names: Vec<&str> = t.observe(&end).iter().map(GameEvent::name).collect();
        assert_eq!(
            names,
            [
                "score_change",
                "machine_completed",
                "machines_unlocked",
                "session_ended"
            ]
        );
    }

    #[test]
    fn payloads_have_the_documented_keys() {
        let e = GameEvent::SessionEnded {
            session_id: Uuid::from_u128(7),
            outcome: "REJECT".into(),
            final_score: -2,
        };
        let v: serde_json::Value = serde_json::from_str(&e.payload_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"session_id": Uuid::from_u128(7), "outcome": "REJECT",
                "final_score": -2})
        );
        let e = GameEvent::StateChange {
            session_id: Uuid::from_u128(7),
            from_state: "A".into(),
            to_state: "B".into(),
            decision: None,
        };
        let v: serde_json::Value = serde_json::from_str(&e.payload_json()).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["decision", "from_state", "session_id", "to_state"]);
    }

    #[test]
    fn sessions_are_independent() {
        let mut t = SessionTracker::new();
        t.observe(&response("S1", 1, None));
        let mut other = response("S9", 5, None);
        other.session_id = Uuid::from_u128(8);
        assert!(
            t.observe(&other).is_empty(),
            "no diff against another session"
        );
        assert_eq!(t.len(), 2);
    }
}
