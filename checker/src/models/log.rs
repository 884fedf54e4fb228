//! An append-only log per key (a Kafka partition): an append returns the
//! offset it was given (offsets count from 0); a read returns the whole log;
//! a poll returns the values from an offset on (a consumer's fetch).

use crate::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogInput {
    Append {
        key: u64,
        value: u64,
    },
    Read {
        key: u64,
    },
    /// Values from offset `from` on, as many as the log had to give.
    Poll {
        key: u64,
        from: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LogOutput {
    /// The offset the append was given.
    Appended(u64),
    /// The log's values, from offset 0 (a read), or from the poll's
    /// offset: consecutive, and none past the log's end.
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
            (LogInput::Poll { .. }, None) => Some(state.clone()),
            (LogInput::Poll { from, .. }, Some(LogOutput::Read(v))) => {
                let at = usize::try_from(*from).ok().filter(|&f| f <= state.len())?;
                state[at..].starts_with(v).then(|| state.clone())
            }
            _ => None,
        }
    }
    fn partition(&self, input: &LogInput) -> u64 {
        match *input {
            LogInput::Append { key, .. } | LogInput::Read { key } | LogInput::Poll { key, .. } => key,
        }
    }
    fn read_only(&self, input: &LogInput) -> bool {
        matches!(input, LogInput::Read { .. } | LogInput::Poll { .. })
    }
    fn describe(&self, input: &LogInput, output: Option<&LogOutput>) -> String {
        match (input, output) {
            (LogInput::Append { key, value }, Some(LogOutput::Appended(o))) => {
                format!("append(k{key}, {value}) -> {o}")
            }
            (LogInput::Append { key, value }, _) => format!("append(k{key}, {value}) -> ?"),
            (LogInput::Read { key }, Some(LogOutput::Read(v))) => format!("read(k{key}) -> {v:?}"),
            (LogInput::Read { key }, _) => format!("read(k{key}) -> ?"),
            (LogInput::Poll { key, from }, Some(LogOutput::Read(v))) => format!("poll(k{key}, from {from}) -> {v:?}"),
            (LogInput::Poll { key, from }, _) => format!("poll(k{key}, from {from}) -> ?"),
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

    #[test]
    fn a_poll_returns_consecutive_values_from_its_offset() {
        let s = vec![7, 8, 9];
        let poll = |from, v: Vec<u64>| Log.step(&s, &LogInput::Poll { key: 0, from }, Some(&LogOutput::Read(v)));
        assert!(poll(1, vec![8, 9]).is_some());
        assert!(poll(1, vec![8]).is_some());
        assert!(poll(3, vec![]).is_some());
        assert!(poll(1, vec![9]).is_none(), "a gap");
        assert!(poll(2, vec![9, 10]).is_none(), "past the end");
        assert!(poll(4, vec![]).is_none(), "an offset the log has not reached");
    }
}
