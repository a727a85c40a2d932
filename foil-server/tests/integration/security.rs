//! Abuse and trust (issue 13) through the real router, on SQLite and PostgreSQL: self-issued
//! tokens are not Supabase tokens, progress migration needs proof, anonymous users cannot
//! create or generate, keys per account are capped, failed-auth floods are throttled before the
//! database, and `/metrics` stays bounded whatever arrives.

use crate::common::{sample_persona, supabase_token, Backend, TestApp, TestRequest, JWT_SECRET};
use axum::http::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    self_issued_tokens_are_not_supabase_tokens,
    signup_is_off_on_supabase_deployments_unless_enabled,
    migrate_progress_moves_only_what_the_caller_proves,
    anonymous_users_cannot_create_or_generate,
    api_keys_per_account_are_capped,
);

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn self_issued_tokens_are_not_supabase_tokens(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let token = app.signup("own@example.com").await;
    assert_eq!(payload(&token)["iss"], "foil-server");
    // What Supabase's own services would check: an HS256 signature under the project secret.
    let mut supabase = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    supabase.set_audience(&["authenticated"]);
    let verdict = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &supabase,
    );
    assert!(verdict.is_err(), "Supabase would accept our token");
    // Ours still work here, and so do Supabase's.
    let me = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&token))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let supabase_user = uuid::Uuid::new_v4().to_string();
    let me = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&supabase_token(&supabase_user, false)))
        .await;
    assert_eq!(me.json()["id"], supabase_user);
}

async fn signup_is_off_on_supabase_deployments_unless_enabled(backend: Backend) {
    let signup = |email: &str| {
        TestRequest::post("/api/v1/auth/signup")
            .json(&json!({"email": email, "password": "a long password"}))
    };
    let Some(app) = TestApp::with_config(backend, |c| {
        c.supabase_url = Some("https://demo.supabase.co".into());
    })
    .await
    else {
        return;
    };
    app.send(signup("a@example.com"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "self_signup_disabled");
    app.send(
        TestRequest::post("/api/v1/auth/login")
            .json(&json!({"email": "a@example.com", "password": "a long password"})),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "self_signup_disabled");
    // Supabase users are served as before.
    let me = app
        .send(
            TestRequest::get("/api/v1/auth/me")
                .bearer(&supabase_token(&uuid::Uuid::new_v4().to_string(), false)),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);

    let Some(app) = TestApp::with_config(backend, |c| {
        c.supabase_url = Some("https://demo.supabase.co".into());
        c.self_signup = Some(true);
    })
    .await
    else {
        return;
    };
    let res = app.send(signup("b@example.com")).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "explicitly enabled: {}",
        res.text
    );
}

