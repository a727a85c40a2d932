//! Every provider fault maps to the right `LlmError` (quality.md R3), for both protocols and
//! both call styles, and no error ever shows the key.

mod common;

use std::time::Duration;

use common::{assert_no_key, request, Setup, KEY, MODELS, T};
use foil_llm::{LlmError, Secret};
use foil_mock_llm::{Fault, FaultPoint, MockConfig, Protocol, Reply};

/// How a call is made.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Json,
    Stream,
}

/// Runs one call in `mode` with a scripted reply and returns its error.
async fn fail(s: &Setup, model: &str, mode: Mode, reply: Reply, timeout: Duration) -> LlmError {
    s.mock.push_reply(reply);
    let key = Secret::new(KEY);
    let route = s.route(model);
    let error = match mode {
        Mode::Json => s
            .client
            .complete(&route, Some(&key), &request(), timeout)
            .await
            .unwrap_err(),
        Mode::Stream => match s
            .client
            .stream(&route, Some(&key), &request(), timeout)
            .await
        {
            Err(error) => error,
            Ok(stream) => stream.collect_text().await.unwrap_err(),
        },
    };
    assert_no_key(&error);
    error
}

fn each_case() -> Vec<(&'static str, Mode)> {
    MODELS
        .into_iter()
        .flat_map(|m| [(m, Mode::Json), (m, Mode::Stream)])
        .collect()
}

#[tokio::test]
async fn rejected_key_is_invalid_key_401() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        let error = fail(&s, model, mode, Reply::fault(Fault::unauthorized()), T).await;
        assert!(
            matches!(error, LlmError::InvalidKey { .. }),
            "{model} {mode:?}: {error:?}"
        );
        assert_eq!(error.code(), "llm_key_invalid");
        let error = fail(&s, model, mode, Reply::fault(Fault::status(403)), T).await;
        assert!(
            matches!(error, LlmError::InvalidKey { .. }),
            "{model} {mode:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn the_key_never_shows_in_errors_even_when_the_provider_echoes_it() {
    let s = Setup::new(MockConfig::default().with_accepted_keys(["another-key"])).await;
    // OpenAI echoes a masked form of a rejected key in its 401 message.
    let error = s.complete(MODELS[0], &request()).await.unwrap_err();
    assert!(matches!(error, LlmError::InvalidKey { .. }));
    assert_no_key(&error);
    assert!(
        !error.to_string().contains("XYZ"),
        "no tail of the key: {error}"
    );
    s.mock.set_accepted_keys(None);
    // A provider that puts the whole key (and more) in a 500 body.
    for (model, mode) in each_case() {
        let echo = Fault::Status {
            status: 500,
            retry_after: None,
            message: format!(
                "internal error for key {KEY} Authorization: Bearer {KEY} {}",
                "x".repeat(500)
            ),
        };
        let error = fail(&s, model, mode, Reply::fault(echo), T).await;
        let LlmError::Upstream {
            message, status, ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(*status, Some(500));
        assert!(
            message.chars().count() <= foil_llm::MAX_EXCERPT_CHARS,
            "{message}"
        );
        assert!(
            message.contains("internal error"),
            "keeps a useful excerpt: {message}"
        );
    }
}

#[tokio::test]
async fn rate_limits_pass_retry_after_on() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        let error = fail(&s, model, mode, Reply::fault(Fault::rate_limited(17)), T).await;
        assert_eq!(
            error,
            LlmError::RateLimited {
                provider: s.route(model).provider_name().to_owned(),
                retry_after: Some(17)
            },
            "{model} {mode:?}"
        );
        assert_eq!(error.code(), "rate_limited");
        assert_eq!(error.retry_after(), Some(17));
        let bare = Fault::Status {
            status: 429,
            retry_after: None,
            message: String::new(),
        };
        let error = fail(&s, model, mode, Reply::fault(bare), T).await;
        assert_eq!(error.retry_after(), None);
    }
}

#[tokio::test]
async fn server_errors_are_upstream_502() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        for status in [500, 503, 529] {
            let error = fail(&s, model, mode, Reply::fault(Fault::status(status)), T).await;
            match &error {
                LlmError::Upstream {
                    status: Some(got), ..
                } => assert_eq!(*got, status),
                other => panic!("{model} {mode:?} {status}: {other:?}"),
            }
            assert_eq!(error.code(), "llm_upstream_error");
        }
    }
}

