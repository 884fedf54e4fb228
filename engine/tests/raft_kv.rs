//! The Raft-replicated key-value store in whole runs: a leader crash and a
//! new election, linearizable histories with ReadIndex, and the stale read
//! that lease-based reads give under clock drift.
mod common;
use checker::Linearizable;
use common::*;
use engine::history::Outcome;
use engine::raft::Role;
use engine::trace::{Note, RaftBound, What};
use engine::{Scenario, Simulation};
use serde_json::{json, Value};

#[test]
fn a_crashed_leader_is_replaced_and_the_history_stays_linearizable() {
    let scenario = load_example("raft-kv-leader-crash.json");
    let mut sim = Simulation::new(&scenario).unwrap();
    sim.run_through(scenario.duration.nanos);
    let changes = roles(&sim);
    let leaders: Vec<_> = changes.iter().filter(|c| c.2 == Role::Leader).collect();
    // Election safety, as the trace shows it: one leader per term.
    for (i, a) in leaders.iter().enumerate() {
        assert!(leaders[i + 1..].iter().all(|b| b.3 != a.3), "two leaders in term {}: {leaders:?}", a.3);
    }
    assert_eq!(leaders[0].1, "kv1", "{leaders:?}");
    // kv1 dies at 5 s: a new leader within two election timeouts (10 to
    // 19 ticks of 100 ms, plus a pre-vote round).
    let next = leaders.iter().find(|l| l.0 > 5 * SEC).expect("a new leader after the crash");
    assert!(next.0 < 5 * SEC + 4 * SEC && next.1 != "kv1", "{next:?}");
    let v = sim.check_consistency().clone();
    assert_eq!(v.linearizability.unwrap().linearizable, Linearizable::Yes);
    assert_eq!(v.anomalies.total(), 0);
    // Everyone caught up, kv1 included, and agrees on the data.
    let views: Vec<_> = ["kv1", "kv2", "kv3"].iter().map(|n| raft_view(&sim, n)).collect();
    assert!(views.iter().all(|v| v.commit == views[0].commit && v.applied == v.commit && v.keys == 5), "{views:?}");
    assert!(views[0].commit > 300, "writes went on after the crash: {views:?}");
    // kv2 forwarded c2's writes to the dead kv1 until it noticed: they are
    // lost, and kv2 gives up on them after its request timeout (5 s + two
    // election timeouts), answering 504, instead of holding them forever.
    let kv2 = sim.node_id("kv2").unwrap();
    let gave_up: Vec<u64> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Deliver { from, msg: engine::message::Message::Response(r), .. }
                if from == kv2 && r.status == engine::message::Status::GatewayTimeout =>
            {
                Some(e.time)
            }
            _ => None,
        })
        .collect();
    assert!(!gave_up.is_empty(), "lost proposals are answered in the end");
    assert!(gave_up.iter().all(|&t| t > 5 * SEC + 7 * SEC), "{gave_up:?}");
    assert!(views[1].pending_writes < 20, "{views:?}");
}

/// A leader cut off from its followers, but not from its client, while
/// its clock runs at half speed; the others elect a new leader and take
/// writes.
fn cut_off_slow_leader(reads: &str) -> Value {
    json!({
        "version": 1, "seed": 3, "duration": "12s",
        "nodes": [
            { "name": "c1", "type": "client", "target": "kv1", "timeout": "1s",
              "workload": { "kind": "open_loop", "rate": 50 }, "ops": { "read_fraction": 0.9, "keys": 1 } },
            { "name": "c2", "type": "client", "target": "kv2", "timeout": "1s",
              "workload": { "kind": "open_loop", "rate": 50 }, "ops": { "read_fraction": 0.1, "keys": 1 } },
            { "name": "kv1", "type": "raft_kv", "members": ["kv1", "kv2", "kv3"], "reads": reads },
            { "name": "kv2", "type": "raft_kv", "members": ["kv1", "kv2", "kv3"], "reads": reads },
            { "name": "kv3", "type": "raft_kv", "members": ["kv1", "kv2", "kv3"], "reads": reads }
        ],
        "links": [
            { "between": ["c1", "kv1"] }, { "between": ["c2", "kv2"] },
            { "between": ["kv1", "kv2"] }, { "between": ["kv1", "kv3"] }, { "between": ["kv2", "kv3"] }
        ],
        "faults": [
            { "at": "3s", "action": "skew_clock", "node": "kv1", "drift_ppm": -500000 },
            { "at": "4s", "action": "partition", "groups": [["kv1", "c1"], ["kv2", "kv3", "c2"]] }
        ]
    })
}

