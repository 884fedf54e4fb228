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
pub struct Fields {
    map: Map<String, Value>,
    /// The field an error was about, for the path in a message
    /// (`faults[2].loss`): serde's path ends at the object.
    pub failed: Option<String>,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Fields {
        Fields { map, failed: None }
    }

    /// The object `d` holds; `what` names it if it is not an object.
    pub fn of<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Fields, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => Ok(Fields::new(map)),
            other => Err(D::Error::custom(format!("expected {what} (a JSON object), got {other}"))),
        }
    }

    fn value<T: DeserializeOwned>(&mut self, key: &str, v: Value) -> Result<T, Error> {
        serde_json::from_value(v).inspect_err(|_| self.failed = Some(key.to_string()))
    }

    pub fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<T, Error> {
        match self.map.remove(key) {
            Some(v) => self.value(key, v),
            None => {
                self.failed = Some(key.to_string());
                Err(Error::missing_field(key))
            }
        }
    }

    /// `default()` if absent (as serde's `#[serde(default)]`).
    pub fn or<T: DeserializeOwned>(&mut self, key: &str, default: impl FnOnce() -> T) -> Result<T, Error> {
        match self.map.remove(key) {
            Some(v) => self.value(key, v),
            None => Ok(default()),
        }
    }

    /// `T`'s default if absent.
    pub fn optional<T: DeserializeOwned + Default>(&mut self, key: &str) -> Result<T, Error> {
        self.or(key, T::default)
    }

    /// Fails on a field not read (`expected`: the fields there are).
    pub fn done(&mut self, expected: &'static [&'static str]) -> Result<(), Error> {
        match self.map.keys().next() {
            Some(k) => {
                self.failed = Some(k.clone());
                Err(Error::unknown_field(k, expected))
            }
            None => Ok(()),
        }
    }

    /// The fields not read, as one `T` (a flattened struct).
    pub fn rest<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let map = std::mem::take(&mut self.map);
        serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
            self.failed = Some(e.path().to_string());
            e.into_inner()
        })
    }
}

/// What is wrong with the object `v` as `read` reads it, and in which
/// field: `(Some("loss"), "invalid type: ...")`. `None` when it reads, or
/// is not an object (the reader of the whole says so).
pub fn field_error<T>(
    v: &Value,
    read: impl FnOnce(&mut Fields) -> Result<T, Error>,
) -> Option<(Option<String>, String)> {
    let Value::Object(map) = v else { return None };
    let mut f = Fields::new(map.clone());
    let result = read(&mut f);
    result.err().map(|e| (f.failed, e.to_string()))
}
