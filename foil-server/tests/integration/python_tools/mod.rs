//! Python tools from PyPI for the tests (schemathesis, the official `foilengine` SDK), each in
//! its own virtual environment under the target dir, made once and reused.
//!
//! Needs python3 with venv and access to PyPI the first time. Without them a test calls
//! [`skip`], which passes with a printed reason unless `FOIL_TEST_REQUIRE_SERVICES=1` (CI).

use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// Passes the calling test with `SKIP: reason`, or fails it when services are required.
pub(crate) fn skip(reason: &str) {
    assert!(
        !required(),
        "a Python tool is required (FOIL_TEST_REQUIRE_SERVICES=1): {reason}"
    );
    eprintln!("SKIP: {reason}");
}

/// The `bin/` directory of the venv `name` holding `requirement` (a pip requirement pinned to
/// one version), creating it on first use.
pub(crate) fn venv_with(name: &str, requirement: &str) -> Result<PathBuf, String> {
    // Tests of one binary running at once must not build the same venv side by side.
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _creating = CREATING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let bin = venv.join("bin");
    // Marks a finished install, so an interrupted one is redone rather than half-used.
    let stamp = venv.join(format!("installed-{requirement}"));
    if stamp.exists() {
        return Ok(bin);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(bin.join("pip")).args(["install", "--quiet", requirement]))?;
    std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(bin)
}

/// A real server on a loopback socket (SQLite in a temp dir, rate limits off) seeded with the
/// demo account and the example personas, for tools that speak HTTP from outside the process.
pub(crate) struct DemoServer {
    pub base_url: String,
    pub demo: foil_server::server::DemoData,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl DemoServer {
    pub(crate) async fn start() -> Self {
        use foil_server::{config::Config, context::ApiContext, db::Db};
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            jwt_secret: Some("python-tools-secret-0123456789abcdef0123456789".into()),
            database_url: format!("sqlite://{}", dir.path().join("foil.db").display()),
            ..Config::default()
        };
        config.rate_limit.enabled = false;
        // The Python tools keep connections alive between their calls; hyper's header-read
        // timeout also closes idle keep-alive connections, and on a loaded CI machine a client
        // can reuse one just as it closes ("Server disconnected without sending a response").
        // The tools test the API, not that timeout (security.rs does).
        config.header_read_timeout_secs = 300;
        let db = Db::connect(&config.database_url, 5).await.unwrap();
        db.migrate().await.unwrap();
        let ctx = ApiContext::new(config, db).await.unwrap();
        let demo = foil_server::server::seed_demo(&ctx).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(foil_server::server::run(listener, ctx, async {
            let _ = stopped.await;
        }));
        Self {
            base_url,
            demo,
            stop,
            task,
            _dir: dir,
        }
    }

    /// Graceful shutdown; panics if the server failed.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}
