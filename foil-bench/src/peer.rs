//! P10: the same LLM hop through a peer gateway — LiteLLM's proxy, started here and pointed at
//! the same mock — interleaved with the direct hop, foil's hop and a whole foil NPC turn in one
//! open-loop run, so every arm sees the same machine at the same moment.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::client::{http, with_model};
use crate::load::{open_loop, Percentiles};
use crate::report::Row;
use crate::scenarios::{fresh, generation_hop, pooled_turn, turn_pool, Ctx, Outcome};
use crate::server::{free_port, PROVIDER_KEY};

/// The model name the peer is configured to route to the mock.
const PEER_MODEL: &str = "foil-bench-mock";

/// A LiteLLM proxy process, killed on drop.
pub(crate) struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    version: String,
    _dir: tempfile::TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Starts `litellm` (the proxy's command-line entry point) routing [`PEER_MODEL`] to the
    /// OpenAI-compatible mock at `mock_base`, and waits until it answers.
    pub(crate) async fn start_litellm(litellm: &Path, mock_base: &str) -> anyhow::Result<Peer> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("litellm.yaml");
        std::fs::write(
            &config,
            format!(
                "model_list:\n  - model_name: {PEER_MODEL}\n    litellm_params:\n      \
                 model: openai/{PEER_MODEL}\n      api_base: {mock_base}\n      api_key: {PROVIDER_KEY}\n\
                 litellm_settings:\n  telemetry: false\n  drop_params: true\n"
            ),
        )?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("litellm.log"))?;
        let child = Command::new(litellm)
            .arg("--config")
            .arg(&config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--num_workers", "1"])
            // No network here, and none wanted: the bundled model price map, no telemetry.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_LOG", "ERROR")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", litellm.display()))?;
        let version = litellm_version(litellm);
        let mut peer = Peer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            version,
            _dir: dir,
        };
        let client = http(Some(Duration::from_secs(2)));
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = peer.child.try_wait()? {
                let log = std::fs::read_to_string(peer._dir.path().join("litellm.log"))
                    .unwrap_or_default();
                bail!("litellm exited ({status}):\n{log}");
            }
            let ready = client
                .get(format!("{}/health/liveliness", peer.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if Instant::now() > deadline {
                bail!("litellm did not answer within 180 s");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(peer)
    }

    async fn completion(client: &reqwest::Client, url: &str, body: Bytes) -> Result<(), String> {
        let response = client
            .post(url)
            .header("authorization", "Bearer sk-anything")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "peer: HTTP {status}: {}",
                String::from_utf8_lossy(&text[..text.len().min(300)])
            ));
        }
        Ok(())
    }
}

