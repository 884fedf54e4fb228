//! The Raft teaching examples (issue 5), each checked for what it teaches:
//! `raft-kv-split-vote` (two candidates split a term's votes, a later term
//! elects a leader), `raft-kv-partitioned-leader` (a leader cut off from
//! the majority steps down, the majority elects another, the old leader's
//! uncommitted entries are replaced after the heal), `raft-kv-held-leader`
//! (a deposed leader's late messages are refused by their term) and
//! `raft-kv-snapshot-catchup` (a member back from a long crash loads the
//! leader's snapshot).
mod common;
use checker::Linearizable;
use common::*;
use engine::components::raft_kv::RaftKvView;
use engine::fault::Fault;
use engine::history::Outcome;
use engine::message::{Message, Op, RaftWire};
use engine::raft::{MsgType, Role};
use engine::trace::{Note, What};
use engine::{Scenario, Simulation};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every Raft message that was sent, delivered or not: (delivered at, or
/// None if dropped; sent at; from; to; the message).
fn raft_messages(sim: &Simulation) -> Vec<(Option<u64>, u64, String, String, RaftWire)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Deliver { from, to, sent_at, msg: Message::Raft(w) } => {
                Some((Some(e.time), sent_at, sim.node_name(from).to_string(), sim.node_name(to).to_string(), w))
            }
            What::Drop { from, to, sent_at, msg: Message::Raft(w), .. } => {
                Some((None, sent_at, sim.node_name(from).to_string(), sim.node_name(to).to_string(), w))
            }
            _ => None,
        })
        .collect()
}

/// When the scenario's first fault matching `pick` happens.
fn fault_at(s: &Scenario, pick: impl Fn(&Fault) -> bool) -> u64 {
    s.faults.iter().find(|f| pick(&f.fault)).expect("the fault is in the scenario").at.nanos
}

