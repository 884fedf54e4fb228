//! What the lab keeps in the browser's `localStorage`, so that a reload or
//! a closed tab does not lose the work: the scenario (with the faults
//! applied by hand: `Simulation::replay_scenario()`) and the moment of the
//! run, under the key [`WORK_KEY`], as
//!
//! ```json
//! {"version":1,"scenario":{...},"at_ns":12000000000,"saved_at_ms":1732300000000}
//! ```
//!
//! `saved_at_ms` (milliseconds since 1970, `Date.now()`) is optional.
//! Unknown fields are ignored; a newer `version` is refused with a message
//! saying so.
//!
//! **A stored value that does not decode is never overwritten silently.**
//! [`load_work`] copies it to a backup key (`clusterlab.work.unreadable.1`
//! to `.8`) before anything else, and [`save_work`] does the same before it
//! writes, refusing to write if the value cannot be kept aside. The logic
//! runs against the small [`KeyValue`] trait, so it is tested natively; in
//! the browser, `web_sys::Storage` implements it (wasm32 only).

use engine::scenario::{FORMAT_VERSION, MAX_SCENARIO_BYTES};
use engine::{Scenario, ScenarioError};
use serde::Serialize;
use std::fmt;

/// The envelope format this Cluster Lab writes and the newest it reads.
pub const WORK_VERSION: u64 = 1;
/// The `localStorage` key of the work.
pub const WORK_KEY: &str = "clusterlab.work";
/// Backup keys are this, a dot and 1 to [`BACKUP_SLOTS`].
pub const BACKUP_KEY_PREFIX: &str = "clusterlab.work.unreadable";
pub const BACKUP_SLOTS: usize = 8;
/// The largest envelope read: a scenario at its limit plus room for the
/// envelope's own fields.
pub const MAX_WORK_BYTES: usize = MAX_SCENARIO_BYTES + 1024;

/// The lab's work, as kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Work {
    pub scenario: Scenario,
    /// The simulated time, in nanoseconds, the run had reached.
    pub at_ns: u64,
    /// When it was saved, in milliseconds since 1970 (`Date.now()`).
    pub saved_at_ms: Option<u64>,
    /// A scenario still being built (the editor's draft, which cannot run
    /// yet): kept as it is, checked for its shape but not as a whole.
    pub draft: bool,
}

#[derive(Serialize)]
struct Envelope<'a> {
    version: u64,
    scenario: &'a Scenario,
    at_ns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    draft: bool,
}

/// Why kept work could not be read. `Display` says it in a plain sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AutosaveError {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    NotJson(String),
    NewerFormat {
        version: u64,
    },
    /// The envelope's or the engine's refusal, with the path.
    Invalid(ScenarioError),
}

impl fmt::Display for AutosaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutosaveError::TooLarge { bytes, limit } => {
                write!(f, "the saved work is {bytes} bytes; at most {limit} bytes are read")
            }
            AutosaveError::NotJson(e) => write!(f, "the saved work is not valid JSON: {e}"),
            AutosaveError::NewerFormat { version } => write!(
                f,
                "the work was saved by a newer Cluster Lab (format version {version}); this one reads version {WORK_VERSION}"
            ),
            AutosaveError::Invalid(e) => write!(f, "the saved work is not valid: {e}"),
        }
    }
}

impl std::error::Error for AutosaveError {}

/// The work as the text to store (minified JSON).
pub fn encode_work(work: &Work) -> String {
    serde_json::to_string(&Envelope {
        version: WORK_VERSION,
        scenario: &work.scenario,
        at_ns: work.at_ns,
        saved_at_ms: work.saved_at_ms,
        draft: work.draft,
    })
    .expect("a scenario always serialises")
}

