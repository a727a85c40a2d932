//! Game SDK routes (`/api/v1/sdk/*`, `X-API-Key`). The `sdk_auth` layer has already checked
//! the key and the per-key rate limit; handlers receive the [`SdkAccount`].

use axum::extract::State;
use axum::Json;
use foil_types::wire::{Persona, ValidateLlmKeyRequest, ValidateLlmKeyResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::extract::SdkAccount;
use crate::chat::llm::LlmHeaders;
use crate::chat::service;
use crate::context::ApiContext;
use crate::db::{self, personas::Listing};
use crate::error::ApiResult;
use crate::extract::{parse_json, RawBody};

/// Most personas one account's key lists; far above any real game.
const MAX_SDK_PERSONAS: i64 = 1000;

/// The published personas of the key's account (a player token's own, when it names some).
/// *Exact keys.*
#[utoipa::path(get, path = "/api/v1/sdk/personas", tag = "sdk", security(("api_key" = [])),
    responses(
        (status = 200, body = [Persona]),
        (status = 401, description = "missing, invalid or revoked key", body = foil_types::wire::ErrorBody),
        (status = 429, body = foil_types::wire::RateLimitBody),
    ))]
async fn list_personas(
    State(ctx): State<ApiContext>,
    account: SdkAccount,
) -> ApiResult<Json<Vec<Persona>>> {
    let rows = db::personas::list(
        &ctx.db,
        Listing::PublishedOwned(account.user_id),
        MAX_SDK_PERSONAS,
        0,
    )
    .await?;
    Ok(Json(
        rows.into_iter()
            .filter(|r| account.allows_persona(r.id))
            .map(|r| Persona {
                id: r.id,
                name: r.name,
                description: r.description,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect(),
    ))
}

/// Checks the LLM key in the `X-LLM-*` headers with the cheapest real call the provider
/// offers. A bad key or model is reported in the body, not as an error status.
#[utoipa::path(post, path = "/api/v1/sdk/validate-llm-key", tag = "sdk", security(("api_key" = [])),
    request_body = ValidateLlmKeyRequest,
    responses(
        (status = 200, body = ValidateLlmKeyResult),
        (status = 401, body = foil_types::wire::ErrorBody),
        (status = 429, body = foil_types::wire::RateLimitBody),
    ))]
async fn validate_llm_key(
    State(ctx): State<ApiContext>,
    _account: SdkAccount,
    headers: LlmHeaders,
    RawBody(body): RawBody,
) -> ApiResult<Json<ValidateLlmKeyResult>> {
    // The body is optional: no body means no model (the header's or the default is used).
    let body: ValidateLlmKeyRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ValidateLlmKeyRequest::default()
    } else {
        parse_json(&body)?
    };
    Ok(Json(service::validate_llm_key(&ctx, &headers, body).await))
}

/// SDK routes in the "SDK General" rate-limit category.
pub(crate) fn general_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list_personas))
        .routes(routes!(validate_llm_key))
}
