//! A key-value database with a primary and replicas, replicating the way
//! MySQL and PostgreSQL do: the primary orders every write (a log sequence
//! number, `lsn`) and ships it to its replicas, which apply writes in order
//! and acknowledge them.
//!
//! - `async`: a write is acknowledged at once; a failover loses what the
//!   new primary had not received.
//! - `semi_sync`: acknowledged once one replica has it, or after
//!   `semi_sync_timeout`, when it falls back to asynchronous (MySQL's
//!   semi-sync "switched OFF"): later writes are acknowledged at once until
//!   a replica has caught up ("switched ON").
//! - `sync`: acknowledged once every replica has it.
//!
//! Reads are served by whichever node gets them: a replica's may be stale.
//! A write sent to a replica is refused (read-only).
//!
//! Failover: a `promote` fault, or, with `failover`, the standby (the first
//! replica) promotes itself when the primary's heartbeats stop for
//! `detect_after`. The new primary leads a higher epoch; replicas follow it.
//! If the old primary was only cut off, it keeps taking writes (split
//! brain) until it hears of the new epoch; then it hands its writes of the
//! split over (`Reconcile`) and the newer write by timestamp wins
//! (last-writer-wins), and it resynchronises as a replica. Writes that lose,
//! or never reached anyone, are lost even though they were acknowledged.

pub mod config;
pub mod promotion;

use super::workers::{Submitted, WorkerPool};
use crate::context::Ctx;
use crate::failure_detector::{Detector, Liveness};
use crate::follow::Queue;
use crate::message::{Message, NodeId, Op, Request, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
use config::{DatabaseConfig, Replication};
use promotion::Promotion;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Requests that may wait for a worker; more are refused (503).
const QUEUE_LIMIT: usize = 1024;
/// Writes resent at most per request, to bound a catch-up burst.
const RESEND_BATCH: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Versioned {
    pub value: u64,
    /// Wall-clock time of the write on the primary that took it.
    pub ts: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LogEntry {
    lsn: u64,
    epoch: u32,
    key: u32,
    value: u64,
    ts: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum Role {
    Primary,
    Replica { of: NodeId },
}

/// What survives a crash: committed data is on disk.
#[derive(Clone, Debug)]
pub struct Disk {
    pub store: BTreeMap<u32, Versioned>,
    log: VecDeque<LogEntry>,
    /// The last write applied (as a primary: taken).
    pub lsn: u64,
    pub epoch: u32,
    pub role: Role,
    /// The lsn at which this node's current epoch began.
    pub since: u64,
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    req: Request,
}

/// A write waiting for replicas before it is acknowledged.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    from: NodeId,
    id: u64,
    timer: Option<TimerId>,
}

/// What a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    pool: WorkerPool<Job>,
    /// As primary: each replica's acknowledged lsn.
    acked: Vec<u64>,
    waiting: BTreeMap<u64, Vec<Waiting>>,
    /// As replica: the primary's heartbeats (monotonic clock), and its
    /// lsn at the last one.
    primary: Detector,
    primary_lsn: u64,
    /// A resend or full copy asked for and not yet answered.
    catching_up: bool,
    /// As semi-synchronous primary after a wait timed out: writes are
    /// acknowledged at once (MySQL's `Rpl_semi_sync_source_status` OFF)
    /// until a replica acknowledges this lsn: the newest write when semi-sync
    /// went off or when writes were last resent to a replica catching up.
    /// A replica that has it has caught up with the stream, as MySQL's
    /// "switched ON" requires.
    semi_sync_off: Option<u64>,
    /// As replica: how old the last write applied was (this node's wall
    /// clock minus the primary's at the write), like MySQL's
    /// `Seconds_Behind_Master`.
    apply_delay_ns: i64,
}

#[derive(Clone, Debug)]
pub struct Database {
    pub config: DatabaseConfig,
    /// The replication group in failover order: the configured primary,
    /// then its replicas.
    group: Vec<NodeId>,
    /// Other nodes linked to this one that want to know who is primary
    /// (app servers).
    listeners: Vec<NodeId>,
    pub disk: Disk,
    state: Volatile,
}

/// What the UI shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatabaseView {
    pub role: Role,
    pub epoch: u32,
    pub lsn: u64,
    /// Replicas: writes behind the primary's last heartbeat.
    pub lag: u64,
    /// Replicas: how old the last write applied was, in nanoseconds.
    pub delay_ns: i64,
    pub keys: usize,
    /// Primary: each replica's acknowledged lsn.
    pub acked: Vec<u64>,
    pub waiting_writes: usize,
    /// Primary: semi-sync switched OFF after a timeout (writes are
    /// acknowledged at once until a replica catches up).
    pub semi_sync_off: bool,
    /// Replicas with failover: what the failure detector makes of the
    /// primary's heartbeats.
    pub primary_liveness: Option<Liveness>,
}

