//! Redis's persistence: what a cache keeps through a crash (its process
//! killed) and a power loss (its host off), with RDB snapshots (`save`)
//! and the append-only file by `appendfsync`, judged by the checker with
//! the final reads after the run, and against a real `redis-server`
//! killed and started again.
mod common;
use common::*;
use engine::history::Outcome;
use engine::trace::{Note, What};
use engine::Simulation;
use serde_json::{json, Value};

/// A writer sets 2,000 keys on the cache `c1`, 500 times a second, for
/// 20 s (so most keys are written once), with `faults`. `redis` is `c1`'s
/// Redis settings.
fn writing(redis: Value, faults: Value) -> Value {
    json!({
        "version": 1, "seed": 5, "duration": "20s",
        "nodes": [
            { "name": "writer", "type": "client", "target": "c1", "timeout": "1s",
              "workload": { "kind": "open_loop", "rate": 500, "arrival": "constant" },
              "ops": { "read_fraction": 0.0, "keys": 2000 } },
            { "name": "c1", "type": "cache", "redis": redis },
        ],
        "links": [{ "between": ["writer", "c1"] }],
        "faults": faults,
    })
}

/// `writing`, with `c1` down at 10 s (its process killed, or with
/// `host_down` its host off) and started again at 11 s; the run and its
/// lost writes with the final reads.
fn run(redis: Value, host_down: bool) -> (Simulation, usize) {
    let v = writing(
        redis,
        json!([
            { "at": "10s", "action": "crash", "node": "c1", "host_down": host_down },
            { "at": "11s", "action": "restart", "node": "c1" },
        ]),
    );
    let s = scenario(v);
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_through(s.duration.nanos);
    let f = sim.final_reads().expect("a checked run");
    let lost = f.consistency.anomalies.lost_writes.count;
    (sim, lost)
}

/// When the lost writes were acknowledged: (earliest, latest).
fn lost_acks(sim: &Simulation) -> (u64, u64) {
    let f = sim.final_reads().unwrap();
    let ops = sim.history().ops();
    let acked: Vec<u64> =
        f.consistency.anomalies.lost_writes.examples.iter().filter_map(|x| ops.get(x.op)?.complete).collect();
    (*acked.iter().min().unwrap(), *acked.iter().max().unwrap())
}

fn loaded(sim: &Simulation) -> Vec<u32> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { note: Note::AofLoaded { keys }, .. } => Some(keys),
            _ => None,
        })
        .collect()
}

/// (time, keys) of notes.
type Noted = Vec<(u64, u32)>;

/// Each RDB snapshot saved, and each dump.rdb loaded.
fn rdb_notes(sim: &Simulation) -> (Noted, Noted) {
    let (mut saved, mut loaded) = (Vec::new(), Vec::new());
    for e in sim.trace().events() {
        match e.what {
            What::Note { note: Note::RdbSaved { keys }, .. } => saved.push((e.time, keys)),
            What::Note { note: Note::RdbFileLoaded { keys }, .. } => loaded.push((e.time, keys)),
            _ => {}
        }
    }
    (saved, loaded)
}

/// `writing` without faults, run until `t`: what the inspector shows of
/// `c1`.
fn cache_at(redis: Value, t: u64) -> engine::components::cache::CacheView {
    let mut sim = sim(writing(redis, json!([])));
    sim.run_until(t);
    match sim.node_state(1).detail {
        engine::sim::Detail::Cache(c) => c,
        other => panic!("{other:?}"),
    }
}

/// A writer runs the script `requests` on the cache `c1` (with `redis`
/// settings), whose process is killed at `crash` and started again at
/// `restart`; the run lasts `duration`. The differential tests' model side.
fn scripted(duration: &str, redis: Value, requests: Vec<Value>, crash: &str, restart: &str) -> Value {
    json!({
        "version": 1, "seed": 1, "duration": duration,
        "nodes": [
            { "name": "writer", "type": "client", "target": "c1", "max_outstanding": 100,
              "workload": { "kind": "script", "requests": requests } },
            { "name": "c1", "type": "cache", "redis": redis },
        ],
        "links": [{ "between": ["writer", "c1"] }],
        "faults": [
            { "at": crash, "action": "crash", "node": "c1" },
            { "at": restart, "action": "restart", "node": "c1" },
        ],
    })
}

/// What `c1` holds once it runs again.
fn restarted_keys(sim: &Simulation) -> &engine::redis::Keyspace {
    let engine::components::Component::Cache(cache) = &sim.node(1).component else { panic!("c1 is a cache") };
    cache.keyspace().expect("c1 runs again")
}

/// `SET k<k> <v>` on a real redis-server.
fn real_set(c: &mut redis_server::RespClient, k: u32, v: u64) {
    let set = [b"SET".to_vec(), format!("k{k}").into_bytes(), v.to_string().into_bytes()];
    assert_eq!(c.call(&set), engine::redis::Reply::Simple("OK".into()));
}

fn acknowledged(sim: &Simulation) -> usize {
    sim.history().ops().iter().filter(|o| o.outcome == Outcome::Ok).count()
}

