//! The application context: everything a handler needs, built once at start-up from the
//! configuration and the database, cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use foil_llm::{ClientOptions, LlmClient, Providers};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::api_key::KeyHasher;
use crate::auth::caches::{KeyUses, SeenUsers};
use crate::auth::jwt::{JwtConfig, JwtVerifier};
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::rate_limit::{spawn_pruning, RateLimiter};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The database pool.
    pub db: Db,
    /// Checks JWTs (HS256 secret and/or JWKS) and issues self-hosted ones.
    pub jwt: Arc<JwtVerifier>,
    /// Rate limits, in memory or shared through Redis.
    pub limiter: Arc<RateLimiter>,
    /// Hashes API keys (with the pepper, when configured).
    pub key_hasher: KeyHasher,
    /// LLM providers from configuration (base URLs and operator keys).
    pub providers: Arc<Providers>,
    /// The pooled LLM client.
    pub llm: LlmClient,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Users already recorded, so a JWT request writes to the database only on first sight.
    pub(crate) seen_users: Arc<SeenUsers>,
    /// When this process last recorded each API key's use (`last_used_at`).
    pub(crate) key_uses: KeyUses,
    /// Requests in flight (streams until their body ends), `max_in_flight` permits.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Open reply streams per API key and account.
    pub(crate) streams: Arc<crate::limits::StreamSlots>,
    /// Sessions being summarized or backing off after a failed summary.
    pub summaries: Arc<crate::chat::summary_gate::SummaryGate>,
    /// LLM usage, summed in memory and written in batches.
    pub(crate) usage: Arc<crate::usage::UsageRecorder>,
    /// Where Argon2 runs: bounded, so logins cannot exhaust CPU or memory.
    pub(crate) password_work: Arc<crate::auth::password::PasswordWork>,
    /// Signs and checks player tokens; `None` without a JWT secret (then none can be minted).
    pub player_tokens: Option<Arc<crate::auth::player_token::PlayerTokens>>,
    /// One parsed copy of each persona, checked against the database on every use.
    pub(crate) personas: Arc<crate::chat::persona_cache::PersonaCache>,
}

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
        let providers = crate::chat::llm::providers_from_config(&config)?;
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
            metrics: crate::http_metrics::metrics_handle(),
            seen_users: Arc::default(),
            key_uses: KeyUses::default(),
            password_work: Arc::new(crate::auth::password::PasswordWork::for_this_machine()),
            player_tokens,
            personas: Arc::default(),
        })
    }

    /// Records LLM calls made for `who`.
    pub(crate) fn meter(&self, who: crate::usage::Attribution) -> crate::usage::Meter {
        crate::usage::Meter::new(self.usage.clone(), who)
    }

    /// The models and keys of a request's steps (headers, else the defaults); the operator's
    /// provider keys only for `operator_key_models` (default: the default model).
    pub(crate) fn llm_selection(
        &self,
        headers: &crate::chat::llm::LlmHeaders,
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
    pub(crate) fn llm_timeout(&self) -> Duration {
        Duration::from_secs(self.config.llm_timeout_secs.max(1))
    }

    /// The time and generation limits of the chat pipeline's LLM calls.
    pub(crate) fn llm_limits(&self) -> crate::chat::steps::StepLimits {
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
}
