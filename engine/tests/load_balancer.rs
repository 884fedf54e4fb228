//! The load balancer behaves like HAProxy 2.6 (semantics.md section 1).
mod common;
use common::*;
use engine::components::load_balancer::retry_on::L7Failure;
use engine::message::Message;
use engine::sim::Detail;
use engine::trace::{Note, What};
use serde_json::json;

/// Times of a note about `server` from the load balancer.
fn note_times(sim: &engine::Simulation, server: &str, want: fn(&Note) -> Option<u32>) -> Vec<u64> {
    let id = sim.node_id(server).unwrap();
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Note { note, .. } if want(note) == Some(id) => Some(e.time),
            _ => None,
        })
        .collect()
}

fn down(n: &Note) -> Option<u32> {
    if let Note::ServerDown { server, .. } = n {
        Some(*server)
    } else {
        None
    }
}
fn up(n: &Note) -> Option<u32> {
    if let Note::ServerUp { server, .. } = n {
        Some(*server)
    } else {
        None
    }
}

#[test]
fn a_crashed_server_is_down_on_the_third_refused_check() {
    let mut sim = sim(lb_three(json!([
        { "at": "10s", "action": "crash", "node": "s2" },
        { "at": "20s", "action": "restart", "node": "s2" }
    ])));
    sim.run_until(30 * SEC);
    let downs = note_times(&sim, "s2", down);
    assert_eq!(downs.len(), 1, "{downs:?}");
    // Checks every second; a fully-UP server needs `fall` = 3 failures:
    // detection takes more than 2 s and at most 3 s.
    let detect = downs[0] - 10 * SEC;
    assert!(detect > 2 * SEC && detect <= 3 * SEC + 5 * MS, "detected after {detect} ns");
    // And back UP on the second consecutive success after the restart.
    let ups = note_times(&sim, "s2", up);
    assert_eq!(ups.len(), 1, "{ups:?}");
    let recover = ups[0] - 20 * SEC;
    assert!(recover > SEC && recover <= 2 * SEC + 5 * MS, "recovered after {recover} ns");
}

#[test]
fn a_cut_link_is_detected_by_check_timeouts_more_slowly() {
    let mut sim = sim(lb_three(json!([{ "at": "10s", "action": "cut_link", "between": ["lb", "s3"] }])));
    sim.run_until(20 * SEC);
    let downs = note_times(&sim, "s3", down);
    assert_eq!(downs.len(), 1);
    // A check now takes `inter` to time out, and the next starts `inter`
    // after that: about 2 s per failure, so more than 4 s for three.
    let detect = downs[0] - 10 * SEC;
    assert!(detect > 4 * SEC && detect <= 6 * SEC + 5 * MS, "detected after {detect} ns");
}

#[test]
fn servers_start_up_and_one_failed_check_takes_a_fresh_server_down() {
    // s3 dies before its first check, which is spread to 2/3 of a second.
    let mut sim = sim(lb_three(json!([{ "at": "100ms", "action": "crash", "node": "s3" }])));
    sim.run_until(2 * SEC);
    let downs = note_times(&sim, "s3", down);
    assert_eq!(downs.len(), 1);
    assert!(downs[0] > 666 * MS && downs[0] < 700 * MS, "down at {}", downs[0]);
    // Before that, it was UP and got traffic (which failed).
    let first_requests_to_s3 = sim.trace().events().iter().filter(
        |e| matches!(e.what, What::Drop { to, msg: Message::Request(_), .. } if to == sim.node_id("s3").unwrap()),
    );
    assert!(first_requests_to_s3.count() > 10);
}

#[test]
fn first_checks_are_spread_over_the_interval() {
    let mut sim = sim(lb_three(json!([])));
    sim.run_until(SEC);
    let first_check = |name: &str| {
        let id = sim.node_id(name).unwrap();
        sim.trace()
            .events()
            .iter()
            .find(|e| matches!(e.what, What::Deliver { to, msg: Message::HealthCheck { .. }, .. } if to == id))
            .map(|e| e.time)
            .unwrap()
    };
    // Sent at 0, 1/3 s and 2/3 s; arriving a fraction of a millisecond later.
    assert!(first_check("s1") < 5 * MS);
    assert!((333 * MS..340 * MS).contains(&first_check("s2")));
    assert!((666 * MS..672 * MS).contains(&first_check("s3")));
}

#[test]
fn a_server_with_a_longer_interval_starts_its_checks_later() {
    // s3 is checked every 3 s: its first check is spread over its own
    // interval, 2/3 of 3 s, not of the smallest (HAProxy's
    // `start_check_task` raises the spread to the server's interval).
    let mut v = lb_three(json!([]));
    v["nodes"][1]["servers"][2]["inter"] = json!("3s");
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    let s3 = sim.node_id("s3").unwrap();
    let first = sim
        .trace()
        .events()
        .iter()
        .find(|e| matches!(e.what, What::Deliver { to, msg: Message::HealthCheck { .. }, .. } if to == s3))
        .map(|e| e.time)
        .unwrap();
    assert!((2 * SEC..2 * SEC + 5 * MS).contains(&first), "first check of s3 at {first} ns");
}

#[test]
fn weighted_round_robin_shares_traffic_by_weight() {
    let mut v = lb_three(json!([]));
    v["nodes"][1]["servers"] =
        json!([{ "name": "s1", "weight": 3 }, { "name": "s2", "weight": 2 }, { "name": "s3", "weight": 1 }]);
    let mut sim = sim(v);
    sim.run_until(30 * SEC);
    let Detail::LoadBalancer { servers, .. } = sim.node_state(1).detail else { panic!("not a load balancer") };
    let counts: Vec<u64> = servers.iter().map(|s| s.requests).collect();
    let total: u64 = counts.iter().sum();
    // FWRR is exact: within one round of 6 of the 3:2:1 split.
    assert!((counts[0] as i64 - (total / 2) as i64).abs() <= 6, "{counts:?}");
    assert!((counts[1] as i64 - (total / 3) as i64).abs() <= 6, "{counts:?}");
    assert!((counts[2] as i64 - (total / 6) as i64).abs() <= 6, "{counts:?}");
}

#[test]
fn with_every_server_down_clients_get_503() {
    let mut sim = sim(lb_three(json!([
        { "at": "5s", "action": "crash", "node": "s1" },
        { "at": "5s", "action": "crash", "node": "s2" },
        { "at": "5s", "action": "crash", "node": "s3" }
    ])));
    sim.run_until(15 * SEC);
    let last = sim.metrics().series().back().unwrap().clone();
    assert_eq!(last.counts.ok, 0);
    assert!(last.error_rate > 0.99, "{last:?}");
    let no_server = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Note { note: Note::NoServerAvailable, .. }))
        .count();
    assert!(no_server > 100);
}

#[test]
fn refused_connections_are_retried_on_the_same_server_after_a_pause() {
    let mut sim = sim(lb_three(json!([{ "at": "10s", "action": "crash", "node": "s2" }])));
    sim.run_until(11 * SEC);
    let retries: Vec<(u64, u32)> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { note: Note::Retried { attempt, .. }, .. } => Some((e.time, attempt)),
            _ => None,
        })
        .collect();
    assert!(!retries.is_empty());
    // First attempts fail at once; a second attempt comes min(timeout
    // connect, 1 s) = 1 s later, so none has failed yet within 1 s.
    assert!(retries.iter().all(|&(_, attempt)| attempt == 1), "{retries:?}");
}

#[test]
fn redispatch_sends_the_retry_to_another_server_at_once() {
    let mut v = lb_three(json!([{ "at": "10s", "action": "crash", "node": "s2" }]));
    v["nodes"][1]["redispatch"] = json!(true);
    let mut sim = sim(v);
    sim.run_until(12 * SEC);
    // With redispatch the clients see no failures at all while s2 is
    // still marked UP: every refused request is re-sent to s1 or s3.
    let row = &sim.metrics().series()[10];
    assert_eq!(row.counts.errors + row.counts.timeouts, 0, "{row:?}");
    assert!(row.counts.ok > 180);
}

