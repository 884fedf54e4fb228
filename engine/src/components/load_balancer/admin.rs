//! A server's administrative state, which an operator sets on HAProxy's
//! runtime API: `set server <backend>/<server> state ready|drain|maint`
//! (`srv_adm_set_ready`, `srv_adm_set_drain`, `srv_adm_set_maint`, then
//! `srv_update_status` in src/server.c).
//!
//! * `drain`: the server gets no new requests from load balancing (its
//!   effective weight is 0) but finishes what it holds, still serves
//!   requests already waiting in its own queue, and is still checked.
//!   With `option redispatch` its queue goes to the other servers at once
//!   (`pendconn_redistribute`).
//! * `maint`: the server is marked DOWN and its checks stop (its health
//!   drops to 0). What it holds finishes, unless `on-marked-down
//!   shutdown-sessions` ends it; with `option redispatch` its queue goes
//!   elsewhere.
//! * `ready`: both lifted. A server leaving maintenance starts at `rise`
//!   (UP, as if its checks had just passed) and is checked at once; a
//!   failing check then takes it DOWN again after `fall` failures.
//!
//! `set server <backend>/<server> weight <weight>[%]`
//! (`server_parse_weight_change_request`) changes the server's user
//! weight: absolute (0 to 256), or a percentage of the weight its `server`
//! line gives (capped at 256). Weight 0 takes it out of load balancing
//! like `drain`, without touching its queue. Algorithms whose weights are
//! fixed when the backend starts (`static-rr`, map-based hashing) take only
//! 0% and 100%.
//!
//! Both live in the running process, like HAProxy's (no server-state
//! file): a restart of the load balancer clears them.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// HAProxy's largest user weight.
pub const MAX_WEIGHT: u32 = 256;

/// The argument of `set server ... weight`: `10` or `"50%"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightChange {
    Absolute(u32),
    /// Of the server line's weight.
    Percent(u32),
}

impl WeightChange {
    /// HAProxy's text: `10`, `50%`.
    pub fn parse(text: &str) -> Result<WeightChange, String> {
        let t = text.trim();
        let (digits, percent) = match t.strip_suffix('%') {
            Some(d) => (d, true),
            None => (t, false),
        };
        let n: u32 = digits.parse().map_err(|_| {
            format!("`{text}` is not a weight: a whole number from 0 to {MAX_WEIGHT}, or a percentage such as 50%")
        })?;
        match percent {
            true => Ok(WeightChange::Percent(n)),
            false if n > MAX_WEIGHT => {
                Err(format!("an absolute weight can only be between 0 and {MAX_WEIGHT} inclusive, got {n}"))
            }
            false => Ok(WeightChange::Absolute(n)),
        }
    }

    /// The user weight it gives a server whose line says `initial`.
    pub fn resolve(self, initial: u32) -> u32 {
        match self {
            WeightChange::Absolute(w) => w,
            // HAProxy caps the percentage at 25600 first (no overflow).
            WeightChange::Percent(p) => (initial * p.min(25_600) / 100).min(MAX_WEIGHT),
        }
    }
}

impl fmt::Display for WeightChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightChange::Absolute(w) => write!(f, "{w}"),
            WeightChange::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for WeightChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            WeightChange::Absolute(w) => s.serialize_u32(*w),
            WeightChange::Percent(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for WeightChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = WeightChange;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a weight: a whole number from 0 to 256, or a percentage such as \"50%\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WeightChange, E> {
                WeightChange::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WeightChange, E> {
                WeightChange::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WeightChange, E> {
                WeightChange::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminState {
    #[default]
    Ready,
    Drain,
    Maint,
}

impl AdminState {
    /// The word HAProxy's stats show for it beside UP or DOWN (`DRAIN`,
    /// `MAINT`), none when ready.
    pub fn stats_word(self) -> Option<&'static str> {
        match self {
            AdminState::Ready => None,
            AdminState::Drain => Some("DRAIN"),
            AdminState::Maint => Some("MAINT"),
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            AdminState::Ready => "ready",
            AdminState::Drain => "drain",
            AdminState::Maint => "maint",
        }
    }
}

impl fmt::Display for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_read_as_haproxy_reads_them() {
        assert_eq!(WeightChange::parse("10"), Ok(WeightChange::Absolute(10)));
        assert_eq!(WeightChange::parse("50%"), Ok(WeightChange::Percent(50)));
        assert!(WeightChange::parse("257").unwrap_err().contains("between 0 and 256"));
        assert!(WeightChange::parse("-1").unwrap_err().contains("is not a weight"));
        assert!(WeightChange::parse("heavy").unwrap_err().contains("is not a weight"));
        // A percentage of the line's weight, rounded down, at most 256.
        assert_eq!(WeightChange::Percent(50).resolve(3), 1);
        assert_eq!(WeightChange::Percent(1000).resolve(100), 256);
        assert_eq!(WeightChange::Percent(100).resolve(7), 7);
        for (json, w) in [("12", WeightChange::Absolute(12)), ("\"150%\"", WeightChange::Percent(150))] {
            let parsed: WeightChange = serde_json::from_str(json).unwrap();
            assert_eq!(parsed, w);
            assert_eq!(serde_json::to_string(&w).unwrap(), json);
        }
    }

    #[test]
    fn it_reads_haproxys_words() {
        for s in [AdminState::Ready, AdminState::Drain, AdminState::Maint] {
            let parsed: AdminState = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(parsed, s);
        }
        let e = serde_json::from_str::<AdminState>("\"up\"").unwrap_err();
        assert!(e.to_string().contains("expected one of `ready`, `drain`, `maint`"), "{e}");
    }
}
