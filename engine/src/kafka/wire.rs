//! Kafka's requests and responses as the simulation ships them: small
//! values (a message is copied through the event queue and the trace).
//! A fetch answer with records is a run of [`KafkaWire::Record`] messages
//! closed by [`KafkaWire::FetchEnd`]; the receiver checks offsets, so a
//! lost or reordered record is noticed and fetched again.

use super::config::Acks;
use super::leader::ProduceError;
use super::log::RecordBatch;
use super::metadata::BrokerSet;
use crate::message::NodeId;

/// Kafka error codes the simulation answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KafkaError {
    NotLeaderOrFollower,
    /// The request names an older leader epoch than the broker's.
    FencedLeaderEpoch,
    /// The request names a newer leader epoch than the broker knows.
    UnknownLeaderEpoch,
    /// An `AlterPartition` for a partition epoch that changed meanwhile.
    InvalidUpdateVersion,
    InvalidRequest,
    UnknownTopicOrPartition,
    /// A consumer asked for an offset beyond the log.
    OffsetOutOfRange,
    /// This controller is not the active one.
    NotController,
    /// The partition's log reached its limit (`max_log_records`).
    KafkaStorageError,
    /// The connection failed (refused by a host whose process is down).
    NetworkException,
    /// This broker does not coordinate groups (it does not lead
    /// `__consumer_offsets`).
    NotCoordinator,
    /// The group is rebalancing: rejoin.
    RebalanceInProgress,
    UnknownMemberId,
    /// A commit or heartbeat from an earlier generation of the group.
    IllegalGeneration,
    /// `__consumer_offsets` could not take the commit.
    NotEnoughReplicas,
}

impl KafkaError {
    pub fn name(self) -> &'static str {
        match self {
            KafkaError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            KafkaError::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            KafkaError::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            KafkaError::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            KafkaError::InvalidRequest => "INVALID_REQUEST",
            KafkaError::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            KafkaError::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            KafkaError::NotController => "NOT_CONTROLLER",
            KafkaError::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            KafkaError::NetworkException => "NETWORK_EXCEPTION",
            KafkaError::NotCoordinator => "NOT_COORDINATOR",
            KafkaError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            KafkaError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            KafkaError::IllegalGeneration => "ILLEGAL_GENERATION",
            KafkaError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
        }
    }
}

/// "No epoch" on the wire (Kafka's `UNDEFINED_EPOCH` is -1).
pub const NO_EPOCH: u32 = u32::MAX;

