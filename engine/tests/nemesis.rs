//! The nemesis (random faults from a seed, Jepsen's way) on real scenarios:
//! Raft stays linearizable whatever it breaks; Kafka with `acks=1` loses
//! acknowledged records when brokers are killed at random, and with
//! `acks=all` does not.
mod common;
use checker::Linearizable;
use common::*;
use engine::fault::nemesis::{Nemesis, NemesisFault};
use engine::fault::Fault;
use engine::history::Outcome;
use engine::{Duration, Scenario};

/// `s` with its own faults replaced by a nemesis's, striking `targets`
/// (default: every node but the clients) from 1 s until 3 s before the end.
fn with_nemesis(
    mut s: Scenario,
    faults: &[NemesisFault],
    targets: Option<&[&str]>,
    interval: Duration,
    seed: u64,
) -> Scenario {
    s.faults.clear();
    s.seed = seed;
    let nemesis = Nemesis {
        faults: faults.to_vec(),
        targets: targets.map_or_else(|| Nemesis::default_targets(&s), |t| t.iter().map(|n| n.to_string()).collect()),
        from: Duration::from_secs(1),
        until: Duration::from_nanos(s.duration.nanos - 3 * SEC),
        interval,
    };
    let added = nemesis.add_to(&mut s).unwrap();
    assert!(added >= 4, "seed {seed}: only {added} faults planned");
    s
}

#[test]
fn raft_stays_linearizable_whatever_the_nemesis_breaks() {
    let base = load_example("raft-kv-leader-crash.json");
    for seed in 1..=6 {
        let s = with_nemesis(base.clone(), &NemesisFault::DEFAULT, None, Duration::from_secs(1), seed);
        assert_linearizable_and_serving(&s, seed);
    }
}

/// Runs `s`: its history is linearizable with no anomaly, and not safe by
/// doing nothing: over 200 operations were acknowledged.
fn assert_linearizable_and_serving(s: &Scenario, seed: u64) {
    let mut sim = run(s);
    let v = sim.check_consistency().clone();
    let lin = v.linearizability.expect("a Raft run is checked");
    assert_eq!(lin.linearizable, Linearizable::Yes, "seed {seed}: {:?}", s.faults);
    assert_eq!(v.anomalies.total(), 0, "seed {seed}");
    let ok = sim.history().ops().iter().filter(|o| o.outcome == Outcome::Ok).count();
    assert!(ok > 200, "seed {seed}: only {ok} operations succeeded");
}

/// Five members under Jepsen's majorities ring (each reaches a majority,
/// no two the same one), again and again: still linearizable, and still
/// serving.
#[test]
fn raft_stays_linearizable_under_a_majorities_ring() {
    let base = load_example("raft-kv-partitioned-leader.json");
    for seed in 1..=4 {
        let s = with_nemesis(base.clone(), &[NemesisFault::MajoritiesRing], None, Duration::from_secs(1), seed);
        assert!(s.faults.iter().filter(|f| matches!(f.fault, Fault::PartitionOneWay { .. })).count() >= 10);
        assert_linearizable_and_serving(&s, seed);
    }
}

#[test]
fn default_targets_are_the_servers_not_the_clients() {
    let s = load_example("raft-kv-leader-crash.json");
    assert_eq!(Nemesis::default_targets(&s), ["kv1", "kv2", "kv3"]);
    let k = load_example("kafka-acks1-loss.json");
    assert_eq!(Nemesis::default_targets(&k), ["ctl1", "ctl2", "ctl3", "b1", "b2", "b3"]);
}

#[test]
fn a_bad_target_leaves_the_scenario_as_it_was() {
    let mut s = load_example("raft-kv-leader-crash.json");
    let before = s.clone();
    let n = Nemesis {
        faults: vec![NemesisFault::Kill],
        targets: vec!["kv1".into(), "kv9".into()],
        from: Duration::ZERO,
        until: Duration::from_secs(10),
        interval: Duration::from_secs(1),
    };
    assert_eq!(n.add_to(&mut s).unwrap_err(), "the nemesis's target `kv9` is not a node of this scenario");
    assert_eq!(s, before);
}

/// Lost acknowledged records over `seeds`, one count per seed.
fn kafka_losses(acks: &str, seeds: std::ops::RangeInclusive<u64>) -> Vec<usize> {
    let path = format!("{}/scenarios/kafka-acks1-loss.json", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["nodes"][0]["acks"] = acks.into();
    let base = Scenario::from_json(&json.to_string()).unwrap();
    let brokers = ["b1", "b2", "b3"];
    seeds
        .map(|seed| {
            let s = with_nemesis(base.clone(), &[NemesisFault::Kill], Some(&brokers), Duration::from_secs(3), seed);
            assert!(s.faults.iter().any(|f| matches!(f.fault, Fault::Crash { .. })));
            let mut sim = run(&s);
            sim.check_consistency().log.as_ref().expect("a Kafka run").anomalies.lost.count
        })
        .collect()
}

#[test]
fn random_broker_kills_find_the_records_acks_1_loses_and_acks_all_keeps() {
    let one = kafka_losses("1", 1..=4);
    assert!(one.iter().any(|&n| n > 0), "acks=1 lost nothing under any seed: {one:?}");
    let all = kafka_losses("all", 1..=4);
    assert!(all.iter().all(|&n| n == 0), "acks=all lost records: {all:?}");
}
