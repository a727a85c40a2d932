//! Which model and key each pipeline step uses (api.md §2.3), and how provider errors become
//! API errors.
//!
//! Per step: model = step header ?? `X-LLM-Model` ?? the server's default model;
//! key = step key header ?? `X-LLM-API-Key` ?? the operator's key for that provider (if any).
//! Keys from headers live only in this request's memory: never stored, logged or echoed.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use foil_llm::{ChatRequest, LlmClient, LlmError, Providers, Route, Secret};

use crate::error::{ApiError, ErrorCode};
use crate::rate_limit::RateLimited;
use crate::usage::{self, Meter, MeteredStream};

/// A pipeline step that calls an LLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Eval,
    Response,
    Summarization,
}

impl Step {
    /// The label used in metrics and in `ChatRequest::with_step`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Eval => "eval",
            Step::Response => "response",
            Step::Summarization => "summarization",
        }
    }

    fn model_header(self) -> &'static str {
        match self {
            Step::Eval => "x-llm-eval-model",
            Step::Response => "x-llm-response-model",
            Step::Summarization => "x-llm-summarization-model",
        }
    }

    fn key_header(self) -> &'static str {
        match self {
            Step::Eval => "x-llm-eval-api-key",
            Step::Response => "x-llm-response-api-key",
            Step::Summarization => "x-llm-summarization-api-key",
        }
    }
}

/// The model and key of one step, and whom its calls are recorded for.
#[derive(Clone, Debug)]
pub struct StepLlm {
    pub route: Route,
    /// The caller's key; `None` means the operator's key (or none, for keyless providers).
    pub key: Option<Secret>,
    /// Records every call's usage; `None` records nothing.
    pub meter: Option<Meter>,
}

impl StepLlm {
    pub fn is_offline(&self) -> bool {
        self.route.is_offline()
    }

    /// One whole completion on this step's model, recorded with its usage.
    pub async fn complete(
        &self,
        llm: &LlmClient,
        request: &ChatRequest,
        timeout: Duration,
    ) -> Result<String, LlmError> {
        let started = Instant::now();
        let completion = llm
            .complete_with_usage(&self.route, self.key.as_ref(), request, timeout)
            .await?;
        if let Some(meter) = &self.meter {
            meter.call(
                &self.route,
                request.step,
                completion.usage,
                || usage::estimate(request, &completion.text),
                started.elapsed(),
            );
        }
        Ok(completion.text)
    }

    /// A streamed completion on this step's model, recorded when the stream is dropped.
    pub async fn stream(
        &self,
        llm: &LlmClient,
        request: &ChatRequest,
        timeout: Duration,
    ) -> Result<MeteredStream, LlmError> {
        let stream = llm
            .stream(&self.route, self.key.as_ref(), request, timeout)
            .await?;
        Ok(MeteredStream::new(
            stream,
            self.meter.clone(),
            self.route.clone(),
            request,
        ))
    }
}

/// The resolved model and key of every step of one request.
#[derive(Clone, Debug)]
pub struct LlmSelection {
    pub eval: StepLlm,
    pub response: StepLlm,
    pub summarization: StepLlm,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => {
            let v = v.to_str().map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::InvalidHeader,
                    format!("`{name}` is not valid text"),
                )
            })?;
            Ok(Some(v.trim()).filter(|v| !v.is_empty()))
        }
    }
}

impl LlmSelection {
    /// Resolves every step from the request headers. `model_override` (the body of
    /// `validate-llm-key`) takes the place of `X-LLM-Model`. Unknown models are 400
    /// `llm_model_unknown`; a provider that needs a key nobody gave is 400 `llm_key_required`.
    pub fn from_headers(
        headers: &HeaderMap,
        providers: &Providers,
        default_model: &str,
        operator_models: &[String],
        model_override: Option<&str>,
    ) -> Result<Self, ApiError> {
        let all_model = match model_override {
            Some(m) => Some(m),
            None => header(headers, "x-llm-model")?,
        };
        let all_key = header(headers, "x-llm-api-key")?;
        let step = |step: Step| -> Result<StepLlm, ApiError> {
            let model = header(headers, step.model_header())?
                .or(all_model)
                .unwrap_or(default_model);
            let route = providers.resolve(model).map_err(ApiError::from)?;
            let key = header(headers, step.key_header())?
                .or(all_key)
                .map(Secret::new);
            route.key(key.as_ref()).map_err(ApiError::from)?;
            if key.is_none() && route.provider.api_key.is_some() && !route.is_offline() {
                operator_model_allowed(&route, model, operator_models)?;
            }
            Ok(StepLlm {
                route,
                key,
                meter: None,
            })
        };
        Ok(LlmSelection {
            eval: step(Step::Eval)?,
            response: step(Step::Response)?,
            summarization: step(Step::Summarization)?,
        })
    }

