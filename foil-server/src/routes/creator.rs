//! AI generation for creators (api.md §3): persona and machine drafts, text polish. JWT; the
//! "Generation" rate limit; the LLM from the `X-LLM-*` headers (response model and key).

use axum::extract::State;
use axum::Json;
use foil_types::persona::Machine;
use foil_types::wire::{ErrorBody, RateLimitBody};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::Creator;
use crate::chat::llm::{LlmHeaders, StepLlm};
use crate::context::ApiContext;
use crate::db::users::User;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{require_text, ApiJson};
use crate::generate::{self, PersonaDraft};
use crate::routes::personas::owned_persona;
use crate::usage::Attribution;

const MAX_BRIEF_CHARS: usize = 4000;
const MAX_POLISH_CHARS: usize = 20_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeneratePersonaRequest {
    /// What the NPC should be, in a few sentences.
    pub brief: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateMachineRequest {
    /// One of the caller's personas, whose identity the scenario is written for...
    #[serde(default)]
    pub persona_id: Option<Uuid>,
    /// ...or the identity text itself.
    #[serde(default)]
    pub identity: Option<String>,
    /// What the scenario is about.
    pub brief: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolishRequest {
    pub text: String,
    /// Which field the text is for, e.g. `identity_prompt`.
    pub field: String,
    #[serde(default)]
    pub context: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct PolishResponse {
    pub text: String,
}

/// The response step's model and key, its calls recorded for the creator (and the persona
/// being worked on, if any); refused when the creator's daily budget is used up.
async fn response_step(
    ctx: &ApiContext,
    user: &User,
    persona: Option<Uuid>,
    headers: &LlmHeaders,
) -> ApiResult<StepLlm> {
    let meter = ctx.meter(Attribution {
        account: user.id,
        api_key: None,
        persona,
    });
    meter.check_budget(&ctx.config).await?;
    Ok(ctx.llm_selection(headers, None)?.metered(meter).response)
}

/// Drafts a persona (name, description, identity prompt) from a brief.
#[utoipa::path(post, path = "/api/v1/creator/generate/persona", tag = "personas", security(("jwt" = [])),
    request_body = GeneratePersonaRequest,
    responses((status = 200, body = PersonaDraft), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "anonymous user", body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn generate_persona(
    State(ctx): State<ApiContext>,
    Creator(user): Creator,
    headers: LlmHeaders,
    ApiJson(body): ApiJson<GeneratePersonaRequest>,
) -> ApiResult<Json<PersonaDraft>> {
    require_text("brief", &body.brief, MAX_BRIEF_CHARS)?;
    let step = response_step(&ctx, &user, None, &headers).await?;
    Ok(Json(
        generate::persona(&ctx.llm, &step, ctx.llm_timeout(), body.brief.trim()).await?,
    ))
}

/// Drafts a machine (scenario) that passes validation, for a persona or an identity text.
#[utoipa::path(post, path = "/api/v1/creator/generate/machine", tag = "personas", security(("jwt" = [])),
    request_body = GenerateMachineRequest,
    responses((status = 200, body = Machine), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn generate_machine(
    State(ctx): State<ApiContext>,
    Creator(user): Creator,
    headers: LlmHeaders,
    ApiJson(body): ApiJson<GenerateMachineRequest>,
) -> ApiResult<Json<Machine>> {
    require_text("brief", &body.brief, MAX_BRIEF_CHARS)?;
    let identity = match (body.persona_id, body.identity.as_deref()) {
        (Some(id), _) => {
            owned_persona(&ctx, &user, id)
                .await?
                .document
                .persona
                .identity_prompt
        }
        (None, Some(identity)) => {
            require_text("identity", identity, MAX_POLISH_CHARS)?;
            identity.trim().to_string()
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                ErrorCode::MissingField,
                "`persona_id` or `identity` is required",
            ))
        }
    };
    let step = response_step(&ctx, &user, body.persona_id, &headers).await?;
    Ok(Json(
        generate::machine(
            &ctx.llm,
            &step,
            ctx.llm_timeout(),
            &identity,
            body.brief.trim(),
        )
        .await?,
    ))
}

/// Rewrites a text field for clarity, keeping its meaning.
#[utoipa::path(post, path = "/api/v1/creator/polish", tag = "personas", security(("jwt" = [])),
    request_body = PolishRequest,
    responses((status = 200, body = PolishResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "anonymous user", body = ErrorBody), (status = 429, body = RateLimitBody), (status = 502, body = ErrorBody), (status = 504, body = ErrorBody)))]
async fn polish(
    State(ctx): State<ApiContext>,
    Creator(user): Creator,
    headers: LlmHeaders,
    ApiJson(body): ApiJson<PolishRequest>,
) -> ApiResult<Json<PolishResponse>> {
    require_text("text", &body.text, MAX_POLISH_CHARS)?;
    require_text("field", &body.field, 100)?;
    let step = response_step(&ctx, &user, None, &headers).await?;
    let text = generate::polish(
        &ctx.llm,
        &step,
        ctx.llm_timeout(),
        &body.text,
        body.field.trim(),
        body.context.as_deref(),
    )
    .await?;
    Ok(Json(PolishResponse { text }))
}

/// The generation routes ("Generation" rate-limit category).
pub(crate) fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(generate_persona))
        .routes(routes!(generate_machine))
        .routes(routes!(polish))
}
