//! The dispatcher against a real `foil-server` on loopback: every request reaches the game as
//! the Godot signal the `FoilClient` node emits. Ordering, cancellation and shutdown are the
//! shared engine's (`foil-client/tests/engine.rs`); this pins the naming on top of it.

mod support;

use std::time::Duration;

use foil_godot::dispatch::{Dispatcher, RequestId, Signal};
use support::{
    collect_finished, dispatcher, json, names, of, SilentServer, TestConfig, TestServer,
};

const WAIT: Duration = Duration::from_secs(60);
const UNKNOWN_ID: &str = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";

/// Drains everything for `id`, which must finish.
fn run(d: &Dispatcher, id: RequestId) -> Vec<Signal> {
    assert!(id > 0);
    of(&collect_finished(d, &[id], WAIT), id)
}

#[test]
fn every_request_reaches_the_game_as_its_godot_signal() {
    let server = TestServer::start();
    let d = dispatcher(&server);
    let persona = server.persona_id("Corwin");
    let player = "godot-player";

    assert_eq!(names(&run(&d, d.list_personas())), ["personas_received"]);
    let started = run(&d, d.init_session(&persona, player, "Ada", "female", None));
    assert_eq!(names(&started), ["session_started"]);
    let machine_id = json(&started[0])["machine_id"]
        .as_str()
        .unwrap()
        .to_string();
    let machine = Some(machine_id.as_str());
    assert_eq!(
        names(&run(&d, d.get_session(&persona, player, machine))),
        ["session_received"]
    );

    // A streamed turn: metadata, text, then the whole message (and any game events).
    let streamed = run(
        &d,
        d.send_message_stream(&persona, player, "Hello there", machine),
    );
    let kinds = names(&streamed);
    let done = kinds.iter().position(|k| *k == "message_received");
    let done = done.unwrap_or_else(|| panic!("no message: {kinds:?}"));
    assert_eq!(kinds[0], "stream_metadata", "{kinds:?}");
    assert!(
        kinds[1..done].iter().all(|k| *k == "text_delta"),
        "{kinds:?}"
    );
    let text: String = streamed[1..done].iter().map(Signal::payload).collect();
    assert_eq!(text, json(&streamed[done])["message"].as_str().unwrap());
    let game_events = [
        "state_changed",
        "score_changed",
        "machine_completed",
        "machines_unlocked",
        "session_ended",
    ];
    assert!(
        kinds[done + 1..].iter().all(|k| game_events.contains(k)),
        "{kinds:?}"
    );

    let plain = run(
        &d,
        d.send_message(&persona, player, "How are you?", machine),
    );
    assert_eq!(plain[0].name(), "message_received", "{:?}", names(&plain));
    assert_eq!(
        names(&run(&d, d.get_history(&persona, player, machine))),
        ["history_received"]
    );
    assert_eq!(
        names(&run(&d, d.list_machines(&persona, player))),
        ["machines_received"]
    );
    assert_eq!(
        names(&run(&d, d.reset(&persona, player, machine))),
        ["session_reset"]
    );
    assert_eq!(
        names(&run(&d, d.validate_llm_key(None))),
        ["llm_key_validated"]
    );

    // Every failure is `request_failed` with the server's error.
    let failed = run(&d, d.init_session(UNKNOWN_ID, "p", "Ada", "female", None));
    assert_eq!(names(&failed), ["request_failed"]);
    assert_eq!(json(&failed[0])["code"], "persona_not_found");
    assert_eq!(json(&failed[0])["status"], 404);
}

#[test]
fn cancelled_and_shut_down_requests_are_request_failed_and_later_ids_are_zero() {
    let silent = SilentServer::start();
    let mut d = Dispatcher::new().unwrap();
    // Unconfigured: requests fail at once, drainable before the next frame.
    let early = d.list_personas();
    assert_eq!(names(&d.drain(usize::MAX)), ["request_failed"]);
    assert!(early > 0);
    d.configure(silent.config()).unwrap();
    let cancelled = d.send_message_stream(UNKNOWN_ID, "p", "Hello", None);
    let pending = d.list_personas();
    assert!(d.cancel(cancelled));
    d.shutdown();
    let signals = d.drain(usize::MAX);
    assert_eq!(names(&signals), ["request_failed", "request_failed"]);
    assert_eq!(
        signals.iter().map(Signal::request_id).collect::<Vec<_>>(),
        [cancelled, pending]
    );
    assert!(signals.iter().all(|s| json(s)["code"] == "cancelled"));
    assert_eq!(d.list_personas(), 0, "no requests after shutdown");
}
