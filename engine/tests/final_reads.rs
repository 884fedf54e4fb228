//! Jepsen's final reads at the end of a run (`Simulation::final_reads`):
//! made on a copy of the run, with the network healed and the system left
//! quiet, they tell a lost write from one still on its way.
mod common;
use common::*;
use engine::history::Outcome;
use engine::{Scenario, Simulation};
use serde_json::json;

/// `name` with its duration set to `secs` and `faults` added.
fn scenario(name: &str, secs: u64, faults: serde_json::Value) -> Scenario {
    let mut s = load_example(name);
    s.duration = engine::time::Duration::from_secs(secs);
    let mut v = serde_json::to_value(&s).unwrap();
    v["faults"].as_array_mut().unwrap().extend(faults.as_array().unwrap().iter().cloned());
    Scenario::from_value(v).unwrap()
}

fn ended(s: &Scenario) -> Simulation {
    let mut sim = Simulation::new(s).unwrap();
    sim.run_through(s.duration.nanos);
    sim.check_consistency();
    sim
}

#[test]
fn a_replica_still_catching_up_loses_nothing_once_the_final_reads_are_in() {
    // The link to the replica takes 300 ms from 5 s; at 12 s the last
    // reads from it miss the newest writes.
    let s = scenario("db-replica-lag.json", 12, json!([]));
    let sim = ended(&s);
    let live = sim.consistency().anomalies.lost_writes.count;
    assert!(live > 10, "the last reads miss the newest writes: {live}");
    let f = sim.final_reads().expect("a checked run");
    assert_eq!(f.consistency.anomalies.lost_writes.count, 0, "{:?}", f.consistency.anomalies.lost_writes);
    let summary = f.consistency.final_reads.unwrap();
    assert_eq!((summary.after, summary.read, summary.skipped), (12 * SEC, summary.keys, 0));
    assert_eq!(summary.keys, 10, "writer and reader, five keys each");
    // Made after the quiet period, each a read, marked final, each answered.
    assert_eq!(f.first, sim.history().ops().len());
    assert!(f.ops.iter().all(|o| o.final_read && o.invoke >= 22 * SEC && o.outcome == Outcome::Ok));
    assert!(f.ops.iter().all(|o| matches!(o.op, engine::message::Op::Read { .. })));
}

#[test]
fn writes_lost_in_a_failover_stay_lost_and_are_judged_by_the_final_reads() {
    let s = load_example("db-async-failover.json");
    let sim = ended(&s);
    let f = sim.final_reads().unwrap();
    let lost = &f.consistency.anomalies.lost_writes;
    assert_eq!(lost.count, sim.consistency().anomalies.lost_writes.count);
    assert!(lost.count > 10);
    // The reader's final reads (from db2, the new primary) judge them; the
    // writer's go to db1, whose machine died: no answer, tried three times
    // each.
    assert!(lost.examples.iter().all(|e| e.because >= f.first && f.ops[e.because - f.first].final_read));
    let summary = f.consistency.final_reads.unwrap();
    assert_eq!((summary.keys, summary.read), (10, 5));
    let unanswered = f.ops.iter().filter(|o| o.outcome == Outcome::Info).count();
    assert_eq!((unanswered, f.ops.len()), (5 * 3, 5 + 5 * 3));
}

#[test]
fn the_run_itself_is_untouched_and_the_final_reads_are_the_same_each_time() {
    let s = load_example("db-split-brain.json");
    let sim = ended(&s);
    let hash = sim.trace_hash();
    let a = sim.final_reads().unwrap();
    let b = sim.final_reads().unwrap();
    assert_eq!(a, b);
    assert_eq!(sim.trace_hash(), hash);
    assert_eq!(sim.trace_hash(), ended(&s).trace_hash());
}

#[test]
fn faults_still_to_come_are_dropped_paused_processes_resume_and_crashed_ones_stay_down() {
    // The replica is paused at 11 s and never resumed, and a crash of the
    // primary is scheduled after the end: the final reads resume the one
    // and never see the other.
    let s = scenario(
        "db-replica-lag.json",
        12,
        json!([{ "at": "11s", "action": "pause", "node": "db2" }, { "at": "13s", "action": "crash", "node": "db1" }]),
    );
    let f = ended(&s).final_reads().unwrap();
    let summary = f.consistency.final_reads.unwrap();
    assert_eq!(summary.read, summary.keys, "{summary:?}");
    assert_eq!(f.consistency.anomalies.lost_writes.count, 0);
    // A replica that crashed stays down: the reader's keys are not read.
    let s = scenario("db-replica-lag.json", 12, json!([{ "at": "11s", "action": "crash", "node": "db2" }]));
    let f = ended(&s).final_reads().unwrap();
    let summary = f.consistency.final_reads.unwrap();
    assert_eq!((summary.keys, summary.read), (10, 5), "{summary:?}");
}

#[test]
fn runs_not_checked_or_with_an_incomplete_history_get_none() {
    assert!(ended(&load_example("web-three-servers.json")).final_reads().is_none());
    let mut s = load_example("db-replica-lag.json");
    s.limits.history_ops = 100;
    let sim = ended(&s);
    assert!(sim.history().discarded() > 0);
    assert!(sim.final_reads().is_none());
    // A run that halted (here: more events pending than its limit).
    let mut s = load_example("db-replica-lag.json");
    s.limits.pending_events = 20;
    let sim = ended(&s);
    assert!(sim.halted().is_some());
    assert!(sim.final_reads().is_none());
}
