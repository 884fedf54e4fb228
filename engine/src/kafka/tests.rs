//! Partition replication rules, each on a three-broker partition driven by
//! hand: brokers 1 (leader), 2 and 3.

use super::*;
use crate::time::Duration;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;

struct Partition {
    leader: LeaderState,
    logs: [PartitionLog; 3],
    /// Followers' high watermarks (what they learned from fetches).
    hw: [u64; 3],
}

fn rec(v: u64) -> Record {
    Record { key: 0, value: v }
}

impl Partition {
    fn new(min_isr: u32) -> Partition {
        let config = TopicConfig {
            replication_factor: 3,
            min_insync_replicas: min_isr,
            replica_lag_time_max: Duration::from_millis(30_000),
            ..TopicConfig::default()
        };
        let logs = [PartitionLog::default(), PartitionLog::default(), PartitionLog::default()];
        let state = LeaderAndIsr { leader: 1, leader_epoch: 0, isr: vec![1, 2, 3] };
        let leader = LeaderState::new(vec![1, 2, 3], state, &logs[0], 0, config, 0);
        Partition { leader, logs, hw: [0; 3] }
    }

    fn produce(&mut self, v: u64, acks: Acks, req: u64, now: u64) -> Result<AppendResult, ProduceError> {
        let (leader, logs) = (&mut self.leader, &mut self.logs);
        leader.append(&mut logs[0], rec(v), acks, req, now)
    }

    /// Broker `b` (2 or 3) fetches from its log end.
    fn fetch(&mut self, b: u32, now: u64) {
        let i = b as usize - 1;
        let offset = self.logs[i].leo();
        let epoch = self.logs[i].epochs.latest_epoch();
        let req = FetchRequest { replica: b, fetch_offset: offset, last_fetched_epoch: epoch, max_records: 100 };
        let resp = self.leader.fetch(&self.logs[0], req, now);
        match resp {
            FetchResponse::Records { batches, high_watermark } => {
                self.logs[i].append_as_follower(&batches, now);
                self.hw[i] = high_watermark.min(self.logs[i].leo());
            }
            FetchResponse::Diverging { .. } => panic!("no divergence expected"),
        }
    }

    fn commit_isr_change(&mut self, now: u64) {
        let change = self.leader.isr_change().map(<[u32]>::to_vec);
        self.leader.isr_answered(&self.logs[0], change, now);
    }
}

#[test]
fn the_high_watermark_waits_for_every_isr_member_not_a_majority() {
    let mut p = Partition::new(1);
    p.produce(1, Acks::All, 7, 0).unwrap();
    // The leader learns a follower's end from its next fetch's offset.
    p.fetch(2, MS);
    p.fetch(3, MS);
    p.fetch(2, 2 * MS);
    // 2 of 3 have it: a majority, but 3 is in the ISR.
    assert_eq!(p.leader.high_watermark, 0);
    assert!(p.leader.take_completed().is_empty());
    p.fetch(3, 3 * MS);
    assert_eq!(p.leader.high_watermark, 1);
    assert_eq!(p.leader.take_completed(), [(7, Ok(0))]);
}

#[test]
fn the_high_watermark_does_not_wait_for_a_fenced_follower_once_it_is_out_of_the_isr() {
    // 3 dies at 1 s, caught up; 30 s later it would still count as caught
    // up, so the leader would wait for it to rejoin, unless it is fenced
    // (KRaft: `shouldWaitForReplicaToJoinIsr` asks `isReplicaIsrEligible`).
    let run = |fenced: bool| {
        let mut p = Partition::new(1);
        p.produce(1, Acks::Leader, 1, 0).unwrap();
        p.fetch(2, MS);
        p.fetch(3, MS);
        // The controller takes 3 out of the ISR after fencing it.
        p.leader.isr_answered(&p.logs[0], Some(vec![1, 2]), SEC);
        if fenced {
            p.leader.set_ineligible(1 << 3, &p.logs[0], SEC);
        }
        p.produce(2, Acks::All, 9, 2 * SEC).unwrap();
        p.fetch(2, 2 * SEC + MS);
        p.fetch(2, 2 * SEC + 2 * MS);
        (p.leader.high_watermark, p.leader.take_completed())
    };
    assert_eq!(run(true), (2, vec![(9, Ok(1))]), "only 2 is waited for");
    let (hw, done) = run(false);
    assert!(hw < 2 && done.is_empty(), "unfenced and caught up within the lag time: waited for");
}

