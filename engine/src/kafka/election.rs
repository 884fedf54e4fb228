//! The controller's choice of a partition leader
//! (`PartitionChangeBuilder.electLeader`, KRaft).

use super::BrokerId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Election {
    /// A leader from the ISR; the ISR stays.
    Clean(BrokerId),
    /// `unclean.leader.election.enable`: a replica outside the ISR leads;
    /// the ISR becomes just it. Writes it never had are lost.
    Unclean(BrokerId),
    /// No acceptable replica: the partition is offline (`NO_LEADER`).
    NoLeader,
}

/// Keeps the current leader if it is still in the ISR and alive; else the
/// first replica in assignment order that is in the ISR and alive (not the
/// most up to date one); else, if allowed, the first alive replica.
pub fn elect_leader(
    assignment: &[BrokerId],
    isr: &[BrokerId],
    current: Option<BrokerId>,
    alive: impl Fn(BrokerId) -> bool,
    unclean_allowed: bool,
) -> Election {
    if let Some(l) = current.filter(|&l| isr.contains(&l) && alive(l)) {
        return Election::Clean(l);
    }
    if let Some(&b) = assignment.iter().find(|&&b| isr.contains(&b) && alive(b)) {
        return Election::Clean(b);
    }
    if unclean_allowed {
        if let Some(&b) = assignment.iter().find(|&&b| alive(b)) {
            return Election::Unclean(b);
        }
    }
    Election::NoLeader
}

/// The ISR without `broker` (fenced, or out of sync); the last member is
/// never removed: a leaderless partition keeps it listed.
pub fn without(isr: &[BrokerId], broker: BrokerId) -> Vec<BrokerId> {
    if isr == [broker] {
        return isr.to_vec();
    }
    isr.iter().copied().filter(|&b| b != broker).collect()
}
