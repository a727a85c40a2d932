//! Successful calls against the mock, for both protocols: request shapes, auth headers,
//! structured output, streaming, key validation, metrics.

mod common;

use std::time::Duration;

use common::{request, Setup, KEY, MODELS, T};
use foil_llm::{
    ChatMessage, ChatRequest, ClientOptions, LlmError, ProviderConfig, Secret, StructuredOutput,
};
use foil_mock_llm::{FaultPoint, MockConfig, Protocol, Reply};
use futures_util::StreamExt;
use serde_json::{json, Value};

fn eval_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["pass", "redirect", "reject", "kick_out", "follow_up"]},
            "transition_index": {"type": ["integer", "null"]},
            "reason": {"type": "string"},
        },
        "required": ["decision", "transition_index", "reason"],
        "additionalProperties": false,
    })
}

#[tokio::test]
async fn json_completion_sends_the_protocol_shape() {
    let s = Setup::new(MockConfig::default()).await;
    for model in MODELS {
        s.mock.push_reply(Reply::text("Fine. One latte."));
        assert_eq!(
            s.complete(model, &request()).await.unwrap(),
            "Fine. One latte."
        );
        let seen = s.mock.last_request().unwrap();
        assert!(!seen.is_stream());
        match seen.protocol {
            Protocol::OpenAi => {
                assert_eq!(seen.path, "/v1/chat/completions");
                assert_eq!(seen.model(), Some("gpt-4o-mini"));
                assert_eq!(
                    seen.body["messages"],
                    json!([
                        {"role": "system", "content": "You are Mack, a grumpy barista."},
                        {"role": "assistant", "content": "What do you want?"},
                        {"role": "user", "content": "A latte, please."},
                    ])
                );
                assert_eq!(seen.body["max_tokens"], 200);
                assert_eq!(seen.body["temperature"], 0.5);
            }
            Protocol::Anthropic => {
                assert_eq!(seen.path, "/v1/messages");
                assert_eq!(seen.model(), Some("claude-3-5-haiku-latest"));
                assert_eq!(seen.body["system"], "You are Mack, a grumpy barista.");
                let roles: Vec<&str> = seen.body["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["role"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    roles,
                    ["user", "assistant", "user"],
                    "starts with user, alternates"
                );
                assert_eq!(seen.body["max_tokens"], 200);
                assert_eq!(seen.body["temperature"], 0.5);
            }
            Protocol::Unknown => unreachable!(),
        }
    }
}

#[tokio::test]
async fn auth_headers_follow_each_protocol() {
    let s = Setup::new(MockConfig::default().with_accepted_keys([KEY])).await;
    for model in MODELS {
        s.complete(model, &request()).await.unwrap();
        let seen = s.mock.last_request().unwrap();
        match seen.protocol {
            Protocol::OpenAi => {
                assert_eq!(
                    seen.header("authorization"),
                    Some(format!("Bearer {KEY}").as_str())
                );
                assert_eq!(seen.header("x-api-key"), None);
                assert_eq!(seen.header("anthropic-version"), None);
            }
            _ => {
                assert_eq!(seen.header("x-api-key"), Some(KEY));
                assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
                assert_eq!(seen.header("authorization"), None);
            }
        }
        assert_eq!(seen.header("content-type"), Some("application/json"));
        assert!(seen
            .header("user-agent")
            .unwrap()
            .starts_with("foil-engine/"));
    }
}

#[tokio::test]
async fn structured_output_request_shape_and_answer() {
    let s = Setup::new(MockConfig::default()).await;
    let answer = json!({"decision": "pass", "transition_index": 0, "reason": "polite order"});
    let req = request()
        .with_structured(StructuredOutput::new("evaluation", eval_schema()))
        .with_temperature(0.0)
        .with_step("eval");
    for model in MODELS {
        s.mock.push_reply(Reply::json(answer.clone()));
        let text = s.complete(model, &req).await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), answer);
        let seen = s.mock.last_request().unwrap();
        assert_eq!(seen.structured_output_name(), Some("evaluation"));
        match seen.protocol {
            Protocol::OpenAi => {
                assert_eq!(
                    seen.body["response_format"],
                    json!({"type": "json_schema", "json_schema": {"name": "evaluation", "schema": eval_schema(), "strict": true}})
                );
                assert!(seen.body.get("tools").is_none());
            }
            _ => {
                assert_eq!(seen.body["tools"].as_array().unwrap().len(), 1);
                assert_eq!(seen.body["tools"][0]["name"], "evaluation");
                assert_eq!(seen.body["tools"][0]["input_schema"], eval_schema());
                assert_eq!(
                    seen.body["tool_choice"],
                    json!({"type": "tool", "name": "evaluation"})
                );
                assert!(seen.body.get("response_format").is_none());
            }
        }
    }
}

