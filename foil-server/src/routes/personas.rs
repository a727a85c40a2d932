//! Personas and the creator (api.md §3): browsing, the full document, save, publish, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use foil_types::persona::{Limits, PersonaDocument, ValidationIssue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::{AuthUser, Creator, MaybeAuthUser};
use crate::context::ApiContext;
use crate::db::personas::{Listing, PersonaSummary, StoredPersona};
use crate::db::{self, users::User};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{parse_json_at, parse_uuid, ApiQuery, JsonProblem, RawBody, UuidPath};

impl From<&StoredPersona> for PersonaSummary {
    fn from(p: &StoredPersona) -> Self {
        PersonaSummary {
            id: p.id,
            name: p.name.clone(),
            description: p.description.clone(),
            is_public: p.is_public,
            is_published: p.is_published,
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_limit() -> i64 {
    20
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only published, public personas (ignored with `my_personas=true`).
    #[serde(default = "default_true")]
    pub public_only: bool,
    /// The caller's own personas, drafts too (needs a JWT).
    #[serde(default)]
    pub my_personas: bool,
    /// 1–100.
    #[serde(default = "default_limit")]
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
}

/// Lists personas: public ones for anyone, or the caller's own.
#[utoipa::path(get, path = "/api/v1/personas", tag = "personas", params(ListQuery),
    security((), ("jwt" = [])),
    responses((status = 200, body = [PersonaSummary]), (status = 400, body = foil_types::wire::ErrorBody)))]
async fn list_personas(
    State(ctx): State<ApiContext>,
    MaybeAuthUser(user): MaybeAuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<PersonaSummary>>> {
    if !(1..=100).contains(&q.limit) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "`limit` must be between 1 and 100",
        ));
    }
    if q.offset < 0 {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            "`offset` must not be negative",
        ));
    }
    let listing = match (q.my_personas, q.public_only, user) {
        (true, _, Some(user)) => Listing::Owned(user.id),
        (true, _, None) => {
            return Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "`my_personas=true` needs a signed-in user",
            ))
        }
        (false, false, Some(user)) => Listing::PublicOrOwned(user.id),
        (false, _, _) => Listing::Public,
    };
    let rows = db::personas::list(&ctx.db, listing, q.limit, q.offset).await?;
    Ok(Json(rows))
}

/// Whether `user` may see a persona with these flags and owner.
fn visible(owner_id: Uuid, is_public: bool, is_published: bool, user: Option<&User>) -> bool {
    (is_public && is_published) || user.is_some_and(|u| u.id == owner_id)
}

/// Denies access: 401 to an anonymous caller, 403 to a signed-in one.
fn deny(user: Option<&User>) -> ApiError {
    match user {
        None => ApiError::unauthorized(ErrorCode::MissingToken, "Missing bearer token"),
        Some(_) => ApiError::forbidden(
            ErrorCode::Forbidden,
            "You do not have access to this persona",
        ),
    }
}

fn persona_not_found() -> ApiError {
    ApiError::not_found(ErrorCode::PersonaNotFound, "Persona not found")
}

/// One persona's summary (public and published, or the caller's own).
#[utoipa::path(get, path = "/api/v1/personas/{id}", tag = "personas",
    params(("id" = Uuid, Path)), security((), ("jwt" = [])),
    responses(
        (status = 200, body = PersonaSummary),
        (status = 403, body = foil_types::wire::ErrorBody),
        (status = 404, body = foil_types::wire::ErrorBody),
    ))]
async fn get_persona(
    State(ctx): State<ApiContext>,
    MaybeAuthUser(user): MaybeAuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json<PersonaSummary>> {
    let (owner, row) = db::personas::get_summary(&ctx.db, id)
        .await?
        .ok_or_else(persona_not_found)?;
    if !visible(owner, row.is_public, row.is_published, user.as_ref()) {
        return Err(deny(user.as_ref()));
    }
    Ok(Json(row))
}

/// Loads a persona the caller owns (404 if missing, 403 if someone else's).
pub(crate) async fn owned_persona(
    ctx: &ApiContext,
    user: &User,
    id: Uuid,
) -> ApiResult<StoredPersona> {
    let persona = db::personas::get(&ctx.db, id)
        .await?
        .ok_or_else(persona_not_found)?;
    if persona.owner_id != user.id {
        return Err(deny(Some(user)));
    }
    Ok(persona)
}

/// The full persona document, with ids. Owner only.
#[utoipa::path(get, path = "/api/v1/personas/{id}/full", tag = "personas",
    params(("id" = Uuid, Path)), security(("jwt" = [])),
    responses(
        (status = 200, body = PersonaDocument),
        (status = 403, body = foil_types::wire::ErrorBody),
        (status = 404, body = foil_types::wire::ErrorBody),
    ))]