/// The installed litellm package's version (read with the virtualenv's python beside `litellm`),
/// or "version unknown".
fn litellm_version(litellm: &Path) -> String {
    let python = litellm.with_file_name("python");
    let probe = if python.is_file() {
        Command::new(python)
            .args([
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ])
            .output()
            .ok()
    } else {
        None
    };
    probe
        .filter(|o| o.status.success())
        .map(|o| format!("litellm {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "litellm (version unknown)".into())
}

type Arm = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// P10: per-hop overhead of foil and of the peer over the same direct hop, and a whole foil
/// NPC turn (two hops, state machine, commit) against two hops through the peer.
/// `rate`: requests per second of the whole interleaved run (a quarter per arm); keep the
/// peer's quarter well below what its one worker process can serve, so its figure is its
/// per-hop overhead and not its queue.
pub(crate) async fn p10(ctx: &Ctx<'_>, peer: &Peer, rate: f64) -> anyhow::Result<Outcome> {
    let s = ctx.scale;
    let t = fresh(&ctx.target);
    let hop = generation_hop(ctx, &t).await?;
    let direct_body = Bytes::from(serde_json::to_vec(&hop)?);
    let peer_body = with_model(&hop, PEER_MODEL);
    let pool = turn_pool(ctx, "p10", 50).await?;
    let peer_url = format!("{}/v1/chat/completions", peer.base);
    let peer_http = http(Some(Duration::from_secs(60)));
    Peer::completion(&peer_http, &peer_url, peer_body.clone())
        .await
        .map_err(|e| anyhow::anyhow!("the peer cannot complete the hop: {e}"))?;

    let run = |secs: f64| {
        let (t, pool) = (t.clone(), pool.clone());
        let (direct_body, peer_body) = (direct_body.clone(), peer_body.clone());
        let (peer_http, peer_url) = (peer_http.clone(), peer_url.clone());
        let count = ((rate * secs) as u64).max(4) / 4 * 4;
        open_loop(rate, count, 4, move |i| -> Arm {
            let t = t.clone();
            match i % 4 {
                0 => {
                    let body = direct_body.clone();
                    Box::pin(async move { t.direct_completion(body).await })
                }
                1 => Box::pin(async move { t.generate_persona().await }),
                2 => {
                    let (client, url, body) =
                        (peer_http.clone(), peer_url.clone(), peer_body.clone());
                    Box::pin(async move { Peer::completion(&client, &url, body).await })
                }
                _ => {
                    let pool = pool.clone();
                    Box::pin(async move {
                        pooled_turn(&t, &pool, "Hello! One coffee, please.".into()).await
                    })
                }
            }
        })
    };
    run(1.0).await; // warm-up: connections, the peer's lazy imports
    let mut rounds = Vec::new();
    let mut errors = 0u64;
    for _ in 0..s.rounds.max(1) {
        let result = run(s.hop_secs.max(2.0) * 2.0).await;
        let p: Vec<Percentiles> = result
            .classes
            .iter()
            .map(|c| Percentiles::of(&c.latency))
            .collect();
        errors += result.classes.iter().map(|c| c.error_count()).sum::<u64>();
        rounds.push(p);
    }
    // Per round: overheads over the direct hop; then the median round by the foil/peer ratio.
    let measured: Vec<Value> = rounds
        .iter()
        .map(|p| {
            let (direct, foil, peer, turn) = (&p[0], &p[1], &p[2], &p[3]);
            json!({
                "direct": direct, "foil_hop": foil, "peer_hop": peer, "foil_turn": turn,
                "foil_overhead_p50_ms": foil.p50_ms - direct.p50_ms,
                "foil_overhead_p99_ms": foil.p99_ms - direct.p99_ms,
                "peer_overhead_p50_ms": peer.p50_ms - direct.p50_ms,
                "peer_overhead_p99_ms": peer.p99_ms - direct.p99_ms,
                "turn_overhead_p50_ms": turn.p50_ms - 2.0 * direct.p50_ms,
            })
        })
        .collect();
    let median = |key: &str| {
        let mut v: Vec<f64> = measured.iter().filter_map(|m| m[key].as_f64()).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let (foil_o, peer_o, turn_o) = (
        median("foil_overhead_p50_ms"),
        median("peer_overhead_p50_ms"),
        median("turn_overhead_p50_ms"),
    );
    let (foil_o99, peer_o99) = (
        median("foil_overhead_p99_ms"),
        median("peer_overhead_p99_ms"),
    );
    let ratio = peer_o / foil_o.max(0.001);
    let error_note = if errors > 0 {
        format!(", {errors} errors")
    } else {
        String::new()
    };
    let rows = vec![
        Row::new(
            "P10",
            format!("per-hop overhead, foil vs {} (same hop, same mock, interleaved)", peer.version),
            format!(
                "foil p50 {foil_o:.2} ms / p99 {foil_o99:.2} ms; peer p50 {peer_o:.2} ms / p99 {peer_o99:.2} ms; peer ÷ foil = {ratio:.1}×{error_note}"
            ),
            "foil ≤ 1/20 of the peer's p50",
            Some(errors == 0 && foil_o * 20.0 <= peer_o),
        ),
        Row::new(
            "P10b",
            "whole NPC turn overhead (sdk message − 2 direct hops) vs 2 hops' overhead through the peer",
            format!("turn p50 {turn_o:.2} ms vs 2 × peer {:.2} ms", 2.0 * peer_o),
            "turn < 2 peer hops",
            Some(errors == 0 && turn_o < 2.0 * peer_o),
        ),
    ];
    let detail = json!({
        "peer": peer.version,
        "rate_per_s": rate,
        "median": {"foil_overhead_p50_ms": foil_o, "peer_overhead_p50_ms": peer_o,
                   "turn_overhead_p50_ms": turn_o, "peer_over_foil": ratio},
        "rounds": measured,
        "errors": errors,
    });
    Ok((rows, detail))
}

/// The `litellm` of a virtualenv given as its directory or as the executable itself.
pub(crate) fn litellm_executable(given: &Path) -> PathBuf {
    if given.is_dir() {
        given.join("bin/litellm")
    } else {
        given.to_path_buf()
    }
}
