//! An application server: a pool of workers in front of a bounded accept
//! queue. A request waits for a free worker, takes a service time drawn from
//! its distribution (scaled when the node is slowed), and is answered. When
//! the queue is full, the request is refused at once with 503.
//!
//! Connect-only health checks are answered by the host (a TCP handshake)
//! even while every worker is busy, and even while the process is paused;
//! only a crashed process (connection refused) or an unreachable host fails
//! them. An HTTP check (`option httpchk`) is a request like the others: it
//! waits for a worker (or is refused with 503 when the queue is full), and
//! the worker that takes it answers 200 at once. So a hung or overloaded
//! process fails HTTP checks.

use super::workers::{Submitted, WorkerPool};
use crate::context::Ctx;
use crate::distribution::Distribution;
use crate::follow::Carrier;
use crate::follow::Queue;
use crate::message::{CacheCmd, CacheReply, Message, NodeId, Op, Request, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
use handler::{HandlerConfig, Health, ReadPath, WritePath};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod handler;

fn default_workers() -> u32 {
    4
}
fn default_queue() -> u32 {
    128
}
fn default_service_time() -> Distribution {
    Distribution::Exponential { min: Duration::from_millis(1), mean: Duration::from_millis(5) }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Requests served at once (threads or processes).
    #[serde(default = "default_workers")]
    pub workers: u32,
    /// Requests that may wait for a worker; more are refused with 503.
    #[serde(default = "default_queue")]
    pub queue: u32,
    /// Time one request takes on one worker.
    #[serde(default = "default_service_time")]
    pub service_time: Distribution,
    /// What the server does after computing: calls to a cache and a
    /// database (see [`handler`]). Without it, it answers at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<HandlerConfig>,
}

pub const MAX_WORKERS: u32 = 10_000;
pub const MAX_QUEUE: u32 = 1_000_000;

impl ServerConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err(("workers".into(), format!("workers must be 1 to {MAX_WORKERS}, got {}", self.workers)));
        }
        if self.queue > MAX_QUEUE {
            return Err(("queue".into(), format!("queue must be at most {MAX_QUEUE}, got {}", self.queue)));
        }
        if let Some(h) = &self.handler {
            h.validate().map_err(|(f, m)| (format!("handler.{f}"), m))?;
        }
        self.service_time.validate().map_err(|e| ("service_time".into(), e))
    }
}

/// Where a request's calls go (node ids of the handler's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    pub database: NodeId,
    pub read_from: Option<NodeId>,
    pub cache: Option<NodeId>,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Its service time is running.
    Compute,
    /// Read: waiting for the cache's GET.
    CacheGet,
    /// Read: waiting for the database (`fill`: then put it in the cache).
    Load { fill: bool },
    /// Read: waiting for the cache's SET of the loaded value.
    Fill { value: Option<u64> },
    /// Read-through: another worker is loading this key.
    Waiting,
    /// Write: waiting for the database.
    Write,
    /// Write: waiting for the cache's SET (write-through, write-behind) or
    /// DEL (write-around).
    CacheUpdate,
    /// An HTTP health check (its number in the request id), waiting for a
    /// worker.
    Check,
    /// A deep health check: waiting for the database's answer.
    CheckDatabase,
}

impl Stage {
    /// A health check's, not a request's.
    fn is_check(self) -> bool {
        matches!(self, Stage::Check | Stage::CheckDatabase)
    }
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    req: Request,
    stage: Stage,
    /// The id of the call in flight.
    call: u64,
    timer: Option<TimerId>,
}

/// What survives a crash: written to disk at every start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Disk {
    pub boots: u32,
}

/// What a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    pool: WorkerPool<Job>,
    served: u64,
    refused: u64,
    next_call: u64,
    /// The database primary as last announced, and its epoch.
    primary: NodeId,
    primary_epoch: u32,
    /// Read-through: keys being loaded, and the workers waiting for them.
    loading: BTreeMap<u32, Vec<u32>>,
    /// Write-behind: writes not yet sent to the database.
    unflushed: BTreeMap<u32, u64>,
    cache_hits: u64,
    cache_misses: u64,
}

