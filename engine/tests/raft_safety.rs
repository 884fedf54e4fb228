//! Raft's safety properties (election safety, log matching, leader
//! completeness, state-machine safety) over 10,000 randomized fault
//! schedules, and liveness once the faults heal. A failure names the seed;
//! `RAFT_SEED=<seed> cargo test -p clusterlab-engine --test raft_safety
//! one_seed` replays it alone.
//!
//! The harness is a small network of its own (not the engine's scenario
//! runner): per schedule a group of 3 or 5 members, ticks every 100 ms of
//! each member's own clock (clocks run at 0.5x to 2x), message delays of
//! 1 to 60 ms (so messages reorder), loss, duplication, partitions, and
//! crashes with restarts from the persisted term, vote and log. In half
//! the schedules members snapshot their state machine every few entries
//! and compact their logs, so followers that fall behind catch up from the
//! leader's snapshot (`MsgSnap`), lost or duplicated like any message.

use engine::raft::{Config, Entry, Message, MsgType, PeerId, Persisted, Raft, ReadOnlyOption, Role};
use engine::rng::Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

const SCHEDULES: u64 = 10_000;
const MS: u64 = 1;
const TICK_MS: u64 = 100;
/// How long after the faults heal a leader must be in place. Without
/// PreVote, a member whose log is behind can win the timer race, call an
/// election it cannot win and reset everyone's timers; each such round
/// costs an election timeout, so the bound allows several.
const LIVENESS_MS: u64 = 10_000;

#[derive(Clone, Debug)]
enum Ev {
    Tick(PeerId),
    Deliver(Message<u64>),
    Propose(PeerId),
    Crash(PeerId),
    /// Crash whoever leads now (if anyone).
    CrashLeader,
    /// Put whoever leads now alone on one side.
    IsolateLeader,
    /// Give the leader a proposal, and cut it off before it can replicate
    /// it: the way to the paper's Figure 8.
    ProposeAndIsolateLeader,
    Restart(PeerId),
    Partition(Vec<u8>),
    Heal,
}

struct Member {
    raft: Option<Raft<u64>>,
    disk: Persisted<u64>,
    /// Clock rate in percent of real time.
    rate: u64,
    /// Entries this member's state machine applied since its last start.
    applied: Vec<(u64, u64)>,
    incarnation: u32,
}

