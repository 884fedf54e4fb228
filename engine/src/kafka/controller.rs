//! The active controller's decisions (`ReplicationControlManager`,
//! `PartitionChangeBuilder`), as pure functions of the metadata image:
//! what to write to the metadata log when a broker is fenced or unfenced,
//! and whether a leader's ISR change is accepted.

use super::election::{elect_leader, Election};
use super::metadata::{set_of, BrokerSet, MetadataImage, MetadataRecord};
use super::wire::KafkaError;
use super::BrokerId;

/// The change that makes `leader` lead `partition` (a new leader epoch),
/// keeping `isr`.
fn change(image: &MetadataImage, partition: u32, leader: Option<BrokerId>, isr: BrokerSet) -> MetadataRecord {
    let p = &image.partitions[partition as usize];
    let leader_epoch = if leader != p.leader { p.leader_epoch + 1 } else { p.leader_epoch };
    MetadataRecord::PartitionChange { partition, leader, leader_epoch, partition_epoch: p.partition_epoch + 1, isr }
}

/// Elects a leader for a partition whose leader is gone, with the brokers
/// not fenced in `image` as candidates.
fn reelect(
    image: &MetadataImage,
    partition: u32,
    isr: BrokerSet,
    unclean: &dyn Fn(u32) -> bool,
) -> Option<MetadataRecord> {
    let p = &image.partitions[partition as usize];
    let isr_list = super::metadata::members(isr, &p.replicas);
    let alive = |b: BrokerId| !image.is_fenced(b);
    match elect_leader(&p.replicas, &isr_list, p.leader, alive, unclean(partition)) {
        Election::Clean(l) if Some(l) == p.leader && isr == p.isr => None,
        Election::Clean(l) => Some(change(image, partition, Some(l), isr)),
        // The ISR becomes the new leader alone: what the others had
        // beyond its log is gone.
        Election::Unclean(l) => Some(change(image, partition, Some(l), set_of(&[l]))),
        Election::NoLeader if p.leader.is_none() && isr == p.isr => None,
        Election::NoLeader => Some(change(image, partition, None, isr)),
    }
}

/// Fences `broker` (its session expired, or it came back as a new
/// incarnation): it leaves every ISR it was in (never leaving one empty),
/// and its partitions get new leaders.
/// `unclean(p)`: whether partition `p`'s topic allows unclean elections.
pub fn fence(
    image: &MetadataImage,
    broker: BrokerId,
    incarnation: u32,
    unclean: &dyn Fn(u32) -> bool,
) -> Vec<MetadataRecord> {
    let mut out = vec![MetadataRecord::FenceBroker { broker, incarnation }];
    let mut after = image.clone();
    after.apply(&out[0]);
    for (i, p) in image.partitions.iter().enumerate() {
        let bit = 1 << broker;
        let in_isr = p.isr & bit != 0;
        if !in_isr && p.leader != Some(broker) {
            continue;
        }
        // The last member stays listed (the partition is then offline).
        let isr = if p.isr == bit { p.isr } else { p.isr & !bit };
        if let Some(r) = reelect(&after, i as u32, isr, unclean) {
            out.push(r);
        }
    }
    out
}

/// Unfences `broker`; partitions without a leader that it can now lead
/// get one.
pub fn unfence(image: &MetadataImage, broker: BrokerId, unclean: &dyn Fn(u32) -> bool) -> Vec<MetadataRecord> {
    let mut out = vec![MetadataRecord::UnfenceBroker { broker }];
    let mut after = image.clone();
    after.apply(&out[0]);
    for (i, p) in image.partitions.iter().enumerate() {
        if p.leader.is_none() && p.replicas.contains(&broker) {
            if let Some(r) = reelect(&after, i as u32, p.isr, unclean) {
                out.push(r);
            }
        }
    }
    out
}

