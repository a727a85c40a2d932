//! The shared request engine against a real `foil-server` on loopback: what a game's thread
//! takes, in order — the guarantees both plugins (the C ABI and the Godot binding) rely on.

mod support;
#[path = "support/test_config.rs"]
mod test_config;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use foil_client::engine::{Engine, EngineError, Event, EventKind, RequestId};
use foil_client::{ArgumentError, ClientConfig};
use support::{SilentServer, TestServer};
use test_config::TestConfig;

const WAIT: Duration = Duration::from_secs(60);
const UNKNOWN_ID: &str = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";

const GRACE: Duration = Duration::from_millis(500);

/// An engine without a client yet.
fn unconfigured() -> Engine {
    let none = Err(ArgumentError::invalid("api_key", "not configured").into());
    Engine::new("foil-test", none).expect("runtime")
}

/// An engine configured for `server`.
fn engine(server: &TestServer) -> Engine {
    let d = unconfigured();
    d.configure(server.config()).expect("valid config");
    d
}

/// Takes everything for `id`, which must finish.
fn run(d: &Engine, id: Result<RequestId, EngineError>) -> Vec<Event> {
    let id = id.expect("submitted");
    assert!(id > 0);
    of(&collect_finished(d, &[id], WAIT), id)
}

/// Drains `d` (as a game's frame loop would) until every id in `ids` has its finishing
/// event; returns everything drained, in order. Panics after `timeout`.
fn collect_finished(d: &Engine, ids: &[RequestId], timeout: Duration) -> Vec<Event> {
    let deadline = Instant::now() + timeout;
    let mut all: Vec<Event> = Vec::new();
    loop {
        all.extend(d.drain(usize::MAX));
        let done = ids.iter().all(|id| {
            all.iter()
                .any(|e| e.request_id == *id && e.kind.is_finishing())
        });
        if done {
            return all;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for {ids:?}; got {all:#?}"
        );
        d.wait_any(left.min(Duration::from_millis(200)));
    }
}

/// The events of one request.
fn of(events: &[Event], id: RequestId) -> Vec<Event> {
    events
        .iter()
        .filter(|e| e.request_id == id)
        .cloned()
        .collect()
}

fn json(event: &Event) -> serde_json::Value {
    serde_json::from_str(&event.payload).unwrap_or_else(|e| panic!("not JSON ({e}): {event:?}"))
}

/// Each event's kind, spelled as in Rust (`Response(ListPersonas)`, `TextDelta`, ...).
fn names(events: &[Event]) -> Vec<String> {
    events.iter().map(name).collect()
}

fn name(event: &Event) -> String {
    format!("{:?}", event.kind)
}

#[test]
fn a_streamed_playthrough_yields_ordered_events_and_game_events() {
    let server = TestServer::start();
    let d = engine(&server);
    let persona = server.persona_id("Corwin");
    let play = server
        .playthroughs("wandering_merchant")
        .into_iter()
        .find(|p| p.machine_key == "roadside_meeting" && p.outcome == "ACCEPT")
        .expect("an ACCEPT playthrough");
    assert!(
        !play.unlocks.is_empty(),
        "this playthrough unlocks a machine"
    );
    let player = "godot-player";

    let personas = run(&d, d.list_personas());
    assert_eq!(names(&personas), ["Response(ListPersonas)"]);
    assert!(json(&personas[0])
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == persona.as_str()));

    let started = run(&d, d.init_session(&persona, player, "Ada", "female", None));
    assert_eq!(names(&started), ["Response(InitSession)"]);
    let init = json(&started[0]);
    assert!(!init["message"].as_str().unwrap().is_empty());
    let machine_id = init["machine_id"].as_str().unwrap().to_string();

    // Knowing the initial state lets the first turn report a state change.
    let status = run(&d, d.get_session(&persona, player, Some(&machine_id)));
    assert_eq!(names(&status), ["Response(GetSession)"]);
    let status = json(&status[0]);
    assert_eq!(status["score"], 0);

    let mut events: Vec<Event> = Vec::new();
    let mut last = serde_json::Value::Null;
    for message in &play.messages {
        let id = d.send_message_stream(&persona, player, message, Some(&machine_id));
        let signals = run(&d, id);
        // metadata, text deltas, the message, then the game events.
        let kinds = names(&signals);
        assert_eq!(kinds[0], "StreamMetadata", "{kinds:?}");
        let done = kinds
            .iter()
            .position(|k| k == "StreamDone")
            .unwrap_or_else(|| panic!("no message: {kinds:?}"));
        assert!(done >= 2, "at least one delta: {kinds:?}");
        assert!(
            kinds[1..done].iter().all(|k| *k == "TextDelta"),
            "{kinds:?}"
        );
        let after = &signals[done + 1..];
        assert!(after.iter().all(|s| !s.kind.is_finishing()), "{kinds:?}");
        let response = json(&signals[done]);
        let text: String = signals[1..done]
            .iter()
            .map(|e| e.payload.as_str())
            .collect();
        assert_eq!(text, response["message"].as_str().unwrap());
        let metadata = json(&signals[0]);
        for key in ["current_state", "score", "outcome", "session_id"] {
            assert_eq!(metadata[key], response[key], "{key}");
        }
        events.extend(after.iter().cloned());
        last = response;
    }
    assert_eq!(last["outcome"], "ACCEPT");

    // State changes chain from the initial state to the final one.
    let states: Vec<(String, String)> = events
        .iter()
        .filter(|s| name(s) == "StateChange")
        .map(|s| {
            let e = json(s);
            (
                e["from_state"].as_str().unwrap().to_string(),
                e["to_state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!states.is_empty(), "{events:?}");
    assert_eq!(states[0].0, status["current_state"].as_str().unwrap());
    assert_eq!(
        states.last().unwrap().1,
        last["current_state"].as_str().unwrap()
    );
    for pair in states.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "{states:?}");
    }
    let total: i64 = events
        .iter()
        .filter(|s| name(s) == "ScoreChange")
        .map(|s| json(s)["delta"].as_i64().unwrap())
        .sum();
    assert_eq!(total, last["score"].as_i64().unwrap());
    // The last turn completes the machine, unlocks the next and ends the session, once each.
    let tail: Vec<String> = names(&events).into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        ["SessionEnded", "MachinesUnlocked", "MachineCompleted"]
    );
    let unlocked = json(&events[events.len() - 2]);
    let keys: Vec<&str> = unlocked["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["machine_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, play.unlocks);
    let ended = json(events.last().unwrap());
    assert_eq!(ended["outcome"], "ACCEPT");
    assert_eq!(ended["final_score"], last["score"]);

    // The unlocked machine is now listed; the history has the whole conversation.
    let machines = run(&d, d.list_machines(&persona, player));
    assert_eq!(names(&machines), ["Response(ListMachines)"]);
    let listed = json(&machines[0]);
    for key in &play.unlocks {
        assert!(
            listed
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["machine_key"] == key.as_str()),
            "{key} not in {listed}"
        );
    }
    let history = run(&d, d.get_history(&persona, player, Some(&machine_id)));
    assert_eq!(names(&history), ["Response(GetHistory)"]);
    let history = json(&history[0]);
    assert_eq!(history["outcome"], "ACCEPT");
    assert!(history["messages"].as_array().unwrap().len() > play.messages.len());

    // A reset starts over: the next (non-streamed) turn is compared with score 0, and its
    // game events follow the message.
    let reset = run(&d, d.reset(&persona, player, Some(&machine_id)));
    assert_eq!(names(&reset), ["Response(Reset)"]);
    let turn = run(
        &d,
        d.send_message(&persona, player, &play.messages[0], Some(&machine_id)),
    );
    assert_eq!(
        name(&turn[0]),
        "Response(SendMessage)",
        "{:?}",
        names(&turn)
    );
    let response = json(&turn[0]);
    assert_eq!(response["outcome"], serde_json::Value::Null);
    let score = response["score"].as_i64().unwrap();
    let score_events: Vec<&Event> = turn.iter().filter(|s| name(s) == "ScoreChange").collect();
    if score == 0 {
        assert!(score_events.is_empty(), "{turn:?}");
    } else {
        assert_eq!(score_events.len(), 1, "{turn:?}");
        assert_eq!(json(score_events[0])["old_score"], 0);
        assert_eq!(json(score_events[0])["new_score"], score);
    }
    assert!(
        !names(&turn).iter().any(|n| n == "SessionEnded"),
        "the reset session runs again: {turn:?}"
    );
    assert_eq!(d.in_flight(), 0);
    assert_eq!(d.queued(), 0);
}

