//! Reading a fault from its JSON object: `action` picks the kind and each
//! of its fields is read on its own. serde's derive for an internally
//! tagged enum behind `flatten` (a scheduled fault's `at` beside the
//! fault's fields) buffers the object and compiles every kind's reader
//! again for the buffer, about 26 KB of the browser build; here each field
//! type is read by the JSON-value reader the engine already has. The
//! messages are serde's own.

use super::{Fault, ScheduledFault};
use crate::time::Duration;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The `action` values, in the order of [`Fault`]'s kinds.
const ACTIONS: &[&str] = &[
    "partition",
    "partition_one_way",
    "heal",
    "cut_link",
    "heal_link",
    "crash",
    "restart",
    "pause",
    "resume",
    "degrade_link",
    "restore_link",
    "skew_clock",
    "promote",
    "slow_node",
    "replica_of",
];

type Error = serde_json::Error;

/// A fault's fields not read yet.
struct Fields(Map<String, Value>);

impl Fields {
    fn value<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
        serde_json::from_value(v)
    }

    fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<T, Error> {
        Self::value(self.0.remove(key).ok_or_else(|| Error::missing_field(key))?)
    }

    /// Absent or `null`: `T`'s default.
    fn optional<T: DeserializeOwned + Default>(&mut self, key: &str) -> Result<T, Error> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(v) => Self::value(v),
        }
    }

    /// Fails on a field the kind does not have (`expected`: the ones it
    /// has).
    fn done(self, expected: &'static [&'static str]) -> Result<(), Error> {
        match self.0.keys().next() {
            Some(k) => Err(Error::unknown_field(k, expected)),
            None => Ok(()),
        }
    }
}

/// A fault from its fields (`action` and the kind's own).
fn fault(map: Map<String, Value>) -> Result<Fault, Error> {
    let mut f = Fields(map);
    let action: String = f.required("action")?;
    let node = "node";
    let between = "between";
    let (fault, expected): (Fault, &'static [&'static str]) = match action.as_str() {
        "partition" => (Fault::Partition { groups: f.required("groups")? }, &["groups"]),
        "partition_one_way" => {
            (Fault::PartitionOneWay { from: f.required("from")?, to: f.required("to")? }, &["from", "to"])
        }
        "heal" => (Fault::Heal {}, &[]),
        "cut_link" => (Fault::CutLink { between: f.required(between)? }, &["between"]),
        "heal_link" => (Fault::HealLink { between: f.required(between)? }, &["between"]),
        "crash" => {
            (Fault::Crash { node: f.required(node)?, host_down: f.optional("host_down")? }, &["node", "host_down"])
        }
        "restart" => (Fault::Restart { node: f.required(node)? }, &["node"]),
        "pause" => (Fault::Pause { node: f.required(node)? }, &["node"]),
        "resume" => (Fault::Resume { node: f.required(node)? }, &["node"]),
        "degrade_link" => (
            Fault::DegradeLink {
                between: f.required(between)?,
                latency: f.optional("latency")?,
                jitter: f.optional("jitter")?,
                loss: f.optional("loss")?,
                duplicate: f.optional("duplicate")?,
            },
            &["between", "latency", "jitter", "loss", "duplicate"],
        ),
        "restore_link" => (Fault::RestoreLink { between: f.required(between)? }, &["between"]),
        "skew_clock" => (
            Fault::SkewClock {
                node: f.required(node)?,
                offset: f.optional("offset")?,
                drift_ppm: f.optional("drift_ppm")?,
            },
            &["node", "offset", "drift_ppm"],
        ),
        "promote" => (Fault::Promote { node: f.required(node)? }, &["node"]),
        "slow_node" => {
            (Fault::SlowNode { node: f.required(node)?, factor: f.required("factor")? }, &["node", "factor"])
        }
        "replica_of" => {
            (Fault::ReplicaOf { node: f.required(node)?, primary: f.optional("primary")? }, &["node", "primary"])
        }
        other => return Err(Error::unknown_variant(other, ACTIONS)),
    };
    f.done(expected)?;
    Ok(fault)
}

