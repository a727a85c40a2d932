//! LLM usage accounting and daily budgets (issue 13).
//!
//! Every LLM call is recorded with its tokens (the provider's `usage` fields, else an estimate
//! from the text), latency, step, model, and whom it served (account, API key, persona). Counts
//! are summed in memory and written to `llm_usage_daily` every [`FLUSH_INTERVAL`] and before a
//! report, so a turn costs no extra database round trip. Budgets read the stored day plus what
//! is not written yet; with several instances, each sees the others' usage once it is flushed,
//! so a budget may be overshot by what the instances do within one interval.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use foil_engine::{estimate_chars_tokens, estimate_text_tokens};
use foil_llm::{ChatRequest, LlmError, LlmStream, Route, Usage};
use futures_util::Stream;
use uuid::Uuid;

use crate::config::Config;
use crate::db::usage::{Payer, UsageCounts, UsageKey};
use crate::db::{self, Db};
use crate::error::ApiError;

/// How often pending counts are written.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Whom an LLM call served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attribution {
    pub account: Uuid,
    /// The API key of an SDK call.
    pub api_key: Option<Uuid>,
    pub persona: Option<Uuid>,
}

/// Sums usage in memory and writes it in batches.
pub(crate) struct UsageRecorder {
    db: Db,
    pending: Mutex<HashMap<UsageKey, UsageCounts>>,
}

/// Today, UTC, as stored.
fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

impl UsageRecorder {
    pub(crate) fn new(db: Db) -> Arc<Self> {
        Arc::new(UsageRecorder {
            db,
            pending: Mutex::new(HashMap::new()),
        })
    }

    fn add(&self, key: UsageKey, counts: UsageCounts) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        *pending.entry(key).or_default() += counts;
    }

    /// Writes what is pending. On failure the counts are kept for the next attempt.
    pub(crate) async fn flush(&self) -> Result<(), sqlx::Error> {
        let batch: Vec<(UsageKey, UsageCounts)> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.drain().collect()
        };
        if let Err(e) = db::usage::add(&self.db, &batch).await {
            for (key, counts) in batch {
                self.add(key, counts);
            }
            return Err(e);
        }
        Ok(())
    }

    /// A payer's usage today: stored plus pending.
    pub(crate) async fn today(&self, payer: Payer) -> Result<UsageCounts, sqlx::Error> {
        let day = today();
        let mut total = db::usage::day_totals(&self.db, payer, &day).await?;
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, counts) in pending.iter() {
            let matches = match payer {
                Payer::Account(id) => key.user_id == id,
                Payer::Key(id) => key.api_key_id == Some(id),
            };
            if matches && key.day == day {
                total += *counts;
            }
        }
        Ok(total)
    }
}

/// Flushes `recorder` every [`FLUSH_INTERVAL`] for as long as it is alive.
pub(crate) fn spawn_flushing(recorder: &Arc<UsageRecorder>) -> tokio::task::JoinHandle<()> {
    let recorder: Weak<UsageRecorder> = Arc::downgrade(recorder);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(recorder) = recorder.upgrade() else {
                return;
            };
            if let Err(e) = recorder.flush().await {
                tracing::warn!(error = %e, "could not write LLM usage; will retry");
            }
        }
    })
}

/// Records the calls made for one [`Attribution`].
#[derive(Clone)]
pub(crate) struct Meter {
    recorder: Arc<UsageRecorder>,
    who: Attribution,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter").field("who", &self.who).finish()
    }
}

impl Meter {
    pub(crate) fn new(recorder: Arc<UsageRecorder>, who: Attribution) -> Self {
        Meter { recorder, who }
    }

    fn key(&self, route: &Route, step: &'static str) -> UsageKey {
        UsageKey {
            day: today(),
            user_id: self.who.account,
            api_key_id: self.who.api_key,
            persona_id: self.who.persona,
            provider: route.provider_name().to_owned(),
            model: route.model.clone(),
            step,
        }
    }

