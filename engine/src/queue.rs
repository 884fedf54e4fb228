//! The one event queue, ordered by (time, sequence number). Equal times are
//! served in the order the events were scheduled, so ties never depend on
//! memory layout or hashing.
//!
//! Built for the simulation's pattern: most events are due soon (messages,
//! service times), while timeouts are set far ahead and usually cancelled
//! before they are due. Near events live in a 4-ary heap of small keys; far
//! ones wait unsorted until the heap runs dry, so a cancelled timeout
//! usually never touches the heap.

use crate::message::{Message, NodeId, Timer};
use crate::time::Time;

/// Names a pending timer so it can be cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    slot: u32,
    seq: u64,
}

impl TimerId {
    /// Names no timer.
    pub const NONE: TimerId = TimerId { slot: u32::MAX, seq: 0 };
}

#[derive(Clone, Debug)]
pub enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        sent_at: Time,
        msg: Message,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        timer: Timer,
    },
    /// The scenario's fault with this index.
    Fault {
        index: u32,
    },
    /// Close a metrics interval.
    Tick,
}

#[derive(Clone, Debug)]
pub struct Scheduled {
    pub at: Time,
    pub seq: u64,
    pub event: Event,
}

/// What the heap orders: one 128-bit number, so sifting is cheap and a
/// comparison is one instruction pair; the event itself waits in a slot.
/// From the top: the time (64 bits), the sequence number (40 bits), the
/// slot (24 bits). Sequence numbers are unique, so the order of keys is the
/// order of `(time, sequence)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128);

const SLOT_BITS: u32 = 24;
/// Events pending at once can never exceed this (16.7 million).
pub const MAX_PENDING: usize = 1 << SLOT_BITS;
/// Sequence numbers must fit in the 40 bits between time and slot.
const MAX_SEQ: u64 = (1 << (64 - SLOT_BITS)) - 1;

impl Key {
    fn new(at: Time, seq: u64, slot: u32) -> Key {
        Key((u128::from(at) << 64) | u128::from((seq << SLOT_BITS) | u64::from(slot)))
    }
    fn at(&self) -> Time {
        (self.0 >> 64) as Time
    }
    fn seq(&self) -> u64 {
        (self.0 as u64) >> SLOT_BITS
    }
    fn slot(&self) -> u32 {
        (self.0 as u64 & ((1 << SLOT_BITS) - 1)) as u32
    }
}

/// A 4-ary min-heap: half the depth of a binary heap, and a node's
/// children sit side by side in memory.
#[derive(Clone, Debug, Default)]
struct Heap {
    keys: Vec<Key>,
}

impl Heap {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn peek(&self) -> Option<Key> {
        self.keys.first().copied()
    }

    fn push(&mut self, key: Key) {
        let mut i = self.keys.len();
        self.keys.push(key);
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.keys[parent] <= key {
                break;
            }
            self.keys[i] = self.keys[parent];
            i = parent;
        }
        self.keys[i] = key;
    }

    /// Floyd's pop: the hole at the root sinks to a leaf along the smallest
    /// children (no comparison with the moved key on the way down, and no
    /// hard-to-predict branch), then the last key rises from there, which
    /// is usually zero or one step.
    fn pop(&mut self) -> Option<Key> {
        let last = self.keys.pop()?;
        if self.keys.is_empty() {
            return Some(last);
        }
        let top = self.keys[0];
        let n = self.keys.len();
        let mut i = 0;
        loop {
            let first = 4 * i + 1;
            let min = if first + 4 <= n {
                // All four children exist: the common case, unrolled.
                let c = &self.keys[first..first + 4];
                let a = if c[1] < c[0] { 1 } else { 0 };
                let b = if c[3] < c[2] { 3 } else { 2 };
                first + if c[b] < c[a] { b } else { a }
            } else if first < n {
                let mut min = first;
                for c in first + 1..n {
                    if self.keys[c] < self.keys[min] {
                        min = c;
                    }
                }
                min
            } else {
                break;
            };
            self.keys[i] = self.keys[min];
            i = min;
        }
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.keys[parent] <= last {
                break;
            }
            self.keys[i] = self.keys[parent];
            i = parent;
        }
        self.keys[i] = last;
        Some(top)
    }

    /// Keeps the keys `live` accepts, in heap order.
    fn retain(&mut self, live: impl Fn(&Key) -> bool) {
        self.keys.retain(live);
        // A sorted array is a valid heap.
        self.keys.sort_unstable();
    }

    fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }
}

/// Holds one pending event. A key is live only while its slot holds an
/// event with the key's sequence number: slots are reused after a
/// cancellation, and a stale key must not match the new occupant.
#[derive(Clone, Debug)]
struct Slot {
    seq: u64,
    event: Option<Event>,
}

