//! Redis primary-replica replication of cache nodes, shown in the recorded
//! client history: stale reads from a lagging replica, WAIT's counts,
//! `min-replicas-to-write` refusing writes under a partition, failover by
//! hand and by sentinels losing acknowledged writes, what the sentinels'
//! failure detectors make of a crashed primary, and a primary that
//! restarts empty wiping its replicas. Scripted clients talk to the caches
//! directly (GET and SET, and WAIT after each write when asked).
mod common;
use common::*;
use engine::components::cache::{CacheRole, CacheView};
use engine::failure_detector::Liveness;
use engine::history::{OpRecord, Outcome};
use engine::message::{Message, Op};
use engine::sim::Detail;
use engine::trace::{Note, What};
use engine::Simulation;
use serde_json::{json, Value};

/// Builds the run; with `DUMP_SCENARIOS=dir` set, also writes the
/// scenario there (to run it with the CLI and read its trace).
fn sim(v: Value) -> Simulation {
    if let Ok(dir) = std::env::var("DUMP_SCENARIOS") {
        let name = std::thread::current().name().unwrap_or("scenario").replace("::", "_");
        std::fs::write(format!("{dir}/{name}.json"), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
    common::sim(v)
}

fn cache(sim: &Simulation, name: &str) -> CacheView {
    match sim.node_state(sim.node_id(name).unwrap()).detail {
        Detail::Cache(c) => c,
        other => panic!("{name}: {other:?}"),
    }
}

/// The ops of client `name`, in invocation order.
fn ops_of<'a>(sim: &'a Simulation, name: &str) -> Vec<&'a OpRecord> {
    let id = sim.node_id(name).unwrap();
    sim.history().ops().iter().filter(|o| o.node == id).collect()
}

fn notes(sim: &Simulation) -> Vec<(u64, String, Note)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { node, note } => Some((e.time, sim.node_name(node).to_string(), note)),
            _ => None,
        })
        .collect()
}

fn script(items: &[(&str, Value)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(at, v)| {
                let mut o = v.clone();
                o["at"] = json!(at);
                o
            })
            .collect(),
    )
}

fn w(key: u32, value: u64) -> Value {
    json!({ "write": key, "value": value })
}
fn r(key: u32) -> Value {
    json!({ "read": key })
}

/// A primary `c1` with replica `c2`; a writer on the primary (WAIT 1
/// 100ms after each write unless `wait` is null), a reader on the replica.
fn pair(redis1: Value, writes: Value, reads: Value, wait: Value, faults: Value) -> Value {
    let mut c2 = json!({ "replicaof": "c1" });
    for (k, v) in redis1.as_object().unwrap() {
        c2[k] = v.clone();
    }
    let mut writer = json!({ "name": "writer", "type": "client", "target": "c1", "timeout": "2s",
                             "workload": { "kind": "script", "requests": writes } });
    if !wait.is_null() {
        writer["wait"] = wait;
    }
    json!({
        "version": 1,
        "seed": 7,
        "duration": "60s",
        "nodes": [
            { "name": "c1", "type": "cache", "redis": redis1 },
            { "name": "c2", "type": "cache", "redis": c2 },
            writer,
            { "name": "reader", "type": "client", "target": "c2", "timeout": "2s",
              "workload": { "kind": "script", "requests": reads } }
        ],
        "links": [
            { "between": ["writer", "c1"], "latency": "1ms" },
            { "between": ["reader", "c2"], "latency": "1ms" },
            { "between": ["c1", "c2"], "latency": "2ms" }
        ],
        "faults": faults
    })
}

fn default_wait() -> Value {
    json!({ "replicas": 1, "timeout": "100ms" })
}