/// Connection set-up: a host that does not answer at all makes the
/// connection attempt time out (`timeout connect`), and the attempt is
/// retried at once on the same server; after `retries` more attempts the
/// client gets 503.
#[test]
fn an_unreachable_server_times_out_connecting_then_503_after_retries() {
    let mut v = lb_three(json!([{ "at": "5s", "action": "cut_link", "between": ["lb", "s3"] }]));
    v["nodes"][0]["timeout"] = json!("10s");
    v["nodes"][1]["timeout_connect"] = json!("400ms");
    v["nodes"][1]["default_server"]["inter"] = json!("100s"); // keep s3 UP for this test
    let mut sim = sim(v);
    sim.run_through(9 * SEC);
    // Requests routed to s3 after the cut: 4 attempts of 400 ms, then 503;
    // a third of the 200 per second.
    let row = &sim.metrics().series()[7];
    assert!(row.counts.errors > 55 && row.counts.errors < 80, "{row:?}");
    assert_eq!(row.counts.timeouts, 0);
    let lat = sim.metrics().summary(sim.now()).latency;
    assert!(lat.p50_ms < 10.0, "most requests still fast: {lat:?}");
    // The trace shows the attempts: no "refused", only retries.
    let retries: Vec<u32> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { note: Note::Retried { attempt, .. }, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    for n in 1..=3 {
        assert!(retries.contains(&n), "attempt {n} retried: {retries:?}");
    }
    assert!(!retries.contains(&4), "three retries, four attempts");
}

#[test]
fn redispatch_rescues_requests_from_an_unreachable_server() {
    let mut v = lb_three(json!([{ "at": "5s", "action": "cut_link", "between": ["lb", "s3"] }]));
    v["nodes"][1]["timeout_connect"] = json!("200ms");
    v["nodes"][1]["redispatch"] = json!(true);
    v["nodes"][1]["default_server"]["inter"] = json!("100s");
    let mut sim = sim(v);
    sim.run_until(8 * SEC);
    let row = &sim.metrics().series()[6];
    assert_eq!(row.counts.errors + row.counts.timeouts, 0, "{row:?}");
    // A third of the requests waited one connect timeout before going elsewhere.
    assert!(row.latency.p99_ms > 200.0, "{:?}", row.latency);
}

#[test]
fn a_request_whose_connection_never_completes_never_reaches_the_server() {
    // s1's answers to lb are cut (one way): its kernel's SYN-ACK never
    // gets back, so in TCP the request's bytes are never sent. The load
    // balancer times out connecting and retries (on the same server, no
    // redispatch) until it answers 503; the write must not have run on s1,
    // not even once, since the client is told it failed.
    let mut v = lb_three(json!([{ "at": "500ms", "action": "partition_one_way", "from": ["s1"], "to": ["lb"] }]));
    v["nodes"][0]["workload"] = json!({ "kind": "script", "requests": [{ "at": "1s", "write": 1, "value": 7 }] });
    v["nodes"][0]["timeout"] = json!("60s");
    v["nodes"][1]["balance"] = json!("first");
    v["nodes"][1]["timeout_connect"] = json!("1s");
    let mut sim = sim(v);
    sim.run_through(10 * SEC);
    let s1 = sim.node_id("s1").unwrap();
    let reached = |m: &Message| matches!(m, Message::Request(r) if matches!(r.op, engine::message::Op::Write { .. }));
    let events = sim.trace().events();
    let delivered =
        events.iter().filter(|e| matches!(&e.what, What::Deliver { to, msg, .. } if *to == s1 && reached(msg))).count();
    let not_connected = events
        .iter()
        .filter(|e| matches!(&e.what, What::Drop { to, msg, reason: engine::network::DropReason::NotConnected, .. } if *to == s1 && reached(msg)))
        .count();
    assert_eq!((delivered, not_connected), (0, 4), "the first try and three retries, none connected");
    let op = sim.history().ops()[0];
    assert_eq!(op.outcome, engine::history::Outcome::Fail, "{op:?}");
}

#[test]
fn a_paused_server_accepts_connections_and_answers_504_after_timeout_server() {
    let mut v = lb_three(json!([{ "at": "5s", "action": "pause", "node": "s2" }]));
    v["nodes"][0]["timeout"] = json!("10s");
    v["nodes"][1]["timeout_server"] = json!("2s");
    let mut sim = sim(v);
    sim.run_until(9 * SEC);
    // The kernel accepted the connections, so it is the server timeout
    // that fires: 504 (indeterminate for the client), not a retry.
    let gw = sim
        .trace()
        .events()
        .iter()
        .filter(|e| {
            matches!(e.what, What::Deliver { msg: Message::Response(r), .. } if r.status == engine::message::Status::GatewayTimeout)
        })
        .count();
    assert!(gw > 50, "{gw}");
    let history = sim.history().ops();
    assert!(history.iter().any(|op| op.outcome == engine::history::Outcome::Info));
}

#[test]
fn server_maxconn_queues_requests_in_the_backend_queue() {
    let mut v = lb_three(json!([]));
    v["nodes"][0]["workload"] = json!({ "kind": "closed_loop", "clients": 30 });
    v["nodes"][1]["default_server"]["maxconn"] = json!(2);
    let mut sim = sim(v);
    for step in 1..=40 {
        sim.run_until(step * 50 * MS);
        let Detail::LoadBalancer { servers, backlog, .. } = sim.node_state(1).detail else { panic!() };
        assert_eq!(backlog, 0);
        for s in &servers {
            assert!(s.served <= 2, "{} serves {} over maxconn 2", s.name, s.served);
        }
    }
    let lb = &sim.node_state(1);
    // 30 clients, 6 slots: the rest wait in the load balancer's queue.
    assert!(lb.queued >= 20, "{lb:?}");
    let m = sim.metrics().summary(sim.now());
    assert_eq!(m.counts.errors, 0);
}

#[test]
fn timeout_queue_answers_503() {
    let mut v = lb_three(json!([]));
    v["nodes"][0]["workload"] = json!({ "kind": "open_loop", "rate": 2000 });
    v["nodes"][1]["default_server"]["maxconn"] = json!(1);
    v["nodes"][1]["timeout_queue"] = json!("50ms");
    let mut sim = sim(v);
    sim.run_through(3 * SEC);
    let queue_timeouts =
        sim.trace().events().iter().filter(|e| matches!(e.what, What::Note { note: Note::QueueTimeout, .. })).count();
    assert!(queue_timeouts > 100, "{queue_timeouts}");
    let last = sim.metrics().series().back().unwrap();
    assert!(last.error_rate > 0.3, "{last:?}");
    // Whoever got a slot was served; nobody waited beyond the queue
    // timeout plus service.
    assert!(last.latency.max_ms < 200.0, "{:?}", last.latency);
}

/// Notes of one kind from the load balancer (node 1).
fn lb_notes(sim: &engine::Simulation, want: fn(&Note) -> bool) -> Vec<u64> {
    lb_note_values(sim, |n| want(n).then_some(())).into_iter().map(|(t, ())| t).collect()
}

/// What `value` reads from each of the load balancer's notes it matches,
/// with the note's time.
fn lb_note_values<T>(sim: &engine::Simulation, value: impl Fn(&Note) -> Option<T>) -> Vec<(u64, T)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Note { node: 1, note } => value(note).map(|v| (e.time, v)),
            _ => None,
        })
        .collect()
}

/// `balance source` with one client sending `rate` requests a second:
/// every request hashes to one server, which serves one at a time
/// (`maxconn 1`, 50 ms each: 20 a second).
fn one_hashed_server(rate: u32, maxqueue: u32, redispatch: bool, faults: serde_json::Value) -> serde_json::Value {
    let mut v = lb_three(faults);
    v["nodes"][0]["workload"] = json!({ "kind": "open_loop", "rate": rate, "arrival": "constant" });
    v["nodes"][0]["timeout"] = json!("30s");
    v["nodes"][1]["balance"] = json!("source");
    v["nodes"][1]["default_server"]["maxconn"] = json!(1);
    v["nodes"][1]["default_server"]["maxqueue"] = json!(maxqueue);
    v["nodes"][1]["redispatch"] = json!(redispatch);
    v["nodes"][1]["timeout_queue"] = json!("20s");
    for s in 2..5 {
        v["nodes"][s]["service_time"] = json!("50ms");
    }
    v
}

#[test]
fn a_hashed_request_whose_server_queue_is_full_gets_503_at_once() {
    // 100 requests a second for a server that serves 20: its queue
    // (maxqueue 5) fills, and HAProxy answers the rest 503 at once
    // (SRV_STATUS_FULL), rather than parking them in the backend queue.
    let mut sim = sim(one_hashed_server(100, 5, false, json!([])));
    sim.run_through(2 * SEC);
    let full = lb_notes(&sim, |n| matches!(n, Note::QueueFull { queued: 5 }));
    assert!(full.len() > 100, "{} answered 503 for a full queue", full.len());
    let Detail::LoadBalancer { servers, backends, .. } = sim.node_state(1).detail else { panic!() };
    assert_eq!(backends[0].queued, 0, "no backend queue");
    assert!(servers.iter().all(|s| s.queued <= 5), "{servers:?}");
    let m = sim.metrics().summary(sim.now());
    assert!(m.counts.errors as usize >= full.len(), "{:?}", m.counts);
}