/// A leader's `AlterPartition`: accepted if it comes from the current
/// leader in the current epochs and adds only unfenced brokers.
pub fn alter_partition(
    image: &MetadataImage,
    from: BrokerId,
    partition: u32,
    leader_epoch: u32,
    partition_epoch: u32,
    isr: BrokerSet,
) -> Result<MetadataRecord, KafkaError> {
    let Some(p) = image.partitions.get(partition as usize) else {
        return Err(KafkaError::UnknownTopicOrPartition);
    };
    if p.leader != Some(from) || leader_epoch != p.leader_epoch {
        return Err(KafkaError::FencedLeaderEpoch);
    }
    if partition_epoch != p.partition_epoch {
        return Err(KafkaError::InvalidUpdateVersion);
    }
    let added = isr & !p.isr;
    let fenced_added = p.replicas.iter().any(|&b| added & (1 << b) != 0 && image.is_fenced(b));
    if isr == 0 || isr & (1 << from) == 0 || fenced_added || isr & !set_of(&p.replicas) != 0 {
        return Err(KafkaError::InvalidRequest);
    }
    Ok(MetadataRecord::PartitionChange {
        partition,
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch + 1,
        isr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> MetadataImage {
        MetadataImage::bootstrap(3, 3, 3)
    }

    #[test]
    fn fencing_the_leader_elects_the_next_isr_member_in_assignment_order() {
        let img = image();
        // Partition 1's assignment is [1, 2, 0]: broker 2 follows 1.
        let recs = fence(&img, 1, 0, &|_| false);
        assert_eq!(recs[0], MetadataRecord::FenceBroker { broker: 1, incarnation: 0 });
        let mut after = img.clone();
        for r in &recs {
            after.apply(r);
        }
        let p1 = &after.partitions[1];
        assert_eq!(p1.leader, Some(2));
        assert_eq!(p1.leader_epoch, 1);
        assert_eq!(p1.isr(), vec![2, 0]);
        // Partition 0 ([0, 1, 2]): the leader stays, broker 1 leaves the ISR.
        let p0 = &after.partitions[0];
        assert_eq!((p0.leader, p0.leader_epoch, p0.partition_epoch), (Some(0), 0, 1));
        assert_eq!(p0.isr(), vec![0, 2]);
    }

    #[test]
    fn the_last_isr_member_stays_listed_and_unclean_election_takes_anyone() {
        let mut img = image();
        img.apply(&MetadataRecord::PartitionChange {
            partition: 0,
            leader: Some(0),
            leader_epoch: 0,
            partition_epoch: 1,
            isr: set_of(&[0]),
        });
        let clean: Vec<_> = fence(&img, 0, 0, &|_| false);
        let mut after = img.clone();
        clean.iter().for_each(|r| after.apply(r));
        assert_eq!(after.partitions[0].leader, None, "offline: nobody in sync is left");
        assert_eq!(after.partitions[0].isr(), vec![0], "never an empty ISR");
        assert_eq!(after.partitions[0].leader_epoch, 1);

        let unclean = fence(&img, 0, 0, &|_| true);
        let mut after = img.clone();
        unclean.iter().for_each(|r| after.apply(r));
        assert_eq!(after.partitions[0].leader, Some(1), "first live replica in assignment order");
        assert_eq!(after.partitions[0].isr(), vec![1]);
    }

    #[test]
    fn unfencing_brings_an_offline_partition_back() {
        let mut img = image();
        img.apply(&MetadataRecord::PartitionChange {
            partition: 0,
            leader: None,
            leader_epoch: 1,
            partition_epoch: 2,
            isr: set_of(&[0]),
        });
        img.apply(&MetadataRecord::FenceBroker { broker: 0, incarnation: 1 });
        let recs = unfence(&img, 0, &|_| false);
        let mut after = img.clone();
        recs.iter().for_each(|r| after.apply(r));
        assert_eq!((after.partitions[0].leader, after.partitions[0].leader_epoch), (Some(0), 2));
        assert!(!after.is_fenced(0));
    }

    #[test]
    fn alter_partition_checks_leader_epochs_and_fencing() {
        let mut img = image();
        let ok = alter_partition(&img, 0, 0, 0, 0, set_of(&[0, 1]));
        assert!(ok.is_ok());
        assert_eq!(alter_partition(&img, 1, 0, 0, 0, set_of(&[1])), Err(KafkaError::FencedLeaderEpoch));
        assert_eq!(alter_partition(&img, 0, 0, 0, 5, set_of(&[0])), Err(KafkaError::InvalidUpdateVersion));
        img.apply(&MetadataRecord::PartitionChange {
            partition: 0,
            leader: Some(0),
            leader_epoch: 0,
            partition_epoch: 1,
            isr: set_of(&[0]),
        });
        img.apply(&MetadataRecord::FenceBroker { broker: 2, incarnation: 0 });
        assert_eq!(alter_partition(&img, 0, 0, 0, 1, set_of(&[0, 2])), Err(KafkaError::InvalidRequest));
        assert!(alter_partition(&img, 0, 0, 0, 1, set_of(&[0, 1])).is_ok());
    }
}
