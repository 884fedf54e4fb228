//! Live charts of throughput, latency and errors over the run's time, one
//! point per metrics interval, with the moments faults took effect marked,
//! and the latest values as text for everyone.

use crate::handle::LabHandle;
use crate::snapshot::Point;
use crate::time_text::to_the_ms;
use leptos::prelude::*;

/// One line of a chart: its label, its CSS class, and what it plots.
type Line = (&'static str, &'static str, fn(&Point) -> f64);

const W: f64 = 300.0;
const H: f64 = 124.0;
const PAD: f64 = 4.0;
/// The plot's top (the axis's round maximum): the label above it stays
/// clear of the lines.
const TOP: f64 = 16.0;
/// Room under the plot for the time axis's labels.
const AXIS: f64 = 14.0;
/// The plot's bottom (value 0).
const BOTTOM: f64 = H - AXIS;

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

/// Where moment `t` falls on the time axis spanning `window`.
fn x_at(t: u64, [from, to]: [u64; 2]) -> f64 {
    let f = t.saturating_sub(from) as f64 / to.saturating_sub(from).max(1) as f64;
    PAD + (W - 2.0 * PAD) * f.clamp(0.0, 1.0)
}

/// The moment at `x` on the time axis spanning `window` (the inverse of
/// [`x_at`]).
fn at_x(x: f64, [from, to]: [u64; 2]) -> u64 {
    let f = ((x - PAD) / (W - 2.0 * PAD)).clamp(0.0, 1.0);
    from + (f * to.saturating_sub(from) as f64).round() as u64
}

