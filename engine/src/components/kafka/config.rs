//! The settings of Kafka's processes, in Kafka's own names and defaults
//! (semantics.md 3.2): the controller quorum's (which also describe the
//! cluster: its brokers and topic), a broker's, a producer's and a
//! consumer's.

use crate::kafka::{Acks, TopicConfig};
use crate::raft;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

type Check = Result<(), (String, String)>;

fn err(field: &str, msg: String) -> Check {
    Err((field.to_string(), msg))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A KRaft controller. Every controller of the quorum lists the same
/// cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// The controller quorum (`controller.quorum.voters`), this one among
    /// them.
    pub controllers: Vec<String>,
    /// The brokers, in `node.id` order: broker `i` of this list is id `i`.
    pub brokers: Vec<String>,
    /// The cluster's topic (`topic`), or topics (`topics`): one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicSpec>,
    /// `broker.heartbeat.interval.ms`.
    #[serde(default = "default_heartbeat")]
    pub broker_heartbeat_interval: Duration,
    /// `broker.session.timeout.ms`: a broker silent this long is fenced.
    #[serde(default = "default_session")]
    pub broker_session_timeout: Duration,
    /// The quorum's Raft tick; elections after 10 to 19 ticks without a
    /// leader (KRaft's `controller.quorum.election.timeout.ms` is 1 s).
    #[serde(default = "default_tick")]
    pub tick: Duration,
    /// The Kafka version whose rules the brokers follow where they
    /// changed: `"3.7"` (the default) or `"3.6"` (the high watermark still
    /// moved below `min.insync.replicas`).
    #[serde(default)]
    pub kafka_version: KafkaVersion,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KafkaVersion {
    #[serde(rename = "3.6")]
    V3_6,
    #[default]
    #[serde(rename = "3.7")]
    V3_7,
}

/// The cluster's one topic: its name beside its settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicSpec {
    pub name: String,
    #[serde(flatten)]
    pub config: TopicConfig,
}

/// Read as its name, then the other fields as a [`TopicConfig`]; serde's
/// derive for `flatten` would buffer the object and compile the settings'
/// reader again for the buffer ([`crate::json_fields`]).
impl<'de> Deserialize<'de> for TopicSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        topic(&mut crate::json_fields::Fields::of(d, "a topic")?).map_err(D::Error::custom)
    }
}

fn topic(f: &mut crate::json_fields::Fields) -> Result<TopicSpec, crate::json_fields::Error> {
    Ok(TopicSpec { name: f.or("name", default_topic_name)?, config: f.rest()? })
}

/// What is wrong with a topic's object, and in which field.
pub(crate) fn topic_field_error(v: &serde_json::Value) -> Option<(Option<String>, String)> {
    crate::json_fields::field_error(v, topic)
}

fn default_topic_name() -> String {
    "events".into()
}
fn default_heartbeat() -> Duration {
    ms(2000)
}
fn default_session() -> Duration {
    ms(9000)
}
fn default_tick() -> Duration {
    ms(100)
}

pub const MAX_CONTROLLERS: usize = 9;
pub const MAX_TOPICS: usize = 16;

