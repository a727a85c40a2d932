//! Rate limiting (api.md §6): five categories, per client IP or per API key.
//!
//! - **Algorithm.** GCRA (a leaky bucket without a timer) with a burst of the whole minute's
//!   allowance by default, so a client may use its 60 requests at once, as with the hosted
//!   service's fixed windows, and then gets one more every `60 / per_minute` seconds.
//! - **In memory** (default): one `governor` limiter per category over a bounded table of
//!   keys. Idle keys (whose allowance has fully recovered, so forgetting them changes nothing)
//!   are pruned by [`spawn_pruning`]; the table never holds more than `max_tracked_keys`. A
//!   check of a known key takes a shard read lock and one compare-and-swap, and allocates
//!   nothing for keys up to 46 bytes (every IP address and UUID).
//! - **When the table is full of active keys** it is pruned (at most once a second) and, if
//!   still full, a *new* key is served without being limited — the limiter fails open rather
//!   than closed, so a flood of distinct addresses cannot lock out legitimate new clients,
//!   and memory stays bounded. Keys already tracked stay limited, the server-wide in-flight
//!   cap (`max_in_flight`, R5) still bounds the load, and the episode is logged at `warn` and
//!   counted in `foil_rate_limit_untracked_total{category}`.
//! - **Redis** (`redis_url`): the same GCRA in one atomic Lua script per check, keyed
//!   `{redis_key_prefix}:{category}:{key}` with a TTL of the key's recovery time, so every
//!   instance shares the limits. If Redis is unreachable, slow or failing, requests fall back
//!   to the in-memory limiter (logged once per outage): rate limiting must never take the API
//!   down, and per-instance limits are a better degradation than none.
//! - Rejections are counted in `foil_rate_limited_total{category}`.

mod memory;
mod proxy;
mod redis_backend;

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::DefaultClock;
use governor::Quota;
use serde::{Deserialize, Deserializer};

use self::memory::{Key, MemoryLimiter};
pub use self::proxy::{client_ip, client_ip_of, InvalidTrustedNet, TrustedNet};
use self::redis_backend::{GcraParams, RedisLimiter};