/// Each point at its interval's end; points before the window (a pinned
/// variant further back) are left out.
fn polyline(points: &[Point], value: fn(&Point) -> f64, max: f64, window: [u64; 2]) -> String {
    points
        .iter()
        .filter(|p| p.end_ns >= window[0])
        .map(|p| {
            let y = BOTTOM - (BOTTOM - TOP) * (value(p) / max).clamp(0.0, 1.0);
            format!("{:.1},{y:.1}", x_at(p.end_ns, window))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a chart draws, taken from the snapshot; it changes once per
/// metrics interval or fault, not every frame.
#[derive(Clone, PartialEq)]
struct Drawn {
    points: Vec<Point>,
    baseline: Option<Vec<Point>>,
    window: [u64; 2],
    /// The moments faults took effect, within the window.
    faults: Vec<u64>,
}

#[component]
fn Chart(title: &'static str, unit: &'static str, lines: Vec<Line>) -> impl IntoView {
    let h = expect_context::<LabHandle>();
    let snap = h.snapshot;
    // Everything below is drawn again only when this changes.
    let drawn = Memo::new(move |_| {
        snap.with(|s| {
            let window = s.chart_window;
            let mut faults: Vec<u64> = s
                .faults
                .iter()
                .filter(|f| f.applied && f.at_ns >= window[0] && f.at_ns <= window[1])
                .map(|f| f.at_ns)
                .collect();
            faults.dedup();
            Drawn { points: s.points.clone(), baseline: s.baseline.as_ref().map(|b| b.points.clone()), window, faults }
        })
    });
    let lines = StoredValue::new(lines);
    let max = Memo::new(move |_| {
        drawn.with(|d| {
            let baseline = d.baseline.as_deref().unwrap_or(&[]);
            let top = lines.with_value(|ls| {
                d.points.iter().chain(baseline).flat_map(|p| ls.iter().map(move |(_, _, f)| f(p))).fold(0.0, f64::max)
            });
            nice_max(top)
        })
    });
    let value = move |f: fn(&Point) -> f64| {
        drawn.with(|d| d.points.last().map_or_else(|| "–".to_string(), |p| format!("{:.1} {unit}", f(p))))
    };
    let described = move || {
        let now = lines.with_value(|ls| {
            ls.iter().map(|&(label, _, f)| format!("{label} {}", value(f))).collect::<Vec<_>>().join(", ")
        });
        drawn.with(|d| {
            let faults = if d.faults.is_empty() {
                String::new()
            } else {
                let at: Vec<String> = d.faults.iter().map(|&t| to_the_ms(t)).collect();
                format!("; faults at {}", at.join(", "))
            };
            format!("{title} from {} to {}: {now}{faults}", to_the_ms(d.window[0]), to_the_ms(d.window[1]))
        })
    };
    // The latest values, each after its line's colour.
    let keys = lines.with_value(|ls| {
        ls.iter()
            .map(|&(label, class, f)| {
                view! { <span class=format!("chart-value line-key {class}")>{label}" "{move || value(f)}</span> }
            })
            .collect_view()
    });
    let paths = move || {
        lines.with_value(|ls| {
            ls.iter()
                .map(|&(_, class, f)| {
                    // The pinned variant's line, dashed, under the lab's.
                    let baseline = move || {
                        drawn.with(|d| d.baseline.as_ref().map(|b| polyline(b, f, max.get(), d.window)).unwrap_or_default())
                    };
                    view! {
                        <polyline class=format!("series {class} baseline") points=baseline />
                        <polyline class=format!("series {class}") points=move || drawn.with(|d| polyline(&d.points, f, max.get(), d.window)) />
                    }
                })
                .collect_view()
        })
    };
    let fault_marks = move || {
        drawn.with(|d| {
            d.faults
                .iter()
                .map(|&t| {
                    let x = x_at(t, d.window);
                    view! { <line class="fault-mark" x1=x y1=TOP x2=x y2=BOTTOM /> }
                })
                .collect_view()
        })
    };
    // A click on the chart goes to that moment of the run (as far as the
    // scrubber reaches); the scrubber and the event log's times do the
    // same from the keyboard.
    let go = move |ev: leptos::ev::MouseEvent| {
        use wasm_bindgen::JsCast;
        let Some(svg) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let r = svg.get_bounding_client_rect();
        if r.width() > 0.0 {
            let x = (ev.client_x() as f64 - r.left()) / r.width() * W;
            let t = at_x(x, drawn.with_untracked(|d| d.window));
            h.seek(t.min(snap.with_untracked(|s| s.end_ns)));
        }
    };
    view! {
        <figure class="chart">
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="chart-now" aria-live="off">{keys}</span>
            </figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=described title="Click a moment to go there" on:click=go>
                <line class="axis" x1=PAD y1=BOTTOM x2=W - PAD y2=BOTTOM />
                {fault_marks}
                <line class="axis top" x1=PAD y1=TOP x2=W - PAD y2=TOP />
                <text class="axis-label" x=PAD y=TOP - 4.0>{move || format!("{} {unit}", max.get())}</text>
                <text class="axis-label" x=PAD y=H - 3.0>{move || drawn.with(|d| to_the_ms(d.window[0]))}</text>
                <text class="axis-label end" x=W - PAD y=H - 3.0>{move || drawn.with(|d| to_the_ms(d.window[1]))}</text>
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

    fn at(end_s: u64, throughput: f64) -> Point {
        Point { end_ns: end_s * 1_000_000_000, throughput, ..Point::default() }
    }

    #[test]
    fn points_sit_at_their_moment_on_the_time_axis() {
        let window = [0, 60_000_000_000];
        assert_eq!(x_at(0, window), PAD);
        assert_eq!(x_at(30_000_000_000, window), W / 2.0);
        assert_eq!(x_at(90_000_000_000, window), W - PAD, "past the window: at its edge");
        for t in [0, 1_000_000_000, 30_000_000_000, 60_000_000_000] {
            assert_eq!(at_x(x_at(t, window), window), t, "a click where {t} is drawn goes to {t}");
        }
        assert_eq!(at_x(-10.0, window), 0);
        assert_eq!(at_x(W + 10.0, window), 60_000_000_000);
        // A slid window: 10 s to 70 s; a point of 5 s is left out.
        let slid = [10_000_000_000, 70_000_000_000];
        let line = polyline(&[at(5, 1.0), at(10, 0.0), at(40, 2.0)], |p| p.throughput, 2.0, slid);
        assert_eq!(line, format!("{PAD:.1},{BOTTOM:.1} {:.1},{TOP:.1}", W / 2.0));
    }
}
