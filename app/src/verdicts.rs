//! The consistency checker's verdicts in words, for the verdicts panel.

use engine::consistency::{AnomalyKind, ConsistencyView, FinalReadsSummary, Linearizable, LogView, Verdict};
use engine::follow::Followed;
use engine::history::{OpRecord, Outcome};
use engine::sim::final_reads::{FinalReads, QUIET_NS};
use engine::time::Time;
use engine::Simulation;

/// A moment of the run, as a person reads it: `57.5 ms`, `9.888 s`.
fn at(t: Time) -> String {
    if t < 1_000_000_000 {
        format!("{:.1} ms", t as f64 / 1e6)
    } else {
        format!("{:.3} s", t as f64 / 1e9)
    }
}

/// What the panel shows: a headline, its tone, and one row per check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdicts {
    /// `None`: the run is not judged (nothing stores the values).
    pub headline: Option<String>,
    /// `ok`, `bad` or `unknown`, for the style.
    pub tone: &'static str,
    /// (label, value) rows.
    pub rows: Vec<(String, String)>,
    /// The first violation of each kind, with the operations involved.
    pub violations: Vec<Violation>,
}

/// A violation the checker found: what, when, and the operations behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub what: String,
    /// The moment to jump to: when it became certain.
    pub at: Time,
    pub ops: Vec<ViolationOp>,
}

/// An operation behind a violation, in words, and its place in its history
/// when its path can be followed (not a final read).
#[derive(Clone, Debug, PartialEq)]
pub struct ViolationOp {
    pub text: String,
    pub op: Option<u32>,
}

impl ViolationOp {
    fn line(text: String) -> ViolationOp {
        ViolationOp { text, op: None }
    }

    /// Operation `i`, its words after `label`.
    fn of(sim: &Simulation, finals: Option<&FinalReads>, i: usize, label: &str) -> ViolationOp {
        let followable = i < sim.history().ops().len();
        ViolationOp { text: format!("{label}{}", describe_op(sim, finals, i)), op: followable.then_some(i as u32) }
    }
}

impl Violation {
    pub fn at_text(&self) -> String {
        at(self.at)
    }
}

/// Operation `i` of the history, or of the final reads after it.
fn op<'a>(sim: &'a Simulation, finals: Option<&'a FinalReads>, i: usize) -> Option<&'a OpRecord> {
    match finals {
        Some(f) if i >= f.first => f.ops.get(i - f.first),
        _ => sim.history().ops().get(i),
    }
}

/// One operation of the client history (or a final read), in words (the
/// request path's words, the panel's time format).
fn describe_op(sim: &Simulation, finals: Option<&FinalReads>, i: usize) -> String {
    match op(sim, finals, i) {
        Some(r) => sim.describe_op_at(r, at),
        None => format!("operation {i} (beyond the kept history)"),
    }
}

/// A Kafka client's operation, in words.
fn describe_log_op(sim: &Simulation, i: usize) -> String {
    match sim.log_history().ops().get(i) {
        Some(r) => sim.describe_log_op_at(r, at),
        None => format!("operation {i} (beyond the kept history)"),
    }
}

/// Completed operations of a linearizability witness listed one by one;
/// more are counted.
const WITNESS_LISTED: usize = 5;

/// Why a key is not linearizable, in words: the operation no order fits,
/// the acknowledged write it misses (for a stale read), the other
/// completed operations it was tried against, and the indeterminate ones
/// counted rather than listed (in a long outage there are hundreds).
fn witness(sim: &Simulation, finals: Option<&FinalReads>, view: &ConsistencyView, v: &Verdict) -> Vec<ViolationOp> {
    let mut lines = Vec::new();
    let mut shown = Vec::new();
    if let Some(b) = v.first_violation_op {
        lines.push(ViolationOp::of(sim, finals, b, "the operation: "));
        shown.push(b);
        if let Some(w) = view.first_violation_misses {
            lines.push(ViolationOp::of(sim, finals, w, "the acknowledged write it misses: "));
            shown.push(w);
        }
    }
    let rest = v.first_violation_ops.iter().copied().filter(|i| !shown.contains(i));
    let (open, done): (Vec<usize>, Vec<usize>) =
        rest.partition(|&i| op(sim, finals, i).is_some_and(|r| matches!(r.outcome, Outcome::Info | Outcome::Pending)));
    let label = if shown.is_empty() { "" } else { "tried with it: " };
    lines.extend(done.iter().take(WITNESS_LISTED).map(|&i| ViolationOp::of(sim, finals, i, label)));
    if done.len() > WITNESS_LISTED {
        lines.push(ViolationOp::line(format!("and {} more completed operations", done.len() - WITNESS_LISTED)));
    }
    if let (Some(&first), Some(&last)) = (open.first(), open.last()) {
        let n = open.len();
        let what = if n == 1 { "operation" } else { "operations" };
        let invoked = |i: usize| op(sim, finals, i).map_or(0, |r| r.invoke);
        lines.push(ViolationOp::line(format!(
            "and {n} {what} with no answer, each of which may or may not have taken effect, invoked from {} to {}",
            at(invoked(first)),
            at(invoked(last))
        )));
    }
    lines
}

