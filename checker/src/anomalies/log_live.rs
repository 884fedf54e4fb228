//! The log anomalies of [`super::log`], kept up to date as a run goes:
//! each completed operation is added once, in the order operations
//! complete, and a snapshot costs what is still undecided, not the whole
//! history (the batch check re-reads everything each time).
//!
//! It finds what the batch check finds on the same operations, with one
//! difference: a poll's skips are judged with the offsets known when the
//! poll is added (the batch check also knows offsets learned later).

use super::log::{Found, Kind, LogAnomalies, LogEvent};
use crate::history::Outcome;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// The last poll of its offset returned its value.
    Observed,
    /// The last poll of its offset returned another value.
    Replaced,
    /// No poll returned its offset yet.
    Pending,
}

#[derive(Clone, Copy, Debug)]
struct Acked {
    op: usize,
    value: u64,
    seen: Seen,
}

/// What is known about one offset of a log.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// Values seen there (acknowledged sends and polls), with the first
    /// operation showing each; almost always one.
    values: Vec<(u64, usize)>,
    /// The value the last poll returned there.
    last_seen: Option<u64>,
    acked: Vec<Acked>,
}

/// Slots by offset: a vector while offsets come densely (as a Kafka
/// partition's do), a map for offsets far beyond it.
#[derive(Clone, Debug, Default)]
struct Slots {
    dense: Vec<Slot>,
    sparse: BTreeMap<u64, Slot>,
}

/// How far past the dense part an offset may land and still extend it.
const DENSE_GAP: u64 = 1 << 12;

impl Slots {
    fn get(&self, o: u64) -> Option<&Slot> {
        match usize::try_from(o) {
            Ok(i) if i < self.dense.len() => Some(&self.dense[i]),
            _ => self.sparse.get(&o),
        }
    }

    fn get_mut(&mut self, o: u64) -> &mut Slot {
        let len = self.dense.len() as u64;
        if o < len + DENSE_GAP && self.sparse.is_empty() {
            if o >= len {
                self.dense.resize_with(o as usize + 1, Slot::default);
            }
            &mut self.dense[o as usize]
        } else if o < len {
            &mut self.dense[o as usize]
        } else {
            self.sparse.entry(o).or_default()
        }
    }

    /// The slots at `from` and beyond, by offset.
    fn iter_from(&self, from: u64) -> impl Iterator<Item = (u64, &Slot)> {
        let dense = self.dense.iter().enumerate().skip(from.min(self.dense.len() as u64) as usize);
        dense.map(|(o, s)| (o as u64, s)).chain(self.sparse.range(from..).map(|(&o, s)| (o, s)))
    }

    /// Whether any offset in `lo..hi` holds a value.
    fn any_in(&self, lo: u64, hi: u64) -> bool {
        if lo >= hi {
            return false;
        }
        let len = self.dense.len() as u64;
        let dense = self.dense[lo.min(len) as usize..hi.min(len) as usize].iter().any(|s| !s.values.is_empty());
        dense || self.sparse.range(lo..hi).any(|(_, s)| !s.values.is_empty())
    }
}

