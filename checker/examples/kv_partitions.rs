//! P-compositionality, measured: a kv history of 50 clients on 20 keys
//! (5,000 operations, linearizable by construction) checked key by key,
//! and the same history checked as one object (`Whole`), with a step
//! budget so the unpartitioned search ends.
//!
//! `cargo run --release -p clusterlab-checker --example kv_partitions`

#[path = "../tests/common/mod.rs"]
mod common;

use checker::check::Whole;
use checker::models::kv::Kv;
use checker::{check, check_unpartitioned, Budget};
use std::time::Instant;

fn main() {
    let mut rng = common::Rng(50);
    let h = common::kv_history(&mut rng, 50, 100, 20);
    let runs = 5;
    let mut best = f64::MAX;
    let mut v = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        v = Some(check(&Kv, &h, &Budget::default()));
        best = best.min(t0.elapsed().as_secs_f64());
    }
    let v = v.unwrap();
    println!(
        "per key:   {} ops, {} partitions, {:?}, {} steps, memo peak {}, best of {runs}: {:.2} ms",
        h.len(),
        v.partitions,
        v.linearizable,
        v.steps,
        v.memo_peak,
        best * 1e3
    );
    let budget = Budget { max_steps: 2_000_000, ..Budget::default() };
    let t0 = Instant::now();
    let w = check_unpartitioned(&Whole(Kv), &h, &budget);
    println!(
        "as one:    {} ops, {:?} ({}), {} steps, memo peak {}, {:.2} ms",
        h.len(),
        w.linearizable,
        w.exhausted.map_or("decided".to_string(), |e| e.to_string()),
        w.steps,
        w.memo_peak,
        t0.elapsed().as_secs_f64() * 1e3
    );
}
