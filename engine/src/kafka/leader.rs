//! A partition leader's state (`Partition.scala`): its followers' fetch
//! state, the ISR and changes to it in flight, the high watermark, and
//! `acks=all` writes waiting for it.

use super::config::{Acks, TopicConfig};
use super::log::{PartitionLog, Record, RecordBatch};
use super::metadata::BrokerSet;
use super::BrokerId;
use crate::time::Time;
use std::collections::VecDeque;

/// Errors a produce request gets, with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProduceError {
    /// `acks=all` and the ISR is smaller than `min.insync.replicas`:
    /// refused before the append. Certainly not written.
    NotEnoughReplicas,
    /// `acks=all`, the write is in the log, but by the time the high
    /// watermark reached it the ISR had shrunk below `min.insync.replicas`.
    /// Written, reported as failed: indeterminate.
    NotEnoughReplicasAfterAppend,
    /// This broker is not (or no longer) the leader.
    NotLeaderOrFollower,
    /// No answer within `request.timeout.ms`: indeterminate.
    RequestTimedOut,
    /// The partition's log is full (the lab bounds every log): not
    /// written.
    KafkaStorageError,
    /// An idempotent producer's batch does not continue its sequence
    /// (records before it were lost): not written.
    OutOfOrderSequenceNumber,
    /// The connection was refused: not written.
    NetworkException,
}

impl ProduceError {
    pub fn name(self) -> &'static str {
        match self {
            ProduceError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ProduceError::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ProduceError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ProduceError::RequestTimedOut => "REQUEST_TIMED_OUT",
            ProduceError::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ProduceError::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ProduceError::NetworkException => "NETWORK_EXCEPTION",
        }
    }

    /// Whether the write may have taken effect anyway.
    pub fn indeterminate(self) -> bool {
        matches!(self, ProduceError::NotEnoughReplicasAfterAppend | ProduceError::RequestTimedOut)
    }
}

/// What a produce request gets at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendResult {
    /// Answered now (`acks=0` or `1`, or `all` when the high watermark
    /// already covers it), with the record's offset.
    Done(u64),
    /// `acks=all`: waiting for the high watermark; completes later through
    /// [`LeaderState::take_completed`].
    Waiting(u64),
}

/// The leader's record of one follower (`Replica.scala`'s state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerState {
    pub broker: BrokerId,
    /// The follower's log end offset, as of its last fetch.
    pub leo: u64,
    /// The leader's log end offset at the follower's previous fetch.
    last_fetch_leader_leo: u64,
    last_fetch_time: Time,
    /// The last time the follower was known to have caught up.
    pub last_caught_up_time: Time,
}

impl FollowerState {
    /// `isCaughtUp`: at the leader's end, or caught up within `lag_max`.
    pub fn is_caught_up(&self, leader_leo: u64, now: Time, lag_max: u64) -> bool {
        self.leo == leader_leo || now.saturating_sub(self.last_caught_up_time) <= lag_max
    }
}

/// A fetch's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchResponse {
    /// Records from the fetch offset, and the leader's high watermark.
    Records { batches: Vec<RecordBatch>, high_watermark: u64 },
    /// The follower's log diverges from the leader's: the end offset of
    /// the largest leader epoch at most the follower's last one.
    Diverging { epoch: u32, end_offset: u64, high_watermark: u64 },
}

/// The controller's record of who leads a partition (Kafka's
/// `LeaderAndIsr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderAndIsr {
    pub leader: BrokerId,
    pub leader_epoch: u32,
    pub isr: Vec<BrokerId>,
}

/// A follower's fetch request for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    pub replica: BrokerId,
    pub fetch_offset: u64,
    /// The epoch of the follower's last record.
    pub last_fetched_epoch: Option<u32>,
    /// The most records to return.
    pub max_records: usize,
}

