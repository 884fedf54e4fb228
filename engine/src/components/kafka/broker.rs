//! A Kafka broker: it holds its replicas of the topic's partitions, leads
//! some (answering produces and fetches, tracking its followers, the ISR
//! and the high watermark) and follows others (fetching from their
//! leaders), heartbeats to the active controller and applies the metadata
//! log it sends.
//!
//! What a crash keeps: the partition logs and high watermarks (the page
//! cache survives a process crash), the metadata log. Kafka does not fsync
//! its writes unless `log.flush.interval.messages` says so: when the host
//! loses power, each log keeps only what Linux had written back
//! ([`crate::page_cache`]), and log recovery at the next start says
//! what went. After a restart the broker is a new incarnation: it leads
//! nothing until the controller has fenced the incarnation before (its
//! registration), even where the metadata still names it leader; then
//! only what the controller elects it to lead.

use super::config::BrokerConfig;
use super::config::INITIAL_REBALANCE_DELAY_NS;
use super::coordinator::{offset_key, Coordinator};
use super::{BrokerView, Cluster, GroupView, ReplicaView};
use crate::context::Ctx;
use crate::follow::Carrier;
use crate::kafka::isr_change::IsrChange;
use crate::kafka::metadata::{set_of, BrokerSet, MetadataImage, MetadataRecord};
use crate::kafka::wire::{KafkaError, KafkaWire, NO_EPOCH, NO_PRODUCER_EPOCH};
use crate::kafka::{
    diverging, truncation_offset, Acks, AppendResult, BrokerId, Divergence, FetchRequest, FetchResponse, LeaderAndIsr,
    LeaderState, PartitionLog, ProduceError, Record,
};
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Time;
use crate::trace::Note;
use std::collections::BTreeMap;

/// How often a group coordinator looks for expired members and finished
/// rebalances.
const GROUP_TICK_NS: u64 = 250_000_000;

/// Metadata entries a broker holds ahead of a gap at most.
const MAX_METADATA_AHEAD: usize = 4096;

/// How long a lost fetch is waited for beyond the leader's own wait: a
/// TCP retransmission timeout (1 s initially).
const RETRANSMIT_NS: u64 = 1_000_000_000;

/// What survives a crash.
#[derive(Clone, Debug)]
struct Disk {
    logs: Vec<PartitionLog>,
    high_watermarks: Vec<u64>,
    image: MetadataImage,
    metadata_index: u64,
    /// Bumped at every restart; the controller fences a broker that comes
    /// back as a new incarnation.
    incarnation: u32,
    /// Logs cut by a power loss, for log recovery to report at the next
    /// start: (partition, new log end offset, records lost).
    lost_power: Vec<(u32, u64, u64)>,
}

#[derive(Clone, Debug)]
enum Role {
    None,
    Leader(Box<LeaderState>),
    Follower(Follower),
}

#[derive(Clone, Copy, Debug)]
struct Follower {
    leader: BrokerId,
    leader_epoch: u32,
    /// The outstanding fetch's offset, and whether its answer went wrong
    /// (a record missing or out of order).
    in_flight: Option<(u64, bool)>,
    timer: TimerId,
}

/// A fetch the leader holds until there is something to answer or
/// `replica_fetch_wait_max` passes.
#[derive(Clone, Copy, Debug)]
struct Parked {
    from: NodeId,
    fetch_offset: u64,
    replica: bool,
    timer: TimerId,
}

/// Who waits for a write to reach the high watermark.
#[derive(Clone, Copy, Debug)]
enum Waiter {
    /// An `acks=all` produce: (producer, request id, first offset).
    Produce(NodeId, u64, u64),
    /// A group's offset commit.
    Commit { member: NodeId, group: u32, partition: u32, offset: u64 },
}

/// An idempotent producer's sequence, as this partition's log shows it.
#[derive(Clone, Copy, Debug, Default)]
struct ProducerSeq {
    epoch: u16,
    last_seq: u32,
}

#[derive(Clone, Debug)]
struct Part {
    role: Role,
    /// Writes waiting for the high watermark, by the key given to the
    /// leader state.
    waiting: BTreeMap<u64, Waiter>,
    parked: Vec<Parked>,
    producers: BTreeMap<u32, ProducerSeq>,
    /// The leader's ISR change has been sent to the controller (it is sent
    /// again at the next ISR check if still unanswered).
    alter_sent: bool,
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    parts: Vec<Part>,
    /// Groups' coordinator: this broker leads `__consumer_offsets`.
    coordinator: Option<Coordinator>,
    active: Option<NodeId>,
    /// Which controller to try next when the active one is unknown.
    next_controller: usize,
    /// Whether the last heartbeat was answered.
    heartbeat_answered: bool,
    metadata_ahead: BTreeMap<u64, u32>,
    next_request: u64,
    /// The controller knows this incarnation: it has fenced the one before
    /// (moving its leaderships away). Until then a restarted broker leads
    /// nothing, though the metadata may still name it: those leaderships
    /// were given to the incarnation that died, whose log this one may not
    /// have (a power loss). Always true for a broker's first start.
    registered: bool,
}

#[derive(Clone, Debug)]
pub struct KafkaBroker {
    config: BrokerConfig,
    cluster: Cluster,
    me: BrokerId,
    disk: Disk,
    state: Volatile,
}

