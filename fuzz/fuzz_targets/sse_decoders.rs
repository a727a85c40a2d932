//! The LLM providers' response parsers in foil-llm, over untrusted bytes:
//! [`foil_llm::fuzzing::decode_sse`] (the SSE parser, the size and idle guards and the
//! OpenAI or Anthropic event decoder, exactly as a streamed response goes through them) and
//! [`foil_llm::fuzzing::parse_completion`] (a whole non-streamed body).
//!
//! (foil-client's parser of our own server's stream is private to `Client` and reads only a
//! live HTTP response, so it has no target.)
//!
//! Input: the first byte picks the provider (bit 0) and the size of the reads the body
//! arrives in (bits 1-4: 1 to 4096 bytes); the rest is the body. Invariants:
//! - a stream yields at most one error, as its last item;
//! - how the body is split into network reads does not change a stream that decodes without
//!   error: decoding it in one piece gives the same items (and the other way round);
//! - a completion body that parses is JSON (up to invalid UTF-8 inside skipped values,
//!   which serde_json does not look at).

#![no_main]

use std::sync::OnceLock;

use foil_llm::ProviderKind;
use libfuzzer_sys::fuzz_target;

/// Sizes of the network reads the body arrives in. Tiny reads cost quadratic time in the SSE
/// parser (it rescans an unfinished line on every read), so they are a few of many.
const CHUNK_SIZES: [usize; 16] = [1, 2, 3, 4, 5, 7, 8, 11, 16, 31, 32, 64, 100, 128, 512, 4096];

/// One current-thread runtime (with the timer the idle guard needs) for every input.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// The items of a stream, errors as their messages (for comparing two runs).
fn decode(kind: ProviderKind, body: &[u8], chunk: usize) -> Vec<Result<String, String>> {
    let items = runtime().block_on(foil_llm::fuzzing::decode_sse(kind, body, chunk));
    items
        .into_iter()
        .map(|item| item.map_err(|e| e.to_string()))
        .collect()
}

fn check_stream(kind: ProviderKind, body: &[u8], chunk: usize) {
    let chunked = decode(kind, body, chunk);
    if let Some(position) = chunked.iter().position(Result::is_err) {
        assert_eq!(
            position,
            chunked.len() - 1,
            "{kind:?}: items after an error: {chunked:?}"
        );
    }
    let whole = decode(kind, body, body.len().max(1));
    let clean = |items: &[Result<String, String>]| items.iter().all(Result::is_ok);
    if clean(&chunked) || clean(&whole) {
        assert_eq!(
            chunked, whole,
            "{kind:?}: {chunk}-byte reads and one read decode differently"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = if selector & 1 == 0 {
        ProviderKind::OpenAi
    } else {
        ProviderKind::Anthropic
    };
    let chunk = CHUNK_SIZES[usize::from(selector >> 1) % CHUNK_SIZES.len()];
    check_stream(kind, body, chunk);

    for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
        if foil_llm::fuzzing::parse_completion(kind, body).is_ok() {
            // serde_json does not check the bytes of values it skips, so invalid UTF-8 there
            // is accepted; anything else that is not JSON must not be.
            let text = String::from_utf8_lossy(body);
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "{kind:?}: a completion was read from a body that is not JSON"
            );
        }
    }
});
