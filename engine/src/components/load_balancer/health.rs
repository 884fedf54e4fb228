//! HAProxy's health-check state machine (`check.c:set_server_check_status`,
//! semantics.md 1.4): one counter `health` in `0..=rise+fall-1`; the server
//! is UP while `health >= rise`.
//!
//! A server starts at `health = rise`: UP before any check, but one failure
//! takes it DOWN (`fall` applies only once it has been fully UP). Any failure
//! while rising resets it to 0; successes must be consecutive.

use super::observe::OnError;
use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckParams {
    pub inter: Duration,
    pub fastinter: Duration,
    pub downinter: Duration,
    pub rise: u32,
    pub fall: u32,
}

/// What a check result did to the server's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    WentDown,
    WentUp,
    Unchanged,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    pub params: CheckParams,
    pub health: u32,
}

impl Health {
    pub fn new(params: CheckParams) -> Health {
        Health { params, health: params.rise }
    }

    fn top(&self) -> u32 {
        self.params.rise + self.params.fall - 1
    }

    pub fn is_up(&self) -> bool {
        self.health >= self.params.rise
    }

    pub fn failure(&mut self) -> Transition {
        let was_up = self.is_up();
        if self.health > 0 {
            self.health -= 1;
            if self.health < self.params.rise {
                self.health = 0;
            }
        }
        match (was_up, self.is_up()) {
            (true, false) => Transition::WentDown,
            _ => Transition::Unchanged,
        }
    }

    pub fn success(&mut self) -> Transition {
        let was_up = self.is_up();
        if self.health < self.top() {
            self.health += 1;
            if self.health >= self.params.rise {
                self.health = self.top();
            }
        }
        match (was_up, self.is_up()) {
            (false, true) => Transition::WentUp,
            _ => Transition::Unchanged,
        }
    }

    /// `error-limit` consecutive errors seen in traffic (`__health_adjust`):
    /// `fastinter` leaves the counter alone, `fail-check` counts one
    /// failed check, `sudden-death` first leaves the server one failure
    /// from DOWN, `mark-down` takes it DOWN.
    pub fn analysis_failure(&mut self, on_error: OnError) -> Transition {
        let was_up = self.is_up();
        match on_error {
            OnError::Fastinter => return Transition::Unchanged,
            OnError::FailCheck => {}
            OnError::SuddenDeath => self.health = self.health.min(self.params.rise + 1),
            OnError::MarkDown => self.health = self.params.rise,
        }
        self.failure();
        // Judged from before: `mark-down` on a rising server lifts it to
        // `rise` only to drop it to 0.
        if was_up && !self.is_up() {
            Transition::WentDown
        } else {
            Transition::Unchanged
        }
    }

    /// `srv_getinter`: the interval to the next check. Fully UP: `inter`;
    /// fully DOWN: `downinter`; in between: `fastinter`.
    pub fn interval(&self) -> Duration {
        if self.health == self.top() {
            self.params.inter
        } else if self.health == 0 {
            self.params.downinter
        } else {
            self.params.fastinter
        }
    }

    /// The counter as HAProxy's logs show it: "2/3 UP", "1/2 DOWN".
    pub fn describe(&self) -> String {
        if self.is_up() {
            format!("{}/{} UP", self.health + 1 - self.params.rise, self.params.fall)
        } else {
            format!("{}/{} DOWN", self.health, self.params.rise)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> CheckParams {
        let s = Duration::from_secs(1);
        CheckParams {
            inter: s,
            fastinter: Duration::from_millis(500),
            downinter: Duration::from_secs(5),
            rise: 2,
            fall: 3,
        }
    }

    #[test]
    fn starts_up_and_one_failure_takes_it_down() {
        let mut h = Health::new(params());
        assert!(h.is_up());
        assert_eq!(h.failure(), Transition::WentDown);
        assert_eq!(h.describe(), "0/2 DOWN");
    }

    #[test]
    fn fully_up_server_falls_after_fall_failures() {
        let mut h = Health::new(params());
        h.success();
        assert_eq!(h.describe(), "3/3 UP");
        assert_eq!(h.failure(), Transition::Unchanged);
        assert_eq!(h.describe(), "2/3 UP");
        assert_eq!(h.failure(), Transition::Unchanged);
        assert_eq!(h.describe(), "1/3 UP");
        assert_eq!(h.failure(), Transition::WentDown);
        assert_eq!(h.describe(), "0/2 DOWN");
    }

    #[test]
    fn rises_after_rise_consecutive_successes_only() {
        let mut h = Health::new(params());
        h.failure();
        assert_eq!(h.success(), Transition::Unchanged);
        assert_eq!(h.describe(), "1/2 DOWN");
        // A failure while rising resets the count.
        h.failure();
        assert_eq!(h.describe(), "0/2 DOWN");
        h.success();
        assert_eq!(h.success(), Transition::WentUp);
        assert_eq!(h.describe(), "3/3 UP");
    }

    #[test]
    fn analysis_failures_by_on_error() {
        // rise 2, fall 3: fully UP is health 4.
        let up = Health { params: params(), health: 4 };
        let after = |on_error, mut h: Health| (h.analysis_failure(on_error), h.health);
        assert_eq!(after(OnError::Fastinter, up), (Transition::Unchanged, 4));
        assert_eq!(after(OnError::FailCheck, up), (Transition::Unchanged, 3));
        // sudden-death: health 3 (rise + 1), then one failure: 2, still UP.
        assert_eq!(after(OnError::SuddenDeath, up), (Transition::Unchanged, 2));
        assert_eq!(after(OnError::SuddenDeath, Health { health: 2, ..up }), (Transition::WentDown, 0));
        assert_eq!(after(OnError::MarkDown, up), (Transition::WentDown, 0));
        // A server already DOWN stays DOWN, its rising count lost.
        assert_eq!(after(OnError::MarkDown, Health { health: 1, ..up }), (Transition::Unchanged, 0));
        assert_eq!(after(OnError::SuddenDeath, Health { health: 1, ..up }), (Transition::Unchanged, 0));
    }

    #[test]
    fn interval_depends_on_state() {
        let mut h = Health::new(params());
        assert_eq!(h.interval(), Duration::from_millis(500)); // transitional at start
        h.success();
        assert_eq!(h.interval(), Duration::from_secs(1));
        h.failure();
        assert_eq!(h.interval(), Duration::from_millis(500));
        h.failure();
        h.failure();
        assert_eq!(h.interval(), Duration::from_secs(5));
    }
}
