//! The cluster drawn as an SVG: links (click or press Enter to cut or
//! heal), nodes (click to inspect; drag, or focus and press the arrow
//! keys, to move), and the messages on the wire.

use crate::editor::moving::{clamp, Direction};
use crate::handle::LabHandle;
use crate::snapshot::{Dot, HEIGHT, WIDTH};
use engine::components::Kind;
use engine::message::MsgKind;
use leptos::prelude::*;
use std::fmt::Write;
use wasm_bindgen::JsCast;

const KINDS: [(MsgKind, &str); 6] = [
    (MsgKind::Request, "request"),
    (MsgKind::Response, "response"),
    (MsgKind::ErrorResponse, "error"),
    (MsgKind::HealthCheck, "check"),
    (MsgKind::HealthCheckReply, "check-reply"),
    (MsgKind::Refused, "refused"),
];

/// All dots of one kind as one path: one DOM update per kind per frame.
/// Each message is a 6x6 square centred on its place: with two thousand
/// on the wire, drawing discs was what made frames miss the display (in
/// 10-s runs of the busy example, 7 to 39 missed vsyncs with discs, 1 to
/// 18 with squares; BENCHMARKS.md).
fn dots_path(dots: &[Dot], kind: MsgKind) -> String {
    let mut d = String::new();
    for dot in dots.iter().filter(|d| d.kind == kind) {
        let _ = write!(d, "M{:.1} {:.1}h6v6h-6z", dot.x - 3.0, dot.y - 3.0);
    }
    d
}

/// The width a node's badge may take: its box (128 units) less a margin.
const BADGE_WIDTH: f64 = 120.0;

/// For a badge too long for its node's box ("primary · epoch 1 · lsn
/// 1080"), the width to squeeze it into (`textLength`); none for one that
/// fits. Estimated from its length: about 5.6 units per character at the
/// badge's 10.5 px (measuring would need the text drawn first).
fn badge_squeeze(text: &str) -> Option<String> {
    let estimate = text.chars().count() as f64 * 5.6;
    (estimate > BADGE_WIDTH).then(|| BADGE_WIDTH.to_string())
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "clients",
        Kind::LoadBalancer => "load balancer",
        Kind::Server => "server",
        Kind::Database => "database",
        Kind::Cache => "cache",
        Kind::Sentinel => "sentinel",
        Kind::RaftKv => "raft store",
        Kind::KafkaController => "kafka controller",
        Kind::KafkaBroker => "kafka broker",
        Kind::KafkaProducer => "producer",
        Kind::KafkaConsumer => "consumer",
    }
}

/// A node being dragged with the pointer.
#[derive(Clone, Debug, PartialEq)]
struct Drag {
    name: String,
    pointer: i32,
    /// Where the pointer went down, in client pixels.
    start: (i32, i32),
    /// The node's centre minus the pointer, in canvas units.
    offset: (f64, f64),
    /// Where the node is now, in canvas units.
    pos: (f64, f64),
    /// Moved far enough to be a drag, not a click.
    moved: bool,
}

/// A pointer's position in canvas units: the SVG keeps its view box's
/// aspect ratio, centred in its box.
fn canvas_point(svg: &web_sys::Element, x: i32, y: i32) -> (f64, f64) {
    let r = svg.get_bounding_client_rect();
    let scale = (r.width() / WIDTH).min(r.height() / HEIGHT).max(1e-9);
    let left = r.left() + (r.width() - WIDTH * scale) / 2.0;
    let top = r.top() + (r.height() - HEIGHT * scale) / 2.0;
    ((x as f64 - left) / scale, (y as f64 - top) / scale)
}

/// The arrow key's direction.
fn direction(key: &str) -> Option<Direction> {
    match key {
        "ArrowLeft" => Some(Direction::Left),
        "ArrowRight" => Some(Direction::Right),
        "ArrowUp" => Some(Direction::Up),
        "ArrowDown" => Some(Direction::Down),
        _ => None,
    }
}

