//! Positions on the canvas. `pos` is in the canvas's own units: the SVG's
//! view box is `0 0 WIDTH HEIGHT` ([`crate::snapshot::WIDTH`] x
//! [`crate::snapshot::HEIGHT`]) and a node is drawn centred on its `pos`,
//! 128 x 48 units at full size. Positions are clamped so the whole node
//! stays on the canvas.

use super::util::index;
use super::EditError;
use crate::snapshot::{HEIGHT, WIDTH};
use engine::scenario::ComponentSpec;
use engine::Scenario;

/// Half a node's drawn width and height: a centre closer to the edge
/// would put part of the node off the canvas.
pub const MARGIN_X: f64 = 64.0;
pub const MARGIN_Y: f64 = 24.0;
/// One keyboard step (arrow key); [`BIG_STEP`] with Shift.
pub const STEP: f64 = 10.0;
pub const BIG_STEP: f64 = 50.0;

/// A keyboard direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

/// `pos` moved onto the canvas; an error if it is not finite.
pub fn clamp(pos: [f64; 2]) -> Result<[f64; 2], EditError> {
    let [x, y] = pos;
    if !x.is_finite() || !y.is_finite() {
        return Err(EditError::BadPosition { x, y });
    }
    Ok(on_canvas(pos))
}

/// `pos` moved so the whole node is on the canvas.
fn on_canvas([x, y]: [f64; 2]) -> [f64; 2] {
    [x.clamp(MARGIN_X, WIDTH - MARGIN_X), y.clamp(MARGIN_Y, HEIGHT - MARGIN_Y)]
}

/// The canvas's column for a kind of node without a position: clients
/// left, then load balancers, servers and brokers, then stores.
fn column(k: &ComponentSpec) -> usize {
    match k {
        ComponentSpec::Client(_) | ComponentSpec::KafkaProducer(_) | ComponentSpec::KafkaConsumer(_) => 0,
        ComponentSpec::LoadBalancer(_) => 1,
        ComponentSpec::Server(_) | ComponentSpec::Sentinel(_) | ComponentSpec::KafkaBroker(_) => 2,
        ComponentSpec::Database(_)
        | ComponentSpec::Cache(_)
        | ComponentSpec::RaftKv(_)
        | ComponentSpec::KafkaController(_) => 3,
    }
}

/// Where the canvas draws every node of `doc`: its `pos` (moved so the
/// whole node is on the canvas: a file may say anything), or, without one, spaced evenly down its kind's column among
/// the nodes there without a position.
pub fn positions(doc: &Scenario) -> Vec<[f64; 2]> {
    let mut counts = [0usize; 4];
    for n in doc.nodes.iter().filter(|n| n.pos.is_none()) {
        counts[column(&n.component)] += 1;
    }
    let mut seen = [0usize; 4];
    doc.nodes
        .iter()
        .map(|n| {
            if let Some(pos) = n.pos {
                return on_canvas(pos);
            }
            let c = column(&n.component);
            seen[c] += 1;
            [80.0 + c as f64 * 180.0, HEIGHT * seen[c] as f64 / (counts[c] + 1) as f64]
        })
        .collect()
}

/// Where the canvas draws node `i` of `doc` (see [`positions`]).
pub fn position(doc: &Scenario, i: usize) -> [f64; 2] {
    positions(doc)[i]
}

/// Moves node `name` to `pos`, clamped to the canvas.
pub fn move_node(doc: &Scenario, name: &str, pos: [f64; 2]) -> Result<Scenario, EditError> {
    let i = index(doc, name)?;
    let pos = clamp(pos)?;
    let mut out = doc.clone();
    out.nodes[i].pos = Some(pos);
    Ok(out)
}

/// Moves node `name` by `step` canvas units in `dir` (from where the canvas
/// draws it), clamped to the canvas.
pub fn nudge(doc: &Scenario, name: &str, dir: Direction, step: f64) -> Result<Scenario, EditError> {
    let i = index(doc, name)?;
    let [x, y] = position(doc, i);
    let pos = match dir {
        Direction::Left => [x - step, y],
        Direction::Right => [x + step, y],
        Direction::Up => [x, y - step],
        Direction::Down => [x, y + step],
    };
    move_node(doc, name, pos)
}

