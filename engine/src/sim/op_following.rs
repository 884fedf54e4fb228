//! Following one operation from an earlier state, a piece at a time: the
//! lab re-simulates from a checkpoint over several frames (up to a second
//! of work late in a long run), so the page keeps answering meanwhile.
//! [`Simulation::follow_op`] is the same done at once.

use super::op_path::{OpPath, AFTER_COMPLETION};
use super::Simulation;
use crate::follow::OpIndex;
use crate::time::{format_time, Time, NANOS_PER_SEC};

#[derive(Clone, Debug)]
pub struct OpFollowing {
    sim: Simulation,
    op: OpIndex,
    /// The present of the run the state was taken from.
    limit: Time,
    /// Where following stops: `limit`, or earlier once the operation has
    /// completed ([`AFTER_COMPLETION`] after it).
    end: Time,
    /// Where following started, for [`OpFollowing::progress`].
    start: Time,
}

impl OpFollowing {
    /// Starts following operation `op` from `sim`, a state of the run
    /// taken before the operation was invoked, up to `limit`. `Err` if
    /// `sim` is later than its invocation.
    pub fn new(mut sim: Simulation, op: OpIndex, limit: Time) -> Result<OpFollowing, String> {
        if sim.followable_len().0 > op as usize {
            return Err(format!("operation {op} was invoked before this state ({})", format_time(sim.now())));
        }
        sim.follow(Some(op));
        let start = sim.now();
        Ok(OpFollowing { sim, op, limit, end: limit, start })
    }

    pub fn op(&self) -> OpIndex {
        self.op
    }

    /// True once the operation has been followed to its end (or to
    /// `limit`, or the run halted).
    pub fn is_done(&self) -> bool {
        self.sim.now() >= self.end || self.sim.world.halted.is_some()
    }

    /// Simulated time covered so far and the most there is to cover (less
    /// if the operation completes early), for a progress bar.
    pub fn progress(&self) -> (Time, Time) {
        (self.sim.now().min(self.end) - self.start, self.end - self.start)
    }

    /// Follows on for at most `max_events` events; true once done. Where
    /// the pieces end changes nothing in the path.
    pub fn advance(&mut self, max_events: u64) -> bool {
        let budget_end = self.sim.events().saturating_add(max_events);
        while !self.is_done() {
            let left = budget_end.saturating_sub(self.sim.events());
            if left == 0 {
                return false;
            }
            // A simulated second at a time, until the operation has
            // completed and a little more. The events at `limit` too: the
            // run the state was taken from may have processed them (a
            // step, a seek, the run's end).
            let next = self.sim.now().saturating_add(NANOS_PER_SEC);
            let through_limit = next >= self.limit && self.end == self.limit;
            let target = if through_limit { self.limit.saturating_add(1) } else { next.min(self.end) };
            let reached = self.sim.run_until_budget(target, left);
            // Seen at once, even part way, so that no later piece runs
            // past the end.
            if let Some(done) = self.sim.followable_op(self.op).and_then(|s| s.complete) {
                self.end = self.end.min(done.saturating_add(AFTER_COMPLETION));
            }
            if !reached {
                return self.sim.world.halted.is_some();
            }
            if through_limit {
                // As `run_through`: the clock reads the limit itself.
                self.sim.run_through(self.limit);
            }
        }
        true
    }

    /// The path, once done (before that: as far as it has been followed).
    pub fn path(&self) -> Result<OpPath, String> {
        self.sim.op_path(self.op).ok_or_else(|| self.sim.not_followable(self.op))
    }
}

impl Simulation {
    /// Follows operation `op` from this state until it has completed and
    /// [`AFTER_COMPLETION`] more, or up to `limit` (the present of the run
    /// this state was taken from) and the events at it, and returns its
    /// path. `Err` says why it cannot: the state is later than the
    /// operation's invocation, or the history does not hold it.
    pub fn follow_op(self, op: OpIndex, limit: Time) -> Result<OpPath, String> {
        let mut following = OpFollowing::new(self, op, limit)?;
        following.advance(u64::MAX);
        following.path()
    }
}
