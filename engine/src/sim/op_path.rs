//! A client operation's path through the system, in words: each message
//! sent on its behalf (delivered or dropped) and each note a node made
//! while working for it, in the order they happened. See `crate::follow`
//! for how events come to belong to an operation.

use super::Simulation;
use crate::follow::{Follow, Followed, OpIndex, ProducerWait, Queue, Step, MAX_FOLLOWED};
use crate::history::{LogEvent, LogRecord, OpRecord, Outcome, Span};
use crate::kafka::wire;
use crate::time::{format_time, format_time_short, Time, NANOS_PER_SEC};
use crate::trace_view::TraceLine;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// How long after an operation completes its path is still followed:
/// what the system goes on doing for it (a replica applying the write, a
/// server finishing work its client gave up on).
pub const AFTER_COMPLETION: Time = NANOS_PER_SEC;

#[derive(Clone, Debug, PartialEq)]
pub struct OpPath {
    /// The operation's place in the history followed.
    pub op: OpIndex,
    pub history: Followed,
    /// When it was invoked, and completed (if it had when following
    /// stopped).
    pub invoke: Time,
    pub complete: Option<Time>,
    pub outcome: Outcome,
    /// The operation in words, as the history has it when following
    /// stopped ([`Simulation::describe_op`], [`Simulation::describe_send`]).
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
        let history = self.followed_history();
        self.world.follow = Some(Box::new(Follow::new(history, only, limit)));
    }

    /// Whose operations a path follows: the client history's, unless the
    /// scenario's only clients are Kafka producers and consumers (then
    /// the producers' sends).
    pub fn followed_history(&self) -> Followed {
        use crate::scenario::ComponentSpec;
        let nodes = &self.scenario.nodes;
        let any = |f: fn(&ComponentSpec) -> bool| nodes.iter().any(|n| f(&n.component));
        if any(|c| matches!(c, ComponentSpec::KafkaProducer(_))) && !any(|c| matches!(c, ComponentSpec::Client(_))) {
            Followed::KafkaSends
        } else {
            Followed::Clients
        }
    }

    /// What following has recorded, if it is on.
    pub fn followed(&self) -> Option<&Follow> {
        self.world.follow.as_deref()
    }

    /// Why operation `op` has no path: the history does not hold it, or it
    /// is a poll.
    pub(super) fn not_followable(&self, op: OpIndex) -> String {
        let (n, discarded) = self.followable_len();
        let history = match self.followed_history() {
            Followed::Clients => "client history",
            Followed::KafkaSends if (op as usize) < n => {
                return format!("operation {op} is a consumer's poll; a path follows a producer's send")
            }
            Followed::KafkaSends => "Kafka history",
        };
        let kept = if discarded > 0 {
            format!(" ({discarded} more were not kept: limits.history_ops)")
        } else {
            String::new()
        };
        format!(
            "the run's {history} holds operations 0 to {} until {}{kept}; {op} is not one of them",
            n.saturating_sub(1),
            format_time(self.now())
        )
    }

    /// The operations a path can follow now (the client history's, or the
    /// Kafka history's sends).
    pub fn followable_ops(&self) -> Box<dyn Iterator<Item = Span> + '_> {
        match self.followed_history() {
            Followed::Clients => Box::new(self.world.history.ops().iter().enumerate().map(|(i, r)| r.span(i))),
            Followed::KafkaSends => {
                Box::new(self.world.log_history.ops().iter().enumerate().filter_map(|(i, r)| r.send_span(i)))
            }
        }
    }

    /// The completed operation a path can follow that took longest.
    pub fn slowest_op(&self) -> Option<OpIndex> {
        crate::history::slowest(self.followable_ops()).map(|i| i as OpIndex)
    }

    /// The latest operation a path can follow that failed or got no answer.
    pub fn latest_failed_op(&self) -> Option<OpIndex> {
        crate::history::latest_failed(self.followable_ops()).map(|i| i as OpIndex)
    }

    /// How many operations the history a path follows holds now (a Kafka
    /// history's polls among them), and how many it did not keep.
    pub fn followable_len(&self) -> (usize, u64) {
        match self.followed_history() {
            Followed::Clients => (self.world.history.ops().len(), self.world.history.discarded()),
            Followed::KafkaSends => (self.world.log_history.ops().len(), self.world.log_history.discarded()),
        }
    }

    /// Operation `op` of the history a path follows as it stands, if the
    /// history holds it and a path can follow it (not a poll).
    pub fn followable_op(&self, op: OpIndex) -> Option<Span> {
        let i = op as usize;
        match self.followed_history() {
            Followed::Clients => self.world.history.ops().get(i).map(|r| r.span(i)),
            Followed::KafkaSends => self.world.log_history.ops().get(i)?.send_span(i),
        }
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
            Queue::Producer { wait, waiting } => {
                let why = match wait {
                    ProducerWait::NoLeader => "it does not know the partition's leader yet".to_string(),
                    ProducerWait::Retry => "a batch waits to be retried ahead of it".to_string(),
                    ProducerWait::InFlight { leader, max: 1 } => format!(
                        "a request to {} is in flight (max.in.flight.requests.per.connection 1)",
                        self.node_name(leader)
                    ),
                    ProducerWait::InFlight { leader, max } => format!(
                        "{max} requests to {} are in flight (max.in.flight.requests.per.connection)",
                        self.node_name(leader)
                    ),
                };
                let records = if waiting == 1 { "record" } else { "records" };
                format!("queued in the producer's buffer: {why}; {waiting} {records} in the partition's queue")
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
        let follow = self.followed()?;
        let history = follow.history();
        let Span { invoke, complete, outcome, .. } = self.followable_op(op)?;
        let headline = match history {
            Followed::Clients => self.describe_op(&self.world.history.ops()[op as usize]),
            Followed::KafkaSends => self.describe_send(&self.world.log_history.ops()[op as usize]),
        };
        let steps = follow.events().iter().filter(|(o, _)| *o == op).map(|(_, s)| self.step_line(s));
        let steps = fold_repeats(steps, invoke);
        Some(OpPath {
            op,
            history,
            invoke,
            complete,
            outcome,
            headline,
            steps,
            missed: follow.missed,
            until: self.now(),
        })
    }
}

