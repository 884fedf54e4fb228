//! A Raft node's settings, with etcd's defaults.

use serde::{Deserialize, Serialize};

/// How the leader serves `ReadIndex` requests (etcd's `ReadOnlyOption`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadOnlyOption {
    /// Confirm leadership with a heartbeat round before answering
    /// (`ReadOnlySafe`, the default): linearizable.
    #[default]
    Safe,
    /// Answer at once, trusting that no other leader can exist before this
    /// one's election timeout passes by its own clock (`ReadOnlyLeaseBased`):
    /// stale under clock drift.
    LeaseBased,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Ticks without hearing from a leader before campaigning; the actual
    /// timeout is drawn from `[election_tick, 2 * election_tick - 1]`.
    pub election_tick: u32,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_tick: u32,
    pub pre_vote: bool,
    pub check_quorum: bool,
    pub read_only: ReadOnlyOption,
    /// Append messages in flight to one follower in the replicate state.
    pub max_inflight_msgs: usize,
    /// Entries in one append message.
    pub max_entries_per_msg: usize,
    /// The log's length limit; beyond it the leader drops proposals.
    pub max_log_entries: usize,
    /// Read requests waiting for confirmation; beyond it they are dropped.
    pub max_pending_reads: usize,
}

impl Default for Config {
    /// etcd's server settings: a 100 ms tick, `heartbeat-interval` 100 ms
    /// (1 tick), `election-timeout` 1000 ms (10 ticks); etcd enables PreVote
    /// and CheckQuorum by default since 3.4 / 3.5.
    fn default() -> Config {
        Config {
            election_tick: 10,
            heartbeat_tick: 1,
            pre_vote: true,
            check_quorum: true,
            read_only: ReadOnlyOption::Safe,
            max_inflight_msgs: 256,
            max_entries_per_msg: 64,
            max_log_entries: 100_000,
            max_pending_reads: 4096,
        }
    }
}

impl Config {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.heartbeat_tick == 0 {
            return err("heartbeat_tick", "heartbeat_tick must be at least 1".into());
        }
        if self.election_tick <= self.heartbeat_tick {
            return err(
                "election_tick",
                format!(
                    "election_tick ({}) must be greater than heartbeat_tick ({})",
                    self.election_tick, self.heartbeat_tick
                ),
            );
        }
        if self.read_only == ReadOnlyOption::LeaseBased && !self.check_quorum {
            return err("read_only", "lease-based reads need check_quorum, as in etcd".into());
        }
        for (f, v, max) in [
            ("max_inflight_msgs", self.max_inflight_msgs, 4096),
            ("max_entries_per_msg", self.max_entries_per_msg, 4096),
            ("max_log_entries", self.max_log_entries, 1_000_000),
            ("max_pending_reads", self.max_pending_reads, 100_000),
        ] {
            if v == 0 || v > max {
                return err(f, format!("{f} must be 1 to {max}, got {v}"));
            }
        }
        Ok(())
    }
}
