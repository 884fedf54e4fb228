//! Prints a scenario's metrics per interval: `cargo run --example series -- <scenario.json>`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: series <scenario.json>");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let scenario = engine::Scenario::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut sim = engine::Simulation::new(&scenario).expect("valid scenario");
    sim.run_until(scenario.duration.nanos);
    println!(
        "{:>6} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8}  utilisation per node",
        "t", "sent", "ok", "errors", "t/o", "p50ms", "p99ms"
    );
    for row in sim.metrics().series() {
        let util: Vec<String> = row.nodes.iter().map(|n| format!("{:.0}", n.utilization * 100.0)).collect();
        println!(
            "{:>6} {:>8} {:>8} {:>7} {:>7} {:>8.1} {:>8.1}  {}",
            engine::time::format_time(row.end),
            row.counts.sent,
            row.counts.ok,
            row.counts.errors,
            row.counts.timeouts,
            row.latency.p50_ms,
            row.latency.p99_ms,
            util.join(" ")
        );
    }
}
