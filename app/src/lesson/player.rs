//! The lesson player's state: which step is open, its goals' states as the
//! run goes, hints and solution shown, the prediction, and the progress
//! kept in the browser. The views (`ui/lesson.rs`) read these signals and
//! call these methods; the lab runs the step's scenario as any other.

use super::goals::{Status, Tracker};
use super::progress::Progress;
use super::{course, setup};
use crate::handle::LabHandle;
use leptos::prelude::*;
use lesson::{Edit, Lesson, Step};

#[derive(Clone, Copy)]
pub struct LessonHandle {
    /// The lesson column is showing (the catalog, or a lesson).
    pub shown: RwSignal<bool>,
    /// The lesson (index in the course) and step (from 0) open.
    pub open: RwSignal<Option<(usize, usize)>>,
    pub progress: RwSignal<Progress>,
    /// The open step's goals, as of the lab's last frame.
    pub statuses: RwSignal<Vec<Status>>,
    /// How many hints are shown.
    pub hints: RwSignal<usize>,
    pub solution: RwSignal<bool>,
    /// The run has reached the step's end (the prediction is revealed).
    pub reached_end: RwSignal<bool>,
    /// Said once when a step's goals are all met, for screen readers too.
    pub announce: RwSignal<String>,
    /// (lab generation read, the tracker).
    tracker: StoredValue<(u64, Tracker), LocalStorage>,
}

impl LessonHandle {
    pub fn new() -> LessonHandle {
        LessonHandle {
            shown: RwSignal::new(false),
            open: RwSignal::new(None),
            progress: RwSignal::new(Progress::default()),
            statuses: RwSignal::new(Vec::new()),
            hints: RwSignal::new(0),
            solution: RwSignal::new(false),
            reached_end: RwSignal::new(false),
            announce: RwSignal::new(String::new()),
            tracker: StoredValue::new_local((0, Tracker::default())),
        }
    }

