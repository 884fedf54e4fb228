//! The one event queue, ordered by (time, sequence number). Equal times are
//! served in the order the events were scheduled, so ties never depend on
//! memory layout or hashing.

use crate::message::{Message, NodeId, Timer};
use crate::time::Time;
use std::cmp::Ordering;
use std::collections::{BTreeSet, BinaryHeap};

pub type TimerId = u64;

#[derive(Clone, Debug)]
pub enum Event {
    Deliver { from: NodeId, to: NodeId, sent_at: Time, msg: Message },
    Timer { node: NodeId, incarnation: u32, id: TimerId, timer: Timer },
    /// The scenario's fault with this index.
    Fault { index: u32 },
    /// Close a metrics interval.
    Tick,
}

#[derive(Clone, Debug)]
pub struct Scheduled {
    pub at: Time,
    pub seq: u64,
    pub event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Sequence numbers below this are reserved for faults, numbered by their
/// index in the fault list. A fault therefore runs before every other event
/// at its time, whether it was scheduled when the run began or applied live
/// later, which is what makes a live fault replay identically.
pub const FIRST_EVENT_SEQ: u64 = 1 << 32;

#[derive(Clone, Debug)]
pub struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    next_seq: u64,
    limit: usize,
    /// Timers cancelled but still in the heap; skipped when they come up.
    /// When they outnumber the live events the heap is rebuilt without
    /// them, so cancelled timers cost memory only briefly.
    cancelled: BTreeSet<TimerId>,
}

/// The queue held more events than its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueFull {
    pub limit: usize,
}

impl EventQueue {
    pub fn new(limit: usize) -> EventQueue {
        EventQueue { heap: BinaryHeap::new(), next_seq: FIRST_EVENT_SEQ, limit, cancelled: BTreeSet::new() }
    }

    pub fn push(&mut self, at: Time, event: Event) -> Result<(), QueueFull> {
        if self.len() >= self.limit {
            return Err(QueueFull { limit: self.limit });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Scheduled { at, seq, event });
        Ok(())
    }

    /// Schedules fault number `index` (see [`FIRST_EVENT_SEQ`]).
    pub fn push_fault(&mut self, at: Time, index: u32) {
        self.heap.push(Scheduled { at, seq: u64::from(index), event: Event::Fault { index } });
    }

    /// Cancels a pending timer. Cancelling one that already fired (or was
    /// never set) is harmless but wastes a little memory until the next
    /// compaction, so callers cancel only timers they know are pending.
    pub fn cancel(&mut self, id: TimerId) {
        self.cancelled.insert(id);
        if self.cancelled.len() > 1024 && self.cancelled.len() * 2 > self.heap.len() {
            self.compact();
        }
    }

    fn is_cancelled(&self, s: &Scheduled) -> bool {
        matches!(s.event, Event::Timer { id, .. } if self.cancelled.contains(&id))
    }

    /// Rebuilds the heap without cancelled timers.
    fn compact(&mut self) {
        let mut live = std::mem::take(&mut self.heap).into_vec();
        live.retain(|s| match s.event {
            Event::Timer { id, .. } => !self.cancelled.remove(&id),
            _ => true,
        });
        // Whatever is left was cancelled after it fired: forget it.
        self.cancelled.clear();
        self.heap = BinaryHeap::from(live);
    }

    /// Drops cancelled timers from the top of the heap.
    fn skip_cancelled(&mut self) {
        while let Some(top) = self.heap.peek() {
            if !self.is_cancelled(top) {
                break;
            }
            if let Some(Scheduled { event: Event::Timer { id, .. }, .. }) = self.heap.pop() {
                self.cancelled.remove(&id);
            }
        }
    }

    pub fn peek_time(&mut self) -> Option<Time> {
        self.skip_cancelled();
        self.heap.peek().map(|s| s.at)
    }

    pub fn pop(&mut self) -> Option<Scheduled> {
        self.skip_cancelled();
        self.heap.pop()
    }

    /// Live (not cancelled) events pending.
    pub fn len(&self) -> usize {
        self.heap.len().saturating_sub(self.cancelled.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending events in no particular order (for drawing messages in
    /// flight; never for deciding what the simulation does).
    pub fn iter(&self) -> impl Iterator<Item = &Scheduled> {
        self.heap.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_by_scheduling_order_with_faults_first() {
        let mut q = EventQueue::new(100);
        q.push(5, Event::Tick).unwrap();
        q.push(3, Event::Tick).unwrap();
        q.push(5, Event::Fault { index: 9 }).unwrap_or(());
        q.push_fault(5, 1);
        q.push(3, Event::Tick).unwrap();
        let order: Vec<(Time, u64)> = std::iter::from_fn(|| q.pop()).map(|s| (s.at, s.seq)).collect();
        let f = FIRST_EVENT_SEQ;
        assert_eq!(order, [(3, f + 1), (3, f + 3), (5, 1), (5, f), (5, f + 2)]);
    }

    #[test]
    fn cancelled_timers_never_pop_and_are_compacted_away() {
        let timer = |id| Event::Timer { node: 0, incarnation: 0, id, timer: crate::message::Timer::NextArrival };
        let mut q = EventQueue::new(10_000);
        for id in 0..3000 {
            q.push(id, timer(id)).unwrap();
        }
        for id in 0..2990 {
            q.cancel(id);
        }
        assert_eq!(q.len(), 10);
        assert!(q.heap.len() < 3000, "compaction ran");
        let popped: Vec<Time> = std::iter::from_fn(|| q.pop()).map(|s| s.at).collect();
        assert_eq!(popped, (2990..3000).collect::<Vec<_>>());
    }

    #[test]
    fn refuses_past_its_limit() {
        let mut q = EventQueue::new(1);
        q.push(1, Event::Tick).unwrap();
        assert_eq!(q.push(2, Event::Tick), Err(QueueFull { limit: 1 }));
    }
}
