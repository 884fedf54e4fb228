//! What the view draws, taken from the engine once per frame: plain data,
//! so rendering never reaches into the simulation.

use crate::lab::Lab;
use crate::time_text::to_the_ms;
use engine::components::load_balancer::admin::AdminState;
use engine::components::Kind;
use engine::failure_detector::Liveness;
use engine::message::MsgKind;
use engine::node::Status;
use engine::sim::Detail;
use engine::time::NANOS_PER_SEC;

/// The canvas's coordinate space.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 400.0;
/// Moving messages drawn at most.
pub const MAX_DOTS: usize = 300;
/// Scenarios with more nodes than this are drawn compact.
pub const COMPACT_ABOVE: usize = 12;
/// Metrics intervals shown in the charts.
pub const CHART_INTERVALS: usize = 60;

#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub kind: Kind,
    pub x: f64,
    pub y: f64,
    /// `up`, `crashed`, `paused`, or `down` (running but marked DOWN by a
    /// load balancer's health checks).
    pub state: &'static str,
    /// One line of live state under the name.
    pub badge: String,
    /// Details for the side panel, as (label, value) rows.
    pub details: Vec<(String, String)>,
    /// Details with columns (a broker's partitions), after the rows.
    pub tables: Vec<DetailTable>,
    /// A load balancer's server lines as `set server` names them
    /// (`backend/server`), with what an operator set on each.
    pub lb_servers: Vec<(String, AdminState)>,
}

/// A table in the inspector: one row per item, one column per figure.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailTable {
    pub caption: String,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkView {
    pub a: String,
    pub b: String,
    pub ax: f64,
    pub ay: f64,
    pub bx: f64,
    pub by: f64,
    pub cut: bool,
    pub degraded: bool,
    /// Held (`hold_link`): the messages waiting at its ends.
    pub held: Option<usize>,
    /// Held and full (`limits.held_backlog`): what else arrives is dropped.
    pub held_full: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub kind: MsgKind,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// End of the interval.
    pub end_ns: u64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub error_pct: f64,
}

/// A fault of the run's schedule, for the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRow {
    /// Its index in the schedule.
    pub index: usize,
    pub at_ns: u64,
    pub at: String,
    pub text: String,
    /// Already taken effect at the current moment.
    pub applied: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub now: String,
    pub now_s: f64,
    pub now_ns: u64,
    /// How far the scrubber reaches: the furthest the run went, or the
    /// scenario's duration.
    pub end_ns: u64,
    /// Re-simulating towards this moment.
    pub seeking: Option<String>,
    /// The fault schedule, in time order.
    pub faults: Vec<FaultRow>,
    pub events: u64,
    pub trace_hash: String,
    pub playing: bool,
    pub speed: f64,
    pub achieved_speed: f64,
    pub behind: bool,
    /// The run reached the scenario's duration (and paused there).
    pub reached_end: bool,
    pub halted: Option<String>,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    pub dots: Vec<Dot>,
    pub points: Vec<Point>,
    /// The moments the charts span, first and last: [`CHART_INTERVALS`]
    /// metrics intervals from the first point's start.
    pub chart_window: [u64; 2],
    pub in_flight: usize,
    /// Many nodes: draw them small, without badges.
    pub compact: bool,
    /// The consistency checker's verdicts, in words.
    pub verdicts: crate::verdicts::Verdicts,
    /// The variant pinned for comparison.
    pub baseline: Option<BaselineView>,
    /// What the event log no longer shows (its bound), in words.
    pub log_not_kept: Option<String>,
}

/// Where a node is drawn: its scenario position, or a column by kind (one
/// rule, shared with the editor).
fn layout(lab: &Lab) -> Vec<(f64, f64)> {
    crate::editor::moving::positions(lab.sim.scenario()).into_iter().map(|[x, y]| (x, y)).collect()
}

