//! The Raft state machine's rules, each shown on a small group whose
//! messages are delivered by hand (as etcd's `raft_test.go` does).

use super::*;
use crate::rng::Rng;

/// A group whose messages wait in a list until delivered; `cut` pairs
/// drop them.
struct Net {
    nodes: Vec<Raft<u64>>,
    pending: Vec<Message<u64>>,
    cut: Vec<(PeerId, PeerId)>,
}

impl Net {
    fn new(n: usize, config: Config) -> Net {
        let nodes = (0..n).map(|i| Raft::new(i as PeerId, n, config.clone(), Rng::stream(7, i as u64))).collect();
        Net { nodes, pending: Vec::new(), cut: Vec::new() }
    }

    fn collect(&mut self) {
        for n in &mut self.nodes {
            self.pending.extend(n.take_messages());
        }
    }

    /// Delivers messages until none are left (etcd's `stabilize`).
    fn stabilize(&mut self) {
        self.collect();
        let mut rounds = 0;
        while !self.pending.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000, "messages never stop");
            for m in std::mem::take(&mut self.pending) {
                if self.cut.iter().any(|&(a, b)| (a, b) == (m.from, m.to) || (b, a) == (m.from, m.to)) {
                    continue;
                }
                let _ = self.nodes[m.to as usize].step(m);
            }
            self.collect();
        }
    }

    /// Delivers only the oldest waiting message (if its link is up).
    fn deliver_one(&mut self) -> bool {
        self.collect();
        if self.pending.is_empty() {
            return false;
        }
        let m = self.pending.remove(0);
        if !self.cut.iter().any(|&(a, b)| (a, b) == (m.from, m.to) || (b, a) == (m.from, m.to)) {
            let _ = self.nodes[m.to as usize].step(m);
        }
        self.collect();
        true
    }

    /// Cuts `id` off from everyone.
    fn isolate(&mut self, id: PeerId) {
        for o in 0..self.nodes.len() as PeerId {
            if o != id {
                self.cut.push((id, o));
            }
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    /// Ticks `id` until its election timer fires, then delivers everything.
    fn campaign(&mut self, id: PeerId) {
        let _ = self.nodes[id as usize].step(Message::new(MsgType::Hup, id, id));
        self.stabilize();
    }

    fn tick_all(&mut self, ticks: u32) {
        for _ in 0..ticks {
            for n in &mut self.nodes {
                n.tick();
            }
            self.stabilize();
        }
    }

    fn propose(&mut self, id: PeerId, v: u64) -> Result<(), Dropped> {
        let r = self.nodes[id as usize].step(Message::propose(id, v));
        self.stabilize();
        r
    }

    fn leaders(&self) -> Vec<PeerId> {
        self.nodes.iter().filter(|n| n.role == Role::Leader).map(|n| n.id).collect()
    }
}

fn plain() -> Config {
    Config { pre_vote: false, check_quorum: false, ..Config::default() }
}

#[test]
fn a_campaign_wins_with_a_majority_and_commits_the_empty_entry() {
    for config in [plain(), Config::default()] {
        let mut net = Net::new(3, config);
        net.campaign(0);
        assert_eq!(net.leaders(), [0]);
        let l = &net.nodes[0];
        assert_eq!((l.term, l.log.last_index(), l.log.committed), (1, 1, 1));
        assert!(l.log.entries()[0].data.is_none(), "the leader's first entry is empty");
        net.propose(0, 42).unwrap();
        assert!(net.nodes.iter().all(|n| n.log.committed == 2 && n.log.entries()[1].data == Some(42)));
    }
}

#[test]
fn election_timeouts_are_random_in_et_to_2et_minus_1_and_redrawn() {
    let mut r: Raft<u64> = Raft::new(0, 3, Config::default(), Rng::stream(1, 1));
    let mut seen = std::collections::BTreeSet::new();
    for t in 1..200 {
        r.become_follower(t, None, RoleCause::Start);
        seen.insert(r.randomized_election_timeout());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), (10..=19).collect::<Vec<_>>());
}

