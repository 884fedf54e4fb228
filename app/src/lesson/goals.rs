//! A step's goals checked against the running simulation.
//!
//! Metric, consistency, configuration and count goals are read from the
//! simulation as it stands. Event goals need the run's past, and the trace
//! keeps only its latest events, so a [`Tracker`] reads the trace as the
//! run goes and remembers the matching events (at most as many as a goal
//! needs). When the lab goes back in time (a seek restores a checkpoint),
//! [`Tracker::rewind`] forgets what came after the restored moment; the
//! run is deterministic, so what came before still holds.

use crate::editor::config_form;
use engine::consistency::{ConsistencyView, Linearizable};
use engine::time::{format_time, Time};
use engine::trace::{TraceEvent, What};
use engine::{Scenario, Simulation};
use lesson::{After, Bound, Check, ConfigTest, Goal, Metric, Quantity, Verdict};
use serde_json::Value;

/// One goal's state now.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub met: bool,
    /// What the run shows, in words ("worst p99 over the last 10 s: 42.1
    /// ms"; "not yet").
    pub detail: String,
}

/// What a step's goals have seen of the run.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// The next trace event to read (its `n`).
    cursor: u64,
    /// The first fault that took effect: (trace position, time).
    first_fault: Option<(u64, Time)>,
    /// Per goal: the matching events seen (trace positions), at most as
    /// many as the goal needs.
    matched: Vec<Vec<(u64, Time)>>,
    /// Trace events that went out of the bounded trace before being read.
    pub missed: u64,
}

impl Tracker {
    pub fn new(goals: &[Goal]) -> Tracker {
        Tracker { matched: vec![Vec::new(); goals.len()], ..Tracker::default() }
    }

    /// Forgets events from trace position `events` on (the run was put
    /// back to the moment it had recorded that many).
    pub fn rewind(&mut self, events: u64) {
        self.cursor = self.cursor.min(events);
        if self.first_fault.is_some_and(|(n, _)| n >= events) {
            self.first_fault = None;
        }
        for m in &mut self.matched {
            m.retain(|&(n, _)| n < events);
        }
    }

    /// Reads the trace events recorded since the last call.
    pub fn pull(&mut self, goals: &[Goal], sim: &Simulation) {
        let (missed, events) = sim.trace().since(self.cursor);
        self.missed += missed;
        for e in events {
            if matches!(e.what, What::Fault { .. }) && self.first_fault.is_none() {
                self.first_fault = Some((e.n, e.time));
            }
            let first_fault = self.first_fault;
            for (g, m) in goals.iter().zip(&mut self.matched) {
                if let Check::Event { event, node, role, after, at_least } = &g.check {
                    if m.len() < *at_least as usize
                        && is_after(first_fault, *after, e)
                        && event_matches(sim, e, event, node.as_deref(), role.as_deref())
                    {
                        m.push((e.n, e.time));
                    }
                }
            }
        }
        self.cursor = sim.trace().total();
    }

    /// Every goal's state now; `verdicts` are the run's consistency
    /// verdicts as the lab shows them (with the final reads at the run's
    /// end: `Lab::consistency`).
    pub fn statuses(&self, goals: &[Goal], sim: &Simulation, verdicts: &ConsistencyView) -> Vec<Status> {
        goals.iter().enumerate().map(|(i, g)| self.status(i, g, sim, verdicts)).collect()
    }

    fn status(&self, i: usize, goal: &Goal, sim: &Simulation, verdicts: &ConsistencyView) -> Status {
        match &goal.check {
            Check::Event { at_least, after, .. } => {
                let seen = self.matched.get(i).map_or(0, Vec::len);
                let met = seen >= *at_least as usize;
                let detail = if met {
                    format!("seen at {}", seconds(self.matched[i][*at_least as usize - 1].1))
                } else if *after == After::FirstFault && self.first_fault.is_none() {
                    "not yet: no fault has happened".to_string()
                } else if *at_least > 1 {
                    format!("not yet: {seen} of {at_least}")
                } else {
                    "not yet".to_string()
                };
                Status { met, detail }
            }
            Check::Metric { metric, bound, over_ns } => metric_status(sim, *metric, *bound, *over_ns),
            Check::Consistency { verdict } => verdict_status(sim, verdicts, *verdict),
            Check::Config { node, path, test } => config_status(sim.scenario(), node, path, test),
            Check::Count { kind, bound } => {
                let n = sim.scenario().nodes.iter().filter(|n| n.component.kind().name() == kind).count();
                Status { met: bound.holds(n as f64), detail: format!("{n} now") }
            }
        }
    }
}