/// One key's log as the operations show it.
#[derive(Clone, Debug, Default)]
struct KeyLog {
    slots: Slots,
    /// Value -> the first offset it was seen at.
    first_offset: BTreeMap<u64, u64>,
    max_polled: Option<u64>,
    /// Where the last final poll found this log ends.
    end: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct LiveLog {
    keys: BTreeMap<u64, KeyLog>,
    /// Acknowledged sends not observed (pending or replaced): (op, key,
    /// offset), so a snapshot looks only at these.
    open: BTreeSet<(usize, u64, u64)>,
    /// Per client: the last polled offset of each key.
    last_poll: BTreeMap<(u64, u64), u64>,
    /// Per client and key: acknowledged sends by (invocation, op), with
    /// their offsets. A client with several sends in flight (a Kafka
    /// producer) sees them complete out of invocation order, and order is
    /// judged by invocation, as the batch check does.
    sends: BTreeMap<(u64, u64), BTreeMap<(u64, usize), u64>>,
    /// Sends whose offset is not above that of the send invoked just
    /// before them, by op.
    send_steps: BTreeMap<usize, Found>,
    duplicated: Kind,
    inconsistent: Kind,
    nonmonotonic: Kind,
    skipped: Kind,
    added: usize,
}

impl LiveLog {
    /// Adds operation `op` (numbered as the caller's history numbers it),
    /// invoked at `invoke`, once it has completed; operations not `Ok`
    /// change nothing.
    pub fn add(&mut self, op: usize, client: u64, invoke: u64, outcome: Outcome, event: &LogEvent) {
        self.added += 1;
        if outcome != Outcome::Ok {
            return;
        }
        match event {
            LogEvent::Send { key, value, offset: Some(o) } => {
                let (key, value, o) = (*key, *value, *o);
                self.value_at(op, key, o, value);
                self.send_in_order(op, client, invoke, key, o);
                let log = self.keys.entry(key).or_default();
                let beyond_end = log.end.is_some_and(|end| o >= end);
                let slot = log.slots.get_mut(o);
                let seen = match slot.last_seen {
                    Some(v) if v == value => Seen::Observed,
                    Some(_) => Seen::Replaced,
                    None => Seen::Pending,
                };
                slot.acked.push(Acked { op, value, seen });
                if seen != Seen::Observed || beyond_end {
                    self.open.insert((op, key, o));
                }
            }
            LogEvent::Send { .. } => {}
            LogEvent::End { key, offset } => {
                let log = self.keys.entry(*key).or_default();
                log.end = Some(*offset);
                // Every acknowledged send at or beyond the end is open
                // (judged lost) whatever polls saw before.
                for (o, slot) in log.slots.iter_from(*offset) {
                    for s in &slot.acked {
                        self.open.insert((s.op, *key, o));
                    }
                }
            }
            LogEvent::Poll { msgs } => {
                let mut within: BTreeMap<u64, u64> = BTreeMap::new();
                for &(key, o, v) in msgs {
                    self.value_at(op, key, o, v);
                    let log = self.keys.entry(key).or_default();
                    log.max_polled = Some(log.max_polled.map_or(o, |m| m.max(o)));
                    let beyond_end = log.end.is_some_and(|end| o >= end);
                    let slot = log.slots.get_mut(o);
                    slot.last_seen = Some(v);
                    for s in slot.acked.iter_mut() {
                        s.seen = if s.value == v { Seen::Observed } else { Seen::Replaced };
                        if s.seen == Seen::Observed && !beyond_end {
                            self.open.remove(&(s.op, key, o));
                        } else {
                            self.open.insert((s.op, key, o));
                        }
                    }
                    let prev = within.get(&key).or(self.last_poll.get(&(client, key))).copied();
                    if let Some(p) = prev {
                        if o <= p {
                            self.nonmonotonic.add(Found { op, key, offset: o, from: Some(p) });
                        } else if log.slots.any_in(p + 1, o) {
                            self.skipped.add(Found { op, key, offset: o, from: Some(p) });
                        }
                    }
                    within.insert(key, o);
                }
                for (key, o) in within {
                    self.last_poll.insert((client, key), o);
                }
            }
        }
    }

    /// Notes value `v` at `(key, o)`: a second value at one offset, or one
    /// value at a second offset.
    fn value_at(&mut self, op: usize, key: u64, o: u64, v: u64) {
        let log = self.keys.entry(key).or_default();
        let values = &mut log.slots.get_mut(o).values;
        if values.iter().any(|&(x, _)| x == v) {
            return;
        }
        values.push((v, op));
        if values.len() == 2 {
            let first = values.iter().map(|&(_, op)| op).min().expect("two values");
            self.inconsistent.add(Found { op: first, key, offset: o, from: None });
        }
        match log.first_offset.get(&v) {
            Some(&first) => self.duplicated.add(Found { op, key, offset: o, from: Some(first) }),
            None => {
                log.first_offset.insert(v, o);
            }
        }
    }

    /// Operations added so far.
    pub fn added(&self) -> usize {
        self.added
    }

    /// The anomalies as of now.
    /// Places the send between the client's sends of `key` invoked before
    /// and after it, and judges both steps: its own, and the next send's,
    /// which it now precedes.
    fn send_in_order(&mut self, op: usize, client: u64, invoke: u64, key: u64, o: u64) {
        let sends = self.sends.entry((client, key)).or_default();
        let at = (invoke, op);
        if let Some((_, &prev)) = sends.range(..at).next_back() {
            if o <= prev {
                self.send_steps.insert(op, Found { op, key, offset: o, from: Some(prev) });
            }
        }
        if let Some((&(_, next_op), &next)) = sends.range(at..).next() {
            self.send_steps.remove(&next_op);
            if next <= o {
                self.send_steps.insert(next_op, Found { op: next_op, key, offset: next, from: Some(o) });
            }
        }
        sends.insert(at, o);
    }

