//! Play, pause, step, restart, speed, the example to open, and where the
//! run is: simulated time, events, and the run's fingerprint.

use crate::handle::LabHandle;
use crate::lab::SPEEDS;
use leptos::prelude::*;

/// The scrubber moves in tenths of a simulated second.
const SCRUB_STEP_NS: u64 = 100_000_000;

fn speed_text(s: f64) -> String {
    if s < 1.0 {
        format!("{s}x")
    } else {
        format!("{s:.0}x")
    }
}

#[component]
pub fn Controls() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let playing = move || snap.with(|s| s.playing);
    let speed_index = move || snap.with(|s| SPEEDS.iter().position(|&v| v == s.speed).unwrap_or(3));
    let example_options = crate::examples::parsed()
        .iter()
        .map(|(id, s)| view! { <option value=*id>{s.name.clone()}</option> })
        .collect_view();
    view! {
        <div class="buttons">
            <button
                class="primary"
                aria-pressed=move || playing().to_string()
                on:click=move |_| h.set_playing(!playing())
            >
                {move || if playing() { "Pause" } else { "Play" }}
            </button>
            <button on:click=move |_| h.step() title="Process exactly one event">"Step"</button>
            <button on:click=move |_| h.restart() title="Back to time zero of this run; its faults stay on the timeline">"Restart"</button>
        </div>
        <label class="speed">
            <span>"Speed "<output>{move || snap.with(|s| speed_text(s.speed))}</output></span>
            <input
                type="range"
                min="0"
                max=(SPEEDS.len() - 1).to_string()
                step="1"
                prop:value=move || speed_index().to_string()
                // The label's first control is the <output>: name it here.
                aria-label="Speed"
                aria-valuetext=move || snap.with(|s| format!("{} simulated per real second", speed_text(s.speed)))
                on:input=move |ev| {
                    if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                        if let Some(&s) = SPEEDS.get(i) {
                            h.set_speed(s);
                        }
                    }
                }
            />
        </label>
        <label class="scrubber">
            <span>"Time "<output data-testid="seeking">{move || snap.with(|s| s.seeking.as_ref().map(|t| format!("seeking {t}…")).unwrap_or_default())}</output></span>
            <input
                type="range"
                min="0"
                max=move || snap.with(|s| (s.end_ns / SCRUB_STEP_NS).to_string())
                step="1"
                data-testid="scrubber"
                aria-label="Simulated time"
                prop:value=move || snap.with(|s| (s.now_ns / SCRUB_STEP_NS).to_string())
                aria-valuetext=move || snap.with(|s| format!("{} of {}", s.now, engine::time::format_time(s.end_ns)))
                title="Seek anywhere in the run so far: the lab re-simulates from the last checkpoint before it"
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<u64>() {
                        h.seek(v * SCRUB_STEP_NS);
                    }
                }
            />
        </label>
        <label class="example">
            <span>"Scenario"</span>
            // The value as a property: after the learner has picked one, an
            // option's `selected` attribute no longer moves the select, and a
            // link, a file or an undo opens other scenarios too.
            <select prop:value=move || h.example.get() on:change=move |ev| {
                let id = event_target_value(&ev);
                if !id.is_empty() {
                    h.open(&id);
                }
            }>
                // A scenario that is not one of the examples (a link, a
                // file, an edit): named as its author named it, as text.
                // Always there (so the select's value can name it), shown
                // only when it is the one open.
                <option value="" hidden=move || h.example.with(|e| crate::examples::find(e).is_some())>
                    {move || format!("Yours: {}", h.meta.with(|m| m.0.clone()))}
                </option>
                {example_options}
            </select>
        </label>
        <dl class="status">
            <div><dt>"Simulated time"</dt><dd data-testid="sim-time" data-seconds=move || snap.with(|s| s.now_s.to_string()) data-ns=move || snap.with(|s| s.now_ns.to_string())>{move || snap.with(|s| s.now.clone())}</dd></div>
            <div><dt>"Events"</dt><dd data-testid="events">{move || snap.with(|s| s.events.to_string())}</dd></div>
            <div>
                <dt>"Fingerprint"</dt>
                <dd data-testid="trace-hash" title="A hash of every event so far: the same scenario and seed always give the same fingerprint">
                    {move || snap.with(|s| s.trace_hash.clone())}
                </dd>
            </div>
        </dl>
        <p class="behind" role="status">
            {move || snap.with(|s| {
                if let Some(h) = &s.halted {
                    h.clone()
                } else if s.reached_end {
                    format!("The scenario's {} are over. Press Play to keep going.", s.now)
                } else if s.playing && s.behind {
                    format!("Your computer cannot keep up with {}: running at {:.2}x.", speed_text(s.speed), s.achieved_speed)
                } else {
                    String::new()
                }
            })}
        </p>
        <p class="notice" role="alert">{move || h.notice.get().unwrap_or_default()}</p>
    }
}
