//! Why a partition's ISR changed, as the partition leader's log would say
//! it (`Shrinking ISR from 1,2,3 to 1,2 ... Out of sync replicas`,
//! `Expanding ISR from 1,2 to 1,2,3`), so the event log can say it too.

use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IsrChange {
    /// The leader shrank it: the followers that left had not caught up
    /// with its log end for longer than `replica.lag.time.max.ms`.
    Shrunk { lag_max: Duration },
    /// The leader expanded it: the follower that joined holds everything
    /// up to the high watermark.
    Expanded,
    /// The controller changed it, not the leader: it took a broker it
    /// fenced out of the ISR.
    Controller,
}
