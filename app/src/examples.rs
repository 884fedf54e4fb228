//! The example scenarios, built into the app (the same files the CLI and
//! the engine's tests run).

pub struct Example {
    pub id: &'static str,
    pub json: &'static str,
}

pub const EXAMPLES: &[Example] = &[
    Example { id: "web-three-servers", json: include_str!("../../engine/scenarios/web-three-servers.json") },
    Example { id: "server-crash-failover", json: include_str!("../../engine/scenarios/server-crash-failover.json") },
    Example { id: "link-cut", json: include_str!("../../engine/scenarios/link-cut.json") },
    Example { id: "closed-loop-overload", json: include_str!("../../engine/scenarios/closed-loop-overload.json") },
    Example { id: "large-web-tier", json: include_str!("../../engine/scenarios/large-web-tier.json") },
    Example { id: "thirty-nodes-busy", json: include_str!("../../engine/scenarios/thirty-nodes-busy.json") },
    Example { id: "db-replica-lag", json: include_str!("../../engine/scenarios/db-replica-lag.json") },
    Example { id: "db-async-failover", json: include_str!("../../engine/scenarios/db-async-failover.json") },
    Example { id: "db-semi-sync-failover", json: include_str!("../../engine/scenarios/db-semi-sync-failover.json") },
    Example { id: "db-split-brain", json: include_str!("../../engine/scenarios/db-split-brain.json") },
    Example { id: "web-cache-db", json: include_str!("../../engine/scenarios/web-cache-db.json") },
    Example { id: "cache-aside-stale", json: include_str!("../../engine/scenarios/cache-aside-stale.json") },
    Example { id: "write-behind-crash", json: include_str!("../../engine/scenarios/write-behind-crash.json") },
    Example { id: "l7-routing", json: include_str!("../../engine/scenarios/l7-routing.json") },
    Example { id: "raft-kv-leader-crash", json: include_str!("../../engine/scenarios/raft-kv-leader-crash.json") },
    Example {
        id: "raft-kv-lease-stale-read",
        json: include_str!("../../engine/scenarios/raft-kv-lease-stale-read.json"),
    },
    Example { id: "raft-kv-five", json: include_str!("../../engine/scenarios/raft-kv-five.json") },
    Example { id: "raft-kv-split-vote", json: include_str!("../../engine/scenarios/raft-kv-split-vote.json") },
    Example {
        id: "raft-kv-partitioned-leader",
        json: include_str!("../../engine/scenarios/raft-kv-partitioned-leader.json"),
    },
    Example { id: "kafka-three-brokers", json: include_str!("../../engine/scenarios/kafka-three-brokers.json") },
    Example { id: "kafka-acks1-loss", json: include_str!("../../engine/scenarios/kafka-acks1-loss.json") },
    Example { id: "kafka-isr-shrink", json: include_str!("../../engine/scenarios/kafka-isr-shrink.json") },
    Example { id: "kafka-unclean-election", json: include_str!("../../engine/scenarios/kafka-unclean-election.json") },
    Example {
        id: "kafka-rebalance-duplicates",
        json: include_str!("../../engine/scenarios/kafka-rebalance-duplicates.json"),
    },
    Example {
        id: "redis-replica-stale-reads",
        json: include_str!("../../engine/scenarios/redis-replica-stale-reads.json"),
    },
    Example {
        id: "redis-sentinel-failover",
        json: include_str!("../../engine/scenarios/redis-sentinel-failover.json"),
    },
];

/// The scenario the lab opens with.
pub const DEFAULT: &str = "web-three-servers";

pub fn find(id: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.id == id)
}

/// Every example with its scenario, parsed once: for the picker's names,
/// and to tell whether a scenario opened from elsewhere is an example.
/// (Each parses: tested below.)
pub fn parsed() -> &'static [(&'static str, engine::Scenario)] {
    static PARSED: std::sync::OnceLock<Vec<(&'static str, engine::Scenario)>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        EXAMPLES.iter().filter_map(|e| engine::Scenario::from_json(e.json).ok().map(|s| (e.id, s))).collect()
    })
}

/// The id of the example `scenario` is exactly, or "".
pub fn id_of(scenario: &engine::Scenario) -> &'static str {
    parsed().iter().find(|(_, s)| s == scenario).map_or("", |(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_file_is_an_example_and_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .map(|n| n.trim_end_matches(".json").to_string())
            .collect();
        files.sort();
        let mut ids: Vec<String> = EXAMPLES.iter().map(|e| e.id.to_string()).collect();
        ids.sort();
        assert_eq!(ids, files, "app/src/examples.rs lists every file in engine/scenarios");
        for ex in EXAMPLES {
            engine::Scenario::from_json(ex.json).unwrap_or_else(|e| panic!("{}: {e}", ex.id));
        }
        assert_eq!(parsed().len(), EXAMPLES.len());
        assert_eq!(id_of(&parsed()[3].1), EXAMPLES[3].id);
    }
}