#[tokio::test]
async fn structured_output_streams_as_json_text() {
    let s = Setup::new(MockConfig::default()).await;
    let answer = json!({"decision": "redirect", "transition_index": null, "reason": "small talk"});
    let req = request().with_structured(StructuredOutput::new("evaluation", eval_schema()));
    for model in MODELS {
        s.mock.push_reply(Reply::json(answer.clone()));
        let text = s.stream_text(model, &req).await.unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            answer,
            "{model}"
        );
    }
}

#[tokio::test]
async fn stream_deltas_concatenate_in_order() {
    let s = Setup::new(MockConfig::default()).await;
    let chunks = ["Fine", ".", " One", " latte", ", coming", " up", "."];
    for model in MODELS {
        s.mock.push_reply(Reply::chunked(chunks));
        let key = Secret::new(KEY);
        let stream = s
            .client
            .stream(&s.route(model), Some(&key), &request(), T)
            .await
            .unwrap();
        let pieces: Vec<String> = stream.map(|piece| piece.unwrap()).collect().await;
        assert_eq!(pieces, chunks, "{model}: one item per delta, in order");
        let seen = s.mock.last_request().unwrap();
        assert!(seen.is_stream(), "{model}");
    }
}

#[tokio::test]
async fn stream_deltas_arrive_before_the_stream_ends() {
    let s = Setup::new(MockConfig::default()).await;
    for model in MODELS {
        // The mock sends two deltas and then goes silent without ending the stream: the deltas
        // can only arrive if the client yields them as they come.
        s.mock.push_reply(
            Reply::chunked(["Hel", "lo", " never"])
                .with_fault(foil_mock_llm::Fault::Stall(FaultPoint::AfterChunks(2))),
        );
        let key = Secret::new(KEY);
        let mut stream = s
            .client
            .stream(
                &s.route(model),
                Some(&key),
                &request(),
                Duration::from_millis(500),
            )
            .await
            .unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), "Hel");
        assert_eq!(stream.next().await.unwrap().unwrap(), "lo");
        let error = stream.next().await.unwrap().unwrap_err();
        assert!(
            matches!(error, LlmError::Timeout { .. }),
            "{model}: {error:?}"
        );
        assert!(stream.next().await.is_none(), "nothing after an error");
    }
}

#[tokio::test]
async fn the_stream_timeout_is_per_gap_not_for_the_whole_stream() {
    // 12 deltas 100 ms apart take over a second in total; a 1 s idle timeout must not fire.
    let s = Setup::new(MockConfig::default().with_chunk_delay(Duration::from_millis(100))).await;
    let key = Secret::new(KEY);
    let words: Vec<String> = (0..12).map(|i| format!("w{i} ")).collect();
    s.mock.push_reply(Reply::chunked(words.clone()));
    let stream = s
        .client
        .stream(
            &s.route(MODELS[0]),
            Some(&key),
            &request(),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(stream.collect_text().await.unwrap(), words.concat());
}

#[tokio::test]
async fn dropping_a_stream_cancels_the_upstream_request() {
    let s = Setup::new(MockConfig::default()).await;
    for (i, model) in MODELS.into_iter().enumerate() {
        // A long reply that stalls after the first delta: the provider request stays open
        // until the client goes away.
        s.mock.push_reply(
            Reply::text("one two three four five")
                .with_fault(foil_mock_llm::Fault::Stall(FaultPoint::AfterChunks(1))),
        );
        let key = Secret::new(KEY);
        let mut stream = s
            .client
            .stream(&s.route(model), Some(&key), &request(), T)
            .await
            .unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), "one");
        assert_eq!(s.mock.stats().open_streams, 1);
        drop(stream);
        let cancelled = (i + 1) as u64;
        let seen = s
            .mock
            .wait_for(Duration::from_secs(1), |st| {
                st.open_streams == 0 && st.cancelled_streams == cancelled
            })
            .await;
        assert!(
            seen,
            "{model}: the mock saw no disconnect within 1 s: {:?}",
            s.mock.stats()
        );
    }
}

