//! A node's configuration as a form: a flat list of fields, one per value
//! of its scenario JSON, and [`set_field`], which changes one.
//!
//! Fields are found by walking the node's configuration as the scenario
//! file writes it (`serde_json::Value`), so labels are the keys of the
//! scenario format, which are the real system's own words (`inter`,
//! `maxmemory_policy`, `min_insync_replicas`). Paths are JSON paths inside
//! the node: `inter`, `default_server.rise`, `servers[0].weight`,
//! `backends[0].servers[1].name`.
//!
//! Every check is the engine's: [`set_field`] puts the text into the
//! document's JSON and reads it back with [`Scenario::from_value`], so a
//! wrong type, an unknown enum value (the message lists the allowed
//! ones), a range or a missing reference is reported with the engine's
//! message, tied to the field.
//!
//! Settings left at their default are not in the JSON; the fields the
//! engine accepts there are listed too (found by asking serde which keys it
//! expects), with `set: false` and an empty value. Typing into one sets
//! it; clearing a set optional field removes it (its default applies).

use super::util::{describe, index};
use super::EditError;
use engine::components::Kind;
use engine::scenario::ComponentSpec;
use engine::{Scenario, ScenarioError};
use serde_json::{Map, Value};
use std::fmt;

/// How a field is edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer or a decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// A duration in the scenario format: a number and a unit, `"2s"`,
    /// `"500ms"`, `"1.5s"` (units `ns`, `us`, `ms`, `s`, `m`, `h`).
    Duration,
    /// One of the listed values.
    Choice(Vec<String>),
    /// Names or words separated by commas (`kv1, kv2, kv3`).
    List,
    /// Any other text (a node name, a `balance` line).
    Text,
}

/// One field of the form.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Where it is in the node: `default_server.rise`, `servers[0].weight`.
    pub path: String,
    /// Its key in the scenario format: `rise`, `weight`.
    pub label: String,
    /// The object it belongs to (the path without the label): `""` for the
    /// node's own settings, `default_server`, `servers[0]`; for grouping.
    pub group: String,
    pub kind: FieldKind,
    /// The value as text, as the user would type it.
    pub value: String,
    /// False for a setting left at its default (not in the file).
    pub set: bool,
}

/// Why a field's new value was refused, for the UI to show next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub node: String,
    /// The field edited.
    pub path: String,
    /// What is wrong (the engine's message).
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}: {}", self.node, self.path, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Keys of a node that are not configuration.
const NOT_CONFIG: [&str; 3] = ["name", "pos", "type"];

/// A path inside a node's JSON: keys and array indexes.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        out.push(Seg::Key(key.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']')?;
            out.push(Seg::Index(rest.get(1..close)?.parse().ok()?));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(out)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The backquoted words after "expected" in a serde message: the allowed
