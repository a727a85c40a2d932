//! Folding old messages into the session summary, in the background after a turn, so it never
//! delays a reply.
//!
//! Bounded on every side: one summarization per session at a time (a later turn does not start
//! a second one; the running one goes round once more instead), at most [`BATCH`] messages read per run (a long backlog is folded over
//! several turns), the session's summary state read fresh when the task runs (a task that ran
//! late does not redo what another did), and a failing summarizer backs off per session
//! (30 s doubling to 30 min) instead of being retried on every turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use foil_engine::{SummaryContext, TemplateVars};
use uuid::Uuid;

use super::llm::LlmSelection;
use super::steps;
use super::turn::prompt_messages;
use crate::context::ApiContext;
use crate::db::personas::StoredPersona;
use crate::db::sessions::{self, Keep, SessionRow};

/// Most messages one summarization reads.
const BATCH: i64 = 200;
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
struct Running<'a> {
    gate: &'a SummaryGate,
    session: Uuid,
    failed: bool,
}

impl SummaryGate {
    /// `None` when this session is being summarized already or is backing off.
    fn start(&self, session: Uuid) -> Option<Running<'_>> {
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
    fn wanted_again(&self) -> bool {
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

/// Starts folding `session`'s old messages when its unsummarized history outgrows the window.
pub fn spawn(
    ctx: &ApiContext,
    persona: &Arc<StoredPersona>,
    machine_key: &str,
    session: &SessionRow,
    selection: &LlmSelection,
) {
    let (ctx, persona, machine_key, session, selection) = (
        ctx.clone(),
        persona.clone(),
        machine_key.to_string(),
        session.clone(),
        selection.clone(),
    );
    tokio::spawn(async move {
        let Some(mut running) = ctx.summaries.start(session.id) else {
            return;
        };
        loop {
            running.failed = !summarize(&ctx, &persona, &machine_key, &session, &selection).await;
            if running.failed || !running.wanted_again() {
                break;
            }
        }
        if running.failed {
            tracing::warn!(
                session_id = %session.id,
                failures = ctx.summaries.failures(session.id) + 1,
                "summary failed; backing off before the next try"
            );
        }
    });
}

/// One summarization run; `false` when it failed (and should back off).
async fn summarize(
    ctx: &ApiContext,
    persona: &StoredPersona,
    machine_key: &str,
    session: &SessionRow,
    selection: &LlmSelection,
) -> bool {
    let window = ctx.config.summary_window.max(2) as i64;
    // Fresh: another run may have folded messages since this turn began.
    let (previous_summary, summarized_seq) =
        match sessions::summary_state(&ctx.db, session.id).await {
            Ok(Some(state)) => state,
            Ok(None) => return true, // the session is gone
            Err(e) => {
                tracing::warn!(error = %e, "summary: cannot read the session");
                return false;
            }
        };
    let batch = BATCH.max(window * 2);
    let rows = match sessions::messages_between(
        &ctx.db,
        session.id,
        summarized_seq,
        i64::MAX,
        batch,
        Keep::Oldest,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "summary: cannot read messages");
            return false;
        }
    };
    if (rows.len() as i64) <= window {
        return true;
    }
    // Keep the newest half-window verbatim and fold the rest; with a full batch there are more
    // messages after it, so the whole batch is folded.
    let fold = if (rows.len() as i64) < batch {
        rows.len() - (window as usize / 2)
    } else {
        rows.len()
    };
    let folded = &rows[..fold];
    let upto = folded.last().map_or(summarized_seq, |m| m.seq);
    let Some(machine) = persona.document.machine(machine_key) else {
        return true;
    };
    let vars = TemplateVars::new(&session.player_name, session.player_gender.as_str())
        .with_persona_defaults(&persona.document);
    let messages = prompt_messages(folded);
    let summary_ctx = SummaryContext {
        persona: &persona.document.persona,
        machine,
        vars: &vars,
        previous_summary: previous_summary.as_deref(),
        messages: &messages,
    };
    match steps::summarize(
        &ctx.llm,
        &selection.summarization,
        &ctx.llm_limits(),
        &summary_ctx,
    )
    .await
    {
        Ok(summary) => {
            if let Err(e) =
                sessions::save_summary(&ctx.db, session.id, &summary, summarized_seq, upto).await
            {
                tracing::warn!(error = %e, "summary: cannot store");
                return false;
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "summary: the summarizer failed");
            false
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
