//! The group coordinator (`GroupCoordinator`, `GroupMetadataManager`):
//! it runs on the broker that leads `__consumer_offsets`, keeps each
//! group's members and generation, rebalances (eagerly: every member
//! gives up its partitions and rejoins; the range assignor splits the
//! partitions), and keeps committed offsets, which it writes to its
//! `__consumer_offsets` partition and loads from it when it takes over.
//!
//! A commit is the *next* offset to read (the consumer's position), and is
//! refused from a member of an earlier generation: the records a member
//! read after its last accepted commit are read again by the partition's
//! next owner (at-least-once).

use crate::kafka::wire::KafkaError;
use crate::kafka::PartitionLog;
use crate::message::NodeId;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug)]
struct Member {
    last_heard: i64,
    session: i64,
    /// Has (re)joined in the rebalance under way.
    joined: bool,
}

#[derive(Clone, Debug, Default)]
struct Group {
    generation: u32,
    /// Each member's partitions in the current generation.
    assigned: BTreeMap<NodeId, u64>,
    /// A rebalance under way, and when it completes at the latest.
    rebalance_until: Option<i64>,
    members: BTreeMap<NodeId, Member>,
}

/// A group as the coordinator holds it: generation, whether a rebalance
/// is under way, and each member with its partitions.
pub type GroupState = (u32, bool, Vec<(NodeId, Vec<u32>)>);

/// An assignment to send: (member, group, generation, partitions).
pub type Assigned = (NodeId, u32, u32, u64);

#[derive(Clone, Debug)]
pub struct Coordinator {
    groups: Vec<Group>,
    /// Per group: the partitions of the topic it reads.
    partitions: Vec<u32>,
    /// Committed offsets by (group, partition) key.
    committed: BTreeMap<u32, u64>,
}

/// The key of a group's committed offset for a partition, as the record
/// in `__consumer_offsets` carries it.
pub fn offset_key(group: u32, partition: u32) -> u32 {
    group << 16 | partition
}

/// The group and partition of an [`offset_key`].
pub fn offset_key_parts(key: u32) -> (u32, u32) {
    (key >> 16, key & 0xffff)
}

impl Coordinator {
    /// Takes over: the committed offsets are the last record for each key
    /// in the partition's log; members must join again.
    pub fn load(log: &PartitionLog, partitions: Vec<u32>) -> Coordinator {
        let mut committed = BTreeMap::new();
        for b in log.batches() {
            committed.insert(b.record.key, b.record.value);
        }
        Coordinator { groups: vec![Group::default(); partitions.len()], partitions, committed }
    }

    pub fn committed(&self, group: u32, partition: u32) -> Option<u64> {
        self.committed.get(&offset_key(group, partition)).copied()
    }

    /// The commit of `key` reached the high watermark.
    pub fn apply_commit(&mut self, key: u32, offset: u64) {
        self.committed.insert(key, offset);
    }

    fn group(&mut self, group: u32) -> Option<&mut Group> {
        self.groups.get_mut(group as usize)
    }

    /// A member joins: the group rebalances (the first time after
    /// `group.initial.rebalance.delay.ms`, so others can join too).
    pub fn join(&mut self, now: i64, group: u32, member: NodeId, session: i64, initial_delay: i64) {
        let Some(g) = self.group(group) else { return };
        g.members.insert(member, Member { last_heard: now, session, joined: true });
        if g.rebalance_until.is_none() {
            let wait = if g.generation == 0 { initial_delay } else { session };
            g.rebalance_until = Some(now + wait);
        }
    }

    pub fn heartbeat(&mut self, now: i64, group: u32, member: NodeId, generation: u32) -> Option<KafkaError> {
        let Some(g) = self.group(group) else { return Some(KafkaError::InvalidRequest) };
        let Some(m) = g.members.get_mut(&member) else { return Some(KafkaError::UnknownMemberId) };
        m.last_heard = now;
        if g.rebalance_until.is_some() {
            return Some(KafkaError::RebalanceInProgress);
        }
        (generation != g.generation).then_some(KafkaError::IllegalGeneration)
    }

    /// Whether a commit may be written: from a member of the current
    /// generation, also while the group prepares a rebalance (members
    /// commit before they rejoin).
    pub fn may_commit(&self, group: u32, member: NodeId, generation: u32) -> Result<(), KafkaError> {
        let Some(g) = self.groups.get(group as usize) else { return Err(KafkaError::InvalidRequest) };
        if !g.members.contains_key(&member) {
            return Err(KafkaError::UnknownMemberId);
        }
        if generation != g.generation {
            return Err(KafkaError::IllegalGeneration);
        }
        Ok(())
    }

