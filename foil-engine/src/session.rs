//! The state of one session and the decision table that moves it (personas.md §2 step 3).

use std::fmt;

use foil_types::persona::{DecisionType, Machine, Outcome, ScoringMode, Transition};
use serde::{Deserialize, Serialize};

/// Where a session stands: what [`apply`] reads and writes on every turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// The `state_key` of the current state.
    pub current_state: String,
    /// The running score (sum of the applied `score_delta`s).
    pub score: i64,
    /// Consecutive redirects in the current state; 0 after every state change.
    pub redirect_count: i64,
    /// Set once the session has ended; no further turn is applied after that.
    pub outcome: Option<Outcome>,
}

impl SessionState {
    /// A fresh session in the machine's initial state, or `None` when the machine has no
    /// initial state (it would not pass validation).
    pub fn initial(machine: &Machine) -> Option<Self> {
        machine.initial_state().map(|s| SessionState {
            current_state: s.state_key.clone(),
            score: 0,
            redirect_count: 0,
            outcome: None,
        })
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        self.outcome.is_some()
    }
}

/// The outgoing transitions of `state_key` in the order the evaluator sees them: lower
/// `priority` first, ties in document order. A [`Decision`]'s `index` points into this list.
pub fn candidates<'m>(machine: &'m Machine, state_key: &str) -> Vec<&'m Transition> {
    let mut list: Vec<&Transition> = machine
        .transitions
        .iter()
        .filter(|t| t.from_state_key == state_key)
        .collect();
    // `sort_by_key` is stable, which keeps document order among equal priorities.
    list.sort_by_key(|t| t.priority);
    list
}

/// What the evaluator decided for one player message. Indices point into [`candidates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The player met the condition of the `pass` transition `index`.
    Pass {
        /// A [`candidates`] index.
        index: usize,
    },
    /// The player did not move the conversation on.
    Redirect {
        /// The matching `redirect` candidate, if any (its `score_delta` applies).
        index: Option<usize>,
    },
    /// The player met the condition of the `reject` transition `index`.
    Reject {
        /// A [`candidates`] index.
        index: usize,
    },
    /// The player met the condition of the `kick_out` transition `index`.
    KickOut {
        /// A [`candidates`] index.
        index: usize,
    },
    /// The state's follow-up condition holds: the NPC asks a clarifying question.
    FollowUp,
}

impl Decision {
    /// The wire name: `pass`, `redirect`, `reject`, `kick_out` or `follow_up`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass { .. } => "pass",
            Decision::Redirect { .. } => "redirect",
            Decision::Reject { .. } => "reject",
            Decision::KickOut { .. } => "kick_out",
            Decision::FollowUp => "follow_up",
        }
    }

    /// The candidate index the decision names, if any.
    pub fn index(self) -> Option<usize> {
        match self {
            Decision::Pass { index } | Decision::Reject { index } | Decision::KickOut { index } => {
                Some(index)
            }
            Decision::Redirect { index } => index,
            Decision::FollowUp => None,
        }
    }

    /// The transition type this decision picks from, or `None` for `follow_up`.
    pub fn decision_type(self) -> Option<DecisionType> {
        match self {
            Decision::Pass { .. } => Some(DecisionType::Pass),
            Decision::Redirect { .. } => Some(DecisionType::Redirect),
            Decision::Reject { .. } => Some(DecisionType::Reject),
            Decision::KickOut { .. } => Some(DecisionType::KickOut),
            Decision::FollowUp => None,
        }
    }

    /// The decision for transition `index` of the given type.
    pub fn for_transition(kind: DecisionType, index: usize) -> Self {
        match kind {
            DecisionType::Pass => Decision::Pass { index },
            DecisionType::Redirect => Decision::Redirect { index: Some(index) },
            DecisionType::Reject => Decision::Reject { index },
            DecisionType::KickOut => Decision::KickOut { index },
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// It reached a terminal state.
    TerminalState,
    /// Scoring mode: the score fell to or below `fail_threshold`.
    FailThreshold,
    /// Pass/fail mode: a `reject` transition was taken.
    Rejected,
    /// A `kick_out` transition was taken.
    KickedOut,
}

/// What just happened, for the reply prompt (personas.md §2 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// The player met a `pass` condition; the conversation moved on.
    Passed {
        /// The condition of the transition taken.
        condition: String,
    },
    /// Scoring mode `reject`: the message counted against the player, but the conversation
    /// moved on.
    Penalized {
        /// The condition of the `reject` transition.
        condition: String,
    },
    /// The player did not move the conversation on; the NPC steers back.
    Redirected {
        /// The condition of the chosen `redirect` transition, if any.
        condition: Option<String>,
    },
    /// The NPC asks a clarifying question because the state's follow-up condition holds.
    FollowUp {
        /// The state's follow-up condition.
        condition: String,
    },
    /// The session ended this turn.
    Ended {
        /// How it ended.
        outcome: Outcome,
        /// Why it ended.
        reason: EndReason,
        /// The condition of the transition taken this turn, if any.
        condition: Option<String>,
    },
}

