//! A nemesis, as Jepsen calls the part of a test that breaks things: faults
//! drawn at random from a seed, started and stopped at random moments, so a
//! run meets failures nobody thought to schedule by hand.
//!
//! The plan is written out as ordinary scheduled faults. A learner sees each
//! one on the timeline, can move or delete it, and a share link carries it
//! like any other fault; nothing in the run itself is random beyond what the
//! scenario's seed already decides.
//!
//! As in Jepsen's tutorial and its `gen/stagger`: operations come one after
//! another, each a uniformly random delay of 0 to twice `interval` after the
//! last, alternating between starting a fault and stopping it. At `until`,
//! whatever is still broken is mended, so the run ends whole.

use super::{Fault, ScheduledFault};
use crate::clock::Offset;
use crate::components::Kind;
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::time::{Duration, NANOS_PER_MILLI};
use std::fmt;

/// What a nemesis may break, in Jepsen's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NemesisFault {
    /// Cut the targets in two: one of them alone, or a random majority from
    /// the rest (Jepsen's `:one` and `:majority` partition targets). Nodes
    /// that are not targets, such as clients, still reach every node.
    Partition,
    /// Jepsen's `:majorities-ring` partition: every target still reaches a
    /// majority of the targets (itself included), but no two see the same
    /// majority. In a random ring of the targets each reaches the nearest
    /// on both sides; a leader can then be cut off from a member that
    /// others still hear, the partial partition Raft's PreVote and
    /// CheckQuorum are for. Needs four targets or more.
    MajoritiesRing,
    /// Kill one target's process (`kill -9`), then start it again.
    Kill,
    /// Stop one target's process (`SIGSTOP`), then resume it.
    Pause,
    /// Set one target's wall clock 4 ms to 262 s off (a power of two, as
    /// Jepsen's clock bump), then back to true time.
    Clock,
}

impl NemesisFault {
    pub const ALL: [NemesisFault; 5] = [
        NemesisFault::Partition,
        NemesisFault::MajoritiesRing,
        NemesisFault::Kill,
        NemesisFault::Pause,
        NemesisFault::Clock,
    ];

    /// The command line's choice when it is given none: every fault but
    /// the majorities ring, which needs four targets.
    pub const DEFAULT: [NemesisFault; 4] =
        [NemesisFault::Partition, NemesisFault::Kill, NemesisFault::Pause, NemesisFault::Clock];

    pub fn name(self) -> &'static str {
        match self {
            NemesisFault::Partition => "partition",
            NemesisFault::MajoritiesRing => "majorities-ring",
            NemesisFault::Kill => "kill",
            NemesisFault::Pause => "pause",
            NemesisFault::Clock => "clock",
        }
    }

    pub fn parse(text: &str) -> Result<NemesisFault, String> {
        NemesisFault::ALL.into_iter().find(|f| f.name() == text).ok_or_else(|| {
            format!("`{text}` is not a nemesis fault; the faults are partition, majorities-ring, kill, pause and clock")
        })
    }

    /// A comma-separated list, as the command line takes it: `partition,kill`.
    pub fn parse_list(text: &str) -> Result<Vec<NemesisFault>, String> {
        let mut faults = Vec::new();
        for word in text.split(',').map(str::trim) {
            let f = NemesisFault::parse(word)?;
            if !faults.contains(&f) {
                faults.push(f);
            }
        }
        Ok(faults)
    }
}

impl fmt::Display for NemesisFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fewest milliseconds between two operations, on average. Shorter, and
/// a fault would be mended before any timeout could notice it.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// At most this many faults started in one plan (each is also stopped; a
/// partition is written as three scheduled faults, the others as two).
pub const MAX_NEMESIS_FAULTS: usize = 1000;

/// The stream of the scenario's seed a nemesis draws from; apart from every
/// node's and link's, so planning faults shifts no other random draw.
const STREAM_NEMESIS: u64 = 4 << 40;

