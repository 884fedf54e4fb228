//! What nodes say to each other, and the timers they set. One shared
//! vocabulary: every component matches the variants it understands.

use crate::history::Outcome;
use serde::Serialize;

/// A node's index in the scenario's node list.
pub type NodeId = u32;

/// Identifies a request end to end, unique per sending node.
pub type RequestId = u64;

/// What a client asks for. Keys and values are integers so histories stay
/// compact and checkable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "f")]
pub enum Op {
    Read { key: u32 },
    Write { key: u32, value: u64 },
}

impl Op {
    pub fn key(&self) -> u32 {
        match *self {
            Op::Read { key } | Op::Write { key, .. } => key,
        }
    }
}

/// An HTTP request: one connection, one request, one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    pub id: RequestId,
    pub op: Op,
    /// The URL path, as an index into the run's path table
    /// (`World::paths`).
    pub path: PathId,
    /// The sender wants to know when the connection is established: the
    /// receiving host's kernel answers [`Message::Accepted`] (the SYN-ACK).
    /// Proxies need it to tell a connect timeout from a slow server.
    pub accept: bool,
}

/// What an app server asks a cache (Redis commands on key `k<key>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "cmd")]
pub enum CacheCmd {
    /// `GET k`
    Get { key: u32 },
    /// `SET k v` with `PX ttl_ms` when `ttl_ms` > 0.
    Set { key: u32, value: u64, ttl_ms: u64 },
    /// `DEL k`
    Del { key: u32 },
    /// `WAIT numreplicas timeout` (milliseconds; 0 blocks until enough
    /// replicas acknowledge).
    Wait { numreplicas: u32, timeout_ms: u64 },
}

/// A cache's answer, as the app server understands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "reply")]
pub enum CacheReply {
    /// GET: the value, or none (a miss).
    Value { value: Option<u64> },
    /// SET or DEL done.
    Done,
    /// An error reply (out of memory, read-only replica, ...).
    Error { error: CacheError },
    /// WAIT: the number of replicas that acknowledged.
    Integer { value: i64 },
}

/// Which error a cache answered, by its Redis error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheError {
    /// `-OOM command not allowed when used memory > 'maxmemory'.`
    Oom,
    /// `-READONLY You can't write against a read only replica.`
    ReadOnly,
    /// `-NOREPLICAS Not enough good replicas to write.`
    NoReplicas,
    /// `-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.`
    MasterDown,
    /// `-UNBLOCKED ...`: a blocked WAIT ended because the primary became a
    /// replica.
    Unblocked,
    /// Too many commands waiting for the main thread, or too many clients
    /// blocked in WAIT.
    Busy,
    /// Any other error (`-ERR ...`).
    Other,
}

impl CacheError {
    /// The error code a Redis error reply starts with.
    pub fn from_reply(message: &str) -> CacheError {
        match message.split(' ').next().unwrap_or("") {
            "OOM" => CacheError::Oom,
            "READONLY" => CacheError::ReadOnly,
            "NOREPLICAS" => CacheError::NoReplicas,
            "MASTERDOWN" => CacheError::MasterDown,
            "UNBLOCKED" => CacheError::Unblocked,
            _ => CacheError::Other,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            CacheError::Oom => "OOM",
            CacheError::ReadOnly => "READONLY",
            CacheError::NoReplicas => "NOREPLICAS",
            CacheError::MasterDown => "MASTERDOWN",
            CacheError::Unblocked => "UNBLOCKED",
            CacheError::Busy => "busy",
            CacheError::Other => "ERR",
        }
    }
}

/// One command of a Redis replication stream, in the compact form the
/// simulation ships; `redis::replication` turns it into the argv (and the
/// RESP bytes, which the offsets count) that real Redis sends. Keys are
/// `k<key>`, values decimal, as app servers write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "cmd")]
pub enum ReplCmd {
    /// `SELECT 0`, before the first write of a new stream.
    Select,
    /// `PING`, every `repl-ping-replica-period` seconds.
    Ping,
    /// `REPLCONF GETACK *`: answer with an ACK now.
    GetAck,
    /// `SET k<key> <value>`, with `PXAT <ms>` when it expires.
    Set { key: u32, value: u64, pxat_ms: Option<i64> },
    /// `DEL k<key>` (also an expired or evicted key).
    Del { key: u32 },
    /// `PEXPIREAT k<key> <ms>`.
    PExpireAt { key: u32, at_ms: i64 },
    /// `FLUSHALL`.
    FlushAll,
    /// `INCR k<key>` (Redis propagates the INCR family as sent).
    Incr { key: u32 },
    /// `DECR k<key>`.
    Decr { key: u32 },
    /// `INCRBY k<key> <by>`.
    IncrBy { key: u32, by: i64 },
    /// `DECRBY k<key> <by>`.
    DecrBy { key: u32, by: i64 },
    /// `PERSIST k<key>`.
    Persist { key: u32 },
}

