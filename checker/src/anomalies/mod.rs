//! Jepsen-style anomaly checks: simpler than linearizability, and each
//! names a kind of failure a learner can recognise.
//!
//! - [`rw`]: registers (reads and writes of unique values per key): lost
//!   acknowledged writes, stale reads, read-your-writes and monotonic
//!   reads per client.
//! - [`log`]: append-only logs (Kafka partitions), Maelstrom's taxonomy:
//!   lost, unobserved, duplicated, nonmonotonic and skipped offsets.

pub mod log;
pub mod log_live;
pub mod rw;

/// At most this many examples of each anomaly are kept; the counts cover
/// all.
pub const MAX_EXAMPLES: usize = 20;
