//! Layer-7 routing: `acl` and `use_backend` pick a named backend by path
//! and method, as HAProxy 2.6 does; each backend balances, checks and
//! queues on its own.
mod common;
use common::*;
use engine::message::{Message, Op, Status};
use engine::sim::Detail;
use engine::trace::{Note, What};
use serde_json::{json, Value};

/// Clients asking for `/api/...` and `/static/...` (reads and writes)
/// through a load balancer that sends `/api` to two servers and the rest
/// to one.
fn split(use_backend: Value, default_servers: Value, faults: Value) -> Value {
    json!({
        "version": 1,
        "seed": 5,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb",
              "workload": { "kind": "open_loop", "rate": 300 }, "timeout": "1s",
              "ops": { "read_fraction": 0.7, "keys": 50 },
              "paths": [ { "path": "/api/users", "weight": 2 }, { "path": "/static/app.css", "weight": 1 },
                         { "path": "/API/v1", "weight": 1 } ] },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin",
              "default_server": { "check": true, "inter": "1s" },
              "servers": default_servers,
              "acl": [ "is_api path_beg /api", "is_write method PUT POST" ],
              "use_backend": use_backend,
              "backends": [
                  { "name": "api", "balance": "roundrobin", "default_server": { "check": true, "inter": "1s" },
                    "servers": [ { "name": "a1" }, { "name": "a2" } ] },
                  { "name": "writes", "balance": "first", "servers": [ { "name": "w1" } ] }
              ] },
            { "name": "a1", "type": "server" },
            { "name": "a2", "type": "server" },
            { "name": "w1", "type": "server" },
            { "name": "st", "type": "server" }
        ],
        "links": [
            { "between": ["c", "lb"] }, { "between": ["lb", "a1"] }, { "between": ["lb", "a2"] },
            { "between": ["lb", "w1"] }, { "between": ["lb", "st"] }
        ],
        "faults": faults
    })
}

/// Every request a server was handed, as (path, is_write).
fn arrivals(sim: &engine::Simulation, server: &str) -> Vec<(String, bool)> {
    let id = sim.node_id(server).unwrap();
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { to, msg: Message::Request(r), .. } if *to == id => {
                Some((sim.path(r.path).to_string(), matches!(r.op, Op::Write { .. })))
            }
            _ => None,
        })
        .collect()
}

fn lb_detail(sim: &engine::Simulation) -> Detail {
    sim.node_state(sim.node_id("lb").unwrap()).detail
}

#[test]
fn path_prefixes_and_methods_pick_the_backend_and_the_rest_goes_to_the_default() {
    let mut sim =
        sim(split(json!(["writes if is_write !is_api", "api if is_api"]), json!([{ "name": "st" }]), json!([])));
    sim.run_until(5 * SEC);
    let api: Vec<_> = arrivals(&sim, "a1").into_iter().chain(arrivals(&sim, "a2")).collect();
    let writes = arrivals(&sim, "w1");
    let rest = arrivals(&sim, "st");
    assert!(api.len() > 500 && writes.len() > 50 && rest.len() > 100, "{} {} {}", api.len(), writes.len(), rest.len());
    // path_beg is case-sensitive without -i: /API/v1 is not an API path.
    assert!(api.iter().all(|(p, _)| p.starts_with("/api")), "{api:?}");
    assert!(api.iter().any(|(_, w)| *w), "writes to /api go to api, the first rule does not apply");
    assert!(writes.iter().all(|(p, w)| *w && !p.starts_with("/api")), "{writes:?}");
    assert!(rest.iter().all(|(p, w)| !*w && !p.starts_with("/api")), "{rest:?}");
    assert!(rest.iter().any(|(p, _)| p == "/API/v1"));
    // roundrobin inside the api backend splits it evenly.
    let (n1, n2) = (arrivals(&sim, "a1").len() as i64, arrivals(&sim, "a2").len() as i64);
    assert!((n1 - n2).abs() <= 1, "{n1} vs {n2}");

    let Detail::LoadBalancer { backends, servers, .. } = lb_detail(&sim) else { panic!() };
    let names: Vec<_> = backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["lb_servers", "api", "writes"]);
    assert_eq!(backends[1].requests, api.len() as u64 + backends[1].queued as u64 + in_flight(&sim, &["a1", "a2"]));
    let a1 = servers.iter().find(|s| s.name == "a1").unwrap();
    assert_eq!(a1.backend, "api");
    // Every routed request has its decision in the trace.
    let decisions = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Note { note: Note::UseBackend { .. }, .. }))
        .count();
    assert_eq!(decisions as u64, backends.iter().map(|b| b.requests).sum::<u64>());
}

