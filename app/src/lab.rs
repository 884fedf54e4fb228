//! The lab's state as plain Rust: the running simulation, how fast it runs,
//! and what the user did to it. The UI reads it and calls its methods; it
//! never decides what the simulation does.

use crate::event_log::EventLog;
use engine::fault::Fault;
use engine::node::Status;
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
}

impl Lab {
    pub fn new(example: &str, scenario: &Scenario) -> Result<Lab, ScenarioError> {
        let sim = Simulation::new(scenario)?;
        let mut log = EventLog::default();
        log.pull(&sim);
        Ok(Lab {
            example: example.to_string(),
            sim,
            playing: true,
            speed: 1.0,
            behind: false,
            log,
            achieved_speed: 1.0,
            stop_at: Some(scenario.duration.nanos),
            reached_end: false,
        })
    }

    /// Advances the simulation by `wall_ms` of real time at the chosen
    /// speed, while `time_left()` says the frame has budget. Returns the
    /// events processed.
    pub fn advance(&mut self, wall_ms: f64, mut time_left: impl FnMut() -> bool) -> u64 {
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
        }
        if wall_ms > 0.0 {
            let achieved = (self.sim.now() - start_time) as f64 / (wall_ms * NANOS_PER_MILLI as f64);
            self.achieved_speed = 0.9 * self.achieved_speed + 0.1 * achieved;
        }
        self.log.pull(&self.sim);
        self.sim.events() - start_events
    }

    /// Processes exactly one event (while paused, to look closely).
    pub fn step(&mut self) {
        self.sim.step();
        self.log.pull(&self.sim);
    }

    fn apply(&mut self, fault: Fault) -> Result<(), ScenarioError> {
        // Faults take effect as events: run up to it so the view shows it.
        let at = self.sim.apply_fault(fault)?;
        self.sim.run_through(at);
        self.log.pull(&self.sim);
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
        self.apply(fault)
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
        self.apply(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;

    fn lab() -> Lab {
        let ex = examples::find(examples::DEFAULT).unwrap();
        Lab::new(ex.id, &Scenario::from_json(ex.json).unwrap()).unwrap()
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
}
