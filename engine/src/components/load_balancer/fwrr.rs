//! HAProxy's `balance roundrobin`: the Fast Weighted Round Robin of
//! `src/lb_fwrr.c`, reimplemented from its description in semantics.md 1.3.
//! The pick order is HAProxy's exactly (verified against HAProxy 2.6.12 in
//! semantics.md); it differs from nginx's smooth WRR and from static-rr.
//!
//! Each group (active, backup) keeps three trees: `curr` (servers with a
//! position in the current window, keyed by position), `init` and `next`
//! (servers waiting for a window, keyed by inverted weight so heavier
//! servers go first). Equal keys keep insertion order, as HAProxy's
//! eb-trees do.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// An eb-tree stand-in: entries ordered by (key, insertion order). FWRR
/// only ever takes a tree's first entry while picking; other removals
/// happen when a server changes state, which is rare. So a binary min-heap
/// serves: O(log n) to take the first or add, and a rebuild to remove
/// another entry.
#[derive(Clone, Debug, Default)]
struct Tree {
    heap: BinaryHeap<Reverse<((u32, u64), usize)>>,
}

impl Tree {
    fn insert(&mut self, key: (u32, u64), server: usize) {
        self.heap.push(Reverse((key, server)));
    }
    fn remove(&mut self, key: &(u32, u64)) {
        match self.heap.peek() {
            Some(Reverse((k, _))) if k == key => {
                self.heap.pop();
            }
            _ => self.heap.retain(|Reverse((k, _))| k != key),
        }
    }
    fn first(&self) -> Option<usize> {
        self.heap.peek().map(|Reverse((_, s))| *s)
    }
}

/// `SRV_EWGHT_MAX`: the largest effective weight (256 * 16).
pub const EWGHT_MAX: u32 = 4096;
/// `SRV_UWGHT_RANGE`.
const UWGHT_RANGE: u32 = 256;
/// `BE_WEIGHT_SCALE`: user weights are multiplied by this.
pub const WEIGHT_SCALE: u32 = 16;

/// Which tree a server is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// Not in any tree: down or weight 0.
    None,
    Curr,
    /// One of the two alternating trees; which one is `init` changes.
    Alt(usize),
}

#[derive(Clone, Debug)]
struct Srv {
    eweight: u32,
    backup: bool,
    usable: bool,
    npos: u32,
    /// The position it was last picked at (`lpos`).
    lpos: u32,
    rweight: u32,
    tree: Place,
    key: (u32, u64),
}

#[derive(Clone, Debug, Default)]
struct Group {
    curr: Tree,
    alt: [Tree; 2],
    /// Which of `alt` is the `init` tree; the other is `next`.
    init: usize,
    curr_pos: u32,
    curr_weight: u32,
    next_weight: u32,
    /// Usable servers in the group.
    count: u32,
}

#[derive(Clone, Debug)]
pub struct Fwrr {
    srv: Vec<Srv>,
    groups: [Group; 2],
    /// Insertion counter: ties in a tree go in insertion order.
    inserted: u64,
    /// `option allbackups`: use all backup servers, not only the first.
    all_backups: bool,
}

impl Fwrr {
    /// `weights` are user weights (0..=256) in declaration order; `backup`
    /// marks backup servers; `usable` says which are up.
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> Fwrr {
        let mut f = Fwrr {
            srv: weights
                .iter()
                .zip(backup)
                .zip(usable)
                .map(|((&w, &b), &u)| Srv {
                    eweight: w * WEIGHT_SCALE,
                    backup: b,
                    usable: u && w > 0,
                    npos: 0,
                    lpos: 0,
                    rweight: 0,
                    tree: Place::None,
                    key: (0, 0),
                })
                .collect(),
            groups: [Group::default(), Group::default()],
            inserted: 0,
            all_backups,
        };
        for g in 0..2 {
            let total: u32 = f.srv.iter().filter(|s| s.usable && usize::from(s.backup) == g).map(|s| s.eweight).sum();
            let grp = &mut f.groups[g];
            grp.curr_pos = total;
            grp.curr_weight = total;
            grp.next_weight = total;
        }
        for i in 0..f.srv.len() {
            if f.srv[i].usable {
                let g = f.group_of(i);
                f.groups[g].count += 1;
                let init = f.groups[g].init;
                f.queue_by_weight(i, Place::Alt(init));
            }
        }
        f
    }

