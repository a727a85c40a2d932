//! Types shared by the Foil Engine server and its native client.
//!
//! * [`persona`] — the persona document a creator authors (personas.md §1) and its validation.
//! * [`wire`] — the request and response bodies of the HTTP API whose key sets are part of the
//!   compatibility contract with the official SDKs (api.md §4.2).
//!
//! Both are plain `serde` types so the server, the FFI client and the CLI agree by construction.

pub mod persona;
pub mod wire;
