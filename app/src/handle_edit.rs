//! The editor inside the lab: an undo history of scenario documents, and
//! the [`LabHandle`] methods that apply an editing operation of
//! [`crate::editor`], record it, and run the result.
//!
//! **Every edit restarts the run** from time zero, with the faults
//! scheduled so far (the run of a changed topology is a different run).
//!
//! **Exact undo.** Before an edit (or an undo), if the document as it
//! stands differs from the history's current one (faults were added during
//! the run, or another scenario was opened), that difference is recorded
//! as a step of its own, so undoing never loses anything silently.
//!
//! **Drafts.** A document the engine cannot run yet ([`editor::problem`]:
//! a client without a target, a load balancer without servers) stays in
//! the history and on the canvas, drawn from the document itself: the run
//! is stopped (there is no simulation) until an edit or an undo makes the
//! document complete again, and the lab says what is missing.

use crate::editor::config_form::{self, FieldError};
use crate::editor::moving::{self, Direction, BIG_STEP, MARGIN_X, MARGIN_Y, STEP};
use crate::editor::palette;
use crate::editor::undo::{label, History};
use crate::editor::{self, connect, delete, templates, EditError};
use crate::handle::LabHandle;
use crate::snapshot::{LinkView, NodeView, Snapshot, COMPACT_ABOVE, HEIGHT, WIDTH};
use engine::components::Kind;
use engine::Scenario;
use leptos::prelude::*;
use std::fmt::Display;

/// The editor's state, one field of [`LabHandle`].
#[derive(Clone, Copy)]
pub struct Editor {
    history: StoredValue<Option<History<Scenario>>, LocalStorage>,
    /// Bumped whenever the history changes, so labels are read again.
    version: RwSignal<u64>,
    /// What keeps the document from running, while it is a draft.
    draft: RwSignal<Option<String>>,
    /// Playing and speed of the run a draft stopped, given back to the run
    /// once the document is complete.
    stopped: StoredValue<Option<(bool, f64)>, LocalStorage>,
    /// What the last edit, undo or redo did, in words.
    pub status: RwSignal<String>,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new()
    }
}

impl Editor {
    pub fn new() -> Editor {
        Editor {
            history: StoredValue::new_local(None),
            version: RwSignal::new(0),
            draft: RwSignal::new(None),
            stopped: StoredValue::new_local(None),
            status: RwSignal::new(String::new()),
        }
    }
}

/// How a change the editor did not make is labelled in the history.
fn outside_label(before: &Scenario, after: &Scenario) -> String {
    let mut a = before.clone();
    a.faults.clone_from(&after.faults);
    if a == *after {
        "change the run's faults".to_string()
    } else if after.name.is_empty() {
        "open another scenario".to_string()
    } else {
        format!("open “{}”", after.name)
    }
}

/// Writes the drawn position of every node that has none: where
/// `drawn` (the canvas) shows it, else where the automatic layout puts
/// it. Moving or adding a node then shifts no other.
fn pin_drawn(doc: &Scenario, drawn: &[NodeView]) -> Scenario {
    if doc.nodes.iter().all(|n| n.pos.is_some()) {
        return doc.clone();
    }
    let mut out = moving::pin_positions(doc);
    for (i, n) in doc.nodes.iter().enumerate() {
        if n.pos.is_none() {
            if let Some(v) = drawn.iter().find(|v| v.name == n.name) {
                out.nodes[i].pos = Some([v.x, v.y]);
            }
        }
    }
    out
}

/// The canvas column where nodes of `kind` go (as the automatic layout).
fn column_x(kind: Kind) -> f64 {
    let col = match kind {
        Kind::Client | Kind::KafkaProducer | Kind::KafkaConsumer => 0.0,
        Kind::LoadBalancer => 1.0,
        Kind::Server | Kind::Sentinel | Kind::KafkaBroker => 2.0,
        Kind::Database | Kind::Cache | Kind::RaftKv | Kind::KafkaController => 3.0,
    };
    80.0 + col * 180.0
}

