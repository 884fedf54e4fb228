//! The one event queue, ordered by (time, sequence number). Equal times are
//! served in the order the events were scheduled, so ties never depend on
//! memory layout or hashing.
//!
//! Built for the simulation's pattern: most events are due soon (messages,
//! service times), while timeouts are set far ahead and usually cancelled
//! before they are due. Keys wait in a two-level timing wheel (a calendar
//! queue, as in Varghese and Lauck's hierarchical wheels): fine buckets for
//! the next few milliseconds, coarse ones for the next seconds, a list
//! beyond. Only the bucket being served is sorted, so an event costs a
//! constant amount of work to schedule and a short sort to serve, and a
//! cancelled timeout is usually dropped unsorted.

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

    /// The timer event's sequence number in the queue.
    pub fn seq(&self) -> u64 {
        self.seq
    }
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

/// Fine buckets are 2^14 ns (16.4 us) wide; 256 of them make one coarse
/// bucket (4.2 ms); 256 coarse buckets reach 1.07 s ahead. (Chosen by
/// measurement: narrower buckets mean fewer keys to sort and to insert
/// into the bucket being served.)
const FINE_BITS: u32 = 14;
const COARSE_BITS: u32 = FINE_BITS + 8;
const WHEEL: usize = 256;

/// A set of 256 bucket numbers.
#[derive(Clone, Copy, Debug, Default)]
struct Occupied([u64; 4]);

impl Occupied {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    /// The first member at or after `from`.
    fn first_from(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        if w >= 4 {
            return None;
        }
        let mut bits = self.0[w] & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            if w == 4 {
                return None;
            }
            bits = self.0[w];
        }
    }
}

/// The timing wheel. Absolute bucket numbers: fine `at >> FINE_BITS`,
/// coarse `at >> COARSE_BITS`. `block` is the coarse bucket being served;
/// its fine buckets hold its keys, later coarse buckets (up to 255 ahead)
/// hold theirs, and `overflow` holds the rest.
#[derive(Clone, Debug)]
struct Wheel {
    /// The fine bucket being served, sorted largest first (pop from the end).
    current: Vec<Key>,
    /// Its absolute fine bucket number.
    fine_now: u64,
    fine: Vec<Vec<Key>>,
    fine_used: Occupied,
    coarse: Vec<Vec<Key>>,
    coarse_used: Occupied,
    overflow: Vec<Key>,
    /// The earliest time in `overflow` (or MAX): overflow is only scanned
    /// when that comes within the coarse wheel's reach.
    overflow_min: Time,
    /// Keys stored, live or cancelled.
    len: usize,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel {
            current: Vec::new(),
            fine_now: 0,
            fine: vec![Vec::new(); WHEEL],
            fine_used: Occupied::default(),
            coarse: vec![Vec::new(); WHEEL],
            coarse_used: Occupied::default(),
            overflow: Vec::new(),
            overflow_min: Time::MAX,
            len: 0,
        }
    }
}

impl Wheel {
    fn block(&self) -> u64 {
        self.fine_now >> (COARSE_BITS - FINE_BITS)
    }

    /// Files a key by its time.
    fn file(&mut self, key: Key) {
        let at = key.at();
        let fine = at >> FINE_BITS;
        if fine <= self.fine_now {
            // Into the sorted bucket being served, in place. A key can be
            // earlier than that bucket: looking for the next event moves
            // the wheel to it, and an event (a fault applied live) may then
            // be scheduled before it. It still sorts before every key in
            // the later buckets.
            let pos = self.current.partition_point(|k| *k > key);
            self.current.insert(pos, key);
        } else {
            self.file_in_block(key, self.block());
        }
    }

    fn push(&mut self, key: Key) {
        self.len += 1;
        self.file(key);
    }

    /// Makes `current` hold the earliest keys, if there are any; drops the
    /// keys `live` rejects on the way (returning how many).
    fn settle(&mut self, live: &impl Fn(&Key) -> bool) -> usize {
        let mut dropped = 0;
        while self.current.is_empty() && self.len > 0 {
            let in_block = (self.fine_now % WHEEL as u64) as usize;
            if let Some(i) = self.fine_used.first_from(in_block + 1) {
                // The next fine bucket of this block.
                self.fine_now += (i - in_block) as u64;
                dropped += self.load(i, live);
                continue;
            }
            // This block is done: open the next coarse bucket with keys, or
            // the overflow's first block if that comes sooner.
            let block = self.block();
            let from = ((block + 1) % WHEEL as u64) as usize;
            let next = self
                .coarse_used
                .first_from(from)
                .or_else(|| self.coarse_used.first_from(0))
                .map(|i| block + 1 + ((i + WHEEL - from) % WHEEL) as u64);
            let overflow_block = (self.overflow_min != Time::MAX).then_some(self.overflow_min >> COARSE_BITS);
            let target = match (next, overflow_block) {
                (Some(n), Some(o)) => n.min(o),
                (Some(n), None) => n,
                (None, Some(o)) => o,
                (None, None) => unreachable!("keys are stored but none is filed"),
            };
            dropped += self.open_block(target, live);
            if self.fine_used.first_from(0) == Some(0) {
                dropped += self.load(0, live);
            }
        }
        dropped
    }

