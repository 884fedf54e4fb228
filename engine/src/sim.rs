//! The simulation: builds a run from a scenario and drives it, one event at
//! a time, in (time, sequence) order.

use crate::clock::Clock;
use crate::components::cache::{Cache, CacheView};
use crate::components::client::Client;
use crate::components::database::{Database, DatabaseView};
use crate::components::kafka::{
    broker::KafkaBroker, consumer::KafkaConsumer, controller::KafkaController, producer::KafkaProducer,
};
use crate::components::load_balancer::{BackendView, LoadBalancer, ServerView};
use crate::components::raft_kv::RaftKv;
use crate::components::sentinel::{Sentinel, SentinelView};
use crate::components::server::{CallStats, Server, Targets};
use crate::components::{Component, Kind};
use crate::consistency::{Consistency, ConsistencyView};
use crate::context::Ctx;
use crate::fault::{Fault, ScheduledFault};
use crate::held_links::HeldMessage;
use crate::history::History;
use crate::message::{Message, MsgKind, NodeId, PathId};
use crate::metrics::{LoadGauge, Metrics, Summary};
use crate::network::{DropReason, Network};
use crate::node::{Deferred, Node, Runtime, Status};
use crate::queue::{Event, EventQueue, Scheduled};
use crate::rng::{Rng, STREAM_NODE};
use crate::scenario::{ComponentSpec, Scenario, ScenarioError, MAX_FAULTS};
use crate::time::{format_time, Time};
use crate::trace::{NodeChange, Trace, What};
use crate::world::World;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

pub mod final_reads;
pub mod op_following;
pub mod op_path;
mod operator;

/// A whole run: plain data, so it can be cloned to checkpoint, seek and
/// branch.
#[derive(Clone, Debug)]
pub struct Simulation {
    scenario: Arc<Scenario>,
    seed: u64,
    nodes: Vec<Node>,
    world: World,
    /// Every fault of the run, scheduled or applied live, by index.
    faults: Vec<ScheduledFault<NodeId>>,
    /// The live faults, by name, in the order applied (for replay).
    live_faults: Vec<ScheduledFault>,
    events: u64,
    /// Time of the last event processed (see [`Simulation::apply_fault`]).
    last_event_at: Option<Time>,
    /// The consistency checker, fed the history as the run goes.
    consistency: Consistency,
}

/// A message on the wire, for drawing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct InFlight {
    pub from: NodeId,
    pub to: NodeId,
    pub sent_at: Time,
    pub arrives: Time,
    pub kind: MsgKind,
}

/// A node's state as the UI and reports show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeState {
    pub id: NodeId,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub restarts: u32,
    pub busy: u32,
    pub capacity: u32,
    pub queued: u32,
    /// The wall clock's error against true time, in nanoseconds.
    pub clock_error_ns: i64,
    pub slowdown: f64,
    #[serde(flatten)]
    pub detail: Detail,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "detail")]
pub enum Detail {
    Client { outstanding: u32 },
    LoadBalancer { connections: u32, backlog: usize, backends: Vec<BackendView>, servers: Vec<ServerView> },
    Server { served: u64, refused: u64, boots: u32, calls: CallStats },
    Database(DatabaseView),
    Cache(CacheView),
    Sentinel(SentinelView),
    RaftKv(crate::components::raft_kv::RaftKvView),
    KafkaController(crate::components::kafka::ControllerView),
    KafkaBroker(crate::components::kafka::BrokerView),
    KafkaProducer(crate::components::kafka::ProducerView),
    KafkaConsumer(crate::components::kafka::ConsumerView),
}

/// A Kafka client's brokers: its bootstrap list, then the rest of the
/// cluster's.
fn kafka_brokers(
    bootstrap: &[String],
    cluster: &crate::components::kafka::Cluster,
    id: &impl Fn(&str) -> NodeId,
) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = bootstrap.iter().map(|b| id(b)).collect();
    out.extend(cluster.brokers.iter().filter(|b| !out.contains(b)).copied().collect::<Vec<_>>());
    out
}

