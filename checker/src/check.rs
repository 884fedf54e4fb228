//! Checking a whole history: drop what constrains nothing, split it into
//! independent partitions (P-compositionality, Horn & Kroening 2015: a
//! history of independent objects is linearizable iff each object's
//! sub-history is), search each, and give a verdict with a witness.

use crate::budget::{Budget, Exhausted};
use crate::history::{validate, Operation, Outcome, Time};
use crate::model::Model;
use crate::search::{search, SearchOp};
use serde::Serialize;
use std::collections::BTreeMap;

/// The answer: linearizable, not, or unknown (a budget ran out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Linearizable {
    Yes,
    No,
    Unknown,
}

impl Linearizable {
    /// `Some(true)`, `Some(false)`, or `None` for unknown (JSON's null).
    pub fn as_option(self) -> Option<bool> {
        match self {
            Linearizable::Yes => Some(true),
            Linearizable::No => Some(false),
            Linearizable::Unknown => None,
        }
    }
}

/// Why a history is not linearizable. Operation numbers index the history
/// as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Witness {
    /// The partition (key) that has no linearization.
    pub partition: u64,
    /// The longest order found for that partition's operations: each could
    /// take effect in this order, respecting real time.
    pub longest: Vec<usize>,
    /// After it, the operations that were candidates to go next, and none
    /// of which could.
    pub stuck: Vec<usize>,
    /// The operation whose completion came while it could not yet be
    /// ordered (one of the operations that cannot be ordered).
    pub blocked: Option<usize>,
    /// Up to when some order still worked: the completion time of the
    /// latest operation that ended every partial order.
    pub violation_at: Option<Time>,
    /// `longest`, `stuck` and `blocked`, in words.
    pub explanation: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub linearizable: Linearizable,
    /// Set when not linearizable.
    pub witness: Option<Witness>,
    /// Set when unknown.
    pub exhausted: Option<Exhausted>,
    /// The partition that could not be decided, when unknown.
    pub undecided_partition: Option<u64>,
    pub partitions: usize,
    /// Operations searched (failed ones and indeterminate reads are left
    /// out: they constrain nothing).
    pub searched: usize,
    pub steps: u64,
    /// The most (linearized set, state) pairs one partition remembered.
    pub memo_peak: usize,
}

/// Checks `history` against `model`, one partition at a time (by
/// [`Model::partition`]); the first partition (in key order) without a
/// linearization decides.
pub fn check<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>], budget: &Budget<'_>) -> Verdict {
    check_by(model, history, budget, |i| model.partition(i))
}

/// Checks `history` as one partition, however the model partitions it
/// (for comparison: see [`Whole`] for a model that makes this work for
/// keyed models).
pub fn check_unpartitioned<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: &Budget<'_>,
) -> Verdict {
    check_by(model, history, budget, |_| 0)
}

/// The operations the search needs: failed operations took no effect and
/// indeterminate reads returned nothing anyone saw, so both are left out.
pub fn searchable<M: Model>(model: &M, op: &Operation<M::Input, M::Output>) -> bool {
    match op.outcome {
        Outcome::Ok => true,
        Outcome::Fail => false,
        Outcome::Info => !model.read_only(&op.input),
    }
}

pub(crate) fn search_op<'a, M: Model>(op: &'a Operation<M::Input, M::Output>) -> SearchOp<'a, M> {
    SearchOp {
        input: &op.input,
        output: if op.outcome == Outcome::Ok { op.output.as_ref() } else { None },
        invoke: op.invoke,
        end: op.end(),
    }
}

