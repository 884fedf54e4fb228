//! A Redis 7.0 cache node: the keyspace model of [`crate::redis`] behind
//! Redis's single main thread (one command at a time, each taking a short
//! service time), with `serverCron` running the active expire cycle `hz`
//! times a second of the node's clock. Expiry follows the node's wall
//! clock, as Redis's does, so a skewed clock expires keys early or late.
//!
//! App servers talk to it with [`CacheCmd`]s on keys `k<key>`. Nothing is
//! persisted (a cache without RDB or AOF): a crash empties it.

use super::workers::{Submitted, WorkerPool};
use crate::context::Ctx;
use crate::distribution::Distribution;
use crate::message::{CacheCmd, CacheReply, Message, NodeId, RequestId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::redis::{Keyspace, RedisConfig, Reply};
use crate::time::{Duration, NANOS_PER_MILLI, NANOS_PER_SEC};
use crate::trace::Note;
use serde::{Deserialize, Serialize};

/// Commands waiting for the main thread; more are refused.
const QUEUE_LIMIT: usize = 100_000;

fn default_service_time() -> Distribution {
    Distribution::Constant(Duration::from_micros(20))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Redis's settings (`maxmemory`, `maxmemory_policy`, ...).
    #[serde(default)]
    pub redis: RedisConfig,
    /// Time the main thread spends on one command.
    #[serde(default = "default_service_time")]
    pub service_time: Distribution,
}

impl CacheConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.redis.validate().map_err(|(f, m)| (format!("redis.{f}"), m))?;
        self.service_time.validate().map_err(|e| ("service_time".into(), e))
    }
}

#[derive(Clone, Copy, Debug)]
struct Job {
    from: NodeId,
    id: RequestId,
    cmd: CacheCmd,
}

#[derive(Clone, Debug)]
pub struct Cache {
    pub config: CacheConfig,
    /// Lost on a crash (nothing is persisted): `None` while down.
    keyspace: Option<Keyspace>,
    pool: WorkerPool<Job>,
    refused: u64,
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
}

fn key_name(key: u32) -> Vec<u8> {
    format!("k{key}").into_bytes()
}

impl Cache {
    pub fn new(config: CacheConfig, rng: &mut crate::rng::Rng) -> Cache {
        let keyspace = Some(Keyspace::new(config.redis.clone(), rng));
        Cache { config, keyspace, pool: WorkerPool::new(1, QUEUE_LIMIT), refused: 0 }
    }

    pub fn view(&self) -> CacheView {
        let ks = self.keyspace.as_ref();
        let s = ks.map(|k| k.stats());
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
        }
    }

    /// The keyspace (None while crashed), for tests and the UI.
    pub fn keyspace(&self) -> Option<&Keyspace> {
        self.keyspace.as_ref()
    }

    /// The node's wall clock as Redis reads it: Unix milliseconds. A run
    /// starts at 2026-01-01 00:00 UTC, so even a clock skewed far back
    /// stays positive, as Redis assumes.
    fn now_ms(ctx: &Ctx) -> i64 {
        const RUN_EPOCH_MS: i64 = 1_767_225_600_000;
        RUN_EPOCH_MS + ctx.wall_clock().div_euclid(NANOS_PER_MILLI as i64)
    }

    fn execute(&mut self, ctx: &mut Ctx, cmd: CacheCmd) -> CacheReply {
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
        };
        let now = Self::now_ms(ctx);
        let keyspace = self.keyspace.as_mut().expect("a running cache has its keyspace");
        let reply = keyspace.execute(&argv, now, ctx.rng());
        match (cmd, reply) {
            (CacheCmd::Get { .. }, Reply::Bulk(v)) => {
                CacheReply::Value { value: std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()) }
            }
            (CacheCmd::Get { .. }, Reply::Nil) => CacheReply::Value { value: None },
            (_, r) if r.is_error() => CacheReply::Error,
            _ => CacheReply::Done,
        }
    }

    fn start(&self, ctx: &mut Ctx) {
        let t = ctx.service_time(&self.config.service_time);
        ctx.set_timer(t, Timer::ServiceDone { worker: 0 });
    }

    fn cron_interval(&self) -> u64 {
        NANOS_PER_SEC / u64::from(self.config.redis.hz)
    }
}

impl Process for Cache {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.keyspace = Some(Keyspace::new(self.config.redis.clone(), ctx.rng()));
        self.pool = WorkerPool::new(1, QUEUE_LIMIT);
        ctx.set_timer(self.cron_interval(), Timer::Cron);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        if let Message::CacheRequest { id, cmd } = msg {
            match self.pool.submit(Job { from, id, cmd }) {
                Submitted::Started(_) => self.start(ctx),
                Submitted::Queued => {}
                Submitted::Refused(_) => {
                    self.refused += 1;
                    ctx.note(Note::QueueFull { queued: self.pool.queued() as u32 });
                    ctx.send(from, Message::CacheReply { id, reply: CacheReply::Error });
                }
            }
            ctx.set_load(self.pool.busy(), 1, self.pool.queued() as u32);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::ServiceDone { worker } => {
                let (job, next) = self.pool.finish(worker);
                let reply = self.execute(ctx, job.cmd);
                ctx.send(job.from, Message::CacheReply { id: job.id, reply });
                if next {
                    self.start(ctx);
                }
                ctx.set_load(self.pool.busy(), 1, self.pool.queued() as u32);
            }
            Timer::Cron => {
                let now = Self::now_ms(ctx);
                if let Some(keyspace) = self.keyspace.as_mut() {
                    keyspace.cron(now, ctx.rng());
                }
                ctx.set_timer(self.cron_interval(), Timer::Cron);
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        // Nothing on disk: the keyspace is gone, rebuilt empty on restart.
        self.keyspace = None;
        self.pool = WorkerPool::new(1, QUEUE_LIMIT);
    }
}
