//! Redis 7.0's replication bookkeeping (`replication.c`) as pure data: the
//! replication ids and offset, the backlog, what a primary knows of its
//! replicas, and the decisions that depend only on them (partial or full
//! resynchronisation, WAIT's count, `min-replicas-to-write`). The cache
//! node (`components/cache`) sends and receives the messages.
//!
//! # Offsets
//!
//! `master_repl_offset` counts the bytes of the replication stream, as
//! Redis does: each command adds the length of its RESP encoding,
//!
//! ```text
//! *<argc>\r\n  then, per argument,  $<len>\r\n<bytes>\r\n
//! ```
//!
//! so `SET k1 5 PXAT 1767225660000` adds 53 bytes. The stream holds, in
//! order: a `SELECT 0` (23 bytes) before the first write of a new stream
//! (after start-up, a full synchronisation or a promotion), every write in
//! the form the keyspace propagates it (`SET ... PXAT <ms>`, `DEL` for
//! expired and evicted keys, `PEXPIREAT`), a `PING` (14 bytes) every
//! `repl-ping-replica-period` seconds while replicas are attached, and a
//! `REPLCONF GETACK *` (37 bytes) when a WAIT blocks. Until the first
//! replica attaches there is no backlog and nothing is counted.
//!
//! # Backlog
//!
//! The backlog keeps the newest `repl-backlog-size` bytes of the stream, in
//! whole commands (Redis keeps bytes and may hold part of the oldest
//! command). A replica asking to continue from byte `o` (`PSYNC replid o`)
//! gets a partial resynchronisation if `replid` is the primary's, or its
//! previous one with `o <= second_replid_offset` (PSYNC2, after a
//! promotion), and the backlog still holds byte `o`; otherwise a full one.

use super::errors;
use super::keyspace::Argv;
use super::number::parse_i64;
use super::reply::Reply;
use crate::message::{NodeId, ReplCmd};
use std::collections::VecDeque;

/// The RESP length of a command: what it adds to the offset.
pub fn resp_len<A: AsRef<[u8]>>(argv: &[A]) -> u64 {
    fn digits(mut n: u64) -> u64 {
        let mut d = 1;
        while n >= 10 {
            n /= 10;
            d += 1;
        }
        d
    }
    let mut total = 1 + digits(argv.len() as u64) + 2;
    for a in argv {
        let len = a.as_ref().len() as u64;
        total += 1 + digits(len) + 2 + len + 2;
    }
    total
}

fn key_arg(key: u32) -> Vec<u8> {
    format!("k{key}").into_bytes()
}

fn parse_key(arg: &[u8]) -> Option<u32> {
    let digits = arg.strip_prefix(b"k")?;
    let key: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (key_arg(key) == arg).then_some(key)
}

fn parse_canonical<T: std::str::FromStr + ToString>(arg: &[u8]) -> Option<T> {
    let v: T = std::str::from_utf8(arg).ok()?.parse().ok()?;
    (v.to_string().as_bytes() == arg).then_some(v)
}

impl ReplCmd {
    /// The command as Redis sends it.
    pub fn argv(&self) -> Argv {
        let s = |x: &str| x.as_bytes().to_vec();
        match *self {
            ReplCmd::Select => vec![s("SELECT"), s("0")],
            ReplCmd::Ping => vec![s("PING")],
            ReplCmd::GetAck => vec![s("REPLCONF"), s("GETACK"), s("*")],
            ReplCmd::Set { key, value, pxat_ms: None } => vec![s("SET"), key_arg(key), s(&value.to_string())],
            ReplCmd::Set { key, value, pxat_ms: Some(at) } => {
                vec![s("SET"), key_arg(key), s(&value.to_string()), s("PXAT"), s(&at.to_string())]
            }
            ReplCmd::Del { key } => vec![s("DEL"), key_arg(key)],
            ReplCmd::PExpireAt { key, at_ms } => vec![s("PEXPIREAT"), key_arg(key), s(&at_ms.to_string())],
            ReplCmd::FlushAll => vec![s("FLUSHALL")],
            ReplCmd::Incr { key } => vec![s("INCR"), key_arg(key)],
            ReplCmd::Decr { key } => vec![s("DECR"), key_arg(key)],
            ReplCmd::IncrBy { key, by } => vec![s("INCRBY"), key_arg(key), s(&by.to_string())],
            ReplCmd::DecrBy { key, by } => vec![s("DECRBY"), key_arg(key), s(&by.to_string())],
            ReplCmd::Persist { key } => vec![s("PERSIST"), key_arg(key)],
        }
    }

