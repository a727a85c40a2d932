//! The `foil-server` under test: the release binary spawned as its own process (the default),
//! or — for the smoke test — the server library running inside this process.
//!
//! Either way it is started like `foil-server serve --demo` with benchmark settings in `FOIL_*`
//! variables: the mock provider as `openai`, rate limits high enough never to trip, a fresh
//! SQLite file in a temporary directory (or the given PostgreSQL URL).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A model name that routes to the `openai` provider (the mock).
pub(crate) const MODEL: &str = "gpt-4o-mini";
/// The operator key configured for the mock provider.
pub(crate) const PROVIDER_KEY: &str = "sk-foil-bench";
const JWT_SECRET: &str = "foil-bench-secret-0123456789abcdef0123456789abcdef";
/// Rate limits: high enough that no benchmark request is ever limited, but still checked.
const HUGE_LIMIT: &str = "1000000000";

/// How to start the server.
pub(crate) struct ServerOptions {
    /// The release binary (ignored when `in_process`).
    pub bin: PathBuf,
    pub in_process: bool,
    /// `postgres://...`; SQLite in a temporary directory when `None`.
    pub database_url: Option<String>,
    /// The mock's OpenAI base URL (`http://127.0.0.1:PORT/v1`).
    pub provider_base_url: String,
    /// `RUST_LOG` of the spawned server.
    pub log_filter: String,
    /// Where the spawned server's log goes (default: its temporary directory).
    pub log_file: Option<PathBuf>,
    /// `redis://...`: rate limits shared between instances (P11).
    pub redis_url: Option<String>,
    /// More settings for the server (`FOIL_...` variables), after the benchmark's own.
    pub extra_env: Vec<(String, String)>,
}

/// What `serve --demo` printed: an API key, a JWT and the demo personas.
#[derive(Clone, Debug)]
pub(crate) struct Demo {
    pub api_key: String,
    pub jwt: String,
    pub personas: Vec<(String, String)>,
}

enum Kind {
    Process {
        child: Child,
        log: PathBuf,
    },
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    },
}

/// A running server.
pub(crate) struct Server {
    pub base: String,
    pub demo: Demo,
    pub database: String,
    kind: Kind,
    _dir: tempfile::TempDir,
}

/// The workspace root (for `examples/personas` and `target/release`).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("foil-bench lives in the workspace")
        .to_path_buf()
}

/// The default server binary: next to this executable (`target/release/foil-server` when the
/// benchmark runs from `target/release`), else the workspace's `target/release/foil-server`.
pub(crate) fn default_server_bin() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let sibling = dir.join("foil-server");
            if sibling.is_file() && dir.ends_with("release") {
                return sibling;
            }
        }
    }
    workspace_root().join("target/release/foil-server")
}

