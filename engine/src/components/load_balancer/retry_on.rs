//! `retry-on`: after which failures HAProxy sends a request again, within
//! the same `retries` budget as connection retries (HAProxy 2.6,
//! `proxy.c:proxy_parse_retry_on`, `http_ana.c:do_l7_retry`).
//!
//! The default, `conn-failure`, retries only a connection that failed
//! before the request was sent. Anything else is a *layer-7 retry*: the
//! request was sent, and may have been done, so a retry may do it twice.
//! HAProxy's manual warns that retrying a request that makes a server
//! misbehave "will often make the situation even worse".

use serde::Serialize;

/// The statuses `retry-on` accepts in HAProxy 2.6.
pub const RETRYABLE_STATUSES: [u16; 10] = [401, 403, 404, 408, 425, 500, 501, 502, 503, 504];

/// The failures after which a request is tried again. Small and `Copy`:
/// every load balancer's configuration holds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn {
    /// `conn-failure`: the connection was refused or timed out.
    pub conn_failure: bool,
    /// `empty-response`: the server closed the connection without an
    /// answer (its process died).
    pub empty_response: bool,
    /// `response-timeout`: `timeout server` struck before any answer.
    pub response_timeout: bool,
    /// Statuses whose answers are retried, not passed on: bit `i` for
    /// `RETRYABLE_STATUSES[i]`.
    statuses: u16,
    /// Written as `all-retryable-errors`.
    all: bool,
}

/// What `all-retryable-errors` retries of the statuses.
const ALL_STATUSES: [u16; 4] = [500, 502, 503, 504];

fn bit(code: u16) -> u16 {
    RETRYABLE_STATUSES.iter().position(|&c| c == code).map_or(0, |i| 1 << i)
}

impl Default for RetryOn {
    fn default() -> RetryOn {
        RetryOn { conn_failure: true, empty_response: false, response_timeout: false, statuses: 0, all: false }
    }
}

impl RetryOn {
    pub fn parse(text: &str) -> Result<RetryOn, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut on =
            RetryOn { conn_failure: false, empty_response: false, response_timeout: false, statuses: 0, all: false };
        if words.is_empty() {
            return Err("retry-on needs at least one keyword (none, conn-failure, empty-response, \
                        response-timeout, all-retryable-errors or a status such as 503)"
                .into());
        }
        for &w in &words {
            match w {
                "none" if words.len() > 1 => return Err("retry-on: 'none' is only valid alone".into()),
                "none" => {}
                "conn-failure" => on.conn_failure = true,
                "empty-response" => on.empty_response = true,
                "response-timeout" => on.response_timeout = true,
                // What HAProxy 2.6 means by it; of the rest, junk responses
                // and TLS early data do not occur here.
                "all-retryable-errors" => {
                    on.all = true;
                    on.conn_failure = true;
                    on.empty_response = true;
                    on.response_timeout = true;
                    for code in ALL_STATUSES {
                        on.statuses |= bit(code);
                    }
                }
                "junk-response" | "0rtt-rejected" => {
                    return Err(format!(
                        "retry-on: `{w}` is not modelled: the engine's servers never answer garbage and \
                         speak no TLS, so it would never retry"
                    ))
                }
                other => match other.parse::<u16>() {
                    Ok(code) if RETRYABLE_STATUSES.contains(&code) => on.statuses |= bit(code),
                    _ => {
                        return Err(format!(
                            "retry-on: `{other}` is not a keyword; expected none, conn-failure, \
                             empty-response, response-timeout, all-retryable-errors or one of the statuses \
                             401, 403, 404, 408, 425, 500, 501, 502, 503, 504"
                        ))
                    }
                },
            }
        }
        Ok(on)
    }

    /// The keywords, as haproxy.cfg writes them, in a fixed order.
    pub fn keywords(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        let implied = |code: u16| self.all && ALL_STATUSES.contains(&code);
        if self.all {
            words.push("all-retryable-errors".into());
        } else {
            if self.conn_failure {
                words.push("conn-failure".into());
            }
            if self.empty_response {
                words.push("empty-response".into());
            }
            if self.response_timeout {
                words.push("response-timeout".into());
            }
        }
        words.extend(self.statuses().filter(|&c| !implied(c)).map(|c| c.to_string()));
        if words.is_empty() {
            return "none".into();
        }
        words.join(" ")
    }

    /// The statuses retried, in increasing order.
    pub fn statuses(&self) -> impl Iterator<Item = u16> + '_ {
        RETRYABLE_STATUSES.into_iter().filter(|&c| self.retries_status(c))
    }

    /// Whether an answer with `status` is retried rather than passed on.
    pub fn retries_status(&self, status: u16) -> bool {
        self.statuses & bit(status) != 0
    }

    /// Whether a request that failed so is sent again (budget allowing).
    pub fn retries(&self, failure: L7Failure) -> bool {
        match failure {
            L7Failure::Status(code) => self.retries_status(code),
            L7Failure::EmptyResponse => self.empty_response,
            L7Failure::ResponseTimeout => self.response_timeout,
        }
    }
}

