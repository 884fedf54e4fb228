//! A Kafka producer (`KafkaProducer` with its sender thread): records
//! arrive at a rate, wait in a per-partition queue, and go to the
//! partition's leader in batches, one request in flight per partition
//! (`max.in.flight.requests.per.connection=1`, so order is kept). Errors
//! that Kafka retries are retried after `retry.backoff.ms` until
//! `delivery.timeout.ms`; the client learns leaders from a broker's
//! metadata and asks again after `NOT_LEADER_OR_FOLLOWER` or a timeout.
//!
//! Every record is one send in the client history: acknowledged with its
//! offset, failed (certainly not written), or indeterminate (it may have
//! been written: a timeout, `NOT_ENOUGH_REPLICAS_AFTER_APPEND`).

use super::broker::NO_PRODUCER_EPOCH;
use super::config::ProducerConfig;
use super::{MetadataRefresh, ProducerView};
use crate::context::Ctx;
use crate::history::Outcome;
use crate::kafka::wire::KafkaWire;
use crate::kafka::{Acks, ProduceError, Record};
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::{Time, NANOS_PER_SEC};
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
struct InFlight {
    id: u64,
    /// The broker it was sent to.
    to: NodeId,
    records: Vec<Pending>,
    attempt: u32,
    timer: TimerId,
}

#[derive(Clone, Debug, Default)]
struct Part {
    next_seq: u32,
    queue: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    /// A batch that failed and waits for its retry backoff.
    retrying: Option<InFlight>,
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
            buffered: self.state.buffered,
            in_flight: self.state.parts.iter().filter(|p| p.in_flight.is_some()).count() as u32,
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
            part.retrying = None;
            if let Some(f) = part.in_flight.take() {
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
    }

    /// Sends the next batch of `p` if nothing is in flight.
    fn drain(&mut self, ctx: &mut Ctx, p: u32) {
        self.expire(ctx, p);
        let Some(leader) = self.state.leaders.get(p as usize).copied().flatten() else {
            self.refresh_metadata(ctx);
            return;
        };
        let part = &mut self.state.parts[p as usize];
        if part.in_flight.is_some() || part.retrying.is_some() || part.queue.is_empty() {
            return;
        }
        let n = part.queue.len().min(self.config.batch_records as usize);
        let records: Vec<Pending> = part.queue.drain(..n).collect();
        self.send_batch(ctx, p, leader, records, 0);
    }

    fn send_batch(&mut self, ctx: &mut Ctx, p: u32, leader: NodeId, records: Vec<Pending>, attempt: u32) {
        self.state.next_id += 1;
        let id = self.state.next_id;
        let acks = self.config.acks;
        let producer_epoch = if self.config.idempotent() { self.state.epoch } else { NO_PRODUCER_EPOCH };
        let w = KafkaWire::Produce {
            id,
            partition: self.first + p,
            first_seq: records[0].seq,
            count: records.len() as u32,
            producer_epoch,
            acks,
        };
        ctx.send(leader, Message::Kafka(w));
        if acks == Acks::None {
            // acks=0: done once sent; no offset is known.
            for r in records {
                self.finish(ctx, r, Outcome::Ok, None);
            }
            return;
        }
        let timer =
            ctx.set_timer(self.config.request_timeout.nanos, Timer::KafkaProduceTimeout { partition: p, attempt });
        self.state.parts[p as usize].in_flight = Some(InFlight { id, to: leader, records, attempt, timer });
    }

    fn finish(&mut self, ctx: &mut Ctx, r: Pending, outcome: Outcome, offset: Option<u64>) {
        self.state.buffered -= 1;
        match outcome {
            Outcome::Ok => self.state.acknowledged += 1,
            _ => self.state.failed += 1,
        }
        ctx.log_sent(r.op, r.invoked, outcome, offset);
    }

    /// Fails queued records older than the delivery timeout (never sent:
    /// certainly not written).
    fn expire(&mut self, ctx: &mut Ctx, p: u32) {
        let limit = ctx.monotonic() - self.config.delivery_timeout.nanos as i64;
        while let Some(r) = self.state.parts[p as usize].queue.front().copied() {
            if r.created >= limit {
                break;
            }
            self.state.parts[p as usize].queue.pop_front();
            self.finish(ctx, r, Outcome::Fail, None);
        }
    }