async fn get_full(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json<PersonaDocument>> {
    Ok(Json(
        owned_persona(&ctx, &user, id).await?.document_with_ids(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SaveQuery {
    /// Replace this persona instead of creating one.
    pub persona_id: Option<String>,
}

/// Why a persona document was refused: it did not parse, or it broke validation rules.
pub(crate) enum DocumentProblems {
    Unparsable(JsonProblem),
    Invalid(Vec<ValidationIssue>),
}

impl DocumentProblems {
    /// Every problem with its path, the way `creator/validate` reports them.
    fn into_issues(self) -> Vec<ValidationIssue> {
        match self {
            DocumentProblems::Unparsable(p) => vec![ValidationIssue {
                path: p.path,
                message: p.message,
            }],
            DocumentProblems::Invalid(issues) => issues,
        }
    }
}

/// Parses and validates a persona document: the one check behind `creator/save` and
/// `creator/validate` (the rules themselves live in `foil_types`, shared with `persona import`).
/// An accepted document comes with its warnings (what it carries that is ignored).
pub(crate) fn check_document(
    bytes: &[u8],
) -> Result<(PersonaDocument, Vec<ValidationIssue>), DocumentProblems> {
    let doc: PersonaDocument = parse_json_at(bytes).map_err(DocumentProblems::Unparsable)?;
    let review = doc.review(&Limits::default());
    if review.errors.is_empty() {
        Ok((doc, review.warnings))
    } else {
        Err(DocumentProblems::Invalid(review.errors))
    }
}

/// Parses and validates a persona document, reporting every problem at once.
pub(crate) fn parse_document(bytes: &[u8]) -> ApiResult<PersonaDocument> {
    check_document(bytes)
        .map(|(doc, _)| doc)
        .map_err(|problems| match problems {
            DocumentProblems::Unparsable(p) => ApiError::BadRequest {
                code: ErrorCode::InvalidPersona,
                message: p.message,
                details: None,
            },
            DocumentProblems::Invalid(issues) => ApiError::invalid_persona(issues),
        })
}

/// The result of `creator/validate`.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub(crate) struct ValidationReport {
    /// True when the document would be accepted by `creator/save`.
    pub valid: bool,
    /// Every problem, each naming its path in the document (empty when valid).
    pub issues: Vec<ValidationIssue>,
    /// What the document carries that is accepted but ignored (e.g. thresholds on a
    /// `pass_fail` machine), each naming its path; reported only when there are no `issues`.
    pub warnings: Vec<ValidationIssue>,
}

/// Checks a persona document with the same rules as `creator/save`, storing nothing. Any
/// document content gets 200 with every problem listed, parse problems included, so an editor
/// can validate as the creator types.
#[utoipa::path(post, path = "/api/v1/creator/validate", tag = "personas", security(("jwt" = [])),
    request_body = PersonaDocument,
    responses((status = 200, body = ValidationReport), (status = 413, body = foil_types::wire::ErrorBody)))]
async fn validate(
    AuthUser(_user): AuthUser,
    RawBody(body): RawBody,
) -> ApiResult<Json<ValidationReport>> {
    let (issues, warnings) = match check_document(&body) {
        Ok((_, warnings)) => (Vec::new(), warnings),
        Err(problems) => (problems.into_issues(), Vec::new()),
    };
    Ok(Json(ValidationReport {
        valid: issues.is_empty(),
        issues,
        warnings,
    }))
}

/// Creates a persona (201) or, with `persona_id`, replaces its whole definition atomically.
/// Machines keep their ids by `machine_key`; running sessions whose state disappeared end
/// gracefully on their next message.
#[utoipa::path(post, path = "/api/v1/creator/save", tag = "personas", security(("jwt" = [])),
    params(SaveQuery), request_body = PersonaDocument,
    responses(
        (status = 200, description = "replaced", body = PersonaSummary),
        (status = 201, description = "created", body = PersonaSummary),
        (status = 400, description = "invalid document; `error.details` lists every problem", body = foil_types::wire::ErrorBody),
        (status = 403, body = foil_types::wire::ErrorBody),
        (status = 404, body = foil_types::wire::ErrorBody),
        (status = 413, body = foil_types::wire::ErrorBody),
    ))]
