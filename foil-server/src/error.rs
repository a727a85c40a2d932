//! The one error type of the HTTP API and its mapping to api.md §1.
//!
//! Handlers return `Result<_, ApiError>`. Every variant renders the documented body
//! `{"error": {"message", "code"}}` (429 renders the hosted service's bare-string body); a 500
//! never shows its cause, which is logged inside the request's span (with its request id).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use foil_types::persona::ValidationIssue;
use foil_types::wire::{ErrorBody, ErrorDetail};

use crate::rate_limit::RateLimited;

/// Declares [`ErrorCode`] once: each variant with its wire spelling.
macro_rules! error_codes {
    ($($variant:ident = $code:literal,)*) => {
        /// Every `error.code` the API answers with: stable, and each documented in
        /// `docs/errors.md` (a test checks both ways).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code.
            pub(crate) const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire spelling (snake_case).
            pub(crate) const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    // 400
    InvalidBody = "invalid_body",
    InvalidQuery = "invalid_query",
    InvalidId = "invalid_id",
    InvalidHeader = "invalid_header",
    MissingField = "missing_field",
    FieldTooLong = "field_too_long",
    InvalidEmail = "invalid_email",
    InvalidPassword = "invalid_password",
    InvalidPersona = "invalid_persona",
    InvalidPlayerName = "invalid_player_name",
    InvalidPlayerGender = "invalid_player_gender",
    InvalidTtl = "invalid_ttl",
    InvalidPersonaIds = "invalid_persona_ids",
    PlayerTokensUnavailable = "player_tokens_unavailable",
    LlmModelUnknown = "llm_model_unknown",
    LlmModelNotAllowed = "llm_model_not_allowed",
    LlmKeyRequired = "llm_key_required",
    // 401
    MissingToken = "missing_token",
    InvalidToken = "invalid_token",
    InvalidCredentials = "invalid_credentials",
    InvalidApiKey = "invalid_api_key",
    PlayerTokenExpired = "player_token_expired",
    LlmKeyInvalid = "llm_key_invalid",
    // 403
    Forbidden = "forbidden",
    AnonymousUser = "anonymous_user",
    InvalidAnonymousToken = "invalid_anonymous_token",
    PersonaAccessDenied = "persona_access_denied",
    ApiKeyScope = "api_key_scope",
    PlayerTokenScope = "player_token_scope",
    MachineLocked = "machine_locked",
    // 404
    NotFound = "not_found",
    PersonaNotFound = "persona_not_found",
    MachineNotFound = "machine_not_found",
    SessionNotFound = "session_not_found",
    ApiKeyNotFound = "api_key_not_found",
    SelfSignupDisabled = "self_signup_disabled",
    // 408, 409, 413
    RequestTimeout = "request_timeout",
    ApiKeyLimit = "api_key_limit",
    EmailTaken = "email_taken",
    SessionEnded = "session_ended",
    SessionBusy = "session_busy",
    PayloadTooLarge = "payload_too_large",
    // 429
    QuotaExceeded = "quota_exceeded",
    // 5xx
    InternalError = "internal_error",
    LlmOfflineUnsupported = "llm_offline_unsupported",
    LlmUpstreamError = "llm_upstream_error",
    DatabaseUnavailable = "database_unavailable",
    Overloaded = "overloaded",
    LlmTimeout = "llm_timeout",
}

impl ErrorCode {
    /// The code spelled `raw`, if there is one.
    pub(crate) fn parse(raw: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == raw)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API failure. Codes are stable and listed in `docs/errors.md`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// 400: the request is malformed or a value is out of range.
    #[error("{message}")]
    BadRequest {
        code: ErrorCode,
        message: String,
        details: Option<Vec<ValidationIssue>>,
    },
    /// 401, always with `WWW-Authenticate`.
    #[error("{message}")]
    Unauthorized {
        code: ErrorCode,
        message: String,
        /// `Bearer` for JWT routes, `ApiKey` for SDK routes.
        scheme: &'static str,
    },
    /// 403: authenticated, but not allowed to reach this resource.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// 404.
    #[error("{message}")]
    NotFound { code: ErrorCode, message: String },
    /// 409: the session ended, or another turn is running.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// 408: the body (or, on routes that call no LLM, the whole request) took too long.
    #[error("The request took too long to arrive or to serve.")]
    RequestTimeout,
    /// 413: the body is larger than the configured limit.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 429, with `Retry-After`.
    #[error("rate limited")]
    RateLimited(#[from] RateLimited),
    /// 429 `quota_exceeded`: a daily LLM budget is used up; `Retry-After` is the next UTC day.
    #[error("{message}")]
    QuotaExceeded {
        message: String,
        retry_after_secs: u64,
    },
    /// 502 / 504 and friends: an LLM provider's failure, already mapped to a status.
    #[error("{message}")]
    Upstream {
        status: StatusCode,
        code: ErrorCode,
        message: String,
        retry_after: Option<u64>,
    },
    /// 503: the database cannot be reached.
    #[error("the database is unavailable")]
    Unavailable,
    /// 503: more requests in flight than the server accepts (`max_in_flight`); shed at once.
    #[error("The server is at capacity. Please retry shortly.")]
    Overloaded,
    /// 500: a bug. The cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// The answer to a request whose handler panicked (a bug): the usual 500 `internal_error`,
/// with the panic's message logged (under the request's id), instead of a dropped connection.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

impl ApiError {
    pub(crate) fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub(crate) fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// 401 on a JWT route.
    pub(crate) fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
            scheme: "Bearer",
        }
    }

    /// 401 on an SDK route: the official SDKs expect exactly this message.
    pub(crate) fn invalid_api_key() -> Self {
        ApiError::Unauthorized {
            code: ErrorCode::InvalidApiKey,
            message: "Invalid API key".into(),
            scheme: "ApiKey",
        }
    }

    /// 401 on an SDK route: a genuine player token past its `expires_at`.
    pub(crate) fn player_token_expired() -> Self {
        ApiError::Unauthorized {
            code: ErrorCode::PlayerTokenExpired,
            message: "The player token has expired; ask the game's backend for a new one".into(),
            scheme: "ApiKey",
        }
    }

    /// Whether this is [`ApiError::player_token_expired`].
    pub(crate) fn is_player_token_expired(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized {
                code: ErrorCode::PlayerTokenExpired,
                ..
            }
        )
    }

    /// A persona document that failed validation, with every problem.
    pub(crate) fn invalid_persona(issues: Vec<ValidationIssue>) -> Self {
        let first = issues
            .first()
            .map(|i| format!("{}: {}", i.path, i.message))
            .unwrap_or_default();
        let more = match issues.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        ApiError::BadRequest {
            code: ErrorCode::InvalidPersona,
            message: format!("The persona document is invalid: {first}{more}"),
            details: Some(issues),
        }
    }

    pub(crate) fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited(_) | ApiError::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Upstream { status, .. } => *status,
            ApiError::Unavailable | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the body; `None` for a 429 rate limit, whose body is a bare string.
    pub(crate) fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Upstream { code, .. } => *code,
            ApiError::RequestTimeout => ErrorCode::RequestTimeout,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::RateLimited(_) => return None,
            ApiError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            ApiError::Unavailable => ErrorCode::DatabaseUnavailable,
            ApiError::Overloaded => ErrorCode::Overloaded,
            ApiError::Internal(_) => ErrorCode::InternalError,
        })
    }
}