/// A moment as the lab's clock shows it, to the millisecond.
fn seconds(t: Time) -> String {
    format!("{:.3} s", t as f64 / 1e9)
}

fn is_after(first_fault: Option<(u64, Time)>, after: After, e: &TraceEvent) -> bool {
    match after {
        After::Start => true,
        After::FirstFault => first_fault.is_some_and(|(n, _)| e.n >= n),
        After::Time(t) => e.time >= t,
    }
}

/// The trace event's name as a goal writes it, and whether it is on
/// `node` with `role`.
fn event_matches(sim: &Simulation, e: &TraceEvent, event: &str, node: Option<&str>, role: Option<&str>) -> bool {
    let (on, name, raft_role) = match &e.what {
        What::Fault { .. } => (None, "fault", None),
        What::Node { node, change } => (Some(*node), change.name(), None),
        What::Note { node, note } => (Some(*node), note.name(), note.raft_role().map(|r| r.name())),
        _ => return false,
    };
    name == event
        && node.is_none_or(|want| on.is_some_and(|id| sim.node_name(id) == want))
        && role.is_none_or(|want| raft_role == Some(want))
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Throughput => "throughput",
        Metric::P50Ms => "p50",
        Metric::P90Ms => "p90",
        Metric::P99Ms => "p99",
        Metric::ErrorRate => "error rate",
        Metric::TimeoutRate => "timeout rate",
    }
}

fn metric_text(m: Metric, x: f64) -> String {
    match m {
        Metric::Throughput => format!("{x:.0} req/s"),
        Metric::P50Ms | Metric::P90Ms | Metric::P99Ms => format!("{x:.1} ms"),
        Metric::ErrorRate | Metric::TimeoutRate => format!("{:.1} %", x * 100.0),
    }
}

/// Every metrics interval inside the last `over` of the run must be within
/// the bound; the window must be whole, and every interval in it must have
/// answered requests (an idle system has no latency to speak of).
fn metric_status(sim: &Simulation, metric: Metric, bound: Bound, over: u64) -> Status {
    let now = sim.now();
    let name = metric_name(metric);
    let not_yet = |why: String| Status { met: false, detail: why };
    if now < over {
        return not_yet(format!("not yet: the run needs {} first", format_time(over)));
    }
    let from = now - over;
    let interval = sim.metrics().interval();
    let window: Vec<_> = sim.metrics().series().iter().filter(|iv| iv.start >= from && iv.end <= now).collect();
    let covered: u64 = window.iter().map(|iv| iv.end - iv.start).sum();
    if covered + interval < over {
        return not_yet(format!("not yet: {} of the last {} measured", format_time(covered), format_time(over)));
    }
    if window.iter().any(|iv| iv.counts.completed() == 0) {
        return not_yet(format!("no requests completed in part of the last {}", format_time(over)));
    }
    let value = |iv: &engine::metrics::IntervalStats| match metric {
        Metric::Throughput => iv.throughput,
        Metric::P50Ms => iv.latency.p50_ms,
        Metric::P90Ms => iv.latency.p90_ms,
        Metric::P99Ms => iv.latency.p99_ms,
        Metric::ErrorRate => iv.error_rate,
        Metric::TimeoutRate => iv.timeout_rate,
    };
    // The interval furthest from meeting the bound decides.
    let worst = match bound {
        Bound::Below(_) | Bound::AtMost(_) => window.iter().map(|iv| value(iv)).fold(f64::MIN, f64::max),
        Bound::Above(_) | Bound::AtLeast(_) => window.iter().map(|iv| value(iv)).fold(f64::MAX, f64::min),
    };
    let word = match bound {
        Bound::Below(_) | Bound::AtMost(_) => "highest",
        Bound::Above(_) | Bound::AtLeast(_) => "lowest",
    };
    Status {
        met: bound.holds(worst),
        detail: format!("{word} {name} over the last {}: {}", format_time(over), metric_text(metric, worst)),
    }
}

