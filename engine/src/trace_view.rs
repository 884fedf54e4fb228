//! Trace events in words: for trace files (JSON lines) and the UI's event
//! log. Node ids become names; every event gets a sentence.

use crate::components::load_balancer::backend_name;
use crate::components::load_balancer::retry_on::L7Failure;
use crate::components::Component;
use crate::kafka::metadata::BrokerSet;
use crate::kafka::wire::KafkaWire;
use crate::kafka::BrokerId;
use crate::message::{Message, MsgKind, NodeId};
use crate::network::DropReason;
use crate::raft::{MsgType, RoleCause};
use crate::scenario::ComponentSpec;
use crate::sim::Simulation;
use crate::time::{format_time_short, Time};
use crate::trace::{AbortReason, LinkDown, NodeChange, Note, RaftBound, ReplicaDrop, TraceEvent, What};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceLine {
    pub n: u64,
    pub t_ns: Time,
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<MsgKind>,
    /// For messages: when it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_ns: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    /// For a queued step of a request path: when it left the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_ns: Option<Time>,
    /// What happened, as a sentence.
    pub text: String,
}

impl Simulation {
    /// Why the Raft member `node` took its role in `term`, in words (`a
    /// MsgHeartbeatResp from kv3 carried term 7`); nothing for a start.
    pub fn raft_cause(&self, node: NodeId, cause: RoleCause<NodeId>, term: u64) -> Option<String> {
        let name = |id: NodeId| self.node_name(id);
        let why = match cause {
            RoleCause::Start => return None,
            RoleCause::HigherTerm { from, kind } => {
                format!("a {} from {} carried term {term}", kind.name(), name(from))
            }
            RoleCause::ElectionTimeout { ticks } => {
                let tick = match &self.scenario().nodes[node as usize].component {
                    ComponentSpec::RaftKv(c) => Some(c.tick),
                    ComponentSpec::KafkaController(c) => Some(c.tick),
                    _ => None,
                };
                // Ticks, not seconds: the first tick after the last
                // leader's message may come at once or a whole tick later.
                let of = tick.map_or(String::new(), |t| format!(" of {t}"));
                format!("its election timeout ran out: no message from a leader for {ticks} ticks{of}")
            }
            RoleCause::PreVoteWon { granted, members, .. } => format!("pre-votes from {granted} of {members}"),
            RoleCause::VoteWon { granted, members, .. } => format!("votes from {granted} of {members}"),
            RoleCause::VoteLost { kind, rejected, members, .. } => {
                let what = if kind == MsgType::PreVoteResp { "pre-votes" } else { "votes" };
                format!("{what} refused by {rejected} of {members}")
            }
            RoleCause::QuorumNotActive { active, members } => format!(
                "CheckQuorum: it heard from only {} of the other {} in an election timeout",
                active.saturating_sub(1),
                members.saturating_sub(1)
            ),
            RoleCause::LeaderOfTerm { from, kind } => {
                format!("a {} from {}, the leader of term {term}", kind.name(), name(from))
            }
        };
        Some(why)
    }

    /// Why the broker `node` leads a partition, from the leader and ISR
    /// the controller's change replaced: nothing at a broker's start.
    fn kafka_election(&self, node: NodeId, before: Option<(Option<BrokerId>, BrokerSet)>) -> String {
        let Some((was_leader, was_isr)) = before else { return String::new() };
        let id = |n: &str| self.node_id(n).unwrap_or(0);
        let me = self
            .scenario()
            .kafka_cluster(node as usize, id)
            .and_then(|c| c.brokers.iter().position(|&b| b == node))
            .map_or(0, |i| 1 << i);
        let rule = "the first live in-sync replica in assignment order";
        if was_isr & me == 0 {
            let was = self.kafka_brokers(node, was_isr);
            return format!(" (an unclean election: it was not in the ISR {was}, so records only {was} had are lost)");
        }
        match was_leader {
            Some(l) if 1 << l == me => " (chosen again by the controller)".to_string(),
            // The controller moves a leadership only when it fences the
            // leader (`kafka::controller::fence`).
            Some(l) => {
                format!(" (chosen by the controller when it fenced {}: {rule})", self.kafka_brokers(node, 1 << l))
            }
            None => format!(" (chosen by the controller for a partition without a leader: {rule})"),
        }
    }