/// variants of an enum, or the known fields of a struct.
fn expected_words(message: &str) -> Vec<String> {
    let Some((_, tail)) = message.split_once("expected") else { return Vec::new() };
    tail.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Reads `component` (with `type`) back through the engine's types.
fn reparse(component: &Value) -> Result<ComponentSpec, String> {
    serde_json::from_value::<ComponentSpec>(component.clone()).map_err(|e| e.to_string())
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.as_object_mut()?.get_mut(k),
        Seg::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// Serde's message when the setting at `path` (set or not) holds a string
/// no setting takes; `None` if there is no such slot or it is accepted.
fn string_refused(component: &Value, path: &[Seg]) -> Option<String> {
    let mut probe = component.clone();
    let (last, parent) = path.split_last()?;
    let slot = match (get_mut(&mut probe, parent)?, last) {
        (Value::Object(m), Seg::Key(k)) => m.entry(k.clone()).or_insert(Value::Null),
        (Value::Array(items), Seg::Index(i)) => items.get_mut(*i)?,
        _ => return None,
    };
    *slot = Value::String("\u{1}".into());
    reparse(&probe).err()
}

/// How the setting at `path` (set or not) is edited, as serde tells when
/// it is given a string no setting takes: an enum answers with its allowed
/// values, a list says it expects a sequence; anything else is text.
fn probed_kind(component: &Value, path: &[Seg]) -> FieldKind {
    match string_refused(component, path) {
        Some(m) if m.contains("expected a sequence") => FieldKind::List,
        Some(m) if m.contains("expected a boolean") => FieldKind::Bool,
        Some(m) if m.contains("unknown variant") => {
            let words = expected_words(&m);
            if words.is_empty() {
                FieldKind::Text
            } else {
                FieldKind::Choice(words)
            }
        }
        _ => FieldKind::Text,
    }
}

/// The keys the object at `path` accepts, if serde says (a struct with
/// `deny_unknown_fields`).
fn known_keys(component: &Value, path: &[Seg]) -> Vec<String> {
    let mut probe = component.clone();
    let Some(Value::Object(m)) = get_mut(&mut probe, path) else { return Vec::new() };
    m.insert("\u{1}".into(), Value::Null);
    match reparse(&probe) {
        Err(message) if message.contains("unknown field") => expected_words(&message),
        _ => Vec::new(),
    }
}

fn is_duration(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') && engine::Duration::parse(s).is_ok()
}

fn walk(component: &Value, v: &Value, prefix: &str, segs: &mut Vec<Seg>, out: &mut Vec<Field>) {
    let field = |kind: FieldKind, value: String| Field {
        path: prefix.to_string(),
        label: prefix.rsplit('.').next().unwrap_or(prefix).split('[').next().unwrap_or_default().to_string(),
        group: prefix.rsplit_once('.').map_or(String::new(), |(g, _)| g.to_string()),
        kind,
        value,
        set: true,
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if segs.is_empty() && NOT_CONFIG.contains(&k.as_str()) {
                    continue;
                }
                segs.push(Seg::Key(k.clone()));
                walk(component, x, &join(prefix, k), segs, out);
                segs.pop();
            }
            for k in known_keys(component, segs) {
                let not_config = segs.is_empty() && NOT_CONFIG.contains(&k.as_str());
                if !m.contains_key(&k) && !not_config {
                    segs.push(Seg::Key(k.clone()));
                    let kind = probed_kind(component, segs);
                    segs.pop();
                    out.push(Field {
                        path: join(prefix, &k),
                        label: k,
                        group: prefix.to_string(),
                        kind,
                        value: String::new(),
                        set: false,
                    });
                }
            }
        }
        Value::Array(items) if items.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let words: Vec<String> =
                items.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), String::from)).collect();
            out.push(field(FieldKind::List, words.join(", ")));
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                segs.push(Seg::Index(i));
                walk(component, x, &format!("{prefix}[{i}]"), segs, out);
                segs.pop();
            }
        }
        Value::Bool(b) => out.push(field(FieldKind::Bool, b.to_string())),
        Value::Number(n) => out.push(field(FieldKind::Number, n.to_string())),
        Value::String(s) if is_duration(s) => out.push(field(FieldKind::Duration, s.clone())),
        Value::String(s) => {
            let kind = probed_kind(component, segs);
            out.push(field(kind, s.clone()));
        }
        Value::Null => {}
    }
}

/// The form of node `node`: every value of its configuration, then the
/// settings left at their defaults.
pub fn fields(doc: &Scenario, node: &str) -> Result<Vec<Field>, EditError> {
    let i = index(doc, node)?;
    let component = engine::scenario::to_value(&doc.nodes[i].component);
    let mut out = Vec::new();
    walk(&component, &component, "", &mut Vec::new(), &mut out);
    Ok(out)
}

