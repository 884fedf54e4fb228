//! Everything a run holds apart from the nodes themselves: the clock, the
//! event queue, the network, and the records (trace, metrics, history).
//! Kept apart from the nodes so a node's handler can borrow both.

use crate::follow::{Follow, OpIndex};
use crate::history::{History, LogHistory};
use crate::message::{Message, NodeId, Timer};
use crate::metrics::Metrics;
use crate::network::{Network, Transmission};
use crate::queue::{Event, EventQueue, QueueFull, TimerId};
use crate::time::Time;
use crate::trace::{Trace, TraceEvent, What};

/// The most Raft store writes a run files (each a few bytes).
pub const MAX_COMMANDS: usize = 4_000_000;

#[derive(Clone, Debug)]
pub struct World {
    pub now: Time,
    pub queue: EventQueue,
    pub network: Network,
    /// Links held by `hold_link`, and what waits at them.
    pub held: crate::held_links::HeldLinks,
    pub trace: Trace,
    pub metrics: Metrics,
    pub history: History,
    /// Every URL path any client asks for; requests carry an index.
    pub paths: Vec<String>,
    /// Every write a Raft store's client made, by id: log entries carry
    /// the id (bounded by `MAX_COMMANDS`).
    pub commands: Vec<crate::components::raft_kv::KvCommand>,
    /// Every record a Kafka controller wrote to its metadata log, by id
    /// (bounded by `MAX_COMMANDS`).
    pub metadata: Vec<crate::kafka::metadata::MetadataRecord>,
    /// The Raft stores' snapshots, by handle (see `crate::components::raft_kv`):
    /// each member keeps its newest two, so the table is bounded.
    pub kv_snapshots: std::collections::BTreeMap<u64, std::sync::Arc<crate::components::raft_kv::KvStore>>,
    pub next_kv_snapshot: u64,
    /// Kafka clients' sends and polls.
    pub log_history: LogHistory,
    /// Set when a limit stopped the run; the run makes no further progress.
    pub halted: Option<String>,
    /// Following operations through the system (off unless asked for).
    pub follow: Option<Box<Follow>>,
}

impl World {
    /// Puts `msg` on the wire and schedules its delivery (twice if the link
    /// duplicates it); false if the link lost it (a partition blocks it
    /// only on arrival).
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: Message) -> bool {
        let now = self.now;
        let op = self.follow.as_mut().and_then(|f| f.on_send(from, to, &msg));
        match self.network.transmit(now, from, to) {
            Transmission::Lost(reason) => {
                self.record_for(now, What::Drop { from, to, sent_at: now, msg, reason }, op);
                false
            }
            Transmission::Arrives { at, duplicate_at } => {
                let seq = self.schedule(at, Event::Deliver { from, to, sent_at: now, msg });
                self.scheduled(seq, op);
                if let Some(at) = duplicate_at {
                    let seq = self.schedule(at, Event::Deliver { from, to, sent_at: now, msg });
                    self.scheduled(seq, op);
                }
                true
            }
        }
    }

    /// Schedules `event`; its sequence number, unless the queue was full.
    pub fn schedule(&mut self, at: Time, event: Event) -> Option<u64> {
        debug_assert!(at >= self.now, "no event in the past");
        match self.queue.push(at, event) {
            Ok(seq) => Some(seq),
            Err(full) => {
                self.halt(full);
                None
            }
        }
    }

    /// The scheduled event `seq` belongs to operation `op` (when following).
    fn scheduled(&mut self, seq: Option<u64>, op: Option<OpIndex>) {
        if let (Some(f), Some(seq)) = (self.follow.as_mut(), seq) {
            f.scheduled(seq, op);
        }
    }

    /// The operation the event being handled belongs to (when following).
    pub fn current_op(&self) -> Option<OpIndex> {
        self.follow.as_ref().and_then(|f| f.current)
    }

    /// From now on what is sent and armed belongs to `op` (when following).
    pub fn set_current_op(&mut self, op: Option<OpIndex>) {
        if let Some(f) = self.follow.as_mut() {
            f.current = op;
        }
    }

    /// Records a trace event of the event being handled.
    pub fn record(&mut self, time: Time, what: What) {
        let op = self.current_op();
        self.record_for(time, what, op);
    }

    /// Records a trace event that belongs to operation `op`.
    pub fn record_for(&mut self, time: Time, what: What, op: Option<OpIndex>) {
        if self.follow.is_some() {
            self.record_followed(time, what, op);
        }
        self.trace.record(time, what);
    }

    /// What following keeps of a trace event. Out of line: a normal run
    /// does not follow, and `record_for` is on every event's path.
    #[inline(never)]
    fn record_followed(&mut self, time: Time, what: What, op: Option<OpIndex>) {
        let n = self.trace.total();
        let Some(f) = self.follow.as_mut() else { return };
        let event = TraceEvent { n, time, what };
        f.recorded(&event);
        if let Some(op) = op {
            f.record(op, &event);
        }
        f.record_held(&event, op);
    }

    /// Schedules a timer. If the queue is full the run halts and the id
    /// returned names no timer (cancelling it does nothing).
    pub fn schedule_timer(&mut self, at: Time, node: NodeId, incarnation: u32, timer: Timer) -> TimerId {
        debug_assert!(at >= self.now, "no timer in the past");
        match self.queue.push_timer(at, node, incarnation, timer) {
            Ok(id) => {
                let op = self.current_op();
                self.scheduled(Some(id.seq()), op);
                id
            }
            Err(full) => {
                self.halt(full);
                TimerId::NONE
            }
        }
    }

    fn halt(&mut self, full: QueueFull) {
        self.halted.get_or_insert_with(|| match full {
            QueueFull::Pending { limit } => format!(
                "stopped: more than {limit} events were pending at once (limits.pending_events); \
                 the scenario generates work faster than it completes it"
            ),
            QueueFull::Sequence => "stopped: the run has processed the most events one run can hold".to_string(),
        });
    }
}