#[test]
fn a_lagging_replica_serves_stale_reads() {
    // The replica is in sync by 6 s (full sync after the 5 s diskless
    // delay); the link is cut from 10 s to 20 s.
    let v = pair(
        json!({}),
        script(&[("7s", w(1, 100)), ("12s", w(1, 200))]),
        script(&[("8s", r(1)), ("13s", r(1)), ("18s", r(1)), ("22s", r(1))]),
        Value::Null,
        json!([
            { "at": "10s", "action": "cut_link", "between": ["c1", "c2"] },
            { "at": "20s", "action": "heal_link", "between": ["c1", "c2"] }
        ]),
    );
    let mut sim = sim(v);
    sim.run_through(25 * SEC);
    let writes = ops_of(&sim, "writer");
    assert!(writes.iter().all(|o| o.outcome == Outcome::Ok), "{writes:?}");
    let reads: Vec<Option<u64>> = ops_of(&sim, "reader").iter().map(|o| o.value).collect();
    // 13 s and 18 s: after the write of 200 was acknowledged (12 s), the
    // replica still answers 100: stale reads. After the heal it catches
    // up (retransmission from the primary's backlog).
    assert_eq!(reads, vec![Some(100), Some(100), Some(100), Some(200)]);
    let stale = ops_of(&sim, "reader")[1];
    assert!(stale.invoke > writes[1].complete.unwrap(), "the stale read began after the write completed");
    let c2 = cache(&sim, "c2");
    assert_eq!(c2.link, "up");
    assert_eq!(c2.master_repl_offset, cache(&sim, "c1").master_repl_offset);
    assert_eq!(c2.role, CacheRole::Replica { of: 0 });
    // A 10 s cut is under repl-timeout (60 s): no resynchronisation.
    assert_eq!(cache(&sim, "c1").sync.sync_full, 1);
    assert_eq!(cache(&sim, "c1").sync.sync_partial_ok, 0);
}

#[test]
fn replicas_refuse_writes_with_readonly() {
    let mut v = pair(json!({}), script(&[("7s", w(1, 1))]), script(&[("8s", r(1))]), Value::Null, json!([]));
    // The reader writes to the replica too.
    v["nodes"][3]["workload"]["requests"] = script(&[("8s", w(1, 5)), ("9s", r(1))]);
    let mut sim = sim(v);
    sim.run_through(10 * SEC);
    let ops = ops_of(&sim, "reader");
    assert_eq!(ops[0].outcome, Outcome::Fail, "READONLY: definitely not applied");
    assert_eq!(ops[1].value, Some(1));
    let readonly = sim.trace().events().iter().any(|e| {
        matches!(
            e.what,
            What::Deliver {
                msg: Message::CacheReply {
                    reply: engine::message::CacheReply::Error { error: engine::message::CacheError::ReadOnly },
                    ..
                },
                ..
            }
        )
    });
    assert!(readonly, "the replica answered -READONLY");
}

#[test]
fn wait_reports_how_many_replicas_acknowledged() {
    let v = pair(
        json!({}),
        // 1 s: before the first full sync completes (5 s delay); 7 s: in
        // sync; 12 s: the link is cut.
        script(&[("1s", w(1, 1)), ("7s", w(1, 2)), ("12s", w(1, 3)), ("16s", w(1, 4))]),
        script(&[("30s", r(1))]),
        default_wait(),
        json!([
            { "at": "10s", "action": "cut_link", "between": ["c1", "c2"] },
            { "at": "15s", "action": "heal_link", "between": ["c1", "c2"] }
        ]),
    );
    let mut sim = sim(v);
    sim.run_through(20 * SEC);
    let acks: Vec<(Outcome, Option<u64>)> = ops_of(&sim, "writer").iter().map(|o| (o.outcome, o.value)).collect();
    assert_eq!(
        acks,
        vec![(Outcome::Ok, Some(0)), (Outcome::Ok, Some(1)), (Outcome::Ok, Some(0)), (Outcome::Ok, Some(1))]
    );
    // A WAIT that times out takes its timeout.
    let third = ops_of(&sim, "writer")[2];
    assert!(third.complete.unwrap() - third.invoke >= 100 * MS);
}

