//! A key-value store replicated by Raft, as etcd is: every member takes
//! client requests; writes are proposed (a follower forwards them to the
//! leader) and answered by the member that took them once it has applied
//! them; reads are linearizable through ReadIndex, answered on the
//! leader's lease, or served locally, as configured. The Raft state
//! machine is [`crate::raft`]; this component moves its messages over the
//! network, drives its clock, persists its state and applies its log.

pub mod config;
pub mod wire;

use crate::components::raft_member::RaftMember;
use crate::context::Ctx;
use crate::follow::Carrier;
use crate::message::{Message, NodeId, Op, Request, RequestId, Response, Status, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::raft::{Message as RaftMsg, MsgType, PeerId, Role, RoleCause};
use crate::trace::{Note, RaftBound};
use config::{RaftKvConfig, Reads};
use serde::Serialize;
use std::collections::BTreeMap;

/// The state machine: each key's value.
pub type KvStore = BTreeMap<u32, u64>;

/// A client's write as the log carries it: the member that took it
/// (`origin`) answers the client once it applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KvCommand {
    pub key: u32,
    pub value: u64,
    pub origin: NodeId,
    pub seq: u32,
}

#[derive(Clone, Copy, Debug)]
struct Waiting {
    client: NodeId,
    id: RequestId,
    key: u32,
    /// When the member took it (monotonic clock).
    since: i64,
}

/// What a crash loses.
#[derive(Clone, Debug, Default)]
struct Volatile {
    /// The state machine, rebuilt from the snapshot and the log after a
    /// restart.
    store: KvStore,
    /// Writes this member took, by sequence number.
    writes: BTreeMap<u32, Waiting>,
    /// Reads waiting for their confirmation, by context.
    reads: BTreeMap<u64, Waiting>,
    /// Confirmed reads waiting for the state machine to reach `index`.
    ready: Vec<(u64, Waiting)>,
}

#[derive(Clone, Debug)]
pub struct RaftKv {
    config: RaftKvConfig,
    member: RaftMember,
    /// Sequence numbers of this member's writes and reads. They survive a
    /// crash (etcd's request ids carry the member's id and a start time),
    /// so a write proposed before a crash and committed after it is never
    /// taken for a new one with the same number.
    next_seq: u32,
    next_read: u64,
    /// The handles of the snapshots this member keeps on disk, newest
    /// last: the newest, which its Raft log starts from, and the one
    /// before, which may be on its way to a follower. Older ones are
    /// deleted (etcd keeps `--max-snapshots`, 5; two are enough here).
    snapshots: Vec<u64>,
    state: Volatile,
}

/// What the UI shows about a member.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaftKvView {
    pub role: &'static str,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub vote: Option<NodeId>,
    pub last_index: u64,
    pub commit: u64,
    pub applied: u64,
    /// The latest snapshot's index (0: none), and the first index the log
    /// still holds (compaction drops the entries before it).
    pub snapshot: u64,
    pub first_index: u64,
    pub keys: usize,
    pub pending_writes: usize,
    pub pending_reads: usize,
    /// Why it has its role, and since when (nothing while down).
    #[serde(skip)]
    pub cause: Option<(RoleCause<NodeId>, crate::time::Time)>,
    /// Its election timer (a leader's: the check-quorum count's): ticks
    /// elapsed, and the timeout.
    #[serde(skip)]
    pub timer: (u32, u32),
    /// A leader with CheckQuorum: the other members it has heard from
    /// since its last count, and how many others there are.
    #[serde(skip)]
    pub heard_from: Option<(usize, usize)>,
}

impl RaftKv {
    /// Member `me` (an index into `members`) of the group.
    pub fn new(config: RaftKvConfig, me: PeerId, members: Vec<NodeId>) -> RaftKv {
        RaftKv {
            config,
            member: RaftMember::new(me, members),
            next_seq: 0,
            next_read: 0,
            snapshots: Vec::new(),
            state: Volatile::default(),
        }
    }

    pub fn view(&self) -> RaftKvView {
        let node = |p: PeerId| self.member.members[p as usize];
        let disk = &self.member.disk;
        match &self.member.raft {
            Some(r) => RaftKvView {
                role: r.role.name(),
                term: r.term,
                leader: r.lead.map(node),
                vote: r.vote.map(node),
                last_index: r.log.last_index(),
                commit: r.log.committed,
                applied: r.log.applied,
                snapshot: r.snapshot().map_or(0, |s| s.index),
                first_index: r.log.first_index(),
                keys: self.state.store.len(),
                pending_writes: self.state.writes.len(),
                pending_reads: self.state.reads.len() + self.state.ready.len(),
                cause: self.member.role_cause(),
                timer: (
                    r.election_elapsed(),
                    if r.role == Role::Leader { r.config().election_tick } else { r.randomized_election_timeout() },
                ),
                heard_from: r
                    .heard_from()
                    .filter(|_| r.config().check_quorum)
                    .map(|h| (h, self.member.members.len() - 1)),
            },
            None => RaftKvView {
                role: "down",
                term: disk.term,
                leader: None,
                vote: disk.vote.map(node),
                last_index: disk.compacted.0 + disk.entries.len() as u64,
                commit: disk.commit,
                applied: 0,
                snapshot: disk.snapshot.map_or(0, |s| s.index),
                first_index: disk.compacted.0 + 1,
                keys: 0,
                pending_writes: 0,
                pending_reads: 0,
                cause: None,
                timer: (0, 0),
                heard_from: None,
            },
        }
    }

