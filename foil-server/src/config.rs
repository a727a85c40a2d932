//! Server configuration: built-in defaults, then a TOML file (`--config`), then `FOIL_*`
//! environment variables (the environment wins). `foil-server --help` lists every setting.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rate_limit::RateLimitConfig;

/// Every setting of the server. Field names are the TOML keys.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite://PATH` (default) or `postgres://...`.
    pub database_url: String,
    /// Maximum database connections in the pool.
    pub database_max_connections: u32,
    /// How long a request waits for a database connection before answering 503.
    pub database_timeout_secs: u64,
    /// HS256 secret shared with Supabase (its legacy JWT secret) and used for self-issued tokens.
    /// When absent, a development secret is generated once and kept beside the SQLite database.
    pub jwt_secret: Option<String>,
    /// Supabase JWKS URL for ES256/RS256 signing keys.
    pub jwks_url: Option<String>,
    /// Required `aud` claim.
    pub jwt_audience: String,
    /// Required `iss` claim, when set.
    pub jwt_issuer: Option<String>,
    /// Lifetime of tokens issued by `auth/login`, `auth/signup` and `foil-server token`.
    pub jwt_ttl_secs: u64,
    /// Whether the built-in `auth/signup` and `auth/login` routes are served. Unset: served
    /// unless Supabase (`supabase_url`) or a JWKS is configured; see [`Config::self_signup_enabled`].
    pub self_signup: Option<bool>,
    /// Serve the creator dashboard at `/` (the API is served either way).
    pub dashboard: bool,
    /// Supabase project URL: the dashboard then signs creators in with Supabase Auth.
    pub supabase_url: Option<String>,
    /// Supabase anon (public) key, handed to the dashboard with `supabase_url`.
    pub supabase_anon_key: Option<String>,
    /// Most active API keys one account may have (more keys never mean more quota).
    pub max_api_keys_per_account: u32,
    /// Optional server-side secret mixed into API-key hashes (HMAC-SHA256 instead of SHA-256).
    /// Changing it invalidates every existing key.
    pub api_key_pepper: Option<String>,
    /// Models the operator's own provider keys pay for (as `provider/model` or as requests
    /// name them); empty means only `default_model`. Requests that bring a key are not limited.
    pub operator_key_models: Vec<String>,
    /// Daily budgets (UTC days), 0 = off: LLM tokens and turns per account, and per API key.
    pub budget_account_tokens_per_day: u64,
    pub budget_account_turns_per_day: u64,
    pub budget_key_tokens_per_day: u64,
    pub budget_key_turns_per_day: u64,
    /// Model used by every pipeline step when the request names none.
    pub default_model: String,
    /// Per-provider settings, keyed by provider name (`openai`, `anthropic`, `ollama`, a custom name).
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Largest accepted request body, in bytes (larger → 413).
    pub max_body_bytes: usize,
    /// Largest accepted persona document (`creator/save`, `creator/validate`), in bytes: a
    /// machine of the 200 states validation allows is a few hundred KiB.
    pub max_document_bytes: usize,
    /// Longest accepted player message, in characters.
    pub max_message_chars: usize,
    /// Time limit of one LLM call, in seconds (for streams: first byte and each gap).
    pub llm_timeout_secs: u64,
    /// `max_tokens` of an evaluator answer.
    pub llm_max_tokens_eval: u32,
    /// `max_tokens` of an NPC reply or greeting.
    pub llm_max_tokens_reply: u32,
    /// `max_tokens` of a summary or an output-variable extraction.
    pub llm_max_tokens_summary: u32,
    /// Estimated tokens a step's prompt may take; beyond it, the conversation's past is trimmed
    /// oldest first (memories, then the summary, then the oldest messages).
    pub llm_max_prompt_tokens: usize,
    /// Longest NPC reply in characters; a longer one is cut at a sentence end.
    pub max_reply_chars: usize,
    /// Most messages one history response returns (the newest; older ones by `before`).
    pub max_history_messages: i64,
    /// Messages kept verbatim in prompts; older ones are folded into the session summary.
    pub summary_window: usize,
    /// A client must send its whole request head within this many seconds (else the
    /// connection is closed).
    pub header_read_timeout_secs: u64,
    /// A request body must arrive within this many seconds (else 408).
    pub body_read_timeout_secs: u64,
    /// Whole-request bound, in seconds, of the routes that never call an LLM (else 408).
    pub request_timeout_secs: u64,
    /// Open reply streams one API key may have at once (0 = no cap); beyond it 429.
    pub max_streams_per_key: usize,
    /// Open reply streams one account may have at once, across its keys and web chat.
    pub max_streams_per_account: usize,
    /// A stream whose client does not take the next event within this many seconds is
    /// dropped (provider call cancelled, turn rolled back).
    pub stream_send_timeout_secs: u64,
    /// Most requests served at once; beyond it requests are shed with 503 + Retry-After
    /// instead of queueing without bound.
    pub max_in_flight: usize,
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<String>,
    /// Origins allowed by CORS; empty means CORS is off. `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// Rate limits (api.md §6).
    pub rate_limit: RateLimitConfig,
    /// `text` (default) or `json` log lines.
    pub log_format: LogFormat,
    /// How long a graceful shutdown waits for running requests, in seconds.
    pub shutdown_grace_secs: u64,
}

