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

#[test]
fn redis_conf_prints_a_cache_and_names_what_is_wrong() {
    let out = clusterlab(&["redis-conf", &example("redis-sentinel-failover.json"), "c3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conf = String::from_utf8_lossy(&out.stdout);
    for line in ["replica-priority 50", "maxmemory-policy noeviction", "save 3600 1 300 100 60 10000"] {
        assert!(conf.lines().any(|l| l == line), "missing `{line}` in\n{conf}");
    }
    assert!(conf.lines().any(|l| l.starts_with("replicaof 10.0.0.") && l.ends_with(" 6379")), "{conf}");
    let out = clusterlab(&["redis-conf", &example("redis-sentinel-failover.json"), "s1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("redis-sentinel-failover.json: `s1` is not a cache\n"));
}

fn etcd_dir() -> PathBuf {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "shared", "data", "jepsen-etcd"].iter().collect();
    if p.join("expected.tsv").is_file() {
        p
    } else {
        PathBuf::from("/work/shared/data/jepsen-etcd")
    }
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

#[test]
fn check_gives_every_jepsen_etcd_history_its_expected_verdict() {
    let dir = etcd_dir();
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let rows: Vec<(String, bool)> = expected
        .lines()
        .skip(1)
        .map(|l| l.split_once('\t').unwrap())
        .map(|(f, v)| (f.to_string(), v == "true"))
        .collect();
    let files: Vec<String> = rows.iter().map(|(f, _)| dir.join(f).to_string_lossy().into_owned()).collect();
    let mut args = vec!["check", "--format", "jepsen-etcd"];
    args.extend(files.iter().map(String::as_str));
    let out = clusterlab(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = lines(&out);
    assert_eq!(got.len(), 102);
    for ((file, want), (path, line)) in rows.iter().zip(files.iter().zip(&got)) {
        assert_eq!(line["file"], path.as_str());
        assert_eq!(line["linearizable"], *want, "{file}");
        if !want {
            // The witness names the operation that could not be ordered, by line.
            let blocked = &line["witness"]["blocked"];
            assert!(
                blocked["line"].as_u64().unwrap() > 0 && blocked["what"].as_str().unwrap().contains("process"),
                "{file}"
            );
        }
    }
}

#[test]
fn check_reads_edn_and_the_runs_own_history() {
    let dir = std::env::temp_dir().join(format!("clusterlab-check-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A kv history in Jepsen EDN with a stale get of "x".
    let edn = dir.join("kv.edn");
    std::fs::write(
        &edn,
        "{:process 0 :type :invoke :f :put :key \"x\" :value \"a\"}\n\
         {:process 0 :type :ok :f :put :key \"x\" :value \"a\"}\n\
         {:process 0 :type :invoke :f :put :key \"x\" :value \"b\"}\n\
         {:process 0 :type :ok :f :put :key \"x\" :value \"b\"}\n\
         {:process 1 :type :invoke :f :get :key \"x\" :value nil}\n\
         {:process 1 :type :ok :f :get :key \"x\" :value \"a\"}\n\
         {:process 2 :type :invoke :f :append :key \"y\" :value \"1\"}\n",
    )
    .unwrap();
    let out = clusterlab(&["check", "--format", "jepsen-edn", "--model", "kv", edn.to_str().unwrap()]);
    let l = &lines(&out)[0];
    assert_eq!(l["linearizable"], false);
    assert_eq!(l["witness"]["key"], "x");
    assert_eq!(l["witness"]["blocked"]["line"], 5);
    // A run writes its history; check reads it back.
    let history = dir.join("h.json");
    let r = report(&clusterlab(&["run", &example("db-async-failover.json"), "--history", history.to_str().unwrap()]));
    assert_eq!(r["consistency"]["linearizability"]["linearizable"], "no");
    let out = clusterlab(&["check", history.to_str().unwrap()]);
    let l = &lines(&out)[0];
    assert_eq!(l["linearizable"], false);
    assert_eq!(l["model"], "register");
    assert_eq!(l["anomalies"]["lost_writes"]["count"], r["consistency"]["anomalies"]["lost_writes"]["count"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_names_the_file_and_line_of_bad_input() {
    let dir = std::env::temp_dir().join(format!("clusterlab-check-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.log");
    std::fs::write(&bad, "INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\tx\n").unwrap();
    let good = etcd_dir().join("etcd_002.log");
    let out = clusterlab(&["check", "--format", "jepsen-etcd", bad.to_str().unwrap(), good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}: line 2: expected a whole number, got `x`", bad.display())), "{stderr}");
    let got = lines(&out);
    assert!(got[0]["error"].as_str().unwrap().contains("line 2"));
    assert_eq!(got[1]["linearizable"], true);
    // Missing file: exit 1; bad arguments: exit 2.
    assert_eq!(clusterlab(&["check", "/nonexistent/h.json"]).status.code(), Some(1));
    assert_eq!(clusterlab(&["check", "--format", "csv", "a"]).status.code(), Some(2));
    // A json file whose model disagrees with --model.
    let h = dir.join("h.json");
    std::fs::write(&h, r#"{"format":"clusterlab-history","version":1,"model":"counter","ops":[]}"#).unwrap();
    let out = clusterlab(&["check", "--model", "kv", h.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file's model is counter, but --model says kv"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_that_reaches_its_end_is_judged_with_final_reads_and_its_history_file_has_them() {
    let dir = std::env::temp_dir().join(format!("clusterlab-final-reads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The replica lags by 300 ms when the run stops at 12 s.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("db-replica-lag.json")).unwrap()).unwrap();
    doc["duration"] = "12s".into();
    let file = dir.join("lag.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let h = dir.join("h.json");
    let r = report(&clusterlab(&["run", file.to_str().unwrap(), "--history", h.to_str().unwrap()]));
    assert_eq!(r["consistency"]["anomalies"]["lost_writes"]["count"], 0);
    assert_eq!(r["consistency"]["final_reads"]["read"], 10);
    let text = std::fs::read_to_string(&h).unwrap();
    assert_eq!(text.matches("\"final\":true").count(), 10);
    let l = &lines(&clusterlab(&["check", h.to_str().unwrap()]))[0];
    assert_eq!(l["anomalies"]["lost_writes"]["count"], 0);
    // Stopped before its end: no final reads, and the last reads judge.
    let r = report(&clusterlab(&["run", file.to_str().unwrap(), "--until", "11s", "--history", h.to_str().unwrap()]));
    assert!(r["consistency"]["final_reads"].is_null());
    assert!(r["consistency"]["anomalies"]["lost_writes"]["count"].as_u64().unwrap() > 10);
    assert!(!std::fs::read_to_string(&h).unwrap().contains("\"final\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_history_file_is_the_engines_history_file_byte_for_byte() {
    // The app exports engine::consistency::history_file of its run; the CLI
    // must write exactly the same bytes for the same run.
    let dir = std::env::temp_dir().join(format!("clusterlab-history-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let h = dir.join("h.json");
    let file = example("raft-kv-leader-crash.json");
    report(&clusterlab(&["run", &file, "--until", "4s", "--seed", "11", "--history", h.to_str().unwrap()]));
    let written = std::fs::read_to_string(&h).unwrap();
    let scenario = engine::Scenario::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut sim = engine::Simulation::with_seed(&scenario, 11).unwrap();
    sim.run_through(4_000_000_000);
    let expected =
        engine::consistency::history_file(sim.history(), &[], sim.log_history(), &[], &sim.scenario().name, sim.seed());
    assert!(expected.matches("\"invoke\"").count() > 100, "a history worth comparing");
    assert_eq!(written, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary with `input` on standard input.
fn clusterlab_with_input(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_clusterlab"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn nemesis_adds_random_faults_in_time_order_that_run_reads_from_standard_input() {
    let file = example("raft-kv-leader-crash.json");
    let args = ["nemesis", &file, "--faults", "kill,partition", "--interval", "2s", "--seed", "4"];
    let out = clusterlab(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the scenario is JSON");
    assert_eq!(s["seed"], 4);
    let faults = s["faults"].as_array().unwrap();
    // The scenario's own two faults, and the nemesis's.
    assert!(faults.len() > 4, "{faults:?}");
    assert!(faults.iter().any(|f| f["action"] == "partition_one_way"));
    let at = |f: &serde_json::Value| engine::Duration::parse(f["at"].as_str().unwrap()).unwrap();
    assert!(faults.windows(2).all(|w| at(&w[0]) <= at(&w[1])), "in time order");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("added {} faults from 0s to 15s (seed 4)", faults.len() - 2)), "{stderr}");
    // The same again; `run -` reads it from a pipe, and it stays
    // linearizable (Raft).
    assert_eq!(clusterlab(&args).stdout, out.stdout);
    let r = report(&clusterlab_with_input(&["run", "-"], &out.stdout));
    assert_eq!(r["consistency"]["linearizability"]["linearizable"], "yes");
    assert_eq!(r["seed"], 4);
}

#[test]
fn nemesis_names_what_is_wrong_and_prints_nothing() {
    let file = example("raft-kv-leader-crash.json");
    let out = clusterlab(&["nemesis", &file, "--targets", "kv1,kv7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.ends_with("raft-kv-leader-crash.json: the nemesis's target `kv7` is not a node of this scenario\n"));
    let out = clusterlab(&["nemesis", &file, "--faults", "partition", "--targets", "kv1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("a partition needs at least two target nodes"));
    let out = clusterlab_with_input(&["run", "-"], b"{\"version\": 1,");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("clusterlab: standard input: "));
    // A scenario read from standard input is named so after loading too.
    let text = std::fs::read(&file).unwrap();
    let out = clusterlab_with_input(&["nemesis", "-", "--targets", "kv7"], &text);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "clusterlab: standard input: the nemesis's target `kv7` is not a node of this scenario\n"
    );
}

#[test]
fn path_follows_one_operation_and_names_what_is_wrong() {
    let file = example("web-cache-db.json");
    let out = clusterlab(&["path", &file, "500"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("operation 500: clients (client 500): read k9415 → absent"), "{text}");
    assert!(lines[1].starts_with("+") && lines[1].contains("lb receives request"), "{text}");
    assert!(text.contains("redis receives cache") && text.contains("GET k9415"), "{text}");
    assert!(lines.last().unwrap().starts_with("followed until"), "{text}");
    // The same again.
    assert_eq!(clusterlab(&["path", &file, "500"]).stdout, text.as_bytes());
    // `slowest` picks one that completed.
    let out = clusterlab(&["path", &example("abandoned-queue.json"), "slowest"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("lb: queued in the backend"), "{text}");
    // `latest-failed`: one that got no answer, the last invoked.
    let out = clusterlab(&["path", &example("server-crash-failover.json"), "latest-failed"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().next().unwrap().contains("no answer (timed out)"), "{text}");
    let out = clusterlab(&["path", &example("web-three-servers.json"), "latest-failed"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "clusterlab: no operation failed or went unanswered in this run\n"
    );
    // An operation the run does not have.
    let out = clusterlab(&["path", &file, "99999999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("99999999 is not one of them"), "{err}");
    let out = clusterlab(&["path", &file, "first"]);
    assert_eq!(out.status.code(), Some(2));

    // A Kafka producer's send: its record's way to the followers.
    let out = clusterlab(&["path", &example("kafka-three-brokers.json"), "100"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("operation 100: producer: send of record 13 to partition 2"), "{text}");
    assert!(text.contains("b2 receives record p2@13"), "{text}");
    assert!(text.contains("producer receives Produce answer p2"), "{text}");
}
