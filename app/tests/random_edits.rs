//! What a learner may do, at random: edit a built-in example or template
//! with the editor's operations (add, connect, disconnect, delete, set a
//! field), run what the editor let through, inject faults and seek while
//! it runs, and draw every frame. The editor refuses what the engine would
//! refuse; whatever it lets through must run and draw without a panic, which
//! in the browser would stop the page.
//!
//! Seeded (SplitMix64), so a failure names the document, the seed and the
//! steps that led to it, and replays.

use clusterlab_app::editor::config_form::{self, FieldKind};
use clusterlab_app::editor::{connect, delete, palette, problem};
use clusterlab_app::lab::Lab;
use clusterlab_app::{examples, snapshot};
use engine::fault::Fault;
use engine::Scenario;

/// SplitMix64: small and fixed, enough to pick edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        (!v.is_empty()).then(|| &v[self.below(v.len())])
    }
}

fn names(doc: &Scenario) -> Vec<String> {
    doc.nodes.iter().map(|n| n.name.clone()).collect()
}

/// A value a learner might type into a field of this kind.
fn typed(rng: &mut Rng, kind: &FieldKind, doc: &Scenario) -> String {
    let names = names(doc);
    let s = |v: &[&str], rng: &mut Rng| rng.pick(v).map_or(String::new(), |s| s.to_string());
    match kind {
        FieldKind::Number => s(&["0", "1", "2", "3", "5", "10", "64", "1000", "-1", "0.5", "1e9", ""], rng),
        FieldKind::Duration => s(&["0s", "1ns", "1ms", "10ms", "250ms", "2s", "30s", "1h", "-1s", ""], rng),
        FieldKind::Bool => s(&["true", "false"], rng),
        FieldKind::Choice(options) => rng.pick(options).cloned().unwrap_or_default(),
        FieldKind::List => {
            let n = rng.below(4);
            (0..n).filter_map(|_| rng.pick(&names).cloned()).collect::<Vec<_>>().join(", ")
        }
        FieldKind::Text => rng.pick(&names).cloned().unwrap_or_default(),
    }
}

/// One random edit: the new document if the editor took it, the node it
/// added if any, and what it was, for the failure message.
fn edit(rng: &mut Rng, doc: &Scenario) -> (Option<Scenario>, Option<String>, String) {
    let names = names(doc);
    let any = |rng: &mut Rng| rng.pick(&names).cloned().unwrap_or_default();
    match rng.below(10) {
        0 | 1 => {
            // Every kind the palette offers.
            let kind = rng.pick(palette::palette()).map(|e| e.kind).expect("a palette");
            let pos = [rng.below(720) as f64, rng.below(400) as f64];
            match palette::add_node(doc, kind, pos) {
                Ok((d, name)) => (Some(d), Some(name.clone()), format!("add {kind:?} {name}")),
                Err(_) => (None, None, String::new()),
            }
        }
        2..=4 => {
            let (a, b) = (any(rng), any(rng));
            (connect::connect(doc, &a, &b).ok(), None, format!("connect {a} {b}"))
        }
        5 => {
            let (a, b) = (any(rng), any(rng));
            (connect::disconnect(doc, &a, &b).ok(), None, format!("disconnect {a} {b}"))
        }
        6 => {
            let a = any(rng);
            (delete::delete_node(doc, &a).ok(), None, format!("delete {a}"))
        }
        _ => {
            let node = any(rng);
            let Ok(fields) = config_form::fields(doc, &node) else { return (None, None, String::new()) };
            let Some(field) = rng.pick(&fields).cloned() else { return (None, None, String::new()) };
            let text = typed(rng, &field.kind, doc);
            let what = format!("set {node} {} = {text:?}", field.path);
            (config_form::set_field(doc, &node, &field.path, &text).ok(), None, what)
        }
    }
}

