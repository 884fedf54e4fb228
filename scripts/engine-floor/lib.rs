//! What the lab needs of the engine, with no UI: read and check a scenario,
//! copy a run (checkpoints), run it, the nodes' states, the consistency
//! verdicts, the report, the trace hash and the history file. Its size is
//! the floor under the lab's download.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn run(json: &str, until: u64) -> String {
    let scenario = match engine::Scenario::from_json(json) {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let mut sim = match engine::Simulation::new(&scenario) {
        Ok(s) => s,
        Err(e) => return e.to_string(),
    };
    let mut checkpoint = sim.clone();
    checkpoint.run_until_budget(until, 1000);
    sim.run_through(until);
    sim.check_consistency();
    let states: Vec<String> = (0..sim.node_count()).map(|i| format!("{:?}", sim.node_state(i as _))).collect();
    let history = engine::consistency::history_file(sim.history(), &[], &sim.scenario().name, sim.seed());
    let report = serde_json::to_string(&sim.report()).unwrap_or_default();
    format!("{report} {} {} {states:?} {}", sim.trace_hash(), scenario.to_json_pretty(), history.len())
}