/// The first violation of each kind in the run so far, as `view` (the
/// live verdicts, or those with `finals`, the final reads) has them. A
/// violation only the final reads show is certain at the run's end: its
/// moment is the end.
pub fn violations(sim: &Simulation, view: &ConsistencyView, finals: Option<&FinalReads>) -> Vec<Violation> {
    let end = view.final_reads.map_or(Time::MAX, |f| f.after);
    let mut out = Vec::new();
    if let Some(v) = view.linearizability.as_ref().filter(|v| v.linearizable == Linearizable::No) {
        if let Some(t) = v.first_violation_at {
            let key = v.first_violation_key.map_or_else(String::new, |k| format!(" on key k{k}"));
            out.push(Violation {
                what: format!("Not linearizable{key}: no single order of the operations fits this one"),
                at: t.min(end),
                ops: witness(sim, finals, view, v),
            });
        }
    }
    let a = &view.anomalies;
    for (kind, what, because) in [
        (&a.lost_writes, "A lost acknowledged write", "the read that misses it"),
        (&a.stale_reads, "A stale read", "the acknowledged write it misses"),
        (&a.read_your_writes, "A read that misses the reader's own write", "the write"),
        (&a.monotonic_reads, "A read going back on an earlier one", "the earlier read"),
    ] {
        if let Some(f) = kind.examples.first() {
            out.push(Violation {
                what: what.to_string(),
                at: f.at.min(end),
                ops: vec![
                    ViolationOp::of(sim, finals, f.op, ""),
                    ViolationOp::of(sim, finals, f.because, &format!("{because}: ")),
                ],
            });
        }
    }
    if let Some(log) = &view.log {
        if let (Some(f), Some(t)) = (log.anomalies.lost.examples.first(), log.first_lost_at) {
            out.push(Violation {
                what: format!(
                    "A lost acknowledged write: partition {} no longer holds it at offset {}",
                    f.key, f.offset
                ),
                at: t,
                ops: vec![ViolationOp {
                    text: describe_log_op(sim, f.op),
                    op: (sim.followed_history() == Followed::KafkaSends && f.op < sim.log_history().ops().len())
                        .then_some(f.op as u32),
                }],
            });
        }
    }
    checker::sort::sort_by_key(&mut out, |v| v.at);
    out
}

fn anomaly(kind: &AnomalyKind, finals: Option<FinalReadsSummary>) -> String {
    match (kind.count, kind.first_at) {
        (0, _) => "none".to_string(),
        (n, Some(t)) if finals.is_some_and(|f| t > f.after) => format!("{n}, found by the final reads"),
        (n, Some(t)) => format!("{n}, the first at {}", at(t)),
        (n, None) => n.to_string(),
    }
}

/// What the final reads covered, in words.
fn final_reads_row(f: &FinalReadsSummary) -> String {
    let quiet = QUIET_NS / 1_000_000_000;
    let mut text = format!("{} of {} keys, read after the run (faults healed, {quiet} s of quiet)", f.read, f.keys);
    if f.skipped > 0 {
        text.push_str(&format!(" ({} not tried: their client was down, or past the bound)", f.skipped));
    }
    text
}

