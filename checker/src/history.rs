//! The history model: each operation a client invoked, when, and how it
//! ended. As in Jepsen, an operation ends `ok` (it took effect and returned
//! its output), `fail` (it definitely took no effect) or `info`
//! (indeterminate: it may or may not have taken effect, at any time after
//! its invocation; it stays open to the end of the history).
//!
//! Intervals are closed, as in Porcupine: an operation completing at `t`
//! and one invoked at `t` are concurrent (either may be ordered first).

use serde::Serialize;

/// A point in time, in any unit the history uses (the engine's are
/// nanoseconds; a Jepsen log without times uses its line numbers).
pub type Time = u64;

/// The most operations one history may hold: the search's indices are
/// 32-bit and every structure is sized from this.
pub const MAX_OPS: usize = 1 << 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Completed; took effect; its output is known.
    Ok,
    /// Definitely took no effect.
    Fail,
    /// Indeterminate (a timeout, a crash, still in flight at the end): may
    /// have taken effect; its output is unknown.
    Info,
}

/// One operation of a history, for a model with inputs `I` and outputs `O`.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// The client (Jepsen's process) that invoked it.
    pub client: u64,
    pub input: I,
    /// The output, for `Ok` operations. `None` for `Fail` and `Info`, and
    /// for an `Ok` operation whose output carries nothing to check.
    pub output: Option<O>,
    pub invoke: Time,
    /// When the client heard the outcome (`None`: never).
    pub complete: Option<Time>,
    pub outcome: Outcome,
}

impl<I, O> Operation<I, O> {
    /// The end of the operation's interval for the linearizability search:
    /// its completion when it is `ok`, the end of time otherwise.
    pub fn end(&self) -> Time {
        match (self.outcome, self.complete) {
            (Outcome::Ok, Some(t)) => t,
            _ => Time::MAX,
        }
    }

    /// Checks the operation's own consistency; `None` if fine.
    pub fn problem(&self) -> Option<&'static str> {
        match (self.outcome, self.complete) {
            (_, Some(c)) if c < self.invoke => Some("completes before it is invoked"),
            (Outcome::Ok, None) => Some("is ok but has no completion time"),
            _ => None,
        }
    }
}

/// Checks a whole history: its size and every operation. The error names
/// the first bad operation by index.
pub fn validate<I, O>(ops: &[Operation<I, O>]) -> Result<(), String> {
    if ops.len() > MAX_OPS {
        return Err(format!("the history holds {} operations; at most {MAX_OPS} can be checked", ops.len()));
    }
    for (i, op) in ops.iter().enumerate() {
        if let Some(p) = op.problem() {
            return Err(format!("operation {i} {p}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(invoke: Time, complete: Option<Time>, outcome: Outcome) -> Operation<(), ()> {
        Operation { client: 0, input: (), output: None, invoke, complete, outcome }
    }

    #[test]
    fn only_ok_operations_end_when_they_complete() {
        assert_eq!(op(1, Some(5), Outcome::Ok).end(), 5);
        assert_eq!(op(1, Some(5), Outcome::Info).end(), Time::MAX);
        assert_eq!(op(1, None, Outcome::Info).end(), Time::MAX);
    }

    #[test]
    fn rejects_inconsistent_operations() {
        assert_eq!(validate(&[op(1, Some(2), Outcome::Ok)]), Ok(()));
        assert_eq!(
            validate(&[op(1, Some(2), Outcome::Ok), op(5, Some(4), Outcome::Fail)]),
            Err("operation 1 completes before it is invoked".into())
        );
        assert_eq!(validate(&[op(1, None, Outcome::Ok)]), Err("operation 0 is ok but has no completion time".into()));
    }
}
