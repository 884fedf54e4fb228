//! The server's settings, with Redis 7.0's names and defaults (`config.c`,
//! checked with `CONFIG GET` on 7.0.15).

use serde::{Deserialize, Serialize};
use std::fmt;

/// `maxmemory-policy`.
/// `appendfsync`: when the append-only file is fsynced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppendFsync {
    /// Before each reply.
    Always,
    /// Once a second (a background thread).
    #[default]
    Everysec,
    /// Never: Linux writes the file back when it sees fit.
    No,
}

impl AppendFsync {
    /// The name in `redis.conf`.
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxmemoryPolicy {
    #[default]
    #[serde(rename = "noeviction")]
    NoEviction,
    #[serde(rename = "allkeys-lru")]
    AllkeysLru,
    #[serde(rename = "allkeys-lfu")]
    AllkeysLfu,
    #[serde(rename = "allkeys-random")]
    AllkeysRandom,
    #[serde(rename = "volatile-lru")]
    VolatileLru,
    #[serde(rename = "volatile-lfu")]
    VolatileLfu,
    #[serde(rename = "volatile-random")]
    VolatileRandom,
    #[serde(rename = "volatile-ttl")]
    VolatileTtl,
}

impl MaxmemoryPolicy {
    pub const ALL: [MaxmemoryPolicy; 8] = [
        MaxmemoryPolicy::NoEviction,
        MaxmemoryPolicy::AllkeysLru,
        MaxmemoryPolicy::AllkeysLfu,
        MaxmemoryPolicy::AllkeysRandom,
        MaxmemoryPolicy::VolatileLru,
        MaxmemoryPolicy::VolatileLfu,
        MaxmemoryPolicy::VolatileRandom,
        MaxmemoryPolicy::VolatileTtl,
    ];

    /// The name `CONFIG SET maxmemory-policy` takes.
    pub fn name(self) -> &'static str {
        match self {
            MaxmemoryPolicy::NoEviction => "noeviction",
            MaxmemoryPolicy::AllkeysLru => "allkeys-lru",
            MaxmemoryPolicy::AllkeysLfu => "allkeys-lfu",
            MaxmemoryPolicy::AllkeysRandom => "allkeys-random",
            MaxmemoryPolicy::VolatileLru => "volatile-lru",
            MaxmemoryPolicy::VolatileLfu => "volatile-lfu",
            MaxmemoryPolicy::VolatileRandom => "volatile-random",
            MaxmemoryPolicy::VolatileTtl => "volatile-ttl",
        }
    }

