//! `foil-client` against a real `foil-server` on loopback (offline provider, or the mock LLM),
//! and against tiny scripted servers for retries, caching and incremental streaming.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use foil_client::{
    ArgumentProblem, Client, ClientConfig, ClientError, GameEvent, LlmHeaders, SessionTracker,
    StreamEvent,
};
use futures_util::StreamExt;
use support::{Answer, ScriptedServer, SilentServer, TestServer};

const SOME_ID: &str = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";

fn client_for(server: &TestServer) -> Client {
    Client::new(ClientConfig::new(&server.api_key).with_base_url(&server.base_url)).unwrap()
}

fn quick_config(base_url: &str) -> ClientConfig {
    ClientConfig {
        max_retries: 0,
        timeout: Duration::from_secs(10),
        ..ClientConfig::new("pk_live_00000000000000000000000000000000").with_base_url(base_url)
    }
}

async fn collect_stream(
    client: &Client,
    persona: &str,
    player: &str,
    message: &str,
) -> Vec<Result<StreamEvent, ClientError>> {
    client
        .send_message_stream(persona, player, message, None)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_conversation_derives_game_events() {
    let server = TestServer::start();
    let client = client_for(&server);
    let persona = server.persona_id("Corwin");
    let play = server
        .playthroughs("wandering_merchant")
        .into_iter()
        .find(|p| p.machine_key == "roadside_meeting" && p.outcome == "ACCEPT")
        .expect("an ACCEPT playthrough");
    let player = "player-full";

    let personas = client.list_personas().await.unwrap();
    assert!(personas.iter().any(|p| p.id.to_string() == persona));
    let machines = client.list_machines(&persona, player).await.unwrap();
    let keys: Vec<&str> = machines.iter().map(|m| m.machine_key.as_str()).collect();
    assert!(keys.contains(&"roadside_meeting"), "{keys:?}");
    assert!(
        !keys.contains(&"rare_wares"),
        "locked until unlocked: {keys:?}"
    );

    let init = client
        .init_session(&persona, player, "Ada", "female", None)
        .await
        .unwrap();
    assert!(!init.message.is_empty());
    assert_eq!(init.player_name, "Ada");
    let machine_id = init.machine_id.to_string();

    let mut tracker = SessionTracker::new();
    tracker.observe_init(&init);
    // Knowing the initial state makes the first turn's StateChange possible.
    let status = client
        .get_session(&persona, player, Some(&machine_id))
        .await
        .unwrap();
    assert_eq!(status.score, 0);
    assert_eq!(status.outcome, None);
    tracker.observe_status(&status);

    let mut events: Vec<GameEvent> = Vec::new();
    let mut last = None;
    for message in &play.messages {
        let response = client
            .send_message(&persona, player, message, Some(&machine_id))
            .await
            .unwrap();
        assert_eq!(response.session_id, init.session_id);
        events.extend(tracker.observe(&response));
        last = Some(response);
    }
    let last = last.unwrap();
    assert_eq!(last.outcome.as_deref(), Some("ACCEPT"));
    assert!(last.machine_completed);

    // State changes chain from the initial state to the final one.
    let states: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            GameEvent::StateChange {
                from_state,
                to_state,
                ..
            } => Some((from_state.as_str(), to_state.as_str())),
            _ => None,
        })
        .collect();
    assert!(!states.is_empty(), "{events:?}");
    assert_eq!(states[0].0, status.current_state);
    assert_eq!(states.last().unwrap().1, last.current_state);
    for pair in states.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "{states:?}");
    }
    // Score changes add up to the final score (sessions start at 0).
    let total: i64 = events
        .iter()
        .map(|e| match e {
            GameEvent::ScoreChange {
                old_score,
                new_score,
                delta,
                ..
            } => {
                assert_eq!(new_score - old_score, *delta);
                *delta
            }
            _ => 0,
        })
        .sum();
    assert_eq!(total, last.score);
    // The last turn ends the machine, unlocks the next one and ends the session, once each.
    let tail: Vec<&str> = events.iter().rev().take(3).map(GameEvent::name).collect();
    assert_eq!(
        tail,
        ["session_ended", "machines_unlocked", "machine_completed"]
    );
    match &events[events.len() - 2] {
        GameEvent::MachinesUnlocked { machines, .. } => {
            let keys: Vec<&str> = machines.iter().map(|m| m.machine_key.as_str()).collect();
            assert_eq!(keys, play.unlocks);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        events.last().unwrap(),
        &GameEvent::SessionEnded {
            session_id: init.session_id,
            outcome: "ACCEPT".into(),
            final_score: last.score,
        }
    );

    // The session is over; the unlocked machine is playable now.
    let err = client
        .send_message(&persona, player, "One more thing...", Some(&machine_id))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::Http { status: 409, code: Some(c), .. } if c == "session_ended"),
        "{err:?}"
    );
    let machines = client.list_machines(&persona, player).await.unwrap();
    assert!(machines.iter().any(|m| m.machine_key == "rare_wares"));

    let history = client
        .get_history(&persona, player, Some(&machine_id))
        .await
        .unwrap();
    assert_eq!(history.messages.len(), 1 + 2 * play.messages.len());
    assert_eq!(history.messages[0].role, "assistant");
    assert_eq!(history.messages[0].content, init.message);
    assert_eq!(history.messages[1].content, play.messages[0]);
    assert_eq!(history.outcome.as_deref(), Some("ACCEPT"));

    let reset = client
        .reset(&persona, player, Some(&machine_id))
        .await
        .unwrap();
    assert_eq!(reset.session_id, init.session_id);
    tracker.observe_reset(&reset);
    let status = client
        .get_session(&persona, player, Some(&machine_id))
        .await
        .unwrap();
    assert_eq!((status.score, status.outcome), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_deltas_concatenate_to_the_final_message() {
    let server = TestServer::start();
    let client = client_for(&server);
    let persona = server.persona_id("Grumpy Barista");
    let init = client
        .init_session(&persona, "streamer", "Bo", "male", None)
        .await
        .unwrap();
    let items = collect_stream(&client, &persona, "streamer", "Hello there, how are you?").await;
    let items: Vec<StreamEvent> = items.into_iter().map(Result::unwrap).collect();
    let StreamEvent::Metadata(meta) = &items[0] else {
        panic!("metadata first: {items:?}")
    };
    let StreamEvent::Done(done) = items.last().unwrap() else {
        panic!("done last: {items:?}")
    };
    let deltas: Vec<&str> = items[1..items.len() - 1]
        .iter()
        .map(|i| match i {
            StreamEvent::TextDelta(t) => t.as_str(),
            other => panic!("only deltas in between: {other:?}"),
        })
        .collect();
    assert!(!deltas.is_empty());
    assert_eq!(deltas.concat(), done.message);
    assert_eq!(meta, &done.metadata());
    assert_eq!(done.session_id, init.session_id);

    // The streamed turn was stored like any other.
    let history = client
        .get_history(&persona, "streamer", None)
        .await
        .unwrap();
    assert_eq!(history.messages.last().unwrap().content, done.message);
}

/// An SSE server that sends the metadata and one delta, then waits until the test has
/// *received* that delta before it sends the rest: a client that buffered the stream would
/// never see the first delta, and the test would time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_are_yielded_as_they_arrive() {
    use axum::body::Body;
    use tokio::sync::Notify;

    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let app = axum::Router::new().fallback(move || {
        let gate = gate.clone();
        async move {
            let meta = serde_json::json!({
                "current_state": "S1", "score": 1, "outcome": null, "decision": "pass",
                "follow_up": false, "session_id": SOME_ID, "scoring_mode": "standard",
                "redirect_count": 0, "machine_completed": false, "unlocked_machines": []
            });
            let mut done = meta.clone();
            done["message"] = "Hello world".into();
            let frames = futures_util::stream::iter([
                format!("event: metadata\ndata: {meta}\n\n"),
                "event: text_delta\ndata: {\"text\":\"Hello \"}\n\n".to_string(),
            ])
            .chain(futures_util::stream::once(async move {
                gate.notified().await;
                "event: text_delta\ndata: {\"text\":\"world\"}\n\n".to_string()
            }))
            .chain(futures_util::stream::iter([format!(
                "event: done\ndata: {done}\n\n"
            )]))
            .map(Ok::<_, std::convert::Infallible>);
            axum::response::Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(frames))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serve = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = Client::new(quick_config(&base)).unwrap();
    let stream = client.send_message_stream(SOME_ID, "p", "hi", None);
    futures_util::pin_mut!(stream);
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(item) = stream.next().await {
            let item = item.unwrap();
            if matches!(&item, StreamEvent::TextDelta(t) if t == "Hello ") {
                release.notify_one();
            }
            seen.push(item);
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the first delta never arrived on its own: {seen:?}"
    );
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(matches!(&seen[3], StreamEvent::Done(d) if d.message == "Hello world"));
    serve.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_mapped() {
    let server = TestServer::start();
    let persona = server.persona_id("Grumpy Barista");
    let bad = Client::new(
        ClientConfig::new("pk_live_ffffffffffffffffffffffffffffffff")
            .with_base_url(&server.base_url),
    )
    .unwrap();
    let err = bad.list_personas().await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Http {
            status: 401,
            code: Some("invalid_api_key".into()),
            message: "Invalid API key".into(),
            retry_after: None,
        }
    );
    let items = collect_stream(&bad, &persona, "p", "hi").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().status(), Some(401));

    let client = client_for(&server);
    let err = client
        .get_session(&persona, "nobody-yet", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), "session_not_found");
    let err = client
        .init_session(&persona, "p", "Ada", "robot", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), "invalid_player_gender")
    );
    let err = client.list_machines(SOME_ID, "p").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");

    let valid = client.validate_llm_key(None).await.unwrap();
    assert!(valid.valid, "{valid:?}");
    assert_eq!(valid.model, "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_headers_reach_the_provider() {
    let server = TestServer::start_with(Some(foil_mock_llm::MockConfig::default()));
    let config = ClientConfig {
        llm: LlmHeaders {
            model: Some("openai/gpt-test".into()),
            api_key: Some("sk-caller-key".into()),
            ..Default::default()
        },
        ..ClientConfig::new(&server.api_key).with_base_url(&server.base_url)
    };
    let client = Client::new(config).unwrap();
    let persona = server.persona_id("Grumpy Barista");
    client
        .init_session(&persona, "byok", "Ada", "female", None)
        .await
        .unwrap();
    let mock = server.mock.as_ref().unwrap();
    let last = mock.last_request().expect("the provider was called");
    assert_eq!(last.bearer_token(), Some("sk-caller-key"));
    assert_eq!(last.model(), Some("gpt-test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argument_checks_send_nothing() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = Client::new(quick_config(&scripted.base_url)).unwrap();
    let long_message = "x".repeat(2001);
    let huge = "y".repeat(1 << 20);
    let problem = |r: Result<(), ClientError>| match r {
        Err(ClientError::InvalidArgument(e)) => (e.argument, e.problem),
        other => panic!("expected an argument error, got {other:?}"),
    };
    assert_eq!(
        problem(client.list_machines("", "p").await.map(drop)),
        ("persona_id", ArgumentProblem::Empty)
    );
    assert!(matches!(
        problem(client.list_machines("not-a-uuid", "p").await.map(drop)),
        ("persona_id", ArgumentProblem::Invalid(_))
    ));
    assert_eq!(
        problem(client.list_machines(SOME_ID, " \t").await.map(drop)),
        ("user_session_id", ArgumentProblem::Empty)
    );
    assert_eq!(
        problem(
            client
                .init_session(SOME_ID, "p", "", "female", None)
                .await
                .map(drop)
        ),
        ("player_name", ArgumentProblem::Empty)
    );
    assert!(matches!(
        problem(
            client
                .init_session(SOME_ID, "p", "Ada", "female", Some("zzz"))
                .await
                .map(drop)
        ),
        ("machine_id", ArgumentProblem::Invalid(_))
    ));
    assert!(matches!(
        problem(
            client
                .send_message(SOME_ID, "p", &long_message, None)
                .await
                .map(drop)
        ),
        ("message", ArgumentProblem::TooLong { max: 2000, .. })
    ));
    assert!(matches!(
        problem(
            client
                .send_message(SOME_ID, &huge, "hi", None)
                .await
                .map(drop)
        ),
        ("user_session_id", ArgumentProblem::TooLong { .. })
    ));
    assert_eq!(
        problem(client.get_session(SOME_ID, "", None).await.map(drop)),
        ("user_session_id", ArgumentProblem::Empty)
    );
    assert_eq!(
        problem(client.get_history(" ", "p", None).await.map(drop)),
        ("persona_id", ArgumentProblem::Empty)
    );
    assert_eq!(
        problem(client.reset(SOME_ID, "\n", None).await.map(drop)),
        ("user_session_id", ArgumentProblem::Empty)
    );
    assert!(matches!(
        problem(client.validate_llm_key(Some(&huge)).await.map(drop)),
        ("model", ArgumentProblem::TooLong { .. })
    ));
    let items = collect_stream(&client, SOME_ID, "p", "   ").await;
    assert_eq!(items.len(), 1);
    assert!(matches!(&items[0], Err(ClientError::InvalidArgument(e)) if e.argument == "message"));
    assert_eq!(scripted.requests(), 0, "nothing may be sent");
    // And a valid call does reach the server.
    client.list_machines(SOME_ID, "p").await.unwrap();
    assert_eq!(scripted.requests(), 1);
}

#[test]
fn config_is_validated() {
    let err = Client::new(ClientConfig::default()).unwrap_err();
    assert!(matches!(&err, ClientError::InvalidArgument(e) if e.argument == "api_key"));
    let err = Client::new(ClientConfig::new("k").with_base_url("ftp://example.com")).unwrap_err();
    assert!(matches!(&err, ClientError::InvalidArgument(e) if e.argument == "base_url"));
    assert!(
        Client::new(ClientConfig::new("k")).is_ok(),
        "the default base URL is valid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_honour_retry_after() {
    let scripted = ScriptedServer::start(vec![
        Answer::json(
            429,
            r#"{"error": "Rate limit exceeded. Try again in 1 seconds."}"#,
        )
        .header("retry-after", "1"),
        Answer::json(200, "[]"),
    ]);
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    let started = Instant::now();
    let personas = client.list_personas().await.unwrap();
    assert!(personas.is_empty());
    assert_eq!(scripted.requests(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_max_retries_and_skip_client_errors() {
    let limited = r#"{"error": "Rate limit exceeded. Try again in 1 seconds."}"#;
    // Exhausted: the last error is returned with its Retry-After.
    let scripted =
        ScriptedServer::start(vec![Answer::json(429, limited).header("retry-after", "1")]);
    let client = Client::new(ClientConfig {
        max_retries: 1,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    let err = client.list_personas().await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Http {
            status: 429,
            code: None,
            message: "Rate limit exceeded. Try again in 1 seconds.".into(),
            retry_after: Some(1),
        }
    );
    assert_eq!(scripted.requests(), 2);

    // 503 without Retry-After: jittered backoff, then success.
    let scripted = ScriptedServer::start(vec![
        Answer::json(
            503,
            r#"{"error":{"message":"down","code":"database_unavailable"}}"#,
        ),
        Answer::json(
            503,
            r#"{"error":{"message":"down","code":"database_unavailable"}}"#,
        ),
        Answer::json(200, "[]"),
    ]);
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    client.list_personas().await.unwrap();
    assert_eq!(scripted.requests(), 3);

    // Client errors are final.
    let scripted = ScriptedServer::start(vec![Answer::json(
        400,
        r#"{"error":{"message":"bad","code":"invalid_body"}}"#,
    )]);
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    assert_eq!(
        client.list_personas().await.unwrap_err().code(),
        "invalid_body"
    );
    assert_eq!(scripted.requests(), 1);

    // A Retry-After beyond the client's patience is handed back at once.
    let scripted = ScriptedServer::start(vec![
        Answer::json(429, limited).header("retry-after", "3600")
    ]);
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    assert_eq!(
        client.list_personas().await.unwrap_err().retry_after(),
        Some(3600)
    );
    assert_eq!(scripted.requests(), 1);

    // Streams are never retried.
    let scripted = ScriptedServer::start(vec![Answer::json(
        503,
        r#"{"error":{"message":"down","code":"database_unavailable"}}"#,
    )]);
    let client = Client::new(ClientConfig {
        max_retries: 3,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    let items = collect_stream(&client, SOME_ID, "p", "hi").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().status(), Some(503));
    assert_eq!(scripted.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_and_timeouts() {
    // Nothing listens on a port we just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(quick_config(&format!("http://127.0.0.1:{port}"))).unwrap();
    assert!(matches!(
        client.list_personas().await.unwrap_err(),
        ClientError::Transport(_)
    ));

    let silent = SilentServer::start();
    let client = Client::new(ClientConfig {
        timeout: Duration::from_millis(300),
        stream_timeout: Duration::from_millis(300),
        ..quick_config(&silent.base_url)
    })
    .unwrap();
    assert_eq!(
        client.list_personas().await.unwrap_err(),
        ClientError::Timeout
    );
    let items = collect_stream(&client, SOME_ID, "p", "hi").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err(), &ClientError::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persona_list_is_cached_for_its_ttl() {
    let body = r#"[{"id":"6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11","name":"N","description":null,
        "created_at":"2026-03-10T12:00:00Z","updated_at":"2026-03-10T12:00:00Z"}]"#;
    let scripted = ScriptedServer::start(vec![Answer::json(200, body)]);
    let client = Client::new(ClientConfig {
        persona_cache_ttl: Duration::from_secs(2),
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    let first = client.list_personas().await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(client.list_personas().await.unwrap(), first);
    assert_eq!(client.clone().list_personas().await.unwrap(), first);
    assert_eq!(
        scripted.requests(),
        1,
        "answered from the cache (shared by clones)"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    client.list_personas().await.unwrap();
    assert_eq!(scripted.requests(), 2, "refetched after the TTL");
    client.invalidate_persona_cache();
    client.list_personas().await.unwrap();
    assert_eq!(scripted.requests(), 3);

    let uncached = Client::new(ClientConfig {
        persona_cache_ttl: Duration::ZERO,
        ..quick_config(&scripted.base_url)
    })
    .unwrap();
    uncached.list_personas().await.unwrap();
    uncached.list_personas().await.unwrap();
    assert_eq!(scripted.requests(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_cancels_it() {
    // A slow provider: the reply would take 200 chunks × 50 ms.
    let chunks: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
    let server = TestServer::start_with(Some(
        foil_mock_llm::MockConfig::default()
            .with_chunk_delay(Duration::from_millis(50))
            .with_default_reply(foil_mock_llm::Reply::chunked(chunks)),
    ));
    let config = ClientConfig {
        llm: LlmHeaders {
            model: Some("openai/gpt-test".into()),
            api_key: Some("k".into()),
            ..Default::default()
        },
        ..ClientConfig::new(&server.api_key).with_base_url(&server.base_url)
    };
    let client = Client::new(config).unwrap();
    let persona = server.persona_id("Grumpy Barista");
    client
        .init_session(&persona, "dropper", "Ada", "female", None)
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    {
        let stream = client.send_message_stream(&persona, "dropper", "Hello", None);
        futures_util::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if matches!(item.unwrap(), StreamEvent::TextDelta(_))
                && seen.fetch_add(1, Ordering::SeqCst) == 2
            {
                break;
            }
        }
    }
    let mock = server.mock.as_ref().unwrap();
    assert!(
        mock.wait_for(Duration::from_secs(10), |s| s.cancelled_streams >= 1)
            .await,
        "the provider stream was abandoned: {:?}",
        mock.stats()
    );
    // The turn was rolled back: only the greeting is stored.
    let history = client.get_history(&persona, "dropper", None).await.unwrap();
    assert_eq!(history.messages.len(), 1, "{:?}", history.messages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn player_tokens_stand_in_for_the_key_and_are_replaceable() {
    let server = TestServer::start();
    let persona = server.persona_id("Grumpy Barista");
    let player = "rust-token-player";
    let (token, expires_at) = server.player_token(player, 3600);
    let expiry = foil_client::credential_expiry(&token).expect("a token's expiry");
    assert_eq!(
        expiry
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
        expires_at
    );
    let refresh = foil_client::credential_refresh_time(&token).unwrap();
    assert_eq!(
        expiry.duration_since(refresh).unwrap(),
        Duration::from_secs(60),
        "an hour-long token is refreshed a minute early"
    );
    assert_eq!(foil_client::credential_expiry(&server.api_key), None);

    // A token that has expired: the server says so; a fresh one set on the same client works.
    let (expired, _) = server.short_player_token(player, Duration::from_secs(1));
    let client = Client::new(ClientConfig {
        max_retries: 0,
        ..ClientConfig::new(&expired).with_base_url(&server.base_url)
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = client.list_personas().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), "player_token_expired"),
        "{err:?}"
    );
    client.set_api_key(&token).unwrap();
    assert_eq!(client.config().api_key, token);
    let personas = client.list_personas().await.unwrap();
    assert!(personas.iter().any(|p| p.id.to_string() == persona));
    let init = client
        .init_session(&persona, player, "Ada", "female", None)
        .await
        .unwrap();
    assert!(!init.message.is_empty());
    // The token acts for its player only.
    let err = client
        .init_session(&persona, "someone-else", "Bo", "male", None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), "player_token_scope"),
        "{err:?}"
    );
    // Streams send the current credential too; and back to the API key.
    client.set_api_key(&server.api_key).unwrap();
    let items = collect_stream(&client, &persona, "someone-else", "Hello").await;
    assert_eq!(
        items[0].as_ref().unwrap_err().status(),
        Some(404),
        "no session of that player yet, but the key was accepted: {items:?}"
    );
}
