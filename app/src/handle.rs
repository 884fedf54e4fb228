//! The lab as the views see it: the simulation (not reactive, changed only
//! through [`LabHandle`]'s methods) and the signals the views read.

use crate::event_log::LogLine;
use crate::examples;
use crate::lab::Lab;
use crate::snapshot::{self, Snapshot};
use engine::fault::Fault;
use engine::Scenario;
use leptos::prelude::*;

/// Real time a frame may spend simulating, in milliseconds (the rest of a
/// 16.7 ms frame is left for drawing).
pub const FRAME_BUDGET_MS: f64 = 8.0;

#[derive(Clone, Copy)]
pub struct LabHandle {
    lab: StoredValue<Option<Lab>, LocalStorage>,
    pub snapshot: RwSignal<Snapshot>,
    pub log: RwSignal<Vec<LogLine>>,
    pub selected: RwSignal<Option<String>>,
    /// A message for the user about something that did not work.
    pub notice: RwSignal<Option<String>>,
    /// The open example; changing it rebuilds the views.
    pub example: RwSignal<String>,
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
            snapshot: RwSignal::new(Snapshot::default()),
            log: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            notice: RwSignal::new(None),
            example: RwSignal::new(String::new()),
        };
        h.open(examples::DEFAULT);
        h
    }

    /// Opens a built-in example from the start.
    pub fn open(&self, id: &str) {
        let Some(ex) = examples::find(id) else {
            self.notice.set(Some(format!("There is no example named `{id}`.")));
            return;
        };
        let lab = Scenario::from_json(ex.json).and_then(|s| Lab::new(ex.id, &s));
        match lab {
            Ok(mut lab) => {
                if let Some(old) = self.lab.with_value(|l| l.as_ref().map(|l| (l.playing, l.speed))) {
                    lab.playing = old.0;
                    lab.speed = old.1;
                }
                self.lab.set_value(Some(lab));
                self.selected.set(None);
                self.notice.set(None);
                self.example.set(id.to_string());
                self.refresh();
            }
            Err(e) => self.notice.set(Some(format!("The example `{id}` could not be loaded: {e}"))),
        }
    }

    fn with_lab<R>(&self, f: impl FnOnce(&mut Lab) -> R) -> Option<R> {
        self.lab.try_update_value(|l| l.as_mut().map(f)).flatten()
    }

    /// Republishes what the views show.
    pub fn refresh(&self) {
        let snap = self.lab.with_value(|l| l.as_ref().map(snapshot::take));
        if let Some(snap) = snap {
            self.snapshot.set(snap);
        }
        let lines = self.lab.with_value(|l| l.as_ref().map(|l| l.log.lines().cloned().collect::<Vec<_>>()));
        if let Some(lines) = lines {
            if self
                .log
                .with_untracked(|old| old.last().map(|l| (l.id, l.repeat)) != lines.last().map(|l| (l.id, l.repeat)))
            {
                self.log.set(lines);
            }
        }
    }

    /// One animation frame: `wall_ms` of real time passed.
    pub fn frame(&self, wall_ms: f64, time_left: impl FnMut() -> bool) {
        let advanced = self.with_lab(|lab| {
            let before = (lab.sim.now(), lab.playing);
            lab.advance(wall_ms, time_left);
            before != (lab.sim.now(), lab.playing)
        });
        if advanced == Some(true) {
            self.refresh();
        }
    }

    pub fn set_playing(&self, playing: bool) {
        self.with_lab(|l| l.playing = playing);
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

    pub fn restart(&self) {
        let id = self.example.get_untracked();
        self.open(&id);
    }

    /// The load balancer `node`'s configuration as a haproxy.cfg; `None`
    /// for other kinds of node. The configuration does not change during a
    /// run, so this is read when a node is selected, not every frame.
    pub fn haproxy_cfg(&self, node: &str) -> Option<String> {
        self.lab.with_value(|l| {
            let sim = &l.as_ref()?.sim;
            sim.haproxy_cfg(sim.node_id(node)?)
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

    /// Applies a fault now (the faults panel).
    pub fn inject(&self, fault: Fault) {
        self.report(self.with_lab(|l| l.inject(fault)));
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

    fn report(&self, result: Option<Result<(), engine::ScenarioError>>) {
        match result {
            Some(Err(e)) => self.notice.set(Some(format!("That did not work: {e}"))),
            _ => self.notice.set(None),
        }
        self.refresh();
    }
}
