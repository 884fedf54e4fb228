//! HAProxy's health analysis (`observe`, `error-limit`, `on-error`):
//! passive checking of a server by the traffic it serves (`check.c:
//! __health_adjust`, semantics.md 1.4).
//!
//! Each outcome of a connection or a response is an error, a success or
//! nothing, depending on the layer observed (`analyze_statuses`). A success
//! clears the count of consecutive errors; `error-limit` of them in a row
//! trigger `on-error`, and the count starts again. It needs `check`: a
//! server without checks is never analysed.

use serde::{Deserialize, Serialize};

/// `DEF_HANA_ERRLIMIT`
pub const DEFAULT_ERROR_LIMIT: u32 = 10;
/// `error-limit` is an `int` in HAProxy.
pub const MAX_ERROR_LIMIT: u32 = i32::MAX as u32;

/// `observe`: what the load balancer watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Observe {
    #[default]
    None,
    /// Connections: a failed one is an error, an established one a success.
    Layer4,
    /// HTTP responses: a 5xx (but 501 and 505) or no answer within
    /// `timeout server` is an error, any other status a success. Failed
    /// connections are errors too.
    Layer7,
}

impl Observe {
    pub fn keyword(self) -> &'static str {
        match self {
            Observe::None => "none",
            Observe::Layer4 => "layer4",
            Observe::Layer7 => "layer7",
        }
    }
}

/// `on-error`: what `error-limit` consecutive errors do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Only bring the next check forward to `fastinter`.
    Fastinter,
    /// Count as one failed health check (HAProxy's default).
    #[default]
    FailCheck,
    /// Leave the server one failed check from DOWN, then count one.
    SuddenDeath,
    /// Mark the server DOWN at once.
    MarkDown,
}

impl OnError {
    pub fn keyword(self) -> &'static str {
        match self {
            OnError::Fastinter => "fastinter",
            OnError::FailCheck => "fail-check",
            OnError::SuddenDeath => "sudden-death",
            OnError::MarkDown => "mark-down",
        }
    }
}

/// What happened to one connection or response (`HANA_STATUS_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The connection was established (`HANA_STATUS_L4_OK`).
    L4Ok,
    /// The connection was refused or timed out (`HANA_STATUS_L4_ERR`).
    L4Err,
    /// A response with a status that does not blame the server.
    HttpOk,
    /// A 5xx response other than 501 and 505 (`HANA_STATUS_HTTP_STS`).
    HttpStatus,
    /// No response within `timeout server` (`HANA_STATUS_HTTP_READ_TIMEOUT`).
    ReadTimeout,
    /// The server closed the connection before a response: its process
    /// died (`HANA_STATUS_HTTP_BROKEN_PIPE`).
    BrokenPipe,
}

impl Outcome {
    /// A response's outcome by its status code: 501 and 505 answer what
    /// the client asked for, so they do not count against the server.
    pub fn of_status(code: u16) -> Outcome {
        if (100..500).contains(&code) || code == 501 || code == 505 {
            Outcome::HttpOk
        } else {
            Outcome::HttpStatus
        }
    }

    /// HAProxy's words for it, as its logs give the last error.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::L4Ok => "L4 successful connection",
            Outcome::L4Err => "L4 unsuccessful connection",
            Outcome::HttpOk => "Correct http response",
            Outcome::HttpStatus => "Wrong http response",
            Outcome::ReadTimeout => "Read timeout (http)",
            Outcome::BrokenPipe => "Close from server (http)",
        }
    }

    /// `analyze_statuses`: `Some(true)` an error, `Some(false)` a success,
    /// `None` not looked at, for this layer.
    pub fn is_error(self, observe: Observe) -> Option<bool> {
        match (observe, self) {
            (Observe::None, _) => None,
            (_, Outcome::L4Err) => Some(true),
            (Observe::Layer4, Outcome::L4Ok) => Some(false),
            (Observe::Layer4, _) => None,
            (Observe::Layer7, Outcome::L4Ok) => None,
            (Observe::Layer7, Outcome::HttpOk) => Some(false),
            (Observe::Layer7, Outcome::HttpStatus | Outcome::ReadTimeout | Outcome::BrokenPipe) => Some(true),
        }
    }
}

/// A server's analysis settings, with HAProxy's defaults filled in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    pub observe: Observe,
    pub error_limit: u32,
    pub on_error: OnError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_that_blame_the_server() {
        for code in [200, 301, 404, 429, 501, 505] {
            assert_eq!(Outcome::of_status(code), Outcome::HttpOk, "{code}");
        }
        for code in [500, 502, 503, 504, 599] {
            assert_eq!(Outcome::of_status(code), Outcome::HttpStatus, "{code}");
        }
    }

    #[test]
    fn each_layer_looks_at_its_own_outcomes() {
        use Outcome::*;
        let all = [L4Ok, L4Err, HttpOk, HttpStatus, ReadTimeout, BrokenPipe];
        let layer4: Vec<_> = all.iter().map(|o| o.is_error(Observe::Layer4)).collect();
        assert_eq!(layer4, [Some(false), Some(true), None, None, None, None]);
        let layer7: Vec<_> = all.iter().map(|o| o.is_error(Observe::Layer7)).collect();
        assert_eq!(layer7, [None, Some(true), Some(false), Some(true), Some(true), Some(true)]);
        assert!(all.iter().all(|o| o.is_error(Observe::None).is_none()));
    }

    #[test]
    fn keywords_are_haproxy_s() {
        let json = serde_json::to_string(&[OnError::SuddenDeath, OnError::MarkDown]).unwrap();
        assert_eq!(json, r#"["sudden-death","mark-down"]"#);
        assert_eq!(serde_json::from_str::<Observe>(r#""layer7""#).unwrap(), Observe::Layer7);
        assert_eq!(OnError::default().keyword(), "fail-check");
    }
}
