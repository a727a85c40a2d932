//! The Foil Engine server.
//!
//! ```text
//! cli ──► server (bind, graceful shutdown) ──► app::router   (composition only)
//!                                                 │
//!   routes::{auth, api_keys, personas, sdk, ...}  │  layers: per-IP / per-key limits, SDK auth,
//!        │  (handlers)                            │          time limits, CORS; limits (in-flight,
//!        ▼                                        │          streams); http_metrics; request ids
//!   chat::{service, turn, steps, summary, llm}    │
//!        │  (the state-machine engine + LLM)      ▼
//!        ▼                              context::ApiContext (config, db, auth, limiter, LLM)
//!   db::{users, api_keys, personas, sessions, usage}  (sqlx Any: SQLite or PostgreSQL)
//! ```
//!
//! Public: what the binary, the benchmark and the integration tests use (`app`, `auth`, `cli`,
//! `config`, `context`, `db`, `error`, `rate_limit`, `server`, and `chat::summary`); the rest
//! is `pub(crate)`.
//!
//! Errors: every failure becomes an [`error::ApiError`] (all `From` conversions live there).
pub mod app;
pub mod auth;
pub mod chat;
pub mod cli;
pub mod config;
pub mod context;
pub(crate) mod dashboard;
pub mod db;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod generate;
pub(crate) mod http_metrics;
pub(crate) mod layers;
pub(crate) mod limits;
pub mod rate_limit;
pub mod redact;
pub(crate) mod routes;
pub mod server;
pub(crate) mod usage;
