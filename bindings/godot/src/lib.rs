//! The Foil Engine Godot 4 binding (GDExtension, built with gdext): a `FoilClient` node over
//! the async Rust client `foil-client`.
//!
//! - [`dispatch`]: the engine-agnostic core — a private Tokio runtime that runs client calls
//!   and queues their results as plain [`dispatch::Signal`]s for the main thread.
//! - `FoilClient` (in `node.rs`): the node, which drains the dispatcher in `_process` and emits
//!   Godot signals, so GDScript always hears back on the main thread.
//!
//! Build with `cargo build -p foil-godot`; the `cdylib` (`libfoil_godot.so`, `foil_godot.dll`,
//! `libfoil_godot.dylib`) is loaded by Godot through `foil.gdextension`. See `docs/godot.md`.

pub mod dispatch;
mod json;
mod node;
pub mod settings;

pub use node::FoilClient;

use godot::prelude::*;

struct FoilExtension;

// The entry symbol is `gdext_rust_init` (see `foil.gdextension`).
#[gdextension]
unsafe impl ExtensionLibrary for FoilExtension {}
