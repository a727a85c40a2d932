//! Rate limiting (api.md §6): five categories, per client IP or per API key.
//!
//! In one process the limits are GCRA limiters from `governor`, one keyed limiter per category,
//! with the full minute's allowance usable as a burst (like the hosted service's fixed
//! windows). Idle keys are pruned every minute and the number of tracked keys is capped, so
//! memory stays bounded under a flood of distinct IPs. With `redis_url` set, the same GCRA runs
//! atomically in Redis so every instance shares the limits; if Redis cannot be reached, the
//! in-process limiter takes over (logged) — rate limiting must never take the API down.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter as Governor};
use serde::Deserialize;

/// A rate-limit category of api.md §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `creator/generate/*`, `creator/polish` — per IP.
    Generation,
    /// Web-chat `message`, `message/stream` — per IP.
    Chat,
    /// Every other non-SDK route, and requests failing API-key auth — per IP.
    General,
    /// SDK `message`, `message/stream` — per API key.
    SdkChat,
    /// Every other SDK route — per API key.
    SdkGeneral,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Generation,
        Category::Chat,
        Category::General,
        Category::SdkChat,
        Category::SdkGeneral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Generation => "generation",
            Category::Chat => "chat",
            Category::General => "general",
            Category::SdkChat => "sdk_chat",
            Category::SdkGeneral => "sdk_general",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The limit of one category.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CategoryLimit {
    /// Requests per minute.
    pub per_minute: u32,
    /// Requests allowed at once; defaults to `per_minute`.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl CategoryLimit {
    const fn per_minute(per_minute: u32) -> Self {
        CategoryLimit {
            per_minute,
            burst: None,
        }
    }
}

/// Rate-limit settings (`[rate_limit]` in the config file).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub generation: CategoryLimit,
    pub chat: CategoryLimit,
    pub general: CategoryLimit,
    pub sdk_chat: CategoryLimit,
    pub sdk_general: CategoryLimit,
    /// Proxies (IPs or CIDRs) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Most keys tracked per category in memory.
    pub max_tracked_keys: usize,
    /// Share the limits between instances through this Redis.
    pub redis_url: Option<String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            generation: CategoryLimit::per_minute(10),
            chat: CategoryLimit::per_minute(60),
            general: CategoryLimit::per_minute(120),
            sdk_chat: CategoryLimit::per_minute(30),
            sdk_general: CategoryLimit::per_minute(60),
            trusted_proxies: Vec::new(),
            max_tracked_keys: 100_000,
            redis_url: None,
        }
    }
}

impl RateLimitConfig {
    pub fn limit(&self, category: Category) -> CategoryLimit {
        match category {
            Category::Generation => self.generation,
            Category::Chat => self.chat,
            Category::General => self.general,
            Category::SdkChat => self.sdk_chat,
            Category::SdkGeneral => self.sdk_general,
        }
    }
}

/// A request over its limit: 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// Whole seconds, rounded up, at least 1.
    pub retry_after_secs: u64,
}

impl RateLimited {
    fn after(wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        RateLimited {
            retry_after_secs: secs.max(1),
        }
    }
}

impl IntoResponse for RateLimited {
    fn into_response(self) -> Response {
        let secs = self.retry_after_secs.max(1);
        let body = serde_json::json!({
            "error": format!("Rate limit exceeded. Try again in {secs} seconds.")
        });
        let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        response
    }
}

/// A trusted proxy: an address with a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedNet {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedNet {
    /// Parses `10.0.0.1` or `10.0.0.0/8` (IPv6 too).
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = text.trim().parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(TrustedNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The client's address: the socket peer, or — when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[TrustedNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer_ip) {
        return peer_ip;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer_ip)
}

/// The limiter of all five categories.
pub struct RateLimiter {
    enabled: bool,
    local: Vec<Option<DefaultKeyedRateLimiter<String>>>,
    limits: Vec<CategoryLimit>,
    trusted: Vec<TrustedNet>,
    max_tracked_keys: usize,
    redis: Option<redis_backend::RedisLimiter>,
}

/// How often idle keys are dropped from memory.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

fn quota(limit: CategoryLimit) -> Option<Quota> {
    let per_minute = NonZeroU32::new(limit.per_minute)?;
    let burst = limit.burst.and_then(NonZeroU32::new).unwrap_or(per_minute);
    Some(Quota::per_minute(per_minute).allow_burst(burst))
}

impl RateLimiter {
    /// Builds the limiter; connects to Redis when configured (falling back to memory).
    /// A category with `per_minute = 0` is unlimited.
    pub async fn new(config: &RateLimitConfig) -> Self {
        let limits: Vec<CategoryLimit> = Category::ALL.iter().map(|c| config.limit(*c)).collect();
        let local: Vec<Option<DefaultKeyedRateLimiter<String>>> = limits
            .iter()
            .map(|l| quota(*l).map(Governor::keyed))
            .collect();
        let trusted = config
            .trusted_proxies
            .iter()
            .filter_map(|t| {
                let net = TrustedNet::parse(t);
                if net.is_none() {
                    tracing::warn!(entry = %t, "ignoring unparseable trusted proxy");
                }
                net
            })
            .collect();
        let redis = match &config.redis_url {
            Some(url) if config.enabled => redis_backend::RedisLimiter::connect(url).await,
            _ => None,
        };
        RateLimiter {
            enabled: config.enabled,
            local,
            limits,
            trusted,
            max_tracked_keys: config.max_tracked_keys.max(1),
            redis,
        }
    }

