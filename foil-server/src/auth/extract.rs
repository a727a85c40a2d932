//! Extractors and middleware that authenticate the caller.
//!
//! * [`AuthUser`] / [`MaybeAuthUser`]: a JWT in `Authorization: Bearer` (dashboard, creator and
//!   web-chat routes). The user row is created the first time a valid `sub` is seen.
//! * [`Creator`]: an [`AuthUser`] who is not anonymous (keys, personas, generation).
//! * [`SdkAccount`]: the account behind `X-API-Key` (an API key or a player token), checked by
//!   [`check_credential`] in the SDK routes' layer (`crate::layers::sdk_auth`).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use uuid::Uuid;

use crate::auth::api_key::KeyScope;
use crate::auth::player_token::{self, PlayerGrant, TokenError};
use crate::chat::service::Caller;
use crate::context::ApiContext;
use crate::db;
use crate::db::users::User;
use crate::error::{ApiError, ErrorCode};

/// A caller authenticated by a JWT.
#[derive(Debug, Clone)]
pub(crate) struct AuthUser(pub User);

/// A signed-in user who is not anonymous: creating API keys and personas and using generation
/// need one, so a throw-away anonymous sign-in cannot mint keys or spend on generation.
#[derive(Debug, Clone)]
pub(crate) struct Creator(pub User);

/// A caller that may have presented a JWT. A token that is present but invalid is still a 401.
#[derive(Debug, Clone)]
pub(crate) struct MaybeAuthUser(pub Option<User>);

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized(ErrorCode::InvalidToken, "Invalid authorization header")
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "Authorization must be `Bearer <token>`",
        )),
    }
}

async fn authenticate(ctx: &ApiContext, token: &str) -> Result<User, ApiError> {
    let claims = ctx.jwt.verify(token).await.map_err(|e| {
        tracing::info!(reason = %e, "rejected JWT");
        ApiError::unauthorized(ErrorCode::InvalidToken, "Invalid or expired token")
    })?;
    let user = User {
        id: claims.id,
        email: claims.email,
        display_name: claims.display_name,
        is_anonymous: claims.is_anonymous,
    };
    ctx.seen_users.remember(&ctx.db, &user).await?;
    Ok(user)
}

impl FromRequestParts<ApiContext> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers)? {
            Some(token) => Ok(AuthUser(authenticate(ctx, token).await?)),
            None => Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "Missing bearer token",
            )),
        }
    }
}

impl FromRequestParts<ApiContext> for Creator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, ctx).await?;
        if user.is_anonymous {
            return Err(ApiError::forbidden(
                ErrorCode::AnonymousUser,
                "Anonymous users cannot do this; sign in with an account",
            ));
        }
        Ok(Creator(user))
    }
}

impl FromRequestParts<ApiContext> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers)? {
            Some(token) => Ok(MaybeAuthUser(Some(authenticate(ctx, token).await?))),
            None => Ok(MaybeAuthUser(None)),
        }
    }
}

/// The account behind a valid API key or player token; inserted by `crate::layers::sdk_auth`.
#[derive(Debug, Clone)]
pub(crate) struct SdkAccount {
    /// The user who created the key; the key reaches this account's published personas.
    pub user_id: Uuid,
    /// The key presented, or the `mint` key that minted the player token presented.
    pub key_id: Uuid,
    /// What a player token grants, when one was presented instead of a key.
    pub player: Option<Arc<PlayerGrant>>,
}

impl SdkAccount {
    /// Whether this caller may reach `persona` at all (a player token may name only some).
    pub(crate) fn allows_persona(&self, persona: Uuid) -> bool {
        self.player
            .as_ref()
            .is_none_or(|p| p.allows_persona(persona))
    }

    /// The chat caller for `persona` acting for the player `user_session_id`. A player token
    /// acts only for its own player and personas: anything else is 403 `player_token_scope`.
    /// A missing `user_session_id` is left for the service to refuse (400).
    pub(crate) fn caller(
        &self,
        persona: Uuid,
        user_session_id: Option<&str>,
    ) -> Result<Caller, ApiError> {
        if let Some(player) = &self.player {
            let other_player = user_session_id
                .is_some_and(|id| !id.trim().is_empty() && id != player.user_session_id);
            if other_player || !player.allows_persona(persona) {
                return Err(ApiError::forbidden(
                    ErrorCode::PlayerTokenScope,
                    "The player token does not cover this player or persona",
                ));
            }
        }
        Ok(Caller::Sdk {
            account: self.user_id,
            key: self.key_id,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SdkAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<SdkAccount>()
            .cloned()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("sdk_auth layer missing")))
    }
}

/// What was presented in `X-API-Key`.
pub(crate) enum Credential {
    /// An API key, with its scope.
    Key(KeyScope),
    /// A player token (minted by a `mint` key).
    PlayerToken,
}

/// The account behind `X-API-Key`: an API key, or a player token.
pub(crate) async fn check_credential(
    ctx: &ApiContext,
    headers: &HeaderMap,
) -> Result<(SdkAccount, Credential), ApiError> {
    let presented = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or_else(ApiError::invalid_api_key)?;
    if player_token::is_player_token(presented) {
        let account = check_player_token(ctx, presented).await?;
        return Ok((account, Credential::PlayerToken));
    }
    check_api_key(ctx, presented).await
}

/// A player token: its signature and expiry, and that the key that minted it is still an
/// active `mint` key of its account (so revoking that key ends its tokens at once).
async fn check_player_token(ctx: &ApiContext, token: &str) -> Result<SdkAccount, ApiError> {
    let tokens = ctx
        .player_tokens
        .as_ref()
        .ok_or_else(ApiError::invalid_api_key)?;
    let grant = tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => ApiError::player_token_expired(),
        TokenError::Invalid => ApiError::invalid_api_key(),
    })?;
    if !db::api_keys::is_active_mint_key(&ctx.db, grant.mint_key, grant.account).await? {
        return Err(ApiError::invalid_api_key());
    }
    Ok(SdkAccount {
        user_id: grant.account,
        key_id: grant.mint_key,
        player: Some(Arc::new(grant)),
    })
}

async fn check_api_key(
    ctx: &ApiContext,
    presented: &str,
) -> Result<(SdkAccount, Credential), ApiError> {
    let key = Some(presented)
        .filter(|k| crate::auth::api_key::is_well_formed(k))
        .ok_or_else(ApiError::invalid_api_key)?;
    let hash = ctx.key_hasher.hash(key);
    let stored = db::api_keys::find_by_hash(&ctx.db, &hash)
        .await?
        .filter(|stored| !stored.revoked && ctx.key_hasher.matches(key, &stored.key_hash))
        .ok_or_else(ApiError::invalid_api_key)?;
    ctx.key_uses.record(&ctx.db, stored.id);
    Ok((
        SdkAccount {
            user_id: stored.user_id,
            key_id: stored.id,
            player: None,
        },
        Credential::Key(stored.scope),
    ))
}
