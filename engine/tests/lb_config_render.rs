//! The load balancer's configuration renders as a haproxy.cfg that the
//! real HAProxy (Debian's 2.6, installed by scripts/setup.sh) accepts.
mod common;
use common::*;
use serde_json::json;
use std::process::Command;

fn haproxy_accepts(cfg: &str, tag: &str) {
    let dir = std::env::temp_dir().join(format!("clusterlab-render-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, cfg).unwrap();
    let out =
        Command::new("haproxy").arg("-c").arg("-f").arg(&file).output().unwrap_or_else(|e| {
            panic!("cannot run haproxy ({e}); scripts/setup.sh installs it (apt-get install haproxy)")
        });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "haproxy -c refused the rendering:\n{cfg}\n{text}");
    assert!(!text.contains("[WARNING]"), "haproxy warns:\n{cfg}\n{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_example_load_balancer_renders_a_valid_haproxy_cfg() {
    let mut rendered = 0;
    for (name, s) in examples() {
        let sim = engine::Simulation::new(&s).unwrap();
        for id in 0..sim.node_count() as u32 {
            if let Some(cfg) = sim.haproxy_cfg(id) {
                assert!(cfg.lines().any(|l| l.starts_with("    balance ")), "{name}: {cfg}");
                haproxy_accepts(&cfg, &format!("{}-{id}", name.trim_end_matches(".json")));
                rendered += 1;
            }
        }
    }
    assert!(rendered >= 6, "{rendered}");
}

#[test]
fn every_option_renders_in_haproxy_terms() {
    let mut v = lb_three(json!([]));
    v["nodes"][1] = json!({
        "name": "lb", "type": "load_balancer", "balance": "roundrobin",
        "default_server": { "check": true, "inter": "500ms", "fastinter": "100ms", "downinter": "2s", "rise": 3, "fall": 2, "maxconn": 50, "maxqueue": 10 },
        "servers": [ { "name": "s1", "weight": 3, "slowstart": "1500ms", "minconn": 5, "on_marked_up": "shutdown-backup-sessions" }, { "name": "s2", "check": false, "on_marked_down": "shutdown-sessions" },
                     { "name": "s3", "backup": true, "observe": "layer7", "error_limit": 5, "on_error": "sudden-death" } ],
        "retries": 2, "fullconn": 40, "redispatch": true, "allbackups": true, "httpchk": "HEAD /health HTTP/1.1",
        "timeout_connect": "2s", "timeout_server": "10s", "timeout_queue": "1s", "timeout_check": "800ms",
        "maxconn": 500, "backlog": 100, "retry_on": "conn-failure empty-response 503",
        "acl": [ "is_admin path_beg /admin" ],
        "http_request": [ "disable-l7-retry if METH_PUT || is_admin", "disable-l7-retry unless METH_GET" ],
        "abortonclose": true, "use_backend": [ "admin if is_admin" ],
        "backends": [ { "name": "admin", "balance": "first", "servers": [ { "name": "s2" } ] } ]
    });
    let sim = sim(v);
    let cfg = sim.haproxy_cfg(1).unwrap();
    for line in [
        "    retries 2",
        "    fullconn 40",
        "    option redispatch",
        "    option allbackups",
        "    option httpchk HEAD /health HTTP/1.1",
        "    timeout connect 2s",
        "    timeout server 10s",
        "    timeout queue 1s",
        "    timeout check 800ms",
        "    maxconn 500",
        "    backlog 100",
        "    retry-on conn-failure empty-response 503",
        "    http-request disable-l7-retry if METH_PUT || is_admin",
        "    http-request disable-l7-retry unless METH_GET",
        "    balance roundrobin",
        "    default-server check inter 500ms fastinter 100ms downinter 2s rise 3 fall 2 maxconn 50 maxqueue 10",
        "    server s1 10.0.0.3:80 weight 3 slowstart 1500ms minconn 5 on-marked-up shutdown-backup-sessions",
        "    server s2 10.0.0.4:80 no-check on-marked-down shutdown-sessions",
        "    server s3 10.0.0.5:80 observe layer7 error-limit 5 on-error sudden-death backup",
        "    no option abortonclose",
    ] {
        assert!(cfg.lines().any(|l| l == line), "missing `{line}` in:\n{cfg}");
    }
    // In `defaults` (HAProxy 2.6 needs the frontend to have it) and in
    // the default backend; the named backend says it has not.
    assert_eq!(cfg.lines().filter(|l| *l == "    option abortonclose").count(), 2, "{cfg}");
    haproxy_accepts(&cfg, "options");
}

#[test]
fn every_balance_algorithm_renders_a_valid_haproxy_cfg() {
    for (balance, hash_type) in [
        ("static-rr", None),
        ("leastconn", None),
        ("first", None),
        ("random", None),
        ("random(3)", None),
        ("source", Some("map-based")),
        ("uri len 10 depth 2 whole", Some("consistent djb2 avalanche")),
        ("uri", Some("consistent")),
    ] {
        let mut v = lb_three(json!([]));
        v["nodes"][1]["balance"] = json!(balance);
        if let Some(h) = hash_type {
            v["nodes"][1]["hash_type"] = json!(h);
        }
        let sim = sim(v);
        let cfg = sim.haproxy_cfg(1).unwrap();
        assert!(cfg.contains(&format!("    balance {balance}\n")), "{cfg}");
        if let Some(h) = hash_type.filter(|h| *h != "map-based") {
            assert!(cfg.contains(&format!("    hash-type {h}\n")), "{cfg}");
        }
        haproxy_accepts(&cfg, &balance.replace(' ', "_"));
    }
    // Bounded loads on a consistent hash.
    let mut v = lb_three(json!([]));
    v["nodes"][1]["balance"] = json!("source");
    v["nodes"][1]["hash_type"] = json!("consistent");
    v["nodes"][1]["hash_balance_factor"] = json!(125);
    let cfg = sim(v).haproxy_cfg(1).unwrap();
    assert!(cfg.contains("    hash-type consistent\n    hash-balance-factor 125\n"), "{cfg}");
    haproxy_accepts(&cfg, "hash_balance_factor");
}
