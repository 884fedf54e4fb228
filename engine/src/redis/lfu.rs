//! LFU (`evict.c`): under the LFU policies the 24-bit `lru` field holds
//! the last decrement time in minutes (16 bits, `(unixtime / 60) & 65535`)
//! and an 8-bit logarithmic access counter.
//!
//! * A new object starts at `LFU_INIT_VAL` (5), so it is not evicted before
//!   it has had a chance to be used.
//! * On access (`updateLFU`): first decay (`LFUDecrAndReturn`: minus one
//!   per `lfu-decay-time` minutes since the last decrement, floored at 0),
//!   then `LFULogIncr`: with `base = max(0, counter - 5)`, add one with
//!   probability `1 / (base * lfu-log-factor + 1)`, saturating at 255. With
//!   the default factor 10, about a million accesses reach 255.
//! * Eviction ranks keys by the decayed counter without storing it.
//!
//! Redis draws from `rand()`; the model draws from the caller's [`Rng`].

use crate::rng::Rng;

pub const LFU_INIT_VAL: u8 = 5;

/// `LFUGetTimeInMinutes`.
pub fn minutes(now_ms: i64) -> u16 {
    (now_ms.div_euclid(1000).div_euclid(60) & 65535) as u16
}

/// The `lru` field of a new object.
pub fn initial(now_ms: i64) -> u32 {
    (u32::from(minutes(now_ms)) << 8) | u32::from(LFU_INIT_VAL)
}

pub fn counter(lru: u32) -> u8 {
    (lru & 255) as u8
}

/// `LFUTimeElapsed`: minutes since `ldt`, allowing for one wrap of the
/// 16-bit minute clock.
fn minutes_elapsed(ldt: u16, now: u16) -> u32 {
    if now >= ldt {
        u32::from(now - ldt)
    } else {
        65535 - u32::from(ldt) + u32::from(now)
    }
}

/// `LFUDecrAndReturn`: the counter after decay, without storing it.
pub fn decayed_counter(lru: u32, now_ms: i64, decay_time_min: u32) -> u8 {
    let ldt = (lru >> 8) as u16;
    let c = counter(lru);
    if decay_time_min == 0 {
        return c;
    }
    let periods = minutes_elapsed(ldt, minutes(now_ms)) / decay_time_min;
    if periods > u32::from(c) {
        0
    } else {
        c - periods as u8
    }
}

/// `LFULogIncr`.
pub fn log_incr(c: u8, log_factor: u32, rng: &mut Rng) -> u8 {
    if c == 255 {
        return 255;
    }
    let base = f64::from(c.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if rng.unit() < p {
        c + 1
    } else {
        c
    }
}

/// `updateLFU`: the `lru` field after one access at `now_ms`.
pub fn on_access(lru: u32, now_ms: i64, log_factor: u32, decay_time_min: u32, rng: &mut Rng) -> u32 {
    let c = log_incr(decayed_counter(lru, now_ms, decay_time_min), log_factor, rng);
    (u32::from(minutes(now_ms)) << 8) | u32::from(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn new_keys_start_at_five_and_the_first_access_always_counts() {
        let mut rng = Rng::stream(1, 1);
        let lru = initial(0);
        assert_eq!(counter(lru), 5);
        // base 0: probability 1.
        assert_eq!(counter(on_access(lru, 0, 10, 1, &mut rng)), 6);
        // Below the initial value (after decay) every access counts too.
        assert_eq!(log_incr(2, 10, &mut rng), 3);
    }

    #[test]
    fn increments_get_rarer_as_the_counter_grows() {
        // From 6 (base 1) the probability is 1/11: about 1000 of 11000.
        let mut rng = Rng::stream(2, 2);
        let bumps = (0..11_000).filter(|_| log_incr(6, 10, &mut rng) == 7).count();
        assert!((900..1100).contains(&bumps), "{bumps}");
        // A million accesses from 5 land near the top (Redis's table in
        // redis.conf: 1M hits reach 255 with factor 10).
        let mut lru = initial(0);
        for _ in 0..1_000_000 {
            lru = on_access(lru, 0, 10, 1, &mut rng);
        }
        assert!(counter(lru) >= 250, "{}", counter(lru));
        assert_eq!(log_incr(255, 10, &mut rng), 255);
    }

    #[test]
    fn idle_keys_decay_one_step_per_decay_period() {
        let lru = (u32::from(minutes(0)) << 8) | 20;
        assert_eq!(decayed_counter(lru, 59_999, 1), 20);
        assert_eq!(decayed_counter(lru, MIN, 1), 19);
        assert_eq!(decayed_counter(lru, 7 * MIN, 1), 13);
        assert_eq!(decayed_counter(lru, 7 * MIN, 2), 17);
        assert_eq!(decayed_counter(lru, 7 * MIN, 0), 20);
        assert_eq!(decayed_counter(lru, 300 * MIN, 1), 0);
        // Decay is applied before the increment, and the time is stored.
        let mut rng = Rng::stream(3, 3);
        let after = on_access(lru, 30 * MIN, 10, 1, &mut rng);
        // 20 decays to 0 in 30 minutes, and from 0 every access counts.
        assert_eq!(counter(after), 1);
        assert_eq!(after >> 8, 30);
    }

    #[test]
    fn the_minute_clock_wraps_at_16_bits() {
        let lru = (65534u32 << 8) | 10;
        // Now reads minute 2: 65535 - 65534 + 2 = 3 minutes.
        assert_eq!(decayed_counter(lru, (65536 + 2) * MIN, 1), 7);
    }
}
