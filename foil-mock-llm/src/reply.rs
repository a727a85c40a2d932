//! What the mock answers: scripted replies and injected faults.

use std::time::Duration;

/// The body of a successful reply.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyContent {
    /// Plain assistant text.
    Text(String),
    /// A structured answer. OpenAI: the JSON text as the message content. Anthropic: a
    /// `tool_use` block (named after the request's forced tool) when the request declared tools,
    /// otherwise the JSON text as a text block.
    Json(serde_json::Value),
}

impl ReplyContent {
    /// The content as text, the way it travels in a text delta.
    pub fn as_text(&self) -> String {
        match self {
            ReplyContent::Text(text) => text.clone(),
            ReplyContent::Json(value) => value.to_string(),
        }
    }
}

/// Where in a response a connection-level fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before any response byte (no status line, no headers).
    BeforeHeaders,
    /// After the headers and this many content deltas (SSE), or after half of the body (JSON).
    AfterChunks(usize),
}

/// A failure the mock injects instead of (or in the middle of) a normal reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// An HTTP error status with the vendor's real error body shape.
    Status {
        /// HTTP status code, e.g. 401, 429, 500, 529.
        status: u16,
        /// Value of the `retry-after` header, if any (seconds or an HTTP date).
        retry_after: Option<String>,
        /// The error message; empty picks the vendor's usual message for the status.
        message: String,
    },
    /// The connection is reset (TCP RST) at the given point.
    Reset(FaultPoint),
    /// The connection is closed (TCP FIN) at the given point, leaving the body incomplete.
    Close(FaultPoint),
    /// The server stops sending at the given point and never sends anything again; the request
    /// ends only when the client gives up.
    Stall(FaultPoint),
    /// A 200 response whose JSON is broken: the whole body for JSON requests, one SSE `data:`
    /// line (after the first delta) for streams.
    MalformedJson,
    /// A body that ends cleanly but early: an SSE stream stops after this many deltas without
    /// `[DONE]` / `message_stop`; a JSON body is cut in half (with a matching `Content-Length`).
    Truncated {
        /// Content deltas sent before the stream ends.
        after_chunks: usize,
    },
    /// An error reported inside a 200 SSE stream after this many deltas (Anthropic
    /// `event: error`, OpenAI a `data: {"error": ...}` line), then the stream ends. For a JSON
    /// request it is an HTTP error with the same status.
    StreamError {
        /// Content deltas sent before the error event.
        after_chunks: usize,
        /// Selects the vendor error type (429 rate limit, 529 overloaded, otherwise API error).
        status: u16,
        /// The error message; empty picks the vendor's usual message.
        message: String,
    },
}

impl Fault {
    /// An HTTP error with the vendor's default message for `status`.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            message: String::new(),
        }
    }

    /// 401: the key was rejected.
    pub fn unauthorized() -> Self {
        Fault::status(401)
    }

    /// 429 with `retry-after: <seconds>`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_secs.to_string()),
            message: String::new(),
        }
    }

    /// 500: an internal server error.
    pub fn server_error() -> Self {
        Fault::status(500)
    }

    /// The vendor's "overloaded" error (Anthropic 529, OpenAI 503).
    pub fn overloaded_for(protocol: crate::Protocol) -> Self {
        match protocol {
            crate::Protocol::Anthropic => Fault::status(529),
            _ => Fault::status(503),
        }
    }
}

/// One answer of the mock: content, how it is split into stream deltas, timing, and an
/// optional fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// What the assistant says.
    pub content: ReplyContent,
    /// Exact stream deltas; `None` splits the text at word boundaries.
    pub chunks: Option<Vec<String>>,
    /// A fault to inject; content before the fault point is sent normally.
    pub fault: Option<Fault>,
    /// Delay before the response headers; `None` uses the mock's configured latency.
    pub latency: Option<Duration>,
    /// Delay before each stream delta after the first; `None` uses the configured delay.
    pub chunk_delay: Option<Duration>,
}

impl Reply {
    /// A plain text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Reply {
            content: ReplyContent::Text(text.into()),
            chunks: None,
            fault: None,
            latency: None,
            chunk_delay: None,
        }
    }

    /// A structured (JSON) reply; see [`ReplyContent::Json`].
    pub fn json(value: serde_json::Value) -> Self {
        Reply {
            content: ReplyContent::Json(value),
            ..Reply::text("")
        }
    }

    /// A reply that is only a fault (for faults after some chunks, prefer
    /// `Reply::text(..).with_fault(..)`).
    pub fn fault(fault: Fault) -> Self {
        Reply::text("").with_fault(fault)
    }

    /// Streams the text as exactly these deltas (their concatenation should equal the text).
    pub fn chunked<I, S>(text_chunks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let chunks: Vec<String> = text_chunks.into_iter().map(Into::into).collect();
        Reply {
            content: ReplyContent::Text(chunks.concat()),
            chunks: Some(chunks),
            ..Reply::text("")
        }
    }

    /// Sets the fault to inject.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Overrides the delay before the response headers.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Overrides the delay between stream deltas.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = Some(delay);
        self
    }

    /// The stream deltas: the explicit chunks, or the text split into words (each keeping its
    /// leading whitespace); long unbroken text (such as compact JSON) is cut every 16 chars.
    pub fn deltas(&self) -> Vec<String> {
        if let Some(chunks) = &self.chunks {
            return chunks.clone();
        }
        split_words(&self.content.as_text())
    }
}

/// Splits text into deltas whose concatenation is the original text.
fn split_words(text: &str) -> Vec<String> {
    const MAX_PIECE: usize = 16;
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    for ch in text.chars() {
        let space = ch.is_whitespace();
        let boundary = (space && in_word) || current.chars().count() >= MAX_PIECE;
        if boundary && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        in_word = !space;
        current.push(ch);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_leading_space_and_concatenate_back() {
        let pieces = split_words("Hello there,  friend!");
        assert_eq!(pieces, vec!["Hello", " there,", "  friend!"]);
        assert_eq!(pieces.concat(), "Hello there,  friend!");
    }

    #[test]
    fn long_unbroken_text_is_cut() {
        let json = r#"{"decision":"pass","transition_index":0}"#;
        let pieces = split_words(json);
        assert!(pieces.len() > 1);
        assert!(pieces.iter().all(|p| p.chars().count() <= 16));
        assert_eq!(pieces.concat(), json);
    }

    #[test]
    fn empty_text_has_no_deltas() {
        assert!(Reply::text("").deltas().is_empty());
    }
}
