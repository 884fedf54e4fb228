//! The Raft state machine of one member (etcd's `raft.go`): roles, terms,
//! elections, replication, commit and reads.

use super::cause::RoleCause;
use super::config::{Config, ReadOnlyOption};
use super::log::RaftLog;
use super::message::{Entry, Message, MsgType};
use super::progress::{Progress, ProgressState};
use super::quorum::{self, VoteResult};
use super::read_only::ReadOnly;
use super::PeerId;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// Why a proposal or read was not taken (etcd's `ErrProposalDropped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// No leader is known to forward it to, or leadership is changing.
    NoLeader,
    /// The log reached `max_log_entries`.
    LogFull,
    /// `max_pending_reads` reads already wait for confirmation.
    TooManyReads,
}

/// A confirmed read: once the state machine has applied `index`, the read
/// with this `context` may be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    pub index: u64,
    pub context: u64,
}

/// A snapshot of the state machine: everything up to `index` (of `term`)
/// applied; `data` is the caller's handle of its contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub index: u64,
    pub term: u64,
    pub data: u64,
}

/// What survives a crash: etcd writes the hard state (term, vote, commit),
/// new entries and snapshots to stable storage before sending any message,
/// so at any moment between steps the disk holds exactly this.
#[derive(Clone, Debug, PartialEq)]
pub struct Persisted<C> {
    pub term: u64,
    pub vote: Option<PeerId>,
    pub commit: u64,
    /// The entries after `compacted` (index, term): the last entry dropped
    /// by a compaction ((0, 0): none).
    pub entries: Vec<Entry<C>>,
    pub compacted: (u64, u64),
    pub snapshot: Option<Snapshot>,
}

impl<C> Persisted<C> {
    /// An empty disk.
    pub fn new() -> Persisted<C> {
        Persisted { term: 0, vote: None, commit: 0, entries: Vec::new(), compacted: (0, 0), snapshot: None }
    }
}