    fn group_of(&self, i: usize) -> usize {
        usize::from(self.srv[i].backup)
    }

    fn tree_mut(&mut self, g: usize, tree: Place) -> &mut Tree {
        match tree {
            Place::Curr => &mut self.groups[g].curr,
            Place::Alt(k) => &mut self.groups[g].alt[k],
            Place::None => unreachable!("no tree"),
        }
    }

    fn insert(&mut self, i: usize, tree: Place, key: u32) {
        let g = self.group_of(i);
        self.inserted += 1;
        let k = (key, self.inserted);
        self.tree_mut(g, tree).insert(k, i);
        self.srv[i].tree = tree;
        self.srv[i].key = k;
    }

    /// `fwrr_queue_by_weight`: heavier first.
    fn queue_by_weight(&mut self, i: usize, tree: Place) {
        let key = EWGHT_MAX - self.srv[i].eweight;
        self.insert(i, tree, key);
    }

    /// `fwrr_dequeue_srv`.
    fn dequeue(&mut self, i: usize) {
        let tree = self.srv[i].tree;
        if tree != Place::None {
            let g = self.group_of(i);
            let key = self.srv[i].key;
            self.tree_mut(g, tree).remove(&key);
            self.srv[i].tree = Place::None;
        }
    }

    /// `fwrr_queue_srv`: into `curr` at its position, or into `next` if
    /// the position lies beyond the current window.
    fn queue(&mut self, i: usize) {
        let g = self.group_of(i);
        let (curr_weight, next_weight) = (self.groups[g].curr_weight, self.groups[g].next_weight);
        let s = &mut self.srv[i];
        if !s.usable {
            s.tree = Place::None;
        } else if s.eweight == 0 || s.npos >= 2 * curr_weight || s.npos >= curr_weight + next_weight {
            s.npos -= curr_weight;
            let next = Place::Alt(1 - self.groups[g].init);
            self.queue_by_weight(i, next);
        } else {
            let key = UWGHT_RANGE * s.npos + (EWGHT_MAX + s.rweight - s.eweight) / WEIGHT_SCALE;
            self.insert(i, Place::Curr, key);
        }
    }

    /// `fwrr_get_srv`: prepares a server taken out of its tree.
    fn get_srv(&mut self, i: usize) {
        let g = self.group_of(i);
        let grp = &self.groups[g];
        let s = &mut self.srv[i];
        match s.tree {
            Place::Alt(k) if k == grp.init => {
                s.npos = 0;
                s.rweight = 0;
            }
            Place::Alt(_) => s.npos += grp.curr_weight,
            Place::None => s.npos = grp.curr_pos,
            Place::Curr => {}
        }
    }

    /// `fwrr_update_position`.
    fn update_position(&mut self, g: usize, i: usize) {
        let grp = &self.groups[g];
        let s = &mut self.srv[i];
        if s.npos == 0 {
            s.npos = grp.curr_pos;
        }
        s.lpos = s.npos;
        s.npos += grp.next_weight / s.eweight;
        s.rweight += grp.next_weight % s.eweight;
        if s.rweight >= s.eweight {
            s.rweight -= s.eweight;
            s.npos += 1;
        }
    }

    /// `fwrr_get_server_from_group`.
    fn first_of_group(&mut self, g: usize) -> Option<usize> {
        let grp = &self.groups[g];
        let first = grp.curr.first();
        match first {
            Some(i) if self.srv[i].npos <= grp.curr_pos => Some(i),
            _ => match grp.alt[grp.init].first() {
                Some(i) => {
                    self.srv[i].npos = 0;
                    self.srv[i].rweight = 0;
                    Some(i)
                }
                None => first,
            },
        }
    }

