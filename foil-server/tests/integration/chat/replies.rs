//! What real models answer as the NPC (issue 15), played by the mock over the real wire
//! protocol: an empty reply, evaluator JSON leaking into the reply and a model speaking "as an
//! AI" are asked for again once (then the offline line for the state is used), and long
//! replies end at a sentence near `max_reply_chars` — whole and streamed.

use foil_mock_llm::{MockLlm, Reply};
use serde_json::Value;

use super::stream::check_stream;
use super::support::{
    chat_persona, mock_app, openai_headers, requests_of, setup, start_mock, Player, DEFAULT_REPLY,
};
use crate::common::{Backend, TestApp};

crate::on_both_databases!(
    unusable_replies_are_asked_again_once,
    twice_unusable_replies_become_the_fallback_line,
    long_replies_end_at_a_sentence,
);

const LONG: &str = "The road was long and the rain was cold. I sold my last lantern in Greywater. \
    Now I carry only tea and stories, and the stories are mostly lies. Sit, sit, and tell me yours.";

async fn app_with(backend: Backend, mock: &MockLlm, user: &str) -> Option<(TestApp, Player)> {
    let app = mock_app(backend, mock, |c| c.max_reply_chars = 80).await?;
    let s = setup(
        &app,
        &format!("{user}@example.com"),
        &chat_persona("Guarded", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, user).with_headers(&openai_headers());
    player.init(&app).await;
    mock.clear_requests();
    Some((app, player))
}

async fn plain(app: &TestApp, player: &Player) -> Value {
    let res = app.send(player.message_request("hello")).await;
    assert_eq!(res.status.as_u16(), 200, "{}", res.text);
    res.json()
}

async fn streamed(app: &TestApp, player: &Player) -> Value {
    check_stream(&app.send(player.stream_request("hello")).await).1
}

async fn unusable_replies_are_asked_again_once(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some((app, player)) = app_with(backend, &mock, "guard-retry").await else {
        return;
    };
    let unusable = [
        Reply::text("   "),
        Reply::text("{\"decision\": \"pass\", \"transition_index\": 0, \"reason\": \"ok\"}"),
        Reply::text("As an AI language model, I cannot pour tea for you."),
    ];
    for (i, bad) in unusable.iter().enumerate() {
        for stream in [false, true] {
            mock.clear_requests();
            mock.push_reply_for("reply", bad.clone());
            let done = if stream {
                streamed(&app, &player).await
            } else {
                plain(&app, &player).await
            };
            assert_eq!(done["message"], DEFAULT_REPLY, "case {i}, stream {stream}");
            assert_eq!(
                requests_of(&mock, "reply").len(),
                2,
                "case {i}, stream {stream}: asked again once"
            );
        }
    }
}

async fn twice_unusable_replies_become_the_fallback_line(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some((app, player)) = app_with(backend, &mock, "guard-fallback").await else {
        return;
    };
    for stream in [false, true] {
        mock.clear_requests();
        mock.push_reply_for("reply", Reply::text(""));
        mock.push_reply_for("reply", Reply::text("{\"decision\": \"redirect\"}"));
        let done = if stream {
            // One delta (the fallback line) is a valid stream too, so read the frames here.
            let res = app.send(player.stream_request("hello")).await;
            assert_eq!(res.status.as_u16(), 200);
            crate::common::parse_sse(&res.text)
                .last()
                .unwrap()
                .data
                .clone()
        } else {
            plain(&app, &player).await
        };
        let message = done["message"].as_str().unwrap();
        assert!(!message.trim().is_empty(), "stream {stream}: a line");
        assert!(
            !message.contains('{'),
            "stream {stream}: no JSON: {message}"
        );
        assert_eq!(requests_of(&mock, "reply").len(), 2, "stream {stream}");
        // The stored reply is what the player got.
        let history = player.history(&app).await;
        let last = history["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["content"], message);
    }
}

async fn long_replies_end_at_a_sentence(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some((app, player)) = app_with(backend, &mock, "guard-long").await else {
        return;
    };
    let expected = "The road was long and the rain was cold. I sold my last lantern in Greywater.";
    mock.push_reply_for("reply", Reply::text(LONG));
    assert_eq!(plain(&app, &player).await["message"], expected);
    mock.push_reply_for("reply", Reply::text(LONG));
    let done = streamed(&app, &player).await;
    assert_eq!(
        done["message"], expected,
        "the stream ends at the same sentence"
    );
}
