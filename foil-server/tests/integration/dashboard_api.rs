//! The server side of the creator dashboard: `creator/validate` (the same rules as
//! `creator/save`, nothing stored), the owner's sessions view with the evaluator's reasons,
//! the public config route, state positions kept across saves, and how the dashboard's files
//! are served (SPA fallback, cache headers, CSP, API 404s untouched).

use crate::common::{keys, sample_persona, sorted, Backend, TestApp, TestRequest};
use axum::http::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    validate_reports_every_problem_and_stores_nothing,
    sessions_view_shows_reasons_to_the_owner_only,
    positions_survive_a_save,
);

async fn validate_reports_every_problem_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let token = app.signup("validate@example.com").await;
    let validate = |doc: Value| {
        TestRequest::post("/api/v1/creator/validate")
            .bearer(&token)
            .json(&doc)
    };

    let res = app.send(validate(sample_persona("Fine", false))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.json(),
        json!({"valid": true, "issues": [], "warnings": []})
    );

    // Exports carry the default thresholds on pass_fail scenarios: accepted with a warning
    // each, saved, and kept.
    let mut exported = sample_persona("Exported", false);
    exported["machines"][0]["scoring_mode"] = json!("pass_fail");
    exported["machines"][0]["pass_threshold"] = json!(1);
    exported["machines"][0]["fail_threshold"] = json!(-3);
    let report = app.send(validate(exported.clone())).await.json();
    assert_eq!(report["valid"], json!(true), "{report}");
    assert_eq!(report["issues"], json!([]));
    let warned: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        warned,
        ["machines[0].pass_threshold", "machines[0].fail_threshold"]
    );
    let id = app.save_persona(&token, &exported).await;
    let full = app
        .send(TestRequest::get(&format!("/api/v1/personas/{id}/full")).bearer(&token))
        .await
        .json();
    assert_eq!(full["machines"][0]["pass_threshold"], json!(1), "{full}");
    assert_eq!(full["machines"][0]["fail_threshold"], json!(-3));
    app.send(TestRequest::delete(&format!("/api/v1/personas/{id}")).bearer(&token))
        .await;

    // Several semantic problems at once, each with its path — the same list save answers with.
    let mut broken = sample_persona("", false);
    broken["machines"][0]["transitions"][0]["to_state_key"] = json!("NOWHERE");
    broken["machines"][0]["states"][1]["is_terminal_state"] = json!(false);
    let res = app.send(validate(broken.clone())).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let report = res.json();
    assert_eq!(keys(&report), sorted(&["valid", "issues", "warnings"]));
    assert_eq!(report["valid"], json!(false));
    let paths: Vec<&str> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"persona.name"), "{paths:?}");
    assert!(
        paths.contains(&"machines[0].transitions[0].to_state_key"),
        "{paths:?}"
    );
    let saved = app
        .send(
            TestRequest::post("/api/v1/creator/save")
                .bearer(&token)
                .json(&broken),
        )
        .await;
    saved.assert_error(StatusCode::BAD_REQUEST, "invalid_persona");
    assert_eq!(saved.json()["error"]["details"], report["issues"]);

    // A parse problem is an issue with its path too, not a 400.
    let mut unknown_key = sample_persona("Typo", false);
    unknown_key["machines"][0]["states"][0]["colour"] = json!("red");
    let res = app.send(validate(unknown_key)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let issues = res.json()["issues"].clone();
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    assert_eq!(issues[0]["path"], json!("machines[0].states[0].colour"));
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/validate")
                .bearer(&token)
                .raw("{not json"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["valid"], json!(false));

    // Nothing was stored by any of it, and the route needs a token.
    let listed = app
        .send(TestRequest::get("/api/v1/personas?my_personas=true").bearer(&token))
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.text.matches("\"id\"").count(), 0, "{}", listed.text);
    let anonymous = app
        .send(TestRequest::post("/api/v1/creator/validate").json(&sample_persona("x", false)))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn sessions_view_shows_reasons_to_the_owner_only(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let owner = app.signup("owner@example.com").await;
    let stranger = app.signup("stranger@example.com").await;
    let persona = app
        .save_persona(&owner, &sample_persona("Host", true))
        .await;
    let key = app.create_key(&owner).await;

    // One SDK player finishes the machine; one web player (a playtest) only says something else.
    let init = |usid: &str| json!({"user_session_id": usid, "player_name": "Pat", "player_gender": "non-binary"});
    let sdk =
        |path: &str| TestRequest::post(&format!("/api/v1/sdk/chat/{persona}/{path}")).api_key(&key);
    assert_eq!(
        app.send(sdk("init-session").json(&init("game-1")))
            .await
            .status,
        StatusCode::OK
    );
    let turn = app
        .send(sdk("message").json(&json!({"user_session_id": "game-1", "message": "hello there"})))
        .await;
    assert_eq!(turn.status, StatusCode::OK, "{}", turn.text);
    assert_eq!(turn.json()["outcome"], json!("ACCEPT"));
    let web =
        |path: &str| TestRequest::post(&format!("/api/v1/chat/{persona}/{path}")).bearer(&owner);
    assert_eq!(
        app.send(web("init-session").json(&init("playtest")))
            .await
            .status,
        StatusCode::OK
    );
    let turn = app
        .send(
            web("message").json(&json!({"user_session_id": "playtest", "message": "what weather"})),
        )
        .await;
    assert_eq!(turn.status, StatusCode::OK, "{}", turn.text);

    let list = |query: &str, token: &str| {
        TestRequest::get(&format!("/api/v1/personas/{persona}/sessions{query}")).bearer(token)
    };
    let res = app.send(list("", &owner)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let page = res.json();
    assert_eq!(
        keys(&page),
        sorted(&["sessions", "total", "limit", "offset"])
    );
    assert_eq!(page["total"], json!(2));
    let first = &page["sessions"][0];
    assert_eq!(
        keys(first),
        sorted(&[
            "session_id",
            "channel",
            "user_session_id",
            "player_name",
            "player_gender",
            "machine_id",
            "machine_key",
            "machine_name",
            "current_state",
            "score",
            "outcome",
            "message_count",
            "started_at",
            "last_active_at",
        ])
    );
    // Most recent activity first: the playtest.
    assert_eq!(first["channel"], json!("web"));
    assert_eq!(first["machine_name"], json!("Main"));
    assert_eq!(first["message_count"], json!(3));

    let only = |query: &'static str| {
        let request = list(query, &owner);
        let app = &app;
        async move {
            let res = app.send(request).await;
            assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text);
            res.json()["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["user_session_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(only("?channel=sdk").await, ["game-1"]);
    assert_eq!(only("?outcome=ACCEPT").await, ["game-1"]);
    assert_eq!(only("?outcome=active").await, ["playtest"]);
    assert_eq!(only("?limit=1&offset=1").await, ["game-1"]);
    let machine_id = first["machine_id"].as_str().unwrap().to_string();
    let by_machine = app
        .send(list(&format!("?machine_id={machine_id}"), &owner))
        .await;
    assert_eq!(by_machine.json()["total"], json!(2));
    for bad in [
        "?outcome=WON",
        "?channel=tv",
        "?limit=0",
        "?limit=101",
        "?machine_id=x",
    ] {
        app.send(list(bad, &owner)).await.assert_error(
            StatusCode::BAD_REQUEST,
            if bad.contains("machine") {
                "invalid_id"
            } else {
                "invalid_query"
            },
        );
    }

    // The finished SDK session explains its decision on the player's message.
    let sdk_session = page["sessions"][1]["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .send(
            TestRequest::get(&format!(
                "/api/v1/personas/{persona}/sessions/{sdk_session}"
            ))
            .bearer(&owner),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let detail = res.json();
    assert_eq!(keys(&detail), sorted(&["session", "messages"]));
    assert_eq!(detail["session"]["outcome"], json!("ACCEPT"));
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["role"], json!("assistant"));
    assert_eq!(messages[0]["evaluator_reason"], Value::Null);
    assert_eq!(messages[1]["role"], json!("user"));
    assert_eq!(messages[1]["decision"], json!("pass"));
    let reason = messages[1]["evaluator_reason"].as_str().expect("a reason");
    assert!(reason.contains("the player says hello"), "{reason}");

    // Players never see the reason: the SDK history has no such key.
    let history = app
        .send(
            TestRequest::get(&format!(
                "/api/v1/sdk/chat/{persona}/history?user_session_id=game-1"
            ))
            .api_key(&key),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(
        !history.text.contains("evaluator_reason"),
        "{}",
        history.text
    );
    assert!(!history.text.contains(reason), "{}", history.text);

    // Someone else's persona or session: 404, as if it did not exist.
    app.send(list("", &stranger))
        .await
        .assert_error(StatusCode::NOT_FOUND, "persona_not_found");
    app.send(
        TestRequest::get(&format!(
            "/api/v1/personas/{persona}/sessions/{sdk_session}"
        ))
        .bearer(&stranger),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "persona_not_found");
    let other = app
        .save_persona(&stranger, &sample_persona("Other", true))
        .await;
    app.send(
        TestRequest::get(&format!("/api/v1/personas/{other}/sessions/{sdk_session}"))
            .bearer(&stranger),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "session_not_found");
    let unauthenticated = app
        .send(TestRequest::get(&format!(
            "/api/v1/personas/{persona}/sessions"
        )))
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
}

async fn positions_survive_a_save(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let token = app.signup("layout@example.com").await;
    let mut doc = sample_persona("Laid out", false);
    doc["machines"][0]["states"][0]["position"] = json!({"x": 120.5, "y": -40.0});
    let id = app.save_persona(&token, &doc).await;
    let full = app
        .send(TestRequest::get(&format!("/api/v1/personas/{id}/full")).bearer(&token))
        .await
        .json();
    assert_eq!(
        full["machines"][0]["states"][0]["position"],
        json!({"x": 120.5, "y": -40.0})
    );
    // Unpositioned states stay without the key (the editor lays them out).
    assert!(full["machines"][0]["states"][1].get("position").is_none());

    doc["machines"][0]["states"][0]["position"] = json!({"x": 1e9, "y": 0});
    let res = app
        .send(
            TestRequest::post("/api/v1/creator/validate")
                .bearer(&token)
                .json(&doc),
        )
        .await;
    assert_eq!(
        res.json()["issues"][0]["path"],
        json!("machines[0].states[0].position")
    );
}

/// The largest machine validation allows (200 states, two transitions from each) is far above
/// the server-wide 64 KiB body limit: the document routes take up to `max_document_bytes`.
fn largest_machine_persona() -> Value {
    let mut doc = sample_persona("Two hundred rooms", false);
    let n = 200;
    let prompt =
        "Describe this room of the labyrinth to the player and ask which door they take next.";
    let states: Vec<Value> = (0..n)
        .map(|i| {
            json!({"state_key": format!("ROOM_{i:03}"), "label": format!("Room {i}"),
                   "prompt_instruction": prompt, "is_initial_state": i == 0,
                   "is_terminal_state": i == n - 1})
        })
        .collect();
    let transitions: Vec<Value> = (0..n - 1)
        .flat_map(|i| {
            [(i + 1, "pass", 1), ((i + 2).min(n - 1), "redirect", 0)].map(|(to, decision, delta)| {
                json!({"from_state_key": format!("ROOM_{i:03}"), "to_state_key": format!("ROOM_{to:03}"),
                       "decision_type": decision, "score_delta": delta,
                       "condition": format!("the player takes the {decision} door of room {i}")})
            })
        })
        .collect();
    doc["machines"][0]["states"] = json!(states);
    doc["machines"][0]["transitions"] = json!(transitions);
    doc
}

#[tokio::test]
async fn documents_of_the_largest_machine_fit_the_document_limit() {
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let token = app.signup("labyrinth@example.com").await;
    let doc = largest_machine_persona();
    let bytes = serde_json::to_vec(&doc).unwrap().len();
    assert!(
        bytes > 64 * 1024,
        "the document ({bytes} B) exceeds the general limit"
    );
    let post = |path: &str, body: &Value| TestRequest::post(path).bearer(&token).json(body);

    let res = app.send(post("/api/v1/creator/validate", &doc)).await;
    assert_eq!(
        res.json(),
        json!({"valid": true, "issues": [], "warnings": []}),
        "{}",
        res.text
    );
    let id = app.save_persona(&token, &doc).await;
    let full = app
        .send(TestRequest::get(&format!("/api/v1/personas/{id}/full")).bearer(&token))
        .await
        .json();
    assert_eq!(full["machines"][0]["states"].as_array().unwrap().len(), 200);

    // Above the document limit: 413 naming it; other routes keep the general limit.
    let mut huge = doc.clone();
    huge["persona"]["description"] = json!("x".repeat(1024 * 1024));
    app.send(post("/api/v1/creator/validate", &huge))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    app.send(post("/api/v1/auth/login", &doc))
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn config_route_tells_the_page_how_to_sign_in() {
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let res = app.send(TestRequest::get("/api/v1/dashboard/config")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"auth_mode": "builtin", "signup_enabled": true, "supabase_url": null,
               "supabase_anon_key": null, "default_model": "offline"})
    );
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| {
        c.supabase_url = Some("https://demo.supabase.co".into());
        c.supabase_anon_key = Some("anon-public-key".into());
    })
    .await
    else {
        return;
    };
    let config = app
        .send(TestRequest::get("/api/v1/dashboard/config"))
        .await
        .json();
    assert_eq!(config["auth_mode"], json!("supabase"));
    assert_eq!(config["signup_enabled"], json!(false));
    assert_eq!(config["supabase_url"], json!("https://demo.supabase.co"));
    let page = app.send(TestRequest::get("/")).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("connect-src 'self' https://demo.supabase.co;"),
        "{csp}"
    );
}

