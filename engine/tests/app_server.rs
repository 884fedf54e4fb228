//! App servers reading and writing through a Redis cache and a database:
//! the caching patterns and their race windows, shown in the history.
mod common;
use common::*;
use engine::history::{OpRecord, Outcome};
use engine::message::Op;
use engine::sim::Detail;
use serde_json::{json, Value};

/// A reader client and a writer client, each with its own app server, one
/// cache and one database. `handler` is merged into both app servers'.
fn cached(handler: Value, reader_db_latency: &str, keys: u32) -> Value {
    let mut h = json!({ "database": "db", "cache": "redis", "ttl": "1s" });
    h.as_object_mut().unwrap().extend(handler.as_object().unwrap().clone());
    json!({
        "version": 1,
        "seed": 9,
        "nodes": [
            { "name": "reader", "type": "client", "target": "app_r",
              "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" },
              "timeout": "2s", "ops": { "read_fraction": 1.0, "keys": keys } },
            { "name": "writer", "type": "client", "target": "app_w",
              "workload": { "kind": "open_loop", "rate": 7, "arrival": "constant" },
              "timeout": "2s", "ops": { "read_fraction": 0.0, "keys": keys } },
            { "name": "app_r", "type": "server", "workers": 16, "service_time": "1ms", "handler": h.clone() },
            { "name": "app_w", "type": "server", "workers": 16, "service_time": "1ms", "handler": h },
            { "name": "redis", "type": "cache" },
            { "name": "db", "type": "database" }
        ],
        "links": [
            { "between": ["reader", "app_r"], "latency": "1ms" },
            { "between": ["writer", "app_w"], "latency": "1ms" },
            { "between": ["app_r", "redis"], "latency": "1ms" },
            { "between": ["app_w", "redis"], "latency": "1ms" },
            { "between": ["app_r", "db"], "latency": reader_db_latency },
            { "between": ["app_w", "db"], "latency": "1ms" }
        ]
    })
}

/// Reads that returned something other than the value of the last write
/// acknowledged before the read began, when no write was in progress at any
/// time during the read: stale by any definition.
fn stale_reads(ops: &[OpRecord]) -> usize {
    let writes: Vec<&OpRecord> = ops.iter().filter(|o| matches!(o.op, Op::Write { .. })).collect();
    ops.iter()
        .filter(|r| matches!(r.op, Op::Read { .. }) && r.outcome == Outcome::Ok)
        .filter(|r| {
            let key = r.op.key();
            let end = r.complete.unwrap();
            let same_key = writes.iter().filter(|w| w.op.key() == key);
            // No write to this key overlapped the read.
            if same_key.clone().any(|w| w.invoke <= end && w.complete.is_none_or(|c| c >= r.invoke)) {
                return false;
            }
            let last = same_key
                .filter(|w| w.outcome == Outcome::Ok && w.complete.unwrap() < r.invoke)
                .max_by_key(|w| w.complete);
            match last {
                Some(w) => {
                    let Op::Write { value, .. } = w.op else { unreachable!() };
                    r.value != Some(value)
                }
                None => false,
            }
        })
        .count()
}

#[test]
fn cache_aside_stale_fill_race_leaves_stale_data_until_the_ttl() {
    // The reader's app server is far from the database (40 ms each way):
    // its fills race with the writer's invalidations.
    let mut sim = sim(cached(json!({ "read": "cache_aside", "write": "write_around" }), "40ms", 1));
    sim.run_until(20 * SEC);
    let stale = stale_reads(sim.history().ops());
    assert!(stale > 20, "stale reads: {stale}");
    // With the same traffic but no cache, there are none.
    let mut direct = sim_without_cache();
    direct.run_until(20 * SEC);
    assert_eq!(stale_reads(direct.history().ops()), 0);
}

fn sim_without_cache() -> engine::Simulation {
    let mut v = cached(json!({ "read": "database", "write": "database" }), "40ms", 1);
    for app in [2, 3] {
        v["nodes"][app]["handler"].as_object_mut().unwrap().remove("cache");
    }
    sim(v)
}

