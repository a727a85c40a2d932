//! The Foil Engine Godot 4 binding (GDExtension, built with gdext): a `FoilClient` node over
//! the async Rust client `foil-client`.
//!
//! - [`dispatch`]: the engine-agnostic core — a private Tokio runtime that runs client calls
//!   and queues their results as plain [`dispatch::Signal`]s for the main thread.
//! - `FoilClient` (in `node.rs`): the node, which drains the dispatcher in `_process` and emits
//!   Godot signals, so GDScript always hears back on the main thread.
//! - [`conversation`] and `FoilConversation` (in `conversation_node.rs`): one NPC conversation
//!   per node — `say(text)` and signals, no request ids.
//!
//! Build with `cargo build -p foil-godot`; the `cdylib` (`libfoil_godot.so`, `foil_godot.dll`,
//! `libfoil_godot.dylib`) is loaded by Godot through `foil.gdextension`. See `docs/godot.md`.

pub mod conversation;
mod conversation_node;
pub mod dispatch;
mod json;
mod node;
pub mod settings;

pub use conversation_node::FoilConversation;
pub use node::FoilClient;

use godot::prelude::*;

struct FoilExtension;

// The entry symbol is `gdext_rust_init` (see `addons/foil_engine/foil_engine.gdextension`).
// SAFETY: gdext cannot check what happens outside Rust, so implementing `ExtensionLibrary`
// asserts that the library is set up and loaded as gdext assumes, and it is: this is the crate's
// only `ExtensionLibrary` and its only `#[gdextension]` entry point; the crate depends on no
// other gdext extension crate, so no second set of callbacks (`GDRUST_MAIN_EXTENSION`) is
// involved and no class is registered twice; the classes it registers, `FoilClient` and
// `FoilConversation`, touch Godot values only on the thread that calls into the node (the
// engine's Tokio threads see no Godot types); and no `safeguards-*-disengaged` feature is
// enabled, so gdext keeps its runtime checks.
#[gdextension]
unsafe impl ExtensionLibrary for FoilExtension {}