/// Where a new node of `kind` goes: the free spot nearest its kind's
/// column, top first, where it overlaps no node (drawn 128 x 48); on a
/// full canvas, the spot furthest from every node.
pub fn free_spot(doc: &Scenario, kind: Kind) -> [f64; 2] {
    let taken = moving::positions(doc);
    // How clear a spot is: below 1, it overlaps a node.
    let clearance = |[x, y]: [f64; 2]| {
        taken.iter().map(|[tx, ty]| ((x - tx).abs() / 136.0).max((y - ty).abs() / 56.0)).fold(f64::INFINITY, f64::min)
    };
    let cx = column_x(kind).clamp(MARGIN_X, WIDTH - MARGIN_X);
    let mut spots = Vec::new();
    let mut x = MARGIN_X;
    while x <= WIDTH - MARGIN_X {
        let mut y = MARGIN_Y + 16.0;
        while y <= HEIGHT - MARGIN_Y {
            spots.push([x, y]);
            y += 8.0;
        }
        x += 8.0;
    }
    spots.push([cx, HEIGHT / 2.0]);
    checker::sort::sort_by(&mut spots, |a, b| {
        ((a[0] - cx).abs(), a[1]).partial_cmp(&((b[0] - cx).abs(), b[1])).expect("finite")
    });
    if let Some(s) = spots.iter().find(|s| clearance(**s) >= 1.0) {
        return *s;
    }
    *spots.iter().max_by(|a, b| clearance(**a).total_cmp(&clearance(**b))).expect("spots")
}

/// What keeps `doc` from running, in words, with what the node it names
/// still needs (from the palette) when that is known.
pub fn draft_problem_of(doc: &Scenario) -> Option<String> {
    let p = editor::problem(doc)?;
    let named = p.strip_prefix('`').and_then(|r| r.split_once('`')).map(|(n, _)| n);
    let needs = named
        .and_then(|n| doc.nodes.iter().find(|x| x.name == n))
        .and_then(|x| palette::entry(x.component.kind()).needs.map(|needs| (x.name.as_str(), needs)));
    Some(match needs {
        Some((name, needs)) => format!("{p} (to run, {name} needs: {needs})"),
        None => p,
    })
}

/// What the canvas shows of a document that cannot run: its nodes and
/// links where they are, marked as not running, and why the run stopped.
pub fn draft_snapshot(doc: &Scenario, problem: &str, before: &Snapshot) -> Snapshot {
    let at = moving::positions(doc);
    let nodes: Vec<NodeView> = doc
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let [x, y] = at[i];
            let kind = n.component.kind();
            let mut details = vec![
                ("kind".to_string(), kind.name().replace('_', " ")),
                ("process".to_string(), "not running: the scenario is incomplete".to_string()),
            ];
            if let Some(needs) = palette::entry(kind).needs {
                details.push(("to run, it needs".to_string(), needs.to_string()));
            }
            NodeView {
                name: n.name.clone(),
                kind,
                x,
                y,
                state: "draft",
                badge: "not running".to_string(),
                details,
                tables: Vec::new(),
                lb_servers: Vec::new(),
            }
        })
        .collect();
    let at = |name: &str| nodes.iter().find(|n| n.name == name).map(|n| (n.x, n.y));
    let links = doc
        .links
        .iter()
        .filter_map(|l| {
            let ((ax, ay), (bx, by)) = (at(&l.between[0])?, at(&l.between[1])?);
            Some(LinkView {
                a: l.between[0].clone(),
                b: l.between[1].clone(),
                ax,
                ay,
                bx,
                by,
                cut: false,
                degraded: false,
                held: None,
                held_full: false,
            })
        })
        .collect();
    Snapshot {
        now: engine::time::format_time(0),
        end_ns: doc.duration.nanos,
        speed: before.speed,
        achieved_speed: before.speed,
        halted: Some(format!("The run is stopped until the scenario is complete: {problem}.")),
        compact: doc.nodes.len() > COMPACT_ABOVE,
        nodes,
        links,
        ..Snapshot::default()
    }
}

impl LabHandle {
    /// The document being edited: the running scenario with its faults, or
    /// the draft that cannot run.
    pub fn document(&self) -> Option<Scenario> {
        self.scenario().or_else(|| self.editor.history.with_value(|h| h.as_ref().map(|h| h.current().clone())))
    }

    /// Opens a draft kept from an earlier visit, as an editing step.
    pub fn open_draft(&self, doc: &Scenario) {
        let _ = self.edit("open the saved draft", |_| Ok::<_, std::convert::Infallible>(doc.clone()));
    }

    /// [`Self::draft_problem`], read without tracking (tests, handlers).
    pub fn draft_problem_untracked(&self) -> Option<String> {
        self.editor.draft.get_untracked().filter(|_| self.lab.with_value(|l| l.is_none()))
    }

