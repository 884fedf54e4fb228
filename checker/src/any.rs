//! A history of any of the models, read from a file, checked, and reported
//! as JSON: what `clusterlab check` prints for each file.

use crate::anomalies::{log as log_anomalies, rw};
use crate::budget::Budget;
use crate::check::{check, Verdict};
use crate::formats::edn::Edn;
use crate::formats::raw::RawOp;
use crate::formats::ParseError;
use crate::history::{Operation, Outcome};
use crate::model::Model;
use crate::models::counter::{Counter, CounterInput, CounterOutput};
use crate::models::kv::{Kv, KvInput, KvOutput};
use crate::models::log::{Log, LogInput, LogOutput};
use crate::models::register::{Register, RegisterInput, RegisterOutput};
use crate::models::set::{Set, SetInput, SetOutput};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Register,
    Kv,
    Counter,
    Set,
    Log,
}

impl ModelKind {
    pub const NAMES: &'static str = "register, kv, counter, set or log";

    pub fn parse(s: &str) -> Option<ModelKind> {
        Some(match s {
            "register" => ModelKind::Register,
            "kv" => ModelKind::Kv,
            "counter" => ModelKind::Counter,
            "set" => ModelKind::Set,
            "log" => ModelKind::Log,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::Kv => "kv",
            ModelKind::Counter => "counter",
            ModelKind::Set => "set",
            ModelKind::Log => "log",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum AnyHistory {
    Register(Vec<Operation<RegisterInput, RegisterOutput>>),
    Kv(Vec<Operation<KvInput, KvOutput>>),
    Counter(Vec<Operation<CounterInput, CounterOutput>>),
    Set(Vec<Operation<SetInput, SetOutput>>),
    Log(Vec<Operation<LogInput, LogOutput>>),
}

/// A history read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub history: AnyHistory,
    /// Per operation: the line (or JSON operation number) that invoked it.
    pub lines: Vec<usize>,
    /// Per operation: a final read (made after the run, once the system
    /// settled; see [`rw`]). Empty when the format has none.
    pub finals: Vec<bool>,
    /// Keys given as strings, by the number the history uses for them.
    pub key_names: BTreeMap<u64, String>,
}

impl Loaded {
    pub fn len(&self) -> usize {
        self.lines.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Gives raw operations a model's meaning. `label` prefixes messages
/// (`"ops"` for JSON's `ops[3]: ...`; empty for line numbers).
pub fn build(kind: ModelKind, raw: &[RawOp], label: &str) -> Result<Loaded, ParseError> {
    let mut keys = Keys::default();
    let lines = raw.iter().map(|r| r.line).collect();
    let finals = raw.iter().map(|r| r.final_read).collect();
    let history = match kind {
        ModelKind::Register => AnyHistory::Register(ops(raw, |r| register(r, label, &mut keys))?),
        ModelKind::Kv => AnyHistory::Kv(ops(raw, |r| kv(r, label, &mut keys))?),
        ModelKind::Counter => AnyHistory::Counter(ops(raw, |r| counter(r, label))?),
        ModelKind::Set => AnyHistory::Set(ops(raw, |r| set(r, label))?),
        ModelKind::Log => AnyHistory::Log(ops(raw, |r| log(r, label, &mut keys))?),
    };
    Ok(Loaded { history, lines, finals, key_names: keys.names })
}

/// Keys: whole numbers stand for themselves; strings are numbered in order
/// of appearance. One history uses one or the other.
#[derive(Default)]
struct Keys {
    ids: BTreeMap<String, u64>,
    names: BTreeMap<u64, String>,
    numeric: Option<bool>,
}

impl Keys {
    fn get(&mut self, r: &RawOp, label: &str, required: bool) -> Result<u64, ParseError> {
        match &r.key {
            None if required => Err(r.err(label, format!("{} needs a key", r.f))),
            None => Ok(0),
            Some(Edn::Int(k)) if *k >= 0 && self.numeric != Some(false) => {
                self.numeric = Some(true);
                Ok(*k as u64)
            }
            Some(Edn::Str(s)) if self.numeric != Some(true) => {
                self.numeric = Some(false);
                let next = self.ids.len() as u64;
                let id = *self.ids.entry(s.clone()).or_insert(next);
                self.names.insert(id, s.clone());
                Ok(id)
            }
            Some(_) => Err(r.err(label, "keys must be all whole numbers or all strings")),
        }
    }
}

fn ops<I, O>(
    raw: &[RawOp],
    mut f: impl FnMut(&RawOp) -> Result<(I, Option<O>), ParseError>,
) -> Result<Vec<Operation<I, O>>, ParseError> {
    raw.iter()
        .map(|r| {
            let (input, output) = f(r)?;
            Ok(Operation {
                client: r.process,
                input,
                output: if r.outcome == Outcome::Ok { output } else { None },
                invoke: r.invoke,
                complete: r.complete,
                outcome: r.outcome,
            })
        })
        .collect()
}

fn whole(r: &RawOp, label: &str, v: &Edn, what: &str) -> Result<u64, ParseError> {
    match v {
        Edn::Int(n) if *n >= 0 => Ok(*n as u64),
        other => Err(r.err(label, format!("{what} must be a whole number, got {}", other.kind()))),
    }
}

fn ok(r: &RawOp) -> bool {
    r.outcome == Outcome::Ok
}

fn register(r: &RawOp, label: &str, keys: &mut Keys) -> Result<(RegisterInput, Option<RegisterOutput>), ParseError> {
    let key = keys.get(r, label, false)?;
    Ok(match r.f.as_str() {
        "read" => {
            let out = match &r.result {
                Edn::Nil => None,
                v if ok(r) => Some(whole(r, label, v, "a read's result")?),
                _ => None,
            };
            (RegisterInput::Read { key }, Some(RegisterOutput::Read(out)))
        }
        "write" => (
            RegisterInput::Write { key, value: whole(r, label, &r.value, "a write's value")? },
            Some(RegisterOutput::Write),
        ),
        "cas" => {
            let Edn::Vector(v) = &r.value else { return Err(r.err(label, "a cas's value must be [from to]")) };
            let [from, to] = v.as_slice() else { return Err(r.err(label, "a cas's value must be [from to]")) };
            let input =
                RegisterInput::Cas { key, from: whole(r, label, from, "from")?, to: whole(r, label, to, "to")? };
            (input, Some(RegisterOutput::Cas(true)))
        }
        other => return Err(r.err(label, format!("the register model has read, write and cas, not `{other}`"))),
    })
}

fn string(r: &RawOp, label: &str, v: &Edn, what: &str) -> Result<String, ParseError> {
    match v {
        Edn::Str(s) => Ok(s.clone()),
        other => Err(r.err(label, format!("{what} must be a string, got {}", other.kind()))),
    }
}

fn kv(r: &RawOp, label: &str, keys: &mut Keys) -> Result<(KvInput, Option<KvOutput>), ParseError> {
    let key = keys.get(r, label, true)?;
    Ok(match r.f.as_str() {
        "get" | "read" => {
            let out = match &r.result {
                Edn::Nil => None,
                v if ok(r) => Some(string(r, label, v, "a get's result")?),
                _ => None,
            };
            (KvInput::Get { key }, Some(KvOutput::Get(out)))
        }
        "put" | "write" => {
            (KvInput::Put { key, value: string(r, label, &r.value, "a put's value")? }, Some(KvOutput::Done))
        }
        "append" => {
            (KvInput::Append { key, value: string(r, label, &r.value, "an append's value")? }, Some(KvOutput::Done))
        }
        "delete" => (KvInput::Delete { key }, Some(KvOutput::Done)),
        other => return Err(r.err(label, format!("the kv model has get, put, append and delete, not `{other}`"))),
    })
}

fn counter(r: &RawOp, label: &str) -> Result<(CounterInput, Option<CounterOutput>), ParseError> {
    Ok(match r.f.as_str() {
        "add" => {
            let Edn::Int(d) = r.value else { return Err(r.err(label, "an add's value must be an integer")) };
            (CounterInput::Add { delta: d }, Some(CounterOutput::Done))
        }
        "read" => match &r.result {
            Edn::Int(v) => (CounterInput::Read, Some(CounterOutput::Read(*v))),
            _ if ok(r) => return Err(r.err(label, "an ok read's result must be an integer")),
            _ => (CounterInput::Read, None),
        },
        other => return Err(r.err(label, format!("the counter model has add and read, not `{other}`"))),
    })
}

fn numbers(r: &RawOp, label: &str, v: &Edn, what: &str) -> Result<Vec<u64>, ParseError> {
    match v {
        Edn::Vector(items) => items.iter().map(|x| whole(r, label, x, what)).collect(),
        other => Err(r.err(label, format!("{what} must be a vector, got {}", other.kind()))),
    }
}

fn set(r: &RawOp, label: &str) -> Result<(SetInput, Option<SetOutput>), ParseError> {
    Ok(match r.f.as_str() {
        "add" => (SetInput::Add { element: whole(r, label, &r.value, "an add's value")? }, Some(SetOutput::Done)),
        "read" if ok(r) => {
            let mut v = numbers(r, label, &r.result, "a read's result")?;
            crate::sort::sort(&mut v);
            v.dedup();
            (SetInput::Read, Some(SetOutput::Read(v)))
        }
        "read" => (SetInput::Read, None),
        other => return Err(r.err(label, format!("the set model has add and read, not `{other}`"))),
    })
}

fn log(r: &RawOp, label: &str, keys: &mut Keys) -> Result<(LogInput, Option<LogOutput>), ParseError> {
    let key = keys.get(r, label, false)?;
    Ok(match r.f.as_str() {
        "append" | "send" => {
            let value = whole(r, label, &r.value, "an append's value")?;
            let offset = match (&r.offset, &r.result) {
                (Some(o), _) => Some(whole(r, label, o, "an offset")?),
                (None, Edn::Int(o)) if ok(r) => Some(whole(r, label, &Edn::Int(*o), "an offset")?),
                _ => None,
            };
            (LogInput::Append { key, value }, offset.map(LogOutput::Appended))
        }
        "read" | "poll" => {
            // With an offset: a poll from there; without: the whole log.
            let input = match &r.offset {
                Some(o) => LogInput::Poll { key, from: whole(r, label, o, "an offset")? },
                None => LogInput::Read { key },
            };
            let out =
                if ok(r) { Some(LogOutput::Read(numbers(r, label, &r.result, "a read's result")?)) } else { None };
            (input, out)
        }
        other => return Err(r.err(label, format!("the log model has append and read, not `{other}`"))),
    })
}

/// Checks a loaded history and reports the verdict, its witness and the
/// anomaly checks that apply to the model, as one JSON object.
pub fn report(loaded: &Loaded, budget: &Budget<'_>) -> Value {
    let (model, verdict, anomalies) = match &loaded.history {
        AnyHistory::Register(h) => {
            ("register", check(&Register, h, budget), json!(rw::check(&with_finals(register_rw(h), &loaded.finals))))
        }
        AnyHistory::Kv(h) => (
            "kv",
            check(&Kv, h, budget),
            kv_rw(h).map_or(Value::Null, |ops| json!(rw::check(&with_finals(ops, &loaded.finals)))),
        ),
        AnyHistory::Counter(h) => ("counter", check(&Counter, h, budget), Value::Null),
        AnyHistory::Set(h) => ("set", check(&Set, h, budget), Value::Null),
        AnyHistory::Log(h) => ("log", check(&Log, h, budget), json!(log_anomalies::check(&log_events(h)))),
    };
    let witness = verdict.witness.as_ref().map(|w| {
        let at = |i: usize| json!({ "op": i, "line": loaded.lines[i], "what": describe(loaded, i) });
        const SHOWN: usize = 20;
        json!({
            "partition": w.partition,
            "key": loaded.key_names.get(&w.partition),
            "blocked": w.blocked.map(at),
            "stuck": w.stuck.iter().map(|&i| at(i)).collect::<Vec<_>>(),
            "longest_len": w.longest.len(),
            "longest_tail": w.longest[w.longest.len().saturating_sub(SHOWN)..].iter().map(|&i| at(i)).collect::<Vec<_>>(),
            "violation_at": w.violation_at,
            "explanation": w.explanation,
        })
    });
    json!({
        "model": model,
        "ops": loaded.len(),
        "linearizable": verdict.linearizable.as_option(),
        "witness": witness,
        "unknown_because": verdict.exhausted.map(|e| e.to_string()),
        "partitions": verdict.partitions,
        "steps": verdict.steps,
        "memo_peak": verdict.memo_peak,
        "anomalies": anomalies,
    })
}

/// The verdict alone (for tests and benchmarks).
pub fn verdict(loaded: &Loaded, budget: &Budget<'_>) -> Verdict {
    match &loaded.history {
        AnyHistory::Register(h) => check(&Register, h, budget),
        AnyHistory::Kv(h) => check(&Kv, h, budget),
        AnyHistory::Counter(h) => check(&Counter, h, budget),
        AnyHistory::Set(h) => check(&Set, h, budget),
        AnyHistory::Log(h) => check(&Log, h, budget),
    }
}

fn describe(loaded: &Loaded, i: usize) -> String {
    fn say<M: Model>(m: &M, op: &Operation<M::Input, M::Output>) -> String {
        let out = if op.outcome == Outcome::Ok { op.output.as_ref() } else { None };
        let outcome = match op.outcome {
            Outcome::Ok => "",
            Outcome::Fail => " (failed)",
            Outcome::Info => " (indeterminate)",
        };
        format!("process {} {}{}", op.client, m.describe(&op.input, out), outcome)
    }
    match &loaded.history {
        AnyHistory::Register(h) => say(&Register, &h[i]),
        AnyHistory::Kv(h) => say(&Kv, &h[i]),
        AnyHistory::Counter(h) => say(&Counter, &h[i]),
        AnyHistory::Set(h) => say(&Set, &h[i]),
        AnyHistory::Log(h) => say(&Log, &h[i]),
    }
}

/// Marks the final reads among `ops` (`finals` as in [`Loaded`]).
fn with_finals(mut ops: Vec<rw::RwOp>, finals: &[bool]) -> Vec<rw::RwOp> {
    for (op, &f) in ops.iter_mut().zip(finals) {
        op.final_read = f;
    }
    ops
}

/// A register history as reads and writes: a successful compare-and-set
/// writes its `to`; failed ones and their reads are left out.
pub fn register_rw(h: &[Operation<RegisterInput, RegisterOutput>]) -> Vec<rw::RwOp> {
    h.iter()
        .map(|op| {
            let kind = match (op.input, op.output) {
                (RegisterInput::Read { .. }, Some(RegisterOutput::Read(v))) => rw::RwKind::Read(v),
                (RegisterInput::Read { .. }, _) => rw::RwKind::Read(None),
                (RegisterInput::Write { value, .. }, _) => rw::RwKind::Write(value),
                (RegisterInput::Cas { to, .. }, _) => rw::RwKind::Write(to),
            };
            // A cas that did not swap wrote nothing: as a failed write.
            let outcome = match op.output {
                Some(RegisterOutput::Cas(false)) => Outcome::Fail,
                _ => op.outcome,
            };
            rw::RwOp {
                client: op.client,
                key: op.input.key(),
                kind,
                invoke: op.invoke,
                complete: op.complete,
                outcome,
                final_read: false,
            }
        })
        .collect()
}

/// A kv history of gets and puts as reads and writes (strings numbered);
/// `None` when it appends or deletes, which these checks do not judge.
pub fn kv_rw(h: &[Operation<KvInput, KvOutput>]) -> Option<Vec<rw::RwOp>> {
    fn id<'a>(ids: &mut BTreeMap<&'a str, u64>, s: &'a str) -> u64 {
        let n = ids.len() as u64;
        *ids.entry(s).or_insert(n)
    }
    let mut ids: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out = Vec::with_capacity(h.len());
    for op in h {
        let kind = match (&op.input, &op.output) {
            (KvInput::Get { .. }, Some(KvOutput::Get(v))) => rw::RwKind::Read(v.as_deref().map(|s| id(&mut ids, s))),
            (KvInput::Get { .. }, _) => rw::RwKind::Read(None),
            (KvInput::Put { value, .. }, _) => rw::RwKind::Write(id(&mut ids, value)),
            _ => return None,
        };
        out.push(rw::RwOp {
            client: op.client,
            key: op.input.key(),
            kind,
            invoke: op.invoke,
            complete: op.complete,
            outcome: op.outcome,
            final_read: false,
        });
    }
    Some(out)
}

/// A log history as sends and polls: a read of the whole log polls every
/// offset.
pub fn log_events(h: &[Operation<LogInput, LogOutput>]) -> Vec<log_anomalies::LogOp> {
    h.iter()
        .map(|op| {
            let event = match (&op.input, &op.output) {
                (LogInput::Append { key, value }, out) => log_anomalies::LogEvent::Send {
                    key: *key,
                    value: *value,
                    offset: match out {
                        Some(LogOutput::Appended(o)) => Some(*o),
                        _ => None,
                    },
                },
                (LogInput::Read { key }, Some(LogOutput::Read(vs))) => log_anomalies::LogEvent::Poll {
                    msgs: vs.iter().enumerate().map(|(o, &v)| (*key, o as u64, v)).collect(),
                },
                (LogInput::Poll { key, from }, Some(LogOutput::Read(vs))) => log_anomalies::LogEvent::Poll {
                    msgs: vs.iter().enumerate().map(|(o, &v)| (*key, from + o as u64, v)).collect(),
                },
                (LogInput::Read { .. } | LogInput::Poll { .. }, _) => {
                    log_anomalies::LogEvent::Poll { msgs: Vec::new() }
                }
            };
            log_anomalies::LogOp {
                client: op.client,
                event,
                invoke: op.invoke,
                complete: op.complete,
                outcome: op.outcome,
            }
        })
        .collect()
}
