//! Jepsen's final reads. A history alone cannot tell a lost write from one
//! still on its way: when a run stops, a replica that lags has not applied
//! the newest writes, and the last reads it served miss them. So when a run
//! ends, the checker asks the system once more, as Jepsen's tests do.
//!
//! On a copy of the run (the run itself, its trace and its fingerprint are
//! untouched): the faults still to come are dropped; the network is healed
//! (partitions, cut and degraded links); paused processes resume and slowed
//! ones run at full speed; crashed processes stay down, since bringing one
//! back is the scenario's decision (a `restart` fault), not the checker's,
//! and skewed clocks keep their skew (it belongs to the host).
//! Clients stop their workloads and give up on requests in flight. After
//! [`QUIET_NS`] of quiet, each client reads once more every key it used
//! that anyone wrote, through its usual path, a read that fails being
//! tried again. Those *final reads* are added to the history, and lost
//! writes are judged by them: a write is lost if every final read of its
//! key misses it.
//!
//! A history that lost operations to its bound gets no final reads: they
//! would be judged against writes it does not have.

use super::Simulation;
use crate::components::client::FINAL_READ_TRIES;
use crate::components::Component;
use crate::consistency::{ConsistencyView, FinalReadsSummary};
use crate::history::{OpRecord, Outcome};
use crate::message::{NodeId, Op};
use crate::node::Status;
use crate::time::{Time, NANOS_PER_MILLI, NANOS_PER_SEC};
use std::collections::{BTreeMap, BTreeSet};

/// How long the healed system is left alone before the final reads.
pub const QUIET_NS: Time = 10 * NANOS_PER_SEC;
/// How long the final reads may take after that.
pub const READ_FOR_NS: Time = 30 * NANOS_PER_SEC;
/// Keys read at most, over all clients; the rest are counted as skipped.
pub const MAX_FINAL_READS: usize = 10_000;

/// The verdicts once the final reads are in.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalReads {
    /// The verdicts over the run's history and the final reads after it.
    pub consistency: ConsistencyView,
    /// The history index of the first final read: the run's own operations
    /// come before it, unchanged.
    pub first: usize,
    /// The final reads, in the order they were invoked.
    pub ops: Vec<OpRecord>,
}

impl Simulation {
    /// The final reads after the run as it stands now (see the module's
    /// documentation); `None` for a run whose clients' reads and writes are
    /// not checked (nothing stores them, or only Kafka runs), whose history
    /// is not whole, or that halted.
    pub fn final_reads(&self) -> Option<FinalReads> {
        if !self.consistency.checks_registers() || self.world.history.discarded() > 0 || self.world.halted.is_some() {
            return None;
        }
        let mut c = self.clone();
        let start = c.world.now;
        c.world.queue.drop_faults();
        c.world.network.heal_all();
        for i in 0..c.nodes.len() {
            if c.nodes[i].rt.status == Status::Paused {
                c.resume(i);
            }
            c.nodes[i].rt.slowdown = 1.0;
        }
        // Each client's keys that anyone wrote, in key order, within the
        // bound.
        let written: BTreeSet<u32> = c
            .world
            .history
            .ops()
            .iter()
            .filter(|r| matches!(r.op, Op::Write { .. }) && r.outcome != Outcome::Fail)
            .map(|r| r.op.key())
            .collect();
        let mut keys: BTreeMap<NodeId, BTreeSet<u32>> = BTreeMap::new();
        for rec in c.world.history.ops().iter().filter(|r| written.contains(&r.op.key())) {
            keys.entry(rec.node).or_default().insert(rec.op.key());
        }
        let (mut room, mut skipped) = (MAX_FINAL_READS, 0);
        let mut reading: Vec<(usize, Vec<u32>)> = Vec::new();
        for (node, ks) in keys {
            let i = node as usize;
            if !matches!(c.nodes[i].component, Component::Client(_)) || c.nodes[i].rt.status != Status::Up {
                skipped += ks.len();
                continue;
            }
            let take = ks.len().min(room);
            skipped += ks.len() - take;
            room -= take;
            reading.push((i, ks.into_iter().take(take).collect()));
        }
        let total: usize = reading.iter().map(|(_, ks)| ks.len()).sum();
        let first = c.world.history.ops().len();
        c.world.history.begin_final_reads(total * usize::from(FINAL_READ_TRIES));
        for (i, ks) in &reading {
            let (component, mut ctx) = c.ctx_for(*i);
            if let Component::Client(client) = component {
                client.begin_final_reads(&mut ctx, ks, QUIET_NS);
            }
        }
        let done = |c: &Simulation| {
            reading.iter().all(|(i, _)| match &c.nodes[*i].component {
                Component::Client(client) => client.final_reads_done(),
                _ => true,
            })
        };
        let (mut t, deadline) = (start + QUIET_NS, start + QUIET_NS + READ_FOR_NS);
        while t < deadline && c.world.halted.is_none() {
            t += 100 * NANOS_PER_MILLI;
            c.run_until(t);
            if done(&c) {
                break;
            }
        }
        c.check_consistency();
        let ops = c.world.history.ops()[first..].to_vec();
        let read: BTreeSet<(NodeId, u32)> =
            ops.iter().filter(|o| o.outcome == Outcome::Ok).map(|o| (o.node, o.op.key())).collect();
        let mut consistency = c.consistency.view().clone();
        consistency.final_reads =
            Some(FinalReadsSummary { after: start, keys: total + skipped, read: read.len(), skipped });
        Some(FinalReads { consistency, first, ops })
    }
}