#[test]
fn min_replicas_to_write_refuses_writes_under_a_partition() {
    let redis = json!({ "min_replicas_to_write": 1, "min_replicas_max_lag": 10 });
    let writes: Vec<(String, Value)> = (0..30).map(|i| (format!("{}s", 7 + i), w(1, 100 + i as u64))).collect();
    let writes: Vec<(&str, Value)> = writes.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
    let v = pair(
        redis,
        script(&writes),
        script(&[("40s", r(1))]),
        Value::Null,
        json!([
            { "at": "10s", "action": "partition", "groups": [["c1", "writer"], ["c2", "reader"]] },
            { "at": "30s", "action": "heal" }
        ]),
    );
    let mut sim = sim(v);
    sim.run_through(45 * SEC);
    let ops = ops_of(&sim, "writer");
    let outcome_at = |s: u64| ops.iter().find(|o| o.invoke == s * SEC).unwrap().outcome;
    assert_eq!(outcome_at(9), Outcome::Ok);
    // The last ACK came just before 10 s: lag <= 10 s keeps the replica
    // good until 20 or 21 s (whole seconds of the primary's clock).
    assert_eq!(outcome_at(19), Outcome::Ok);
    for s in 22..30 {
        assert_eq!(outcome_at(s), Outcome::Fail, "write at {s}s: -NOREPLICAS");
    }
    assert_eq!(outcome_at(33), Outcome::Ok, "the replica is back");
    let noreplicas = sim.trace().events().iter().any(|e| {
        matches!(
            e.what,
            What::Deliver {
                msg: Message::CacheReply {
                    reply: engine::message::CacheReply::Error { error: engine::message::CacheError::NoReplicas },
                    ..
                },
                ..
            }
        )
    });
    assert!(noreplicas);
    // The refused writes never reached the replica: the last value read is
    // the last accepted write.
    let last_ok = ops.iter().rev().find(|o| o.outcome == Outcome::Ok).unwrap();
    let Op::Write { value, .. } = last_ok.op else { panic!() };
    assert_eq!(ops_of(&sim, "reader")[0].value, Some(value));
}

#[test]
fn a_primary_that_restarts_empty_wipes_its_replica() {
    let v = pair(
        json!({}),
        script(&[("7s", w(1, 1)), ("7.1s", w(2, 2))]),
        script(&[("9s", r(1)), ("13s", r(1)), ("20s", r(1))]),
        Value::Null,
        json!([
            { "at": "10s", "action": "crash", "node": "c1" },
            { "at": "12s", "action": "restart", "node": "c1" }
        ]),
    );
    let mut sim = sim(v);
    sim.run_through(25 * SEC);
    let reads: Vec<Option<u64>> = ops_of(&sim, "reader").iter().map(|o| o.value).collect();
    // While the primary is down and just after it restarts, the replica
    // serves its data (replica-serve-stale-data yes); once the full
    // resync (5 s diskless delay) completes, the empty dataset replaces
    // it.
    assert_eq!(reads, vec![Some(1), Some(1), None]);
    assert_eq!(cache(&sim, "c2").keys, 0);
    let n = notes(&sim);
    assert!(n
        .iter()
        .any(|(t, who, note)| who == "c2" && *t > 12 * SEC && matches!(note, Note::RdbLoaded { keys: 0, .. })));
    assert!(n.iter().any(|(_, who, note)| who == "c2" && matches!(note, Note::ReplLinkDown { .. })));
    assert_eq!(cache(&sim, "c1").sync.sync_partial_err, 1, "the replica asked to continue; the new id refused");
}

#[test]
fn promotion_by_hand_loses_writes_the_replica_never_got_and_the_old_primary_follows() {
    let mut v = pair(
        json!({}),
        // 12 s: acknowledged by the primary while the replica is cut off.
        script(&[("7s", w(1, 1)), ("12s", w(1, 2)), ("16s", w(2, 3))]),
        script(&[("20s", r(1))]),
        default_wait(),
        json!([
            { "at": "10s", "action": "cut_link", "between": ["c1", "c2"] },
            { "at": "13s", "action": "promote", "node": "c2" },
            { "at": "14s", "action": "heal_link", "between": ["c1", "c2"] },
            { "at": "15s", "action": "replica_of", "node": "c1", "primary": "c2" }
        ]),
    );
    // The writer follows the primary the group announces.
    v["nodes"][2]["follow_primary"] = json!(true);
    v["links"].as_array_mut().unwrap().push(json!({ "between": ["writer", "c2"], "latency": "1ms" }));
    let mut sim = sim(v);
    sim.run_through(25 * SEC);
    let writes = ops_of(&sim, "writer");
    assert_eq!((writes[1].outcome, writes[1].value), (Outcome::Ok, Some(0)), "acknowledged; WAIT said 0 replicas");
    assert_eq!(writes[2].outcome, Outcome::Ok, "the writer now writes to c2");
    // The write of 2 is lost: the new primary never had it, and the old
    // primary's full resync discarded it.
    assert_eq!(ops_of(&sim, "reader")[0].value, Some(1));
    let c1 = cache(&sim, "c1");
    assert_eq!(c1.role, CacheRole::Replica { of: 1 });
    assert_eq!(c1.link, "up");
    let k1 = sim.node(0);
    let engine::components::Component::Cache(c) = &k1.component else { panic!() };
    assert_eq!(c.keyspace().unwrap().peek(b"k1").map(|(v, _)| v.to_vec()), Some(b"1".to_vec()));
    assert_eq!(cache(&sim, "c2").sync.sync_full, 1, "the old primary had writes beyond the promotion: full");
    assert_eq!(cache(&sim, "c2").role, CacheRole::Primary);
}