/// Gives node `name` the focus again once the canvas is redrawn (moving it
/// redraws the nodes).
fn refocus_node(name: String) {
    request_animation_frame(move || {
        let el = document()
            .query_selector_all(".topology [data-node]")
            .ok()
            .and_then(|list| {
                (0..list.length()).filter_map(|i| list.item(i)).find_map(|n| {
                    let el = n.dyn_into::<web_sys::Element>().ok()?;
                    (el.get_attribute("data-node").as_deref() == Some(name.as_str())).then_some(el)
                })
            })
            .and_then(|el| el.dyn_into::<web_sys::SvgElement>().ok());
        if let Some(el) = el {
            let _ = el.focus();
        }
    });
}

#[component]
pub fn Topology() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    let drag = RwSignal::new(None::<Drag>);
    // Where node `name` is drawn: where it is being dragged, or (x, y).
    let at = move |name: &str, x: f64, y: f64| {
        drag.with(|d| d.as_ref().filter(|d| d.moved && d.name == name).map(|d| d.pos)).unwrap_or((x, y))
    };
    let draft = Memo::new(move |_| h.draft_problem());
    // The shape (which nodes and links exist, and where) changes only with
    // the example; per frame only states and badges change.
    let shape = Memo::new(move |_| {
        snap.with(|s| {
            (
                s.nodes.iter().map(|n| (n.name.clone(), n.kind, n.x, n.y)).collect::<Vec<_>>(),
                s.links.iter().map(|l| (l.a.clone(), l.b.clone(), l.ax, l.ay, l.bx, l.by)).collect::<Vec<_>>(),
            )
        })
    });
    let links = move || {
        shape.with(|(_, links)| {
            links
                .iter()
                .enumerate()
                .map(|(i, (a, b, ax, ay, bx, by))| {
                    let (ax, ay, bx, by) = (*ax, *ay, *bx, *by);
                    let end_a = {
                        let a = a.clone();
                        move || at(&a, ax, ay)
                    };
                    let end_b = {
                        let b = b.clone();
                        move || at(&b, bx, by)
                    };
                    let (a1, a2, b1, b2) = (end_a.clone(), end_a.clone(), end_b.clone(), end_b.clone());
                    let (a3, a4, b3, b4) = (end_a.clone(), end_a.clone(), end_b.clone(), end_b.clone());
                    // One subscriber of the snapshot per link: the link's
                    // views below follow this memo, and run again only when
                    // the link changes.
                    let link_state = Memo::new(move |_| {
                        snap.with(|s| {
                            s.links.get(i).map_or((false, false, None), |l| (l.cut, l.degraded, l.held.map(|n| (n, l.held_full))))
                        })
                    });
                    let cut = move || link_state.get().0;
                    let degraded = move || link_state.get().1;
                    let held = move || link_state.get().2;
                    let label = {
                        let (a, b) = (a.clone(), b.clone());
                        move || {
                            // The mark on the wire is drawn, not read: say it here too.
                            let held = match held() {
                                Some((n, true)) => format!(" (held: {n} messages waiting, full: more are dropped)"),
                                Some((n, false)) => format!(" (held: {n} messages waiting)"),
                                None => String::new(),
                            };
                            if cut() {
                                format!("Heal the cut link between {a} and {b}{held}")
                            } else {
                                format!("Cut the link between {a} and {b}{held}")
                            }
                        }
                    };
                    let toggle = {
                        let (a, b) = (a.clone(), b.clone());
                        move || h.toggle_link(&a, &b)
                    };
                    let toggle_key = toggle.clone();
                    let title = label.clone();
                    view! {
                        <g class="link" class:cut=cut class:degraded=degraded class:held=move || held().is_some()>
                            <line class="wire" x1=move || a1().0 y1=move || a2().1 x2=move || b1().0 y2=move || b2().1 />
                            <line
                                class="hit"
                                x1=move || a3().0 y1=move || a4().1 x2=move || b3().0 y2=move || b4().1
                                role="button"
                                tabindex="0"
                                aria-label=label
                                data-link=format!("{a}-{b}")
                                on:click=move |_| toggle()
                                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                    if ev.key() == "Enter" || ev.key() == " " {
                                        ev.prevent_default();
                                        toggle_key();
                                    }
                                }
                            >
                                <title>{title}</title>
                            </line>
                            <text class="cut-mark" x=(ax + bx) / 2.0 y=(ay + by) / 2.0 - 6.0>
                                {move || match held() {
                                    _ if cut() => "cut".to_string(),
                                    Some((n, true)) => format!("held · {n} · full"),
                                    Some((n, false)) => format!("held · {n}"),
                                    None => String::new(),
                                }}
                            </text>
                        </g>
                    }
                })
                .collect_view()
        })
    };
    let nodes = move || {
        shape.with(|(nodes, _)| {
            nodes
                .iter()
                .enumerate()
                .map(|(i, (name, kind, x, y))| {
                    let name = name.clone();
                    let kind = *kind;
                    let (x, y) = (*x, *y);
                    // As for links: one subscriber of the snapshot per node.
                    let node_state = Memo::new(move |_| {
                        snap.with(|s| s.nodes.get(i).map_or(("up", String::new()), |n| (n.state, n.badge.clone())))
                    });
                    let state = move || node_state.with(|n| n.0);
                    let badge = move || node_state.with(|n| n.1.clone());
                    let selected = {
                        let name = name.clone();
                        move || h.selected.with(|sel| sel.as_deref() == Some(name.as_str()))
                    };
                    let select = {
                        let name = name.clone();
                        move || h.selected.set(Some(name.clone()))
                    };
                    let select_key = select.clone();
                    let key_name = name.clone();
                    let (down_name, move_name, up_name, tf_name) = (name.clone(), name.clone(), name.clone(), name.clone());
                    let label = {
                        let name = name.clone();
                        // Starts with the visible text (name, badge) so speech
                        // input users can say what they see.
                        move || format!("{name} {}, {}, {}: show details", badge(), kind_label(kind), state())
                    };
                    view! {
                        <g
                            class=move || format!("node {} {}", kind.name(), state())
                            class:selected=selected
                            transform=move || {
                                let (x, y) = at(&tf_name, x, y);
                                format!("translate({x:.1},{y:.1})")
                            }
                            role="button"
                            tabindex="0"
                            aria-label=label
                            aria-keyshortcuts="ArrowLeft ArrowRight ArrowUp ArrowDown"
                            data-node=name.clone()
                            on:click=move |_| select()
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    select_key();
                                } else if let Some(dir) = direction(&ev.key()) {
                                    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                                        return;
                                    }
                                    ev.prevent_default();
                                    match h.nudge(&key_name, dir, ev.shift_key()) {
                                        Ok(_) => refocus_node(key_name.clone()),
                                        Err(e) => h.notice.set(Some(e.to_string())),
                                    }
                                }
                            }
                            on:pointerdown=move |ev: leptos::ev::PointerEvent| {
                                if ev.button() != 0 || !ev.is_primary() {
                                    return;
                                }
                                let Some(svg) = svg_ref.get_untracked() else { return };
                                let (px, py) = canvas_point(&svg, ev.client_x(), ev.client_y());
                                if let Some(el) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                                    let _ = el.set_pointer_capture(ev.pointer_id());
                                }
                                drag.set(Some(Drag {
                                    name: down_name.clone(),
                                    pointer: ev.pointer_id(),
                                    start: (ev.client_x(), ev.client_y()),
                                    offset: (x - px, y - py),
                                    pos: (x, y),
                                    moved: false,
                                }));
                            }
                            on:pointermove=move |ev: leptos::ev::PointerEvent| {
                                let Some(svg) = svg_ref.get_untracked() else { return };
                                let active = drag.with_untracked(|d| {
                                    d.as_ref().is_some_and(|d| d.name == move_name && d.pointer == ev.pointer_id())
                                });
                                if !active {
                                    return;
                                }
                                let (px, py) = canvas_point(&svg, ev.client_x(), ev.client_y());
                                drag.update(|d| {
                                    let Some(d) = d else { return };
                                    let far = (ev.client_x() - d.start.0).abs() + (ev.client_y() - d.start.1).abs() > 3;
                                    d.moved |= far;
                                    if let Ok([cx, cy]) = clamp([px + d.offset.0, py + d.offset.1]) {
                                        d.pos = (cx, cy);
                                    }
                                });
                            }
                            on:pointerup=move |ev: leptos::ev::PointerEvent| {
                                let done = drag.with_untracked(|d| {
                                    d.as_ref().filter(|d| d.name == up_name && d.pointer == ev.pointer_id()).cloned()
                                });
                                let Some(d) = done else { return };
                                if d.moved {
                                    // One undo step per drag.
                                    if let Err(e) = h.move_node(&d.name, [d.pos.0, d.pos.1]) {
                                        h.notice.set(Some(e.to_string()));
                                    }
                                }
                                drag.set(None);
                            }
                            on:pointercancel=move |_| drag.set(None)
                        >
                            <rect class="full" x="-64" y="-24" width="128" height="48" rx="8" />
                            <rect class="small" x="-44" y="-15" width="88" height="30" rx="6" />
                            // One text, so the visible text reads "name badge"
                            // with a space, as the accessible name does.
                            <text>
                                <tspan class="name" x="0" y="-5">{name.clone()}</tspan>
                                " "
                                <tspan
                                    class="badge"
                                    x="0"
                                    y="13"
                                    textLength=move || badge_squeeze(&badge())
                                    lengthAdjust="spacingAndGlyphs"
                                >
                                    {badge}
                                </tspan>
                            </text>
                        </g>
                    }
                })
                .collect_view()
        })
    };
    let dots = move || {
        snap.with(|s| {
            KINDS
                .iter()
                .map(|&(kind, class)| view! { <path class=format!("msg {class}") d=dots_path(&s.dots, kind) /> })
                .collect_view()
        })
    };
    let compact = move || snap.with(|s| s.compact);
    view! {
        {move || draft.get().map(|p| view! {
            <p class="draft-banner" role="status">
                <strong>"Draft: the run is stopped until the scenario is complete. "</strong>
                {p}
            </p>
        })}
        <svg
            node_ref=svg_ref
            class="topology"
            class:dragging=move || drag.with(|d| d.as_ref().is_some_and(|d| d.moved))
            class:compact=compact
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="group"
            aria-label="The cluster: nodes and the links between them"
        >
            <g class="links">{links}</g>
            <g class="dots" aria-hidden="true">{dots}</g>
            <g class="nodes">{nodes}</g>
        </svg>
        <p class="legend" aria-hidden="true">
            <span class="key request">"request"</span>
            <span class="key response">"response"</span>
            <span class="key error">"error"</span>
            <span class="key check">"health check"</span>
            <span class="key refused">"refused"</span>
            <span class="in-flight">{move || snap.with(|s| format!("{} message{} on the wire", s.in_flight, if s.in_flight == 1 { "" } else { "s" }))}</span>
        </p>
        <p class="hint">
            "Click a node for details; drag it, or focus it and press the arrow keys (Shift: bigger steps), to move it. Click a link (or focus it and press Enter) to cut or heal it."
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_badges_too_long_for_the_box_are_squeezed() {
        assert_eq!(badge_squeeze("3/3 UP · 4 conns"), None);
        assert_eq!(badge_squeeze("primary · epoch 1 · lsn 1080").as_deref(), Some("120"));
    }
}