#[test]
fn pre_vote_keeps_an_isolated_node_from_raising_its_term_and_disrupting() {
    let mut net = Net::new(3, Config::default());
    net.campaign(0);
    net.isolate(2);
    net.tick_all(100);
    let n2 = &net.nodes[2];
    assert_eq!(n2.term, 1, "pre-votes never raise the term");
    assert_eq!(n2.role, Role::PreCandidate);
    net.heal();
    net.tick_all(5);
    assert_eq!(net.leaders(), [0]);
    assert_eq!(net.nodes[0].term, 1, "the leader was not disrupted");
}

#[test]
fn without_pre_vote_a_returning_node_forces_a_new_election() {
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.isolate(2);
    net.propose(0, 1).unwrap();
    net.tick_all(100);
    assert!(net.nodes[2].term > 3, "a term per election timeout, got {}", net.nodes[2].term);
    let high = net.nodes[2].term;
    net.heal();
    net.tick_all(1);
    // The leader heard the higher term and stepped down; node 2's log is
    // behind, so it cannot win, but a new election at a higher term follows.
    net.tick_all(40);
    let leader = net.leaders();
    assert_eq!(leader.len(), 1);
    assert_ne!(leader, [2], "an out-of-date log cannot win");
    assert!(net.nodes[leader[0] as usize].term > high);
}

#[test]
fn check_quorum_steps_a_cut_off_leader_down_after_an_election_timeout() {
    let mut net = Net::new(3, Config::default());
    net.campaign(0);
    net.isolate(0);
    // The first check, 10 ticks after the election, still counts the
    // answers from before the cut; the second finds nobody.
    net.tick_all(19);
    assert_eq!(net.nodes[0].role, Role::Leader);
    net.tick_all(1);
    assert_eq!(net.nodes[0].role, Role::Follower, "stepped down at the second check");
    // Without CheckQuorum it would lead (alone) forever.
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.isolate(0);
    net.tick_all(100);
    assert_eq!(net.nodes[0].role, Role::Leader);
}

#[test]
fn check_quorum_ignores_votes_while_a_leader_is_known() {
    let mut net = Net::new(3, Config { pre_vote: false, ..Config::default() });
    net.campaign(0);
    // Node 2 campaigns at once (as if its timer fired early): 1 has just
    // heard from the leader and ignores the vote; 0 is the leader and
    // also in its lease.
    net.campaign(2);
    assert_eq!(net.leaders(), [0]);
    assert_eq!(net.nodes[1].term, 1);
    assert_eq!(net.nodes[1].vote, Some(0));
}

#[test]
fn a_leader_does_not_commit_an_old_term_entry_held_by_a_majority() {
    // Drive the leader by hand: 0 becomes leader of term 3 with an
    // uncommitted term-2 entry at index 2, and a follower acknowledges
    // index 2 only (not the new empty entry 3).
    let mut r: Raft<u64> = Raft::restart(
        0,
        3,
        plain(),
        Persisted {
            term: 2,
            vote: None,
            commit: 1,
            entries: vec![Entry { term: 1, index: 1, data: None }, Entry { term: 2, index: 2, data: Some(5) }],
            ..Persisted::new()
        },
        Rng::stream(3, 0),
    );
    let _ = r.step(Message::new(MsgType::Hup, 0, 0));
    let mut grant = Message::new(MsgType::VoteResp, 1, 0);
    grant.term = 3;
    let _ = r.step(grant);
    assert_eq!(r.role, Role::Leader);
    assert_eq!(r.log.last_index(), 3);
    r.take_messages();
    let mut ack = Message::new(MsgType::AppResp, 1, 0);
    ack.term = 3;
    ack.index = 2;
    let _ = r.step(ack);
    assert_eq!(r.log.committed, 1, "index 2 is on a majority but of an old term");
    let mut ack = Message::new(MsgType::AppResp, 1, 0);
    ack.term = 3;
    ack.index = 3;
    let _ = r.step(ack);
    assert_eq!(r.log.committed, 3, "the term-3 entry commits, and index 2 with it");
}

