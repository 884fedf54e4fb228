//! The linearizability search: Wing & Gong's backtracking over the
//! operations that could go next, with Lowe's memoisation of the
//! (linearized set, state) pairs already explored (the "WGL" algorithm of
//! Knossos and Porcupine).
//!
//! The history is a doubly linked list of call and return entries sorted by
//! time (calls before returns at equal times: intervals are closed). The
//! search walks the list from the front: a call whose operation the model
//! accepts in the current state is *lifted* (its call and return leave the
//! list) and the walk restarts from the front; reaching a return means that
//! operation should already have been linearized, so the last choice is
//! undone (*unlifted*) and the walk goes on after it. A pair (linearized
//! set, state) seen before is never explored twice.
//!
//! Operations with an open end (indeterminate ones) are *optional*: the
//! history is linearizable once every other operation is linearized,
//! because an indeterminate operation may not have taken effect at all.

use crate::budget::{Budget, Exhausted, INTERRUPT_EVERY};
use crate::hash::{hash_of, mix, FxBuild};
use crate::history::Time;
use crate::model::Model;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;

const NIL: u32 = u32::MAX;

/// One operation as the search sees it.
pub struct SearchOp<'a, M: Model> {
    pub input: &'a M::Input,
    /// `None`: unknown (any output).
    pub output: Option<&'a M::Output>,
    pub invoke: Time,
    /// `Time::MAX`: open to the end (indeterminate, optional).
    pub end: Time,
}

impl<M: Model> Clone for SearchOp<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M: Model> Copy for SearchOp<'_, M> {}

impl<M: Model> SearchOp<'_, M> {
    pub fn optional(&self) -> bool {
        self.end == Time::MAX
    }
}

/// What a search found. Operation numbers index the slice searched.
#[derive(Clone, Debug)]
pub struct Found<S> {
    /// `Ok(true)`: linearizable; `Ok(false)`: not; `Err`: gave up.
    pub linearizable: Result<bool, Exhausted>,
    /// In enumerating mode: every reachable end, as (state, the optional
    /// operations linearized), each once.
    pub ends: Vec<(S, Vec<u32>)>,
    /// The longest partial linearization found.
    pub longest: Vec<u32>,
    /// After it, the operations that were tried next and could not go.
    pub stuck: Vec<u32>,
    /// After it, the operation that had to be linearized by then (its
    /// return came) and could not be.
    pub blocked: Option<u32>,
    /// The latest time at which the search had to give up a partial
    /// linearization: up to then, some order still worked.
    pub violation_at: Option<Time>,
    pub steps: u64,
    pub memo: usize,
}

/// The remembered (linearized set, state) pairs: a hash table from the
/// pair's hash to a chain of nodes; the sets live in one flat array.
///
/// A pair is also known when a remembered one has the same state and the
/// same linearized set except for fewer optional operations: that one had
/// every choice this one has (an optional operation need never take
/// effect), so this one cannot succeed where it failed, nor find an end it
/// did not. The hash therefore covers the state and the non-optional
/// operations only.
struct Memo<S> {
    table: HashMap<u64, u32, FxBuild>,
    states: Vec<S>,
    next: Vec<u32>,
    bits: Vec<u64>,
    words: usize,
    /// The non-optional operations.
    must: Vec<u64>,
}

impl<S: Eq + Clone> Memo<S> {
    fn new(must: Vec<u64>) -> Self {
        let words = must.len();
        Memo { table: HashMap::default(), states: Vec::new(), next: Vec::new(), bits: Vec::new(), words, must }
    }
    fn len(&self) -> usize {
        self.states.len()
    }
    /// True if the remembered set `old` covers `lin`: equal on the
    /// non-optional operations, and a subset of it on the optional ones.
    #[inline]
    fn covers(must: &[u64], old: &[u64], lin: &[u64]) -> bool {
        old.iter().zip(lin).zip(must).all(|((&o, &l), &m)| o & !l == 0 && (l & !o) & m == 0)
    }
    /// Remembers the pair; false if it was already known (or covered).
    /// Remembered pairs the new one covers leave the chain: they can
    /// never cover anything it does not.
    fn insert(&mut self, hash: u64, lin: &[u64], state: &S) -> bool {
        let new = self.states.len() as u32;
        let w = self.words;
        match self.table.entry(hash) {
            MapEntry::Occupied(mut e) => {
                let mut at = *e.get();
                let mut prev = NIL;
                let mut head = at;
                while at != NIL {
                    let i = at as usize;
                    let next = self.next[i];
                    if self.states[i] == *state {
                        let old = &self.bits[i * w..(i + 1) * w];
                        if Self::covers(&self.must, old, lin) {
                            return false;
                        }
                        if Self::covers(&self.must, lin, old) {
                            // Unlink `i`.
                            if prev == NIL {
                                head = next;
                            } else {
                                self.next[prev as usize] = next;
                            }
                            at = next;
                            continue;
                        }
                    }
                    prev = at;
                    at = next;
                }
                self.next.push(head);
                e.insert(new);
            }
            MapEntry::Vacant(e) => {
                self.next.push(NIL);
                e.insert(new);
            }
        }
        self.states.push(state.clone());
        self.bits.extend_from_slice(lin);
        true
    }
}