#[test]
fn a_fenced_follower_does_not_join_the_isr() {
    let mut p = Partition::new(1);
    p.leader.isr_answered(&p.logs[0], Some(vec![1, 2]), 0);
    p.leader.set_ineligible(1 << 3, &p.logs[0], 0);
    p.fetch(3, MS);
    assert_eq!(p.leader.isr_change(), None);
    p.leader.set_ineligible(0, &p.logs[0], 2 * MS);
    p.fetch(3, 3 * MS);
    assert_eq!(p.leader.isr_change(), Some(&[1, 2, 3][..]));
}

#[test]
fn followers_learn_the_high_watermark_one_fetch_later() {
    let mut p = Partition::new(1);
    p.produce(1, Acks::Leader, 1, 0).unwrap();
    p.fetch(2, MS);
    p.fetch(3, MS);
    p.fetch(2, 2 * MS);
    p.fetch(3, 2 * MS);
    assert_eq!(p.leader.high_watermark, 1);
    assert_eq!(p.hw[1], 0, "2 fetched before the leader's high watermark moved");
    assert_eq!(p.hw[2], 1, "3's fetch moved it, and its answer carries it");
    p.fetch(2, 3 * MS);
    assert_eq!(p.hw[1], 1);
}

#[test]
fn in_sync_is_decided_by_time_and_the_last_caught_up_rule() {
    let mut p = Partition::new(1);
    // A steady stream: each fetch of 2 reaches the leader's end as of its
    // previous fetch, so 2 stays caught up although it is never at the end.
    // 3 stops fetching at 1 s.
    let mut v = 0;
    for t in (0..60_000).step_by(100) {
        let now = t * MS;
        v += 1;
        p.produce(v, Acks::Leader, v, now).unwrap();
        p.fetch(2, now + MS);
        if now < SEC {
            p.fetch(3, now + 2 * MS);
        }
        if now.is_multiple_of(15 * SEC) {
            // The ISR check runs every replica.lag.time.max.ms / 2.
            p.leader.maybe_shrink_isr(&p.logs[0], now);
            p.commit_isr_change(now);
        }
    }
    // 3's last caught-up time was about 1 s; it is out after 30 s more, at
    // the first check after 31 s (45 s).
    assert_eq!(p.leader.isr, [1, 2]);
    let f2 = p.leader.followers.iter().find(|f| f.broker == 2).unwrap();
    assert!(f2.leo < p.logs[0].leo(), "2 is behind the end, yet in sync");
}

#[test]
fn a_slow_follower_that_never_catches_the_previous_end_drops_out() {
    let mut p = Partition::new(1);
    for t in 0..500u64 {
        let now = t * 100 * MS;
        // Two records per round; 3 fetches only one per round.
        p.produce(2 * t, Acks::Leader, 2 * t, now).unwrap();
        p.produce(2 * t + 1, Acks::Leader, 2 * t + 1, now).unwrap();
        p.fetch(2, now + MS);
        let i = 2;
        let offset = p.logs[i].leo();
        let epoch = p.logs[i].epochs.latest_epoch();
        let req = FetchRequest { replica: 3, fetch_offset: offset, last_fetched_epoch: epoch, max_records: 1 };
        if let FetchResponse::Records { batches, .. } = p.leader.fetch(&p.logs[0], req, now + MS) {
            p.logs[i].append_as_follower(&batches, now + MS);
        }
        if now.is_multiple_of(15 * SEC) {
            p.leader.maybe_shrink_isr(&p.logs[0], now);
            p.commit_isr_change(now);
        }
    }
    assert_eq!(p.leader.isr, [1, 2], "fetching constantly does not keep a follower in sync");
}

