//! P1–P7: the scenarios that run against the server and the mock.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::future::Either;
use serde_json::{json, Value};

use crate::client::{create_sessions, http, with_suffix, Pool, Session, Target};
use crate::load::{histogram, open_loop, Overhead, Percentiles, RunResult};
use crate::mock::{Mock, Step, TTFB_TOKEN};
use crate::report::{ms, pcts, Row};
use crate::scale::Scale;
use crate::server::Server;

/// What every scenario needs.
pub(crate) struct Ctx<'a> {
    pub target: Target,
    pub mock: &'a Mock,
    pub server: &'a Server,
    pub scale: &'a Scale,
}

/// The rows and the JSON details of one scenario.
pub(crate) type Outcome = (Vec<Row>, Value);

const SETUP_CONCURRENCY: usize = 32;

pub(crate) fn fresh(target: &Target) -> Target {
    target.with_http(http(Some(Duration::from_secs(60))))
}

fn overhead_json(direct: &Percentiles, through: &Percentiles, o: &Overhead) -> Value {
    json!({"direct": direct, "through_server": through, "overhead": o})
}

/// Interleaves direct (even `i`) and through-server (odd `i`) requests at `rate` in total.
async fn compare<D, DF, T, TF>(rate: f64, secs: f64, direct: D, through: T) -> RunResult
where
    D: Fn(u64) -> DF + Send + Sync + 'static,
    DF: Future<Output = Result<(), String>> + Send + 'static,
    T: Fn(u64) -> TF + Send + Sync + 'static,
    TF: Future<Output = Result<(), String>> + Send + 'static,
{
    let count = ((rate * secs) as u64).max(2) & !1;
    open_loop(rate, count, 2, move |i| {
        if i % 2 == 0 {
            Either::Left(direct(i))
        } else {
            Either::Right(through(i))
        }
    })
    .await
}

fn errors_of(run: &RunResult) -> (u64, Value) {
    let total = run.classes.iter().map(|c| c.error_count()).sum();
    let detail = json!(run
        .classes
        .iter()
        .map(|c| c.errors.clone())
        .collect::<Vec<_>>());
    (total, detail)
}

/// Several rounds of a direct/through comparison; the median overhead and every round.
async fn overhead_rounds<MakeRun, RunFut>(
    rounds: usize,
    mut make_run: MakeRun,
) -> (Overhead, u64, Vec<Value>, Percentiles, Percentiles)
where
    MakeRun: FnMut() -> RunFut,
    RunFut: Future<Output = RunResult>,
{
    let mut overheads = Vec::new();
    let mut details = Vec::new();
    let mut errors = 0;
    let mut last = (Percentiles::default(), Percentiles::default());
    for _ in 0..rounds.max(1) {
        let run = make_run().await;
        let direct = Percentiles::of(&run.classes[0].latency);
        let through = Percentiles::of(&run.classes[1].latency);
        let o = through.minus(&direct);
        let (e, e_detail) = errors_of(&run);
        errors += e;
        let mut d = overhead_json(&direct, &through, &o);
        d["errors"] = e_detail;
        d["pacer_max_lag_ms"] = json!(run.pacer_max_lag_ms);
        d["service_time"] = json!({
            "direct": Percentiles::of(&run.classes[0].service),
            "through_server": Percentiles::of(&run.classes[1].service),
        });
        details.push(d);
        overheads.push(o);
        last = (direct, through);
    }
    (
        Overhead::median(&overheads),
        errors,
        details,
        last.0,
        last.1,
    )
}

fn overhead_row(
    id: &str,
    what: &str,
    o: &Overhead,
    errors: u64,
    p50_target: f64,
    p99_target: f64,
) -> Row {
    let mut measured = pcts(o.p50_ms, o.p95_ms, o.p99_ms);
    measured.push_str(&format!(" (x{:.2} of direct p50)", o.ratio_p50));
    if errors > 0 {
        measured.push_str(&format!(", {errors} errors"));
    }
    Row::new(
        id,
        what,
        measured,
        format!("p50 ≤ {p50_target} ms, p99 ≤ {p99_target} ms"),
        Some(o.p50_ms <= p50_target && o.p99_ms <= p99_target && errors == 0),
    )
}

