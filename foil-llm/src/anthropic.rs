//! The Anthropic Messages wire format.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::LlmError;
use crate::request::{ChatRequest, Completion, Role, Usage};
use crate::stream::{Decoded, EventDecoder};

/// The `anthropic-version` header value.
pub(crate) const API_VERSION: &str = "2023-06-01";

/// Sent as the first user turn when a conversation has none (e.g. generating a greeting from
/// system instructions alone): the Messages API requires a non-empty list starting with `user`.
pub const OPENING_USER_TURN: &str = "(The conversation begins.)";

/// Splits messages into the top-level `system` text and a `user`/`assistant` list that starts
/// with `user` and alternates (consecutive same-role messages are merged, empty ones dropped).
fn split_messages(req: &ChatRequest) -> (String, Vec<(&'static str, String)>) {
    let mut system: Vec<&str> = Vec::new();
    let mut turns: Vec<(&'static str, String)> = Vec::new();
    for message in &req.messages {
        let content = message.content.trim();
        if content.is_empty() {
            continue;
        }
        let role = match message.role {
            Role::System => {
                system.push(content);
                continue;
            }
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        match turns.last_mut() {
            Some((last_role, text)) if *last_role == role => {
                text.push_str("\n\n");
                text.push_str(content);
            }
            _ => turns.push((role, content.to_owned())),
        }
    }
    if turns.first().is_none_or(|(role, _)| *role != "user") {
        turns.insert(0, ("user", OPENING_USER_TURN.to_owned()));
    }
    (system.join("\n\n"), turns)
}

/// The request body.
pub(crate) fn body(model: &str, req: &ChatRequest, stream: bool) -> Value {
    let (system, turns) = split_messages(req);
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("max_tokens".into(), json!(req.max_tokens.max(1)));
    if !system.is_empty() {
        body.insert("system".into(), json!(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
    }
    if let Some(structured) = &req.structured {
        let name = structured.wire_name();
        body.insert(
            "tools".into(),
            json!([{
                "name": name,
                "description": "Record the answer. Always call this tool with input matching its schema.",
                "input_schema": structured.schema,
            }]),
        );
        body.insert("tool_choice".into(), json!({"type": "tool", "name": name}));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` of a message, of `message_start`'s message and of `message_delta`.
#[derive(Deserialize, Clone, Copy, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Block {
    #[serde(rename = "text")]
    Text { text: String },
    #[serde(rename = "tool_use")]
    ToolUse { name: String, input: Value },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The message of an error body, if it has the Anthropic shape.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error.message)
}

/// The answer of a non-streaming response: with structured output, the input of the forced
/// tool as JSON text; otherwise (or if the model answered in text after all) the text blocks.
pub(crate) fn parse(
    provider: &str,
    bytes: &[u8],
    tool: Option<&str>,
) -> Result<Completion, LlmError> {
    let message: Message = serde_json::from_slice(bytes)
        .map_err(|_| LlmError::upstream(provider, "the response is not valid JSON"))?;
    let usage = message.usage.map(|u| Usage {
        input_tokens: u.input_tokens.unwrap_or(0),
        output_tokens: u.output_tokens.unwrap_or(0),
    });
    let mut text = String::new();
    for block in message.content {
        match block {
            Block::ToolUse { name, input } if Some(name.as_str()) == tool => {
                return Ok(Completion {
                    text: input.to_string(),
                    usage,
                });
            }
            Block::Text { text: piece } => text.push_str(&piece),
            _ => {}
        }
    }
    if text.is_empty() && tool.is_some() {
        return Err(LlmError::upstream(
            provider,
            "the response has no tool_use block",
        ));
    }
    Ok(Completion { text, usage })
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    delta: Option<StreamDelta>,
    #[serde(default)]
    error: Option<ErrorBody>,
    /// `message_start`: the message so far, with the prompt's `usage`.
    #[serde(default)]
    message: Option<StartedMessage>,
    /// `message_delta`: the output tokens so far.
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StreamDelta {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
}

/// Decodes Messages stream events. With structured output it yields the tool input's
/// `input_json_delta` pieces, otherwise the `text_delta` pieces.
pub(crate) struct Decoder {
    structured: bool,
    stopped: bool,
    usage: Option<Usage>,
}

impl Decoder {
    pub(crate) fn new(structured: bool) -> Self {
        Decoder {
            structured,
            stopped: false,
            usage: None,
        }
    }

    fn add_usage(&mut self, wire: WireUsage) {
        let usage = self.usage.get_or_insert_with(Usage::default);
        if let Some(input) = wire.input_tokens {
            usage.input_tokens = input;
        }
        if let Some(output) = wire.output_tokens {
            // Cumulative in `message_delta`.
            usage.output_tokens = output;
        }
    }
}

/// Maps an Anthropic error `type` (from an `event: error`).
fn stream_error(provider: &str, error: ErrorBody) -> LlmError {
    let message = crate::error::sanitize(error.message.as_deref().unwrap_or("error"), &[]);
    let provider = provider.to_owned();
    match error.kind.as_deref() {
        Some("rate_limit_error") => LlmError::RateLimited {
            provider,
            retry_after: None,
        },
        Some("authentication_error" | "permission_error") => {
            LlmError::InvalidKey { provider, message }
        }
        Some("overloaded_error") => LlmError::Upstream {
            provider,
            status: Some(529),
            message,
        },
        Some("api_error") => LlmError::Upstream {
            provider,
            status: Some(500),
            message,
        },
        _ => LlmError::Upstream {
            provider,
            status: None,
            message,
        },
    }
}

impl EventDecoder for Decoder {
    fn decode(&mut self, provider: &str, event: &str, data: &str) -> Result<Decoded, LlmError> {
        if data.trim().is_empty() {
            return Ok(Decoded::Nothing);
        }
        let parsed: StreamEvent = serde_json::from_str(data)
            .map_err(|_| LlmError::upstream(provider, "the stream sent malformed JSON"))?;
        match parsed.kind.as_str() {
            "content_block_delta" => {
                let Some(delta) = parsed.delta else {
                    return Ok(Decoded::Nothing);
                };
                let piece = match (delta.kind.as_deref(), self.structured) {
                    (Some("text_delta"), false) => delta.text,
                    (Some("input_json_delta"), true) => delta.partial_json,
                    _ => None,
                };
                Ok(piece
                    .filter(|p| !p.is_empty())
                    .map_or(Decoded::Nothing, Decoded::Text))
            }
            "message_start" => {
                if let Some(usage) = parsed.message.and_then(|m| m.usage) {
                    self.add_usage(usage);
                }
                Ok(Decoded::Nothing)
            }
            "message_delta" => {
                if let Some(usage) = parsed.usage {
                    self.add_usage(usage);
                }
                Ok(Decoded::Nothing)
            }
            "message_stop" => {
                self.stopped = true;
                Ok(Decoded::End)
            }
            "error" => Err(stream_error(
                provider,
                parsed.error.unwrap_or(ErrorBody {
                    kind: None,
                    message: None,
                }),
            )),
            // Anthropic may add event types; unknown ones are skipped, as its docs ask.
            _ if event == "error" => {
                Err(LlmError::upstream(provider, "the stream reported an error"))
            }
            _ => Ok(Decoded::Nothing),
        }
    }

    fn ended_properly(&self) -> bool {
        self.stopped
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{ChatMessage, StructuredOutput};

    #[test]
    fn system_goes_top_level_and_roles_alternate() {
        let req = ChatRequest::new(vec![
            ChatMessage::system("You are Mack."),
            ChatMessage::assistant("Hi."),
            ChatMessage::user("one"),
            ChatMessage::user("two"),
            ChatMessage::system("Be brief."),
            ChatMessage::assistant(""),
            ChatMessage::assistant("Sure."),
        ]);
        let b = body("claude-x", &req, false);
        assert_eq!(b["system"], "You are Mack.\n\nBe brief.");
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
        assert_eq!(b["messages"][0]["content"], OPENING_USER_TURN);
        assert_eq!(b["messages"][2]["content"], "one\n\ntwo");
    }

    #[test]
    fn only_system_messages_still_make_a_valid_request() {
        let req = ChatRequest::new(vec![ChatMessage::system("Greet the player.")]);
        let b = body("claude-x", &req, false);
        assert_eq!(b["messages"].as_array().unwrap().len(), 1);
        assert_eq!(b["messages"][0]["role"], "user");
    }

    #[test]
    fn structured_output_forces_one_tool_and_returns_its_input() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        let req = ChatRequest::new(vec![ChatMessage::user("x")])
            .with_structured(StructuredOutput::new("evaluation", schema.clone()))
            .with_temperature(1.7);
        let b = body("claude-x", &req, true);
        assert_eq!(b["tools"][0]["input_schema"], schema);
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "evaluation"})
        );
        assert_eq!(b["temperature"], 1.0);
        let response = br#"{"content": [{"type": "tool_use", "id": "t", "name": "evaluation", "input": {"a": 1}}],
            "usage": {"input_tokens": 40, "output_tokens": 7}}"#;
        assert_eq!(
            parse("anthropic", response, Some("evaluation")).unwrap(),
            Completion {
                text: r#"{"a":1}"#.into(),
                usage: Some(Usage {
                    input_tokens: 40,
                    output_tokens: 7
                }),
            }
        );
    }
}
