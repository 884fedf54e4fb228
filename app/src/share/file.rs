//! Export and import of a scenario as a JSON file: the same document the
//! CLI runs (`docs/scenario-format.md`).
//!
//! Import checks in this order, and says the first problem: the size
//! (before reading, if the caller knows it: [`check_file_size`]), that the
//! text is JSON, the `version` (read from the raw JSON before anything
//! else, so a file from a newer Cluster Lab says so instead of failing on
//! a field this one does not know), then the engine's checks, whose
//! messages name the field (`nodes[2].servers[0].weight: ...`).

use engine::scenario::{FORMAT_VERSION, MAX_SCENARIO_BYTES};
use engine::{Scenario, ScenarioError};
use std::fmt;

/// Why a file was not imported. `Display` says it in a plain sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportError {
    TooLarge {
        bytes: u64,
        limit: usize,
    },
    /// serde_json's message, with line and column.
    NotJson(String),
    /// A scenario format newer than [`FORMAT_VERSION`].
    NewerFormat {
        version: u64,
    },
    /// The engine's refusal: the path of the field and what is wrong.
    Invalid(ScenarioError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::TooLarge { bytes, limit } => {
                write!(f, "the file is {bytes} bytes; a scenario may be at most {limit} bytes")
            }
            ImportError::NotJson(e) => write!(f, "the file is not valid JSON: {e}"),
            ImportError::NewerFormat { version } => write!(
                f,
                "this scenario uses a newer format (version {version}) than this Cluster Lab understands (version {FORMAT_VERSION}); open it with a newer Cluster Lab"
            ),
            ImportError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// The scenario as a file: pretty JSON, ending with a newline.
pub fn export_scenario(scenario: &Scenario) -> String {
    let mut text = scenario.to_json_pretty();
    text.push('\n');
    text
}

/// A file name for [`export_scenario`]'s text: the scenario's name made
/// safe for any file system (`Web tier: 3 servers` gives
/// `web-tier-3-servers.json`), or `scenario.json`.
pub fn export_file_name(scenario: &Scenario) -> String {
    let mut stem = String::new();
    for c in scenario.name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
        if stem.len() >= 60 {
            break;
        }
    }
    let stem = stem.trim_end_matches('-');
    format!("{}.json", if stem.is_empty() { "scenario" } else { stem })
}

/// Refuses a file by its size before it is read (the browser's
/// `File.size`).
pub fn check_file_size(bytes: u64) -> Result<(), ImportError> {
    if bytes > MAX_SCENARIO_BYTES as u64 {
        return Err(ImportError::TooLarge { bytes, limit: MAX_SCENARIO_BYTES });
    }
    Ok(())
}

