//! Consistency verdicts during runs of the example scenarios: the checker
//! is fed the history as the run goes (once per simulated second) and
//! names what went wrong, and when.
mod common;
use checker::Linearizable;
use common::*;
use engine::consistency::ConsistencyView;
use engine::Simulation;

fn run(name: &str) -> (Simulation, ConsistencyView) {
    let scenario = load_example(name);
    let mut sim = Simulation::new(&scenario).unwrap();
    sim.run_through(scenario.duration.nanos);
    let view = sim.check_consistency().clone();
    (sim, view)
}

fn count_before(all: &[checker::anomalies::rw::RwOp], t: u64) -> usize {
    let cut: Vec<_> = all.iter().copied().filter(|o| o.invoke < t).collect();
    checker::anomalies::rw::check(&cut).stale_reads.count
}

#[test]
fn asynchronous_failover_loses_acknowledged_writes() {
    let (sim, v) = run("db-async-failover.json");
    assert!(v.checked);
    let lin = v.linearizability.unwrap();
    assert_eq!(lin.linearizable, Linearizable::No);
    assert!(lin.first_violation_at.is_some());
    assert!(v.anomalies.lost_writes.count >= 3, "{:?}", v.anomalies.lost_writes);
    // What was lost was acknowledged by the cut-off primary after 5 s.
    let ops = sim.history().ops();
    for f in &v.anomalies.lost_writes.examples {
        assert!(ops[f.op].invoke >= 5 * SEC, "{f:?}: {:?}", ops[f.op]);
        assert!(matches!(ops[f.op].op, engine::message::Op::Write { .. }));
    }
    assert_eq!(v.history_discarded, 0);
}

#[test]
fn semi_synchronous_failover_loses_no_acknowledged_write_and_stays_linearizable() {
    let (sim, v) = run("db-semi-sync-failover.json");
    assert_eq!(v.anomalies.lost_writes.count, 0, "{:?}", v.anomalies.lost_writes);
    assert_eq!(v.anomalies.stale_reads.count, 0);
    let lin = v.linearizability.unwrap();
    assert_eq!((lin.linearizable, lin.first_violation_at), (Linearizable::Yes, None));
    // Its writes after the cut timed out: indeterminate, not lost.
    assert!(sim.history().ops().iter().any(|o| o.outcome == engine::history::Outcome::Info));
}

#[test]
fn a_lagging_replica_serves_many_more_stale_reads_while_the_link_is_slow() {
    let (sim, v) = run("db-replica-lag.json");
    let lin = v.linearizability.unwrap();
    assert_eq!(lin.linearizable, Linearizable::No);
    // Reads from an asynchronous replica are never linearizable: even its
    // usual 5 ms lag shows within the first second.
    assert!(lin.first_violation_at.unwrap() < SEC);
    assert_eq!(
        lin.first_violation_at,
        v.anomalies.stale_reads.first_at.map(|t| t.min(lin.first_violation_at.unwrap()))
    );
    let all = engine::consistency::rw_ops(sim.history().ops());
    let before = count_before(&all, 5 * SEC);
    let during = count_before(&all, 12 * SEC) - before;
    assert!(during > 10 * before.max(1), "stale reads: {before} in the first 5 s, {during} from 5 s to 12 s");
    assert_eq!(v.anomalies.stale_reads.count, count_before(&all, u64::MAX));
    // The violation is about a read, and names the write it misses: one
    // acknowledged before the read began, of another value.
    let read = lin.first_violation_op.expect("the operation that could not be ordered");
    assert!(lin.first_violation_ops.contains(&read));
    let ops = sim.history().ops();
    let write = v.first_violation_misses.expect("a stale read");
    assert!(matches!(ops[read].op, engine::message::Op::Read { .. }), "{:?}", ops[read]);
    assert!(matches!(ops[write].op, engine::message::Op::Write { value, .. } if Some(value) != ops[read].value));
    assert_eq!(ops[write].op.key(), ops[read].op.key());
    assert!(ops[write].complete.unwrap() < ops[read].invoke);
}