#[test]
fn term_and_vote_survive_a_restart() {
    let mut r: Raft<u64> = Raft::new(1, 3, plain(), Rng::stream(1, 1));
    let mut v = Message::new(MsgType::Vote, 0, 1);
    v.term = 5;
    let _ = r.step(v);
    assert_eq!((r.term, r.vote), (5, Some(0)));
    let mut r = Raft::restart(1, 3, plain(), r.persisted(), Rng::stream(1, 2));
    let mut v = Message::new(MsgType::Vote, 2, 1);
    v.term = 5;
    let _ = r.step(v);
    let resp = r.take_messages();
    assert!(resp[0].reject, "already voted for 0 in term 5");
    assert_eq!(r.vote, Some(0));
}

#[test]
fn heartbeats_carry_the_smaller_of_match_and_commit() {
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.isolate(2);
    net.propose(0, 1).unwrap();
    net.propose(0, 2).unwrap();
    assert_eq!(net.nodes[0].log.committed, 3);
    let _ = net.nodes[0].step(Message::new(MsgType::Beat, 0, 0));
    let beats = net.nodes[0].take_messages();
    let commit_to = |to: PeerId| beats.iter().find(|m| m.to == to).unwrap().commit;
    assert_eq!(commit_to(1), 3);
    assert_eq!(commit_to(2), 1, "2 is known to hold only the first entry");
}

#[test]
fn a_divergent_follower_log_is_truncated_to_the_leaders() {
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.isolate(0);
    for v in 0..3 {
        net.propose(0, v).unwrap();
    }
    assert_eq!(net.nodes[0].log.last_index(), 4);
    net.heal();
    net.isolate(0);
    net.campaign(1);
    net.propose(1, 100).unwrap();
    net.heal();
    net.tick_all(3);
    let logs: Vec<Vec<(u64, Option<u64>)>> =
        net.nodes.iter().map(|n| n.log.entries().iter().map(|e| (e.term, e.data)).collect()).collect();
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[1], logs[2]);
    assert_eq!(logs[0], [(1, None), (2, None), (2, Some(100))]);
}

#[test]
fn read_index_waits_for_a_heartbeat_quorum() {
    let mut net = Net::new(3, Config::default());
    net.campaign(0);
    let _ = net.nodes[0].step(Message::read_index(0, 9));
    assert!(net.nodes[0].take_read_states().is_empty(), "not before the heartbeat round");
    net.stabilize();
    assert_eq!(net.nodes[0].take_read_states(), [ReadState { index: 1, context: 9 }]);
    // A follower's read goes through the leader.
    let _ = net.nodes[2].step(Message::read_index(2, 10));
    net.stabilize();
    assert_eq!(net.nodes[2].take_read_states(), [ReadState { index: 1, context: 10 }]);
    // A cut-off leader cannot confirm a read: it never answers.
    net.isolate(0);
    let _ = net.nodes[0].step(Message::read_index(0, 11));
    net.stabilize();
    assert!(net.nodes[0].take_read_states().is_empty());
}

#[test]
fn a_lease_based_read_is_answered_at_once_even_when_cut_off() {
    let config = Config { read_only: ReadOnlyOption::LeaseBased, ..Config::default() };
    let mut net = Net::new(3, config);
    net.campaign(0);
    net.isolate(0);
    // 0's clock stands still (extreme skew) while 1's and 2's run: they
    // elect a new leader and commit a write 0 never sees.
    for _ in 0..40 {
        net.nodes[1].tick();
        net.nodes[2].tick();
        net.stabilize();
    }
    let new = net.leaders().into_iter().find(|&l| l != 0).expect("a new leader");
    net.propose(new, 5).unwrap();
    assert_eq!(net.nodes[new as usize].log.committed, 3);
    // By its own clock 0's lease has not run out: it answers at once, from
    // a commit index that misses the write.
    assert_eq!(net.nodes[0].role, Role::Leader);
    let _ = net.nodes[0].step(Message::read_index(0, 1));
    assert_eq!(net.nodes[0].take_read_states(), [ReadState { index: 1, context: 1 }]);
}