    /// What keeps the document from running, while it is a draft (the run
    /// is stopped); reactive.
    pub fn draft_problem(&self) -> Option<String> {
        self.snapshot.track();
        self.editor.draft.track();
        self.draft_problem_untracked()
    }

    /// Records the document as it stands if it is not the history's
    /// current one (see the module's doc), and returns it.
    fn sync(&self) -> Option<Scenario> {
        let doc = self.document()?;
        let changed = self
            .editor
            .history
            .try_update_value(|h| match h {
                None => {
                    *h = Some(History::new(doc.clone()));
                    false
                }
                Some(h) if *h.current() != doc => {
                    let label = outside_label(h.current(), &doc);
                    h.apply(label, doc.clone())
                }
                Some(_) => false,
            })
            .unwrap_or(false);
        if changed {
            self.editor.version.update(|v| *v += 1);
        }
        Some(doc)
    }

    /// Applies an editing operation to the document (positions pinned as
    /// drawn), records it under the label it returns, and runs the result
    /// from time zero. Nothing changes on error. Returns whether the
    /// document changed.
    pub fn perform<E>(&self, op: impl FnOnce(&Scenario) -> Result<(Scenario, String), E>) -> Result<bool, E> {
        let Some(doc) = self.sync() else {
            self.notice.set(Some("Nothing is open to edit.".into()));
            return Ok(false);
        };
        let before = self.snapshot.with_untracked(|s| pin_drawn(&doc, &s.nodes));
        let (new, label) = op(&before)?;
        if new == before {
            return Ok(false);
        }
        let recorded =
            self.editor.history.try_update_value(|h| h.as_mut().map(|h| h.apply(label.clone(), new.clone())));
        if recorded.flatten() != Some(true) {
            return Ok(false);
        }
        self.show(&new);
        self.editor.version.update(|v| *v += 1);
        self.editor.status.set(match self.editor.draft.get_untracked() {
            Some(_) => format!("Done: {label}. The run is stopped until the scenario is complete."),
            None => format!("Done: {label}. The run restarted from time zero."),
        });
        Ok(true)
    }

    /// [`Self::perform`] with a fixed label.
    pub fn edit<E>(
        &self,
        label: impl Into<String>,
        op: impl FnOnce(&Scenario) -> Result<Scenario, E>,
    ) -> Result<bool, E> {
        let label = label.into();
        self.perform(|d| op(d).map(|d| (d, label)))
    }

    /// [`Self::edit`], with a refusal shown in the notice.
    pub fn edit_or_notice<E: Display>(
        &self,
        label: impl Into<String>,
        op: impl FnOnce(&Scenario) -> Result<Scenario, E>,
    ) -> bool {
        match self.edit(label, op) {
            Ok(changed) => changed,
            Err(e) => {
                self.notice.set(Some(e.to_string()));
                false
            }
        }
    }

    /// Runs `doc` from time zero, or shows it as a draft if it cannot run;
    /// the selection stays if its node does.
    fn show(&self, doc: &Scenario) {
        let selected = self.selected.get_untracked();
        let opened = match draft_problem_of(doc) {
            Some(p) => Err(p),
            None => self.open_scenario(crate::examples::id_of(doc), doc, 0).map_err(|e| editor::describe(doc, &e)),
        };
        match opened {
            Ok(()) => {
                if let Some((playing, speed)) = self.editor.stopped.try_update_value(Option::take).flatten() {
                    self.with_lab(|l| {
                        l.playing = playing;
                        l.speed = speed;
                    });
                    self.refresh();
                }
                self.editor.draft.set(None);
            }
            Err(problem) => {
                if let Some(run) = self.lab.with_value(|l| l.as_ref().map(|l| (l.playing, l.speed))) {
                    self.editor.stopped.set_value(Some(run));
                }
                let before = self.snapshot.get_untracked();
                self.lab.set_value(None);
                self.snapshot.set(draft_snapshot(doc, &problem, &before));
                self.log.set(Vec::new());
                self.notice.set(None);
                self.example.set(String::new());
                self.meta.set((doc.name.clone(), doc.description.clone()));
                self.editor.draft.set(Some(problem));
            }
        }
        self.selected.set(selected.filter(|s| doc.nodes.iter().any(|n| &n.name == s)));
    }

