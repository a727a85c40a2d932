//! The chat routes, defined once for both families (api.md §4–5):
//!
//! | family | prefix | credential | tag |
//! |---|---|---|---|
//! | [`sdk`] | `/api/v1/sdk/chat` | `X-API-Key` (key or player token) → [`SdkAccount`] | `sdk` |
//! | [`web`] | `/api/v1/chat` | JWT → [`AuthUser`] | `web-chat` |
//!
//! Thin handlers: the logic is in [`crate::chat::service`]. Each operation lists only its own
//! responses; `routes::document_common_responses` adds 400, 401, 429, 500 and 503. Streamed
//! turns are framed as server-sent events here.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use foil_types::wire::{
    ChatHistory, ChatResponse, ErrorBody, InitSessionRequest, MachineInfo, ResetResult,
    SendMessageRequest, SessionInit, SessionStatus, StreamError, TextDelta,
};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::auth::extract::{AuthUser, SdkAccount};
use crate::chat::llm::LlmHeaders;
use crate::chat::service::{
    self, Caller, HistoryQuery, MachineQuery, SessionQuery, TurnEvent, TurnEvents,
};
use crate::context::ApiContext;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, UuidPath};

/// Who calls a chat route, as the chat service sees them.
pub(crate) trait ChatCaller: FromRequestParts<ApiContext, Rejection = ApiError> {
    /// The service's caller for `persona`, playing as `user_session_id` (where the route has
    /// one). Refuses what the credential does not cover.
    fn chat_caller(&self, persona: Uuid, user_session_id: Option<&str>)
        -> Result<Caller, ApiError>;
}

impl ChatCaller for SdkAccount {
    fn chat_caller(
        &self,
        persona: Uuid,
        user_session_id: Option<&str>,
    ) -> Result<Caller, ApiError> {
        self.caller(persona, user_session_id)
    }
}

impl ChatCaller for AuthUser {
    fn chat_caller(&self, _: Uuid, _: Option<&str>) -> Result<Caller, ApiError> {
        Ok(Caller::Web { user: self.0.id })
    }
}

/// A streamed turn as `text/event-stream`: `metadata`, `text_delta`…, then `done` or `error`.
fn sse(events: TurnEvents) -> Response {
    let frames = events.map(|event| {
        Ok::<_, Infallible>(match event {
            TurnEvent::Metadata(metadata) => json_event("metadata", &metadata),
            TurnEvent::TextDelta(text) => json_event("text_delta", &TextDelta { text }),
            TurnEvent::Done(done) => json_event("done", &done),
            TurnEvent::Error(error) => json_event("error", &StreamError { error }),
        })
    });
    ([(header::CACHE_CONTROL, "no-cache")], Sse::new(frames)).into_response()
}

fn json_event<T: serde::Serialize>(name: &str, value: &T) -> Event {
    Event::default()
        .event(name)
        .json_data(value)
        .unwrap_or_else(|_| {
            Event::default()
                .event("error")
                .data("{\"error\":\"encoding\"}")
        })
}

