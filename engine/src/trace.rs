//! The event trace: what happened, in order, for the UI's animation and event
//! log, for trace files, and for the trace hash that proves two runs equal.
//!
//! The trace keeps only the newest `capacity` events (a ring); the hash covers
//! every event ever recorded, kept or not, and the number discarded is
//! reported, so the bound is visible.

use crate::components::load_balancer::check_result::CheckResult;
use crate::message::{Message, NodeId, Timer};
use crate::network::DropReason;
use crate::time::Time;
use serde::Serialize;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// What changed about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeChange {
    Started,
    Crashed,
    Restarted,
    Paused,
    Resumed,
    ClockSkewed,
    Slowed,
}

/// Things a component reports about itself for the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "note")]
pub enum Note {
    /// A load balancer marked a server DOWN (health counter reached 0).
    ServerDown {
        server: NodeId,
        health: u32,
        reason: CheckResult,
    },
    /// A load balancer marked a server UP (health counter reached rise).
    ServerUp {
        server: NodeId,
        health: u32,
        reason: CheckResult,
    },
    /// A health check result that moved the counter without changing state.
    CheckFailed {
        server: NodeId,
        health: u32,
        reason: CheckResult,
    },
    CheckPassed {
        server: NodeId,
        health: u32,
        reason: CheckResult,
    },
    /// A load balancer had no usable server: 503.
    NoServerAvailable,
    /// A server's queue was full: the request was refused with 503.
    QueueFull {
        queued: u32,
    },
    /// A load balancer's accept backlog was full: the connection was dropped.
    BacklogFull,
    /// A request waited in a load balancer's queue longer than `timeout
    /// queue`: 503.
    QueueTimeout,
    /// A load balancer retried a request after a failed connection.
    Retried {
        server: NodeId,
        attempt: u32,
    },
    /// A database became the primary of `epoch`.
    Promoted {
        epoch: u32,
        /// Why (in the event log's sentence, not in the note's fields).
        #[serde(skip)]
        by: crate::components::database::promotion::Promotion,
    },
    /// A database that was primary learned of a newer `epoch` and became
    /// a replica.
    Demoted {
        epoch: u32,
    },
    /// A client could not send: too many requests outstanding.
    ClientOverloaded {
        outstanding: u32,
    },
    /// A Redis instance changed role: `REPLICAOF` `primary`, or (`None`)
    /// `REPLICAOF NO ONE`.
    CacheRole {
        primary: Option<NodeId>,
    },
    /// A Redis primary answered a replica's PSYNC with `+FULLRESYNC`.
    FullResync {
        replica: NodeId,
    },
    /// A Redis primary answered a replica's PSYNC with `+CONTINUE`: the
    /// replica continues from `offset` out of the backlog.
    PartialResync {
        replica: NodeId,
        offset: u64,
    },
    /// A replica flushed its dataset and loaded an RDB of `keys` keys.
    RdbLoaded {
        keys: u32,
        offset: u64,
    },
    /// A replica's link to its primary went down.
    ReplLinkDown {
        primary: NodeId,
        reason: LinkDown,
    },
    /// A primary dropped a replica (its ACKs stopped for `repl-timeout`, or
    /// the connection closed).
    ReplicaDropped {
        replica: NodeId,
        reason: ReplicaDrop,
    },
    /// A WAIT was refused: too many clients already blocked.
    WaitClientsFull,
    /// A sentinel sees `node` subjectively down (SDOWN), or no longer.
    Sdown {
        node: NodeId,
    },
    SdownCleared {
        node: NodeId,
    },
    /// A sentinel sees the primary objectively down: `agree` sentinels,
    /// itself included, think so (at least `quorum`).
    Odown {
        primary: NodeId,
        agree: u32,
    },
    OdownCleared {
        primary: NodeId,
    },
    /// A sentinel starts a failover of `epoch` and asks for votes.
    FailoverStarted {
        epoch: u32,
    },
    /// A sentinel won the election of `epoch` with `votes` votes.
    FailoverLeader {
        epoch: u32,
        votes: u32,
    },
    /// A sentinel sends `REPLICAOF NO ONE` to the replica it selected.
    PromotingReplica {
        replica: NodeId,
    },
    /// A failover ended without a new primary.
    FailoverAborted {
        epoch: u32,
        reason: AbortReason,
    },
    /// `+switch-master`: the primary is now `to` (configuration `epoch`).
    SwitchMaster {
        from: NodeId,
        to: NodeId,
        epoch: u32,
    },
    /// A sentinel tells an instance that reports itself primary, against
    /// the configuration, to replicate the primary.
    ConvertingToReplica {
        node: NodeId,
    },
    /// A primary dropped a replica waiting for its RDB: the stream held
    /// for it since the fork (`bytes`) passed the replica output buffer
    /// limit.
    ReplicaOutputBufferFull {
        replica: NodeId,
        bytes: u64,
    },
    /// A primary without replicas for `repl-backlog-ttl` freed its backlog.
    BacklogFreed,
    /// A load balancer routed a request by its `use_backend` rule number
    /// `rule` (`NO_RULE`: none applied; the default backend).
    UseBackend {
        rule: u16,
    },
    /// A Raft member's role or term changed.
    RaftRole {
        role: crate::raft::Role,
        term: u64,
        /// Why (the other members named as nodes); in the event log's
        /// sentence, not in the note's own fields.
        #[serde(skip)]
        cause: crate::raft::RoleCause<NodeId>,
    },
    /// A Kafka broker became leader of a partition in a leader epoch, with
    /// this ISR.
    KafkaLeader {
        partition: u32,
        leader_epoch: u32,
        isr: crate::kafka::metadata::BrokerSet,
        /// The leader and ISR before the controller's change, when one
        /// made it (not at a broker's start); in the event log's sentence,
        /// not in the note's own fields.
        #[serde(skip)]
        before: Option<(Option<crate::kafka::BrokerId>, crate::kafka::metadata::BrokerSet)>,
    },
    /// A partition leader's ISR changed (committed by the controller).
    KafkaIsr {
        partition: u32,
        isr: crate::kafka::metadata::BrokerSet,
        /// The ISR before, and why it changed (in the event log's
        /// sentence, not in the note's own fields).
        #[serde(skip)]
        was: crate::kafka::metadata::BrokerSet,
        #[serde(skip)]
        change: crate::kafka::isr_change::IsrChange,
    },
    /// A follower truncated its log to `offset` (its records beyond it
    /// differed from the leader's).
    KafkaTruncated {
        partition: u32,
        offset: u64,
        dropped: u64,
    },
    /// The active controller fenced or unfenced a broker.
    KafkaFence {
        broker: u32,
        fenced: bool,
        /// Fenced because it came back as a new process, not because its
        /// session expired (in the event log's sentence only).
        #[serde(skip)]
        restarted: bool,
    },
    // New notes go last: a note's place is in the trace hash, and runs
    // that never show a new note keep their fingerprints.
    /// A semi-synchronous primary waited `semi_sync_timeout` for a replica
    /// to acknowledge `lsn` and gave up: it acknowledges writes at once
    /// (asynchronous) until a replica catches up (MySQL's "Semi-sync
    /// replication switched OFF").
    SemiSyncOff {
        lsn: u64,
    },
    /// A replica caught up with the primary (it holds `lsn`, the newest
    /// when it asked): writes wait for a replica again ("switched ON").
    SemiSyncOn {
        lsn: u64,
    },
    /// A fenced broker that restarted registered again with the active
    /// controller (a new incarnation): it stays fenced until it has caught
    /// up with the metadata log.
    KafkaRegistered {
        broker: u32,
    },
    /// Log recovery after the host lost power: the partition's log now
    /// ends at `offset`; `lost` records were only in the page cache.
    KafkaLogRecovered {
        partition: u32,
        offset: u64,
        lost: u64,
    },
    /// A cache with `appendonly` started again and replayed its
    /// append-only file: `keys` keys ("DB loaded from append only file").
    AofLoaded {
        keys: u32,
    },
    /// A cache saved an RDB snapshot (`save`): `keys` keys to `dump.rdb`.
    RdbSaved {
        keys: u32,
    },
    /// A cache without `appendonly` started again and loaded `dump.rdb`.
    RdbFileLoaded {
        keys: u32,
    },
    /// A producer's request to `broker` got no answer within
    /// `request.timeout.ms`: it closes the connection, and every request
    /// in flight on it (`in_flight`, this one included) fails (Kafka's
    /// "Disconnecting from node 1 due to request timeout").
    KafkaRequestTimeout {
        broker: NodeId,
        in_flight: u32,
    },
    /// A producer sends a failed batch of `records` for `partition` again
    /// after `retry.backoff.ms`: its retry number `retry` (Kafka's "Got
    /// error produce response ..., retrying").
    KafkaRetrying {
        partition: u32,
        records: u32,
        retry: u32,
        error: crate::kafka::ProduceError,
    },
    /// A load balancer's health analysis (`observe`) saw `errors` errors
    /// in a row from `server`, the `last` of them as given, and did
    /// `on_error`; `health` is the check counter after it.
    ErrorLimit {
        server: NodeId,
        errors: u32,
        last: crate::components::load_balancer::observe::Outcome,
        on_error: crate::components::load_balancer::observe::OnError,
        health: u32,
    },
    /// A load balancer sent a request again after it failed on `server`
    /// (an answer's status, a closed connection, or `timeout server`), per
    /// `retry-on`. (Last: a note's place is part of the trace hash.)
    L7Retry {
        server: NodeId,
        attempt: u32,
        failure: crate::components::load_balancer::retry_on::L7Failure,
    },
    /// A load balancer dropped a request whose client closed its
    /// connection (`option abortonclose`). (Last: see above.)
    ClientAborted {
        client: NodeId,
        at: crate::components::load_balancer::AbortedAt,
    },
    /// A load balancer marked `server` DOWN and, per `on-marked-down
    /// shutdown-sessions`, ended the `sessions` requests it held with 502s.
    /// (Last: see above.)
    SessionsShutDown {
        server: NodeId,
        sessions: u32,
    },
    /// An operator set `server`'s administrative state on a load balancer
    /// (`set server ... state`); `was_up` says whether maintenance took an
    /// UP server DOWN. (Last: see above.)
    ServerAdmin {
        server: NodeId,
        state: crate::components::load_balancer::admin::AdminState,
        was_up: bool,
    },
    /// An operator set `server`'s user weight on a load balancer (`set
    /// server ... weight`). (Last: see above.)
    ServerWeight {
        server: NodeId,
        weight: u32,
    },
    /// The active `server` came UP with `on-marked-up
    /// shutdown-backup-sessions`: the `sessions` requests the backup
    /// server `backup` held got a 502 at once. (Last: see above.)
    BackupSessionsShutDown {
        server: NodeId,
        backup: NodeId,
        sessions: u32,
    },
    /// An operator's command (a promotion, `REPLICAOF`, `set server`)
    /// could not reach the process: it is down, so its host refused the
    /// connection. (Last: see above.)
    CommandRefused,
    /// A Raft member turned a request away because one of its bounds was
    /// reached (`limit`): a client's request got 503, a proposal forwarded
    /// to the leader was dropped (its client times out). (Last: see above.)
    RaftRefused {
        bound: RaftBound,
        limit: u32,
    },
    /// A Raft member took a snapshot of its state machine at `index` and
    /// compacted its log up to `compacted`. (Last: see above.)
    RaftSnapshot {
        index: u64,
        compacted: u64,
    },
    /// A Raft follower loaded the snapshot `leader` sent it (up to
    /// `index`) in place of its log. (Last: see above.)
    RaftSnapshotLoaded {
        index: u64,
        leader: NodeId,
    },
}