    pub fn lesson(&self) -> Option<&'static Lesson> {
        self.open.get().and_then(|(l, _)| course().lessons.get(l))
    }

    pub fn step(&self) -> Option<(&'static Lesson, usize, &'static Step)> {
        open_step_of(self.open.get())
    }

    /// Opens step `step` of lesson `id` in the lab: its scenario from time
    /// zero. On error (an unknown lesson or step) says so and changes
    /// nothing.
    pub fn open_step(&self, h: LabHandle, id: &str, step: usize) -> Result<(), String> {
        let (index, lesson) = course()
            .lessons
            .iter()
            .enumerate()
            .find(|(_, l)| l.id == id)
            .ok_or_else(|| format!("there is no lesson `{id}`"))?;
        if step >= lesson.steps.len() {
            return Err(format!("the lesson `{id}` has {} steps, not {}", lesson.steps.len(), step + 1));
        }
        let scenario = setup::step_scenario(lesson, step)?;
        h.open_scenario(crate::persist::source_of(&scenario), &scenario, 0).map_err(|e| e.to_string())?;
        // Paused at time zero: read the step, predict, then run.
        h.set_playing(false);
        self.show_step(h, index, step);
        Ok(())
    }

    /// Shows step `step` of lesson `index` over whatever the lab holds
    /// (the learner's work, after a reload).
    fn show_step(&self, h: LabHandle, index: usize, step: usize) {
        let lesson = &course().lessons[index];
        self.open.set(Some((index, step)));
        self.shown.set(true);
        self.hints.set(0);
        self.solution.set(false);
        self.reached_end.set(false);
        self.announce.set(String::new());
        self.tracker.set_value((0, Tracker::new(&lesson.steps[step].goals)));
        self.statuses.set(Vec::new());
        self.progress.update(|p| {
            p.lesson_mut(&lesson.id).at = step;
            p.open = Some(lesson.id.clone());
        });
        self.save();
        self.update(h);
    }

    /// Closes the lesson, back to the catalog.
    pub fn close(&self) {
        self.open.set(None);
        self.statuses.set(Vec::new());
        self.progress.update(|p| p.open = None);
        self.save();
    }

    /// Reads the lab's run: the goals' states, the end reached, and the
    /// step marked done when every goal holds. Called after each frame.
    pub fn update(&self, h: LabHandle) {
        let Some((lesson, step_index, step)) = self.step_untracked() else { return };
        let read = h.lab.with_value(|lab| {
            let lab = lab.as_ref()?;
            let statuses = self
                .tracker
                .try_update_value(|(generation, tracker)| {
                    if *generation != lab.generation {
                        tracker.rewind(lab.shared_events);
                        *generation = lab.generation;
                    }
                    tracker.pull(&step.goals, &lab.sim);
                    tracker.statuses(&step.goals, &lab.sim, lab.consistency())
                })
                .unwrap_or_default();
            Some((statuses, lab.sim.now() >= lab.sim.scenario().duration.nanos))
        });
        let Some((statuses, end)) = read else { return };
        let all_met = !statuses.is_empty() && statuses.iter().all(|s| s.met);
        if self.statuses.with_untracked(|old| *old != statuses) {
            self.statuses.set(statuses);
        }
        if self.reached_end.get_untracked() != end {
            self.reached_end.set(end);
        }
        let done_before = self.progress.with_untracked(|p| p.lesson(&lesson.id).is_done(step_index));
        // Goals are judged at the step's end: a window of the last seconds
        // means the run's last seconds, and the failure a step is about may
        // come late in the run.
        if all_met && end && !done_before {
            self.progress.update(|p| {
                let lp = p.lesson_mut(&lesson.id);
                lp.done.push(step_index);
                lp.done.sort_unstable();
            });
            self.save();
            let next = if step_index + 1 < lesson.steps.len() {
                " Go on to the next step when you are ready."
            } else {
                " That was the lesson's last step."
            };
            self.announce.set(format!("Step {} done: every goal is met.{next}", step_index + 1));
        }
    }

    /// Commits the learner's prediction for the open step.
    pub fn predict(&self, option: usize) {
        let Some((lesson, step, _)) = self.step_untracked() else { return };
        self.progress.update(|p| {
            p.lesson_mut(&lesson.id).predicted.insert(step, option);
        });
        self.save();
    }

    pub fn prediction(&self) -> Option<usize> {
        let (lesson, step, _) = self.step()?;
        self.progress.with(|p| p.lessons.get(&lesson.id).and_then(|l| l.predicted.get(&step).copied()))
    }

    fn step_untracked(&self) -> Option<(&'static Lesson, usize, &'static Step)> {
        open_step_of(self.open.get_untracked())
    }

    /// Makes the step's reference solution in the lab, as one undoable
    /// editing step, from the scenario as it stands.
    pub fn apply_solution(&self, h: LabHandle) -> Result<(), String> {
        let Some((_, _, step)) = self.step_untracked() else { return Ok(()) };
        h.perform(|doc| setup::apply(doc, &step.solution).map(|d| (d, "make the lesson's solution".to_string())))?;
        Ok(())
    }

    fn save(&self) {
        #[cfg(target_arch = "wasm32")]
        if let Some(mut store) = crate::share::autosave::local_storage() {
            let _ = self.progress.with_untracked(|p| super::progress::save(&mut store, p));
        }
    }

    /// Reads the progress kept in this browser; says if it was unreadable.
    pub fn load_progress(&self, h: LabHandle) {
        #[cfg(target_arch = "wasm32")]
        if let Some(mut store) = crate::share::autosave::local_storage() {
            let (p, problem) = super::progress::load(&mut store, course());
            self.progress.set(p);
            if let Some(problem) = problem {
                h.notice.set(Some(problem));
            }
        }
        let _ = h;
    }

    /// Shows again the lesson that was open when the page was left, over
    /// the work the lab restored.
    pub fn reopen(&self, h: LabHandle) {
        let open = self.progress.with_untracked(|p| p.open.clone().map(|id| (p.lesson(&id).at, id)));
        if let Some((step, id)) = open {
            if let Some(index) = course().lessons.iter().position(|l| l.id == id) {
                self.show_step(h, index, step.min(course().lessons[index].steps.len() - 1));
            }
        }
    }
}