    fn switch_trees(&mut self, g: usize) {
        let grp = &mut self.groups[g];
        grp.init = 1 - grp.init;
        grp.curr_weight = grp.next_weight;
        grp.curr_pos = grp.curr_weight;
    }

    /// Picks the next server, skipping saturated ones (which are requeued at
    /// their next position) and `avoid` unless it is the only choice.
    /// `None` if no server is usable or all are saturated.
    pub fn pick(&mut self, avoid: Option<usize>, saturated: impl Fn(usize) -> bool) -> Option<usize> {
        let g = if self.groups[0].count > 0 {
            0
        } else if self.groups[1].count > 0 {
            if !self.all_backups {
                // Only the first usable backup server, in declaration order.
                return self.srv.iter().position(|s| s.backup && s.usable);
            }
            1
        } else {
            return None;
        };
        let mut switched = false;
        let mut avoided = None;
        let mut full = Vec::new();
        let chosen = loop {
            if self.groups[g].curr_weight == 0 {
                let grp = &mut self.groups[g];
                grp.curr_pos = grp.next_weight;
                grp.curr_weight = grp.next_weight;
            }
            let srv = loop {
                if let Some(i) = self.first_of_group(g) {
                    break Some(i);
                }
                if switched {
                    break avoided;
                }
                switched = true;
                self.switch_trees(g);
            };
            let Some(i) = srv else { break None };
            self.update_position(g, i);
            self.dequeue(i);
            self.groups[g].curr_pos += 1;
            if !saturated(i) {
                if Some(i) != avoid || avoided.is_some() {
                    break Some(i);
                }
                avoided = Some(i);
            }
            full.push(i);
        };
        if let Some(i) = chosen {
            if self.srv[i].tree == Place::None {
                self.queue(i);
            }
        }
        // Servers skipped as saturated go back where they were due; but
        // once the trees switched their places are lost, and they wait in
        // `init` by weight.
        let init = Place::Alt(self.groups[g].init);
        for i in full {
            if Some(i) != chosen {
                if switched {
                    self.queue_by_weight(i, init);
                } else {
                    self.queue(i);
                }
            }
        }
        chosen
    }

    /// `fwrr_set_server_status_down`.
    pub fn set_down(&mut self, i: usize) {
        if !self.srv[i].usable {
            return;
        }
        let g = self.group_of(i);
        self.groups[g].next_weight -= self.srv[i].eweight;
        self.groups[g].count -= 1;
        self.dequeue(i);
        self.srv[i].usable = false;
    }

    /// `fwrr_set_server_status_up`.
    pub fn set_up(&mut self, i: usize) {
        if self.srv[i].usable || self.srv[i].eweight == 0 {
            return;
        }
        let g = self.group_of(i);
        self.srv[i].usable = true;
        self.groups[g].next_weight += self.srv[i].eweight;
        self.groups[g].count += 1;
        self.get_srv(i);
        let grp = &self.groups[g];
        let s = &mut self.srv[i];
        s.npos = up_position(grp, s.eweight);
        self.queue(i);
    }

    /// `fwrr_update_server_weight`: a new effective weight (`slowstart`
    /// ramps it), in HAProxy's units (user weight × 16). A server that is
    /// down only keeps it for when it comes up. One waiting in `init` is
    /// requeued by its new weight; one in `curr` or `next` gets its next
    /// position from the one it was last picked at, never later than
    /// before. Never 0 here: `slowstart`'s first step is the user weight.
    pub fn set_eweight(&mut self, i: usize, eweight: u32) {
        debug_assert!(eweight > 0, "a ramped weight is never 0");
        let old = self.srv[i].eweight;
        self.srv[i].eweight = eweight;
        if !self.srv[i].usable || old == eweight {
            return;
        }
        let g = self.group_of(i);
        let grp = &mut self.groups[g];
        grp.next_weight = grp.next_weight - old + eweight;
        match self.srv[i].tree {
            Place::Alt(k) if k == grp.init => {
                self.dequeue(i);
                self.queue_by_weight(i, Place::Alt(k));
            }
            Place::None => {
                self.get_srv(i);
                let grp = &self.groups[g];
                let s = &mut self.srv[i];
                s.npos = up_position(grp, eweight);
                self.queue(i);
            }
            _ => {
                self.get_srv(i);
                let grp = &self.groups[g];
                let s = &mut self.srv[i];
                let (prev_next, step) = (s.npos, grp.next_weight / eweight);
                s.npos = (s.lpos + step).min(prev_next);
                s.rweight = 0;
                if s.npos < grp.curr_pos + 2 {
                    s.npos = grp.curr_pos + step;
                }
                self.dequeue(i);
                self.queue(i);
            }
        }
    }