/// "Not an idempotent producer" on the wire.
pub const NO_PRODUCER_EPOCH: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KafkaWire {
    /// A fetch from a follower (`replica`) or a consumer, for one
    /// partition.
    Fetch {
        partition: u32,
        /// The leader epoch the fetcher believes current.
        leader_epoch: u32,
        fetch_offset: u64,
        /// The epoch of the fetcher's last record ([`NO_EPOCH`]: none), for
        /// divergence (KIP-101/320).
        last_fetched_epoch: u32,
        replica: bool,
    },
    /// One record of a fetch answer.
    Record {
        partition: u32,
        batch: RecordBatch,
    },
    /// The end of a fetch answer: `count` records from `fetch_offset` were
    /// sent, and the leader's high watermark.
    FetchEnd {
        partition: u32,
        leader_epoch: u32,
        fetch_offset: u64,
        count: u32,
        high_watermark: u64,
    },
    /// The fetcher's log diverges: truncate to `end_offset` of `epoch`.
    FetchDiverging {
        partition: u32,
        leader_epoch: u32,
        epoch: u32,
        end_offset: u64,
        high_watermark: u64,
    },
    FetchError {
        partition: u32,
        leader_epoch: u32,
        error: KafkaError,
    },
    /// A producer's batch: records `first_seq ..first_seq + count` of the
    /// producer's sequence for this partition (their values derive from
    /// the producer and the sequence number).
    Produce {
        id: u64,
        partition: u32,
        first_seq: u32,
        count: u32,
        producer_epoch: u16,
        acks: Acks,
    },
    ProduceReply {
        id: u64,
        partition: u32,
        result: Result<u64, ProduceError>,
    },
    /// A client asks a broker who leads each partition.
    MetadataRequest,
    /// One partition's leader, as the broker knows it.
    PartitionLeader {
        partition: u32,
        leader: Option<NodeId>,
        leader_epoch: u32,
    },
    /// A broker's heartbeat to the controller it believes active: its
    /// incarnation (bumped at every restart) and how far it has applied
    /// the metadata log.
    BrokerHeartbeat {
        incarnation: u32,
        metadata_index: u64,
    },
    /// `active`: the active controller, if the receiver knows it;
    /// `committed`: its committed metadata index.
    BrokerHeartbeatReply {
        ok: bool,
        active: Option<NodeId>,
        committed: u64,
    },
    /// Metadata log entry `index` (`record`: its id in the run's metadata
    /// table + 1; 0 for the controller's empty entries).
    Metadata {
        index: u64,
        record: u32,
    },
    /// A broker asks for the metadata log from `from`.
    MetadataFetch {
        from: u64,
    },
    AlterPartition {
        partition: u32,
        leader_epoch: u32,
        partition_epoch: u32,
        isr: BrokerSet,
    },
    AlterPartitionReply {
        partition: u32,
        error: Option<KafkaError>,
    },
    /// A consumer joins (or rejoins) group `group`; it leaves after
    /// `session_timeout_ms` without a heartbeat.
    JoinGroup {
        group: u32,
        session_timeout_ms: u32,
    },
    /// The coordinator's answer once the rebalance is done: generation
    /// `generation` gives the member these partitions (a bit each).
    Assignment {
        group: u32,
        generation: u32,
        partitions: u64,
    },
    Heartbeat {
        group: u32,
        generation: u32,
    },
    HeartbeatReply {
        group: u32,
        error: Option<KafkaError>,
    },
    /// Commit: the next offset to read in `partition` is `offset`.
    OffsetCommit {
        group: u32,
        generation: u32,
        partition: u32,
        offset: u64,
    },
    OffsetCommitReply {
        group: u32,
        partition: u32,
        offset: u64,
        error: Option<KafkaError>,
    },
    OffsetFetch {
        group: u32,
        partition: u32,
    },
    OffsetFetchReply {
        group: u32,
        partition: u32,
        offset: Option<u64>,
        error: Option<KafkaError>,
    },
    /// A consumer asks a partition's leader for its high watermark (the
    /// end a `read_uncommitted` consumer may read to).
    ListOffsets {
        partition: u32,
    },
    ListOffsetsReply {
        partition: u32,
        offset: Result<u64, KafkaError>,
    },
    /// The sender's host closed its connections: its process died.
    /// Requests in flight to it will not be answered.
    ConnectionClosed,
}

impl KafkaWire {
    pub fn kind(&self) -> crate::message::MsgKind {
        use crate::message::MsgKind;
        match self {
            KafkaWire::Produce { .. } | KafkaWire::MetadataRequest => MsgKind::Request,
            KafkaWire::ProduceReply { result: Ok(_), .. } | KafkaWire::PartitionLeader { .. } => MsgKind::Response,
            KafkaWire::ProduceReply { .. } => MsgKind::ErrorResponse,
            KafkaWire::BrokerHeartbeat { .. } | KafkaWire::Heartbeat { .. } => MsgKind::HealthCheck,
            KafkaWire::HeartbeatReply { .. } => MsgKind::HealthCheckReply,
            KafkaWire::BrokerHeartbeatReply { .. } => MsgKind::HealthCheckReply,
            KafkaWire::ConnectionClosed => MsgKind::Refused,
            _ => MsgKind::Replication,
        }
    }

    /// What a host whose process is down answers (a reset connection),
    /// for requests that expect an answer.
    pub fn refusal(&self) -> Option<KafkaWire> {
        match *self {
            KafkaWire::Produce { id, partition, acks, .. } if acks != Acks::None => {
                Some(KafkaWire::ProduceReply { id, partition, result: Err(ProduceError::NetworkException) })
            }
            KafkaWire::Fetch { partition, leader_epoch, .. } => {
                Some(KafkaWire::FetchError { partition, leader_epoch, error: KafkaError::NetworkException })
            }
            _ => None,
        }
    }