impl ControllerConfig {
    pub fn validate(&self) -> Check {
        if self.controllers.is_empty() || self.controllers.len() > MAX_CONTROLLERS {
            return err(
                "controllers",
                format!("a quorum has 1 to {MAX_CONTROLLERS} controllers, got {}", self.controllers.len()),
            );
        }
        let n = self.brokers.len();
        if n == 0 || n > crate::kafka::metadata::MAX_BROKERS {
            return err(
                "brokers",
                format!("a cluster has 1 to {} brokers, got {n}", crate::kafka::metadata::MAX_BROKERS),
            );
        }
        let field = if self.topic.is_some() { "topic" } else { "topics" };
        let topics = self.topic_list();
        match (&self.topic, self.topics.len()) {
            (Some(_), 0) => {}
            (None, 1..=MAX_TOPICS) => {}
            (Some(_), _) => return err("topics", "give `topic` or `topics`, not both".into()),
            (None, 0) => return err("topic", "a cluster needs a `topic` (or a list of `topics`)".into()),
            (None, k) => return err("topics", format!("a cluster has 1 to {MAX_TOPICS} topics, got {k}")),
        }
        let mut total = 0;
        for (i, t) in topics.iter().enumerate() {
            let at = |f: &str| if field == "topic" { format!("topic.{f}") } else { format!("topics[{i}].{f}") };
            let name = &t.name;
            if name.is_empty()
                || name.len() > 249
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                || name.starts_with("__")
            {
                return err(
                    &at("name"),
                    format!("`{name}` is not a topic name: 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-', not starting with `__` (Kafka's internal topics)"),
                );
            }
            if topics[..i].iter().any(|o| &o.name == name) {
                return err(&at("name"), format!("the topic `{name}` is listed twice"));
            }
            t.config.validate(n).map_err(|(f, m)| (at(&f), m))?;
            total += t.config.partitions;
        }
        if total > crate::kafka::config::MAX_PARTITIONS {
            return err(
                field,
                format!(
                    "a cluster has at most {} partitions in all, got {total}",
                    crate::kafka::config::MAX_PARTITIONS
                ),
            );
        }
        if self.broker_heartbeat_interval < ms(1) {
            return err("broker_heartbeat_interval", "broker_heartbeat_interval must be at least 1ms".into());
        }
        if self.broker_session_timeout <= self.broker_heartbeat_interval {
            return err(
                "broker_session_timeout",
                format!(
                    "broker_session_timeout ({}) must be longer than broker_heartbeat_interval ({})",
                    self.broker_session_timeout, self.broker_heartbeat_interval
                ),
            );
        }
        if self.tick < ms(1) {
            return err("tick", "tick must be at least 1ms".into());
        }
        Ok(())
    }

    /// The topics, whichever way they were given.
    pub fn topic_list(&self) -> Vec<TopicSpec> {
        match &self.topic {
            Some(t) => vec![t.clone()],
            None => self.topics.clone(),
        }
    }

    /// The quorum's Raft settings (messages carry one entry each).
    pub fn raft(&self) -> raft::Config {
        raft::Config { max_entries_per_msg: 1, ..raft::Config::default() }
    }
}

/// A broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// The controller quorum this broker belongs to.
    pub controllers: Vec<String>,
    /// `replica.fetch.wait.max.ms` (also the most a consumer's fetch
    /// waits, `fetch.max.wait.ms`).
    #[serde(default = "default_fetch_wait")]
    pub replica_fetch_wait_max: Duration,
    /// `replica.fetch.backoff.ms`: the pause after a failed fetch.
    #[serde(default = "default_fetch_backoff")]
    pub replica_fetch_backoff: Duration,
    /// Records one fetch answer carries at most (`replica.fetch.max.bytes`
    /// is 1 MiB: about 10,000 records of 100 bytes).
    #[serde(default = "default_fetch_records")]
    pub fetch_max_records: u32,
    /// Records a partition's log holds at most; a produce beyond it gets
    /// KAFKA_STORAGE_ERROR.
    #[serde(default = "default_log_records")]
    pub max_log_records: u64,
    /// `log.flush.interval.messages`: fsync a partition's log once this
    /// many records are not yet on disk. Unset (Kafka's default, in effect
    /// never) leaves the writes to the page cache and durability to
    /// replication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_flush_interval_messages: Option<u64>,
}

fn default_fetch_wait() -> Duration {
    ms(500)
}
fn default_fetch_backoff() -> Duration {
    ms(1000)
}
fn default_fetch_records() -> u32 {
    10_000
}
fn default_log_records() -> u64 {
    1_000_000
}

impl BrokerConfig {
    pub fn validate(&self) -> Check {
        if self.replica_fetch_wait_max < ms(1) {
            return err("replica_fetch_wait_max", "replica_fetch_wait_max must be at least 1ms".into());
        }
        if self.fetch_max_records == 0 || self.fetch_max_records > 100_000 {
            return err(
                "fetch_max_records",
                format!("fetch_max_records must be 1 to 100000, got {}", self.fetch_max_records),
            );
        }
        if self.max_log_records == 0 || self.max_log_records > 10_000_000 {
            return err(
                "max_log_records",
                format!("max_log_records must be 1 to 10000000, got {}", self.max_log_records),
            );
        }
        if self.log_flush_interval_messages == Some(0) {
            return err(
                "log_flush_interval_messages",
                "log_flush_interval_messages must be at least 1 (1: fsync after every record)".into(),
            );
        }
        Ok(())
    }
}

