//! The editor's error: what was refused, and why, in plain words.

use std::fmt;

/// Why an editing operation was refused. [`fmt::Display`] is the sentence
/// the UI shows.
#[derive(Clone, Debug, PartialEq)]
pub enum EditError {
    /// No node has this name.
    NoSuchNode(String),
    /// The scenario already has the engine's maximum of nodes.
    TooManyNodes { limit: usize },
    /// A position that is not a pair of finite numbers.
    BadPosition { x: f64, y: f64 },
    /// Connecting a node to itself.
    SelfConnection(String),
    /// The two nodes are already connected, and connecting again would
    /// change nothing.
    AlreadyConnected(String, String),
    /// Disconnecting two nodes that are not connected.
    NotConnected(String, String),
    /// The real system has no such connection (or not in this state);
    /// `reason` says what it does have.
    Refused { a: String, b: String, reason: String },
    /// The operation would leave a working scenario broken; `reason` says
    /// what would be missing (and what to do instead).
    WouldBreak { action: String, reason: String },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NoSuchNode(n) => write!(f, "no node is named `{n}`"),
            EditError::TooManyNodes { limit } => {
                write!(f, "the scenario already has {limit} nodes, the most the engine runs; delete one first")
            }
            EditError::BadPosition { x, y } => write!(f, "({x}, {y}) is not a position on the canvas"),
            EditError::SelfConnection(n) => write!(f, "a node cannot connect to itself (`{n}`)"),
            EditError::AlreadyConnected(a, b) => write!(f, "`{a}` and `{b}` are already connected"),
            EditError::NotConnected(a, b) => write!(f, "`{a}` and `{b}` are not connected"),
            EditError::Refused { a, b, reason } => write!(f, "cannot connect `{a}` to `{b}`: {reason}"),
            EditError::WouldBreak { action, reason } => write!(f, "cannot {action}: {reason}"),
        }
    }
}

impl std::error::Error for EditError {}