    fn on_reply(&mut self, ctx: &mut Ctx, id: u64, p: u32, result: Result<u64, ProduceError>) {
        let Some(part) = self.state.parts.get_mut(p as usize) else { return };
        if part.in_flight.as_ref().map(|f| f.id) != Some(id) {
            return;
        }
        let batch = part.in_flight.take().expect("checked");
        ctx.cancel_timer(batch.timer);
        match result {
            Ok(first) => {
                for (k, r) in batch.records.into_iter().enumerate() {
                    self.finish(ctx, r, Outcome::Ok, Some(first + k as u64));
                }
            }
            Err(e) => self.failed(ctx, p, batch, e),
        }
        self.drain(ctx, p);
    }

    /// A batch's attempt failed with `e`: retried if Kafka retries it and
    /// time allows; otherwise its records fail (or are indeterminate).
    fn failed(&mut self, ctx: &mut Ctx, p: u32, batch: InFlight, e: ProduceError) {
        let retriable = !matches!(e, ProduceError::OutOfOrderSequenceNumber);
        let oldest = batch.records[0].created;
        let in_time = ctx.monotonic() - oldest < self.config.delivery_timeout.nanos as i64;
        if matches!(
            e,
            ProduceError::NotLeaderOrFollower | ProduceError::NetworkException | ProduceError::RequestTimedOut
        ) {
            self.state.leaders[p as usize] = None;
            self.refresh_metadata(ctx);
        }
        if retriable && batch.attempt < self.config.retries && in_time {
            self.state.retries += 1;
            ctx.set_timer(self.config.retry_backoff.nanos, Timer::KafkaRetry { partition: p });
            self.state.parts[p as usize].retrying = Some(batch);
            return;
        }
        // Given up. Any attempt may have been written unless every answer
        // said it was not; the history cannot know which, so a batch that
        // ever timed out or was appended is indeterminate.
        let outcome = if e.indeterminate() || batch.attempt > 0 { Outcome::Info } else { Outcome::Fail };
        for r in batch.records {
            self.finish(ctx, r, outcome, None);
        }
        if self.config.idempotent() {
            self.state.epoch = self.state.epoch.wrapping_add(1) % NO_PRODUCER_EPOCH;
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx, p: u32, attempt: u32, id: TimerId) {
        let Some(part) = self.state.parts.get_mut(p as usize) else { return };
        match &part.in_flight {
            Some(f) if f.attempt == attempt && f.timer == id => {}
            _ => return,
        }
        let batch = part.in_flight.take().expect("checked");
        self.failed(ctx, p, batch, ProduceError::RequestTimedOut);
        self.drain(ctx, p);
    }

    fn on_retry(&mut self, ctx: &mut Ctx, p: u32) {
        let Some(batch) = self.state.parts.get_mut(p as usize).and_then(|x| x.retrying.take()) else { return };
        match self.state.leaders[p as usize] {
            Some(leader) => self.send_batch(ctx, p, leader, batch.records, batch.attempt + 1),
            None => {
                // No leader known yet: wait another backoff.
                self.refresh_metadata(ctx);
                let in_time = ctx.monotonic() - batch.records[0].created < self.config.delivery_timeout.nanos as i64;
                if in_time {
                    ctx.set_timer(self.config.retry_backoff.nanos, Timer::KafkaRetry { partition: p });
                    self.state.parts[p as usize].retrying = Some(batch);
                } else {
                    let outcome = if batch.attempt > 0 { Outcome::Info } else { Outcome::Fail };
                    for r in batch.records {
                        self.finish(ctx, r, outcome, None);
                    }
                }
            }
        }
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
                for p in 0..self.partitions {
                    let part = &mut self.state.parts[p as usize];
                    if part.in_flight.as_ref().is_some_and(|f| f.to == from) {
                        let batch = part.in_flight.take().expect("checked");
                        ctx.cancel_timer(batch.timer);
                        self.failed(ctx, p, batch, ProduceError::NetworkException);
                    }
                }
            }
            Message::Kafka(KafkaWire::PartitionLeader { partition, leader, .. }) => {
                if partition + 1 == self.cluster_partitions {
                    self.state.metadata.answered(ctx);
                }
                let Some(p) = self.local(partition) else { return };
                self.state.leaders[p as usize] = leader;
                if leader.is_some() {
                    self.drain(ctx, p);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer) {
        match timer {
            Timer::NextArrival => self.arrival(ctx),
            Timer::KafkaProduceTimeout { partition, attempt } => self.on_timeout(ctx, partition, attempt, id),
            Timer::KafkaRetry { partition } => self.on_retry(ctx, partition),
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
