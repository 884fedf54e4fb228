//! Anomalies of read/write registers, keyed. A value is *older* than a
//! write `w` when every write of that value (to the same key) was
//! acknowledged before `w` was invoked, so any order puts `w` after them;
//! absence (nil) is older than every write. Values written by an
//! indeterminate write are never older than anything (it may take effect
//! at any time), and values nobody wrote are not judged.
//!
//! - **stale read**: a read invoked after a write `w` was acknowledged
//!   returns a value older than `w` (it misses `w`).
//! - **lost write**: an acknowledged write `w` that the system no longer
//!   has. When the key has *final reads* (Jepsen's: read once more after
//!   the run, with the faults healed and the system given time to settle)
//!   that succeeded, `w` is lost if every one of them returns a value older
//!   than `w`. Without them, judged by the last read of its key (invoked
//!   after `w` was acknowledged): gone for good as far as the history shows,
//!   which cannot tell a lost write from one still on its way to the node
//!   that served that read.
//! - **read-your-writes**: a stale read whose missed write was the same
//!   client's.
//! - **monotonic reads**: a client reads a value, then (invoked after that
//!   read completed) a value older than it.

use super::MAX_EXAMPLES;
use crate::history::{Outcome, Time};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RwKind {
    /// A read and what it returned (for `Ok` reads).
    Read(Option<u64>),
    Write(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RwOp {
    pub client: u64,
    pub key: u64,
    pub kind: RwKind,
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
    /// A final read: made after the run, once the system has settled.
    pub final_read: bool,
}

/// One anomaly: the operation that shows it (`op`), the earlier one it
/// contradicts (`because`), and when it became visible (`op`'s
/// completion). Operation numbers index the history given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    pub op: usize,
    pub because: usize,
    pub key: u64,
    pub at: Time,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Kind {
    pub count: usize,
    /// The earliest `at` of any.
    pub first_at: Option<Time>,
    pub examples: Vec<Found>,
}

impl Kind {
    fn add(&mut self, f: Found) {
        self.count += 1;
        self.first_at = Some(self.first_at.map_or(f.at, |t| t.min(f.at)));
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(f);
        }
    }
    fn finish(&mut self) {
        crate::sort::sort_by_key(&mut self.examples, |f| (f.at, f.op));
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RwAnomalies {
    /// `op` is the lost write; `because` the last (final) read, which
    /// misses it.
    pub lost_writes: Kind,
    /// `op` is the read; `because` the latest acknowledged write it misses.
    pub stale_reads: Kind,
    /// As stale reads, where the write was the reader's own.
    pub read_your_writes: Kind,
    /// `op` is the later read; `because` the earlier read it goes back on.
    pub monotonic_reads: Kind,
}

impl RwAnomalies {
    pub fn total(&self) -> usize {
        self.lost_writes.count + self.stale_reads.count + self.read_your_writes.count + self.monotonic_reads.count
    }
}

/// When a value stops being news: `None` for absence (older than every
/// write), `Some(t)`: every write of it was acknowledged by `t`;
/// `Some(MAX)`: some write of it is indeterminate or it was never written.
fn settled_by(writes: &BTreeMap<u64, Vec<usize>>, ops: &[RwOp], value: Option<u64>) -> Option<Time> {
    let v = value?;
    let Some(ws) = writes.get(&v) else { return Some(Time::MAX) };
    let mut t = 0;
    for &w in ws {
        match (ops[w].outcome, ops[w].complete) {
            (Outcome::Ok, Some(c)) => t = t.max(c),
            _ => return Some(Time::MAX),
        }
    }
    Some(t)
}

/// True if a value settled by `settled` is older than a write invoked at
/// `invoke`.
fn older(settled: Option<Time>, invoke: Time) -> bool {
    settled.is_none_or(|t| t < invoke)
}

/// The acknowledged write read `read` misses, as a stale read: the
/// latest-invoked write of its key acknowledged before the read began (of
/// equal invocations, the one acknowledged first, as [`check`] picks), if
/// the value read is older than it. `None` for a read that is not stale,
/// or for anything but a completed read.
pub fn missed_write(ops: &[RwOp], read: usize) -> Option<usize> {
    let r = ops.get(read)?;
    let RwKind::Read(value) = r.kind else { return None };
    if r.outcome != Outcome::Ok || r.complete.is_none() {
        return None;
    }
    let mut writes: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut latest: Option<usize> = None;
    for (i, op) in ops.iter().enumerate() {
        let RwKind::Write(v) = op.kind else { continue };
        if op.key != r.key || op.outcome == Outcome::Fail {
            continue;
        }
        writes.entry(v).or_default().push(i);
        let Some(done) = op.complete.filter(|&c| op.outcome == Outcome::Ok && c < r.invoke) else { continue };
        let later = latest.is_none_or(|l| {
            let (li, ld) = (ops[l].invoke, ops[l].complete.expect("acknowledged"));
            op.invoke > li || (op.invoke == li && (done, i) < (ld, l))
        });
        if later {
            latest = Some(i);
        }
    }
    let w = latest?;
    older(settled_by(&writes, ops, value), ops[w].invoke).then_some(w)
}

pub fn check(ops: &[RwOp]) -> RwAnomalies {
    let mut out = RwAnomalies::default();
    let mut by_key: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        if op.outcome != Outcome::Fail {
            by_key.entry(op.key).or_default().push(i);
        }
    }
    for (&key, members) in &by_key {
        // Writes of each value (not failed ones: they took no effect).
        let mut writes: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let mut acked: Vec<usize> = Vec::new();
        let mut reads: Vec<usize> = Vec::new();
        for &i in members {
            match ops[i].kind {
                RwKind::Write(v) => {
                    writes.entry(v).or_default().push(i);
                    if ops[i].outcome == Outcome::Ok && ops[i].complete.is_some() {
                        acked.push(i);
                    }
                }
                RwKind::Read(_) if ops[i].outcome == Outcome::Ok && ops[i].complete.is_some() => reads.push(i),
                RwKind::Read(_) => {}
            }
        }
        let value = |r: usize| match ops[r].kind {
            RwKind::Read(v) => v,
            RwKind::Write(v) => Some(v),
        };
        let done = |i: usize| ops[i].complete.expect("acknowledged");
        // Acknowledged writes by completion, with the running latest
        // invocation (and whose) up to each.
        crate::sort::sort_by_key(&mut acked, |&w| (done(w), w));
        let mut latest: Vec<usize> = Vec::with_capacity(acked.len());
        for (j, &w) in acked.iter().enumerate() {
            let best = if j > 0 && ops[latest[j - 1]].invoke >= ops[w].invoke { latest[j - 1] } else { w };
            latest.push(best);
        }
        // The latest-invoked write acknowledged before `t`.
        let latest_before = |t: Time| {
            let n = acked.partition_point(|&w| done(w) < t);
            (n > 0).then(|| latest[n - 1])
        };
        for &r in &reads {
            let settled = settled_by(&writes, ops, value(r));
            if let Some(w) = latest_before(ops[r].invoke) {
                if older(settled, ops[w].invoke) {
                    out.stale_reads.add(Found { op: r, because: w, key, at: done(r) });
                }
            }
        }
        // Read-your-writes: the same, per client.
        let mut own: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &w in &acked {
            own.entry(ops[w].client).or_default().push(w);
        }
        for &r in &reads {
            let Some(mine) = own.get(&ops[r].client) else { continue };
            let settled = settled_by(&writes, ops, value(r));
            let missed = mine
                .iter()
                .take_while(|&&w| done(w) < ops[r].invoke)
                .filter(|&&w| older(settled, ops[w].invoke))
                .max_by_key(|&&w| (ops[w].invoke, w));
            if let Some(&w) = missed {
                out.read_your_writes.add(Found { op: r, because: w, key, at: done(r) });
            }
        }
        // Lost writes: judged by the final reads that succeeded, if any (a
        // write is lost if all of them miss it), else by the last read.
        let finals: Vec<usize> = reads.iter().copied().filter(|&r| ops[r].final_read).collect();
        let judges = if finals.is_empty() {
            reads.iter().copied().max_by_key(|&r| (ops[r].invoke, done(r), r)).into_iter().collect()
        } else {
            finals
        };
        if let Some(&last) = judges.iter().max_by_key(|&&r| (ops[r].invoke, done(r), r)) {
            let misses = |r: usize, w: usize| {
                done(w) < ops[r].invoke && older(settled_by(&writes, ops, value(r)), ops[w].invoke)
            };
            for &w in &acked {
                if judges.iter().all(|&r| misses(r, w)) {
                    out.lost_writes.add(Found { op: w, because: last, key, at: done(last) });
                }
            }
        }
        // Monotonic reads, per client: reads by invocation against the
        // newest value among that client's reads completed before.
        let mut per_client: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &r in &reads {
            per_client.entry(ops[r].client).or_default().push(r);
        }
        // How new a value is: the earliest invocation of a write of it
        // (absence: the oldest of all).
        let newness = |v: Option<u64>| -> Option<Time> {
            let v = v?;
            writes.get(&v).map(|ws| ws.iter().map(|&w| ops[w].invoke).min().unwrap_or(Time::MAX))
        };
        for rs in per_client.values() {
            let mut by_invoke = rs.clone();
            crate::sort::sort_by_key(&mut by_invoke, |&r| (ops[r].invoke, r));
            let mut by_done = rs.clone();
            crate::sort::sort_by_key(&mut by_done, |&r| (done(r), r));
            let mut next = 0;
            let mut newest: Option<(Option<Time>, usize)> = None;
            for &r in &by_invoke {
                while next < by_done.len() && done(by_done[next]) < ops[r].invoke {
                    let e = by_done[next];
                    let n = newness(value(e));
                    if (value(e).is_none() || n.is_some()) && newest.is_none_or(|(best, _)| n > best) {
                        newest = Some((n, e));
                    }
                    next += 1;
                }
                if let Some((Some(best), earlier)) = newest {
                    if older(settled_by(&writes, ops, value(r)), best) {
                        out.monotonic_reads.add(Found { op: r, because: earlier, key, at: done(r) });
                    }
                }
            }
        }
    }
    for k in [&mut out.lost_writes, &mut out.stale_reads, &mut out.read_your_writes, &mut out.monotonic_reads] {
        k.finish();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(client: u64, v: u64, invoke: Time, complete: Time) -> RwOp {
        RwOp {
            client,
            key: 0,
            kind: RwKind::Write(v),
            invoke,
            complete: Some(complete),
            outcome: Outcome::Ok,
            final_read: false,
        }
    }
    fn r(client: u64, v: Option<u64>, invoke: Time, complete: Time) -> RwOp {
        RwOp {
            client,
            key: 0,
            kind: RwKind::Read(v),
            invoke,
            complete: Some(complete),
            outcome: Outcome::Ok,
            final_read: false,
        }
    }

    #[test]
    fn a_read_after_an_acknowledged_write_that_misses_it_is_stale() {
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 40, 50), r(2, Some(2), 60, 70)];
        let a = check(&h);
        assert_eq!(a.stale_reads.count, 1);
        assert_eq!(a.stale_reads.examples[0], Found { op: 2, because: 1, key: 0, at: 50 });
        // The last read sees the write: it is not lost.
        assert_eq!(a.lost_writes.count, 0);
        // Another client's write: not a read-your-writes violation.
        assert_eq!(a.read_your_writes.count, 0);
        // A read concurrent with the write may miss it: not stale.
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 25, 50)];
        assert_eq!(check(&h).total(), 0);
        // A read of nil after a write is stale.
        assert_eq!(check(&[w(1, 1, 0, 10), r(2, None, 11, 12)]).stale_reads.count, 1);
    }

    #[test]
    fn the_write_a_stale_read_misses_is_the_one_its_stale_read_names() {
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 40, 50), r(2, Some(2), 60, 70)];
        assert_eq!(missed_write(&h, 2), Some(1));
        assert_eq!(check(&h).stale_reads.examples[0].because, 1);
        // Not stale: it sees the newest write, or began before the write
        // was acknowledged; and writes are not reads.
        assert_eq!(missed_write(&h, 3), None);
        assert_eq!(missed_write(&[w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 25, 50)], 2), None);
        assert_eq!(missed_write(&h, 0), None);
        // Another key's write is not missed.
        let mut h2 = h;
        h2[1].key = 7;
        assert_eq!(missed_write(&h2, 2), None);
        // Of two writes invoked together, the one acknowledged first, as
        // the stale-read check names it.
        let h = [w(1, 1, 0, 5), w(1, 2, 10, 30), w(3, 3, 10, 20), r(2, Some(1), 40, 50)];
        assert_eq!(missed_write(&h, 3), Some(2));
        assert_eq!(check(&h).stale_reads.examples[0].because, 2);
    }

    #[test]
    fn an_acknowledged_write_the_last_read_misses_is_lost() {
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), w(1, 3, 40, 45), r(2, Some(1), 60, 70)];
        let a = check(&h);
        assert_eq!(a.lost_writes.count, 2, "{a:?}");
        assert_eq!(a.lost_writes.examples.iter().map(|f| f.op).collect::<Vec<_>>(), vec![1, 2]);
        // The same with the last read seeing the newest value: nothing lost.
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), w(1, 3, 40, 45), r(2, Some(3), 60, 70)];
        assert_eq!(check(&h).lost_writes.count, 0);
        // An indeterminate write never makes its value old.
        let mut h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 60, 70)];
        h[0].outcome = Outcome::Info;
        assert_eq!(check(&h).total(), 0);
    }

    #[test]
    fn with_final_reads_a_write_is_lost_only_if_every_final_read_misses_it() {
        let fin = |c: u64, v: Option<u64>, t0: Time, t1: Time| RwOp { final_read: true, ..r(c, v, t0, t1) };
        // The last ordinary read (from a lagging replica) misses writes 1
        // and 2; a final read sees 2, so neither is lost (1 is older than 2,
        // which overwrote it).
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, None, 40, 50), fin(2, Some(2), 100, 110)];
        let a = check(&h);
        assert_eq!(a.lost_writes.count, 0, "{a:?}");
        // Without the final read the same history loses both.
        assert_eq!(check(&h[..3]).lost_writes.count, 2);
        // Two final reads: a write is lost only if both miss it.
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), fin(2, Some(2), 100, 110), fin(3, Some(1), 100, 120)];
        assert_eq!(check(&h).lost_writes.count, 0);
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), fin(2, Some(1), 100, 110), fin(3, Some(1), 100, 120)];
        let a = check(&h);
        assert_eq!(a.lost_writes.count, 1);
        assert_eq!(a.lost_writes.examples[0], Found { op: 1, because: 3, key: 0, at: 120 });
        // A final read that failed judges nothing: the last read does.
        let mut failed = fin(2, None, 100, 110);
        failed.outcome = Outcome::Fail;
        let h = [w(1, 1, 0, 10), r(2, None, 40, 50), failed];
        assert_eq!(check(&h).lost_writes.count, 1);
    }

    #[test]
    fn read_your_writes_is_per_client() {
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(1, Some(1), 40, 50)];
        let a = check(&h);
        assert_eq!(a.read_your_writes.count, 1);
        assert_eq!(a.read_your_writes.examples[0].because, 1);
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(1, Some(2), 40, 50)];
        assert_eq!(check(&h).read_your_writes.count, 0);
    }

    #[test]
    fn monotonic_reads_never_go_back() {
        // Writes overlap the reads, so no read is stale; but client 2 goes
        // back from 2 to 1.
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 100), r(2, Some(2), 30, 40), r(2, Some(1), 50, 60)];
        let a = check(&h);
        assert_eq!(a.monotonic_reads.count, 1, "{a:?}");
        assert_eq!(a.monotonic_reads.examples[0], Found { op: 3, because: 2, key: 0, at: 60 });
        assert_eq!(a.stale_reads.count, 0);
        // In the other order it is fine; and two clients may disagree.
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 100), r(2, Some(1), 30, 40), r(2, Some(2), 50, 60)];
        assert_eq!(check(&h).monotonic_reads.count, 0);
        let h = [w(1, 1, 0, 10), w(1, 2, 20, 100), r(2, Some(2), 30, 40), r(3, Some(1), 50, 60)];
        assert_eq!(check(&h).monotonic_reads.count, 0);
    }

    #[test]
    fn failed_writes_and_other_keys_do_not_count() {
        let mut h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 40, 50)];
        h[1].outcome = Outcome::Fail;
        assert_eq!(check(&h).total(), 0);
        let mut h = [w(1, 1, 0, 10), w(1, 2, 20, 30), r(2, Some(1), 40, 50)];
        h[1].key = 7;
        assert_eq!(check(&h).total(), 0);
    }
}
