use super::{
    about::About, charts::Charts, controls::Controls, faults::FaultsPanel, inspector::Inspector, log_view::LogView,
    timeline::Timeline, topology::Topology, verdicts::VerdictsPanel,
};
use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let handle = LabHandle::new();
    provide_context(handle);
    crate::frame_loop::start(handle);
    view! {
        <a class="skip" href="#controls">"Skip to the controls"</a>
        <header class="top">
            <h1>"Cluster Lab"</h1>
            <p class="tagline">"A real, deterministic cluster simulation, running in your browser."</p>
        </header>
        <main class="lab">
            <section class="stage" aria-label="Cluster">
                <Topology />
            </section>
            <aside class="side">
                <Inspector />
                <section class="verdicts" aria-labelledby="verdicts-title">
                    <VerdictsPanel />
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