impl KafkaBroker {
    pub fn new(config: BrokerConfig, cluster: Cluster, me: BrokerId) -> KafkaBroker {
        let n = cluster.all_partitions() as usize;
        let image = cluster.bootstrap();
        KafkaBroker {
            config,
            me,
            disk: Disk {
                logs: vec![PartitionLog::default(); n],
                high_watermarks: vec![0; n],
                image,
                metadata_index: 0,
                incarnation: 0,
                lost_power: Vec::new(),
            },
            cluster,
            state: Volatile::default(),
        }
    }

    fn now(ctx: &Ctx) -> Time {
        ctx.monotonic().max(0) as Time
    }

    fn node(&self, b: BrokerId) -> NodeId {
        self.cluster.brokers[b as usize]
    }

    /// The broker as of `monotonic`, its host's clock.
    pub fn view(&self, monotonic: Time) -> BrokerView {
        let partitions = (0..self.cluster.all_partitions())
            .filter(|&p| self.disk.image.partitions[p as usize].replicas.contains(&self.me))
            .map(|p| {
                let i = p as usize;
                let log = &self.disk.logs[i];
                let meta = &self.disk.image.partitions[i];
                let nodes = |v: &[BrokerId]| v.iter().map(|&b| self.node(b)).collect::<Vec<_>>();
                let (role, leader, isr, pending, hw) = match self.state.parts.get(i).map(|p| &p.role) {
                    Some(Role::Leader(ls)) => (
                        "leader",
                        Some(self.node(self.me)),
                        nodes(&ls.isr),
                        ls.pending_isr.as_deref().map(nodes),
                        ls.high_watermark,
                    ),
                    Some(Role::Follower(f)) => {
                        ("follower", Some(self.node(f.leader)), Vec::new(), None, self.disk.high_watermarks[i])
                    }
                    _ => ("none", None, Vec::new(), None, self.disk.high_watermarks[i]),
                };
                ReplicaView {
                    name: self.cluster.partition_name(p),
                    partition: p,
                    role,
                    leader,
                    leader_epoch: meta.leader_epoch,
                    log_end_offset: log.leo(),
                    high_watermark: hw,
                    on_disk: log.on_disk_at(monotonic),
                    isr,
                    pending_isr: pending,
                }
            })
            .collect();
        BrokerView {
            broker_id: self.me,
            fenced: self.disk.image.is_fenced(self.me),
            metadata_index: self.disk.metadata_index,
            active_controller: self.state.active,
            partitions,
            groups: self.state.coordinator.as_ref().map_or_else(Vec::new, |c| {
                c.groups()
                    .into_iter()
                    .zip(&self.cluster.groups)
                    .map(|((generation, rebalancing, members), spec)| GroupView {
                        name: spec.name.clone(),
                        generation,
                        rebalancing,
                        members,
                    })
                    .collect()
            }),
        }
    }

    fn send(ctx: &mut Ctx, to: NodeId, w: KafkaWire) {
        ctx.send(to, Message::Kafka(w));
    }

    fn controller(&mut self) -> NodeId {
        match self.state.active {
            Some(c) => c,
            None => {
                let n = self.cluster.controllers.len();
                self.cluster.controllers[self.state.next_controller % n]
            }
        }
    }

    // ---- metadata ----------------------------------------------------

    fn on_metadata(&mut self, ctx: &mut Ctx, from: NodeId, index: u64, record: u32) {
        if index <= self.disk.metadata_index {
            return;
        }
        if index > self.disk.metadata_index + 1 {
            // A gap: hold it and ask for what is missing.
            let first_gap = self.state.metadata_ahead.is_empty();
            if self.state.metadata_ahead.len() < MAX_METADATA_AHEAD {
                self.state.metadata_ahead.insert(index, record);
            }
            if first_gap {
                Self::send(ctx, from, KafkaWire::MetadataFetch { from: self.disk.metadata_index + 1 });
            }
            return;
        }
        self.apply_metadata(ctx, index, record);
        while let Some((&i, &r)) = self.state.metadata_ahead.first_key_value() {
            if i > self.disk.metadata_index + 1 {
                break;
            }
            self.state.metadata_ahead.remove(&i);
            if i == self.disk.metadata_index + 1 {
                self.apply_metadata(ctx, i, r);
            }
        }
    }

    fn apply_metadata(&mut self, ctx: &mut Ctx, index: u64, record: u32) {
        self.disk.metadata_index = index;
        let Some(id) = record.checked_sub(1) else { return };
        let rec = ctx.metadata(id);
        let before = match rec {
            MetadataRecord::PartitionChange { partition, .. } => {
                self.disk.image.partitions.get(partition as usize).map(|m| (m.leader, m.isr))
            }
            _ => None,
        };
        self.disk.image.apply(&rec);
        match rec {
            MetadataRecord::PartitionChange { partition, .. } => self.reconcile(ctx, partition, before),
            MetadataRecord::FenceBroker { broker, incarnation }
                if broker == self.me && incarnation == self.disk.incarnation && !self.state.registered =>
            {
                self.state.registered = true;
            }
            MetadataRecord::FenceBroker { .. } | MetadataRecord::UnfenceBroker { .. } => {
                // Who may join an ISR changed: the partitions led here may
                // stop waiting for a fenced follower.
                let (fenced, now) = (self.disk.image.fenced_set(), Self::now(ctx));
                for p in 0..self.state.parts.len() {
                    if let Role::Leader(ls) = &mut self.state.parts[p].role {
                        ls.set_ineligible(fenced, &self.disk.logs[p], now);
                        self.leader_progress(ctx, p as u32);
                    }
                }
            }
        }
    }

