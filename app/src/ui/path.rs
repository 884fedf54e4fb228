//! The request path panel: one client operation (or a Kafka producer's
//! send) followed through the system, step by step (each message sent for
//! it, where it waited, what a node noted while working for it), with how
//! long after its invocation each came, so a slow or failed request can be
//! read.

use crate::handle::{LabHandle, PathPick};
use leptos::prelude::*;

/// A step's bar: its span (a message's time on the wire, a wait in a
/// queue), or a tick at its moment.
fn bar(span: Option<(f64, f64)>, at: f64) -> String {
    let (from, to) = span.unwrap_or((at, at));
    format!("left: {from:.1}%; width: {:.1}%", to - from)
}

#[component]
pub fn PathPanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let number = RwSignal::new(String::new());
    // Only the operation: the status is read out when it changes, not at
    // each step of the progress.
    let following_op = Memo::new(move |_| h.following.get().map(|(op, _)| op));
    let follow_number = move || {
        let text = number.get_untracked();
        match text.trim().parse::<u32>() {
            Ok(op) => h.follow_op(PathPick::Op(op)),
            Err(_) => h.path_error(format!(
                "“{}” is not an operation number: give its place in the client history (with Kafka, in the Kafka history), from 0.",
                text.trim()
            )),
        }
    };
    view! {
        <h2 id="path-title">"Request path"</h2>
        <p class="hint">"Follow one client request, or one record a Kafka producer sent, through the system: every message sent for it, where it waited, and how it ended."</p>
        <div class="buttons">
            <button on:click=move |_| h.follow_op(PathPick::Slowest) aria-keyshortcuts="P">"Slowest so far"</button>
            <button on:click=move |_| h.follow_op(PathPick::LatestError)>"Latest failed"</button>
        </div>
        <form class="path-number" on:submit=move |ev| {
            ev.prevent_default();
            follow_number();
        }>
            <label>
                "Operation number "
                <input
                    type="text"
                    inputmode="numeric"
                    size="7"
                    prop:value=move || number.get()
                    on:input=move |ev| number.set(event_target_value(&ev))
                />
            </label>
            <button type="submit">"Follow"</button>
        </form>
        // The outcome of a click, read out (the steps are not: a list to
        // read at one's pace).
        <p role="status" class=move || h.path.with(|p| if matches!(p, Some(Err(_))) { "notice" } else { "path-headline" })>
            {move || match following_op.get() {
                Some(op) => format!("Following operation {op}: simulating the run again from the checkpoint before it…"),
                None => h.path.with(|p| match p {
                    None => String::new(),
                    Some(Err(why)) => why.clone(),
                    Some(Ok(p)) => format!("{} ({} steps)", p.headline, p.steps.len()),
                }),
            }}
        </p>
        // How far, while it takes more than a frame (late in a long run).
        {move || following_op.get().map(|op| view! {
            <progress
                class="path-progress"
                max="1"
                value=move || h.following.get().map_or(0.0, |(_, done)| done)
                aria-label=format!("Following operation {op}")
            ></progress>
        })}
        {move || h.path.get().and_then(Result::ok).map(|p| {
            let invoked = p.invoked_ns;
            view! {
                <button class="jump" on:click=move |_| h.seek(invoked) title="Seek the run to the moment it was invoked">
                    "Go to its start"
                </button>
                // Text only: node names come from scenario links.
                // Focusable: it scrolls, and the keyboard must reach it.
                <ol class="path-steps" tabindex="0" aria-label=format!("The path of operation {}", p.op)>
                    {p.steps.into_iter().map(|s| {
                        let at = s.at_ns;
                        view! {
                        <li class=format!("path-{}", s.event)>
                            <button class="path-since" on:click=move |_| h.seek(at) title="Go to this moment">
                                {s.since}
                            </button>
                            <span class="path-bar" aria-hidden="true">
                                <span style=bar(s.span_percent, s.at_percent)></span>
                            </span>
                            <span class="path-text">{s.text}</span>
                        </li>
                    }}).collect_view()}
                </ol>
                <p class="hint">{p.footer}</p>
            }
        })}
    }
}
