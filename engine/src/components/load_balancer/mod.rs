//! A load balancer with HAProxy 2.6 semantics: a frontend with `maxconn`
//! and a listen backlog behind it, `use_backend` rules choosing a backend
//! by `acl`s on the request; in each backend, servers picked by `balance`,
//! health-checked with HAProxy's rise/fall counter, server `maxconn` with
//! server and backend queues, connection attempts that fail (refused, or
//! no answer within `timeout connect`) retried per `retries` and `option
//! redispatch`, and with `retry-on`, answers, timeouts and connections a
//! dying server closed retried too; with `option abortonclose`, requests
//! whose clients closed their connections dropped.
//!
//! The load balancer is a proxy: it takes a client's request, opens its own
//! connection to a server (the server's host accepts it, or refuses it, or
//! nothing answers) and relays the answer back.

pub mod abort;
pub mod acl;
pub mod admin;
pub mod balancer;
pub mod chash;
pub mod check_result;
pub mod config;
pub mod first;
pub mod fwrr;
pub mod hash;
pub mod health;
pub mod httpchk;
pub mod leastconn;
pub mod map;
pub mod observe;
pub mod on_marked_down;
pub mod on_marked_up;
pub mod random;
pub mod render;
pub mod retry_on;
pub mod slowstart;

