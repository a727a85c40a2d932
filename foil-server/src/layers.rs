//! The middleware of route groups (`app::api_router` decides which group gets which): per-IP
//! rate limits, SDK credentials with per-key limits, the time limit of routes that call no LLM,
//! and CORS. The server-wide in-flight cap and stream slots live in `limits`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::api_key::KeyScope;
use crate::auth::extract::{check_credential, Credential};
use crate::config::Config;
use crate::context::ApiContext;
use crate::error::{ApiError, ErrorCode};
use crate::rate_limit::{client_ip_of, Category};

/// Per-IP rate limit for a group of routes.
pub(crate) async fn ip_rate_limit(
    State((ctx, category)): State<(ApiContext, Category)>,
    request: Request,
    next: Next,
) -> Response {
    let ip = client_ip_of(&request, ctx.limiter.trusted_proxies());
    match ctx.limiter.check_ip(category, ip).await {
        Ok(()) => next.run(request).await,
        Err(limited) => limited.into_response(),
    }
}

/// Bounds a whole request of a route that calls no LLM: 408 past `request_timeout_secs`, so a
/// stuck request frees its in-flight slot. (LLM routes are bounded by the LLM timeout instead.)
pub(crate) async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Which credentials an SDK route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SdkAccess {
    /// The game's routes: a `full` key or a player token.
    Play,
    /// Minting player tokens: a `mint` key only.
    Mint,
}

/// Middleware for SDK routes: authenticates `X-API-Key`, then rate-limits per key and per
/// account in `category`. A failed authentication counts against the caller's per-IP
/// [`Category::AuthFailure`] limit; an address over it is refused before its key is looked up,
/// so guessing floods never reach the database.
pub(crate) async fn sdk_auth(
    State((ctx, category, access)): State<(ApiContext, Category, SdkAccess)>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip_of(&request, ctx.limiter.trusted_proxies());
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

/// CORS for the configured origins (none: no CORS headers, browsers keep other origins out).
pub(crate) fn cors_layer(config: &Config) -> CorsLayer {
    if config.cors_origins.is_empty() {
        return CorsLayer::new();
    }
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        tracing::warn!(
            "FOIL_CORS_ORIGINS is `*`: any web page may call this API from its visitors' \
             browsers; list your game's origins instead"
        );
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(tower_http::cors::Any)
        .expose_headers([HeaderName::from_static("retry-after")])
}
