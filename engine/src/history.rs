//! The client history: every operation a client invoked, with when it was
//! invoked, when it completed and how, in true time. This is what a
//! consistency checker reads (Jepsen's `:ok`, `:fail`, `:info`).

use crate::message::{NodeId, Op};
use crate::time::Time;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Invoked, no answer yet. At the end of a history it means the same as
    /// `Info`.
    Pending,
    /// Completed and took effect.
    Ok,
    /// Definitely did not take effect.
    Fail,
    /// Indeterminate: the client stopped waiting (a timeout) or the answer
    /// cannot say whether it took effect. It may have, or not.
    Info,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OpRecord {
    /// The client node that invoked it.
    pub node: NodeId,
    /// The logical client (process) within that node: one per closed-loop
    /// client; open-loop workloads number requests instead.
    pub process: u32,
    pub op: Op,
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
    /// For reads: the value returned (None: the key was absent).
    pub value: Option<u64>,
    /// A final read: made after the run, with the system healed and
    /// settled (see `crate::sim::final_reads`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub final_read: bool,
}

impl OpRecord {
    /// The operation in words, with what a read returned: `read k3 → 7`,
    /// `read k3 → absent`, `write k3 = 7`.
    pub fn what(&self) -> String {
        match self.op {
            Op::Read { key } => match (self.outcome, self.value) {
                (Outcome::Ok, Some(v)) => format!("read k{key} → {v}"),
                (Outcome::Ok, None) => format!("read k{key} → absent"),
                _ => format!("read k{key}"),
            },
            Op::Write { key, value } => format!("write k{key} = {value}"),
        }
    }
}

/// An operation's place in its history, its times and its outcome (what
/// picking one to follow needs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub index: usize,
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
}

impl OpRecord {
    /// Its [`Span`], as operation `index` of the client history.
    pub fn span(&self, index: usize) -> Span {
        Span { index, invoke: self.invoke, complete: self.complete, outcome: self.outcome }
    }
}

impl LogRecord {
    /// Its [`Span`], as operation `index` of the Kafka history, if it is a
    /// send (a poll is no operation a path can follow).
    pub fn send_span(&self, index: usize) -> Option<Span> {
        matches!(self.event, LogEvent::Send { .. }).then_some(Span {
            index,
            invoke: self.invoke,
            complete: self.complete,
            outcome: self.outcome,
        })
    }
}

/// The completed operation that took longest (the first of equals).
pub fn slowest(ops: impl Iterator<Item = Span>) -> Option<usize> {
    let done = ops.filter_map(|s| Some((s.index, s.complete? - s.invoke)));
    done.fold(None, |best: Option<(usize, Time)>, (i, d)| match best {
        Some((_, b)) if b >= d => best,
        _ => Some((i, d)),
    })
    .map(|(i, _)| i)
}

/// The latest operation that failed or got no answer.
pub fn latest_failed(ops: impl Iterator<Item = Span>) -> Option<usize> {
    ops.filter(|s| matches!(s.outcome, Outcome::Fail | Outcome::Info)).last().map(|s| s.index)
}

/// A bounded history. When full, further operations are counted but not
/// kept, and [`History::discarded`] says how many.
#[derive(Clone, Debug)]
pub struct History {
    ops: Vec<OpRecord>,
    limit: usize,
    discarded: u64,
    /// Where the final reads begin, once they have.
    final_from: Option<usize>,
}

/// Where an invoked operation lives in the history, to complete it later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpTicket {
    pub(crate) invoked_at: Time,
    pub(crate) index: Option<u32>,
}

impl History {
    pub fn new(limit: usize) -> History {
        History { ops: Vec::new(), limit, discarded: 0, final_from: None }
    }

    pub fn invoke(&mut self, node: NodeId, process: u32, op: Op, now: Time) -> OpTicket {
        let index = if self.ops.len() < self.limit {
            self.ops.push(OpRecord {
                node,
                process,
                op,
                invoke: now,
                complete: None,
                outcome: Outcome::Pending,
                value: None,
                final_read: self.final_from.is_some(),
            });
            Some(self.ops.len() as u32 - 1)
        } else {
            self.discarded += 1;
            None
        };
        OpTicket { invoked_at: now, index }
    }

    pub fn complete(&mut self, ticket: OpTicket, outcome: Outcome, value: Option<u64>, now: Time) {
        if let Some(i) = ticket.index {
            let rec = &mut self.ops[i as usize];
            debug_assert_eq!(rec.outcome, Outcome::Pending, "an operation completes once");
            rec.complete = Some(now);
            rec.outcome = outcome;
            rec.value = value;
        }
    }

