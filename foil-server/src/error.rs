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

/// An API failure. Codes are stable and listed in `docs/errors.md`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a value is out of range.
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        details: Option<Vec<ValidationIssue>>,
    },
    /// 401, always with `WWW-Authenticate`.
    #[error("{message}")]
    Unauthorized {
        code: &'static str,
        message: String,
        /// `Bearer` for JWT routes, `ApiKey` for SDK routes.
        scheme: &'static str,
    },
    /// 403: authenticated, but not allowed to reach this resource.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 409: the session ended, or another turn is running.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
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
        code: &'static str,
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

const PLAYER_TOKEN_EXPIRED: &str = "player_token_expired";

/// The answer to a request whose handler panicked (a bug): the usual 500 `internal_error`,
/// with the panic's message logged (under the request's id), instead of a dropped connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// 401 on a JWT route.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
            scheme: "Bearer",
        }
    }

    /// 401 on an SDK route: the official SDKs expect exactly this message.
    pub fn invalid_api_key() -> Self {
        ApiError::Unauthorized {
            code: "invalid_api_key",
            message: "Invalid API key".into(),
            scheme: "ApiKey",
        }
    }

    /// 401 on an SDK route: a genuine player token past its `expires_at`.
    pub fn player_token_expired() -> Self {
        ApiError::Unauthorized {
            code: PLAYER_TOKEN_EXPIRED,
            message: "The player token has expired; ask the game's backend for a new one".into(),
            scheme: "ApiKey",
        }
    }

    /// Whether this is [`ApiError::player_token_expired`].
    pub fn is_player_token_expired(&self) -> bool {
        matches!(self, ApiError::Unauthorized { code, .. } if *code == PLAYER_TOKEN_EXPIRED)
    }

    /// A persona document that failed validation, with every problem.
    pub fn invalid_persona(issues: Vec<ValidationIssue>) -> Self {
        let first = issues
            .first()
            .map(|i| format!("{}: {}", i.path, i.message))
            .unwrap_or_default();
        let more = match issues.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more problems)", n - 1),
        };
        ApiError::BadRequest {
            code: "invalid_persona",
            message: format!("The persona document is invalid: {first}{more}"),
            details: Some(issues),
        }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
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

    /// The stable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Upstream { code, .. } => code,
            ApiError::RequestTimeout => "request_timeout",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::Unavailable => "database_unavailable",
            ApiError::Overloaded => "overloaded",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

/// Seconds a client should wait before retrying while the database is down.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
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
                code: code.to_string(),
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

/// `Result` of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

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
}