pub fn describe(view: &ConsistencyView) -> Verdicts {
    if !view.checked {
        return Verdicts { headline: None, tone: "unknown", ..Default::default() };
    }
    let Some(v) = &view.linearizability else {
        if let Some(log) = &view.log {
            return describe_log(log);
        }
        return Verdicts {
            headline: Some("Not checked yet: the checker reads the history once per simulated second".into()),
            tone: "unknown",
            ..Default::default()
        };
    };
    let (headline, tone) = match v.linearizable {
        Linearizable::Yes => ("Linearizable so far".to_string(), "ok"),
        Linearizable::No => {
            let since = v.first_violation_at.map_or_else(String::new, |t| format!(" since {}", at(t)));
            let key = v.first_violation_key.map_or_else(String::new, |k| format!(" (key k{k})"));
            (format!("Not linearizable{since}{key}"), "bad")
        }
        Linearizable::Unknown => {
            (format!("Unknown: the search ran out of budget on {} keys", v.unknown_keys), "unknown")
        }
    };
    let a = &view.anomalies;
    let mut rows = vec![
        ("keys violated".to_string(), format!("{} of {}", v.violated_keys, v.keys)),
        ("lost acknowledged writes".to_string(), anomaly(&a.lost_writes, view.final_reads)),
        ("stale reads".to_string(), anomaly(&a.stale_reads, view.final_reads)),
        ("read-your-writes violations".to_string(), anomaly(&a.read_your_writes, view.final_reads)),
        ("monotonic-read violations".to_string(), anomaly(&a.monotonic_reads, view.final_reads)),
    ];
    if let Some(f) = &view.final_reads {
        rows.push(("final reads".to_string(), final_reads_row(f)));
    }
    match (view.final_reads, v.checked_at) {
        // The final reads ran on a copy of the run, after its end.
        (Some(f), _) => rows.push((
            "checked up to".to_string(),
            format!("the end, {} ({} operations with the final reads)", at(f.after), v.ops),
        )),
        (None, Some(t)) => rows.push(("checked up to".to_string(), format!("{} ({} operations)", at(t), v.ops))),
        (None, None) => {}
    }
    if view.history_discarded > 0 {
        rows.push((
            "not checked".to_string(),
            format!("{} operations beyond the history's limit", view.history_discarded),
        ));
    }
    Verdicts { headline: Some(headline), tone, rows, violations: Vec::new() }
}