impl Volatile {
    fn new(config: &ServerConfig, targets: Option<Targets>) -> Volatile {
        Volatile {
            pool: WorkerPool::new(config.workers, config.queue as usize),
            served: 0,
            refused: 0,
            next_call: 0,
            primary: targets.map_or(0, |t| t.database),
            primary_epoch: 0,
            loading: BTreeMap::new(),
            unflushed: BTreeMap::new(),
            cache_hits: 0,
            cache_misses: 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub config: ServerConfig,
    pub targets: Option<Targets>,
    pub disk: Disk,
    state: Volatile,
}

/// What the UI shows of an app server's calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Write-behind writes not yet in the database.
    pub unflushed: usize,
}

/// Worker numbers sit in the low bits of a call id.
const WORKER_BITS: u32 = 16;

impl Server {
    /// `targets`: the handler's nodes, if the config has a handler.
    pub fn new(config: ServerConfig, targets: Option<Targets>) -> Server {
        let state = Volatile::new(&config, targets);
        Server { config, targets, disk: Disk::default(), state }
    }

    pub fn busy(&self) -> u32 {
        self.state.pool.busy()
    }
    pub fn queued(&self) -> usize {
        self.state.pool.queued()
    }
    /// Requests served since the last start.
    pub fn served(&self) -> u64 {
        self.state.served
    }
    pub fn refused(&self) -> u64 {
        self.state.refused
    }
    pub fn call_stats(&self) -> CallStats {
        CallStats {
            cache_hits: self.state.cache_hits,
            cache_misses: self.state.cache_misses,
            unflushed: self.state.unflushed.len(),
        }
    }

    /// Starts the job `worker` took: a request's service time. A shallow
    /// health check is answered at once (the endpoint does no work to
    /// speak of), and the worker takes the next job; a deep one reads from
    /// the database first.
    fn start_service(&mut self, ctx: &mut Ctx, worker: u32) {
        self.work_for_job(ctx, worker);
        ctx.left_queue();
        while self.state.pool.job(worker).is_some_and(|j| j.stage == Stage::Check) {
            if self.config.handler.as_ref().is_some_and(|h| h.health == Health::Deep) {
                self.db_call(ctx, worker, Op::Read { key: 0 }, Stage::CheckDatabase);
                return;
            }
            let (job, next) = self.state.pool.finish(worker);
            reply(ctx, &job, Status::Ok, None);
            if !next {
                return;
            }
            self.work_for_job(ctx, worker);
        }
        let t = ctx.service_time(&self.config.service_time);
        ctx.set_timer(t, Timer::ServiceDone { worker });
    }

    /// A request or a check for a worker, or refused with 503 when the
    /// queue is full.
    fn submit(&mut self, ctx: &mut Ctx, job: Job) {
        match self.state.pool.submit(job) {
            Submitted::Started(worker) => self.start_service(ctx, worker),
            Submitted::Queued => {
                ctx.queued(Queue::Workers { workers: self.config.workers, waiting: self.queued() as u32 })
            }
            Submitted::Refused(job) => {
                self.state.refused += 1;
                ctx.note(Note::QueueFull { queued: self.queued() as u32 });
                reply(ctx, &job, Status::ServiceUnavailable, None);
            }
        }
    }

    fn report_load(&self, ctx: &mut Ctx) {
        ctx.set_load(self.busy(), self.config.workers, self.queued() as u32);
    }

    fn handler(&self) -> &HandlerConfig {
        self.config.handler.as_ref().expect("a handler")
    }

    fn job(&mut self, worker: u32) -> &mut Job {
        self.state.pool.job_mut(worker).expect("a busy worker")
    }

    /// Answers the request on `worker` and frees the worker.
    fn respond(&mut self, ctx: &mut Ctx, worker: u32, status: Status, value: Option<u64>) {
        let (job, next) = self.state.pool.finish(worker);
        if let Some(t) = job.timer {
            ctx.cancel_timer(t);
        }
        if !job.stage.is_check() {
            self.state.served += 1;
        }
        reply(ctx, &job, status, value);
        if next {
            self.start_service(ctx, worker);
        }
    }

    /// What follows is for the job on `worker` (see [`Ctx::work_for`]):
    /// the worker may have taken it from the queue, or be one of several
    /// a read-through load wakes.
    fn work_for_job(&self, ctx: &mut Ctx, worker: u32) {
        match self.state.pool.job(worker) {
            Some(j) if !j.stage.is_check() => ctx.work_for(j.from, j.req.id),
            _ => ctx.work_for_none(),
        }
    }