#[test]
fn requests_queued_for_a_server_marked_down_move_only_with_option_redispatch() {
    // The client's requests all hash to one server; its link is cut at
    // 1 s: the connection in progress holds its one slot (`timeout
    // connect`), the next requests queue for it, and more keep queueing
    // until the checks, timing out too, mark it DOWN.
    let target = {
        let mut probe = sim(one_hashed_server(10, 0, false, json!([])));
        probe.run_through(SEC);
        let served = requests_per_server(&probe);
        ["s1", "s2", "s3"][served.iter().position(|&n| n > 0).unwrap()]
    };
    let cut = json!([{ "at": "1s", "action": "cut_link", "between": ["lb", target] }]);
    let run = |redispatch: bool| {
        let mut sim = sim(one_hashed_server(10, 0, redispatch, cut.clone()));
        sim.run_through(13 * SEC);
        let downs = note_times(&sim, target, down);
        assert_eq!(downs.len(), 1);
        let Detail::LoadBalancer { servers, backends, .. } = sim.node_state(1).detail else { panic!() };
        let dead = servers.iter().find(|s| s.name == target).unwrap().queued;
        let others: u64 = servers.iter().filter(|s| s.name != target).map(|s| s.requests).sum();
        (dead, backends[0].queued, others)
    };
    // Without `option redispatch` they stay queued for the dead server
    // (until it is back or `timeout queue`); only new requests go to the
    // server the hash now picks.
    let (stuck, backend, others_without) = run(false);
    assert!(stuck > 30, "{stuck} still queued for {target}");
    assert_eq!(backend, 0);
    // With it, they go through server selection again when it is marked
    // DOWN: the hash now picks a live server, which takes them too.
    let (dead, backend, others) = run(true);
    assert_eq!((dead, backend), (0, 0));
    // (And the connection attempts to it that time out after it is DOWN
    // are retried elsewhere at once.)
    assert!(others >= others_without + stuck as u64, "{others}: the live servers took the {stuck} queued requests");
}

fn requests_per_server(sim: &engine::Simulation) -> Vec<u64> {
    let Detail::LoadBalancer { servers, .. } = sim.node_state(1).detail else { panic!("not a load balancer") };
    servers.iter().map(|s| s.requests).collect()
}

#[test]
fn static_rr_and_first_and_leastconn_run_in_the_load_balancer() {
    let weights = json!([{ "name": "s1", "weight": 3 }, { "name": "s2", "weight": 2 }, { "name": "s3", "weight": 1 }]);
    for balance in ["static-rr", "leastconn", "first"] {
        let mut v = lb_three(json!([]));
        v["nodes"][1]["balance"] = json!(balance);
        v["nodes"][1]["servers"] = weights.clone();
        let mut sim = sim(v);
        sim.run_until(10 * SEC);
        let counts = requests_per_server(&sim);
        let total: u64 = counts.iter().sum();
        match balance {
            // The table is weighted: 3:2:1.
            "static-rr" => assert!((counts[0] as i64 - (total / 2) as i64).abs() <= 6, "{counts:?}"),
            // Idle servers all have key 0 whatever their weight: about even
            // (weights only matter under load).
            "leastconn" => assert!(counts.iter().all(|&c| c * 4 > total), "{balance}: {counts:?}"),
            // Always the first server while it has room (no maxconn here).
            "first" => assert_eq!(counts[0], total, "{counts:?}"),
            _ => unreachable!(),
        }
    }
}

/// The power of two random choices: a slow server holds more requests in
/// flight, so of two servers drawn it is usually the busier one and loses.
#[test]
fn random_with_two_draws_steers_around_a_slow_server() {
    let run = |balance: &str| {
        let mut v = lb_three(json!([]));
        v["nodes"][0]["workload"]["rate"] = json!(1000);
        v["nodes"][1]["balance"] = json!(balance);
        v["nodes"][2]["service_time"] = json!("40ms");
        v["nodes"][2]["workers"] = json!(64);
        let mut sim = sim(v);
        sim.run_until(10 * SEC);
        (requests_per_server(&sim), sim.haproxy_cfg(1).unwrap())
    };
    let (one, cfg) = run("random(1)");
    assert!(cfg.contains("    balance random(1)\n"), "{cfg}");
    let (two, cfg) = run("random");
    assert!(cfg.contains("    balance random\n"), "{cfg}");
    let share = |c: &[u64]| c[0] as f64 / c.iter().sum::<u64>() as f64;
    // One draw: the ring's share, whatever the load (about a third).
    assert!((0.2..0.45).contains(&share(&one)), "{one:?}");
    // Two: the slow s1 wins only when both draws land on it.
    assert!(share(&two) < share(&one) * 0.6, "random(1) {one:?}, random(2) {two:?}");
    assert_eq!(run("random").0, two, "the same seed, the same draws");
}

#[test]
fn uri_hashing_sends_each_path_to_one_server() {
    let mut v = lb_three(json!([]));
    v["nodes"][1]["balance"] = json!("uri");
    v["nodes"][1]["hash_type"] = json!("consistent");
    v["nodes"][0]["paths"] = json!([{ "path": "/a" }, { "path": "/b/c" }, { "path": "/img/logo.png?v=2" }]);
    let mut sim = sim(v);
    sim.run_until(5 * SEC);
    // Each path's requests all went to one server.
    let lb = sim.node_id("lb").unwrap();
    let mut seen: std::collections::BTreeMap<u16, std::collections::BTreeSet<u32>> = Default::default();
    for e in sim.trace().events() {
        if let What::Deliver { from, to, msg: Message::Request(r), .. } = e.what {
            if from == lb {
                seen.entry(r.path).or_default().insert(to);
            }
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.values().all(|servers| servers.len() == 1), "{seen:?}");
    let cfg = sim.haproxy_cfg(1).unwrap();
    assert!(cfg.contains("    balance uri\n    hash-type consistent\n"), "{cfg}");
}

#[test]
fn balance_and_hash_type_are_checked_in_haproxy_words() {
    let mut v = lb_three(json!([]));
    v["nodes"][1]["balance"] = json!("randomly");
    let e = engine::Scenario::from_value(v.clone()).unwrap_err().to_string();
    assert!(e.starts_with("nodes[1].balance: `randomly` is not a balance algorithm here"), "{e}");
    v["nodes"][1]["balance"] = json!("least_conn");
    let e = engine::Scenario::from_value(v.clone()).unwrap_err().to_string();
    assert!(e.contains("expected roundrobin, static-rr, leastconn, first, random[(N)], source or uri"), "{e}");
    for (balance, message) in [
        ("random(0)", "random : number of draws must be at least 1."),
        ("random(2", "random : missing closing parenthesis."),
        ("random(x)", "random : unexpected character 'x' after argument."),
        ("random(2)x", "random : nothing may follow the closing parenthesis, got 'x'"),
        ("random(17)", "random : at most 16 draws here, got 17"),
    ] {
        v["nodes"][1]["balance"] = json!(balance);
        let e = engine::Scenario::from_value(v.clone()).unwrap_err().to_string();
        assert_eq!(e, format!("nodes[1].balance: {message}"));
    }
    let mut v = lb_three(json!([]));
    v["nodes"][1]["balance"] = json!("uri depth x");
    let e = engine::Scenario::from_value(v).unwrap_err().to_string();
    assert!(e.contains("uri: 'depth' expects a positive integer"), "{e}");
    let mut v = lb_three(json!([]));
    v["nodes"][1]["hash_type"] = json!("consistent md5");
    let e = engine::Scenario::from_value(v).unwrap_err().to_string();
    assert!(e.contains("hash-type: unexpected 'md5'"), "{e}");
}

#[test]
fn a_script_drives_requests_at_given_times_and_the_trace_shows_each_routing() {
    let mut v = lb_three(json!([]));
    let requests: Vec<_> = (0..12).map(|i| json!({ "at": format!("{}ms", 10 + 10 * i), "read": i })).collect();
    v["nodes"][0]["workload"] = json!({ "kind": "script", "requests": requests });
    v["nodes"][1]["servers"] =
        json!([{ "name": "s1", "weight": 3 }, { "name": "s2", "weight": 2 }, { "name": "s3", "weight": 1 }]);
    let mut sim = sim(v);
    sim.run_until(SEC);
    let lb = sim.node_id("lb").unwrap();
    let picks: Vec<String> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Deliver { from, to, msg: Message::Request(_), .. } if from == lb => {
                Some(sim.node_name(to).to_string())
            }
            _ => None,
        })
        .collect();
    // HAProxy's roundrobin order for weights 3, 2, 1 (semantics.md 1.3).
    assert_eq!(picks.join(" "), "s1 s2 s1 s3 s1 s2 s1 s2 s1 s3 s1 s2");
    let ops = sim.history().ops();
    assert_eq!(ops.len(), 12);
    assert!(ops.iter().all(|o| o.outcome == engine::history::Outcome::Ok));
    assert_eq!(ops[3].invoke, 40 * MS);
    // Bad scripts are refused with their place.
    let mut v = lb_three(json!([]));
    v["nodes"][0]["workload"] = json!({ "kind": "script", "requests": [{ "at": "1s", "write": 3 }] });
    let e = engine::Scenario::from_value(v).unwrap_err().to_string();
    assert_eq!(e, "nodes[0].workload.requests[0].value: a write needs a value");
}

