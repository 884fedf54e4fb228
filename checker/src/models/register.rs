//! A read/write/compare-and-set register per key (etcd's, Jepsen's
//! `cas-register`). Values are whole numbers; a key starts absent (nil).
//!
//! A compare-and-set that reports failure (Jepsen's `:fail :cas`) did run:
//! it saw a value other than `from`, so its output is `Cas(false)` and it
//! constrains the order, as in Porcupine. An indeterminate one takes effect
//! if the value matches, wherever it is placed.

use crate::model::Model;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    Read { key: u64 },
    Write { key: u64, value: u64 },
    Cas { key: u64, from: u64, to: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// What a read returned (`None`: absent).
    Read(Option<u64>),
    Write,
    /// Whether a compare-and-set swapped.
    Cas(bool),
}

impl RegisterInput {
    pub fn key(&self) -> u64 {
        match *self {
            RegisterInput::Read { key } | RegisterInput::Write { key, .. } | RegisterInput::Cas { key, .. } => key,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

impl Model for Register {
    type State = Option<u64>;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Option<u64> {
        None
    }

    #[inline]
    fn step(&self, state: &Option<u64>, input: &RegisterInput, output: Option<&RegisterOutput>) -> Option<Option<u64>> {
        match (*input, output) {
            (RegisterInput::Read { .. }, None) => Some(*state),
            (RegisterInput::Read { .. }, Some(RegisterOutput::Read(v))) => (v == state).then_some(*state),
            (RegisterInput::Write { value, .. }, None | Some(RegisterOutput::Write)) => Some(Some(value)),
            (RegisterInput::Cas { from, to, .. }, None) => Some(if *state == Some(from) { Some(to) } else { *state }),
            (RegisterInput::Cas { from, to, .. }, Some(&RegisterOutput::Cas(swapped))) => {
                match (*state == Some(from), swapped) {
                    (true, true) => Some(Some(to)),
                    (false, false) => Some(*state),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn partition(&self, input: &RegisterInput) -> u64 {
        input.key()
    }

    fn read_only(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Read { .. })
    }

    fn overwrites(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Write { .. })
    }

    fn describe(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let v = |v: Option<u64>| v.map_or("nil".to_string(), |v| v.to_string());
        match (input, output) {
            (RegisterInput::Read { key }, Some(RegisterOutput::Read(r))) => format!("read(k{key}) -> {}", v(*r)),
            (RegisterInput::Read { key }, _) => format!("read(k{key}) -> ?"),
            (RegisterInput::Write { key, value }, _) => format!("write(k{key}, {value})"),
            (RegisterInput::Cas { key, from, to }, o) => format!(
                "cas(k{key}, {from}, {to}) -> {}",
                match o {
                    Some(RegisterOutput::Cas(true)) => "ok",
                    Some(RegisterOutput::Cas(false)) => "fail",
                    _ => "?",
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegisterInput::*;
    use RegisterOutput as O;

    #[test]
    fn steps_like_a_register() {
        let m = Register;
        assert_eq!(m.step(&None, &Read { key: 0 }, Some(&O::Read(None))), Some(None));
        assert_eq!(m.step(&Some(1), &Read { key: 0 }, Some(&O::Read(None))), None);
        assert_eq!(m.step(&Some(1), &Read { key: 0 }, None), Some(Some(1)));
        assert_eq!(m.step(&None, &Write { key: 0, value: 4 }, Some(&O::Write)), Some(Some(4)));
        assert_eq!(m.step(&Some(1), &Cas { key: 0, from: 1, to: 2 }, Some(&O::Cas(true))), Some(Some(2)));
        assert_eq!(m.step(&Some(1), &Cas { key: 0, from: 1, to: 2 }, Some(&O::Cas(false))), None);
        assert_eq!(m.step(&Some(3), &Cas { key: 0, from: 1, to: 2 }, Some(&O::Cas(false))), Some(Some(3)));
        assert_eq!(m.step(&Some(3), &Cas { key: 0, from: 1, to: 2 }, Some(&O::Cas(true))), None);
        assert_eq!(m.step(&Some(1), &Cas { key: 0, from: 1, to: 2 }, None), Some(Some(2)));
        assert_eq!(m.step(&Some(3), &Cas { key: 0, from: 1, to: 2 }, None), Some(Some(3)));
        // An output of the wrong kind never fits.
        assert_eq!(m.step(&None, &Write { key: 0, value: 4 }, Some(&O::Cas(true))), None);
        assert_eq!(m.describe(&Cas { key: 2, from: 1, to: 2 }, Some(&O::Cas(false))), "cas(k2, 1, 2) -> fail");
    }
}
