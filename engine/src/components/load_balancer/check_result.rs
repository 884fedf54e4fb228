//! What one health check found, in HAProxy's words (`check.c`,
//! `check_statuses`): the short code its stats page shows as the last
//! check (`L7STS/503`) and the reason `option log-health-checks` prints.

use crate::message::Status;
use serde::Serialize;
use std::hash::{Hash, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// The connection was established: a connect-only check passed.
    L4Ok,
    /// The connection was not established in time.
    L4Timeout,
    /// The host refused the connection: no process listens.
    L4Refused,
    /// An HTTP check's answer had a passing status (2xx or 3xx).
    L7Ok(Status),
    /// An HTTP check's answer had any other status.
    L7Status(Status),
    /// An HTTP check was connected but not answered in time.
    L7Timeout,
    /// An HTTP check's connection closed before an answer: the process
    /// died ("Layer7 invalid response").
    L7Response,
    /// Not a check: health analysis (`observe`) failed the server.
    Analysis,
}

impl CheckResult {
    /// An HTTP check's result for the status it was answered with
    /// (HAProxy's rule without `http-check expect`: 2xx and 3xx pass).
    pub fn of_http(status: Status) -> CheckResult {
        if (200..400).contains(&status.code()) {
            CheckResult::L7Ok(status)
        } else {
            CheckResult::L7Status(status)
        }
    }

    pub fn passed(self) -> bool {
        matches!(self, CheckResult::L4Ok | CheckResult::L7Ok(_))
    }

    /// The stats page's code, with the HTTP status where there is one.
    pub fn code(self) -> String {
        match self {
            CheckResult::L4Ok => "L4OK".into(),
            CheckResult::L4Timeout => "L4TOUT".into(),
            CheckResult::L4Refused => "L4CON".into(),
            CheckResult::L7Ok(s) => format!("L7OK/{}", s.code()),
            CheckResult::L7Status(s) => format!("L7STS/{}", s.code()),
            CheckResult::L7Timeout => "L7TOUT".into(),
            CheckResult::L7Response => "L7RSP".into(),
            CheckResult::Analysis => "HANA".into(),
        }
    }

    /// The reason as HAProxy's health log gives it, between `reason: ` and
    /// the check's duration.
    pub fn describe(self) -> String {
        match self {
            CheckResult::L4Ok => "Layer4 check passed".into(),
            CheckResult::L4Timeout => "Layer4 timeout".into(),
            CheckResult::L4Refused => "Layer4 connection problem, info: \"Connection refused\"".into(),
            // HAProxy 2.6 gives no info for a passing status.
            CheckResult::L7Ok(s) => format!("Layer7 check passed, code: {}", s.code()),
            CheckResult::L7Status(s) => format!("Layer7 wrong status, code: {}, info: \"{}\"", s.code(), s.reason()),
            CheckResult::L7Timeout => "Layer7 timeout".into(),
            // As HAProxy 2.6 logs it for a connection closed unanswered.
            CheckResult::L7Response => "Layer7 invalid response".into(),
            CheckResult::Analysis => "Health analyze".into(),
        }
    }
}

impl Serialize for CheckResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

/// Hashes nothing. A result follows from the events before it, which the
/// trace hash covers (the refusal, the timeout's timer, the check's
/// answer), so it adds nothing to tell runs apart; and leaving it out
/// keeps the hashes of runs recorded before results were named, which old
/// share links are checked against.
impl Hash for CheckResult {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_checks_pass_on_2xx_and_3xx_only() {
        assert_eq!(CheckResult::of_http(Status::Ok), CheckResult::L7Ok(Status::Ok));
        for s in [Status::ServiceUnavailable, Status::GatewayTimeout] {
            assert_eq!(CheckResult::of_http(s), CheckResult::L7Status(s));
            assert!(!CheckResult::of_http(s).passed());
        }
        assert!(CheckResult::L4Ok.passed() && !CheckResult::L7Timeout.passed());
    }

    #[test]
    fn words_are_haproxy_s() {
        let sts = CheckResult::L7Status(Status::ServiceUnavailable);
        assert_eq!(sts.code(), "L7STS/503");
        assert_eq!(sts.describe(), "Layer7 wrong status, code: 503, info: \"Service Unavailable\"");
        assert_eq!(CheckResult::L7Ok(Status::Ok).describe(), "Layer7 check passed, code: 200");
        assert_eq!(serde_json::to_string(&CheckResult::L4Refused).unwrap(), "\"L4CON\"");
        assert_eq!(
            (CheckResult::L7Response.code().as_str(), CheckResult::L7Response.describe().as_str()),
            ("L7RSP", "Layer7 invalid response")
        );
    }

    #[test]
    fn a_result_leaves_the_hash_alone() {
        use crate::trace::TraceHasher;
        let hash = |r: Option<CheckResult>| {
            let mut h = TraceHasher::default();
            1u32.hash(&mut h);
            if let Some(r) = r {
                r.hash(&mut h);
            }
            h.finish()
        };
        assert_eq!(hash(Some(CheckResult::L7Timeout)), hash(None));
    }
}
