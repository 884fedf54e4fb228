//! Primary/replica databases: replication lag and stale reads, failover
//! that loses acknowledged writes (asynchronous) or not (semi-synchronous),
//! and split brain settled by last-writer-wins. Shown in the recorded
//! client history, where a consistency checker would look.
mod common;
use common::*;
use engine::history::Outcome;
use engine::message::Op;
use engine::sim::Detail;
use serde_json::{json, Value};

/// A writer client on the primary, a reader client on a replica, a
/// primary with two replicas.
fn replicated(replication: &str, faults: Value) -> Value {
    json!({
        "version": 1,
        "seed": 5,
        "nodes": [
            { "name": "writer", "type": "client", "target": "db1",
              "workload": { "kind": "open_loop", "rate": 200, "arrival": "constant" },
              "timeout": "2s", "ops": { "read_fraction": 0.0, "keys": 5 } },
            { "name": "reader", "type": "client", "target": "db2",
              "workload": { "kind": "open_loop", "rate": 200, "arrival": "constant" },
              "timeout": "2s", "ops": { "read_fraction": 1.0, "keys": 5 } },
            { "name": "db1", "type": "database", "replicas": ["db2", "db3"], "replication": replication,
              "failover": { "heartbeat": "200ms", "detect_after": "1s" } },
            { "name": "db2", "type": "database", "replica_of": "db1",
              "failover": { "heartbeat": "200ms", "detect_after": "1s" } },
            { "name": "db3", "type": "database", "replica_of": "db1",
              "failover": { "heartbeat": "200ms", "detect_after": "1s" } }
        ],
        "links": [
            { "between": ["writer", "db1"], "latency": "1ms" },
            { "between": ["reader", "db2"], "latency": "1ms" },
            { "between": ["db1", "db2"], "latency": "5ms" },
            { "between": ["db1", "db3"], "latency": "5ms" },
            { "between": ["db2", "db3"], "latency": "5ms" }
        ],
        "faults": faults
    })
}

fn db(sim: &engine::Simulation, name: &str) -> engine::components::database::DatabaseView {
    match sim.node_state(sim.node_id(name).unwrap()).detail {
        Detail::Database(d) => d,
        other => panic!("{name}: {other:?}"),
    }
}

/// Acknowledged writes whose value the database `name` no longer has:
/// for each key, the last acknowledged write (by completion time), if
/// nothing was written to that key after it was invoked.
fn lost_acknowledged_writes(sim: &engine::Simulation, name: &str) -> usize {
    // (The writer stops before the primary dies, so no later attempt
    // hides the last acknowledged write of a key.)
    let node = sim.node(sim.node_id(name).unwrap());
    let engine::components::Component::Database(d) = &node.component else { panic!() };
    let ops = sim.history().ops();
    let mut lost = 0;
    for key in 0..5u32 {
        let writes: Vec<_> = ops.iter().filter(|o| matches!(o.op, Op::Write { key: k, .. } if k == key)).collect();
        let Some(last_ok) = writes.iter().filter(|o| o.outcome == Outcome::Ok).max_by_key(|o| o.complete) else {
            continue;
        };
        let later = writes.iter().any(|o| o.invoke > last_ok.invoke);
        let Op::Write { value, .. } = last_ok.op else { unreachable!() };
        if !later && d.disk.store.get(&key).map(|v| v.value) != Some(value) {
            lost += 1;
        }
    }
    lost
}

#[test]
fn replicas_lag_and_serve_stale_reads() {
    let mut sim = sim(replicated(
        "async",
        json!([{ "at": "2s", "action": "degrade_link", "between": ["db1", "db2"], "latency": "300ms" }]),
    ));
    sim.run_until(4 * SEC);
    // Each write reaches the replica 300 ms after the primary took it.
    let delay = db(&sim, "db2").delay_ns;
    assert!(delay >= 300 * MS as i64 && delay < 320 * MS as i64, "delay {delay}");
    assert_eq!(db(&sim, "db3").delay_ns, 5 * MS as i64);
    // A read on the replica, invoked after a write to the same key was
    // acknowledged on the primary, returned an older value: a stale read.
    let ops = sim.history().ops();
    let stale = ops.iter().filter(|r| {
        let Op::Read { key } = r.op else { return false };
        r.outcome == Outcome::Ok
            && ops.iter().any(|w| {
                matches!(w.op, Op::Write { key: k, value } if k == key && Some(value) != r.value)
                    && w.outcome == Outcome::Ok
                    && w.complete.is_some_and(|c| c < r.invoke)
                    // ... and it was the latest write to that key before the read.
                    && !ops.iter().any(|w2| matches!(w2.op, Op::Write { key: k2, .. } if k2 == key) && w2.invoke > w.invoke && w2.invoke < r.invoke)
            })
    });
    assert!(stale.count() > 50);
}