/// Three caches, three sentinels (quorum 2, down after 3 s), a writer
/// that follows the announced primary and a reader on `c3`.
fn sentinel_group(faults: Value, writes: Value) -> Value {
    let sentinel = |name: &str| {
        json!({ "name": name, "type": "sentinel", "monitor": "c1", "quorum": 2,
                "down_after": "3s", "failover_timeout": "20s" })
    };
    let mut links = vec![];
    let all = ["c1", "c2", "c3", "s1", "s2", "s3"];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            links.push(json!({ "between": [a, b], "latency": "2ms" }));
        }
    }
    for c in ["c1", "c2", "c3"] {
        links.push(json!({ "between": ["writer", c], "latency": "1ms" }));
    }
    links.push(json!({ "between": ["reader", "c3"], "latency": "1ms" }));
    links.push(json!({ "between": ["s1", "writer"], "latency": "1ms" }));
    json!({
        "version": 1,
        "seed": 9,
        "duration": "60s",
        "nodes": [
            { "name": "c1", "type": "cache" },
            { "name": "c2", "type": "cache", "redis": { "replicaof": "c1" } },
            { "name": "c3", "type": "cache", "redis": { "replicaof": "c1", "replica_priority": 50 } },
            sentinel("s1"), sentinel("s2"), sentinel("s3"),
            { "name": "writer", "type": "client", "target": "c1", "follow_primary": true, "timeout": "1s",
              "wait": { "replicas": 1, "timeout": "50ms" },
              "workload": { "kind": "script", "requests": writes } },
            { "name": "reader", "type": "client", "target": "c3", "timeout": "1s",
              "workload": { "kind": "script", "requests": script(&[("40s", r(1))]) } }
        ],
        "links": links,
        "faults": faults
    })
}

/// The sentinel group with the writer writing key 1 every second from 7 s
/// (values 100, 101, ...), while c1 and the writer are cut off from the
/// rest from 10 s to 25 s.
fn cut_off_primary_with_its_writer() -> Value {
    let writes: Vec<(String, Value)> = (0..25).map(|i| (format!("{}s", 7 + i), w(1, 100 + i as u64))).collect();
    let writes: Vec<(&str, Value)> = writes.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
    sentinel_group(
        json!([
            { "at": "10s", "action": "partition", "groups": [["c1", "writer"], ["c2", "c3", "s1", "s2", "s3", "reader"]] },
            { "at": "25s", "action": "heal" }
        ]),
        script(&writes),
    )
}