    /// Makes a call for the request on `worker`, with a timeout.
    fn call(&mut self, ctx: &mut Ctx, worker: u32, to: NodeId, msg: impl FnOnce(u64) -> Message, stage: Stage) {
        self.work_for_job(ctx, worker);
        self.state.next_call += 1;
        let id = (self.state.next_call << WORKER_BITS) | u64::from(worker);
        ctx.send(to, msg(id));
        let timeout = self.handler().call_timeout.nanos;
        let timer = ctx.set_timer(timeout, Timer::CallTimeout { worker, call: id });
        let job = self.job(worker);
        if let Some(t) = job.timer.replace(timer) {
            ctx.cancel_timer(t);
        }
        job.call = id;
        job.stage = stage;
    }

    fn cache_call(&mut self, ctx: &mut Ctx, worker: u32, cmd: CacheCmd, stage: Stage) {
        let cache = self.targets.and_then(|t| t.cache).expect("validated: a cache");
        self.call(ctx, worker, cache, |id| Message::CacheRequest { id, cmd }, stage);
    }

    fn db_call(&mut self, ctx: &mut Ctx, worker: u32, op: Op, stage: Stage) {
        let to = match op {
            Op::Read { .. } => self.targets.and_then(|t| t.read_from).unwrap_or(self.state.primary),
            Op::Write { .. } => self.state.primary,
        };
        let req = Request { id: 0, op, path: 0, accept: false };
        self.call(ctx, worker, to, |id| Message::Request(Request { id, ..req }), stage);
    }

    fn ttl_ms(&self) -> u64 {
        (self.handler().ttl.nanos / 1_000_000).max(1)
    }

    /// The service time is over: start the request's calls.
    fn begin(&mut self, ctx: &mut Ctx, worker: u32) {
        let op = self.job(worker).req.op;
        match op {
            Op::Read { key } => match self.handler().read_path() {
                ReadPath::Database => self.db_call(ctx, worker, op, Stage::Load { fill: false }),
                ReadPath::CacheAside | ReadPath::ReadThrough => {
                    self.cache_call(ctx, worker, CacheCmd::Get { key }, Stage::CacheGet)
                }
            },
            Op::Write { key, value } => match self.handler().write_path() {
                WritePath::WriteBehind => {
                    let ttl_ms = self.ttl_ms();
                    self.cache_call(ctx, worker, CacheCmd::Set { key, value, ttl_ms }, Stage::CacheUpdate);
                }
                _ => self.db_call(ctx, worker, op, Stage::Write),
            },
        }
    }

    /// A read missed the cache (or the cache did not answer).
    fn missed(&mut self, ctx: &mut Ctx, worker: u32) {
        self.state.cache_misses += 1;
        let op = self.job(worker).req.op;
        let key = op.key();
        if self.handler().read_path() == ReadPath::ReadThrough {
            if let Some(waiters) = self.state.loading.get_mut(&key) {
                waiters.push(worker);
                let job = self.job(worker);
                job.stage = Stage::Waiting;
                if let Some(t) = job.timer.take() {
                    ctx.cancel_timer(t);
                }
                return;
            }
            self.state.loading.insert(key, Vec::new());
        }
        self.db_call(ctx, worker, op, Stage::Load { fill: true });
    }

    /// A read has its answer: reply, and to any read-through waiters.
    fn read_done(&mut self, ctx: &mut Ctx, worker: u32, status: Status, value: Option<u64>) {
        let key = self.job(worker).req.op.key();
        if self.handler().read_path() == ReadPath::ReadThrough {
            for w in self.state.loading.remove(&key).unwrap_or_default() {
                self.respond(ctx, w, status, value);
            }
        }
        self.respond(ctx, worker, status, value);
    }