impl Happened {
    /// A short machine-readable name: `passed`, `penalized`, `redirected`, `follow_up`,
    /// `ended`.
    pub fn kind(&self) -> &'static str {
        match self {
            Happened::Passed { .. } => "passed",
            Happened::Penalized { .. } => "penalized",
            Happened::Redirected { .. } => "redirected",
            Happened::FollowUp { .. } => "follow_up",
            Happened::Ended { .. } => "ended",
        }
    }
}

/// The result of applying one decision: everything the server stores and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnOutcome {
    /// The session after this turn (state, score, redirect count, outcome).
    pub session: SessionState,
    /// The decision that was applied; [`Decision::as_str`] is the response's `decision`.
    pub decision: Decision,
    /// How much the score changed this turn.
    pub score_delta: i64,
    /// The response's `follow_up` flag.
    pub follow_up: bool,
    /// The session ended this turn (the response's `machine_completed`).
    pub machine_completed: bool,
    /// What happened, for the reply prompt.
    pub happened: Happened,
}

/// Why [`apply`] could not apply a decision. None of these changes the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// The session has already ended with this outcome.
    SessionEnded(Outcome),
    /// A state the session is in (or would move to) is not in the machine, e.g. after the
    /// creator replaced the persona definition.
    UnknownState(String),
    /// The session sits in a terminal state but has no outcome; nothing can be applied.
    TerminalState(String),
    /// The decision does not fit the current state (wrong index or transition type, or a
    /// follow-up in a state without a follow-up condition).
    InvalidDecision(String),
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::SessionEnded(o) => write!(f, "the session has ended ({})", o.as_str()),
            ApplyError::UnknownState(k) => write!(f, "state {k:?} does not exist in the machine"),
            ApplyError::TerminalState(k) => {
                write!(
                    f,
                    "the session is in terminal state {k:?} without an outcome"
                )
            }
            ApplyError::InvalidDecision(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ApplyError {}

/// Applies `decision` to `session` following the decision table of personas.md §2 step 3:
///
/// | decision | state | score | ends? |
/// |---|---|---|---|
/// | `pass` | → transition's target | + `score_delta` | if the new state is terminal |
/// | `redirect` | stays | + `score_delta` of the chosen redirect, if any | no; `redirect_count` + 1 |
/// | `follow_up` | stays | unchanged | no; `follow_up = true` |
/// | `reject`, scoring | → target of the state's first `pass` transition (stays if none) | + `score_delta` | if that state is terminal |
/// | `reject`, pass_fail | → transition's target | unchanged | yes, `REJECT` |
/// | `kick_out` | → transition's target | + `score_delta` | yes, `KICK_OUT` |
///
/// `redirect_count` resets to 0 whenever the state changes, grows by one on a redirect and is
/// otherwise left alone. In scoring mode a score ≤ `fail_threshold` ends the session at once
/// with `REJECT` (a follow-up changes nothing and so never ends a session). Reaching a terminal
/// state ends it: scoring ⇒ `ACCEPT` if score ≥ the pass threshold (0 when unset), else
/// `REJECT`; pass_fail ⇒ the state's `terminal_outcome` (default `ACCEPT`).
pub fn apply(
    machine: &Machine,
    session: &SessionState,
    decision: Decision,
) -> Result<TurnOutcome, ApplyError> {
    if let Some(outcome) = session.outcome {
        return Err(ApplyError::SessionEnded(outcome));
    }
    let current = machine
        .state(&session.current_state)
        .ok_or_else(|| ApplyError::UnknownState(session.current_state.clone()))?;
    if current.is_terminal_state {
        return Err(ApplyError::TerminalState(current.state_key.clone()));
    }
    let cands = candidates(machine, &current.state_key);
    let pick = |index: usize, kind: DecisionType| -> Result<&Transition, ApplyError> {
        match cands.get(index) {
            Some(t) if t.decision_type == kind => Ok(t),
            Some(t) => Err(ApplyError::InvalidDecision(format!(
                "candidate {index} of state {:?} is a {} transition, not {}",
                current.state_key,
                t.decision_type.as_str(),
                kind.as_str()
            ))),
            None => Err(ApplyError::InvalidDecision(format!(
                "state {:?} has {} candidate transitions; there is no candidate {index}",
                current.state_key,
                cands.len()
            ))),
        }
    };

    let scoring = machine.scoring_mode == ScoringMode::Scoring;
    // (target state, score delta, transition taken, outcome forced by the decision itself)
    let (target, delta, taken, forced) = match decision {
        Decision::Pass { index } => {
            let t = pick(index, DecisionType::Pass)?;
            (t.to_state_key.as_str(), t.score_delta, Some(t), None)
        }
        Decision::Redirect { index } => {
            let t = index.map(|i| pick(i, DecisionType::Redirect)).transpose()?;
            let delta = t.map_or(0, |t| t.score_delta);
            (current.state_key.as_str(), delta, t, None)
        }
        Decision::FollowUp => {
            if !has_follow_up(current) {
                return Err(ApplyError::InvalidDecision(format!(
                    "state {:?} has no follow-up condition",
                    current.state_key
                )));
            }
            (current.state_key.as_str(), 0, None, None)
        }
        Decision::Reject { index } if scoring => {
            let t = pick(index, DecisionType::Reject)?;
            // Scoring mode: a rejection costs points, but the conversation moves on as if the
            // state's main path had been taken.
            let target = cands
                .iter()
                .find(|c| c.decision_type == DecisionType::Pass)
                .map_or(current.state_key.as_str(), |p| p.to_state_key.as_str());
            (target, t.score_delta, Some(t), None)
        }
        Decision::Reject { index } => {
            let t = pick(index, DecisionType::Reject)?;
            let forced = Some((Outcome::Reject, EndReason::Rejected));
            (t.to_state_key.as_str(), 0, Some(t), forced)
        }
        Decision::KickOut { index } => {
            let t = pick(index, DecisionType::KickOut)?;
            let forced = Some((Outcome::KickOut, EndReason::KickedOut));
            (t.to_state_key.as_str(), t.score_delta, Some(t), forced)
        }
    };

    let next = machine
        .state(target)
        .ok_or_else(|| ApplyError::UnknownState(target.to_string()))?;
    // Saturating: a hostile document must not be able to panic the server with huge deltas.
    let score = session.score.saturating_add(delta);
    let state_changed = next.state_key != current.state_key;
    let redirect_count = if state_changed {
        0
    } else if matches!(decision, Decision::Redirect { .. }) {
        session.redirect_count.saturating_add(1)
    } else {
        session.redirect_count
    };

    let below_fail = scoring
        && decision != Decision::FollowUp
        && machine.fail_threshold.is_some_and(|f| score <= f);
    let ended = forced.or_else(|| {
        if below_fail {
            Some((Outcome::Reject, EndReason::FailThreshold))
        } else if next.is_terminal_state {
            let outcome = if scoring {
                if score >= machine.effective_pass_threshold() {
                    Outcome::Accept
                } else {
                    Outcome::Reject
                }
            } else {
                next.terminal_outcome.unwrap_or(Outcome::Accept)
            };
            Some((outcome, EndReason::TerminalState))
        } else {
            None
        }
    });

    let condition = taken.map(|t| t.condition.clone());
    let happened = match (ended, decision) {
        (Some((outcome, reason)), _) => Happened::Ended {
            outcome,
            reason,
            condition,
        },
        (None, Decision::Reject { .. }) => Happened::Penalized {
            condition: condition.unwrap_or_default(),
        },
        (None, Decision::Redirect { .. }) => Happened::Redirected { condition },
        (None, Decision::FollowUp) => Happened::FollowUp {
            condition: current.follow_up_condition.clone().unwrap_or_default(),
        },
        // A kick-out is always `ended` (forced above), so this is a pass.
        (None, Decision::Pass { .. } | Decision::KickOut { .. }) => Happened::Passed {
            condition: condition.unwrap_or_default(),
        },
    };

    Ok(TurnOutcome {
        session: SessionState {
            current_state: next.state_key.clone(),
            score,
            redirect_count,
            outcome: ended.map(|(o, _)| o),
        },
        decision,
        score_delta: delta,
        follow_up: decision == Decision::FollowUp,
        machine_completed: ended.is_some(),
        happened,
    })
}

/// Whether a follow-up question is allowed in this state.
pub(crate) fn has_follow_up(state: &foil_types::persona::State) -> bool {
    state
        .follow_up_condition
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    fn start(m: &Machine) -> SessionState {
        SessionState::initial(m).unwrap()
    }

    fn at(state: &str, score: i64, redirects: i64) -> SessionState {
        SessionState {
            current_state: state.into(),
            score,
            redirect_count: redirects,
            outcome: None,
        }
    }

    #[test]
    fn initial_session() {
        let m = scoring_machine();
        assert_eq!(start(&m), at("S0", 0, 0));
        let mut broken = m.clone();
        broken.states[0].is_initial_state = false;
        assert_eq!(SessionState::initial(&broken), None);
    }

    #[test]
    fn candidates_are_in_priority_order_with_ties_in_document_order() {
        let m = scoring_machine();
        let c: Vec<&str> = candidates(&m, "S0")
            .iter()
            .map(|t| t.condition.as_str())
            .collect();
        assert_eq!(
            c,
            [
                "the player orders politely",
                "the player is rude",
                "the player chats about the weather",
                "the player hums a song",
                "the player throws a cup",
            ]
        );
        assert!(candidates(&m, "S_END").is_empty());
        assert!(candidates(&m, "NOPE").is_empty());
    }

    #[test]
    fn pass_moves_and_scores() {
        let m = scoring_machine();
        let out = apply(&m, &at("S0", 0, 2), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session, at("S1", 2, 0));
        assert_eq!(out.score_delta, 2);
        assert!(!out.machine_completed && !out.follow_up);
        assert_eq!(out.decision.as_str(), "pass");
        assert_eq!(
            out.happened,
            Happened::Passed {
                condition: "the player orders politely".into()
            }
        );
    }

    #[test]
    fn pass_into_terminal_state_ends_by_score_in_scoring_mode() {
        let m = scoring_machine(); // pass_threshold 3
        let out = apply(&m, &at("S1", 1, 0), Decision::Pass { index: 0 }).unwrap();
        // 1 + 2 = 3 ≥ 3: equal to the threshold is enough.
        assert_eq!(out.session.score, 3);
        assert_eq!(out.session.outcome, Some(Outcome::Accept));
        assert!(out.machine_completed);
        assert_eq!(
            out.happened,
            Happened::Ended {
                outcome: Outcome::Accept,
                reason: EndReason::TerminalState,
                condition: Some("the player pays".into())
            }
        );
        let out = apply(&m, &at("S1", 0, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.score, 2);
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
        assert!(out.machine_completed);
    }

    #[test]
    fn unset_pass_threshold_means_zero() {
        let mut m = scoring_machine();
        m.pass_threshold = None;
        let out = apply(&m, &at("S1", -2, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.score, 0);
        assert_eq!(out.session.outcome, Some(Outcome::Accept));
        let out = apply(&m, &at("S1", -3, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
    }

    #[test]
    fn redirect_stays_counts_and_scores_the_chosen_transition() {
        let m = scoring_machine();
        let out = apply(&m, &at("S0", 0, 0), Decision::Redirect { index: Some(2) }).unwrap();
        assert_eq!(out.session, at("S0", -1, 1));
        assert_eq!(
            out.happened,
            Happened::Redirected {
                condition: Some("the player chats about the weather".into())
            }
        );
        let out = apply(&m, &out.session, Decision::Redirect { index: None }).unwrap();
        assert_eq!(out.session, at("S0", -1, 2));
        assert_eq!(out.score_delta, 0);
        assert_eq!(out.happened, Happened::Redirected { condition: None });
        assert!(!out.machine_completed);
        assert_eq!(out.decision.as_str(), "redirect");
    }

    #[test]
    fn follow_up_changes_nothing_but_the_flag() {
        let m = scoring_machine();
        let out = apply(&m, &at("S0", 1, 2), Decision::FollowUp).unwrap();
        assert_eq!(out.session, at("S0", 1, 2));
        assert!(out.follow_up && !out.machine_completed);
        assert_eq!(out.decision.as_str(), "follow_up");
        assert_eq!(
            out.happened,
            Happened::FollowUp {
                condition: "the order is ambiguous".into()
            }
        );
        // S1 has no follow-up condition.
        assert!(matches!(
            apply(&m, &at("S1", 0, 0), Decision::FollowUp),
            Err(ApplyError::InvalidDecision(_))
        ));
    }

    #[test]
    fn follow_up_never_trips_the_fail_threshold() {
        let mut m = scoring_machine();
        m.fail_threshold = Some(0);
        m.pass_threshold = Some(1);
        let out = apply(&m, &at("S0", 0, 0), Decision::FollowUp).unwrap();
        assert_eq!(out.session.outcome, None);
        // Any other decision at score 0 ≤ 0 ends it.
        let out = apply(&m, &at("S0", 0, 0), Decision::Redirect { index: None }).unwrap();
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
    }

    #[test]
    fn reject_in_scoring_mode_follows_the_first_pass_transition() {
        let m = scoring_machine();
        let out = apply(&m, &at("S0", 0, 1), Decision::Reject { index: 1 }).unwrap();
        assert_eq!(out.session, at("S1", -2, 0));
        assert!(!out.machine_completed);
        assert_eq!(out.decision.as_str(), "reject");
        assert_eq!(
            out.happened,
            Happened::Penalized {
                condition: "the player is rude".into()
            }
        );
    }

    #[test]
    fn reject_in_scoring_mode_ends_when_the_pass_target_is_terminal() {
        let m = scoring_machine();
        // S1's first pass transition leads to the terminal S_END.
        let out = apply(&m, &at("S1", 5, 0), Decision::Reject { index: 1 }).unwrap();
        assert_eq!(out.session.current_state, "S_END");
        assert_eq!(out.session.score, 4);
        assert_eq!(out.session.outcome, Some(Outcome::Accept));
        assert!(out.machine_completed);
    }

    #[test]
    fn reject_in_scoring_mode_stays_without_a_pass_transition() {
        let m = scoring_machine();
        let out = apply(&m, &at("S2", 0, 1), Decision::Reject { index: 0 }).unwrap();
        assert_eq!(out.session, at("S2", -1, 1));
        assert!(!out.machine_completed);
    }

    #[test]
    fn fail_threshold_rejects_at_once_including_equality() {
        let m = scoring_machine(); // fail_threshold -3
        let out = apply(&m, &at("S0", -1, 0), Decision::Reject { index: 1 }).unwrap();
        // -1 - 2 = -3 ≤ -3: rejected even though S1 is not terminal.
        assert_eq!(out.session.score, -3);
        assert_eq!(out.session.current_state, "S1");
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
        assert!(out.machine_completed);
        assert_eq!(
            out.happened,
            Happened::Ended {
                outcome: Outcome::Reject,
                reason: EndReason::FailThreshold,
                condition: Some("the player is rude".into())
            }
        );
        let out = apply(&m, &at("S0", 0, 0), Decision::Reject { index: 1 }).unwrap();
        assert_eq!(out.session.score, -2);
        assert_eq!(out.session.outcome, None);
    }

    #[test]
    fn fail_threshold_applies_to_redirect_penalties() {
        let m = scoring_machine();
        let mut s = start(&m);
        for expected in [-1, -2] {
            s = apply(&m, &s, Decision::Redirect { index: Some(2) })
                .unwrap()
                .session;
            assert_eq!((s.score, s.outcome), (expected, None));
        }
        let out = apply(&m, &s, Decision::Redirect { index: Some(2) }).unwrap();
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
        assert_eq!(out.session.redirect_count, 3);
        assert!(out.machine_completed);
    }

    #[test]
    fn no_fail_threshold_means_never() {
        let mut m = scoring_machine();
        m.fail_threshold = None;
        let out = apply(
            &m,
            &at("S0", -1000, 0),
            Decision::Redirect { index: Some(2) },
        )
        .unwrap();
        assert_eq!(out.session.outcome, None);
    }

    #[test]
    fn kick_out_ends_with_kick_out_in_both_modes() {
        let m = scoring_machine();
        // Even with a score that would otherwise pass, and below the fail threshold.
        for score in [10, -10] {
            let out = apply(&m, &at("S0", score, 0), Decision::KickOut { index: 4 }).unwrap();
            assert_eq!(out.session.current_state, "S_OUT");
            assert_eq!(out.session.score, score - 5);
            assert_eq!(out.session.outcome, Some(Outcome::KickOut));
            assert!(out.machine_completed);
            assert_eq!(out.decision.as_str(), "kick_out");
            assert!(matches!(
                out.happened,
                Happened::Ended {
                    outcome: Outcome::KickOut,
                    reason: EndReason::KickedOut,
                    ..
                }
            ));
        }
        let m = pass_fail_machine();
        let out = apply(&m, &at("P0", 0, 0), Decision::KickOut { index: 3 }).unwrap();
        assert_eq!(out.session.outcome, Some(Outcome::KickOut));
        assert_eq!(out.session.current_state, "P_OUT");
        assert_eq!(out.session.score, -1);
    }

    #[test]
    fn reject_in_pass_fail_mode_ends_with_reject_without_scoring() {
        let m = pass_fail_machine();
        let out = apply(&m, &at("P0", 0, 0), Decision::Reject { index: 2 }).unwrap();
        // P_LOST is terminal with outcome ACCEPT, but a reject is a reject.
        assert_eq!(out.session.current_state, "P_LOST");
        assert_eq!(out.session.score, 0);
        assert_eq!(out.score_delta, 0);
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
        assert!(matches!(
            out.happened,
            Happened::Ended {
                reason: EndReason::Rejected,
                ..
            }
        ));
    }

    #[test]
    fn reject_in_pass_fail_mode_ends_even_in_a_non_terminal_state() {
        let mut m = pass_fail_machine();
        m.transitions[2].to_state_key = "P0".into();
        let out = apply(&m, &at("P0", 0, 0), Decision::Reject { index: 2 }).unwrap();
        assert_eq!(out.session.current_state, "P0");
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
    }

    #[test]
    fn pass_fail_terminal_outcomes() {
        let m = pass_fail_machine();
        // P_WIN has no terminal_outcome: ACCEPT by default.
        let out = apply(&m, &at("P0", 0, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.current_state, "P_WIN");
        assert_eq!(out.session.outcome, Some(Outcome::Accept));
        // P_SNUB says REJECT; the score (which still adds up) does not matter.
        let out = apply(&m, &at("P0", 100, 0), Decision::Pass { index: 1 }).unwrap();
        assert_eq!(out.session.current_state, "P_SNUB");
        assert_eq!(out.session.score, 101);
        assert_eq!(out.session.outcome, Some(Outcome::Reject));
        assert!(out.machine_completed);
    }

    #[test]
    fn pass_fail_ignores_thresholds() {
        let mut m = pass_fail_machine();
        m.fail_threshold = Some(0);
        m.pass_threshold = Some(100);
        let out = apply(&m, &at("P0", -50, 0), Decision::Redirect { index: None }).unwrap();
        assert_eq!(out.session.outcome, None);
        let out = apply(&m, &at("P0", 0, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.outcome, Some(Outcome::Accept));
    }

    #[test]
    fn redirect_count_resets_on_state_change_only() {
        let m = scoring_machine();
        let mut s = start(&m);
        s = apply(&m, &s, Decision::Redirect { index: Some(3) })
            .unwrap()
            .session;
        s = apply(&m, &s, Decision::Redirect { index: Some(3) })
            .unwrap()
            .session;
        assert_eq!(s.redirect_count, 2);
        s = apply(&m, &s, Decision::FollowUp).unwrap().session;
        assert_eq!(s.redirect_count, 2, "a follow-up leaves the count alone");
        s = apply(&m, &s, Decision::Pass { index: 0 }).unwrap().session;
        assert_eq!((s.current_state.as_str(), s.redirect_count), ("S1", 0));
        s = apply(&m, &s, Decision::Redirect { index: None })
            .unwrap()
            .session;
        assert_eq!(s.redirect_count, 1);
        // A pass that loops back to the same state is not a state change.
        s = apply(&m, &s, Decision::Pass { index: 2 }).unwrap().session;
        assert_eq!((s.current_state.as_str(), s.redirect_count), ("S1", 1));
    }

    #[test]
    fn invalid_decisions_are_refused() {
        let m = scoring_machine();
        let s = start(&m);
        for d in [
            Decision::Pass { index: 1 },   // a reject transition
            Decision::Pass { index: 99 },  // no such candidate
            Decision::Reject { index: 0 }, // a pass transition
            Decision::KickOut { index: 2 },
            Decision::Redirect { index: Some(0) },
        ] {
            assert!(
                matches!(apply(&m, &s, d), Err(ApplyError::InvalidDecision(_))),
                "{d:?}"
            );
        }
    }

    #[test]
    fn ended_missing_and_terminal_states_are_refused() {
        let m = scoring_machine();
        let mut ended = start(&m);
        ended.outcome = Some(Outcome::Accept);
        assert_eq!(
            apply(&m, &ended, Decision::FollowUp),
            Err(ApplyError::SessionEnded(Outcome::Accept))
        );
        assert_eq!(
            apply(&m, &at("GONE", 0, 0), Decision::Redirect { index: None }),
            Err(ApplyError::UnknownState("GONE".into()))
        );
        assert_eq!(
            apply(&m, &at("S_END", 0, 0), Decision::Redirect { index: None }),
            Err(ApplyError::TerminalState("S_END".into()))
        );
        let mut broken = m.clone();
        broken.transitions[5].to_state_key = "VANISHED".into();
        assert_eq!(
            apply(&broken, &at("S0", 0, 0), Decision::Pass { index: 0 }),
            Err(ApplyError::UnknownState("VANISHED".into()))
        );
    }

    #[test]
    fn huge_deltas_saturate() {
        let mut m = scoring_machine();
        m.transitions[5].score_delta = i64::MAX; // "orders politely", candidate 0
        let out = apply(&m, &at("S0", 10, 0), Decision::Pass { index: 0 }).unwrap();
        assert_eq!(out.session.score, i64::MAX);
    }

    #[test]
    fn decision_helpers() {
        assert_eq!(Decision::Redirect { index: Some(3) }.index(), Some(3));
        assert_eq!(Decision::FollowUp.index(), None);
        assert_eq!(Decision::FollowUp.decision_type(), None);
        assert_eq!(
            Decision::for_transition(DecisionType::KickOut, 2),
            Decision::KickOut { index: 2 }
        );
        assert_eq!(Decision::Reject { index: 0 }.to_string(), "reject");
    }
}