    /// Takes the role the metadata gives this broker for `p`; `before` is
    /// the leader and ISR the change replaced, if a change brought this.
    fn reconcile(&mut self, ctx: &mut Ctx, p: u32, before: Option<(Option<BrokerId>, BrokerSet)>) {
        let i = p as usize;
        let meta = self.disk.image.partitions[i].clone();
        if !meta.replicas.contains(&self.me) {
            return;
        }
        let now = Self::now(ctx);
        if meta.leader == Some(self.me) {
            let part = &mut self.state.parts[i];
            if let Role::Leader(ls) = &mut part.role {
                if ls.leader_epoch == meta.leader_epoch {
                    // An ISR change in the same epoch (ours, or the
                    // controller's after fencing a follower).
                    if ls.isr != meta.isr() {
                        // The leader's own request, if this is what it asked
                        // for (as a set: an expansion appends the follower).
                        let change = match ls.isr_change().map(set_of) {
                            Some(asked) if asked == meta.isr && asked & !set_of(&ls.isr) == 0 => {
                                IsrChange::Shrunk { lag_max: self.cluster.config_of(p).replica_lag_time_max }
                            }
                            Some(asked) if asked == meta.isr => IsrChange::Expanded,
                            _ => IsrChange::Controller,
                        };
                        // The note is a step of the writes waiting for
                        // the ISR (it may let them be answered).
                        let waiting = || {
                            part.waiting.values().filter_map(|w| match *w {
                                Waiter::Produce(producer, id, _) => Some((producer, id)),
                                Waiter::Commit { .. } => None,
                            })
                        };
                        let note = Note::KafkaIsr { partition: p, isr: meta.isr, was: set_of(&ls.isr), change };
                        ctx.for_requests(waiting, |ctx| ctx.note(note));
                    }
                    ls.isr_answered(&self.disk.logs[i], Some(meta.isr()), now);
                    part.alter_sent = false;
                    self.leader_progress(ctx, p);
                    return;
                }
            }
            if !self.state.registered {
                return;
            }
            self.step_down(ctx, p);
            let log = &mut self.disk.logs[i];
            // `makeLeader`: the new epoch starts at the log's end.
            log.epochs.assign(meta.leader_epoch, log.leo());
            let state = LeaderAndIsr { leader: self.me, leader_epoch: meta.leader_epoch, isr: meta.isr() };
            let ls = LeaderState::new(
                meta.replicas.clone(),
                state,
                log,
                self.disk.high_watermarks[i],
                self.cluster.config_of(p),
                now,
            );
            let mut ls = Box::new(ls);
            ls.set_ineligible(self.disk.image.fenced_set(), &self.disk.logs[i], now);
            self.state.parts[i].role = Role::Leader(ls);
            if p == self.cluster.offsets_partition() {
                let groups =
                    self.cluster.groups.iter().map(|g| self.cluster.topics[g.topic].config.partitions).collect();
                self.state.coordinator = Some(Coordinator::load(&self.disk.logs[i], groups));
            }
            // A step of the sends pending in the partition: where they go
            // now.
            let note = Note::KafkaLeader { partition: p, leader_epoch: meta.leader_epoch, isr: meta.isr, before };
            ctx.for_pending([p], |ctx| ctx.note(note));
            self.leader_progress(ctx, p);
            return;
        }
        match (&self.state.parts[i].role, meta.leader) {
            (Role::Follower(f), Some(l)) if f.leader == l && f.leader_epoch == meta.leader_epoch => {}
            (_, Some(l)) => {
                self.step_down(ctx, p);
                self.state.parts[i].role = Role::Follower(Follower {
                    leader: l,
                    leader_epoch: meta.leader_epoch,
                    in_flight: None,
                    timer: TimerId::NONE,
                });
                self.fetch(ctx, p);
            }
            (_, None) => self.step_down(ctx, p),
        }
    }

    /// Leaves whatever role this broker had for `p`: a leader fails its
    /// waiting writes and parked fetches; a follower stops fetching.
    fn step_down(&mut self, ctx: &mut Ctx, p: u32) {
        let part = &mut self.state.parts[p as usize];
        match std::mem::replace(&mut part.role, Role::None) {
            Role::Leader(mut ls) => {
                self.disk.high_watermarks[p as usize] = ls.high_watermark;
                for key in ls.drain_waiting() {
                    match part.waiting.remove(&key) {
                        Some(Waiter::Produce(producer, id, _)) => {
                            let result = Err(ProduceError::NotLeaderOrFollower);
                            Self::send(ctx, producer, KafkaWire::ProduceReply { id, partition: p, result });
                        }
                        Some(Waiter::Commit { member, group, partition, offset }) => {
                            let error = Some(KafkaError::NotCoordinator);
                            Self::send(ctx, member, KafkaWire::OffsetCommitReply { group, partition, offset, error });
                        }
                        None => {}
                    }
                }
                if p == self.cluster.offsets_partition() {
                    self.state.coordinator = None;
                }
                for parked in std::mem::take(&mut part.parked) {
                    ctx.cancel_timer(parked.timer);
                    let error = KafkaError::NotLeaderOrFollower;
                    Self::send(
                        ctx,
                        parked.from,
                        KafkaWire::FetchError { partition: p, leader_epoch: ls.leader_epoch, error },
                    );
                }
                part.alter_sent = false;
            }
            Role::Follower(f) => ctx.cancel_timer(f.timer),
            Role::None => {}
        }
    }

    // ---- leading -----------------------------------------------------