/// Settings of one LLM provider.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    /// For custom providers: `openai` or `anthropic` wire protocol.
    pub kind: Option<String>,
    /// Overrides the provider's default endpoint. Only configuration sets base URLs.
    pub base_url: Option<String>,
    /// The operator's own key, used when a request brings none. Off by default.
    pub api_key: Option<String>,
    /// How to ask for JSON first: `json_schema`, `json_object_schema` (llama.cpp),
    /// `json_object`, `tool` (Anthropic) or `prompt`. Default: the protocol's own; a refusal
    /// steps down to the next automatically.
    pub structured: Option<String>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:8000".parse().expect("valid default address"),
            database_url: "sqlite://foil.db".into(),
            database_max_connections: 16,
            database_timeout_secs: 5,
            jwt_secret: None,
            jwks_url: None,
            jwt_audience: "authenticated".into(),
            jwt_issuer: None,
            jwt_ttl_secs: 3600,
            self_signup: None,
            dashboard: true,
            supabase_url: None,
            supabase_anon_key: None,
            max_api_keys_per_account: 25,
            api_key_pepper: None,
            operator_key_models: Vec::new(),
            budget_account_tokens_per_day: 0,
            budget_account_turns_per_day: 0,
            budget_key_tokens_per_day: 0,
            budget_key_turns_per_day: 0,
            default_model: "offline".into(),
            providers: BTreeMap::new(),
            max_body_bytes: 64 * 1024,
            max_document_bytes: 1024 * 1024,
            max_message_chars: 2000,
            summary_window: 20,
            max_history_messages: 1000,
            llm_timeout_secs: 60,
            llm_max_tokens_eval: 300,
            llm_max_tokens_reply: 600,
            llm_max_tokens_summary: 500,
            llm_max_prompt_tokens: 6000,
            max_reply_chars: 1500,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 20,
            request_timeout_secs: 30,
            max_streams_per_key: 100,
            max_streams_per_account: 500,
            stream_send_timeout_secs: 30,
            max_in_flight: 10_000,
            metrics_token: None,
            cors_origins: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            log_format: LogFormat::Text,
            shutdown_grace_secs: 30,
        }
    }
}

// Secrets never reach logs, so Debug is written by hand.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("jwt_secret", &redacted(&self.jwt_secret))
            .field("jwks_url", &self.jwks_url)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("self_signup", &self.self_signup)
            .field("dashboard", &self.dashboard)
            .field("supabase_url", &self.supabase_url)
            .field("api_key_pepper", &redacted(&self.api_key_pepper))
            .field("metrics_token", &redacted(&self.metrics_token))
            .field("default_model", &self.default_model)
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_document_bytes", &self.max_document_bytes)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

/// A database URL with any password replaced, for log lines.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A configuration problem, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {var}: {message}")]
    Env { var: String, message: String },
    #[error(transparent)]
    RateLimit(#[from] crate::rate_limit::RateLimitConfigError),
}

