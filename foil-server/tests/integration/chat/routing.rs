//! Per-step model and key selection seen at the provider (api.md §2.3), the evaluator's
//! retry-then-redirect fallback (personas.md §2.2), and `validate-llm-key`.

use axum::http::StatusCode;
use foil_mock_llm::{MockConfig, Reply};
use serde_json::{json, Value};

use super::support::{
    chat_persona, eval_answer, mock_app, openai_headers, requests_of, setup, start_mock, Player,
    DEFAULT_REPLY, VALIDATE_KEYS,
};
use crate::common::{keys, sorted, Backend, TestRequest};

crate::on_both_databases!(
    per_step_models_and_keys_reach_the_provider,
    evaluator_bad_answer_is_retried_once,
    evaluator_bad_answer_twice_is_a_redirect,
    validate_llm_key_reports_without_failing,
);

async fn per_step_models_and_keys_reach_the_provider(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(&app, "routing@example.com", &chat_persona("Router", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "routed").with_headers(&[
        ("X-LLM-Eval-Model", "openai/eval-model"),
        ("X-LLM-Response-Model", "anthropic/reply-model"),
        ("X-LLM-API-Key", "k-all"),
        ("X-LLM-Response-API-Key", "k-reply"),
    ]);

    // The greeting is a response step.
    let init = player.init(&app).await;
    assert_eq!(init["message"], DEFAULT_REPLY);
    let greeting = mock.last_request().unwrap();
    assert!(greeting.path.ends_with("/messages"), "{}", greeting.path);
    assert_eq!(greeting.model(), Some("reply-model"));
    assert_eq!(greeting.x_api_key(), Some("k-reply"));
    mock.clear_requests();

    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    mock.push_reply_for("reply", Reply::text("Welcome, friend."));
    let res = app.send(player.message_request("hi")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let body = res.json();
    assert_eq!(body["message"], "Welcome, friend.");
    assert_eq!(body["current_state"], "S1");
    for key in ["k-all", "k-reply"] {
        assert!(!res.text.contains(key), "keys are never echoed");
    }

    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        2,
        "one eval call, one reply call: {requests:?}"
    );
    let eval = &requests_of(&mock, "eval")[0];
    assert!(eval.path.ends_with("/chat/completions"), "{}", eval.path);
    assert_eq!(eval.model(), Some("eval-model"));
    assert_eq!(eval.bearer_token(), Some("k-all"));
    assert_eq!(eval.structured_output_name(), Some("evaluation"));
    assert!(!eval.is_stream());
    assert!(
        eval.prompt_text().contains("hi"),
        "the evaluator sees the player message"
    );
    let reply = &requests_of(&mock, "reply")[0];
    assert!(reply.path.ends_with("/messages"), "{}", reply.path);
    assert_eq!(reply.model(), Some("reply-model"));
    assert_eq!(reply.x_api_key(), Some("k-reply"));
    assert_eq!(reply.structured_output_name(), None);

    // X-LLM-Model selects every step.
    mock.clear_requests();
    let all = Player::sdk(&s.key, &s.persona_id, "routed-all").with_headers(&[
        ("X-LLM-Model", "anthropic/all-model"),
        ("X-LLM-API-Key", "k-one"),
    ]);
    all.init(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    all.say(&app, "hello").await;
    let requests = mock.requests();
    assert_eq!(requests.len(), 3, "greeting, eval, reply: {requests:?}");
    for r in &requests {
        assert!(r.path.ends_with("/messages"), "{}", r.path);
        assert_eq!(r.model(), Some("all-model"));
        assert_eq!(r.x_api_key(), Some("k-one"));
    }
    assert_eq!(requests_of(&mock, "eval").len(), 1);
    assert_eq!(
        requests_of(&mock, "eval")[0].structured_output_name(),
        Some("evaluation"),
        "Anthropic structured output is a forced tool"
    );

    // A step header beats X-LLM-Model; a bare `gpt-*` name is OpenAI.
    mock.clear_requests();
    let mixed = Player::sdk(&s.key, &s.persona_id, "routed-mixed").with_headers(&[
        ("X-LLM-Model", "anthropic/all-model"),
        ("X-LLM-Eval-Model", "gpt-4o-mini"),
        ("X-LLM-API-Key", "k-one"),
        ("X-LLM-Eval-API-Key", "k-eval"),
    ]);
    mixed.init(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    mixed.say(&app, "hello").await;
    let eval = &requests_of(&mock, "eval")[0];
    assert!(eval.path.ends_with("/chat/completions"), "{}", eval.path);
    assert_eq!(eval.model(), Some("gpt-4o-mini"));
    assert_eq!(eval.bearer_token(), Some("k-eval"));
    for r in requests_of(&mock, "reply") {
        assert!(r.path.ends_with("/messages"));
        assert_eq!(r.x_api_key(), Some("k-one"));
    }

    // Without headers the server's default model (offline) answers: the mock sees nothing.
    mock.clear_requests();
    let offline = Player::sdk(&s.key, &s.persona_id, "offline");
    offline.init(&app).await;
    offline.say(&app, "hello there").await;
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
}

async fn evaluator_bad_answer_is_retried_once(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(&app, "retry@example.com", &chat_persona("Retry", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "retry").with_headers(&openai_headers());
    player.init(&app).await;

    // Not JSON at all, then a valid answer.
    mock.clear_requests();
    mock.push_reply_for("eval", Reply::text("I think the player is nice!"));
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let r = player.say(&app, "hello").await;
    assert_eq!(r["decision"], "pass", "{r}");
    assert_eq!(r["current_state"], "S1");
    let evals = requests_of(&mock, "eval");
    assert_eq!(evals.len(), 2, "one retry");
    let retry_prompt = evals[1].prompt_text();
    assert!(
        retry_prompt.contains("I think the player is nice!") && retry_prompt.contains("invalid"),
        "the retry shows the bad answer and the validation error: {retry_prompt}"
    );

    // JSON that breaks the schema (no candidate 7), then a valid answer.
    mock.clear_requests();
    mock.push_reply_for(
        "eval",
        Reply::json(json!({"decision": "pass", "transition_index": 7, "reason": "?"})),
    );
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let r = player.say(&app, "goodbye").await;
    assert_eq!(r["decision"], "pass", "{r}");
    assert_eq!(r["current_state"], "END");
    assert_eq!(r["outcome"], "ACCEPT");
    assert_eq!(requests_of(&mock, "eval").len(), 2, "one retry");
}

async fn evaluator_bad_answer_twice_is_a_redirect(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(
        &app,
        "redirect@example.com",
        &chat_persona("Fallback", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "fallback").with_headers(&openai_headers());
    player.init(&app).await;
    let before = player.status(&app).await;

    mock.clear_requests();
    mock.push_reply_for("eval", Reply::text("garbage"));
    mock.push_reply_for(
        "eval",
        Reply::json(json!({"decision": "teleport", "transition_index": 0})),
    );
    let r = player.say(&app, "hello").await;
    assert_eq!(r["decision"], "redirect", "{r}");
    assert_eq!(
        r["current_state"], before["current_state"],
        "state unchanged"
    );
    assert_eq!(r["score"], before["score"]);
    assert_eq!(r["redirect_count"], 1);
    assert_eq!(r["outcome"], Value::Null);
    assert_eq!(r["message"], DEFAULT_REPLY, "the turn still gets its reply");
    assert_eq!(requests_of(&mock, "eval").len(), 2, "exactly one retry");
    // The redirect is stored like any other turn.
    let history = player.history(&app).await;
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["decision"], "redirect");
    assert_eq!(history["current_state"], "S0");
}

async fn validate_llm_key_reports_without_failing(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| {
        c.default_model = "openai/server-default".into()
    })
    .await
    else {
        return;
    };
    let s = setup(
        &app,
        "validate@example.com",
        &chat_persona("Validate", true),
    )
    .await;
    let validate = |body: Value, headers: &[(&str, &str)]| {
        let mut req = TestRequest::post("/api/v1/sdk/validate-llm-key")
            .api_key(&s.key)
            .json(&body);
        for (n, v) in headers {
            req = req.header(n, v);
        }
        req
    };
    let check = |res: &crate::common::TestResponse| -> Value {
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let body = res.json();
        assert_eq!(keys(&body), sorted(&VALIDATE_KEYS), "{body}");
        body
    };

    // Offline: always valid.
    let body = check(&app.send(validate(json!({}), &[])).await);
    assert_eq!(
        body,
        json!({"valid": true, "model": "offline", "error": null})
    );

    // Any key is accepted by the mock.
    let body = check(
        &app.send(validate(
            json!({"model": "openai/gpt-test"}),
            &[("x-llm-api-key", "whatever")],
        ))
        .await,
    );
    assert_eq!(
        body,
        json!({"valid": true, "model": "openai/gpt-test", "error": null})
    );
    let seen = mock.last_request().unwrap();
    assert_eq!(
        seen.bearer_token(),
        Some("whatever"),
        "a real call was made"
    );

    // The model may come from X-LLM-Model too.
    let body = check(
        &app.send(validate(
            json!({}),
            &[
                ("x-llm-model", "anthropic/claude-test"),
                ("x-llm-api-key", "any"),
            ],
        ))
        .await,
    );
    assert_eq!(body["valid"], true, "{body}");
    assert_eq!(body["model"], "anthropic/claude-test");

    // Only "good" is accepted now.
    mock.set_accepted_keys(Some(vec!["good".into()]));
    for (model, key) in [("openai/gpt-test", "bad"), ("anthropic/claude-test", "bad")] {
        let res = app
            .send(validate(json!({"model": model}), &[("x-llm-api-key", key)]))
            .await;
        let body = check(&res);
        assert_eq!(body["valid"], false, "{body}");
        assert_eq!(body["model"], model);
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        assert!(!res.text.contains("\"bad\""), "the key is not echoed");
    }
    let body = check(
        &app.send(validate(
            json!({"model": "openai/gpt-test"}),
            &[("x-llm-api-key", "good")],
        ))
        .await,
    );
    assert_eq!(body["valid"], true, "{body}");

    // Without a model in the body or X-LLM-Model: the response step's model and key.
    mock.clear_requests();
    let body = check(
        &app.send(validate(
            json!({}),
            &[
                ("x-llm-response-model", "anthropic/claude-reply"),
                ("x-llm-response-api-key", "good"),
                ("x-llm-api-key", "bad"),
                ("x-llm-eval-model", "openai/gpt-eval"),
            ],
        ))
        .await,
    );
    assert_eq!(
        body,
        json!({"valid": true, "model": "anthropic/claude-reply", "error": null})
    );
    assert_eq!(mock.last_request().unwrap().x_api_key(), Some("good"));
    // A rejected step key: valid false with the provider's reason.
    let body = check(
        &app.send(validate(
            json!({}),
            &[
                ("x-llm-response-model", "anthropic/claude-reply"),
                ("x-llm-response-api-key", "bad"),
            ],
        ))
        .await,
    );
    assert_eq!(body["valid"], false, "{body}");
    assert_eq!(body["model"], "anthropic/claude-reply");
    let reason = body["error"].as_str().unwrap();
    assert!(reason.contains("rejected the API key"), "{reason}");
    // Only another step names a model: that one, with its key.
    let body = check(
        &app.send(validate(
            json!({}),
            &[
                ("x-llm-eval-model", "openai/gpt-eval"),
                ("x-llm-eval-api-key", "good"),
            ],
        ))
        .await,
    );
    assert_eq!(body["model"], "openai/gpt-eval", "{body}");
    assert_eq!(body["valid"], true, "{body}");
    // Naming nothing is `offline` even where the server's default model is not: no call made.
    mock.clear_requests();
    let body = check(
        &app.send(validate(json!({}), &[("x-llm-api-key", "bad")]))
            .await,
    );
    assert_eq!(
        body,
        json!({"valid": true, "model": "offline", "error": null})
    );
    assert!(mock.requests().is_empty(), "nothing to check, nothing sent");

    // No key for a provider that needs one, and an unknown model: reported, not thrown.
    let body = check(
        &app.send(validate(json!({"model": "openai/gpt-test"}), &[]))
            .await,
    );
    assert_eq!(body["valid"], false, "{body}");
    assert!(body["error"].as_str().is_some(), "{body}");
    let body = check(
        &app.send(validate(json!({"model": "nosuch/model"}), &[]))
            .await,
    );
    assert_eq!(body["valid"], false, "{body}");
    assert_eq!(body["model"], "nosuch/model");
    assert!(body["error"].as_str().is_some(), "{body}");
}
