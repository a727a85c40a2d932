//! The HTTP client: one pooled connection pool for every provider, requests per protocol,
//! timeouts, size limits and the mapping of provider failures to [`LlmError`].

use std::future::Future;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Response};

use crate::error::{sanitize, transport_error, LlmError};
use crate::metrics::CallMetrics;
use crate::providers::{ProviderKind, Route};
use crate::request::{ChatRequest, Completion};
use crate::secret::Secret;
use crate::stream::{self, EventDecoder, LlmStream};
use crate::structured::{is_refusal, DialectMemory, StructuredDialect};
use crate::{anthropic, openai};

/// Most bytes of an error body read to find the provider's message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Settings of the shared HTTP client.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// TCP (and TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Largest response accepted: a JSON body, or the total bytes of a stream.
    pub max_response_bytes: usize,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Honour `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` from the environment.
    pub use_env_proxy: bool,
}

impl Default for ClientOptions {
    /// 5 s connect timeout, 4 MiB responses, 90 s idle pool, environment proxies honoured.
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 4 * 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(90),
            user_agent: concat!("foil-engine/", env!("CARGO_PKG_VERSION")).to_owned(),
            use_env_proxy: true,
        }
    }
}

/// The HTTP client could not be built (e.g. no TLS roots).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the LLM HTTP client: {0}")]
pub struct ClientBuildError(String);

/// Calls LLM providers. Cheap to clone (the connection pool is shared); make one per process.
///
/// Every call takes a [`Route`] (from [`crate::Providers::resolve`]), the caller's key (when
/// `None` or empty, the provider's configured operator key is used), and a timeout. The
/// `offline` provider is refused with [`LlmError::OfflineNotSupported`]: the server answers for
/// it without any network call.
#[derive(Clone, Debug)]
pub struct LlmClient {
    http: reqwest::Client,
    max_response_bytes: usize,
    dialects: DialectMemory,
}

/// The key and header layout of one call.
struct Prepared<'a> {
    provider: &'a str,
    headers: HeaderMap,
    key: Option<&'a Secret>,
}

impl Prepared<'_> {
    fn secrets(&self) -> Vec<&str> {
        self.key.map(Secret::expose).into_iter().collect()
    }
}