#[test]
fn a_new_leader_holds_reads_until_it_commits_in_its_term() {
    let mut r: Raft<u64> = Raft::new(0, 3, Config::default(), Rng::stream(3, 0));
    let _ = r.step(Message::new(MsgType::Hup, 0, 0));
    for kind in [MsgType::PreVoteResp, MsgType::VoteResp] {
        let mut grant = Message::new(kind, 1, 0);
        grant.term = 1;
        let _ = r.step(grant);
    }
    assert_eq!(r.role, Role::Leader);
    assert_eq!(r.log.committed, 0, "the empty entry is not acknowledged yet");
    r.take_messages();
    let _ = r.step(Message::read_index(0, 4));
    assert!(r.take_messages().is_empty(), "no heartbeat round for the read yet");
    assert_eq!(r.pending_read_count(), 1);
    let mut ack = Message::new(MsgType::AppResp, 1, 0);
    (ack.term, ack.index) = (1, 1);
    let _ = r.step(ack);
    assert_eq!(r.log.committed, 1);
    let beats: Vec<_> = r.take_messages().into_iter().filter(|m| m.kind == MsgType::Heartbeat).collect();
    assert!(beats.len() == 2 && beats.iter().all(|m| m.context == 4), "{beats:?}");
    let mut hb = Message::new(MsgType::HeartbeatResp, 2, 0);
    (hb.term, hb.context) = (1, 4);
    let _ = r.step(hb);
    assert_eq!(r.take_read_states(), [ReadState { index: 1, context: 4 }]);
}

#[test]
fn proposals_without_a_leader_and_beyond_the_log_limit_are_dropped() {
    let mut net = Net::new(3, Config { max_log_entries: 3, ..plain() });
    assert_eq!(net.propose(1, 1), Err(Dropped::NoLeader));
    net.campaign(0);
    net.propose(1, 1).unwrap();
    net.propose(0, 2).unwrap();
    assert_eq!(net.propose(0, 3), Err(Dropped::LogFull));
    assert_eq!(net.nodes[2].log.committed, 3);
}

/// The paper's Figure 8, in etcd's terms, with one entry per append so an
/// old term's entry travels alone. A leader of term 3 re-replicates its
/// term-1 entry 2 to a majority; counting replicas would commit it, yet a
/// member holding a term-2 entry at index 2 could still be elected and
/// overwrite it. The leader must wait for its own term-3 entry.
#[test]
fn figure_8_an_old_term_entry_on_a_majority_is_not_committed_by_counting() {
    let config = Config { max_entries_per_msg: 1, ..plain() };
    let mut net = Net::new(5, config);
    net.campaign(0);
    assert_eq!(net.nodes[0].log.committed, 1);
    // (a) Entry 2 of term 1 reaches only members 0 and 1.
    for o in 2..5 {
        net.cut.push((0, o));
    }
    net.propose(0, 20).unwrap();
    assert_eq!((net.nodes[1].log.last_index(), net.nodes[2].log.last_index()), (2, 1));
    // (b) 0 is gone; 4 wins term 2 with 2's and 3's votes and appends its
    // empty entry 2 (term 2), which reaches nobody.
    net.isolate(0);
    net.cut.push((4, 1));
    let _ = net.nodes[4].step(Message::new(MsgType::Hup, 4, 4));
    while net.nodes[4].role != Role::Leader {
        assert!(net.deliver_one());
    }
    assert_eq!((net.nodes[4].term, net.nodes[4].log.term(2)), (2, Some(2)));
    net.nodes[4].take_messages();
    net.pending.retain(|m| m.from != 4);
    // (c) 4 is gone; 0 returns and wins term 3 (its last entry, term 1
    // index 2, is as up to date as any the others have).
    let disk = net.nodes[0].persisted();
    net.nodes[0] = Raft::restart(0, 5, net.nodes[0].config().clone(), disk, Rng::stream(7, 50));
    net.heal();
    net.isolate(4);
    net.campaign(0);
    let _ = net.nodes[0].step(Message::new(MsgType::Hup, 0, 0));
    while net.nodes[0].role != Role::Leader {
        assert!(net.deliver_one());
    }
    // Elected at the second try (term 2 voters had voted for 4).
    assert_eq!((net.nodes[0].role, net.nodes[0].term), (Role::Leader, 3));
    // Deliver one message at a time: entry 2 reaches 2 and 3 before the
    // term-3 entry 3 does. At no point may entry 2 be committed alone.
    let mut saw_majority_of_2 = false;
    while net.deliver_one() {
        let holders = net.nodes.iter().filter(|n| n.log.term(2) == Some(1)).count();
        let committed = net.nodes[0].log.committed;
        let with_3 = net.nodes.iter().filter(|n| n.log.term(3) == Some(3)).count();
        saw_majority_of_2 |= holders >= 3 && with_3 < 3;
        assert!(
            committed == 1 || with_3 >= 3,
            "entry 2 committed by counting ({holders} hold it, {with_3} hold entry 3)"
        );
    }
    assert!(saw_majority_of_2, "the schedule must reach the dangerous state");
    assert_eq!(net.nodes[0].log.committed, 3);
}

