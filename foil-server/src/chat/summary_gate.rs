//! Which sessions are being summarized and which failed recently: at most one summarization
//! per session at a time (a turn arriving meanwhile makes the running one go round again), and
//! a failing summarizer backs off per session (30 s doubling to 30 min). State only; the runs
//! themselves are in `chat::summary`.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use uuid::Uuid;

const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// Bound on the sessions [`SummaryGate`] remembers; past it, idle entries are forgotten.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy, Default)]
struct Attempts {
    running: bool,
    /// A turn asked for a run while one was running: the running one goes round once more
    /// (with a fresh read), so the fold that turn needed is not skipped.
    again: bool,
    failures: u32,
    retry_at: Option<Instant>,
}

/// Which sessions are being summarized, and which failed recently.
#[derive(Default)]
pub struct SummaryGate {
    sessions: DashMap<Uuid, Attempts>,
}

/// A running summarization; records how it ended when dropped.
pub(crate) struct Running<'a> {
    gate: &'a SummaryGate,
    session: Uuid,
    /// Set by the run when it failed: the session then backs off.
    pub(crate) failed: bool,
}

impl SummaryGate {
    /// `None` when this session is being summarized already or is backing off.
    pub(crate) fn start(&self, session: Uuid) -> Option<Running<'_>> {
        if self.sessions.len() >= MAX_TRACKED {
            self.sessions.retain(|_, a| a.running);
        }
        let mut entry = self.sessions.entry(session).or_default();
        let now = Instant::now();
        if entry.running {
            entry.again = true;
            return None;
        }
        if entry.retry_at.is_some_and(|at| at > now) {
            return None;
        }
        entry.running = true;
        Some(Running {
            gate: self,
            session,
            failed: false,
        })
    }

    /// Failures in a row for `session` (for tests and logs).
    pub fn failures(&self, session: Uuid) -> u32 {
        self.sessions.get(&session).map_or(0, |a| a.failures)
    }
}

impl Running<'_> {
    /// Whether a turn asked for another run while this one ran (and clears the request).
    pub(crate) fn wanted_again(&self) -> bool {
        self.gate
            .sessions
            .get_mut(&self.session)
            .is_some_and(|mut a| std::mem::take(&mut a.again))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.failed {
            // A request that arrived after the last `wanted_again` is dropped with the entry:
            // the next turn asks again.
            self.gate.sessions.remove(&self.session);
            return;
        }
        if let Some(mut a) = self.gate.sessions.get_mut(&self.session) {
            a.running = false;
            a.again = false;
            a.failures = a.failures.saturating_add(1);
            let backoff = FIRST_BACKOFF
                .saturating_mul(2u32.saturating_pow(a.failures - 1))
                .min(MAX_BACKOFF);
            a.retry_at = Some(Instant::now() + backoff);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_during_a_run_makes_the_run_go_round_again() {
        let gate = SummaryGate::default();
        let session = Uuid::new_v4();
        let running = gate.start(session).expect("nothing runs yet");
        assert!(!running.wanted_again(), "nobody asked");
        assert!(gate.start(session).is_none(), "one run per session");
        assert!(running.wanted_again(), "the turn's request is kept");
        assert!(!running.wanted_again(), "and taken once");
        drop(running);
        assert!(gate.start(session).is_some(), "free again after the run");
    }

    #[test]
    fn a_failed_run_backs_off() {
        let gate = SummaryGate::default();
        let session = Uuid::new_v4();
        let mut running = gate.start(session).unwrap();
        assert!(gate.start(session).is_none());
        running.failed = true;
        drop(running);
        assert_eq!(gate.failures(session), 1);
        assert!(gate.start(session).is_none(), "backing off");
    }
}
