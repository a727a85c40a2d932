//! The chat engine through the real router, on SQLite and PostgreSQL: every example persona
//! played to every outcome, the exact response shapes, history, SSE streaming, per-step LLM
//! routing, the evaluator's retry and fallback, provider faults, clients leaving mid-stream,
//! concurrency, ended and reset sessions, access rules, personas replaced under a running
//! session, summaries and `validate-llm-key` (api.md §4–5, personas.md §2–5, quality.md R3, R4,
//! R10).
//!
//! The groups live in `chat/`.

pub(crate) mod support;

mod access;
mod budget;
mod concurrency;
mod examples;
mod extraction;
mod faults;
mod fencing;
mod lifecycle;
mod persona_freshness;
mod player_tokens;
mod real_model;
mod replies;
mod routing;
mod shapes;
mod stream;
mod stream_limits;
mod usage;
