//! HAProxy 2.6's `balance leastconn`: the Fast Weighted Least Connection
//! algorithm of `src/lb_fwlc.c` (semantics.md 1.3).
//!
//! * `fwlc_queue_srv` / `fwlc_get_key`: a server's key is
//!   `inflight ? (inflight + 1) * 4096 / eweight : 0` with `inflight =
//!   served + queued` and `eweight = weight * 16`. Idle servers all have
//!   key 0, whatever their weight.
//! * `fwlc_srv_reposition` (`server_take_conn` / `server_drop_conn`): when
//!   a server takes or drops a connection it is moved to the key of its
//!   live counts, behind the servers already there; an unchanged key
//!   leaves it in place. A request joining or leaving its queue moves
//!   nothing (`pendconn_add`, `pendconn_unlink`), though the full-server
//!   test below sees it at once.
//! * `fwlc_get_next_server`: the lowest key wins; equal keys go in insertion
//!   (FIFO) order, as in HAProxy's eb-trees up to 3.1 (3.2 randomizes ties);
//!   a server is skipped when `maxconn && served + queued >= maxconn +
//!   maxqueue`.
//! * `fwlc_set_server_status_up/down`, `fwlc_update_server_weight`.
//!
//! Backup servers are used only when no active server is usable; then only
//! the first usable one, whatever its load, unless `allbackups`.

use std::collections::BTreeSet;

/// `SRV_EWGHT_MAX`.
const EWGHT_MAX: u32 = 4096;
/// `BE_WEIGHT_SCALE`.
const WEIGHT_SCALE: u32 = 16;

/// A server's connection limits as `fwlc_get_next_server` reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// The server's `maxconn` as it applies now (`srv_dynamic_maxconn`),
    /// 0 if it has none.
    pub maxconn: u32,
    /// `maxqueue`, 0 = unlimited (adds nothing).
    pub maxqueue: u32,
}

impl Limits {
    /// No `maxconn`: never skipped.
    pub const NONE: Limits = Limits { maxconn: 0, maxqueue: 0 };
}

#[derive(Clone, Debug)]
struct Srv {
    eweight: u32,
    backup: bool,
    /// Up (checks and admin state); usable when also `eweight > 0`.
    running: bool,
    served: u32,
    queued: u32,
    /// Its entry in its group's tree while usable: (key, insertion number).
    node: Option<(u32, u64)>,
}

impl Srv {
    fn usable(&self) -> bool {
        self.running && self.eweight > 0
    }

    fn key(&self) -> u32 {
        let inflight = self.served + self.queued;
        if inflight == 0 {
            0
        } else {
            // u64: (inflight + 1) * 4096 overflows u32 past a million.
            let k = u64::from(inflight + 1) * u64::from(EWGHT_MAX) / u64::from(self.eweight);
            u32::try_from(k).unwrap_or(u32::MAX)
        }
    }
}

#[derive(Clone, Debug)]
pub struct Leastconn {
    srv: Vec<Srv>,
    /// Active and backup trees: (key, insertion number, server).
    trees: [BTreeSet<(u32, u64, usize)>; 2],
    inserted: u64,
    all_backups: bool,
}

impl Leastconn {
    /// `weights` are user weights (0..=256) in declaration order; `backup`
    /// marks backup servers; `usable` says which are up (a server of
    /// weight 0 never is). All servers start idle.
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> Leastconn {
        assert!(weights.len() == backup.len() && weights.len() == usable.len(), "one entry per server");
        let mut l = Leastconn {
            srv: weights
                .iter()
                .zip(backup)
                .map(|(&w, &b)| Srv {
                    eweight: w * WEIGHT_SCALE,
                    backup: b,
                    running: false,
                    served: 0,
                    queued: 0,
                    node: None,
                })
                .collect(),
            trees: [BTreeSet::new(), BTreeSet::new()],
            inserted: 0,
            all_backups,
        };
        for (i, &u) in usable.iter().enumerate() {
            if u {
                l.set_up(i);
            }
        }
        l
    }

    fn group(&self, i: usize) -> usize {
        usize::from(self.srv[i].backup)
    }

    fn dequeue(&mut self, i: usize) {
        if let Some((key, n)) = self.srv[i].node.take() {
            let g = self.group(i);
            self.trees[g].remove(&(key, n, i));
        }
    }

    fn queue(&mut self, i: usize) {
        let g = self.group(i);
        self.inserted += 1;
        let key = self.srv[i].key();
        self.trees[g].insert((key, self.inserted, i));
        self.srv[i].node = Some((key, self.inserted));
    }