    /// What the trace and event log say about it.
    pub fn describe(&self) -> String {
        match *self {
            KafkaWire::Fetch { partition, leader_epoch, fetch_offset, replica, .. } => format!(
                "{} Fetch p{partition} from offset {fetch_offset} (leader epoch {leader_epoch})",
                if replica { "replica" } else { "consumer" }
            ),
            KafkaWire::Record { partition, batch } => {
                format!("record p{partition}@{} (epoch {}) = {}", batch.offset, batch.epoch, batch.record.value)
            }
            KafkaWire::FetchEnd { partition, count, high_watermark, .. } => {
                format!("Fetch answer p{partition}: {}, high watermark {high_watermark}", records(count as usize))
            }
            KafkaWire::FetchDiverging { partition, epoch, end_offset, .. } => {
                format!("Fetch answer p{partition}: diverging, epoch {epoch} ends at {end_offset}")
            }
            KafkaWire::FetchError { partition, error, .. } => format!("Fetch answer p{partition}: {}", error.name()),
            KafkaWire::Produce { partition, first_seq, count, producer_epoch, acks, .. } => {
                // Only an idempotent producer's batches carry a sequence
                // on the wire (Kafka's NO_SEQUENCE otherwise).
                let seq =
                    if producer_epoch == NO_PRODUCER_EPOCH { String::new() } else { format!(" from seq {first_seq}") };
                format!("Produce p{partition}: {}{seq}, acks={}", records(count as usize), acks.name())
            }
            KafkaWire::ProduceReply { partition, result: Ok(o), .. } => {
                format!("Produce answer p{partition}: offset {o}")
            }
            KafkaWire::ProduceReply { partition, result: Err(e), .. } => {
                format!("Produce answer p{partition}: {}", e.name())
            }
            KafkaWire::MetadataRequest => "Metadata request".into(),
            KafkaWire::PartitionLeader { partition, leader, leader_epoch } => match leader {
                Some(l) => format!("Metadata: p{partition} led by node {l} (epoch {leader_epoch})"),
                None => format!("Metadata: p{partition} has no leader"),
            },
            KafkaWire::BrokerHeartbeat { metadata_index, .. } => {
                format!("BrokerHeartbeat (metadata at {metadata_index})")
            }
            KafkaWire::BrokerHeartbeatReply { ok: true, .. } => "BrokerHeartbeat answer".into(),
            KafkaWire::BrokerHeartbeatReply { ok: false, .. } => "BrokerHeartbeat answer: NOT_CONTROLLER".into(),
            KafkaWire::Metadata { index, .. } => format!("metadata log entry {index}"),
            KafkaWire::MetadataFetch { from } => format!("metadata fetch from {from}"),
            KafkaWire::AlterPartition { partition, isr, .. } => {
                format!("AlterPartition p{partition}: ISR {}", super::metadata::describe_set(isr))
            }
            KafkaWire::ConnectionClosed => "connection reset (the process died)".into(),
            KafkaWire::JoinGroup { group, .. } => format!("JoinGroup (group {group})"),
            KafkaWire::ListOffsets { partition } => format!("ListOffsets p{partition} (latest)"),
            KafkaWire::ListOffsetsReply { partition, offset: Ok(o) } => format!("ListOffsets answer p{partition}: {o}"),
            KafkaWire::ListOffsetsReply { partition, offset: Err(e) } => {
                format!("ListOffsets answer p{partition}: {}", e.name())
            }
            KafkaWire::Assignment { generation, partitions, .. } => {
                let list: Vec<String> =
                    (0..64).filter(|p| partitions & (1 << p) != 0).map(|p| format!("p{p}")).collect();
                format!("SyncGroup answer: generation {generation}, partitions [{}]", list.join(", "))
            }
            KafkaWire::Heartbeat { generation, .. } => format!("Heartbeat (generation {generation})"),
            KafkaWire::HeartbeatReply { error: None, .. } => "Heartbeat answer".into(),
            KafkaWire::HeartbeatReply { error: Some(e), .. } => format!("Heartbeat answer: {}", e.name()),
            KafkaWire::OffsetCommit { partition, offset, generation, .. } => {
                format!("OffsetCommit p{partition}: next offset {offset} (generation {generation})")
            }
            KafkaWire::OffsetCommitReply { partition, offset, error: None, .. } => {
                format!("OffsetCommit answer p{partition}: {offset} committed")
            }
            KafkaWire::OffsetCommitReply { partition, error: Some(e), .. } => {
                format!("OffsetCommit answer p{partition}: {}", e.name())
            }
            KafkaWire::OffsetFetch { partition, .. } => format!("OffsetFetch p{partition}"),
            KafkaWire::OffsetFetchReply { partition, offset: Some(o), .. } => {
                format!("OffsetFetch answer p{partition}: committed {o}")
            }
            KafkaWire::OffsetFetchReply { partition, error: Some(e), .. } => {
                format!("OffsetFetch answer p{partition}: {}", e.name())
            }
            KafkaWire::OffsetFetchReply { partition, .. } => format!("OffsetFetch answer p{partition}: none"),
            KafkaWire::AlterPartitionReply { partition, error: None } => format!("AlterPartition answer p{partition}"),
            KafkaWire::AlterPartitionReply { partition, error: Some(e) } => {
                format!("AlterPartition answer p{partition}: {}", e.name())
            }
        }
    }
}

/// `1 record`, `3 records`.
pub(crate) fn records(count: usize) -> String {
    if count == 1 {
        "1 record".to_string()
    } else {
        format!("{count} records")
    }
}
