//! A Redis Sentinel (`sentinel.c`, Redis 7.0) monitoring one primary and
//! its replicas, reduced to the failure detector and the failover:
//!
//! - Once a second it PINGs every instance of the group and reads its
//!   `INFO replication` (one message here; Sentinel sends INFO every 10 s,
//!   every second during a failover). An instance with no valid reply for
//!   `down_after` (`down-after-milliseconds`) is subjectively down
//!   (`+sdown`). Each instance is watched by a
//!   [`failure_detector::Detector`](crate::failure_detector::Detector):
//!   down is Sentinel's SDOWN, and *suspected* comes before it (past half
//!   of `down_after`, see `suspect_after_ms`); the view shows both.
//! - While the primary is subjectively down it asks the other sentinels
//!   (`SENTINEL is-master-down-by-addr`) every second; when `quorum`
//!   sentinels, itself included, see it down, it is objectively down
//!   (`+odown`).
//! - Then a sentinel starts a failover in a new epoch and asks for votes;
//!   each sentinel votes once per epoch, for the first candidate that asks.
//!   With votes from a majority of the sentinels (and at least `quorum`),
//!   it is the leader; otherwise it gives up after the election timeout
//!   (10 s, or `failover_timeout` if shorter) and may retry after twice
//!   `failover_timeout`, as Sentinel does.
//! - The leader picks the replica to promote: not down, priority not 0,
//!   link to the primary down no longer than ten times `down_after` plus
//!   the time the primary has been down; then the lowest
//!   `replica-priority`, the highest replication offset, the lowest node
//!   id (Sentinel compares run ids). It sends `REPLICAOF NO ONE`, waits for
//!   the replica to report itself primary (up to `failover_timeout`), then
//!   announces the new configuration (`+switch-master`) to the other
//!   sentinels and the clients, and points the other instances, the old
//!   primary included, at the new primary.
//! - Any instance that reports the wrong role later (an old primary back
//!   from a crash or a partition) is told `REPLICAOF` the primary
//!   (`+convert-to-slave`), at most every 10 s per instance.
//!
//! Sentinels exchange their configuration (hello messages) every 2 s, so
//! one that missed the switch learns it. The primary, the epochs and the
//! vote are kept on disk (Sentinel rewrites its configuration file); the
//! rest is lost in a crash.

use crate::context::Ctx;
use crate::failure_detector::{Detector, Liveness};
use crate::message::{InfoRole, Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::{Duration, NANOS_PER_MILLI};
use crate::trace::{AbortReason, Note};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn default_down_after() -> Duration {
    Duration::from_secs(30)
}
fn default_failover_timeout() -> Duration {
    Duration::from_secs(180)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// The cache it monitors (`sentinel monitor <name> <ip> <port>
    /// <quorum>`): a primary, with the caches that name it in `replicaof`.
    pub monitor: String,
    /// Sentinels that must agree the primary is down.
    pub quorum: u32,
    /// `down-after-milliseconds`.
    #[serde(default = "default_down_after")]
    pub down_after: Duration,
    /// `failover-timeout`.
    #[serde(default = "default_failover_timeout")]
    pub failover_timeout: Duration,
}

impl SentinelConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.quorum == 0 || self.quorum > 100 {
            return Err(("quorum".into(), format!("quorum must be 1 to 100, got {}", self.quorum)));
        }
        if self.down_after < Duration::from_millis(1) {
            return Err(("down_after".into(), format!("down_after must be at least 1ms, got {}", self.down_after)));
        }
        if self.failover_timeout < Duration::from_millis(1) {
            return Err((
                "failover_timeout".into(),
                format!("failover_timeout must be at least 1ms, got {}", self.failover_timeout),
            ));
        }
        Ok(())
    }
}

/// Between two PINGs (and two checks) of every instance
/// (`SENTINEL_PING_PERIOD`).
const PING_EVERY_MS: i64 = 1_000;
/// How long a peer's "it is down" counts (`SENTINEL_ASK_PERIOD * 5`).
const PEER_REPLY_VALID_MS: i64 = 5_000;
/// INFO older than this disqualifies a replica from promotion.
const INFO_VALID_MS: i64 = 5_000;
/// `SENTINEL_ELECTION_TIMEOUT`.
const ELECTION_TIMEOUT_MS: i64 = 10_000;
/// Between two reconfigurations of one instance.
const RECONF_EVERY_MS: i64 = 10_000;
/// A wrong role must be reported this long before it is corrected.
const WRONG_ROLE_GRACE_MS: i64 = 2_000;
/// Between two hello messages.
const HELLO_EVERY_MS: i64 = 2_000;