    /// After anything that may move a leader's high watermark or ISR:
    /// answers finished `acks=all` writes and parked fetches, and sends an
    /// ISR change to the controller.
    fn leader_progress(&mut self, ctx: &mut Ctx, p: u32) {
        // What follows belongs to an operation only as its answer or as
        // the records it carries (see crate::follow).
        ctx.work_for_none();
        let i = p as usize;
        let part = &mut self.state.parts[i];
        let Role::Leader(ls) = &mut part.role else { return };
        for (key, result) in ls.take_completed() {
            match part.waiting.remove(&key) {
                Some(Waiter::Produce(producer, id, first)) => {
                    let result = result.map(|_| first);
                    Self::send(ctx, producer, KafkaWire::ProduceReply { id, partition: p, result });
                }
                Some(Waiter::Commit { member, group, partition, offset }) => {
                    let error = match result {
                        Ok(_) => {
                            if let Some(c) = self.state.coordinator.as_mut() {
                                c.apply_commit(offset_key(group, partition), offset);
                            }
                            None
                        }
                        Err(_) => Some(KafkaError::NotEnoughReplicas),
                    };
                    Self::send(ctx, member, KafkaWire::OffsetCommitReply { group, partition, offset, error });
                }
                None => {}
            }
        }
        let (hw, leo, epoch) = (ls.high_watermark, self.disk.logs[i].leo(), ls.leader_epoch);
        self.disk.high_watermarks[i] = hw;
        let ready: Vec<Parked> = part
            .parked
            .iter()
            .copied()
            .filter(|f| if f.replica { leo > f.fetch_offset } else { hw > f.fetch_offset })
            .collect();
        part.parked.retain(|f| if f.replica { leo <= f.fetch_offset } else { hw <= f.fetch_offset });
        for f in ready {
            ctx.cancel_timer(f.timer);
            self.answer_fetch(ctx, p, f.from, f.fetch_offset, f.replica, epoch);
        }
        ctx.work_for_none();
        self.send_isr_change(ctx, p);
    }

    fn send_isr_change(&mut self, ctx: &mut Ctx, p: u32) {
        let i = p as usize;
        let Role::Leader(ls) = &self.state.parts[i].role else { return };
        if self.state.parts[i].alter_sent {
            return;
        }
        let Some(isr) = ls.isr_change() else { return };
        let w = KafkaWire::AlterPartition {
            partition: p,
            leader_epoch: ls.leader_epoch,
            partition_epoch: self.disk.image.partitions[i].partition_epoch,
            isr: set_of(isr),
        };
        self.state.parts[i].alter_sent = true;
        let to = self.controller();
        Self::send(ctx, to, w);
    }

    /// Sends records from `from_offset` (up to the log's end for a
    /// follower, the high watermark for a consumer) and the closing
    /// `FetchEnd`.
    fn answer_fetch(&self, ctx: &mut Ctx, p: u32, to: NodeId, from_offset: u64, replica: bool, leader_epoch: u32) {
        let i = p as usize;
        let Role::Leader(ls) = &self.state.parts[i].role else { return };
        let hw = ls.high_watermark;
        let until = if replica { u64::MAX } else { hw };
        let batches = self.disk.logs[i].read(from_offset, until, self.config.fetch_max_records as usize);
        let following = ctx.following();
        let carrier = |b: &crate::kafka::RecordBatch| Carrier::KafkaRecord { partition: p, value: b.record.value };
        for b in batches {
            if following {
                ctx.work_for_carried([carrier(b)]);
            }
            Self::send(ctx, to, KafkaWire::Record { partition: p, batch: *b });
        }
        // The response's end is for the followed record it carried, if any.
        ctx.work_for_carried(batches.iter().map(carrier));
        let count = batches.len() as u32;
        Self::send(
            ctx,
            to,
            KafkaWire::FetchEnd { partition: p, leader_epoch, fetch_offset: from_offset, count, high_watermark: hw },
        );
    }

    fn on_fetch(&mut self, ctx: &mut Ctx, from: NodeId, w: KafkaWire) {
        let KafkaWire::Fetch { partition: p, leader_epoch, fetch_offset, last_fetched_epoch, replica } = w else {
            return;
        };
        // A fetch is for whatever it will carry (a fetch parked here now
        // is answered later, with records of other operations).
        ctx.work_for_none();
        let i = p as usize;
        let error =
            |ctx: &mut Ctx, error| Self::send(ctx, from, KafkaWire::FetchError { partition: p, leader_epoch, error });
        if i >= self.state.parts.len() {
            return error(ctx, KafkaError::UnknownTopicOrPartition);
        }
        let now = Self::now(ctx);
        let last = (last_fetched_epoch != NO_EPOCH).then_some(last_fetched_epoch);
        let follower = self.cluster.broker_id(from).filter(|_| replica);
        let part = &mut self.state.parts[i];
        let Role::Leader(ls) = &mut part.role else { return error(ctx, KafkaError::NotLeaderOrFollower) };
        if leader_epoch != NO_EPOCH && leader_epoch != ls.leader_epoch {
            let e = if leader_epoch < ls.leader_epoch {
                KafkaError::FencedLeaderEpoch
            } else {
                KafkaError::UnknownLeaderEpoch
            };
            return error(ctx, e);
        }
        let epoch = ls.leader_epoch;
        let log = &self.disk.logs[i];
        let diverged = match follower {
            Some(b) => {
                let req = FetchRequest { replica: b, fetch_offset, last_fetched_epoch: last, max_records: 0 };
                match ls.fetch(log, req, now) {
                    FetchResponse::Diverging { epoch: e, end_offset, .. } => Some((e, end_offset)),
                    FetchResponse::Records { .. } => None,
                }
            }
            None => diverging(log, fetch_offset, last),
        };
        let hw = ls.high_watermark;
        if let Some((e, end_offset)) = diverged {
            Self::send(
                ctx,
                from,
                KafkaWire::FetchDiverging {
                    partition: p,
                    leader_epoch: epoch,
                    epoch: e,
                    end_offset,
                    high_watermark: hw,
                },
            );
            self.leader_progress(ctx, p);
            return;
        }
        if fetch_offset > log.leo() {
            return error(ctx, KafkaError::OffsetOutOfRange);
        }
        let available = if replica { log.leo() } else { hw };
        if fetch_offset >= available {
            // Nothing yet: hold the fetch (fetch purgatory); one parked
            // fetch per fetcher.
            if let Some(old) = part.parked.iter().position(|f| f.from == from) {
                ctx.cancel_timer(part.parked[old].timer);
                part.parked.swap_remove(old);
            }
            let timer =
                ctx.set_timer(self.config.replica_fetch_wait_max.nanos, Timer::KafkaFetchWait { partition: p, from });
            self.state.parts[i].parked.push(Parked { from, fetch_offset, replica, timer });
        } else {
            self.answer_fetch(ctx, p, from, fetch_offset, replica, epoch);
        }
        // A follower's fetch may move the high watermark or grow the ISR.
        self.leader_progress(ctx, p);
    }

