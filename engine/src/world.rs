//! Everything a run holds apart from the nodes themselves: the clock, the
//! event queue, the network, and the records (trace, metrics, history).
//! Kept apart from the nodes so a node's handler can borrow both.

use crate::history::History;
use crate::message::{Message, NodeId};
use crate::metrics::Metrics;
use crate::network::{Network, Transmission};
use crate::queue::{Event, EventQueue, TimerId};
use crate::time::Time;
use crate::trace::{Trace, What};

#[derive(Clone, Debug)]
pub struct World {
    pub now: Time,
    pub queue: EventQueue,
    pub network: Network,
    pub trace: Trace,
    pub metrics: Metrics,
    pub history: History,
    pub(crate) next_timer: TimerId,
    /// Set when a limit stopped the run; the run makes no further progress.
    pub halted: Option<String>,
}

impl World {
    /// Puts a message on the wire and schedules its delivery (twice if the
    /// link duplicates it).
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: Message) {
        let now = self.now;
        match self.network.transmit(now, from, to) {
            Transmission::Lost(reason) => {
                self.trace.record(now, What::Send { from, to, msg, arrives: None });
                self.trace.record(now, What::Drop { from, to, msg, reason });
            }
            Transmission::Arrives { at, duplicate_at } => {
                self.trace.record(now, What::Send { from, to, msg, arrives: Some(at) });
                self.schedule(at, Event::Deliver { from, to, sent_at: now, msg });
                if let Some(at) = duplicate_at {
                    self.trace.record(now, What::Send { from, to, msg, arrives: Some(at) });
                    self.schedule(at, Event::Deliver { from, to, sent_at: now, msg });
                }
            }
        }
    }

    pub fn schedule(&mut self, at: Time, event: Event) {
        debug_assert!(at >= self.now, "no event in the past");
        if let Err(full) = self.queue.push(at, event) {
            self.halted.get_or_insert_with(|| {
                format!(
                    "stopped: more than {} events were pending at once (limits.pending_events); \
                     the scenario generates work faster than it completes it",
                    full.limit
                )
            });
        }
    }
}