#[test]
fn acks_all_is_refused_below_min_insync_replicas_and_the_high_watermark_stops() {
    let mut p = Partition::new(2);
    p.produce(1, Acks::All, 1, 0).unwrap();
    for round in 1..=2 {
        p.fetch(2, round * MS);
        p.fetch(3, round * MS);
    }
    assert_eq!(p.leader.high_watermark, 1);
    assert_eq!(p.leader.take_completed(), [(1, Ok(0))]);
    // Both followers stop; after the lag time they leave the ISR.
    p.produce(2, Acks::All, 2, 2 * MS).unwrap();
    p.leader.maybe_shrink_isr(&p.logs[0], 31 * SEC);
    p.commit_isr_change(31 * SEC);
    assert_eq!(p.leader.isr, [1]);
    // Refused before the append: certainly not written.
    assert_eq!(p.produce(3, Acks::All, 3, 32 * SEC), Err(ProduceError::NotEnoughReplicas));
    assert_eq!(p.logs[0].leo(), 2);
    // acks=1 still writes, but (3.7+) the high watermark does not move
    // under min.insync.replicas: consumers do not see it.
    assert_eq!(p.produce(4, Acks::Leader, 4, 32 * SEC), Ok(AppendResult::Done(2)));
    assert_eq!(p.leader.high_watermark, 1);
    // The acks=all write made before the shrink is written, still waiting.
    assert!(p.leader.take_completed().is_empty());
    assert_eq!(p.leader.drain_waiting(), [2]);
}

#[test]
fn before_3_7_a_write_found_under_replicated_is_not_enough_replicas_after_append() {
    let mut p = Partition::new(2);
    p.leader = {
        let mut config = TopicConfig {
            replication_factor: 3,
            min_insync_replicas: 2,
            replica_lag_time_max: Duration::from_millis(30_000),
            ..TopicConfig::default()
        };
        config.hw_waits_for_min_isr = false;
        let state = LeaderAndIsr { leader: 1, leader_epoch: 0, isr: vec![1, 2, 3] };
        LeaderState::new(vec![1, 2, 3], state, &p.logs[0], 0, config, 0)
    };
    p.fetch(2, MS);
    p.fetch(3, MS);
    // Written while the ISR is whole; then both followers stop fetching
    // and leave the ISR.
    assert_eq!(p.produce(1, Acks::All, 9, 2 * MS), Ok(AppendResult::Waiting(0)));
    p.leader.maybe_shrink_isr(&p.logs[0], 31 * SEC);
    p.commit_isr_change(31 * SEC);
    assert_eq!(p.leader.isr, [1]);
    // Before 3.7 the high watermark moves with the leader alone: the write
    // is in the log and committed, but reported as failed.
    assert_eq!(p.leader.high_watermark, 1);
    assert_eq!(p.leader.take_completed(), [(9, Err(ProduceError::NotEnoughReplicasAfterAppend))]);
    assert!(ProduceError::NotEnoughReplicasAfterAppend.indeterminate());
}

#[test]
fn an_expansion_counts_at_once_a_shrink_only_when_committed() {
    let mut p = Partition::new(1);
    p.produce(1, Acks::Leader, 1, 0).unwrap();
    p.leader.maybe_shrink_isr(&p.logs[0], 31 * SEC);
    assert_eq!(p.leader.isr_change(), Some(&[1][..]));
    assert_eq!(p.leader.maximal_isr(), [1, 2, 3], "the shrink is not committed yet");
    p.commit_isr_change(31 * SEC);
    assert_eq!(p.leader.high_watermark, 1, "alone in the ISR, the leader's end");
    // 2 catches up: it joins (pending), and counts for the HW at once.
    p.produce(2, Acks::Leader, 2, 32 * SEC).unwrap();
    p.fetch(2, 32 * SEC);
    assert_eq!(p.leader.isr_change(), None, "not before it holds everything up to the high watermark");
    p.fetch(2, 33 * SEC);
    assert_eq!(p.leader.isr_change(), Some(&[1, 2][..]));
    assert_eq!(p.leader.maximal_isr(), [1, 2]);
}

#[test]
fn a_new_leader_is_the_first_isr_member_in_assignment_order() {
    let alive = |b: BrokerId| b != 1;
    // 3 may have more data than 2; Kafka does not compare.
    assert_eq!(elect_leader(&[1, 2, 3], &[1, 3, 2], Some(1), alive, false), Election::Clean(2));
    assert_eq!(elect_leader(&[1, 2, 3], &[2, 3], Some(3), |_| true, false), Election::Clean(3), "keeps a valid leader");
    assert_eq!(elect_leader(&[1, 2, 3], &[1], Some(1), alive, false), Election::NoLeader);
    assert_eq!(elect_leader(&[1, 2, 3], &[1], Some(1), alive, true), Election::Unclean(2));
    assert_eq!(without(&[1], 1), [1], "the ISR is never empty");
    assert_eq!(without(&[1, 2], 1), [2]);
}

