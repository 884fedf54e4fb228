//! Starting templates: whole scenarios to begin editing from, laid out
//! on the canvas (every node has a `pos`). The files are in
//! `app/templates/`.

use engine::{Scenario, ScenarioError};

/// A starting template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// A stable id, for URLs and tests.
    pub id: &'static str,
    pub title: &'static str,
    pub summary: &'static str,
    /// The scenario, as JSON (`app/templates/<id>.json`, minified by
    /// `build.rs`).
    pub json: &'static str,
}

const TEMPLATES: [Template; 3] = [
    Template {
        id: "three-tier-web",
        title: "Three-tier web app with cache and replicas",
        summary: "Clients → HAProxy load balancer → 3 app servers → Redis cache and a primary database with 2 replicas.",
        json: include_str!(concat!(env!("OUT_DIR"), "/templates/three-tier-web.json")),
    },
    Template {
        id: "kafka-rf3",
        title: "Kafka cluster with RF 3",
        summary: "3 KRaft controllers, 3 brokers, a topic with replication factor 3 and min.insync.replicas 2, a producer with acks=all and a consumer group.",
        json: include_str!(concat!(env!("OUT_DIR"), "/templates/kafka-rf3.json")),
    },
    Template {
        id: "raft-kv-five",
        title: "5-node Raft KV",
        summary: "Five Raft members of an etcd-like key-value store, with two clients.",
        json: include_str!(concat!(env!("OUT_DIR"), "/templates/raft-kv-five.json")),
    },
];

/// Every template, in the order the UI lists them.
pub fn templates() -> &'static [Template] {
    &TEMPLATES
}

/// The scenario of template `id` (`None`: no such template).
pub fn load(id: &str) -> Option<Scenario> {
    TEMPLATES.iter().find(|t| t.id == id).map(|t| t.scenario().expect("templates are valid (tested)"))
}

impl Template {
    /// Parses and checks the template's scenario.
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        Scenario::from_json(self.json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::editor::moving::{MARGIN_X, MARGIN_Y};
    use crate::snapshot::{HEIGHT, WIDTH};
    use engine::history::{LogEvent, Outcome};

    fn run10(s: &Scenario) -> engine::Simulation {
        let mut sim = engine::Simulation::new(s).unwrap();
        sim.run_until(engine::Duration::from_secs(10).as_nanos());
        assert_eq!(sim.halted(), None);
        sim
    }

    #[test]
    fn every_template_validates_with_its_title_and_is_laid_out_on_the_canvas() {
        for t in templates() {
            let s = t.scenario().unwrap_or_else(|e| panic!("{}: {e}", t.id));
            assert_eq!(s.name, t.title);
            assert_eq!(load(t.id).as_ref(), Some(&s));
            for (i, n) in s.nodes.iter().enumerate() {
                let [x, y] = n.pos.unwrap_or_else(|| panic!("{}: {} has no pos", t.id, n.name));
                assert!((MARGIN_X..=WIDTH - MARGIN_X).contains(&x), "{}: {} x {x}", t.id, n.name);
                assert!((MARGIN_Y..=HEIGHT - MARGIN_Y).contains(&y), "{}: {} y {y}", t.id, n.name);
                // No two full-size nodes (128 x 48) overlap.
                for m in &s.nodes[..i] {
                    let [a, b] = m.pos.unwrap();
                    assert!(
                        (a - x).abs() >= 128.0 || (b - y).abs() >= 48.0,
                        "{}: {} overlaps {}",
                        t.id,
                        n.name,
                        m.name
                    );
                }
            }
        }
        assert_eq!(load("nope"), None);
    }

    #[test]
    fn the_web_template_serves_requests_through_every_tier() {
        let s = load("three-tier-web").unwrap();
        let sim = run10(&s);
        let ops = sim.history().ops();
        let ok = ops.iter().filter(|o| o.outcome == Outcome::Ok).count();
        assert!(ok > 2500, "{ok} of {} ok", ops.len());
        for app in ["app1", "app2", "app3"] {
            let engine::sim::Detail::Server { served, .. } = sim.node_state(sim.node_id(app).unwrap()).detail else {
                panic!()
            };
            assert!(served > 500, "{app} served {served}");
        }
        let summary = sim.metrics().summary(sim.now());
        assert!(summary.error_rate < 0.01, "{summary:?}");
    }

    #[test]
    fn the_kafka_template_delivers_and_consumes_records() {
        let s = load("kafka-rf3").unwrap();
        let sim = run10(&s);
        let ops = sim.log_history().ops();
        let sent = ops.iter().filter(|r| r.outcome == Outcome::Ok && matches!(r.event, LogEvent::Send { .. })).count();
        let polled: usize = ops
            .iter()
            .filter_map(|r| match &r.event {
                LogEvent::Poll { records } if r.outcome == Outcome::Ok => Some(records.len()),
                _ => None,
            })
            .sum();
        assert!(sent > 5000, "{sent} records acknowledged");
        assert!(polled > 1000, "{polled} records polled");
        // Both consumers of the group got partitions.
        for c in ["consumer1", "consumer2"] {
            let id = sim.node_id(c).unwrap();
            assert!(
                ops.iter()
                    .any(|r| r.node == id && matches!(&r.event, LogEvent::Poll { records } if !records.is_empty())),
                "{c}"
            );
        }
    }

    #[test]
    fn the_raft_template_commits_writes_and_serves_reads() {
        let s = load("raft-kv-five").unwrap();
        let sim = run10(&s);
        let ok = sim.history().ops().iter().filter(|o| o.outcome == Outcome::Ok).count();
        assert!(ok > 2500, "{ok} ok");
    }
}
