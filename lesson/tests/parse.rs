//! Lesson files: what parses, and what a bad file is told.
#![cfg(feature = "parse")]

use lesson::parse::lesson;
use lesson::*;

const GOOD: &str = r#"+++
id = "health-checks"
title = "Health checks"
summary = "How fast a load balancer notices a dead server."
+++

Intro with a [link](lesson:health-checks/2).

## Watch a server die

Crash `web2` and *watch*.

```step
start = "example:server-crash-failover"
change = [{ duration = "30s" }]
hints = ["Look at the **event log**."]
solution = [{ set = "lb.default_server.inter", to = "500ms" }, { set = "lb.default_server.fall", to = 2 }]
explain = "Detection takes about `fall` times `inter`."

[[goal]]
text = "The load balancer marks web2 DOWN"
event = "server_down"
node = "lb"
after = "first_fault"

[[goal]]
text = "p99 below 50 ms over the last 10 s"
metric = "p99_ms"
below = 50
over = "10s"

[[goal]]
text = "inter is at most 500 ms"
config = "lb.default_server.inter"
at_most = "500ms"

[predict]
question = "How long until web2 is DOWN?"
options = ["1 s", "3 s", "10 s"]
answer = 2
explain = "`fall = 3` checks, one per second."
```

## Next

```step
start = "previous"

[[goal]]
text = "No lost writes"
consistency = "no_lost_writes"
```
"#;

#[test]
fn a_good_lesson_parses() {
    let l = lesson("lessons/03-health.md", GOOD).unwrap();
    assert_eq!(l.id, "health-checks");
    assert_eq!(l.steps.len(), 2);
    let s = &l.steps[0];
    assert_eq!(s.title, "Watch a server die");
    assert_eq!(s.start, Start::Example("server-crash-failover".into()));
    assert_eq!(s.change, vec![Edit::Duration { to: "30s".into() }]);
    let nemesis =
        r#"{ nemesis = "kill,pause", targets = ["web1", "web2"], from = "1s", until = "20s", interval = "2s" }"#;
    let with = lesson("lessons/x.md", &GOOD.replacen(r#"{ duration = "30s" }"#, nemesis, 1)).unwrap();
    assert_eq!(
        with.steps[0].change,
        vec![Edit::Nemesis {
            faults: "kill,pause".into(),
            targets: vec!["web1".into(), "web2".into()],
            from: "1s".into(),
            until: "20s".into(),
            interval: "2s".into(),
        }]
    );
    assert_eq!(s.solution[1], Edit::Set { node: "lb".into(), path: "default_server.fall".into(), to: "2".into() });
    assert_eq!(s.goals.len(), 3);
    assert_eq!(
        s.goals[0].check,
        Check::Event {
            event: "server_down".into(),
            node: Some("lb".into()),
            role: None,
            after: After::FirstFault,
            at_least: 1
        }
    );
    assert_eq!(
        s.goals[1].check,
        Check::Metric { metric: Metric::P99Ms, bound: Bound::Below(50.0), over_ns: 10_000_000_000 }
    );
    assert_eq!(
        s.goals[2].check,
        Check::Config {
            node: "lb".into(),
            path: "default_server.inter".into(),
            test: ConfigTest::AtMost(Quantity::Nanos(500_000_000))
        }
    );
    let p = s.predict.as_ref().unwrap();
    assert_eq!((p.answer, p.options.len()), (1, 3));
    assert_eq!(l.steps[1].start, Start::Previous);
    let course = Course { lessons: vec![l] };
    check_course(&course, &["server-crash-failover"], &[]).unwrap();
}

fn problem(text: &str) -> String {
    lesson("lessons/x.md", text).unwrap_err().to_string()
}

#[test]
fn bad_lessons_name_the_file_the_step_and_the_problem() {
    let cases = [
        (
            GOOD.replacen("below = 50", "below = \"fast\"", 1),
            "lessons/x.md, step 1 (\"Watch a server die\"): goal 2: `below` must be a number",
        ),
        (
            GOOD.replacen("metric = \"p99_ms\"", "metric = \"p98_ms\"", 1),
            "step 1 (\"Watch a server die\"): goal 2: no metric `p98_ms`",
        ),
        (GOOD.replacen("answer = 2", "answer = 4", 1), "predict: `answer = 4`"),
        (GOOD.replacen("after = \"first_fault\"", "aftr = \"first_fault\"", 1), "goal 1: the goal: unknown key `aftr`"),
        (GOOD.replacen("event = \"server_down\"", "event = \"server_dead\"", 1), "no event `server_dead`"),
        (
            GOOD.replacen("start = \"previous\"", "start = \"scenario:x\"", 1),
            "step 2 (\"Next\"): `start = \"scenario:x\"`",
        ),
        (GOOD.replacen("+++\n\nIntro", "\nIntro", 1), "no closing `+++`"),
        (GOOD.replacen("Crash `web2`", "Crash <b>web2</b>", 1), "lessons/x.md: line 11: raw HTML"),
        (GOOD.replacen("(lesson:health-checks/2)", "(http://example.com)", 1), "not a link a lesson may hold"),
        (GOOD.replacen("set = \"lb.default_server.inter\"", "set = \"lb\"", 1), "solution 1: `set = \"lb\"`"),
        (
            GOOD.replacen("[[goal]]\ntext = \"No lost writes\"\nconsistency = \"no_lost_writes\"\n", "", 1),
            "step 2 (\"Next\"): no goals",
        ),
        (GOOD.replacen("## Next\n\n```step", "## Next\n\n```text", 1), "step 2 (\"Next\"): no ```step block"),
        (
            GOOD.replacen(
                "{ duration = \"30s\" }",
                "{ nemesis = \"kill\", from = \"0s\", until = \"soon\", interval = \"3s\" }",
                1,
            ),
            "change 1: `until = \"soon\"` is not a duration",
        ),
        (
            GOOD.replacen(
                "{ duration = \"30s\" }",
                "{ nemesis = \"kill\", targets = [1], from = \"0s\", until = \"9s\", interval = \"3s\" }",
                1,
            ),
            "change 1: `targets` is a list of node names, not of integer",
        ),
        (
            GOOD.replacen("{ duration = \"30s\" }", "{ nemesis = \"kill\", until = \"9s\", interval = \"3s\" }", 1),
            "`from` is missing",
        ),
    ];
    for (text, expected) in cases {
        let got = problem(&text);
        assert!(got.contains(expected), "expected {expected:?} in {got:?}");
    }
}

#[test]
fn links_and_starts_must_resolve() {
    let l = lesson("lessons/03-health.md", &GOOD.replace("lesson:health-checks/2", "lesson:health-checks/3")).unwrap();
    let course = Course { lessons: vec![l] };
    let e = check_course(&course, &["server-crash-failover"], &[]).unwrap_err().to_string();
    assert!(e.contains("lesson `health-checks` has 2 steps"), "{e}");
    let l = lesson("lessons/03-health.md", GOOD).unwrap();
    let course = Course { lessons: vec![l.clone(), l] };
    let e = check_course(&course, &["server-crash-failover"], &[]).unwrap_err().to_string();
    assert!(e.contains("already has the id"), "{e}");
    let l = lesson("lessons/03-health.md", GOOD).unwrap();
    let course = Course { lessons: vec![l] };
    let e = check_course(&course, &["link-cut"], &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "lessons/03-health.md, step 1 (\"Watch a server die\"): `start`: there is no example `server-crash-failover`"
    );
}
