//! Provider faults (quality.md R3) and clients that leave mid-stream (R4): every failure maps
//! to its documented status (api.md §1) or stream `error` frame, leaves the session exactly as
//! it was, and the player can resend at once.

use std::time::Duration;

use axum::http::StatusCode;
use foil_mock_llm::{Fault, FaultPoint, MockConfig, MockLlm, Reply};

use super::support::{
    assert_rate_limited, chat_persona, eval_answer, eventually, mock_app, openai_headers,
    requests_of, setup, start_mock, Player, DEFAULT_REPLY,
};
use crate::common::{Backend, TestApp, TestResponse};

crate::on_both_databases!(
    provider_faults_map_to_documented_errors,
    stream_faults_after_the_start_are_error_frames,
    failed_greeting_leaves_the_session_alone,
    llm_selection_errors,
    client_leaving_mid_stream_cancels_and_rolls_back,
    client_leaving_a_plain_message_rolls_back,
);

/// What a failed turn must answer.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Error(StatusCode, &'static str),
    RateLimited(&'static str),
}

#[track_caller]
fn check(res: &TestResponse, expect: Expect) {
    match expect {
        Expect::Error(status, code) => res.assert_error(status, code),
        Expect::RateLimited(secs) => assert_rate_limited(res, secs),
    }
}

/// A fault-test app (LLM timeout 1 s) with a player on the mock's OpenAI protocol, moved to
/// state S1 so that an unchanged session is not just the initial one.
async fn fault_app(backend: Backend, mock: &MockLlm, user: &str) -> Option<(TestApp, Player)> {
    let app = mock_app(backend, mock, |c| c.llm_timeout_secs = 1).await?;
    let s = setup(
        &app,
        &format!("{user}@example.com"),
        &chat_persona("Faulty", true),
    )
    .await;
    let player = Player::sdk(&s.key, &s.persona_id, user).with_headers(&openai_headers());
    player.init(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let r = player.say(&app, "hello").await;
    assert_eq!(r["current_state"], "S1");
    Some((app, player))
}

/// The player resends after a failure and gets an ordinary turn (the default evaluator
/// redirects, so the state stays).
async fn resend_succeeds(app: &TestApp, player: &Player, label: &str) {
    let res = app.send(player.message_request("hello again")).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "{label}: the resend must succeed: {}",
        res.text
    );
    assert_eq!(res.json()["message"], DEFAULT_REPLY, "{label}");
}

async fn provider_faults_map_to_documented_errors(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "faults").await else {
        return;
    };
    let upstream = Expect::Error(StatusCode::BAD_GATEWAY, "llm_upstream_error");
    let cases: Vec<(&str, &str, Reply, Expect)> = vec![
        (
            "eval 401",
            "eval",
            Reply::fault(Fault::unauthorized()),
            Expect::Error(StatusCode::UNAUTHORIZED, "llm_key_invalid"),
        ),
        (
            "eval 429",
            "eval",
            Reply::fault(Fault::rate_limited(7)),
            Expect::RateLimited("7"),
        ),
        (
            "eval 500",
            "eval",
            Reply::fault(Fault::server_error()),
            upstream,
        ),
        (
            "eval 503",
            "eval",
            Reply::fault(Fault::status(503)),
            upstream,
        ),
        (
            "eval connection reset",
            "eval",
            Reply::fault(Fault::Reset(FaultPoint::BeforeHeaders)),
            upstream,
        ),
        (
            "eval reset mid-body",
            "eval",
            eval_answer("pass", Some(0)).with_fault(Fault::Reset(FaultPoint::AfterChunks(0))),
            upstream,
        ),
        (
            "eval malformed JSON",
            "eval",
            Reply::fault(Fault::MalformedJson),
            upstream,
        ),
        (
            "eval truncated body",
            "eval",
            eval_answer("pass", Some(0)).with_fault(Fault::Truncated { after_chunks: 0 }),
            upstream,
        ),
        (
            "eval stall",
            "eval",
            Reply::fault(Fault::Stall(FaultPoint::BeforeHeaders)),
            Expect::Error(StatusCode::GATEWAY_TIMEOUT, "llm_timeout"),
        ),
        (
            "reply 401",
            "reply",
            Reply::fault(Fault::unauthorized()),
            Expect::Error(StatusCode::UNAUTHORIZED, "llm_key_invalid"),
        ),
        (
            "reply 429",
            "reply",
            Reply::fault(Fault::rate_limited(3)),
            Expect::RateLimited("3"),
        ),
        (
            "reply 500",
            "reply",
            Reply::fault(Fault::server_error()),
            upstream,
        ),
        (
            "reply stall",
            "reply",
            Reply::fault(Fault::Stall(FaultPoint::BeforeHeaders)),
            Expect::Error(StatusCode::GATEWAY_TIMEOUT, "llm_timeout"),
        ),
    ];
    for (label, step, fault, expect) in cases {
        let before = player.snapshot(&app).await;
        if step == "reply" {
            // The evaluator decides a real move first: a failing reply must undo it.
            mock.push_reply_for("eval", eval_answer("pass", Some(0)));
        }
        mock.push_reply_for(step, fault);
        let res = app.send(player.message_request("goodbye")).await;
        check(&res, expect);
        assert!(
            !res.text.contains("k-test"),
            "{label}: the key is not echoed"
        );
        assert_eq!(
            player.snapshot(&app).await,
            before,
            "{label}: the session is unchanged"
        );
        resend_succeeds(&app, &player, label).await;
    }
    // Nothing scripted is left over: every fault was consumed by its own turn.
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let end = player.say(&app, "goodbye").await;
    assert_eq!(end["outcome"], "ACCEPT", "{end}");
}