/// Sequence numbers below this are reserved for faults, numbered by their
/// index in the fault list. A fault therefore runs before every other event
/// at its time, whether it was scheduled when the run began or applied live
/// later, which is what makes a live fault replay identically.
pub const FIRST_EVENT_SEQ: u64 = 1 << 32;

/// How far past the earliest far event the heap reaches when it is
/// refilled.
const HORIZON: Time = 5_000_000;

#[derive(Clone, Debug)]
pub struct EventQueue {
    /// Events before `horizon`, in (time, sequence) order.
    heap: Heap,
    /// Events at or after `horizon`, unsorted.
    far: Vec<Key>,
    horizon: Time,
    slots: Vec<Slot>,
    free: Vec<u32>,
    next_seq: u64,
    limit: usize,
    /// Keys (in `heap` or `far`) whose event was cancelled. When they
    /// outnumber the live ones, both are rebuilt without them.
    dead: usize,
}

/// Why the queue refused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueFull {
    /// More events pending at once than the limit.
    Pending { limit: usize },
    /// The run has used every sequence number (about 10^12 events).
    Sequence,
}

impl EventQueue {
    pub fn new(limit: usize) -> EventQueue {
        EventQueue {
            heap: Heap::default(),
            far: Vec::new(),
            horizon: HORIZON,
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: FIRST_EVENT_SEQ,
            limit: limit.min(MAX_PENDING),
            dead: 0,
        }
    }

