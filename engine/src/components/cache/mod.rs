//! A Redis 7.0 cache node: the keyspace model of [`crate::redis`] behind
//! Redis's single main thread (one command at a time, each taking a short
//! service time), with `serverCron` running the active expire cycle `hz`
//! times a second of the node's clock. Expiry follows the node's wall
//! clock, as Redis's does, so a skewed clock expires keys early or late.
//!
//! App servers talk to it with [`CacheCmd`]s on keys `k<key>`. What a
//! crash leaves: the last RDB snapshot ([`rdb`], `save`; Redis's default
//! save points seldom come within a run), or with `appendonly` the
//! append-only file ([`aof`]), less what a power loss took; else nothing.
//!
//! A cache may replicate another (`replicaof`): asynchronous replication
//! with offsets, a backlog, partial and full resynchronisation, WAIT and
//! `min-replicas-to-write`, as in `replication.c`; see [`link`] for the
//! messages and [`crate::redis::replication`] for the bookkeeping.
//! Sentinels ([`super::sentinel`]) or an operator (the `promote` and
//! `replica_of` faults) change who replicates whom with `REPLICAOF`.

mod aof;
mod link;
mod rdb;

use super::workers::{Submitted, WorkerPool};
use crate::context::Ctx;
use crate::distribution::Distribution;
use crate::follow::Queue;
use crate::message::{CacheCmd, CacheError, CacheReply, Message, NodeId, RequestId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::redis::{Called, Instance, Outgoing, RedisConfig, ReplicaState, Reply, SnapshotEntry};
use crate::rng::Rng;
use crate::time::{Duration, Time, NANOS_PER_MILLI, NANOS_PER_SEC};
use crate::trace::Note;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Commands waiting for the main thread; more are refused.
const QUEUE_LIMIT: usize = 100_000;
/// Clients blocked in WAIT at once (Redis's `maxclients` default); more
/// are refused.
pub const MAX_BLOCKED: usize = 10_000;

fn default_service_time() -> Distribution {
    Distribution::Constant(Duration::from_micros(20))
}
fn default_rdb_rate() -> u64 {
    100_000_000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Redis's settings (`maxmemory`, `maxmemory_policy`, `replicaof`,
    /// ...).
    #[serde(default)]
    pub redis: RedisConfig,
    /// Time the main thread spends on one command.
    #[serde(default = "default_service_time")]
    pub service_time: Distribution,
    /// Bytes per second at which a full synchronisation's RDB goes to a
    /// replica (the network and the replica's loading together).
    #[serde(default = "default_rdb_rate")]
    pub rdb_transfer_rate: u64,
}

impl CacheConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.redis.validate().map_err(|(f, m)| (format!("redis.{f}"), m))?;
        if self.rdb_transfer_rate < 1000 {
            return Err((
                "rdb_transfer_rate".into(),
                format!("rdb_transfer_rate must be at least 1000 bytes per second, got {}", self.rdb_transfer_rate),
            ));
        }
        self.service_time.validate().map_err(|e| ("service_time".into(), e))
    }
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    id: RequestId,
    cmd: CacheCmd,
}

/// What survives a crash: the configuration file, which `REPLICAOF`
/// rewrites (Sentinel follows it with `CONFIG REWRITE`; an operator edits
/// it), and the last configuration epoch heard. The data survives only in
/// the RDB file and the append-only file (`Cache::rdb`, `Cache::aof`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheDisk {
    pub replicaof: Option<NodeId>,
    pub epoch: u32,
    /// Times the process started: with `ids`, what fresh replication ids
    /// are derived from.
    pub boots: u32,
    pub ids: u64,
    /// The last replication connection id used (a model detail standing
    /// for TCP ports, so connections of different boots never mix).
    pub next_conn: u32,
}

/// A client blocked in WAIT.
#[derive(Clone, Copy, Debug)]
struct Blocked {
    client: NodeId,
    id: RequestId,
    offset: u64,
    numreplicas: u32,
    timer: Option<TimerId>,
}