    pub fn is_usable(&self, i: usize) -> bool {
        self.srv[i].usable
    }

    /// Usable servers in the active group (HAProxy's `srv_act`).
    pub fn active_count(&self) -> u32 {
        self.groups[0].count
    }
}

/// The position a server coming up starts at: `curr_pos + (next_weight +
/// curr_weight - curr_pos) / eweight`. HAProxy computes the difference in
/// `int` and divides it by the unsigned weight. The position runs from
/// the current weight towards twice it; when servers went DOWN late in
/// that window, the weights left can sum to less than the position, the
/// difference wraps to a huge value, and the server lands in the next
/// tree, to get a fresh position when the trees switch. The same wrapping
/// here keeps that, where plain arithmetic would overflow.
fn up_position(grp: &Group, eweight: u32) -> u32 {
    let span = (grp.next_weight + grp.curr_weight).wrapping_sub(grp.curr_pos);
    grp.curr_pos.wrapping_add(span / eweight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(weights: &[u32], n: usize) -> String {
        let backup = vec![false; weights.len()];
        let usable = vec![true; weights.len()];
        let mut f = Fwrr::new(weights, &backup, &usable, false);
        (0..n).map(|_| format!("s{}", f.pick(None, |_| false).unwrap() + 1)).collect::<Vec<_>>().join(" ")
    }

    /// The vectors recorded from HAProxy 2.6.12 in semantics.md 1.3.
    #[test]
    fn matches_haproxy_pick_order() {
        assert_eq!(sequence(&[3, 2, 1], 18), "s1 s2 s1 s3 s1 s2 s1 s2 s1 s3 s1 s2 s1 s2 s1 s3 s1 s2");
        assert_eq!(sequence(&[5, 1, 1], 14), "s1 s1 s1 s2 s1 s1 s3 s1 s1 s1 s2 s1 s1 s3");
        assert_eq!(sequence(&[4, 3, 2], 18), "s1 s2 s1 s3 s2 s1 s1 s2 s3 s1 s2 s1 s3 s2 s1 s1 s2 s3");
        assert_eq!(sequence(&[1, 2, 3], 12), "s3 s2 s3 s1 s3 s2 s3 s2 s3 s1 s3 s2");
        assert_eq!(sequence(&[2, 2, 1, 1], 12), "s1 s2 s3 s1 s2 s4 s1 s2 s3 s1 s2 s4");
        assert_eq!(sequence(&[1, 1, 1], 6), "s1 s2 s3 s1 s2 s3");
    }

    #[test]
    fn a_new_effective_weight_takes_effect_in_place() {
        // s1 comes back from DOWN at the first slowstart step (eweight 4
        // for user weight 4), then its weight grows to full.
        let mut f = Fwrr::new(&[4, 4], &[false, false], &[true, true], false);
        f.set_down(0);
        f.set_eweight(0, 4);
        f.set_up(0);
        let count = |f: &mut Fwrr, n: usize| {
            let mut c = [0u32; 2];
            for _ in 0..n {
                c[f.pick(None, |_| false).unwrap()] += 1;
            }
            c
        };
        // Weights 4 and 64 (eweights): s1 gets 1 pick in 17.
        let c = count(&mut f, 17 * 20);
        assert!((19..=21).contains(&c[0]), "{c:?}");
        f.set_eweight(0, 32);
        let c = count(&mut f, 96 * 10);
        assert!((315..=325).contains(&c[0]), "{c:?}");
        f.set_eweight(0, 64);
        let c = count(&mut f, 128 * 10);
        assert!((635..=645).contains(&c[0]), "{c:?}");
        // A down server only keeps its new weight for later.
        f.set_down(1);
        f.set_eweight(1, 16);
        assert_eq!(count(&mut f, 10), [10, 0]);
        f.set_up(1);
        assert_eq!(count(&mut f, 80), [64, 16]);
    }

    #[test]
    fn weights_are_honoured_over_a_long_run() {
        let backup = [false; 4];
        let mut f = Fwrr::new(&[7, 5, 3, 1], &backup, &[true; 4], false);
        let mut counts = [0u32; 4];
        for _ in 0..1600 {
            counts[f.pick(None, |_| false).unwrap()] += 1;
        }
        assert_eq!(counts, [700, 500, 300, 100]);
    }

    #[test]
    fn down_servers_get_nothing_and_return_when_up() {
        let mut f = Fwrr::new(&[1, 1, 1], &[false; 3], &[true; 3], false);
        f.set_down(1);
        for _ in 0..30 {
            assert_ne!(f.pick(None, |_| false), Some(1));
        }
        f.set_up(1);
        let mut counts = [0u32; 3];
        for _ in 0..300 {
            counts[f.pick(None, |_| false).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| (95..=105).contains(&c)), "{counts:?}");
        f.set_down(0);
        f.set_down(1);
        f.set_down(2);
        assert_eq!(f.pick(None, |_| false), None);
    }

    #[test]
    fn servers_back_from_all_being_down_share_again() {
        // The position runs from the current weight up to twice it, then
        // the trees switch. Both servers go DOWN late in that window (a
        // deep health check and a shared database) and come back one
        // after the other: the first one's start position is computed
        // from a sum below the position, which HAProxy's `int` arithmetic
        // wraps (see `up_position`). It must not panic, and the two share
        // the picks again.
        for picks_before in [0, 10, 20, 25, 29, 31] {
            let mut f = Fwrr::new(&[1, 1], &[false; 2], &[true; 2], false);
            for _ in 0..picks_before {
                f.pick(None, |_| false);
            }
            f.set_down(1);
            f.set_down(0);
            assert_eq!(f.pick(None, |_| false), None);
            f.set_up(1);
            f.set_up(0);
            let mut counts = [0u32; 2];
            for _ in 0..100 {
                counts[f.pick(None, |_| false).unwrap()] += 1;
            }
            assert!(counts.iter().all(|&c| (45..=55).contains(&c)), "after {picks_before}: {counts:?}");
        }
    }

    #[test]
    fn backups_serve_only_when_no_active_server_is_up() {
        let mut f = Fwrr::new(&[1, 1, 1], &[false, true, true], &[true; 3], false);
        assert!((0..10).all(|_| f.pick(None, |_| false) == Some(0)));
        f.set_down(0);
        // Without allbackups only the first backup is used.
        assert!((0..10).all(|_| f.pick(None, |_| false) == Some(1)));
        let mut all = Fwrr::new(&[1, 1, 1], &[false, true, true], &[false, true, true], true);
        let picks: Vec<_> = (0..4).map(|_| all.pick(None, |_| false).unwrap()).collect();
        assert_eq!(picks, [1, 2, 1, 2]);
    }

    #[test]
    fn saturated_and_avoided_servers_are_skipped() {
        let mut f = Fwrr::new(&[1, 1, 1], &[false; 3], &[true; 3], false);
        for _ in 0..9 {
            assert_ne!(f.pick(None, |i| i == 0), Some(0));
        }
        assert_ne!(f.pick(Some(1), |_| false), Some(1));
        // The avoided server is still returned when it is the only one.
        let mut one = Fwrr::new(&[1], &[false], &[true], false);
        assert_eq!(one.pick(Some(0), |_| false), Some(0));
        assert_eq!(one.pick(None, |_| true), None);
    }
}
