//! The official Python SDK (`foilengine` from PyPI, unmodified) against a real server: every
//! SDK chat route's response parses into the SDK's types with exactly the SDK's keys, a linked
//! machine unlocks, the SDK's events fire, a stream's deltas add up, and errors map to the
//! SDK's exceptions. The checks live in `python_sdk/official_sdk_check.py`.
//!
//! Needs python3 with venv and access to PyPI the first time (see `python_tools`).

mod python_tools;

use std::path::Path;
use std::process::Command;

/// The SDK release whose wire contract we promise to keep.
const SDK_REQUIREMENT: &str = "foilengine==0.4.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_parses_every_chat_route() {
    let bin = match python_tools::venv_with("foilengine-sdk-venv", SDK_REQUIREMENT) {
        Ok(bin) => bin,
        Err(reason) => return python_tools::skip(&reason),
    };
    let server = python_tools::DemoServer::start().await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(bin.join("python"));
    command
        .arg(manifest.join("tests/python_sdk/official_sdk_check.py"))
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_API_KEY", &server.demo.api_key)
        .env("FOIL_EXAMPLES_DIR", manifest.join("../examples/personas"));
    let output = tokio::task::spawn_blocking(move || command.output().expect("run python"))
        .await
        .unwrap();
    server.stop().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the official SDK failed against the server:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("official SDK checked:") && stdout.contains("message/stream"),
        "the SDK check did not run to its end:\n{stdout}"
    );
}
