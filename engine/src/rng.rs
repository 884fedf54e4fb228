//! The one source of randomness. The algorithm is pinned (xoshiro256++ from the
//! `rand_xoshiro` crate, seeded through SplitMix64), so a seed means the same
//! stream on every platform and every release of the engine.
//!
//! Each node and each network link draws from its own stream, derived from the
//! scenario seed and a stable stream number, so adding traffic on one link does
//! not shift the random draws of another.

use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

#[derive(Clone, Debug)]
pub struct Rng {
    inner: Xoshiro256PlusPlus,
}

/// Stream numbers are namespaced so node streams never collide with link streams.
pub const STREAM_NODE: u64 = 1 << 40;
pub const STREAM_LINK: u64 = 2 << 40;
pub const STREAM_ENGINE: u64 = 3 << 40;

impl Rng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn stream(seed: u64, stream: u64) -> Rng {
        // Mix the stream number through SplitMix64 before combining, so nearby
        // seeds and nearby streams give unrelated states.
        let mut mix = SplitMix64::seed_from_u64(stream);
        let key = mix.next_u64();
        let inner =
            Xoshiro256PlusPlus::from_rng(SplitMix64::seed_from_u64(seed ^ key)).expect("SplitMix64 never fails");
        Rng { inner }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..n` without modulo bias (Lemire's multiply-and-reject).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        if hi - lo == u64::MAX {
            return self.next_u64();
        }
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (0 never, 1 always).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        self.unit() < p
    }

    /// An exponential sample with the given mean, in nanoseconds (by the
    /// ziggurat, which uses the pinned `libm`, never the platform's maths,
    /// so native and Wasm agree).
    pub fn exponential(&mut self, mean_ns: u64) -> u64 {
        if mean_ns == 0 {
            return 0;
        }
        let x = crate::ziggurat::exp1(self) * mean_ns as f64;
        // Cap the tail at 50 means: a single pathological draw should not stall
        // a run for hours of simulated time (probability e^-50).
        x.min(mean_ns as f64 * 50.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, 1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(7, 2);
                move |_| r.next_u64()
            })
            .collect();
        let d: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::stream(8, 1);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn pinned_algorithm_gives_the_recorded_values() {
        // If this fails, the PRNG changed and every saved scenario would replay
        // differently: that is a breaking change, not a test to update lightly.
        let mut r = Rng::stream(42, 0);
        let first = [r.next_u64(), r.next_u64()];
        assert_eq!(first, PINNED_42_0);
    }
    const PINNED_42_0: [u64; 2] = [6583781189378355955, 15768989561783718173];

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut r = Rng::stream(1, 1);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn exponential_has_the_right_mean() {
        let mut r = Rng::stream(3, 9);
        let n = 100_000u64;
        let total: u64 = (0..n).map(|_| r.exponential(1_000_000)).sum();
        let mean = total / n;
        assert!((970_000..1_030_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn chance_extremes() {
        let mut r = Rng::stream(3, 9);
        assert!((0..1000).all(|_| !r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
    }
}