/// Requests the load balancer sent `server` in each second from `from`.
fn per_second(sim: &engine::Simulation, server: &str, from: u64) -> [u32; 12] {
    let (lb, s) = (sim.node_id("lb").unwrap(), sim.node_id(server).unwrap());
    let mut counts = [0; 12];
    for e in sim.trace().events() {
        if let What::Deliver { from: f, to, msg: Message::Request(_), .. } = e.what {
            if f == lb && to == s && e.time >= from {
                if let Some(c) = counts.get_mut(((e.time - from) / SEC) as usize) {
                    *c += 1;
                }
            }
        }
    }
    counts
}

#[test]
fn slowstart_gives_a_recovered_server_its_share_little_by_little() {
    let run = |slowstart: Option<&str>| {
        let mut v = lb_three(json!([
            { "at": "10s", "action": "crash", "node": "s2" },
            { "at": "20s", "action": "restart", "node": "s2" }
        ]));
        if let Some(s) = slowstart {
            v["nodes"][1]["default_server"]["slowstart"] = json!(s);
        }
        let mut sim = sim(v);
        sim.run_until(36 * SEC);
        let up = note_times(&sim, "s2", up)[0];
        per_second(&sim, "s2", up)
    };
    // 200 requests a second over weights 16, 16 and s2's: a third at once
    // without slowstart.
    let at_once = run(None);
    assert!(at_once.iter().all(|&n| (55..=80).contains(&n)), "{at_once:?}");
    // With it, s2's weight is 1, 2, 4, 5, 7, 9, 10, 12, 13, 15, then 16:
    // about 6 requests in its first second, 44 in its sixth, a third after.
    let ramp = run(Some("10s"));
    assert!(ramp[0] <= 12, "{ramp:?}");
    assert!((30..=58).contains(&ramp[5]), "{ramp:?}");
    assert!((55..=80).contains(&ramp[11]), "{ramp:?}");
    assert!(ramp.windows(2).all(|w| w[1] + 8 >= w[0]), "it only grows: {ramp:?}");
}

/// `srv_dynamic_maxconn`: while it warms up, a server takes at most its
/// `maxconn` × the elapsed share of the window (at least 1), whatever the
/// algorithm; `static-rr`'s weights do not ramp, so this is all it does
/// there.
#[test]
fn slowstart_ramps_maxconn_under_static_rr() {
    let mut v = lb_three(json!([
        { "at": "10s", "action": "crash", "node": "s2" },
        { "at": "20s", "action": "restart", "node": "s2" }
    ]));
    v["nodes"][0]["workload"]["rate"] = json!(450);
    v["nodes"][1]["balance"] = json!("static-rr");
    v["nodes"][1]["default_server"]["maxconn"] = json!(20);
    v["nodes"][1]["default_server"]["slowstart"] = json!("10s");
    for i in 2..5 {
        v["nodes"][i]["service_time"] = json!("100ms");
        v["nodes"][i]["workers"] = json!(64);
    }
    let mut sim = sim(v);
    sim.run_until(20 * SEC);
    let lb = sim.node_id("lb").unwrap();
    let served = |sim: &engine::Simulation| match sim.node_state(lb).detail {
        Detail::LoadBalancer { servers, .. } => servers[1].served,
        _ => unreachable!(),
    };
    let mut up = None;
    // The most s2 had in flight in each whole second of the window.
    let mut most = [0u32; 12];
    for ms in (20_000..34_000u64).step_by(5) {
        sim.run_until(ms * MS);
        if up.is_none() && !note_times(&sim, "s2", self::up).is_empty() {
            up = Some(ms / 1000);
        }
        if let Some(second) = up {
            let elapsed = (ms / 1000 - second) as usize;
            if let Some(m) = most.get_mut(elapsed) {
                *m = (*m).max(served(&sim));
            }
        }
    }
    // 20 × elapsed / 10, at least 1, then 20; demand keeps it full.
    assert_eq!(most[..8], [1, 2, 4, 6, 8, 10, 12, 14], "{most:?}");
    assert!(most[11] <= 20 && most[11] >= 10, "{most:?}");
}

/// The results of `server`'s failed checks (and the DOWN), in order.
fn failure_reasons(sim: &engine::Simulation, server: &str) -> Vec<(u64, String)> {
    let id = sim.node_id(server).unwrap();
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note {
                note: Note::CheckFailed { server, reason, .. } | Note::ServerDown { server, reason, .. },
                ..
            } if server == id => Some((e.time, reason.code())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_paused_server_passes_connect_checks_but_fails_http_checks() {
    let faults = json!([{ "at": "5s", "action": "pause", "node": "s2" }]);
    let mut tcp = sim(lb_three(faults.clone()));
    tcp.run_until(15 * SEC);
    assert!(note_times(&tcp, "s2", down).is_empty(), "its host still completes connections");

    let mut v = lb_three(faults);
    v["nodes"][1]["httpchk"] = json!("GET /health");
    let mut http = sim(v);
    http.run_until(15 * SEC);
    // Each check is connected, then waits out `inter` (1 s) for an answer,
    // and the next starts `inter` later: DOWN on the third, after 4 to 6 s.
    let reasons = failure_reasons(&http, "s2");
    assert!(reasons.len() >= 3 && reasons.iter().all(|(_, r)| r == "L7TOUT"), "{reasons:?}");
    let downs = note_times(&http, "s2", down);
    assert_eq!(downs, [reasons[2].0]);
    let detect = downs[0] - 5 * SEC;
    assert!(detect > 4 * SEC && detect <= 6 * SEC + 5 * MS, "detected after {detect} ns");
}

/// With `timeout check`, an HTTP check's answer has that long from the
/// moment its connection is established; a connection that never comes
/// has `min(inter, timeout connect)`.
#[test]
fn timeout_check_bounds_the_wait_for_an_http_check_s_answer() {
    let faults = json!([
        { "at": "5s", "action": "pause", "node": "s2" },
        { "at": "5s", "action": "cut_link", "between": ["lb", "s3"] }
    ]);
    let mut v = lb_three(faults);
    v["nodes"][1]["httpchk"] = json!("GET /health");
    v["nodes"][1]["timeout_check"] = json!("300ms");
    v["nodes"][1]["timeout_connect"] = json!("700ms");
    let mut sim = sim(v);
    sim.run_until(12 * SEC);
    let lb = sim.node_id("lb").unwrap();
    let s2 = sim.node_id("s2").unwrap();
    let connected: Vec<u64> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Deliver { from, to, msg: Message::CheckConnected { .. }, .. } if from == s2 && to == lb => {
                Some(e.time)
            }
            _ => None,
        })
        .collect();
    let paused = failure_reasons(&sim, "s2");
    assert!(paused.len() >= 3, "{paused:?}");
    for (t, reason) in &paused {
        assert_eq!(reason, "L7TOUT");
        assert!(connected.contains(&(t - 300 * MS)), "a failure at {t} ns, 300 ms after no connection: {connected:?}");
    }
    let cut = failure_reasons(&sim, "s3");
    assert!(cut.len() >= 3 && cut.iter().all(|(_, r)| r == "L4TOUT"), "{cut:?}");
}

#[test]
fn an_http_check_waits_for_a_worker_and_a_full_queue_fails_it_with_503() {
    let mut v = lb_three(json!([]));
    v["nodes"][1]["httpchk"] = json!("/");
    // s1 has one worker and no queue; requests take 2 s each.
    v["nodes"][2] = json!({ "name": "s1", "type": "server", "workers": 1, "queue": 0, "service_time": "2s" });
    let mut sim = sim(v);
    sim.run_until(10 * SEC);
    let reasons = failure_reasons(&sim, "s1");
    assert!(reasons.len() >= 3 && reasons.iter().all(|(_, r)| r == "L7STS/503"), "{reasons:?}");
    assert_eq!(note_times(&sim, "s1", down).len(), 1);
    let Detail::LoadBalancer { servers, .. } = sim.node_state(sim.node_id("lb").unwrap()).detail else {
        panic!("a load balancer")
    };
    assert_eq!(servers[0].last_check.as_deref(), Some("L7STS/503"));
    assert_eq!(servers[1].last_check.as_deref(), Some("L7OK/200"));
}

