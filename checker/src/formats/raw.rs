//! An operation as read from a file, before a model gives it meaning: the
//! common ground of the EDN and JSON readers.

use super::edn::Edn;
use super::ParseError;
use crate::history::{Outcome, Time};

#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    /// Where the operation was invoked: a line (EDN) or an operation
    /// number (JSON), for messages.
    pub line: usize,
    pub process: u64,
    /// The function, without a colon: `read`, `write`, `cas`, `put`...
    pub f: String,
    pub key: Option<Edn>,
    /// The invocation's value (a write's value, a cas's `[from to]`).
    pub value: Edn,
    /// The completion's value (what a read returned).
    pub result: Edn,
    /// An append's offset, when given apart from the result.
    pub offset: Option<Edn>,
    pub outcome: Outcome,
    pub invoke: Time,
    pub complete: Option<Time>,
    /// A final read (the JSON format's `"final": true`).
    pub final_read: bool,
}

impl RawOp {
    pub fn err(&self, label: &str, message: impl Into<String>) -> ParseError {
        if label.is_empty() {
            ParseError::new(self.line, message)
        } else {
            ParseError::new(0, format!("{label}[{}]: {}", self.line, message.into()))
        }
    }
}
