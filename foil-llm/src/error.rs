//! Errors of LLM calls, their stable codes (api.md §1; the server maps them to statuses), and the sanitizer that keeps keys and
//! raw provider bodies out of messages.

use std::error::Error as _;

/// Why an LLM call failed. Messages never contain a key or more than a short, sanitized excerpt
/// of what the provider said (see [`sanitize`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// No configured provider matches the model string.
    #[error("no LLM provider matches the model `{model}`")]
    UnknownModel {
        /// The model string (sanitized, shortened).
        model: String,
    },
    /// The provider needs a key and neither the caller nor the operator configured one.
    #[error("the `{provider}` LLM provider needs an API key, and none was given")]
    KeyRequired {
        /// Provider name.
        provider: String,
    },
    /// The provider rejected the key (HTTP 401 or 403), or the key cannot be sent at all.
    #[error("the `{provider}` LLM provider rejected the API key: {message}")]
    InvalidKey {
        /// Provider name.
        provider: String,
        /// Sanitized reason.
        message: String,
    },
    /// The provider rate-limited the call (HTTP 429).
    #[error("the `{provider}` LLM provider rate-limited the request{}", retry_hint(*.retry_after))]
    RateLimited {
        /// Provider name.
        provider: String,
        /// Seconds to wait, from the provider's `Retry-After` (or `retry-after-ms`) header.
        retry_after: Option<u64>,
    },
    /// The provider failed: a 5xx or other unexpected status, a broken connection, malformed
    /// JSON, a truncated stream, or an error event inside a stream.
    #[error("the `{provider}` LLM provider failed{}: {message}", status_hint(*.status))]
    Upstream {
        /// Provider name.
        provider: String,
        /// The provider's HTTP status, when the failure was an HTTP error status.
        status: Option<u16>,
        /// Sanitized reason.
        message: String,
    },
    /// The provider did not answer (or, for a stream, went silent) within the timeout.
    #[error("the `{provider}` LLM provider did not answer in time")]
    Timeout {
        /// Provider name.
        provider: String,
    },
    /// The response was larger than the client's limit.
    #[error("the `{provider}` LLM provider's response exceeded {limit} bytes")]
    TooLarge {
        /// Provider name.
        provider: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The built-in `offline` provider was passed to a network client; the server answers for
    /// it without an LLM.
    #[error("the offline provider makes no network calls")]
    OfflineNotSupported,
}

fn retry_hint(retry_after: Option<u64>) -> String {
    retry_after
        .map(|s| format!("; retry after {s} s"))
        .unwrap_or_default()
}

fn status_hint(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl LlmError {
    /// The stable `error.code` the server answers with.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::UnknownModel { .. } => "llm_model_unknown",
            LlmError::KeyRequired { .. } => "llm_key_required",
            LlmError::InvalidKey { .. } => "llm_key_invalid",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Upstream { .. } | LlmError::TooLarge { .. } => "llm_upstream_error",
            LlmError::Timeout { .. } => "llm_timeout",
            LlmError::OfflineNotSupported => "llm_offline_unsupported",
        }
    }

    /// Seconds to wait before retrying, for [`LlmError::RateLimited`].
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            LlmError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider involved, when there is one.
    pub fn provider(&self) -> Option<&str> {
        match self {
            LlmError::KeyRequired { provider }
            | LlmError::InvalidKey { provider, .. }
            | LlmError::RateLimited { provider, .. }
            | LlmError::Upstream { provider, .. }
            | LlmError::Timeout { provider }
            | LlmError::TooLarge { provider, .. } => Some(provider),
            LlmError::UnknownModel { .. } | LlmError::OfflineNotSupported => None,
        }
    }

    /// An `UnknownModel` error for untrusted input (shortened and sanitized).
    pub(crate) fn unknown_model(model: &str) -> Self {
        LlmError::UnknownModel {
            model: sanitize_to(model, &[], 100),
        }
    }

    /// An `Upstream` error with no HTTP status.
    pub(crate) fn upstream(provider: &str, message: impl Into<String>) -> Self {
        LlmError::Upstream {
            provider: provider.to_owned(),
            status: None,
            message: message.into(),
        }
    }
}

/// Longest excerpt of provider text kept in an error message.
pub const MAX_EXCERPT_CHARS: usize = 200;

/// Replacement for anything that looks like a key.
const REDACTED: &str = "[redacted]";

/// Makes provider text safe for an error message or a log line: removes every exact
/// occurrence of `secrets`, redacts tokens that look like API keys (known key prefixes such as
/// `sk-`, `gsk_`, `xai-`, `AIza`; masked keys like `sk-ab****wxyz`; long random-looking
/// alphanumeric runs; the word after `Bearer`), collapses whitespace and control characters,
/// and cuts the result to [`MAX_EXCERPT_CHARS`] characters.
pub fn sanitize(text: &str, secrets: &[&str]) -> String {
    sanitize_to(text, secrets, MAX_EXCERPT_CHARS)
}

fn sanitize_to(text: &str, secrets: &[&str], max_chars: usize) -> String {
    // Only the start matters, and bounding the work keeps a huge body cheap to sanitize.
    let head: String = text.chars().take(4096).collect();
    let mut text = head;
    for secret in secrets {
        if secret.len() >= 4 {
            text = text.replace(secret, REDACTED);
        }
    }
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    let mut token = String::new();
    let mut previous_token = String::new();
    let mut pending_space = false;
    let flush = |token: &mut String, previous: &mut String, out: &mut String| {
        if token.is_empty() {
            return;
        }
        if looks_like_key(token) || previous.eq_ignore_ascii_case("bearer") {
            out.push_str(REDACTED);
        } else {
            out.push_str(token);
        }
        *previous = std::mem::take(token);
    };
    for ch in text.chars() {
        if ch.is_whitespace() || ch.is_control() {
            flush(&mut token, &mut previous_token, &mut out);
            pending_space = true;
        } else if is_separator(ch) {
            flush(&mut token, &mut previous_token, &mut out);
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(ch);
        } else {
            if token.is_empty() && pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            token.push(ch);
        }
    }
    flush(&mut token, &mut previous_token, &mut out);
    if out.chars().count() > max_chars {
        let mut cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        out
    }
}

