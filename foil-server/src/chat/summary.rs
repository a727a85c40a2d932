//! Folding old messages into the session summary, in the background after a turn, so it never
//! delays a reply.
//!
//! Bounded on every side: one summarization per session at a time (a later turn does not start
//! a second one; the running one goes round once more instead), at most [`BATCH`] messages read per run (a long backlog is folded over
//! several turns), the session's summary state read fresh when the task runs (a task that ran
//! late does not redo what another did), and a failing summarizer backs off per session
//! (30 s doubling to 30 min) instead of being retried on every turn.

use std::sync::Arc;

use foil_engine::{SummaryContext, TemplateVars};

use super::llm::LlmSelection;
use super::steps;
use super::steps::prompt_messages;
use crate::context::ApiContext;
use crate::db::personas::StoredPersona;
use crate::db::sessions::{self, Keep, SessionRow};

/// Most messages one summarization reads.
const BATCH: i64 = 200;

/// Starts folding `session`'s old messages when its unsummarized history outgrows the window.
pub(crate) fn spawn(
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
