//! A Kafka producer (`KafkaProducer` with its sender thread): records
//! arrive at a rate, wait in a per-partition queue, and go to the
//! partition's leader in batches. Up to
//! `max.in.flight.requests.per.connection` requests (5 by default) are in
//! flight to each broker at once. Errors that Kafka retries are retried
//! after `retry.backoff.ms` until `delivery.timeout.ms`; the client learns
//! leaders from a broker's metadata and asks again after
//! `NOT_LEADER_OR_FOLLOWER` or a timeout. A request that times out closes
//! its connection, failing every other request in flight on it.
//!
//! Order, as in Kafka's `RecordAccumulator` and `Sender`: with one request
//! in flight a partition is muted until it is answered, so order is kept.
//! With more, a batch that fails goes back to the front of its queue while
//! later batches may already be written: a retry lands after them. An
//! idempotent producer keeps order anyway: the broker refuses a batch whose
//! sequence leaves a gap (`OUT_OF_ORDER_SEQUENCE_NUMBER`), the producer
//! retries such batches, and it sends a retried batch only once no batch
//! before it is unresolved.
//!
//! Every record is one send in the client history: acknowledged with its
//! offset, failed (certainly not written), or indeterminate (it may have
//! been written: a timeout, a connection closed with it in flight,
//! `NOT_ENOUGH_REPLICAS_AFTER_APPEND`).
//!
//! One simplification: a produce request carries one partition's batch
//! (Kafka's carries one batch of each ready partition the broker leads).

use super::config::ProducerConfig;
use super::{MetadataRefresh, ProducerView};
use crate::context::Ctx;
use crate::follow::{ProducerWait, Queue};
use crate::history::Outcome;
use crate::kafka::wire::{KafkaWire, NO_PRODUCER_EPOCH};
use crate::kafka::{Acks, ProduceError, Record};
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::{Time, NANOS_PER_SEC};
use crate::trace::Note;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
struct Pending {
    seq: u32,
    /// The history entry, and when the record was sent (true time).
    op: Option<u32>,
    invoked: Time,
    /// When the record was created, on the producer's clock (for the
    /// delivery timeout).
    created: i64,
}

#[derive(Clone, Debug)]
struct Batch {
    records: Vec<Pending>,
    /// Attempts made before this one.
    attempt: u32,
    /// An attempt may have been written (it timed out, its connection
    /// closed, or the leader answered `NOT_ENOUGH_REPLICAS_AFTER_APPEND`).
    maybe_written: bool,
    /// The producer epoch it was last sent with.
    epoch: u16,
}

impl Batch {
    fn seq(&self) -> u32 {
        self.records[0].seq
    }
}

#[derive(Clone, Debug)]
struct Sent {
    id: u64,
    /// The broker it was sent to.
    to: NodeId,
    batch: Batch,
    timer: TimerId,
}

#[derive(Clone, Debug)]
struct Retry {
    batch: Batch,
    /// When its backoff ends, on the producer's clock.
    at: i64,
}

#[derive(Clone, Debug, Default)]
struct Part {
    next_seq: u32,
    queue: VecDeque<Pending>,
    /// Requests sent and not answered, oldest first.
    in_flight: Vec<Sent>,
    /// Batches to send again, the next first (ahead of `queue`).
    retries: VecDeque<Retry>,
    /// The leader and leader epoch the last metadata answer told
    /// (`Volatile::leaders` forgets a leader after an error; this does
    /// not): an answer that differs is news.
    told: Option<(Option<NodeId>, u32)>,
}

impl Part {
    /// Whether a batch of this partition before sequence `seq` is still
    /// unresolved (in flight or waiting to be retried).
    fn earlier_unresolved(&self, seq: u32) -> bool {
        self.in_flight.iter().any(|s| s.batch.seq() < seq) || self.retries.iter().any(|r| r.batch.seq() < seq)
    }
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    parts: Vec<Part>,
    leaders: Vec<Option<NodeId>>,
    next_id: u64,
    /// The producer epoch: bumped after a batch is given up, so brokers
    /// accept the gap it leaves in the sequence (KIP-360).
    epoch: u16,
    metadata: MetadataRefresh,
    buffered: u32,
    acknowledged: u64,
    failed: u64,
    retries: u64,
    /// Stopped for the final polls.
    gave_up: bool,
}