/// Writes the drawn position of every node that has none, so that moving
/// one node does not shift the others (the automatic columns depend on
/// how many nodes lack a position).
pub fn pin_positions(doc: &Scenario) -> Scenario {
    let mut out = doc.clone();
    for (node, at) in out.nodes.iter_mut().zip(positions(doc)) {
        node.pos.get_or_insert(at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Scenario {
        Scenario::from_json(
            r#"{"version":1,"nodes":[
                {"name":"web1","type":"server","pos":[300,200]},
                {"name":"web2","type":"server"},
                {"name":"web3","type":"server"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn moving_sets_pos_and_clamps_to_the_canvas() {
        let d = move_node(&doc(), "web1", [400.0, 100.0]).unwrap();
        assert_eq!(d.nodes[0].pos, Some([400.0, 100.0]));
        let d = move_node(&d, "web1", [-5.0, 9999.0]).unwrap();
        assert_eq!(d.nodes[0].pos, Some([MARGIN_X, HEIGHT - MARGIN_Y]));
        let d = move_node(&d, "web1", [9999.0, -1.0]).unwrap();
        assert_eq!(d.nodes[0].pos, Some([WIDTH - MARGIN_X, MARGIN_Y]));
        assert_eq!(d.validate(), Ok(()));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(move_node(&doc(), "nope", [1.0, 1.0]).unwrap_err().to_string(), "no node is named `nope`");
        let e = move_node(&doc(), "web1", [f64::INFINITY, 1.0]).unwrap_err();
        assert!(matches!(e, EditError::BadPosition { .. }), "{e}");
    }

    #[test]
    fn nudging_steps_from_where_the_node_is_drawn() {
        let d = nudge(&doc(), "web1", Direction::Right, STEP).unwrap();
        assert_eq!(d.nodes[0].pos, Some([310.0, 200.0]));
        let d = nudge(&d, "web1", Direction::Up, BIG_STEP).unwrap();
        assert_eq!(d.nodes[0].pos, Some([310.0, 150.0]));
        // web2 has no pos: the canvas draws it in the servers' column, the
        // first of two at a third of the height.
        assert_eq!(position(&doc(), 1), [440.0, HEIGHT / 3.0]);
        let d = nudge(&doc(), "web2", Direction::Down, STEP).unwrap();
        assert_eq!(d.nodes[1].pos, Some([440.0, HEIGHT / 3.0 + STEP]));
        // Many steps left stop at the edge.
        let mut d = doc();
        for _ in 0..100 {
            d = nudge(&d, "web1", Direction::Left, BIG_STEP).unwrap();
        }
        assert_eq!(d.nodes[0].pos, Some([MARGIN_X, 200.0]));
    }

    #[test]
    fn a_node_placed_off_the_canvas_is_drawn_whole_on_it() {
        let d = Scenario::from_json(
            r#"{"version":1,"nodes":[
                {"name":"web1","type":"server","pos":[560,410]},
                {"name":"web2","type":"server","pos":[720,0]}]}"#,
        )
        .unwrap();
        assert_eq!(positions(&d), vec![[560.0, HEIGHT - MARGIN_Y], [WIDTH - MARGIN_X, MARGIN_Y]]);
    }

    /// Each built-in example and template places its nodes whole on the
    /// canvas, as the learner is meant to see them.
    #[test]
    fn examples_and_templates_place_every_node_whole_on_the_canvas() {
        let templates = crate::editor::templates::templates().iter().map(|t| (t.id, t.scenario().unwrap()));
        for (id, doc) in crate::examples::parsed().iter().map(|(id, d)| (*id, d.clone())).chain(templates) {
            for n in &doc.nodes {
                if let Some(pos) = n.pos {
                    assert_eq!(on_canvas(pos), pos, "{id}: `{}` is placed partly off the canvas", n.name);
                }
            }
        }
    }

    #[test]
    fn pinning_keeps_the_drawn_layout() {
        let d = doc();
        let pinned = pin_positions(&d);
        for i in 0..d.nodes.len() {
            assert_eq!(pinned.nodes[i].pos, Some(position(&d, i)));
        }
    }
}
