//! Consistency verdicts, live: the client history is fed to the checker
//! (`clusterlab-checker`) as the run proceeds, and checked once per
//! simulated second. The checker only observes: nothing here changes the
//! run or its trace.
//!
//! Each key is a register (reads and writes of whole numbers); a client is
//! a client node (its requests form one session, for the per-client
//! checks).

use crate::history::{History, LogEvent as HLogEvent, LogHistory, LogRecord, OpRecord, Outcome as HOutcome};
use crate::message::Op;
use crate::scenario::{ComponentSpec, Scenario};
use crate::time::Time;
use checker::anomalies::log::{LogAnomalies, LogEvent};
use checker::anomalies::log_live::LiveLog;
use checker::anomalies::rw::{self, RwAnomalies, RwKind, RwOp};
use checker::anomalies::MAX_EXAMPLES;
use checker::history::Outcome;
use checker::live::{Live, LiveVerdict};
use checker::models::register::{Register, RegisterInput, RegisterOutput};
use serde::Serialize;
use std::collections::BTreeMap;

/// The checker's types the views carry, for the UI.
pub use checker::{anomalies::rw::Kind as AnomalyKind, live::LiveVerdict as Verdict, Linearizable};

/// How often the verdicts are brought up to date, in simulated time.
pub const CHECK_EVERY_NS: Time = 1_000_000_000;

#[derive(Clone, Debug)]
pub struct Consistency {
    /// Only runs with a database, or clients of a cache, are checked:
    /// elsewhere the values clients read and write are not stored anywhere.
    enabled: bool,
    /// Runs with Kafka clients: their sends and polls are checked as logs.
    logs: bool,
    log: LogState,
    live: Live<Register>,
    /// History operations fed so far (the checker numbers them the same).
    fed: usize,
    /// Fed while in flight, by history index.
    in_flight: Vec<usize>,
    next_check: Time,
    view: ConsistencyView,
    /// Per key: its operations (history indices) and their anomalies as of
    /// the last check; only keys that changed are checked again.
    keys: BTreeMap<u64, KeyAnomalies>,
}

/// The live log checker and what it has been fed.
#[derive(Clone, Debug, Default)]
struct LogState {
    live: LiveLog,
    /// Log history operations looked at so far.
    fed: usize,
    /// Of those, the ones still in flight.
    in_flight: Vec<usize>,
    /// (reader, partition) -> one past the highest offset it has read.
    delivered: BTreeMap<(u64, u32), u64>,
    view: LogView,
}

#[derive(Clone, Debug, Default)]
struct KeyAnomalies {
    ops: Vec<usize>,
    found: RwAnomalies,
    changed: bool,
}

/// What the run's history shows so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConsistencyView {
    /// False for runs where nothing stores the values clients write (no
    /// database, no client of a cache).
    pub checked: bool,
    /// Linearizability, key by key, with the time of the first violation.
    pub linearizability: Option<LiveVerdict>,
    /// When the operation of that violation is a stale read: the
    /// acknowledged write it misses (a history index), which says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_violation_misses: Option<usize>,
    /// Jepsen-style anomalies (lost acknowledged writes, stale reads,
    /// read-your-writes, monotonic reads), each with its first time.
    pub anomalies: RwAnomalies,
    /// Operations the bounded history could not keep: the verdicts cover
    /// only what it kept.
    pub history_discarded: u64,
    /// Kafka runs: the log anomalies of the producers' and consumers'
    /// history (each partition a log).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogView>,
    /// Verdicts with the final reads after the run in
    /// (`Simulation::final_reads`): what they covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_reads: Option<FinalReadsSummary>,
}

/// The final reads behind a verdict: after the run ended, with the system
/// healed and quiet, each client read once more every key it had used
/// that someone wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FinalReadsSummary {
    /// When the run ended (true time, ns).
    pub after: Time,
    /// Keys to read: (client, key) pairs of the history, of keys that
    /// someone wrote.
    pub keys: usize,
    /// Of those, the ones a final read read.
    pub read: usize,
    /// Not tried: the client was down, or past the bound on final reads.
    pub skipped: usize,
}

