//! The server's settings, with Redis 7.0's names and defaults (`config.c`,
//! checked with `CONFIG GET` on 7.0.15).

use serde::{Deserialize, Serialize};
use std::fmt;

/// `maxmemory-policy`.
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
        }
    }
}

impl RedisConfig {
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
        check("active_expire_effort", self.active_expire_effort, 1, 10)
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