/// The bound that made a Raft member turn a request away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftBound {
    /// The log holds `max_log_entries` entries not yet compacted.
    MaxLogEntries,
    /// `max_pending_reads` reads wait for the leader's confirmation.
    MaxPendingReads,
    /// `max_pending` of the member's clients' requests wait.
    MaxPending,
    /// The run has filed the most store writes it keeps
    /// (`world::MAX_COMMANDS`).
    Commands,
}

impl Note {
    /// The note's name as trace files write it (`server_down`).
    pub fn name(&self) -> &'static str {
        match self {
            Note::ServerDown { .. } => "server_down",
            Note::ServerUp { .. } => "server_up",
            Note::CheckFailed { .. } => "check_failed",
            Note::CheckPassed { .. } => "check_passed",
            Note::NoServerAvailable => "no_server_available",
            Note::QueueFull { .. } => "queue_full",
            Note::BacklogFull => "backlog_full",
            Note::QueueTimeout => "queue_timeout",
            Note::Retried { .. } => "retried",
            Note::Promoted { .. } => "promoted",
            Note::Demoted { .. } => "demoted",
            Note::ClientOverloaded { .. } => "client_overloaded",
            Note::CacheRole { .. } => "cache_role",
            Note::FullResync { .. } => "full_resync",
            Note::PartialResync { .. } => "partial_resync",
            Note::RdbLoaded { .. } => "rdb_loaded",
            Note::ReplLinkDown { .. } => "repl_link_down",
            Note::ReplicaDropped { .. } => "replica_dropped",
            Note::WaitClientsFull => "wait_clients_full",
            Note::Sdown { .. } => "sdown",
            Note::SdownCleared { .. } => "sdown_cleared",
            Note::Odown { .. } => "odown",
            Note::OdownCleared { .. } => "odown_cleared",
            Note::FailoverStarted { .. } => "failover_started",
            Note::FailoverLeader { .. } => "failover_leader",
            Note::PromotingReplica { .. } => "promoting_replica",
            Note::FailoverAborted { .. } => "failover_aborted",
            Note::SwitchMaster { .. } => "switch_master",
            Note::ConvertingToReplica { .. } => "converting_to_replica",
            Note::ReplicaOutputBufferFull { .. } => "replica_output_buffer_full",
            Note::BacklogFreed => "backlog_freed",
            Note::UseBackend { .. } => "use_backend",
            Note::RaftRole { .. } => "raft_role",
            Note::KafkaLeader { .. } => "kafka_leader",
            Note::KafkaIsr { .. } => "kafka_isr",
            Note::KafkaTruncated { .. } => "kafka_truncated",
            Note::KafkaFence { .. } => "kafka_fence",
            Note::SemiSyncOff { .. } => "semi_sync_off",
            Note::SemiSyncOn { .. } => "semi_sync_on",
            Note::KafkaRegistered { .. } => "kafka_registered",
            Note::KafkaLogRecovered { .. } => "kafka_log_recovered",
            Note::AofLoaded { .. } => "aof_loaded",
            Note::RdbSaved { .. } => "rdb_saved",
            Note::RdbFileLoaded { .. } => "rdb_file_loaded",
            Note::KafkaRequestTimeout { .. } => "kafka_request_timeout",
            Note::KafkaRetrying { .. } => "kafka_retrying",
            Note::ErrorLimit { .. } => "error_limit",
            Note::L7Retry { .. } => "l7_retry",
            Note::ClientAborted { .. } => "client_aborted",
            Note::SessionsShutDown { .. } => "sessions_shut_down",
            Note::ServerAdmin { .. } => "server_admin",
            Note::ServerWeight { .. } => "server_weight",
            Note::BackupSessionsShutDown { .. } => "backup_sessions_shut_down",
            Note::CommandRefused => "command_refused",
            Note::RaftRefused { .. } => "raft_refused",
            Note::RaftSnapshot { .. } => "raft_snapshot",
            Note::RaftSnapshotLoaded { .. } => "raft_snapshot_loaded",
        }
    }

    /// The Raft role a `raft_role` note reports.
    pub fn raft_role(&self) -> Option<crate::raft::Role> {
        match self {
            Note::RaftRole { role, .. } => Some(*role),
            _ => None,
        }
    }
}