    fn on_fetch_wait(&mut self, ctx: &mut Ctx, p: u32, from: NodeId) {
        let Some(part) = self.state.parts.get_mut(p as usize) else { return };
        let Some(k) = part.parked.iter().position(|f| f.from == from) else { return };
        let f = part.parked.swap_remove(k);
        let Role::Leader(ls) = &part.role else { return };
        let epoch = ls.leader_epoch;
        self.answer_fetch(ctx, p, from, f.fetch_offset, f.replica, epoch);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_produce(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        id: u64,
        p: u32,
        first_seq: u32,
        count: u32,
        producer_epoch: u16,
        acks: Acks,
    ) {
        let i = p as usize;
        if count == 0 {
            return;
        }
        let reply = |ctx: &mut Ctx, result: Result<u64, ProduceError>| {
            if acks != Acks::None {
                Self::send(ctx, from, KafkaWire::ProduceReply { id, partition: p, result });
            }
        };
        let Some(part) = self.state.parts.get_mut(i) else { return reply(ctx, Err(ProduceError::NotLeaderOrFollower)) };
        let Role::Leader(ls) = &mut part.role else { return reply(ctx, Err(ProduceError::NotLeaderOrFollower)) };
        let log = &mut self.disk.logs[i];
        if p >= self.cluster.partitions() {
            // Only group coordinators write to `__consumer_offsets`.
            return reply(ctx, Err(ProduceError::NotLeaderOrFollower));
        }
        if acks == Acks::All && (ls.isr.len() as u32) < self.cluster.config_of(p).min_insync_replicas {
            return reply(ctx, Err(ProduceError::NotEnoughReplicas));
        }
        if log.leo() + u64::from(count) > self.config.max_log_records {
            return reply(ctx, Err(ProduceError::KafkaStorageError));
        }
        if producer_epoch != NO_PRODUCER_EPOCH {
            if let Some(seq) = part.producers.get(&from) {
                let last = first_seq + count - 1;
                if last <= seq.last_seq {
                    // A retry of a batch already written: answer with its
                    // offset, do not write it again.
                    let first = Record::produced(p, from, first_seq).value;
                    let offset = log.batches().iter().rev().take(1_000_000).find(|b| b.record.value == first);
                    if let Some(first) = offset.map(|b| b.offset) {
                        if acks != Acks::All {
                            return reply(ctx, Ok(first));
                        }
                        let key = self.state.next_request;
                        self.state.next_request += 1;
                        return match ls.wait_for(first + u64::from(count) - 1, key) {
                            AppendResult::Done(_) => reply(ctx, Ok(first)),
                            AppendResult::Waiting(_) => {
                                part.waiting.insert(key, Waiter::Produce(from, id, first));
                            }
                        };
                    }
                    // Behind the producer's last sequence yet not in the
                    // log: a batch overtaken by a later one (several in
                    // flight). Writing it now would reorder the partition.
                    return reply(ctx, Err(ProduceError::OutOfOrderSequenceNumber));
                }
                if first_seq > seq.last_seq + 1 && producer_epoch <= seq.epoch {
                    return reply(ctx, Err(ProduceError::OutOfOrderSequenceNumber));
                }
            }
        }
        let now = Self::now(ctx);
        let key = self.state.next_request;
        self.state.next_request += 1;
        let first = log.leo();
        let mut result = Ok(AppendResult::Done(first));
        for k in 0..count {
            let record = Record::produced(p, from, first_seq + k);
            let a = if k + 1 < count { Acks::Leader } else { acks };
            result = ls.append(log, record, a, key, now);
        }
        log.maybe_flush(self.config.log_flush_interval_messages);
        if producer_epoch != NO_PRODUCER_EPOCH {
            let seq = part.producers.entry(from).or_default();
            seq.epoch = seq.epoch.max(producer_epoch);
            seq.last_seq = first_seq + count - 1;
        } else {
            note_producer(&mut part.producers, from, first_seq + count - 1);
        }
        match result {
            Ok(AppendResult::Done(_)) => reply(ctx, Ok(first)),
            Ok(AppendResult::Waiting(_)) => {
                part.waiting.insert(key, Waiter::Produce(from, id, first));
            }
            Err(e) => reply(ctx, Err(e)),
        }
        self.leader_progress(ctx, p);
    }

    fn on_isr_check(&mut self, ctx: &mut Ctx) {
        let now = Self::now(ctx);
        for p in 0..self.cluster.all_partitions() {
            let i = p as usize;
            let part = &mut self.state.parts[i];
            if let Role::Leader(ls) = &mut part.role {
                ls.maybe_shrink_isr(&self.disk.logs[i], now);
                // A change still unanswered is sent again.
                part.alter_sent = false;
                self.send_isr_change(ctx, p);
            }
        }
        ctx.set_timer(self.cluster.isr_check_every(), Timer::KafkaIsrCheck);
    }

    // ---- following ---------------------------------------------------

    fn fetch(&mut self, ctx: &mut Ctx, p: u32) {
        let i = p as usize;
        let Role::Follower(f) = &mut self.state.parts[i].role else { return };
        let log = &self.disk.logs[i];
        let fetch_offset = log.leo();
        f.in_flight = Some((fetch_offset, false));
        let w = KafkaWire::Fetch {
            partition: p,
            leader_epoch: f.leader_epoch,
            fetch_offset,
            last_fetched_epoch: log.epochs.latest_epoch().unwrap_or(NO_EPOCH),
            replica: true,
        };
        let wait = self.config.replica_fetch_wait_max.nanos + RETRANSMIT_NS;
        f.timer = ctx.set_timer(wait, Timer::KafkaFetch { partition: p });
        let to = self.cluster.brokers[f.leader as usize];
        Self::send(ctx, to, w);
    }

    /// The follower of `p` whose leader is `from`, if any.
    fn following(&mut self, p: u32, from: NodeId) -> Option<&mut Follower> {
        let leader = self.cluster.broker_id(from)?;
        match &mut self.state.parts.get_mut(p as usize)?.role {
            Role::Follower(f) if f.leader == leader => Some(f),
            _ => None,
        }
    }

    fn on_record(&mut self, p: u32, from: NodeId, batch: crate::kafka::RecordBatch, now: Time) {
        let i = p as usize;
        let leo = self.disk.logs.get(i).map_or(0, |l| l.leo());
        let Some(f) = self.following(p, from) else { return };
        let Some((_, broken)) = &mut f.in_flight else { return };
        if *broken || batch.offset != leo {
            *broken = true;
            return;
        }
        self.disk.logs[i].append_as_follower(&[batch], now);
        self.disk.logs[i].maybe_flush(self.config.log_flush_interval_messages);
        note_producer(&mut self.state.parts[i].producers, batch.record.producer(), batch.record.seq());
    }

    fn on_fetch_end(&mut self, ctx: &mut Ctx, p: u32, from: NodeId, fetch_offset: u64, high_watermark: u64) {
        let i = p as usize;
        let Some(f) = self.following(p, from) else { return };
        if f.in_flight.map(|x| x.0) != Some(fetch_offset) {
            return;
        }
        ctx.cancel_timer(f.timer);
        f.in_flight = None;
        // The follower's high watermark: the leader's, as of this answer
        // (one round behind the leader's own).
        self.disk.high_watermarks[i] = high_watermark.min(self.disk.logs[i].leo());
        self.fetch(ctx, p);
    }

    fn on_diverging(&mut self, ctx: &mut Ctx, p: u32, from: NodeId, epoch: u32, end_offset: u64) {
        let i = p as usize;
        let Some(f) = self.following(p, from) else { return };
        if f.in_flight.is_none() {
            return;
        }
        ctx.cancel_timer(f.timer);
        f.in_flight = None;
        let log = &mut self.disk.logs[i];
        let (to, _) = truncation_offset(log, Divergence { epoch, end_offset });
        if to < log.leo() {
            ctx.note(Note::KafkaTruncated { partition: p, offset: to, dropped: log.leo() - to });
            log.truncate_to(to);
            let hw = &mut self.disk.high_watermarks[i];
            *hw = (*hw).min(to);
            self.state.parts[i].producers = producers_of(&self.disk.logs[i]);
        }
        self.fetch(ctx, p);
    }

    fn on_fetch_error(&mut self, ctx: &mut Ctx, p: u32, from: NodeId) {
        let backoff = self.config.replica_fetch_backoff.nanos;
        let Some(f) = self.following(p, from) else { return };
        if f.in_flight.is_none() {
            return;
        }
        ctx.cancel_timer(f.timer);
        f.in_flight = None;
        f.timer = ctx.set_timer(backoff, Timer::KafkaFetch { partition: p });
    }

    fn on_fetch_timer(&mut self, ctx: &mut Ctx, p: u32, id: TimerId) {
        let Some(Role::Follower(f)) = self.state.parts.get_mut(p as usize).map(|x| &mut x.role) else { return };
        if f.timer != id {
            return;
        }
        f.in_flight = None;
        self.fetch(ctx, p);
    }

    // ---- the controller ----------------------------------------------

    fn heartbeat(&mut self, ctx: &mut Ctx) {
        if !self.state.heartbeat_answered {
            // No answer: the controller may be gone; try the next one.
            self.state.active = None;
            self.state.next_controller += 1;
        }
        self.state.heartbeat_answered = false;
        let to = self.controller();
        let w =
            KafkaWire::BrokerHeartbeat { incarnation: self.disk.incarnation, metadata_index: self.disk.metadata_index };
        Self::send(ctx, to, w);
        ctx.set_timer(self.cluster.heartbeat_interval.nanos, Timer::KafkaHeartbeat);
    }

    fn on_heartbeat_reply(&mut self, ctx: &mut Ctx, from: NodeId, ok: bool, active: Option<NodeId>, committed: u64) {
        if !ok {
            self.state.active = active.filter(|a| self.cluster.controllers.contains(a));
            if self.state.active.is_none() {
                self.state.next_controller += 1;
            }
            return;
        }
        self.state.heartbeat_answered = true;
        self.state.active = Some(from);
        if committed > self.disk.metadata_index {
            Self::send(ctx, from, KafkaWire::MetadataFetch { from: self.disk.metadata_index + 1 });
        }
    }

    // ---- consumer groups ---------------------------------------------

    fn on_group(&mut self, ctx: &mut Ctx, from: NodeId, w: KafkaWire) {
        let now = ctx.monotonic();
        let Some(c) = self.state.coordinator.as_mut() else {
            let error = Some(KafkaError::NotCoordinator);
            let reply = match w {
                KafkaWire::JoinGroup { group, .. } | KafkaWire::Heartbeat { group, .. } => {
                    KafkaWire::HeartbeatReply { group, error }
                }
                KafkaWire::OffsetCommit { group, partition, offset, .. } => {
                    KafkaWire::OffsetCommitReply { group, partition, offset, error }
                }
                KafkaWire::OffsetFetch { group, partition } => {
                    KafkaWire::OffsetFetchReply { group, partition, offset: None, error }
                }
                _ => return,
            };
            return Self::send(ctx, from, reply);
        };
        match w {
            KafkaWire::JoinGroup { group, session_timeout_ms } => {
                let session = i64::from(session_timeout_ms) * 1_000_000;
                c.join(now, group, from, session, INITIAL_REBALANCE_DELAY_NS as i64);
                self.group_tick(ctx);
            }
            KafkaWire::Heartbeat { group, generation } => {
                let error = c.heartbeat(now, group, from, generation);
                Self::send(ctx, from, KafkaWire::HeartbeatReply { group, error });
            }
            KafkaWire::OffsetFetch { group, partition } => {
                let offset = c.committed(group, partition);
                Self::send(ctx, from, KafkaWire::OffsetFetchReply { group, partition, offset, error: None });
            }
            KafkaWire::OffsetCommit { group, generation, partition, offset } => {
                if let Err(e) = c.may_commit(group, from, generation) {
                    let reply = KafkaWire::OffsetCommitReply { group, partition, offset, error: Some(e) };
                    return Self::send(ctx, from, reply);
                }
                self.write_commit(ctx, from, group, partition, offset);
            }
            _ => {}
        }
    }

    /// Appends a commit to `__consumer_offsets` (acks=all); it is answered
    /// once the high watermark passes it.
    fn write_commit(&mut self, ctx: &mut Ctx, member: NodeId, group: u32, partition: u32, offset: u64) {
        let p = self.cluster.offsets_partition();
        let now = Self::now(ctx);
        let key = self.state.next_request;
        self.state.next_request += 1;
        let part = &mut self.state.parts[p as usize];
        let Role::Leader(ls) = &mut part.role else { return };
        let log = &mut self.disk.logs[p as usize];
        let record = Record { key: offset_key(group, partition), value: offset };
        let error = if log.leo() >= self.config.max_log_records {
            Some(KafkaError::KafkaStorageError)
        } else {
            let appended = ls.append(log, record, Acks::All, key, now);
            log.maybe_flush(self.config.log_flush_interval_messages);
            match appended {
                Ok(AppendResult::Done(_)) => {
                    if let Some(c) = self.state.coordinator.as_mut() {
                        c.apply_commit(offset_key(group, partition), offset);
                    }
                    None
                }
                Ok(AppendResult::Waiting(_)) => {
                    part.waiting.insert(key, Waiter::Commit { member, group, partition, offset });
                    self.leader_progress(ctx, p);
                    return;
                }
                Err(_) => Some(KafkaError::NotEnoughReplicas),
            }
        };
        Self::send(ctx, member, KafkaWire::OffsetCommitReply { group, partition, offset, error });
        self.leader_progress(ctx, p);
    }

    fn group_tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.monotonic();
        let Some(c) = self.state.coordinator.as_mut() else { return };
        for (member, group, generation, partitions) in c.tick(now) {
            Self::send(ctx, member, KafkaWire::Assignment { group, generation, partitions });
        }
    }