#[test]
fn the_cache_aside_race_leaves_stale_reads() {
    let (_, v) = run("cache-aside-stale.json");
    assert!(v.anomalies.stale_reads.count > 20, "{}", v.anomalies.stale_reads.count);
    assert_eq!(v.linearizability.unwrap().linearizable, Linearizable::No);
}

/// The live anomaly checks, key by key and only where something changed,
/// find what one check of the whole history finds.
#[test]
fn incremental_anomaly_checks_equal_a_whole_history_check() {
    for name in
        ["db-async-failover.json", "db-replica-lag.json", "cache-aside-stale.json", "redis-replica-stale-reads.json"]
    {
        let (sim, v) = run(name);
        let whole = checker::anomalies::rw::check(&engine::consistency::rw_ops(sim.history().ops()));
        let pairs = [
            (&v.anomalies.lost_writes, &whole.lost_writes),
            (&v.anomalies.stale_reads, &whole.stale_reads),
            (&v.anomalies.read_your_writes, &whole.read_your_writes),
            (&v.anomalies.monotonic_reads, &whole.monotonic_reads),
        ];
        for (live, once) in pairs {
            assert_eq!((live.count, live.first_at), (once.count, once.first_at), "{name}");
            assert_eq!(live.examples.len(), once.examples.len(), "{name}");
        }
        assert!(v.anomalies.total() > 0, "{name} shows anomalies");
    }
}

#[test]
fn runs_without_a_database_are_not_judged() {
    let (_, v) = run("web-three-servers.json");
    assert!(!v.checked);
    assert!(v.linearizability.is_none());
    let sim = Simulation::new(&load_example("web-three-servers.json")).unwrap();
    assert!(!sim.consistency().checked);
}

#[test]
fn checked_runs_say_so_from_time_zero_with_nothing_judged_yet() {
    // Before the first check (at 1 s) a run with a database is a checked
    // run with no verdict yet, not a run "where nothing stores values".
    let sim = Simulation::new(&load_example("db-replica-lag.json")).unwrap();
    let v = sim.consistency();
    assert!(v.checked);
    assert!(v.linearizability.is_none());
    assert_eq!(v.anomalies.total(), 0);
    assert!(v.log.is_none());
    // A Kafka run: its log verdict is there, empty.
    let sim = Simulation::new(&load_example("kafka-three-brokers.json")).unwrap();
    let v = sim.consistency();
    assert!(v.checked);
    let log = v.log.as_ref().expect("a Kafka run is checked as logs");
    assert_eq!((log.sends_acknowledged, log.anomalies.lost.count), (0, 0));
}

#[test]
fn verdicts_update_every_simulated_second_without_changing_the_run() {
    let scenario = load_example("db-semi-sync-failover.json");
    let mut sim = Simulation::new(&scenario).unwrap();
    let mut seen = Vec::new();
    for s in 1..=10 {
        sim.run_until(s * SEC + 1);
        let lin = sim.consistency().linearizability.clone().unwrap();
        seen.push(lin.checked_at.unwrap() / SEC);
    }
    // A check at every whole second.
    assert_eq!(seen, (1..=10).collect::<Vec<u64>>());
    // The history is settled as it goes, not searched again.
    let last = sim.consistency().linearizability.clone().unwrap();
    assert!(last.settled * 10 >= last.ops * 9, "{last:?}");
    // Checking more often changes nothing in the run itself.
    let mut again = Simulation::new(&scenario).unwrap();
    for ms in (100..=10_000).step_by(100) {
        again.run_until(ms * MS + 1);
        again.check_consistency();
    }
    assert_eq!(again.trace_hash(), sim.trace_hash());
    assert_eq!(again.check_consistency().linearizability.clone().unwrap().linearizable, Linearizable::Yes);
}
