//! Per-node clocks. True time is the simulation's; each node reads its own
//! clocks, which a clock-skew fault can set off (a step in the wall clock)
//! and make run fast or slow (drift, in parts per million).
//!
//! As on Linux: the wall clock (`CLOCK_REALTIME`) takes both steps and drift;
//! the monotonic clock (`CLOCK_MONOTONIC`) takes only the drift. Timers run on
//! the monotonic clock, so a node whose clock runs fast fires its timers
//! early in true time.

use crate::time::{Duration, Time};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const PPM: i128 = 1_000_000;

/// A signed offset written like a duration with an optional sign: `"-150ms"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Offset {
    pub nanos: i64,
}

impl Offset {
    pub fn parse(text: &str) -> Result<Offset, String> {
        let t = text.trim();
        let (sign, rest) = match t.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, t.strip_prefix('+').unwrap_or(t)),
        };
        let d = Duration::parse(rest)?;
        let n = i64::try_from(d.nanos).map_err(|_| format!("`{text}` is too large"))?;
        Ok(Offset { nanos: sign * n })
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos < 0 {
            write!(f, "-")?;
        }
        write!(f, "{}", Duration::from_nanos(self.nanos.unsigned_abs()))
    }
}

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Offset::parse(&s).map_err(de::Error::custom)
    }
}

/// A node's clocks: piecewise linear in true time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// True time of the last change.
    anchor: Time,
    /// The monotonic reading at `anchor`.
    monotonic_at_anchor: i64,
    /// Wall clock minus monotonic clock.
    wall_offset: i64,
    drift_ppm: i64,
}

impl Clock {
    pub fn monotonic(&self, now: Time) -> i64 {
        if self.drift_ppm == 0 {
            // The common case, without 128-bit arithmetic.
            return self.monotonic_at_anchor + (now - self.anchor) as i64;
        }
        let elapsed = i128::from(now - self.anchor);
        let scaled = elapsed * (PPM + i128::from(self.drift_ppm)) / PPM;
        self.monotonic_at_anchor + scaled as i64
    }

    pub fn wall(&self, now: Time) -> i64 {
        self.monotonic(now) + self.wall_offset
    }

    /// The wall clock's error against true time.
    pub fn wall_error(&self, now: Time) -> i64 {
        self.wall(now) - now as i64
    }

    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// Sets the wall clock to read `offset` away from true time from `now`
    /// on, and the rate of both clocks to `drift_ppm`.
    pub fn skew(&mut self, now: Time, offset: Offset, drift_ppm: i64) {
        let mono = self.monotonic(now);
        self.anchor = now;
        self.monotonic_at_anchor = mono;
        self.wall_offset = now as i64 + offset.nanos - mono;
        self.drift_ppm = drift_ppm;
    }

    /// How much true time passes while this node's monotonic clock advances
    /// by `local` nanoseconds (rounded up, so a timer never fires early by
    /// rounding).
    pub fn true_span(&self, local: u64) -> u64 {
        if self.drift_ppm == 0 {
            return local;
        }
        let rate = PPM + i128::from(self.drift_ppm);
        let span = (i128::from(local) * PPM + rate - 1) / rate;
        span as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::NANOS_PER_SEC;

    #[test]
    fn unskewed_clock_reads_true_time() {
        let c = Clock::default();
        assert_eq!(c.wall(5 * NANOS_PER_SEC), 5 * NANOS_PER_SEC as i64);
        assert_eq!(c.true_span(1000), 1000);
    }

    #[test]
    fn offset_steps_the_wall_clock_only() {
        let mut c = Clock::default();
        c.skew(NANOS_PER_SEC, Offset::parse("-250ms").unwrap(), 0);
        let t = 3 * NANOS_PER_SEC;
        assert_eq!(c.wall(t), t as i64 - 250_000_000);
        assert_eq!(c.monotonic(t), t as i64);
    }

    #[test]
    fn drift_makes_timers_fire_early_in_true_time() {
        let mut c = Clock::default();
        // 10% fast: 1 s of local time passes in ~0.909 s of true time.
        c.skew(0, Offset::default(), 100_000);
        assert_eq!(c.true_span(NANOS_PER_SEC), 909_090_910);
        assert_eq!(c.monotonic(NANOS_PER_SEC), 1_100_000_000);
        assert_eq!(c.wall_error(NANOS_PER_SEC), 100_000_000);
    }

    #[test]
    fn offsets_parse_with_sign() {
        assert_eq!(Offset::parse("-1.5s").unwrap().nanos, -1_500_000_000);
        assert_eq!(Offset::parse("+2ms").unwrap().nanos, 2_000_000);
        assert_eq!(Offset::parse("-1.5s").unwrap().to_string(), "-1.5s");
    }
}
