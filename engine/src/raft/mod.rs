//! Raft, with etcd-raft's semantics (semantics.md section 4): a pure state
//! machine. [`Raft::step`] takes a message, [`Raft::tick`] advances logical
//! time; both only change state and queue outgoing messages, committed
//! entries and read states, which the caller takes and acts on. Nothing here
//! knows about the network, the disk or clocks.
//!
//! What etcd-raft does and toy versions get wrong, reproduced here:
//! randomized election timeouts in `[election_tick, 2 * election_tick - 1]`
//! re-drawn on every term change; a new leader's empty entry, and commit by
//! counting only entries of the current term (the paper's Figure 8); term,
//! vote and log persisted before any reply; PreVote that never changes a
//! term; CheckQuorum stepping a cut-off leader down and ignoring disruptive
//! votes while a leader is known; heartbeats carrying `min(match, commit)`;
//! ReadIndex reads confirmed by a heartbeat round, and lease-based reads
//! that trust the leader's own clock.

mod cause;
mod config;
mod log;
mod message;
mod node;
mod progress;
mod quorum;
mod read_only;
#[cfg(test)]
mod tests;

pub use cause::RoleCause;
pub use config::{Config, ReadOnlyOption};
pub use log::RaftLog;
pub use message::{Entry, Message, MsgType};
pub use node::{Dropped, Persisted, Raft, ReadState, Role, Snapshot};
pub use progress::{Progress, ProgressState};

/// A member of a Raft group: its position in the group's member list.
pub type PeerId = u16;
