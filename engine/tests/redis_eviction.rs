//! Eviction against the real thing: a cache-aside workload (GET, and SET on
//! a miss) runs against a real `redis-server` under `maxmemory`, then
//! against the model with the same key sequence at the same instants (the
//! host clock read before each access on the real run); their hit ratios
//! must agree within `TOLERANCE_PP` percentage points.
//!
//! Memory is sized so that the same number of keys fits in each: the real
//! server's `maxmemory` is its `used_memory` with `CAPACITY` keys loaded
//! (measured via `INFO memory`), the model's is `CAPACITY` times its own
//! per-key cost. Both start from those same `CAPACITY` keys, which the
//! workload never reads.
//!
//! Redis's LRU clock ticks once a second, so LRU only beats random eviction
//! when keys stay cached for several seconds. Two workloads show both
//! sides of that:
//!
//! * Zipf at full speed: the cache turns over in a fraction of a second,
//!   Redis's LRU is no better than random, and a model with exact LRU
//!   would be 4 to 5 points too good. Run with LFU too, whose counter does
//!   not depend on the clock (8 points better than LRU here).
//! * A hot set plus a stream of one-off keys, paced to 2000 accesses a
//!   second for 10 s: cached keys live for seconds and LRU is clearly
//!   better than random.
//!
//! `cargo test -p clusterlab-engine --test redis_eviction -- --nocapture
//! --test-threads 1` prints the figures (recorded in BENCHMARKS.md).

#[path = "common/redis_server.rs"]
mod redis_server;

use engine::redis::memory::entry_bytes;
use engine::redis::{Keyspace, MaxmemoryPolicy, RedisConfig, Reply};
use engine::rng::Rng;
use redis_server::{unix_ms, RedisServer};
use std::time::Duration;

/// Keys that fit in memory.
const CAPACITY: usize = 1_000;
/// Large values make the server's own fluctuating memory (client buffers,
/// some tens of KB) small next to the room for keys: about 1 % of it.
const VALUE_LEN: usize = 4_000;
/// Seeds of the model's random stream (sampling, LFU) tried, to show its
/// spread.
const MODEL_SEEDS: u64 = 3;
/// The allowed difference in hit ratio, in percentage points. Observed
/// (BENCHMARKS.md): the model's spread over seeds is about 0.3 points;
/// redis-server's from run to run up to 1.7 points in the paced workload
/// (its timing varies, and the model replays each run's own timing); and
/// under LRU the model is 0.5 to 1.4 points better than Redis, most of it
/// because Redis samples runs of neighbouring hash buckets, whose chains
/// put the newest keys first, while the model samples uniformly. 2.5
/// points allows for that, and each test also checks that the plausible
/// wrong models (exact LRU, random eviction, LFU for LRU) are further
/// than that from Redis, so they would fail.
const TOLERANCE_PP: f64 = 2.5;

/// The keys of one run, in order, and the pace (accesses per second, or
/// as fast as the loopback round trips go).
struct Workload {
    name: &'static str,
    keys: Vec<String>,
    per_second: Option<u64>,
}

fn key(i: usize) -> String {
    format!("key:{i:06}")
}

/// Keys loaded before the run, the same length as the workload's.
fn fill_key(i: usize) -> String {
    format!("pre:{i:06}")
}

fn value() -> Vec<u8> {
    vec![b'v'; VALUE_LEN]
}

