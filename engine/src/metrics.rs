//! Metrics per interval: throughput, latency percentiles (HdrHistogram),
//! error and timeout rates, and each node's utilisation and queue length.

use crate::history::Outcome;
use crate::time::{Time, NANOS_PER_SEC};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::VecDeque;

/// Latencies are recorded in microseconds, from 1 us to one hour, with three
/// significant digits.
const HIST_MAX_US: u64 = 3_600_000_000;

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("valid histogram bounds")
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// Request counts. `sent` counts invocations; the others count completions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub sent: u64,
    pub ok: u64,
    /// Answered with an error that says the work was not done (503), or
    /// refused.
    pub errors: u64,
    /// Indeterminate: no answer before the client's timeout, a connection
    /// closed unanswered, or an answer saying the work may have been done
    /// (504, 502).
    pub timeouts: u64,
    /// Not sent at all because the client had too many requests outstanding.
    pub not_sent: u64,
}

impl Counts {
    pub fn completed(&self) -> u64 {
        self.ok + self.errors + self.timeouts
    }
}

/// A node's load over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct NodeLoad {
    /// Busy workers over capacity, time-averaged (0..1). 0 for nodes
    /// without workers.
    pub utilization: f64,
    /// Requests waiting, time-averaged.
    pub mean_queue: f64,
    pub max_queue: u32,
}

/// One closed interval of the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalStats {
    pub start: Time,
    pub end: Time,
    pub counts: Counts,
    /// Successful requests per second of simulated time.
    pub throughput: f64,
    /// Errors and timeouts over completions (0..1).
    pub error_rate: f64,
    pub timeout_rate: f64,
    /// Latency of successful requests.
    pub latency: Percentiles,
    pub nodes: Vec<NodeLoad>,
}

/// Time-weighted load gauge of one node, integrated as it changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadGauge {
    pub busy: u32,
    pub capacity: u32,
    pub queued: u32,
    since: Time,
    busy_area: u128,
    queue_area: u128,
    max_queue: u32,
}

impl LoadGauge {
    fn advance(&mut self, now: Time) {
        let dt = u128::from(now.saturating_sub(self.since));
        self.busy_area += u128::from(self.busy) * dt;
        self.queue_area += u128::from(self.queued) * dt;
        self.since = now;
    }

    pub fn set(&mut self, now: Time, busy: u32, capacity: u32, queued: u32) {
        self.advance(now);
        self.busy = busy;
        self.capacity = capacity;
        self.queued = queued;
        self.max_queue = self.max_queue.max(queued);
    }

    fn close(&mut self, now: Time, span: u64) -> NodeLoad {
        self.advance(now);
        let span = u128::from(span.max(1));
        let load = NodeLoad {
            utilization: if self.capacity == 0 {
                0.0
            } else {
                self.busy_area as f64 / (span * u128::from(self.capacity)) as f64
            },
            mean_queue: self.queue_area as f64 / span as f64,
            max_queue: self.max_queue,
        };
        self.busy_area = 0;
        self.queue_area = 0;
        self.max_queue = self.queued;
        load
    }
}

#[derive(Clone, Debug)]
pub struct Metrics {
    interval: u64,
    interval_start: Time,
    current: Counts,
    current_latency: Histogram<u64>,
    series: VecDeque<IntervalStats>,
    series_limit: usize,
    series_discarded: u64,
    total: Counts,
    total_latency: Histogram<u64>,
}

/// A summary of the whole run so far.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub counts: Counts,
    pub throughput: f64,
    pub error_rate: f64,
    pub timeout_rate: f64,
    pub latency: Percentiles,
}

impl Metrics {
    pub fn new(interval: u64, series_limit: usize) -> Metrics {
        Metrics {
            interval,
            interval_start: 0,
            current: Counts::default(),
            current_latency: new_histogram(),
            series: VecDeque::new(),
            series_limit,
            series_discarded: 0,
            total: Counts::default(),
            total_latency: new_histogram(),
        }
    }

    pub fn interval(&self) -> u64 {
        self.interval
    }

    pub(crate) fn sent(&mut self) {
        self.current.sent += 1;
        self.total.sent += 1;
    }