async fn stream_faults_after_the_start_are_error_frames(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "stream-faults").await else {
        return;
    };
    let text = "one two three four five six";
    // (label, fault, deltas delivered before it). A reset may also discard deltas still in
    // the socket buffer, so it only bounds them.
    let cases: Vec<(&str, Fault, usize)> = vec![
        ("truncated", Fault::Truncated { after_chunks: 2 }, 2),
        ("reset", Fault::Reset(FaultPoint::AfterChunks(2)), 2),
        ("closed", Fault::Close(FaultPoint::AfterChunks(1)), 1),
        ("stall", Fault::Stall(FaultPoint::AfterChunks(2)), 2),
        ("malformed event", Fault::MalformedJson, 1),
        (
            "error event",
            Fault::StreamError {
                after_chunks: 2,
                status: 529,
                message: String::new(),
            },
            2,
        ),
    ];
    for (label, fault, deltas) in cases {
        let before = player.snapshot(&app).await;
        mock.push_reply_for("eval", eval_answer("pass", Some(0)));
        mock.push_reply_for("reply", Reply::text(text).with_fault(fault));
        let res = app.send(player.stream_request("goodbye")).await;
        assert_eq!(res.status, StatusCode::OK, "{label}: {}", res.text);
        let events = crate::common::parse_sse(&res.text);
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        let delivered = if label == "reset" {
            names.len().saturating_sub(2).min(deltas)
        } else {
            deltas
        };
        let mut expected = vec!["metadata"];
        expected.extend(std::iter::repeat_n("text_delta", delivered));
        expected.push("error");
        assert_eq!(names, expected, "{label}: {}", res.text);
        let error = &events.last().unwrap().data;
        assert_eq!(crate::common::keys(error), ["error"], "{label}");
        assert!(
            error["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{label}"
        );
        assert_eq!(
            player.snapshot(&app).await,
            before,
            "{label}: the session is unchanged"
        );
        resend_succeeds(&app, &player, label).await;
    }

    // Failures before the first frame are ordinary HTTP errors.
    for (label, fault, expect) in [
        (
            "stream 401",
            Fault::unauthorized(),
            Expect::Error(StatusCode::UNAUTHORIZED, "llm_key_invalid"),
        ),
        (
            "stream 429",
            Fault::rate_limited(9),
            Expect::RateLimited("9"),
        ),
        (
            "stream 500",
            Fault::server_error(),
            Expect::Error(StatusCode::BAD_GATEWAY, "llm_upstream_error"),
        ),
        (
            "stream stall",
            Fault::Stall(FaultPoint::BeforeHeaders),
            Expect::Error(StatusCode::GATEWAY_TIMEOUT, "llm_timeout"),
        ),
    ] {
        let before = player.snapshot(&app).await;
        mock.push_reply_for("eval", eval_answer("pass", Some(0)));
        mock.push_reply_for("reply", Reply::fault(fault));
        let res = app.send(player.stream_request("goodbye")).await;
        check(&res, expect);
        assert_eq!(player.snapshot(&app).await, before, "{label}");
        resend_succeeds(&app, &player, label).await;
    }
}

