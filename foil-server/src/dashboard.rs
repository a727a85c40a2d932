//! The creator dashboard: the single-page app built from `dashboard/` (its committed `dist/`),
//! served by this binary at `/` with the API reference at `/docs`, and the small public route
//! that tells the page how creators sign in.
//!
//! Release builds embed the files (rust-embed), so a deployment is one binary and never needs
//! Node; debug builds read them from `dashboard/dist` at run time, so a rebuilt dashboard shows
//! up without recompiling the server. Hashed assets are cached as immutable, pages as no-cache;
//! every page carries a Content-Security-Policy without inline scripts, and nothing is loaded
//! from another origin (except the operator's Supabase project, for sign-in).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use rust_embed::RustEmbed;
use serde::{Deserialize, Serialize};
use tower_http::compression::CompressionLayer;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use crate::context::ApiContext;
use crate::error::{ApiError, ErrorCode};

#[derive(RustEmbed)]
#[folder = "../dashboard/dist"]
struct DashboardFiles;

/// The page of every client-side route (the SPA fallback).
const APP_PAGE: &str = "index.html";
/// The API reference page, served at `/docs`.
const DOCS_PAGE: &str = "docs.html";
/// Vite puts content-hashed files here; they never change under the same name.
const HASHED_ASSETS: &str = "assets/";

/// How the dashboard signs creators in (`GET /api/v1/dashboard/config`).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub(crate) struct DashboardConfig {
    /// `builtin` (this server's accounts) or `supabase` (Supabase Auth).
    pub auth_mode: String,
    /// Whether `auth/signup` is served (built-in accounts only).
    pub signup_enabled: bool,
    /// The Supabase project URL, in `supabase` mode.
    pub supabase_url: Option<String>,
    /// The Supabase anon key (public by design), in `supabase` mode.
    pub supabase_anon_key: Option<String>,
    /// The model used when a request names none (`offline` unless the operator changed it).
    pub default_model: String,
}

impl DashboardConfig {
    fn from_config(config: &Config) -> Self {
        let supabase = config
            .supabase_url
            .as_ref()
            .zip(config.supabase_anon_key.as_ref());
        DashboardConfig {
            auth_mode: if supabase.is_some() {
                "supabase"
            } else {
                "builtin"
            }
            .into(),
            signup_enabled: supabase.is_none() && config.self_signup_enabled(),
            supabase_url: supabase.map(|(url, _)| url.clone()),
            supabase_anon_key: supabase.map(|(_, key)| key.clone()),
            default_model: config.default_model.clone(),
        }
    }
}

/// What the dashboard needs before sign-in: how creators sign in, and the default model.
#[utoipa::path(get, path = "/api/v1/dashboard/config", tag = "dashboard",
    responses((status = 200, body = DashboardConfig)))]
async fn dashboard_config(State(ctx): State<ApiContext>) -> Json<DashboardConfig> {
    Json(DashboardConfig::from_config(&ctx.config))
}

/// The documented dashboard route ("General" rate limit).
pub(crate) fn api_router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(dashboard_config))
}

/// Headers every dashboard page and file carries.
#[derive(Clone)]
struct PageHeaders {
    csp: HeaderValue,
}

impl PageHeaders {
    fn new(config: &Config) -> Self {
        // Supabase Auth is the one other origin the page may talk to, and only when configured.
        let supabase = config
            .supabase_url
            .as_deref()
            .and_then(origin_of)
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'{supabase}; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        );
        PageHeaders {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// `scheme://host[:port]` of a URL, or `None` when it is not an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let safe = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    safe.then(|| format!("{scheme}://{authority}"))
}

/// Serves the dashboard for every request no API route matched: a file of the build, the
/// API reference at `/docs`, or the app page for client-side routes. Unknown API paths keep
/// their JSON 404, and `dashboard = false` serves the API alone.
pub(crate) fn router(config: &Config) -> Router {
    if !config.dashboard {
        return Router::new().fallback(|| async { not_found() });
    }
    let headers = Arc::new(PageHeaders::new(config));
    Router::new()
        .fallback(serve)
        .with_state(headers)
        // Only the dashboard is compressed: the API's JSON is small and its streams must not
        // be buffered.
        .layer(CompressionLayer::new())
}

fn not_found() -> ApiError {
    ApiError::not_found(ErrorCode::NotFound, "No such route")
}

async fn serve(State(page): State<Arc<PageHeaders>>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        || path == "api"
        || path.starts_with("api/")
    {
        return not_found().into_response();
    }
    let name = match path {
        "" => APP_PAGE,
        "docs" | "docs/" => DOCS_PAGE,
        other => other,
    };
    let (name, file) = match DashboardFiles::get(name) {
        Some(file) => (name, file),
        // A missing asset is a 404, not the app page (a stale tab must not parse HTML as JS).
        None if name.starts_with(HASHED_ASSETS) || name.contains('.') => {
            return (StatusCode::NOT_FOUND, "Not found").into_response()
        }
        None => match DashboardFiles::get(APP_PAGE) {
            Some(file) => (APP_PAGE, file),
            None => return not_found().into_response(),
        },
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let cache = if name.starts_with(HASHED_ASSETS) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = file.data.into_owned().into_response();
        if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
            response.headers_mut().insert(header::CONTENT_TYPE, mime);
        }
        response
    };
    let headers = response.headers_mut();
    page.apply(headers);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_authority_only() {
        assert_eq!(
            origin_of("https://abc.supabase.co/auth/v1").as_deref(),
            Some("https://abc.supabase.co")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:54321").as_deref(),
            Some("http://127.0.0.1:54321")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a.b; script-src *"), None);
    }

    #[test]
    fn supabase_mode_needs_both_url_and_key() {
        let mut config = Config::default();
        assert_eq!(DashboardConfig::from_config(&config).auth_mode, "builtin");
        config.supabase_url = Some("https://x.supabase.co".into());
        assert_eq!(DashboardConfig::from_config(&config).auth_mode, "builtin");
        config.supabase_anon_key = Some("anon".into());
        let dashboard = DashboardConfig::from_config(&config);
        assert_eq!(dashboard.auth_mode, "supabase");
        assert!(!dashboard.signup_enabled);
    }
}
