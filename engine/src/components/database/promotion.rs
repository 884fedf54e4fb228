//! Why a database replica became the primary: an operator said so, or the
//! standby's own failover heard nothing from its primary for too long.

use crate::message::NodeId;
use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Promotion {
    /// A `promote` fault: an operator's command.
    Operator,
    /// Automatic failover: nothing came from `primary` for `silence` (on
    /// the standby's own clock), over `failover.detect_after`.
    Failover { primary: NodeId, silence: Duration, detect_after: Duration },
}
