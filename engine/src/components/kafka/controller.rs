//! A KRaft controller: one member of the quorum that keeps the cluster's
//! metadata log. The quorum runs this lab's Raft (etcd-raft semantics;
//! KRaft's own Raft pulls entries by fetching, with the same safety). Its
//! leader is the *active controller*: it watches brokers' heartbeats with a
//! [`Detector`] (`broker.session.timeout.ms`), fences silent or restarted
//! brokers, elects partition leaders, accepts leaders' ISR changes, and
//! sends each committed record to every broker.

use super::config::ControllerConfig;
use super::{BrokerLiveness, Cluster, ControllerView, PartitionView};
use crate::components::raft_member::RaftMember;
use crate::context::Ctx;
use crate::failure_detector::{Detector, Liveness};
use crate::kafka::controller::{alter_partition, fence, unfence};
use crate::kafka::metadata::{BrokerSet, MetadataImage, MetadataRecord};
use crate::kafka::wire::{KafkaError, KafkaWire};
use crate::kafka::BrokerId;
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::raft::{Message as RaftMsg, PeerId, Raft, Role};
use crate::trace::Note;

/// Metadata entries one catch-up answer carries at most.
const CATCH_UP_ENTRIES: usize = 256;
/// ISR changes waiting for the active controller at most; more are refused.
const MAX_ALTERS: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Alter {
    from: NodeId,
    broker: BrokerId,
    partition: u32,
    leader_epoch: u32,
    partition_epoch: u32,
    isr: BrokerSet,
}

/// What a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    image: MetadataImage,
    /// The metadata log index of each broker's latest fencing.
    fenced_at: Vec<u64>,
    /// Active controller only: a detector per broker, the incarnation and
    /// metadata index each last reported.
    active: bool,
    detectors: Vec<Detector>,
    reported: Vec<Option<(u32, u64)>>,
    alters: Vec<Alter>,
    /// The index of this controller's last proposal: it decides again once
    /// that is applied.
    pending_until: u64,
}

#[derive(Clone, Debug)]
pub struct KafkaController {
    config: ControllerConfig,
    cluster: Cluster,
    member: RaftMember,
    state: Volatile,
}

impl KafkaController {
    pub fn new(config: ControllerConfig, cluster: Cluster, me: PeerId) -> KafkaController {
        let state = Self::fresh(&cluster);
        let member = RaftMember::new(me, cluster.controllers.clone());
        KafkaController { config, cluster, member, state }
    }

    fn fresh(cluster: &Cluster) -> Volatile {
        let n = cluster.brokers.len();
        Volatile {
            image: cluster.bootstrap(),
            fenced_at: vec![0; n],
            active: false,
            detectors: Vec::new(),
            reported: vec![None; n],
            alters: Vec::new(),
            pending_until: 0,
        }
    }