/// How a producer's records arrive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProduceLoad {
    /// Records per second (Poisson arrivals).
    pub rate: f64,
    /// Keys are drawn from `0..keys`; key `k` goes to partition
    /// `k mod partitions`.
    #[serde(default = "default_keys")]
    pub keys: u32,
}

fn default_keys() -> u32 {
    1000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerConfig {
    /// `bootstrap.servers`: brokers asked for metadata.
    pub bootstrap: Vec<String>,
    /// The topic records go to; unset: the cluster's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    pub load: ProduceLoad,
    #[serde(default)]
    pub acks: Acks,
    /// `retries` (default MAX_INT: bounded by `delivery_timeout`).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `retry.backoff.ms`.
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: Duration,
    /// `request.timeout.ms`.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: Duration,
    /// `delivery.timeout.ms`: a record not acknowledged this long after
    /// it was sent fails.
    #[serde(default = "default_delivery_timeout")]
    pub delivery_timeout: Duration,
    /// `enable.idempotence`. Unset: on with `acks=all` (Kafka 3.0+), off
    /// otherwise (Kafka turns it off when acks is set to 0 or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_idempotence: Option<bool>,
    /// `max.in.flight.requests.per.connection`: produce requests sent to
    /// one broker and not yet answered, at most. Above 1, a retried batch
    /// can land after a later one (reordering) unless the producer is
    /// idempotent; 1 keeps order at the cost of throughput.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight_requests_per_connection: u32,
    /// Records one batch carries at most (`batch.size` 16 KiB: 163
    /// records of 100 bytes).
    #[serde(default = "default_batch_records")]
    pub batch_records: u32,
    /// Records waiting to be sent at most (`buffer.memory`); beyond it a
    /// new record is not sent and counted as such.
    #[serde(default = "default_buffered")]
    pub max_buffered: u32,
    #[serde(default)]
    pub start: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Duration>,
}

fn default_retries() -> u32 {
    i32::MAX as u32
}
fn default_retry_backoff() -> Duration {
    ms(100)
}
fn default_request_timeout() -> Duration {
    ms(30_000)
}
fn default_delivery_timeout() -> Duration {
    ms(120_000)
}
fn default_max_in_flight() -> u32 {
    5
}
/// Kafka's `MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE`: a broker
/// remembers a producer's last five batches per partition, so it can tell
/// a retry from a gap only that far back.
pub const MAX_IN_FLIGHT_FOR_IDEMPOTENCE: u32 = 5;
fn default_batch_records() -> u32 {
    163
}
fn default_buffered() -> u32 {
    100_000
}

impl ProducerConfig {
    /// `enable.idempotence` as Kafka settles it: unset, it is on unless
    /// `acks` is not `all` or `retries` is 0 (`ProducerConfig`'s
    /// `postProcessAndValidateIdempotenceConfigs`).
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence.unwrap_or(self.acks == Acks::All && self.retries > 0)
    }

    pub fn validate(&self) -> Check {
        let rate = self.load.rate;
        if !rate.is_finite() || rate <= 0.0 || rate > 1_000_000.0 {
            return err(
                "load.rate",
                format!("rate must be above 0 and at most 1000000 records per second, got {rate}"),
            );
        }
        if self.load.keys == 0 {
            return err("load.keys", "keys must be at least 1".into());
        }
        if self.enable_idempotence == Some(true) && self.acks != Acks::All {
            // Kafka refuses this configuration (ConfigException).
            return err("enable_idempotence", "an idempotent producer needs acks: \"all\"".into());
        }
        if self.enable_idempotence == Some(true) && self.retries == 0 {
            return err("retries", "an idempotent producer needs retries above 0".into());
        }
        let in_flight = self.max_in_flight_requests_per_connection;
        if in_flight == 0 || in_flight > 1000 {
            return err(
                "max_in_flight_requests_per_connection",
                format!("max_in_flight_requests_per_connection must be 1 to 1000, got {in_flight}"),
            );
        }
        // Kafka checks this before it turns idempotence off for acks or
        // retries, so an unset enable_idempotence counts as on here.
        if self.enable_idempotence != Some(false) && in_flight > MAX_IN_FLIGHT_FOR_IDEMPOTENCE {
            return err(
                "max_in_flight_requests_per_connection",
                format!(
                    "an idempotent producer allows at most {MAX_IN_FLIGHT_FOR_IDEMPOTENCE} requests in flight, \
                     got {in_flight} (set enable_idempotence: false for more)"
                ),
            );
        }
        if self.request_timeout < ms(1) {
            return err("request_timeout", "request_timeout must be at least 1ms".into());
        }
        if self.delivery_timeout < self.request_timeout {
            // Kafka: delivery.timeout.ms should be >= linger.ms + request.timeout.ms.
            return err(
                "delivery_timeout",
                format!(
                    "delivery_timeout ({}) must be at least request_timeout ({})",
                    self.delivery_timeout, self.request_timeout
                ),
            );
        }
        if self.batch_records == 0 || self.batch_records > 100_000 {
            return err("batch_records", format!("batch_records must be 1 to 100000, got {}", self.batch_records));
        }
        if self.max_buffered == 0 || self.max_buffered > 10_000_000 {
            return err("max_buffered", format!("max_buffered must be 1 to 10000000, got {}", self.max_buffered));
        }
        if let Some(stop) = self.stop {
            if stop <= self.start {
                return err("stop", format!("stop ({stop}) must come after start ({})", self.start));
            }
        }
        Ok(())
    }
}

