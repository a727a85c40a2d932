//! quality.md R6: schemathesis (from PyPI, in a virtual environment under the target dir)
//! fuzzes every operation of `/openapi.json` on a real server: no 5xx, every response matches
//! its documented schema and status codes.
//!
//! Needs python3 with venv and network access to PyPI the first time (see `python_tools`).

use std::process::Command;

const SCHEMATHESIS_VERSION: &str = "4.32.5";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_holds_under_fuzzing() {
    let bin = match crate::python_tools::venv_with(
        "schemathesis-venv",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    ) {
        Ok(bin) => bin.join("schemathesis"),
        Err(reason) => return crate::python_tools::skip(&reason),
    };
    let server = crate::python_tools::DemoServer::start().await;
    let base = server.base_url.clone();
    let (token, api_key) = (
        server.demo.access_token.clone(),
        server.demo.api_key.clone(),
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["run", &format!("{base}/openapi.json")])
            .args(["-H", &format!("Authorization: Bearer {}", token)])
            .args(["-H", &format!("X-API-Key: {}", api_key)])
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
    server.stop().await;
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