    fn step_history(&self, undo: bool) -> Option<String> {
        self.sync();
        let step = self
            .editor
            .history
            .try_update_value(|h| {
                let h = h.as_mut()?;
                let label = if undo { h.undo() } else { h.redo() }?;
                Some((label, h.current().clone()))
            })
            .flatten();
        let (label, doc) = step?;
        self.show(&doc);
        self.editor.version.update(|v| *v += 1);
        let what = if undo { "Undid" } else { "Redid" };
        self.editor.status.set(match self.editor.draft.get_untracked() {
            Some(_) => format!("{what} {label}. The run is stopped until the scenario is complete."),
            None => format!("{what} {label}. The run restarted from time zero."),
        });
        Some(label)
    }

    /// Goes back one step; returns its label (`None`: nothing to undo).
    pub fn undo(&self) -> Option<String> {
        self.step_history(true)
    }

    /// Goes forward one undone step; returns its label.
    pub fn redo(&self) -> Option<String> {
        self.step_history(false)
    }

    /// What [`Self::undo`] would undo; reactive on the history (a view
    /// also tracks the run's faults and the open scenario, see
    /// [`Self::sync`]).
    pub fn undo_label(&self) -> Option<String> {
        self.editor.version.track();
        let doc = self.document()?;
        self.editor.history.with_value(|h| {
            let h = h.as_ref()?;
            if *h.current() != doc {
                Some(outside_label(h.current(), &doc))
            } else {
                h.undo_label().map(str::to_string)
            }
        })
    }

    /// What [`Self::redo`] would redo; reactive. Nothing after a change
    /// made outside the editor (that change starts a new branch).
    pub fn redo_label(&self) -> Option<String> {
        self.editor.version.track();
        let doc = self.document()?;
        self.editor.history.with_value(|h| {
            let h = h.as_ref()?;
            (*h.current() == doc).then(|| h.redo_label().map(str::to_string)).flatten()
        })
    }

    /// The configuration form of node `node` in the document; reactive on
    /// the document (edits, undo, another scenario opened), not on the
    /// run's progress.
    pub fn config_fields(&self, node: &str) -> Option<Vec<config_form::Field>> {
        self.editor.version.track();
        self.meta.track();
        self.example.track();
        config_form::fields(&self.document()?, node).ok()
    }

    /// Places a new node of `kind` at a free spot and selects it; returns
    /// its name.
    pub fn add_node(&self, kind: Kind) -> Result<String, EditError> {
        let mut added = String::new();
        self.perform(|d| {
            let (doc, name) = palette::add_node(d, kind, free_spot(d, kind))?;
            added.clone_from(&name);
            Ok::<_, EditError>((doc, label::add(&name)))
        })?;
        self.selected.set(Some(added.clone()));
        Ok(added)
    }

    pub fn connect(&self, a: &str, b: &str) -> Result<bool, EditError> {
        self.edit(label::connect(a, b), |d| connect::connect(d, a, b))
    }

    pub fn disconnect(&self, a: &str, b: &str) -> Result<bool, EditError> {
        self.edit(label::disconnect(a, b), |d| connect::disconnect(d, a, b))
    }

    pub fn delete_node(&self, name: &str) -> Result<bool, EditError> {
        self.edit(label::delete(name), |d| delete::delete_node(d, name))
    }

    /// Moves node `name` to `pos` on the canvas (one undo step).
    pub fn move_node(&self, name: &str, pos: [f64; 2]) -> Result<bool, EditError> {
        self.edit(label::move_node(name), |d| moving::move_node(d, name, pos))
    }

    /// Moves node `name` one step (a big one with `big`) in `dir`.
    pub fn nudge(&self, name: &str, dir: Direction, big: bool) -> Result<bool, EditError> {
        let step = if big { BIG_STEP } else { STEP };
        self.edit(label::move_node(name), |d| moving::nudge(d, name, dir, step))
    }

    /// Sets field `path` of node `node` to `text`; the error is the
    /// field's, for the form to show next to it.
    pub fn set_field(&self, node: &str, path: &str, text: &str) -> Result<bool, FieldError> {
        self.edit(label::set(node, path, text.trim()), |d| config_form::set_field(d, node, path, text))
    }