    fn insert(&mut self, at: Time, seq: u64, event: Event) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Slot { seq, event: Some(event) };
                s
            }
            None => {
                self.slots.push(Slot { seq, event: Some(event) });
                self.slots.len() as u32 - 1
            }
        };
        let key = Key::new(at, seq, slot);
        if at < self.horizon {
            self.heap.push(key);
        } else {
            self.far.push(key);
        }
        slot
    }

    fn next_seq(&mut self) -> Result<u64, QueueFull> {
        if self.len() >= self.limit {
            return Err(QueueFull::Pending { limit: self.limit });
        }
        if self.next_seq > MAX_SEQ {
            return Err(QueueFull::Sequence);
        }
        self.next_seq += 1;
        Ok(self.next_seq - 1)
    }

    pub fn push(&mut self, at: Time, event: Event) -> Result<(), QueueFull> {
        let seq = self.next_seq()?;
        self.insert(at, seq, event);
        Ok(())
    }

    /// Schedules a timer and returns the id that cancels it.
    pub fn push_timer(&mut self, at: Time, node: NodeId, incarnation: u32, timer: Timer) -> Result<TimerId, QueueFull> {
        let seq = self.next_seq()?;
        // The id names the slot the event will take: the last free one, or
        // a new one.
        let slot = self.free.last().copied().unwrap_or(self.slots.len() as u32);
        let id = TimerId { slot, seq };
        let used = self.insert(at, seq, Event::Timer { node, incarnation, id, timer });
        debug_assert_eq!(used, slot);
        Ok(id)
    }

    /// Schedules fault number `index` (see [`FIRST_EVENT_SEQ`]).
    pub fn push_fault(&mut self, at: Time, index: u32) {
        self.insert(at, u64::from(index), Event::Fault { index });
    }

    fn is_live(&self, k: &Key) -> bool {
        let s = &self.slots[k.slot() as usize];
        s.seq == k.seq() && s.event.is_some()
    }

    fn release(&mut self, slot: u32) -> Option<Event> {
        self.free.push(slot);
        self.slots[slot as usize].event.take()
    }

    /// Cancels a pending timer. A timer that already fired is ignored.
    pub fn cancel(&mut self, id: TimerId) {
        let live = self.slots.get(id.slot as usize).is_some_and(|s| s.seq == id.seq && s.event.is_some());
        if !live {
            return;
        }
        self.release(id.slot);
        self.dead += 1;
        if self.dead > 1024 && self.dead * 2 > self.heap.len() + self.far.len() {
            let mut heap = std::mem::take(&mut self.heap);
            heap.retain(|k| self.is_live(k));
            self.heap = heap;
            let mut far = std::mem::take(&mut self.far);
            far.retain(|k| self.is_live(k));
            self.far = far;
            self.dead = 0;
        }
    }

    /// Moves the far events before a new horizon into the heap, dropping
    /// cancelled ones. Called only when the heap is empty, so every event
    /// in the heap stays earlier than every event in `far`.
    fn advance_horizon(&mut self) {
        let mut far = std::mem::take(&mut self.far);
        let before = far.len();
        far.retain(|k| self.is_live(k));
        self.dead -= before - far.len();
        if let Some(first) = far.iter().map(|k| k.at()).min() {
            self.horizon = first.saturating_add(HORIZON);
            let horizon = self.horizon;
            far.retain(|&k| {
                if k.at() < horizon {
                    self.heap.push(k);
                    false
                } else {
                    true
                }
            });
        }
        self.far = far;
    }

    /// The earliest live key, dropping cancelled ones on the way.
    fn first(&mut self) -> Option<Key> {
        loop {
            let Some(k) = self.heap.peek() else {
                if self.far.is_empty() {
                    return None;
                }
                self.advance_horizon();
                continue;
            };
            if self.is_live(&k) {
                return Some(k);
            }
            self.heap.pop();
            self.dead -= 1;
        }
    }

    pub fn peek_time(&mut self) -> Option<Time> {
        self.first().map(|k| k.at())
    }

    pub fn pop(&mut self) -> Option<Scheduled> {
        self.pop_before(Time::MAX)
    }

    /// Pops the earliest event if it is due before `t`.
    pub fn pop_before(&mut self, t: Time) -> Option<Scheduled> {
        let k = self.first()?;
        if k.at() >= t {
            return None;
        }
        self.heap.pop();
        let event = self.release(k.slot()).expect("a live key has an event");
        Some(Scheduled { at: k.at(), seq: k.seq(), event })
    }

    /// Live (not cancelled) events pending.
    pub fn len(&self) -> usize {
        self.heap.len() + self.far.len() - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending events in no particular order (for drawing messages in
    /// flight; never for deciding what the simulation does).
    pub fn iter(&self) -> impl Iterator<Item = (Time, &Event)> + '_ {
        self.heap
            .iter()
            .chain(self.far.iter())
            .filter(|k| self.is_live(k))
            .filter_map(|k| self.slots[k.slot() as usize].event.as_ref().map(|e| (k.at(), e)))
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
        q.push(5, Event::Tick).unwrap();
        q.push_fault(5, 1);
        q.push(3, Event::Tick).unwrap();
        let order: Vec<(Time, u64)> = std::iter::from_fn(|| q.pop()).map(|s| (s.at, s.seq)).collect();
        let f = FIRST_EVENT_SEQ;
        assert_eq!(order, [(3, f + 1), (3, f + 3), (5, 1), (5, f), (5, f + 2)]);
    }

    #[test]
    fn cancelled_timers_never_pop_and_are_compacted_away() {
        let mut q = EventQueue::new(10_000);
        let ids: Vec<TimerId> = (0..3000).map(|t| q.push_timer(t, 0, 0, Timer::NextArrival).unwrap()).collect();
        for &id in &ids[..2990] {
            q.cancel(id);
        }
        // Cancelling twice, or after firing, changes nothing.
        q.cancel(ids[0]);
        assert_eq!(q.len(), 10);
        assert!(q.heap.len() + q.far.len() < 3000, "compaction ran");
        let popped: Vec<Time> = std::iter::from_fn(|| q.pop()).map(|s| s.at).collect();
        assert_eq!(popped, (2990..3000).collect::<Vec<_>>());
        q.cancel(ids[2995]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_reused_slot_is_not_confused_with_a_cancelled_timer() {
        let mut q = EventQueue::new(100);
        let a = q.push_timer(10, 0, 0, Timer::NextArrival).unwrap();
        q.cancel(a);
        // The new timer takes a's slot; a's stale heap key must not fire it
        // early, and cancelling a again must not cancel it.
        let b = q.push_timer(20, 0, 0, Timer::NextArrival).unwrap();
        q.cancel(a);
        assert_eq!(q.peek_time(), Some(20));
        let s = q.pop().unwrap();
        assert!(matches!(s.event, Event::Timer { id, .. } if id == b));
        assert!(q.pop().is_none());
    }

    #[test]
    fn heap_sorts_like_a_sort() {
        let mut rng = crate::rng::Rng::stream(5, 5);
        let mut q = EventQueue::new(100_000);
        let mut expected = Vec::new();
        for _ in 0..5000 {
            let at = rng.below(1000);
            q.push(at, Event::Tick).unwrap();
            expected.push(at);
        }
        expected.sort();
        let got: Vec<Time> = std::iter::from_fn(|| q.pop()).map(|s| s.at).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn cancelled_and_live_events_interleave_in_order() {
        let mut rng = crate::rng::Rng::stream(6, 6);
        let mut q = EventQueue::new(100_000);
        let mut expected = Vec::new();
        let mut ids = Vec::new();
        for i in 0..4000u64 {
            let at = rng.below(50_000_000);
            let id = q.push_timer(at, 0, 0, Timer::NextArrival).unwrap();
            if i % 3 == 0 {
                ids.push(id);
            } else {
                expected.push((at, FIRST_EVENT_SEQ + i));
            }
        }
        for id in ids {
            q.cancel(id);
        }
        expected.sort();
        let mut got = Vec::new();
        // Interleave pushes during popping: a new near event must still come
        // out in order.
        while let Some(s) = q.pop() {
            got.push((s.at, s.seq));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn refuses_past_its_limit() {
        let mut q = EventQueue::new(1);
        q.push(1, Event::Tick).unwrap();
        assert_eq!(q.push(2, Event::Tick), Err(QueueFull::Pending { limit: 1 }));
    }
}
