//! Server configuration: built-in defaults, then a TOML file (`--config`), then `FOIL_*`
//! environment variables (the environment wins). `foil-server --help` lists every setting.
//!
//! Every setting is declared once, in the [`settings!`] table below: its TOML key (the field),
//! type, default, environment variable, help line and whether it is a secret. The struct, its
//! defaults, the environment overlay, the redacted `Debug` output, `--help` and the warning
//! about unknown `FOIL_*` variables all come from that table. TOML goes through serde
//! (`deny_unknown_fields`), as strict as before.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rate_limit::RateLimitConfig;

/// How a setting is shown by `Debug` (start-up logs).
#[derive(Clone, Copy)]
enum Shown {
    Plain,
    /// Only whether it is set.
    Secret,
    /// A URL with its password masked.
    Url,
}

/// A type a setting can have: read from an environment variable, shown in `--help`.
trait Setting: Sized {
    /// Parses an environment variable's value.
    fn from_env(value: &str) -> Result<Self, String>;
    /// The value as `--help` and `Debug` show it; `None` when unset.
    fn describe(&self) -> Option<String>;
}

macro_rules! parsed_settings {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            fn from_env(value: &str) -> Result<Self, String> {
                value.trim().parse().map_err(|e: <$ty as std::str::FromStr>::Err| e.to_string())
            }
            fn describe(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
parsed_settings!(u32, u64, usize, i64, SocketAddr);

impl Setting for String {
    fn from_env(value: &str) -> Result<Self, String> {
        Ok(value.to_owned())
    }
    fn describe(&self) -> Option<String> {
        Some(self.clone())
    }
}

/// An empty value unsets an optional setting.
impl Setting for Option<String> {
    fn from_env(value: &str) -> Result<Self, String> {
        Ok((!value.is_empty()).then(|| value.to_owned()))
    }
    fn describe(&self) -> Option<String> {
        self.clone()
    }
}

impl Setting for bool {
    fn from_env(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn describe(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Setting for Option<bool> {
    fn from_env(value: &str) -> Result<Self, String> {
        bool::from_env(value).map(Some)
    }
    fn describe(&self) -> Option<String> {
        self.map(|b| b.to_string())
    }
}

/// A comma-separated list.
impl Setting for Vec<String> {
    fn from_env(value: &str) -> Result<Self, String> {
        Ok(value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }
    fn describe(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.join(","))
    }
}

impl Setting for LogFormat {
    fn from_env(value: &str) -> Result<Self, String> {
        match value {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("expected `text` or `json`".into()),
        }
    }
    fn describe(&self) -> Option<String> {
        Some(format!("{self:?}").to_lowercase())
    }
}

/// One line of `--help`: the variable, what it does, and the default unless the text says it.
struct HelpLine {
    var: &'static str,
    help: &'static str,
    default: Option<String>,
}

/// Declares the settings. `fields`: the top-level settings (TOML key = field name). `nested`:
/// environment variables for settings of nested TOML tables (their types and defaults are
/// those tables' own).
macro_rules! settings {
    (
        fields {$(
            $(#[doc = $doc:literal])*
            $field:ident: $ty:ty = $default:expr, $env:literal, $shown:ident, $help:literal;
        )*}
        nested {$(
            $($path:ident).+, $nested_env:literal, $nested_help:literal;
        )*}
    ) => {
        /// Every setting of the server. Field names are the TOML keys.
        #[derive(Clone, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            $($(#[doc = $doc])* pub $field: $ty,)*
            /// Per-provider settings, keyed by provider name (`openai`, `anthropic`, `ollama`,
            /// a custom name).
            pub providers: BTreeMap<String, ProviderSettings>,
            /// Rate limits (api.md §6).
            pub rate_limit: RateLimitConfig,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($field: $default,)*
                    providers: BTreeMap::new(),
                    rate_limit: RateLimitConfig::default(),
                }
            }
        }

        // Secrets never reach logs: each setting is shown as the table says.
        impl std::fmt::Debug for Config {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut out = f.debug_struct("Config");
                $(out.field(stringify!($field), &show(&self.$field, Shown::$shown));)*
                out.field("providers", &self.providers.keys().collect::<Vec<_>>())
                    .field("rate_limit", &self.rate_limit)
                    .finish()
            }
        }

        impl Config {
            /// Every variable of the table.
            const ENV_VARS: &'static [&'static str] = &[
                $(concat!("FOIL_", $env),)*
                $(concat!("FOIL_", $nested_env),)*
            ];

            /// Sets the setting of `FOIL_{name}`; a name no setting has changes nothing.
            fn set_from_env(&mut self, name: &str, value: &str) -> Result<(), String> {
                match name {
                    $($env => self.$field = Setting::from_env(value)?,)*
                    $($nested_env => self.$($path).+ = Setting::from_env(value)?,)*
                    _ => {}
                }
                Ok(())
            }

            /// `--help`'s lines for the table's settings, in its order.
            fn help_lines() -> Vec<HelpLine> {
                let defaults = Config::default();
                vec![
                    $(HelpLine {
                        var: concat!("FOIL_", $env),
                        help: $help,
                        default: defaults.$field.describe(),
                    },)*
                    $(HelpLine {
                        var: concat!("FOIL_", $nested_env),
                        help: $nested_help,
                        default: defaults.$($path).+.describe(),
                    },)*
                ]
            }
        }
    };
}

fn show(value: &impl Setting, shown: Shown) -> Option<String> {
    let value = value.describe()?;
    Some(match shown {
        Shown::Plain => value,
        Shown::Secret => "<redacted>".into(),
        Shown::Url => crate::redact::redact_url(&value),
    })
}

settings! {
    fields {
        /// Address to listen on.
        bind: SocketAddr = "127.0.0.1:8000".parse().expect("valid default address"),
            "BIND", Plain, "listen address";
        /// `sqlite://PATH` (default) or `postgres://...`.
        database_url: String = "sqlite://foil.db".into(),
            "DATABASE_URL", Url, "sqlite://PATH or postgres://...";
        /// Maximum database connections in the pool.
        database_max_connections: u32 = 16,
            "DATABASE_MAX_CONNECTIONS", Plain, "pool size";
        /// How long a request waits for a database connection before answering 503.
        database_timeout_secs: u64 = 5,
            "DATABASE_TIMEOUT_SECS", Plain, "wait for a connection before answering 503";
        /// HS256 secret shared with Supabase (its legacy JWT secret) and used for self-issued
        /// tokens. When absent, a development secret is generated once and kept beside the
        /// SQLite database.
        jwt_secret: Option<String> = None,
            "JWT_SECRET", Secret, "HS256 secret (Supabase legacy JWT secret); generated for development and kept beside the SQLite file when unset";
        /// Supabase JWKS URL for ES256/RS256 signing keys.
        jwks_url: Option<String> = None,
            "JWKS_URL", Plain, "Supabase JWKS URL (ES256/RS256 signing keys)";
        /// Required `aud` claim.
        jwt_audience: String = "authenticated".into(),
            "JWT_AUDIENCE", Plain, "required aud claim";
        /// Required `iss` claim, when set.
        jwt_issuer: Option<String> = None,
            "JWT_ISSUER", Plain, "required iss claim [not checked]";
        /// Lifetime of tokens issued by `auth/login`, `auth/signup` and `foil-server token`.
        jwt_ttl_secs: u64 = 3600,
            "JWT_TTL_SECS", Plain, "lifetime of self-issued tokens";
        /// Whether the built-in `auth/signup` and `auth/login` routes are served. Unset: served
        /// unless Supabase (`supabase_url`) or a JWKS is configured; see
        /// [`Config::self_signup_enabled`].
        self_signup: Option<bool> = None,
            "SELF_SIGNUP", Plain, "serve auth/signup and auth/login [true, false with FOIL_SUPABASE_URL or FOIL_JWKS_URL]";
        /// Serve the creator dashboard at `/` (the API is served either way).
        dashboard: bool = true,
            "DASHBOARD", Plain, "serve the creator dashboard at /";
        /// Supabase project URL: the dashboard then signs creators in with Supabase Auth.
        supabase_url: Option<String> = None,
            "SUPABASE_URL", Plain, "Supabase project URL: the dashboard signs in with Supabase";
        /// Supabase anon (public) key, handed to the dashboard with `supabase_url`.
        supabase_anon_key: Option<String> = None,
            "SUPABASE_ANON_KEY", Plain, "Supabase anon (public) key for the dashboard's sign-in";
        /// Optional server-side secret mixed into API-key hashes (HMAC-SHA256 instead of
        /// SHA-256). Changing it invalidates every existing key.
        api_key_pepper: Option<String> = None,
            "API_KEY_PEPPER", Secret, "server secret mixed into API-key hashes [none]";
        /// Most active API keys one account may have (more keys never mean more quota).
        max_api_keys_per_account: u32 = 25,
            "MAX_API_KEYS_PER_ACCOUNT", Plain, "active API keys one account may have";
        /// Model used by every pipeline step when the request names none.
        default_model: String = "offline".into(),
            "DEFAULT_MODEL", Plain, "model when a request names none";
        /// Models the operator's own provider keys pay for (as `provider/model` or as requests
        /// name them); empty means only `default_model`. Requests that bring a key are not
        /// limited.
        operator_key_models: Vec<String> = Vec::new(),
            "OPERATOR_KEY_MODELS", Plain, "comma-separated models the operator's provider keys pay for [the default model]";
        /// LLM tokens per account per UTC day, 0 = off.
        budget_account_tokens_per_day: u64 = 0,
            "BUDGET_ACCOUNT_TOKENS_PER_DAY", Plain, "LLM tokens per account per UTC day, 0 = off";
        /// Turns per account per UTC day, 0 = off.
        budget_account_turns_per_day: u64 = 0,
            "BUDGET_ACCOUNT_TURNS_PER_DAY", Plain, "turns per account per UTC day, 0 = off";
        /// LLM tokens per API key per UTC day, 0 = off.
        budget_key_tokens_per_day: u64 = 0,
            "BUDGET_KEY_TOKENS_PER_DAY", Plain, "LLM tokens per API key per UTC day, 0 = off";
        /// Turns per API key per UTC day, 0 = off.
        budget_key_turns_per_day: u64 = 0,
            "BUDGET_KEY_TURNS_PER_DAY", Plain, "turns per API key per UTC day, 0 = off";
        /// Largest accepted request body, in bytes (larger → 413).
        max_body_bytes: usize = 64 * 1024,
            "MAX_BODY_BYTES", Plain, "request body limit";
        /// Largest accepted persona document (`creator/save`, `creator/validate`), in bytes: a
        /// machine of the 200 states validation allows is a few hundred KiB.
        max_document_bytes: usize = 1024 * 1024,
            "MAX_DOCUMENT_BYTES", Plain, "persona document limit (creator/save, validate)";
        /// Longest accepted player message, in characters.
        max_message_chars: usize = 2000,
            "MAX_MESSAGE_CHARS", Plain, "player message limit";
        /// Messages kept verbatim in prompts; older ones are folded into the session summary.
        summary_window: usize = 20,
            "SUMMARY_WINDOW", Plain, "messages kept verbatim before summarizing";
        /// Most messages one history response returns (the newest; older ones by `before`).
        max_history_messages: i64 = 1000,
            "MAX_HISTORY_MESSAGES", Plain, "most messages per history response (newest first pages)";
        /// Time limit of one LLM call, in seconds (for streams: first byte and each gap).
        llm_timeout_secs: u64 = 60,
            "LLM_TIMEOUT_SECS", Plain, "time limit of one LLM call";
        /// `max_tokens` of an evaluator answer.
        llm_max_tokens_eval: u32 = 300,
            "LLM_MAX_TOKENS_EVAL", Plain, "generation limit of an evaluator answer";
        /// `max_tokens` of an NPC reply or greeting.
        llm_max_tokens_reply: u32 = 600,
            "LLM_MAX_TOKENS_REPLY", Plain, "generation limit of an NPC reply";
        /// `max_tokens` of a summary or an output-variable extraction.
        llm_max_tokens_summary: u32 = 500,
            "LLM_MAX_TOKENS_SUMMARY", Plain, "generation limit of a summary / extraction";
        /// Estimated tokens a step's prompt may take; beyond it, the conversation's past is
        /// trimmed oldest first (memories, then the summary, then the oldest messages).
        llm_max_prompt_tokens: usize = 6000,
            "LLM_MAX_PROMPT_TOKENS", Plain, "estimated prompt budget per step; the past is trimmed oldest first";
        /// Longest NPC reply in characters; a longer one is cut at a sentence end.
        max_reply_chars: usize = 1500,
            "MAX_REPLY_CHARS", Plain, "longest NPC reply; cut at a sentence end";
        /// Origins allowed by CORS; empty means CORS is off. `*` allows any origin.
        cors_origins: Vec<String> = Vec::new(),
            "CORS_ORIGINS", Plain, "comma-separated allowed origins, * for any [CORS off]";
        /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.
        metrics_token: Option<String> = None,
            "METRICS_TOKEN", Secret, "/metrics only with Authorization: Bearer <token> [open]";
        /// Most requests served at once; beyond it requests are shed with 503 + Retry-After
        /// instead of queueing without bound.
        max_in_flight: usize = 10_000,
            "MAX_IN_FLIGHT", Plain, "requests served at once (open streams included) before shedding with 503";
        /// Open reply streams one API key may have at once (0 = no cap); beyond it 429.
        max_streams_per_key: usize = 100,
            "MAX_STREAMS_PER_KEY", Plain, "open reply streams per API key; beyond: 429";
        /// Open reply streams one account may have at once, across its keys and web chat.
        max_streams_per_account: usize = 500,
            "MAX_STREAMS_PER_ACCOUNT", Plain, "open reply streams per account; beyond: 429";
        /// A stream whose client does not take the next event within this many seconds is
        /// dropped (provider call cancelled, turn rolled back).
        stream_send_timeout_secs: u64 = 30,
            "STREAM_SEND_TIMEOUT_SECS", Plain, "a client that takes no event for this long is dropped";
        /// A client must send its whole request head within this many seconds (else the
        /// connection is closed).
        header_read_timeout_secs: u64 = 10,
            "HEADER_READ_TIMEOUT_SECS", Plain, "the request head must arrive within this; else closed";
        /// A request body must arrive within this many seconds (else 408).
        body_read_timeout_secs: u64 = 20,
            "BODY_READ_TIMEOUT_SECS", Plain, "the request body must arrive within this; else 408";
        /// Whole-request bound, in seconds, of the routes that never call an LLM (else 408).
        request_timeout_secs: u64 = 30,
            "REQUEST_TIMEOUT_SECS", Plain, "whole-request bound of routes that call no LLM; else 408";
        /// `text` (default) or `json` log lines.
        log_format: LogFormat = LogFormat::Text,
            "LOG_FORMAT", Plain, "text or json";
        /// How long a graceful shutdown waits for running requests, in seconds.
        shutdown_grace_secs: u64 = 30,
            "SHUTDOWN_GRACE_SECS", Plain, "graceful-shutdown bound";
        /// A turn's hold on its session lasts this many seconds and is renewed while the turn
        /// runs; a turn whose process died frees its session this long after.
        turn_claim_ttl_secs: u64 = 30,
            "TURN_CLAIM_TTL_SECS", Plain, "a dead instance's turn frees its session after this";
    }
    nested {
        rate_limit.enabled, "RATE_LIMIT_ENABLED", "rate limits on";
        rate_limit.generation.per_minute, "RATE_LIMIT_GENERATION_PER_MINUTE", "per IP";
        rate_limit.chat.per_minute, "RATE_LIMIT_CHAT_PER_MINUTE", "per IP, web chat messages";
        rate_limit.general.per_minute, "RATE_LIMIT_GENERAL_PER_MINUTE", "per IP, everything else";
        rate_limit.sdk_chat.per_minute, "RATE_LIMIT_SDK_CHAT_PER_MINUTE", "per API key, SDK messages";
        rate_limit.sdk_general.per_minute, "RATE_LIMIT_SDK_GENERAL_PER_MINUTE", "per API key, other SDK routes";
        rate_limit.login.per_minute, "RATE_LIMIT_LOGIN_PER_MINUTE", "per IP and per email, sign-up and login";
        rate_limit.auth_failure.per_minute, "RATE_LIMIT_AUTH_FAILURE_PER_MINUTE", "per IP, failed credentials; then refused before any database lookup";
        rate_limit.trusted_proxies, "TRUSTED_PROXIES", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is used";
        rate_limit.max_tracked_keys, "RATE_LIMIT_MAX_TRACKED_KEYS", "keys remembered per category in memory";
        rate_limit.redis_url, "REDIS_URL", "share rate limits between instances through Redis";
        rate_limit.redis_key_prefix, "REDIS_KEY_PREFIX", "prefix of the rate-limit keys in Redis";
        rate_limit.redis_timeout_ms, "REDIS_TIMEOUT_MS", "wait for Redis before deciding in memory";
    }
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
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A configuration problem, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file is not valid (syntax, types, unknown keys).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable has a value its setting cannot take.
    #[error("invalid value for {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// Why the value was refused.
        message: String,
    },
    /// The rate limits do not add up.
    #[error(transparent)]
    RateLimit(#[from] crate::rate_limit::RateLimitConfigError),
}

/// The variables of `[providers.NAME]`, for any provider name.
const PROVIDER_HELP: [(&str, &str); 4] = [
    ("FOIL_PROVIDER_<NAME>_BASE_URL", "endpoint of provider NAME (openai, anthropic, ollama, custom)"),
    ("FOIL_PROVIDER_<NAME>_API_KEY", "operator's own key for NAME, used when a request brings none"),
    ("FOIL_PROVIDER_<NAME>_KIND", "protocol of a custom provider: openai or anthropic"),
    ("FOIL_PROVIDER_<NAME>_STRUCTURED", "how NAME is asked for JSON first: json_schema, json_object_schema (llama.cpp), json_object, tool, prompt"),
];

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

    /// Overlays `FOIL_*` variables from `vars` (the environment, or a test's list). Variables
    /// that name no setting are left alone (see [`Config::unknown_env_vars`]).
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
            if let Some(rest) = name.strip_prefix("PROVIDER_") {
                self.apply_provider_env(rest, value).map_err(err)?;
            } else {
                self.set_from_env(name, &value).map_err(err)?;
            }
        }
        Ok(())
    }

    /// The `FOIL_*` variables among `vars` that name no setting: a typo there would otherwise
    /// be silently ignored, so the server warns about them at start-up.
    pub fn unknown_env_vars(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        vars.into_iter()
            .map(|(var, _)| var)
            .filter(|var| {
                var.starts_with("FOIL_")
                    && var != "FOIL_CONFIG"
                    && !var.starts_with("FOIL_PROVIDER_")
                    && !Config::ENV_VARS.contains(&var.as_str())
            })
            .collect()
    }

    fn apply_provider_env(&mut self, rest: &str, value: String) -> Result<(), String> {
        const FIELDS: [&str; 4] = ["_BASE_URL", "_API_KEY", "_KIND", "_STRUCTURED"];
        let Some(field) = FIELDS.iter().find(|f| rest.ends_with(*f)) else {
            return Err(
                "expected FOIL_PROVIDER_<NAME>_BASE_URL, _API_KEY, _KIND or _STRUCTURED".into(),
            );
        };
        let name = rest[..rest.len() - field.len()].to_ascii_lowercase();
        if name.is_empty() {
            return Err("missing provider name".into());
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

/// Every setting, for `foil-server --help`.
pub fn env_help() -> String {
    const WIDTH: usize = 34;
    let mut out = String::from(
        "CONFIGURATION (a TOML file via --config; FOIL_* environment variables win):\n",
    );
    // Lines of at most ~96 columns: the text wraps under itself.
    const TEXT_COLUMNS: usize = 96 - WIDTH - 3;
    let mut line = |var: &str, help: &str, default: Option<String>| {
        let text = match default {
            Some(default) if !help.ends_with(']') => format!("{help} [{default}]"),
            _ => help.to_owned(),
        };
        let mut lines = vec![String::new()];
        for word in text.split_whitespace() {
            let current = lines.last_mut().expect("one line at least");
            if !current.is_empty() && current.len() + 1 + word.len() > TEXT_COLUMNS {
                lines.push(word.to_owned());
            } else {
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(word);
            }
        }
        out.push_str(&format!("  {var:<WIDTH$} {}\n", lines[0]));
        for more in &lines[1..] {
            out.push_str(&format!("  {:<WIDTH$} {more}\n", ""));
        }
    };
    for setting in Config::help_lines() {
        line(setting.var, setting.help, setting.default);
    }
    for (var, help) in PROVIDER_HELP {
        line(var, help, None);
    }
    line("RUST_LOG", "log filter [info]", None);
    out
}

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
    fn unknown_foil_variables_are_reported_by_name() {
        let unknown = Config::unknown_env_vars(env(&[
            ("FOIL_BIND", "127.0.0.1:1"),
            ("FOIL_MAX_BODY_BYTE", "1"),
            ("FOIL_RATE_LIMIT_CHAT_PER_MINUTE", "1"),
            ("FOIL_PROVIDER_MINE_KIND", "openai"),
            ("FOIL_CONFIG", "foil.toml"),
            ("HOME", "/root"),
        ]));
        assert_eq!(unknown, ["FOIL_MAX_BODY_BYTE"]);
    }

    #[test]
    fn help_lists_every_setting_once_with_its_default() {
        let help = env_help();
        for line in Config::help_lines() {
            let starts = format!("  {} ", line.var);
            assert_eq!(
                help.lines().filter(|l| l.starts_with(&starts)).count(),
                1,
                "{}",
                line.var
            );
        }
        assert!(
            help.contains("FOIL_MAX_BODY_BYTES") && help.contains("[65536]"),
            "{help}"
        );
        assert!(help.contains("[sqlite://foil.db]"), "{help}");
        assert!(!help.contains("<redacted>"), "{help}");
    }

    #[test]
    fn every_variable_sets_its_setting() {
        // Each variable set to a value unlike its default must change the configuration.
        for line in Config::help_lines() {
            let value = match line.default.as_deref() {
                Some("true") => "false".to_string(),
                Some("false") | None if line.var.ends_with("SELF_SIGNUP") => "true".to_string(),
                Some(d) if d.parse::<u64>().is_ok() => (d.parse::<u64>().unwrap() + 7).to_string(),
                Some("text") => "json".to_string(),
                Some(d) if d.contains(':') && !d.contains("//") => "0.0.0.0:9".to_string(),
                _ => "changed-value".to_string(),
            };
            let mut c = Config::default();
            c.apply_env(env(&[(line.var, value.as_str())]))
                .unwrap_or_else(|e| panic!("{}: {e}", line.var));
            assert_ne!(
                format!("{c:?}"),
                format!("{:?}", Config::default()),
                "{} changed nothing",
                line.var
            );
        }
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
