//! Heartbeat-based failure detection, one piece for every component that
//! watches another: a peer is *alive* while heartbeats arrive, *suspected*
//! once none came for `suspect_after`, and *down* after `timeout` (then
//! the watcher acts: promotes a replica, fences a broker). A heartbeat
//! brings it back to alive. The detector only keeps times; the component
//! sends the heartbeats and checks on its own timer, so a detector on a
//! paused or slow node sees the world late, as a real one does.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    Alive,
    Suspected,
    Down,
}

impl Liveness {
    pub fn name(self) -> &'static str {
        match self {
            Liveness::Alive => "alive",
            Liveness::Suspected => "suspected",
            Liveness::Down => "down",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detector {
    /// Silence after which the peer is suspected.
    pub suspect_after: i64,
    /// Silence after which it is down; longer than `suspect_after`.
    pub timeout: i64,
    /// The last heartbeat, on the watcher's monotonic clock.
    last_heard: i64,
    state: Liveness,
}

impl Detector {
    /// Starts watching at `now`, counting the peer as just heard from.
    pub fn new(suspect_after_ns: u64, timeout_ns: u64, now: i64) -> Detector {
        assert!(suspect_after_ns <= timeout_ns, "suspicion comes before the timeout");
        Detector {
            suspect_after: suspect_after_ns as i64,
            timeout: timeout_ns as i64,
            last_heard: now,
            state: Liveness::Alive,
        }
    }

    pub fn heard(&mut self, now: i64) {
        self.last_heard = self.last_heard.max(now);
        self.state = Liveness::Alive;
    }

    /// Records a heartbeat at `now` without revising the verdict: the state
    /// changes at the next `check`. For a watcher that, like Redis
    /// Sentinel, only changes its mind on its own timer (a reply clears
    /// `+sdown` at the next periodic check, not when it arrives).
    pub fn heard_unchecked(&mut self, now: i64) {
        self.last_heard = self.last_heard.max(now);
    }

    /// How long the peer has been silent.
    pub fn silence(&self, now: i64) -> i64 {
        now - self.last_heard
    }

    pub fn state(&self) -> Liveness {
        self.state
    }

    /// Re-evaluates at `now`; returns the new state if it changed. A peer is
    /// down once its silence *exceeds* the timeout.
    pub fn check(&mut self, now: i64) -> Option<Liveness> {
        let silence = self.silence(now);
        let next = if silence > self.timeout {
            Liveness::Down
        } else if silence > self.suspect_after {
            Liveness::Suspected
        } else {
            Liveness::Alive
        };
        (next != self.state).then(|| {
            self.state = next;
            next
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_suspected_down_and_back() {
        let mut d = Detector::new(200, 1000, 0);
        assert_eq!(d.check(200), None, "silence must exceed the threshold");
        assert_eq!(d.check(201), Some(Liveness::Suspected));
        assert_eq!(d.check(900), None);
        assert_eq!(d.check(1001), Some(Liveness::Down));
        d.heard(1100);
        assert_eq!(d.state(), Liveness::Alive);
        assert_eq!(d.check(1200), None);
        // A heartbeat delivered late (older than the last) does not rewind.
        d.heard(1000);
        assert_eq!(d.silence(1300), 200);
    }

    #[test]
    fn an_unchecked_heartbeat_changes_the_state_only_at_the_next_check() {
        let mut d = Detector::new(200, 1000, 0);
        assert_eq!(d.check(1001), Some(Liveness::Down));
        d.heard_unchecked(1100);
        assert_eq!(d.state(), Liveness::Down, "still down until checked");
        assert_eq!(d.silence(1150), 50);
        assert_eq!(d.check(1150), Some(Liveness::Alive));
        d.heard_unchecked(900);
        assert_eq!(d.silence(1150), 50, "a late heartbeat does not rewind");
    }
}
