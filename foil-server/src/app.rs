//! The application context shared by every handler, and the router that puts the feature
//! routers, rate limits and cross-cutting layers together.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use dashmap::DashMap;
use foil_llm::{ClientOptions, LlmClient, ProviderConfig, Providers, Secret, StructuredDialect};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::auth::api_key::KeyHasher;
use crate::auth::extract::{sdk_auth, SdkAccess};
use crate::auth::jwt::{JwtConfig, JwtVerifier};
use crate::config::Config;
use crate::db::users::User;
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::extract::{BodyLimit, BodyTimeout};
use crate::rate_limit::{client_ip, spawn_pruning, Category, RateLimiter};
use crate::{dashboard, routes};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    pub config: Arc<Config>,
    pub db: Db,
    pub jwt: Arc<JwtVerifier>,
    pub limiter: Arc<RateLimiter>,
    pub key_hasher: KeyHasher,
    /// LLM providers from configuration (base URLs and operator keys).
    pub providers: Arc<Providers>,
    /// The pooled LLM client.
    pub llm: LlmClient,
    pub metrics: PrometheusHandle,
    /// Users already recorded, with their anonymous flag, so a JWT request writes to the
    /// database only on first sight or when the flag changes.
    seen_users: Arc<DashMap<Uuid, bool>>,
    /// When this process last recorded each API key's use (`last_used_at`), so a busy key
    /// costs one database write a minute instead of one per request.
    pub(crate) key_touched: Arc<DashMap<Uuid, std::time::Instant>>,
    /// Requests in flight (streams until their body ends), `max_in_flight` permits.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Open reply streams per API key and account.
    pub streams: Arc<crate::limits::StreamSlots>,
    /// Sessions being summarized or backing off after a failed summary.
    pub summaries: Arc<crate::chat::summary::SummaryGate>,
    /// LLM usage, summed in memory and written in batches.
    pub usage: Arc<crate::usage::UsageRecorder>,
    /// Where Argon2 runs: bounded, so logins cannot exhaust CPU or memory.
    pub password_work: Arc<crate::auth::password::PasswordWork>,
    /// Signs and checks player tokens; `None` without a JWT secret (then none can be minted).
    pub player_tokens: Option<Arc<crate::auth::player_token::PlayerTokens>>,
}

/// Bound on [`ApiContext::seen_users`]; past it the cache starts over.
const SEEN_USERS_CAPACITY: usize = 100_000;

impl ApiContext {
    /// Builds the context over an open, migrated database. `config.jwt_secret` must already be
    /// resolved (see [`crate::server::resolve_jwt_secret`]).
    pub async fn new(config: Config, db: Db) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        let jwt = JwtVerifier::new(
            JwtConfig {
                secret: config.jwt_secret.clone(),
                jwks_url: config.jwks_url.clone(),
                audience: config.jwt_audience.clone(),
                issuer: config.jwt_issuer.clone(),
                token_ttl_secs: config.jwt_ttl_secs,
                ..JwtConfig::default()
            },
            http.clone(),
        )?;
        let limiter = Arc::new(RateLimiter::new(&config.rate_limit).await);
        spawn_pruning(&limiter);
        let providers = providers_from_config(&config)?;
        let llm = LlmClient::new(ClientOptions::default())?;
        let usage = crate::usage::UsageRecorder::new(db.clone());
        crate::usage::spawn_flushing(&usage);
        let player_tokens = config
            .jwt_secret
            .as_deref()
            .map(|secret| Arc::new(crate::auth::player_token::PlayerTokens::new(secret)));
        Ok(ApiContext {
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
            streams: Arc::default(),
            summaries: Arc::default(),
            usage,
            key_hasher: KeyHasher::new(config.api_key_pepper.as_deref()),
            config: Arc::new(config),
            db,
            jwt: Arc::new(jwt),
            limiter,
            providers: Arc::new(providers),
            llm,
            metrics: metrics_handle(),
            seen_users: Arc::new(DashMap::new()),
            key_touched: Arc::new(DashMap::new()),
            password_work: Arc::new(crate::auth::password::PasswordWork::for_this_machine()),
            player_tokens,
        })
    }

    /// Records LLM calls made for `who`.
    pub fn meter(&self, who: crate::usage::Attribution) -> crate::usage::Meter {
        crate::usage::Meter::new(self.usage.clone(), who)
    }

    /// The models and keys of a request's steps (headers, else the defaults); the operator's
    /// provider keys only for `operator_key_models` (default: the default model).
    pub fn llm_selection(
        &self,
        headers: &axum::http::HeaderMap,
        model_override: Option<&str>,
    ) -> Result<crate::chat::llm::LlmSelection, ApiError> {
        let default_only = [self.config.default_model.clone()];
        let operator_models = if self.config.operator_key_models.is_empty() {
            &default_only[..]
        } else {
            &self.config.operator_key_models[..]
        };
        crate::chat::llm::LlmSelection::from_headers(
            headers,
            &self.providers,
            &self.config.default_model,
            operator_models,
            model_override,
        )
    }

    /// The time limit of one LLM call (for streams: the first byte and each gap).
    pub fn llm_timeout(&self) -> Duration {
        Duration::from_secs(self.config.llm_timeout_secs.max(1))
    }

    /// The time and generation limits of the chat pipeline's LLM calls.
    pub fn llm_limits(&self) -> crate::chat::steps::StepLimits {
        let c = &self.config;
        crate::chat::steps::StepLimits {
            timeout: self.llm_timeout(),
            eval_tokens: c.llm_max_tokens_eval.max(1),
            reply_tokens: c.llm_max_tokens_reply.max(1),
            summary_tokens: c.llm_max_tokens_summary.max(1),
            reply_chars: c.max_reply_chars.max(1),
            prompt_tokens: c.llm_max_prompt_tokens,
        }
    }

    /// Records a user seen in a valid token (first sight creates the row).
    pub async fn remember_user(&self, user: &User) -> Result<(), ApiError> {
        if self.seen_users.get(&user.id).as_deref() == Some(&user.is_anonymous) {
            return Ok(());
        }
        db::users::upsert_seen(&self.db, user).await?;
        if self.seen_users.len() >= SEEN_USERS_CAPACITY {
            self.seen_users.clear();
        }
        self.seen_users.insert(user.id, user.is_anonymous);
        Ok(())
    }
}

