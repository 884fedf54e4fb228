//! The topology editor's pure core: operations on an [`engine::Scenario`]
//! document, each returning the new document or an error that says why in
//! plain words. No web dependency; the views call these and show the
//! result.
//!
//! One idea per file:
//! - [`palette`], the kinds of node, their names in the real system's words,
//!   their default configuration, and [`palette::add_node`];
//! - [`connect`], [`connect::connect`] and [`connect::disconnect`], which
//!   wire the configuration as the real system would;
//! - [`delete`], [`delete::delete_node`];
//! - [`moving`], positions on the canvas;
//! - [`config_form`], a node's configuration as a list of form fields, and
//!   [`config_form::set_field`];
//! - [`undo`], a bounded undo/redo history with labels;
//! - [`templates`], starting documents.
//!
//! **Drafts.** A document being edited may be incomplete: a client just
//! placed has no target yet, a load balancer no server. Every operation
//! keeps a document that passed [`engine::Scenario::validate`] passing it,
//! or refuses with [`EditError::WouldBreak`] naming what would be missing;
//! on an incomplete document it does its part and leaves the rest to the
//! next steps ([`problem`] says what is still missing).

pub mod config_form;
pub mod connect;
pub mod delete;
pub mod moving;
pub mod palette;
pub mod templates;
pub mod undo;

mod error;
mod util;

pub use error::EditError;
pub use util::{describe, problem};
