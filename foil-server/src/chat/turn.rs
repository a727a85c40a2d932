//! One turn (personas.md §2): load → claim → evaluate → apply → complete → respond → commit →
//! summarize later.
//!
//! A turn claims its session in the database (`session_busy` for a second turn, across
//! instances), holds no lock or transaction while the LLM works, and writes everything in one
//! transaction at the end. If it fails or the client goes away before that, the claim is
//! released and nothing was written: the player can simply resend.

use std::collections::BTreeMap;
use std::sync::Arc;

use foil_engine::{
    apply, fired_links, ApplyError, Decision, EvalContext, Evaluation, ExtractionContext, Happened,
    PromptMessage, ReplyContext, SessionState, TemplateVars, TurnOutcome,
};
use foil_types::persona::{Machine, Outcome};
use foil_types::wire::{ChatResponse, PlayerGender, UnlockedMachine};
use uuid::Uuid;

use super::llm::LlmSelection;
use super::steps;
use crate::context::ApiContext;
use crate::db::personas::StoredPersona;
use crate::db::sessions::{
    self, MessageRole, NewMessage, PlayerKey, Scope, SessionRow, TurnCommit,
};
use crate::error::{ApiError, ErrorCode};

/// Most memories of earlier sessions kept per player × persona.
const MAX_MEMORIES: usize = 10;

/// A turn's hold on its session. It lasts `turn_claim_ttl_secs` and is renewed every third of
/// that while the turn runs, so a turn of a process that died (`kill -9`, a lost machine)
/// frees its session within one lifetime, on every instance. Failure paths call
/// [`release`](Self::release) and await it, so the player hears of the failure only once a
/// resend can claim the session; when the turn is cancelled or panics instead, dropping the
/// claim releases it in the background.
pub(crate) struct TurnClaim {
    ctx: ApiContext,
    session_id: Uuid,
    token: String,
    done: bool,
    renewal: Option<tokio::task::AbortHandle>,
}

fn claim_ttl(ctx: &ApiContext) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(ctx.config.turn_claim_ttl_secs.max(1)).unwrap_or(30))
}

impl TurnClaim {
    /// Claims `session_id`; `Err(session_busy)` when another turn holds it.
    pub(crate) async fn acquire(ctx: &ApiContext, session_id: Uuid) -> Result<Self, ApiError> {
        let token = Uuid::new_v4().to_string();
        let ttl = claim_ttl(ctx);
        let expires = crate::db::format_time(chrono::Utc::now() + ttl);
        if !sessions::claim_turn(&ctx.db, session_id, &token, &expires).await? {
            return Err(busy());
        }
        let renewal = {
            let (db, token) = (ctx.db.clone(), token.clone());
            let every = (ttl / 3)
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(10));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let expires = crate::db::format_time(chrono::Utc::now() + ttl);
                    match sessions::renew_turn(&db, session_id, &token, &expires).await {
                        Ok(true) => {}
                        // Released or committed meanwhile: nothing left to hold.
                        Ok(false) => return,
                        // The next try may work; the claim lasts a whole lifetime meanwhile.
                        Err(e) => tracing::warn!(error = %e, "could not renew a turn claim"),
                    }
                }
            })
            .abort_handle()
        };
        Ok(TurnClaim {
            ctx: ctx.clone(),
            session_id,
            token,
            done: false,
            renewal: Some(renewal),
        })
    }

    /// Gives the session back without writing anything (once; later calls do nothing).
    pub(crate) async fn release(&mut self) {
        self.stop_renewing();
        if !std::mem::replace(&mut self.done, true) {
            release_claim(&self.ctx.db, self.session_id, &self.token).await;
        }
    }

    /// Stops extending the claim (the turn's commit or release ends it).
    fn stop_renewing(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }

    /// Passes `result` through, giving the session back first when it is an error.
    pub(crate) async fn release_on_err<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() {
            self.release().await;
        }
        result
    }
}

impl Drop for TurnClaim {
    fn drop(&mut self) {
        self.stop_renewing();
        if self.done {
            return;
        }
        let db = self.ctx.db.clone();
        let (id, token) = (self.session_id, std::mem::take(&mut self.token));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { release_claim(&db, id, &token).await });
        }
    }
}

async fn release_claim(db: &crate::db::Db, session_id: Uuid, token: &str) {
    if let Err(e) = sessions::release_turn(db, session_id, token).await {
        // The claim lapses by itself after turn_claim_ttl_secs.
        tracing::warn!(error = %e, "could not release a turn claim");
    }
}

