//! foil-server's integration tests, in one test binary: each group used to be its own binary,
//! and each linked the whole server (issue 16: one link instead of fifteen).
//!
//! Run one group with its module path, e.g.
//! `cargo test -p foil-server --test integration chat::stream`.
//!
//! * `common`, `python_tools`: the harness (the real router over a fresh database; the Python
//!   virtual environments and a demo server for the PyPI tools).
//! * Everything else: one module per area, named as the behaviour it pins.

#[macro_use]
mod common;
mod python_tools;

mod chat;
mod crash_recovery;
mod creator;
mod dashboard_api;
mod dashboard_browser;
mod database_outage;
mod jwt;
mod overload;
mod platform;
mod python_sdk;
mod rate_limits;
mod scale_out;
mod schemathesis;
mod secrets;
mod security;
