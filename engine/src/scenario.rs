//! The scenario: everything that defines a run (topology, component
//! configuration, network, workloads, fault schedule, seed), as one serde
//! type with a format version. The format is documented in
//! `docs/scenario-format.md`.
//!
//! [`Scenario::from_json`] is the one way in from outside: it bounds the
//! size, checks the version first, then the types, then the meaning, and
//! every rejection names the field (`nodes[2].servers[0].weight`) and says
//! what is wrong. It never panics.

use crate::components::cache::CacheConfig;
use crate::components::client::{ClientConfig, Workload};
use crate::components::database::config::DatabaseConfig;
use crate::components::kafka::config::{BrokerConfig, ConsumerConfig, ControllerConfig, ProducerConfig};
use crate::components::load_balancer::backend_name;
use crate::components::load_balancer::config::{LoadBalancerConfig, ServerLine};
use crate::components::raft_kv::config::RaftKvConfig;
use crate::components::sentinel::SentinelConfig;
use crate::components::server::ServerConfig;
use crate::components::Kind;
use crate::distribution::Distribution;
use crate::fault::ScheduledFault;
use crate::message::NodeId;
use crate::network::{LinkProfile, Ordering};
use crate::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A server line a `set server` command names: its backend's name, the
/// backend, the line.
type NamedLine<'a> = (String, &'a LoadBalancerConfig, &'a ServerLine);

/// The scenario format this engine reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Scenario files larger than this are refused before parsing.
pub const MAX_SCENARIO_BYTES: usize = 1 << 20;
pub const MAX_NODES: usize = 500;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_FAULTS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The format version, [`FORMAT_VERSION`].
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The seed of every random draw in the run.
    #[serde(default)]
    pub seed: u64,
    /// How long a run lasts unless told otherwise.
    #[serde(default = "default_duration")]
    pub duration: Duration,
    pub nodes: Vec<NodeSpec>,
    /// The wires between nodes. Messages travel only over links.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// The profile of every link, unless the link sets its own values.
    #[serde(default)]
    pub network: LinkProfile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<ScheduledFault>,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub limits: Limits,
}

fn default_duration() -> Duration {
    Duration::from_secs(60)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    /// Where the canvas draws the node (x, y in canvas units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<[f64; 2]>,
    #[serde(flatten)]
    pub component: ComponentSpec,
}

/// Read from JSON by [`ComponentSpec::from_fields`] (see its
/// `Deserialize` impl below), written by the derived `Serialize`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ComponentSpec {
    Cache(CacheConfig),
    Client(ClientConfig),
    Database(DatabaseConfig),
    LoadBalancer(Box<LoadBalancerConfig>),
    Server(ServerConfig),
    Sentinel(SentinelConfig),
    RaftKv(RaftKvConfig),
    KafkaController(ControllerConfig),
    KafkaBroker(BrokerConfig),
    KafkaProducer(ProducerConfig),
    KafkaConsumer(ConsumerConfig),
}

impl ComponentSpec {
    pub fn kind(&self) -> Kind {
        match self {
            ComponentSpec::Cache(_) => Kind::Cache,
            ComponentSpec::Client(_) => Kind::Client,
            ComponentSpec::Database(_) => Kind::Database,
            ComponentSpec::LoadBalancer(_) => Kind::LoadBalancer,
            ComponentSpec::Server(_) => Kind::Server,
            ComponentSpec::Sentinel(_) => Kind::Sentinel,
            ComponentSpec::RaftKv(_) => Kind::RaftKv,
            ComponentSpec::KafkaController(_) => Kind::KafkaController,
            ComponentSpec::KafkaBroker(_) => Kind::KafkaBroker,
            ComponentSpec::KafkaProducer(_) => Kind::KafkaProducer,
            ComponentSpec::KafkaConsumer(_) => Kind::KafkaConsumer,
        }
    }

    /// The component of a node object whose `name` and `pos` are taken
    /// out: `type` picks the config type, the other fields are read into
    /// it with their paths tracked. This is the one place each config
    /// type is deserialised, so its (large) serde code is compiled once,
    /// not once more for serde's flatten/tag buffer (which cost about
    /// 100 KB of the browser build).
    fn from_fields(mut rest: serde_json::Map<String, serde_json::Value>) -> Result<ComponentSpec, ComponentError> {
        fn typed<T: serde::de::DeserializeOwned>(
            rest: serde_json::Map<String, serde_json::Value>,
            variant: fn(T) -> ComponentSpec,
        ) -> Result<ComponentSpec, ComponentError> {
            serde_path_to_error::deserialize::<_, T>(serde_json::Value::Object(rest))
                .map(variant)
                .map_err(|e| ComponentError::Field(e.path().to_string(), e.into_inner().to_string()))
        }
        let kind = match rest.remove("type") {
            Some(serde_json::Value::String(t)) => t,
            Some(other) => return Err(ComponentError::TypeNotString(other)),
            None => return Err(ComponentError::TypeMissing),
        };
        match kind.as_str() {
            "cache" => typed(rest, ComponentSpec::Cache),
            "client" => typed(rest, ComponentSpec::Client),
            "database" => typed(rest, ComponentSpec::Database),
            "load_balancer" => typed(rest, ComponentSpec::LoadBalancer),
            "server" => typed(rest, ComponentSpec::Server),
            "sentinel" => typed(rest, ComponentSpec::Sentinel),
            "raft_kv" => typed(rest, ComponentSpec::RaftKv),
            "kafka_controller" => typed(rest, ComponentSpec::KafkaController),
            "kafka_broker" => typed(rest, ComponentSpec::KafkaBroker),
            "kafka_producer" => typed(rest, ComponentSpec::KafkaProducer),
            "kafka_consumer" => typed(rest, ComponentSpec::KafkaConsumer),
            _ => Err(ComponentError::UnknownType(kind)),
        }
    }
}

/// The `type` tag's values, in the order serde's derive listed them.
const COMPONENT_TYPES: &[&str] = &[
    "cache",
    "client",
    "database",
    "load_balancer",
    "server",
    "sentinel",
    "raft_kv",
    "kafka_controller",
    "kafka_broker",
    "kafka_producer",
    "kafka_consumer",
];

/// Why [`ComponentSpec::from_fields`] refused a node.
enum ComponentError {
    TypeMissing,
    TypeNotString(serde_json::Value),
    UnknownType(String),
    /// A field of the config: its path inside the node, and the message.
    Field(String, String),
}