#[test]
fn cache_aside_reaches_a_high_hit_ratio() {
    let mut v = cached(json!({}), "1ms", 50);
    v["nodes"][0]["workload"]["rate"] = json!(1000);
    v["nodes"][2]["handler"]["ttl"] = json!("60s");
    // The writer gives every key a value in the first two seconds, then
    // stops (absent keys are not cached: every read of one misses).
    v["nodes"][1]["workload"]["rate"] = json!(200);
    v["nodes"][1]["stop"] = json!("2s");
    let mut sim = sim(v);
    let cache = |sim: &engine::Simulation| match sim.node_state(4).detail {
        Detail::Cache(c) => c,
        other => panic!("{other:?}"),
    };
    sim.run_until(5 * SEC);
    let before = cache(&sim);
    sim.run_until(10 * SEC);
    let after = cache(&sim);
    let (hits, misses) = (after.hits - before.hits, after.misses - before.misses);
    let ratio = hits as f64 / (hits + misses) as f64;
    assert!(ratio > 0.99, "hit ratio {ratio} ({hits} hits, {misses} misses)");
    assert_eq!(after.keys, 50);
}

#[test]
fn read_through_loads_a_key_once_for_concurrent_misses() {
    // 100 reads per second of one key whose cached value expires every
    // 100 ms; the database is 40 ms away, so several reads miss at once.
    let count_db_reads = |read: &str| {
        let mut sim = sim(cached(json!({ "read": read, "ttl": "100ms" }), "40ms", 1));
        sim.run_until(10 * SEC);
        let (app, db) = (sim.node_id("app_r").unwrap(), sim.node_id("db").unwrap());
        sim.trace()
            .events()
            .iter()
            .filter(|e| {
                matches!(e.what, engine::trace::What::Deliver { from, to, msg: engine::message::Message::Request(r), .. }
                    if from == app && to == db && matches!(r.op, Op::Read { .. }))
            })
            .count()
    };
    let aside = count_db_reads("cache_aside");
    let through = count_db_reads("read_through");
    assert!(through * 3 < aside, "read-through {through} database reads, cache-aside {aside}");
}

#[test]
fn write_behind_loses_acknowledged_writes_when_the_app_server_crashes() {
    let mut v = cached(json!({ "write": "write_behind", "flush_every": "1s" }), "1ms", 5);
    v["nodes"][1]["workload"]["rate"] = json!(100);
    v["nodes"][1]["stop"] = json!("2900ms");
    v["faults"] = json!([{ "at": "2950ms", "action": "crash", "node": "app_w" }]);
    let mut sim = sim(v);
    sim.run_until(5 * SEC);
    let engine::components::Component::Database(db) = &sim.node(sim.node_id("db").unwrap()).component else { panic!() };
    let ops = sim.history().ops();
    let mut lost = 0;
    for key in 0..5u32 {
        let last = ops
            .iter()
            .filter(|o| matches!(o.op, Op::Write { key: k, .. } if k == key) && o.outcome == Outcome::Ok)
            .max_by_key(|o| o.complete);
        if let Some(w) = last {
            let Op::Write { value, .. } = w.op else { unreachable!() };
            if db.disk.store.get(&key).map(|v| v.value) != Some(value) {
                lost += 1;
            }
        }
    }
    assert!(lost >= 3, "acknowledged writes missing from the database: {lost}");
}

