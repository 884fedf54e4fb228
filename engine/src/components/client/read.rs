//! Reading a client's `workload` from its JSON object: `kind` picks the
//! workload and its fields are read one by one ([`crate::json_fields`]),
//! not by serde's derive for an internally tagged enum. The messages are
//! serde's own.

use super::{zero_think, Workload};
use crate::json_fields::{Error, Fields};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

const KINDS: &[&str] = &["open_loop", "closed_loop", "script"];

fn workload(f: &mut Fields) -> Result<Workload, Error> {
    let kind: String = f.required("kind")?;
    let (w, expected): (Workload, &'static [&'static str]) = match kind.as_str() {
        "open_loop" => {
            (Workload::OpenLoop { rate: f.required("rate")?, arrival: f.optional("arrival")? }, &["rate", "arrival"])
        }
        "closed_loop" => (
            Workload::ClosedLoop { clients: f.required("clients")?, think_time: f.or("think_time", zero_think)? },
            &["clients", "think_time"],
        ),
        "script" => (Workload::Script { requests: f.required("requests")? }, &["requests"]),
        other => {
            f.failed = Some("kind".to_string());
            return Err(Error::unknown_variant(other, KINDS));
        }
    };
    f.done(expected)?;
    Ok(w)
}

/// What is wrong with a workload's object, and in which field.
pub(crate) fn field_error(v: &serde_json::Value) -> Option<(Option<String>, String)> {
    crate::json_fields::field_error(v, workload)
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        workload(&mut Fields::of(d, "a workload")?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::client::{Arrival, ScriptedRequest};
    use crate::distribution::Distribution;
    use crate::time::Duration;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<Workload, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_reads_back_what_it_writes_and_defaults_apply() {
        for w in [
            Workload::OpenLoop { rate: 250.5, arrival: Arrival::Constant },
            Workload::ClosedLoop { clients: 8, think_time: Distribution::Constant(Duration::from_millis(5)) },
            Workload::Script {
                requests: vec![ScriptedRequest {
                    at: Duration::from_secs(1),
                    read: Some(3),
                    write: None,
                    value: None,
                    path: None,
                }],
            },
        ] {
            assert_eq!(read(serde_json::to_value(&w).unwrap()), Ok(w));
        }
        assert_eq!(
            read(json!({ "kind": "open_loop", "rate": 10 })),
            Ok(Workload::OpenLoop { rate: 10.0, arrival: Arrival::Poisson })
        );
        assert_eq!(
            read(json!({ "kind": "closed_loop", "clients": 2 })),
            Ok(Workload::ClosedLoop { clients: 2, think_time: zero_think() })
        );
    }

    #[test]
    fn mistakes_get_serdes_messages() {
        assert_eq!(read(json!({ "rate": 10 })).unwrap_err(), "missing field `kind`");
        assert_eq!(
            read(json!({ "kind": "open", "rate": 10 })).unwrap_err(),
            "unknown variant `open`, expected one of `open_loop`, `closed_loop`, `script`"
        );
        assert_eq!(read(json!({ "kind": "open_loop" })).unwrap_err(), "missing field `rate`");
        assert_eq!(
            read(json!({ "kind": "open_loop", "rate": 10, "clients": 3 })).unwrap_err(),
            "unknown field `clients`, expected `rate` or `arrival`"
        );
        assert_eq!(
            read(json!({ "kind": "closed_loop", "clients": "many" })).unwrap_err(),
            "invalid type: string \"many\", expected u32"
        );
    }
}