/// A rate-limit category of api.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `creator/generate/*`, `creator/polish` — 10 / minute per IP.
    Generation,
    /// Web-chat `message`, `message/stream` — 60 / minute per IP.
    Chat,
    /// Every other non-SDK route, and requests failing API-key auth — 120 / minute per IP.
    General,
    /// SDK `message`, `message/stream` — 30 / minute per API key.
    SdkChat,
    /// Every other SDK route — 60 / minute per API key.
    SdkGeneral,
    /// `auth/signup` and `auth/login` — 10 / minute per IP, and as many per email address.
    Login,
    /// Failed credentials (unknown or revoked API keys, wrong passwords) — 30 / minute per IP.
    /// Once over it, the address is refused before any database lookup.
    AuthFailure,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 7] = [
        Category::Generation,
        Category::Chat,
        Category::General,
        Category::SdkChat,
        Category::SdkGeneral,
        Category::Login,
        Category::AuthFailure,
    ];

    /// The snake_case name used in config keys, metric labels and Redis keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Generation => "generation",
            Category::Chat => "chat",
            Category::General => "general",
            Category::SdkChat => "sdk_chat",
            Category::SdkGeneral => "sdk_general",
            Category::Login => "login",
            Category::AuthFailure => "auth_failure",
        }
    }

    /// The limit of api.md §6, in requests per minute.
    pub const fn default_per_minute(self) -> u32 {
        match self {
            Category::Generation => 10,
            Category::Chat => 60,
            Category::General => 120,
            Category::SdkChat => 30,
            Category::SdkGeneral => 60,
            Category::Login => 10,
            Category::AuthFailure => 30,
        }
    }

    /// Whether the category is keyed by API key (SDK routes) rather than by client IP.
    pub const fn per_api_key(self) -> bool {
        matches!(self, Category::SdkChat | Category::SdkGeneral)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limit of one category (`[rate_limit.<category>]`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CategoryLimit {
    /// Requests per minute, sustained. 0 disables the limit.
    pub per_minute: u32,
    /// Requests allowed at once; `None` (or 0) means `per_minute`.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl CategoryLimit {
    /// `per_minute` with the default burst.
    pub const fn per_minute(per_minute: u32) -> Self {
        CategoryLimit {
            per_minute,
            burst: None,
        }
    }

    /// The burst in force.
    pub fn effective_burst(&self) -> u32 {
        self.burst.filter(|b| *b > 0).unwrap_or(self.per_minute)
    }

    /// The governor quota; `None` when unlimited.
    fn quota(&self) -> Option<Quota> {
        let per_minute = NonZeroU32::new(self.per_minute)?;
        let burst = NonZeroU32::new(self.effective_burst()).unwrap_or(per_minute);
        Some(Quota::per_minute(per_minute).allow_burst(burst))
    }

    fn gcra_params(&self) -> Option<GcraParams> {
        (self.per_minute > 0).then(|| GcraParams {
            interval_us: (60_000_000 / u64::from(self.per_minute)).max(1),
            burst: self.effective_burst(),
        })
    }
}

/// Rate-limit settings (`[rate_limit]` in the config file). Every field has a default, and a
/// category table may set only some of its fields:
///
/// ```toml
/// [rate_limit]
/// trusted_proxies = ["10.0.0.0/8", "::1"]
/// redis_url = "redis://127.0.0.1:6379"
///
/// [rate_limit.sdk_chat]
/// burst = 10          # per_minute stays 30
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Off: every check passes (default on).
    pub enabled: bool,
    /// 10 / minute per IP.
    #[serde(deserialize_with = "partial::generation")]
    pub generation: CategoryLimit,
    /// 60 / minute per IP.
    #[serde(deserialize_with = "partial::chat")]
    pub chat: CategoryLimit,
    /// 120 / minute per IP.
    #[serde(deserialize_with = "partial::general")]
    pub general: CategoryLimit,
    /// 30 / minute per API key.
    #[serde(deserialize_with = "partial::sdk_chat")]
    pub sdk_chat: CategoryLimit,
    /// 60 / minute per API key.
    #[serde(deserialize_with = "partial::sdk_general")]
    pub sdk_general: CategoryLimit,
    /// 10 / minute per IP and per email (sign-up, login).
    #[serde(deserialize_with = "partial::login")]
    pub login: CategoryLimit,
    /// 30 failed credentials / minute per IP.
    #[serde(deserialize_with = "partial::auth_failure")]
    pub auth_failure: CategoryLimit,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed; see [`client_ip`].
    pub trusted_proxies: Vec<String>,
    /// Most keys remembered per category in memory (default 100 000, about 6 MB each).
    pub max_tracked_keys: usize,
    /// Share the limits between instances through this Redis (`redis://…`, `rediss://…`).
    pub redis_url: Option<String>,
    /// Prefix of the Redis keys (default `foil:rl`), to share one Redis between deployments.
    pub redis_key_prefix: String,
    /// How long a check waits for Redis before deciding in memory (default 250 ms).
    pub redis_timeout_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let limit = |c: Category| CategoryLimit::per_minute(c.default_per_minute());
        RateLimitConfig {
            enabled: true,
            generation: limit(Category::Generation),
            chat: limit(Category::Chat),
            general: limit(Category::General),
            sdk_chat: limit(Category::SdkChat),
            sdk_general: limit(Category::SdkGeneral),
            login: limit(Category::Login),
            auth_failure: limit(Category::AuthFailure),
            trusted_proxies: Vec::new(),
            max_tracked_keys: 100_000,
            redis_url: None,
            redis_key_prefix: "foil:rl".into(),
            redis_timeout_ms: 250,
        }
    }
}

// The Redis URL may carry a password.
impl fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitConfig")
            .field("enabled", &self.enabled)
            .field("generation", &self.generation)
            .field("chat", &self.chat)
            .field("general", &self.general)
            .field("sdk_chat", &self.sdk_chat)
            .field("sdk_general", &self.sdk_general)
            .field("login", &self.login)
            .field("auth_failure", &self.auth_failure)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("max_tracked_keys", &self.max_tracked_keys)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(crate::redact::redact_url),
            )
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .finish()
    }
}

