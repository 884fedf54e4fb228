//! The redis.conf the lab shows for a cache node (`engine::redis::redis_conf`)
//! against the real `redis-server` 7.0: started from that file, it must
//! report every setting with the value the file gives (`CONFIG GET`), so
//! every name is Redis's own and every value one Redis reads as meant; and
//! the model's defaults must be a server's defaults when nothing is set.

#[path = "common/redis_server.rs"]
mod redis_server;

use engine::redis::{redis_conf, redis_settings, AppendFsync, MaxmemoryPolicy, RedisConfig, Reply};
use redis_server::{RedisServer, RespClient};

/// `CONFIG GET name`'s value.
fn config_get(c: &mut RespClient, name: &str) -> String {
    match c.call(&["CONFIG", "GET", name]) {
        Reply::Array(v) if v.len() == 2 => match &v[1] {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("CONFIG GET {name}: {other:?}"),
        },
        other => panic!("CONFIG GET {name}: {other:?} (not a setting Redis knows?)"),
    }
}

/// Starts redis-server from `text` as its configuration file.
fn start(text: &str, label: &str) -> RedisServer {
    let path = std::env::temp_dir().join(format!("clusterlab-redis-conf-{}-{label}.conf", std::process::id()));
    std::fs::write(&path, text).expect("write the configuration file");
    let server = RedisServer::start_with_conf(&path);
    let _ = std::fs::remove_file(&path);
    server
}

/// The `replica` class's hard limit in `client-output-buffer-limit`'s
/// value ("normal 0 0 0 slave 268435456 67108864 60 pubsub ...").
fn replica_limits(value: &str) -> Vec<String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "slave" || *w == "replica").expect("a replica class");
    words[at + 1..at + 4].iter().map(|w| w.to_string()).collect()
}

#[test]
fn the_defaults_are_a_real_servers_defaults() {
    let defaults = RedisConfig::default();
    let server = start("", "defaults");
    let mut c = server.client();
    for (name, ours) in redis_settings(&defaults, None) {
        assert_eq!(config_get(&mut c, name), ours, "{name}: the model's default differs from redis-server 7.0's");
    }
    let limits = replica_limits(&config_get(&mut c, "client-output-buffer-limit"));
    assert_eq!(limits[0], defaults.replica_output_buffer_limit.to_string(), "the replica output buffer's hard limit");
}

#[test]
fn a_configuration_file_means_to_redis_what_it_says() {
    // Every setting away from its default.
    let config = RedisConfig {
        maxmemory: 500_000,
        maxmemory_policy: MaxmemoryPolicy::VolatileLfu,
        maxmemory_samples: 7,
        maxmemory_eviction_tenacity: 20,
        lfu_log_factor: 5,
        lfu_decay_time: 3,
        hz: 50,
        active_expire_effort: 4,
        replica_read_only: false,
        replica_ignore_maxmemory: false,
        replicaof: Some("c1".into()),
        repl_backlog_size: 2 * 1024 * 1024,
        repl_backlog_ttl: 60,
        repl_timeout: 30,
        repl_ping_replica_period: 2,
        repl_diskless_sync_delay: 1,
        min_replicas_to_write: 1,
        min_replicas_max_lag: 5,
        replica_serve_stale_data: false,
        replica_priority: 7,
        replica_output_buffer_limit: 64 * 1024 * 1024,
        save: "900 1  60 1000".into(),
        appendonly: true,
        appendfsync: AppendFsync::Always,
    };
    assert!(config.validate().is_ok());
    let defaults = redis_settings(&RedisConfig::default(), Some("127.0.0.1 1"));
    let ours = redis_settings(&config, Some("127.0.0.1 1"));
    for ((name, default), (_, value)) in defaults.iter().zip(&ours) {
        let not_a_field = matches!(*name, "replicaof" | "repl-diskless-sync");
        assert!(default != value || not_a_field, "{name} is left at its default ({value}): set it to something else");
    }
    let server = start(&redis_conf("c2", &config, Some("127.0.0.1 1")), "set");
    let mut c = server.client();
    for (name, value) in &ours {
        assert_eq!(&config_get(&mut c, name), value, "{name}");
    }
    assert_eq!(replica_limits(&config_get(&mut c, "client-output-buffer-limit")), ["67108864", "0", "0"]);
    // And with no snapshots at all.
    let none = RedisConfig { save: String::new(), ..RedisConfig::default() };
    let server = start(&redis_conf("c3", &none, None), "no-save");
    assert_eq!(config_get(&mut server.client(), "save"), "");
}