    /// The bytes it adds to the replication offset.
    pub fn resp_len(&self) -> u64 {
        resp_len(&self.argv())
    }

    /// A propagated write in compact form, if it is one the simulation
    /// ships (keys `k<n>`, values that are integers of 0 to 2^64-1, as app
    /// servers write them). Round-trips exactly but for the case of the
    /// command's name (Redis propagates it as the client typed it; the
    /// length, which is what the offsets count, is the same).
    pub fn from_argv(argv: &[Vec<u8>]) -> Option<ReplCmd> {
        let name = argv.first()?.to_ascii_uppercase();
        let cmd = match (name.as_slice(), argv.len()) {
            (b"SET", 3) => ReplCmd::Set { key: parse_key(&argv[1])?, value: parse_canonical(&argv[2])?, pxat_ms: None },
            (b"SET", 5) if argv[3] == b"PXAT" => ReplCmd::Set {
                key: parse_key(&argv[1])?,
                value: parse_canonical(&argv[2])?,
                pxat_ms: Some(parse_canonical(&argv[4])?),
            },
            (b"DEL", 2) => ReplCmd::Del { key: parse_key(&argv[1])? },
            (b"PEXPIREAT", 3) => ReplCmd::PExpireAt { key: parse_key(&argv[1])?, at_ms: parse_canonical(&argv[2])? },
            (b"FLUSHALL", 1) => ReplCmd::FlushAll,
            (b"INCR", 2) => ReplCmd::Incr { key: parse_key(&argv[1])? },
            (b"DECR", 2) => ReplCmd::Decr { key: parse_key(&argv[1])? },
            (b"INCRBY", 3) => ReplCmd::IncrBy { key: parse_key(&argv[1])?, by: parse_canonical(&argv[2])? },
            (b"DECRBY", 3) => ReplCmd::DecrBy { key: parse_key(&argv[1])?, by: parse_canonical(&argv[2])? },
            (b"PERSIST", 2) => ReplCmd::Persist { key: parse_key(&argv[1])? },
            _ => return None,
        };
        let same = cmd
            .argv()
            .iter()
            .zip(argv)
            .enumerate()
            .all(|(i, (a, b))| if i == 0 { a.eq_ignore_ascii_case(b) } else { a == b });
        same.then_some(cmd)
    }

    /// Changes the data (so a `SELECT` goes before it in a new stream).
    pub fn is_write(&self) -> bool {
        !matches!(self, ReplCmd::Select | ReplCmd::Ping | ReplCmd::GetAck)
    }
}

/// The replication backlog: the newest commands of the stream, with the
/// offset each starts after, up to `size` bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Backlog {
    size: u64,
    entries: VecDeque<(u64, u64, ReplCmd)>,
    bytes: u64,
    /// The offset of the last byte held (the stream's end).
    end: u64,
    /// Commands starting at or after this offset are kept even beyond
    /// `size`: replicas being sent an RDB still need them (Redis 7.0 shares
    /// one replication buffer between the backlog and the replicas' output
    /// buffers). The node bounds this with the replica output buffer limit.
    pin: Option<u64>,
}

