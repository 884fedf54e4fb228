//! Reading a JSON object field by field, with serde's own messages. For
//! tagged and flattened types (a fault's `action`, a workload's `kind`, a
//! topic's settings beside its name): serde's derive for those buffers the
//! object and compiles every reader again for the buffer, where this reads
//! each field with the JSON-value reader the engine already has. About
//! 10 KB of the browser build gzipped for faults alone.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

pub type Error = serde_json::Error;

/// An object's fields not read yet.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// The object `d` holds; `what` names it if it is not an object.
    pub fn of<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Fields, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(D::Error::custom(format!("expected {what} (a JSON object), got {other}"))),
        }
    }

    fn value<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
        serde_json::from_value(v)
    }

    pub fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<T, Error> {
        Self::value(self.0.remove(key).ok_or_else(|| Error::missing_field(key))?)
    }

    /// `default()` if absent (as serde's `#[serde(default)]`).
    pub fn or<T: DeserializeOwned>(&mut self, key: &str, default: impl FnOnce() -> T) -> Result<T, Error> {
        self.0.remove(key).map_or_else(|| Ok(default()), Self::value)
    }

    /// `T`'s default if absent.
    pub fn optional<T: DeserializeOwned + Default>(&mut self, key: &str) -> Result<T, Error> {
        self.or(key, T::default)
    }

    /// Fails on a field not read (`expected`: the fields there are).
    pub fn done(self, expected: &'static [&'static str]) -> Result<(), Error> {
        match self.0.keys().next() {
            Some(k) => Err(Error::unknown_field(k, expected)),
            None => Ok(()),
        }
    }

    /// The fields not read, as one `T` (a flattened struct).
    pub fn rest<T: DeserializeOwned>(self) -> Result<T, Error> {
        Self::value(Value::Object(self.0))
    }
}