/// Same result as serde's derive for `#[serde(tag = "type")]` (the same
/// errors, without a path inside the component), through
/// [`ComponentSpec::from_fields`]. [`Scenario::from_value`] checks each
/// node with paths before this runs.
impl<'de> Deserialize<'de> for ComponentSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let serde_json::Value::Object(fields) = serde_json::Value::deserialize(deserializer)? else {
            return Err(D::Error::custom("a component must be a JSON object"));
        };
        ComponentSpec::from_fields(fields).map_err(|e| match e {
            ComponentError::TypeMissing => D::Error::missing_field("type"),
            ComponentError::TypeNotString(v) => {
                D::Error::custom(format!("invalid type: {v}, expected variant identifier"))
            }
            ComponentError::UnknownType(t) => D::Error::unknown_variant(&t, COMPONENT_TYPES),
            ComponentError::Field(_, message) => D::Error::custom(message),
        })
    }
}

/// A link between two nodes; unset fields take the scenario's `network`
/// values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub between: [String; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Distribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<Ordering>,
}

impl LinkSpec {
    pub fn profile(&self, default: &LinkProfile) -> LinkProfile {
        LinkProfile {
            latency: self.latency.unwrap_or(default.latency),
            jitter: self.jitter.unwrap_or(default.jitter),
            loss: self.loss.unwrap_or(default.loss),
            duplicate: self.duplicate.unwrap_or(default.duplicate),
            ordering: self.ordering.unwrap_or(default.ordering),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Length of one metrics interval.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// Intervals kept; older ones are dropped (and counted).
    #[serde(default = "default_keep")]
    pub keep_intervals: usize,
}

fn default_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_keep() -> usize {
    3600
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { interval: default_interval(), keep_intervals: default_keep() }
    }
}

/// Bounds on everything that grows during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Trace events kept (the newest); the hash still covers all.
    #[serde(default = "default_trace")]
    pub trace_events: usize,
    /// Operations kept in the client history; more are counted only.
    #[serde(default = "default_history")]
    pub history_ops: usize,
    /// Events pending at once; past this the run stops with a message.
    #[serde(default = "default_pending")]
    pub pending_events: usize,
    /// Messages a paused node holds for later; more are dropped (traced as
    /// `buffer_full`). Its timers always wait.
    #[serde(default = "default_paused")]
    pub paused_backlog: usize,
    /// Messages a held link (`hold_link`) keeps, both directions together;
    /// more are dropped (traced as `hold_full`).
    #[serde(default = "default_held")]
    pub held_backlog: usize,
}

fn default_trace() -> usize {
    100_000
}
fn default_history() -> usize {
    100_000
}
fn default_pending() -> usize {
    2_000_000
}
fn default_paused() -> usize {
    10_000
}
fn default_held() -> usize {
    10_000
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            trace_events: default_trace(),
            history_ops: default_history(),
            pending_events: default_pending(),
            paused_backlog: default_paused(),
            held_backlog: default_held(),
        }
    }
}

/// The most partitions a consumer group's topic may have (assignments
/// are a bit per partition).
pub const MAX_GROUP_PARTITIONS: u32 = 64;

/// Upper bounds on the limits themselves, to keep memory sane.
const MAX_TRACE: usize = 10_000_000;
const MAX_HISTORY: usize = 10_000_000;
const MAX_PENDING: usize = crate::queue::MAX_PENDING;
const MAX_KEEP_INTERVALS: usize = 1_000_000;

/// Why a scenario was refused: where (`path`, in JSON terms) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub path: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// As `serde_json::from_value`, with the same result and message, through
/// the path-tracking deserialiser [`Scenario::from_value`] uses: for a part
/// of a scenario (a node, a server line), the browser build then reuses
/// that code instead of compiling the type's `Deserialize` once more.
pub fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    serde_path_to_error::deserialize(value).map_err(serde_path_to_error::Error::into_inner)
}

/// As `serde_json::to_value`, with the same result, made from the compact
/// text `serde_json::to_string` writes: the browser build then holds one
/// serialiser of the scenario's types (the one share links and autosave
/// use) instead of two. Numbers are read back exactly: integers as the
/// integers written, other numbers with Rust's correctly rounded `f64`
/// parser, which gives back every `f64` the serialiser's shortest form
/// came from (no type here is an `f32`).
pub fn to_value<T: Serialize + ?Sized>(x: &T) -> serde_json::Value {
    let text = serde_json::to_string(x).expect("a scenario's parts always serialise");
    let mut reader = Compact { text: &text, at: 0 };
    reader.value()
}

/// A reader of JSON text as serde_json writes it (no whitespace, valid).
struct Compact<'a> {
    text: &'a str,
    at: usize,
}