/// One family of the seven chat operations: `$prefix` for its paths, `$tag` and `$scheme`
/// for its OpenAPI description, `$op` before each operation id, `$caller` for who calls.
macro_rules! chat_family {
    ($family:ident, $doc:literal, prefix = $prefix:tt, tag = $tag:tt, security = $scheme:tt,
     operation_ids = $op:tt, caller = $caller:ty) => {
        #[doc = $doc]
        pub(crate) mod $family {
            use super::*;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            /// The machines this player can play now.
            #[utoipa::path(get, path = concat!($prefix, "/{persona_id}/machines"),
                operation_id = concat!($op, "machines"), tag = $tag, security(($scheme = [])),
                params(("persona_id" = Uuid, Path), SessionQuery),
                responses((status = 200, body = [MachineInfo]), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody)))]
            async fn machines(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<SessionQuery>,
            ) -> ApiResult<Json<Vec<MachineInfo>>> {
                let caller = caller.chat_caller(persona_id, query.user_session_id.as_deref())?;
                service::machines(&ctx, caller, persona_id, query)
                    .await
                    .map(Json)
            }

            /// Starts a session (or starts it over) and returns the NPC's greeting.
            #[utoipa::path(post, path = concat!($prefix, "/{persona_id}/init-session"),
                operation_id = concat!($op, "init_session"), tag = $tag,
                security(($scheme = [])), request_body = InitSessionRequest,
                params(("persona_id" = Uuid, Path), MachineQuery),
                responses((status = 200, body = SessionInit), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
                    (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
            async fn init_session(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<MachineQuery>,
                llm: LlmHeaders,
                ApiJson(body): ApiJson<InitSessionRequest>,
            ) -> ApiResult<Json<SessionInit>> {
                let caller = caller.chat_caller(persona_id, Some(&body.user_session_id))?;
                service::init_session(&ctx, caller, persona_id, query, &llm, body)
                    .await
                    .map(Json)
            }

            /// Sends the player's message; returns the NPC's reply with state, score and outcome.
            #[utoipa::path(post, path = concat!($prefix, "/{persona_id}/message"),
                operation_id = concat!($op, "message"), tag = $tag, security(($scheme = [])),
                request_body = SendMessageRequest,
                params(("persona_id" = Uuid, Path), MachineQuery),
                responses((status = 200, body = ChatResponse), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
                    (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
            async fn message(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<MachineQuery>,
                llm: LlmHeaders,
                ApiJson(body): ApiJson<SendMessageRequest>,
            ) -> ApiResult<Json<ChatResponse>> {
                let caller = caller.chat_caller(persona_id, Some(&body.user_session_id))?;
                service::send_message(&ctx, caller, persona_id, query, &llm, body)
                    .await
                    .map(Json)
            }

            /// Like `message`, streamed as server-sent events: `metadata`, `text_delta`s, `done` (or `error`).
            #[utoipa::path(post, path = concat!($prefix, "/{persona_id}/message/stream"),
                operation_id = concat!($op, "message_stream"), tag = $tag,
                security(($scheme = [])), request_body = SendMessageRequest,
                params(("persona_id" = Uuid, Path), MachineQuery),
                responses((status = 200,
                        description = "text/event-stream: metadata, text_delta…, done | error",
                        content_type = "text/event-stream", body = String),
                    (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
                    (status = 409, body = ErrorBody), (status = 502, body = ErrorBody),
                    (status = 504, body = ErrorBody)))]
            async fn message_stream(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<MachineQuery>,
                llm: LlmHeaders,
                ApiJson(body): ApiJson<SendMessageRequest>,
            ) -> ApiResult<Response> {
                let caller = caller.chat_caller(persona_id, Some(&body.user_session_id))?;
                service::send_message_stream(&ctx, caller, persona_id, query, &llm, body)
                    .await
                    .map(sse)
            }

            /// The session's current status.
            #[utoipa::path(get, path = concat!($prefix, "/{persona_id}/session"),
                operation_id = concat!($op, "session"), tag = $tag, security(($scheme = [])),
                params(("persona_id" = Uuid, Path), SessionQuery),
                responses((status = 200, body = SessionStatus), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody)))]
            async fn session(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<SessionQuery>,
            ) -> ApiResult<Json<SessionStatus>> {
                let caller = caller.chat_caller(persona_id, query.user_session_id.as_deref())?;
                service::session_status(&ctx, caller, persona_id, query)
                    .await
                    .map(Json)
            }

            /// The session's messages, the greeting first.
            #[utoipa::path(get, path = concat!($prefix, "/{persona_id}/history"),
                operation_id = concat!($op, "history"), tag = $tag, security(($scheme = [])),
                params(("persona_id" = Uuid, Path), HistoryQuery),
                responses((status = 200, body = ChatHistory), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody)))]
            async fn history(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<HistoryQuery>,
            ) -> ApiResult<Json<ChatHistory>> {
                let caller = caller.chat_caller(persona_id, query.user_session_id.as_deref())?;
                service::history(&ctx, caller, persona_id, query)
                    .await
                    .map(Json)
            }

            /// Starts the session over in its initial state with an empty history.
            #[utoipa::path(post, path = concat!($prefix, "/{persona_id}/reset"),
                operation_id = concat!($op, "reset"), tag = $tag, security(($scheme = [])),
                params(("persona_id" = Uuid, Path), SessionQuery),
                responses((status = 200, body = ResetResult), (status = 403, body = ErrorBody),
                    (status = 404, body = ErrorBody)))]
            async fn reset(
                State(ctx): State<ApiContext>,
                caller: $caller,
                UuidPath(persona_id): UuidPath,
                ApiQuery(query): ApiQuery<SessionQuery>,
            ) -> ApiResult<Json<ResetResult>> {
                let caller = caller.chat_caller(persona_id, query.user_session_id.as_deref())?;
                service::reset(&ctx, caller, persona_id, query)
                    .await
                    .map(Json)
            }

            /// The routes outside the message rate-limit category.
            pub(crate) fn general_router() -> OpenApiRouter<ApiContext> {
                OpenApiRouter::new()
                    .routes(routes!(machines))
                    .routes(routes!(init_session))
                    .routes(routes!(session))
                    .routes(routes!(history))
                    .routes(routes!(reset))
            }

            /// The message routes (their own rate-limit category).
            pub(crate) fn chat_router() -> OpenApiRouter<ApiContext> {
                OpenApiRouter::new()
                    .routes(routes!(message))
                    .routes(routes!(message_stream))
            }
        }
    };
}

chat_family!(
    sdk,
    "Game SDK chat (`X-API-Key`): sessions are scoped to the key's account, and a player token to its player.",
    prefix = "/api/v1/sdk/chat",
    tag = "sdk",
    security = "api_key",
    operation_ids = "sdk_",
    caller = SdkAccount
);

chat_family!(
    web,
    "Web chat (JWT): sessions are scoped to the signed-in user; the persona must be published and public, or the caller's own.",
    prefix = "/api/v1/chat",
    tag = "web-chat",
    security = "jwt",
    operation_ids = "web_",
    caller = AuthUser
);
