//! Bad scenarios are refused with a message naming the field and the
//! reason, never a panic.
mod common;
use common::*;
use engine::Scenario;
use serde_json::{json, Value};

fn err(v: Value) -> String {
    Scenario::from_value(v).expect_err("should be refused").to_string()
}

/// `v` with the value at `pointer` set (added, if the object lacks it).
fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let target = v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(map) => {
            map.insert(key.to_string(), new);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("an index")] = new,
        _ => panic!("{parent} holds no fields"),
    }
    v
}

#[test]
fn every_example_scenario_is_valid_and_round_trips() {
    for (name, s) in examples() {
        let again = Scenario::from_json(&s.to_json_pretty()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s, again, "{name} changes through JSON");
    }
}

#[test]
fn pretty_json_is_serde_jsons_pretty_text() {
    for (name, mut s) in examples() {
        assert_eq!(s.to_json_pretty(), serde_json::to_string_pretty(&s).unwrap(), "{name}");
        // Strings holding JSON punctuation, escapes and non-ASCII text.
        s.description = "a \"quoted\" [list], {map}: \\ back\\\"slash\n\ttab é 漢 \u{1}".into();
        s.name = String::new();
        assert_eq!(s.to_json_pretty(), serde_json::to_string_pretty(&s).unwrap(), "{name}");
    }
}

#[test]
fn wrong_types_name_the_field() {
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/default_server/rise", json!("two"))),
        "nodes[1].default_server.rise: invalid type: string \"two\", expected u32"
    );
    assert_eq!(
        err(with(client_server(10.0), "/nodes/1/workers", json!(-3))),
        "nodes[1].workers: invalid value: integer `-3`, expected u32"
    );
    assert_eq!(
        err(with(client_server(10.0), "/nodes/0/timeout", json!("soon"))),
        "nodes[0].timeout: `soon` is not a duration; write a number and a unit, e.g. \"250ms\" or \"2s\""
    );
    assert_eq!(err(with(client_server(10.0), "/seed", json!("x"))), "seed: invalid type: string \"x\", expected u64");
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/http_request", json!(["deny if METH_PUT"]))),
        "nodes[1].http_request[0]: `deny`: of the http-request actions only `disable-l7-retry` is modelled, \
         e.g. `disable-l7-retry if METH_PUT`"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/http_request", json!(["disable-l7-retry if is_put"]))),
        "nodes[1].http_request[0]: no ACL is named `is_put`; define it in `acl`"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/retry_on", json!("503 sometimes"))),
        "nodes[1].retry_on: retry-on: `sometimes` is not a keyword; expected none, conn-failure, empty-response, \
         response-timeout, all-retryable-errors or one of the statuses 401, 403, 404, 408, 425, 500, 501, 502, 503, 504"
    );
    let cache = json!({ "version": 1, "seed": 1, "duration": "1s",
                        "nodes": [{ "name": "c1", "type": "cache", "redis": { "appendfsync": "sometimes" } }] });
    assert_eq!(
        err(cache),
        "nodes[0].redis.appendfsync: unknown variant `sometimes`, expected one of `always`, `everysec`, `no`"
    );
    let cache = json!({ "version": 1, "seed": 1, "duration": "1s",
                        "nodes": [{ "name": "c1", "type": "cache", "redis": { "save": "60 x 5" } }] });
    let e = err(cache);
    assert!(e.starts_with("nodes[0].redis.save: save takes pairs of seconds (at least 1) and changes"), "{e}");
    assert!(e.ends_with("got \"60 x 5\""), "{e}");
}

#[test]
fn unknown_component_and_unknown_fields() {
    assert_eq!(
        err(with(client_server(10.0), "/nodes/1/type", json!("databse"))),
        "nodes[1].type: unknown component `databse`; expected one of `cache`, `client`, `database`, `kafka_broker`, `kafka_consumer`, `kafka_controller`, `kafka_producer`, `load_balancer`, `raft_kv`, `sentinel`, `server`"
    );
    let e = err(with(client_server(10.0), "/nodes/1/wrokers", json!(3)));
    assert_eq!(
        e,
        "nodes[1].wrokers: unknown field `wrokers`, expected one of `workers`, `queue`, `service_time`, `handler`"
    );
    let e = err(with(lb_three(json!([])), "/nodes/1/servers/1/wieght", json!(3)));
    assert!(e.starts_with("nodes[1].servers[1].wieght: unknown field `wieght`"), "{e}");
    let e = err(lb_three(json!([{ "at": "1s", "action": "heal", "node": "s1" }])));
    assert!(e.starts_with("faults[0].node: unknown field `node`"), "{e}");
    let e = err(with(client_server(10.0), "/speed", json!(3)));
    assert!(e.starts_with("speed: unknown field `speed`, expected one of `version`"), "{e}");
}

