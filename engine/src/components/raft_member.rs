//! What a component does to run one member of a Raft group: it keeps the
//! member's disk (term, vote, commit index and log, written before any
//! message leaves, so a crash loses nothing of it), restarts the state
//! machine from it, ticks it, steps the messages that arrive and sends the
//! ones it queues. Used by the `raft_kv` store and the Kafka controllers.

use crate::components::raft_kv::wire::{self, CommandId};
use crate::context::Ctx;
use crate::follow::Carrier;
use crate::message::{Message, NodeId, RaftWire, Timer};
use crate::raft::{Config, Dropped, MsgType, PeerId, Persisted, Raft, Role, RoleCause};
use crate::rng::Rng;
use crate::time::Time;
use crate::trace::{Note, RaftBound};

#[derive(Clone, Debug)]
pub struct RaftMember {
    /// This member's index among `members`.
    pub me: PeerId,
    /// Every member of the group, in order, as nodes.
    pub members: Vec<NodeId>,
    /// What survives a crash.
    pub disk: Persisted<CommandId>,
    /// The running state machine; `None` while the process is down.
    pub raft: Option<Raft<CommandId>>,
    /// The role and term last noted in the trace, and since when; reset
    /// at each start, so a restarted member notes its role again.
    reported: Option<(Role, u64, Time)>,
}

impl RaftMember {
    pub fn new(me: PeerId, members: Vec<NodeId>) -> RaftMember {
        RaftMember { me, members, disk: Persisted::new(), raft: None, reported: None }
    }

    /// (Re)starts the state machine from the disk, with randomness of its
    /// own (its election timeouts).
    pub fn start(&mut self, ctx: &mut Ctx, config: Config) {
        let seed = ctx.rng().next_u64();
        let rng = Rng::stream(seed, u64::from(self.me));
        self.raft = Some(Raft::restart(self.me, self.members.len(), config, self.disk.clone(), rng));
        self.reported = None;
    }

    /// Notes a change of the running member's role or term in the trace,
    /// with its cause. True if the term changed since an earlier note (a
    /// new term, not the first note after a start).
    pub fn note_role(&mut self, ctx: &mut Ctx) -> bool {
        let Some(r) = &self.raft else { return false };
        let (role, term) = (r.role, r.term);
        if self.reported.is_some_and(|(ro, t, _)| (ro, t) == (role, term)) {
            return false;
        }
        let cause = self.named(r.cause);
        let old_term = self.reported.map(|(_, t, _)| t);
        self.reported = Some((role, term, ctx.now()));
        ctx.note(Note::RaftRole { role, term, cause });
        old_term.is_some_and(|t| t != term)
    }

    /// Why the running member has its role, and since when.
    pub fn role_cause(&self) -> Option<(RoleCause<NodeId>, Time)> {
        let r = self.raft.as_ref()?;
        let (_, _, since) = self.reported?;
        Some((self.named(r.cause), since))
    }

    /// Sets the first tick timer. Members start (and restart) at different
    /// moments, so their ticks are not in step: the first comes after a
    /// random part of a tick (in step, two members would often campaign at
    /// the same instant, and split votes be far likelier than in etcd).
    pub fn first_tick(ctx: &mut Ctx, tick_ns: u64) {
        let phase = ctx.rng().between(1, tick_ns);
        ctx.set_timer(phase, Timer::RaftTick);
    }

    /// Steps a Raft message from node `from`; false if `from` is not a
    /// member or this one is down. What Raft drops (a forwarded proposal
    /// with no leader to take it) is lost, as in etcd: its client times
    /// out.
    pub fn receive(&mut self, ctx: &mut Ctx, from: NodeId, w: &RaftWire) -> bool {
        let Some(peer) = self.members.iter().position(|&n| n == from) else { return false };
        let Some(raft) = self.raft.as_mut() else { return false };
        if let Err(dropped) = raft.step(wire::decode(w, peer as PeerId, self.me)) {
            self.note_refused(ctx, dropped);
        }
        true
    }

    /// Notes a request Raft turned away because one of its bounds was
    /// reached. (One dropped for want of a leader is not noted: the role
    /// notes say there is none.)
    pub fn note_refused(&self, ctx: &mut Ctx, dropped: Dropped) {
        let Some(r) = &self.raft else { return };
        let (bound, limit) = match dropped {
            Dropped::LogFull => (RaftBound::MaxLogEntries, r.config().max_log_entries),
            Dropped::TooManyReads => (RaftBound::MaxPendingReads, r.config().max_pending_reads),
            Dropped::NoLeader => return,
        };
        ctx.note(Note::RaftRefused { bound, limit: limit as u32 });
    }

    pub fn tick(&mut self) {
        if let Some(raft) = self.raft.as_mut() {
            raft.tick();
        }
    }

    /// Sends the messages Raft queued.
    pub fn send_queued(&mut self, ctx: &mut Ctx) {
        let Some(raft) = self.raft.as_mut() else { return };
        for m in raft.drain_messages() {
            ctx.send(self.members[m.to as usize], Message::Raft(wire::encode(&m)));
        }
    }

    /// Sends the messages Raft queued, for a group that client operations
    /// go through: each message belongs to the operation one of its
    /// entries' commands or its read context carries, if any (see
    /// [`Ctx::carried_by`]), and an append's acknowledgement to the
    /// operation of the append it answers; what the member does next
    /// belongs to none.
    pub fn send_queued_for_ops(&mut self, ctx: &mut Ctx) {
        let Some(raft) = self.raft.as_mut() else { return };
        let (following, handling) = (ctx.following(), ctx.current_op());
        for m in raft.drain_messages() {
            if following {
                if m.kind == MsgType::AppResp && !m.reject {
                    ctx.resume_op(handling);
                } else {
                    let entries = m.entries.iter().filter_map(|e| e.data).map(u64::from);
                    let context = (m.context != 0).then_some(m.context);
                    ctx.work_for_carried(entries.chain(context).map(Carrier::Raft));
                }
            }
            ctx.send(self.members[m.to as usize], Message::Raft(wire::encode(&m)));
        }
        ctx.work_for_none();
    }

    /// A role change's cause with the members named as nodes, for the trace.
    pub fn named(&self, cause: RoleCause<PeerId>) -> RoleCause<NodeId> {
        cause.map(|p| self.members[p as usize])
    }

    /// The process died: the disk holds exactly the last state.
    pub fn crash(&mut self) {
        if let Some(raft) = self.raft.take() {
            self.disk = raft.persisted();
        }
    }
}
