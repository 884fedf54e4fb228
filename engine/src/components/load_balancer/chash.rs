//! HAProxy's consistent hashing ring (`src/lb_chash.c`), used by `hash-type
//! consistent` (semantics.md 1.3).
//!
//! * `chash_init_server_tree` / `chash_compute_node_key` (`hash-key id`,
//!   the default): server `s` has `uweight * 16` points, point `k` at
//!   `full_hash(puid * 4096 + k)`, `puid` being the server's `id` (by
//!   default its position, from 1). Active and backup servers have separate
//!   rings.
//! * `chash_queue_dequeue_srv`: a usable server has `eweight` points on its
//!   ring (never more than it got at start-up); going down removes them all,
//!   a weight change removes or adds the last ones.
//! * `chash_get_server_hash`: take the points just at or after the hash
//!   (`next`, wrapping) and just before it (`prev`, wrapping); `prev` wins
//!   if `hash - prev <= next - hash` in `u32` arithmetic. Then walk forward
//!   point by point while the server is the one to avoid (or fails the
//!   bounded-load check of `hash-balance-factor`), at most once round.
//! * `chash_get_next_server`: the round robin used when a request has no
//!   hash input, walking the ring from the last point returned.
//!
//! Backup servers are used only when no active server is usable; then only
//! the first usable one unless `allbackups`. Keys are unique: `full_hash`
//! is a bijection and the inputs differ.

use super::hash::full_hash;

/// `SRV_EWGHT_RANGE`: points of one server are numbered below this.
const EWGHT_RANGE: u32 = 4096;
/// `BE_WEIGHT_SCALE`.
const WEIGHT_SCALE: u32 = 16;

#[derive(Clone, Debug)]
struct Srv {
    puid: u32,
    backup: bool,
    running: bool,
    eweight: u32,
    /// `lb_nodes_tot`: points allocated at start-up, `uweight * 16`.
    points_tot: u32,
    /// `lb_nodes_now`: points on the ring (0 when not usable).
    points_now: u32,
    /// `cumulative_weight`: the effective weights of the servers before it
    /// in its group (active or backup), as `recount_servers` left them at
    /// start-up.
    cumulative: u32,
}

impl Srv {
    fn usable(&self) -> bool {
        self.running && self.eweight > 0
    }

    fn point_key(&self, k: u32) -> u32 {
        full_hash(self.puid.wrapping_mul(EWGHT_RANGE).wrapping_add(k))
    }
}

/// What `hash-balance-factor` allows in one pick: the usable servers'
/// total effective weight and the slots to share among them.
#[derive(Clone, Copy, Debug)]
pub struct LoadBound {
    tot_weight: u64,
    tot_slots: u64,
}

#[derive(Clone, Debug)]
pub struct Chash {
    srv: Vec<Srv>,
    /// Active and backup rings: (key, server), sorted by key.
    rings: [Vec<(u32, usize)>; 2],
    all_backups: bool,
    /// `lbprm.chash.last`: (ring, key) of the point `next_server` returned.
    last: Option<(usize, u32)>,
}

impl Chash {
    /// `weights` are user weights (0..=256) in declaration order; `backup`
    /// marks backup servers; `usable` says which are up. Ids are the
    /// positions, from 1.
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> Chash {
        let ids: Vec<u32> = (1..=weights.len() as u32).collect();
        Chash::with_ids(&ids, weights, backup, usable, all_backups)
    }

