//! The mock provider: `foil-mock-llm` on its own single-threaded runtime in this process, with
//! a responder that answers every pipeline step of the server validly.
//!
//! Because the mock lives in this process, its clock is the load generator's clock: the
//! responder stamps the moment it answers a streaming request that carries a `bench-ttfb-N`
//! token, which is when the mock starts sending that stream (P7). It also keeps the first
//! request body of each step, so the direct-to-mock baselines send exactly what the server sends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use foil_mock_llm::{MockConfig, MockLlm, MockStats, RecordedRequest, Reply};
use serde_json::{json, Value};

/// What the NPC says (about 40 words, streamed word by word).
pub(crate) const REPLY_TEXT: &str =
    "Well, well, another customer. I suppose you want coffee, like \
everyone else who walks through that door. Fine. Tell me what you want, and be quick about it, \
because the milk is not going to steam itself and I have a line out the door.";

/// Token put in player messages whose stream start the mock should stamp.
pub(crate) const TTFB_TOKEN: &str = "bench-ttfb-";

/// Which pipeline step a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Step {
    Eval,
    Reply,
    ReplyStream,
    Generation,
    Other,
}

#[derive(Default)]
pub(crate) struct Shared {
    capturing: AtomicBool,
    captured: Mutex<HashMap<Step, Value>>,
    stamping: AtomicBool,
    stamps: Mutex<HashMap<u64, Instant>>,
}

impl Shared {
    /// Starts keeping the first body of each step.
    pub(crate) fn capture(&self, on: bool) {
        self.capturing.store(on, Ordering::SeqCst);
    }

    pub(crate) fn captured(&self, step: Step) -> Option<Value> {
        self.captured.lock().unwrap().get(&step).cloned()
    }

    /// Starts stamping streams that carry a TTFB token.
    pub(crate) fn stamp(&self, on: bool) {
        self.stamping.store(on, Ordering::SeqCst);
        if !on {
            self.stamps.lock().unwrap().clear();
        }
    }

    /// When the mock answered the stream with this token.
    pub(crate) fn stamp_of(&self, id: u64) -> Option<Instant> {
        self.stamps.lock().unwrap().get(&id).copied()
    }
}

fn step_of(req: &RecordedRequest) -> Step {
    match req.structured_output_name() {
        Some("evaluation") => return Step::Eval,
        Some(_) => return Step::Other,
        None => {}
    }
    let system = req
        .body
        .pointer("/messages/0/content")
        .and_then(Value::as_str)
        .unwrap_or("");
    if system.contains("identity_prompt") {
        Step::Generation
    } else if req.is_stream() {
        Step::ReplyStream
    } else {
        Step::Reply
    }
}

fn ttfb_id(req: &RecordedRequest) -> Option<u64> {
    let text = req.prompt_text();
    let at = text.rfind(TTFB_TOKEN)? + TTFB_TOKEN.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn respond(shared: &Shared, req: &RecordedRequest) -> Reply {
    let step = step_of(req);
    if step == Step::ReplyStream && shared.stamping.load(Ordering::Relaxed) {
        if let Some(id) = ttfb_id(req) {
            shared.stamps.lock().unwrap().insert(id, Instant::now());
        }
    }
    if shared.capturing.load(Ordering::Relaxed) {
        shared
            .captured
            .lock()
            .unwrap()
            .entry(step)
            .or_insert_with(|| req.body.clone());
    }
    match step {
        // A redirect with no transition keeps every session in its state: sessions never end.
        Step::Eval => Reply::json(json!({
            "decision": "redirect",
            "transition_index": null,
            "reason": "benchmark"
        })),
        Step::Generation => Reply::json(json!({
            "name": "Bench NPC",
            "description": "A persona drafted by the benchmark's mock provider.",
            "identity_prompt": "You are a benchmark NPC who answers briefly."
        })),
        Step::Other => Reply::json(json!({})),
        Step::Reply | Step::ReplyStream => Reply::text(REPLY_TEXT),
    }
}

/// The running mock and its runtime.
pub(crate) struct Mock {
    pub llm: MockLlm,
    pub shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Mock {
    /// Starts the mock on a runtime of its own (call outside any runtime).
    pub(crate) fn start() -> anyhow::Result<Mock> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mock-llm")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::default());
        let responder = shared.clone();
        let config = MockConfig::default()
            .with_record_limit(0)
            .with_responder(move |req| respond(&responder, req));
        let llm = runtime.block_on(MockLlm::start(config))?;
        Ok(Mock {
            llm,
            shared,
            runtime: Some(runtime),
        })
    }

    pub(crate) fn openai_base_url(&self) -> String {
        self.llm.openai_base_url()
    }

    pub(crate) fn stats(&self) -> MockStats {
        self.llm.stats()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