#[derive(Clone, Debug)]
pub struct KafkaProducer {
    config: ProducerConfig,
    bootstrap: Vec<NodeId>,
    /// The topic's partitions: the cluster's `first .. first + partitions`
    /// (internally the producer counts them from 0).
    first: u32,
    partitions: u32,
    /// The cluster's partitions in all (a metadata answer ends with the
    /// last).
    cluster_partitions: u32,
    state: Volatile,
}

impl KafkaProducer {
    /// `brokers`: the bootstrap brokers first, then the rest of the
    /// cluster's (a client learns them from its first metadata answer and
    /// asks any of them later).
    /// Writes to the cluster's partitions `topic` (of `cluster_partitions`).
    pub fn new(
        config: ProducerConfig,
        brokers: Vec<NodeId>,
        topic: std::ops::Range<u32>,
        cluster_partitions: u32,
    ) -> KafkaProducer {
        let bootstrap = brokers;
        KafkaProducer {
            config,
            bootstrap,
            first: topic.start,
            partitions: topic.end - topic.start,
            cluster_partitions,
            state: Volatile::default(),
        }
    }

    pub fn view(&self) -> ProducerView {
        ProducerView {
            acks: self.config.acks.name(),
            idempotent: self.config.idempotent(),
            max_in_flight: self.config.max_in_flight_requests_per_connection,
            buffered: self.state.buffered,
            in_flight: self.state.parts.iter().map(|p| p.in_flight.len() as u32).sum(),
            acknowledged: self.state.acknowledged,
            failed: self.state.failed,
            retries: self.state.retries,
        }
    }

    /// The topic's partition (from 0) of the cluster's partition `p`.
    fn local(&self, p: u32) -> Option<u32> {
        p.checked_sub(self.first).filter(|&l| l < self.partitions)
    }

    fn stopped(&self, ctx: &Ctx) -> bool {
        self.state.gave_up || self.config.stop.is_some_and(|stop| ctx.monotonic() >= stop.nanos as i64)
    }

    /// Stops for good before the final polls (`Simulation::final_reads`):
    /// no new records, and what is buffered or in flight is forgotten. Its
    /// records stay open in the history (indeterminate), as a client's
    /// that stopped waiting.
    pub fn give_up(&mut self, ctx: &mut Ctx) {
        self.state.gave_up = true;
        self.state.buffered = 0;
        for part in &mut self.state.parts {
            part.queue.clear();
            part.retries.clear();
            for f in part.in_flight.drain(..) {
                ctx.cancel_timer(f.timer);
            }
        }
    }

    fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        let timeout = self.config.request_timeout.nanos.min(NANOS_PER_SEC);
        self.state.metadata.request(ctx, &self.bootstrap, self.config.retry_backoff.nanos, timeout);
    }

    fn arrival(&mut self, ctx: &mut Ctx) {
        if self.stopped(ctx) {
            return;
        }
        let mean = (NANOS_PER_SEC as f64 / self.config.load.rate).round().max(1.0) as u64;
        let gap = ctx.rng().exponential(mean).max(1);
        ctx.set_timer(gap, Timer::NextArrival);
        let key = ctx.rng().below(u64::from(self.config.load.keys)) as u32;
        if self.state.buffered >= self.config.max_buffered {
            ctx.not_sent();
            return;
        }
        // The lab's partitioner: key mod partitions (Kafka hashes the key
        // with murmur2; this one a learner can predict).
        let p = key % self.partitions;
        let part = &mut self.state.parts[p as usize];
        let seq = part.next_seq;
        part.next_seq += 1;
        let value = Record::produced(self.first + p, ctx.me(), seq).value;
        let op = ctx.log_send(self.first + p, value);
        let pending = Pending { seq, op, invoked: ctx.now(), created: ctx.monotonic() };
        self.state.parts[p as usize].queue.push_back(pending);
        self.state.buffered += 1;
        self.drain(ctx, p);
        // Not sent at once (still at the back of the queue drained from the
        // front): it waits in the accumulator, a step of its path when
        // sends are followed.
        let queue = &self.state.parts[p as usize].queue;
        if ctx.following() && queue.back().is_some_and(|r| r.seq == seq) {
            let waiting = queue.len() as u32;
            let wait = self.waiting_for(p);
            ctx.work_for_sends([op]);
            ctx.queued(Queue::Producer { wait, waiting });
        }
    }

    /// Why partition `p`'s queued records are not sent now.
    fn waiting_for(&self, p: u32) -> ProducerWait {
        let part = &self.state.parts[p as usize];
        match self.state.leaders.get(p as usize).copied().flatten() {
            None => ProducerWait::NoLeader,
            Some(_) if !part.retries.is_empty() => ProducerWait::Retry,
            Some(leader) => ProducerWait::InFlight { leader, max: self.config.max_in_flight_requests_per_connection },
        }
    }

    /// Requests in flight to `broker`.
    fn in_flight_to(&self, broker: NodeId) -> usize {
        self.state.parts.iter().map(|p| p.in_flight.iter().filter(|s| s.to == broker).count()).sum()
    }

    /// Drains every partition, starting after `p` (a broker's answer may
    /// have made room for any partition it leads).
    fn drain_all(&mut self, ctx: &mut Ctx, p: u32) {
        for k in 1..=self.partitions {
            self.drain(ctx, (p + k) % self.partitions);
        }
    }

    /// Sends what `p` may send now: its next retry once its backoff is
    /// over, else new batches, while its leader's connection has room.
    fn drain(&mut self, ctx: &mut Ctx, p: u32) {
        self.expire(ctx, p);
        let idempotent = self.config.idempotent();
        let max = self.config.max_in_flight_requests_per_connection as usize;
        loop {
            let part = &self.state.parts[p as usize];
            if part.queue.is_empty() && part.retries.is_empty() {
                return;
            }
            let Some(leader) = self.state.leaders.get(p as usize).copied().flatten() else {
                self.refresh_metadata(ctx);
                return;
            };
            // With one request in flight Kafka mutes the partition
            // (`guaranteeMessageOrder`).
            if self.in_flight_to(leader) >= max || (max == 1 && !part.in_flight.is_empty()) {
                return;
            }
            let epoch = self.state.epoch;
            let part = &mut self.state.parts[p as usize];
            let batch = if let Some(head) = part.retries.front() {
                // A retry waits for its backoff and holds back what is
                // queued behind it; an idempotent producer sends it only
                // once nothing before it is unresolved.
                if head.at > ctx.monotonic() || (idempotent && part.earlier_unresolved(head.batch.seq())) {
                    return;
                }
                let mut batch = part.retries.pop_front().expect("checked").batch;
                batch.attempt += 1;
                batch.epoch = epoch;
                batch
            } else {
                // No new batch under a new epoch while batches of the old
                // one are unanswered (`shouldStopDrainBatchesForPartition`).
                if idempotent && part.in_flight.iter().any(|s| s.batch.epoch != epoch) {
                    return;
                }
                let n = part.queue.len().min(self.config.batch_records as usize);
                let records: Vec<Pending> = part.queue.drain(..n).collect();
                if ctx.following() {
                    for r in &records {
                        ctx.work_for_sends([r.op]);
                        ctx.left_queue();
                    }
                }
                Batch { records, attempt: 0, maybe_written: false, epoch }
            };
            self.send_batch(ctx, p, leader, batch);
        }
    }

    fn send_batch(&mut self, ctx: &mut Ctx, p: u32, leader: NodeId, batch: Batch) {
        self.state.next_id += 1;
        let id = self.state.next_id;
        let acks = self.config.acks;
        let producer_epoch = if self.config.idempotent() { batch.epoch } else { NO_PRODUCER_EPOCH };
        // The request is for the records it carries (see crate::follow).
        if ctx.following() {
            ctx.work_for_sends(batch.records.iter().map(|r| r.op));
            for r in &batch.records {
                ctx.record_carries(self.first + p, Record::produced(self.first + p, ctx.me(), r.seq).value, r.op);
            }
        }
        let w = KafkaWire::Produce {
            id,
            partition: self.first + p,
            first_seq: batch.seq(),
            count: batch.records.len() as u32,
            producer_epoch,
            acks,
        };
        ctx.send(leader, Message::Kafka(w));
        if acks == Acks::None {
            // acks=0: done once sent; no offset is known.
            for r in batch.records {
                self.finish(ctx, r, Outcome::Ok, None);
            }
            return;
        }
        let timer = ctx.set_timer(
            self.config.request_timeout.nanos,
            Timer::KafkaProduceTimeout { partition: p, attempt: batch.attempt },
        );
        self.state.parts[p as usize].in_flight.push(Sent { id, to: leader, batch, timer });
    }

    fn finish(&mut self, ctx: &mut Ctx, r: Pending, outcome: Outcome, offset: Option<u64>) {
        self.state.buffered -= 1;
        match outcome {
            Outcome::Ok => self.state.acknowledged += 1,
            _ => self.state.failed += 1,
        }
        ctx.log_sent(r.op, r.invoked, outcome, offset);
    }

    /// Fails queued records and batches waiting for a retry once they are
    /// older than the delivery timeout.
    fn expire(&mut self, ctx: &mut Ctx, p: u32) {
        let limit = ctx.monotonic() - self.config.delivery_timeout.nanos as i64;
        while let Some(r) = self.state.parts[p as usize].queue.front().copied() {
            if r.created >= limit {
                break;
            }
            // Never sent: certainly not written.
            self.state.parts[p as usize].queue.pop_front();
            ctx.work_for_sends([r.op]);
            ctx.left_queue();
            self.finish(ctx, r, Outcome::Fail, None);
        }
        while let Some(k) = self.state.parts[p as usize].retries.iter().position(|r| r.batch.records[0].created < limit)
        {
            let r = self.state.parts[p as usize].retries.remove(k).expect("found");
            self.give_up_batch(ctx, r.batch);
        }
    }

    /// The batch is not sent again: its records fail, or are indeterminate
    /// if an attempt may have written them.
    fn give_up_batch(&mut self, ctx: &mut Ctx, batch: Batch) {
        ctx.work_for_sends(batch.records.iter().map(|r| r.op));
        let outcome = if batch.maybe_written { Outcome::Info } else { Outcome::Fail };
        for r in batch.records {
            self.finish(ctx, r, outcome, None);
        }
        if self.config.idempotent() {
            self.state.epoch = self.state.epoch.wrapping_add(1) % NO_PRODUCER_EPOCH;
        }
    }

    fn take_in_flight(&mut self, p: u32, id: u64) -> Option<Sent> {
        let part = self.state.parts.get_mut(p as usize)?;
        let k = part.in_flight.iter().position(|s| s.id == id)?;
        Some(part.in_flight.remove(k))
    }

    fn on_reply(&mut self, ctx: &mut Ctx, id: u64, p: u32, result: Result<u64, ProduceError>) {
        let Some(sent) = self.take_in_flight(p, id) else { return };
        ctx.cancel_timer(sent.timer);
        match result {
            Ok(first) => {
                for (k, r) in sent.batch.records.into_iter().enumerate() {
                    self.finish(ctx, r, Outcome::Ok, Some(first + k as u64));
                }
            }
            Err(e) => self.failed(ctx, p, sent.batch, e, e.indeterminate()),
        }
        self.drain_all(ctx, p);
    }

    /// A batch's attempt failed with `e`: retried if Kafka retries it and
    /// time allows; otherwise its records fail (or are indeterminate).
    fn failed(&mut self, ctx: &mut Ctx, p: u32, mut batch: Batch, e: ProduceError, maybe_written: bool) {
        // What follows (a note, a retry, asking for metadata) is for the
        // batch's records.
        ctx.work_for_sends(batch.records.iter().map(|r| r.op));
        batch.maybe_written |= maybe_written;
        let idempotent = self.config.idempotent();
        let part = &self.state.parts[p as usize];
        // A gap in the sequence because an earlier batch is still being
        // retried, or a batch of an old epoch, goes again (Kafka's
        // `TransactionManager.canRetry`); any other is final.
        let retriable = match e {
            ProduceError::OutOfOrderSequenceNumber => {
                idempotent && (part.earlier_unresolved(batch.seq()) || batch.epoch != self.state.epoch)
            }
            _ => true,
        };
        let in_time = ctx.monotonic() - batch.records[0].created < self.config.delivery_timeout.nanos as i64;
        if matches!(
            e,
            ProduceError::NotLeaderOrFollower | ProduceError::NetworkException | ProduceError::RequestTimedOut
        ) {
            self.state.leaders[p as usize] = None;
            self.refresh_metadata(ctx);
        }
        if !(retriable && batch.attempt < self.config.retries && in_time) {
            return self.give_up_batch(ctx, batch);
        }
        self.state.retries += 1;
        ctx.note(Note::KafkaRetrying {
            partition: self.first + p,
            records: batch.records.len() as u32,
            retry: batch.attempt + 1,
            error: e,
        });
        let backoff = self.config.retry_backoff.nanos;
        ctx.set_timer(backoff, Timer::KafkaRetry { partition: p });
        let retry = Retry { at: ctx.monotonic() + backoff as i64, batch };
        let retries = &mut self.state.parts[p as usize].retries;
        if idempotent {
            // In sequence order (`insertInSequenceOrder`).
            let k = retries.iter().position(|r| r.batch.seq() > retry.batch.seq()).unwrap_or(retries.len());
            retries.insert(k, retry);
        } else {
            // Back to the front of the queue (`reenqueue`).
            retries.push_front(retry);
        }
    }

    /// The connection to `broker` is gone: every request in flight on it
    /// fails, the newest first (as Kafka's `NetworkClient` clears them),
    /// so the oldest ends up first to be retried. Each may have been
    /// written. `timed_out` is the one whose timeout closed it.
    fn disconnected(&mut self, ctx: &mut Ctx, broker: NodeId, timed_out: Option<u64>) {
        let mut lost: Vec<(u32, Sent)> = Vec::new();
        for (p, part) in self.state.parts.iter_mut().enumerate() {
            let (gone, kept) = std::mem::take(&mut part.in_flight).into_iter().partition(|s| s.to == broker);
            part.in_flight = kept;
            lost.extend(gone.into_iter().map(|s: Sent| (p as u32, s)));
        }
        checker::sort::sort_by_key(&mut lost, |(_, s)| std::cmp::Reverse(s.id));
        for (p, sent) in lost {
            ctx.cancel_timer(sent.timer);
            let e =
                if timed_out == Some(sent.id) { ProduceError::RequestTimedOut } else { ProduceError::NetworkException };
            self.failed(ctx, p, sent.batch, e, true);
        }
        for p in 0..self.partitions {
            self.drain(ctx, p);
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx, p: u32, id: TimerId) {
        let Some(part) = self.state.parts.get(p as usize) else { return };
        let Some(sent) = part.in_flight.iter().find(|s| s.timer == id) else { return };
        let (to, request) = (sent.to, sent.id);
        ctx.note(Note::KafkaRequestTimeout { broker: to, in_flight: self.in_flight_to(to) as u32 });
        self.disconnected(ctx, to, Some(request));
    }
}