impl Config {
    /// Defaults, overlaid by the TOML file (if any), overlaid by the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(std::env::vars())?;
        config.rate_limit.validate()?;
        Ok(config)
    }

    /// Overlays `FOIL_*` variables from `vars` (the environment, or a test's list).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (var, value) in vars {
            let Some(name) = var.strip_prefix("FOIL_") else {
                continue;
            };
            let err = |message: String| ConfigError::Env {
                var: var.clone(),
                message,
            };
            let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
            match name {
                "BIND" => self.bind = value.parse().map_err(|e| err(format!("{e}")))?,
                "DATABASE_URL" => self.database_url = value,
                "DATABASE_MAX_CONNECTIONS" => self.database_max_connections = parse(&value, err)?,
                "DATABASE_TIMEOUT_SECS" => self.database_timeout_secs = parse(&value, err)?,
                "JWT_SECRET" => self.jwt_secret = opt(&value),
                "JWKS_URL" => self.jwks_url = opt(&value),
                "JWT_AUDIENCE" => self.jwt_audience = value,
                "JWT_ISSUER" => self.jwt_issuer = opt(&value),
                "JWT_TTL_SECS" => self.jwt_ttl_secs = parse(&value, err)?,
                "SELF_SIGNUP" => self.self_signup = Some(parse_bool(&value, err)?),
                "API_KEY_PEPPER" => self.api_key_pepper = opt(&value),
                "MAX_API_KEYS_PER_ACCOUNT" => self.max_api_keys_per_account = parse(&value, err)?,
                "DASHBOARD" => self.dashboard = parse_bool(&value, err)?,
                "SUPABASE_URL" => self.supabase_url = opt(&value),
                "SUPABASE_ANON_KEY" => self.supabase_anon_key = opt(&value),
                "DEFAULT_MODEL" => self.default_model = value,
                "OPERATOR_KEY_MODELS" => self.operator_key_models = split_list(&value),
                "BUDGET_ACCOUNT_TOKENS_PER_DAY" => {
                    self.budget_account_tokens_per_day = parse(&value, err)?
                }
                "BUDGET_ACCOUNT_TURNS_PER_DAY" => {
                    self.budget_account_turns_per_day = parse(&value, err)?
                }
                "BUDGET_KEY_TOKENS_PER_DAY" => self.budget_key_tokens_per_day = parse(&value, err)?,
                "BUDGET_KEY_TURNS_PER_DAY" => self.budget_key_turns_per_day = parse(&value, err)?,
                "MAX_BODY_BYTES" => self.max_body_bytes = parse(&value, err)?,
                "MAX_DOCUMENT_BYTES" => self.max_document_bytes = parse(&value, err)?,
                "MAX_MESSAGE_CHARS" => self.max_message_chars = parse(&value, err)?,
                "SUMMARY_WINDOW" => self.summary_window = parse(&value, err)?,
                "MAX_HISTORY_MESSAGES" => self.max_history_messages = parse(&value, err)?,
                "LLM_TIMEOUT_SECS" => self.llm_timeout_secs = parse(&value, err)?,
                "LLM_MAX_TOKENS_EVAL" => self.llm_max_tokens_eval = parse(&value, err)?,
                "LLM_MAX_TOKENS_REPLY" => self.llm_max_tokens_reply = parse(&value, err)?,
                "LLM_MAX_TOKENS_SUMMARY" => self.llm_max_tokens_summary = parse(&value, err)?,
                "LLM_MAX_PROMPT_TOKENS" => self.llm_max_prompt_tokens = parse(&value, err)?,
                "MAX_REPLY_CHARS" => self.max_reply_chars = parse(&value, err)?,
                "CORS_ORIGINS" => self.cors_origins = split_list(&value),
                "METRICS_TOKEN" => self.metrics_token = opt(&value),
                "MAX_IN_FLIGHT" => self.max_in_flight = parse(&value, err)?,
                "MAX_STREAMS_PER_KEY" => self.max_streams_per_key = parse(&value, err)?,
                "MAX_STREAMS_PER_ACCOUNT" => self.max_streams_per_account = parse(&value, err)?,
                "STREAM_SEND_TIMEOUT_SECS" => self.stream_send_timeout_secs = parse(&value, err)?,
                "HEADER_READ_TIMEOUT_SECS" => self.header_read_timeout_secs = parse(&value, err)?,
                "BODY_READ_TIMEOUT_SECS" => self.body_read_timeout_secs = parse(&value, err)?,
                "REQUEST_TIMEOUT_SECS" => self.request_timeout_secs = parse(&value, err)?,
                "LOG_FORMAT" => {
                    self.log_format = match value.as_str() {
                        "text" => LogFormat::Text,
                        "json" => LogFormat::Json,
                        _ => return Err(err("expected `text` or `json`".into())),
                    }
                }
                "SHUTDOWN_GRACE_SECS" => self.shutdown_grace_secs = parse(&value, err)?,
                "REDIS_URL" => self.rate_limit.redis_url = opt(&value),
                "RATE_LIMIT_ENABLED" => self.rate_limit.enabled = parse_bool(&value, err)?,
                "TRUSTED_PROXIES" => self.rate_limit.trusted_proxies = split_list(&value),
                "RATE_LIMIT_MAX_TRACKED_KEYS" => {
                    self.rate_limit.max_tracked_keys = parse(&value, err)?
                }
                "REDIS_KEY_PREFIX" => self.rate_limit.redis_key_prefix = value,
                "REDIS_TIMEOUT_MS" => self.rate_limit.redis_timeout_ms = parse(&value, err)?,
                "RATE_LIMIT_GENERATION_PER_MINUTE" => {
                    self.rate_limit.generation.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_CHAT_PER_MINUTE" => {
                    self.rate_limit.chat.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_GENERAL_PER_MINUTE" => {
                    self.rate_limit.general.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_SDK_CHAT_PER_MINUTE" => {
                    self.rate_limit.sdk_chat.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_SDK_GENERAL_PER_MINUTE" => {
                    self.rate_limit.sdk_general.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_LOGIN_PER_MINUTE" => {
                    self.rate_limit.login.per_minute = parse(&value, err)?
                }
                "RATE_LIMIT_AUTH_FAILURE_PER_MINUTE" => {
                    self.rate_limit.auth_failure.per_minute = parse(&value, err)?
                }
                other => {
                    if let Some(rest) = other.strip_prefix("PROVIDER_") {
                        self.apply_provider_env(rest, value, err)?;
                    }
                    // Unknown FOIL_* variables are ignored: the test harness and tools use some.
                }
            }
        }
        Ok(())
    }

    fn apply_provider_env(
        &mut self,
        rest: &str,
        value: String,
        err: impl Fn(String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        const FIELDS: [&str; 4] = ["_BASE_URL", "_API_KEY", "_KIND", "_STRUCTURED"];
        let Some(field) = FIELDS.iter().find(|f| rest.ends_with(*f)) else {
            return Err(err(
                "expected FOIL_PROVIDER_<NAME>_BASE_URL, _API_KEY, _KIND or _STRUCTURED".into(),
            ));
        };
        let name = rest[..rest.len() - field.len()].to_ascii_lowercase();
        if name.is_empty() {
            return Err(err("missing provider name".into()));
        }
        let provider = self.providers.entry(name).or_default();
        let value = (!value.is_empty()).then_some(value);
        match *field {
            "_BASE_URL" => provider.base_url = value,
            "_API_KEY" => provider.api_key = value,
            "_STRUCTURED" => provider.structured = value,
            _ => provider.kind = value,
        }
        Ok(())
    }

    /// Whether built-in sign-up and login are served: as configured, else only when creators do
    /// not sign in with Supabase (no `supabase_url`, no JWKS), so a Supabase deployment does
    /// not open a second, unconfirmed way in by accident.
    pub fn self_signup_enabled(&self) -> bool {
        self.self_signup
            .unwrap_or(self.supabase_url.is_none() && self.jwks_url.is_none())
    }

    /// The SQLite database file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

fn parse<T: std::str::FromStr>(
    value: &str,
    err: impl Fn(String) -> ConfigError,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| err(e.to_string()))
}

