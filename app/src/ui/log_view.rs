//! The event log: what happened, newest last, announced politely to
//! screen readers, filterable by node. It follows the newest line, as a
//! terminal does, until the reader scrolls up to read; scrolling back to
//! the bottom follows again.

use crate::handle::LabHandle;
use crate::time_text::to_the_ms;
use leptos::prelude::*;

#[component]
pub fn LogView() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let filter = RwSignal::new(String::new());
    let list = NodeRef::<leptos::html::Ol>::new();
    // Whether the list was at its bottom when last scrolled.
    let follow = StoredValue::new(true);
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
    // After the rows change (effects run once the DOM is updated).
    Effect::new(move |_| {
        h.log.track();
        filter.track();
        if let (Some(ol), true) = (list.get(), follow.get_value()) {
            ol.set_scroll_top(ol.scroll_height());
        }
    });
    let on_scroll = move |_| {
        if let Some(ol) = list.get_untracked() {
            // A pixel of slack: zoomed pages scroll in fractions.
            follow.set_value(ol.scroll_top() + ol.client_height() >= ol.scroll_height() - 2);
        }
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
        {move || h.snapshot.with(|s| s.log_not_kept.clone()).map(|t| view! { <p class="log-not-kept">{t}</p> })}
        <ol node_ref=list on:scroll=on_scroll class="events" aria-live="polite" aria-relevant="additions" tabindex="0" aria-label="Events, newest last">
            <For each=lines key=|l| l.id let:line>
                {
                    // A repeat updates the row in place: it is not added
                    // again, so a screen reader does not read it again.
                    let id = line.id;
                    let now = Memo::new(move |_| {
                        h.log.with(|ls| ls.iter().rev().find(|l| l.id == id).map_or((line.time, line.repeat), |l| (l.time, l.repeat)))
                    });
                    view! {
                        <li class=line.class>
                            <time>{move || to_the_ms(now.get().0)}</time>
                            " "
                            <span>{line.text.clone()}</span>
                            {move || (now.get().1 > 1).then(|| view! { <span class="repeat">{format!(" (x{})", now.get().1)}</span> })}
                        </li>
                    }
                }
            </For>
        </ol>
    }
}
