//! The event log: the trace's meaningful events (faults, crashes, servers
//! going DOWN and UP, refusals, messages dropped at a full bound) as
//! sentences, bounded, with repeats folded
//! so a screen reader is not flooded and the rare lines (a fault, a
//! failover) are not pushed out by the frequent ones.

use engine::message::NodeId;
use engine::network::DropReason;
use engine::time::Time;
use engine::trace::What;
use engine::Simulation;
use std::collections::VecDeque;

/// Lines kept; older ones scroll away.
pub const MAX_LINES: usize = 200;
/// A line folds into an identical one among the last this many. Under
/// load, refusals from two sources alternate ("lb1: ... failed", "lb2: ...
/// failed", again and again): folding only a line's twin just before it
/// would keep none of them, and they would push the faults out of the log.
pub const FOLD_WINDOW: usize = 6;

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Unique among every log this page makes (see `next_line_id`), for
    /// keyed rendering.
    pub id: u64,
    /// When it first happened: its place in the log.
    pub time: Time,
    /// When it last happened (its latest repeat).
    pub last: Time,
    pub text: String,
    /// A CSS class: `fault`, `node`, `note`, `bad`.
    pub class: &'static str,
    /// The node it is about, for filtering.
    pub node: Option<String>,
    /// How many times it happened (see [`FOLD_WINDOW`]).
    pub repeat: u32,
}

#[derive(Clone, Debug, Default)]
pub struct EventLog {
    lines: VecDeque<LogLine>,
    /// The next trace event to read.
    cursor: u64,
    /// Trace events discarded before the log could read them.
    pub missed: u64,
    /// Lines that scrolled away past [`MAX_LINES`].
    dropped: u64,
}

/// "lb: connection to web1 failed (attempt 2); retrying" without "(attempt
/// 2)": under load a dead server's retries alternate between attempts (2,
/// 3, 2, ...); without the number they fold into one line instead of
/// pushing everything else out.
#[inline(never)]
fn without_attempt(text: &mut String) {
    if let (Some(open), Some(close)) = (text.rfind(" ("), text.rfind(')')) {
        text.replace_range(open..=close, "");
    }
}

/// A line id no log has used. The view renders lines keyed by id: were a
/// new log (another scenario, a seek, a branch) to number its lines from 1
/// again, a row would keep the text of the old line with its number.
fn next_line_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A message dropped because a bound was reached, in words that fold:
/// the same text for every such drop at one place, so the log counts them
/// on one line (`×N`). Other drops are the network's ordinary losses: the
/// request paths and the trace show those.
fn bound_drop(sim: &Simulation, from: NodeId, to: NodeId, reason: DropReason) -> Option<String> {
    let limits = &sim.scenario().limits;
    let (from, to) = (sim.node_name(from), sim.node_name(to));
    match reason {
        DropReason::HoldFull => Some(format!(
            "the held link {from} - {to} is full (limits.held_backlog: {}): a message to {to} dropped",
            limits.held_backlog
        )),
        DropReason::BufferFull => Some(format!(
            "{to} is paused and its receive buffer is full (limits.paused_backlog: {}): a message dropped",
            limits.paused_backlog
        )),
        _ => None,
    }
}

impl EventLog {
    /// Reads the trace events recorded since the last call.
    pub fn pull(&mut self, sim: &Simulation) {
        let (missed, events) = sim.trace().since(self.cursor);
        self.missed += missed;
        for e in events {
            if let What::Drop { from, to, reason, .. } = e.what {
                if let Some(text) = bound_drop(sim, from, to, reason) {
                    self.push(e.time, text, "bad", Some(sim.node_name(to).to_string()));
                }
                continue;
            }
            let class = match e.what {
                What::Fault { .. } | What::Release { .. } => "fault",
                What::Node { .. } => "node",
                What::Note { note, .. } => match note {
                    engine::trace::Note::ServerDown { .. }
                    | engine::trace::Note::NoServerAvailable
                    | engine::trace::Note::QueueFull { .. }
                    | engine::trace::Note::BacklogFull
                    | engine::trace::Note::ClientOverloaded { .. }
                    | engine::trace::Note::CheckFailed { .. }
                    | engine::trace::Note::ErrorLimit { .. }
                    | engine::trace::Note::KafkaRequestTimeout { .. }
                    | engine::trace::Note::CommandRefused
                    | engine::trace::Note::RaftRefused { .. } => "bad",
                    engine::trace::Note::UseBackend { .. } => "route",
                    _ => "note",
                },
                _ => continue,
            };
            let mut line = sim.trace_line(e);
            let class = match class {
                // One per request, alternating between backends: the
                // charts and the inspector count them; the log keeps the
                // ones that fail.
                "route" if line.text.ends_with(": 503") => "bad",
                "route" => continue,
                other => other,
            };
            // Known by its text: a match on the note here cost 5 KB of wasm.
            if line.text.ends_with("); retrying") {
                without_attempt(&mut line.text);
            }
            self.push(e.time, line.text, class, line.node);
        }
        self.cursor = sim.trace().total();
    }