#[test]
fn without_appendonly_a_crash_loses_every_key() {
    let (sim, lost) = run(json!({}), false);
    assert!(loaded(&sim).is_empty());
    // Redis's default save points need 60 s or more: no snapshot by 10 s.
    assert_eq!(rdb_notes(&sim), (vec![], vec![]));
    // The keys last written before 10 s and not written again after 11 s.
    assert!(lost > 300, "{lost}");
}

#[test]
fn with_appendonly_a_killed_process_loses_nothing() {
    for fsync in ["always", "everysec", "no"] {
        let (sim, lost) = run(json!({ "appendonly": true, "appendfsync": fsync }), false);
        assert_eq!(loaded(&sim).len(), 1, "{fsync}");
        assert!(loaded(&sim)[0] > 1_500, "{fsync}: the keys written by 10 s: {:?}", loaded(&sim));
        assert_eq!(lost, 0, "{fsync}: the page cache keeps the file");
        assert!(acknowledged(&sim) > 9_000, "{fsync}");
    }
}

#[test]
fn a_power_loss_takes_what_was_not_fsynced() {
    // always: every answer came after an fsync.
    let (_, lost) = run(json!({ "appendonly": true, "appendfsync": "always" }), true);
    assert_eq!(lost, 0);
    // everysec: the writes since the last fsync, at most a second or so.
    let (sim, lost) = run(json!({ "appendonly": true, "appendfsync": "everysec" }), true);
    assert!(lost > 0 && lost <= 600, "about one second of 500 writes a second: {lost}");
    let (first, last) = lost_acks(&sim);
    assert!(first >= 8_900 * MS && last < 10 * SEC, "acknowledged in the last second before 10 s: {first}..{last}");
    // no: Linux had not written the file back yet (it would at 35 s, 30 s
    // after it became dirty): the file is empty on disk.
    let (sim, lost) = run(json!({ "appendonly": true, "appendfsync": "no" }), true);
    assert_eq!(loaded(&sim), [0]);
    let (_, without) = run(json!({}), true);
    assert_eq!(lost, without, "as much as without the file");
}

#[path = "common/redis_server.rs"]
mod redis_server;

/// The same writes to a real `redis-server` with `appendonly yes` and to
/// the model; each is killed (SIGKILL) and started again: both replay
/// their append-only file and hold every acknowledged write.
#[test]
fn a_killed_redis_server_replays_its_append_only_file_as_the_model_does() {
    let writes: Vec<(u32, u64)> = (0..40).map(|i| (i % 25, 1000 + u64::from(i))).collect();
    let expected: std::collections::BTreeMap<u32, u64> = writes.iter().copied().collect();
    for fsync in ["always", "everysec", "no"] {
        // The real program.
        let args = ["--appendonly", "yes", "--appendfsync", fsync];
        let server = redis_server::RedisServer::start_with(&args, None);
        let mut c = server.client();
        for &(k, v) in &writes {
            real_set(&mut c, k, v);
        }
        let dir = server.kill();
        let server = redis_server::RedisServer::start_with(&args, Some(&dir));
        server.wait_loaded();
        let mut c = server.client();
        let mut real = std::collections::BTreeMap::new();
        for k in expected.keys() {
            if let engine::redis::Reply::Bulk(v) = c.call(&[b"GET".to_vec(), format!("k{k}").into_bytes()]) {
                real.insert(*k, String::from_utf8(v).unwrap().parse::<u64>().unwrap());
            }
        }
        assert_eq!(real, expected, "{fsync}: redis-server after kill -9");
        // The model: a scripted writer, c1 killed at 5 s, back at 6 s.
        let requests: Vec<Value> = writes
            .iter()
            .enumerate()
            .map(|(i, (k, v))| json!({ "at": format!("{}ms", 1000 + 50 * i), "write": k, "value": v }))
            .collect();
        let v = scripted("7s", json!({ "appendonly": true, "appendfsync": fsync }), requests, "5s", "6s");
        let mut sim = sim(v);
        sim.run_through(7 * SEC);
        assert_eq!(acknowledged(&sim), writes.len(), "{fsync}");
        let keys = restarted_keys(&sim);
        let model: std::collections::BTreeMap<u32, u64> = expected
            .keys()
            .filter_map(|k| {
                let (v, _) = keys.peek(format!("k{k}").as_bytes())?;
                Some((*k, std::str::from_utf8(v).ok()?.parse().ok()?))
            })
            .collect();
        assert_eq!(model, real, "{fsync}: the model after a crash, as redis-server after kill -9");
    }
}