impl Backlog {
    /// An empty backlog whose next byte is `offset + 1`.
    pub fn new(size: u64, offset: u64) -> Backlog {
        Backlog { size, entries: VecDeque::new(), bytes: 0, end: offset, pin: None }
    }

    /// Keeps the commands from offset `pin` on (see [`Backlog`]); `None`
    /// releases them, trimming the backlog back to its size.
    pub fn set_pin(&mut self, pin: Option<u64>) {
        self.pin = pin;
        self.trim();
    }

    fn trim(&mut self) {
        while self.bytes > self.size && self.entries.len() > 1 {
            let front = self.entries.front().expect("not empty").0;
            if self.pin.is_some_and(|p| front >= p) {
                break;
            }
            let (_, len, _) = self.entries.pop_front().expect("not empty");
            self.bytes -= len;
        }
    }

    /// Appends a command that starts after byte `start` (the current end).
    pub fn push(&mut self, start: u64, cmd: ReplCmd) {
        assert_eq!(start, self.end, "the backlog grows at its end");
        let len = cmd.resp_len();
        self.entries.push_back((start, len, cmd));
        self.bytes += len;
        self.end = start + len;
        self.trim();
    }

    /// `repl_backlog->offset`: the offset of the first byte held.
    pub fn first_byte(&self) -> u64 {
        self.entries.front().map_or(self.end + 1, |e| e.0 + 1)
    }

    /// `repl_backlog_histlen`: bytes held.
    pub fn histlen(&self) -> u64 {
        self.bytes
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// The commands from byte `psync_offset` on, if the backlog holds it
    /// (`addReplyReplicationBacklog`), each with the offset it starts
    /// after.
    pub fn from(&self, psync_offset: u64) -> Option<Vec<(u64, ReplCmd)>> {
        if psync_offset < self.first_byte() || psync_offset > self.end + 1 {
            return None;
        }
        let start = psync_offset - 1;
        let i = self.entries.partition_point(|e| e.0 < start);
        if i < self.entries.len() && self.entries[i].0 != start {
            return None; // not a command boundary: the histories differ
        }
        Some(self.entries.iter().skip(i).map(|e| (e.0, e.2)).collect())
    }
}

/// How far a replica of this node has got (`slave->replstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for the next RDB transfer to start
    /// (`SLAVE_STATE_WAIT_BGSAVE_START`, for `repl-diskless-sync-delay`).
    WaitBgsave,
    /// Its RDB is being transferred (`SLAVE_STATE_SEND_BULK`).
    SendBulk { fork: u32 },
    /// Receiving the stream (`SLAVE_STATE_ONLINE`).
    Online,
}

/// A replica attached to this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaLink {
    pub node: NodeId,
    /// The replication connection, as chosen by the replica.
    pub conn: u32,
    pub state: ReplicaState,
    /// `repl_ack_off`: the highest offset it acknowledged.
    pub ack_offset: u64,
    /// `repl_ack_time`: when it last acknowledged, in Unix seconds of this
    /// node's clock (`server.unixtime`).
    pub ack_time_s: i64,
    /// The primary's offset when the previous ACK arrived: what the replica
    /// should have by the next one (the model's stand-in for TCP's
    /// retransmission timer).
    pub sent_mark: u64,
}

/// A primary's answer to `PSYNC`.
#[derive(Clone, Debug, PartialEq)]
pub enum PsyncAnswer {
    /// `+CONTINUE`: these commands follow.
    Continue(Vec<(u64, ReplCmd)>),
    /// `+FULLRESYNC`.
    Full,
}

/// A node's replication state: ids, offset, backlog, its replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplState {
    /// `server.replid` (40 hex characters in Redis; 64 bits here).
    pub replid: u64,
    /// `server.replid2`: the previous id, valid up to
    /// `second_replid_offset` (0: none).
    pub replid2: u64,
    /// `server.second_replid_offset`; `None` is Redis's -1.
    pub second_replid_offset: Option<u64>,
    pub master_repl_offset: u64,
    pub backlog: Option<Backlog>,
    backlog_size: u64,
    /// `server.slaveseldb == 0`: the stream has had its `SELECT 0`.
    selected: bool,
    pub replicas: Vec<ReplicaLink>,
}