    /// Makes fine bucket `i` the one being served: live keys, sorted.
    fn load(&mut self, i: usize, live: &impl Fn(&Key) -> bool) -> usize {
        self.fine_used.clear(i);
        std::mem::swap(&mut self.current, &mut self.fine[i]);
        let before = self.current.len();
        self.current.retain(live);
        let dropped = before - self.current.len();
        self.len -= dropped;
        self.current.sort_unstable_by(|a, b| b.cmp(a));
        dropped
    }

    /// Serves coarse bucket `block` next: its keys (and any overflow now
    /// within reach) go into the fine buckets. Returns the keys dropped.
    fn open_block(&mut self, block: u64, live: &impl Fn(&Key) -> bool) -> usize {
        self.fine_now = block << (COARSE_BITS - FINE_BITS);
        let i = (block % WHEEL as u64) as usize;
        let mut refile = std::mem::take(&mut self.coarse[i]);
        self.coarse_used.clear(i);
        if self.overflow_min != Time::MAX && (self.overflow_min >> COARSE_BITS) < block + WHEEL as u64 {
            refile.append(&mut self.overflow);
            self.overflow_min = Time::MAX;
        }
        let mut dropped = 0;
        for k in refile.drain(..) {
            if live(&k) {
                self.file_in_block(k, block);
            } else {
                dropped += 1;
            }
        }
        self.len -= dropped;
        // Give the coarse bucket its storage back.
        self.coarse[i] = refile;
        dropped
    }

    /// Files a key relative to coarse bucket `block`: a fine bucket if it
    /// falls in that block, else a coarse bucket, else the overflow.
    fn file_in_block(&mut self, key: Key, block: u64) {
        let at = key.at();
        if at >> COARSE_BITS == block {
            let i = ((at >> FINE_BITS) % WHEEL as u64) as usize;
            self.fine[i].push(key);
            self.fine_used.set(i);
        } else if (at >> COARSE_BITS) - block < WHEEL as u64 {
            let i = ((at >> COARSE_BITS) % WHEEL as u64) as usize;
            self.coarse[i].push(key);
            self.coarse_used.set(i);
        } else {
            self.overflow_min = self.overflow_min.min(at);
            self.overflow.push(key);
        }
    }

    fn peek(&self) -> Option<Key> {
        self.current.last().copied()
    }

    fn pop(&mut self) -> Option<Key> {
        let k = self.current.pop()?;
        self.len -= 1;
        Some(k)
    }

    fn retain(&mut self, live: impl Fn(&Key) -> bool) {
        self.current.retain(&live);
        for (i, b) in self.fine.iter_mut().enumerate() {
            b.retain(&live);
            if b.is_empty() {
                self.fine_used.clear(i);
            }
        }
        for (i, b) in self.coarse.iter_mut().enumerate() {
            b.retain(&live);
            if b.is_empty() {
                self.coarse_used.clear(i);
            }
        }
        self.overflow.retain(&live);
        self.overflow_min = self.overflow.iter().map(|k| k.at()).min().unwrap_or(Time::MAX);
        self.len = self.iter().count();
    }

