//! An application server: a pool of workers in front of a bounded accept
//! queue. A request waits for a free worker, takes a service time drawn from
//! its distribution (scaled when the node is slowed), and is answered. When
//! the queue is full, the request is refused at once with 503.
//!
//! Health checks are answered by the host (a TCP handshake) even while every
//! worker is busy, and even while the process is paused; only a crashed
//! process (connection refused) or an unreachable host fails them.

use super::workers::{Submitted, WorkerPool};
use crate::context::Ctx;
use crate::distribution::Distribution;
use crate::message::{Message, NodeId, Request, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
use serde::{Deserialize, Serialize};

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
        self.service_time.validate().map_err(|e| ("service_time".into(), e))
    }
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    req: Request,
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
}

impl Volatile {
    fn new(config: &ServerConfig) -> Volatile {
        Volatile { pool: WorkerPool::new(config.workers, config.queue as usize), served: 0, refused: 0 }
    }
}

#[derive(Clone, Debug)]
pub struct Server {
    pub config: ServerConfig,
    pub disk: Disk,
    state: Volatile,
}

impl Server {
    pub fn new(config: ServerConfig) -> Server {
        let state = Volatile::new(&config);
        Server { config, disk: Disk::default(), state }
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

    fn start_service(&self, ctx: &mut Ctx, worker: u32) {
        let t = ctx.service_time(&self.config.service_time);
        ctx.set_timer(t, Timer::ServiceDone { worker });
    }

    fn report_load(&self, ctx: &mut Ctx) {
        ctx.set_load(self.busy(), self.config.workers, self.queued() as u32);
    }
}

impl Process for Server {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.disk.boots += 1;
        self.state = Volatile::new(&self.config);
        self.report_load(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        if let Message::Request(req) = msg {
            match self.state.pool.submit(Job { from, req }) {
                Submitted::Started(worker) => self.start_service(ctx, worker),
                Submitted::Queued => {}
                Submitted::Refused(_) => {
                    self.state.refused += 1;
                    ctx.note(Note::QueueFull { queued: self.queued() as u32 });
                    let resp = Response { id: req.id, status: Status::ServiceUnavailable, value: None };
                    ctx.send(from, Message::Response(resp));
                }
            }
            self.report_load(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        if let Timer::ServiceDone { worker } = timer {
            let (job, next) = self.state.pool.finish(worker);
            self.state.served += 1;
            let resp = Response { id: job.req.id, status: Status::Ok, value: None };
            ctx.send(job.from, Message::Response(resp));
            if next {
                self.start_service(ctx, worker);
            }
            self.report_load(ctx);
        }
    }

    fn on_crash(&mut self) {
        self.state = Volatile::new(&self.config);
    }
}
