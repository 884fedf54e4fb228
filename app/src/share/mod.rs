//! Share and keep: what leaves the lab or outlives the page, as plain Rust
//! with native tests (no web-sys outside `#[cfg(target_arch = "wasm32")]`).
//!
//! - [`link`]: a scenario and a moment of its run in the URL fragment.
//! - [`file`]: a scenario as a JSON file, out and in.
//! - [`autosave`]: the work kept in `localStorage` across reloads.
//! - [`export`]: a run's client history (JSON) and its metrics (CSV).
//!
//! Every error's `Display` is a plain-text sentence for the user; the UI
//! shows it as text, never as HTML.

pub mod autosave;
pub mod export;
pub mod file;
pub mod link;
