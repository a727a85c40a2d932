//! Entry points for the fuzz targets (`fuzz/`): the real decoders over bytes, without a
//! network. Not part of the supported API.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::error::LlmError;
use crate::metrics::CallMetrics;
use crate::providers::ProviderKind;
use crate::stream::{from_response, EventDecoder};

/// Runs `body`, split into `chunk`-byte pieces, through the SSE parser and the provider's
/// event decoder, as a streamed response would; returns every item the stream yields.
pub async fn decode_sse(
    kind: ProviderKind,
    body: &[u8],
    chunk: usize,
) -> Vec<Result<String, LlmError>> {
    let pieces: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
    let response = reqwest::Response::from(http::Response::new(body));
    let decoder: Box<dyn EventDecoder> = match kind {
        ProviderKind::Anthropic => Box::new(crate::anthropic::Decoder::new(false)),
        _ => Box::<crate::openai::Decoder>::default(),
    };
    let stream = from_response(
        response,
        decoder,
        "fuzz".into(),
        Duration::from_secs(5),
        1 << 20,
        CallMetrics::start("fuzz", "fuzz"),
    );
    stream.collect().await
}

/// A whole (non-streamed) completion body through the provider's parser.
pub fn parse_completion(kind: ProviderKind, body: &[u8]) -> Result<crate::Completion, LlmError> {
    match kind {
        ProviderKind::Anthropic => crate::anthropic::parse("fuzz", body, None),
        _ => crate::openai::parse("fuzz", body, &[]),
    }
}