/// A replica's link to its primary (`server.repl_state`).
#[derive(Clone, Debug)]
enum LinkState {
    /// `REPL_STATE_CONNECT`: to connect at the next `replicationCron`.
    Connect,
    /// PSYNC sent, no answer yet.
    Handshake { since_ms: i64 },
    /// `+FULLRESYNC` received; the RDB is on its way.
    Transfer { last_io_ms: i64, replid: u64, keys: Vec<SnapshotEntry> },
    /// `REPL_STATE_CONNECTED`.
    Connected { last_io_ms: i64 },
}

#[derive(Clone, Debug)]
struct MasterLink {
    node: NodeId,
    /// The current connection's id (0 before the first attempt).
    conn: u32,
    state: LinkState,
    /// Monotonic ms since the link is down (`repl_down_since`).
    down_since_ms: Option<i64>,
}

/// `INFO stats`' synchronisation counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// A replica: stream commands dropped because its buffer for commands
    /// arriving after a gap was full.
    pub stream_dropped: u64,
}

/// What a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    inst: Instance,
    master: Option<MasterLink>,
    /// A replica with a replication history to continue (a cached
    /// master): PSYNC with its id and offset, not `PSYNC ? -1`.
    has_history: bool,
    /// Each client's last write offset (`c->woff`). An app server is one
    /// client: its workers share one connection.
    woff: BTreeMap<NodeId, u64>,
    blocked: Vec<Blocked>,
    /// Replicas wait for the next RDB transfer since this time (monotonic
    /// ms).
    bgsave_waiting_since: Option<i64>,
    transfer: Option<u32>,
    /// The offset of the running transfer's RDB, and the keys it sent.
    fork_offset: u64,
    sent_keys: u32,
    next_fork: u32,
    /// `replicationCron` is running (only caches that replicate run it).
    repl_cron: bool,
    /// A replica: commands that arrived after a gap, by offset, and their
    /// bytes (at most `repl-backlog-size`).
    out_of_order: BTreeMap<u64, crate::message::ReplCmd>,
    out_of_order_bytes: u64,
    cron_loops: u64,
    no_replicas_since_ms: Option<i64>,
    stats: SyncStats,
    /// `server.lastsave` (wall-clock seconds) and the changes made by
    /// then.
    lastsave_s: i64,
    changes_at_save: u64,
}

#[derive(Clone, Debug)]
pub struct Cache {
    pub config: CacheConfig,
    /// The replication group (the configured primary first), for the
    /// `promote` fault.
    group: Vec<NodeId>,
    /// Nodes linked to this one outside the group (app servers,
    /// sentinels): told of a promotion.
    listeners: Vec<NodeId>,
    pub disk: CacheDisk,
    /// The append-only file (with `appendonly`).
    aof: aof::Aof,
    /// `dump.rdb`: the dataset of the last RDB snapshot, and when it was
    /// saved (wall-clock seconds).
    rdb: Option<(Vec<SnapshotEntry>, i64)>,
    /// `save`, read.
    save_points: Vec<(u64, u64)>,
    /// `None` while down.
    state: Option<Volatile>,
    pool: WorkerPool<Job>,
    refused: u64,
    /// The monotonic clock (ms) and the wall clock (s) at the last event
    /// handled, for the view, which has no context.
    last_mono_ms: i64,
    last_wall_s: i64,
}

/// The append-only file, as the inspector shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AofView {
    pub appendfsync: &'static str,
    /// Keys the part of the file on disk replays to.
    pub keys_on_disk: usize,
    /// For how long (ms) changes have waited to reach the disk; `None`:
    /// everything is on disk.
    pub unsynced_ms: Option<u64>,
}

/// A cache's role, as `INFO replication` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum CacheRole {
    Primary,
    Replica { of: NodeId },
}