use crate::context::Ctx;
use crate::follow::Queue;
use crate::message::{Message, NodeId, Op, PathId, Request, RequestId, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Duration;
use crate::trace::Note;
pub use abort::AbortedAt;
use acl::Sample;
use admin::{AdminState, WeightChange};
use balancer::{Balancer, PickInput};
use check_result::CheckResult;
use config::{EffectiveServer, LoadBalancerConfig};
use health::{Health, Transition};
use leastconn::Limits;
use observe::Outcome;
use retry_on::L7Failure;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `SRV_CHK_INTER_THRES`: intervals below this do not set the spread of the
/// first checks.
const CHK_INTER_THRES: Duration = Duration::from_millis(1000);
/// The pause before retrying the same server is `min(timeout connect, 1s)`.
const MAX_TURN_AROUND: Duration = Duration::from_secs(1);
/// Connection slots are numbered in the low bits of a backend request id.
const SLOT_BITS: u32 = 20;
pub const MAX_MAXCONN: u32 = 1 << SLOT_BITS;
/// In [`Note::UseBackend`]: no rule applied, the default backend serves.
pub const NO_RULE: u16 = u16::MAX - 1;

/// One `server` line of one backend.
#[derive(Clone, Debug)]
pub struct BackendServer {
    pub node: NodeId,
    pub name: String,
    pub eff: EffectiveServer,
    /// Its backend's index in [`LoadBalancerConfig::all_backends`].
    pub backend: usize,
}

/// A backend's servers: `first..end` in the load balancer's server list.
#[derive(Clone, Debug)]
struct BackendRange {
    first: usize,
    end: usize,
}

#[derive(Clone, Debug)]
struct CheckState {
    health: Health,
    /// The number of the check in flight.
    in_flight: Option<u32>,
    /// The check task's timer (the next check, or the timeout of the one
    /// in flight) and when it fires, on this node's monotonic clock.
    task: Option<(TimerId, i64)>,
    /// Errors in a row seen by health analysis (`observe`).
    consecutive_errors: u32,
    /// The check in flight has its connection (an HTTP check now waits
    /// for the answer: a timeout is a layer-7 one).
    connected: bool,
    /// The last check's result.
    last: Option<CheckResult>,
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
    /// Pausing after `server` refused (SC_ST_TAR), before trying it again,
    /// or before server selection again if `redispatch`.
    TurnAround { server: usize, redispatch: bool },
}

impl Phase {
    /// The server it is queued for, connecting to, held by or about to
    /// try again (none in the backend queue).
    fn server(&self) -> Option<usize> {
        match *self {
            Phase::Queued { server, .. } => server,
            Phase::Connecting { server } | Phase::Established { server, .. } | Phase::TurnAround { server, .. } => {
                Some(server)
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Conn {
    client: NodeId,
    client_req: RequestId,
    op: Op,
    path: PathId,
    /// The backend `use_backend` chose.
    backend: usize,
    phase: Phase,
    backend_id: RequestId,
    /// Connection attempts made; each attempt has its own request id.
    attempt: u32,
    /// Attempts left after this one (HAProxy's `retries` budget).
    retries_left: u32,
    /// Layer-7 retries allowed (no `http-request disable-l7-retry` applies).
    l7_retries: bool,
    /// The client closed its connection (it gave up).
    client_closed: bool,
    timer: Option<TimerId>,
    /// When `timer` fires (this node's monotonic clock).
    timer_at: i64,
}

/// A server in its `slowstart` window (HAProxy's `SRV_ST_STARTING`).
#[derive(Clone, Copy, Debug)]
struct Warmup {
    /// When it came UP, in whole seconds of this node's clock
    /// (`last_change`).
    since: i64,
    /// The next `server_warmup` run.
    timer: TimerId,
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
    /// Set while it warms up after coming back UP.
    warmup: Option<Warmup>,
    /// Its effective weight (user weight × 16) as its balancer has it.
    eweight: u32,
    /// What an operator set (`set server ... state`).
    admin: AdminState,
    /// Its user weight: the server line's, until an operator sets
    /// another (`set server ... weight`).
    uweight: u32,
}

impl ServerRt {
    /// `srv_dynamic_maxconn`: the [`load_limit`] (`maxconn`, 0: no limit,
    /// or less with `minconn`), scaled down while the server warms up;
    /// `now` in whole seconds.
    fn maxconn(&self, s: &BackendServer, now: i64, load: Load) -> u32 {
        let max = load_limit(s, load);
        match self.warmup {
            Some(w) if max > 0 => slowstart::maxconn(max, now - w.since, slowstart::seconds(s.eff.slowstart)),
            _ => max,
        }
    }

    /// `maxconn` reached, or requests already waiting for this server:
    /// HAProxy sends nothing new its way (`srv_is_full`-like test used by
    /// the round-robin algorithms).
    fn saturated(&self, s: &BackendServer, now: i64, load: Load) -> bool {
        let max = self.maxconn(s, now, load);
        max > 0 && (!self.queue.is_empty() || self.served >= max)
    }
}

/// The part of `srv_dynamic_maxconn` before `slowstart`: with `minconn`
/// below `maxconn`, `beconn × maxconn / fullconn` but at least `minconn`,
/// until the backend holds `fullconn` requests; else `maxconn`.
fn load_limit(s: &BackendServer, load: Load) -> u32 {
    let (max, min) = (s.eff.maxconn, s.eff.minconn);
    if load.beconn >= load.fullconn || min == max {
        max
    } else {
        min.max((u64::from(load.beconn) * u64::from(max) / u64::from(load.fullconn)) as u32)
    }
}

/// A backend's live state.
#[derive(Clone, Debug)]
struct BackendRt {
    /// Picks among this backend's servers, by their index in it.
    balancer: Balancer,
    /// The backend (proxy) queue, by arrival order.
    queue: BTreeMap<u64, usize>,
    /// Requests routed to it since start.
    requests: u64,
    /// Requests dropped because their client closed (`abortonclose`):
    /// HAProxy's `cli_abrt`.
    aborted: u64,
    /// Requests in it now, queued, connecting or served (HAProxy's
    /// `beconn`): from the frontend's accept to its close.
    beconn: u32,
    /// `fullconn` in effect.
    fullconn: u32,
}

impl BackendRt {
    /// What a server's dynamic limit depends on.
    fn load(&self) -> Load {
        Load { beconn: self.beconn, fullconn: self.fullconn }
    }
}

/// A backend's load, for `minconn`: requests in it, and `fullconn`.
#[derive(Clone, Copy, Debug)]
struct Load {
    beconn: u32,
    fullconn: u32,
}

/// Everything a crash loses.
#[derive(Clone, Debug)]
struct Volatile {
    backends: Vec<BackendRt>,
    /// Servers a balancer may pick: UP and of weight above 0.
    usable: Vec<bool>,
    checks: Vec<Option<CheckState>>,
    servers: Vec<ServerRt>,
    queue_order: u64,
    conns: Vec<Option<Conn>>,
    free: Vec<u32>,
    in_use: u32,
    backlog: VecDeque<(NodeId, Request)>,
    /// With `abortonclose` on some backend: each frontend connection's slot
    /// by its client's request, and the requests in the listen backlog
    /// whose client has closed already.
    by_client: BTreeMap<(NodeId, RequestId), u32>,
    closed_in_backlog: BTreeSet<(NodeId, RequestId)>,
    next_id: u64,
    check_seq: u32,
}

#[derive(Clone, Debug)]
pub struct LoadBalancer {
    pub config: LoadBalancerConfig,
    /// Every backend's servers, backend by backend.
    pub servers: Vec<BackendServer>,
    ranges: Vec<BackendRange>,
    /// The `use_backend` rule that applies to each (path, method), worked
    /// out once: the rules and the paths never change during a run.
    routes: Vec<u16>,
    /// Some backend has `abortonclose`: the frontend watches its clients
    /// for a close (HAProxy otherwise stops reading a client once its
    /// request is in).
    watch_clients: bool,
    state: Volatile,
}

/// What the UI shows about one backend server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerView {
    pub node: NodeId,
    pub name: String,
    /// The backend it serves in.
    pub backend: String,
    pub weight: u32,
    pub up: bool,
    pub checked: bool,
    /// HAProxy's notation: "3/3 UP", "1/2 DOWN".
    pub health: String,
    /// While it warms up (`slowstart`): its weight as a percentage of
    /// full, as HAProxy's stats show it (`throttle`).
    pub throttle: Option<u32>,
    /// With health analysis (`observe` and `check`): the errors in a row
    /// so far, and `error-limit`.
    pub errors: Option<(u32, u32)>,
    /// The last check's result as HAProxy's stats page shows it
    /// (`L7STS/503`), once a check has finished.
    pub last_check: Option<String>,
    /// Connections assigned now, and the server's limit (0: none).
    pub served: u32,
    pub maxconn: u32,
    /// The limit the backend's load gives it now, with `minconn`
    /// (`maxconn` without; before any `slowstart` scaling).
    pub limit: u32,
    /// Requests waiting in this server's own queue.
    pub queued: usize,
    pub requests: u64,
    /// What an operator set: `ready`, `drain` (no new requests) or `maint`
    /// (DOWN, not checked).
    pub admin: AdminState,
}

/// What the UI shows about one backend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackendView {
    pub name: String,
    /// Requests waiting in the backend queue.
    pub queued: usize,
    /// Requests routed to it since start.
    pub requests: u64,
    /// Requests dropped because their client closed (`abortonclose`).
    pub aborted: u64,
}

/// The name a backend has in haproxy.cfg: its own, or for the default
/// backend `<load balancer>_servers`.
pub fn backend_name(lb: &str, config: &LoadBalancerConfig, index: usize) -> String {
    match index {
        0 => format!("{lb}_servers"),
        i => config.backends[i - 1].name.clone().unwrap_or_default(),
    }
}

impl LoadBalancer {
    /// `node` gives a server's node by name.
    pub fn new(config: LoadBalancerConfig, node: impl Fn(&str) -> NodeId) -> LoadBalancer {
        let mut servers = Vec::new();
        let mut ranges = Vec::new();
        for (b, backend) in config.all_backends().enumerate() {
            let first = servers.len();
            servers.extend(backend.servers.iter().map(|s| BackendServer {
                node: node(&s.name),
                name: s.name.clone(),
                eff: s.effective(&backend.default_server),
                backend: b,
            }));
            ranges.push(BackendRange { first, end: servers.len() });
        }
        let state = Volatile::fresh(&servers, &ranges, &config);
        let watch_clients = config.watches_clients();
        LoadBalancer { config, servers, ranges, routes: Vec::new(), watch_clients, state }
    }

    /// A backend's configuration (0: the default backend).
    fn backend(&self, b: usize) -> &LoadBalancerConfig {
        match b {
            0 => &self.config,
            b => &self.config.backends[b - 1],
        }
    }

    pub fn backends(&self, lb_name: &str) -> Vec<BackendView> {
        (0..self.ranges.len())
            .map(|b| BackendView {
                name: backend_name(lb_name, &self.config, b),
                queued: self.state.backends[b].queue.len(),
                requests: self.state.backends[b].requests,
                aborted: self.state.backends[b].aborted,
            })
            .collect()
    }

    pub fn server_views(&self, lb_name: &str) -> Vec<ServerView> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let check = self.state.checks.get(i).and_then(|c| c.as_ref());
                let rt = &self.state.servers[i];
                ServerView {
                    node: b.node,
                    name: b.name.clone(),
                    backend: backend_name(lb_name, &self.config, b.backend),
                    weight: rt.uweight,
                    up: check.is_none_or(|c| c.health.is_up()) && rt.admin != AdminState::Maint,
                    checked: check.is_some(),
                    health: check.map_or_else(|| "no check".to_string(), |c| c.health.describe()),
                    throttle: rt.warmup.filter(|_| rt.uweight > 0).map(|_| slowstart::throttle(rt.eweight, rt.uweight)),
                    errors: check
                        .filter(|_| b.eff.analysis.observe != observe::Observe::None)
                        .map(|c| (c.consecutive_errors, b.eff.analysis.error_limit)),
                    last_check: check.and_then(|c| c.last).map(CheckResult::code),
                    served: rt.served,
                    maxconn: b.eff.maxconn,
                    limit: load_limit(b, self.state.backends[b.backend].load()),
                    queued: rt.queue.len(),
                    requests: rt.requests,
                    admin: rt.admin,
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

    /// Requests waiting in the backend queues.
    pub fn backend_queue(&self) -> usize {
        self.state.backends.iter().map(|b| b.queue.len()).sum()
    }

    /// How long a check of `server` may take.
    fn check_timeout(&self, server: usize) -> Duration {
        let inter = self.servers[server].eff.params.inter;
        let backend = self.backend(self.servers[server].backend);
        match backend.timeout_check {
            Some(_) => inter.min(backend.timeout_connect),
            None => inter,
        }
    }

    fn report_load(&self, ctx: &mut Ctx) {
        let queued = self.state.backlog.len()
            + self.backend_queue()
            + self.state.servers.iter().map(|s| s.queue.len()).sum::<usize>();
        ctx.set_load(self.state.in_use, self.config.effective_maxconn(), queued as u32);
    }

    #[inline]
    fn conn(&mut self, slot: usize) -> &mut Conn {
        self.state.conns[slot].as_mut().expect("a live connection")
    }

    /// What follows is for the client request in `slot` (see
    /// [`Ctx::work_for`]): the stream may not be the one whose event is
    /// being handled (it was queued, or is being retried).
    fn work_for_conn(&self, ctx: &mut Ctx, slot: usize) {
        if let Some(c) = self.state.conns[slot].as_ref() {
            ctx.work_for(c.client, c.client_req);
        }
    }

    fn saturated(&self, i: usize, now: i64) -> bool {
        let load = self.state.backends[self.servers[i].backend].load();
        self.state.servers[i].saturated(&self.servers[i], now, load)
    }

    /// The first `use_backend` rule that applies to a request
    /// ([`NO_RULE`]: none does).
    fn route(&mut self, ctx: &mut Ctx, op: Op, path: PathId) -> u16 {
        const UNKNOWN: u16 = u16::MAX;
        let write = matches!(op, Op::Write { .. });
        let key = usize::from(path) * 2 + usize::from(write);
        if let Some(&rule) = self.routes.get(key).filter(|&&r| r != UNKNOWN) {
            return rule;
        }
        let sample = request_sample(ctx, op, path);
        let rule = self.config.rule_for(&sample).map_or(NO_RULE, |i| i as u16);
        if self.routes.len() <= key {
            self.routes.resize(key + 1, UNKNOWN);
        }
        self.routes[key] = rule;
        rule
    }

    /// Takes a connection from the listen backlog, if one waits there.
    fn accept_from_backlog(&mut self, ctx: &mut Ctx) {
        if let Some((client, req)) = self.state.backlog.pop_front() {
            let closed = self.watch_clients && self.state.closed_in_backlog.remove(&(client, req.id));
            self.accept(ctx, client, req, closed);
        }
    }

    /// A frontend connection for `req`; `client_closed` if its client has
    /// closed it already (while it waited in the listen backlog).
    fn accept(&mut self, ctx: &mut Ctx, client: NodeId, req: Request, client_closed: bool) {
        let mut backend = 0;
        if !self.config.use_backend.is_empty() {
            let rule = self.route(ctx, req.op, req.path);
            if rule != NO_RULE {
                let name = &self.config.use_backend[usize::from(rule)].backend;
                backend = self.config.backend_index(name).expect("validated backend name");
            }
            ctx.note(Note::UseBackend { rule });
        }
        self.state.backends[backend].requests += 1;
        self.state.backends[backend].beconn += 1;
        let l7_retries = self.config.http_request.is_empty()
            || !self.config.l7_retry_disabled(&request_sample(ctx, req.op, req.path));
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
            backend,
            phase: Phase::Queued { server: None, order: 0 },
            backend_id: 0,
            attempt: 0,
            retries_left: self.backend(backend).retries,
            l7_retries,
            client_closed,
            timer: None,
            timer_at: 0,
        });
        if self.watch_clients {
            self.state.by_client.insert((client, req.id), slot as u32);
        }
        // HAProxy reads the request and its close together, and drops it
        // before it connects anywhere.
        if client_closed && self.backend(backend).abortonclose {
            self.abort(ctx, slot, AbortedAt::Connect);
        } else {
            self.assign(ctx, slot, None);
        }
    }

    /// Finds a server for the connection (`assign_server_and_queue`): a
    /// free one, or a queue to wait in, or 503 when no server is usable.
    fn assign(&mut self, ctx: &mut Ctx, slot: usize, avoid: Option<usize>) {
        self.work_for_conn(ctx, slot);
        let (client, path, backend) = {
            let c = self.conn(slot);
            (c.client, c.path, c.backend)
        };
        // Random keys are drawn only for `balance random`, so the other
        // algorithms leave the node's random stream alone.
        let mut keys = [0u32; random::MAX_DRAWS];
        let draws = self.state.backends[backend].balancer.draws();
        for key in &mut keys[..draws] {
            *key = (ctx.rng().next_u64() >> 32) as u32;
        }
        let input = PickInput { source: crate::network::ipv4(client), uri: ctx.path(path), keys: &keys[..draws] };
        let (first, end) = (self.ranges[backend].first, self.ranges[backend].end);
        let now = slowstart::clock_seconds(ctx.monotonic());
        let usable = |state: &Volatile| state.usable[first..end].iter().any(|&u| u);
        let be = &self.state.backends[backend];
        // With requests in the backend's queue, the round-robin algorithms
        // and `first` know every server is full and queue this one too
        // (`assign_server`), unless every request of the backend is in
        // that queue. A server's dynamic limit may have grown meanwhile;
        // it takes from the queue when a request it serves ends.
        let in_turn = matches!(
            self.backend(backend).balance,
            config::Balance::Roundrobin | config::Balance::StaticRr | config::Balance::First
        );
        // (The scan of the servers last: it is rarely needed.)
        if in_turn && !be.queue.is_empty() && be.queue.len() as u32 != be.beconn && usable(&self.state) {
            self.enqueue(ctx, slot, None);
            return;
        }
        let load = be.load();
        let state = &mut self.state;
        // The balancer counts servers from its backend's first one.
        let (servers, rt) = (&self.servers[first..], &state.servers[first..]);
        let saturated = |i: usize| rt[i].saturated(&servers[i], now, load);
        let limits =
            |i: usize| Limits { maxconn: rt[i].maxconn(&servers[i], now, load), maxqueue: servers[i].eff.maxqueue };
        let served = |i: usize| rt[i].served;
        let avoid = avoid.map(|s| s - first);
        match state.backends[backend].balancer.pick(input, avoid, saturated, limits, served).map(|i| first + i) {
            Some(server) if !self.saturated(server, now) => self.connect(ctx, slot, server),
            Some(server) => {
                // Hash-based algorithms return a server whether or not it is
                // full, and leastconn one at maxconn that still has queue
                // room: wait in its own queue. If that is full too
                // (`maxqueue`), HAProxy answers 503 at once
                // (`assign_server_and_queue` gives SRV_STATUS_FULL, which
                // `srv_redispatch_connect` turns into a queue error).
                let maxqueue = self.servers[server].eff.maxqueue;
                if maxqueue == 0 || self.state.servers[server].queue.len() < maxqueue as usize {
                    self.enqueue(ctx, slot, Some(server));
                } else {
                    ctx.note(Note::QueueFull { queued: maxqueue });
                    self.answer(ctx, slot, Status::ServiceUnavailable);
                }
            }
            None if usable(&self.state) => {
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
        self.work_for_conn(ctx, slot);
        self.state.queue_order += 1;
        let order = self.state.queue_order;
        match server {
            Some(s) => {
                self.state.servers[s].queue.insert(order, slot);
                self.count(s);
                let waiting = self.state.servers[s].queue.len() as u32;
                ctx.queued(Queue::Server { server: self.servers[s].node, waiting });
            }
            None => {
                let b = self.conn(slot).backend;
                self.state.backends[b].queue.insert(order, slot);
                ctx.queued(Queue::Backend { waiting: self.state.backends[b].queue.len() as u32 });
            }
        }
        let b = self.conn(slot).backend;
        let timeout = self.backend(b).effective_timeout_queue().nanos;
        let timer = ctx.set_timer(timeout, Timer::QueueTimeout { conn: slot as u32 });
        let c = self.conn(slot);
        c.phase = Phase::Queued { server, order };
        c.timer = Some(timer);
    }

    /// Opens a connection to `server` for the request in `slot`.
    fn connect(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        self.work_for_conn(ctx, slot);
        ctx.left_queue();
        self.state.next_id += 1;
        let backend_id = (self.state.next_id << SLOT_BITS) | slot as u64;
        let rt = &mut self.state.servers[server];
        rt.served += 1;
        rt.requests += 1;
        self.take_or_drop(server);
        let timeout = self.backend(self.servers[server].backend).timeout_connect.nanos;
        let c = self.conn(slot);
        c.phase = Phase::Connecting { server };
        c.backend_id = backend_id;
        c.attempt += 1;
        let (op, path, attempt) = (c.op, c.path, c.attempt);
        let req = Request { id: backend_id, op, path, accept: true };
        ctx.send(self.servers[server].node, Message::Request(req));
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
        self.take_or_drop(server);
        self.serve_queues(ctx, server);
    }

    /// Tells the balancer a server's load changed: a request joined or
    /// left its queue. Leastconn reads the new counts to pass over a full
    /// server but keeps the server where it is in its tree.
    fn count(&mut self, server: usize) {
        let rt = &self.state.servers[server];
        let (served, queued) = (rt.served, rt.queue.len() as u32);
        let (b, i) = self.local(server);
        self.state.backends[b].balancer.set_load(i, served, queued);
    }

    /// The server took or dropped a connection: as [`Self::count`], and
    /// leastconn moves it to its new key (HAProxy's `server_take_conn` and
    /// `server_drop_conn`, the only calls that reposition it).
    fn take_or_drop(&mut self, server: usize) {
        self.count(server);
        let (b, i) = self.local(server);
        self.state.backends[b].balancer.reposition(i);
    }

    /// A server's backend, and its index within that backend.
    fn local(&self, server: usize) -> (usize, usize) {
        let b = self.servers[server].backend;
        (b, server - self.ranges[b].first)
    }

    /// Usable active (non-backup) servers of a backend: HAProxy's `srv_act`.
    fn active_count(&self, backend: usize) -> usize {
        let r = &self.ranges[backend];
        (r.first..r.end).filter(|&i| self.state.usable[i] && !self.servers[i].eff.backup).count()
    }

    /// HAProxy's `px_ok` (`process_srv_queue`, `pendconn_grab_from_px`):
    /// whether `server` may take requests from its backend's queue. It
    /// must be in the rotation; a backup server only while no active
    /// server is, and then only the first usable backup, unless
    /// `allbackups`.
    fn takes_from_backend_queue(&self, server: usize) -> bool {
        if !self.state.usable[server] {
            return false;
        }
        if !self.servers[server].eff.backup {
            return true;
        }
        let b = self.servers[server].backend;
        if self.active_count(b) > 0 {
            return false;
        }
        let r = &self.ranges[b];
        let first_backup = (r.first..r.end).find(|&i| self.state.usable[i] && self.servers[i].eff.backup);
        self.backend(b).allbackups || first_backup == Some(server)
    }

    /// `process_srv_queue`: while `server` has free slots, the request
    /// that has waited longest in its own queue or the backend's. A server
    /// out of the rotation (DOWN, drained, in maintenance) still serves its
    /// own queue, not the backend's (see [`Self::takes_from_backend_queue`]).
    fn serve_queues(&mut self, ctx: &mut Ctx, server: usize) {
        let px_ok = self.takes_from_backend_queue(server);
        let b = self.servers[server].backend;
        let now = slowstart::clock_seconds(ctx.monotonic());
        let max = self.state.servers[server].maxconn(&self.servers[server], now, self.state.backends[b].load());
        while max == 0 || self.state.servers[server].served < max {
            let own = self.state.servers[server].queue.first_key_value().map(|(&o, &s)| (o, s));
            let shared = self.state.backends[b].queue.first_key_value().map(|(&o, &s)| (o, s)).filter(|_| px_ok);
            let slot = match (own, shared) {
                (Some((a, s)), Some((b, _))) if a < b => {
                    self.state.servers[server].queue.remove(&a);
                    self.count(server);
                    s
                }
                (_, Some((o, s))) => {
                    self.state.backends[b].queue.remove(&o);
                    s
                }
                (Some((a, s)), None) => {
                    self.state.servers[server].queue.remove(&a);
                    self.count(server);
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
        let conn = self.close_frontend(ctx, slot);
        resp.id = conn.client_req;
        ctx.send(conn.client, Message::Response(resp));
        self.accept_from_backlog(ctx);
    }

    /// Frees the frontend slot of the connection in `slot`.
    fn close_frontend(&mut self, ctx: &mut Ctx, slot: usize) -> Conn {
        let conn = self.state.conns[slot].take().expect("a live connection");
        if let Some(t) = conn.timer {
            ctx.cancel_timer(t);
        }
        if self.watch_clients {
            self.state.by_client.remove(&(conn.client, conn.client_req));
        }
        self.state.free.push(slot as u32);
        self.state.in_use -= 1;
        self.state.backends[conn.backend].beconn -= 1;
        conn
    }

    /// The client of request `id` closed its connection. HAProxy without
    /// `abortonclose` does not read it (it serves the request, and finds
    /// the client gone when it answers); with it, the request is dropped
    /// wherever it is (`back_may_abort_req`, `back_handle_st_con`), and a
    /// server holding it has its connection reset.
    fn client_closed(&mut self, ctx: &mut Ctx, client: NodeId, id: RequestId) {
        let Some(&slot) = self.state.by_client.get(&(client, id)) else {
            if self.state.backlog.iter().any(|(c, r)| *c == client && r.id == id) {
                self.state.closed_in_backlog.insert((client, id));
            }
            return;
        };
        let slot = slot as usize;
        let conn = self.conn(slot);
        conn.client_closed = true;
        let (phase, backend) = (conn.phase, conn.backend);
        if !self.backend(backend).abortonclose {
            return;
        }
        let at = match phase {
            Phase::Queued { server, order } => {
                ctx.left_queue();
                match server {
                    Some(s) => {
                        self.state.servers[s].queue.remove(&order);
                        self.count(s);
                    }
                    None => {
                        self.state.backends[backend].queue.remove(&order);
                    }
                }
                AbortedAt::Queue
            }
            Phase::TurnAround { .. } => AbortedAt::Connect,
            Phase::Connecting { server } => {
                self.reset(ctx, slot, server);
                AbortedAt::Connect
            }
            Phase::Established { server, .. } => {
                self.reset(ctx, slot, server);
                AbortedAt::Response
            }
        };
        self.abort(ctx, slot, at);
    }

    /// Resets the connection to `server` of the request in `slot` (HAProxy
    /// sets `SI_FL_NOLINGER` on a client abort): the slot is free at once.
    fn reset(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        let id = self.conn(slot).backend_id;
        ctx.send(self.servers[server].node, Message::ConnectionReset { id });
        self.release(ctx, server);
    }

    /// Drops the request in `slot`, whose client has closed: nothing is
    /// sent to it.
    fn abort(&mut self, ctx: &mut Ctx, slot: usize, at: AbortedAt) {
        self.work_for_conn(ctx, slot);
        let conn = self.close_frontend(ctx, slot);
        self.state.backends[conn.backend].aborted += 1;
        ctx.note(Note::ClientAborted { client: conn.client, at });
        self.accept_from_backlog(ctx);
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
        self.work_for_conn(ctx, slot);
        let Phase::Connecting { server } = self.conn(slot).phase else { return };
        if let Some(t) = self.conn(slot).timer.take() {
            ctx.cancel_timer(t);
        }
        self.observe(ctx, server, Outcome::L4Err);
        self.release(ctx, server);
        // Without `conn-failure` in `retry-on`, not even a refused
        // connection is retried.
        let b = self.servers[server].backend;
        if !self.backend(b).retry_on.conn_failure || !self.spend_retry(slot) {
            self.answer(ctx, slot, Status::ServiceUnavailable);
            return;
        }
        let attempt = self.conn(slot).attempt;
        ctx.note(Note::Retried { server: self.servers[server].node, attempt });
        self.try_again(ctx, slot, server, refused);
    }

    /// Takes one retry from the request's `retries` budget, which
    /// connection and layer-7 retries share; false if none is left.
    fn spend_retry(&mut self, slot: usize) -> bool {
        let conn = self.conn(slot);
        if conn.retries_left == 0 {
            return false;
        }
        conn.retries_left -= 1;
        true
    }

    /// Sends the request again after it failed on `server` (a retry is
    /// spent): to the same server or, per `stream_choose_redispatch`,
    /// through server selection again.
    fn try_again(&mut self, ctx: &mut Ctx, slot: usize, server: usize, refused: bool) {
        self.work_for_conn(ctx, slot);
        let b = self.servers[server].backend;
        // `back_try_conn_req` checks for a client abort before each new
        // attempt.
        if self.conn(slot).client_closed && self.backend(b).abortonclose {
            self.abort(ctx, slot, AbortedAt::Connect);
            return;
        }
        let last = self.conn(slot).retries_left == 0;
        // `stream_choose_redispatch`: with `option redispatch`, a retry
        // goes elsewhere if the server is no longer running (marked DOWN),
        // the last retry always does, and so does every retry for a
        // non-hash algorithm with more than one active server.
        let several = self.active_count(b) > 1;
        let by_turn = !self.state.backends[b].balancer.is_hash() && several;
        let down = self.state.checks[server].as_ref().is_some_and(|c| !c.health.is_up());
        let redispatch = self.backend(b).redispatch && (last || by_turn || down);
        // `back_handle_st_cer`: after a refusal (an asynchronous error; a
        // connect timeout has waited long enough already) it pauses for
        // min(timeout connect, 1 s) before trying the same server, and
        // before server selection again when no other active server is
        // left to pick.
        if refused && !(redispatch && several) {
            let pause = self.backend(b).timeout_connect.min(MAX_TURN_AROUND).nanos;
            let timer = ctx.set_timer(pause, Timer::Retry { conn: slot as u32 });
            let c = self.conn(slot);
            c.phase = Phase::TurnAround { server, redispatch };
            c.timer = Some(timer);
        } else if redispatch {
            self.assign(ctx, slot, Some(server));
        } else {
            self.connect(ctx, slot, server);
        }
    }

    /// A layer-7 retry (`do_l7_retry`), if `retry-on` names what happened
    /// and a retry is left: the request, already sent to `server`, goes
    /// out again at once, and health analysis (`observe`) never sees the
    /// failure. False if the failure is to be passed on.
    fn l7_retry(&mut self, ctx: &mut Ctx, slot: usize, server: usize, failure: L7Failure) -> bool {
        self.work_for_conn(ctx, slot);
        let on = &self.backend(self.servers[server].backend).retry_on;
        if !on.retries(failure) || !self.conn(slot).l7_retries || !self.spend_retry(slot) {
            return false;
        }
        if let Some(t) = self.conn(slot).timer.take() {
            ctx.cancel_timer(t);
        }
        self.release(ctx, server);
        let attempt = self.conn(slot).attempt;
        ctx.note(Note::L7Retry { server: self.servers[server].node, attempt, failure });
        self.try_again(ctx, slot, server, false);
        true
    }

    /// The server the request of `slot` is out to, when a reply to it (an
    /// answer, or its connection closed) comes: the request reached the
    /// server's process, which proves the connection if its SYN-ACK was
    /// lost or is still on the way. `None` if the request is not out.
    fn reached(&mut self, ctx: &mut Ctx, slot: usize) -> Option<(usize, usize)> {
        match self.conn(slot).phase {
            Phase::Established { server, .. } => Some((slot, server)),
            Phase::Connecting { server } => {
                self.observe(ctx, server, Outcome::L4Ok);
                Some((slot, server))
            }
            _ => None,
        }
    }

    /// `timeout server` struck on `server` before its answer: retried
    /// (`response-timeout`), or 504.
    fn response_timed_out(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        if !self.l7_retry(ctx, slot, server, L7Failure::ResponseTimeout) {
            self.observe(ctx, server, Outcome::ReadTimeout);
            self.release(ctx, server);
            self.answer(ctx, slot, Status::GatewayTimeout);
        }
    }

    /// The server's connection closed before its answer: its process died
    /// holding the request (`http_wait_for_response`, a shutr with no
    /// response: `SH`). Retried with `empty-response`, otherwise 502, and
    /// `observe layer7` counts it ("Close from server").
    fn server_closed(&mut self, ctx: &mut Ctx, slot: usize, server: usize) {
        if !self.l7_retry(ctx, slot, server, L7Failure::EmptyResponse) {
            self.observe(ctx, server, Outcome::BrokenPipe);
            self.release(ctx, server);
            self.answer(ctx, slot, Status::BadGateway);
        }
    }

    /// A server was marked DOWN (`pendconn_redistribute`): with `option
    /// redispatch`, each request in its queue goes through server selection
    /// again at once (another server, a queue, or 503); without it they
    /// stay queued for it, until it is UP again or `timeout queue`.
    fn redistribute(&mut self, ctx: &mut Ctx, server: usize) {
        if !self.backend(self.servers[server].backend).redispatch {
            return;
        }
        let queue = std::mem::take(&mut self.state.servers[server].queue);
        self.count(server);
        for slot in queue.into_values() {
            if let Some(t) = self.conn(slot).timer.take() {
                ctx.cancel_timer(t);
            }
            self.assign(ctx, slot, None);
        }
    }

    fn start_check(&mut self, ctx: &mut Ctx, server: usize) {
        self.state.check_seq += 1;
        let seq = self.state.check_seq;
        let msg = match self.backend(self.servers[server].backend).httpchk {
            Some(_) => Message::HttpCheck { seq },
            None => Message::HealthCheck { seq },
        };
        ctx.send(self.servers[server].node, msg);
        if let Some(c) = self.state.checks[server].as_mut() {
            c.in_flight = Some(seq);
            c.connected = false;
        }
        self.plan_check_task(ctx, server, self.check_timeout(server));
    }

    /// Arms the check task of `server` to fire in `delay`: the next check,
    /// or the timeout of the check in flight.
    fn plan_check_task(&mut self, ctx: &mut Ctx, server: usize, delay: Duration) {
        let Some(c) = self.state.checks[server].as_mut() else { return };
        let timer = match c.in_flight {
            Some(seq) => Timer::CheckTimeout { server: server as u32, seq },
            None => Timer::CheckDue { server: server as u32 },
        };
        let at = ctx.monotonic() + delay.nanos as i64;
        c.task = Some((ctx.set_timer(delay.nanos, timer), at));
    }

    /// `health_adjust`: one outcome of `server`'s traffic, for its health
    /// analysis. `error-limit` errors in a row trigger `on-error`, and with
    /// `fastinter` set, the next check comes no later than `fastinter`
    /// from now (the check in flight, if any, times out then).
    fn observe(&mut self, ctx: &mut Ctx, server: usize, outcome: Outcome) {
        if self.state.servers[server].admin == AdminState::Maint {
            // Its checks are paused: nothing to adjust.
            return;
        }
        let eff = self.servers[server].eff;
        let Some(check) = self.state.checks[server].as_mut() else { return };
        match outcome.is_error(eff.analysis.observe) {
            None => return,
            Some(false) => {
                check.consecutive_errors = 0;
                return;
            }
            Some(true) => check.consecutive_errors += 1,
        }
        if check.consecutive_errors < eff.analysis.error_limit {
            return;
        }
        let errors = std::mem::take(&mut check.consecutive_errors);
        let transition = check.health.analysis_failure(eff.analysis.on_error);
        let health = check.health.health;
        let task = check.task;
        let node = self.servers[server].node;
        ctx.note(Note::ErrorLimit { server: node, errors, last: outcome, on_error: eff.analysis.on_error, health });
        if transition == Transition::WentDown {
            self.went_down(ctx, server, health, CheckResult::Analysis);
        }
        let fastinter = eff.params.fastinter;
        if let Some((timer, at)) = task.filter(|_| eff.fastinter_set) {
            if ctx.monotonic() + (fastinter.nanos as i64) < at {
                ctx.cancel_timer(timer);
                self.plan_check_task(ctx, server, fastinter);
            }
        }
    }

    /// A server was marked DOWN, with `health` left, for `reason`: no more
    /// traffic, its warm-up ends, its queue goes elsewhere.
    fn went_down(&mut self, ctx: &mut Ctx, server: usize, health: u32, reason: CheckResult) {
        // A step of the requests on the server or waiting for it (when
        // following): those queued go elsewhere, those it holds may be
        // ended.
        // (Listed before `mark_down` sends the queued ones elsewhere.)
        let on_it: Vec<_> =
            if ctx.following() { self.requests(|c| c.phase.server() == Some(server)).collect() } else { Vec::new() };
        self.mark_down(ctx, server);
        ctx.for_requests(
            || on_it,
            |ctx| {
                ctx.note(Note::ServerDown { server: self.servers[server].node, health, reason });
                if self.servers[server].eff.shutdown_sessions {
                    self.shut_down_sessions(ctx, server);
                }
            },
        );
    }

    /// The requests of the streams `which` picks: (client, the client's
    /// request id).
    fn requests<'a>(&'a self, which: impl Fn(&Conn) -> bool + 'a) -> impl Iterator<Item = (NodeId, RequestId)> + 'a {
        self.state.conns.iter().flatten().filter(move |c| which(c)).map(|c| (c.client, c.client_req))
    }

    /// Out of the rotation: its warm-up ends, its queue goes elsewhere.
    fn mark_down(&mut self, ctx: &mut Ctx, server: usize) {
        self.set_in_rotation(server, false);
        if let Some(w) = self.state.servers[server].warmup.take() {
            ctx.cancel_timer(w.timer);
        }
        self.redistribute(ctx, server);
    }

    /// Puts `server` in the rotation or takes it out: whether it is
    /// usable, and its balancer's `set_up`/`set_down` when that changes.
    fn set_in_rotation(&mut self, server: usize, on: bool) {
        if self.state.usable[server] != on {
            let (b, local) = self.local(server);
            let balancer = &mut self.state.backends[b].balancer;
            if on {
                balancer.set_up(local);
            } else {
                balancer.set_down(local);
            }
        }
        self.state.usable[server] = on;
    }

    /// `on-marked-down shutdown-sessions` (`srv_shutdown_streams`): each
    /// request `server` holds gets a 502 at once, and its connection to the
    /// server is closed (the server, not told to stop, finishes the work).
    fn shut_down_sessions(&mut self, ctx: &mut Ctx, server: usize) {
        let node = self.servers[server].node;
        self.shut_down_streams(ctx, server, |sessions| Note::SessionsShutDown { server: node, sessions });
    }

    /// `on-marked-up shutdown-backup-sessions` (`srv_shutdown_backup_streams`):
    /// the active `server` came UP with a weight above 0, so the requests
    /// every backup server of its backend holds get a 502 at once.
    fn shut_down_backup_sessions(&mut self, ctx: &mut Ctx, server: usize) {
        let s = &self.servers[server];
        if !s.eff.shutdown_backup_sessions || s.eff.backup || self.state.servers[server].uweight == 0 {
            return;
        }
        let (b, node) = (s.backend, s.node);
        let range = self.ranges[b].first..self.ranges[b].end;
        let backups: Vec<usize> = range.filter(|&i| self.servers[i].eff.backup).collect();
        for backup in backups {
            let of = self.servers[backup].node;
            self.shut_down_streams(ctx, backup, |sessions| Note::BackupSessionsShutDown {
                server: node,
                backup: of,
                sessions,
            });
        }
    }

    /// `srv_shutdown_streams`: ends what `server` holds with a 502 at once,
    /// noting `note(how many)` first (nothing if it holds none).
    fn shut_down_streams(&mut self, ctx: &mut Ctx, server: usize, note: impl Fn(u32) -> Note) {
        let held: Vec<usize> = (0..self.state.conns.len())
            .filter(|&slot| {
                let phase = self.state.conns[slot].as_ref().map(|c| c.phase);
                matches!(phase, Some(Phase::Established { server: s, .. }) if s == server)
            })
            .collect();
        if held.is_empty() {
            return;
        }
        let node = self.servers[server].node;
        ctx.note(note(held.len() as u32));
        for slot in held {
            let id = self.conn(slot).backend_id;
            ctx.send(node, Message::ClientClosed { id });
            self.release(ctx, server);
            self.answer(ctx, slot, Status::BadGateway);
        }
    }

    /// An operator's `set server <backend>/<server> state <state>` on this
    /// load balancer, named `lb` (admin.rs): `server` is `backend/server`
    /// or a server's name in every backend that has one (the scenario's
    /// validation makes sure it names at least one).
    pub fn set_server_state(&mut self, ctx: &mut Ctx, lb: &str, server: &str, state: AdminState) {
        for i in self.named(lb, server) {
            self.set_admin(ctx, i, state);
        }
    }

    /// An operator's `set server <backend>/<server> weight <weight>` on
    /// this load balancer, named `lb` (admin.rs): the server's user weight
    /// changes (`server_parse_weight_change_request`, then
    /// `srv_update_status`). Weight 0 takes it out of load balancing, a
    /// weight above 0 puts a running, ready server back (it takes nothing
    /// from the backend's queue at once), and a server in the rotation
    /// gets its new weight (ramped while it warms up). The scenario's
    /// validation refuses what HAProxy refuses (static algorithms).
    pub fn set_server_weight(&mut self, ctx: &mut Ctx, lb: &str, server: &str, weight: WeightChange) {
        for i in self.named(lb, server) {
            let uweight = weight.resolve(self.servers[i].eff.weight);
            self.state.servers[i].uweight = uweight;
            ctx.note(Note::ServerWeight { server: self.servers[i].node, weight: uweight });
            // `server_recalc_eweight`: the balancer hears of it only if
            // the effective weight changed.
            self.recalc_eweight(i, slowstart::clock_seconds(ctx.monotonic()));
            let usable = self.running(i) && self.state.servers[i].admin == AdminState::Ready && uweight > 0;
            self.set_in_rotation(i, usable);
        }
    }

    /// The server lines `server` names: `backend/server`, or a name in
    /// every backend.
    fn named(&self, lb: &str, server: &str) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&i| {
                let s = &self.servers[i];
                match server.split_once('/') {
                    Some((b, name)) => name == s.name && b == backend_name(lb, &self.config, s.backend),
                    None => server == s.name,
                }
            })
            .collect()
    }

    /// Checks pass (or there are none): HAProxy's running state, whatever
    /// the admin state.
    fn running(&self, server: usize) -> bool {
        self.state.checks[server].as_ref().is_none_or(|c| c.health.is_up())
    }

    /// `srv_update_status` for an admin state change of one server line.
    fn set_admin(&mut self, ctx: &mut Ctx, server: usize, state: AdminState) {
        let before = self.state.servers[server].admin;
        if before == state {
            return;
        }
        let was_up = self.running(server);
        self.state.servers[server].admin = state;
        let node = self.servers[server].node;
        let was_up = was_up && before != AdminState::Maint;
        ctx.note(Note::ServerAdmin { server: node, state, was_up });
        match (before, state) {
            (_, AdminState::Maint) => {
                // Checks stop, health 0; a running server is marked DOWN.
                if let Some(c) = self.state.checks[server].as_mut() {
                    if let Some((timer, _)) = c.task.take() {
                        ctx.cancel_timer(timer);
                    }
                    c.in_flight = None;
                    c.consecutive_errors = 0;
                    c.health.health = 0;
                }
                if was_up {
                    self.mark_down(ctx, server);
                    if self.servers[server].eff.shutdown_sessions {
                        self.shut_down_sessions(ctx, server);
                    }
                }
            }
            (AdminState::Maint, _) => {
                // "start OK but check immediately": health at `rise`, UP.
                if let Some(c) = self.state.checks[server].as_mut() {
                    c.health.health = c.health.params.rise;
                    self.plan_check_task(ctx, server, Duration::ZERO);
                }
                if state == AdminState::Ready {
                    self.mark_up(ctx, server);
                }
            }
            (AdminState::Ready, AdminState::Drain) => {
                self.set_in_rotation(server, false);
                self.redistribute(ctx, server);
            }
            (AdminState::Drain, AdminState::Ready) => {
                // Back in the rotation if UP; unlike leaving maintenance,
                // it takes nothing from the backend's queue at once.
                if self.running(server) && self.state.servers[server].uweight > 0 {
                    self.set_in_rotation(server, true);
                }
            }
            (AdminState::Ready, AdminState::Ready) | (AdminState::Drain, AdminState::Drain) => {}
        }
    }

    /// A server is UP again (checks, or leaving maintenance): into the
    /// rotation unless drained, warming up with `slowstart`, and it takes
    /// what waits in the backend's queue (`pendconn_grab_from_px`).
    fn mark_up(&mut self, ctx: &mut Ctx, server: usize) {
        if self.state.servers[server].admin != AdminState::Ready {
            return;
        }
        let (b, local) = self.local(server);
        self.state.usable[server] = self.state.servers[server].uweight > 0;
        if self.servers[server].eff.slowstart > Duration::ZERO {
            let since = slowstart::clock_seconds(ctx.monotonic());
            self.plan_warmup(ctx, server, since);
            self.recalc_eweight(server, since);
        }
        self.state.backends[b].balancer.set_up(local);
        // Before it takes from the backend's queue, as `srv_update_status`.
        self.shut_down_backup_sessions(ctx, server);
        self.serve_queues(ctx, server);
    }

    /// Applies a check result and schedules the next check.
    fn check_done(&mut self, ctx: &mut Ctx, server: usize, reason: CheckResult) {
        let node = self.servers[server].node;
        let passed = reason.passed();
        let Some(check) = self.state.checks[server].as_mut() else { return };
        check.in_flight = None;
        check.last = Some(reason);
        let before = check.health.health;
        let transition = if passed { check.health.success() } else { check.health.failure() };
        let health = check.health.health;
        let next = check.health.interval();
        match transition {
            Transition::WentDown => self.went_down(ctx, server, health, reason),
            Transition::WentUp => {
                // A step of the requests in its backend's queue (when
                // following): it may take them now.
                let b = self.servers[server].backend;
                let queued =
                    || self.requests(|c| c.backend == b && matches!(c.phase, Phase::Queued { server: None, .. }));
                ctx.for_requests(queued, |ctx| ctx.note(Note::ServerUp { server: node, health, reason }));
                self.mark_up(ctx, server);
            }
            Transition::Unchanged if !passed => ctx.note(Note::CheckFailed { server: node, health, reason }),
            Transition::Unchanged if health != before => ctx.note(Note::CheckPassed { server: node, health, reason }),
            Transition::Unchanged => {}
        }
        self.plan_check_task(ctx, server, next);
    }

    /// `server_recalc_eweight`: the server's effective weight at `now`
    /// (whole seconds), for the algorithms whose weights can change.
    fn recalc_eweight(&mut self, server: usize, now: i64) {
        let (b, local) = self.local(server);
        let s = &self.servers[server];
        let rt = &mut self.state.servers[server];
        let elapsed = rt.warmup.map_or(i64::MAX, |w| now - w.since);
        let eweight = slowstart::eweight(rt.uweight, elapsed, slowstart::seconds(s.eff.slowstart));
        if eweight != rt.eweight && eweight > 0 && self.state.backends[b].balancer.set_eweight(local, eweight) {
            rt.eweight = eweight;
        }
    }

    /// `server_warmup`, every second of the window: the next weight step,
    /// requests from the backend queue up to the larger `maxconn`, and
    /// the end of the window.
    fn warm_up(&mut self, ctx: &mut Ctx, server: usize) {
        let Some(w) = self.state.servers[server].warmup else { return };
        let now = slowstart::clock_seconds(ctx.monotonic());
        let over = now - w.since >= i64::from(slowstart::seconds(self.servers[server].eff.slowstart));
        if over {
            self.state.servers[server].warmup = None;
        } else {
            self.plan_warmup(ctx, server, w.since);
        }
        self.recalc_eweight(server, now);
        self.serve_queues(ctx, server);
    }

    /// The next `server_warmup` run of a window opened at `since`, a
    /// second from now.
    fn plan_warmup(&mut self, ctx: &mut Ctx, server: usize, since: i64) {
        let timer = ctx.set_timer(slowstart::WARMUP_TICK.nanos, Timer::Warmup { server: server as u32 });
        self.state.servers[server].warmup = Some(Warmup { since, timer });
    }

    /// The server a check answer is from, if it answers the check in
    /// flight (a node in two backends is checked by each).
    fn check_index(&self, from: NodeId, seq: u32) -> Option<usize> {
        (0..self.servers.len()).find(|&i| {
            self.servers[i].node == from && self.state.checks[i].as_ref().and_then(|c| c.in_flight) == Some(seq)
        })
    }

    fn check_answered(&mut self, ctx: &mut Ctx, from: NodeId, seq: u32, result: CheckResult) {
        if let Some(i) = self.check_index(from, seq) {
            if let Some((t, _)) = self.state.checks[i].as_ref().and_then(|c| c.task) {
                ctx.cancel_timer(t);
            }
            self.check_done(ctx, i, result);
        }
    }

    /// An HTTP check's connection is established: the request goes out,
    /// and with `timeout check` set, the answer has that long from now
    /// (`tcpcheck_eval_connect`); otherwise the check's first deadline
    /// stands.
    fn check_connected(&mut self, ctx: &mut Ctx, from: NodeId, seq: u32) {
        let Some(i) = self.check_index(from, seq) else { return };
        let timeout_check = self.backend(self.servers[i].backend).timeout_check;
        let Some(check) = self.state.checks[i].as_mut() else { return };
        check.connected = true;
        if let (Some(timeout), Some((t, _))) = (timeout_check, check.task) {
            ctx.cancel_timer(t);
            self.plan_check_task(ctx, i, timeout);
        }
    }
}

/// What ACLs see of a request: reads are GETs, writes PUTs.
fn request_sample<'a>(ctx: &'a Ctx, op: Op, path: PathId) -> Sample<'a> {
    let write = matches!(op, Op::Write { .. });
    Sample { method: if write { "PUT" } else { "GET" }, uri: ctx.path(path) }
}

impl Volatile {
    fn fresh(servers: &[BackendServer], ranges: &[BackendRange], config: &LoadBalancerConfig) -> Volatile {
        let weights: Vec<u32> = servers.iter().map(|b| b.eff.weight).collect();
        let backup: Vec<bool> = servers.iter().map(|b| b.eff.backup).collect();
        Volatile {
            // Servers start UP, checked or not (HAProxy's default init-state).
            backends: config
                .all_backends()
                .zip(ranges)
                .enumerate()
                .map(|(i, (c, r))| BackendRt {
                    balancer: Balancer::new(
                        &c.balance,
                        &c.hash_type,
                        c.hash_balance_factor,
                        &weights[r.first..r.end],
                        &backup[r.first..r.end],
                        c.allbackups,
                    ),
                    queue: BTreeMap::new(),
                    requests: 0,
                    aborted: 0,
                    beconn: 0,
                    fullconn: config.effective_fullconn(i),
                })
                .collect(),
            usable: weights.iter().map(|&w| w > 0).collect(),
            checks: servers
                .iter()
                .map(|b| {
                    b.eff.check.then(|| CheckState {
                        health: Health::new(b.eff.params),
                        in_flight: None,
                        task: None,
                        consecutive_errors: 0,
                        connected: false,
                        last: None,
                    })
                })
                .collect(),
            servers: servers
                .iter()
                .map(|s| ServerRt {
                    eweight: s.eff.weight * fwrr::WEIGHT_SCALE,
                    uweight: s.eff.weight,
                    ..ServerRt::default()
                })
                .collect(),
            queue_order: 0,
            conns: Vec::new(),
            free: Vec::new(),
            in_use: 0,
            backlog: VecDeque::new(),
            by_client: BTreeMap::new(),
            closed_in_backlog: BTreeSet::new(),
            next_id: 0,
            check_seq: 0,
        }
    }
}

impl Process for LoadBalancer {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::fresh(&self.servers, &self.ranges, &self.config);
        // Spread the first checks: server k of n starts at inter * k / n
        // (`start_checks`), where inter is the smallest interval of at
        // least 1 s (or 1 s), raised to the server's own interval if that
        // is longer (`start_check_task`).
        let checked: Vec<usize> = (0..self.servers.len()).filter(|&i| self.state.checks[i].is_some()).collect();
        let interval = |i: usize| self.state.checks[i].as_ref().expect("checked").health.interval();
        let mininter =
            checked.iter().map(|&i| interval(i)).filter(|&d| d >= CHK_INTER_THRES).min().unwrap_or(CHK_INTER_THRES);
        let n = checked.len() as u64;
        let first: Vec<Duration> = (0..n as usize)
            .map(|k| Duration::from_nanos(mininter.max(interval(checked[k])).nanos * k as u64 / n))
            .collect();
        for (&i, delay) in checked.iter().zip(first) {
            self.plan_check_task(ctx, i, delay);
        }
        self.report_load(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Request(req) => {
                if self.state.in_use < self.config.effective_maxconn() {
                    self.accept(ctx, from, req, false);
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
                        let timeout_server = self.backend(self.servers[server].backend).timeout_server;
                        let deadline = since + timeout_server.nanos as i64;
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
                        self.observe(ctx, server, Outcome::L4Ok);
                    }
                }
            }
            Message::Response(resp) => {
                if let Some((slot, server)) = self.conn_for(resp.id).and_then(|slot| self.reached(ctx, slot)) {
                    let code = resp.status.code();
                    if !self.l7_retry(ctx, slot, server, L7Failure::Status(code)) {
                        self.observe(ctx, server, Outcome::of_status(code));
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
            Message::ConnectionClosed { id } => {
                if let Some((slot, server)) = self.conn_for(id).and_then(|slot| self.reached(ctx, slot)) {
                    self.server_closed(ctx, slot, server);
                }
            }
            Message::CheckClosed { seq } => self.check_answered(ctx, from, seq, CheckResult::L7Response),
            Message::ClientClosed { id } if self.watch_clients => self.client_closed(ctx, from, id),
            Message::HealthCheckOk { seq } => self.check_answered(ctx, from, seq, CheckResult::L4Ok),
            Message::HealthCheckRefused { seq } => self.check_answered(ctx, from, seq, CheckResult::L4Refused),
            Message::CheckConnected { seq } => self.check_connected(ctx, from, seq),
            Message::HttpCheckReply { seq, status } => {
                self.check_answered(ctx, from, seq, CheckResult::of_http(status))
            }
            _ => {}
        }
        self.report_load(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        let live = |lb: &LoadBalancer, conn: u32| lb.state.conns.get(conn as usize).is_some_and(|c| c.is_some());
        match timer {
            Timer::CheckDue { server } => self.start_check(ctx, server as usize),
            Timer::Warmup { server } => self.warm_up(ctx, server as usize),
            Timer::CheckTimeout { server, seq } => {
                let i = server as usize;
                let Some(check) = self.state.checks[i].as_ref() else { return };
                if check.in_flight == Some(seq) {
                    let result = if check.connected { CheckResult::L7Timeout } else { CheckResult::L4Timeout };
                    self.check_done(ctx, i, result);
                }
            }
            Timer::ConnectTimeout { conn, attempt } if live(self, conn) => {
                let slot = conn as usize;
                if self.conn(slot).attempt == attempt {
                    self.conn(slot).timer = None;
                    match self.conn(slot).phase {
                        Phase::Connecting { .. } => self.connection_failed(ctx, slot, false),
                        Phase::Established { server, since } => {
                            let timeout_server = self.backend(self.servers[server].backend).timeout_server;
                            let deadline = since + timeout_server.nanos as i64;
                            let left = deadline - ctx.monotonic();
                            if left <= 0 {
                                self.response_timed_out(ctx, slot, server);
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
                if let Phase::TurnAround { server, redispatch } = self.conn(slot).phase {
                    self.conn(slot).timer = None;
                    if redispatch {
                        self.assign(ctx, slot, Some(server));
                    } else {
                        self.connect(ctx, slot, server);
                    }
                }
            }
            Timer::ServerTimeout { conn, attempt } if live(self, conn) => {
                let slot = conn as usize;
                if let (Phase::Established { server, .. }, true) =
                    (self.conn(slot).phase, self.conn(slot).attempt == attempt)
                {
                    self.conn(slot).timer = None;
                    self.response_timed_out(ctx, slot, server);
                }
            }
            Timer::QueueTimeout { conn } if live(self, conn) => {
                let slot = conn as usize;
                if let Phase::Queued { server, order } = self.conn(slot).phase {
                    self.work_for_conn(ctx, slot);
                    ctx.left_queue();
                    match server {
                        Some(s) => {
                            self.state.servers[s].queue.remove(&order);
                            self.count(s);
                        }
                        None => {
                            let b = self.conn(slot).backend;
                            self.state.backends[b].queue.remove(&order);
                        }
                    }
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
        self.state = Volatile::fresh(&self.servers, &self.ranges, &self.config);
    }

    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        let taken = self.state.conns.iter().flatten().map(|c| (c.client, c.client_req));
        let backlog = self.state.backlog.iter().map(|(client, req)| (*client, req.id));
        taken.chain(backlog).map(|(client, id)| (client, Message::ConnectionClosed { id })).collect()
    }
}