/// `n` accesses, the key of rank r (from 0) read with probability ∝
/// 1/(r+1)^s, drawn by inverse CDF with the engine's pinned generator.
fn zipf(name: &'static str, keys: usize, s: f64, n: usize) -> Workload {
    let weights: Vec<f64> = (1..=keys).map(|r| 1.0 / libm::pow(r as f64, s)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    let cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect();
    let mut rng = Rng::stream(1, 7);
    let keys = (0..n)
        .map(|_| {
            let u = rng.unit();
            key(cdf.partition_point(|&c| c < u).min(keys - 1))
        })
        .collect();
    Workload { name, keys, per_second: None }
}

/// `n` accesses: with probability `p_hot` one of `hot` keys (uniformly),
/// otherwise a key never read before or again.
fn hot_and_scan(name: &'static str, hot: usize, p_hot: f64, n: usize, per_second: u64) -> Workload {
    let mut rng = Rng::stream(2, 7);
    let mut next_once = 100_000;
    let keys = (0..n)
        .map(|_| {
            if rng.chance(p_hot) {
                key(rng.below(hot as u64) as usize)
            } else {
                next_once += 1;
                key(next_once)
            }
        })
        .collect();
    Workload { name, keys, per_second: Some(per_second) }
}

struct RealRun {
    hits: usize,
    /// The host's clock at each access, to replay the model at the same instants.
    times_ms: Vec<i64>,
    secs: f64,
    keys_at_end: u64,
    baseline: u64,
    per_key: u64,
    maxmemory: u64,
    evicted_keys: u64,
}

fn run_real(policy: MaxmemoryPolicy, w: &Workload) -> RealRun {
    let server = RedisServer::start();
    let mut c = server.client();
    let baseline = c.info_u64("memory", "used_memory");
    let v = value();
    for i in 0..CAPACITY {
        c.ok(&[b"SET".as_slice(), fill_key(i).as_bytes(), &v]);
    }
    let maxmemory = c.info_u64("memory", "used_memory");
    c.ok(&["CONFIG", "SET", "maxmemory-policy", policy.name()]);
    c.ok(&["CONFIG", "SET", "maxmemory", &maxmemory.to_string()]);
    c.ok(&["CONFIG", "RESETSTAT"]);
    let mut hits = 0;
    let mut times_ms = Vec::with_capacity(w.keys.len());
    let started = std::time::Instant::now();
    for (i, k) in w.keys.iter().enumerate() {
        if let Some(rate) = w.per_second {
            let due = Duration::from_micros(i as u64 * 1_000_000 / rate);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        times_ms.push(unix_ms());
        match c.call(&["GET", k]) {
            Reply::Nil => c.ok(&[b"SET".as_slice(), k.as_bytes(), &v]),
            Reply::Bulk(_) => hits += 1,
            other => panic!("GET answered {other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(c.info_u64("stats", "keyspace_hits"), hits as u64, "INFO agrees with the replies");
    let keys_at_end = match c.call(&["DBSIZE"]) {
        Reply::Integer(n) => n as u64,
        other => panic!("DBSIZE answered {other:?}"),
    };
    RealRun {
        hits,
        times_ms,
        secs,
        keys_at_end,
        baseline,
        per_key: (maxmemory - baseline) / CAPACITY as u64,
        maxmemory,
        evicted_keys: c.info_u64("stats", "evicted_keys"),
    }
}

struct ModelRun {
    hits: usize,
    keys_at_end: usize,
    evicted_keys: u64,
}

fn model_maxmemory() -> u64 {
    CAPACITY as u64 * entry_bytes(key(0).len(), VALUE_LEN)
}

fn run_model(policy: MaxmemoryPolicy, seed: u64, w: &Workload, times_ms: &[i64]) -> ModelRun {
    let mut rng = Rng::stream(seed, 1);
    let config = RedisConfig { maxmemory_policy: policy, ..RedisConfig::default() };
    let mut m = Keyspace::new(config, &mut rng);
    let v = value();
    let t0 = times_ms[0];
    for i in 0..CAPACITY {
        m.execute(&[b"SET".as_slice(), fill_key(i).as_bytes(), &v], t0, &mut rng);
    }
    m.set_maxmemory(model_maxmemory());
    let mut hits = 0;
    let mut next_cron = t0;
    for (k, &now) in w.keys.iter().zip(times_ms) {
        while next_cron <= now {
            m.cron(next_cron, &mut rng);
            next_cron += 100;
        }
        match m.execute(&["GET", k], now, &mut rng) {
            Reply::Nil => assert_eq!(m.execute(&[b"SET".as_slice(), k.as_bytes(), &v], now, &mut rng), Reply::ok()),
            Reply::Bulk(_) => hits += 1,
            other => panic!("GET answered {other:?}"),
        }
    }
    assert_eq!(m.stats().keyspace_hits, hits as u64);
    ModelRun { hits, keys_at_end: m.len(), evicted_keys: m.stats().evicted_keys }
}

/// Runs `w` on redis-server and on the model under `policy`, prints the
/// figures, checks the hit ratios agree, and returns (redis-server's hit
/// ratio, the model's mean) in percent, with the real run's clock.
fn compare(policy: MaxmemoryPolicy, w: &Workload) -> (f64, f64, Vec<i64>) {
    let real = run_real(policy, w);
    let n = w.keys.len() as f64;
    let pct = |hits: usize| 100.0 * hits as f64 / n;
    let models: Vec<ModelRun> = (0..MODEL_SEEDS).map(|seed| run_model(policy, seed, w, &real.times_ms)).collect();
    let ratios: Vec<f64> = models.iter().map(|m| pct(m.hits)).collect();
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    let (lo, hi) = ratios.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));

    eprintln!("[{} / {policy}] {} accesses in {:.1} s", w.name, w.keys.len(), real.secs);
    eprintln!(
        "  redis-server: used_memory {} B before loading, {} B per key, maxmemory {} B; {} keys at the end, {} evicted",
        real.baseline, real.per_key, real.maxmemory, real.keys_at_end, real.evicted_keys
    );
    eprintln!(
        "  model: {} B per key, maxmemory {} B; {} keys at the end, {} evicted",
        entry_bytes(key(0).len(), VALUE_LEN),
        model_maxmemory(),
        models[0].keys_at_end,
        models[0].evicted_keys
    );
    eprintln!("  hit ratio: redis-server {:.2} %, model {mean:.2} % (seeds {lo:.2} to {hi:.2})", pct(real.hits));

    // Eviction runs before each command, so a run that ends on a miss (and
    // its SET) holds one key more until the next command.
    assert!((CAPACITY..=CAPACITY + 1).contains(&models[0].keys_at_end), "{} keys", models[0].keys_at_end);
    let real_keys = real.keys_at_end as f64;
    assert!((real_keys - CAPACITY as f64).abs() <= CAPACITY as f64 * 0.05, "redis-server holds {real_keys} keys");
    let diff = (pct(real.hits) - mean).abs();
    assert!(diff <= TOLERANCE_PP, "{}: hit ratios differ by {diff:.2} points (tolerance {TOLERANCE_PP})", w.name);
    (pct(real.hits), mean, real.times_ms)
}

fn model_only(policy: MaxmemoryPolicy, w: &Workload, times_ms: &[i64]) -> f64 {
    100.0 * run_model(policy, 0, w, times_ms).hits as f64 / w.keys.len() as f64
}

#[test]
fn zipf_full_speed_allkeys_lru() {
    let w = zipf("zipf s=1 over 10000 keys, full speed", 10_000, 1.0, 100_000);
    let (real, _, times) = compare(MaxmemoryPolicy::AllkeysLru, &w);
    // The same accesses one every 100 ms: the LRU clock now tells keys
    // apart, which is what exact LRU would give.
    let slow: Vec<i64> = (0..w.keys.len() as i64).map(|i| times[0] + i * 100).collect();
    let random = model_only(MaxmemoryPolicy::AllkeysRandom, &w, &times);
    let slow_lru = model_only(MaxmemoryPolicy::AllkeysLru, &w, &slow);
    eprintln!(
        "  model, same accesses: allkeys-random {random:.2} %; allkeys-lru with one access per 100 ms {slow_lru:.2} %"
    );
    assert!(slow_lru - real > TOLERANCE_PP, "an LRU with a finer clock would be told apart");
}

#[test]
fn zipf_full_speed_allkeys_lfu() {
    let w = zipf("zipf s=1 over 10000 keys, full speed", 10_000, 1.0, 100_000);
    let (real, _, times) = compare(MaxmemoryPolicy::AllkeysLfu, &w);
    let lru = model_only(MaxmemoryPolicy::AllkeysLru, &w, &times);
    eprintln!("  model, same accesses: allkeys-lru {lru:.2} %");
    assert!(real - lru > TOLERANCE_PP, "LRU would be told apart from LFU");
}

#[test]
fn hot_set_and_scan_paced_allkeys_lru() {
    let w = hot_and_scan("600 hot keys (90 %) and one-off keys (10 %), 2000/s", 600, 0.9, 20_000, 2_000);
    let (real, _, times) = compare(MaxmemoryPolicy::AllkeysLru, &w);
    let random = model_only(MaxmemoryPolicy::AllkeysRandom, &w, &times);
    eprintln!("  model, same accesses: allkeys-random {random:.2} %");
    assert!(real - random > TOLERANCE_PP, "random eviction would be told apart from LRU");
}
