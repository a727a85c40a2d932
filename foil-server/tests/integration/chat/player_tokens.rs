//! Player tokens (issue 13, docs/player-tokens.md): a `mint` key on the game's backend mints a
//! short-lived token for one player (and optionally some personas); the token stands in for an
//! API key in `X-API-Key` on every SDK route, reaches only its player and personas (403), ends
//! at `expires_at` (401 `player_token_expired`) or when its mint key is revoked, and is rate
//! limited per player.

use axum::http::StatusCode;
use foil_server::auth::player_token::PlayerGrant;
use serde_json::{json, Value};

use super::access::all_requests;
use super::support::{assert_rate_limited, chat_persona, setup, Player};
use crate::common::{keys, sorted, Backend, TestApp, TestRequest};

crate::on_both_databases!(
    player_tokens_stand_in_for_keys,
    player_tokens_reach_only_their_player_and_personas,
    player_tokens_end_on_expiry_and_revocation,
    player_tokens_are_limited_per_player,
);

/// Creates a `mint` key for the token's user; returns `(id, key)`.
async fn mint_key(app: &TestApp, token: &str) -> (String, String) {
    let res = app
        .send(
            TestRequest::post("/api/v1/sdk/api-keys")
                .bearer(token)
                .json(&json!({"name": "game backend", "scope": "mint"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let body = res.json();
    assert_eq!(body["scope"], "mint");
    (
        body["id"].as_str().unwrap().to_string(),
        body["key"].as_str().unwrap().to_string(),
    )
}

fn mint_request(key: &str, body: Value) -> TestRequest {
    TestRequest::post("/api/v1/sdk/player-tokens")
        .api_key(key)
        .json(&body)
}

/// Mints a token with `body`; returns it.
async fn mint(app: &TestApp, key: &str, body: Value) -> String {
    let res = app.send(mint_request(key, body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let body = res.json();
    assert_eq!(keys(&body), sorted(&["token", "expires_at"]));
    body["token"].as_str().unwrap().to_string()
}

async fn player_tokens_stand_in_for_keys(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = setup(&app, "owner@example.com", &chat_persona("Owned", true)).await;
    let (_, minting) = mint_key(&app, &owner.token).await;

    // Scopes: keys list theirs; a full key cannot mint, a mint key cannot play.
    let listed = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&owner.token))
        .await
        .json();
    let scopes: Vec<Option<&str>> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.get("scope").and_then(Value::as_str))
        .collect();
    assert_eq!(
        scopes,
        [None, Some("mint")],
        "only a mint key names its scope"
    );
    app.send(mint_request(&owner.key, json!({"user_session_id": "p1"})))
        .await
        .assert_error(StatusCode::FORBIDDEN, "api_key_scope");
    for (route, req) in all_requests(&Player::sdk(&minting, &owner.persona_id, "p1")) {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{route}: {}", res.text);
        res.assert_error(StatusCode::FORBIDDEN, "api_key_scope");
    }

    // Bad requests change nothing and say what is wrong.
    for (body, code) in [
        (json!({"user_session_id": ""}), "missing_field"),
        (
            json!({"user_session_id": "p1", "ttl_seconds": 59}),
            "invalid_ttl",
        ),
        (
            json!({"user_session_id": "p1", "ttl_seconds": 86_401}),
            "invalid_ttl",
        ),
        (
            json!({"user_session_id": "p1", "persona_ids": []}),
            "invalid_persona_ids",
        ),
        (
            json!({"user_session_id": "p1", "persona_ids": ["nope"]}),
            "",
        ),
        (json!({"user_session_id": "p1", "scope": "x"}), ""),
    ] {
        let res = app.send(mint_request(&minting, body.clone())).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}: {}", res.text);
        if !code.is_empty() {
            res.assert_error(StatusCode::BAD_REQUEST, code);
        }
    }

    // A token plays every SDK route for its player, streamed and not.
    let token = mint(
        &app,
        &minting,
        json!({"user_session_id": "p1", "ttl_seconds": 600}),
    )
    .await;
    assert!(token.starts_with("pt_"), "{token}");
    let player = Player::sdk(&token, &owner.persona_id, "p1");
    for (route, req) in all_requests(&player) {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::OK, "{route}: {}", res.text);
    }
    // The same player through the game's full key sees the token's progress: one account.
    let via_key = Player::sdk(&owner.key, &owner.persona_id, "p1");
    assert_eq!(via_key.status(&app).await, player.status(&app).await);
    let listed = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&token))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
}

