//! A client node: it generates the scenario's traffic and records every
//! operation in the history.
//!
//! Open-loop traffic arrives at a rate whatever happens to earlier requests
//! (like real users); closed-loop traffic comes from a fixed number of
//! clients that each wait for an answer, think, and send again (like a
//! benchmark tool). A request whose answer does not come before the timeout
//! is indeterminate (`info`): it may still have taken effect. Giving up
//! closes its connection, which its target may notice.

use crate::context::Ctx;
use crate::distribution::Distribution;
use crate::history::{OpTicket, Outcome};
use crate::message::{CacheCmd, CacheReply, Message, NodeId, Op, PathId, Request, RequestId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::{Duration, NANOS_PER_SEC};
use crate::trace::Note;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly spaced.
    Constant,
    /// Independent arrivals: exponential gaps.
    #[default]
    Poisson,
}

pub(crate) mod read;

/// Written as serde derives; read by [`read`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Workload {
    /// `rate` requests per second, arriving regardless of answers.
    OpenLoop {
        rate: f64,
        #[serde(default)]
        arrival: Arrival,
    },
    /// `clients` clients, each sending one request at a time.
    ClosedLoop {
        clients: u32,
        #[serde(default = "zero_think")]
        think_time: Distribution,
    },
    /// Given requests at given times (of the client's clock): for lessons,
    /// and to replay a sequence against a real program and compare.
    Script { requests: Vec<ScriptedRequest> },
}

/// One scripted request: `{"at": "1s", "read": 3}` or
/// `{"at": "2s", "write": 3, "value": 42}`, optionally with a `path` (one
/// of the client's `paths`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedRequest {
    pub at: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl ScriptedRequest {
    pub fn op(&self) -> Op {
        match (self.read, self.write) {
            (Some(key), _) => Op::Read { key },
            (None, Some(key)) => Op::Write { key, value: self.value.unwrap_or(0) },
            (None, None) => unreachable!("validated: read or write"),
        }
    }
}

/// Scripted requests per client at most.
pub const MAX_SCRIPT: usize = 100_000;

fn zero_think() -> Distribution {
    Distribution::Constant(Duration::ZERO)
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_max_outstanding() -> u32 {
    10_000
}
fn default_read_fraction() -> f64 {
    0.9
}
fn default_keys() -> u32 {
    1000
}

/// A URL path requests ask for, and how often relative to the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    pub path: String,
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

fn default_paths() -> Vec<PathSpec> {
    vec![PathSpec { path: "/".to_string(), weight: 1 }]
}

pub const MAX_PATHS: usize = 1000;
pub const MAX_PATH_LEN: usize = 256;

/// What each request does: reads or writes of keys chosen uniformly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    #[serde(default = "default_read_fraction")]
    pub read_fraction: f64,
    #[serde(default = "default_keys")]
    pub keys: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix { read_fraction: default_read_fraction(), keys: default_keys() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The node requests go to.
    pub target: String,
    pub workload: Workload,
    /// How long a client waits for an answer.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    #[serde(default)]
    pub ops: OpMix,
    /// The URL paths requests go to (default: `/`), each picked with
    /// probability proportional to its weight.
    #[serde(default = "default_paths")]
    pub paths: Vec<PathSpec>,
    /// Requests in flight at most; an open-loop client counts the excess as
    /// not sent.
    #[serde(default = "default_max_outstanding")]
    pub max_outstanding: u32,
    /// When traffic starts.
    #[serde(default)]
    pub start: Duration,
    /// When traffic stops (never, if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Duration>,
    /// A client of a cache: after each write that succeeded, `WAIT
    /// replicas timeout`; the write completes with the number of replicas
    /// that acknowledged it as its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitSpec>,
    /// A client of a Redis primary that follows the primary its group
    /// announces (a Sentinel-aware client library: `+switch-master`, or an
    /// operator's promotion).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_primary: bool,
}

/// `WAIT numreplicas timeout` after each write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSpec {
    pub replicas: u32,
    /// 0 waits as long as it takes (bounded by the client's `timeout`).
    pub timeout: Duration,
}

/// The largest request rate one client node accepts.
pub const MAX_RATE: f64 = 10_000_000.0;
pub const MAX_OUTSTANDING: u32 = 1 << 20;
const SLOT_BITS: u32 = 20;