/// The example file (the lease half of the test below, with positions).
#[test]
fn the_lease_example_shows_stale_reads() {
    let scenario = load_example("raft-kv-lease-stale-read.json");
    let mut sim = Simulation::new(&scenario).unwrap();
    sim.run_through(scenario.duration.nanos);
    assert!(sim.check_consistency().anomalies.stale_reads.count > 0);
}

#[test]
fn lease_reads_go_stale_under_clock_drift_and_read_index_does_not() {
    let run = |reads: &str| {
        let mut sim = sim(cut_off_slow_leader(reads));
        sim.run_through(12 * SEC);
        let leaders: Vec<_> = roles(&sim).into_iter().filter(|c| c.2 == Role::Leader).collect();
        assert_eq!(leaders[0].1, "kv1", "{leaders:?}");
        assert!(leaders.iter().any(|l| l.1 != "kv1"), "the majority elects a new leader: {leaders:?}");
        sim.check_consistency().clone()
    };
    let lease = run("lease");
    assert_eq!(lease.linearizability.unwrap().linearizable, Linearizable::No);
    assert!(lease.anomalies.stale_reads.count > 0, "{:?}", lease.anomalies);
    let safe = run("read_index");
    assert_eq!(safe.linearizability.unwrap().linearizable, Linearizable::Yes);
    assert_eq!(safe.anomalies.total(), 0, "{:?}", safe.anomalies);
}

#[test]
fn a_group_must_be_consistent_and_linked() {
    let err = |v: Value| engine::Scenario::from_value(v).expect_err("refused").to_string();
    let mut v = cut_off_slow_leader("read_index");
    v["nodes"][4]["members"] = json!(["kv1", "kv2"]);
    assert_eq!(err(v), "nodes[2].members[2]: `kv3` lists other members: every member lists the same group");
    let mut v = cut_off_slow_leader("read_index");
    v["links"] = json!([{ "between": ["c1", "kv1"] }, { "between": ["c2", "kv2"] }, { "between": ["kv1", "kv2"] }, { "between": ["kv2", "kv3"] }]);
    assert_eq!(err(v), "nodes[2].members[2]: no link joins `kv1` to `kv3`; add one to `links`");
    let mut v = cut_off_slow_leader("read_index");
    v["nodes"][2]["reads"] = json!("linearizable");
    assert!(err(v)
        .starts_with("nodes[2].reads: unknown variant `linearizable`, expected one of `read_index`, `lease`, `local`"));
    let mut v = cut_off_slow_leader("read_index");
    v["nodes"][2]["check_quorum"] = json!(false);
    v["nodes"][2]["reads"] = json!("lease");
    assert_eq!(
        err(v),
        "nodes[2].reads: lease reads need check_quorum: true (a leader must step down when cut off), as in etcd"
    );
}

/// Three members and one client writing to `kv1`, with `extra` set on
/// every member.
fn three_members_writing(extra: Value, rate: u32) -> Value {
    let member = |name: &str| {
        let mut m = json!({ "name": name, "type": "raft_kv", "members": ["kv1", "kv2", "kv3"] });
        m.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        m
    };
    json!({
        "version": 1, "seed": 1, "duration": "6s",
        "nodes": [
            { "name": "c1", "type": "client", "target": "kv1", "timeout": "1s",
              "workload": { "kind": "open_loop", "rate": rate }, "ops": { "read_fraction": 0.0, "keys": 10 } },
            member("kv1"), member("kv2"), member("kv3")
        ],
        "links": [
            { "between": ["c1", "kv1"] },
            { "between": ["kv1", "kv2"] }, { "between": ["kv1", "kv3"] }, { "between": ["kv2", "kv3"] }
        ]
    })
}