struct World {
    seed: u64,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Ev>>,
    members: Vec<Member>,
    config: Config,
    /// Side of the partition each member is on (all 0: none).
    side: Vec<u8>,
    loss: f64,
    duplicate: f64,
    next_value: u64,
    /// The leader seen for each term.
    leaders: BTreeMap<u64, PeerId>,
    /// What every member agrees is committed: index -> (term, value).
    committed: Vec<(u64, Option<u64>)>,
    faults_end: u64,
    /// The next proposal's value when the faults ended.
    heal_value: u64,
    /// Snapshots: every how many applied entries (none: never), and how
    /// many entries the log keeps before one.
    snapshot_every: Option<u64>,
    snapshot_keep: u64,
    /// Every snapshot's content (the applied entries, from index 1), by
    /// handle.
    snapshots: Vec<Vec<(u64, u64)>>,
    /// Snapshots loaded from a leader's `MsgSnap`.
    loaded: usize,
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng::stream(seed, 0);
        let n = if rng.chance(0.5) { 3 } else { 5 };
        let config = Config {
            pre_vote: rng.chance(0.5),
            check_quorum: rng.chance(0.7),
            read_only: ReadOnlyOption::Safe,
            // One entry per append sends an old term's entry alone, the
            // case the commit rule guards against.
            max_entries_per_msg: if rng.chance(0.5) { 1 } else { 64 },
            max_inflight_msgs: if rng.chance(0.5) { 4 } else { 256 },
            ..Config::default()
        };
        let members = (0..n)
            .map(|i| Member {
                raft: Some(Raft::new(i as PeerId, n, config.clone(), Rng::stream(seed, 100 + i as u64))),
                disk: Persisted::new(),
                rate: rng.between(50, 200),
                applied: Vec::new(),
                incarnation: 0,
            })
            .collect();
        // From a stream of its own: the schedules' other draws stay as
        // they were before snapshots.
        let mut snap_rng = Rng::stream(seed, 1);
        let snapshot_every = snap_rng.chance(0.5).then(|| snap_rng.between(3, 30));
        let snapshot_keep = snap_rng.below(6);
        let loss = [0.0, 0.01, 0.1, 0.3][rng.below(4) as usize];
        let duplicate = [0.0, 0.05][rng.below(2) as usize];
        let mut w = World {
            seed,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            members,
            config,
            side: vec![0; n],
            loss,
            duplicate,
            next_value: 1,
            leaders: BTreeMap::new(),
            committed: Vec::new(),
            faults_end: 4_000 * MS,
            heal_value: u64::MAX,
            snapshot_every,
            snapshot_keep,
            snapshots: Vec::new(),
            loaded: 0,
        };
        for i in 0..n {
            let first = w.rng.between(1, TICK_MS);
            w.at(first, Ev::Tick(i as PeerId));
        }
        w.schedule_faults();
        let mut t = 0;
        while t < w.faults_end + LIVENESS_MS {
            t += w.rng.between(20, 150);
            let to = w.rng.below(n as u64) as PeerId;
            w.at(t, Ev::Propose(to));
        }
        w
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue.push(Reverse((t, self.seq, self.events.len() - 1)));
    }

    fn schedule_faults(&mut self) {
        let n = self.members.len();
        let faults = self.rng.between(2, 12);
        for _ in 0..faults {
            let t = self.rng.between(200, self.faults_end - 500);
            match self.rng.below(5) {
                4 => {
                    self.at(t, Ev::ProposeAndIsolateLeader);
                    let heal = (t + self.rng.between(100, 1_500)).min(self.faults_end);
                    self.at(heal, Ev::Heal);
                    if self.rng.chance(0.5) {
                        let crash = (heal + self.rng.between(1, 200)).min(self.faults_end);
                        self.at(crash, Ev::CrashLeader);
                        let back = (crash + self.rng.between(100, 1_500)).min(self.faults_end);
                        for i in 0..n {
                            self.at(back, Ev::Restart(i as PeerId));
                        }
                    }
                }
                0 => {
                    let node = self.rng.below(n as u64) as PeerId;
                    self.at(t, Ev::Crash(node));
                    let back = (t + self.rng.between(100, 2_000)).min(self.faults_end);
                    self.at(back, Ev::Restart(node));
                }
                1 => {
                    self.at(t, Ev::CrashLeader);
                    // Restart everyone crashed a little later.
                    let back = (t + self.rng.between(100, 2_000)).min(self.faults_end);
                    for i in 0..n {
                        self.at(back, Ev::Restart(i as PeerId));
                    }
                }
                2 => {
                    self.at(t, Ev::IsolateLeader);
                    let heal = (t + self.rng.between(200, 3_000)).min(self.faults_end);
                    self.at(heal, Ev::Heal);
                }
                _ => {
                    let sides: Vec<u8> = (0..n).map(|_| self.rng.below(2) as u8).collect();
                    self.at(t, Ev::Partition(sides));
                    let heal = (t + self.rng.between(200, 3_000)).min(self.faults_end);
                    self.at(heal, Ev::Heal);
                }
            }
        }
        // Everything heals and everyone is back when the faults end.
        self.at(self.faults_end, Ev::Heal);
        for i in 0..n {
            self.at(self.faults_end, Ev::Restart(i as PeerId));
        }
    }

    fn fail(&self, what: String) -> ! {
        panic!(
            "seed {}: {what}\nreplay: RAFT_SEED={} cargo test -p clusterlab-engine --test raft_safety one_seed",
            self.seed, self.seed
        );
    }

    fn send_all(&mut self, from: PeerId) {
        let Some(r) = self.members[from as usize].raft.as_mut() else { return };
        let msgs = r.take_messages();
        // etcd persists before sending; the lab's disk is written at once.
        self.members[from as usize].disk = r.persisted();
        let faulty = self.now < self.faults_end;
        for m in msgs {
            if faulty && self.side[m.from as usize] != self.side[m.to as usize] {
                continue;
            }
            if faulty && self.rng.chance(self.loss) {
                continue;
            }
            let copies = if faulty && self.rng.chance(self.duplicate) { 2 } else { 1 };
            for _ in 0..copies {
                let delay = self.rng.between(1, 60);
                self.at(self.now + delay, Ev::Deliver(m.clone()));
            }
        }
    }

    fn after_step(&mut self, id: PeerId) {
        let Some(r) = self.members[id as usize].raft.as_mut() else { return };
        let restored = r.take_restored();
        let applied = r.take_committed();
        let (role, term) = (r.role, r.term);
        let first = r.log.first_index();
        let log_entries: Vec<Entry<u64>> = if role == Role::Leader { r.log.entries().to_vec() } else { Vec::new() };
        let m = &mut self.members[id as usize];
        if let Some(s) = restored {
            // A snapshot (the leader's, or its own at a restart) replaces
            // the state machine: it must hold exactly the committed entries.
            let content = &self.snapshots[s.data as usize];
            assert_eq!(content.len() as u64, s.index);
            for (i, &(t, d)) in content.iter().enumerate() {
                if let Some(&(ct, cd)) = self.committed.get(i) {
                    if (ct, cd.unwrap_or(0)) != (t, d) {
                        self.fail(format!("member {id} loaded a snapshot with ({t}, {d}) at index {}", i + 1));
                    }
                }
            }
            m.applied = content.clone();
        }
        for e in &applied {
            m.applied.push((e.term, e.data.unwrap_or(0)));
        }
        // State-machine safety: every member applies the same entry at
        // each index.
        let start = m.applied.len() - applied.len();
        for (k, e) in applied.iter().enumerate() {
            let index = start + k;
            assert_eq!(e.index as usize, index + 1);
            match self.committed.get(index) {
                Some(&(t, d)) if (t, d) != (e.term, e.data) => self.fail(format!(
                    "member {id} applied ({}, {:?}) at index {}, others applied ({t}, {d:?})",
                    e.term, e.data, e.index
                )),
                Some(_) => {}
                None => self.committed.push((e.term, e.data)),
            }
        }
        if role == Role::Leader {
            // Election safety: one leader per term.
            match self.leaders.get(&term) {
                Some(&other) if other != id => self.fail(format!("members {other} and {id} both lead term {term}")),
                Some(_) => {}
                None => {
                    self.leaders.insert(term, id);
                    // Leader completeness: a new leader holds every entry
                    // committed before its term (those it compacted, in
                    // its snapshot: its state machine applied them, checked
                    // above).
                    for (i, &(t, d)) in self.committed.iter().enumerate().skip(first as usize - 1) {
                        let held = log_entries.get(i + 1 - first as usize).map(|e| (e.term, e.data));
                        if held != Some((t, d)) {
                            self.fail(format!(
                                "leader {id} of term {term} lacks committed entry {} ({t}, {d:?}), has {held:?}",
                                i + 1
                            ));
                        }
                    }
                }
            }
        }
        if let Some(every) = self.snapshot_every {
            let m = &mut self.members[id as usize];
            let r = m.raft.as_mut().expect("running");
            assert_eq!(m.applied.len() as u64, r.log.applied, "member {id}'s state machine");
            if r.log.applied > r.snapshot().map_or(0, |s| s.index) + every {
                self.snapshots.push(m.applied.clone());
                r.create_snapshot(r.log.applied, self.snapshots.len() as u64 - 1, self.snapshot_keep);
            }
        }
        self.send_all(id);
    }

    fn check_log_matching(&self) {
        // Each log from its first held index (compaction drops a prefix).
        let logs: Vec<(u64, &[Entry<u64>])> =
            self.members.iter().map(|m| (m.disk.compacted.0, m.disk.entries.as_slice())).collect();
        for a in 0..logs.len() {
            for b in a + 1..logs.len() {
                let ((oa, la), (ob, lb)) = (logs[a], logs[b]);
                let from = oa.max(ob) + 1;
                let to = (oa + la.len() as u64).min(ob + lb.len() as u64);
                let at = |o: u64, l: &[Entry<u64>], i: u64| l[(i - o - 1) as usize].clone();
                // The highest index where both have an entry of the same
                // term: everything held by both up to it must be identical.
                if let Some(top) = (from..=to).rev().find(|&i| at(oa, la, i).term == at(ob, lb, i).term) {
                    if (from..=top).any(|i| at(oa, la, i) != at(ob, lb, i)) {
                        self.fail(format!("logs of {a} and {b} agree on entry {top} but differ before it"));
                    }
                }
            }
        }
    }

    fn run(&mut self) {
        let end = self.faults_end + LIVENESS_MS;
        let mut steps = 0u64;
        while let Some(Reverse((t, _, idx))) = self.queue.pop() {
            if t > end {
                break;
            }
            self.now = t;
            let ev = self.events[idx].take().expect("each event once");
            steps += 1;
            match ev {
                Ev::Tick(id) => {
                    if let Some(r) = self.members[id as usize].raft.as_mut() {
                        r.tick();
                        self.after_step(id);
                    }
                    // The next tick by this member's clock.
                    let rate = self.members[id as usize].rate;
                    self.at(t + (TICK_MS * 100 / rate).max(1), Ev::Tick(id));
                }
                Ev::Deliver(m) => {
                    let to = m.to;
                    if m.kind == MsgType::Snap
                        && m.index > self.members[to as usize].raft.as_ref().map_or(u64::MAX, |r| r.log.committed)
                    {
                        self.loaded += 1;
                    }
                    if let Some(r) = self.members[to as usize].raft.as_mut() {
                        let _ = r.step(m);
                        self.after_step(to);
                    }
                }
                Ev::Propose(id) => {
                    let v = self.next_value;
                    self.next_value += 1;
                    if let Some(r) = self.members[id as usize].raft.as_mut() {
                        let _ = r.step(Message::propose(id, v));
                        self.after_step(id);
                    }
                }
                Ev::Crash(id) => {
                    let m = &mut self.members[id as usize];
                    if m.raft.take().is_some() {
                        m.applied.clear();
                    }
                }
                Ev::Restart(id) => {
                    let m = &mut self.members[id as usize];
                    if m.raft.is_none() {
                        m.incarnation += 1;
                        let rng = Rng::stream(self.seed, 1000 * u64::from(m.incarnation) + u64::from(id));
                        let n = self.side.len();
                        m.raft = Some(Raft::restart(id, n, self.config.clone(), m.disk.clone(), rng));
                    }
                }
                Ev::CrashLeader => {
                    if let Some(m) =
                        self.members.iter_mut().find(|m| m.raft.as_ref().is_some_and(|r| r.role == Role::Leader))
                    {
                        m.raft = None;
                        m.applied.clear();
                    }
                }
                Ev::ProposeAndIsolateLeader => {
                    let leader =
                        self.members.iter().position(|m| m.raft.as_ref().is_some_and(|r| r.role == Role::Leader));
                    if let Some(l) = leader {
                        let v = self.next_value;
                        self.next_value += 1;
                        let r = self.members[l].raft.as_mut().unwrap();
                        let _ = r.step(Message::propose(l as PeerId, v));
                        self.side.iter_mut().enumerate().for_each(|(i, s)| *s = u8::from(i == l));
                        self.after_step(l as PeerId);
                    }
                }
                Ev::IsolateLeader => {
                    let leader =
                        self.members.iter().position(|m| m.raft.as_ref().is_some_and(|r| r.role == Role::Leader));
                    if let Some(l) = leader {
                        self.side.iter_mut().enumerate().for_each(|(i, s)| *s = u8::from(i == l));
                    }
                }
                Ev::Partition(sides) => self.side = sides,
                Ev::Heal => {
                    self.side.iter_mut().for_each(|s| *s = 0);
                    if t >= self.faults_end {
                        self.heal_value = self.heal_value.min(self.next_value);
                        // Clock skew is a fault too: it ends here. (With a
                        // member's clock twice as fast as the others' and
                        // no PreVote, its campaigns can keep resetting
                        // everyone's timers forever: a real livelock.)
                        self.members.iter_mut().for_each(|m| m.rate = 100);
                    }
                }
            }
            if steps.is_multiple_of(256) {
                self.check_log_matching();
            }
        }
        self.check_log_matching();
        self.check_liveness();
    }

    /// `LIVENESS_MS` after every fault healed: one leader, known to all, and
    /// the proposals of the last seconds committed.
    fn check_liveness(&self) {
        let leaders: Vec<(PeerId, u64)> = self
            .members
            .iter()
            .filter_map(|m| m.raft.as_ref())
            .filter(|r| r.role == Role::Leader)
            .map(|r| (r.id, r.term))
            .collect();
        let top = leaders.iter().map(|l| l.1).max();
        let current: Vec<_> = leaders.iter().filter(|l| Some(l.1) == top).collect();
        if current.len() != 1 {
            let state: Vec<String> = self
                .members
                .iter()
                .filter_map(|m| m.raft.as_ref())
                .map(|r| {
                    format!(
                        "{}: {} term {} lead {:?} vote {:?} last ({}, {}) rate {}%",
                        r.id,
                        r.role.name(),
                        r.term,
                        r.lead,
                        r.vote,
                        r.log.last_index(),
                        r.log.last_term(),
                        self.members[r.id as usize].rate
                    )
                })
                .collect();
            self.fail(format!(
                "no single leader {} ms after healing: {leaders:?} (pre_vote {}, check_quorum {})\n{}",
                LIVENESS_MS,
                self.config.pre_vote,
                self.config.check_quorum,
                state.join("\n")
            ));
        }
        let (leader, term) = *current[0];
        for m in &self.members {
            let r = m.raft.as_ref().unwrap();
            if r.term != term || r.lead != Some(leader) {
                self.fail(format!(
                    "member {} is at term {} following {:?}, not {leader} of {term}",
                    r.id, r.term, r.lead
                ));
            }
        }
        // Proposals keep coming every 20-150 ms: one made after the heal
        // must be committed.
        let newest = self.committed.iter().filter_map(|&(_, d)| d).max().unwrap_or(0);
        if newest < self.heal_value {
            self.fail(format!("nothing proposed after the heal (value {}) was committed", self.heal_value));
        }
    }
}

