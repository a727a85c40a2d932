//! Which model and key each pipeline step uses (api.md §2.3), read from the request's
//! `X-LLM-*` headers, and the provider registry built from the configuration.
//!
//! Per step: model = step header ?? `X-LLM-Model` ?? the server's default model;
//! key = step key header ?? `X-LLM-API-Key` ?? the operator's key for that provider (if any).
//! Keys from headers live only in this request's memory: never stored, logged or echoed.

use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use foil_llm::{
    ChatRequest, LlmClient, LlmError, ProviderConfig, ProviderKind, Providers, Route, Secret,
    StructuredDialect,
};

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::usage::{self, Meter, MeteredStream};

/// A pipeline step that calls an LLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Eval,
    Response,
    Summarization,
}

/// The model every step uses unless its own header names one.
const ALL_MODEL_HEADER: &str = "x-llm-model";
/// The key every step uses unless its own header gives one.
const ALL_KEY_HEADER: &str = "x-llm-api-key";

impl Step {
    /// Every step.
    const ALL: [Step; 3] = [Step::Eval, Step::Response, Step::Summarization];

    /// The label used in metrics and in `ChatRequest::with_step`.
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct StepLlm {
    pub route: Route,
    /// The caller's key; `None` means the operator's key (or none, for keyless providers).
    pub key: Option<Secret>,
    /// Records every call's usage; `None` records nothing.
    pub meter: Option<Meter>,
}

impl StepLlm {
    pub(crate) fn is_offline(&self) -> bool {
        self.route.is_offline()
    }

    /// One whole completion on this step's model, recorded with its usage.
    pub(crate) async fn complete(
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
    pub(crate) async fn stream(
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
pub(crate) struct LlmSelection {
    pub eval: StepLlm,
    pub response: StepLlm,
    pub summarization: StepLlm,
}

/// The `X-LLM-*` headers of a request (api.md §2.3), read once by their extractor so the chat
/// service takes typed input instead of a `HeaderMap`. A header that is not valid text is kept
/// as such and reported (400 `invalid_header`) when it is asked for, where it always was.
/// Holds callers' keys: no `Debug`, never logged.
#[derive(Default)]
pub(crate) struct LlmHeaders {
    /// Present, non-empty values, trimmed.
    values: Vec<(&'static str, String)>,
    /// Headers present but not valid text.
    invalid: Vec<&'static str>,
}

impl LlmHeaders {
    /// Reads the `X-LLM-*` headers of `headers`: the shared model and key, and each step's.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut read = LlmHeaders::default();
        let per_step = Step::ALL
            .into_iter()
            .flat_map(|step| [step.model_header(), step.key_header()]);
        for name in [ALL_MODEL_HEADER, ALL_KEY_HEADER]
            .into_iter()
            .chain(per_step)
        {
            match headers.get(name).map(|v| v.to_str()) {
                None => {}
                Some(Err(_)) => read.invalid.push(name),
                Some(Ok(v)) if v.trim().is_empty() => {}
                Some(Ok(v)) => read.values.push((name, v.trim().to_owned())),
            }
        }
        read
    }

    fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        if self.invalid.contains(&name) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidHeader,
                format!("`{name}` is not valid text"),
            ));
        }
        Ok(self
            .values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LlmHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(LlmHeaders::from_headers(&parts.headers))
    }
}

impl LlmSelection {
    /// Resolves every step from the request's `X-LLM-*` headers. `model_override` (the body of
    /// `validate-llm-key`) takes the place of `X-LLM-Model`. Unknown models are 400
    /// `llm_model_unknown`; a provider that needs a key nobody gave is 400 `llm_key_required`.
    pub(crate) fn from_headers(
        headers: &LlmHeaders,
        providers: &Providers,
        default_model: &str,
        operator_models: &[String],
        model_override: Option<&str>,
    ) -> Result<Self, ApiError> {
        let all_model = match model_override {
            Some(m) => Some(m),
            None => headers.get(ALL_MODEL_HEADER)?,
        };
        let all_key = headers.get(ALL_KEY_HEADER)?;
        let step = |step: Step| -> Result<StepLlm, ApiError> {
            let model = headers
                .get(step.model_header())?
                .or(all_model)
                .unwrap_or(default_model);
            let route = providers.resolve(model).map_err(ApiError::from)?;
            let key = headers.get(step.key_header())?.or(all_key).map(Secret::new);
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
    pub(crate) fn validation_target(
        headers: &LlmHeaders,
        model_override: Option<&str>,
    ) -> Result<Option<(String, Option<Secret>)>, ApiError> {
        let all_model = headers.get(ALL_MODEL_HEADER)?;
        let all_key = headers.get(ALL_KEY_HEADER)?;
        let key_of = |step: Step| -> Result<Option<Secret>, ApiError> {
            Ok(headers.get(step.key_header())?.or(all_key).map(Secret::new))
        };
        let response_model = headers.get(Step::Response.model_header())?;
        if let Some(model) = model_override.or(response_model).or(all_model) {
            return Ok(Some((model.to_string(), key_of(Step::Response)?)));
        }
        for step in [Step::Eval, Step::Summarization] {
            if let Some(model) = headers.get(step.model_header())? {
                return Ok(Some((model.to_string(), key_of(step)?)));
            }
        }
        Ok(None)
    }

    /// Every step's calls recorded by `meter`.
    pub(crate) fn metered(mut self, meter: Meter) -> Self {
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

/// The provider registry: built-in defaults, overridden and extended by `[providers.NAME]`.
pub(crate) fn providers_from_config(config: &Config) -> anyhow::Result<Providers> {
    let mut providers = Providers::with_defaults();
    // A provider that needs no key (`ollama`: a default URL on this host) is reachable only
    // when the operator configured it: otherwise any caller could make the server call a
    // local port.
    let keyless: Vec<String> = providers
        .iter()
        .filter(|p| {
            !p.requires_key
                && p.kind != ProviderKind::Offline
                && !config.providers.contains_key(&p.name)
        })
        .map(|p| p.name.clone())
        .collect();
    for name in keyless {
        providers.remove(&name);
    }
    for (name, settings) in &config.providers {
        if providers.get(name).is_none() {
            let kind = settings.kind.as_deref().unwrap_or("openai");
            let base_url = settings.base_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "custom provider `{name}` needs a base_url (FOIL_PROVIDER_{}_BASE_URL)",
                    name.to_uppercase()
                )
            })?;
            let provider = match kind {
                "openai" => ProviderConfig::openai_compatible(name.clone(), base_url),
                "anthropic" => ProviderConfig::anthropic(name.clone(), base_url),
                other => {
                    anyhow::bail!("provider `{name}`: unknown kind `{other}` (openai or anthropic)")
                }
            };
            providers.insert(provider)?;
        } else if let Some(base_url) = &settings.base_url {
            providers.set_base_url(name, base_url)?;
        }
        if let Some(key) = &settings.api_key {
            providers.set_api_key(name, Secret::new(key.clone()))?;
        }
        if let Some(dialect) = &settings.structured {
            let dialect: StructuredDialect = dialect
                .parse()
                .map_err(|e| anyhow::anyhow!("provider `{name}`: {e}"))?;
            providers.set_structured(name, dialect)?;
        }
    }
    Ok(providers)
}
