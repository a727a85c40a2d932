//! Several instances, one PostgreSQL, one Redis, behind nginx (`deploy/nginx/foil-engine.conf`,
//! the configuration `docs/deploy.md` gives): three real `foil-server` processes started at once
//! on a fresh database (so their migrations race), and the guarantees a multi-instance
//! deployment needs — a session continues on any instance, one turn at a time across instances,
//! rate limits shared, a persona saved on one instance served by the others, an instance killed
//! mid-run losing no acknowledged turn while the others keep serving (and its half-done turn
//! freeing its session within the claim's lifetime), and Redis going away falling back to
//! per-instance limits.
//!
//! Needs PostgreSQL (`FOIL_TEST_POSTGRES_URL`), Redis (`FOIL_TEST_REDIS_URL`) and nginx; skips
//! with a reason without them unless `FOIL_TEST_REQUIRE_SERVICES=1`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use foil_mock_llm::{MockConfig, MockLlm};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::chat::support::{openai_headers, start_mock};
use crate::common::process::{demo_credentials, free_port, wait_ready};
use crate::common::{postgres_schema_url, services_required};

const SECRET: &str = "scale-out-secret-0123456789abcdef0123456789";
const PEPPER: &str = "scale-out-pepper-0123456789abcdef";
/// Per-IP allowance of the general category, small enough to exceed quickly.
const GENERAL_PER_MINUTE: usize = 20;
/// The turn claim's lifetime: short, so the killed instance's turn frees its session quickly.
const CLAIM_TTL_SECS: u64 = 3;

fn skip(reason: &str) -> bool {
    if services_required() {
        panic!("required (FOIL_TEST_REQUIRE_SERVICES=1) but unavailable: {reason}");
    }
    eprintln!("SKIP scale_out: {reason}");
    true
}