/// What survives a crash: Sentinel's configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SentinelDisk {
    pub primary: NodeId,
    /// The epoch of the configuration (`config-epoch`).
    pub config_epoch: u32,
    /// `current-epoch`.
    pub current_epoch: u32,
    /// Its vote: for whom, in which epoch.
    pub leader: Option<NodeId>,
    pub leader_epoch: u32,
}

#[derive(Clone, Copy, Debug)]
struct Info {
    role: InfoRole,
    offset: u64,
    priority: u32,
    link_down_ms: u64,
    at_ms: i64,
}

#[derive(Clone, Copy, Debug)]
struct Instance {
    /// Its valid replies, on the sentinel's monotonic clock read in whole
    /// milliseconds (as `mstime()`), given to the detector in nanoseconds.
    /// Replies are recorded as they come; the verdict changes only at the
    /// once-a-second check, so `Down` is exactly Sentinel's SDOWN flag.
    detector: Detector,
    /// Its silence at the last check, for the view.
    silence_ms: i64,
    info: Option<Info>,
    sdown_since_ms: i64,
    last_reconf_ms: Option<i64>,
    /// Since when its INFO reports a role against the configuration.
    wrong_since_ms: Option<i64>,
}

impl Instance {
    /// Watching from `now_ms`, counted as just heard from.
    fn new(suspect_after_ms: i64, down_after_ms: i64, now_ms: i64) -> Instance {
        let ns = |ms: i64| (ms as u64).saturating_mul(NANOS_PER_MILLI).min(i64::MAX as u64);
        Instance {
            detector: Detector::new(ns(suspect_after_ms), ns(down_after_ms), now_ms * NANOS_PER_MILLI as i64),
            silence_ms: 0,
            info: None,
            sdown_since_ms: 0,
            last_reconf_ms: None,
            wrong_since_ms: None,
        }
    }

    /// Subjectively down (`SRI_S_DOWN`).
    fn sdown(&self) -> bool {
        self.detector.state() == Liveness::Down
    }
}

#[derive(Clone, Debug)]
enum Failover {
    Election { epoch: u32, started_ms: i64, votes: BTreeMap<NodeId, NodeId> },
    Promoting { epoch: u32, replica: NodeId, since_ms: i64 },
}

#[derive(Clone, Debug, Default)]
struct Volatile {
    instances: BTreeMap<NodeId, Instance>,
    /// Peers' latest answers: is the primary down?
    peers_down: BTreeMap<NodeId, (bool, i64)>,
    odown: bool,
    failover: Option<Failover>,
    next_failover_ms: i64,
    /// A failover start is scheduled (`Timer::SentinelFailover`).
    failover_pending: bool,
    last_hello_ms: i64,
}

#[derive(Clone, Debug)]
pub struct Sentinel {
    pub config: SentinelConfig,
    /// The monitored group's caches (the configured primary first).
    group: Vec<NodeId>,
    /// The other sentinels monitoring it.
    peers: Vec<NodeId>,
    /// Other linked nodes, told of a new primary (clients, app servers).
    listeners: Vec<NodeId>,
    pub disk: SentinelDisk,
    state: Volatile,
}

/// What a sentinel makes of one instance it monitors, as of its last
/// check (once a second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MonitoredView {
    pub node: NodeId,
    /// `Down` is subjectively down (`+sdown`).
    pub liveness: Liveness,
    /// How long it had gone without a valid reply.
    pub silence_ms: i64,
}

/// What the UI shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentinelView {
    pub primary: NodeId,
    pub config_epoch: u32,
    pub current_epoch: u32,
    /// Instances it sees subjectively down.
    pub sdown: Vec<NodeId>,
    pub odown: bool,
    /// `none`, `election` or `promoting`.
    pub failover: &'static str,
    pub quorum: u32,
    pub sentinels: usize,
    /// Every instance of the group (empty while crashed).
    pub instances: Vec<MonitoredView>,
}

impl Sentinel {
    pub fn new(config: SentinelConfig, group: Vec<NodeId>, peers: Vec<NodeId>, listeners: Vec<NodeId>) -> Sentinel {
        let disk = SentinelDisk { primary: group[0], config_epoch: 0, current_epoch: 0, leader: None, leader_epoch: 0 };
        Sentinel { config, group, peers, listeners, disk, state: Volatile::default() }
    }

