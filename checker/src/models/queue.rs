//! A FIFO queue: enqueue a value; dequeue the oldest (or nothing, when
//! empty).

use crate::model::Model;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueInput {
    Enqueue { value: u64 },
    Dequeue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueOutput {
    /// What a dequeue took (`None`: the queue was empty).
    Dequeued(Option<u64>),
    Done,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Queue;

impl Model for Queue {
    type State = VecDeque<u64>;
    type Input = QueueInput;
    type Output = QueueOutput;

    fn init(&self) -> VecDeque<u64> {
        VecDeque::new()
    }
    fn step(&self, state: &VecDeque<u64>, input: &QueueInput, output: Option<&QueueOutput>) -> Option<VecDeque<u64>> {
        match (input, output) {
            (QueueInput::Enqueue { value }, None | Some(QueueOutput::Done)) => {
                let mut s = state.clone();
                s.push_back(*value);
                Some(s)
            }
            (QueueInput::Dequeue, None) => {
                let mut s = state.clone();
                s.pop_front();
                Some(s)
            }
            (QueueInput::Dequeue, Some(QueueOutput::Dequeued(v))) => (state.front() == v.as_ref()).then(|| {
                let mut s = state.clone();
                s.pop_front();
                s
            }),
            _ => None,
        }
    }
    fn describe(&self, input: &QueueInput, output: Option<&QueueOutput>) -> String {
        match (input, output) {
            (QueueInput::Enqueue { value }, _) => format!("enqueue({value})"),
            (QueueInput::Dequeue, Some(QueueOutput::Dequeued(Some(v)))) => format!("dequeue() -> {v}"),
            (QueueInput::Dequeue, Some(QueueOutput::Dequeued(None))) => "dequeue() -> empty".to_string(),
            (QueueInput::Dequeue, _) => "dequeue() -> ?".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out() {
        let s = Queue.step(&VecDeque::from([1, 2]), &QueueInput::Enqueue { value: 3 }, None).unwrap();
        assert!(Queue.step(&s, &QueueInput::Dequeue, Some(&QueueOutput::Dequeued(Some(2)))).is_none());
        let s = Queue.step(&s, &QueueInput::Dequeue, Some(&QueueOutput::Dequeued(Some(1)))).unwrap();
        assert_eq!(s, VecDeque::from([2, 3]));
        assert_eq!(
            Queue.step(&VecDeque::new(), &QueueInput::Dequeue, Some(&QueueOutput::Dequeued(None))),
            Some(VecDeque::new())
        );
    }
}
