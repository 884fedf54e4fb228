//! Same scenario and seed: the same run, event for event (trace hash).
mod common;
use common::*;
use engine::fault::Fault;
use engine::Simulation;

fn hash_of(s: &engine::Scenario, seed: u64, until: u64) -> (u64, String) {
    let mut sim = Simulation::with_seed(s, seed).unwrap();
    sim.run_until(until);
    (sim.events(), sim.trace_hash())
}

#[test]
fn every_example_replays_identically_and_seeds_matter() {
    for (name, s) in examples() {
        let until = 3 * SEC;
        let a = hash_of(&s, s.seed, until);
        let b = hash_of(&s, s.seed, until);
        assert_eq!(a, b, "{name}: two runs with one seed differ");
        assert!(a.0 > 1000, "{name}: only {} events in 3 s", a.0);
        let c = hash_of(&s, s.seed + 1, until);
        assert_ne!(a.1, c.1, "{name}: a different seed gave the same trace");
    }
}

#[test]
fn running_in_slices_equals_running_at_once() {
    let s = load_example("server-crash-failover.json");
    let mut whole = Simulation::new(&s).unwrap();
    whole.run_until(30 * SEC);
    let mut sliced = Simulation::new(&s).unwrap();
    let mut t = 0;
    while t < 30 * SEC {
        t += 16_666_667; // one 60 Hz frame
        sliced.run_until_budget(t.min(30 * SEC), 500);
        sliced.run_until(t.min(30 * SEC));
    }
    assert_eq!(whole.trace_hash(), sliced.trace_hash());
    assert_eq!(whole.events(), sliced.events());
}

#[test]
fn a_cloned_simulation_continues_identically() {
    let s = load_example("link-cut.json");
    let mut a = Simulation::new(&s).unwrap();
    a.run_until(12 * SEC);
    let mut b = a.clone();
    a.run_until(20 * SEC);
    b.run_until(20 * SEC);
    assert_eq!(a.trace_hash(), b.trace_hash());
}

#[test]
fn live_faults_replay_identically() {
    let s = load_example("web-three-servers.json");
    let mut live = Simulation::new(&s).unwrap();
    live.run_until(5 * SEC);
    live.apply_fault(Fault::Crash { node: "web1".into(), host_down: false }).unwrap();
    live.run_until(7 * SEC);
    // One event at a time: the fault lands between events at the same time.
    for _ in 0..3 {
        live.step();
    }
    live.apply_fault(Fault::CutLink { between: ["lb".into(), "web3".into()] }).unwrap();
    live.run_until(12 * SEC);
    live.apply_fault(Fault::Restart { node: "web1".into() }).unwrap();
    live.run_until(20 * SEC);

    let replay_scenario = live.replay_scenario();
    assert_eq!(replay_scenario.faults.len(), 3);
    let mut replay = Simulation::new(&replay_scenario).unwrap();
    replay.run_until(20 * SEC);
    assert_eq!(live.events(), replay.events());
    assert_eq!(live.trace_hash(), replay.trace_hash());
    // And it survives a trip through JSON, as a share link would make.
    let json = replay_scenario.to_json_pretty();
    let mut again = Simulation::new(&engine::Scenario::from_json(&json).unwrap()).unwrap();
    again.run_until(20 * SEC);
    assert_eq!(live.trace_hash(), again.trace_hash());
}

#[test]
fn live_faults_are_checked() {
    let s = load_example("web-three-servers.json");
    let mut sim = Simulation::new(&s).unwrap();
    let at = sim.apply_fault(Fault::Pause { node: "web1".into() }).unwrap();
    assert_eq!(at, 0, "nothing has run yet: the fault is the first event");
    let e = sim.apply_fault(Fault::Crash { node: "nobody".into(), host_down: false }).unwrap_err();
    assert_eq!(e.to_string(), "node: no node is named `nobody`");
    let e = sim.apply_fault(Fault::CutLink { between: ["clients".into(), "web1".into()] }).unwrap_err();
    assert_eq!(e.to_string(), "between: no link joins `clients` and `web1`");
    let e = sim.apply_fault(Fault::SlowNode { node: "web1".into(), factor: -2.0 }).unwrap_err();
    assert_eq!(e.to_string(), "factor: factor must be above 0 and at most 1000, got -2");
}

/// The lab seeks by restoring a checkpoint taken before some faults were
/// added and scheduling them again: that run must be the replay's.
#[test]
fn a_checkpoint_given_its_later_faults_continues_like_the_replay() {
    let s = load_example("web-three-servers.json");
    let mut live = Simulation::new(&s).unwrap();
    live.run_until(4 * SEC);
    let checkpoint = live.clone();
    live.run_until(9 * SEC);
    live.apply_fault(Fault::Crash { node: "web2".into(), host_down: false }).unwrap();
    live.run_until(13 * SEC);
    live.apply_fault(Fault::Restart { node: "web2".into() }).unwrap();
    live.run_until(20 * SEC);

    let mut restored = checkpoint;
    let known = restored.fault_schedule().count();
    let later: Vec<_> = live.fault_schedule().skip(known).cloned().collect();
    assert_eq!(later.len(), 2);
    for f in later {
        restored.schedule_fault(f.at.nanos, f.fault).unwrap();
    }
    restored.run_until(20 * SEC);
    assert_eq!(live.trace_hash(), restored.trace_hash());
    assert_eq!(live.events(), restored.events());

    // Not in the past.
    let e = restored.schedule_fault(SEC, Fault::Pause { node: "web1".into() }).unwrap_err();
    assert!(e.to_string().contains("cannot be added at 1s"), "{e}");
}