/// User + system CPU seconds from a `/proc/…/stat` file (clock ticks of 1/100 s).
pub(crate) fn cpu_seconds_of(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A port free on loopback right now (for a process started next).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = StdListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn settings(bind: SocketAddr, database_url: &str, provider: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("FOIL_BIND", bind.to_string()),
        ("FOIL_DATABASE_URL", database_url.to_string()),
        ("FOIL_JWT_SECRET", JWT_SECRET.to_string()),
        ("FOIL_DEFAULT_MODEL", MODEL.to_string()),
        ("FOIL_PROVIDER_OPENAI_BASE_URL", provider.to_string()),
        ("FOIL_PROVIDER_OPENAI_API_KEY", PROVIDER_KEY.to_string()),
        // Open streams are held for a while in the memory scenario (P6).
        ("FOIL_LLM_TIMEOUT_SECS", "600".to_string()),
        // ... by one API key: the per-key and per-account stream caps (100 and 500 by default,
        // against abuse) would otherwise refuse all but the first hundred.
        ("FOIL_MAX_STREAMS_PER_KEY", "100000".to_string()),
        ("FOIL_MAX_STREAMS_PER_ACCOUNT", "100000".to_string()),
        ("FOIL_SHUTDOWN_GRACE_SECS", "2".to_string()),
        ("FOIL_RATE_LIMIT_ENABLED", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for category in [
        "GENERATION",
        "CHAT",
        "GENERAL",
        "SDK_CHAT",
        "SDK_GENERAL",
        "LOGIN",
        "AUTH_FAILURE",
    ] {
        env.push((
            format!("FOIL_RATE_LIMIT_{category}_PER_MINUTE"),
            HUGE_LIMIT.to_string(),
        ));
    }
    env
}

impl Server {
    pub(crate) async fn start(options: &ServerOptions) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new().prefix("foil-bench-").tempdir()?;
        let (database_url, database) = match &options.database_url {
            Some(url) => (url.clone(), "postgres".to_string()),
            None => (
                format!("sqlite://{}", dir.path().join("foil.db").display()),
                "sqlite (WAL, temporary directory)".to_string(),
            ),
        };
        let port = free_port()?;
        let bind: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut env = settings(bind, &database_url, &options.provider_base_url);
        if let Some(redis) = &options.redis_url {
            env.push(("FOIL_REDIS_URL".into(), redis.clone()));
        }
        env.extend(options.extra_env.iter().cloned());
        let (kind, demo, base) = if options.in_process {
            start_in_process(env).await?
        } else {
            let log = options
                .log_file
                .clone()
                .unwrap_or_else(|| dir.path().join("server.log"));
            let (child, demo) = spawn(&options.bin, &env, &log, &options.log_filter)?;
            (Kind::Process { child, log }, demo, format!("http://{bind}"))
        };
        let server = Server {
            base,
            demo,
            database,
            kind,
            _dir: dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "the server did not become ready within 60 s{}",
                    self.log_hint()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_hint(&self) -> String {
        match &self.kind {
            Kind::Process { log, .. } => format!(
                "; server log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
            Kind::InProcess { .. } => String::new(),
        }
    }

    /// The server's process id, when it runs as its own process.
    pub(crate) fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Process { child, .. } => Some(child.id()),
            Kind::InProcess { .. } => None,
        }
    }

    /// Whether memory can be measured (a separate process).
    pub(crate) fn is_process(&self) -> bool {
        self.pid().is_some()
    }

    /// `VmRSS` and `VmHWM` (peak) of the server process, in KiB.
    pub(crate) fn memory_kib(&self) -> Option<(u64, u64)> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// CPU time (user + system) the server process has used, in seconds.
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds_of(&format!("/proc/{}/stat", self.pid()?))
    }

    /// Threads of the server process.
    pub(crate) fn threads(&self) -> Option<u64> {
        let pid = self.pid()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s).
    pub(crate) async fn stop(mut self) {
        match &mut self.kind {
            Kind::Process { child, .. } => {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            Kind::InProcess { stop, task } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Kind::Process { child, .. } = &mut self.kind {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn spawn(
    bin: &Path,
    env: &[(String, String)],
    log: &Path,
    log_filter: &str,
) -> anyhow::Result<(Child, Demo)> {
    if !bin.is_file() {
        bail!(
            "server binary {} not found: build it with `cargo build --release -p foil-server` \
             (or pass --server-bin, or --in-process)",
            bin.display()
        );
    }
    // The server logs to stdout (tracing's default) and stderr: both go to the log file.
    let log_file = std::fs::File::create(log)?;
    let mut stdout_log = log_file.try_clone()?;
    let mut command = Command::new(bin);
    command
        .args(["serve", "--demo"])
        .current_dir(workspace_root())
        .env("RUST_LOG", log_filter)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Write;
        let mut lines = BufReader::new(stdout).lines().inspect(|line| {
            if let Ok(line) = line {
                let _ = writeln!(stdout_log, "{line}");
            }
        });
        let demo = parse_demo(&mut lines);
        let _ = tx.send(demo);
        // Keep draining (into the log) so the server never blocks on a full pipe.
        for _ in lines {}
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Some(demo)) => Ok((child, demo)),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`foil-server serve --demo` printed no demo data; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        }
    }
}

/// Reads the `serve --demo` banner up to its `try:` line.
fn parse_demo(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Option<Demo> {
    let mut api_key = None;
    let mut jwt = None;
    let mut personas = Vec::new();
    for line in lines {
        let line = line.ok()?;
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("API key:") {
            api_key = rest.split_whitespace().next().map(str::to_string);
        } else if let Some(rest) = trimmed.strip_prefix("JWT:") {
            jwt = rest.split_whitespace().next().map(str::to_string);
        } else if trimmed.starts_with("try:") {
            break;
        } else if let Some((id, name)) = trimmed.split_once("  ") {
            if id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4 {
                personas.push((id.to_string(), name.trim().to_string()));
            }
        }
    }
    Some(Demo {
        api_key: api_key?,
        jwt: jwt?,
        personas,
    })
}

async fn start_in_process(env: Vec<(String, String)>) -> anyhow::Result<(Kind, Demo, String)> {
    use foil_server::{config::Config, context::ApiContext, server};
    let mut config = Config::default();
    config.apply_env(env)?;
    server::resolve_jwt_secret(&mut config)?;
    let db = server::open_db(&config).await?;
    let ctx = ApiContext::new(config.clone(), db).await?;
    let seeded = server::seed_demo(&ctx).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::run(listener, ctx, async move {
        let _ = stopped.await;
    }));
    let demo = Demo {
        api_key: seeded.api_key,
        jwt: seeded.access_token,
        personas: seeded
            .personas
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
    };
    Ok((
        Kind::InProcess {
            stop: Some(stop),
            task,
        },
        demo,
        base,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_demo_banner() {
        let text = "\nFoil Engine demo is ready on http://127.0.0.1:1\n  account:   demo@foil.local\n  API key:   pk_live_0123   (shown once; send it as X-API-Key)\n  JWT:       eyJ.x.y\n  personas:\n    6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11  Grumpy Barista\n\n  try: curl ...\n";
        let mut lines = text.lines().map(|l| Ok(l.to_string()));
        let demo = parse_demo(&mut lines).unwrap();
        assert_eq!(demo.api_key, "pk_live_0123");
        assert_eq!(demo.jwt, "eyJ.x.y");
        assert_eq!(demo.personas.len(), 1);
        assert_eq!(demo.personas[0].1, "Grumpy Barista");
    }
}
