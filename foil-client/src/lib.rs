//! The async Rust client of the Foil Engine API.
//!
//! Rust games (Bevy, ...) and the Godot binding use it directly; the native plugin
//! (`foil-ffi`, the C ABI of `include/foil.h`) is a thin layer over it. It speaks to the Game
//! SDK routes (`/api/v1/sdk/...`) of a Foil Engine server — ours or the hosted one, which
//! share the API — with the wire types of [`foil_types::wire`].
//!
//! * [`Client`] — one method per SDK call, mirroring the official SDKs: [`Client::list_personas`]
//!   (cached), [`Client::list_machines`], [`Client::init_session`], [`Client::send_message`],
//!   [`Client::send_message_stream`], [`Client::get_session`], [`Client::get_history`],
//!   [`Client::reset`], [`Client::validate_llm_key`].
//! * [`ClientConfig`] / [`LlmHeaders`] — base URL, API key, the caller's LLM settings,
//!   timeouts, retries, cache lifetime. The key may be a player token (`pt_...`) minted by
//!   the game's backend; [`Client::set_api_key`] replaces it while the client lives, and
//!   [`credential_expiry`] / [`credential_refresh_time`] tell when to get a new one.
//! * [`ClientError`] — argument, HTTP, transport, timeout, decode and cancellation errors,
//!   with the server's `error.code` and `Retry-After`.
//! * [`SessionTracker`] / [`GameEvent`] — state changes, score changes, completed machines,
//!   unlocked machines and ended sessions, derived from successive responses.
//! * [`engine`] — the request engine of the native plugins: a private runtime, request ids,
//!   an event queue taken by the game's thread (or a callback), cancellation, and game events.
//! * [`validate`] — the argument checks, for layers that must refuse input synchronously.
//!
//! The client needs a Tokio runtime (with the time driver) to run its futures.
//!
//! ```no_run
//! use foil_client::{Client, ClientConfig, SessionTracker, StreamEvent};
//! use futures_util::StreamExt;
//!
//! # async fn demo() -> Result<(), foil_client::ClientError> {
//! let client = Client::new(ClientConfig::new("pk_live_...").with_base_url("http://127.0.0.1:8000"))?;
//! let persona = client.list_personas().await?.remove(0);
//! let persona_id = persona.id.to_string();
//! let init = client.init_session(&persona_id, "player-1", "Ada", "female", None).await?;
//! println!("{}", init.message);
//! let mut tracker = SessionTracker::new();
//! tracker.observe_init(&init);
//! let stream = client.send_message_stream(&persona_id, "player-1", "Hello!", None);
//! futures_util::pin_mut!(stream);
//! while let Some(item) = stream.next().await {
//!     match item? {
//!         StreamEvent::TextDelta(text) => print!("{text}"),
//!         StreamEvent::Done(response) => {
//!             for event in tracker.observe(&response) {
//!                 println!("\n{}: {}", event.name(), event.payload_json());
//!             }
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod client;
mod config;
mod credential;
pub mod engine;
mod error;
mod events;
pub mod validate;

pub use client::{Client, StreamEvent, MAX_RETRY_AFTER_SECS};
pub use config::{
    ClientConfig, LlmHeaders, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_PERSONA_CACHE_TTL,
    DEFAULT_STREAM_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use credential::{
    credential_expiry, credential_refresh_time, is_player_token, refresh_schedule, RefreshSchedule,
    MAX_REFRESH_MARGIN, PLAYER_TOKEN_PREFIX,
};
pub use error::{ArgumentError, ArgumentProblem, ClientError, ErrorPayload};
pub use events::{GameEvent, SessionTracker};

/// The wire types of the API (re-exported from `foil-types`).
pub use foil_types::wire;
