//! Following client operations through the system (`engine::follow`):
//! every example, every operation at once, checked for what a wrong
//! attribution would break.
mod common;
use common::*;
use engine::follow::{OpIndex, Step};
use engine::message::{CacheCmd, Message, NodeId, ReplCmd, RequestId};
use engine::trace::{TraceEvent, What};
use engine::Simulation;
use std::collections::BTreeMap;

/// How long each example runs here: long enough for their first faults.
const RUN: u64 = 16 * SEC;

/// The key a message is about, if it names one.
fn key_of(msg: &Message) -> Option<u32> {
    match *msg {
        Message::Request(r) => Some(r.op.key()),
        Message::CacheRequest {
            cmd: CacheCmd::Get { key } | CacheCmd::Set { key, .. } | CacheCmd::Del { key },
            ..
        } => Some(key),
        Message::Replicate { key, .. } => Some(key),
        Message::ReplStream { cmd: ReplCmd::Set { key, .. } | ReplCmd::Del { key }, .. } => Some(key),
        _ => None,
    }
}

fn request_id(msg: &Message) -> Option<RequestId> {
    match *msg {
        Message::Request(r) => Some(r.id),
        Message::CacheRequest { id, .. } => Some(id),
        _ => None,
    }
}

fn answer_id(msg: &Message) -> Option<RequestId> {
    match *msg {
        Message::Response(r) => Some(r.id),
        Message::CacheReply { id, .. } | Message::RequestRefused { id } | Message::ConnectionClosed { id } => Some(id),
        _ => None,
    }
}

fn message(e: &TraceEvent) -> Option<(NodeId, NodeId, Message)> {
    match e.what {
        What::Deliver { from, to, msg, .. } | What::Drop { from, to, msg, .. } => Some((from, to, msg)),
        _ => None,
    }
}

fn check(name: &str, mut scenario: engine::Scenario) {
    scenario.limits.trace_events = 4_000_000;
    let until = RUN.min(scenario.duration.nanos);
    let mut plain = Simulation::new(&scenario).expect("valid");
    plain.run_until(until);
    let mut sim = Simulation::new(&scenario).expect("valid");
    sim.follow(None);
    sim.run_until(until);
    assert_eq!(sim.trace_hash(), plain.trace_hash(), "{name}: following changed the run");
    assert_eq!(sim.trace().discarded(), 0, "{name}: the trace must keep everything for this test");

    let ops = sim.history().ops();
    let follow = sim.followed().expect("on");
    assert_eq!(follow.missed, 0, "{name}");
    let tagged: BTreeMap<u64, OpIndex> = follow
        .events()
        .iter()
        .filter_map(|(op, s)| match s {
            Step::Event(e) => Some((e.n, *op)),
            Step::Queued { .. } => None,
        })
        .collect();
    let mut first_hop = vec![false; ops.len()];
    let mut steps = vec![0u32; ops.len()];
    // (requester, receiver, id) of each request delivered for an operation.
    let mut requests: BTreeMap<(NodeId, NodeId, RequestId), OpIndex> = BTreeMap::new();
    for e in sim.trace().events() {
        let Some((from, to, msg)) = message(e) else { continue };
        let op = tagged.get(&e.n).copied();
        let what = || format!("{name}: event {} at {} ({:?}) of operation {op:?}", e.n, e.time, e.what);
        if let Some(op) = op {
            let rec = &ops[op as usize];
            if let Some(key) = key_of(&msg) {
                assert_eq!(key, rec.op.key(), "{} is about another key than {:?}", what(), rec.op);
            }
            if from == rec.node {
                first_hop[op as usize] = true;
            }
            assert!(
                !matches!(
                    msg,
                    Message::HealthCheck { .. }
                        | Message::HttpCheck { .. }
                        | Message::SentinelPing
                        | Message::PrimaryIs { .. }
                ),
                "{}: a check or heartbeat belongs to no operation",
                what()
            );
            steps[op as usize] += 1;
        }
        if let (Some(id), What::Deliver { .. }) = (request_id(&msg), e.what) {
            if let Some(op) = op {
                requests.insert((from, to, id), op);
            }
        }
        if let (Some(id), What::Deliver { .. }) = (answer_id(&msg), e.what) {
            if let Some(&asked) = requests.get(&(to, from, id)) {
                assert_eq!(op, Some(asked), "{}: the answer to a request of operation {asked}", what());
            }
        }
    }
    // A path is tens of messages; a timer or a periodic message wrongly
    // tagged would make one grow with the run.
    let longest = steps.iter().enumerate().max_by_key(|(_, n)| **n).map(|(i, n)| (i, *n));
    assert!(longest.is_none_or(|(_, n)| n <= 200), "{name}: operation {longest:?} has too long a path");
    // (One still waiting may have its request on the wire.)
    for (i, rec) in ops.iter().enumerate().filter(|(_, r)| r.complete.is_some()) {
        assert!(first_hop[i], "{name}: operation {i} ({rec:?}) has no message from its client");
    }
}

#[test]
fn every_example_attributes_each_message_to_its_operation() {
    for (name, scenario) in examples() {
        // Kafka's clients are not in the client history; the thirty-node
        // examples take long with a whole trace kept (same components).
        if name.starts_with("kafka") || name == "thirty-nodes-busy.json" || name == "large-web-tier.json" {
            continue;
        }
        check(&name, scenario);
    }
}