fn verdict_status(sim: &Simulation, c: &ConsistencyView, verdict: Verdict) -> Status {
    let ops = c.linearizability.as_ref().map_or(0, |l| l.ops);
    let lin = c.linearizability.as_ref().map(|l| l.linearizable);
    let (met, detail) = match verdict {
        Verdict::Linearizable | Verdict::NotLinearizable if !c.checked => {
            (false, "this run is not checked".to_string())
        }
        Verdict::Linearizable => (
            lin == Some(Linearizable::Yes) && ops > 0,
            match lin {
                Some(Linearizable::Yes) if ops > 0 => format!("linearizable so far ({ops} operations)"),
                Some(Linearizable::No) => "not linearizable".to_string(),
                Some(Linearizable::Unknown) => "undecided: the search ran out of budget".to_string(),
                _ => "not yet: no operations checked".to_string(),
            },
        ),
        Verdict::NotLinearizable => (
            lin == Some(Linearizable::No),
            match c.linearizability.as_ref().and_then(|l| l.first_violation_at) {
                Some(t) => format!("violated at {}", crate::time_text::to_the_ms(t)),
                None => "no violation so far".to_string(),
            },
        ),
        Verdict::LostWrites | Verdict::NoLostWrites => count_status(
            c.checked && ops > 0,
            c.anomalies.lost_writes.count,
            verdict == Verdict::LostWrites,
            "lost write",
        ),
        Verdict::StaleReads | Verdict::NoStaleReads => count_status(
            c.checked && ops > 0,
            c.anomalies.stale_reads.count,
            verdict == Verdict::StaleReads,
            "stale read",
        ),
        Verdict::LogLost
        | Verdict::NoLogLost
        | Verdict::LogDuplicated
        | Verdict::NoLogDuplicated
        | Verdict::LogNonmonotonic
        | Verdict::NoLogNonmonotonic => match &c.log {
            Some(l) => {
                let a = &l.anomalies;
                let (count, want_some, what) = match verdict {
                    Verdict::LogLost | Verdict::NoLogLost => (a.lost.count, verdict == Verdict::LogLost, "lost record"),
                    Verdict::LogDuplicated | Verdict::NoLogDuplicated => {
                        (a.duplicated.count, verdict == Verdict::LogDuplicated, "duplicated record")
                    }
                    _ => (a.nonmonotonic.count, verdict == Verdict::LogNonmonotonic, "reordered record"),
                };
                count_status(l.sends_acknowledged > 0, count, want_some, what)
            }
            None => (false, "this run has no Kafka clients".to_string()),
        },
    };
    // That nothing went wrong is a claim about the whole run: it holds
    // only once the run has reached its end.
    let absence = matches!(
        verdict,
        Verdict::Linearizable
            | Verdict::NoLostWrites
            | Verdict::NoStaleReads
            | Verdict::NoLogLost
            | Verdict::NoLogDuplicated
            | Verdict::NoLogNonmonotonic
    );
    let ended = sim.now() >= sim.scenario().duration.nanos;
    if met && absence && !ended {
        return Status {
            met: false,
            detail: format!("{detail}; run to the end ({}) to be sure", format_time(sim.scenario().duration.nanos)),
        };
    }
    let finals = c.final_reads.is_some() || c.log.as_ref().is_some_and(|l| l.final_polls.is_some());
    let detail = if finals { with_final_reads(detail, c.final_reads.is_some()) } else { detail };
    Status { met, detail }
}

/// `want_some`: the goal is to see at least one; else none among a
/// history that has something in it (`checked`).
fn count_status(checked: bool, count: usize, want_some: bool, what: &str) -> (bool, String) {
    let words = match count {
        0 => format!("no {what}s"),
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    };
    if !checked {
        return (false, "not yet: nothing checked".to_string());
    }
    (if want_some { count > 0 } else { count == 0 }, format!("{words} so far"))
}

/// A goal's detail once the verdicts have the final reads (or, in a Kafka
/// run, the final polls) in: the run is over, so not "so far".
fn with_final_reads(detail: String, reads: bool) -> String {
    let finals = if reads { "the final reads" } else { "the final polls" };
    match detail.split_once(" so far") {
        Some((a, b)) => format!("{a}{b}, with {finals} after the run"),
        None => detail,
    }
}

fn config_status(doc: &Scenario, node: &str, path: &str, test: &ConfigTest) -> Status {
    let value = match config_form::value(doc, node, path) {
        Ok(v) => v,
        Err(e) => return Status { met: false, detail: e },
    };
    let text = value.as_ref().map(|v| match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    });
    let shown = match &text {
        Some(t) => format!("`{path}` is {t}"),
        None => format!("`{path}` is not set (its default applies)"),
    };
    let nanos = |t: &str| lesson::duration_ns(t);
    let met = match (test, &text) {
        (_, None) => false,
        (ConfigTest::Set, Some(_)) => true,
        (ConfigTest::Equals(want), Some(t)) => {
            t == want || matches!((nanos(t), nanos(want)), (Some(a), Some(b)) if a == b)
        }
        (ConfigTest::AtLeast(q), Some(t)) => compare(t, *q).is_some_and(|o| o.is_ge()),
        (ConfigTest::AtMost(q), Some(t)) => compare(t, *q).is_some_and(|o| o.is_le()),
    };
    Status { met, detail: shown }
}