/// Seconds a client should wait before retrying while the database is down.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code().unwrap_or(ErrorCode::InternalError);
        let www_authenticate = match &self {
            ApiError::Unauthorized { scheme, .. } => Some(*scheme),
            _ => None,
        };
        let retry_after = match &self {
            ApiError::Upstream { retry_after, .. } => *retry_after,
            ApiError::QuotaExceeded {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Unavailable => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ApiError::Overloaded => Some(1),
            _ => None,
        };
        let (message, details) = match self {
            ApiError::RateLimited(limited) => return limited.into_response(),
            ApiError::Internal(ref err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                ("Internal server error".to_string(), None)
            }
            ApiError::Unavailable => {
                tracing::warn!("database unavailable");
                (
                    "The service is temporarily unavailable. Please retry shortly.".to_string(),
                    None,
                )
            }
            ApiError::BadRequest {
                message, details, ..
            } => (message, details),
            ref other => (other.to_string(), None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                message,
                code: code.as_str().to_string(),
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(scheme) = www_authenticate {
            if let Ok(value) = HeaderValue::from_str(&format!("{scheme} realm=\"foil\"")) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, secs.max(1).into());
        }
        response
    }
}

impl From<crate::auth::password::PasswordWorkBusy> for ApiError {
    fn from(_: crate::auth::password::PasswordWorkBusy) -> Self {
        metrics::counter!("foil_requests_shed_total").increment(1);
        ApiError::Overloaded
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            ApiError::Unavailable
        } else {
            ApiError::Internal(err.into())
        }
    }
}

/// Seconds a client is told to wait when a provider rate-limited us without saying how long.
const DEFAULT_PROVIDER_RETRY_AFTER: u64 = 5;

