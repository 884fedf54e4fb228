//! Live charts of throughput, latency and errors, one point per metrics
//! interval, with the latest values as text for everyone.

use crate::handle::LabHandle;
use crate::snapshot::{Point, CHART_INTERVALS};
use leptos::prelude::*;

/// One line of a chart: its label, its CSS class, and what it plots.
type Line = (&'static str, &'static str, fn(&Point) -> f64);

const W: f64 = 300.0;
const H: f64 = 110.0;
const PAD: f64 = 4.0;

/// A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn polyline(points: &[Point], value: fn(&Point) -> f64, max: f64) -> String {
    let n = CHART_INTERVALS.max(points.len()) as f64;
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = PAD + (W - 2.0 * PAD) * (i as f64 + 1.0) / n;
            let y = H - PAD - (H - 2.0 * PAD) * (value(p) / max).clamp(0.0, 1.0);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
fn Chart(title: &'static str, unit: &'static str, lines: Vec<Line>) -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    // Points change once per metrics interval, not every frame: everything
    // below is drawn again only then.
    let pts = Memo::new(move |_| snap.with(|s| (s.points.clone(), s.baseline.as_ref().map(|b| b.points.clone()))));
    let lines = StoredValue::new(lines);
    let max = Memo::new(move |_| {
        pts.with(|(points, baseline)| {
            let baseline = baseline.as_deref().unwrap_or(&[]);
            let top = lines.with_value(|ls| {
                points.iter().chain(baseline).flat_map(|p| ls.iter().map(move |(_, _, f)| f(p))).fold(0.0, f64::max)
            });
            nice_max(top)
        })
    });
    let current = move || {
        pts.with(|(points, _)| match points.last() {
            None => "no data yet".to_string(),
            Some(p) => lines.with_value(|ls| {
                ls.iter().map(|(label, _, f)| format!("{label} {:.1} {unit}", f(p))).collect::<Vec<_>>().join(", ")
            }),
        })
    };
    let paths = move || {
        lines.with_value(|ls| {
            ls.iter()
                .map(|&(_, class, f)| {
                    // The pinned variant's line, dashed, under the lab's.
                    let baseline = move || {
                        pts.with(|(_, b)| b.as_ref().map(|b| polyline(b, f, max.get())).unwrap_or_default())
                    };
                    view! {
                        <polyline class=format!("series {class} baseline") points=baseline />
                        <polyline class=format!("series {class}") points=move || pts.with(|(p, _)| polyline(p, f, max.get())) />
                    }
                })
                .collect_view()
        })
    };
    view! {
        <figure class="chart">
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="chart-now" aria-live="off">{current}</span>
            </figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=move || format!("{title}: {}", current())>
                <line class="axis" x1=PAD y1=H - PAD x2=W - PAD y2=H - PAD />
                <text class="axis-label" x=PAD + 2.0 y=PAD + 10.0>{move || format!("{} {unit}", max.get())}</text>
                {paths}
            </svg>
        </figure>
    }
}

#[component]
pub fn Charts() -> impl IntoView {
    view! {
        <Chart title="Throughput" unit="req/s" lines=vec![("ok", "tput", |p: &Point| p.throughput)] />
        <Chart
            title="Latency"
            unit="ms"
            lines=vec![("p50", "p50", |p: &Point| p.p50_ms), ("p99", "p99", |p: &Point| p.p99_ms)]
        />
        <Chart title="Errors and timeouts" unit="%" lines=vec![("failed", "err", |p: &Point| p.error_pct)] />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(299.0), 500.0);
        assert_eq!(nice_max(1000.0), 1000.0);
        assert_eq!(nice_max(0.07), 0.1);
    }
}
