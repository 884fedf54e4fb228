//! Following client operations through the system (`engine::follow`):
//! every example, every operation at once, checked for what a wrong
//! attribution would break.
mod common;
use common::*;
use engine::follow::{Followed, OpIndex, Step};
use engine::history::{LogEvent, Outcome};
use engine::kafka::wire::KafkaWire;
use engine::message::{CacheCmd, Message, NodeId, ReplCmd, RequestId};
use engine::sim::op_following::OpFollowing;
use engine::trace::{Note, TraceEvent, What};
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
        What::Deliver { from, to, msg, .. } | What::Drop { from, to, msg, .. } | What::Hold { from, to, msg, .. } => {
            Some((from, to, msg))
        }
        _ => None,
    }
}

/// Runs `scenario` until `until` with every operation followed and
/// without: the same run (trace hash), the whole trace kept. The followed
/// run, and the operation each trace event (by number) belongs to.
fn followed_run(name: &str, mut scenario: engine::Scenario, until: u64) -> (Simulation, BTreeMap<u64, OpIndex>) {
    scenario.limits.trace_events = 4_000_000;
    let mut plain = Simulation::new(&scenario).expect("valid");
    plain.run_until(until);
    let mut sim = Simulation::new(&scenario).expect("valid");
    sim.follow(None);
    sim.run_until(until);
    assert_eq!(sim.trace_hash(), plain.trace_hash(), "{name}: following changed the run");
    assert_eq!(sim.trace().discarded(), 0, "{name}: the trace must keep everything for this test");
    let follow = sim.followed().expect("on");
    assert_eq!(follow.missed, 0, "{name}");
    let tagged = follow
        .events()
        .iter()
        .filter_map(|(op, s)| match s {
            Step::Event(e) => Some((e.n, *op)),
            Step::Queued { .. } => None,
        })
        .collect();
    (sim, tagged)
}

fn check(name: &str, scenario: engine::Scenario) {
    let until = RUN.min(scenario.duration.nanos);
    let (sim, tagged) = followed_run(name, scenario, until);
    let ops = sim.history().ops();
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
        // The thirty-node examples take long with a whole trace kept (same
        // components).
        if name == "thirty-nodes-busy.json" || name == "large-web-tier.json" {
            continue;
        }
        if name.starts_with("kafka") {
            check_kafka(&name, scenario);
        } else {
            check(&name, scenario);
        }
    }
}

/// Held links hold messages of every kind, and release them in bursts:
/// each still belongs to the operation it was sent for (a load balancer's
/// link held, then the Raft members on either side of a partition held
/// instead of cut).
#[test]
fn held_links_attribute_each_message_to_its_operation() {
    let hold = |scenario: &mut engine::Scenario, pairs: &[[&str; 2]], from: u64, to: u64| {
        for (at, fault) in [(from, "hold_link"), (to, "release_link")] {
            for [a, b] in pairs {
                let f = serde_json::json!({ "at": format!("{at}ms"), "action": fault, "between": [a, b] });
                scenario.faults.push(serde_json::from_value(f).unwrap());
            }
        }
    };
    let mut web = load_example("web-three-servers.json");
    hold(&mut web, &[["lb", "web2"]], 2_000, 3_500);
    let mut raft = load_example("raft-kv-partitioned-leader.json");
    raft.faults.clear();
    let across: Vec<[&str; 2]> = ["kv1", "kv2"].iter().flat_map(|&a| ["kv3", "kv4", "kv5"].map(|b| [a, b])).collect();
    hold(&mut raft, &across, 4_000, 9_000);
    for (name, scenario) in [("web-three-servers held", web), ("raft-kv-partitioned-leader held", raft)] {
        let (sim, _) = followed_run(name, scenario.clone(), 12 * SEC);
        let held = sim.trace().events().iter().filter(|e| matches!(e.what, What::Hold { .. })).count();
        assert!(held > 100, "{name}: {held} held");
        check(name, scenario);
    }
}