/// Whether a fetcher whose last record has epoch `last_fetched_epoch` and
/// whose log ends at `fetch_offset` diverges from `log` (the leader's):
/// the end offset of the largest epoch at most its last one, when that
/// ends before the fetcher's log does (KIP-101, and KIP-320 for
/// consumers).
pub fn diverging(log: &PartitionLog, fetch_offset: u64, last_fetched_epoch: Option<u32>) -> Option<(u32, u64)> {
    let e = last_fetched_epoch?;
    match log.end_offset_for(e) {
        None => Some((e, log.leo())),
        Some((epoch, end_offset)) if epoch < e || end_offset < fetch_offset => Some((epoch, end_offset)),
        Some(_) => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeaderState {
    pub me: BrokerId,
    pub leader_epoch: u32,
    /// The assignment, in order.
    pub replicas: Vec<BrokerId>,
    /// The ISR as the controller last committed it.
    pub isr: Vec<BrokerId>,
    /// An ISR change sent to the controller and not yet answered
    /// (`AlterPartition` in flight); nothing else changes meanwhile.
    pub pending_isr: Option<Vec<BrokerId>>,
    pub followers: Vec<FollowerState>,
    pub high_watermark: u64,
    /// The first offset of this leader's epoch.
    epoch_start_offset: u64,
    /// Brokers that may not join the ISR (KRaft: fenced), as the metadata
    /// says: the high watermark does not wait for them, and they are not
    /// added (`isReplicaIsrEligible`).
    ineligible: BrokerSet,
    config: TopicConfig,
    /// `acks=all` writes waiting: (offset, request).
    waiting: VecDeque<(u64, u64)>,
    completed: Vec<(u64, Result<u64, ProduceError>)>,
}

/// The most `acks=all` writes one partition leader holds waiting.
pub const MAX_WAITING: usize = 100_000;

impl LeaderState {
    /// Becomes leader of `epoch` with the committed ISR `isr`; the log is
    /// this broker's; `high_watermark` is the one it knew as a follower.
    pub fn new(
        replicas: Vec<BrokerId>,
        state: LeaderAndIsr,
        log: &PartitionLog,
        high_watermark: u64,
        config: TopicConfig,
        now: Time,
    ) -> LeaderState {
        let LeaderAndIsr { leader: me, leader_epoch: epoch, isr } = state;
        let followers = replicas
            .iter()
            .filter(|&&b| b != me)
            .map(|&broker| FollowerState {
                broker,
                leo: 0,
                last_fetch_leader_leo: 0,
                last_fetch_time: now,
                // ISR members start caught up (`makeLeader` resets them
                // with the current time); the others do not.
                last_caught_up_time: if isr.contains(&broker) { now } else { 0 },
            })
            .collect();
        LeaderState {
            me,
            leader_epoch: epoch,
            replicas,
            isr,
            pending_isr: None,
            followers,
            high_watermark: high_watermark.min(log.leo()),
            epoch_start_offset: log.leo(),
            ineligible: 0,
            config,
            waiting: VecDeque::new(),
            completed: Vec::new(),
        }
    }

    fn lag_max(&self) -> u64 {
        self.config.replica_lag_time_max.nanos
    }

    /// The ISR with additions in flight (`maximalIsr`): a shrink counts
    /// only once committed, an expansion at once.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        match &self.pending_isr {
            Some(p) if p.len() > self.isr.len() => p.clone(),
            _ => self.isr.clone(),
        }
    }

    /// `appendRecordsToLeader`.
    pub fn append(
        &mut self,
        log: &mut PartitionLog,
        record: Record,
        acks: Acks,
        request: u64,
        now: Time,
    ) -> Result<AppendResult, ProduceError> {
        if acks == Acks::All && (self.isr.len() as u32) < self.config.min_insync_replicas {
            return Err(ProduceError::NotEnoughReplicas);
        }
        let offset = log.append_as_leader(self.leader_epoch, record, now);
        self.maybe_increment_hw(log, now);
        if acks != Acks::All {
            return Ok(AppendResult::Done(offset));
        }
        Ok(self.wait_for(offset, request))
    }

    /// An `acks=all` write whose last record is at `offset`: answered once
    /// the high watermark passes it. Also for a retry of a batch the log
    /// already holds (an idempotent producer's duplicate): Kafka's
    /// `DelayedProduce` waits on the duplicate's offsets too, so a leader
    /// that inherited the batch uncommitted does not acknowledge it at once.
    pub fn wait_for(&mut self, offset: u64, request: u64) -> AppendResult {
        if self.high_watermark > offset {
            return AppendResult::Done(offset);
        }
        if self.waiting.len() >= MAX_WAITING {
            // Bounded purgatory: the oldest waiting write times out early.
            if let Some((_, r)) = self.waiting.pop_front() {
                self.completed.push((r, Err(ProduceError::RequestTimedOut)));
            }
        }
        // `complete_waiting` answers from the front: keep offsets in order.
        let k = self.waiting.partition_point(|&(o, _)| o <= offset);
        self.waiting.insert(k, (offset, request));
        AppendResult::Waiting(offset)
    }

    /// `acks=all` writes answered since the last call: (request, offset or
    /// error).
    pub fn take_completed(&mut self) -> Vec<(u64, Result<u64, ProduceError>)> {
        std::mem::take(&mut self.completed)
    }

    /// The waiting writes, e.g. to fail them when leadership is lost.
    pub fn drain_waiting(&mut self) -> Vec<u64> {
        self.waiting.drain(..).map(|(_, r)| r).collect()
    }

    /// The brokers that may not join the ISR now (fenced), from the
    /// metadata; the high watermark may then move on without them.
    pub fn set_ineligible(&mut self, ineligible: BrokerSet, log: &PartitionLog, now: Time) {
        self.ineligible = ineligible;
        self.maybe_increment_hw(log, now);
    }

    fn is_eligible(&self, broker: BrokerId) -> bool {
        self.ineligible & (1 << broker) == 0
    }

    /// A follower's fetch (`fetchRecords` + `updateFollowerFetchState`).
    pub fn fetch(&mut self, log: &PartitionLog, req: FetchRequest, now: Time) -> FetchResponse {
        let FetchRequest { replica: follower, fetch_offset, last_fetched_epoch, max_records: max } = req;
        if let Some((epoch, end_offset)) = diverging(log, fetch_offset, last_fetched_epoch) {
            return FetchResponse::Diverging { epoch, end_offset, high_watermark: self.high_watermark };
        }
        let leader_leo = log.leo();
        if let Some(f) = self.followers.iter_mut().find(|f| f.broker == follower) {
            if fetch_offset >= leader_leo {
                f.last_caught_up_time = f.last_caught_up_time.max(now);
            } else if fetch_offset >= f.last_fetch_leader_leo {
                f.last_caught_up_time = f.last_caught_up_time.max(f.last_fetch_time);
            }
            f.leo = fetch_offset.min(leader_leo);
            f.last_fetch_leader_leo = leader_leo;
            f.last_fetch_time = now;
        }
        self.maybe_expand_isr(follower);
        self.maybe_increment_hw(log, now);
        let batches = log.read(fetch_offset, u64::MAX, max).to_vec();
        FetchResponse::Records { batches, high_watermark: self.high_watermark }
    }

    /// `maybeExpandIsr`: a follower not in the ISR joins once it holds
    /// everything up to the high watermark and this epoch's start.
    fn maybe_expand_isr(&mut self, follower: BrokerId) {
        if self.pending_isr.is_some() || self.isr.contains(&follower) || !self.is_eligible(follower) {
            return;
        }
        let Some(f) = self.followers.iter().find(|f| f.broker == follower) else { return };
        if f.leo >= self.high_watermark && f.leo >= self.epoch_start_offset {
            let mut isr = self.isr.clone();
            isr.push(follower);
            self.pending_isr = Some(isr);
        }
    }

    /// `maybeShrinkIsr`, run every `replica.lag.time.max.ms / 2`: proposes
    /// the ISR without the followers that are not caught up.
    pub fn maybe_shrink_isr(&mut self, log: &PartitionLog, now: Time) -> Option<Vec<BrokerId>> {
        if self.pending_isr.is_some() {
            return None;
        }
        let (leo, lag) = (log.leo(), self.lag_max());
        let out: Vec<BrokerId> = self
            .followers
            .iter()
            .filter(|f| self.isr.contains(&f.broker) && !f.is_caught_up(leo, now, lag))
            .map(|f| f.broker)
            .collect();
        if out.is_empty() {
            return None;
        }
        let isr: Vec<BrokerId> = self.isr.iter().copied().filter(|b| !out.contains(b)).collect();
        self.pending_isr = Some(isr.clone());
        Some(isr)
    }

    /// The ISR change the leader should send to the controller, if any.
    pub fn isr_change(&self) -> Option<&[BrokerId]> {
        self.pending_isr.as_deref()
    }

    /// The controller committed (`Some`) or refused (`None`) the change.
    pub fn isr_answered(&mut self, log: &PartitionLog, committed: Option<Vec<BrokerId>>, now: Time) {
        self.pending_isr = None;
        if let Some(isr) = committed {
            self.isr = isr;
        }
        self.maybe_increment_hw(log, now);
    }

    /// `maybeIncrementLeaderHW`: the smallest log end offset among the
    /// maximal ISR and the followers caught up enough, and eligible, to
    /// join it (`shouldWaitForReplicaToJoinIsr`: a fenced broker that was
    /// caught up when it died is not waited for). Since 3.7 (KAFKA-15583)
    /// it does not move while the ISR is below `min.insync.replicas`.
    fn maybe_increment_hw(&mut self, log: &PartitionLog, now: Time) {
        if self.config.hw_waits_for_min_isr && (self.isr.len() as u32) < self.config.min_insync_replicas {
            return;
        }
        let leo = log.leo();
        let maximal = self.maximal_isr();
        let lag = self.lag_max();
        let mut hw = leo;
        for f in &self.followers {
            let waits_to_join = f.is_caught_up(leo, now, lag) && self.is_eligible(f.broker);
            if f.leo < hw && (maximal.contains(&f.broker) || waits_to_join) {
                hw = f.leo;
            }
        }
        if hw > self.high_watermark {
            self.high_watermark = hw;
            self.complete_waiting();
        }
    }

    /// `DelayedProduce`: a write is done once the high watermark passed it;
    /// if the ISR is then below `min.insync.replicas`, it is reported as
    /// failed although it is in the log.
    fn complete_waiting(&mut self) {
        let enough = self.maximal_isr().len() as u32 >= self.config.min_insync_replicas;
        while let Some(&(offset, request)) = self.waiting.front() {
            if self.high_watermark <= offset {
                break;
            }
            self.waiting.pop_front();
            let result = if enough { Ok(offset) } else { Err(ProduceError::NotEnoughReplicasAfterAppend) };
            self.completed.push((request, result));
        }
    }
}