fn parse_bool(value: &str, err: impl Fn(String) -> ConfigError) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(err("expected true or false".into())),
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The settings, for `foil-server --help`.
pub const ENV_HELP: &str = "\
CONFIGURATION (a TOML file via --config; FOIL_* environment variables win):
  FOIL_BIND                         listen address [127.0.0.1:8000]
  FOIL_DATABASE_URL                 sqlite://PATH or postgres://... [sqlite://foil.db]
  FOIL_DATABASE_MAX_CONNECTIONS     pool size [16]
  FOIL_DATABASE_TIMEOUT_SECS        wait for a connection before answering 503 [5]
  FOIL_JWT_SECRET                   HS256 secret (Supabase legacy JWT secret); generated for
                                    development and kept beside the SQLite file when unset
  FOIL_JWKS_URL                     Supabase JWKS URL (ES256/RS256 signing keys)
  FOIL_JWT_AUDIENCE                 required aud claim [authenticated]
  FOIL_JWT_ISSUER                   required iss claim [not checked]
  FOIL_JWT_TTL_SECS                 lifetime of self-issued tokens [3600]
  FOIL_SELF_SIGNUP                  serve auth/signup and auth/login [true, false with
                                    FOIL_SUPABASE_URL or FOIL_JWKS_URL]
  FOIL_DASHBOARD                    serve the creator dashboard at / [true]
  FOIL_SUPABASE_URL                 Supabase project URL: the dashboard signs in with Supabase
  FOIL_SUPABASE_ANON_KEY            Supabase anon (public) key for the dashboard's sign-in
  FOIL_API_KEY_PEPPER               server secret mixed into API-key hashes [none]
  FOIL_MAX_API_KEYS_PER_ACCOUNT     active API keys one account may have [25]
  FOIL_DEFAULT_MODEL                model when a request names none [offline]
  FOIL_OPERATOR_KEY_MODELS          comma-separated models the operator's provider keys pay
                                    for [the default model]
  FOIL_BUDGET_ACCOUNT_TOKENS_PER_DAY  LLM tokens per account per UTC day, 0 = off [0]
  FOIL_BUDGET_ACCOUNT_TURNS_PER_DAY   turns per account per UTC day, 0 = off [0]
  FOIL_BUDGET_KEY_TOKENS_PER_DAY      LLM tokens per API key per UTC day, 0 = off [0]
  FOIL_BUDGET_KEY_TURNS_PER_DAY       turns per API key per UTC day, 0 = off [0]
  FOIL_PROVIDER_<NAME>_BASE_URL     endpoint of provider NAME (openai, anthropic, ollama, custom)
  FOIL_PROVIDER_<NAME>_API_KEY      operator's own key for NAME, used when a request brings none
  FOIL_PROVIDER_<NAME>_KIND         protocol of a custom provider: openai or anthropic
  FOIL_PROVIDER_<NAME>_STRUCTURED   how NAME is asked for JSON first: json_schema,
                                    json_object_schema (llama.cpp), json_object, tool, prompt
  FOIL_MAX_BODY_BYTES               request body limit [65536]
  FOIL_MAX_DOCUMENT_BYTES           persona document limit (creator/save, validate) [1048576]
  FOIL_MAX_MESSAGE_CHARS            player message limit [2000]
  FOIL_SUMMARY_WINDOW               messages kept verbatim before summarizing [20]
  FOIL_MAX_HISTORY_MESSAGES         most messages per history response (newest first pages) [1000]
  FOIL_LLM_TIMEOUT_SECS             time limit of one LLM call [60]
  FOIL_LLM_MAX_TOKENS_EVAL          generation limit of an evaluator answer [300]
  FOIL_LLM_MAX_TOKENS_REPLY         generation limit of an NPC reply [600]
  FOIL_LLM_MAX_TOKENS_SUMMARY       generation limit of a summary / extraction [500]
  FOIL_LLM_MAX_PROMPT_TOKENS        estimated prompt budget per step; the past is trimmed oldest first [6000]
  FOIL_MAX_REPLY_CHARS              longest NPC reply; cut at a sentence end [1500]
  FOIL_CORS_ORIGINS                 comma-separated allowed origins, * for any [CORS off]
  FOIL_METRICS_TOKEN                /metrics only with Authorization: Bearer <token> [open]
  FOIL_MAX_IN_FLIGHT                requests served at once (open streams included) before
                                    shedding with 503 [10000]
  FOIL_MAX_STREAMS_PER_KEY          open reply streams per API key; beyond: 429 [100]
  FOIL_MAX_STREAMS_PER_ACCOUNT      open reply streams per account; beyond: 429 [500]
  FOIL_STREAM_SEND_TIMEOUT_SECS     a client that takes no event for this long is dropped [30]
  FOIL_HEADER_READ_TIMEOUT_SECS     the request head must arrive within this; else closed [10]
  FOIL_BODY_READ_TIMEOUT_SECS       the request body must arrive within this; else 408 [20]
  FOIL_REQUEST_TIMEOUT_SECS         whole-request bound of routes that call no LLM; else 408 [30]
  FOIL_RATE_LIMIT_ENABLED           [true]
  FOIL_RATE_LIMIT_GENERATION_PER_MINUTE   per IP [10]
  FOIL_RATE_LIMIT_CHAT_PER_MINUTE         per IP, web chat messages [60]
  FOIL_RATE_LIMIT_GENERAL_PER_MINUTE      per IP, everything else [120]
  FOIL_RATE_LIMIT_SDK_CHAT_PER_MINUTE     per API key, SDK messages [30]
  FOIL_RATE_LIMIT_SDK_GENERAL_PER_MINUTE  per API key, other SDK routes [60]
  FOIL_RATE_LIMIT_LOGIN_PER_MINUTE        per IP and per email, sign-up and login [10]
  FOIL_RATE_LIMIT_AUTH_FAILURE_PER_MINUTE per IP, failed credentials; then refused before
                                          any database lookup [30]
  FOIL_TRUSTED_PROXIES              comma-separated proxy IPs/CIDRs whose X-Forwarded-For is used
  FOIL_RATE_LIMIT_MAX_TRACKED_KEYS  keys remembered per category in memory [100000]
  FOIL_REDIS_URL                    share rate limits between instances through Redis
  FOIL_REDIS_KEY_PREFIX             prefix of the rate-limit keys in Redis [foil:rl]
  FOIL_REDIS_TIMEOUT_MS             wait for Redis before deciding in memory [250]
  FOIL_LOG_FORMAT                   text or json [text]
  FOIL_SHUTDOWN_GRACE_SECS          graceful-shutdown bound [30]
  RUST_LOG                          log filter [info]";

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_defaults() {
        let mut c = Config::default();
        c.apply_env(env(&[
            ("FOIL_BIND", "0.0.0.0:9000"),
            ("FOIL_PROVIDER_OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
            ("FOIL_PROVIDER_MY_LLAMA_KIND", "openai"),
            ("FOIL_RATE_LIMIT_SDK_CHAT_PER_MINUTE", "5"),
            ("FOIL_CORS_ORIGINS", "https://a.example, https://b.example"),
            ("OTHER", "ignored"),
        ]))
        .unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(
            c.providers["openai"].base_url.as_deref(),
            Some("http://127.0.0.1:1/v1")
        );
        assert_eq!(c.providers["my_llama"].kind.as_deref(), Some("openai"));
        assert_eq!(c.rate_limit.sdk_chat.per_minute, 5);
        assert_eq!(c.cors_origins.len(), 2);
    }

    #[test]
    fn bad_env_values_are_reported_with_their_name() {
        let mut c = Config::default();
        let e = c
            .apply_env(env(&[("FOIL_MAX_BODY_BYTES", "lots")]))
            .unwrap_err();
        assert!(e.to_string().contains("FOIL_MAX_BODY_BYTES"), "{e}");
        let e = c
            .apply_env(env(&[("FOIL_PROVIDER_OPENAI_URL", "x")]))
            .unwrap_err();
        assert!(e.to_string().contains("FOIL_PROVIDER_OPENAI_URL"), "{e}");
    }

    #[test]
    fn toml_file_is_strict() {
        let ok: Config =
            toml::from_str("bind = \"127.0.0.1:1234\"\n[providers.openai]\napi_key = \"k\"")
                .unwrap();
        assert_eq!(ok.bind.port(), 1234);
        assert!(toml::from_str::<Config>("bnd = \"x\"").is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config {
            jwt_secret: Some("super-secret-value".into()),
            database_url: "postgres://u:hunter2@db/x".into(),
            ..Config::default()
        };
        let s = format!("{c:?}");
        assert!(
            !s.contains("super-secret-value") && !s.contains("hunter2"),
            "{s}"
        );
    }

    #[test]
    fn sqlite_path_is_derived_from_the_url() {
        let mut c = Config::default();
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("foil.db")));
        c.database_url = "sqlite:///var/lib/foil/x.db?mode=rwc".into();
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("/var/lib/foil/x.db")));
        c.database_url = "postgres://h/db".into();
        assert_eq!(c.sqlite_path(), None);
    }
}