    pub fn ops(&self) -> &[OpRecord] {
        &self.ops
    }

    /// From now on operations are final reads, and `room` more are kept
    /// whatever the run's limit (a full history still gets its final
    /// reads; they have their own bound).
    pub fn begin_final_reads(&mut self, room: usize) {
        self.final_from = Some(self.ops.len());
        self.limit = self.ops.len() + room;
    }

    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// What a Kafka client did: a send of one record (a value to a partition,
/// acknowledged with its offset) or a poll (records read, in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "f")]
pub enum LogEvent {
    Send { partition: u32, value: u64, offset: Option<u64> },
    Poll { records: Vec<(u32, u64, u64)> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    pub node: NodeId,
    /// A poll by a member of a consumer group: the group's id.
    pub group: Option<u32>,
    pub event: LogEvent,
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
    /// A poll of the final polls, after the run (`Simulation::final_reads`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub final_poll: bool,
}

/// The bounded history of Kafka clients' sends and polls; when full,
/// further operations are counted in `discarded`.
#[derive(Clone, Debug)]
pub struct LogHistory {
    ops: Vec<LogRecord>,
    limit: usize,
    discarded: u64,
    /// Records polled, across all polls (they count toward the limit).
    polled: usize,
    /// Polls from now on are final polls.
    final_polls: bool,
}

impl LogHistory {
    pub fn new(limit: usize) -> LogHistory {
        LogHistory { ops: Vec::new(), limit, discarded: 0, polled: 0, final_polls: false }
    }

    fn full(&self) -> bool {
        self.ops.len() + self.polled >= self.limit
    }

    /// A send invoked now; `None` when the history is full.
    pub fn send(&mut self, node: NodeId, partition: u32, value: u64, now: Time) -> Option<u32> {
        if self.full() {
            self.discarded += 1;
            return None;
        }
        self.ops.push(LogRecord {
            node,
            group: None,
            event: LogEvent::Send { partition, value, offset: None },
            invoke: now,
            complete: None,
            outcome: Outcome::Pending,
            final_poll: false,
        });
        Some(self.ops.len() as u32 - 1)
    }

    pub fn complete_send(&mut self, index: u32, outcome: Outcome, offset: Option<u64>, now: Time) {
        let rec = &mut self.ops[index as usize];
        debug_assert_eq!(rec.outcome, Outcome::Pending, "a send completes once");
        rec.complete = Some(now);
        rec.outcome = outcome;
        if let LogEvent::Send { offset: o, .. } = &mut rec.event {
            *o = offset;
        }
    }

    /// The partition send `index` went to (none for a poll).
    pub fn partition_of(&self, index: u32) -> Option<u32> {
        match self.ops.get(index as usize)?.event {
            LogEvent::Send { partition, .. } => Some(partition),
            LogEvent::Poll { .. } => None,
        }
    }

    /// A poll invoked at `invoke` that returned `records` now.
    pub fn poll(&mut self, node: NodeId, group: Option<u32>, records: Vec<(u32, u64, u64)>, invoke: Time, now: Time) {
        if self.full() {
            self.discarded += 1;
            return;
        }
        self.polled += records.len();
        self.ops.push(LogRecord {
            node,
            group,
            event: LogEvent::Poll { records },
            invoke,
            complete: Some(now),
            outcome: Outcome::Ok,
            final_poll: self.final_polls,
        });
    }

    /// The final polls begin: later polls are marked as theirs, with room
    /// for `records` more records polled.
    pub fn begin_final_polls(&mut self, records: usize) {
        self.final_polls = true;
        self.limit = self.ops.len() + self.polled + records;
    }

    pub fn ops(&self) -> &[LogRecord] {
        &self.ops
    }

    pub fn discarded(&self) -> u64 {
        self.discarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_and_the_latest_failed_operation() {
        let span = |index, invoke, complete, outcome| Span { index, invoke, complete, outcome };
        let ops = [
            span(0, 0, Some(5), Outcome::Ok),
            span(1, 1, Some(9), Outcome::Fail),
            span(3, 2, Some(10), Outcome::Ok),
            span(4, 3, None, Outcome::Pending),
            span(7, 4, Some(6), Outcome::Info),
        ];
        // 8 ns each for operations 1 and 3: the first. Places are the
        // spans' own (a history's sends skip its polls).
        assert_eq!(slowest(ops.into_iter()), Some(1));
        assert_eq!(latest_failed(ops.into_iter()), Some(7));
        assert_eq!(slowest(ops[3..4].iter().copied()), None);
        assert_eq!(latest_failed(ops[2..4].iter().copied()), None);
    }
}
