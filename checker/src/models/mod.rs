//! The models: a register, a key-value map, a counter, a set, an
//! append-only log and a FIFO queue. Keyed models partition by key.

pub mod counter;
pub mod kv;
pub mod log;
pub mod queue;
pub mod register;
pub mod set;