/// What an instance tells a sentinel about its role (`INFO replication`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum InfoRole {
    Primary,
    /// `master_host`, and whether `master_link_status` is `up`.
    Replica {
        of: NodeId,
        link_up: bool,
    },
}

/// A URL path's index in the run's path table.
pub type PathId = u16;

/// HTTP-style reply status. What each one means for a client's history is
/// decided in one place, [`Status::outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 200: done.
    Ok,
    /// 503: refused before any work was done (a full queue, no server up).
    ServiceUnavailable,
    /// 504: the proxy gave up waiting; the server may or may not have done it.
    GatewayTimeout,
    /// 502: the server's connection closed before an answer (its process
    /// died); it may or may not have done the work. (Last: a variant's
    /// place is part of the trace hash.)
    BadGateway,
}

impl Status {
    /// What a reply with this status means for the client's history.
    pub fn outcome(self) -> Outcome {
        match self {
            Status::Ok => Outcome::Ok,
            // Refused before any work: definitely not applied.
            Status::ServiceUnavailable => Outcome::Fail,
            // The proxy gave up waiting; the server may have done it.
            Status::GatewayTimeout => Outcome::Info,
            // The server died holding it; it may have done it.
            Status::BadGateway => Outcome::Info,
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::ServiceUnavailable => 503,
            Status::GatewayTimeout => 504,
            Status::BadGateway => 502,
        }
    }