/// The entry list: entries `0..2n` (each operation's call and return),
/// then the head at `2n`.
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per entry: its operation, and whether it is the return.
    op: Vec<u32>,
    is_return: Vec<bool>,
    time: Vec<Time>,
    /// Per operation: its call entry and its return entry.
    call: Vec<u32>,
    ret: Vec<u32>,
    head: u32,
}

impl List {
    fn build<M: Model>(ops: &[SearchOp<'_, M>]) -> List {
        let n = ops.len();
        let mut order: Vec<(Time, bool, u32)> = Vec::with_capacity(2 * n);
        for (i, o) in ops.iter().enumerate() {
            order.push((o.invoke, false, i as u32));
            order.push((o.end, true, i as u32));
        }
        // Calls before returns at equal times; then by operation, so the
        // order is fixed.
        crate::sort::sort(&mut order);
        let head = (2 * n) as u32;
        let mut l = List {
            next: vec![NIL; 2 * n + 1],
            prev: vec![NIL; 2 * n + 1],
            op: Vec::with_capacity(2 * n),
            is_return: Vec::with_capacity(2 * n),
            time: Vec::with_capacity(2 * n),
            call: vec![NIL; n],
            ret: vec![NIL; n],
            head,
        };
        let mut last = head;
        for (e, &(t, is_return, op)) in order.iter().enumerate() {
            let e = e as u32;
            l.op.push(op);
            l.is_return.push(is_return);
            l.time.push(t);
            if is_return {
                l.ret[op as usize] = e;
            } else {
                l.call[op as usize] = e;
            }
            l.next[last as usize] = e;
            l.prev[e as usize] = last;
            last = e;
        }
        l
    }

    #[inline]
    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    #[inline]
    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        if n != NIL {
            self.prev[n as usize] = e;
        }
    }

    /// Takes an operation's call and return out of the list.
    #[inline]
    fn lift(&mut self, op: u32) {
        self.unlink(self.call[op as usize]);
        self.unlink(self.ret[op as usize]);
    }

    /// Puts them back, in the reverse order.
    #[inline]
    fn unlift(&mut self, op: u32) {
        self.relink(self.ret[op as usize]);
        self.relink(self.call[op as usize]);
    }
}

