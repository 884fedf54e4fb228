//! A counter: add a (possibly negative) amount, read the total.

use crate::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CounterInput {
    Add { delta: i64 },
    Read,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CounterOutput {
    Read(i64),
    Done,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Counter;

impl Model for Counter {
    type State = i64;
    type Input = CounterInput;
    type Output = CounterOutput;

    fn init(&self) -> i64 {
        0
    }
    fn step(&self, state: &i64, input: &CounterInput, output: Option<&CounterOutput>) -> Option<i64> {
        match (input, output) {
            (CounterInput::Add { delta }, None | Some(CounterOutput::Done)) => Some(state.wrapping_add(*delta)),
            (CounterInput::Read, None) => Some(*state),
            (CounterInput::Read, Some(CounterOutput::Read(v))) => (v == state).then_some(*state),
            _ => None,
        }
    }
    fn read_only(&self, input: &CounterInput) -> bool {
        matches!(input, CounterInput::Read)
    }
    fn describe(&self, input: &CounterInput, output: Option<&CounterOutput>) -> String {
        match (input, output) {
            (CounterInput::Add { delta }, _) => format!("add({delta})"),
            (CounterInput::Read, Some(CounterOutput::Read(v))) => format!("read() -> {v}"),
            (CounterInput::Read, _) => "read() -> ?".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_reads() {
        assert_eq!(Counter.step(&2, &CounterInput::Add { delta: -3 }, None), Some(-1));
        assert_eq!(Counter.step(&2, &CounterInput::Read, Some(&CounterOutput::Read(2))), Some(2));
        assert_eq!(Counter.step(&2, &CounterInput::Read, Some(&CounterOutput::Read(3))), None);
    }
}