/// Deserializers of category tables whose missing fields keep the category's default.
mod partial {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Partial {
        per_minute: Option<u32>,
        burst: Option<u32>,
    }

    fn limit<'de, D: Deserializer<'de>>(d: D, c: Category) -> Result<CategoryLimit, D::Error> {
        let p = Partial::deserialize(d)?;
        Ok(CategoryLimit {
            per_minute: p.per_minute.unwrap_or(c.default_per_minute()),
            burst: p.burst,
        })
    }

    macro_rules! category {
        ($($name:ident => $category:ident),*) => {$(
            pub(super) fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<CategoryLimit, D::Error> {
                limit(d, Category::$category)
            }
        )*};
    }

    category!(
        generation => Generation,
        chat => Chat,
        general => General,
        sdk_chat => SdkChat,
        sdk_general => SdkGeneral,
        login => Login,
        auth_failure => AuthFailure
    );
}

/// A [`RateLimitConfig`] that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitConfigError {
    /// A `trusted_proxies` entry is neither an IP address nor a CIDR.
    #[error(transparent)]
    TrustedProxy(#[from] InvalidTrustedNet),
    /// `redis_url` is not a Redis URL.
    #[error("invalid rate_limit.redis_url: {0}")]
    RedisUrl(String),
}

impl RateLimitConfig {
    /// The limit of `category`.
    pub fn limit(&self, category: Category) -> CategoryLimit {
        match category {
            Category::Generation => self.generation,
            Category::Chat => self.chat,
            Category::General => self.general,
            Category::SdkChat => self.sdk_chat,
            Category::SdkGeneral => self.sdk_general,
            Category::Login => self.login,
            Category::AuthFailure => self.auth_failure,
        }
    }

    /// Checks what [`RateLimiter::new`] would otherwise only warn about, so a typo can stop
    /// the server at start-up.
    pub fn validate(&self) -> Result<(), RateLimitConfigError> {
        for entry in &self.trusted_proxies {
            entry.parse::<TrustedNet>()?;
        }
        if let Some(url) = &self.redis_url {
            // Parsing only; nothing connects. The message never contains the URL.
            redis::Client::open(url.as_str())
                .map_err(|e| RateLimitConfigError::RedisUrl(e.to_string()))?;
        }
        Ok(())
    }
}

/// A request over its limit. As a response: 429, `Retry-After: N` and exactly
/// `{"error": "Rate limit exceeded. Try again in N seconds."}` (api.md §6; "seconds" even
/// for 1, as the hosted service writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// Whole seconds, rounded up, at least 1.
    pub retry_after_secs: u64,
}

impl RateLimited {
    /// After a wait of `wait`, rounded up to whole seconds (at least 1).
    pub fn after(wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        RateLimited {
            retry_after_secs: secs.max(1),
        }
    }
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        let secs = self.retry_after_secs.max(1);
        // Written by hand to match the spec byte for byte (no escaping is ever needed).
        let body = format!(r#"{{"error": "Rate limit exceeded. Try again in {secs} seconds."}}"#);
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::RETRY_AFTER, HeaderValue::from(secs)),
            ],
            body,
        )
            .into_response()
    }
}

/// The key an address is limited under: see [`RateLimiter::check_ip`].
struct IpSubject(IpAddr);

impl fmt::Display for IpSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !(u128::from(u64::MAX));
                write!(f, "{}/64", std::net::Ipv6Addr::from(network))
            }
        }
    }
}

/// The limiter of every category; share it behind an `Arc`.
pub struct RateLimiter {
    enabled: bool,
    /// Per category; `None` when the category is unlimited (`per_minute = 0`).
    memory: [Option<MemoryLimiter<DefaultClock>>; Category::ALL.len()],
    redis_params: [Option<GcraParams>; Category::ALL.len()],
    trusted: Vec<TrustedNet>,
    redis: Option<RedisLimiter>,
    /// Addresses over their [`Category::AuthFailure`] limit, until when: checked before any
    /// credential is looked up, so a flood of guesses never reaches the database.
    refused: dashmap::DashMap<String, Instant>,
}

/// Bound on [`RateLimiter::refused`]; past it the oldest refusals are forgotten first.
const MAX_REFUSED_ADDRESSES: usize = 100_000;