/// The CLI's and the tests' summary of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub simulated: String,
    pub simulated_ns: Time,
    pub events: u64,
    pub trace_hash: String,
    pub metrics: Summary,
    pub intervals: usize,
    pub nodes: Vec<NodeState>,
    pub trace: TraceReport,
    pub history: HistoryReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
    pub consistency: ConsistencyView,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceReport {
    pub recorded: u64,
    pub kept: usize,
    pub discarded: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryReport {
    pub ops: usize,
    pub discarded: u64,
}

/// The nodes linked to `me` that are not in `group`, in link order.
fn linked_outside(scenario: &Scenario, me: NodeId, group: &[NodeId], id: &dyn Fn(&str) -> NodeId) -> Vec<NodeId> {
    scenario
        .links
        .iter()
        .filter_map(|l| {
            let (a, b) = (id(&l.between[0]), id(&l.between[1]));
            if a == me {
                Some(b)
            } else if b == me {
                Some(a)
            } else {
                None
            }
        })
        .filter(|n| !group.contains(n))
        .collect()
}

impl Simulation {
    /// Builds a run with the scenario's own seed.
    pub fn new(scenario: &Scenario) -> Result<Simulation, ScenarioError> {
        Simulation::with_seed(scenario, scenario.seed)
    }

    pub fn with_seed(scenario: &Scenario, seed: u64) -> Result<Simulation, ScenarioError> {
        scenario.validate()?;
        let ids = scenario.node_ids();
        let id = |name: &str| *ids.get(name).expect("validated reference");
        let n = scenario.nodes.len();
        let links: Vec<_> = scenario
            .links
            .iter()
            .map(|l| (id(&l.between[0]), id(&l.between[1]), l.profile(&scenario.network)))
            .collect();
        let limits = scenario.limits;
        let world = World {
            now: 0,
            queue: EventQueue::new(limits.pending_events),
            network: Network::new(seed, n, &links),
            held: Default::default(),
            trace: Trace::new(limits.trace_events),
            metrics: Metrics::new(scenario.metrics.interval.nanos, scenario.metrics.keep_intervals),
            history: History::new(limits.history_ops),
            paths: Vec::new(),
            commands: Vec::new(),
            metadata: Vec::new(),
            kv_snapshots: Default::default(),
            next_kv_snapshot: 0,
            log_history: crate::history::LogHistory::new(limits.history_ops),
            halted: None,
            follow: None,
        };
        let mut world = world;
        let mut path_ids: BTreeMap<String, PathId> = BTreeMap::new();
        let nodes = scenario
            .nodes
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let component = match &spec.component {
                    ComponentSpec::Client(c) => {
                        let ids: Vec<PathId> = c
                            .paths
                            .iter()
                            .map(|p| {
                                *path_ids.entry(p.path.clone()).or_insert_with(|| {
                                    world.paths.push(p.path.clone());
                                    (world.paths.len() - 1) as PathId
                                })
                            })
                            .collect();
                        let to_cache =
                            matches!(scenario.nodes[id(&c.target) as usize].component, ComponentSpec::Cache(_));
                        Component::Client(Client::new(c.clone(), id(&c.target), &ids, to_cache))
                    }
                    ComponentSpec::Server(c) => {
                        let targets = c.handler.as_ref().map(|h| Targets {
                            database: id(&h.database),
                            read_from: h.read_from.as_deref().map(id),
                            cache: h.cache.as_deref().map(id),
                        });
                        Component::Server(Server::new(c.clone(), targets))
                    }
                    ComponentSpec::Cache(c) => {
                        // The group: the primary, then the caches that
                        // replicate it.
                        let group: Vec<NodeId> = scenario.cache_group(i).into_iter().map(|g| g as NodeId).collect();
                        let sentinels: Vec<NodeId> =
                            scenario.sentinels_of(group[0] as usize).into_iter().map(|g| g as NodeId).collect();
                        let mut inner = group.clone();
                        inner.extend(&sentinels);
                        let listeners = linked_outside(scenario, i as NodeId, &inner, &id);
                        let replicaof = c.redis.replicaof.as_deref().map(id);
                        Component::Cache(Cache::new(c.clone(), group, listeners, replicaof))
                    }
                    ComponentSpec::Database(c) => {
                        // The group: the primary, then its replicas.
                        let primary = c.replica_of.as_deref().unwrap_or(&spec.name);
                        let ComponentSpec::Database(pc) = &scenario.nodes[id(primary) as usize].component else {
                            unreachable!("validated: a replica follows a database")
                        };
                        let group: Vec<NodeId> =
                            std::iter::once(id(primary)).chain(pc.replicas.iter().map(|r| id(r))).collect();
                        // Linked nodes outside the group hear who is primary.
                        let listeners = linked_outside(scenario, i as NodeId, &group, &id);
                        Component::Database(Database::new(c.clone(), i as NodeId, group, listeners))
                    }
                    ComponentSpec::Sentinel(c) => {
                        let primary = id(&c.monitor) as usize;
                        let group: Vec<NodeId> =
                            scenario.cache_group(primary).into_iter().map(|g| g as NodeId).collect();
                        let all: Vec<NodeId> =
                            scenario.sentinels_of(primary).into_iter().map(|g| g as NodeId).collect();
                        let peers: Vec<NodeId> = all.iter().copied().filter(|&p| p != i as NodeId).collect();
                        let mut inner = group.clone();
                        inner.extend(&all);
                        let listeners = linked_outside(scenario, i as NodeId, &inner, &id);
                        Component::Sentinel(Sentinel::new(c.clone(), group, peers, listeners))
                    }
                    ComponentSpec::LoadBalancer(c) => Component::LoadBalancer(LoadBalancer::new((**c).clone(), id)),
                    ComponentSpec::RaftKv(c) => {
                        let members: Vec<NodeId> = c.members.iter().map(|m| id(m)).collect();
                        let me =
                            members.iter().position(|&m| m == i as NodeId).expect("validated: a member lists itself");
                        Component::RaftKv(RaftKv::new(c.clone(), me as u16, members))
                    }
                    ComponentSpec::KafkaController(c) => {
                        let cluster = scenario.kafka_cluster(i, id).expect("validated cluster");
                        let me = cluster.controllers.iter().position(|&m| m == i as NodeId).expect("validated");
                        Component::KafkaController(KafkaController::new(c.clone(), cluster, me as u16))
                    }
                    ComponentSpec::KafkaBroker(c) => {
                        let cluster = scenario.kafka_cluster(i, id).expect("validated cluster");
                        let me = cluster.broker_id(i as NodeId).expect("validated: the controllers list it");
                        Component::KafkaBroker(KafkaBroker::new(c.clone(), cluster, me))
                    }
                    ComponentSpec::KafkaProducer(c) => {
                        let cluster = scenario.kafka_cluster(i, id).expect("validated cluster");
                        let bootstrap = kafka_brokers(&c.bootstrap, &cluster, &id);
                        let topic = cluster.topic(c.topic.as_deref()).expect("validated topic").range();
                        Component::KafkaProducer(KafkaProducer::new(
                            c.clone(),
                            bootstrap,
                            topic,
                            cluster.all_partitions(),
                        ))
                    }
                    ComponentSpec::KafkaConsumer(c) => {
                        let cluster = scenario.kafka_cluster(i, id).expect("validated cluster");
                        let bootstrap = kafka_brokers(&c.bootstrap, &cluster, &id);
                        let topic = cluster.topic(c.topic.as_deref()).expect("validated topic");
                        let group = c.group.as_ref().and_then(|g| cluster.groups.iter().position(|x| &x.name == g));
                        Component::KafkaConsumer(KafkaConsumer::new(
                            c.clone(),
                            bootstrap,
                            topic,
                            cluster.all_partitions(),
                            group.map(|g| g as u32),
                        ))
                    }
                };
                Node {
                    name: spec.name.clone(),
                    component,
                    rt: Runtime {
                        status: Status::Up,
                        incarnation: 0,
                        clock: Clock::default(),
                        slowdown: 1.0,
                        rng: Rng::stream(seed, STREAM_NODE + i as u64),
                        load: LoadGauge::default(),
                        deferred: VecDeque::new(),
                        deferred_messages: 0,
                        restarts: 0,
                    },
                }
            })
            .collect();
        let faults: Vec<ScheduledFault<NodeId>> = scenario
            .faults
            .iter()
            .map(|f| ScheduledFault {
                at: f.at,
                fault: f.fault.resolve(|name| Ok::<_, ()>(id(name))).expect("validated references"),
            })
            .collect();
        let mut sim = Simulation {
            scenario: Arc::new(scenario.clone()),
            seed,
            nodes,
            world,
            faults,
            live_faults: Vec::new(),
            events: 0,
            last_event_at: None,
            consistency: Consistency::for_scenario(scenario),
        };
        for (i, f) in sim.faults.iter().enumerate() {
            sim.world.queue.push_fault(f.at.nanos, i as u32);
        }
        let interval = sim.world.metrics.interval();
        sim.world.schedule(interval, Event::Tick);
        for i in 0..n {
            sim.world.record(0, What::Node { node: i as NodeId, change: NodeChange::Started });
            sim.start_node(i);
        }
        Ok(sim)
    }

    fn ctx_for(&mut self, i: usize) -> (&mut Component, Ctx<'_>) {
        let node = &mut self.nodes[i];
        (&mut node.component, Ctx { me: i as NodeId, world: &mut self.world, rt: &mut node.rt })
    }

    fn start_node(&mut self, i: usize) {
        let (component, mut ctx) = self.ctx_for(i);
        component.on_start(&mut ctx);
    }

    // ----- driving the run ------------------------------------------------

    /// Processes the next event. Returns false when there is none or the
    /// run has halted.
    pub fn step(&mut self) -> bool {
        self.step_before(Time::MAX)
    }

    /// Processes the next event if it is due before `t`.
    fn step_before(&mut self, t: Time) -> bool {
        if self.world.halted.is_some() {
            return false;
        }
        while let Some(s) = self.world.queue.pop_before(t) {
            if self.process(s) {
                return true;
            }
        }
        false
    }

    /// Processes every event before `t`; the clock then reads `t`. (Events
    /// at `t` itself wait: a fault applied now still comes before them.)
    pub fn run_until(&mut self, t: Time) {
        self.run_until_budget(t, u64::MAX);
    }

    /// Processes every event up to and including `t`: a whole run of
    /// length `t`, with the faults and the metrics interval due at `t`.
    pub fn run_through(&mut self, t: Time) {
        self.run_until(t.saturating_add(1));
        if self.world.halted.is_none() {
            self.world.now = t.max(self.last_event_at.unwrap_or(0));
        }
    }

    /// Like [`Simulation::run_until`] but stops after `max_events`; returns
    /// true if it reached `t`.
    pub fn run_until_budget(&mut self, t: Time, max_events: u64) -> bool {
        let mut done = 0;
        while done < max_events && self.step_before(t) {
            done += 1;
        }
        if done == max_events && self.world.queue.peek_time().is_some_and(|at| at < t) {
            return false;
        }
        if self.world.halted.is_none() && self.world.now < t {
            self.world.now = t;
        }
        self.world.halted.is_none()
    }

    /// Handles one popped event; false if it was a stale timer (skipped and
    /// not counted).
    fn process(&mut self, s: Scheduled) -> bool {
        if let Some(f) = self.world.follow.as_mut() {
            f.current = match s.event {
                Event::Deliver { .. } | Event::Timer { .. } => f.take(s.seq),
                Event::Fault { .. } | Event::Tick => None,
            };
        }
        if let Event::Timer { node, incarnation, .. } = s.event {
            if self.nodes[node as usize].rt.incarnation != incarnation {
                return false;
            }
        }
        self.consistency.observe(&self.world.history, &self.world.log_history, s.at);
        self.world.now = s.at;
        self.last_event_at = Some(s.at);
        self.events += 1;
        match s.event {
            Event::Deliver { from, to, sent_at, msg } => self.deliver(from, to, sent_at, msg),
            Event::Timer { node, id, timer, .. } => {
                let i = node as usize;
                match self.nodes[i].rt.status {
                    Status::Up => {
                        self.world.record(s.at, What::Timer { node, timer });
                        let (component, mut ctx) = self.ctx_for(i);
                        component.on_timer(&mut ctx, id, timer);
                    }
                    Status::Paused => {
                        let op = self.world.current_op();
                        self.defer(i, Deferred::Timer { id, timer, op })
                    }
                    // A crash bumps the incarnation, so this cannot happen.
                    Status::Crashed { .. } => unreachable!("timer of a crashed incarnation"),
                }
            }
            Event::Fault { index } => self.apply(index),
            Event::Tick => {
                let now = s.at;
                self.world.record(now, What::Tick);
                let mut gauges: Vec<LoadGauge> = self.nodes.iter().map(|n| n.rt.load).collect();
                self.world.metrics.close_interval(now, &mut gauges);
                for (n, g) in self.nodes.iter_mut().zip(gauges) {
                    n.rt.load = g;
                }
                let next = now + self.world.metrics.interval();
                self.world.schedule(next, Event::Tick);
            }
        }
        true
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, sent_at: Time, msg: Message) {
        let now = self.world.now;
        // A held link keeps the message at its end; the release delivers
        // it through here again (where a cut may then stop it).
        if self.world.held.is_held(from, to) {
            let op = self.world.current_op();
            let kept = HeldMessage { from, to, sent_at, msg, op };
            let what = if self.world.held.keep(kept, self.scenario.limits.held_backlog) {
                What::Hold { from, to, sent_at, msg }
            } else {
                What::Drop { from, to, sent_at, msg, reason: DropReason::HoldFull }
            };
            self.world.record(now, what);
            return;
        }
        if self.world.network.is_blocked(from, to) {
            self.world.record(now, What::Drop { from, to, sent_at, msg, reason: DropReason::Partition });
            return;
        }
        let i = to as usize;
        match self.nodes[i].rt.status {
            status @ (Status::Up | Status::Paused) => {
                // The host's kernel answers connects by itself, even for a
                // stopped process (a connect-only health check passes).
                if let Some(answer) = msg.kernel_answer() {
                    let sent = self.world.send(to, from, answer);
                    // A request rides on its connection attempt (the lab
                    // spares the extra round trip), but in TCP its bytes
                    // follow the handshake: if the SYN-ACK cannot get back
                    // (lost, or the way back is cut), the process never
                    // sees the request, and the sender times out connecting.
                    if !msg.kernel_only() && (!sent || self.world.network.is_blocked(to, from)) {
                        let reason = DropReason::NotConnected;
                        self.world.record(now, What::Drop { from, to, sent_at, msg, reason });
                        return;
                    }
                }
                if msg.kernel_only() {
                    self.world.record(now, What::Deliver { from, to, sent_at, msg });
                } else if status == Status::Up {
                    self.world.record(now, What::Deliver { from, to, sent_at, msg });
                    let (component, mut ctx) = self.ctx_for(i);
                    component.on_message(&mut ctx, from, msg);
                } else {
                    let op = self.world.current_op();
                    self.defer(i, Deferred::Message { from, sent_at, msg, op });
                }
            }
            Status::Crashed { host_down } => {
                self.world.record(now, What::Drop { from, to, sent_at, msg, reason: DropReason::NodeDown });
                // A live host answers a connection to a dead process with a reset.
                if !host_down {
                    if let Some(reset) = msg.refusal() {
                        self.world.send(to, from, reset);
                    }
                }
            }
        }
    }

    /// Holds work for a paused node. Timers always wait (the kernel keeps
    /// them; the process's own bounds limit how many there are); messages
    /// wait in a bounded receive buffer, and past it they are dropped, in
    /// the trace.
    fn defer(&mut self, i: usize, d: Deferred) {
        let node = &mut self.nodes[i];
        match d {
            Deferred::Timer { .. } | Deferred::Command { .. } => node.rt.deferred.push_back(d),
            Deferred::Message { from, sent_at, msg, .. } => {
                if node.rt.deferred_messages < self.scenario.limits.paused_backlog {
                    node.rt.deferred_messages += 1;
                    node.rt.deferred.push_back(d);
                } else {
                    let now = self.world.now;
                    self.world.record(
                        now,
                        What::Drop { from, to: i as NodeId, sent_at, msg, reason: DropReason::BufferFull },
                    );
                }
            }
        }
    }

    /// Node `i`'s host lost power at `now`.
    fn power_off(&mut self, i: usize, now: Time) {
        let monotonic = self.nodes[i].rt.clock.monotonic(now).max(0) as Time;
        self.nodes[i].component.on_power_loss(monotonic);
    }

    /// The kernel of a host whose process died closes its connections:
    /// peers that keep connections open (Kafka's clients and brokers) hear
    /// a reset over each link, unless a partition stops it.
    fn close_connections(&mut self, i: usize) {
        if !self.nodes[i].component.keeps_connections() {
            return;
        }
        for j in 0..self.nodes.len() {
            if j != i
                && self.nodes[j].component.keeps_connections()
                && self.world.network.has_link(i as NodeId, j as NodeId)
            {
                let closed = Message::Kafka(crate::kafka::wire::KafkaWire::ConnectionClosed);
                self.world.send(i as NodeId, j as NodeId, closed);
            }
        }
    }

    /// What node `i`'s kernel tells the senders of the requests its dying
    /// process held: those it had taken, and those still unread in its
    /// receive buffer (it was paused).
    fn closed_by_crash(&mut self, i: usize) -> Vec<(NodeId, Message)> {
        let mut closed = self.nodes[i].component.closed_by_crash();
        for d in &self.nodes[i].rt.deferred {
            if let Deferred::Message { from, msg, .. } = d {
                closed.extend(msg.closed_unanswered().map(|m| (*from, m)));
            }
        }
        closed
    }

    fn change(&mut self, i: usize, change: NodeChange) {
        self.world.record(self.world.now, What::Node { node: i as NodeId, change });
    }

    fn apply(&mut self, index: u32) {
        let now = self.world.now;
        self.world.record(now, What::Fault { index });
        let fault = self.faults[index as usize].fault.clone();
        let net = &mut self.world.network;
        match fault {
            Fault::Partition { groups } => net.partition(&groups),
            Fault::PartitionOneWay { from, to } => net.partition_one_way(&from, &to),
            Fault::Heal {} => net.heal(),
            Fault::CutLink { between: [a, b] } => net.cut(a, b),
            Fault::HealLink { between: [a, b] } => net.heal_link(a, b),
            Fault::RestoreLink { between: [a, b] } => net.restore(a, b),
            ref f @ Fault::DegradeLink { between: [a, b], .. } => {
                net.degrade(a, b, &f.degradation().expect("a degrade fault"))
            }
            Fault::HoldLink { between: [a, b] } => self.world.held.hold(a, b),
            Fault::ReleaseLink { between: [a, b] } => {
                let held = self.world.held.release(a, b);
                let messages = held.len() as u32;
                self.world.record(now, What::Release { a, b, messages });
                self.deliver_held(held);
            }
            Fault::Crash { node, host_down } => {
                let i = node as usize;
                if !matches!(self.nodes[i].rt.status, Status::Crashed { .. }) {
                    let closed = if host_down { Vec::new() } else { self.closed_by_crash(i) };
                    let rt = &mut self.nodes[i].rt;
                    rt.status = Status::Crashed { host_down };
                    rt.incarnation += 1;
                    rt.deferred.clear();
                    rt.deferred_messages = 0;
                    rt.load.set(now, 0, rt.load.capacity, 0);
                    self.nodes[i].component.on_crash();
                    if host_down {
                        self.power_off(i, now);
                    }
                    self.change(i, NodeChange::Crashed);
                    if !host_down {
                        self.close_connections(i);
                    }
                    for (to, msg) in closed {
                        self.world.send(node, to, msg);
                    }
                } else {
                    if host_down && self.nodes[i].rt.status == (Status::Crashed { host_down: false }) {
                        // The process was dead already; the page cache was not.
                        self.power_off(i, now);
                    }
                    self.nodes[i].rt.status = Status::Crashed { host_down };
                }
            }
            Fault::Restart { node } => {
                let i = node as usize;
                if matches!(self.nodes[i].rt.status, Status::Crashed { .. }) {
                    self.nodes[i].rt.status = Status::Up;
                    self.nodes[i].rt.restarts += 1;
                    self.change(i, NodeChange::Restarted);
                    self.start_node(i);
                }
            }
            Fault::Pause { node } => {
                let i = node as usize;
                if self.nodes[i].rt.status == Status::Up {
                    self.nodes[i].rt.status = Status::Paused;
                    self.change(i, NodeChange::Paused);
                }
            }
            Fault::Resume { node } => {
                if self.nodes[node as usize].rt.status == Status::Paused {
                    self.resume(node as usize);
                }
            }
            Fault::SkewClock { node, offset, drift_ppm } => {
                self.nodes[node as usize].rt.clock.skew(now, offset, drift_ppm);
                self.change(node as usize, NodeChange::ClockSkewed);
            }
            Fault::Promote { node }
            | Fault::ReplicaOf { node, .. }
            | Fault::SetServerState { node, .. }
            | Fault::SetServerWeight { node, .. } => self.operator_command(node, index),
            Fault::SlowNode { node, factor } => {
                self.nodes[node as usize].rt.slowdown = factor;
                self.change(node as usize, NodeChange::Slowed);
            }
        }
    }

    /// Delivers messages a held link kept, now and in order, each for the
    /// operation it was sent for.
    pub(crate) fn deliver_held(&mut self, held: impl IntoIterator<Item = HeldMessage>) {
        for m in held {
            self.world.set_current_op(m.op);
            self.deliver(m.from, m.to, m.sent_at, m.msg);
        }
        self.world.set_current_op(None);
    }

    /// Resumes paused node `i`: what arrived while it was paused is handled
    /// now, in order.
    fn resume(&mut self, i: usize) {
        let (now, node) = (self.world.now, i as NodeId);
        self.nodes[i].rt.status = Status::Up;
        self.change(i, NodeChange::Resumed);
        self.nodes[i].rt.deferred_messages = 0;
        while let Some(d) = self.nodes[i].rt.deferred.pop_front() {
            if self.nodes[i].rt.status != Status::Up {
                break;
            }
            match d {
                Deferred::Message { from, sent_at, msg, op } => {
                    self.world.set_current_op(op);
                    self.world.record(now, What::Deliver { from, to: node, sent_at, msg });
                    let (component, mut ctx) = self.ctx_for(i);
                    component.on_message(&mut ctx, from, msg);
                }
                Deferred::Timer { id, timer, op } => {
                    self.world.set_current_op(op);
                    self.world.record(now, What::Timer { node, timer });
                    let (component, mut ctx) = self.ctx_for(i);
                    component.on_timer(&mut ctx, id, timer);
                }
                Deferred::Command { index } => {
                    self.world.set_current_op(None);
                    self.run_operator_command(index);
                }
            }
        }
        self.world.set_current_op(None);
    }

    /// Applies a fault now, from outside (the UI): it takes effect as the
    /// next event, at the returned time. It is recorded with that time, so
    /// [`Simulation::replay_scenario`] reproduces the run exactly.
    pub fn apply_fault(&mut self, fault: Fault) -> Result<Time, ScenarioError> {
        let at = self.earliest_fault_time();
        self.schedule_fault(at, fault)?;
        Ok(at)
    }

    /// The earliest time a fault added now can take effect. Events at the
    /// current time may already have run (after `step`): then it is one
    /// nanosecond later, which a replay reproduces exactly, because faults
    /// run first among equal times.
    pub fn earliest_fault_time(&self) -> Time {
        match self.last_event_at {
            Some(t) if t == self.world.now => self.world.now + 1,
            _ => self.world.now,
        }
    }

    /// Adds a fault at `at`, no earlier than [`Simulation::earliest_fault_time`].
    /// It gets the next index, as it would in a replay whose fault list
    /// ends with it, so a checkpoint taken before a fault was added goes on
    /// exactly like the run that had it all along.
    pub fn schedule_fault(&mut self, at: Time, fault: Fault) -> Result<(), ScenarioError> {
        if self.faults.len() >= MAX_FAULTS {
            return Err(ScenarioError::new("faults", format!("a run holds at most {MAX_FAULTS} faults")));
        }
        let earliest = self.earliest_fault_time();
        if at < earliest {
            return Err(ScenarioError::new(
                "faults",
                format!("a fault cannot be added at {} in a run already at {}", format_time(at), format_time(earliest)),
            ));
        }
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            ids.insert(n.name.as_str(), i);
        }
        let net = &self.world.network;
        let is_linked = |a: usize, b: usize| net.has_link(a as NodeId, b as NodeId);
        self.scenario.check_fault(&fault, &ids, &is_linked).map_err(|(field, m)| ScenarioError::new(field, m))?;
        let resolved = fault.resolve(|name| Ok::<_, ()>(ids[name.as_str()] as NodeId)).expect("checked");
        let index = self.faults.len() as u32;
        let at = crate::time::Duration::from_nanos(at);
        self.faults.push(ScheduledFault { at, fault: resolved });
        self.live_faults.push(ScheduledFault { at, fault });
        self.world.queue.push_fault(at.nanos, index);
        Ok(())
    }

    /// Every fault of the run by name, in index order: the scenario's, then
    /// those added while it ran ([`Simulation::replay_scenario`]'s list).
    pub fn fault_schedule(&self) -> impl Iterator<Item = &ScheduledFault> {
        self.scenario.faults.iter().chain(&self.live_faults)
    }

    /// The scenario plus every fault applied live: running it from the start
    /// gives this very run.
    pub fn replay_scenario(&self) -> Scenario {
        let mut s = (*self.scenario).clone();
        s.seed = self.seed;
        s.faults.extend(self.live_faults.iter().cloned());
        s
    }

    // ----- reading the state ----------------------------------------------

    pub fn now(&self) -> Time {
        self.world.now
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn events(&self) -> u64 {
        self.events
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn halted(&self) -> Option<&str> {
        self.world.halted.as_deref()
    }
    pub fn trace(&self) -> &Trace {
        &self.world.trace
    }
    pub fn trace_hash(&self) -> String {
        self.world.trace.hash()
    }
    pub fn metrics(&self) -> &Metrics {
        &self.world.metrics
    }
    pub fn history(&self) -> &History {
        &self.world.history
    }
    /// The URL path with this id.
    pub fn path(&self, id: PathId) -> &str {
        &self.world.paths[usize::from(id)]
    }

    pub fn network(&self) -> &Network {
        &self.world.network
    }
    /// The links held by `hold_link`, and what waits at each.
    pub fn held_links(&self) -> &crate::held_links::HeldLinks {
        &self.world.held
    }
    pub fn pending_events(&self) -> usize {
        self.world.queue.len()
    }
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn node_name(&self, id: NodeId) -> &str {
        &self.nodes[id as usize].name
    }
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(|i| i as NodeId)
    }
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }
    pub fn fault(&self, index: u32) -> Option<&ScheduledFault<NodeId>> {
        self.faults.get(index as usize)
    }

    /// A fault as a sentence with node names.
    pub fn describe_fault(&self, index: u32) -> String {
        match self.fault(index) {
            Some(f) => {
                f.fault.resolve(|&id| Ok::<_, ()>(self.node_name(id).to_string())).expect("infallible").to_string()
            }
            None => format!("fault #{index}"),
        }
    }

    /// A load balancer node's configuration as a haproxy.cfg (None for
    /// other nodes).
    pub fn haproxy_cfg(&self, id: NodeId) -> Option<String> {
        let Component::LoadBalancer(lb) = &self.nodes[id as usize].component else { return None };
        let address = |name: &str| {
            let id = self.node_id(name).expect("a configured server");
            format!("{}:80", crate::network::ipv4_text(id))
        };
        Some(crate::components::load_balancer::render::haproxy_cfg(self.node_name(id), &lb.config, address))
    }

    /// The configuration file the real program would read for node `id`,
    /// named: a load balancer's `haproxy.cfg`, a cache's `redis.conf` (with
    /// `replicaof` as the file stands now: a failover rewrites it). `None`
    /// for other nodes.
    pub fn config_file(&self, id: NodeId) -> Option<(&'static str, String)> {
        match &self.nodes[id as usize].component {
            Component::LoadBalancer(_) => Some(("haproxy.cfg", self.haproxy_cfg(id)?)),
            Component::Cache(c) => {
                let primary = c.disk.replicaof.map(|p| format!("{} 6379", crate::network::ipv4_text(p)));
                Some(("redis.conf", crate::redis::redis_conf(self.node_name(id), &c.config.redis, primary.as_deref())))
            }
            _ => None,
        }
    }

    pub fn node_state(&self, id: NodeId) -> NodeState {
        let node = &self.nodes[id as usize];
        let detail = match &node.component {
            Component::Client(c) => Detail::Client { outstanding: c.outstanding() },
            Component::LoadBalancer(lb) => {
                let name = &node.name;
                Detail::LoadBalancer {
                    connections: lb.connections(),
                    backlog: lb.backlog(),
                    backends: lb.backends(name),
                    servers: lb.server_views(name),
                }
            }
            Component::Server(s) => {
                Detail::Server { served: s.served(), refused: s.refused(), boots: s.disk.boots, calls: s.call_stats() }
            }
            Component::Database(d) => Detail::Database(d.view()),
            Component::Cache(c) => Detail::Cache(c.view()),
            Component::Sentinel(s) => Detail::Sentinel(s.view()),
            Component::RaftKv(r) => Detail::RaftKv(r.view()),
            Component::KafkaController(c) => Detail::KafkaController(c.view(node.rt.clock.monotonic(self.world.now))),
            Component::KafkaBroker(b) => {
                Detail::KafkaBroker(b.view(node.rt.clock.monotonic(self.world.now).max(0) as Time))
            }
            Component::KafkaProducer(p) => Detail::KafkaProducer(p.view()),
            Component::KafkaConsumer(c) => Detail::KafkaConsumer(c.view()),
        };
        NodeState {
            id,
            name: node.name.clone(),
            kind: node.component.kind(),
            status: node.rt.status,
            restarts: node.rt.restarts,
            busy: node.rt.load.busy,
            capacity: node.rt.load.capacity,
            queued: node.rt.load.queued,
            clock_error_ns: node.rt.clock.wall_error(self.world.now),
            slowdown: node.rt.slowdown,
            detail,
        }
    }

    /// Messages on the wire now (at most `limit`, earliest arrivals first).
    pub fn in_flight(&self, limit: usize) -> Vec<InFlight> {
        let mut v: Vec<InFlight> = self
            .world
            .queue
            .iter()
            .filter_map(|(at, e)| match *e {
                Event::Deliver { from, to, sent_at, msg } => {
                    Some(InFlight { from, to, sent_at, arrives: at, kind: msg.kind() })
                }
                _ => None,
            })
            .collect();
        checker::sort::sort_by_key(&mut v, |m| (m.arrives, m.sent_at, m.from, m.to));
        v.truncate(limit);
        v
    }

    pub fn report(&self) -> Report {
        let trace = &self.world.trace;
        Report {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            simulated: format_time(self.world.now),
            simulated_ns: self.world.now,
            events: self.events,
            trace_hash: self.trace_hash(),
            metrics: self.world.metrics.summary(self.world.now),
            intervals: self.world.metrics.series().len(),
            nodes: (0..self.nodes.len() as NodeId).map(|i| self.node_state(i)).collect(),
            trace: TraceReport { recorded: trace.total(), kept: trace.events().len(), discarded: trace.discarded() },
            history: HistoryReport { ops: self.world.history.ops().len(), discarded: self.world.history.discarded() },
            halted: self.world.halted.clone(),
            consistency: self.consistency.view().clone(),
        }
    }

    /// The consistency verdicts as of the last check (at least once per
    /// simulated second): linearizability key by key with the time of the
    /// first violation, and the Jepsen-style anomalies.
    pub fn consistency(&self) -> &ConsistencyView {
        self.consistency.view()
    }

    /// Checks the history up to now (for the end of a run).
    pub fn check_consistency(&mut self) -> &ConsistencyView {
        self.consistency.check(&self.world.history, self.world.now);
        self.consistency.check_logs(&self.world.log_history)
    }

    /// The Kafka clients' sends and polls.
    pub fn log_history(&self) -> &crate::history::LogHistory {
        &self.world.log_history
    }
}