    /// The trusted proxies, for [`client_ip`].
    pub fn trusted_proxies(&self) -> &[TrustedNet] {
        &self.trusted
    }

    /// Counts one request of `key` in `category`.
    pub async fn check(&self, category: Category, key: &str) -> Result<(), RateLimited> {
        if !self.enabled {
            return Ok(());
        }
        let result = match &self.redis {
            Some(redis) => match redis
                .check(category, key, self.limits[category.index()])
                .await
            {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(error = %e, "Redis rate limiter unavailable; using the in-process limiter");
                    self.check_local(category, key)
                }
            },
            None => self.check_local(category, key),
        };
        if result.is_err() {
            metrics::counter!("foil_rate_limited_total", "category" => category.as_str())
                .increment(1);
        }
        result
    }

    /// The in-process check (P9: no allocation for a key already tracked, beyond the lookup).
    pub fn check_local(&self, category: Category, key: &str) -> Result<(), RateLimited> {
        let Some(limiter) = &self.local[category.index()] else {
            return Ok(());
        };
        if limiter.len() >= self.max_tracked_keys {
            limiter.retain_recent();
            if limiter.len() >= self.max_tracked_keys {
                // Still full of active keys: serve rather than fail closed, and say so.
                metrics::counter!("foil_rate_limit_keys_overflow_total").increment(1);
                tracing::warn!(category = category.as_str(), "rate-limit key table full");
            }
        }
        limiter.check_key(&key.to_string()).map_err(|not_until| {
            RateLimited::after(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    /// Drops idle keys (those whose limit has fully recovered).
    pub fn prune(&self) {
        for limiter in self.local.iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys currently tracked in memory for a category.
    pub fn tracked_keys(&self, category: Category) -> usize {
        self.local[category.index()]
            .as_ref()
            .map(|l| l.len())
            .unwrap_or(0)
    }
}

/// Prunes idle keys every minute while the limiter lives.
pub fn spawn_pruning(limiter: &Arc<RateLimiter>) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_INTERVAL);
        tick.tick().await;
        loop {
            tick.tick().await;
            match weak.upgrade() {
                Some(limiter) => limiter.prune(),
                None => return,
            }
        }
    })
}

mod redis_backend {
    //! GCRA in Redis: one atomic script per check, keyed `foil:rl:{category}:{key}`.

    use std::time::Duration;

    use redis::aio::ConnectionManager;

    use super::{Category, CategoryLimit, RateLimited};

    /// KEYS[1] = key; ARGV = emission interval (ms), burst, now (ms).
    /// Returns 0 when allowed, else the milliseconds to wait.
    const GCRA: &str = r#"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return 0
"#;

    pub struct RedisLimiter {
        conn: ConnectionManager,
        script: redis::Script,
    }

