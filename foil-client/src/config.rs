//! Client configuration.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{ArgumentError, ClientError};

/// The hosted Foil Engine service.
pub const DEFAULT_BASE_URL: &str = "https://api.foilengine.io";
/// Time limit of one ordinary request (each attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time limit of a whole streamed reply.
pub const DEFAULT_STREAM_TIMEOUT: Duration = Duration::from_secs(120);
/// Retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// How long `list_personas` answers from its cache.
pub const DEFAULT_PERSONA_CACHE_TTL: Duration = Duration::from_secs(60);

/// The caller's own LLM settings (BYOK, api.md §2.3), sent as `X-LLM-*` headers on every
/// request. Every field is optional; `None` (or an empty string) sends no header, and the
/// server falls back to its own defaults.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LlmHeaders {
    /// `X-LLM-API-Key`: provider key for every pipeline step.
    pub api_key: Option<String>,
    /// `X-LLM-Model`: model for every step (LiteLLM-style name, e.g. `openai/gpt-4o-mini`).
    pub model: Option<String>,
    /// `X-LLM-Eval-Model`: model of the evaluation step.
    pub eval_model: Option<String>,
    /// `X-LLM-Response-Model`: model of the reply step.
    pub response_model: Option<String>,
    /// `X-LLM-Summarization-Model`: model of the summarization step.
    pub summarization_model: Option<String>,
    /// `X-LLM-Eval-API-Key`: provider key of the evaluation step.
    pub eval_api_key: Option<String>,
    /// `X-LLM-Response-API-Key`: provider key of the reply step.
    pub response_api_key: Option<String>,
    /// `X-LLM-Summarization-API-Key`: provider key of the summarization step.
    pub summarization_api_key: Option<String>,
}

impl LlmHeaders {
    /// `(header name, value, is a secret)` for every field, in api.md order.
    fn entries(&self) -> [(&'static str, &Option<String>, bool); 8] {
        [
            ("x-llm-api-key", &self.api_key, true),
            ("x-llm-model", &self.model, false),
            ("x-llm-eval-model", &self.eval_model, false),
            ("x-llm-response-model", &self.response_model, false),
            (
                "x-llm-summarization-model",
                &self.summarization_model,
                false,
            ),
            ("x-llm-eval-api-key", &self.eval_api_key, true),
            ("x-llm-response-api-key", &self.response_api_key, true),
            (
                "x-llm-summarization-api-key",
                &self.summarization_api_key,
                true,
            ),
        ]
    }
}

// Keys never reach logs: models are shown, keys only as "<redacted>".
impl std::fmt::Debug for LlmHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("LlmHeaders");
        for (name, value, secret) in self.entries() {
            let field = name.trim_start_matches("x-llm-");
            match (value, secret) {
                (None, _) => s.field(field, &None::<&str>),
                (Some(_), true) => s.field(field, &Some("<redacted>")),
                (Some(v), false) => s.field(field, &Some(v.as_str())),
            };
        }
        s.finish()
    }
}

/// Everything a [`Client`](crate::Client) needs. Build it with [`ClientConfig::new`] and
/// adjust the public fields; [`Client::new`](crate::Client::new) validates it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The server, `http://` or `https://` (default [`DEFAULT_BASE_URL`]). A trailing slash
    /// is ignored.
    pub base_url: String,
    /// The game's API key (`pk_live_...`) or a player token (`pt_...`) minted by the game's
    /// backend, sent as `X-API-Key`. Required; replaceable later with
    /// [`Client::set_api_key`](crate::Client::set_api_key).
    pub api_key: String,
    /// Optional `X-LLM-*` headers.
    pub llm: LlmHeaders,
    /// Time limit of each attempt of an ordinary request (default 30 s).
    pub timeout: Duration,
    /// Time limit of a whole streamed reply (default 120 s).
    pub stream_timeout: Duration,
    /// Retries after the first attempt on 429/500/502/503/504 and transport errors
    /// (default 3; streams are never retried).
    pub max_retries: u32,
    /// How long [`Client::list_personas`](crate::Client::list_personas) answers from its
    /// cache (default 60 s; zero disables the cache).
    pub persona_cache_ttl: Duration,
}

impl ClientConfig {
    /// A configuration with the defaults and this API key.
    pub fn new(api_key: impl Into<String>) -> Self {
        ClientConfig {
            api_key: api_key.into(),
            ..ClientConfig::default()
        }
    }

