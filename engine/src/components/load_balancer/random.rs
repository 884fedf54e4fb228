//! HAProxy's `balance random(<draws>)` (`backend.c:get_server_rnd`, 2.6;
//! semantics.md 1.3), the power of `draws` random choices (2 by default).
//!
//! * Each draw is a random 32-bit key looked up on the consistent-hash
//!   ring (`chash_get_server_hash`), so a server's chance is its share of
//!   the ring's points, which follows its weight only roughly.
//! * Of the draws, the server with the fewest requests in flight for its
//!   weight wins (`served * other's eweight > other's served * eweight`
//!   keeps the earlier one; a tie goes to the later draw).
//! * If the winner is full (requests queued for it, or at `maxconn`), the
//!   answer is "none": the request waits in the backend's queue, as HAProxy
//!   pretends no server was found.
//!
//! It is a turn-based algorithm for retries (`BE_LB_KIND_RR`): a retry
//! with `option redispatch` draws again at once. `hash-type` does not
//! apply; the ring is always the consistent one.

use super::chash::Chash;

/// The lab's bound on `draws` (HAProxy takes any number from 1).
pub const MAX_DRAWS: usize = 16;

#[derive(Clone, Debug)]
pub struct Random {
    ring: Chash,
    /// `served`: requests in flight to each server.
    served: Vec<u32>,
    draws: u32,
}

impl Random {
    /// As [`Chash::new`], with `draws` from 1 to [`MAX_DRAWS`].
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool, draws: u32) -> Random {
        assert!((1..=MAX_DRAWS as u32).contains(&draws), "draws validated");
        Random { ring: Chash::new(weights, backup, usable, all_backups), served: vec![0; weights.len()], draws }
    }

    /// How many random keys one pick takes.
    pub fn draws(&self) -> usize {
        self.draws as usize
    }

    pub fn set_up(&mut self, i: usize) {
        self.ring.set_up(i);
    }

    pub fn set_down(&mut self, i: usize) {
        self.ring.set_down(i);
    }

    pub fn set_eweight(&mut self, i: usize, eweight: u32) {
        self.ring.set_eweight(i, eweight);
    }

    pub fn set_served(&mut self, i: usize, served: u32) {
        self.served[i] = served;
    }

    /// `get_server_rnd`, with one random key per draw in `keys` (at least
    /// [`Random::draws`] of them).
    pub fn pick(&self, keys: &[u32], avoid: Option<usize>, saturated: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best: Option<usize> = None;
        for &key in &keys[..self.draws()] {
            let curr = self.ring.pick(key, avoid)?;
            best = match best {
                Some(prev) if prev != curr && self.load(curr, prev) > self.load(prev, curr) => Some(prev),
                _ => Some(curr),
            };
        }
        best.filter(|&s| !saturated(s))
    }

    /// `a`'s requests in flight scaled by `b`'s weight: comparing
    /// `load(a, b)` with `load(b, a)` compares served/eweight without
    /// division, as HAProxy does.
    fn load(&self, a: usize, b: usize) -> u64 {
        u64::from(self.served[a]) * u64::from(self.ring.eweight(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<u32> {
        // A fixed spread of keys over the ring.
        (0..n as u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect()
    }

    /// Keys that land on server 0 and on server 1 of a ring of `weights`.
    fn keys_on_each(weights: &[u32; 2]) -> (u32, u32) {
        let ring = Chash::new(weights, &[false; 2], &[true; 2], false);
        let on = |s| keys(64).into_iter().find(|&k| ring.pick(k, None) == Some(s)).unwrap();
        (on(0), on(1))
    }

    #[test]
    fn one_draw_is_the_ring_lookup() {
        let r = Random::new(&[1, 3, 2], &[false; 3], &[true; 3], false, 1);
        let ring = Chash::new(&[1, 3, 2], &[false; 3], &[true; 3], false);
        for k in keys(1000) {
            assert_eq!(r.pick(&[k], None, |_| false), ring.pick(k, None));
        }
    }

    #[test]
    fn of_two_draws_the_less_loaded_for_its_weight_wins() {
        let mut r = Random::new(&[1, 1], &[false; 2], &[true; 2], false, 2);
        let (a, b) = keys_on_each(&[1, 1]);
        r.set_served(0, 3);
        assert_eq!(r.pick(&[a, b], None, |_| false), Some(1));
        assert_eq!(r.pick(&[b, a], None, |_| false), Some(1));
        assert_eq!(r.pick(&[a, a], None, |_| false), Some(0), "both draws on the busy one");
        // A tie goes to the later draw.
        r.set_served(1, 3);
        assert_eq!(r.pick(&[a, b], None, |_| false), Some(1));
        assert_eq!(r.pick(&[b, a], None, |_| false), Some(0));
        // Weights scale the load: s1 at weight 4 with 3 in flight is less
        // loaded than s2 at weight 1 with 1.
        let mut w = Random::new(&[4, 1], &[false; 2], &[true; 2], false, 2);
        let (a, b) = keys_on_each(&[4, 1]);
        w.set_served(0, 3);
        w.set_served(1, 1);
        assert_eq!(w.pick(&[b, a], None, |_| false), Some(0));
    }

    #[test]
    fn a_full_winner_sends_the_request_to_the_backend_queue() {
        let r = Random::new(&[1, 1], &[false; 2], &[true; 2], false, 2);
        let k = keys(2);
        assert_eq!(r.pick(&k, None, |_| true), None);
    }

    #[test]
    fn no_usable_server_is_none_and_avoid_is_walked_past() {
        let mut r = Random::new(&[1, 1], &[false; 2], &[true; 2], false, 3);
        for k in keys(99).chunks(3) {
            assert_eq!(r.pick(k, Some(0), |_| false), Some(1));
        }
        r.set_down(0);
        r.set_down(1);
        assert_eq!(r.pick(&keys(3), None, |_| false), None);
    }
}
