//! The conversation engine's server side: per-step LLM selection, the LLM steps, the atomic
//! turn, and the chat operations both route families share. The pure state-machine rules live
//! in the `foil-engine` crate.

pub(crate) mod llm;
pub(crate) mod persona_cache;
pub(crate) mod service;
pub(crate) mod steps;
pub(crate) mod summary;
pub mod summary_gate;
pub(crate) mod turn;
