//! The incremental checker: fed operations as a run proceeds, it gives a
//! verdict at every checkpoint without searching the whole history again.
//!
//! Two ideas keep each checkpoint small:
//!
//! - **Per-key partitions** (P-compositionality): a checkpoint searches
//!   only the keys whose operations changed since the last one.
//! - **A settled frontier** per key: when every operation invoked so far
//!   has completed before the next one was invoked (a quiet moment), no
//!   later operation can be ordered before them. That prefix is searched
//!   once, for *every* way it can end (each end state, with the
//!   indeterminate operations that may still take effect later), and then
//!   dropped; later checkpoints start from those ends. What is not settled
//!   yet (the tail) is searched from them at each checkpoint, operations
//!   still in flight counting as indeterminate.
//!
//! A violation is final (later operations only add constraints), so a
//! violated key is not searched again; the verdict keeps the simulated
//! time at which the violation became certain.

use crate::budget::{Budget, Exhausted};
use crate::check::{searchable, Linearizable};
use crate::history::{Operation, Outcome, Time};
use crate::model::Model;
use crate::search::{search, SearchOp};
use serde::Serialize;
use std::collections::BTreeMap;

/// At most this many ways a settled prefix may end; past it the frontier
/// stays where it is (the tail grows, and its search may run out of
/// budget: then the verdict says unknown).
pub const MAX_ENDS: usize = 64;
/// Search steps one key may take at one checkpoint.
pub const STEPS_PER_KEY: u64 = 2_000_000;
/// Remembered states one search may hold.
pub const MEMO_PER_SEARCH: usize = 200_000;

/// One way a settled prefix can end: the state, and the indeterminate
/// operations that have not taken effect (yet).
#[derive(Clone, Debug)]
struct End<S> {
    state: S,
    open: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Key<S> {
    ends: Vec<End<S>>,
    /// Operations not settled yet, in invocation order.
    tail: Vec<usize>,
    dirty: bool,
    verdict: Linearizable,
    violation_at: Option<Time>,
    /// For a violation: the operations that could not be ordered.
    stuck: Vec<usize>,
    /// Of those, the one whose answer came with no order left to take it.
    blocked: Option<usize>,
    exhausted: Option<Exhausted>,
}

/// The verdict so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveVerdict {
    /// No if any key is violated; else unknown if any key's search ran out
    /// of budget; else yes.
    pub linearizable: Linearizable,
    /// When the earliest violation became certain (the completion of the
    /// operation that could not be ordered).
    pub first_violation_at: Option<Time>,
    /// The key of that violation.
    pub first_violation_key: Option<u64>,
    /// The operations (as numbered when fed) that could not be ordered
    /// there.
    pub first_violation_ops: Vec<usize>,
    /// Of those, the one whose answer came when no order could take it any
    /// more: the operation the violation is about.
    pub first_violation_op: Option<usize>,
    pub violated_keys: usize,
    pub unknown_keys: usize,
    pub keys: usize,
    pub ops: usize,
    /// Operations settled (searched once and dropped).
    pub settled: usize,
    /// The time of the last checkpoint.
    pub checked_at: Option<Time>,
    pub steps: u64,
}

#[derive(Clone, Debug)]
pub struct Live<M: Model> {
    model: M,
    ops: Vec<Operation<M::Input, M::Output>>,
    /// Per operation: still in flight.
    in_flight: Vec<bool>,
    keys: BTreeMap<u64, Key<M::State>>,
    settled: usize,
    steps: u64,
    checked_at: Option<Time>,
}

