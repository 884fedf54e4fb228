//! A client operation's path as the request path panel shows it: each
//! step with its time since the operation was invoked and where that
//! falls along the whole path (for the bars).

use crate::time_text::to_the_ms;
use engine::fault::ScheduledFault;
use engine::sim::op_path::OpPath;
use engine::time::{format_time_short, Time};
use engine::trace_view::TraceLine;

#[derive(Clone, Debug, PartialEq)]
pub struct PathStep {
    /// Since the operation was invoked: `+1.205ms`.
    pub since: String,
    /// Where the step falls along the path, 0 to 100 (its start to its
    /// last step).
    pub at_percent: f64,
    /// What the step's bar spans, in the same terms: a message's time on
    /// the wire, a request's wait in a queue; none for a moment (a note).
    pub span_percent: Option<(f64, f64)>,
    /// When it happened in the run.
    pub at_ns: Time,
    pub text: String,
    /// `deliver`, `drop`, `note`, `node` (a crash, pause or resume) or `queued`, for the style.
    pub event: &'static str,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathView {
    pub op: u32,
    pub headline: String,
    pub invoked_ns: Time,
    pub steps: Vec<PathStep>,
    /// How far it was followed, and what was not kept.
    pub footer: String,
    /// The fault schedule of the run it was followed in: another schedule
    /// is another run, and the path is dropped.
    pub faults: Vec<ScheduledFault>,
}

impl PathView {
    pub fn new(path: &OpPath, faults: Vec<ScheduledFault>) -> PathView {
        let invoked = path.invoke;
        let last = |s: &TraceLine| s.t_ns.max(s.until_ns.unwrap_or(0));
        let span = path.steps.iter().map(|s| last(s).saturating_sub(invoked)).max().unwrap_or(0).max(1);
        let steps = path
            .steps
            .iter()
            .map(|s| {
                let since = s.t_ns.saturating_sub(invoked);
                let percent = |t: Time| t.saturating_sub(invoked) as f64 * 100.0 / span as f64;
                PathStep {
                    since: format!("+{}", format_time_short(since)),
                    at_percent: percent(s.t_ns),
                    span_percent: match (s.sent_ns, s.until_ns) {
                        (Some(sent), _) => Some((percent(sent), percent(s.t_ns))),
                        (None, Some(until)) => Some((percent(s.t_ns), percent(until))),
                        (None, None) => None,
                    },
                    at_ns: s.t_ns,
                    text: s.text.clone(),
                    event: s.event,
                }
            })
            .collect();
        let mut footer = format!("Followed up to {} of the run", to_the_ms(path.until));
        if path.missed > 0 {
            footer.push_str(&format!("; {} later steps not kept", path.missed));
        }
        footer.push('.');
        PathView {
            op: path.op,
            headline: format!("Operation {}: {}", path.op, path.headline),
            invoked_ns: invoked,
            steps,
            footer,
            faults,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::follow::Followed;
    use engine::history::Outcome;

    fn line(event: &'static str, t_ns: Time, sent_ns: Option<Time>, until_ns: Option<Time>) -> TraceLine {
        TraceLine {
            n: 0,
            t_ns,
            event,
            node: None,
            from: None,
            to: None,
            kind: None,
            sent_ns,
            reason: None,
            until_ns,
            text: event.to_string(),
        }
    }

    #[test]
    fn bars_span_a_messages_time_on_the_wire_and_a_wait_in_a_queue() {
        let path = OpPath {
            op: 7,
            history: Followed::Clients,
            invoke: 1_000,
            complete: Some(1_400),
            outcome: Outcome::Ok,
            headline: "c (client 0): read k1".into(),
            steps: vec![
                line("deliver", 1_100, Some(1_000), None),
                line("queued", 1_100, None, Some(1_300)),
                line("note", 1_200, None, None),
                line("deliver", 1_400, Some(1_350), None),
            ],
            missed: 0,
            until: 2_400,
        };
        let v = PathView::new(&path, Vec::new());
        let spans: Vec<Option<(f64, f64)>> = v.steps.iter().map(|s| s.span_percent).collect();
        assert_eq!(spans, [Some((0.0, 25.0)), Some((25.0, 75.0)), None, Some((87.5, 100.0))]);
        assert_eq!(
            v.steps.iter().map(|s| s.since.as_str()).collect::<Vec<_>>(),
            ["+100ns", "+100ns", "+200ns", "+400ns"]
        );
        assert_eq!(v.headline, "Operation 7: c (client 0): read k1");
    }
}