#[test]
fn dangling_references_are_named() {
    assert_eq!(
        err(with(client_server(10.0), "/links/0/between/1", json!("ghost"))),
        "links[0].between[1]: no node is named `ghost`"
    );
    assert_eq!(
        err(with(client_server(10.0), "/nodes/0/target", json!("ghost"))),
        "nodes[0].target: no node is named `ghost`"
    );
    assert_eq!(
        err(with(client_server(10.0), "/links", json!([]))),
        "nodes[0].target: no link joins `c` to `s`; add one to `links`"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/servers/2/name", json!("c"))),
        "nodes[1].servers[2].name: `c` is a client; a load balancer forwards to servers"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "crash", "node": "s9" }]))),
        "faults[0].node: no node is named `s9`"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "cut_link", "between": ["s1", "s2"] }]))),
        "faults[0].between: no link joins `s1` and `s2`"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "crash", "node": "s1" },
                              { "at": "2s", "action": "hold_link", "between": ["s3", "s2"] }]))),
        "faults[1].between: no link joins `s3` and `s2`"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "release_link", "between": ["lb"] }]))),
        "faults[0].between: invalid length 1, expected an array of length 2"
    );
}

#[test]
fn out_of_range_numbers() {
    assert_eq!(
        err(with(client_server(10.0), "/nodes/0/workload/rate", json!(-5))),
        "nodes[0].workload.rate: rate must be a number of requests per second above 0 and at most 10000000, got -5"
    );
    assert_eq!(
        err(with(client_server(10.0), "/links/0/loss", json!(1.5))),
        "links[0].loss: loss must be a probability between 0 and 1, got 1.5"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/servers/0", json!({ "name": "s1", "weight": 300 }))),
        "nodes[1].servers[0].weight: weight must be 0 to 256, got 300"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "slow_node", "node": "s1", "factor": 0 }]))),
        "faults[0].factor: factor must be above 0 and at most 1000, got 0"
    );
    assert_eq!(
        err(lb_three(json!([{ "at": "1s", "action": "degrade_link", "between": ["lb", "s1"], "loss": 2 }]))),
        "faults[0].loss: loss must be a probability between 0 and 1, got 2"
    );
    // A default-server mistake is reported where it was made.
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/default_server/weight", json!(999))),
        "nodes[1].default_server.weight: weight must be 0 to 256, got 999"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/default_server/slowstart", json!("25d"))),
        "nodes[1].default_server.slowstart: `25d` has an unknown unit `d` (units: ns, us, ms, s, m, h)"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/servers/2", json!({ "name": "s3", "slowstart": "600h" }))),
        "nodes[1].servers[2].slowstart: slowstart must be at most 2147483647ms (about 24.8 days), got 2160000s"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/default_server/error_limit", json!(0))),
        "nodes[1].default_server.error_limit: error_limit must be 1 to 2147483647, got 0"
    );
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/servers/0", json!({ "name": "s1", "error_limit": 3000000000u64 }))),
        "nodes[1].servers[0].error_limit: error_limit must be 1 to 2147483647, got 3000000000"
    );
    assert!(err(with(lb_three(json!([])), "/nodes/1/servers/0", json!({ "name": "s1", "observe": "layer3" })))
        .contains("unknown variant `layer3`, expected one of `none`, `layer4`, `layer7`"));
    assert!(err(with(lb_three(json!([])), "/nodes/1/default_server/on_error", json!("fail_check"))).contains(
        "unknown variant `fail_check`, expected one of `fastinter`, `fail-check`, `sudden-death`, `mark-down`"
    ));
    let httpchk = err(with(lb_three(json!([])), "/nodes/1/httpchk", json!("GET health")));
    assert!(httpchk.starts_with("nodes[1].httpchk: "), "{httpchk}");
    assert!(httpchk.contains("`health` is not a check URI: it starts with `/`"), "{httpchk}");
    assert!(err(with(lb_three(json!([])), "/nodes/1/httpchk", json!(true))).contains("nodes[1].httpchk"));
    assert_eq!(
        err(with(lb_three(json!([])), "/nodes/1/timeout_connect", json!("0s"))),
        "nodes[1].timeout_connect: timeout_connect must be at least 1ms, got 0s"
    );
    // `hash-balance-factor`: 0 or above 100, on a consistent hash only.
    let uri = with(lb_three(json!([])), "/nodes/1/balance", json!("uri"));
    let consistent = with(uri.clone(), "/nodes/1/hash_type", json!("consistent"));
    assert_eq!(
        err(with(consistent.clone(), "/nodes/1/hash_balance_factor", json!(100))),
        "nodes[1].hash_balance_factor: hash-balance-factor must be 0 or greater than 100, got 100"
    );
    for not_consistent in [uri, lb_three(json!([]))] {
        assert_eq!(
            err(with(not_consistent, "/nodes/1/hash_balance_factor", json!(150))),
            "nodes[1].hash_balance_factor: hash-balance-factor bounds the load of a consistent hash: \
             it needs `balance` source or uri with `hash_type: consistent`"
        );
    }
    for fine in [0, 101, 150] {
        Scenario::from_value(with(consistent.clone(), "/nodes/1/hash_balance_factor", json!(fine))).expect("valid");
    }
    assert!(err(with(
        client_server(10.0),
        "/nodes/1/service_time",
        json!({ "uniform": { "min": "5ms", "max": "1ms" } })
    ))
    .starts_with("nodes[1].service_time: uniform min 5ms is greater than max 1ms"));
}

