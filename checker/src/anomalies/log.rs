//! Anomalies of append-only logs (Kafka partitions), in the taxonomy of
//! Maelstrom's Kafka workload. A *send* appends a value to a key's log and,
//! when acknowledged, learns its offset; a *poll* returns (key, offset,
//! value) triples, in the order the client consumed them. An offset is
//! *known* when an acknowledged send got it or a poll saw it.
//!
//! - **lost**: an acknowledged send that the log no longer holds: the last
//!   poll to return its offset returned another value there (the write was
//!   truncated away and the offset reused, as after a Kafka leader with
//!   `acks=1` dies, or an unclean election), or no poll returned its offset
//!   though polls returned a higher one of the same key, or a final poll
//!   found the key's log ends at or before its offset (a [`LogEvent::End`]:
//!   Jepsen's final polls read each log whole once the run is over).
//! - **unobserved**: an acknowledged send's offset that no poll returned,
//!   and no poll got past it either.
//! - **duplicated**: a value at more than one offset of a key.
//! - **inconsistent**: two values at one offset.
//! - **nonmonotonic**: a client's offsets of a key not increasing: within
//!   one poll (internal), from one poll to its next (external), or from
//!   one acknowledged send to its next.
//! - **skipped**: a client's consecutive polled offsets of a key jump over
//!   a known offset.

