//! `clusterlab`: run Cluster Lab scenarios natively.
//!
//! ```text
//! clusterlab run <scenario.json> [--seed N] [--until <duration>] [--trace <file.jsonl>]
//! clusterlab validate <scenario.json>...
//! clusterlab haproxy-cfg <scenario.json> <node>
//! ```

mod args;

use args::{Command, RunArgs};
use engine::{Scenario, Simulation};
use std::fs::File;
use std::io::{BufWriter, Write};
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
        Command::Validate(files) => validate(&files),
        Command::HaproxyCfg { scenario, node } => haproxy_cfg(&scenario, &node),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("clusterlab: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &str) -> Result<Scenario, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if meta.len() > engine::scenario::MAX_SCENARIO_BYTES as u64 {
        return Err(format!(
            "{path}: the file is {} bytes; a scenario may be at most {} bytes",
            meta.len(),
            engine::scenario::MAX_SCENARIO_BYTES
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Scenario::from_json(&text).map_err(|e| format!("{path}: {e}"))
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

fn haproxy_cfg(path: &str, node: &str) -> Result<(), String> {
    let scenario = load(path)?;
    let sim = Simulation::new(&scenario).map_err(|e| format!("{path}: {e}"))?;
    let id = sim.node_id(node).ok_or_else(|| format!("{path}: no node is named `{node}`"))?;
    let cfg = sim.haproxy_cfg(id).ok_or_else(|| format!("{path}: `{node}` is not a load balancer"))?;
    print!("{cfg}");
    Ok(())
}

fn run(a: &RunArgs) -> Result<(), String> {
    let scenario = load(&a.scenario)?;
    let seed = a.seed.unwrap_or(scenario.seed);
    let until = a.until.unwrap_or(scenario.duration).nanos;
    let mut sim = Simulation::with_seed(&scenario, seed).map_err(|e| format!("{}: {e}", a.scenario))?;
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
    let report = sim.report();
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    if let Some(h) = sim.halted() {
        return Err(h.to_string());
    }
    Ok(())
}