    /// The reason phrase of the status line.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::GatewayTimeout => "Gateway Timeout",
            Status::BadGateway => "Bad Gateway",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Response {
    pub id: RequestId,
    pub status: Status,
    /// The value read, for reads that found one.
    pub value: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    Request(Request),
    Response(Response),
    /// A load balancer's health check (a TCP connect, answered by the
    /// server's kernel even while every worker is busy).
    HealthCheck {
        seq: u32,
    },
    HealthCheckOk {
        seq: u32,
    },
    /// The TCP reset a live host sends when no process listens any more:
    /// the answer to a request that reached a crashed process.
    RequestRefused {
        id: RequestId,
    },
    /// The connection for request `id` is established (sent by the
    /// receiving host's kernel, also while the process is paused).
    Accepted {
        id: RequestId,
    },
    HealthCheckRefused {
        seq: u32,
    },
    /// Database replication: the primary ships write `lsn` of `epoch`.
    Replicate {
        epoch: u32,
        lsn: u64,
        key: u32,
        value: u64,
        /// The primary's wall clock when it took the write (for
        /// last-writer-wins).
        ts: i64,
    },
    /// A replica has applied every write up to `lsn`.
    ReplicaAck {
        lsn: u64,
    },
    /// A replica missed writes: send again from `lsn`.
    ResendFrom {
        lsn: u64,
    },
    /// A primary's heartbeat and announcement: it leads `epoch` (since it
    /// was promoted at `since`) and has written up to `lsn`.
    PrimaryIs {
        epoch: u32,
        lsn: u64,
        since: u64,
    },
    /// A replica asks for a full copy (it cannot follow the log).
    SyncRequest,
    /// One key of a full copy.
    SnapshotEntry {
        key: u32,
        value: u64,
        ts: i64,
    },
    /// The full copy is complete, up to `lsn`.
    SnapshotDone {
        lsn: u64,
    },
    /// An app server asks a cache.
    CacheRequest {
        id: RequestId,
        cmd: CacheCmd,
    },
    CacheReply {
        id: RequestId,
        reply: CacheReply,
    },
    /// A demoted primary hands over a write it took while split from the
    /// rest; the newer write by timestamp wins.
    Reconcile {
        key: u32,
        value: u64,
        ts: i64,
    },
    /// Redis replication, on replication connection `conn` (chosen by the
    /// replica): `PSYNC replid offset` (`replid` 0 is `?`, `offset` the
    /// first byte wanted).
    Psync {
        conn: u32,
        replid: u64,
        offset: u64,
    },
    /// `+CONTINUE replid`: a partial resynchronisation; the backlog follows.
    PsyncContinue {
        conn: u32,
        replid: u64,
    },
    /// `+FULLRESYNC replid`: a snapshot (RDB) will follow.
    FullResync {
        conn: u32,
        replid: u64,
    },
    /// One key of the RDB.
    RdbKey {
        conn: u32,
        key: u32,
        value: u64,
        expire_at_ms: Option<i64>,
    },
    /// The RDB is complete: `keys` keys, the dataset at replication offset
    /// `offset`.
    RdbEnd {
        conn: u32,
        keys: u32,
        offset: u64,
    },
    /// The newline a primary sends each second to a replica waiting for
    /// its RDB, to keep the link alive.
    ReplNewline {
        conn: u32,
    },
    /// One command of the replication stream, starting after byte
    /// `offset`.
    ReplStream {
        conn: u32,
        offset: u64,
        cmd: ReplCmd,
    },
    /// `REPLCONF ACK offset`.
    ReplAck {
        conn: u32,
        offset: u64,
    },
    /// The replication connection `conn` is closed (or was reset by a host
    /// whose process died).
    ReplReset {
        conn: u32,
    },
    /// `REPLICAOF host port` (`None`: `REPLICAOF NO ONE`), from a sentinel
    /// or an operator.
    ReplicaOf {
        primary: Option<NodeId>,
    },
    /// In configuration epoch `epoch`, `primary` is the Redis primary: a
    /// sentinel's hello and `+switch-master`, or a promoted cache's own
    /// announcement.
    CachePrimary {
        primary: NodeId,
        epoch: u32,
    },
    /// A sentinel's PING and INFO to a Redis instance.
    SentinelPing,
    /// The instance's answer: its role, replication offset,
    /// `replica-priority`, and how long its link to its primary has been
    /// down (ms).
    SentinelInfo {
        role: InfoRole,
        offset: u64,
        priority: u32,
        link_down_ms: u64,
    },
    /// `SENTINEL is-master-down-by-addr`: does the receiver think
    /// `primary` is down? With `candidate`, also a vote request for the
    /// failover of `epoch`.
    SentinelIsDown {
        primary: NodeId,
        epoch: u32,
        candidate: Option<NodeId>,
    },
    SentinelIsDownReply {
        down: bool,
        leader: Option<NodeId>,
        leader_epoch: u32,
    },
    /// A Raft message between members of a replicated key-value store or
    /// a Kafka controller quorum.
    Raft(RaftWire),
    /// Kafka's protocol: brokers, controllers and clients.
    Kafka(crate::kafka::wire::KafkaWire),
    /// A load balancer's HTTP health check (`option httpchk`): after the
    /// host's kernel completes the connection, the process must answer.
    /// (The HTTP variants come last, so the trace hashes of runs without
    /// them stay as they were.)
    HttpCheck {
        seq: u32,
    },
    /// The connection for health check `seq` is established (sent by the
    /// receiving host's kernel, also while the process is paused).
    CheckConnected {
        seq: u32,
    },
    /// The process's answer to HTTP health check `seq`.
    HttpCheckReply {
        seq: u32,
        status: Status,
    },
    /// The process that had request `id` died before answering it: its
    /// host's kernel closed the connection (a FIN, sent as the process
    /// exits). HAProxy logs it `SH`, "close from server". (Last, with
    /// [`Message::CheckClosed`]: a variant's place is part of the trace
    /// hash.)
    ConnectionClosed {
        id: RequestId,
    },
    /// The same for HTTP health check `seq`: the process died before
    /// answering it.
    CheckClosed {
        seq: u32,
    },
    /// The sender of request `id` closed the connection before its answer
    /// (a FIN): a client that gave up (its timeout), or a load balancer
    /// that ended the request. Most servers do not look; HAProxy with
    /// `option abortonclose` drops the request. (Last: a variant's place
    /// is part of the trace hash.)
    ClientClosed {
        id: RequestId,
    },
    /// A load balancer with `option abortonclose` whose client left reset
    /// its connection for request `id` (an RST): a server drops the
    /// request if no worker has read it yet.
    ConnectionReset {
        id: RequestId,
    },
}

/// A Raft message on the wire, compact enough to travel by value: at most
/// one entry (appends carry one each), terms and indexes in 32 bits (logs
/// are bounded far below that), commands by their id in the run's command
/// table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RaftWire {
    pub kind: crate::raft::MsgType,
    pub reject: bool,
    pub term: u32,
    pub index: u32,
    pub log_term: u32,
    pub commit: u32,
    /// Appends: the entry's term (0: no entry). Append answers: the
    /// rejection hint.
    pub aux: u32,
    /// Appends: the entry's command id + 1 (0: the leader's empty entry).
    /// Heartbeats and reads: the read request's context.
    pub payload: u64,
}

