//! The LRU clock: every object keeps a 24-bit `lru` field. Under the LRU
//! policies (and every non-LFU policy) it holds the LRU clock of the last
//! access, in seconds (`LRU_CLOCK_RESOLUTION` 1000 ms), wrapping every
//! 2^24 s (194 days). `estimateObjectIdleTime` turns it back into an idle
//! time in milliseconds, so two accesses within the same second look
//! equally recent: Redis's LRU is approximate twice over (this, and the
//! sampling in `evict.rs`).
//!
//! Redis reads `server.lruclock`, refreshed by `serverCron` every
//! 1000/`hz` ms, so the clock moves to the next second up to one cron
//! period late; the keyspace does the same once `cron` has been called,
//! and reads the caller's clock directly before that.

pub const LRU_BITS: u32 = 24;
pub const LRU_CLOCK_MAX: u32 = (1 << LRU_BITS) - 1;
pub const LRU_CLOCK_RESOLUTION_MS: i64 = 1000;

/// `getLRUClock`: the clock at `now_ms` (milliseconds of the node's wall
/// clock).
pub fn lru_clock(now_ms: i64) -> u32 {
    (now_ms.div_euclid(LRU_CLOCK_RESOLUTION_MS) as u64 & u64::from(LRU_CLOCK_MAX)) as u32
}

/// `estimateObjectIdleTime`: milliseconds since the access recorded in
/// `lru`, by the LRU clock reading `clock`, allowing for one wrap.
pub fn estimate_idle_ms(lru: u32, clock: u32) -> u64 {
    let clock = u64::from(clock);
    let lru = u64::from(lru);
    let ticks = if clock >= lru { clock - lru } else { clock + (u64::from(LRU_CLOCK_MAX) - lru) };
    ticks * LRU_CLOCK_RESOLUTION_MS as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_has_one_second_resolution() {
        let t = 1_700_000_000_123;
        let lru = lru_clock(t);
        assert_eq!(estimate_idle_ms(lru, lru_clock(t)), 0);
        assert_eq!(estimate_idle_ms(lru, lru_clock(t + 876)), 0);
        assert_eq!(estimate_idle_ms(lru, lru_clock(t + 877)), 1000);
        assert_eq!(estimate_idle_ms(lru, lru_clock(t + 60_000)), 60_000);
    }

    #[test]
    fn the_clock_wraps_after_24_bits_of_seconds() {
        let lru = LRU_CLOCK_MAX - 1;
        // The clock reads 3 after wrapping. As Redis: clock + (LRU_CLOCK_MAX
        // - lru) = 3 + 1 ticks.
        assert_eq!(estimate_idle_ms(lru, 3), 4000);
        assert_eq!(lru_clock(-1), LRU_CLOCK_MAX);
    }
}