pub fn take(lab: &Lab) -> Snapshot {
    let sim = &lab.sim;
    let pos = layout(lab);
    let states: Vec<_> = (0..sim.node_count() as u32).map(|i| sim.node_state(i)).collect();
    // What load balancers think of each server: its checks, and what an
    // operator set (HAProxy's stats say DRAIN and MAINT).
    let mut lb_view: Vec<Option<(bool, String)>> = vec![None; states.len()];
    for st in &states {
        if let Detail::LoadBalancer { servers, .. } = &st.detail {
            for s in servers.iter().filter(|s| s.checked || s.admin != AdminState::Ready) {
                let entry = &mut lb_view[s.node as usize];
                // Several balancers: DOWN if any sees it DOWN.
                if entry.as_ref().is_none_or(|(up, _)| *up) {
                    let health = match (s.admin, s.admin.stats_word(), s.checked) {
                        (_, None, _) => s.health.clone(),
                        (AdminState::Drain, Some(word), true) => format!("{} · {word}", s.health),
                        (_, Some(word), _) => word.to_string(),
                    };
                    *entry = Some((s.up, health));
                }
            }
        }
    }
    let nodes = states
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let (x, y) = pos[i];
            let lb_sees = lb_view[i].clone();
            let state = match st.status {
                Status::Crashed { .. } => "crashed",
                Status::Paused => "paused",
                Status::Up if lb_sees.as_ref().is_some_and(|(up, _)| !up) => "down",
                Status::Up => "up",
            };
            let mut tables = Vec::new();
            let mut lb_servers = Vec::new();
            let mut details = vec![
                ("kind".to_string(), st.kind.name().replace('_', " ")),
                (
                    "process".to_string(),
                    match st.status {
                        Status::Up => "running".to_string(),
                        Status::Paused => "paused".to_string(),
                        Status::Crashed { host_down: false } => "crashed (host up: connections refused)".to_string(),
                        Status::Crashed { host_down: true } => "crashed (host down)".to_string(),
                    },
                ),
                ("restarts".to_string(), st.restarts.to_string()),
            ];
            if st.clock_error_ns != 0 {
                details.push(("clock error".to_string(), format!("{:+.3} ms", st.clock_error_ns as f64 / 1e6)));
            }
            if st.slowdown != 1.0 {
                details.push(("slowdown".to_string(), format!("x{}", st.slowdown)));
            }
            let badge = match &st.detail {
                Detail::Client { outstanding } => {
                    details.push(("requests in flight".to_string(), outstanding.to_string()));
                    format!("{outstanding} in flight")
                }
                Detail::Server { served, refused, boots, calls } => {
                    if calls.cache_hits + calls.cache_misses > 0 {
                        details.push((
                            "its cache lookups".to_string(),
                            format!("{} hits, {} misses", calls.cache_hits, calls.cache_misses),
                        ));
                    }
                    if calls.unflushed > 0 {
                        details.push(("writes not yet in the database".to_string(), calls.unflushed.to_string()));
                    }
                    details.push(("workers busy".to_string(), format!("{} of {}", st.busy, st.capacity)));
                    details.push(("queued".to_string(), st.queued.to_string()));
                    details.push(("served since start".to_string(), served.to_string()));
                    details.push(("refused (queue full)".to_string(), refused.to_string()));
                    details.push(("boots (on disk)".to_string(), boots.to_string()));
                    if let Some((_, health)) = &lb_sees {
                        details.push(("health check".to_string(), health.clone()));
                    }
                    match (&lb_sees, st.status) {
                        (_, Status::Crashed { .. }) => "crashed".to_string(),
                        (Some((_, health)), _) => format!("{health} · {}/{} busy", st.busy, st.capacity),
                        (None, _) => format!("{}/{} busy · {} queued", st.busy, st.capacity, st.queued),
                    }
                }
                Detail::Cache(c) => {
                    let lookups = c.hits + c.misses;
                    let ratio = if lookups == 0 { 0.0 } else { c.hits as f64 * 100.0 / lookups as f64 };
                    details.push(("keys".to_string(), c.keys.to_string()));
                    let limit = if c.maxmemory == 0 { "no limit".to_string() } else { format!("{} B", c.maxmemory) };
                    details.push(("used memory".to_string(), format!("{} B of {limit}", c.used_memory)));
                    details.push(("maxmemory-policy".to_string(), c.policy.clone()));
                    details
                        .push(("hit ratio".to_string(), format!("{ratio:.1}% ({} hits, {} misses)", c.hits, c.misses)));
                    details.push(("evicted keys".to_string(), c.evicted_keys.to_string()));
                    details.push(("expired keys".to_string(), c.expired_keys.to_string()));
                    match (&c.rdb, c.save.trim().is_empty()) {
                        (Some((keys, age)), _) => {
                            details.push(("RDB file".to_string(), format!("{keys} keys, saved {age} s ago")))
                        }
                        (None, false) => {
                            details.push(("RDB file".to_string(), format!("none yet (save \"{}\")", c.save)))
                        }
                        (None, true) => {}
                    }
                    if let Some(a) = &c.aof {
                        let synced = match a.unsynced_ms {
                            None => format!("everything on disk ({} keys)", a.keys_on_disk),
                            Some(ms) => {
                                format!("{} keys on disk; changes of the last {ms} ms only in memory", a.keys_on_disk)
                            }
                        };
                        details.push((
                            "append-only file".to_string(),
                            format!("appendfsync {} · {synced}", a.appendfsync),
                        ));
                    }
                    if c.refused > 0 {
                        details.push(("refused (too many waiting)".to_string(), c.refused.to_string()));
                    }
                    use engine::components::cache::CacheRole;
                    let replicating = !c.replicas.is_empty() || matches!(c.role, CacheRole::Replica { .. });
                    if replicating || c.master_repl_offset > 0 {
                        let role = match c.role {
                            CacheRole::Primary => "primary".to_string(),
                            CacheRole::Replica { of } => format!("replica of {} (link {})", sim.node_name(of), c.link),
                        };
                        details.push(("role".to_string(), role));
                        details.push(("master_repl_offset".to_string(), c.master_repl_offset.to_string()));
                        details.push(("replication backlog".to_string(), format!("{} B", c.backlog_bytes)));
                        if c.link_down_ms > 0 {
                            details.push(("link down for".to_string(), format!("{} ms", c.link_down_ms)));
                        }
                        for r in &c.replicas {
                            details.push((
                                format!("replica {}", sim.node_name(r.node)),
                                format!(
                                    "{} · offset {} (lag {} B) · last ACK {} s ago",
                                    r.state,
                                    r.ack_offset,
                                    c.master_repl_offset.saturating_sub(r.ack_offset),
                                    r.lag_s
                                ),
                            ));
                        }
                        details.push((
                            "syncs".to_string(),
                            format!(
                                "{} full, {} partial ({} refused)",
                                c.sync.sync_full, c.sync.sync_partial_ok, c.sync.sync_partial_err
                            ),
                        ));
                        if c.blocked_in_wait > 0 {
                            details.push(("clients in WAIT".to_string(), c.blocked_in_wait.to_string()));
                        }
                        replication_badge(c)
                    } else {
                        format!("{} keys · hits {ratio:.0}%", c.keys)
                    }
                }
                d @ (Detail::KafkaController(_)
                | Detail::KafkaBroker(_)
                | Detail::KafkaProducer(_)
                | Detail::KafkaConsumer(_)) => {
                    crate::kafka_details::describe(i as u32, d, sim, &mut details, &mut tables).expect("a Kafka node")
                }
                Detail::RaftKv(v) => {
                    let name = |n: Option<u32>| n.map_or_else(|| "none".to_string(), |n| sim.node_name(n).to_string());
                    details.push(("role".to_string(), v.role.to_string()));
                    if let Some(why) = raft_why(sim, i as u32, v.cause, v.term) {
                        details.push(("why".to_string(), why));
                    }
                    details.push(("term".to_string(), v.term.to_string()));
                    let (elapsed, timeout) = v.timer;
                    match (v.role, v.heard_from) {
                        ("down", _) => {}
                        ("leader", Some((heard, others))) => details.push((
                            "CheckQuorum".to_string(),
                            format!("heard from {heard} of the other {others} in {elapsed} of {timeout} ticks"),
                        )),
                        ("leader", None) => {}
                        _ => details.push(("election timer".to_string(), format!("{elapsed} of {timeout} ticks"))),
                    }
                    details.push(("leader".to_string(), name(v.leader)));
                    details.push(("voted for".to_string(), name(v.vote)));
                    details.push((
                        "log".to_string(),
                        format!("{} entries · commit {} · applied {}", v.last_index, v.commit, v.applied),
                    ));
                    if v.snapshot > 0 {
                        details.push((
                            "snapshot".to_string(),
                            format!("up to {} · log kept from {}", v.snapshot, v.first_index),
                        ));
                    }
                    details.push(("keys".to_string(), v.keys.to_string()));
                    details.push((
                        "waiting requests".to_string(),
                        format!("{} writes, {} reads", v.pending_writes, v.pending_reads),
                    ));
                    format!("{} · term {} · commit {}", v.role, v.term, v.commit)
                }
                Detail::Sentinel(v) => {
                    details.push(("monitors primary".to_string(), sim.node_name(v.primary).to_string()));
                    details.push((
                        "epochs".to_string(),
                        format!("config {} · current {}", v.config_epoch, v.current_epoch),
                    ));
                    let down: Vec<&str> = v.sdown.iter().map(|&n| sim.node_name(n)).collect();
                    details.push((
                        "subjectively down".to_string(),
                        if down.is_empty() { "none".into() } else { down.join(", ") },
                    ));
                    details.push(("objectively down".to_string(), if v.odown { "yes".into() } else { "no".into() }));
                    details.push(("quorum".to_string(), format!("{} of {} sentinels", v.quorum, v.sentinels)));
                    details.push(("failover".to_string(), v.failover.to_string()));
                    // Its failure detector on each instance, as of its last
                    // check (once a second): the state in words, and how
                    // long the instance had gone without a valid reply.
                    for m in &v.instances {
                        let role = if m.node == v.primary { " (primary)" } else { "" };
                        details.push((
                            format!("liveness of {}{role}", sim.node_name(m.node)),
                            format!("{} · silent {} ms", m.liveness.name(), m.silence_ms),
                        ));
                    }
                    let primary = v.instances.iter().find(|m| m.node == v.primary).map(|m| m.liveness);
                    let verdict = match primary {
                        _ if v.odown => "ODOWN",
                        Some(Liveness::Down) => "SDOWN",
                        Some(Liveness::Suspected) => "suspected",
                        _ => "ok",
                    };
                    format!("primary {} · {verdict}", sim.node_name(v.primary))
                }
                Detail::Database(d) => {
                    let role = match d.role {
                        engine::components::database::Role::Primary => "primary".to_string(),
                        engine::components::database::Role::Replica { of } => {
                            format!("replica of {}", sim.node_name(of))
                        }
                    };
                    details.push(("role".to_string(), role.clone()));
                    details.push(("epoch".to_string(), d.epoch.to_string()));
                    details.push(("writes applied (lsn)".to_string(), d.lsn.to_string()));
                    details.push(("keys".to_string(), d.keys.to_string()));
                    // A replica's lag, shown at 0 too: "caught up" is an
                    // answer a learner looks for.
                    if matches!(d.role, engine::components::database::Role::Replica { .. }) {
                        let lag =
                            if d.lag == 0 { "0 writes: caught up".to_string() } else { format!("{} writes", d.lag) };
                        details.push(("replication lag".to_string(), lag));
                    }
                    if d.waiting_writes > 0 {
                        details.push(("writes waiting for replicas".to_string(), d.waiting_writes.to_string()));
                    }
                    if d.semi_sync_off {
                        details.push((
                            "semi-sync".to_string(),
                            "OFF since a wait timed out: writes are acknowledged at once until a replica catches up"
                                .to_string(),
                        ));
                    }
                    // A replica with failover: its failure detector on the
                    // primary's heartbeats.
                    if let (Some(l), engine::components::database::Role::Replica { of }) = (d.primary_liveness, d.role)
                    {
                        details.push((format!("liveness of {} (primary)", sim.node_name(of)), l.name().to_string()));
                    }
                    match d.role {
                        engine::components::database::Role::Primary => {
                            format!("primary · epoch {} · lsn {}", d.epoch, d.lsn)
                        }
                        _ => match d.primary_liveness {
                            Some(l @ (Liveness::Suspected | Liveness::Down)) => {
                                format!("replica · lag {} · primary {}", d.lag, l.name())
                            }
                            _ => format!("replica · lag {}", d.lag),
                        },
                    }
                }
                Detail::LoadBalancer { connections, backlog, backends, servers } => {
                    details.push(("connections".to_string(), format!("{connections} (maxconn {})", st.capacity)));
                    details.push(("backlog".to_string(), backlog.to_string()));
                    details.push(("queued for a server".to_string(), st.queued.to_string()));
                    // HAProxy's stats call them cli_abrt.
                    let aborted: u64 = backends.iter().map(|b| b.aborted).sum();
                    if aborted > 0 {
                        details.push(("dropped, client gone".to_string(), format!("{aborted} (abortonclose)")));
                    }
                    // With layer-7 routing, each backend and its servers.
                    let routed = backends.len() > 1;
                    if routed {
                        for b in backends {
                            details.push((
                                format!("backend {}", b.name),
                                format!("{} requests · {} queued", b.requests, b.queued),
                            ));
                        }
                    }
                    for s in servers {
                        lb_servers.push((format!("{}/{}", s.backend, s.name), s.admin));
                        let label = if routed {
                            format!("server {}/{}", s.backend, s.name)
                        } else {
                            format!("server {}", s.name)
                        };
                        let conns = if s.limit != s.maxconn {
                            // minconn: the limit the backend's load gives now.
                            format!("{}/{} conns (minconn, maxconn {})", s.served, s.limit, s.maxconn)
                        } else if s.maxconn > 0 {
                            format!("{}/{} conns", s.served, s.maxconn)
                        } else {
                            format!("{} conns", s.served)
                        };
                        let warming = s.throttle.map(|t| format!(" · slowstart {t}%")).unwrap_or_default();
                        let admin = s.admin.stats_word().map(|w| format!(" · {w}")).unwrap_or_default();
                        let errors = s.errors.map(|(n, limit)| format!(" · {n}/{limit} errors")).unwrap_or_default();
                        // HAProxy's stats page calls it LastChk.
                        let last = s.last_check.as_ref().map(|c| format!(" · last check {c}")).unwrap_or_default();
                        details.push((
                            label,
                            format!(
                                "{}{admin}{last}{warming}{errors} · weight {} · {conns} · {} requests",
                                s.health, s.weight, s.requests
                            ),
                        ));
                    }
                    let up = servers.iter().filter(|s| s.up).count();
                    format!("{up}/{} UP · {connections} conns", servers.len())
                }
            };
            NodeView { name: st.name.clone(), kind: st.kind, x, y, state, badge, details, tables, lb_servers }
        })
        .collect();
    let net = sim.network();
    let held = sim.held_links();
    let held_backlog = sim.scenario().limits.held_backlog;
    let mut links = Vec::new();
    for l in net.links().iter().filter(|l| l.from < l.to) {
        let (a, b) = (l.from as usize, l.to as usize);
        let waiting = held.waiting(l.from, l.to);
        links.push(LinkView {
            a: sim.node_name(l.from).to_string(),
            b: sim.node_name(l.to).to_string(),
            ax: pos[a].0,
            ay: pos[a].1,
            bx: pos[b].0,
            by: pos[b].1,
            cut: net.is_blocked(l.from, l.to) || net.is_blocked(l.to, l.from),
            degraded: l.degraded.is_some(),
            held: waiting,
            held_full: waiting.is_some_and(|n| n >= held_backlog),
        });
    }
    let now = sim.now();
    let flying = sim.in_flight(usize::MAX);
    let dots = flying
        .iter()
        .take(MAX_DOTS)
        .map(|m| {
            let span = (m.arrives - m.sent_at).max(1) as f64;
            let f = ((now.saturating_sub(m.sent_at)) as f64 / span).clamp(0.0, 1.0);
            let (a, b) = (pos[m.from as usize], pos[m.to as usize]);
            Dot { x: a.0 + (b.0 - a.0) * f, y: a.1 + (b.1 - a.1) * f, kind: m.kind }
        })
        .collect();
    let points = points(sim);
    Snapshot {
        now: to_the_ms(now),
        now_s: now as f64 / NANOS_PER_SEC as f64,
        now_ns: now,
        end_ns: lab.furthest.max(sim.scenario().duration.nanos).max(now),
        seeking: lab.seeking.map(to_the_ms),
        faults: fault_rows(sim),
        events: sim.events(),
        trace_hash: sim.trace_hash(),
        playing: lab.playing,
        speed: lab.speed,
        achieved_speed: lab.achieved_speed,
        behind: lab.behind,
        reached_end: lab.reached_end && !lab.playing,
        halted: sim.halted().map(str::to_string),
        nodes,
        links,
        dots,
        points,
        chart_window: chart_window(sim),
        in_flight: flying.len(),
        compact: sim.node_count() > COMPACT_ABOVE,
        verdicts: crate::verdicts::Verdicts {
            violations: crate::verdicts::violations(sim, lab.consistency(), lab.final_reads()),
            ..crate::verdicts::describe(lab.consistency())
        },
        baseline: None,
        log_not_kept: lab.log.not_kept(),
    }
}

