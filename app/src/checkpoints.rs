//! Saved states of the run, so the lab can seek into the simulated past:
//! restore the last checkpoint before the moment and simulate the rest
//! again. The run is deterministic, so the state reached is the one the
//! run had.
//!
//! Bounded: at most [`MAX_CHECKPOINTS`] are kept. When full, every second
//! one goes (the first, at time zero, stays) and they are taken half as
//! often, so a long run keeps checkpoints over its whole length.

use engine::fault::ScheduledFault;
use engine::time::{Time, NANOS_PER_SEC};
use engine::Simulation;

pub const MAX_CHECKPOINTS: usize = 24;
/// A checkpoint is taken after this much simulated time...
const FIRST_SPACING: Time = 2 * NANOS_PER_SEC;
/// ...or after this many events, whichever comes first, so that reaching
/// any moment from the checkpoint before it costs a bounded re-simulation
/// (about a tenth of a second in the browser).
const FIRST_SPACING_EVENTS: u64 = 150_000;

#[derive(Clone, Debug)]
pub struct Checkpoints {
    saved: Vec<Simulation>,
    spacing: Time,
    spacing_events: u64,
    /// Thinned at least once: the spacing grew.
    pub thinned: u32,
}

impl Checkpoints {
    /// Starts with the run at time zero.
    pub fn new(start: &Simulation) -> Checkpoints {
        Checkpoints {
            saved: vec![start.clone()],
            spacing: FIRST_SPACING,
            spacing_events: FIRST_SPACING_EVENTS,
            thinned: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.saved.len()
    }

    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }

    /// Times of the checkpoints, oldest first.
    pub fn times(&self) -> impl Iterator<Item = Time> + '_ {
        self.saved.iter().map(|s| s.now())
    }

    /// Saves `sim` if it is far enough past the last checkpoint.
    pub fn offer(&mut self, sim: &Simulation) {
        let Some(last) = self.saved.last() else {
            self.saved.push(sim.clone());
            return;
        };
        if sim.now() <= last.now() {
            return;
        }
        let due = sim.now() - last.now() >= self.spacing || sim.events() - last.events() >= self.spacing_events;
        if !due {
            return;
        }
        self.saved.push(sim.clone());
        if self.saved.len() > MAX_CHECKPOINTS {
            let mut i = 0;
            self.saved.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.spacing *= 2;
            self.spacing_events *= 2;
            self.thinned += 1;
        }
    }

    /// Forgets every checkpoint after `t` (the run changed from there).
    pub fn forget_after(&mut self, t: Time) {
        self.saved.retain(|s| s.now() <= t);
    }

    /// The run restored at the latest checkpoint no later than `t` that can
    /// become a run of `faults`: its faults are where `faults` starts, and
    /// the rest are still ahead of it (they are scheduled on the copy).
    pub fn restore(&self, t: Time, faults: &[ScheduledFault]) -> Option<Simulation> {
        self.restore_after(None, t, faults)
    }

    /// As [`Checkpoints::restore`], from checkpoints later than `after`
    /// only (none: a run already at `after` is closer).
    pub fn restore_after(&self, after: Option<Time>, t: Time, faults: &[ScheduledFault]) -> Option<Simulation> {
        let later = |s: &&Simulation| after.is_none_or(|a| s.now() > a);
        self.saved.iter().rev().filter(|s| s.now() <= t).filter(later).find_map(|s| {
            let known: Vec<&ScheduledFault> = s.fault_schedule().collect();
            let prefix = known.len() <= faults.len() && known.iter().zip(faults).all(|(a, b)| *a == b);
            let rest = &faults[known.len().min(faults.len())..];
            if !prefix || rest.iter().any(|f| f.at.nanos < s.earliest_fault_time()) {
                return None;
            }
            let mut sim = s.clone();
            for f in rest {
                sim.schedule_fault(f.at.nanos, f.fault.clone()).ok()?;
            }
            Some(sim)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples;
    use engine::fault::Fault;
    use engine::Scenario;

    fn scenario() -> Scenario {
        Scenario::from_json(examples::find("web-three-servers").unwrap().json).unwrap()
    }

    #[test]
    fn kept_bounded_and_spread_over_the_run() {
        let s = scenario();
        let mut sim = Simulation::new(&s).unwrap();
        let mut cps = Checkpoints::new(&sim);
        for sec in 1..=200 {
            sim.run_until(sec * NANOS_PER_SEC);
            cps.offer(&sim);
        }
        assert!(cps.len() <= MAX_CHECKPOINTS);
        assert!(cps.thinned > 0);
        let times: Vec<Time> = cps.times().collect();
        assert_eq!(times[0], 0);
        // Spread: none of the gaps is more than twice the spacing.
        for w in times.windows(2) {
            assert!(w[1] - w[0] <= 2 * cps.spacing, "{times:?}");
        }
        assert!(*times.last().unwrap() >= 150 * NANOS_PER_SEC, "{times:?}");
    }

    #[test]
    fn restoring_gives_the_state_the_run_had() {
        let s = scenario();
        let mut sim = Simulation::new(&s).unwrap();
        let mut cps = Checkpoints::new(&sim);
        let mut hashes = Vec::new();
        for sec in 1..=30 {
            sim.run_until(sec * NANOS_PER_SEC);
            cps.offer(&sim);
            hashes.push(sim.trace_hash());
        }
        let mut back = cps.restore(17 * NANOS_PER_SEC, &s.faults).unwrap();
        assert!(back.now() <= 17 * NANOS_PER_SEC);
        back.run_until(17 * NANOS_PER_SEC);
        assert_eq!(back.trace_hash(), hashes[16]);
    }

    #[test]
    fn faults_added_later_are_given_to_earlier_checkpoints() {
        let s = scenario();
        let mut sim = Simulation::new(&s).unwrap();
        let mut cps = Checkpoints::new(&sim);
        for sec in 1..=10 {
            sim.run_until(sec * NANOS_PER_SEC);
            cps.offer(&sim);
        }
        sim.apply_fault(Fault::Crash { node: "web1".into(), host_down: false }).unwrap();
        sim.run_until(15 * NANOS_PER_SEC);
        let faults: Vec<ScheduledFault> = sim.fault_schedule().cloned().collect();
        let mut back = cps.restore(5 * NANOS_PER_SEC, &faults).unwrap();
        back.run_until(15 * NANOS_PER_SEC);
        assert_eq!(back.trace_hash(), sim.trace_hash());

        // A fault moved to 1 s: only checkpoints before it can serve, and
        // the run from there is the replay's.
        let mut other = s.clone();
        other.faults = faults.clone();
        other.faults[0].at = engine::Duration::from_nanos(NANOS_PER_SEC);
        let mut back = cps.restore(5 * NANOS_PER_SEC, &other.faults).unwrap();
        assert!(back.now() < NANOS_PER_SEC);
        back.run_until(5 * NANOS_PER_SEC);
        let mut replay = Simulation::new(&other).unwrap();
        replay.run_until(5 * NANOS_PER_SEC);
        assert_eq!(back.trace_hash(), replay.trace_hash());
    }
}