/// Searches for a linearization of `ops` starting in `start`.
///
/// With `enumerate`, it does not stop at the first linearization: it
/// collects every reachable end (the state after all non-optional
/// operations, and which optional ones were linearized), at most
/// `max_ends`; more make it give up (`Exhausted::Memo`).
///
/// `spent` counts steps across searches, against `budget.max_steps`.
pub fn search<M: Model>(
    model: &M,
    ops: &[SearchOp<'_, M>],
    start: M::State,
    enumerate: bool,
    max_ends: usize,
    budget: &Budget<'_>,
    spent: &mut u64,
) -> Found<M::State> {
    let n = ops.len();
    assert!(n < (u32::MAX / 2) as usize, "bounded by history::MAX_OPS");
    let mut list = List::build(ops);
    let words = n.div_ceil(64).max(1);
    let mut lin = vec![0u64; words];
    // Optional operations stay out of the hash (see `Memo`).
    let zobrist: Vec<u64> = (0..n)
        .map(|i| if ops[i].optional() { 0 } else { mix((i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15)) })
        .collect();
    let mut must = vec![0u64; words];
    for (i, o) in ops.iter().enumerate() {
        if !o.optional() {
            must[i / 64] |= 1 << (i % 64);
        }
    }
    let mut lin_hash = 0u64;
    let mut memo: Memo<M::State> = Memo::new(must);
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut must_left = ops.iter().filter(|o| !o.optional()).count();
    let mut state = start;
    let mut found = Found {
        linearizable: Ok(false),
        ends: Vec::new(),
        longest: Vec::new(),
        stuck: Vec::new(),
        blocked: None,
        violation_at: None,
        steps: 0,
        memo: 0,
    };
    // The longest partial linearization is kept incrementally: `longest`
    // equals the stack's operations as they were at the last capture, and
    // the stack has not gone below `stable` since.
    let mut captured = false;
    let mut stable = 0usize;
    let steps_at_start = *spent;

    let mut entry = list.next[list.head as usize];
    let mut arrived = true;
    let result: Result<bool, Exhausted> = loop {
        if arrived {
            arrived = false;
            if must_left == 0 {
                if !enumerate {
                    break Ok(true);
                }
                let opt: Vec<u32> = stack.iter().map(|&(op, _)| op).filter(|&op| ops[op as usize].optional()).collect();
                found.ends.push((state.clone(), opt));
                if found.ends.len() > max_ends {
                    break Err(Exhausted::Memo);
                }
            }
        }
        *spent += 1;
        if *spent > budget.max_steps {
            break Err(Exhausted::Steps);
        }
        if (*spent).is_multiple_of(INTERRUPT_EVERY) {
            if let Some(stop) = budget.interrupt {
                if stop() {
                    break Err(Exhausted::Interrupted);
                }
            }
        }
        if entry == NIL || list.is_return[entry as usize] {
            // Nothing more can go here: a dead end.
            if must_left > 0 && entry != NIL {
                let t = list.time[entry as usize];
                found.violation_at = Some(found.violation_at.map_or(t, |v| v.max(t)));
                if !captured || stack.len() > found.longest.len() {
                    captured = true;
                    found.longest.truncate(stable);
                    found.longest.extend(stack[stable..].iter().map(|&(op, _)| op));
                    stable = stack.len();
                    found.stuck.clear();
                    let mut e = list.next[list.head as usize];
                    while e != entry {
                        if !list.is_return[e as usize] {
                            found.stuck.push(list.op[e as usize]);
                        }
                        e = list.next[e as usize];
                    }
                    found.blocked = Some(list.op[entry as usize]);
                }
            }
            let Some((op, prev)) = stack.pop() else {
                break Ok(!found.ends.is_empty());
            };
            stable = stable.min(stack.len());
            state = prev;
            lin[op as usize / 64] &= !(1 << (op % 64));
            lin_hash ^= zobrist[op as usize];
            list.unlift(op);
            if !ops[op as usize].optional() {
                must_left += 1;
            }
            entry = list.next[list.call[op as usize] as usize];
            continue;
        }
        let op = list.op[entry as usize];
        let o = &ops[op as usize];
        // Right after an optional operation, one that overwrites the state
        // gains nothing over the order without it (see `Model::overwrites`).
        if stack.last().is_some_and(|&(top, _)| ops[top as usize].optional()) && model.overwrites(o.input) {
            entry = list.next[entry as usize];
            continue;
        }
        match model.step(&state, o.input, o.output) {
            Some(next) => {
                lin[op as usize / 64] |= 1 << (op % 64);
                let h = lin_hash ^ zobrist[op as usize] ^ hash_of(&next);
                if memo.insert(h, &lin, &next) {
                    if memo.len() > budget.max_memo {
                        break Err(Exhausted::Memo);
                    }
                    lin_hash ^= zobrist[op as usize];
                    stack.push((op, std::mem::replace(&mut state, next)));
                    list.lift(op);
                    if !o.optional() {
                        must_left -= 1;
                    }
                    entry = list.next[list.head as usize];
                    arrived = true;
                } else {
                    lin[op as usize / 64] &= !(1 << (op % 64));
                    entry = list.next[entry as usize];
                }
            }
            None => entry = list.next[entry as usize],
        }
    };
    if result == Ok(true) {
        found.longest = if enumerate { Vec::new() } else { stack.iter().map(|&(op, _)| op).collect() };
        found.stuck.clear();
        found.blocked = None;
        found.violation_at = None;
    }
    found.linearizable = result;
    found.steps = *spent - steps_at_start;
    found.memo = memo.len();
    found
}
