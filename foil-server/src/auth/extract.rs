//! Extractors and middleware that authenticate the caller.
//!
//! * [`AuthUser`] / [`MaybeAuthUser`]: a JWT in `Authorization: Bearer` (dashboard, creator and
//!   web-chat routes). The user row is created the first time a valid `sub` is seen.
//! * [`Creator`]: an [`AuthUser`] who is not anonymous (keys, personas, generation).
//! * [`sdk_auth`]: middleware for `/api/v1/sdk/*` that checks `X-API-Key`, applies the per-key
//!   rate limit and hands the handler an [`SdkAccount`].

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::app::{client_ip_of, ApiContext};
use crate::db;
use crate::db::users::User;
use crate::error::ApiError;
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
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "Invalid authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "invalid_token",
            "Authorization must be `Bearer <token>`",
        )),
    }
}

async fn authenticate(ctx: &ApiContext, token: &str) -> Result<User, ApiError> {
    let claims = ctx.jwt.verify(token).await.map_err(|e| {
        tracing::info!(reason = %e, "rejected JWT");
        ApiError::unauthorized("invalid_token", "Invalid or expired token")
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
                "missing_token",
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
                "anonymous_user",
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

/// The account behind a valid API key; inserted by [`sdk_auth`].
#[derive(Debug, Clone, Copy)]
pub struct SdkAccount {
    /// The user who created the key; the key reaches this account's published personas.
    pub user_id: Uuid,
    pub key_id: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for SdkAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<SdkAccount>()
            .copied()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("sdk_auth layer missing")))
    }
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
    State((ctx, category)): State<(ApiContext, Category)>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip_of(&ctx, &request);
    if let Err(refused) = ctx.limiter.check_refused(ip) {
        return refused.into_response();
    }
    let account = match check_api_key(&ctx, request.headers()).await {
        Ok(account) => account,
        Err(err) => {
            if let Err(limited) = ctx.limiter.record_auth_failure(ip).await {
                return limited.into_response();
            }
            return err.into_response();
        }
    };
    if let Err(limited) = ctx
        .limiter
        .check(category, &account.key_id.to_string())
        .await
    {
        return limited.into_response();
    }
    // The same allowance per account, across its keys: more keys are not more quota.
    if let Err(limited) = ctx
        .limiter
        .check(category, &format!("account:{}", account.user_id))
        .await
    {
        return limited.into_response();
    }
    request.extensions_mut().insert(account);
    next.run(request).await
}

async fn check_api_key(ctx: &ApiContext, headers: &HeaderMap) -> Result<SdkAccount, ApiError> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
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
    Ok(SdkAccount {
        user_id: stored.user_id,
        key_id: stored.id,
    })
}
