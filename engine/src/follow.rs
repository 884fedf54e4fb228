//! Following a client operation through the system: which messages,
//! drops and notes were on its behalf, from the client's request to the
//! answer (the lab's request path; what distributed tracing calls a trace).
//!
//! Off in a normal run, so it costs nothing and changes nothing (the trace
//! hash is the same with it on). The lab turns it on for one operation and
//! simulates again from the checkpoint before it.
//!
//! How an event comes to belong to an operation:
//! - a client's request belongs to the operation it invoked;
//! - what a node sends or arms while handling an event belongs to that
//!   event's operation (a proxy forwarding, a server calling its cache);
//! - an answer (a response, a cache reply, a refused or closed connection)
//!   belongs to the request it answers, matched by connection and id, as
//!   TCP does, whatever the node was handling;
//! - a node that picks up queued work says so ([`crate::context::Ctx::work_for`]);
//! - inside a replicated system an operation travels as data (a Raft log
//!   entry, a read's context, a Kafka record): messages carrying it belong
//!   to it ([`crate::context::Ctx::carried_by`]).
//!
//! The operations followed are those of one history ([`Followed`]): the
//! client history's, or the Kafka producers' sends. A Kafka produce
//! request carries a batch of sends: it belongs to the followed one among
//! them (following every send, to the first).

use crate::kafka::wire::KafkaWire;
use crate::kafka::Acks;
use crate::message::{Message, NodeId, RequestId};
use crate::time::Time;
use crate::trace::{NodeChange, TraceEvent, What};
use std::collections::BTreeMap;

/// The most events kept for one followed operation (a path is tens of
/// events); past it they are counted in [`Follow::missed`].
pub const MAX_FOLLOWED: usize = 4096;
/// The most requests kept open at once (a request whose answer is lost
/// stays open), and the most carried data; past it the oldest operation's
/// are forgotten.
const MAX_OPEN: usize = 1 << 16;

/// Files `key` for `op` in `map`, forgetting the oldest operation's
/// entries first if the map holds [`MAX_OPEN`].
fn insert_bounded<K: Ord>(map: &mut BTreeMap<K, OpIndex>, key: K, op: OpIndex) {
    if map.len() >= MAX_OPEN {
        if let Some(&oldest) = map.values().min() {
            map.retain(|_, o| *o != oldest);
        }
    }
    map.insert(key, op);
}

/// An operation's index in the history followed.
pub type OpIndex = u32;

/// Which history the followed operations are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Followed {
    /// The client history: requests, reads and writes.
    Clients,
    /// The Kafka history's sends (a record each; polls are not followed).
    KafkaSends,
}

/// What carries an operation inside a system: an id unique in the run, or
/// a place a later operation takes over (a buffered write's key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Carrier {
    /// A Raft log entry's command, or a read's context.
    Raft(u64),
    /// A Kafka record: its partition and value (the producer and its
    /// sequence number in the partition).
    KafkaRecord { partition: u32, value: u64 },
    /// A write a write-behind `server` has acknowledged and not yet sent
    /// to the database, by key (a later write to the key replaces it).
    Unflushed { server: NodeId, key: u32 },
    /// A Kafka send not yet resolved (queued, retried or in flight), by
    /// its partition and producer: what changes the partition's leader
    /// meanwhile (a broker fenced, a new leader taking over, the metadata
    /// answer that tells the producer) is a step of its path.
    PendingIn { partition: u32, producer: NodeId },
}

/// A step of an operation's path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// A message delivered or dropped, or a note, from the trace.
    Event(TraceEvent),
    /// The request waited in `node`'s queue from `time`, until `left`
    /// (taken to be served, timed out, or dropped). Known only when
    /// following (not in the trace: queueing is too common to note every
    /// time).
    Queued { time: Time, node: NodeId, queue: Queue, left: Option<Time> },
}

/// Which queue a request waited in, and how many waited there with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// A load balancer's queue for `server`, at its connection limit.
    Server { server: NodeId, waiting: u32 },
    /// A load balancer's backend queue: no server could take it.
    Backend { waiting: u32 },
    /// A process's queue for its `workers`, all busy.
    Workers { workers: u32, waiting: u32 },
    /// A Kafka producer's queue for a partition (its record accumulator),
    /// `waiting` records in it up to this one.
    Producer { wait: ProducerWait, waiting: u32 },
}

/// Why a Kafka producer's records wait to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerWait {
    /// It does not know the partition's leader (it has asked for metadata).
    NoLeader,
    /// A batch waits to be retried ahead of them.
    Retry,
    /// `max` requests are in flight to the `leader` already
    /// (`max.in.flight.requests.per.connection`).
    InFlight { leader: NodeId, max: u32 },
}

