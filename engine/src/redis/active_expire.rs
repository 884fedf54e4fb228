//! Active expiry (`expire.c:activeExpireCycle`, the algorithm since Redis
//! 6.0) and the two hooks that run it: `cron` (`serverCron`, every
//! 1000/`hz` ms: the slow cycle) and `before_sleep` (after each batch of
//! commands: the fast cycle).
//!
//! Each loop walks the keys with a TTL **with a cursor**, in hash order,
//! looking at up to 20 keys (`ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`, +25 % per
//! effort step) and deleting the expired ones; it loops again while more
//! than 10 % of those it looked at had expired
//! (`ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`, -1 per effort step), and stops
//! on its time limit, checked every 16 loops: 25 % of a cron period for the
//! slow cycle (25 ms at `hz` 10), 1000 µs for the fast one. A fast cycle
//! runs only if the last cycle hit its time limit (Redis also means to run
//! it when the estimated share of stale keys is high, but compares a
//! fraction with a percentage, so that never happens), and never within
//! twice its duration of the previous fast cycle. (The "20 random keys, again if more
//! than 25 % expired" of older docs is the pre-6.0 algorithm.)
//!
//! The model charges [`EXPIRE_KEY_COST_US`] of modelled time per key looked
//! at, so a slow cycle looks at no more than about 25,000 keys: the work
//! per call is bounded and deterministic. Redis also gives up on a table
//! less than 1 % full (it would be resized soon); the model has no buckets
//! and never does.

use super::keyspace::{Keyspace, Role};
use super::store::ExpireCursor;
use crate::rng::Rng;

pub const ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP: u64 = 20;
pub const ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US: i64 = 1000;
pub const ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC: i64 = 25;
pub const ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE: u64 = 10;
/// The modelled CPU time to look at one key (and delete it if expired).
pub const EXPIRE_KEY_COST_US: i64 = 1;

/// `ACTIVE_EXPIRE_CYCLE_SLOW` / `_FAST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleKind {
    Slow,
    Fast,
}

/// What one cycle did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// False when the cycle was skipped (a fast cycle not due, a replica).
    pub ran: bool,
    pub keys_sampled: u64,
    pub keys_expired: u64,
    /// Modelled time spent, in microseconds.
    pub time_used_us: i64,
    /// Stopped on the time limit with work left.
    pub hit_time_limit: bool,
}

/// The cycle's memory between calls (`activeExpireCycle`'s statics and
/// the database's cursor and average TTL).
#[derive(Clone, Debug, Default)]
pub struct ActiveExpireState {
    cursor: ExpireCursor,
    timelimit_exit: bool,
    last_fast_cycle_us: Option<i64>,
    pub(crate) avg_ttl_ms: i64,
}

impl ActiveExpireState {
    /// `emptyData` resets the database's cursor and average TTL.
    pub(crate) fn reset_db(&mut self) {
        self.cursor = None;
        self.avg_ttl_ms = 0;
    }
}

impl Keyspace {
    /// `serverCron`'s share of the keyspace: the slow expire cycle on a
    /// primary, and any eviction left over. Call it every `1000 / hz` ms
    /// (100 ms by default) of the node's time.
    pub fn cron(&mut self, now_ms: i64, rng: &mut Rng) -> CycleReport {
        self.cached_lru_clock = Some(super::lru::lru_clock(now_ms));
        let report = self.active_expire_cycle(CycleKind::Slow, now_ms);
        if self.eviction_pending {
            self.perform_evictions(now_ms, rng);
        }
        report
    }

    /// `beforeSleep`'s share: the fast expire cycle on a primary, and any
    /// eviction left over. Call it after each batch of commands (optional:
    /// without it only the slow cycle reclaims keys).
    pub fn before_sleep(&mut self, now_ms: i64, rng: &mut Rng) -> CycleReport {
        let report = self.active_expire_cycle(CycleKind::Fast, now_ms);
        if self.eviction_pending {
            self.perform_evictions(now_ms, rng);
        }
        report
    }

