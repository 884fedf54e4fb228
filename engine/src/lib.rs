//! Cluster Lab's engine: a deterministic discrete-event simulation of a
//! cluster. Pure Rust with no web dependency; the same code runs natively
//! (tests, benchmarks, the `clusterlab` CLI) and as WebAssembly in the page.
//!
//! Determinism rules (semantics.md section 7): integer time; one event queue
//! ordered by (time, sequence); one seeded PRNG with a pinned algorithm,
//! split into per-node and per-link streams; no iteration over std
//! `HashMap`; no platform `ln`/`exp` (the `libm` crate instead).

/// Serializes a configuration type as the one line of text its real
/// system writes (`$text`, e.g. `words`), and reads it back with its
/// `parse`, whose message becomes the scenario error.
macro_rules! serde_as_text {
    ($t:ty, $text:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.$text())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod clock;
pub mod components;
pub mod consistency;
pub mod context;
pub mod distribution;
pub mod failure_detector;
pub mod fault;
pub mod follow;
pub mod held_links;
pub mod history;
pub mod json_fields;
pub mod kafka;
pub mod message;
pub mod metrics;
pub mod network;
pub mod node;
pub mod page_cache;
pub mod queue;
pub mod raft;
pub mod redis;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod time;
pub mod trace;
pub mod trace_view;
pub mod world;
pub mod ziggurat;

pub use scenario::{Scenario, ScenarioError};
pub use sim::Simulation;
pub use time::{Duration, Time};
