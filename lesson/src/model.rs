//! A lesson as the app uses it, once its file is read: steps of text, each
//! with a starting scenario, goals checked against the running
//! simulation, hints, an optional prediction and a reference solution.
//! See `lessons/README.md` for the file format.

use serde::{Deserialize, Serialize};

/// Every lesson, in course order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Course {
    pub lessons: Vec<Lesson>,
}

impl Course {
    pub fn lesson(&self, id: &str) -> Option<&Lesson> {
        self.lessons.iter().find(|l| l.id == id)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// Stable: progress and links use it.
    pub id: String,
    /// The file it was read from (`lessons/03-health-checks.md`).
    pub file: String,
    pub title: String,
    /// One sentence for the catalog.
    pub summary: String,
    /// Text before the first step.
    pub intro: Vec<Block>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub title: String,
    pub text: Vec<Block>,
    /// The scenario the step opens with: `start`, then `change`.
    pub start: Start,
    pub change: Vec<Edit>,
    pub goals: Vec<Goal>,
    /// Shown one at a time, on request.
    pub hints: Vec<Vec<Block>>,
    pub predict: Option<Predict>,
    /// Edits that take the starting scenario to one that meets the goals.
    pub solution: Vec<Edit>,
    /// Why the solution works, shown with it.
    pub explain: Vec<Block>,
}

impl Step {
    /// Every text of the step: its body, hints, explanation and the
    /// prediction's explanation.
    pub fn texts(&self) -> impl Iterator<Item = &Vec<Block>> {
        std::iter::once(&self.text)
            .chain(&self.hints)
            .chain(std::iter::once(&self.explain))
            .chain(self.predict.as_ref().map(|p| &p.explain))
    }
}

/// Where a step's scenario comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Start {
    /// A built-in example (`engine/scenarios/<id>.json`).
    Example(String),
    /// An editor template (`app/templates/<id>.json`).
    Template(String),
    /// The previous step's scenario with its solution applied.
    Previous,
}

/// One change to a scenario, as the learner would make it in the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Edit {
    /// Sets field `path` of node `node` to `to`, typed as in the
    /// configuration form (`"500ms"`, `"3"`, `"leastconn"`).
    Set {
        node: String,
        path: String,
        to: String,
    },
    /// Adds a node of palette kind `kind` (`server`, `cache`, ...).
    Add {
        kind: String,
        name: String,
    },
    Connect {
        a: String,
        b: String,
    },
    Disconnect {
        a: String,
        b: String,
    },
    Delete {
        node: String,
    },
    /// Schedules a fault, written as in the scenario format's `faults`
    /// list (`{ at = "10s", action = "crash", node = "web2" }`).
    Fault {
        fault: serde_json::Value,
    },
    /// Plans random faults as the faults panel's nemesis does: `faults`
    /// as the command line takes them (`"kill,pause"`), striking `targets`
    /// (none: every node but the clients) from `from` to `until`, about
    /// every `interval`.
    Nemesis {
        faults: String,
        targets: Vec<String>,
        from: String,
        until: String,
        interval: String,
    },
    /// Sets how long the run lasts (the lab pauses there).
    Duration {
        to: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// What the learner reads: "p99 below 50 ms over the last 10 s".
    pub text: String,
    pub check: Check,
}

/// What a goal checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Check {
    /// Every metrics interval of the last `over_ns` of the run is within
    /// `bound` (the window must be complete).
    Metric { metric: Metric, bound: Bound, over_ns: u64 },
    /// At least `at_least` trace events named `event` (a component's note,
    /// `server_down`, `raft_role`, ...; or a node change, `crashed`), on
    /// node `node` if given, after `after`.
    Event { event: String, node: Option<String>, role: Option<String>, after: After, at_least: u32 },
    /// A consistency verdict on the run's client history.
    Consistency { verdict: Verdict },
    /// A configuration fact about one node's settings.
    Config { node: String, path: String, test: ConfigTest },
    /// How many nodes of palette kind `kind` the scenario has.
    Count { kind: String, bound: Bound },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// Successful requests per second.
    Throughput,
    P50Ms,
    P90Ms,
    P99Ms,
    /// Errors and timeouts over completed requests (0 to 1).
    ErrorRate,
    TimeoutRate,
}