    pub fn view(&self) -> SentinelView {
        SentinelView {
            primary: self.disk.primary,
            config_epoch: self.disk.config_epoch,
            current_epoch: self.disk.current_epoch,
            sdown: self.state.instances.iter().filter(|(_, i)| i.sdown()).map(|(&n, _)| n).collect(),
            odown: self.state.odown,
            failover: match self.state.failover {
                None => "none",
                Some(Failover::Election { .. }) => "election",
                Some(Failover::Promoting { .. }) => "promoting",
            },
            quorum: self.config.quorum,
            sentinels: self.peers.len() + 1,
            instances: self
                .state
                .instances
                .iter()
                .map(|(&node, i)| MonitoredView { node, liveness: i.detector.state(), silence_ms: i.silence_ms })
                .collect(),
        }
    }

    fn now_ms(ctx: &Ctx) -> i64 {
        ctx.monotonic().div_euclid(NANOS_PER_MILLI as i64)
    }

    fn down_after_ms(&self) -> i64 {
        (self.config.down_after.nanos / NANOS_PER_MILLI) as i64
    }

    /// Silence after which an instance is *suspected*: half of
    /// `down-after-milliseconds`, where `sentinelCheckSubjectivelyDown`
    /// stops trusting the link (a PING pending and no reply for
    /// `down_after_period/2` closes the connection to open a fresh one), but
    /// never less than one PING period, since at each check a healthy
    /// instance's last reply is almost a period old; and never more than
    /// `down_after`. Suspicion is only shown: SDOWN and everything after it
    /// are decided by `down_after` alone, as in Sentinel.
    fn suspect_after_ms(&self) -> i64 {
        (self.down_after_ms() / 2).max(PING_EVERY_MS).min(self.down_after_ms())
    }

    fn new_instance(&self, now_ms: i64) -> Instance {
        Instance::new(self.suspect_after_ms(), self.down_after_ms(), now_ms)
    }

    fn failover_timeout_ms(&self) -> i64 {
        (self.config.failover_timeout.nanos / NANOS_PER_MILLI) as i64
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        let now = Self::now_ms(ctx);
        for &n in &self.group {
            ctx.send(n, Message::SentinelPing);
        }
        // Subjectively down: no valid reply for more than down-after.
        let now_ns = now * NANOS_PER_MILLI as i64;
        for (&n, inst) in self.state.instances.iter_mut() {
            let was_down = inst.sdown();
            inst.silence_ms = inst.detector.silence(now_ns).div_euclid(NANOS_PER_MILLI as i64);
            match inst.detector.check(now_ns) {
                Some(Liveness::Down) => {
                    inst.sdown_since_ms = now;
                    ctx.note(Note::Sdown { node: n });
                }
                Some(_) if was_down => ctx.note(Note::SdownCleared { node: n }),
                _ => {}
            }
        }
        self.check_odown(ctx, now);
        self.run_failover(ctx, now);
        if self.state.failover.is_none() {
            self.reconfigure(ctx, now);
        }
        if now - self.state.last_hello_ms >= HELLO_EVERY_MS {
            self.state.last_hello_ms = now;
            let hello = Message::CachePrimary { primary: self.disk.primary, epoch: self.disk.config_epoch };
            for &n in self.peers.iter().chain(&self.listeners) {
                ctx.send(n, hello);
            }
        }
        ctx.set_timer(PING_EVERY_MS as u64 * NANOS_PER_MILLI, Timer::SentinelTick);
    }

    fn primary_sdown(&self) -> bool {
        self.state.instances.get(&self.disk.primary).is_some_and(Instance::sdown)
    }

    fn check_odown(&mut self, ctx: &mut Ctx, now: i64) {
        let primary = self.disk.primary;
        if !self.primary_sdown() {
            self.state.peers_down.clear();
            if self.state.odown {
                self.state.odown = false;
                ctx.note(Note::OdownCleared { primary });
            }
            return;
        }
        let agree =
            1 + self.state.peers_down.values().filter(|&&(down, at)| down && now - at <= PEER_REPLY_VALID_MS).count()
                as u32;
        if agree >= self.config.quorum && !self.state.odown {
            self.state.odown = true;
            ctx.note(Note::Odown { primary, agree });
        }
        // Ask the others (with no vote request unless electing).
        if self.state.failover.is_none() {
            let ask = Message::SentinelIsDown { primary, epoch: self.disk.current_epoch, candidate: None };
            for &p in &self.peers {
                ctx.send(p, ask);
            }
        }
    }

