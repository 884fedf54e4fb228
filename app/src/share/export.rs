//! What a run gives away besides its scenario: the client history, for a
//! consistency checker, and the charts' numbers, for a spreadsheet.

use engine::metrics::IntervalStats;
use engine::sim::final_reads::FinalReads;
use engine::time::NANOS_PER_SEC;
use engine::Simulation;
use std::fmt::Write as _;

/// The run's client history in the project's JSON history format
/// (`docs/history-format.md`): byte for byte what
/// `clusterlab run --history FILE` writes for the same run, and what
/// `clusterlab check FILE` reads. Suggested file name: `history.json`.
/// With `finals`, the run's final reads (or a Kafka run's final polls)
/// follow its operations.
pub fn history_json(sim: &Simulation, finals: Option<&FinalReads>) -> String {
    let ops = finals.map_or(&[][..], |f| &f.ops[..]);
    let log_ops = finals.map_or(&[][..], |f| &f.log_ops[..]);
    engine::consistency::history_file(sim.history(), ops, sim.log_history(), log_ops, &sim.scenario().name, sim.seed())
}

/// The CSV header of [`metrics_csv`].
pub const METRICS_CSV_HEADER: &str = "start_s,end_s,throughput_ok_per_s,p50_latency_ms,p99_latency_ms,error_fraction,timeout_fraction,sent,ok,errors,timeouts";

/// The metrics charts as CSV: the header [`METRICS_CSV_HEADER`], then one
/// row per closed metrics interval still kept (`Simulation::metrics()
/// .series()`: the interval in progress is not in it, and the oldest are
/// dropped past `metrics.keep_intervals`). Columns:
///
/// - `start_s`, `end_s`: the interval, in simulated seconds, exact (from
///   whole nanoseconds);
/// - `throughput_ok_per_s`: successful requests per simulated second;
/// - `p50_latency_ms`, `p99_latency_ms`: latency of successful requests,
///   in milliseconds (0 when none succeeded);
/// - `error_fraction`, `timeout_fraction`: errors and timeouts over
///   completed requests, 0 to 1;
/// - `sent`, `ok`, `errors`, `timeouts`: request counts (`sent` counts
///   invocations, the others completions).
///
/// Numbers are written in the shortest form that reads back as the same
/// value, never in exponent notation. Lines end with `\n`.
pub fn metrics_csv(sim: &Simulation) -> String {
    let series = sim.metrics().series();
    let mut out = String::with_capacity(METRICS_CSV_HEADER.len() + 1 + series.len() * 64);
    out.push_str(METRICS_CSV_HEADER);
    out.push('\n');
    for row in series {
        push_row(&mut out, row);
    }
    out
}

fn push_row(out: &mut String, r: &IntervalStats) {
    let c = &r.counts;
    writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{}",
        seconds(r.start),
        seconds(r.end),
        r.throughput,
        r.latency.p50_ms,
        r.latency.p99_ms,
        r.error_rate,
        r.timeout_rate,
        c.sent,
        c.ok,
        c.errors,
        c.timeouts
    )
    .expect("writing to a String cannot fail");
}

