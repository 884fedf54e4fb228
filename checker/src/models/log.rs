//! An append-only log per key (a Kafka partition): an append returns the
//! offset it was given (offsets count from 0); a read returns the whole log.

use crate::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogInput {
    Append { key: u64, value: u64 },
    Read { key: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LogOutput {
    /// The offset the append was given.
    Appended(u64),
    /// The log's values, from offset 0.
    Read(Vec<u64>),
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Log;

impl Model for Log {
    type State = Vec<u64>;
    type Input = LogInput;
    type Output = LogOutput;

    fn init(&self) -> Vec<u64> {
        Vec::new()
    }
    fn step(&self, state: &Vec<u64>, input: &LogInput, output: Option<&LogOutput>) -> Option<Vec<u64>> {
        match (input, output) {
            (LogInput::Append { value, .. }, None) => Some(appended(state, *value)),
            (LogInput::Append { value, .. }, Some(LogOutput::Appended(offset))) => {
                (*offset == state.len() as u64).then(|| appended(state, *value))
            }
            (LogInput::Read { .. }, None) => Some(state.clone()),
            (LogInput::Read { .. }, Some(LogOutput::Read(v))) => (v == state).then(|| state.clone()),
            _ => None,
        }
    }
    fn partition(&self, input: &LogInput) -> u64 {
        match *input {
            LogInput::Append { key, .. } | LogInput::Read { key } => key,
        }
    }
    fn read_only(&self, input: &LogInput) -> bool {
        matches!(input, LogInput::Read { .. })
    }
    fn describe(&self, input: &LogInput, output: Option<&LogOutput>) -> String {
        match (input, output) {
            (LogInput::Append { key, value }, Some(LogOutput::Appended(o))) => {
                format!("append(k{key}, {value}) -> {o}")
            }
            (LogInput::Append { key, value }, _) => format!("append(k{key}, {value}) -> ?"),
            (LogInput::Read { key }, Some(LogOutput::Read(v))) => format!("read(k{key}) -> {v:?}"),
            (LogInput::Read { key }, _) => format!("read(k{key}) -> ?"),
        }
    }
}

fn appended(state: &[u64], value: u64) -> Vec<u64> {
    let mut s = Vec::with_capacity(state.len() + 1);
    s.extend_from_slice(state);
    s.push(value);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_at_the_next_offset() {
        let s = Log.step(&vec![7], &LogInput::Append { key: 0, value: 8 }, Some(&LogOutput::Appended(1))).unwrap();
        assert_eq!(s, vec![7, 8]);
        assert!(Log.step(&s, &LogInput::Append { key: 0, value: 9 }, Some(&LogOutput::Appended(1))).is_none());
        assert!(Log.step(&s, &LogInput::Read { key: 0 }, Some(&LogOutput::Read(vec![7]))).is_none());
    }
}