    fn run_failover(&mut self, ctx: &mut Ctx, now: i64) {
        let me = ctx.me();
        match self.state.failover.clone() {
            None if self.state.odown && now >= self.state.next_failover_ms && !self.state.failover_pending => {
                // Sentinel desynchronises the sentinels' attempts by up to a
                // second, so one of them usually asks first and wins.
                self.state.failover_pending = true;
                let delay = ctx.rng().below(1000);
                ctx.set_timer(delay * NANOS_PER_MILLI, Timer::SentinelFailover);
            }
            None => {}
            Some(Failover::Election { epoch, started_ms, votes }) => {
                let mine = votes.values().filter(|&&v| v == me).count() as u32;
                let sentinels = self.peers.len() as u32 + 1;
                let majority = sentinels / 2 + 1;
                if mine >= majority.max(self.config.quorum) {
                    ctx.note(Note::FailoverLeader { epoch, votes: mine });
                    match self.select_replica(now) {
                        Some(replica) => {
                            ctx.note(Note::PromotingReplica { replica });
                            ctx.send(replica, Message::ReplicaOf { primary: None });
                            self.state.failover = Some(Failover::Promoting { epoch, replica, since_ms: now });
                        }
                        None => self.abort(ctx, epoch, AbortReason::NoGoodReplica),
                    }
                } else if now - started_ms > ELECTION_TIMEOUT_MS.min(self.failover_timeout_ms()) {
                    self.abort(ctx, epoch, AbortReason::NotElected);
                }
            }
            Some(Failover::Promoting { epoch, replica, since_ms }) => {
                let promoted = self
                    .state
                    .instances
                    .get(&replica)
                    .and_then(|i| i.info)
                    .is_some_and(|i| i.role == InfoRole::Primary && i.at_ms >= since_ms);
                if promoted {
                    self.switch(ctx, replica, epoch);
                    // Point the rest at it, the old primary included.
                    for &n in self.group.iter().filter(|&&n| n != replica) {
                        ctx.send(n, Message::ReplicaOf { primary: Some(replica) });
                        if let Some(i) = self.state.instances.get_mut(&n) {
                            i.last_reconf_ms = Some(now);
                        }
                    }
                    self.state.failover = None;
                } else if now - since_ms > self.failover_timeout_ms() {
                    self.abort(ctx, epoch, AbortReason::PromotionTimeout);
                }
            }
        }
    }

    /// `sentinelStartFailover`: a new epoch, a vote for itself, and vote
    /// requests to the others.
    fn start_failover(&mut self, ctx: &mut Ctx) {
        self.state.failover_pending = false;
        let now = Self::now_ms(ctx);
        if !self.state.odown || self.state.failover.is_some() || now < self.state.next_failover_ms {
            return;
        }
        let me = ctx.me();
        self.disk.current_epoch += 1;
        let epoch = self.disk.current_epoch;
        self.disk.leader = Some(me);
        self.disk.leader_epoch = epoch;
        self.state.next_failover_ms = now + 2 * self.failover_timeout_ms();
        let mut votes = BTreeMap::new();
        votes.insert(me, me);
        self.state.failover = Some(Failover::Election { epoch, started_ms: now, votes });
        ctx.note(Note::FailoverStarted { epoch });
        let ask = Message::SentinelIsDown { primary: self.disk.primary, epoch, candidate: Some(me) };
        for &p in &self.peers {
            ctx.send(p, ask);
        }
    }

    fn abort(&mut self, ctx: &mut Ctx, epoch: u32, reason: AbortReason) {
        self.state.failover = None;
        ctx.note(Note::FailoverAborted { epoch, reason });
    }

    /// `sentinelSelectSlave`.
    fn select_replica(&self, now: i64) -> Option<NodeId> {
        let primary = self.disk.primary;
        let primary_down_ms = self.state.instances.get(&primary).map_or(0, |i| now - i.sdown_since_ms);
        let max_link_down = (10 * self.down_after_ms() + primary_down_ms) as u64;
        self.group
            .iter()
            .filter(|&&n| n != primary)
            .filter_map(|&n| {
                let inst = self.state.instances.get(&n)?;
                let info = inst.info?;
                let ok = !inst.sdown()
                    && now - info.at_ms <= INFO_VALID_MS
                    && info.priority != 0
                    && info.link_down_ms <= max_link_down;
                ok.then_some((info.priority, std::cmp::Reverse(info.offset), n))
            })
            .min()
            .map(|(_, _, n)| n)
    }

