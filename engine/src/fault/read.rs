//! Reading a fault from its JSON object: `action` picks the kind and each
//! of its fields is read on its own ([`crate::json_fields`]), not by
//! serde's derive for an internally tagged enum behind `flatten` (a
//! scheduled fault's `at` beside the fault's fields). The messages are
//! serde's own.

use super::{Fault, ScheduledFault};
use crate::json_fields::{Error, Fields};
use crate::time::Duration;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

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
    "hold_link",
    "release_link",
    "skew_clock",
    "promote",
    "slow_node",
    "replica_of",
    "set_server_state",
    "set_server_weight",
];

/// A fault from its fields (`action` and the kind's own).
fn fault(f: &mut Fields) -> Result<Fault, Error> {
    let action: String = f.required("action")?;
    let (fault, expected): (Fault, &'static [&'static str]) = match action.as_str() {
        "partition" => (Fault::Partition { groups: f.required("groups")? }, &["groups"]),
        "partition_one_way" => {
            (Fault::PartitionOneWay { from: f.required("from")?, to: f.required("to")? }, &["from", "to"])
        }
        "heal" => (Fault::Heal {}, &[]),
        "cut_link" => (Fault::CutLink { between: f.required("between")? }, &["between"]),
        "heal_link" => (Fault::HealLink { between: f.required("between")? }, &["between"]),
        "crash" => {
            (Fault::Crash { node: f.required("node")?, host_down: f.optional("host_down")? }, &["node", "host_down"])
        }
        "restart" => (Fault::Restart { node: f.required("node")? }, &["node"]),
        "pause" => (Fault::Pause { node: f.required("node")? }, &["node"]),
        "resume" => (Fault::Resume { node: f.required("node")? }, &["node"]),
        "degrade_link" => (
            Fault::DegradeLink {
                between: f.required("between")?,
                latency: f.optional("latency")?,
                jitter: f.optional("jitter")?,
                loss: f.optional("loss")?,
                duplicate: f.optional("duplicate")?,
            },
            &["between", "latency", "jitter", "loss", "duplicate"],
        ),
        "restore_link" => (Fault::RestoreLink { between: f.required("between")? }, &["between"]),
        "hold_link" => (Fault::HoldLink { between: f.required("between")? }, &["between"]),
        "release_link" => (Fault::ReleaseLink { between: f.required("between")? }, &["between"]),
        "skew_clock" => (
            Fault::SkewClock {
                node: f.required("node")?,
                offset: f.optional("offset")?,
                drift_ppm: f.optional("drift_ppm")?,
            },
            &["node", "offset", "drift_ppm"],
        ),
        "promote" => (Fault::Promote { node: f.required("node")? }, &["node"]),
        "slow_node" => {
            (Fault::SlowNode { node: f.required("node")?, factor: f.required("factor")? }, &["node", "factor"])
        }
        "replica_of" => {
            (Fault::ReplicaOf { node: f.required("node")?, primary: f.optional("primary")? }, &["node", "primary"])
        }
        "set_server_state" => (
            Fault::SetServerState {
                node: f.required("node")?,
                server: f.required("server")?,
                state: f.required("state")?,
            },
            &["node", "server", "state"],
        ),
        "set_server_weight" => (
            Fault::SetServerWeight {
                node: f.required("node")?,
                server: f.required("server")?,
                weight: f.required("weight")?,
            },
            &["node", "server", "weight"],
        ),
        other => {
            f.failed = Some("action".to_string());
            return Err(Error::unknown_variant(other, ACTIONS));
        }
    };
    f.done(expected)?;
    Ok(fault)
}

/// What is wrong with a scheduled fault's object, and in which field.
pub(crate) fn field_error(v: &serde_json::Value) -> Option<(Option<String>, String)> {
    crate::json_fields::field_error(v, |f| {
        f.required::<Duration>("at")?;
        fault(f)
    })
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fault(&mut Fields::of(d, "a fault")?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for ScheduledFault {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = Fields::of(d, "a fault")?;
        let at: Duration = f.required("at").map_err(D::Error::custom)?;
        Ok(ScheduledFault { at, fault: fault(&mut f).map_err(D::Error::custom)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: serde_json::Value) -> Result<ScheduledFault, String> {
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
            Fault::HoldLink { between: ["a".into(), "b".into()] },
            Fault::ReleaseLink { between: ["a".into(), "b".into()] },
            Fault::SkewClock { node: "a".into(), offset: Offset { nanos: -150_000_000 }, drift_ppm: 20 },
            Fault::Promote { node: "a".into() },
            Fault::SlowNode { node: "a".into(), factor: 3.5 },
            Fault::ReplicaOf { node: "a".into(), primary: Some("b".into()) },
            Fault::ReplicaOf { node: "a".into(), primary: None },
            Fault::SetServerState {
                node: "lb".into(),
                server: "api/web1".into(),
                state: crate::components::load_balancer::admin::AdminState::Drain,
            },
            Fault::SetServerWeight {
                node: "lb".into(),
                server: "web3".into(),
                weight: crate::components::load_balancer::admin::WeightChange::Percent(50),
            },
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
        // An optional field may be null where its type allows it.
        let f = read(json!({ "at": "1s", "action": "replica_of", "node": "a", "primary": null })).unwrap();
        assert_eq!(f.fault, Fault::ReplicaOf { node: "a".into(), primary: None });
    }
}