    /// The answer to a call (`None`: it timed out).
    fn answered(&mut self, ctx: &mut Ctx, worker: u32, answer: Option<Answer>) {
        let job = *self.job(worker);
        if let Some(t) = self.job(worker).timer.take() {
            ctx.cancel_timer(t);
        }
        match (job.stage, answer) {
            (Stage::CacheGet, Some(Answer::Cache(CacheReply::Value { value: Some(v) }))) => {
                self.state.cache_hits += 1;
                self.respond(ctx, worker, Status::Ok, Some(v));
            }
            (Stage::CacheGet, _) => self.missed(ctx, worker),
            (Stage::Load { fill }, Some(Answer::Db(Status::Ok, value))) => match (fill, value) {
                (true, Some(value)) => {
                    let key = job.req.op.key();
                    let ttl_ms = self.ttl_ms();
                    self.cache_call(
                        ctx,
                        worker,
                        CacheCmd::Set { key, value, ttl_ms },
                        Stage::Fill { value: Some(value) },
                    );
                }
                _ => self.read_done(ctx, worker, Status::Ok, value),
            },
            (Stage::Load { .. }, Some(Answer::Db(status, _))) => self.read_done(ctx, worker, status, None),
            // Refused: the database never saw it.
            (Stage::Load { .. }, Some(Answer::Refused)) => {
                self.read_done(ctx, worker, Status::ServiceUnavailable, None)
            }
            // The database died holding the query (502), or did not
            // answer in time (504).
            (Stage::Load { .. }, Some(Answer::Closed)) => self.read_done(ctx, worker, Status::BadGateway, None),
            (Stage::Load { .. }, _) => self.read_done(ctx, worker, Status::GatewayTimeout, None),
            // The fill is best effort: the read has its value either way.
            (Stage::Fill { value }, _) => self.read_done(ctx, worker, Status::Ok, value),
            (Stage::Write, Some(Answer::Db(Status::Ok, _))) => {
                let Op::Write { key, value } = job.req.op else { unreachable!("a write") };
                match self.handler().write_path() {
                    WritePath::WriteThrough => {
                        let ttl_ms = self.ttl_ms();
                        self.cache_call(ctx, worker, CacheCmd::Set { key, value, ttl_ms }, Stage::CacheUpdate);
                    }
                    WritePath::WriteAround => self.cache_call(ctx, worker, CacheCmd::Del { key }, Stage::CacheUpdate),
                    _ => self.respond(ctx, worker, Status::Ok, None),
                }
            }
            (Stage::Write, Some(Answer::Db(status, _))) => self.respond(ctx, worker, status, None),
            (Stage::Write, Some(Answer::Refused)) => self.respond(ctx, worker, Status::ServiceUnavailable, None),
            // No answer: the write may or may not have happened.
            (Stage::Write, Some(Answer::Closed)) => self.respond(ctx, worker, Status::BadGateway, None),
            (Stage::Write, _) => self.respond(ctx, worker, Status::GatewayTimeout, None),
            (Stage::CacheUpdate, answer) => {
                if self.handler().write_path() == WritePath::WriteBehind {
                    match answer {
                        Some(Answer::Cache(CacheReply::Done)) => {
                            let Op::Write { key, value } = job.req.op else { unreachable!("a write") };
                            self.state.unflushed.insert(key, value);
                            // The write travels on in the buffer.
                            ctx.carried_by(Carrier::Unflushed { server: ctx.me(), key });
                            self.respond(ctx, worker, Status::Ok, None);
                        }
                        Some(Answer::Closed) => self.respond(ctx, worker, Status::BadGateway, None),
                        Some(_) => self.respond(ctx, worker, Status::ServiceUnavailable, None),
                        None => self.respond(ctx, worker, Status::GatewayTimeout, None),
                    }
                } else {
                    // The database has the write; a failed cache update
                    // leaves the old value cached until its TTL.
                    self.respond(ctx, worker, Status::Ok, None);
                }
            }
            // A deep check passes only if the database answered the read.
            (Stage::CheckDatabase, Some(Answer::Db(Status::Ok, _))) => self.respond(ctx, worker, Status::Ok, None),
            (Stage::CheckDatabase, _) => self.respond(ctx, worker, Status::ServiceUnavailable, None),
            (Stage::Compute | Stage::Waiting | Stage::Check, _) => {}
        }
    }