impl Process for KafkaProducer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        let n = self.partitions as usize;
        self.state = Volatile { parts: vec![Part::default(); n], leaders: vec![None; n], ..Volatile::default() };
        self.refresh_metadata(ctx);
        let start = self.config.start.nanos.saturating_sub(ctx.monotonic().max(0) as u64);
        ctx.set_timer(start, Timer::NextArrival);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Kafka(KafkaWire::ProduceReply { id, partition, result }) => {
                let Some(p) = self.local(partition) else { return };
                self.on_reply(ctx, id, p, result)
            }
            Message::Kafka(KafkaWire::ConnectionClosed) => {
                // The broker's process died: what was in flight to it fails
                // with a network error (and is retried).
                self.disconnected(ctx, from, None);
            }
            Message::Kafka(KafkaWire::PartitionLeader { partition, leader, leader_epoch }) => {
                if partition + 1 == self.cluster_partitions {
                    self.state.metadata.answered(ctx);
                }
                let Some(p) = self.local(partition) else { return };
                self.state.leaders[p as usize] = leader;
                // News (not a repeat of the last answer) is a step of the
                // send waiting there.
                let told = Some((leader, leader_epoch));
                let news = std::mem::replace(&mut self.state.parts[p as usize].told, told) != told;
                if news && ctx.following() {
                    ctx.news_for_pending(partition);
                }
                // (Without a leader this only expires what is too old.)
                self.drain(ctx, p);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer) {
        match timer {
            Timer::NextArrival => self.arrival(ctx),
            Timer::KafkaProduceTimeout { partition, .. } => self.on_timeout(ctx, partition, id),
            Timer::KafkaRetry { partition } => self.drain(ctx, partition),
            // (The refresher's state is reset first; then it asks again if
            // a leader is still unknown.)
            Timer::KafkaMetadataTimeout
                if self.state.metadata.fired(id) && self.state.leaders.iter().any(Option::is_none) =>
            {
                self.refresh_metadata(ctx);
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        // Records in the buffer and in flight stay open in the history:
        // indeterminate.
        self.state = Volatile::default();
    }
}