fn redis_url() -> String {
    std::env::var("FOIL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn nginx_binary() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(str::to_string)
}

/// One foil-server process.
struct Instance {
    child: Child,
    port: u16,
    base: String,
}

impl Instance {
    fn start(database: &str, redis: &str, prefix: &str, mock: &MockLlm, demo: bool) -> Instance {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_foil-server"));
        cmd.arg("serve");
        if demo {
            cmd.arg("--demo");
        }
        let child = cmd
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("FOIL_BIND", format!("127.0.0.1:{port}"))
            .env("FOIL_DATABASE_URL", database)
            .env("FOIL_DATABASE_MAX_CONNECTIONS", "4")
            .env("FOIL_REDIS_URL", redis)
            .env("FOIL_REDIS_KEY_PREFIX", prefix)
            .env("FOIL_REDIS_TIMEOUT_MS", "200")
            .env("FOIL_JWT_SECRET", SECRET)
            .env("FOIL_API_KEY_PEPPER", PEPPER)
            .env("FOIL_TRUSTED_PROXIES", "127.0.0.1/32")
            .env("FOIL_PROVIDER_OPENAI_BASE_URL", mock.openai_base_url())
            .env(
                "FOIL_RATE_LIMIT_GENERAL_PER_MINUTE",
                GENERAL_PER_MINUTE.to_string(),
            )
            .env("FOIL_RATE_LIMIT_SDK_CHAT_PER_MINUTE", "100000")
            .env("FOIL_RATE_LIMIT_SDK_GENERAL_PER_MINUTE", "100000")
            .env("FOIL_TURN_CLAIM_TTL_SECS", CLAIM_TTL_SECS.to_string())
            .env("RUST_LOG", "warn")
            .stdout(if demo { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::null())
            .spawn()
            .expect("start foil-server");
        Instance {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// nginx with `deploy/nginx/foil-engine.conf`, its example ports replaced by ours.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(binary: &str, instances: &[&Instance]) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let site = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/nginx/foil-engine.conf"
        ))
        .expect("deploy/nginx/foil-engine.conf");
        assert_eq!(instances.len(), 3, "the file lists three instances");
        let port = free_port();
        let mut site = site.replace(
            "listen 127.0.0.1:8000;",
            &format!("listen 127.0.0.1:{port};"),
        );
        for (i, instance) in instances.iter().enumerate() {
            let example = format!("server 127.0.0.1:{} ", 8001 + i);
            assert!(site.contains(&example), "{example} in the file");
            site = site.replace(&example, &format!("server 127.0.0.1:{} ", instance.port));
        }
        let root = dir.path().display().to_string();
        std::fs::write(dir.path().join("foil-engine.conf"), site).unwrap();
        // The smallest main file around it, everything under the temporary directory.
        let main = format!(
            "worker_processes 1;\nerror_log {root}/error.log warn;\npid {root}/nginx.pid;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  \
             proxy_temp_path {root}/proxy;\n  fastcgi_temp_path {root}/fastcgi;\n  \
             uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n  \
             include {root}/foil-engine.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(binary)
            .args(["-p", &root, "-c", &format!("{root}/nginx.conf")])
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A player of the demo persona, talking through whichever base URL it is given.
struct Player<'a> {
    http: &'a reqwest::Client,
    key: &'a str,
    persona: &'a str,
    id: String,
}

impl Player<'_> {
    fn url(&self, base: &str, path: &str) -> String {
        format!("{base}/api/v1/sdk/chat/{}/{path}", self.persona)
    }

    fn post(&self, base: &str, path: &str, body: Value) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(self.url(base, path))
            .header("x-api-key", self.key)
            .json(&body);
        for (name, value) in openai_headers() {
            req = req.header(name, value);
        }
        req
    }

    async fn init(&self, base: &str) {
        let body =
            json!({"user_session_id": self.id, "player_name": "Ada", "player_gender": "female"});
        let res = self.post(base, "init-session", body).send().await.unwrap();
        assert!(
            res.status().is_success(),
            "init: {}",
            res.text().await.unwrap()
        );
    }

    /// One turn; the status and the body.
    async fn say(&self, base: &str, text: &str) -> (StatusCode, Value) {
        let body = json!({"user_session_id": self.id, "message": text});
        match self.post(base, "message", body).send().await {
            Ok(res) => {
                let status = res.status();
                (status, res.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (StatusCode::BAD_GATEWAY, Value::Null),
        }
    }

    /// The player's lines in the session's history.
    async fn lines(&self, base: &str) -> Vec<String> {
        let res = self
            .http
            .get(format!(
                "{}?user_session_id={}",
                self.url(base, "history"),
                self.id
            ))
            .header("x-api-key", self.key)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let history: Value = res.json().await.unwrap();
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| m["content"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx() {
    let Some(nginx) = nginx_binary() else {
        skip("nginx is not installed (apt-get install nginx)");
        return;
    };
    let Some(database) = postgres_schema_url().await else {
        return;
    };
    let redis = redis_url();
    if redis::Client::open(redis.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .is_err()
        && skip(&format!("Redis unavailable at {redis}"))
    {
        return;
    }
    let http = reqwest::Client::new();
    // Every turn takes a while (two LLM calls of 150 ms), so turns on two instances overlap.
    let mock = start_mock(MockConfig::default().with_latency(Duration::from_millis(150))).await;
    let prefix = format!("foil-scale-{}", uuid::Uuid::new_v4().simple());

    // Three instances on a fresh database at once: their migrations race.
    let mut instances: Vec<Instance> = (0..3)
        .map(|i| Instance::start(&database, &redis, &prefix, &mock, i == 0))
        .collect();
    let (key, persona) = demo_credentials(&mut instances[0].child);
    for instance in &instances {
        wait_ready(&http, &format!("{}/readyz", instance.base)).await;
    }
    let lb = Nginx::start(&nginx, &instances.iter().collect::<Vec<_>>());
    wait_ready(&http, &format!("{}/nginx-health", lb.base)).await;
    wait_ready(&http, &format!("{}/readyz", lb.base)).await;
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let player = |id: &str| Player {
        http: &http,
        key: &key,
        persona: &persona,
        id: id.to_string(),
    };

    // A session started on one instance continues on every other, and through nginx.
    let walker = player("walker");
    walker.init(&bases[0]).await;
    for (i, base) in bases.iter().chain([&lb.base]).enumerate() {
        let (status, body) = walker.say(base, &format!("line {i}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(
        walker.lines(&bases[2]).await,
        ["line 0", "line 1", "line 2", "line 3"]
    );

    // One turn at a time per session, across instances.
    let racer = player("racer");
    racer.init(&lb.base).await;
    let (a, b) = tokio::join!(
        racer.say(&bases[1], "from one"),
        racer.say(&bases[2], "from two")
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let busy = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(busy["error"]["code"], "session_busy", "{busy}");
    assert_eq!(racer.lines(&bases[0]).await.len(), 1);

    // A persona saved through one instance is served by the others, old or new.
    let token = signup(&http, &bases[0], "scale-out@example.com").await;
    let doc = crate::common::sample_persona("Scaled", true);
    let saved = creator_save(&http, &bases[1], &token, &doc, None).await;
    let mut renamed = doc.clone();
    renamed["persona"]["name"] = json!("Scaled Again");
    let replaced = creator_save(&http, &bases[2], &token, &renamed, Some(&saved)).await;
    assert_eq!(replaced, saved);
    for base in &bases {
        let res = http
            .get(format!("{base}/api/v1/personas/{saved}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["name"], "Scaled Again", "{base}: {body}");
    }

    // The per-IP limit holds across instances: Redis is the one bucket.
    let accepted = count_accepted(&http, &lb.base, 3 * GENERAL_PER_MINUTE).await;
    assert!(
        (GENERAL_PER_MINUTE / 2..=GENERAL_PER_MINUTE + 2).contains(&accepted),
        "{accepted} accepted through three instances (limit {GENERAL_PER_MINUTE})"
    );

    // Kill one instance in the middle of a run: every acknowledged turn is kept, and the
    // others keep serving.
    let players: Vec<Player> = (0..4).map(|i| player(&format!("runner-{i}"))).collect();
    for p in &players {
        p.init(&lb.base).await;
    }
    let victim = &mut instances[1];
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
    };
    let (results, ()) = tokio::join!(
        futures_util::future::join_all(players.iter().map(|p| run(p, &lb.base, 12))),
        killer
    );
    for (p, (acknowledged, failures)) in players.iter().zip(&results) {
        let lines = p.lines(&lb.base).await;
        for line in acknowledged {
            assert!(
                lines.contains(line),
                "{}: acknowledged {line} lost: {lines:?}",
                p.id
            );
        }
        // What may fail: the one turn in flight on the killed instance (nginx answers 502),
        // then `session_busy` while that turn's claim lives on (at most its lifetime).
        let lost = failures
            .iter()
            .filter(|(status, _)| *status == StatusCode::BAD_GATEWAY)
            .count();
        assert!(lost <= 1, "{}: {failures:?}", p.id);
        for (status, code) in failures {
            assert!(
                *status == StatusCode::BAD_GATEWAY
                    || (*status == StatusCode::CONFLICT && code == "session_busy"),
                "{}: {failures:?}",
                p.id
            );
        }
        assert!(
            lost == 1 || failures.is_empty(),
            "{}: busy without a lost turn: {failures:?}",
            p.id
        );
        assert!(!acknowledged.is_empty(), "{}: nothing acknowledged", p.id);
    }
    let total: usize = results.iter().map(|(a, _)| a.len()).sum();
    assert!(
        total >= 4 * 12 / 2,
        "{total} of 48 turns acknowledged: {results:?}"
    );
    // After the kill, and once any claim of a turn lost with it has lapsed, every player's
    // turns go through the two instances left.
    tokio::time::sleep(Duration::from_secs(CLAIM_TTL_SECS + 1)).await;
    for p in &players {
        let (status, body) = p.say(&lb.base, "still there?").await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", p.id);
    }

    // Redis away: the instances fall back to their own limits (documented), the API stays up.
    let prefix_gone = Instance::start(&database, "redis://127.0.0.1:1", &prefix, &mock, false);
    wait_ready(&http, &format!("{}/readyz", prefix_gone.base)).await;
    let fallback = count_accepted(&http, &prefix_gone.base, GENERAL_PER_MINUTE + 10).await;
    assert_eq!(
        fallback, GENERAL_PER_MINUTE,
        "an instance without Redis limits on its own"
    );
}

/// `turns` turns of `p` through `base`, one after the other: the lines acknowledged (200) and
/// the failures (status and error code).
async fn run(p: &Player<'_>, base: &str, turns: usize) -> (Vec<String>, Vec<(StatusCode, Value)>) {
    let mut acknowledged = Vec::new();
    let mut failures = Vec::new();
    for t in 0..turns {
        let line = format!("{} turn {t}", p.id);
        let (status, body) = p.say(base, &line).await;
        if status == StatusCode::OK {
            acknowledged.push(line);
        } else {
            failures.push((status, body["error"]["code"].clone()));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    (acknowledged, failures)
}

/// Sends `n` requests to a route of the general category as fast as possible; how many got
/// through (the rest must be 429).
async fn count_accepted(http: &reqwest::Client, base: &str, n: usize) -> usize {
    let mut accepted = 0;
    for _ in 0..n {
        let res = http
            .get(format!("{base}/api/v1/dashboard/config"))
            .send()
            .await
            .unwrap();
        match res.status() {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    accepted
}

async fn signup(http: &reqwest::Client, base: &str, email: &str) -> String {
    let res = http
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("signup: {body}"))
        .to_string()
}

/// Saves a persona (a new one, or replaces `existing`); its id.
async fn creator_save(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    doc: &Value,
    existing: Option<&str>,
) -> String {
    let query = existing.map_or(String::new(), |id| format!("?persona_id={id}"));
    let res = http
        .post(format!("{base}/api/v1/creator/save{query}"))
        .bearer_auth(token)
        .json(doc)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert!(status.is_success(), "save: {status} {body}");
    body["id"].as_str().unwrap().to_string()
}