    pub fn from_name(name: &str) -> Option<MaxmemoryPolicy> {
        MaxmemoryPolicy::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// `MAXMEMORY_FLAG_LFU`: the object's 24-bit `lru` field holds LFU data.
    pub fn is_lfu(self) -> bool {
        matches!(self, MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu)
    }

    /// `MAXMEMORY_FLAG_LRU`.
    pub fn is_lru(self) -> bool {
        matches!(self, MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::VolatileLru)
    }

    /// `MAXMEMORY_FLAG_ALLKEYS`: candidates are all keys, not only those
    /// with a TTL.
    pub fn is_allkeys(self) -> bool {
        matches!(self, MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::AllkeysRandom)
    }

    /// Policies that pick by the eviction pool (all but the random ones and
    /// noeviction).
    pub fn uses_pool(self) -> bool {
        self.is_lru() || self.is_lfu() || self == MaxmemoryPolicy::VolatileTtl
    }
}

impl fmt::Display for MaxmemoryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn default_samples() -> u32 {
    5
}
fn default_tenacity() -> u32 {
    10
}
fn default_lfu_log_factor() -> u32 {
    10
}
fn default_lfu_decay_time() -> u32 {
    1
}
fn default_hz() -> u32 {
    10
}
fn default_effort() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_backlog_size() -> u64 {
    1024 * 1024
}
fn default_backlog_ttl() -> u32 {
    3600
}
fn default_repl_timeout() -> u32 {
    60
}
fn default_ping_period() -> u32 {
    10
}
fn default_diskless_delay() -> u32 {
    5
}
fn default_max_lag() -> u32 {
    10
}
fn default_priority() -> u32 {
    100
}
fn default_save() -> String {
    "3600 1 300 100 60 10000".into()
}
fn default_output_buffer_limit() -> u64 {
    256 * 1024 * 1024
}

/// Redis's smallest replication backlog (`CONFIG_REPL_BACKLOG_MIN_SIZE`).
pub const MIN_BACKLOG_SIZE: u64 = 16 * 1024;
/// The model's largest (1 GiB).
pub const MAX_BACKLOG_SIZE: u64 = 1 << 30;
/// The model's largest replica output buffer limit (4 GiB).
pub const MAX_OUTPUT_BUFFER_LIMIT: u64 = 1 << 32;

/// Redis's settings for the keyspace. Field names are Redis's with `_` for
/// `-`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Bytes of modelled memory (see the module documentation for the cost
    /// of a key); 0 means no limit.
    #[serde(default)]
    pub maxmemory: u64,
    #[serde(default)]
    pub maxmemory_policy: MaxmemoryPolicy,
    /// Keys sampled per eviction-pool refill (1 to 64).
    #[serde(default = "default_samples")]
    pub maxmemory_samples: u32,
    /// How long one eviction pass may run before the rest is left to later
    /// passes (0 to 100; 10 is 500 µs).
    #[serde(default = "default_tenacity")]
    pub maxmemory_eviction_tenacity: u32,
    #[serde(default = "default_lfu_log_factor")]
    pub lfu_log_factor: u32,
    /// Minutes per decrement of an idle key's LFU counter (0: never decay).
    #[serde(default = "default_lfu_decay_time")]
    pub lfu_decay_time: u32,
    /// `serverCron` calls per second (1 to 500); sets the slow expire
    /// cycle's time budget.
    #[serde(default = "default_hz")]
    pub hz: u32,
    /// 1 to 10: more work per expire cycle, fewer stale keys.
    #[serde(default = "default_effort")]
    pub active_expire_effort: u32,
    /// A replica refuses writes from clients.
    #[serde(default = "yes")]
    pub replica_read_only: bool,
    /// A replica does not evict (its primary's DELs do it).
    #[serde(default = "yes")]
    pub replica_ignore_maxmemory: bool,
    /// `replicaof`: the cache node this one replicates (Redis takes a host
    /// and port; a scenario names the node). Unset: a primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicaof: Option<String>,
    /// Bytes of replication stream kept for partial resynchronisation.
    #[serde(default = "default_backlog_size")]
    pub repl_backlog_size: u64,
    /// Seconds without replicas after which a primary frees its backlog.
    #[serde(default = "default_backlog_ttl")]
    pub repl_backlog_ttl: u32,
    /// Seconds without news after which a replication link is dead (both
    /// sides).
    #[serde(default = "default_repl_timeout")]
    pub repl_timeout: u32,
    /// Seconds between the PINGs a primary puts in its stream.
    #[serde(default = "default_ping_period")]
    pub repl_ping_replica_period: u32,
    /// Seconds a primary waits for more replicas before starting a full
    /// synchronisation's transfer (diskless replication).
    #[serde(default = "default_diskless_delay")]
    pub repl_diskless_sync_delay: u32,
    /// Writes are refused unless at least this many replicas acknowledged
    /// within `min_replicas_max_lag` seconds (0: never refused).
    #[serde(default)]
    pub min_replicas_to_write: u32,
    #[serde(default = "default_max_lag")]
    pub min_replicas_max_lag: u32,
    /// A replica whose link is down still answers reads (with old data).
    #[serde(default = "yes")]
    pub replica_serve_stale_data: bool,
    /// Sentinels promote the replica with the lowest priority first; 0:
    /// never.
    #[serde(default = "default_priority")]
    pub replica_priority: u32,
    /// `client-output-buffer-limit replica` (the hard limit): bytes of
    /// stream a primary holds for one replica while its RDB is sent; past
    /// it the replica is disconnected and must start over.
    #[serde(default = "default_output_buffer_limit")]
    pub replica_output_buffer_limit: u64,
    /// `save`: RDB snapshot points as Redis writes them, pairs of seconds
    /// and changes (Redis 7.0's default `"3600 1 300 100 60 10000"`): a
    /// snapshot once that many seconds have passed since the last one with
    /// at least that many changes. `""`: none.
    #[serde(default = "default_save")]
    pub save: String,
    /// `appendonly`: log every write to the append-only file, and load it
    /// when the process starts again.
    #[serde(default)]
    pub appendonly: bool,
    #[serde(default)]
    pub appendfsync: AppendFsync,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: default_samples(),
            maxmemory_eviction_tenacity: default_tenacity(),
            lfu_log_factor: default_lfu_log_factor(),
            lfu_decay_time: default_lfu_decay_time(),
            hz: default_hz(),
            active_expire_effort: default_effort(),
            replica_read_only: true,
            replica_ignore_maxmemory: true,
            replicaof: None,
            repl_backlog_size: default_backlog_size(),
            repl_backlog_ttl: default_backlog_ttl(),
            repl_timeout: default_repl_timeout(),
            repl_ping_replica_period: default_ping_period(),
            repl_diskless_sync_delay: default_diskless_delay(),
            min_replicas_to_write: 0,
            min_replicas_max_lag: default_max_lag(),
            replica_serve_stale_data: true,
            replica_priority: default_priority(),
            save: default_save(),
            appendonly: false,
            appendfsync: AppendFsync::Everysec,
            replica_output_buffer_limit: default_output_buffer_limit(),
        }
    }
}

