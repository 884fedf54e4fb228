//! Faults: what can go wrong, scheduled at a time in a scenario or applied
//! live from the UI. A fault names nodes; once a scenario is checked, the
//! names become node ids ([`Fault::resolve`]).

use crate::clock::Offset;
use crate::components::load_balancer::admin::{AdminState, WeightChange};
use crate::distribution::Distribution;
use crate::network::Degradation;
use crate::time::Duration;
use serde::Serialize;

pub mod nemesis;
pub(crate) mod read;
use std::fmt;

/// A fault, over node references `N` (names in files, ids when running).
/// Written as serde derives; read by [`read`] (with names).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault<N = String> {
    /// Split the cluster: nodes in different groups cannot reach each other
    /// in either direction. Nodes in no group form one more group.
    Partition {
        groups: Vec<Vec<N>>,
    },
    /// Messages from any node of `from` to any node of `to` are lost; the
    /// other direction still works.
    PartitionOneWay {
        from: Vec<N>,
        to: Vec<N>,
    },
    /// Remove every partition and cut link.
    Heal {},
    /// Cut one link in both directions.
    CutLink {
        between: [N; 2],
    },
    /// Reconnect one link in both directions, whatever cut it (a partition
    /// too).
    HealLink {
        between: [N; 2],
    },
    /// Kill the process: its volatile state is lost, what it persisted is
    /// kept. With `host_down`, the whole machine is off: nothing answers,
    /// not even with "connection refused".
    Crash {
        node: N,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        host_down: bool,
    },
    /// Start a crashed process again; it recovers from what it persisted.
    Restart {
        node: N,
    },
    /// Stop the process without killing it (SIGSTOP).
    Pause {
        node: N,
    },
    Resume {
        node: N,
    },
    /// Make a link worse, in both directions. Unset fields take the link's
    /// own values (a second degrade replaces the first).
    DegradeLink {
        between: [N; 2],
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency: Option<Distribution>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate: Option<f64>,
    },
    /// Undo a degradation.
    RestoreLink {
        between: [N; 2],
    },
    /// Stall one link in both directions: messages that reach its far end
    /// wait there, in order, instead of being delivered (a connection that
    /// stops moving: nothing is lost, nothing arrives). Bounded by
    /// `limits.held_backlog`.
    HoldLink {
        between: [N; 2],
    },
    /// Deliver everything a held link holds, at once and in the order it
    /// arrived; the link works again.
    ReleaseLink {
        between: [N; 2],
    },
    /// Set a node's wall clock `offset` away from true time, and make its
    /// clocks run `drift_ppm` parts per million fast (or slow, if negative).
    /// Replaces any earlier skew of that node (unset fields are 0).
    SkewClock {
        node: N,
        #[serde(default)]
        offset: Offset,
        #[serde(default)]
        drift_ppm: i64,
    },
    /// An operator promotes a database replica to primary (a new epoch).
    Promote {
        node: N,
    },
    /// Multiply the node's service times by `factor` (1 restores it).
    SlowNode {
        node: N,
        factor: f64,
    },
    /// An operator runs `REPLICAOF primary` on a cache (`REPLICAOF NO ONE`
    /// without `primary`).
    ReplicaOf {
        node: N,
        #[serde(skip_serializing_if = "Option::is_none")]
        primary: Option<N>,
    },
    /// An operator runs HAProxy's `set server <backend>/<server> state
    /// <state>` on load balancer `node`. `server` is a server's name (every
    /// backend's server of that name) or `backend/server`.
    SetServerState {
        node: N,
        server: String,
        state: AdminState,
    },
    /// An operator runs HAProxy's `set server <backend>/<server> weight
    /// <weight>[%]` on load balancer `node` (`server` as above).
    SetServerWeight {
        node: N,
        server: String,
        weight: WeightChange,
    },
}

/// Clock drift beyond this is not a clock, it is a bug: +-50%.
pub const MAX_DRIFT_PPM: i64 = 500_000;
pub const MAX_SLOW_FACTOR: f64 = 1000.0;

