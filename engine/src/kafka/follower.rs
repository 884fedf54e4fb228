//! A follower's side of a diverging fetch: where to truncate
//! (`AbstractFetcherThread.getOffsetTruncationState`, KIP-101 and
//! KIP-279).

use super::log::PartitionLog;

/// The leader's answer to a diverging fetch: the end offset of the
/// largest epoch it has at most the follower's last epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub epoch: u32,
    pub end_offset: u64,
}

/// The offset to truncate `log` to, and whether that settles it (`false`:
/// fetch again with the new last epoch, KIP-279).
pub fn truncation_offset(log: &PartitionLog, d: Divergence) -> (u64, bool) {
    let leo = log.leo();
    match log.end_offset_for(d.epoch) {
        // The follower knows the leader's epoch: both logs agree up to the
        // smaller end offset of it.
        Some((epoch, end)) if epoch == d.epoch => (d.end_offset.min(end), true),
        // It does not: cut back to the end of its own largest epoch below
        // the leader's, and ask again.
        Some((_, end)) => (end.min(d.end_offset).min(leo), false),
        None => (d.end_offset.min(leo), true),
    }
}
