//! A session's life: ended sessions refuse messages, `init-session` starts over, `reset`
//! empties it; a persona replaced under a running session ends that session gracefully
//! (api.md §3, never a 500); older messages are folded into a summary that later prompts see.

use std::time::Duration;

use axum::http::StatusCode;
use foil_mock_llm::MockConfig;
use serde_json::{json, Value};

use super::support::{
    chat_persona, eval_answer, eventually, mock_app, openai_headers, requests_of, setup,
    start_mock, Player, RESET_RESULT_KEYS, SUMMARY_MARKER,
};
use crate::common::{keys, sorted, Backend, TestApp, TestRequest};

crate::on_both_databases!(
    ended_session_and_starting_over,
    reset_empties_the_session,
    persona_replaced_under_a_running_session,
    summaries_fold_old_messages_into_later_prompts,
);

async fn ended_session_and_starting_over(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(&app, "ended@example.com", &chat_persona("Ender", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "ender");
    let first = player.init(&app).await;
    player.say(&app, "hello there").await;
    let end = player.say(&app, "goodbye now").await;
    assert_eq!(end["outcome"], "ACCEPT");
    let ended = player.snapshot(&app).await;

    for req in [
        player.message_request("anyone there?"),
        player.stream_request("anyone there?"),
    ] {
        let res = app.send(req).await;
        res.assert_error(StatusCode::CONFLICT, "session_ended");
    }
    assert_eq!(
        player.snapshot(&app).await,
        ended,
        "refused messages change nothing"
    );

    // init-session starts it over: a new greeting only, initial state, no outcome.
    let again = app.send(player.init_request("Bea", "male")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let again = again.json();
    assert_eq!(again["machine_id"], first["machine_id"]);
    assert_eq!(again["player_name"], "Bea");
    let history = player.history(&app).await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "only the new greeting: {history}");
    assert_eq!(messages[0]["role"], "assistant");
    assert_eq!(messages[0]["content"], again["message"]);
    assert_eq!(messages[0]["state_key_at_time"], "S0");
    assert_eq!(history["current_state"], "S0");
    assert_eq!(history["score"], 0);
    assert_eq!(history["outcome"], Value::Null);
    assert_eq!(history["player_name"], "Bea");
    assert_eq!(history["player_gender"], "male");
    assert_eq!(history["session_id"], again["session_id"]);
    // Playable again; the earlier result stays remembered as an unlock.
    let r = player.say(&app, "hello there").await;
    assert_eq!(r["current_state"], "S1");
    let machines = player.machines(&app).await;
    assert!(machines.iter().any(|m| m["machine_key"] == "epilogue"));
    let main = machines
        .iter()
        .find(|m| m["machine_key"] == "main")
        .unwrap();
    assert_eq!(main["has_session"], true);
    assert_eq!(
        main["session_outcome"],
        Value::Null,
        "the running session has no outcome"
    );
}

async fn reset_empties_the_session(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(&app, "reset@example.com", &chat_persona("Resetter", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "resetter");
    let init = player.init(&app).await;
    player.say(&app, "hello there").await;
    player.say(&app, "zzz qqq").await;
    assert_eq!(player.status(&app).await["current_state"], "S1");

    let res = app.send(player.reset_request()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let body = res.json();
    assert_eq!(keys(&body), sorted(&RESET_RESULT_KEYS));
    assert_eq!(body["session_id"], init["session_id"], "same session");
    assert_eq!(body["message"], "Conversation reset successfully");

    let history = player.history(&app).await;
    assert_eq!(history["messages"], json!([]), "{history}");
    assert_eq!(history["session_id"], init["session_id"]);
    assert_eq!(history["current_state"], "S0");
    assert_eq!(history["score"], 0);
    assert_eq!(history["outcome"], Value::Null);
    let status = player.status(&app).await;
    assert_eq!(status["session_id"], init["session_id"]);
    assert_eq!(status["current_state"], "S0");
    assert_eq!(status["score"], 0);

    // The reset session plays from the start; a redirect count starts from zero too.
    let r = player.say(&app, "zzz qqq").await;
    assert_eq!(r["redirect_count"], 1, "{r}");
    assert_eq!(r["session_id"], init["session_id"]);
    let r = player.say(&app, "hello there").await;
    assert_eq!(r["current_state"], "S1");
    assert_eq!(r["score"], 1);
    assert_eq!(
        player.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // An ended session can be reset and played again.
    player.say(&app, "goodbye now").await;
    let res = app.send(player.reset_request()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = player.say(&app, "hello there").await;
    assert_eq!(r["current_state"], "S1");
    assert_eq!(r["outcome"], Value::Null);

    // Resetting a session that does not exist is a 404.
    let nobody = Player::sdk(&s.key, &s.persona_id, "nobody");
    let res = app.send(nobody.reset_request()).await;
    res.assert_error(StatusCode::NOT_FOUND, "session_not_found");
}

async fn replace(app: &TestApp, token: &str, persona_id: &str, doc: &Value) {
    let res = app
        .send(
            TestRequest::post(&format!("/api/v1/creator/save?persona_id={persona_id}"))
                .bearer(token)
                .json(doc),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "replace: {}", res.text);
}

async fn persona_replaced_under_a_running_session(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let doc = chat_persona("Shifting", true);
    let s = setup(&app, "replace@example.com", &doc).await;
    let player = Player::sdk(&s.key, &s.persona_id, "shifting");
    let bystander = Player::sdk(&s.key, &s.persona_id, "bystander");
    player.init(&app).await;
    bystander.init(&app).await;
    player.say(&app, "hello there").await;
    assert_eq!(player.status(&app).await["current_state"], "S1");

    // The creator renames S1: the player's state no longer exists.
    let mut renamed = doc.clone();
    let main = &mut renamed["machines"][0];
    main["states"][1]["state_key"] = json!("S1_NEW");
    main["transitions"][0]["to_state_key"] = json!("S1_NEW");
    main["transitions"][1]["from_state_key"] = json!("S1_NEW");
    replace(&app, &s.token, &s.persona_id, &renamed).await;

    let before = player.history(&app).await;
    for req in [
        player.message_request("goodbye now"),
        player.stream_request("goodbye now"),
        player.message_request("goodbye now"),
    ] {
        let res = app.send(req).await;
        res.assert_error(StatusCode::CONFLICT, "session_ended");
    }
    // The history is kept; the session is over.
    let after = player.history(&app).await;
    assert_eq!(after["messages"], before["messages"]);
    assert!(after["outcome"].is_string(), "ended: {after}");
    // A session whose state still exists plays on under the new definition.
    let r = bystander.say(&app, "hello there").await;
    assert_eq!(r["current_state"], "S1_NEW");
    // Starting over works under the new definition.
    player.init(&app).await;
    let r = player.say(&app, "hello there").await;
    assert_eq!(r["current_state"], "S1_NEW");
    let r = player.say(&app, "goodbye now").await;
    assert_eq!(r["outcome"], "ACCEPT");

    // The creator removes the machine a session runs on: a 404, never a 500.
    let e = Player::sdk(&s.key, &s.persona_id, "epilogue-player");
    e.init(&app).await;
    e.say(&app, "hello there").await;
    e.say(&app, "goodbye now").await;
    let epilogue_id = super::support::machine_id_of(&e.machines(&app).await, "epilogue").unwrap();
    let e = e.on_machine(Some(&epilogue_id));
    e.init(&app).await;
    let mut without = doc.clone();
    without["machines"].as_array_mut().unwrap().truncate(1);
    without["machine_links"] = json!([]);
    replace(&app, &s.token, &s.persona_id, &without).await;
    for req in [
        e.message_request("farewell"),
        e.stream_request("farewell"),
        e.get_request("history"),
        e.get_request("session"),
        e.reset_request(),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text);
    }
    // Without a machine id, the player's latest remaining session answers.
    let latest = Player::sdk(&s.key, &s.persona_id, "epilogue-player");
    let status = latest.status(&app).await;
    assert_eq!(status["current_state"], "END");
}

async fn summaries_fold_old_messages_into_later_prompts(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| c.summary_window = 4).await else {
        return;
    };
    let s = setup(
        &app,
        "summary@example.com",
        &chat_persona("Summarized", true),
    )
    .await;
    let mut headers = openai_headers();
    headers.push(("x-llm-summarization-model", "anthropic/sum-model"));
    let player = Player::sdk(&s.key, &s.persona_id, "summarized").with_headers(&headers);
    let init = player.init(&app).await;
    let session_id = init["session_id"].as_str().unwrap().to_string();

    let summary = || async {
        let summary: Option<String> =
            sqlx::query_scalar("SELECT summary FROM chat_sessions WHERE id = $1")
                .bind(&session_id)
                .fetch_one(app.ctx.db.pool())
                .await
                .expect("session row");
        summary
    };
    // Greeting + one exchange = 3 messages ≤ 4: nothing to fold yet.
    player.say(&app, "my name is Ada and I like tea").await;
    assert!(requests_of(&mock, "summary").is_empty());
    // Greeting + two exchanges = 5 > 4: the older messages are folded, in the background.
    player.say(&app, "the weather is nice").await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            summary().await.as_deref() == Some(SUMMARY_MARKER)
        })
        .await,
        "the session summary is stored: {:?}",
        summary().await
    );
    let summaries = requests_of(&mock, "summary");
    assert_eq!(summaries.len(), 1);
    let sum = &summaries[0];
    assert!(
        sum.path.ends_with("/messages"),
        "the summarization model: {}",
        sum.path
    );
    assert_eq!(sum.model(), Some("sum-model"));
    assert_eq!(sum.x_api_key(), Some("k-test"));
    assert!(
        sum.prompt_text().contains("my name is Ada and I like tea"),
        "the old messages are what is folded"
    );

    // Later prompts carry the summary.
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    player.say(&app, "hello").await;
    let evals = requests_of(&mock, "eval");
    let last_eval = evals.last().unwrap();
    assert!(
        last_eval.prompt_text().contains(SUMMARY_MARKER),
        "the evaluator sees the summary: {}",
        last_eval.prompt_text()
    );
    let replies = requests_of(&mock, "reply");
    assert!(replies
        .last()
        .unwrap()
        .prompt_text()
        .contains(SUMMARY_MARKER));
    // The full history is still there for the player.
    assert_eq!(
        player.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}
