//! P9 with criterion: the server's in-memory rate-limit check (`RateLimiter`), as
//! `foil-bench` measures it with a plain loop.
//!
//! `cargo bench -p foil-bench --bench rate_limit`

use std::hint::black_box;

use criterion::{criterion_main, Criterion};
use foil_server::rate_limit::{Category, CategoryLimit, RateLimitConfig, RateLimiter};
use futures_util::FutureExt;

fn limiter(per_minute: u32) -> RateLimiter {
    let config = RateLimitConfig {
        sdk_chat: CategoryLimit::per_minute(per_minute),
        general: CategoryLimit::per_minute(per_minute),
        ..RateLimitConfig::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(RateLimiter::new(&config))
}

fn rate_limit(c: &mut Criterion) {
    let allowing = limiter(1_000_000_000);
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("0b6a3f4e-7c1d-4e8a-9f00-{i:012}"))
        .collect();
    let mut group = c.benchmark_group("rate_limit");
    group.bench_function("check_local/hot_key", |b| {
        b.iter(|| black_box(allowing.check_local(Category::SdkChat, black_box(&keys[0]))).ok())
    });
    let mut i = 0usize;
    group.bench_function("check_local/10k_keys", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(allowing.check_local(Category::SdkChat, black_box(&keys[i]))).ok()
        })
    });
    group.bench_function("check_async/10k_keys", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(allowing.check(Category::SdkChat, &keys[i]).now_or_never())
        })
    });
    group.bench_function("check_ip/10k_ips", |b| {
        b.iter(|| {
            i = (i + 1) % 10_000;
            let ip = std::net::IpAddr::from([10, 0, (i >> 8) as u8, i as u8]);
            black_box(allowing.check_ip(Category::General, ip).now_or_never())
        })
    });
    let strict = limiter(1);
    let _ = strict.check_local(Category::SdkChat, &keys[0]);
    group.bench_function("check_local/rejecting", |b| {
        b.iter(|| black_box(strict.check_local(Category::SdkChat, black_box(&keys[0]))).ok())
    });
    group.finish();
}

/// Runs the `rate_limit` benchmark group with criterion's defaults and the command-line
/// options.
///
/// What `criterion_group!(benches, rate_limit)` would generate, written out because that
/// macro's `pub fn` cannot carry a doc comment.
pub fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    rate_limit(&mut criterion);
}

criterion_main!(benches);
