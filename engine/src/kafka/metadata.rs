//! The cluster metadata a KRaft controller quorum keeps in its log
//! (`__cluster_metadata`): which brokers are fenced, and for every
//! partition its replicas, leader, leader epoch and ISR. Every controller
//! and every broker applies the same committed records in the same order,
//! so all hold the same image.

use super::BrokerId;

/// A set of brokers (by index in the cluster's broker list, at most 16) as
/// a bitmask, so records and messages stay small.
pub type BrokerSet = u16;

pub const MAX_BROKERS: usize = 16;

pub fn set_of(brokers: &[BrokerId]) -> BrokerSet {
    brokers.iter().fold(0, |s, &b| s | 1 << b)
}

/// The members of `set`, in the order of `order` (a partition's
/// assignment), so ISRs list brokers as Kafka does.
pub fn members(set: BrokerSet, order: &[BrokerId]) -> Vec<BrokerId> {
    order.iter().copied().filter(|&b| set & (1 << b) != 0).collect()
}

/// One record of the metadata log (`BrokerRegistrationChangeRecord`,
/// `PartitionChangeRecord`), carrying the new state whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetadataRecord {
    /// The broker's session expired, or it came back as a new
    /// `incarnation` (a restart): it may not lead or join an ISR until
    /// unfenced.
    FenceBroker { broker: BrokerId, incarnation: u32 },
    /// The broker heartbeats again and has caught up with the metadata log.
    UnfenceBroker { broker: BrokerId },
    PartitionChange {
        partition: u32,
        leader: Option<BrokerId>,
        leader_epoch: u32,
        /// Bumped by every change, ISR-only changes included: a leader's
        /// `AlterPartition` must name the epoch it is changing.
        partition_epoch: u32,
        isr: BrokerSet,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMeta {
    /// The assignment, in order: the preferred leader first.
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub partition_epoch: u32,
    pub isr: BrokerSet,
}

impl PartitionMeta {
    pub fn isr(&self) -> Vec<BrokerId> {
        members(self.isr, &self.replicas)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataImage {
    pub fenced: Vec<bool>,
    /// Each broker's incarnation as last registered.
    pub incarnations: Vec<u32>,
    pub partitions: Vec<PartitionMeta>,
}

impl MetadataImage {
    /// A healthy cluster as it stands when the run starts: every broker
    /// registered and unfenced; partition `p`'s replicas are `rf`
    /// consecutive brokers from `p mod brokers` (as Kafka's round-robin
    /// assignment without racks), the first leads epoch 0, all in sync.
    pub fn bootstrap(brokers: usize, partitions: u32, rf: u32) -> MetadataImage {
        let mut image =
            MetadataImage { fenced: vec![false; brokers], incarnations: vec![0; brokers], partitions: Vec::new() };
        for p in 0..partitions {
            image.add_partition(p as usize, rf);
        }
        image
    }

    /// Adds a partition on `rf` consecutive brokers from `start mod
    /// brokers`, led by the first, all in sync.
    pub fn add_partition(&mut self, start: usize, rf: u32) {
        let brokers = self.fenced.len();
        let replicas: Vec<BrokerId> = (0..rf).map(|k| ((start + k as usize) % brokers) as BrokerId).collect();
        self.partitions.push(PartitionMeta {
            leader: Some(replicas[0]),
            leader_epoch: 0,
            partition_epoch: 0,
            isr: set_of(&replicas),
            replicas,
        });
    }

    pub fn apply(&mut self, record: &MetadataRecord) {
        match *record {
            MetadataRecord::FenceBroker { broker, incarnation } => {
                self.fenced[broker as usize] = true;
                self.incarnations[broker as usize] = incarnation;
            }
            MetadataRecord::UnfenceBroker { broker } => self.fenced[broker as usize] = false,
            MetadataRecord::PartitionChange { partition, leader, leader_epoch, partition_epoch, isr } => {
                let p = &mut self.partitions[partition as usize];
                p.leader = leader;
                p.leader_epoch = leader_epoch;
                p.partition_epoch = partition_epoch;
                p.isr = isr;
            }
        }
    }

    pub fn is_fenced(&self, broker: BrokerId) -> bool {
        self.fenced[broker as usize]
    }

    /// The fenced brokers: none may join an ISR.
    pub fn fenced_set(&self) -> BrokerSet {
        (0..self.fenced.len()).filter(|&b| self.fenced[b]).fold(0, |s, b| s | 1 << b)
    }
}

/// `{0, 2}`: the brokers of a set, by index.
pub fn describe_set(set: BrokerSet) -> String {
    let list: Vec<String> = (0..MAX_BROKERS).filter(|b| set & (1 << b) != 0).map(|b| b.to_string()).collect();
    format!("{{{}}}", list.join(", "))
}