impl Database {
    /// `group`: the configured primary then its replicas (this node among
    /// them); `listeners`: nodes to tell who is primary.
    pub fn new(config: DatabaseConfig, me: NodeId, group: Vec<NodeId>, listeners: Vec<NodeId>) -> Database {
        let role = if group.first() == Some(&me) { Role::Primary } else { Role::Replica { of: group[0] } };
        let disk = Disk { store: BTreeMap::new(), log: VecDeque::new(), lsn: 0, epoch: 1, role, since: 0 };
        let state = Volatile::new(&config, group.len());
        Database { config, group, listeners, disk, state }
    }

    pub fn view(&self) -> DatabaseView {
        DatabaseView {
            role: self.disk.role,
            epoch: self.disk.epoch,
            lsn: self.disk.lsn,
            lag: self.state.primary_lsn.saturating_sub(self.disk.lsn),
            delay_ns: if self.is_primary() { 0 } else { self.state.apply_delay_ns },
            keys: self.disk.store.len(),
            acked: self.state.acked.clone(),
            waiting_writes: self.state.waiting.values().map(Vec::len).sum(),
            semi_sync_off: self.state.semi_sync_off.is_some(),
            primary_liveness: (!self.is_primary() && self.config.failover.is_some())
                .then(|| self.state.primary.state()),
        }
    }

    pub fn is_primary(&self) -> bool {
        self.disk.role == Role::Primary
    }

    fn replicas(&self, me: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.group.iter().copied().filter(move |&n| n != me)
    }

    fn report_load(&self, ctx: &mut Ctx) {
        ctx.set_load(self.state.pool.busy(), self.config.workers, self.state.pool.queued() as u32);
    }

    fn start_service(&self, ctx: &mut Ctx, worker: u32) {
        // The worker may have taken the job from the queue.
        if let Some(job) = self.state.pool.job(worker) {
            ctx.work_for(job.from, job.req.id);
            ctx.left_queue();
        }
        let t = ctx.service_time(&self.config.service_time);
        ctx.set_timer(t, Timer::ServiceDone { worker });
    }

    /// Runs a request once a worker has spent its service time on it.
    fn execute(&mut self, ctx: &mut Ctx, job: Job) {
        ctx.work_for(job.from, job.req.id);
        let reply = |ctx: &mut Ctx, status, value| {
            ctx.send(job.from, Message::Response(Response { id: job.req.id, status, value }));
        };
        match job.req.op {
            Op::Read { key } => {
                let value = self.disk.store.get(&key).map(|v| v.value);
                reply(ctx, Status::Ok, value);
            }
            Op::Write { .. } if !self.is_primary() => reply(ctx, Status::ServiceUnavailable, None),
            Op::Write { key, value } => {
                let lsn = self.take_write(ctx, key, value, ctx.wall_clock());
                match self.config.replication {
                    Replication::Async => reply(ctx, Status::Ok, None),
                    _ if self.group.len() == 1 => reply(ctx, Status::Ok, None),
                    Replication::SemiSync if self.state.semi_sync_off.is_some() => reply(ctx, Status::Ok, None),
                    Replication::SemiSync => {
                        let timeout = self.config.semi_sync_timeout.nanos;
                        let timer = ctx.set_timer(timeout, Timer::SemiSyncTimeout { lsn });
                        self.wait(lsn, Waiting { from: job.from, id: job.req.id, timer: Some(timer) });
                    }
                    Replication::Sync => self.wait(lsn, Waiting { from: job.from, id: job.req.id, timer: None }),
                }
            }
        }
    }

    fn wait(&mut self, lsn: u64, w: Waiting) {
        self.state.waiting.entry(lsn).or_default().push(w);
    }

