//! The consistency checker's verdicts, updated once per simulated second.

use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn VerdictsPanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    // Separate memos: the headline (a live region) changes only when the
    // verdict does, so screen readers hear changes, not every update.
    let headline = Memo::new(move |_| h.snapshot.with(|s| (s.verdicts.headline.clone(), s.verdicts.tone)));
    let rows = Memo::new(move |_| h.snapshot.with(|s| s.verdicts.rows.clone()));
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
    }
}
