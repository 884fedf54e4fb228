//! The consistency checker's verdicts, updated once per simulated second.

use crate::handle::{LabHandle, PathPick};
use leptos::prelude::*;

#[component]
pub fn VerdictsPanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    // Separate memos: the headline (a live region) changes only when the
    // verdict does, so screen readers hear changes, not every update.
    let headline = Memo::new(move |_| h.snapshot.with(|s| (s.verdicts.headline.clone(), s.verdicts.tone)));
    let rows = Memo::new(move |_| h.snapshot.with(|s| s.verdicts.rows.clone()));
    let violations = Memo::new(move |_| h.snapshot.with(|s| s.verdicts.violations.clone()));
    view! {
        <h2 id="verdicts-title">"Consistency"</h2>
        <p class=move || format!("verdict {}", headline.get().1) role="status" aria-live="polite">
            {move || {
                headline
                    .get()
                    .0
                    .unwrap_or_else(|| "Not judged: in this scenario nothing stores the values clients write.".into())
            }}
        </p>
        <dl class="details">
            {move || {
                rows.get().into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()
            }}
        </dl>
        {move || {
            let found = violations.get();
            (!found.is_empty()).then(|| view! {
                <h3>"Violations"</h3>
                <ul class="violations">
                    {found.into_iter().map(|v| {
                        let at = v.at;
                        view! {
                            <li>
                                <p>
                                    <strong>{v.what.clone()}</strong>
                                    " "
                                    <button class="jump" on:click=move |_| h.seek(at) title="Seek the run to this moment">
                                        {format!("Go to {}", v.at_text())}
                                    </button>
                                </p>
                                // Text only: node names come from scenario links.
                                <ul class="ops">
                                    {v.ops.into_iter().map(|o| view! {
                                        <li>
                                            {o.text}
                                            {o.op.map(|op| view! {
                                                " "
                                                <button class="jump" on:click=move |_| h.follow_op(PathPick::Op(op))
                                                    title="Show this operation's path in the request path panel">
                                                    {format!("Path of operation {op}")}
                                                </button>
                                            })}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}
