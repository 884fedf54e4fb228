//! The faults panel: what can go wrong, applied now. Each action becomes a
//! fault in the run's schedule (see the timeline), so a replay or a share
//! link reproduces it.

use crate::handle::LabHandle;
use engine::clock::Offset;
use engine::components::load_balancer::admin::{AdminState, WeightChange};
use engine::distribution::Distribution;
use engine::fault::nemesis::NemesisFault;
use engine::fault::Fault;
use engine::Duration;
use leptos::prelude::*;

/// Parses a form field, or says in the notice what is wrong with it.
fn field<T>(h: LabHandle, label: &str, text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
    match parse(text.trim()) {
        Ok(v) => Some(v),
        Err(e) => {
            h.notice.set(Some(format!("{label}: {e}")));
            None
        }
    }
}

/// Puts `x` in the ticked set `v` (at the end) or takes it out.
fn tick<T: PartialEq>(v: &mut Vec<T>, x: T, on: bool) {
    v.retain(|y| *y != x);
    if on {
        v.push(x);
    }
}

fn percent(text: &str) -> Result<f64, String> {
    let v: f64 = text.trim_end_matches('%').trim().parse().map_err(|_| format!("`{text}` is not a number"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("a share of messages is between 0 and 100 %, got {v}"));
    }
    Ok(v / 100.0)
}

