//! Placeholder app so the build and browser-test pipeline has something to
//! build; the real Cluster Lab UI replaces this file.
use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let (count, set_count) = signal(0u32);
    view! {
        <main>
            <h1>"Cluster Lab"</h1>
            <button on:click=move |_| set_count.update(|n| *n += 1)>
                "Clicked " {count} " times"
            </button>
        </main>
    }
}