impl LlmClient {
    /// Builds the client: redirects are never followed (no SSRF through a provider),
    /// `TCP_NODELAY` is on, connections are pooled.
    pub fn new(options: ClientOptions) -> Result<Self, ClientBuildError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(options.pool_idle_timeout)
            .tcp_nodelay(true)
            .user_agent(options.user_agent);
        if !options.use_env_proxy {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ClientBuildError(e.to_string()))?;
        Ok(LlmClient {
            http,
            max_response_bytes: options.max_response_bytes,
            dialects: DialectMemory::default(),
        })
    }

    /// One chat completion, returned whole. With structured output the result is the JSON
    /// text. `timeout` bounds the whole call.
    pub async fn complete(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        timeout: Duration,
    ) -> Result<String, LlmError> {
        self.complete_with_usage(route, key, req, timeout)
            .await
            .map(|completion| completion.text)
    }

    /// [`complete`](Self::complete), with the tokens the provider reported.
    pub async fn complete_with_usage(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        timeout: Duration,
    ) -> Result<Completion, LlmError> {
        let mut metrics = CallMetrics::start(route.provider_name(), req.step);
        let result = self.complete_inner(route, key, req, timeout).await;
        metrics.finish(result.as_ref().err());
        if let Err(error) = &result {
            tracing::debug!(provider = route.provider_name(), model = %route.model, step = req.step, code = error.code(), "LLM call failed: {error}");
        }
        result
    }

    /// The structured-output dialect to ask `route`'s provider in: the one that last worked
    /// after a refusal, else its configured or default one.
    pub fn dialect_for(&self, route: &Route) -> StructuredDialect {
        self.dialects
            .get(route.provider_name())
            .unwrap_or_else(|| route.provider.first_dialect())
    }

    /// With structured output, tries the provider's dialect and steps down to the next one on
    /// a refusal; the dialect that worked is remembered for the provider.
    async fn complete_inner(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        timeout: Duration,
    ) -> Result<Completion, LlmError> {
        if req.structured.is_none() {
            return self
                .complete_once(route, key, req, StructuredDialect::Prompt, timeout)
                .await;
        }
        let first = self.dialect_for(route);
        let mut dialect = first;
        loop {
            match self.complete_once(route, key, req, dialect, timeout).await {
                Ok(text) => {
                    if dialect != first {
                        tracing::info!(provider = route.provider_name(), dialect = %dialect, "structured output: using this dialect for the provider from now on");
                        self.dialects.remember(route.provider_name(), dialect);
                    }
                    return Ok(text);
                }
                Err(error) if is_refusal(&error) => match dialect.next() {
                    Some(next) => {
                        tracing::info!(provider = route.provider_name(), refused = %dialect, next = %next, "the provider refused a structured-output dialect: {error}");
                        dialect = next;
                    }
                    None => return Err(error),
                },
                Err(error) => return Err(error),
            }
        }
    }

    async fn complete_once(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        dialect: StructuredDialect,
        timeout: Duration,
    ) -> Result<Completion, LlmError> {
        let prepared = prepare(route, key)?;
        let provider = prepared.provider;
        let req = in_dialect(req, dialect);
        let body = match route.kind() {
            ProviderKind::Anthropic => anthropic::body(&route.model, &req, false),
            _ => openai::body(&route.model, &req, false, dialect),
        };
        let call = async {
            let response = self
                .send(&prepared, Method::POST, &chat_url(route), Some(&body))
                .await?;
            let bytes = read_limited(provider, response, self.max_response_bytes).await?;
            let secrets = prepared.secrets();
            match route.kind() {
                ProviderKind::Anthropic => {
                    let tool = req.structured.as_ref().map(|s| s.wire_name());
                    anthropic::parse(provider, &bytes, tool.as_deref())
                }
                _ => openai::parse(provider, &bytes, &secrets),
            }
        };
        with_timeout(provider, timeout, call).await
    }

    /// A streamed chat completion (SSE). `timeout` bounds the wait for the response headers
    /// and then every gap between two chunks (an idle timeout), not the whole stream. Errors
    /// before the first byte (bad key, rate limit, …) are returned here; later ones come
    /// through the stream.
    pub async fn stream(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        timeout: Duration,
    ) -> Result<LlmStream, LlmError> {
        let mut metrics = CallMetrics::start(route.provider_name(), req.step);
        let opened = self.open_stream(route, key, req, timeout).await;
        match opened {
            Ok((response, decoder)) => Ok(stream::from_response(
                response,
                decoder,
                route.provider_name().to_owned(),
                timeout,
                self.max_response_bytes,
                metrics,
            )),
            Err(error) => {
                metrics.finish(Some(&error));
                tracing::debug!(provider = route.provider_name(), model = %route.model, step = req.step, code = error.code(), "LLM stream failed: {error}");
                Err(error)
            }
        }
    }

    async fn open_stream(
        &self,
        route: &Route,
        key: Option<&Secret>,
        req: &ChatRequest,
        timeout: Duration,
    ) -> Result<(Response, Box<dyn EventDecoder>), LlmError> {
        let prepared = prepare(route, key)?;
        let dialect = self.dialect_for(route);
        let req = in_dialect(req, dialect);
        let (body, decoder): (_, Box<dyn EventDecoder>) = match route.kind() {
            ProviderKind::Anthropic => (
                anthropic::body(&route.model, &req, true),
                Box::new(anthropic::Decoder::new(req.structured.is_some())),
            ),
            _ => (
                openai::body(&route.model, &req, true, dialect),
                Box::<openai::Decoder>::default(),
            ),
        };
        let url = chat_url(route);
        let send = self.send(&prepared, Method::POST, &url, Some(&body));
        let response = with_timeout(prepared.provider, timeout, send).await?;
        Ok((response, decoder))
    }

    /// Checks a key with the cheapest real call: `GET {base}/models` for OpenAI-compatible
    /// providers (`GET {base}/key` for `openrouter`, whose model list is public),
    /// `GET /v1/models?limit=1` for Anthropic. `Ok(())` means the provider accepted the key.
    pub async fn validate_key(
        &self,
        route: &Route,
        key: Option<&Secret>,
        timeout: Duration,
    ) -> Result<(), LlmError> {
        let mut metrics = CallMetrics::start(route.provider_name(), "validate");
        let result = async {
            let prepared = prepare(route, key)?;
            let url = models_url(route);
            // The body is not needed: dropping the response is enough.
            let call = self.send(&prepared, Method::GET, &url, None);
            with_timeout(prepared.provider, timeout, call)
                .await
                .map(drop)
        }
        .await;
        metrics.finish(result.as_ref().err());
        result
    }

    /// Sends a request; a non-2xx status becomes the matching error.
    async fn send(
        &self,
        prepared: &Prepared<'_>,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, LlmError> {
        let provider = prepared.provider;
        let mut request = self
            .http
            .request(method, url)
            .headers(prepared.headers.clone());
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body)
                .map_err(|_| LlmError::upstream(provider, "cannot encode the request"))?;
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(provider, &e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(status_error(prepared, response).await)
        }
    }
}

