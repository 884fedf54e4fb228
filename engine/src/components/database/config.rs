//! A database node's configuration.

use crate::distribution::Distribution;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// How long a write on the primary waits before it is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replication {
    /// At once: replicas get the write later (MySQL's default, PostgreSQL's
    /// `synchronous_commit` without standbys). A failover can lose it.
    #[default]
    Async,
    /// When one replica has it, or after `semi_sync_timeout`, after which
    /// the write is acknowledged anyway (MySQL's semi-synchronous
    /// replication falls back to asynchronous).
    SemiSync,
    /// When every replica has it; no timeout.
    Sync,
}

fn default_workers() -> u32 {
    8
}
fn default_service_time() -> Distribution {
    Distribution::Exponential { min: Duration::from_micros(200), mean: Duration::from_millis(1) }
}
fn default_semi_sync_timeout() -> Duration {
    // rpl_semi_sync_master_timeout
    Duration::from_secs(10)
}
fn default_heartbeat() -> Duration {
    Duration::from_secs(1)
}
fn default_detect_after() -> Duration {
    Duration::from_secs(3)
}
fn default_log() -> usize {
    100_000
}

/// Failure detection: the primary sends heartbeats to its replicas; a
/// replica suspects it after `suspect_after` without one (shown, no
/// action), and the standby (the first replica listed) takes over when
/// none came for `detect_after`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    #[serde(default = "default_heartbeat")]
    pub heartbeat: Duration,
    #[serde(default = "default_detect_after")]
    pub detect_after: Duration,
    /// Unset: two heartbeat intervals (at most `detect_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspect_after: Option<Duration>,
}

impl Failover {
    pub fn effective_suspect_after(&self) -> Duration {
        self.suspect_after
            .unwrap_or(Duration::from_nanos(self.heartbeat.nanos.saturating_mul(2)))
            .min(self.detect_after)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// For the primary: its replicas, in failover order (the first is the
    /// standby). Replicas leave it empty and name `replica_of`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<String>,
    /// For a replica: the primary it follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_of: Option<String>,
    #[serde(default)]
    pub replication: Replication,
    #[serde(default = "default_semi_sync_timeout")]
    pub semi_sync_timeout: Duration,
    /// Automatic failover; without it, only a `promote` fault promotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<Failover>,
    #[serde(default = "default_workers")]
    pub workers: u32,
    #[serde(default = "default_service_time")]
    pub service_time: Distribution,
    /// Writes kept in the replication log for replicas that fall behind
    /// (like binlog retention); a replica further behind cannot catch up.
    #[serde(default = "default_log")]
    pub log_retention: usize,
}

pub const MAX_LOG_RETENTION: usize = 10_000_000;

impl DatabaseConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !self.replicas.is_empty() && self.replica_of.is_some() {
            return Err((
                "replica_of".into(),
                "a database is a primary with `replicas` or a replica with `replica_of`, not both".into(),
            ));
        }
        if self.workers == 0 || self.workers > 10_000 {
            return Err(("workers".into(), format!("workers must be 1 to 10000, got {}", self.workers)));
        }
        if self.log_retention == 0 || self.log_retention > MAX_LOG_RETENTION {
            return Err((
                "log_retention".into(),
                format!("log_retention must be 1 to {MAX_LOG_RETENTION}, got {}", self.log_retention),
            ));
        }
        if let Some(f) = &self.failover {
            if f.heartbeat < Duration::from_millis(1) || f.detect_after <= f.heartbeat {
                return Err((
                    "failover".into(),
                    "heartbeat must be at least 1ms and detect_after longer than heartbeat".into(),
                ));
            }
            if f.suspect_after.is_some_and(|s| s > f.detect_after) {
                return Err((
                    "failover.suspect_after".into(),
                    "suspect_after must be at most detect_after: suspicion comes before the failover".into(),
                ));
            }
        }
        self.service_time.validate().map_err(|e| ("service_time".into(), e))
    }
}