#[derive(Clone, Debug)]
pub struct Follow {
    /// The operation followed; `None`: every one (for tests).
    only: Option<OpIndex>,
    /// The history it is in.
    history: Followed,
    /// The operation the event being handled belongs to.
    pub(crate) current: Option<OpIndex>,
    /// Scheduled events (messages and timers) that belong to a followed
    /// operation, by their sequence number in the event queue.
    scheduled: BTreeMap<u64, OpIndex>,
    /// Requests sent and not answered yet: (sender, receiver, request id).
    open: BTreeMap<(NodeId, NodeId, RequestId), OpIndex>,
    /// What carries an operation inside a system.
    carried: BTreeMap<Carrier, OpIndex>,
    /// The message being delivered, if one is (set as it is recorded).
    delivering: Option<TraceEvent>,
    events: Vec<(OpIndex, Step)>,
    /// Where in `events` each operation's queued step at a node is, until
    /// it leaves that queue.
    waiting: BTreeMap<(OpIndex, NodeId), usize>,
    /// The most events kept.
    limit: usize,
    /// Events of followed operations not kept: over `limit`.
    pub missed: u64,
}

/// How a message relates to a request, for matching answers to it.
enum Role {
    /// Opens request `id` from the sender to the receiver.
    Opens(RequestId),
    /// Answers request `id` the receiver sent; `last`: the request is done.
    Answers {
        id: RequestId,
        last: bool,
    },
    /// About request `id` the sender sent (it gave up on it).
    Closes(RequestId),
    Other,
}

fn role(msg: &Message) -> Role {
    match *msg {
        Message::Request(r) => Role::Opens(r.id),
        Message::CacheRequest { id, .. } => Role::Opens(id),
        Message::Accepted { id } => Role::Answers { id, last: false },
        Message::Response(r) => Role::Answers { id: r.id, last: true },
        Message::CacheReply { id, .. } | Message::RequestRefused { id } | Message::ConnectionClosed { id } => {
            Role::Answers { id, last: true }
        }
        Message::ClientClosed { id } | Message::ConnectionReset { id } => Role::Closes(id),
        // A produce request with acks=0 is never answered.
        Message::Kafka(KafkaWire::Produce { id, acks, .. }) if acks != Acks::None => Role::Opens(id),
        Message::Kafka(KafkaWire::ProduceReply { id, .. }) => Role::Answers { id, last: true },
        _ => Role::Other,
    }
}

impl Follow {
    /// Follows operation `only` of `history`, or every operation, keeping
    /// at most `limit` events.
    pub fn new(history: Followed, only: Option<OpIndex>, limit: usize) -> Follow {
        Follow {
            only,
            history,
            limit,
            current: None,
            scheduled: BTreeMap::new(),
            open: BTreeMap::new(),
            carried: BTreeMap::new(),
            delivering: None,
            events: Vec::new(),
            waiting: BTreeMap::new(),
            missed: 0,
        }
    }

    fn wanted(&self, op: Option<OpIndex>) -> Option<OpIndex> {
        op.filter(|&o| self.only.is_none_or(|only| only == o))
    }

    /// Works for operations of `history` (one invoked now, or a batch of
    /// them): for the followed one among them, else the first.
    pub(crate) fn work_for_ops(&mut self, history: Followed, mut ops: impl Iterator<Item = Option<OpIndex>>) {
        self.current = if history == self.history { ops.find_map(|o| self.wanted(o)) } else { None };
    }

    /// Operation `op` of `history` travels as `data` from here.
    pub(crate) fn carries(&mut self, history: Followed, op: Option<OpIndex>, data: Carrier) {
        if let Some(op) = self.wanted(op).filter(|_| history == self.history) {
            insert_bounded(&mut self.carried, data, op);
        }
    }

    /// The node `me` works for one of these requests sent to it (by
    /// sender and id; the followed one among them, else the first open).
    pub(crate) fn work_for_requests(&mut self, me: NodeId, mut requests: impl Iterator<Item = (NodeId, RequestId)>) {
        self.current = requests.find_map(|(from, id)| self.open.get(&(from, me, id)).copied());
    }

    /// Operation `op` of `history` no longer travels as `data` (if it did).
    pub(crate) fn uncarries(&mut self, history: Followed, op: OpIndex, data: Carrier) {
        if history == self.history && self.carried.get(&data) == Some(&op) {
            self.carried.remove(&data);
        }
    }

    /// The operation being worked for travels as `data` from here; if it
    /// is not followed, whatever `data` carried before is replaced (a
    /// buffered write by a later one to the key).
    pub(crate) fn carried_by(&mut self, data: Carrier) {
        match self.current {
            Some(op) => insert_bounded(&mut self.carried, data, op),
            None => {
                self.carried.remove(&data);
            }
        }
    }

    /// What follows is for the operation `data` carried, which it carries
    /// no more (it is delivered), if any.
    pub(crate) fn work_for_delivered(&mut self, data: Carrier) {
        self.current = self.carried.remove(&data);
    }

    /// What follows is for the operation one of `data` carries (the first
    /// found), if any.
    pub(crate) fn work_for_carried(&mut self, mut data: impl Iterator<Item = Carrier>) {
        self.current = data.find_map(|d| self.carried.get(&d).copied());
    }