#[test]
fn the_inspector_says_what_of_the_file_is_on_disk() {
    let view = |fsync: &str| {
        let c = cache_at(json!({ "appendonly": true, "appendfsync": fsync }), 9_950 * MS);
        c.aof.expect("appendonly")
    };
    let a = view("always");
    assert_eq!((a.appendfsync, a.unsynced_ms), ("always", None));
    assert!(a.keys_on_disk > 1_500, "{a:?}");
    // everysec: synced at 9 s; the changes since then wait.
    let e = view("everysec");
    assert!(e.keys_on_disk > 1_500 && e.unsynced_ms.is_some_and(|ms| ms <= 1_000), "{e:?}");
    // no: not written back before 35 s: only in memory since the start.
    let n = view("no");
    assert_eq!(n.keys_on_disk, 0, "{n:?}");
    assert!(n.unsynced_ms.is_some_and(|ms| ms > 9_000), "{n:?}");
}

#[test]
fn an_rdb_snapshot_brings_back_the_dataset_of_the_last_save() {
    // `save 5 1`: a snapshot once more than 5 s have passed with a change,
    // at 6 s; the next would come at 12 s, after the crash at 10 s.
    for host_down in [false, true] {
        let (sim, lost) = run(json!({ "save": "5 1" }), host_down);
        let (saved, loaded_rdb) = rdb_notes(&sim);
        let restarted: Vec<_> = saved.iter().filter(|s| s.0 < 10 * SEC).collect();
        assert_eq!(restarted.len(), 1, "{saved:?}");
        assert_eq!(restarted[0].0, 6 * SEC);
        assert_eq!(loaded_rdb.len(), 1, "{loaded_rdb:?}");
        assert_eq!((loaded_rdb[0].0, loaded_rdb[0].1), (11 * SEC, restarted[0].1), "the 6 s snapshot");
        // What was acknowledged after the snapshot is lost, even to a
        // killed process: dump.rdb is all there is.
        assert!(lost > 100, "{lost}");
        let (first, _) = lost_acks(&sim);
        assert!(first >= 6 * SEC, "{first}");
        assert!(loaded(&sim).is_empty());
    }
}

/// The same writes, a save, more writes, then kill -9: a real
/// `redis-server` started again with `save 1 1` holds the writes before
/// its snapshot and none after, as the model does.
#[test]
fn a_killed_redis_server_loads_its_last_snapshot_as_the_model_does() {
    let before: Vec<(u32, u64)> = (0..10).map(|k| (k, 100 + u64::from(k))).collect();
    let after: Vec<(u32, u64)> = (10..20).map(|k| (k, 100 + u64::from(k))).collect();
    let args = ["--save", "1 1"];
    let server = redis_server::RedisServer::start_with(&args, None);
    let mut c = server.client();
    for &(k, v) in &before {
        real_set(&mut c, k, v);
    }
    // The snapshot comes once more than a second has passed since the
    // start (wait on INFO, not on a clock).
    let field = |c: &mut redis_server::RespClient, name: &str| redis_server::info_field(&c.info("persistence"), name);
    let mut saved = false;
    for _ in 0..500 {
        if field(&mut c, "rdb_changes_since_last_save").as_deref() == Some("0")
            && field(&mut c, "rdb_bgsave_in_progress").as_deref() == Some("0")
        {
            saved = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(saved, "redis-server saved no snapshot within 5 s");
    for &(k, v) in &after {
        real_set(&mut c, k, v);
    }
    let dir = server.kill();
    let server = redis_server::RedisServer::start_with(&args, Some(&dir));
    server.wait_loaded();
    let mut c = server.client();
    let real: Vec<u32> = (0..20)
        .filter(|k| matches!(c.call(&[b"GET".to_vec(), format!("k{k}").into_bytes()]), engine::redis::Reply::Bulk(_)))
        .collect();
    assert_eq!(real, (0..10).collect::<Vec<_>>(), "redis-server: the snapshot's keys only");
    // The model: the first writes at 1 s, the snapshot at 2 s, the rest at
    // 2.5 s, killed at 3 s (before the next snapshot, due at 4 s).
    let mut requests: Vec<Value> = before.iter().map(|(k, v)| json!({ "at": "1s", "write": k, "value": v })).collect();
    requests.extend(after.iter().map(|(k, v)| json!({ "at": "2500ms", "write": k, "value": v })));
    let v = scripted("5s", json!({ "save": "1 1" }), requests, "3s", "4s");
    let mut sim = sim(v);
    sim.run_through(5 * SEC);
    assert_eq!(acknowledged(&sim), 20);
    assert_eq!(rdb_notes(&sim).0.first().map(|s| s.0), Some(2 * SEC));
    let keys = restarted_keys(&sim);
    let model: Vec<u32> = (0..20).filter(|k| keys.peek(format!("k{k}").as_bytes()).is_some()).collect();
    assert_eq!(model, real, "the model after a crash, as redis-server after kill -9");
}

#[test]
fn the_inspector_says_when_the_last_snapshot_was_saved() {
    let view = |save: &str| {
        let c = cache_at(json!({ "save": save }), 9_500 * MS);
        (c.save, c.rdb)
    };
    let (save, rdb) = view("5 1");
    assert_eq!(save, "5 1");
    let (keys, age) = rdb.expect("saved at 6 s");
    assert!(keys > 1_000 && age == 3, "{keys} keys, {age} s ago");
    assert_eq!(view("3600 1 300 100 60 10000").1, None, "no default save point within 10 s");
}
