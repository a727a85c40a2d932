//! quality.md R5: load far beyond capacity is shed at once with 503 + `Retry-After` (not
//! queued without bound), and the server keeps serving afterwards.

use std::time::Duration;

use crate::common::{sample_persona, Backend, TestApp, TestRequest};
use axum::http::StatusCode;
use foil_mock_llm::{MockConfig, MockLlm};
use foil_server::config::ProviderSettings;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_requests_are_shed_with_503() {
    // Every LLM call takes 300 ms, so requests pile up.
    let mock = MockLlm::start(MockConfig::default().with_latency(Duration::from_millis(300)))
        .await
        .unwrap();
    let base = mock.openai_base_url();
    let app = TestApp::with_config(Backend::Sqlite, |c| {
        c.max_in_flight = 4;
        c.providers.insert(
            "openai".into(),
            ProviderSettings {
                base_url: Some(base),
                ..Default::default()
            },
        );
    })
    .await
    .unwrap();
    let token = app.signup("load@example.com").await;
    let persona = app
        .save_persona(&token, &sample_persona("Loaded", true))
        .await;
    let key = app.create_key(&token).await;
    // Starting a session asks the provider for a greeting: 300 ms each.
    let init = |player: usize| {
        TestRequest::post(&format!("/api/v1/sdk/chat/{persona}/init-session"))
            .api_key(&key)
            .header("x-llm-model", "openai/gpt-test")
            .header("x-llm-api-key", "k")
            .json(&json!({
                "user_session_id": format!("player-{player}"),
                "player_name": "Ada",
                "player_gender": "female"
            }))
    };

    // 40 slow requests at once against a cap of 4.
    let results = futures_util::future::join_all((0..40).map(|i| app.send(init(i)))).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let shed: Vec<_> = results
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(ok >= 1, "some requests are served");
    assert!(ok <= 4, "at most the cap runs at once: {ok} served");
    assert_eq!(
        ok + shed.len(),
        results.len(),
        "nothing else than 200 or 503"
    );
    for res in &shed {
        res.assert_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded");
        assert_eq!(res.headers["retry-after"], "1");
    }

    // Capacity frees up again: the server is healthy and serves normally.
    let res = app
        .send(TestRequest::get(&format!("/api/v1/personas/{persona}")).bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = app.send(init(0)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}
