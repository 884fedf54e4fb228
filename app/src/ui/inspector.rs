//! The selected node: its live state in detail, what you can do to it,
//! and its configuration, edited inline.

use crate::editor::config_form::{Field, FieldKind};
use crate::handle::LabHandle;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use std::collections::HashMap;
use wasm_bindgen::JsCast;

#[component]
pub fn Inspector() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let node = move || {
        let sel = h.selected.get()?;
        snap.with(|s| s.nodes.iter().find(|n| n.name == sel).cloned())
    };
    // Read when the selection is set (an edit sets it again) and, for a
    // cache, each frame: a failover rewrites its `replicaof`. A haproxy.cfg
    // does not change during a run. The view changes only with the text,
    // so an open <details> stays open while the live rows above it update.
    let cfg = Memo::new(move |_| {
        let node = h.selected.get()?;
        let (file, text) = h.config_file(&node)?;
        if file == "redis.conf" {
            h.snapshot.track();
        }
        Some((node, file, text))
    });
    let file = Memo::new(move |_| cfg.with(|c| c.as_ref().map(|(n, f, _)| (n.clone(), *f))));
    // An edit sets the selection again: the form stays unless it changes.
    let selected = Memo::new(move |_| h.selected.get());
    view! {
        <section class="inspector" aria-labelledby="inspector-title">
            <h2 id="inspector-title">{move || node().map_or("Nothing selected".to_string(), |n| n.name)}</h2>
            {move || match node() {
                None => Either::Left(view! { <p class="hint">"Select a node in the cluster to see its state and crash or restart it."</p> }),
                Some(n) => {
                    let name = n.name.clone();
                    let crashed = n.state == "crashed";
                    // A draft does not run: nothing to crash.
                    let runs = n.state != "draft";
                    Either::Right(view! {
                        <dl class="details">
                            {n.details.into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()}
                        </dl>
                        {n.tables.into_iter().map(|t| (t.caption.clone(), t)).map(|(label, t)| view! {
                            // Scrolls sideways in a narrow panel, also from the keyboard.
                            <div class="detail-table" tabindex="0" role="region" aria-label=label>
                                <table>
                                    <caption>{t.caption}</caption>
                                    <thead><tr>{t.head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr></thead>
                                    <tbody>
                                        {t.rows.into_iter().map(|r| view! {
                                            <tr>{r.into_iter().enumerate().map(|(i, c)| if i == 0 {
                                                Either::Left(view! { <th scope="row">{c}</th> })
                                            } else {
                                                Either::Right(view! { <td>{c}</td> })
                                            }).collect_view()}</tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }).collect_view()}
                        {runs.then(|| view! {
                            <button class=if crashed { "primary" } else { "danger" } on:click=move |_| h.toggle_crash(&name)>
                                {if crashed { format!("Restart {}", n.name) } else { format!("Crash {}", n.name) }}
                            </button>
                        })}
                    })
                }
            }}
            // Rebuilt only when the selection or the document changes, so
            // what is typed stays while the run goes on.
            {move || selected.get().map(|node| view! { <ConfigForm node=node /> })}
            // Text, never HTML: names in it come from scenario links.
            // The section is built per node, its text follows the file: an
            // open section stays open when a failover rewrites the file.
            {move || file.get().map(|(node, file)| view! {
                <details class="config">
                    <summary>{format!("As {file}")}</summary>
                    <pre tabindex="0" aria-label=format!("{node} as {file}")>
                        {move || cfg.with(|c| c.as_ref().map(|c| c.2.clone()).unwrap_or_default())}
                    </pre>
                </details>
            })}
        </section>
    }
}

/// An element id for field `path`: letters, digits, `-` and `_` only.
fn field_id(path: &str) -> String {
    let mut id = String::from("cfg-");
    for c in path.chars() {
        id.push(match c {
            '.' => '_',
            '[' | ']' => '-',
            c if c.is_ascii_alphanumeric() || c == '_' => c,
            _ => '-',
        });
    }
    id
}

/// Puts the focus back on element `id` once the view has been rebuilt
/// (a successful change redraws the form).
fn refocus(id: String) {
    request_animation_frame(move || {
        let el = document().get_element_by_id(&id).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(el) = el {
            let _ = el.focus();
        }
    });
}

/// A setting's name that may wrap after each `_` (`maxmemory_` /
/// `eviction_` / `tenacity`) rather than mid-word; `<wbr>` adds no
/// character, so the name copies as it is.
fn breakable(name: &str) -> impl IntoView {
    let parts: Vec<String> = name.split_inclusive('_').map(str::to_string).collect();
    parts.into_iter().map(|p| view! { {p}<wbr /> }).collect_view()
}

/// Fields grouped by the object they belong to, in the order they come.
fn grouped(fields: Vec<Field>) -> Vec<(String, Vec<Field>)> {
    let mut out: Vec<(String, Vec<Field>)> = Vec::new();
    for f in fields {
        match out.iter_mut().find(|(g, _)| *g == f.group) {
            Some((_, v)) => v.push(f),
            None => out.push((f.group.clone(), vec![f])),
        }
    }
    out
}

/// The node's configuration: one labelled input per setting, named by its
/// key in the scenario format (the real system's word), grouped by the
/// object it belongs to. A refused value shows its reason next to the
/// field, keeps what was typed, and changes nothing.
#[component]
fn ConfigForm(node: String) -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let me = StoredValue::new(node.clone());
    let fields = Memo::new(move |_| me.with_value(|n| h.config_fields(n)));
    let errors = RwSignal::new(HashMap::<String, String>::new());
    let set = move |path: String, text: String| {
        let id = field_id(&path);
        match me.with_value(|n| h.set_field(n, &path, &text)) {
            Ok(_) => {
                errors.update(|e| {
                    e.remove(&path);
                });
                refocus(id);
            }
            Err(e) => errors.update(|m| {
                m.insert(path, e.message);
            }),
        }
    };
    let row = move |f: Field| {
        let id = field_id(&f.path);
        let err_id = format!("{id}-error");
        let path = f.path.clone();
        let error = {
            let path = path.clone();
            move || errors.with(|e| e.get(&path).cloned())
        };
        let invalid = {
            let error = error.clone();
            move || error().is_some().then_some("true")
        };
        let described = {
            let (error, err_id) = (error.clone(), err_id.clone());
            move || error().is_some().then(|| err_id.clone())
        };
        let input = match &f.kind {
            FieldKind::Bool => {
                let path = path.clone();
                EitherOf3::A(view! {
                    <input
                        type="checkbox"
                        id=id.clone()
                        checked=f.value == "true"
                        aria-invalid=invalid
                        aria-describedby=described
                        on:change=move |ev| set(path.clone(), event_target_checked(&ev).to_string())
                    />
                })
            }
            FieldKind::Choice(options) => {
                let path = path.clone();
                let value = f.value.clone();
                EitherOf3::B(view! {
                    <select
                        id=id.clone()
                        aria-invalid=invalid
                        aria-describedby=described
                        on:change=move |ev| set(path.clone(), event_target_value(&ev))
                    >
                        // Unset: its default applies until one is chosen.
                        {(!f.set).then(|| view! { <option value="" selected=true>"default"</option> })}
                        {options.iter().map(|o| view! { <option value=o.clone() selected=*o == value>{o.clone()}</option> }).collect_view()}
                    </select>
                })
            }
            kind => {
                let path = path.clone();
                let hint = match kind {
                    FieldKind::Duration => "a number and a unit: 2s, 500ms, 1.5s",
                    FieldKind::List => "items separated by commas",
                    FieldKind::Number => "a number",
                    _ => "",
                };
                EitherOf3::C(view! {
                    <input
                        type="text"
                        id=id.clone()
                        value=f.value.clone()
                        placeholder=(!f.set).then_some("default")
                        title=(!hint.is_empty()).then_some(hint)
                        autocomplete="off"
                        spellcheck="false"
                        aria-invalid=invalid
                        aria-describedby=described
                        on:change=move |ev| set(path.clone(), event_target_value(&ev))
                    />
                })
            }
        };
        view! {
            <div class="field" class:unset=!f.set data-path=f.path.clone()>
                <label for=id.clone()>{breakable(&f.label)}</label>
                {input}
                <span class="field-error" id=err_id.clone()>{move || error().unwrap_or_default()}</span>
            </div>
        }
    };
    view! {
        <section class="config-form" aria-labelledby="config-title">
            <h3 id="config-title">"Configuration"</h3>
            <p class="hint">"Named as in the scenario file. A change applies when you leave the field or press Enter, and restarts the run."</p>
            {move || fields.get().map(|fields| {
                grouped(fields)
                    .into_iter()
                    .map(|(group, fs)| {
                        let legend = if group.is_empty() { "settings".to_string() } else { group };
                        view! {
                            <fieldset>
                                <legend>{legend}</legend>
                                {fs.into_iter().map(row).collect_view()}
                            </fieldset>
                        }
                    })
                    .collect_view()
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ids_are_plain_and_distinct() {
        assert_eq!(field_id("default_server.rise"), "cfg-default_server_rise");
        assert_eq!(field_id("servers[0].weight"), "cfg-servers-0-_weight");
        assert_ne!(field_id("servers[1].weight"), field_id("servers[0].weight"));
    }
}