    pub(crate) fn not_sent(&mut self) {
        self.current.not_sent += 1;
        self.total.not_sent += 1;
    }

    /// A request finished: `outcome` from the client's point of view.
    pub(crate) fn completed(&mut self, outcome: Outcome, latency_ns: u64) {
        match outcome {
            Outcome::Ok => {
                self.current.ok += 1;
                self.total.ok += 1;
                let us = latency_ns.div_ceil(1000).clamp(1, HIST_MAX_US);
                self.current_latency.record(us).expect("clamped into range");
                self.total_latency.record(us).expect("clamped into range");
            }
            Outcome::Info => {
                self.current.timeouts += 1;
                self.total.timeouts += 1;
            }
            Outcome::Fail | Outcome::Pending => {
                self.current.errors += 1;
                self.total.errors += 1;
            }
        }
    }

    /// Closes the interval ending at `now`.
    pub(crate) fn close_interval(&mut self, now: Time, gauges: &mut [LoadGauge]) {
        let span = now - self.interval_start;
        let c = self.current;
        let row = IntervalStats {
            start: self.interval_start,
            end: now,
            counts: c,
            throughput: per_second(c.ok, span),
            error_rate: ratio(c.errors, c.completed()),
            timeout_rate: ratio(c.timeouts, c.completed()),
            latency: Percentiles::of(&self.current_latency),
            nodes: gauges.iter_mut().map(|g| g.close(now, span)).collect(),
        };
        if self.series.len() == self.series_limit {
            self.series.pop_front();
            self.series_discarded += 1;
        }
        if self.series_limit > 0 {
            self.series.push_back(row);
        }
        self.current = Counts::default();
        self.current_latency.reset();
        self.interval_start = now;
    }

    pub fn series(&self) -> &VecDeque<IntervalStats> {
        &self.series
    }

    /// Intervals dropped from the front of the series because it was full.
    pub fn series_discarded(&self) -> u64 {
        self.series_discarded
    }

    pub fn summary(&self, now: Time) -> Summary {
        let c = self.total;
        Summary {
            counts: c,
            throughput: per_second(c.ok, now),
            error_rate: ratio(c.errors, c.completed()),
            timeout_rate: ratio(c.timeouts, c.completed()),
            latency: Percentiles::of(&self.total_latency),
        }
    }
}

fn per_second(n: u64, span: Time) -> f64 {
    if span == 0 {
        0.0
    } else {
        n as f64 * NANOS_PER_SEC as f64 / span as f64
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_count_and_measure() {
        let mut m = Metrics::new(NANOS_PER_SEC, 10);
        let mut gauges = vec![LoadGauge::default()];
        gauges[0].set(0, 1, 2, 4);
        for i in 1..=100u64 {
            m.sent();
            m.completed(Outcome::Ok, i * 1_000_000);
        }
        m.sent();
        m.completed(Outcome::Info, 0);
        gauges[0].set(NANOS_PER_SEC / 2, 2, 2, 0);
        m.close_interval(NANOS_PER_SEC, &mut gauges);
        let row = &m.series()[0];
        assert_eq!(row.counts.ok, 100);
        assert_eq!(row.counts.timeouts, 1);
        assert_eq!(row.throughput, 100.0);
        assert!((row.timeout_rate - 1.0 / 101.0).abs() < 1e-12);
        assert!((row.latency.p50_ms - 50.0).abs() < 0.1, "{:?}", row.latency);
        assert!((row.latency.p99_ms - 99.0).abs() < 0.1, "{:?}", row.latency);
        // Half the time 1 of 2 workers busy, half the time 2 of 2: 75%.
        assert!((row.nodes[0].utilization - 0.75).abs() < 1e-9);
        assert!((row.nodes[0].mean_queue - 2.0).abs() < 1e-9);
        assert_eq!(row.nodes[0].max_queue, 4);
    }

    #[test]
    fn series_is_bounded_and_says_so() {
        let mut m = Metrics::new(NANOS_PER_SEC, 2);
        for i in 1..=5 {
            m.close_interval(i * NANOS_PER_SEC, &mut []);
        }
        assert_eq!(m.series().len(), 2);
        assert_eq!(m.series_discarded(), 3);
        assert_eq!(m.series()[0].start, 3 * NANOS_PER_SEC);
    }
}