#[test]
fn sentinels_fail_over_and_the_old_primary_loses_its_writes() {
    // c1 and the writer are cut off from the rest at 10 s; the writer
    // keeps writing to c1 (it cannot hear the sentinels), which
    // acknowledges; the sentinels promote c3 (priority 50); at 25 s the
    // partition heals: the writer follows c3 and the sentinels turn c1
    // into a replica of c3, discarding its writes.
    let v = cut_off_primary_with_its_writer();
    let mut sim = sim(v);
    sim.run_through(45 * SEC);
    let n = notes(&sim);
    let find = |pred: &dyn Fn(&Note) -> bool| n.iter().find(|(_, _, note)| pred(note)).cloned();
    let odown = find(&|x| matches!(x, Note::Odown { .. })).expect("+odown");
    assert!(odown.0 >= 13 * SEC, "not before down_after: {odown:?}");
    let switch = find(&|x| matches!(x, Note::SwitchMaster { .. })).expect("+switch-master");
    assert!(matches!(switch.2, Note::SwitchMaster { from: 0, to: 2, .. }), "{switch:?}: c3 has the best priority");
    assert!(
        find(&|x| matches!(x, Note::ConvertingToReplica { node: 0 })).is_some() || {
            // Or the failover's own REPLICAOF reached it after the heal.
            cache(&sim, "c1").role == CacheRole::Replica { of: 2 }
        }
    );
    assert_eq!(cache(&sim, "c1").role, CacheRole::Replica { of: 2 });
    assert_eq!(cache(&sim, "c3").role, CacheRole::Primary);
    assert_eq!(cache(&sim, "c2").role, CacheRole::Replica { of: 2 });
    // After the heal the old primary's replicas, following c3 now, reset
    // its links; the event log says so.
    let said: Vec<String> = sim.trace().events().iter().map(|e| sim.trace_line(e).text).collect();
    assert!(said.contains(&"c1: dropped replica c2 (it closed the connection)".to_string()), "{said:#?}");
    // Writes acknowledged by c1 during the partition (WAIT: 0 replicas)
    // are lost: the reader on c3 never sees them.
    let writes = ops_of(&sim, "writer");
    let acked_alone: Vec<u64> = writes
        .iter()
        .filter(|o| o.outcome == Outcome::Ok && o.value == Some(0) && o.invoke > 11 * SEC && o.invoke < 25 * SEC)
        .map(|o| match o.op {
            Op::Write { value, .. } => value,
            _ => unreachable!(),
        })
        .collect();
    assert!(acked_alone.len() >= 10, "{acked_alone:?}");
    let read = ops_of(&sim, "reader")[0].value.unwrap();
    assert!(!acked_alone.contains(&read), "read {read}: one of the lost writes?");
    assert_eq!(read, 124, "the last write (31 s) went to c3");
    let c1 = sim.node(0);
    let engine::components::Component::Cache(c) = &c1.component else { panic!() };
    let v1 = c.keyspace().unwrap().peek(b"k1").map(|(v, _)| String::from_utf8(v.to_vec()).unwrap());
    assert_eq!(v1, Some(read.to_string()), "the old primary now has the new primary's data");
}

#[test]
fn sentinels_see_a_crashed_primary_alive_then_suspected_then_down_and_alive_again() {
    // down-after 3 s: suspected past 1.5 s of silence, down (SDOWN) past
    // 3 s. Sentinels check and PING on each whole second; a reply takes
    // 4 ms. c1 answers the PING of 9 s (at 9.004 s) and crashes at 10 s
    // (its host refuses connections: no valid reply); restarted at 20 s,
    // it answers the PING of 20 s, and the check of 21 s sees it alive.
    let v = sentinel_group(
        json!([
            { "at": "10s", "action": "crash", "node": "c1" },
            { "at": "20s", "action": "restart", "node": "c1" }
        ]),
        script(&[("7s", w(1, 1))]),
    );
    let mut sim = sim(v);
    let sentinels = ["s1", "s2", "s3"];
    // Per sentinel, each change of what it makes of c1: (time, liveness,
    // silence in ms).
    let mut changes: Vec<Vec<(u64, Liveness, i64)>> = vec![vec![]; 3];
    let mut t = 8 * SEC;
    while t <= 24 * SEC {
        sim.run_through(t);
        for (i, s) in sentinels.iter().enumerate() {
            let Detail::Sentinel(view) = sim.node_state(sim.node_id(s).unwrap()).detail else { panic!("{s}") };
            assert_eq!(view.instances.len(), 3, "{s} watches c1, c2 and c3");
            let c1 = view.instances.iter().find(|m| m.node == 0).unwrap();
            // The liveness is the SDOWN flag, not a second opinion.
            assert_eq!(c1.liveness == Liveness::Down, view.sdown.contains(&0), "{s} at {t}: {view:?}");
            for other in view.instances.iter().filter(|m| m.node != 0) {
                assert_eq!(other.liveness, Liveness::Alive, "{s} at {t}: {other:?}");
                assert!(other.silence_ms < 1000, "{s} at {t}: {other:?}");
            }
            if changes[i].last().is_none_or(|&(_, l, _)| l != c1.liveness) {
                changes[i].push((t, c1.liveness, c1.silence_ms));
            }
        }
        t += 100 * MS;
    }
    for (i, s) in sentinels.iter().enumerate() {
        assert_eq!(
            changes[i],
            vec![
                (8 * SEC, Liveness::Alive, 996),
                (11 * SEC, Liveness::Suspected, 1996),
                (13 * SEC, Liveness::Down, 3996),
                (21 * SEC, Liveness::Alive, 996),
            ],
            "{s}"
        );
    }
    // The trace's +sdown and -sdown come at the same checks.
    let n = notes(&sim);
    for s in sentinels {
        let at = |pred: &dyn Fn(&Note) -> bool| n.iter().filter(|(_, who, x)| who == s && pred(x)).map(|e| e.0).next();
        assert_eq!(at(&|x| matches!(x, Note::Sdown { node: 0 })), Some(13 * SEC), "{s}");
        assert_eq!(at(&|x| matches!(x, Note::SdownCleared { node: 0 })), Some(21 * SEC), "{s}");
    }
}