#[tokio::test]
async fn a_finished_stream_leaves_no_open_upstream_request() {
    let s = Setup::new(MockConfig::default()).await;
    for model in MODELS {
        s.mock.push_reply(Reply::text("all of it"));
        assert_eq!(s.stream_text(model, &request()).await.unwrap(), "all of it");
    }
    assert!(
        s.mock
            .wait_for(T, |st| st.in_flight == 0 && st.completed == 2)
            .await
    );
    assert_eq!(s.mock.stats().cancelled, 0);
}

#[tokio::test]
async fn connections_are_reused() {
    let s = Setup::new(MockConfig::default()).await;
    for _ in 0..3 {
        s.complete(MODELS[0], &request()).await.unwrap();
        s.stream_text(MODELS[0], &request()).await.unwrap();
    }
    // Draining after the end marker returns stream connections to the pool too. The pool takes
    // a connection back in the background, so a call that starts at once may open a second
    // one; without reuse, six sequential calls would need six.
    assert!(s.mock.wait_for(T, |st| st.completed == 6).await);
    assert!(
        s.mock.stats().connections_total <= 2,
        "{:?}",
        s.mock.stats()
    );
}

#[tokio::test]
async fn anthropic_gets_a_first_user_turn_when_there_is_none() {
    let s = Setup::new(MockConfig::default()).await;
    let req = ChatRequest::new(vec![ChatMessage::system("Greet the player in character.")]);
    s.complete(MODELS[1], &req).await.unwrap();
    let seen = s.mock.last_request().unwrap();
    assert_eq!(seen.body["messages"][0]["role"], "user");
    assert_eq!(
        seen.body["messages"][0]["content"],
        foil_llm::ANTHROPIC_OPENING_USER_TURN
    );
}

#[tokio::test]
async fn operator_key_is_the_fallback_and_the_caller_key_wins() {
    let mut s = Setup::new(MockConfig::default()).await;
    s.providers
        .set_api_key("openai", Secret::new("operator-key"))
        .unwrap();
    let route = s.route("gpt-4o");
    s.client
        .complete(&route, None, &request(), T)
        .await
        .unwrap();
    assert_eq!(
        s.mock.last_request().unwrap().bearer_token(),
        Some("operator-key")
    );
    let caller = Secret::new("caller-key");
    s.client
        .complete(&route, Some(&caller), &request(), T)
        .await
        .unwrap();
    assert_eq!(
        s.mock.last_request().unwrap().bearer_token(),
        Some("caller-key")
    );
}

#[tokio::test]
async fn missing_key_and_offline_make_no_network_call() {
    let s = Setup::new(MockConfig::default()).await;
    for model in MODELS {
        let route = s.route(model);
        let error = s
            .client
            .complete(&route, None, &request(), T)
            .await
            .unwrap_err();
        assert!(matches!(error, LlmError::KeyRequired { .. }), "{error:?}");
        assert!(s.client.stream(&route, None, &request(), T).await.is_err());
        assert!(s.client.validate_key(&route, None, T).await.is_err());
    }
    let offline = s.route("offline");
    let key = Secret::new(KEY);
    let error = s
        .client
        .complete(&offline, Some(&key), &request(), T)
        .await
        .unwrap_err();
    assert_eq!(error, LlmError::OfflineNotSupported);
    assert_eq!(
        s.client
            .stream(&offline, None, &request(), T)
            .await
            .unwrap_err(),
        LlmError::OfflineNotSupported
    );
    assert_eq!(
        s.client.validate_key(&offline, None, T).await.unwrap_err(),
        LlmError::OfflineNotSupported
    );
    assert_eq!(s.mock.stats().requests, 0);
}

#[tokio::test]
async fn providers_without_a_key_send_no_auth_header() {
    let mut s = Setup::new(MockConfig::default()).await;
    s.providers
        .insert(
            ProviderConfig::openai_compatible("ollama", s.mock.openai_base_url())
                .with_requires_key(false),
        )
        .unwrap();
    let route = s.route("ollama/llama3.2");
    assert_eq!(
        s.client
            .complete(&route, None, &request(), T)
            .await
            .unwrap(),
        "This is a mock reply."
    );
    let seen = s.mock.last_request().unwrap();
    assert_eq!(seen.model(), Some("llama3.2"));
    assert_eq!(seen.header("authorization"), None);
}

