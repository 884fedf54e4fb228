//! Kafka as processes: a KRaft controller quorum, brokers that replicate
//! partitions by fetching, producers and consumers. The replication rules
//! themselves (ISR, high watermark, acks, leader epochs, elections) are the
//! pure state machines of [`crate::kafka`]; these components move their
//! requests over the network and keep their time.

pub mod broker;
pub mod config;
pub mod consumer;
pub mod controller;
pub mod coordinator;
pub mod producer;

use crate::kafka::{BrokerId, TopicConfig};
use crate::message::NodeId;
use crate::time::Duration;
use serde::Serialize;

/// One topic of a cluster: its partitions are the cluster's partitions
/// `first .. first + config.partitions` (one numbering for the whole
/// cluster, so a partition is one number on the wire).
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterTopic {
    pub name: String,
    pub config: TopicConfig,
    pub first: u32,
}

impl ClusterTopic {
    pub fn range(&self) -> std::ops::Range<u32> {
        self.first..self.first + self.config.partitions
    }
}

/// A consumer group: its name and the topic (by index) its members read.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    pub topic: usize,
}

/// What every process of one Kafka cluster knows about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub controllers: Vec<NodeId>,
    /// Broker `i` of this list has `node.id` `i`.
    pub brokers: Vec<NodeId>,
    pub topics: Vec<ClusterTopic>,
    pub heartbeat_interval: Duration,
    pub session_timeout: Duration,
    /// The consumer groups of the run; a group's id is its index.
    pub groups: Vec<GroupSpec>,
}

impl Cluster {
    pub fn broker_id(&self, node: NodeId) -> Option<BrokerId> {
        self.brokers.iter().position(|&b| b == node).map(|i| i as BrokerId)
    }

    /// The topics' partitions, all together.
    pub fn partitions(&self) -> u32 {
        self.topics.iter().map(|t| t.config.partitions).sum()
    }

    /// The topics' partitions and, after them, when the run has consumer
    /// groups, the one partition of `__consumer_offsets`, where group
    /// coordinators keep committed offsets (its leader is every group's
    /// coordinator; Kafka creates the topic when a group first needs it).
    pub fn all_partitions(&self) -> u32 {
        self.partitions() + u32::from(!self.groups.is_empty())
    }

    pub fn offsets_partition(&self) -> u32 {
        self.partitions()
    }

    /// The topic named `name` (unset: the first).
    pub fn topic(&self, name: Option<&str>) -> Option<&ClusterTopic> {
        match name {
            Some(n) => self.topics.iter().find(|t| t.name == n),
            None => self.topics.first(),
        }
    }

    fn topic_of(&self, p: u32) -> Option<&ClusterTopic> {
        self.topics.iter().find(|t| t.range().contains(&p))
    }

    /// `orders-2`, `__consumer_offsets-0`.
    pub fn partition_name(&self, p: u32) -> String {
        match self.topic_of(p) {
            Some(t) => format!("{}-{}", t.name, p - t.first),
            None => "__consumer_offsets-0".to_string(),
        }
    }

    /// How often leaders check their followers: half the shortest
    /// `replica.lag.time.max.ms`.
    pub fn isr_check_every(&self) -> u64 {
        let lag = self.topics.iter().map(|t| t.config.replica_lag_time_max.nanos).min().unwrap_or(30_000_000_000);
        (lag / 2).max(1)
    }

    /// A partition's settings: its topic's, or for `__consumer_offsets`
    /// Kafka's (`offsets.topic.replication.factor` 3, or fewer brokers;
    /// `min.insync.replicas` 1; no unclean election).
    pub fn config_of(&self, partition: u32) -> TopicConfig {
        if let Some(t) = self.topic_of(partition) {
            return t.config.clone();
        }
        let first = &self.topics[0].config;
        TopicConfig {
            partitions: 1,
            replication_factor: (self.brokers.len() as u32).min(3),
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max: first.replica_lag_time_max,
            hw_waits_for_min_isr: first.hw_waits_for_min_isr,
        }
    }

    /// The metadata the cluster starts with: each topic's partition `p`
    /// on `replication_factor` consecutive brokers from `p mod brokers`.
    pub fn bootstrap(&self) -> crate::kafka::metadata::MetadataImage {
        let mut image = crate::kafka::metadata::MetadataImage::bootstrap(self.brokers.len(), 0, 1);
        for t in &self.topics {
            for p in 0..t.config.partitions {
                image.add_partition(p as usize, t.config.replication_factor);
            }
        }
        if !self.groups.is_empty() {
            let rf = self.config_of(self.offsets_partition()).replication_factor;
            image.add_partition(self.offsets_partition() as usize, rf);
        }
        image
    }
}