/// What to break, whom, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Nemesis {
    pub faults: Vec<NemesisFault>,
    /// The nodes a fault may strike (by name).
    pub targets: Vec<String>,
    /// Nothing before this moment of the run...
    pub from: Duration,
    /// ...and everything mended at this one.
    pub until: Duration,
    /// The mean time between one operation and the next.
    pub interval: Duration,
}

impl Nemesis {
    /// The nodes a nemesis strikes unless told otherwise: every node but the
    /// clients (HTTP clients, Kafka producers and consumers), as Jepsen
    /// strikes the database's nodes and not its own clients.
    pub fn default_targets(scenario: &Scenario) -> Vec<String> {
        let client = |k: Kind| matches!(k, Kind::Client | Kind::KafkaProducer | Kind::KafkaConsumer);
        scenario.nodes.iter().filter(|n| !client(n.component.kind())).map(|n| n.name.clone()).collect()
    }

    /// Adds the plan drawn from `scenario`'s seed to its faults (kept in
    /// time order), which are then checked as any scenario's are. On an error the scenario is left
    /// as it was. Returns how many faults were added.
    pub fn add_to(&self, scenario: &mut Scenario) -> Result<usize, String> {
        if let Some(t) = self.targets.iter().find(|t| !scenario.nodes.iter().any(|n| &n.name == *t)) {
            return Err(format!("the nemesis's target `{t}` is not a node of this scenario"));
        }
        let plan = self.plan(scenario.seed)?;
        let added = plan.len();
        let mut with = scenario.clone();
        with.faults.extend(plan);
        // In time order, as a person would write them; a stable sort keeps
        // the order of faults at the same moment, which is their order in
        // the run.
        with.faults.sort_by_key(|f| f.at);
        with.validate().map_err(|e| e.to_string())?;
        *scenario = with;
        Ok(added)
    }

    /// Checks the plan's inputs, with a message saying which is wrong.
    fn check(&self) -> Result<(), String> {
        if self.faults.is_empty() {
            return Err("choose at least one fault for the nemesis".into());
        }
        if self.targets.is_empty() {
            return Err("the nemesis has no nodes to strike".into());
        }
        if self.faults.contains(&NemesisFault::Partition) && self.targets.len() < 2 {
            return Err(format!("a partition needs at least two target nodes; there is only `{}`", self.targets[0]));
        }
        if self.faults.contains(&NemesisFault::MajoritiesRing) && self.targets.len() < 4 {
            return Err(format!(
                "a majorities ring needs at least four target nodes (with fewer, a node that reaches a majority reaches every node); there are {}",
                self.targets.len()
            ));
        }
        if self.interval < MIN_INTERVAL {
            return Err(format!("the interval is {}; it must be at least {MIN_INTERVAL}", self.interval));
        }
        if self.until <= self.from {
            return Err(format!("the nemesis ends at {} but starts at {}; it must end later", self.until, self.from));
        }
        Ok(())
    }

    /// The faults, in time order: each started fault is followed by the
    /// fault that stops it. The same nemesis and seed give the same plan,
    /// here and in the browser.
    pub fn plan(&self, seed: u64) -> Result<Vec<ScheduledFault>, String> {
        self.check()?;
        // The start is mixed in so that two plans in one run (say, one
        // now and one later) differ.
        let mut rng = Rng::stream(seed ^ self.from.as_nanos(), STREAM_NEMESIS);
        let interval_ms = self.interval.as_nanos() / NANOS_PER_MILLI;
        let mut plan = Vec::new();
        let mut started = 0;
        // The faults that undo the one now in force.
        let mut stop: Vec<Fault> = Vec::new();
        let mut at = self.from;
        loop {
            let delay = Duration::from_millis(rng.below(2 * interval_ms));
            at = Duration::from_nanos(at.as_nanos() + delay.as_nanos());
            if at >= self.until {
                break;
            }
            if stop.is_empty() {
                if started == MAX_NEMESIS_FAULTS {
                    return Err(format!(
                        "the nemesis would break things more than {MAX_NEMESIS_FAULTS} times; \
                         shorten it or lengthen the interval"
                    ));
                }
                let kind = self.faults[rng.below(self.faults.len() as u64) as usize];
                let (start, undo) = self.strike(kind, &mut rng);
                plan.extend(start.into_iter().map(|fault| ScheduledFault { at, fault }));
                started += 1;
                stop = undo;
            } else {
                plan.extend(stop.drain(..).map(|fault| ScheduledFault { at, fault }));
            }
        }
        plan.extend(stop.drain(..).map(|fault| ScheduledFault { at: self.until, fault }));
        Ok(plan)
    }

