//! A load balancer with HAProxy 2.6 semantics: the backend's servers picked
//! by `balance`, health-checked with HAProxy's rise/fall counter, requests
//! retried on connection failure, and a frontend `maxconn` with a listen
//! backlog behind it.
//!
//! The load balancer is a proxy: it takes a client's request, opens its own
//! request to a server and relays the answer back.

pub mod config;
pub mod fwrr;
pub mod health;

use crate::context::Ctx;
use crate::message::{Message, NodeId, Op, Request, RequestId, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
use config::{EffectiveServer, LoadBalancerConfig};
use fwrr::Fwrr;
use health::{Health, Transition};
use serde::Serialize;
use std::collections::VecDeque;

/// `SRV_CHK_INTER_THRES`: intervals below this do not set the spread of the
/// first checks.
const CHK_INTER_THRES: Duration = Duration::from_millis(1000);
/// The pause before retrying the same server is `min(timeout connect, 1s)`.
const MAX_TURN_AROUND: Duration = Duration::from_secs(1);
/// Connection slots are numbered in the low bits of a backend request id.
const SLOT_BITS: u32 = 20;
pub const MAX_MAXCONN: u32 = 1 << SLOT_BITS;

#[derive(Clone, Debug)]
pub struct Backend {
    pub node: NodeId,
    pub name: String,
    pub eff: EffectiveServer,
}

#[derive(Clone, Debug)]
struct CheckState {
    health: Health,
    /// The check in flight: its number and its timeout timer.
    in_flight: Option<(u32, TimerId)>,
}

#[derive(Clone, Debug)]
struct Conn {
    client: NodeId,
    client_req: RequestId,
    op: Op,
    server: usize,
    backend_id: RequestId,
    /// Connection attempts left (HAProxy's `conn_retries`).
    retries_left: u32,
    attempt: u32,
    timer: Option<TimerId>,
}

/// Everything a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    fwrr: Fwrr,
    checks: Vec<Option<CheckState>>,
    conns: Vec<Option<Conn>>,
    free: Vec<u32>,
    in_use: u32,
    backlog: VecDeque<(NodeId, Request)>,
    next_id: u64,
    check_seq: u32,
    /// Requests per server since start, for the UI.
    sent_to: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct LoadBalancer {
    pub config: LoadBalancerConfig,
    pub backends: Vec<Backend>,
    state: Volatile,
}

/// What the UI shows about one backend server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerView {
    pub node: NodeId,
    pub name: String,
    pub weight: u32,
    pub up: bool,
    pub checked: bool,
    /// HAProxy's notation: "3/3 UP", "1/2 DOWN".
    pub health: String,
    pub requests: u64,
}

impl LoadBalancer {
    pub fn new(config: LoadBalancerConfig, backends: Vec<Backend>) -> LoadBalancer {
        let state = Volatile::fresh(&backends, config.allbackups);
        LoadBalancer { config, backends, state }
    }

