//! Request extractors whose failures are [`ApiError`]s (400/413 with the documented body)
//! instead of axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// A JSON body. The body limit yields 413; malformed JSON, a missing field or a wrong type
/// yields 400 naming the field. The `Content-Type` is not enforced: the body must be JSON
/// whatever the header says.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw body (for documents parsed by the handler), with the size limit mapped to 413.
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_body(req, state).await.map(RawBody)
    }
}

/// The raw body, with the size limit mapped to 413 and a body that does not arrive within the
/// [`BodyTimeout`] to 408 (so a client trickling its body frees its slot).
pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(usize::MAX);
    let deadline = req
        .extensions()
        .get::<BodyTimeout>()
        .map(|t| t.0)
        .unwrap_or(std::time::Duration::MAX);
    let read = Bytes::from_request(req, state);
    let Ok(read) = tokio::time::timeout(deadline, read).await else {
        return Err(ApiError::RequestTimeout);
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::bad_request(ErrorCode::InvalidBody, "The request body could not be read")
        }
    })
}

/// How long a request body may take to arrive; a request extension set by the router.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyTimeout(pub std::time::Duration);

/// Parses JSON, naming the path of the first problem.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_at(bytes).map_err(|e| ApiError::bad_request(ErrorCode::InvalidBody, e.message))
}

/// Why a JSON body did not parse, and where (`machines[0].states[2]`; empty for the whole body).
#[derive(Debug)]
pub(crate) struct JsonProblem {
    pub path: String,
    pub message: String,
}

/// Like [`parse_json`], but keeps the path of the problem apart from its sentence.
pub(crate) fn parse_json_at<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(JsonProblem {
            path: String::new(),
            message: "A JSON request body is required".into(),
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            JsonProblem {
                path: String::new(),
                message: format!("Invalid JSON body: {inner}"),
            }
        } else {
            JsonProblem {
                message: format!("Invalid JSON body at `{path}`: {inner}"),
                path,
            }
        }
    })
}

/// The configured body limit, made visible to [`ApiJson`] for its 413 message.
#[derive(Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

/// Query parameters; a bad value is a 400 naming it.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, e.body_text()))
    }
}

/// A single UUID path parameter; anything else is a 400.
pub(crate) struct UuidPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for UuidPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidId, "Invalid id in path"))?;
        parse_uuid("id", &raw).map(UuidPath)
    }
}

/// Two UUID path parameters (e.g. `/personas/{id}/sessions/{session_id}`), named on failure.
pub(crate) struct UuidPathPair(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for UuidPathPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidId, "Invalid id in path"))?;
        match raw.as_slice() {
            [(first_name, first), (second_name, second)] => Ok(UuidPathPair(
                parse_uuid(first_name, first)?,
                parse_uuid(second_name, second)?,
            )),
            _ => Err(ApiError::bad_request(
                ErrorCode::InvalidId,
                "Invalid id in path",
            )),
        }
    }
}

/// Parses a UUID given by the caller, naming the parameter on failure.
pub(crate) fn parse_uuid(name: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        ApiError::bad_request(ErrorCode::InvalidId, format!("`{name}` must be a UUID"))
    })
}

/// A required string field: present, not blank, at most `max` characters.
pub(crate) fn require_text(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::MissingField,
            format!("`{name}` is required"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            ErrorCode::FieldTooLong,
            format!("`{name}` must be at most {max} characters"),
        ));
    }
    Ok(())
}
