//! The inspector's lines and the canvas badge for Kafka's processes, in
//! Kafka's own words (ISR, high watermark, leader epoch, lag).

use crate::snapshot::DetailTable;
use engine::sim::{Detail, Simulation};

fn names(sim: &Simulation, nodes: &[u32]) -> String {
    if nodes.is_empty() {
        return "none".to_string();
    }
    nodes.iter().map(|&n| sim.node_name(n)).collect::<Vec<_>>().join(", ")
}

/// Adds the Kafka node `node`'s details to `details` (partitions, one row
/// each, to `tables`) and returns its badge; `None` for other kinds.
pub fn describe(
    node: u32,
    detail: &Detail,
    sim: &Simulation,
    details: &mut Vec<(String, String)>,
    tables: &mut Vec<DetailTable>,
) -> Option<String> {
    let name = |n: Option<u32>| n.map_or_else(|| "none".to_string(), |n| sim.node_name(n).to_string());
    let mut push = |k: &str, v: String| details.push((k.to_string(), v));
    Some(match detail {
        Detail::KafkaController(v) => {
            push("raft role", format!("{} · term {} · committed {}", v.role, v.term, v.committed));
            if let Some(why) = crate::snapshot::raft_why(sim, node, v.cause, v.term) {
                push("why", why);
            }
            push("active controller", if v.active { "yes".into() } else { "no".into() });
            for b in &v.brokers {
                push(
                    &format!("broker {}", sim.node_name(b.broker)),
                    format!(
                        "{} · last heartbeat {} ms ago{}",
                        b.liveness.name(),
                        b.silence_ms,
                        if b.fenced { " · fenced" } else { "" }
                    ),
                );
            }
            tables.push(DetailTable {
                caption: "Partitions in the metadata".to_string(),
                head: vec!["partition", "epoch", "leader", "ISR"],
                rows: v
                    .partitions
                    .iter()
                    .map(|p| vec![p.name.clone(), p.leader_epoch.to_string(), name(p.leader), names(sim, &p.isr)])
                    .collect(),
            });
            if v.active {
                format!("active · term {}", v.term)
            } else {
                format!("{} · term {}", v.role, v.term)
            }
        }
        Detail::KafkaBroker(v) => {
            push("broker id", v.broker_id.to_string());
            push("fenced", if v.fenced { "yes".into() } else { "no".into() });
            push("metadata log applied to", v.metadata_index.to_string());
            push("active controller", name(v.active_controller));
            // A leader knows its ISR; a follower, its leader. That column
            // comes last: it wraps in a narrow panel, the figures do not.
            let rows: Vec<Vec<String>> = v
                .partitions
                .iter()
                .map(|p| {
                    let replica = if p.role == "leader" {
                        let pending =
                            p.pending_isr.as_ref().map(|x| format!(" (change to [{}] in flight)", names(sim, x)));
                        format!("leader, ISR [{}]{}", names(sim, &p.isr), pending.unwrap_or_default())
                    } else {
                        format!("{} of {}", p.role, name(p.leader))
                    };
                    vec![
                        p.name.clone(),
                        p.leader_epoch.to_string(),
                        p.log_end_offset.to_string(),
                        p.high_watermark.to_string(),
                        p.on_disk.to_string(),
                        replica,
                    ]
                })
                .collect();
            let leads = v.partitions.iter().filter(|p| p.role == "leader").count();
            tables.push(DetailTable {
                caption: "Replicas on this broker".to_string(),
                head: vec!["partition", "epoch", "LEO", "HW", "on disk", "replica"],
                rows,
            });
            for g in &v.groups {
                let members: Vec<String> = g
                    .members
                    .iter()
                    .map(|(m, ps)| {
                        let ps: Vec<String> = ps.iter().map(u32::to_string).collect();
                        format!("{} [{}]", sim.node_name(*m), ps.join(", "))
                    })
                    .collect();
                push(
                    &format!("group {}", g.name),
                    format!(
                        "generation {}{} · {}",
                        g.generation,
                        if g.rebalancing { " · rebalancing" } else { "" },
                        if members.is_empty() { "no members".to_string() } else { members.join(", ") }
                    ),
                );
            }
            let coordinator = if v.groups.is_empty() { "" } else { " · group coordinator" };
            format!("leads {leads} of {}{}{coordinator}", v.partitions.len(), if v.fenced { " · fenced" } else { "" })
        }
        Detail::KafkaProducer(v) => {
            push("acks", v.acks.to_string());
            push("idempotent", if v.idempotent { "yes".into() } else { "no".into() });
            push("records waiting", v.buffered.to_string());
            push("requests in flight", format!("{} (at most {} per broker)", v.in_flight, v.max_in_flight));
            push("acknowledged", v.acknowledged.to_string());
            push("failed or unknown", v.failed.to_string());
            push("retries", v.retries.to_string());
            format!("acks={} · {} acked", v.acks, v.acknowledged)
        }
        Detail::KafkaConsumer(v) => {
            if let Some(g) = &v.group {
                // The group's lag: what its members have yet to read.
                let group_lag: u64 = (0..sim.node_count() as u32)
                    .filter(|&n| sim.node(n).component.kind() == engine::components::Kind::KafkaConsumer)
                    .filter_map(|n| match sim.node_state(n).detail {
                        Detail::KafkaConsumer(o) if o.group.as_ref() == Some(g) => Some(o.lag.iter().sum::<u64>()),
                        _ => None,
                    })
                    .sum();
                push(
                    "group",
                    format!(
                        "{g} · generation {} · coordinator {} · group lag {group_lag}",
                        v.generation,
                        name(v.coordinator)
                    ),
                );
            }
            for (i, p) in v.partitions.iter().enumerate() {
                let line = match (v.owned.get(i), v.positions.get(i), v.lag.get(i)) {
                    (Some(true), Some(position), Some(lag)) => format!("position {position} · lag {lag}"),
                    _ => "not assigned".to_string(),
                };
                push(p, line);
            }
            push("records read", v.polled.to_string());
            format!("lag {}", v.lag.iter().sum::<u64>())
        }
        _ => return None,
    })
}