/// Reads stored text back, checking size, JSON, version, then the
/// scenario (the engine's messages, with their paths).
pub fn decode_work(text: &str) -> Result<Work, AutosaveError> {
    if text.len() > MAX_WORK_BYTES {
        return Err(AutosaveError::TooLarge { bytes: text.len(), limit: MAX_WORK_BYTES });
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| AutosaveError::NotJson(e.to_string()))?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(invalid("", "the saved work must be a JSON object"));
    };
    match obj.get("version") {
        None => return Err(invalid("version", format!("missing; this Cluster Lab reads version {WORK_VERSION}"))),
        Some(v) => match v.as_u64() {
            Some(WORK_VERSION) => {}
            Some(n) if n > WORK_VERSION => return Err(AutosaveError::NewerFormat { version: n }),
            _ => return Err(invalid("version", format!("must be {WORK_VERSION}, got {v}"))),
        },
    }
    let scenario = obj.remove("scenario").ok_or_else(|| invalid("scenario", "missing"))?;
    // A scenario of a newer format inside: "newer", like a newer envelope.
    if let Some(n) = scenario.get("version").and_then(serde_json::Value::as_u64) {
        if n > u64::from(FORMAT_VERSION) {
            return Err(AutosaveError::NewerFormat { version: n });
        }
    }
    let draft = match obj.get("draft") {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(v) => return Err(invalid("draft", format!("must be true or false, got {v}"))),
    };
    let scenario = if draft {
        // Its shape only: a draft is incomplete by nature (the editor says
        // what it still needs).
        Scenario::from_value_unvalidated(scenario).map_err(|e| invalid("scenario", e.to_string()))?
    } else {
        Scenario::from_value(scenario).map_err(AutosaveError::Invalid)?
    };
    let at_ns = whole(&obj, "at_ns")?.ok_or_else(|| invalid("at_ns", "missing"))?;
    let saved_at_ms = whole(&obj, "saved_at_ms")?;
    Ok(Work { scenario, at_ns, saved_at_ms, draft })
}

fn invalid(path: &str, message: impl Into<String>) -> AutosaveError {
    AutosaveError::Invalid(ScenarioError::new(path, message))
}

/// An optional whole-number field.
fn whole(obj: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<Option<u64>, AutosaveError> {
    match obj.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| invalid(key, format!("must be a whole number, got {v}"))),
    }
}

/// The little of `localStorage` the lab uses.
pub trait KeyValue {
    fn get(&self, key: &str) -> Option<String>;
    /// Fails when the storage is full or forbidden; the message says why.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String>;
}

/// What [`load_work`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Loaded {
    Nothing,
    Restored(Box<Work>),
    /// Unreadable; a copy is kept under `backup_key` (the original stays
    /// at [`WORK_KEY`] until the next save).
    SetAside {
        error: AutosaveError,
        backup_key: String,
    },
    /// Unreadable, and no copy could be made (`why`): it stays at
    /// [`WORK_KEY`], and [`save_work`] will refuse to overwrite it.
    Stuck {
        error: AutosaveError,
        why: String,
    },
}

/// Why [`save_work`] wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveError {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    /// The stored value is unreadable and could not be kept aside.
    WouldLoseUnreadable {
        why: String,
    },
    /// The storage refused (full, or forbidden in this browser mode).
    Storage(String),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::TooLarge { bytes, limit } => {
                write!(f, "the work is too large to keep in the browser ({bytes} bytes; the limit is {limit}); export it as a file")
            }
            SaveError::WouldLoseUnreadable { why } => write!(
                f,
                "the work is not kept: the browser holds earlier work this Cluster Lab cannot read, and it could not be set aside ({why})"
            ),
            SaveError::Storage(why) => write!(f, "the browser refused to keep the work: {why}"),
        }
    }
}

impl std::error::Error for SaveError {}

/// The backup key for `raw`: one that already holds exactly `raw`, else
/// the first free one. `Err` when all [`BACKUP_SLOTS`] hold other values.
pub fn backup_key(store: &impl KeyValue, raw: &str) -> Result<(String, bool), String> {
    let keys = (1..=BACKUP_SLOTS).map(|i| format!("{BACKUP_KEY_PREFIX}.{i}"));
    let mut free = None;
    for key in keys {
        match store.get(&key) {
            Some(held) if held == raw => return Ok((key, true)),
            Some(_) => {}
            None => {
                free.get_or_insert(key);
            }
        }
    }
    free.map(|k| (k, false)).ok_or_else(|| format!("all {BACKUP_SLOTS} backup keys are in use"))
}

