//! Held links (`hold_link` / `release_link`): a link that stops moving
//! without losing anything, as turmoil's `hold` and FoundationDB's clogged
//! pairs do. A message that reaches the far end of a held link waits there,
//! in the order it arrived; a release delivers them all at once. Unlike a
//! cut, nothing is dropped (up to `limits.held_backlog`), so a release can
//! bring old messages to a node that has moved on: a vote from an earlier
//! term, a write from a deposed primary.

use crate::follow::OpIndex;
use crate::message::{Message, NodeId};
use crate::time::Time;
use std::collections::VecDeque;

/// A message waiting at a held link's end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeldMessage {
    pub from: NodeId,
    pub to: NodeId,
    pub sent_at: Time,
    pub msg: Message,
    /// The operation it was sent for (when following).
    pub op: Option<OpIndex>,
}

/// The held links and what each holds, both directions together in
/// arrival order, lower ends first. A plain list: a run holds a few links
/// at a time.
#[derive(Clone, Debug, Default)]
pub struct HeldLinks {
    links: Vec<((NodeId, NodeId), VecDeque<HeldMessage>)>,
}

fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl HeldLinks {
    fn find(&self, a: NodeId, b: NodeId) -> Result<usize, usize> {
        let k = key(a, b);
        self.links.binary_search_by(|(ends, _)| ends.cmp(&k))
    }

    /// Holds the link between `a` and `b` (again: no change).
    pub fn hold(&mut self, a: NodeId, b: NodeId) {
        if let Err(i) = self.find(a, b) {
            self.links.insert(i, (key(a, b), VecDeque::new()));
        }
    }

    pub fn is_held(&self, a: NodeId, b: NodeId) -> bool {
        !self.links.is_empty() && self.find(a, b).is_ok()
    }

    /// Keeps `m` at its link, which is held; false (and nothing kept) when
    /// it already holds `limit` messages.
    pub fn keep(&mut self, m: HeldMessage, limit: usize) -> bool {
        let Ok(i) = self.find(m.from, m.to) else {
            return false;
        };
        let waiting = &mut self.links[i].1;
        if waiting.len() >= limit {
            return false;
        }
        waiting.push_back(m);
        true
    }

    /// Messages waiting at the link between `a` and `b`; `None` if it is
    /// not held.
    pub fn waiting(&self, a: NodeId, b: NodeId) -> Option<usize> {
        self.find(a, b).ok().map(|i| self.links[i].1.len())
    }

    /// Ends the hold of the link between `a` and `b`: what it held, in
    /// arrival order (empty if it was not held).
    pub fn release(&mut self, a: NodeId, b: NodeId) -> VecDeque<HeldMessage> {
        self.find(a, b).map(|i| self.links.remove(i).1).unwrap_or_default()
    }

    /// Ends every hold: what each link held, link by link (lower ends
    /// first), each in arrival order.
    pub fn release_all(&mut self) -> Vec<HeldMessage> {
        std::mem::take(&mut self.links).into_iter().flat_map(|(_, waiting)| waiting).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn held(from: NodeId, to: NodeId, sent_at: Time) -> HeldMessage {
        HeldMessage { from, to, sent_at, msg: Message::HealthCheck { seq: 1 }, op: None }
    }

    #[test]
    fn holds_both_directions_in_arrival_order_and_releases_once() {
        let mut h = HeldLinks::default();
        assert!(!h.is_held(0, 1));
        h.hold(1, 0);
        assert!(h.is_held(0, 1) && h.is_held(1, 0) && !h.is_held(0, 2));
        for (from, to, t) in [(0, 1, 5), (1, 0, 6), (0, 1, 7)] {
            assert!(h.keep(held(from, to, t), 10));
        }
        assert_eq!(h.waiting(0, 1), Some(3));
        let out: Vec<Time> = h.release(0, 1).iter().map(|m| m.sent_at).collect();
        assert_eq!(out, [5, 6, 7]);
        assert!(!h.is_held(0, 1) && h.waiting(0, 1).is_none());
        assert!(h.release(0, 1).is_empty());
    }

    #[test]
    fn a_full_link_keeps_nothing_more() {
        let mut h = HeldLinks::default();
        h.hold(0, 1);
        assert!(h.keep(held(0, 1, 1), 2) && h.keep(held(1, 0, 2), 2));
        assert!(!h.keep(held(0, 1, 3), 2));
        assert_eq!(h.waiting(1, 0), Some(2));
    }

    #[test]
    fn release_all_goes_link_by_link() {
        let mut h = HeldLinks::default();
        h.hold(2, 3);
        h.hold(0, 1);
        assert!(h.keep(held(3, 2, 1), 9) && h.keep(held(0, 1, 2), 9));
        let order: Vec<NodeId> = h.release_all().iter().map(|m| m.from).collect();
        assert_eq!(order, [0, 3]);
        assert!(!h.is_held(0, 1) && !h.is_held(2, 3));
    }
}
