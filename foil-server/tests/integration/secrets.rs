//! quality.md R9: API keys, passwords and the JWT secret never reach the database, the logs or
//! a response in plain text. Runs a full flow with every log line captured at TRACE level, then
//! searches the SQLite files (main database and WAL) and the captured logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::{sample_persona, Backend, TestApp, TestRequest};
use axum::http::StatusCode;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    captured
}

fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        bytes.extend(std::fs::read(std::path::PathBuf::from(p)).unwrap_or_default());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_database_or_logs() {
    // The log subscriber is process-wide: other tests' subscriber must not be the one installed.
    if !crate::common::alone_in_process(module_path!(), "secrets_never_reach_database_or_logs") {
        return;
    }
    let logs = capture_logs();
    let pepper = "pepper-value-never-logged";
    let operator_key = "sk-operator-key-never-logged";
    let mock = foil_mock_llm::MockLlm::start(foil_mock_llm::MockConfig::default())
        .await
        .unwrap();
    let base = mock.openai_base_url();
    let app = TestApp::with_config(Backend::Sqlite, |c| {
        c.api_key_pepper = Some(pepper.into());
        c.providers.insert(
            "openai".into(),
            foil_server::config::ProviderSettings {
                base_url: Some(base),
                api_key: Some(operator_key.into()),
                ..Default::default()
            },
        );
        c.operator_key_models = vec!["openai/gpt-test".into()];
    })
    .await
    .expect("sqlite is always available");
    let password = "my very secret password 123";

    let res = app
        .send(TestRequest::post("/api/v1/auth/signup").json(&json!({
            "email": "secret@example.com", "password": password
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.text.contains(password));
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    let res = app
        .send(TestRequest::post("/api/v1/auth/login").json(&json!({
            "email": "secret@example.com", "password": password
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // A wrong password is logged as a failure without the password.
    let wrong = "wrong secret password 456";
    app.send(TestRequest::post("/api/v1/auth/login").json(&json!({
        "email": "secret@example.com", "password": wrong
    })))
    .await;

    app.save_persona(&token, &sample_persona("Secretive", true))
        .await;
    let key = app.create_key(&token).await;
    for _ in 0..3 {
        let res = app
            .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key))
            .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let list = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&token))
        .await;
    assert!(!list.text.contains(&key));
    // A chat through a provider with the caller's LLM key (JSON and stream), one failing call
    // (the provider rejects the key), and one call on the operator's key.
    let llm_key = "sk-caller-llm-key-never-stored";
    let persona = app
        .save_persona(&token, &sample_persona("Chatty", true))
        .await;
    let chat = |path: &str| {
        TestRequest::post(&format!("/api/v1/sdk/chat/{persona}/{path}"))
            .api_key(&key)
            .header("x-llm-model", "openai/gpt-test")
            .header("x-llm-api-key", llm_key)
    };
    let res = app
        .send(chat("init-session").json(&json!({
            "user_session_id": "p1", "player_name": "Ada", "player_gender": "female"
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    for path in ["message", "message/stream"] {
        mock.push_reply(foil_mock_llm::Reply::text(
            r#"{"decision":"redirect","transition_index":null,"reason":"chat"}"#,
        ));
        let res = app
            .send(chat(path).json(&json!({"user_session_id": "p1", "message": "hello there"})))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert!(!res.text.contains(llm_key));
    }
    mock.push_reply(foil_mock_llm::Reply::fault(
        foil_mock_llm::Fault::unauthorized(),
    ));
    let res = app
        .send(chat("message").json(&json!({"user_session_id": "p1", "message": "hello again"})))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert!(!res.text.contains(llm_key));
    let seen: Vec<_> = mock
        .requests()
        .iter()
        .filter_map(|r| r.bearer_token().map(String::from))
        .collect();
    assert!(
        seen.iter().all(|k| k == llm_key),
        "the caller's key was used: {seen:?}"
    );
    let res = app
        .send(
            TestRequest::post(&format!("/api/v1/sdk/chat/{persona}/init-session"))
                .api_key(&key)
                .header("x-llm-model", "openai/gpt-test")
                .json(
                    &json!({"user_session_id": "p2", "player_name": "Bo", "player_gender": "male"}),
                ),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        mock.last_request().unwrap().bearer_token(),
        Some(operator_key)
    );

    let bad_key = "pk_live_ffffffffffffffffffffffffffffffff";
    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(bad_key))
        .await;
    assert!(!res.text.contains(bad_key));

    // Let spawned bookkeeping (last_used_at) finish, then flush SQLite.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let db_file = app.sqlite_file.clone().unwrap();
    app.ctx.db.close().await;

    let db = file_bytes(&db_file);
    assert!(!db.is_empty(), "database file exists");
    let logs = logs.0.lock().unwrap().clone();
    assert!(contains(&logs, "API key created"), "logs were captured");
    let key_body = &key["pk_live_".len()..];
    let secrets = [
        ("API key", key.as_str()),
        ("API key body", key_body),
        ("bad API key", bad_key),
        ("password", password),
        ("wrong password", wrong),
        ("JWT secret", crate::common::JWT_SECRET),
        ("pepper", pepper),
        ("access token", token.as_str()),
        ("caller's LLM key", llm_key),
        ("operator's LLM key", operator_key),
    ];
    for (what, secret) in secrets {
        assert!(!contains(&db, secret), "{what} found in the database file");
        assert!(!contains(&logs, secret), "{what} found in the logs");
    }
}