    fn iter(&self) -> impl Iterator<Item = &Key> {
        self.current
            .iter()
            .chain(self.fine.iter().flatten())
            .chain(self.coarse.iter().flatten())
            .chain(self.overflow.iter())
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

fn is_live(slots: &[Slot], k: &Key) -> bool {
    let s = &slots[k.slot() as usize];
    s.seq == k.seq() && s.event.is_some()
}

/// Sequence numbers below this are reserved for faults, numbered by their
/// index in the fault list. A fault therefore runs before every other event
/// at its time, whether it was scheduled when the run began or applied live
/// later, which is what makes a live fault replay identically.
pub const FIRST_EVENT_SEQ: u64 = 1 << 32;

#[derive(Clone, Debug)]
pub struct EventQueue {
    wheel: Wheel,
    slots: Vec<Slot>,
    free: Vec<u32>,
    next_seq: u64,
    limit: usize,
    /// Keys in the wheel whose event was cancelled. When they outnumber the
    /// live ones, the wheel is rebuilt without them.
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
            wheel: Wheel::default(),
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
        self.wheel.push(Key::new(at, seq, slot));
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

    /// Schedules `event`; returns its sequence number.
    pub fn push(&mut self, at: Time, event: Event) -> Result<u64, QueueFull> {
        let seq = self.next_seq()?;
        self.insert(at, seq, event);
        Ok(seq)
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
        is_live(&self.slots, k)
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
        if self.dead > 1024 && self.dead * 2 > self.wheel.len {
            let slots = &self.slots;
            self.wheel.retain(|k| is_live(slots, k));
            self.dead = 0;
        }
    }

    /// Drops every fault still to come (the run's schedule is over).
    pub fn drop_faults(&mut self) {
        for slot in 0..self.slots.len() {
            if matches!(self.slots[slot].event, Some(Event::Fault { .. })) {
                self.release(slot as u32);
                self.dead += 1;
            }
        }
    }

    /// The earliest live key, dropping cancelled ones on the way.
    fn first(&mut self) -> Option<Key> {
        loop {
            let slots = &self.slots;
            self.dead -= self.wheel.settle(&|k| is_live(slots, k));
            let k = self.wheel.peek()?;
            if is_live(&self.slots, &k) {
                return Some(k);
            }
            self.wheel.pop();
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
        self.wheel.pop();
        let event = self.release(k.slot()).expect("a live key has an event");
        Some(Scheduled { at: k.at(), seq: k.seq(), event })
    }

    /// Live (not cancelled) events pending.
    pub fn len(&self) -> usize {
        self.wheel.len - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending events in no particular order (for drawing messages in
    /// flight; never for deciding what the simulation does).
    pub fn iter(&self) -> impl Iterator<Item = (Time, &Event)> + '_ {
        self.wheel
            .iter()
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
        assert!(q.wheel.len < 3000, "compaction ran");
        let popped: Vec<Time> = std::iter::from_fn(|| q.pop()).map(|s| s.at).collect();
        assert_eq!(popped, (2990..3000).collect::<Vec<_>>());
        q.cancel(ids[2995]);
        assert!(q.is_empty());
    }

    #[test]
    fn dropped_faults_never_pop_and_other_events_stay() {
        let mut q = EventQueue::new(100);
        q.push_fault(10, 0);
        q.push_timer(10, 0, 0, Timer::NextArrival).unwrap();
        q.push_fault(20, 1);
        q.push(30, Event::Tick).unwrap();
        q.drop_faults();
        assert_eq!(q.len(), 2);
        let popped: Vec<(Time, bool)> =
            std::iter::from_fn(|| q.pop()).map(|s| (s.at, matches!(s.event, Event::Fault { .. }))).collect();
        assert_eq!(popped, vec![(10, false), (30, false)]);
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
            let at = rng.below(50_000_000_000);
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

    /// Against a plain ordered set: random pushes (near, far, and past the
    /// wheel's reach), cancellations and pops, interleaved as a simulation
    /// interleaves them, always pop the same events in the same order.
    #[test]
    fn matches_an_ordered_set_model() {
        use std::collections::BTreeMap;
        for seed in 0..20 {
            let mut rng = crate::rng::Rng::stream(seed, 77);
            let mut q = EventQueue::new(1_000_000);
            let mut model: BTreeMap<(Time, u64), Option<TimerId>> = BTreeMap::new();
            let mut timers: Vec<(TimerId, Time, u64)> = Vec::new();
            let mut now: Time = 0;
            let mut seq = FIRST_EVENT_SEQ;
            for step in 0..30_000u32 {
                match rng.below(10) {
                    0..=4 => {
                        let delay = match rng.below(10) {
                            0 => 0,
                            1..=5 => rng.below(200_000),
                            6..=7 => rng.below(50_000_000),
                            8 => rng.below(3_000_000_000),
                            _ => rng.below(20_000_000_000),
                        };
                        let id = q.push_timer(now + delay, 0, 0, Timer::NextArrival).unwrap();
                        model.insert((now + delay, seq), Some(id));
                        timers.push((id, now + delay, seq));
                        seq += 1;
                    }
                    5 if !timers.is_empty() => {
                        let (id, at, s) = timers.swap_remove(rng.below(timers.len() as u64) as usize);
                        q.cancel(id);
                        model.remove(&(at, s));
                    }
                    6 => {
                        // Look ahead without taking, as run_until does.
                        assert_eq!(q.peek_time(), model.first_key_value().map(|((at, _), _)| *at));
                    }
                    _ => {
                        let want = model.pop_first();
                        let got = q.pop();
                        match (want, got) {
                            (None, None) => {}
                            (Some(((at, s), _)), Some(g)) => {
                                assert_eq!((g.at, g.seq), (at, s), "seed {seed} step {step}");
                                now = at;
                            }
                            (w, g) => {
                                panic!("seed {seed} step {step}: model {w:?}, queue {:?}", g.map(|g| (g.at, g.seq)))
                            }
                        }
                    }
                }
                assert_eq!(q.len(), model.len(), "seed {seed} step {step}");
            }
        }
    }

    #[test]
    fn refuses_past_its_limit() {
        let mut q = EventQueue::new(1);
        q.push(1, Event::Tick).unwrap();
        assert_eq!(q.push(2, Event::Tick), Err(QueueFull::Pending { limit: 1 }));
    }
}