/// What the Kafka clients' history shows: Maelstrom's log anomalies, with
/// when the first acknowledged write known lost was acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogView {
    pub sends_acknowledged: usize,
    pub records_polled: usize,
    pub anomalies: LogAnomalies,
    /// When the first lost write was acknowledged (true time, ns).
    pub first_lost_at: Option<Time>,
    /// Records a consumer group (or a consumer alone) read again, at or
    /// below an offset it had already read: at-least-once delivery after a
    /// rebalance or a restart. Not a log anomaly; what the application must
    /// be ready for.
    pub redelivered: usize,
    pub first_redelivered_at: Option<Time>,
    pub history_discarded: u64,
    /// The final polls after the run, once made (`Simulation::final_reads`).
    pub final_polls: Option<FinalPollsSummary>,
}

/// Jepsen's final polls: once the run is over, each consumer reads every
/// partition of its topic from offset 0 to the end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FinalPollsSummary {
    /// When the run ended (true time, ns).
    pub after: Time,
    /// Partitions consumers read (of the topics that have a consumer).
    pub partitions: usize,
    /// Of those, the ones read to their end: their acknowledged records
    /// beyond it are lost. (One with no leader cannot be read.)
    pub read: usize,
    /// Records the partitions read hold (the sum of their end offsets).
    pub records: u64,
}

impl Consistency {
    pub fn for_scenario(scenario: &Scenario) -> Self {
        // Values are stored by a database, or by a cache or a Raft store
        // that clients use directly; otherwise servers answer without
        // storing.
        let is_cache = |name: &str| {
            scenario
                .nodes
                .iter()
                .any(|n| n.name == name && matches!(n.component, ComponentSpec::Cache(_) | ComponentSpec::RaftKv(_)))
        };
        let enabled = scenario.nodes.iter().any(|n| match &n.component {
            ComponentSpec::Database(_) => true,
            ComponentSpec::Client(c) => is_cache(&c.target),
            _ => false,
        });
        let logs = scenario.nodes.iter().any(|n| matches!(n.component, ComponentSpec::KafkaProducer(_)));
        Consistency {
            enabled,
            logs,
            log: LogState::default(),
            live: Live::new(Register),
            fed: 0,
            in_flight: Vec::new(),
            next_check: CHECK_EVERY_NS,
            // Checked runs say so from the start: before the first check
            // there is simply nothing judged yet.
            view: ConsistencyView {
                checked: enabled || logs,
                log: logs.then(LogView::default),
                ..ConsistencyView::default()
            },
            keys: BTreeMap::new(),
        }
    }
}

fn client(rec: &OpRecord) -> u64 {
    u64::from(rec.node)
}

fn outcome(o: HOutcome) -> Outcome {
    match o {
        HOutcome::Ok => Outcome::Ok,
        HOutcome::Fail => Outcome::Fail,
        HOutcome::Info | HOutcome::Pending => Outcome::Info,
    }
}

fn output(rec: &OpRecord) -> RegisterOutput {
    match rec.op {
        Op::Read { .. } => RegisterOutput::Read(rec.value),
        Op::Write { .. } => RegisterOutput::Write,
    }
}

fn input(op: Op) -> RegisterInput {
    match op {
        Op::Read { key } => RegisterInput::Read { key: u64::from(key) },
        Op::Write { key, value } => RegisterInput::Write { key: u64::from(key), value },
    }
}

impl Consistency {
    /// True for runs whose clients' reads and writes are checked (as
    /// registers).
    pub fn checks_registers(&self) -> bool {
        self.enabled
    }

    /// Called before each event at `now`: at each whole simulated second,
    /// feeds what the history gained and checks.
    #[inline]
    pub fn observe(&mut self, history: &History, logs: &LogHistory, now: Time) {
        if (self.enabled || self.logs) && now >= self.next_check {
            self.check(history, now);
            self.check_logs(logs);
            self.next_check = (now / CHECK_EVERY_NS + 1) * CHECK_EVERY_NS;
        }
    }

