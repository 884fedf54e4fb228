//! The lab as the views see it: the simulation (not reactive, changed only
//! through [`LabHandle`]'s methods) and the signals the views read.

use crate::event_log::LogLine;
use crate::examples;
use crate::lab::Lab;
use crate::path_view::PathView;
use crate::snapshot::{self, Snapshot};
use engine::fault::nemesis::{Nemesis, NemesisFault};
use engine::fault::{Fault, ScheduledFault};
use engine::{Scenario, ScenarioError};
use leptos::prelude::*;

/// Real time a frame may spend simulating, in milliseconds (the rest of a
/// 16.7 ms frame is left for drawing).
pub const FRAME_BUDGET_MS: f64 = 8.0;
/// The same while seeking: the page still answers a few times a second.
pub const SEEK_BUDGET_MS: f64 = 100.0;

/// The variant pinned for comparison: its own run, kept at the lab's
/// moment and given the lab's faults.
struct Baseline {
    name: String,
    lab: Lab,
    /// The lab's fault schedule it could not take, and why (not retried
    /// until the schedule changes).
    refused: Option<(Vec<ScheduledFault>, String)>,
}

#[derive(Clone, Copy)]
pub struct LabHandle {
    pub(crate) lab: StoredValue<Option<Lab>, LocalStorage>,
    baseline: StoredValue<Option<Baseline>, LocalStorage>,
    pub snapshot: RwSignal<Snapshot>,
    pub log: RwSignal<Vec<LogLine>>,
    pub selected: RwSignal<Option<String>>,
    /// A message for the user about something that did not work.
    pub notice: RwSignal<Option<String>>,
    /// The open example's id ("" for a scenario that is not one).
    pub example: RwSignal<String>,
    /// The open scenario's name and description.
    pub meta: RwSignal<(String, String)>,
    /// The editor's undo history and draft (see [`crate::handle_edit`]).
    pub(crate) editor: crate::handle_edit::Editor,
    /// The request path panel's operation, or why it could not be
    /// followed.
    pub path: RwSignal<Option<Result<PathView, String>>>,
    /// The operation the request path panel is following and how far (0
    /// to 1), while that takes more than a frame.
    pub following: RwSignal<Option<(u32, f64)>>,
    /// The frame after a click that started following a path only draws.
    path_drawn_first: StoredValue<bool>,
}

/// Which operation the request path panel follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathPick {
    Op(u32),
    Slowest,
    LatestError,
}

impl Default for LabHandle {
    fn default() -> Self {
        LabHandle::new()
    }
}

impl LabHandle {
    pub fn new() -> LabHandle {
        let h = LabHandle {
            lab: StoredValue::new_local(None),
            baseline: StoredValue::new_local(None),
            snapshot: RwSignal::new(Snapshot::default()),
            log: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            notice: RwSignal::new(None),
            example: RwSignal::new(String::new()),
            meta: RwSignal::new(Default::default()),
            editor: crate::handle_edit::Editor::new(),
            path: RwSignal::new(None),
            following: RwSignal::new(None),
            path_drawn_first: StoredValue::new(false),
        };
        h.open(examples::DEFAULT);
        h
    }

    /// Opens a built-in example from the start.
    pub fn open(&self, id: &str) {
        let Some((id, s)) = examples::parsed().iter().find(|(e, _)| *e == id) else {
            self.notice.set(Some(format!("There is no example named `{id}`.")));
            return;
        };
        if let Err(e) = self.open_scenario(id, s, 0) {
            self.notice.set(Some(format!("The example `{id}` could not be loaded: {e}")));
        }
    }

    /// Opens a scenario (a template, a share link, an imported file, saved
    /// work, an edit) and goes to `at_ns` of its run. `source` is the
    /// example's id, if it is one. On error the lab is left as it was.
    pub fn open_scenario(&self, source: &str, scenario: &Scenario, at_ns: u64) -> Result<(), ScenarioError> {
        let mut lab = Lab::new(source, scenario)?;
        // The new run plays unless the learner paused the old one: a run
        // that stopped at its end was not paused by anyone.
        if let Some(old) = self.lab.with_value(|l| l.as_ref().map(|l| (l.playing || l.reached_end, l.speed))) {
            lab.playing = old.0;
            lab.speed = old.1;
        }
        if at_ns > 0 {
            lab.seek(at_ns);
        }
        self.lab.set_value(Some(lab));
        self.selected.set(None);
        self.notice.set(None);
        self.path.set(None);
        self.following.set(None);
        self.example.set(source.to_string());
        self.meta.set((scenario.name.clone(), scenario.description.clone()));
        self.refresh();
        Ok(())
    }

