//! The LLM steps of a turn (personas.md §2): evaluate, respond, summarize, extract. Each
//! builds its prompt with `foil-engine`, then either calls the step's provider or — for the
//! built-in `offline` provider — answers locally and deterministically. Every call takes the
//! configured `llm_timeout_secs`; for streams it bounds the first byte and each gap.

use std::collections::BTreeMap;
use std::time::Duration;

use foil_engine::{
    eval_exact_schema, eval_json_schema_for, eval_prompt, extraction_json_schema,
    extraction_prompt, offline_evaluation, offline_extract, offline_reply, offline_summary,
    parse_evaluation, parse_extraction, reply_prompt, summary_prompt, Decision, EvalContext,
    Evaluation, ExtractionContext, PromptMessage, ReplyContext, SummaryContext,
};
use foil_llm::{ChatMessage, ChatRequest, LlmClient, LlmError, StructuredOutput};
use futures_util::stream::{self, BoxStream, StreamExt};

use super::llm::{Step, StepLlm};

/// Most tokens a reply may use.
const MAX_REPLY_TOKENS: u32 = 600;

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
pub async fn evaluate(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: Duration,
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
    let mut messages = to_llm(eval_prompt(ctx));
    // Only this state's legal answers: exactly (anyOf of pairs) for grammar-based decoders.
    let structured =
        StructuredOutput::new("evaluation", eval_json_schema_for(ctx.machine, state_key))
            .with_exact(eval_exact_schema(ctx.machine, state_key));
    let ask = |messages: Vec<ChatMessage>| {
        let request = ChatRequest::new(messages)
            .with_temperature(0.0)
            .with_max_tokens(300)
            .with_structured(structured.clone())
            .with_step(Step::Eval.as_str());
        async move {
            llm.complete(&step.route, step.key.as_ref(), &request, timeout)
                .await
        }
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

fn reply_request(ctx: &ReplyContext<'_>) -> ChatRequest {
    ChatRequest::new(to_llm(reply_prompt(ctx)))
        .with_temperature(0.8)
        .with_max_tokens(MAX_REPLY_TOKENS)
        .with_step(Step::Response.as_str())
}

fn offline_text(ctx: &ReplyContext<'_>) -> String {
    offline_reply(&ctx.persona.name, ctx.state, ctx.happened, ctx.vars)
}

/// The NPC's reply, whole.
pub async fn reply(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: Duration,
    ctx: &ReplyContext<'_>,
) -> Result<String, LlmError> {
    if step.is_offline() {
        return Ok(offline_text(ctx));
    }
    let text = llm
        .complete(&step.route, step.key.as_ref(), &reply_request(ctx), timeout)
        .await?;
    Ok(text.trim().to_string())
}

/// The NPC's reply as text deltas. The request is sent (and its HTTP status checked) before
/// this returns, so a rejected key or a rate limit is an ordinary error, not a stream error.
pub async fn reply_stream(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: Duration,
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
    let stream = llm
        .stream(&step.route, step.key.as_ref(), &reply_request(ctx), timeout)
        .await?;
    Ok(stream.boxed())
}

/// Folds older messages into the session summary.
pub async fn summarize(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: Duration,
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
        .with_max_tokens(500)
        .with_step(Step::Summarization.as_str());
    let text = llm
        .complete(&step.route, step.key.as_ref(), &request, timeout)
        .await?;
    Ok(text.trim().to_string())
}

/// Extracts a finished machine's output variables. Unparseable answers yield no values (the
/// variables keep their previous values) rather than failing the turn.
pub async fn extract(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: Duration,
    ctx: &ExtractionContext<'_>,
) -> Result<BTreeMap<String, String>, LlmError> {
    if ctx.machine.output_variables.is_empty() {
        return Ok(BTreeMap::new());
    }
    if step.is_offline() {
        return Ok(offline_extract(ctx.machine, ctx.messages));
    }
    let request = ChatRequest::new(to_llm(extraction_prompt(ctx)))
        .with_temperature(0.0)
        .with_max_tokens(500)
        .with_structured(StructuredOutput::new(
            "output_variables",
            extraction_json_schema(ctx.machine),
        ))
        .with_step(Step::Summarization.as_str());
    let text = llm
        .complete(&step.route, step.key.as_ref(), &request, timeout)
        .await?;
    Ok(
        parse_extraction(ctx.machine, &text).unwrap_or_else(|problem| {
            tracing::warn!(%problem, "output variable extraction failed; keeping previous values");
            BTreeMap::new()
        }),
    )
}