impl ClientConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        match &self.workload {
            Workload::OpenLoop { rate, .. } => {
                if !rate.is_finite() || *rate <= 0.0 || *rate > MAX_RATE {
                    return err(
                        "workload.rate",
                        format!(
                            "rate must be a number of requests per second above 0 and at most {MAX_RATE}, got {rate}"
                        ),
                    );
                }
            }
            Workload::ClosedLoop { clients, think_time } => {
                if *clients == 0 || *clients > MAX_OUTSTANDING {
                    return err("workload.clients", format!("clients must be 1 to {MAX_OUTSTANDING}, got {clients}"));
                }
                think_time.validate().map_err(|e| ("workload.think_time".to_string(), e))?;
            }
            Workload::Script { requests } => {
                if requests.is_empty() || requests.len() > MAX_SCRIPT {
                    return err(
                        "workload.requests",
                        format!("a script has 1 to {MAX_SCRIPT} requests, got {}", requests.len()),
                    );
                }
                for (i, r) in requests.iter().enumerate() {
                    let at = |f: &str| format!("workload.requests[{i}]{f}");
                    match (r.read, r.write, r.value) {
                        (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                        (Some(_), Some(_), _) => return err(&at(""), "a request reads or writes, not both".into()),
                        (Some(_), None, Some(_)) => return err(&at(".value"), "a read has no value".into()),
                        (None, Some(_), None) => return err(&at(".value"), "a write needs a value".into()),
                        (None, None, _) => {
                            return err(&at(""), "say \"read\": <key> or \"write\": <key> with a \"value\"".into())
                        }
                    }
                    if let Some(p) = &r.path {
                        if !self.paths.iter().any(|q| &q.path == p) {
                            return err(&at(".path"), format!("`{p}` is not one of the client's paths"));
                        }
                    }
                }
            }
        }
        if self.timeout == Duration::ZERO {
            return err("timeout", "timeout must be longer than 0s".into());
        }
        if !(0.0..=1.0).contains(&self.ops.read_fraction) {
            return err(
                "ops.read_fraction",
                format!("read_fraction must be between 0 and 1, got {}", self.ops.read_fraction),
            );
        }
        if self.ops.keys == 0 {
            return err("ops.keys", "keys must be at least 1".into());
        }
        if self.paths.is_empty() || self.paths.len() > MAX_PATHS {
            return err("paths", format!("a client needs 1 to {MAX_PATHS} paths, got {}", self.paths.len()));
        }
        for (i, p) in self.paths.iter().enumerate() {
            let ok =
                p.path.starts_with('/') && p.path.len() <= MAX_PATH_LEN && p.path.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return err(
                    &format!("paths[{i}].path"),
                    format!(
                        "`{}` is not a URL path: it must start with '/', be at most {MAX_PATH_LEN} characters and have no spaces",
                        p.path
                    ),
                );
            }
            if p.weight == 0 {
                return err(&format!("paths[{i}].weight"), "weight must be at least 1".into());
            }
        }
        if self.max_outstanding == 0 || self.max_outstanding > MAX_OUTSTANDING {
            return err(
                "max_outstanding",
                format!("max_outstanding must be 1 to {MAX_OUTSTANDING}, got {}", self.max_outstanding),
            );
        }
        if let Some(stop) = self.stop {
            if stop <= self.start {
                return err("stop", format!("stop ({stop}) must come after start ({})", self.start));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
struct Outstanding {
    id: RequestId,
    ticket: OpTicket,
    timer: TimerId,
    /// Where it went (a cache client may follow a new primary since).
    to: NodeId,
    /// A cache client's write, sent WAIT after its SET.
    waiting: bool,
    /// A final read: its key and the tries it has left after this one.
    final_read: Option<(u32, u8)>,
}

/// Final reads in flight at once, per client node.
pub const FINAL_READS_IN_FLIGHT: u32 = 16;
/// Tries of one final read at most (a refused or unanswered read is tried
/// again).
pub const FINAL_READ_TRIES: u8 = 3;

/// The final reads (see `crate::sim::final_reads`) still to send.
#[derive(Clone, Debug, Default)]
struct FinalReads {
    /// Keys to read, each with the tries it has left.
    queue: VecDeque<(u32, u8)>,
    in_flight: u32,
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    /// Requests in flight, by slot (the low bits of the request id).
    slots: Vec<Option<Outstanding>>,
    free: Vec<u32>,
    outstanding: u32,
    sent: u64,
    /// Closed loop: each client's current process number. After an
    /// indeterminate operation a client continues as a new process, as in
    /// Jepsen, so no process ever has two operations open.
    process: Vec<u32>,
    next_process: u32,
}

#[derive(Clone, Debug)]
pub struct Client {
    pub config: ClientConfig,
    pub target: NodeId,
    /// The target is a cache: requests are Redis commands.
    to_cache: bool,
    /// The configuration epoch of the primary followed.
    epoch: u32,
    /// The path table ids of `config.paths`, with running weight totals.
    paths: Vec<(PathId, u64)>,
    state: Volatile,
    /// After the run: the workload has stopped and the final reads go on.
    final_reads: Option<FinalReads>,
}

impl Client {
    /// `path_ids` are the run's ids of `config.paths`, in order.
    pub fn new(config: ClientConfig, target: NodeId, path_ids: &[PathId], to_cache: bool) -> Client {
        let mut total = 0;
        let paths = config
            .paths
            .iter()
            .zip(path_ids)
            .map(|(p, &id)| {
                total += u64::from(p.weight);
                (id, total)
            })
            .collect();
        Client { config, target, to_cache, epoch: 0, paths, state: Volatile::default(), final_reads: None }
    }

    fn next_path(&self, ctx: &mut Ctx) -> PathId {
        if self.paths.len() == 1 {
            return self.paths[0].0;
        }
        let total = self.paths.last().map_or(1, |p| p.1);
        let x = ctx.rng().below(total);
        self.paths[self.paths.partition_point(|p| p.1 <= x)].0
    }

    pub fn outstanding(&self) -> u32 {
        self.state.outstanding
    }

    fn stopped(&self, ctx: &Ctx) -> bool {
        // Traffic times are in the client's own clock, like a load
        // generator's schedule.
        self.final_reads.is_some() || self.config.stop.is_some_and(|stop| ctx.monotonic() >= stop.nanos as i64)
    }

    /// Ends the workload and, after `quiet`, reads each of `keys` once
    /// (Jepsen's final reads; see `crate::sim::final_reads`). Requests still in
    /// flight are given up: they stay indeterminate in the history, as when
    /// a real client stops waiting. At most [`FINAL_READS_IN_FLIGHT`] reads
    /// are in flight at once; one that fails or gets no answer is tried
    /// again, [`FINAL_READ_TRIES`] times in all.
    pub fn begin_final_reads(&mut self, ctx: &mut Ctx, keys: &[u32], quiet: u64) {
        for slot in 0..self.state.slots.len() {
            if let Some(out) = self.state.slots[slot].take() {
                ctx.cancel_timer(out.timer);
                self.state.free.push(slot as u32);
            }
        }
        self.state.outstanding = 0;
        let queue = keys.iter().map(|&k| (k, FINAL_READ_TRIES)).collect();
        self.final_reads = Some(FinalReads { queue, in_flight: 0 });
        ctx.set_timer(quiet, Timer::FinalReads);
    }

    /// True once every final read has been answered or given up.
    pub fn final_reads_done(&self) -> bool {
        self.final_reads.as_ref().is_none_or(|f| f.queue.is_empty() && f.in_flight == 0)
    }

    /// Sends final reads while there are keys left and room in flight.
    fn send_final_reads(&mut self, ctx: &mut Ctx) {
        loop {
            let Some(f) = self.final_reads.as_mut() else { return };
            if f.in_flight >= FINAL_READS_IN_FLIGHT {
                return;
            }
            let Some((key, tries)) = f.queue.pop_front() else { return };
            f.in_flight += 1;
            let slot = self.free_slot();
            let process = self.state.next_process;
            self.state.next_process = self.state.next_process.wrapping_add(1);
            let path = self.next_path(ctx);
            self.send_op(ctx, slot, process, Op::Read { key }, path);
            if let Some(out) = self.state.slots[slot as usize].as_mut() {
                out.final_read = Some((key, tries - 1));
            }
        }
    }

    fn next_op(&self, ctx: &mut Ctx) -> Op {
        let mix = self.config.ops;
        let rng = ctx.rng();
        let key = rng.below(u64::from(mix.keys)) as u32;
        if rng.chance(mix.read_fraction) {
            Op::Read { key }
        } else {
            Op::Write { key, value: rng.next_u64() >> 16 }
        }
    }

    /// Sends one request from `slot` (allocated by the caller).
    fn send(&mut self, ctx: &mut Ctx, slot: u32, process: u32) {
        let op = self.next_op(ctx);
        let path = self.next_path(ctx);
        self.send_op(ctx, slot, process, op, path);
    }

    fn send_op(&mut self, ctx: &mut Ctx, slot: u32, process: u32, op: Op, path: PathId) {
        self.state.sent += 1;
        let id = (self.state.sent << SLOT_BITS) | u64::from(slot);
        let ticket = ctx.invoke(process, op);
        let timer = ctx.set_timer(self.config.timeout.nanos, Timer::RequestTimeout { id });
        self.state.slots[slot as usize] =
            Some(Outstanding { id, ticket, timer, to: self.target, waiting: false, final_read: None });
        self.state.outstanding += 1;
        if self.to_cache {
            let cmd = match op {
                Op::Read { key } => CacheCmd::Get { key },
                Op::Write { key, value } => CacheCmd::Set { key, value, ttl_ms: 0 },
            };
            ctx.send(self.target, Message::CacheRequest { id, cmd });
        } else {
            ctx.send(self.target, Message::Request(Request { id, op, path, accept: false }));
        }
    }

    fn arrival_gap(&self, ctx: &mut Ctx) -> u64 {
        let Workload::OpenLoop { rate, arrival } = self.config.workload else { unreachable!() };
        let mean = NANOS_PER_SEC as f64 / rate;
        match arrival {
            Arrival::Constant => mean.round().max(1.0) as u64,
            Arrival::Poisson => ctx.rng().exponential(mean.round().max(1.0) as u64).max(1),
        }
    }

    fn free_slot(&mut self) -> u32 {
        match self.state.free.pop() {
            Some(s) => s,
            None => {
                self.state.slots.push(None);
                self.state.slots.len() as u32 - 1
            }
        }
    }

    /// Sends scripted request `index` (its own process, numbered by it).
    fn scripted(&mut self, ctx: &mut Ctx, index: u32) {
        if self.final_reads.is_some() {
            return;
        }
        let Workload::Script { requests } = &self.config.workload else { return };
        let r = &requests[index as usize];
        let op = r.op();
        let path = match &r.path {
            Some(p) => {
                let i = self.config.paths.iter().position(|q| &q.path == p).expect("validated path");
                self.paths[i].0
            }
            None => self.paths[0].0,
        };
        if self.state.outstanding < self.config.max_outstanding {
            let slot = self.free_slot();
            self.send_op(ctx, slot, index, op, path);
        } else {
            ctx.not_sent();
        }
    }

    fn open_loop_arrival(&mut self, ctx: &mut Ctx) {
        if self.stopped(ctx) {
            return;
        }
        if self.state.outstanding < self.config.max_outstanding {
            let slot = self.free_slot();
            // Each open-loop request is its own process.
            let process = self.state.next_process;
            self.state.next_process = self.state.next_process.wrapping_add(1);
            self.send(ctx, slot, process);
        } else {
            ctx.not_sent();
            ctx.note(Note::ClientOverloaded { outstanding: self.state.outstanding });
        }
        let gap = self.arrival_gap(ctx);
        ctx.set_timer(gap, Timer::NextArrival);
    }

    /// A slot's request finished (answered or timed out).
    fn finish(&mut self, ctx: &mut Ctx, slot: u32, outcome: Outcome, value: Option<u64>) {
        let out = self.state.slots[slot as usize].take().expect("outstanding request");
        self.state.outstanding -= 1;
        ctx.complete(out.ticket, outcome, value);
        if let Some((key, tries_left)) = out.final_read {
            self.state.free.push(slot);
            if let Some(f) = self.final_reads.as_mut() {
                f.in_flight -= 1;
                if outcome != Outcome::Ok && tries_left > 0 {
                    f.queue.push_back((key, tries_left));
                }
            }
            self.send_final_reads(ctx);
            return;
        }
        match &self.config.workload {
            Workload::OpenLoop { .. } | Workload::Script { .. } => self.state.free.push(slot),
            Workload::ClosedLoop { clients, think_time } => {
                if outcome == Outcome::Info {
                    self.state.process[slot as usize] += clients;
                }
                let think = think_time.sample(ctx.rng());
                if think == 0 {
                    self.closed_loop_next(ctx, slot);
                } else {
                    ctx.set_timer(think, Timer::ThinkDone { client: slot });
                }
            }
        }
    }

    fn closed_loop_next(&mut self, ctx: &mut Ctx, client: u32) {
        if !self.stopped(ctx) {
            let process = self.state.process[client as usize];
            self.send(ctx, client, process);
        }
    }

    /// The slot of a reply, if it answers a request still outstanding.
    fn slot_of(&self, id: RequestId) -> Option<u32> {
        let slot = (id & ((1 << SLOT_BITS) - 1)) as u32;
        match self.state.slots.get(slot as usize) {
            Some(Some(o)) if o.id == id => Some(slot),
            _ => None,
        }
    }
}

impl Process for Client {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::default();
        let start = self.config.start.nanos.saturating_sub(ctx.monotonic().max(0) as u64);
        match &self.config.workload {
            Workload::OpenLoop { .. } => {
                ctx.set_timer(start, Timer::NextArrival);
            }
            Workload::ClosedLoop { clients, .. } => {
                let n = *clients;
                self.state.slots = vec![None; n as usize];
                self.state.process = (0..n).collect();
                for c in 0..n {
                    ctx.set_timer(start, Timer::ThinkDone { client: c });
                }
            }
            Workload::Script { requests } => {
                // After a restart, only what is still ahead.
                let now = ctx.monotonic().max(0) as u64;
                let due: Vec<(u64, u32)> = requests
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.at.nanos >= now)
                    .map(|(i, r)| (r.at.nanos - now, i as u32))
                    .collect();
                for (after, index) in due {
                    ctx.set_timer(after, Timer::Scripted { index });
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx, _from: NodeId, msg: Message) {
        match msg {
            Message::Response(resp) => {
                if let Some(slot) = self.slot_of(resp.id) {
                    let timer = self.state.slots[slot as usize].expect("outstanding").timer;
                    ctx.cancel_timer(timer);
                    self.finish(ctx, slot, resp.status.outcome(), resp.value);
                }
            }
            Message::CacheReply { id, reply } => {
                let Some(slot) = self.slot_of(id) else { return };
                let out = self.state.slots[slot as usize].expect("outstanding");
                let (outcome, value) = match reply {
                    CacheReply::Value { value } => (Outcome::Ok, value),
                    CacheReply::Done => match self.config.wait {
                        Some(w) if !out.waiting => {
                            let numreplicas = w.replicas;
                            let timeout_ms = w.timeout.nanos / crate::time::NANOS_PER_MILLI;
                            self.state.slots[slot as usize] = Some(Outstanding { waiting: true, ..out });
                            ctx.send(
                                self.target,
                                Message::CacheRequest { id, cmd: CacheCmd::Wait { numreplicas, timeout_ms } },
                            );
                            return;
                        }
                        _ => (Outcome::Ok, None),
                    },
                    CacheReply::Integer { value } => (Outcome::Ok, Some(value.max(0) as u64)),
                    // The write was done; only its WAIT failed.
                    CacheReply::Error { .. } if out.waiting => (Outcome::Info, None),
                    // Redis refused it before running it (READONLY,
                    // NOREPLICAS, OOM, ...).
                    CacheReply::Error { .. } => (Outcome::Fail, None),
                };
                ctx.cancel_timer(out.timer);
                self.finish(ctx, slot, outcome, value);
            }
            Message::CachePrimary { primary, epoch } if self.config.follow_primary && epoch > self.epoch => {
                self.epoch = epoch;
                self.target = primary;
            }
            Message::ConnectionClosed { id } => {
                // The process died holding it: it may have been done.
                if let Some(slot) = self.slot_of(id) {
                    let timer = self.state.slots[slot as usize].expect("outstanding").timer;
                    ctx.cancel_timer(timer);
                    self.finish(ctx, slot, Outcome::Info, None);
                }
            }
            Message::RequestRefused { id } => {
                // Connection refused: the request never reached a process.
                if let Some(slot) = self.slot_of(id) {
                    let timer = self.state.slots[slot as usize].expect("outstanding").timer;
                    ctx.cancel_timer(timer);
                    self.finish(ctx, slot, Outcome::Fail, None);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::NextArrival => self.open_loop_arrival(ctx),
            Timer::Scripted { index } => self.scripted(ctx, index),
            Timer::ThinkDone { client } => self.closed_loop_next(ctx, client),
            Timer::FinalReads => self.send_final_reads(ctx),
            Timer::RequestTimeout { id } => {
                if let Some(slot) = self.slot_of(id) {
                    // Giving up closes the connection, as an HTTP client's
                    // timeout does: the other end sees a FIN.
                    let to = self.state.slots[slot as usize].expect("outstanding").to;
                    ctx.send(to, Message::ClientClosed { id });
                    self.finish(ctx, slot, Outcome::Info, None);
                }
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        // Requests in flight stay open in the history: indeterminate.
        self.state = Volatile::default();
    }
}