/// The request as sent in `dialect`: a prompt-only request carries no structured output.
fn in_dialect(req: &ChatRequest, dialect: StructuredDialect) -> std::borrow::Cow<'_, ChatRequest> {
    if dialect == StructuredDialect::Prompt && req.structured.is_some() {
        std::borrow::Cow::Owned(ChatRequest {
            structured: None,
            ..req.clone()
        })
    } else {
        std::borrow::Cow::Borrowed(req)
    }
}

/// Runs `call` under `timeout`, mapping expiry to [`LlmError::Timeout`].
async fn with_timeout<T>(
    provider: &str,
    timeout: Duration,
    call: impl Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(LlmError::Timeout {
                provider: provider.to_owned(),
            })
        })
}

/// Checks the route and builds the auth headers.
fn prepare<'a>(route: &'a Route, key: Option<&'a Secret>) -> Result<Prepared<'a>, LlmError> {
    if route.is_offline() {
        return Err(LlmError::OfflineNotSupported);
    }
    let provider = route.provider_name();
    let key = route.key(key)?;
    let mut headers = HeaderMap::new();
    let bad_key = || LlmError::InvalidKey {
        provider: provider.to_owned(),
        message: "the key contains characters that cannot be sent in an HTTP header".into(),
    };
    match route.kind() {
        ProviderKind::Anthropic => {
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(anthropic::API_VERSION),
            );
            if let Some(key) = key {
                let mut value =
                    HeaderValue::from_str(key.expose().trim()).map_err(|_| bad_key())?;
                value.set_sensitive(true);
                headers.insert("x-api-key", value);
            }
        }
        _ => {
            if let Some(key) = key {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose().trim()))
                    .map_err(|_| bad_key())?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
        }
    }
    Ok(Prepared {
        provider,
        headers,
        key,
    })
}

/// The Anthropic API root: the base URL with `/v1` (unless it already ends in it).
fn anthropic_v1(base: &str) -> String {
    if base.ends_with("/v1") {
        base.to_owned()
    } else {
        format!("{base}/v1")
    }
}

fn chat_url(route: &Route) -> String {
    let base = &route.provider.base_url;
    match route.kind() {
        ProviderKind::Anthropic => format!("{}/messages", anthropic_v1(base)),
        _ => format!("{base}/chat/completions"),
    }
}

fn models_url(route: &Route) -> String {
    let base = &route.provider.base_url;
    match route.kind() {
        ProviderKind::Anthropic => format!("{}/models?limit=1", anthropic_v1(base)),
        _ if route.provider_name() == "openrouter" => format!("{base}/key"),
        _ => format!("{base}/models"),
    }
}

/// Reads a body of at most `limit` bytes.
async fn read_limited(
    provider: &str,
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, LlmError> {
    let too_large = || LlmError::TooLarge {
        provider: provider.to_owned(),
        limit,
    };
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(provider, &e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Seconds from `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date), rounded
/// up, at least 1.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<u64> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::trim)
    };
    let seconds = if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        ms / 1000.0
    } else {
        let value = text(RETRY_AFTER.as_str())?;
        match value.parse::<f64>() {
            Ok(seconds) => seconds,
            Err(_) => {
                let when = httpdate::parse_http_date(value).ok()?;
                when.duration_since(std::time::SystemTime::now())
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0)
            }
        }
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // Bounded so a hostile header cannot ask clients to wait for years.
    Some((seconds.ceil() as u64).clamp(1, 86_400))
}

/// Maps a non-2xx response to an error, with the provider's own message (sanitized).
async fn status_error(prepared: &Prepared<'_>, response: Response) -> LlmError {
    let provider = prepared.provider.to_owned();
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = read_limited(&provider, response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let raw = openai::error_message(&body)
        .or_else(|| anthropic::error_message(&body))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    let mut message = sanitize(&raw, &prepared.secrets());
    if message.is_empty() {
        message = format!("HTTP {status}");
    }
    match status {
        401 | 403 => LlmError::InvalidKey { provider, message },
        429 => LlmError::RateLimited {
            provider,
            retry_after,
        },
        408 | 504 => LlmError::Timeout { provider },
        300..=399 => LlmError::Upstream {
            provider,
            status: Some(status),
            message: "the provider answered with a redirect, which is not followed".into(),
        },
        _ => LlmError::Upstream {
            provider,
            status: Some(status),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(7));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.2"));
        assert_eq!(retry_after(&h), Some(1));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let secs = retry_after(&h).unwrap();
        assert!((100..=121).contains(&secs), "{secs}");
        h.insert("retry-after-ms", HeaderValue::from_static("2500"));
        assert_eq!(retry_after(&h), Some(3));
        h.remove("retry-after-ms");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn anthropic_urls_add_v1_once() {
        assert_eq!(
            anthropic_v1("https://api.anthropic.com"),
            "https://api.anthropic.com/v1"
        );
        assert_eq!(anthropic_v1("http://proxy/v1"), "http://proxy/v1");
    }
}
