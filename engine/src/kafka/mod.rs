//! Kafka's partition replication (semantics.md section 3), as pure state
//! machines: a partition's log with leader epochs, the leader's view of its
//! followers (the ISR decided by time, the high watermark, acks), the
//! follower's fetch and truncation, and the controller's leader election.
//! The callers (broker and controller components) move fetches and
//! responses over the network and keep time.
//!
//! The details toy versions get wrong, reproduced here: a follower is in
//! sync by `replica.lag.time.max.ms` and its last caught-up time, not by an
//! offset gap; the high watermark waits for every ISR member, not a
//! majority, and (3.7+) does not move while the ISR is smaller than
//! `min.insync.replicas`; followers learn it one fetch later; `acks=all`
//! refuses with `NOT_ENOUGH_REPLICAS` before appending and answers
//! `NOT_ENOUGH_REPLICAS_AFTER_APPEND` for a write that is in the log; a new
//! leader is the first ISR member in assignment order, not the most up to
//! date; the ISR is never empty; followers truncate by leader epoch
//! (KIP-101, KIP-279), not to their high watermark; a log is written to
//! the page cache, not fsynced, so a host that loses power loses the
//! records Linux had not yet written back.

pub mod config;
pub mod controller;
mod election;
mod epoch_cache;
mod follower;
pub mod isr_change;
mod leader;
mod log;
pub mod metadata;
#[cfg(test)]
mod tests;
pub mod wire;

pub use config::{Acks, TopicConfig};
pub use election::{elect_leader, without, Election};
pub use epoch_cache::LeaderEpochCache;
pub use follower::{truncation_offset, Divergence};
pub use leader::{
    diverging, AppendResult, FetchRequest, FetchResponse, FollowerState, LeaderAndIsr, LeaderState, ProduceError,
};
pub use log::{PartitionLog, Record, RecordBatch};

/// A broker's id (`node.id`).
pub type BrokerId = u32;
