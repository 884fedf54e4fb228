//! Readers for history files: Jepsen's etcd logs ([`etcd`]), Jepsen EDN
//! histories, one map a line ([`edn`], [`jepsen`]), and the project's own
//! JSON export ([`json`]). Each checks everything and names the line of the
//! first problem; none panics on any input.

pub mod edn;
pub mod etcd;
pub mod jepsen;
pub mod json;
pub mod raw;

/// The largest history file read (64 MiB).
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// A problem in a file, at a line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError { line, message: message.into() }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Refuses text longer than [`MAX_FILE_BYTES`].
pub fn check_size(text: &str) -> Result<(), ParseError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(ParseError::new(0, format!("the file is {} bytes; at most {MAX_FILE_BYTES} are read", text.len())));
    }
    Ok(())
}
