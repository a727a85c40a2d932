//! The OpenAI Chat Completions wire format (also spoken by Groq, Mistral, DeepSeek, Together,
//! OpenRouter, xAI, Gemini's compatibility endpoint, Ollama, llama.cpp, LiteLLM…).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::LlmError;
use crate::request::{ChatRequest, Completion, Role, Usage};
use crate::stream::{Decoded, EventDecoder};
use crate::structured::StructuredDialect;

/// OpenAI reasoning models take `max_completion_tokens` and reject `temperature`.
fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| model.starts_with(p))
}

/// The request body; structured output (if any) in `dialect`.
pub(crate) fn body(
    model: &str,
    req: &ChatRequest,
    stream: bool,
    dialect: StructuredDialect,
) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({"role": role, "content": m.content})
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    let max_tokens = req.max_tokens.max(1);
    if is_reasoning_model(model) {
        body.insert("max_completion_tokens".into(), json!(max_tokens));
    } else {
        body.insert("max_tokens".into(), json!(max_tokens));
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t.clamp(0.0, 2.0)));
        }
    }
    if let Some(structured) = &req.structured {
        let format = match dialect {
            StructuredDialect::JsonSchema => Some(json!({
                "type": "json_schema",
                "json_schema": {"name": structured.wire_name(), "schema": structured.schema, "strict": true},
            })),
            StructuredDialect::JsonObjectSchema => Some(json!({
                "type": "json_object",
                "schema": structured.exact.as_ref().unwrap_or(&structured.schema),
            })),
            StructuredDialect::JsonObject => Some(json!({"type": "json_object"})),
            StructuredDialect::Tool | StructuredDialect::Prompt => None,
        };
        if let Some(format) = format {
            body.insert("response_format".into(), format);
        }
    }
    if stream {
        body.insert("stream".into(), json!(true));
        // The last chunk then carries `usage` (OpenAI, llama.cpp, Ollama, vLLM, LiteLLM…);
        // servers that ignore it leave the usage to be estimated.
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct CompletionBody {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` of a completion or of a stream's last chunk.
#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        }
    }
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// The `error` object of an OpenAI error body (also sent inside streams by some servers).
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

/// The message of an error body, if it has the OpenAI shape.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|e| e.error.message)
}

/// Maps an error reported with a 200 status (in a body or a stream event).
fn embedded_error(provider: &str, error: ErrorBody, secrets: &[&str]) -> LlmError {
    let message = crate::error::sanitize(error.message.as_deref().unwrap_or("error"), secrets);
    let code = match &error.code {
        Some(Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let kind = error.kind.unwrap_or_default();
    match code.as_deref() {
        Some("rate_limit_exceeded" | "429") => LlmError::RateLimited {
            provider: provider.to_owned(),
            retry_after: None,
        },
        Some("invalid_api_key" | "401" | "403") => LlmError::InvalidKey {
            provider: provider.to_owned(),
            message,
        },
        _ if kind == "requests" || kind == "tokens" => LlmError::RateLimited {
            provider: provider.to_owned(),
            retry_after: None,
        },
        _ => LlmError::upstream(provider, message),
    }
}

/// The assistant text of a non-streaming response. A refusal comes back as its text (the
/// caller validates structured answers anyway).
pub(crate) fn parse(
    provider: &str,
    bytes: &[u8],
    secrets: &[&str],
) -> Result<Completion, LlmError> {
    let completion: CompletionBody = serde_json::from_slice(bytes)
        .map_err(|_| LlmError::upstream(provider, "the response is not valid JSON"))?;
    if let Some(error) = completion.error {
        return Err(embedded_error(provider, error, secrets));
    }
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::upstream(provider, "the response has no choices"))?;
    let text = match (choice.message.content, choice.message.refusal) {
        (Some(content), _) => content,
        (None, Some(refusal)) => refusal,
        (None, None) => {
            return Err(LlmError::upstream(
                provider,
                "the response has no message content",
            ))
        }
    };
    Ok(Completion {
        text,
        usage: completion.usage.map(Usage::from),
    })
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// Decodes `chat.completion.chunk` events.
#[derive(Default)]
pub(crate) struct Decoder {
    finished: bool,
    usage: Option<Usage>,
}

impl EventDecoder for Decoder {
    fn decode(&mut self, provider: &str, _event: &str, data: &str) -> Result<Decoded, LlmError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(Decoded::End);
        }
        if data.is_empty() {
            return Ok(Decoded::Nothing);
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|_| LlmError::upstream(provider, "the stream sent malformed JSON"))?;
        if let Some(error) = chunk.error {
            return Err(embedded_error(provider, error, &[]));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        let mut text = String::new();
        for choice in chunk.choices {
            if choice.finish_reason.is_some() {
                self.finished = true;
            }
            if let Some(delta) = choice.delta {
                if let Some(piece) = delta.content.or(delta.refusal) {
                    text.push_str(&piece);
                }
            }
        }
        Ok(if text.is_empty() {
            Decoded::Nothing
        } else {
            Decoded::Text(text)
        })
    }

    /// `[DONE]` is the proper end; a stream that already delivered its `finish_reason` is also
    /// complete (some OpenAI-compatible servers omit `[DONE]`), so only a stream cut before
    /// both counts as truncated.
    fn ended_properly(&self) -> bool {
        self.finished
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
    fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
        let req = ChatRequest::new(vec![ChatMessage::user("hi")]).with_temperature(0.0);
        let b = body("o3-mini", &req, false, StructuredDialect::JsonSchema);
        assert!(b.get("temperature").is_none());
        assert_eq!(b["max_completion_tokens"], 1024);
        let b = body("gpt-4o-mini", &req, true, StructuredDialect::JsonSchema);
        assert_eq!(b["temperature"], 0.0);
        assert_eq!(b["max_tokens"], 1024);
        assert_eq!(b["stream"], true);
    }

    #[test]
    fn structured_output_uses_strict_json_schema() {
        let req = ChatRequest::new(vec![ChatMessage::user("hi")]).with_structured(
            StructuredOutput::new("eval result", json!({"type": "object"})),
        );
        let b = body("gpt-4o", &req, false, StructuredDialect::JsonSchema);
        assert_eq!(b["response_format"]["type"], "json_schema");
        assert_eq!(b["response_format"]["json_schema"]["name"], "eval_result");
        assert_eq!(b["response_format"]["json_schema"]["strict"], true);
    }

    #[test]
    fn each_dialect_has_its_wire_form() {
        let req = ChatRequest::new(vec![ChatMessage::user("hi")]).with_structured(
            StructuredOutput::new("answer", json!({"type": "object"}))
                .with_exact(json!({"anyOf": [{"type": "object"}]})),
        );
        let b = body("m", &req, false, StructuredDialect::JsonObjectSchema);
        assert_eq!(
            b["response_format"],
            json!({"type": "json_object", "schema": {"anyOf": [{"type": "object"}]}}),
            "grammar-based servers get the exact schema"
        );
        let b = body("m", &req, false, StructuredDialect::JsonObject);
        assert_eq!(b["response_format"], json!({"type": "json_object"}));
        let b = body("m", &req, false, StructuredDialect::Prompt);
        assert!(b.get("response_format").is_none());
    }

    #[test]
    fn embedded_errors_are_mapped() {
        let body = br#"{"error": {"message": "slow down", "code": 429}}"#;
        assert!(matches!(
            parse("openrouter", body, &[]),
            Err(LlmError::RateLimited { .. })
        ));
        let body = br#"{"choices": []}"#;
        assert!(matches!(
            parse("x", body, &[]),
            Err(LlmError::Upstream { .. })
        ));
        let body = br#"{"choices": [{"message": {"content": null, "refusal": "no"}}]}"#;
        assert_eq!(parse("x", body, &[]).unwrap().text, "no");
        let body = br#"{"choices": [{"message": {"content": "hi"}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}"#;
        assert_eq!(
            parse("x", body, &[]).unwrap().usage,
            Some(Usage {
                input_tokens: 12,
                output_tokens: 3
            })
        );
    }
}