pub(crate) fn busy() -> ApiError {
    ApiError::conflict(
        ErrorCode::SessionBusy,
        "Another message for this session is being processed",
    )
}

pub(crate) fn ended() -> ApiError {
    ApiError::conflict(ErrorCode::SessionEnded, "This session has ended")
}

/// What the player knows between sessions: output variables and memories.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlayerMemory {
    pub variables: BTreeMap<String, String>,
    pub memories: Vec<String>,
}

impl PlayerMemory {
    pub(crate) async fn load(ctx: &ApiContext, player: &PlayerKey<'_>) -> Result<Self, ApiError> {
        let Some((variables, memories)) = sessions::memory(&ctx.db, player).await? else {
            return Ok(Self::default());
        };
        // Stored by us; unreadable JSON would be a bug, so start over rather than fail turns.
        Ok(PlayerMemory {
            variables: serde_json::from_str(&variables).unwrap_or_default(),
            memories: serde_json::from_str(&memories).unwrap_or_default(),
        })
    }

    pub(crate) fn template_vars(
        &self,
        persona: &StoredPersona,
        player_name: &str,
        player_gender: PlayerGender,
    ) -> TemplateVars {
        TemplateVars::new(player_name, player_gender.as_str())
            .with_persona_defaults(&persona.document)
            .with_vars(self.variables.clone())
    }
}

/// A turn that has been evaluated and applied but not yet answered or written.
pub(crate) struct PreparedTurn {
    pub ctx: ApiContext,
    pub scope: Scope,
    pub persona: Arc<StoredPersona>,
    pub machine_key: String,
    pub session: SessionRow,
    pub selection: LlmSelection,
    pub player_message: String,
    pub outcome: TurnOutcome,
    pub unlocked: Vec<UnlockedMachine>,
    pub memory: PlayerMemory,
    pub vars: TemplateVars,
    pub recent: Vec<PromptMessage>,
    /// Whether the messages not yet folded into the summary, with this turn's two, still fit
    /// the summary window — then the turn needs no summary run (nor its two queries).
    fits_summary_window: bool,
    /// Why the evaluator decided as it did; stored with the player's message for the creator.
    pub evaluator_reason: Option<String>,
    claim: TurnClaim,
}

/// Loads, claims, evaluates and applies a player's message.
pub(crate) async fn prepare(
    ctx: &ApiContext,
    scope: Scope,
    persona: Arc<StoredPersona>,
    session: SessionRow,
    player_message: String,
    selection: LlmSelection,
) -> Result<PreparedTurn, ApiError> {
    if session.outcome.is_some() {
        return Err(ended());
    }
    let machine_key = persona
        .machine_key(session.machine_id)
        .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))?
        .to_string();
    let machine = machine_of(&persona, &machine_key)?;
    let Some(state) = machine.state(&session.current_state) else {
        // The creator replaced the persona and this session's state is gone: end it, keeping
        // its history, instead of failing every later message.
        tracing::info!(session_id = %session.id, state = %session.current_state, "session state no longer exists; ending the session");
        sessions::end_stale(&ctx.db, session.id, Outcome::Reject).await?;
        return Err(ApiError::conflict(
            ErrorCode::SessionEnded,
            "This scenario was changed by its creator, so this session has ended; start a new one",
        ));
    };
    let mut claim = TurnClaim::acquire(ctx, session.id).await?;
    let decided = async {
        let memory = PlayerMemory::load(ctx, &session.player(scope)).await?;
        let vars = memory.template_vars(&persona, &session.player_name, session.player_gender);
        let rows = sessions::messages(
            &ctx.db,
            session.id,
            session.summarized_seq,
            ctx.config.summary_window as i64,
        )
        .await?;
        let recent = steps::prompt_messages(&rows);
        // `rows` holds at most `limit` of the unsummarised messages: fewer means all of them.
        let limit = ctx.config.summary_window;
        let fits_summary_window = rows.len() < limit && rows.len() + 2 <= limit.max(2);

        let eval_ctx = EvalContext {
            persona: &persona.document.persona,
            machine,
            state,
            vars: &vars,
            summary: session.summary.as_deref(),
            recent: &recent,
            player_message: &player_message,
        };
        let Evaluation { decision, reason } =
            steps::evaluate(&ctx.llm, &selection.eval, &ctx.llm_limits(), &eval_ctx).await?;
        let before = SessionState {
            current_state: session.current_state.clone(),
            score: session.score,
            redirect_count: session.redirect_count,
            outcome: None,
        };
        let outcome = match apply(machine, &before, decision) {
            Ok(outcome) => outcome,
            // Only reachable if the evaluator's validation and the decision table disagree.
            Err(ApplyError::InvalidDecision(problem)) => {
                tracing::warn!(%problem, "decision could not be applied; treating the turn as a redirect");
                apply(machine, &before, Decision::Redirect { index: None })
                    .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?
            }
            Err(e) => return Err(ApiError::internal(anyhow::anyhow!("{e}"))),
        };
        let unlocked = match outcome.session.outcome {
            Some(result) if outcome.machine_completed => {
                unlocked_machines(&persona, &machine_key, result, outcome.session.score)
            }
            _ => Vec::new(),
        };
        Ok::<_, ApiError>((
            memory,
            vars,
            (recent, fits_summary_window),
            outcome,
            unlocked,
            reason,
        ))
    }
    .await;
    let (memory, vars, (recent, fits_summary_window), outcome, unlocked, evaluator_reason) =
        claim.release_on_err(decided).await?;
    Ok(PreparedTurn {
        ctx: ctx.clone(),
        scope,
        persona,
        machine_key,
        session,
        selection,
        player_message,
        outcome,
        unlocked,
        memory,
        vars,
        recent,
        fits_summary_window,
        evaluator_reason,
        claim,
    })
}

