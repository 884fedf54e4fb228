//! Topic and producer settings, with Kafka's defaults
//! (`ReplicationConfigs.java`, `LogConfig.java`, `ProducerConfig.java`).

use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// A producer's `acks`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acks {
    /// `acks=0`: no answer at all.
    #[serde(rename = "0")]
    None,
    /// `acks=1`: answered after the leader's own append.
    #[serde(rename = "1")]
    Leader,
    /// `acks=all` (`-1`), the default since Kafka 3.0: answered once the
    /// high watermark passes the write.
    #[default]
    #[serde(rename = "all")]
    All,
}

impl Acks {
    pub fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    #[serde(default = "one")]
    pub partitions: u32,
    #[serde(default = "one")]
    pub replication_factor: u32,
    /// `min.insync.replicas`.
    #[serde(default = "one")]
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`: false since 0.11.
    #[serde(default)]
    pub unclean_leader_election_enable: bool,
    /// `replica.lag.time.max.ms`: 30 s since 2.5 (10 s before).
    #[serde(default = "default_lag")]
    pub replica_lag_time_max: Duration,
    /// Kafka 3.7+ (KAFKA-15583): the high watermark does not move while
    /// the ISR is below `min.insync.replicas`. Before 3.7 it did, and an
    /// `acks=all` write that reached it then was answered
    /// `NOT_ENOUGH_REPLICAS_AFTER_APPEND`. Set from the cluster's version.
    #[serde(skip, default = "yes")]
    pub hw_waits_for_min_isr: bool,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

fn default_lag() -> Duration {
    Duration::from_millis(30_000)
}

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            partitions: 1,
            replication_factor: 1,
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max: default_lag(),
            hw_waits_for_min_isr: true,
        }
    }
}

pub const MAX_PARTITIONS: u32 = 1024;
pub const MAX_REPLICATION_FACTOR: u32 = 16;

impl TopicConfig {
    pub fn validate(&self, brokers: usize) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return err("partitions", format!("partitions must be 1 to {MAX_PARTITIONS}, got {}", self.partitions));
        }
        let rf = self.replication_factor;
        if rf == 0 || rf > MAX_REPLICATION_FACTOR || rf as usize > brokers {
            return err(
                "replication_factor",
                format!("replication_factor must be 1 to the number of brokers ({brokers}), got {rf}"),
            );
        }
        // Kafka accepts min.insync.replicas above the replication factor,
        // and then refuses every acks=all write; say so instead.
        if self.min_insync_replicas == 0 || self.min_insync_replicas > rf {
            return err(
                "min_insync_replicas",
                format!(
                    "min_insync_replicas must be 1 to replication_factor ({rf}), got {}; above it every acks=all write fails with NOT_ENOUGH_REPLICAS",
                    self.min_insync_replicas
                ),
            );
        }
        if self.replica_lag_time_max.nanos < 1_000_000 {
            return err("replica_lag_time_max", "replica_lag_time_max must be at least 1ms".into());
        }
        Ok(())
    }
}