/// The charts' points: the last [`CHART_INTERVALS`] metrics intervals.
fn points(sim: &engine::Simulation) -> Vec<Point> {
    let series = sim.metrics().series();
    let skip = series.len().saturating_sub(CHART_INTERVALS);
    series
        .iter()
        .skip(skip)
        .map(|r| Point {
            end_ns: r.end,
            throughput: r.throughput,
            p50_ms: r.latency.p50_ms,
            p99_ms: r.latency.p99_ms,
            error_pct: (r.error_rate + r.timeout_rate) * 100.0,
        })
        .collect()
}

/// The charts' time axis: [`CHART_INTERVALS`] intervals from where the
/// points begin (so a run's first minute fills it from the left), or up to
/// the last point if intervals were longer.
fn chart_window(sim: &engine::Simulation) -> [u64; 2] {
    let series = sim.metrics().series();
    let from = series.get(series.len().saturating_sub(CHART_INTERVALS)).map_or(0, |r| r.start);
    let to = from + CHART_INTERVALS as u64 * sim.metrics().interval();
    [from, to.max(series.back().map_or(0, |r| r.end))]
}

/// The pinned variant of a comparison, as the compare panel and the
/// charts show it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BaselineView {
    pub name: String,
    pub now: String,
    /// Not yet at the lab's moment (it catches up frame by frame).
    pub behind: bool,
    pub points: Vec<Point>,
    pub verdict: Option<String>,
    pub events: u64,
    pub trace_hash: String,
    /// Why it could not follow the lab's faults, if it could not.
    pub problem: Option<String>,
}

