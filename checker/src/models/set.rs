//! A grow-only set of whole numbers: add an element, read them all.

use crate::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetInput {
    Add { element: u64 },
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOutput {
    /// The elements read, in increasing order, each once.
    Read(Vec<u64>),
    Done,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Set;

impl Model for Set {
    /// The elements, sorted.
    type State = Vec<u64>;
    type Input = SetInput;
    type Output = SetOutput;

    fn init(&self) -> Vec<u64> {
        Vec::new()
    }
    fn step(&self, state: &Vec<u64>, input: &SetInput, output: Option<&SetOutput>) -> Option<Vec<u64>> {
        match (input, output) {
            (SetInput::Add { element }, None | Some(SetOutput::Done)) => match state.binary_search(element) {
                Ok(_) => Some(state.clone()),
                Err(at) => {
                    let mut s = state.clone();
                    s.insert(at, *element);
                    Some(s)
                }
            },
            (SetInput::Read, None) => Some(state.clone()),
            (SetInput::Read, Some(SetOutput::Read(v))) => (v == state).then(|| state.clone()),
            _ => None,
        }
    }
    fn read_only(&self, input: &SetInput) -> bool {
        matches!(input, SetInput::Read)
    }
    fn describe(&self, input: &SetInput, output: Option<&SetOutput>) -> String {
        match (input, output) {
            (SetInput::Add { element }, _) => format!("add({element})"),
            (SetInput::Read, Some(SetOutput::Read(v))) => format!("read() -> {v:?}"),
            (SetInput::Read, _) => "read() -> ?".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_reads_sorted() {
        let s = Set.step(&vec![1, 5], &SetInput::Add { element: 3 }, None).unwrap();
        assert_eq!(s, vec![1, 3, 5]);
        assert_eq!(Set.step(&s, &SetInput::Add { element: 3 }, None), Some(vec![1, 3, 5]));
        assert!(Set.step(&s, &SetInput::Read, Some(&SetOutput::Read(vec![1, 5]))).is_none());
    }
}
