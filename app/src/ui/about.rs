//! What the open scenario is about. Lessons will take this place beside
//! the lab.

use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn About() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let scenario = Memo::new(move |_| Some(h.meta.get()));
    view! {
        <section class="about" aria-labelledby="about-title">
            <h2 id="about-title">{move || scenario.get().map(|s| s.0).unwrap_or_default()}</h2>
            // Text from scenarios is always rendered as text, never as HTML.
            <p>{move || scenario.get().map(|s| s.1).unwrap_or_default()}</p>
        </section>
    }
}
