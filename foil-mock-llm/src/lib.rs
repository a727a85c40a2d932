//! A mock LLM provider for tests and benchmarks.
//!
//! [`MockLlm`] serves the real OpenAI Chat Completions and Anthropic Messages wire protocols
//! (JSON and SSE streaming, the vendors' error bodies) on `127.0.0.1`, answers with scripted
//! [`Reply`]s, injects [`Fault`]s, and records every request so tests can check which model
//! and key each call used. It also counts open and abandoned streams, so a test can prove that
//! a client disconnect reached the provider.
//!
//! Endpoints (any path prefix, so every base URL layout works):
//! - `POST …/chat/completions` — OpenAI; `"stream": true` gives `chat.completion.chunk`
//!   events and `data: [DONE]`.
//! - `POST …/messages` — Anthropic (requires `anthropic-version`); streams `message_start` …
//!   `message_stop`.
//! - `GET …/models` — either vendor's model list (Anthropic when Anthropic headers are sent).
//! - `GET …/key` — OpenRouter's key-info endpoint.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use foil_mock_llm::{MockConfig, MockLlm, Reply};
//! let mock = MockLlm::start(MockConfig::default()).await?;
//! mock.push_reply(Reply::text("Hello there!"));
//! let openai_base = mock.openai_base_url(); // http://127.0.0.1:PORT/v1
//! # let _ = openai_base;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod record;
mod reply;
mod server;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use record::{MockStats, Protocol, RecordedRequest};
pub use reply::{Fault, FaultPoint, Reply, ReplyContent};

use server::{lock, Settings, Shared};

/// Decides the reply from the request (used when no scripted reply is queued).
pub type Responder = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

/// Names the "step" a request belongs to, selecting its reply queue (see
/// [`MockLlm::push_reply_for`]).
pub type StepKey = Arc<dyn Fn(&RecordedRequest) -> Option<String> + Send + Sync>;

/// How to start a [`MockLlm`]. Build with [`MockConfig::default`] and the `with_*` methods.
#[derive(Clone)]
pub struct MockConfig {
    bind: SocketAddr,
    latency: Duration,
    chunk_delay: Duration,
    default_reply: Reply,
    responder: Option<Responder>,
    step_key: StepKey,
    accepted_keys: Option<Vec<String>>,
    record_limit: usize,
}

impl Default for MockConfig {
    /// `127.0.0.1:0`, no latency, no chunk delay, any key accepted, a fixed default reply,
    /// steps keyed by model name, the last 10,000 requests recorded.
    fn default() -> Self {
        MockConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            latency: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            default_reply: Reply::text("This is a mock reply."),
            responder: None,
            step_key: Arc::new(|req: &RecordedRequest| req.model().map(str::to_owned)),
            accepted_keys: None,
            record_limit: 10_000,
        }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("bind", &self.bind)
            .field("latency", &self.latency)
            .field("chunk_delay", &self.chunk_delay)
            .field("default_reply", &self.default_reply)
            .field("responder", &self.responder.is_some())
            .field("accepted_keys", &self.accepted_keys.as_ref().map(Vec::len))
            .field("record_limit", &self.record_limit)
            .finish()
    }
}

impl MockConfig {
    /// Address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Delay before every response's headers (time to first byte).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Delay before each streamed content delta after the first.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// The reply used when nothing is queued and there is no responder.
    pub fn with_default_reply(mut self, reply: Reply) -> Self {
        self.default_reply = reply;
        self
    }

    /// Decide replies with a closure (consulted after the queues).
    pub fn with_responder<F>(mut self, responder: F) -> Self
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// How a request's step is named for [`MockLlm::push_reply_for`]; the default is the
    /// request's `model`. For example, to tell an evaluator from a reply step by structured
    /// output: `|r| Some(if r.structured_output_name().is_some() { "eval" } else { "response" }.into())`.
    pub fn with_step_key<F>(mut self, step_key: F) -> Self
    where
        F: Fn(&RecordedRequest) -> Option<String> + Send + Sync + 'static,
    {
        self.step_key = Arc::new(step_key);
        self
    }

    /// Only these keys are accepted (`Authorization: Bearer` for OpenAI, `x-api-key` for
    /// Anthropic); anything else gets the vendor's 401. By default every key (and none) is
    /// accepted.
    pub fn with_accepted_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// How many recent requests to keep (0 records none, e.g. for benchmarks).
    pub fn with_record_limit(mut self, limit: usize) -> Self {
        self.record_limit = limit;
        self
    }
}

/// A running mock provider. Dropping it stops the server and closes every connection.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for MockLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockLlm").field("addr", &self.addr).finish()
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockLlm {
    /// Binds (by default `127.0.0.1:0`) and starts serving on the current Tokio runtime.
    pub async fn start(config: MockConfig) -> std::io::Result<MockLlm> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(Settings {
            latency: config.latency,
            chunk_delay: config.chunk_delay,
            default_reply: config.default_reply,
            responder: config.responder,
            step_key: config.step_key,
            accepted_keys: config.accepted_keys,
            record_limit: config.record_limit,
        }));
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(MockLlm { addr, shared, task })
    }

    /// The socket address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL to configure for an OpenAI-compatible provider (`{url}/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL to configure for an Anthropic provider (`{url}`; the client adds `/v1`).
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Queues a reply for the next chat request of any step.
    pub fn push_reply(&self, reply: Reply) {
        self.shared.push_reply(None, reply);
    }

    /// Queues a reply for the next chat request of this step (see
    /// [`MockConfig::with_step_key`]); step queues are consulted before the shared queue.
    pub fn push_reply_for(&self, step: impl Into<String>, reply: Reply) {
        self.shared.push_reply(Some(step.into()), reply);
    }

    /// Drops every queued reply.
    pub fn clear_replies(&self) {
        self.shared.clear_replies();
    }

    /// Replaces the responder closure (or removes it with `None`).
    pub fn set_responder(&self, responder: Option<Responder>) {
        lock(&self.shared.settings).responder = responder;
    }

    /// Replaces the default reply.
    pub fn set_default_reply(&self, reply: Reply) {
        lock(&self.shared.settings).default_reply = reply;
    }

    /// Changes the delay before response headers for later requests.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.settings).latency = latency;
    }

    /// Changes the delay between stream deltas for later requests.
    pub fn set_chunk_delay(&self, delay: Duration) {
        lock(&self.shared.settings).chunk_delay = delay;
    }

    /// Changes the accepted keys (`None` accepts everything).
    pub fn set_accepted_keys(&self, keys: Option<Vec<String>>) {
        lock(&self.shared.settings).accepted_keys = keys;
    }

    /// Every recorded request, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The most recent recorded request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.last_request()
    }

    /// Forgets the recorded requests (counters are kept).
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MockStats {
        self.shared.stats()
    }

    /// Waits until `condition` holds for the counters, or `timeout` passes; returns whether it
    /// held. Wakes on every counter change rather than polling on a timer.
    pub async fn wait_for<F>(&self, timeout: Duration, condition: F) -> bool
    where
        F: Fn(&MockStats) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            // Register before checking, so a change between the check and the wait is not lost.
            notified.as_mut().enable();
            if condition(&self.stats()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return condition(&self.stats());
            }
        }
    }

    /// Stops the server and closes every connection (the same as dropping the handle).
    pub fn shutdown(self) {
        drop(self);
    }
}
