//! A load balancer with HAProxy 2.6 semantics: the backend's servers picked
//! by `balance`, health-checked with HAProxy's rise/fall counter, server
//! `maxconn` with server and backend queues, connection attempts that fail
//! (refused, or no answer within `timeout connect`) retried per `retries`
//! and `option redispatch`, and a frontend `maxconn` with a listen backlog
//! behind it.
//!
//! The load balancer is a proxy: it takes a client's request, opens its own
//! connection to a server (the server's host accepts it, or refuses it, or
//! nothing answers) and relays the answer back.

pub mod balancer;
pub mod chash;
pub mod config;
pub mod first;
pub mod fwrr;
pub mod hash;
pub mod health;
pub mod leastconn;
pub mod map;
pub mod render;

use crate::context::Ctx;
use crate::message::{Message, NodeId, Op, PathId, Request, RequestId, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
use balancer::{Balancer, PickInput};
use config::{EffectiveServer, LoadBalancerConfig};
use health::{Health, Transition};
use leastconn::Limits;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

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

/// Where a proxied request stands (HAProxy's stream connector states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a server slot: in `server`'s queue, or in the backend
    /// queue (`None`), since `order`.
    Queued { server: Option<usize>, order: u64 },
    /// Connecting to `server` (SC_ST_CON).
    Connecting { server: usize },
    /// Connected at `since` (this node's monotonic clock); waiting for the
    /// answer (SC_ST_EST).
    Established { server: usize, since: i64 },
    /// Pausing before trying `server` again (SC_ST_TAR).
    TurnAround { server: usize },
}

#[derive(Clone, Debug)]
struct Conn {
    client: NodeId,
    client_req: RequestId,
    op: Op,
    path: PathId,
    phase: Phase,
    backend_id: RequestId,
    /// Connection attempts made; each attempt has its own request id.
    attempt: u32,
    /// Attempts left after this one (HAProxy's `retries` budget).
    retries_left: u32,
    timer: Option<TimerId>,
    /// When `timer` fires (this node's monotonic clock).
    timer_at: i64,
}

/// A server's live numbers.
#[derive(Clone, Debug, Default)]
struct ServerRt {
    /// Connections assigned to it (connecting or established): HAProxy's
    /// `served`.
    served: u32,
    /// Its own queue, by arrival order.
    queue: BTreeMap<u64, usize>,
    /// Requests sent to it since start.
    requests: u64,
}

/// Everything a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    balancer: Balancer,
    /// Servers the balancer may pick: UP and of weight above 0.
    usable: Vec<bool>,
    checks: Vec<Option<CheckState>>,
    servers: Vec<ServerRt>,
    /// The backend (proxy) queue, by arrival order.
    backend_queue: BTreeMap<u64, usize>,
    queue_order: u64,
    conns: Vec<Option<Conn>>,
    free: Vec<u32>,
    in_use: u32,
    backlog: VecDeque<(NodeId, Request)>,
    next_id: u64,
    check_seq: u32,
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
    /// Connections assigned now, and the server's limit (0: none).
    pub served: u32,
    pub maxconn: u32,
    /// Requests waiting in this server's own queue.
    pub queued: usize,
    pub requests: u64,
}

impl LoadBalancer {
    pub fn new(config: LoadBalancerConfig, backends: Vec<Backend>) -> LoadBalancer {
        let state = Volatile::fresh(&backends, &config);
        LoadBalancer { config, backends, state }
    }