    /// A set of brokers of `node`'s Kafka cluster, by name: `[b1, b3]`.
    fn kafka_brokers(&self, node: NodeId, set: crate::kafka::metadata::BrokerSet) -> String {
        let id = |n: &str| self.node_id(n).unwrap_or(0);
        match self.scenario().kafka_cluster(node as usize, id) {
            Some(c) => {
                let names: Vec<&str> = c
                    .brokers
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| set & (1 << i) != 0)
                    .map(|(_, &b)| self.node_name(b))
                    .collect();
                format!("[{}]", names.join(", "))
            }
            None => crate::kafka::metadata::describe_set(set),
        }
    }

    pub fn trace_line(&self, e: &TraceEvent) -> TraceLine {
        let name = |id: NodeId| self.node_name(id).to_string();
        let mut line = TraceLine {
            n: e.n,
            t_ns: e.time,
            event: "",
            node: None,
            from: None,
            to: None,
            kind: None,
            sent_ns: None,
            reason: None,
            until_ns: None,
            text: String::new(),
        };
        match e.what {
            What::Deliver { from, to, sent_at, msg } => {
                line.event = "deliver";
                line.kind = Some(msg.kind());
                line.sent_ns = Some(sent_at);
                line.text = format!(
                    "{} receives {} from {} (sent at {})",
                    name(to),
                    self.describe_msg(&msg),
                    name(from),
                    format_time_short(sent_at)
                );
                line.from = Some(name(from));
                line.to = Some(name(to));
            }
            What::Drop { from, to, sent_at, msg, reason } => {
                line.event = "drop";
                line.sent_ns = Some(sent_at);
                line.kind = Some(msg.kind());
                line.reason = Some(reason);
                let why = match reason {
                    DropReason::Loss => "lost on the link",
                    DropReason::Partition => "blocked by a partition",
                    DropReason::NodeDown => "not received: the process is down",
                    DropReason::NoRoute => "not sent: no link",
                    DropReason::BufferFull => "dropped: the paused node's buffer is full",
                    DropReason::NotConnected => "never sent: the connection's SYN-ACK did not get back",
                    DropReason::HoldFull => "dropped: the held link already holds limits.held_backlog messages",
                };
                line.text = format!("{} from {} to {} {why}", self.describe_msg(&msg), name(from), name(to));
                line.from = Some(name(from));
                line.to = Some(name(to));
            }
            What::Hold { from, to, sent_at, msg } => {
                line.event = "hold";
                line.sent_ns = Some(sent_at);
                line.kind = Some(msg.kind());
                line.text = format!(
                    "{} from {} to {} held: the link is held, it waits until released",
                    self.describe_msg(&msg),
                    name(from),
                    name(to)
                );
                line.from = Some(name(from));
                line.to = Some(name(to));
            }
            What::Release { a, b, messages } => {
                line.event = "release";
                line.text = match messages {
                    0 => format!("released link {} - {}: it held nothing", name(a), name(b)),
                    1 => format!("released link {} - {}: the message it held goes on", name(a), name(b)),
                    n => format!(
                        "released link {} - {}: the {n} messages it held go on, in the order they reached it",
                        name(a),
                        name(b)
                    ),
                };
            }
            What::Timer { node, timer } => {
                line.event = "timer";
                line.text = format!("{}: timer {timer:?}", name(node));
                line.node = Some(name(node));
            }
            What::Node { node, change } => {
                line.event = "node";
                let n = self.node(node);
                line.text = match change {
                    NodeChange::Started => format!("{} started", name(node)),
                    NodeChange::Crashed => format!("{} crashed", name(node)),
                    NodeChange::Restarted => format!("{} restarted", name(node)),
                    NodeChange::Paused => format!("{} paused", name(node)),
                    NodeChange::Resumed => format!("{} resumed", name(node)),
                    NodeChange::ClockSkewed => format!("{}'s clock was skewed", name(node)),
                    NodeChange::Slowed => format!("{} now runs x{} slower", name(node), n.rt.slowdown),
                };
                line.node = Some(name(node));
            }
            What::Fault { index } => {
                line.event = "fault";
                line.text = format!("fault: {}", self.describe_fault(index));
            }
            What::Note { node, note } => {
                line.event = "note";
                line.text = format!("{}: {}", name(node), self.describe_note(node, note));
                line.node = Some(name(node));
            }
            What::Tick => {
                line.event = "tick";
                line.text = "metrics interval closed".into();
            }
        }
        line
    }

    /// A message in words, with the URL path of requests.
    pub fn describe_msg(&self, msg: &Message) -> String {
        match msg {
            Message::Request(r) => format!("{} {}", msg.describe(), self.path(r.path)),
            // The leader by its name (the message carries its node id).
            &Message::Kafka(KafkaWire::PartitionLeader { partition, leader: Some(l), leader_epoch }) => {
                format!("Metadata: p{partition} led by {} (epoch {leader_epoch})", self.node_name(l))
            }
            // A producer's record: the producer, named, and its sequence
            // number; otherwise a group's commit.
            &Message::Kafka(KafkaWire::Record { partition, batch }) if batch.record.is_produced_in(partition) => {
                format!(
                    "record p{partition}@{} (epoch {}) = {}'s record {}",
                    batch.offset,
                    batch.epoch,
                    self.node_name(batch.record.producer()),
                    batch.record.seq()
                )
            }
            &Message::Kafka(KafkaWire::Record { partition, batch }) => {
                let (group, committed) = crate::components::kafka::coordinator::offset_key_parts(batch.record.key);
                format!(
                    "record p{partition}@{} (epoch {}) = group {group}'s commit: p{committed} next offset {}",
                    batch.offset, batch.epoch, batch.record.value
                )
            }
            _ => msg.describe(),
        }
    }

    fn describe_note(&self, node: NodeId, note: Note) -> String {
        let name = |id: NodeId| self.node_name(id).to_string();
        match note {
            Note::ServerDown { server, reason, .. } => {
                format!("server {} is DOWN, reason: {}", name(server), reason.describe())
            }
            Note::ServerUp { server, reason, .. } => {
                format!("server {} is UP, reason: {}", name(server), reason.describe())
            }
            Note::CheckFailed { server, health, reason } => {
                format!("health check of {} failed (health {health}), reason: {}", name(server), reason.describe())
            }
            Note::CheckPassed { server, health, reason } => {
                format!("health check of {} passed (health {health}), reason: {}", name(server), reason.describe())
            }
            Note::NoServerAvailable => "no server available: 503".into(),
            Note::QueueFull { queued } => format!("queue full ({queued} waiting): 503"),
            Note::BacklogFull => "listen backlog full: connection dropped".into(),
            Note::Promoted { epoch, by } => {
                use crate::components::database::promotion::Promotion;
                match by {
                    Promotion::Operator => format!("promoted to primary (epoch {epoch}) by an operator"),
                    Promotion::Failover { primary, silence, detect_after } => format!(
                        "promoted to primary (epoch {epoch}): nothing from the primary {} for {}, over failover.detect_after ({detect_after})",
                        name(primary),
                        format_time_short(silence.nanos)
                    ),
                }
            }
            Note::Demoted { epoch } => format!("another primary leads epoch {epoch}: now a replica"),
            Note::SemiSyncOff { lsn } => format!(
                "semi-sync switched OFF: no replica acknowledged lsn {lsn} within semi_sync_timeout; writes are acknowledged at once until a replica catches up"
            ),
            Note::SemiSyncOn { lsn } => format!("semi-sync switched ON: a replica caught up (lsn {lsn})"),
            Note::QueueTimeout => "request waited longer than timeout queue: 503".into(),
            Note::Retried { server, attempt } => {
                format!("connection to {} failed (attempt {attempt}); retrying", name(server))
            }
            Note::L7Retry { server, attempt, failure } => {
                let what = match failure {
                    L7Failure::Status(status) => format!("{} answered {status}", name(server)),
                    L7Failure::EmptyResponse => format!("{} closed the connection without an answer", name(server)),
                    L7Failure::ResponseTimeout => format!("no answer from {} within timeout server", name(server)),
                };
                format!("{what} (attempt {attempt}); retry-on: sending it again")
            }
            Note::ServerAdmin { server, state, was_up } => {
                use crate::components::load_balancer::admin::AdminState;
                let what = match state {
                    AdminState::Ready => "is ready: back in the rotation once UP",
                    AdminState::Drain => "is draining: no new requests, what it holds finishes",
                    AdminState::Maint if was_up => "is going DOWN for maintenance: checks stop",
                    AdminState::Maint => "is in maintenance: checks stop",
                };
                format!("{} {what} (set server state {state})", name(server))
            }
            Note::ServerWeight { server, weight: 0 } => {
                format!("{}'s weight is 0: no new requests (set server weight)", name(server))
            }
            Note::ServerWeight { server, weight } => {
                format!("{}'s weight is {weight} now (set server weight)", name(server))
            }
            Note::CommandRefused => {
                "the operator's command was refused: the process is down (connection refused)".to_string()
            }
            Note::RaftRefused { bound, limit } => match bound {
                RaftBound::MaxLogEntries => {
                    format!("raft: a write refused: the log holds max_log_entries ({limit}) entries not yet compacted")
                }
                RaftBound::MaxPendingReads => {
                    format!("raft: a read refused: max_pending_reads ({limit}) reads already wait for confirmation")
                }
                RaftBound::MaxPending => format!("raft: a request refused: max_pending ({limit}) requests already wait"),
                RaftBound::Commands => format!("raft: a write refused: the run has filed its most writes ({limit})"),
            },
            Note::RaftSnapshot { index, compacted } => {
                format!("raft: snapshot at index {index}; log compacted up to {compacted}")
            }
            Note::RaftSnapshotLoaded { index, leader } => format!(
                "raft: loaded {}'s snapshot up to index {index} (the entries it lacked were compacted away)",
                name(leader)
            ),
            Note::BackupSessionsShutDown { server, backup, sessions } => {
                let held = match sessions {
                    1 => "the request it held gets".to_string(),
                    n => format!("the {n} requests it held get"),
                };
                format!(
                    "{} is UP: backup {}: {held} a 502 at once (on-marked-up shutdown-backup-sessions)",
                    name(server),
                    name(backup)
                )
            }
            Note::SessionsShutDown { server, sessions } => {
                let held = match sessions {
                    1 => "the request it held gets".to_string(),
                    n => format!("the {n} requests it held get"),
                };
                format!("{} is DOWN: {held} a 502 at once (on-marked-down shutdown-sessions)", name(server))
            }
            Note::ClientAborted { client, at } => format!(
                "{} closed its connection {}: request dropped (abortonclose, {})",
                name(client),
                at.describe(),
                at.termination()
            ),
            Note::RaftRole { role, term, cause } => {
                let why = self.raft_cause(node, cause, term).map_or(String::new(), |w| format!(" ({w})"));
                format!("raft: {} in term {term}{why}", role.name())
            }
            Note::KafkaLeader { partition, leader_epoch, isr, before } => format!(
                "kafka: leader of partition {partition} in leader epoch {leader_epoch}, ISR {}{}",
                self.kafka_brokers(node, isr),
                self.kafka_election(node, before)
            ),
            Note::KafkaIsr { partition, isr, was, change } => {
                use crate::kafka::isr_change::IsrChange;
                let (left, joined) = (self.kafka_brokers(node, was & !isr), self.kafka_brokers(node, isr & !was));
                let why = match change {
                    IsrChange::Shrunk { lag_max } => format!(
                        "shrunk by the leader: {left} not caught up with its log end for over {lag_max} (replica.lag.time.max.ms)"
                    ),
                    IsrChange::Expanded => format!("expanded by the leader: {joined} caught up to the high watermark"),
                    IsrChange::Controller if isr & !was == 0 => format!("{left} taken out by the controller, which fenced it"),
                    IsrChange::Controller => "changed by the controller".to_string(),
                };
                format!("kafka: partition {partition} ISR is now {} ({why})", self.kafka_brokers(node, isr))
            }
            Note::KafkaTruncated { partition, offset, dropped } => {
                format!("kafka: partition {partition} truncated to offset {offset} ({dropped} records dropped)")
            }
            Note::KafkaRegistered { broker } => format!(
                "kafka: broker {} registered again after a restart: fenced until it catches up",
                self.kafka_brokers(node, 1 << broker).trim_matches(|c| c == '[' || c == ']')
            ),
            Note::AofLoaded { keys } => format!("loaded {keys} keys from the append-only file"),
            Note::RdbSaved { keys } => format!("saved an RDB snapshot: {keys} keys to dump.rdb"),
            Note::RdbFileLoaded { keys } => format!("loaded {keys} keys from dump.rdb"),
            Note::KafkaRequestTimeout { broker, in_flight } => format!(
                "kafka: disconnecting from {} due to request timeout: {}",
                name(broker),
                if in_flight == 1 {
                    "the request in flight on the connection fails".to_string()
                } else {
                    format!("the {in_flight} requests in flight on the connection fail")
                }
            ),
            Note::KafkaRetrying { partition, records, retry, error } => format!(
                "kafka: {} for partition {partition}, retrying a batch of {records} record{} (retry {retry})",
                error.name(),
                if records == 1 { "" } else { "s" }
            ),
            Note::KafkaLogRecovered { partition, offset, lost } => format!(
                "kafka: log recovery after the power loss: partition {partition} ends at offset {offset}; {lost} records had not reached the disk"
            ),
            Note::KafkaFence { broker, fenced, restarted } => {
                let session = self.scenario().kafka_cluster(node as usize, |n| self.node_id(n).unwrap_or(0));
                let why = match (fenced, restarted, session) {
                    (false, _, _) => ": heartbeating again and caught up with the metadata log".to_string(),
                    (true, true, _) => ": it came back as a new process, and stays fenced until it catches up".to_string(),
                    (true, false, Some(c)) => {
                        format!(": no heartbeat for broker.session.timeout.ms ({})", c.session_timeout)
                    }
                    (true, false, None) => String::new(),
                };
                format!(
                    "kafka: broker {} {}{why}",
                    self.kafka_brokers(node, 1 << broker).trim_matches(|c| c == '[' || c == ']'),
                    if fenced { "fenced" } else { "unfenced" }
                )
            }
            Note::UseBackend { rule } => match &self.node(node).component {
                Component::LoadBalancer(lb) => match lb.config.use_backend.get(usize::from(rule)) {
                    Some(r) => format!("use_backend {}: to backend {}", r.words(), r.backend),
                    None if lb.config.servers.is_empty() => {
                        "no use_backend rule applies and there is no default backend: 503".to_string()
                    }
                    None => {
                        let name = backend_name(self.node_name(node), &lb.config, 0);
                        format!("no use_backend rule applies: to default backend {name}")
                    }
                },
                _ => format!("use_backend rule #{rule}"),
            },
            Note::ClientOverloaded { outstanding } => format!("{outstanding} requests outstanding: request not sent"),
            Note::CacheRole { primary: Some(p) } => format!("REPLICAOF {}: now a replica", name(p)),
            Note::CacheRole { primary: None } => "REPLICAOF NO ONE: now a primary".into(),
            Note::FullResync { replica } => format!("full resync of replica {} (+FULLRESYNC)", name(replica)),
            Note::PartialResync { replica, offset } => {
                format!("partial resync of replica {} from offset {offset} (+CONTINUE)", name(replica))
            }
            Note::RdbLoaded { keys, offset } => {
                format!("flushed its data and loaded the primary's RDB: {keys} keys, offset {offset}")
            }
            Note::ReplLinkDown { primary, reason } => {
                let why = match reason {
                    LinkDown::Timeout => "nothing received for repl-timeout",
                    LinkDown::Closed => "connection closed",
                    LinkDown::Gap => "part of the stream was lost",
                    LinkDown::BrokenRdb => "the RDB did not arrive whole",
                };
                format!("link to primary {} is down ({why})", name(primary))
            }
            Note::ReplicaDropped { replica, reason } => {
                let why = match reason {
                    ReplicaDrop::AckTimeout => "no REPLCONF ACK from it for repl-timeout",
                    ReplicaDrop::Closed => "it closed the connection",
                    ReplicaDrop::BacklogGap => "what it must be sent again is no longer in the backlog",
                };
                format!("dropped replica {} ({why})", name(replica))
            }
            Note::WaitClientsFull => "too many clients blocked in WAIT: refused".into(),
            Note::Sdown { node } => format!("+sdown {}", name(node)),
            Note::SdownCleared { node } => format!("-sdown {}", name(node)),
            Note::Odown { primary, agree } => format!("+odown {} (#quorum {agree})", name(primary)),
            Note::OdownCleared { primary } => format!("-odown {}", name(primary)),
            Note::FailoverStarted { epoch } => format!("+try-failover, +new-epoch {epoch}, asking for votes"),
            Note::FailoverLeader { epoch, votes } => format!("+elected-leader for epoch {epoch} ({votes} votes)"),
            Note::PromotingReplica { replica } => format!("+selected-slave {}: REPLICAOF NO ONE", name(replica)),
            Note::FailoverAborted { epoch, reason } => {
                let why = match reason {
                    AbortReason::NotElected => "not elected in time",
                    AbortReason::NoGoodReplica => "no good replica to promote",
                    AbortReason::PromotionTimeout => "the replica did not become primary in time",
                };
                format!("-failover-abort (epoch {epoch}): {why}")
            }
            Note::SwitchMaster { from, to, epoch } => {
                format!("+switch-master {} -> {} (epoch {epoch})", name(from), name(to))
            }
            Note::ConvertingToReplica { node } => format!("+convert-to-slave {}", name(node)),
            Note::ReplicaOutputBufferFull { replica, bytes } => format!(
                "replica {} dropped: {bytes} bytes held for it passed the replica output buffer limit",
                name(replica)
            ),
            Note::BacklogFreed => "no replicas for repl-backlog-ttl: replication backlog freed".into(),
            Note::ErrorLimit { server, errors, last, on_error, health } => format!(
                "health analysis of {}: {errors} errors in a row (last: {}): on-error {}, health {health}",
                name(server),
                last.describe(),
                on_error.keyword()
            ),
        }
    }
}