impl Metric {
    pub const ALL: [(&'static str, Metric); 6] = [
        ("throughput", Metric::Throughput),
        ("p50_ms", Metric::P50Ms),
        ("p90_ms", Metric::P90Ms),
        ("p99_ms", Metric::P99Ms),
        ("error_rate", Metric::ErrorRate),
        ("timeout_rate", Metric::TimeoutRate),
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Bound {
    Below(f64),
    AtMost(f64),
    Above(f64),
    AtLeast(f64),
}

impl Bound {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Bound::Below(b) => x < b,
            Bound::AtMost(b) => x <= b,
            Bound::Above(b) => x > b,
            Bound::AtLeast(b) => x >= b,
        }
    }
}

/// From when an event goal counts events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum After {
    Start,
    /// Once the run's first fault has taken effect.
    FirstFault,
    /// From this simulated time (ns).
    Time(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The checker found no violation among at least one checked operation.
    Linearizable,
    NotLinearizable,
    LostWrites,
    NoLostWrites,
    StaleReads,
    NoStaleReads,
    /// Kafka: an acknowledged record no consumer can ever read.
    LogLost,
    NoLogLost,
    /// Kafka: a record written at two offsets.
    LogDuplicated,
    NoLogDuplicated,
    /// Kafka: a client's offsets not increasing (a producer's records
    /// written out of the order it sent them, or a consumer reading back).
    LogNonmonotonic,
    NoLogNonmonotonic,
}

impl Verdict {
    pub const ALL: [(&'static str, Verdict); 12] = [
        ("linearizable", Verdict::Linearizable),
        ("not_linearizable", Verdict::NotLinearizable),
        ("lost_writes", Verdict::LostWrites),
        ("no_lost_writes", Verdict::NoLostWrites),
        ("stale_reads", Verdict::StaleReads),
        ("no_stale_reads", Verdict::NoStaleReads),
        ("log_lost", Verdict::LogLost),
        ("no_log_lost", Verdict::NoLogLost),
        ("log_duplicated", Verdict::LogDuplicated),
        ("no_log_duplicated", Verdict::NoLogDuplicated),
        ("log_nonmonotonic", Verdict::LogNonmonotonic),
        ("no_log_nonmonotonic", Verdict::NoLogNonmonotonic),
    ];
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ConfigTest {
    /// The setting is in the scenario (not left at its default).
    Set,
    /// Equal to this text as the form shows it (durations compare by
    /// length: `"500ms"` equals `"0.5s"`).
    Equals(String),
    AtLeast(Quantity),
    AtMost(Quantity),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Quantity {
    Number(f64),
    Nanos(u64),
}

/// Predict, then run: the learner picks an answer before the run shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Predict {
    pub question: String,
    pub options: Vec<String>,
    /// Index into `options`.
    pub answer: usize,
    /// Revealed with the answer once the run has reached the end.
    pub explain: Vec<Block>,
}

/// Lesson text: Markdown without raw HTML, as data the app renders with
/// its own elements (never as HTML).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Block {
    Para(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    List { ordered: bool, items: Vec<Vec<Block>> },
    Code(String),
    Quote(Vec<Block>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Inline {
    Text(String),
    Code(String),
    Emph(Vec<Inline>),
    Strong(Vec<Inline>),
    /// `lesson:<id>`, `lesson:<id>/<step>` (from 1), `example:<id>`, or an
    /// `https://` address.
    Link {
        target: String,
        body: Vec<Inline>,
    },
    Break,
}

/// Where a link goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Lesson { id: &'a str, step: Option<usize> },
    Example(&'a str),
    Web(&'a str),
}

impl<'a> Target<'a> {
    pub fn parse(target: &'a str) -> Result<Target<'a>, String> {
        if let Some(rest) = target.strip_prefix("lesson:") {
            let (id, step) = match rest.split_once('/') {
                Some((id, n)) => match n.parse::<usize>() {
                    Ok(n) if n >= 1 => (id, Some(n)),
                    _ => return Err(format!("`{target}`: the step after `/` must be a number from 1")),
                },
                None => (rest, None),
            };
            if id.is_empty() {
                return Err(format!("`{target}` names no lesson"));
            }
            Ok(Target::Lesson { id, step })
        } else if let Some(id) = target.strip_prefix("example:") {
            Ok(Target::Example(id))
        } else if target.starts_with("https://")
            && target.len() > "https://".len()
            && !target.contains(char::is_whitespace)
        {
            Ok(Target::Web(target))
        } else {
            Err(format!("`{target}` is not a link a lesson may hold (`lesson:<id>`, `lesson:<id>/<step>`, `example:<id>` or `https://...`)"))
        }
    }
}

/// Parses a duration as the scenario format writes it: a number and a
/// unit (`ns`, `us`, `ms`, `s`, `m`, `h`).
pub fn duration_ns(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = t.split_at(split);
    let scale: f64 = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * scale).round() as u64)
}

/// Text of inlines without their markup (for names and tests).
pub fn plain(inlines: &[Inline]) -> String {
    let mut s = String::new();
    for i in inlines {
        match i {
            Inline::Text(t) | Inline::Code(t) => s.push_str(t),
            Inline::Emph(b) | Inline::Strong(b) | Inline::Link { body: b, .. } => s.push_str(&plain(b)),
            Inline::Break => s.push(' '),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_scenario_format_writes_them() {
        assert_eq!(duration_ns("500ms"), Some(500_000_000));
        assert_eq!(duration_ns("1.5s"), Some(1_500_000_000));
        assert_eq!(duration_ns("2m"), Some(120_000_000_000));
        assert_eq!(duration_ns("10"), None);
        assert_eq!(duration_ns("3 weeks"), None);
        assert_eq!(duration_ns("-1s"), None);
    }

    #[test]
    fn link_targets() {
        assert_eq!(Target::parse("lesson:raft/2"), Ok(Target::Lesson { id: "raft", step: Some(2) }));
        assert_eq!(Target::parse("lesson:raft"), Ok(Target::Lesson { id: "raft", step: None }));
        assert_eq!(Target::parse("example:link-cut"), Ok(Target::Example("link-cut")));
        assert!(Target::parse("lesson:raft/0").is_err());
        assert!(Target::parse("http://example.com").is_err());
        assert!(Target::parse("javascript:alert(1)").is_err());
        assert!(Target::parse("../docs/x.md").is_err());
    }

    #[test]
    fn bounds() {
        assert!(Bound::Below(50.0).holds(49.9));
        assert!(!Bound::Below(50.0).holds(50.0));
        assert!(Bound::AtMost(50.0).holds(50.0));
        assert!(Bound::AtLeast(1000.0).holds(1000.0));
        assert!(!Bound::Above(0.0).holds(0.0));
    }
}
