//! Cluster Lab's consistency checker: is a recorded client history
//! linearizable, and if not, why not?
//!
//! - [`history`]: operations with invoke and complete times and an outcome
//!   (ok, fail: took no effect, info: indeterminate, open to the end).
//! - [`model`]: what a sequential object does, as pure functions; [`models`]
//!   holds the register, key-value map, counter, set, log and queue.
//! - [`search`]: the linearizability search, Wing & Gong's backtracking with
//!   Lowe's memoisation of (linearized set, state), as in Knossos and
//!   Porcupine; [`check`]: P-compositionality (one search per key) and the
//!   verdict with its witness; [`budget`]: the step and memory bounds that
//!   turn a search too big to finish into `Unknown`.
//! - [`anomalies`]: Jepsen-style checks (lost acknowledged writes, stale
//!   reads, read-your-writes, monotonic reads, the Kafka log taxonomy).
//! - [`live`]: an incremental checker fed while a run proceeds.
//! - [`formats`]: readers for Jepsen's etcd logs, Jepsen EDN histories and
//!   the project's JSON export.
//!
//! Pure Rust, deterministic (no iteration over randomly seeded hash maps
//! affects a result), no clock of its own: it runs the same natively and as
//! WebAssembly.

pub mod anomalies;
pub mod any;
pub mod bitset;
pub mod budget;
pub mod check;
pub mod formats;
pub mod hash;
pub mod history;
pub mod live;
pub mod model;
pub mod models;
pub mod search;
pub mod sort;

pub use budget::Budget;
pub use check::{check, check_unpartitioned, Linearizable, Verdict, Witness};
pub use history::{Operation, Outcome, Time};
pub use model::Model;