fn machine_of<'p>(persona: &'p StoredPersona, key: &str) -> Result<&'p Machine, ApiError> {
    persona
        .document
        .machine(key)
        .ok_or_else(|| ApiError::not_found(ErrorCode::MachineNotFound, "Machine not found"))
}

fn unlocked_machines(
    persona: &StoredPersona,
    machine_key: &str,
    outcome: Outcome,
    score: i64,
) -> Vec<UnlockedMachine> {
    let mut unlocked: Vec<UnlockedMachine> = Vec::new();
    for link in fired_links(&persona.document, machine_key, outcome, score) {
        let (Some(target), Some(id)) = (
            persona.document.machine(&link.to_machine_key),
            persona.machine_id(&link.to_machine_key),
        ) else {
            continue;
        };
        match unlocked.iter_mut().find(|u| u.machine_id == id) {
            // Two links to one machine: auto-advance if either says so.
            Some(existing) => existing.is_auto_advance |= link.is_auto_advance,
            None => unlocked.push(UnlockedMachine {
                machine_id: id,
                machine_key: target.machine_key.clone(),
                name: target.name.clone(),
                is_auto_advance: link.is_auto_advance,
            }),
        }
    }
    unlocked
}

impl PreparedTurn {
    pub(crate) fn machine(&self) -> &Machine {
        self.persona
            .document
            .machine(&self.machine_key)
            .expect("checked in prepare")
    }