    /// Write-behind: sends the buffered writes to the database.
    fn flush(&mut self, ctx: &mut Ctx) {
        let writes = std::mem::take(&mut self.state.unflushed);
        for (key, value) in writes {
            self.state.next_call += 1;
            // Not tied to a worker: the answer is not awaited.
            let id = self.state.next_call << WORKER_BITS | u64::from(u16::MAX);
            let req = Request { id, op: Op::Write { key, value }, path: 0, accept: false };
            // For the write that put it in the buffer.
            ctx.work_for_delivered(Carrier::Unflushed { server: ctx.me(), key });
            ctx.send(self.state.primary, Message::Request(req));
        }
        ctx.work_for_none();
        ctx.set_timer(self.handler().flush_every.nanos, Timer::FlushWrites);
    }

    /// The worker a call id belongs to, if that call is still awaited.
    fn caller(&self, id: u64) -> Option<u32> {
        let worker = (id & ((1 << WORKER_BITS) - 1)) as u32;
        match self.state.pool.job(worker) {
            Some(job) if job.call == id && job.stage != Stage::Compute => Some(worker),
            _ => None,
        }
    }
}

/// Answers `job`: a request's response, or a health check's.
fn reply(ctx: &mut Ctx, job: &Job, status: Status, value: Option<u64>) {
    let msg = match job.stage {
        Stage::Check | Stage::CheckDatabase => Message::HttpCheckReply { seq: job.req.id as u32, status },
        _ => Message::Response(Response { id: job.req.id, status, value }),
    };
    ctx.send(job.from, msg);
}

/// What came back from a call.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Db(Status, Option<u64>),
    Cache(CacheReply),
    /// The callee's host refused the connection (its process is down).
    Refused,
    /// The callee died before answering: its connection closed.
    Closed,
}

impl Process for Server {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.disk.boots += 1;
        self.state = Volatile::new(&self.config, self.targets);
        if self.config.handler.as_ref().is_some_and(|h| h.write_path() == WritePath::WriteBehind) {
            ctx.set_timer(self.handler().flush_every.nanos, Timer::FlushWrites);
        }
        self.report_load(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Request(req) => self.submit(ctx, Job { from, req, stage: Stage::Compute, call: 0, timer: None }),
            Message::HttpCheck { seq } => {
                let req = Request { id: u64::from(seq), op: Op::Read { key: 0 }, path: 0, accept: false };
                self.submit(ctx, Job { from, req, stage: Stage::Check, call: 0, timer: None });
            }
            Message::Response(resp) => {
                if let Some(worker) = self.caller(resp.id) {
                    self.answered(ctx, worker, Some(Answer::Db(resp.status, resp.value)));
                }
            }
            Message::CacheReply { id, reply } => {
                if let Some(worker) = self.caller(id) {
                    self.answered(ctx, worker, Some(Answer::Cache(reply)));
                }
            }
            Message::RequestRefused { id } => {
                if let Some(worker) = self.caller(id) {
                    self.answered(ctx, worker, Some(Answer::Refused));
                }
            }
            Message::ConnectionClosed { id } => {
                if let Some(worker) = self.caller(id) {
                    self.answered(ctx, worker, Some(Answer::Closed));
                }
            }
            Message::ConnectionReset { id } => {
                // A worker that takes a reset connection from the queue
                // reads an error, not a request: no work is done. One
                // already working does not notice until it answers.
                let reset = |j: &Job| j.from == from && j.req.id == id && j.stage == Stage::Compute;
                self.state.pool.withdraw(reset);
            }
            Message::PrimaryIs { epoch, .. } if epoch > self.state.primary_epoch => {
                self.state.primary = from;
                self.state.primary_epoch = epoch;
            }
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::ServiceDone { worker } => {
                if self.config.handler.is_some() {
                    self.begin(ctx, worker);
                } else {
                    self.respond(ctx, worker, Status::Ok, None);
                }
            }
            Timer::CallTimeout { worker, call } if self.caller(call) == Some(worker) => {
                self.job(worker).timer = None;
                self.answered(ctx, worker, None);
            }
            Timer::FlushWrites => self.flush(ctx),
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_crash(&mut self) {
        // In-flight requests and unflushed write-behind writes are lost.
        self.state = Volatile::new(&self.config, self.targets);
    }

    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        let closed = |job: &Job| match job.stage {
            Stage::Check | Stage::CheckDatabase => Message::CheckClosed { seq: job.req.id as u32 },
            _ => Message::ConnectionClosed { id: job.req.id },
        };
        self.state.pool.jobs().map(|job| (job.from, closed(job))).collect()
    }
}
