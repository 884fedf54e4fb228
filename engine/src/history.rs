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
}

/// A bounded history. When full, further operations are counted but not
/// kept, and [`History::discarded`] says how many.
#[derive(Clone, Debug)]
pub struct History {
    ops: Vec<OpRecord>,
    limit: usize,
    discarded: u64,
}

/// Where an invoked operation lives in the history, to complete it later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpTicket {
    pub(crate) invoked_at: Time,
    pub(crate) index: Option<u32>,
}

impl History {
    pub fn new(limit: usize) -> History {
        History { ops: Vec::new(), limit, discarded: 0 }
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

    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}