/// A message's kind, for the trace, the event log and the colours of the
/// animation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    Request,
    Response,
    ErrorResponse,
    HealthCheck,
    HealthCheckReply,
    Refused,
    Accepted,
    Replication,
    Cache,
}

impl Message {
    pub fn kind(&self) -> MsgKind {
        match self {
            Message::Request(_) => MsgKind::Request,
            Message::Response(r) if r.status == Status::Ok => MsgKind::Response,
            Message::Response(_) => MsgKind::ErrorResponse,
            Message::HealthCheck { .. } | Message::HttpCheck { .. } => MsgKind::HealthCheck,
            Message::HealthCheckOk { .. } | Message::HttpCheckReply { .. } => MsgKind::HealthCheckReply,
            Message::Replicate { .. }
            | Message::ReplicaAck { .. }
            | Message::ResendFrom { .. }
            | Message::PrimaryIs { .. }
            | Message::SyncRequest
            | Message::SnapshotEntry { .. }
            | Message::SnapshotDone { .. }
            | Message::Reconcile { .. }
            | Message::Psync { .. }
            | Message::PsyncContinue { .. }
            | Message::FullResync { .. }
            | Message::RdbKey { .. }
            | Message::RdbEnd { .. }
            | Message::ReplNewline { .. }
            | Message::ReplStream { .. }
            | Message::ReplAck { .. }
            | Message::ReplReset { .. }
            | Message::ReplicaOf { .. }
            | Message::CachePrimary { .. }
            | Message::SentinelIsDown { .. }
            | Message::SentinelIsDownReply { .. }
            | Message::Raft(_) => MsgKind::Replication,
            Message::Kafka(k) => k.kind(),
            Message::SentinelPing => MsgKind::HealthCheck,
            Message::SentinelInfo { .. } => MsgKind::HealthCheckReply,
            Message::CacheRequest { .. } | Message::CacheReply { .. } => MsgKind::Cache,
            Message::Accepted { .. } | Message::CheckConnected { .. } => MsgKind::Accepted,
            Message::RequestRefused { .. }
            | Message::HealthCheckRefused { .. }
            | Message::ConnectionClosed { .. }
            | Message::CheckClosed { .. }
            | Message::ClientClosed { .. }
            | Message::ConnectionReset { .. } => MsgKind::Refused,
        }
    }

    /// What the receiving host's kernel answers when the process is down.
    /// Connection-oriented messages get a reset; replies get nothing.
    pub fn refusal(&self) -> Option<Message> {
        match *self {
            Message::Request(r) => Some(Message::RequestRefused { id: r.id }),
            Message::HealthCheck { seq } | Message::HttpCheck { seq } => Some(Message::HealthCheckRefused { seq }),
            Message::CacheRequest { id, .. } => Some(Message::RequestRefused { id }),
            Message::Kafka(k) => k.refusal().map(Message::Kafka),
            // A replication connection to a dead process is reset.
            Message::Psync { conn, .. }
            | Message::PsyncContinue { conn, .. }
            | Message::FullResync { conn, .. }
            | Message::RdbKey { conn, .. }
            | Message::RdbEnd { conn, .. }
            | Message::ReplNewline { conn }
            | Message::ReplStream { conn, .. }
            | Message::ReplAck { conn, .. } => Some(Message::ReplReset { conn }),
            _ => None,
        }
    }

    /// What the host's kernel tells the sender of this request, received
    /// by a process that then died before answering it: its connection
    /// closed.
    pub fn closed_unanswered(&self) -> Option<Message> {
        match *self {
            Message::Request(r) => Some(Message::ConnectionClosed { id: r.id }),
            Message::CacheRequest { id, .. } => Some(Message::ConnectionClosed { id }),
            Message::HttpCheck { seq } => Some(Message::CheckClosed { seq }),
            _ => None,
        }
    }