#[test]
fn app_servers_follow_the_database_failover() {
    let mut v = cached(json!({ "write": "database", "read": "database" }), "1ms", 5);
    let nodes = v["nodes"].as_array_mut().unwrap();
    nodes[5] = json!({ "name": "db", "type": "database", "replicas": ["db2"],
        "failover": { "heartbeat": "100ms", "detect_after": "500ms" } });
    nodes.push(json!({ "name": "db2", "type": "database", "replica_of": "db",
        "failover": { "heartbeat": "100ms", "detect_after": "500ms" } }));
    for app in [2, 3] {
        nodes[app]["handler"].as_object_mut().unwrap().remove("cache");
    }
    let links = v["links"].as_array_mut().unwrap();
    links.push(json!({ "between": ["db", "db2"], "latency": "1ms" }));
    links.push(json!({ "between": ["app_r", "db2"], "latency": "1ms" }));
    links.push(json!({ "between": ["app_w", "db2"], "latency": "1ms" }));
    v["nodes"][1]["workload"]["rate"] = json!(100);
    v["faults"] = json!([{ "at": "2s", "action": "crash", "node": "db", "host_down": true }]);
    let mut sim = sim(v);
    sim.run_through(5 * SEC);
    // Writes fail (time out) while nobody is primary, then succeed again.
    let rows = sim.metrics().series();
    // Calls to the dead primary hold every worker until they time out
    // after 1 s (504: indeterminate); meanwhile nothing completes ...
    assert_eq!(rows[2].counts.ok, 0, "{:?}", rows[2].counts);
    assert_eq!(rows[3].counts.timeouts, 32, "16 workers on each app server: {:?}", rows[3].counts);
    // ... until db2 takes over and announces itself; then all is well.
    assert!(rows[4].error_rate + rows[4].timeout_rate < 0.01, "{:?}", rows[4]);
    assert_eq!(rows[4].counts.ok, 200, "{:?}", rows[4].counts);
}

#[test]
fn a_crashed_database_refuses_calls_at_once_and_a_crashed_cache_is_skipped() {
    let mut v = cached(json!({ "read": "cache_aside", "write": "write_around" }), "1ms", 5);
    v["nodes"][1]["workload"]["rate"] = json!(100);
    v["faults"] = json!([
        { "at": "2s", "action": "crash", "node": "redis" },
        { "at": "4s", "action": "crash", "node": "db" }
    ]);
    let mut sim = sim(v);
    sim.run_through(6 * SEC);
    let rows = sim.metrics().series();
    // Without the cache, reads go to the database: all still answered.
    let c = rows[3].counts;
    assert!(c.ok >= 195 && c.errors + c.timeouts == 0, "{c:?}");
    assert!(matches!(sim.node_state(4).detail, Detail::Cache(ref c) if c.keys == 0));
    // The database's host refuses connections: 503 at once, not timeouts.
    let c = rows[5].counts;
    assert!(c.errors >= 195 && c.ok == 0 && c.timeouts == 0, "{c:?}");
}

/// A database killed while it holds writes: its host closes their
/// connections, and the app server answers each 502 at once (the write
/// may have been done), not 504 after waiting. Writes sent after the
/// crash are refused: 503, not done.
#[test]
fn a_database_killed_holding_writes_gets_502s_at_once() {
    use engine::message::{Message, Status};
    use engine::trace::What;
    let mut sim = sim(json!({
        "version": 1, "seed": 2,
        "nodes": [
            { "name": "c", "type": "client", "target": "app", "timeout": "5s",
              "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" },
              "ops": { "read_fraction": 0.0, "keys": 10 } },
            { "name": "app", "type": "server", "workers": 16, "service_time": "1ms",
              "handler": { "database": "db" } },
            { "name": "db", "type": "database", "workers": 4, "service_time": "100ms" }
        ],
        "links": [ { "between": ["c", "app"], "latency": "1ms" }, { "between": ["app", "db"], "latency": "1ms" } ],
        "faults": [ { "at": "1s", "action": "crash", "node": "db" } ]
    }));
    sim.run_until(2 * SEC);
    let c = sim.node_id("c").unwrap();
    let answers: Vec<(u64, Status)> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { to, msg: Message::Response(r), .. } if *to == c && e.time > SEC => Some((e.time, r.status)),
            _ => None,
        })
        .collect();
    // The closes reach the app at 1.001 s; its 502s reach the client 1 ms later.
    let bad: Vec<u64> = answers.iter().filter(|a| a.1 == Status::BadGateway).map(|a| a.0).collect();
    assert!(!bad.is_empty() && bad.iter().all(|&t| t == SEC + 2 * MS), "{answers:?}");
    assert!(answers.iter().any(|a| a.1 == Status::ServiceUnavailable), "later writes are refused");
    assert!(answers.iter().all(|a| a.1 != Status::GatewayTimeout), "nobody waited: {answers:?}");
    // In the history: the 502s are indeterminate, the 503s failed.
    let ops = sim.history().ops();
    assert!(ops.iter().filter(|o| o.complete == Some(SEC + 2 * MS)).all(|o| o.outcome == Outcome::Info));
}