use super::MAX_EXAMPLES;
use crate::history::{Outcome, Time};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    Send {
        key: u64,
        value: u64,
        offset: Option<u64>,
    },
    Poll {
        msgs: Vec<(u64, u64, u64)>,
    },
    /// A final poll read `key`'s log from its start to its end: the log
    /// holds nothing at `offset` or beyond. Comes after the polls that
    /// read it, once no more sends are acknowledged.
    End {
        key: u64,
        offset: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOp {
    pub client: u64,
    pub event: LogEvent,
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
}

/// One anomaly at a key and offset (for nonmonotonic and skipped: the
/// offset it went to), shown by operation `op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    pub op: usize,
    pub key: u64,
    pub offset: u64,
    /// For skips and nonmonotonic steps: the offset before.
    pub from: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Kind {
    pub count: usize,
    pub examples: Vec<Found>,
}

impl Kind {
    pub(crate) fn add(&mut self, f: Found) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(f);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogAnomalies {
    pub lost: Kind,
    pub unobserved: Kind,
    pub duplicated: Kind,
    pub inconsistent: Kind,
    pub nonmonotonic: Kind,
    pub skipped: Kind,
}

impl LogAnomalies {
    pub fn total(&self) -> usize {
        self.lost.count
            + self.unobserved.count
            + self.duplicated.count
            + self.inconsistent.count
            + self.nonmonotonic.count
            + self.skipped.count
    }
}

pub fn check(ops: &[LogOp]) -> LogAnomalies {
    let mut out = LogAnomalies::default();
    // key -> offset -> values (with the first op that showed each).
    let mut at: BTreeMap<u64, BTreeMap<u64, BTreeMap<u64, usize>>> = BTreeMap::new();
    let mut polled: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    // (key, offset) -> the value the last poll (by completion) saw there.
    let mut last_seen: BTreeMap<(u64, u64), (Time, usize, u64)> = BTreeMap::new();
    let mut acked: Vec<(usize, u64, u64, u64)> = Vec::new();
    // key -> where the last final poll found its log ends.
    let mut ends: BTreeMap<u64, u64> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.outcome != Outcome::Ok {
            continue;
        }
        match &op.event {
            LogEvent::Send { key, value, offset: Some(o) } => {
                at.entry(*key).or_default().entry(*o).or_default().entry(*value).or_insert(i);
                acked.push((i, *key, *o, *value));
            }
            LogEvent::Send { .. } => {}
            LogEvent::End { key, offset } => {
                ends.insert(*key, *offset);
            }
            LogEvent::Poll { msgs } => {
                for &(k, o, v) in msgs {
                    at.entry(k).or_default().entry(o).or_default().entry(v).or_insert(i);
                    polled.entry(k).or_default().insert(o);
                    let when = (op.complete.unwrap_or(op.invoke), i, v);
                    let e = last_seen.entry((k, o)).or_insert(when);
                    if (when.0, when.1) > (e.0, e.1) {
                        *e = when;
                    }
                }
            }
        }
    }
    for (&key, offsets) in &at {
        let mut seen_at: BTreeMap<u64, u64> = BTreeMap::new();
        for (&offset, values) in offsets {
            if values.len() > 1 {
                let op = *values.values().min().expect("two values");
                out.inconsistent.add(Found { op, key, offset, from: None });
            }
            for (&v, &op) in values {
                if let Some(&first) = seen_at.get(&v) {
                    out.duplicated.add(Found { op, key, offset, from: Some(first) });
                } else {
                    seen_at.insert(v, offset);
                }
            }
        }
    }
    for &(op, key, offset, value) in &acked {
        if ends.get(&key).is_some_and(|&end| offset >= end) {
            out.lost.add(Found { op, key, offset, from: None });
            continue;
        }
        match last_seen.get(&(key, offset)) {
            Some(&(_, _, v)) if v == value => continue,
            Some(_) => {
                out.lost.add(Found { op, key, offset, from: None });
                continue;
            }
            None => {}
        }
        if polled.get(&key).and_then(|s| s.last()).is_some_and(|&max| max > offset) {
            out.lost.add(Found { op, key, offset, from: None });
        } else {
            out.unobserved.add(Found { op, key, offset, from: None });
        }
    }
    // Per client, in invocation order: polls and sends.
    let mut clients: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.outcome == Outcome::Ok {
            clients.entry(op.client).or_default().push(i);
        }
    }
    let known = |key: u64, lo: u64, hi: u64| -> Option<u64> {
        at.get(&key).and_then(|m| m.range(lo.saturating_add(1)..hi).next().map(|(&o, _)| o))
    };
    for members in clients.values_mut() {
        crate::sort::sort_by_key(members, |&i| (ops[i].invoke, i));
        let mut last_poll: BTreeMap<u64, u64> = BTreeMap::new();
        let mut last_send: BTreeMap<u64, u64> = BTreeMap::new();
        for &i in members.iter() {
            match &ops[i].event {
                LogEvent::Send { key, offset: Some(o), .. } => {
                    if let Some(&prev) = last_send.get(key) {
                        if *o <= prev {
                            out.nonmonotonic.add(Found { op: i, key: *key, offset: *o, from: Some(prev) });
                        }
                    }
                    last_send.insert(*key, *o);
                }
                LogEvent::Send { .. } | LogEvent::End { .. } => {}
                LogEvent::Poll { msgs } => {
                    let mut within: BTreeMap<u64, u64> = BTreeMap::new();
                    for &(k, o, _) in msgs {
                        let prev = within.get(&k).or(last_poll.get(&k)).copied();
                        if let Some(p) = prev {
                            if o <= p {
                                out.nonmonotonic.add(Found { op: i, key: k, offset: o, from: Some(p) });
                            } else if known(k, p, o).is_some() {
                                out.skipped.add(Found { op: i, key: k, offset: o, from: Some(p) });
                            }
                        }
                        within.insert(k, o);
                    }
                    last_poll.extend(within);
                }
            }
        }
    }
    for k in [
        &mut out.lost,
        &mut out.unobserved,
        &mut out.duplicated,
        &mut out.inconsistent,
        &mut out.nonmonotonic,
        &mut out.skipped,
    ] {
        crate::sort::sort_by_key(&mut k.examples, |f| (f.op, f.key, f.offset));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(client: u64, value: u64, offset: u64, t: Time) -> LogOp {
        LogOp {
            client,
            event: LogEvent::Send { key: 0, value, offset: Some(offset) },
            invoke: t,
            complete: Some(t + 1),
            outcome: Outcome::Ok,
        }
    }
    fn poll(client: u64, msgs: &[(u64, u64)], t: Time) -> LogOp {
        LogOp {
            client,
            event: LogEvent::Poll { msgs: msgs.iter().map(|&(o, v)| (0, o, v)).collect() },
            invoke: t,
            complete: Some(t + 1),
            outcome: Outcome::Ok,
        }
    }

    #[test]
    fn a_clean_log_has_no_anomalies() {
        let h = [
            send(1, 10, 0, 0),
            send(1, 11, 1, 2),
            poll(2, &[(0, 10), (1, 11)], 4),
            send(1, 12, 2, 6),
            poll(2, &[(2, 12)], 8),
        ];
        assert_eq!(check(&h), LogAnomalies::default());
    }

    #[test]
    fn lost_and_unobserved_offsets() {
        // Offset 1 was acknowledged; polls saw 0 and 2 but never 1: lost.
        // Offset 3 was acknowledged and nobody got that far: unobserved.
        let h = [
            send(1, 10, 0, 0),
            send(1, 11, 1, 2),
            send(1, 12, 2, 4),
            send(1, 13, 3, 5),
            poll(2, &[(0, 10)], 6),
            poll(3, &[(2, 12)], 8),
        ];
        let a = check(&h);
        assert_eq!(a.lost.count, 1);
        assert_eq!(a.lost.examples[0], Found { op: 1, key: 0, offset: 1, from: None });
        assert_eq!(a.unobserved.count, 1);
        assert_eq!(a.unobserved.examples[0].offset, 3);
        // Client 2 never went from 0 to 2, so nothing was skipped.
        assert_eq!(a.skipped.count, 0);
    }

    #[test]
    fn a_write_truncated_away_and_its_offset_reused_is_lost() {
        // Value 11 was acknowledged at offset 1; after a failover offset 1
        // holds 21 and polls read past it: 11 is lost (and offset 1 holds
        // two values).
        let h = [send(1, 10, 0, 0), send(1, 11, 1, 2), send(1, 21, 1, 4), poll(2, &[(0, 10), (1, 21)], 6)];
        let a = check(&h);
        assert_eq!(a.lost.count, 1, "{a:?}");
        assert_eq!(a.lost.examples[0], Found { op: 1, key: 0, offset: 1, from: None });
        assert_eq!(a.inconsistent.count, 1);
        assert_eq!(a.unobserved.count, 0);
    }

    #[test]
    fn a_write_read_once_then_replaced_is_lost() {
        // A consumer read 11 at offset 1, then (after an unclean election)
        // read 21 there: the log no longer holds 11.
        let h = [send(1, 10, 0, 0), send(1, 11, 1, 2), poll(2, &[(0, 10), (1, 11)], 4), poll(2, &[(1, 21)], 8)];
        let a = check(&h);
        assert_eq!(a.lost.count, 1, "{a:?}");
        assert_eq!(a.lost.examples[0].offset, 1);
        // Read again with the same value afterwards: not lost.
        let h = [send(1, 11, 1, 2), poll(2, &[(1, 21)], 4), poll(3, &[(1, 11)], 8)];
        assert_eq!(check(&h).lost.count, 0);
    }

    #[test]
    fn a_write_beyond_where_the_final_poll_found_the_log_ends_is_lost() {
        // 11 and 12 were read at offsets 1 and 2, then the log lost its
        // tail (a power loss) and nothing took those offsets: only the
        // final poll, which read the log to its end at 1, shows it.
        let end = |o| LogOp {
            client: 4,
            event: LogEvent::End { key: 0, offset: o },
            invoke: 20,
            complete: Some(21),
            outcome: Outcome::Ok,
        };
        let h = [send(1, 10, 0, 0), send(1, 11, 1, 2), send(1, 12, 2, 3), poll(2, &[(0, 10), (1, 11), (2, 12)], 4)];
        assert_eq!(check(&h).lost.count, 0, "no read shows the loss");
        let mut h = h.to_vec();
        h.extend([poll(4, &[(0, 10)], 18), end(1)]);
        let a = check(&h);
        assert_eq!(a.lost.count, 2, "{a:?}");
        assert_eq!(a.lost.examples[0], Found { op: 1, key: 0, offset: 1, from: None });
        assert_eq!(a.unobserved.count + a.skipped.count + a.nonmonotonic.count, 0, "{a:?}");
        // A final poll that read everything finds nothing lost.
        h.truncate(4);
        h.extend([poll(4, &[(0, 10), (1, 11), (2, 12)], 18), end(3)]);
        assert_eq!(check(&h).total(), 0);
    }

    #[test]
    fn skips_duplicates_and_nonmonotonic_polls() {
        let h = [
            send(1, 10, 0, 0),
            send(1, 11, 1, 2),
            send(1, 12, 2, 4),
            poll(2, &[(0, 10), (2, 12)], 6),
            poll(2, &[(1, 11)], 8),
            poll(3, &[(0, 10), (1, 11), (2, 12), (3, 11)], 10),
            send(1, 20, 0, 12),
        ];
        let a = check(&h);
        assert_eq!(a.skipped.count, 1, "{a:?}");
        assert_eq!(a.skipped.examples[0], Found { op: 3, key: 0, offset: 2, from: Some(0) });
        assert_eq!(a.nonmonotonic.count, 2, "{a:?}");
        assert_eq!(a.nonmonotonic.examples[0], Found { op: 4, key: 0, offset: 1, from: Some(2) });
        // The second: client 1's send got offset 0 after offset 2.
        assert_eq!(a.nonmonotonic.examples[1], Found { op: 6, key: 0, offset: 0, from: Some(2) });
        assert_eq!(a.duplicated.count, 1);
        assert_eq!(a.duplicated.examples[0], Found { op: 5, key: 0, offset: 3, from: Some(1) });
        assert_eq!(a.inconsistent.count, 1);
        assert_eq!(a.inconsistent.examples[0].offset, 0);
    }
}
