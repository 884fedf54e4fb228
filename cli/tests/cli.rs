//! The `clusterlab` binary, run as a user would.
use std::path::PathBuf;
use std::process::{Command, Output};

fn clusterlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterlab")).args(args).output().expect("the binary runs")
}

fn example(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "engine", "scenarios", name].iter().collect();
    p.to_string_lossy().into_owned()
}

fn report(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

#[test]
fn run_prints_events_hash_and_metrics_and_is_deterministic() {
    let file = example("server-crash-failover.json");
    let a = report(&clusterlab(&["run", &file, "--until", "15s"]));
    let events = a["events"].as_u64().expect("events is an integer");
    assert!(events > 10_000);
    let hash = a["trace_hash"].as_str().expect("trace_hash is a string");
    assert_eq!(hash.len(), 16);
    assert!(a["metrics"]["throughput"].as_f64().unwrap() > 250.0);
    assert!(a["metrics"]["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(a["simulated"], "15s");
    // The same again, and a different seed differs.
    let b = report(&clusterlab(&["run", &file, "--until", "15s"]));
    assert_eq!(a, b);
    let c = report(&clusterlab(&["run", &file, "--until", "15s", "--seed", "99"]));
    assert_ne!(c["trace_hash"], a["trace_hash"]);
    assert_eq!(c["seed"], 99);
}

#[test]
fn trace_file_holds_every_event_as_json_lines() {
    let dir = std::env::temp_dir().join(format!("clusterlab-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let file = example("web-three-servers.json");
    let r = report(&clusterlab(&["run", &file, "--until", "3s", "--trace", trace.to_str().unwrap()]));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len() as u64, r["trace"]["recorded"].as_u64().unwrap());
    // Numbered from 0 without gaps, in time order, each with a sentence.
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["n"].as_u64(), Some(i as u64));
        assert!(!l["text"].as_str().unwrap().is_empty());
    }
    assert!(lines.windows(2).all(|w| w[0]["t_ns"].as_u64() <= w[1]["t_ns"].as_u64()));
    assert!(lines.iter().any(|l| l["event"] == "deliver" && l["to"] == "web2"));
    // Writing the trace does not change the run.
    let plain = report(&clusterlab(&["run", &file, "--until", "3s"]));
    assert_eq!(plain["trace_hash"], r["trace_hash"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let out = clusterlab(&["run", &example("link-cut.json"), "--until", "forever"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("clusterlab: --until: `forever` is not a duration"), "{err}");
    assert!(err.contains("usage:"));
    assert_eq!(clusterlab(&[]).status.code(), Some(2));
}

#[test]
fn bad_scenarios_exit_1_naming_the_file_and_field() {
    let dir = std::env::temp_dir().join(format!("clusterlab-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"version": 1, "nodes": [{"name": "s", "type": "server", "workers": "many"}]}"#).unwrap();
    let out = clusterlab(&["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json: nodes[0].workers: invalid type: string \"many\", expected u32"), "{err}");
    let out = clusterlab(&["validate", bad.to_str().unwrap(), &example("link-cut.json")]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("link-cut.json: ok"), "{stdout}");
    let out = clusterlab(&["run", dir.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json: No such file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn haproxy_cfg_prints_a_load_balancer_and_names_what_is_wrong() {
    let out = clusterlab(&["haproxy-cfg", &example("l7-routing.json"), "lb"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cfg = String::from_utf8_lossy(&out.stdout);
    for line in ["frontend lb", "    use_backend api if is_api", "backend api", "    balance leastconn"] {
        assert!(cfg.lines().any(|l| l == line), "missing `{line}` in\n{cfg}");
    }
    let out = clusterlab(&["haproxy-cfg", &example("l7-routing.json"), "api1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("l7-routing.json: `api1` is not a load balancer\n"));
    let out = clusterlab(&["haproxy-cfg", &example("l7-routing.json"), "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("l7-routing.json: no node is named `nope`\n"));
}
