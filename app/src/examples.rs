//! The example scenarios, built into the app (the same files the CLI and
//! the engine's tests run).

pub struct Example {
    pub id: &'static str,
    pub json: &'static str,
}

pub const EXAMPLES: &[Example] = &[
    Example { id: "web-three-servers", json: include_str!("../../engine/scenarios/web-three-servers.json") },
    Example { id: "server-crash-failover", json: include_str!("../../engine/scenarios/server-crash-failover.json") },
    Example { id: "link-cut", json: include_str!("../../engine/scenarios/link-cut.json") },
    Example { id: "closed-loop-overload", json: include_str!("../../engine/scenarios/closed-loop-overload.json") },
    Example { id: "large-web-tier", json: include_str!("../../engine/scenarios/large-web-tier.json") },
];

/// The scenario the lab opens with.
pub const DEFAULT: &str = "web-three-servers";

pub fn find(id: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.id == id)
}