/// The elections held, and the snapshots members took from a leader.
fn run_seed(seed: u64) -> (usize, usize) {
    let mut w = World::new(seed);
    w.run();
    (w.leaders.len(), w.loaded)
}

#[test]
fn safety_and_liveness_over_10000_fault_schedules() {
    let (mut elections, mut loaded) = (0, 0);
    for seed in 0..SCHEDULES {
        let (e, l) = run_seed(seed);
        elections += e;
        loaded += l;
    }
    // The schedules did make elections happen, many of them, and followers
    // catch up from snapshots.
    assert!(elections as u64 > 3 * SCHEDULES / 2, "{elections} elections");
    assert!(loaded as u64 > SCHEDULES / 10, "{loaded} snapshots loaded");
}

/// Replays the seed in `RAFT_SEED` (a no-op without it).
#[test]
fn one_seed() {
    if let Ok(s) = std::env::var("RAFT_SEED") {
        run_seed(s.parse().expect("RAFT_SEED is a number"));
    }
}

/// The checker itself can fail: a record saying index 1 holds another
/// entry than the one the members apply is reported, with the seed.
#[test]
#[should_panic(expected = "lacks committed entry 1 (99, Some(99))")]
fn the_harness_reports_members_that_disagree() {
    let mut w = World::new(1);
    w.committed.push((99, Some(99)));
    w.run();
}
