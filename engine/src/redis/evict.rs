//! Eviction (`evict.c`): `performEvictions` runs before every command while
//! `maxmemory` is set, and frees memory by the configured policy.
//!
//! * LRU, LFU and volatile-ttl pick through the **eviction pool**: each
//!   refill samples `maxmemory-samples` keys (all keys, or only those with
//!   a TTL for `volatile-*`), scores them (LRU: estimated idle time; LFU:
//!   255 minus the decayed counter; TTL: the sooner the better) and merges
//!   them into 16 slots kept in ascending score. The best (rightmost) entry
//!   is evicted; entries whose key has gone since ("ghosts", or keys that
//!   lost their TTL under `volatile-*`) are dropped and the next one tried.
//!   The pool lives on between calls, with the scores it was given when
//!   sampled: a key accessed since is still evicted on its old score, as in
//!   Redis.
//! * The random policies evict a uniformly random key.
//! * `noeviction`, or nothing to evict: the pass fails and `denyoom`
//!   commands get the OOM error.
//!
//! A pass stops once the memory to free has been freed, or when it runs
//! past its time limit (`maxmemory-eviction-tenacity`, 500 µs at the
//! default 10; checked every 16 keys). The model charges
//! [`EVICTION_KEY_COST_US`] of modelled time per evicted key, so the limit
//! is deterministic. Redis then keeps evicting from a timer; the model
//! keeps evicting on the next command, `cron` or `before_sleep`.

use super::keyspace::{Keyspace, Role};
use super::lfu;
use super::lru;
use super::store::{Key, SlotId};
use crate::rng::Rng;

/// `EVPOOL_SIZE`.
pub const EVPOOL_SIZE: usize = 16;
/// The modelled CPU time one eviction takes (sampling, pool upkeep, the
/// delete), against the pass's time limit.
pub const EVICTION_KEY_COST_US: u64 = 1;

/// What a pass achieved (`EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictResult {
    /// Memory is within the limit.
    Ok,
    /// Still over the limit, but more will be evicted soon: commands go on.
    Running,
    /// Over the limit with nothing that may be evicted.
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PoolEntry {
    /// The score: higher is a better candidate.
    idle: u64,
    key: Key,
}

/// The 16-entry pool, in ascending score.
#[derive(Clone, Debug, Default)]
pub struct EvictionPool {
    entries: Vec<PoolEntry>,
}

impl EvictionPool {
    /// `evictionPoolPopulate`'s insertion: after the entries scoring
    /// strictly less; when full, a candidate worse than every entry is
    /// skipped, otherwise the worst entry makes room. Keys already in the
    /// pool are not looked for, so a key can sit there twice.
    fn insert(&mut self, idle: u64, key: Key) {
        let k = self.entries.iter().take_while(|e| e.idle < idle).count();
        if self.entries.len() == EVPOOL_SIZE {
            if k == 0 {
                return;
            }
            self.entries.remove(0);
            self.entries.insert(k - 1, PoolEntry { idle, key });
        } else {
            self.entries.insert(k, PoolEntry { idle, key });
        }
        debug_assert!(self.entries.len() <= EVPOOL_SIZE);
    }

