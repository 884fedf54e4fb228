//! The event log: what happened, newest last, announced politely to
//! screen readers, filterable by node. It follows the newest line, as a
//! terminal does, until the reader scrolls up to read; scrolling back to
//! the bottom follows again. A line's time goes to that moment of the run,
//! to see the state that made it; from the keyboard, the arrow keys move
//! between the lines (one tab stop for the whole log) and Enter goes.

use crate::event_log::FOLD_WINDOW;
use crate::handle::LabHandle;
use crate::time_text::to_the_ms;
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

/// Up, Down, Home and End move the focus between the lines' times.
fn move_between_lines(ol: &web_sys::HtmlOListElement, key: &str) -> bool {
    if !matches!(key, "ArrowUp" | "ArrowDown" | "Home" | "End") {
        return false;
    }
    let Ok(times) = ol.query_selector_all("button.log-time") else { return false };
    let n = times.length();
    if n == 0 {
        return false;
    }
    let active = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element()).map(JsValue::from);
    let at = (0..n).find(|&i| times.get(i).map(JsValue::from) == active);
    let to = match (key, at) {
        ("Home", _) => 0,
        ("ArrowUp", Some(i)) => i.saturating_sub(1),
        ("ArrowDown", Some(i)) => (i + 1).min(n - 1),
        // From the list itself: the newest line.
        _ => n - 1,
    };
    if let Some(b) = times.get(to).and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = b.focus();
    }
    true
}

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
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if let Some(ol) = list.get_untracked() {
            if move_between_lines(&ol, &ev.key()) {
                ev.prevent_default();
            }
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
        <p id="log-keys" class="sr-only">"Up and Down move between the lines; Enter on a line's time goes to that moment of the run."</p>
        <ol
            node_ref=list
            on:scroll=on_scroll
            on:keydown=on_key
            class="events"
            aria-live="polite"
            aria-relevant="additions"
            tabindex="0"
            aria-label="Events, newest last"
            aria-describedby="log-keys"
        >
            <For each=lines key=|l| l.id let:line>
                {
                    // A repeat updates the row in place: it is not added
                    // again, so a screen reader does not read it again.
                    // Only the last lines count repeats: a row looks there.
                    let id = line.id;
                    let repeats = Memo::new(move |before: Option<&(u64, u32)>| {
                        h.log.with(|ls| match ls.iter().rev().take(FOLD_WINDOW).find(|l| l.id == id) {
                            Some(l) => (l.last, l.repeat),
                            None => before.copied().unwrap_or((line.last, line.repeat)),
                        })
                    });
                    let at = line.time;
                    let go = move |_| {
                        h.seek(at);
                        // The lines are rebuilt up to that moment: the focus
                        // stays in the log.
                        if let Some(ol) = list.get_untracked() {
                            let _ = ol.focus();
                        }
                    };
                    view! {
                        <li class=line.class>
                            <button class="log-time" tabindex="-1" title="Go to this moment" on:click=go>
                                <time>{to_the_ms(at)}</time>
                            </button>
                            " "
                            <span>{line.text.clone()}</span>
                            {move || {
                                let (last, n) = repeats.get();
                                (n > 1).then(|| view! { <span class="repeat">{format!(" (x{n}, last at {})", to_the_ms(last))}</span> })
                            }}
                        </li>
                    }
                }
            </For>
        </ol>
    }
}
