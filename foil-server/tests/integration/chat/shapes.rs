//! The exact key sets of every chat response (api.md §4.2: the official SDKs build their
//! objects with `Type(**json)`), and the stored history: greeting first, then the exchanges in
//! order with the state, score and decision of their time.

use serde_json::Value;

use super::support::{
    chat_persona, machine_id_of, setup, Player, CHAT_HISTORY_KEYS, CHAT_RESPONSE_KEYS,
    MACHINE_INFO_KEYS, MESSAGE_KEYS, SESSION_INIT_KEYS, SESSION_STATUS_KEYS, UNLOCKED_MACHINE_KEYS,
};
use crate::common::{keys, sorted, Backend, TestApp};

crate::on_both_databases!(response_shapes_and_history, web_family_has_the_same_shapes);

#[track_caller]
fn assert_timestamp(value: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert!(text.ends_with('Z'), "not UTC with Z: {text}");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
        .with_timezone(&chrono::Utc)
}

#[track_caller]
fn assert_uuid(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("not a UUID ({e}): {text}"));
}

/// One message of a history: role, content, and the state, score, decision and follow-up
/// flag of its time.
#[track_caller]
fn assert_message(
    m: &Value,
    role: &str,
    content: &str,
    state: &str,
    score: i64,
    decision: Option<&str>,
    follow_up: bool,
) {
    assert_eq!(keys(m), sorted(&MESSAGE_KEYS), "{m}");
    assert_uuid(&m["id"]);
    assert_timestamp(&m["created_at"]);
    assert_eq!(m["role"], role, "{m}");
    assert_eq!(m["content"], content, "{m}");
    assert_eq!(m["state_key_at_time"], state, "{m}");
    assert_eq!(m["score_at_time"], score, "{m}");
    assert_eq!(
        m["decision"],
        decision.map_or(Value::Null, Value::from),
        "{m}"
    );
    assert_eq!(m["follow_up_triggered"], follow_up, "{m}");
}

#[track_caller]
fn assert_chat_response(r: &Value) {
    assert_eq!(keys(r), sorted(&CHAT_RESPONSE_KEYS), "{r}");
    for u in r["unlocked_machines"].as_array().expect("a list") {
        assert_eq!(keys(u), sorted(&UNLOCKED_MACHINE_KEYS), "{u}");
    }
}