#[test]
fn versions() {
    assert_eq!(
        err(with(client_server(10.0), "/version", json!(2))),
        "version: this scenario uses format version 2, newer than this Cluster Lab understands (version 1); open it with a newer Cluster Lab"
    );
    assert_eq!(err(with(client_server(10.0), "/version", json!(0))), "version: must be 1, got 0");
    let mut v = client_server(10.0);
    v.as_object_mut().unwrap().remove("version");
    assert_eq!(err(v), "version: missing; this Cluster Lab reads version 1");
    // A future version is reported as such even if it has fields we do not know.
    let mut v = with(client_server(10.0), "/version", json!(3));
    v["quantum"] = json!(true);
    assert!(err(v).contains("format version 3"));
}

#[test]
fn names_must_be_unique_and_plain() {
    let v = with(client_server(10.0), "/nodes/1/name", json!("c"));
    assert_eq!(err(v), "nodes[1].name: `c` is already the name of nodes[0]");
    let v = with(client_server(10.0), "/nodes/1/name", json!("<b>x</b>"));
    assert_eq!(err(v), "nodes[1].name: `<b>x</b>` may use only letters, digits, '-', '_' and '.'");
}

#[test]
fn malformed_truncated_and_oversized_text() {
    let e = Scenario::from_json("{\"version\": 1, \"nodes\": [").unwrap_err().to_string();
    assert!(e.starts_with("not valid JSON: EOF while parsing a list at line 1"), "{e}");
    let e = Scenario::from_json("[1, 2]").unwrap_err().to_string();
    assert_eq!(e, "a scenario must be a JSON object");
    let big = format!("{{\"version\": 1, \"description\": \"{}\"}}", "x".repeat(2 << 20));
    let e = Scenario::from_json(&big).unwrap_err().to_string();
    assert!(e.contains("the limit is 1048576 bytes"), "{e}");
}

#[test]
fn garbage_never_panics() {
    // Every prefix of a real scenario, and a few mangled ones: errors, never panics.
    let text = load_example("web-three-servers.json").to_json_pretty();
    for cut in (0..text.len()).step_by(7) {
        let _ = Scenario::from_json(&text[..cut]);
    }
    for (i, c) in text.char_indices().step_by(13) {
        let mut mangled = text.clone();
        mangled.replace_range(i..i + c.len_utf8(), if c.is_ascii_digit() { "-" } else { "7" });
        let _ = Scenario::from_json(&mangled);
    }
}

/// `lb_three` with layer-7 fields on the load balancer.
fn routed(acl: Value, use_backend: Value, backends: Value) -> Value {
    let v = with(lb_three(json!([])), "/nodes/1/acl", acl);
    let v = with(v, "/nodes/1/use_backend", use_backend);
    with(v, "/nodes/1/backends", backends)
}

