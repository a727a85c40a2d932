//! Test harness: the real router over a real database, one fresh database per test.
//!
//! * SQLite: a new file in a temporary directory.
//! * PostgreSQL: a new schema in `FOIL_TEST_POSTGRES_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`). When the server is unreachable the test prints
//!   `SKIP` and passes — unless `FOIL_TEST_REQUIRE_SERVICES=1` (set by `.ci/run`), which makes
//!   it fail.
//!
//! Requests go through `tower::ServiceExt::oneshot` on the full router (all layers), with a
//! `ConnectInfo` peer address so per-IP rate limits behave as on a socket.

#![allow(dead_code)]

pub(crate) mod process;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use foil_server::app;
use foil_server::config::Config;
use foil_server::context::ApiContext;
use foil_server::db::Db;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// For a test that needs the process to itself (its resident memory, the global log
/// subscriber): in the test binary it runs the test again in a child process where it is the only
/// test, asserts that passed and returns `false` (the caller returns); in the child it returns
/// `true` and the test goes on. `module` is the caller's `module_path!()`.
pub(crate) fn alone_in_process(module: &str, test: &str) -> bool {
    const ALONE: &str = "FOIL_TEST_ALONE";
    // Test names leave out the crate: `integration::security` → `security::test`.
    let name = match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_owned(),
    };
    if std::env::var(ALONE).is_ok_and(|alone| alone == name) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--test-threads=1", "--nocapture"])
        .env(ALONE, &name)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} failed alone:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

