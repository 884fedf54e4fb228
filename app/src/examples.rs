//! The example scenarios, built into the app (the same files the CLI and
//! the engine's tests run).

pub struct Example {
    pub id: &'static str,
    pub json: &'static str,
}

/// The file `engine/scenarios/<id>.json`, minified by `build.rs`.
macro_rules! example {
    ($id:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/scenarios/", $id, ".json"))
    };
}

pub const EXAMPLES: &[Example] = &[
    Example { id: "web-three-servers", json: example!("web-three-servers") },
    Example { id: "server-crash-failover", json: example!("server-crash-failover") },
    Example { id: "server-hangs", json: example!("server-hangs") },
    Example { id: "retry-hung-writes", json: example!("retry-hung-writes") },
    Example { id: "link-cut", json: example!("link-cut") },
    Example { id: "closed-loop-overload", json: example!("closed-loop-overload") },
    Example { id: "abandoned-queue", json: example!("abandoned-queue") },
    Example { id: "hot-path", json: example!("hot-path") },
    Example { id: "database-cut-off", json: example!("database-cut-off") },
    Example { id: "planned-restart", json: example!("planned-restart") },
    Example { id: "canary-release", json: example!("canary-release") },
    Example { id: "large-web-tier", json: example!("large-web-tier") },
    Example { id: "thirty-nodes-busy", json: example!("thirty-nodes-busy") },
    Example { id: "db-replica-lag", json: example!("db-replica-lag") },
    Example { id: "db-async-failover", json: example!("db-async-failover") },
    Example { id: "db-semi-sync-failover", json: example!("db-semi-sync-failover") },
    Example { id: "db-split-brain", json: example!("db-split-brain") },
    Example { id: "web-cache-db", json: example!("web-cache-db") },
    Example { id: "cache-aside-stale", json: example!("cache-aside-stale") },
    Example { id: "write-behind-crash", json: example!("write-behind-crash") },
    Example { id: "l7-routing", json: example!("l7-routing") },
    Example { id: "raft-kv-leader-crash", json: example!("raft-kv-leader-crash") },
    Example { id: "raft-kv-lease-stale-read", json: example!("raft-kv-lease-stale-read") },
    Example { id: "raft-kv-five", json: example!("raft-kv-five") },
    Example { id: "raft-kv-split-vote", json: example!("raft-kv-split-vote") },
    Example { id: "raft-kv-partitioned-leader", json: example!("raft-kv-partitioned-leader") },
    Example { id: "raft-kv-partial-partition", json: example!("raft-kv-partial-partition") },
    Example { id: "raft-kv-held-leader", json: example!("raft-kv-held-leader") },
    Example { id: "raft-kv-snapshot-catchup", json: example!("raft-kv-snapshot-catchup") },
    Example { id: "kafka-three-brokers", json: example!("kafka-three-brokers") },
    Example { id: "kafka-acks1-loss", json: example!("kafka-acks1-loss") },
    Example { id: "kafka-isr-shrink", json: example!("kafka-isr-shrink") },
    Example { id: "kafka-unclean-election", json: example!("kafka-unclean-election") },
    Example { id: "kafka-rebalance-duplicates", json: example!("kafka-rebalance-duplicates") },
    Example { id: "kafka-retry-reorder", json: example!("kafka-retry-reorder") },
    Example { id: "redis-replica-stale-reads", json: example!("redis-replica-stale-reads") },
    Example { id: "redis-sentinel-failover", json: example!("redis-sentinel-failover") },
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
            // Minified by build.rs: the same JSON as the file.
            let file = std::fs::read_to_string(format!("{dir}/{}.json", ex.id)).unwrap();
            let file: serde_json::Value = serde_json::from_str(&file).unwrap();
            assert_eq!(serde_json::from_str::<serde_json::Value>(ex.json).unwrap(), file, "{}", ex.id);
            assert!(!ex.json.contains('\n'), "{}", ex.id);
        }
        assert_eq!(parsed().len(), EXAMPLES.len());
        assert_eq!(id_of(&parsed()[3].1), EXAMPLES[3].id);
    }
}