#[test]
fn layer_7_routing_mistakes_are_named() {
    let api = json!([{ "name": "api", "balance": "roundrobin", "servers": [{ "name": "s3" }] }]);
    let cases = [
        (
            routed(json!(["is_api path_beg /api"]), json!(["apo if is_api"]), api.clone()),
            "nodes[1].use_backend[0]: no backend is named `apo` (backends: api)",
        ),
        (
            routed(json!(["is_api path_beg /api"]), json!(["api if is_apl"]), api.clone()),
            "nodes[1].use_backend[0]: no ACL is named `is_apl`; define it in `acl`",
        ),
        (
            routed(json!(["is_api path_begin /api"]), json!([]), api.clone()),
            "nodes[1].acl[0]: `path_begin` is not a criterion here: expected path, path_beg, path_end, path_sub, path_dir or method",
        ),
        (
            routed(json!(["is_api path_beg /api"]), json!(["api if is_api &&"]), api.clone()),
            "nodes[1].use_backend[0]: `&&` is not an ACL name",
        ),
        (
            routed(json!([]), json!([]), json!([{ "balance": "roundrobin", "servers": [{ "name": "s3" }] }])),
            "nodes[1].backends[0].name: a named backend needs a `name`",
        ),
        (
            routed(json!([]), json!([]), json!([{ "name": "x", "balance": "roundrobin", "servers": [{ "name": "s3" }], "maxconn": 10 }])),
            "nodes[1].backends[0].maxconn: `maxconn` is a frontend setting; set it on the load balancer itself",
        ),
        (
            routed(json!([]), json!([]), json!([{ "name": "x", "balance": "roundrobin", "servers": [{ "name": "s9" }] }])),
            "nodes[1].backends[0].servers[0].name: no node is named `s9`",
        ),
        (
            routed(json!([]), json!([]), json!([{ "name": "x", "balance": "roundrobin", "servers": [] }])),
            "nodes[1].backends[0].servers: a backend needs at least one server",
        ),
        (
            routed(json!([]), json!([]), json!([
                { "name": "x", "balance": "roundrobin", "servers": [{ "name": "s3" }] },
                { "name": "x", "balance": "first", "servers": [{ "name": "s2" }] }
            ])),
            "nodes[1].backends[1].name: backend `x` is defined twice",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(err(v), want);
    }
}

#[test]
fn unvalidated_reading_gives_serdes_own_messages() {
    let cases = [
        with(lb_three(json!([])), "/nodes/1/default_server/rise", json!("two")),
        with(client_server(10.0), "/nodes/1/workers", json!(-3)),
        with(client_server(10.0), "/nodes/0/timeout", json!("soon")),
        with(client_server(10.0), "/seed", json!("x")),
        with(client_server(10.0), "/nodes/1/type", json!("databse")),
        with(client_server(10.0), "/nodes/1/type", json!(7)),
        with(client_server(10.0), "/nodes/1/wrokers", json!(3)),
        with(lb_three(json!([])), "/nodes/1/servers/1/wieght", json!(3)),
        lb_three(json!([{ "at": "1s", "action": "heal", "node": "s1" }])),
        lb_three(json!([{ "at": "1s", "action": "explode" }])),
        lb_three(json!([{ "action": "crash", "node": "s1" }])),
        with(client_server(10.0), "/speed", json!(3)),
        with(client_server(10.0), "/nodes", json!({})),
        with(client_server(10.0), "/links", json!([{ "between": ["a"] }])),
        with(client_server(10.0), "/network", json!({ "loss": "lots" })),
        json!([]),
        json!({}),
        // Valid types, invalid meaning: both read it.
        with(client_server(10.0), "/nodes/1/name", json!("")),
        client_server(10.0),
    ];
    for v in cases {
        let ours = Scenario::from_value_unvalidated(v.clone()).map_err(|e| e.to_string());
        let serdes = serde_json::from_value::<Scenario>(v.clone()).map_err(|e| e.to_string());
        assert_eq!(ours, serdes, "{v}");
    }
    for (name, s) in examples() {
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(Scenario::from_value_unvalidated(v).unwrap(), s, "{name}");
    }
}

#[test]
fn to_value_is_serde_jsons_to_value() {
    let floats = [
        0.1 + 0.2,
        1.0 / 3.0,
        -0.0,
        3.0,
        1e21,
        1.5e-7,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        -123456.789,
        2f64.powi(60),
        f64::NAN,
        f64::INFINITY,
    ];
    for (name, mut s) in examples() {
        assert_eq!(engine::scenario::to_value(&s), serde_json::to_value(&s).unwrap(), "{name}");
        for n in &s.nodes {
            assert_eq!(engine::scenario::to_value(&n.component), serde_json::to_value(&n.component).unwrap(), "{name}");
        }
        s.description = "\u{1}\u{1f}\u{7f} \"q\" \\ / \n\r\t\u{8}\u{c} é 漢 😀".into();
        let mut x = 0.7f64;
        for (i, n) in s.nodes.iter_mut().enumerate() {
            x = x * 1.37 + 0.013;
            n.pos = Some([floats[i % floats.len()], x]);
        }
        assert_eq!(engine::scenario::to_value(&s), serde_json::to_value(&s).unwrap(), "{name}");
    }
    // Many floats, each read back bit for bit.
    let mut x: u64 = 0x0123_4567_89ab_cdef;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        let v = vec![f, f / 1e10, (x % 1_000_000) as f64 / 1000.0];
        assert_eq!(engine::scenario::to_value(&v), serde_json::to_value(&v).unwrap(), "{f:e}");
        let ints = (x, x as i64, -((x >> 2) as i64));
        assert_eq!(engine::scenario::to_value(&ints), serde_json::to_value(ints).unwrap());
    }
}