/// A Kafka run: its partitions checked as logs (Maelstrom's anomalies).
fn describe_log(log: &LogView) -> Verdicts {
    let a = &log.anomalies;
    // Nothing lost is not the whole story: records written twice or out
    // of order are anomalies too (Jepsen's Kafka checker fails on them).
    let others: Vec<String> = [
        (a.duplicated.count, "written twice"),
        (a.nonmonotonic.count, "out of order"),
        (a.inconsistent.count, "offsets holding two values"),
        (a.skipped.count, "offsets skipped by a consumer"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let so_far = if log.final_polls.is_some() { "" } else { " so far" };
    let (headline, tone) = match (a.lost.count, log.first_lost_at) {
        (0, _) if others.is_empty() => (format!("No acknowledged write lost{so_far}"), "ok"),
        (0, _) => (format!("No acknowledged write lost{so_far}, but {}", others.join(", ")), "bad"),
        (n, Some(t)) => (format!("{n} acknowledged writes lost (the first acknowledged at {})", at(t)), "bad"),
        (n, None) => (format!("{n} acknowledged writes lost"), "bad"),
    };
    let count = |n: usize| if n == 0 { "none".to_string() } else { n.to_string() };
    let mut rows = vec![
        ("lost acknowledged writes".to_string(), count(a.lost.count)),
        ("acknowledged, not read yet".to_string(), count(a.unobserved.count)),
        ("offsets holding two values".to_string(), count(a.inconsistent.count)),
        ("values at two offsets (duplicates)".to_string(), count(a.duplicated.count)),
        ("offsets going backwards".to_string(), count(a.nonmonotonic.count)),
        ("offsets skipped by a consumer".to_string(), count(a.skipped.count)),
        (
            "checked".to_string(),
            format!("{} acknowledged sends, {} records read", log.sends_acknowledged, log.records_polled),
        ),
    ];
    if let Some(f) = &log.final_polls {
        let quiet = QUIET_NS / 1_000_000_000;
        rows.push((
            "final polls".to_string(),
            format!(
                "{} of {} partitions read whole after the run (faults healed, {quiet} s of quiet), holding {} records",
                f.read, f.partitions, f.records
            ),
        ));
        rows.push(("checked up to".to_string(), format!("the end, {}", at(f.after))));
    }
    if log.history_discarded > 0 {
        rows.push((
            "not checked".to_string(),
            format!("{} operations beyond the history's limit", log.history_discarded),
        ));
    }
    Verdicts { headline: Some(headline), tone, rows, violations: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::history::LogEvent;
    use engine::{Scenario, Simulation};

    /// Example `id` run until `secs` simulated seconds.
    fn sim_at(id: &str, secs: u64) -> Simulation {
        let ex = crate::examples::find(id).unwrap();
        let mut sim = Simulation::new(&Scenario::from_json(ex.json).unwrap()).unwrap();
        sim.run_until(secs * 1_000_000_000);
        sim
    }

    fn run(example: &str, secs: u64) -> Verdicts {
        describe(sim_at(example, secs).consistency())
    }

    #[test]
    fn moments_read_as_milliseconds_or_seconds() {
        assert_eq!(at(57_504_030), "57.5 ms");
        assert_eq!(at(9_888_015_445), "9.888 s");
    }

    #[test]
    fn a_failover_that_loses_writes_is_not_linearizable_and_says_when() {
        let v = run("db-async-failover", 10);
        assert_eq!(v.tone, "bad");
        assert!(v.headline.as_deref().unwrap().starts_with("Not linearizable since "), "{v:?}");
        let lost = &v.rows.iter().find(|r| r.0 == "lost acknowledged writes").unwrap().1;
        assert!(lost.contains(", the first at "), "{lost}");
    }

    #[test]
    fn a_violation_names_its_operations_and_when_it_became_certain() {
        let sim = sim_at("db-async-failover", 10);
        let found = violations(&sim, sim.consistency(), None);
        let first = found.first().expect("the failover loses writes");
        let lin = found.iter().find(|v| v.what.starts_with("Not linearizable")).unwrap();
        assert_eq!(Some(lin.at), sim.consistency().linearizability.as_ref().unwrap().first_violation_at);
        assert!(!lin.ops.is_empty() && lin.ops.iter().all(|o| o.text.contains("invoked at")), "{lin:?}");
        let lost = found.iter().find(|v| v.what == "A lost acknowledged write").unwrap();
        assert!(lost.ops[0].text.contains("write k") && lost.ops[0].text.contains(", ok at "), "{lost:?}");
        assert!(lost.ops[1].text.starts_with("the read that misses it: "), "{lost:?}");
        assert!(found.windows(2).all(|w| w[0].at <= w[1].at) && first.at > 0);
        // A Kafka run that loses writes names the send, and its path can
        // be followed (its place in the Kafka history).
        let sim = sim_at("kafka-acks1-loss", 25);
        let found = violations(&sim, sim.consistency(), None);
        let lost = found.iter().find(|v| v.ops[0].text.contains("acknowledged at offset"));
        let lost = lost.unwrap_or_else(|| panic!("{found:?}"));
        let op = lost.ops[0].op.expect("followable");
        assert!(matches!(sim.log_history().ops()[op as usize].event, LogEvent::Send { .. }), "{lost:?}");
        // A clean run has none.
        let sim = sim_at("db-semi-sync-failover", 10);
        assert!(violations(&sim, sim.consistency(), None).is_empty());
    }

    #[test]
    fn a_linearizability_violation_names_the_operation_and_the_write_it_misses() {
        let sim = sim_at("raft-kv-lease-stale-read", 12);
        let found = violations(&sim, sim.consistency(), None);
        let lin = found.iter().find(|v| v.what.starts_with("Not linearizable")).expect("the lease read goes stale");
        let text = |i: usize| lin.ops[i].text.as_str();
        assert!(text(0).starts_with("the operation: ") && text(0).contains(": read k0 → "), "{lin:#?}");
        let misses = "the acknowledged write it misses: ";
        assert!(text(1).starts_with(misses) && text(1).contains(": write k0 = "), "{lin:#?}");
        // The stale-read check names the same pair.
        let stale = found.iter().find(|v| v.what == "A stale read").unwrap();
        assert_eq!(stale.ops[0].text, text(0)["the operation: ".len()..]);
        assert_eq!(stale.ops[1].text["the acknowledged write it misses: ".len()..], text(1)[misses.len()..]);
        // Both can be followed: their places in the history.
        assert_eq!(stale.ops[0].op, lin.ops[0].op);
        assert!(lin.ops[0].op.is_some() && lin.ops[1].op.is_some(), "{lin:#?}");
        // The writes that got no answer in the outage (dozens) are counted,
        // not listed.
        let witness = &sim.consistency().linearizability.as_ref().unwrap().first_violation_ops;
        assert!(witness.len() > 20, "{}", witness.len());
        assert!(lin.ops.len() <= 2 + WITNESS_LISTED + 2, "{lin:#?}");
        let last = lin.ops.last().unwrap();
        assert!(last.text.starts_with("and ") && last.text.contains(" operations with no answer, "), "{last:?}");
        assert_eq!(last.op, None);
    }

    #[test]
    fn at_the_end_lost_writes_are_judged_by_the_final_reads_and_say_so() {
        let ex = crate::examples::find("db-async-failover").unwrap();
        let scenario = Scenario::from_json(ex.json).unwrap();
        let mut sim = Simulation::new(&scenario).unwrap();
        let end = scenario.duration.nanos;
        sim.run_through(end);
        sim.check_consistency();
        let f = sim.final_reads().unwrap();
        let v = describe(&f.consistency);
        let row = |k: &str| v.rows.iter().find(|r| r.0 == k).map(|r| r.1.clone()).unwrap_or_default();
        assert!(row("lost acknowledged writes").ends_with(", found by the final reads"), "{v:?}");
        assert_eq!(row("final reads"), "5 of 10 keys, read after the run (faults healed, 10 s of quiet)");
        assert!(row("checked up to").starts_with("the end, 20.000 s ("), "{v:?}");
        let found = violations(&sim, &f.consistency, Some(&f));
        let lost = found.iter().find(|v| v.what == "A lost acknowledged write").unwrap();
        // Certain at the run's end, the moment the lab can go to.
        assert_eq!(lost.at, end);
        assert!(
            lost.ops[1].text.starts_with("the read that misses it: reader (final read after the run): read k"),
            "{lost:?}"
        );
        // A final read is not in the run's history: no path to follow.
        assert_eq!(lost.ops[1].op, None);
        assert!(found.iter().all(|v| v.at <= end));
    }

    #[test]
    fn semi_sync_is_linearizable_and_runs_without_storage_are_not_judged() {
        let v = run("db-semi-sync-failover", 10);
        assert_eq!((v.headline.as_deref(), v.tone), (Some("Linearizable so far"), "ok"));
        assert_eq!(run("web-three-servers", 3).headline, None);
        assert_eq!(run("web-three-servers", 0).headline, None);
    }

    #[test]
    fn a_checked_run_at_time_zero_is_not_checked_yet_rather_than_not_judged() {
        // A lesson step opens paused at time zero: its panel must not say
        // that nothing stores the values.
        let v = run("db-replica-lag", 0);
        assert_eq!(v.tone, "unknown");
        assert!(v.headline.as_deref().unwrap().starts_with("Not checked yet: "), "{v:?}");
        assert!(v.violations.is_empty());
    }

    #[test]
    fn kafka_runs_are_judged_as_logs() {
        let v = run("kafka-three-brokers", 5);
        assert_eq!((v.headline.as_deref(), v.tone), (Some("No acknowledged write lost so far"), "ok"), "{v:?}");
        let v = run("kafka-acks1-loss", 25);
        assert_eq!(v.tone, "bad");
        let h = v.headline.unwrap();
        assert!(h.contains("acknowledged writes lost (the first acknowledged at 9.9"), "{h}");
        // At the end, with the final polls.
        let sim = sim_at("kafka-three-brokers", 30);
        let f = sim.final_reads().expect("final polls");
        let v = describe(&f.consistency);
        assert_eq!((v.headline.as_deref(), v.tone), (Some("No acknowledged write lost"), "ok"), "{v:?}");
        let row = |name: &str| v.rows.iter().find(|r| r.0 == name).map(|r| r.1.clone());
        let polls = row("final polls").expect("a final polls row");
        assert!(polls.starts_with("6 of 6 partitions read whole after the run"), "{polls}");
        assert_eq!(row("checked up to").as_deref(), Some("the end, 30.000 s"));
    }

    #[test]
    fn a_kafka_run_with_nothing_lost_but_records_duplicated_and_reordered_is_not_ok() {
        let sim = sim_at("kafka-retry-reorder", 30);
        let f = sim.final_reads().expect("final polls");
        let v = describe(&f.consistency);
        let log = f.consistency.log.as_ref().unwrap();
        let (dup, reordered) = (log.anomalies.duplicated.count, log.anomalies.nonmonotonic.count);
        assert!(dup > 0 && reordered > 0 && log.anomalies.lost.count == 0, "{:?}", log.anomalies);
        let want = format!("No acknowledged write lost, but {dup} written twice, {reordered} out of order");
        assert_eq!((v.headline.as_deref(), v.tone), (Some(want.as_str()), "bad"));
    }
}