/// Whole nanoseconds as exact decimal seconds: `1500000000` is `1.5`.
fn seconds(ns: u64) -> String {
    let (whole, frac) = (ns / NANOS_PER_SEC, ns % NANOS_PER_SEC);
    if frac == 0 {
        whole.to_string()
    } else {
        let digits = format!("{frac:09}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use engine::history::LogEvent;
    use engine::Scenario;

    fn run(id: &str, until_ns: u64) -> Simulation {
        let scenario = Scenario::from_json(examples::find(id).unwrap().json).unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.run_through(until_ns);
        sim
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(3 * NANOS_PER_SEC), "3");
        assert_eq!(seconds(1_500_000_000), "1.5");
        assert_eq!(seconds(1), "0.000000001");
        assert_eq!(seconds(12_000_000_010), "12.00000001");
        assert_eq!(seconds(u64::MAX), "18446744073.709551615");
    }

    #[test]
    fn the_history_is_what_the_checker_reads_and_the_cli_writes() {
        let sim = run("db-async-failover", 6 * NANOS_PER_SEC);
        let text = history_json(&sim, None);
        assert!(text.ends_with("}\n") && !text[..text.len() - 1].contains('\n'), "one compact line");
        // The CLI writes engine::consistency::history_file (cli/tests/cli.rs
        // checks its bytes); so does this.
        let file = engine::consistency::history_file(
            sim.history(),
            &[],
            sim.log_history(),
            &[],
            &sim.scenario().name,
            sim.seed(),
        );
        assert_eq!(text, file);
        let (model, ops) = checker::formats::json::parse(&text).unwrap();
        assert_eq!(model, "register");
        assert!(sim.history().ops().len() > 100, "a history worth exporting");
        assert_eq!(ops.len(), sim.history().ops().len());
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["meta"]["scenario"], sim.scenario().name.as_str());
        assert_eq!(doc["meta"]["seed"], sim.seed());
        let first = &sim.history().ops()[0];
        assert_eq!(doc["ops"][0]["invoke"], first.invoke);
    }

    #[test]
    fn at_the_end_the_history_carries_the_final_reads_and_the_checker_judges_by_them() {
        let sim = run("db-replica-lag", 20 * NANOS_PER_SEC);
        let f = sim.final_reads().unwrap();
        let text = history_json(&sim, Some(&f));
        assert_eq!(text.matches("\"final\":true").count(), f.ops.len());
        let (model, raw) = checker::formats::json::parse(&text).unwrap();
        assert_eq!(raw.len(), sim.history().ops().len() + f.ops.len());
        assert!(raw[f.first..].iter().all(|o| o.final_read) && raw[..f.first].iter().all(|o| !o.final_read));
        let kind = checker::any::ModelKind::parse(&model).unwrap();
        let loaded = checker::any::build(kind, &raw, "ops").unwrap();
        let report = checker::any::report(&loaded, &checker::Budget::default());
        assert_eq!(report["anomalies"]["lost_writes"]["count"], f.consistency.anomalies.lost_writes.count);
    }

    #[test]
    fn a_kafka_run_exports_its_sends_and_polls_as_logs_and_the_checker_finds_the_same_losses() {
        let scenario = Scenario::from_json(examples::find("kafka-acks1-loss").unwrap().json).unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.run_through(scenario.duration.nanos);
        let f = sim.final_reads().unwrap();
        let lab = f.consistency.log.clone().unwrap();
        assert!(lab.anomalies.lost.count > 0, "the example loses writes: {:?}", lab.anomalies);
        let text = history_json(&sim, Some(&f));
        let (model, raw) = checker::formats::json::parse(&text).unwrap();
        assert_eq!(model, "log");
        let sends = raw.iter().filter(|o| o.f == "send").count();
        assert_eq!(sends, sim.log_history().ops().iter().filter(|o| matches!(o.event, LogEvent::Send { .. })).count());
        assert!(raw.iter().any(|o| o.f == "poll" && o.final_read), "the final polls are in it");
        let loaded = checker::any::build(checker::any::ModelKind::parse(&model).unwrap(), &raw, "ops").unwrap();
        let report = checker::any::report(&loaded, &checker::Budget::default());
        let a = &report["anomalies"];
        assert_eq!(a["lost"]["count"], lab.anomalies.lost.count, "{a}");
        assert_eq!(a["duplicated"]["count"], lab.anomalies.duplicated.count, "{a}");
        assert_eq!(a["nonmonotonic"]["count"], lab.anomalies.nonmonotonic.count, "{a}");
    }

    #[test]
    fn the_metrics_csv_has_one_row_per_interval_with_the_series_values() {
        let sim = run("server-crash-failover", 12 * NANOS_PER_SEC);
        let series = sim.metrics().series();
        assert_eq!(series.len(), 12, "one closed interval per second");
        let text = metrics_csv(&sim);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header.len(), 11);
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), series.len());
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
        let f = |row: &[&str], name: &str| row[col(name)].parse::<f64>().unwrap();
        let n = |row: &[&str], name: &str| row[col(name)].parse::<u64>().unwrap();
        for (row, s) in rows.iter().zip(series) {
            assert_eq!(row.len(), header.len());
            assert_eq!((f(row, "start_s") * 1e9).round() as u64, s.start);
            assert_eq!((f(row, "end_s") * 1e9).round() as u64, s.end);
            // Exactly the same values: the shortest round-trip form.
            assert_eq!(f(row, "throughput_ok_per_s"), s.throughput);
            assert_eq!(f(row, "p50_latency_ms"), s.latency.p50_ms);
            assert_eq!(f(row, "p99_latency_ms"), s.latency.p99_ms);
            assert_eq!(f(row, "error_fraction"), s.error_rate);
            assert_eq!(f(row, "timeout_fraction"), s.timeout_rate);
            assert_eq!(n(row, "sent"), s.counts.sent);
            assert_eq!(n(row, "ok"), s.counts.ok);
            assert_eq!(n(row, "errors"), s.counts.errors);
            assert_eq!(n(row, "timeouts"), s.counts.timeouts);
            // Consistent with each other: ok per second of the interval.
            let span = f(row, "end_s") - f(row, "start_s");
            assert!((f(row, "throughput_ok_per_s") - n(row, "ok") as f64 / span).abs() < 1e-6);
            assert!(f(row, "p50_latency_ms") <= f(row, "p99_latency_ms"));
            assert!(!row.iter().any(|v| v.contains('e') || v.contains("NaN") || v.contains("inf")), "{row:?}");
        }
        assert_eq!(rows[0][col("start_s")], "0");
        assert_eq!(rows[11][col("end_s")], "12");
        // The run carried traffic and the crash shows: some interval has
        // requests that did not succeed.
        assert!(rows.iter().all(|r| n(r, "ok") > 0));
        assert!(rows.iter().any(|r| n(r, "errors") + n(r, "timeouts") > 0), "{text}");
    }

    #[test]
    fn an_unstarted_run_is_a_header_alone() {
        let sim = run("web-three-servers", 0);
        assert_eq!(metrics_csv(&sim), format!("{METRICS_CSV_HEADER}\n"));
    }
}