    pub fn servers(&self) -> Vec<ServerView> {
        self.backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let check = self.state.checks.get(i).and_then(|c| c.as_ref());
                ServerView {
                    node: b.node,
                    name: b.name.clone(),
                    weight: b.eff.weight,
                    up: check.is_none_or(|c| c.health.is_up()),
                    checked: check.is_some(),
                    health: check.map_or_else(|| "no check".to_string(), |c| c.health.describe()),
                    requests: self.state.sent_to.get(i).copied().unwrap_or(0),
                }
            })
            .collect()
    }

    pub fn connections(&self) -> u32 {
        self.state.in_use
    }

    pub fn backlog(&self) -> usize {
        self.state.backlog.len()
    }

    fn check_timeout(&self, inter: Duration) -> Duration {
        match self.config.timeout_check {
            Some(_) => inter.min(self.config.timeout_connect),
            None => inter,
        }
    }

    fn report_load(&self, ctx: &mut Ctx) {
        ctx.set_load(self.state.in_use, self.config.maxconn, self.state.backlog.len() as u32);
    }

    fn accept(&mut self, ctx: &mut Ctx, client: NodeId, req: Request) {
        let slot = match self.state.free.pop() {
            Some(s) => s as usize,
            None => {
                self.state.conns.push(None);
                self.state.conns.len() - 1
            }
        };
        self.state.in_use += 1;
        self.state.conns[slot] = Some(Conn {
            client,
            client_req: req.id,
            op: req.op,
            server: usize::MAX,
            backend_id: 0,
            retries_left: self.config.retries,
            attempt: 0,
            timer: None,
        });
        self.dispatch(ctx, slot, None);
    }

    /// Picks a server for the connection and sends the request there.
    fn dispatch(&mut self, ctx: &mut Ctx, slot: usize, avoid: Option<usize>) {
        match self.state.fwrr.pick(avoid, |_| false) {
            Some(server) => self.connect(ctx, slot, server),
            None => {
                ctx.note(Note::NoServerAvailable);
                self.answer(ctx, slot, Status::ServiceUnavailable);
            }
        }
    }

    fn connect(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        self.state.next_id += 1;
        let backend_id = (self.state.next_id << SLOT_BITS) | slot as u64;
        let timeout = self.config.timeout_server.nanos;
        let conn = self.state.conns[slot].as_mut().expect("live connection");
        conn.server = server;
        conn.backend_id = backend_id;
        conn.attempt += 1;
        let (op, attempt) = (conn.op, conn.attempt);
        self.state.sent_to[server] += 1;
        ctx.send(self.backends[server].node, Message::Request(Request { id: backend_id, op }));
        let timer = ctx.set_timer(timeout, Timer::ServerTimeout { conn: slot as u32, attempt });
        self.state.conns[slot].as_mut().expect("live connection").timer = Some(timer);
    }

    /// Answers the client and frees the connection slot.
    fn answer(&mut self, ctx: &mut Ctx, slot: usize, status: Status) {
        self.relay(ctx, slot, Response { id: 0, status, value: None });
    }

    fn relay(&mut self, ctx: &mut Ctx, slot: usize, mut resp: Response) {
        let conn = self.state.conns[slot].take().expect("live connection");
        if let Some(t) = conn.timer {
            ctx.cancel_timer(t);
        }
        resp.id = conn.client_req;
        ctx.send(conn.client, Message::Response(resp));
        self.state.free.push(slot as u32);
        self.state.in_use -= 1;
        if let Some((client, req)) = self.state.backlog.pop_front() {
            self.accept(ctx, client, req);
        }
    }

    /// The connection slot a server's reply belongs to, if still current.
    fn conn_for(&self, backend_id: RequestId) -> Option<usize> {
        let slot = (backend_id & ((1 << SLOT_BITS) - 1)) as usize;
        match self.state.conns.get(slot) {
            Some(Some(c)) if c.backend_id == backend_id => Some(slot),
            _ => None,
        }
    }

    /// A connection to a server failed (`back_handle_st_cer`).
    fn connection_failed(&mut self, ctx: &mut Ctx, slot: usize) {
        let conn = self.state.conns[slot].as_mut().expect("live connection");
        if let Some(t) = conn.timer.take() {
            ctx.cancel_timer(t);
        }
        if conn.retries_left == 0 {
            self.answer(ctx, slot, Status::ServiceUnavailable);
            return;
        }
        conn.retries_left -= 1;
        let server = conn.server;
        ctx.note(Note::Retried { server: self.backends[server].node, attempt: conn.attempt });
        // With `option redispatch`, the last retry goes elsewhere; and for a
        // non-hash algorithm with more than one usable server, every retry
        // does, at once (`stream_choose_redispatch`).
        let last = conn.retries_left == 0;
        if self.config.redispatch && (last || self.state.fwrr.active_count() > 1) {
            self.dispatch(ctx, slot, Some(server));
        } else {
            let pause = self.config.timeout_connect.min(MAX_TURN_AROUND).nanos;
            let timer = ctx.set_timer(pause, Timer::Retry { conn: slot as u32 });
            self.state.conns[slot].as_mut().expect("live connection").timer = Some(timer);
        }
    }

    fn start_check(&mut self, ctx: &mut Ctx, server: usize) {
        self.state.check_seq += 1;
        let seq = self.state.check_seq;
        let inter = self.backends[server].eff.params.inter;
        let timeout = self.check_timeout(inter).nanos;
        ctx.send(self.backends[server].node, Message::HealthCheck { seq });
        let timer = ctx.set_timer(timeout, Timer::CheckTimeout { server: server as u32, seq });
        if let Some(c) = self.state.checks[server].as_mut() {
            c.in_flight = Some((seq, timer));
        }
    }

    /// Applies a check result and schedules the next check.
    fn check_done(&mut self, ctx: &mut Ctx, server: usize, passed: bool) {
        let node = self.backends[server].node;
        let Some(check) = self.state.checks[server].as_mut() else { return };
        check.in_flight = None;
        let before = check.health.health;
        let transition = if passed { check.health.success() } else { check.health.failure() };
        let health = check.health.health;
        let next = check.health.interval().nanos;
        match transition {
            Transition::WentDown => {
                self.state.fwrr.set_down(server);
                ctx.note(Note::ServerDown { server: node, health });
            }
            Transition::WentUp => {
                self.state.fwrr.set_up(server);
                ctx.note(Note::ServerUp { server: node, health });
            }
            Transition::Unchanged if !passed => ctx.note(Note::CheckFailed { server: node, health }),
            Transition::Unchanged if health != before => ctx.note(Note::CheckPassed { server: node, health }),
            Transition::Unchanged => {}
        }
        ctx.set_timer(next, Timer::CheckDue { server: server as u32 });
    }

    fn check_index(&self, from: NodeId, seq: u32) -> Option<usize> {
        let i = self.backends.iter().position(|b| b.node == from)?;
        match self.state.checks[i].as_ref()?.in_flight {
            Some((s, _)) if s == seq => Some(i),
            _ => None,
        }
    }
}

