//! `clusterlab`: run Cluster Lab scenarios natively.
//!
//! ```text
//! clusterlab run <scenario.json> [--seed N] [--until <duration>] [--trace <file.jsonl>]
//! clusterlab path <scenario.json> <operation|slowest|latest-failed> [--seed N]
//! clusterlab nemesis <scenario.json> [--faults F,..] [--targets N,..] [--from D] [--until D] [--interval D] [--seed N]
//! clusterlab validate <scenario.json>...
//! clusterlab haproxy-cfg <scenario.json> <node>
//! clusterlab redis-conf <scenario.json> <node>
//! clusterlab check [--format jepsen-etcd|jepsen-edn|json] [--model M] [--timeout D] <history>...
//! ```

mod args;

use args::{CheckArgs, Command, HistoryFormat, NemesisArgs, OpChoice, PathArgs, RunArgs};
use checker::any::{self, Loaded, ModelKind};
use checker::formats::{self, ParseError};
use engine::fault::nemesis::{Nemesis, NemesisFault};
use engine::{Duration, Scenario, Simulation};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = match args::parse(&argv) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("clusterlab: {msg}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Command::Version => {
            println!("clusterlab {} (scenario format {})", env!("CARGO_PKG_VERSION"), engine::scenario::FORMAT_VERSION);
            Ok(())
        }
        Command::Run(run_args) => run(&run_args),
        Command::Path(path_args) => path(&path_args),
        Command::Nemesis(nemesis_args) => nemesis(&nemesis_args),
        Command::Validate(files) => validate(&files),
        Command::HaproxyCfg { scenario, node } => config_file(&scenario, &node, "haproxy.cfg", "a load balancer"),
        Command::RedisConf { scenario, node } => config_file(&scenario, &node, "redis.conf", "a cache"),
        Command::Check(check_args) => check(&check_args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("clusterlab: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// How messages name a scenario's source: its path, or standard input.
fn source(path: &str) -> &str {
    if path == "-" {
        "standard input"
    } else {
        path
    }
}

/// Reads a scenario file, or standard input for `-` (so that `nemesis`
/// can feed `run`).
fn load(path: &str) -> Result<Scenario, String> {
    let limit = engine::scenario::MAX_SCENARIO_BYTES as u64;
    let name = source(path);
    let text = if path == "-" {
        let mut text = String::new();
        let read = std::io::stdin().lock().take(limit + 1).read_to_string(&mut text);
        read.map_err(|e| format!("{name}: {e}"))?;
        if text.len() as u64 > limit {
            return Err(format!("{name}: more than {limit} bytes; a scenario may be at most {limit} bytes"));
        }
        text
    } else {
        let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
        if meta.len() > limit {
            return Err(format!("{path}: the file is {} bytes; a scenario may be at most {limit} bytes", meta.len()));
        }
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    Scenario::from_json(&text).map_err(|e| format!("{name}: {e}"))
}

/// Prints `text` and a newline, with an error (not a panic) when standard
/// output is closed, as when the reader of a pipe has stopped.
fn print_out(text: &str) -> Result<(), String> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| format!("standard output: {e}"))
}

/// Adds a nemesis's faults to a scenario and prints it.
fn nemesis(a: &NemesisArgs) -> Result<(), String> {
    let mut scenario = load(&a.scenario)?;
    if let Some(seed) = a.seed {
        scenario.seed = seed;
    }
    let plan = Nemesis {
        faults: a.faults.clone().unwrap_or_else(|| NemesisFault::DEFAULT.to_vec()),
        targets: a.targets.clone().unwrap_or_else(|| Nemesis::default_targets(&scenario)),
        from: a.from.unwrap_or(Duration::ZERO),
        until: a.until.unwrap_or(scenario.duration),
        interval: a.interval.unwrap_or(Duration::from_secs(10)),
    };
    let added = plan.add_to(&mut scenario).map_err(|e| format!("{}: {e}", source(&a.scenario)))?;
    print_out(&scenario.to_json_pretty())?;
    eprintln!(
        "clusterlab: added {added} faults from {} to {} (seed {}); the scenario has {} in all",
        plan.from,
        plan.until,
        scenario.seed,
        scenario.faults.len()
    );
    Ok(())
}

fn validate(files: &[String]) -> Result<(), String> {
    let mut bad = 0;
    for f in files {
        match load(f) {
            Ok(s) => println!("{f}: ok ({} nodes, {} links, {} faults)", s.nodes.len(), s.links.len(), s.faults.len()),
            Err(e) => {
                println!("{e}");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        Err(format!("{bad} of {} scenarios are invalid", files.len()))
    } else {
        Ok(())
    }
}

/// Prints node `node`'s configuration as the real program's `file`, if it
/// is `kind` (the node that has that file).
fn config_file(path: &str, node: &str, file: &str, kind: &str) -> Result<(), String> {
    let scenario = load(path)?;
    let path = source(path);
    let sim = Simulation::new(&scenario).map_err(|e| format!("{path}: {e}"))?;
    let id = sim.node_id(node).ok_or_else(|| format!("{path}: no node is named `{node}`"))?;
    match sim.config_file(id) {
        Some((name, text)) if name == file => {
            print!("{text}");
            Ok(())
        }
        _ => Err(format!("{path}: `{node}` is not {kind}")),
    }
}

fn run(a: &RunArgs) -> Result<(), String> {
    let scenario = load(&a.scenario)?;
    let seed = a.seed.unwrap_or(scenario.seed);
    let until = a.until.unwrap_or(scenario.duration).nanos;
    let mut sim = Simulation::with_seed(&scenario, seed).map_err(|e| format!("{}: {e}", source(&a.scenario)))?;
    // The run includes what happens at `until` itself (a final metrics
    // interval, a fault scheduled then).
    match &a.trace {
        None => sim.run_through(until),
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("{path}: {e}"))?;
            let mut out = BufWriter::new(file);
            let write_err = |e: std::io::Error| format!("{path}: {e}");
            // Run in chunks small enough that the bounded trace still holds
            // every event of a chunk when it is written out.
            let chunk = (sim.trace().capacity() as u64 / 4).max(1);
            let mut next = 0;
            loop {
                let done = sim.run_until_budget(until.saturating_add(1), chunk);
                let (missed, lines) = sim.trace().since(next);
                if missed > 0 {
                    return Err(format!(
                        "{missed} trace events were discarded before they could be written; raise limits.trace_events in the scenario"
                    ));
                }
                for e in lines {
                    serde_json::to_writer(&mut out, &sim.trace_line(e)).map_err(|e| e.to_string())?;
                    out.write_all(b"\n").map_err(write_err)?;
                }
                next = sim.trace().total();
                if done || sim.halted().is_some() {
                    break;
                }
            }
            out.flush().map_err(write_err)?;
            sim.run_through(until);
        }
    }
    sim.check_consistency();
    // A run that reached its end gets Jepsen's final reads, and its
    // verdicts are judged with them.
    let finals = (until >= scenario.duration.nanos && sim.halted().is_none()).then(|| sim.final_reads()).flatten();
    if let Some(path) = &a.history {
        let ops = finals.as_ref().map_or(&[][..], |f| &f.ops[..]);
        let log_ops = finals.as_ref().map_or(&[][..], |f| &f.log_ops[..]);
        let text = engine::consistency::history_file(
            sim.history(),
            ops,
            sim.log_history(),
            log_ops,
            &sim.scenario().name,
            seed,
        );
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    let mut report = sim.report();
    if let Some(f) = finals {
        report.consistency = f.consistency;
    }
    print_out(&serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?)?;
    if let Some(h) = sim.halted() {
        return Err(h.to_string());
    }
    Ok(())
}

/// Follows one operation through a run and prints its path.
fn path(a: &PathArgs) -> Result<(), String> {
    let scenario = load(&a.scenario)?;
    let seed = a.seed.unwrap_or(scenario.seed);
    let start = Simulation::with_seed(&scenario, seed).map_err(|e| format!("{}: {e}", source(&a.scenario)))?;
    let end = scenario.duration.nanos;
    let picked = |pick: fn(&Simulation) -> Option<u32>, none: &str| {
        let mut sim = start.clone();
        sim.run_through(end);
        pick(&sim).ok_or_else(|| none.to_string())
    };
    let op = match a.op {
        OpChoice::Index(i) => i,
        OpChoice::Slowest => picked(Simulation::slowest_op, "no operation completed in this run")?,
        OpChoice::LatestFailed => {
            picked(Simulation::latest_failed_op, "no operation failed or went unanswered in this run")?
        }
    };
    let path = start.follow_op(op, end)?;
    let mut out = format!("operation {op}: {}\n", path.headline);
    for line in path.lines() {
        out.push_str(&line);
        out.push('\n');
    }
    if path.missed > 0 {
        out.push_str(&format!("({} later steps not kept)\n", path.missed));
    }
    out.push_str(&format!("followed until {}\n", engine::time::format_time_short(path.until)));
    print_out(out.trim_end())
}

/// Reads and interprets one history file.
fn load_history(path: &str, a: &CheckArgs) -> Result<Loaded, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if meta.len() > formats::MAX_FILE_BYTES as u64 {
        return Err(format!(
            "{path}: the file is {} bytes; a history may be at most {} bytes",
            meta.len(),
            formats::MAX_FILE_BYTES
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let at = |e: ParseError| format!("{path}: {e}");
    match a.format {
        HistoryFormat::JepsenEtcd => {
            let ops = formats::etcd::parse(&text).map_err(at)?;
            Ok(Loaded {
                lines: ops.iter().map(|o| o.invoke as usize).collect(),
                finals: Vec::new(),
                history: any::AnyHistory::Register(ops),
                key_names: Default::default(),
            })
        }
        HistoryFormat::JepsenEdn => {
            let raw = formats::jepsen::parse(&text).map_err(at)?;
            any::build(a.model.unwrap_or(ModelKind::Register), &raw, "").map_err(at)
        }
        HistoryFormat::Json => {
            let (model, raw) = formats::json::parse(&text).map_err(at)?;
            let kind = ModelKind::parse(&model)
                .ok_or_else(|| format!("{path}: \"model\" must be {}, got \"{model}\"", ModelKind::NAMES))?;
            if let Some(m) = a.model.filter(|&m| m != kind) {
                return Err(format!("{path}: the file's model is {}, but --model says {}", kind.name(), m.name()));
            }
            any::build(kind, &raw, "ops").map_err(at)
        }
    }
}

fn check(a: &CheckArgs) -> Result<(), String> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut bad = 0;
    for path in &a.files {
        let mut line = serde_json::Map::new();
        line.insert("file".into(), path.as_str().into());
        match load_history(path, a) {
            Ok(loaded) => {
                let deadline = a.timeout.map(|d| std::time::Instant::now() + std::time::Duration::from_nanos(d.nanos));
                let stop = || deadline.is_some_and(|t| std::time::Instant::now() >= t);
                let mut budget = checker::Budget::default();
                if deadline.is_some() {
                    // The time limit replaces the step limit.
                    budget.max_steps = u64::MAX;
                    budget.interrupt = Some(&stop);
                }
                let serde_json::Value::Object(report) = any::report(&loaded, &budget) else {
                    unreachable!("a report is an object")
                };
                line.extend(report);
            }
            Err(e) => {
                eprintln!("clusterlab: {e}");
                line.insert("error".into(), e.into());
                bad += 1;
            }
        }
        serde_json::to_writer(&mut out, &line).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    if bad > 0 {
        return Err(format!("{bad} of {} history files could not be read", a.files.len()));
    }
    Ok(())
}
