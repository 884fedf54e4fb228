//! The cluster drawn as an SVG: links (click or press Enter to cut or
//! heal), nodes (click to inspect), and the messages on the wire.

use crate::handle::LabHandle;
use crate::snapshot::{Dot, HEIGHT, WIDTH};
use engine::components::Kind;
use engine::message::MsgKind;
use leptos::prelude::*;
use std::fmt::Write;

const KINDS: [(MsgKind, &str); 6] = [
    (MsgKind::Request, "request"),
    (MsgKind::Response, "response"),
    (MsgKind::ErrorResponse, "error"),
    (MsgKind::HealthCheck, "check"),
    (MsgKind::HealthCheckReply, "check-reply"),
    (MsgKind::Refused, "refused"),
];

/// All dots of one kind as one path: one DOM update per kind per frame.
fn dots_path(dots: &[Dot], kind: MsgKind) -> String {
    let mut d = String::new();
    for dot in dots.iter().filter(|d| d.kind == kind) {
        let _ = write!(d, "M{:.1} {:.1}m-3 0a3 3 0 1 0 6 0a3 3 0 1 0-6 0", dot.x, dot.y);
    }
    d
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

#[component]
pub fn Topology() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
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
                    let cut = move || snap.with(|s| s.links.get(i).is_some_and(|l| l.cut));
                    let degraded = move || snap.with(|s| s.links.get(i).is_some_and(|l| l.degraded));
                    let label = {
                        let (a, b) = (a.clone(), b.clone());
                        move || {
                            if cut() {
                                format!("Heal the cut link between {a} and {b}")
                            } else {
                                format!("Cut the link between {a} and {b}")
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
                        <g class="link" class:cut=cut class:degraded=degraded>
                            <line class="wire" x1=ax y1=ay x2=bx y2=by />
                            <line
                                class="hit"
                                x1=ax y1=ay x2=bx y2=by
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
                                {move || if cut() { "cut" } else { "" }}
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
                    let state = move || snap.with(|s| s.nodes.get(i).map_or("up", |n| n.state));
                    let badge = move || snap.with(|s| s.nodes.get(i).map(|n| n.badge.clone()).unwrap_or_default());
                    let selected = {
                        let name = name.clone();
                        move || h.selected.with(|sel| sel.as_deref() == Some(name.as_str()))
                    };
                    let select = {
                        let name = name.clone();
                        move || h.selected.set(Some(name.clone()))
                    };
                    let select_key = select.clone();
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
                            transform=format!("translate({x:.1},{y:.1})")
                            role="button"
                            tabindex="0"
                            aria-label=label
                            data-node=name.clone()
                            on:click=move |_| select()
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    select_key();
                                }
                            }
                        >
                            <rect class="full" x="-64" y="-24" width="128" height="48" rx="8" />
                            <rect class="small" x="-44" y="-15" width="88" height="30" rx="6" />
                            // One text, so the visible text reads "name badge"
                            // with a space, as the accessible name does.
                            <text>
                                <tspan class="name" x="0" y="-5">{name.clone()}</tspan>
                                " "
                                <tspan class="badge" x="0" y="13">{badge}</tspan>
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
        <svg
            class="topology"
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
            <span class="in-flight">{move || snap.with(|s| format!("{} messages on the wire", s.in_flight))}</span>
        </p>
        <p class="hint">"Click a node for details; click a link (or focus it and press Enter) to cut or heal it."</p>
    }
}
