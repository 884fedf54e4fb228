//! `slowstart`: a server that comes back UP after being DOWN gets its share
//! of the traffic little by little, as in HAProxy 2.6. Never when the load
//! balancer starts: only after a check took the server DOWN.
//!
//! * The window is kept in whole seconds, rounded up (`srv_parse_slowstart`),
//!   and time is counted in whole seconds of the clock (`now.tv_sec`).
//! * `server_recalc_eweight`: for the dynamic algorithms, the effective
//!   weight is `uweight × ((16 × elapsed + slowstart) / slowstart)`, so it
//!   starts at the user weight (1/16 of full) and steps up to full.
//! * `server_warmup` recomputes it every second (`MAX(1000, slowstart / 20)`
//!   with `slowstart` in seconds is always 1000 ms), lets the server take
//!   requests from the backend queue, and stops once the window is over.
//! * `srv_dynamic_maxconn`: whatever the algorithm, `maxconn` is scaled by
//!   `100 × elapsed / slowstart` percent, at least 1, at every use.

use super::fwrr::WEIGHT_SCALE;
use crate::time::{Duration, NANOS_PER_SEC};

/// How often a warming server's weight is recomputed.
pub const WARMUP_TICK: Duration = Duration::from_secs(1);
/// HAProxy's limit on a time argument: 2147483647 ms.
pub const MAX_SLOWSTART: Duration = Duration::from_millis(i32::MAX as u64);

/// The window in whole seconds: `(ms + 999) / 1000`.
pub fn seconds(d: Duration) -> u32 {
    d.nanos.div_ceil(NANOS_PER_SEC) as u32
}

/// A node's clock in whole seconds, as HAProxy's `now.tv_sec`.
pub fn clock_seconds(monotonic_ns: i64) -> i64 {
    monotonic_ns.div_euclid(NANOS_PER_SEC as i64)
}

/// `server_recalc_eweight`: the effective weight `elapsed` whole seconds
/// into a window of `slowstart` seconds.
pub fn eweight(uweight: u32, elapsed: i64, slowstart: u32) -> u32 {
    let s = i64::from(slowstart);
    if !(0..s).contains(&elapsed) {
        return uweight * WEIGHT_SCALE;
    }
    uweight * ((i64::from(WEIGHT_SCALE) * elapsed + s) / s) as u32
}

/// `srv_dynamic_maxconn` while warming: `maxconn` (not 0) scaled down.
pub fn maxconn(maxconn: u32, elapsed: i64, slowstart: u32) -> u32 {
    let s = i64::from(slowstart);
    if !(0..s).contains(&elapsed) {
        return maxconn;
    }
    let ratio = (100 * elapsed / s) as u32;
    (maxconn * ratio / 100).max(1)
}

/// `server_throttle_rate`: the effective weight as a percentage of full,
/// as HAProxy's stats show it. Its `+ wdiv - 1` is smaller than the
/// divisor, so in effect it rounds down: 6 % for 4 of 64.
pub fn throttle(eweight: u32, uweight: u32) -> u32 {
    if uweight == 0 {
        return 100;
    }
    (100 * eweight + WEIGHT_SCALE - 1) / (WEIGHT_SCALE * uweight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_whole_seconds_rounded_up() {
        assert_eq!(seconds(Duration::from_secs(10)), 10);
        assert_eq!(seconds(Duration::from_millis(1500)), 2);
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(MAX_SLOWSTART), 2_147_484);
        assert_eq!(clock_seconds(2_999_999_999), 2);
        assert_eq!(clock_seconds(-1), -1);
    }

    #[test]
    fn the_weight_steps_from_the_user_weight_to_full() {
        // Weight 64 over 10 s, as HAProxy's stats show it (eweight / 16,
        // rounded up): 4 8 16 20 28 36 40 48 52 60, then 64.
        let shown: Vec<u32> = (0..=10).map(|k| eweight(64, k, 10).div_ceil(WEIGHT_SCALE)).collect();
        assert_eq!(shown, [4, 8, 16, 20, 28, 36, 40, 48, 52, 60, 64]);
        let rates: Vec<u32> = (0..=10).map(|k| throttle(eweight(64, k, 10), 64)).collect();
        assert_eq!(rates, [6, 12, 25, 31, 43, 56, 62, 75, 81, 93, 100]);
        // A window longer than 16 s keeps the first step for a while.
        assert_eq!(eweight(1, 1, 30), 1);
        assert_eq!(eweight(1, 2, 30), 2);
        assert_eq!(eweight(3, 99, 30), 48);
    }

    #[test]
    fn maxconn_grows_with_the_window_and_is_never_0() {
        let steps: Vec<u32> = (0..=10).map(|k| maxconn(50, k, 10)).collect();
        assert_eq!(steps, [1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
        assert_eq!(maxconn(3, 1, 10), 1);
    }
}