/// Copies `raw` to a backup key (unless one holds it already).
fn set_aside(store: &mut impl KeyValue, raw: &str) -> Result<String, String> {
    let (key, kept) = backup_key(store, raw)?;
    if !kept {
        store.set(&key, raw)?;
    }
    Ok(key)
}

/// Reads the kept work; an unreadable value is copied aside first.
pub fn load_work(store: &mut impl KeyValue) -> Loaded {
    let Some(raw) = store.get(WORK_KEY) else { return Loaded::Nothing };
    match decode_work(&raw) {
        Ok(work) => Loaded::Restored(Box::new(work)),
        Err(error) => match set_aside(store, &raw) {
            Ok(backup_key) => Loaded::SetAside { error, backup_key },
            Err(why) => Loaded::Stuck { error, why },
        },
    }
}

/// Keeps the work. If the stored value is unreadable and not yet kept
/// aside, it is copied aside first; if that fails, nothing is written.
pub fn save_work(store: &mut impl KeyValue, work: &Work) -> Result<(), SaveError> {
    let text = encode_work(work);
    if text.len() > MAX_WORK_BYTES {
        return Err(SaveError::TooLarge { bytes: text.len(), limit: MAX_WORK_BYTES });
    }
    if let Some(current) = store.get(WORK_KEY) {
        if current != text && decode_work(&current).is_err() {
            set_aside(store, &current).map_err(|why| SaveError::WouldLoseUnreadable { why })?;
        }
    }
    store.set(WORK_KEY, &text).map_err(SaveError::Storage)
}

/// `localStorage`, in the browser.
#[cfg(target_arch = "wasm32")]
mod browser {
    use super::KeyValue;

    impl KeyValue for web_sys::Storage {
        fn get(&self, key: &str) -> Option<String> {
            self.get_item(key).ok().flatten()
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
            self.set_item(key, value).map_err(|e| {
                e.as_string()
                    .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
                    .unwrap_or_else(|| "storage error".to_string())
            })
        }
    }
}