    /// Replaces the document with template `id` (one undo step).
    pub fn apply_template(&self, id: &str) {
        let Some(t) = templates::templates().iter().find(|t| t.id == id) else {
            self.notice.set(Some(format!("There is no template named `{id}`.")));
            return;
        };
        self.edit_or_notice(label::template(t.title), |_| t.scenario());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle_on(doc: &str) -> LabHandle {
        let h = LabHandle::new();
        h.open_scenario("", &Scenario::from_json(doc).unwrap(), 0).unwrap();
        h
    }

    fn running(h: &LabHandle) -> bool {
        h.lab.with_value(|l| l.is_some())
    }

    fn names(h: &LabHandle) -> Vec<String> {
        h.document().unwrap().nodes.iter().map(|n| n.name.clone()).collect()
    }

    const SERVER: &str = r#"{"version":1,"nodes":[{"name":"web1","type":"server"}]}"#;

    #[test]
    fn building_a_topology_goes_through_a_draft_and_runs_once_complete() {
        let h = handle_on(SERVER);
        h.set_speed(5.0);
        let client = h.add_node(Kind::Client).unwrap();
        assert_eq!(client, "client1");
        assert_eq!(h.selected.get_untracked().as_deref(), Some("client1"));
        // A client without a target: a draft, drawn but not running.
        assert!(!running(&h));
        let problem = h.draft_problem().unwrap();
        assert!(problem.starts_with("`client1`"), "{problem}");
        assert!(problem.ends_with("(to run, client1 needs: connect it to what it sends to: a load balancer, a server, a database, a cache or a Raft KV node)"), "{problem}");
        h.snapshot.with_untracked(|s| {
            assert_eq!(s.nodes.len(), 2);
            assert!(s.nodes.iter().all(|n| n.state == "draft"));
            assert!(s.halted.as_deref().unwrap().starts_with("The run is stopped"));
        });
        let lb = h.add_node(Kind::LoadBalancer).unwrap();
        h.connect(&client, &lb).unwrap();
        assert!(!running(&h), "a load balancer without servers is a draft");
        h.connect(&lb, "web1").unwrap();
        assert!(running(&h));
        assert_eq!(h.draft_problem(), None);
        // The run got its speed back, and restarted from zero.
        h.snapshot.with_untracked(|s| {
            assert_eq!(s.speed, 5.0);
            assert_eq!(s.now_ns, 0);
            assert_eq!(s.links.len(), 2);
        });
        // A refusal says why and changes nothing.
        let before = h.document().unwrap();
        let e = h.connect(&client, &client).unwrap_err();
        assert!(e.to_string().contains("itself"), "{e}");
        assert_eq!(h.document().unwrap(), before);
        assert_eq!(h.undo_label().as_deref(), Some("connect lb1 → web1"));
        // Undo goes back to the draft, redo runs again.
        assert_eq!(h.undo().as_deref(), Some("connect lb1 → web1"));
        assert!(!running(&h));
        assert_eq!(h.redo_label().as_deref(), Some("connect lb1 → web1"));
        assert_eq!(h.redo().as_deref(), Some("connect lb1 → web1"));
        assert!(running(&h));
        assert_eq!(h.document().unwrap(), before);
        while h.undo().is_some() {}
        assert_eq!(h.document().unwrap(), Scenario::from_json(SERVER).unwrap());
        assert!(running(&h));
    }

    #[test]
    fn faults_added_in_the_run_are_a_step_of_their_own() {
        let h = handle_on(SERVER);
        h.toggle_crash("web1");
        let with_fault = h.document().unwrap();
        assert_eq!(with_fault.faults.len(), 1);
        // The history started before the fault was added only if an edit
        // came first: start it, then add a fault, then edit.
        h.add_node(Kind::Server).unwrap();
        h.toggle_crash("web2");
        assert_eq!(h.undo_label().as_deref(), Some("change the run's faults"));
        h.move_node("web2", [300.0, 300.0]).unwrap();
        assert_eq!(h.document().unwrap().faults.len(), 2, "an edit keeps the faults");
        assert_eq!(h.undo().as_deref(), Some("move web2"));
        assert_eq!(h.undo().as_deref(), Some("change the run's faults"));
        assert_eq!(h.document().unwrap().faults.len(), 1);
        assert_eq!(h.undo().as_deref(), Some("add web2"));
        assert_eq!(h.document().unwrap(), with_fault);
        // Opening another scenario is a step too.
        h.redo();
        h.open("db-async-failover");
        assert_eq!(h.undo_label().as_deref(), Some(format!("open “{}”", h.meta.get_untracked().0).as_str()));
        assert_eq!(h.redo_label(), None);
        h.undo();
        assert_eq!(names(&h), ["web1", "web2"]);
    }

    #[test]
    fn editing_keeps_the_selection_and_positions_as_drawn() {
        let h = LabHandle::new();
        let drawn: Vec<(String, f64, f64)> =
            h.snapshot.with_untracked(|s| s.nodes.iter().map(|n| (n.name.clone(), n.x, n.y)).collect());
        h.selected.set(Some("web2".into()));
        h.nudge("web2", Direction::Right, false).unwrap();
        assert_eq!(h.selected.get_untracked().as_deref(), Some("web2"));
        let after: Vec<(String, f64, f64)> =
            h.snapshot.with_untracked(|s| s.nodes.iter().map(|n| (n.name.clone(), n.x, n.y)).collect());
        for (a, b) in drawn.iter().zip(&after) {
            if a.0 == "web2" {
                assert_eq!((b.1, b.2), (a.1 + STEP, a.2));
            } else {
                assert_eq!(a, b);
            }
        }
        h.nudge("web2", Direction::Down, true).unwrap();
        let y = h.snapshot.with_untracked(|s| s.nodes.iter().find(|n| n.name == "web2").unwrap().y);
        assert_eq!(y, drawn.iter().find(|n| n.0 == "web2").unwrap().2 + BIG_STEP);
        assert_eq!(h.undo_label().as_deref(), Some("move web2"));
    }

    #[test]
    fn a_bad_field_changes_nothing_and_a_good_one_applies() {
        let h = LabHandle::new();
        let lb =
            h.document().unwrap().nodes.iter().find(|n| n.component.kind() == Kind::LoadBalancer).unwrap().name.clone();
        let before = h.document().unwrap();
        let e = h.set_field(&lb, "default_server.rise", "zero").unwrap_err();
        assert_eq!(e.path, "default_server.rise");
        assert_eq!(h.document().unwrap(), before);
        assert!(h.set_field(&lb, "default_server.rise", "3").unwrap());
        let f = config_form::fields(&h.document().unwrap(), &lb).unwrap();
        assert_eq!(f.iter().find(|f| f.path == "default_server.rise").unwrap().value, "3");
        assert_eq!(h.undo_label().unwrap(), format!("set {lb} default_server.rise = 3"));
        assert_eq!(h.example.get_untracked(), "", "an edited example is the learner's own");
        // Undone back to the example itself, it is the example again.
        h.undo();
        assert_eq!(h.example.get_untracked(), crate::examples::DEFAULT);
    }

    #[test]
    fn templates_and_deletion() {
        let h = LabHandle::new();
        h.apply_template("raft-kv-five");
        assert!(running(&h));
        assert_eq!(h.undo_label().as_deref(), Some("start from “5-node Raft KV”"));
        let kv = names(&h).into_iter().find(|n| n.starts_with("kv")).unwrap();
        let n = names(&h).len();
        h.delete_node(&kv).unwrap();
        assert_eq!(names(&h).len(), n - 1);
        h.apply_template("nope");
        assert!(h.notice.get_untracked().unwrap().contains("nope"));
    }

    #[test]
    fn a_free_spot_overlaps_no_node_and_prefers_the_kinds_column() {
        let mut doc = Scenario::from_json(SERVER).unwrap();
        for kind in [Kind::Client, Kind::LoadBalancer, Kind::Server, Kind::Server, Kind::Client] {
            let spot = free_spot(&doc, kind);
            for (i, [x, y]) in moving::positions(&doc).into_iter().enumerate() {
                assert!(
                    (spot[0] - x).abs() >= 136.0 || (spot[1] - y).abs() >= 56.0,
                    "{spot:?} on {}",
                    doc.nodes[i].name
                );
            }
            assert_eq!(spot, moving::clamp(spot).unwrap());
            doc = palette::add_node(&doc, kind, spot).unwrap().0;
        }
        assert_eq!(doc.nodes[1].pos.unwrap()[0], column_x(Kind::Client));
        // A full canvas still gives a spot on it.
        let mut full = Scenario::from_json(SERVER).unwrap();
        for _ in 0..60 {
            full = palette::add_node(&full, Kind::Server, free_spot(&full, Kind::Server)).unwrap().0;
        }
        assert_eq!(full.nodes.len(), 61);
    }
}
