//! Game SDK chat routes (`X-API-Key`): sessions are scoped to the key's account.
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

use crate::auth::extract::SdkAccount;

use crate::chat::service::{self, HistoryQuery, MachineQuery, SessionQuery};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, UuidPath};

/// The machines this player can play now.
#[utoipa::path(get, path = "/api/v1/sdk/chat/{persona_id}/machines", tag = "sdk", security(("api_key" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = [MachineInfo]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn sdk_machines(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<Vec<MachineInfo>>> {
    service::machines(
        &ctx,
        account.caller(persona_id, query.user_session_id.as_deref())?,
        persona_id,
        query,
    )
    .await
    .map(Json)
}

/// Starts a session (or starts it over) and returns the NPC's greeting.
#[utoipa::path(post, path = "/api/v1/sdk/chat/{persona_id}/init-session", tag = "sdk", security(("api_key" = [])), request_body = InitSessionRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, body = SessionInit), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn sdk_init_session(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InitSessionRequest>,
) -> ApiResult<Json<SessionInit>> {
    service::init_session(
        &ctx,
        account.caller(persona_id, Some(&body.user_session_id))?,
        persona_id,
        query,
        &headers,
        body,
    )
    .await
    .map(Json)
}

/// Sends the player's message; returns the NPC's reply with state, score and outcome.
#[utoipa::path(post, path = "/api/v1/sdk/chat/{persona_id}/message", tag = "sdk", security(("api_key" = [])), request_body = SendMessageRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, body = ChatResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn sdk_message(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<Json<ChatResponse>> {
    service::send_message(
        &ctx,
        account.caller(persona_id, Some(&body.user_session_id))?,
        persona_id,
        query,
        &headers,
        body,
    )
    .await
    .map(Json)
}

/// Like `message`, streamed as server-sent events: `metadata`, `text_delta`s, `done` (or `error`).
#[utoipa::path(post, path = "/api/v1/sdk/chat/{persona_id}/message/stream", tag = "sdk", security(("api_key" = [])), request_body = SendMessageRequest,
    params(("persona_id" = Uuid, Path), MachineQuery),
    responses((status = 200, description = "text/event-stream: metadata, text_delta…, done | error", content_type = "text/event-stream", body = String), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn sdk_message_stream(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<MachineQuery>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<Response> {
    service::send_message_stream(
        &ctx,
        account.caller(persona_id, Some(&body.user_session_id))?,
        persona_id,
        query,
        &headers,
        body,
    )
    .await
}

/// The session's current status.
#[utoipa::path(get, path = "/api/v1/sdk/chat/{persona_id}/session", tag = "sdk", security(("api_key" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = SessionStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn sdk_session(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionStatus>> {
    service::session_status(
        &ctx,
        account.caller(persona_id, query.user_session_id.as_deref())?,
        persona_id,
        query,
    )
    .await
    .map(Json)
}

/// The session's messages, the greeting first.
#[utoipa::path(get, path = "/api/v1/sdk/chat/{persona_id}/history", tag = "sdk", security(("api_key" = [])),
    params(("persona_id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = ChatHistory), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn sdk_history(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ChatHistory>> {
    service::history(
        &ctx,
        account.caller(persona_id, query.user_session_id.as_deref())?,
        persona_id,
        query,
    )
    .await
    .map(Json)
}

/// Starts the session over in its initial state with an empty history.
#[utoipa::path(post, path = "/api/v1/sdk/chat/{persona_id}/reset", tag = "sdk", security(("api_key" = [])),
    params(("persona_id" = Uuid, Path), SessionQuery),
    responses((status = 200, body = ResetResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = RateLimitBody)))]
async fn sdk_reset(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    UuidPath(persona_id): UuidPath,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<ResetResult>> {
    service::reset(
        &ctx,
        account.caller(persona_id, query.user_session_id.as_deref())?,
        persona_id,
        query,
    )
    .await
    .map(Json)
}

/// Routes in the "SDK General" rate-limit category.
pub fn general_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(sdk_machines))
        .routes(routes!(sdk_init_session))
        .routes(routes!(sdk_session))
        .routes(routes!(sdk_history))
        .routes(routes!(sdk_reset))
}

/// The message routes (SDK Chat rate-limit category).
pub fn chat_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(sdk_message))
        .routes(routes!(sdk_message_stream))
}
