//! The event log: what happened, newest last, announced politely to
//! screen readers, filterable by node.

use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn LogView() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let filter = RwSignal::new(String::new());
    let names = Memo::new(move |_| h.snapshot.with(|s| s.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
    let lines = move || {
        let f = filter.get();
        h.log.with(|lines| {
            lines
                .iter()
                .filter(|l| f.is_empty() || l.node.as_deref() == Some(f.as_str()) || l.text.contains(f.as_str()))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="log-head">
            <h2 id="log-title">"Event log"</h2>
            <label>
                "Show "
                <select on:change=move |ev| filter.set(event_target_value(&ev))>
                    <option value="">"all nodes"</option>
                    {move || names.get().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <ol class="events" aria-live="polite" aria-relevant="additions text" tabindex="0" aria-label="Events, newest last">
            <For each=lines key=|l| (l.id, l.repeat) let:line>
                <li class=line.class>
                    <time>{line.time_text()}</time>
                    " "
                    <span>{line.text.clone()}</span>
                    {(line.repeat > 1).then(|| view! { <span class="repeat">{format!(" (x{})", line.repeat)}</span> })}
                </li>
            </For>
        </ol>
    }
}
