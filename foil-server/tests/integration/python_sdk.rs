//! The official Python SDK (`foilengine` from PyPI, unmodified) against a real server: every
//! SDK chat route's response parses into the SDK's types with exactly the SDK's keys, a linked
//! machine unlocks, the SDK's events fire, a stream's deltas add up, and errors map to the
//! SDK's exceptions. The checks live in `python_sdk/official_sdk_check.py`.
//!
//! Needs python3 with venv and access to PyPI the first time (see `python_tools`).

use std::path::Path;
use std::process::Command;

/// The SDK release whose wire contract we promise to keep.
const SDK_REQUIREMENT: &str = "foilengine==0.4.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_parses_every_chat_route() {
    let bin = match crate::python_tools::venv_with("foilengine-sdk-venv", SDK_REQUIREMENT) {
        Ok(bin) => bin,
        Err(reason) => return crate::python_tools::skip(&reason),
    };
    let server = crate::python_tools::DemoServer::start().await;
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

/// The same check with a player token in place of the key: a `mint` key on the example game
/// backend (`examples/player-token-backend`), which the check asks for a token for its player,
/// as a game would. The unmodified SDK then plays every route with the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_works_with_a_player_token() {
    let bin = match crate::python_tools::venv_with("foilengine-sdk-venv", SDK_REQUIREMENT) {
        Ok(bin) => bin,
        Err(reason) => return crate::python_tools::skip(&reason),
    };
    let server = crate::python_tools::DemoServer::start().await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/sdk/api-keys", server.base_url))
        .bearer_auth(&server.demo.access_token)
        .json(&serde_json::json!({"name": "game backend", "scope": "mint"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    let mint_key = created["key"].as_str().unwrap().to_string();

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut backend = std::process::Command::new(bin.join("python"))
        .arg(manifest.join("../examples/player-token-backend/backend.py"))
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_MINT_KEY", &mint_key)
        .env("PORT", "0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the example backend");
    let mut first_line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(backend.stdout.take().unwrap()),
        &mut first_line,
    )
    .unwrap();
    let backend_url = first_line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the backend said {first_line:?}"))
        .to_string();

    let mut command = Command::new(bin.join("python"));
    command
        .arg(manifest.join("tests/python_sdk/official_sdk_check.py"))
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_TOKEN_BACKEND", &backend_url)
        .env("FOIL_PLAYER", "player-with-a-token")
        .env("FOIL_EXAMPLES_DIR", manifest.join("../examples/personas"));
    let output = tokio::task::spawn_blocking(move || command.output().expect("run python"))
        .await
        .unwrap();
    let _ = backend.kill();
    let _ = backend.wait();
    server.stop().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("official SDK checked:"),
        "the official SDK failed with a player token:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
