//! The fault timeline: every fault of the run, scheduled (still ahead) or
//! applied, on a strip over the run's length and as a list you can edit.
//! Moving or deleting one rebuilds the run to the moment it was at; the
//! schedule is part of the scenario, so it is shared and saved with it.

use crate::handle::LabHandle;
use engine::Duration;
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn Timeline() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let faults = Memo::new(move |_| snap.with(|s| s.faults.clone()));
    let end = Memo::new(move |_| snap.with(|s| s.end_ns.max(1)));
    let pct = move |t: u64| format!("{:.2}%", (t as f64 / end.get() as f64 * 100.0).min(100.0));
    view! {
        <h2 id="timeline-title">"Fault timeline"</h2>
        <div class="strip" aria-hidden="true">
            {move || faults.get().into_iter().map(|f| view! {
                <span class="mark" class:applied=f.applied style:left=pct(f.at_ns) title=format!("{}: {}", f.at, f.text)></span>
            }).collect_view()}
            <span class="now" style:left=move || pct(snap.with(|s| s.now_ns))></span>
        </div>
        {move || {
            let rows = faults.get();
            if rows.is_empty() {
                return Either::Left(view! { <p class="hint">"No faults yet. Inject one above, or add them to the scenario's file."</p> });
            }
            Either::Right(view! {
                <ol class="fault-list">
                    {rows.into_iter().map(|f| {
                        let when = RwSignal::new(f.at.clone());
                        let index = f.index;
                        let text = f.text.clone();
                        let move_it = move || match Duration::parse(when.get_untracked().trim()) {
                            Ok(d) => h.edit_fault(index, Some(d.nanos)),
                            Err(e) => h.notice.set(Some(format!("Fault time: {e}"))),
                        };
                        view! {
                            <li class:applied=f.applied data-fault=index.to_string()>
                                <span class="state">{if f.applied { "applied" } else { "scheduled" }}</span>
                                <label>
                                    <span class="sr-only">{format!("Time of “{text}”")}</span>
                                    <input
                                        type="text"
                                        size="12"
                                        prop:value=when
                                        on:input=move |ev| when.set(event_target_value(&ev))
                                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                            if ev.key() == "Enter" {
                                                move_it();
                                            }
                                        }
                                    />
                                </label>
                                <span class="what">{f.text.clone()}</span>
                                <button on:click=move |_| move_it()>"Move"</button>
                                <button on:click=move |_| h.seek(f.at_ns + 1) title="Go to just after this fault">"Go"</button>
                                <button class="danger" on:click=move |_| h.edit_fault(index, None) aria-label=format!("Delete “{}”", f.text)>"Delete"</button>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            })
        }}
    }
}
