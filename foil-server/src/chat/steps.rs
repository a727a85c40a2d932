//! The LLM steps of a turn (personas.md §2): evaluate, respond, summarize, extract. Each
//! builds its prompt with `foil-engine`, then either calls the step's provider or — for the
//! built-in `offline` provider — answers locally and deterministically. Every call takes the
//! configured [`StepLimits`]: `llm_timeout_secs` (for streams it bounds the first byte and each
//! gap) and the step's generation limit, so a small model cannot ramble for tens of seconds.

use std::collections::BTreeMap;
use std::time::Duration;

use foil_engine::reply_guard::{cut_reply, inspect, ReplyLimiter, HEAD_CHARS};
use foil_engine::{
    eval_exact_schema, eval_json_schema_for, eval_prompt, extraction_json_schema,
    extraction_prompt, fit_prompt, offline_evaluation, offline_extract, offline_reply,
    offline_summary, parse_evaluation, parse_extraction, reply_prompt, summary_prompt, Decision,
    EvalContext, Evaluation, ExtractionContext, PromptMessage, ReplyContext, SummaryContext,
};
use foil_llm::{ChatMessage, ChatRequest, LlmClient, LlmError, StructuredOutput};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::llm::{Step, StepLlm};
use crate::db::sessions::{MessageRole, MessageRow};

/// The time and generation limits of the LLM calls (from the configuration).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepLimits {
    /// One call (for streams: the first byte and each gap).
    pub timeout: Duration,
    /// `max_tokens` of an evaluator answer.
    pub eval_tokens: u32,
    /// `max_tokens` of an NPC reply (and greeting).
    pub reply_tokens: u32,
    /// `max_tokens` of a summary or an output-variable extraction.
    pub summary_tokens: u32,
    /// Longest reply, in characters: longer ones are cut at a sentence end.
    pub reply_chars: usize,
    /// Estimated tokens a prompt may take (the past is trimmed to fit; see `fit_prompt`).
    pub prompt_tokens: usize,
}

fn to_llm(messages: Vec<PromptMessage>) -> Vec<ChatMessage> {
    messages
        .into_iter()
        .map(|m| match m.role {
            foil_engine::Role::System => ChatMessage::system(m.content),
            foil_engine::Role::User => ChatMessage::user(m.content),
            foil_engine::Role::Assistant => ChatMessage::assistant(m.content),
        })
        .collect()
}

/// Asks the evaluator for a decision and its reason. A bad answer is retried once with the
/// validation error; a second bad answer becomes a `redirect` (logged with a warning, and
/// explained in the reason). Provider failures are errors: the turn then changes nothing.
pub(crate) async fn evaluate(
    llm: &LlmClient,
    step: &StepLlm,
    limits: &StepLimits,
    ctx: &EvalContext<'_>,
) -> Result<Evaluation, LlmError> {
    let state_key = ctx.state.state_key.as_str();
    if step.is_offline() {
        return Ok(offline_evaluation(
            ctx.machine,
            state_key,
            ctx.player_message,
        ));
    }
    let mut messages = to_llm(fit_prompt(*ctx, limits.prompt_tokens, eval_prompt));
    // Only this state's legal answers: exactly (anyOf of pairs) for grammar-based decoders.
    let structured =
        StructuredOutput::new("evaluation", eval_json_schema_for(ctx.machine, state_key))
            .with_exact(eval_exact_schema(ctx.machine, state_key));
    let ask = |messages: Vec<ChatMessage>| {
        let request = ChatRequest::new(messages)
            .with_temperature(0.0)
            .with_max_tokens(limits.eval_tokens)
            .with_structured(structured.clone())
            .with_step(Step::Eval.as_str());
        async move { step.complete(llm, &request, limits.timeout).await }
    };
    let answer = ask(messages.clone()).await?;
    let problem = match parse_evaluation(ctx.machine, state_key, &answer) {
        Ok(evaluation) => return Ok(evaluation),
        Err(problem) => problem,
    };
    tracing::info!(%problem, "evaluator answer rejected; retrying once");
    messages.push(ChatMessage::assistant(answer));
    messages.push(ChatMessage::user(format!(
        "That answer is invalid: {problem}. Answer again with only the JSON object."
    )));
    let answer = ask(messages).await?;
    Ok(
        parse_evaluation(ctx.machine, state_key, &answer).unwrap_or_else(|problem| {
            tracing::warn!(%problem, "evaluator answered badly twice; treating the turn as a redirect");
            Evaluation {
                decision: Decision::Redirect { index: None },
                reason: Some(format!(
                    "fallback: the evaluator answered badly twice ({problem}), so the turn was treated as a redirect"
                )),
            }
        }),
    )
}

fn reply_request(ctx: &ReplyContext<'_>, limits: &StepLimits) -> ChatRequest {
    ChatRequest::new(to_llm(fit_prompt(*ctx, limits.prompt_tokens, reply_prompt)))
        .with_temperature(0.8)
        .with_max_tokens(limits.reply_tokens)
        .with_step(Step::Response.as_str())
}