impl<M: Model + Clone> Live<M> {
    pub fn new(model: M) -> Self {
        Live {
            model,
            ops: Vec::new(),
            in_flight: Vec::new(),
            keys: BTreeMap::new(),
            settled: 0,
            steps: 0,
            checked_at: None,
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// A client invokes an operation at `t` (invocations come in time
    /// order). Returns its number, for [`Live::complete`].
    pub fn invoke(&mut self, client: u64, input: M::Input, t: Time) -> usize {
        let id = self.ops.len();
        let key = self.model.partition(&input);
        self.ops.push(Operation { client, input, output: None, invoke: t, complete: None, outcome: Outcome::Info });
        self.in_flight.push(true);
        let init = self.model.init();
        let k = self.keys.entry(key).or_insert_with(|| Key {
            ends: vec![End { state: init, open: Vec::new() }],
            tail: Vec::new(),
            dirty: false,
            verdict: Linearizable::Yes,
            violation_at: None,
            stuck: Vec::new(),
            blocked: None,
            exhausted: None,
        });
        k.tail.push(id);
        k.dirty = true;
        id
    }

    /// Operation `id` completes at `t`.
    pub fn complete(&mut self, id: usize, outcome: Outcome, output: Option<M::Output>, t: Time) {
        let Some(op) = self.ops.get_mut(id) else { return };
        if !self.in_flight[id] {
            return;
        }
        self.in_flight[id] = false;
        op.complete = Some(t.max(op.invoke));
        op.outcome = outcome;
        op.output = if outcome == Outcome::Ok { output } else { None };
        let key = self.model.partition(&op.input);
        if let Some(k) = self.keys.get_mut(&key) {
            k.dirty = true;
        }
    }

    /// Brings the verdict up to `now`: every event before `now` has been
    /// fed, and no operation will be invoked before it.
    pub fn checkpoint(&mut self, now: Time) {
        self.checked_at = Some(now);
        let keys: Vec<u64> =
            self.keys.iter().filter(|(_, k)| k.dirty && k.verdict != Linearizable::No).map(|(&k, _)| k).collect();
        for key in keys {
            let mut k = self.keys.remove(&key).expect("listed");
            k.dirty = false;
            self.settle(&mut k, now);
            if k.verdict != Linearizable::No {
                self.check_tail(&mut k);
            }
            self.keys.insert(key, k);
        }
    }

    /// Where the tail can be cut: the longest prefix, none of it in
    /// flight, whose last completion comes before the next invocation.
    fn cut(&self, k: &Key<M::State>, now: Time) -> usize {
        let mut latest = 0;
        let mut cut = 0;
        for (j, &id) in k.tail.iter().enumerate() {
            let op = &self.ops[id];
            if self.in_flight[id] {
                break;
            }
            if op.outcome == Outcome::Ok {
                latest = latest.max(op.complete.expect("completed"));
            }
            let next_invoke = k.tail.get(j + 1).map_or(now, |&n| self.ops[n].invoke);
            if latest < next_invoke {
                cut = j + 1;
            }
        }
        cut
    }

    fn budget(&self) -> Budget<'static> {
        Budget { max_steps: STEPS_PER_KEY, max_memo: MEMO_PER_SEARCH, interrupt: None }
    }

    fn settle(&mut self, k: &mut Key<M::State>, now: Time) {
        let cut = self.cut(k, now);
        if cut == 0 {
            return;
        }
        let prefix: Vec<usize> =
            k.tail[..cut].iter().copied().filter(|&id| searchable(&self.model, &self.ops[id])).collect();
        let mut ends: Vec<End<M::State>> = Vec::new();
        let mut latest_violation: Option<Time> = None;
        let mut stuck = (Vec::new(), None);
        let mut spent = 0;
        for end in &k.ends {
            let ids: Vec<usize> = end.open.iter().chain(&prefix).copied().collect();
            let ops: Vec<SearchOp<'_, M>> = ids.iter().map(|&id| crate::check::search_op(&self.ops[id])).collect();
            let found = search(&self.model, &ops, end.state.clone(), true, MAX_ENDS, &self.budget(), &mut spent);
            match found.linearizable {
                Ok(true) => {
                    for (state, linearized) in found.ends {
                        let open: Vec<usize> = ids
                            .iter()
                            .enumerate()
                            .filter(|&(i, _)| ops[i].optional() && !linearized.contains(&(i as u32)))
                            .map(|(_, &id)| id)
                            .collect();
                        push_end(&mut ends, End { state, open });
                    }
                }
                Ok(false) => {
                    if found.violation_at >= latest_violation {
                        latest_violation = found.violation_at;
                        stuck = witness_ops(&ids, &found.stuck, found.blocked);
                    }
                }
                Err(_) => {
                    // Too many ways to end, or too big: do not settle now.
                    self.steps += spent;
                    return;
                }
            }
            if ends.len() > MAX_ENDS {
                self.steps += spent;
                return;
            }
        }
        self.steps += spent;
        if ends.is_empty() {
            k.verdict = Linearizable::No;
            k.violation_at = latest_violation;
            (k.stuck, k.blocked) = stuck;
            return;
        }
        self.settled += cut;
        k.tail.drain(..cut);
        k.ends = ends;
    }

    fn check_tail(&mut self, k: &mut Key<M::State>) {
        let tail: Vec<usize> = k
            .tail
            .iter()
            .copied()
            .filter(|&id| {
                let op = &self.ops[id];
                // In flight: may or may not take effect; reads then say nothing.
                if self.in_flight[id] {
                    !self.model.read_only(&op.input)
                } else {
                    searchable(&self.model, op)
                }
            })
            .collect();
        if tail.is_empty() {
            k.verdict = Linearizable::Yes;
            k.exhausted = None;
            return;
        }
        let mut spent = 0;
        let mut latest_violation = None;
        let mut stuck = (Vec::new(), None);
        let mut exhausted = None;
        for end in &k.ends {
            let ids: Vec<usize> = end.open.iter().chain(&tail).copied().collect();
            let ops: Vec<SearchOp<'_, M>> = ids
                .iter()
                .map(|&id| {
                    let mut s = crate::check::search_op(&self.ops[id]);
                    if self.in_flight[id] {
                        s.output = None;
                        s.end = Time::MAX;
                    }
                    s
                })
                .collect();
            let found = search(&self.model, &ops, end.state.clone(), false, 0, &self.budget(), &mut spent);
            match found.linearizable {
                Ok(true) => {
                    self.steps += spent;
                    k.verdict = Linearizable::Yes;
                    k.exhausted = None;
                    return;
                }
                Ok(false) => {
                    if found.violation_at >= latest_violation {
                        latest_violation = found.violation_at;
                        stuck = witness_ops(&ids, &found.stuck, found.blocked);
                    }
                }
                Err(e) => exhausted = Some(e),
            }
        }
        self.steps += spent;
        if let Some(e) = exhausted {
            k.verdict = Linearizable::Unknown;
            k.exhausted = Some(e);
        } else {
            k.verdict = Linearizable::No;
            k.violation_at = latest_violation;
            (k.stuck, k.blocked) = stuck;
        }
    }

    pub fn verdict(&self) -> LiveVerdict {
        let violated = self.keys.iter().filter(|(_, k)| k.verdict == Linearizable::No);
        let first = violated.clone().min_by_key(|(&key, k)| (k.violation_at, key));
        let unknown = self.keys.values().filter(|k| k.verdict == Linearizable::Unknown).count();
        LiveVerdict {
            linearizable: if first.is_some() {
                Linearizable::No
            } else if unknown > 0 {
                Linearizable::Unknown
            } else {
                Linearizable::Yes
            },
            first_violation_at: first.and_then(|(_, k)| k.violation_at),
            first_violation_key: first.map(|(&key, _)| key),
            first_violation_ops: first.map(|(_, k)| k.stuck.clone()).unwrap_or_default(),
            first_violation_op: first.and_then(|(_, k)| k.blocked),
            violated_keys: violated.count(),
            unknown_keys: unknown,
            keys: self.keys.len(),
            ops: self.ops.len(),
            settled: self.settled,
            checked_at: self.checked_at,
            steps: self.steps,
        }
    }

    /// The operations fed so far.
    pub fn ops(&self) -> &[Operation<M::Input, M::Output>] {
        &self.ops
    }
}

/// The operations that could not be ordered, as fed, and of those the one
/// whose answer came with no order left to take it.
fn witness_ops(ids: &[usize], stuck: &[u32], blocked: Option<u32>) -> (Vec<usize>, Option<usize>) {
    let mut v: Vec<usize> = stuck.iter().chain(&blocked).map(|&i| ids[i as usize]).collect();
    crate::sort::sort(&mut v);
    v.dedup();
    (v, blocked.map(|i| ids[i as usize]))
}

/// Adds an end unless one with the same state leaves at least as many
/// operations open (it has every choice this one has); drops those this
/// one covers.
fn push_end<S: Eq>(ends: &mut Vec<End<S>>, new: End<S>) {
    let covers = |a: &End<S>, b: &End<S>| a.state == b.state && b.open.iter().all(|o| a.open.contains(o));
    if ends.iter().any(|e| covers(e, &new)) {
        return;
    }
    ends.retain(|e| !covers(&new, e));
    ends.push(new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::register::{Register, RegisterInput as I, RegisterOutput as O};

    fn w(live: &mut Live<Register>, key: u64, value: u64, t0: Time, t1: Time) -> usize {
        let id = live.invoke(0, I::Write { key, value }, t0);
        live.complete(id, Outcome::Ok, Some(O::Write), t1);
        id
    }
    fn r(live: &mut Live<Register>, key: u64, value: Option<u64>, t0: Time, t1: Time) -> usize {
        let id = live.invoke(1, I::Read { key }, t0);
        live.complete(id, Outcome::Ok, Some(O::Read(value)), t1);
        id
    }

    #[test]
    fn settles_quiet_prefixes_and_finds_a_later_violation_with_its_time() {
        let mut live = Live::new(Register);
        w(&mut live, 0, 1, 0, 10);
        r(&mut live, 0, Some(1), 20, 30);
        live.checkpoint(100);
        let v = live.verdict();
        assert_eq!((v.linearizable, v.settled, v.checked_at), (Linearizable::Yes, 2, Some(100)));
        w(&mut live, 0, 2, 110, 120);
        let stale = r(&mut live, 0, Some(1), 130, 140);
        live.checkpoint(200);
        let v = live.verdict();
        assert_eq!(v.linearizable, Linearizable::No);
        assert_eq!((v.first_violation_at, v.first_violation_key), (Some(140), Some(0)));
        assert!(v.first_violation_ops.contains(&stale));
        assert_eq!(v.first_violation_op, Some(stale), "the read is the operation that could not be ordered");
        // Final: later good operations do not change it.
        r(&mut live, 0, Some(2), 210, 220);
        live.checkpoint(300);
        assert_eq!(live.verdict().first_violation_at, Some(140));
    }

    #[test]
    fn indeterminate_writes_stay_possible_across_settled_prefixes() {
        let mut live = Live::new(Register);
        let id = live.invoke(0, I::Write { key: 0, value: 7 }, 0);
        live.complete(id, Outcome::Info, None, 5);
        r(&mut live, 0, None, 10, 20);
        live.checkpoint(100);
        assert_eq!(live.verdict().settled, 2);
        // Seen much later: it took effect late. Fine.
        r(&mut live, 0, Some(7), 200, 210);
        live.checkpoint(300);
        assert_eq!(live.verdict().linearizable, Linearizable::Yes);
        // Then gone again, with no other write: impossible.
        r(&mut live, 0, None, 400, 410);
        live.checkpoint(500);
        let v = live.verdict();
        assert_eq!((v.linearizable, v.first_violation_at), (Linearizable::No, Some(410)));
    }

    #[test]
    fn operations_in_flight_count_as_indeterminate_and_keys_are_separate() {
        let mut live = Live::new(Register);
        let pending = live.invoke(0, I::Write { key: 1, value: 3 }, 0);
        r(&mut live, 1, Some(3), 10, 20);
        w(&mut live, 2, 9, 0, 5);
        r(&mut live, 2, Some(9), 10, 20);
        live.checkpoint(50);
        let v = live.verdict();
        assert_eq!((v.linearizable, v.keys), (Linearizable::Yes, 2));
        // Key 2 settled; key 1 cannot (a write is still in flight).
        assert_eq!(v.settled, 2);
        live.complete(pending, Outcome::Ok, Some(O::Write), 60);
        live.checkpoint(100);
        assert_eq!(live.verdict().settled, 4);
        assert_eq!(live.verdict().linearizable, Linearizable::Yes);
    }

    #[test]
    fn agrees_with_the_whole_check_on_generated_histories() {
        // A stale read at the end, fed in pieces with checkpoints between.
        let mut live = Live::new(Register);
        let mut t = 0;
        for i in 0..200u64 {
            w(&mut live, i % 3, i + 1, t, t + 7);
            r(&mut live, i % 3, Some(i + 1), t + 3, t + 12);
            t += 15;
            if i % 10 == 0 {
                live.checkpoint(t);
            }
        }
        live.checkpoint(t);
        let v = live.verdict();
        assert_eq!(v.linearizable, Linearizable::Yes);
        assert!(v.settled > 300, "{v:?}");
        let whole = crate::check::check(&Register, live.ops(), &Budget::default());
        assert_eq!(whole.linearizable, Linearizable::Yes);
        r(&mut live, 0, Some(1), t + 1, t + 2);
        live.checkpoint(t + 10);
        assert_eq!(live.verdict().linearizable, Linearizable::No);
        assert_eq!(crate::check::check(&Register, live.ops(), &Budget::default()).linearizable, Linearizable::No);
    }
}