#[tokio::test]
async fn connection_resets_and_early_closes_are_upstream_errors() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        for fault in [
            Fault::Reset(FaultPoint::BeforeHeaders),
            Fault::Reset(FaultPoint::AfterChunks(1)),
            Fault::Close(FaultPoint::BeforeHeaders),
            Fault::Close(FaultPoint::AfterChunks(1)),
        ] {
            let reply = Reply::text("one two three").with_fault(fault.clone());
            let error = fail(&s, model, mode, reply, T).await;
            assert!(
                matches!(error, LlmError::Upstream { status: None, .. }),
                "{model} {mode:?} {fault:?}: {error:?}"
            );
            assert_eq!(error.code(), "llm_upstream_error");
        }
    }
}

#[tokio::test]
async fn stalls_time_out_with_504() {
    let s = Setup::new(MockConfig::default()).await;
    let short = Duration::from_millis(300);
    for (model, mode) in each_case() {
        for point in [FaultPoint::BeforeHeaders, FaultPoint::AfterChunks(1)] {
            let reply = Reply::text("one two three").with_fault(Fault::Stall(point));
            let error = fail(&s, model, mode, reply, short).await;
            assert!(
                matches!(error, LlmError::Timeout { .. }),
                "{model} {mode:?} {point:?}: {error:?}"
            );
            assert_eq!(error.code(), "llm_timeout");
        }
    }
    // Each abandoned call was cancelled at the provider.
    assert!(
        s.mock
            .wait_for(T, |st| st.cancelled == 8 && st.in_flight == 0)
            .await,
        "{:?}",
        s.mock.stats()
    );
}

#[tokio::test]
async fn malformed_json_is_an_upstream_error() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        let error = fail(
            &s,
            model,
            mode,
            Reply::text("a b c").with_fault(Fault::MalformedJson),
            T,
        )
        .await;
        let LlmError::Upstream { message, .. } = &error else {
            panic!("{model} {mode:?}: {error:?}")
        };
        assert!(message.contains("JSON"), "{message}");
    }
}

#[tokio::test]
async fn truncated_bodies_are_upstream_errors() {
    let s = Setup::new(MockConfig::default()).await;
    for (model, mode) in each_case() {
        for after_chunks in [0, 2, 3] {
            let reply =
                Reply::chunked(["a", "b", "c"]).with_fault(Fault::Truncated { after_chunks });
            let error = fail(&s, model, mode, reply, T).await;
            let LlmError::Upstream { message, .. } = &error else {
                panic!("{model} {mode:?}: {error:?}")
            };
            if let Mode::Stream = mode {
                assert!(message.contains("truncated"), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn error_events_inside_a_stream_are_mapped() {
    let s = Setup::new(MockConfig::default()).await;
    for model in MODELS {
        let protocol = if model.starts_with("anthropic") {
            Protocol::Anthropic
        } else {
            Protocol::OpenAi
        };
        for (status, expect_rate_limit) in [(529, false), (500, false), (429, true)] {
            let reply = Reply::text("a b").with_fault(Fault::StreamError {
                after_chunks: 1,
                status,
                message: String::new(),
            });
            s.mock.push_reply(reply);
            let key = Secret::new(KEY);
            let mut stream = s
                .client
                .stream(&s.route(model), Some(&key), &request(), T)
                .await
                .unwrap();
            use futures_util::StreamExt;
            assert_eq!(
                stream.next().await.unwrap().unwrap(),
                "a",
                "text before the error arrives"
            );
            let error = stream.next().await.unwrap().unwrap_err();
            if expect_rate_limit {
                assert!(
                    matches!(error, LlmError::RateLimited { .. }),
                    "{protocol:?} {status}: {error:?}"
                );
            } else {
                assert!(
                    matches!(error, LlmError::Upstream { .. }),
                    "{protocol:?} {status}: {error:?}"
                );
            }
            assert!(stream.next().await.is_none());
        }
    }
}

#[tokio::test]
async fn unreachable_providers_are_upstream_errors() {
    let mut s = Setup::new(MockConfig::default()).await;
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    s.providers
        .set_base_url("openai", &format!("http://127.0.0.1:{port}/v1"))
        .unwrap();
    let error = s.complete(MODELS[0], &request()).await.unwrap_err();
    let LlmError::Upstream { message, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(message.starts_with("could not connect"), "{message}");
}