    /// Brings the Kafka clients' log anomalies up to date: each operation
    /// is added to the live log checker once it has completed.
    pub fn check_logs(&mut self, history: &LogHistory) -> &ConsistencyView {
        if !self.logs {
            return &self.view;
        }
        let ops = history.ops();
        let l = &mut self.log;
        let before = l.live.added();
        let mut still = Vec::with_capacity(l.in_flight.len());
        for i in std::mem::take(&mut l.in_flight).into_iter().chain(l.fed..ops.len()) {
            let o = &ops[i];
            if o.outcome == HOutcome::Pending {
                still.push(i);
                continue;
            }
            let event = match &o.event {
                HLogEvent::Send { partition, value, offset } => {
                    if o.outcome == HOutcome::Ok {
                        l.view.sends_acknowledged += 1;
                    }
                    LogEvent::Send { key: u64::from(*partition), value: *value, offset: *offset }
                }
                HLogEvent::Poll { records } => {
                    // Deliveries per reader (a group, or a consumer alone):
                    // consumers read forward, so an offset at or below the
                    // highest one a reader had read is read again. The
                    // final polls are the checker's reads, not deliveries.
                    let reader = o.group.map_or(u64::from(o.node) | 1 << 32, u64::from);
                    if !o.final_poll {
                        for &(p, offset, _) in records {
                            l.view.records_polled += 1;
                            let next = l.delivered.entry((reader, p)).or_insert(0);
                            let again = offset < *next;
                            *next = (*next).max(offset + 1);
                            if again {
                                l.view.redelivered += 1;
                                l.view.first_redelivered_at = l.view.first_redelivered_at.or(o.complete);
                            }
                        }
                    }
                    LogEvent::Poll { msgs: records.iter().map(|&(p, o, v)| (u64::from(p), o, v)).collect() }
                }
            };
            // The final polls start again from offset 0: a reader of their
            // own, not the consumer going back.
            let client = u64::from(o.node) | u64::from(o.final_poll) << 32;
            l.live.add(i, client, o.invoke, outcome(o.outcome), &event);
        }
        l.in_flight = still;
        l.fed = ops.len();
        if l.live.added() != before || self.view.log.is_none() {
            self.refresh_log_view(history);
        }
        &self.view
    }

    fn refresh_log_view(&mut self, history: &LogHistory) {
        let l = &mut self.log;
        let ops = history.ops();
        l.view.anomalies = l.live.anomalies();
        l.view.first_lost_at = l.view.anomalies.lost.examples.iter().filter_map(|f| ops[f.op].complete).min();
        l.view.history_discarded = history.discarded();
        self.view.checked = true;
        self.view.log = Some(l.view.clone());
    }

    /// True for runs whose Kafka clients' sends and polls are checked.
    pub fn checks_logs(&self) -> bool {
        self.logs
    }

    /// The final polls are in (`history` has them): each partition in
    /// `ends` was read to its end at that offset.
    pub fn final_polls(&mut self, history: &LogHistory, ends: &BTreeMap<u32, u64>, summary: FinalPollsSummary) {
        self.check_logs(history);
        for (&partition, &offset) in ends {
            let end = LogEvent::End { key: u64::from(partition), offset };
            self.log.live.add(history.ops().len(), u64::MAX, u64::MAX, Outcome::Ok, &end);
        }
        self.log.view.final_polls = Some(summary);
        self.refresh_log_view(history);
    }

    /// Feeds everything and checks now (every event before `now` has run).
    pub fn check(&mut self, history: &History, now: Time) -> &ConsistencyView {
        if !self.enabled {
            return &self.view;
        }
        let ops = history.ops();
        // Completions of operations fed while in flight, in the order they
        // completed is not needed: each is an interval.
        let mut still = Vec::with_capacity(self.in_flight.len());
        for &i in &self.in_flight {
            let rec = &ops[i];
            match (rec.outcome, rec.complete) {
                (HOutcome::Pending, _) | (_, None) => still.push(i),
                (o, Some(t)) => {
                    self.live.complete(i, outcome(o), Some(output(rec)), t);
                    self.keys.entry(u64::from(rec.op.key())).or_default().changed = true;
                }
            }
        }
        self.in_flight = still;
        for (i, rec) in ops.iter().enumerate().skip(self.fed) {
            let id = self.live.invoke(client(rec), input(rec.op), rec.invoke);
            debug_assert_eq!(id, i, "the checker numbers operations as the history does");
            match (rec.outcome, rec.complete) {
                (HOutcome::Pending, _) | (_, None) => self.in_flight.push(i),
                (o, Some(t)) => self.live.complete(i, outcome(o), Some(output(rec)), t),
            }
            let key = self.keys.entry(u64::from(rec.op.key())).or_default();
            key.ops.push(i);
            key.changed = true;
        }
        self.fed = ops.len();
        self.live.checkpoint(now);
        let verdict = self.live.verdict();
        // A violation is final: its explanation is worked out once.
        let misses = match (&self.view.linearizability, verdict.first_violation_op) {
            (Some(old), Some(b)) if old.first_violation_op == Some(b) => self.view.first_violation_misses,
            (_, Some(b)) => missed_write(ops, b),
            (_, None) => None,
        };
        self.view = ConsistencyView {
            checked: true,
            linearizability: Some(verdict),
            first_violation_misses: misses,
            anomalies: self.anomalies(ops),
            history_discarded: history.discarded(),
            log: self.view.log.take(),
            final_reads: self.view.final_reads,
        };
        &self.view
    }

