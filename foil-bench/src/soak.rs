//! P12, on demand (`--soak [MINUTES]`): chat turns at a steady rate for a long time, one window
//! per minute, watching for what only time shows — errors, memory growth, latency drift.
//! quality.md's bar (issue 14): 30 minutes at half of P4's capacity with 0 errors, RSS growth
//! ≤ 5 % and p99 drift ≤ 20 %.

use std::time::Duration;

use serde_json::json;

use crate::load::{open_loop, Percentiles};
use crate::report::Row;
use crate::scenarios::{fresh, pooled_turn, turn_pool, Ctx, Outcome};

/// How long one measurement window lasts.
const WINDOW: Duration = Duration::from_secs(60);
/// Windows left out of the comparison while caches, pools and the allocator warm up.
const WARM_UP_WINDOWS: usize = 1;

/// P12: `minutes` one-minute windows of turns at `rate` per second.
pub(crate) async fn p12(ctx: &Ctx<'_>, minutes: usize, rate: f64) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        minutes > WARM_UP_WINDOWS,
        "the soak needs at least two minutes"
    );
    let t = fresh(&ctx.target);
    let pool = turn_pool(ctx, "p12", (rate as usize).max(50)).await?;
    let make = || {
        let (t, pool) = (t.clone(), pool.clone());
        move |_: u64| -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>> {
            Box::pin(pooled_turn(&t, &pool, "Hello! One coffee, please.".into()))
        }
    };
    let mut windows = Vec::new();
    let (mut errors, mut turns) = (0u64, 0u64);
    for minute in 0..minutes {
        let count = (rate * WINDOW.as_secs_f64()) as u64;
        let run = open_loop(rate, count, 1, make()).await;
        let c = &run.classes[0];
        let p = Percentiles::of(&c.latency);
        let rss_kib = ctx.server.memory_kib().map(|(rss, _)| rss);
        errors += c.error_count();
        turns += c.ok;
        eprintln!(
            "  P12 minute {}: {:.0} turns/s, {} errors, p99 {:.1} ms, RSS {} KiB",
            minute + 1,
            c.achieved_rate(),
            c.error_count(),
            p.p99_ms,
            rss_kib.map_or("?".into(), |r| r.to_string())
        );
        windows.push(json!({
            "minute": minute + 1,
            "achieved_per_s": c.achieved_rate(),
            "errors": c.error_count(),
            "p50_ms": p.p50_ms,
            "p99_ms": p.p99_ms,
            "rss_kib": rss_kib,
        }));
    }
    let compared = &windows[WARM_UP_WINDOWS..];
    let (first, last) = (&compared[0], &compared[compared.len() - 1]);
    let change = |key: &str| {
        let (a, b) = (first[key].as_f64()?, last[key].as_f64()?);
        (a > 0.0).then(|| (b - a) / a * 100.0)
    };
    let rss_growth = change("rss_kib");
    let p99_drift = change("p99_ms");
    let met =
        errors == 0 && rss_growth.is_some_and(|g| g <= 5.0) && p99_drift.is_some_and(|d| d <= 20.0);
    let percent = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:+.1} %"));
    let row = Row::new(
        "P12",
        format!("soak: {minutes} min of chat turns at {rate:.0}/s (first minute left out)"),
        format!(
            "{turns} turns, {errors} errors; RSS {}, p99 {} (minute {} → {})",
            percent(rss_growth),
            percent(p99_drift),
            WARM_UP_WINDOWS + 1,
            minutes
        ),
        "0 errors, RSS ≤ +5 %, p99 ≤ +20 %",
        Some(met),
    );
    Ok((
        vec![row],
        json!({"rate_per_s": rate, "windows": windows, "rss_growth_percent": rss_growth, "p99_drift_percent": p99_drift}),
    ))
}
