//! Concurrency (quality.md R10, personas.md §3): two turns on one session never interleave —
//! the second gets 409 `session_busy`, also across server instances — while turns on different
//! sessions run in parallel without touching each other.

use std::time::Duration;

use axum::http::StatusCode;
use foil_mock_llm::MockConfig;
use futures_util::future::join_all;

use super::support::{
    chat_persona, eval_answer, mock_app, openai_headers, setup, start_mock, Player,
};
use crate::common::{Backend, TestResponse};

crate::on_both_databases!(
    two_messages_at_once_on_one_session,
    busy_session_refuses_restart_and_reset,
    two_instances_share_the_claim,
    a_turn_longer_than_its_claim_keeps_it,
    many_sessions_in_parallel,
);

/// Exactly one 200 and one 409 `session_busy`; returns the 200's body.
#[track_caller]
fn one_wins(a: &TestResponse, b: &TestResponse) -> serde_json::Value {
    let (ok, busy) = match (a.status, b.status) {
        (StatusCode::OK, _) => (a, b),
        (_, StatusCode::OK) => (b, a),
        _ => panic!("neither succeeded: {} / {}", a.text, b.text),
    };
    busy.assert_error(StatusCode::CONFLICT, "session_busy");
    ok.json()
}

async fn two_messages_at_once_on_one_session(backend: Backend) {
    let mock = start_mock(MockConfig::default().with_latency(Duration::from_millis(500))).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(&app, "busy@example.com", &chat_persona("Busy", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "busy").with_headers(&openai_headers());
    player.init(&app).await;

    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let (a, b) = tokio::join!(
        app.send(player.message_request("first")),
        app.send(player.message_request("second")),
    );
    let won = one_wins(&a, &b);
    let history = player.history(&app).await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "exactly one new exchange: {history}");
    assert_eq!(messages[2]["content"], won["message"]);
    assert!(
        ["first", "second"].contains(&messages[1]["content"].as_str().unwrap()),
        "{history}"
    );
    assert_eq!(history["current_state"], "S1");
    assert_eq!(history["score"], 1);

    // A stream and a message at once: the same rule.
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let (a, b) = tokio::join!(
        app.send(player.stream_request("third")),
        app.send(player.message_request("fourth")),
    );
    let (stream_ok, message_ok) = (a.status == StatusCode::OK, b.status == StatusCode::OK);
    assert!(stream_ok ^ message_ok, "one wins: {} / {}", a.text, b.text);
    let loser = if stream_ok { &b } else { &a };
    loser.assert_error(StatusCode::CONFLICT, "session_busy");
    let history = player.history(&app).await;
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        5,
        "{history}"
    );
    assert_eq!(history["outcome"], "ACCEPT");
}

async fn busy_session_refuses_restart_and_reset(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(
        &app,
        "busy-reset@example.com",
        &chat_persona("Busy Reset", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "busy-reset").with_headers(&openai_headers());
    player.init(&app).await;

    mock.push_reply_for(
        "eval",
        eval_answer("pass", Some(0)).with_latency(Duration::from_millis(800)),
    );
    let turn = app.send(player.message_request("hello"));
    let others = async {
        // Once the evaluator call is under way, the turn holds the session.
        assert!(
            mock.wait_for(Duration::from_secs(5), |s| s.in_flight >= 1)
                .await
        );
        let init = app.send(player.init_request("Ada", "female")).await;
        let reset = app.send(player.reset_request()).await;
        let again = app.send(player.message_request("again")).await;
        (init, reset, again)
    };
    let (turn, (init, reset, again)) = tokio::join!(turn, others);
    assert_eq!(turn.status, StatusCode::OK, "{}", turn.text);
    init.assert_error(StatusCode::CONFLICT, "session_busy");
    reset.assert_error(StatusCode::CONFLICT, "session_busy");
    again.assert_error(StatusCode::CONFLICT, "session_busy");
    let history = player.history(&app).await;
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        3,
        "{history}"
    );
    assert_eq!(history["current_state"], "S1");
}