    /// The anomaly checks, key by key: a key is checked again only when it
    /// gained or completed operations, so a check costs what changed, not
    /// the whole history. Anomalies never span keys.
    fn anomalies(&mut self, ops: &[OpRecord]) -> RwAnomalies {
        let mut all = RwAnomalies::default();
        for key in self.keys.values_mut() {
            if key.changed {
                let local: Vec<OpRecord> = key.ops.iter().map(|&i| ops[i]).collect();
                let mut found = rw::check(&rw_ops(&local));
                // Back to history indices.
                for kind in kinds_mut(&mut found) {
                    for f in &mut kind.examples {
                        f.op = key.ops[f.op];
                        f.because = key.ops[f.because];
                    }
                }
                key.found = found;
                key.changed = false;
            }
            for (into, from) in kinds_mut(&mut all).into_iter().zip(kinds(&key.found)) {
                into.count += from.count;
                into.first_at = match (into.first_at, from.first_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let room = MAX_EXAMPLES.saturating_sub(into.examples.len());
                into.examples.extend(from.examples.iter().take(room).copied());
            }
        }
        for kind in kinds_mut(&mut all) {
            checker::sort::sort_by_key(&mut kind.examples, |f| (f.at, f.op));
        }
        all
    }

    pub fn view(&self) -> &ConsistencyView {
        &self.view
    }
}

fn kinds(a: &RwAnomalies) -> [&AnomalyKind; 4] {
    [&a.lost_writes, &a.stale_reads, &a.read_your_writes, &a.monotonic_reads]
}

fn kinds_mut(a: &mut RwAnomalies) -> [&mut AnomalyKind; 4] {
    [&mut a.lost_writes, &mut a.stale_reads, &mut a.read_your_writes, &mut a.monotonic_reads]
}

/// The history as reads and writes for the anomaly checks.
pub fn rw_ops(ops: &[OpRecord]) -> Vec<RwOp> {
    ops.iter()
        .map(|rec| RwOp {
            client: client(rec),
            key: u64::from(rec.op.key()),
            kind: match rec.op {
                Op::Read { .. } => RwKind::Read(rec.value),
                Op::Write { value, .. } => RwKind::Write(value),
            },
            invoke: rec.invoke,
            complete: rec.complete,
            outcome: outcome(rec.outcome),
            final_read: rec.final_read,
        })
        .collect()
}

/// For a read that returned a value older than a write acknowledged before
/// the read began (a stale read): that write, as a history index. Explains
/// a linearizability violation whose operation is such a read.
fn missed_write(ops: &[OpRecord], read: usize) -> Option<usize> {
    let key = ops.get(read)?.op.key();
    let same: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].op.key() == key).collect();
    let local: Vec<OpRecord> = same.iter().map(|&i| ops[i]).collect();
    let at = same.binary_search(&read).expect("the read is of its own key");
    rw::missed_write(&rw_ops(&local), at).map(|w| same[w])
}

/// The history file that `clusterlab run --history` writes and the app
/// exports, as compact JSON and a newline: a run with Kafka clients gives
/// their sends and polls ([`log_history_json`], then `log_finals`, the
/// final polls); any other its reads and writes ([`history_json`], then
/// `finals`, the final reads).
pub fn history_file(
    history: &History,
    finals: &[OpRecord],
    log: &LogHistory,
    log_finals: &[LogRecord],
    scenario: &str,
    seed: u64,
) -> String {
    let json = if log.ops().is_empty() {
        history_json(history, finals, scenario, seed)
    } else {
        log_history_json(log, log_finals, scenario, seed)
    };
    let mut text = json.to_string();
    text.push('\n');
    text
}