#[test]
fn failures_become_error_events_with_the_servers_error() {
    let server = TestServer::start();
    let d = engine(&server);
    let persona = server.persona_id("Corwin");

    let check = |signals: Vec<Event>, status: u16, code: &str| {
        assert_eq!(names(&signals), ["Error"], "{signals:?}");
        let error = json(&signals[0]);
        let mut keys: Vec<&String> = error.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["code", "message", "retry_after", "status"]);
        assert_eq!(error["status"], status, "{error}");
        assert_eq!(error["code"], code, "{error}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    };
    check(
        run(&d, d.init_session(UNKNOWN_ID, "p", "Ada", "female", None)),
        404,
        "persona_not_found",
    );
    check(
        run(&d, d.get_session(&persona, "nobody-here", None)),
        404,
        "session_not_found",
    );
    check(
        run(
            &d,
            d.send_message_stream(&persona, "nobody-here", "Hi", None),
        ),
        404,
        "session_not_found",
    );
    // Refused before sending.
    check(
        run(&d, d.send_message(&persona, "p", "   ", None)),
        0,
        "invalid_argument",
    );
    check(
        run(&d, d.init_session("not-a-uuid", "p", "Ada", "female", None)),
        0,
        "invalid_argument",
    );
    // A wrong key, after reconfiguring; the server's message comes through.
    d.configure(ClientConfig {
        api_key: "pk_live_wrongwrongwrongwrongwrongwrong".into(),
        ..server.config()
    })
    .unwrap();
    let failed = run(&d, d.list_personas());
    check(failed.clone(), 401, "invalid_api_key");
    // Nothing is reachable at a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    d.configure(server.config().with_base_url(url)).unwrap();
    check(run(&d, d.list_personas()), 0, "transport_error");
}

#[test]
fn cancel_fails_the_request_at_once_and_nothing_follows() {
    let silent = SilentServer::start();
    let d = unconfigured();
    d.configure(silent.config()).unwrap();
    let stream = d
        .send_message_stream(UNKNOWN_ID, "p", "Hello", None)
        .unwrap();
    let plain = d.list_personas().unwrap();
    let keep = d.get_history(UNKNOWN_ID, "p", None).unwrap();
    // They hang: nothing arrives on its own.
    assert!(!d.wait_any(Duration::from_millis(300)), "{:?}", d.drain(10));
    assert_eq!(d.in_flight(), 3);

    assert!(d.cancel(stream));
    assert!(d.cancel(plain));
    assert!(!d.cancel(stream), "already cancelled");
    assert!(!d.cancel(0));
    assert!(!d.cancel(9_999));
    let signals = d.drain(usize::MAX);
    assert_eq!(
        signals.iter().map(|e| e.request_id).collect::<Vec<_>>(),
        [stream, plain]
    );
    for signal in &signals {
        assert_eq!(name(signal), "Error");
        assert_eq!(json(signal)["code"], "cancelled");
        assert_eq!(json(signal)["status"], 0);
    }
    assert_eq!(d.in_flight(), 1, "the other request goes on");
    assert!(
        !d.wait_any(Duration::from_millis(300)),
        "nothing after the cancel: {:?}",
        d.drain(10)
    );
    assert!(d.cancel(keep));
    assert_eq!(names(&d.drain(10)), ["Error"]);
}

#[test]
fn a_cancel_after_the_finish_changes_nothing() {
    let server = TestServer::start();
    let d = engine(&server);
    let id = d.list_personas().unwrap();
    let signals = run(&d, Ok(id));
    assert_eq!(names(&signals), ["Response(ListPersonas)"]);
    assert!(!d.cancel(id));
    assert!(d.drain(10).is_empty());
}

#[test]
fn shutdown_with_requests_in_flight_returns_quickly_and_reports_them() {
    let silent = SilentServer::start();
    let d = unconfigured();
    d.configure(silent.config()).unwrap();
    let mut ids: Vec<RequestId> = (0..4).map(|_| d.list_personas().unwrap()).collect();
    ids.push(
        d.send_message_stream(UNKNOWN_ID, "p", "Hello", None)
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(200)); // let them connect
    assert_eq!(d.in_flight(), 5);
    let start = Instant::now();
    d.shutdown(GRACE);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    let signals = d.drain(usize::MAX);
    assert_eq!(
        signals.iter().map(|e| e.request_id).collect::<Vec<_>>(),
        ids
    );
    assert!(signals
        .iter()
        .all(|s| name(s) == "Error" && json(s)["code"] == "cancelled"));
    assert_eq!(d.in_flight(), 0);
    assert_eq!(
        d.list_personas(),
        Err(EngineError::Closed),
        "no requests after shutdown"
    );
    // Dropping a dispatcher with requests in flight is bounded too.
    let d = unconfigured();
    d.configure(silent.config()).unwrap();
    d.list_personas().unwrap();
    let start = Instant::now();
    drop(d);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn many_requests_from_several_threads_each_finish_once() {
    let server = TestServer::start();
    let d = Arc::new(engine(&server));
    let persona = server.persona_id("Corwin");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let d = d.clone();
            let persona = persona.clone();
            std::thread::spawn(move || {
                let player = format!("thread-{t}");
                let mut ids = Vec::new();
                for i in 0..10 {
                    ids.push(
                        match i % 3 {
                            0 => d.list_personas(),
                            1 => d.list_machines(&persona, &player),
                            _ => d.get_session(&persona, &player, None), // 404: no session
                        }
                        .unwrap(),
                    );
                }
                ids
            })
        })
        .collect();
    let ids: Vec<RequestId> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
    assert!(ids.iter().all(|&id| id > 0));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 40, "unique ids");
    let signals = collect_finished(&d, &ids, WAIT);
    assert_eq!(signals.len(), 40, "one signal each: {signals:?}");
    for id in &ids {
        let mine = of(&signals, *id);
        assert_eq!(mine.len(), 1, "{id}: {mine:?}");
    }
    let count = |kind: &str| signals.iter().filter(|s| name(s) == kind).count();
    assert_eq!(count("Response(ListPersonas)"), 16);
    assert_eq!(count("Response(ListMachines)"), 12);
    assert_eq!(count("Error"), 12);
    assert!(signals
        .iter()
        .filter(|s| name(s) == "Error")
        .all(|s| json(s)["code"] == "session_not_found"));
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.expect("after 1970").as_secs() as i64
}