/// Reads a scenario file's text. A UTF-8 byte order mark (some editors
/// write one) is skipped.
pub fn import_scenario(text: &str) -> Result<Scenario, ImportError> {
    check_file_size(text.len() as u64)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ImportError::NotJson(e.to_string()))?;
    if let Some(version) = value.get("version").and_then(serde_json::Value::as_u64) {
        if version > u64::from(FORMAT_VERSION) {
            return Err(ImportError::NewerFormat { version });
        }
    }
    // Everything else (a missing or wrong version, a non-object) is the
    // engine's to say.
    Scenario::from_value(value).map_err(ImportError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{self, EXAMPLES};

    #[test]
    fn every_example_exports_and_imports_unchanged() {
        for ex in EXAMPLES {
            let scenario = Scenario::from_json(ex.json).unwrap();
            let text = export_scenario(&scenario);
            assert!(text.starts_with("{\n") && text.ends_with("}\n"), "{}", ex.id);
            assert_eq!(import_scenario(&text).unwrap_or_else(|e| panic!("{}: {e}", ex.id)), scenario, "{}", ex.id);
            // The example files themselves import too.
            assert_eq!(import_scenario(ex.json).unwrap(), scenario, "{}", ex.id);
        }
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let json = examples::find("link-cut").unwrap().json;
        let with_bom = format!("\u{feff}{json}");
        assert_eq!(import_scenario(&with_bom).unwrap(), Scenario::from_json(json).unwrap());
    }

    #[test]
    fn too_large_says_the_size() {
        let big = format!("{{\"version\": 1, \"description\": \"{}\"}}", "a".repeat(MAX_SCENARIO_BYTES));
        let e = import_scenario(&big).unwrap_err();
        assert_eq!(e, ImportError::TooLarge { bytes: big.len() as u64, limit: MAX_SCENARIO_BYTES });
        assert_eq!(e.to_string(), format!("the file is {} bytes; a scenario may be at most 1048576 bytes", big.len()));
        assert_eq!(check_file_size(MAX_SCENARIO_BYTES as u64), Ok(()));
        assert_eq!(check_file_size(5 << 30), Err(ImportError::TooLarge { bytes: 5 << 30, limit: MAX_SCENARIO_BYTES }));
    }

    #[test]
    fn not_json_says_where() {
        let e = import_scenario("{\n  \"version\": 1,\n  \"nodes\": [,]\n}").unwrap_err();
        let ImportError::NotJson(msg) = &e else { panic!("{e:?}") };
        assert!(msg.contains("line 3"), "{msg}");
        assert!(e.to_string().starts_with("the file is not valid JSON: "), "{e}");
        assert!(matches!(import_scenario(""), Err(ImportError::NotJson(_))));
    }

    #[test]
    fn a_newer_format_says_newer_not_unknown_field() {
        // A version-2 file with a field version 1 does not know.
        let mut value: serde_json::Value = serde_json::from_str(examples::find("link-cut").unwrap().json).unwrap();
        value["version"] = 2.into();
        value["regions"] = serde_json::json!(["eu", "us"]);
        let e = import_scenario(&value.to_string()).unwrap_err();
        assert_eq!(e, ImportError::NewerFormat { version: 2 });
        assert_eq!(
            e.to_string(),
            "this scenario uses a newer format (version 2) than this Cluster Lab understands (version 1); open it with a newer Cluster Lab"
        );
    }

    #[test]
    fn the_engines_messages_come_through_with_their_paths() {
        let base: serde_json::Value = serde_json::from_str(examples::find("link-cut").unwrap().json).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = base.clone();
            f(&mut v);
            import_scenario(&v.to_string()).unwrap_err()
        };
        let e = with(&|v| v["nodes"][1]["balance"] = "randomly".into());
        let ImportError::Invalid(se) = &e else { panic!("{e:?}") };
        assert_eq!(se.path, "nodes[1].balance");
        assert!(e.to_string().starts_with("nodes[1].balance: `randomly` is not a balance algorithm"), "{e}");

        let e = with(&|v| v["cpu"] = 4.into());
        assert!(e.to_string().contains("unknown field `cpu`"), "{e}");

        let e = with(&|v| v["version"] = 0.into());
        assert_eq!(e, ImportError::Invalid(ScenarioError::new("version", "must be 1, got 0")));
        let e = with(&|v| {
            v.as_object_mut().unwrap().remove("version");
        });
        assert!(matches!(&e, ImportError::Invalid(se) if se.path == "version"), "{e:?}");
        assert_eq!(
            import_scenario("[1]").unwrap_err(),
            ImportError::Invalid(ScenarioError::new("", "a scenario must be a JSON object"))
        );
    }

    #[test]
    fn file_names_are_safe() {
        let mut s = Scenario::from_json(examples::find("link-cut").unwrap().json).unwrap();
        s.name = "Web tier: 3 servers / a cut link!".into();
        assert_eq!(export_file_name(&s), "web-tier-3-servers-a-cut-link.json");
        s.name = "../../etc/passwd".into();
        assert_eq!(export_file_name(&s), "etc-passwd.json");
        s.name = "   ".into();
        assert_eq!(export_file_name(&s), "scenario.json");
        s.name = "x".repeat(500);
        assert_eq!(export_file_name(&s).len(), 60 + ".json".len());
    }
}