    /// What the receiving host's kernel answers by itself when a process
    /// listens, running or stopped: a health check is a TCP connect, which
    /// the kernel completes from the listen queue; a request whose sender
    /// asked gets the connection's SYN-ACK.
    pub fn kernel_answer(&self) -> Option<Message> {
        match *self {
            Message::HealthCheck { seq } => Some(Message::HealthCheckOk { seq }),
            Message::HttpCheck { seq } => Some(Message::CheckConnected { seq }),
            Message::Request(r) if r.accept => Some(Message::Accepted { id: r.id }),
            _ => None,
        }
    }

    /// Whether the kernel's answer is all there is: the process never sees
    /// the message (a health check is only a connect).
    pub fn kernel_only(&self) -> bool {
        matches!(self, Message::HealthCheck { .. })
    }

    /// A short human description for the event log and trace files.
    pub fn describe(&self) -> String {
        match self {
            Message::Request(r) => match r.op {
                Op::Read { key } => format!("request #{} read k{key}", r.id),
                Op::Write { key, value } => format!("request #{} write k{key}={value}", r.id),
            },
            Message::Response(r) => format!("response #{} {}", r.id, r.status.code()),
            Message::HealthCheck { seq } => format!("health check #{seq}"),
            Message::HealthCheckOk { seq } => format!("health check #{seq} ok"),
            Message::RequestRefused { id } => format!("connection refused for request #{id}"),
            Message::ConnectionClosed { id } => format!("connection closed before an answer to request #{id}"),
            Message::CheckClosed { seq } => format!("connection closed before an answer to health check #{seq}"),
            Message::ClientClosed { id } => format!("connection closed by the sender of request #{id}: it gave up"),
            Message::ConnectionReset { id } => format!("connection reset for request #{id}"),
            Message::Accepted { id } => format!("connection accepted for request #{id}"),
            Message::CacheRequest { id, cmd } => match cmd {
                CacheCmd::Get { key } => format!("cache #{id}: GET k{key}"),
                CacheCmd::Set { key, value, ttl_ms: 0 } => format!("cache #{id}: SET k{key} {value}"),
                CacheCmd::Set { key, value, ttl_ms } => format!("cache #{id}: SET k{key} {value} PX {ttl_ms}"),
                CacheCmd::Del { key } => format!("cache #{id}: DEL k{key}"),
                CacheCmd::Wait { numreplicas, timeout_ms } => format!("cache #{id}: WAIT {numreplicas} {timeout_ms}"),
            },
            Message::CacheReply { id, reply } => match reply {
                CacheReply::Value { value: Some(v) } => format!("cache #{id}: \"{v}\" (hit)"),
                CacheReply::Value { value: None } => format!("cache #{id}: nil (miss)"),
                CacheReply::Done => format!("cache #{id}: done"),
                CacheReply::Integer { value } => format!("cache #{id}: (integer) {value}"),
                CacheReply::Error { error } => format!("cache #{id}: error {}", error.code()),
            },
            Message::Replicate { epoch, lsn, key, value, .. } => {
                format!("replicate write {lsn} (epoch {epoch}): k{key}={value}")
            }
            Message::ReplicaAck { lsn } => format!("replica has applied up to write {lsn}"),
            Message::ResendFrom { lsn } => format!("replica asks for the writes from {lsn} again"),
            Message::PrimaryIs { epoch, lsn, .. } => format!("primary of epoch {epoch}, at write {lsn}"),
            Message::SyncRequest => "replica asks for a full copy".to_string(),
            Message::SnapshotEntry { key, value, .. } => format!("full copy: k{key}={value}"),
            Message::SnapshotDone { lsn } => format!("full copy done, up to write {lsn}"),
            Message::Reconcile { key, value, ts } => format!("reconcile k{key}={value} (written at {ts} ns)"),
            Message::HealthCheckRefused { seq } => format!("connection refused for health check #{seq}"),
            Message::Psync { conn, replid: 0, .. } => format!("PSYNC ? -1 (connection {conn})"),
            Message::Psync { conn, replid, offset } => format!("PSYNC {replid:016x} {offset} (connection {conn})"),
            Message::PsyncContinue { replid, .. } => format!("+CONTINUE {replid:016x} (partial resync)"),
            Message::FullResync { replid, .. } => format!("+FULLRESYNC {replid:016x} (full resync)"),
            Message::RdbKey { key, value, .. } => format!("RDB: k{key}={value}"),
            Message::RdbEnd { keys, offset, .. } => format!("RDB complete: {keys} keys, offset {offset}"),
            Message::ReplNewline { .. } => "newline (RDB in preparation)".to_string(),
            Message::ReplStream { offset, cmd, .. } => format!("stream at {offset}: {}", describe_repl(cmd)),
            Message::ReplAck { offset, .. } => format!("REPLCONF ACK {offset}"),
            Message::ReplReset { conn } => format!("replication connection {conn} closed"),
            Message::ReplicaOf { primary: Some(p) } => format!("REPLICAOF node {p}"),
            Message::ReplicaOf { primary: None } => "REPLICAOF NO ONE".to_string(),
            Message::CachePrimary { primary, epoch } => format!("primary is node {primary} (epoch {epoch})"),
            Message::SentinelPing => "sentinel PING + INFO".to_string(),
            Message::SentinelInfo { role: InfoRole::Primary, offset, .. } => format!("role:master offset {offset}"),
            Message::SentinelInfo { role: InfoRole::Replica { of, link_up }, offset, .. } => {
                format!("role:slave of node {of}, link {}, offset {offset}", if *link_up { "up" } else { "down" })
            }
            Message::SentinelIsDown { epoch, candidate: None, .. } => {
                format!("is-master-down-by-addr (epoch {epoch})")
            }
            Message::SentinelIsDown { epoch, candidate: Some(c), .. } => {
                format!("is-master-down-by-addr, vote for node {c} in epoch {epoch}?")
            }
            Message::SentinelIsDownReply { down, leader, leader_epoch } => format!(
                "{} down{}",
                if *down { "yes," } else { "not" },
                leader.map(|l| format!(", vote for node {l} (epoch {leader_epoch})")).unwrap_or_default()
            ),
            Message::Raft(w) => describe_raft(w),
            Message::Kafka(k) => k.describe(),
            Message::HttpCheck { seq } => format!("HTTP health check #{seq}"),
            Message::CheckConnected { seq } => format!("connection established for health check #{seq}"),
            Message::HttpCheckReply { seq, status } => {
                format!("health check #{seq}: {} {}", status.code(), status.reason())
            }
        }
    }
}

