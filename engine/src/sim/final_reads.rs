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
//! Kafka runs get Jepsen's *final polls*: producers stop (what they had in
//! flight stays indeterminate), and after the quiet each consumer leaves
//! its group and reads every partition of its topic from offset 0 until a
//! fetch finds it at the high watermark. An acknowledged record is then
//! lost if the partition's log no longer holds it: another value at its
//! offset, or the log ends before it (a consumer that had read it before
//! a power loss could not tell).
//!
//! A history that lost operations to its bound gets no final reads: they
//! would be judged against writes it does not have.

use super::Simulation;
use crate::components::client::FINAL_READ_TRIES;
use crate::components::Component;
use crate::consistency::{ConsistencyView, FinalPollsSummary, FinalReadsSummary};
use crate::history::{LogRecord, OpRecord, Outcome};
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
/// Records the final polls may return in all; beyond it the history is
/// over its bound and the run gets no final polls.
pub const MAX_FINAL_POLL_RECORDS: usize = 2_000_000;

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
    /// The Kafka clients' operations after the run: the final polls (and
    /// any poll of the quiet before them).
    pub log_ops: Vec<LogRecord>,
}

/// The final reads under way.
struct FinalReadsBegun {
    /// Where they begin in the history.
    first: usize,
    /// The clients reading.
    readers: Vec<usize>,
    /// Keys to read, and keys skipped.
    total: usize,
    skipped: usize,
}

impl Simulation {
    /// The final reads (and polls) after the run as it stands now (see the
    /// module's documentation); `None` for a run whose clients' operations
    /// are not checked, whose history is not whole, or that halted.
    pub fn final_reads(&self) -> Option<FinalReads> {
        let registers = self.consistency.checks_registers() && self.world.history.discarded() == 0;
        let logs = self.consistency.checks_logs() && self.world.log_history.discarded() == 0;
        if !(registers || logs) || self.world.halted.is_some() {
            return None;
        }
        let mut c = self.clone();
        let start = c.world.now;
        c.world.queue.drop_faults();
        c.world.network.heal_all();
        let held = c.world.held.release_all();
        c.deliver_held(held);
        for i in 0..c.nodes.len() {
            if c.nodes[i].rt.status == Status::Paused {
                c.resume(i);
            }
            c.nodes[i].rt.slowdown = 1.0;
        }
        let reads = registers.then(|| c.begin_final_reads());
        if logs {
            for i in 0..c.nodes.len() {
                let (component, mut ctx) = c.ctx_for(i);
                if let Component::KafkaProducer(p) = component {
                    p.give_up(&mut ctx);
                }
            }
        }
        // The quiet.
        c.run_until(start + QUIET_NS);
        let consumers = if logs { c.begin_final_polls() } else { Vec::new() };
        let readers = reads.as_ref().map_or(&[][..], |r| &r.readers[..]);
        let done = |c: &Simulation| {
            let read = readers.iter().all(|&i| match &c.nodes[i].component {
                Component::Client(client) => client.final_reads_done(),
                _ => true,
            });
            read && consumers.iter().all(|&i| match &c.nodes[i].component {
                Component::KafkaConsumer(k) => k.final_polls_done(),
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
        let first = reads.as_ref().map_or(c.world.history.ops().len(), |r| r.first);
        let ops = c.world.history.ops()[first..].to_vec();
        let log_ops = c.world.log_history.ops()[self.world.log_history.ops().len()..].to_vec();
        let mut consistency = c.consistency.view().clone();
        if logs {
            match c.end_final_polls(start, &consumers) {
                Some(view) => consistency = view,
                // Over the bound: no verdict from them.
                None => consistency.log = self.consistency.view().log.clone(),
            }
        }
        if let Some(FinalReadsBegun { total, skipped, .. }) = reads {
            let read: BTreeSet<(NodeId, u32)> =
                ops.iter().filter(|o| o.outcome == Outcome::Ok).map(|o| (o.node, o.op.key())).collect();
            consistency.final_reads =
                Some(FinalReadsSummary { after: start, keys: total + skipped, read: read.len(), skipped });
        }
        Some(FinalReads { consistency, first, ops, log_ops })
    }

    /// Stops the clients and schedules their final reads after the quiet.
    fn begin_final_reads(&mut self) -> FinalReadsBegun {
        let c = self;
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
        FinalReadsBegun { first, readers: reading.iter().map(|r| r.0).collect(), total, skipped }
    }

    /// Every consumer that is up begins its final polls; returns them.
    fn begin_final_polls(&mut self) -> Vec<usize> {
        let sends = self.world.log_history.ops().len();
        self.world
            .log_history
            .begin_final_polls(sends.saturating_mul(2).saturating_add(10_000).min(MAX_FINAL_POLL_RECORDS));
        let mut consumers = Vec::new();
        for i in 0..self.nodes.len() {
            if self.nodes[i].rt.status != Status::Up {
                continue;
            }
            let (component, mut ctx) = self.ctx_for(i);
            if let Component::KafkaConsumer(k) = component {
                k.begin_final_polls(&mut ctx);
                consumers.push(i);
            }
        }
        consumers
    }

    /// The verdicts with the final polls, or `None` if they overflowed the
    /// history's bound.
    fn end_final_polls(&mut self, start: Time, consumers: &[usize]) -> Option<ConsistencyView> {
        let history = &self.world.log_history;
        if history.discarded() > 0 {
            return None;
        }
        let mut ends = BTreeMap::new();
        let mut partitions = BTreeSet::new();
        for &i in consumers {
            if let Component::KafkaConsumer(k) = &self.nodes[i].component {
                partitions.extend(k.partitions());
                ends.extend(k.final_ends());
            }
        }
        let records = ends.values().sum();
        let summary = FinalPollsSummary { after: start, partitions: partitions.len(), read: ends.len(), records };
        self.consistency.final_polls(history, &ends, summary);
        Some(self.consistency.view().clone())
    }
}
