//! Redis's append-only file (`appendonly yes`), as far as a crash can
//! tell. Redis writes each change to the file before it answers (in
//! `beforeSleep`), so a killed process loses nothing it acknowledged: the
//! page cache keeps the file. What a power loss leaves depends on
//! `appendfsync`: `always` fsyncs before answering; `everysec` fsyncs at
//! most once per second of the wall clock (`server.unixtime >
//! aof_last_fsync`, in `beforeSleep` or `serverCron`); `no` leaves the
//! file to Linux, which writes it back about 30 s after it became dirty
//! ([`crate::page_cache`]). At the next start Redis replays the file: the
//! dataset as it stood when the surviving part was written.
//!
//! The file is kept as the datasets it replays to, not as commands: what
//! its on-disk part replays to (`synced`), and, once the process died,
//! what the whole file replays to (`written`). Changes are noticed at each
//! `serverCron` (`hz` times a second), so a sync covers the changes up to
//! that tick. Not modelled: RDB snapshots (`save`; the lab's caches run as
//! with `save ""`), AOF rewrites (they change the file, not what it
//! replays to), and the time an fsync takes.

use crate::page_cache::written_back_at;
use crate::redis::{AppendFsync, Keyspace, SnapshotEntry};
use crate::time::Time;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aof {
    /// What the on-disk part of the file replays to.
    synced: Vec<SnapshotEntry>,
    /// `Keyspace::changes` when `synced` was taken.
    synced_changes: u64,
    /// When (the host's monotonic clock) the file first held changes that
    /// are not on disk: Linux writes it back 30 s later.
    dirtied_when: Option<Time>,
    /// Set when the process died: what the whole file, page cache
    /// included, replays to.
    written: Option<Vec<SnapshotEntry>>,
    /// The wall-clock second of the last `everysec` fsync.
    last_fsync_s: i64,
}

impl Aof {
    /// A `serverCron` tick at `now` (monotonic) and `wall_s` (the wall
    /// clock's second).
    pub fn cron(&mut self, fsync: AppendFsync, keys: &Keyspace, now: Time, wall_s: i64) {
        if keys.changes() == self.synced_changes {
            return;
        }
        let sync = match fsync {
            // In sync whenever it answers: taken when the process dies.
            AppendFsync::Always => return,
            AppendFsync::Everysec => wall_s > self.last_fsync_s,
            AppendFsync::No => self.dirtied_when.is_some_and(|d| written_back_at(d) <= now),
        };
        if sync {
            self.sync(keys);
            if fsync == AppendFsync::Everysec {
                self.last_fsync_s = wall_s;
            }
        } else {
            self.dirtied_when.get_or_insert(now);
        }
    }

    /// The file's on-disk part now replays to the dataset as it is.
    fn sync(&mut self, keys: &Keyspace) {
        self.synced = keys.snapshot();
        self.synced_changes = keys.changes();
        self.dirtied_when = None;
    }

    /// The process died at `now`: the page cache keeps the whole file.
    /// With `always` every change was fsynced before it was answered.
    pub fn process_died(&mut self, fsync: AppendFsync, keys: &Keyspace, now: Time) {
        if fsync == AppendFsync::Always {
            self.sync(keys);
        } else if keys.changes() != self.synced_changes {
            self.dirtied_when.get_or_insert(now);
        }
        self.written = Some(keys.snapshot());
    }

    /// The host lost power at `now`, after the process died: the file is
    /// what was on disk, or what Linux wrote back since.
    pub fn power_lost(&mut self, now: Time) {
        let Some(written) = self.written.take() else { return };
        if self.dirtied_when.is_some_and(|d| written_back_at(d) <= now) {
            self.synced = written;
        }
        self.dirtied_when = None;
        self.written = Some(self.synced.clone());
    }

    /// The keys the part of the file on disk replays to, and since when
    /// (monotonic) changes wait to reach the disk, if any do (as of the
    /// last `serverCron`; with `always` none ever wait).
    pub fn on_disk(&self, fsync: AppendFsync, keys: Option<&Keyspace>) -> (usize, Option<Time>) {
        match (fsync, keys) {
            (AppendFsync::Always, Some(k)) => (k.len(), None),
            _ => (self.synced.len(), self.dirtied_when),
        }
    }

    /// What the next start replays: the dataset the file holds.
    pub fn replay(&self) -> &[SnapshotEntry] {
        self.written.as_deref().unwrap_or(&self.synced)
    }

    /// The new process loaded the file into `keys`. The file stays as it
    /// is on disk and in the page cache: a part not yet synced still waits
    /// for an fsync or a writeback.
    pub fn loaded(&mut self, keys: &Keyspace) {
        let unsynced = self.written.take().is_some_and(|w| w != self.synced);
        self.synced_changes = if unsynced { u64::MAX } else { keys.changes() };
    }
}
