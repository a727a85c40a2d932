//! Who reaches which persona and session (api.md §2.2, §4): API keys reach their account's
//! published personas, web chat reaches published public ones (or the caller's own), the two
//! families' sessions are separate, and bad input is a 4xx that changes nothing.

use axum::http::StatusCode;
use serde_json::json;

use super::support::{chat_persona, setup, Player};
use crate::common::{Backend, TestApp, TestRequest};

crate::on_both_databases!(
    sdk_access_rules,
    bad_chat_input_is_rejected,
    web_chat_access_and_separate_sessions,
);

/// Every SDK chat request of `player`.
pub(crate) fn all_requests(player: &Player) -> Vec<(&'static str, TestRequest)> {
    vec![
        ("machines", player.machines_request()),
        ("init-session", player.init_request("Ada", "female")),
        ("message", player.message_request("hello")),
        ("message/stream", player.stream_request("hello")),
        ("session", player.get_request("session")),
        ("history", player.get_request("history")),
        ("reset", player.reset_request()),
    ]
}

async fn sdk_access_rules(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = setup(&app, "owner@example.com", &chat_persona("Owned", true)).await;
    let draft_id = app
        .save_persona(&owner.token, &chat_persona("Draft", false))
        .await;
    let stranger = setup(&app, "stranger@example.com", &chat_persona("Theirs", true)).await;
    // The owner's player has a session, so only access can fail.
    let mine = Player::sdk(&owner.key, &owner.persona_id, "p1");
    mine.init(&app).await;

    // Another account's key: 403 with the SDKs' message, on every route.
    let intruder = Player::sdk(&stranger.key, &owner.persona_id, "p1");
    for (route, req) in all_requests(&intruder) {
        let res = app.send(req).await;
        res.assert_error(StatusCode::FORBIDDEN, "persona_access_denied");
        assert_eq!(
            res.json()["error"]["message"],
            "API key does not have access",
            "{route}"
        );
    }
    // The owner's own unpublished persona: 403 too.
    let draft = Player::sdk(&owner.key, &draft_id, "p1");
    for (route, req) in all_requests(&draft) {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{route}: {}", res.text);
        assert_eq!(
            res.json()["error"]["message"],
            "API key does not have access"
        );
    }
    // The SDK persona list shows only the key's published personas.
    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&owner.key))
        .await;
    let names: Vec<String> = res
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Owned"]);

    // No key, a malformed key, a revoked key: 401 with WWW-Authenticate.
    let keyless = Player::sdk("", &owner.persona_id, "p1");
    let res = app
        .send(TestRequest::get(
            &keyless.path("session?user_session_id=p1"),
        ))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert!(res.headers.contains_key("www-authenticate"));
    let bogus = Player::sdk(
        "pk_live_00000000000000000000000000000000",
        &owner.persona_id,
        "p1",
    );
    let res = app.send(bogus.message_request("hello")).await;
    res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(res.json()["error"]["message"], "Invalid API key");

    // An unknown persona: 404.
    let ghost = Player::sdk(&owner.key, &uuid::Uuid::new_v4().to_string(), "p1");
    for (route, req) in all_requests(&ghost) {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{route}: {}", res.text);
    }

    // A player without a session: 404 `No active session found`.
    let newcomer = Player::sdk(&owner.key, &owner.persona_id, "newcomer");
    for req in [
        newcomer.message_request("hello"),
        newcomer.stream_request("hello"),
        newcomer.get_request("session"),
        newcomer.get_request("history"),
        newcomer.reset_request(),
    ] {
        let res = app.send(req).await;
        res.assert_error(StatusCode::NOT_FOUND, "session_not_found");
        assert_eq!(res.json()["error"]["message"], "No active session found");
    }
    // Sessions are per account: the stranger's player with the same id has none here.
    let same_id = Player::sdk(&stranger.key, &stranger.persona_id, "p1");
    let res = app.send(same_id.get_request("session")).await;
    res.assert_error(StatusCode::NOT_FOUND, "session_not_found");

    // A machine of another persona, and an unknown machine: 404.
    let theirs = Player::sdk(&stranger.key, &stranger.persona_id, "p1");
    let their_machine = theirs.machines(&app).await[0]["machine_id"]
        .as_str()
        .unwrap()
        .to_string();
    for machine in [their_machine, uuid::Uuid::new_v4().to_string()] {
        let p = mine.clone().on_machine(Some(&machine));
        for req in [p.init_request("Ada", "female"), p.message_request("hi")] {
            let res = app.send(req).await;
            res.assert_error(StatusCode::NOT_FOUND, "machine_not_found");
        }
    }
    // A linked machine that is not unlocked yet cannot be started.
    let epilogue = {
        let token = &owner.token;
        let res = app
            .send(
                TestRequest::get(&format!("/api/v1/personas/{}/full", owner.persona_id))
                    .bearer(token),
            )
            .await;
        let doc = res.json();
        doc["machines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["machine_key"] == "epilogue")
            .and_then(|m| m["id"].as_str())
            .expect("the full document carries machine ids")
            .to_string()
    };
    let locked = mine.clone().on_machine(Some(&epilogue));
    let res = app.send(locked.init_request("Ada", "female")).await;
    res.assert_error(StatusCode::FORBIDDEN, "machine_locked");
    // The owner's session is untouched by all of the above.
    let history = mine.history(&app).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
}

