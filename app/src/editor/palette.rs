//! The palette: every kind of node the engine runs, named as the real
//! system names it, with a one-line description and the configuration a
//! newly placed node gets.
//!
//! Defaults are the real system's where the engine models it (the engine's
//! own serde defaults fill everything not written here): HAProxy 2.6's
//! `inter 2s rise 2 fall 3` with checks on, Redis 7.0's
//! `maxmemory-policy noeviction`, Kafka's `acks=all` (with idempotence)
//! and a topic of 1 partition with replication factor 1
//! (`num.partitions`, `default.replication.factor`), etcd's
//! `--heartbeat-interval 100ms` with an election timeout of 10 ticks.
//!
//! Fields that name other nodes (a client's `target`, a load balancer's
//! `servers`, a sentinel's `monitor`, a broker's `controllers`, a Kafka
//! client's `bootstrap`, ...) start empty: [`super::connect::connect`] fills
//! them. [`PaletteEntry::needs`] says which connection completes a node.

use super::moving::clamp;
use super::EditError;
use engine::components::Kind;
use engine::scenario::{NodeSpec, MAX_NODES};
use engine::Scenario;
use serde_json::{json, Value};

/// One kind of node as the palette shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaletteEntry {
    pub kind: Kind,
    /// The name in the real system's words, e.g. "Load balancer (HAProxy)".
    pub label: &'static str,
    /// One line on what it does.
    pub description: &'static str,
    /// New nodes are named `prefix1`, `prefix2`, ...
    pub prefix: &'static str,
    /// What a new node still needs before the scenario runs (`None`: it runs
    /// as placed).
    pub needs: Option<&'static str>,
}

const PALETTE: [PaletteEntry; 11] = [
    PaletteEntry {
        kind: Kind::Client,
        label: "Clients (load generator)",
        description: "Users sending 100 requests per second (90% reads), each waiting up to 1 s for an answer.",
        prefix: "client",
        needs: Some("connect it to what it sends to: a load balancer, a server, a database, a cache or a Raft KV node"),
    },
    PaletteEntry {
        kind: Kind::LoadBalancer,
        label: "Load balancer (HAProxy)",
        description: "HAProxy 2.6: round robin over its servers, TCP health checks every 2 s (rise 2, fall 3), 3 retries.",
        prefix: "lb",
        needs: Some("connect it to at least one server"),
    },
    PaletteEntry {
        kind: Kind::Server,
        label: "App server",
        description: "4 workers in front of a queue of 128; connected to a database (and a cache) it reads and writes through them.",
        prefix: "web",
        needs: None,
    },
    PaletteEntry {
        kind: Kind::Cache,
        label: "Cache (Redis)",
        description: "Redis 7.0: no memory limit, maxmemory-policy noeviction; connect it to another cache to make it a replica.",
        prefix: "cache",
        needs: None,
    },
    PaletteEntry {
        kind: Kind::Database,
        label: "Database (MySQL-like)",
        description: "A key-value database with asynchronous replication; connect it to a primary to make it a replica.",
        prefix: "db",
        needs: None,
    },
    PaletteEntry {
        kind: Kind::Sentinel,
        label: "Redis Sentinel",
        description: "Watches a Redis primary (down-after 30 s) and promotes a replica when a quorum of sentinels agrees it is down.",
        prefix: "sentinel",
        needs: Some("connect it to the Redis primary it monitors"),
    },
    PaletteEntry {
        kind: Kind::RaftKv,
        label: "Raft KV node (etcd-like)",
        description: "A key-value store replicated by Raft: 100 ms ticks, election after 10, PreVote, CheckQuorum, ReadIndex reads.",
        prefix: "kv",
        needs: None,
    },
    PaletteEntry {
        kind: Kind::KafkaController,
        label: "Kafka controller (KRaft)",
        description: "A member of the KRaft quorum that owns the cluster's metadata: brokers, topic `events` (1 partition, RF 1).",
        prefix: "ctl",
        needs: Some("connect it to a Kafka broker (or to a controller, to join its quorum)"),
    },
    PaletteEntry {
        kind: Kind::KafkaBroker,
        label: "Kafka broker",
        description: "Stores and replicates partitions; followers fetch from the leader (replica.fetch.wait.max.ms 500).",
        prefix: "b",
        needs: Some("connect it to a Kafka controller (or to a broker of a cluster)"),
    },
    PaletteEntry {
        kind: Kind::KafkaProducer,
        label: "Kafka producer",
        description: "Sends 100 records per second with acks=all and idempotence, retrying until delivery.timeout.ms (120 s).",
        prefix: "producer",
        needs: Some("connect it to a broker of a cluster (its bootstrap server)"),
    },
    PaletteEntry {
        kind: Kind::KafkaConsumer,
        label: "Kafka consumer",
        description: "Reads in the consumer group `consumers`, committing offsets every 5 s (enable.auto.commit).",
        prefix: "consumer",
        needs: Some("connect it to a broker of a cluster (its bootstrap server)"),
    },
];

