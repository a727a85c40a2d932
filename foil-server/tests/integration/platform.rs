//! The platform routes through the real router, on SQLite and PostgreSQL: identity, API keys,
//! personas, the SDK persona list, errors and operations.

use crate::common::{keys, sample_persona, sorted, Backend, TestApp, TestRequest};
use axum::http::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    signup_login_and_me,
    signup_and_login_errors,
    api_key_lifecycle,
    api_key_errors_and_isolation,
    persona_save_and_read,
    persona_validation_reports_every_problem,
    persona_access_control,
    persona_listing_and_paging,
    persona_replace_keeps_machine_ids,
    persona_delete_cascades,
    sdk_personas_exact_keys_and_scope,
    malformed_requests_get_400,
    body_limit_gives_413,
    operations_routes,
);

async fn app(backend: Backend) -> Option<TestApp> {
    TestApp::new(backend).await
}

async fn signup_login_and_me(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let res = app
        .send(TestRequest::post("/api/v1/auth/signup").json(&json!({
            "email": "Ada@Example.com", "password": "a long password", "display_name": "Ada"
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let body = res.json();
    assert_eq!(
        keys(&body),
        sorted(&["access_token", "token_type", "expires_in", "user"])
    );
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(
        keys(&body["user"]),
        sorted(&["id", "email", "display_name"])
    );
    assert_eq!(body["user"]["email"], "ada@example.com");

    let res = app
        .send(TestRequest::post("/api/v1/auth/login").json(&json!({
            "email": "ada@example.com", "password": "a long password"
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let token = res.json()["access_token"].as_str().unwrap().to_string();

    let me = app
        .send(TestRequest::get("/api/v1/auth/me").bearer(&token))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(
        me.json(),
        json!({"id": body["user"]["id"], "email": "ada@example.com", "display_name": "Ada"})
    );
}

async fn signup_and_login_errors(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    app.signup("bob@example.com").await;
    let dup = app
        .send(TestRequest::post("/api/v1/auth/signup").json(&json!({
            "email": "BOB@example.com", "password": "another password"
        })))
        .await;
    dup.assert_error(StatusCode::CONFLICT, "email_taken");

    let short = app
        .send(TestRequest::post("/api/v1/auth/signup").json(&json!({
            "email": "c@example.com", "password": "short"
        })))
        .await;
    short.assert_error(StatusCode::BAD_REQUEST, "invalid_password");

    let bad_email = app
        .send(TestRequest::post("/api/v1/auth/signup").json(&json!({
            "email": "not-an-email", "password": "long enough password"
        })))
        .await;
    bad_email.assert_error(StatusCode::BAD_REQUEST, "invalid_email");

    for (email, password) in [
        ("bob@example.com", "wrong password!"),
        ("nobody@example.com", "correct horse battery staple"),
    ] {
        let res = app
            .send(TestRequest::post("/api/v1/auth/login").json(&json!({
                "email": email, "password": password
            })))
            .await;
        res.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert!(!res.text.contains(password));
    }

    let me = app.send(TestRequest::get("/api/v1/auth/me")).await;
    me.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    let me = app
        .send(TestRequest::get("/api/v1/auth/me").bearer("not.a.jwt"))
        .await;
    me.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn api_key_lifecycle(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("keys@example.com").await;
    let res = app
        .send(
            TestRequest::post("/api/v1/sdk/api-keys")
                .bearer(&token)
                .json(&json!({"name": "My game"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let created = res.json();
    assert_eq!(
        keys(&created),
        sorted(&["id", "name", "key", "key_prefix", "created_at"])
    );
    assert_eq!(created["key_prefix"], "pk_live_");
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("pk_live_") && key.len() == 40, "{key}");

    // The key works on SDK routes.
    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    let list = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&token))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        keys(&list[0]),
        sorted(&[
            "id",
            "name",
            "key_prefix",
            "key_hint",
            "created_at",
            "last_used_at"
        ])
    );
    assert_eq!(list[0]["key_hint"], key[key.len() - 4..]);
    assert!(
        !list.to_string().contains(&key),
        "the list must never show the key"
    );

    let id = created["id"].as_str().unwrap();
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/sdk/api-keys/{id}")).bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);

    // Revoked at once.
    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key))
        .await;
    res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(res.json()["error"]["message"], "Invalid API key");
    let list = app
        .send(TestRequest::get("/api/v1/sdk/api-keys").bearer(&token))
        .await;
    assert_eq!(list.json(), json!([]));
    // Revoking twice is a 404: there is no such active key.
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/sdk/api-keys/{id}")).bearer(&token))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "api_key_not_found");
}

async fn api_key_errors_and_isolation(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let alice = app.signup("alice@example.com").await;
    let mallory = app.signup("mallory@example.com").await;
    let res = app
        .send(
            TestRequest::post("/api/v1/sdk/api-keys")
                .bearer(&alice)
                .json(&json!({"name": "alice game"})),
        )
        .await;
    let alice_key_id = res.json()["id"].as_str().unwrap().to_string();

    // Someone else's key cannot be revoked (and is not revealed).
    let res = app
        .send(TestRequest::delete(&format!("/api/v1/sdk/api-keys/{alice_key_id}")).bearer(&mallory))
        .await;
    res.assert_error(StatusCode::NOT_FOUND, "api_key_not_found");
    let res = app
        .send(TestRequest::delete("/api/v1/sdk/api-keys/not-a-uuid").bearer(&alice))
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "invalid_id");

    for bad in [
        "",
        "pk_live_",
        "pk_live_00000000000000000000000000000000",
        "Bearer x",
    ] {
        let res = app
            .send(TestRequest::get("/api/v1/sdk/personas").api_key(bad))
            .await;
        res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    }
    let res = app.send(TestRequest::get("/api/v1/sdk/personas")).await;
    res.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");

    let empty_name = app
        .send(
            TestRequest::post("/api/v1/sdk/api-keys")
                .bearer(&alice)
                .json(&json!({"name": "  "})),
        )
        .await;
    empty_name.assert_error(StatusCode::BAD_REQUEST, "missing_field");
    let no_auth = app
        .send(TestRequest::post("/api/v1/sdk/api-keys").json(&json!({"name": "x"})))
        .await;
    no_auth.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
}

const SUMMARY_KEYS: [&str; 7] = [
    "id",
    "name",
    "description",
    "is_public",
    "is_published",
    "created_at",
    "updated_at",
];

async fn persona_save_and_read(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("creator@example.com").await;
    let doc = sample_persona("Grumpy", false);
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&doc),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let saved = res.json();
    assert_eq!(keys(&saved), sorted(&SUMMARY_KEYS));
    assert_eq!(saved["is_published"], false);
    let id = saved["id"].as_str().unwrap();

    let full = app
        .send(TestRequest::get(&format!("/api/v1/personas/{id}/full")).bearer(&token))
        .await;
    assert_eq!(full.status, StatusCode::OK, "{}", full.text);
    let full = full.json();
    assert_eq!(full["persona"]["id"], id);
    assert!(full["machines"][0]["id"].as_str().is_some());
    // Apart from the ids, the document comes back as it was saved.
    let mut stripped = full.clone();
    stripped["persona"].as_object_mut().unwrap().remove("id");
    stripped["machines"][0]
        .as_object_mut()
        .unwrap()
        .remove("id");
    let expected: foil_types::persona::PersonaDocument = serde_json::from_value(doc).unwrap();
    let actual: foil_types::persona::PersonaDocument = serde_json::from_value(stripped).unwrap();
    assert_eq!(actual, expected);
    // The exported document (ids included) is accepted again as input.
    let again = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&full),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);

    let res = app
        .send(TestRequest::post(&format!("/api/v1/personas/{id}/publish")).bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(keys(&res.json()), sorted(&SUMMARY_KEYS));
    assert_eq!(res.json()["is_published"], true);
    let res = app
        .send(TestRequest::get(&format!("/api/v1/personas/{id}")).bearer(&token))
        .await;
    assert_eq!(res.json()["is_published"], true);
    let res = app
        .send(TestRequest::post(&format!("/api/v1/personas/{id}/unpublish")).bearer(&token))
        .await;
    assert_eq!(res.json()["is_published"], false);
}

async fn persona_validation_reports_every_problem(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("v@example.com").await;
    let mut doc = sample_persona("Broken", true);
    doc["machines"][0]["states"][1]["is_initial_state"] = json!(true); // two initial states
    doc["machines"][0]["transitions"][0]["to_state_key"] = json!("NOWHERE");
    doc["machines"][0]["is_entry"] = json!(false); // no entry machine
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&doc),
        )
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "invalid_persona");
    let details = res.json()["error"]["details"].as_array().unwrap().clone();
    assert!(details.len() >= 3, "every problem at once: {details:?}");
    for d in &details {
        assert!(d["path"].as_str().is_some() && d["message"].as_str().is_some());
    }
    let paths: Vec<&str> = details
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.iter().any(|p| p.contains("transitions[0]")),
        "{paths:?}"
    );

    // Unknown keys are typos, not silently dropped.
    let mut typo = sample_persona("Typo", true);
    typo["machines"][0]["scoring_mod"] = json!("scoring");
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&typo),
        )
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "invalid_persona");
    assert!(res.text.contains("scoring_mod"), "{}", res.text);

    // Nothing was stored.
    let mine = app
        .send(TestRequest::get("/api/v1/personas?my_personas=true").bearer(&token))
        .await;
    assert_eq!(mine.json(), json!([]));
}