impl ReplState {
    pub fn new(replid: u64, backlog_size: u64) -> ReplState {
        ReplState {
            replid,
            replid2: 0,
            second_replid_offset: None,
            master_repl_offset: 0,
            backlog: None,
            backlog_size,
            selected: false,
            replicas: Vec::new(),
        }
    }

    /// `replicationFeedSlaves`: a command of this primary's own goes into
    /// the stream. Returns what to send to the replicas that receive the
    /// stream (a `SELECT 0` first, if the stream has had none), each with
    /// the offset it starts after. Nothing, and no offset, without a
    /// backlog (no replica ever attached).
    pub fn feed(&mut self, cmd: ReplCmd) -> Vec<(u64, ReplCmd)> {
        if self.backlog.is_none() {
            debug_assert!(self.replicas.is_empty(), "replicas imply a backlog");
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        if cmd.is_write() && !self.selected {
            self.selected = true;
            out.push(self.append(ReplCmd::Select));
        }
        out.push(self.append(cmd));
        out
    }

    fn append(&mut self, cmd: ReplCmd) -> (u64, ReplCmd) {
        let start = self.master_repl_offset;
        if let Some(b) = &mut self.backlog {
            b.push(start, cmd);
        }
        self.master_repl_offset = start + cmd.resp_len();
        (start, cmd)
    }

    /// `replicationFeedStreamFromMasterStream`: a replica takes a command
    /// of its primary's stream, at the primary's offset, into its own
    /// backlog (for its own replicas and a later PSYNC2).
    pub fn feed_from_primary(&mut self, start: u64, cmd: ReplCmd) {
        debug_assert_eq!(start, self.master_repl_offset);
        let start = self.master_repl_offset;
        if let Some(b) = &mut self.backlog {
            b.push(start, cmd);
        }
        self.master_repl_offset = start + cmd.resp_len();
    }

    /// `masterTryPartialResynchronization`.
    pub fn psync(&self, replid: u64, psync_offset: u64) -> PsyncAnswer {
        let known = replid == self.replid
            || (replid != 0
                && replid == self.replid2
                && self.second_replid_offset.is_some_and(|second| psync_offset <= second));
        match (&self.backlog, known) {
            (Some(b), true) => b.from(psync_offset).map_or(PsyncAnswer::Full, PsyncAnswer::Continue),
            _ => PsyncAnswer::Full,
        }
    }

    /// `syncCommand`: the first replica creates the backlog, under a new
    /// replication id (`changeReplicationId`, `clearReplicationId2`).
    pub fn create_backlog(&mut self, new_replid: u64) {
        if self.backlog.is_none() {
            self.replid = new_replid;
            self.replid2 = 0;
            self.second_replid_offset = None;
            self.backlog = Some(Backlog::new(self.backlog_size, self.master_repl_offset));
        }
    }

    /// `freeReplicationBacklog` (after `repl-backlog-ttl` without
    /// replicas, or when a replica starts over from a full copy).
    pub fn free_backlog(&mut self) {
        self.backlog = None;
    }

    /// `shiftReplicationId`: a replica that becomes a primary takes a new
    /// id and keeps the old one for replicas that followed the same
    /// history (PSYNC2).
    pub fn shift_replid(&mut self, new_replid: u64) {
        self.replid2 = self.replid;
        self.second_replid_offset = Some(self.master_repl_offset + 1);
        self.replid = new_replid;
        self.selected = false;
    }

    /// A full synchronisation completed at `offset` under `replid`: the
    /// dataset, id and offset are the primary's, and the backlog starts
    /// afresh there.
    pub fn reset_to(&mut self, replid: u64, offset: u64) {
        self.replid = replid;
        self.replid2 = 0;
        self.second_replid_offset = None;
        self.master_repl_offset = offset;
        self.backlog = Some(Backlog::new(self.backlog_size, offset));
        self.selected = false;
    }

    /// A new replica stream must start with a `SELECT`
    /// (`server.slaveseldb = -1`).
    pub fn force_select(&mut self) {
        self.selected = false;
    }

    /// `replicationCountAcksByOffset`: online replicas that acknowledged
    /// `offset` or more.
    pub fn count_acks(&self, offset: u64) -> u32 {
        self.replicas.iter().filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset).count() as u32
    }

