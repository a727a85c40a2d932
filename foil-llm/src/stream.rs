//! Streaming responses: SSE parsing, idle timeouts, size limits and end-of-stream checks.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{EventStream, EventStreamError, Eventsource};
use futures_util::{FutureExt, Stream, StreamExt};

use crate::error::LlmError;
use crate::metrics::CallMetrics;
use crate::request::Usage;

/// What one SSE event meant.
pub(crate) enum Decoded {
    /// A piece of the answer.
    Text(String),
    /// Nothing for the caller (pings, metadata, block boundaries).
    Nothing,
    /// The protocol's end marker (`[DONE]`, `message_stop`).
    End,
}

/// A protocol's interpretation of SSE events.
pub(crate) trait EventDecoder: Send + 'static {
    /// Interprets one event (`event` is the SSE event name, `message` when absent).
    fn decode(&mut self, provider: &str, event: &str, data: &str) -> Result<Decoded, LlmError>;
    /// Whether the body may end now without the stream counting as truncated.
    fn ended_properly(&self) -> bool;
    /// The tokens the provider reported so far, if it reports any.
    fn usage(&self) -> Option<Usage> {
        None
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, LlmError>> + Send>>;

/// A streamed answer: text deltas in the order the provider produced them, each yielded as
/// soon as its event arrives. It ends after the protocol's end marker; a body that stops
/// before it yields an [`LlmError::Upstream`] (truncated). After an error it yields nothing
/// more. Dropping it closes the HTTP connection, which cancels the request at the provider.
pub struct LlmStream {
    inner: Pin<Box<dyn Stream<Item = Result<String, LlmError>> + Send>>,
    /// What the provider reported, filled in when the stream ends properly.
    usage: std::sync::Arc<std::sync::Mutex<Option<Usage>>>,
}

impl fmt::Debug for LlmStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LlmStream")
    }
}