/// `retry-on response-timeout` gives up on a slow server, not on its work:
/// s1 still does the write it was sent, and s2 does it again. The client
/// sees one answer, s2's, at `timeout server`; s1's later answer is
/// dropped. With `observe layer7`, the retried timeout is no error.
#[test]
fn a_response_timeout_retry_does_the_work_twice() {
    let link = |a: &str, b: &str| json!({ "between": [a, b], "latency": "100us" });
    let scenario = |retry_on: &str| {
        json!({
            "version": 1, "seed": 1, "duration": "2s",
            "nodes": [
                { "name": "c", "type": "client", "target": "lb", "timeout": "5s",
                  "workload": { "kind": "script", "requests": [ { "at": "100ms", "write": 7, "value": 1 } ] } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "redispatch": true,
                  "servers": [ { "name": "s1", "check": true, "observe": "layer7", "error_limit": 1, "on_error": "mark-down" },
                               { "name": "s2" } ],
                  "retry_on": retry_on, "timeout_server": "200ms" },
                { "name": "s1", "type": "server", "service_time": "500ms" },
                { "name": "s2", "type": "server", "service_time": "1ms" }
            ],
            "links": [ link("c", "lb"), link("lb", "s1"), link("lb", "s2") ]
        })
    };
    let run = |retry_on: &str| {
        let mut s = sim(scenario(retry_on));
        s.run_until(2 * SEC);
        s
    };
    let served = |s: &engine::Simulation, name: &str| {
        let id = s.node_id(name).unwrap();
        s.trace()
            .events()
            .iter()
            .filter(|e| matches!(&e.what, What::Deliver { to, msg: Message::Request(_), .. } if *to == id))
            .count()
    };
    let answers = |s: &engine::Simulation| {
        let c = s.node_id("c").unwrap();
        s.trace()
            .events()
            .iter()
            .filter_map(|e| match &e.what {
                What::Deliver { to, msg: Message::Response(r), .. } if *to == c => Some((r.status.code(), e.time)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let retried = run("response-timeout");
    assert_eq!((served(&retried, "s1"), served(&retried, "s2")), (1, 1), "both servers got the write");
    let got = answers(&retried);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 200);
    assert!(got[0].1 > 300 * MS && got[0].1 < 310 * MS, "at timeout server, then s2: {got:?}");
    assert!(note_times(&retried, "s1", down).is_empty(), "the retried timeout is not an observed error");
    let l7 = retried
        .trace()
        .events()
        .iter()
        .filter(|e| {
            matches!(&e.what, What::Note { note: Note::L7Retry { failure: L7Failure::ResponseTimeout, .. }, .. })
        })
        .count();
    assert_eq!(l7, 1);

    // Without it: 504, counted by observe, and s2 never sees the write.
    let plain = run("conn-failure");
    assert_eq!((served(&plain, "s1"), served(&plain, "s2")), (1, 0));
    assert_eq!(answers(&plain)[0].0, 504);
    assert_eq!(note_times(&plain, "s1", down).len(), 1, "error_limit 1, mark-down");
}

/// A server killed while it holds requests: the load balancer hears the
/// connections close at once. Each is a 502 ("SH"), which `observe
/// layer7` counts ("Close from server"), so s1 is marked DOWN by the
/// traffic before any health check could notice.
#[test]
fn a_killed_server_s_requests_are_502s_that_observe_counts() {
    use engine::components::load_balancer::observe::Outcome;
    use engine::message::Status;
    let mut sim = sim(json!({
        "version": 1, "seed": 4,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "5s",
              "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" } },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "timeout_server": "3s",
              "default_server": { "check": true, "inter": "2s", "observe": "layer7", "error_limit": 1,
                                  "on_error": "mark-down" },
              "servers": [ { "name": "s1" }, { "name": "s2" } ] },
            { "name": "s1", "type": "server", "workers": 4, "service_time": "100ms" },
            { "name": "s2", "type": "server", "workers": 4, "service_time": "100ms" }
        ],
        "links": [ { "between": ["c", "lb"], "latency": "1ms" }, { "between": ["lb", "s1"], "latency": "1ms" },
                   { "between": ["lb", "s2"], "latency": "1ms" } ],
        "faults": [ { "at": "1500ms", "action": "crash", "node": "s1" } ]
    }));
    sim.run_until(3 * SEC);
    let c = sim.node_id("c").unwrap();
    let bad: Vec<u64> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { to, msg: Message::Response(r), .. } if *to == c && r.status == Status::BadGateway => {
                Some(e.time)
            }
            _ => None,
        })
        .collect();
    // s1 held 4 requests (and more queued); its closes reach the load
    // balancer at 1.501 s, the 502s the client at 1.502 s.
    assert!(bad.len() >= 4 && bad.iter().all(|&t| t == 1_500 * MS + 2 * MS), "{bad:?}");
    let limit = sim.trace().events().iter().find_map(|e| match e.what {
        What::Note { note: Note::ErrorLimit { last, .. }, .. } => Some((e.time, last)),
        _ => None,
    });
    assert_eq!(limit, Some((1_500 * MS + MS, Outcome::BrokenPipe)));
    assert_eq!(note_times(&sim, "s1", down), vec![1_500 * MS + MS]);
}

/// Notes of requests dropped for a closed client: (time, client, state).
fn aborts(sim: &engine::Simulation) -> Vec<(u64, String, &'static str)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Note { note: Note::ClientAborted { client, at }, .. } => {
                Some((e.time, sim.node_name(*client).to_string(), at.termination()))
            }
            _ => None,
        })
        .collect()
}

/// An overloaded server behind a long queue: for 5 s twice the requests
/// it can serve, then half; clients give up after 500 ms. Without
/// `abortonclose` the load balancer sends s1 every queued request,
/// including those whose clients have left: once the queue holds more
/// than 500 ms of work s1 works only for clients that are gone, and it
/// goes on doing so long after the overload (the queue drains at 50 a
/// second). With it, a client's close takes its request out of the queue
/// (or resets s1's connection for it), so the queue never holds more
/// than 500 ms of work, and the light load succeeds as soon as the
/// overload ends. During the overload nothing succeeds either way: the
/// queue is first in, first out, so what s1 takes has waited nearly
/// 500 ms and is answered just too late.
#[test]
fn abortonclose_ends_the_outage_when_the_overload_ends() {
    let run = |abortonclose: bool| {
        let mut s = sim(json!({
            "version": 1, "seed": 5,
            "nodes": [
                { "name": "rush", "type": "client", "target": "lb", "timeout": "500ms", "stop": "5s",
                  "workload": { "kind": "open_loop", "rate": 200, "arrival": "constant" } },
                { "name": "c", "type": "client", "target": "lb", "timeout": "500ms", "start": "5s",
                  "workload": { "kind": "open_loop", "rate": 50, "arrival": "constant" } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "abortonclose": abortonclose,
                  "timeout_queue": "30s", "servers": [ { "name": "s1", "maxconn": 1 } ] },
                { "name": "s1", "type": "server", "workers": 1, "service_time": "10ms" }
            ],
            "links": [
                { "between": ["rush", "lb"], "latency": "1ms" }, { "between": ["c", "lb"], "latency": "1ms" },
                { "between": ["lb", "s1"], "latency": "1ms" }
            ]
        }));
        s.run_through(15 * SEC);
        s
    };
    let ok = |s: &engine::Simulation| s.metrics().series().iter().map(|r| r.counts.ok).collect::<Vec<_>>();
    let plain = run(false);
    let ok_plain = ok(&plain);
    assert!(ok_plain[0] >= 45, "at first the queue is short: {ok_plain:?}");
    assert!(ok_plain[2..15].iter().all(|&n| n == 0), "s1 serves only clients that left: {ok_plain:?}");
    assert!(aborts(&plain).is_empty());

    let dropping = run(true);
    let ok_dropping = ok(&dropping);
    assert!(ok_dropping[2..5].iter().all(|&n| n == 0), "first in, first out: too late: {ok_dropping:?}");
    assert!(ok_dropping[5] > 30, "successes as soon as the overload ends: {ok_dropping:?}");
    assert!(ok_dropping[7..15].iter().all(|&n| n == 50), "the light load is served: {ok_dropping:?}");
    let dropped = aborts(&dropping);
    assert!(dropped.len() > 400, "{}", dropped.len());
    assert!(dropped.iter().all(|(t, ..)| *t < 6 * SEC), "{:?}", dropped.last());
    // After the overload s1 works only for the light load; without the
    // option it works flat out for the rush's clients, who are gone.
    let answered_after_6s = |s: &engine::Simulation| {
        let s1 = s.node_id("s1").unwrap();
        let sends = s.trace().events().iter().filter(|e| e.time >= 6 * SEC);
        sends
            .filter(|e| matches!(&e.what, What::Deliver { from, msg: Message::Response(_), .. } if *from == s1))
            .count()
    };
    assert!(answered_after_6s(&plain) > 9 * 80, "{}", answered_after_6s(&plain));
    assert!(answered_after_6s(&dropping) < 9 * 50 + 20, "{}", answered_after_6s(&dropping));
    let note = dropping
        .trace()
        .events()
        .iter()
        .find(|e| matches!(&e.what, What::Note { note: Note::ClientAborted { .. }, .. }));
    let line = dropping.trace_line(note.expect("a drop"));
    assert!(line.text.starts_with("lb: rush closed its connection "), "{}", line.text);
    assert!(line.text.contains(": request dropped (abortonclose, C"), "{}", line.text);
    let Detail::LoadBalancer { backends, .. } = dropping.node_state(2).detail else { panic!("a load balancer") };
    assert_eq!(backends[0].aborted, dropped.len() as u64, "cli_abrt counts them");
}

