//! The vendors' wire formats: JSON bodies, SSE events and error bodies, shaped like the real
//! OpenAI Chat Completions and Anthropic Messages APIs.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::record::{Protocol, RecordedRequest};
use crate::reply::{Reply, ReplyContent};

/// A stream split into the parts a fault can be inserted between.
pub(crate) struct StreamPlan {
    /// Events before the first content delta.
    pub preamble: Vec<Bytes>,
    /// One event per content delta.
    pub deltas: Vec<Bytes>,
    /// The events that end the stream properly (finish reason, terminator).
    pub closing: Vec<Bytes>,
}

/// Seconds since the epoch, for `created` fields.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A rough token count, good enough for `usage` fields.
fn tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4).max(1)
}

fn sse_data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn sse_event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

/// Whether an Anthropic request's structured reply becomes a `tool_use` block.
fn anthropic_tool<'a>(req: &'a RecordedRequest, reply: &Reply) -> Option<&'a str> {
    match reply.content {
        ReplyContent::Json(_) => req.forced_tool(),
        ReplyContent::Text(_) => None,
    }
}

/// The full JSON body of a successful non-streaming reply.
pub(crate) fn json_body(protocol: Protocol, req: &RecordedRequest, reply: &Reply, n: u64) -> Bytes {
    let model = req.model().unwrap_or("mock-model");
    let text = reply.content.as_text();
    let prompt_tokens = tokens(&req.prompt_text());
    let body = match protocol {
        Protocol::Anthropic => {
            let (content, stop_reason) = match (anthropic_tool(req, reply), &reply.content) {
                (Some(name), ReplyContent::Json(input)) => (
                    json!([{"type": "tool_use", "id": format!("toolu_mock{n}"), "name": name, "input": input}]),
                    "tool_use",
                ),
                _ => (json!([{"type": "text", "text": text}]), "end_turn"),
            };
            json!({
                "id": format!("msg_mock{n}"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": prompt_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": tokens(&text),
                },
            })
        }
        _ => json!({
            "id": format!("chatcmpl-mock{n}"),
            "object": "chat.completion",
            "created": unix_now(),
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": tokens(&text),
                "total_tokens": prompt_tokens + tokens(&text),
            },
            "service_tier": "default",
            "system_fingerprint": "fp_foilmock",
        }),
    };
    Bytes::from(body.to_string())
}

/// The SSE events of a successful streaming reply.
pub(crate) fn stream_plan(
    protocol: Protocol,
    req: &RecordedRequest,
    reply: &Reply,
    n: u64,
) -> StreamPlan {
    let model = req.model().unwrap_or("mock-model");
    let deltas = reply.deltas();
    match protocol {
        Protocol::Anthropic => {
            let tool = anthropic_tool(req, reply);
            let message = json!({
                "type": "message_start",
                "message": {
                    "id": format!("msg_mock{n}"),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {"input_tokens": tokens(&req.prompt_text()), "output_tokens": 1},
                },
            });
            let block = match tool {
                Some(name) => {
                    json!({"type": "tool_use", "id": format!("toolu_mock{n}"), "name": name, "input": {}})
                }
                None => json!({"type": "text", "text": ""}),
            };
            let preamble = vec![
                sse_event("message_start", &message),
                sse_event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": 0, "content_block": block}),
                ),
                sse_event("ping", &json!({"type": "ping"})),
            ];
            let deltas = deltas
                .iter()
                .map(|piece| {
                    let delta = match tool {
                        Some(_) => json!({"type": "input_json_delta", "partial_json": piece}),
                        None => json!({"type": "text_delta", "text": piece}),
                    };
                    sse_event(
                        "content_block_delta",
                        &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
                    )
                })
                .collect();
            let stop_reason = if tool.is_some() {
                "tool_use"
            } else {
                "end_turn"
            };
            let closing = vec![
                sse_event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": 0}),
                ),
                sse_event(
                    "message_delta",
                    &json!({
                        "type": "message_delta",
                        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                        "usage": {"output_tokens": tokens(&reply.content.as_text())},
                    }),
                ),
                sse_event("message_stop", &json!({"type": "message_stop"})),
            ];
            StreamPlan {
                preamble,
                deltas,
                closing,
            }
        }
        _ => {
            let id = format!("chatcmpl-mock{n}");
            let created = unix_now();
            let chunk = |delta: Value, finish: Value| {
                sse_data(&json!({
                    "id": id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "service_tier": "default",
                    "system_fingerprint": "fp_foilmock",
                    "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
                }))
            };
            let preamble = vec![chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                Value::Null,
            )];
            let deltas = deltas
                .iter()
                .map(|piece| chunk(json!({"content": piece}), Value::Null))
                .collect();
            let mut closing = vec![chunk(json!({}), json!("stop"))];
            let include_usage = req
                .body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                == Some(true);
            if include_usage {
                let prompt = tokens(&req.prompt_text());
                let completion = tokens(&reply.content.as_text());
                closing.push(sse_data(&json!({
                    "id": id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                })));
            }
            closing.push(Bytes::from_static(b"data: [DONE]\n\n"));
            StreamPlan {
                preamble,
                deltas,
                closing,
            }
        }
    }
}

/// An SSE event whose JSON is broken.
pub(crate) fn malformed_event(protocol: Protocol) -> Bytes {
    match protocol {
        Protocol::Anthropic => Bytes::from_static(
            b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_de\n\n",
        ),
        _ => Bytes::from_static(b"data: {\"id\": \"chatcmpl-broken\", \"choices\": [{\"delta\": {\"cont\n\n"),
    }
}