/// How often [`spawn_pruning`] drops idle keys.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// Builds the limiter. With `redis_url`, sets up the Redis connection and probes it once
    /// (at most about 1.3 s when Redis does not answer); an unusable URL or unreachable Redis
    /// is logged and the in-memory limiter is used until Redis answers. Unparseable
    /// `trusted_proxies` entries are logged and ignored (see [`RateLimitConfig::validate`]).
    pub async fn new(config: &RateLimitConfig) -> Self {
        let max_keys = config.max_tracked_keys.max(1);
        let memory = Category::ALL.map(|c| {
            config
                .limit(c)
                .quota()
                .map(|quota| MemoryLimiter::new(c, quota, max_keys, DefaultClock::default()))
        });
        let trusted = config
            .trusted_proxies
            .iter()
            .filter_map(|entry| match entry.parse::<TrustedNet>() {
                Ok(net) => Some(net),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring trusted proxy");
                    None
                }
            })
            .collect();
        let redis = match &config.redis_url {
            Some(url) if config.enabled => {
                let timeout = Duration::from_millis(config.redis_timeout_ms.max(1));
                match RedisLimiter::connect(url, &config.redis_key_prefix, timeout).await {
                    Ok(redis) => Some(redis),
                    Err(e) => {
                        tracing::warn!(error = %e, "unusable Redis URL; rate limits are per instance");
                        None
                    }
                }
            }
            _ => None,
        };
        RateLimiter {
            enabled: config.enabled,
            memory,
            redis_params: Category::ALL.map(|c| config.limit(c).gcra_params()),
            trusted,
            redis,
            refused: dashmap::DashMap::new(),
        }
    }

    /// `Err` while `ip` is refused for failed credentials ([`Self::record_auth_failure`]); no
    /// database, no Redis: this runs before a credential is looked up.
    pub fn check_refused(&self, ip: IpAddr) -> Result<(), RateLimited> {
        if !self.enabled || self.refused.is_empty() {
            return Ok(());
        }
        let key = IpSubject(ip).to_string();
        let Some(until) = self.refused.get(&key).map(|until| *until) else {
            return Ok(());
        };
        let now = Instant::now();
        if until <= now {
            self.refused.remove(&key);
            return Ok(());
        }
        metrics::counter!("foil_rate_limited_total", "category" => Category::AuthFailure.as_str())
            .increment(1);
        Err(RateLimited::after(until - now))
    }

    /// Counts one failed credential from `ip`; over the limit, the address is refused (see
    /// [`Self::check_refused`]) until its allowance is back, and the answer is that refusal.
    pub async fn record_auth_failure(&self, ip: IpAddr) -> Result<(), RateLimited> {
        let limited = self.check_ip(Category::AuthFailure, ip).await;
        if let Err(limited) = limited {
            if self.refused.len() >= MAX_REFUSED_ADDRESSES {
                let now = Instant::now();
                self.refused.retain(|_, until| *until > now);
                if self.refused.len() >= MAX_REFUSED_ADDRESSES {
                    self.refused.clear();
                }
            }
            let wait = Duration::from_secs(limited.retry_after_secs);
            self.refused
                .insert(IpSubject(ip).to_string(), Instant::now() + wait);
        }
        limited
    }

    /// The trusted proxies, for [`client_ip`].
    pub fn trusted_proxies(&self) -> &[TrustedNet] {
        &self.trusted
    }

    /// Counts one request of `key` (a client IP for per-IP categories, an API-key id for SDK
    /// ones) in `category`. Never fails for any other reason than the limit.
    pub async fn check(&self, category: Category, key: &str) -> Result<(), RateLimited> {
        self.check_key(category, || Key::new(key)).await
    }

    /// [`check`](Self::check) for a client address, without building a string. An IPv4
    /// address is its own key; an IPv6 address counts against its /64 network (keyed
    /// `2001:db8:1:2::/64`), because one subscriber is routinely given a whole /64 and could
    /// otherwise rotate through 2^64 fresh allowances.
    pub async fn check_ip(&self, category: Category, ip: IpAddr) -> Result<(), RateLimited> {
        self.check_key(category, || Key::display(IpSubject(ip)))
            .await
    }

    async fn check_key(
        &self,
        category: Category,
        key: impl FnOnce() -> Key,
    ) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        let i = category.index();
        let (Some(memory), Some(params)) = (&self.memory[i], self.redis_params[i]) else {
            return Ok(()); // unlimited
        };
        let key = key();
        let shared = match &self.redis {
            Some(redis) => redis.check(category, key.as_str(), params).await,
            None => None,
        };
        let result = shared.unwrap_or_else(|| memory.check(&key));
        if result.is_err() {
            metrics::counter!("foil_rate_limited_total", "category" => category.as_str())
                .increment(1);
        }
        result
    }

    /// The in-memory check alone, synchronous (the Redis fallback; also what benchmark P9
    /// measures). Does not count rejections in the metric.
    pub fn check_local(&self, category: Category, key: &str) -> Result<(), RateLimited> {
        match &self.memory[category.index()] {
            Some(memory) if self.enabled => memory.check(&Key::new(key)),
            _ => Ok(()),
        }
    }

    /// Drops idle keys (those whose allowance has fully recovered) and frees their memory.
    pub fn prune(&self) {
        for memory in self.memory.iter().flatten() {
            memory.prune();
        }
    }

    /// Keys currently remembered in memory for `category`.
    pub fn tracked_keys(&self, category: Category) -> usize {
        self.memory[category.index()]
            .as_ref()
            .map_or(0, |m| m.tracked())
    }

    /// Whether checks currently go to Redis (configured and not failing).
    pub fn redis_active(&self) -> bool {
        self.redis.as_ref().is_some_and(|r| !r.breaker.is_open())
    }
}