fn compare(text: &str, q: Quantity) -> Option<std::cmp::Ordering> {
    match q {
        Quantity::Number(b) => text.parse::<f64>().ok()?.partial_cmp(&b),
        Quantity::Nanos(b) => Some(lesson::duration_ns(text)?.cmp(&b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use lesson::{After, Check, Goal};

    fn crash_goal() -> Vec<Goal> {
        vec![Goal {
            text: "web2 crashes".into(),
            check: Check::Event {
                event: "crashed".into(),
                node: Some("web2".into()),
                role: None,
                after: After::Start,
                at_least: 1,
            },
        }]
    }

    #[test]
    fn event_goals_latch_and_forget_what_a_rewind_undoes() {
        let scenario = Scenario::from_json(examples::find("server-crash-failover").unwrap().json).unwrap();
        let goals = crash_goal();
        let mut sim = Simulation::new(&scenario).unwrap();
        let mut t = Tracker::new(&goals);
        sim.run_until(5_000_000_000);
        t.pull(&goals, &sim);
        let before_crash = sim.trace().total();
        assert!(!t.statuses(&goals, &sim, sim.consistency())[0].met);
        // web2 crashes at 10 s; read in small chunks as the lab does.
        while sim.now() < 12_000_000_000 {
            sim.run_until_budget(12_000_000_000, 5_000);
            t.pull(&goals, &sim);
        }
        let s = &t.statuses(&goals, &sim, sim.consistency())[0];
        assert!(s.met, "{s:?}");
        assert_eq!(s.detail, "seen at 10.000 s");
        // Back to 5 s: the crash has not happened there.
        t.rewind(before_crash);
        assert!(!t.statuses(&goals, &sim, sim.consistency())[0].met);
        // A node filter that names another node never matches.
        let other = vec![Goal {
            text: "web1 crashes".into(),
            check: Check::Event {
                event: "crashed".into(),
                node: Some("web1".into()),
                role: None,
                after: After::Start,
                at_least: 1,
            },
        }];
        let mut t = Tracker::new(&other);
        t.pull(&other, &sim);
        assert!(!t.statuses(&other, &sim, sim.consistency())[0].met);
    }

    #[test]
    fn verdict_goals_at_the_end_are_judged_with_the_final_reads() {
        let mut scenario = Scenario::from_json(examples::find("db-replica-lag").unwrap().json).unwrap();
        scenario.duration = engine::time::Duration::from_secs(12);
        let g = vec![Goal { text: String::new(), check: Check::Consistency { verdict: Verdict::NoLostWrites } }];
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.run_through(12_000_000_000);
        sim.check_consistency();
        // The last reads missed the writes still on their way to the replica.
        let live = &Tracker::new(&g).statuses(&g, &sim, sim.consistency())[0];
        assert!(!live.met && live.detail.ends_with(" lost writes so far"), "{live:?}");
        let f = sim.final_reads().unwrap();
        let end = &Tracker::new(&g).statuses(&g, &sim, &f.consistency)[0];
        assert!(end.met, "{end:?}");
        assert_eq!(end.detail, "no lost writes, with the final reads after the run");
    }

    #[test]
    fn metric_windows_must_be_whole_and_busy() {
        let scenario = Scenario::from_json(examples::find("web-three-servers").unwrap().json).unwrap();
        let goal = |bound| {
            vec![Goal {
                text: String::new(),
                check: Check::Metric { metric: lesson::Metric::Throughput, bound, over_ns: 10_000_000_000 },
            }]
        };
        let mut sim = Simulation::new(&scenario).unwrap();
        sim.run_until(5_000_000_000);
        let g = goal(lesson::Bound::AtLeast(200.0));
        let s = Tracker::new(&g).statuses(&g, &sim, sim.consistency());
        assert!(!s[0].met && s[0].detail.starts_with("not yet"), "{s:?}");
        sim.run_until(20_000_000_000);
        assert!(Tracker::new(&g).statuses(&g, &sim, sim.consistency())[0].met);
        let g = goal(lesson::Bound::AtLeast(400.0));
        let s = Tracker::new(&g).statuses(&g, &sim, sim.consistency());
        assert!(!s[0].met && s[0].detail.contains("lowest throughput over the last 10s"), "{s:?}");
    }
}