async fn player_tokens_reach_only_their_player_and_personas(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = setup(&app, "owner@example.com", &chat_persona("Owned", true)).await;
    let other_persona = app
        .save_persona(&owner.token, &chat_persona("Other", true))
        .await;
    let (_, minting) = mint_key(&app, &owner.token).await;
    let token = mint(
        &app,
        &minting,
        json!({"user_session_id": "p1", "persona_ids": [owner.persona_id]}),
    )
    .await;
    Player::sdk(&owner.key, &owner.persona_id, "p2")
        .init(&app)
        .await;

    // Another player, or another persona of the same account: 403 on every route.
    for player in [
        Player::sdk(&token, &owner.persona_id, "p2"),
        Player::sdk(&token, &other_persona, "p1"),
    ] {
        for (route, req) in all_requests(&player) {
            let res = app.send(req).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{route}: {}", res.text);
            res.assert_error(StatusCode::FORBIDDEN, "player_token_scope");
        }
    }
    // p2's session is untouched by the refused calls.
    let p2 = Player::sdk(&owner.key, &owner.persona_id, "p2");
    assert_eq!(
        p2.history(&app).await["messages"].as_array().unwrap().len(),
        1
    );
    // The persona list shows only the token's persona.
    let listed = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&token))
        .await
        .json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Owned"]);
    // Its own player and persona work.
    Player::sdk(&token, &owner.persona_id, "p1")
        .init(&app)
        .await;
}

async fn player_tokens_end_on_expiry_and_revocation(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = setup(&app, "owner@example.com", &chat_persona("Owned", true)).await;
    let (key_id, minting) = mint_key(&app, &owner.token).await;
    let account = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&owner.token))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let tokens = app.ctx.player_tokens.as_ref().expect("a JWT secret is set");
    let expired = tokens.mint(&PlayerGrant {
        account,
        mint_key: key_id.parse().unwrap(),
        user_session_id: "p1".into(),
        persona_ids: None,
        expires_at: chrono::Utc::now().timestamp() - 1,
    });
    let res = app
        .send(Player::sdk(&expired, &owner.persona_id, "p1").init_request("Ada", "female"))
        .await;
    res.assert_error(StatusCode::UNAUTHORIZED, "player_token_expired");
    assert!(res.headers.contains_key("www-authenticate"));

    // A token whose signature does not match its claims.
    let token = mint(&app, &minting, json!({"user_session_id": "p1"})).await;
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let res = app
        .send(Player::sdk(&forged, &owner.persona_id, "p1").init_request("Ada", "female"))
        .await;
    res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");

    // Revoking the mint key ends its tokens at once.
    let player = Player::sdk(&token, &owner.persona_id, "p1");
    player.init(&app).await;
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/sdk/api-keys/{key_id}")).bearer(&owner.token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let res = app.send(player.get_request("session")).await;
    res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(res.json()["error"]["message"], "Invalid API key");
}

async fn player_tokens_are_limited_per_player(backend: Backend) {
    let Some(app) =
        TestApp::with_config(backend, |c| c.rate_limit.sdk_general.per_minute = 2).await
    else {
        return;
    };
    let owner = setup(&app, "owner@example.com", &chat_persona("Owned", true)).await;
    let (_, minting) = mint_key(&app, &owner.token).await;
    let p1 = mint(&app, &minting, json!({"user_session_id": "p1"})).await;
    let p2 = mint(&app, &minting, json!({"user_session_id": "p2"})).await;
    let list = |token: &str| TestRequest::get("/api/v1/sdk/personas").api_key(token);
    for _ in 0..2 {
        assert_eq!(app.send(list(&p1)).await.status, StatusCode::OK);
    }
    assert_rate_limited(&app.send(list(&p1)).await, "30");
    // Another player of the same game keeps its own allowance.
    assert_eq!(app.send(list(&p2)).await.status, StatusCode::OK);
}