/// A replication command in Redis's words.
fn describe_repl(cmd: &ReplCmd) -> String {
    match *cmd {
        ReplCmd::Select => "SELECT 0".into(),
        ReplCmd::Ping => "PING".into(),
        ReplCmd::GetAck => "REPLCONF GETACK *".into(),
        ReplCmd::Set { key, value, pxat_ms: None } => format!("SET k{key} {value}"),
        ReplCmd::Set { key, value, pxat_ms: Some(at) } => format!("SET k{key} {value} PXAT {at}"),
        ReplCmd::Del { key } => format!("DEL k{key}"),
        ReplCmd::PExpireAt { key, at_ms } => format!("PEXPIREAT k{key} {at_ms}"),
        ReplCmd::FlushAll => "FLUSHALL".into(),
        ReplCmd::Incr { key } => format!("INCR k{key}"),
        ReplCmd::Decr { key } => format!("DECR k{key}"),
        ReplCmd::IncrBy { key, by } => format!("INCRBY k{key} {by}"),
        ReplCmd::DecrBy { key, by } => format!("DECRBY k{key} {by}"),
        ReplCmd::Persist { key } => format!("PERSIST k{key}"),
    }
}

/// The timers components set. A timer carries what its owner needs to
/// recognise it when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "timer")]
pub enum Timer {
    /// Open-loop workload: time to issue the next request.
    NextArrival,
    /// Scripted workload: time for request `index` of the script.
    Scripted { index: u32 },
    /// Closed-loop workload: a client finished thinking.
    ThinkDone { client: u32 },
    /// A client's per-request timeout.
    RequestTimeout { id: RequestId },
    /// A server worker finished a request.
    ServiceDone { worker: u32 },
    /// A load balancer's next health check of a server is due.
    CheckDue { server: u32 },
    /// A health check got no answer in time.
    CheckTimeout { server: u32, seq: u32 },
    /// Retry a request after a failed connection (HAProxy's turn-around).
    Retry { conn: u32 },
    /// HAProxy `timeout connect`: the server's host did not accept the
    /// connection in time.
    ConnectTimeout { conn: u32, attempt: u32 },
    /// HAProxy `timeout server`: the server did not answer in time.
    ServerTimeout { conn: u32, attempt: u32 },
    /// HAProxy `timeout queue`: a request waited too long for a server.
    QueueTimeout { conn: u32 },
    /// A database's semi-synchronous wait for write `lsn` ran out.
    SemiSyncTimeout { lsn: u64 },
    /// A database's heartbeat (as primary) or liveness check (as replica).
    Heartbeat,
    /// An app server's call to a cache or database got no answer in time.
    CallTimeout { worker: u32, call: u64 },
    /// An app server flushes its write-behind buffer.
    FlushWrites,
    /// Redis's `serverCron`.
    Cron,
    /// Redis's `replicationCron`, every second.
    ReplCron,
    /// The RDB transfer of full synchronisation `fork` is complete.
    RdbTransferDone { fork: u32 },
    /// A WAIT blocked by request `id` of node `client` times out.
    WaitTimeout { client: NodeId, id: RequestId },
    /// A sentinel's periodic work (`sentinelTimer`).
    SentinelTick,
    /// A sentinel starts the failover it decided on, after a random delay
    /// of up to a second (`SENTINEL_MAX_DESYNC`).
    SentinelFailover,
    /// A Raft member's logical clock ticks.
    RaftTick,
    /// A Kafka broker's heartbeat to the controller is due.
    KafkaHeartbeat,
    /// A partition leader's ISR check (`replica.lag.time.max.ms / 2`).
    KafkaIsrCheck,
    /// A fetch for `partition` got no answer in time, or its backoff
    /// ended: fetch again.
    KafkaFetch { partition: u32 },
    /// A fetch parked at the leader waited `fetch.max.wait.ms`.
    KafkaFetchWait { partition: u32, from: NodeId },
    /// A producer's request for `partition` (attempt `attempt`) timed out.
    KafkaProduceTimeout { partition: u32, attempt: u32 },
    /// A producer's retry backoff for `partition` ended.
    KafkaRetry { partition: u32 },
    /// A client's metadata request got no answer in time (or its backoff
    /// ended).
    KafkaMetadataTimeout,
    /// A group coordinator's periodic check.
    KafkaGroupTick,
    /// A group member's heartbeat is due.
    KafkaGroupHeartbeat,
    /// A group member's auto-commit is due.
    KafkaAutoCommit,
    /// A client's final reads begin (see `crate::sim::final_reads`). After
    /// the others, so the trace hashes of runs without it stay as they were.
    FinalReads,
    /// A load balancer recomputes a warming server's weight (`slowstart`).
    /// Last, for the same reason.
    Warmup { server: u32 },
}