impl Volatile {
    fn fresh(backends: &[Backend], allbackups: bool) -> Volatile {
        let weights: Vec<u32> = backends.iter().map(|b| b.eff.weight).collect();
        let backup: Vec<bool> = backends.iter().map(|b| b.eff.backup).collect();
        // Servers start UP, checked or not (HAProxy's default init-state).
        let usable = vec![true; backends.len()];
        Volatile {
            fwrr: Fwrr::new(&weights, &backup, &usable, allbackups),
            checks: backends
                .iter()
                .map(|b| b.eff.check.then(|| CheckState { health: Health::new(b.eff.params), in_flight: None }))
                .collect(),
            conns: Vec::new(),
            free: Vec::new(),
            in_use: 0,
            backlog: VecDeque::new(),
            next_id: 0,
            check_seq: 0,
            sent_to: vec![0; backends.len()],
        }
    }
}

impl Process for LoadBalancer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::fresh(&self.backends, self.config.allbackups);
        // Spread the first checks: server k of n starts at mininter * k / n
        // (`start_checks`), where mininter is the smallest interval of at
        // least 1 s, or 1 s.
        let checked: Vec<usize> = (0..self.backends.len()).filter(|&i| self.state.checks[i].is_some()).collect();
        let mininter = checked
            .iter()
            .map(|&i| self.state.checks[i].as_ref().expect("checked").health.interval())
            .filter(|&d| d >= CHK_INTER_THRES)
            .min()
            .unwrap_or(CHK_INTER_THRES);
        let n = checked.len() as u64;
        for (k, &i) in checked.iter().enumerate() {
            ctx.set_timer(mininter.nanos * k as u64 / n, Timer::CheckDue { server: i as u32 });
        }
        self.report_load(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Request(req) => {
                if self.state.in_use < self.config.maxconn {
                    self.accept(ctx, from, req);
                } else if self.state.backlog.len() < self.config.effective_backlog() as usize {
                    self.state.backlog.push_back((from, req));
                } else {
                    ctx.note(Note::BacklogFull);
                }
            }
            Message::Response(resp) => {
                if let Some(slot) = self.conn_for(resp.id) {
                    self.relay(ctx, slot, resp);
                }
            }
            Message::RequestRefused { id } => {
                if let Some(slot) = self.conn_for(id) {
                    self.connection_failed(ctx, slot);
                }
            }
            Message::HealthCheckOk { seq } => {
                if let Some(i) = self.check_index(from, seq) {
                    let timer = self.state.checks[i].as_ref().and_then(|c| c.in_flight).map(|(_, t)| t);
                    if let Some(t) = timer {
                        ctx.cancel_timer(t);
                    }
                    self.check_done(ctx, i, true);
                }
            }
            Message::HealthCheckRefused { seq } => {
                if let Some(i) = self.check_index(from, seq) {
                    let timer = self.state.checks[i].as_ref().and_then(|c| c.in_flight).map(|(_, t)| t);
                    if let Some(t) = timer {
                        ctx.cancel_timer(t);
                    }
                    self.check_done(ctx, i, false);
                }
            }
            Message::HealthCheck { .. } => {}
        }
        self.report_load(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::CheckDue { server } => self.start_check(ctx, server as usize),
            Timer::CheckTimeout { server, seq } => {
                let i = server as usize;
                let current = self.state.checks[i].as_ref().and_then(|c| c.in_flight).map(|(s, _)| s);
                if current == Some(seq) {
                    self.check_done(ctx, i, false);
                }
            }
            Timer::Retry { conn } => {
                let slot = conn as usize;
                if let Some(c) = self.state.conns[slot].as_ref() {
                    let server = c.server;
                    self.connect(ctx, slot, server);
                }
            }
            Timer::ServerTimeout { conn, attempt } => {
                let slot = conn as usize;
                if matches!(&self.state.conns[slot], Some(c) if c.attempt == attempt) {
                    self.state.conns[slot].as_mut().expect("checked").timer = None;
                    self.answer(ctx, slot, Status::GatewayTimeout);
                }
            }
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_crash(&mut self) {
        // Nothing a load balancer holds survives a restart.
        self.state = Volatile::fresh(&self.backends, self.config.allbackups);
    }
}