/// An LLM call's failure as the API answers it (api.md §1): the caller's model or key is a
/// 400/401, the provider's rate limit a 429, its failures 502 and its silence 504.
impl From<foil_llm::LlmError> for ApiError {
    fn from(err: foil_llm::LlmError) -> Self {
        use foil_llm::LlmError as E;
        let message = err.to_string();
        // foil-llm names its failures; every name it uses is one of ours (unit test below).
        let code = ErrorCode::parse(err.code()).unwrap_or(ErrorCode::LlmUpstreamError);
        let upstream = |status| ApiError::Upstream {
            status,
            code,
            message: message.clone(),
            retry_after: None,
        };
        match err {
            E::RateLimited { retry_after, .. } => ApiError::RateLimited(RateLimited {
                retry_after_secs: retry_after.unwrap_or(DEFAULT_PROVIDER_RETRY_AFTER).max(1),
            }),
            E::InvalidKey { .. } => ApiError::Unauthorized {
                code,
                message,
                scheme: "Bearer",
            },
            E::UnknownModel { .. } | E::KeyRequired { .. } => ApiError::BadRequest {
                code,
                message,
                details: None,
            },
            E::Timeout { .. } => upstream(StatusCode::GATEWAY_TIMEOUT),
            // Reaching the network client with `offline` is a server bug.
            E::OfflineNotSupported => upstream(StatusCode::INTERNAL_SERVER_ERROR),
            _ => upstream(StatusCode::BAD_GATEWAY),
        }
    }
}

impl From<crate::generate::error::GenerateError> for ApiError {
    fn from(e: crate::generate::error::GenerateError) -> Self {
        match e {
            crate::generate::error::GenerateError::Llm(e) => e.into(),
            unusable @ crate::generate::error::GenerateError::Unusable(_) => ApiError::Upstream {
                status: StatusCode::BAD_GATEWAY,
                code: ErrorCode::LlmUpstreamError,
                message: unusable.to_string(),
                retry_after: None,
            },
        }
    }
}

/// `Result` of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    /// The codes in the second column of `docs/errors.md`'s table.
    fn documented_codes() -> Vec<String> {
        include_str!("../../docs/errors.md")
            .lines()
            .filter_map(|line| {
                let mut cells = line.split('|').map(str::trim).skip(1);
                let status = cells.next()?;
                let code = cells.next()?;
                status.parse::<u16>().ok().map(|_| code.to_string())
            })
            .flat_map(|cell| {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let documented = documented_codes();
        assert!(
            documented.len() > 30,
            "the table was not read: {documented:?}"
        );
        for code in ErrorCode::ALL {
            assert!(
                documented.iter().any(|d| d == code.as_str()),
                "`{code}` is not in docs/errors.md"
            );
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        for code in &documented {
            assert!(
                ErrorCode::parse(code).is_some(),
                "docs/errors.md lists `{code}`, which no error has"
            );
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_internal_error() {
        async fn broken() -> &'static str {
            panic!("persona data the code did not expect")
        }
        let app = axum::Router::new()
            .route("/broken", axum::routing::get(broken))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let request = axum::http::Request::get("/broken")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "internal_error");
        // Nothing of the panic reaches the client.
        assert!(!body.to_string().contains("persona data"), "{body}");
    }

    /// Every failure foil-llm names maps to a documented [`ErrorCode`] and its status of
    /// api.md §1 (a 429 has no code: its body is a bare string).
    #[test]
    fn every_llm_failure_has_an_error_code_and_status() {
        use foil_llm::LlmError as E;
        let provider = || "openai".to_string();
        for (err, status) in [
            (E::UnknownModel { model: "x".into() }, 400),
            (
                E::KeyRequired {
                    provider: provider(),
                },
                400,
            ),
            (
                E::InvalidKey {
                    provider: provider(),
                    message: "no".into(),
                },
                401,
            ),
            (
                E::Upstream {
                    provider: provider(),
                    status: Some(500),
                    message: "no".into(),
                },
                502,
            ),
            (
                E::Timeout {
                    provider: provider(),
                },
                504,
            ),
            (
                E::TooLarge {
                    provider: provider(),
                    limit: 1,
                },
                502,
            ),
            (E::OfflineNotSupported, 500),
        ] {
            assert_eq!(
                ErrorCode::parse(err.code()).map(ErrorCode::as_str),
                Some(err.code()),
                "{err:?}"
            );
            let api = ApiError::from(err);
            assert!(api.code().is_some(), "{api:?}");
            assert_eq!(api.status().as_u16(), status, "{api:?}");
        }
        let limited = ApiError::from(E::RateLimited {
            provider: provider(),
            retry_after: Some(3),
        });
        assert!(limited.code().is_none());
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