    /// `fwlc_set_server_status_up`: into its tree at its current key.
    pub fn set_up(&mut self, i: usize) {
        self.srv[i].running = true;
        if self.srv[i].usable() && self.srv[i].node.is_none() {
            self.queue(i);
        }
    }

    /// `fwlc_set_server_status_down`.
    pub fn set_down(&mut self, i: usize) {
        self.srv[i].running = false;
        self.dequeue(i);
    }

    /// `fwlc_update_server_weight`: a new effective weight (user weight
    /// × 16; `slowstart` ramps it). Weight 0 takes the server out of the
    /// tree; a server that stays in is requeued at its key, behind its
    /// equals.
    pub fn set_eweight(&mut self, i: usize, eweight: u32) {
        self.srv[i].eweight = eweight;
        self.dequeue(i);
        if self.srv[i].usable() {
            self.queue(i);
        }
    }

    /// The server now has `served` connections and `queued` requests in its
    /// queue, and took or dropped a connection (`server_take_conn`,
    /// `server_drop_conn`): [`Leastconn::set_load`], then
    /// [`Leastconn::reposition`].
    pub fn set_inflight(&mut self, i: usize, served: u32, queued: u32) {
        self.set_load(i, served, queued);
        self.reposition(i);
    }

    /// The server's live counts (`served`, `queue.length`), which the
    /// full-server test in [`Leastconn::pick`] reads, without moving it in
    /// the tree: HAProxy repositions a server only when it takes or drops
    /// a connection, not when a request joins or leaves its queue
    /// (`pendconn_add`, `pendconn_unlink`), so until then its key is the
    /// one it had.
    pub fn set_load(&mut self, i: usize, served: u32, queued: u32) {
        self.srv[i].served = served;
        self.srv[i].queued = queued;
    }

    /// `fwlc_srv_reposition`: the server moves to the key of its live
    /// counts, behind the servers already there, if that key differs from
    /// the one it sits at.
    pub fn reposition(&mut self, i: usize) {
        if matches!(self.srv[i].node, Some((key, _)) if key != self.srv[i].key()) {
            self.dequeue(i);
            self.queue(i);
        }
    }

    /// `fwlc_get_next_server`: the least loaded usable server that is not
    /// full (`maxconn && served + queued >= maxconn + maxqueue`) and not
    /// `avoid`; `avoid` only when it is the only choice.
    pub fn pick(&self, avoid: Option<usize>, limits: impl Fn(usize) -> Limits) -> Option<usize> {
        let g = if !self.trees[0].is_empty() {
            0
        } else if self.trees[1].is_empty() {
            return None;
        } else if !self.all_backups {
            return self.first_backup();
        } else {
            1
        };
        let mut avoided = None;
        for &(_, _, i) in &self.trees[g] {
            let s = &self.srv[i];
            let l = limits(i);
            if l.maxconn == 0
                || u64::from(s.served) + u64::from(s.queued) < u64::from(l.maxconn) + u64::from(l.maxqueue)
            {
                if Some(i) != avoid {
                    return Some(i);
                }
                avoided = Some(i);
            }
        }
        avoided
    }

    /// `lbprm.fbck`: the first usable backup server in declaration order.
    fn first_backup(&self) -> Option<usize> {
        self.srv.iter().position(|s| s.backup && s.usable())
    }

    /// Up and of non-zero weight.
    pub fn is_usable(&self, i: usize) -> bool {
        self.srv[i].usable()
    }