#[tokio::test]
async fn dashboard_files_are_served_with_the_right_headers() {
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let index = app.send(TestRequest::get("/")).await;
    assert_eq!(index.status, StatusCode::OK, "{}", index.text);
    assert!(index.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(index.headers["cache-control"], "no-cache");
    let csp = index.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        !index.text.contains("<script>"),
        "no inline scripts: {}",
        index.text
    );

    // Client-side routes get the app page; hashed assets are immutable and revalidate by ETag.
    let route = app
        .send(TestRequest::get("/personas/some-id/sessions"))
        .await;
    assert_eq!(route.status, StatusCode::OK);
    assert_eq!(route.text, index.text);
    let asset = index
        .text
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("the page loads a hashed script")
        .to_string();
    let js = app.send(TestRequest::get(&asset)).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(
        js.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = js.headers["etag"].to_str().unwrap().to_string();
    let again = app
        .send(TestRequest::get(&asset).header("if-none-match", &etag))
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let gzipped = app
        .send(TestRequest::get(&asset).header("accept-encoding", "gzip"))
        .await;
    assert_eq!(gzipped.headers["content-encoding"], "gzip");
    assert_eq!(
        app.send(TestRequest::get("/assets/missing-0000.js"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The API reference is a page of the build, with no script from another origin.
    let docs = app.send(TestRequest::get("/docs")).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("api-reference"), "{}", docs.text);
    assert!(
        !docs.text.contains("http://") && !docs.text.contains("https://"),
        "{}",
        docs.text
    );

    // API paths keep their JSON errors; other methods are not served the page.
    app.send(TestRequest::get("/api/v1/nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.send(TestRequest::post("/personas"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.send(TestRequest::get("/healthz")).await.json()["status"],
        "ok"
    );

    let Some(api_only) = TestApp::with_config(Backend::Sqlite, |c| c.dashboard = false).await
    else {
        return;
    };
    api_only
        .send(TestRequest::get("/"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

/// The dashboard's API types are generated from `dashboard/openapi.json`; this keeps that copy
/// equal to what the server serves, so API drift fails here and then in the dashboard's build.
#[tokio::test]
async fn dashboard_openapi_copy_is_current() {
    let Some(app) = TestApp::new(Backend::Sqlite).await else {
        return;
    };
    let served = app.send(TestRequest::get("/openapi.json")).await;
    assert_eq!(served.status, StatusCode::OK);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboard/openapi.json");
    if std::env::var_os("FOIL_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &served.text).expect("write dashboard/openapi.json");
    }
    let committed = std::fs::read_to_string(path).expect("dashboard/openapi.json");
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("JSON");
    assert!(
        parse(&committed) == parse(&served.text),
        "dashboard/openapi.json is stale: run `FOIL_UPDATE_OPENAPI=1 cargo test -p foil-server \
         --test integration dashboard_openapi_copy_is_current`, then `npm run build` in dashboard/"
    );
}
