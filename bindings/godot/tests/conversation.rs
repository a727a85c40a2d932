//! `Conversation` (the core of the `FoilConversation` node) against a real `foil-server` on
//! loopback: a whole playthrough without request ids, one line at a time, cancel, reset, close.

mod support;

use std::time::{Duration, Instant};

use foil_godot::conversation::{Conversation, ConversationEvent, Participants, Refusal};
use support::{SilentServer, TestConfig, TestServer};

const WAIT: Duration = Duration::from_secs(60);

/// Polls (as frames would) until the conversation is idle again; returns what came.
fn settle(c: &mut Conversation) -> Vec<ConversationEvent> {
    let deadline = Instant::now() + WAIT;
    let mut events = Vec::new();
    loop {
        events.extend(c.poll(usize::MAX));
        if !c.is_busy() {
            // Game events follow the reply in the same drain; take any left.
            events.extend(c.poll(usize::MAX));
            return events;
        }
        assert!(Instant::now() < deadline, "still busy; got {events:?}");
        c.wait(Duration::from_millis(200));
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_playthrough_line_by_line_reaches_its_outcome() {
    let server = TestServer::start();
    let play = server
        .playthroughs("wandering_merchant")
        .into_iter()
        .find(|p| p.machine_key == "roadside_meeting" && p.outcome == "ACCEPT")
        .expect("an ACCEPT playthrough");
    let mut c = Conversation::new().unwrap();
    c.configure(server.config()).unwrap();
    assert_eq!(c.say("Hello", true), Err(Refusal::NotStarted));

    let with = Participants {
        persona_id: server.persona_id("Corwin"),
        player_id: "conversation-player".into(),
        player_name: "Ada".into(),
        player_gender: "female".into(),
        machine_id: String::new(),
    };
    c.start(with.clone()).unwrap();
    assert_eq!(c.start(with), Err(Refusal::Busy), "one thing at a time");
    let started = settle(&mut c);
    let [ConversationEvent::Started { greeting, session }] = &started[..] else {
        panic!("{started:?}");
    };
    assert!(!greeting.is_empty());
    assert_eq!(json(session)["message"], greeting.as_str());
    assert!(c.is_started());

    let mut ended = None;
    for (i, line) in play.messages.iter().enumerate() {
        let streamed = i % 2 == 0;
        c.say(line, streamed).unwrap();
        assert_eq!(c.say("again", streamed), Err(Refusal::Busy));
        let events = settle(&mut c);
        let finished = events
            .iter()
            .position(|e| matches!(e, ConversationEvent::ReplyFinished { .. }))
            .unwrap_or_else(|| panic!("no reply: {events:?}"));
        let pieces: String = events[..finished]
            .iter()
            .map(|e| match e {
                ConversationEvent::ReplyDelta { text } => text.as_str(),
                other => panic!("before the reply: {other:?}"),
            })
            .collect();
        let ConversationEvent::ReplyFinished { reply, response } = &events[finished] else {
            unreachable!()
        };
        assert!(!reply.is_empty());
        assert_eq!(json(response)["message"], reply.as_str());
        if streamed {
            assert_eq!(&pieces, reply, "the pieces add up to the reply");
        } else {
            assert!(pieces.is_empty(), "no pieces when not streamed");
        }
        for event in &events[finished + 1..] {
            match event {
                ConversationEvent::SessionEnded { event } => ended = Some(json(event)),
                ConversationEvent::StateChanged { .. }
                | ConversationEvent::ScoreChanged { .. }
                | ConversationEvent::MachineCompleted { .. }
                | ConversationEvent::MachinesUnlocked { .. } => {}
                other => panic!("after the reply: {other:?}"),
            }
        }
    }
    let ended = ended.expect("the playthrough ends the session");
    assert_eq!(ended["outcome"], "ACCEPT");

    // Start over in the same session.
    c.reset().unwrap();
    let reset = settle(&mut c);
    let [ConversationEvent::Reset { result }] = &reset[..] else {
        panic!("{reset:?}");
    };
    assert!(!json(result)["message"].as_str().unwrap().is_empty());
    c.say(&play.messages[0], true).unwrap();
    let again = settle(&mut c);
    assert!(
        again
            .iter()
            .any(|e| matches!(e, ConversationEvent::ReplyFinished { .. })),
        "{again:?}"
    );
}

#[test]
fn cancel_frees_the_conversation_and_close_never_waits() {
    let silent = SilentServer::start();
    let mut c = Conversation::new().unwrap();
    c.configure(silent.config()).unwrap();
    assert!(!c.cancel(), "nothing to cancel");
    c.start(Participants {
        persona_id: "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11".into(),
        player_id: "p".into(),
        player_name: "Ada".into(),
        player_gender: "female".into(),
        machine_id: String::new(),
    })
    .unwrap();
    assert!(c.is_busy());
    assert!(c.cancel());
    let events = settle(&mut c);
    let [ConversationEvent::Failed { error }] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(json(error)["code"], "cancelled");
    assert!(!c.is_started());

    // Closing with a request in flight returns at once.
    c.start(Participants::default()).unwrap_or(());
    let start = Instant::now();
    c.close();
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.start(Participants::default()), Err(Refusal::Closed));
}
