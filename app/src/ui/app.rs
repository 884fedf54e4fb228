use super::shortcuts::{self, Shortcuts};
use super::{
    about::About, charts::Charts, compare::ComparePanel, controls::Controls, faults::FaultsPanel, inspector::Inspector,
    lesson::LessonColumn, log_view::LogView, path::PathPanel, share::SharePanel, timeline::Timeline,
    topology::Topology, verdicts::VerdictsPanel,
};
use crate::handle::LabHandle;
use crate::lesson::player::LessonHandle;
use crate::theme::{self, Theme};
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let handle = LabHandle::new();
    provide_context(handle);
    let lessons = LessonHandle::new();
    provide_context(lessons);
    super::share::start(handle, lessons);
    // The open step's goals follow the run, frame by frame.
    Effect::new(move |_| {
        handle.snapshot.track();
        lessons.update(handle);
    });
    crate::frame_loop::start(handle);
    let theme = RwSignal::new(theme::load());
    theme::apply(theme.get_untracked());
    let help = NodeRef::<leptos::html::Dialog>::new();
    view! {
        <a class="skip" href="#controls">"Skip to the controls"</a>
        <header class="top">
            <h1>"Cluster Lab"</h1>
            <p class="tagline">"A real, deterministic cluster simulation, running in your browser."</p>
            <div class="top-tools">
                <label>
                    "Theme "
                    <select on:change=move |ev| {
                        let t = Theme::parse(&event_target_value(&ev));
                        theme::apply(t);
                        theme.set(t);
                    }>
                        {Theme::ALL.into_iter().map(|t| view! {
                            <option value=t.id() selected=move || theme.get() == t>{t.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button
                    aria-expanded=move || lessons.shown.get().to_string()
                    aria-controls="lesson-column"
                    on:click=move |_| lessons.shown.update(|s| *s = !*s)
                >"Lessons"</button>
                <button on:click=move |_| shortcuts::open(help) aria-keyshortcuts="?">"Keyboard shortcuts"</button>
            </div>
        </header>
        <Shortcuts theme=theme dialog=help />
        <main class="lab" class:with-lesson=move || lessons.shown.get()>
            <div class="lesson-column" id="lesson-column" hidden=move || !lessons.shown.get()>
                {move || lessons.shown.get().then(|| view! { <LessonColumn /> })}
            </div>
            <section class="stage" aria-label="Cluster">
                <Topology />
            </section>
            <aside class="side">
                // What the learner watches first; building below it.
                <Inspector />
                <section class="verdicts" aria-labelledby="verdicts-title">
                    <VerdictsPanel />
                </section>
                <section class="request-path" aria-labelledby="path-title">
                    <PathPanel />
                </section>
                <section class="build" aria-labelledby="build-title">{super::build::BuildPanel()}</section>
                <section class="share" aria-labelledby="share-title">
                    <SharePanel />
                </section>
                <section class="compare-panel" aria-labelledby="compare-title">
                    <ComparePanel />
                </section>
                <About />
            </aside>
            <section class="controls" id="controls" aria-label="Run controls">
                <Controls />
            </section>
            <div class="faults-row">
                <section class="faults" aria-labelledby="faults-title">
                    <FaultsPanel />
                </section>
                <section class="timeline" aria-labelledby="timeline-title">
                    <Timeline />
                </section>
            </div>
            <section class="charts" aria-label="Metrics">
                <Charts />
            </section>
            <section class="log" aria-labelledby="log-title">
                <LogView />
            </section>
        </main>
    }
}