fn offline_text(ctx: &ReplyContext<'_>) -> String {
    offline_reply(&ctx.persona.name, ctx.state, ctx.happened, ctx.vars)
}

/// The NPC's reply, whole. An empty reply, one that leaks JSON or speaks "as an AI" is asked
/// for again once, then replaced by the offline provider's line for the state; a long one is
/// cut at a sentence end (`limits.reply_chars`).
pub(crate) async fn reply(
    llm: &LlmClient,
    step: &StepLlm,
    limits: &StepLimits,
    ctx: &ReplyContext<'_>,
) -> Result<String, LlmError> {
    if step.is_offline() {
        return Ok(offline_text(ctx));
    }
    let request = reply_request(ctx, limits);
    for attempt in 1..=2 {
        let text = step.complete(llm, &request, limits.timeout).await?;
        match inspect(&text, true) {
            None => return Ok(cut_reply(text.trim(), limits.reply_chars)),
            Some(problem) => {
                tracing::info!(
                    problem = problem.as_str(),
                    attempt,
                    "unusable reply from the model"
                )
            }
        }
    }
    tracing::warn!("the model's reply was unusable twice; using the fallback line");
    Ok(offline_text(ctx))
}

/// The NPC's reply as text deltas. The request is sent (and its HTTP status checked) before
/// this returns, so a rejected key or a rate limit is an ordinary error, not a stream error.
/// The same checks as [`reply`]: the first [`HEAD_CHARS`] are held back and inspected (a bad
/// start is retried once, unseen by the player, then the fallback line is sent), and the
/// reply ends at a sentence end near `limits.reply_chars` (the provider stream is dropped,
/// which cancels it).
pub(crate) async fn reply_stream(
    llm: &LlmClient,
    step: &StepLlm,
    limits: &StepLimits,
    ctx: &ReplyContext<'_>,
) -> Result<BoxStream<'static, Result<String, LlmError>>, LlmError> {
    if step.is_offline() {
        // Word-sized deltas, like a provider's tokens.
        let text = offline_text(ctx);
        let mut pieces = Vec::new();
        let mut current = String::new();
        for ch in text.chars() {
            current.push(ch);
            if ch == ' ' {
                pieces.push(Ok(std::mem::take(&mut current)));
            }
        }
        if !current.is_empty() {
            pieces.push(Ok(current));
        }
        return Ok(stream::iter(pieces).boxed());
    }
    let request = reply_request(ctx, limits);
    let inner = step.stream(llm, &request, limits.timeout).await?;
    let guard = GuardedReply {
        llm: llm.clone(),
        step: step.clone(),
        request,
        timeout: limits.timeout,
        fallback: offline_text(ctx),
        limiter: ReplyLimiter::new(limits.reply_chars),
        inner: inner.boxed(),
        head: String::new(),
        held: Default::default(),
        checked: false,
        ended_in_head: false,
        started: false,
        failed: None,
        retried: false,
        done: false,
    };
    Ok(stream::unfold(guard, |mut guard| async move {
        let item = guard.next_piece().await?;
        Some((item, guard))
    })
    .boxed())
}

/// Longest a streamed reply's first words are held back for the check.
const HEAD_WAIT: Duration = Duration::from_millis(250);

/// A provider's reply stream with [`reply_stream`]'s checks applied.
struct GuardedReply {
    llm: LlmClient,
    step: StepLlm,
    request: ChatRequest,
    timeout: Duration,
    fallback: String,
    limiter: ReplyLimiter,
    inner: BoxStream<'static, Result<String, LlmError>>,
    /// The text held back for the check, and the same as the pieces it arrived in.
    head: String,
    held: std::collections::VecDeque<String>,
    checked: bool,
    /// The provider's stream ended while the head was held back.
    ended_in_head: bool,
    /// A non-blank piece has been sent.
    started: bool,
    /// The provider's stream failed while the head was held back: sent after the held pieces.
    failed: Option<LlmError>,
    retried: bool,
    done: bool,
}

impl GuardedReply {
    /// Ends the reply; dropping the provider stream cancels its request.
    fn finish(&mut self) {
        self.done = true;
        self.inner = stream::empty().boxed();
    }