#[test]
fn followers_truncate_by_leader_epoch_not_to_their_high_watermark() {
    // KIP-101's case: A led epoch 0 and wrote m0, m1; B has m0 only, and
    // both know HW 1. A fails; B leads epoch 1 and writes m2 at offset 1.
    let mut a = PartitionLog::default();
    let mut b = PartitionLog::default();
    a.append_as_leader(0, rec(0), 0);
    a.append_as_leader(0, rec(1), 0);
    b.append_as_follower(&a.batches()[..1], 0);
    b.append_as_leader(1, rec(2), 0);
    // A returns as a follower and fetches from offset 2, last epoch 0.
    let config = TopicConfig { replication_factor: 2, ..TopicConfig::default() };
    let state = LeaderAndIsr { leader: 2, leader_epoch: 1, isr: vec![2] };
    let mut leader = LeaderState::new(vec![1, 2], state, &b, 1, config, 0);
    let fetch = |log: &PartitionLog| FetchRequest {
        replica: 1,
        fetch_offset: log.leo(),
        last_fetched_epoch: log.epochs.latest_epoch(),
        max_records: 10,
    };
    let resp = leader.fetch(&b, fetch(&a), 0);
    let FetchResponse::Diverging { epoch, end_offset, .. } = resp else { panic!("{resp:?}") };
    assert_eq!((epoch, end_offset), (0, 1), "epoch 0 ended at offset 1 on the leader");
    let (to, done) = truncation_offset(&a, Divergence { epoch, end_offset });
    assert_eq!((to, done), (1, true));
    a.truncate_to(to);
    let resp = leader.fetch(&b, fetch(&a), 0);
    let FetchResponse::Records { batches, .. } = resp else { panic!() };
    a.append_as_follower(&batches, 0);
    assert_eq!(a.batches(), b.batches(), "the logs agree: m0, m2");
}

#[test]
fn a_follower_without_the_leaders_epoch_truncates_in_steps() {
    // KIP-279: the follower has epochs 0 and 2; the leader has 0 and 1.
    let mut f = PartitionLog::default();
    f.append_as_leader(0, rec(0), 0);
    f.append_as_leader(2, rec(9), 0);
    f.append_as_leader(2, rec(9), 0);
    let mut l = PartitionLog::default();
    l.append_as_leader(0, rec(0), 0);
    l.append_as_leader(1, rec(5), 0);
    // Asked about epoch 2, the leader answers epoch 1 ending at 2.
    let d = Divergence { epoch: 1, end_offset: 2 };
    assert_eq!(l.end_offset_for(2), None);
    // The follower has no epoch 1: it cuts to the end of its epoch 0 (1)
    // and asks again.
    assert_eq!(truncation_offset(&f, d), (1, false));
}

#[test]
fn a_retry_of_a_batch_the_log_holds_waits_for_the_high_watermark_too() {
    // Offsets 0 and 1 are in the leader's log, not yet committed (as on a
    // new leader that inherited them): an idempotent producer's retry of
    // the batch at 0..=1 is answered only once the ISR has both, in offset
    // order with the other writes waiting.
    let mut p = Partition::new(1);
    p.produce(1, Acks::All, 7, 0).unwrap();
    p.produce(2, Acks::All, 8, 0).unwrap();
    assert_eq!(p.leader.wait_for(1, 9), AppendResult::Waiting(1));
    p.fetch(2, MS);
    p.fetch(3, MS);
    assert!(p.leader.take_completed().is_empty());
    p.fetch(2, 2 * MS);
    p.fetch(3, 2 * MS);
    assert_eq!(p.leader.high_watermark, 2);
    assert_eq!(p.leader.take_completed(), [(7, Ok(0)), (8, Ok(1)), (9, Ok(1))]);
    // Once committed, a retry is answered at once.
    assert_eq!(p.leader.wait_for(1, 10), AppendResult::Done(1));
}