    /// Takes a write as primary: orders it, applies it, ships it.
    fn take_write(&mut self, ctx: &mut Ctx, key: u32, value: u64, ts: i64) -> u64 {
        self.disk.lsn += 1;
        let e = LogEntry { lsn: self.disk.lsn, epoch: self.disk.epoch, key, value, ts };
        self.apply(e);
        let me = ctx.me();
        let msg = Message::Replicate { epoch: e.epoch, lsn: e.lsn, key, value, ts };
        let replicas: Vec<NodeId> = self.replicas(me).collect();
        for r in replicas {
            ctx.send(r, msg);
        }
        e.lsn
    }

    fn apply(&mut self, e: LogEntry) {
        self.disk.store.insert(e.key, Versioned { value: e.value, ts: e.ts });
        self.disk.log.push_back(e);
        if self.disk.log.len() > self.config.log_retention {
            self.disk.log.pop_front();
        }
    }

    /// Acknowledges the waiting writes the replicas now hold.
    fn release_waiting(&mut self, ctx: &mut Ctx) {
        let needed = match self.config.replication {
            Replication::Async => return,
            Replication::SemiSync => 1,
            Replication::Sync => self.group.len() - 1,
        };
        let mut acks: Vec<u64> = self.state.acked.clone();
        checker::sort::sort_by(&mut acks, |a, b| b.cmp(a));
        // The lsn at least `needed` replicas hold.
        let held = acks.get(needed.saturating_sub(1)).copied().unwrap_or(0);
        let done: Vec<u64> = self.state.waiting.range(..=held).map(|(&l, _)| l).collect();
        for lsn in done {
            for w in self.state.waiting.remove(&lsn).unwrap_or_default() {
                if let Some(t) = w.timer {
                    ctx.cancel_timer(t);
                }
                ctx.send(w.from, Message::Response(Response { id: w.id, status: Status::Ok, value: None }));
            }
        }
    }

    fn announce(&self, ctx: &mut Ctx) {
        let msg = Message::PrimaryIs { epoch: self.disk.epoch, lsn: self.disk.lsn, since: self.disk.since };
        let me = ctx.me();
        let targets: Vec<NodeId> = self.replicas(me).chain(self.listeners.iter().copied()).collect();
        for n in targets {
            ctx.send(n, msg);
        }
    }

    /// Becomes the primary of a new epoch, for the reason `by`.
    pub fn promote(&mut self, ctx: &mut Ctx, by: Promotion) {
        if self.is_primary() {
            return;
        }
        self.disk.epoch += 1;
        self.disk.role = Role::Primary;
        self.disk.since = self.disk.lsn;
        self.state.acked = vec![0; self.group.len()];
        self.state.catching_up = false;
        self.state.semi_sync_off = None;
        ctx.note(Note::Promoted { epoch: self.disk.epoch, by });
        self.announce(ctx);
    }

    /// Follows `primary` of `epoch`. A node that has writes the new primary
    /// may lack (it led the old epoch, or got further than the new primary)
    /// resynchronises from a full copy; as an old primary it first hands
    /// over the writes of its epoch since the split.
    fn follow(&mut self, ctx: &mut Ctx, primary: NodeId, epoch: u32, since: u64) {
        let was_primary = self.is_primary();
        if was_primary {
            let mine = self.disk.epoch;
            let split: Vec<LogEntry> =
                self.disk.log.iter().filter(|e| e.epoch == mine && e.lsn > since).copied().collect();
            for e in split {
                ctx.send(primary, Message::Reconcile { key: e.key, value: e.value, ts: e.ts });
            }
            // Clients waiting for replicas will not get an answer from here.
            self.state.waiting.clear();
            ctx.note(Note::Demoted { epoch });
        }
        self.disk.epoch = epoch;
        self.disk.role = Role::Replica { of: primary };
        self.state.primary.heard(ctx.monotonic());
        if was_primary || self.disk.lsn > since {
            self.disk.store.clear();
            self.disk.log.clear();
            self.disk.lsn = 0;
            self.state.catching_up = true;
            ctx.send(primary, Message::SyncRequest);
        }
    }

