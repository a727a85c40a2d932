//! The mock's wire formats and fault modes, checked with a plain HTTP client and raw sockets.

use std::time::{Duration, Instant};

use foil_mock_llm::{Fault, FaultPoint, MockConfig, MockLlm, Protocol, Reply};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post_openai(mock: &MockLlm, body: Value) -> reqwest::Response {
    http()
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn post_anthropic(mock: &MockLlm, body: Value) -> reqwest::Response {
    http()
        .post(format!("{}/v1/messages", mock.anthropic_base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn openai_body(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

fn anthropic_body(stream: bool) -> Value {
    json!({"model": "claude-test", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

/// Splits an SSE body into (event name, data) pairs.
fn sse(body: &str) -> Vec<(Option<String>, String)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            (name, data)
        })
        .collect()
}

#[tokio::test]
async fn openai_json_has_the_chat_completion_shape() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(Reply::text("Hello there."));
    let response = post_openai(&mock, openai_body(false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello there.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn openai_sse_sends_chunks_then_done() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(Reply::chunked(["Hel", "lo", " world"]));
    let response = post_openai(&mock, openai_body(true)).await;
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = sse(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(name, data)| {
            assert!(name.is_none(), "OpenAI events have no name");
            serde_json::from_str(data).unwrap()
        })
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let deltas: Vec<&str> = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(deltas, ["Hel", "lo", " world"]);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn anthropic_sse_sends_the_documented_event_sequence() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(Reply::chunked(["Hi", " there"]));
    let response = post_anthropic(&mock, anthropic_body(true)).await;
    assert_eq!(response.status(), 200);
    let events = sse(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            data["type"],
            name.as_deref().unwrap(),
            "event name matches data.type"
        );
    }
    let delta: Value = serde_json::from_str(&events[3].1).unwrap();
    assert_eq!(delta["delta"], json!({"type": "text_delta", "text": "Hi"}));
    let stop: Value = serde_json::from_str(&events[6].1).unwrap();
    assert_eq!(stop["delta"]["stop_reason"], "end_turn");
}

#[tokio::test]
async fn anthropic_structured_replies_use_the_forced_tool() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    let answer = json!({"decision": "pass", "transition_index": 0});
    let mut body = anthropic_body(false);
    body["tools"] = json!([{"name": "evaluation", "input_schema": {"type": "object"}}]);
    body["tool_choice"] = json!({"type": "tool", "name": "evaluation"});
    mock.push_reply(Reply::json(answer.clone()));
    let json: Value = post_anthropic(&mock, body.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["type"], "message");
    assert_eq!(json["content"][0]["type"], "tool_use");
    assert_eq!(json["content"][0]["name"], "evaluation");
    assert_eq!(json["content"][0]["input"], answer);
    assert_eq!(json["stop_reason"], "tool_use");

    body["stream"] = json!(true);
    mock.push_reply(Reply::json(answer.clone()));
    let events = sse(&post_anthropic(&mock, body).await.text().await.unwrap());
    let mut partial = String::new();
    for (_, data) in &events {
        let data: Value = serde_json::from_str(data).unwrap();
        if data["type"] == "content_block_start" {
            assert_eq!(data["content_block"]["type"], "tool_use");
        }
        if data["type"] == "content_block_delta" {
            assert_eq!(data["delta"]["type"], "input_json_delta");
            partial.push_str(data["delta"]["partial_json"].as_str().unwrap());
        }
    }
    assert_eq!(serde_json::from_str::<Value>(&partial).unwrap(), answer);
}

#[tokio::test]
async fn anthropic_requires_its_version_header_and_rejects_system_role() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    let response = http()
        .post(format!("{}/v1/messages", mock.url()))
        .header("x-api-key", "k")
        .json(&anthropic_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let mut bad = anthropic_body(false);
    bad["messages"] = json!([{"role": "system", "content": "x"}]);
    assert_eq!(post_anthropic(&mock, bad).await.status(), 400);
}

#[tokio::test]
async fn accepted_keys_are_enforced_in_each_vendor_shape() {
    let mock = MockLlm::start(MockConfig::default().with_accepted_keys(["good"]))
        .await
        .unwrap();
    let response = post_openai(&mock, openai_body(false)).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Incorrect API key"));

    let response = post_anthropic(&mock, anthropic_body(false)).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");

    let ok = http()
        .get(format!("{}/models", mock.openai_base_url()))
        .bearer_auth("good")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["object"], "list");
}

#[tokio::test]
async fn status_faults_carry_retry_after_and_vendor_bodies() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(Reply::fault(Fault::rate_limited(12)));
    let response = post_anthropic(&mock, anthropic_body(false)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "12");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    mock.push_reply(Reply::fault(Fault::overloaded_for(Protocol::Anthropic)));
    let response = post_anthropic(&mock, anthropic_body(false)).await;
    assert_eq!(response.status(), 529);

    mock.push_reply(Reply::fault(Fault::server_error()));
    let response = post_openai(&mock, openai_body(false)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
}

/// Sends a raw HTTP request and reads until EOF or error.
async fn raw_exchange(mock: &MockLlm, stream: bool) -> (Vec<u8>, std::io::Result<()>) {
    let mut socket = TcpStream::connect(mock.addr()).await.unwrap();
    let body = openai_body(stream).to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let result = tokio::time::timeout(WAIT, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("the mock should end the connection");
    (received, result)
}

#[tokio::test]
async fn reset_sends_rst_and_close_sends_fin() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();

    mock.push_reply(Reply::fault(Fault::Reset(FaultPoint::BeforeHeaders)));
    let (received, result) = raw_exchange(&mock, false).await;
    assert!(received.is_empty());
    assert_eq!(
        result.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );

    mock.push_reply(
        Reply::text("one two three four").with_fault(Fault::Reset(FaultPoint::AfterChunks(2))),
    );
    let (received, result) = raw_exchange(&mock, true).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"one\""), "{text}");
    assert!(!text.contains("three"), "{text}");
    assert_eq!(
        result.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );

    mock.push_reply(
        Reply::text("one two three").with_fault(Fault::Close(FaultPoint::AfterChunks(1))),
    );
    let (received, result) = raw_exchange(&mock, true).await;
    let text = String::from_utf8_lossy(&received);
    assert!(result.is_ok(), "a clean FIN");
    assert!(text.contains("\"one\"") && !text.contains("two"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "the chunked body is left unterminated"
    );

    mock.push_reply(
        Reply::text("a JSON body cut in half").with_fault(Fault::Close(FaultPoint::AfterChunks(0))),
    );
    let (received, result) = raw_exchange(&mock, false).await;
    let text = String::from_utf8_lossy(&received);
    assert!(result.is_ok());
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(body.len() < length, "fewer bytes than announced");
    let stats = mock.stats();
    assert_eq!(
        stats.cancelled, 0,
        "scripted faults are not client cancellations"
    );
}

#[tokio::test]
async fn truncated_and_malformed_streams() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(
        Reply::chunked(["a", "b", "c"]).with_fault(Fault::Truncated { after_chunks: 2 }),
    );
    let text = post_openai(&mock, openai_body(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"b\"") && !text.contains("\"c\""));
    assert!(!text.contains("[DONE]"));

    mock.push_reply(Reply::chunked(["a", "b"]).with_fault(Fault::Truncated { after_chunks: 1 }));
    let text = post_anthropic(&mock, anthropic_body(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("message_stop"));

    mock.push_reply(Reply::chunked(["a", "b"]).with_fault(Fault::MalformedJson));
    let text = post_openai(&mock, openai_body(true))
        .await
        .text()
        .await
        .unwrap();
    let broken = sse(&text)
        .into_iter()
        .filter(|(_, data)| data != "[DONE]")
        .filter(|(_, data)| serde_json::from_str::<Value>(data).is_err())
        .count();
    assert_eq!(broken, 1);
    assert!(
        text.contains("\"b\"") && text.contains("[DONE]"),
        "the rest of the stream follows"
    );

    mock.push_reply(Reply::fault(Fault::MalformedJson));
    let body = post_openai(&mock, openai_body(false))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    mock.push_reply(Reply::text("x").with_fault(Fault::StreamError {
        after_chunks: 1,
        status: 529,
        message: String::new(),
    }));
    let text = post_anthropic(&mock, anthropic_body(true))
        .await
        .text()
        .await
        .unwrap();
    let last = sse(&text).pop().unwrap();
    assert_eq!(last.0.as_deref(), Some("error"));
    let data: Value = serde_json::from_str(&last.1).unwrap();
    assert_eq!(data["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn stalls_are_counted_as_cancelled_when_the_client_gives_up() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    mock.push_reply(Reply::text("a b c").with_fault(Fault::Stall(FaultPoint::AfterChunks(1))));
    let response = post_openai(&mock, openai_body(true)).await;
    assert!(mock.wait_for(WAIT, |s| s.open_streams == 1).await);
    let mut body = response.bytes_stream();
    use futures_util::StreamExt;
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(body);
    assert!(
        mock.wait_for(WAIT, |s| s.open_streams == 0 && s.cancelled_streams == 1)
            .await,
        "{:?}",
        mock.stats()
    );

    mock.push_reply(Reply::fault(Fault::Stall(FaultPoint::BeforeHeaders)));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let result = client
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .json(&openai_body(false))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert!(
        mock.wait_for(WAIT, |s| s.cancelled == 2 && s.in_flight == 0)
            .await,
        "{:?}",
        mock.stats()
    );
}

#[tokio::test]
async fn records_requests_and_serves_step_queues_before_the_responder() {
    let config = MockConfig::default()
        .with_responder(|req| Reply::text(format!("echo {}", req.model().unwrap_or("?"))));
    let mock = MockLlm::start(config).await.unwrap();
    mock.push_reply_for("eval-model", Reply::text("from the eval queue"));
    mock.push_reply(Reply::text("from the shared queue"));

    let ask = |model: &str| {
        let mut body = openai_body(false);
        body["model"] = json!(model);
        body
    };
    let content = |v: Value| {
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = content(
        post_openai(&mock, ask("reply-model"))
            .await
            .json()
            .await
            .unwrap(),
    );
    let b = content(
        post_openai(&mock, ask("eval-model"))
            .await
            .json()
            .await
            .unwrap(),
    );
    let c = content(
        post_openai(&mock, ask("eval-model"))
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(a, "from the shared queue");
    assert_eq!(b, "from the eval queue");
    assert_eq!(c, "echo eval-model");

    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].step.as_deref(), Some("eval-model"));
    assert_eq!(requests[1].bearer_token(), Some("sk-test"));
    assert_eq!(requests[1].api_key(), Some("sk-test"));
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body["messages"][0]["content"], "hi");
    assert_eq!(mock.stats().completed, 3);
}

#[tokio::test]
async fn latency_delays_the_headers() {
    let mock = MockLlm::start(MockConfig::default().with_latency(Duration::from_millis(150)))
        .await
        .unwrap();
    let started = Instant::now();
    let response = post_openai(&mock, openai_body(false)).await;
    assert_eq!(response.status(), 200);
    // A lower bound only: sleeping never ends early, but it may end late on a busy machine.
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn unknown_paths_get_a_404_and_dropping_the_handle_stops_the_server() {
    let mock = MockLlm::start(MockConfig::default()).await.unwrap();
    let response = http()
        .get(format!("{}/nope", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let addr = mock.addr();
    mock.shutdown();
    // The listener is closed once the accept task is gone.
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused);
}