    /// Keeps snapshot `id` as the newest; deletes what is older than the
    /// one before it.
    fn keep(snapshots: &mut Vec<u64>, ctx: &mut Ctx, id: u64) {
        snapshots.push(id);
        while snapshots.len() > 2 {
            ctx.drop_kv_snapshot(snapshots.remove(0));
        }
    }

    fn pending(&self) -> usize {
        self.state.writes.len() + self.state.reads.len() + self.state.ready.len()
    }

    fn answer(ctx: &mut Ctx, w: Waiting, status: Status, value: Option<u64>) {
        ctx.send(w.client, Message::Response(Response { id: w.id, status, value }));
    }

    fn on_request(&mut self, ctx: &mut Ctx, client: NodeId, req: Request) {
        let refuse = |ctx: &mut Ctx| {
            ctx.send(
                client,
                Message::Response(Response { id: req.id, status: Status::ServiceUnavailable, value: None }),
            )
        };
        if self.pending() >= self.config.max_pending {
            ctx.note(Note::RaftRefused { bound: RaftBound::MaxPending, limit: self.config.max_pending as u32 });
            return refuse(ctx);
        }
        let me = self.member.me;
        let Some(raft) = self.member.raft.as_mut() else { return };
        match req.op {
            Op::Read { key } if self.config.reads == Reads::Local => {
                let value = self.state.store.get(&key).copied();
                ctx.send(client, Message::Response(Response { id: req.id, status: Status::Ok, value }));
            }
            Op::Read { key } => {
                self.next_read += 1;
                // Unique across the group: a follower's read travels to the
                // leader with its context.
                let context = (u64::from(me) + 1) << 48 | self.next_read;
                ctx.carried_by(Carrier::Raft(context));
                match raft.step(RaftMsg::read_index(me, context)) {
                    Ok(()) => {
                        self.state.reads.insert(context, Waiting { client, id: req.id, key, since: ctx.monotonic() });
                    }
                    Err(dropped) => {
                        self.member.note_refused(ctx, dropped);
                        refuse(ctx)
                    }
                }
            }
            Op::Write { key, value } => {
                let seq = self.next_seq;
                let Some(command) = ctx.intern_command(KvCommand { key, value, origin: ctx.me(), seq }) else {
                    let limit = crate::world::MAX_COMMANDS as u32;
                    ctx.note(Note::RaftRefused { bound: RaftBound::Commands, limit });
                    return refuse(ctx);
                };
                ctx.carried_by(Carrier::Raft(u64::from(command)));
                match raft.step(RaftMsg::propose(me, command)) {
                    Ok(()) => {
                        self.next_seq += 1;
                        self.state.writes.insert(seq, Waiting { client, id: req.id, key, since: ctx.monotonic() });
                    }
                    // Not in any log: certainly not done.
                    Err(dropped) => {
                        self.member.note_refused(ctx, dropped);
                        refuse(ctx)
                    }
                }
            }
        }
        self.after_step(ctx);
    }