    /// As [`Chash::new`] with explicit server `id`s (`puid`).
    pub fn with_ids(ids: &[u32], weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> Chash {
        let n = ids.len();
        assert!(weights.len() == n && backup.len() == n && usable.len() == n, "one entry per server");
        let mut c = Chash {
            srv: (0..n)
                .map(|i| Srv {
                    puid: ids[i],
                    backup: backup[i],
                    running: usable[i],
                    eweight: weights[i] * WEIGHT_SCALE,
                    points_tot: weights[i] * WEIGHT_SCALE,
                    points_now: 0,
                    cumulative: 0,
                })
                .collect(),
            rings: [Vec::new(), Vec::new()],
            all_backups,
            last: None,
        };
        // `recount_servers`: the usable servers' weights add up in order,
        // active and backup apart.
        let mut total = [0u32; 2];
        for i in 0..n {
            if c.srv[i].usable() {
                let g = c.group(i);
                c.srv[i].cumulative = total[g];
                total[g] += c.srv[i].eweight;
            }
        }
        for i in 0..n {
            c.adjust(i);
        }
        c
    }

    fn group(&self, i: usize) -> usize {
        usize::from(self.srv[i].backup)
    }

    /// `chash_queue_dequeue_srv` (and `chash_dequeue_srv` when the server
    /// is not usable): as many points as its `eweight`, within what it was
    /// given at start-up.
    fn adjust(&mut self, i: usize) {
        let s = &self.srv[i];
        let want = if s.usable() { s.eweight.min(s.points_tot) } else { 0 };
        let have = s.points_now;
        if want == have {
            return;
        }
        let g = self.group(i);
        if want > have {
            let added = (have..want).map(|k| (s.point_key(k), i));
            self.rings[g].extend(added);
            checker::sort::sort(&mut self.rings[g]);
        } else {
            let mut removed: Vec<u32> = (want..have).map(|k| s.point_key(k)).collect();
            checker::sort::sort(&mut removed);
            let gone = |key: &u32| removed.binary_search(key).is_ok();
            self.rings[g].retain(|(key, srv)| *srv != i || !gone(key));
            // `chash_skip_node`: a `last` point that goes moves on to the
            // next remaining one.
            if let Some((lg, lkey)) = self.last {
                if lg == g && gone(&lkey) {
                    let ring = &self.rings[g];
                    let at = ring.partition_point(|&(k, _)| k <= lkey);
                    self.last = ring.get(at).or(ring.first()).map(|&(k, _)| (g, k));
                }
            }
        }
        self.srv[i].points_now = want;
    }

    /// `chash_set_server_status_up`.
    pub fn set_up(&mut self, i: usize) {
        self.srv[i].running = true;
        self.adjust(i);
    }

    /// `chash_set_server_status_down`.
    pub fn set_down(&mut self, i: usize) {
        self.srv[i].running = false;
        self.adjust(i);
    }

    /// `chash_update_server_weight`: a new effective weight (user weight
    /// × 16; `slowstart` ramps it). The server keeps or regains its first
    /// `eweight` points, capped at its start-up weight's.
    pub fn set_eweight(&mut self, i: usize, eweight: u32) {
        self.srv[i].eweight = eweight;
        self.adjust(i);
    }

    /// The ring to use, or the server to return directly: the active ring
    /// if any active server is usable, else the first usable backup unless
    /// `allbackups`, else the backup ring.
    fn root(&self) -> Result<usize, Option<usize>> {
        if !self.rings[0].is_empty() {
            Ok(0)
        } else if self.rings[1].is_empty() {
            Err(None)
        } else if !self.all_backups {
            Err(self.srv.iter().position(|s| s.backup && s.usable()))
        } else {
            Ok(1)
        }
    }

    /// `chash_get_server_hash` without `hash-balance-factor`.
    pub fn pick(&self, hash: u32, avoid: Option<usize>) -> Option<usize> {
        self.pick_bounded(hash, avoid, |_| true)
    }

    /// `chash_get_server_hash`: the server whose point is closest to `hash`,
    /// walking on past `avoid` and past servers that are not `eligible`
    /// (`chash_server_is_eligible`, the bounded-load check of
    /// `hash-balance-factor`; pass `|_| true` when it is off). After going
    /// round the ring once the walk stops where it is.
    pub fn pick_bounded(&self, hash: u32, avoid: Option<usize>, eligible: impl Fn(usize) -> bool) -> Option<usize> {
        let ring = match self.root() {
            Ok(g) => &self.rings[g],
            Err(direct) => return direct,
        };
        let n = ring.len();
        let next = ring.partition_point(|&(k, _)| k < hash) % n;
        let prev = (next + n - 1) % n;
        let mut at = if hash.wrapping_sub(ring[prev].0) <= ring[next].0.wrapping_sub(hash) { prev } else { next };
        let mut srv = ring[at].1;
        let mut wraps = 0;
        while Some(srv) == avoid || !eligible(srv) {
            at += 1;
            if at == n {
                at = 0;
                wraps += 1;
                if wraps > 1 {
                    break;
                }
            }
            srv = ring[at].1;
        }
        Some(srv)
    }

    /// `chash_get_next_server`: round robin over the ring's points from the
    /// last one returned, skipping saturated servers and `avoid` (returned
    /// only when it is the only choice).
    pub fn next_server(&mut self, avoid: Option<usize>, saturated: impl Fn(usize) -> bool) -> Option<usize> {
        let g = match self.root() {
            Ok(g) => g,
            Err(direct) => return direct,
        };
        let ring = &self.rings[g];
        let n = ring.len();
        // From the point after `last` once round (ending on `last`). Without
        // a `last` (or with one on the other ring: the servers changed
        // groups since) HAProxy stops at the first point it looks at, so
        // only the ring's first point is tried.
        let (start, steps) = match self.last {
            Some((lg, lkey)) if lg == g => (ring.partition_point(|&(k, _)| k <= lkey) % n, n),
            _ => (0, 1),
        };
        let mut avoided = None;
        for step in 0..steps {
            let at = (start + step) % n;
            let s = ring[at].1;
            if saturated(s) {
                continue;
            }
            if Some(s) != avoid {
                self.last = Some((g, ring[at].0));
                return Some(s);
            }
            avoided = Some(at);
        }
        self.last = avoided.map(|at| (g, ring[at].0));
        avoided.map(|at| ring[at].1)
    }

    /// `chash_server_is_eligible`, the bounded-load check of
    /// `hash-balance-factor` (Mirrokni, Thorup and Zadimoghaddam's
    /// consistent hashing with bounded loads, adapted to weights): the
    /// backend's requests in progress, this one included, times `factor`
    /// per cent, are the slots; server `i` gets its share of them by weight
    /// (at least one), and is eligible while it serves fewer than that.
    /// `served` is the server's requests in progress, `backend_served` the
    /// backend's.
    pub fn under_bound(&self, i: usize, factor: u32, served: u32, backend_served: u32) -> bool {
        self.within(self.load_bound(factor, backend_served), i, served)
    }

    /// The slots of one pick, worked out once for the whole walk round the
    /// ring (they depend on the backend, not on the server).
    pub fn load_bound(&self, factor: u32, backend_served: u32) -> LoadBound {
        LoadBound {
            tot_weight: u64::from(self.tot_weight()),
            tot_slots: ((u64::from(backend_served) + 1) * u64::from(factor)).div_ceil(100),
        }
    }

    /// Whether server `i`, serving `served`, is below its share of `bound`.
    pub fn within(&self, bound: LoadBound, i: usize, served: u32) -> bool {
        let LoadBound { tot_weight, tot_slots } = bound;
        if tot_weight == 0 {
            return true;
        }
        let (per_weight, remainder) = (tot_slots / tot_weight, tot_slots % tot_weight);
        let (cum, w) = (u64::from(self.srv[i].cumulative), u64::from(self.srv[i].eweight));
        let slots = w * per_weight + (cum + w) * remainder / tot_weight - cum * remainder / tot_weight;
        u64::from(served) < slots.max(1)
    }

    /// `lbprm.tot_weight` (`update_backend_weight`): the effective weights
    /// of the usable active servers; without any, the first usable
    /// backup's (unless `allbackups`) or every usable backup's.
    fn tot_weight(&self) -> u32 {
        let sum = |b: bool| self.srv.iter().filter(|s| s.backup == b && s.usable()).map(|s| s.eweight).sum();
        match sum(false) {
            0 if !self.all_backups => self.srv.iter().find(|s| s.backup && s.usable()).map_or(0, |s| s.eweight),
            0 => sum(true),
            act => act,
        }
    }

    /// `cur_eweight`: the user weight times 16 (less while `slowstart`
    /// ramps it).
    pub fn eweight(&self, i: usize) -> u32 {
        self.srv[i].eweight
    }

    /// `lbprm.tot_used`: the hash functions skip hashing when it is 1.
    pub fn tot_used(&self) -> u32 {
        let count = |b: bool| self.srv.iter().filter(|s| s.backup == b && s.usable()).count() as u32;
        match count(false) {
            0 if !self.all_backups => count(true).min(1),
            0 => count(true),
            act => act,
        }
    }

    /// How many servers (active and backup) the ring was built for.
    pub fn servers(&self) -> usize {
        self.srv.len()
    }

    /// Points the server has on its ring now.
    pub fn points(&self, i: usize) -> u32 {
        self.srv[i].points_now
    }

    /// Up and of non-zero weight.
    pub fn is_usable(&self, i: usize) -> bool {
        self.srv[i].usable()
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::{uri_hash, HashType, UriOptions};
    use super::*;

    fn all(weights: &[u32]) -> Chash {
        Chash::new(weights, &vec![false; weights.len()], &vec![true; weights.len()], false)
    }

    /// The closest point by brute force over the whole ring.
    fn closest(c: &Chash, hash: u32) -> usize {
        let ring = &c.rings[0];
        let n = ring.len();
        let next = (0..n).find(|&j| ring[j].0 >= hash).unwrap_or(0);
        let prev = (next + n - 1) % n;
        if hash.wrapping_sub(ring[prev].0) <= ring[next].0.wrapping_sub(hash) {
            ring[prev].1
        } else {
            ring[next].1
        }
    }

    #[test]
    fn ring_has_weight_times_16_points_with_known_keys() {
        let c = all(&[3, 1]);
        assert_eq!((c.points(0), c.points(1)), (48, 16));
        assert_eq!(c.rings[0].len(), 64);
        assert!(c.rings[0].windows(2).all(|w| w[0].0 < w[1].0), "sorted, unique keys");
        assert!(c.rings[0].contains(&(full_hash(4096), 0)));
        assert!(c.rings[0].contains(&(full_hash(2 * 4096 + 15), 1)));
        assert!(!c.rings[0].contains(&(full_hash(2 * 4096 + 16), 1)));
    }

    #[test]
    fn lookup_takes_the_closest_point() {
        let c = all(&[3, 2, 1]);
        let mut h = 12345u32;
        for _ in 0..2000 {
            h = h.wrapping_mul(2_654_435_761).wrapping_add(1);
            assert_eq!(c.pick(h, None), Some(closest(&c, h)));
        }
        // On a point exactly, and at both ends of the key space.
        let (k, s) = c.rings[0][7];
        assert_eq!(c.pick(k, None), Some(s));
        assert_eq!(c.pick(0, None), Some(closest(&c, 0)));
        assert_eq!(c.pick(u32::MAX, None), Some(closest(&c, u32::MAX)));
    }

    #[test]
    fn shares_follow_weights_and_down_servers_lose_only_their_keys() {
        let ht = HashType::consistent();
        let uris: Vec<String> = (0..3000).map(|i| format!("/item/{i}")).collect();
        let mut c = all(&[2, 1, 1]);
        let before: Vec<usize> = uris
            .iter()
            .map(|u| c.pick(uri_hash(&ht, &UriOptions::default(), u.as_bytes(), 3), None).unwrap())
            .collect();
        let mut share = [0u32; 3];
        before.iter().for_each(|&s| share[s] += 1);
        assert!(share[0] > 1200 && share[1] > 500 && share[2] > 500, "{share:?}");
        c.set_down(1);
        assert_eq!(c.points(1), 0);
        for (u, &b) in uris.iter().zip(&before) {
            let now = c.pick(uri_hash(&ht, &UriOptions::default(), u.as_bytes(), 2), None).unwrap();
            if b != 1 {
                assert_eq!(now, b, "{u} moved though its server stayed up");
            } else {
                assert_ne!(now, 1);
            }
        }
        c.set_up(1);
        let again: Vec<usize> = uris
            .iter()
            .map(|u| c.pick(uri_hash(&ht, &UriOptions::default(), u.as_bytes(), 3), None).unwrap())
            .collect();
        assert_eq!(again, before);
    }

    #[test]
    fn weight_changes_trim_and_restore_points() {
        let mut c = all(&[2, 2]);
        c.set_eweight(0, WEIGHT_SCALE);
        assert_eq!(c.points(0), 16);
        c.set_eweight(0, 5 * WEIGHT_SCALE);
        assert_eq!(c.points(0), 32, "never more than at start-up");
        c.set_eweight(0, 0);
        assert!(!c.is_usable(0));
        assert_eq!(c.pick(7, None), Some(1));
        assert_eq!(c.tot_used(), 1);
    }

    #[test]
    fn avoid_walks_forward() {
        let c = all(&[1, 1, 1]);
        for h in [0u32, 1 << 30, 3 << 30, u32::MAX] {
            let first = c.pick(h, None).unwrap();
            let other = c.pick(h, Some(first)).unwrap();
            assert_ne!(other, first);
        }
        let one = all(&[1]);
        assert_eq!(one.pick(5, Some(0)), Some(0));
        // Nobody eligible: stops after going round.
        assert!(c.pick_bounded(5, None, |_| false).is_some());
    }

    #[test]
    fn backups() {
        let mut c = Chash::new(&[1, 1, 1], &[false, true, true], &[true; 3], false);
        assert_eq!(c.tot_used(), 1);
        assert_eq!(c.pick(99, None), Some(0));
        c.set_down(0);
        assert!((0..50).all(|h| c.pick(h * 77_777_777, None) == Some(1)));
        assert_eq!(c.tot_used(), 1);
        let b = Chash::new(&[1, 1, 1], &[false, true, true], &[false, true, true], true);
        assert_eq!(b.tot_used(), 2);
        let mut seen = [false; 3];
        (0..50).for_each(|h| seen[b.pick(h * 77_777_777, None).unwrap()] = true);
        assert_eq!(seen, [false, true, true]);
    }

    #[test]
    fn next_server_walks_the_ring() {
        let mut c = all(&[1, 1]);
        let ring = c.rings[0].clone();
        for (_, s) in ring.iter().chain(ring.iter()) {
            assert_eq!(c.next_server(None, |_| false), Some(*s));
        }
        assert!((0..40).all(|_| c.next_server(None, |i| i == 0) == Some(1)));
        assert_eq!(c.next_server(Some(1), |i| i == 0), Some(1));
        // Nothing found forgets `last`: then only the first point is tried.
        assert_eq!(c.next_server(None, |_| true), None);
        let s0 = ring[0].1;
        assert_eq!(c.next_server(None, |i| i == s0), None);
        assert_eq!(c.next_server(None, |_| false), Some(s0));
        // Taking away the last point returned moves `last` to the next one.
        let mut c = all(&[1, 1]);
        let first = c.next_server(None, |_| false).unwrap();
        c.set_down(first);
        assert_eq!(c.next_server(None, |_| false), Some(1 - first));
        c.set_up(first);
        assert!(c.next_server(None, |_| false).is_some());
    }

    #[test]
    fn bounded_loads_share_the_slots_by_weight() {
        // 3 in progress, factor 150: (3 + 1) × 1.5 = 6 slots, 2 each.
        let c = all(&[1, 1, 1]);
        let eligible: Vec<bool> = [2, 1, 0].iter().enumerate().map(|(i, &n)| c.under_bound(i, 150, n, 3)).collect();
        assert_eq!(eligible, [false, true, true]);
        // Weights 3:1, 7 in progress, factor 125: 10 slots over weight 64
        // (no whole slot per weight unit): 7 (48 × 10 / 64) and 3.
        let c = all(&[3, 1]);
        assert!(c.under_bound(0, 125, 6, 7) && !c.under_bound(0, 125, 7, 7));
        assert!(c.under_bound(1, 125, 2, 7) && !c.under_bound(1, 125, 3, 7));
        // Never less than one slot.
        assert!(all(&[1, 1, 1, 1]).under_bound(3, 101, 0, 0));
        // A down server's weight leaves the total.
        let mut c = all(&[1, 1, 1]);
        c.set_down(2);
        assert!(c.under_bound(0, 200, 2, 3), "8 slots over two servers: 4 each");
    }
}