    /// What `validate-llm-key` checks: `model_override` (its body) or the model and key the
    /// response step would use given the headers; failing those, the first other step that
    /// names a model; `None` when the request names no model at all (then only `offline` can
    /// run, and nothing needs checking).
    pub fn validation_target(
        headers: &HeaderMap,
        model_override: Option<&str>,
    ) -> Result<Option<(String, Option<Secret>)>, ApiError> {
        let all_model = header(headers, "x-llm-model")?;
        let all_key = header(headers, "x-llm-api-key")?;
        let key_of = |step: Step| -> Result<Option<Secret>, ApiError> {
            Ok(header(headers, step.key_header())?
                .or(all_key)
                .map(Secret::new))
        };
        let response_model = header(headers, Step::Response.model_header())?;
        if let Some(model) = model_override.or(response_model).or(all_model) {
            return Ok(Some((model.to_string(), key_of(Step::Response)?)));
        }
        for step in [Step::Eval, Step::Summarization] {
            if let Some(model) = header(headers, step.model_header())? {
                return Ok(Some((model.to_string(), key_of(step)?)));
            }
        }
        Ok(None)
    }

    /// Every step's calls recorded by `meter`.
    pub fn metered(mut self, meter: Meter) -> Self {
        for step in [&mut self.eval, &mut self.response, &mut self.summarization] {
            step.meter = Some(meter.clone());
        }
        self
    }
}

/// The operator's provider key pays only for the models the operator lists (`operator_models`,
/// default: the default model): `model` as the request wrote it or as `provider/model`.
fn operator_model_allowed(
    route: &Route,
    model: &str,
    operator_models: &[String],
) -> Result<(), ApiError> {
    let full = route.to_string();
    if operator_models
        .iter()
        .any(|allowed| allowed == model.trim() || *allowed == full)
    {
        return Ok(());
    }
    Err(ApiError::bad_request(
        ErrorCode::LlmModelNotAllowed,
        format!(
            "`{full}` would run on the server's own provider key, which serves only the models the \
             operator allows; send your own key (X-LLM-API-Key) to use it"
        ),
    ))
}

/// Seconds a client is told to wait when a provider rate-limited us without saying how long.
const DEFAULT_PROVIDER_RETRY_AFTER: u64 = 5;

impl From<LlmError> for ApiError {
    fn from(err: LlmError) -> Self {
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
        let message = err.to_string();
        // foil-llm names its failures; every name it uses is one of ours (unit test below).
        let code = ErrorCode::parse(err.code()).unwrap_or(ErrorCode::LlmUpstreamError);
        match status {
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited(RateLimited {
                retry_after_secs: err
                    .retry_after()
                    .unwrap_or(DEFAULT_PROVIDER_RETRY_AFTER)
                    .max(1),
            }),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized {
                code,
                message,
                scheme: "Bearer",
            },
            StatusCode::BAD_REQUEST => ApiError::BadRequest {
                code,
                message,
                details: None,
            },
            _ => ApiError::Upstream {
                status,
                code,
                message,
                retry_after: err.retry_after(),
            },
        }
    }
}

#[cfg(test)]
mod error_code_tests {
    use super::*;

    /// Every failure foil-llm names maps to a documented [`ErrorCode`] (a 429 has none: its
    /// body is a bare string).
    #[test]
    fn every_llm_failure_has_an_error_code() {
        let provider = || "openai".to_string();
        for err in [
            LlmError::UnknownModel { model: "x".into() },
            LlmError::KeyRequired {
                provider: provider(),
            },
            LlmError::InvalidKey {
                provider: provider(),
                message: "no".into(),
            },
            LlmError::Upstream {
                provider: provider(),
                status: Some(500),
                message: "no".into(),
            },
            LlmError::Timeout {
                provider: provider(),
            },
            LlmError::TooLarge {
                provider: provider(),
                limit: 1,
            },
            LlmError::OfflineNotSupported,
        ] {
            assert_eq!(
                ErrorCode::parse(err.code()).map(ErrorCode::as_str),
                Some(err.code()),
                "{err:?}"
            );
            let api = ApiError::from(err);
            assert!(api.code().is_some(), "{api:?}");
        }
        let limited = LlmError::RateLimited {
            provider: provider(),
            retry_after: Some(3),
        };
        assert!(ApiError::from(limited).code().is_none());
    }
}
