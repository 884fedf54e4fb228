//! Moments of a run as the lab writes them. The engine's `format_time` is
//! exact and picks the largest unit that keeps it short, which for a moment
//! a learner clicked ("2666699.935us") is exact but hard to read.

use engine::time::{format_time, Time, NANOS_PER_MILLI, NANOS_PER_SEC};

/// To the millisecond, as the simulated clock shows it: `"4.749s"`.
pub fn to_the_ms(t: Time) -> String {
    format_time(t - t % NANOS_PER_MILLI)
}

/// Exact, for a field a learner may edit and that must read back as the
/// same moment: `format_time` where that is short (`"5.5s"`, `"250ms"`),
/// else seconds to the nanosecond (`"2.666699935s"`).
pub fn exact(t: Time) -> String {
    if t.is_multiple_of(NANOS_PER_MILLI) {
        return format_time(t);
    }
    let frac = format!("{:09}", t % NANOS_PER_SEC);
    format!("{}.{}s", t / NANOS_PER_SEC, frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::Duration;

    #[test]
    fn readable_and_exact() {
        assert_eq!(to_the_ms(2_666_699_935), "2.666s");
        assert_eq!(to_the_ms(999_999), "0s");
        assert_eq!(exact(2_666_699_935), "2.666699935s");
        assert_eq!(exact(5_500_000_000), "5.5s");
        assert_eq!(exact(250 * NANOS_PER_MILLI), "250ms");
        assert_eq!(exact(1_500), "0.0000015s");
        for t in [0, 1, 1_500, 999_999_999, 2_666_699_935, 5_500_000_000, 61 * NANOS_PER_SEC + 7] {
            assert_eq!(Duration::parse(&exact(t)).map(|d| d.as_nanos()), Ok(t), "{}", exact(t));
        }
    }
}