/// Every kind of node, in palette order.
pub fn palette() -> &'static [PaletteEntry] {
    &PALETTE
}

/// The palette entry of `kind`.
pub fn entry(kind: Kind) -> &'static PaletteEntry {
    PALETTE.iter().find(|e| e.kind == kind).expect("every kind is in the palette")
}

/// The configuration written for a new node, before the engine's defaults
/// fill the rest.
fn default_fields(kind: Kind, name: &str) -> Value {
    match kind {
        Kind::Client => json!({ "target": "", "workload": { "kind": "open_loop", "rate": 100 } }),
        Kind::LoadBalancer => json!({
            "balance": "roundrobin",
            "default_server": { "check": true, "inter": "2s", "rise": 2, "fall": 3 },
            "servers": []
        }),
        Kind::Server | Kind::Cache | Kind::Database => json!({}),
        Kind::Sentinel => json!({ "monitor": "", "quorum": 1 }),
        Kind::RaftKv => json!({ "members": [name] }),
        Kind::KafkaController => json!({ "controllers": [name], "brokers": [], "topic": { "name": "events" } }),
        Kind::KafkaBroker => json!({ "controllers": [] }),
        Kind::KafkaProducer => json!({ "bootstrap": [], "acks": "all", "load": { "rate": 100 } }),
        Kind::KafkaConsumer => json!({ "bootstrap": [], "group": "consumers" }),
    }
}

/// A new node of `kind` named `name` at `pos`, with the default
/// configuration (every field the engine defaults written out).
pub fn new_node(kind: Kind, name: &str, pos: Option<[f64; 2]>) -> NodeSpec {
    let mut v = default_fields(kind, name);
    let obj = v.as_object_mut().expect("an object");
    obj.insert("name".into(), json!(name));
    obj.insert("type".into(), json!(kind.name()));
    let mut node: NodeSpec = engine::scenario::from_value(v).expect("the palette's defaults are well-typed");
    node.pos = pos;
    node
}

/// The first free name `prefix1`, `prefix2`, ... in `doc`.
pub fn fresh_name(doc: &Scenario, prefix: &str) -> String {
    (1..).map(|i| format!("{prefix}{i}")).find(|n| !doc.nodes.iter().any(|x| &x.name == n)).expect("a free name exists")
}

