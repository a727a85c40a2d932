//! quality.md R1: `kill -9` of the real server binary (SQLite in WAL mode) while a player is
//! sending chat turns, several times. Every turn the client saw acknowledged is in the history
//! after the restart, `PRAGMA integrity_check` says ok, and the server is ready again.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Connection;

use crate::common::process::{demo_credentials, free_port, wait_ready};

const ROUNDS: usize = 4;
const SECRET: &str = "crash-test-secret-0123456789abcdef0123456789";

struct Server {
    child: Child,
    base: String,
}

fn start(db: &str, port: u16, demo: bool) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foil-server"));
    if demo {
        cmd.args(["serve", "--demo"]);
    }
    let child = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FOIL_BIND", format!("127.0.0.1:{port}"))
        .env("FOIL_DATABASE_URL", db)
        .env("FOIL_JWT_SECRET", SECRET)
        .env("FOIL_RATE_LIMIT_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start foil-server");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_turns_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("foil.db");
    let db = format!("sqlite://{}", file.display());
    let http = reqwest::Client::new();

    let port = free_port();
    let mut server = start(&db, port, true);
    let (key, persona) = demo_credentials(&mut server.child);
    wait_ready(&http, &format!("{}/readyz", server.base)).await;

    let mut acknowledged: Vec<(String, Vec<String>)> = Vec::new();
    for round in 0..ROUNDS {
        let player = format!("player-{round}");
        let chat = |path: &str| format!("{}/api/v1/sdk/chat/{persona}/{path}", server.base);
        let res = http
            .post(chat("init-session"))
            .header("x-api-key", &key)
            .json(&json!({"user_session_id": player, "player_name": "Ada", "player_gender": "female"}))
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "init: {}",
            res.text().await.unwrap()
        );

        // Send turns back to back; kill -9 lands somewhere in the middle of one of them.
        let sender = {
            let (http, key, url, player) =
                (http.clone(), key.clone(), chat("message"), player.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0.. {
                    let message = format!("hmm, round {round} line {i}?");
                    let res = http
                        .post(&url)
                        .header("x-api-key", &key)
                        .json(&json!({"user_session_id": player, "message": message}))
                        .send()
                        .await;
                    match res {
                        Ok(res) if res.status().is_success() => acked.push(message),
                        _ => break, // killed (or the session ended): stop
                    }
                }
                acked
            })
        };
        tokio::time::sleep(Duration::from_millis(150 + 70 * round as u64)).await;
        server.child.kill().expect("kill -9");
        server.child.wait().unwrap();
        let acked = sender.await.unwrap();
        assert!(
            !acked.is_empty(),
            "round {round}: some turns were acknowledged before the kill"
        );
        acknowledged.push((player, acked));

        let port = free_port();
        server = start(&db, port, false);
        wait_ready(&http, &format!("{}/readyz", server.base)).await;
    }

    // Every acknowledged turn of every round is in its session's history, in order.
    for (player, acked) in &acknowledged {
        let res = http
            .get(format!("{}/api/v1/sdk/chat/{persona}/history", server.base))
            .header("x-api-key", &key)
            .query(&[("user_session_id", player)])
            .send()
            .await
            .unwrap();
        let history: Value = res.json().await.unwrap();
        let user_messages: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert!(
            user_messages.len() >= acked.len()
                && user_messages[..acked.len()]
                    == acked.iter().map(String::as_str).collect::<Vec<_>>()[..],
            "{player}: acknowledged {acked:?}, stored {user_messages:?}"
        );
        // Each stored player message has its reply: turns are all-or-nothing.
        let roles: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles.len() % 2, 1, "greeting + whole turns only: {roles:?}");
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}
