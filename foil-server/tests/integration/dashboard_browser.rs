//! The creator dashboard, tested as creators use it: the committed build is what the sources
//! and lockfile produce, its unit tests pass, and the end-to-end tests drive Debian's Chromium
//! (playwright-core, never a downloaded browser) against the real `foil-server` binary on a
//! fresh SQLite file, with the project's mock LLM as an OpenAI-compatible provider.
//!
//! Needs Node.js with `npm`, and Chromium at `/usr/bin/chromium`. Without them these tests
//! print `SKIP: ...` and pass, unless `FOIL_TEST_REQUIRE_SERVICES=1` (CI) makes them mandatory.
//! The three tests share `dashboard/node_modules`, so they take turns.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use foil_mock_llm::{MockConfig, MockLlm, RecordedRequest, Reply};
use serde_json::json;

use crate::common::process::free_port;

const CHROMIUM: &str = "/usr/bin/chromium";

fn dashboard_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboard")
}

/// Serialises the tests of this file and runs `npm ci` once for them. `None`: skip.
fn prepared() -> Option<std::sync::MutexGuard<'static, ()>> {
    static TURN: Mutex<()> = Mutex::new(());
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let missing = [("node", "--version"), ("npm", "--version")]
        .into_iter()
        .find(|(tool, arg)| Command::new(tool).arg(arg).output().is_err())
        .map(|(tool, _)| format!("`{tool}` is not installed"))
        .or_else(|| (!Path::new(CHROMIUM).exists()).then(|| format!("no Chromium at {CHROMIUM}")));
    if let Some(reason) = missing {
        assert!(
            !crate::common::services_required(),
            "FOIL_TEST_REQUIRE_SERVICES=1 but {reason} (apt-get install -y nodejs npm chromium)"
        );
        eprintln!("SKIP: dashboard tests: {reason}");
        return None;
    }
    let guard = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let installed = INSTALLED.get_or_init(|| {
        // A reused checkout keeps its node_modules; CI's fresh clone installs from the lockfile.
        if dashboard_dir()
            .join("node_modules/.package-lock.json")
            .exists()
        {
            return Ok(());
        }
        run_npm(&["ci", "--no-audit", "--no-fund"], &[])
    });
    if let Err(e) = installed {
        panic!("{e}");
    }
    Some(guard)
}

fn run_npm(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dashboard_dir())
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("npm {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`npm {}` in dashboard/ failed: {status}",
            args.join(" ")
        ))
    }
}

/// Every file below `dir`, relative to it, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((name, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn committed_build_is_current() {
    let Some(_turn) = prepared() else { return };
    let out = tempfile::tempdir().expect("tempdir");
    let out_dir = out.path().join("dist");
    run_npm(
        &["run", "build", "--", "--outDir", out_dir.to_str().unwrap()],
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let built = tree(&out_dir);
    let committed = tree(&dashboard_dir().join("dist"));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert!(
        built == committed,
        "dashboard/dist is stale (built {:?}, committed {:?}): run `cd dashboard && npm ci && npm run build` and commit dist/",
        names(&built),
        names(&committed)
    );
}

#[test]
fn unit_tests_pass() {
    let Some(_turn) = prepared() else { return };
    run_npm(&["test"], &[]).unwrap_or_else(|e| panic!("{e}"));
}

/// What the mock provider answers the creator's AI helpers with (OpenAI wire protocol).
fn studio_reply(request: &RecordedRequest) -> Reply {
    let system = request.body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    if system.starts_with("You design non-player characters") {
        Reply::text(
            json!({
                "name": "Brannoc the Smith",
                "description": "A soot-stained blacksmith who haggles over every nail",
                "identity_prompt": "You are Brannoc, the village blacksmith: gruff, proud of your work, soft-hearted underneath."
            })
            .to_string(),
        )
    } else if system.starts_with("You design conversation scenarios") {
        Reply::text(
            json!({
                "machine_key": "forge_a_blade",
                "name": "Forge a blade",
                "is_entry": true,
                "creator_objective": "Find out what blade the player wants",
                "pass_threshold": 1,
                "states": [
                    {"state_key": "ASK", "label": "What blade?", "prompt_instruction": "Ask what blade the player needs.", "is_initial_state": true},
                    {"state_key": "DONE", "label": "Deal", "prompt_instruction": "Agree to forge it.", "is_terminal_state": true}
                ],
                "transitions": [
                    {"from_state_key": "ASK", "to_state_key": "DONE", "decision_type": "pass", "condition": "the player names a blade", "score_delta": 1}
                ]
            })
            .to_string(),
        )
    } else if system.starts_with("You edit text") {
        Reply::text("Polished: a clearer, livelier version of the text.")
    } else {
        Reply::text("Aye, what do you need?")
    }
}

/// The real server binary on a fresh SQLite file, killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(mock_base_url: &str) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let db = dir.path().join("dashboard.db");
    let child = Command::new(env!("CARGO_BIN_EXE_foil-server"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("FOIL_BIND", format!("127.0.0.1:{port}"))
        .env("FOIL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env(
            "FOIL_JWT_SECRET",
            "dashboard-test-secret-at-least-32-bytes!",
        )
        .env("FOIL_PROVIDER_MOCK_KIND", "openai")
        .env("FOIL_PROVIDER_MOCK_BASE_URL", mock_base_url)
        // The tests click faster than any creator types.
        .env("FOIL_RATE_LIMIT_GENERAL_PER_MINUTE", "100000")
        .env("FOIL_RATE_LIMIT_CHAT_PER_MINUTE", "100000")
        .env("FOIL_RATE_LIMIT_GENERATION_PER_MINUTE", "100000")
        .env("FOIL_RATE_LIMIT_SDK_GENERAL_PER_MINUTE", "100000")
        .env("FOIL_RATE_LIMIT_LOGIN_PER_MINUTE", "100000")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start foil-server");
    let server = Server {
        child,
        url,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = probe::get_ok(&format!("{}/readyz", server.url), deadline);
    assert!(ready, "foil-server did not become ready at {}", server.url);
    server
}

/// A tiny blocking readiness probe over std TCP (no extra HTTP client needed).
mod probe {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    pub(super) fn get_ok(url: &str, deadline: Instant) -> bool {
        let rest = url.trim_start_matches("http://");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(authority) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!(
                    "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
                );
                let mut response = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut response).is_ok()
                    && response.starts_with("HTTP/1.1 200")
                {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

#[test]
fn end_to_end_in_chromium() {
    let Some(_turn) = prepared() else { return };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mock = runtime
        .block_on(MockLlm::start(
            MockConfig::default().with_responder(studio_reply),
        ))
        .expect("mock LLM");
    let server = start_server(&mock.openai_base_url());
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshots folder");
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "e2e/"])
        .current_dir(dashboard_dir())
        .env("FOIL_BASE_URL", &server.url)
        .env("FOIL_SCREENSHOTS", &screenshots)
        // For the tests that start their own server (Supabase mode).
        .env("FOIL_SERVER_BIN", env!("CARGO_BIN_EXE_foil-server"))
        .status()
        .expect("run node --test");
    assert!(
        status.success(),
        "the dashboard's end-to-end tests failed (rerun: `cargo test -p foil-server --test integration dashboard_browser`; screenshots in target/dashboard-screenshots/)"
    );
    drop(server);
    drop(runtime);
}