    /// What follows is for a send pending in one of `partitions` (of any
    /// producer; the first found), if any.
    pub(crate) fn work_for_pending(&mut self, mut partitions: impl Iterator<Item = u32>) {
        let carried = &self.carried;
        self.current = partitions.find_map(|partition| {
            let all =
                Carrier::PendingIn { partition, producer: 0 }..=Carrier::PendingIn { partition, producer: NodeId::MAX };
            carried.range(all).next().map(|(_, &op)| op)
        });
    }

    /// The message being delivered to Kafka producer `producer` tells it
    /// something new about `partition`'s leader: a step of its send
    /// pending there too, if any.
    pub(crate) fn news_for_pending(&mut self, producer: NodeId, partition: u32) {
        let Some(event) = self.delivering else { return };
        let Some(&op) = self.carried.get(&Carrier::PendingIn { partition, producer }) else { return };
        if self.current != Some(op) {
            self.keep(op, Step::Event(event));
        }
    }

    /// Which operation `msg`, sent now from `from` to `to`, belongs to.
    pub(crate) fn on_send(&mut self, from: NodeId, to: NodeId, msg: &Message) -> Option<OpIndex> {
        match role(msg) {
            Role::Opens(id) => {
                let op = self.current?;
                insert_bounded(&mut self.open, (from, to, id), op);
                Some(op)
            }
            Role::Answers { id, last: true } => self.open.remove(&(to, from, id)),
            Role::Answers { id, last: false } => self.open.get(&(to, from, id)).copied(),
            Role::Closes(id) => self.open.get(&(from, to, id)).copied(),
            Role::Other => self.current,
        }
    }

    /// The event with sequence number `seq` was scheduled for `op`.
    pub(crate) fn scheduled(&mut self, seq: u64, op: Option<OpIndex>) {
        if let Some(op) = op {
            self.scheduled.insert(seq, op);
        }
    }

    /// The event `seq` is being handled now (or was cancelled: `None`
    /// handled).
    pub(crate) fn take(&mut self, seq: u64) -> Option<OpIndex> {
        self.scheduled.remove(&seq)
    }

    /// Keeps a trace event that belongs to `op`: messages, drops and
    /// notes (timers and the rest say less than what they cause; a node's
    /// crash, pause or resume is the step of the requests it holds,
    /// [`Follow::record_held`]).
    /// A trace event was recorded: the message being delivered, if it is
    /// one (for [`Follow::news_for_pending`]).
    pub(crate) fn recorded(&mut self, event: &TraceEvent) {
        self.delivering = matches!(event.what, What::Deliver { .. }).then_some(*event);
    }

    pub(crate) fn record(&mut self, op: OpIndex, event: &TraceEvent) {
        if !matches!(event.what, What::Deliver { .. } | What::Drop { .. } | What::Hold { .. } | What::Note { .. }) {
            return;
        }
        self.keep(op, Step::Event(*event));
    }

    /// A node crashed, paused or resumed (`event`): a step of the requests
    /// it holds (sent to it and not answered), but for `done`, whose step
    /// it is already.
    pub(crate) fn record_held(&mut self, event: &TraceEvent, done: Option<OpIndex>) {
        let What::Node { node, change: NodeChange::Crashed | NodeChange::Paused | NodeChange::Resumed } = event.what
        else {
            return;
        };
        let held: std::collections::BTreeSet<OpIndex> =
            self.open.iter().filter(|((_, to, _), &op)| *to == node && Some(op) != done).map(|(_, &op)| op).collect();
        for op in held {
            self.keep(op, Step::Event(*event));
        }
    }

    /// The request being worked for waits in `node`'s `queue`.
    pub(crate) fn queued(&mut self, time: Time, node: NodeId, queue: Queue) {
        if let Some(op) = self.current {
            let at = self.events.len();
            if self.keep(op, Step::Queued { time, node, queue, left: None }) {
                self.waiting.insert((op, node), at);
            }
        }
    }

    /// The request being worked for leaves `node`'s queue (if it was in
    /// one).
    pub(crate) fn left_queue(&mut self, time: Time, node: NodeId) {
        let Some(op) = self.current else { return };
        if let Some(at) = self.waiting.remove(&(op, node)) {
            if let Some((_, Step::Queued { left, .. })) = self.events.get_mut(at) {
                *left = Some(time);
            }
        }
    }

    /// Keeps a step; false if the bound was reached.
    fn keep(&mut self, op: OpIndex, step: Step) -> bool {
        if self.events.len() < self.limit {
            self.events.push((op, step));
            true
        } else {
            self.missed += 1;
            false
        }
    }

    /// Which history the followed operations are in.
    pub fn history(&self) -> Followed {
        self.history
    }

    /// The steps kept, each with its operation, in the order they happened.
    pub fn events(&self) -> &[(OpIndex, Step)] {
        &self.events
    }
}
