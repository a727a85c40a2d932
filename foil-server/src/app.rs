//! The composition root: the feature routers, each route group's layers (rate limits, SDK
//! credentials, time limits) and the cross-cutting layers, put together into one router.
//! Nothing else lives here: the context is in `context`, the middleware in `layers` and
//! `http_metrics`.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::context::ApiContext;
use crate::extract::{BodyLimit, BodyTimeout};
use crate::layers::{self, SdkAccess};
use crate::rate_limit::Category;
use crate::{dashboard, http_metrics, routes};

/// The full application: API routes, their rate limits, and the cross-cutting layers.
pub fn router(ctx: ApiContext) -> Router {
    let (api, mut openapi) = api_router(ctx.clone()).split_for_parts();
    routes::document_common_responses(&mut openapi);
    let x_request_id = HeaderName::from_static("x-request-id");
    let limit = ctx.config.max_body_bytes;
    api.merge(routes::ops::openapi_router(openapi))
        .fallback_service(dashboard::router(&ctx.config))
        // One semaphore shared by every route's copy of the layer: the cap is server-wide.
        .layer(middleware::from_fn_with_state(
            ctx.in_flight.clone(),
            crate::limits::limit_in_flight,
        ))
        .layer(middleware::from_fn(http_metrics::record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(axum::Extension(BodyTimeout(Duration::from_secs(
            ctx.config.body_read_timeout_secs.max(1),
        ))))
        .layer(layers::cors_layer(&ctx.config))
        // Inside the request-id and trace layers, so the 500 carries the id it is logged with.
        .layer(CatchPanicLayer::custom(crate::error::panic_response))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Only the method, matched route and request id: URIs and headers may carry
                // keys, so they are never logged.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|p| p.as_str())
                    .unwrap_or("unmatched");
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), route, request_id)
            }),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Every documented route with its rate-limit layer; also the source of `/openapi.json`.
pub fn api_router(ctx: ApiContext) -> OpenApiRouter {
    let per_ip =
        |category| middleware::from_fn_with_state((ctx.clone(), category), layers::ip_rate_limit);
    let per_key = |category| {
        middleware::from_fn_with_state((ctx.clone(), category, SdkAccess::Play), layers::sdk_auth)
    };

    let timed = middleware::from_fn_with_state(
        Duration::from_secs(ctx.config.request_timeout_secs.max(1)),
        layers::request_timeout,
    );

    let general = OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .merge(routes::auth::router())
                .merge(routes::api_keys::router())
                .merge(routes::personas::router(ctx.config.max_document_bytes))
                .merge(routes::persona_sessions::router())
                .merge(dashboard::api_router())
                .merge(routes::usage::router())
                .layer(timed.clone()),
        )
        .merge(routes::chat::web::general_router())
        .layer(per_ip(Category::General));
    let web_chat = routes::chat::web::chat_router().layer(per_ip(Category::Chat));
    let login = routes::auth::login_router()
        .layer(timed.clone())
        .layer(per_ip(Category::Login));
    let generation = routes::creator::router().layer(per_ip(Category::Generation));
    let sdk_general = OpenApiRouter::new()
        .merge(routes::sdk::general_router().layer(timed))
        .merge(routes::chat::sdk::general_router())
        .layer(per_key(Category::SdkGeneral));
    let minting = routes::player_tokens::router().layer(middleware::from_fn_with_state(
        (ctx.clone(), Category::SdkGeneral, SdkAccess::Mint),
        layers::sdk_auth,
    ));
    let sdk_chat = routes::chat::sdk::chat_router().layer(per_key(Category::SdkChat));

    OpenApiRouter::with_openapi(routes::openapi_base())
        .merge(general)
        .merge(web_chat)
        .merge(login)
        .merge(generation)
        .merge(sdk_general)
        .merge(sdk_chat)
        .merge(minting)
        .merge(routes::ops::router())
        .with_state(ctx)
}