#[test]
fn an_expiring_player_token_is_signalled_and_a_fresh_one_configured_in_place() {
    let server = TestServer::start();
    let persona = server.persona_id("Grumpy Barista");
    let player = "godot-token-player";
    let (short, expires_at) = server.short_player_token(player, Duration::from_secs(3));
    let d = unconfigured();
    let config = ClientConfig {
        api_key: short,
        ..server.config()
    };
    d.configure(config.clone()).unwrap();
    let machines = run(&d, d.list_machines(&persona, player));
    assert_eq!(
        names(&machines),
        ["Response(ListMachines)"],
        "the token works"
    );

    // Drained as a frame loop would, the signal comes before the token expires.
    let deadline = Instant::now() + WAIT;
    let signal = loop {
        let mut drained = d.drain(usize::MAX);
        if let Some(at) = drained
            .iter()
            .position(|s| matches!(s.kind, EventKind::CredentialExpiring { .. }))
        {
            break drained.swap_remove(at);
        }
        assert!(Instant::now() < deadline, "no credential_expiring");
        d.wait_any(Duration::from_millis(100));
    };
    assert_eq!(signal.request_id, 0);
    assert!(!signal.kind.is_finishing());
    assert_eq!(
        signal,
        Event {
            request_id: 0,
            kind: EventKind::CredentialExpiring {
                expires_at: expires_at as u64
            },
            http_status: 0,
            payload: format!(r#"{{"expires_at":{expires_at}}}"#),
        }
    );
    assert!(unix_now() <= expires_at, "before it expired");

    // Once expired, the server refuses it; configuring a fresh one fixes the next requests.
    while unix_now() <= expires_at {
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = run(&d, d.list_machines(&persona, player));
    assert_eq!(names(&refused), ["Error"]);
    assert_eq!(json(&refused[0])["code"], "player_token_expired");
    let (fresh, _) = server.player_token(player, 3600);
    d.configure(ClientConfig {
        api_key: fresh,
        ..config
    })
    .unwrap();
    let started = run(&d, d.init_session(&persona, player, "Ada", "female", None));
    assert_eq!(names(&started), ["Response(InitSession)"], "{started:?}");
    let other = run(&d, d.list_machines(&persona, "someone-else"));
    assert_eq!(json(&other[0])["code"], "player_token_scope");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.drain(usize::MAX).is_empty(),
        "once per token; none for the hour-long one"
    );

    // An API key never signals.
    let keyed = engine(&server);
    run(&keyed, keyed.list_personas());
    assert!(!keyed.wait_any(Duration::from_millis(300)));
}
