//! P11: chat turns per second through nginx with 1, 2 and 3 instances on one PostgreSQL and one
//! Redis — the deployment of `docs/deploy.md`, with its nginx file
//! (`deploy/nginx/foil-engine.conf`, the upstream cut to the instances in use).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::report::Row;
use crate::scenarios::{fresh, ladder, pooled_turn, turn_pool, Ctx, Outcome};
use crate::server::{free_port, workspace_root, Server, ServerOptions};

/// The instance counts measured.
const INSTANCES: [usize; 3] = [1, 2, 3];

/// nginx in front of `ports`, from the deployment's file.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(ports: &[u16]) -> anyhow::Result<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .context("nginx is not installed (apt-get install nginx)")?;
        let dir = tempfile::Builder::new()
            .prefix("foil-bench-nginx-")
            .tempdir()?;
        let root = dir.path().display().to_string();
        let file = workspace_root().join("deploy/nginx/foil-engine.conf");
        let mut site = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let listen = free_port()?;
        site = site.replace(
            "listen 127.0.0.1:8000;",
            &format!("listen 127.0.0.1:{listen};"),
        );
        // The file lists three example instances: ours instead, the rest dropped.
        for example in 0..3 {
            let line = format!(
                "    server 127.0.0.1:{} max_fails=1 fail_timeout=5s;\n",
                8001 + example
            );
            if !site.contains(&line) {
                bail!("{} no longer lists {line:?}", file.display());
            }
            let replacement = ports
                .get(example)
                .map(|port| line.replace(&format!(":{}", 8001 + example), &format!(":{port}")))
                .unwrap_or_default();
            site = site.replace(&line, &replacement);
        }
        std::fs::write(dir.path().join("foil-engine.conf"), site)?;
        let main = format!(
            "worker_processes 1;\nerror_log {root}/error.log warn;\npid {root}/nginx.pid;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  \
             proxy_temp_path {root}/proxy;\n  fastcgi_temp_path {root}/fastcgi;\n  \
             uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n  \
             include {root}/foil-engine.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main)?;
        let child = Command::new(binary)
            .args([
                "-p",
                &root,
                "-c",
                &format!("{root}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        let nginx = Nginx {
            child,
            base: format!("http://127.0.0.1:{listen}"),
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(res) = http.get(format!("{}/readyz", nginx.base)).send().await {
                if res.status().is_success() {
                    return Ok(nginx);
                }
            }
            if Instant::now() > deadline {
                bail!("nginx did not start (see {root}/error.log)");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_of(server: &Server) -> anyhow::Result<u16> {
    server
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("the server's base URL has a port")
}

/// P11. `first` is the benchmark's server (on PostgreSQL, with Redis); two more instances are
/// started on the same database for the run and stopped after it.
pub(crate) async fn p11(ctx: &Ctx<'_>, options: &ServerOptions) -> anyhow::Result<Outcome> {
    if options.database_url.is_none() || options.redis_url.is_none() || options.in_process {
        bail!("P11 needs --database-url (PostgreSQL), --redis-url and a server binary");
    }
    let s = ctx.scale;
    let mut extra = Vec::new();
    for _ in 1..INSTANCES.len() {
        // `serve --demo` is idempotent: the same account, key and personas on every start.
        extra.push(Server::start(options).await?);
    }
    let servers: Vec<&Server> = std::iter::once(ctx.server).chain(extra.iter()).collect();
    let pool = turn_pool(ctx, "p11", 64).await?;
    let mut steps_by_count = Vec::new();
    let mut measured = Vec::new();
    for count in INSTANCES {
        let in_use = &servers[..count];
        let ports = in_use
            .iter()
            .map(|s| port_of(s))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let nginx = Nginx::start(&ports).await?;
        let mut target = fresh(&ctx.target);
        target.base = nginx.base.clone();
        let make = || {
            let (t, pool) = (target.clone(), pool.clone());
            move |_: u64| -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<(), String>> + Send>,
            > { Box::pin(pooled_turn(&t, &pool, "Hello! One coffee, please.".into())) }
        };
        let cpu = || in_use.iter().map(|s| s.cpu_seconds()).sum::<Option<f64>>();
        let (steps, best, _) = ladder(cpu, &s.turn_rates, s.throughput_secs, make).await;
        // The figure that compares: the first (same) offered rate for every instance count.
        let first = &steps[0];
        let result = &first["result"];
        let p99 = result["latency_from_intended"]["p99_ms"]
            .as_f64()
            .unwrap_or(0.0);
        let cpu_ms = first["server_cpu_us_per_request"]
            .as_f64()
            .map(|us| us / 1000.0);
        measured.push(format!(
            "{count}: {:.0} of {:.0} offered, p99 {p99:.0} ms{}{}",
            result["achieved_rate_per_s"].as_f64().unwrap_or(0.0),
            first["offered_per_s"].as_f64().unwrap_or(0.0),
            cpu_ms.map_or(String::new(), |ms| format!(
                ", {ms:.2} ms CPU/turn (all instances)"
            )),
            best.map_or(String::new(), |b| format!(", best sustained {b:.0}/s")),
        ));
        steps_by_count
            .push(json!({"instances": count, "best_sustained_per_s": best, "steps": steps}));
        drop(nginx);
    }
    for server in extra {
        server.stop().await;
    }
    let row = Row::new(
        "P11",
        "chat turns through nginx, 1 / 2 / 3 instances on one PostgreSQL + Redis",
        measured.join(" · "),
        "(recorded)",
        None,
    );
    let detail: Value = json!({
        "secs_per_step": s.throughput_secs,
        "offered_rates": s.turn_rates,
        "by_instances": steps_by_count,
        "nginx_config": "deploy/nginx/foil-engine.conf",
    });
    Ok((vec![row], detail))
}