/// One partition as a broker holds it, for the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaView {
    /// `topic-partition`, as Kafka names a partition.
    pub name: String,
    pub partition: u32,
    /// `leader`, `follower`, or `none` (no leader known, or waiting to
    /// lead after a restart).
    pub role: &'static str,
    /// The leader this broker follows (a node id).
    pub leader: Option<NodeId>,
    pub leader_epoch: u32,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    /// Where the part of the log on disk ends (the rest is only in the
    /// page cache: a power loss would take it).
    pub on_disk: u64,
    /// Leaders: the ISR (node ids) and a change in flight.
    pub isr: Vec<NodeId>,
    pub pending_isr: Option<Vec<NodeId>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokerView {
    pub broker_id: BrokerId,
    pub fenced: bool,
    pub metadata_index: u64,
    pub active_controller: Option<NodeId>,
    pub partitions: Vec<ReplicaView>,
    /// When this broker coordinates the consumer groups (it leads
    /// `__consumer_offsets`): each group.
    pub groups: Vec<GroupView>,
}

/// A broker as the active controller sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokerLiveness {
    pub broker: NodeId,
    pub liveness: crate::failure_detector::Liveness,
    /// How long since its last heartbeat, in ms.
    pub silence_ms: i64,
    pub fenced: bool,
}

/// A partition as the controllers' metadata says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionView {
    /// `topic-partition`, as Kafka names a partition.
    pub name: String,
    pub partition: u32,
    pub replicas: Vec<NodeId>,
    pub leader: Option<NodeId>,
    pub leader_epoch: u32,
    pub isr: Vec<NodeId>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControllerView {
    pub role: &'static str,
    pub term: u64,
    /// Why it has its Raft role, and since when (nothing while down).
    #[serde(skip)]
    pub cause: Option<(crate::raft::RoleCause<NodeId>, crate::time::Time)>,
    pub active: bool,
    pub committed: u64,
    /// Only the active controller watches brokers.
    pub brokers: Vec<BrokerLiveness>,
    pub partitions: Vec<PartitionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProducerView {
    pub acks: &'static str,
    pub idempotent: bool,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: u32,
    pub buffered: u32,
    /// Produce requests sent and not yet answered.
    pub in_flight: u32,
    pub acknowledged: u64,
    pub failed: u64,
    pub retries: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerView {
    /// The topic's partitions, by name (`orders-0`).
    pub partitions: Vec<String>,
    /// Per partition: the next offset to read.
    pub positions: Vec<u64>,
    /// Per partition: the high watermark minus the position, as of the
    /// last fetch (partitions it does not read count 0).
    pub lag: Vec<u64>,
    /// Per partition: whether it reads it now.
    pub owned: Vec<bool>,
    pub polled: u64,
    /// A group member: the group, its generation as this member knows it,
    /// and the group's coordinator.
    pub group: Option<String>,
    pub generation: u32,
    pub coordinator: Option<NodeId>,
}

/// A consumer group as its coordinator holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    pub name: String,
    pub generation: u32,
    pub rebalancing: bool,
    /// Members, with the partitions (of the group's topic, from 0) each
    /// was given.
    pub members: Vec<(NodeId, Vec<u32>)>,
}

/// A client's metadata requests: one at a time, to the brokers in turn,
/// at most one per `retry.backoff.ms`, given up after a timeout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetadataRefresh {
    in_flight: bool,
    last_sent: i64,
    timer: crate::queue::TimerId,
    next: usize,
}

impl Default for MetadataRefresh {
    fn default() -> Self {
        MetadataRefresh { in_flight: false, last_sent: i64::MIN / 2, timer: crate::queue::TimerId::NONE, next: 0 }
    }
}

impl MetadataRefresh {
    /// Asks for metadata now, or as soon as the backoff allows.
    pub(crate) fn request(&mut self, ctx: &mut crate::context::Ctx, brokers: &[NodeId], backoff: u64, timeout: u64) {
        use crate::message::{Message, Timer};
        if self.in_flight || self.timer != crate::queue::TimerId::NONE {
            return;
        }
        let now = ctx.monotonic();
        let wait = self.last_sent.saturating_add(backoff as i64) - now;
        if wait > 0 {
            self.timer = ctx.set_timer(wait as u64, Timer::KafkaMetadataTimeout);
            return;
        }
        let to = brokers[self.next % brokers.len()];
        self.next += 1;
        self.in_flight = true;
        self.last_sent = now;
        ctx.send(to, Message::Kafka(crate::kafka::wire::KafkaWire::MetadataRequest));
        self.timer = ctx.set_timer(timeout, Timer::KafkaMetadataTimeout);
    }

    /// The answer came (its last partition).
    pub(crate) fn answered(&mut self, ctx: &mut crate::context::Ctx) {
        if self.in_flight {
            self.in_flight = false;
            ctx.cancel_timer(self.timer);
            self.timer = crate::queue::TimerId::NONE;
        }
    }

    /// Starts the first request after `delay`.
    pub(crate) fn start(&mut self, ctx: &mut crate::context::Ctx, delay: u64) {
        self.timer = ctx.set_timer(delay, crate::message::Timer::KafkaMetadataTimeout);
    }

    /// The timer `id` fired: true if it is this refresher's (a timeout or
    /// the end of a backoff), after which the caller asks again if it
    /// still needs to.
    pub(crate) fn fired(&mut self, id: crate::queue::TimerId) -> bool {
        if id != self.timer {
            return false;
        }
        self.timer = crate::queue::TimerId::NONE;
        self.in_flight = false;
        true
    }
}
