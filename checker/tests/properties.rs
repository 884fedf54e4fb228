//! Property tests: histories made by running a correct sequential model
//! concurrently are linearizable; one injected stale read makes them not,
//! and the witness names that read and when it completed.

mod common;
use checker::history::Outcome;
use checker::models::kv::Kv;
use checker::models::register::{Register, RegisterInput, RegisterOutput};
use checker::{check, Budget, Linearizable};
use common::*;

#[test]
fn concurrent_runs_of_a_correct_register_are_linearizable() {
    for seed in 0..200 {
        let mut rng = Rng(seed);
        let clients = 2 + rng.below(6);
        let keys = 1 + rng.below(3);
        let h = register_history(&mut rng, clients, 30, keys, 5);
        let v = check(&Register, &h, &Budget::default());
        assert_eq!(v.linearizable, Linearizable::Yes, "seed {seed}: {v:?}");
    }
}

#[test]
fn one_injected_stale_read_is_found_and_named() {
    let mut found = 0;
    for seed in 0..200 {
        let mut rng = Rng(1000 + seed);
        let clients = 2 + rng.below(6);
        let mut h = register_history(&mut rng, clients, 30, 1, 0);
        // A read that began after some write had been acknowledged, made to
        // return the value from before that write (or nil: no older one).
        let reads: Vec<usize> = (0..h.len())
            .filter(|&r| matches!(h[r].input, RegisterInput::Read { .. }))
            .filter(|&r| {
                h.iter().any(|w| matches!(w.input, RegisterInput::Write { .. }) && w.complete < Some(h[r].invoke))
            })
            .collect();
        if reads.is_empty() {
            continue;
        }
        let r = reads[rng.below(reads.len() as u64) as usize];
        let acked: Vec<usize> = (0..h.len())
            .filter(|&w| matches!(h[w].input, RegisterInput::Write { .. }) && h[w].complete.unwrap() < h[r].invoke)
            .collect();
        let w = *acked.iter().max_by_key(|&&w| h[w].invoke).unwrap();
        let older = (0..h.len())
            .filter(|&o| matches!(h[o].input, RegisterInput::Write { .. }) && h[o].complete.unwrap() < h[w].invoke)
            .max_by_key(|&o| h[o].complete);
        let stale = older.map(|o| match h[o].input {
            RegisterInput::Write { value, .. } => value,
            _ => unreachable!(),
        });
        h[r].output = Some(RegisterOutput::Read(stale));
        assert_eq!(h[r].outcome, Outcome::Ok);
        let v = check(&Register, &h, &Budget::default());
        assert_eq!(v.linearizable, Linearizable::No, "seed {seed}: read #{r} made stale");
        let wit = v.witness.unwrap();
        assert!(wit.blocked == Some(r) || wit.stuck.contains(&r), "seed {seed}: the witness names #{r}: {wit:?}");
        assert_eq!(wit.violation_at, h[r].complete, "seed {seed}: it became certain when the stale read returned");
        found += 1;
    }
    assert!(found > 150, "enough cases: {found}");
}

#[test]
fn fifty_clients_on_many_keys_are_checked_key_by_key() {
    let mut rng = Rng(50);
    let h = kv_history(&mut rng, 50, 100, 20);
    assert_eq!(h.len(), 5000);
    let v = check(&Kv, &h, &Budget::default());
    assert_eq!(v.linearizable, Linearizable::Yes);
    assert_eq!(v.partitions, 20);
    // Each key's search is small.
    assert!(v.memo_peak < 5000, "{}", v.memo_peak);
}