    pub fn servers(&self) -> Vec<ServerView> {
        self.backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let check = self.state.checks.get(i).and_then(|c| c.as_ref());
                let rt = &self.state.servers[i];
                ServerView {
                    node: b.node,
                    name: b.name.clone(),
                    weight: b.eff.weight,
                    up: check.is_none_or(|c| c.health.is_up()),
                    checked: check.is_some(),
                    health: check.map_or_else(|| "no check".to_string(), |c| c.health.describe()),
                    served: rt.served,
                    maxconn: b.eff.maxconn,
                    queued: rt.queue.len(),
                    requests: rt.requests,
                }
            })
            .collect()
    }

    /// Frontend connections open.
    pub fn connections(&self) -> u32 {
        self.state.in_use
    }

    /// Connections waiting in the listen backlog.
    pub fn backlog(&self) -> usize {
        self.state.backlog.len()
    }

    /// Requests waiting in the backend queue.
    pub fn backend_queue(&self) -> usize {
        self.state.backend_queue.len()
    }

    fn check_timeout(&self, inter: Duration) -> Duration {
        match self.config.timeout_check {
            Some(_) => inter.min(self.config.timeout_connect),
            None => inter,
        }
    }

    fn report_load(&self, ctx: &mut Ctx) {
        let queued = self.state.backlog.len()
            + self.state.backend_queue.len()
            + self.state.servers.iter().map(|s| s.queue.len()).sum::<usize>();
        ctx.set_load(self.state.in_use, self.config.maxconn, queued as u32);
    }

    #[inline]
    fn conn(&mut self, slot: usize) -> &mut Conn {
        self.state.conns[slot].as_mut().expect("a live connection")
    }

    /// `maxconn` reached, or requests already waiting for this server:
    /// HAProxy sends nothing new its way (`srv_is_full`-like test used by
    /// the round-robin algorithms).
    fn saturated(&self, i: usize) -> bool {
        let max = self.backends[i].eff.maxconn;
        let rt = &self.state.servers[i];
        max > 0 && (!rt.queue.is_empty() || rt.served >= max)
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
            path: req.path,
            phase: Phase::Queued { server: None, order: 0 },
            backend_id: 0,
            attempt: 0,
            retries_left: self.config.retries,
            timer: None,
            timer_at: 0,
        });
        self.assign(ctx, slot, None);
    }

    /// Finds a server for the connection (`assign_server_and_queue`): a
    /// free one, or a queue to wait in, or 503 when no server is usable.
    fn assign(&mut self, ctx: &mut Ctx, slot: usize, avoid: Option<usize>) {
        let (client, path) = {
            let c = self.conn(slot);
            (c.client, c.path)
        };
        let input = PickInput { source: crate::network::ipv4(client), uri: ctx.path(path) };
        let state = &mut self.state;
        let (backends, servers) = (&self.backends, &state.servers);
        let saturated = |i: usize| {
            let max = backends[i].eff.maxconn;
            max > 0 && (!servers[i].queue.is_empty() || servers[i].served >= max)
        };
        let limits = |i: usize| Limits { maxconn: backends[i].eff.maxconn, maxqueue: backends[i].eff.maxqueue };
        match state.balancer.pick(input, avoid, saturated, limits) {
            Some(server) if !self.saturated(server) => self.connect(ctx, slot, server),
            Some(server) => {
                // Hash-based algorithms return a server whether or not it is
                // full, and leastconn one at maxconn that still has queue
                // room: wait in its own queue unless that is full too.
                let maxqueue = self.backends[server].eff.maxqueue;
                if maxqueue == 0 || self.state.servers[server].queue.len() < maxqueue as usize {
                    self.enqueue(ctx, slot, Some(server));
                } else {
                    self.enqueue(ctx, slot, None);
                }
            }
            None if self.state.usable.iter().any(|&u| u) => {
                // Every usable server is full: the backend queue.
                self.enqueue(ctx, slot, None);
            }
            None => {
                ctx.note(Note::NoServerAvailable);
                self.answer(ctx, slot, Status::ServiceUnavailable);
            }
        }
    }

    fn enqueue(&mut self, ctx: &mut Ctx, slot: usize, server: Option<usize>) {
        self.state.queue_order += 1;
        let order = self.state.queue_order;
        match server {
            Some(s) => {
                self.state.servers[s].queue.insert(order, slot);
                self.touch(s);
            }
            None => {
                self.state.backend_queue.insert(order, slot);
            }
        }
        let timeout = self.config.effective_timeout_queue().nanos;
        let timer = ctx.set_timer(timeout, Timer::QueueTimeout { conn: slot as u32 });
        let c = self.conn(slot);
        c.phase = Phase::Queued { server, order };
        c.timer = Some(timer);
    }

    /// Opens a connection to `server` for the request in `slot`.
    fn connect(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        self.state.next_id += 1;
        let backend_id = (self.state.next_id << SLOT_BITS) | slot as u64;
        let rt = &mut self.state.servers[server];
        rt.served += 1;
        rt.requests += 1;
        self.touch(server);
        let timeout = self.config.timeout_connect.nanos;
        let c = self.conn(slot);
        c.phase = Phase::Connecting { server };
        c.backend_id = backend_id;
        c.attempt += 1;
        let (op, path, attempt) = (c.op, c.path, c.attempt);
        let req = Request { id: backend_id, op, path, accept: true };
        ctx.send(self.backends[server].node, Message::Request(req));
        let timer = ctx.set_timer(timeout, Timer::ConnectTimeout { conn: slot as u32, attempt });
        let at = ctx.monotonic() + timeout as i64;
        let c = self.conn(slot);
        c.timer = Some(timer);
        c.timer_at = at;
    }

    /// A server slot freed up: give it to the request that has waited
    /// longest, in this server's queue or the backend's
    /// (`process_srv_queue`).
    fn release(&mut self, ctx: &mut Ctx, server: usize) {
        let rt = &mut self.state.servers[server];
        rt.served -= 1;
        self.touch(server);
        self.serve_queues(ctx, server);
    }

    /// Tells the balancer a server's load changed (leastconn orders by it).
    fn touch(&mut self, server: usize) {
        let rt = &self.state.servers[server];
        let (served, queued) = (rt.served, rt.queue.len() as u32);
        self.state.balancer.set_inflight(server, served, queued);
    }

    /// Usable active (non-backup) servers: HAProxy's `srv_act`.
    fn active_count(&self) -> usize {
        (0..self.backends.len()).filter(|&i| self.state.usable[i] && !self.backends[i].eff.backup).count()
    }

    fn serve_queues(&mut self, ctx: &mut Ctx, server: usize) {
        if !self.state.usable[server] {
            return;
        }
        let max = self.backends[server].eff.maxconn;
        while max == 0 || self.state.servers[server].served < max {
            let own = self.state.servers[server].queue.first_key_value().map(|(&o, &s)| (o, s));
            let shared = self.state.backend_queue.first_key_value().map(|(&o, &s)| (o, s));
            let slot = match (own, shared) {
                (Some((a, s)), Some((b, _))) if a < b => {
                    self.state.servers[server].queue.remove(&a);
                    self.touch(server);
                    s
                }
                (_, Some((b, s))) => {
                    self.state.backend_queue.remove(&b);
                    s
                }
                (Some((a, s)), None) => {
                    self.state.servers[server].queue.remove(&a);
                    self.touch(server);
                    s
                }
                (None, None) => return,
            };
            if let Some(t) = self.conn(slot).timer.take() {
                ctx.cancel_timer(t);
            }
            self.connect(ctx, slot, server);
        }
    }

    /// Answers the client with an error and closes the connection.
    fn answer(&mut self, ctx: &mut Ctx, slot: usize, status: Status) {
        self.relay(ctx, slot, Response { id: 0, status, value: None });
    }

    /// Sends `resp` to the client and frees the frontend slot.
    fn relay(&mut self, ctx: &mut Ctx, slot: usize, mut resp: Response) {
        let conn = self.state.conns[slot].take().expect("a live connection");
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

    /// A connection attempt failed (`back_handle_st_cer`): refused by the
    /// host (`refused`), or no answer within `timeout connect`.
    fn connection_failed(&mut self, ctx: &mut Ctx, slot: usize, refused: bool) {
        let Phase::Connecting { server } = self.conn(slot).phase else { return };
        if let Some(t) = self.conn(slot).timer.take() {
            ctx.cancel_timer(t);
        }
        self.release(ctx, server);
        let conn = self.conn(slot);
        if conn.retries_left == 0 {
            self.answer(ctx, slot, Status::ServiceUnavailable);
            return;
        }
        conn.retries_left -= 1;
        let (attempt, last) = (conn.attempt, conn.retries_left == 0);
        ctx.note(Note::Retried { server: self.backends[server].node, attempt });
        // `stream_choose_redispatch`: with `option redispatch`, the last
        // retry goes elsewhere; and for a non-hash algorithm with more than
        // one usable server, every retry does.
        let turn_based = !self.state.balancer.is_hash() && self.active_count() > 1;
        if self.config.redispatch && (last || turn_based) {
            self.assign(ctx, slot, Some(server));
        } else if refused {
            // An asynchronous error: pause before trying the same server
            // (a timeout has waited long enough already).
            let pause = self.config.timeout_connect.min(MAX_TURN_AROUND).nanos;
            let timer = ctx.set_timer(pause, Timer::Retry { conn: slot as u32 });
            let c = self.conn(slot);
            c.phase = Phase::TurnAround { server };
            c.timer = Some(timer);
        } else {
            self.connect(ctx, slot, server);
        }
    }

    /// A server was marked DOWN: the requests in its queue move to the
    /// backend queue, keeping their place (`pendconn_redistribute`).
    fn redistribute(&mut self, server: usize) {
        let queue = std::mem::take(&mut self.state.servers[server].queue);
        self.touch(server);
        for (order, slot) in queue {
            self.state.backend_queue.insert(order, slot);
            if let Some(c) = self.state.conns[slot].as_mut() {
                c.phase = Phase::Queued { server: None, order };
            }
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
                self.state.usable[server] = false;
                self.state.balancer.set_down(server);
                self.redistribute(server);
                ctx.note(Note::ServerDown { server: node, health });
            }
            Transition::WentUp => {
                self.state.usable[server] = self.backends[server].eff.weight > 0;
                self.state.balancer.set_up(server);
                ctx.note(Note::ServerUp { server: node, health });
                self.serve_queues(ctx, server);
            }
            Transition::Unchanged if !passed => ctx.note(Note::CheckFailed { server: node, health }),
            Transition::Unchanged if health != before => ctx.note(Note::CheckPassed { server: node, health }),
            Transition::Unchanged => {}
        }
        ctx.set_timer(next, Timer::CheckDue { server: server as u32 });
    }

    /// The server a check answer is from, if it answers the check in flight.
    fn check_index(&self, from: NodeId, seq: u32) -> Option<usize> {
        let i = self.backends.iter().position(|b| b.node == from)?;
        match self.state.checks[i].as_ref()?.in_flight {
            Some((s, _)) if s == seq => Some(i),
            _ => None,
        }
    }

    fn check_answered(&mut self, ctx: &mut Ctx, from: NodeId, seq: u32, passed: bool) {
        if let Some(i) = self.check_index(from, seq) {
            if let Some((_, t)) = self.state.checks[i].as_ref().and_then(|c| c.in_flight) {
                ctx.cancel_timer(t);
            }
            self.check_done(ctx, i, passed);
        }
    }
}