    /// `+switch-master`: adopts and announces a new configuration.
    fn switch(&mut self, ctx: &mut Ctx, to: NodeId, epoch: u32) {
        let from = self.adopt(to, epoch);
        ctx.note(Note::SwitchMaster { from, to, epoch });
        let msg = Message::CachePrimary { primary: to, epoch };
        for &n in self.peers.iter().chain(&self.listeners) {
            ctx.send(n, msg);
        }
    }

    /// Instances reporting the wrong role are told to replicate the
    /// primary.
    fn reconfigure(&mut self, ctx: &mut Ctx, now: i64) {
        let primary = self.disk.primary;
        if self.primary_sdown() {
            return;
        }
        for (&n, inst) in self.state.instances.iter_mut() {
            let Some(info) = inst.info.filter(|i| now - i.at_ms <= INFO_VALID_MS) else { continue };
            if n == primary || inst.sdown() || inst.last_reconf_ms.is_some_and(|t| now - t < RECONF_EVERY_MS) {
                continue;
            }
            let wrong = match info.role {
                InfoRole::Primary => true,
                InfoRole::Replica { of, .. } => of != primary,
            };
            if !wrong {
                inst.wrong_since_ms = None;
                continue;
            }
            // Not a role in the middle of changing: reported for a while.
            let since = *inst.wrong_since_ms.get_or_insert(info.at_ms);
            if now - since >= WRONG_ROLE_GRACE_MS {
                inst.last_reconf_ms = Some(now);
                ctx.note(Note::ConvertingToReplica { node: n });
                ctx.send(n, Message::ReplicaOf { primary: Some(primary) });
            }
        }
    }
}