/// Sends one `creator/generate/persona` through the server and returns the request body the
/// server sent the provider: the hop that P1 and P10 replay straight to the mock.
pub(crate) async fn generation_hop(ctx: &Ctx<'_>, t: &Target) -> anyhow::Result<Value> {
    ctx.mock.shared.capture(true);
    let first = t.generate_persona().await;
    ctx.mock.shared.capture(false);
    first.map_err(|e| anyhow::anyhow!("generate/persona failed: {e}"))?;
    ctx.mock
        .shared
        .captured(Step::Generation)
        .context("the mock saw no generation request")
}

/// P1: server overhead per LLM hop.
pub(crate) async fn p1(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let t = fresh(&ctx.target);
    let s = ctx.scale;
    let body = Bytes::from(serde_json::to_vec(&generation_hop(ctx, &t).await?)?);

    let run = |secs: f64| {
        let (td, tt, body) = (t.clone(), t.clone(), body.clone());
        compare(
            s.hop_rate,
            secs,
            move |_| {
                let (t, b) = (td.clone(), body.clone());
                async move { t.direct_completion(b).await }
            },
            move |_| {
                let t = tt.clone();
                async move { t.generate_persona().await }
            },
        )
    };
    run(0.5).await; // warm-up: connections, caches
    let (o, errors, rounds, direct, through) = overhead_rounds(s.rounds, || run(s.hop_secs)).await;

    // The same, for a GET hop behind API-key auth (informational).
    let run_models = |secs: f64| {
        let (td, tt) = (t.clone(), t.clone());
        compare(
            s.hop_rate,
            secs,
            move |_| {
                let t = td.clone();
                async move { t.direct_models().await }
            },
            move |_| {
                let t = tt.clone();
                async move { t.validate_llm_key().await }
            },
        )
    };
    run_models(0.5).await;
    let (o2, errors2, rounds2, _, _) = overhead_rounds(1, || run_models(s.hop_secs)).await;

    let rows = vec![
        overhead_row(
            "P1",
            "LLM hop overhead (creator/generate/persona − direct POST chat/completions)",
            &o,
            errors,
            0.5,
            2.0,
        ),
        {
            let mut r = overhead_row(
                "P1b",
                "GET hop overhead (sdk/validate-llm-key − direct GET models)",
                &o2,
                errors2,
                0.5,
                2.0,
            );
            r.met = None; // informational
            r.target = "(informational)".into();
            r
        },
    ];
    let detail = json!({
        "rate_per_s": s.hop_rate,
        "secs_per_round": s.hop_secs,
        "median_overhead": o,
        "last_round": overhead_json(&direct, &through, &o),
        "rounds": rounds,
        "validate_llm_key": {"median_overhead": o2, "rounds": rounds2},
    });
    Ok((rows, detail))
}

pub(crate) async fn turn_pool(ctx: &Ctx<'_>, tag: &str, size: usize) -> anyhow::Result<Arc<Pool>> {
    let sessions = create_sessions(&ctx.target, tag, size, SETUP_CONCURRENCY).await?;
    Ok(Pool::new(sessions))
}

pub(crate) fn pooled_turn(
    t: &Target,
    pool: &Arc<Pool>,
    message: String,
) -> impl Future<Output = Result<(), String>> + Send + 'static {
    let (t, pool) = (t.clone(), pool.clone());
    async move {
        let (session, permit) = pool.take().await;
        let result = t.turn(&session, &message).await;
        pool.give(session, permit);
        result
    }
}

/// P2: server overhead per full chat turn at 200 turns/s.
pub(crate) async fn p2(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let t = fresh(&ctx.target);
    let pool = turn_pool(ctx, "p2", (s.turn_rate as usize).max(50)).await?;
    ctx.mock.shared.capture(true);
    let first = pooled_turn(&t, &pool, "Hello! One coffee, please.".into()).await;
    ctx.mock.shared.capture(false);
    first.map_err(|e| anyhow::anyhow!("first turn failed: {e}"))?;
    let eval = ctx
        .mock
        .shared
        .captured(Step::Eval)
        .context("no eval request")?;
    let reply = ctx
        .mock
        .shared
        .captured(Step::Reply)
        .context("no reply request")?;
    let (eval, reply) = (
        Bytes::from(serde_json::to_vec(&eval)?),
        Bytes::from(serde_json::to_vec(&reply)?),
    );
    let run = |secs: f64| {
        let (td, tt, pool) = (t.clone(), t.clone(), pool.clone());
        let (eval, reply) = (eval.clone(), reply.clone());
        compare(
            2.0 * s.turn_rate,
            secs,
            move |_| {
                let (t, e, r) = (td.clone(), eval.clone(), reply.clone());
                async move {
                    t.direct_completion(e).await?;
                    t.direct_completion(r).await
                }
            },
            move |_| pooled_turn(&tt, &pool, "Hello! One coffee, please.".into()),
        )
    };
    run(0.5).await;
    let (o, errors, rounds, direct, through) = overhead_rounds(s.rounds, || run(s.turn_secs)).await;
    let rows = vec![overhead_row(
        "P2",
        &format!(
            "chat turn overhead at {} turns/s (sdk message − direct eval+reply)",
            s.turn_rate
        ),
        &o,
        errors,
        2.0,
        10.0,
    )];
    let detail = json!({
        "turns_per_s": s.turn_rate,
        "secs_per_round": s.turn_secs,
        "median_overhead": o,
        "last_round": overhead_json(&direct, &through, &o),
        "rounds": rounds,
    });
    Ok((rows, detail))
}

