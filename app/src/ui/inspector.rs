//! The selected node: its live state in detail, and what you can do to it.

use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn Inspector() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let node = move || {
        let sel = h.selected.get()?;
        snap.with(|s| s.nodes.iter().find(|n| n.name == sel).cloned())
    };
    // Changes only with the selection, so an open <details> stays open
    // while the live rows above it update every frame.
    let cfg = Memo::new(move |_| h.selected.get().and_then(|n| h.haproxy_cfg(&n)));
    view! {
        <section class="inspector" aria-labelledby="inspector-title">
            <h2 id="inspector-title">{move || node().map_or("Nothing selected".to_string(), |n| n.name)}</h2>
            {move || match node() {
                None => view! { <p class="hint">"Select a node in the cluster to see its state and crash or restart it."</p> }.into_any(),
                Some(n) => {
                    let name = n.name.clone();
                    let crashed = n.state == "crashed";
                    view! {
                        <dl class="details">
                            {n.details.into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()}
                        </dl>
                        <button class=if crashed { "primary" } else { "danger" } on:click=move |_| h.toggle_crash(&name)>
                            {if crashed { format!("Restart {}", n.name) } else { format!("Crash {}", n.name) }}
                        </button>
                    }
                    .into_any()
                }
            }}
            // Text, never HTML: names in it come from scenario links.
            {move || cfg.get().map(|cfg| view! {
                <details class="config">
                    <summary>"As haproxy.cfg"</summary>
                    <pre tabindex="0" aria-label="This load balancer as haproxy.cfg">{cfg}</pre>
                </details>
            })}
        </section>
    }
}
