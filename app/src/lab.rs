//! The lab's state as plain Rust: the running simulation, how fast it runs,
//! and what the user did to it. The UI reads it and calls its methods; it
//! never decides what the simulation does.

use crate::checkpoints::Checkpoints;
use crate::event_log::EventLog;
use engine::consistency::ConsistencyView;
use engine::fault::Fault;
use engine::follow::Followed;
use engine::node::Status;
use engine::sim::final_reads::FinalReads;
use engine::sim::op_following::OpFollowing;
use engine::sim::op_path::OpPath;
use engine::time::{Time, NANOS_PER_MILLI};
use engine::{Scenario, ScenarioError, Simulation};

/// Speeds offered, in simulated seconds per real second.
pub const SPEEDS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0];
/// A frame never advances more than this much real time (a background tab
/// or a debugger pause should not turn into a huge jump).
const MAX_FRAME_MS: f64 = 100.0;
/// Events between two looks at the frame's time budget.
const CHUNK_EVENTS: u64 = 2_000;

pub struct Lab {
    /// Where the scenario came from (an example's id, or what the user
    /// made of it), for the scenario picker.
    pub example: String,
    pub sim: Simulation,
    pub playing: bool,
    pub speed: f64,
    /// True when the last frame could not reach real time within its budget.
    pub behind: bool,
    pub log: EventLog,
    /// Simulated nanoseconds per real second actually achieved, smoothed.
    pub achieved_speed: f64,
    /// The scenario's duration, until the run first reaches it: the lab
    /// pauses there once, and Play goes on past it.
    pub stop_at: Option<Time>,
    pub reached_end: bool,
    /// Saved states of this run, for seeking.
    checkpoints: Checkpoints,
    /// The furthest the run has been: the scrubber's end.
    pub furthest: Time,
    /// Re-simulating towards this moment (after a seek or a change to the
    /// fault schedule), as fast as the frame budget allows.
    pub seeking: Option<Time>,
    /// Changes whenever `sim` is replaced by another run or by an earlier
    /// state of this one (unique across labs), so readers of the trace
    /// (lesson goals) know to look again.
    pub generation: u64,
    /// How many trace events the run had recorded when `sim` was last
    /// replaced: those are the same as before (0 for another run).
    pub shared_events: u64,
    /// While the run stands at its scenario's end: Jepsen's final reads
    /// (`engine::sim::final_reads`), made once for that moment (the run's
    /// generation and event count), and the verdicts judged with them.
    final_reads: Option<((u64, u64), FinalReads)>,
    /// The request path panel's operation, while it is followed again
    /// (a change to the fault schedule stops it: another run).
    path_following: Option<OpFollowing>,
}

