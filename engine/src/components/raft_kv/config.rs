//! A Raft key-value store member's settings (etcd's flags where they exist).

use crate::raft::{Config, ReadOnlyOption};
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// How the store serves a read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reads {
    /// Linearizable: ReadIndex, confirmed by a heartbeat round (etcd's
    /// default).
    #[default]
    ReadIndex,
    /// The leader answers on its lease, trusting its own clock: stale under
    /// clock skew.
    Lease,
    /// Any member answers from its own state (etcd's serializable reads):
    /// fast, possibly stale.
    Local,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaftKvConfig {
    /// Every member of the group, in order, this one among them; each
    /// member lists the same.
    pub members: Vec<String>,
    /// The logical tick (etcd's `--heartbeat-interval` with one tick per
    /// heartbeat).
    #[serde(default = "default_tick")]
    pub tick: Duration,
    /// Ticks without a leader before campaigning (etcd: election timeout /
    /// heartbeat interval = 10).
    #[serde(default = "default_election_tick")]
    pub election_tick: u32,
    #[serde(default = "one")]
    pub heartbeat_tick: u32,
    #[serde(default = "yes")]
    pub pre_vote: bool,
    #[serde(default = "yes")]
    pub check_quorum: bool,
    #[serde(default)]
    pub reads: Reads,
    /// Client requests waiting for a commit or a read confirmation; more
    /// are refused (503).
    #[serde(default = "default_pending")]
    pub max_pending: usize,
    /// The log's limit; beyond it proposals are refused.
    #[serde(default = "default_log")]
    pub max_log_entries: usize,
    /// Entries applied between two snapshots of the state machine (etcd's
    /// `--snapshot-count`; 10,000 since etcd 3.6).
    #[serde(default = "default_snapshot_count")]
    pub snapshot_count: u64,
    /// Entries the log keeps before a snapshot's point, for followers a
    /// little behind (etcd's `--experimental-snapshot-catchup-entries`);
    /// one further behind gets the snapshot.
    #[serde(default = "default_catchup")]
    pub snapshot_catchup_entries: u64,
    /// How long a member waits for a request's commit or confirmation
    /// before giving up. Unset: etcd's, 5 s plus two election timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<Duration>,
}

fn default_tick() -> Duration {
    Duration::from_millis(100)
}
fn default_election_tick() -> u32 {
    10
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_pending() -> usize {
    10_000
}
fn default_log() -> usize {
    100_000
}
fn default_snapshot_count() -> u64 {
    10_000
}
fn default_catchup() -> u64 {
    5_000
}

pub const MAX_MEMBERS: usize = 9;

impl RaftKvConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.members.is_empty() || self.members.len() > MAX_MEMBERS {
            return err("members", format!("a group has 1 to {MAX_MEMBERS} members, got {}", self.members.len()));
        }
        if self.tick < Duration::from_millis(1) {
            return err("tick", "tick must be at least 1ms".into());
        }
        if self.request_timeout.is_some_and(|t| t < Duration::from_millis(1)) {
            return err("request_timeout", "request_timeout must be at least 1ms".into());
        }
        if self.max_pending == 0 || self.max_pending > 1_000_000 {
            return err("max_pending", format!("max_pending must be 1 to 1000000, got {}", self.max_pending));
        }
        for (f, v) in
            [("snapshot_count", self.snapshot_count), ("snapshot_catchup_entries", self.snapshot_catchup_entries)]
        {
            if v == 0 || v > 1_000_000 {
                return err(f, format!("{f} must be 1 to 1000000, got {v}"));
            }
        }
        if self.reads == Reads::Lease && !self.check_quorum {
            return err(
                "reads",
                "lease reads need check_quorum: true (a leader must step down when cut off), as in etcd".into(),
            );
        }
        self.raft().validate()
    }

    pub fn effective_request_timeout(&self) -> Duration {
        self.request_timeout
            .unwrap_or(Duration::from_nanos(5_000_000_000 + 2 * u64::from(self.election_tick) * self.tick.nanos))
    }

    /// The Raft settings: one entry per append (messages travel by value).
    pub fn raft(&self) -> Config {
        Config {
            election_tick: self.election_tick,
            heartbeat_tick: self.heartbeat_tick,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            read_only: match self.reads {
                Reads::Lease => ReadOnlyOption::LeaseBased,
                Reads::ReadIndex | Reads::Local => ReadOnlyOption::Safe,
            },
            max_entries_per_msg: 1,
            max_log_entries: self.max_log_entries,
            ..Config::default()
        }
    }
}