#[tokio::test]
async fn validate_key_uses_the_models_endpoint() {
    let mut s = Setup::new(MockConfig::default().with_accepted_keys([KEY])).await;
    s.providers
        .insert(ProviderConfig::openai_compatible(
            "openrouter",
            s.mock.openai_base_url(),
        ))
        .unwrap();
    let good = Secret::new(KEY);
    let bad = Secret::new("sk-wrong-0000000000000000");
    for (model, path) in [
        (MODELS[0], "/v1/models"),
        (MODELS[1], "/v1/models"),
        ("openrouter/meta-llama/llama-3", "/v1/key"),
    ] {
        let route = s.route(model);
        s.client.validate_key(&route, Some(&good), T).await.unwrap();
        let seen = s.mock.last_request().unwrap();
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            ("GET", path),
            "{model}"
        );
        assert_eq!(seen.api_key(), Some(KEY), "{model}");
        let error = s
            .client
            .validate_key(&route, Some(&bad), T)
            .await
            .unwrap_err();
        assert!(
            matches!(error, LlmError::InvalidKey { .. }),
            "{model}: {error:?}"
        );
        assert_eq!(error.code(), "llm_key_invalid");
    }
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    let options = ClientOptions {
        max_response_bytes: 2_000,
        ..ClientOptions::default()
    };
    let s = Setup::with_options(MockConfig::default(), options).await;
    let long = "blah ".repeat(1_000);
    for model in MODELS {
        s.mock.push_reply(Reply::text(long.clone()));
        let error = s.complete(model, &request()).await.unwrap_err();
        assert!(
            matches!(error, LlmError::TooLarge { limit: 2_000, .. }),
            "{error:?}"
        );
        s.mock.push_reply(Reply::text(long.clone()));
        let error = s.stream_text(model, &request()).await.unwrap_err();
        assert!(matches!(error, LlmError::TooLarge { .. }), "{error:?}");
        assert_eq!(error.code(), "llm_upstream_error");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn metrics_are_recorded_per_provider_and_step() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let s = Setup::new(MockConfig::default()).await;
    s.complete(MODELS[0], &request()).await.unwrap();
    s.mock
        .push_reply(Reply::fault(foil_mock_llm::Fault::server_error()));
    s.complete(MODELS[1], &request().with_step("eval"))
        .await
        .unwrap_err();

    let mut saw_ok = false;
    let mut saw_error = false;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        let has = |k: &str, v: &str| labels.iter().any(|(lk, lv)| lk == k && lv == v);
        match (key.name(), value) {
            ("foil_llm_call_seconds", DebugValue::Histogram(samples)) => {
                assert!(!samples.is_empty());
                if has("provider", "openai") && has("step", "response") && has("outcome", "ok") {
                    saw_ok = true;
                }
            }
            ("foil_llm_errors_total", DebugValue::Counter(n)) => {
                assert_eq!(n, 1);
                assert!(
                    has("provider", "anthropic")
                        && has("step", "eval")
                        && has("code", "llm_upstream_error"),
                    "{labels:?}"
                );
                saw_error = true;
            }
            _ => {}
        }
    }
    assert!(saw_ok && saw_error);
}

/// llama-cpp-python's server: `json_schema` is answered with its real 500 refusal; it takes
/// `json_object` with a `schema`. The client steps down at once, and remembers.
fn llama_cpp_python(request: &foil_mock_llm::RecordedRequest) -> Reply {
    match request.body.pointer("/response_format/type").and_then(Value::as_str) {
        Some("json_schema") => Reply::fault(foil_mock_llm::Fault::Status {
            status: 500,
            retry_after: None,
            message: "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}".into(),
        }),
        _ => Reply::json(json!({"decision": "pass", "transition_index": 0, "reason": "ok"})),
    }
}