/// The partition a Kafka message is about, and the record it carries.
fn kafka_partition(msg: &Message) -> Option<(u32, Option<u64>)> {
    let Message::Kafka(w) = *msg else { return None };
    match w {
        KafkaWire::Produce { partition, .. }
        | KafkaWire::ProduceReply { partition, .. }
        | KafkaWire::Fetch { partition, .. }
        | KafkaWire::FetchEnd { partition, .. }
        | KafkaWire::FetchError { partition, .. }
        | KafkaWire::FetchDiverging { partition, .. } => Some((partition, None)),
        KafkaWire::Record { partition, batch } => Some((partition, Some(batch.record.value))),
        _ => None,
    }
}

/// Kafka's sends, every one followed at once: the run is the same; a
/// message of a send's path is about its partition, a record on it is its
/// own; the cluster's housekeeping belongs to no send; each produce answer
/// belongs to the send of its request; and every acknowledged send has a
/// path.
fn check_kafka(name: &str, scenario: engine::Scenario) {
    let until = scenario.duration.nanos;
    let (sim, tagged) = followed_run(name, scenario, until);
    assert_eq!(sim.followed().unwrap().history(), Followed::KafkaSends, "{name}");
    let ops = sim.log_history().ops();
    let mut steps = vec![0u32; ops.len()];
    let mut produced: BTreeMap<(NodeId, NodeId, u64), OpIndex> = BTreeMap::new();
    for e in sim.trace().events() {
        // A partition's leader or ISR change on a send's path is its
        // partition's.
        if let (
            What::Note { note: Note::KafkaLeader { partition, .. } | Note::KafkaIsr { partition, .. }, .. },
            Some(&op),
        ) = (e.what, tagged.get(&e.n))
        {
            let LogEvent::Send { partition: sent_to, .. } = ops[op as usize].event else { panic!("{name}: a poll") };
            assert_eq!(partition, sent_to, "{name}: event {} at {} ({:?}) of send {op}", e.n, e.time, e.what);
        }
        let Some((from, to, msg)) = message(e) else { continue };
        let op = tagged.get(&e.n).copied();
        let what = || format!("{name}: event {} at {} ({:?}) of send {op:?}", e.n, e.time, e.what);
        if let Some(op) = op {
            let LogEvent::Send { partition, value, .. } = ops[op as usize].event else {
                panic!("{}: a poll is never followed", what())
            };
            steps[op as usize] += 1;
            match kafka_partition(&msg) {
                Some((p, record)) => {
                    assert_eq!(p, partition, "{}: another partition", what());
                    assert!(record.is_none_or(|v| v == value), "{}: another send's record", what());
                }
                None => assert!(
                    matches!(msg, Message::Kafka(KafkaWire::MetadataRequest | KafkaWire::PartitionLeader { .. })),
                    "{}: the cluster's housekeeping belongs to no send",
                    what()
                ),
            }
        }
        if let (Message::Kafka(KafkaWire::Produce { id, .. }), What::Deliver { .. }, Some(op)) = (msg, e.what, op) {
            produced.insert((from, to, id), op);
        }
        if let (Message::Kafka(KafkaWire::ProduceReply { id, .. }), What::Deliver { .. }) = (msg, e.what) {
            if let Some(&asked) = produced.get(&(to, from, id)) {
                assert_eq!(op, Some(asked), "{}: the answer to a request of send {asked}", what());
            }
        }
    }
    let longest = steps.iter().enumerate().max_by_key(|(_, n)| **n).map(|(i, n)| (i, *n));
    assert!(longest.is_none_or(|(_, n)| n <= 200), "{name}: send {longest:?} has too long a path");
    let acknowledged = ops.iter().enumerate().filter(|(_, r)| {
        r.outcome == Outcome::Ok
            && matches!(r.event, LogEvent::Send { offset: Some(_), .. })
            && r.complete < Some(until)
    });
    for (i, rec) in acknowledged {
        assert!(steps[i] > 0, "{name}: send {i} ({rec:?}) was acknowledged with no step on its path");
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
    assert!(path.headline.contains("read k9415"), "{}", path.headline);
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
    assert_eq!(path.until, path.complete.unwrap() + engine::sim::op_path::AFTER_COMPLETION);
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
    assert_eq!(path.outcome, engine::history::Outcome::Info);
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

/// A server marked DOWN while a request is on it is a step of the
/// request's path: here the load balancer goes on retrying web2 after it
/// is DOWN (HAProxy retries the same server unless `option redispatch`).
#[test]
fn a_server_marked_down_is_a_step_of_the_requests_on_it() {
    let scenario = load_example("server-crash-failover.json");
    let path = Simulation::new(&scenario).unwrap().follow_op(3670, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    let down = texts.iter().position(|t| t.starts_with("lb: server web2 is DOWN, reason: Layer4 connection problem"));
    let first = texts.iter().position(|t| *t == "lb: connection to web2 failed (attempt 1); retrying");
    let second = texts.iter().position(|t| *t == "lb: connection to web2 failed (attempt 2); retrying");
    assert!(first < down && down < second && first.is_some(), "{texts:#?}");
    // The health checks before it change nothing for the request: not
    // on its path.
    assert!(texts.iter().all(|t| !t.contains("health check of web2 failed")), "{texts:#?}");
}

/// A server coming UP is a step of the requests in its backend's queue
/// (every server was full): it takes them. `abandoned-queue` with web2
/// crashed in the rush and restarted.
#[test]
fn a_server_coming_up_is_a_step_of_the_requests_queued_in_its_backend() {
    let path = format!("{}/scenarios/abandoned-queue.json", env!("CARGO_MANIFEST_DIR"));
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["duration"] = serde_json::json!("20s");
    v["faults"] = serde_json::json!([
        { "at": "12s", "action": "crash", "node": "web2" },
        { "at": "15s", "action": "restart", "node": "web2" },
    ]);
    let (sim, tagged) = followed_run("abandoned-queue with web2 restarted", scenario(v.clone()), 20 * SEC);
    let up = sim.trace().events().iter().find(|e| matches!(e.what, What::Note { note: Note::ServerUp { .. }, .. }));
    let up = up.expect("web2 came back UP");
    assert!(tagged.contains_key(&up.n), "the UP note is a step of a queued request");
    // Followed one at a time, the requests invoked in the second before
    // it (their clients have not given up yet): the first with the note
    // was waiting in the backend queue then.
    let mut before = Simulation::new(&scenario(v)).unwrap();
    before.run_until(up.time - 1_500 * MS);
    let recent = sim.history().ops().iter().enumerate().filter(|(_, r)| r.invoke + SEC > up.time && r.invoke < up.time);
    let with_up = recent.take(200).find_map(|(op, _)| {
        let path = before.clone().follow_op(op as u32, 20 * SEC).unwrap();
        let texts: Vec<String> = path.steps.iter().map(|s| s.text.clone()).collect();
        let at_up = texts.iter().position(|t| t.starts_with("lb: server web2 is UP"))?;
        Some((path, at_up, texts))
    });
    let (path, at_up, texts) = with_up.expect("a request queued when web2 came UP has it on its path");
    let queued = texts.iter().position(|t| t.starts_with("lb: queued in the backend: no server can take it now"));
    assert!(queued.is_some_and(|q| q < at_up), "{texts:#?}");
    // Still waiting then.
    let left = path.steps[queued.unwrap()].until_ns;
    assert!(left.is_none_or(|t| t >= up.time), "{texts:#?}");
}

/// A node that crashes holding a request: its crash is a step of the
/// request's path (the semi-synchronous primary waiting for a replica's
/// acknowledgement, cut off from both, then killed).
#[test]
fn a_crash_is_a_step_of_the_requests_the_node_holds() {
    let scenario = load_example("db-semi-sync-failover.json");
    let path = Simulation::new(&scenario).unwrap().follow_op(2158, scenario.duration.nanos).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts.iter().filter(|t| t.ends_with("blocked by a partition")).count(), 2, "{texts:#?}");
    let crashed = texts.iter().position(|t| *t == "db1 crashed").expect("db1's crash on the path");
    assert_eq!(path.steps[crashed].event, "node");
    assert!(texts[crashed + 1].starts_with("connection closed by the sender of request #"), "{texts:#?}");
    // A node that does not hold it: its crash is not a step.
    let scenario = load_example("server-crash-failover.json");
    let path = Simulation::new(&scenario).unwrap().follow_op(2995, 30 * SEC).unwrap();
    assert!(path.steps.iter().all(|s| s.text != "web2 crashed"), "{:#?}", path.steps);
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

/// Followed a hundred events at a time (as the lab does over frames):
/// the same path as at once, whether it ends with the operation or at the
/// limit, part way through it.
#[test]
fn following_in_pieces_gives_the_same_path_as_at_once() {
    for (file, op) in
        [("server-crash-failover.json", 2995), ("kafka-three-brokers.json", 100), ("raft-kv-five.json", 2587)]
    {
        let sim = Simulation::new(&load_example(file)).unwrap();
        let whole = sim.clone().follow_op(op, 30 * SEC).unwrap();
        let done = whole.complete.expect("it completes");
        let part_way = whole.invoke + (done - whole.invoke) / 2;
        for limit in [30 * SEC, part_way] {
            let at_once = sim.clone().follow_op(op, limit).unwrap();
            assert_eq!(at_once.complete.is_some(), limit == 30 * SEC, "{file} {op}");
            let mut following = OpFollowing::new(sim.clone(), op, limit).unwrap();
            let (mut pieces, mut covered) = (0, 0);
            while !following.advance(97) {
                pieces += 1;
                let (now, most) = following.progress();
                assert!(covered <= now && now <= most, "{file} {op}: {now} of {most} after {covered}");
                covered = now;
            }
            assert!(pieces > 1, "{file} {op}: {pieces} pieces");
            let (now, most) = following.progress();
            assert_eq!(now, most);
            assert_eq!(following.path().unwrap(), at_once, "{file} {op} until {limit}");
        }
    }
}

#[test]
fn an_acks_all_send_is_answered_once_both_followers_have_fetched_past_it() {
    let sim = Simulation::new(&load_example("kafka-three-brokers.json")).unwrap();
    let path = sim.follow_op(100, 30 * SEC).unwrap();
    assert_eq!(path.history, Followed::KafkaSends);
    assert!(path.headline.starts_with("producer: send of record 13 to partition 2, invoked at 28.644ms"));
    assert_eq!(
        hops(&path),
        [
            "producer queued", // five requests in flight to b3 already
            "producer->b3 deliver",
            "b3->b2 deliver", // the record, in the answer to b2's fetch
            "b3->b2 deliver", // the answer's end
            "b2->b3 deliver", // b2's next fetch, from past the record
            "b3->b1 deliver",
            "b3->b1 deliver",
            "b1->b3 deliver",
            "b3->producer deliver", // acknowledged: both followers have it
            "b3->consumer deliver", // the consumer reads it (up to the high watermark)
            "b3->consumer deliver",
            "consumer->b3 deliver",
        ]
    );
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(texts[0].contains("5 requests to b3 are in flight (max.in.flight.requests.per.connection)"));
    assert!(texts[2].starts_with("b2 receives record p2@13 (epoch 0) = producer's record 13 from b3"), "{texts:#?}");
    assert!(texts[4].starts_with("b3 receives replica Fetch p2 from offset 14"), "{texts:#?}");
    assert!(texts[7].starts_with("b3 receives replica Fetch p2 from offset 14"), "{texts:#?}");
    assert!(texts[8].starts_with("producer receives Produce answer p2: offset 11"), "{texts:#?}");
}

#[test]
fn a_lost_acks_1_write_was_answered_before_any_follower_had_it() {
    let scenario = load_example("kafka-acks1-loss.json");
    let mut sim = Simulation::new(&scenario).unwrap();
    sim.run_through(scenario.duration.nanos);
    let finals = sim.final_reads().expect("the log is checked");
    let lost = finals.consistency.log.expect("a log").anomalies.lost.examples[0].op as u32;
    // The slowest send waited out b1's death: its batch's retries, and the
    // metadata naming the leader it kept trying.
    let slowest = sim.slowest_op().unwrap();
    let path = Simulation::new(&scenario).unwrap().follow_op(slowest, scenario.duration.nanos).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(
        texts.contains(&"producer receives Metadata: p0 led by b1 (epoch 0) from b3 (sent at 10.108s)"),
        "{texts:#?}"
    );
    assert!(texts.iter().any(|t| t.contains("retrying a batch of 5 records (retry 13)")), "{texts:#?}");

    let path = Simulation::new(&scenario).unwrap().follow_op(lost, scenario.duration.nanos).unwrap();
    assert_eq!(hops(&path), ["producer->b1 deliver", "b1->producer deliver"]);
    assert!(path.steps[1].text.starts_with("producer receives Produce answer p0: offset 4946"), "{:?}", path.steps);
    assert!(path.headline.contains("acknowledged at offset 4946"), "{}", path.headline);
    // b1 died at 10 s, before b2 or b3 fetched it.
    assert!(path.complete.unwrap() < 10 * SEC);

    // A poll has no path of its own.
    let poll = sim.log_history().ops().iter().position(|r| matches!(r.event, LogEvent::Poll { .. })).unwrap();
    let err = Simulation::new(&scenario).unwrap().follow_op(poll as u32, 30 * SEC).unwrap_err();
    assert!(err.ends_with("is a consumer's poll; a path follows a producer's send"), "{err}");
}

#[test]
fn a_write_stalled_by_cut_off_followers_is_answered_after_the_isr_shrinks() {
    let sim = Simulation::new(&load_example("kafka-unclean-election.json")).unwrap();
    let path = sim.follow_op(901, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    // The record cannot reach b2 or b3; after replica.lag.time.max.ms the
    // leader drops them from the ISR, which is the note on this write's
    // path, and the write is answered.
    let shrunk =
        texts.iter().position(|t| t.starts_with("b1: kafka: partition 0 ISR is now [b1] (shrunk by the leader"));
    let answered = texts.iter().position(|t| t.starts_with("producer receives Produce answer p0: offset 477"));
    assert!(shrunk.is_some() && shrunk.map(|s| s + 1) == answered, "{texts:#?}");
    assert!(
        texts.iter().any(|t| t.starts_with("record p0@477") && t.ends_with("blocked by a partition")),
        "{texts:#?}"
    );
    // One record, in words.
    assert!(
        texts.contains(&"Fetch answer p0: 1 record, high watermark 477 from b1 to b3 blocked by a partition"),
        "{texts:#?}"
    );
}

/// A send queued while its partition's leader is down waits for the
/// controller: the fencing of the old leader, the new leader taking over
/// and the metadata answer that tells the producer are steps of its path
/// (the other partitions' new leaders, and answers that repeat what the
/// producer was told before, are not).
#[test]
fn a_send_waiting_through_a_failover_shows_the_fence_and_its_new_leader() {
    let scenario = load_example("kafka-three-brokers.json");
    let mut sim = Simulation::new(&scenario).unwrap();
    sim.run_until(scenario.duration.nanos);
    let slowest = sim.slowest_op().unwrap();
    let path = Simulation::new(&scenario).unwrap().follow_op(slowest, scenario.duration.nanos).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(
        path.headline.starts_with("producer: send of record 5127 to partition 3, invoked at 10.003s"),
        "{}",
        path.headline
    );
    assert!(
        texts[0].starts_with("producer: queued in the producer's buffer: it does not know the partition's leader yet")
    );
    assert_eq!(texts[1], "ctl2: kafka: broker b1 fenced: no heartbeat for broker.session.timeout.ms (9s)");
    assert!(texts[2].starts_with("b2: kafka: leader of partition 3 in leader epoch 1, ISR [b2, b3]"), "{texts:#?}");
    assert!(texts[3].starts_with("producer receives Metadata: p3 led by b2 (epoch 1) from "), "{texts:#?}");
    assert!(texts[4].starts_with("b2 receives Produce p3: "), "{texts:#?}");
    assert_eq!(texts.iter().filter(|t| t.contains("kafka: leader of partition")).count(), 1, "{texts:#?}");
    assert_eq!(texts.iter().filter(|t| t.contains("Metadata")).count(), 1, "{texts:#?}");
    // The same from a later state (the lab's checkpoint): what is news to
    // the producer is its own state, not when following began.
    let mut later = Simulation::new(&scenario).unwrap();
    later.run_until(9 * SEC);
    assert_eq!(later.follow_op(slowest, scenario.duration.nanos).unwrap(), path);
    // The controller's other work (the metadata it sends the brokers) is
    // not the send's.
    assert!(texts.iter().all(|t| !t.contains("metadata log entry")), "{texts:#?}");
}

/// A step said again and again (a follower's fetch blocked by a partition
/// every 1.5 s) is one step that says how often and when last, so the
/// path of an acks=all write held 21 s while the ISR is below
/// min.insync.replicas stays readable.
#[test]
fn a_step_repeated_is_folded_into_its_first() {
    let sim = Simulation::new(&load_example("kafka-isr-shrink.json")).unwrap();
    let path = sim.follow_op(12014, 75 * SEC).unwrap();
    assert!(path.headline.ends_with("acknowledged at offset 8003 at 61.004s, after 21.015s"), "{}", path.headline);
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    let blocked: Vec<&str> = texts.iter().copied().filter(|t| t.contains("blocked by a partition")).collect();
    assert_eq!(
        blocked,
        [
            "replica Fetch p0 from offset 8005 (leader epoch 0) from b2 to b1 blocked by a partition (14 times, the last at +19.509s)",
            "replica Fetch p0 from offset 8005 (leader epoch 0) from b3 to b1 blocked by a partition (13 times, the last at +19.506s)",
        ]
    );
    let distinct: std::collections::BTreeSet<&str> = texts.iter().copied().collect();
    assert_eq!(distinct.len(), texts.len(), "{texts:#?}");
    assert_eq!(texts.len(), 16, "{texts:#?}");
}

#[test]
fn a_commit_in_consumer_offsets_is_described_as_one() {
    let mut sim = Simulation::new(&load_example("kafka-rebalance-duplicates.json")).unwrap();
    sim.run_until(6 * SEC);
    // The group's commits replicate as records of the offsets partition
    // (p4, after the topic's four).
    let commit =
        sim.trace().events().iter().map(|e| sim.trace_line(e).text).find(|t| t.contains(" receives record p4@"));
    let commit = commit.expect("a commit replicated");
    assert!(commit.contains(" (epoch 0) = group 0's commit: p"), "{commit}");
    assert!(commit.contains(" next offset "), "{commit}");
}

#[test]
fn a_write_behind_write_is_followed_to_the_flush_that_persists_it() {
    let scenario = load_example("write-behind-crash.json");
    // Operation 183 is the last write to k4 before the first flush, at 1 s.
    let path = Simulation::new(&scenario).unwrap().follow_op(183, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    let flushed = "db receives request #6946815 write k4=248952760283369 / from app_w (sent at 1s)";
    assert!(texts.contains(&flushed), "{texts:#?}");
    assert!(texts.last().unwrap().starts_with("app_w receives response #6946815 200 from db"), "{texts:#?}");
    // An earlier write to k4 was replaced in the buffer before the flush:
    // the database never got it, and its path ends with its answer.
    let path = Simulation::new(&scenario).unwrap().follow_op(1, 30 * SEC).unwrap();
    assert!(path.steps.iter().all(|s| !s.text.starts_with("db ")), "{:#?}", path.steps);
    assert!(path.steps.last().unwrap().text.starts_with("writer receives response"));
}

/// A read forwarded to a leader that has died waits at its follower
/// until the follower's election timeout runs out: the follower's new
/// role and term are steps of the read's path, and they explain its 503
/// (a new term drops the reads the old leader had not confirmed).
#[test]
fn a_raft_members_new_term_is_a_step_of_the_requests_waiting_there() {
    let scenario = load_example("raft-kv-leader-crash.json");
    let path = Simulation::new(&scenario).unwrap().follow_op(364, scenario.duration.nanos).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(
        texts[1].starts_with("MsgReadIndex: read #")
            && texts[1].ends_with("from kv2 to kv1 not received: the process is down")
    );
    let n = texts.len();
    assert!(texts[n - 3].starts_with("kv2: raft: pre-candidate in term 1 (its election timeout ran out"), "{texts:#?}");
    assert_eq!(texts[n - 2], "kv2: raft: candidate in term 2 (pre-votes from 2 of 3)");
    assert!(texts[n - 1].starts_with("c2 receives response #") && texts[n - 1].contains(" 503 from kv2"), "{texts:#?}");
    // Its leadership, won after the read was answered, is not.
    assert!(texts.iter().all(|t| !t.contains("leader in term 2")), "{texts:#?}");
}

#[test]
fn a_raft_write_is_answered_once_a_quorum_has_acknowledged_its_entry() {
    let sim = Simulation::new(&load_example("raft-kv-five.json")).unwrap();
    let path = sim.follow_op(2587, 30 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert!(texts[0].starts_with("kv1 receives request #648019969 write k672="), "{texts:#?}");
    // The leader appends entry 102 to the four followers, and each
    // acknowledges it; nothing else of the group's traffic.
    let appends = texts.iter().filter(|t| t.contains("receives MsgApp term 1: entry 102 after")).count();
    let acks: Vec<usize> =
        (0..texts.len()).filter(|&i| texts[i].starts_with("kv1 receives MsgAppResp term 1: has up to 102")).collect();
    assert_eq!((appends, acks.len(), texts.len()), (4, 4, 10), "{texts:#?}");
    // Answered after the second acknowledgement: with the leader's own
    // copy, three of five (a majority) have it.
    let answered = texts.iter().position(|t| t.starts_with("c1 receives response #648019969 200")).unwrap();
    assert!(answered > acks[1], "{texts:#?}");
}

/// A request held at a held link: its wait there is a step, and the
/// release delivers it as the next.
#[test]
fn a_held_link_is_a_step_of_the_request_it_holds() {
    let mut v = client_server(100.0);
    v["faults"] = serde_json::json!([
        { "at": "1s", "action": "hold_link", "between": ["c", "s"] },
        { "at": "1300ms", "action": "release_link", "between": ["c", "s"] }
    ]);
    let mut probe = sim(v.clone());
    probe.run_until(2 * SEC);
    let op = probe.history().ops().iter().position(|o| o.invoke > 1100 * MS).unwrap() as OpIndex;
    let path = sim(v).follow_op(op, 2 * SEC).unwrap();
    let texts: Vec<&str> = path.steps.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(path.steps.len(), 4, "{texts:#?}");
    assert_eq!(path.steps[0].event, "hold");
    assert!(texts[0].ends_with(" from c to s held: the link is held, it waits until released"), "{texts:#?}");
    assert_eq!(path.steps[1].t_ns, 1300 * MS);
    assert!(texts[1].starts_with("s receives request #"), "{texts:#?}");
    // The release brings every held request at once: it queues.
    assert!(texts[2].starts_with("s: queued: all 2 workers are busy"), "{texts:#?}");
    assert!(texts[3].starts_with("c receives response #"), "{texts:#?}");
}