/// Inserts a web-chat session owned by `owner` under `user_session_id`.
async fn web_session(app: &TestApp, owner: uuid::Uuid, persona: &str, user_session_id: &str) {
    let machine: String = sqlx::query_scalar("SELECT id FROM machines WHERE persona_id = $1")
        .bind(persona)
        .fetch_one(app.ctx.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO chat_sessions (id, scope, persona_id, machine_id, user_session_id, player_name, \
         player_gender, current_state, started_at, last_active_at) \
         VALUES ($1, $2, $3, $4, $5, 'P', 'female', 'S0', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(format!("web:{owner}"))
    .bind(persona)
    .bind(machine)
    .bind(user_session_id)
    .execute(app.ctx.db.pool())
    .await
    .unwrap();
}

async fn migrate_progress_moves_only_what_the_caller_proves(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let creator = app.signup("mp@example.com").await;
    let persona = app
        .save_persona(&creator, &sample_persona("Migrate", true))
        .await;
    let (mine, other_anon, named, me) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    // Users are created on first sight of their token.
    for (id, anonymous) in [(mine, true), (other_anon, true), (named, false)] {
        let res = app
            .send(
                TestRequest::get("/api/v1/auth/me")
                    .bearer(&supabase_token(&id.to_string(), anonymous)),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
    for owner in [mine, other_anon, named] {
        web_session(&app, owner, &persona, "old-session").await;
    }
    let token = supabase_token(&me.to_string(), false);
    let migrate = |body: Value| {
        TestRequest::post("/api/v1/auth/migrate-progress")
            .bearer(&token)
            .json(&body)
    };
    // A bare session id proves nothing and moves nothing.
    let res = app
        .send(migrate(json!({"old_session_id": "old-session"})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json(), json!({"migrated_sessions": 0}));
    // A token that is not an anonymous user's is no proof.
    for bad in [
        supabase_token(&named.to_string(), false),
        "not-a-token".to_string(),
    ] {
        app.send(migrate(
            json!({"old_session_id": "old-session", "anonymous_token": bad}),
        ))
        .await
        .assert_error(StatusCode::FORBIDDEN, "invalid_anonymous_token");
    }
    // The anonymous player's own token moves that player's session only.
    let proof = supabase_token(&mine.to_string(), true);
    let res = app
        .send(migrate(
            json!({"old_session_id": "old-session", "anonymous_token": proof}),
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json(), json!({"migrated_sessions": 1}));
    let scopes: Vec<String> = sqlx::query_scalar("SELECT scope FROM chat_sessions ORDER BY scope")
        .fetch_all(app.ctx.db.pool())
        .await
        .unwrap();
    let mut expected = vec![
        format!("web:{me}"),
        format!("web:{other_anon}"),
        format!("web:{named}"),
    ];
    expected.sort();
    assert_eq!(scopes, expected, "nobody else's session moved");
    let res = app
        .send(migrate(
            json!({"old_session_id": "old-session", "anonymous_token": proof}),
        ))
        .await;
    assert_eq!(res.json(), json!({"migrated_sessions": 0}), "nothing left");
    // Anonymous callers cannot take over anything.
    app.send(
        TestRequest::post("/api/v1/auth/migrate-progress")
            .bearer(&supabase_token(&other_anon.to_string(), true))
            .json(&json!({"old_session_id": "old-session", "anonymous_token": proof})),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "anonymous_user");
}

async fn anonymous_users_cannot_create_or_generate(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let anon = supabase_token(&uuid::Uuid::new_v4().to_string(), true);
    for request in [
        TestRequest::post("/api/v1/sdk/api-keys").json(&json!({"name": "game"})),
        TestRequest::post("/api/v1/creator/save").json(&sample_persona("Anon", true)),
        TestRequest::post("/api/v1/creator/generate/persona").json(&json!({"brief": "a smith"})),
        TestRequest::post("/api/v1/creator/generate/machine")
            .json(&json!({"brief": "sell a sword", "identity": "A smith."})),
        TestRequest::post("/api/v1/creator/polish")
            .json(&json!({"text": "hello", "field": "description"})),
    ] {
        let path = request.path.clone();
        let res = app.send(request.bearer(&anon)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.text);
        assert_eq!(res.json()["error"]["code"], "anonymous_user", "{path}");
    }
    // Reading stays open to them: the public persona list and their own (empty) key list.
    let res = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&anon))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    // A named user gets past the same checks.
    let named = supabase_token(&uuid::Uuid::new_v4().to_string(), false);
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&named)
                .json(&sample_persona("Named", true)),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
}

async fn api_keys_per_account_are_capped(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| c.max_api_keys_per_account = 3).await else {
        return;
    };
    let token = app.signup("keys@example.com").await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(app.create_key(&token).await);
    }
    let create = || {
        TestRequest::post("/api/v1/sdk/api-keys")
            .bearer(&token)
            .json(&json!({"name": "one too many"}))
    };
    app.send(create())
        .await
        .assert_error(StatusCode::CONFLICT, "api_key_limit");
    // Another account has its own allowance.
    let other = app.signup("other@example.com").await;
    app.create_key(&other).await;
    // Revoking one makes room for one.
    let list = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&token))
        .await
        .json();
    let id = list[0]["id"].as_str().unwrap();
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/sdk/api-keys/{id}")).bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send(create()).await.status, StatusCode::CREATED);
    app.send(create())
        .await
        .assert_error(StatusCode::CONFLICT, "api_key_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_stay_bounded_whatever_arrives() {
    // The metrics registry is process-wide: other tests' requests must not be counted here.
    if !crate::common::alone_in_process(
        module_path!(),
        "metrics_labels_stay_bounded_whatever_arrives",
    ) {
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    for i in 0..1000 {
        let method = axum::http::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let path = match i % 3 {
            0 => format!("/made-up-{i}"),
            1 => format!("/api/v1/personas/{}", uuid::Uuid::new_v4()),
            _ => format!("/api/v1/nothing-{i}/here"),
        };
        app.send(TestRequest::new(method, &path)).await;
        app.send(TestRequest::get(&format!("/api/v1/made-up-{i}")))
            .await;
    }
    let metrics = app.send(TestRequest::get("/metrics")).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        !metrics.text.contains("MADEUP") && !metrics.text.contains("made-up"),
        "request-chosen values became labels"
    );
    let series = |method: &str| {
        metrics
            .text
            .lines()
            .filter(|l| {
                l.starts_with("foil_http_requests_total{")
                    && l.contains(&format!("method=\"{method}\""))
            })
            .count()
    };
    assert!(
        series("other") >= 1,
        "made-up methods are counted as `other`"
    );
    assert!(
        series("other") <= 4,
        "a few (route, status) pairs at most:\n{}",
        metrics.text
    );
    // Personas by id share one route template, whatever the id.
    assert!(
        !metrics.text.lines().any(|l| l.contains("/api/v1/personas/")
            && !l.contains("{id}")
            && l.starts_with("foil_http_requests_total{"))
    );
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// RSS is the whole process's: the other tests of this binary, running in parallel, allocate
/// too. So the test runs alone in a child process.
#[test]
fn concurrent_logins_cannot_exhaust_memory() {
    if !crate::common::alone_in_process(module_path!(), "concurrent_logins_cannot_exhaust_memory") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(login_flood());
}

async fn login_flood() {
    if !std::path::Path::new("/proc/self/status").exists() {
        println!("SKIP: no /proc to read memory from");
        return;
    }
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    app.signup("many@example.com").await;
    let before = rss_kib();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let logins = (0..200).map(|_| {
        app.send(TestRequest::post("/api/v1/auth/login").json(
            &json!({"email": "many@example.com", "password": "correct horse battery staple"}),
        ))
    });
    let answers = futures_util::future::join_all(logins).await;
    sampler.abort();
    let (mut ok, mut busy) = (0, 0);
    for res in &answers {
        match res.status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(res.json()["error"]["code"], "overloaded");
                assert!(res.headers.contains_key("retry-after"));
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", res.text),
        }
    }
    assert!(ok >= 2, "the queue serves some: {ok} ok, {busy} busy");
    let growth_mib = (peak.load(std::sync::atomic::Ordering::Relaxed) - before) / 1024;
    println!("RSS growth {growth_mib} MiB ({ok} ok, {busy} busy)");
    assert!(growth_mib < 200, "RSS grew by {growth_mib} MiB");
    // Once the burst is over, logins are served again.
    let res = app
        .send(TestRequest::post("/api/v1/auth/login").json(
            &json!({"email": "many@example.com", "password": "correct horse battery staple"}),
        ))
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "after the burst ({ok} ok, {busy} busy): {}",
        res.text
    );
}