    fn push(&mut self, time: Time, text: String, class: &'static str, node: Option<String>) {
        if let Some(twin) = self.lines.iter_mut().rev().take(FOLD_WINDOW).find(|l| l.text == text) {
            twin.repeat += 1;
            twin.last = time;
            return;
        }
        self.lines.push_back(LogLine { id: next_line_id(), time, last: time, text, class, node, repeat: 1 });
        if self.lines.len() > MAX_LINES {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }

    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.lines.iter()
    }

    /// What changes when the log does: lines are added at the end, and
    /// only the last [`FOLD_WINDOW`] can count a repeat.
    pub fn changes(lines: &[LogLine]) -> Vec<(u64, u32)> {
        lines.iter().rev().take(FOLD_WINDOW).map(|l| (l.id, l.repeat)).collect()
    }

    /// What the log no longer shows, in words, or `None` if it shows
    /// everything.
    pub fn not_kept(&self) -> Option<String> {
        let lines = (self.dropped > 0).then(|| {
            let s = if self.dropped == 1 { "" } else { "s" };
            format!("{} earlier line{s} not kept (the log keeps the last {MAX_LINES})", self.dropped)
        });
        let events = (self.missed > 0).then(|| {
            format!("{} earlier events had left the trace before the log read them (the trace keeps the scenario's limits.trace_events)", self.missed)
        });
        match (lines, events) {
            (None, None) => None,
            (a, b) => Some(a.into_iter().chain(b).collect::<Vec<_>>().join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_limit_scroll_away_and_say_so() {
        let mut log = EventLog::default();
        assert_eq!(log.not_kept(), None);
        for i in 0..MAX_LINES + 3 {
            log.push(i as Time, format!("line {i}"), "note", None);
        }
        assert_eq!(log.lines().count(), MAX_LINES);
        assert_eq!(log.lines().next().map(|l| l.text.as_str()), Some("line 3"));
        assert_eq!(log.not_kept().as_deref(), Some("3 earlier lines not kept (the log keeps the last 200)"));
        // Repeats fold into one line and drop nothing.
        log.push(0, format!("line {}", MAX_LINES + 2), "note", None);
        assert_eq!(log.lines().last().map(|l| l.repeat), Some(2));
        assert_eq!(log.not_kept().as_deref(), Some("3 earlier lines not kept (the log keeps the last 200)"));
    }

    #[test]
    fn lines_that_alternate_fold_into_their_first_occurrence_and_keep_the_rest_in_view() {
        let mut log = EventLog::default();
        log.push(1, "fault: crash web1".into(), "fault", None);
        // Two load balancers' retries, interleaved, for a long while.
        for t in 2..1_000 {
            let lb = if t % 2 == 0 { "lb1" } else { "lb2" };
            log.push(t, format!("{lb}: connection to web1 failed; retrying"), "note", None);
        }
        let lines: Vec<&LogLine> = log.lines().collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].text, "fault: crash web1", "the fault is still in view");
        assert_eq!((lines[1].time, lines[1].last, lines[1].repeat), (2, 998, 499));
        assert_eq!((lines[2].time, lines[2].last, lines[2].repeat), (3, 999, 499));
        assert_eq!(log.not_kept(), None);
        let before = EventLog::changes(&log.lines().cloned().collect::<Vec<_>>());
        log.push(1_000, "lb1: connection to web1 failed; retrying".into(), "note", None);
        assert_ne!(EventLog::changes(&log.lines().cloned().collect::<Vec<_>>()), before, "a repeat is a change");
        // Past the window, the same text starts a line of its own.
        for i in 0..FOLD_WINDOW {
            log.push(2_000 + i as Time, format!("other {i}"), "note", None);
        }
        log.push(3_000, "lb1: connection to web1 failed; retrying".into(), "note", None);
        assert_eq!(log.lines().last().map(|l| (l.time, l.repeat)), Some((3_000, 1)));
    }
}
