//! A client operation's path through the system, in words: each message
//! sent on its behalf (delivered or dropped) and each note a node made
//! while working for it, in the order they happened. See `crate::follow`
//! for how events come to belong to an operation.

use super::Simulation;
use crate::follow::{Follow, OpIndex, Queue, Step, MAX_FOLLOWED};
use crate::history::{OpRecord, Outcome};
use crate::time::{format_time, format_time_short, Time, NANOS_PER_SEC};
use crate::trace_view::TraceLine;

/// How long after an operation completes its path is still followed:
/// what the system goes on doing for it (a replica applying the write, a
/// server finishing work its client gave up on).
pub const AFTER_COMPLETION: Time = NANOS_PER_SEC;

#[derive(Clone, Debug, PartialEq)]
pub struct OpPath {
    pub op: OpIndex,
    /// The operation as the history has it when following stopped.
    pub record: OpRecord,
    /// The same in words ([`Simulation::describe_op`]).
    pub headline: String,
    /// What happened on its behalf, oldest first.
    pub steps: Vec<TraceLine>,
    /// Steps not kept (over [`MAX_FOLLOWED`]).
    pub missed: u64,
    /// Followed up to this moment.
    pub until: Time,
}

impl Simulation {
    /// From now on, records what happens on behalf of client operation
    /// `only` (its index in the history; at most [`MAX_FOLLOWED`] steps
    /// kept), or of every operation (as many steps as the trace keeps
    /// events). Changes nothing in the run (the trace hash stays the
    /// same). An operation invoked before this call cannot be followed:
    /// start from a state taken before it (a checkpoint).
    pub fn follow(&mut self, only: Option<OpIndex>) {
        let limit = if only.is_some() { MAX_FOLLOWED } else { self.world.trace.capacity() };
        self.world.follow = Some(Box::new(Follow::new(only, limit)));
    }

    /// What following has recorded, if it is on.
    pub fn followed(&self) -> Option<&Follow> {
        self.world.follow.as_deref()
    }

    /// Follows operation `op` from this state until it has completed and
    /// [`AFTER_COMPLETION`] more, or until `limit` (the present of the run
    /// this state was taken from), and returns its path. `Err` says why it
    /// cannot: the state is later than the operation's invocation, or the
    /// history does not keep the operation.
    pub fn follow_op(mut self, op: OpIndex, limit: Time) -> Result<OpPath, String> {
        if self.world.history.ops().len() > op as usize {
            return Err(format!("operation {op} was invoked before this state ({})", format_time(self.now())));
        }
        self.follow(Some(op));
        // A simulated second at a time, until the operation has completed
        // and a little more.
        let mut end = limit;
        while self.now() < end && self.world.halted.is_none() {
            self.run_until(self.now().saturating_add(NANOS_PER_SEC).min(end));
            if let Some(done) = self.world.history.ops().get(op as usize).and_then(|r| r.complete) {
                end = end.min(done.saturating_add(AFTER_COMPLETION));
            }
        }
        self.op_path(op).ok_or_else(|| {
            let n = self.world.history.ops().len();
            let discarded = self.world.history.discarded();
            let kept = if discarded > 0 {
                format!(" ({discarded} more were not kept: limits.history_ops)")
            } else {
                String::new()
            };
            format!(
                "the run's client history holds operations 0 to {} until {}{kept}; {op} is not one of them",
                n.saturating_sub(1),
                format_time(self.now())
            )
        })
    }

    fn step_line(&self, step: &Step) -> TraceLine {
        let (time, node, queue, left) = match *step {
            Step::Event(ref e) => return self.trace_line(e),
            Step::Queued { time, node, queue, left } => (time, node, queue, left),
        };
        let text = match queue {
            Queue::Server { server, waiting } => format!(
                "queued for {}: it has as many requests as its limit allows (maxconn); {waiting} waiting now",
                self.node_name(server)
            ),
            Queue::Backend { waiting } => {
                format!("queued in the backend: no server can take it now; {waiting} waiting now")
            }
            Queue::Workers { workers: 1, waiting } => format!("queued: its one thread is busy; {waiting} waiting now"),
            Queue::Workers { workers, waiting } => {
                format!("queued: all {workers} workers are busy; {waiting} waiting now")
            }
        };
        let waited = match left {
            Some(t) => format!("it waited {}", format_time_short(t - time)),
            None => "it was still there when following stopped".to_string(),
        };
        let name = self.node_name(node).to_string();
        TraceLine {
            n: 0,
            t_ns: time,
            event: "queued",
            text: format!("{name}: {text}; {waited}"),
            node: Some(name),
            from: None,
            to: None,
            kind: None,
            sent_ns: None,
            reason: None,
            until_ns: left,
        }
    }

    /// The path recorded for `op` so far (following must be on).
    pub fn op_path(&self, op: OpIndex) -> Option<OpPath> {
        let record = *self.world.history.ops().get(op as usize)?;
        let follow = self.followed()?;
        let steps = follow.events().iter().filter(|(o, _)| *o == op).map(|(_, s)| self.step_line(s)).collect();
        let headline = self.describe_op(&record);
        Some(OpPath { op, record, headline, steps, missed: follow.missed, until: self.now() })
    }
}

impl Simulation {
    /// A client operation in words: who, what, when, and how it ended
    /// (`c2 (client 337): read k3 → 7, invoked at 9.008s, ok at 9.021s,
    /// after 12.898ms`).
    pub fn describe_op(&self, r: &OpRecord) -> String {
        let who = if r.final_read { "final read after the run".to_string() } else { format!("client {}", r.process) };
        let ended = match (r.outcome, r.complete) {
            (Outcome::Ok, Some(t)) => format!("ok at {}", format_time_short(t)),
            (Outcome::Fail, Some(t)) => format!("failed at {}", format_time_short(t)),
            (Outcome::Info, Some(t)) => format!("no answer (timed out) at {}", format_time_short(t)),
            _ => "still waiting".to_string(),
        };
        let after = r.complete.map_or(String::new(), |t| format!(", after {}", format_time_short(t - r.invoke)));
        format!(
            "{} ({who}): {}, invoked at {}, {ended}{after}",
            self.node_name(r.node),
            r.what(),
            format_time_short(r.invoke)
        )
    }
}

impl OpPath {
    /// The path as text, a step a line, each with its time since the
    /// operation was invoked.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.steps.iter().map(|s| {
            let since = s.t_ns.saturating_sub(self.record.invoke);
            format!("+{:<11} {}", format_time_short(since), s.text)
        })
    }
}