impl NodeChange {
    /// The change's name as trace files write it (`clock_skewed`).
    pub fn name(self) -> &'static str {
        match self {
            NodeChange::Started => "started",
            NodeChange::Crashed => "crashed",
            NodeChange::Restarted => "restarted",
            NodeChange::Paused => "paused",
            NodeChange::Resumed => "resumed",
            NodeChange::ClockSkewed => "clock_skewed",
            NodeChange::Slowed => "slowed",
        }
    }
}

/// Why a primary dropped a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaDrop {
    /// No `REPLCONF ACK` from it for `repl-timeout`.
    AckTimeout,
    /// It closed or reset the connection.
    Closed,
    /// What it must be sent again is no longer in the backlog.
    BacklogGap,
}

/// Why a replica's link to its primary went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkDown {
    /// Nothing from the primary for `repl-timeout`.
    Timeout,
    /// The connection was closed or reset (the primary's process died).
    Closed,
    /// Part of the stream never arrived (a lossy link): the model breaks
    /// the connection as TCP would fail it.
    Gap,
    /// The RDB did not arrive whole.
    BrokenRdb,
}

/// Why a sentinel's failover ended without a new primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbortReason {
    /// Not elected leader in time.
    NotElected,
    /// No replica could be promoted.
    NoGoodReplica,
    /// The selected replica did not become primary within
    /// `failover-timeout`.
    PromotionTimeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum What {
    /// A message arrived and was handled. (Sending is not an event of its
    /// own: a message sent is either delivered or dropped, and both say
    /// when it was sent.)
    Deliver {
        from: NodeId,
        to: NodeId,
        sent_at: Time,
        msg: Message,
    },
    /// A message did not arrive: lost on the link when sent, or stopped on
    /// arrival.
    Drop {
        from: NodeId,
        to: NodeId,
        sent_at: Time,
        msg: Message,
        reason: DropReason,
    },
    Timer {
        node: NodeId,
        timer: Timer,
    },
    Node {
        node: NodeId,
        change: NodeChange,
    },
    /// The fault with this index in the run's fault list took effect.
    Fault {
        index: u32,
    },
    Note {
        node: NodeId,
        note: Note,
    },
    /// A metrics interval closed.
    Tick,
    /// A message reached the end of a held link (`hold_link`) and waits
    /// there until the link is released. Last, for the trace hashes.
    Hold {
        from: NodeId,
        to: NodeId,
        sent_at: Time,
        msg: Message,
    },
    /// A held link between `a` and `b` was released: the `messages` it
    /// held go on now, in the order they reached it (each then a `deliver`
    /// or a `drop`). Last, for the trace hashes.
    Release {
        a: NodeId,
        b: NodeId,
        messages: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Position in the whole run's trace, from 0.
    pub n: u64,
    pub time: Time,
    pub what: What,
}

/// A pinned 64-bit hash: each word is folded in with one rotate, xor and
/// multiply (as FxHash does), and the result goes through SplitMix64's
/// finaliser. Not cryptographic: it tells runs apart. Platform-independent: `usize`/`isize` are widened to 64 bits,
/// so native and Wasm (32-bit) builds hash identically.
#[derive(Clone, Copy, Debug)]
pub struct TraceHasher {
    state: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher { state: 0x243f_6a88_85a3_08d3 }
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        mix(self.state)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        self.write_u64(bytes.len() as u64);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.state = (self.state.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
}

#[derive(Clone, Debug)]
pub struct Trace {
    events: VecDeque<TraceEvent>,
    capacity: usize,
    total: u64,
    hasher: TraceHasher,
}

impl Trace {
    pub fn new(capacity: usize) -> Trace {
        Trace {
            events: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity,
            total: 0,
            hasher: TraceHasher::default(),
        }
    }

    pub fn record(&mut self, time: Time, what: What) {
        time.hash(&mut self.hasher);
        what.hash(&mut self.hasher);
        if self.capacity > 0 {
            if self.events.len() == self.capacity {
                self.events.pop_front();
            }
            self.events.push_back(TraceEvent { n: self.total, time, what });
        }
        self.total += 1;
    }

    /// The hash over every event recorded so far, as 16 hex digits.
    pub fn hash(&self) -> String {
        format!("{:016x}", self.hasher.finish())
    }

    /// Events recorded over the whole run.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Events discarded because the trace was full.
    pub fn discarded(&self) -> u64 {
        self.total - self.events.len() as u64
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The kept events, oldest first.
    pub fn events(&self) -> &VecDeque<TraceEvent> {
        &self.events
    }

    /// The kept events numbered `n` and later (for incremental readers:
    /// pass the `n` after the last one you saw). Returns the number of
    /// events that were wanted but already discarded.
    pub fn since(&self, n: u64) -> (u64, impl Iterator<Item = &TraceEvent>) {
        let first_kept = self.total - self.events.len() as u64;
        let missed = first_kept.saturating_sub(n);
        let skip = n.saturating_sub(first_kept) as usize;
        (missed, self.events.iter().skip(skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each note's position in declaration order. No wildcard arm: a new
    /// note does not compile here until it has a place, and then the test
    /// below wants a sample of it.
    fn place(note: &Note) -> usize {
        match note {
            Note::ServerDown { .. } => 0,
            Note::ServerUp { .. } => 1,
            Note::CheckFailed { .. } => 2,
            Note::CheckPassed { .. } => 3,
            Note::NoServerAvailable => 4,
            Note::QueueFull { .. } => 5,
            Note::BacklogFull => 6,
            Note::QueueTimeout => 7,
            Note::Retried { .. } => 8,
            Note::Promoted { .. } => 9,
            Note::Demoted { .. } => 10,
            Note::ClientOverloaded { .. } => 11,
            Note::CacheRole { .. } => 12,
            Note::FullResync { .. } => 13,
            Note::PartialResync { .. } => 14,
            Note::RdbLoaded { .. } => 15,
            Note::ReplLinkDown { .. } => 16,
            Note::ReplicaDropped { .. } => 17,
            Note::WaitClientsFull => 18,
            Note::Sdown { .. } => 19,
            Note::SdownCleared { .. } => 20,
            Note::Odown { .. } => 21,
            Note::OdownCleared { .. } => 22,
            Note::FailoverStarted { .. } => 23,
            Note::FailoverLeader { .. } => 24,
            Note::PromotingReplica { .. } => 25,
            Note::FailoverAborted { .. } => 26,
            Note::SwitchMaster { .. } => 27,
            Note::ConvertingToReplica { .. } => 28,
            Note::ReplicaOutputBufferFull { .. } => 29,
            Note::BacklogFreed => 30,
            Note::UseBackend { .. } => 31,
            Note::RaftRole { .. } => 32,
            Note::KafkaLeader { .. } => 33,
            Note::KafkaIsr { .. } => 34,
            Note::KafkaTruncated { .. } => 35,
            Note::KafkaFence { .. } => 36,
            Note::SemiSyncOff { .. } => 37,
            Note::SemiSyncOn { .. } => 38,
            Note::KafkaRegistered { .. } => 39,
            Note::KafkaLogRecovered { .. } => 40,
            Note::AofLoaded { .. } => 41,
            Note::RdbSaved { .. } => 42,
            Note::RdbFileLoaded { .. } => 43,
            Note::KafkaRequestTimeout { .. } => 44,
            Note::KafkaRetrying { .. } => 45,
            Note::ErrorLimit { .. } => 46,
            Note::L7Retry { .. } => 47,
            Note::ClientAborted { .. } => 48,
            Note::SessionsShutDown { .. } => 49,
            Note::ServerAdmin { .. } => 50,
            Note::ServerWeight { .. } => 51,
            Note::BackupSessionsShutDown { .. } => 52,
            Note::CommandRefused => 53,
            Note::RaftRefused { .. } => 54,
            Note::RaftSnapshot { .. } => 55,
            Note::RaftSnapshotLoaded { .. } => 56,
        }
    }

    #[test]
    fn event_names_are_the_trace_files_and_the_lesson_formats() {
        let samples = [
            Note::ServerDown { server: 1, health: 1, reason: CheckResult::L4Timeout },
            Note::ServerUp { server: 1, health: 1, reason: CheckResult::L4Ok },
            Note::CheckFailed { server: 1, health: 1, reason: CheckResult::L7Timeout },
            Note::CheckPassed { server: 1, health: 1, reason: CheckResult::L4Ok },
            Note::NoServerAvailable,
            Note::QueueFull { queued: 1 },
            Note::BacklogFull,
            Note::QueueTimeout,
            Note::Retried { server: 1, attempt: 1 },
            Note::Promoted { epoch: 1, by: crate::components::database::promotion::Promotion::Operator },
            Note::Demoted { epoch: 1 },
            Note::ClientOverloaded { outstanding: 1 },
            Note::CacheRole { primary: None },
            Note::FullResync { replica: 1 },
            Note::PartialResync { replica: 1, offset: 1 },
            Note::RdbLoaded { keys: 1, offset: 1 },
            Note::ReplLinkDown { primary: 1, reason: LinkDown::Closed },
            Note::ReplicaDropped { replica: 1, reason: ReplicaDrop::Closed },
            Note::WaitClientsFull,
            Note::Sdown { node: 1 },
            Note::SdownCleared { node: 1 },
            Note::Odown { primary: 1, agree: 1 },
            Note::OdownCleared { primary: 1 },
            Note::FailoverStarted { epoch: 1 },
            Note::FailoverLeader { epoch: 1, votes: 1 },
            Note::PromotingReplica { replica: 1 },
            Note::FailoverAborted { epoch: 1, reason: AbortReason::NotElected },
            Note::SwitchMaster { from: 1, to: 1, epoch: 1 },
            Note::ConvertingToReplica { node: 1 },
            Note::ReplicaOutputBufferFull { replica: 1, bytes: 1 },
            Note::BacklogFreed,
            Note::UseBackend { rule: 1 },
            Note::RaftRole { role: crate::raft::Role::Leader, term: 1, cause: crate::raft::RoleCause::Start },
            Note::KafkaLeader { partition: 1, leader_epoch: 1, isr: 1, before: None },
            Note::KafkaIsr { partition: 1, isr: 3, was: 1, change: crate::kafka::isr_change::IsrChange::Expanded },
            Note::KafkaTruncated { partition: 1, offset: 1, dropped: 1 },
            Note::KafkaFence { broker: 1, fenced: true, restarted: false },
            Note::SemiSyncOff { lsn: 1 },
            Note::SemiSyncOn { lsn: 1 },
            Note::KafkaRegistered { broker: 1 },
            Note::KafkaLogRecovered { partition: 1, offset: 1, lost: 1 },
            Note::AofLoaded { keys: 1 },
            Note::RdbSaved { keys: 1 },
            Note::RdbFileLoaded { keys: 1 },
            Note::KafkaRequestTimeout { broker: 1, in_flight: 1 },
            Note::KafkaRetrying {
                partition: 1,
                records: 1,
                retry: 1,
                error: crate::kafka::ProduceError::RequestTimedOut,
            },
            Note::ErrorLimit {
                server: 1,
                errors: 10,
                last: crate::components::load_balancer::observe::Outcome::HttpStatus,
                on_error: crate::components::load_balancer::observe::OnError::FailCheck,
                health: 3,
            },
            Note::L7Retry {
                server: 1,
                attempt: 1,
                failure: crate::components::load_balancer::retry_on::L7Failure::Status(503),
            },
            Note::ClientAborted { client: 1, at: crate::components::load_balancer::AbortedAt::Queue },
            Note::SessionsShutDown { server: 1, sessions: 1 },
            Note::ServerAdmin {
                server: 1,
                state: crate::components::load_balancer::admin::AdminState::Drain,
                was_up: false,
            },
            Note::ServerWeight { server: 1, weight: 0 },
            Note::BackupSessionsShutDown { server: 1, backup: 2, sessions: 1 },
            Note::CommandRefused,
            Note::RaftRefused { bound: RaftBound::MaxLogEntries, limit: 1 },
            Note::RaftSnapshot { index: 2, compacted: 1 },
            Note::RaftSnapshotLoaded { index: 2, leader: 1 },
        ];
        for (i, note) in samples.iter().enumerate() {
            assert_eq!(place(note), i);
            let json = serde_json::to_value(note).unwrap();
            assert_eq!(json["note"], note.name());
        }
        assert_eq!(samples[32].raft_role(), Some(crate::raft::Role::Leader));
        assert_eq!(samples[0].raft_role(), None);

        use NodeChange::*;
        let changes = [Started, Crashed, Restarted, Paused, Resumed, ClockSkewed, Slowed];
        for (i, change) in changes.into_iter().enumerate() {
            // No wildcard: a new change does not compile until it is listed.
            let place = match change {
                Started => 0,
                Crashed => 1,
                Restarted => 2,
                Paused => 3,
                Resumed => 4,
                ClockSkewed => 5,
                Slowed => 6,
            };
            assert_eq!(place, i);
            assert_eq!(serde_json::to_value(change).unwrap(), change.name());
        }

        // The lesson format's list of events (what a lesson file may name)
        // is exactly the engine's, in order.
        let engine: Vec<&str> = ["fault"]
            .into_iter()
            .chain(changes.iter().map(|c| c.name()))
            .chain(samples.iter().map(Note::name))
            .collect();
        assert_eq!(lesson::EVENTS, engine.as_slice());
    }

    #[test]
    fn ring_keeps_the_newest_and_counts_the_rest() {
        let mut t = Trace::new(3);
        for i in 0..5 {
            t.record(i, What::Tick);
        }
        assert_eq!(t.total(), 5);
        assert_eq!(t.discarded(), 2);
        let times: Vec<Time> = t.events().iter().map(|e| e.time).collect();
        assert_eq!(times, [2, 3, 4]);
        let (missed, rest) = t.since(1);
        assert_eq!(missed, 1);
        assert_eq!(rest.map(|e| e.n).collect::<Vec<_>>(), [2, 3, 4]);
        let (missed, rest) = t.since(4);
        assert_eq!(missed, 0);
        assert_eq!(rest.count(), 1);
    }

    #[test]
    fn hash_covers_discarded_events_and_order() {
        let mut a = Trace::new(1);
        let mut b = Trace::new(100);
        let mut c = Trace::new(100);
        for i in 0..10 {
            a.record(i, What::Tick);
            b.record(i, What::Tick);
        }
        for i in (0..10).rev() {
            c.record(i, What::Tick);
        }
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
    }

    #[test]
    fn hasher_is_pinned() {
        let mut h = TraceHasher::default();
        h.write_u64(1);
        h.write_usize(2);
        assert_eq!(h.finish(), PINNED);
    }
    const PINNED: u64 = 1784956683610605404;
}