    /// `refreshGoodSlavesCount`: online replicas whose last ACK is at most
    /// `max_lag_s` seconds old (by `server.unixtime`).
    pub fn good_replicas(&self, now_s: i64, max_lag_s: u32) -> u32 {
        self.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now_s - r.ack_time_s <= i64::from(max_lag_s))
            .count() as u32
    }

    pub fn replica_mut(&mut self, node: NodeId, conn: u32) -> Option<&mut ReplicaLink> {
        self.replicas.iter_mut().find(|r| r.node == node && r.conn == conn)
    }
}

/// `waitCommand`'s arguments: the number of replicas and the timeout in
/// milliseconds (0: none), or the error reply Redis 7.0 gives.
pub fn parse_wait(argv: &[&[u8]]) -> Result<(i64, i64), Reply> {
    if argv.len() != 3 {
        return Err(Reply::Error(errors::wrong_arity("wait")));
    }
    let numreplicas = parse_i64(argv[1]).ok_or_else(|| Reply::error(errors::NOT_AN_INTEGER))?;
    let timeout = parse_i64(argv[2]).ok_or_else(|| Reply::error(errors::TIMEOUT_NOT_AN_INTEGER))?;
    if timeout < 0 {
        return Err(Reply::error(errors::TIMEOUT_NEGATIVE));
    }
    Ok((numreplicas, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: u32, value: u64, pxat_ms: Option<i64>) -> ReplCmd {
        ReplCmd::Set { key, value, pxat_ms }
    }

    #[test]
    fn resp_lengths_are_the_bytes_redis_sends() {
        assert_eq!(ReplCmd::Select.resp_len(), b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".len() as u64);
        assert_eq!(ReplCmd::Select.resp_len(), 23);
        assert_eq!(ReplCmd::Ping.resp_len(), 14);
        assert_eq!(ReplCmd::GetAck.resp_len(), 37);
        // *5 $3 SET $2 k1 $1 5 $4 PXAT $13 1767225660000
        assert_eq!(set(1, 5, Some(1_767_225_660_000)).resp_len(), 4 + 9 + 8 + 7 + 10 + 20);
        assert_eq!(ReplCmd::Del { key: 42 }.resp_len(), 4 + 9 + 9);
        let argv: Vec<Vec<u8>> = vec![b"x".repeat(10), b"y".repeat(100)];
        assert_eq!(resp_len(&argv), 4 + (5 + 10 + 2) + (6 + 100 + 2));
    }

    #[test]
    fn propagated_writes_round_trip_and_odd_ones_do_not_convert() {
        for cmd in [
            set(0, 0, None),
            set(7, u64::MAX, Some(-5)),
            ReplCmd::Del { key: u32::MAX },
            ReplCmd::PExpireAt { key: 3, at_ms: 1_767_225_600_000 },
            ReplCmd::FlushAll,
            ReplCmd::Incr { key: 1 },
            ReplCmd::DecrBy { key: 2, by: -7 },
            ReplCmd::Persist { key: 9 },
        ] {
            assert_eq!(ReplCmd::from_argv(&cmd.argv()), Some(cmd));
        }
        let argv = |s: &str| -> Argv { s.split(' ').map(|a| a.as_bytes().to_vec()).collect() };
        for odd in
            ["SET k01 5", "SET x 5", "SET k1 -5", "SET k1 5 PX 100", "DEL k1 k2", "INCRBY k1 +1", "MSET k1 1 k2 2"]
        {
            assert_eq!(ReplCmd::from_argv(&argv(odd)), None, "{odd}");
        }
        assert_eq!(ReplCmd::from_argv(&argv("set k1 5")), Some(set(1, 5, None)), "any case");
    }

    #[test]
    fn offsets_count_select_writes_pings_and_getacks() {
        let mut r = ReplState::new(1, 1 << 20);
        assert!(r.feed(set(1, 1, None)).is_empty(), "no backlog yet: nothing is counted");
        assert_eq!(r.master_repl_offset, 0);
        r.create_backlog(2);
        assert_eq!(r.replid, 2, "a new id with the backlog");
        assert_eq!(r.feed(ReplCmd::Ping), vec![(0, ReplCmd::Ping)], "no SELECT before a PING");
        let sent = r.feed(set(1, 1, None));
        assert_eq!(sent, vec![(14, ReplCmd::Select), (37, set(1, 1, None))]);
        assert_eq!(r.feed(ReplCmd::Del { key: 1 }), vec![(37 + 28, ReplCmd::Del { key: 1 })]);
        r.feed(ReplCmd::GetAck);
        assert_eq!(r.master_repl_offset, 14 + 23 + 28 + 21 + 37);
        r.shift_replid(3);
        assert_eq!(r.feed(ReplCmd::Del { key: 2 })[0].1, ReplCmd::Select, "a promoted primary selects again");
    }

    #[test]
    fn backlog_serves_partial_resyncs_while_it_holds_the_bytes() {
        let mut r = ReplState::new(1, 16 * 1024);
        r.create_backlog(9);
        let mut starts = Vec::new();
        for i in 0..100 {
            starts.push(r.feed(set(i, 1_000_000 + u64::from(i), None)).last().unwrap().0);
        }
        let end = r.master_repl_offset;
        // A replica that has everything continues with nothing to send.
        assert_eq!(r.psync(9, end + 1), PsyncAnswer::Continue(vec![]));
        // One that missed the last two writes gets them.
        let PsyncAnswer::Continue(tail) = r.psync(9, starts[98] + 1) else { panic!("partial") };
        assert_eq!(
            tail.iter().map(|c| c.1).collect::<Vec<_>>(),
            vec![set(98, 1_000_098, None), set(99, 1_000_099, None)]
        );
        // Another id, an offset from the future, or not a boundary: full.
        assert_eq!(r.psync(8, end + 1), PsyncAnswer::Full);
        assert_eq!(r.psync(0, 0), PsyncAnswer::Full, "PSYNC ? -1");
        assert_eq!(r.psync(9, end + 2), PsyncAnswer::Full);
        assert_eq!(r.psync(9, starts[50] + 2), PsyncAnswer::Full);
        // Overflow the 16 KiB backlog: the oldest bytes go, and a replica
        // that needs them must resynchronise fully.
        for i in 0..1000 {
            r.feed(set(i, 7, None));
        }
        let b = r.backlog.as_ref().unwrap();
        assert!(b.histlen() <= 16 * 1024 && b.histlen() > 16 * 1024 - 40, "{}", b.histlen());
        assert_eq!(b.first_byte() + b.histlen(), r.master_repl_offset + 1);
        assert_eq!(r.psync(9, starts[99] + 1), PsyncAnswer::Full, "overwritten");
        assert!(matches!(r.psync(9, b.first_byte()), PsyncAnswer::Continue(v) if !v.is_empty()));
    }

    #[test]
    fn a_pinned_backlog_keeps_what_a_syncing_replica_needs() {
        let mut r = ReplState::new(1, 16 * 1024);
        r.create_backlog(9);
        let pin = r.master_repl_offset;
        r.backlog.as_mut().unwrap().set_pin(Some(pin));
        for i in 0..1000 {
            r.feed(set(i, 7, None));
        }
        let b = r.backlog.as_ref().unwrap();
        assert_eq!(b.histlen(), r.master_repl_offset - pin, "nothing after the pin is dropped");
        assert!(b.from(pin + 1).is_some());
        r.backlog.as_mut().unwrap().set_pin(None);
        assert!(r.backlog.as_ref().unwrap().histlen() <= 16 * 1024, "released: trimmed to size");
    }

    #[test]
    fn psync2_continues_under_the_previous_id_up_to_the_promotion() {
        // A replica that followed primary 7 up to 100 bytes is promoted.
        let mut promoted = ReplState::new(7, 1 << 20);
        promoted.reset_to(7, 0);
        for i in 0..4 {
            promoted.feed_from_primary(promoted.master_repl_offset, set(i, 1, None));
        }
        let at_promotion = promoted.master_repl_offset;
        promoted.shift_replid(8);
        assert_eq!((promoted.replid2, promoted.second_replid_offset), (7, Some(at_promotion + 1)));
        promoted.feed(ReplCmd::Del { key: 0 });
        // Another replica of 7 that got less continues; one that got more
        // (writes the promoted replica never saw) starts over.
        assert!(matches!(promoted.psync(7, at_promotion - 27), PsyncAnswer::Continue(v) if v.len() == 3));
        assert!(matches!(promoted.psync(7, at_promotion + 1), PsyncAnswer::Continue(v) if v.len() == 2));
        assert_eq!(promoted.psync(7, at_promotion + 28), PsyncAnswer::Full);
        assert!(matches!(promoted.psync(8, promoted.master_repl_offset + 1), PsyncAnswer::Continue(v) if v.is_empty()));
    }

    #[test]
    fn wait_counts_online_replicas_that_acked_and_min_replicas_counts_fresh_acks() {
        let mut r = ReplState::new(1, 1 << 20);
        let link = |node, ack_offset, ack_time_s, state| ReplicaLink {
            node,
            conn: node,
            state,
            ack_offset,
            ack_time_s,
            sent_mark: 0,
        };
        r.replicas = vec![
            link(1, 100, 50, ReplicaState::Online),
            link(2, 60, 58, ReplicaState::Online),
            link(3, 500, 60, ReplicaState::SendBulk { fork: 1 }),
        ];
        assert_eq!(r.count_acks(0), 2, "only online replicas count");
        assert_eq!(r.count_acks(60), 2);
        assert_eq!(r.count_acks(61), 1);
        assert_eq!(r.count_acks(101), 0);
        assert_eq!(r.good_replicas(60, 10), 2);
        assert_eq!(r.good_replicas(61, 10), 1, "lag 11 s > 10");
        assert_eq!(r.good_replicas(69, 10), 0);
    }

    #[test]
    fn wait_arguments_are_checked_like_redis() {
        let args = |s: &str| -> Result<(i64, i64), Reply> {
            let v: Vec<&[u8]> = s.split(' ').map(|a| a.as_bytes()).collect();
            parse_wait(&v)
        };
        assert_eq!(args("WAIT 1 100"), Ok((1, 100)));
        assert_eq!(args("WAIT -1 0"), Ok((-1, 0)));
        assert_eq!(args("WAIT x 0"), Err(Reply::error(errors::NOT_AN_INTEGER)));
        assert_eq!(args("WAIT 1 x"), Err(Reply::error(errors::TIMEOUT_NOT_AN_INTEGER)));
        assert_eq!(args("WAIT 1 -1"), Err(Reply::error(errors::TIMEOUT_NEGATIVE)));
        assert_eq!(args("WAIT 1"), Err(Reply::Error(errors::wrong_arity("wait"))));
    }
}