impl RedisConfig {
    /// `save` read: (seconds, changes) pairs, each seconds at least 1.
    pub fn save_points(&self) -> Result<Vec<(u64, u64)>, String> {
        let bad = || {
            format!(
                "save takes pairs of seconds (at least 1) and changes, as in \"3600 1 300 100 60 10000\", or \"\" for no snapshots; got \"{}\"",
                self.save
            )
        };
        let words: Vec<&str> = self.save.split_whitespace().collect();
        if !words.len().is_multiple_of(2) || words.len() > 32 {
            return Err(bad());
        }
        words
            .chunks(2)
            .map(|p| match (p[0].parse::<u64>(), p[1].parse::<u64>()) {
                (Ok(s), Ok(c)) if s >= 1 => Ok((s, c)),
                _ => Err(bad()),
            })
            .collect()
    }

    /// Redis's own bounds (`config.c`): `(field, message)` for the first
    /// setting out of range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let check = |field: &str, value: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err((field.to_string(), format!("{field} must be {lo} to {hi}, got {value}")))
            }
        };
        check("maxmemory_samples", self.maxmemory_samples, 1, 64)?;
        check("maxmemory_eviction_tenacity", self.maxmemory_eviction_tenacity, 0, 100)?;
        check("lfu_log_factor", self.lfu_log_factor, 0, i32::MAX as u32)?;
        check("lfu_decay_time", self.lfu_decay_time, 0, i32::MAX as u32)?;
        check("hz", self.hz, 1, 500)?;
        check("active_expire_effort", self.active_expire_effort, 1, 10)?;
        if !(MIN_BACKLOG_SIZE..=MAX_BACKLOG_SIZE).contains(&self.repl_backlog_size) {
            return Err((
                "repl_backlog_size".into(),
                format!(
                    "repl_backlog_size must be {MIN_BACKLOG_SIZE} to {MAX_BACKLOG_SIZE} bytes, got {}",
                    self.repl_backlog_size
                ),
            ));
        }
        check("repl_backlog_ttl", self.repl_backlog_ttl, 0, i32::MAX as u32)?;
        check("repl_timeout", self.repl_timeout, 1, 86_400)?;
        check("repl_ping_replica_period", self.repl_ping_replica_period, 1, 86_400)?;
        check("repl_diskless_sync_delay", self.repl_diskless_sync_delay, 0, 86_400)?;
        check("min_replicas_to_write", self.min_replicas_to_write, 0, 500)?;
        check("min_replicas_max_lag", self.min_replicas_max_lag, 0, 86_400)?;
        check("replica_priority", self.replica_priority, 0, i32::MAX as u32)?;
        self.save_points().map_err(|m| ("save".to_string(), m))?;
        if !(MIN_BACKLOG_SIZE..=MAX_OUTPUT_BUFFER_LIMIT).contains(&self.replica_output_buffer_limit) {
            return Err((
                "replica_output_buffer_limit".into(),
                format!(
                    "replica_output_buffer_limit must be {MIN_BACKLOG_SIZE} to {MAX_OUTPUT_BUFFER_LIMIT} bytes, got {}",
                    self.replica_output_buffer_limit
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_redis_7_0s() {
        let c: RedisConfig = serde_json::from_str("{}").expect("all fields default");
        assert_eq!(c, RedisConfig::default());
        assert_eq!(c.maxmemory_samples, 5);
        assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::NoEviction);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn policy_names_round_trip() {
        for p in MaxmemoryPolicy::ALL {
            assert_eq!(MaxmemoryPolicy::from_name(p.name()), Some(p));
            let json = serde_json::to_string(&p).expect("serialises");
            assert_eq!(json, format!("\"{}\"", p.name()));
        }
        assert!(MaxmemoryPolicy::AllkeysLfu.is_lfu() && MaxmemoryPolicy::AllkeysLfu.is_allkeys());
        assert!(!MaxmemoryPolicy::VolatileTtl.is_allkeys() && MaxmemoryPolicy::VolatileTtl.uses_pool());
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let c = RedisConfig { maxmemory_samples: 0, ..RedisConfig::default() };
        assert_eq!(c.validate().unwrap_err().0, "maxmemory_samples");
        let c = RedisConfig { active_expire_effort: 11, ..RedisConfig::default() };
        assert_eq!(c.validate().unwrap_err().0, "active_expire_effort");
    }
}