fn check_by<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    budget: &Budget<'_>,
    key: impl Fn(&M::Input) -> u64,
) -> Verdict {
    let mut verdict = Verdict {
        linearizable: Linearizable::Yes,
        witness: None,
        exhausted: None,
        undecided_partition: None,
        partitions: 0,
        searched: 0,
        steps: 0,
        memo_peak: 0,
    };
    if let Err(e) = validate(history) {
        // Callers validate first; a history that is not a history has no
        // linearization to find.
        debug_assert!(false, "check called on an invalid history: {e}");
        verdict.linearizable = Linearizable::Unknown;
        return verdict;
    }
    let mut parts: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.iter().enumerate() {
        if searchable(model, op) {
            parts.entry(key(&op.input)).or_default().push(i);
        }
    }
    verdict.partitions = parts.len();
    verdict.searched = parts.values().map(Vec::len).sum();
    let mut spent = 0u64;
    for (&part, members) in &parts {
        let ops: Vec<SearchOp<'_, M>> = members.iter().map(|&i| search_op(&history[i])).collect();
        let found = search(model, &ops, model.init(), false, 0, budget, &mut spent);
        verdict.memo_peak = verdict.memo_peak.max(found.memo);
        match found.linearizable {
            Ok(true) => {}
            Ok(false) => {
                let global = |i: u32| members[i as usize];
                let longest: Vec<usize> = found.longest.iter().map(|&i| global(i)).collect();
                let stuck: Vec<usize> = found.stuck.iter().map(|&i| global(i)).collect();
                let blocked = found.blocked.map(global);
                let explanation = explain(model, history, &longest, &stuck, blocked);
                verdict.linearizable = Linearizable::No;
                verdict.witness = Some(Witness {
                    partition: part,
                    longest,
                    stuck,
                    blocked,
                    violation_at: found.violation_at,
                    explanation,
                });
                break;
            }
            Err(e) => {
                // Later partitions may still prove a violation.
                if verdict.exhausted.is_none() {
                    verdict.linearizable = Linearizable::Unknown;
                    verdict.exhausted = Some(e);
                    verdict.undecided_partition = Some(part);
                }
                if e != Exhausted::Memo {
                    break;
                }
            }
        }
    }
    verdict.steps = spent;
    verdict
}

/// Words for a witness: at most this many operations of the order are
/// spelled out (the last ones, nearest the problem).
const EXPLAIN_LAST: usize = 10;

fn explain<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    longest: &[usize],
    stuck: &[usize],
    blocked: Option<usize>,
) -> Vec<String> {
    let say = |i: usize| {
        let op = &history[i];
        let out = if op.outcome == Outcome::Ok { op.output.as_ref() } else { None };
        let end = match (op.outcome, op.complete) {
            (Outcome::Ok, Some(c)) => c.to_string(),
            _ => "open".to_string(),
        };
        format!("#{i} client {} {} [{}, {}]", op.client, model.describe(&op.input, out), op.invoke, end)
    };
    let mut lines = Vec::new();
    let skip = longest.len().saturating_sub(EXPLAIN_LAST);
    lines.push(format!(
        "the longest order found has {} operations{}",
        longest.len(),
        if skip > 0 { format!("; its last {EXPLAIN_LAST}:") } else { ":".to_string() }
    ));
    lines.extend(longest[skip..].iter().map(|&i| format!("  {}", say(i))));
    if !stuck.is_empty() {
        lines.push("then none of these can take effect next:".to_string());
        lines.extend(stuck.iter().map(|&i| format!("  {}", say(i))));
    }
    if let Some(b) = blocked {
        lines.push(format!("yet this one had completed by then: {}", say(b)));
    }
    lines
}

/// A keyed model as one object over all its keys (its state holds every
/// key's), to check a history without partitioning it, for comparison.
pub struct Whole<M>(pub M);

impl<M: Model> Model for Whole<M>
where
    M::State: Ord,
{
    type State = BTreeMap<u64, M::State>;
    type Input = M::Input;
    type Output = M::Output;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        let key = self.0.partition(input);
        let init = self.0.init();
        let cur = state.get(&key).unwrap_or(&init);
        let next = self.0.step(cur, input, output)?;
        let mut s = state.clone();
        if next == init {
            s.remove(&key);
        } else {
            s.insert(key, next);
        }
        Some(s)
    }
    fn read_only(&self, input: &Self::Input) -> bool {
        self.0.read_only(input)
    }
    fn overwrites(&self, _input: &Self::Input) -> bool {
        // Only one key's state is overwritten.
        false
    }
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        self.0.describe(input, output)
    }
}