/// A rate ladder: each offered rate for `secs`; stops at the first rate not sustained.
/// `server_cpu` reads the CPU seconds the server processes have used so far.
pub(crate) async fn ladder<M, F>(
    server_cpu: impl Fn() -> Option<f64>,
    rates: &[f64],
    secs: f64,
    make: M,
) -> (Vec<Value>, Option<f64>, bool)
where
    M: Fn() -> F,
    F: Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync
        + 'static,
{
    let mut steps = Vec::new();
    let mut best = None;
    let mut first_ok = false;
    for (k, &rate) in rates.iter().enumerate() {
        let cpu_before = server_cpu();
        let self_before = crate::server::cpu_seconds_of("/proc/self/stat");
        let run = open_loop(rate, (rate * secs) as u64, 1, make()).await;
        let cpu = server_cpu().zip(cpu_before).map(|(a, b)| a - b);
        let self_cpu = crate::server::cpu_seconds_of("/proc/self/stat")
            .zip(self_before)
            .map(|(a, b)| a - b);
        let c = &run.classes[0];
        let per_request_us = cpu.map(|cpu| cpu * 1e6 / c.ok.max(1) as f64);
        let p = Percentiles::of(&c.latency);
        let sustained =
            c.error_count() == 0 && c.achieved_rate() >= 0.95 * rate && p.p99_ms <= 100.0;
        if k == 0 {
            first_ok = sustained;
        }
        steps.push(json!({
            "offered_per_s": rate,
            "sustained": sustained,
            "peak_in_flight": run.peak_in_flight,
            "pacer_max_lag_ms": run.pacer_max_lag_ms,
            "server_cpu_s": cpu,
            "server_cpu_us_per_request": per_request_us,
            "bench_process_cpu_s": self_cpu,
            "result": c.summary(),
        }));
        if !sustained {
            break;
        }
        best = Some(c.achieved_rate());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (steps, best, first_ok)
}

fn throughput_row(
    id: &str,
    what: &str,
    unit: &str,
    target: f64,
    steps: &[Value],
    best: Option<f64>,
    first_ok: bool,
) -> Row {
    let first = &steps[0];
    let r = &first["result"];
    let errors: u64 = r["errors"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    let lat = &r["latency_from_intended"];
    let mut measured = format!(
        "{:.0} {unit}/s at {:.0} offered, {errors} errors, p50 {} / p99 {}",
        r["achieved_rate_per_s"].as_f64().unwrap_or(0.0),
        first["offered_per_s"].as_f64().unwrap_or(0.0),
        ms(lat["p50_ms"].as_f64().unwrap_or(0.0)),
        ms(lat["p99_ms"].as_f64().unwrap_or(0.0)),
    );
    if let Some(cpu) = first["server_cpu_us_per_request"].as_f64() {
        measured.push_str(&format!(", server CPU {cpu:.0} µs/{unit}"));
    }
    if let Some(best) = best {
        measured.push_str(&format!("; best sustained {best:.0}/s"));
    }
    let offered = first["offered_per_s"].as_f64().unwrap_or(0.0);
    Row::new(
        id,
        what,
        measured,
        format!("≥ {target:.0} {unit}/s, 0 errors"),
        if offered >= target {
            Some(first_ok)
        } else {
            None
        },
    )
}

/// P3: sustained simple SDK requests.
pub(crate) async fn p3(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let t = fresh(&ctx.target);
    let make = || {
        let t = t.clone();
        move |_: u64| -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
            let t = t.clone();
            Box::pin(async move { t.list_personas().await })
        }
    };
    // Warm-up: open connections at a moderate rate.
    let warm = s.sdk_rates[0] / 3.0;
    open_loop(warm, (warm * 0.5) as u64, 1, make()).await;
    let (steps, best, first_ok) =
        ladder(|| ctx.server.cpu_seconds(), &s.sdk_rates, s.sdk_secs, make).await;
    let row = throughput_row(
        "P3",
        "sustained GET sdk/personas (open loop)",
        "req",
        3000.0,
        &steps,
        best,
        first_ok,
    );
    Ok((
        vec![row],
        json!({"secs_per_step": s.sdk_secs, "steps": steps}),
    ))
}

/// P4: sustained full chat turns with a 0 ms mock.
pub(crate) async fn p4(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let t = fresh(&ctx.target);
    let max_rate = s.turn_rates.iter().cloned().fold(0.0, f64::max);
    let pool = turn_pool(ctx, "p4", (max_rate as usize).max(50)).await?;
    let make = || {
        let (t, pool) = (t.clone(), pool.clone());
        move |_: u64| -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
            Box::pin(pooled_turn(&t, &pool, "Hello! One coffee, please.".into()))
        }
    };
    let warm = s.turn_rates[0] / 3.0;
    open_loop(warm, (warm * 0.5) as u64, 1, make()).await;
    let (steps, best, first_ok) = ladder(
        || ctx.server.cpu_seconds(),
        &s.turn_rates,
        s.throughput_secs,
        make,
    )
    .await;
    let row = throughput_row(
        "P4",
        "sustained chat turns, 0 ms mock (open loop)",
        "turns",
        500.0,
        &steps,
        best,
        first_ok,
    );
    Ok((
        vec![row],
        json!({"secs_per_step": s.throughput_secs, "session_pool": (max_rate as usize).max(50), "steps": steps}),
    ))
}