    pub(crate) fn with_lab<R>(&self, f: impl FnOnce(&mut Lab) -> R) -> Option<R> {
        self.lab.try_update_value(|l| l.as_mut().map(f)).flatten()
    }

    /// Republishes what the views show.
    pub fn refresh(&self) {
        let snap = self.lab.with_value(|l| l.as_ref().map(snapshot::take));
        if let Some(mut snap) = snap {
            snap.baseline = self.baseline.with_value(|b| {
                b.as_ref()
                    .map(|b| snapshot::baseline(&b.lab, &b.name, snap.now_ns, b.refused.as_ref().map(|r| r.1.as_str())))
            });
            self.snapshot.set(snap);
        }
        // A path followed in a run with other faults is not this run's.
        let other_run = self.lab.with_value(|l| {
            let Some(l) = l.as_ref() else { return false };
            self.path.with_untracked(|p| matches!(p, Some(Ok(v)) if !l.sim.fault_schedule().eq(v.faults.iter())))
        });
        if other_run {
            self.path.set(None);
        }
        let lines = self.lab.with_value(|l| l.as_ref().map(|l| l.log.lines().cloned().collect::<Vec<_>>()));
        if let Some(lines) = lines {
            let changes = crate::event_log::EventLog::changes;
            if self.log.with_untracked(|old| changes(old) != changes(&lines)) {
                self.log.set(lines);
            }
        }
    }

    /// One animation frame: `wall_ms` of real time passed.
    pub fn frame(&self, wall_ms: f64, mut time_left: impl FnMut() -> bool) {
        // A path being followed first: the learner is waiting for it.
        if !self.path_drawn_first.try_update_value(std::mem::take).unwrap_or(false) {
            self.continue_path(&mut time_left);
        }
        let advanced = self.with_lab(|lab| {
            let before = (lab.sim.now(), lab.playing, lab.seeking);
            lab.advance(wall_ms, &mut time_left);
            // While a seek runs, the view keeps what `seek` showed (where it
            // is going) until it gets there: drawing the moments in between
            // would only slow it down.
            lab.seeking.is_none() && before != (lab.sim.now(), lab.playing, lab.seeking)
        });
        let followed = self.follow(time_left);
        if advanced == Some(true) || followed {
            self.refresh();
        }
    }

    /// Real time a frame may spend simulating now: more while seeking or
    /// following a path, when the learner is waiting for the moment or the
    /// path, not watching the way there.
    pub fn budget_ms(&self) -> f64 {
        let waiting = self.lab.with_value(|l| l.as_ref().is_some_and(|l| l.seeking.is_some()))
            || (self.following.with_untracked(Option::is_some) && !self.path_drawn_first.get_value());
        if waiting {
            SEEK_BUDGET_MS
        } else {
            FRAME_BUDGET_MS
        }
    }

    /// Brings the pinned variant to the lab's moment and faults, within
    /// the frame's budget. True if it moved.
    fn follow(&self, time_left: impl FnMut() -> bool) -> bool {
        if self.baseline.with_value(Option::is_none) {
            return false;
        }
        let Some((now, faults)) = self.lab.with_value(|l| {
            let l = l.as_ref()?;
            Some((l.sim.now(), l.sim.fault_schedule().cloned().collect::<Vec<_>>()))
        }) else {
            return false;
        };
        self.baseline
            .try_update_value(|b| {
                let b = b.as_mut()?;
                let theirs: Vec<ScheduledFault> = b.lab.sim.fault_schedule().cloned().collect();
                let refused_before = b.refused.as_ref().is_some_and(|(f, _)| *f == faults);
                if theirs != faults && !refused_before {
                    match b.lab.set_faults(faults.clone()) {
                        Ok(()) => b.refused = None,
                        Err(e) => b.refused = Some((faults, format!("It cannot take the lab's faults: {e}"))),
                    }
                }
                if b.lab.sim.now() == now && b.lab.seeking.is_none() {
                    return Some(false);
                }
                if b.lab.seeking != Some(now) {
                    b.lab.seek(now);
                }
                b.lab.advance(0.0, time_left);
                Some(true)
            })
            .flatten()
            .unwrap_or(false)
    }

    /// Pins the lab's scenario as it stands as the variant to compare with.
    pub fn pin_baseline(&self) {
        let pinned = self.lab.with_value(|l| {
            let l = l.as_ref()?;
            let name = l.sim.scenario().name.clone();
            Some((if name.is_empty() { "the pinned scenario".to_string() } else { name }, l.scenario()))
        });
        let Some((name, scenario)) = pinned else { return };
        match Lab::new(&name, &scenario) {
            Ok(mut lab) => {
                lab.playing = false;
                self.baseline.set_value(Some(Baseline { name, lab, refused: None }));
            }
            Err(e) => self.notice.set(Some(format!("That could not be pinned: {e}"))),
        }
        self.refresh();
    }

