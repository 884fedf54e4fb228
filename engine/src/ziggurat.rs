//! Exponential variates by Marsaglia and Tsang's ziggurat ("The Ziggurat
//! Method for Generating Random Variables", J. Stat. Software 5(8), 2000):
//! one table lookup and one multiply almost always, instead of a logarithm.
//!
//! The tables are computed once with the pinned `libm` functions, and the
//! rare slow paths use `libm` too, so every platform draws the same values.

use crate::rng::Rng;
use std::sync::OnceLock;

const LAYERS: usize = 256;
/// Start of the tail, and the area of each layer, for 256 layers.
const R: f64 = 7.697_117_470_131_05;
const V: f64 = 0.003_949_659_822_581_557;

struct Tables {
    /// Layer edges, descending: `x[0]` is the base strip's virtual width,
    /// `x[1] = R`, `x[256] = 0`.
    x: [f64; LAYERS + 1],
    /// `f[i] = exp(-x[i])`.
    f: [f64; LAYERS + 1],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; LAYERS + 1];
        x[0] = V / libm::exp(-R);
        x[1] = R;
        for i in 1..LAYERS - 1 {
            x[i + 1] = -libm::log(V / x[i] + libm::exp(-x[i]));
        }
        x[LAYERS] = 0.0;
        let mut f = [0.0; LAYERS + 1];
        for i in 0..=LAYERS {
            f[i] = libm::exp(-x[i]);
        }
        Tables { x, f }
    })
}

/// A standard exponential variate (mean 1).
pub fn exp1(rng: &mut Rng) -> f64 {
    let t = tables();
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // 52 bits above the 8 used for the layer, so they are independent.
        let u = (bits >> 12) as f64 * (1.0 / (1u64 << 52) as f64);
        let x = u * t.x[i];
        if x < t.x[i + 1] {
            return x;
        }
        if i == 0 {
            // The tail beyond R: memoryless, so R plus another exponential.
            return R - libm::log(1.0 - rng.unit());
        }
        if t.f[i + 1] + (t.f[i] - t.f[i + 1]) * rng.unit() < libm::exp(-x) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_close_at_zero() {
        let t = tables();
        // The construction must land on x = 0 at the top layer.
        assert!(t.x[LAYERS - 1] > 0.0 && t.x[LAYERS - 1] < 0.3, "{}", t.x[LAYERS - 1]);
    }

    #[test]
    fn mean_variance_and_tail_match_the_exponential() {
        let mut rng = Rng::stream(11, 3);
        let n = 400_000;
        let xs: Vec<f64> = (0..n).map(|_| exp1(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        // P(X > 3) = e^-3 = 0.0498
        let over3 = xs.iter().filter(|&&x| x > 3.0).count() as f64 / n as f64;
        assert!((over3 - 0.0498).abs() < 0.002, "tail {over3}");
        // The tail beyond R is reached too.
        assert!(xs.iter().any(|&x| x > R));
    }
}