    /// `from`'s process died: fetches to it fail now, fetches it had
    /// parked here are dropped, and if it was the active controller the
    /// next heartbeat goes elsewhere.
    fn on_connection_closed(&mut self, ctx: &mut Ctx, from: NodeId) {
        for p in 0..self.cluster.all_partitions() {
            if self.following(p, from).is_some_and(|f| f.in_flight.is_some()) {
                self.on_fetch_error(ctx, p, from);
            }
            let part = &mut self.state.parts[p as usize];
            for f in part.parked.iter().filter(|f| f.from == from) {
                ctx.cancel_timer(f.timer);
            }
            part.parked.retain(|f| f.from != from);
        }
        if self.state.active == Some(from) {
            self.state.active = None;
            self.state.next_controller += 1;
        }
    }

    fn on_alter_reply(&mut self, ctx: &mut Ctx, p: u32, error: Option<KafkaError>) {
        let i = p as usize;
        let now = Self::now(ctx);
        let Some(part) = self.state.parts.get_mut(i) else { return };
        let Role::Leader(ls) = &mut part.role else { return };
        if error.is_some() && ls.isr_change().is_some() {
            ls.isr_answered(&self.disk.logs[i], None, now);
            part.alter_sent = false;
            self.leader_progress(ctx, p);
        }
    }
}

