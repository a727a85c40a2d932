//! Operational routes: liveness, readiness, Prometheus metrics, and the OpenAPI document.
//! None of them is rate limited; `/metrics` asks for a bearer token when `metrics_token` is set.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::context::ApiContext;
use crate::error::{ApiError, ErrorCode};

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Process is alive.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database is reachable.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, body = Health),
    (status = 503, description = "database unavailable", body = foil_types::wire::ErrorBody),
))]
async fn readyz(State(ctx): State<ApiContext>) -> Result<Json<Health>, ApiError> {
    ctx.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable
    })?;
    Ok(Json(Health { status: "ready" }))
}

/// Prometheus metrics (text exposition format). With `metrics_token` configured, only for
/// `Authorization: Bearer <that token>`.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses(
    (status = 200, content_type = "text/plain", body = String),
    (status = 401, description = "`metrics_token` is set and the request does not carry it",
        body = foil_types::wire::ErrorBody),
))]
async fn metrics(State(ctx): State<ApiContext>, headers: HeaderMap) -> Response {
    if let Some(expected) = ctx.config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected.as_bytes()).into();
        if !matches {
            return ApiError::unauthorized(
                ErrorCode::InvalidToken,
                "`/metrics` needs its bearer token",
            )
            .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(),
    )
        .into_response()
}

/// The documented operational routes.
pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// `/openapi.json`. The browsable reference at `/docs` is a page of the dashboard, served
/// from the binary (see [`crate::dashboard`]).
pub(crate) fn openapi_router(openapi: utoipa::openapi::OpenApi) -> Router {
    let json = Arc::new(openapi.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    Router::new().route(
        "/openapi.json",
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    (*json).clone(),
                )
            }
        }),
    )
}