async fn bad_chat_input_is_rejected(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(&app, "input@example.com", &chat_persona("Strict", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "strict");
    player.init(&app).await;
    let before = player.snapshot(&app).await;
    let init_path = player.path("init-session");
    let message_path = player.path("message");
    let post =
        |path: &str, body: serde_json::Value| TestRequest::post(path).api_key(&s.key).json(&body);
    let long = "x".repeat(2001);
    let cases: Vec<(&str, TestRequest, &str)> = vec![
        (
            "unknown gender",
            post(
                &init_path,
                json!({"user_session_id": "strict", "player_name": "Ada", "player_gender": "robot"}),
            ),
            "invalid_player_gender",
        ),
        (
            "empty gender",
            post(
                &init_path,
                json!({"user_session_id": "strict", "player_name": "Ada", "player_gender": ""}),
            ),
            "invalid_player_gender",
        ),
        (
            "name too long",
            post(
                &init_path,
                json!({"user_session_id": "strict", "player_name": "n".repeat(65), "player_gender": "male"}),
            ),
            "field_too_long",
        ),
        (
            "blank name",
            post(
                &init_path,
                json!({"user_session_id": "strict", "player_name": "  ", "player_gender": "male"}),
            ),
            "missing_field",
        ),
        (
            "user_session_id too long",
            post(
                &init_path,
                json!({"user_session_id": "u".repeat(129), "player_name": "Ada", "player_gender": "male"}),
            ),
            "field_too_long",
        ),
        (
            "empty message",
            post(
                &message_path,
                json!({"message": "", "user_session_id": "strict"}),
            ),
            "missing_field",
        ),
        (
            "blank message",
            post(
                &message_path,
                json!({"message": " \n\t ", "user_session_id": "strict"}),
            ),
            "missing_field",
        ),
        (
            "message too long",
            post(
                &message_path,
                json!({"message": long, "user_session_id": "strict"}),
            ),
            "field_too_long",
        ),
        (
            "empty user_session_id",
            post(
                &message_path,
                json!({"message": "hi", "user_session_id": ""}),
            ),
            "missing_field",
        ),
        (
            "persona id not a UUID",
            post(
                "/api/v1/sdk/chat/not-a-uuid/message",
                json!({"message": "hi", "user_session_id": "strict"}),
            ),
            "invalid_id",
        ),
        (
            "machine id not a UUID",
            post(
                &format!("{message_path}?machine_id=nope"),
                json!({"message": "hi", "user_session_id": "strict"}),
            ),
            "invalid_id",
        ),
    ];
    for (label, req, code) in cases {
        let res = app.send(req).await;
        res.assert_error(StatusCode::BAD_REQUEST, code);
        let _ = label;
    }
    // Malformed bodies and missing fields are 400s too.
    for (label, req) in [
        (
            "not JSON",
            TestRequest::post(&message_path)
                .api_key(&s.key)
                .raw("{nope"),
        ),
        (
            "missing message",
            post(&message_path, json!({"user_session_id": "strict"})),
        ),
        (
            "wrong type",
            post(
                &message_path,
                json!({"message": 5, "user_session_id": "strict"}),
            ),
        ),
        (
            "missing gender",
            post(
                &init_path,
                json!({"user_session_id": "strict", "player_name": "Ada"}),
            ),
        ),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{label}: {}", res.text);
    }
    for query in ["session", "history", "machines"] {
        let res = app
            .send(TestRequest::get(&player.path(query)).api_key(&s.key))
            .await;
        res.assert_error(StatusCode::BAD_REQUEST, "missing_field");
        let res = app
            .send(
                TestRequest::get(
                    &player.path(&format!("{query}?user_session_id=strict&machine_id=x")),
                )
                .api_key(&s.key),
            )
            .await;
        if query != "machines" {
            res.assert_error(StatusCode::BAD_REQUEST, "invalid_id");
        }
    }
    assert_eq!(
        player.snapshot(&app).await,
        before,
        "bad input changes nothing"
    );

    // Exactly the limit is fine, and every gender is accepted.
    let r = player.say(&app, &"x".repeat(2000)).await;
    assert_eq!(r["decision"], "redirect");
    for gender in ["female", "male", "non-binary"] {
        let p = Player::sdk(&s.key, &s.persona_id, &format!("g-{gender}"));
        let res = app.send(p.init_request("Ada", gender)).await;
        assert_eq!(res.status, StatusCode::OK, "{gender}: {}", res.text);
        assert_eq!(res.json()["player_gender"], gender);
    }
}

async fn web_chat_access_and_separate_sessions(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = setup(&app, "web-owner@example.com", &chat_persona("Public", true)).await;
    let mut private_doc = chat_persona("Private", true);
    private_doc["persona"]["is_public"] = json!(false);
    let private_id = app.save_persona(&owner.token, &private_doc).await;
    let draft_id = app
        .save_persona(&owner.token, &chat_persona("Web Draft", false))
        .await;
    let visitor_token = app.signup("visitor@example.com").await;

    // A published public persona is reachable with any JWT.
    let visitor = Player::web(&visitor_token, &owner.persona_id, "shared-id");
    let init = visitor.init(&app).await;
    visitor.say(&app, "hello there").await;
    // Published but not public, or unpublished: only its owner.
    for id in [&private_id, &draft_id] {
        let p = Player::web(&visitor_token, id, "shared-id");
        let res = app.send(p.init_request("Ada", "female")).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        let mine = Player::web(&owner.token, id, "shared-id");
        mine.init(&app).await;
        mine.say(&app, "hello there").await;
    }
    // Without a JWT: 401.
    let res = app
        .send(
            TestRequest::post(&visitor.path("message"))
                .json(&json!({"message": "hi", "user_session_id": "shared-id"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);
    assert!(res.headers.contains_key("www-authenticate"));
    // An API key is not a web credential.
    let res = app
        .send(
            TestRequest::post(&visitor.path("message"))
                .api_key(&owner.key)
                .json(&json!({"message": "hi", "user_session_id": "shared-id"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text);

    // Same user_session_id in the SDK family (the owner's key) and in web chat (the owner's
    // JWT, the visitor's JWT): three separate sessions.
    let sdk = Player::sdk(&owner.key, &owner.persona_id, "shared-id");
    let owner_web = Player::web(&owner.token, &owner.persona_id, "shared-id");
    for p in [&sdk, &owner_web] {
        let res = app.send(p.get_request("session")).await;
        res.assert_error(StatusCode::NOT_FOUND, "session_not_found");
    }
    let sdk_init = sdk.init(&app).await;
    let web_init = owner_web.init(&app).await;
    let ids = [
        init["session_id"].clone(),
        sdk_init["session_id"].clone(),
        web_init["session_id"].clone(),
    ];
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    sdk.say(&app, "zzz qqq").await;
    assert_eq!(visitor.status(&app).await["current_state"], "S1");
    assert_eq!(sdk.status(&app).await["current_state"], "S0");
    assert_eq!(
        owner_web.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        sdk.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        visitor.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Resetting one leaves the others alone.
    let res = app.send(sdk.reset_request()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        visitor.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        owner_web.history(&app).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
