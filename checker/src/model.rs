//! A model: what a sequential object does, as pure functions (Porcupine's
//! `Model`). The search is generic over models and knows nothing about any
//! one of them.

use std::fmt::Debug;
use std::hash::Hash;

pub trait Model {
    /// The object's state. Equal states must hash equally: the search
    /// remembers (linearized set, state) pairs it has seen.
    type State: Clone + Eq + Hash + Debug;
    type Input: Clone + Debug;
    type Output: Clone + Debug + PartialEq;

    fn init(&self) -> Self::State;

    /// Applies `input` to `state`: the next state if the operation could
    /// have returned `output` there, `None` if not. `output` is `None` when
    /// unknown (an indeterminate operation): any output is allowed.
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;

    /// The partition an operation belongs to (P-compositionality: the
    /// object is a product of independent objects, one per key).
    /// Operations of different partitions never constrain each other.
    fn partition(&self, _input: &Self::Input) -> u64 {
        0
    }

    /// True if the operation never changes the state. An indeterminate one
    /// of these constrains nothing, so the search leaves it out.
    fn read_only(&self, _input: &Self::Input) -> bool {
        false
    }

    /// True if the state after the operation does not depend on the state
    /// before it (a register's write, a map's put). The search then never
    /// puts it right after an optional (indeterminate) operation: leaving
    /// that one out reaches the same state with more choices left.
    fn overwrites(&self, _input: &Self::Input) -> bool {
        false
    }

    /// The operation in words, for witnesses: `write(3)`, `read() -> 4`.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;
}
