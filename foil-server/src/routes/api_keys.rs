//! API-key management (api.md §2.2), signed in with a JWT.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::api_key::{self, KeyScope, KEY_PREFIX};
use crate::auth::extract::{AuthUser, Creator};
use crate::context::ApiContext;
use crate::db;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{require_text, ApiJson, UuidPath};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateApiKeyRequest {
    /// What the key is for, e.g. the game's name.
    pub name: String,
    /// `full` (default): the SDK routes, the key a game build carries. `mint`: only minting
    /// player tokens, the key a game's backend keeps (docs/player-tokens.md).
    #[serde(default)]
    pub scope: KeyScope,
}

/// A new key. `key` is shown this once and never again. *Exact.*
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct CreatedApiKey {
    pub id: Uuid,
    pub name: String,
    pub key: String,
    pub key_prefix: String,
    pub created_at: String,
    /// Present only for a `mint` key, so a default key's answer keeps the exact shape of
    /// api.md §2.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<KeyScope>,
}

/// A key in the owner's list; never the key itself.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct ApiKeyListItem {
    pub id: Uuid,
    pub name: String,
    pub key_prefix: String,
    /// The key's last 4 characters.
    pub key_hint: String,
    /// `mint` for a key that only mints player tokens; absent for an ordinary (`full`) key, so
    /// the list keeps the shape of api.md §2.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<KeyScope>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

const MAX_KEY_NAME_CHARS: usize = 100;

/// Creates an API key for the caller's account.
#[utoipa::path(post, path = "/api/v1/sdk/api-keys", tag = "api-keys", security(("jwt" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, body = foil_types::wire::ErrorBody),
        (status = 401, body = foil_types::wire::ErrorBody),
        (status = 403, description = "anonymous user", body = foil_types::wire::ErrorBody),
        (status = 409, description = "the account has `max_api_keys_per_account` active keys",
            body = foil_types::wire::ErrorBody),
    ))]
async fn create_key(
    State(ctx): State<ApiContext>,
    Creator(user): Creator,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    require_text("name", &body.name, MAX_KEY_NAME_CHARS)?;
    let name = body.name.trim().to_string();
    let key = api_key::generate();
    let id = Uuid::new_v4();
    let created_at = db::now();
    let max_keys = ctx.config.max_api_keys_per_account;
    let stored = db::api_keys::insert_capped(
        &ctx.db,
        db::api_keys::NewKey {
            id,
            user_id: user.id,
            name: &name,
            key_hash: &ctx.key_hasher.hash(&key),
            key_hint: &api_key::hint(&key),
            scope: body.scope,
            created_at: &created_at,
        },
        max_keys,
    )
    .await?;
    if !stored {
        return Err(ApiError::conflict(
            ErrorCode::ApiKeyLimit,
            format!("An account can have at most {max_keys} active API keys; revoke one first"),
        ));
    }
    tracing::info!(key_id = %id, user_id = %user.id, scope = body.scope.as_str(), "API key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            id,
            name,
            key,
            key_prefix: KEY_PREFIX.into(),
            created_at,
            scope: body.scope.if_not_full(),
        }),
    ))
}

/// The caller's active keys.
#[utoipa::path(get, path = "/api/v1/sdk/api-keys", tag = "api-keys", security(("jwt" = [])),
    responses((status = 200, body = [ApiKeyListItem]), (status = 401, body = foil_types::wire::ErrorBody)))]
async fn list_keys(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<ApiKeyListItem>>> {
    let keys = db::api_keys::list_active(&ctx.db, user.id).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| ApiKeyListItem {
                id: k.id,
                name: k.name,
                key_prefix: KEY_PREFIX.into(),
                key_hint: k.key_hint,
                scope: k.scope.if_not_full(),
                created_at: k.created_at,
                last_used_at: k.last_used_at,
            })
            .collect(),
    ))
}

/// Revokes one of the caller's keys; it is rejected from the next request on.
#[utoipa::path(delete, path = "/api/v1/sdk/api-keys/{key_id}", tag = "api-keys", security(("jwt" = [])),
    params(("key_id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, description = "no such key of the caller", body = foil_types::wire::ErrorBody),
    ))]
async fn revoke_key(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(key_id): UuidPath,
) -> ApiResult<StatusCode> {
    if db::api_keys::revoke(&ctx.db, user.id, key_id, &db::now()).await? {
        tracing::info!(%key_id, "API key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            ErrorCode::ApiKeyNotFound,
            "API key not found",
        ))
    }
}

pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}