/// Requests the load balancer sent to these servers that have not arrived.
fn in_flight(sim: &engine::Simulation, servers: &[&str]) -> u64 {
    let ids: Vec<_> = servers.iter().map(|s| sim.node_id(s).unwrap()).collect();
    sim.in_flight(usize::MAX)
        .iter()
        .filter(|f| ids.contains(&f.to) && f.kind == engine::message::MsgKind::Request)
        .count() as u64
}

#[test]
fn a_request_no_rule_takes_and_no_default_backend_serves_gets_503() {
    let mut sim = sim(split(json!(["api if is_api"]), json!([]), json!([])));
    sim.run_until(3 * SEC);
    assert!(arrivals(&sim, "st").is_empty());
    let refused = sim
        .trace()
        .events()
        .iter()
        .filter(|e| {
            matches!(e.what, What::Deliver { msg: Message::Response(r), to, .. }
                if r.status == Status::ServiceUnavailable && to == sim.node_id("c").unwrap())
        })
        .count();
    // A half of the requests are neither /api nor routed: every one is a 503.
    let Detail::LoadBalancer { backends, .. } = lb_detail(&sim) else { panic!() };
    assert!(refused > 300, "{refused}");
    assert!(backends[0].requests.abs_diff(refused as u64) <= 2, "{} vs {refused}", backends[0].requests);
    assert!(sim.haproxy_cfg(sim.node_id("lb").unwrap()).unwrap().lines().all(|l| !l.contains("default_backend")));
}

#[test]
fn each_backend_checks_its_own_servers() {
    // a1 crashes: the api backend sends everything to a2; the default
    // backend is not disturbed.
    let mut sim = sim(split(
        json!(["api if is_api"]),
        json!([{ "name": "st" }]),
        json!([{ "at": "1s", "action": "crash", "node": "a1" }]),
    ));
    sim.run_until(8 * SEC);
    let Detail::LoadBalancer { servers, .. } = lb_detail(&sim) else { panic!() };
    let state = |n: &str| servers.iter().find(|s| s.name == n).unwrap().up;
    assert!(!state("a1") && state("a2") && state("st"));
    let late_to_a2 = arrivals(&sim, "a2").len();
    sim.run_until(10 * SEC);
    let more_to_a2 = arrivals(&sim, "a2").len() - late_to_a2;
    // 300/s, half to /api, all of it to a2 for two seconds.
    assert!(more_to_a2 > 250, "{more_to_a2}");
}

#[test]
fn routing_is_deterministic_and_recorded_in_the_trace_hash() {
    let v = split(json!(["api if is_api"]), json!([{ "name": "st" }]), json!([]));
    let run = |v: Value| {
        let mut s = sim(v);
        s.run_until(2 * SEC);
        s.trace_hash()
    };
    assert_eq!(run(v.clone()), run(v.clone()));
    let mut other = v.clone();
    other["nodes"][1]["use_backend"] = json!(["api if is_api || is_write"]);
    assert_ne!(run(v), run(other));
}

/// The words the trace gives each routing decision.
fn routing_lines(sim: &engine::Simulation) -> Vec<String> {
    sim.trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Note { note: Note::UseBackend { .. }, .. }))
        .map(|e| sim.trace_line(e).text)
        .collect()
}

#[test]
fn the_trace_says_which_rule_routed_each_request() {
    let mut routed = sim(split(json!(["api if is_api"]), json!([{ "name": "st" }]), json!([])));
    routed.run_until(SEC);
    let lines = routing_lines(&routed);
    assert!(lines.iter().any(|l| l == "lb: use_backend api if is_api: to backend api"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "lb: no use_backend rule applies: to default backend lb_servers"), "{lines:?}");
    let mut bare = sim(split(json!(["api if is_api"]), json!([]), json!([])));
    bare.run_until(SEC);
    let lines = routing_lines(&bare);
    assert!(
        lines.iter().any(|l| l == "lb: no use_backend rule applies and there is no default backend: 503"),
        "{lines:?}"
    );
}