    /// Sends what Raft queued, applies what it committed, answers what can
    /// be answered, and reports role changes.
    fn after_step(&mut self, ctx: &mut Ctx) {
        self.member.send_queued_for_ops(ctx);
        let Some(raft) = self.member.raft.as_mut() else { return };
        for rs in raft.drain_read_states() {
            if let Some(w) = self.state.reads.remove(&rs.context) {
                self.state.ready.push((rs.index, w));
            }
        }
        // A snapshot first: the leader's, or this member's own at a restart.
        if let Some(s) = raft.take_restored() {
            let store = ctx.kv_snapshot(s.data).expect("a snapshot is loaded only while it is kept");
            self.state.store = KvStore::clone(&store);
            if self.snapshots.last() != Some(&s.data) {
                // The leader's: this member keeps a copy of its own.
                let id = ctx.keep_kv_snapshot(store);
                raft.adopt_snapshot_data(id);
                Self::keep(&mut self.snapshots, ctx, id);
                if let Some(leader) = raft.lead.map(|p| self.member.members[p as usize]) {
                    ctx.note(Note::RaftSnapshotLoaded { index: s.index, leader });
                }
            }
        }
        for e in raft.log.take_committed() {
            let Some(id) = e.data else { continue };
            let cmd = ctx.command(id);
            self.state.store.insert(cmd.key, cmd.value);
            if cmd.origin == ctx.me() {
                if let Some(w) = self.state.writes.remove(&cmd.seq) {
                    Self::answer(ctx, w, Status::Ok, None);
                }
            }
        }
        let applied = raft.log.applied;
        // etcd's server snapshots its state machine once `--snapshot-count`
        // entries have been applied since the last snapshot, and compacts
        // the log up to `--experimental-snapshot-catchup-entries` before it.
        let last = raft.snapshot().map_or(0, |s| s.index);
        if applied > last + self.config.snapshot_count {
            let id = ctx.keep_kv_snapshot(std::sync::Arc::new(self.state.store.clone()));
            raft.create_snapshot(applied, id, self.config.snapshot_catchup_entries);
            Self::keep(&mut self.snapshots, ctx, id);
            ctx.note(Note::RaftSnapshot { index: applied, compacted: raft.log.compacted().0 });
        }
        let ready = std::mem::take(&mut self.state.ready);
        for (index, w) in ready {
            if index <= applied {
                let value = self.state.store.get(&w.key).copied();
                Self::answer(ctx, w, Status::Ok, value);
            } else {
                self.state.ready.push((index, w));
            }
        }
        // A change of this member's role or term is a step of the
        // requests waiting here (it may fail or delay them).
        let s = &self.state;
        let waiting = || {
            let all = s.reads.values().chain(s.writes.values()).chain(s.ready.iter().map(|(_, w)| w));
            all.map(|w| (w.client, w.id))
        };
        let new_term = ctx.for_requests(waiting, |ctx| self.member.note_role(ctx));
        // A new term drops the reads the old leader had not confirmed
        // (etcd answers them with an error): a read has no effect, so
        // refusing it is safe.
        if new_term {
            for (_, w) in std::mem::take(&mut self.state.reads) {
                Self::answer(ctx, w, Status::ServiceUnavailable, None);
            }
        }
    }
}

impl RaftKv {
    /// Gives up on requests older than the request timeout, as etcd's
    /// server does (a proposal lost with a deposed leader never commits,
    /// and would otherwise wait forever): a write may still have been
    /// committed, so it gets 504 (indeterminate); a read took no effect,
    /// so it gets 503.
    fn expire(&mut self, ctx: &mut Ctx) {
        let limit = ctx.monotonic() - self.config.effective_request_timeout().nanos as i64;
        let old = |w: &Waiting| w.since < limit;
        let writes: Vec<u32> = self.state.writes.iter().filter(|(_, w)| old(w)).map(|(&k, _)| k).collect();
        for k in writes {
            let w = self.state.writes.remove(&k).expect("listed");
            Self::answer(ctx, w, Status::GatewayTimeout, None);
        }
        let reads: Vec<u64> = self.state.reads.iter().filter(|(_, w)| old(w)).map(|(&k, _)| k).collect();
        for k in reads {
            let w = self.state.reads.remove(&k).expect("listed");
            Self::answer(ctx, w, Status::ServiceUnavailable, None);
        }
        let (stale, ready): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.state.ready).into_iter().partition(|(_, w)| old(w));
        self.state.ready = ready;
        for (_, w) in stale {
            Self::answer(ctx, w, Status::ServiceUnavailable, None);
        }
    }
}

impl Process for RaftKv {
    fn on_start(&mut self, ctx: &mut Ctx) {
        self.state = Volatile::default();
        self.member.start(ctx, self.config.raft());
        // Rebuilds the state machine from the committed log.
        self.after_step(ctx);
        RaftMember::first_tick(ctx, self.config.tick.nanos);
    }

    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        match msg {
            Message::Request(req) => self.on_request(ctx, from, req),
            // A snapshot its sender no longer keeps: the transfer fails
            // (the leader sends its newer one when it learns so).
            Message::Raft(w) if w.kind == MsgType::Snap && ctx.kv_snapshot(w.payload).is_none() => {}
            // `receive` steps the message (false: not stepped at all).
            Message::Raft(w) if self.member.receive(ctx, from, &w) => {
                self.after_step(ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, _id: TimerId, timer: Timer) {
        if matches!(timer, Timer::RaftTick) {
            self.member.tick();
            self.after_step(ctx);
            self.expire(ctx);
            ctx.set_timer(self.config.tick.nanos, Timer::RaftTick);
        }
    }

    fn on_crash(&mut self) {
        self.member.crash();
        self.state = Volatile::default();
    }

    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        let st = &self.state;
        let waiting = st.writes.values().chain(st.reads.values()).chain(st.ready.iter().map(|(_, w)| w));
        waiting.map(|w| (w.client, Message::ConnectionClosed { id: w.id })).collect()
    }
}