    impl RedisLimiter {
        pub async fn connect(url: &str) -> Option<Self> {
            let client = match redis::Client::open(url) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "invalid Redis URL; rate limits are per instance");
                    return None;
                }
            };
            match tokio::time::timeout(Duration::from_secs(3), ConnectionManager::new(client)).await
            {
                Ok(Ok(conn)) => Some(RedisLimiter {
                    conn,
                    script: redis::Script::new(GCRA),
                }),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "Redis unreachable; rate limits are per instance");
                    None
                }
                Err(_) => {
                    tracing::warn!("Redis connection timed out; rate limits are per instance");
                    None
                }
            }
        }

        pub async fn check(
            &self,
            category: Category,
            key: &str,
            limit: CategoryLimit,
        ) -> Result<Result<(), RateLimited>, redis::RedisError> {
            if limit.per_minute == 0 {
                return Ok(Ok(()));
            }
            let interval_ms = 60_000f64 / f64::from(limit.per_minute);
            let burst = limit.burst.filter(|b| *b > 0).unwrap_or(limit.per_minute);
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as f64;
            let mut conn = self.conn.clone();
            let wait_ms: f64 = tokio::time::timeout(
                Duration::from_millis(500),
                self.script
                    .key(format!("foil:rl:{}:{key}", category.as_str()))
                    .arg(interval_ms)
                    .arg(burst)
                    .arg(now_ms)
                    .invoke_async(&mut conn),
            )
            .await
            .map_err(|_| {
                redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "timed out",
                ))
            })??;
            Ok(if wait_ms <= 0.0 {
                Ok(())
            } else {
                Err(RateLimited::after(Duration::from_millis(
                    wait_ms.ceil() as u64
                )))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_minute: u32) -> RateLimitConfig {
        RateLimitConfig {
            general: CategoryLimit::per_minute(per_minute),
            sdk_chat: CategoryLimit::per_minute(per_minute),
            ..RateLimitConfig::default()
        }
    }

    #[tokio::test]
    async fn limits_each_key_and_category_separately() {
        let limiter = RateLimiter::new(&config(2)).await;
        assert!(limiter.check(Category::General, "a").await.is_ok());
        assert!(limiter.check(Category::General, "a").await.is_ok());
        let limited = limiter.check(Category::General, "a").await.unwrap_err();
        // 2 per minute: the next slot frees up in ≤ 30 s.
        assert!((1..=30).contains(&limited.retry_after_secs), "{limited:?}");
        assert!(limiter.check(Category::General, "b").await.is_ok());
        assert!(limiter.check(Category::SdkChat, "a").await.is_ok());
    }

    #[tokio::test]
    async fn disabled_or_zero_means_unlimited() {
        let mut c = config(1);
        c.enabled = false;
        let limiter = RateLimiter::new(&c).await;
        for _ in 0..5 {
            assert!(limiter.check(Category::General, "a").await.is_ok());
        }
        let limiter = RateLimiter::new(&config(0)).await;
        for _ in 0..5 {
            assert!(limiter.check(Category::General, "a").await.is_ok());
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(
            RateLimited::after(Duration::from_millis(1)).retry_after_secs,
            1
        );
        assert_eq!(
            RateLimited::after(Duration::from_millis(1001)).retry_after_secs,
            2
        );
        assert_eq!(
            RateLimited::after(Duration::from_secs(12)).retry_after_secs,
            12
        );
        assert_eq!(RateLimited::after(Duration::ZERO).retry_after_secs, 1);
    }

    #[tokio::test]
    async fn response_has_exact_body_and_header() {
        use http_body_util::BodyExt;
        let response = RateLimited {
            retry_after_secs: 12,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "12");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": "Rate limit exceeded. Try again in 12 seconds."})
        );
    }

    #[tokio::test]
    async fn idle_keys_are_pruned() {
        // 60 000 per minute: a key recovers after 1 ms, so it is idle almost at once.
        let limiter = RateLimiter::new(&config(60_000)).await;
        for i in 0..100 {
            limiter
                .check(Category::General, &format!("ip-{i}"))
                .await
                .unwrap();
        }
        assert_eq!(limiter.tracked_keys(Category::General), 100);
        tokio::time::sleep(Duration::from_millis(20)).await;
        limiter.prune();
        assert_eq!(limiter.tracked_keys(Category::General), 0);
    }

    #[test]
    fn client_ip_trusts_forwarded_for_only_from_proxies() {
        let trusted = [
            TrustedNet::parse("10.0.0.0/8").unwrap(),
            TrustedNet::parse("::1").unwrap(),
        ];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.9, 203.0.113.7, 10.1.2.3".parse().unwrap(),
        );
        let proxy: SocketAddr = "10.0.0.1:1234".parse().unwrap();
        let stranger: SocketAddr = "192.0.2.1:1234".parse().unwrap();
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(stranger, &headers, &trusted),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        headers.insert("x-forwarded-for", "garbage, 2001:db8::5".parse().unwrap());
        assert_eq!(
            client_ip(v6, &headers, &trusted),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
        assert!(TrustedNet::parse("10.0.0.0/33").is_none());
        assert!(TrustedNet::parse("nonsense").is_none());
        let mapped: SocketAddr = "[::ffff:10.0.0.7]:1".parse().unwrap();
        assert_eq!(
            client_ip(mapped, &HeaderMap::new(), &trusted),
            "10.0.0.7".parse::<IpAddr>().unwrap()
        );
    }

    fn redis_url() -> String {
        std::env::var("FOIL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    fn required() -> bool {
        std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
    }

    #[tokio::test]
    async fn redis_backend_shares_limits_between_instances() {
        let mut c = config(3);
        c.redis_url = Some(redis_url());
        let a = RateLimiter::new(&c).await;
        if a.redis.is_none() {
            assert!(
                !required(),
                "Redis is required (FOIL_TEST_REQUIRE_SERVICES=1) but unreachable"
            );
            eprintln!("SKIP: redis unavailable at {}", redis_url());
            return;
        }
        let b = RateLimiter::new(&c).await;
        let key = uuid::Uuid::new_v4().to_string();
        assert!(a.check(Category::General, &key).await.is_ok());
        assert!(b.check(Category::General, &key).await.is_ok());
        assert!(a.check(Category::General, &key).await.is_ok());
        let limited = b.check(Category::General, &key).await.unwrap_err();
        assert!(limited.retry_after_secs >= 1);
        // The in-process limiters were not used.
        assert_eq!(a.tracked_keys(Category::General), 0);
    }

    #[tokio::test]
    async fn unreachable_redis_falls_back_to_memory() {
        let mut c = config(1);
        c.redis_url = Some("redis://127.0.0.1:1".into());
        let limiter = RateLimiter::new(&c).await;
        assert!(limiter.redis.is_none());
        assert!(limiter.check(Category::General, "x").await.is_ok());
        assert!(limiter.check(Category::General, "x").await.is_err());
    }
}