async fn failed_greeting_leaves_the_session_alone(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "greeting-faults").await else {
        return;
    };
    // Starting over with a failing greeting keeps the old session as it was.
    let before = player.snapshot(&app).await;
    mock.push_reply_for("reply", Reply::fault(Fault::server_error()));
    let res = app.send(player.init_request("Ada", "female")).await;
    res.assert_error(StatusCode::BAD_GATEWAY, "llm_upstream_error");
    assert_eq!(player.snapshot(&app).await, before);

    // A new player whose first greeting fails has no session at all.
    let newcomer = Player {
        user_session_id: "newcomer".into(),
        ..player.clone()
    };
    mock.push_reply_for("reply", Reply::fault(Fault::unauthorized()));
    let res = app.send(newcomer.init_request("Bo", "male")).await;
    res.assert_error(StatusCode::UNAUTHORIZED, "llm_key_invalid");
    let res = app.send(newcomer.get_request("session")).await;
    res.assert_error(StatusCode::NOT_FOUND, "session_not_found");
    // Retrying works.
    let init = newcomer.init(&app).await;
    assert_eq!(init["message"], DEFAULT_REPLY);
}

async fn llm_selection_errors(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "selection").await else {
        return;
    };
    let plain = Player {
        headers: Vec::new(),
        ..player.clone()
    };
    // (label, request headers, expected error code)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown provider",
            vec![("x-llm-model", "nosuch/model")],
            "llm_model_unknown",
        ),
        (
            "unknown bare model",
            vec![("x-llm-model", "mystery-9000")],
            "llm_model_unknown",
        ),
        (
            "unknown step model",
            vec![("x-llm-eval-model", "nosuch/model")],
            "llm_model_unknown",
        ),
        (
            "no key",
            vec![("x-llm-model", "openai/gpt-4o")],
            "llm_key_required",
        ),
        (
            "no key for the reply step",
            vec![
                ("x-llm-eval-model", "offline"),
                ("x-llm-response-model", "anthropic/claude-test"),
            ],
            "llm_key_required",
        ),
    ];
    for (label, headers, code) in cases {
        let before = plain.snapshot(&app).await;
        let p = plain.clone().with_headers(&headers);
        mock.clear_requests();
        for req in [
            p.message_request("goodbye"),
            p.stream_request("goodbye"),
            p.init_request("Ada", "female"),
        ] {
            let res = app.send(req).await;
            res.assert_error(StatusCode::BAD_REQUEST, code);
        }
        assert!(mock.requests().is_empty(), "{label}: nothing was sent");
        assert_eq!(plain.snapshot(&app).await, before, "{label}");
    }
    // The operator's own key makes the key optional (for the models the operator allows).
    let mock2 = start_mock(MockConfig::default().with_accepted_keys(["operator-key"])).await;
    let Some(app2) = mock_app(backend, &mock2, |c| {
        c.providers.get_mut("openai").unwrap().api_key = Some("operator-key".into());
        c.operator_key_models = vec!["openai/m".into()];
    })
    .await
    else {
        return;
    };
    let s = setup(
        &app2,
        "operator@example.com",
        &chat_persona("Operated", true),
    )
    .await;
    let p = Player::sdk(&s.key, &s.persona_id, "op").with_headers(&[("x-llm-model", "openai/m")]);
    p.init(&app2).await;
    p.say(&app2, "hello").await;
    assert!(requests_of(&mock2, "eval")
        .iter()
        .all(|r| r.bearer_token() == Some("operator-key")));
    // A caller's key takes precedence (and is rejected here: only the operator's is accepted).
    let res = app2
        .send(
            p.clone()
                .with_headers(&[("x-llm-api-key", "callers")])
                .message_request("hi"),
        )
        .await;
    res.assert_error(StatusCode::UNAUTHORIZED, "llm_key_invalid");
}