/// Folds each step that says exactly what an earlier one said (a
/// follower's fetch blocked by a partition again every 1.5 s) into that
/// one, which then says how many times it happened and when last, as
/// times since `invoke`.
fn fold_repeats(steps: impl Iterator<Item = TraceLine>, invoke: Time) -> Vec<TraceLine> {
    let mut kept: Vec<TraceLine> = Vec::new();
    // (kind, text) -> (its place in `kept`, how many times, the last).
    let mut seen: BTreeMap<(&'static str, String), (usize, u32, Time)> = BTreeMap::new();
    for step in steps {
        match seen.entry((step.event, step.text.clone())) {
            Entry::Occupied(mut e) => {
                let (_, times, last) = e.get_mut();
                *times += 1;
                *last = step.t_ns;
            }
            Entry::Vacant(e) => {
                e.insert((kept.len(), 1, step.t_ns));
                kept.push(step);
            }
        }
    }
    for (at, times, last) in seen.into_values().filter(|&(_, times, _)| times > 1) {
        let since = format_time_short(last.saturating_sub(invoke));
        kept[at].text.push_str(&format!(" ({times} times, the last at +{since})"));
    }
    kept
}

impl Simulation {
    /// A client operation in words: who, what, when, and how it ended
    /// (`c2 (client 337): read k3 → 7, invoked at 9.008s, ok at 9.021s,
    /// after 12.898ms`), its moments written by `at` (the path's own
    /// format here; the consistency panel passes its own).
    pub fn describe_op_at(&self, r: &OpRecord, at: impl Fn(Time) -> String) -> String {
        let who = if r.final_read { "final read after the run".to_string() } else { format!("client {}", r.process) };
        let ended = match (r.outcome, r.complete) {
            (Outcome::Ok, Some(t)) => format!("ok at {}", at(t)),
            (Outcome::Fail, Some(t)) => format!("failed at {}", at(t)),
            (Outcome::Info, Some(t)) => format!("no answer (timed out) at {}", at(t)),
            _ => "still waiting".to_string(),
        };
        let after = after(r.invoke, r.complete);
        format!("{} ({who}): {}, invoked at {}, {ended}{after}", self.node_name(r.node), r.what(), at(r.invoke))
    }

    /// [`Simulation::describe_op_at`] with the path's time format.
    pub fn describe_op(&self, r: &OpRecord) -> String {
        self.describe_op_at(r, format_time_short)
    }

    /// A Kafka client's send or poll in words (`producer: send of record 3
    /// to partition 0, invoked at 1.204s, acknowledged at offset 41 at
    /// 1.233s, after 29.1ms`), its moments written by `at`.
    pub fn describe_log_op_at(&self, r: &LogRecord, at: impl Fn(Time) -> String) -> String {
        let who = self.node_name(r.node);
        let (partition, value, offset) = match &r.event {
            &LogEvent::Send { partition, value, offset } => (partition, value, offset),
            LogEvent::Poll { records } => {
                return format!("{who}: poll of {}, invoked at {}", wire::records(records.len()), at(r.invoke))
            }
        };
        let ended = match (r.outcome, offset, r.complete) {
            (Outcome::Ok, Some(o), Some(t)) => format!("acknowledged at offset {o} at {}", at(t)),
            (Outcome::Ok, None, Some(t)) => format!("sent (acks=0: no acknowledgement) at {}", at(t)),
            (Outcome::Fail, _, Some(t)) => format!("failed (not written) at {}", at(t)),
            (Outcome::Info, _, Some(t)) => format!("gave up, perhaps written, at {}", at(t)),
            _ => "not acknowledged yet".to_string(),
        };
        let after = after(r.invoke, r.complete);
        // The value is the producer and its sequence number: the record's
        // number is the sequence.
        format!(
            "{who}: send of record {} to partition {partition}, invoked at {}, {ended}{after}",
            value as u32,
            at(r.invoke)
        )
    }

    /// [`Simulation::describe_log_op_at`] with the path's time format.
    pub fn describe_send(&self, r: &LogRecord) -> String {
        self.describe_log_op_at(r, format_time_short)
    }
}

/// How long an operation took, for its description (`, after 12.898ms`);
/// nothing while it has not completed.
fn after(invoke: Time, complete: Option<Time>) -> String {
    complete.map_or(String::new(), |t| format!(", after {}", format_time_short(t - invoke)))
}

impl OpPath {
    /// The path as text, a step a line, each with its time since the
    /// operation was invoked.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.steps.iter().map(|s| {
            let since = s.t_ns.saturating_sub(self.invoke);
            format!("+{:<11} {}", format_time_short(since), s.text)
        })
    }
}