/// Where a consumer starts in a partition with no committed offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReset {
    Earliest,
    /// Kafka's default: only records written from now on.
    #[default]
    Latest,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    pub bootstrap: Vec<String>,
    /// The topic it reads; unset: the cluster's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// `group.id`: the consumer joins this group and reads the partitions
    /// its coordinator assigns, from the group's committed offsets. Without
    /// it the consumer reads every partition from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `enable.auto.commit`.
    #[serde(default = "yes")]
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    #[serde(default = "default_auto_commit")]
    pub auto_commit_interval: Duration,
    /// `session.timeout.ms`: a member silent this long leaves the group.
    #[serde(default = "default_group_session")]
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    #[serde(default = "default_group_heartbeat")]
    pub heartbeat_interval: Duration,
    /// `auto.offset.reset`.
    #[serde(default)]
    pub auto_offset_reset: OffsetReset,
    /// `request.timeout.ms` for fetches.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: Duration,
    /// `retry.backoff.ms`.
    #[serde(default = "default_retry_backoff")]
    pub retry_backoff: Duration,
    #[serde(default)]
    pub start: Duration,
}

fn yes() -> bool {
    true
}
fn default_auto_commit() -> Duration {
    ms(5000)
}
fn default_group_session() -> Duration {
    ms(45_000)
}
fn default_group_heartbeat() -> Duration {
    ms(3000)
}

/// Consumer groups' coordinators: `group.initial.rebalance.delay.ms`.
pub const INITIAL_REBALANCE_DELAY_NS: u64 = 3_000_000_000;

impl ConsumerConfig {
    pub fn validate(&self) -> Check {
        if let Some(g) = &self.group {
            if g.is_empty() || g.len() > 255 {
                return err("group", "a group id is 1 to 255 characters".into());
            }
        }
        if self.heartbeat_interval < ms(1) || self.heartbeat_interval >= self.session_timeout {
            return err(
                "heartbeat_interval",
                format!(
                    "heartbeat_interval ({}) must be at least 1ms and shorter than session_timeout ({})",
                    self.heartbeat_interval, self.session_timeout
                ),
            );
        }
        if self.auto_commit_interval < ms(1) {
            return err("auto_commit_interval", "auto_commit_interval must be at least 1ms".into());
        }
        if self.request_timeout < ms(1) {
            return err("request_timeout", "request_timeout must be at least 1ms".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<TopicSpec, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn a_topic_reads_its_name_and_settings_and_names_a_mistake() {
        let t = read(json!({ "name": "orders", "partitions": 6, "min_insync_replicas": 2 })).unwrap();
        assert_eq!((t.name.as_str(), t.config.partitions, t.config.min_insync_replicas), ("orders", 6, 2));
        assert_eq!(read(serde_json::to_value(&t).unwrap()), Ok(t));
        assert_eq!(read(json!({})).unwrap().name, "events", "the default name");
        let e = read(json!({ "name": "orders", "partitons": 6 })).unwrap_err();
        assert!(e.starts_with("unknown field `partitons`, expected one of `partitions`"), "{e}");
        assert_eq!(read(json!("orders")).unwrap_err(), "expected a topic (a JSON object), got \"orders\"");
    }
}