impl Compact<'_> {
    fn next(&mut self) -> u8 {
        let b = self.text.as_bytes()[self.at];
        self.at += 1;
        b
    }

    fn value(&mut self) -> serde_json::Value {
        use serde_json::Value;
        match self.next() {
            b'{' => {
                let mut map = serde_json::Map::new();
                if self.text.as_bytes()[self.at] == b'}' {
                    self.at += 1;
                } else {
                    loop {
                        self.at += 1; // the key's opening quote
                        let key = self.string();
                        self.at += 1; // ':'
                        let value = self.value();
                        map.insert(key, value);
                        if self.next() == b'}' {
                            break;
                        }
                    }
                }
                Value::Object(map)
            }
            b'[' => {
                let mut items = Vec::new();
                if self.text.as_bytes()[self.at] == b']' {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.value());
                        if self.next() == b']' {
                            break;
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => Value::String(self.string()),
            b't' => {
                self.at += 3;
                Value::Bool(true)
            }
            b'f' => {
                self.at += 4;
                Value::Bool(false)
            }
            b'n' => {
                self.at += 3;
                Value::Null
            }
            _ => {
                let start = self.at - 1;
                let bytes = self.text.as_bytes();
                while self.at < bytes.len() && matches!(bytes[self.at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    self.at += 1;
                }
                let t = &self.text[start..self.at];
                if t.contains(['.', 'e', 'E']) {
                    let f: f64 = t.parse().expect("a number serde_json wrote");
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                } else if t.starts_with('-') {
                    Value::from(t.parse::<i64>().expect("an integer serde_json wrote"))
                } else {
                    Value::from(t.parse::<u64>().expect("an integer serde_json wrote"))
                }
            }
        }
    }

    /// The rest of a string whose opening quote was read.
    fn string(&mut self) -> String {
        let mut out = String::new();
        loop {
            let start = self.at;
            let bytes = self.text.as_bytes();
            while bytes[self.at] != b'"' && bytes[self.at] != b'\\' {
                self.at += 1;
            }
            out.push_str(&self.text[start..self.at]);
            if self.next() == b'"' {
                return out;
            }
            out.push(match self.next() {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                _ => {
                    // \uXXXX: serde_json writes it for control characters only.
                    let code = u32::from_str_radix(&self.text[self.at..self.at + 4], 16).expect("four hex digits");
                    self.at += 4;
                    char::from_u32(code).expect("a control character")
                }
            });
        }
    }
}

/// Checks one node's JSON against its component's type, with full paths.
fn check_node(i: usize, node: &serde_json::Value) -> Result<(), ScenarioError> {
    let at =
        |path: &str| if path.is_empty() || path == "." { format!("nodes[{i}]") } else { format!("nodes[{i}].{path}") };
    let Some(obj) = node.as_object() else {
        return Err(ScenarioError::new(at(""), "a node must be a JSON object"));
    };
    // A client's workload and a controller's topic are read field by
    // field: the field's name.
    type FieldError = fn(&serde_json::Value) -> Option<(Option<String>, String)>;
    let inner: Option<(&str, FieldError)> = match obj.get("type").and_then(|t| t.as_str()) {
        Some("client") => Some(("workload", crate::components::client::read::field_error)),
        Some("kafka_controller") => Some(("topic", crate::components::kafka::config::topic_field_error)),
        _ => None,
    };
    if let Some((key, field_error)) = inner {
        if let Some((field, msg)) = obj.get(key).and_then(field_error) {
            return Err(ScenarioError::new(at(&field.map_or_else(|| key.into(), |k| format!("{key}.{k}"))), msg));
        }
    }
    let mut rest = obj.clone();
    for field in ["name", "pos"] {
        rest.remove(field);
    }
    match ComponentSpec::from_fields(rest) {
        Ok(_) => Ok(()),
        Err(ComponentError::TypeNotString(other)) => {
            Err(ScenarioError::new(at("type"), format!("must be a string, got {other}")))
        }
        Err(ComponentError::TypeMissing) => Err(ScenarioError::new(
            at("type"),
            "missing; one of `cache`, `client`, `database`, `kafka_broker`, `kafka_consumer`, `kafka_controller`, `kafka_producer`, `load_balancer`, `raft_kv`, `sentinel`, `server`",
        )),
        Err(ComponentError::UnknownType(other)) => Err(ScenarioError::new(
            at("type"),
            format!(
                "unknown component `{other}`; expected one of `cache`, `client`, `database`, `kafka_broker`, `kafka_consumer`, `kafka_controller`, `kafka_producer`, `load_balancer`, `raft_kv`, `sentinel`, `server`"
            ),
        )),
        Err(ComponentError::Field(path, msg)) => Err(ScenarioError::new(at(&path), msg)),
    }
}

impl Scenario {
    /// Parses and checks a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(ScenarioError::new(
                "",
                format!("the scenario is {} bytes; the limit is {MAX_SCENARIO_BYTES} bytes", text.len()),
            ));
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ScenarioError::new("", format!("not valid JSON: {e}")))?;
        Scenario::from_value(value)
    }

    /// Checks a scenario given as a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Scenario, ScenarioError> {
        let Some(obj) = value.as_object() else {
            return Err(ScenarioError::new("", "a scenario must be a JSON object"));
        };
        // The version first: a newer file should say so, not fail on a
        // field this version does not know.
        match obj.get("version") {
            None => return Err(ScenarioError::new("version", format!("missing; this Cluster Lab reads version {FORMAT_VERSION}"))),
            Some(v) => match v.as_u64() {
                Some(v) if v == u64::from(FORMAT_VERSION) => {}
                Some(v) if v > u64::from(FORMAT_VERSION) => {
                    return Err(ScenarioError::new(
                        "version",
                        format!("this scenario uses format version {v}, newer than this Cluster Lab understands (version {FORMAT_VERSION}); open it with a newer Cluster Lab"),
                    ))
                }
                _ => return Err(ScenarioError::new("version", format!("must be {FORMAT_VERSION}, got {v}"))),
            },
        }
        // Nodes first, one by one: serde loses the path inside a flattened
        // component, and a learner needs `nodes[2].servers[0].weight`, not
        // `nodes[2]`.
        if let Some(serde_json::Value::Array(nodes)) = obj.get("nodes") {
            for (i, node) in nodes.iter().enumerate() {
                check_node(i, node)?;
            }
        }
        // Faults likewise: each is read field by field, and serde's path
        // ends at `faults[3]`.
        if let Some(serde_json::Value::Array(faults)) = obj.get("faults") {
            for (i, fault) in faults.iter().enumerate() {
                if let Some((field, msg)) = crate::fault::read::field_error(fault) {
                    let path = field.map_or_else(|| format!("faults[{i}]"), |k| format!("faults[{i}].{k}"));
                    return Err(ScenarioError::new(path, msg));
                }
            }
        }
        let scenario: Scenario = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            ScenarioError::new(path, e.into_inner().to_string())
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Reads a scenario's types only, without [`Scenario::validate`]: for
    /// drafts. The error is serde's message, the same as
    /// `serde_json::from_value::<Scenario>` gives; it goes through the
    /// path-tracking deserialiser [`Scenario::from_value`] uses, so the
    /// browser build holds one copy of the scenario's `Deserialize` code,
    /// not two.
    pub fn from_value_unvalidated(value: serde_json::Value) -> Result<Scenario, serde_json::Error> {
        from_value(value)
    }

    /// The same text as `serde_json::to_string_pretty`, made from the
    /// compact form: a second serialiser (the pretty formatter) would
    /// compile every `Serialize` of the scenario once more into the
    /// browser build.
    pub fn to_json_pretty(&self) -> String {
        let compact = serde_json::to_string(self).expect("a scenario always serialises");
        indent_json(&compact)
    }

    /// Node ids by name.
    pub fn node_ids(&self) -> BTreeMap<&str, NodeId> {
        // Inserted one by one, not collected: `collect` into a BTreeMap
        // sorts with its own copy of the standard sort per key type.
        let mut ids = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            ids.insert(n.name.as_str(), i as NodeId);
        }
        ids
    }

    /// Checks what the types cannot: references, ranges, bounds.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let err = |path: String, msg: String| Err(ScenarioError::new(path, msg));
        if self.nodes.is_empty() {
            return err("nodes".into(), "a scenario needs at least one node".into());
        }
        if self.nodes.len() > MAX_NODES {
            return err("nodes".into(), format!("{} nodes; the limit is {MAX_NODES}", self.nodes.len()));
        }
        if self.duration == Duration::ZERO {
            return err("duration".into(), "must be longer than 0s".into());
        }
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let at = format!("nodes[{i}].name");
            if n.name.is_empty() || n.name.len() > MAX_NAME_LEN {
                return err(at, format!("a name must be 1 to {MAX_NAME_LEN} characters"));
            }
            if !n.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                return err(at, format!("`{}` may use only letters, digits, '-', '_' and '.'", n.name));
            }
            if let Some(j) = ids.insert(&n.name, i) {
                return err(at, format!("`{}` is already the name of nodes[{j}]", n.name));
            }
            if let Some([x, y]) = n.pos {
                if !x.is_finite() || !y.is_finite() {
                    return err(format!("nodes[{i}].pos"), "coordinates must be finite numbers".into());
                }
            }
        }
        if let Err((field, e)) = self.network.validate() {
            return err(format!("network.{field}"), e);
        }
        let mut linked: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for (i, l) in self.links.iter().enumerate() {
            let mut ends = [0usize; 2];
            for (k, name) in l.between.iter().enumerate() {
                match ids.get(name.as_str()) {
                    Some(&id) => ends[k] = id,
                    None => return err(format!("links[{i}].between[{k}]"), format!("no node is named `{name}`")),
                }
            }
            if ends[0] == ends[1] {
                return err(
                    format!("links[{i}].between"),
                    format!("a link joins two different nodes, not `{}` to itself", l.between[0]),
                );
            }
            let key = (ends[0].min(ends[1]), ends[0].max(ends[1]));
            if let Some(j) = linked.insert(key, i) {
                return err(
                    format!("links[{i}].between"),
                    format!("`{}` and `{}` are already linked by links[{j}]", l.between[0], l.between[1]),
                );
            }
            if let Err((field, e)) = l.profile(&self.network).validate() {
                return err(format!("links[{i}].{field}"), e);
            }
        }
        let is_linked = |a: usize, b: usize| linked.contains_key(&(a.min(b), a.max(b)));
        for (i, n) in self.nodes.iter().enumerate() {
            let at = |f: &str| format!("nodes[{i}].{f}");
            match &n.component {
                ComponentSpec::Client(c) => {
                    c.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    let Some(&t) = ids.get(c.target.as_str()) else {
                        return err(at("target"), format!("no node is named `{}`", c.target));
                    };
                    let kind = self.nodes[t].component.kind();
                    if !matches!(kind, Kind::LoadBalancer | Kind::Server | Kind::Database | Kind::Cache | Kind::RaftKv)
                    {
                        return err(
                            at("target"),
                            format!(
                                "`{}` is a {}; a client sends to a load_balancer, a server, a database, a cache or a raft_kv",
                                c.target,
                                kind.name()
                            ),
                        );
                    }
                    if kind != Kind::Cache && (c.wait.is_some() || c.follow_primary) {
                        let f = if c.wait.is_some() { "wait" } else { "follow_primary" };
                        return err(
                            at(f),
                            format!("`{f}` is for clients of a cache; `{}` is a {}", c.target, kind.name()),
                        );
                    }
                    if c.follow_primary {
                        for g in self.cache_group(t) {
                            if !is_linked(i, g) {
                                return err(
                                    at("follow_primary"),
                                    format!(
                                        "a client that follows the primary must be linked to every cache of the group: add a link between `{}` and `{}`",
                                        n.name, self.nodes[g].name
                                    ),
                                );
                            }
                        }
                    }
                    if !is_linked(i, t) {
                        return err(
                            at("target"),
                            format!("no link joins `{}` to `{}`; add one to `links`", n.name, c.target),
                        );
                    }
                    if let Workload::ClosedLoop { clients, .. } = c.workload {
                        if clients > c.max_outstanding {
                            return err(
                                at("workload.clients"),
                                format!("{clients} clients exceed max_outstanding ({})", c.max_outstanding),
                            );
                        }
                    }
                }
                ComponentSpec::LoadBalancer(lb) => {
                    lb.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    let servers = lb.all_backends().enumerate().flat_map(|(b, backend)| {
                        let section = if b == 0 { String::new() } else { format!("backends[{}].", b - 1) };
                        backend.servers.iter().enumerate().map(move |(k, s)| (format!("{section}servers[{k}].name"), s))
                    });
                    for (f, s) in servers {
                        let Some(&t) = ids.get(s.name.as_str()) else {
                            return err(at(&f), format!("no node is named `{}`", s.name));
                        };
                        let kind = self.nodes[t].component.kind();
                        if kind != Kind::Server {
                            return err(
                                at(&f),
                                format!("`{}` is a {}; a load balancer forwards to servers", s.name, kind.name()),
                            );
                        }
                        if !is_linked(i, t) {
                            return err(
                                at(&f),
                                format!("no link joins `{}` to `{}`; add one to `links`", n.name, s.name),
                            );
                        }
                    }
                }
                ComponentSpec::Server(s) => {
                    s.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    if let Some(h) = &s.handler {
                        let refs = [
                            ("database", Some(&h.database)),
                            ("read_from", h.read_from.as_ref()),
                            ("cache", h.cache.as_ref()),
                        ];
                        for (field, name) in refs {
                            let Some(name) = name else { continue };
                            let f = format!("handler.{field}");
                            let Some(&t) = ids.get(name.as_str()) else {
                                return err(at(&f), format!("no node is named `{name}`"));
                            };
                            let kind = self.nodes[t].component.kind();
                            let want = if field == "cache" { Kind::Cache } else { Kind::Database };
                            if kind != want {
                                return err(at(&f), format!("`{name}` is a {}, not a {}", kind.name(), want.name()));
                            }
                            if !is_linked(i, t) {
                                return err(
                                    at(&f),
                                    format!("no link joins `{}` to `{name}`; add one to `links`", n.name),
                                );
                            }
                        }
                    }
                }
                ComponentSpec::Cache(c) => {
                    c.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    if let Some(p) = &c.redis.replicaof {
                        let f = "redis.replicaof";
                        let Some(&t) = ids.get(p.as_str()) else {
                            return err(at(f), format!("no node is named `{p}`"));
                        };
                        match &self.nodes[t].component {
                            _ if t == i => return err(at(f), "a cache cannot replicate itself".into()),
                            ComponentSpec::Cache(pc) if pc.redis.replicaof.is_some() => {
                                return err(
                                    at(f),
                                    format!(
                                    "`{p}` is itself a replica; the model has no chained replication: name its primary"
                                ),
                                )
                            }
                            ComponentSpec::Cache(_) => {}
                            other => {
                                return err(
                                    at(f),
                                    format!("`{p}` is a {}; a cache replicates a cache", other.kind().name()),
                                )
                            }
                        }
                        // Every cache of the group may become the primary.
                        for g in self.cache_group(t) {
                            if g != i && !is_linked(i, g) {
                                return err(
                                    at(f),
                                    format!(
                                        "the caches of one group must be linked to each other: add a link between `{}` and `{}`",
                                        n.name, self.nodes[g].name
                                    ),
                                );
                            }
                        }
                    }
                }
                ComponentSpec::Sentinel(c) => {
                    c.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    let Some(&t) = ids.get(c.monitor.as_str()) else {
                        return err(at("monitor"), format!("no node is named `{}`", c.monitor));
                    };
                    match &self.nodes[t].component {
                        ComponentSpec::Cache(pc) if pc.redis.replicaof.is_none() => {}
                        ComponentSpec::Cache(_) => {
                            return err(
                                at("monitor"),
                                format!("`{}` is a replica; a sentinel monitors a primary", c.monitor),
                            )
                        }
                        other => {
                            return err(
                                at("monitor"),
                                format!("`{}` is a {}; a sentinel monitors a cache", c.monitor, other.kind().name()),
                            )
                        }
                    }
                    for g in self.cache_group(t).into_iter().chain(self.sentinels_of(t)) {
                        if g != i && !is_linked(i, g) {
                            return err(
                                at("monitor"),
                                format!(
                                    "a sentinel must be linked to every cache of the group and every other sentinel: add a link between `{}` and `{}`",
                                    n.name, self.nodes[g].name
                                ),
                            );
                        }
                    }
                    let sentinels = self.sentinels_of(t).len() as u32;
                    if c.quorum > sentinels {
                        return err(
                            at("quorum"),
                            format!(
                                "quorum {} is more than the {sentinels} sentinels monitoring `{}`",
                                c.quorum, c.monitor
                            ),
                        );
                    }
                }
                ComponentSpec::RaftKv(r) => {
                    r.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    if !r.members.contains(&n.name) {
                        return err(at("members"), format!("`{}` must list itself among its members", n.name));
                    }
                    for (k, m) in r.members.iter().enumerate() {
                        let f = format!("members[{k}]");
                        if r.members[..k].contains(m) {
                            return err(at(&f), format!("`{m}` is listed twice"));
                        }
                        let Some(&t) = ids.get(m.as_str()) else {
                            return err(at(&f), format!("no node is named `{m}`"));
                        };
                        match &self.nodes[t].component {
                            ComponentSpec::RaftKv(o) if o.members == r.members => {}
                            ComponentSpec::RaftKv(_) => {
                                return err(
                                    at(&f),
                                    format!("`{m}` lists other members: every member lists the same group"),
                                )
                            }
                            other => {
                                return err(
                                    at(&f),
                                    format!("`{m}` is a {}; members are raft_kv nodes", other.kind().name()),
                                )
                            }
                        }
                        if t != i && !is_linked(i, t) {
                            return err(at(&f), format!("no link joins `{}` to `{m}`; add one to `links`", n.name));
                        }
                    }
                }
                ComponentSpec::KafkaController(c) => {
                    c.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    if !c.controllers.contains(&n.name) {
                        return err(at("controllers"), format!("`{}` must list itself among its controllers", n.name));
                    }
                    let same = |o: &ControllerConfig| {
                        o.controllers == c.controllers
                            && o.brokers == c.brokers
                            && o.topic_list() == c.topic_list()
                            && o.kafka_version == c.kafka_version
                    };
                    self.kafka_members(
                        i,
                        "controllers",
                        &c.controllers,
                        Kind::KafkaController,
                        &is_linked,
                        |s| matches!(s, ComponentSpec::KafkaController(o) if same(o)),
                    )?;
                    self.kafka_members(
                        i,
                        "brokers",
                        &c.brokers,
                        Kind::KafkaBroker,
                        &is_linked,
                        |s| matches!(s, ComponentSpec::KafkaBroker(b) if b.controllers == c.controllers),
                    )?;
                }
                ComponentSpec::KafkaBroker(b) => {
                    b.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    let Some(c) = self.kafka_cluster_of(&b.controllers) else {
                        return err(at("controllers"), "name the cluster's kafka_controller nodes".to_string());
                    };
                    if !c.brokers.contains(&n.name) {
                        return err(
                            at("controllers"),
                            format!("the controllers do not list `{}` among their brokers", n.name),
                        );
                    }
                    let peers = c.brokers.clone();
                    self.kafka_members(i, "controllers", &b.controllers, Kind::KafkaController, &is_linked, |_| true)?;
                    // Brokers replicate from each other: every pair is linked.
                    self.kafka_members(i, "", &peers, Kind::KafkaBroker, &is_linked, |_| true)?;
                }
                ComponentSpec::KafkaProducer(p) => {
                    p.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    self.kafka_client(i, &p.bootstrap, &is_linked)?;
                    self.kafka_topic(i, &p.bootstrap, p.topic.as_deref())?;
                }
                ComponentSpec::KafkaConsumer(c) => {
                    c.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    self.kafka_client(i, &c.bootstrap, &is_linked)?;
                    let topic = self.kafka_topic(i, &c.bootstrap, c.topic.as_deref())?;
                    // Assignments travel as a bit per partition.
                    let partitions = self
                        .kafka_controllers_of(&c.bootstrap)
                        .and_then(|ctl| self.kafka_cluster_of(ctl))
                        .and_then(|cl| cl.topic_list().into_iter().find(|t| t.name == topic))
                        .map_or(0, |t| t.config.partitions);
                    if c.group.is_some() && partitions > MAX_GROUP_PARTITIONS {
                        return err(
                            at("group"),
                            format!(
                                "`{topic}` has {partitions} partitions; a consumer group reads a topic of at most {MAX_GROUP_PARTITIONS}"
                            ),
                        );
                    }
                    // A group reads one topic.
                    for (j, o) in self.nodes.iter().enumerate().take(i) {
                        let ComponentSpec::KafkaConsumer(oc) = &o.component else { continue };
                        let same_cluster =
                            self.kafka_controllers_of(&oc.bootstrap) == self.kafka_controllers_of(&c.bootstrap);
                        if oc.group.is_some() && oc.group == c.group && same_cluster {
                            let other = self.kafka_topic(j, &oc.bootstrap, oc.topic.as_deref())?;
                            if other != topic {
                                return err(
                                    at("topic"),
                                    format!(
                                        "`{}` reads `{other}` in group `{}`; the members of a group read one topic",
                                        o.name,
                                        c.group.as_deref().unwrap_or_default()
                                    ),
                                );
                            }
                        }
                    }
                }
                ComponentSpec::Database(d) => {
                    d.validate().map_err(|(f, m)| ScenarioError::new(at(&f), m))?;
                    for (k, r) in d.replicas.iter().enumerate() {
                        let f = format!("replicas[{k}]");
                        let Some(&t) = ids.get(r.as_str()) else {
                            return err(at(&f), format!("no node is named `{r}`"));
                        };
                        match &self.nodes[t].component {
                            ComponentSpec::Database(rc) if rc.replica_of.as_deref() == Some(n.name.as_str()) => {}
                            ComponentSpec::Database(_) => {
                                return err(at(&f), format!("`{r}` must say \"replica_of\": \"{}\"", n.name))
                            }
                            other => {
                                return err(
                                    at(&f),
                                    format!("`{r}` is a {}; replicas are databases", other.kind().name()),
                                )
                            }
                        }
                        if !is_linked(i, t) {
                            return err(at(&f), format!("no link joins `{}` to `{r}`; add one to `links`", n.name));
                        }
                    }
                    if let Some(p) = &d.replica_of {
                        let Some(&t) = ids.get(p.as_str()) else {
                            return err(at("replica_of"), format!("no node is named `{p}`"));
                        };
                        let listed = matches!(&self.nodes[t].component, ComponentSpec::Database(pc) if pc.replicas.contains(&n.name));
                        if !listed {
                            return err(at("replica_of"), format!("`{p}` must list `{}` in its `replicas`", n.name));
                        }
                        // Replicas talk to each other after a failover.
                        if let ComponentSpec::Database(pc) = &self.nodes[t].component {
                            for other in pc.replicas.iter().filter(|o| **o != n.name) {
                                if !is_linked(i, ids[other.as_str()]) {
                                    return err(
                                        at("replica_of"),
                                        format!("replicas of one primary must be linked to each other: add a link between `{}` and `{other}`", n.name),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut distinct_paths = std::collections::BTreeSet::new();
        for n in &self.nodes {
            if let ComponentSpec::Client(c) = &n.component {
                distinct_paths.extend(c.paths.iter().map(|p| p.path.as_str()));
            }
        }
        if distinct_paths.len() > usize::from(u16::MAX) {
            return err(
                "nodes".into(),
                format!("{} distinct URL paths; the limit is {}", distinct_paths.len(), u16::MAX),
            );
        }
        if self.faults.len() > MAX_FAULTS {
            return err("faults".into(), format!("{} faults; the limit is {MAX_FAULTS}", self.faults.len()));
        }
        for (i, f) in self.faults.iter().enumerate() {
            self.check_fault(&f.fault, &ids, &is_linked).map_err(|(field, m)| {
                let path = if field.is_empty() { format!("faults[{i}]") } else { format!("faults[{i}].{field}") };
                ScenarioError::new(path, m)
            })?;
        }
        if self.metrics.interval < Duration::from_millis(1) {
            return err("metrics.interval".into(), format!("must be at least 1ms, got {}", self.metrics.interval));
        }
        if self.metrics.keep_intervals > MAX_KEEP_INTERVALS {
            return err(
                "metrics.keep_intervals".into(),
                format!("must be at most {MAX_KEEP_INTERVALS}, got {}", self.metrics.keep_intervals),
            );
        }
        let l = &self.limits;
        for (name, v, max) in [
            ("trace_events", l.trace_events, MAX_TRACE),
            ("history_ops", l.history_ops, MAX_HISTORY),
            ("pending_events", l.pending_events, MAX_PENDING),
            ("paused_backlog", l.paused_backlog, MAX_PENDING),
            ("held_backlog", l.held_backlog, MAX_PENDING),
        ] {
            if v > max {
                return err(format!("limits.{name}"), format!("must be at most {max}, got {v}"));
            }
        }
        if l.pending_events == 0 {
            return err("limits.pending_events".into(), "must be at least 1".into());
        }
        Ok(())
    }

    /// The caches of the replication group of cache `i`: its primary
    /// first, then the caches whose `replicaof` names that primary.
    pub fn cache_group(&self, i: usize) -> Vec<usize> {
        let primary = match &self.nodes[i].component {
            ComponentSpec::Cache(c) => c.redis.replicaof.as_deref().unwrap_or(&self.nodes[i].name),
            _ => return vec![i],
        };
        let Some(p) = self.nodes.iter().position(|n| n.name == primary) else { return vec![i] };
        std::iter::once(p)
            .chain(self.nodes.iter().enumerate().filter_map(|(j, n)| match &n.component {
                ComponentSpec::Cache(c) if c.redis.replicaof.as_deref() == Some(primary) => Some(j),
                _ => None,
            }))
            .collect()
    }

    /// The sentinels monitoring cache `primary`.
    /// The cluster settings of the Kafka controllers named `controllers`
    /// (the first that exists and is a controller).
    pub fn kafka_cluster_of(&self, controllers: &[String]) -> Option<&ControllerConfig> {
        controllers.iter().find_map(|c| match self.nodes.iter().find(|n| &n.name == c).map(|n| &n.component) {
            Some(ComponentSpec::KafkaController(cfg)) => Some(cfg),
            _ => None,
        })
    }

    /// Checks that each of `names` (listed in node `i`'s `field`; empty:
    /// the node itself) is a `kind` node that `same` accepts, listed once,
    /// and linked to node `i`.
    fn kafka_members(
        &self,
        i: usize,
        field: &str,
        names: &[String],
        kind: Kind,
        is_linked: &dyn Fn(usize, usize) -> bool,
        same: impl Fn(&ComponentSpec) -> bool,
    ) -> Result<(), ScenarioError> {
        let me = &self.nodes[i].name;
        for (k, m) in names.iter().enumerate() {
            let at = if field.is_empty() { format!("nodes[{i}]") } else { format!("nodes[{i}].{field}[{k}]") };
            if names[..k].contains(m) {
                return Err(ScenarioError::new(at, format!("`{m}` is listed twice")));
            }
            let Some(t) = self.nodes.iter().position(|n| &n.name == m) else {
                return Err(ScenarioError::new(at, format!("no node is named `{m}`")));
            };
            let other = &self.nodes[t].component;
            if other.kind() != kind {
                return Err(ScenarioError::new(
                    at,
                    format!("`{m}` is a {}; {field} are {} nodes", other.kind().name(), kind.name()),
                ));
            }
            if !same(other) {
                return Err(ScenarioError::new(
                    at,
                    format!("`{m}` describes another cluster: every controller lists the same controllers, brokers and topic, and every broker the same controllers"),
                ));
            }
            if t != i && !is_linked(i, t) {
                return Err(ScenarioError::new(at, format!("no link joins `{me}` to `{m}`; add one to `links`")));
            }
        }
        Ok(())
    }

    /// A Kafka client's bootstrap brokers: they exist, are brokers of one
    /// cluster, and the client is linked to every broker of it (it sends
    /// to each partition's leader).
    fn kafka_client(
        &self,
        i: usize,
        bootstrap: &[String],
        is_linked: &dyn Fn(usize, usize) -> bool,
    ) -> Result<(), ScenarioError> {
        if bootstrap.is_empty() {
            return Err(ScenarioError::new(format!("nodes[{i}].bootstrap"), "name at least one kafka_broker"));
        }
        self.kafka_members(i, "bootstrap", bootstrap, Kind::KafkaBroker, is_linked, |_| true)?;
        let ComponentSpec::KafkaBroker(b) =
            &self.nodes.iter().find(|n| n.name == bootstrap[0]).expect("checked").component
        else {
            unreachable!("checked: a broker")
        };
        // A broker without a cluster is that broker's error, reported there.
        let Some(cluster) = self.kafka_cluster_of(&b.controllers) else { return Ok(()) };
        for (k, name) in bootstrap.iter().enumerate() {
            if !cluster.brokers.contains(name) {
                return Err(ScenarioError::new(
                    format!("nodes[{i}].bootstrap[{k}]"),
                    format!("`{name}` is in another cluster than `{}`", bootstrap[0]),
                ));
            }
        }
        // Missing brokers are the controllers' error, reported there.
        let brokers: Vec<String> =
            cluster.brokers.iter().filter(|b| self.nodes.iter().any(|n| &n.name == *b)).cloned().collect();
        self.kafka_members(i, "", &brokers, Kind::KafkaBroker, is_linked, |_| true)
    }

    /// The controllers of the cluster a Kafka client's first bootstrap
    /// broker belongs to.
    fn kafka_controllers_of(&self, bootstrap: &[String]) -> Option<&Vec<String>> {
        match &self.nodes.iter().find(|n| Some(&n.name) == bootstrap.first())?.component {
            ComponentSpec::KafkaBroker(b) => Some(&b.controllers),
            _ => None,
        }
    }

    /// The topic a Kafka client at node `i` names (unset: the cluster's
    /// first): it must be one of its cluster's.
    fn kafka_topic(&self, i: usize, bootstrap: &[String], topic: Option<&str>) -> Result<String, ScenarioError> {
        let cluster = self.nodes.iter().find(|n| Some(&n.name) == bootstrap.first()).and_then(|n| match &n.component {
            ComponentSpec::KafkaBroker(b) => self.kafka_cluster_of(&b.controllers),
            _ => None,
        });
        // A client without a valid cluster is reported where the cluster is.
        let Some(cluster) = cluster.filter(|c| c.validate().is_ok()) else {
            return Ok(topic.unwrap_or_default().to_string());
        };
        let topics: Vec<String> = cluster.topic_list().into_iter().map(|t| t.name).collect();
        match topic {
            None => Ok(topics.first().cloned().unwrap_or_default()),
            Some(t) if topics.iter().any(|x| x == t) => Ok(t.to_string()),
            Some(t) => Err(ScenarioError::new(
                format!("nodes[{i}].topic"),
                format!("the cluster has no topic `{t}`; its topics: {}", topics.join(", ")),
            )),
        }
    }

    /// The Kafka cluster, as its processes know it, that the node `i`
    /// (a controller, broker or client) belongs to.
    pub fn kafka_cluster(&self, i: usize, id: impl Fn(&str) -> NodeId) -> Option<crate::components::kafka::Cluster> {
        let controllers = match &self.nodes[i].component {
            ComponentSpec::KafkaController(c) => c.controllers.clone(),
            ComponentSpec::KafkaBroker(b) => b.controllers.clone(),
            ComponentSpec::KafkaProducer(ProducerConfig { bootstrap, .. })
            | ComponentSpec::KafkaConsumer(ConsumerConfig { bootstrap, .. }) => {
                match &self.nodes.iter().find(|n| n.name == bootstrap[0])?.component {
                    ComponentSpec::KafkaBroker(b) => b.controllers.clone(),
                    _ => return None,
                }
            }
            _ => return None,
        };
        let c = self.kafka_cluster_of(&controllers)?;
        let hw_waits_for_min_isr = c.kafka_version == crate::components::kafka::config::KafkaVersion::V3_7;
        let mut first = 0;
        let topics: Vec<crate::components::kafka::ClusterTopic> = c
            .topic_list()
            .into_iter()
            .map(|t| {
                let topic = crate::components::kafka::ClusterTopic {
                    name: t.name,
                    config: crate::kafka::TopicConfig { hw_waits_for_min_isr, ..t.config },
                    first,
                };
                first += topic.config.partitions;
                topic
            })
            .collect();
        let groups = self.kafka_groups(&c.controllers, &topics);
        Some(crate::components::kafka::Cluster {
            controllers: c.controllers.iter().map(|n| id(n)).collect(),
            brokers: c.brokers.iter().map(|n| id(n)).collect(),
            topics,
            heartbeat_interval: c.broker_heartbeat_interval,
            session_timeout: c.broker_session_timeout,
            groups,
        })
    }

    /// The server lines a `set server` command on load balancer `node`
    /// names (`backend/server`, or a name in every backend). Err (field,
    /// message) if it names none.
    fn server_lines(&self, node: usize, server: &str) -> Result<Vec<NamedLine<'_>>, (String, String)> {
        let ComponentSpec::LoadBalancer(lb) = &self.nodes[node].component else {
            return Err(("node".into(), format!("`{}` is not a load balancer", self.nodes[node].name)));
        };
        let lb_name = &self.nodes[node].name;
        let (backend, name) = match server.split_once('/') {
            Some((b, n)) => (Some(b), n),
            None => (None, server),
        };
        if let Some(backend) = backend {
            if !(0..=lb.backends.len()).any(|i| backend_name(lb_name, lb, i) == backend) {
                let all: Vec<String> = (0..=lb.backends.len()).map(|i| backend_name(lb_name, lb, i)).collect();
                return Err((
                    "server".into(),
                    format!("`{lb_name}` has no backend `{backend}`; it has {}", all.join(", ")),
                ));
            }
        }
        let lines: Vec<_> = lb
            .all_backends()
            .enumerate()
            .map(|(i, b)| (backend_name(lb_name, lb, i), b))
            .filter(|(bn, _)| backend.is_none_or(|want| want == bn))
            .flat_map(|(bn, b)| b.servers.iter().filter(|s| s.name == name).map(move |s| (bn.clone(), b, s)))
            .collect();
        if lines.is_empty() {
            return Err(("server".into(), format!("`{lb_name}` has no server `{server}`")));
        }
        Ok(lines)
    }

    /// The consumer groups that consumers of the cluster of `controllers`
    /// name, in order of first mention (a group's id is its index), each
    /// with the topic its first member reads.
    fn kafka_groups(
        &self,
        controllers: &[String],
        topics: &[crate::components::kafka::ClusterTopic],
    ) -> Vec<crate::components::kafka::GroupSpec> {
        let mut out: Vec<crate::components::kafka::GroupSpec> = Vec::new();
        for n in &self.nodes {
            let ComponentSpec::KafkaConsumer(c @ ConsumerConfig { group: Some(g), .. }) = &n.component else {
                continue;
            };
            let in_cluster = self.nodes.iter().any(|b| {
                b.name == c.bootstrap[0]
                    && matches!(&b.component, ComponentSpec::KafkaBroker(x) if x.controllers == controllers)
            });
            if in_cluster && !out.iter().any(|x| &x.name == g) {
                let topic = match &c.topic {
                    Some(t) => topics.iter().position(|x| &x.name == t).unwrap_or(0),
                    None => 0,
                };
                out.push(crate::components::kafka::GroupSpec { name: g.clone(), topic });
            }
        }
        out
    }

    pub fn sentinels_of(&self, primary: usize) -> Vec<usize> {
        let name = &self.nodes[primary].name;
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(j, n)| match &n.component {
                ComponentSpec::Sentinel(s) if &s.monitor == name => Some(j),
                _ => None,
            })
            .collect()
    }

    /// Checks one fault's node references and numbers; `Err` is (field, message).
    pub(crate) fn check_fault(
        &self,
        fault: &crate::fault::Fault,
        ids: &BTreeMap<&str, usize>,
        is_linked: &dyn Fn(usize, usize) -> bool,
    ) -> Result<(), (String, String)> {
        use crate::fault::Fault;
        fault.validate()?;
        let resolved = fault
            .resolve(|name| ids.get(name.as_str()).copied().ok_or_else(|| name.clone()))
            .map_err(|name| (fault.field_naming(&name).to_string(), format!("no node is named `{name}`")))?;
        match &resolved {
            Fault::CutLink { between: [a, b] }
            | Fault::HealLink { between: [a, b] }
            | Fault::DegradeLink { between: [a, b], .. }
            | Fault::RestoreLink { between: [a, b] }
            | Fault::HoldLink { between: [a, b] }
            | Fault::ReleaseLink { between: [a, b] }
                if !is_linked(*a, *b) =>
            {
                return Err((
                    "between".into(),
                    format!("no link joins `{}` and `{}`", self.nodes[*a].name, self.nodes[*b].name),
                ));
            }
            Fault::Promote { node }
                if !matches!(self.nodes[*node].component, ComponentSpec::Database(_) | ComponentSpec::Cache(_)) =>
            {
                return Err(("node".into(), format!("`{}` is not a database or a cache", self.nodes[*node].name)));
            }
            Fault::SetServerState { node, server, .. } => {
                self.server_lines(*node, server)?;
            }
            Fault::SetServerWeight { node, server, weight } => {
                for (backend, b, line) in self.server_lines(*node, server)? {
                    let initial = line.effective(&b.default_server).weight;
                    let w = weight.resolve(initial);
                    if let Some(algorithm) = b.static_weights().filter(|_| w != 0 && w != initial) {
                        return Err((
                            "weight".into(),
                            format!(
                                "backend `{backend}` uses a static algorithm ({algorithm}): HAProxy accepts only \
                                 weights 0% and 100% there (`{}` would be {w}, its line says {initial})",
                                weight
                            ),
                        ));
                    }
                }
            }
            Fault::ReplicaOf { node, primary } => {
                for (field, n) in [("node", Some(node)), ("primary", primary.as_ref())] {
                    let Some(&n) = n else { continue };
                    if !matches!(self.nodes[n].component, ComponentSpec::Cache(_)) {
                        return Err((field.into(), format!("`{}` is not a cache", self.nodes[n].name)));
                    }
                }
                if let Some(&p) = primary.as_ref() {
                    if p == *node {
                        return Err(("primary".into(), "a cache cannot replicate itself".into()));
                    }
                    if !is_linked(*node, p) {
                        return Err((
                            "primary".into(),
                            format!("no link joins `{}` and `{}`", self.nodes[*node].name, self.nodes[p].name),
                        ));
                    }
                }
            }
            Fault::Partition { groups } => {
                let mut seen = BTreeMap::new();
                for (g, members) in groups.iter().enumerate() {
                    for &m in members {
                        if let Some(other) = seen.insert(m, g) {
                            return Err((
                                format!("groups[{g}]"),
                                format!("`{}` is already in groups[{other}]", self.nodes[m].name),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Lays out compact JSON text (no whitespace outside strings, as
/// `serde_json::to_string` writes it) the way serde_json's pretty formatter
/// does: two spaces a level, `": "` after keys, `[]` and `{}` when empty.
fn indent_json(compact: &str) -> String {
    let bytes = compact.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // Copy the string through its closing quote.
                let start = i;
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.extend_from_slice(&bytes[start..=i]);
            }
            b'{' | b'[' => {
                out.push(b);
                if matches!(bytes.get(i + 1), Some(b'}' | b']')) {
                    out.push(bytes[i + 1]);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b',');
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("only ASCII was added to UTF-8 text")
}
