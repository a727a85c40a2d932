//! AI generation routes (api.md §3): offline drafts, drafts through a mock provider speaking
//! the real OpenAI protocol, validation of model output, errors and the Generation limit.

use crate::common::{keys, sample_persona, sorted, Backend, TestApp, TestRequest};
use axum::http::StatusCode;
use foil_mock_llm::{Fault, MockConfig, MockLlm, Reply};
use foil_server::config::ProviderSettings;
use serde_json::json;

on_both_databases!(
    offline_drafts_are_usable,
    drafts_through_a_provider,
    generation_errors_and_rate_limit,
);

async fn offline_drafts_are_usable(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let token = app.signup("gen@example.com").await;

    let res = app
        .send(
            TestRequest::post("/api/v1/creator/generate/persona")
                .bearer(&token)
                .json(&json!({"brief": "a nervous lighthouse keeper who collects seashells"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let draft = res.json();
    assert_eq!(
        keys(&draft),
        sorted(&["name", "description", "identity_prompt"])
    );

    let persona_id = app
        .save_persona(&token, &sample_persona("Keeper", false))
        .await;
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/generate/machine")
                .bearer(&token)
                .json(
                    &json!({"persona_id": persona_id, "brief": "the player asks to see the lamp"}),
                ),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    // The drafted machine is accepted as part of a persona.
    let mut doc = sample_persona("Keeper with lamp", false);
    doc["machines"] = json!([res.json()]);
    app.save_persona(&token, &doc).await;

    let res = app
        .send(
            TestRequest::post("/api/v1/creator/polish")
                .bearer(&token)
                .json(&json!({"text": "  you keep   the light ", "field": "identity_prompt"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json(), json!({"text": "You keep the light."}));
}

async fn drafts_through_a_provider(backend: Backend) {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    let base = mock.openai_base_url();
    let Some(app) = TestApp::with_config(backend, |c| {
        c.providers.insert(
            "openai".into(),
            ProviderSettings {
                base_url: Some(base),
                ..Default::default()
            },
        );
    })
    .await
    else {
        return;
    };
    let token = app.signup("gen-llm@example.com").await;
    let llm = |req: TestRequest| {
        req.bearer(&token)
            .header("x-llm-model", "openai/gpt-test")
            .header("x-llm-api-key", "sk-generation-key")
    };

    mock.push_reply(Reply::text(
        "Here you go: {\"name\": \"Mira\", \"description\": \"Keeper of the light.\", \
         \"identity_prompt\": \"You are Mira.\"}",
    ));
    let res = app
        .send(
            llm(TestRequest::post("/api/v1/creator/generate/persona"))
                .json(&json!({"brief": "keeper"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json()["name"], "Mira");
    let seen = mock.last_request().unwrap();
    assert_eq!(seen.model(), Some("gpt-test"));
    assert_eq!(seen.bearer_token(), Some("sk-generation-key"));

    // An invalid machine, then a valid one: the retry feeds the problems back.
    let mut bad = json!({
        "machine_key": "Bad Key", "name": "Lamp", "states": [], "transitions": []
    });
    mock.push_reply(Reply::text(bad.to_string()));
    let mut good = sample_persona("x", false)["machines"][0].clone();
    good["machine_key"] = json!("lamp");
    mock.push_reply(Reply::text(good.to_string()));
    mock.clear_requests();
    let res = app
        .send(
            llm(TestRequest::post("/api/v1/creator/generate/machine"))
                .json(&json!({"identity": "You are Mira.", "brief": "see the lamp"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json()["machine_key"], "lamp");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "one retry");
    assert!(
        requests[1].prompt_text().contains("not usable"),
        "the problem is fed back"
    );

    // Unusable twice → 502.
    bad["machine_key"] = json!("still bad");
    mock.push_reply(Reply::text(bad.to_string()));
    mock.push_reply(Reply::text("no json here"));
    let res = app
        .send(
            llm(TestRequest::post("/api/v1/creator/generate/machine"))
                .json(&json!({"identity": "You are Mira.", "brief": "see the lamp"})),
        )
        .await;
    res.assert_error(StatusCode::BAD_GATEWAY, "llm_upstream_error");

    // The provider rejects the key → 401 llm_key_invalid.
    mock.push_reply(Reply::fault(Fault::unauthorized()));
    let res = app
        .send(
            llm(TestRequest::post("/api/v1/creator/polish"))
                .json(&json!({"text": "hello", "field": "identity_prompt"})),
        )
        .await;
    res.assert_error(StatusCode::UNAUTHORIZED, "llm_key_invalid");
    assert!(!res.text.contains("sk-generation-key"));
}

async fn generation_errors_and_rate_limit(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| c.rate_limit.generation.per_minute = 3).await
    else {
        return;
    };
    let token = app.signup("gen-errors@example.com").await;
    app.send(TestRequest::post("/api/v1/creator/generate/persona").json(&json!({"brief": "x"})))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    app.send(
        TestRequest::post("/api/v1/creator/generate/machine")
            .bearer(&token)
            .json(&json!({"brief": "x"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "missing_field");
    // Over the Generation limit (3 per minute per IP, the requests above count too).
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/polish")
                .bearer(&token)
                .json(&json!({"text": "x", "field": "name"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/polish")
                .bearer(&token)
                .json(&json!({"text": "x", "field": "name"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    assert!(res.headers.contains_key("retry-after"));
    // Other categories are unaffected.
    let res = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // An unknown model is a 400 before any work.
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let token = app.signup("gen-model@example.com").await;
    app.send(
        TestRequest::post("/api/v1/creator/polish")
            .bearer(&token)
            .header("x-llm-model", "nosuchprovider/model")
            .json(&json!({"text": "x", "field": "name"})),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "llm_model_unknown");
}