// -- why a role changed ---------------------------------------------------

#[test]
fn an_election_records_the_timeout_the_pre_votes_and_the_votes() {
    let mut net = Net::new(5, Config::default());
    assert_eq!(net.nodes[0].cause, RoleCause::Start);
    let timeout = net.nodes[0].randomized_election_timeout();
    for _ in 0..timeout {
        net.nodes[0].tick();
    }
    // The timer fired: a pre-candidate, for the timeout that ran out.
    assert_eq!(net.nodes[0].role, Role::PreCandidate);
    assert_eq!(net.nodes[0].cause, RoleCause::ElectionTimeout { ticks: timeout });
    // Two pre-votes make three of five: a candidate.
    net.deliver_one();
    net.deliver_one();
    while net.nodes[0].role == Role::PreCandidate {
        assert!(net.deliver_one(), "the pre-votes come back");
    }
    assert_eq!(net.nodes[0].role, Role::Candidate);
    assert_eq!(net.nodes[0].cause, RoleCause::PreVoteWon { granted: 3, rejected: 0, members: 5 });
    // A follower moved to the new term by the vote request names it.
    while net.nodes[0].role == Role::Candidate {
        assert!(net.deliver_one(), "the votes come back");
    }
    assert_eq!(net.nodes[0].role, Role::Leader);
    assert_eq!(net.nodes[0].cause, RoleCause::VoteWon { granted: 3, rejected: 0, members: 5 });
    net.stabilize();
    assert_eq!(net.nodes[1].cause, RoleCause::HigherTerm { from: 0, kind: MsgType::Vote });
}

#[test]
fn a_lost_vote_a_cut_off_leader_and_a_higher_term_are_each_named() {
    // Node 2, isolated without PreVote, campaigns term after term; on its
    // return the leader sees its term in an answer and steps down.
    let mut net = Net::new(3, Config { pre_vote: false, ..Config::default() });
    net.campaign(0);
    net.propose(0, 1).unwrap();
    net.isolate(2);
    net.tick_all(40);
    assert_eq!(net.nodes[2].role, Role::Candidate);
    assert!(matches!(net.nodes[2].cause, RoleCause::ElectionTimeout { .. }));
    let high = net.nodes[2].term;
    net.heal();
    let _ = net.nodes[0].step(Message::new(MsgType::Beat, 0, 0));
    net.stabilize();
    assert_eq!(net.nodes[0].role, Role::Follower);
    assert_eq!(net.nodes[0].cause, RoleCause::HigherTerm { from: 2, kind: MsgType::AppResp });
    assert_eq!(net.nodes[0].term, high);

    // A candidate whose log is behind: both others refuse.
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.propose(0, 1).unwrap();
    net.isolate(2);
    net.propose(0, 2).unwrap();
    net.heal();
    net.campaign(2);
    assert_eq!(net.nodes[2].role, Role::Follower);
    assert_eq!(
        net.nodes[2].cause,
        RoleCause::VoteLost { kind: MsgType::VoteResp, granted: 1, rejected: 2, members: 3 }
    );

    // CheckQuorum: a leader that heard from nobody in an election timeout.
    let mut net = Net::new(3, Config::default());
    net.campaign(0);
    net.isolate(0);
    net.tick_all(20);
    assert_eq!(net.nodes[0].cause, RoleCause::QuorumNotActive { active: 1, members: 3 });
}