impl Process for Sentinel {
    fn on_start(&mut self, ctx: &mut Ctx) {
        let now = Self::now_ms(ctx);
        self.state = Volatile::default();
        for &n in &self.group {
            let inst = self.new_instance(now);
            self.state.instances.insert(n, inst);
        }
        self.state.last_hello_ms = now;
        ctx.set_timer(PING_EVERY_MS as u64 * NANOS_PER_MILLI, Timer::SentinelTick);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        let now = Self::now_ms(ctx);
        match msg {
            Message::SentinelInfo { role, offset, priority, link_down_ms } => {
                if let Some(inst) = self.state.instances.get_mut(&from) {
                    inst.detector.heard_unchecked(now * NANOS_PER_MILLI as i64);
                    inst.info = Some(Info { role, offset, priority, link_down_ms, at_ms: now });
                }
            }
            Message::SentinelIsDown { primary, epoch, candidate } => {
                if epoch > self.disk.current_epoch {
                    self.disk.current_epoch = epoch;
                }
                let mut leader = None;
                if let Some(c) = candidate {
                    if self.disk.leader_epoch < epoch {
                        self.disk.leader = Some(c);
                        self.disk.leader_epoch = epoch;
                        if c != ctx.me() {
                            // Having voted for another, do not compete.
                            self.state.next_failover_ms = now + 2 * self.failover_timeout_ms();
                        }
                    }
                    leader = self.disk.leader.filter(|_| self.disk.leader_epoch == epoch);
                }
                let down = primary == self.disk.primary && self.primary_sdown();
                let reply = Message::SentinelIsDownReply { down, leader, leader_epoch: self.disk.leader_epoch };
                ctx.send(from, reply);
            }
            Message::SentinelIsDownReply { down, leader, leader_epoch } => {
                self.state.peers_down.insert(from, (down, now));
                if let Some(Failover::Election { epoch, votes, .. }) = &mut self.state.failover {
                    if let Some(l) = leader.filter(|_| leader_epoch == *epoch) {
                        votes.insert(from, l);
                    }
                }
            }
            Message::CachePrimary { primary, epoch }
                if epoch > self.disk.config_epoch && self.group.contains(&primary) =>
            {
                self.state.failover = None;
                self.switch_quietly(ctx, primary, epoch);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        match timer {
            Timer::SentinelTick => self.tick(ctx),
            Timer::SentinelFailover => self.start_failover(ctx),
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        self.state = Volatile::default();
    }
}

impl Sentinel {
    /// Learns a newer configuration from another sentinel.
    fn switch_quietly(&mut self, ctx: &mut Ctx, to: NodeId, epoch: u32) {
        let from = self.adopt(to, epoch);
        if from != to {
            ctx.note(Note::SwitchMaster { from, to, epoch });
        }
    }

    /// Takes `to` of `epoch` as the primary; returns the one before.
    fn adopt(&mut self, to: NodeId, epoch: u32) -> NodeId {
        let from = self.disk.primary;
        self.disk.primary = to;
        self.disk.config_epoch = epoch;
        self.disk.current_epoch = self.disk.current_epoch.max(epoch);
        self.state.odown = false;
        self.state.peers_down.clear();
        self.forget_info();
        from
    }

    /// INFO from before a new configuration says nothing about it.
    fn forget_info(&mut self) {
        for i in self.state.instances.values_mut() {
            i.info = None;
            i.wrong_since_ms = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let ok = SentinelConfig {
            monitor: "c".into(),
            quorum: 2,
            down_after: Duration::from_secs(5),
            failover_timeout: Duration::from_secs(60),
        };
        assert!(ok.validate().is_ok());
        assert_eq!(SentinelConfig { quorum: 0, ..ok.clone() }.validate().unwrap_err().0, "quorum");
        assert_eq!(SentinelConfig { down_after: Duration::ZERO, ..ok }.validate().unwrap_err().0, "down_after");
    }

    #[test]
    fn suspicion_comes_at_half_of_down_after_but_not_within_a_ping_period() {
        let suspect = |down_after| {
            let config = SentinelConfig {
                monitor: "c".into(),
                quorum: 1,
                down_after,
                failover_timeout: Duration::from_secs(60),
            };
            Sentinel::new(config, vec![0, 1], vec![], vec![]).suspect_after_ms()
        };
        assert_eq!(suspect(Duration::from_secs(30)), 15_000, "the default");
        assert_eq!(suspect(Duration::from_secs(5)), 2_500);
        assert_eq!(suspect(Duration::from_millis(1500)), 1_000, "not before a PING went unanswered");
        assert_eq!(suspect(Duration::from_millis(600)), 600, "no later than down");
    }

    #[test]
    fn replica_selection_prefers_priority_then_offset_then_id() {
        let mut s = Sentinel::new(
            SentinelConfig {
                monitor: "c".into(),
                quorum: 1,
                down_after: Duration::from_secs(5),
                failover_timeout: Duration::from_secs(60),
            },
            vec![0, 1, 2, 3, 4],
            vec![],
            vec![],
        );
        let info = |priority, offset, link_down_ms| Info {
            role: InfoRole::Replica { of: 0, link_up: false },
            offset,
            priority,
            link_down_ms,
            at_ms: 10_000,
        };
        let now = 10_000;
        for (n, i) in [(1, info(100, 500, 0)), (2, info(100, 900, 0)), (3, info(100, 900, 0)), (4, info(0, 9999, 0))] {
            s.state.instances.insert(n, Instance { info: Some(i), ..s.new_instance(now) });
        }
        // Down for a second: silent since down-after plus a second ago.
        let mut primary = Instance { sdown_since_ms: now - 1000, ..s.new_instance(now - 6001) };
        primary.detector.check(now * NANOS_PER_MILLI as i64);
        assert!(primary.sdown());
        s.state.instances.insert(0, primary);
        assert_eq!(s.select_replica(now), Some(2), "highest offset, then lowest id; priority 0 never");
        s.state.instances.get_mut(&1).unwrap().info = Some(info(10, 1, 0));
        assert_eq!(s.select_replica(now), Some(1), "lower priority first");
        s.state.instances.get_mut(&1).unwrap().info = Some(info(10, 1, 52_000));
        assert_eq!(s.select_replica(now), Some(2), "link down too long: 52 s > 10 x 5 s + 1 s");
        let c2 = s.state.instances.get_mut(&2).unwrap();
        c2.detector = Instance::new(1000, 5000, now - 5001).detector;
        c2.detector.check(now * NANOS_PER_MILLI as i64);
        assert!(c2.sdown());
        assert_eq!(s.select_replica(now), Some(3), "a replica that is down is skipped");
        s.state.instances.get_mut(&3).unwrap().info.as_mut().unwrap().at_ms = now - 6000;
        assert_eq!(s.select_replica(now), None, "stale INFO");
    }
}
