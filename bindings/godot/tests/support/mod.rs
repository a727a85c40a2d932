//! Test support: the servers shared with the `foil-client` tests (a real `foil-server` on
//! loopback with the example personas and the `offline` provider; a listener that never
//! answers), client settings for them, and helpers to collect signals.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use foil_godot::dispatch::{Dispatcher, RequestId, Signal};

#[path = "../../../../foil-client/tests/support/mod.rs"]
mod shared;
pub(crate) use shared::{SilentServer, TestServer};
#[path = "../../../../foil-client/tests/support/test_config.rs"]
mod test_config;
pub(crate) use test_config::TestConfig;

/// A dispatcher configured for `server`.
pub(crate) fn dispatcher(server: &TestServer) -> Dispatcher {
    let d = Dispatcher::new().expect("runtime");
    d.configure(server.config()).expect("valid config");
    d
}

/// Drains `d` (as a game's frame loop would) until every id in `ids` has its finishing
/// signal; returns everything drained, in order. Panics after `timeout`.
pub(crate) fn collect_finished(
    d: &Dispatcher,
    ids: &[RequestId],
    timeout: Duration,
) -> Vec<Signal> {
    let deadline = Instant::now() + timeout;
    let mut all: Vec<Signal> = Vec::new();
    loop {
        all.extend(d.drain(usize::MAX));
        let done = ids
            .iter()
            .all(|id| all.iter().any(|s| s.request_id() == *id && s.is_final()));
        if done {
            return all;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for {ids:?}; got {all:#?}"
        );
        d.wait(left.min(Duration::from_millis(200)));
    }
}

/// The signals of one request.
pub(crate) fn of(signals: &[Signal], id: RequestId) -> Vec<Signal> {
    signals
        .iter()
        .filter(|s| s.request_id() == id)
        .cloned()
        .collect()
}

pub(crate) fn json(signal: &Signal) -> serde_json::Value {
    serde_json::from_str(signal.payload()).unwrap_or_else(|e| panic!("not JSON ({e}): {signal:?}"))
}

pub(crate) fn names(signals: &[Signal]) -> Vec<&'static str> {
    signals.iter().map(Signal::name).collect()
}
