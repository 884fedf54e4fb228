//! Entry point: mounts the app, and exports a few functions for the browser
//! tests and the Wasm benchmark (`window.wasmBindings`).

use wasm_bindgen::prelude::*;

fn main() {
    clusterlab_app::start();
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Runs a scenario headless for `until` of simulated time and returns a JSON
/// object with `events`, `trace_hash` and `wall_ms`: the same numbers the
/// native `clusterlab run` prints, computed by this Wasm build; then the
/// final reads the lab makes at a run's end (`final_reads`: how many, or
/// null for a run not checked; `final_polls`: in a Kafka run, the records
/// its final polls read) and the time they took (`final_reads_ms`).
#[wasm_bindgen]
pub fn run_headless(scenario_json: &str, until: &str) -> Result<String, JsError> {
    let scenario = engine::Scenario::from_json(scenario_json).map_err(|e| JsError::new(&e.to_string()))?;
    let until = engine::Duration::parse(until).map_err(|e| JsError::new(&e))?;
    let start = now_ms();
    let mut sim = engine::Simulation::new(&scenario).map_err(|e| JsError::new(&e.to_string()))?;
    sim.run_through(until.nanos);
    let wall_ms = now_ms() - start;
    // What the lab does when a run reaches its end, timed apart.
    let start = now_ms();
    let finals = sim.final_reads();
    let final_reads_ms = now_ms() - start;
    Ok(serde_json::json!({
        "events": sim.events(),
        "trace_hash": sim.trace_hash(),
        "wall_ms": wall_ms,
        "final_reads": finals.as_ref().map(|f| f.ops.len()),
        "final_polls": finals.and_then(|f| f.consistency.log?.final_polls).map(|p| p.records),
        "final_reads_ms": final_reads_ms,
    })
    .to_string())
}

/// Panics on purpose, so a test can check that a panic shows a visible
/// error instead of freezing the page.
#[wasm_bindgen]
pub fn debug_panic() {
    panic!("deliberate panic from debug_panic()");
}
