//! Compare two variants of a scenario: pin the lab's scenario as it
//! stands (A), change the lab's (B: its configuration, its topology), and
//! both run side by side under the same seed and the same faults, with A's
//! metrics drawn dashed in the charts.

use crate::handle::LabHandle;
use leptos::either::Either;
use leptos::prelude::*;

fn last(points: &[crate::snapshot::Point], f: fn(&crate::snapshot::Point) -> f64, unit: &str) -> String {
    points.last().map_or_else(|| "–".to_string(), |p| format!("{:.1} {unit}", f(p)))
}

#[component]
pub fn ComparePanel() -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    let rows = move || {
        snap.with(|s| {
            let b = s.baseline.as_ref()?;
            type Metric = fn(&crate::snapshot::Point) -> f64;
            let metrics: [(&str, Metric, &str); 4] = [
                ("throughput", |p| p.throughput, "req/s"),
                ("p50 latency", |p| p.p50_ms, "ms"),
                ("p99 latency", |p| p.p99_ms, "ms"),
                ("failed", |p| p.error_pct, "%"),
            ];
            let mut rows: Vec<(String, String, String)> = vec![("simulated time".into(), b.now.clone(), s.now.clone())];
            rows.extend(
                metrics
                    .iter()
                    .map(|&(label, f, unit)| (label.to_string(), last(&b.points, f, unit), last(&s.points, f, unit))),
            );
            let judged = |v: &Option<String>| v.clone().unwrap_or_else(|| "not judged".into());
            rows.push(("consistency".into(), judged(&b.verdict), judged(&s.verdicts.headline)));
            rows.push(("events".into(), b.events.to_string(), s.events.to_string()));
            rows.push(("fingerprint".into(), b.trace_hash.clone(), s.trace_hash.clone()));
            Some((b.name.clone(), b.problem.clone(), rows))
        })
    };
    view! {
        <h2 id="compare-title">"Compare"</h2>
        {move || match rows() {
            None => Either::Left(view! {
                <p class="hint">"Pin the scenario as it is now (A), then change the lab's (B): both run with the same seed and faults, and A is drawn dashed in the charts."</p>
                <button on:click=move |_| h.pin_baseline()>"Pin as A"</button>
            }),
            Some((name, problem, rows)) => Either::Right(view! {
                <table class="compare">
                    <thead><tr><th scope="col">""</th><th scope="col">{format!("A: {name}")}</th><th scope="col">"B: the lab"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(k, a, b)| {
                            let class = (k == "fingerprint").then_some("hash");
                            view! { <tr><th scope="row">{k}</th><td class=class>{a}</td><td class=class>{b}</td></tr> }
                        }).collect_view()}
                    </tbody>
                </table>
                {problem.map(|p| view! { <p class="notice">{p}</p> })}
                <div class="buttons">
                    <button on:click=move |_| h.pin_baseline()>"Pin B as A"</button>
                    <button on:click=move |_| h.unpin_baseline()>"Stop comparing"</button>
                </div>
            }),
        }}
    }
}