    /// `activeExpireCycle`. Does nothing on a replica (its primary expires
    /// keys for it).
    pub fn active_expire_cycle(&mut self, kind: CycleKind, now_ms: i64) -> CycleReport {
        let mut report = CycleReport::default();
        if self.role == Role::Replica {
            return report;
        }
        let effort = u64::from(self.config.active_expire_effort - 1);
        let keys_per_loop = ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP + ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP / 4 * effort;
        let fast_duration_us =
            ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US + ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US / 4 * effort as i64;
        let slow_time_perc = ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC + 2 * effort as i64;
        let acceptable_stale = ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE - effort;
        let start_us = now_ms.saturating_mul(1000);

        let state = &mut self.expire_state;
        if kind == CycleKind::Fast {
            // Redis compares the stale *fraction* (0 to 1) with the
            // acceptable *percentage* (10), so this is always true and a
            // fast cycle follows only a cycle that hit its time limit. The
            // model keeps the comparison as it is.
            if !state.timelimit_exit && self.stats.expired_stale_perc < acceptable_stale as f64 {
                return report;
            }
            if let Some(last) = state.last_fast_cycle_us {
                if start_us < last.saturating_add(fast_duration_us * 2) {
                    return report;
                }
            }
            state.last_fast_cycle_us = Some(start_us);
        }
        report.ran = true;
        let time_limit_us = match kind {
            CycleKind::Slow => (slow_time_perc * 1_000_000 / i64::from(self.config.hz) / 100).max(1),
            CycleKind::Fast => fast_duration_us,
        };
        state.timelimit_exit = false;

        let mut iteration = 0u64;
        loop {
            iteration += 1;
            let volatile = self.store.volatile_len() as u64;
            if volatile == 0 {
                self.expire_state.avg_ttl_ms = 0;
                break;
            }
            let num = volatile.min(keys_per_loop);
            let (mut sampled, mut expired, mut ttl_sum, mut ttl_samples) = (0u64, 0u64, 0i64, 0i64);
            while sampled < num {
                let id = self.store.next_volatile(&mut self.expire_state.cursor).expect("keys with a TTL remain");
                let when = self.store.entry(id).expire_at_ms.expect("walking keys with a TTL");
                let ttl = when.saturating_sub(now_ms);
                if now_ms > when {
                    self.delete_expired(id);
                    expired += 1;
                }
                if ttl > 0 {
                    ttl_sum = ttl_sum.saturating_add(ttl);
                    ttl_samples += 1;
                }
                sampled += 1;
            }
            report.keys_sampled += sampled;
            report.keys_expired += expired;
            report.time_used_us += sampled as i64 * EXPIRE_KEY_COST_US;
            if ttl_samples > 0 {
                let avg = ttl_sum / ttl_samples;
                let state = &mut self.expire_state;
                if state.avg_ttl_ms == 0 {
                    state.avg_ttl_ms = avg;
                }
                state.avg_ttl_ms = (state.avg_ttl_ms / 50) * 49 + avg / 50;
            }
            if iteration.is_multiple_of(16) && report.time_used_us > time_limit_us {
                self.expire_state.timelimit_exit = true;
                self.stats.expired_time_cap_reached_count += 1;
                report.hit_time_limit = true;
                break;
            }
            // Again only while too many of the keys looked at were stale.
            if sampled != 0 && expired * 100 / sampled <= acceptable_stale {
                break;
            }
        }

        let current =
            if report.keys_sampled > 0 { report.keys_expired as f64 / report.keys_sampled as f64 } else { 0.0 };
        self.stats.expired_stale_perc = current * 0.05 + self.stats.expired_stale_perc * 0.95;
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::{RedisConfig, Reply};

    const T0: i64 = 1_700_000_000_000;

    /// `expired` keys that expired at T0 and `live` keys with an hour left.
    fn keyspace(expired: usize, live: usize) -> (Keyspace, Rng) {
        let mut rng = Rng::stream(4, 4);
        let mut ks = Keyspace::new(RedisConfig::default(), &mut rng);
        for i in 0..expired {
            ks.execute(&["SET", &format!("old{i}"), "v", "PXAT", &T0.to_string()], T0 - 1, &mut rng);
        }
        for i in 0..live {
            ks.execute(&["SET", &format!("live{i}"), "v", "EX", "3600"], T0, &mut rng);
        }
        for i in 0..live {
            ks.execute(&["SET", &format!("forever{i}"), "v"], T0, &mut rng);
        }
        (ks, rng)
    }

    #[test]
    fn the_slow_cycle_sweeps_out_every_expired_key_when_many_are_stale() {
        let (mut ks, mut rng) = keyspace(1_000, 1_000);
        let report = ks.cron(T0 + 1, &mut rng);
        assert!(report.ran && !report.hit_time_limit);
        assert_eq!(report.keys_expired, 1_000);
        assert_eq!(ks.stats().expired_keys, 1_000);
        assert_eq!(ks.len(), 2_000);
        assert_eq!(ks.expires_count(), 1_000);
        assert!(ks.avg_ttl_ms() > 0);
        ks.assert_consistent();
    }

    #[test]
    fn the_cycle_stops_once_few_of_the_keys_looked_at_are_stale() {
        // 2 % stale: the first loop of 20 keys is almost surely at most 10 %
        // stale, and the cycle stops there.
        let (mut ks, mut rng) = keyspace(20, 980);
        let report = ks.cron(T0 + 1, &mut rng);
        assert!(report.keys_sampled <= 40, "{report:?}");
        assert!(ks.stats().expired_keys < 20);
        // Later cycles move the cursor on and find the rest.
        for i in 0..200 {
            ks.cron(T0 + 1 + i * 100, &mut rng);
        }
        assert_eq!(ks.stats().expired_keys, 20);
    }

    #[test]
    fn work_per_cycle_is_bounded_and_a_fast_cycle_follows_a_time_limit_exit() {
        let (mut ks, mut rng) = keyspace(100_000, 0);
        // Slow: 25 ms at hz 10, one key a modelled microsecond, checked
        // every 16 loops of 20 keys.
        let slow = ks.cron(T0 + 1, &mut rng);
        assert!(slow.hit_time_limit, "{slow:?}");
        assert!((25_000..=25_000 + 320).contains(&slow.keys_sampled), "{slow:?}");
        assert_eq!(ks.stats().expired_time_cap_reached_count, 1);
        // Fast: allowed after a time-limit exit, 1000 µs.
        let fast = ks.before_sleep(T0 + 2, &mut rng);
        assert!(fast.ran && fast.hit_time_limit && fast.keys_sampled <= 1_000 + 320, "{fast:?}");
        // Not again within twice its duration.
        assert!(!ks.before_sleep(T0 + 3, &mut rng).ran);
        assert!(ks.before_sleep(T0 + 4, &mut rng).ran);
        while ks.stats().expired_keys < 100_000 {
            ks.cron(T0 + 100, &mut rng);
        }
        assert!(ks.is_empty());
        // With nothing stale and no time-limit exit, no fast cycle.
        ks.cron(T0 + 200, &mut rng);
        assert!(!ks.before_sleep(T0 + 300, &mut rng).ran);
    }

    #[test]
    fn effort_raises_keys_per_loop_and_the_time_budget() {
        let (mut ks, mut rng) = keyspace(100_000, 0);
        ks.config.active_expire_effort = 10;
        let report = ks.cron(T0 + 1, &mut rng);
        // 25 + 2*9 = 43 % of 100 ms; loops of 20 + 5*9 = 65 keys.
        assert!((43_000..=43_000 + 16 * 65).contains(&report.keys_sampled), "{report:?}");
        assert_eq!(ks.execute(&["DBSIZE"], T0, &mut rng), Reply::Integer(100_000 - report.keys_sampled as i64));
    }
}
