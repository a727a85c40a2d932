//! Errors of the client.

use serde::Serialize;

/// What is wrong with an argument (checked before anything is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgumentProblem {
    /// A required string is empty or only whitespace.
    Empty,
    /// A string is longer than allowed.
    TooLong {
        /// The limit.
        max: usize,
        /// What the limit counts: `"bytes"` or `"characters"`.
        unit: &'static str,
    },
    /// Any other problem (not a UUID, not a URL, not allowed in a header, ...).
    Invalid(String),
}

/// An argument the client refused before sending anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentError {
    /// The argument's name, e.g. `"persona_id"`.
    pub argument: &'static str,
    /// What is wrong with it.
    pub problem: ArgumentProblem,
}

impl ArgumentError {
    /// `argument` is empty or blank.
    pub fn empty(argument: &'static str) -> Self {
        ArgumentError {
            argument,
            problem: ArgumentProblem::Empty,
        }
    }

    /// `argument` is longer than `max` `unit`s.
    pub fn too_long(argument: &'static str, max: usize, unit: &'static str) -> Self {
        ArgumentError {
            argument,
            problem: ArgumentProblem::TooLong { max, unit },
        }
    }

    /// `argument` is invalid for another `reason`.
    pub fn invalid(argument: &'static str, reason: impl Into<String>) -> Self {
        ArgumentError {
            argument,
            problem: ArgumentProblem::Invalid(reason.into()),
        }
    }
}

impl std::fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            ArgumentProblem::Empty => write!(f, "{} must not be empty", self.argument),
            ArgumentProblem::TooLong { max, unit } => {
                write!(f, "{} must be at most {max} {unit} long", self.argument)
            }
            ArgumentProblem::Invalid(reason) => write!(f, "{}: {reason}", self.argument),
        }
    }
}

impl std::error::Error for ArgumentError {}

/// Everything a client call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// An argument was refused before anything was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(ArgumentError),
    /// The server answered with an error status (after any retries).
    #[error("HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The server's stable `error.code` (api.md §1); `None` for bodies without one, such
        /// as 429's `{"error": "..."}`.
        code: Option<String>,
        /// The server's `error.message` (or the 429 body's `error` string, or the reason
        /// phrase when the body had neither).
        message: String,
        /// The `Retry-After` header in whole seconds, when given.
        retry_after: Option<u64>,
    },
    /// The connection failed or broke (after any retries).
    #[error("transport error: {0}")]
    Transport(String),
    /// The request did not finish within the configured timeout (after any retries).
    #[error("the request timed out")]
    Timeout,
    /// The server's answer could not be read as the expected JSON.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The request was cancelled by the caller.
    #[error("the request was cancelled")]
    Cancelled,
}

impl From<ArgumentError> for ClientError {
    fn from(e: ArgumentError) -> Self {
        ClientError::InvalidArgument(e)
    }
}

/// The JSON payload describing a failed request (the native plugin's `ERROR` event):
/// `{"status", "code", "message", "retry_after"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorPayload {
    /// The HTTP status, or 0 when the request got no HTTP answer.
    pub status: u16,
    /// A stable snake_case code: the server's `error.code`, or one of the client's own
    /// (see [`ClientError::code`]).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Seconds to wait before retrying, when the server said so.
    pub retry_after: Option<u64>,
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A stable snake_case code: the server's `error.code` for HTTP errors (or `rate_limited`
    /// for a 429 without one, `http_error` otherwise); `invalid_argument`, `transport_error`,
    /// `timeout`, `decode_error` or `cancelled` for the client's own errors.
    pub fn code(&self) -> &str {
        match self {
            ClientError::InvalidArgument(_) => "invalid_argument",
            ClientError::Http {
                code: Some(code), ..
            } => code,
            ClientError::Http { status: 429, .. } => "rate_limited",
            ClientError::Http { .. } => "http_error",
            ClientError::Transport(_) => "transport_error",
            ClientError::Timeout => "timeout",
            ClientError::Decode(_) => "decode_error",
            ClientError::Cancelled => "cancelled",
        }
    }

    /// The seconds the server asked to wait before retrying.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ClientError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A sentence for people (the server's message for HTTP errors).
    pub fn message(&self) -> String {
        match self {
            ClientError::Http { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// This error as the `{"status", "code", "message", "retry_after"}` payload.
    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload {
            status: self.status().unwrap_or(0),
            code: self.code().to_string(),
            message: self.message(),
            retry_after: self.retry_after(),
        }
    }

    /// [`ClientError::payload`] serialised as JSON.
    pub fn payload_json(&self) -> String {
        serde_json::to_string(&self.payload()).expect("plain struct serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        let e = ClientError::Http {
            status: 429,
            code: None,
            message: "Rate limit exceeded. Try again in 3 seconds.".into(),
            retry_after: Some(3),
        };
        let v: serde_json::Value = serde_json::from_str(&e.payload_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status": 429, "code": "rate_limited",
                "message": "Rate limit exceeded. Try again in 3 seconds.", "retry_after": 3})
        );
        let v: serde_json::Value =
            serde_json::from_str(&ClientError::Cancelled.payload_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status": 0, "code": "cancelled",
                "message": "the request was cancelled", "retry_after": null})
        );
        let e = ClientError::Http {
            status: 401,
            code: Some("invalid_api_key".into()),
            message: "Invalid API key".into(),
            retry_after: None,
        };
        assert_eq!(e.code(), "invalid_api_key");
        assert_eq!(e.message(), "Invalid API key");
        let e: ClientError = ArgumentError::too_long("message", 2000, "characters").into();
        assert_eq!(
            e.to_string(),
            "invalid argument: message must be at most 2000 characters long"
        );
    }
}
