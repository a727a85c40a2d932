//! The persona owner's sessions view (the dashboard's "why did my NPC do that?"): every
//! player's sessions of one persona, SDK and web, and each session's history with the
//! evaluator's reasons. Owner only: another account's persona or session is a 404, so the
//! routes do not reveal what exists.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::AuthUser;
use crate::context::ApiContext;
use crate::db::creator_sessions::{self, SessionFilter, SessionOverview};
use crate::db::personas::StoredPersona;
use crate::db::{self, sessions};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{parse_uuid, ApiQuery, UuidPath, UuidPathPair};

/// A player's session as the persona's owner sees it.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub(crate) struct SessionSummary {
    pub session_id: Uuid,
    /// `sdk` (a game, through an API key) or `web` (web chat, including dashboard playtests).
    pub channel: String,
    pub user_session_id: String,
    pub player_name: String,
    pub player_gender: String,
    pub machine_id: Uuid,
    pub machine_key: String,
    /// The scenario's current name (its key when the scenario has since been removed).
    pub machine_name: String,
    pub current_state: String,
    pub score: i64,
    /// `ACCEPT`, `REJECT`, `KICK_OUT`, or null while the session runs.
    pub outcome: Option<String>,
    pub message_count: i64,
    pub started_at: String,
    pub last_active_at: String,
}

impl SessionSummary {
    fn new(row: SessionOverview, persona: &StoredPersona) -> Self {
        let machine_name = persona
            .document
            .machine(&row.machine_key)
            .map_or_else(|| row.machine_key.clone(), |m| m.name.clone());
        SessionSummary {
            session_id: row.id,
            channel: row.channel,
            user_session_id: row.user_session_id,
            player_name: row.player_name,
            player_gender: row.player_gender,
            machine_id: row.machine_id,
            machine_key: row.machine_key,
            machine_name,
            current_state: row.current_state,
            score: row.score,
            outcome: row.outcome,
            message_count: row.message_count,
            started_at: row.started_at,
            last_active_at: row.last_active_at,
        }
    }
}

/// One page of sessions.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// How many sessions match the filter in all.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A message with what the state machine did on it.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub(crate) struct SessionMessage {
    pub id: Uuid,
    pub seq: i64,
    /// `assistant` or `user`.
    pub role: String,
    pub content: String,
    pub state_key_at_time: Option<String>,
    pub score_at_time: Option<i64>,
    pub decision: Option<String>,
    pub follow_up_triggered: bool,
    /// On player messages: why the evaluator decided as it did. Never shown to players.
    pub evaluator_reason: Option<String>,
    pub created_at: String,
}

/// A session with its history, oldest message first (at most the newest 1,000).
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct SessionDetail {
    pub session: SessionSummary,
    pub messages: Vec<SessionMessage>,
}

fn default_limit() -> i64 {
    20
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SessionListQuery {
    /// 1–100.
    #[serde(default = "default_limit")]
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
    /// Only this scenario's sessions.
    pub machine_id: Option<String>,
    /// `ACCEPT`, `REJECT`, `KICK_OUT`, or `active` for sessions still running.
    pub outcome: Option<String>,
    /// `sdk` or `web`.
    pub channel: Option<String>,
}

impl SessionListQuery {
    fn filter(&self) -> ApiResult<SessionFilter> {
        let bad =
            |message: &str| ApiError::bad_request(ErrorCode::InvalidQuery, message.to_string());
        if !(1..=100).contains(&self.limit) {
            return Err(bad("`limit` must be between 1 and 100"));
        }
        if self.offset < 0 {
            return Err(bad("`offset` must not be negative"));
        }
        let outcome = match self.outcome.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("active") => Some(None),
            Some(o @ ("ACCEPT" | "REJECT" | "KICK_OUT")) => Some(Some(o.to_string())),
            Some(_) => return Err(bad("`outcome` must be ACCEPT, REJECT, KICK_OUT or active")),
        };
        let channel = match self.channel.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("sdk") => Some("sdk"),
            Some("web") => Some("web"),
            Some(_) => return Err(bad("`channel` must be sdk or web")),
        };
        let machine_id = match self.machine_id.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(parse_uuid("machine_id", raw)?),
        };
        Ok(SessionFilter {
            machine_id,
            outcome,
            channel,
        })
    }
}

/// The caller's persona; anyone else's is reported as missing.
async fn own_persona(ctx: &ApiContext, user_id: Uuid, id: Uuid) -> ApiResult<StoredPersona> {
    db::personas::get(&ctx.db, id)
        .await?
        .filter(|p| p.owner_id == user_id)
        .ok_or_else(|| ApiError::not_found(ErrorCode::PersonaNotFound, "Persona not found"))
}

/// The players' sessions of one of the caller's personas, most recently active first.
#[utoipa::path(get, path = "/api/v1/personas/{id}/sessions", tag = "personas",
    params(("id" = Uuid, Path), SessionListQuery), security(("jwt" = [])),
    responses((status = 200, body = SessionPage), (status = 404, body = foil_types::wire::ErrorBody)))]
async fn list_sessions(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(id): UuidPath,
    ApiQuery(q): ApiQuery<SessionListQuery>,
) -> ApiResult<Json<SessionPage>> {
    let filter = q.filter()?;
    let persona = own_persona(&ctx, user.id, id).await?;
    let (rows, total) = creator_sessions::list(&ctx.db, id, &filter, q.limit, q.offset).await?;
    Ok(Json(SessionPage {
        sessions: rows
            .into_iter()
            .map(|row| SessionSummary::new(row, &persona))
            .collect(),
        total,
        limit: q.limit,
        offset: q.offset,
    }))
}

/// One session of one of the caller's personas, with its history and the evaluator's reasons.
#[utoipa::path(get, path = "/api/v1/personas/{id}/sessions/{session_id}", tag = "personas",
    params(("id" = Uuid, Path), ("session_id" = Uuid, Path)), security(("jwt" = [])),
    responses((status = 200, body = SessionDetail), (status = 404, body = foil_types::wire::ErrorBody)))]
async fn get_session(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPathPair(id, session_id): UuidPathPair,
) -> ApiResult<Json<SessionDetail>> {
    let persona = own_persona(&ctx, user.id, id).await?;
    let row = creator_sessions::get(&ctx.db, id, session_id)
        .await?
        .ok_or_else(|| ApiError::not_found(ErrorCode::SessionNotFound, "Session not found"))?;
    let messages = sessions::messages(
        &ctx.db,
        session_id,
        0,
        ctx.config.max_history_messages.max(1),
    )
    .await?;
    Ok(Json(SessionDetail {
        session: SessionSummary::new(row, &persona),
        messages: messages
            .into_iter()
            .map(|m| SessionMessage {
                id: m.id,
                seq: m.seq,
                role: m.role.as_str().to_owned(),
                content: m.content,
                state_key_at_time: m.state_key_at_time,
                score_at_time: m.score_at_time,
                decision: m.decision,
                follow_up_triggered: m.follow_up_triggered,
                evaluator_reason: m.evaluator_reason,
                created_at: m.created_at,
            })
            .collect(),
    }))
}

/// The owner's sessions routes ("General" rate limit).
pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
}