/// Notes that `producer`'s records reach `seq` (a non-idempotent producer's
/// too: a later idempotent one under the same id continues after it).
fn note_producer(producers: &mut BTreeMap<u32, ProducerSeq>, producer: u32, seq: u32) {
    let e = producers.entry(producer).or_default();
    e.last_seq = e.last_seq.max(seq);
}

/// The producers' sequences as a log shows them (after a restart or a
/// truncation; the epochs are not in the log and start again at 0).
fn producers_of(log: &PartitionLog) -> BTreeMap<u32, ProducerSeq> {
    let mut out = BTreeMap::new();
    for b in log.batches() {
        note_producer(&mut out, b.record.producer(), b.record.seq());
    }
    out
}

impl Process for KafkaBroker {
    fn on_start(&mut self, ctx: &mut Ctx) {
        let n = self.cluster.all_partitions() as usize;
        let registered = self.disk.incarnation == 0;
        self.state = Volatile { heartbeat_answered: true, registered, ..Volatile::default() };
        self.state.parts = (0..n)
            .map(|i| Part {
                role: Role::None,
                waiting: BTreeMap::new(),
                parked: Vec::new(),
                producers: producers_of(&self.disk.logs[i]),
                alter_sent: false,
            })
            .collect();
        for (partition, offset, lost) in std::mem::take(&mut self.disk.lost_power) {
            ctx.note(Note::KafkaLogRecovered { partition, offset, lost });
        }
        for p in 0..n as u32 {
            self.reconcile(ctx, p, None);
        }
        self.heartbeat(ctx);
        if !self.cluster.groups.is_empty() {
            ctx.set_timer(GROUP_TICK_NS, Timer::KafkaGroupTick);
        }
        ctx.set_timer(self.cluster.isr_check_every(), Timer::KafkaIsrCheck);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        let Message::Kafka(w) = msg else { return };
        match w {
            KafkaWire::Fetch { .. } => self.on_fetch(ctx, from, w),
            KafkaWire::Record { partition, batch } => self.on_record(partition, from, batch, Self::now(ctx)),
            KafkaWire::FetchEnd { partition, fetch_offset, high_watermark, .. } => {
                self.on_fetch_end(ctx, partition, from, fetch_offset, high_watermark)
            }
            KafkaWire::FetchDiverging { partition, epoch, end_offset, .. } => {
                self.on_diverging(ctx, partition, from, epoch, end_offset)
            }
            KafkaWire::FetchError { partition, .. } => self.on_fetch_error(ctx, partition, from),
            KafkaWire::Produce { id, partition, first_seq, count, producer_epoch, acks } => {
                self.on_produce(ctx, from, id, partition, first_seq, count, producer_epoch, acks)
            }
            KafkaWire::MetadataRequest => {
                for (p, meta) in self.disk.image.partitions.iter().enumerate() {
                    let leader = meta.leader.map(|b| self.cluster.brokers[b as usize]);
                    let w = KafkaWire::PartitionLeader { partition: p as u32, leader, leader_epoch: meta.leader_epoch };
                    Self::send(ctx, from, w);
                }
            }
            KafkaWire::BrokerHeartbeatReply { ok, active, committed } => {
                self.on_heartbeat_reply(ctx, from, ok, active, committed)
            }
            KafkaWire::Metadata { index, record } => self.on_metadata(ctx, from, index, record),
            KafkaWire::AlterPartitionReply { partition, error } => self.on_alter_reply(ctx, partition, error),
            KafkaWire::ConnectionClosed => self.on_connection_closed(ctx, from),
            KafkaWire::JoinGroup { .. }
            | KafkaWire::Heartbeat { .. }
            | KafkaWire::OffsetCommit { .. }
            | KafkaWire::OffsetFetch { .. } => self.on_group(ctx, from, w),
            KafkaWire::ListOffsets { partition } => {
                let hw = match self.state.parts.get(partition as usize).map(|x| &x.role) {
                    Some(Role::Leader(ls)) => Ok(ls.high_watermark),
                    _ => Err(KafkaError::NotLeaderOrFollower),
                };
                Self::send(ctx, from, KafkaWire::ListOffsetsReply { partition, offset: hw });
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer) {
        match timer {
            Timer::KafkaHeartbeat => self.heartbeat(ctx),
            Timer::KafkaIsrCheck => self.on_isr_check(ctx),
            Timer::KafkaFetch { partition, .. } => self.on_fetch_timer(ctx, partition, id),
            Timer::KafkaFetchWait { partition, from } => self.on_fetch_wait(ctx, partition, from),
            Timer::KafkaGroupTick => {
                self.group_tick(ctx);
                ctx.set_timer(GROUP_TICK_NS, Timer::KafkaGroupTick);
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        // Leaders' high watermarks as last checkpointed; the rest is lost.
        for (i, part) in self.state.parts.iter().enumerate() {
            if let Role::Leader(ls) = &part.role {
                self.disk.high_watermarks[i] = ls.high_watermark;
            }
        }
        self.disk.incarnation += 1;
        self.state = Volatile::default();
    }

    fn on_power_loss(&mut self, monotonic: Time) {
        for (i, log) in self.disk.logs.iter_mut().enumerate() {
            let lost = log.power_lost(monotonic);
            let hw = &mut self.disk.high_watermarks[i];
            *hw = (*hw).min(log.leo());
            if lost > 0 {
                self.disk.lost_power.retain(|x| x.0 != i as u32);
                self.disk.lost_power.push((i as u32, log.leo(), lost));
            }
        }
    }
}