#[test]
fn async_failover_loses_acknowledged_writes() {
    // The primary is cut off from its replicas (not from its writer), then
    // its machine dies: what it acknowledged meanwhile never left it.
    let schedule = json!([
        { "at": "2s", "action": "partition", "groups": [["writer", "db1"], ["reader", "db2", "db3"]] },
        { "at": "2500ms", "action": "crash", "node": "db1", "host_down": true }
    ]);
    let mut v = replicated("async", schedule);
    v["nodes"][0]["stop"] = json!("2400ms");
    let mut sim = sim(v);
    sim.run_until(6 * SEC);
    assert!(matches!(db(&sim, "db2").role, engine::components::database::Role::Primary), "the standby took over");
    assert_eq!(db(&sim, "db2").epoch, 2);
    let lost = lost_acknowledged_writes(&sim, "db2");
    assert!(lost >= 3, "acknowledged writes lost: {lost}");
}

#[test]
fn semi_sync_failover_keeps_acknowledged_writes_in_the_same_schedule() {
    let schedule = json!([
        { "at": "2s", "action": "partition", "groups": [["writer", "db1"], ["reader", "db2", "db3"]] },
        { "at": "2500ms", "action": "crash", "node": "db1", "host_down": true }
    ]);
    let mut v = replicated("semi_sync", schedule);
    v["nodes"][0]["stop"] = json!("2400ms");
    let mut sim = sim(v);
    sim.run_until(6 * SEC);
    assert!(matches!(db(&sim, "db2").role, engine::components::database::Role::Primary));
    assert_eq!(lost_acknowledged_writes(&sim, "db2"), 0);
    // The price: writes after the cut waited for a replica that never
    // answered, and the writer gave up on them: indeterminate, not
    // acknowledged.
    let after_cut = sim
        .history()
        .ops()
        .iter()
        .filter(|o| matches!(o.op, Op::Write { .. }) && o.invoke > 2 * SEC && o.invoke < 2400 * MS);
    assert!(after_cut.clone().count() >= 75);
    assert!(after_cut.clone().all(|o| o.outcome != Outcome::Ok), "none of them was acknowledged");
}

/// Times of the semi-sync OFF and ON notes of `node`.
fn semi_sync_switches(sim: &engine::Simulation, node: &str) -> Vec<(u64, bool)> {
    use engine::trace::{Note, What};
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { node: n, note: Note::SemiSyncOff { .. } } if sim.node_name(n) == node => Some((e.time, false)),
            What::Note { node: n, note: Note::SemiSyncOn { .. } } if sim.node_name(n) == node => Some((e.time, true)),
            _ => None,
        })
        .collect()
}

/// Latencies (ns) of the acknowledged writes invoked in `from..to`.
fn write_latencies(sim: &engine::Simulation, from: u64, to: u64) -> Vec<u64> {
    sim.history()
        .ops()
        .iter()
        .filter(|o| matches!(o.op, Op::Write { .. }) && o.invoke >= from && o.invoke < to && o.outcome == Outcome::Ok)
        .map(|o| o.complete.expect("acknowledged") - o.invoke)
        .collect()
}

/// `replicated`, with the replicas cut off from 2 s to 4 s and no
/// failover (nobody is promoted).
fn replicas_cut_from_2s_to_4s(replication: &str) -> Value {
    let mut v = replicated(
        replication,
        json!([
            { "at": "2s", "action": "partition", "groups": [["writer", "db1"], ["reader", "db2", "db3"]] },
            { "at": "4s", "action": "heal" }
        ]),
    );
    for node in &mut v["nodes"].as_array_mut().unwrap()[2..] {
        node.as_object_mut().unwrap().remove("failover");
    }
    v
}

#[test]
fn a_replica_cut_off_catches_up_after_the_heal() {
    // Without failover nobody is promoted: the replicas ask the primary to
    // resend what they missed. (They used to drop the resent writes and
    // stay behind for good.)
    let mut v = replicas_cut_from_2s_to_4s("async");
    v["nodes"][0]["stop"] = json!("5s");
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    let missed = db(&sim, "db1").lsn - db(&sim, "db2").lsn;
    assert!(missed >= 150, "db2 is behind during the cut: {missed}");
    sim.run_until(6 * SEC);
    let primary = db(&sim, "db1").lsn;
    for replica in ["db2", "db3"] {
        assert_eq!(db(&sim, replica).lsn, primary, "{replica} caught up");
    }
}