#[test]
fn sentinels_need_a_quorum() {
    // Only one sentinel sees c1 down: no failover.
    let v = sentinel_group(
        json!([
            { "at": "10s", "action": "cut_link", "between": ["s1", "c1"] }
        ]),
        script(&[("7s", w(1, 1))]),
    );
    let mut sim = sim(v);
    sim.run_through(40 * SEC);
    let n = notes(&sim);
    assert!(n.iter().any(|(_, who, note)| who == "s1" && matches!(note, Note::Sdown { node: 0 })));
    assert!(!n.iter().any(|(_, _, note)| matches!(note, Note::Odown { .. } | Note::SwitchMaster { .. })));
    assert_eq!(cache(&sim, "c1").role, CacheRole::Primary);
}

#[test]
fn a_long_cut_resynchronises_partially_from_the_backlog_or_fully_past_it() {
    // repl-timeout 5 s (with a PING every second): a 10 s cut times the
    // link out on both sides.
    for (backlog, writes, partial) in [(1 << 20, 20, true), (16 * 1024, 600, false)] {
        let ws: Vec<(String, Value)> =
            (0..writes).map(|i| (format!("{}ms", 11_000 + i * 10), w(i as u32, 1_000_000 + i as u64))).collect();
        let ws: Vec<(&str, Value)> = ws.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
        let v = pair(
            json!({ "repl_timeout": 5, "repl_ping_replica_period": 1, "repl_backlog_size": backlog }),
            script(&ws),
            script(&[("34s", r(0))]),
            Value::Null,
            json!([
                { "at": "10s", "action": "cut_link", "between": ["c1", "c2"] },
                { "at": "20s", "action": "heal_link", "between": ["c1", "c2"] }
            ]),
        );
        let mut sim = sim(v);
        sim.run_through(35 * SEC);
        let c1 = cache(&sim, "c1");
        let n = notes(&sim);
        assert!(n.iter().any(|(_, who, x)| who == "c2" && matches!(x, Note::ReplLinkDown { .. })));
        // The primary's side, in words: c2's ACKs stopped.
        let said: Vec<String> = sim.trace().events().iter().map(|e| sim.trace_line(e).text).collect();
        assert!(
            said.contains(&"c1: dropped replica c2 (no REPLCONF ACK from it for repl-timeout)".to_string()),
            "{:#?}",
            said.iter().filter(|t| t.contains("replica")).collect::<Vec<_>>()
        );
        if partial {
            assert_eq!((c1.sync.sync_full, c1.sync.sync_partial_ok), (1, 1), "{backlog}");
            assert!(n.iter().any(|(_, _, x)| matches!(x, Note::PartialResync { .. })));
        } else {
            assert_eq!((c1.sync.sync_full, c1.sync.sync_partial_err), (2, 1), "{backlog}: past the backlog");
            assert!(c1.backlog_bytes <= 16 * 1024);
        }
        assert_eq!(cache(&sim, "c2").keys, writes as usize);
        assert_eq!(ops_of(&sim, "reader")[0].value, Some(1_000_000));
        let behind = c1.master_repl_offset - cache(&sim, "c2").master_repl_offset;
        assert!(behind <= 14, "at most a PING in flight: {behind}");
    }
}

#[test]
fn a_lossy_link_still_converges() {
    let ws: Vec<(String, Value)> = (0..200).map(|i| (format!("{}ms", 7_000 + i * 20), w(i % 7, i as u64))).collect();
    let ws: Vec<(&str, Value)> = ws.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
    let mut v = pair(json!({}), script(&ws), script(&[("19s", r(6))]), Value::Null, json!([]));
    // After the first full sync (at 6 s), one message in five is lost.
    v["faults"] = json!([{ "at": "6.5s", "action": "degrade_link", "between": ["c1", "c2"], "loss": 0.2 }]);
    let mut sim = sim(v);
    sim.run_through(20 * SEC);
    let behind = cache(&sim, "c1").master_repl_offset - cache(&sim, "c2").master_repl_offset;
    assert!(behind <= 14, "at most a PING in flight: {behind}");
    assert_eq!(ops_of(&sim, "reader")[0].value, Some(195));
    assert_eq!(cache(&sim, "c1").sync.sync_full, 1, "retransmitted, never resynchronised");
}