/// The provider registry: built-in defaults, overridden and extended by `[providers.NAME]`.
fn providers_from_config(config: &Config) -> anyhow::Result<Providers> {
    let mut providers = Providers::with_defaults();
    // A provider that needs no key (`ollama`: a default URL on this host) is reachable only
    // when the operator configured it: otherwise any caller could make the server call a
    // local port.
    let keyless: Vec<String> = providers
        .iter()
        .filter(|p| {
            !p.requires_key
                && p.kind != foil_llm::ProviderKind::Offline
                && !config.providers.contains_key(&p.name)
        })
        .map(|p| p.name.clone())
        .collect();
    for name in keyless {
        providers.remove(&name);
    }
    for (name, settings) in &config.providers {
        if providers.get(name).is_none() {
            let kind = settings.kind.as_deref().unwrap_or("openai");
            let base_url = settings.base_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "custom provider `{name}` needs a base_url (FOIL_PROVIDER_{}_BASE_URL)",
                    name.to_uppercase()
                )
            })?;
            let provider = match kind {
                "openai" => ProviderConfig::openai_compatible(name.clone(), base_url),
                "anthropic" => ProviderConfig::anthropic(name.clone(), base_url),
                other => {
                    anyhow::bail!("provider `{name}`: unknown kind `{other}` (openai or anthropic)")
                }
            };
            providers.insert(provider)?;
        } else if let Some(base_url) = &settings.base_url {
            providers.set_base_url(name, base_url)?;
        }
        if let Some(key) = &settings.api_key {
            providers.set_api_key(name, Secret::new(key.clone()))?;
        }
        if let Some(dialect) = &settings.structured {
            let dialect: StructuredDialect = dialect
                .parse()
                .map_err(|e| anyhow::anyhow!("provider `{name}`: {e}"))?;
            providers.set_structured(name, dialect)?;
        }
    }
    Ok(providers)
}

/// The process-wide Prometheus recorder (a recorder can be installed only once per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0,
                ])
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may exist in an embedding program; ours then just renders empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The caller's IP: the socket peer, or `X-Forwarded-For` when the peer is a trusted proxy.
pub fn client_ip_of(ctx: &ApiContext, request: &Request) -> IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
    client_ip(peer, request.headers(), ctx.limiter.trusted_proxies())
}

/// Per-IP rate limit for a group of routes.
async fn ip_rate_limit(
    State((ctx, category)): State<(ApiContext, Category)>,
    request: Request,
    next: Next,
) -> Response {
    let ip = client_ip_of(&ctx, &request);
    match ctx.limiter.check_ip(category, ip).await {
        Ok(()) => next.run(request).await,
        Err(limited) => limited.into_response(),
    }
}

/// Bounds a whole request of a route that calls no LLM: 408 past `request_timeout_secs`, so a
/// stuck request frees its in-flight slot. (LLM routes are bounded by the LLM timeout instead.)
async fn request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// The metric label of a request method: the standard ones, else `other`, so made-up methods
/// cannot mint label values (routes are templates or `unmatched`, statuses are the server's).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Request count and latency by route, method and status; every label from a fixed set.
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status),
    ];
    metrics::counter!("foil_http_requests_total", &labels).increment(1);
    metrics::histogram!("foil_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

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
        .layer(middleware::from_fn(record_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(axum::Extension(BodyTimeout(Duration::from_secs(
            ctx.config.body_read_timeout_secs.max(1),
        ))))
        .layer(cors_layer(&ctx.config))
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
    let per_ip = |category| middleware::from_fn_with_state((ctx.clone(), category), ip_rate_limit);
    let per_key = |category| {
        middleware::from_fn_with_state((ctx.clone(), category, SdkAccess::Play), sdk_auth)
    };

    let timed = middleware::from_fn_with_state(
        Duration::from_secs(ctx.config.request_timeout_secs.max(1)),
        request_timeout,
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
        .merge(routes::web_chat::general_router())
        .layer(per_ip(Category::General));
    let web_chat = routes::web_chat::chat_router().layer(per_ip(Category::Chat));
    let login = routes::auth::login_router()
        .layer(timed.clone())
        .layer(per_ip(Category::Login));
    let generation = routes::creator::router().layer(per_ip(Category::Generation));
    let sdk_general = OpenApiRouter::new()
        .merge(routes::sdk::general_router().layer(timed))
        .merge(routes::sdk_chat::general_router())
        .layer(per_key(Category::SdkGeneral));
    let minting = routes::player_tokens::router().layer(middleware::from_fn_with_state(
        (ctx.clone(), Category::SdkGeneral, SdkAccess::Mint),
        sdk_auth,
    ));
    let sdk_chat = routes::sdk_chat::chat_router().layer(per_key(Category::SdkChat));

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

fn cors_layer(config: &Config) -> CorsLayer {
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