#[test]
fn semi_sync_falls_back_to_async_after_a_timeout_until_a_replica_catches_up() {
    let mut v = replicas_cut_from_2s_to_4s("semi_sync");
    v["nodes"][2]["semi_sync_timeout"] = json!("200ms");
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    assert!(db(&sim, "db1").semi_sync_off, "the inspector shows it OFF");
    sim.run_until(6 * SEC);
    assert!(!db(&sim, "db1").semi_sync_off);
    // Before the cut, a write waits for a replica: at least the 10 ms
    // round trip to it.
    assert!(write_latencies(&sim, SEC, 2 * SEC).iter().all(|&l| l >= 10 * MS));
    // One timeout switches semi-sync off (MySQL: "switched OFF"), and the
    // first write of the cut waited for it.
    let switches = semi_sync_switches(&sim, "db1");
    assert_eq!(switches.len(), 2, "{switches:?}");
    let (off, on) = (switches[0], switches[1]);
    assert!(!off.1 && off.0 > 2 * SEC && off.0 < 2300 * MS, "{switches:?}");
    assert!(write_latencies(&sim, 2 * SEC, 2010 * MS).iter().any(|&l| l >= 190 * MS));
    // Then writes are acknowledged at once, not after 200 ms each.
    let cut = write_latencies(&sim, 2500 * MS, 3900 * MS);
    assert!(cut.len() >= 250, "{}", cut.len());
    assert!(cut.iter().all(|&l| l < 10 * MS), "max {:?}", cut.iter().max());
    // After the heal a replica catches up: semi-sync is on again, and
    // writes wait for a replica once more.
    assert!(on.1 && on.0 > 4 * SEC && on.0 < 4500 * MS, "{switches:?}");
    let after = write_latencies(&sim, 5 * SEC, 6 * SEC);
    assert!(after.len() >= 150 && after.iter().all(|&l| l >= 10 * MS));
}

#[test]
fn split_brain_is_settled_by_last_writer_wins() {
    let mut v = replicated(
        "async",
        json!([
            // The primary is cut off from its replicas, not from its writer.
            { "at": "2s", "action": "partition", "groups": [["writer", "db1"], ["reader", "db2", "db3"]] },
            { "at": "5s", "action": "heal" }
        ]),
    );
    // A second writer writes to the standby once it has been promoted.
    v["nodes"].as_array_mut().unwrap().push(json!({ "name": "writer2", "type": "client", "target": "db2",
        "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" }, "start": "3500ms",
        "timeout": "2s", "ops": { "read_fraction": 0.0, "keys": 5 } }));
    v["links"].as_array_mut().unwrap().push(json!({ "between": ["writer2", "db2"], "latency": "1ms" }));
    let mut sim = sim(v);
    sim.run_until(4 * SEC);
    // Two primaries at once: the old one (epoch 1) and the promoted one.
    assert!(matches!(db(&sim, "db1").role, engine::components::database::Role::Primary));
    assert!(matches!(db(&sim, "db2").role, engine::components::database::Role::Primary));
    sim.run_until(8 * SEC);
    // After the heal the old primary learns of epoch 2, hands over its
    // writes, and all three converge on the same data.
    let (d1, d2, d3) = (db(&sim, "db1"), db(&sim, "db2"), db(&sim, "db3"));
    assert!(matches!(d1.role, engine::components::database::Role::Replica { .. }));
    assert_eq!(d1.epoch, 2);
    let store = |name: &str| {
        let node = sim.node(sim.node_id(name).unwrap());
        let engine::components::Component::Database(d) = &node.component else { panic!() };
        d.disk.store.clone()
    };
    assert_eq!(store("db1"), store("db2"));
    assert_eq!(store("db3"), store("db2"));
    assert!(d2.lsn > 0 && d3.lsn == d2.lsn);
}

/// The event log's line for each promotion: the standby's own failover
/// names the silent primary and how long it heard nothing, against
/// `detect_after`; an operator's `promote` says so.
#[test]
fn a_promotion_says_why() {
    let promoted = |sim: &engine::Simulation| -> Vec<String> {
        sim.trace().events().iter().map(|e| sim.trace_line(e).text).filter(|t| t.contains("promoted")).collect()
    };
    // Cut off at 2 s: heartbeats every 200 ms, checked every 200 ms, so
    // the standby last heard db1 just before 2 s and acts at the first
    // check past 1 s of silence.
    let schedule = json!([{ "at": "2s", "action": "partition", "groups": [["writer", "db1"]] }]);
    let mut cut = sim(replicated("async", schedule));
    cut.run_until(5 * SEC);
    let lines = promoted(&cut);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (head, silence) = lines[0].split_once(": nothing from the primary db1 for ").expect(&lines[0]);
    assert_eq!(head, "db2: promoted to primary (epoch 2)");
    let (silence, tail) = silence.split_once(", ").unwrap();
    assert_eq!(tail, "over failover.detect_after (1s)");
    let silence = engine::Duration::parse(silence).unwrap();
    assert!(silence.nanos > SEC && silence.nanos <= SEC + 200 * MS, "{silence}");

    let schedule = json!([{ "at": "1s", "action": "promote", "node": "db3" }]);
    let mut operator = sim(replicated("async", schedule));
    operator.run_until(2 * SEC);
    assert_eq!(promoted(&operator), ["db3: promoted to primary (epoch 2) by an operator"]);
}
