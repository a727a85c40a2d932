//! What the mock observed: recorded requests and live counters.

use serde_json::Value;

/// Which wire protocol a request spoke, decided from its path (and, for `/models`, its auth
/// headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OpenAI Chat Completions (`…/chat/completions`) or OpenAI-style `/models`.
    OpenAi,
    /// Anthropic Messages (`…/messages`) or `/v1/models` with Anthropic headers.
    Anthropic,
    /// Any other path (answered with 404).
    Unknown,
}

/// One request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// All headers (lower-case names, in arrival order; non-UTF-8 values are lossy).
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The protocol the request was answered in.
    pub protocol: Protocol,
    /// The step key the reply queues were looked up with (see `MockConfig::with_step_key`).
    pub step: Option<String>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The token of an `Authorization: Bearer TOKEN` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The `x-api-key` header (Anthropic).
    pub fn x_api_key(&self) -> Option<&str> {
        self.header("x-api-key")
    }

    /// The key this request authenticated with, in its protocol's header.
    pub fn api_key(&self) -> Option<&str> {
        match self.protocol {
            Protocol::Anthropic => self.x_api_key(),
            _ => self.bearer_token(),
        }
    }

    /// The `model` field of the body.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// Whether the body asked for a stream (`"stream": true`).
    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    /// The name of the requested structured output: OpenAI
    /// `response_format.json_schema.name`, or the tool forced by Anthropic `tool_choice`.
    pub fn structured_output_name(&self) -> Option<&str> {
        match self.protocol {
            Protocol::OpenAi => self
                .body
                .pointer("/response_format/json_schema/name")
                .and_then(Value::as_str),
            Protocol::Anthropic => self.forced_tool(),
            Protocol::Unknown => None,
        }
    }

    /// The Anthropic tool the request forces (`tool_choice.name`), or its only tool.
    pub(crate) fn forced_tool(&self) -> Option<&str> {
        self.body
            .pointer("/tool_choice/name")
            .and_then(Value::as_str)
            .or_else(|| self.body.pointer("/tools/0/name").and_then(Value::as_str))
    }

    /// The concatenated text of every message (and the Anthropic `system` field), handy for
    /// asserting what a prompt contained.
    pub fn prompt_text(&self) -> String {
        let mut out = String::new();
        let mut push = |v: &Value| match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(blocks) => {
                for block in blocks {
                    if let Some(s) = block.get("text").and_then(Value::as_str) {
                        out.push_str(s);
                        out.push('\n');
                    }
                }
            }
            _ => {}
        };
        if let Some(system) = self.body.get("system") {
            push(system);
        }
        if let Some(messages) = self.body.get("messages").and_then(Value::as_array) {
            for message in messages {
                if let Some(content) = message.get("content") {
                    push(content);
                }
            }
        }
        out
    }
}

/// A snapshot of the mock's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Requests received (all paths).
    pub requests: u64,
    /// Requests whose response has not finished yet (includes stalled ones).
    pub in_flight: u64,
    /// Streaming (SSE) responses currently open.
    pub open_streams: u64,
    /// Requests whose response was delivered in full (or whose fault was delivered as scripted).
    pub completed: u64,
    /// Requests abandoned by the client before the response finished (disconnects).
    pub cancelled: u64,
    /// The streaming subset of `cancelled`.
    pub cancelled_streams: u64,
    /// TCP connections currently open.
    pub connections_open: u64,
    /// TCP connections accepted so far.
    pub connections_total: u64,
}