    /// One finished call of `step`: the provider's `reported` usage, else `estimate()`.
    pub(crate) fn call(
        &self,
        route: &Route,
        step: &'static str,
        reported: Option<Usage>,
        estimate: impl FnOnce() -> Usage,
        latency: Duration,
    ) {
        let usage = reported.unwrap_or_else(estimate);
        let provider = route.provider_name().to_owned();
        metrics::counter!("foil_llm_tokens_total", "provider" => provider.clone(), "step" => step, "direction" => "input")
            .increment(usage.input_tokens);
        metrics::counter!("foil_llm_tokens_total", "provider" => provider.clone(), "step" => step, "direction" => "output")
            .increment(usage.output_tokens);
        if reported.is_none() {
            metrics::counter!("foil_llm_usage_estimated_total", "provider" => provider, "step" => step)
                .increment(1);
        }
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.recorder.add(
            self.key(route, step),
            UsageCounts {
                calls: 1,
                estimated_calls: i64::from(reported.is_none()),
                input_tokens: clamp(usage.input_tokens),
                output_tokens: clamp(usage.output_tokens),
                latency_ms: clamp(latency.as_millis() as u64),
                turns: 0,
            },
        );
    }

    /// One player message answered (counted on the response step's row).
    pub(crate) fn turn(&self, response: &Route) {
        self.recorder.add(
            self.key(response, "response"),
            UsageCounts {
                turns: 1,
                ..UsageCounts::default()
            },
        );
    }

    /// 429 `quota_exceeded` when the account or the key has used its daily budget.
    pub(crate) async fn check_budget(&self, config: &Config) -> Result<(), ApiError> {
        let mut checks = vec![(
            Payer::Account(self.who.account),
            config.budget_account_tokens_per_day,
            config.budget_account_turns_per_day,
            "account",
        )];
        if let Some(key) = self.who.api_key {
            checks.push((
                Payer::Key(key),
                config.budget_key_tokens_per_day,
                config.budget_key_turns_per_day,
                "API key",
            ));
        }
        for (payer, tokens, turns, whose) in checks {
            if tokens == 0 && turns == 0 {
                continue;
            }
            let used = self.recorder.today(payer).await?;
            let over_tokens =
                tokens > 0 && used.tokens() >= i64::try_from(tokens).unwrap_or(i64::MAX);
            let over_turns = turns > 0 && used.turns >= i64::try_from(turns).unwrap_or(i64::MAX);
            if over_tokens || over_turns {
                let what = if over_tokens { "LLM tokens" } else { "turns" };
                return Err(ApiError::QuotaExceeded {
                    message: format!("This {whose} has used its daily budget of {what}; it resets at midnight UTC"),
                    retry_after_secs: seconds_to_midnight(),
                });
            }
        }
        Ok(())
    }
}

/// An estimate of a call's usage, for providers that report none.
pub(crate) fn estimate(request: &ChatRequest, output: &str) -> Usage {
    Usage {
        input_tokens: estimate_input(request),
        output_tokens: estimate_text_tokens(output) as u64,
    }
}

/// An estimate of a request's prompt tokens.
fn estimate_input(request: &ChatRequest) -> u64 {
    request
        .messages
        .iter()
        .map(|m| estimate_text_tokens(&m.content) as u64)
        .sum()
}

/// Whole seconds until the next UTC day (at least 1).
fn seconds_to_midnight() -> u64 {
    let now = chrono::Utc::now();
    let tomorrow = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    tomorrow
        .map(|t| (t - now).num_seconds().max(1) as u64)
        .unwrap_or(1)
}

/// A provider stream that records its usage when it is dropped (finished or cancelled): the
/// provider's report when the stream ended properly, else an estimate from what arrived.
pub(crate) struct MeteredStream {
    inner: LlmStream,
    meter: Option<Meter>,
    route: Route,
    step: &'static str,
    /// Computed up front, so the prompt itself need not be kept while the stream runs.
    input_estimate: u64,
    /// Characters received (for the output estimate).
    output_chars: usize,
    started: Instant,
}

impl MeteredStream {
    pub(crate) fn new(
        inner: LlmStream,
        meter: Option<Meter>,
        route: Route,
        request: &ChatRequest,
    ) -> Self {
        MeteredStream {
            inner,
            input_estimate: if meter.is_some() {
                estimate_input(request)
            } else {
                0
            },
            meter,
            route,
            step: request.step,
            output_chars: 0,
            started: Instant::now(),
        }
    }
}

impl Stream for MeteredStream {
    type Item = Result<String, LlmError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        if let std::task::Poll::Ready(Some(Ok(piece))) = &polled {
            let chars = piece.chars().count();
            self.output_chars += chars;
        }
        polled
    }
}

impl Drop for MeteredStream {
    fn drop(&mut self) {
        if let Some(meter) = &self.meter {
            meter.call(
                &self.route,
                self.step,
                self.inner.usage(),
                || Usage {
                    input_tokens: self.input_estimate,
                    output_tokens: estimate_chars_tokens(self.output_chars) as u64,
                },
                self.started.elapsed(),
            );
        }
    }
}