fn object<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Map<String, Value>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(map) => Ok(map),
        other => Err(D::Error::custom(format!("expected {what} (a JSON object), got {other}"))),
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fault(object(d, "a fault")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ScheduledFault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = object(d, "a fault")?;
        let at: Duration = match map.remove("at") {
            Some(v) => Fields::value(v).map_err(D::Error::custom)?,
            None => return Err(D::Error::missing_field("at")),
        };
        Ok(ScheduledFault { at, fault: fault(map).map_err(D::Error::custom)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Value) -> Result<ScheduledFault, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_reads_back_what_it_writes() {
        use crate::clock::Offset;
        let faults = [
            Fault::Partition { groups: vec![vec!["a".into()], vec!["b".into(), "c".into()]] },
            Fault::PartitionOneWay { from: vec!["a".into()], to: vec!["b".into()] },
            Fault::Heal {},
            Fault::CutLink { between: ["a".into(), "b".into()] },
            Fault::HealLink { between: ["a".into(), "b".into()] },
            Fault::Crash { node: "a".into(), host_down: true },
            Fault::Crash { node: "a".into(), host_down: false },
            Fault::Restart { node: "a".into() },
            Fault::Pause { node: "a".into() },
            Fault::Resume { node: "a".into() },
            Fault::DegradeLink {
                between: ["a".into(), "b".into()],
                latency: Some(crate::distribution::Distribution::Constant(Duration::from_millis(5))),
                jitter: Some(Duration::from_millis(1)),
                loss: Some(0.25),
                duplicate: None,
            },
            Fault::RestoreLink { between: ["a".into(), "b".into()] },
            Fault::SkewClock { node: "a".into(), offset: Offset { nanos: -150_000_000 }, drift_ppm: 20 },
            Fault::Promote { node: "a".into() },
            Fault::SlowNode { node: "a".into(), factor: 3.5 },
            Fault::ReplicaOf { node: "a".into(), primary: Some("b".into()) },
            Fault::ReplicaOf { node: "a".into(), primary: None },
        ];
        assert_eq!(ACTIONS.len(), faults.iter().map(|f| f.action()).collect::<std::collections::BTreeSet<_>>().len());
        for fault in faults {
            let scheduled = ScheduledFault { at: Duration::from_millis(1500), fault };
            let json = serde_json::to_value(&scheduled).unwrap();
            assert!(ACTIONS.contains(&json["action"].as_str().unwrap()), "{json}");
            assert_eq!(read(json.clone()), Ok(scheduled), "{json}");
        }
    }

    #[test]
    fn mistakes_get_serdes_messages() {
        use serde_json::json;
        assert_eq!(read(json!({ "action": "heal" })).unwrap_err(), "missing field `at`");
        assert_eq!(read(json!({ "at": "1s" })).unwrap_err(), "missing field `action`");
        assert!(read(json!({ "at": "1s", "action": "crsh", "node": "a" }))
            .unwrap_err()
            .starts_with("unknown variant `crsh`, expected one of `partition`, `partition_one_way`"));
        assert_eq!(read(json!({ "at": "1s", "action": "crash" })).unwrap_err(), "missing field `node`");
        assert_eq!(
            read(json!({ "at": "1s", "action": "heal", "node": "a" })).unwrap_err(),
            "unknown field `node`, there are no fields"
        );
        assert_eq!(
            read(json!({ "at": "1s", "action": "crash", "node": "a", "nod": 1 })).unwrap_err(),
            "unknown field `nod`, expected `node` or `host_down`"
        );
        assert_eq!(
            read(json!({ "at": "1s", "action": "crash", "node": 3 })).unwrap_err(),
            "invalid type: integer `3`, expected a string"
        );
        assert_eq!(read(json!("crash")).unwrap_err(), "expected a fault (a JSON object), got \"crash\"");
        // Optional fields may be null.
        let f = read(json!({ "at": "1s", "action": "replica_of", "node": "a", "primary": null })).unwrap();
        assert_eq!(f.fault, Fault::ReplicaOf { node: "a".into(), primary: None });
    }
}
