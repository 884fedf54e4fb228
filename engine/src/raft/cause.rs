//! Why a member took the role it has: what etcd's raft logs beside each
//! role change ("received MsgHeartbeatResp message with higher term from
//! 3", "stepped down to follower since quorum is not active", "has
//! received 3 MsgVoteResp votes and 0 vote rejections"), so a learner can
//! follow an election from cause to effect.

use super::message::MsgType;

/// The cause of the last role change; `I` names a member (a [`PeerId`]
/// inside the state machine, a node in the trace).
///
/// [`PeerId`]: super::PeerId
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoleCause<I> {
    /// Started, or restarted from its disk: a follower knowing no leader.
    Start,
    /// A message of `kind` from `from` carried a higher term.
    HigherTerm { from: I, kind: MsgType },
    /// The election timer ran out after `ticks` ticks without a message
    /// from a leader.
    ElectionTimeout { ticks: u32 },
    /// A pre-candidate got pre-votes from a majority: `granted` of the
    /// group's `members`, itself included; `rejected` refused.
    PreVoteWon { granted: u16, rejected: u16, members: u16 },
    /// A candidate got votes from a majority.
    VoteWon { granted: u16, rejected: u16, members: u16 },
    /// Too many refused the pre-votes (`kind` is `MsgPreVoteResp`) or the
    /// votes (`MsgVoteResp`) for a majority to be left.
    VoteLost { kind: MsgType, granted: u16, rejected: u16, members: u16 },
    /// CheckQuorum: the leader heard from only `active` members (itself
    /// included) of `members` in the last election timeout.
    QuorumNotActive { active: u16, members: u16 },
    /// A (pre-)candidate heard from the leader of its term: a message of
    /// `kind` from `from`.
    LeaderOfTerm { from: I, kind: MsgType },
}

impl<I> RoleCause<I> {
    /// The same cause with members named by `f`.
    pub fn map<J>(self, f: impl Fn(I) -> J) -> RoleCause<J> {
        match self {
            RoleCause::Start => RoleCause::Start,
            RoleCause::HigherTerm { from, kind } => RoleCause::HigherTerm { from: f(from), kind },
            RoleCause::ElectionTimeout { ticks } => RoleCause::ElectionTimeout { ticks },
            RoleCause::PreVoteWon { granted, rejected, members } => {
                RoleCause::PreVoteWon { granted, rejected, members }
            }
            RoleCause::VoteWon { granted, rejected, members } => RoleCause::VoteWon { granted, rejected, members },
            RoleCause::VoteLost { kind, granted, rejected, members } => {
                RoleCause::VoteLost { kind, granted, rejected, members }
            }
            RoleCause::QuorumNotActive { active, members } => RoleCause::QuorumNotActive { active, members },
            RoleCause::LeaderOfTerm { from, kind } => RoleCause::LeaderOfTerm { from: f(from), kind },
        }
    }
}
