//! The shared backend: the same GCRA as in memory, run atomically in Redis by one Lua script,
//! so every server instance counts against the same limits.
//!
//! Redis is an optimisation of accuracy, never a dependency of availability: any error or a
//! reply slower than `redis_timeout_ms` sends that request to the in-process limiter, and a
//! circuit breaker then keeps requests away from Redis (1 s, doubling up to 30 s, between
//! single probe requests) so a dead Redis costs one timeout, not one per request.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use super::{Category, RateLimited};

/// `KEYS[1]`: the key. `ARGV[1]`: emission interval T in µs; `ARGV[2]`: burst B.
/// Returns 0 when the request is allowed (and counted), else the µs until one would be.
///
/// The time comes from Redis (`TIME`), so instances with skewed clocks agree. All values are
/// whole microseconds, exact in Lua's doubles, so Redis's integer conversion of the reply
/// loses nothing.
const GCRA_SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - now - tolerance
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
"#;

/// Connecting (TCP + handshake) may take longer than one command.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The GCRA parameters of one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GcraParams {
    /// Microseconds between two requests at the sustained rate.
    pub interval_us: u64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// The Redis limiter; see the module docs for its failure behaviour.
pub(super) struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
    timeout: Duration,
    pub(super) breaker: Breaker,
}

impl RedisLimiter {
    /// Sets up a lazily connecting client and probes it once (loading the script), so the log
    /// says at start-up which limiter is in force. An unreachable Redis is not an error: the
    /// breaker starts open and requests use memory until a probe succeeds. Only a URL that
    /// cannot be used at all is.
    pub(super) async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Self, RedisError> {
        let client = redis::Client::open(url)?;
        // Few internal retries: the breaker paces reconnection attempts.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        let limiter = RedisLimiter {
            conn,
            script: Script::new(GCRA_SCRIPT),
            prefix: prefix.to_owned(),
            timeout,
            breaker: Breaker::new(),
        };
        let mut conn = limiter.conn.clone();
        let probe = tokio::time::timeout(
            CONNECT_TIMEOUT + timeout,
            limiter.script.prepare_invoke().load_async(&mut conn),
        )
        .await;
        match probe {
            Ok(Ok(_sha)) => tracing::info!("rate limits are shared through Redis"),
            Ok(Err(e)) => limiter.breaker.record_failure(Admission::Closed, &e),
            Err(_) => limiter
                .breaker
                .record_failure(Admission::Closed, &"timed out"),
        }
        Ok(limiter)
    }

    /// Counts one request in Redis; `None` when Redis is not to be used for it (breaker open)
    /// or failed, and the caller must decide in memory.
    pub(super) async fn check(
        &self,
        category: Category,
        key: &str,
        params: GcraParams,
    ) -> Option<Result<(), RateLimited>> {
        let admission = self.breaker.admit();
        if admission == Admission::Skip {
            return None;
        }
        let redis_key = format!("{}:{}:{key}", self.prefix, category.as_str());
        let mut conn = self.conn.clone();
        let reply = tokio::time::timeout(
            self.timeout,
            self.script
                .key(redis_key)
                .arg(params.interval_us)
                .arg(params.burst)
                .invoke_async::<i64>(&mut conn),
        )
        .await;
        match reply {
            Ok(Ok(wait_us)) => {
                self.breaker.record_success();
                Some(if wait_us <= 0 {
                    Ok(())
                } else {
                    Err(RateLimited::after(Duration::from_micros(wait_us as u64)))
                })
            }
            Ok(Err(e)) => {
                self.breaker.record_failure(admission, &e);
                None
            }
            Err(_) => {
                self.breaker.record_failure(admission, &"timed out");
                None
            }
        }
    }
}

/// How a request may use Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Redis is healthy.
    Closed,
    /// Redis failed; this request is the one that tries it again.
    Probe,
    /// Redis failed recently; use memory.
    Skip,
}