    fn pop_best(&mut self) -> Option<PoolEntry> {
        self.entries.pop()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn is_empty_for_test(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Keyspace {
    /// `performEvictions`.
    pub(crate) fn perform_evictions(&mut self, now_ms: i64, rng: &mut Rng) -> EvictResult {
        // `isSafeToPerformEvictions`: replicas leave it to their primary.
        if self.role == Role::Replica && self.config.replica_ignore_maxmemory {
            return EvictResult::Ok;
        }
        let maxmemory = self.config.maxmemory;
        if maxmemory == 0 || self.used_memory() <= maxmemory {
            self.eviction_pending = false;
            return EvictResult::Ok;
        }
        if self.config.maxmemory_policy == super::config::MaxmemoryPolicy::NoEviction {
            self.eviction_pending = false;
            return EvictResult::Fail;
        }
        let to_free = self.used_memory() - maxmemory;
        let limit_us = self.eviction_time_limit_us();
        let mut freed = 0u64;
        let mut keys_freed = 0u64;
        while freed < to_free {
            let Some(id) = self.eviction_candidate(now_ms, rng) else {
                self.eviction_pending = false;
                return EvictResult::Fail;
            };
            let before = self.used_memory();
            let removed = self.store.remove(id);
            freed += before - self.used_memory();
            self.stats.evicted_keys += 1;
            self.propagate(vec![b"DEL".to_vec(), removed.key.to_vec()]);
            keys_freed += 1;
            if keys_freed.is_multiple_of(16) && keys_freed * EVICTION_KEY_COST_US > limit_us {
                self.eviction_pending = true;
                return EvictResult::Running;
            }
        }
        self.eviction_pending = false;
        EvictResult::Ok
    }

    /// `evictionTimeLimitUs`: linear up to tenacity 10 (50 µs a step), then
    /// 15 % more per step, and no limit at 100.
    fn eviction_time_limit_us(&self) -> u64 {
        let t = self.config.maxmemory_eviction_tenacity;
        if t <= 10 {
            50 * u64::from(t)
        } else if t < 100 {
            (500.0 * libm::pow(1.15, f64::from(t) - 10.0)) as u64
        } else {
            u64::MAX
        }
    }

    /// The key the policy evicts next, if any may go.
    fn eviction_candidate(&mut self, now_ms: i64, rng: &mut Rng) -> Option<SlotId> {
        let policy = self.config.maxmemory_policy;
        let volatile = !policy.is_allkeys();
        if !policy.uses_pool() {
            return self.store.random(volatile, rng);
        }
        loop {
            let candidates = if volatile { self.store.volatile_len() } else { self.store.len() };
            if candidates == 0 {
                return None;
            }
            self.pool_populate(volatile, now_ms, rng);
            while let Some(entry) = self.pool.pop_best() {
                if let Some(id) = self.store.find(&entry.key) {
                    if !volatile || self.store.entry(id).expire_at_ms.is_some() {
                        return Some(id);
                    }
                }
            }
        }
    }

    /// `evictionPoolPopulate`.
    fn pool_populate(&mut self, volatile: bool, now_ms: i64, rng: &mut Rng) {
        let policy = self.config.maxmemory_policy;
        let clock = self.lru_clock(now_ms);
        let mut sampled = std::mem::take(&mut self.sample_buf);
        self.store.sample(volatile, self.config.maxmemory_samples as usize, rng, &mut sampled);
        for &id in &sampled {
            let e = self.store.entry(id);
            let idle = if policy.is_lru() {
                lru::estimate_idle_ms(e.lru, clock)
            } else if policy.is_lfu() {
                255 - u64::from(lfu::decayed_counter(e.lru, now_ms, self.config.lfu_decay_time))
            } else {
                // volatile-ttl: the sooner it expires, the higher.
                let when = e.expire_at_ms.expect("volatile-ttl samples keys with a TTL");
                u64::MAX.wrapping_sub(when as u64)
            };
            let key = e.key.clone();
            self.pool.insert(idle, key);
        }
        self.sample_buf = sampled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(s: &str) -> Key {
        Arc::from(s.as_bytes())
    }

    fn scores(pool: &EvictionPool) -> Vec<u64> {
        pool.entries.iter().map(|e| e.idle).collect()
    }

    #[test]
    fn the_pool_keeps_the_16_best_in_ascending_order() {
        let mut pool = EvictionPool::default();
        for (i, idle) in [50u64, 10, 30, 20, 40].into_iter().enumerate() {
            pool.insert(idle, key(&format!("k{i}")));
        }
        assert_eq!(scores(&pool), [10, 20, 30, 40, 50]);
        for idle in 100..111 {
            pool.insert(idle, key("x"));
        }
        assert_eq!(pool.len(), EVPOOL_SIZE);
        // Full: worse than everything is skipped ...
        pool.insert(5, key("worse"));
        assert_eq!(scores(&pool)[0], 10);
        // ... otherwise the worst makes room.
        pool.insert(35, key("mid"));
        assert_eq!(&scores(&pool)[..4], [20, 30, 35, 40]);
        assert_eq!(pool.pop_best().map(|e| e.idle), Some(110));
    }

    #[test]
    fn equal_scores_go_before_the_existing_ones() {
        let mut pool = EvictionPool::default();
        pool.insert(7, key("first"));
        pool.insert(7, key("second"));
        assert_eq!(pool.pop_best().map(|e| e.key), Some(key("first")));
    }

    use crate::redis::errors;
    use crate::redis::memory::entry_bytes;
    use crate::redis::{MaxmemoryPolicy, RedisConfig, Reply};

    const T0: i64 = 1_700_000_000_000;

    /// Room for `capacity` keys named `k000`... with 1-byte values.
    fn full(policy: MaxmemoryPolicy, capacity: u64) -> (Keyspace, Rng) {
        let mut rng = Rng::stream(8, 8);
        let config =
            RedisConfig { maxmemory: capacity * entry_bytes(4, 1), maxmemory_policy: policy, ..Default::default() };
        (Keyspace::new(config, &mut rng), rng)
    }

    fn set(ks: &mut Keyspace, rng: &mut Rng, now: i64, i: usize, ttl_s: Option<u64>) -> Reply {
        let key = format!("k{i:03}");
        let reply = match ttl_s {
            Some(t) => ks.execute(&["SET", &key, "v", "EX", &t.to_string()], now, rng),
            None => ks.execute(&["SET", &key, "v"], now, rng),
        };
        ks.assert_consistent();
        reply
    }

    #[test]
    fn noeviction_refuses_only_commands_that_may_grow_memory() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::NoEviction, 3);
        for i in 0..4 {
            assert_eq!(set(&mut ks, &mut rng, T0, i, None), Reply::ok(), "the check comes before the command");
        }
        assert_eq!(set(&mut ks, &mut rng, T0, 9, None), Reply::error(errors::OOM));
        assert_eq!(ks.execute(&["INCR", "k000"], T0, &mut rng), Reply::error(errors::OOM));
        assert_eq!(ks.execute(&["GET", "k000"], T0, &mut rng), Reply::Bulk(b"v".to_vec()));
        assert_eq!(ks.execute(&["EXPIRE", "k000", "10"], T0, &mut rng), Reply::Integer(1));
        assert_eq!(ks.execute(&["DEL", "k001", "k002"], T0, &mut rng), Reply::Integer(2));
        assert_eq!(set(&mut ks, &mut rng, T0, 9, None), Reply::ok());
        assert_eq!(ks.stats().evicted_keys, 0);
        assert_eq!(ks.stats().rejected_calls, 2);
    }

    #[test]
    fn volatile_policies_evict_only_keys_with_a_ttl_then_refuse() {
        for policy in [
            MaxmemoryPolicy::VolatileLru,
            MaxmemoryPolicy::VolatileLfu,
            MaxmemoryPolicy::VolatileRandom,
            MaxmemoryPolicy::VolatileTtl,
        ] {
            let (mut ks, mut rng) = full(policy, 10);
            for i in 0..10 {
                set(&mut ks, &mut rng, T0, i, if i % 2 == 0 { Some(100) } else { None });
            }
            for i in 10..15 {
                assert_eq!(set(&mut ks, &mut rng, T0, i, None), Reply::ok(), "{policy}");
            }
            assert_eq!(ks.stats().evicted_keys, 5, "{policy}");
            assert_eq!(ks.expires_count(), 0, "{policy}");
            assert_eq!(set(&mut ks, &mut rng, T0, 15, None), Reply::ok(), "{policy}: one over is allowed");
            assert_eq!(set(&mut ks, &mut rng, T0, 16, None), Reply::error(errors::OOM), "{policy}");
            assert_eq!(ks.len(), 11, "{policy}");
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_soonest_to_expire() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::VolatileTtl, 0);
        for (i, ttl) in [(0, 50), (1, 10), (2, 40), (3, 20), (4, 30)] {
            set(&mut ks, &mut rng, T0, i, Some(ttl));
        }
        ks.set_maxmemory(ks.used_memory());
        // Each key without a TTL takes less room than one with: one
        // eviction each. With 5 candidates, sampling sees them all.
        set(&mut ks, &mut rng, T0, 5, None);
        ks.execute(&["PING"], T0, &mut rng);
        assert!(ks.peek(b"k001").is_none(), "10 s left: first to go");
        set(&mut ks, &mut rng, T0, 6, None);
        ks.execute(&["PING"], T0, &mut rng);
        assert!(ks.peek(b"k003").is_none(), "then 20 s");
        assert_eq!(ks.stats().evicted_keys, 2);
        assert_eq!(ks.len(), 5);
    }

    #[test]
    fn allkeys_lru_keeps_keys_read_in_later_seconds() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::AllkeysLru, 100);
        for i in 0..100 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        // Keys 0..50 are read a few seconds later; 100 new keys come later still.
        for i in 0..50 {
            ks.execute(&["GET", &format!("k{i:03}")], T0 + 5_000, &mut rng);
        }
        for i in 100..150 {
            set(&mut ks, &mut rng, T0 + 10_000, i, None);
        }
        ks.execute(&["PING"], T0 + 10_000, &mut rng);
        let kept = (0..50).filter(|i| ks.peek(format!("k{i:03}").as_bytes()).is_some()).count();
        assert!(kept >= 45, "kept {kept} of the 50 keys read");
        assert_eq!(ks.stats().evicted_keys, 50);
    }