/// One replica of this node, as `INFO replication`'s `slaveN` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaView {
    pub node: NodeId,
    /// `wait_bgsave`, `send_bulk` or `online`.
    pub state: &'static str,
    /// The offset it acknowledged.
    pub ack_offset: u64,
    /// Seconds since its last acknowledgement.
    pub lag_s: i64,
}

/// What the UI shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheView {
    pub keys: usize,
    pub used_memory: u64,
    pub maxmemory: u64,
    pub policy: String,
    pub hits: u64,
    pub misses: u64,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// Commands refused because too many were waiting.
    pub refused: u64,
    pub role: CacheRole,
    /// `master_repl_offset` (a replica: the offset it has processed).
    pub master_repl_offset: u64,
    /// `master_replid`, in hexadecimal.
    pub replid: String,
    /// A replica's `master_link_status`: `up`, or `down` (`connect`,
    /// `handshake` or `sync` while it reconnects); empty on a primary.
    pub link: &'static str,
    /// A replica: milliseconds since its link went down (0 while up).
    pub link_down_ms: u64,
    /// This node's replicas.
    pub replicas: Vec<ReplicaView>,
    /// Replicas that acknowledged within `min_replicas_max_lag` (counted
    /// only with `min_replicas_to_write`).
    pub good_replicas: u32,
    /// Clients blocked in WAIT.
    pub blocked_in_wait: usize,
    /// Bytes in the replication backlog.
    pub backlog_bytes: u64,
    /// A replica: bytes of stream held after a gap, waiting for the
    /// retransmission.
    pub out_of_order_bytes: u64,
    #[serde(flatten)]
    pub sync: SyncStats,
    /// The last configuration epoch heard.
    pub epoch: u32,
    /// With `appendonly`: its state.
    pub aof: Option<AofView>,
    /// `save` (empty: no snapshots), and the keys in `dump.rdb` with the
    /// seconds since it was saved (`None`: no snapshot yet).
    pub save: String,
    pub rdb: Option<(usize, i64)>,
}

fn key_name(key: u32) -> Vec<u8> {
    format!("k{key}").into_bytes()
}

impl Cache {
    /// `group`: the caches of this node's replication tree, its root
    /// first; `listeners`: other nodes linked to it.
    pub fn new(config: CacheConfig, group: Vec<NodeId>, listeners: Vec<NodeId>, replicaof: Option<NodeId>) -> Cache {
        let save_points = config.redis.save_points().unwrap_or_default();
        Cache {
            config,
            group,
            listeners,
            disk: CacheDisk { replicaof, epoch: 0, boots: 0, ids: 0, next_conn: 0 },
            aof: aof::Aof::default(),
            rdb: None,
            save_points,
            state: None,
            pool: WorkerPool::new(1, QUEUE_LIMIT),
            refused: 0,
            last_mono_ms: 0,
            last_wall_s: 0,
        }
    }