impl<N: PartialEq> Fault<N> {
    /// The field that names node `name`, for a message's path (the first
    /// that does; `""` for none).
    pub fn field_naming(&self, name: &N) -> &'static str {
        match self {
            Fault::Partition { .. } => "groups",
            Fault::PartitionOneWay { from, .. } if from.contains(name) => "from",
            Fault::PartitionOneWay { .. } => "to",
            Fault::Heal {} => "",
            Fault::CutLink { .. }
            | Fault::HealLink { .. }
            | Fault::DegradeLink { .. }
            | Fault::RestoreLink { .. }
            | Fault::HoldLink { .. }
            | Fault::ReleaseLink { .. } => "between",
            Fault::ReplicaOf { node, .. } if node != name => "primary",
            Fault::Crash { .. }
            | Fault::Restart { .. }
            | Fault::Pause { .. }
            | Fault::Resume { .. }
            | Fault::SkewClock { .. }
            | Fault::Promote { .. }
            | Fault::SlowNode { .. }
            | Fault::ReplicaOf { .. }
            | Fault::SetServerState { .. }
            | Fault::SetServerWeight { .. } => "node",
        }
    }
}

impl<N> Fault<N> {
    /// Maps node references, failing on the first that does not resolve.
    pub fn resolve<M, E>(&self, mut f: impl FnMut(&N) -> Result<M, E>) -> Result<Fault<M>, E> {
        let mut all = |v: &Vec<N>| v.iter().map(&mut f).collect::<Result<Vec<M>, E>>();
        Ok(match self {
            Fault::Partition { groups } => {
                Fault::Partition { groups: groups.iter().map(&mut all).collect::<Result<_, _>>()? }
            }
            Fault::PartitionOneWay { from, to } => Fault::PartitionOneWay { from: all(from)?, to: all(to)? },
            Fault::Heal {} => Fault::Heal {},
            Fault::CutLink { between: [a, b] } => Fault::CutLink { between: [f(a)?, f(b)?] },
            Fault::HealLink { between: [a, b] } => Fault::HealLink { between: [f(a)?, f(b)?] },
            Fault::Crash { node, host_down } => Fault::Crash { node: f(node)?, host_down: *host_down },
            Fault::Restart { node } => Fault::Restart { node: f(node)? },
            Fault::Pause { node } => Fault::Pause { node: f(node)? },
            Fault::Resume { node } => Fault::Resume { node: f(node)? },
            Fault::DegradeLink { between: [a, b], latency, jitter, loss, duplicate } => Fault::DegradeLink {
                between: [f(a)?, f(b)?],
                latency: *latency,
                jitter: *jitter,
                loss: *loss,
                duplicate: *duplicate,
            },
            Fault::RestoreLink { between: [a, b] } => Fault::RestoreLink { between: [f(a)?, f(b)?] },
            Fault::HoldLink { between: [a, b] } => Fault::HoldLink { between: [f(a)?, f(b)?] },
            Fault::ReleaseLink { between: [a, b] } => Fault::ReleaseLink { between: [f(a)?, f(b)?] },
            Fault::SkewClock { node, offset, drift_ppm } => {
                Fault::SkewClock { node: f(node)?, offset: *offset, drift_ppm: *drift_ppm }
            }
            Fault::SlowNode { node, factor } => Fault::SlowNode { node: f(node)?, factor: *factor },
            Fault::Promote { node } => Fault::Promote { node: f(node)? },
            Fault::ReplicaOf { node, primary } => {
                Fault::ReplicaOf { node: f(node)?, primary: primary.as_ref().map(&mut f).transpose()? }
            }
            Fault::SetServerState { node, server, state } => {
                Fault::SetServerState { node: f(node)?, server: server.clone(), state: *state }
            }
            Fault::SetServerWeight { node, server, weight } => {
                Fault::SetServerWeight { node: f(node)?, server: server.clone(), weight: *weight }
            }
        })
    }

