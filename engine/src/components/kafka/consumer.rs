//! A Kafka consumer: alone it reads every partition of the topic from the
//! start; in a group (`group.id`) it reads the partitions the group's
//! coordinator assigns it, from the group's committed offsets, heartbeats
//! to stay in the group, rejoins when the group rebalances, and commits
//! its position every `auto.commit.interval.ms` (and before giving its
//! partitions up). One fetch is in flight per partition to its leader,
//! which answers with records below the high watermark
//! (`read_uncommitted`) or holds the fetch up to `fetch.max.wait.ms`. Each
//! answer with records is a poll in the client history. Fetches carry the epoch of the last record read, so after an
//! unclean election the leader reports the divergence and the consumer
//! goes back to it (KIP-320), reading the new records at those offsets.

use super::config::{ConsumerConfig, OffsetReset};
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
    /// This consumer reads the partition now (alone: always; in a group:
    /// assigned to it, with its position known).
    owned: bool,
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
            owned: false,
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

/// A group member's state.
#[derive(Clone, Debug, Default)]
struct Membership {
    coordinator: Option<NodeId>,
    generation: u32,
    /// A JoinGroup is out.
    joining: bool,
    /// Commits sent before rejoining and not answered yet: the member
    /// rejoins once they are (a synchronous commit, as `onJoinPrepare`).
    commits_before_join: u32,
    /// When the coordinator last answered (monotonic clock).
    last_answer: i64,
    /// Per partition: the offset last committed by this member.
    committed: Vec<Option<u64>>,
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    parts: Vec<Part>,
    metadata: MetadataRefresh,
    polled: u64,
    member: Membership,
    /// During the final polls: per partition, the offset where its log
    /// was read to its end.
    final_ends: Option<Vec<Option<u64>>>,
}

#[derive(Clone, Debug)]
pub struct KafkaConsumer {
    config: ConsumerConfig,
    /// The group's id in the run (its index among the groups named), and
    /// its name.
    group: Option<u32>,
    group_name: Option<String>,
    topic_name: String,
    /// The topic's partitions are the cluster's `first .. first +
    /// partitions`; internally the consumer counts them from 0.
    first: u32,
    /// The cluster's partitions in all (a metadata answer ends with the
    /// last); with groups the last is `__consumer_offsets`'.
    cluster_partitions: u32,
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
    /// Reads the cluster's partitions `topic` (of `cluster_partitions`).
    pub fn new(
        config: ConsumerConfig,
        brokers: Vec<NodeId>,
        topic: &super::ClusterTopic,
        cluster_partitions: u32,
        group: Option<u32>,
    ) -> KafkaConsumer {
        let bootstrap = brokers;
        let (topic_name, topic) = (topic.name.clone(), topic.range());
        let partitions = topic.end - topic.start;
        KafkaConsumer {
            group_name: config.group.clone(),
            topic_name,
            config,
            group,
            first: topic.start,
            cluster_partitions,
            bootstrap,
            partitions,
            committed: vec![(0, None); partitions as usize],
            state: Volatile::default(),
        }
    }

    pub fn view(&self) -> ConsumerView {
        // One entry per partition, also while crashed (no state then).
        let parts = || (0..self.partitions as usize).map(|p| self.state.parts.get(p));
        ConsumerView {
            partitions: (0..self.partitions).map(|p| format!("{}-{p}", self.topic_name)).collect(),
            positions: parts().map(|p| p.map_or(0, |p| p.position)).collect(),
            lag: parts().map(|p| p.filter(|p| p.owned).map_or(0, |p| p.lag)).collect(),
            owned: parts().map(|p| p.is_some_and(|p| p.owned)).collect(),
            polled: self.state.polled,
            group: self.group_name.clone(),
            generation: self.state.member.generation,
            coordinator: self.state.member.coordinator,
        }
    }

    fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        let timeout = self.config.request_timeout.nanos.min(1_000_000_000);
        self.state.metadata.request(ctx, &self.bootstrap, self.config.retry_backoff.nanos, timeout);
    }

    fn fetch(&mut self, ctx: &mut Ctx, p: u32) {
        let part = &mut self.state.parts[p as usize];
        if part.in_flight.is_some() || !part.owned {
            return;
        }
        let Some(leader) = part.leader else { return self.refresh_metadata(ctx) };
        let w = KafkaWire::Fetch {
            partition: self.first + p,
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
        if let Some(ends) = &mut self.state.final_ends {
            if part.lag == 0 {
                ends[p as usize] = Some(part.position);
            }
        }
        self.committed[p as usize] = (part.position, part.last_epoch);
        if !got.is_empty() {
            self.state.polled += got.len() as u64;
            let records = got.iter().map(|b| (self.first + p, b.offset, b.record.value)).collect();
            ctx.log_poll(records, invoked, self.group);
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

/// Jepsen's final polls (`Simulation::final_reads`).
impl KafkaConsumer {
    /// Leaves the group behind and reads every partition of the topic from
    /// offset 0 until a fetch finds it at the high watermark.
    pub fn begin_final_polls(&mut self, ctx: &mut Ctx) {
        self.group = None;
        self.state.final_ends = Some(vec![None; self.partitions as usize]);
        for part in &mut self.state.parts {
            ctx.cancel_timer(part.timer);
            part.in_flight = None;
            part.owned = true;
            part.position = 0;
            part.last_epoch = None;
        }
        for p in 0..self.partitions {
            self.fetch(ctx, p);
        }
    }

    pub fn final_polls_done(&self) -> bool {
        self.state.final_ends.as_ref().is_some_and(|e| e.iter().all(Option::is_some))
    }

    /// (partition in the cluster, where its log ends) of each partition
    /// read to its end.
    pub fn final_ends(&self) -> Vec<(u32, u64)> {
        let ends = self.state.final_ends.iter().flatten().enumerate();
        ends.filter_map(|(p, e)| e.map(|o| (self.first + p as u32, o))).collect()
    }

    /// The cluster's partitions this consumer reads.
    pub fn partitions(&self) -> std::ops::Range<u32> {
        self.first..self.first + self.partitions
    }
}

impl KafkaConsumer {
    fn session_ms(&self) -> u32 {
        (self.config.session_timeout.nanos / 1_000_000).min(u64::from(u32::MAX)) as u32
    }

    /// Joins the group (again): JoinGroup to the coordinator, once it is
    /// known.
    fn join(&mut self, ctx: &mut Ctx) {
        let Some(group) = self.group else { return };
        let Some(c) = self.state.member.coordinator else { return self.refresh_metadata(ctx) };
        self.state.member.joining = true;
        let w = KafkaWire::JoinGroup { group, session_timeout_ms: self.session_ms() };
        ctx.send(c, Message::Kafka(w));
    }

    /// Commits the position of every partition read since its last
    /// commit; returns how many commits it sent.
    fn commit(&mut self, ctx: &mut Ctx) -> u32 {
        let (Some(group), Some(c)) = (self.group, self.state.member.coordinator) else { return 0 };
        let generation = self.state.member.generation;
        let mut sent = 0;
        for p in 0..self.partitions {
            let part = &self.state.parts[p as usize];
            if part.owned && self.state.member.committed[p as usize] != Some(part.position) {
                let w = KafkaWire::OffsetCommit { group, generation, partition: self.first + p, offset: part.position };
                ctx.send(c, Message::Kafka(w));
                sent += 1;
            }
        }
        sent
    }

    /// Gives every partition up (a rebalance, or the group forgot this
    /// member).
    fn revoke(&mut self, ctx: &mut Ctx) {
        for part in &mut self.state.parts {
            part.owned = false;
            part.in_flight = None;
            ctx.cancel_timer(part.timer);
        }
    }

    fn on_assignment(&mut self, ctx: &mut Ctx, generation: u32, partitions: u64) {
        let (Some(group), Some(c)) = (self.group, self.state.member.coordinator) else { return };
        self.revoke(ctx);
        self.state.member.generation = generation;
        self.state.member.joining = false;
        for p in 0..self.partitions {
            if partitions & (1 << p) != 0 {
                ctx.send(c, Message::Kafka(KafkaWire::OffsetFetch { group, partition: self.first + p }));
            }
        }
    }

    /// The committed offset of `p` (or none): the position to read from.
    fn on_committed(&mut self, ctx: &mut Ctx, p: u32, offset: Option<u64>) {
        let Some(part) = self.state.parts.get_mut(p as usize) else { return };
        self.state.member.committed[p as usize] = offset;
        match offset {
            Some(o) => {
                part.position = o;
                part.last_epoch = None;
                part.owned = true;
                self.fetch(ctx, p);
            }
            None if self.config.auto_offset_reset == OffsetReset::Earliest => {
                part.position = 0;
                part.last_epoch = None;
                part.owned = true;
                self.fetch(ctx, p);
            }
            None => match part.leader {
                Some(l) => ctx.send(l, Message::Kafka(KafkaWire::ListOffsets { partition: self.first + p })),
                None => self.refresh_metadata(ctx),
            },
        }
    }

    fn on_group_error(&mut self, ctx: &mut Ctx, error: KafkaError) {
        match error {
            KafkaError::RebalanceInProgress => {
                if !self.state.member.joining && self.state.member.commits_before_join == 0 {
                    // Commit what was read, wait for the answers, then
                    // give the partitions up and rejoin.
                    let sent = if self.config.enable_auto_commit { self.commit(ctx) } else { 0 };
                    self.revoke(ctx);
                    self.state.member.commits_before_join = sent;
                    if sent == 0 {
                        self.join(ctx);
                    }
                }
            }
            KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => {
                // Our commits would be refused now.
                self.state.member.generation = 0;
                self.revoke(ctx);
                self.join(ctx);
            }
            _ => {
                // NOT_COORDINATOR and the like: find the coordinator again.
                self.state.member.coordinator = None;
                self.state.member.joining = false;
                self.refresh_metadata(ctx);
            }
        }
    }

    fn group_heartbeat(&mut self, ctx: &mut Ctx) {
        let Some(group) = self.group else { return };
        ctx.set_timer(self.config.heartbeat_interval.nanos, Timer::KafkaGroupHeartbeat);
        let now = ctx.monotonic();
        if now - self.state.member.last_answer > self.config.session_timeout.nanos as i64 {
            // The coordinator has not answered for a session: look for it
            // again and rejoin.
            self.state.member.last_answer = now;
            self.state.member.coordinator = None;
            self.state.member.joining = false;
            self.state.member.commits_before_join = 0;
            self.revoke(ctx);
            return self.refresh_metadata(ctx);
        }
        if self.state.member.commits_before_join > 0 {
            // The commits went unanswered for a heartbeat: rejoin anyway.
            self.state.member.commits_before_join = 0;
            return self.join(ctx);
        }
        match self.state.member.coordinator {
            Some(c) if !self.state.member.joining => {
                let generation = self.state.member.generation;
                ctx.send(c, Message::Kafka(KafkaWire::Heartbeat { group, generation }));
            }
            Some(_) => {}
            None => self.refresh_metadata(ctx),
        }
    }
}

impl KafkaConsumer {
    /// `w` with its partition counted from this topic's first, or `None`
    /// if it concerns a partition of another topic.
    fn localize(&self, w: KafkaWire) -> Option<KafkaWire> {
        let local = |p: u32| p.checked_sub(self.first).filter(|&l| l < self.partitions);
        Some(match w {
            KafkaWire::PartitionLeader { partition, leader, leader_epoch } => {
                KafkaWire::PartitionLeader { partition: local(partition)?, leader, leader_epoch }
            }
            KafkaWire::Record { partition, batch } => KafkaWire::Record { partition: local(partition)?, batch },
            KafkaWire::FetchEnd { partition, leader_epoch, fetch_offset, count, high_watermark } => {
                KafkaWire::FetchEnd { partition: local(partition)?, leader_epoch, fetch_offset, count, high_watermark }
            }
            KafkaWire::FetchDiverging { partition, leader_epoch, epoch, end_offset, high_watermark } => {
                KafkaWire::FetchDiverging {
                    partition: local(partition)?,
                    leader_epoch,
                    epoch,
                    end_offset,
                    high_watermark,
                }
            }
            KafkaWire::FetchError { partition, leader_epoch, error } => {
                KafkaWire::FetchError { partition: local(partition)?, leader_epoch, error }
            }
            KafkaWire::OffsetFetchReply { group, partition, offset, error } => {
                KafkaWire::OffsetFetchReply { group, partition: local(partition)?, offset, error }
            }
            KafkaWire::OffsetCommitReply { group, partition, offset, error } => {
                KafkaWire::OffsetCommitReply { group, partition: local(partition)?, offset, error }
            }
            KafkaWire::ListOffsetsReply { partition, offset } => {
                KafkaWire::ListOffsetsReply { partition: local(partition)?, offset }
            }
            other => other,
        })
    }
}

fn part_retry(ctx: &mut Ctx, p: u32, backoff: u64, part: &mut Part) {
    part.timer = ctx.set_timer(backoff, Timer::KafkaFetch { partition: p });
}

impl Process for KafkaConsumer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        let alone = self.group.is_none();
        self.state = Volatile {
            parts: self
                .committed
                .iter()
                .map(|&(position, last_epoch)| Part { owned: alone, position, last_epoch, ..Part::default() })
                .collect(),
            ..Volatile::default()
        };
        self.state.member.committed = vec![None; self.partitions as usize];
        self.state.member.last_answer = ctx.monotonic();
        let start = self.config.start.nanos.saturating_sub(ctx.monotonic().max(0) as u64);
        self.state.metadata.start(ctx, start);
        if self.group.is_some() {
            ctx.set_timer(start + self.config.heartbeat_interval.nanos, Timer::KafkaGroupHeartbeat);
            if self.config.enable_auto_commit {
                ctx.set_timer(start + self.config.auto_commit_interval.nanos, Timer::KafkaAutoCommit);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        let Message::Kafka(w) = msg else { return };
        if let KafkaWire::PartitionLeader { partition, leader, .. } = w {
            if partition + 1 == self.cluster_partitions {
                self.state.metadata.answered(ctx);
            }
            if self.group.is_some() && partition + 1 == self.cluster_partitions {
                // `__consumer_offsets`' leader coordinates the groups.
                let member = &mut self.state.member;
                if member.coordinator != leader || !member.joining && member.generation == 0 {
                    member.coordinator = leader;
                    member.last_answer = ctx.monotonic();
                    self.revoke(ctx);
                    self.join(ctx);
                }
                return;
            }
        }
        // Partitions of other topics are not this consumer's.
        let Some(w) = self.localize(w) else { return };
        match w {
            KafkaWire::PartitionLeader { partition, leader, leader_epoch } => {
                let Some(part) = self.state.parts.get_mut(partition as usize) else { return };
                if part.leader != leader || part.leader_epoch != leader_epoch {
                    part.leader = leader;
                    part.leader_epoch = leader_epoch;
                    part.in_flight = None;
                    ctx.cancel_timer(part.timer);
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
                if self.state.member.coordinator == Some(from) {
                    self.on_group_error(ctx, KafkaError::NotCoordinator);
                }
            }
            KafkaWire::Assignment { generation, partitions, .. } if self.state.member.coordinator == Some(from) => {
                self.state.member.last_answer = ctx.monotonic();
                self.on_assignment(ctx, generation, partitions);
            }
            KafkaWire::HeartbeatReply { error, .. } if self.state.member.coordinator == Some(from) => {
                self.state.member.last_answer = ctx.monotonic();
                if let Some(e) = error {
                    self.on_group_error(ctx, e);
                }
            }
            KafkaWire::OffsetFetchReply { partition, offset, error, .. } => match error {
                None => self.on_committed(ctx, partition, offset),
                Some(e) => self.on_group_error(ctx, e),
            },
            KafkaWire::OffsetCommitReply { partition, offset, error, .. } => {
                if let (Some(c), None) = (self.state.member.committed.get_mut(partition as usize), error) {
                    *c = Some(offset);
                }
                let waiting = &mut self.state.member.commits_before_join;
                if *waiting > 0 {
                    *waiting -= 1;
                    if *waiting == 0 {
                        self.join(ctx);
                    }
                }
            }
            KafkaWire::ListOffsetsReply { partition, offset } => {
                let Some(part) = self.state.parts.get_mut(partition as usize) else { return };
                match offset {
                    Ok(o) if !part.owned => {
                        part.position = o;
                        part.owned = true;
                        self.fetch(ctx, partition);
                    }
                    Ok(_) => {}
                    Err(_) => self.refresh_metadata(ctx),
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
            Timer::KafkaGroupHeartbeat => self.group_heartbeat(ctx),
            Timer::KafkaAutoCommit => {
                if !self.state.member.joining {
                    self.commit(ctx);
                }
                ctx.set_timer(self.config.auto_commit_interval.nanos, Timer::KafkaAutoCommit);
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