#[tokio::test]
async fn a_refused_structured_dialect_steps_down_and_is_remembered() {
    let s = Setup::new(MockConfig::default().with_responder(llama_cpp_python)).await;
    let exact =
        json!({"anyOf": [{"type": "object", "properties": {"decision": {"const": "pass"}}}]});
    let req = request()
        .with_structured(
            StructuredOutput::new("evaluation", eval_schema()).with_exact(exact.clone()),
        )
        .with_step("eval");
    let route = s.route("openai/gpt-4o-mini");
    assert_eq!(
        s.client.dialect_for(&route),
        foil_llm::StructuredDialect::JsonSchema
    );

    let text = s.complete("openai/gpt-4o-mini", &req).await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["decision"],
        "pass"
    );
    let seen = s.mock.requests();
    assert_eq!(seen.len(), 2, "one refused call, one in the next dialect");
    assert_eq!(seen[0].body["response_format"]["type"], "json_schema");
    assert_eq!(
        seen[1].body["response_format"],
        json!({"type": "json_object", "schema": exact}),
        "the grammar-based dialect gets the exact schema"
    );
    assert_eq!(
        s.client.dialect_for(&route),
        foil_llm::StructuredDialect::JsonObjectSchema
    );

    // Remembered: the next call goes straight to the dialect that worked.
    s.mock.clear_requests();
    s.complete("openai/gpt-4o-mini", &req).await.unwrap();
    assert_eq!(s.mock.requests().len(), 1);

    // A plain outage is not a refusal: no step down, the error comes back.
    let fresh = Setup::new(MockConfig::default()).await;
    fresh
        .mock
        .push_reply(Reply::fault(foil_mock_llm::Fault::server_error()));
    let error = fresh
        .complete("openai/gpt-4o-mini", &req)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            LlmError::Upstream {
                status: Some(500),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(fresh.mock.requests().len(), 1);
    assert_eq!(
        fresh.client.dialect_for(&fresh.route("openai/gpt-4o-mini")),
        foil_llm::StructuredDialect::JsonSchema
    );
}

#[tokio::test]
async fn a_configured_dialect_is_asked_first() {
    let s = Setup::new(MockConfig::default()).await;
    let mut providers = s.providers.clone();
    providers
        .insert(
            ProviderConfig::openai_compatible("local", s.mock.openai_base_url())
                .with_structured(foil_llm::StructuredDialect::Prompt),
        )
        .unwrap();
    s.mock.push_reply(Reply::text("{\"decision\": \"pass\"}"));
    let req = request().with_structured(StructuredOutput::new("evaluation", eval_schema()));
    let key = Secret::new(KEY);
    s.client
        .complete(&providers.resolve("local/m").unwrap(), Some(&key), &req, T)
        .await
        .unwrap();
    assert!(s
        .mock
        .last_request()
        .unwrap()
        .body
        .get("response_format")
        .is_none());
}

/// The mock reports usage as each protocol does (whole responses, OpenAI's last chunk with
/// `stream_options.include_usage`, Anthropic's `message_start` and `message_delta`).
#[tokio::test]
async fn usage_is_read_from_responses_and_streams() {
    let s = Setup::new(MockConfig::default()).await;
    let key = Secret::new(KEY);
    let reply = "Fine. One latte, extra hot.";
    let output = (reply.len() as u64).div_ceil(4);
    for model in MODELS {
        s.mock.push_reply(Reply::text(reply));
        let whole = s
            .client
            .complete_with_usage(&s.route(model), Some(&key), &request(), T)
            .await
            .unwrap();
        assert_eq!(whole.text, reply);
        let usage = whole.usage.expect("usage reported");
        assert!(usage.input_tokens > 0, "{model}");
        assert_eq!(usage.output_tokens, output, "{model}");

        s.mock.push_reply(Reply::text(reply));
        let mut stream = s
            .client
            .stream(&s.route(model), Some(&key), &request(), T)
            .await
            .unwrap();
        assert_eq!(stream.usage(), None, "not before the end");
        let mut text = String::new();
        while let Some(piece) = stream.next().await {
            text.push_str(&piece.unwrap());
        }
        assert_eq!(text, reply);
        let streamed = stream.usage().expect("usage at the end");
        assert_eq!(
            streamed, usage,
            "{model}: the same numbers as the whole answer"
        );
        if model.starts_with("openai/") {
            let seen = s.mock.last_request().unwrap();
            assert_eq!(seen.body["stream_options"], json!({"include_usage": true}));
        }
    }
}