    /// Each group: its generation, whether it is rebalancing, and its
    /// members with their partitions.
    pub fn groups(&self) -> Vec<GroupState> {
        self.groups
            .iter()
            .map(|g| {
                let members = g
                    .members
                    .keys()
                    .map(|&m| {
                        let mask = g.assigned.get(&m).copied().unwrap_or(0);
                        (m, (0..64).filter(|p| mask & (1 << p) != 0).collect())
                    })
                    .collect();
                (g.generation, g.rebalance_until.is_some(), members)
            })
            .collect()
    }

    /// Expires silent members and completes rebalances whose members have
    /// all rejoined (or whose time is up); returns the assignments to send.
    pub fn tick(&mut self, now: i64) -> Vec<Assigned> {
        let mut out = Vec::new();
        for (id, g) in self.groups.iter_mut().enumerate() {
            let partitions = self.partitions[id];
            let before = g.members.len();
            g.members.retain(|_, m| now - m.last_heard <= m.session);
            if g.members.len() < before && g.rebalance_until.is_none() {
                let session = g.members.values().map(|m| m.session).max().unwrap_or(0);
                g.rebalance_until = Some(now + session);
            }
            let Some(until) = g.rebalance_until else { continue };
            let all_in = g.members.values().all(|m| m.joined);
            if !(all_in && g.generation > 0 || now >= until) {
                continue;
            }
            // Members that did not rejoin in time are out.
            g.members.retain(|_, m| m.joined);
            g.generation += 1;
            g.rebalance_until = None;
            let members: Vec<NodeId> = g.members.keys().copied().collect();
            g.assigned.clear();
            for (member, ranges) in members.iter().zip(range_assign(partitions, members.len())) {
                g.assigned.insert(*member, ranges);
                out.push((*member, id as u32, g.generation, ranges));
            }
            for m in g.members.values_mut() {
                m.joined = false;
            }
        }
        out
    }
}

/// The range assignor: `n` members, in member id order, each get a run of
/// consecutive partitions; the first `partitions mod n` one more.
pub fn range_assign(partitions: u32, n: usize) -> Vec<u64> {
    if n == 0 {
        return Vec::new();
    }
    let (each, extra) = (partitions as usize / n, partitions as usize % n);
    let mut next = 0;
    (0..n)
        .map(|k| {
            let count = each + usize::from(k < extra);
            let mask = (next..next + count).fold(0u64, |m, p| m | 1 << p);
            next += count;
            mask
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_key_gives_back_its_group_and_partition() {
        assert_eq!(offset_key_parts(offset_key(3, 17)), (3, 17));
        assert_eq!(offset_key_parts(offset_key(0, 2)), (0, 2));
    }

    #[test]
    fn ranges_split_partitions_in_runs() {
        assert_eq!(range_assign(6, 2), vec![0b000111, 0b111000]);
        assert_eq!(range_assign(5, 2), vec![0b00111, 0b11000]);
        assert_eq!(range_assign(2, 3), vec![0b01, 0b10, 0]);
    }

    #[test]
    fn a_silent_member_is_removed_and_the_rest_rebalance() {
        let mut c = Coordinator::load(&PartitionLog::default(), vec![4]);
        c.join(0, 0, 7, 10, 3);
        c.join(1, 0, 8, 10, 3);
        assert!(c.tick(2).is_empty(), "waits the initial delay");
        let first = c.tick(3);
        assert_eq!(first, vec![(7, 0, 1, 0b0011), (8, 0, 1, 0b1100)]);
        assert_eq!(c.heartbeat(5, 0, 7, 1), None);
        assert_eq!(c.may_commit(0, 8, 1), Ok(()));
        // 8 falls silent: after its session (10) it is removed.
        assert!(c.tick(11).is_empty());
        assert!(c.tick(12).is_empty(), "a rebalance starts");
        assert_eq!(c.heartbeat(13, 0, 7, 1), Some(KafkaError::RebalanceInProgress));
        assert_eq!(c.may_commit(0, 7, 1), Ok(()), "commits before rejoining are kept");
        c.join(14, 0, 7, 10, 3);
        assert_eq!(c.tick(14), vec![(7, 0, 2, 0b1111)]);
        assert_eq!(c.may_commit(0, 7, 1), Err(KafkaError::IllegalGeneration));
    }
}