#[component]
pub fn FaultsPanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let names = Memo::new(move |_| snap.with(|s| s.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
    let links =
        Memo::new(move |_| snap.with(|s| s.links.iter().map(|l| (l.a.clone(), l.b.clone())).collect::<Vec<_>>()));
    // The nodes ticked for a partition.
    let side = RwSignal::new(Vec::<String>::new());
    // The node acted on: the selected one, else the first.
    let node = move || h.selected.get().or_else(|| names.with(|n| n.first().cloned())).unwrap_or_default();
    let link = RwSignal::new(0usize);
    let latency = RwSignal::new("200ms".to_string());
    let loss = RwSignal::new("10".to_string());
    let offset = RwSignal::new("500ms".to_string());
    let drift = RwSignal::new("0".to_string());

    let rest = move || {
        let side = side.get_untracked();
        names.with_untracked(|n| n.iter().filter(|x| !side.contains(x)).cloned().collect::<Vec<_>>())
    };
    let partition = move |_| {
        let (a, b) = (side.get_untracked(), rest());
        if a.is_empty() || b.is_empty() {
            h.notice.set(Some("Tick the nodes on one side of the partition (not all of them) first.".into()));
            return;
        }
        h.inject(Fault::Partition { groups: vec![a, b] });
    };
    let one_way = move |_| {
        let (from, to) = (side.get_untracked(), rest());
        if from.is_empty() || to.is_empty() {
            h.notice.set(Some("Tick the nodes whose messages should be lost (not all of them) first.".into()));
            return;
        }
        h.inject(Fault::PartitionOneWay { from, to });
    };
    let with_link = move |f: &dyn Fn([String; 2]) -> Option<Fault>| {
        let Some((a, b)) = links.with_untracked(|l| l.get(link.get_untracked()).cloned()) else {
            h.notice.set(Some("This scenario has no links.".into()));
            return;
        };
        if let Some(fault) = f([a, b]) {
            h.inject(fault);
        }
    };
    let degrade = move |_| {
        with_link(&|between| {
            let latency = field(h, "Latency", &latency.get_untracked(), Duration::parse)?;
            let loss = field(h, "Loss", &loss.get_untracked(), percent)?;
            Some(Fault::DegradeLink {
                between,
                latency: Some(Distribution::constant(latency)),
                jitter: None,
                loss: Some(loss),
                duplicate: None,
            })
        })
    };
    let skew = move |_| {
        let Some(offset) = field(h, "Clock offset", &offset.get_untracked(), Offset::parse) else { return };
        let Some(drift_ppm) = field(h, "Drift", &drift.get_untracked(), |t| {
            t.parse::<i64>().map_err(|_| format!("`{t}` is not a whole number of parts per million"))
        }) else {
            return;
        };
        h.inject(Fault::SkewClock { node: node(), offset, drift_ppm });
    };
    let on_node = move |make: fn(String) -> Fault| move |_| h.inject(make(node()));

    // A load balancer's server lines, for the operator's `set server`.
    let lb_servers = Memo::new(move |_| {
        let n = node();
        snap.with(|s| s.nodes.iter().find(|v| v.name == n).map(|v| v.lb_servers.clone()).unwrap_or_default())
    });
    let admin_server = RwSignal::new(0usize);
    let admin_state = RwSignal::new(AdminState::Drain);
    let admin_weight = RwSignal::new("50%".to_string());
    let picked_server = move || {
        let picked = lb_servers.with_untracked(|l| l.get(admin_server.get_untracked()).map(|(s, _)| s.clone()));
        if picked.is_none() {
            h.notice.set(Some("Pick one of the load balancer's servers first.".into()));
        }
        picked
    };
    let set_state = move |_| {
        let Some(server) = picked_server() else { return };
        h.inject(Fault::SetServerState { node: node(), server, state: admin_state.get_untracked() });
    };
    let set_weight = move |_| {
        let Some(weight) = field(h, "Weight", &admin_weight.get_untracked(), WeightChange::parse) else { return };
        let Some(server) = picked_server() else { return };
        h.inject(Fault::SetServerWeight { node: node(), server, weight });
    };
    let server_state_row = move || {
        (!lb_servers.with(Vec::is_empty)).then(|| {
            let states = [AdminState::Ready, AdminState::Drain, AdminState::Maint];
            view! {
                <div class="row">
                    <label>
                        "set server "
                        <select data-testid="admin-server" on:change=move |ev| admin_server.set(event_target_value(&ev).parse().unwrap_or(0))>
                            {move || lb_servers.get().into_iter().enumerate().map(|(i, (name, now))| {
                                view! { <option value=i.to_string() selected=move || admin_server.get() == i>{format!("{name} ({now})")}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label>
                        " state "
                        <select data-testid="admin-state" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            admin_state.set(states.into_iter().find(|s| s.keyword() == v).unwrap_or_default());
                        }>
                            {states.map(|st| view! { <option value=st.keyword() selected=move || admin_state.get() == st>{st.keyword()}</option> })}
                        </select>
                    </label>
                    <button on:click=set_state title="HAProxy's runtime API. drain: no new requests, what the server holds finishes, its checks go on. maint: marked DOWN, checks stop. ready: back (from maint, UP at once).">"Set state"</button>
                </div>
                <div class="row">
                    <label>"weight "<input type="text" size="5" data-testid="admin-weight" prop:value=admin_weight on:input=move |ev| admin_weight.set(event_target_value(&ev)) /></label>
                    <button on:click=set_weight title="HAProxy's set server ... weight: 0 to 256, or a percentage of the weight its server line gives; 0 takes it out of the rotation. static-rr and map-based hashing take only 0% and 100%.">"Set weight"</button>
                </div>
            }
        })
    };

    // The nemesis: which faults, how often, for how long, and what it did.
    let kinds = RwSignal::new(vec![NemesisFault::Partition, NemesisFault::Kill, NemesisFault::Pause]);
    let interval = RwSignal::new("5s".to_string());
    let span = RwSignal::new("60s".to_string());
    // What the last plan did, and how many faults the schedule held after
    // it: once an undo or an edit changes that, the words are stale.
    let planned = RwSignal::new(None::<(String, usize)>);
    let plan = move |_| {
        let Some(every) = field(h, "Interval", &interval.get_untracked(), Duration::parse) else { return };
        let Some(length) = field(h, "For", &span.get_untracked(), Duration::parse) else { return };
        let faults = kinds.get_untracked();
        let targets = side.get_untracked();
        let whom = if targets.is_empty() { "every node but the clients".to_string() } else { targets.join(", ") };
        planned.set(h.plan_nemesis(faults, targets, every, length).map(|(added, until)| {
            let text = format!(
                "Planned {added} faults on {whom}, until {}: they are on the timeline.",
                crate::time_text::to_the_ms(until)
            );
            (text, snap.with_untracked(|s| s.faults.len()))
        }));
    };
    let planned_text = move || {
        let faults = snap.with(|s| s.faults.len());
        planned.get().filter(|(_, after)| *after == faults).map(|(text, _)| text)
    };

    view! {
        <h2 id="faults-title">"Faults"</h2>
        <p class="hint">"Each fault happens now and joins the timeline below: seek back and the run replays it."</p>
        <fieldset class="partition">
            <legend>"Partition"</legend>
            <div class="ticks">
                {move || names.get().into_iter().map(|n| {
                    let name = n.clone();
                    let checked = move || side.with(|s| s.contains(&name));
                    let name2 = n.clone();
                    view! {
                        <label class="tick">
                            <input
                                type="checkbox"
                                data-side=n.clone()
                                prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    side.update(|s| tick(s, name2.clone(), on));
                                }
                            />
                            {n}
                        </label>
                    }
                }).collect_view()}
            </div>
            <div class="buttons">
                <button on:click=partition title="The ticked nodes and the others cannot reach each other">"Partition ticked | rest"</button>
                <button on:click=one_way title="Messages from the ticked nodes to the others are lost; the other way works">"One way: ticked ↛ rest"</button>
                <button on:click=move |_| h.inject(Fault::Heal {})>"Heal all"</button>
            </div>
        </fieldset>
        <fieldset class="node-faults">
            <legend>"Node "<strong data-testid="fault-node">{node}</strong></legend>
            <p class="hint">"Select a node in the cluster to act on it."</p>
            <div class="buttons">
                <button class="danger" on:click=on_node(|node| Fault::Crash { node, host_down: false }) title="kill -9: the process dies; its host answers with connection refused, and its files, page cache included, stay">"Crash"</button>
                <button on:click=on_node(|node| Fault::Crash { node, host_down: true }) title="The whole machine goes off: not even connection refused, and what was not yet on disk (a page cache, an unsynced file) is gone">"Power off"</button>
                <button on:click=on_node(|node| Fault::Restart { node })>"Restart"</button>
                <button on:click=on_node(|node| Fault::Pause { node }) title="SIGSTOP: alive but silent">"Pause process"</button>
                <button on:click=on_node(|node| Fault::Resume { node })>"Resume process"</button>
            </div>
            <div class="row">
                <label>"Clock offset "<input type="text" size="7" prop:value=offset on:input=move |ev| offset.set(event_target_value(&ev)) /></label>
                <label>"drift (ppm) "<input type="text" size="6" prop:value=drift on:input=move |ev| drift.set(event_target_value(&ev)) /></label>
                <button on:click=skew>"Skew clock"</button>
            </div>
            {server_state_row}
        </fieldset>
        <fieldset class="link-faults">
            <legend>"Link"</legend>
            <label>
                "Link "
                <select data-testid="fault-link" on:change=move |ev| link.set(event_target_value(&ev).parse().unwrap_or(0))>
                    {move || links.get().into_iter().enumerate().map(|(i, (a, b))| {
                        view! { <option value=i.to_string() selected=move || link.get() == i>{format!("{a} – {b}")}</option> }
                    }).collect_view()}
                </select>
            </label>
            <div class="row">
                <label>"latency "<input type="text" size="7" prop:value=latency on:input=move |ev| latency.set(event_target_value(&ev)) /></label>
                <label>"loss (%) "<input type="text" size="4" prop:value=loss on:input=move |ev| loss.set(event_target_value(&ev)) /></label>
            </div>
            <div class="buttons">
                <button on:click=degrade>"Degrade"</button>
                <button on:click=move |_| with_link(&|between| Some(Fault::RestoreLink { between }))>"Restore"</button>
                <button on:click=move |_| with_link(&|between| Some(Fault::CutLink { between }))>"Cut"</button>
                <button on:click=move |_| with_link(&|between| Some(Fault::HealLink { between }))>"Heal"</button>
                <button on:click=move |_| with_link(&|between| Some(Fault::HoldLink { between })) title="Stall the link: what reaches its end waits there, nothing is lost">"Hold"</button>
                <button on:click=move |_| with_link(&|between| Some(Fault::ReleaseLink { between })) title="Deliver everything the held link holds, at once and in order">"Release"</button>
            </div>
        </fieldset>
        <fieldset class="nemesis">
            <legend>"Random faults (nemesis)"</legend>
            <p class="hint">"As Jepsen's nemesis: from now on, about every interval, break something at random and then mend it; all is mended at the end. Drawn from the scenario's seed, so a replay or a share link repeats it. Strikes the nodes ticked under Partition, or if none, every node but the clients."</p>
            <div class="ticks">
                {NemesisFault::ALL.into_iter().map(|k| {
                    let checked = move || kinds.with(|v| v.contains(&k));
                    let title = match k {
                        NemesisFault::Partition => "Cut one node, or a random majority, off from the other targets",
                        NemesisFault::MajoritiesRing => "Cut the targets so that each still reaches a majority, no two the same one (four targets or more)",
                        NemesisFault::Kill => "kill -9 one node's process, then start it again",
                        NemesisFault::Pause => "SIGSTOP one node's process, then resume it",
                        NemesisFault::Clock => "Set one node's clock 4 ms to 262 s off, then back",
                    };
                    view! {
                        <label class="tick" title=title>
                            <input
                                type="checkbox"
                                data-nemesis=k.name()
                                prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    kinds.update(|v| {
                                        tick(v, k, on);
                                        v.sort();
                                    });
                                }
                            />
                            {k.name()}
                        </label>
                    }
                }).collect_view()}
            </div>
            <div class="row">
                <label>"about every "<input type="text" size="6" data-testid="nemesis-interval" prop:value=interval on:input=move |ev| interval.set(event_target_value(&ev)) /></label>
                <label>"for "<input type="text" size="6" data-testid="nemesis-span" prop:value=span on:input=move |ev| span.set(event_target_value(&ev)) /></label>
                <button on:click=plan>"Plan random faults"</button>
            </div>
            <p class="hint" role="status" data-testid="nemesis-planned">{planned_text}</p>
        </fieldset>
    }
}
