//! The Build panel: the palette of every kind of node, templates to start
//! from, undo and redo, and, for the selected node, connecting,
//! disconnecting and deleting. Every edit goes through
//! [`crate::handle_edit`] and restarts the run from time zero.

use crate::editor::palette::palette;
use crate::editor::templates::templates;
use crate::handle::LabHandle;
use leptos::prelude::*;

#[component]
pub fn BuildPanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    // The run's faults and the open scenario: a change to either is a step
    // that undo would take back first. (Read, not just tracked: a memo
    // never read never computes, so never changes.)
    let faults =
        Memo::new(move |_| snap.with(|s| s.faults.iter().map(|f| (f.at_ns, f.text.clone())).collect::<Vec<_>>()));
    let undo_label = Memo::new(move |_| {
        faults.with(|_| ());
        h.meta.track();
        h.example.track();
        h.undo_label()
    });
    let redo_label = Memo::new(move |_| {
        faults.with(|_| ());
        h.meta.track();
        h.example.track();
        h.redo_label()
    });
    let add_error = RwSignal::new(None::<String>);
    // An edit sets the selection again; the node's edits stay (and keep
    // the focus) unless it changes.
    let selected = Memo::new(move |_| h.selected.get());
    let palette_buttons = palette()
        .iter()
        .map(|e| {
            let kind = e.kind;
            view! {
                <li>
                    <button
                        title=e.description
                        data-kind=kind.name()
                        on:click=move |_| add_error.set(h.add_node(kind).err().map(|e| e.to_string()))
                    >
                        {e.label}
                    </button>
                </li>
            }
        })
        .collect_view();
    let template = RwSignal::new(templates()[0].id.to_string());
    let template_options = templates()
        .iter()
        .map(|t| view! { <option value=t.id selected=move || template.with(|id| id == t.id)>{t.title}</option> })
        .collect_view();
    let template_summary =
        move || template.with(|id| templates().iter().find(|t| t.id == id).map(|t| t.summary).unwrap_or_default());
    view! {
        <h2 id="build-title">"Build"</h2>
        <p class="hint">"Every edit restarts the run from time zero, keeping the faults scheduled so far."</p>
        <div class="buttons undo-redo">
            <button
                disabled=move || undo_label.with(Option::is_none)
                aria-keyshortcuts="Control+Z"
                on:click=move |_| {
                    h.undo();
                }
            >
                {move || undo_label.get().map_or("Undo".to_string(), |l| format!("Undo {l}"))}
            </button>
            <button
                disabled=move || redo_label.with(Option::is_none)
                aria-keyshortcuts="Control+Shift+Z Control+Y"
                on:click=move |_| {
                    h.redo();
                }
            >
                {move || redo_label.get().map_or("Redo".to_string(), |l| format!("Redo {l}"))}
            </button>
        </div>
        <p class="edit-status" role="status">{move || h.editor.status.get()}</p>
        <h3 id="palette-title">"Add a node"</h3>
        <ul class="palette" aria-labelledby="palette-title">{palette_buttons}</ul>
        <p class="field-error" role="alert">{move || add_error.get().unwrap_or_default()}</p>
        <div class="template">
            <label for="template-pick">"Start from a template"</label>
            <div class="row">
                <select id="template-pick" aria-describedby="template-summary" on:change=move |ev| template.set(event_target_value(&ev))>
                    {template_options}
                </select>
                <button on:click=move |_| h.apply_template(&template.get_untracked())>"Start"</button>
            </div>
            <p class="hint" id="template-summary">{template_summary}</p>
        </div>
        {move || selected.get().map(|node| view! { <SelectedNodeEdits node=node /> })}
    }
}

/// Connect, disconnect and delete for the selected node.
#[component]
fn SelectedNodeEdits(node: String) -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let me = StoredValue::new(node.clone());
    // Names and links change only with the topology, not every frame.
    let others = Memo::new(move |_| {
        snap.with(|s| {
            me.with_value(|me| s.nodes.iter().map(|n| n.name.clone()).filter(|n| n != me).collect::<Vec<_>>())
        })
    });
    let linked = Memo::new(move |_| {
        snap.with(|s| {
            me.with_value(|me| {
                s.links
                    .iter()
                    .filter_map(|l| {
                        if &l.a == me {
                            Some(l.b.clone())
                        } else if &l.b == me {
                            Some(l.a.clone())
                        } else {
                            None
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    let connect_to = RwSignal::new(String::new());
    let disconnect_from = RwSignal::new(String::new());
    let connect_error = RwSignal::new(None::<String>);
    let disconnect_error = RwSignal::new(None::<String>);
    let delete_error = RwSignal::new(None::<String>);
    // The first choice, if none (or one that went away) is chosen.
    let chosen = move |pick: RwSignal<String>, list: Memo<Vec<String>>| {
        let p = pick.get();
        list.with(|l| if l.contains(&p) { Some(p) } else { l.first().cloned() })
    };
    let connect = move |_| {
        let Some(other) = chosen(connect_to, others) else { return };
        connect_error.set(None);
        let result = me.with_value(|me| h.connect(me, &other));
        connect_error.set(result.err().map(|e| e.to_string()));
    };
    let disconnect = move |_| {
        let Some(other) = chosen(disconnect_from, linked) else { return };
        disconnect_error.set(None);
        let result = me.with_value(|me| h.disconnect(me, &other));
        disconnect_error.set(result.err().map(|e| e.to_string()));
    };
    let delete = move |_| {
        let result = me.with_value(|me| h.delete_node(me));
        delete_error.set(result.err().map(|e| e.to_string()));
    };
    let options = move |pick: RwSignal<String>, list: Memo<Vec<String>>| {
        move || {
            let sel = chosen(pick, list);
            list.get()
                .into_iter()
                .map(|n| {
                    let selected = sel.as_deref() == Some(n.as_str());
                    view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                })
                .collect_view()
        }
    };
    view! {
        // Not named after the node: the inspector's heading is.
        <h3 id="edit-node-title">"Connect or delete the selected node"</h3>
        <div class="row">
            <label for="connect-to">"Connect to"</label>
            <select
                id="connect-to"
                aria-describedby="connect-error"
                on:change=move |ev| connect_to.set(event_target_value(&ev))
            >
                {options(connect_to, others)}
            </select>
            <button disabled=move || others.with(Vec::is_empty) on:click=connect>"Connect"</button>
        </div>
        <p class="field-error" id="connect-error" role="alert">{move || connect_error.get().unwrap_or_default()}</p>
        <div class="row">
            <label for="disconnect-from">"Disconnect from"</label>
            <select
                id="disconnect-from"
                aria-describedby="disconnect-error"
                disabled=move || linked.with(Vec::is_empty)
                on:change=move |ev| disconnect_from.set(event_target_value(&ev))
            >
                {options(disconnect_from, linked)}
            </select>
            <button disabled=move || linked.with(Vec::is_empty) on:click=disconnect>"Disconnect"</button>
        </div>
        <p class="field-error" id="disconnect-error" role="alert">{move || disconnect_error.get().unwrap_or_default()}</p>
        <button class="danger" aria-keyshortcuts="Delete" aria-describedby="delete-error" on:click=delete>
            {format!("Delete {node}")}
        </button>
        <p class="field-error" id="delete-error" role="alert">{move || delete_error.get().unwrap_or_default()}</p>
    }
}
