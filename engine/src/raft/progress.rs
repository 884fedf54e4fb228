//! The leader's view of one follower (etcd's `tracker.Progress`).

use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// The leader does not know where the follower's log matches: one
    /// append at a time, then wait for its answer or the next heartbeat.
    Probe,
    /// The follower is known to match: stream appends, up to the in-flight
    /// limit.
    Replicate,
    /// The follower needs entries compacted away: a snapshot was sent;
    /// nothing more until it is acknowledged.
    Snapshot,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The highest index known to match the leader's log.
    pub matched: u64,
    /// The next index to send.
    pub next: u64,
    pub state: ProgressState,
    /// In `Probe`: an append was sent and is not yet answered.
    pub probe_sent: bool,
    /// Heard from since the last check-quorum round.
    pub recent_active: bool,
    /// In `Snapshot`: the index of the snapshot sent, and the heartbeats
    /// answered since.
    pub pending_snapshot: u64,
    pub heartbeats_since_snapshot: u32,
    /// In `Replicate`: the last index of each append in flight.
    inflights: VecDeque<u64>,
    max_inflight: usize,
}

impl Progress {
    pub fn new(next: u64, max_inflight: usize) -> Progress {
        Progress {
            matched: 0,
            next,
            state: ProgressState::Probe,
            probe_sent: false,
            recent_active: false,
            pending_snapshot: 0,
            heartbeats_since_snapshot: 0,
            inflights: VecDeque::new(),
            max_inflight,
        }
    }

    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflights.len() >= self.max_inflight,
            ProgressState::Snapshot => true,
        }
    }

    pub fn inflight(&self) -> usize {
        self.inflights.len()
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.state = state;
        self.probe_sent = false;
        self.pending_snapshot = 0;
        self.heartbeats_since_snapshot = 0;
        self.inflights.clear();
    }

    pub fn become_probe(&mut self) {
        // After a snapshot, probe from beyond it (etcd's `BecomeProbe`).
        let after = if self.state == ProgressState::Snapshot { self.pending_snapshot + 1 } else { 0 };
        self.reset_state(ProgressState::Probe);
        self.next = (self.matched + 1).max(after);
    }

    pub fn become_snapshot(&mut self, index: u64) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = index;
    }

    pub fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched + 1;
    }

    /// An append up to `last` was sent.
    pub fn sent(&mut self, last: u64) {
        match self.state {
            ProgressState::Replicate => {
                self.next = last + 1;
                self.inflights.push_back(last);
            }
            ProgressState::Probe => self.probe_sent = true,
            ProgressState::Snapshot => {}
        }
    }

    /// The follower acknowledged entries up to `n`; false if that is old news.
    pub fn maybe_update(&mut self, n: u64) -> bool {
        let updated = self.matched < n;
        if updated {
            self.matched = n;
            self.probe_sent = false;
        }
        self.next = self.next.max(n + 1);
        updated
    }

    /// Frees the in-flight slots of appends up to `index`.
    pub fn free_le(&mut self, index: u64) {
        while self.inflights.front().is_some_and(|&i| i <= index) {
            self.inflights.pop_front();
        }
    }

    /// A heartbeat answer frees one slot, so a follower whose answers were
    /// lost is not stuck forever.
    pub fn free_first_one(&mut self) {
        self.inflights.pop_front();
    }

    /// The follower refused an append at `rejected`, its last index being
    /// `hint`; false if the refusal is stale.
    pub fn maybe_decr_to(&mut self, rejected: u64, hint: u64) -> bool {
        match self.state {
            ProgressState::Replicate => {
                if rejected <= self.matched {
                    return false;
                }
                self.next = self.matched + 1;
                true
            }
            ProgressState::Probe | ProgressState::Snapshot => {
                if self.next.saturating_sub(1) != rejected {
                    return false;
                }
                self.next = rejected.min(hint + 1).max(1);
                self.probe_sent = false;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_sends_one_append_at_a_time() {
        let mut p = Progress::new(5, 4);
        assert!(!p.is_paused());
        p.sent(7);
        assert!(p.is_paused());
        assert_eq!(p.next, 5, "probe does not advance next");
        assert!(p.maybe_decr_to(4, 2));
        assert_eq!(p.next, 3);
        assert!(!p.is_paused());
        assert!(!p.maybe_decr_to(4, 2), "stale refusal");
    }

    #[test]
    fn replicating_streams_up_to_the_inflight_limit() {
        let mut p = Progress::new(1, 2);
        assert!(p.maybe_update(3));
        p.become_replicate();
        assert_eq!(p.next, 4);
        p.sent(5);
        p.sent(7);
        assert!(p.is_paused());
        assert_eq!(p.next, 8);
        p.free_le(5);
        assert!(!p.is_paused());
        assert_eq!(p.inflight(), 1);
        assert!(!p.maybe_decr_to(2, 0), "refusal below match is stale");
        assert!(p.maybe_decr_to(6, 4));
        assert_eq!(p.next, 4);
    }
}
