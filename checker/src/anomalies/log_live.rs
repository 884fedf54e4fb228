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

#[derive(Clone, Debug, Default)]
pub struct LiveLog {
    /// (key, offset) -> values seen there (from acknowledged sends and
    /// polls), with the first operation showing each.
    at: BTreeMap<(u64, u64), BTreeMap<u64, usize>>,
    /// (key, value) -> the offsets it was seen at.
    offsets_of: BTreeMap<(u64, u64), BTreeSet<u64>>,
    /// (key, offset) -> the value the last poll returned there.
    last_seen: BTreeMap<(u64, u64), u64>,
    max_polled: BTreeMap<u64, u64>,
    acked: BTreeMap<(u64, u64), Vec<Acked>>,
    /// Acknowledged sends not observed (pending or replaced): (op, key,
    /// offset), so a snapshot looks only at these.
    open: BTreeSet<(usize, u64, u64)>,
    /// Per client: the last polled and the last sent offset of each key.
    last_poll: BTreeMap<(u64, u64), u64>,
    last_send: BTreeMap<(u64, u64), u64>,
    duplicated: Kind,
    inconsistent: Kind,
    nonmonotonic: Kind,
    skipped: Kind,
    added: usize,
}

impl LiveLog {
    /// Adds operation `op` (numbered as the caller's history numbers it),
    /// once it has completed; operations not `Ok` change nothing.
    pub fn add(&mut self, op: usize, client: u64, outcome: Outcome, event: &LogEvent) {
        self.added += 1;
        if outcome != Outcome::Ok {
            return;
        }
        match event {
            LogEvent::Send { key, value, offset: Some(o) } => {
                let (key, value, o) = (*key, *value, *o);
                self.value_at(op, key, o, value);
                if let Some(&prev) = self.last_send.get(&(client, key)) {
                    if o <= prev {
                        self.nonmonotonic.add(Found { op, key, offset: o, from: Some(prev) });
                    }
                }
                self.last_send.insert((client, key), o);
                let seen = match self.last_seen.get(&(key, o)) {
                    Some(&v) if v == value => Seen::Observed,
                    Some(_) => Seen::Replaced,
                    None => Seen::Pending,
                };
                if seen != Seen::Observed {
                    self.open.insert((op, key, o));
                }
                self.acked.entry((key, o)).or_default().push(Acked { op, value, seen });
            }
            LogEvent::Send { .. } => {}
            LogEvent::Poll { msgs } => {
                let mut within: BTreeMap<u64, u64> = BTreeMap::new();
                for &(key, o, v) in msgs {
                    self.value_at(op, key, o, v);
                    self.last_seen.insert((key, o), v);
                    let max = self.max_polled.entry(key).or_insert(o);
                    *max = (*max).max(o);
                    if let Some(sends) = self.acked.get_mut(&(key, o)) {
                        for s in sends.iter_mut() {
                            s.seen = if s.value == v { Seen::Observed } else { Seen::Replaced };
                            if s.seen == Seen::Observed {
                                self.open.remove(&(s.op, key, o));
                            } else {
                                self.open.insert((s.op, key, o));
                            }
                        }
                    }
                    let prev = within.get(&key).or(self.last_poll.get(&(client, key))).copied();
                    if let Some(p) = prev {
                        if o <= p {
                            self.nonmonotonic.add(Found { op, key, offset: o, from: Some(p) });
                        } else if self.at.range((key, p + 1)..(key, o)).next().is_some() {
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
        let values = self.at.entry((key, o)).or_default();
        if values.contains_key(&v) {
            return;
        }
        values.insert(v, op);
        if values.len() == 2 {
            let first = *values.values().min().expect("two values");
            self.inconsistent.add(Found { op: first, key, offset: o, from: None });
        }
        let offsets = self.offsets_of.entry((key, v)).or_default();
        if let Some(&first) = offsets.iter().next() {
            if !offsets.contains(&o) {
                self.duplicated.add(Found { op, key, offset: o, from: Some(first) });
            }
        }
        offsets.insert(o);
    }

    /// Operations added so far.
    pub fn added(&self) -> usize {
        self.added
    }

    /// The anomalies as of now.
    pub fn anomalies(&self) -> LogAnomalies {
        let mut lost = Kind::default();
        let mut unobserved = Kind::default();
        // In operation order, as the batch check lists them.
        for &(op, key, offset) in &self.open {
            let s = self.acked[&(key, offset)].iter().find(|s| s.op == op).expect("an open send is acknowledged");
            let f = Found { op, key, offset, from: None };
            let is_lost = match s.seen {
                Seen::Observed => continue,
                Seen::Replaced => true,
                Seen::Pending => self.max_polled.get(&key).is_some_and(|&m| m > offset),
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
            nonmonotonic: self.nonmonotonic.clone(),
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
        for t in 0..200u64 {
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
                    out.push(op(client, LogEvent::Send { key, value, offset: Some(offset) }, 2 * t));
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
        out
    }

    #[test]
    fn agrees_with_the_batch_check() {
        let mut seen = [0usize; 5];
        for seed in 1..200 {
            let h = history(seed);
            let mut live = LiveLog::default();
            for (i, o) in h.iter().enumerate() {
                live.add(i, o.client, o.outcome, &o.event);
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