/// Who sent what to whom along `op`'s path, from its first step: the
/// messages' senders and receivers, and each message in words.
fn hops(path: &engine::sim::op_path::OpPath) -> Vec<String> {
    path.steps
        .iter()
        .map(|s| match (&s.from, &s.to) {
            (Some(f), Some(t)) => format!("{f}->{t} {}", s.event),
            _ => format!("{} {}", s.node.as_deref().unwrap_or("?"), s.event),
        })
        .collect()
}

#[test]
fn a_cache_miss_goes_through_the_load_balancer_the_cache_and_the_database() {
    let sim = Simulation::new(&load_example("web-cache-db.json")).unwrap();
    let path = sim.follow_op(500, 30 * SEC).unwrap();
    assert_eq!(path.record.op, engine::message::Op::Read { key: 9415 });
    assert_eq!(
        hops(&path),
        [
            "clients->lb deliver",
            "lb->app01 deliver",
            "app01->lb deliver",    // the connection accepted
            "app01->redis deliver", // GET: a miss
            "redis queued",         // behind other commands on its one thread
            "redis->app01 deliver",
            "app01->db2 deliver", // the read goes to a replica
            "db2->app01 deliver",
            "app01->lb deliver",
            "lb->clients deliver",
        ]
    );
    assert!(path.steps[3].text.contains("GET k9415"), "{}", path.steps[3].text);
    assert!(path.steps[4].text.starts_with("redis: queued: its one thread is busy;"), "{}", path.steps[4].text);
    assert!(path.steps[5].text.contains("nil (miss)"), "{}", path.steps[5].text);
    // Followed until a second after it completed.
    assert_eq!(path.until, path.record.complete.unwrap() + engine::sim::op_path::AFTER_COMPLETION);
    assert!(path.headline.starts_with("clients (client 500): read k9415 → absent, invoked at 23.407ms, ok at"));
}

#[test]
fn a_write_shows_its_replication_and_a_queued_request_its_queue() {
    let sim = Simulation::new(&load_example("web-cache-db.json")).unwrap();
    let path = sim.follow_op(87474, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(texts.iter().any(|t| t.starts_with("db2 receives replicate write")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.starts_with("db1 receives replica has applied up to write")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.contains("DEL k1731")), "{texts:#?}");

    // The rush of abandoned-queue waits in the load balancer's backend queue.
    let sim = Simulation::new(&load_example("abandoned-queue.json")).unwrap();
    let path = sim.follow_op(12541, 30 * SEC).unwrap();
    assert_eq!(path.steps[1].event, "queued");
    assert!(path.steps[1].text.starts_with("lb: queued in the backend: no server can take it now;"));
    // It waited until `lb` sent it to a server.
    let sent = path.steps[2].sent_ns.unwrap();
    assert_eq!(path.steps[2].from.as_deref(), Some("lb"));
    let waited = engine::time::format_time_short(sent - path.steps[1].t_ns);
    assert!(path.steps[1].text.ends_with(&format!("; it waited {waited}")), "{}", path.steps[1].text);
    assert_eq!(waited, "934.814ms");
    assert_eq!(path.record.outcome, engine::history::Outcome::Info);
}

#[test]
fn a_follower_read_is_confirmed_by_the_leaders_heartbeats() {
    let sim = Simulation::new(&load_example("raft-kv-partitioned-leader.json")).unwrap();
    let path = sim.follow_op(661, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(texts[0].starts_with("kv4 receives request"), "{texts:#?}");
    assert!(texts[1].starts_with("kv5 receives MsgReadIndex"), "{texts:#?}");
    // The leader's heartbeats carry the read's context, and a quorum's
    // answers confirm it: nothing else of the group's traffic.
    let heartbeats = texts.iter().filter(|t| t.contains("receives MsgHeartbeat term")).count();
    assert_eq!(heartbeats, 4, "{texts:#?}");
    assert!(texts.iter().all(|t| !t.contains("MsgApp")), "{texts:#?}");
    assert!(texts.iter().any(|t| t.starts_with("kv4 receives MsgReadIndexResp")), "{texts:#?}");
    assert!(texts.last().unwrap().starts_with("c2 receives response"), "{texts:#?}");
}

#[test]
fn following_from_a_later_state_gives_the_same_path_and_refuses_what_came_before() {
    let scenario = load_example("server-crash-failover.json");
    let from_start = Simulation::new(&scenario).unwrap().follow_op(2995, 30 * SEC).unwrap();
    let mut later = Simulation::new(&scenario).unwrap();
    later.run_until(9 * SEC);
    let from_later = later.clone().follow_op(2995, 30 * SEC).unwrap();
    assert_eq!(from_start, from_later);
    assert!(from_start.steps.iter().any(|s| s.text.contains("not received: the process is down")));
    let err = later.follow_op(10, 30 * SEC).unwrap_err();
    assert!(err.starts_with("operation 10 was invoked before this state"), "{err}");
    let err = Simulation::new(&scenario).unwrap().follow_op(4_000_000, 2 * SEC).unwrap_err();
    assert!(err.contains("4000000 is not one of them"), "{err}");
}