async fn persona_access_control(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let owner = app.signup("owner@example.com").await;
    let other = app.signup("other@example.com").await;
    let draft = app
        .save_persona(&owner, &sample_persona("Draft", false))
        .await;
    let public = app
        .save_persona(&owner, &sample_persona("Public", true))
        .await;

    // Drafts: the owner sees them; others get 403, anonymous callers 401.
    let res = app
        .send(TestRequest::get(&format!("/api/v1/personas/{draft}")).bearer(&owner))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    app.send(TestRequest::get(&format!("/api/v1/personas/{draft}")).bearer(&other))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    app.send(TestRequest::get(&format!("/api/v1/personas/{draft}")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");

    // Public and published: anyone reads the summary, only the owner the document.
    let res = app
        .send(TestRequest::get(&format!("/api/v1/personas/{public}")))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    app.send(TestRequest::get(&format!("/api/v1/personas/{public}/full")).bearer(&other))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");

    // Nobody but the owner may change or delete it.
    for path in [
        format!("/api/v1/personas/{public}/publish"),
        format!("/api/v1/personas/{public}/unpublish"),
        format!("/api/v1/creator/save?persona_id={public}"),
    ] {
        let req = TestRequest::post(&path)
            .bearer(&other)
            .json(&sample_persona("Hijack", true));
        app.send(req)
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    app.send(TestRequest::delete(&format!("/api/v1/personas/{public}")).bearer(&other))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let still = app
        .send(TestRequest::get(&format!("/api/v1/personas/{public}")))
        .await;
    assert_eq!(still.json()["name"], "Public");

    let missing = uuid::Uuid::new_v4();
    app.send(TestRequest::get(&format!("/api/v1/personas/{missing}")))
        .await
        .assert_error(StatusCode::NOT_FOUND, "persona_not_found");
    app.send(TestRequest::get("/api/v1/personas/12345"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    app.send(
        TestRequest::post(&format!("/api/v1/creator/save?persona_id={missing}"))
            .bearer(&owner)
            .json(&sample_persona("X", true)),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "persona_not_found");
}

async fn persona_listing_and_paging(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let a = app.signup("list-a@example.com").await;
    let b = app.signup("list-b@example.com").await;
    for i in 0..5 {
        app.save_persona(&a, &sample_persona(&format!("Public {i}"), true))
            .await;
    }
    app.save_persona(&a, &sample_persona("Draft A", false))
        .await;
    app.save_persona(&b, &sample_persona("Draft B", false))
        .await;

    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let public = app.send(TestRequest::get("/api/v1/personas")).await;
    assert_eq!(public.status, StatusCode::OK);
    let all_public = names(public.json());
    assert_eq!(all_public.len(), 5, "{all_public:?}");
    assert!(public.json()[0].as_object().unwrap().len() == SUMMARY_KEYS.len());

    let page1 = names(
        app.send(TestRequest::get("/api/v1/personas?limit=2&offset=0"))
            .await
            .json(),
    );
    let page2 = names(
        app.send(TestRequest::get("/api/v1/personas?limit=2&offset=2"))
            .await
            .json(),
    );
    let page3 = names(
        app.send(TestRequest::get("/api/v1/personas?limit=2&offset=4"))
            .await
            .json(),
    );
    assert_eq!((page1.len(), page2.len(), page3.len()), (2, 2, 1));
    let mut paged = [page1, page2, page3].concat();
    paged.sort();
    let mut expected = all_public.clone();
    expected.sort();
    assert_eq!(paged, expected, "pages neither overlap nor skip");

    let mine = names(
        app.send(TestRequest::get("/api/v1/personas?my_personas=true&limit=100").bearer(&b))
            .await
            .json(),
    );
    assert_eq!(mine, vec!["Draft B"]);
    app.send(TestRequest::get("/api/v1/personas?my_personas=true"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    for bad in [
        "limit=0",
        "limit=101",
        "offset=-1",
        "limit=abc",
        "my_personas=maybe",
    ] {
        app.send(TestRequest::get(&format!("/api/v1/personas?{bad}")))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
}

async fn persona_replace_keeps_machine_ids(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("replace@example.com").await;
    let id = app.save_persona(&token, &sample_persona("V1", true)).await;
    let full_path = format!("/api/v1/personas/{id}/full");
    let full = || app.send(TestRequest::get(&full_path).bearer(&token));
    let before = full().await.json();
    let mut v2 = sample_persona("V2", true);
    v2["machines"].as_array_mut().unwrap().push(json!({
        "machine_key": "second", "name": "Second", "is_entry": false,
        "states": [
            {"state_key": "A", "is_initial_state": true},
            {"state_key": "B", "is_terminal_state": true}
        ],
        "transitions": [{"from_state_key": "A", "to_state_key": "B", "decision_type": "pass", "condition": "ok"}]
    }));
    let res = app
        .send(
            TestRequest::post(&format!("/api/v1/creator/save?persona_id={id}"))
                .bearer(&token)
                .json(&v2),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.json()["name"], "V2");
    assert_eq!(res.json()["id"], id.as_str());
    let after = full().await.json();
    assert_eq!(
        after["machines"][0]["id"], before["machines"][0]["id"],
        "same key, same id"
    );
    assert_eq!(after["machines"].as_array().unwrap().len(), 2);

    // An invalid replacement changes nothing.
    let mut broken = v2.clone();
    broken["machines"][1]["states"] = json!([]);
    let res = app
        .send(
            TestRequest::post(&format!("/api/v1/creator/save?persona_id={id}"))
                .bearer(&token)
                .json(&broken),
        )
        .await;
    res.assert_error(StatusCode::BAD_REQUEST, "invalid_persona");
    assert_eq!(full().await.json(), after);
}

async fn persona_delete_cascades(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("delete@example.com").await;
    let id = app
        .save_persona(&token, &sample_persona("Doomed", true))
        .await;
    let machine_id: String = sqlx::query_scalar("SELECT id FROM machines WHERE persona_id = $1")
        .bind(&id)
        .fetch_one(app.ctx.db.pool())
        .await
        .unwrap();
    // A session with a message, as the chat engine stores them.
    let session_id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO chat_sessions (id, scope, persona_id, machine_id, user_session_id, player_name, \
         player_gender, current_state, started_at, last_active_at) \
         VALUES ($1, 'sdk:x', $2, $3, 'player', 'P', 'female', 'S0', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
    )
    .bind(&session_id)
    .bind(&id)
    .bind(&machine_id)
    .execute(app.ctx.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO chat_messages (id, session_id, seq, role, content, created_at) \
         VALUES ($1, $2, 1, 'assistant', 'hi', '2026-01-01T00:00:00.000000Z')",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(&session_id)
    .execute(app.ctx.db.pool())
    .await
    .unwrap();

    let res = app
        .send(TestRequest::delete(&format!("/api/v1/personas/{id}")).bearer(&token))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    app.send(TestRequest::get(&format!("/api/v1/personas/{id}")).bearer(&token))
        .await
        .assert_error(StatusCode::NOT_FOUND, "persona_not_found");
    for table in ["machines", "chat_sessions", "chat_messages"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(app.ctx.db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} rows left after delete");
    }
}

async fn sdk_personas_exact_keys_and_scope(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let a = app.signup("sdk-a@example.com").await;
    let b = app.signup("sdk-b@example.com").await;
    let published = app
        .save_persona(&a, &sample_persona("A published", true))
        .await;
    let mut private_published = sample_persona("A private but published", true);
    private_published["persona"]["is_public"] = json!(false);
    let private_published = app.save_persona(&a, &private_published).await;
    app.save_persona(&a, &sample_persona("A draft", false))
        .await;
    app.save_persona(&b, &sample_persona("B published", true))
        .await;
    let key_a = app.create_key(&a).await;

    let res = app
        .send(TestRequest::get("/api/v1/sdk/personas").api_key(&key_a))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let list = res.json();
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![published.as_str(), private_published.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "only this account's published personas");
    for p in list.as_array().unwrap() {
        assert_eq!(
            keys(p),
            sorted(&["id", "name", "description", "created_at", "updated_at"]),
            "Persona keys are exact"
        );
    }
}

async fn malformed_requests_get_400(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let token = app.signup("bad@example.com").await;
    let cases: Vec<(TestRequest, &str)> = vec![
        (
            TestRequest::post("/api/v1/auth/signup").raw("{not json"),
            "invalid_body",
        ),
        (
            TestRequest::post("/api/v1/auth/signup").raw(""),
            "invalid_body",
        ),
        (
            TestRequest::post("/api/v1/auth/signup").json(&json!({"email": "x@y.z"})),
            "invalid_body",
        ),
        (
            TestRequest::post("/api/v1/auth/signup")
                .json(&json!({"email": 5, "password": "long enough"})),
            "invalid_body",
        ),
        (
            TestRequest::post("/api/v1/auth/login")
                .json(&json!({"email": "a@b.c", "password": "x", "extra": 1})),
            "invalid_body",
        ),
        (
            TestRequest::post("/api/v1/sdk/api-keys")
                .bearer(&token)
                .json(&json!({"name": "x".repeat(101)})),
            "field_too_long",
        ),
        (
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .raw("[]"),
            "invalid_persona",
        ),
        (
            TestRequest::post("/api/v1/creator/save?persona_id=nope")
                .bearer(&token)
                .json(&sample_persona("x", true)),
            "invalid_id",
        ),
    ];
    for (req, code) in cases {
        let path = req.path.clone();
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}: {}", res.text);
        res.assert_error(StatusCode::BAD_REQUEST, code);
    }
    app.send(TestRequest::get("/api/v1/nothing-here"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

async fn body_limit_gives_413(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| {
        c.max_body_bytes = 2048;
        c.max_document_bytes = 8192;
    })
    .await
    else {
        return;
    };
    let token = app.signup("big@example.com").await;

    // The general limit: any route that does not take a persona document.
    let res = app
        .send(TestRequest::post("/api/v1/auth/login").json(&json!({
            "email": "big@example.com", "password": "x".repeat(4096)
        })))
        .await;
    res.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // The document limit: a document over the general limit but under it saves...
    let mut doc = sample_persona("Large", true);
    doc["persona"]["identity_prompt"] = json!("x".repeat(4096));
    app.save_persona(&token, &doc).await;

    // ...and one over it is refused whole, nothing stored.
    let mut doc = sample_persona("Huge", true);
    doc["persona"]["identity_prompt"] = json!("x".repeat(16384));
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&doc),
        )
        .await;
    res.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let mine = app
        .send(TestRequest::get("/api/v1/personas?my_personas=true").bearer(&token))
        .await;
    let names: Vec<_> = mine
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Large")]);
}

async fn operations_routes(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let health = app.send(TestRequest::get("/healthz")).await;
    assert_eq!(
        (health.status, health.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let ready = app.send(TestRequest::get("/readyz")).await;
    assert_eq!(
        (ready.status, ready.json()),
        (StatusCode::OK, json!({"status": "ready"}))
    );
    assert!(health.headers.contains_key("x-request-id"));

    app.send(TestRequest::get("/api/v1/personas")).await;
    let metrics = app.send(TestRequest::get("/metrics")).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.text.contains("foil_http_requests_total")
            && metrics.text.contains("/api/v1/personas"),
        "{}",
        &metrics.text[..metrics.text.len().min(2000)]
    );

    let spec = app.send(TestRequest::get("/openapi.json")).await;
    assert_eq!(spec.status, StatusCode::OK);
    let spec = spec.json();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/auth/migrate-progress",
        "/api/v1/sdk/api-keys",
        "/api/v1/sdk/api-keys/{key_id}",
        "/api/v1/personas",
        "/api/v1/personas/{id}",
        "/api/v1/personas/{id}/full",
        "/api/v1/personas/{id}/publish",
        "/api/v1/personas/{id}/unpublish",
        "/api/v1/creator/save",
        "/api/v1/sdk/personas",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from /openapi.json"
        );
    }
    let docs = app.send(TestRequest::get("/docs")).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(
        docs.text.contains("<html") || docs.text.contains("<!doctype"),
        "docs page"
    );
}
