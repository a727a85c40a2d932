//! The in-process backend: one `governor` GCRA limiter per category over a bounded key table.
//!
//! governor's own `DashMapStateStore` grows without limit and `DashMap::len` takes a read lock
//! on every shard, so the table here is a small [`StateStore`] of our own: a `DashMap` of
//! governor's [`InMemoryState`] cells plus an exact entry counter, which refuses to remember new
//! keys once `max_tracked_keys` is reached.

use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter as Gcra};

use super::{Category, RateLimited};

/// Keys up to this many bytes are stored inline. Every IP address as Rust prints it (≤ 39
/// characters) and every UUID (36) fits, so the usual keys never touch the heap.
const INLINE: usize = 46;

/// A limiter key: a client IP or an API-key id, compared byte for byte.
#[derive(Clone)]
pub(super) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Key {
    pub(super) fn new(key: &str) -> Self {
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(key.into())
        }
    }

    /// The key of `value`'s `Display` form, formatted without a `String` when it fits inline.
    pub(super) fn display(value: impl fmt::Display) -> Self {
        let mut buf = InlineBuf {
            len: 0,
            bytes: [0; INLINE],
        };
        match write!(buf, "{value}") {
            Ok(()) => Key::Inline {
                len: buf.len,
                bytes: buf.bytes,
            },
            Err(_) => Key::Heap(value.to_string().into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(s) => s.as_bytes(),
        }
    }

    /// The key as text (only built from whole `&str`s, so always valid UTF-8).
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

// By content, so that a key has one identity whichever way it was built.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

/// A fixed buffer for [`Key::display`]: a piece that does not fit fails the whole write, so the
/// bytes kept are always whole `&str`s.
struct InlineBuf {
    len: u8,
    bytes: [u8; INLINE],
}

impl fmt::Write for InlineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = usize::from(self.len);
        let end = start + s.len();
        if end > INLINE {
            return Err(fmt::Error);
        }
        self.bytes[start..end].copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

/// Counters shared by a [`Table`] and its [`MemoryLimiter`] (governor owns the table and does
/// not hand it back).
struct TableStats {
    category: Category,
    cap: usize,
    /// Entries in the table, kept exactly so the hot path never calls `DashMap::len`.
    tracked: AtomicUsize,
    /// Requests of new keys decided without being remembered since the table was last not full.
    untracked: AtomicU64,
}

/// The key table of one category.
pub(super) struct Table {
    map: DashMap<Key, InMemoryState>,
    stats: Arc<TableStats>,
}

impl StateStore for Table {
    type Key = Key;

    fn measure_and_replace<T, F, E>(&self, key: &Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // Fast path: a known key is one shard read lock and one compare-and-swap.
        if let Some(cell) = self.map.get(key) {
            return cell.measure_and_replace(&NotKeyed::NonKey, f);
        }
        if self.stats.tracked.load(Relaxed) >= self.stats.cap {
            // Full of active keys: decide as for a fresh key (always allowed) without storing
            // it. Memory stays bounded (requests racing past this load overshoot the cap by at
            // most one key each); the cost is that such a client is not limited.
            self.stats.untracked.fetch_add(1, Relaxed);
            metrics::counter!("foil_rate_limit_untracked_total", "category" => self.stats.category.as_str())
                .increment(1);
            return f(None).map(|(outcome, _)| outcome);
        }
        match self.map.entry(key.clone()) {
            Entry::Occupied(cell) => cell.get().measure_and_replace(&NotKeyed::NonKey, f),
            Entry::Vacant(slot) => {
                self.stats.tracked.fetch_add(1, Relaxed);
                slot.insert(InMemoryState::default())
                    .measure_and_replace(&NotKeyed::NonKey, f)
            }
        }
    }
}

/// The stored theoretical arrival time of a cell (`None` if never used).
fn stored_tat(cell: &InMemoryState) -> Option<Nanos> {
    // InMemoryState has no public getter: a measurement that always declines reads without
    // writing.
    match cell.measure_and_replace(&NotKeyed::NonKey, |prev| {
        Err::<((), Nanos), Option<Nanos>>(prev)
    }) {
        Ok(()) => None,
        Err(prev) => prev,
    }
}

impl ShrinkableKeyedStateStore<Key> for Table {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut removed = 0;
        self.map.retain(|_, cell| {
            let keep = stored_tat(cell).is_some_and(|tat| tat > drop_below);
            removed += usize::from(!keep);
            keep
        });
        // Subtract rather than store `len()`: keys inserted meanwhile were counted already.
        self.stats.tracked.fetch_sub(removed, Relaxed);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A table that is full is pruned at most this often from the request path, so a table full
/// of *active* keys is not rescanned on every request.
const FULL_PRUNE_SPACING: Duration = Duration::from_secs(1);

/// `last_full_prune` before the first such prune.
const NEVER: u64 = u64::MAX;

/// The in-process limiter of one category.
pub(super) struct MemoryLimiter<C: Clock = DefaultClock> {
    gcra: Gcra<Key, Table, C, NoOpMiddleware<C::Instant>>,
    stats: Arc<TableStats>,
    epoch: C::Instant,
    /// Nanoseconds after `epoch` of the last prune forced by a full table.
    last_full_prune: AtomicU64,
    /// Whether the table is known to be full of active keys (for logging once per episode).
    full: AtomicBool,
}

impl<C: Clock> MemoryLimiter<C> {
    pub(super) fn new(category: Category, quota: Quota, cap: usize, clock: C) -> Self {
        let stats = Arc::new(TableStats {
            category,
            cap: cap.max(1),
            tracked: AtomicUsize::new(0),
            untracked: AtomicU64::new(0),
        });
        let table = Table {
            map: DashMap::new(),
            stats: Arc::clone(&stats),
        };
        let epoch = clock.now();
        MemoryLimiter {
            gcra: Gcra::new(quota, table, clock),
            stats,
            epoch,
            last_full_prune: AtomicU64::new(NEVER),
            full: AtomicBool::new(false),
        }
    }

    /// Counts one request of `key`.
    pub(super) fn check(&self, key: &Key) -> Result<(), RateLimited> {
        if self.stats.tracked.load(Relaxed) >= self.stats.cap {
            self.prune_full_table();
        }
        self.gcra.check_key(key).map_err(|not_until| {
            RateLimited::after(not_until.wait_time_from(self.gcra.clock().now()))
        })
    }

    /// Drops keys whose allowance has fully recovered (they are indistinguishable from new
    /// ones) and gives the memory back.
    pub(super) fn prune(&self) {
        self.gcra.retain_recent();
        self.gcra.shrink_to_fit();
        self.note_fullness();
    }

    /// Keys currently remembered.
    pub(super) fn tracked(&self) -> usize {
        self.stats.tracked.load(Relaxed)
    }

    fn prune_full_table(&self) {
        let now = self.gcra.clock().now().duration_since(self.epoch).as_u64();
        let last = self.last_full_prune.load(Relaxed);
        let spacing = FULL_PRUNE_SPACING.as_nanos() as u64;
        if last != NEVER && now.saturating_sub(last) < spacing {
            return;
        }
        // One request prunes; concurrent ones go on (their new keys are served untracked).
        if self
            .last_full_prune
            .compare_exchange(last, now, Relaxed, Relaxed)
            .is_err()
        {
            return;
        }
        // No shrink_to_fit: the table is about to fill up again.
        self.gcra.retain_recent();
        self.note_fullness();
    }

    /// Logs when the table becomes full of active keys and when it stops being so.
    fn note_fullness(&self) {
        let tracked = self.tracked();
        let category = self.stats.category.as_str();
        if tracked >= self.stats.cap {
            if !self.full.swap(true, Relaxed) {
                tracing::warn!(
                    category,
                    tracked,
                    max_tracked_keys = self.stats.cap,
                    "rate-limit key table full of active clients; new clients are served \
                     without a limit until keys go idle"
                );
            }
        } else if self.full.swap(false, Relaxed) {
            let untracked = self.stats.untracked.swap(0, Relaxed);
            tracing::info!(
                category,
                tracked,
                untracked,
                "rate-limit key table has room again"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        per_minute: u32,
        cap: usize,
    ) -> (MemoryLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap());
        let limiter = MemoryLimiter::new(Category::General, quota, cap, clock.clone());
        (limiter, clock)
    }

    fn key(s: &str) -> Key {
        Key::new(s)
    }

    #[test]
    fn keys_compare_by_content_however_built() {
        let ip: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert!(Key::display(ip) == Key::new("2001:db8::1"));
        assert!(matches!(Key::display(ip), Key::Inline { .. }));
        let widest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        assert!(matches!(Key::new(widest), Key::Inline { .. }));
        let long = "k".repeat(INLINE + 1);
        assert!(matches!(Key::new(&long), Key::Heap(_)));
        assert!(Key::display(&long) == Key::new(&long));
        assert_eq!(Key::new(&long).as_str(), long);
        assert!(Key::new("a") != Key::new("ab"));
        let hash = |k: &Key| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            k.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&Key::display(&long)), hash(&Key::new(&long)));
    }

    #[test]
    fn full_minute_burst_then_one_per_interval() {
        let (limiter, clock) = limiter(2, 100);
        assert!(limiter.check(&key("a")).is_ok());
        assert!(limiter.check(&key("a")).is_ok());
        // 2 per minute: the next request is allowed 30 s after the first.
        assert_eq!(
            limiter.check(&key("a")),
            Err(RateLimited {
                retry_after_secs: 30
            })
        );
        clock.advance(Duration::from_millis(10_500));
        // 19.5 s left, rounded up.
        assert_eq!(
            limiter.check(&key("a")),
            Err(RateLimited {
                retry_after_secs: 20
            })
        );
        clock.advance(Duration::from_millis(19_499));
        assert_eq!(
            limiter.check(&key("a")),
            Err(RateLimited {
                retry_after_secs: 1
            })
        );
        clock.advance(Duration::from_millis(1));
        assert!(limiter.check(&key("a")).is_ok());
        assert!(limiter.check(&key("a")).is_err());
        // Other keys were never affected.
        assert!(limiter.check(&key("b")).is_ok());
    }

    #[test]
    fn concurrent_requests_never_exceed_the_limit() {
        let (limiter, _clock) = limiter(50, 100);
        let allowed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if limiter.check(&key("shared")).is_ok() {
                            allowed.fetch_add(1, Relaxed);
                        }
                    }
                });
            }
        });
        // The fake clock never moves, so exactly the burst gets through.
        assert_eq!(allowed.load(Relaxed), 50);
    }

    #[test]
    fn idle_keys_are_pruned_and_active_ones_kept() {
        let (limiter, clock) = limiter(2, 1000);
        for i in 0..100 {
            limiter
                .check(&Key::display(format_args!("10.0.0.{i}")))
                .unwrap();
        }
        assert_eq!(limiter.tracked(), 100);
        limiter.prune();
        assert_eq!(limiter.tracked(), 100, "nothing has recovered yet");
        clock.advance(Duration::from_secs(45));
        // A key used twice is still limited: pruning must not forget it.
        limiter.check(&key("busy")).unwrap();
        limiter.check(&key("busy")).unwrap();
        clock.advance(Duration::from_secs(20));
        limiter.prune();
        assert_eq!(limiter.tracked(), 1);
        assert_eq!(limiter.gcra.len(), 1);
        assert!(limiter.check(&key("busy")).is_err());
    }

    #[test]
    fn table_never_grows_past_its_cap() {
        let (limiter, clock) = limiter(1, 3);
        for k in ["a", "b", "c"] {
            limiter.check(&key(k)).unwrap();
        }
        // Full of active keys: a new key is served but not remembered (fail open).
        for _ in 0..3 {
            assert!(limiter.check(&key("d")).is_ok());
        }
        assert_eq!(limiter.tracked(), 3);
        assert_eq!(limiter.gcra.len(), 3);
        assert_eq!(limiter.stats.untracked.load(Relaxed), 3);
        assert!(limiter.full.load(Relaxed));
        // Remembered keys are still limited.
        assert!(limiter.check(&key("a")).is_err());
        // Once the old keys are idle, a full table is pruned from the request path and the
        // new key is tracked and limited again.
        clock.advance(Duration::from_secs(121));
        assert!(limiter.check(&key("d")).is_ok());
        assert_eq!(limiter.tracked(), 1);
        assert!(limiter.check(&key("d")).is_err());
        assert!(!limiter.full.load(Relaxed));
        assert_eq!(limiter.stats.untracked.load(Relaxed), 0);
    }
}