    /// The prompt context of the reply, in the state the turn moved to.
    pub(crate) fn reply_context(&self) -> ReplyContext<'_> {
        let machine = self.machine();
        let state = machine
            .state(&self.outcome.session.current_state)
            .or_else(|| machine.state(&self.session.current_state))
            .expect("apply only moves to existing states");
        ReplyContext {
            persona: &self.persona.document.persona,
            machine,
            state,
            vars: &self.vars,
            happened: Some(&self.outcome.happened),
            memories: &self.memory.memories,
            summary: self.session.summary.as_deref(),
            recent: &self.recent,
            player_message: Some(&self.player_message),
        }
    }

    /// The response without its message (also the stream's `metadata` frame).
    pub(crate) fn response(&self, message: String) -> ChatResponse {
        let s = &self.outcome.session;
        ChatResponse {
            message,
            current_state: s.current_state.clone(),
            score: s.score,
            outcome: s.outcome.map(|o| o.as_str().to_string()),
            decision: Some(self.outcome.decision.as_str().to_string()),
            follow_up: self.outcome.follow_up,
            session_id: self.session.id,
            scoring_mode: self.machine().scoring_mode.as_str().to_string(),
            redirect_count: Some(s.redirect_count),
            machine_completed: self.outcome.machine_completed,
            unlocked_machines: self.unlocked.clone(),
        }
    }

    /// Drops what only the reply's prompt needed, once the reply is under way: a stream can
    /// stay open for minutes, and the recent messages are the turn's largest part. Kept when
    /// the machine completed this turn ([`PreparedTurn::extract_variables`] reads them).
    pub(crate) fn release_prompt(&mut self) {
        if !self.outcome.machine_completed {
            self.recent = Vec::new();
        }
    }

    /// Output variables of a machine that just completed (empty otherwise).
    pub(crate) async fn extract_variables(&self) -> BTreeMap<String, String> {
        if !self.outcome.machine_completed {
            return BTreeMap::new();
        }
        let mut conversation = self.recent.clone();
        conversation.push(PromptMessage::user(self.player_message.clone()));
        let ctx = ExtractionContext {
            persona: &self.persona.document.persona,
            machine: self.machine(),
            vars: &self.vars,
            summary: self.session.summary.as_deref(),
            messages: &conversation,
        };
        match steps::extract(
            &self.ctx.llm,
            &self.selection.summarization,
            &self.ctx.llm_limits(),
            &ctx,
        )
        .await
        {
            Ok(values) => values,
            Err(e) => {
                // Variables are a bonus; a failed extraction must not lose the turn.
                tracing::warn!(error = %e, "output variable extraction failed");
                BTreeMap::new()
            }
        }
    }

    /// Gives up the turn: nothing is written and the session is free for a resend.
    pub(crate) async fn abandon(mut self) {
        self.claim.release().await;
    }

    /// Passes `result` through, [abandoning](Self::abandon) the turn first when it is an error.
    pub(crate) async fn abandon_on_err<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        self.claim.release_on_err(result).await
    }

    /// Writes the turn in one transaction and returns the response.
    pub(crate) async fn commit(
        mut self,
        reply: String,
        extracted: BTreeMap<String, String>,
    ) -> Result<ChatResponse, ApiError> {
        let response = self.response(reply.clone());
        let s = &self.outcome.session;
        let memory = s.outcome.map(|outcome| {
            let mut memory = self.memory.clone();
            memory.variables.extend(extracted);
            memory.memories.push(self.memory_line(outcome));
            let excess = memory.memories.len().saturating_sub(MAX_MEMORIES);
            memory.memories.drain(..excess);
            (
                serde_json::to_string(&memory.variables).unwrap_or_else(|_| "{}".into()),
                serde_json::to_string(&memory.memories).unwrap_or_else(|_| "[]".into()),
            )
        });
        let unlocked_ids: Vec<Uuid> = self.unlocked.iter().map(|u| u.machine_id).collect();
        let decision = Some(self.outcome.decision.as_str().to_string());
        let committed = sessions::commit_turn(
            &self.ctx.db,
            TurnCommit {
                scope: self.scope,
                session: &self.session,
                token: &self.claim.token,
                player_message: NewMessage {
                    role: MessageRole::User,
                    content: self.player_message.clone(),
                    state_key_at_time: Some(self.session.current_state.clone()),
                    score_at_time: Some(self.session.score),
                    decision: decision.clone(),
                    follow_up_triggered: false,
                    evaluator_reason: self.evaluator_reason.take(),
                },
                reply: NewMessage {
                    role: MessageRole::Assistant,
                    content: reply,
                    state_key_at_time: Some(s.current_state.clone()),
                    score_at_time: Some(s.score),
                    decision,
                    follow_up_triggered: self.outcome.follow_up,
                    evaluator_reason: None,
                },
                current_state: &s.current_state,
                score: s.score,
                redirect_count: s.redirect_count,
                outcome: s.outcome,
                unlocked: &unlocked_ids,
                memory,
            },
        )
        .await;
        let committed = self.claim.release_on_err(committed).await?;
        if !committed {
            // The session was started over or reset while this turn ran.
            return Err(busy());
        }
        self.claim.done = true;
        if let Some(meter) = &self.selection.response.meter {
            meter.turn(&self.selection.response.route);
        }
        if !self.fits_summary_window {
            super::summary::spawn(
                &self.ctx,
                &self.persona,
                &self.machine_key,
                &self.session,
                &self.selection,
            );
        }
        Ok(response)
    }

    /// A one-line memory of the finished session, fed to later sessions with this persona.
    fn memory_line(&self, outcome: Outcome) -> String {
        let verdict = match outcome {
            Outcome::Accept => "succeeded",
            Outcome::Reject => "failed",
            Outcome::KickOut => "was thrown out",
        };
        let happened = match &self.outcome.happened {
            Happened::Ended {
                condition: Some(c), ..
            } => format!(" ({c})"),
            _ => String::new(),
        };
        format!(
            "In \"{}\" the player {verdict} with a score of {}{happened}.",
            self.machine().name,
            self.outcome.session.score
        )
    }
}