/// Calls [`RateLimiter::prune`] every minute for as long as the limiter is alive.
pub fn spawn_pruning(limiter: &Arc<RateLimiter>) -> tokio::task::JoinHandle<()> {
    spawn_pruning_every(limiter, PRUNE_INTERVAL)
}

fn spawn_pruning_every(
    limiter: &Arc<RateLimiter>,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    // Weak, so the task neither keeps the limiter alive nor outlives it.
    let weak = Arc::downgrade(limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(limiter) => limiter.prune(),
                None => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use http_body_util::BodyExt;

    use super::*;

    fn config(per_minute: u32) -> RateLimitConfig {
        RateLimitConfig {
            general: CategoryLimit::per_minute(per_minute),
            sdk_chat: CategoryLimit::per_minute(per_minute),
            ..RateLimitConfig::default()
        }
    }

    #[test]
    fn defaults_are_those_of_the_spec() {
        let c = RateLimitConfig::default();
        let limits: Vec<u32> = Category::ALL
            .iter()
            .map(|cat| c.limit(*cat).per_minute)
            .collect();
        assert_eq!(limits, [10, 60, 120, 30, 60, 10, 30]);
        assert!(Category::ALL
            .iter()
            .all(|cat| c.limit(*cat).effective_burst() == c.limit(*cat).per_minute));
        assert!(c.enabled);
        assert_eq!(c.redis_key_prefix, "foil:rl");
        assert_eq!(
            Category::ALL.map(Category::per_api_key),
            [false, false, false, true, true, false, false]
        );
    }

    #[test]
    fn config_tables_may_be_partial_and_are_strict() {
        let c: RateLimitConfig =
            toml::from_str("max_tracked_keys = 10\n[sdk_chat]\nburst = 5\n[chat]\nper_minute = 7")
                .unwrap();
        assert_eq!(c.sdk_chat.per_minute, 30);
        assert_eq!(c.sdk_chat.effective_burst(), 5);
        assert_eq!(c.chat, CategoryLimit::per_minute(7));
        assert_eq!(c.general.per_minute, 120);
        assert_eq!(c.max_tracked_keys, 10);
        assert!(c.enabled);
        assert_eq!(
            toml::from_str::<RateLimitConfig>("").unwrap(),
            RateLimitConfig::default()
        );
        assert!(toml::from_str::<RateLimitConfig>("[chat]\nper_minut = 7").is_err());
        assert!(toml::from_str::<RateLimitConfig>("redis = \"x\"").is_err());
    }

    #[test]
    fn validate_reports_bad_entries_and_debug_hides_the_redis_password() {
        let mut c = RateLimitConfig {
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into()],
            redis_url: Some("redis://:hunter2@127.0.0.1:6379/0".into()),
            ..RateLimitConfig::default()
        };
        assert_eq!(c.validate(), Ok(()));
        assert!(!format!("{c:?}").contains("hunter2"));
        c.trusted_proxies.push("10.0.0.0/40".into());
        assert!(matches!(
            c.validate(),
            Err(RateLimitConfigError::TrustedProxy(_))
        ));
        c.trusted_proxies.pop();
        c.redis_url = Some("http://example.com".into());
        assert!(matches!(
            c.validate(),
            Err(RateLimitConfigError::RedisUrl(_))
        ));
    }

    #[tokio::test]
    async fn limits_are_per_key_and_per_category() {
        let limiter = RateLimiter::new(&config(2)).await;
        assert!(limiter.check(Category::General, "a").await.is_ok());
        assert!(limiter.check(Category::General, "a").await.is_ok());
        let limited = limiter.check(Category::General, "a").await.unwrap_err();
        // 2 per minute: the next one 30 s after the first, a moment ago.
        assert!((29..=30).contains(&limited.retry_after_secs), "{limited:?}");
        // Another key, another category: their own allowances.
        assert!(limiter.check(Category::General, "b").await.is_ok());
        assert!(limiter.check(Category::SdkChat, "a").await.is_ok());
        assert!(limiter.check(Category::SdkChat, "a").await.is_ok());
        assert!(limiter.check(Category::SdkChat, "a").await.is_err());
        assert_eq!(limiter.tracked_keys(Category::General), 2);
        assert_eq!(limiter.tracked_keys(Category::SdkChat), 1);
        assert_eq!(limiter.tracked_keys(Category::Chat), 0);
        // check_ip and check agree on the key; an IPv6 address shares its /64's allowance.
        let ip: IpAddr = "2001:db8:0:7::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8:0:7:ffff::9".parse().unwrap();
        assert!(limiter.check_ip(Category::General, ip).await.is_ok());
        assert!(limiter
            .check(Category::General, "2001:db8:0:7::/64")
            .await
            .is_ok());
        assert!(limiter
            .check_ip(Category::General, neighbour)
            .await
            .is_err());
        assert!(limiter
            .check_local(Category::General, "2001:db8:0:7::/64")
            .is_err());
        let next_network: IpAddr = "2001:db8:0:8::1".parse().unwrap();
        assert!(limiter
            .check_ip(Category::General, next_network)
            .await
            .is_ok());
        // IPv4 addresses are their own keys.
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(limiter.check_ip(Category::General, v4).await.is_ok());
        assert!(limiter.check(Category::General, "192.0.2.7").await.is_ok());
        assert!(limiter.check_ip(Category::General, v4).await.is_err());
        let v4_neighbour: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(limiter
            .check_ip(Category::General, v4_neighbour)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn default_burst_is_the_whole_minute() {
        let limiter = RateLimiter::new(&RateLimitConfig::default()).await;
        for _ in 0..10 {
            limiter.check(Category::Generation, "ip").await.unwrap();
        }
        let limited = limiter.check(Category::Generation, "ip").await.unwrap_err();
        assert!((5..=6).contains(&limited.retry_after_secs), "{limited:?}");
    }

    #[tokio::test]
    async fn a_smaller_burst_is_honoured() {
        let mut c = config(60);
        c.general.burst = Some(3);
        let limiter = RateLimiter::new(&c).await;
        for _ in 0..3 {
            limiter.check(Category::General, "k").await.unwrap();
        }
        assert!(limiter.check(Category::General, "k").await.is_err());
    }

    #[tokio::test]
    async fn disabled_or_zero_means_unlimited() {
        let mut c = config(1);
        c.enabled = false;
        let limiter = RateLimiter::new(&c).await;
        for _ in 0..5 {
            assert!(limiter.check(Category::General, "a").await.is_ok());
            assert!(limiter.check_local(Category::General, "a").is_ok());
        }
        let limiter = RateLimiter::new(&config(0)).await;
        for _ in 0..5 {
            assert!(limiter.check(Category::General, "a").await.is_ok());
        }
        assert_eq!(limiter.tracked_keys(Category::General), 0);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let after = |d| RateLimited::after(d).retry_after_secs;
        assert_eq!(after(Duration::ZERO), 1);
        assert_eq!(after(Duration::from_nanos(1)), 1);
        assert_eq!(after(Duration::from_millis(999)), 1);
        assert_eq!(after(Duration::from_secs(1)), 1);
        assert_eq!(after(Duration::from_millis(1001)), 2);
        assert_eq!(after(Duration::from_secs(12)), 12);
        assert_eq!(after(Duration::from_micros(29_999_001)), 30);
    }

    #[tokio::test]
    async fn response_is_exactly_the_spec() {
        for (secs, shown) in [(12, 12), (1, 1), (0, 1)] {
            let response = RateLimited {
                retry_after_secs: secs,
            }
            .into_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response.headers()[header::RETRY_AFTER],
                shown.to_string().as_str()
            );
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                std::str::from_utf8(&body).unwrap(),
                format!(r#"{{"error": "Rate limit exceeded. Try again in {shown} seconds."}}"#)
            );
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json.as_object().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn rejections_are_counted_by_category() {
        let limiter = RateLimiter::new(&config(1)).await;
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            // In-memory checks complete without awaiting anything.
            let check = |c| limiter.check(c, "k").now_or_never().unwrap();
            assert!(check(Category::General).is_ok());
            assert!(check(Category::General).is_err());
            assert!(check(Category::General).is_err());
            assert!(check(Category::SdkChat).is_ok());
            assert!(check(Category::SdkChat).is_err());
        });
        let text = handle.render();
        assert!(
            text.contains(r#"foil_rate_limited_total{category="general"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"foil_rate_limited_total{category="sdk_chat"} 1"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn pruning_forgets_idle_keys() {
        // 60 000 per minute with a burst of 1: a key is idle again 1 ms after its request.
        let mut c = config(60_000);
        c.general.burst = Some(1);
        let limiter = Arc::new(RateLimiter::new(&c).await);
        for i in 0..100 {
            limiter
                .check(Category::General, &format!("ip-{i}"))
                .await
                .unwrap();
        }
        assert_eq!(limiter.tracked_keys(Category::General), 100);
        tokio::time::sleep(Duration::from_millis(5)).await;
        limiter.prune();
        assert_eq!(limiter.tracked_keys(Category::General), 0);
        // The background task does the same, and stops with the limiter.
        for i in 0..10 {
            limiter
                .check(Category::General, &format!("ip-{i}"))
                .await
                .unwrap();
        }
        let task = spawn_pruning_every(&limiter, Duration::from_millis(5));
        // Generous bounds: they only turn a hang into a failure.
        let pruned = async {
            while limiter.tracked_keys(Category::General) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), pruned)
            .await
            .expect("the pruning task never pruned");
        drop(limiter);
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the pruning task outlived the limiter")
            .unwrap();
    }

    #[tokio::test]
    async fn memory_is_bounded_by_max_tracked_keys() {
        let mut c = config(1);
        c.max_tracked_keys = 10;
        let limiter = RateLimiter::new(&c).await;
        for i in 0..50 {
            assert!(limiter
                .check(Category::General, &format!("ip-{i}"))
                .await
                .is_ok());
        }
        assert_eq!(limiter.tracked_keys(Category::General), 10);
        // Tracked keys stay limited.
        assert!(limiter.check(Category::General, "ip-0").await.is_err());
    }

    // ---- Redis (a real server; FOIL_TEST_REDIS_URL, default redis://127.0.0.1:6379) ----

    fn redis_url() -> String {
        std::env::var("FOIL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// Connects for inspection, or says why the test should be skipped (and panics instead
    /// when FOIL_TEST_REQUIRE_SERVICES=1).
    async fn redis_or_skip() -> Option<redis::aio::MultiplexedConnection> {
        let attempt = async {
            let client = redis::Client::open(redis_url()).map_err(|e| e.to_string())?;
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| e.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(conn)
        };
        let reason = match tokio::time::timeout(Duration::from_secs(3), attempt).await {
            Ok(Ok(conn)) => return Some(conn),
            Ok(Err(e)) => e,
            Err(_) => "timed out".to_owned(),
        };
        let required = std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
        assert!(!required, "redis unavailable: {reason}");
        eprintln!("SKIP: redis unavailable: {reason}");
        None
    }

    fn redis_config(per_minute: u32) -> RateLimitConfig {
        RateLimitConfig {
            redis_url: Some(redis_url()),
            redis_key_prefix: format!("foil-test:{}", uuid::Uuid::new_v4()),
            ..config(per_minute)
        }
    }

    #[tokio::test]
    async fn redis_instances_share_the_limit() {
        let Some(mut conn) = redis_or_skip().await else {
            return;
        };
        let c = redis_config(5);
        let (a, b) = (RateLimiter::new(&c).await, RateLimiter::new(&c).await);
        assert!(a.redis_active() && b.redis_active());
        // Ten concurrent requests across two instances: exactly five pass.
        let results = futures_util::future::join_all((0..10).map(|i| {
            let limiter = if i % 2 == 0 { &a } else { &b };
            limiter.check(Category::General, "203.0.113.5")
        }))
        .await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5);
        let limited = results.iter().find_map(|r| r.err()).unwrap();
        // 5 per minute: 12 s per request, less the moment the test took.
        assert!((10..=12).contains(&limited.retry_after_secs), "{limited:?}");
        // Decided in Redis, not in memory; the key expires by itself.
        assert_eq!(a.tracked_keys(Category::General), 0);
        assert_eq!(b.tracked_keys(Category::General), 0);
        let key = format!("{}:general:203.0.113.5", c.redis_key_prefix);
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((1..=62_000).contains(&ttl), "PTTL {ttl}");
        // Other keys and categories are separate in Redis too.
        assert!(a.check(Category::General, "203.0.113.6").await.is_ok());
        assert!(b.check(Category::SdkChat, "203.0.113.5").await.is_ok());
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .arg(format!("{}:general:203.0.113.6", c.redis_key_prefix))
            .arg(format!("{}:sdk_chat:203.0.113.5", c.redis_key_prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn redis_retry_after_for_two_per_minute() {
        let Some(_conn) = redis_or_skip().await else {
            return;
        };
        let limiter = RateLimiter::new(&redis_config(2)).await;
        assert!(limiter.redis_active());
        let ip: IpAddr = "2001:db8::42".parse().unwrap();
        assert!(limiter.check_ip(Category::General, ip).await.is_ok());
        assert!(limiter.check_ip(Category::General, ip).await.is_ok());
        let limited = limiter.check_ip(Category::General, ip).await.unwrap_err();
        assert!((25..=30).contains(&limited.retry_after_secs), "{limited:?}");
    }

    #[tokio::test]
    async fn redis_script_is_reloaded_after_a_flush() {
        let Some(mut conn) = redis_or_skip().await else {
            return;
        };
        let limiter = RateLimiter::new(&redis_config(3)).await;
        // EVALSHA fails with NOSCRIPT after SCRIPT FLUSH; the client must fall back to EVAL
        // rather than to memory.
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(limiter.check(Category::General, "k").await.is_ok());
        assert!(limiter.redis_active());
        assert_eq!(limiter.tracked_keys(Category::General), 0);
    }

    #[tokio::test]
    async fn unreachable_redis_falls_back_to_memory() {
        // Port 1 on loopback: connection refused.
        let mut c = config(1);
        c.redis_url = Some("redis://127.0.0.1:1".into());
        let limiter = RateLimiter::new(&c).await;
        assert!(limiter.redis.is_some());
        assert!(!limiter.redis_active());
        assert!(limiter.check(Category::General, "x").await.is_ok());
        assert!(limiter.check(Category::General, "x").await.is_err());
        assert_eq!(limiter.tracked_keys(Category::General), 1);
        // A URL that is not a Redis URL: memory only.
        c.redis_url = Some("http://127.0.0.1:1".into());
        let limiter = RateLimiter::new(&c).await;
        assert!(limiter.redis.is_none());
        assert!(limiter.check(Category::General, "x").await.is_ok());
        assert!(limiter.check(Category::General, "x").await.is_err());
    }
}