pub fn baseline(b: &Lab, name: &str, at: u64, problem: Option<&str>) -> BaselineView {
    let sim = &b.sim;
    BaselineView {
        name: name.to_string(),
        now: to_the_ms(sim.now()),
        behind: sim.now() != at,
        points: points(sim),
        verdict: crate::verdicts::describe(b.consistency()).headline,
        events: sim.events(),
        trace_hash: sim.trace_hash(),
        problem: problem.map(str::to_string),
    }
}

fn fault_rows(sim: &engine::Simulation) -> Vec<FaultRow> {
    let mut rows: Vec<FaultRow> = sim
        .fault_schedule()
        .enumerate()
        .map(|(i, f)| FaultRow {
            index: i,
            at_ns: f.at.nanos,
            at: crate::time_text::exact(f.at.nanos),
            text: f.fault.to_string(),
            applied: f.at.nanos < sim.earliest_fault_time(),
        })
        .collect();
    checker::sort::sort_by_key(&mut rows, |r| (r.at_ns, r.index));
    rows
}

/// A replicating cache's badge: its role, offset and keys.
/// The `why` row of a Raft member (a `raft_kv` node or a Kafka
/// controller): the cause of its role as the event log said it, and when.
pub fn raft_why(
    sim: &engine::Simulation,
    node: u32,
    cause: Option<(engine::raft::RoleCause<u32>, engine::Time)>,
    term: u64,
) -> Option<String> {
    let (cause, since) = cause?;
    Some(format!("{} (at {})", sim.raft_cause(node, cause, term)?, to_the_ms(since)))
}