/// A Kafka cluster's controllers all describe the one cluster, and the
/// engine requires them to agree: a change to one controller's topic
/// settings (`min_insync_replicas`, `unclean_leader_election_enable`, ...)
/// is the cluster's, so it is made to every controller of its quorum.
fn share_cluster_settings(doc: &Scenario, value: &mut Value, i: usize, segs: &[Seg]) {
    let Some(Seg::Key(key)) = segs.first() else { return };
    if !matches!(key.as_str(), "topic" | "topics") || doc.nodes[i].component.kind() != Kind::KafkaController {
        return;
    }
    let node = &value["nodes"][i];
    let shared = node.get(key.as_str()).cloned();
    let quorum: Vec<String> =
        node["controllers"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    for (j, other) in doc.nodes.iter().enumerate() {
        if j == i || other.component.kind() != Kind::KafkaController || !quorum.contains(&other.name) {
            continue;
        }
        let Some(obj) = value["nodes"][j].as_object_mut() else { continue };
        match &shared {
            Some(v) => {
                obj.insert(key.clone(), v.clone());
            }
            None => {
                obj.remove(key.as_str());
            }
        }
    }
}

/// The value of field `path` of node `node` (`None`: not in the scenario,
/// so its default applies). For checks on a configuration (lesson goals).
pub fn value(doc: &Scenario, node: &str, path: &str) -> Result<Option<Value>, String> {
    let i = index(doc, node).map_err(|e| e.to_string())?;
    let segs = parse_path(path).ok_or_else(|| format!("`{path}` is not a field path"))?;
    let component = engine::scenario::to_value(&doc.nodes[i].component);
    let mut at = &component;
    for s in &segs {
        let next = match s {
            Seg::Key(k) => at.get(k),
            Seg::Index(n) => at.get(*n),
        };
        match next {
            Some(v) => at = v,
            None => return Ok(None),
        }
    }
    Ok(Some(at.clone()))
}

/// The text typed for a field, as JSON, given the value it replaces.
fn parse_text(old: Option<&Value>, text: &str) -> Result<Option<Value>, String> {
    let t = text.trim();
    match old {
        Some(Value::Array(_)) => Ok(Some(Value::Array(
            t.split(',').map(str::trim).filter(|w| !w.is_empty()).map(|w| Value::String(w.into())).collect(),
        ))),
        _ if t.is_empty() => Ok(None),
        Some(Value::Number(_)) => number(t).map(Some).ok_or_else(|| format!("`{t}` is not a number")),
        Some(Value::Bool(_)) => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Some(Value::Bool(true))),
            "false" | "no" | "off" => Ok(Some(Value::Bool(false))),
            _ => Err(format!("`{t}` is not true or false")),
        },
        Some(Value::String(_)) => Ok(Some(Value::String(t.into()))),
        Some(Value::Object(_)) => Err("this is a group of settings; edit its fields".into()),
        // A setting not in the file: its type shows in the text.
        _ => Ok(Some(match t {
            "true" | "false" => Value::Bool(t == "true"),
            _ => number(t).unwrap_or_else(|| Value::String(t.into())),
        })),
    }
}

fn number(t: &str) -> Option<Value> {
    if let Ok(u) = t.parse::<u64>() {
        return Some(u.into());
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.into());
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite()).and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
}