/// A client that gives up while its request waits in the listen backlog,
/// or between connection attempts: with `abortonclose` the request never
/// reaches a server (`CC`); without, it is served (or retried) anyway.
#[test]
fn abortonclose_drops_requests_in_the_backlog_and_between_retries() {
    let scenario = |abortonclose: bool| {
        json!({
            "version": 1, "seed": 1,
            "nodes": [
                // c1 holds the only frontend slot; c2 waits in the backlog
                // and gives up; c3's server is down, and it gives up
                // during the pause before the retry.
                { "name": "c1", "type": "client", "target": "lb", "timeout": "5s",
                  "workload": { "kind": "script", "requests": [ { "at": "100ms", "read": 1 } ] } },
                { "name": "c2", "type": "client", "target": "lb", "timeout": "300ms",
                  "workload": { "kind": "script", "requests": [ { "at": "200ms", "read": 2 } ] } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "maxconn": 1,
                  "abortonclose": abortonclose, "servers": [ { "name": "s1" } ] },
                { "name": "s1", "type": "server", "service_time": "1s" },
                { "name": "c3", "type": "client", "target": "lb2", "timeout": "500ms",
                  "workload": { "kind": "script", "requests": [ { "at": "100ms", "read": 3 } ] } },
                { "name": "lb2", "type": "load_balancer", "balance": "roundrobin", "abortonclose": abortonclose,
                  "retries": 3, "timeout_connect": "1s", "servers": [ { "name": "s2" } ] },
                { "name": "s2", "type": "server" }
            ],
            "links": [
                { "between": ["c1", "lb"], "latency": "1ms" }, { "between": ["c2", "lb"], "latency": "1ms" },
                { "between": ["lb", "s1"], "latency": "1ms" }, { "between": ["c3", "lb2"], "latency": "1ms" },
                { "between": ["lb2", "s2"], "latency": "1ms" }
            ],
            "faults": [ { "at": "0s", "action": "crash", "node": "s2" } ]
        })
    };
    let requests_to = |s: &engine::Simulation, name: &str| {
        let id = s.node_id(name).unwrap();
        let deliveries = s.trace().events().iter();
        deliveries
            .filter(|e| matches!(&e.what, What::Deliver { to, msg: Message::Request(_), .. } if *to == id))
            .count()
    };
    let retries = |s: &engine::Simulation| {
        let notes = s.trace().events().iter();
        notes.filter(|e| matches!(&e.what, What::Note { note: Note::Retried { .. }, .. })).count()
    };
    let mut dropping = sim(scenario(true));
    dropping.run_through(5 * SEC);
    let dropped = aborts(&dropping);
    let states: Vec<(&str, &str)> = dropped.iter().map(|(_, c, s)| (c.as_str(), *s)).collect();
    // c3 first (at 601 ms, in the 1 s pause after its refused attempt),
    // then c2, whose request the load balancer reads with its close when
    // c1's slot frees at 1.1 s.
    assert_eq!(states, [("c3", "CC"), ("c2", "CC")], "{dropped:?}");
    assert_eq!(dropped[0].0, 601 * MS);
    assert!(dropped[1].0 > SEC + 100 * MS && dropped[1].0 < SEC + 110 * MS, "{dropped:?}");
    assert_eq!(requests_to(&dropping, "s1"), 1, "c2's request never reaches s1");
    assert_eq!(retries(&dropping), 1, "no attempt after c3 left");

    let mut plain = sim(scenario(false));
    plain.run_through(5 * SEC);
    assert!(aborts(&plain).is_empty());
    assert_eq!(requests_to(&plain, "s1"), 2, "c2's request is served for nobody");
    assert_eq!(retries(&plain), 3, "every retry is made");
}