    /// One fault of `kind`: the faults that start it and those that stop it.
    fn strike(&self, kind: NemesisFault, rng: &mut Rng) -> (Vec<Fault>, Vec<Fault>) {
        let mut order = self.targets.clone();
        shuffle(&mut order, rng);
        let node = order[0].clone();
        match kind {
            NemesisFault::Partition => {
                // Alone, or a majority of the targets against the rest.
                let side = if rng.below(2) == 0 { 1 } else { order.len() / 2 + 1 };
                let rest = order.split_off(side.min(order.len() - 1));
                // Two one-way cuts block only the targets from each other;
                // a `partition` fault would also cut off everyone else.
                let start = vec![
                    Fault::PartitionOneWay { from: order.clone(), to: rest.clone() },
                    Fault::PartitionOneWay { from: rest, to: order },
                ];
                (start, vec![Fault::Heal {}])
            }
            NemesisFault::MajoritiesRing => {
                // In ring order each reaches the `reach` nearest on either
                // side: with itself, a majority. A one-way cut from each
                // to the rest blocks both ways, as the distance is mutual.
                let n = order.len();
                let reach = (n / 2).div_ceil(2);
                let start = (0..n)
                    .filter_map(|i| {
                        let far: Vec<String> = (0..n)
                            .filter(|&j| {
                                let d = i.abs_diff(j);
                                d.min(n - d) > reach
                            })
                            .map(|j| order[j].clone())
                            .collect();
                        (!far.is_empty()).then(|| Fault::PartitionOneWay { from: vec![order[i].clone()], to: far })
                    })
                    .collect();
                (start, vec![Fault::Heal {}])
            }
            NemesisFault::Kill => {
                (vec![Fault::Crash { node: node.clone(), host_down: false }], vec![Fault::Restart { node }])
            }
            NemesisFault::Pause => (vec![Fault::Pause { node: node.clone() }], vec![Fault::Resume { node }]),
            NemesisFault::Clock => {
                let ms = 1i64 << (2 + rng.below(17));
                let sign = if rng.below(2) == 0 { -1 } else { 1 };
                let offset = Offset { nanos: sign * ms * NANOS_PER_MILLI as i64 };
                (
                    vec![Fault::SkewClock { node: node.clone(), offset, drift_ppm: 0 }],
                    vec![Fault::SkewClock { node, offset: Offset { nanos: 0 }, drift_ppm: 0 }],
                )
            }
        }
    }
}

