//! The chat engine through the real router, on SQLite and PostgreSQL: every example persona
//! played to every outcome, the exact response shapes, history, SSE streaming, per-step LLM
//! routing, the evaluator's retry and fallback, provider faults, clients leaving mid-stream,
//! concurrency, ended and reset sessions, access rules, personas replaced under a running
//! session, summaries and `validate-llm-key` (api.md §4–5, personas.md §2–5, quality.md R3, R4,
//! R10).
//!
//! One test binary; the groups live in `tests/chat/`.

mod common;

#[path = "chat/support.rs"]
mod support;

#[path = "chat/access.rs"]
mod access;
#[path = "chat/budget.rs"]
mod budget;
#[path = "chat/concurrency.rs"]
mod concurrency;
#[path = "chat/examples.rs"]
mod examples;
#[path = "chat/extraction.rs"]
mod extraction;
#[path = "chat/faults.rs"]
mod faults;
#[path = "chat/fencing.rs"]
mod fencing;
#[path = "chat/lifecycle.rs"]
mod lifecycle;
#[path = "chat/player_tokens.rs"]
mod player_tokens;
#[path = "chat/real_model.rs"]
mod real_model;
#[path = "chat/replies.rs"]
mod replies;
#[path = "chat/routing.rs"]
mod routing;
#[path = "chat/shapes.rs"]
mod shapes;
#[path = "chat/stream.rs"]
mod stream;
#[path = "chat/stream_limits.rs"]
mod stream_limits;
#[path = "chat/usage.rs"]
mod usage;