/// A hung server (paused) fails its HTTP checks and is marked DOWN. With
/// `on-marked-down shutdown-sessions` the requests it holds get a 502 the
/// moment it is DOWN; without, they wait for `timeout server` (5 s) and
/// get a 504.
#[test]
fn shutdown_sessions_ends_a_down_servers_requests_at_once() {
    use engine::message::Status;
    let run = |on_marked_down: Option<&str>| {
        let mut s1 = json!({ "name": "s1" });
        if let Some(a) = on_marked_down {
            s1["on_marked_down"] = json!(a);
        }
        let mut s = sim(json!({
            "version": 1, "seed": 2,
            "nodes": [
                { "name": "c", "type": "client", "target": "lb", "timeout": "10s",
                  "workload": { "kind": "open_loop", "rate": 100, "arrival": "constant" } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "httpchk": "GET /health",
                  "default_server": { "check": true, "inter": "200ms", "fall": 2 }, "timeout_server": "5s",
                  "servers": [ s1, { "name": "s2" } ] },
                { "name": "s1", "type": "server" },
                { "name": "s2", "type": "server" }
            ],
            "links": [ { "between": ["c", "lb"], "latency": "1ms" }, { "between": ["lb", "s1"], "latency": "1ms" },
                       { "between": ["lb", "s2"], "latency": "1ms" } ],
            "faults": [ { "at": "1s", "action": "pause", "node": "s1" } ]
        }));
        s.run_through(8 * SEC);
        s
    };
    let answers = |s: &engine::Simulation, status: Status| {
        let c = s.node_id("c").unwrap();
        let deliveries = s.trace().events().iter();
        deliveries
            .filter_map(|e| match &e.what {
                What::Deliver { to, msg: Message::Response(r), .. } if *to == c && r.status == status => Some(e.time),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let shut_downs = |s: &engine::Simulation| {
        let notes = s.trace().events().iter();
        notes
            .filter_map(|e| match &e.what {
                What::Note { note: Note::SessionsShutDown { sessions, .. }, .. } => Some((e.time, *sessions)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let plain = run(None);
    let downs = note_times(&plain, "s1", down);
    assert_eq!(downs.len(), 1, "{downs:?}");
    let late = answers(&plain, Status::GatewayTimeout);
    assert!(late.len() >= 15 && late.iter().all(|&t| t > 6 * SEC), "504s after timeout server: {late:?}");
    assert!(answers(&plain, Status::BadGateway).is_empty() && shut_downs(&plain).is_empty());

    let shut = run(Some("shutdown-sessions"));
    let downs = note_times(&shut, "s1", down);
    let ended = shut_downs(&shut);
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].0, downs[0], "at the DOWN");
    let at_once = answers(&shut, Status::BadGateway);
    assert_eq!(at_once.len() as u32, ended[0].1, "one 502 per request s1 held");
    assert!(at_once.len() >= 15 && at_once.iter().all(|&t| t - downs[0] <= 2 * MS), "{at_once:?}");
    let note = shut
        .trace()
        .events()
        .iter()
        .find(|e| matches!(&e.what, What::Note { note: Note::SessionsShutDown { .. }, .. }));
    let line = shut.trace_line(note.expect("the note"));
    let expected = format!("s1 is DOWN: the {} requests it held get a 502 at once", at_once.len());
    assert!(line.text.contains(&expected), "{}", line.text);
    assert!(answers(&shut, Status::GatewayTimeout).is_empty());
}

/// A hot path under `balance uri` with a consistent hash: two thirds of
/// the requests ask for `/hot`, so one server gets them all. With
/// `hash_balance_factor: 125` no server may hold more than its share of
/// 125 % of the requests in progress, so `/hot`'s overflow goes on round
/// the ring, to the same next servers each time.
#[test]
fn hash_balance_factor_spreads_a_hot_path() {
    let run = |factor: Option<u32>| {
        let mut lb = json!({ "name": "lb", "type": "load_balancer", "balance": "uri", "hash_type": "consistent",
                             "servers": [ { "name": "s1" }, { "name": "s2" }, { "name": "s3" } ] });
        if let Some(f) = factor {
            lb["hash_balance_factor"] = json!(f);
        }
        let mut s = sim(json!({
            "version": 1, "seed": 3,
            "nodes": [
                { "name": "c", "type": "client", "target": "lb", "timeout": "5s",
                  "workload": { "kind": "open_loop", "rate": 600 },
                  "paths": [ { "path": "/hot", "weight": 6 }, { "path": "/a" }, { "path": "/b" }, { "path": "/c" } ] },
                lb,
                { "name": "s1", "type": "server", "workers": 16, "service_time": "10ms" },
                { "name": "s2", "type": "server", "workers": 16, "service_time": "10ms" },
                { "name": "s3", "type": "server", "workers": 16, "service_time": "10ms" }
            ],
            "links": [ { "between": ["c", "lb"], "latency": "1ms" }, { "between": ["lb", "s1"], "latency": "1ms" },
                       { "between": ["lb", "s2"], "latency": "1ms" }, { "between": ["lb", "s3"], "latency": "1ms" } ]
        }));
        s.run_through(10 * SEC);
        let shares = requests_per_server(&s);
        let total: u64 = shares.iter().sum();
        shares.iter().map(|&n| n as f64 / total as f64).collect::<Vec<f64>>()
    };
    let plain = run(None);
    assert!(plain.iter().any(|&x| x > 0.7) && plain.contains(&0.0), "one server takes /hot: {plain:?}");
    let bounded = run(Some(125));
    assert!(bounded.iter().all(|&x| x > 0.15 && x < 0.45), "the overflow is spread: {bounded:?}");
}

// ---------------------------------------------------------------------------
// An operator's `set server <backend>/<server> state ready|drain|maint`

fn server_views(sim: &engine::Simulation) -> Vec<engine::components::load_balancer::ServerView> {
    let Detail::LoadBalancer { servers, .. } = sim.node_state(1).detail else { panic!("not a load balancer") };
    servers
}

/// Requests the load balancer sent to `server` (not checks) from `from` on.
fn sent_to(sim: &engine::Simulation, server: &str, from: u64) -> Vec<u64> {
    let id = sim.node_id(server).unwrap();
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { from: 1, to, msg: Message::Request(_), .. } if *to == id && e.time >= from => Some(e.time),
            _ => None,
        })
        .collect()
}

/// The server every request of [`one_hashed_server`] goes to.
fn hashed_target() -> &'static str {
    let mut probe = sim(one_hashed_server(10, 0, false, json!([])));
    probe.run_through(SEC);
    let served = requests_per_server(&probe);
    ["s1", "s2", "s3"][served.iter().position(|&n| n > 0).unwrap()]
}

#[test]
fn a_drained_server_finishes_its_own_queue_and_gets_nothing_new() {
    use engine::components::load_balancer::admin::AdminState;
    // 40 requests a second hash to one server that serves 20: its queue
    // grows until it is drained at 2 s.
    let target = hashed_target();
    let drain = json!([{ "at": "2s", "action": "set_server_state", "node": "lb", "server": target, "state": "drain" }]);
    let run = |redispatch: bool| {
        let mut sim = sim(one_hashed_server(40, 0, redispatch, drain.clone()));
        sim.run_until(2 * SEC - MS);
        let before = server_views(&sim).into_iter().find(|s| s.name == target).unwrap();
        sim.run_through(2 * SEC + MS);
        let at_drain = server_views(&sim).into_iter().find(|s| s.name == target).unwrap();
        sim.run_through(6 * SEC);
        let after = server_views(&sim).into_iter().find(|s| s.name == target).unwrap();
        (sim, before, at_drain, after)
    };

    // Without `option redispatch` the drained server still serves the
    // requests waiting in its own queue, one at a time, then nothing.
    let (sim, before, at_drain, after) = run(false);
    assert!(before.queued > 10, "{} queued before the drain", before.queued);
    assert_eq!((at_drain.admin, at_drain.up), (AdminState::Drain, true), "drained but still UP");
    assert_eq!(at_drain.queued, before.queued, "its queue stays");
    assert_eq!((after.queued, after.served), (0, 0), "it served its queue");
    let queued = before.queued as u64;
    let held = u64::from(before.served);
    assert_eq!(after.requests - before.requests, queued, "exactly what waited for it, nothing new ({held} held)");
    let served_late = sent_to(&sim, target, 2 * SEC + MS);
    assert!(served_late.last().unwrap() > &(2 * SEC + 500 * MS), "still serving its queue at {served_late:?}");
    let notes = lb_notes(&sim, |n| matches!(n, Note::ServerAdmin { state: AdminState::Drain, was_up: true, .. }));
    assert_eq!(notes, vec![2 * SEC]);
    // The others took the new requests; nobody got an error.
    assert_eq!(sim.metrics().summary(sim.now()).counts.errors, 0);

    // With it, the queue goes through server selection again at once.
    let (_, before, at_drain, after) = run(true);
    assert!(before.queued > 10);
    assert_eq!(at_drain.queued, 0, "redistributed");
    assert_eq!(after.requests - before.requests, 0, "nothing new (the held request finished)");
}

#[test]
fn maintenance_takes_a_server_down_without_checks_and_ready_brings_it_back_at_once() {
    use engine::components::load_balancer::admin::AdminState;
    let mut sim = sim(lb_three(json!([
        { "at": "5s", "action": "set_server_state", "node": "lb", "server": "s2", "state": "maint" },
        { "at": "10s", "action": "set_server_state", "node": "lb", "server": "lb_servers/s2", "state": "ready" }
    ])));
    sim.run_through(8 * SEC);
    let s2 = &server_views(&sim)[1];
    assert_eq!((s2.admin, s2.up, s2.health.as_str()), (AdminState::Maint, false, "0/2 DOWN"));
    let s2_id = sim.node_id("s2").unwrap();
    // Checks sent to s2 from `from` to `to` (connect checks, delivered).
    let checks = |sim: &engine::Simulation, from: u64, to: u64| {
        sim.trace()
            .events()
            .iter()
            .filter(|e| match &e.what {
                What::Deliver { from: 1, to: t, sent_at, msg: Message::HealthCheck { .. } } => {
                    *t == s2_id && (from..to).contains(sent_at)
                }
                _ => false,
            })
            .count()
    };
    assert!(sent_to(&sim, "s2", 5 * SEC).is_empty(), "no request after 5 s");
    sim.run_through(12 * SEC);
    assert_eq!(checks(&sim, 5 * SEC + MS, 10 * SEC), 0, "no check in maintenance");
    // Back at once: health starts at `rise` (2/3 UP, not 0/3), requests
    // within a few ms, and a check at once, not a second later.
    let back = sent_to(&sim, "s2", 10 * SEC);
    assert!(back[0] < 10 * SEC + 20 * MS, "first request at {}", back[0]);
    assert!(checks(&sim, 10 * SEC, 10 * SEC + 10 * MS) == 1, "one check at once");
    let s2 = &server_views(&sim)[1];
    assert_eq!((s2.admin, s2.up), (AdminState::Ready, true));
    // The other servers took its share meanwhile: nothing failed.
    assert_eq!(sim.metrics().summary(sim.now()).counts.errors, 0);
    let notes = lb_notes(&sim, |n| matches!(n, Note::ServerAdmin { .. }));
    assert_eq!(notes, vec![5 * SEC, 10 * SEC]);
    assert!(lb_notes(&sim, |n| matches!(n, Note::ServerDown { .. } | Note::ServerUp { .. })).is_empty());
}

#[test]
fn maintenance_with_shutdown_sessions_ends_what_the_server_holds() {
    let mut v =
        lb_three(json!([{ "at": "5s", "action": "set_server_state", "node": "lb", "server": "s2", "state": "maint" }]));
    v["nodes"][1]["servers"][1]["on_marked_down"] = json!("shutdown-sessions");
    v["nodes"][3]["service_time"] = json!("300ms");
    let mut sim = sim(v);
    sim.run_through(6 * SEC);
    let shut = lb_note_values(&sim, |n| match n {
        Note::SessionsShutDown { sessions, .. } => Some(*sessions),
        _ => None,
    });
    assert_eq!(shut.len(), 1, "{shut:?}");
    assert_eq!(shut[0].0, 5 * SEC);
    assert!(shut[0].1 > 5, "{} requests ended", shut[0].1);
}

#[test]
fn a_restarted_load_balancer_forgets_what_the_operator_set() {
    let mut sim = sim(lb_three(json!([
        { "at": "2s", "action": "set_server_state", "node": "lb", "server": "s1", "state": "drain" },
        { "at": "4s", "action": "crash", "node": "lb" },
        { "at": "5s", "action": "restart", "node": "lb" }
    ])));
    sim.run_through(8 * SEC);
    assert!(sent_to(&sim, "s1", 2 * SEC + 10 * MS).iter().all(|&t| t > 5 * SEC), "drained until the restart");
    assert!(!sent_to(&sim, "s1", 5 * SEC).is_empty(), "ready again after it");
}

#[test]
fn set_server_state_names_a_load_balancer_and_one_of_its_servers() {
    let err = |fault: serde_json::Value| {
        engine::Scenario::from_value(lb_three(json!([fault]))).expect_err("invalid").to_string()
    };
    let e = err(json!({ "at": "1s", "action": "set_server_state", "node": "s1", "server": "s1", "state": "drain" }));
    assert!(e.contains("faults[0].node") && e.contains("`s1` is not a load balancer"), "{e}");
    let e = err(json!({ "at": "1s", "action": "set_server_state", "node": "lb", "server": "s9", "state": "drain" }));
    assert!(e.contains("faults[0].server") && e.contains("`lb` has no server `s9`"), "{e}");
    let e =
        err(json!({ "at": "1s", "action": "set_server_state", "node": "lb", "server": "api/s1", "state": "drain" }));
    assert!(e.contains("`lb` has no backend `api`; it has lb_servers"), "{e}");
    let e = err(json!({ "at": "1s", "action": "set_server_state", "node": "lb", "server": "s1", "state": "down" }));
    assert!(e.contains("unknown variant `down`, expected one of `ready`, `drain`, `maint`"), "{e}");
}

#[test]
fn set_server_weight_shifts_the_share_and_zero_takes_a_server_out() {
    let mut sim = sim(lb_three(json!([
        { "at": "2s", "action": "set_server_weight", "node": "lb", "server": "s2", "weight": 0 },
        { "at": "4s", "action": "set_server_weight", "node": "lb", "server": "s2", "weight": "300%" },
        { "at": "8s", "action": "crash", "node": "lb" },
        { "at": "9s", "action": "restart", "node": "lb" }
    ])));
    sim.run_through(4 * SEC - MS);
    assert!(sent_to(&sim, "s2", 2 * SEC + MS).is_empty(), "weight 0: nothing new for s2");
    let s2 = &server_views(&sim)[1];
    assert_eq!((s2.weight, s2.up), (0, true), "out of the rotation but UP");
    sim.run_through(8 * SEC - MS);
    // Weights 1, 3, 1 from 4 s: s2 gets three fifths.
    let s2_share = sent_to(&sim, "s2", 4 * SEC + MS).len() as f64;
    let all: f64 = ["s1", "s2", "s3"].iter().map(|s| sent_to(&sim, s, 4 * SEC + MS).len() as f64).sum();
    assert!((s2_share / all - 0.6).abs() < 0.02, "s2's share {s2_share} of {all}");
    assert_eq!(server_views(&sim)[1].weight, 3);
    let notes = lb_note_values(&sim, |n| match n {
        Note::ServerWeight { weight, .. } => Some(*weight),
        _ => None,
    });
    assert_eq!(notes, vec![(2 * SEC, 0), (4 * SEC, 3)]);
    assert_eq!(sim.metrics().summary(sim.now()).counts.errors, 0, "nothing failed before the crash");
    // A restarted load balancer has the weights of its configuration.
    sim.run_through(10 * SEC);
    assert_eq!(server_views(&sim)[1].weight, 1);
}

#[test]
fn a_static_algorithm_takes_only_zero_and_full_weights() {
    let mut v =
        lb_three(json!([{ "at": "1s", "action": "set_server_weight", "node": "lb", "server": "s1", "weight": 2 }]));
    v["nodes"][1]["balance"] = json!("static-rr");
    let e = engine::Scenario::from_value(v.clone()).expect_err("refused").to_string();
    assert!(
        e.contains("faults[0].weight") && e.contains("backend `lb_servers` uses a static algorithm (static-rr)"),
        "{e}"
    );
    v["faults"][0]["weight"] = json!("0%");
    assert!(engine::Scenario::from_value(v).is_ok());
}

/// `minconn` and `fullconn` as HAProxy reads them: `minconn` alone raises
/// `maxconn` to it (`srv_minmax_conn_apply`), `maxconn` alone is also the
/// floor; `fullconn` unset is a tenth of the frontend's `maxconn` for a
/// backend the frontend sends to, else 1; 0 is refused.
#[test]
fn minconn_and_fullconn_defaults_follow_haproxy() {
    use engine::components::load_balancer::config::{LoadBalancerConfig, ServerDefaults, ServerLine};
    let line = |v: serde_json::Value| -> ServerLine { serde_json::from_value(v).unwrap() };
    let eff = |v| {
        let e = line(v).effective(&ServerDefaults::default());
        (e.maxconn, e.minconn)
    };
    assert_eq!(eff(json!({ "name": "s" })), (0, 0), "no limit");
    assert_eq!(eff(json!({ "name": "s", "maxconn": 40 })), (40, 40), "static");
    assert_eq!(eff(json!({ "name": "s", "minconn": 5 })), (5, 5), "minconn alone raises maxconn");
    assert_eq!(eff(json!({ "name": "s", "maxconn": 40, "minconn": 5 })), (40, 5), "dynamic");
    assert_eq!(eff(json!({ "name": "s", "maxconn": 4, "minconn": 9 })), (9, 9));

    let lb: LoadBalancerConfig = serde_json::from_value(json!({
        "balance": "roundrobin", "maxconn": 995, "servers": [ { "name": "s" } ],
        "acl": [ "is_api path_beg /api" ], "use_backend": [ "api if is_api" ],
        "backends": [ { "name": "api", "balance": "roundrobin", "servers": [ { "name": "s" } ] },
                      { "name": "spare", "balance": "roundrobin", "fullconn": 30, "servers": [ { "name": "s" } ] },
                      { "name": "unused", "balance": "roundrobin", "servers": [ { "name": "s" } ] } ]
    }))
    .unwrap();
    assert_eq!(
        (0..4).map(|b| lb.effective_fullconn(b)).collect::<Vec<_>>(),
        [100, 100, 30, 1],
        "(995 + 9) / 10 for the default and the routed-to backend; as set; 1 for one nothing sends to"
    );

    let mut v = lb_three(json!([]));
    v["nodes"][1]["fullconn"] = json!(0);
    let e = engine::Scenario::from_value(v).unwrap_err().to_string();
    assert!(e.contains("fullconn must be 1 to") && e.contains("got 0"), "{e}");
}

#[test]
fn a_paused_load_balancer_takes_a_runtime_command_when_it_resumes_and_a_dead_one_refuses_it() {
    use engine::components::load_balancer::admin::AdminState;
    // Paused (SIGSTOP) at 4 s: the command at 5 s waits in the admin
    // socket and takes effect at the resume, 7 s.
    let mut sim = sim(lb_three(json!([
        { "at": "4s", "action": "pause", "node": "lb" },
        { "at": "5s", "action": "set_server_state", "node": "lb", "server": "s2", "state": "maint" },
        { "at": "7s", "action": "resume", "node": "lb" }
    ])));
    sim.run_through(6 * SEC);
    assert_eq!(server_views(&sim)[1].admin, AdminState::Ready, "not yet: the process is stopped");
    sim.run_through(8 * SEC);
    assert_eq!(server_views(&sim)[1].admin, AdminState::Maint);
    assert_eq!(lb_notes(&sim, |n| matches!(n, Note::ServerAdmin { .. })), vec![7 * SEC]);
    assert!(sent_to(&sim, "s2", 7 * SEC + MS).is_empty(), "no request to s2 after the resume");

    // Dead at 4 s: the command is refused, said so, and changes nothing
    // once the process is back.
    let mut sim = common::sim(lb_three(json!([
        { "at": "4s", "action": "crash", "node": "lb" },
        { "at": "5s", "action": "set_server_state", "node": "lb", "server": "s2", "state": "maint" },
        { "at": "7s", "action": "restart", "node": "lb" }
    ])));
    sim.run_through(9 * SEC);
    assert_eq!(lb_notes(&sim, |n| matches!(n, Note::CommandRefused)), vec![5 * SEC]);
    assert_eq!(server_views(&sim)[1].admin, AdminState::Ready);
    let refused = sim.trace().events().iter().find(|e| matches!(e.what, What::Note { note: Note::CommandRefused, .. }));
    assert_eq!(
        sim.trace_line(refused.unwrap()).text,
        "lb: the operator's command was refused: the process is down (connection refused)"
    );
}