    async fn next_piece(&mut self) -> Option<Result<String, LlmError>> {
        loop {
            if self.done {
                return None;
            }
            if !self.checked {
                // Hold back until HEAD_CHARS, but never longer than HEAD_WAIT after the first
                // words: a provider that pauses must not keep the player waiting.
                let mut deadline: Option<tokio::time::Instant> = None;
                let ended = loop {
                    if self.head.chars().count() >= HEAD_CHARS {
                        break false;
                    }
                    if deadline.is_none() && !self.head.trim().is_empty() {
                        deadline = Some(tokio::time::Instant::now() + HEAD_WAIT);
                    }
                    let next = match deadline {
                        None => self.inner.next().await,
                        Some(at) => match tokio::time::timeout_at(at, self.inner.next()).await {
                            Ok(next) => next,
                            Err(_) => break false,
                        },
                    };
                    match next {
                        Some(Ok(piece)) => {
                            self.head.push_str(&piece);
                            self.held.push_back(piece);
                        }
                        Some(Err(e)) => {
                            // The turn fails anyway: what arrived goes out, then the error
                            // (as without the check).
                            self.checked = true;
                            self.failed = Some(e);
                            break true;
                        }
                        None => break true,
                    }
                };
                match inspect(&self.head, ended).filter(|_| self.failed.is_none()) {
                    None => {
                        // Passed: the held-back pieces go out as the provider sent them.
                        self.checked = true;
                        self.head.clear();
                        self.ended_in_head = ended;
                        continue;
                    }
                    Some(problem) if !self.retried => {
                        tracing::info!(
                            problem = problem.as_str(),
                            "unusable streamed reply; asking again"
                        );
                        self.retried = true;
                        self.head.clear();
                        self.held.clear();
                        match self
                            .step
                            .stream(&self.llm, &self.request, self.timeout)
                            .await
                        {
                            Ok(again) => self.inner = again.boxed(),
                            Err(e) => {
                                self.finish();
                                return Some(Err(e));
                            }
                        }
                        continue;
                    }
                    Some(problem) => {
                        tracing::warn!(problem = problem.as_str(), "the model's streamed reply was unusable twice; using the fallback line");
                        let line = self.limiter.take(&self.fallback);
                        self.finish();
                        return Some(Ok(line));
                    }
                }
            }
            let next = match self.held.pop_front() {
                Some(piece) => Some(Ok(piece)),
                None if self.failed.is_some() => self.failed.take().map(Err),
                None if self.ended_in_head => None,
                None => self.inner.next().await,
            };
            match next {
                Some(Ok(piece)) => {
                    // Leading whitespace of the reply is dropped, as for whole replies.
                    let piece = if self.started {
                        piece
                    } else {
                        piece.trim_start().to_owned()
                    };
                    if piece.is_empty() {
                        continue;
                    }
                    self.started = true;
                    let out = self.limiter.take(&piece);
                    if self.limiter.stopped() {
                        self.finish();
                    }
                    if out.is_empty() {
                        continue;
                    }
                    return Some(Ok(out));
                }
                Some(Err(e)) => {
                    self.finish();
                    return Some(Err(e));
                }
                None => {
                    self.finish();
                    return None;
                }
            }
        }
    }
}

/// Folds older messages into the session summary.
pub(crate) async fn summarize(
    llm: &LlmClient,
    step: &StepLlm,
    limits: &StepLimits,
    ctx: &SummaryContext<'_>,
) -> Result<String, LlmError> {
    if step.is_offline() {
        return Ok(offline_summary(
            &ctx.persona.name,
            ctx.previous_summary,
            ctx.messages,
        ));
    }
    let request = ChatRequest::new(to_llm(summary_prompt(ctx)))
        .with_temperature(0.0)
        .with_max_tokens(limits.summary_tokens)
        .with_step(Step::Summarization.as_str());
    let text = step.complete(llm, &request, limits.timeout).await?;
    Ok(text.trim().to_string())
}

/// Extracts a finished machine's output variables. Unparseable answers yield no values (the
/// variables keep their previous values) rather than failing the turn.
pub(crate) async fn extract(
    llm: &LlmClient,
    step: &StepLlm,
    limits: &StepLimits,
    ctx: &ExtractionContext<'_>,
) -> Result<BTreeMap<String, String>, LlmError> {
    if ctx.machine.output_variables.is_empty() {
        return Ok(BTreeMap::new());
    }
    if step.is_offline() {
        return Ok(offline_extract(ctx.machine, ctx.messages));
    }
    let request = ChatRequest::new(to_llm(fit_prompt(
        *ctx,
        limits.prompt_tokens,
        extraction_prompt,
    )))
    .with_temperature(0.0)
    .with_max_tokens(limits.summary_tokens)
    .with_structured(StructuredOutput::new(
        "output_variables",
        extraction_json_schema(ctx.machine),
    ))
    .with_step(Step::Summarization.as_str());
    let text = step.complete(llm, &request, limits.timeout).await?;
    Ok(
        parse_extraction(ctx.machine, &text).unwrap_or_else(|problem| {
            tracing::warn!(%problem, "output variable extraction failed; keeping previous values");
            BTreeMap::new()
        }),
    )
}

/// Converts stored messages to prompt messages.
pub(crate) fn prompt_messages(rows: &[MessageRow]) -> Vec<PromptMessage> {
    rows.iter()
        .map(|m| match m.role {
            MessageRole::User => PromptMessage::user(m.content.clone()),
            MessageRole::Assistant => PromptMessage::assistant(m.content.clone()),
        })
        .collect()
}
