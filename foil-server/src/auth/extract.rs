//! Extractors and middleware that authenticate the caller.
//!
//! * [`AuthUser`] / [`MaybeAuthUser`]: a JWT in `Authorization: Bearer` (dashboard, creator and
//!   web-chat routes). The user row is created the first time a valid `sub` is seen.
//! * [`Creator`]: an [`AuthUser`] who is not anonymous (keys, personas, generation).
//! * [`sdk_auth`]: middleware for `/api/v1/sdk/*` that checks `X-API-Key` (an API key or a
//!   player token), applies the per-key (per-player for tokens) and per-account rate limits and
//!   hands the handler an [`SdkAccount`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use uuid::Uuid;

use crate::app::{client_ip_of, ApiContext};
use crate::auth::api_key::KeyScope;
use crate::auth::player_token::{self, PlayerGrant, TokenError};
use crate::chat::service::Caller;
use crate::db;
use crate::db::users::User;
use crate::error::{ApiError, ErrorCode};
use crate::rate_limit::Category;

/// A caller authenticated by a JWT.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// A signed-in user who is not anonymous: creating API keys and personas and using generation
/// need one, so a throw-away anonymous sign-in cannot mint keys or spend on generation.
#[derive(Debug, Clone)]
pub struct Creator(pub User);

/// A caller that may have presented a JWT. A token that is present but invalid is still a 401.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<User>);

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
    ctx.remember_user(&user).await?;
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

/// The account behind a valid API key or player token; inserted by [`sdk_auth`].
#[derive(Debug, Clone)]
pub struct SdkAccount {
    /// The user who created the key; the key reaches this account's published personas.
    pub user_id: Uuid,
    /// The key presented, or the `mint` key that minted the player token presented.
    pub key_id: Uuid,
    /// What a player token grants, when one was presented instead of a key.
    pub player: Option<Arc<PlayerGrant>>,
}

impl SdkAccount {
    /// Whether this caller may reach `persona` at all (a player token may name only some).
    pub fn allows_persona(&self, persona: Uuid) -> bool {
        self.player
            .as_ref()
            .is_none_or(|p| p.allows_persona(persona))
    }

    /// The chat caller for `persona` acting for the player `user_session_id`. A player token
    /// acts only for its own player and personas: anything else is 403 `player_token_scope`.
    /// A missing `user_session_id` is left for the service to refuse (400).
    pub fn caller(&self, persona: Uuid, user_session_id: Option<&str>) -> Result<Caller, ApiError> {
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

/// Which credentials an SDK route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkAccess {
    /// The game's routes: a `full` key or a player token.
    Play,
    /// Minting player tokens: a `mint` key only.
    Mint,
}

/// What was presented in `X-API-Key`.
enum Credential {
    Key(KeyScope),
    PlayerToken,
}

/// How often `last_used_at` is refreshed at most, so a busy key does not write on every call.
const LAST_USED_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// Bound on [`ApiContext::key_touched`]; past it the memory starts over.
const TOUCHED_KEYS_CAPACITY: usize = 100_000;

/// Middleware for SDK routes: authenticates `X-API-Key`, then rate-limits per key and per
/// account in `category`. A failed authentication counts against the caller's per-IP
/// [`Category::AuthFailure`] limit; an address over it is refused before its key is looked up,
/// so guessing floods never reach the database.
pub async fn sdk_auth(
    State((ctx, category, access)): State<(ApiContext, Category, SdkAccess)>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip_of(&ctx, &request);
    if let Err(refused) = ctx.limiter.check_refused(ip) {
        return refused.into_response();
    }
    let (account, credential) = match check_credential(&ctx, request.headers()).await {
        Ok(found) => found,
        Err(err) => {
            // An expired token was genuine once: not a guess, so not counted against the IP.
            if !err.is_player_token_expired() {
                if let Err(limited) = ctx.limiter.record_auth_failure(ip).await {
                    return limited.into_response();
                }
            }
            return err.into_response();
        }
    };
    if let Err(refused) = check_access(access, &credential) {
        return refused.into_response();
    }
    // A key's allowance holds per key and, the same, per account across its keys: more keys
    // are not more quota. A player token's allowance is its own player's: only the game's
    // backend can mint tokens, each for one player, and the account's daily budgets and stream
    // caps still bound the whole game.
    let limit_keys = match &account.player {
        Some(player) => vec![format!(
            "player:{}:{}",
            account.key_id, player.user_session_id
        )],
        None => vec![
            account.key_id.to_string(),
            format!("account:{}", account.user_id),
        ],
    };
    for limit_key in &limit_keys {
        if let Err(limited) = ctx.limiter.check(category, limit_key).await {
            return limited.into_response();
        }
    }
    request.extensions_mut().insert(account);
    next.run(request).await
}

/// Refuses a credential the route does not take (403 `api_key_scope`).
fn check_access(access: SdkAccess, credential: &Credential) -> Result<(), ApiError> {
    match (access, credential) {
        (SdkAccess::Play, Credential::Key(KeyScope::Full) | Credential::PlayerToken)
        | (SdkAccess::Mint, Credential::Key(KeyScope::Mint)) => Ok(()),
        (SdkAccess::Play, Credential::Key(KeyScope::Mint)) => Err(ApiError::forbidden(
            ErrorCode::ApiKeyScope,
            "This API key can only mint player tokens",
        )),
        (SdkAccess::Mint, _) => Err(ApiError::forbidden(
            ErrorCode::ApiKeyScope,
            "Only an API key with scope `mint` can mint player tokens",
        )),
    }
}

/// The account behind `X-API-Key`: an API key, or a player token.
async fn check_credential(
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
    // `last_used_at` has a one-minute resolution: skip the write (and the task) when this
    // process recorded the key's use within that minute.
    let resolution = LAST_USED_RESOLUTION.to_std().unwrap_or_default();
    let recent = ctx
        .key_touched
        .get(&stored.id)
        .is_some_and(|at| at.elapsed() < resolution);
    if !recent {
        let now = chrono::Utc::now();
        let (db, touched) = (ctx.db.clone(), ctx.key_touched.clone());
        // Off the request path: a lost timestamp update is harmless.
        tokio::spawn(async move {
            let stale_before = db::format_time(now - LAST_USED_RESOLUTION);
            match db::api_keys::touch(&db, stored.id, &db::format_time(now), &stale_before).await {
                Ok(()) => {
                    if touched.len() >= TOUCHED_KEYS_CAPACITY {
                        touched.clear();
                    }
                    touched.insert(stored.id, std::time::Instant::now());
                }
                Err(e) => tracing::debug!(error = %e, "could not record API key use"),
            }
        });
    }
    Ok((
        SdkAccount {
            user_id: stored.user_id,
            key_id: stored.id,
            player: None,
        },
        Credential::Key(stored.scope),
    ))
}
