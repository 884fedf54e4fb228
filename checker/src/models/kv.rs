//! A key-value map of strings: get, put, append (concatenates) and delete.
//! Each key is an independent object: the model partitions by key, and its
//! state is one key's value.

use crate::model::Model;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    Get { key: u64 },
    Put { key: u64, value: String },
    Append { key: u64, value: String },
    Delete { key: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// What a get returned (`None`: absent).
    Get(Option<String>),
    Done,
}

impl KvInput {
    pub fn key(&self) -> u64 {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } | KvInput::Delete { key } => {
                *key
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Kv;

impl Model for Kv {
    type State = Option<String>;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> Option<String> {
        None
    }

    fn step(&self, state: &Option<String>, input: &KvInput, output: Option<&KvOutput>) -> Option<Option<String>> {
        match (input, output) {
            (KvInput::Get { .. }, None) => Some(state.clone()),
            (KvInput::Get { .. }, Some(KvOutput::Get(v))) => (v == state).then(|| state.clone()),
            (KvInput::Get { .. }, Some(KvOutput::Done)) => None,
            (_, Some(KvOutput::Get(_))) => None,
            (KvInput::Put { value, .. }, _) => Some(Some(value.clone())),
            (KvInput::Append { value, .. }, _) => {
                let mut s = state.clone().unwrap_or_default();
                s.push_str(value);
                Some(Some(s))
            }
            (KvInput::Delete { .. }, _) => Some(None),
        }
    }

    fn partition(&self, input: &KvInput) -> u64 {
        input.key()
    }

    fn read_only(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    fn overwrites(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Put { .. } | KvInput::Delete { .. })
    }

    fn describe(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        match (input, output) {
            (KvInput::Get { key }, Some(KvOutput::Get(Some(v)))) => format!("get(k{key}) -> {v:?}"),
            (KvInput::Get { key }, Some(KvOutput::Get(None))) => format!("get(k{key}) -> nil"),
            (KvInput::Get { key }, _) => format!("get(k{key}) -> ?"),
            (KvInput::Put { key, value }, _) => format!("put(k{key}, {value:?})"),
            (KvInput::Append { key, value }, _) => format!("append(k{key}, {value:?})"),
            (KvInput::Delete { key }, _) => format!("delete(k{key})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_like_a_map() {
        let m = Kv;
        let s = |v: &str| Some(v.to_string());
        assert_eq!(m.step(&None, &KvInput::Append { key: 1, value: "x".into() }, None), Some(s("x")));
        assert_eq!(
            m.step(&s("x"), &KvInput::Append { key: 1, value: "y".into() }, Some(&KvOutput::Done)),
            Some(s("xy"))
        );
        assert_eq!(m.step(&s("xy"), &KvInput::Get { key: 1 }, Some(&KvOutput::Get(s("xy")))), Some(s("xy")));
        assert_eq!(m.step(&s("xy"), &KvInput::Get { key: 1 }, Some(&KvOutput::Get(s("x")))), None);
        assert_eq!(m.step(&s("xy"), &KvInput::Delete { key: 1 }, None), Some(None));
        assert_eq!(m.step(&None, &KvInput::Put { key: 1, value: "z".into() }, Some(&KvOutput::Get(None))), None);
        assert_eq!(m.partition(&KvInput::Delete { key: 9 }), 9);
    }
}