/// The page's `localStorage`, if the browser allows it (it may not, in some
/// private modes).
#[cfg(target_arch = "wasm32")]
pub fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{self, EXAMPLES};
    use std::collections::BTreeMap;

    fn work(id: &str) -> Work {
        Work {
            draft: false,
            scenario: Scenario::from_json(examples::find(id).unwrap().json).unwrap(),
            at_ns: 7_500_000_000,
            saved_at_ms: Some(1_732_300_000_000),
        }
    }

    #[derive(Default)]
    struct Fake {
        map: BTreeMap<String, String>,
        /// Keys whose writes fail, as a full storage would.
        refuse: Vec<String>,
        writes: usize,
    }
    impl KeyValue for Fake {
        fn get(&self, key: &str) -> Option<String> {
            self.map.get(key).cloned()
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
            if self.refuse.iter().any(|k| k == key || k == "*") {
                return Err("QuotaExceededError".into());
            }
            self.writes += 1;
            self.map.insert(key.to_string(), value.to_string());
            Ok(())
        }
    }

    #[test]
    fn every_example_round_trips() {
        for ex in EXAMPLES {
            let w = Work { saved_at_ms: None, ..work(ex.id) };
            let text = encode_work(&w);
            assert!(!text.contains("saved_at_ms"));
            assert_eq!(decode_work(&text).unwrap_or_else(|e| panic!("{}: {e}", ex.id)), w);
        }
        let w = work("db-split-brain");
        let text = encode_work(&w);
        assert!(text.starts_with(r#"{"version":1,"scenario":{"#), "{text}");
        assert!(text.ends_with(r#","at_ns":7500000000,"saved_at_ms":1732300000000}"#), "{text}");
        assert_eq!(decode_work(&text).unwrap(), w);
    }

    fn envelope(w: &Work) -> serde_json::Value {
        serde_json::from_str(&encode_work(w)).unwrap()
    }

    #[test]
    fn each_error_kind() {
        let w = work("link-cut");
        let big = " ".repeat(MAX_WORK_BYTES + 1);
        assert_eq!(
            decode_work(&big),
            Err(AutosaveError::TooLarge { bytes: MAX_WORK_BYTES + 1, limit: MAX_WORK_BYTES })
        );
        let e = decode_work("{\"version\":1,").unwrap_err();
        assert!(matches!(&e, AutosaveError::NotJson(m) if m.contains("line 1")), "{e:?}");
        assert!(e.to_string().starts_with("the saved work is not valid JSON: "), "{e}");

        let mut v = envelope(&w);
        v["version"] = 2.into();
        v["tabs"] = serde_json::json!([]);
        let e = decode_work(&v.to_string()).unwrap_err();
        assert_eq!(e, AutosaveError::NewerFormat { version: 2 });
        assert_eq!(
            e.to_string(),
            "the work was saved by a newer Cluster Lab (format version 2); this one reads version 1"
        );
        let mut v = envelope(&w);
        v["scenario"]["version"] = 3.into();
        assert_eq!(decode_work(&v.to_string()), Err(AutosaveError::NewerFormat { version: 3 }));

        type Change = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (Box::new(|v| v["version"] = 0.into()), "version", "must be 1, got 0"),
            (Box::new(|v| v["version"] = "1".into()), "version", "must be 1, got \"1\""),
            (
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("version");
                }),
                "version",
                "missing; this Cluster Lab reads version 1",
            ),
            (
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("scenario");
                }),
                "scenario",
                "missing",
            ),
            (
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("at_ns");
                }),
                "at_ns",
                "missing",
            ),
            (Box::new(|v| v["at_ns"] = (-5).into()), "at_ns", "must be a whole number, got -5"),
            (Box::new(|v| v["saved_at_ms"] = "today".into()), "saved_at_ms", "must be a whole number, got \"today\""),
            (Box::new(|v| *v = serde_json::json!(3)), "", "the saved work must be a JSON object"),
        ];
        for (change, path, message) in cases {
            let mut v = envelope(&w);
            change(&mut v);
            assert_eq!(decode_work(&v.to_string()), Err(invalid(path, message)), "{v}");
        }
        // The engine's own message, with its path.
        let mut v = envelope(&w);
        v["scenario"]["nodes"][1]["retries"] = 101.into();
        let e = decode_work(&v.to_string()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the saved work is not valid: nodes[1].retries: retries must be at most 100, got 101"
        );
        // Unknown fields and a null saved_at_ms are fine.
        let mut v = envelope(&w);
        v["panel"] = "metrics".into();
        v["saved_at_ms"] = serde_json::Value::Null;
        assert_eq!(decode_work(&v.to_string()).unwrap(), Work { saved_at_ms: None, ..w });
    }

    #[test]
    fn save_then_load() {
        let mut store = Fake::default();
        assert_eq!(load_work(&mut store), Loaded::Nothing);
        let w = work("raft-kv-five");
        save_work(&mut store, &w).unwrap();
        assert_eq!(load_work(&mut store), Loaded::Restored(Box::new(w.clone())));
        let w2 = Work { at_ns: 1, ..w };
        save_work(&mut store, &w2).unwrap();
        assert_eq!(load_work(&mut store), Loaded::Restored(Box::new(w2)));
        assert_eq!(store.map.len(), 1, "no backups of readable work");
    }

    #[test]
    fn unreadable_work_is_set_aside_once_and_never_lost() {
        let mut store = Fake::default();
        let broken = "{\"version\":1,\"scenario\":{\"version\":1,\"nodes\":[]},\"at_ns\":0}";
        store.map.insert(WORK_KEY.into(), broken.into());
        let Loaded::SetAside { error, backup_key } = load_work(&mut store) else { panic!() };
        assert_eq!(backup_key, "clusterlab.work.unreadable.1");
        assert_eq!(error, invalid("nodes", "a scenario needs at least one node"));
        assert_eq!(store.map[&backup_key], broken);
        // Loading again does not make a second copy.
        let writes = store.writes;
        assert!(matches!(load_work(&mut store), Loaded::SetAside { backup_key, .. } if backup_key.ends_with(".1")));
        assert_eq!(store.writes, writes);
        // Saving replaces the original, the copy stays.
        let w = work("link-cut");
        save_work(&mut store, &w).unwrap();
        assert_eq!(load_work(&mut store), Loaded::Restored(Box::new(w.clone())));
        assert_eq!(store.map[&backup_key], broken);

        // Another unreadable value, never loaded: save keeps it aside too,
        // in the next free slot.
        let other = "{\"version\":9}";
        store.map.insert(WORK_KEY.into(), other.into());
        save_work(&mut store, &w).unwrap();
        assert_eq!(store.map["clusterlab.work.unreadable.2"], other);
        assert_eq!(store.map[&backup_key], broken);
    }

    #[test]
    fn when_nothing_can_be_set_aside_nothing_is_overwritten() {
        let mut store = Fake::default();
        for i in 1..=BACKUP_SLOTS {
            store.map.insert(format!("{BACKUP_KEY_PREFIX}.{i}"), format!("old {i}"));
        }
        store.map.insert(WORK_KEY.into(), "not json".into());
        let Loaded::Stuck { error, why } = load_work(&mut store) else { panic!() };
        assert!(matches!(error, AutosaveError::NotJson(_)));
        assert_eq!(why, "all 8 backup keys are in use");
        let e = save_work(&mut store, &work("link-cut")).unwrap_err();
        assert_eq!(e, SaveError::WouldLoseUnreadable { why: why.clone() });
        assert!(e.to_string().contains("could not be set aside"), "{e}");
        assert_eq!(store.map[WORK_KEY], "not json");

        // A full storage: the copy fails, the original stays.
        let mut store = Fake { refuse: vec![format!("{BACKUP_KEY_PREFIX}.1")], ..Default::default() };
        store.map.insert(WORK_KEY.into(), "not json".into());
        assert!(matches!(load_work(&mut store), Loaded::Stuck { why, .. } if why == "QuotaExceededError"));
        assert!(save_work(&mut store, &work("link-cut")).is_err());
        assert_eq!(store.map[WORK_KEY], "not json");
    }

    #[test]
    fn storage_refusals_and_size_are_reported() {
        let mut store = Fake { refuse: vec!["*".into()], ..Default::default() };
        let e = save_work(&mut store, &work("link-cut")).unwrap_err();
        assert_eq!(e, SaveError::Storage("QuotaExceededError".into()));
        assert_eq!(e.to_string(), "the browser refused to keep the work: QuotaExceededError");

        let mut w = work("link-cut");
        w.scenario.description = "x".repeat(MAX_WORK_BYTES);
        let mut store = Fake::default();
        assert!(matches!(save_work(&mut store, &w), Err(SaveError::TooLarge { .. })));
        assert!(store.map.is_empty());
    }

    #[test]
    fn a_draft_is_kept_as_it_is_and_only_its_shape_is_checked() {
        // A client with no target: the engine refuses to run it.
        let mut w = work("web-three-servers");
        w.scenario.nodes.retain(|n| n.name != "lb");
        w.scenario.links.retain(|l| !l.between.contains(&"lb".to_string()));
        assert!(w.scenario.validate().is_err());
        let text = encode_work(&Work { draft: true, ..w.clone() });
        assert!(text.contains("\"draft\":true"));
        assert_eq!(decode_work(&text).unwrap(), Work { draft: true, ..w.clone() });
        // Not marked as a draft, the same work is refused with the reason.
        assert!(matches!(decode_work(&encode_work(&w)), Err(AutosaveError::Invalid(_))));
        // A draft of the wrong shape is refused too.
        let bad = text.replace("\"type\":\"client\"", "\"type\":\"toaster\"");
        assert!(matches!(decode_work(&bad), Err(AutosaveError::Invalid(_))), "{bad}");
        assert!(matches!(decode_work(&text.replace("\"draft\":true", "\"draft\":1")), Err(AutosaveError::Invalid(_))));
    }
}
