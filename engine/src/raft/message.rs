//! Raft messages, named as in etcd's `raftpb`.

use super::PeerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// Local: start an election (the election timer fired).
    Hup,
    /// Local: the leader's heartbeat timer fired.
    Beat,
    /// Local: the leader's check-quorum timer fired.
    CheckQuorum,
    /// A proposal: from the local caller, or forwarded by a follower.
    Prop,
    App,
    AppResp,
    Vote,
    VoteResp,
    PreVote,
    PreVoteResp,
    Heartbeat,
    HeartbeatResp,
    /// A linearizable read request; `context` identifies it.
    ReadIndex,
    ReadIndexResp,
    /// The leader's snapshot, to a follower that needs entries the leader
    /// has compacted away: `index` and `log_term` are its point, `context`
    /// the caller's handle of its data. (Last, for the trace hashes.)
    Snap,
}

impl MsgType {
    pub fn name(self) -> &'static str {
        match self {
            MsgType::Hup => "MsgHup",
            MsgType::Beat => "MsgBeat",
            MsgType::CheckQuorum => "MsgCheckQuorum",
            MsgType::Prop => "MsgProp",
            MsgType::App => "MsgApp",
            MsgType::AppResp => "MsgAppResp",
            MsgType::Vote => "MsgVote",
            MsgType::VoteResp => "MsgVoteResp",
            MsgType::PreVote => "MsgPreVote",
            MsgType::PreVoteResp => "MsgPreVoteResp",
            MsgType::Heartbeat => "MsgHeartbeat",
            MsgType::HeartbeatResp => "MsgHeartbeatResp",
            MsgType::ReadIndex => "MsgReadIndex",
            MsgType::ReadIndexResp => "MsgReadIndexResp",
            MsgType::Snap => "MsgSnap",
        }
    }
}

/// A log entry; `data: None` is the empty entry a new leader appends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<C> {
    pub term: u64,
    pub index: u64,
    pub data: Option<C>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<C> {
    pub kind: MsgType,
    pub from: PeerId,
    pub to: PeerId,
    /// The sender's term; 0 for local messages and forwarded proposals and
    /// reads, which carry no term (as in etcd).
    pub term: u64,
    /// The term of the entry at `index` (appends), or of the sender's last
    /// entry (votes).
    pub log_term: u64,
    pub index: u64,
    pub entries: Vec<Entry<C>>,
    pub commit: u64,
    pub reject: bool,
    pub reject_hint: u64,
    /// A read request's id, carried by heartbeats confirming it; a
    /// snapshot's data handle (`Snap`).
    pub context: u64,
}

impl<C> Message<C> {
    pub fn new(kind: MsgType, from: PeerId, to: PeerId) -> Message<C> {
        Message {
            kind,
            from,
            to,
            term: 0,
            log_term: 0,
            index: 0,
            entries: Vec::new(),
            commit: 0,
            reject: false,
            reject_hint: 0,
            context: 0,
        }
    }

    /// A proposal from the local caller.
    pub fn propose(me: PeerId, data: C) -> Message<C> {
        let mut m = Message::new(MsgType::Prop, me, me);
        m.entries.push(Entry { term: 0, index: 0, data: Some(data) });
        m
    }

    /// A read request from the local caller, identified by `context` (≠ 0).
    pub fn read_index(me: PeerId, context: u64) -> Message<C> {
        let mut m = Message::new(MsgType::ReadIndex, me, me);
        m.context = context;
        m
    }
}
