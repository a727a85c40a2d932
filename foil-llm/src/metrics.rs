//! Call metrics, recorded through the `metrics` facade (the server installs the exporter).
//!
//! - `foil_llm_call_seconds` (histogram; labels `provider`, `step`, `outcome` =
//!   `ok` | `error` | `cancelled`): from the start of the call to its last byte (streams: until
//!   the end marker, the error, or the caller dropping the stream).
//! - `foil_llm_errors_total` (counter; labels `provider`, `step`, `code` = [`crate::LlmError::code`]).

use std::time::Instant;

use crate::error::LlmError;

/// Name of the call-duration histogram.
pub const CALL_SECONDS: &str = "foil_llm_call_seconds";
/// Name of the error counter.
pub const ERRORS_TOTAL: &str = "foil_llm_errors_total";

/// Measures one call; records exactly once (as `cancelled` if dropped unfinished).
pub(crate) struct CallMetrics {
    provider: String,
    step: &'static str,
    started: Instant,
    done: bool,
}

impl CallMetrics {
    pub(crate) fn start(provider: &str, step: &'static str) -> Self {
        CallMetrics {
            provider: provider.to_owned(),
            step: if step.is_empty() { "unspecified" } else { step },
            started: Instant::now(),
            done: false,
        }
    }

    fn record(&mut self, outcome: &'static str) {
        self.done = true;
        metrics::histogram!(
            CALL_SECONDS,
            "provider" => self.provider.clone(),
            "step" => self.step,
            "outcome" => outcome,
        )
        .record(self.started.elapsed().as_secs_f64());
    }

    /// Records the end of the call.
    pub(crate) fn finish(&mut self, error: Option<&LlmError>) {
        if self.done {
            return;
        }
        match error {
            None => self.record("ok"),
            Some(error) => {
                self.record("error");
                metrics::counter!(
                    ERRORS_TOTAL,
                    "provider" => self.provider.clone(),
                    "step" => self.step,
                    "code" => error.code(),
                )
                .increment(1);
            }
        }
    }
}

impl Drop for CallMetrics {
    fn drop(&mut self) {
        if !self.done {
            self.record("cancelled");
        }
    }
}