impl Stream for LlmStream {
    type Item = Result<String, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl LlmStream {
    /// The tokens the provider reported for this answer: known once the stream has ended
    /// properly, and only if the provider reports usage (else estimate it).
    pub fn usage(&self) -> Option<Usage> {
        *self
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the whole stream and returns the concatenated text (or the first error).
    pub async fn collect_text(mut self) -> Result<String, LlmError> {
        let mut text = String::new();
        while let Some(piece) = self.next().await {
            text.push_str(&piece?);
        }
        Ok(text)
    }
}

/// The response body as bytes, failing with `Timeout` when nothing arrives for `idle` and with
/// `TooLarge` past `limit` bytes in total.
fn guarded_bytes(
    response: reqwest::Response,
    provider: String,
    idle: Duration,
    limit: usize,
) -> ByteStream {
    let state = (response.bytes_stream().boxed(), 0usize, false);
    let stream = futures_util::stream::unfold(state, move |(mut body, mut total, failed)| {
        let provider = provider.clone();
        async move {
            if failed {
                return None;
            }
            let item = match tokio::time::timeout(idle, body.next()).await {
                Err(_) => Err(LlmError::Timeout { provider }),
                Ok(None) => return None,
                Ok(Some(Err(e))) => Err(crate::error::transport_error(&provider, &e)),
                Ok(Some(Ok(chunk))) => {
                    total += chunk.len();
                    if total > limit {
                        Err(LlmError::TooLarge { provider, limit })
                    } else {
                        Ok(chunk)
                    }
                }
            };
            let failed = item.is_err();
            Some((item, (body, total, failed)))
        }
    });
    Box::pin(stream)
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Drops the UTF-8 byte order marks at the start of the body (one or several), however the
/// first bytes are split into chunks. eventsource-stream 0.2.3 strips a leading BOM with a byte index inside the
/// three-byte character and panics (found by the `sse_decoders` fuzz target,
/// `fuzz/regressions/sse_decoders/utf8-bom-panic`), so it must never see one.
fn skip_utf8_bom(body: ByteStream) -> ByteStream {
    // Fused: a body that ended inside a possible BOM hands its bytes on, and the next read
    // must then find the end again rather than poll a finished stream (which panics: found by
    // the fuzz target, `fuzz/regressions/sse_decoders/partial-bom-then-end`).
    let body = body.fuse();
    // `Some(head)`: still looking at the first bytes, `head` held back so far.
    let state = (body, Some(Vec::<u8>::new()));
    Box::pin(futures_util::stream::unfold(
        state,
        |(mut body, mut head)| async move {
            loop {
                let Some(held) = head.as_mut() else {
                    let next = body.next().await?;
                    return Some((next, (body, None)));
                };
                match body.next().await {
                    Some(Ok(chunk)) => {
                        held.extend_from_slice(&chunk);
                        // Every leading BOM: the crate checks only what it is handed first.
                        while held.starts_with(UTF8_BOM) {
                            held.drain(..UTF8_BOM.len());
                        }
                        let n = held.len().min(UTF8_BOM.len());
                        if held.len() < UTF8_BOM.len() && held[..n] == UTF8_BOM[..n] {
                            continue; // empty, or could still be a BOM: read on
                        }
                        let out = std::mem::take(held);
                        return Some((Ok(Bytes::from(out)), (body, None)));
                    }
                    Some(Err(e)) => return Some((Err(e), (body, None))),
                    // Ended inside what might have been a BOM: pass the bytes on as they are.
                    None => {
                        let out = std::mem::take(held);
                        return (!out.is_empty()).then(|| (Ok(Bytes::from(out)), (body, None)));
                    }
                }
            }
        },
    ))
}

struct State {
    events: Option<EventStream<ByteStream>>,
    decoder: Box<dyn EventDecoder>,
    provider: String,
    metrics: CallMetrics,
    usage: std::sync::Arc<std::sync::Mutex<Option<Usage>>>,
}

impl State {
    /// The stream ended properly: publish the usage.
    fn ended(&mut self) {
        *self
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = self.decoder.usage();
        self.metrics.finish(None);
    }
}

/// Reads what is left of a finished stream so the connection can go back to the pool: at once
/// when the rest is already buffered (the usual case), otherwise in a short background task.
fn drain(mut events: EventStream<ByteStream>) {
    loop {
        match events.next().now_or_never() {
            Some(Some(_)) => continue,
            Some(None) => return,
            None => break,
        }
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let rest = async { while events.next().await.is_some() {} };
            let _ = tokio::time::timeout(Duration::from_secs(2), rest).await;
        });
    }
}

/// Wraps a successful (2xx) streaming response.
pub(crate) fn from_response(
    response: reqwest::Response,
    decoder: Box<dyn EventDecoder>,
    provider: String,
    idle: Duration,
    limit: usize,
    metrics: CallMetrics,
) -> LlmStream {
    let events =
        skip_utf8_bom(guarded_bytes(response, provider.clone(), idle, limit)).eventsource();
    let usage = std::sync::Arc::new(std::sync::Mutex::new(None));
    let state = State {
        events: Some(events),
        decoder,
        provider,
        metrics,
        usage: usage.clone(),
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let item = st.events.as_mut()?.next().await;
            let error = match item {
                Some(Ok(event)) => match st.decoder.decode(&st.provider, &event.event, &event.data)
                {
                    Ok(Decoded::Text(text)) => return Some((Ok(text), st)),
                    Ok(Decoded::Nothing) => continue,
                    Ok(Decoded::End) => {
                        if let Some(events) = st.events.take() {
                            drain(events);
                        }
                        st.ended();
                        return None;
                    }
                    Err(error) => error,
                },
                Some(Err(EventStreamError::Transport(error))) => error,
                Some(Err(_)) => {
                    LlmError::upstream(&st.provider, "the stream is not valid server-sent events")
                }
                None if st.decoder.ended_properly() => {
                    st.ended();
                    return None;
                }
                None => LlmError::upstream(
                    &st.provider,
                    "the stream ended before its end marker (truncated)",
                ),
            };
            // Nothing more after an error; dropping the body closes the connection.
            st.events = None;
            st.metrics.finish(Some(&error));
            return Some((Err(error), st));
        }
    });
    LlmStream {
        inner: Box::pin(stream),
        usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response whose body arrives in pieces of `every` bytes.
    fn response(body: &(impl AsRef<[u8]> + ?Sized), every: usize) -> reqwest::Response {
        let pieces: Vec<Result<Bytes, std::io::Error>> = body
            .as_ref()
            .chunks(every)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
        reqwest::Response::from(http::Response::new(body))
    }

    async fn decode(
        body: &(impl AsRef<[u8]> + ?Sized),
        every: usize,
        decoder: Box<dyn EventDecoder>,
    ) -> Result<Vec<String>, LlmError> {
        let stream = from_response(
            response(body, every),
            decoder,
            "test".into(),
            Duration::from_secs(5),
            1 << 20,
            CallMetrics::start("test", "test"),
        );
        stream.collect::<Vec<_>>().await.into_iter().collect()
    }

    #[tokio::test]
    async fn a_leading_byte_order_mark_is_skipped_however_it_is_split() {
        let body = "\u{feff}data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        for every in [1, 2, 3, 4, 5, body.len()] {
            let pieces = decode(body, every, Box::<crate::openai::Decoder>::default()).await;
            assert_eq!(pieces.unwrap(), ["hi"], "read {every} bytes at a time");
        }
        // Only BOMs (the fuzz reproducers: one, and two): an empty, truncated stream, not a
        // panic.
        for only in ["\u{feff}", "\u{feff}\u{feff}"] {
            for every in [1, 2, 3, 5] {
                let result = decode(only, every, Box::<crate::openai::Decoder>::default()).await;
                assert!(result.is_err(), "truncated, reading {every} at a time");
            }
        }
        // A body that ends inside what could have been a BOM (the third reproducer: `EF BB`).
        for partial in [&b"\xef"[..], b"\xef\xbb", b"\xef\xbb\xbf\xef\xbb"] {
            for every in [1, 2, 3] {
                let result = decode(partial, every, Box::<crate::openai::Decoder>::default()).await;
                assert!(
                    result.is_err(),
                    "truncated, {partial:?} read {every} at a time"
                );
            }
        }
        let twice = format!("\u{feff}{body}");
        for every in [1, 4, 7] {
            let pieces = decode(&twice, every, Box::<crate::openai::Decoder>::default()).await;
            assert_eq!(
                pieces.unwrap(),
                ["hi"],
                "two BOMs, read {every} bytes at a time"
            );
        }
    }

    #[tokio::test]
    async fn anthropic_events_split_anywhere_with_crlf_and_comments() {
        let body = concat!(
            ": keep-alive comment\r\n\r\n",
            "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{}}\r\n\r\n",
            "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n",
            "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n",
            "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Héllo\"}}\r\n\r\n",
            "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\r\n\r\n",
            "event: some_future_event\r\ndata: {\"type\":\"some_future_event\"}\r\n\r\n",
            "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" wörld\"}}\r\n\r\n",
            "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n",
        );
        for every in [1, 2, 3, 7, 64, body.len()] {
            let pieces = decode(body, every, Box::new(crate::anthropic::Decoder::new(false)))
                .await
                .unwrap();
            assert_eq!(pieces, ["Héllo", " wörld"], "split every {every} bytes");
        }
    }

    #[tokio::test]
    async fn openai_without_done_is_complete_only_after_a_finish_reason() {
        let delta = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
        let finish =
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
        let with_finish = format!("{delta}{finish}");
        let pieces = decode(&with_finish, 5, Box::<crate::openai::Decoder>::default())
            .await
            .unwrap();
        assert_eq!(pieces, ["Hi"]);
        let error = decode(delta, 5, Box::<crate::openai::Decoder>::default())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("truncated"), "{error}");
    }

    #[tokio::test]
    async fn events_after_the_end_marker_are_ignored() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n";
        let pieces = decode(body, 4, Box::<crate::openai::Decoder>::default())
            .await
            .unwrap();
        assert_eq!(pieces, ["a"]);
    }
}