#[test]
fn a_candidate_that_hears_from_the_leader_of_its_term_names_it() {
    // Node 0 wins term 1 with node 1's vote while cut off from node 2;
    // node 2 then campaigns in term 1 too: node 1 has voted and refuses,
    // node 0 cannot hear it. The leader's next heartbeat ends it.
    let mut net = Net::new(3, plain());
    net.cut.push((0, 2));
    net.campaign(0);
    net.campaign(2);
    assert_eq!((net.nodes[2].role, net.nodes[2].term), (Role::Candidate, 1));
    net.heal();
    let _ = net.nodes[0].step(Message::new(MsgType::Beat, 0, 0));
    net.stabilize();
    assert_eq!(net.nodes[2].role, Role::Follower);
    assert_eq!(net.nodes[2].cause, RoleCause::LeaderOfTerm { from: 0, kind: MsgType::Heartbeat });
}

/// Three members, 0 leading, 2 cut off while 0 commits `proposals` writes.
fn follower_2_left_behind(proposals: u64) -> Net {
    let mut net = Net::new(3, plain());
    net.campaign(0);
    net.isolate(2);
    for v in 0..proposals {
        net.propose(0, v).unwrap();
    }
    net
}

#[test]
fn a_follower_behind_a_compacted_log_gets_the_leaders_snapshot_and_catches_up() {
    let mut net = follower_2_left_behind(20);
    // The leader applies, snapshots at 21 (data handle 7) and keeps 5
    // entries before it; follower 1 does the same at its own pace.
    let l = &mut net.nodes[0];
    assert_eq!(l.take_committed().len(), 21);
    l.create_snapshot(21, 7, 5);
    assert_eq!((l.log.first_index(), l.log.last_index(), l.log.term(16)), (17, 21, Some(1)));
    assert_eq!(l.persisted().compacted, (16, 1));
    // A follower within the kept entries still gets appends.
    net.heal();
    net.isolate(2);
    net.propose(0, 100).unwrap();
    assert_eq!(net.nodes[1].log.committed, 22);
    // Follower 2 lacks entries 2 to 22, compacted up to 16: the leader
    // sends its snapshot once it hears from it, then the rest.
    net.heal();
    net.tick_all(1);
    let f = &mut net.nodes[2];
    assert_eq!(f.take_restored(), Some(Snapshot { index: 21, term: 1, data: 7 }));
    assert_eq!((f.log.applied, f.log.committed, f.log.last_index()), (21, 22, 22));
    assert_eq!(f.take_committed().iter().map(|e| e.data).collect::<Vec<_>>(), [Some(100)]);
    assert_eq!(f.snapshot(), Some(Snapshot { index: 21, term: 1, data: 7 }));
    // Replicating again: the next proposal reaches it as an append.
    net.propose(0, 101).unwrap();
    assert_eq!(net.nodes[2].log.committed, 23);
    assert_eq!(net.nodes[2].take_restored(), None);
    // What it persisted restarts it from the snapshot.
    let disk = net.nodes[2].persisted();
    let mut r: Raft<u64> = Raft::restart(2, 3, plain(), disk, Rng::stream(1, 2));
    assert_eq!(r.take_restored().map(|s| s.index), Some(21));
    assert_eq!((r.log.applied, r.log.first_index(), r.log.last_index()), (21, 22, 23));
    assert_eq!(r.take_committed().len(), 2);
}

#[test]
fn a_lost_snapshot_is_sent_again_once_the_follower_answers_two_heartbeats() {
    let mut net = follower_2_left_behind(10);
    let l = &mut net.nodes[0];
    l.take_committed();
    l.create_snapshot(11, 3, 0);
    net.heal();
    // Deliver by hand, losing the first snapshot; each tick is a
    // heartbeat round.
    let mut snaps = 0;
    for _ in 0..3 {
        for n in &mut net.nodes {
            n.tick();
        }
        net.collect();
        while !net.pending.is_empty() {
            let m = net.pending.remove(0);
            if m.kind == MsgType::Snap {
                snaps += 1;
                if snaps == 1 {
                    continue;
                }
            }
            let _ = net.nodes[m.to as usize].step(m);
            net.collect();
        }
    }
    assert_eq!(snaps, 2, "sent again after the loss");
    assert_eq!(net.nodes[2].log.committed, 11);
    assert_eq!(net.nodes[2].take_restored().map(|s| s.index), Some(11));
}