async fn two_instances_share_the_claim(backend: Backend) {
    let mock = start_mock(MockConfig::default().with_latency(Duration::from_millis(500))).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let other = app.second_instance(|_| {}).await;
    let s = setup(
        &app,
        "instances@example.com",
        &chat_persona("Instances", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "instances").with_headers(&openai_headers());
    player.init(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let (a, b) = tokio::join!(
        app.send(player.message_request("via one")),
        other.send(player.message_request("via two")),
    );
    one_wins(&a, &b);
    // Both instances see the one exchange.
    for instance in [&app, &other] {
        let history = player.history(instance).await;
        assert_eq!(
            history["messages"].as_array().unwrap().len(),
            3,
            "{history}"
        );
        assert_eq!(history["current_state"], "S1");
    }
}

/// The claim lasts `turn_claim_ttl_secs` (1 s here) and is renewed while the turn runs: a turn
/// of 1.6 s still holds its session at 1.2 s, so a second message then is refused, and the first
/// turn commits.
async fn a_turn_longer_than_its_claim_keeps_it(backend: Backend) {
    let mock = start_mock(MockConfig::default().with_latency(Duration::from_millis(800))).await;
    let Some(app) = mock_app(backend, &mock, |c| c.turn_claim_ttl_secs = 1).await else {
        return;
    };
    let s = setup(&app, "renew@example.com", &chat_persona("Renew", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "renew").with_headers(&openai_headers());
    player.init(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let late = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        app.send(player.message_request("too soon")).await
    };
    let (first, second) = tokio::join!(app.send(player.message_request("long one")), late);
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    second.assert_error(StatusCode::CONFLICT, "session_busy");
    let history = player.history(&app).await;
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        3,
        "{history}"
    );
}

async fn many_sessions_in_parallel(backend: Backend) {
    const PLAYERS: usize = 10;
    const TURNS: usize = 3;
    let mock = start_mock(MockConfig::default().with_latency(Duration::from_millis(100))).await;
    let Some(app) = mock_app(backend, &mock, |c| c.database_max_connections = 8).await else {
        return;
    };
    let s = setup(&app, "crowd@example.com", &chat_persona("Crowd", true)).await;
    let players: Vec<Player> = (0..PLAYERS)
        .map(|i| {
            Player::sdk(&s.key, &s.persona_id, &format!("crowd-{i}"))
                .with_headers(&openai_headers())
        })
        .collect();

    // Everyone starts at once, then plays TURNS turns (the default evaluator redirects).
    let inits = join_all(
        players
            .iter()
            .map(|p| app.send(p.init_request("P", "male"))),
    )
    .await;
    for res in &inits {
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
    let runs = join_all(players.iter().enumerate().map(|(i, p)| {
        let app = &app;
        async move {
            let mut counts = Vec::new();
            for t in 0..TURNS {
                let res = app
                    .send(p.message_request(&format!("player {i} turn {t}")))
                    .await;
                assert_eq!(
                    res.status,
                    StatusCode::OK,
                    "player {i} turn {t}: {}",
                    res.text
                );
                counts.push(res.json()["redirect_count"].as_i64().unwrap());
            }
            counts
        }
    }))
    .await;
    for (i, counts) in runs.iter().enumerate() {
        assert_eq!(
            counts,
            &[1, 2, 3],
            "player {i}: each session counts only its own turns"
        );
    }

    // Each history holds exactly that player's own messages, in order.
    let session_ids: std::collections::HashSet<String> = inits
        .iter()
        .map(|r| r.json()["session_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(session_ids.len(), PLAYERS, "one session per player");
    for (i, p) in players.iter().enumerate() {
        let history = p.history(&app).await;
        let said: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..TURNS).map(|t| format!("player {i} turn {t}")).collect();
        assert_eq!(said, expected, "player {i}");
        assert_eq!(history["messages"].as_array().unwrap().len(), 1 + 2 * TURNS);
    }
}
