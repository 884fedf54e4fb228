//! The leader epoch cache (`LeaderEpochFileCache`, KIP-101): for each
//! leader epoch, the first offset written in it.

/// Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`, as `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    /// (epoch, start offset), both increasing.
    entries: Vec<(u32, u64)>,
}

impl LeaderEpochCache {
    pub fn latest_epoch(&self) -> Option<u32> {
        self.entries.last().map(|e| e.0)
    }

    pub fn entries(&self) -> &[(u32, u64)] {
        &self.entries
    }

    /// Records that `epoch` starts at `start_offset`; an epoch already
    /// known keeps its first offset. Entries the new one contradicts (a
    /// later epoch, or a start at or after it) are removed.
    pub fn assign(&mut self, epoch: u32, start_offset: u64) {
        if self.latest_epoch() == Some(epoch) {
            return;
        }
        self.entries.retain(|&(e, o)| e < epoch && o < start_offset);
        self.entries.push((epoch, start_offset));
    }

    /// `endOffsetFor`: the largest epoch at most `requested`, and the
    /// offset where the next epoch begins (the log end offset `leo` for the
    /// latest epoch). `None` when `requested` is beyond every epoch known.
    pub fn end_offset_for(&self, requested: u32, leo: u64) -> Option<(u32, u64)> {
        if self.latest_epoch() == Some(requested) {
            return Some((requested, leo));
        }
        let higher = self.entries.iter().find(|&&(e, _)| e > requested)?;
        let floor = self.entries.iter().rev().find(|&&(e, _)| e <= requested);
        Some((floor.map_or(requested, |f| f.0), higher.1))
    }

    /// Removes the epochs that start at or after `offset` (the log was
    /// truncated there).
    pub fn truncate_from_end(&mut self, offset: u64) {
        self.entries.retain(|&(_, o)| o < offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_offsets_per_epoch() {
        let mut c = LeaderEpochCache::default();
        c.assign(1, 0);
        c.assign(1, 5); // already known: keeps 0
        c.assign(3, 10);
        c.assign(4, 12);
        assert_eq!(c.entries(), [(1, 0), (3, 10), (4, 12)]);
        assert_eq!(c.end_offset_for(4, 20), Some((4, 20)));
        assert_eq!(c.end_offset_for(3, 20), Some((3, 12)));
        assert_eq!(c.end_offset_for(2, 20), Some((1, 10)), "epoch 2 never led here: ends where 3 begins");
        assert_eq!(c.end_offset_for(0, 20), Some((0, 0)));
        assert_eq!(c.end_offset_for(5, 20), None);
        c.truncate_from_end(11);
        assert_eq!(c.entries(), [(1, 0), (3, 10)]);
        c.assign(2, 4);
        assert_eq!(c.entries(), [(1, 0), (2, 4)], "a contradicted later epoch goes");
    }
}