impl<C> Default for Persisted<C> {
    fn default() -> Self {
        Persisted::new()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Campaign {
    PreElection,
    Election,
}

#[derive(Clone, Debug)]
pub struct Raft<C> {
    pub id: PeerId,
    config: Config,
    pub term: u64,
    pub vote: Option<PeerId>,
    pub log: RaftLog<C>,
    pub role: Role,
    /// Why it took `role` (the last change, even one that kept the role).
    pub cause: RoleCause<PeerId>,
    pub lead: Option<PeerId>,
    /// Per member (leader only): replication progress.
    progress: Vec<Progress>,
    /// Per member (candidates only): votes received.
    votes: Vec<Option<bool>>,
    election_elapsed: u32,
    heartbeat_elapsed: u32,
    randomized_election_timeout: u32,
    read_only: ReadOnly<C>,
    /// Reads that arrived before this leader committed an entry of its term.
    pending_reads: Vec<Message<C>>,
    /// The latest snapshot: the leader sends it to a follower that needs
    /// compacted entries.
    snapshot: Option<Snapshot>,
    /// A snapshot the state machine must load before applying further
    /// entries (one from the leader, or the disk's at a restart).
    restored: Option<Snapshot>,
    rng: Rng,
    msgs: Vec<Message<C>>,
    read_states: Vec<ReadState>,
}

impl<C: Clone> Raft<C> {
    /// A fresh member `id` of a group of `members`.
    pub fn new(id: PeerId, members: usize, config: Config, rng: Rng) -> Raft<C> {
        Raft::restart(id, members, config, Persisted::new(), rng)
    }

    /// A member starting from what it had persisted: a follower, with its
    /// term, vote and log; nothing applied yet but its snapshot, which the
    /// state machine loads first ([`Self::take_restored`]).
    pub fn restart(id: PeerId, members: usize, config: Config, disk: Persisted<C>, rng: Rng) -> Raft<C> {
        assert!((id as usize) < members && members > 0, "member {id} of {members}");
        let (offset, offset_term) = disk.compacted;
        let mut log = RaftLog::restore_compacted(offset, offset_term, disk.entries, disk.commit);
        if let Some(s) = disk.snapshot {
            log.applied = s.index;
        }
        let mut r = Raft {
            id,
            term: disk.term,
            vote: disk.vote,
            log,
            role: Role::Follower,
            cause: RoleCause::Start,
            lead: None,
            progress: Vec::new(),
            votes: vec![None; members],
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_election_timeout: config.election_tick,
            read_only: ReadOnly::new(),
            pending_reads: Vec::new(),
            snapshot: disk.snapshot,
            restored: disk.snapshot,
            rng,
            msgs: Vec::new(),
            read_states: Vec::new(),
            config,
        };
        r.progress = (0..members).map(|_| Progress::new(1, r.config.max_inflight_msgs)).collect();
        r.reset_randomized_election_timeout();
        r
    }

    pub fn members(&self) -> usize {
        self.votes.len()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What is on this member's disk now.
    pub fn persisted(&self) -> Persisted<C> {
        Persisted {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed,
            entries: self.log.entries().to_vec(),
            compacted: self.log.compacted(),
            snapshot: self.snapshot,
        }
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<Snapshot> {
        self.snapshot
    }

    /// A snapshot the state machine must load now, before the committed
    /// entries that follow it.
    pub fn take_restored(&mut self) -> Option<Snapshot> {
        self.restored.take()
    }

    /// The latest snapshot's data is now under the caller's handle `data`
    /// (a member keeps its own copy of the leader's).
    pub fn adopt_snapshot_data(&mut self, data: u64) {
        if let Some(s) = self.snapshot.as_mut() {
            s.data = data;
        }
    }

    /// The caller took a snapshot of its state machine at `index` (applied):
    /// it becomes the one sent to followers that need compacted entries,
    /// and the log drops what lies more than `keep` entries before it
    /// (etcd's `CreateSnapshot`, then `Compact(index - SnapshotCatchUpEntries)`,
    /// so that a follower a little behind still gets entries).
    pub fn create_snapshot(&mut self, index: u64, data: u64, keep: u64) {
        assert!(index <= self.log.applied, "a snapshot at {index} beyond the applied {}", self.log.applied);
        let term = self.log.term(index).expect("the snapshot's point is in the log");
        self.snapshot = Some(Snapshot { index, term, data });
        self.log.compact(index.saturating_sub(keep));
    }

    pub fn progress(&self, peer: PeerId) -> Option<&Progress> {
        (self.role == Role::Leader).then(|| &self.progress[peer as usize])
    }

    pub fn pending_read_count(&self) -> usize {
        self.read_only.len() + self.pending_reads.len()
    }

    /// Ticks since the election timer (a follower's, a candidate's) or the
    /// check-quorum timer (a leader's) last restarted.
    pub fn election_elapsed(&self) -> u32 {
        self.election_elapsed
    }

    /// A leader: how many of the other members it has heard from since
    /// its last CheckQuorum count (etcd's `RecentActive`).
    pub fn heard_from(&self) -> Option<usize> {
        let me = self.id as usize;
        (self.role == Role::Leader)
            .then(|| self.progress.iter().enumerate().filter(|(i, p)| *i != me && p.recent_active).count())
    }

    pub fn randomized_election_timeout(&self) -> u32 {
        self.randomized_election_timeout
    }

    /// Messages to send; the caller has persisted [`Self::persisted`]'s
    /// changes first (in the lab, the disk is written at once).
    pub fn take_messages(&mut self) -> Vec<Message<C>> {
        std::mem::take(&mut self.msgs)
    }

    /// Like [`Self::take_messages`], keeping the buffer for the next step
    /// (no allocation per step on a busy member).
    pub fn drain_messages(&mut self) -> std::vec::Drain<'_, Message<C>> {
        self.msgs.drain(..)
    }

    pub fn drain_read_states(&mut self) -> std::vec::Drain<'_, ReadState> {
        self.read_states.drain(..)
    }

    pub fn has_messages(&self) -> bool {
        !self.msgs.is_empty()
    }

    pub fn take_read_states(&mut self) -> Vec<ReadState> {
        std::mem::take(&mut self.read_states)
    }

    /// Committed entries to apply to the state machine, in order.
    pub fn take_committed(&mut self) -> Vec<Entry<C>> {
        self.log.take_committed().to_vec()
    }

    // -- time --------------------------------------------------------------

    /// One logical tick of this member's clock.
    pub fn tick(&mut self) {
        if self.role == Role::Leader {
            self.tick_heartbeat();
        } else {
            self.tick_election();
        }
    }

    fn tick_election(&mut self) {
        self.election_elapsed += 1;
        if self.election_elapsed >= self.randomized_election_timeout {
            self.election_elapsed = 0;
            let _ = self.step(Message::new(MsgType::Hup, self.id, self.id));
        }
    }

    fn tick_heartbeat(&mut self) {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        if self.election_elapsed >= self.config.election_tick {
            self.election_elapsed = 0;
            if self.config.check_quorum {
                let _ = self.step(Message::new(MsgType::CheckQuorum, self.id, self.id));
            }
        }
        if self.role != Role::Leader {
            return;
        }
        if self.heartbeat_elapsed >= self.config.heartbeat_tick {
            self.heartbeat_elapsed = 0;
            let _ = self.step(Message::new(MsgType::Beat, self.id, self.id));
        }
    }

    fn reset_randomized_election_timeout(&mut self) {
        let et = u64::from(self.config.election_tick);
        self.randomized_election_timeout = self.rng.between(et, 2 * et - 1) as u32;
    }

    // -- roles -------------------------------------------------------------

    fn reset(&mut self, term: u64) {
        if self.term != term {
            self.term = term;
            self.vote = None;
        }
        self.lead = None;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.reset_randomized_election_timeout();
        self.votes.iter_mut().for_each(|v| *v = None);
        let (next, max) = (self.log.last_index() + 1, self.config.max_inflight_msgs);
        for (i, p) in self.progress.iter_mut().enumerate() {
            *p = Progress::new(next, max);
            if i == self.id as usize {
                p.matched = self.log.last_index();
            }
        }
        self.read_only = ReadOnly::new();
        self.pending_reads.clear();
    }

    pub(super) fn become_follower(&mut self, term: u64, lead: Option<PeerId>, cause: RoleCause<PeerId>) {
        self.reset(term);
        self.lead = lead;
        self.role = Role::Follower;
        self.cause = cause;
    }

    /// The (pre-)votes counted so far: granted, refused, of how many.
    fn tally(&self) -> (u16, u16, u16) {
        let count = |want: bool| self.votes.iter().filter(|v| **v == Some(want)).count() as u16;
        (count(true), count(false), self.members() as u16)
    }

    fn become_pre_candidate(&mut self) {
        assert_ne!(self.role, Role::Leader, "a leader cannot become a pre-candidate");
        // Neither the term nor the vote changes.
        self.votes.iter_mut().for_each(|v| *v = None);
        self.lead = None;
        self.role = Role::PreCandidate;
    }

    fn become_candidate(&mut self) {
        assert_ne!(self.role, Role::Leader, "a leader cannot become a candidate");
        self.reset(self.term + 1);
        self.vote = Some(self.id);
        self.role = Role::Candidate;
    }

    fn become_leader(&mut self) {
        assert_ne!(self.role, Role::Follower, "a follower cannot become leader without an election");
        let (granted, rejected, members) = self.tally();
        self.cause = RoleCause::VoteWon { granted, rejected, members };
        self.reset(self.term);
        self.lead = Some(self.id);
        self.role = Role::Leader;
        let me = self.id as usize;
        self.progress[me].become_replicate();
        self.progress[me].recent_active = true;
        // The empty entry that lets this term's commit rule cover the
        // entries of earlier terms.
        let entry = Entry { term: self.term, index: self.log.last_index() + 1, data: None };
        self.log.append(entry);
        self.progress[me].maybe_update(self.log.last_index());
        self.maybe_commit();
    }

    fn campaign(&mut self, kind: Campaign, cause: RoleCause<PeerId>) {
        let (vote_type, term) = match kind {
            Campaign::PreElection => {
                self.become_pre_candidate();
                (MsgType::PreVote, self.term + 1)
            }
            Campaign::Election => {
                self.become_candidate();
                (MsgType::Vote, self.term)
            }
        };
        self.cause = cause;
        let resp = if vote_type == MsgType::PreVote { MsgType::PreVoteResp } else { MsgType::VoteResp };
        if self.poll(self.id, resp, true) == VoteResult::Won {
            // A group of one wins at once.
            match kind {
                Campaign::PreElection => self.campaign(Campaign::Election, self.pre_vote_won()),
                Campaign::Election => self.become_leader(),
            }
            return;
        }
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for to in self.peers() {
            let mut m = Message::new(vote_type, self.id, to);
            m.term = term;
            m.index = last_index;
            m.log_term = last_term;
            self.msgs.push(m);
        }
    }

    fn pre_vote_won(&self) -> RoleCause<PeerId> {
        let (granted, rejected, members) = self.tally();
        RoleCause::PreVoteWon { granted, rejected, members }
    }

    fn poll(&mut self, from: PeerId, _kind: MsgType, granted: bool) -> VoteResult {
        let v = &mut self.votes[from as usize];
        if v.is_none() {
            *v = Some(granted);
        }
        quorum::vote_result(&self.votes)
    }

    fn peers(&self) -> Vec<PeerId> {
        (0..self.members() as PeerId).filter(|&p| p != self.id).collect()
    }

    // -- messages ------------------------------------------------------------

    /// Sends `m`, stamped with this member's term where etcd stamps it.
    fn send(&mut self, mut m: Message<C>) {
        m.from = self.id;
        let carries_own_term = !matches!(
            m.kind,
            MsgType::Vote
                | MsgType::PreVote
                | MsgType::VoteResp
                | MsgType::PreVoteResp
                | MsgType::Prop
                | MsgType::ReadIndex
        );
        if carries_own_term {
            m.term = self.term;
        }
        self.msgs.push(m);
    }

    /// Takes one message: from a peer, or local (`Hup`, `Beat`,
    /// `CheckQuorum`, a proposal, a read).
    pub fn step(&mut self, m: Message<C>) -> Result<(), Dropped> {
        if m.term > self.term {
            if matches!(m.kind, MsgType::Vote | MsgType::PreVote) {
                // With CheckQuorum, a member that heard from a leader within
                // the election timeout ignores votes: a partitioned node
                // coming back with a high term cannot disrupt the group.
                let in_lease = self.config.check_quorum
                    && self.lead.is_some()
                    && self.election_elapsed < self.config.election_tick;
                if in_lease {
                    return Ok(());
                }
            }
            match m.kind {
                // Pre-votes never change a term, asked or granted.
                MsgType::PreVote => {}
                MsgType::PreVoteResp if !m.reject => {}
                MsgType::App | MsgType::Heartbeat | MsgType::Snap => {
                    self.become_follower(m.term, Some(m.from), RoleCause::HigherTerm { from: m.from, kind: m.kind })
                }
                _ => self.become_follower(m.term, None, RoleCause::HigherTerm { from: m.from, kind: m.kind }),
            }
        } else if m.term != 0 && m.term < self.term {
            if (self.config.check_quorum || self.config.pre_vote) && matches!(m.kind, MsgType::Heartbeat | MsgType::App)
            {
                // Tell a stale leader about the newer term, or it would
                // never learn it (it may not campaign, with PreVote).
                self.send(Message::new(MsgType::AppResp, self.id, m.from));
            } else if m.kind == MsgType::PreVote {
                let mut r = Message::new(MsgType::PreVoteResp, self.id, m.from);
                r.term = self.term;
                r.reject = true;
                self.send(r);
            }
            return Ok(());
        }

        match m.kind {
            MsgType::Hup => {
                if self.role != Role::Leader {
                    let kind = if self.config.pre_vote { Campaign::PreElection } else { Campaign::Election };
                    // The timeout that just ran out (a pre-candidate keeps
                    // it; a candidate draws a new one).
                    let ticks = self.randomized_election_timeout;
                    self.campaign(kind, RoleCause::ElectionTimeout { ticks });
                }
                Ok(())
            }
            MsgType::Vote | MsgType::PreVote => {
                let can_vote = self.vote == Some(m.from)
                    || (self.vote.is_none() && self.lead.is_none())
                    || (m.kind == MsgType::PreVote && m.term > self.term);
                let resp = if m.kind == MsgType::Vote { MsgType::VoteResp } else { MsgType::PreVoteResp };
                let mut r = Message::new(resp, self.id, m.from);
                if can_vote && self.log.is_up_to_date(m.index, m.log_term) {
                    // The reply carries the asked term, so a pre-candidate
                    // counts it.
                    r.term = m.term;
                    if m.kind == MsgType::Vote {
                        self.election_elapsed = 0;
                        self.vote = Some(m.from);
                    }
                } else {
                    r.term = self.term;
                    r.reject = true;
                }
                self.send(r);
                Ok(())
            }
            _ => match self.role {
                Role::Leader => self.step_leader(m),
                Role::Follower => self.step_follower(m),
                Role::PreCandidate | Role::Candidate => self.step_candidate(m),
            },
        }
    }

    fn step_leader(&mut self, m: Message<C>) -> Result<(), Dropped> {
        match m.kind {
            MsgType::Beat => {
                self.bcast_heartbeat();
                return Ok(());
            }
            MsgType::CheckQuorum => {
                let active =
                    self.progress.iter().enumerate().filter(|(i, p)| *i == self.id as usize || p.recent_active);
                let active = active.count();
                if active < quorum::majority(self.members()) {
                    let cause = RoleCause::QuorumNotActive { active: active as u16, members: self.members() as u16 };
                    self.become_follower(self.term, None, cause);
                }
                let me = self.id as usize;
                for (i, p) in self.progress.iter_mut().enumerate() {
                    p.recent_active = i == me;
                }
                return Ok(());
            }
            MsgType::Prop => {
                if self.log.len() + m.entries.len() > self.config.max_log_entries {
                    return Err(Dropped::LogFull);
                }
                for e in m.entries {
                    let entry = Entry { term: self.term, index: self.log.last_index() + 1, data: e.data };
                    self.log.append(entry);
                }
                let last = self.log.last_index();
                self.progress[self.id as usize].maybe_update(last);
                // A group of one commits at once.
                self.maybe_commit();
                self.bcast_append();
                return Ok(());
            }
            MsgType::ReadIndex => {
                if self.members() == 1 {
                    self.respond_to_read(m, self.log.committed);
                    return Ok(());
                }
                if self.pending_read_count() >= self.config.max_pending_reads {
                    return Err(Dropped::TooManyReads);
                }
                // A new leader does not know the commit index until it has
                // committed an entry of its own term.
                if !self.committed_entry_in_current_term() {
                    self.pending_reads.push(m);
                    return Ok(());
                }
                self.read_index(m);
                return Ok(());
            }
            _ => {}
        }
        let from = m.from as usize;
        if from >= self.members() {
            return Ok(());
        }
        match m.kind {
            MsgType::AppResp => {
                self.progress[from].recent_active = true;
                if m.reject {
                    if self.progress[from].maybe_decr_to(m.index, m.reject_hint) {
                        if self.progress[from].state == ProgressState::Replicate {
                            self.progress[from].become_probe();
                        }
                        self.send_append(m.from, true);
                    }
                } else {
                    let was_paused = self.progress[from].is_paused();
                    if self.progress[from].maybe_update(m.index) {
                        let first = self.log.first_index();
                        let p = &mut self.progress[from];
                        match p.state {
                            ProgressState::Probe => p.become_replicate(),
                            ProgressState::Replicate => p.free_le(m.index),
                            // The snapshot arrived, and the log holds what
                            // follows it.
                            ProgressState::Snapshot if p.matched + 1 >= first => {
                                p.become_probe();
                                p.become_replicate();
                            }
                            ProgressState::Snapshot => {}
                        }
                        if self.maybe_commit() {
                            self.bcast_append();
                        } else if was_paused {
                            self.send_append(m.from, true);
                        }
                        // Keep streaming what the follower still lacks.
                        while self.send_append(m.from, false) {}
                    }
                }
            }
            MsgType::HeartbeatResp => {
                let p = &mut self.progress[from];
                p.recent_active = true;
                p.probe_sent = false;
                // A follower that answers heartbeats but not the snapshot
                // did not get it: etcd's transport reports a failed send
                // (`ReportSnapshot`), and the leader probes again. (The
                // first answer may overtake the snapshot's: two.)
                if p.state == ProgressState::Snapshot && p.matched < p.pending_snapshot {
                    p.heartbeats_since_snapshot += 1;
                    if p.heartbeats_since_snapshot >= 2 {
                        p.become_probe();
                    }
                }
                if p.state == ProgressState::Replicate && p.is_paused() {
                    p.free_first_one();
                }
                if p.matched < self.log.last_index() {
                    self.send_append(m.from, true);
                }
                if self.config.read_only == ReadOnlyOption::Safe && m.context != 0 {
                    let acks = self.read_only.ack(m.from, m.context);
                    if acks >= quorum::majority(self.members()) {
                        for read in self.read_only.advance(m.context) {
                            self.respond_to_read(read.req, read.index);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn step_candidate(&mut self, m: Message<C>) -> Result<(), Dropped> {
        let my_resp = if self.role == Role::PreCandidate { MsgType::PreVoteResp } else { MsgType::VoteResp };
        match m.kind {
            MsgType::Prop | MsgType::ReadIndex => return Err(Dropped::NoLeader),
            MsgType::App => {
                self.become_follower(m.term, Some(m.from), RoleCause::LeaderOfTerm { from: m.from, kind: m.kind });
                self.handle_append(m);
            }
            MsgType::Heartbeat => {
                self.become_follower(m.term, Some(m.from), RoleCause::LeaderOfTerm { from: m.from, kind: m.kind });
                self.handle_heartbeat(m);
            }
            MsgType::Snap => {
                self.become_follower(m.term, Some(m.from), RoleCause::LeaderOfTerm { from: m.from, kind: m.kind });
                self.handle_snapshot(m);
            }
            k if k == my_resp => match self.poll(m.from, m.kind, !m.reject) {
                VoteResult::Won => {
                    if self.role == Role::PreCandidate {
                        self.campaign(Campaign::Election, self.pre_vote_won());
                    } else {
                        self.become_leader();
                        self.bcast_append();
                    }
                }
                VoteResult::Lost => {
                    let (granted, rejected, members) = self.tally();
                    let cause = RoleCause::VoteLost { kind: m.kind, granted, rejected, members };
                    self.become_follower(self.term, None, cause)
                }
                VoteResult::Pending => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn step_follower(&mut self, mut m: Message<C>) -> Result<(), Dropped> {
        match m.kind {
            MsgType::Prop | MsgType::ReadIndex => {
                let Some(lead) = self.lead else { return Err(Dropped::NoLeader) };
                m.to = lead;
                m.term = 0;
                self.send(m);
            }
            MsgType::App => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_append(m);
            }
            MsgType::Heartbeat => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_heartbeat(m);
            }
            MsgType::Snap => {
                self.election_elapsed = 0;
                self.lead = Some(m.from);
                self.handle_snapshot(m);
            }
            MsgType::ReadIndexResp => self.read_states.push(ReadState { index: m.index, context: m.context }),
            _ => {}
        }
        Ok(())
    }

    // -- follower side -------------------------------------------------------

    fn handle_append(&mut self, m: Message<C>) {
        let mut r = Message::new(MsgType::AppResp, self.id, m.from);
        if m.index < self.log.committed {
            r.index = self.log.committed;
        } else if let Some(last_new) = self.log.maybe_append(m.index, m.log_term, m.commit, &m.entries) {
            r.index = last_new;
        } else {
            r.index = m.index;
            r.reject = true;
            r.reject_hint = m.index.min(self.log.last_index());
        }
        self.send(r);
    }

    /// A snapshot from the leader (etcd's `handleSnapshot` and `restore`):
    /// loaded unless the log already holds its point; the answer says how
    /// far the log now goes.
    fn handle_snapshot(&mut self, m: Message<C>) {
        let s = Snapshot { index: m.index, term: m.log_term, data: m.context };
        let mut r = Message::new(MsgType::AppResp, self.id, m.from);
        if s.index <= self.log.committed {
            r.index = self.log.committed;
        } else if self.log.match_term(s.index, s.term) {
            // The log has it: only the commit index moves.
            self.log.commit_to(s.index);
            r.index = self.log.committed;
        } else {
            self.log.restore_snapshot(s.index, s.term);
            self.snapshot = Some(s);
            self.restored = Some(s);
            r.index = self.log.last_index();
        }
        self.send(r);
    }

    fn handle_heartbeat(&mut self, m: Message<C>) {
        self.log.commit_to(m.commit);
        let mut r = Message::new(MsgType::HeartbeatResp, self.id, m.from);
        r.context = m.context;
        self.send(r);
    }

    // -- leader side -------------------------------------------------------

    fn maybe_commit(&mut self) -> bool {
        let matched: Vec<u64> = self.progress.iter().map(|p| p.matched).collect();
        let committed = self.log.maybe_commit(quorum::committed_index(&matched), self.term);
        if committed && self.committed_entry_in_current_term() {
            for m in std::mem::take(&mut self.pending_reads) {
                self.read_index(m);
            }
        }
        committed
    }

    fn committed_entry_in_current_term(&self) -> bool {
        self.log.term(self.log.committed) == Some(self.term)
    }

    fn read_index(&mut self, m: Message<C>) {
        match self.config.read_only {
            ReadOnlyOption::Safe => {
                let ctx = m.context;
                self.read_only.add(self.log.committed, m, self.members());
                self.read_only.ack(self.id, ctx);
                self.bcast_heartbeat_with(ctx);
            }
            ReadOnlyOption::LeaseBased => self.respond_to_read(m, self.log.committed),
        }
    }

    fn respond_to_read(&mut self, req: Message<C>, index: u64) {
        if req.from == self.id {
            self.read_states.push(ReadState { index, context: req.context });
        } else {
            let mut r = Message::new(MsgType::ReadIndexResp, self.id, req.from);
            r.index = index;
            r.context = req.context;
            self.send(r);
        }
    }

    fn bcast_append(&mut self) {
        for to in self.peers() {
            self.send_append(to, true);
        }
    }

    /// Sends `to` the entries it lacks (or, with `send_if_empty`, an empty
    /// append to probe or carry the commit index); false if nothing was sent.
    fn send_append(&mut self, to: PeerId, send_if_empty: bool) -> bool {
        let pr = &self.progress[to as usize];
        if pr.is_paused() {
            return false;
        }
        let prev = pr.next - 1;
        if prev < self.log.compacted().0 {
            return self.send_snapshot(to);
        }
        let Some(log_term) = self.log.term(prev) else {
            return false;
        };
        let entries = self.log.slice(pr.next, self.config.max_entries_per_msg);
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        let mut m = Message::new(MsgType::App, self.id, to);
        m.index = prev;
        m.log_term = log_term;
        m.commit = self.log.committed;
        if let Some(last) = entries.last() {
            self.progress[to as usize].sent(last.index);
        }
        m.entries = entries;
        self.send(m);
        true
    }

    /// Sends `to` the latest snapshot (etcd's `maybeSendSnapshot`), unless
    /// it has not been heard from lately.
    fn send_snapshot(&mut self, to: PeerId) -> bool {
        let Some(s) = self.snapshot else { return false };
        let p = &mut self.progress[to as usize];
        if !p.recent_active {
            return false;
        }
        p.become_snapshot(s.index);
        let mut m = Message::new(MsgType::Snap, self.id, to);
        (m.index, m.log_term, m.context) = (s.index, s.term, s.data);
        self.send(m);
        true
    }

    fn bcast_heartbeat(&mut self) {
        let ctx = self.read_only.last_context().unwrap_or(0);
        self.bcast_heartbeat_with(ctx);
    }

    fn bcast_heartbeat_with(&mut self, context: u64) {
        for to in self.peers() {
            let mut m = Message::new(MsgType::Heartbeat, self.id, to);
            // Never tell a follower to commit beyond what it is known to
            // hold: its log there may still differ from the leader's.
            m.commit = self.progress[to as usize].matched.min(self.log.committed);
            m.context = context;
            self.send(m);
        }
    }
}