    pub fn view(&self, now: i64) -> ControllerView {
        let node = |b: BrokerId| self.cluster.brokers[b as usize];
        let partitions = self
            .state
            .image
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| PartitionView {
                name: self.cluster.partition_name(i as u32),
                partition: i as u32,
                replicas: p.replicas.iter().map(|&b| node(b)).collect(),
                leader: p.leader.map(node),
                leader_epoch: p.leader_epoch,
                isr: p.isr().into_iter().map(node).collect(),
            })
            .collect();
        let brokers = if self.state.active {
            self.state
                .detectors
                .iter()
                .enumerate()
                .map(|(b, d)| BrokerLiveness {
                    broker: node(b as BrokerId),
                    liveness: d.state(),
                    silence_ms: d.silence(now) / 1_000_000,
                    fenced: self.state.image.is_fenced(b as BrokerId),
                })
                .collect()
        } else {
            Vec::new()
        };
        let (role, term, committed) = match &self.member.raft {
            Some(r) => (r.role.name(), r.term, r.log.committed),
            None => ("down", self.member.disk.term, self.member.disk.commit),
        };
        let cause = self.member.role_cause();
        ControllerView { role, term, cause, active: self.state.active, committed, brokers, partitions }
    }

    fn send(ctx: &mut Ctx, to: NodeId, w: KafkaWire) {
        ctx.send(to, Message::Kafka(w));
    }

    /// The active controller: the quorum's leader once it has committed an
    /// entry of its own term (so it has applied everything before it).
    fn is_active(raft: &Raft<u32>) -> bool {
        raft.role == Role::Leader && raft.log.term(raft.log.committed) == Some(raft.term)
    }

    /// Sends what Raft queued, applies what it committed (and, when
    /// active, sends it to every broker), and reports role changes.
    fn after_step(&mut self, ctx: &mut Ctx) {
        self.member.send_queued(ctx);
        let Some(raft) = self.member.raft.as_mut() else { return };
        let active = Self::is_active(raft);
        let first = raft.log.applied + 1;
        let committed: Vec<Option<u32>> = raft.log.take_committed().iter().map(|e| e.data).collect();
        for (k, data) in committed.iter().enumerate() {
            let index = first + k as u64;
            if let Some(id) = *data {
                let rec = ctx.metadata(id);
                match rec {
                    MetadataRecord::FenceBroker { broker, incarnation } => {
                        self.state.fenced_at[broker as usize] = index;
                        if active {
                            // Fencing a broker already fenced: it restarted
                            // and registered again.
                            let note = if self.state.image.is_fenced(broker) {
                                Note::KafkaRegistered { broker }
                            } else {
                                let restarted = self.state.image.incarnations[broker as usize] != incarnation;
                                Note::KafkaFence { broker, fenced: true, restarted }
                            };
                            // A step of the sends pending in a partition it
                            // leads or follows in sync: it changes their
                            // leader or ISR.
                            let parts = self.state.image.partitions.iter().enumerate();
                            let in_sync = parts.filter(|(_, m)| m.isr & (1 << broker) != 0).map(|(p, _)| p as u32);
                            ctx.for_pending(in_sync, |ctx| ctx.note(note));
                        }
                    }
                    MetadataRecord::UnfenceBroker { broker } if active => {
                        ctx.note(Note::KafkaFence { broker, fenced: false, restarted: false });
                    }
                    _ => {}
                }
                self.state.image.apply(&rec);
            }
            if active {
                let record = data.map_or(0, |id| id + 1);
                for &b in &self.cluster.brokers {
                    Self::send(ctx, b, KafkaWire::Metadata { index, record });
                }
            }
        }
        self.member.note_role(ctx);
        if !active && self.state.active {
            self.state.active = false;
            self.state.detectors.clear();
            self.state.alters.clear();
        }
    }

    /// The active controller's periodic work: fence brokers whose session
    /// expired or that restarted, unfence those back and caught up, and
    /// accept or refuse ISR changes.
    fn decide(&mut self, ctx: &mut Ctx) {
        let Some(raft) = self.member.raft.as_ref() else { return };
        if !Self::is_active(raft) || raft.log.applied < self.state.pending_until {
            return;
        }
        let now = ctx.monotonic();
        let n = self.cluster.brokers.len();
        if !self.state.active {
            // A new active controller gives every broker a fresh session.
            self.state.active = true;
            let (hb, session) = (self.cluster.heartbeat_interval.nanos, self.cluster.session_timeout.nanos);
            // Suspected after two missed heartbeats; fenced after the
            // session timeout.
            self.state.detectors = vec![Detector::new((2 * hb).min(session), session, now); n];
        }
        let cluster = &self.cluster;
        let unclean = |p: u32| cluster.config_of(p).unclean_leader_election_enable;
        let mut img = self.state.image.clone();
        let mut records: Vec<MetadataRecord> = Vec::new();
        for b in 0..n {
            let broker = b as BrokerId;
            self.state.detectors[b].check(now);
            let live = self.state.detectors[b].state();
            let reported = self.state.reported[b];
            let restarted = reported.filter(|&(inc, _)| inc != img.incarnations[b]).map(|r| r.0);
            let change = if let Some(inc) = restarted {
                fence(&img, broker, inc, &unclean)
            } else if live == Liveness::Down && !img.is_fenced(broker) {
                fence(&img, broker, img.incarnations[b], &unclean)
            } else if img.is_fenced(broker)
                && live == Liveness::Alive
                && reported.is_some_and(|(_, index)| index >= self.state.fenced_at[b])
            {
                unfence(&img, broker, &unclean)
            } else {
                continue;
            };
            for r in &change {
                img.apply(r);
            }
            records.extend(change);
        }
        for a in std::mem::take(&mut self.state.alters) {
            match alter_partition(&img, a.broker, a.partition, a.leader_epoch, a.partition_epoch, a.isr) {
                Ok(r) => {
                    img.apply(&r);
                    records.push(r);
                }
                Err(e) => {
                    Self::send(ctx, a.from, KafkaWire::AlterPartitionReply { partition: a.partition, error: Some(e) })
                }
            }
        }
        if records.is_empty() {
            return;
        }
        let raft = self.member.raft.as_mut().expect("checked above");
        for r in records {
            let Some(id) = ctx.intern_metadata(r) else { break };
            if raft.step(RaftMsg::propose(self.member.me, id)).is_err() {
                break;
            }
        }
        self.state.pending_until = raft.log.last_index();
        self.after_step(ctx);
    }

    fn on_heartbeat(&mut self, ctx: &mut Ctx, from: NodeId, incarnation: u32, metadata_index: u64) {
        let Some(raft) = self.member.raft.as_ref() else { return };
        let Some(b) = self.cluster.broker_id(from) else { return };
        if !self.state.active {
            let active = raft.lead.map(|l| self.cluster.controllers[l as usize]);
            return Self::send(ctx, from, KafkaWire::BrokerHeartbeatReply { ok: false, active, committed: 0 });
        }
        let now = ctx.monotonic();
        self.state.detectors[b as usize].heard(now);
        self.state.reported[b as usize] = Some((incarnation, metadata_index));
        let committed = raft.log.committed;
        Self::send(ctx, from, KafkaWire::BrokerHeartbeatReply { ok: true, active: Some(ctx.me()), committed });
    }

    fn on_metadata_fetch(&mut self, ctx: &mut Ctx, from: NodeId, first: u64) {
        let Some(raft) = self.member.raft.as_ref() else { return };
        let committed = raft.log.committed;
        if first > committed || first == 0 {
            return;
        }
        let count = ((committed - first + 1) as usize).min(CATCH_UP_ENTRIES);
        for (k, e) in raft.log.slice(first, count).iter().enumerate() {
            let record = e.data.map_or(0, |id| id + 1);
            Self::send(ctx, from, KafkaWire::Metadata { index: first + k as u64, record });
        }
    }

    fn on_alter(&mut self, ctx: &mut Ctx, from: NodeId, w: KafkaWire) {
        let KafkaWire::AlterPartition { partition, leader_epoch, partition_epoch, isr } = w else { return };
        let refuse =
            |ctx: &mut Ctx, e| Self::send(ctx, from, KafkaWire::AlterPartitionReply { partition, error: Some(e) });
        let Some(broker) = self.cluster.broker_id(from) else { return };
        if !self.state.active {
            return refuse(ctx, KafkaError::NotController);
        }
        if self.state.alters.len() >= MAX_ALTERS {
            return refuse(ctx, KafkaError::InvalidRequest);
        }
        self.state.alters.push(Alter { from, broker, partition, leader_epoch, partition_epoch, isr });
        self.decide(ctx);
    }
}

impl Process for KafkaController {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Self::fresh(&self.cluster);
        self.member.start(ctx, self.config.raft());
        // Rebuilds the metadata image from the committed log.
        self.after_step(ctx);
        RaftMember::first_tick(ctx, self.config.tick.nanos);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            // `receive` steps the message (false: not stepped at all).
            Message::Raft(w) if self.member.receive(ctx, from, &w) => {
                self.after_step(ctx);
                self.decide(ctx);
            }
            Message::Kafka(KafkaWire::BrokerHeartbeat { incarnation, metadata_index }) => {
                self.on_heartbeat(ctx, from, incarnation, metadata_index);
                self.decide(ctx);
            }
            Message::Kafka(KafkaWire::MetadataFetch { from: first }) => self.on_metadata_fetch(ctx, from, first),
            Message::Kafka(w @ KafkaWire::AlterPartition { .. }) => self.on_alter(ctx, from, w),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        if matches!(timer, Timer::RaftTick) {
            self.member.tick();
            self.after_step(ctx);
            self.decide(ctx);
            ctx.set_timer(self.config.tick.nanos, Timer::RaftTick);
        }
    }

    fn on_crash(&mut self) {
        self.member.crash();
        self.state = Self::fresh(&self.cluster);
    }
}
