//! Virtual time. The simulation clock is an integer count of nanoseconds since
//! the start of the run; nothing in the engine ever reads a wall clock.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in simulated time: nanoseconds since the run started.
pub type Time = u64;

pub const NANOS_PER_MICRO: u64 = 1_000;
pub const NANOS_PER_MILLI: u64 = 1_000_000;
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A length of simulated time, written in scenarios as a string with a unit:
/// `"250ms"`, `"1.5s"`, `"40us"`, `"2m"`, `"100ns"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    pub nanos: u64,
}

impl Duration {
    pub const ZERO: Duration = Duration { nanos: 0 };

    pub const fn from_nanos(nanos: u64) -> Self {
        Duration { nanos }
    }
    pub const fn from_micros(us: u64) -> Self {
        Duration { nanos: us * NANOS_PER_MICRO }
    }
    pub const fn from_millis(ms: u64) -> Self {
        Duration { nanos: ms * NANOS_PER_MILLI }
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration { nanos: s * NANOS_PER_SEC }
    }
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// Parses `"<number><unit>"`; the number may have a decimal fraction, which
    /// is converted exactly with integer arithmetic (no floating point).
    pub fn parse(text: &str) -> Result<Duration, String> {
        let s = text.trim();
        if s.starts_with('-') {
            return Err(format!("`{text}` is negative; a duration cannot be"));
        }
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| {
            format!("`{text}` has no unit; write e.g. \"250ms\" or \"2s\" (units: ns, us, ms, s, m, h)")
        })?;
        let (number, unit) = s.split_at(split);
        const UNITS: [&str; 6] = ["ns", "us", "ms", "s", "m", "h"];
        if number.is_empty() && !UNITS.contains(&unit) {
            return Err(format!("`{text}` is not a duration; write a number and a unit, e.g. \"250ms\" or \"2s\""));
        }
        let unit_nanos = match unit {
            "ns" => 1,
            "us" => NANOS_PER_MICRO,
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            other => return Err(format!("`{text}` has an unknown unit `{other}` (units: ns, us, ms, s, m, h)")),
        };
        if number.is_empty() {
            return Err(format!("`{text}` has no number before its unit"));
        }
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        if frac.contains('.') || (whole.is_empty() && frac.is_empty()) {
            return Err(format!("`{text}` is not a number followed by a unit"));
        }
        let overflow = || format!("`{text}` is too long (the limit is about 584 years)");
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| overflow())? };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(overflow)?;
        // Fractional digits: exact as long as they do not go below a nanosecond.
        let mut scale = unit_nanos;
        for digit in frac.bytes() {
            scale /= 10;
            let d = u64::from(digit - b'0');
            if scale == 0 {
                if d != 0 {
                    return Err(format!("`{text}` is more precise than a nanosecond"));
                }
                continue;
            }
            nanos = nanos.checked_add(d * scale).ok_or_else(overflow)?;
        }
        Ok(Duration { nanos })
    }
}

impl fmt::Display for Duration {
    /// The shortest exact rendering in the largest unit that divides it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_nanos(self.nanos, f)
    }
}

fn format_nanos(n: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    const UNITS: [(u64, &str); 4] = [(NANOS_PER_SEC, "s"), (NANOS_PER_MILLI, "ms"), (NANOS_PER_MICRO, "us"), (1, "ns")];
    if n == 0 {
        return write!(f, "0s");
    }
    for (size, unit) in UNITS {
        if n >= size {
            let whole = n / size;
            let rest = n % size;
            if rest == 0 {
                return write!(f, "{whole}{unit}");
            }
            // Up to three decimals if exact, else fall through to a smaller unit.
            let step = size / 1000;
            if step > 0 && rest.is_multiple_of(step) {
                let frac = format!("{:03}", rest / step);
                return write!(f, "{whole}.{}{unit}", frac.trim_end_matches('0'));
            }
        }
    }
    write!(f, "{n}ns")
}

/// Renders a point in time like a duration since the start (`"12.5s"`).
pub fn format_time(t: Time) -> String {
    Duration::from_nanos(t).to_string()
}

/// A point in time for people to read: in the largest unit it reaches, with
/// at most three decimals, cut (not rounded) so it never reads later than
/// it was: `"2.666s"`, `"20.594ms"`, `"594.585us"`. `format_time` is exact,
/// which for 20,594,585 ns means `"20594.585us"`.
pub fn format_time_short(t: Time) -> String {
    let step = [NANOS_PER_SEC, NANOS_PER_MILLI, NANOS_PER_MICRO]
        .into_iter()
        .find(|&unit| t >= unit)
        .map_or(1, |unit| unit / 1000);
    format_time(t - t % step)
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\" or \"2s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions_exactly() {
        assert_eq!(Duration::parse("250ms").unwrap().nanos, 250_000_000);
        assert_eq!(Duration::parse("1.5s").unwrap().nanos, 1_500_000_000);
        assert_eq!(Duration::parse("0.001ms").unwrap().nanos, 1_000);
        assert_eq!(Duration::parse("40us").unwrap().nanos, 40_000);
        assert_eq!(Duration::parse("2m").unwrap().nanos, 120 * NANOS_PER_SEC);
        assert_eq!(Duration::parse("7ns").unwrap().nanos, 7);
        assert_eq!(Duration::parse(".5s").unwrap().nanos, 500_000_000);
    }

    #[test]
    fn rejects_bad_durations_with_reasons() {
        assert!(Duration::parse("10").unwrap_err().contains("no unit"));
        assert!(Duration::parse("10 parsecs").unwrap_err().contains("unknown unit"));
        assert!(Duration::parse("-5ms").unwrap_err().contains("negative"));
        assert!(Duration::parse("ms").unwrap_err().contains("no number"));
        assert!(Duration::parse("1.2.3s").unwrap_err().contains("not a number"));
        assert!(Duration::parse("soon").unwrap_err().contains("is not a duration"));
        assert!(Duration::parse("0.5ns").unwrap_err().contains("more precise"));
        assert!(Duration::parse("99999999999999999999s").unwrap_err().contains("too long"));
    }

    #[test]
    fn displays_round_trip() {
        for text in ["250ms", "1.5s", "40us", "7ns", "0s", "12.345s", "1.001ms"] {
            let d = Duration::parse(text).unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }
        assert_eq!(Duration::from_nanos(1_234_567).to_string(), "1234.567us");
    }

    #[test]
    fn short_times_keep_three_decimals_of_their_largest_unit() {
        assert_eq!(format_time_short(20_594_585), "20.594ms");
        assert_eq!(format_time_short(2_666_699_935), "2.666s");
        assert_eq!(format_time_short(594_585), "594.585us");
        assert_eq!(format_time_short(999), "999ns");
        assert_eq!(format_time_short(0), "0s");
        assert_eq!(format_time_short(61 * NANOS_PER_SEC + 7), "61s");
    }
}
