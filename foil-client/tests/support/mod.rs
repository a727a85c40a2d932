//! Test support: a real `foil-server` on loopback (SQLite in a temporary directory, the demo
//! personas of `examples/personas` imported and published, an API key made), optionally with
//! `foil-mock-llm` as its `openai` provider, and player tokens of the demo account minted as a
//! game's backend would (plus, for timing tests, tokens with lifetimes shorter than the
//! server's minimum, signed by the server's own key); plus tiny scripted HTTP servers.
//!
//! Each server runs on its own runtime thread, so synchronous tests (the C ABI) and async
//! tests can both use it. Shared by the `foil-client`, `foil-ffi-tests` and `foil-godot` tests
//! (included by path).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use foil_mock_llm::{MockConfig, MockLlm};
use foil_server::auth::player_token::{PlayerGrant, PlayerTokens};
use foil_server::config::{Config, ProviderSettings};
use tokio::sync::oneshot;

/// A running server; dropping it shuts the server down.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// A valid API key of the demo account.
    pub api_key: String,
    /// `(id, name)` of every imported persona.
    pub personas: Vec<(String, String)>,
    /// The mock provider, when started with one (configured as provider `openai`).
    pub mock: Option<MockLlm>,
    /// Where the playthroughs live.
    pub examples: PathBuf,
    /// A JWT of the demo account's user (for the creator routes, e.g. making keys).
    pub access_token: String,
    /// The server's player-token signer.
    player_tokens: Arc<PlayerTokens>,
    /// `(account id, key id, key)` of the demo account's `mint` key, made on first use.
    mint_key: OnceLock<(String, String, String)>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server with the offline provider only.
    pub(crate) fn start() -> TestServer {
        Self::start_with(None)
    }

    /// A server whose `openai` provider is a mock started with `mock` (send
    /// `X-LLM-Model: openai/gpt-test` and any `X-LLM-API-Key` to use it).
    pub(crate) fn start_with(mock: Option<MockConfig>) -> TestServer {
        Self::start_configured(mock, Vec::new())
    }

    /// A server with the offline provider that lets web pages of `cors_origins` call it from
    /// a browser (`FOIL_CORS_ORIGINS`).
    pub(crate) fn start_with_cors(cors_origins: Vec<String>) -> TestServer {
        Self::start_configured(None, cors_origins)
    }

    fn start_configured(mock: Option<MockConfig>, cors_origins: Vec<String>) -> TestServer {
        // `seed_demo` looks for `examples/personas` in the working directory first (and then
        // next to the server's sources as they were when it was compiled): run from the
        // workspace root, whichever test crate this is.
        let root = workspace_root();
        std::env::set_current_dir(&root).expect("cd to the workspace root");
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("foil.db").display());
        let (ready_tx, ready_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let mock = match mock {
                        Some(m) => Some(MockLlm::start(m).await.expect("mock LLM")),
                        None => None,
                    };
                    let mut config = Config {
                        jwt_secret: Some(
                            "test-secret-that-is-long-enough-for-hs256-0123456789".into(),
                        ),
                        database_url,
                        database_max_connections: 4,
                        shutdown_grace_secs: 1,
                        cors_origins,
                        ..Config::default()
                    };
                    for limit in [
                        &mut config.rate_limit.general,
                        &mut config.rate_limit.chat,
                        &mut config.rate_limit.generation,
                        &mut config.rate_limit.sdk_chat,
                        &mut config.rate_limit.sdk_general,
                    ] {
                        limit.per_minute = 100_000;
                    }
                    if let Some(m) = &mock {
                        config.providers.insert(
                            "openai".into(),
                            ProviderSettings {
                                base_url: Some(m.openai_base_url()),
                                ..Default::default()
                            },
                        );
                    }
                    let db = foil_server::db::Db::connect(
                        &config.database_url,
                        config.database_max_connections,
                    )
                    .await
                    .expect("database");
                    db.migrate().await.expect("migrate");
                    let ctx = foil_server::context::ApiContext::new(config, db.clone())
                        .await
                        .expect("context");
                    let demo = foil_server::server::seed_demo(&ctx).await.expect("seed");
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    let addr = listener.local_addr().expect("address");
                    let personas = demo
                        .personas
                        .iter()
                        .map(|(id, name)| (id.to_string(), name.clone()))
                        .collect::<Vec<_>>();
                    let player_tokens = ctx
                        .player_tokens
                        .clone()
                        .expect("a JWT secret is set: player tokens are available");
                    ready_tx
                        .send((
                            addr,
                            demo.api_key.clone(),
                            demo.access_token.clone(),
                            player_tokens,
                            personas,
                            mock,
                        ))
                        .expect("test alive");
                    foil_server::server::run(listener, ctx, async move {
                        let _ = shutdown_rx.await;
                    })
                    .await
                    .expect("server ran");
                    db.close().await;
                });
            })
            .expect("server thread");
        let (addr, api_key, access_token, player_tokens, personas, mock) =
            ready_rx.recv().expect("server started");
        TestServer {
            base_url: format!("http://{addr}"),
            api_key,
            personas,
            mock,
            examples: root.join("examples/personas"),
            access_token,
            player_tokens,
            mint_key: OnceLock::new(),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// The id of the persona called `name`.
    pub(crate) fn persona_id(&self, name: &str) -> String {
        self.personas
            .iter()
            .find(|(_, n)| n == name)
            .unwrap_or_else(|| panic!("no persona {name}: {:?}", self.personas))
            .0
            .clone()
    }

    /// A request to the server over a plain TCP connection (HTTP/1.1, `Connection: close`), so
    /// that no test crate needs an HTTP client: `(status, body as JSON or Null)`.
    pub(crate) fn http_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let host = self.base_url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).expect("connect to the test server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the response");
        let text = String::from_utf8_lossy(&raw);
        let (head, content) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head}"));
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase()
                .starts_with("transfer-encoding: chunked")
        });
        let content = if chunked {
            dechunk(content)
        } else {
            content.to_string()
        };
        let json = serde_json::from_str(&content).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// `(account id, key id, key)` of a `mint` key of the demo account (made once), as a game's
    /// backend holds.
    fn mint_key(&self) -> &(String, String, String) {
        self.mint_key.get_or_init(|| {
            let bearer = format!("Bearer {}", self.access_token);
            let (status, me) = self.http_json(
                "GET",
                "/api/v1/auth/me",
                &[("Authorization", &bearer)],
                None,
            );
            assert_eq!(status, 200, "GET /auth/me: {me}");
            let (status, key) = self.http_json(
                "POST",
                "/api/v1/sdk/api-keys",
                &[("Authorization", &bearer)],
                Some(&serde_json::json!({"name": "game backend", "scope": "mint"})),
            );
            assert_eq!(status, 201, "creating a mint key: {key}");
            let text = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
            (text(&me["id"]), text(&key["id"]), text(&key["key"]))
        })
    }

    /// A player token for `user_session_id` minted through the API by the demo account's
    /// `mint` key, as a game's backend does (`ttl_seconds`: 60 to 86400): `(token, expires_at
    /// in unix seconds)`.
    pub(crate) fn player_token(&self, user_session_id: &str, ttl_seconds: u64) -> (String, i64) {
        let (_, _, key) = self.mint_key();
        let (status, body) = self.http_json(
            "POST",
            "/api/v1/sdk/player-tokens",
            &[("X-API-Key", key)],
            Some(&serde_json::json!({
                "user_session_id": user_session_id,
                "ttl_seconds": ttl_seconds,
            })),
        );
        assert_eq!(status, 200, "minting a player token: {body}");
        let token = body["token"].as_str().expect("token").to_string();
        let expires_at = jwt_expiry(&token);
        (token, expires_at)
    }

    /// A player token for `user_session_id` that expires `lifetime` from now — shorter than the
    /// API's minimum, for tests of expiry and refresh timing — signed by the server's own key for
    /// the demo account's `mint` key, so the server takes it like a minted one until it expires:
    /// `(token, expires_at in unix seconds)`.
    pub(crate) fn short_player_token(
        &self,
        user_session_id: &str,
        lifetime: Duration,
    ) -> (String, i64) {
        let (account, key_id, _) = self.mint_key();
        let expires_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
            + lifetime.as_secs().max(1) as i64;
        let token = self.player_tokens.mint(&PlayerGrant {
            account: account.parse().expect("account id"),
            mint_key: key_id.parse().expect("key id"),
            user_session_id: user_session_id.to_string(),
            persona_ids: None,
            expires_at,
        });
        (token, expires_at)
    }

    /// The playthroughs of a persona file stem (`examples/personas/playthroughs/STEM.json`):
    /// `(machine_key, outcome, messages, unlocks)`.
    pub(crate) fn playthroughs(&self, stem: &str) -> Vec<Playthrough> {
        let path = self
            .examples
            .join("playthroughs")
            .join(format!("{stem}.json"));
        let text = std::fs::read_to_string(&path).expect("playthroughs");
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        value
            .as_array()
            .expect("array")
            .iter()
            .map(|p| Playthrough {
                machine_key: p["machine_key"].as_str().unwrap().to_string(),
                outcome: p["outcome"].as_str().unwrap().to_string(),
                messages: p["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap().to_string())
                    .collect(),
                unlocks: p
                    .get("unlocks")
                    .and_then(|u| u.as_array())
                    .map(|u| u.iter().map(|m| m.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            return out;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

/// The `exp` claim of a player token (`pt_` + a JWT), read without checking the signature.
pub(crate) fn jwt_expiry(token: &str) -> i64 {
    let payload = token
        .strip_prefix("pt_")
        .and_then(|jwt| jwt.split('.').nth(1))
        .unwrap_or_else(|| panic!("not a player token: {token:.20}"));
    let claims: serde_json::Value =
        serde_json::from_slice(&base64url_decode(payload)).expect("JSON claims");
    claims["exp"].as_i64().expect("an integer exp")
}

/// A player token that is only a shape: a `pt_` JWT with these claims and a made-up signature.
/// The server refuses it (401 invalid_api_key); the clients read its expiry all the same, which
/// is all that timing tests of their refresh events need.
pub(crate) fn unsigned_player_token(claims: &serde_json::Value) -> String {
    format!(
        "pt_{}.{}.bm90LWEtc2lnbmF0dXJl",
        base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        base64url_encode(claims.to_string().as_bytes())
    )
}

/// Seconds since the epoch, now.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn base64url_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64url_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap_or_else(|_| panic!("not base64url: {text:.40}"))
}

/// The workspace root: the nearest ancestor of the test crate's directory that holds
/// `examples/personas` (test crates sit at different depths, e.g. `bindings/godot`).
pub(crate) fn workspace_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("examples/personas").is_dir())
        .expect("crate inside the workspace")
        .to_path_buf()
}

/// One scripted conversation of `examples/personas/playthroughs`.
#[derive(Debug, Clone)]
pub(crate) struct Playthrough {
    pub machine_key: String,
    pub outcome: String,
    pub messages: Vec<String>,
    pub unlocks: Vec<String>,
}

/// A tiny HTTP/1.1 server on its own thread that answers each request with the next scripted
/// `(status, headers, body)` (the last one repeats) and counts requests.
pub(crate) struct ScriptedServer {
    pub base_url: String,
    pub count: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// One scripted answer.
#[derive(Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Answer {
    pub(crate) fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

impl ScriptedServer {
    pub(crate) fn start(script: Vec<Answer>) -> ScriptedServer {
        use axum::response::IntoResponse;
        assert!(!script.is_empty());
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let (ready_tx, ready_rx) = mpsc::channel::<SocketAddr>();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let script = Arc::new(script);
                let app = axum::Router::new().fallback(move || {
                    let script = script.clone();
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let answer = script[n.min(script.len() - 1)].clone();
                        let mut response = (
                            axum::http::StatusCode::from_u16(answer.status).unwrap(),
                            answer.body,
                        )
                            .into_response();
                        for (name, value) in answer.headers {
                            response.headers_mut().insert(name, value.parse().unwrap());
                        }
                        response
                    }
                });
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = shutdown_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = ready_rx.recv().expect("scripted server started");
        ScriptedServer {
            base_url: format!("http://{addr}"),
            count,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    pub(crate) fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A listener that accepts connections and never answers (nor reads): requests to it hang
/// until their timeout. Dropping it closes everything.
pub(crate) struct SilentServer {
    pub base_url: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    pub(crate) fn start() -> SilentServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((socket, _)) => {
                        held.push(socket);
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        SilentServer {
            base_url: format!("http://{addr}"),
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl SilentServer {
    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