fn replication_badge(c: &engine::components::cache::CacheView) -> String {
    match c.role {
        engine::components::cache::CacheRole::Primary => {
            format!("primary · {} keys · {} replicas", c.keys, c.replicas.len())
        }
        engine::components::cache::CacheRole::Replica { .. } => {
            format!("replica · {} keys · link {}", c.keys, c.link)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use engine::Scenario;

    #[test]
    fn every_example_can_be_drawn_at_every_second_of_its_run() {
        // What the page does each frame, over each built-in run: a view that
        // a crash or a failover leaves inconsistent must not panic the page.
        for (id, scenario) in examples::parsed() {
            let mut lab = Lab::new(id, scenario).unwrap();
            let end = scenario.duration.nanos;
            let mut t = 0;
            while t < end {
                t = (t + NANOS_PER_SEC).min(end);
                lab.seek(t);
                lab.finish_seek();
                let snap = take(&lab);
                assert_eq!(snap.nodes.len(), scenario.nodes.len(), "{id} at {t}");
            }
            // Every kind of node drawn while crashed, and after its restart.
            lab.playing = true;
            for n in &scenario.nodes {
                lab.toggle_crash(&n.name).unwrap();
            }
            take(&lab);
            lab.advance(100.0, || true);
            take(&lab);
            for n in &scenario.nodes {
                lab.toggle_crash(&n.name).unwrap();
            }
            lab.advance(100.0, || true);
            assert!(lab.sim.now() > end, "{id} ran on");
            take(&lab);
        }
    }

    #[test]
    fn shows_nodes_links_messages_and_metrics() {
        let ex = examples::find(examples::DEFAULT).unwrap();
        let mut lab = Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap();
        // 0.5 s per frame: 20 s here and 20 s after the crash, well within
        // the scenario's 60 s.
        lab.speed = 5.0;
        for _ in 0..40 {
            lab.advance(100.0, || true);
        }
        let s = take(&lab);
        assert_eq!(s.nodes.len(), 5);
        assert_eq!(s.links.len(), 4);
        assert!(s.in_flight > 0 && !s.dots.is_empty());
        assert!(s.points.len() >= 3);
        let last = s.points.last().unwrap();
        assert!(last.throughput > 250.0 && last.throughput < 350.0, "{last:?}");
        let lb = s.nodes.iter().find(|n| n.name == "lb").unwrap();
        assert_eq!(lb.badge.split(" · ").next(), Some("3/3 UP"));
        lab.toggle_crash("web2").unwrap();
        for _ in 0..40 {
            lab.advance(100.0, || true);
        }
        let s = take(&lab);
        let web2 = s.nodes.iter().find(|n| n.name == "web2").unwrap();
        assert_eq!(web2.state, "crashed");
        let lb = s.nodes.iter().find(|n| n.name == "lb").unwrap();
        assert_eq!(lb.badge.split(" · ").next(), Some("2/3 UP"));
    }

    #[test]
    fn a_held_link_shows_what_waits_at_it_until_released() {
        let ex = examples::find(examples::DEFAULT).unwrap();
        let mut lab = Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap();
        lab.playing = true;
        lab.advance(100.0, || true);
        let between = || ["lb".to_string(), "web2".to_string()];
        let link = |s: &Snapshot| s.links.iter().find(|l| l.a == "lb" && l.b == "web2").unwrap().held;
        assert_eq!(link(&take(&lab)), None);
        lab.inject(engine::fault::Fault::HoldLink { between: between() }).unwrap();
        for _ in 0..5 {
            lab.advance(100.0, || true);
        }
        let waiting = link(&take(&lab)).expect("held");
        assert!(waiting >= 20, "{waiting}");
        assert!(!take(&lab).links.iter().any(|l| l.held_full), "far from limits.held_backlog");
        lab.inject(engine::fault::Fault::ReleaseLink { between: between() }).unwrap();
        assert_eq!(link(&take(&lab)), None);
    }

    #[test]
    fn a_held_link_at_its_bound_says_it_is_full_and_the_log_counts_what_it_drops() {
        let between = ["lb".to_string(), "web2".to_string()];
        let lab = default_lab_after(|l| l.held_backlog = 5, engine::fault::Fault::HoldLink { between });
        let s = take(&lab);
        let link = s.links.iter().find(|l| l.a == "lb" && l.b == "web2").unwrap();
        assert_eq!((link.held, link.held_full), (Some(5), true));
        // Every drop at the bound on one line per direction, counted.
        let full: Vec<_> = lab.log.lines().filter(|l| l.text.starts_with("the held link")).collect();
        assert_eq!(
            full.iter().map(|l| l.text.as_str()).next(),
            Some("the held link lb - web2 is full (limits.held_backlog: 5): a message to web2 dropped"),
            "{full:?}"
        );
        assert!(full.iter().all(|l| l.class == "bad"), "{full:?}");
        let counted: u32 = full.iter().map(|l| l.repeat).sum();
        let dropped = lab
            .sim
            .trace()
            .events()
            .iter()
            .filter(|e| {
                matches!(e.what, engine::trace::What::Drop { reason: engine::network::DropReason::HoldFull, .. })
            })
            .count();
        assert!(dropped > 10 && counted as usize == dropped, "{counted} counted, {dropped} dropped");
    }

    #[test]
    fn the_log_counts_what_a_paused_node_drops_past_its_receive_buffer() {
        let lab = default_lab_after(|l| l.paused_backlog = 3, engine::fault::Fault::Pause { node: "web2".to_string() });
        let full: Vec<_> = lab.log.lines().filter(|l| l.text.contains("receive buffer")).collect();
        assert_eq!(full.len(), 1, "{full:?}");
        assert_eq!(
            full[0].text,
            "web2 is paused and its receive buffer is full (limits.paused_backlog: 3): a message dropped"
        );
        assert_eq!((full[0].class, full[0].node.as_deref()), ("bad", Some("web2")));
        assert!(full[0].repeat > 5, "{:?}", full[0]);
    }

    #[test]
    fn a_raft_member_shows_its_snapshot_and_where_its_log_now_starts() {
        let mut lab = lab_of("raft-kv-five");
        let row = |lab: &Lab| {
            let s = take(lab);
            let kv2 = s.nodes.iter().find(|n| n.name == "kv2").unwrap();
            kv2.details.iter().find(|(k, _)| k == "snapshot").map(|(_, v)| v.clone())
        };
        lab.sim.run_until(12 * NANOS_PER_SEC);
        assert_eq!(row(&lab), None, "fewer than snapshot_count (10,000) entries applied");
        lab.sim.run_until(14 * NANOS_PER_SEC);
        assert_eq!(row(&lab).as_deref(), Some("up to 10001 · log kept from 5002"));
    }

    #[test]
    fn the_charts_span_a_minute_from_the_start_then_slide_with_the_run() {
        let mut sim = lab_of(examples::DEFAULT).sim;
        let s = NANOS_PER_SEC;
        assert_eq!(sim.metrics().interval(), s, "the example's metrics interval");
        sim.run_until(20 * s + 1);
        assert_eq!(chart_window(&sim), [0, 60 * s]);
        assert_eq!(points(&sim).last().map(|p| p.end_ns), Some(20 * s));
        // Past the 60 intervals the charts keep, the window follows.
        sim.run_until(75 * s + 1);
        assert_eq!(chart_window(&sim), [15 * s, 75 * s]);
        assert_eq!(points(&sim).first().map(|p| p.end_ns), Some(16 * s));
    }

    /// The default example with `limits` changed, played 0.1 s, then
    /// `fault`, then 0.5 s more.
    fn default_lab_after(limits: impl FnOnce(&mut engine::scenario::Limits), fault: engine::fault::Fault) -> Lab {
        let ex = examples::find(examples::DEFAULT).unwrap();
        let mut scenario = Scenario::from_json(ex.json).unwrap();
        limits(&mut scenario.limits);
        let mut lab = Lab::new(ex.id, &scenario).unwrap();
        lab.playing = true;
        lab.advance(100.0, || true);
        lab.inject(fault).unwrap();
        for _ in 0..5 {
            lab.advance(100.0, || true);
        }
        lab
    }

    fn lab_of(id: &str) -> Lab {
        let ex = examples::find(id).unwrap();
        Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap()
    }

    /// A node's badge and its detail row labelled `label`.
    fn row(lab: &Lab, node: &str, label: &str) -> (String, Option<String>) {
        let s = take(lab);
        let n = s.nodes.iter().find(|n| n.name == node).unwrap();
        (n.badge.clone(), n.details.iter().find(|(k, _)| k == label).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_server_with_minconn_shows_the_limit_the_backends_load_gives_it() {
        // Two servers at maxconn 4, minconn 1, fullconn 8, each request
        // held for 10 s: one request in the backend gives each server a
        // limit of 1; eight give 4.
        let s = Scenario::from_json(
            r#"{ "version": 1, "seed": 1, "nodes": [
                { "name": "c", "type": "client", "target": "lb", "timeout": "60s",
                  "workload": { "kind": "open_loop", "rate": 10, "arrival": "constant" } },
                { "name": "lb", "type": "load_balancer", "balance": "leastconn", "fullconn": 8,
                  "timeout_server": "60s", "timeout_queue": "60s",
                  "default_server": { "maxconn": 4, "minconn": 1 }, "servers": [ { "name": "s1" }, { "name": "s2" } ] },
                { "name": "s1", "type": "server", "service_time": { "constant": "10s" } },
                { "name": "s2", "type": "server", "service_time": { "constant": "10s" } } ],
              "links": [ { "between": ["c", "lb"] }, { "between": ["lb", "s1"] }, { "between": ["lb", "s2"] } ] }"#,
        )
        .unwrap();
        let mut lab = Lab::new("minconn", &s).unwrap();
        lab.sim.run_through(50_000_000);
        let conns = |lab: &Lab| row(lab, "lb", "server s1").1.unwrap();
        assert!(conns(&lab).contains(" · 1/1 conns (minconn, maxconn 4) · "), "{}", conns(&lab));
        lab.sim.run_through(850_000_000);
        assert!(conns(&lab).contains(" · 4/4 conns · "), "{}", conns(&lab));
    }

    #[test]
    fn kafka_controllers_show_why_they_have_their_raft_role() {
        let mut lab = lab_of("kafka-three-brokers");
        lab.sim.run_through(5_000_000_000);
        let s = take(&lab);
        let active = s
            .nodes
            .iter()
            .find(|n| n.details.iter().any(|(k, v)| k == "active controller" && v == "yes"))
            .expect("an active controller");
        let why = active.details.iter().find(|(k, _)| k == "why").map(|(_, v)| v.as_str()).unwrap_or("");
        assert!(why.starts_with("votes from 2 of 3 (at "), "{}: {why}", active.name);
        let follower = s.nodes.iter().find(|n| n.details.iter().any(|(k, v)| k == "active controller" && v == "no"));
        let why = follower.and_then(|n| n.details.iter().find(|(k, _)| k == "why")).map(|(_, v)| v.as_str());
        assert!(why.is_some_and(|w| w.starts_with("a MsgVote from ") || w.starts_with("a MsgApp")), "{why:?}");
    }

    #[test]
    fn raft_members_show_why_they_have_their_role_and_their_timers() {
        // raft-kv-partial-partition: kv1 leads term 1 from 1.130 s; the
        // link kv1-kv3 is cut from 4 s to 14 s, and the heal deposes kv1.
        let mut lab = lab_of("raft-kv-partial-partition");
        lab.sim.run_through(3_000_000_000);
        assert_eq!(row(&lab, "kv1", "why").1.as_deref(), Some("votes from 3 of 5 (at 1.13s)"));
        let heard = row(&lab, "kv1", "CheckQuorum").1.unwrap();
        assert!(heard.starts_with("heard from 4 of the other 4 in "), "{heard}");
        assert_eq!(row(&lab, "kv1", "election timer").1, None, "a leader has no election timer");
        let timer = row(&lab, "kv2", "election timer").1.unwrap();
        let (elapsed, timeout) = timer.trim_end_matches(" ticks").split_once(" of ").unwrap();
        let (elapsed, timeout): (u32, u32) = (elapsed.parse().unwrap(), timeout.parse().unwrap());
        assert!(elapsed <= 1 && (10..=19).contains(&timeout), "{timer}: heartbeats restart it every tick");
        // Cut off from the leader (its last heartbeat came at 3.936 s),
        // kv3's timer runs on to the 17 ticks after which it campaigns, at
        // 5.537 s.
        lab.sim.run_through(4_900_000_000);
        let timer = row(&lab, "kv3", "election timer").1.unwrap();
        assert!(["9 of 17 ticks", "10 of 17 ticks"].contains(&timer.as_str()), "{timer}");
        lab.sim.run_through(15_000_000_000);
        assert_eq!(
            row(&lab, "kv1", "why").1.as_deref(),
            Some("a MsgVote from kv3 carried term 8 (at 14.042s)"),
            "the event log's cause, in the inspector"
        );
        assert_eq!(row(&lab, "kv1", "CheckQuorum").1, None, "a follower counts nobody");
    }

    #[test]
    fn sentinels_show_what_their_failure_detectors_make_of_each_instance() {
        // c1 is cut off at 10 s; it last answered the PING of 9 s, 4 ms
        // later. Down after 5 s: suspected past 2.5 s of silence.
        let mut lab = lab_of("redis-sentinel-failover");
        let at = |lab: &mut Lab, ms: u64| lab.sim.run_through(ms * 1_000_000);
        at(&mut lab, 9_500);
        assert_eq!(
            row(&lab, "s1", "liveness of c1 (primary)"),
            ("primary c1 · ok".to_string(), Some("alive · silent 996 ms".to_string()))
        );
        assert_eq!(row(&lab, "s1", "liveness of c3").1.as_deref(), Some("alive · silent 996 ms"));
        at(&mut lab, 12_000);
        assert_eq!(
            row(&lab, "s2", "liveness of c1 (primary)"),
            ("primary c1 · suspected".to_string(), Some("suspected · silent 2996 ms".to_string()))
        );
        at(&mut lab, 15_000);
        assert_eq!(
            row(&lab, "s3", "liveness of c1 (primary)"),
            ("primary c1 · SDOWN".to_string(), Some("down · silent 5996 ms".to_string()))
        );
        assert_eq!(row(&lab, "s3", "subjectively down").1.as_deref(), Some("c1"));
        at(&mut lab, 16_000);
        assert_eq!(row(&lab, "s3", "liveness of c1 (primary)").0, "primary c1 · ODOWN");
        // A crashed sentinel watches nothing.
        lab.toggle_crash("s1").unwrap();
        assert_eq!(row(&lab, "s1", "liveness of c1 (primary)").1, None);
    }

    #[test]
    fn database_replicas_show_what_their_failure_detector_makes_of_the_primary() {
        // db1 is cut off at 5 s (heartbeats every 200 ms, suspected after
        // 400 ms without one, down after 1 s: the standby db2 promotes).
        let mut lab = lab_of("db-async-failover");
        let at = |lab: &mut Lab, ms: u64| lab.sim.run_through(ms * 1_000_000);
        at(&mut lab, 4_900);
        assert_eq!(
            row(&lab, "db2", "liveness of db1 (primary)"),
            ("replica · lag 0".to_string(), Some("alive".into()))
        );
        assert_eq!(row(&lab, "db2", "replication lag").1.as_deref(), Some("0 writes: caught up"));
        assert_eq!(row(&lab, "db1", "replication lag").1, None, "a primary has no lag");
        at(&mut lab, 5_700);
        let (badge, liveness) = row(&lab, "db3", "liveness of db1 (primary)");
        assert_eq!(liveness.as_deref(), Some("suspected"));
        assert!(badge.ends_with(" · primary suspected"), "{badge}");
        at(&mut lab, 8_000);
        // db2 is the primary now: no detector to show.
        let (badge, liveness) = row(&lab, "db2", "liveness of db1 (primary)");
        assert!(badge.starts_with("primary · epoch 2"), "{badge}");
        assert_eq!(liveness, None);
    }
}