/// Fisher–Yates, from the pinned generator.
fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nemesis(faults: &[NemesisFault]) -> Nemesis {
        Nemesis {
            faults: faults.to_vec(),
            targets: ["n1", "n2", "n3", "n4", "n5"].map(String::from).to_vec(),
            from: Duration::from_secs(5),
            until: Duration::from_secs(120),
            interval: Duration::from_secs(10),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        let n = nemesis(&NemesisFault::ALL);
        assert_eq!(n.plan(7).unwrap(), n.plan(7).unwrap());
        assert_ne!(n.plan(7).unwrap(), n.plan(8).unwrap());
        let later = Nemesis { from: Duration::from_secs(6), ..n.clone() };
        assert_ne!(n.plan(7).unwrap(), later.plan(7).unwrap(), "the start is part of the draw");
    }

    #[test]
    fn faults_alternate_with_their_undoing_and_all_is_mended_by_until() {
        for seed in 0..50 {
            let n = nemesis(&NemesisFault::ALL);
            let plan = n.plan(seed).unwrap();
            assert!(!plan.is_empty());
            let mut broken: Option<&Fault> = None;
            let mut last = n.from;
            for f in &plan {
                assert!(f.at >= last && f.at <= n.until, "seed {seed}: {f:?} out of order");
                last = f.at;
                match (&f.fault, broken) {
                    (Fault::Heal {}, Some(Fault::PartitionOneWay { .. })) => broken = None,
                    (Fault::Restart { node }, Some(Fault::Crash { node: k, .. })) if node == k => broken = None,
                    (Fault::Resume { node }, Some(Fault::Pause { node: p })) if node == p => broken = None,
                    (Fault::SkewClock { node, offset, .. }, Some(Fault::SkewClock { node: s, .. }))
                        if node == s && offset.nanos == 0 =>
                    {
                        broken = None
                    }
                    // The second half of a partition, at the same moment.
                    (Fault::PartitionOneWay { .. }, Some(Fault::PartitionOneWay { .. })) => {}
                    (start, None) => broken = Some(start),
                    (f, b) => panic!("seed {seed}: {f:?} while {b:?} is in force"),
                }
            }
            assert_eq!(broken, None, "seed {seed}: the run must end whole");
        }
    }

    #[test]
    fn operations_are_zero_to_twice_the_interval_apart() {
        let n = nemesis(&[NemesisFault::Kill]);
        let plan = n.plan(3).unwrap();
        let mut last = n.from;
        let mut gaps = Vec::new();
        for f in plan.iter().filter(|f| f.at < n.until) {
            gaps.push(f.at.as_nanos() - last.as_nanos());
            last = f.at;
        }
        assert!(gaps.iter().all(|&g| g < 2 * n.interval.as_nanos()), "{gaps:?}");
        let mean = gaps.iter().sum::<u64>() / gaps.len() as u64;
        assert!(mean > n.interval.as_nanos() / 2 && mean < 3 * n.interval.as_nanos() / 2, "mean gap {mean}");
    }

    #[test]
    fn a_majorities_ring_leaves_each_target_a_majority_and_no_two_the_same() {
        use std::collections::{BTreeMap, BTreeSet};
        for size in 4..=9 {
            let targets: Vec<String> = (1..=size).map(|i| format!("n{i}")).collect();
            let n = Nemesis { targets: targets.clone(), ..nemesis(&[NemesisFault::MajoritiesRing]) };
            let plan = n.plan(size as u64).unwrap();
            // The first strike: its cuts, all at one moment, then a heal.
            let first: Vec<&ScheduledFault> = plan.iter().take_while(|f| f.at == plan[0].at).collect();
            assert!(matches!(plan[first.len()].fault, Fault::Heal {}), "{size}: {plan:?}");
            let mut blocked: BTreeSet<(String, String)> = BTreeSet::new();
            for f in &first {
                let Fault::PartitionOneWay { from, to } = &f.fault else { panic!("{f:?}") };
                for a in from {
                    for b in to {
                        blocked.insert((a.clone(), b.clone()));
                    }
                }
            }
            let mut views: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
            for a in &targets {
                let sees: BTreeSet<&String> =
                    targets.iter().filter(|b| !blocked.contains(&((*a).clone(), (*b).clone()))).collect();
                for b in &sees {
                    assert!(!blocked.contains(&((*b).clone(), a.clone())), "{size}: {a} and {b} cut one way only");
                }
                assert!(sees.len() > size / 2, "{size}: {a} reaches {sees:?}, no majority");
                assert!(sees.len() < size, "{size}: {a} reaches everyone");
                views.insert(a, sees);
            }
            let distinct: BTreeSet<&BTreeSet<&String>> = views.values().collect();
            assert_eq!(distinct.len(), size, "{size}: two targets see the same majority: {views:?}");
        }
        let three =
            Nemesis { targets: vec!["a".into(), "b".into(), "c".into()], ..nemesis(&[NemesisFault::MajoritiesRing]) };
        assert!(three.plan(1).unwrap_err().contains("at least four target nodes"));
        assert_eq!(NemesisFault::parse("majorities-ring"), Ok(NemesisFault::MajoritiesRing));
    }

    #[test]
    fn a_partition_is_one_node_or_a_majority_and_leaves_other_nodes_alone() {
        let mut sizes = std::collections::BTreeSet::new();
        for seed in 0..40 {
            for f in nemesis(&[NemesisFault::Partition]).plan(seed).unwrap() {
                if let Fault::PartitionOneWay { from, to } = f.fault {
                    assert_eq!(from.len() + to.len(), 5, "every target is on one side");
                    assert!(from.iter().all(|n| !to.contains(n)));
                    sizes.insert(from.len().min(to.len()));
                }
            }
        }
        // Alone (1 against 4) and a majority (3 against 2).
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn clock_bumps_are_powers_of_two_milliseconds_from_4ms_to_262s() {
        let mut seen = 0;
        for seed in 0..20 {
            for f in nemesis(&[NemesisFault::Clock]).plan(seed).unwrap() {
                if let Fault::SkewClock { offset, .. } = f.fault {
                    let ms = offset.nanos.unsigned_abs() / NANOS_PER_MILLI;
                    if ms != 0 {
                        assert!(ms.is_power_of_two() && (4..=262_144).contains(&ms), "{ms} ms");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 20);
    }

    #[test]
    fn the_limit_counts_faults_started_whatever_each_writes() {
        // About 850 partitions (one every 200 ms on average over 170 s),
        // each written as three scheduled faults: within the limit.
        let n = Nemesis {
            until: Duration::from_secs(175),
            interval: Duration::from_millis(100),
            ..nemesis(&[NemesisFault::Partition])
        };
        let plan = n.plan(1).unwrap();
        let heals = plan.iter().filter(|f| matches!(f.fault, Fault::Heal {})).count();
        assert!((700..=MAX_NEMESIS_FAULTS).contains(&heals), "{heals} partitions");
        assert_eq!(plan.len(), 3 * heals);
        // Twice as long is more than a thousand, refused for partitions as
        // for kills.
        for faults in [[NemesisFault::Partition], [NemesisFault::Kill]] {
            let long = Nemesis { until: Duration::from_secs(350), ..nemesis(&faults) };
            let long = Nemesis { interval: Duration::from_millis(100), ..long };
            assert!(long.plan(1).unwrap_err().contains("more than 1000 times"), "{faults:?}");
        }
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let n = nemesis(&[NemesisFault::Kill]);
        let err = |n: Nemesis| n.plan(1).unwrap_err();
        assert_eq!(err(Nemesis { faults: vec![], ..n.clone() }), "choose at least one fault for the nemesis");
        assert_eq!(err(Nemesis { targets: vec![], ..n.clone() }), "the nemesis has no nodes to strike");
        assert!(err(Nemesis { interval: Duration::from_millis(10), ..n.clone() }).contains("at least 100ms"));
        assert!(err(Nemesis { until: Duration::from_secs(5), ..n.clone() }).contains("must end later"));
        let one = Nemesis { faults: vec![NemesisFault::Partition], targets: vec!["db".into()], ..n.clone() };
        assert!(err(one).contains("at least two target nodes"));
        let long = Nemesis { until: Duration::from_secs(100_000), interval: Duration::from_millis(100), ..n };
        assert!(err(long).contains("more than 1000 times"));
        assert_eq!(
            NemesisFault::parse_list("kill, pause,kill").unwrap(),
            vec![NemesisFault::Kill, NemesisFault::Pause]
        );
        assert!(NemesisFault::parse_list("kill,nuke").unwrap_err().contains("`nuke` is not a nemesis fault"));
    }
}