    /// The server's sorting key (`lb_node.key`): the one it sits at in its
    /// tree, or the key of its live counts while out of the tree.
    pub fn key(&self, i: usize) -> u32 {
        self.srv[i].node.map_or_else(|| self.srv[i].key(), |(key, _)| key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(weights: &[u32]) -> Leastconn {
        Leastconn::new(weights, &vec![false; weights.len()], &vec![true; weights.len()], false)
    }

    /// One request at a time: pick, take the connection, release it.
    fn sequential(weights: &[u32], n: usize) -> String {
        let mut l = all(weights);
        (0..n)
            .map(|_| {
                let s = l.pick(None, |_| Limits::NONE).unwrap();
                l.set_inflight(s, 1, 0);
                l.set_inflight(s, 0, 0);
                format!("s{}", s + 1)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// semantics.md 1.3: sequential requests go round in declaration order
    /// whatever the weights (all keys 0, FIFO among equals).
    #[test]
    fn sequential_requests_go_round_in_fifo_order() {
        assert_eq!(sequential(&[1, 1, 1], 9), "s1 s2 s3 s1 s2 s3 s1 s2 s3");
        assert_eq!(sequential(&[3, 2, 1], 9), "s1 s2 s3 s1 s2 s3 s1 s2 s3");
        assert_eq!(sequential(&[1, 5, 10, 2], 8), "s1 s2 s3 s4 s1 s2 s3 s4");
    }

    #[test]
    fn keys_weigh_load_by_weight() {
        let mut l = all(&[1, 2]);
        assert_eq!((l.key(0), l.key(1)), (0, 0));
        l.set_inflight(0, 1, 0);
        l.set_inflight(1, 2, 1);
        // (1+1)*4096/16 and (3+1)*4096/32
        assert_eq!((l.key(0), l.key(1)), (512, 512));
        // Equal keys: the one that got there first.
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(0));
        l.set_inflight(0, 2, 0);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
    }

    #[test]
    fn concurrent_load_follows_weights() {
        // Take connections without releasing any: a weight-3 server ends up
        // with three times the connections of a weight-1 server.
        let mut l = all(&[3, 1]);
        let mut served = [0u32; 2];
        for _ in 0..40 {
            let s = l.pick(None, |_| Limits::NONE).unwrap();
            served[s] += 1;
            l.set_inflight(s, served[s], 0);
        }
        assert_eq!(served, [30, 10]);
    }

    #[test]
    fn full_servers_are_skipped() {
        let mut l = all(&[1, 1]);
        let lim = Limits { maxconn: 2, maxqueue: 1 };
        l.set_inflight(0, 2, 0);
        l.set_inflight(1, 2, 1);
        // s1: 2 < 2 + 1, still eligible; s2: 3 >= 3, full.
        assert_eq!(l.pick(None, |_| lim), Some(0));
        l.set_inflight(0, 2, 1);
        assert_eq!(l.pick(None, |_| lim), None);
        // Without limits: equal keys, s2 got to its key first.
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
        // maxqueue 0 adds nothing.
        l.set_inflight(0, 1, 0);
        assert_eq!(l.pick(None, |_| Limits { maxconn: 1, maxqueue: 0 }), None);
    }

    #[test]
    fn avoid_unless_only_choice() {
        let l = all(&[1, 1]);
        assert_eq!(l.pick(Some(0), |_| Limits::NONE), Some(1));
        let one = all(&[1]);
        assert_eq!(one.pick(Some(0), |_| Limits::NONE), Some(0));
    }

    #[test]
    fn down_up_and_backups() {
        let mut l = Leastconn::new(&[1, 1, 1, 1], &[false, false, true, true], &[true; 4], false);
        l.set_down(0);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
        l.set_down(1);
        // The first backup only, even when loaded.
        l.set_inflight(2, 5, 0);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(2));
        let mut all_b = Leastconn::new(&[1, 1, 1], &[false, true, true], &[false, true, true], true);
        all_b.set_inflight(1, 5, 0);
        assert_eq!(all_b.pick(None, |_| Limits::NONE), Some(2));
        // A server that comes back keeps the load it had.
        l.set_inflight(0, 3, 0);
        l.set_up(0);
        l.set_up(1);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
        l.set_eweight(1, 0);
        assert!(!l.is_usable(1));
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(0));
        l.set_eweight(1, 2 * WEIGHT_SCALE);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
    }

    /// A request joining or leaving a server's queue changes what the
    /// full-server test sees at once, but not the server's place: s1 stays
    /// ahead of s2 at key 512 until it takes or drops a connection.
    #[test]
    fn queue_changes_count_at_once_but_move_nothing() {
        let mut l = all(&[1, 1]);
        let lim = Limits { maxconn: 1, maxqueue: 2 };
        l.set_inflight(0, 1, 0);
        l.set_inflight(1, 1, 0);
        l.set_load(0, 1, 1);
        assert_eq!(l.key(0), 512, "not repositioned");
        assert_eq!(l.pick(None, |_| lim), Some(0));
        l.set_load(0, 1, 2);
        assert_eq!(l.pick(None, |_| lim), Some(1), "s1 is full now");
        l.set_load(0, 1, 0);
        assert_eq!(l.pick(None, |_| lim), Some(0), "its queue emptied");
        l.reposition(0);
        assert_eq!(l.key(0), 512, "same key: it keeps its place");
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(0));
        l.set_load(0, 1, 1);
        l.reposition(0);
        assert_eq!(l.key(0), 768);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(1));
    }

    #[test]
    fn an_unchanged_key_keeps_its_place() {
        let mut l = all(&[1, 1]);
        l.set_inflight(0, 0, 0);
        assert_eq!(l.pick(None, |_| Limits::NONE), Some(0));
    }
}