    pub fn anomalies(&self) -> LogAnomalies {
        let mut lost = Kind::default();
        let mut unobserved = Kind::default();
        // In operation order, as the batch check lists them.
        for &(op, key, offset) in &self.open {
            let log = &self.keys[&key];
            let slot = log.slots.get(offset).expect("an open send has a slot");
            let s = slot.acked.iter().find(|s| s.op == op).expect("an open send is acknowledged");
            let f = Found { op, key, offset, from: None };
            let beyond_end = log.end.is_some_and(|end| offset >= end);
            let is_lost = match s.seen {
                _ if beyond_end => true,
                Seen::Observed => continue,
                Seen::Replaced => true,
                Seen::Pending => log.max_polled.is_some_and(|m| m > offset),
            };
            if is_lost {
                lost.add(f);
            } else {
                unobserved.add(f);
            }
        }
        LogAnomalies {
            lost,
            unobserved,
            duplicated: self.duplicated.clone(),
            inconsistent: self.inconsistent.clone(),
            nonmonotonic: {
                let mut k = self.nonmonotonic.clone();
                for f in self.send_steps.values() {
                    k.add(*f);
                }
                k
            },
            skipped: self.skipped.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::log::{check, LogOp};
    use super::*;

    fn op(client: u64, event: LogEvent, t: u64) -> LogOp {
        LogOp { client, event, invoke: t, complete: Some(t + 1), outcome: Outcome::Ok }
    }

    /// A pseudo-random history of a few clients sending to and polling a
    /// few keys, with lost, reused and duplicated offsets.
    fn history(seed: u64) -> Vec<LogOp> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut out = Vec::new();
        let mut logs: Vec<Vec<u64>> = vec![Vec::new(); 3];
        let t_end = 200u64;
        for t in 0..t_end {
            let key = next(3);
            let client = next(3);
            match next(6) {
                0..=2 => {
                    let value = 1000 * t + key;
                    let log = &mut logs[key as usize];
                    // Sometimes the tail is truncated away first (a lost
                    // write), sometimes a value is written twice.
                    if next(10) == 0 && !log.is_empty() {
                        log.pop();
                    }
                    log.push(value);
                    if next(20) == 0 {
                        log.push(value);
                    }
                    let offset = log.iter().rposition(|&v| v == value).unwrap() as u64;
                    // Acknowledged up to 60 steps later: a client with
                    // sends in flight sees them complete out of order.
                    let mut send = op(client, LogEvent::Send { key, value, offset: Some(offset) }, 2 * t);
                    send.complete = Some(2 * t + 1 + next(60));
                    out.push(send);
                }
                _ => {
                    let log = &logs[key as usize];
                    let from = next(log.len() as u64 + 1);
                    let msgs = log.iter().enumerate().skip(from as usize).take(4);
                    let msgs = msgs.map(|(o, &v)| (key, o as u64, v)).collect();
                    out.push(op(10 + client, LogEvent::Poll { msgs }, 2 * t));
                }
            }
        }
        if next(2) == 0 {
            // Final polls: some logs lose their tails first (a power
            // loss), then each is read whole and its end noted.
            for (key, log) in logs.iter_mut().enumerate() {
                let cut = next(4).min(log.len() as u64) as usize;
                log.truncate(log.len() - cut);
                let msgs = log.iter().enumerate().map(|(o, &v)| (key as u64, o as u64, v)).collect();
                out.push(op(20, LogEvent::Poll { msgs }, 2 * t_end));
                out.push(op(20, LogEvent::End { key: key as u64, offset: log.len() as u64 }, 2 * t_end + 2));
            }
        }
        out
    }

    #[test]
    fn agrees_with_the_batch_check() {
        let mut seen = [0usize; 5];
        for seed in 1..200 {
            let h = history(seed);
            let mut live = LiveLog::default();
            // As a run feeds them: each once it has completed.
            let mut order: Vec<usize> = (0..h.len()).collect();
            order.sort_by_key(|&i| (h[i].complete, i));
            for i in order {
                let o = &h[i];
                live.add(i, o.client, o.invoke, o.outcome, &o.event);
            }
            let (a, b) = (live.anomalies(), check(&h));
            assert_eq!(a.lost.count, b.lost.count, "seed {seed}: lost");
            assert_eq!(a.unobserved.count, b.unobserved.count, "seed {seed}: unobserved");
            assert_eq!(a.inconsistent.count, b.inconsistent.count, "seed {seed}: inconsistent");
            assert_eq!(a.duplicated.count, b.duplicated.count, "seed {seed}: duplicated");
            assert_eq!(a.nonmonotonic.count, b.nonmonotonic.count, "seed {seed}: nonmonotonic");
            assert!(a.skipped.count <= b.skipped.count, "seed {seed}: skipped");
            assert_eq!(a.lost.examples, b.lost.examples, "seed {seed}");
            for (k, n) in
                [a.lost.count, a.unobserved.count, a.inconsistent.count, a.duplicated.count, a.nonmonotonic.count]
                    .into_iter()
                    .enumerate()
            {
                seen[k] += n;
            }
        }
        assert!(seen.iter().all(|&n| n > 0), "the histories show every kind: {seen:?}");
    }
}
