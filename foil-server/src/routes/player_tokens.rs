//! Minting player tokens (docs/player-tokens.md): a game's backend, holding a `mint` key, asks
//! for a short-lived token for one player and hands it to the game, which uses it in place of
//! an API key.

use axum::extract::State;
use axum::Json;
use foil_types::wire::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::SdkAccount;
use crate::auth::player_token::{
    PlayerGrant, DEFAULT_TTL_SECS, MAX_PERSONAS, MAX_TTL_SECS, MIN_TTL_SECS,
};
use crate::chat::service::check_user_session_id;
use crate::context::ApiContext;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MintPlayerTokenRequest {
    /// The player the token acts for: the `user_session_id` the game sends (≤ 128 characters).
    pub user_session_id: String,
    /// Lifetime in seconds (60 to 86400; default 3600).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Only these personas (1 to 100); default: every published persona of the account.
    #[serde(default)]
    pub persona_ids: Option<Vec<Uuid>>,
}

/// A player token; send it as `X-API-Key` until `expires_at`. *Exact.*
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct MintedPlayerToken {
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// Mints a short-lived token for one player (and optionally some personas). Needs an API key
/// with scope `mint`, which belongs on the game's backend, never in a game build.
#[utoipa::path(post, path = "/api/v1/sdk/player-tokens", tag = "sdk", security(("api_key" = [])),
    request_body = MintPlayerTokenRequest,
    responses(
        (status = 200, body = MintedPlayerToken),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "the key's scope is not `mint`", body = ErrorBody),
        (status = 429, body = foil_types::wire::RateLimitBody),
    ))]
async fn mint_player_token(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
    ApiJson(body): ApiJson<MintPlayerTokenRequest>,
) -> ApiResult<Json<MintedPlayerToken>> {
    check_user_session_id(&body.user_session_id)?;
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidTtl,
            format!("`ttl_seconds` must be {MIN_TTL_SECS} to {MAX_TTL_SECS}"),
        ));
    }
    if let Some(ids) = &body.persona_ids {
        if ids.is_empty() || ids.len() > MAX_PERSONAS {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidPersonaIds,
                format!("`persona_ids` must list 1 to {MAX_PERSONAS} personas, or be left out"),
            ));
        }
    }
    let tokens = ctx.player_tokens.as_ref().ok_or_else(|| {
        ApiError::bad_request(
            ErrorCode::PlayerTokensUnavailable,
            "This server has no JWT secret (FOIL_JWT_SECRET) to sign player tokens with",
        )
    })?;
    let expires = chrono::Utc::now() + chrono::Duration::seconds(ttl as i64);
    let grant = PlayerGrant {
        account: account.user_id,
        mint_key: account.key_id,
        user_session_id: body.user_session_id,
        persona_ids: body.persona_ids,
        expires_at: expires.timestamp(),
    };
    Ok(Json(MintedPlayerToken {
        token: tokens.mint(&grant),
        expires_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(mint_player_token))
}