/// How a request that reached its server failed: what a layer-7 retry
/// follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum L7Failure {
    /// The server answered with this status.
    Status(u16),
    /// The server's connection closed before an answer (HAProxy's `SH`).
    EmptyResponse,
    /// No answer within `timeout server`.
    ResponseTimeout,
}

serde_as_text!(RetryOn, keywords);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_set_what_haproxy_sets() {
        let d = RetryOn::default();
        assert!(d.conn_failure && !d.response_timeout && d.statuses().next().is_none());
        assert_eq!(d.keywords(), "conn-failure");
        let none = RetryOn::parse("none").unwrap();
        assert!(!none.conn_failure && !none.response_timeout && none.statuses().next().is_none());
        assert_eq!(none.keywords(), "none");
        let some = RetryOn::parse("503  response-timeout 503").unwrap();
        assert!(!some.conn_failure && some.response_timeout);
        assert_eq!(some.statuses().collect::<Vec<_>>(), vec![503]);
        assert!(some.retries_status(503) && !some.retries_status(504) && !some.retries_status(200));
        assert_eq!(some.keywords(), "response-timeout 503");
        let closed = RetryOn::parse("empty-response conn-failure").unwrap();
        assert!(closed.conn_failure && closed.empty_response && !closed.response_timeout);
        assert_eq!(closed.keywords(), "conn-failure empty-response");
        assert!(closed.retries(L7Failure::EmptyResponse) && !closed.retries(L7Failure::ResponseTimeout));
        assert!(!d.retries(L7Failure::EmptyResponse) && !d.retries(L7Failure::Status(503)));
        let all = RetryOn::parse("404 all-retryable-errors").unwrap();
        assert!(all.conn_failure && all.empty_response && all.response_timeout);
        assert_eq!(all.statuses().collect::<Vec<_>>(), vec![404, 500, 502, 503, 504]);
        assert_eq!(all.keywords(), "all-retryable-errors 404");
        assert_eq!(RetryOn::parse(&all.keywords()).unwrap(), all);
    }

    #[test]
    fn bad_keywords_say_what_is_wrong() {
        assert!(RetryOn::parse("").unwrap_err().contains("at least one keyword"));
        assert_eq!(RetryOn::parse("none 503").unwrap_err(), "retry-on: 'none' is only valid alone");
        assert!(RetryOn::parse("200").unwrap_err().contains("`200` is not a keyword"));
        assert!(RetryOn::parse("conn-failures").unwrap_err().contains("`conn-failures` is not a keyword"));
        assert!(RetryOn::parse("junk-response").unwrap_err().contains("`junk-response` is not modelled"));
        assert!(RetryOn::parse("0rtt-rejected").unwrap_err().contains("`0rtt-rejected` is not modelled"));
    }

    #[test]
    fn it_reads_and_writes_the_haproxy_words() {
        let on: RetryOn = serde_json::from_str("\"conn-failure 503\"").unwrap();
        assert_eq!(serde_json::to_string(&on).unwrap(), "\"conn-failure 503\"");
        let err = serde_json::from_str::<RetryOn>("\"sometimes\"").unwrap_err().to_string();
        assert!(err.contains("`sometimes` is not a keyword"), "{err}");
    }
}
