//! ReadIndex requests waiting for a heartbeat round to confirm that the
//! leader is still the leader (etcd's `readOnly`, for `ReadOnlySafe`).

use super::message::Message;
use super::PeerId;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct PendingRead<C> {
    /// The request as it arrived (its `from` and `context`).
    pub req: Message<C>,
    /// The commit index when it arrived: the read may be served once the
    /// state machine has applied this far.
    pub index: u64,
    acks: Vec<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct ReadOnly<C> {
    queue: VecDeque<PendingRead<C>>,
}

impl<C: Clone> ReadOnly<C> {
    pub fn new() -> ReadOnly<C> {
        ReadOnly { queue: VecDeque::new() }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues a request (a repeated context is ignored, as in etcd).
    pub fn add(&mut self, index: u64, req: Message<C>, members: usize) {
        if self.queue.iter().any(|p| p.req.context == req.context) {
            return;
        }
        self.queue.push_back(PendingRead { req, index, acks: vec![false; members] });
    }

    /// Records `from`'s heartbeat answer carrying `context`; returns how
    /// many members have confirmed that request.
    pub fn ack(&mut self, from: PeerId, context: u64) -> usize {
        match self.queue.iter_mut().find(|p| p.req.context == context) {
            Some(p) => {
                p.acks[from as usize] = true;
                p.acks.iter().filter(|a| **a).count()
            }
            None => 0,
        }
    }

    /// Releases the request with `context` and every request queued before
    /// it (a later confirmation confirms earlier ones too).
    pub fn advance(&mut self, context: u64) -> Vec<PendingRead<C>> {
        match self.queue.iter().position(|p| p.req.context == context) {
            Some(i) => self.queue.drain(..=i).collect(),
            None => Vec::new(),
        }
    }

    /// The newest request's context: heartbeats carry it.
    pub fn last_context(&self) -> Option<u64> {
        self.queue.back().map(|p| p.req.context)
    }
}
