//! An operator's commands to a running process: promote a database or a
//! Redis replica, `REPLICAOF`, HAProxy's runtime API (`set server ...
//! state`, `weight`). They travel over a connection to the process, as
//! `redis-cli` and `socat` do: a paused process (SIGSTOP) takes them when
//! it resumes, in order with what else waited for it; a dead one refuses
//! the connection, and the command does nothing.

use super::Simulation;
use crate::components::database::promotion::Promotion;
use crate::components::Component;
use crate::fault::Fault;
use crate::message::NodeId;
use crate::node::{Deferred, Status};
use crate::trace::{Note, What};

impl Simulation {
    /// The scenario's fault `index`, an operator's command to `node`, takes
    /// effect now.
    pub(super) fn operator_command(&mut self, node: NodeId, index: u32) {
        let i = node as usize;
        match self.nodes[i].rt.status {
            Status::Up => self.run_operator_command(index),
            Status::Paused => self.nodes[i].rt.deferred.push_back(Deferred::Command { index }),
            Status::Crashed { .. } => {
                let now = self.world.now;
                self.world.record(now, What::Note { node, note: Note::CommandRefused });
            }
        }
    }

    /// Runs the command of fault `index` in its (running) process.
    pub(super) fn run_operator_command(&mut self, index: u32) {
        let fault = self.faults[index as usize].fault.clone();
        let (Fault::Promote { node }
        | Fault::ReplicaOf { node, .. }
        | Fault::SetServerState { node, .. }
        | Fault::SetServerWeight { node, .. }) = fault
        else {
            unreachable!("fault {index} is not an operator's command")
        };
        let i = node as usize;
        let name = self.nodes[i].name.clone();
        let (component, mut ctx) = self.ctx_for(i);
        match (fault, component) {
            (Fault::Promote { .. }, Component::Database(db)) => db.promote(&mut ctx, Promotion::Operator),
            (Fault::Promote { .. }, Component::Cache(c)) => c.promote(&mut ctx),
            (Fault::ReplicaOf { primary, .. }, Component::Cache(c)) => c.replicaof(&mut ctx, primary),
            (Fault::SetServerState { server, state, .. }, Component::LoadBalancer(lb)) => {
                lb.set_server_state(&mut ctx, &name, &server, state)
            }
            (Fault::SetServerWeight { server, weight, .. }, Component::LoadBalancer(lb)) => {
                lb.set_server_weight(&mut ctx, &name, &server, weight)
            }
            // Validation refuses a command to a node of another kind.
            _ => {}
        }
    }
}
