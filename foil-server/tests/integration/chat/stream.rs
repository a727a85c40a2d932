//! `message/stream` (api.md §5): headers, the exact frame layout, `metadata` → `text_delta`s →
//! `done`, deltas that add up to the stored reply — offline and through both provider
//! protocols of the mock.

use axum::http::StatusCode;
use foil_mock_llm::{MockConfig, Reply};
use serde_json::Value;

use super::support::{
    anthropic_headers, chat_persona, eval_answer, mock_app, openai_headers, requests_of, setup,
    start_mock, Player, CHAT_RESPONSE_KEYS, UNLOCKED_MACHINE_KEYS,
};
use crate::common::{keys, parse_sse, sorted, Backend, SseEvent, TestApp, TestResponse};

crate::on_both_databases!(
    offline_stream_frames_and_order,
    mock_stream_openai,
    mock_stream_anthropic,
    stream_errors_before_streaming_are_http_errors
);

/// Checks a finished stream response end to end and returns `done`.
#[track_caller]
pub(crate) fn check_stream(res: &TestResponse) -> (Vec<SseEvent>, Value) {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let content_type = res.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "content-type: {content_type}"
    );
    let cache: Vec<_> = res.headers.get_all("cache-control").iter().collect();
    assert_eq!(cache, ["no-cache"], "exactly one Cache-Control: no-cache");

    let events = parse_sse(&res.text);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert!(events.len() >= 4, "metadata, ≥ 2 deltas, done: {names:?}");
    assert_eq!(names[0], "metadata", "{names:?}");
    assert_eq!(names[names.len() - 1], "done", "{names:?}");
    assert!(
        names[1..names.len() - 1].iter().all(|n| *n == "text_delta"),
        "only text_delta between metadata and done: {names:?}"
    );

    let metadata = &events[0].data;
    let done = events.last().unwrap().data.clone();
    let mut metadata_keys: Vec<&str> = CHAT_RESPONSE_KEYS.to_vec();
    metadata_keys.retain(|k| *k != "message");
    assert_eq!(keys(metadata), sorted(&metadata_keys), "{metadata}");
    assert_eq!(keys(&done), sorted(&CHAT_RESPONSE_KEYS), "{done}");
    for u in done["unlocked_machines"].as_array().unwrap() {
        assert_eq!(keys(u), sorted(&UNLOCKED_MACHINE_KEYS));
    }
    // metadata is the final response without its message: decided before any text.
    let mut without_message = done.clone();
    without_message.as_object_mut().unwrap().remove("message");
    assert_eq!(metadata, &without_message);

    let mut text = String::new();
    for delta in &events[1..events.len() - 1] {
        assert_eq!(keys(&delta.data), ["text"], "{:?}", delta.data);
        let piece = delta.data["text"].as_str().unwrap();
        assert!(!piece.is_empty(), "empty delta");
        text.push_str(piece);
    }
    assert_eq!(
        done["message"],
        text.as_str(),
        "deltas add up to done.message"
    );
    (events, done)
}

/// The last stored message is the streamed reply; the exchange before it is the player's.
async fn assert_stored(app: &TestApp, player: &Player, sent: &str, done: &Value, count: usize) {
    let history = player.history(app).await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), count, "{history}");
    let reply = &messages[count - 1];
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["content"], done["message"]);
    assert_eq!(reply["state_key_at_time"], done["current_state"]);
    assert_eq!(reply["decision"], done["decision"]);
    assert_eq!(messages[count - 2]["role"], "user");
    assert_eq!(messages[count - 2]["content"], sent);
    assert_eq!(history["current_state"], done["current_state"]);
    assert_eq!(history["score"], done["score"]);
}

async fn offline_stream_frames_and_order(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(&app, "stream@example.com", &chat_persona("Streamer", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "streamer");
    player.init(&app).await;

    let res = app.send(player.stream_request("hello there")).await;
    let (_, done) = check_stream(&res);
    assert_eq!(done["decision"], "pass");
    assert_eq!(done["current_state"], "S1");
    assert_stored(&app, &player, "hello there", &done, 3).await;

    // Streaming to the end of the machine: done carries the outcome and the unlocks.
    let res = app.send(player.stream_request("goodbye now")).await;
    let (_, done) = check_stream(&res);
    assert_eq!(done["outcome"], "ACCEPT");
    assert_eq!(done["machine_completed"], true);
    assert_eq!(done["unlocked_machines"][0]["machine_key"], "epilogue");
    assert_stored(&app, &player, "goodbye now", &done, 5).await;

    // The web family streams the same way.
    let web_token = app.signup("stream-web@example.com").await;
    let web = Player::web(&web_token, &s.persona_id, "web-streamer");
    web.init(&app).await;
    let res = app.send(web.stream_request("hello there")).await;
    let (_, done) = check_stream(&res);
    assert_stored(&app, &web, "hello there", &done, 3).await;
}

async fn mock_stream(
    backend: Backend,
    headers: Vec<(&'static str, &'static str)>,
    anthropic: bool,
) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(
        &app,
        "mock-stream@example.com",
        &chat_persona("Mock Streamer", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "mock-streamer").with_headers(&headers);
    player.init(&app).await;

    let chunks = ["Well, ", "well, ", "a ", "traveller ", "at ", "last."];
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    mock.push_reply_for("reply", Reply::chunked(chunks));
    let res = app.send(player.stream_request("hi")).await;
    let (events, done) = check_stream(&res);
    // The provider's deltas come through one by one.
    let deltas: Vec<&str> = events[1..events.len() - 1]
        .iter()
        .map(|e| e.data["text"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, chunks);
    assert_eq!(done["message"], chunks.concat());
    assert_eq!(done["decision"], "pass");
    assert_eq!(done["current_state"], "S1");
    assert_stored(&app, &player, "hi", &done, 3).await;

    let replies = requests_of(&mock, "reply");
    let streamed = replies.last().unwrap();
    assert!(
        streamed.is_stream(),
        "the reply was streamed from the provider"
    );
    let path_end = if anthropic {
        "/messages"
    } else {
        "/chat/completions"
    };
    assert!(streamed.path.ends_with(path_end), "{}", streamed.path);
    assert_eq!(streamed.model(), Some("mock-model"));
    assert_eq!(streamed.api_key(), Some("k-test"));
    let evals = requests_of(&mock, "eval");
    assert_eq!(evals.len(), 1);
    assert!(!evals[0].is_stream());
}

async fn mock_stream_openai(backend: Backend) {
    mock_stream(backend, openai_headers(), false).await
}

async fn mock_stream_anthropic(backend: Backend) {
    mock_stream(backend, anthropic_headers(), true).await
}

async fn stream_errors_before_streaming_are_http_errors(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(
        &app,
        "stream-err@example.com",
        &chat_persona("Stream Errors", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "stream-err");
    // No session yet: an ordinary 404.
    let res = app.send(player.stream_request("hello")).await;
    res.assert_error(StatusCode::NOT_FOUND, "session_not_found");
    player.init(&app).await;
    // Validation: an ordinary 400.
    let res = app.send(player.stream_request("   ")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    // Unknown model: an ordinary 400 before any frame.
    let res = app
        .send(
            player
                .clone()
                .with_headers(&[("x-llm-model", "nosuchprovider/x")])
                .stream_request("hello"),
        )
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "llm_model_unknown");
    // Ended session: an ordinary 409.
    player.say(&app, "hello there").await;
    player.say(&app, "goodbye now").await;
    let res = app.send(player.stream_request("hello")).await;
    res.assert_error(StatusCode::CONFLICT, "session_ended");
}