/// Sets field `path` of node `node` to `text` (an empty text removes an
/// optional setting, so its default applies) and checks the document with
/// the engine. On a document that was valid, any problem the change causes
/// is refused; on a draft, type errors are refused and so are validation
/// errors of this field, but the engine's validation stops at the
/// document's first problem, so a range error behind another one shows
/// in [`super::problem`] once that is fixed.
pub fn set_field(doc: &Scenario, node: &str, path: &str, text: &str) -> Result<Scenario, FieldError> {
    let fail = |message: String| FieldError { node: node.to_string(), path: path.to_string(), message };
    let i = index(doc, node).map_err(|e| fail(e.to_string()))?;
    let segs = parse_path(path).ok_or_else(|| fail(format!("`{path}` is not a field path")))?;
    if let Seg::Key(k) = &segs[0] {
        if NOT_CONFIG.contains(&k.as_str()) {
            return Err(fail(format!("`{k}` is not a setting of the node's configuration")));
        }
    }
    let mut value = engine::scenario::to_value(doc);
    // A list not in the file is typed as one, words between commas.
    let empty_list = Value::Array(Vec::new());
    let list = (probed_kind(&value["nodes"][i], &segs) == FieldKind::List).then_some(&empty_list);
    let node_value = &mut value["nodes"][i];
    // Walk to the parent, creating objects for settings not in the file.
    let (last, parents) = segs.split_last().expect("at least one segment");
    let mut parent = node_value;
    for s in parents {
        parent = match s {
            Seg::Key(k) => {
                let obj = parent.as_object_mut().ok_or_else(|| fail(format!("`{path}` is not a field path")))?;
                obj.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()))
            }
            Seg::Index(n) => parent.get_mut(*n).ok_or_else(|| fail(format!("`{path}` is not a field: no item {n}")))?,
        };
    }
    let old = match last {
        Seg::Key(k) => parent.get(k),
        Seg::Index(n) => parent.get(*n),
    };
    let new = parse_text(old.or(list), text).map_err(fail)?;
    match (last, new) {
        (Seg::Key(k), Some(v)) => {
            parent.as_object_mut().ok_or_else(|| fail(format!("`{path}` is not a field path")))?.insert(k.clone(), v);
        }
        (Seg::Key(k), None) => {
            if let Some(o) = parent.as_object_mut() {
                o.remove(k);
            }
        }
        (Seg::Index(n), v) => {
            *parent.get_mut(*n).ok_or_else(|| fail(format!("`{path}` is not a field: no item {n}")))? =
                v.unwrap_or(Value::Null)
        }
    }
    share_cluster_settings(doc, &mut value, i, &segs);
    let here = format!("nodes[{i}].{path}");
    let message = |e: &ScenarioError, s: &Scenario| {
        if e.path == here || e.path.starts_with(&format!("{here}.")) || e.path.starts_with(&format!("{here}[")) {
            e.message.clone()
        } else {
            describe(s, e)
        }
    };
    match Scenario::from_value(value.clone()) {
        Ok(s) => Ok(s),
        Err(e) => match Scenario::from_value_unvalidated(value) {
            // A type error: the engine's message.
            Err(_) => Err(fail(message(&e, doc))),
            Ok(s) => {
                let concerns_field = e.path.starts_with(&here);
                if doc.validate().is_ok() || concerns_field {
                    Err(fail(message(&e, &s)))
                } else {
                    Ok(s)
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::connect::tests::every_kind;
    use crate::editor::palette::add_node;

    fn field<'a>(fs: &'a [Field], path: &str) -> &'a Field {
        fs.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("no field {path}: {fs:#?}"))
    }

    #[test]
    fn a_kafka_clusters_topic_settings_change_on_every_controller() {
        let doc = crate::editor::templates::load("kafka-rf3").unwrap();
        let d = set_field(&doc, "ctl2", "topic.min_insync_replicas", "1").unwrap();
        for c in ["ctl1", "ctl2", "ctl3"] {
            assert_eq!(value(&d, c, "topic.min_insync_replicas").unwrap(), Some(1.into()), "{c}");
        }
        let d = set_field(&d, "ctl1", "topic.unclean_leader_election_enable", "true").unwrap();
        assert_eq!(value(&d, "ctl3", "topic.unclean_leader_election_enable").unwrap(), Some(true.into()));
        // Settings of one controller alone stay its own.
        let d = set_field(&d, "ctl1", "tick", "20ms").unwrap();
        assert_eq!(value(&d, "ctl2", "tick").unwrap(), Some("100ms".into()));
    }

    #[test]
    fn a_load_balancers_form_uses_haproxys_words() {
        let doc = every_kind();
        let (d, _) = add_node(&doc, Kind::LoadBalancer, [1.0, 1.0]).unwrap();
        let fs = fields(&d, "lb1").unwrap();
        let rise = field(&fs, "default_server.rise");
        assert_eq!(
            (rise.label.as_str(), rise.group.as_str(), &rise.kind, rise.value.as_str(), rise.set),
            ("rise", "default_server", &FieldKind::Number, "2", true)
        );
        assert_eq!(field(&fs, "default_server.inter").kind, FieldKind::Duration);
        assert_eq!(field(&fs, "default_server.inter").value, "2s");
        assert_eq!(field(&fs, "timeout_connect").value, "5s");
        assert_eq!(field(&fs, "redispatch").kind, FieldKind::Bool);
        assert_eq!(field(&fs, "balance").kind, FieldKind::Text);
        let fs = fields(&doc, "lb").unwrap();
        assert_eq!(field(&fs, "servers[0].name").value, "web1");
        assert_eq!(field(&fs, "servers[0].name").group, "servers[0]");
        // Settings at their defaults are offered, unset.
        let tq = field(&fs, "timeout_queue");
        assert!(!tq.set && tq.value.is_empty());
        assert!(fs.iter().all(|f| !["name", "type", "pos"].contains(&f.path.as_str())));
    }

    #[test]
    fn enums_list_their_values() {
        let doc = every_kind();
        let fs = fields(&doc, "cache1").unwrap();
        let FieldKind::Choice(policies) = &field(&fs, "redis.maxmemory_policy").kind else { panic!() };
        assert!(policies.contains(&"noeviction".to_string()) && policies.contains(&"allkeys-lru".to_string()));
        assert_eq!(policies.len(), 8);
        let fs = fields(&doc, "producer1").unwrap();
        assert_eq!(field(&fs, "acks").kind, FieldKind::Choice(vec!["0".into(), "1".into(), "all".into()]));
        let fs = fields(&doc, "kv1").unwrap();
        assert_eq!(field(&fs, "members").kind, FieldKind::List);
        assert_eq!(field(&fs, "members").value, "kv1, kv2");
        assert!(matches!(&field(&fs, "reads").kind, FieldKind::Choice(v) if v.len() == 3));
        let fs = fields(&doc, "clients").unwrap();
        assert!(
            matches!(&field(&fs, "workload.kind").kind, FieldKind::Choice(v) if v.contains(&"closed_loop".to_string()))
        );
        assert_eq!(field(&fs, "target").kind, FieldKind::Text);
        // Unset, HAProxy's own words: a choice of its keywords.
        let fs = fields(&doc, "lb").unwrap();
        let observe = ["none", "layer4", "layer7"].map(String::from).to_vec();
        assert_eq!(field(&fs, "default_server.observe").kind, FieldKind::Choice(observe));
        let on_error = ["fastinter", "fail-check", "sudden-death", "mark-down"].map(String::from).to_vec();
        assert_eq!(field(&fs, "default_server.on_error").kind, FieldKind::Choice(on_error));
    }

    #[test]
    fn setting_a_field_goes_through_the_engines_types_and_checks() {
        let doc = every_kind();
        let d = set_field(&doc, "lb", "default_server.rise", "3").unwrap();
        let C(lb) = lb_of(&d);
        assert_eq!(lb.default_server.rise, Some(3));
        // Range: the engine's message, tied to the field.
        let e = set_field(&doc, "lb", "default_server.rise", "0").unwrap_err();
        assert_eq!((e.path.as_str(), e.message.as_str()), ("default_server.rise", "rise must be at least 1"));
        assert_eq!(e.to_string(), "`lb` default_server.rise: rise must be at least 1");
        // Type.
        let e = set_field(&doc, "lb", "retries", "three").unwrap_err();
        assert_eq!(e.message, "`three` is not a number");
        // An unset setting takes the text's type: the engine names the one it wants.
        let e = set_field(&doc, "lb", "default_server.rise", "three").unwrap_err();
        assert_eq!(e.message, "invalid type: string \"three\", expected u32");
        let e = set_field(&doc, "lb", "default_server.rise", "-1").unwrap_err();
        assert!(e.message.contains("invalid value"), "{e}");
        // Enum: lists the allowed values.
        let e = set_field(&doc, "cache1", "redis.maxmemory_policy", "lru").unwrap_err();
        assert!(e.message.contains("unknown variant `lru`") && e.message.contains("`allkeys-lru`"), "{e}");
        let d = set_field(&doc, "cache1", "redis.maxmemory_policy", "allkeys-lru").unwrap();
        assert_eq!(
            fields(&d, "cache1").unwrap().iter().find(|f| f.path == "redis.maxmemory_policy").unwrap().value,
            "allkeys-lru"
        );
        // Durations in the scenario format.
        let d = set_field(&doc, "lb", "default_server.inter", "500ms").unwrap();
        assert_eq!(lb_of(&d).0.default_server.inter, Some(engine::Duration::from_millis(500)));
        let e = set_field(&doc, "lb", "default_server.inter", "5").unwrap_err();
        assert!(e.message.contains("expected a duration string such as \"250ms\""), "{e}");
        let e = set_field(&doc, "lb", "timeout_connect", "5").unwrap_err();
        assert_eq!(e.path, "timeout_connect");
        assert!(e.message.contains("unit"), "{e}");
        // A reference the validation refuses, named.
        let e = set_field(&doc, "clients", "target", "db1").unwrap_err();
        assert_eq!(e.message, "no link joins `clients` to `db1`; add one to `links`");
        // A change that breaks another node says where.
        let e = set_field(&doc, "kv1", "members", "kv1").unwrap_err();
        assert!(e.message.starts_with("`kv1`, members") || e.message.contains("kv2"), "{e}");
        // A request line in haproxy.cfg's words, checked by the engine.
        let d = set_field(&doc, "lb", "httpchk", "GET /health").unwrap();
        assert_eq!(lb_of(&d).0.httpchk.as_ref().map(|c| c.words()).as_deref(), Some("GET /health"));
        let e = set_field(&doc, "lb", "httpchk", "get /health").unwrap_err();
        assert_eq!(e.path, "httpchk");
        assert!(e.message.contains("`get` is not an HTTP method"), "{e}");
        // `retry-on`'s keywords, listed while unset, checked by the engine.
        let unset = fields(&doc, "lb").unwrap().into_iter().find(|f| f.path == "retry_on").unwrap();
        assert!(!unset.set && unset.kind == FieldKind::Text);
        let d = set_field(&doc, "lb", "retry_on", "conn-failure 503").unwrap();
        assert!(lb_of(&d).0.retry_on.retries_status(503));
        let e = set_field(&doc, "lb", "retry_on", "none 503").unwrap_err();
        assert_eq!((e.path.as_str(), e.message.as_str()), ("retry_on", "retry-on: 'none' is only valid alone"));
        // `http-request disable-l7-retry` rules, listed while unset.
        let unset = fields(&doc, "lb").unwrap().into_iter().find(|f| f.path == "http_request").unwrap();
        assert!(!unset.set && unset.kind == FieldKind::List, "{unset:?}");
        let d = set_field(&doc, "lb", "http_request", "disable-l7-retry if METH_PUT").unwrap();
        assert_eq!(lb_of(&d).0.http_request[0].words(), "disable-l7-retry if METH_PUT");
        let e = set_field(&doc, "lb", "http_request", "deny if METH_PUT").unwrap_err();
        assert!(e.message.contains("only `disable-l7-retry` is modelled"), "{e}");
        let e = set_field(&doc, "lb", "http_request", "disable-l7-retry if is_write").unwrap_err();
        assert_eq!(e.message, "no ACL is named `is_write`; define it in `acl`");
        // `on-marked-down`, a choice of HAProxy's one action while unset.
        let unset =
            fields(&doc, "lb").unwrap().into_iter().find(|f| f.path == "default_server.on_marked_down").unwrap();
        assert_eq!(unset.kind, FieldKind::Choice(vec!["shutdown-sessions".into()]), "{unset:?}");
        let d = set_field(&doc, "lb", "default_server.on_marked_down", "shutdown-sessions").unwrap();
        assert!(lb_of(&d).0.servers.iter().all(|s| s.effective(&lb_of(&d).0.default_server).shutdown_sessions));
        // `option abortonclose`, a switch while unset.
        let unset = fields(&doc, "lb").unwrap().into_iter().find(|f| f.path == "abortonclose").unwrap();
        assert!(!unset.set && unset.kind == FieldKind::Bool, "{unset:?}");
        let d = set_field(&doc, "lb", "abortonclose", "true").unwrap();
        assert!(lb_of(&d).0.abortonclose);
        // Bools and lists.
        let d = set_field(&doc, "lb", "redispatch", "yes").unwrap();
        assert!(lb_of(&d).0.redispatch);
        let e = set_field(&doc, "lb", "redispatch", "maybe").unwrap_err();
        assert_eq!(e.message, "`maybe` is not true or false");
        assert!(set_field(&doc, "lb", "name", "x").is_err());
        assert!(set_field(&doc, "nope", "x", "1").unwrap_err().message.contains("no node is named `nope`"));
        assert!(set_field(&doc, "lb", "servers[9].weight", "1").is_err());
        assert!(set_field(&doc, "lb", "bad..path", "1").is_err());
    }

    struct C<'a>(&'a engine::components::load_balancer::config::LoadBalancerConfig);
    fn lb_of(d: &Scenario) -> C<'_> {
        let ComponentSpec::LoadBalancer(lb) = &d.nodes[1].component else { panic!() };
        C(lb)
    }

    #[test]
    fn unset_settings_can_be_set_and_cleared() {
        let doc = every_kind();
        let d = set_field(&doc, "lb", "timeout_queue", "2s").unwrap();
        assert_eq!(lb_of(&d).0.timeout_queue, Some(engine::Duration::from_secs(2)));
        let fs = fields(&d, "lb").unwrap();
        assert!(field(&fs, "timeout_queue").set);
        let d = set_field(&d, "lb", "timeout_queue", "").unwrap();
        assert_eq!(lb_of(&d).0.timeout_queue, None);
        let d = set_field(&doc, "lb", "servers[0].weight", "5").unwrap();
        assert_eq!(lb_of(&d).0.servers[0].weight, Some(5));
        let d = set_field(&doc, "lb", "maxconn", "100").unwrap();
        assert_eq!(lb_of(&d).0.maxconn, Some(100));
        // A required setting cannot be cleared.
        let e = set_field(&doc, "clients", "target", "").unwrap_err();
        assert!(e.message.contains("missing field `target`"), "{e}");
    }

    #[test]
    fn a_draft_accepts_a_field_change_despite_its_other_problems() {
        let (d, lb2) = add_node(&every_kind(), Kind::LoadBalancer, [1.0, 1.0]).unwrap();
        assert!(crate::editor::problem(&d).is_some());
        let d = set_field(&d, &lb2, "retries", "5").unwrap();
        assert!(crate::editor::problem(&d).is_some());
        // Type errors are refused at once.
        let e = set_field(&d, &lb2, "retries", "-5").unwrap_err();
        assert!(e.message.contains("invalid value"), "{e}");
        // Validation stops at a draft's first problem (here: no server),
        // so a range error can show only once that is fixed.
        let d = set_field(&d, &lb2, "retries", "1000").unwrap();
        let d = crate::editor::connect::connect(&d, &lb2, "web1").unwrap();
        assert_eq!(
            crate::editor::problem(&d).as_deref(),
            Some("`lb1`, retries: retries must be at most 100, got 1000")
        );
    }

    #[test]
    fn every_field_of_every_kind_reads_back_unchanged() {
        let doc = every_kind();
        for n in &doc.nodes {
            for f in fields(&doc, &n.name).unwrap().iter().filter(|f| f.set) {
                let d = set_field(&doc, &n.name, &f.path, &f.value)
                    .unwrap_or_else(|e| panic!("{} {}: {e}", n.name, f.path));
                assert_eq!(d, doc, "{} {} = {}", n.name, f.path, f.value);
            }
        }
    }

    #[test]
    fn paths_parse() {
        assert_eq!(
            parse_path("backends[0].servers[1].name"),
            Some(vec![
                Seg::Key("backends".into()),
                Seg::Index(0),
                Seg::Key("servers".into()),
                Seg::Index(1),
                Seg::Key("name".into())
            ])
        );
        assert_eq!(parse_path("a[x]"), None);
        assert_eq!(parse_path(""), None);
        assert_eq!(parse_path("a[0]b"), None);
    }
}