async fn response_shapes_and_history(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(&app, "shapes@example.com", &chat_persona("Shapes", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "shape-player");

    // Persona list.
    let res = app
        .send(crate::common::TestRequest::get("/api/v1/sdk/personas").api_key(&s.key))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    for p in res.json().as_array().unwrap() {
        assert_eq!(
            keys(p),
            sorted(&["id", "name", "description", "created_at", "updated_at"])
        );
    }

    // Machines before playing: only the entry machine.
    let machines = player.machines(&app).await;
    assert_eq!(machines.len(), 1, "{machines:?}");
    let m = &machines[0];
    assert_eq!(keys(m), sorted(&MACHINE_INFO_KEYS));
    assert_eq!(m["machine_key"], "main");
    assert_eq!(m["name"], "Main scene");
    assert_eq!(m["description"], "The first conversation");
    assert_eq!(m["has_session"], false);
    assert_eq!(m["session_outcome"], Value::Null);
    assert_eq!(m["is_linked"], false);
    let main_id = m["machine_id"].as_str().unwrap().to_string();

    // SessionInit.
    let res = app.send(player.init_request("  Ada  ", "non-binary")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let init = res.json();
    assert_eq!(keys(&init), sorted(&SESSION_INIT_KEYS), "{init}");
    assert_uuid(&init["session_id"]);
    assert_eq!(init["user_session_id"], "shape-player");
    assert_eq!(init["persona_name"], "Shapes");
    assert_eq!(init["persona_description"], "An NPC for chat tests");
    assert_eq!(init["player_name"], "Ada");
    assert_eq!(init["player_gender"], "non-binary");
    assert_eq!(init["machine_id"], main_id.as_str());
    let greeting = init["message"].as_str().unwrap().to_string();
    assert!(!greeting.is_empty());
    let session_id = init["session_id"].clone();

    // Four turns: follow-up, redirect, pass, pass to the end.
    let follow = player.say(&app, "what?").await;
    assert_chat_response(&follow);
    assert_eq!(follow["decision"], "follow_up", "{follow}");
    assert_eq!(follow["follow_up"], true);
    assert_eq!(follow["current_state"], "S0");
    assert_eq!(follow["score"], 0);
    assert_eq!(follow["outcome"], Value::Null);
    assert_eq!(follow["session_id"], session_id);
    assert_eq!(follow["scoring_mode"], "scoring");
    assert_eq!(follow["redirect_count"], 0);
    assert_eq!(follow["machine_completed"], false);
    assert_eq!(follow["unlocked_machines"], serde_json::json!([]));

    let redirect = player.say(&app, "zzz qqq").await;
    assert_chat_response(&redirect);
    assert_eq!(redirect["decision"], "redirect", "{redirect}");
    assert_eq!(redirect["follow_up"], false);
    assert_eq!(redirect["current_state"], "S0");
    assert_eq!(redirect["redirect_count"], 1);

    let pass = player.say(&app, "hello there").await;
    assert_chat_response(&pass);
    assert_eq!(pass["decision"], "pass", "{pass}");
    assert_eq!(pass["current_state"], "S1");
    assert_eq!(pass["score"], 1);
    assert_eq!(pass["redirect_count"], 0);

    let end = player.say(&app, "goodbye now").await;
    assert_chat_response(&end);
    assert_eq!(end["decision"], "pass", "{end}");
    assert_eq!(end["current_state"], "END");
    assert_eq!(end["score"], 2);
    assert_eq!(end["outcome"], "ACCEPT");
    assert_eq!(end["machine_completed"], true);
    let unlocked = end["unlocked_machines"].as_array().unwrap();
    assert_eq!(unlocked.len(), 1, "{end}");
    assert_eq!(unlocked[0]["machine_key"], "epilogue");
    assert_eq!(unlocked[0]["name"], "Epilogue");
    assert_eq!(unlocked[0]["is_auto_advance"], true);
    let epilogue_id = unlocked[0]["machine_id"].as_str().unwrap().to_string();

    // SessionStatus.
    let status = player.status(&app).await;
    assert_eq!(keys(&status), sorted(&SESSION_STATUS_KEYS), "{status}");
    assert_eq!(status["session_id"], session_id);
    assert_eq!(status["persona_id"], s.persona_id.as_str());
    assert_eq!(status["machine_id"], main_id.as_str());
    assert_eq!(status["current_state"], "END");
    assert_eq!(status["score"], 2);
    assert_eq!(status["outcome"], "ACCEPT");
    assert_eq!(status["player_name"], "Ada");
    assert_eq!(status["player_gender"], "non-binary");
    let started = assert_timestamp(&status["started_at"]);
    let last = assert_timestamp(&status["last_message_at"]);
    assert!(started <= last, "{status}");

    // ChatHistory: the greeting first, then the exchanges in order.
    let history = player.history(&app).await;
    assert_eq!(keys(&history), sorted(&CHAT_HISTORY_KEYS), "{history}");
    assert_eq!(history["session_id"], session_id);
    assert_eq!(history["persona_id"], s.persona_id.as_str());
    assert_eq!(history["current_state"], "END");
    assert_eq!(history["score"], 2);
    assert_eq!(history["outcome"], "ACCEPT");
    assert_eq!(history["player_name"], "Ada");
    assert_eq!(history["player_gender"], "non-binary");
    assert_eq!(history["started_at"], status["started_at"]);
    assert_eq!(history["last_message_at"], status["last_message_at"]);
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 9, "{history}");
    let text = |r: &Value| r["message"].as_str().unwrap().to_string();
    assert_message(&messages[0], "assistant", &greeting, "S0", 0, None, false);
    assert_message(
        &messages[1],
        "user",
        "what?",
        "S0",
        0,
        Some("follow_up"),
        false,
    );
    assert_message(
        &messages[2],
        "assistant",
        &text(&follow),
        "S0",
        0,
        Some("follow_up"),
        true,
    );
    assert_message(
        &messages[3],
        "user",
        "zzz qqq",
        "S0",
        0,
        Some("redirect"),
        false,
    );
    assert_message(
        &messages[4],
        "assistant",
        &text(&redirect),
        "S0",
        0,
        Some("redirect"),
        false,
    );
    assert_message(
        &messages[5],
        "user",
        "hello there",
        "S0",
        0,
        Some("pass"),
        false,
    );
    assert_message(
        &messages[6],
        "assistant",
        &text(&pass),
        "S1",
        1,
        Some("pass"),
        false,
    );
    assert_message(
        &messages[7],
        "user",
        "goodbye now",
        "S1",
        1,
        Some("pass"),
        false,
    );
    assert_message(
        &messages[8],
        "assistant",
        &text(&end),
        "END",
        2,
        Some("pass"),
        false,
    );
    let times: Vec<_> = messages
        .iter()
        .map(|m| assert_timestamp(&m["created_at"]))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in order: {times:?}"
    );
    let ids: std::collections::HashSet<_> = messages.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids.len(), messages.len(), "message ids are unique");

    // The unlocked machine is now listed, linked, not yet played.
    let machines = player.machines(&app).await;
    assert_eq!(machines.len(), 2, "{machines:?}");
    for m in &machines {
        assert_eq!(keys(m), sorted(&MACHINE_INFO_KEYS));
    }
    assert_eq!(
        machine_id_of(&machines, "epilogue"),
        Some(epilogue_id.clone())
    );
    let main = machines
        .iter()
        .find(|m| m["machine_key"] == "main")
        .unwrap();
    assert_eq!(main["has_session"], true);
    assert_eq!(main["session_outcome"], "ACCEPT");
    let epilogue = machines
        .iter()
        .find(|m| m["machine_key"] == "epilogue")
        .unwrap();
    assert_eq!(epilogue["has_session"], false);
    assert_eq!(epilogue["session_outcome"], Value::Null);
    assert_eq!(epilogue["is_linked"], true);
    assert_eq!(epilogue["description"], Value::Null);

    // Without `machine_id`, session/history follow the most recently active session: start the
    // epilogue and they switch to it.
    let epi_player = player.clone().on_machine(Some(&epilogue_id));
    let epi = epi_player.init(&app).await;
    assert_eq!(epi["machine_id"], epilogue_id.as_str());
    assert_ne!(epi["session_id"], session_id);
    let latest = player.status(&app).await;
    assert_eq!(latest["machine_id"], epilogue_id.as_str());
    assert_eq!(latest["current_state"], "E0");
    let finished = player.clone().on_machine(Some(&main_id)).status(&app).await;
    assert_eq!(finished["session_id"], session_id);
    let r = player.say(&app, "farewell friend").await;
    assert_eq!(r["session_id"], epi["session_id"], "{r}");
    assert_eq!(r["outcome"], "ACCEPT", "{r}");
}

async fn web_family_has_the_same_shapes(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let s = setup(
        &app,
        "web-shapes@example.com",
        &chat_persona("Web Shapes", true),
    )
    .await;
    let player_token = app.signup("web-player@example.com").await;
    let player = Player::web(&player_token, &s.persona_id, "web-player");

    let machines = player.machines(&app).await;
    assert_eq!(machines.len(), 1);
    assert_eq!(keys(&machines[0]), sorted(&MACHINE_INFO_KEYS));
    let init = player.init(&app).await;
    assert_eq!(keys(&init), sorted(&SESSION_INIT_KEYS), "{init}");
    let r = player.say(&app, "hello there").await;
    assert_chat_response(&r);
    assert_eq!(r["current_state"], "S1");
    let status = player.status(&app).await;
    assert_eq!(keys(&status), sorted(&SESSION_STATUS_KEYS), "{status}");
    let history = player.history(&app).await;
    assert_eq!(keys(&history), sorted(&CHAT_HISTORY_KEYS), "{history}");
    for m in history["messages"].as_array().unwrap() {
        assert_eq!(keys(m), sorted(&MESSAGE_KEYS));
    }
    let res = app.send(player.reset_request()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(keys(&res.json()), sorted(&["session_id", "message"]));
}
