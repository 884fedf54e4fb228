//! The operating system's page cache under a file: what a process wrote
//! with write(2) but did not fsync is in memory until Linux writes it back.
//!
//! Kafka appends its partition logs so, and by default never calls fsync
//! (`log.flush.interval.messages` and `log.flush.interval.ms` are unset):
//! it leaves durability to replication. A record is then on disk only once
//! Linux writes the file's dirty pages back. The flusher wakes every
//! `vm.dirty_writeback_centisecs` (5 s) and writes back each file that has
//! been dirty for `vm.dirty_expire_centisecs` (30 s) or more, all of its
//! dirty pages at once (the kernel keeps one `dirtied_when` per inode).
//! A killed process loses nothing (the pages belong to the kernel); a host
//! that loses power loses what was not yet written back, up to about 35 s
//! of records.
//!
//! Not modelled: writeback started early by memory pressure
//! (`vm.dirty_background_ratio`, far above the lab's volumes) and the time
//! an fsync takes.

use crate::time::Time;

/// `vm.dirty_expire_centisecs` = 3000.
pub const DIRTY_EXPIRE_NS: Time = 30_000_000_000;
/// `vm.dirty_writeback_centisecs` = 500.
pub const DIRTY_WRITEBACK_NS: Time = 5_000_000_000;

/// When the flusher writes back a file that became dirty at `dirtied`:
/// its first wakeup once the file has been dirty for `DIRTY_EXPIRE_NS`.
pub fn written_back_at(dirtied: Time) -> Time {
    let expired = dirtied.saturating_add(DIRTY_EXPIRE_NS);
    expired.div_ceil(DIRTY_WRITEBACK_NS).saturating_mul(DIRTY_WRITEBACK_NS)
}

/// What of one log file is on disk. Offsets count records; times are the
/// host's monotonic clock (the kernel's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageCache {
    /// Records below this offset are on disk.
    on_disk: u64,
    /// When the file became dirty (its oldest page not yet written back).
    dirtied_when: Option<Time>,
}

impl PageCache {
    pub fn on_disk(&self) -> u64 {
        self.on_disk
    }

    /// The flusher's wakeups up to `now`. `end` is the file's end, which
    /// must not have grown since the last call: every write calls this
    /// first.
    pub fn write_back(&mut self, now: Time, end: u64) {
        if self.written_back_by(now) {
            self.on_disk = end;
            self.dirtied_when = None;
        }
    }

    /// Whether the flusher has written the file back by `now` (it is dirty,
    /// and a wakeup since found it expired).
    fn written_back_by(&self, now: Time) -> bool {
        self.dirtied_when.is_some_and(|d| written_back_at(d) <= now)
    }

    /// Where the on-disk part ends at `now`, for a file that ends at `end`
    /// (as [`PageCache::write_back`] would leave it, without changing it).
    pub fn on_disk_at(&self, now: Time, end: u64) -> u64 {
        if self.written_back_by(now) {
            end
        } else {
            self.on_disk
        }
    }

    /// Records up to `end` were written at `now` (the file ended at
    /// `before`).
    pub fn wrote(&mut self, now: Time, before: u64) {
        self.write_back(now, before);
        self.dirtied_when.get_or_insert(now);
    }

    /// fsync(2): everything up to `end` is on disk.
    pub fn fsync(&mut self, end: u64) {
        self.on_disk = end;
        self.dirtied_when = None;
    }

    /// The file was cut at `end`.
    pub fn truncated(&mut self, end: u64) {
        if self.on_disk >= end {
            self.on_disk = end;
            self.dirtied_when = None;
        }
    }

    /// The host lost power at `now`: the file now ends where its on-disk
    /// part ends.
    pub fn power_lost(&mut self, now: Time, end: u64) -> u64 {
        self.write_back(now, end);
        self.dirtied_when = None;
        self.on_disk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    #[test]
    fn a_write_reaches_the_disk_at_the_first_wakeup_after_it_expired() {
        // Dirtied at 1 s: expired at 31 s, written back at the 35 s wakeup.
        let mut c = PageCache::default();
        c.wrote(S, 0);
        assert_eq!(c.clone().power_lost(35 * S - 1, 10), 0, "still only in memory just before the wakeup");
        assert_eq!(c.clone().power_lost(35 * S, 10), 10, "written back at the wakeup");
        assert_eq!((c.on_disk_at(35 * S - 1, 10), c.on_disk_at(35 * S, 10)), (0, 10));
    }

    #[test]
    fn the_whole_file_goes_back_when_its_first_dirty_page_expires() {
        let mut c = PageCache::default();
        c.wrote(0, 0); // 0..10 at 0 s
        c.wrote(29 * S, 10); // 10..20 at 29 s: the file was already dirty
        assert_eq!(c.clone().power_lost(30 * S, 20), 20, "both writes went back at 30 s");
        // After the writeback the next write starts a new 30 s.
        c.wrote(31 * S, 20); // the 30 s wakeup cleaned 0..20 first
        assert_eq!(c.on_disk(), 20);
        assert_eq!(c.clone().power_lost(60 * S, 25), 20, "dirty since 31 s: goes back at 65 s");
        assert_eq!(c.power_lost(65 * S, 25), 25);
    }

    #[test]
    fn fsync_and_truncation() {
        let mut c = PageCache::default();
        c.wrote(0, 0);
        c.fsync(8);
        assert_eq!(c.clone().power_lost(S, 8), 8);
        c.wrote(2 * S, 8);
        c.truncated(12); // cuts only what is in memory
        assert_eq!(c.clone().power_lost(3 * S, 12), 8);
        c.truncated(5); // cuts into what is on disk: nothing dirty is left
        assert_eq!(c.power_lost(3 * S, 5), 5);
    }
}