async fn client_leaving_mid_stream_cancels_and_rolls_back(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "leaver").await else {
        return;
    };
    let slow_reply = || {
        Reply::text("one two three four five six seven eight nine ten eleven twelve")
            .with_chunk_delay(Duration::from_millis(150))
    };

    // Read the metadata and one delta, then hang up.
    let before = player.snapshot(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    mock.push_reply_for("reply", slow_reply());
    let mut open = app.open(player.stream_request("goodbye")).await;
    assert_eq!(open.status, StatusCode::OK);
    let metadata = open.next_event().await.expect("metadata");
    assert_eq!(metadata.event, "metadata");
    assert_eq!(
        metadata.data["current_state"], "END",
        "the turn was decided"
    );
    let delta = open.next_event().await.expect("a delta");
    assert_eq!(delta.event, "text_delta");
    assert_eq!(mock.stats().open_streams, 1, "the provider stream is open");
    drop(open);
    assert!(
        mock.wait_for(Duration::from_secs(1), |s| s.cancelled_streams >= 1
            && s.open_streams == 0)
            .await,
        "the provider request is cancelled within 1 s: {:?}",
        mock.stats()
    );
    assert_eq!(
        player.snapshot(&app).await,
        before,
        "the turn is rolled back"
    );
    // The player can resend at once: no stuck claim.
    resend_succeeds(&app, &player, "after a mid-stream disconnect").await;

    // Hanging up before reading anything.
    let before = player.snapshot(&app).await;
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    mock.push_reply_for("reply", slow_reply());
    let open = app.open(player.stream_request("goodbye")).await;
    assert_eq!(open.status, StatusCode::OK);
    drop(open);
    assert!(
        mock.wait_for(Duration::from_secs(1), |s| s.cancelled_streams >= 2
            && s.open_streams == 0)
            .await,
        "{:?}",
        mock.stats()
    );
    assert_eq!(player.snapshot(&app).await, before);
    // A streamed resend runs to the end and is stored.
    mock.push_reply_for("eval", eval_answer("pass", Some(0)));
    let res = app.send(player.stream_request("goodbye")).await;
    assert_eq!(res.status, StatusCode::OK);
    let events = crate::common::parse_sse(&res.text);
    let done = &events.last().unwrap().data;
    assert_eq!(events.last().unwrap().event, "done", "{}", res.text);
    assert_eq!(done["outcome"], "ACCEPT");
    assert_eq!(player.status(&app).await["outcome"], "ACCEPT");
    assert!(
        mock.wait_for(Duration::from_secs(1), |s| s.in_flight == 0
            && s.open_streams == 0)
            .await,
        "no provider request left behind: {:?}",
        mock.stats()
    );
}

async fn client_leaving_a_plain_message_rolls_back(backend: Backend) {
    let mock = start_mock(MockConfig::default()).await;
    let Some((app, player)) = fault_app(backend, &mock, "plain-leaver").await else {
        return;
    };
    let before = player.snapshot(&app).await;
    mock.push_reply_for(
        "eval",
        eval_answer("pass", Some(0)).with_latency(Duration::from_secs(5)),
    );
    let cancelled = mock.stats().cancelled;
    let send = app.send(player.message_request("goodbye"));
    let gave_up = tokio::select! {
        _ = send => false,
        _ = mock.wait_for(Duration::from_secs(5), |s| s.in_flight >= 1) => true,
    };
    assert!(
        gave_up,
        "the evaluator call was under way when the client left"
    );
    assert!(
        mock.wait_for(Duration::from_secs(1), |s| s.cancelled > cancelled)
            .await,
        "the provider request is cancelled: {:?}",
        mock.stats()
    );
    assert_eq!(player.snapshot(&app).await, before);
    // The claim is released in the background when a request is dropped mid-turn.
    let resent = eventually(Duration::from_secs(5), || async {
        app.send(player.message_request("hello again")).await.status == StatusCode::OK
    })
    .await;
    assert!(resent, "the player can resend");
}