/// Characters that end a token (quotes and JSON/URL punctuation), so `"key":"sk-…"` and
/// `?key=AIza…` split around the key.
fn is_separator(ch: char) -> bool {
    matches!(
        ch,
        '"' | '\''
            | '`'
            | '('
            | ')'
            | ','
            | ';'
            | ':'
            | '<'
            | '>'
            | '['
            | ']'
            | '{'
            | '}'
            | '='
            | '&'
            | '?'
    )
}

/// Whether a token is probably a credential.
fn looks_like_key(token: &str) -> bool {
    let token = token.trim_end_matches(['.', '!']);
    const PREFIXES: [&str; 10] = [
        "sk-", "sk_", "pk_", "rk_", "gsk_", "xai-", "AIza", "nvapi-", "hf_", "tgp_",
    ];
    if PREFIXES
        .iter()
        .any(|p| token.starts_with(p) && token.len() >= p.len() + 8)
    {
        return true;
    }
    // OpenAI echoes rejected keys masked with stars.
    if token.contains("***") {
        return true;
    }
    // A long random-looking segment: letters and digits mixed, at least 16 long. Splitting at
    // '-', '_', '.', '/' keeps model names (`claude-3-5-sonnet-20241022`) and URLs readable.
    token.split(['-', '_', '.', '/', '+']).any(|segment| {
        segment.len() >= 16
            && segment.chars().all(|c| c.is_ascii_alphanumeric())
            && segment.chars().any(|c| c.is_ascii_digit())
            && segment.chars().any(|c| c.is_ascii_alphabetic())
    })
}

/// Maps a transport failure (connect, reset, early close, read error) to an error.
pub(crate) fn transport_error(provider: &str, error: &reqwest::Error) -> LlmError {
    if error.is_timeout() {
        return LlmError::Timeout {
            provider: provider.to_owned(),
        };
    }
    let mut innermost: Option<String> = None;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return LlmError::Timeout {
                    provider: provider.to_owned(),
                };
            }
        }
        innermost = Some(cause.to_string());
        source = cause.source();
    }
    let what = if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the connection failed while reading the response"
    } else {
        "the request failed"
    };
    let message = match innermost {
        Some(cause) => format!("{what}: {}", sanitize(&cause, &[])),
        None => what.to_owned(),
    };
    LlmError::upstream(provider, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_api_table() {
        let p = || "openai".to_string();
        let cases = [
            (LlmError::unknown_model("x"), "llm_model_unknown"),
            (LlmError::KeyRequired { provider: p() }, "llm_key_required"),
            (
                LlmError::InvalidKey {
                    provider: p(),
                    message: String::new(),
                },
                "llm_key_invalid",
            ),
            (
                LlmError::RateLimited {
                    provider: p(),
                    retry_after: Some(3),
                },
                "rate_limited",
            ),
            (LlmError::upstream("openai", "boom"), "llm_upstream_error"),
            (LlmError::Timeout { provider: p() }, "llm_timeout"),
            (
                LlmError::TooLarge {
                    provider: p(),
                    limit: 10,
                },
                "llm_upstream_error",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn redacts_known_and_masked_keys() {
        let text = "Incorrect API key provided: sk-pro**************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.";
        let clean = sanitize(text, &[]);
        assert!(!clean.contains("wxyz"), "{clean}");
        assert!(clean.contains("[redacted]"), "{clean}");
        assert!(
            clean.contains("platform.openai.com/account/api-keys"),
            "{clean}"
        );
        let clean = sanitize(r#"{"key":"gsk_abcdefghijklmnop1234"} Bearer abc.def"#, &[]);
        assert!(!clean.contains("gsk_"), "{clean}");
        assert!(!clean.contains("abc.def"), "{clean}");
    }

    #[test]
    fn redacts_exact_secrets_and_random_runs_but_keeps_model_names() {
        let clean = sanitize(
            "bad key mysecretvalue and 9f86d081884c7d659a2feaa0c55ad015 for claude-3-5-sonnet-20241022",
            &["mysecretvalue"],
        );
        assert!(!clean.contains("mysecretvalue"), "{clean}");
        assert!(!clean.contains("9f86d081"), "{clean}");
        assert!(clean.contains("claude-3-5-sonnet-20241022"), "{clean}");
    }

    #[test]
    fn collapses_whitespace_and_truncates() {
        let clean = sanitize("a\n\n  b\tc", &[]);
        assert_eq!(clean, "a b c");
        let long = "word ".repeat(200);
        let clean = sanitize(&long, &[]);
        assert_eq!(clean.chars().count(), MAX_EXCERPT_CHARS);
        assert!(clean.ends_with('…'));
    }

    #[test]
    fn display_mentions_retry_and_status() {
        let e = LlmError::RateLimited {
            provider: "anthropic".into(),
            retry_after: Some(7),
        };
        assert!(e.to_string().contains("retry after 7 s"));
        let e = LlmError::Upstream {
            provider: "openai".into(),
            status: Some(500),
            message: "server error".into(),
        };
        assert_eq!(
            e.to_string(),
            "the `openai` LLM provider failed (HTTP 500): server error"
        );
    }
}