/// A deep health endpoint reads from the database. When the database is
/// down every app server fails its checks at once, so the load balancer
/// marks them all DOWN and answers 503 itself; and when the database is
/// back, the servers serve nothing until `rise` checks have passed. A
/// shallow endpoint keeps them UP: they answer 503 themselves while the
/// database is down, and serve again the moment it is back.
#[test]
fn a_deep_health_check_takes_every_server_down_with_the_database() {
    use engine::trace::{Note, What};
    let run = |health: &str| {
        let h = json!({ "database": "db", "health": health });
        let mut s = sim(json!({
            "version": 1, "seed": 4,
            "nodes": [
                { "name": "c", "type": "client", "target": "lb", "timeout": "2s",
                  "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" },
                  "ops": { "read_fraction": 1.0, "keys": 10 } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "httpchk": "GET /health",
                  "default_server": { "check": true, "inter": "500ms", "rise": 2, "fall": 2 },
                  "servers": [ { "name": "web1" }, { "name": "web2" } ] },
                { "name": "web1", "type": "server", "workers": 8, "service_time": "1ms", "handler": h.clone() },
                { "name": "web2", "type": "server", "workers": 8, "service_time": "1ms", "handler": h },
                { "name": "db", "type": "database" }
            ],
            "links": [
                { "between": ["c", "lb"], "latency": "1ms" }, { "between": ["lb", "web1"], "latency": "1ms" },
                { "between": ["lb", "web2"], "latency": "1ms" }, { "between": ["web1", "db"], "latency": "1ms" },
                { "between": ["web2", "db"], "latency": "1ms" }
            ],
            "faults": [ { "at": "2s", "action": "crash", "node": "db" }, { "at": "5s", "action": "restart", "node": "db" } ]
        }));
        s.run_through(9 * SEC);
        s
    };
    let notes = |s: &engine::Simulation, up: bool| {
        let events = s.trace().events().iter();
        events
            .filter(|e| match &e.what {
                What::Note { note: Note::ServerUp { .. }, .. } => up,
                What::Note { note: Note::ServerDown { .. }, .. } => !up,
                _ => false,
            })
            .map(|e| e.time)
            .collect::<Vec<_>>()
    };
    let shallow = run("shallow");
    assert!(notes(&shallow, false).is_empty(), "the servers stay UP");
    let rows = shallow.metrics().series();
    assert!(rows[3].counts.ok == 0 && rows[3].counts.errors >= 95, "they answer 503 themselves: {:?}", rows[3].counts);
    assert!(rows[6].counts.ok >= 95, "and serve again at once: {:?}", rows[6].counts);

    let deep = run("deep");
    let down = notes(&deep, false);
    assert_eq!(down.len(), 2, "both DOWN: {down:?}");
    assert!(down.iter().all(|&t| t > 2 * SEC && t < 3200 * MS), "{down:?}");
    let up = notes(&deep, true);
    assert_eq!(up.len(), 2, "both UP again: {up:?}");
    assert!(up.iter().all(|&t| t > 5 * SEC + 400 * MS && t < 6200 * MS), "after rise 2 checks: {up:?}");
    let rows = deep.metrics().series();
    assert!(rows[4].counts.ok == 0 && rows[4].counts.errors >= 95, "lb has no server: {:?}", rows[4].counts);
    assert!(rows[7].counts.ok >= 95, "{:?}", rows[7].counts);
    // The database was back at 5 s, but the servers were not.
    assert!(rows[5].counts.ok < rows[6].counts.ok.min(95), "{:?} {:?}", rows[5].counts, rows[6].counts);
}