/// A Raft message in etcd's words: `MsgApp term 3 index 7 (entry 8)`.
fn describe_raft(w: &RaftWire) -> String {
    use crate::raft::MsgType as T;
    let name = w.kind.name();
    let (t, i, lt, c) = (w.term, w.index, w.log_term, w.commit);
    match w.kind {
        T::App if w.aux == 0 => format!("{name} term {t}: heartbeat-like, after ({i}, term {lt}), commit {c}"),
        T::App => format!("{name} term {t}: entry {} after ({i}, term {lt}), commit {c}", i + 1),
        T::AppResp if w.reject => format!("{name} term {t}: rejected at {i} (last index {})", w.aux),
        T::AppResp => format!("{name} term {t}: has up to {i}"),
        T::Vote | T::PreVote => format!("{name} term {t}: last entry ({i}, term {lt})"),
        T::VoteResp | T::PreVoteResp => format!("{name} term {t}: {}", if w.reject { "rejected" } else { "granted" }),
        T::Heartbeat => format!("{name} term {t}: commit {c}"),
        T::HeartbeatResp => format!("{name} term {t}"),
        T::ReadIndex => format!("{name}: read #{}", w.payload),
        T::ReadIndexResp => format!("{name} term {t}: read #{} at index {i}", w.payload),
        T::Prop => format!("{name}: forwarded proposal (command {})", w.payload.saturating_sub(1)),
        T::Snap => format!("{name} term {t}: snapshot up to ({i}, term {lt})"),
        T::Hup | T::Beat | T::CheckQuorum => name.to_string(),
    }
}
