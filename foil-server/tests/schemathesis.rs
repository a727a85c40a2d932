//! quality.md R6: schemathesis (from PyPI, in a virtual environment under the target dir)
//! fuzzes every operation of `/openapi.json` on a real server: no 5xx, every response matches
//! its documented schema and status codes.
//!
//! Needs python3 with venv and network access to PyPI the first time. Without them the test
//! prints `SKIP` and passes, unless `FOIL_TEST_REQUIRE_SERVICES=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use foil_server::app::ApiContext;
use foil_server::config::Config;
use foil_server::db::Db;

const SCHEMATHESIS_VERSION: &str = "4.32.5";

fn required() -> bool {
    std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

fn skip(reason: &str) {
    assert!(
        !required(),
        "schemathesis is required (FOIL_TEST_REQUIRE_SERVICES=1): {reason}"
    );
    eprintln!("SKIP: {reason}");
}

/// A venv with schemathesis, made once per target dir.
fn schemathesis() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    if bin.exists() {
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
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    ]))?;
    Ok(bin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_holds_under_fuzzing() {
    let bin = match schemathesis() {
        Ok(bin) => bin,
        Err(reason) => return skip(&reason),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        jwt_secret: Some("schemathesis-secret-0123456789abcdef0123456789".into()),
        database_url: format!("sqlite://{}", dir.path().join("foil.db").display()),
        ..Config::default()
    };
    config.rate_limit.enabled = false;
    let db = Db::connect(&config.database_url, 5).await.unwrap();
    db.migrate().await.unwrap();
    let ctx = ApiContext::new(config, db).await.unwrap();
    let demo = foil_server::server::seed_demo(&ctx).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(foil_server::server::run(listener, ctx, async {
        let _ = stopped.await;
    }));

    let output = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["run", &format!("{base}/openapi.json")])
            .args([
                "-H",
                &format!("Authorization: Bearer {}", demo.access_token),
            ])
            .args(["-H", &format!("X-API-Key: {}", demo.api_key)])
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance",
                "--max-examples",
                "25",
                "--workers",
                "2",
                "--seed",
                "20261122",
            ])
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Tested"),
        "schemathesis ran no operation:\n{stdout}"
    );
}