    /// Checks the numbers (node references are checked by `resolve`);
    /// `Err` is (field, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |field: &str, msg: String| Err((field.to_string(), msg));
        match self {
            Fault::DegradeLink { latency, loss, duplicate, .. } => {
                if let Some(l) = latency {
                    l.validate().map_err(|e| ("latency".to_string(), e))?;
                }
                for (name, p) in [("loss", loss), ("duplicate", duplicate)] {
                    if let Some(p) = p {
                        if !(0.0..=1.0).contains(p) {
                            return err(name, format!("{name} must be a probability between 0 and 1, got {p}"));
                        }
                    }
                }
                Ok(())
            }
            Fault::SkewClock { drift_ppm, .. } if drift_ppm.abs() > MAX_DRIFT_PPM => err(
                "drift_ppm",
                format!("drift_ppm must be between -{MAX_DRIFT_PPM} and {MAX_DRIFT_PPM}, got {drift_ppm}"),
            ),
            Fault::SlowNode { factor, .. } if !(factor.is_finite() && *factor > 0.0 && *factor <= MAX_SLOW_FACTOR) => {
                err("factor", format!("factor must be above 0 and at most {MAX_SLOW_FACTOR}, got {factor}"))
            }
            _ => Ok(()),
        }
    }

    pub fn degradation(&self) -> Option<Degradation> {
        match self {
            Fault::DegradeLink { latency, jitter, loss, duplicate, .. } => {
                Some(Degradation { latency: *latency, jitter: *jitter, loss: *loss, duplicate: *duplicate })
            }
            _ => None,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::PartitionOneWay { .. } => "partition_one_way",
            Fault::Heal {} => "heal",
            Fault::CutLink { .. } => "cut_link",
            Fault::HealLink { .. } => "heal_link",
            Fault::Crash { .. } => "crash",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::DegradeLink { .. } => "degrade_link",
            Fault::RestoreLink { .. } => "restore_link",
            Fault::HoldLink { .. } => "hold_link",
            Fault::ReleaseLink { .. } => "release_link",
            Fault::SkewClock { .. } => "skew_clock",
            Fault::SlowNode { .. } => "slow_node",
            Fault::Promote { .. } => "promote",
            Fault::ReplicaOf { .. } => "replica_of",
            Fault::SetServerState { .. } => "set_server_state",
            Fault::SetServerWeight { .. } => "set_server_weight",
        }
    }
}

impl<N: fmt::Display> fmt::Display for Fault<N> {
    /// A sentence for the event log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &Vec<N>| v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
        match self {
            Fault::Partition { groups } => {
                let g: Vec<String> = groups.iter().map(|g| format!("{{{}}}", list(g))).collect();
                write!(f, "partition {}", g.join(" | "))
            }
            Fault::PartitionOneWay { from, to } => {
                write!(f, "one-way partition: {{{}}} cannot reach {{{}}}", list(from), list(to))
            }
            Fault::Heal {} => write!(f, "heal every partition"),
            Fault::CutLink { between: [a, b] } => write!(f, "cut link {a} - {b}"),
            Fault::HealLink { between: [a, b] } => write!(f, "heal link {a} - {b}"),
            Fault::Crash { node, host_down: false } => write!(f, "crash {node}"),
            Fault::Crash { node, host_down: true } => write!(f, "power off {node}"),
            Fault::Restart { node } => write!(f, "restart {node}"),
            Fault::Pause { node } => write!(f, "pause {node}"),
            Fault::Resume { node } => write!(f, "resume {node}"),
            Fault::DegradeLink { between: [a, b], latency, jitter, loss, duplicate } => {
                write!(f, "degrade link {a} - {b}")?;
                let mut how = Vec::new();
                if let Some(l) = latency {
                    how.push(format!("latency {l}"));
                }
                if let Some(j) = jitter {
                    how.push(format!("jitter {j}"));
                }
                if let Some(l) = loss {
                    how.push(format!("loss {}%", l * 100.0));
                }
                if let Some(d) = duplicate {
                    how.push(format!("duplicates {}%", d * 100.0));
                }
                if !how.is_empty() {
                    write!(f, " ({})", how.join(", "))?;
                }
                Ok(())
            }
            Fault::RestoreLink { between: [a, b] } => write!(f, "restore link {a} - {b}"),
            Fault::HoldLink { between: [a, b] } => write!(f, "hold link {a} - {b}"),
            Fault::ReleaseLink { between: [a, b] } => write!(f, "release link {a} - {b}"),
            Fault::SkewClock { node, offset, drift_ppm } => {
                write!(f, "skew {node}'s clock by {offset}, drift {drift_ppm} ppm")
            }
            Fault::SlowNode { node, factor } => write!(f, "slow {node} down x{factor}"),
            Fault::Promote { node } => write!(f, "promote {node} to primary"),
            Fault::ReplicaOf { node, primary: Some(p) } => write!(f, "REPLICAOF {p} on {node}"),
            Fault::ReplicaOf { node, primary: None } => write!(f, "REPLICAOF NO ONE on {node}"),
            Fault::SetServerState { node, server, state } => write!(f, "set server {server} state {state} on {node}"),
            Fault::SetServerWeight { node, server, weight } => {
                write!(f, "set server {server} weight {weight} on {node}")
            }
        }
    }
}

/// A fault at a point in simulated time: `{"at": "10s", "action": "crash", "node": "web2"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduledFault<N = String> {
    pub at: Duration,
    #[serde(flatten)]
    pub fault: Fault<N>,
}
