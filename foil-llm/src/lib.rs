//! LLM provider clients for Foil Engine (personas.md §5).
//!
//! - [`Providers`] is the registry of configured providers (built-in defaults plus operator
//!   configuration); [`Providers::resolve`] routes a LiteLLM-style model string to a [`Route`].
//! - [`LlmClient`] calls a route with the caller's key (BYOK) or the operator's:
//!   [`LlmClient::complete`] (JSON), [`LlmClient::stream`] (SSE deltas as an [`LlmStream`]),
//!   [`LlmClient::validate_key`].
//! - [`LlmError`] says what went wrong and maps to the server's HTTP status and error code.
//!
//! Two wire protocols are spoken: OpenAI Chat Completions (OpenAI and every compatible
//! provider) and Anthropic Messages. The built-in `offline` provider is routed like any other
//! but never called over the network: the server answers for it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use foil_llm::{ChatMessage, ChatRequest, ClientOptions, LlmClient, Providers, Secret};
//!
//! let providers = Providers::with_defaults();
//! let client = LlmClient::new(ClientOptions::default())?;
//! let route = providers.resolve("openai/gpt-4o-mini")?;
//! let key = Secret::new("sk-...");
//! let req = ChatRequest::new(vec![ChatMessage::system("You are terse."), ChatMessage::user("Hi")])
//!     .with_step("response");
//! let text = client.complete(&route, Some(&key), &req, Duration::from_secs(30)).await?;
//! # let _ = text; Ok(()) }
//! ```

#![warn(missing_docs)]

mod anthropic;
mod client;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
mod openai;
mod providers;
mod request;
mod secret;
mod stream;
mod structured;

pub use anthropic::OPENING_USER_TURN as ANTHROPIC_OPENING_USER_TURN;
pub use client::{ClientBuildError, ClientOptions, LlmClient};
pub use error::{sanitize, LlmError, MAX_EXCERPT_CHARS};
pub use providers::{ProviderConfig, ProviderConfigError, ProviderKind, Providers, Route};
pub use request::{ChatMessage, ChatRequest, Completion, Role, StructuredOutput, Usage};
pub use secret::Secret;
pub use stream::LlmStream;
pub use structured::StructuredDialect;
