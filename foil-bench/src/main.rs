//! `foil-bench`: the Foil Engine benchmark of quality.md §1 (P1–P9) and P11 (scale-out).
//!
//! Starts, on loopback, the mock LLM provider (`foil-mock-llm`, in this process), a release
//! `foil-server` (its own process; SQLite in a temporary directory, or PostgreSQL with
//! `--database-url`) and an open-loop load generator, then prints a table and optionally
//! writes a JSON summary. Overheads are always *through the server minus straight to the
//! mock*, measured by the same client in the same run, interleaved request by request.

mod client;
mod load;
mod micro;
mod mock;
mod peer;
mod report;
mod scale;
mod scale_out;
mod scenarios;
mod server;
mod soak;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{json, Value};

use crate::client::{http, Target};
use crate::mock::Mock;
use crate::report::Row;
use crate::scale::Scale;
use crate::scenarios::Ctx;
use crate::server::{Server, ServerOptions};

/// The Foil Engine benchmark (quality.md §1): P1–P9 (and P11) against a release foil-server.
#[derive(Parser, Debug)]
#[command(name = "foil-bench", version)]
struct Args {
    /// Small counts (under two minutes). Without it, the full run (rate ladders, several
    /// rounds, 10k sessions; well under 15 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Tiny counts that only prove the machinery works (the smoke test).
    #[arg(long, hide = true)]
    smoke: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Use this PostgreSQL database (a scratch database: the demo account is created in it)
    /// instead of SQLite in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// The foil-server binary [default: target/release/foil-server].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Run the server inside this process (no separate binary needed; memory is then not
    /// measured). For the smoke test and debugging.
    #[arg(long)]
    in_process: bool,
    /// Only these scenarios (comma-separated: P1,P2,...,P12; P10 needs `--peer-litellm`).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// `RUST_LOG` of the spawned server.
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Keep the spawned server's log in this file.
    #[arg(long)]
    server_log_file: Option<PathBuf>,
    /// Redis for the server(s): rate limits shared between instances. With `--database-url`
    /// it enables P11 (1, 2 and 3 instances behind nginx).
    #[arg(long)]
    redis_url: Option<String>,
    /// Run P12, the soak, instead of the other scenarios: this many one-minute windows of chat
    /// turns (30 when given without a number) at `--soak-rate`.
    #[arg(long, num_args = 0..=1, default_missing_value = "30")]
    soak: Option<usize>,
    /// Turns per second of the soak: half of P4's capacity on this machine by default.
    #[arg(long, default_value_t = 250.0)]
    soak_rate: f64,
    /// Run P10: start LiteLLM's proxy (`litellm`, or a virtualenv directory holding it) on
    /// loopback, routed to the same mock, and compare its per-hop overhead with foil's.
    #[arg(long)]
    peer_litellm: Option<PathBuf>,
    /// Requests per second of P10's interleaved run (a quarter each: direct, foil hop, peer
    /// hop, foil turn).
    #[arg(long, default_value_t = 100.0)]
    peer_rate: f64,
    /// A setting for the spawned server, `NAME=VALUE` (repeatable), e.g.
    /// `--server-env FOIL_DATABASE_MAX_CONNECTIONS=2`; applied after the benchmark's own.
    #[arg(long, value_parser = parse_env_pair)]
    server_env: Vec<(String, String)>,
    /// Pin P8c's game thread to this CPU (Linux). Run the bench under `taskset -c <another
    /// CPU>` so the server, the mock and the library's workers stay off it.
    #[arg(long)]
    pin_game_thread: Option<usize>,
}

fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {text:?}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mock = match Mock::start() {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("error: cannot start the mock provider: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(&args, &mock));
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(mock);
    match result {
        Ok(all_ran) if all_ran => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(3),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "memory_kib": std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok())),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the selected scenarios; `Ok(false)` when a scenario could not run.
async fn run(args: &Args, mock: &Mock) -> anyhow::Result<bool> {
    let scale = if args.smoke {
        Scale::smoke()
    } else if args.quick {
        Scale::quick()
    } else {
        Scale::full()
    };
    let only: BTreeSet<String> = args.only.iter().map(|s| s.trim().to_uppercase()).collect();
    let wanted = |id: &str| only.is_empty() || only.contains(id);
    let started = Instant::now();
    let load_before = loadavg();
    let options = ServerOptions {
        bin: args
            .server_bin
            .clone()
            .unwrap_or_else(server::default_server_bin),
        in_process: args.in_process,
        database_url: args.database_url.clone(),
        provider_base_url: mock.openai_base_url(),
        log_filter: args.server_log.clone(),
        log_file: args.server_log_file.clone(),
        redis_url: args.redis_url.clone(),
        extra_env: args.server_env.clone(),
    };
    eprintln!(
        "foil-bench ({} mode): starting the server ({})",
        scale.name,
        if options.in_process {
            "in process".to_string()
        } else {
            options.bin.display().to_string()
        }
    );
    let server = Server::start(&options).await?;
    let idle = {
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.memory_kib().map(|(rss, _)| rss)
    };
    let persona_id = server
        .demo
        .personas
        .iter()
        .find(|(_, name)| name == "Grumpy Barista")
        .or(server.demo.personas.first())
        .map(|(id, _)| id.clone())
        .context("the demo seeded no persona")?;
    let ctx = Ctx {
        target: Target {
            http: http(Some(Duration::from_secs(60))),
            base: server.base.clone(),
            api_key: server.demo.api_key.clone(),
            jwt: server.demo.jwt.clone(),
            persona_id: persona_id.clone(),
            mock_base: mock.openai_base_url(),
        },
        mock,
        server: &server,
        scale: &scale,
    };

    let mut rows: Vec<Row> = Vec::new();
    let soak_only = args.soak.is_some();
    let wanted = |id: &str| !soak_only && wanted(id);
    let mut details = serde_json::Map::new();
    let mut all_ran = true;
    let mut record = |id: &str, outcome: anyhow::Result<scenarios::Outcome>| match outcome {
        Ok((r, d)) => {
            for row in &r {
                eprintln!("  {} {}: {}", row.id, row.what, row.measured);
            }
            rows.extend(r);
            details.insert(id.to_string(), d);
        }
        Err(e) => {
            eprintln!("  {id} FAILED: {e:#}");
            rows.push(Row::new(
                id,
                "scenario failed",
                format!("{e:#}"),
                "",
                Some(false),
            ));
            details.insert(id.to_string(), json!({"error": format!("{e:#}")}));
            all_ran = false;
        }
    };

    // Memory first, so earlier scenarios' pools and caches do not blur its deltas.
    if wanted("P6") {
        eprintln!("P6 memory …");
        record("P6", scenarios::p6(&ctx, idle).await);
    }
    if wanted("P1") {
        eprintln!("P1 LLM hop overhead …");
        record("P1", scenarios::p1(&ctx).await);
    }
    if wanted("P2") {
        eprintln!("P2 chat turn overhead …");
        record("P2", scenarios::p2(&ctx).await);
    }
    if wanted("P7") {
        eprintln!("P7 streaming first-delta overhead …");
        record("P7", scenarios::p7(&ctx).await);
    }
    if wanted("P3") {
        eprintln!("P3 SDK request throughput …");
        record("P3", scenarios::p3(&ctx).await);
    }
    if wanted("P4") {
        eprintln!("P4 chat turn throughput …");
        record("P4", scenarios::p4(&ctx).await);
    }
    if let Some(litellm) = args.peer_litellm.as_deref().filter(|_| wanted("P10")) {
        eprintln!("P10 per-hop overhead beside LiteLLM …");
        let litellm = peer::litellm_executable(litellm);
        let outcome = match peer::Peer::start_litellm(&litellm, &mock.openai_base_url()).await {
            Ok(peer) => peer::p10(&ctx, &peer, args.peer_rate).await,
            Err(e) => Err(e),
        };
        record("P10", outcome);
    }
    if wanted("P5") {
        eprintln!("P5 concurrent turns with a slow provider …");
        record("P5", scenarios::p5(&ctx).await);
    }
    if wanted("P8") {
        eprintln!("P8 FFI calls …");
        let (base, key, pid) = (
            server.base.clone(),
            server.demo.api_key.clone(),
            persona_id.clone(),
        );
        let loop_ = micro::GameLoop {
            secs: scale.game_loop_secs,
            pin_to_cpu: args.pin_game_thread,
        };
        let (rounds, iters) = (scale.micro_rounds, scale.micro_iters);
        let outcome =
            tokio::task::spawn_blocking(move || micro::p8(&base, &key, &pid, rounds, iters, loop_))
                .await
                .context("P8 panicked")
                .and_then(|r| r);
        record("P8", outcome);
    }
    if wanted("P9") {
        eprintln!("P9 rate-limit check …");
        let (rounds, iters) = (scale.micro_rounds, scale.micro_iters);
        let outcome = tokio::task::spawn_blocking(move || micro::p9(rounds, iters))
            .await
            .context("P9 panicked")
            .and_then(|r| r);
        record("P9", outcome);
    }

    if let Some(minutes) = args.soak {
        eprintln!("P12 soak: {minutes} min at {:.0} turns/s …", args.soak_rate);
        record("P12", soak::p12(&ctx, minutes, args.soak_rate).await);
    }

    // P11 needs PostgreSQL, Redis and nginx: it runs when asked for by name, or in a run given
    // --database-url and --redis-url.
    if !soak_only
        && (only.contains("P11")
            || (only.is_empty() && args.database_url.is_some() && args.redis_url.is_some()))
    {
        eprintln!("P11 scale-out through nginx (1, 2, 3 instances) …");
        record("P11", scale_out::p11(&ctx, &options).await);
    }

    let peak = server.memory_kib().map(|(_, hwm)| hwm);
    if let Some(peak) = peak {
        rows.push(Row::new(
            "P6d",
            "peak RSS of the server over the whole run (VmHWM)",
            format!("{:.1} MB", peak as f64 * 1024.0 / 1e6),
            "(recorded)",
            None,
        ));
    }
    let database = server.database.clone();
    server.stop().await;
    let elapsed = started.elapsed().as_secs_f64();

    let table = report::table(&rows);
    println!(
        "\nfoil-bench {} — {} cores, database {database}, load average before {load_before}, after {}; {elapsed:.0} s\n",
        scale.name,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        loadavg()
    );
    println!("{table}");
    if let Some(path) = &args.json {
        let summary = json!({
            "tool": "foil-bench",
            "version": env!("CARGO_PKG_VERSION"),
            "mode": scale.name,
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "machine": machine(),
            "load_average_before": load_before,
            "load_average_after": loadavg(),
            "server": {
                "binary": if args.in_process { Value::Null } else { json!(options.bin) },
                "in_process": args.in_process,
                "database": database,
                "idle_rss_kib": idle,
                "peak_rss_kib": peak,
            },
            "scale": scale,
            "duration_s": elapsed,
            "rows": rows,
            "scenarios": details,
        });
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(all_ran)
}
