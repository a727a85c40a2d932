//! Rate limits (api.md §6) through the real router, with small configured limits.

use crate::common::{sample_persona, Backend, TestApp, TestRequest};
use axum::http::StatusCode;

on_both_databases!(
    general_limit_is_per_ip_with_exact_429,
    sdk_limits_are_per_key_and_account,
    failed_api_key_auth_counts_per_ip,
    forwarded_for_is_trusted_only_from_proxies,
);

#[track_caller]
fn assert_limited(res: &crate::common::TestResponse) {
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        res.json(),
        serde_json::json!({"error": format!("Rate limit exceeded. Try again in {retry} seconds.")})
    );
}

async fn general_limit_is_per_ip_with_exact_429(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| c.rate_limit.general.per_minute = 3).await
    else {
        return;
    };
    for _ in 0..3 {
        let res = app
            .send(TestRequest::get("/api/v1/personas").with_peer("10.0.0.1"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
    assert_limited(
        &app.send(TestRequest::get("/api/v1/personas").with_peer("10.0.0.1"))
            .await,
    );
    // Another client is unaffected; health checks are never limited.
    let other = app
        .send(TestRequest::get("/api/v1/personas").with_peer("10.0.0.2"))
        .await;
    assert_eq!(other.status, StatusCode::OK);
    let health = app
        .send(TestRequest::get("/healthz").with_peer("10.0.0.1"))
        .await;
    assert_eq!(health.status, StatusCode::OK);
}

async fn sdk_limits_are_per_key_and_account(backend: Backend) {
    let Some(app) =
        TestApp::with_config(backend, |c| c.rate_limit.sdk_general.per_minute = 2).await
    else {
        return;
    };
    let token = app.signup("rl@example.com").await;
    app.save_persona(&token, &sample_persona("Limited", true))
        .await;
    let key_a = app.create_key(&token).await;
    let key_b = app.create_key(&token).await;
    for _ in 0..2 {
        let res = app
            .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key_a))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    }
    // Same key: limited. Another key of the same account: limited too (the allowance is per
    // account as well, so more keys are not more quota). Another account's key: not.
    assert_limited(
        &app.send(TestRequest::get("/api/v1/sdk/personas").api_key(&key_a))
            .await,
    );
    assert_limited(
        &app.send(TestRequest::get("/api/v1/sdk/personas").api_key(&key_b))
            .await,
    );
    let other = app.signup("rl-other@example.com").await;
    let key_c = app.create_key(&other).await;
    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key_c))
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

async fn failed_api_key_auth_counts_per_ip(backend: Backend) {
    let Some(app) =
        TestApp::with_config(backend, |c| c.rate_limit.auth_failure.per_minute = 2).await
    else {
        return;
    };
    let token = app.signup("flood@example.com").await;
    let good = app.create_key(&token).await;
    let bad = "pk_live_0123456789abcdef0123456789abcdef";
    let personas = |key: &str, ip: &str| {
        TestRequest::get("/api/v1/sdk/personas")
            .api_key(key)
            .with_peer(ip)
    };
    for _ in 0..2 {
        app.send(personas(bad, "10.1.1.1"))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    }
    assert_limited(&app.send(personas(bad, "10.1.1.1")).await);
    // The address is refused before any lookup: even a valid key, even with the database gone.
    assert_limited(&app.send(personas(&good, "10.1.1.1")).await);
    assert_eq!(
        app.send(personas(&good, "10.1.1.2")).await.status,
        StatusCode::OK,
        "other addresses are not affected"
    );
    app.ctx.db.pool().close().await;
    assert_limited(&app.send(personas(bad, "10.1.1.1")).await);
}

async fn forwarded_for_is_trusted_only_from_proxies(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| {
        c.rate_limit.general.per_minute = 1;
        c.rate_limit.trusted_proxies = vec!["10.9.0.0/16".into()];
    })
    .await
    else {
        return;
    };
    let via_proxy = |client: &str| {
        TestRequest::get("/api/v1/personas")
            .with_peer("10.9.0.5")
            .header("x-forwarded-for", client)
    };
    // Behind the trusted proxy, each client has its own bucket.
    assert_eq!(
        app.send(via_proxy("203.0.113.1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(via_proxy("203.0.113.2")).await.status,
        StatusCode::OK
    );
    assert_limited(&app.send(via_proxy("203.0.113.1")).await);
    // IPv6 clients share their /64's bucket; the next /64 has its own.
    assert_eq!(
        app.send(via_proxy("2001:db8:0:1::a")).await.status,
        StatusCode::OK
    );
    assert_limited(&app.send(via_proxy("2001:db8:0:1:ffff::b")).await);
    assert_eq!(
        app.send(via_proxy("2001:db8:0:2::a")).await.status,
        StatusCode::OK
    );
    // From an untrusted peer the header is ignored: the peer itself is limited.
    let spoof = |client: &str| {
        TestRequest::get("/api/v1/personas")
            .with_peer("198.51.100.7")
            .header("x-forwarded-for", client)
    };
    assert_eq!(app.send(spoof("203.0.113.50")).await.status, StatusCode::OK);
    assert_limited(&app.send(spoof("203.0.113.51")).await);
}