    #[test]
    fn allkeys_lfu_keeps_keys_read_often() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::AllkeysLfu, 100);
        for i in 0..100 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        for _ in 0..20 {
            for i in 0..50 {
                ks.execute(&["GET", &format!("k{i:03}")], T0, &mut rng);
            }
        }
        for i in 100..150 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        let kept = (0..50).filter(|i| ks.peek(format!("k{i:03}").as_bytes()).is_some()).count();
        assert!(kept >= 48, "kept {kept} of the 50 keys read often");
    }

    #[test]
    fn ghosts_in_the_pool_are_skipped() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::AllkeysLru, 50);
        for i in 0..51 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        ks.execute(&["PING"], T0, &mut rng);
        assert!(!ks.pool.is_empty_for_test());
        // Delete every key the pool remembers, then overflow again.
        let pooled: Vec<Key> = ks.pool.entries.iter().map(|e| e.key.clone()).collect();
        for k in &pooled {
            ks.execute(&[b"DEL".as_slice(), k], T0, &mut rng);
        }
        let n = ks.len();
        for i in 100..100 + (50 - n) + 1 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        ks.execute(&["PING"], T0, &mut rng);
        assert_eq!(ks.len(), 50);
        assert_eq!(ks.stats().evicted_keys, 2);
    }

    #[test]
    fn a_pass_stops_at_its_time_limit_and_the_rest_follows() {
        let (mut ks, mut rng) = full(MaxmemoryPolicy::AllkeysRandom, 200);
        ks.config.maxmemory_eviction_tenacity = 0;
        for i in 0..200 {
            set(&mut ks, &mut rng, T0, i, None);
        }
        ks.set_maxmemory(100 * entry_bytes(4, 1));
        assert!(ks.eviction_pending());
        // Tenacity 0: 16 keys a pass; writes go on meanwhile.
        assert_eq!(ks.execute(&["SET", "x", "1"], T0, &mut rng), Reply::ok());
        assert_eq!(ks.stats().evicted_keys, 16);
        assert!(ks.eviction_pending());
        let mut passes = 0;
        while ks.eviction_pending() {
            ks.before_sleep(T0, &mut rng);
            passes += 1;
        }
        assert_eq!(ks.len(), 100);
        assert_eq!(ks.stats().evicted_keys, 101);
        assert_eq!(passes, 6, "101 keys, 16 a pass");
    }

    #[test]
    fn time_limit_follows_tenacity() {
        let mut rng = Rng::stream(1, 1);
        let mut ks = Keyspace::new(super::super::config::RedisConfig::default(), &mut rng);
        assert_eq!(ks.eviction_time_limit_us(), 500);
        ks.config.maxmemory_eviction_tenacity = 0;
        assert_eq!(ks.eviction_time_limit_us(), 0);
        ks.config.maxmemory_eviction_tenacity = 20;
        assert_eq!(ks.eviction_time_limit_us(), 2022); // 500 * 1.15^10
        ks.config.maxmemory_eviction_tenacity = 100;
        assert_eq!(ks.eviction_time_limit_us(), u64::MAX);
    }
}