async fn save(
    State(ctx): State<ApiContext>,
    Creator(user): Creator,
    ApiQuery(q): ApiQuery<SaveQuery>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<PersonaSummary>)> {
    let target = q
        .persona_id
        .as_deref()
        .map(|raw| parse_uuid("persona_id", raw))
        .transpose()?;
    let doc = parse_document(&body)?;
    match target {
        None => {
            let stored = db::personas::create(&ctx.db, user.id, &doc).await?;
            tracing::info!(persona_id = %stored.id, "persona created");
            Ok((StatusCode::CREATED, Json((&stored).into())))
        }
        Some(id) => {
            owned_persona(&ctx, &user, id).await?;
            let stored = db::personas::replace(&ctx.db, id, &doc)
                .await?
                .ok_or_else(persona_not_found)?;
            tracing::info!(persona_id = %id, "persona replaced");
            Ok((StatusCode::OK, Json((&stored).into())))
        }
    }
}

async fn set_published(
    ctx: &ApiContext,
    user: &User,
    id: Uuid,
    published: bool,
) -> ApiResult<Json<PersonaSummary>> {
    let (owner, _) = db::personas::get_summary(&ctx.db, id)
        .await?
        .ok_or_else(persona_not_found)?;
    if owner != user.id {
        return Err(deny(Some(user)));
    }
    let row = db::personas::set_published(&ctx.db, id, published)
        .await?
        .ok_or_else(persona_not_found)?;
    Ok(Json(row))
}

/// Makes a persona reachable by the owner's API keys (and web chat, if public).
#[utoipa::path(post, path = "/api/v1/personas/{id}/publish", tag = "personas",
    params(("id" = Uuid, Path)), security(("jwt" = [])),
    responses((status = 200, body = PersonaSummary), (status = 403, body = foil_types::wire::ErrorBody), (status = 404, body = foil_types::wire::ErrorBody)))]
async fn publish(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json<PersonaSummary>> {
    set_published(&ctx, &user, id, true).await
}

/// Takes a persona off the SDK and web chat; existing sessions stay stored.
#[utoipa::path(post, path = "/api/v1/personas/{id}/unpublish", tag = "personas",
    params(("id" = Uuid, Path)), security(("jwt" = [])),
    responses((status = 200, body = PersonaSummary), (status = 403, body = foil_types::wire::ErrorBody), (status = 404, body = foil_types::wire::ErrorBody)))]
async fn unpublish(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<Json<PersonaSummary>> {
    set_published(&ctx, &user, id, false).await
}

/// Deletes a persona with its machines, sessions and messages.
#[utoipa::path(delete, path = "/api/v1/personas/{id}", tag = "personas",
    params(("id" = Uuid, Path)), security(("jwt" = [])),
    responses((status = 204, description = "deleted"), (status = 403, body = foil_types::wire::ErrorBody), (status = 404, body = foil_types::wire::ErrorBody)))]
async fn delete_persona(
    State(ctx): State<ApiContext>,
    AuthUser(user): AuthUser,
    UuidPath(id): UuidPath,
) -> ApiResult<StatusCode> {
    let (owner, _) = db::personas::get_summary(&ctx.db, id)
        .await?
        .ok_or_else(persona_not_found)?;
    if owner != user.id {
        return Err(deny(Some(&user)));
    }
    db::personas::delete(&ctx.db, id).await?;
    tracing::info!(persona_id = %id, "persona deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `document_limit`: the body limit of the routes that take a whole persona document (larger
/// than the server-wide one; the inner layer wins).
pub(crate) fn router(document_limit: usize) -> OpenApiRouter<ApiContext> {
    let documents = OpenApiRouter::new()
        .routes(routes!(save))
        .routes(routes!(validate))
        .layer(axum::extract::DefaultBodyLimit::max(document_limit))
        .layer(axum::Extension(crate::extract::BodyLimit(document_limit)));
    OpenApiRouter::new()
        .routes(routes!(list_personas))
        .routes(routes!(get_persona, delete_persona))
        .routes(routes!(get_full))
        .merge(documents)
        .routes(routes!(publish))
        .routes(routes!(unpublish))
}
