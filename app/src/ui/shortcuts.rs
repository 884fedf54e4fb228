//! Keyboard shortcuts for the whole lab, and the help overlay that lists
//! them (the same table, so the list cannot drift from what works).

use crate::handle::LabHandle;
use crate::lab::SPEEDS;
use crate::theme::{self, Theme};
use leptos::html::Dialog;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// (keys, what they do), as the help overlay shows them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space or K", "Play or pause"),
    (".", "Process one event (pauses)"),
    ("[ and ]", "Slower, faster"),
    ("J and L", "Seek 5 simulated seconds back, forward"),
    ("0", "Seek to the start"),
    ("V", "Go to the first consistency violation"),
    ("C", "Crash the selected node, or restart it"),
    ("P", "Follow the slowest request so far (the request path panel)"),
    ("Escape", "Close this help; clear the selection"),
    ("T", "Next colour theme (system, light, dark)"),
    ("?", "Show this help"),
    ("Tab, Shift+Tab", "Move between controls, nodes and links"),
    ("Enter on a node", "Select it: its state, and the faults panel acts on it"),
    ("Enter on a link", "Cut it, or heal it"),
    ("Arrow keys on a node", "Move it (with Shift: in bigger steps)"),
    ("Up, Down in the event log", "Move between its lines; Enter goes to that line's moment"),
    ("Delete", "Delete the selected node"),
    ("Ctrl+Z", "Undo the last edit"),
    ("Ctrl+Shift+Z or Ctrl+Y", "Redo"),
];

const SEEK_STEP_NS: u64 = 5_000_000_000;

/// Whether the key goes to a form field (text typed there, and its own
/// undo, are the field's).
fn is_in_a_field(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    matches!(el.tag_name().to_ascii_lowercase().as_str(), "input" | "select" | "textarea")
}

/// Keys typed into a field are the field's; Space and Enter on a button
/// press the button.
fn is_for_the_focused_element(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    let tag = el.tag_name().to_ascii_lowercase();
    if is_in_a_field(ev) {
        return true;
    }
    let pressable = tag == "button" || tag == "a" || el.get_attribute("role").is_some_and(|r| r == "button");
    pressable && matches!(ev.key().as_str(), " " | "Enter")
}

#[component]
pub fn Shortcuts(theme: RwSignal<Theme>, dialog: NodeRef<Dialog>) -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let open_help = move || open(dialog);
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        // Undo and redo (Ctrl, or Cmd on a Mac), except in a field.
        if (ev.ctrl_key() || ev.meta_key()) && !ev.alt_key() && !ev.default_prevented() && !is_in_a_field(&ev) {
            let done = match (ev.key().to_ascii_lowercase().as_str(), ev.shift_key()) {
                ("z", false) => Some(h.undo().is_some() || nothing(h, "Nothing to undo.")),
                ("z", true) | ("y", _) => Some(h.redo().is_some() || nothing(h, "Nothing to redo.")),
                _ => None,
            };
            if done.is_some() {
                ev.prevent_default();
            }
            return;
        }
        if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.default_prevented() {
            return;
        }
        if ev.key() != "Escape" && is_for_the_focused_element(&ev) {
            return;
        }
        let snap = h.snapshot.get_untracked();
        let speed_at = |d: isize| {
            let i = SPEEDS.iter().position(|&s| s == snap.speed).unwrap_or(3) as isize;
            SPEEDS[(i + d).clamp(0, SPEEDS.len() as isize - 1) as usize]
        };
        let handled = match ev.key().as_str() {
            " " | "k" => {
                h.set_playing(!snap.playing);
                true
            }
            "." => {
                h.step();
                true
            }
            "[" => {
                h.set_speed(speed_at(-1));
                true
            }
            "]" => {
                h.set_speed(speed_at(1));
                true
            }
            "j" => {
                h.seek(snap.now_ns.saturating_sub(SEEK_STEP_NS));
                true
            }
            "l" => {
                h.seek((snap.now_ns + SEEK_STEP_NS).min(snap.end_ns));
                true
            }
            "0" => {
                h.seek(0);
                true
            }
            "v" => match snap.verdicts.violations.first() {
                Some(v) => {
                    h.seek(v.at);
                    true
                }
                None => {
                    h.notice.set(Some("No consistency violation in this run so far.".into()));
                    true
                }
            },
            "c" => match h.selected.get_untracked() {
                Some(node) => {
                    h.toggle_crash(&node);
                    true
                }
                None => false,
            },
            "Delete" => match h.selected.get_untracked() {
                Some(node) => {
                    if let Err(e) = h.delete_node(&node) {
                        h.notice.set(Some(e.to_string()));
                    }
                    true
                }
                None => false,
            },
            "p" => {
                h.follow_op(crate::handle::PathPick::Slowest);
                true
            }
            "t" => {
                let next = theme.get_untracked().next();
                theme::apply(next);
                theme.set(next);
                true
            }
            "?" => {
                open_help();
                true
            }
            "Escape" => {
                // The dialog closes itself on Escape.
                h.selected.set(None);
                false
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    });
    on_cleanup(move || handle.remove());
    view! {
        <dialog class="help" node_ref=dialog aria-labelledby="help-title">
            <h2 id="help-title">"Keyboard shortcuts"</h2>
            <table>
                <thead><tr><th scope="col">"Keys"</th><th scope="col">"What they do"</th></tr></thead>
                <tbody>
                    {SHORTCUTS.iter().map(|(k, what)| view! { <tr><td><kbd>{*k}</kbd></td><td>{*what}</td></tr> }).collect_view()}
                </tbody>
            </table>
            <p class="hint">"Shortcuts are off while you type in a field."</p>
            <form method="dialog"><button class="primary" autofocus>"Close"</button></form>
        </dialog>
    }
}

/// Says there was nothing to do; false.
fn nothing(h: LabHandle, what: &str) -> bool {
    h.notice.set(Some(what.to_string()));
    false
}

/// Opens the help overlay.
pub fn open(dialog: NodeRef<Dialog>) {
    if let Some(d) = dialog.get_untracked() {
        if !d.open() {
            let _ = d.show_modal();
        }
    }
}