/// The bounds a member turns requests away at, each noted (the event log
/// shows the note) with the bound's name and value.
fn refusals(sim: &Simulation) -> Vec<(String, RaftBound, u32)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { node, note: Note::RaftRefused { bound, limit } } => {
                Some((sim.node_name(node).to_string(), bound, limit))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_full_log_turns_writes_away_and_says_so() {
    let sim = run(&scenario(three_members_writing(json!({ "max_log_entries": 100 }), 100)));
    let refused = refusals(&sim);
    assert!(refused.len() > 100, "{} refusals", refused.len());
    assert!(refused.iter().all(|r| r.1 == RaftBound::MaxLogEntries && r.2 == 100), "{refused:?}");
    for name in ["kv1", "kv2", "kv3"] {
        let last = raft_view(&sim, name).last_index;
        assert!(last <= 100, "{name}: {last} entries");
    }
    // The line the event log shows.
    let note =
        sim.trace().events().iter().find(|e| matches!(e.what, What::Note { note: Note::RaftRefused { .. }, .. }));
    let line = sim.trace_line(note.unwrap()).text;
    assert!(
        line.ends_with(": raft: a write refused: the log holds max_log_entries (100) entries not yet compacted"),
        "{line}"
    );
    // Without the bound nothing is refused.
    let plain = run(&scenario(three_members_writing(json!({}), 100)));
    assert_eq!(refusals(&plain), vec![]);
}

#[test]
fn a_member_with_max_pending_requests_waiting_refuses_more_and_says_so() {
    // Each write waits a few milliseconds for its commit; at 300 a second
    // two often wait at once.
    let sim = run(&scenario(three_members_writing(json!({ "max_pending": 1 }), 300)));
    let refused = refusals(&sim);
    assert!(refused.len() > 10, "{} refusals", refused.len());
    assert!(refused.iter().all(|r| r == &("kv1".to_string(), RaftBound::MaxPending, 1)), "{refused:?}");
    let c1 = sim.node_id("c1").unwrap();
    let failed = sim.history().ops().iter().filter(|o| o.node == c1 && o.outcome == Outcome::Fail).count();
    assert!(failed >= refused.len(), "{failed} failed, {} refused", refused.len());
}

/// etcd's snapshots: every `snapshot_count` applied entries a member
/// snapshots its store and compacts its log, keeping
/// `snapshot_catchup_entries`; a member that was down longer than that
/// gets the leader's snapshot (`MsgSnap`) in place of the entries it
/// lacks, and ends with the same store.
#[test]
fn a_member_back_after_the_log_was_compacted_loads_the_leaders_snapshot() {
    let mut v = three_members_writing(json!({ "snapshot_count": 100, "snapshot_catchup_entries": 50 }), 200);
    v["faults"] = json!([
        { "at": "2s", "action": "crash", "node": "kv3" },
        { "at": "4s", "action": "restart", "node": "kv3" }
    ]);
    let mut sim = run(&scenario(v));
    // Every member snapshots and compacts as it goes.
    for n in ["kv1", "kv2", "kv3"] {
        let v = raft_view(&sim, n);
        assert!(v.snapshot > 600 && v.first_index == v.snapshot - 49, "{n}: {v:?}");
        assert!(v.last_index - v.first_index < 400, "{n}'s log is bounded: {v:?}");
    }
    // kv3 came back some 300 entries behind (kv2 leads since kv3, the
    // first leader, crashed): the leader sent its snapshot.
    let kv3 = sim.node_id("kv3").unwrap();
    let snaps: Vec<_> = sim
        .trace()
        .events()
        .iter()
        .filter(|e| {
            matches!(e.what, What::Deliver { to, msg: engine::message::Message::Raft(w), .. }
                if to == kv3 && w.kind == engine::raft::MsgType::Snap)
        })
        .collect();
    assert!(!snaps.is_empty() && snaps.iter().all(|e| e.time > 4 * SEC), "{snaps:?}");
    let loaded: Vec<String> = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Note { node, note: Note::RaftSnapshotLoaded { .. } } if node == kv3))
        .map(|e| sim.trace_line(e).text)
        .collect();
    assert!(
        loaded.first().is_some_and(|l| l.starts_with("kv3: raft: loaded kv2's snapshot up to index ")
            && l.ends_with(" (the entries it lacked were compacted away)")),
        "{loaded:?}"
    );
    // The same store everywhere, and a linearizable history.
    let views: Vec<_> = ["kv1", "kv2", "kv3"].iter().map(|n| raft_view(&sim, n)).collect();
    assert!(views.iter().all(|v| v.keys == views[0].keys && v.keys == 10), "{views:?}");
    let verdict = sim.check_consistency().clone();
    assert_eq!(verdict.linearizability.unwrap().linearizable, Linearizable::Yes);
}

/// Bad snapshot settings are refused, naming the member and the field.
#[test]
fn bad_snapshot_settings_name_the_field() {
    let err = |extra: Value| Scenario::from_value(three_members_writing(extra, 10)).expect_err("refused").to_string();
    assert_eq!(
        err(json!({ "snapshot_count": 0 })),
        "nodes[1].snapshot_count: snapshot_count must be 1 to 1000000, got 0"
    );
    assert_eq!(
        err(json!({ "snapshot_catchup_entries": 2_000_000 })),
        "nodes[1].snapshot_catchup_entries: snapshot_catchup_entries must be 1 to 1000000, got 2000000"
    );
    assert_eq!(
        err(json!({ "snapshot_count": "often" })),
        "nodes[1].snapshot_count: invalid type: string \"often\", expected u64"
    );
}