    /// Sets the base URL (builder style).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Checks the configuration and returns the base URL without a trailing slash.
    pub(crate) fn validated_base_url(&self) -> Result<String, ClientError> {
        if self.api_key.trim().is_empty() {
            return Err(ArgumentError::empty("api_key").into());
        }
        let base = self.base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|e| ArgumentError::invalid("base_url", format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(
                ArgumentError::invalid("base_url", "must be an http:// or https:// URL").into(),
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(
                ArgumentError::invalid("base_url", "must not have a query or fragment").into(),
            );
        }
        Ok(base.to_string())
    }

    /// The headers sent with every request, except `X-API-Key` (see [`api_key_header`]),
    /// which may change during the client's life.
    pub(crate) fn default_headers(&self) -> Result<HeaderMap, ClientError> {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str, secret: bool| {
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                ArgumentError::invalid(name, "contains characters not allowed in a header")
            })?;
            value.set_sensitive(secret);
            headers.insert(HeaderName::from_static(name), value);
            Ok::<(), ClientError>(())
        };
        for (name, value, secret) in self.llm.entries() {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                put(name, v, secret)?;
            }
        }
        Ok(headers)
    }
}

/// The `X-API-Key` value of `api_key` (an API key or a player token), marked sensitive so that
/// it never shows in logs: refused when blank or not allowed in a header.
pub(crate) fn api_key_header(api_key: &str) -> Result<HeaderValue, ClientError> {
    let api_key = api_key.trim();
    if api_key.is_empty() {
        return Err(ArgumentError::empty("api_key").into());
    }
    let mut value = HeaderValue::from_str(api_key).map_err(|_| {
        ArgumentError::invalid("api_key", "contains characters not allowed in a header")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Default for ClientConfig {
    /// The defaults with an empty API key (which [`Client::new`](crate::Client::new) rejects).
    fn default() -> Self {
        ClientConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: String::new(),
            llm: LlmHeaders::default(),
            timeout: DEFAULT_TIMEOUT,
            stream_timeout: DEFAULT_STREAM_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            persona_cache_ttl: DEFAULT_PERSONA_CACHE_TTL,
        }
    }
}

// Keys never reach logs.
impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field(
                "api_key",
                &if self.api_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("llm", &self.llm)
            .field("timeout", &self.timeout)
            .field("stream_timeout", &self.stream_timeout)
            .field("max_retries", &self.max_retries)
            .field("persona_cache_ttl", &self.persona_cache_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ArgumentProblem;

    #[test]
    fn debug_redacts_every_key() {
        let config = ClientConfig {
            llm: LlmHeaders {
                api_key: Some("sk-secret-1".into()),
                model: Some("openai/gpt-4o-mini".into()),
                eval_api_key: Some("sk-secret-2".into()),
                response_api_key: Some("sk-secret-3".into()),
                summarization_api_key: Some("sk-secret-4".into()),
                ..Default::default()
            },
            ..ClientConfig::new("pk_live_secret0000")
        };
        let text = format!("{config:?}");
        for secret in ["sk-secret", "pk_live_secret"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("openai/gpt-4o-mini"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn validation() {
        assert!(ClientConfig::default().validated_base_url().is_err());
        assert!(ClientConfig::new("  ").validated_base_url().is_err());
        let ok = ClientConfig::new("k").with_base_url("http://127.0.0.1:8000/");
        assert_eq!(ok.validated_base_url().unwrap(), "http://127.0.0.1:8000");
        for bad in ["ftp://x", "not a url", "http://h/?q=1", "file:///tmp"] {
            let c = ClientConfig::new("k").with_base_url(bad);
            assert!(
                matches!(c.validated_base_url(), Err(ClientError::InvalidArgument(_))),
                "{bad}"
            );
        }
        let bad_header = ClientConfig {
            llm: LlmHeaders {
                model: Some("a\nb".into()),
                ..Default::default()
            },
            ..ClientConfig::new("k")
        };
        assert!(bad_header.default_headers().is_err());
    }

    #[test]
    fn api_key_headers() {
        let value = api_key_header(" pt_a.b.c \n").unwrap();
        assert_eq!(value.to_str().unwrap(), "pt_a.b.c");
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
        for (bad, problem) in [
            ("", ArgumentProblem::Empty),
            (" \t", ArgumentProblem::Empty),
            (
                "pk\r\nX-Injected: 1",
                ArgumentProblem::Invalid("contains characters not allowed in a header".into()),
            ),
            (
                "pk_live_\0",
                ArgumentProblem::Invalid("contains characters not allowed in a header".into()),
            ),
        ] {
            assert_eq!(
                api_key_header(bad),
                Err(ClientError::InvalidArgument(ArgumentError {
                    argument: "api_key",
                    problem
                })),
                "{bad:?}"
            );
        }
    }
}
