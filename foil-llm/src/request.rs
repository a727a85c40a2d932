//! What the server asks an LLM: messages, sampling settings and optional structured output.

/// Who said a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions. OpenAI: a `system` message in place; Anthropic: the top-level `system`.
    System,
    /// The player (or the server speaking for it).
    User,
    /// The model.
    Assistant,
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Plain text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Tokens a call used, as the provider reported them (`usage` in OpenAI's wire format,
/// `input_tokens`/`output_tokens` in Anthropic's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// A whole answer and what it cost, when the provider said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The answer (with structured output: the JSON text).
    pub text: String,
    /// `None` when the provider reported no usage.
    pub usage: Option<Usage>,
}

/// A JSON-schema constrained answer, sent in the provider's dialect
/// ([`StructuredDialect`](crate::StructuredDialect)). OpenAI: `response_format` `json_schema`
/// with `strict: true` (so the schema must follow OpenAI's strict rules: every property
/// required, `additionalProperties: false`, an object at the root). llama.cpp: `json_object`
/// with the schema, compiled to a grammar. Anthropic: a single forced tool whose
/// `input_schema` is the schema; the tool input comes back as the JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct StructuredOutput {
    /// Schema/tool name; characters outside `[A-Za-z0-9_-]` are replaced, at most 64 kept.
    pub name: String,
    /// The JSON schema (an object schema).
    pub schema: serde_json::Value,
    /// Optionally, a stricter schema admitting only a subset of `schema`'s answers with a root
    /// `anyOf` (which OpenAI's strict mode refuses): sent instead of `schema` to grammar-based
    /// decoders, which then cannot produce anything else.
    pub exact: Option<serde_json::Value>,
}

impl StructuredOutput {
    /// A structured output named `name` with this schema.
    pub fn new(name: impl Into<String>, schema: serde_json::Value) -> Self {
        StructuredOutput {
            name: name.into(),
            schema,
            exact: None,
        }
    }

    /// Adds the stricter schema for grammar-based decoders (see [`StructuredOutput::exact`]).
    pub fn with_exact(mut self, exact: serde_json::Value) -> Self {
        self.exact = Some(exact);
        self
    }

    /// The name as both vendors accept it (`^[A-Za-z0-9_-]{1,64}$`).
    pub(crate) fn wire_name(&self) -> String {
        let name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if name.is_empty() {
            "output".to_owned()
        } else {
            name
        }
    }
}

/// One chat call.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// The conversation, in order; system messages may appear anywhere.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature (clamped to each vendor's range; omitted for OpenAI reasoning
    /// models, which reject it). `None` uses the provider's default.
    pub temperature: Option<f32>,
    /// Maximum tokens to generate (at least 1 is sent).
    pub max_tokens: u32,
    /// Ask for JSON matching a schema.
    pub structured: Option<StructuredOutput>,
    /// Pipeline step for metrics labels (`eval`, `response`, `summarization`, `generation`…).
    pub step: &'static str,
}

impl ChatRequest {
    /// A request with these messages, 1024 max tokens, no temperature, step `chat`.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            messages,
            temperature: None,
            max_tokens: 1024,
            structured: None,
            step: "chat",
        }
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the maximum tokens.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Asks for structured output.
    pub fn with_structured(mut self, structured: StructuredOutput) -> Self {
        self.structured = Some(structured);
        self
    }

    /// Sets the metrics step label.
    pub fn with_step(mut self, step: &'static str) -> Self {
        self.step = step;
        self
    }
}