    pub fn unpin_baseline(&self) {
        self.baseline.set_value(None);
        self.refresh();
    }

    pub fn set_playing(&self, playing: bool) {
        self.with_lab(|l| {
            l.playing = playing;
            // Played on past its end, a later pause is the learner's.
            l.reached_end &= !playing;
        });
        self.refresh();
    }

    pub fn set_speed(&self, speed: f64) {
        self.with_lab(|l| l.speed = speed);
        self.refresh();
    }

    pub fn step(&self) {
        self.with_lab(|l| {
            l.playing = false;
            l.step();
        });
        self.refresh();
    }

    /// Back to time zero of this run, playing; its faults stay on the
    /// timeline.
    pub fn restart(&self) {
        self.with_lab(|l| {
            l.seek(0);
            l.finish_seek();
            l.playing = true;
        });
        self.refresh();
    }

    /// Node `node`'s configuration as the real program's file, named
    /// (`haproxy.cfg`, `redis.conf`); `None` for other kinds of node.
    pub fn config_file(&self, node: &str) -> Option<(&'static str, String)> {
        self.lab.with_value(|l| {
            let sim = &l.as_ref()?.sim;
            sim.config_file(sim.node_id(node)?)
        })
    }

    pub fn toggle_crash(&self, node: &str) {
        self.report(self.with_lab(|l| l.toggle_crash(node)));
    }

    pub fn toggle_link(&self, a: &str, b: &str) {
        self.report(self.with_lab(|l| l.toggle_link(a, b)));
    }

    /// Goes to simulated time `t_ns` of the run (the scrubber, a jump to a
    /// violation).
    pub fn seek(&self, t_ns: u64) {
        self.with_lab(|l| l.seek(t_ns));
        self.refresh();
    }

    /// Follows a client operation through the run, for the request path
    /// panel: simulated again from the checkpoint before it, as much as a
    /// seek's frame allows at once (most of them), the rest over the next
    /// frames.
    pub fn follow_op(&self, pick: PathPick) {
        let started = self.with_lab(|l| {
            let op = match pick {
                PathPick::Op(op) => Some(op),
                PathPick::Slowest => l.sim.slowest_op(),
                PathPick::LatestError => l.sim.latest_failed_op(),
            };
            let Some(op) = op else {
                l.stop_path();
                return Err(match pick {
                    PathPick::LatestError => "No operation has failed or gone unanswered so far.".to_string(),
                    _ => "No operation has completed so far.".to_string(),
                });
            };
            l.start_path(op)
        });
        match started {
            Some(Ok(())) => {
                self.path.set(None);
                let start = crate::frame_loop::now_ms();
                if self.continue_path(|| crate::frame_loop::now_ms() - start < SEEK_BUDGET_MS) {
                    // Not done: the next frame draws the progress before
                    // it follows on (else the two pieces would be one).
                    self.path_drawn_first.set_value(true);
                }
            }
            Some(Err(why)) => self.path_error(why),
            None => {}
        }
    }

    /// Says in the request path panel why a path cannot be followed (and
    /// stops following one).
    pub fn path_error(&self, why: String) {
        self.with_lab(Lab::stop_path);
        self.following.set(None);
        self.path.set(Some(Err(why)));
    }

    /// Follows the request path panel's operation on within `time_left()`;
    /// true while it is followed.
    fn continue_path(&self, time_left: impl FnMut() -> bool) -> bool {
        let Some((done, progress)) = self.with_lab(|l| {
            let done = l
                .continue_path(time_left)
                .map(|path| path.map(|p| PathView::new(&p, l.sim.fault_schedule().cloned().collect())));
            (done, l.path_progress())
        }) else {
            return false;
        };
        match (done, self.following.get_untracked(), progress) {
            (Some(path), _, _) => self.path.set(Some(path)),
            // The lab stopped it: its run changed.
            (None, Some((op, _)), None) => self.path.set(Some(Err(format!(
                "Following operation {op} stopped: the run changed (a fault was added, moved or deleted). Follow it again to see its path in this run."
            )))),
            _ => {}
        }
        if self.following.with_untracked(|f| *f != progress) {
            self.following.set(progress);
        }
        progress.is_some()
    }

    /// Applies a fault now (the faults panel).
    pub fn inject(&self, fault: Fault) {
        self.report(self.with_lab(|l| l.inject(fault)));
    }