impl Default for LessonHandle {
    fn default() -> Self {
        LessonHandle::new()
    }
}

/// The lesson and step that `open` (lesson index, step) names.
fn open_step_of(open: Option<(usize, usize)>) -> Option<(&'static Lesson, usize, &'static Step)> {
    let (l, s) = open?;
    let lesson = course().lessons.get(l)?;
    Some((lesson, s, lesson.steps.get(s)?))
}

/// An edit in words, for the solution as shown.
pub fn describe_edit(e: &Edit) -> String {
    match e {
        Edit::Set { node, path, to } => format!("Set {path} of {node} to {to}."),
        Edit::Add { kind, name } => format!("Add a {} (the lab names it {name}).", kind.replace('_', " ")),
        Edit::Connect { a, b } => format!("Connect {a} to {b}."),
        Edit::Disconnect { a, b } => format!("Disconnect {a} from {b}."),
        Edit::Delete { node } => format!("Delete {node}."),
        Edit::Fault { fault } => format!("Schedule the fault {fault}."),
        Edit::Nemesis { faults, targets, from, until, interval } => {
            let (whom, tick) = if targets.is_empty() {
                ("every node but the clients".to_string(), "tick no node under Partition")
            } else {
                (targets.join(", "), "tick the targets under Partition")
            };
            format!(
                "Plan random faults ({faults}) on {whom}, about every {interval}, from {from} to {until}: \
                 pause at {from}, {tick}, and use Random faults (nemesis)."
            )
        }
        Edit::Duration { to } => format!("Make the run last {to}."),
    }
}

/// The fragment of a link to a lesson step: `#lesson/<id>/<step from 1>`.
pub fn step_link(id: &str, step: usize) -> String {
    format!("#lesson/{id}/{}", step + 1)
}

/// Reads a lesson link's fragment: `None` if it is not one, else the
/// lesson id and the step (from 0) or why it is wrong.
pub fn parse_step_link(hash: &str) -> Option<Result<(String, usize), String>> {
    let rest = hash.trim_start_matches('#').strip_prefix("lesson/")?;
    let (id, step) = match rest.split_once('/') {
        Some((id, n)) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => (id, n - 1),
            _ => return Some(Err(format!("`{n}` is not a step number (they start at 1)"))),
        },
        None => (rest, 0),
    };
    if id.is_empty() || id.len() > 64 {
        return Some(Err("the link names no lesson".into()));
    }
    Some(Ok((id.to_string(), step)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_links_round_trip_and_bad_ones_say_why() {
        assert_eq!(parse_step_link(&step_link("raft", 1)), Some(Ok(("raft".into(), 1))));
        assert_eq!(parse_step_link("#lesson/raft"), Some(Ok(("raft".into(), 0))));
        assert_eq!(parse_step_link("#v1.abc"), None);
        assert!(parse_step_link("#lesson/raft/0").unwrap().is_err());
        assert!(parse_step_link("#lesson/raft/two").unwrap().is_err());
        assert!(parse_step_link("#lesson/").unwrap().is_err());
    }

    #[test]
    fn a_nemesis_solution_says_which_nodes_to_tick() {
        let nemesis = |targets: &[&str]| Edit::Nemesis {
            faults: "kill".into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            from: "0s".into(),
            until: "25s".into(),
            interval: "3s".into(),
        };
        let named = describe_edit(&nemesis(&["b1", "b2"]));
        assert!(named.contains("on b1, b2,") && named.contains("tick the targets under Partition"), "{named}");
        let all = describe_edit(&nemesis(&[]));
        assert!(all.contains("every node but the clients") && all.contains("tick no node under Partition"), "{all}");
    }
}
