//! Feature routers, one module per area of the API. Each handler carries its OpenAPI
//! description (`#[utoipa::path]`), from which `/openapi.json` is generated.

pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod chat;
pub(crate) mod creator;
pub(crate) mod ops;
pub(crate) mod persona_sessions;
pub(crate) mod personas;
pub(crate) mod player_tokens;
pub(crate) mod sdk;
pub(crate) mod usage;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Foil Engine API",
        description = "AI-driven NPCs for games: personas, state-machine scenarios and chat sessions.",
    ),
    components(schemas(foil_types::wire::ErrorBody, foil_types::wire::RateLimitBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Identity: Supabase JWTs and self-hosted accounts"),
        (name = "api-keys", description = "API keys for the Game SDK"),
        (name = "personas", description = "Personas and the creator"),
        (name = "sdk", description = "Game SDK routes (X-API-Key: an API key or a player token)"),
        (name = "web-chat", description = "Web chat (JWT)"),
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "dashboard", description = "The creator dashboard served at /"),
        (name = "usage", description = "LLM usage of the signed-in account"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Adds the error responses every operation can give, so each handler documents only its
/// own: 400 (malformed input), 401 (operations with security), 429 (API routes), 500 and 503.
pub(crate) fn document_common_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::Operation;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let response = |description: &str, schema: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schema)))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations: [&mut Option<Operation>; 4] = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str, schema: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| response(description, schema));
            };
            if path.starts_with("/api/") {
                add("400", "Malformed input", "ErrorBody");
                add("429", "Rate limited (with Retry-After)", "RateLimitBody");
                if secured {
                    add("401", "Missing or invalid credentials", "ErrorBody");
                }
            }
            add(
                "500",
                "Internal error (details are logged, never sent)",
                "ErrorBody",
            );
            add(
                "503",
                "Database unavailable (with Retry-After)",
                "ErrorBody",
            );
        }
    }
}

/// The document every route adds itself to.
pub(crate) fn openapi_base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