/// A JSON body that is not valid JSON.
pub(crate) fn malformed_json_body() -> Bytes {
    Bytes::from_static(b"{\"id\": \"chatcmpl-broken\", \"object\": \"chat.completion\", \"choices\": [{\"message\": {\"content\": \"unterminated")
}

/// An error reported inside a stream.
pub(crate) fn error_event(protocol: Protocol, status: u16, message: &str) -> Bytes {
    match protocol {
        Protocol::Anthropic => {
            let (kind, default) = anthropic_error(status);
            sse_event(
                "error",
                &json!({"type": "error", "error": {"type": kind, "message": pick(message, default)}}),
            )
        }
        _ => {
            let (kind, code, default) = openai_error(status);
            sse_data(
                &json!({"error": {"message": pick(message, default), "type": kind, "param": null, "code": code}}),
            )
        }
    }
}

fn pick<'a>(message: &'a str, default: &'a str) -> &'a str {
    if message.is_empty() {
        default
    } else {
        message
    }
}

/// Anthropic's error `type` and usual message for a status.
fn anthropic_error(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("invalid_request_error", "Invalid request."),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => ("not_found_error", "Not found."),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your per-minute rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "Internal server error"),
    }
}

/// OpenAI's error `type`, `code` and usual message for a status.
fn openai_error(status: u16) -> (&'static str, Value, &'static str) {
    match status {
        400 => ("invalid_request_error", Value::Null, "Invalid request."),
        401 => (
            "invalid_request_error",
            json!("invalid_api_key"),
            "Incorrect API key provided.",
        ),
        403 => (
            "invalid_request_error",
            json!("unsupported_country_region_territory"),
            "Country, region, or territory not supported",
        ),
        404 => (
            "invalid_request_error",
            json!("model_not_found"),
            "The model does not exist or you do not have access to it.",
        ),
        429 => (
            "requests",
            json!("rate_limit_exceeded"),
            "Rate limit reached for requests. Please try again later.",
        ),
        503 => (
            "server_error",
            Value::Null,
            "The engine is currently overloaded, please try again later.",
        ),
        _ => (
            "server_error",
            Value::Null,
            "The server had an error while processing your request. Sorry about that!",
        ),
    }
}

/// The key masked the way OpenAI echoes it in a 401 message (`sk-ab*****wxyz`).
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// The vendor's error body for an HTTP error status.
pub(crate) fn error_body(
    protocol: Protocol,
    status: u16,
    message: &str,
    req: &RecordedRequest,
) -> Bytes {
    let body = match protocol {
        Protocol::Anthropic => {
            let (kind, default) = anthropic_error(status);
            json!({
                "type": "error",
                "error": {"type": kind, "message": pick(message, default)},
                "request_id": format!("req_mock{}", req.path.len()),
            })
        }
        _ => {
            let (kind, code, default) = openai_error(status);
            let message = match (status, message.is_empty(), req.bearer_token()) {
                (401, true, Some(key)) => format!(
                    "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    mask_key(key)
                ),
                (401, true, None) => "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).".to_string(),
                _ => pick(message, default).to_string(),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
    };
    Bytes::from(body.to_string())
}

/// A `GET /models` listing.
pub(crate) fn models_body(protocol: Protocol) -> Bytes {
    let body = match protocol {
        Protocol::Anthropic => json!({
            "data": [{
                "type": "model",
                "id": "claude-mock-1",
                "display_name": "Claude Mock",
                "created_at": "2025-01-01T00:00:00Z",
            }],
            "has_more": false,
            "first_id": "claude-mock-1",
            "last_id": "claude-mock-1",
        }),
        _ => json!({
            "object": "list",
            "data": [{"id": "gpt-mock-1", "object": "model", "created": 1_700_000_000, "owned_by": "foil-mock"}],
        }),
    };
    Bytes::from(body.to_string())
}

/// OpenRouter's `GET /key` answer.
pub(crate) fn openrouter_key_body() -> Bytes {
    Bytes::from(
        json!({"data": {"label": "mock", "usage": 0, "limit": null, "is_free_tier": false}})
            .to_string(),
    )
}

/// Checks an Anthropic Messages body the way the real API does; returns the error message.
pub(crate) fn validate_anthropic(body: &Value) -> Result<(), String> {
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("model: Field required".into());
    }
    if body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("max_tokens: Field required".into());
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err("messages: Field required".into());
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            Some("system") => {
                return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.".into())
            }
            _ => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
        }
        let empty = match message.get("content") {
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(blocks)) => blocks.is_empty(),
            _ => true,
        };
        if empty {
            return Err(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            ));
        }
    }
    if messages[0].get("role").and_then(Value::as_str) != Some("user") {
        return Err("messages: first message must use the \"user\" role".into());
    }
    Ok(())
}

/// Checks an OpenAI Chat Completions body; returns the error message.
pub(crate) fn validate_openai(body: &Value) -> Result<(), String> {
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("you must provide a model parameter".into());
    }
    match body.get("messages").and_then(Value::as_array) {
        Some(messages) if !messages.is_empty() => Ok(()),
        Some(_) => Err("[] is too short - 'messages'".into()),
        None => Err("Missing required parameter: 'messages'.".into()),
    }
}
