//! The course, run natively through the engine: every step's starting
//! scenario runs and misses at least one of its goals; its reference
//! solution meets them all by the end of the run. (Every lesson parses
//! and every link resolves, or the app would not have built: build.rs.)

use clusterlab_app::lesson::goals::{Status, Tracker};
use clusterlab_app::lesson::{course, setup};
use engine::{Scenario, Simulation};
use lesson::{Goal, Lesson};

/// Runs `scenario` to its end, as the lab does (everything due at the end
/// included, then the final reads), reading the trace as it goes. Returns
/// the goals' states at the end, and the first moment, if any, at which
/// they all held (the lab marks a step done then).
fn run(scenario: &Scenario, goals: &[Goal]) -> (Vec<Status>, Option<u64>) {
    let mut sim = Simulation::new(scenario).expect("a step's scenario runs");
    let mut tracker = Tracker::new(goals);
    let end = scenario.duration.nanos;
    let mut all_met_at = None;
    // Looked at every 100 ms of simulated time, as often as the lab's
    // frames do at 6x.
    let mut t = 0;
    while t < end && sim.halted().is_none() {
        t = (t + 100_000_000).min(end);
        while sim.now() < t && sim.halted().is_none() {
            // Small chunks: the trace is bounded, and the tracker must see
            // every event.
            sim.run_until_budget(t, 20_000);
            tracker.pull(goals, &sim);
        }
        if all_met_at.is_none() && tracker.statuses(goals, &sim, sim.consistency()).iter().all(|s| s.met) {
            all_met_at = Some(sim.now());
        }
    }
    sim.run_through(end);
    tracker.pull(goals, &sim);
    assert_eq!(tracker.missed, 0, "the tracker read every trace event");
    // At the end the lab judges with the final reads, as here.
    let finals = sim.final_reads();
    let verdicts = finals.as_ref().map_or_else(|| sim.consistency(), |f| &f.consistency);
    let statuses = tracker.statuses(goals, &sim, verdicts);
    if all_met_at.is_none() && statuses.iter().all(|s| s.met) {
        all_met_at = Some(sim.now());
    }
    (statuses, all_met_at)
}

fn describe(goals: &[Goal], statuses: &[Status]) -> String {
    goals
        .iter()
        .zip(statuses)
        .map(|(g, s)| format!("  [{}] {} ({})", if s.met { "x" } else { " " }, g.text, s.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_step(lesson: &Lesson, i: usize) -> Result<(), String> {
    let step = &lesson.steps[i];
    let at = format!("{}, step {} (\"{}\")", lesson.file, i + 1, step.title);
    let start = setup::step_scenario(lesson, i).map_err(|e| format!("{at}: start: {e}"))?;
    let (before, met_at) = run(&start, &step.goals);
    if let Some(t) = met_at {
        return Err(format!(
            "{at}: the starting scenario meets every goal at {:.1} s, so the lab would mark the step done:\n{}",
            t as f64 / 1e9,
            describe(&step.goals, &before)
        ));
    }
    let solved = setup::solved_scenario(lesson, i).map_err(|e| format!("{at}: {e}"))?;
    let (after, _) = run(&solved, &step.goals);
    if !after.iter().all(|s| s.met) {
        return Err(format!("{at}: the solution misses goals:\n{}", describe(&step.goals, &after)));
    }
    eprintln!("{at}\n start:\n{}\n solution:\n{}", describe(&step.goals, &before), describe(&step.goals, &after));
    Ok(())
}

#[test]
fn every_step_starts_unmet_and_its_solution_meets_its_goals() {
    let only = std::env::var("LESSON").ok();
    let mut problems = Vec::new();
    let mut steps = 0;
    for lesson in &course().lessons {
        if only.as_deref().is_some_and(|o| o != lesson.id) {
            continue;
        }
        for i in 0..lesson.steps.len() {
            steps += 1;
            if let Err(e) = check_step(lesson, i) {
                problems.push(e);
            }
        }
    }
    assert!(steps > 0, "no lesson steps ran");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_course_has_its_ten_lessons_in_order() {
    let ids: Vec<&str> = course().lessons.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "client-and-server",
            "load-balancing",
            "health-checks",
            "scaling",
            "caching",
            "replication",
            "partitions-and-leaders",
            "raft",
            "kafka-replication",
            "linearizability",
        ]
    );
}

#[test]
fn every_link_in_the_course_resolves() {
    let examples: Vec<&str> = clusterlab_app::examples::EXAMPLES.iter().map(|e| e.id).collect();
    let mut links = 0;
    for lesson in &course().lessons {
        let texts = std::iter::once(&lesson.intro).chain(lesson.steps.iter().flat_map(|s| s.texts()));
        for blocks in texts {
            lesson::for_each_link(blocks, &mut |target| {
                links += 1;
                if let Err(e) = lesson::resolve(course(), &examples, target) {
                    panic!("{}: {e}", lesson.file);
                }
            });
        }
        // And each step's own link opens it.
        for i in 0..lesson.steps.len() {
            let link = clusterlab_app::lesson::player::step_link(&lesson.id, i);
            assert_eq!(clusterlab_app::lesson::player::parse_step_link(&link), Some(Ok((lesson.id.clone(), i))));
        }
    }
    assert!(links > 0, "the course links somewhere");
}