/// A new generation number.
fn next_generation() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Lab {
    pub fn new(example: &str, scenario: &Scenario) -> Result<Lab, ScenarioError> {
        let sim = Simulation::new(scenario)?;
        let mut log = EventLog::default();
        log.pull(&sim);
        Ok(Lab {
            example: example.to_string(),
            checkpoints: Checkpoints::new(&sim),
            sim,
            playing: true,
            speed: 1.0,
            behind: false,
            log,
            achieved_speed: 1.0,
            stop_at: Some(scenario.duration.nanos),
            reached_end: false,
            furthest: 0,
            seeking: None,
            generation: next_generation(),
            shared_events: 0,
            final_reads: None,
            path_following: None,
        })
    }

    /// The final reads, while the run stands at its scenario's end.
    pub fn final_reads(&self) -> Option<&FinalReads> {
        self.final_reads.as_ref().map(|(_, f)| f)
    }

    /// The verdicts to show: with the final reads at the run's end, else
    /// the live ones.
    pub fn consistency(&self) -> &ConsistencyView {
        self.final_reads().map_or_else(|| self.sim.consistency(), |f| &f.consistency)
    }

    /// Makes the final reads when the run has just come to its scenario's
    /// end, and drops them once it has moved on.
    fn update_final_reads(&mut self) {
        let at_end = self.seeking.is_none() && self.sim.now() == self.sim.scenario().duration.nanos;
        let key = (self.generation, self.sim.events());
        if !at_end {
            self.final_reads = None;
        } else if self.final_reads.as_ref().is_none_or(|(k, _)| *k != key) {
            self.final_reads = self.sim.final_reads().map(|f| (key, f));
        }
    }

    /// The scenario as it stands: the one opened, with every fault added
    /// since (running it from the start gives this very run).
    pub fn scenario(&self) -> Scenario {
        self.sim.replay_scenario()
    }

    /// Advances the simulation by `wall_ms` of real time at the chosen
    /// speed, while `time_left()` says the frame has budget. Returns the
    /// events processed.
    pub fn advance(&mut self, wall_ms: f64, mut time_left: impl FnMut() -> bool) -> u64 {
        if self.seeking.is_some() {
            return self.continue_seek(time_left);
        }
        if !self.playing || self.sim.halted().is_some() {
            return 0;
        }
        let wall_ms = wall_ms.clamp(0.0, MAX_FRAME_MS);
        let step = (wall_ms * self.speed * NANOS_PER_MILLI as f64) as Time;
        let start_time = self.sim.now();
        let mut target = start_time + step.max(1);
        let end = self.stop_at.filter(|&end| target > end);
        if let Some(end) = end {
            target = end.saturating_add(1);
        }
        // A checkpoint that fell due in the last frame is taken first: the
        // copy of the whole run then counts against this frame's budget,
        // rather than running over the end of a frame that had used it all.
        self.checkpoints.offer(&self.sim);
        let start_events = self.sim.events();
        let mut reached = false;
        while time_left() {
            if self.sim.run_until_budget(target, CHUNK_EVENTS) {
                reached = true;
                break;
            }
            if self.sim.halted().is_some() {
                break;
            }
        }
        self.behind = !reached;
        if let (Some(end), true) = (end, reached) {
            // The whole scenario has run, including what happens at its end.
            self.sim.run_through(end);
            self.stop_at = None;
            self.reached_end = true;
            self.playing = false;
            self.checkpoints.offer(&self.sim);
        }
        if wall_ms > 0.0 {
            let achieved = (self.sim.now() - start_time) as f64 / (wall_ms * NANOS_PER_MILLI as f64);
            self.achieved_speed = 0.9 * self.achieved_speed + 0.1 * achieved;
        }
        self.moved_forward();
        self.sim.events() - start_events
    }

    /// After the run moved forward: checkpoint, the scrubber's end, the log.
    fn moved_on(&mut self) {
        self.checkpoints.offer(&self.sim);
        self.moved_forward();
    }

    /// The scrubber's end, the log and the final reads, after the run
    /// moved forward.
    fn moved_forward(&mut self) {
        self.furthest = self.furthest.max(self.sim.now());
        self.log.pull(&self.sim);
        self.update_final_reads();
    }

    /// Processes exactly one event (while paused, to look closely).
    pub fn step(&mut self) {
        self.seeking = None;
        self.sim.step();
        self.moved_on();
    }

    /// Goes to simulated time `t` of this run: back to the last checkpoint
    /// before it, then forward, over the next frames. Pauses the run.
    pub fn seek(&mut self, t: Time) {
        self.playing = false;
        self.behind = false;
        // Before the scenario's end, the run pauses there again.
        let duration = self.sim.scenario().duration.nanos;
        if t < duration {
            self.stop_at = Some(duration);
            self.reached_end = false;
        }
        let faults: Vec<_> = self.sim.fault_schedule().cloned().collect();
        // Forward within reach: go on from here rather than from a
        // checkpoint further back.
        let from_here = (t >= self.sim.now()).then(|| self.sim.now());
        if let Some(sim) = self.checkpoints.restore_after(from_here, t, &faults) {
            self.replaced(sim);
        }
        self.seeking = Some(t);
    }

    /// Puts `sim`, an earlier state of this run or another run, in place.
    fn replaced(&mut self, sim: Simulation) {
        // A restored checkpoint shares the trace up to its own length with
        // the run it came from; a run from the start shares nothing.
        self.shared_events = if sim.now() == 0 { 0 } else { sim.trace().total() };
        self.sim = sim;
        self.log = EventLog::default();
        self.generation = next_generation();
        self.final_reads = None;
    }

    /// Runs a seek to its end within `time_left()`; returns events processed.
    fn continue_seek(&mut self, mut time_left: impl FnMut() -> bool) -> u64 {
        let Some(target) = self.seeking else { return 0 };
        let start_events = self.sim.events();
        while time_left() {
            // Everything due at the moment itself too, as `clusterlab run
            // --until` does, so the fingerprints compare.
            let reached = self.sim.run_until_budget(target.saturating_add(1), CHUNK_EVENTS);
            if reached {
                self.sim.run_through(target);
            }
            self.checkpoints.offer(&self.sim);
            if reached || self.sim.halted().is_some() {
                self.seeking = None;
                if self.stop_at.is_some_and(|end| self.sim.now() > end) {
                    self.stop_at = None;
                }
                break;
            }
        }
        self.moved_on();
        self.sim.events() - start_events
    }

    /// Starts following client operation `op` (or a Kafka send) for the
    /// request path panel: again from the last checkpoint before it was
    /// invoked up to the run's present (see `engine::follow`), a piece
    /// per frame ([`Lab::continue_path`]). Late in a long run that is up
    /// to a second of work, which at once would freeze the page.
    pub fn start_path(&mut self, op: u32) -> Result<(), String> {
        self.path_following = None;
        self.path_following = Some(self.path_from_checkpoint(op)?);
        Ok(())
    }

    /// Following `op` from the checkpoint before it, not yet started.
    fn path_from_checkpoint(&self, op: u32) -> Result<OpFollowing, String> {
        let (n, discarded) = self.sim.followable_len();
        let history = match self.sim.followed_history() {
            Followed::Clients => "client history",
            Followed::KafkaSends => "Kafka history",
        };
        if op as usize >= n {
            return Err(match n {
                0 => "No operation has been invoked yet.".to_string(),
                n if discarded > 0 => format!(
                    "The {history} keeps the run's first {n} operations (limits.history_ops), 0 to {}; {op} is not one of them.",
                    n - 1
                ),
                n => format!("The run has operations 0 to {} so far; {op} is not one of them.", n - 1),
            });
        }
        let Some(rec) = self.sim.followable_op(op) else {
            return Err(format!("Operation {op} is a consumer's poll; a path follows a producer's send."));
        };
        let scenario = self.scenario();
        // A checkpoint taken at the very moment it was invoked may hold it
        // already: then the one before.
        let before = [rec.invoke, rec.invoke.saturating_sub(1)].into_iter().find_map(|t| {
            self.checkpoints.restore(t, &scenario.faults).filter(|s| s.followable_len().0 <= op as usize)
        });
        let start = match before {
            Some(s) => s,
            None => Simulation::new(&scenario).map_err(|e| e.to_string())?,
        };
        OpFollowing::new(start, op, self.sim.now())
    }

    /// Follows on within `time_left()`; the path once done (of this run:
    /// a change to its fault schedule stops following).
    pub fn continue_path(&mut self, mut time_left: impl FnMut() -> bool) -> Option<Result<OpPath, String>> {
        let job = self.path_following.as_mut()?;
        while time_left() {
            if job.advance(CHUNK_EVENTS) {
                return self.path_following.take().map(|job| job.path());
            }
        }
        None
    }

    /// The operation being followed and how far, 0 to 1.
    pub fn path_progress(&self) -> Option<(u32, f64)> {
        let job = self.path_following.as_ref()?;
        let (covered, most) = job.progress();
        Some((job.op(), covered as f64 / most.max(1) as f64))
    }

    pub fn stop_path(&mut self) {
        self.path_following = None;
    }

    /// Runs a seek to its end at once (tests, and the benchmark's baseline).
    pub fn finish_seek(&mut self) {
        while self.seeking.is_some() {
            self.continue_seek(|| true);
        }
    }

    /// Replaces the fault schedule (the timeline moved or deleted one): the
    /// run is rebuilt from the last checkpoint it shares with the new
    /// schedule, or from the start, and brought back to where it was.
    pub fn set_faults(&mut self, faults: Vec<engine::fault::ScheduledFault>) -> Result<(), ScenarioError> {
        let mut scenario = self.scenario();
        scenario.faults = faults;
        scenario.validate()?;
        let here = self.sim.now();
        let sim = match self.checkpoints.restore(here, &scenario.faults) {
            Some(sim) => sim,
            None => {
                let sim = Simulation::new(&scenario)?;
                self.checkpoints = Checkpoints::new(&sim);
                sim
            }
        };
        self.checkpoints.forget_after(sim.now());
        self.furthest = sim.now();
        self.replaced(sim);
        self.playing = false;
        self.seeking = Some(here);
        // Another run: a path being followed would be the old one's.
        self.path_following = None;
        Ok(())
    }

    /// Applies any fault now (the faults panel, a crash, a cut link).
    pub fn inject(&mut self, fault: Fault) -> Result<(), ScenarioError> {
        self.seeking = None;
        // Faults take effect as events: run up to it so the view shows it.
        let at = self.sim.apply_fault(fault)?;
        // Whatever was saved after this moment belongs to the old future:
        // from here on the run branches.
        self.checkpoints.forget_after(at);
        self.furthest = at;
        self.sim.run_through(at);
        self.moved_on();
        self.path_following = None;
        Ok(())
    }

    pub fn is_crashed(&self, node: &str) -> bool {
        self.sim.node_id(node).is_some_and(|id| matches!(self.sim.node(id).rt.status, Status::Crashed { .. }))
    }

    /// Crashes a running node or restarts a crashed one.
    pub fn toggle_crash(&mut self, node: &str) -> Result<(), ScenarioError> {
        let fault = if self.is_crashed(node) {
            Fault::Restart { node: node.to_string() }
        } else {
            Fault::Crash { node: node.to_string(), host_down: false }
        };
        self.inject(fault)
    }

    pub fn is_cut(&self, a: &str, b: &str) -> bool {
        match (self.sim.node_id(a), self.sim.node_id(b)) {
            (Some(a), Some(b)) => self.sim.network().is_blocked(a, b) || self.sim.network().is_blocked(b, a),
            _ => false,
        }
    }

    /// Cuts a link, or heals it if it is cut.
    pub fn toggle_link(&mut self, a: &str, b: &str) -> Result<(), ScenarioError> {
        let between = [a.to_string(), b.to_string()];
        let fault = if self.is_cut(a, b) { Fault::HealLink { between } } else { Fault::CutLink { between } };
        self.inject(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use engine::time::NANOS_PER_SEC;

    fn lab() -> Lab {
        let ex = examples::find(examples::DEFAULT).unwrap();
        Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap()
    }

    /// Example `id`'s lab, played at 10x (50 ms frames) to `secs`
    /// simulated seconds, checkpoints and all; and its scenario.
    fn played(id: &str, secs: u64) -> (Scenario, Lab) {
        let ex = examples::find(id).unwrap();
        let scenario = Scenario::from_json(ex.json).unwrap();
        let mut lab = Lab::new(ex.id, &scenario).unwrap();
        lab.speed = 10.0;
        while lab.sim.now() < secs * NANOS_PER_SEC {
            lab.advance(50.0, || true);
        }
        (scenario, lab)
    }

    /// Operation `op`'s path, followed at once.
    fn path_of(lab: &mut Lab, op: u32) -> Result<OpPath, String> {
        lab.start_path(op)?;
        lab.continue_path(|| true).unwrap()
    }

    #[test]
    fn an_operations_path_is_followed_from_the_checkpoint_before_it() {
        let (scenario, mut lab) = played("server-crash-failover", 12);
        assert!(lab.checkpoints.len() > 3, "checkpoints to start from: {}", lab.checkpoints.len());
        let now = lab.sim.now();
        // The same path as following it from time zero, up to the present.
        let from_zero = Simulation::new(&scenario).unwrap().follow_op(2995, now).unwrap();
        assert_eq!(path_of(&mut lab, 2995).unwrap(), from_zero);
        assert!(from_zero.steps.iter().any(|s| s.text.contains("not received: the process is down")));
        // An operation still waiting is followed up to the present.
        let last = lab.sim.history().ops().len() as u32 - 1;
        assert_eq!(path_of(&mut lab, last).unwrap().until, now);
        let err = path_of(&mut lab, last + 1).unwrap_err();
        assert_eq!(err, format!("The run has operations 0 to {last} so far; {} is not one of them.", last + 1));
    }

    #[test]
    fn a_path_is_followed_a_piece_per_frame_while_the_run_plays_on() {
        let (scenario, mut lab) = played("server-crash-failover", 12);
        let now = lab.sim.now();
        let from_zero = Simulation::new(&scenario).unwrap().follow_op(2995, now).unwrap();
        lab.start_path(2995).unwrap();
        let (mut frames, mut before) = (0, 0.0);
        let path = loop {
            // A frame: one piece of following, then the run plays on.
            let mut pieces = 0;
            if let Some(done) = lab.continue_path(|| {
                pieces += 1;
                pieces == 1
            }) {
                break done;
            }
            let (op, progress) = lab.path_progress().unwrap();
            assert_eq!(op, 2995);
            assert!(before <= progress && progress < 1.0, "{before} then {progress}");
            before = progress;
            lab.advance(16.0, || true);
            frames += 1;
        };
        assert!(frames > 1, "{frames} frames");
        assert!(lab.sim.now() > now);
        // Up to the moment it was asked for, in the run it was asked in
        // (whose fault schedule the panel files it under).
        assert_eq!(path.unwrap(), from_zero);
        assert!(lab.sim.fault_schedule().eq(scenario.faults.iter()));
        assert_eq!(lab.path_progress(), None);
        // Stopped: nothing comes.
        lab.start_path(2995).unwrap();
        lab.stop_path();
        assert_eq!(lab.continue_path(|| true), None);
        // Nor once the run has changed (a fault added now).
        lab.start_path(2995).unwrap();
        lab.toggle_crash("web1").unwrap();
        assert_eq!(lab.path_progress(), None);
        assert_eq!(lab.continue_path(|| true), None);
    }

    #[test]
    fn an_operation_that_ended_at_the_present_moment_is_followed_to_its_end() {
        let (_, mut lab) = played("server-crash-failover", 10);
        // One event at a time until one completes an operation: the lab has
        // processed it, at the very moment it now stands at.
        let ended_now = |l: &Lab| l.sim.history().ops().iter().rposition(|r| r.complete == Some(l.sim.now()));
        while ended_now(&lab).is_none() {
            lab.step();
        }
        let op = ended_now(&lab).unwrap() as u32;
        let path = path_of(&mut lab, op).unwrap();
        assert_eq!(path.complete, Some(lab.sim.now()), "{}", path.headline);
        assert!(!path.headline.contains("still waiting"), "{}", path.headline);
    }

    #[test]
    fn a_kafka_send_is_followed_and_a_poll_is_not() {
        let (scenario, mut lab) = played("kafka-acks1-loss", 12);
        let now = lab.sim.now();
        let from_zero = Simulation::new(&scenario).unwrap().follow_op(5111, now).unwrap();
        assert_eq!(path_of(&mut lab, 5111).unwrap(), from_zero);
        assert!(
            from_zero.headline.starts_with("producer: send of record 4946 to partition 0"),
            "{}",
            from_zero.headline
        );
        let ops = lab.sim.log_history().ops();
        let poll = ops.iter().position(|r| matches!(r.event, engine::history::LogEvent::Poll { .. })).unwrap();
        let n = ops.len();
        assert_eq!(
            path_of(&mut lab, poll as u32).unwrap_err(),
            format!("Operation {poll} is a consumer's poll; a path follows a producer's send.")
        );
        assert_eq!(
            path_of(&mut lab, n as u32).unwrap_err(),
            format!("The run has operations 0 to {} so far; {n} is not one of them.", n - 1)
        );
    }

    #[test]
    fn an_operation_the_full_history_did_not_keep_cannot_be_followed_and_says_why() {
        let ex = examples::find("server-crash-failover").unwrap();
        let mut scenario = Scenario::from_json(ex.json).unwrap();
        scenario.limits.history_ops = 500;
        let mut lab = Lab::new(ex.id, &scenario).unwrap();
        lab.sim.run_until(3 * NANOS_PER_SEC);
        assert_eq!(
            path_of(&mut lab, 600).unwrap_err(),
            "The client history keeps the run's first 500 operations (limits.history_ops), 0 to 499; 600 is not one of them."
        );
        assert_eq!(path_of(&mut lab, 499).unwrap().op, 499);
    }

    #[test]
    fn advances_by_real_time_times_speed() {
        let mut lab = lab();
        lab.speed = 10.0;
        lab.advance(50.0, || true);
        assert_eq!(lab.sim.now(), 500 * NANOS_PER_MILLI);
        assert!(!lab.behind);
        lab.playing = false;
        assert_eq!(lab.advance(50.0, || true), 0);
        assert_eq!(lab.sim.now(), 500 * NANOS_PER_MILLI);
    }

    #[test]
    fn a_frame_without_budget_falls_behind() {
        let mut lab = lab();
        lab.speed = 100.0;
        lab.advance(100.0, || false);
        assert!(lab.behind);
        assert!(lab.sim.now() < 10_000 * NANOS_PER_MILLI);
    }

    #[test]
    fn long_pauses_do_not_jump() {
        let mut lab = lab();
        lab.advance(60_000.0, || true);
        assert_eq!(lab.sim.now(), 100 * NANOS_PER_MILLI);
    }

    #[test]
    fn pauses_once_at_the_scenario_duration() {
        let mut lab = lab();
        lab.speed = 100.0;
        for _ in 0..100 {
            lab.advance(100.0, || true);
        }
        // 60 s scenario: paused exactly at its end, with the last interval.
        assert_eq!(lab.sim.now(), 60_000 * NANOS_PER_MILLI);
        assert!(!lab.playing && lab.reached_end);
        assert_eq!(lab.sim.metrics().series().len(), 60);
        lab.playing = true;
        lab.advance(100.0, || true);
        assert_eq!(lab.sim.now(), 70_000 * NANOS_PER_MILLI);
    }

    #[test]
    fn at_the_scenario_end_the_verdicts_have_final_reads_until_the_run_moves_on() {
        let ex = examples::find("db-replica-lag").unwrap();
        let mut scenario = Scenario::from_json(ex.json).unwrap();
        // Lesson 6's first step: the run stops while the replica lags by
        // 300 ms, and the last reads miss the newest writes.
        scenario.duration = engine::time::Duration::from_secs(12);
        let mut lab = Lab::new(ex.id, &scenario).unwrap();
        lab.speed = 100.0;
        while !lab.reached_end {
            lab.advance(100.0, || true);
        }
        let live = lab.sim.consistency().anomalies.lost_writes.count;
        assert!(live > 0, "the last reads miss the writes still on their way");
        let f = lab.final_reads().expect("final reads at the end");
        assert_eq!(lab.consistency(), &f.consistency);
        assert_eq!(f.consistency.anomalies.lost_writes.count, 0, "the replica had them all once it caught up");
        let summary = f.consistency.final_reads.unwrap();
        assert_eq!((summary.after, summary.read, summary.skipped), (12 * NANOS_PER_SEC, summary.keys, 0));
        // The run itself is untouched: the same fingerprint as a run of 12 s.
        let mut plain = Simulation::new(&scenario).unwrap();
        plain.run_through(12 * NANOS_PER_SEC);
        assert_eq!(lab.sim.trace_hash(), plain.trace_hash());
        // Going on past the end drops them.
        lab.playing = true;
        lab.advance(100.0, || true);
        assert!(lab.final_reads().is_none());
        assert_eq!(lab.consistency(), lab.sim.consistency());
        // Seeking back to the end makes them again, the same.
        lab.seek(12 * NANOS_PER_SEC);
        lab.finish_seek();
        assert_eq!(lab.final_reads().map(|f| f.consistency.anomalies.lost_writes.count), Some(0));
    }

    #[test]
    fn a_new_log_never_reuses_a_line_id() {
        // The view keys rows by id: a reused id would show the old text.
        let mut lab = lab();
        run_to(&mut lab, 3 * SEC);
        let before: Vec<u64> = lab.log.lines().map(|l| l.id).collect();
        assert!(!before.is_empty());
        run_to(&mut lab, 0);
        run_to(&mut lab, 3 * SEC);
        let after: Vec<u64> = lab.log.lines().map(|l| l.id).collect();
        assert_eq!(after.len(), before.len());
        assert!(after.iter().all(|id| !before.contains(id)), "{before:?} then {after:?}");
        let other = Lab::new("other", &lab.sim.scenario().clone()).unwrap();
        assert!(other.log.lines().all(|l| !after.contains(&l.id)));
    }

    #[test]
    fn a_dead_servers_retries_fold_and_leave_the_health_checks_in_view() {
        let mut lab = lab();
        run_to(&mut lab, SEC);
        lab.toggle_crash("web1").unwrap();
        run_to(&mut lab, 6 * SEC);
        let texts: Vec<&str> = lab.log.lines().map(|l| l.text.as_str()).collect();
        let retries = texts.iter().filter(|t| t.starts_with("lb: connection to web1 failed; retrying")).count();
        assert!((1..=10).contains(&retries), "{retries} retry lines: {texts:?}");
        assert!(texts.iter().all(|t| !t.contains("(attempt")), "{texts:?}");
        assert!(texts.iter().any(|t| t.starts_with("lb: server web1 is DOWN")), "{texts:?}");
        assert!(lab.log.lines().any(|l| l.repeat > 10));
        assert_eq!(lab.log.not_kept(), None);
    }

    #[test]
    fn routing_decisions_stay_out_of_the_log() {
        let ex = examples::find("l7-routing").unwrap();
        let mut lab = Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap();
        run_to(&mut lab, 5 * SEC);
        assert!(lab
            .sim
            .trace()
            .events()
            .iter()
            .any(|e| matches!(e.what, engine::trace::What::Note { note: engine::trace::Note::UseBackend { .. }, .. })));
        let texts: Vec<&str> = lab.log.lines().map(|l| l.text.as_str()).collect();
        assert!(texts.iter().all(|t| !t.contains("use_backend")), "{texts:?}");
        assert_eq!(lab.log.not_kept(), None, "{texts:?}");
    }

    #[test]
    fn crash_and_cut_toggle_and_are_logged() {
        let mut lab = lab();
        lab.advance(100.0, || true);
        lab.toggle_crash("web2").unwrap();
        assert!(lab.is_crashed("web2"));
        lab.toggle_crash("web2").unwrap();
        assert!(!lab.is_crashed("web2"));
        lab.toggle_link("lb", "web1").unwrap();
        assert!(lab.is_cut("lb", "web1"));
        lab.toggle_link("lb", "web1").unwrap();
        assert!(!lab.is_cut("lb", "web1"));
        let texts: Vec<&str> = lab.log.lines().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(&"fault: crash web2"), "{texts:?}");
        assert!(texts.contains(&"web2 restarted"), "{texts:?}");
        assert!(texts.contains(&"fault: cut link lb - web1"), "{texts:?}");
        // What the user did is part of the run: it replays.
        assert_eq!(lab.sim.replay_scenario().faults.len(), 4);
    }

    fn fresh_hash(s: &Scenario, t: Time) -> String {
        let mut sim = Simulation::new(s).unwrap();
        sim.run_through(t);
        sim.trace_hash()
    }

    const SEC: Time = engine::time::NANOS_PER_SEC;

    fn run_to(lab: &mut Lab, t: Time) {
        lab.seek(t);
        lab.finish_seek();
        assert_eq!(lab.sim.now(), t);
    }

    #[test]
    fn seeking_back_and_forth_shows_the_state_the_run_had() {
        let mut lab = lab();
        run_to(&mut lab, 40 * SEC);
        assert_eq!(lab.furthest, 40 * SEC);
        let s = lab.scenario();
        run_to(&mut lab, 12 * SEC);
        assert!(!lab.playing);
        assert_eq!(lab.sim.trace_hash(), fresh_hash(&s, 12 * SEC));
        run_to(&mut lab, 33 * SEC);
        assert_eq!(lab.sim.trace_hash(), fresh_hash(&s, 33 * SEC));
        // The scrubber still reaches as far as the run went.
        assert_eq!(lab.furthest, 40 * SEC);
    }

    #[test]
    fn a_seek_goes_back_to_a_checkpoint_and_is_finished_over_frames() {
        let mut lab = lab();
        run_to(&mut lab, 40 * SEC);
        lab.seek(20 * SEC);
        // Restored at once to a checkpoint at most a spacing before.
        assert!(lab.sim.now() <= 20 * SEC && lab.sim.now() >= 16 * SEC, "{}", lab.sim.now());
        // Frames with room for two chunks of events each.
        let mut frames = 0;
        while lab.seeking.is_some() {
            let mut chunks = 0;
            lab.advance(16.0, || {
                chunks += 1;
                chunks <= 2
            });
            frames += 1;
            assert!(frames < 1000);
        }
        assert_eq!(lab.sim.now(), 20 * SEC);
    }

    #[test]
    fn a_fault_at_a_past_moment_branches_the_run() {
        let mut lab = lab();
        run_to(&mut lab, 30 * SEC);
        run_to(&mut lab, 10 * SEC);
        lab.toggle_crash("web1").unwrap();
        // The events at 10 s have run: the fault comes a nanosecond later.
        assert_eq!(lab.furthest, 10 * SEC + 1, "the old future is gone");
        lab.playing = true;
        run_to(&mut lab, 25 * SEC);
        let branched = lab.scenario();
        assert_eq!(branched.faults.len(), 1);
        assert_eq!(branched.faults[0].at.nanos, 10 * SEC + 1);
        assert_eq!(lab.sim.trace_hash(), fresh_hash(&branched, 25 * SEC));
        // Seeking inside the branch stays in the branch.
        run_to(&mut lab, 15 * SEC);
        assert_eq!(lab.sim.trace_hash(), fresh_hash(&branched, 15 * SEC));
        assert!(lab.is_crashed("web1"));
    }

    #[test]
    fn moving_a_fault_on_the_timeline_rebuilds_the_run_to_the_same_moment() {
        let mut lab = lab();
        run_to(&mut lab, 8 * SEC);
        lab.toggle_crash("web2").unwrap();
        run_to(&mut lab, 20 * SEC);
        let mut faults = lab.scenario().faults;
        faults[0].at = engine::Duration::from_nanos(3 * SEC);
        lab.set_faults(faults.clone()).unwrap();
        lab.finish_seek();
        assert_eq!(lab.sim.now(), 20 * SEC);
        let s = lab.scenario();
        assert_eq!(s.faults, faults);
        assert_eq!(lab.sim.trace_hash(), fresh_hash(&s, 20 * SEC));
        // A schedule naming a node that does not exist is refused, and the
        // run is left as it was.
        let before = lab.sim.trace_hash();
        let mut bad = faults;
        bad.push(engine::fault::ScheduledFault {
            at: engine::Duration::from_nanos(SEC),
            fault: Fault::Crash { node: "nobody".into(), host_down: false },
        });
        assert!(lab.set_faults(bad).is_err());
        assert_eq!(lab.sim.trace_hash(), before);
    }
}
