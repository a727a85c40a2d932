//! LLM usage accounting and spend control (issue 13): every call is recorded with the
//! provider's token counts (or an estimate), reported by `GET /api/v1/usage` per day, persona,
//! key, model and step; daily budgets answer 429 `quota_exceeded`; the operator's provider key
//! serves only the models the operator allows.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::support::{
    chat_persona, mock_app, openai_headers, requests_of, setup, start_mock, Player,
};
use crate::common::{Backend, TestApp, TestRequest};

crate::on_both_databases!(
    usage_is_recorded_and_reported_per_group,
    daily_budgets_answer_quota_exceeded,
    the_operator_key_pays_only_for_allowed_models,
);

async fn usage(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .send(TestRequest::get(&format!("/api/v1/usage{query}")).bearer(token))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.json()
}

fn row<'a>(report: &'a Value, group: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == group)
        .unwrap_or_else(|| panic!("no {group} row in {report}"))
}

async fn usage_is_recorded_and_reported_per_group(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let s = setup(&app, "usage@example.com", &chat_persona("Metered", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "usage").with_headers(&openai_headers());
    player.init(&app).await;
    player.say(&app, "hello there").await;
    // And one streamed turn: recorded when its stream ends.
    let streamed = app.send(player.stream_request("how is the weather?")).await;
    assert_eq!(streamed.status, StatusCode::OK, "{}", streamed.text);

    // What the mock reported, call by call (it fills `usage` like the real API).
    let replies = requests_of(&mock, "reply");
    let evals = requests_of(&mock, "eval");
    assert_eq!(
        (replies.len(), evals.len()),
        (3, 2),
        "greeting + 2 replies, 2 evaluations"
    );

    let by_step = usage(&app, &s.token, "?group_by=step").await;
    assert_eq!(by_step["group_by"], "step");
    let response = row(&by_step, "response");
    assert_eq!(response["calls"], 3);
    assert_eq!(response["turns"], 2, "two player messages answered");
    assert_eq!(
        response["estimated_calls"], 0,
        "the provider reported usage"
    );
    assert!(response["input_tokens"].as_i64().unwrap() > 0);
    assert!(response["output_tokens"].as_i64().unwrap() > 0);
    assert_eq!(row(&by_step, "eval")["calls"], 2);
    let total = &by_step["total"];
    assert_eq!(total["calls"], 5);
    assert_eq!(
        total["input_tokens"].as_i64().unwrap() + total["output_tokens"].as_i64().unwrap(),
        by_step["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["input_tokens"].as_i64().unwrap() + r["output_tokens"].as_i64().unwrap())
            .sum::<i64>()
    );

    let by_model = usage(&app, &s.token, "?group_by=model").await;
    assert_eq!(row(&by_model, "openai/mock-model")["calls"], 5);
    let by_persona = usage(&app, &s.token, "?group_by=persona").await;
    assert_eq!(row(&by_persona, &s.persona_id)["calls"], 5);
    let keys = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&s.token))
        .await
        .json();
    let key_id = keys[0]["id"].as_str().unwrap();
    let by_key = usage(&app, &s.token, "?group_by=key").await;
    assert_eq!(row(&by_key, key_id)["calls"], 5);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let by_day = usage(&app, &s.token, "").await;
    assert_eq!(by_day["to"], today.as_str());
    assert_eq!(row(&by_day, &today)["calls"], 5);

    // Web-chat and generation calls have no key; another account sees none of this.
    let web = Player::web(&s.token, &s.persona_id, "web-usage").with_headers(&openai_headers());
    web.init(&app).await;
    let by_key = usage(&app, &s.token, "?group_by=key").await;
    assert_eq!(row(&by_key, "")["calls"], 1, "the web greeting");
    let stranger = app.signup("stranger@example.com").await;
    let theirs = usage(&app, &stranger, "?group_by=model").await;
    assert_eq!(theirs["rows"], json!([]));
    assert_eq!(theirs["total"]["calls"], 0);

    // Prometheus counts the tokens too.
    let metrics = app.send(TestRequest::get("/metrics")).await.text;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("foil_llm_tokens_total{") && l.contains("direction=\"output\"")),
        "token counters exported"
    );

    // Bad queries are clear 400s.
    for query in [
        "?from=yesterday",
        "?from=2026-12-05&to=2026-12-01",
        "?group_by=colour",
        "?from=2020-01-01&to=2026-01-01",
    ] {
        let res = app
            .send(TestRequest::get(&format!("/api/v1/usage{query}")).bearer(&s.token))
            .await;
        res.assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
    app.send(TestRequest::get("/api/v1/usage"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
}

async fn daily_budgets_answer_quota_exceeded(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| c.budget_key_turns_per_day = 2).await else {
        return;
    };
    let s = setup(
        &app,
        "budget-turns@example.com",
        &chat_persona("Budget", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "b1").with_headers(&openai_headers());
    player.init(&app).await;
    player.say(&app, "one").await;
    player.say(&app, "two").await;
    let over = app.send(player.message_request("three")).await;
    over.assert_error(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
    let retry: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=86_400).contains(&retry),
        "until the next UTC day: {retry}"
    );
    // Another key of the same account has its own day (per-key budget only).
    let other_key = app.create_key(&s.token).await;
    let other = Player::sdk(&other_key, &s.persona_id, "b2").with_headers(&openai_headers());
    other.init(&app).await;
    other.say(&app, "one").await;

    // Per-account token budget: holds across keys, and on generation too.
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| c.budget_account_tokens_per_day = 1).await else {
        return;
    };
    let s = setup(
        &app,
        "budget-tokens@example.com",
        &chat_persona("Budget", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, "t1").with_headers(&openai_headers());
    player.init(&app).await; // spends more than one token
    let second_key = app.create_key(&s.token).await;
    let other = Player::sdk(&second_key, &s.persona_id, "t2").with_headers(&openai_headers());
    app.send(other.init_request("P", "female"))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
    let mut polish = TestRequest::post("/api/v1/creator/polish")
        .bearer(&s.token)
        .json(&json!({"text": "hello", "field": "description"}));
    for (name, value) in openai_headers() {
        polish = polish.header(name, value);
    }
    app.send(polish)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded");
}

async fn the_operator_key_pays_only_for_allowed_models(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| {
        c.providers.get_mut("openai").unwrap().api_key = Some("operator-key".into());
        c.default_model = "openai/mock-model".into();
    })
    .await
    else {
        return;
    };
    let s = setup(
        &app,
        "operator@example.com",
        &chat_persona("Operator", true),
    )
    .await;
    // The default model, on the operator's key: allowed.
    let player = Player::sdk(&s.key, &s.persona_id, "op1");
    player.init(&app).await;
    // Another model on the operator's key: refused before any call.
    mock.clear_requests();
    let other =
        Player::sdk(&s.key, &s.persona_id, "op2").with_headers(&[("x-llm-model", "openai/gpt-4o")]);
    app.send(other.init_request("P", "female"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "llm_model_not_allowed");
    assert!(mock.requests().is_empty(), "nothing was sent");
    // The same model with the caller's own key: fine.
    let byok = Player::sdk(&s.key, &s.persona_id, "op3").with_headers(&[
        ("x-llm-model", "openai/gpt-4o"),
        ("x-llm-api-key", "callers-key"),
    ]);
    byok.init(&app).await;
    // Listed models are allowed.
    let Some(app) = mock_app(backend, &mock, |c| {
        c.providers.get_mut("openai").unwrap().api_key = Some("operator-key".into());
        c.operator_key_models = vec!["openai/gpt-4o".into()];
    })
    .await
    else {
        return;
    };
    let s = setup(
        &app,
        "operator2@example.com",
        &chat_persona("Operator", true),
    )
    .await;
    let listed =
        Player::sdk(&s.key, &s.persona_id, "op4").with_headers(&[("x-llm-model", "openai/gpt-4o")]);
    listed.init(&app).await;
}
