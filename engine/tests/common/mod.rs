//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use engine::{Scenario, Simulation};
use serde_json::{json, Value};

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;

/// A client sending to one server directly, over a 1 ms link.
pub fn client_server(rate: f64) -> Value {
    json!({
        "version": 1,
        "seed": 3,
        "nodes": [
            { "name": "c", "type": "client", "target": "s",
              "workload": { "kind": "open_loop", "rate": rate, "arrival": "constant" }, "timeout": "500ms" },
            { "name": "s", "type": "server", "workers": 2, "queue": 1000, "service_time": "2ms" }
        ],
        "links": [ { "between": ["c", "s"], "latency": "1ms" } ]
    })
}

/// Clients, a load balancer with checks every second, and three servers.
pub fn lb_three(extra_faults: Value) -> Value {
    json!({
        "version": 1,
        "seed": 11,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb",
              "workload": { "kind": "open_loop", "rate": 200 }, "timeout": "1s" },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin",
              "default_server": { "check": true, "inter": "1s", "rise": 2, "fall": 3 },
              "servers": [ { "name": "s1" }, { "name": "s2" }, { "name": "s3" } ],
              "timeout_server": "5s" },
            { "name": "s1", "type": "server" },
            { "name": "s2", "type": "server" },
            { "name": "s3", "type": "server" }
        ],
        "links": [
            { "between": ["c", "lb"] }, { "between": ["lb", "s1"] },
            { "between": ["lb", "s2"] }, { "between": ["lb", "s3"] }
        ],
        "faults": extra_faults
    })
}

pub fn scenario(v: Value) -> Scenario {
    Scenario::from_value(v).unwrap_or_else(|e| panic!("test scenario is invalid: {e}"))
}

pub fn sim(v: Value) -> Simulation {
    Simulation::new(&scenario(v)).expect("valid")
}

/// `s` run through its whole duration.
pub fn run(s: &Scenario) -> Simulation {
    let mut sim = Simulation::new(s).unwrap();
    sim.run_through(s.duration.nanos);
    sim
}

/// What the Raft store member `name` shows.
pub fn raft_view(sim: &Simulation, name: &str) -> engine::components::raft_kv::RaftKvView {
    match sim.node_state(sim.node_id(name).unwrap()).detail {
        engine::sim::Detail::RaftKv(v) => v,
        other => panic!("{name}: {other:?}"),
    }
}

pub fn load_example(name: &str) -> Scenario {
    let path = format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Scenario::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn examples() -> Vec<(String, Scenario)> {
    let dir = format!("{}/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8 name"))
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let s = load_example(&n);
            (n, s)
        })
        .collect()
}

/// (time, node, role, term) of every Raft role change in the kept trace.
pub fn roles(sim: &Simulation) -> Vec<(u64, String, engine::raft::Role, u64)> {
    use engine::trace::{Note, What};
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { node, note: Note::RaftRole { role, term, .. } } => {
                Some((e.time, sim.node_name(node).to_string(), role, term))
            }
            _ => None,
        })
        .collect()
}
