//! How a provider is asked for JSON — its structured-output *dialect* — and the step down to
//! the next dialect when a provider refuses one (remembered per provider, so only the first
//! call pays for the refusal).
//!
//! Providers that speak the OpenAI protocol disagree here: OpenAI takes a strict
//! `json_schema`, llama.cpp's servers take `json_object` with a `schema` (turned into a
//! grammar) and refuse `json_schema`, others only know `json_object` or nothing at all. A
//! refused dialect must never fail a turn: the next one is tried, down to a prompt-only request
//! whose answer the caller parses leniently.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::error::LlmError;

/// One way of asking for a JSON answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredDialect {
    /// OpenAI: `response_format: {"type": "json_schema", "json_schema": {name, schema,
    /// strict: true}}`.
    JsonSchema,
    /// llama.cpp style: `response_format: {"type": "json_object", "schema": …}`. The server
    /// compiles the schema to a grammar, so it also gets the *exact* schema (root `anyOf`).
    JsonObjectSchema,
    /// `response_format: {"type": "json_object"}`: any JSON object, no schema.
    JsonObject,
    /// Anthropic: one forced tool whose `input_schema` is the schema.
    Tool,
    /// Nothing in the request: the prompt asks for JSON and the answer is parsed leniently.
    Prompt,
}

impl StructuredDialect {
    /// Every spelling accepted in configuration.
    pub const ALL: [StructuredDialect; 5] = [
        StructuredDialect::JsonSchema,
        StructuredDialect::JsonObjectSchema,
        StructuredDialect::JsonObject,
        StructuredDialect::Tool,
        StructuredDialect::Prompt,
    ];

    /// The configuration spelling (`json_schema`, `json_object_schema`, `json_object`, `tool`,
    /// `prompt`).
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredDialect::JsonSchema => "json_schema",
            StructuredDialect::JsonObjectSchema => "json_object_schema",
            StructuredDialect::JsonObject => "json_object",
            StructuredDialect::Tool => "tool",
            StructuredDialect::Prompt => "prompt",
        }
    }

    /// The dialect to try when this one is refused (`None`: nothing left to drop).
    pub fn next(self) -> Option<Self> {
        match self {
            StructuredDialect::JsonSchema => Some(StructuredDialect::JsonObjectSchema),
            StructuredDialect::JsonObjectSchema => Some(StructuredDialect::JsonObject),
            StructuredDialect::JsonObject | StructuredDialect::Tool => {
                Some(StructuredDialect::Prompt)
            }
            StructuredDialect::Prompt => None,
        }
    }
}

impl fmt::Display for StructuredDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StructuredDialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        StructuredDialect::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown structured-output dialect `{s}` (expected one of {})",
                    StructuredDialect::ALL.map(|d| d.as_str()).join(", ")
                )
            })
    }
}

/// Whether `error` reads as the provider refusing the structured-output parameter (rather than
/// a bad key, a rate limit or an outage). 400 / 422 are refusals; a 5xx counts only when its
/// message names the parameter — llama-cpp-python answers `json_schema` with a 500 — so a
/// passing outage never downgrades a provider for good.
pub(crate) fn is_refusal(error: &LlmError) -> bool {
    let LlmError::Upstream {
        status: Some(status),
        message,
        ..
    } = error
    else {
        return false;
    };
    let names_it = || {
        let m = message.to_ascii_lowercase();
        ["response_format", "json_schema", "schema", "tool", "format"]
            .iter()
            .any(|w| m.contains(w))
    };
    match status {
        400 | 422 => true,
        404 | 415 | 500 | 501 => names_it(),
        _ => false,
    }
}

/// The dialect that last worked for each provider, after a refusal (shared by clones of the
/// client; process-local: a restart tries the configured dialect again).
#[derive(Clone, Debug, Default)]
pub(crate) struct DialectMemory(Arc<Mutex<HashMap<String, StructuredDialect>>>);

impl DialectMemory {
    pub(crate) fn get(&self, provider: &str) -> Option<StructuredDialect> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(provider)
            .copied()
    }

    pub(crate) fn remember(&self, provider: &str, dialect: StructuredDialect) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.to_owned(), dialect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, message: &str) -> LlmError {
        LlmError::Upstream {
            provider: "p".into(),
            status: Some(status),
            message: message.into(),
        }
    }

    #[test]
    fn each_dialect_steps_down_to_prompt() {
        for start in StructuredDialect::ALL {
            let mut d = start;
            let mut steps = 0;
            while let Some(next) = d.next() {
                d = next;
                steps += 1;
                assert!(steps < 5, "no cycle from {start}");
            }
            assert_eq!(d, StructuredDialect::Prompt);
        }
        assert_eq!(
            "JSON_OBJECT_SCHEMA".parse::<StructuredDialect>(),
            Ok(StructuredDialect::JsonObjectSchema)
        );
        assert!("grammar".parse::<StructuredDialect>().is_err());
    }

    #[test]
    fn only_refusals_of_the_parameter_step_down() {
        assert!(is_refusal(&upstream(400, "Unrecognized request argument")));
        assert!(is_refusal(&upstream(422, "unprocessable")));
        assert!(is_refusal(&upstream(
            500,
            "1 validation error for response_format: Input should be 'text' or 'json_object'"
        )));
        assert!(!is_refusal(&upstream(500, "internal server error")));
        assert!(!is_refusal(&upstream(503, "response_format overloaded")));
        assert!(!is_refusal(&LlmError::RateLimited {
            provider: "p".into(),
            retry_after: None
        }));
    }
}
