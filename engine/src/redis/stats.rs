//! The counters `INFO stats` shows, under the same names.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Read lookups that found the key (`GET`, `MGET`, `EXISTS`, `TTL`, the
    /// `GET` of `SET ... GET`); writes never count.
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Keys deleted because their TTL had passed (lazily on access, or by
    /// the active expire cycle). `EXPIRE` with a time in the past deletes
    /// without counting here, as in Redis.
    pub expired_keys: u64,
    pub evicted_keys: u64,
    /// The active expire cycle's running estimate of the share of keys with
    /// a TTL that are expired but not yet deleted (0 to 1).
    pub expired_stale_perc: f64,
    /// Active expire cycles that stopped on their time limit.
    pub expired_time_cap_reached_count: u64,
    /// Commands run (not counting those refused before running).
    pub total_commands_processed: u64,
    /// Error replies, refusals included.
    pub total_error_replies: u64,
    /// Commands refused before running: unknown command, wrong number of
    /// arguments, OOM, READONLY.
    pub rejected_calls: u64,
}

impl Stats {
    /// `keyspace_hits / (keyspace_hits + keyspace_misses)`, 0 before any
    /// read.
    pub fn hit_ratio(&self) -> f64 {
        let total = self.keyspace_hits + self.keyspace_misses;
        if total == 0 {
            0.0
        } else {
            self.keyspace_hits as f64 / total as f64
        }
    }
}
