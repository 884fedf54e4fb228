//! A partition's log on one broker: records with the leader epoch that
//! wrote each, the epoch cache, and how much of it is on disk.

use super::epoch_cache::LeaderEpochCache;
use crate::page_cache::PageCache;
use crate::time::Time;

/// A produced record (the lab's keys and values are integers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    pub key: u32,
    pub value: u64,
}

impl Record {
    /// Record `seq` of `producer`'s sequence for `partition`: its value
    /// names both, so every value in a partition is unique and a checker
    /// can tell duplicates from distinct writes.
    pub fn produced(partition: u32, producer: u32, seq: u32) -> Record {
        Record { key: partition, value: u64::from(producer) << 32 | u64::from(seq) }
    }

    /// Whether it is a producer's record in `partition` (as
    /// [`Record::produced`] makes it; a group's commit in
    /// `__consumer_offsets` is keyed by group and partition instead).
    pub fn is_produced_in(&self, partition: u32) -> bool {
        self.key == partition
    }

    pub fn producer(&self) -> u32 {
        (self.value >> 32) as u32
    }

    pub fn seq(&self) -> u32 {
        self.value as u32
    }
}

/// A record at its offset, with the epoch of the leader that appended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordBatch {
    pub offset: u64,
    pub epoch: u32,
    pub record: Record,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionLog {
    batches: Vec<RecordBatch>,
    pub epochs: LeaderEpochCache,
    pub page_cache: PageCache,
}

impl PartitionLog {
    /// The log end offset: the next offset to be written.
    pub fn leo(&self) -> u64 {
        self.batches.len() as u64
    }

    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// Appends at `now` (the host's monotonic clock).
    pub fn append_as_leader(&mut self, epoch: u32, record: Record, now: Time) -> u64 {
        let offset = self.leo();
        self.page_cache.wrote(now, offset);
        self.epochs.assign(epoch, offset);
        self.batches.push(RecordBatch { offset, epoch, record });
        offset
    }

    /// Appends what the leader sent; it starts at this log's end.
    pub fn append_as_follower(&mut self, batches: &[RecordBatch], now: Time) {
        if batches.is_empty() {
            return;
        }
        self.page_cache.wrote(now, self.leo());
        for b in batches {
            assert_eq!(b.offset, self.leo(), "a fetch response continues the log");
            self.epochs.assign(b.epoch, b.offset);
            self.batches.push(*b);
        }
    }

    /// Drops every record at or after `offset`.
    pub fn truncate_to(&mut self, offset: u64) {
        self.batches.truncate(offset as usize);
        self.epochs.truncate_from_end(offset);
        self.page_cache.truncated(offset);
    }

    /// `log.flush.interval.messages`: fsync once `interval` records are
    /// not yet on disk (Kafka checks after each append).
    pub fn maybe_flush(&mut self, interval: Option<u64>) {
        if interval.is_some_and(|n| self.leo() - self.page_cache.on_disk() >= n) {
            self.page_cache.fsync(self.leo());
        }
    }

    /// Where the part of the log on disk ends at `now`.
    pub fn on_disk_at(&self, now: Time) -> u64 {
        self.page_cache.on_disk_at(now, self.leo())
    }

    /// The host lost power at `now`: the log keeps what was on disk (log
    /// recovery). Returns the records lost.
    pub fn power_lost(&mut self, now: Time) -> u64 {
        let leo = self.leo();
        let kept = self.page_cache.power_lost(now, leo);
        self.truncate_to(kept);
        leo - kept
    }

    /// Up to `max` records from `from` on, below `until`.
    pub fn read(&self, from: u64, until: u64, max: usize) -> &[RecordBatch] {
        let end = (until.min(self.leo()) as usize).min((from as usize).saturating_add(max));
        self.batches.get(from as usize..end).unwrap_or(&[])
    }

    pub fn end_offset_for(&self, epoch: u32) -> Option<(u32, u64)> {
        self.epochs.end_offset_for(epoch, self.leo())
    }
}
