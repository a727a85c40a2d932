//! The conversation engine's server side: per-step LLM selection, the LLM steps, the atomic
//! turn, and the chat operations both route families share. The pure state-machine rules live
//! in the `foil-engine` crate.

pub mod llm;
pub mod service;
pub mod steps;
pub mod summary;
pub mod turn;