    /// The work to keep or share: the scenario as it stands and the moment
    /// of its run (where a seek is going, if one is under way).
    pub fn current_work(&self) -> Option<(Scenario, u64)> {
        self.lab.with_value(|l| l.as_ref().map(|l| (l.scenario(), l.seeking.unwrap_or(l.sim.now()))))
    }

    /// The scenario as it stands, with every fault added.
    pub fn scenario(&self) -> Option<Scenario> {
        self.lab.with_value(|l| l.as_ref().map(|l| l.scenario()))
    }

    /// Moves fault `index` of the schedule to `at_ns` (`None`: deletes it);
    /// the run is rebuilt to the moment it was at.
    pub fn edit_fault(&self, index: usize, at_ns: Option<u64>) {
        let result = self.with_lab(|l| {
            let mut faults = l.scenario().faults;
            if index >= faults.len() {
                return Ok(());
            }
            match at_ns {
                Some(t) => faults[index].at = engine::Duration::from_nanos(t),
                None => {
                    faults.remove(index);
                }
            }
            l.set_faults(faults)
        });
        self.report(result);
    }

    /// Adds a nemesis's random faults to the schedule, from now for `span`
    /// (see [`engine::fault::nemesis`]), striking `targets` or, if none are
    /// given, every node but the clients. Returns how many faults it added
    /// and when they end; says in the notice why not, changing nothing.
    pub fn plan_nemesis(
        &self,
        faults: Vec<NemesisFault>,
        targets: Vec<String>,
        interval: engine::Duration,
        span: engine::Duration,
    ) -> Option<(usize, u64)> {
        let result = self.with_lab(|l| {
            let mut scenario = l.scenario();
            // From the next whole millisecond, so the faults' times read
            // "4.783s", not "4.783399969s".
            let ms = engine::time::NANOS_PER_MILLI;
            let from = l.sim.now().div_ceil(ms) * ms;
            let nemesis = Nemesis {
                faults,
                targets: if targets.is_empty() { Nemesis::default_targets(&scenario) } else { targets },
                from: engine::Duration::from_nanos(from),
                until: engine::Duration::from_nanos(from.saturating_add(span.as_nanos())),
                interval,
            };
            let added = nemesis.add_to(&mut scenario)?;
            l.set_faults(scenario.faults).map_err(|e| e.to_string())?;
            Ok::<_, String>((added, nemesis.until.as_nanos()))
        });
        let outcome = match result {
            Some(Err(e)) => {
                self.notice.set(Some(format!("Random faults: {e}")));
                None
            }
            Some(Ok(planned)) => {
                self.notice.set(None);
                Some(planned)
            }
            None => None,
        };
        self.refresh();
        outcome
    }

    pub(crate) fn report(&self, result: Option<Result<(), engine::ScenarioError>>) {
        match result {
            Some(Err(e)) => self.notice.set(Some(format!("That did not work: {e}"))),
            _ => self.notice.set(None),
        }
        self.refresh();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline_state(h: &LabHandle) -> Option<(u64, String, usize)> {
        h.baseline.with_value(|b| {
            b.as_ref().map(|b| (b.lab.sim.now(), b.lab.sim.trace_hash(), b.lab.sim.fault_schedule().count()))
        })
    }

    #[test]
    fn a_pinned_variant_follows_the_labs_moment_and_faults() {
        let h = LabHandle::new();
        h.set_playing(false);
        h.pin_baseline();
        h.seek(3_000_000_000);
        for _ in 0..100 {
            h.frame(16.0, || true);
        }
        h.toggle_crash("web2");
        h.seek(6_000_000_000);
        for _ in 0..100 {
            h.frame(16.0, || true);
        }
        let (now, hash) = h.lab.with_value(|l| {
            let l = l.as_ref().unwrap();
            (l.sim.now(), l.sim.trace_hash())
        });
        assert_eq!(now, 6_000_000_000);
        // The same scenario, seed and faults: the very same run.
        assert_eq!(baseline_state(&h), Some((now, hash, 1)));
        let view = h.snapshot.with_untracked(|s| s.baseline.clone()).unwrap();
        assert!(!view.behind && view.problem.is_none(), "{view:?}");

        // A variant without the crashed node cannot take the fault, and
        // says so.
        h.open("db-async-failover");
        h.set_playing(false);
        h.toggle_crash("db1");
        for _ in 0..10 {
            h.frame(16.0, || true);
        }
        let view = h.snapshot.with_untracked(|s| s.baseline.clone()).unwrap();
        let problem = view.problem.unwrap();
        assert!(
            problem.starts_with("It cannot take the lab's faults: ") && problem.contains("no node is named"),
            "{problem}"
        );
        h.unpin_baseline();
        assert!(baseline_state(&h).is_none());
    }
}