/// Serves `app` on a loopback port through the real accept loop; returns its address.
async fn serve_on_loopback(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(foil_server::server::run(
        listener,
        app.ctx.clone(),
        std::future::pending(),
    ));
    addr
}

/// Reads what the server sends until it closes the connection or `limit` passes.
async fn read_for(stream: &mut tokio::net::TcpStream, limit: std::time::Duration) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut received = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_bodies_get_408_and_free_their_slot() {
    use tokio::io::AsyncWriteExt as _;
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| {
        c.body_read_timeout_secs = 1;
        c.max_in_flight = 1;
    })
    .await
    else {
        return;
    };
    let addr = serve_on_loopback(&app).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 200\r\n\r\n{",
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    // One byte a second, for longer than the timeout.
    let trickle = tokio::spawn(async move {
        for _ in 0..10 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let started = std::time::Instant::now();
    let mut head = [0u8; 64];
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut reader, &mut head),
    )
    .await
    .expect("an answer within the timeout")
    .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    trickle.abort();
    // The only in-flight slot is free again.
    let res = reqwest::get(format!("http://{addr}/api/v1/personas"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_request_heads_are_disconnected() {
    use tokio::io::AsyncWriteExt as _;
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| c.header_read_timeout_secs = 1).await
    else {
        return;
    };
    let addr = serve_on_loopback(&app).await;
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_for(&mut slow, std::time::Duration::from_secs(5)).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "still connected after {:?}",
        started.elapsed()
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A prompt client is served as usual.
    let res = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_requests_end_with_408() {
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| c.request_timeout_secs = 1).await
    else {
        return;
    };
    let token = app.signup("stuck@example.com").await;
    // Someone else holds SQLite's write lock longer than the request may take.
    let held = app.ctx.db.begin_write().await.unwrap();
    let started = std::time::Instant::now();
    app.send(
        TestRequest::post("/api/v1/sdk/api-keys")
            .bearer(&token)
            .json(&json!({"name": "late"})),
    )
    .await
    .assert_error(StatusCode::REQUEST_TIMEOUT, "request_timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    drop(held);
    // Nothing half-done stayed behind.
    let keys = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&token))
        .await
        .json();
    assert_eq!(keys, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token() {
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| {
        c.metrics_token = Some("scrape-me".into())
    })
    .await
    else {
        return;
    };
    for request in [
        TestRequest::get("/metrics"),
        TestRequest::get("/metrics").bearer("scrape-you"),
    ] {
        app.send(request)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let res = app
        .send(TestRequest::get("/metrics").bearer("scrape-me"))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text.contains("foil_http_requests_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_ollama_only_when_configured() {
    let polish = |token: &str| {
        TestRequest::post("/api/v1/creator/polish")
            .bearer(token)
            .header("x-llm-model", "ollama/llama3.2")
            .json(&json!({"text": "hello", "field": "description"}))
    };
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let token = app.signup("ollama@example.com").await;
    app.send(polish(&token))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "llm_model_unknown");
    // Configured, it is called (here: nothing listens, so the provider fails upstream).
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| {
        c.providers.insert(
            "ollama".into(),
            foil_server::config::ProviderSettings {
                base_url: Some("http://127.0.0.1:1/v1".into()),
                ..Default::default()
            },
        );
    })
    .await
    else {
        return;
    };
    let token = app.signup("ollama@example.com").await;
    let res = app.send(polish(&token)).await;
    assert!(res.status.is_server_error(), "{} {}", res.status, res.text);
}
