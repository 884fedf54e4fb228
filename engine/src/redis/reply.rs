//! A command's reply, shaped like RESP2 (the protocol Redis speaks by
//! default): simple string, error, integer, bulk string or nil, array.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`, `+PONG`.
    Simple(String),
    /// `-ERR ...`: the whole line after the `-`, error code included
    /// (`"ERR syntax error"`, `"OOM command not allowed ..."`).
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$3 foo`.
    Bulk(Vec<u8>),
    /// `$-1`, the nil bulk string (RESP2's null).
    Nil,
    /// `*2 ...`.
    Array(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK".to_string())
    }

    pub fn error(message: impl Into<String>) -> Reply {
        Reply::Error(message.into())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// The reply as it goes on the wire (RESP2).
    pub fn write_resp(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
            }
            Reply::Error(s) => {
                out.push(b'-');
                out.extend_from_slice(s.as_bytes());
            }
            Reply::Integer(n) => {
                out.push(b':');
                out.extend_from_slice(n.to_string().as_bytes());
            }
            Reply::Bulk(b) => {
                out.push(b'$');
                out.extend_from_slice(b.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(b);
            }
            Reply::Nil => out.extend_from_slice(b"$-1"),
            Reply::Array(items) => {
                out.push(b'*');
                out.extend_from_slice(items.len().to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
                for item in items {
                    item.write_resp(out);
                }
                return;
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_resp(&mut out);
        out
    }
}

/// As `redis-cli` shows it: `OK`, `(error) ERR ...`, `(integer) 1`,
/// `"value"`, `(nil)`, and numbered array items.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "{s}"),
            Reply::Error(s) => write!(f, "(error) {s}"),
            Reply::Integer(n) => write!(f, "(integer) {n}"),
            Reply::Bulk(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Reply::Nil => write!(f, "(nil)"),
            Reply::Array(items) if items.is_empty() => write!(f, "(empty array)"),
            Reply::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}) {item}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_encoding() {
        assert_eq!(Reply::ok().to_resp(), b"+OK\r\n");
        assert_eq!(Reply::error("ERR syntax error").to_resp(), b"-ERR syntax error\r\n");
        assert_eq!(Reply::Integer(-2).to_resp(), b":-2\r\n");
        assert_eq!(Reply::Bulk(b"ab".to_vec()).to_resp(), b"$2\r\nab\r\n");
        assert_eq!(Reply::Nil.to_resp(), b"$-1\r\n");
        assert_eq!(Reply::Array(vec![Reply::Bulk(b"x".to_vec()), Reply::Nil]).to_resp(), b"*2\r\n$1\r\nx\r\n$-1\r\n");
    }

    #[test]
    fn display_like_redis_cli() {
        assert_eq!(Reply::Array(vec![Reply::Integer(1), Reply::Nil]).to_string(), "1) (integer) 1\n2) (nil)");
        assert_eq!(Reply::error("ERR x").to_string(), "(error) ERR x");
    }
}
