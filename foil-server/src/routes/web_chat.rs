//! Web-chat routes (JWT): sessions are scoped to the signed-in user; the persona must be published and public, or the caller's own.
//! Thin handlers: the logic is in [`crate::chat::service`]; each route is written out for its
//! OpenAPI description.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use foil_types::wire::{
    ChatHistory, ChatResponse, ErrorBody, InitSessionRequest, MachineInfo, RateLimitBody,
    ResetResult, SendMessageRequest, SessionInit, SessionStatus,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::ApiContext;

use crate::auth::extract::AuthUser;

use crate::chat::service::{self, Caller, HistoryQuery, MachineQuery, SessionQuery};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, UuidPath};

/// The machines this player can play now.
#[utoipa::path(get, path = "/api/v1/chat/{persona_id}/machines", tag = "web-chat", security(("jwt" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = [MachineInfo]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn web_machines(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<Vec<MachineInfo>>> {
    service::machines(&ctx, Caller::Web { user: user.id }, persona_id, query)
        .await
        .map(Json)
}

/// Starts a session (or starts it over) and returns the NPC's greeting.
#[utoipa::path(post, path = "/api/v1/chat/{persona_id}/init-session", tag = "web-chat", security(("jwt" = [])), request_body = InitSessionRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, body = SessionInit), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn web_init_session(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InitSessionRequest>,
) -> ApiResult<Json<SessionInit>> {
    service::init_session(
        &ctx,
        Caller::Web { user: user.id },
        persona_id,
        query,
        &headers,
        body,
    )
    .await
    .map(Json)
}

/// Sends the player's message; returns the NPC's reply with state, score and outcome.
#[utoipa::path(post, path = "/api/v1/chat/{persona_id}/message", tag = "web-chat", security(("jwt" = [])), request_body = SendMessageRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, body = ChatResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn web_message(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<Json<ChatResponse>> {
    service::send_message(
        &ctx,
        Caller::Web { user: user.id },
        persona_id,
        query,
        &headers,
        body,
    )
    .await
    .map(Json)
}

/// Like `message`, streamed as server-sent events: `metadata`, `text_delta`s, `done` (or `error`).
#[utoipa::path(post, path = "/api/v1/chat/{persona_id}/message/stream", tag = "web-chat", security(("jwt" = [])), request_body = SendMessageRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, description = "text/event-stream: metadata, text_delta…, done | error", content_type = "text/event-stream", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn web_message_stream(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<Response> {
    service::send_message_stream(
        &ctx,
        Caller::Web { user: user.id },
        persona_id,
        query,
        &headers,
        body,
    )
    .await
}

/// The session's current status.
#[utoipa::path(get, path = "/api/v1/chat/{persona_id}/session", tag = "web-chat", security(("jwt" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = SessionStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn web_session(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionStatus>> {
    service::session_status(&ctx, Caller::Web { user: user.id }, persona_id, query)
        .await
        .map(Json)
}

/// The session's messages, the greeting first.
#[utoipa::path(get, path = "/api/v1/chat/{persona_id}/history", tag = "web-chat", security(("jwt" = [])),
    params(("persona_id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = ChatHistory), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn web_history(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ChatHistory>> {
    service::history(&ctx, Caller::Web { user: user.id }, persona_id, query)
        .await
        .map(Json)
}

/// Starts the session over in its initial state with an empty history.
#[utoipa::path(post, path = "/api/v1/chat/{persona_id}/reset", tag = "web-chat", security(("jwt" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = ResetResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn web_reset(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<ResetResult>> {
    service::reset(&ctx, Caller::Web { user: user.id }, persona_id, query)
        .await
        .map(Json)
}

/// Routes in the "General" rate-limit category.
pub fn general_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(web_machines))
        .routes(routes!(web_init_session))
        .routes(routes!(web_session))
        .routes(routes!(web_history))
        .routes(routes!(web_reset))
}

/// The message routes (Chat rate-limit category).
pub fn chat_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(web_message))
        .routes(routes!(web_message_stream))
}