    fn on_replicate(&mut self, ctx: &mut Ctx, from: NodeId, e: LogEntry) {
        match self.disk.role {
            Role::Replica { of } if of == from && e.epoch == self.disk.epoch => {}
            _ if e.epoch > self.disk.epoch => self.follow(ctx, from, e.epoch, e.lsn.saturating_sub(1)),
            _ => return,
        }
        if e.lsn <= self.disk.lsn {
            ctx.send(from, Message::ReplicaAck { lsn: self.disk.lsn });
        } else if e.lsn == self.disk.lsn + 1 {
            // The next write in order, shipped live or resent: a replica
            // catching up applies the resent ones too.
            self.state.catching_up = false;
            self.disk.lsn = e.lsn;
            self.apply(e);
            self.state.apply_delay_ns = ctx.wall_clock() - e.ts;
            ctx.send(from, Message::ReplicaAck { lsn: e.lsn });
        } else if !self.state.catching_up {
            self.state.catching_up = true;
            ctx.send(from, Message::ResendFrom { lsn: self.disk.lsn + 1 });
        }
    }

    fn on_resend(&mut self, ctx: &mut Ctx, from: NodeId, lsn: u64) {
        if !self.is_primary() {
            return;
        }
        // A replica catching up has caught up once it holds what is newest
        // now.
        if let Some(caught_up) = &mut self.state.semi_sync_off {
            *caught_up = self.disk.lsn;
        }
        match self.disk.log.front() {
            Some(first) if first.lsn <= lsn => {
                let start = (lsn - first.lsn) as usize;
                let entries: Vec<LogEntry> = self.disk.log.iter().skip(start).take(RESEND_BATCH).copied().collect();
                for e in entries {
                    let msg = Message::Replicate { epoch: e.epoch, lsn: e.lsn, key: e.key, value: e.value, ts: e.ts };
                    ctx.send(from, msg);
                }
            }
            // The writes it needs are no longer in the log: a full copy.
            _ if lsn <= self.disk.lsn => self.send_snapshot(ctx, from),
            _ => {}
        }
    }

    fn send_snapshot(&mut self, ctx: &mut Ctx, to: NodeId) {
        let entries: Vec<(u32, Versioned)> = self.disk.store.iter().map(|(&k, &v)| (k, v)).collect();
        for (key, v) in entries {
            ctx.send(to, Message::SnapshotEntry { key, value: v.value, ts: v.ts });
        }
        ctx.send(to, Message::SnapshotDone { lsn: self.disk.lsn });
    }

    fn heartbeat(&mut self, ctx: &mut Ctx) {
        let interval = self.config.failover.map_or(crate::time::NANOS_PER_SEC, |f| f.heartbeat.nanos);
        if self.is_primary() {
            self.announce(ctx);
        } else if self.config.failover.is_some() {
            let me = ctx.me();
            let standby = self.group.get(1) == Some(&me);
            let now = ctx.monotonic();
            let change = self.state.primary.check(now);
            if let (true, Some(Liveness::Down), Role::Replica { of }, Some(f)) =
                (standby, change, self.disk.role, self.config.failover)
            {
                let silence = Duration::from_nanos(self.state.primary.silence(now).max(0) as u64);
                self.promote(ctx, Promotion::Failover { primary: of, silence, detect_after: f.detect_after });
            }
        }
        ctx.set_timer(interval, Timer::Heartbeat);
    }
}

impl Volatile {
    fn new(config: &DatabaseConfig, group: usize) -> Volatile {
        Volatile {
            pool: WorkerPool::new(config.workers, QUEUE_LIMIT),
            acked: vec![0; group],
            waiting: BTreeMap::new(),
            primary: match config.failover {
                Some(f) => Detector::new(f.effective_suspect_after().nanos, f.detect_after.nanos, 0),
                None => Detector::new(u64::MAX / 4, u64::MAX / 4, 0),
            },
            primary_lsn: 0,
            catching_up: false,
            semi_sync_off: None,
            apply_delay_ns: 0,
        }
    }
}

