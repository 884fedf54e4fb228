//! A step's scenario: where it starts, then its changes, each made with
//! the editor's own operations (what the learner would do in the lab).

use crate::editor::{config_form, connect, delete, palette, templates};
use crate::examples;
use engine::fault::nemesis::{Nemesis, NemesisFault};
use engine::Scenario;
use lesson::{Edit, Lesson, Start};

/// The scenario step `step` (from 0) of `lesson` opens with.
pub fn step_scenario(lesson: &Lesson, step: usize) -> Result<Scenario, String> {
    let s = lesson.steps.get(step).ok_or_else(|| format!("lesson `{}` has no step {}", lesson.id, step + 1))?;
    let start = match &s.start {
        Start::Example(id) => {
            let ex = examples::find(id).ok_or_else(|| format!("there is no example `{id}`"))?;
            Scenario::from_json(ex.json).map_err(|e| format!("example `{id}`: {e}"))?
        }
        Start::Template(id) => templates::load(id).ok_or_else(|| format!("there is no template `{id}`"))?,
        Start::Previous if step == 0 => return Err("the first step cannot start from `previous`".into()),
        Start::Previous => solved_scenario(lesson, step - 1)?,
    };
    apply(&start, &s.change).map_err(|e| format!("change {e}"))
}

/// Step `step`'s scenario with its reference solution made.
pub fn solved_scenario(lesson: &Lesson, step: usize) -> Result<Scenario, String> {
    let start = step_scenario(lesson, step)?;
    apply(&start, &lesson.steps[step].solution).map_err(|e| format!("solution {e}"))
}

/// Makes `edits` in order; the result must run (not a draft). Errors say
/// which edit (from 1) and why.
pub fn apply(doc: &Scenario, edits: &[Edit]) -> Result<Scenario, String> {
    let mut doc = doc.clone();
    for (i, e) in edits.iter().enumerate() {
        doc = edit(&doc, e).map_err(|m| format!("{}: {m}", i + 1))?;
    }
    match crate::editor::problem(&doc) {
        Some(p) => Err(format!("leaves a scenario that cannot run: {p}")),
        None => Ok(doc),
    }
}

/// One edit, as the lab's editor makes it.
pub fn edit(doc: &Scenario, e: &Edit) -> Result<Scenario, String> {
    match e {
        Edit::Set { node, path, to } => config_form::set_field(doc, node, path, to).map_err(|e| e.to_string()),
        Edit::Add { kind, name } => {
            let entry = palette::palette()
                .iter()
                .find(|p| p.kind.name() == kind)
                .ok_or_else(|| format!("there is no kind of node `{kind}`"))?;
            let (out, added) = palette::add_node(doc, entry.kind, crate::handle_edit::free_spot(doc, entry.kind))
                .map_err(|e| e.to_string())?;
            // The lesson names the node as the lab will, so its text and
            // goals match what the learner sees.
            if &added != name {
                return Err(format!("the lab names the new {kind} `{added}`, not `{name}`"));
            }
            Ok(out)
        }
        Edit::Connect { a, b } => connect::connect(doc, a, b).map_err(|e| e.to_string()),
        Edit::Disconnect { a, b } => connect::disconnect(doc, a, b).map_err(|e| e.to_string()),
        Edit::Delete { node } => delete::delete_node(doc, node).map_err(|e| e.to_string()),
        Edit::Fault { fault } => {
            let mut v = engine::scenario::to_value(doc);
            let faults = v.as_object_mut().expect("an object").entry("faults").or_insert_with(|| serde_json::json!([]));
            faults.as_array_mut().ok_or("the scenario's `faults` is not a list")?.push(fault.clone());
            Scenario::from_value(v).map_err(|e| format!("fault: {e}"))
        }
        Edit::Nemesis { faults, targets, from, until, interval } => {
            let time = |t: &str| engine::Duration::parse(t).map_err(|e| format!("nemesis: {e}"));
            let nemesis = Nemesis {
                faults: NemesisFault::parse_list(faults).map_err(|e| format!("nemesis: {e}"))?,
                targets: if targets.is_empty() { Nemesis::default_targets(doc) } else { targets.clone() },
                from: time(from)?,
                until: time(until)?,
                interval: time(interval)?,
            };
            let mut out = doc.clone();
            nemesis.add_to(&mut out).map_err(|e| format!("nemesis: {e}"))?;
            Ok(out)
        }
        Edit::Duration { to } => {
            let mut v = engine::scenario::to_value(doc);
            v["duration"] = serde_json::Value::String(to.clone());
            Scenario::from_value(v).map_err(|e| format!("duration: {e}"))
        }
    }
}
