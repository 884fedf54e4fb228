//! A cache node's settings as the `redis.conf` Redis 7.0 would read: the
//! real names (`maxmemory-policy`, `min-replicas-to-write`), yes and no
//! for switches. `engine/tests/redis_conf.rs` starts the real
//! `redis-server` with this file and reads every setting back with
//! `CONFIG GET`, and checks the defaults against a server started without
//! one.

use super::config::RedisConfig;
use std::fmt::Write;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The settings of `config`, in file order, as (name, value) pairs; the
/// value as `CONFIG GET` answers it. `replicaof` is the `host port` the
/// instance replicates, if any.
pub fn redis_settings(config: &RedisConfig, replicaof: Option<&str>) -> Vec<(&'static str, String)> {
    let c = config;
    let mut v: Vec<(&'static str, String)> = vec![
        ("maxmemory", c.maxmemory.to_string()),
        ("maxmemory-policy", c.maxmemory_policy.name().to_string()),
        ("maxmemory-samples", c.maxmemory_samples.to_string()),
        ("maxmemory-eviction-tenacity", c.maxmemory_eviction_tenacity.to_string()),
        ("lfu-log-factor", c.lfu_log_factor.to_string()),
        ("lfu-decay-time", c.lfu_decay_time.to_string()),
        ("hz", c.hz.to_string()),
        ("active-expire-effort", c.active_expire_effort.to_string()),
    ];
    if let Some(primary) = replicaof {
        v.push(("replicaof", primary.to_string()));
    }
    v.extend([
        ("replica-read-only", yes(c.replica_read_only).to_string()),
        ("replica-ignore-maxmemory", yes(c.replica_ignore_maxmemory).to_string()),
        ("replica-serve-stale-data", yes(c.replica_serve_stale_data).to_string()),
        ("replica-priority", c.replica_priority.to_string()),
        // The model's full synchronisations stream the RDB (diskless).
        ("repl-diskless-sync", "yes".to_string()),
        ("repl-diskless-sync-delay", c.repl_diskless_sync_delay.to_string()),
        ("repl-backlog-size", c.repl_backlog_size.to_string()),
        ("repl-backlog-ttl", c.repl_backlog_ttl.to_string()),
        ("repl-timeout", c.repl_timeout.to_string()),
        ("repl-ping-replica-period", c.repl_ping_replica_period.to_string()),
        ("min-replicas-to-write", c.min_replicas_to_write.to_string()),
        ("min-replicas-max-lag", c.min_replicas_max_lag.to_string()),
        ("save", c.save.split_whitespace().collect::<Vec<_>>().join(" ")),
        ("appendonly", yes(c.appendonly).to_string()),
        ("appendfsync", c.appendfsync.name().to_string()),
    ]);
    v
}

/// The whole file for the cache node `name`. Only the hard limit of a
/// replica's output buffer is modelled, so the soft limit is written off.
pub fn redis_conf(name: &str, config: &RedisConfig, replicaof: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Cluster Lab cache `{name}` as Redis 7.0 configuration.");
    let _ = writeln!(out, "# maxmemory counts the model's bytes per key, not a real process's memory.");
    for (k, v) in redis_settings(config, replicaof) {
        let v = if v.is_empty() { "\"\"" } else { &v };
        let _ = writeln!(out, "{k} {v}");
    }
    let _ = writeln!(out, "# Only the hard limit is modelled (Redis's default soft limit is 64mb for 60 s).");
    let _ = writeln!(out, "client-output-buffer-limit replica {} 0 0", config.replica_output_buffer_limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_its_redis_name_and_value() {
        let text = redis_conf("redis", &RedisConfig::default(), None);
        assert!(text.contains("\nmaxmemory-policy noeviction\n"), "{text}");
        assert!(text.contains("\nsave 3600 1 300 100 60 10000\n"), "{text}");
        assert!(text.contains("\nappendonly no\n"), "{text}");
        assert!(text.ends_with("client-output-buffer-limit replica 268435456 0 0\n"), "{text}");
        assert!(!text.contains("replicaof"));
        let c = RedisConfig { save: String::new(), replicaof: Some("redis1".into()), ..RedisConfig::default() };
        let text = redis_conf("redis2", &c, Some("10.0.0.2 6379"));
        assert!(text.contains("\nsave \"\"\n") && text.contains("\nreplicaof 10.0.0.2 6379\n"), "{text}");
        // No field of the scenario format left out: one setting each (the
        // buffer limit has a line of its own; repl-diskless-sync is not a
        // field), and `replicaof` when it is set.
        let fields = serde_json::to_value(RedisConfig::default()).unwrap().as_object().unwrap().len();
        assert_eq!(redis_settings(&RedisConfig::default(), None).len(), fields);
        assert_eq!(redis_settings(&c, Some("10.0.0.2 6379")).len(), fields + 1);
    }
}