pub(crate) fn services_required() -> bool {
    std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

pub(crate) fn postgres_url() -> String {
    std::env::var("FOIL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A running app over its own database.
pub(crate) struct TestApp {
    pub router: Router,
    pub ctx: ApiContext,
    pub backend: Backend,
    pub database_url: String,
    /// The SQLite file, for tests that inspect it.
    pub sqlite_file: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// An app with the test defaults. `None` means the backend is unavailable and the test is
    /// skipped (a message has been printed).
    pub(crate) async fn new(backend: Backend) -> Option<TestApp> {
        Self::with_config(backend, |_| {}).await
    }

    /// An app whose config `tweak` adjusts (small rate limits, a pepper, ...).
    pub(crate) async fn with_config(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        // Server logs go to the test's captured output: shown only when it fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,foil_server=debug")
            .with_test_writer()
            .try_init();
        let mut config = Config {
            jwt_secret: Some(JWT_SECRET.into()),
            ..Config::default()
        };
        // Generous limits so functional tests never trip them; rate-limit tests lower them.
        for limit in [
            &mut config.rate_limit.general,
            &mut config.rate_limit.chat,
            &mut config.rate_limit.generation,
            &mut config.rate_limit.sdk_chat,
            &mut config.rate_limit.sdk_general,
            &mut config.rate_limit.login,
            &mut config.rate_limit.auth_failure,
        ] {
            limit.per_minute = 100_000;
        }
        let (database_url, dir, sqlite_file) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let file = dir.path().join("foil.db");
                (
                    format!("sqlite://{}", file.display()),
                    Some(dir),
                    Some(file),
                )
            }
            Backend::Postgres => (postgres_schema_url().await?, None, None),
        };
        config.database_url = database_url.clone();
        config.database_max_connections = 5;
        tweak(&mut config);
        Some(Self::build(config, backend, database_url, sqlite_file, dir).await)
    }

    /// An app over an existing, already migrated PostgreSQL database URL.
    pub(crate) async fn with_existing_database(
        url: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config {
            jwt_secret: Some(JWT_SECRET.into()),
            database_url: url.to_string(),
            database_max_connections: 5,
            ..Config::default()
        };
        tweak(&mut config);
        Self::build(config, Backend::Postgres, url.to_string(), None, None).await
    }

    /// A second server instance over this app's database (same configuration, adjusted by
    /// `tweak`), as when several instances share one database.
    pub(crate) async fn second_instance(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.ctx.config.as_ref().clone();
        tweak(&mut config);
        Self::build(
            config,
            self.backend,
            self.database_url.clone(),
            self.sqlite_file.clone(),
            None,
        )
        .await
    }

    async fn build(
        config: Config,
        backend: Backend,
        database_url: String,
        sqlite_file: Option<std::path::PathBuf>,
        dir: Option<tempfile::TempDir>,
    ) -> TestApp {
        let db = Db::connect_with_timeout(
            &config.database_url,
            config.database_max_connections,
            std::time::Duration::from_secs(config.database_timeout_secs.max(1)),
        )
        .await
        .expect("connect");
        db.migrate().await.expect("migrate");
        let ctx = ApiContext::new(config, db).await.expect("context");
        TestApp {
            router: app::router(ctx.clone()),
            ctx,
            backend,
            database_url,
            sqlite_file,
            _dir: dir,
        }
    }

    /// Sends one request through the whole router.
    pub(crate) async fn send(&self, req: TestRequest) -> TestResponse {
        let response = self.open(req).await;
        let status = response.status;
        let headers = response.headers.clone();
        let bytes = response.body.collect().await.expect("body").to_bytes();
        TestResponse {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Sends one request and returns as soon as the response head is there: the body is read
    /// frame by frame (see [`OpenResponse::next_event`]) and may be dropped mid-way, like a
    /// client that disconnects.
    pub(crate) async fn open(&self, req: TestRequest) -> OpenResponse {
        let mut builder = Request::builder().method(req.method).uri(&req.path);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match req.body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                Body::from(b)
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).expect("request");
        request.extensions_mut().insert(ConnectInfo(req.peer));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router is infallible");
        OpenResponse {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// Signs up a self-hosted user and returns its access token.
    pub(crate) async fn signup(&self, email: &str) -> String {
        let res = self
            .send(
                TestRequest::post("/api/v1/auth/signup").json(&serde_json::json!({
                    "email": email, "password": "correct horse battery staple"
                })),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "signup: {}", res.text);
        res.json()["access_token"].as_str().unwrap().to_string()
    }

    /// Creates an API key for the token's user and returns the plaintext.
    pub(crate) async fn create_key(&self, token: &str) -> String {
        let res = self
            .send(
                TestRequest::post("/api/v1/sdk/api-keys")
                    .bearer(token)
                    .json(&serde_json::json!({"name": "game"})),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "create key: {}", res.text);
        res.json()["key"].as_str().unwrap().to_string()
    }

    /// Saves a persona document and returns its id.
    pub(crate) async fn save_persona(&self, token: &str, doc: &Value) -> String {
        let res = self
            .send(
                TestRequest::post("/api/v1/creator/save")
                    .bearer(token)
                    .json(doc),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "save: {}", res.text);
        res.json()["id"].as_str().unwrap().to_string()
    }
}

/// Mints a Supabase-style token (signed with the shared secret, as Supabase does) for claims
/// self-hosted login never issues, such as anonymous users.
pub(crate) fn supabase_token(sub: &str, anonymous: bool) -> String {
    let claims = serde_json::json!({
        "sub": sub, "aud": "authenticated", "role": "authenticated",
        "exp": chrono::Utc::now().timestamp() + 600,
        "is_anonymous": anonymous,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// Makes a fresh schema and returns a URL whose connections use it.
pub(crate) async fn postgres_schema_url() -> Option<String> {
    use sqlx::Connection;
    let base = postgres_url();
    let mut conn = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(&base),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return skip_postgres(&e.to_string()),
        Err(_) => return skip_postgres("connection timed out"),
    };
    let schema = format!("foil_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let _ = conn.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

fn skip_postgres(reason: &str) -> Option<String> {
    if services_required() {
        panic!("PostgreSQL is required (FOIL_TEST_REQUIRE_SERVICES=1) but unavailable: {reason}");
    }
    eprintln!("SKIP: PostgreSQL unavailable ({reason}); set FOIL_TEST_POSTGRES_URL");
    None
}

/// A request under construction.
pub(crate) struct TestRequest {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub peer: SocketAddr,
}

impl TestRequest {
    pub(crate) fn new(method: Method, path: &str) -> Self {
        TestRequest {
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            peer: "127.0.0.1:40000".parse().unwrap(),
        }
    }
    pub(crate) fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }
    pub(crate) fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }
    pub(crate) fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub(crate) fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub(crate) fn api_key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }
    pub(crate) fn json(mut self, value: &Value) -> Self {
        self.body = Some(serde_json::to_vec(value).unwrap());
        self
    }
    pub(crate) fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    pub(crate) fn with_peer(mut self, ip: &str) -> Self {
        self.peer = SocketAddr::new(ip.parse().unwrap(), 40000);
        self
    }
}

/// A finished response.
#[derive(Debug)]
pub(crate) struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl TestResponse {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts an api.md §1 error body with this status and code.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "body: {}", self.text);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error.message missing: {}",
            self.text
        );
        if status == StatusCode::UNAUTHORIZED {
            assert!(
                self.headers.contains_key("www-authenticate"),
                "401 without WWW-Authenticate"
            );
        }
    }
}

/// Sorted keys of a JSON object, for exact key-set assertions.
pub(crate) fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// `keys` for a literal list.
pub(crate) fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// A small valid persona document.
pub(crate) fn sample_persona(name: &str, published: bool) -> Value {
    serde_json::json!({
        "persona": {
            "name": name,
            "description": "A test NPC",
            "identity_prompt": "You are a test NPC.",
            "is_public": published,
            "is_published": published
        },
        "machines": [{
            "machine_key": "main",
            "name": "Main",
            "is_entry": true,
            "pass_threshold": 1,
            "states": [
                {"state_key": "S0", "prompt_instruction": "Greet the player.", "is_initial_state": true},
                {"state_key": "END", "prompt_instruction": "Say goodbye.", "is_terminal_state": true}
            ],
            "transitions": [
                {"from_state_key": "S0", "to_state_key": "END", "decision_type": "pass",
                 "condition": "the player says hello", "score_delta": 1}
            ]
        }]
    })
}

/// A response whose body has not been read yet.
pub(crate) struct OpenResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
    buffer: String,
}

/// One server-sent event: `event: NAME` and its one-line JSON `data`.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub event: String,
    pub data: Value,
}