/// Places a new node of `kind` at `pos` (clamped to the canvas) with a
/// fresh name, returned with the new document. Kinds whose entry has
/// [`PaletteEntry::needs`] leave the document incomplete until connected.
pub fn add_node(doc: &Scenario, kind: Kind, pos: [f64; 2]) -> Result<(Scenario, String), EditError> {
    if doc.nodes.len() >= MAX_NODES {
        return Err(EditError::TooManyNodes { limit: MAX_NODES });
    }
    let pos = clamp(pos)?;
    let name = fresh_name(doc, entry(kind).prefix);
    let mut out = doc.clone();
    out.nodes.push(new_node(kind, &name, Some(pos)));
    Ok((out, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::scenario::ComponentSpec;

    pub(crate) fn one_server() -> Scenario {
        Scenario::from_json(r#"{"version":1,"nodes":[{"name":"web1","type":"server"}]}"#).unwrap()
    }

    #[test]
    fn the_palette_has_every_kind_once_with_distinct_prefixes() {
        let kinds = [
            Kind::Client,
            Kind::LoadBalancer,
            Kind::Server,
            Kind::Cache,
            Kind::Database,
            Kind::Sentinel,
            Kind::RaftKv,
            Kind::KafkaController,
            Kind::KafkaBroker,
            Kind::KafkaProducer,
            Kind::KafkaConsumer,
        ];
        assert_eq!(palette().len(), kinds.len());
        for k in kinds {
            assert_eq!(palette().iter().filter(|e| e.kind == k).count(), 1, "{k:?}");
            assert_eq!(entry(k).kind, k);
        }
        let mut prefixes: Vec<_> = palette().iter().map(|e| e.prefix).collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), kinds.len());
        assert_eq!(entry(Kind::LoadBalancer).label, "Load balancer (HAProxy)");
        assert_eq!(entry(Kind::Cache).label, "Cache (Redis)");
    }

    #[test]
    fn defaults_are_the_real_systems() {
        let ComponentSpec::LoadBalancer(lb) = new_node(Kind::LoadBalancer, "lb1", None).component else { panic!() };
        let d = lb.default_server;
        assert_eq!(d.check, Some(true));
        assert_eq!(d.inter, Some(engine::Duration::from_secs(2)));
        assert_eq!((d.rise, d.fall), (Some(2), Some(3)));
        assert_eq!(lb.retries, 3);
        assert_eq!(lb.balance.keyword(), "roundrobin");
        let ComponentSpec::Cache(c) = new_node(Kind::Cache, "cache1", None).component else { panic!() };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["redis"]["maxmemory_policy"], "noeviction");
        assert_eq!(v["redis"]["maxmemory"], 0);
        let ComponentSpec::KafkaProducer(p) = new_node(Kind::KafkaProducer, "producer1", None).component else {
            panic!()
        };
        assert_eq!(serde_json::to_value(&p).unwrap()["acks"], "all");
        let ComponentSpec::RaftKv(r) = new_node(Kind::RaftKv, "kv1", None).component else { panic!() };
        assert_eq!(r.members, vec!["kv1".to_string()]);
        assert_eq!(r.election_tick, 10);
        assert!(r.pre_vote && r.check_quorum);
    }

    #[test]
    fn names_are_fresh_and_readable() {
        let doc = one_server();
        let (doc, a) = add_node(&doc, Kind::Server, [100.0, 100.0]).unwrap();
        let (doc, b) = add_node(&doc, Kind::Server, [100.0, 200.0]).unwrap();
        let (doc, c) = add_node(&doc, Kind::Cache, [300.0, 200.0]).unwrap();
        let (_, d) = add_node(&doc, Kind::KafkaBroker, [300.0, 200.0]).unwrap();
        assert_eq!((a.as_str(), b.as_str(), c.as_str(), d.as_str()), ("web2", "web3", "cache1", "b1"));
    }

    #[test]
    fn kinds_without_needs_keep_the_document_valid_and_the_others_say_what_is_missing() {
        for e in palette() {
            let (doc, name) = add_node(&one_server(), e.kind, [200.0, 200.0]).unwrap();
            assert_eq!(doc.nodes.last().unwrap().name, name);
            assert_eq!(doc.nodes.last().unwrap().component.kind(), e.kind);
            match e.needs {
                None => assert_eq!(doc.validate(), Ok(()), "{}", e.label),
                Some(_) => {
                    let p = crate::editor::problem(&doc).expect("incomplete");
                    assert!(p.starts_with(&format!("`{name}`")), "{p}");
                }
            }
        }
    }

    #[test]
    fn positions_are_clamped_and_checked() {
        let (doc, _) = add_node(&one_server(), Kind::Server, [-50.0, 1e9]).unwrap();
        let [x, y] = doc.nodes[1].pos.unwrap();
        assert!(x > 0.0 && y < crate::snapshot::HEIGHT, "{x} {y}");
        assert!(matches!(add_node(&one_server(), Kind::Server, [f64::NAN, 0.0]), Err(EditError::BadPosition { .. })));
    }

    #[test]
    fn adding_stops_at_the_engines_limit() {
        let mut doc = one_server();
        while doc.nodes.len() < MAX_NODES {
            doc = add_node(&doc, Kind::Server, [10.0, 10.0]).unwrap().0;
        }
        assert_eq!(doc.validate(), Ok(()));
        let e = add_node(&doc, Kind::Server, [10.0, 10.0]).unwrap_err();
        assert_eq!(e, EditError::TooManyNodes { limit: MAX_NODES });
        assert!(e.to_string().contains("500 nodes"), "{e}");
    }
}