#[test]
fn replication_runs_are_deterministic() {
    let v = cut_off_primary_with_its_writer();
    let run = || {
        let mut s = sim(v.clone());
        s.run_through(40 * SEC);
        (s.events(), s.trace_hash())
    };
    assert_eq!(run(), run());
}

#[test]
fn replication_scenarios_are_checked() {
    let err = |v: Value| engine::Scenario::from_value(v).unwrap_err().to_string();
    let base = || pair(json!({}), script(&[("1s", w(1, 1))]), script(&[("2s", r(1))]), Value::Null, json!([]));
    let mut v = base();
    v["nodes"][1]["redis"]["replicaof"] = json!("c2");
    assert_eq!(err(v), "nodes[1].redis.replicaof: a cache cannot replicate itself");
    let mut v = base();
    v["nodes"][0]["redis"]["replicaof"] = json!("writer");
    assert_eq!(err(v), "nodes[0].redis.replicaof: `writer` is a client; a cache replicates a cache");
    let mut v = base();
    v["nodes"][1]["redis"]["repl_backlog_size"] = json!(100);
    assert_eq!(
        err(v),
        "nodes[1].redis.repl_backlog_size: repl_backlog_size must be 16384 to 1073741824 bytes, got 100"
    );
    let mut v = base();
    v["links"].as_array_mut().unwrap().remove(2);
    assert!(err(v).contains("the caches of one group must be linked to each other"));
    let mut v = base();
    v["nodes"][3]["follow_primary"] = json!(true);
    assert!(err(v).contains("a client that follows the primary must be linked to every cache of the group"));
    let mut v = sentinel_group(json!([]), script(&[("1s", w(1, 1))]));
    v["nodes"][3]["quorum"] = json!(4);
    assert_eq!(err(v), "nodes[3].quorum: quorum 4 is more than the 3 sentinels monitoring `c1`");
    let mut v = sentinel_group(json!([]), script(&[("1s", w(1, 1))]));
    v["nodes"][3]["monitor"] = json!("c2");
    assert_eq!(err(v), "nodes[3].monitor: `c2` is a replica; a sentinel monitors a primary");
    let mut v = base();
    v["faults"] = json!([{ "at": "1s", "action": "replica_of", "node": "c1", "primary": "writer" }]);
    assert_eq!(err(v), "faults[0].primary: `writer` is not a cache");
    let mut v = base();
    v["faults"] = json!([{ "at": "1s", "action": "promote", "node": "writer" }]);
    assert_eq!(err(v), "faults[0].node: `writer` is not a database or a cache");
}

#[test]
fn a_replica_past_the_output_buffer_limit_is_dropped_during_its_rdb_transfer() {
    // A slow RDB (1,000 bytes/s for about 800 keys) while the primary
    // writes 200 keys a second: the stream held for the replica passes the
    // 16 KiB limit.
    let ws: Vec<(String, Value)> =
        (0..2000).map(|i| (format!("{}ms", 1_000 + i * 5), w(i, 1_000_000 + i as u64))).collect();
    let ws: Vec<(&str, Value)> = ws.iter().map(|(a, v)| (a.as_str(), v.clone())).collect();
    let mut v = pair(
        json!({ "replica_output_buffer_limit": 16384, "repl_diskless_sync_delay": 0 }),
        script(&ws),
        script(&[("30s", r(0))]),
        Value::Null,
        json!([]),
    );
    // c2 starts as a primary and is told to replicate c1 at 4 s.
    v["nodes"][1]["redis"]["replicaof"] = json!(null);
    v["nodes"][0]["rdb_transfer_rate"] = json!(1000);
    v["faults"] = json!([{ "at": "4s", "action": "replica_of", "node": "c2", "primary": "c1" }]);
    let mut sim = sim(v);
    sim.run_through(12 * SEC);
    let n = notes(&sim);
    assert!(
        n.iter().any(|(_, who, x)| who == "c1"
            && matches!(x, Note::ReplicaOutputBufferFull { replica: 1, bytes } if *bytes > 16384)),
        "{n:?}"
    );
}