    pub fn view(&self) -> CacheView {
        let st = self.state.as_ref();
        let ks = st.map(|s| &s.inst.keyspace);
        let s = ks.map(|k| k.stats());
        let role = match self.disk.replicaof {
            Some(of) => CacheRole::Replica { of },
            None => CacheRole::Primary,
        };
        let (link, link_down_ms) = match st.and_then(|s| s.master.as_ref()) {
            None => ("", 0),
            Some(m) => {
                let down = m.down_since_ms.map_or(0, |d| (self.last_mono_ms - d).max(0) as u64);
                let link = match m.state {
                    LinkState::Connected { .. } => "up",
                    LinkState::Connect => "connect",
                    LinkState::Handshake { .. } => "handshake",
                    LinkState::Transfer { .. } => "sync",
                };
                (link, down)
            }
        };
        let now_s = self.last_wall_s;
        let replicas = st
            .map(|s| {
                s.inst
                    .repl
                    .replicas
                    .iter()
                    .map(|r| ReplicaView {
                        node: r.node,
                        state: match r.state {
                            ReplicaState::WaitBgsave => "wait_bgsave",
                            ReplicaState::SendBulk { .. } => "send_bulk",
                            ReplicaState::Online => "online",
                        },
                        ack_offset: r.ack_offset,
                        lag_s: (now_s - r.ack_time_s).max(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        CacheView {
            keys: ks.map_or(0, |k| k.len()),
            used_memory: ks.map_or(0, |k| k.used_memory()),
            maxmemory: self.config.redis.maxmemory,
            policy: self.config.redis.maxmemory_policy.name().to_string(),
            hits: s.map_or(0, |s| s.keyspace_hits),
            misses: s.map_or(0, |s| s.keyspace_misses),
            evicted_keys: s.map_or(0, |s| s.evicted_keys),
            expired_keys: s.map_or(0, |s| s.expired_keys),
            refused: self.refused,
            role,
            master_repl_offset: st.map_or(0, |s| s.inst.repl.master_repl_offset),
            replid: st.map_or(String::new(), |s| format!("{:016x}", s.inst.repl.replid)),
            link,
            link_down_ms,
            replicas,
            good_replicas: st.map_or(0, |s| s.inst.good_replicas),
            blocked_in_wait: st.map_or(0, |s| s.blocked.len()),
            backlog_bytes: st.and_then(|s| s.inst.repl.backlog.as_ref()).map_or(0, |b| b.histlen()),
            out_of_order_bytes: st.map_or(0, |s| s.out_of_order_bytes),
            sync: st.map_or_else(SyncStats::default, |s| s.stats),
            epoch: self.disk.epoch,
            save: self.config.redis.save.clone(),
            rdb: self.rdb.as_ref().map(|(dump, saved_s)| (dump.len(), self.last_wall_s - saved_s)),
            aof: self.config.redis.appendonly.then(|| {
                let fsync = self.config.redis.appendfsync;
                let (keys_on_disk, at) = self.aof.on_disk(fsync, ks);
                let now = self.last_mono_ms.max(0) as u64;
                AofView {
                    appendfsync: fsync.name(),
                    keys_on_disk,
                    unsynced_ms: at.map(|t| now.saturating_sub(t / NANOS_PER_MILLI)),
                }
            }),
        }
    }

    /// The Redis instance (None while crashed), for tests and the UI.
    pub fn instance(&self) -> Option<&Instance> {
        self.state.as_ref().map(|s| &s.inst)
    }

    /// The keyspace (None while crashed), for tests and the UI.
    pub fn keyspace(&self) -> Option<&crate::redis::Keyspace> {
        self.instance().map(|i| &i.keyspace)
    }

    pub fn is_replica(&self) -> bool {
        self.disk.replicaof.is_some()
    }

    /// The node's wall clock as Redis reads it: Unix milliseconds. A run
    /// starts at 2026-01-01 00:00 UTC, so even a clock skewed far back
    /// stays positive, as Redis assumes.
    fn now_ms(ctx: &Ctx) -> i64 {
        const RUN_EPOCH_MS: i64 = 1_767_225_600_000;
        RUN_EPOCH_MS + ctx.wall_clock().div_euclid(NANOS_PER_MILLI as i64)
    }

    /// `server.unixtime`.
    fn now_s(ctx: &Ctx) -> i64 {
        Self::now_ms(ctx).div_euclid(1000)
    }

    /// The monotonic clock in milliseconds, for the link's timeouts.
    fn mono_ms(ctx: &Ctx) -> i64 {
        ctx.monotonic().div_euclid(NANOS_PER_MILLI as i64)
    }

    fn st(&mut self) -> &mut Volatile {
        self.state.as_mut().expect("a running cache has its state")
    }

    /// Runs a client's command on the main thread; `None` if it blocked
    /// (WAIT).
    fn execute(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, cmd: CacheCmd) -> Option<CacheReply> {
        let argv: Vec<Vec<u8>> = match cmd {
            CacheCmd::Get { key } => vec![b"GET".to_vec(), key_name(key)],
            CacheCmd::Set { key, value, ttl_ms: 0 } => {
                vec![b"SET".to_vec(), key_name(key), value.to_string().into_bytes()]
            }
            CacheCmd::Set { key, value, ttl_ms } => vec![
                b"SET".to_vec(),
                key_name(key),
                value.to_string().into_bytes(),
                b"PX".to_vec(),
                ttl_ms.to_string().into_bytes(),
            ],
            CacheCmd::Del { key } => vec![b"DEL".to_vec(), key_name(key)],
            CacheCmd::Wait { numreplicas, timeout_ms } => {
                vec![b"WAIT".to_vec(), numreplicas.to_string().into_bytes(), timeout_ms.to_string().into_bytes()]
            }
        };
        let now = Self::now_ms(ctx);
        let mut out = Vec::new();
        let st = self.state.as_mut().expect("a running cache has its state");
        let woff = st.woff.entry(from).or_insert(0);
        let called = st.inst.call(&argv, woff, now, ctx.rng(), &mut out);
        st.ship(ctx, &out);
        let reply = match called {
            Called::Reply(r) => r,
            Called::Blocked { offset, numreplicas, timeout_ms } => {
                if st.blocked.len() >= MAX_BLOCKED {
                    ctx.note(Note::WaitClientsFull);
                    return Some(CacheReply::Error { error: CacheError::Busy });
                }
                let timer = (timeout_ms > 0).then(|| {
                    ctx.set_timer(timeout_ms.saturating_mul(NANOS_PER_MILLI), Timer::WaitTimeout { client: from, id })
                });
                st.blocked.push(Blocked { client: from, id, offset, numreplicas, timer });
                // `replicationRequestAckFromSlaves`: a GETACK goes out
                // before the event loop sleeps.
                let out = st.inst.repl.feed(crate::message::ReplCmd::GetAck);
                st.ship(ctx, &out);
                return None;
            }
        };
        Some(match (cmd, reply) {
            (CacheCmd::Get { .. }, Reply::Bulk(v)) => {
                CacheReply::Value { value: std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()) }
            }
            (CacheCmd::Get { .. }, Reply::Nil) => CacheReply::Value { value: None },
            (_, Reply::Error(e)) => CacheReply::Error { error: CacheError::from_reply(&e) },
            (_, Reply::Integer(value)) if matches!(cmd, CacheCmd::Wait { .. }) => CacheReply::Integer { value },
            _ => CacheReply::Done,
        })
    }

    /// `processClientsWaitingReplicas`: answers the WAITs now satisfied.
    fn release_waits(&mut self, ctx: &mut Ctx) {
        let st = self.st();
        let mut i = 0;
        while i < st.blocked.len() {
            let b = st.blocked[i];
            let acked = st.inst.repl.count_acks(b.offset);
            if acked >= b.numreplicas {
                st.blocked.remove(i);
                if let Some(t) = b.timer {
                    ctx.cancel_timer(t);
                }
                let reply = CacheReply::Integer { value: i64::from(acked) };
                ctx.send(b.client, Message::CacheReply { id: b.id, reply });
            } else {
                i += 1;
            }
        }
    }

    fn wait_timeout(&mut self, ctx: &mut Ctx, client: NodeId, id: RequestId) {
        let st = self.st();
        if let Some(i) = st.blocked.iter().position(|b| b.client == client && b.id == id) {
            let b = st.blocked.remove(i);
            let acked = st.inst.repl.count_acks(b.offset);
            ctx.send(
                b.client,
                Message::CacheReply { id: b.id, reply: CacheReply::Integer { value: i64::from(acked) } },
            );
        }
    }

    /// Runs one of Redis's keyspace hooks on the instance and streams the
    /// DELs it propagates: `serverCron`'s ([`Instance::cron`]) or
    /// `beforeSleep`'s ([`Instance::before_sleep`], after each command:
    /// the fast expire cycle, which runs only after a slow cycle ran out of
    /// time and at most every 2 ms, and any eviction left over).
    fn keyspace_hook(&mut self, ctx: &mut Ctx, hook: fn(&mut Instance, i64, &mut Rng, &mut Outgoing)) {
        let now = Self::now_ms(ctx);
        let mut out = Vec::new();
        let st = self.st();
        hook(&mut st.inst, now, ctx.rng(), &mut out);
        st.ship(ctx, &out);
    }

    fn start(&self, ctx: &mut Ctx) {
        // The main thread may have taken the command from the queue.
        if let Some(job) = self.pool.job(0) {
            ctx.work_for(job.from, job.id);
            ctx.left_queue();
        }
        let t = ctx.service_time(&self.config.service_time);
        ctx.set_timer(t, Timer::ServiceDone { worker: 0 });
    }

    /// `serverCron`'s check of the save points: a snapshot when one is due.
    fn save_cron(&mut self, ctx: &mut Ctx) {
        let now_s = Self::now_s(ctx);
        let st = self.state.as_mut().expect("running");
        let changes = st.inst.keyspace.changes() - st.changes_at_save;
        if rdb::due(&self.save_points, changes, now_s - st.lastsave_s) {
            let dump = st.inst.keyspace.snapshot();
            ctx.note(Note::RdbSaved { keys: dump.len() as u32 });
            self.rdb = Some((dump, now_s));
            st.lastsave_s = now_s;
            st.changes_at_save = st.inst.keyspace.changes();
        }
    }

    fn cron_interval(&self) -> u64 {
        NANOS_PER_SEC / u64::from(self.config.redis.hz)
    }

    /// An operator's `REPLICAOF NO ONE` on this replica, then `REPLICAOF`
    /// it on the rest of the group, and the clients and sentinels told
    /// (a new configuration epoch).
    pub fn promote(&mut self, ctx: &mut Ctx) {
        if !self.is_replica() || self.state.is_none() {
            return;
        }
        self.replicaof(ctx, None);
        self.disk.epoch += 1;
        let me = ctx.me();
        for &n in self.group.iter().filter(|&&n| n != me) {
            ctx.send(n, Message::ReplicaOf { primary: Some(me) });
        }
        for &n in &self.listeners {
            ctx.send(n, Message::CachePrimary { primary: me, epoch: self.disk.epoch });
        }
    }
}

/// Cached for the view (which has no context): the clocks at the last
/// event this node handled.
impl Cache {
    fn remember_clocks(&mut self, ctx: &Ctx) {
        self.last_mono_ms = Self::mono_ms(ctx);
        self.last_wall_s = Self::now_s(ctx);
    }
}

impl Process for Cache {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.remember_clocks(ctx);
        self.disk.boots += 1;
        let replid = self.fresh_replid(ctx);
        let mut inst = Instance::new(self.config.redis.clone(), replid, ctx.rng());
        // Before it serves anyone, Redis loads the append-only file if it
        // keeps one, else dump.rdb if there is one.
        if self.config.redis.appendonly && self.disk.boots > 1 {
            inst.keyspace.load_snapshot(self.aof.replay(), Self::now_ms(ctx));
            self.aof.loaded(&inst.keyspace);
            ctx.note(Note::AofLoaded { keys: inst.keyspace.len() as u32 });
        } else if let Some((dump, _)) = &self.rdb {
            inst.keyspace.load_snapshot(dump, Self::now_ms(ctx));
            ctx.note(Note::RdbFileLoaded { keys: inst.keyspace.len() as u32 });
        }
        let changes_at_save = inst.keyspace.changes();
        self.state = Some(Volatile {
            inst,
            master: None,
            has_history: false,
            woff: BTreeMap::new(),
            blocked: Vec::new(),
            bgsave_waiting_since: None,
            transfer: None,
            fork_offset: 0,
            sent_keys: 0,
            next_fork: 0,
            repl_cron: false,
            out_of_order: BTreeMap::new(),
            out_of_order_bytes: 0,
            cron_loops: 0,
            no_replicas_since_ms: None,
            stats: SyncStats::default(),
            lastsave_s: Self::now_s(ctx),
            changes_at_save,
        });
        self.pool = WorkerPool::new(1, QUEUE_LIMIT);
        ctx.set_timer(self.cron_interval(), Timer::Cron);
        if self.group.len() > 1 {
            self.arm_repl_cron(ctx);
        }
        if let Some(primary) = self.disk.replicaof {
            self.st().inst.become_replica();
            let now = Self::mono_ms(ctx);
            self.st().master =
                Some(MasterLink { node: primary, conn: 0, state: LinkState::Connect, down_since_ms: Some(now) });
            self.arm_repl_cron(ctx);
            self.connect(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        self.remember_clocks(ctx);
        match msg {
            Message::CacheRequest { id, cmd } => {
                match self.pool.submit(Job { from, id, cmd }) {
                    Submitted::Started(_) => self.start(ctx),
                    Submitted::Queued => ctx.queued(Queue::Workers { workers: 1, waiting: self.pool.queued() as u32 }),
                    Submitted::Refused(_) => {
                        self.refused += 1;
                        ctx.note(Note::QueueFull { queued: self.pool.queued() as u32 });
                        let reply = CacheReply::Error { error: CacheError::Busy };
                        ctx.send(from, Message::CacheReply { id, reply });
                    }
                }
                ctx.set_load(self.pool.busy(), 1, self.pool.queued() as u32);
            }
            Message::CachePrimary { epoch, .. } => self.disk.epoch = self.disk.epoch.max(epoch),
            Message::ReplicaOf { primary } => self.replicaof(ctx, primary),
            other => self.on_replication(ctx, from, other),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        self.remember_clocks(ctx);
        match timer {
            Timer::ServiceDone { worker } => {
                let (job, next) = self.pool.finish(worker);
                if let Some(reply) = self.execute(ctx, job.from, job.id, job.cmd) {
                    ctx.send(job.from, Message::CacheReply { id: job.id, reply });
                }
                if next {
                    self.start(ctx);
                }
                self.keyspace_hook(ctx, Instance::before_sleep);
                ctx.set_load(self.pool.busy(), 1, self.pool.queued() as u32);
            }
            Timer::Cron => {
                self.keyspace_hook(ctx, Instance::cron);
                self.save_cron(ctx);
                if self.config.redis.appendonly {
                    let keys = &self.state.as_ref().expect("running").inst.keyspace;
                    let mono = ctx.monotonic().max(0) as Time;
                    self.aof.cron(self.config.redis.appendfsync, keys, mono, Self::now_s(ctx));
                }
                ctx.set_timer(self.cron_interval(), Timer::Cron);
            }
            Timer::ReplCron => {
                self.replication_cron(ctx);
                ctx.set_timer(NANOS_PER_SEC, Timer::ReplCron);
            }
            Timer::RdbTransferDone { fork } => self.transfer_done(ctx, fork),
            Timer::WaitTimeout { client, id } => self.wait_timeout(ctx, client, id),
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        // The data, the replication state and the blocked clients are gone
        // (the data is in the append-only file, if there is one); the
        // configuration file stays.
        if let (true, Some(st)) = (self.config.redis.appendonly, &self.state) {
            let died = (self.last_mono_ms.max(0) as Time).saturating_mul(NANOS_PER_MILLI);
            self.aof.process_died(self.config.redis.appendfsync, &st.inst.keyspace, died);
        }
        self.state = None;
        self.pool = WorkerPool::new(1, QUEUE_LIMIT);
    }

    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        let taken = self.pool.jobs().map(|j| (j.from, j.id));
        let blocked = self.state.iter().flat_map(|st| st.blocked.iter().map(|b| (b.client, b.id)));
        taken.chain(blocked).map(|(from, id)| (from, Message::ConnectionClosed { id })).collect()
    }

    fn on_power_loss(&mut self, monotonic: Time) {
        if self.config.redis.appendonly {
            self.aof.power_lost(monotonic);
        }
    }
}
