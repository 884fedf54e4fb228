//! The context a component's handler acts through.

use crate::distribution::Distribution;
use crate::follow::{Carrier, Followed};
use crate::history::{OpTicket, Outcome};
use crate::message::{Message, NodeId, Op, PathId, Timer};
use crate::node::Runtime;
use crate::queue::TimerId;
use crate::rng::Rng;
use crate::time::Time;
use crate::trace::{Note, What};
use crate::world::World;

/// Files `value` in one of the run's bounded tables (messages carry its
/// index); `None` when the table holds `MAX_COMMANDS` already.
fn intern<T>(table: &mut Vec<T>, value: T) -> Option<u32> {
    if table.len() >= crate::world::MAX_COMMANDS {
        return None;
    }
    table.push(value);
    Some(table.len() as u32 - 1)
}

pub struct Ctx<'a> {
    pub(crate) me: NodeId,
    pub(crate) world: &'a mut World,
    pub(crate) rt: &'a mut Runtime,
}

impl Ctx<'_> {
    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// This node's monotonic clock (nanoseconds; drifts with clock skew).
    pub fn monotonic(&self) -> i64 {
        self.rt.clock.monotonic(self.world.now)
    }

    /// This node's wall clock (nanoseconds since the run's epoch; stepped
    /// and drifting under clock skew).
    pub fn wall_clock(&self) -> i64 {
        self.rt.clock.wall(self.world.now)
    }

    pub fn send(&mut self, to: NodeId, msg: Message) {
        self.world.send(self.me, to, msg);
    }

    /// Sets a timer to fire after `after_ns` of this node's monotonic time.
    pub fn set_timer(&mut self, after_ns: u64, timer: Timer) -> TimerId {
        let at = self.world.now + self.rt.clock.true_span(after_ns);
        self.world.schedule_timer(at, self.me, self.rt.incarnation, timer)
    }

    /// Cancels a timer that has not fired yet.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.world.queue.cancel(id);
        if let Some(f) = self.world.follow.as_mut() {
            f.take(id.seq());
        }
    }

    /// From here on this handler works for request `id` that `from` sent
    /// this node (taken from a queue, say): what it sends and arms belongs
    /// to that request's operation, when operations are followed (see
    /// [`crate::follow`]). A node must say so whenever it turns to a
    /// request other than the one whose event it is handling.
    pub fn work_for(&mut self, from: NodeId, id: crate::message::RequestId) {
        self.work_for_requests([(from, id)]);
    }

    /// From here on this handler works for several requests sent to this
    /// node at once (writes a change lets it answer): for the followed
    /// one among them, when operations are followed.
    pub fn work_for_requests(&mut self, requests: impl IntoIterator<Item = (NodeId, crate::message::RequestId)>) {
        let me = self.me;
        if let Some(f) = self.world.follow.as_mut() {
            f.work_for_requests(me, requests.into_iter());
        }
    }

    /// The operation this handler works for travels as `data` from here
    /// (a Raft entry's command, a read's context), when operations are
    /// followed.
    pub fn carried_by(&mut self, data: Carrier) {
        if let Some(f) = self.world.follow.as_mut() {
            f.carried_by(data);
        }
    }

    /// What follows is for the operation one of `data` carries (none: for
    /// no operation), when operations are followed.
    pub fn work_for_carried(&mut self, data: impl IntoIterator<Item = Carrier>) {
        if let Some(f) = self.world.follow.as_mut() {
            f.work_for_carried(data.into_iter());
        }
    }

    /// What follows is for the operation `data` carried, which carries it
    /// no more (a buffered write sent on), when operations are followed.
    pub fn work_for_delivered(&mut self, data: Carrier) {
        if let Some(f) = self.world.follow.as_mut() {
            f.work_for_delivered(data);
        }
    }

    /// Runs `f` (a note, say) as a step of the followed one among the
    /// requests sent to this node that `requests` lists, then works for
    /// what it worked for before; when nothing is followed, only runs `f`
    /// (and lists nothing).
    pub fn for_requests<R, I: IntoIterator<Item = (NodeId, crate::message::RequestId)>>(
        &mut self,
        requests: impl FnOnce() -> I,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        if !self.following() {
            return f(self);
        }
        let was = self.current_op();
        self.work_for_requests(requests());
        let r = f(self);
        self.resume_op(was);
        r
    }

    /// Runs `f` (a note, say) as a step of a Kafka send pending in one of
    /// `partitions` (the first found), then works for what it worked for
    /// before; when nothing is followed, only runs `f`.
    pub fn for_pending<R>(&mut self, partitions: impl IntoIterator<Item = u32>, f: impl FnOnce(&mut Self) -> R) -> R {
        let Some(follow) = self.world.follow.as_mut() else { return f(self) };
        let was = follow.current;
        follow.work_for_pending(partitions.into_iter());
        let r = f(self);
        self.resume_op(was);
        r
    }

    /// The message this producer is handling tells it something new
    /// about `partition`'s leader: a step of its send pending there too,
    /// when sends are followed.
    pub fn news_for_pending(&mut self, partition: u32) {
        let producer = self.me;
        if let Some(f) = self.world.follow.as_mut() {
            f.news_for_pending(producer, partition);
        }
    }

    /// What follows is for one of these Kafka sends (a batch's records;
    /// their places in the Kafka history), when sends are followed.
    pub fn work_for_sends(&mut self, ops: impl IntoIterator<Item = Option<u32>>) {
        if let Some(f) = self.world.follow.as_mut() {
            f.work_for_ops(Followed::KafkaSends, ops.into_iter());
        }
    }

    /// Kafka send `op` travels as its record (`value` in `partition`)
    /// from here, when sends are followed.
    pub fn record_carries(&mut self, partition: u32, value: u64, op: Option<u32>) {
        if let Some(f) = self.world.follow.as_mut() {
            f.carries(Followed::KafkaSends, op, Carrier::KafkaRecord { partition, value });
        }
    }

    /// The request this handler works for waits in this node's `queue`
    /// (a step of its path, when operations are followed; not traced).
    pub fn queued(&mut self, queue: crate::follow::Queue) {
        let (now, me) = (self.world.now, self.me);
        if let Some(f) = self.world.follow.as_mut() {
            f.queued(now, me, queue);
        }
    }

    /// The request this handler works for leaves this node's queue (to be
    /// served, or given up on); nothing if it was not in one.
    pub fn left_queue(&mut self) {
        let (now, me) = (self.world.now, self.me);
        if let Some(f) = self.world.follow.as_mut() {
            f.left_queue(now, me);
        }
    }

    /// Whether operations are followed (to skip work done only for that
    /// when they are not).
    pub fn following(&self) -> bool {
        self.world.follow.is_some()
    }

    /// The followed operation this handler works for now, if any (to
    /// return to it with [`Ctx::resume_op`]).
    pub fn current_op(&self) -> Option<crate::follow::OpIndex> {
        self.world.current_op()
    }

    /// Works for `op` again (from [`Ctx::current_op`]), when operations
    /// are followed.
    pub fn resume_op(&mut self, op: Option<crate::follow::OpIndex>) {
        self.world.set_current_op(op);
    }

    /// From here on this handler works for no client operation (its own
    /// housekeeping), when operations are followed.
    pub fn work_for_none(&mut self) {
        self.world.set_current_op(None);
    }

    /// The URL path with this id.
    pub fn path(&self, id: PathId) -> &str {
        &self.world.paths[usize::from(id)]
    }

    /// Files a Raft store's command in the run's table; `None` when the
    /// table is full (the write is refused).
    pub fn intern_command(&mut self, cmd: crate::components::raft_kv::KvCommand) -> Option<u32> {
        intern(&mut self.world.commands, cmd)
    }

    pub fn command(&self, id: u32) -> crate::components::raft_kv::KvCommand {
        self.world.commands[id as usize]
    }

    /// Files a Raft store's snapshot data; its handle.
    pub fn keep_kv_snapshot(&mut self, store: std::sync::Arc<crate::components::raft_kv::KvStore>) -> u64 {
        let id = self.world.next_kv_snapshot;
        self.world.next_kv_snapshot += 1;
        self.world.kv_snapshots.insert(id, store);
        id
    }

    /// A snapshot's data, if its owner still keeps it.
    pub fn kv_snapshot(&self, id: u64) -> Option<std::sync::Arc<crate::components::raft_kv::KvStore>> {
        self.world.kv_snapshots.get(&id).cloned()
    }

    pub fn drop_kv_snapshot(&mut self, id: u64) {
        self.world.kv_snapshots.remove(&id);
    }

    /// Files a Kafka metadata record in the run's table; `None` when the
    /// table is full.
    pub fn intern_metadata(&mut self, record: crate::kafka::metadata::MetadataRecord) -> Option<u32> {
        intern(&mut self.world.metadata, record)
    }

    pub fn metadata(&self, id: u32) -> crate::kafka::metadata::MetadataRecord {
        self.world.metadata[id as usize]
    }

    /// A Kafka producer's send of `value` to `partition`, invoked now:
    /// what the producer does next is for it, when sends are followed.
    pub fn log_send(&mut self, partition: u32, value: u64) -> Option<u32> {
        self.world.metrics.sent();
        let op = self.world.log_history.send(self.me, partition, value, self.world.now);
        self.work_for_sends([op]);
        let producer = self.me;
        if let Some(f) = self.world.follow.as_mut() {
            f.carries(Followed::KafkaSends, op, Carrier::PendingIn { partition, producer });
        }
        op
    }

    /// The send invoked at `invoked_at` completed.
    pub fn log_sent(&mut self, index: Option<u32>, invoked_at: Time, outcome: Outcome, offset: Option<u64>) {
        self.world.metrics.completed(outcome, self.world.now - invoked_at);
        if let Some(i) = index {
            self.world.log_history.complete_send(i, outcome, offset, self.world.now);
            let producer = self.me;
            if let Some(f) = self.world.follow.as_mut() {
                if let Some(partition) = self.world.log_history.partition_of(i) {
                    f.uncarries(Followed::KafkaSends, i, Carrier::PendingIn { partition, producer });
                }
            }
        }
    }

    /// A consumer's poll, invoked at `invoke`, returned `records`.
    pub fn log_poll(&mut self, records: Vec<(u32, u64, u64)>, invoke: Time, group: Option<u32>) {
        let now = self.world.now;
        self.world.log_history.poll(self.me, group, records, invoke, now);
    }

    /// True time now (for what the history records; components keep their
    /// own clocks for decisions).
    pub fn now(&self) -> Time {
        self.world.now
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rt.rng
    }

    /// Draws a service time and scales it by the node's slowdown.
    pub fn service_time(&mut self, dist: &Distribution) -> u64 {
        let base = dist.sample(&mut self.rt.rng);
        if self.rt.slowdown == 1.0 {
            base
        } else {
            (base as f64 * self.rt.slowdown) as u64
        }
    }

    /// Reports this node's load: busy workers out of `capacity`, and
    /// requests waiting.
    pub fn set_load(&mut self, busy: u32, capacity: u32, queued: u32) {
        self.rt.load.set(self.world.now, busy, capacity, queued);
    }

    /// A client invokes an operation: recorded in the history and counted.
    pub fn invoke(&mut self, process: u32, op: Op) -> OpTicket {
        self.world.metrics.sent();
        let ticket = self.world.history.invoke(self.me, process, op, self.world.now);
        if let Some(f) = self.world.follow.as_mut() {
            f.work_for_ops(Followed::Clients, std::iter::once(ticket.index));
        }
        ticket
    }

    /// The operation behind `ticket` completed: recorded with its latency
    /// (measured in true time, by the engine, not by the node's clock).
    pub fn complete(&mut self, ticket: OpTicket, outcome: Outcome, value: Option<u64>) {
        let latency = self.world.now - ticket.invoked_at;
        self.world.metrics.completed(outcome, latency);
        self.world.history.complete(ticket, outcome, value, self.world.now);
    }

    /// A request the client could not even send.
    pub fn not_sent(&mut self) {
        self.world.metrics.not_sent();
    }

    /// Records something this node wants the event log to show.
    pub fn note(&mut self, note: Note) {
        self.world.record(self.world.now, What::Note { node: self.me, note });
    }
}
