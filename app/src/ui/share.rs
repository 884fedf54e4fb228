//! Share and keep: the share link, the scenario as a file (export and
//! import), the run's history and chart data as files; and, as the page
//! opens, the shared run in the address or the saved work.

use crate::handle::LabHandle;
use crate::lesson::player::{parse_step_link, LessonHandle};
use crate::persist;
use crate::share::{export, file};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Offers `text` as a file download named `name`.
fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).map_err(|_| "no Blob")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no object URL")?;
    let doc = window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(|_| "no <a>")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Opens what an address fragment names: a lesson step
/// (`#lesson/<id>/<n>`), an example (`#example/<id>`), or a shared run.
/// Returns whether it opened; on error the work stays and the notice says
/// why.
fn open_fragment(h: LabHandle, lh: LessonHandle, hash: &str) -> bool {
    if let Some(step) = parse_step_link(hash) {
        let opened = step.and_then(|(id, n)| lh.open_step(h, &id, n));
        if let Err(e) = &opened {
            h.notice.set(Some(format!("This lesson link could not be opened: {e}. Your work is as it was.")));
        }
        return opened.is_ok();
    }
    if let Some(id) = hash.trim_start_matches('#').strip_prefix("example/") {
        if crate::examples::find(id).is_none() {
            h.notice.set(Some("This link names no example of this Cluster Lab. Your work is as it was.".into()));
            return false;
        }
        h.open(id);
        return true;
    }
    persist::open_link(h, hash)
}

/// As the page opens: the lesson progress, then what the address names (a
/// shared run, a lesson step), else the saved work and the lesson that was
/// open; then keeps the work saved, and opens links followed later.
pub fn start(h: LabHandle, lh: LessonHandle) {
    // First, so opening a lesson step below adds to the kept progress.
    lh.load_progress(h);
    let hash = window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let link_given = !hash.trim_start_matches('#').trim().is_empty();
    let link_opened = link_given && open_fragment(h, lh, &hash);
    #[cfg(target_arch = "wasm32")]
    {
        use crate::share::autosave;
        if let Some(mut store) = autosave::local_storage() {
            // A bad link leaves the saved work to open, and its problem said.
            let mut restored = None;
            if !link_opened {
                let link_problem = h.notice.get_untracked();
                restored = persist::restore(h, &mut store);
                lh.reopen(h);
                if link_problem.is_some() {
                    h.notice.set(link_problem);
                }
            }
            let last = StoredValue::new_local(restored);
            let save = move || {
                if let Some(mut store) = autosave::local_storage() {
                    let prev = last.get_value();
                    if let Some(saved) = persist::save(h, &mut store, prev.as_ref(), now_ms()) {
                        last.set_value(Some(saved));
                    }
                }
            };
            set_interval(save, std::time::Duration::from_millis(persist::SAVE_EVERY_MS));
            // The page lives as long as the app: these listeners too.
            std::mem::forget(window_event_listener(leptos::ev::pagehide, move |_| save()));
        }
    }
    // Read only by the browser build above.
    let _ = (link_given, link_opened);
    std::mem::forget(window_event_listener(leptos::ev::hashchange, move |_| {
        let hash = window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        if !hash.trim_start_matches('#').trim().is_empty() {
            open_fragment(h, lh, &hash);
        }
    }));
}

/// What a download button saves.
#[derive(Clone, Copy)]
enum Export {
    Scenario,
    History,
    Metrics,
}

#[component]
pub fn SharePanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let link = RwSignal::new(None::<String>);
    let status = RwSignal::new(String::new());
    let share = move |_| match persist::share_link(h) {
        Ok(l) => {
            // Into the address without reloading (no hashchange), and onto
            // the clipboard if the browser lets us.
            if let Some(hist) = window().and_then(|w| w.history().ok()) {
                let _ = hist.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&l));
            }
            let full = window().and_then(|w| w.location().href().ok()).unwrap_or_else(|| l.clone());
            if let Some(clip) = window().map(|w| w.navigator().clipboard()) {
                let _ = clip.write_text(&full);
            }
            status.set(format!(
                "The link ({} characters) opens this very run at {}; it is in the address bar.",
                l.len(),
                h.snapshot.with_untracked(|s| s.now.clone())
            ));
            link.set(Some(full));
        }
        Err(e) => h.notice.set(Some(format!("No link could be made: {e}"))),
    };
    let save_file = move |what: Export| {
        let result = h
            .lab
            .with_value(|l| {
                let l = l.as_ref()?;
                Some(match what {
                    Export::Scenario => {
                        let s = l.scenario();
                        (file::export_file_name(&s), "application/json", file::export_scenario(&s))
                    }
                    Export::History => {
                        ("history.json".to_string(), "application/json", export::history_json(&l.sim, l.final_reads()))
                    }
                    Export::Metrics => ("metrics.csv".to_string(), "text/csv", export::metrics_csv(&l.sim)),
                })
            })
            .map(|(name, mime, text)| download(&name, mime, &text).map(|()| name));
        match result {
            Some(Ok(name)) => status.set(format!("Saved as {name}.")),
            Some(Err(e)) => h.notice.set(Some(format!("The file could not be made: {e}"))),
            None => h.notice.set(Some(format!("No file could be made: {}", persist::not_running(h)))),
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(f) = input.files().and_then(|l| l.get(0)) else { return };
        input.set_value("");
        let name = f.name();
        if let Err(e) = file::check_file_size(f.size() as u64) {
            persist::refuse_file(h, &name, &e.to_string());
            return;
        }
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(f.text()).await.ok().and_then(|t| t.as_string()) {
                Some(text) => {
                    if persist::open_file(h, &name, &text) {
                        status.set(format!("Opened {name}."));
                    }
                }
                None => h.notice.set(Some(format!("`{name}` could not be read as text. Your work is as it was."))),
            }
        });
    };
    view! {
        <h2 id="share-title">"Share and keep"</h2>
        <p class="hint">"Your work is saved in this browser as you go. A link carries the scenario, its faults and this moment."</p>
        <div class="buttons">
            <button class="primary" on:click=share>"Share link"</button>
            <button on:click=move |_| save_file(Export::Scenario)>"Export scenario"</button>
            <label class="file-button">
                "Import file…"
                <input type="file" accept=".json,application/json" data-testid="import" on:change=import />
            </label>
        </div>
        {move || link.get().map(|l| view! {
            <label class="link-field">
                <span class="sr-only">"Share link"</span>
                <input type="text" readonly data-testid="share-link" prop:value=l on:focus=move |ev| {
                    let i: web_sys::HtmlInputElement = event_target(&ev);
                    i.select();
                } />
            </label>
        })}
        <div class="buttons">
            <button on:click=move |_| save_file(Export::History) title="The clients' operations, in the checker's JSON format">"Export history"</button>
            <button on:click=move |_| save_file(Export::Metrics) title="One row per metrics interval">"Export chart data (CSV)"</button>
        </div>
        <p class="hint" role="status" data-testid="share-status">{status}</p>
    }
}