fn example_json(name: &str) -> Value {
    let path = format!("{}/scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The five members' views at the first moment, within a second of the
/// run's end, when they hold one log (the same length, all of it committed
/// and applied, all `keys` keys) in one term and follow `leader`. Writes go on to
/// the end, so an append may be in flight at any given moment: this waits
/// (bounded) for one with none.
fn one_log(sim: &mut Simulation, leader: &str, keys: usize) -> Vec<RaftKvView> {
    let members = ["kv1", "kv2", "kv3", "kv4", "kv5"];
    let leader = sim.node_id(leader);
    let converged = |sim: &Simulation| {
        let views: Vec<_> = members.iter().map(|n| raft_view(sim, n)).collect();
        let same = views.iter().all(|v| {
            v.commit == views[0].commit
                && v.last_index == views[0].last_index
                && v.applied == v.commit
                && v.term == views[0].term
                && v.leader == leader
                && v.keys == keys
        });
        (same, views)
    };
    let give_up = sim.now() + SEC;
    while !converged(sim).0 && sim.now() < give_up {
        sim.run_until(sim.now() + MS);
    }
    let (same, views) = converged(sim);
    assert!(same, "no moment of one log in the second after the run: {views:?}");
    views
}

/// Per term: the members that were candidates and the members that led.
#[derive(Debug, Default)]
struct Term {
    begins: u64,
    candidates: BTreeSet<String>,
    leaders: BTreeSet<String>,
}

fn terms(changes: &[(u64, String, Role, u64)]) -> BTreeMap<u64, Term> {
    let mut terms: BTreeMap<u64, Term> = BTreeMap::new();
    for (time, node, role, term) in changes {
        let t = terms.entry(*term).or_insert_with(|| Term { begins: *time, ..Term::default() });
        match role {
            Role::Candidate => {
                t.candidates.insert(node.clone());
            }
            Role::Leader => {
                t.leaders.insert(node.clone());
            }
            Role::Follower | Role::PreCandidate => {}
        }
    }
    terms
}

/// Terms that began after `since` with two candidates or more and no
/// leader: split votes.
fn split_terms(changes: &[(u64, String, Role, u64)], since: u64) -> Vec<(u64, Term)> {
    terms(changes)
        .into_iter()
        .filter(|(_, t)| t.begins >= since && t.candidates.len() >= 2 && t.leaders.is_empty())
        .collect()
}

#[test]
fn a_split_vote_leaves_a_term_without_leader_and_a_later_term_elects_one() {
    let s = load_example("raft-kv-split-vote.json");
    let crash = fault_at(&s, |f| matches!(f, Fault::Crash { .. }));
    let mut sim = run(&s);
    let changes = roles(&sim);
    let all = terms(&changes);
    // Election safety, as the trace shows it: one leader per term.
    for (n, t) in &all {
        assert!(t.leaders.len() <= 1, "term {n} has leaders {:?}", t.leaders);
    }
    let before: Vec<_> = changes.iter().filter(|c| c.2 == Role::Leader && c.0 < crash).collect();
    assert_eq!(before.last().map(|l| l.1.as_str()), Some("kv1"), "kv1 leads when it crashes: {before:?}");

    let splits = split_terms(&changes, crash);
    let (term, split) = splits.first().unwrap_or_else(|| panic!("no split vote after the crash: {all:#?}"));
    // Neither candidate got a majority of the four: count the granted votes
    // each received in that term, its own included.
    let granted = |who: &str| {
        1 + raft_messages(&sim)
            .iter()
            .filter(|(at, _, _, to, w)| {
                at.is_some() && to == who && w.kind == MsgType::VoteResp && !w.reject && u64::from(w.term) == *term
            })
            .count()
    };
    for c in &split.candidates {
        assert!(granted(c) < 3, "{c} won {} votes of 4 in term {term}", granted(c));
    }
    let votes: usize = split.candidates.iter().map(|c| granted(c)).sum();
    assert!(votes <= 3, "three members alive cast at most three votes: {votes}");

    // A later term elects exactly one leader, and that term is not split.
    let (next, after) = all.range(term + 1..).find(|(_, t)| !t.leaders.is_empty()).expect("a leader in a later term");
    assert_eq!(after.leaders.len(), 1, "{after:?}");
    let leader = after.leaders.first().unwrap().clone();
    assert_ne!(leader, "kv1");
    let elected = changes.iter().find(|c| c.2 == Role::Leader && c.3 == *next).unwrap().0;
    assert!(elected > split.begins && elected < crash + 3 * SEC, "elected at {elected}, split at {}", split.begins);

    // Writes went on, kv1 came back and follows the new leader, everyone
    // agrees, and no client saw anything a single copy would not give.
    let v = sim.check_consistency().clone();
    let lin = v.linearizability.expect("checked");
    assert_eq!(lin.linearizable, Linearizable::Yes);
    assert_eq!(v.anomalies.total(), 0, "{:?}", v.anomalies);
    let views: Vec<_> = ["kv1", "kv2", "kv3", "kv4"].iter().map(|n| raft_view(&sim, n)).collect();
    // Each member has applied what it knows committed, at most a heartbeat
    // behind the leader (the run ends with writes going on).
    let top = views.iter().map(|v| v.commit).max().unwrap();
    assert!(views.iter().all(|v| top - v.commit <= 2 && v.applied == v.commit), "{views:?}");
    assert!(views.iter().all(|v| v.leader == sim.node_id(&leader) && v.term >= *next), "{views:?}");
    let writes_after = sim
        .history()
        .ops()
        .iter()
        .filter(|o| matches!(o.op, Op::Write { .. }) && o.outcome == Outcome::Ok && o.invoke > elected)
        .count();
    assert!(writes_after > 100, "{writes_after} writes after the election");
}

/// The detector above is not vacuous: the same crash with etcd's default
/// election timeouts (10 to 19 ticks) elects a leader in one term.
#[test]
fn with_etcds_timeouts_the_same_crash_elects_at_once() {
    let mut v = example_json("raft-kv-split-vote.json");
    for n in v["nodes"].as_array_mut().unwrap() {
        if n["type"] == "raft_kv" {
            n.as_object_mut().unwrap().remove("election_tick");
        }
    }
    let s = scenario(v);
    let sim = run(&s);
    let changes = roles(&sim);
    let crash = fault_at(&s, |f| matches!(f, Fault::Crash { .. }));
    assert!(split_terms(&changes, crash).is_empty(), "{:#?}", terms(&changes));
    let leaders: Vec<_> = changes.iter().filter(|c| c.2 == Role::Leader).collect();
    assert_eq!(leaders.len(), 2, "{leaders:?}");
    assert_eq!(leaders[1].3, leaders[0].3 + 1, "the next term elects: {leaders:?}");
}

#[test]
fn a_cut_off_leader_steps_down_and_its_uncommitted_entries_are_replaced() {
    let s = load_example("raft-kv-partitioned-leader.json");
    let cut = fault_at(&s, |f| matches!(f, Fault::Partition { .. }));
    let heal = fault_at(&s, |f| matches!(f, Fault::Heal {}));
    let (minority, majority) = (["kv1", "kv2"], ["kv3", "kv4", "kv5"]);
    let mut sim = Simulation::new(&s).unwrap();
    // What the majority side holds when the partition begins: nothing kv1
    // appends afterwards can reach it.
    sim.run_through(cut);
    let held = majority.iter().map(|n| raft_view(&sim, n).last_index).max().unwrap();
    let old = raft_view(&sim, "kv1");
    assert_eq!(old.role, "leader", "kv1 leads when it is cut off: {old:?}");
    let old_term = old.term;
    // Just before the heal: kv1 has entries it could not commit, and has
    // committed nothing the majority did not hold.
    sim.run_until(heal);
    let before_heal = raft_view(&sim, "kv1");
    assert!(before_heal.commit <= held, "kv1 committed {} with the majority holding {held}", before_heal.commit);
    assert!(before_heal.last_index > before_heal.commit + 10, "uncommitted entries on kv1: {before_heal:?}");
    assert_eq!(before_heal.term, old_term, "with PreVote, the cut-off members never raise their term");
    assert_eq!(raft_view(&sim, "kv2").term, old_term);
    sim.run_through(s.duration.nanos);

    let changes = roles(&sim);
    let during = |c: &&(u64, String, Role, u64)| c.0 > cut && c.0 < heal;
    // CheckQuorum: kv1 steps down in its own term, within two election
    // timeouts (10 to 19 ticks of 100 ms) of the cut.
    let down = changes
        .iter()
        .filter(during)
        .find(|c| c.1 == "kv1" && c.2 != Role::Leader)
        .expect("kv1 steps down during the partition");
    assert_eq!(down.3, old_term, "stepped down without a newer term: {down:?}");
    assert!(down.0 < cut + 2 * SEC, "{down:?}");
    // The majority elects a new leader in a higher term, during the partition.
    let new =
        changes.iter().filter(during).find(|c| c.2 == Role::Leader).expect("a new leader during the partition").clone();
    assert!(majority.contains(&new.1.as_str()) && new.3 > old_term, "{new:?}");
    // Nothing on the cut-off side ever leads again during the partition.
    assert!(!changes.iter().filter(during).any(|c| minority.contains(&c.1.as_str()) && c.2 == Role::Leader));

    // c1's writes go to kv1 alone: none sent during the partition is
    // acknowledged; the ones acknowledged while it lasted were sent before it
    // (and committed by the majority: kv1's commit never passed `held`).
    let c1 = sim.node_id("c1").unwrap();
    let writes: Vec<_> =
        sim.history().ops().iter().filter(|o| o.node == c1 && matches!(o.op, Op::Write { .. })).collect();
    let sent_during: Vec<_> = writes.iter().filter(|o| o.invoke >= cut && o.invoke < heal).collect();
    assert!(sent_during.len() > 50, "c1 kept writing: {}", sent_during.len());
    assert!(sent_during.iter().all(|o| o.outcome != Outcome::Ok), "a write to the cut-off leader was acknowledged");
    assert!(sent_during.iter().any(|o| o.outcome == Outcome::Info), "writes kv1 took before stepping down time out");
    assert!(sent_during.iter().any(|o| o.outcome == Outcome::Fail), "after it steps down, kv1 refuses at once");
    let acked_during =
        writes.iter().filter(|o| o.outcome == Outcome::Ok && o.complete.is_some_and(|t| t >= cut && t < heal));
    assert!(acked_during.clone().all(|o| o.invoke < cut), "{:?}", acked_during.collect::<Vec<_>>());
    // The majority's client went on.
    let c2 = sim.node_id("c2").unwrap();
    let c2_ok = sim
        .history()
        .ops()
        .iter()
        .filter(|o| o.node == c2 && o.outcome == Outcome::Ok && o.invoke > new.0 && o.invoke < heal)
        .count();
    assert!(c2_ok > 100, "{c2_ok} requests served by the majority");

    // The entries kv1 appended in its old term after the cut (it sent them
    // to kv2, and towards the majority in vain) were never committed; after
    // the heal the new leader replaces every one of them, on kv1 and kv2.
    let msgs = raft_messages(&sim);
    let stranded: BTreeSet<u64> = msgs
        .iter()
        .filter(|(_, _, from, _, w)| from == "kv1" && w.kind == MsgType::App && u64::from(w.aux) == old_term)
        .map(|(_, _, _, _, w)| u64::from(w.index) + 1)
        .filter(|&i| i > old.last_index)
        .collect();
    assert!(stranded.len() > 10, "{stranded:?}");
    for who in minority {
        let replaced: BTreeSet<u64> = msgs
            .iter()
            .filter(|(at, _, from, to, w)| {
                at.is_some_and(|t| t > heal)
                    && *from == new.1
                    && to == who
                    && w.kind == MsgType::App
                    && u64::from(w.aux) > old_term
            })
            .map(|(_, _, _, _, w)| u64::from(w.index) + 1)
            .collect();
        assert!(stranded.is_subset(&replaced), "{who}: {stranded:?} not all replaced ({replaced:?})");
    }
    // After the heal kv1 follows the new leader, and stays a follower.
    let rejoined: Vec<_> = changes.iter().filter(|c| c.1 == "kv1" && c.0 > heal).collect();
    assert!(!rejoined.is_empty() && rejoined.iter().all(|c| c.2 == Role::Follower && c.3 >= new.3), "{rejoined:?}");

    // Everyone converges on one log, and the history is linearizable
    // (reads go through ReadIndex: the cut-off leader cannot confirm any).
    let views = one_log(&mut sim, &new.1, 5);
    assert!(views[0].commit > *stranded.last().unwrap(), "{views:?}");
    let v = sim.check_consistency().clone();
    assert_eq!(v.linearizability.expect("checked").linearizable, Linearizable::Yes);
    assert_eq!(v.anomalies.total(), 0, "{:?}", v.anomalies);
}

/// Without CheckQuorum the cut-off leader never notices: it stays leader
/// until the heal shows it a newer term, and its client waits in vain.
#[test]
fn without_check_quorum_the_cut_off_leader_keeps_leading() {
    let mut v = example_json("raft-kv-partitioned-leader.json");
    for n in v["nodes"].as_array_mut().unwrap() {
        if n["type"] == "raft_kv" {
            n["check_quorum"] = Value::Bool(false);
        }
    }
    let s = scenario(v);
    let cut = fault_at(&s, |f| matches!(f, Fault::Partition { .. }));
    let heal = fault_at(&s, |f| matches!(f, Fault::Heal {}));
    let mut sim = run(&s);
    let kv1: Vec<_> = roles(&sim).into_iter().filter(|c| c.1 == "kv1" && c.0 > cut).collect();
    assert!(kv1.first().is_some_and(|c| c.0 > heal && c.2 == Role::Follower), "{kv1:?}");
    let c1 = sim.node_id("c1").unwrap();
    let refused = sim
        .history()
        .ops()
        .iter()
        .filter(|o| {
            o.node == c1 && o.invoke >= cut && o.outcome == Outcome::Fail && o.complete.is_some_and(|t| t < heal)
        })
        .count();
    assert_eq!(refused, 0, "a leader refuses nothing: its requests time out");
    assert_eq!(sim.check_consistency().linearizability.clone().unwrap().linearizable, Linearizable::Yes);
}

/// `raft-kv-held-leader`: the leader's links to every other member are
/// held for five seconds, so nothing is lost, only late. The others elect a
/// leader in a higher term; at the release, the old leader's messages of its
/// old term reach members of the new one and are refused by their term,
/// disturbing nobody, and the old leader learns the new term.
#[test]
fn a_held_leaders_late_messages_are_refused_by_their_term() {
    let s = load_example("raft-kv-held-leader.json");
    let hold = fault_at(&s, |f| matches!(f, Fault::HoldLink { .. }));
    let release = fault_at(&s, |f| matches!(f, Fault::ReleaseLink { .. }));
    let others = ["kv2", "kv3", "kv4", "kv5"];
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_through(hold);
    let old = raft_view(&sim, "kv1");
    assert_eq!(old.role, "leader", "kv1 leads when its links are held: {old:?}");
    let old_term = old.term;
    // Just before the release, messages wait on every held link (kv1's
    // heartbeats at least, every tick).
    sim.run_until(release);
    let before = raft_view(&sim, "kv1");
    assert!(before.last_index > before.commit + 10, "kv1 appended entries it could not commit: {before:?}");
    let kv1 = sim.node_id("kv1").unwrap();
    for o in others {
        let waiting = sim.held_links().waiting(kv1, sim.node_id(o).unwrap());
        assert!(waiting.is_some_and(|n| n > 30), "kv1 - {o}: {waiting:?}");
    }
    sim.run_through(s.duration.nanos);

    // During the hold: kv1 steps down by CheckQuorum in its own term, and
    // the others elect a leader in a higher term.
    let changes = roles(&sim);
    let during = |c: &&(u64, String, Role, u64)| c.0 > hold && c.0 < release;
    let down = changes.iter().filter(during).find(|c| c.1 == "kv1").expect("kv1 steps down while held");
    assert!(down.2 != Role::Leader && down.3 == old_term && down.0 < hold + 2 * SEC, "{down:?}");
    let new = changes.iter().filter(during).find(|c| c.2 == Role::Leader).expect("a new leader while held").clone();
    assert!(others.contains(&new.1.as_str()) && new.3 > old_term, "{new:?}");

    // At the release, kv1's messages of its old term, sent while held,
    // arrive at members of the new term: appends (of entries the others
    // never had), heartbeats and pre-vote requests, seconds late.
    let msgs = raft_messages(&sim);
    let late: Vec<_> =
        msgs.iter().filter(|(at, sent, from, ..)| *at == Some(release) && from == "kv1" && *sent >= hold).collect();
    let appends =
        |to: &str| late.iter().filter(|m| m.3 == to && matches!(m.4.kind, MsgType::App | MsgType::Heartbeat)).count();
    for o in others {
        let n = appends(o);
        assert!(n > 30, "kv1 to {o}: {n} late appends and heartbeats");
        assert!(late.iter().any(|m| m.3 == o && m.4.kind == MsgType::App && m.4.aux > 0), "an entry among them");
        assert!(late.iter().any(|m| m.3 == o && m.4.kind == MsgType::PreVote), "a pre-vote request among them");
        // Each append or heartbeat is answered at once with the newer term
        // and nothing else (etcd: a MsgAppResp that only carries the term).
        let answers = msgs
            .iter()
            .filter(|(_, sent, from, to, w)| *sent == release && from == o && to == "kv1" && w.kind == MsgType::AppResp)
            .collect::<Vec<_>>();
        assert_eq!(answers.len(), n, "{o} answers each late append: {answers:?}");
        assert!(answers.iter().all(|m| u64::from(m.4.term) == new.3 && m.4.index == 0), "{answers:?}");
    }
    assert!(late.iter().all(|m| u64::from(m.4.term) == old_term || m.4.kind == MsgType::PreVote), "{late:?}");
    // They disturb nobody: no member of the new term changes role or term
    // at the release, while kv1 learns the new term there.
    assert!(!changes.iter().any(|c| c.0 == release && c.1 != "kv1"), "{changes:?}");
    assert!(changes.iter().any(|c| c.0 == release && c.1 == "kv1" && c.2 == Role::Follower && c.3 == new.3));
    // The requests kv4 had forwarded to kv1 before the election waited at
    // the hold; kv1, knowing no leader at the release, drops them: it
    // forwards nothing then.
    let forwarded_late = msgs
        .iter()
        .filter(|(at, sent, from, to, w)| {
            *at == Some(release) && *sent < new.0 && from == "kv4" && to == "kv1" && w.kind == MsgType::Prop
        })
        .count();
    assert!(forwarded_late > 5, "{forwarded_late} forwarded proposals held");
    assert!(
        !msgs.iter().any(|m| m.1 == release && m.2 == "kv1" && matches!(m.4.kind, MsgType::Prop | MsgType::ReadIndex)),
        "kv1 forwarded a late request"
    );

    // One log in the end (kv1's uncommitted entries replaced by the new
    // leader's), and a linearizable history.
    let views = one_log(&mut sim, &new.1, 5);
    assert!(views[0].commit > before.last_index, "{views:?}");
    let v = sim.check_consistency().clone();
    assert_eq!(v.linearizability.expect("checked").linearizable, Linearizable::Yes);
    assert_eq!(v.anomalies.total(), 0, "{:?}", v.anomalies);
}

/// The non-`Ok` client operations invoked in `[from, to)` that got an
/// answer or gave up (those still in flight at the end are left out).
fn failed_between(sim: &Simulation, from: u64, to: u64) -> usize {
    sim.history()
        .ops()
        .iter()
        .filter(|o| o.invoke >= from && o.invoke < to && o.outcome != Outcome::Ok && o.outcome != Outcome::Pending)
        .count()
}

/// `raft-kv-partial-partition`: with PreVote off, cutting only the link
/// between the leader and one follower harms nobody while it lasts (the
/// others, hearing from the leader, ignore the follower's votes: the
/// CheckQuorum lease), but the follower's term climbs, and the heal shows
/// the leader that term: it steps down, and the group is leaderless for
/// a while after a repair.
#[test]
fn a_partial_partition_raises_the_cut_off_followers_term_and_the_heal_deposes_the_leader() {
    let s = load_example("raft-kv-partial-partition.json");
    let cut = fault_at(&s, |f| matches!(f, Fault::CutLink { .. }));
    let heal = fault_at(&s, |f| matches!(f, Fault::HealLink { .. }));
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_through(cut);
    let old = raft_view(&sim, "kv1");
    assert_eq!(old.role, "leader", "kv1 leads when the link is cut: {old:?}");
    sim.run_until(heal);
    // Only kv3 moved during the cut: candidacies in rising terms, none won.
    for n in ["kv1", "kv2", "kv4", "kv5"] {
        assert_eq!(raft_view(&sim, n).term, old.term, "{n} stays in term {} during the cut", old.term);
    }
    assert_eq!(raft_view(&sim, "kv1").role, "leader");
    let kv3_term = raft_view(&sim, "kv3").term;
    assert!(kv3_term >= old.term + 4, "kv3's term climbs while cut off: {kv3_term}");
    sim.run_through(s.duration.nanos);
    let changes = roles(&sim);
    let during: Vec<_> = changes.iter().filter(|c| c.0 > cut && c.0 < heal).collect();
    assert!(during.iter().all(|c| c.1 == "kv3" && c.2 == Role::Candidate), "{during:?}");
    // Nothing failed while the link was cut (the last second before the
    // heal left out: those requests may meet the heal).
    assert_eq!(failed_between(&sim, cut, heal - SEC), 0, "the cut alone harms nobody");
    // The heal: kv1 sees kv3's term and steps down at once ...
    let down = changes.iter().find(|c| c.0 >= heal && c.1 == "kv1").expect("kv1 changes role after the heal");
    assert!(down.2 == Role::Follower && down.3 >= kv3_term && down.0 < heal + 100_000_000, "{down:?}");
    // The event log says why: kv3's answer carried its term.
    let said: Vec<String> = sim.trace().events().iter().map(|e| sim.trace_line(e).text).collect();
    let why = format!("kv1: raft: follower in term {kv3_term} (a MsgAppResp from kv3 carried term {kv3_term})");
    assert!(said.contains(&why), "{:#?}", said.iter().filter(|l| l.contains("raft:")).collect::<Vec<_>>());
    assert!(said.iter().any(|l| l
        .starts_with("kv3: raft: candidate in term 2 (its election timeout ran out: no message from a leader for ")
        && l.ends_with(" ticks of 100ms)")));
    // ... and the next leader that lasts comes in a term above kv3's, a
    // while later; requests fail meanwhile.
    let next = changes.iter().rfind(|c| c.0 >= heal && c.2 == Role::Leader).expect("a leader after the heal");
    assert!(next.3 > kv3_term && next.0 > heal + SEC, "{next:?}");
    assert!(failed_between(&sim, heal, next.0) > 50, "{} requests failed", failed_between(&sim, heal, next.0));
    assert_eq!(sim.check_consistency().linearizability.clone().unwrap().linearizable, Linearizable::Yes);
}

/// The same cut with PreVote on the cut-off member: it asks for pre-votes,
/// which nobody grants, so its term never rises and the heal changes no
/// leader and fails no request.
#[test]
fn with_pre_vote_a_partial_partition_deposes_nobody() {
    let mut v = example_json("raft-kv-partial-partition.json");
    for n in v["nodes"].as_array_mut().unwrap() {
        if n["name"] == "kv3" {
            n["pre_vote"] = Value::Bool(true);
        }
    }
    let s = scenario(v);
    let cut = fault_at(&s, |f| matches!(f, Fault::CutLink { .. }));
    let sim = run(&s);
    let after: Vec<_> = roles(&sim).into_iter().filter(|c| c.0 > cut).collect();
    assert!(after.iter().any(|c| c.1 == "kv3" && c.2 == Role::PreCandidate), "{after:?}");
    assert!(after.iter().all(|c| c.1 == "kv3" && matches!(c.2, Role::PreCandidate | Role::Follower)), "{after:?}");
    assert!(after.iter().all(|c| c.3 == 1), "nobody leaves term 1: {after:?}");
    assert_eq!(raft_view(&sim, "kv1").role, "leader");
    assert_eq!(failed_between(&sim, cut, s.duration.nanos), 0);
}

/// `raft-kv-snapshot-catchup`: a member down for 20 s comes back needing
/// entries every member has compacted away; the leader sends its snapshot
/// and appends the rest. With more entries kept, appends alone do it.
#[test]
fn a_member_back_after_compaction_catches_up_from_the_leaders_snapshot() {
    let s = load_example("raft-kv-snapshot-catchup.json");
    let restart = fault_at(&s, |f| matches!(f, Fault::Restart { .. }));
    let crash = fault_at(&s, |f| matches!(f, Fault::Crash { .. }));
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_through(crash);
    let behind = raft_view(&sim, "kv5").last_index;
    sim.run_until(restart);
    // Every member that ran on has compacted past what kv5 holds.
    for n in ["kv1", "kv2", "kv3", "kv4"] {
        let v = raft_view(&sim, n);
        assert!(v.first_index > behind + 1 && v.snapshot >= 20_000, "{n}: {v:?} (kv5 holds up to {behind})");
    }
    let committed = raft_view(&sim, "kv1").commit;
    sim.run_through(restart + 100 * MS);
    // kv5 got kv1's snapshot and loaded it, then appends.
    let msgs = raft_messages(&sim);
    let snaps: Vec<_> = msgs.iter().filter(|m| m.3 == "kv5" && m.4.kind == MsgType::Snap).collect();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert!(snaps[0].0.is_some_and(|t| t > restart) && snaps[0].2 == "kv1", "{snaps:?}");
    let loaded: Vec<String> = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Note { note: Note::RaftSnapshotLoaded { .. }, .. }))
        .map(|e| sim.trace_line(e).text)
        .collect();
    assert_eq!(
        loaded,
        [format!(
            "kv5: raft: loaded kv1's snapshot up to index {} (the entries it lacked were compacted away)",
            snaps[0].4.index
        )]
    );
    let kv5 = raft_view(&sim, "kv5");
    assert!(kv5.applied >= committed && kv5.keys == 1000, "{kv5:?}");
    sim.run_through(s.duration.nanos);
    one_log(&mut sim, "kv1", 1000);
    assert_eq!(sim.check_consistency().linearizability.clone().unwrap().linearizable, Linearizable::Yes);

    // Keeping 25,000 entries before each snapshot, kv1 still holds what
    // kv5 lacks: no snapshot is sent.
    let mut v = example_json("raft-kv-snapshot-catchup.json");
    for n in v["nodes"].as_array_mut().unwrap() {
        if n["type"] == "raft_kv" {
            n["snapshot_catchup_entries"] = Value::from(25_000);
        }
    }
    let s = scenario(v);
    let mut sim = Simulation::new(&s).unwrap();
    sim.run_through(restart + 500 * MS);
    assert!(!raft_messages(&sim).iter().any(|m| m.4.kind == MsgType::Snap));
    assert!(raft_view(&sim, "kv5").applied >= committed);
}