/// A circuit breaker around Redis.
pub(super) struct Breaker {
    epoch: Instant,
    /// 0 while Redis is in use; otherwise when (ms after `epoch`) the next probe may go.
    retry_at_ms: AtomicU64,
    /// Consecutive failed attempts (0: healthy).
    failures: AtomicU32,
}

impl Breaker {
    fn new() -> Self {
        Breaker {
            epoch: Instant::now(),
            retry_at_ms: AtomicU64::new(0),
            failures: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        // +1 keeps 0 free to mean "closed".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Whether Redis is currently being avoided.
    pub(super) fn is_open(&self) -> bool {
        self.retry_at_ms.load(Ordering::Acquire) != 0
    }

    fn admit(&self) -> Admission {
        let retry_at = self.retry_at_ms.load(Ordering::Acquire);
        if retry_at == 0 {
            return Admission::Closed;
        }
        let now = self.now_ms();
        if now < retry_at {
            return Admission::Skip;
        }
        // Exactly one request probes; the next probe is pushed out in case this one fails.
        let next = now + backoff_ms(self.failures.load(Ordering::Relaxed));
        match self
            .retry_at_ms
            .compare_exchange(retry_at, next, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::Skip,
        }
    }

    fn record_success(&self) {
        // The common case (healthy) is one relaxed load.
        if self.failures.load(Ordering::Relaxed) == 0 {
            return;
        }
        if self.failures.swap(0, Ordering::Relaxed) > 0 {
            self.retry_at_ms.store(0, Ordering::Release);
            tracing::info!("Redis rate limiter reachable again; limits are shared again");
        }
    }

    fn record_failure(&self, admission: Admission, error: &dyn fmt::Display) {
        let failures = match admission {
            // Requests in flight when Redis broke all fail: only the first trips the breaker.
            Admission::Closed => {
                match self
                    .failures
                    .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => {
                        tracing::warn!(
                            error = %error,
                            "Redis rate limiter unavailable; each instance enforces the limits on \
                             its own until Redis is back"
                        );
                        1
                    }
                    Err(_) => return,
                }
            }
            Admission::Probe => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(error = %error, failures, "Redis rate limiter still unavailable");
                failures
            }
            Admission::Skip => return,
        };
        self.retry_at_ms
            .store(self.now_ms() + backoff_ms(failures), Ordering::Release);
    }
}

/// 1 s after the first failure, doubling to at most 30 s.
fn backoff_ms(failures: u32) -> u64 {
    (1000u64 << failures.saturating_sub(1).min(5)).min(30_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let steps: Vec<u64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(
            steps,
            [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
        );
    }

    #[test]
    fn breaker_trips_once_and_lets_one_probe_through() {
        let breaker = Breaker::new();
        assert_eq!(breaker.admit(), Admission::Closed);
        // Two requests in flight fail: one failure counted.
        breaker.record_failure(Admission::Closed, &"boom");
        breaker.record_failure(Admission::Closed, &"boom");
        assert_eq!(breaker.failures.load(Ordering::Relaxed), 1);
        assert!(breaker.is_open());
        assert_eq!(breaker.admit(), Admission::Skip);
        // Pretend the back-off has passed: one probe, everyone else keeps skipping.
        breaker.retry_at_ms.store(1, Ordering::Release);
        assert_eq!(breaker.admit(), Admission::Probe);
        assert_eq!(breaker.admit(), Admission::Skip);
        breaker.record_failure(Admission::Probe, &"still down");
        assert_eq!(breaker.failures.load(Ordering::Relaxed), 2);
        assert_eq!(breaker.admit(), Admission::Skip);
        breaker.retry_at_ms.store(1, Ordering::Release);
        assert_eq!(breaker.admit(), Admission::Probe);
        breaker.record_success();
        assert!(!breaker.is_open());
        assert_eq!(breaker.admit(), Admission::Closed);
    }
}
