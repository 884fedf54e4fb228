//! A node: one component (a pure state machine) plus what the engine keeps
//! about it (up or down, its clock, its randomness, its load).

use crate::clock::Clock;
use crate::components::Component;
use crate::context::Ctx;
use crate::message::{Message, NodeId, Timer};
use crate::metrics::LoadGauge;
use crate::queue::TimerId;
use crate::rng::Rng;
use crate::time::Time;
use serde::Serialize;
use std::collections::VecDeque;

/// What every component implements. Handlers act only through the context:
/// they send, set and cancel timers, read their own clocks, draw randomness
/// and record metrics and history. No I/O, no global state.
pub trait Process {
    /// Called when the node starts and again when it restarts after a
    /// crash (after [`Process::on_crash`] dropped its volatile state).
    fn on_start(&mut self, ctx: &mut Ctx);
    fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message);
    fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer);
    /// The process died: keep only what it had persisted.
    fn on_crash(&mut self);
    /// The host lost power (after [`Process::on_crash`], or later if the
    /// process was already dead) at `monotonic`, its clock: what was
    /// written but not yet on disk is gone. Only a process that leaves its
    /// writes in the page cache has anything to lose here; one that
    /// fsyncs before it answers, or keeps nothing on disk, does not.
    fn on_power_loss(&mut self, _monotonic: Time) {}
    /// What the host's kernel sends when this process dies (called just
    /// before [`Process::on_crash`]): for each request or HTTP health check
    /// it had taken and not answered, a [`Message::ConnectionClosed`] or
    /// [`Message::CheckClosed`] to its sender, since exiting closes the
    /// process's sockets. A powered-off host sends nothing.
    fn closed_by_crash(&self) -> Vec<(NodeId, Message)> {
        Vec::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Up,
    /// The process is dead. If `host_down` is false the host still answers
    /// connections with a reset (connection refused); if true, nothing
    /// answers at all (a powered-off machine).
    Crashed {
        host_down: bool,
    },
    /// Stopped, as with SIGSTOP: state kept, nothing processed; arriving
    /// messages and due timers wait until it resumes.
    Paused,
}

/// Work a paused node owes: handled in order when it resumes.
#[derive(Clone, Debug)]
pub enum Deferred {
    /// `op`: the operation it belongs to, when following (see `crate::follow`).
    Message {
        from: NodeId,
        sent_at: Time,
        msg: Message,
        op: Option<crate::follow::OpIndex>,
    },
    Timer {
        id: TimerId,
        timer: Timer,
        op: Option<crate::follow::OpIndex>,
    },
    /// An operator's command (the scenario's fault `index`): it waits in
    /// the process's socket (Redis's port, HAProxy's admin socket).
    Command {
        index: u32,
    },
}

/// The engine's record of a node, beside its component.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub status: Status,
    /// Bumped at every crash: timers set by an earlier incarnation never fire.
    pub incarnation: u32,
    pub clock: Clock,
    /// Service-time factor (1 = normal; 3 = three times slower).
    pub slowdown: f64,
    pub rng: Rng,
    pub load: LoadGauge,
    pub deferred: VecDeque<Deferred>,
    /// Messages among `deferred` (bounded by `limits.paused_backlog`).
    pub deferred_messages: usize,
    pub restarts: u32,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub component: Component,
    pub rt: Runtime,
}
