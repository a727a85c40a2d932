//! The Foil Engine server.
//!
//! ```text
//! cli ──► server (bind, graceful shutdown) ──► app::router
//!                                                 │
//!   routes::{auth, api_keys, personas, sdk, ops}  │  layers: rate_limit, auth::extract,
//!        │                                        │          metrics, request ids, CORS
//!        ▼                                        ▼
//!   db::{users, api_keys, personas, sessions}  (sqlx Any: SQLite or PostgreSQL)
//! ```
pub mod app;
pub mod auth;
pub mod chat;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod extract;
pub mod generate;
pub mod limits;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod usage;
