//! Feature routers, one module per area of the API. Each handler carries its OpenAPI
//! description (`#[utoipa::path]`), from which `/openapi.json` is generated.

pub mod api_keys;
pub mod auth;
pub mod creator;
pub mod ops;
pub mod personas;
pub mod sdk;
pub mod sdk_chat;
pub mod web_chat;

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
        (name = "sdk", description = "Game SDK routes (X-API-Key)"),
        (name = "web-chat", description = "Web chat (JWT)"),
        (name = "ops", description = "Health, readiness and metrics"),
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

/// The document every route adds itself to.
pub fn openapi_base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