#[test]
fn a_faults_and_a_workloads_read_errors_name_the_field() {
    let fault = |f: serde_json::Value| err(lb_three(json!([f])));
    assert_eq!(
        fault(json!({ "at": "1s", "action": "crash", "node": 5 })),
        "faults[0].node: invalid type: integer `5`, expected a string"
    );
    assert_eq!(
        fault(json!({ "at": "1s", "action": "degrade_link", "between": ["lb", "s1"], "loss": "x" })),
        "faults[0].loss: invalid type: string \"x\", expected f64"
    );
    assert!(fault(json!({ "at": "one", "action": "crash", "node": "s1" }))
        .starts_with("faults[0].at: `one` is not a duration"));
    assert_eq!(fault(json!({ "action": "crash", "node": "s1" })), "faults[0].at: missing field `at`");
    assert_eq!(fault(json!({ "at": "1s", "action": "crash" })), "faults[0].node: missing field `node`");
    assert!(
        fault(json!({ "at": "1s", "action": "explode" })).starts_with("faults[0].action: unknown variant `explode`")
    );
    assert_eq!(
        fault(json!({ "at": "1s", "action": "partition_one_way", "from": ["s1"], "to": ["s9"] })),
        "faults[0].to: no node is named `s9`"
    );
    assert_eq!(
        fault(json!({ "at": "1s", "action": "partition", "groups": [["s1"], ["ghost"]] })),
        "faults[0].groups: no node is named `ghost`"
    );
    // A fault that is not an object: the whole fault.
    assert_eq!(fault(json!("crash")), "faults[0]: expected a fault (a JSON object), got \"crash\"");
    assert_eq!(
        err(with(client_server(10.0), "/nodes/0/workload/rate", json!("fast"))),
        "nodes[0].workload.rate: invalid type: string \"fast\", expected f64"
    );
    assert!(err(with(client_server(10.0), "/nodes/0/workload/kind", json!("burst")))
        .starts_with("nodes[0].workload.kind: unknown variant `burst`"));
    // A Kafka controller's topic likewise.
    let kafka: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/kafka-three-brokers.json")).unwrap(),
    )
    .unwrap();
    let ctl = kafka["nodes"].as_array().unwrap().iter().position(|n| n["type"] == "kafka_controller").unwrap();
    assert_eq!(
        err(with(kafka.clone(), &format!("/nodes/{ctl}/topic/partitions"), json!("six"))),
        format!("nodes[{ctl}].topic.partitions: invalid type: string \"six\", expected u32")
    );
    assert!(err(with(kafka, &format!("/nodes/{ctl}/topic/min_isr"), json!(2)))
        .starts_with(&format!("nodes[{ctl}].topic.min_isr: unknown field `min_isr`, expected one of `partitions`")));
}