/// P5: concurrent in-flight turns with a 500 ms mock.
pub(crate) async fn p5(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let mut steps = Vec::new();
    let mut rows = Vec::new();
    for (k, &n) in s.concurrent_turns.iter().enumerate() {
        ctx.mock.llm.set_latency(Duration::ZERO);
        let sessions: Arc<Vec<Session>> =
            Arc::new(create_sessions(&ctx.target, &format!("p5-{k}"), n, SETUP_CONCURRENCY).await?);
        let t = fresh(&ctx.target);
        ctx.mock.llm.set_latency(Duration::from_millis(500));
        let done = AtomicBool::new(false);
        let sampler = async {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(ctx.mock.stats().in_flight);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            peak
        };
        let started = Instant::now();
        let run = async {
            let sessions = sessions.clone();
            let r = open_loop(n as f64 / 0.5, n as u64, 1, move |i| {
                let (t, sessions) = (t.clone(), sessions.clone());
                async move {
                    t.turn(&sessions[i as usize], "Hello! One coffee, please.")
                        .await
                }
            })
            .await;
            done.store(true, Ordering::Relaxed);
            r
        };
        let (run, mock_peak) = tokio::join!(run, sampler);
        let wall = started.elapsed();
        ctx.mock.llm.set_latency(Duration::ZERO);
        let c = &run.classes[0];
        let p = Percentiles::of(&c.latency);
        let errors = c.error_count();
        let ok = errors == 0 && run.peak_in_flight as usize >= n;
        steps.push(json!({
            "turns": n,
            "launched_within_s": 0.5,
            "wall_s": wall.as_secs_f64(),
            "peak_in_flight_client": run.peak_in_flight,
            "peak_in_flight_at_mock": mock_peak,
            "result": c.summary(),
        }));
        rows.push(Row::new(
            "P5",
            format!("{n} turns launched within 0.5 s, 500 ms mock (2 hops each)"),
            format!(
                "peak in flight {} (at mock {mock_peak}), {errors} errors, {}",
                run.peak_in_flight,
                pcts(p.p50_ms, p.p95_ms, p.p99_ms)
            ),
            "≥ 2000 in flight, 0 errors",
            if n >= 2000 { Some(ok) } else { None },
        ));
        if !ok {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok((rows, json!({"steps": steps})))
}

/// KiB (as /proc reports them) in MB (10^6 bytes, as the targets are written).
fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

async fn settled_rss(server: &Server) -> Option<u64> {
    if !server.is_process() {
        return None;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.memory_kib().map(|(rss, _)| rss)
}

/// P6 (sessions and streams; idle RSS is taken by the caller right after start-up).
pub(crate) async fn p6(ctx: &Ctx<'_>, idle_kib: Option<u64>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let mut rows = Vec::new();
    let measurable = ctx.server.is_process();
    rows.push(Row::new(
        "P6a",
        "idle RSS after start-up (demo data seeded)",
        idle_kib.map_or("n/a (in-process server)".into(), |k| {
            format!("{:.1} MB", mb(k))
        }),
        "≤ 30 MB",
        idle_kib.map(|k| mb(k) <= 30.0),
    ));

    // Sessions.
    let before = settled_rss(ctx.server).await;
    let started = Instant::now();
    create_sessions(&ctx.target, "p6s", s.memory_sessions, SETUP_CONCURRENCY).await?;
    let create_s = started.elapsed().as_secs_f64();
    let after = settled_rss(ctx.server).await;
    let per_10k_sessions = match (before, after) {
        (Some(b), Some(a)) => Some(mb(a.saturating_sub(b)) * 10_000.0 / s.memory_sessions as f64),
        _ => None,
    };
    rows.push(Row::new(
        "P6b",
        format!("RSS per 10k sessions (measured over {})", s.memory_sessions),
        per_10k_sessions.map_or("n/a".into(), |v| format!("{v:.1} MB")),
        "≤ 50 MB",
        per_10k_sessions.map(|v| v <= 50.0),
    ));

    // Open streams: each has sent its first text delta and waits for the next one.
    let k = s.memory_streams;
    let sessions = create_sessions(&ctx.target, "p6t", k, SETUP_CONCURRENCY).await?;
    let before_streams = settled_rss(ctx.server).await;
    ctx.mock.llm.set_chunk_delay(Duration::from_secs(600));
    let t = ctx.target.with_http(http(None));
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let opened = Arc::new(AtomicUsize::new(0));
    let failed: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let mut holders = Vec::with_capacity(k);
    let open_started = Instant::now();
    for session in sessions {
        let permit = gate.clone().acquire_owned().await.expect("gate");
        let (t, opened, failed, mut cancel) =
            (t.clone(), opened.clone(), failed.clone(), cancel_rx.clone());
        holders.push(tokio::spawn(async move {
            match t.stream_turn(&session, "Hello! One coffee, please.").await {
                Ok((_, rest)) => {
                    opened.fetch_add(1, Ordering::SeqCst);
                    drop(permit);
                    let _ = cancel.wait_for(|c| *c).await;
                    drop(rest);
                }
                Err(e) => {
                    *failed.lock().unwrap().entry(e).or_default() += 1;
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let failures: u64 = failed.lock().unwrap().values().sum();
        if opened.load(Ordering::SeqCst) + failures as usize >= k || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_s = open_started.elapsed().as_secs_f64();
    let open_now = opened.load(Ordering::SeqCst);
    let after_streams = settled_rss(ctx.server).await;
    let mock_open = ctx.mock.stats().open_streams;
    let threads = ctx.server.threads();
    let _ = cancel_tx.send(true);
    for h in holders {
        let _ = h.await;
    }
    let closed = ctx
        .mock
        .llm
        .wait_for(Duration::from_secs(30), |st| st.open_streams == 0)
        .await;
    ctx.mock.llm.set_chunk_delay(Duration::ZERO);
    let stream_failures = failed.lock().unwrap().clone();
    let per_10k_streams = match (before_streams, after_streams) {
        (Some(b), Some(a)) if open_now > 0 => {
            Some(mb(a.saturating_sub(b)) * 10_000.0 / open_now as f64)
        }
        _ => None,
    };
    let mut measured = per_10k_streams.map_or("n/a".into(), |v| format!("{v:.1} MB"));
    if !stream_failures.is_empty() {
        measured.push_str(&format!(", failures {stream_failures:?}"));
    }
    rows.push(Row::new(
        "P6c",
        format!("RSS per 10k open streams (measured over {open_now} held open)"),
        measured,
        "≤ 100 MB",
        per_10k_streams.map(|v| v <= 100.0 && stream_failures.is_empty()),
    ));
    let detail = json!({
        "measurable": measurable,
        "idle_rss_kib": idle_kib,
        "sessions": {
            "count": s.memory_sessions,
            "create_s": create_s,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "per_10k_mb": per_10k_sessions,
        },
        "streams": {
            "requested": k,
            "opened": open_now,
            "open_s": open_s,
            "open_at_mock": mock_open,
            "server_threads": threads,
            "rss_before_kib": before_streams,
            "rss_after_kib": after_streams,
            "per_10k_mb": per_10k_streams,
            "failures": stream_failures,
            "all_closed_at_mock_after_cancel": closed,
        },
    });
    Ok((rows, detail))
}

/// P7: streaming time-to-first-byte overhead.
pub(crate) async fn p7(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let t = fresh(&ctx.target);
    let pool = turn_pool(ctx, "p7", (s.stream_rate as usize).max(50)).await?;
    ctx.mock.shared.capture(true);
    let first = async {
        let (session, permit) = pool.take().await;
        let r = match t.stream_turn(&session, "Hello! One coffee, please.").await {
            Ok((_, rest)) => rest.finish().await,
            Err(e) => Err(e),
        };
        pool.give(session, permit);
        r
    }
    .await;
    ctx.mock.shared.capture(false);
    first.map_err(|e| anyhow::anyhow!("first stream failed: {e}"))?;
    let body = ctx
        .mock
        .shared
        .captured(Step::ReplyStream)
        .context("no streaming reply request")?;
    ctx.mock.shared.stamp(true);
    let shared = ctx.mock.shared.clone();
    let mut rounds = Vec::new();
    let mut details = Vec::new();
    let mut errors = 0;
    for round in 0..=s.rounds {
        let samples = Arc::new(Mutex::new((histogram(), histogram())));
        let (td, tt, pool, body) = (t.clone(), t.clone(), pool.clone(), body.clone());
        let (sd, st) = (samples.clone(), samples.clone());
        let (shd, sht) = (shared.clone(), shared.clone());
        let base_id = (round as u64) << 32;
        let secs = if round == 0 { 0.5 } else { s.stream_secs };
        let run = compare(
            2.0 * s.stream_rate,
            secs,
            move |i| {
                let (t, samples, shared) = (td.clone(), sd.clone(), shd.clone());
                let id = base_id + i;
                let body = with_suffix(&body, &format!(" {TTFB_TOKEN}{id}"));
                async move {
                    let first = t.direct_stream(body).await?;
                    let stamp = shared.stamp_of(id).ok_or("mock did not stamp")?;
                    let us = first.saturating_duration_since(stamp).as_micros() as u64;
                    let _ = samples.lock().unwrap().0.record(us.max(1));
                    Ok(())
                }
            },
            move |i| {
                let (t, samples, shared, pool) =
                    (tt.clone(), st.clone(), sht.clone(), pool.clone());
                let id = base_id + i;
                async move {
                    let (session, permit) = pool.take().await;
                    let message = format!("Hello! One coffee, please. {TTFB_TOKEN}{id}");
                    let result = async {
                        let (first, rest) = t.stream_turn(&session, &message).await?;
                        let stamp = shared.stamp_of(id).ok_or("mock did not stamp")?;
                        let us = first.saturating_duration_since(stamp).as_micros() as u64;
                        let _ = samples.lock().unwrap().1.record(us.max(1));
                        rest.finish().await
                    }
                    .await;
                    pool.give(session, permit);
                    result
                }
            },
        )
        .await;
        if round == 0 {
            continue; // warm-up
        }
        let (e, e_detail) = errors_of(&run);
        errors += e;
        let (direct, through) = {
            let h = samples.lock().unwrap();
            (Percentiles::of(&h.0), Percentiles::of(&h.1))
        };
        let o = through.minus(&direct);
        let mut d = overhead_json(&direct, &through, &o);
        d["errors"] = e_detail;
        d["note"] =
            json!("times from the mock answering the stream to the client's first text delta");
        details.push(d);
        rounds.push(o);
    }
    ctx.mock.shared.stamp(false);
    let o = Overhead::median(&rounds);
    let rows = vec![overhead_row(
        "P7",
        &format!(
            "stream first-delta overhead at {} streams/s (mock first chunk → client)",
            s.stream_rate
        ),
        &o,
        errors,
        1.0,
        5.0,
    )];
    Ok((
        rows,
        json!({"streams_per_s": s.stream_rate, "secs_per_round": s.stream_secs, "median_overhead": o, "rounds": details}),
    ))
}
