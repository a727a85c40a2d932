//! Streams cannot pile up (issue 13): a client that stops reading is dropped after
//! `stream_send_timeout_secs` (the turn rolled back, the session free again); open streams are
//! capped per API key and per account (429 + Retry-After); and open streams count towards
//! `max_in_flight`.

use std::time::Duration;

use axum::http::StatusCode;
use foil_mock_llm::{MockConfig, Reply};

use super::support::{chat_persona, mock_app, openai_headers, setup, start_mock, Player};
use crate::common::{Backend, TestRequest};

crate::on_both_databases!(
    a_reader_that_stalls_is_dropped_and_rolled_back,
    open_streams_are_capped_per_key_and_account,
);

/// A reply of `n` small deltas.
fn long_reply(n: usize) -> Reply {
    Reply::chunked((0..n).map(|i| format!("word{i} ")))
}

async fn a_reader_that_stalls_is_dropped_and_rolled_back(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| c.stream_send_timeout_secs = 1).await else {
        return;
    };
    let s = setup(&app, "stall@example.com", &chat_persona("Stall", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "stall").with_headers(&openai_headers());
    player.init(&app).await;
    let (before_history, _) = player.snapshot(&app).await;
    // More deltas than the stream's buffer holds: the sender must wait for the reader.
    mock.push_reply_for("reply", long_reply(200));
    let stalled = app
        .open(player.stream_request("tell me a long story"))
        .await;
    assert_eq!(stalled.status, StatusCode::OK);
    // The reader never reads. After the deadline the turn is rolled back and the session freed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (after_history, _) = player.snapshot(&app).await;
    assert_eq!(
        after_history, before_history,
        "nothing of the stalled turn was stored"
    );
    let res = app.send(player.message_request("hello again")).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the session is not busy: {}",
        res.text
    );
    drop(stalled);
}

async fn open_streams_are_capped_per_key_and_account(backend: Backend) {
    // Slow deltas keep the streams open while the test looks.
    let mock = start_mock(MockConfig::default().with_chunk_delay(Duration::from_millis(200))).await;
    let Some(app) = mock_app(backend, &mock, |c| {
        c.max_streams_per_key = 2;
        c.max_streams_per_account = 3;
        c.max_in_flight = 4;
    })
    .await
    else {
        return;
    };
    let s = setup(&app, "caps@example.com", &chat_persona("Caps", true)).await;
    let other_key = app.create_key(&s.token).await;
    let players: Vec<Player> = (0..4)
        .map(|i| {
            let key = if i < 3 { &s.key } else { &other_key };
            Player::sdk(key, &s.persona_id, &format!("cap{i}")).with_headers(&openai_headers())
        })
        .collect();
    for p in &players {
        p.init(&app).await;
    }
    let mut open = Vec::new();
    for p in &players[..2] {
        mock.push_reply_for("reply", long_reply(100));
        let res = app.open(p.stream_request("talk")).await;
        assert_eq!(res.status, StatusCode::OK);
        open.push(res);
    }
    // A third stream on the same key: refused before anything runs.
    let third = app.send(players[2].stream_request("talk")).await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text
    );
    assert_eq!(third.headers["retry-after"], "1");
    // Another key of the account may open one (the account's third) ...
    mock.push_reply_for("reply", long_reply(100));
    let res = app.open(players[3].stream_request("talk")).await;
    assert_eq!(res.status, StatusCode::OK);
    open.push(res);
    // ... and the account is now at its cap of 3, whichever key asks.
    let listed = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&other_key))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let fourth = app.send(players[3].stream_request("again")).await;
    assert_eq!(
        fourth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        fourth.text
    );
    // Open streams hold in-flight slots (4 here): a client that leaves frees its slots.
    drop(open.pop()); // the other key's stream
    tokio::time::sleep(Duration::from_millis(500)).await;
    let web = Player::web(&s.token, &s.persona_id, "web-cap").with_headers(&openai_headers());
    web.init(&app).await;
    mock.push_reply_for("reply", long_reply(100));
    let web_stream = app.open(web.stream_request("talk")).await;
    assert_eq!(
        web_stream.status,
        StatusCode::OK,
        "the freed account slot is usable again"
    );
    // Three streams open; one more request in flight fills the four slots ...
    let held = app.open(TestRequest::get("/healthz")).await;
    assert_eq!(held.status, StatusCode::OK);
    // ... so the next is shed.
    app.send(TestRequest::get("/healthz"))
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded");
    drop(held);
    let res = app.send(TestRequest::get("/healthz")).await;
    assert_eq!(res.status, StatusCode::OK, "a finished body frees its slot");
    drop(open);
    drop(web_stream);
}