/// Parses one SSE frame (without its blank-line terminator), asserting the exact api.md §5
/// layout: `event: NAME\ndata: ONE-LINE-JSON`.
#[track_caller]
pub(crate) fn parse_sse_frame(frame: &str) -> SseEvent {
    let lines: Vec<&str> = frame.split('\n').collect();
    assert_eq!(lines.len(), 2, "a frame is two lines: {frame:?}");
    let event = lines[0]
        .strip_prefix("event: ")
        .unwrap_or_else(|| panic!("frame does not start with `event: `: {frame:?}"));
    assert!(
        !event.is_empty() && event.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "bad event name in {frame:?}"
    );
    let data = lines[1]
        .strip_prefix("data: ")
        .unwrap_or_else(|| panic!("second line is not `data: `: {frame:?}"));
    let data: Value =
        serde_json::from_str(data).unwrap_or_else(|e| panic!("data is not JSON ({e}): {frame:?}"));
    SseEvent {
        event: event.to_string(),
        data,
    }
}

/// Parses a whole SSE body: every frame is exactly `event: NAME\ndata: ONE-LINE-JSON\n\n`
/// and nothing else is there.
#[track_caller]
pub(crate) fn parse_sse(text: &str) -> Vec<SseEvent> {
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "the body does not end with a complete frame: {text:?}"
    );
    text.split_terminator("\n\n").map(parse_sse_frame).collect()
}

impl OpenResponse {
    /// The next complete SSE frame, or `None` at the end of the body. Panics after 10 s
    /// without one (a hung stream is a failure, not a wait).
    pub(crate) async fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_sse_frame(&frame[..end]));
            }
            let frame = tokio::time::timeout(std::time::Duration::from_secs(10), self.body.frame())
                .await
                .expect("no SSE frame within 10 s");
            match frame {
                None => {
                    assert!(
                        self.buffer.is_empty(),
                        "the body ended inside a frame: {:?}",
                        self.buffer
                    );
                    return None;
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer
                            .push_str(std::str::from_utf8(&data).expect("UTF-8"));
                    }
                }
                Some(Err(e)) => panic!("body error: {e}"),
            }
        }
    }

    /// Every remaining event, to the end of the body.
    pub(crate) async fn rest(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event().await {
            events.push(event);
        }
        events
    }
}