/// An operation's outcome as the JSON history format's `type`.
fn type_name(outcome: HOutcome) -> &'static str {
    match outcome {
        HOutcome::Ok => "ok",
        HOutcome::Fail => "fail",
        HOutcome::Info | HOutcome::Pending => "info",
    }
}

/// Adds an operation's `complete` time (none while pending) and, for the
/// final reads or polls, `"final": true`.
fn completion(o: &mut serde_json::Value, complete: Option<Time>, outcome: HOutcome, is_final: bool) {
    if let (Some(t), false) = (complete, outcome == HOutcome::Pending) {
        o["complete"] = t.into();
    }
    if is_final {
        o["final"] = true.into();
    }
}

/// The Kafka clients' history in the JSON history format, model `log`, one
/// key per partition: each send as `send` (with its offset once
/// acknowledged), each poll as one `poll` per partition and run of
/// consecutive offsets it returned (`offset`: the first; `result`: the
/// values). The final polls come last, marked `"final": true`, as a
/// process of their own (they read from offset 0 again). Polls that
/// returned nothing are left out.
pub fn log_history_json(log: &LogHistory, finals: &[LogRecord], scenario: &str, seed: u64) -> serde_json::Value {
    let mut ops = Vec::new();
    for rec in log.ops().iter().chain(finals) {
        let kind = type_name(rec.outcome);
        let process = u64::from(rec.node) | u64::from(rec.final_poll) << 32;
        let op = |f: &str, key: u32| {
            let mut o =
                serde_json::json!({ "process": process, "f": f, "key": key, "invoke": rec.invoke, "type": kind });
            completion(&mut o, rec.complete, rec.outcome, rec.final_poll);
            o
        };
        match &rec.event {
            HLogEvent::Send { partition, value, offset } => {
                let mut o = op("send", *partition);
                o["value"] = (*value).into();
                if let Some(at) = offset {
                    o["offset"] = (*at).into();
                }
                ops.push(o);
            }
            HLogEvent::Poll { records } => {
                let mut k = 0;
                while k < records.len() {
                    let (p, first, _) = records[k];
                    let mut values = Vec::new();
                    while k < records.len() && records[k].0 == p && records[k].1 == first + values.len() as u64 {
                        values.push(records[k].2);
                        k += 1;
                    }
                    let mut o = op("poll", p);
                    o["offset"] = first.into();
                    o["result"] = values.into();
                    ops.push(o);
                }
            }
        }
    }
    serde_json::json!({
        "format": checker::formats::json::FORMAT,
        "version": checker::formats::json::VERSION,
        "model": "log",
        "meta": { "scenario": scenario, "seed": seed, "time_unit": "ns", "discarded": log.discarded() },
        "ops": ops,
    })
}

/// The history in the project's JSON history format (docs/history-format.md),
/// model `register`, for `clusterlab check`: the run's operations, then its
/// final reads if it has them (`Simulation::final_reads`), marked `"final":
/// true`.
pub fn history_json(history: &History, finals: &[OpRecord], scenario: &str, seed: u64) -> serde_json::Value {
    let ops: Vec<serde_json::Value> = history
        .ops()
        .iter()
        .chain(finals)
        .map(|rec| {
            let mut o = serde_json::json!({
                "process": client(rec),
                "key": rec.op.key(),
                "invoke": rec.invoke,
                "type": type_name(rec.outcome),
            });
            match rec.op {
                Op::Read { .. } => {
                    o["f"] = "read".into();
                    if rec.outcome == HOutcome::Ok {
                        o["result"] = rec.value.into();
                    }
                }
                Op::Write { value, .. } => {
                    o["f"] = "write".into();
                    o["value"] = value.into();
                }
            }
            completion(&mut o, rec.complete, rec.outcome, rec.final_read);
            o
        })
        .collect();
    serde_json::json!({
        "format": checker::formats::json::FORMAT,
        "version": checker::formats::json::VERSION,
        "model": "register",
        "meta": { "scenario": scenario, "seed": seed, "time_unit": "ns", "discarded": history.discarded() },
        "ops": ops,
    })
}