impl Process for Database {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::new(&self.config, self.group.len());
        self.state.primary.heard(ctx.monotonic());
        if self.is_primary() {
            self.announce(ctx);
        } else if let Role::Replica { of } = self.disk.role {
            // Catch up on whatever was missed while down.
            self.state.catching_up = true;
            ctx.send(of, Message::ResendFrom { lsn: self.disk.lsn + 1 });
        }
        let interval = self.config.failover.map_or(crate::time::NANOS_PER_SEC, |f| f.heartbeat.nanos);
        ctx.set_timer(interval, Timer::Heartbeat);
        self.report_load(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Request(req) => match self.state.pool.submit(Job { from, req }) {
                Submitted::Started(w) => self.start_service(ctx, w),
                Submitted::Queued => ctx.queued(Queue::Workers {
                    workers: self.state.pool.workers(),
                    waiting: self.state.pool.queued() as u32,
                }),
                Submitted::Refused(_) => {
                    ctx.note(Note::QueueFull { queued: self.state.pool.queued() as u32 });
                    let resp = Response { id: req.id, status: Status::ServiceUnavailable, value: None };
                    ctx.send(from, Message::Response(resp));
                }
            },
            Message::Replicate { epoch, lsn, key, value, ts } => {
                self.on_replicate(ctx, from, LogEntry { lsn, epoch, key, value, ts })
            }
            Message::ReplicaAck { lsn } => {
                if let Some(i) = self.group.iter().position(|&n| n == from) {
                    if self.is_primary() {
                        self.state.acked[i] = self.state.acked[i].max(lsn);
                        if self.state.semi_sync_off.is_some_and(|caught_up| lsn >= caught_up) {
                            self.state.semi_sync_off = None;
                            ctx.note(Note::SemiSyncOn { lsn });
                        }
                        self.release_waiting(ctx);
                    }
                }
            }
            Message::ResendFrom { lsn } => self.on_resend(ctx, from, lsn),
            Message::SyncRequest if self.is_primary() => self.send_snapshot(ctx, from),
            Message::SnapshotEntry { key, value, ts } if self.disk.role == (Role::Replica { of: from }) => {
                self.disk.store.insert(key, Versioned { value, ts });
            }
            Message::SnapshotDone { lsn } if self.disk.role == (Role::Replica { of: from }) => {
                self.disk.lsn = lsn;
                self.disk.log.clear();
                self.state.catching_up = false;
                ctx.send(from, Message::ReplicaAck { lsn });
            }
            Message::PrimaryIs { epoch, lsn, since }
                if epoch > self.disk.epoch || (epoch == self.disk.epoch && !self.is_primary()) =>
            {
                if self.disk.role != (Role::Replica { of: from }) || epoch > self.disk.epoch {
                    self.follow(ctx, from, epoch, since);
                }
                self.state.primary.heard(ctx.monotonic());
                self.state.primary_lsn = lsn;
                if self.disk.lsn < lsn && !self.state.catching_up {
                    self.state.catching_up = true;
                    ctx.send(from, Message::ResendFrom { lsn: self.disk.lsn + 1 });
                } else if self.disk.lsn >= lsn {
                    self.state.catching_up = false;
                }
            }
            // Last writer wins: the later timestamp.
            Message::Reconcile { key, value, ts }
                if self.is_primary() && self.disk.store.get(&key).is_none_or(|v| ts > v.ts) =>
            {
                self.take_write(ctx, key, value, ts);
            }
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::ServiceDone { worker } => {
                let (job, next) = self.state.pool.finish(worker);
                if next {
                    self.start_service(ctx, worker);
                }
                self.execute(ctx, job);
            }
            Timer::SemiSyncTimeout { lsn } => {
                // No replica answered in time: acknowledge anyway, this write
                // and every one waiting, and stop waiting until a replica
                // catches up (as MySQL switches semi-sync OFF).
                if self.state.semi_sync_off.is_none() {
                    self.state.semi_sync_off = Some(self.disk.lsn);
                    ctx.note(Note::SemiSyncOff { lsn });
                }
                let waiting = std::mem::take(&mut self.state.waiting);
                for w in waiting.into_values().flatten() {
                    if let Some(t) = w.timer {
                        ctx.cancel_timer(t);
                    }
                    ctx.send(w.from, Message::Response(Response { id: w.id, status: Status::Ok, value: None }));
                }
            }
            Timer::Heartbeat => self.heartbeat(ctx),
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_crash(&mut self) {
        // Acknowledged writes are on disk; waiting clients are forgotten.
        self.state = Volatile::new(&self.config, self.group.len());
    }

    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        let taken = self.state.pool.jobs().map(|j| (j.from, j.req.id));
        let waiting = self.state.waiting.values().flatten().map(|w| (w.from, w.id));
        taken.chain(waiting).map(|(from, id)| (from, Message::ConnectionClosed { id })).collect()
    }
}