impl Volatile {
    fn fresh(backends: &[Backend], config: &LoadBalancerConfig) -> Volatile {
        let weights: Vec<u32> = backends.iter().map(|b| b.eff.weight).collect();
        let backup: Vec<bool> = backends.iter().map(|b| b.eff.backup).collect();
        Volatile {
            // Servers start UP, checked or not (HAProxy's default init-state).
            balancer: Balancer::new(&config.balance, &config.hash_type, &weights, &backup, config.allbackups),
            usable: weights.iter().map(|&w| w > 0).collect(),
            checks: backends
                .iter()
                .map(|b| b.eff.check.then(|| CheckState { health: Health::new(b.eff.params), in_flight: None }))
                .collect(),
            servers: vec![ServerRt::default(); backends.len()],
            backend_queue: BTreeMap::new(),
            queue_order: 0,
            conns: Vec::new(),
            free: Vec::new(),
            in_use: 0,
            backlog: VecDeque::new(),
            next_id: 0,
            check_seq: 0,
        }
    }
}

impl Process for LoadBalancer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::fresh(&self.backends, &self.config);
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
            Message::Accepted { id } => {
                if let Some(slot) = self.conn_for(id) {
                    if let Phase::Connecting { server } = self.conn(slot).phase {
                        // The connect timer stays armed; when it fires on an
                        // established connection it is re-armed for what is
                        // left of `timeout server` (one timer per request,
                        // not two, since most answers come well before).
                        let since = ctx.monotonic();
                        let deadline = since + self.config.timeout_server.nanos as i64;
                        let c = self.conn(slot);
                        c.phase = Phase::Established { server, since };
                        // A `timeout server` shorter than what is left of
                        // `timeout connect` needs its own, earlier timer.
                        if deadline < c.timer_at {
                            let attempt = c.attempt;
                            if let Some(t) = c.timer.take() {
                                ctx.cancel_timer(t);
                            }
                            let left = (deadline - since) as u64;
                            let timer = ctx.set_timer(left, Timer::ServerTimeout { conn: slot as u32, attempt });
                            let c = self.conn(slot);
                            c.timer = Some(timer);
                            c.timer_at = deadline;
                        }
                    }
                }
            }
            Message::Response(resp) => {
                if let Some(slot) = self.conn_for(resp.id) {
                    if let Phase::Connecting { server } | Phase::Established { server, .. } = self.conn(slot).phase {
                        self.release(ctx, server);
                        self.relay(ctx, slot, resp);
                    }
                }
            }
            Message::RequestRefused { id } => {
                if let Some(slot) = self.conn_for(id) {
                    self.connection_failed(ctx, slot, true);
                }
            }
            Message::HealthCheckOk { seq } => self.check_answered(ctx, from, seq, true),
            Message::HealthCheckRefused { seq } => self.check_answered(ctx, from, seq, false),
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        let live = |lb: &LoadBalancer, conn: u32| lb.state.conns.get(conn as usize).is_some_and(|c| c.is_some());
        match timer {
            Timer::CheckDue { server } => self.start_check(ctx, server as usize),
            Timer::CheckTimeout { server, seq } => {
                let i = server as usize;
                let current = self.state.checks[i].as_ref().and_then(|c| c.in_flight).map(|(s, _)| s);
                if current == Some(seq) {
                    self.check_done(ctx, i, false);
                }
            }
            Timer::ConnectTimeout { conn, attempt } if live(self, conn) => {
                let slot = conn as usize;
                if self.conn(slot).attempt == attempt {
                    self.conn(slot).timer = None;
                    match self.conn(slot).phase {
                        Phase::Connecting { .. } => self.connection_failed(ctx, slot, false),
                        Phase::Established { server, since } => {
                            let deadline = since + self.config.timeout_server.nanos as i64;
                            let left = deadline - ctx.monotonic();
                            if left <= 0 {
                                self.release(ctx, server);
                                self.answer(ctx, slot, Status::GatewayTimeout);
                            } else {
                                let timer = ctx.set_timer(left as u64, Timer::ServerTimeout { conn, attempt });
                                self.conn(slot).timer = Some(timer);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Timer::Retry { conn } if live(self, conn) => {
                let slot = conn as usize;
                if let Phase::TurnAround { server } = self.conn(slot).phase {
                    self.conn(slot).timer = None;
                    self.connect(ctx, slot, server);
                }
            }
            Timer::ServerTimeout { conn, attempt } if live(self, conn) => {
                let slot = conn as usize;
                if let (Phase::Established { server, .. }, true) =
                    (self.conn(slot).phase, self.conn(slot).attempt == attempt)
                {
                    self.conn(slot).timer = None;
                    self.release(ctx, server);
                    self.answer(ctx, slot, Status::GatewayTimeout);
                }
            }
            Timer::QueueTimeout { conn } if live(self, conn) => {
                let slot = conn as usize;
                if let Phase::Queued { server, order } = self.conn(slot).phase {
                    match server {
                        Some(s) => self.state.servers[s].queue.remove(&order),
                        None => self.state.backend_queue.remove(&order),
                    };
                    self.conn(slot).timer = None;
                    ctx.note(Note::QueueTimeout);
                    self.answer(ctx, slot, Status::ServiceUnavailable);
                }
            }
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_crash(&mut self) {
        // Nothing a load balancer holds survives a restart.
        self.state = Volatile::fresh(&self.backends, &self.config);
    }
}