/// `doc` with node `added` connected as a learner would next (to a random
/// node, either way round), if that makes it complete.
fn completed(rng: &mut Rng, doc: Scenario, added: &str, steps: &mut Vec<String>) -> Option<Scenario> {
    let names = names(&doc);
    for _ in 0..12 {
        let other = rng.pick(&names).cloned()?;
        let (a, b) = if rng.below(2) == 0 { (added, other.as_str()) } else { (other.as_str(), added) };
        if let Ok(d) = connect::connect(&doc, a, b) {
            if problem(&d).is_none() {
                steps.push(format!("connect {a} {b}"));
                return Some(d);
            }
        }
    }
    None
}

/// A fault the faults panel could inject now.
fn fault(rng: &mut Rng, doc: &Scenario) -> Fault {
    let names = names(doc);
    let node = rng.pick(&names).cloned().unwrap_or_default();
    let other = rng.pick(&names).cloned().unwrap_or_default();
    match rng.below(8) {
        0 => Fault::Crash { node, host_down: rng.below(2) == 0 },
        1 => Fault::Restart { node },
        2 => Fault::Pause { node },
        3 => Fault::Resume { node },
        4 => Fault::Partition { groups: vec![vec![node]] },
        5 => Fault::PartitionOneWay { from: vec![node], to: vec![other] },
        6 => Fault::CutLink { between: [node, other] },
        _ => Fault::Heal {},
    }
}

/// Edits `doc` at random, then runs and draws what the editor let through.
fn exercise(id: &str, doc: &Scenario, seed: u64) {
    let mut rng = Rng(seed);
    let mut doc = doc.clone();
    let mut steps: Vec<String> = Vec::new();
    // Only complete documents are kept: a draft (a client without a
    // target, ...) does not run, the page says what is missing instead.
    for _ in 0..30 {
        let (next, added, what) = edit(&mut rng, &doc);
        let Some(next) = next else { continue };
        let mut taken = vec![what];
        let next = match (problem(&next), added) {
            (None, _) => Some(next),
            (Some(_), Some(added)) => completed(&mut rng, next, &added, &mut taken),
            (Some(_), None) => None,
        };
        if let Some(next) = next {
            steps.extend(taken);
            doc = next;
        }
    }
    assert!(problem(&doc).is_none());
    let context = format!("{id}, seed {seed}, after: {}", steps.join("; "));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(id, &doc, &mut rng)));
    if let Err(e) = run {
        let what = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
        panic!("{} ({context})", what.unwrap_or_default());
    }
}

/// Runs `doc` as the page does, frame by frame, with faults injected and a
/// seek back, drawing each frame.
fn run(id: &str, doc: &Scenario, rng: &mut Rng) {
    let mut lab =
        Lab::new(id, doc).unwrap_or_else(|e| panic!("the editor let through a scenario that does not load: {e}"));
    lab.playing = true;
    lab.speed = 10.0;
    for frame in 0..12 {
        if rng.below(3) == 0 {
            // Refused faults (a node that is not crashed restarted, ...) say
            // why; either way nothing may panic.
            let _ = lab.inject(fault(rng, doc));
        }
        if frame == 8 {
            lab.seek(lab.sim.now() / 2);
            lab.finish_seek();
        }
        // At most 20,000 events a frame: a huge rate set at random runs
        // slowly, not forever.
        let mut chunks = 0;
        lab.advance(100.0, || {
            chunks += 1;
            chunks < 10
        });
        assert_eq!(snapshot::take(&lab).nodes.len(), doc.nodes.len());
    }
}

#[test]
fn random_edits_of_every_example_and_template_run_and_draw() {
    let templates = clusterlab_app::editor::templates::templates().iter().map(|t| (t.id, t.scenario().unwrap()));
    let docs: Vec<(&str, Scenario)> =
        examples::parsed().iter().map(|(id, d)| (*id, d.clone())).chain(templates).collect();
    // Four rounds each here; RANDOM_EDITS_ROUNDS=200 searches deeper.
    let rounds = std::env::var("RANDOM_EDITS_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(4);
    for (i, (id, doc)) in docs.iter().enumerate() {
        for round in 0..rounds {
            exercise(id, doc, i as u64 * 1_000_000 + round);
        }
    }
}
