//! A Kafka consumer reading every partition of the topic from the start
//! (`assign` with `auto.offset.reset=earliest`): one fetch in flight per
//! partition to its leader, which answers with records below the high
//! watermark (`read_uncommitted`) or holds the fetch up to
//! `fetch.max.wait.ms`. Each answer with records is a poll in the client
//! history. Fetches carry the epoch of the last record read, so after an
//! unclean election the leader reports the divergence and the consumer
//! goes back to it (KIP-320), reading the new records at those offsets.

use super::config::ConsumerConfig;
use super::{ConsumerView, MetadataRefresh};
use crate::context::Ctx;
use crate::kafka::wire::{KafkaError, KafkaWire, NO_EPOCH};
use crate::kafka::RecordBatch;
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Time;

#[derive(Clone, Debug)]
struct Part {
    leader: Option<NodeId>,
    leader_epoch: u32,
    position: u64,
    /// The epoch of the last record read.
    last_epoch: Option<u32>,
    /// The outstanding fetch: its offset, when it was sent (true time),
    /// the records received so far, and whether one went missing.
    in_flight: Option<(u64, Time, Vec<RecordBatch>, bool)>,
    timer: TimerId,
    lag: u64,
}

impl Default for Part {
    fn default() -> Part {
        Part {
            leader: None,
            leader_epoch: 0,
            position: 0,
            last_epoch: None,
            in_flight: None,
            timer: TimerId::NONE,
            lag: 0,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    parts: Vec<Part>,
    metadata: MetadataRefresh,
    polled: u64,
}

#[derive(Clone, Debug)]
pub struct KafkaConsumer {
    config: ConsumerConfig,
    bootstrap: Vec<NodeId>,
    partitions: u32,
    /// The position survives a restart as a committed offset would.
    committed: Vec<(u64, Option<u32>)>,
    state: Volatile,
}

/// Records one fetch answer carries at most (`max.poll.records`).
const MAX_POLL_RECORDS: usize = 500;

impl KafkaConsumer {
    /// `brokers`: the bootstrap brokers first, then the rest of the
    /// cluster's (a client learns them from its first metadata answer and
    /// asks any of them later).
    pub fn new(config: ConsumerConfig, brokers: Vec<NodeId>, partitions: u32) -> KafkaConsumer {
        let bootstrap = brokers;
        KafkaConsumer {
            config,
            bootstrap,
            partitions,
            committed: vec![(0, None); partitions as usize],
            state: Volatile::default(),
        }
    }

    pub fn view(&self) -> ConsumerView {
        ConsumerView {
            positions: self.state.parts.iter().map(|p| p.position).collect(),
            lag: self.state.parts.iter().map(|p| p.lag).collect(),
            polled: self.state.polled,
        }
    }

    fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        let timeout = self.config.request_timeout.nanos.min(1_000_000_000);
        self.state.metadata.request(ctx, &self.bootstrap, self.config.retry_backoff.nanos, timeout);
    }

    fn fetch(&mut self, ctx: &mut Ctx, p: u32) {
        let part = &mut self.state.parts[p as usize];
        if part.in_flight.is_some() {
            return;
        }
        let Some(leader) = part.leader else { return self.refresh_metadata(ctx) };
        let w = KafkaWire::Fetch {
            partition: p,
            leader_epoch: part.leader_epoch,
            fetch_offset: part.position,
            last_fetched_epoch: part.last_epoch.unwrap_or(NO_EPOCH),
            replica: false,
        };
        part.in_flight = Some((part.position, ctx.now(), Vec::new(), false));
        part.timer = ctx.set_timer(self.config.request_timeout.nanos, Timer::KafkaFetch { partition: p });
        ctx.send(leader, Message::Kafka(w));
    }

    fn answers_fetch(&self, p: u32, from: NodeId) -> bool {
        self.state.parts.get(p as usize).is_some_and(|x| x.leader == Some(from) && x.in_flight.is_some())
    }

    fn on_record(&mut self, p: u32, from: NodeId, batch: RecordBatch) {
        if !self.answers_fetch(p, from) {
            return;
        }
        let Some((offset, _, got, broken)) = &mut self.state.parts[p as usize].in_flight else { return };
        let expected = *offset + got.len() as u64;
        if batch.offset != expected || got.len() >= MAX_POLL_RECORDS * 20 {
            *broken = true;
        } else if !*broken {
            got.push(batch);
        }
    }

    fn on_fetch_end(&mut self, ctx: &mut Ctx, p: u32, from: NodeId, fetch_offset: u64, hw: u64) {
        if !self.answers_fetch(p, from) {
            return;
        }
        let part = &mut self.state.parts[p as usize];
        if part.in_flight.as_ref().map(|f| f.0) != Some(fetch_offset) {
            return;
        }
        let (_, invoked, got, _) = part.in_flight.take().expect("checked");
        ctx.cancel_timer(part.timer);
        if let Some(last) = got.last() {
            part.position = last.offset + 1;
            part.last_epoch = Some(last.epoch);
        }
        part.lag = hw.saturating_sub(part.position);
        self.committed[p as usize] = (part.position, part.last_epoch);
        if !got.is_empty() {
            self.state.polled += got.len() as u64;
            let records = got.iter().map(|b| (p, b.offset, b.record.value)).collect();
            ctx.log_poll(records, invoked);
        }
        self.fetch(ctx, p);
    }

    fn on_diverging(&mut self, ctx: &mut Ctx, p: u32, from: NodeId, epoch: u32, end_offset: u64) {
        if !self.answers_fetch(p, from) {
            return;
        }
        let part = &mut self.state.parts[p as usize];
        part.in_flight = None;
        ctx.cancel_timer(part.timer);
        // KIP-320: truncation detected; continue from where the logs agree.
        part.position = part.position.min(end_offset);
        part.last_epoch = Some(epoch);
        self.fetch(ctx, p);
    }

    fn on_error(&mut self, ctx: &mut Ctx, p: u32, from: NodeId, error: KafkaError) {
        if !self.answers_fetch(p, from) {
            return;
        }
        let part = &mut self.state.parts[p as usize];
        part.in_flight = None;
        ctx.cancel_timer(part.timer);
        if error == KafkaError::OffsetOutOfRange {
            // The log is shorter than the position (an unclean election
            // without epochs to compare): earliest.
            part.position = 0;
            part.last_epoch = None;
        }
        part.leader = None;
        self.refresh_metadata(ctx);
        part_retry(ctx, p, self.config.retry_backoff.nanos, &mut self.state.parts[p as usize]);
    }
}

fn part_retry(ctx: &mut Ctx, p: u32, backoff: u64, part: &mut Part) {
    part.timer = ctx.set_timer(backoff, Timer::KafkaFetch { partition: p });
}

impl Process for KafkaConsumer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile {
            parts: self
                .committed
                .iter()
                .map(|&(position, last_epoch)| Part { position, last_epoch, ..Part::default() })
                .collect(),
            ..Volatile::default()
        };
        let start = self.config.start.nanos.saturating_sub(ctx.monotonic().max(0) as u64);
        self.state.metadata.start(ctx, start);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        let Message::Kafka(w) = msg else { return };
        match w {
            KafkaWire::PartitionLeader { partition, leader, leader_epoch } => {
                let Some(part) = self.state.parts.get_mut(partition as usize) else { return };
                if part.leader != leader || part.leader_epoch != leader_epoch {
                    part.leader = leader;
                    part.leader_epoch = leader_epoch;
                    part.in_flight = None;
                    ctx.cancel_timer(part.timer);
                }
                if partition + 1 == self.partitions {
                    self.state.metadata.answered(ctx);
                }
                self.fetch(ctx, partition);
            }
            KafkaWire::Record { partition, batch } => self.on_record(partition, from, batch),
            KafkaWire::FetchEnd { partition, fetch_offset, high_watermark, .. } => {
                self.on_fetch_end(ctx, partition, from, fetch_offset, high_watermark)
            }
            KafkaWire::FetchDiverging { partition, epoch, end_offset, .. } => {
                self.on_diverging(ctx, partition, from, epoch, end_offset)
            }
            KafkaWire::FetchError { partition, error, .. } => self.on_error(ctx, partition, from, error),
            KafkaWire::ConnectionClosed => {
                for p in 0..self.partitions {
                    self.on_error(ctx, p, from, KafkaError::NetworkException);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer) {
        match timer {
            // (The refresher's state is reset first; then it asks again if
            // a leader is still unknown.)
            Timer::KafkaMetadataTimeout
                if self.state.metadata.fired(id) && self.state.parts.iter().any(|p| p.leader.is_none()) =>
            {
                self.refresh_metadata(ctx);
            }
            Timer::KafkaFetch { partition } => {
                let Some(part) = self.state.parts.get_mut(partition as usize) else { return };
                if part.timer != id {
                    return;
                }
                // No answer in time (or a backoff ended): ask who leads,
                // and fetch again.
                if part.in_flight.take().is_some() {
                    part.leader = None;
                    self.refresh_metadata(ctx);
                }
                self.fetch(ctx, partition);
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        self.state = Volatile::default();
    }
}
