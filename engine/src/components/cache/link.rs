//! The replication link between cache nodes, over the simulated network
//! (so partitions, latency and loss affect it), as `replication.c` runs it.
//!
//! A replica connects (`PSYNC replid offset`, or `PSYNC ? -1` without a
//! history) once a second until it is connected. Its primary answers:
//!
//! - `+CONTINUE`: the replica's history is the primary's and the backlog
//!   still holds what it lacks; the missing commands follow at once.
//! - `+FULLRESYNC`: the replica waits for the next RDB transfer, which
//!   starts `repl-diskless-sync-delay` seconds after the first replica
//!   began waiting (checked once a second, as `replicationCron` does). The
//!   keys go out at the fork; the end of the RDB follows after the
//!   transfer time (`rdb_transfer_rate`); the replica then flushes its
//!   dataset, loads the RDB and receives what the primary wrote since the
//!   fork, which the primary held for it (up to the replica output buffer
//!   limit, past which the replica is dropped and starts over).
//!
//! Then the primary streams every write to its online replicas; each
//! replica applies the commands in order and sends `REPLCONF ACK offset`
//! every second and when asked (`REPLCONF GETACK`). The engine's network
//! loses messages (cut links, partitions, loss) where TCP would retransmit
//! them; the model retransmits the way TCP's acknowledgements would: when
//! an ACK
//! shows that what was sent before the previous ACK is still missing, the
//! primary resends from the ACKed offset out of its backlog, up to 1000
//! commands per ACK (or, if the backlog no longer holds it, drops the
//! replica, which then resynchronises). The replica holds commands that
//! arrive after a gap, as TCP's receive buffer would, up to
//! `repl-backlog-size` bytes; more are dropped (counted in
//! `stream_dropped`) and come again. Lost
//! parts of the handshake or of an RDB are not retransmitted: the replica
//! notices (a command where it expected the answer to PSYNC or the end of
//! the RDB, or fewer keys than the RDB announced) and starts over, as if the
//! connection had broken.
//!
//! Both ends drop a silent link after `repl-timeout`: the replica when
//! nothing came from its primary (the primary PINGs every
//! `repl-ping-replica-period` seconds, and sends a newline each second to a
//! replica waiting for its RDB), the primary when a replica's ACKs stop.

use super::{Blocked, Cache, LinkState, MasterLink, Volatile};
use crate::context::Ctx;
use crate::message::{CacheError, CacheReply, Message, NodeId, ReplCmd, Timer};
use crate::redis::replication::{PsyncAnswer, ReplicaLink, ReplicaState};
use crate::redis::Instance;
use crate::time::NANOS_PER_SEC;

/// Commands resent at most per ACK.
const RESEND_BATCH: usize = 1000;
use crate::trace::{LinkDown, Note, ReplicaDrop};

/// Sends stream commands to the replicas that are online.
pub(super) fn send_stream(ctx: &mut Ctx, inst: &Instance, out: &[(u64, ReplCmd)]) {
    if out.is_empty() {
        return;
    }
    for r in inst.repl.replicas.iter().filter(|r| r.state == ReplicaState::Online) {
        for &(offset, cmd) in out {
            ctx.send(r.node, Message::ReplStream { conn: r.conn, offset, cmd });
        }
    }
}

/// A key name `k<n>` as the compact messages carry it.
fn key_number(key: &[u8]) -> Option<u32> {
    let n: u32 = std::str::from_utf8(key.strip_prefix(b"k")?).ok()?.parse().ok()?;
    (format!("k{n}").as_bytes() == key).then_some(n)
}

fn value_number(value: &[u8]) -> Option<u64> {
    let v: u64 = std::str::from_utf8(value).ok()?.parse().ok()?;
    (v.to_string().as_bytes() == value).then_some(v)
}

impl Volatile {
    /// Sends `out` to the online replicas, then enforces the replica output
    /// buffer limit on those waiting for their RDB: the stream since the
    /// fork is held for them, and past the limit they are dropped.
    pub(super) fn ship(&mut self, ctx: &mut Ctx, out: &[(u64, ReplCmd)]) {
        send_stream(ctx, &self.inst, out);
        if out.is_empty() || self.transfer.is_none() {
            return;
        }
        let held = self.inst.repl.master_repl_offset - self.fork_offset;
        if held > self.inst.config().replica_output_buffer_limit {
            let dropped: Vec<ReplicaLink> = self
                .inst
                .repl
                .replicas
                .iter()
                .filter(|r| matches!(r.state, ReplicaState::SendBulk { .. }))
                .copied()
                .collect();
            for r in dropped {
                ctx.note(Note::ReplicaOutputBufferFull { replica: r.node, bytes: held });
                self.drop_replica(ctx, r.node, r.conn);
            }
        }
    }

    /// Forgets a replica and closes its connection.
    pub(super) fn drop_replica(&mut self, ctx: &mut Ctx, node: NodeId, conn: u32) {
        let before = self.inst.repl.replicas.len();
        self.inst.repl.replicas.retain(|r| !(r.node == node && r.conn == conn));
        if self.inst.repl.replicas.len() != before {
            ctx.send(node, Message::ReplReset { conn });
        }
        self.repin();
    }

    /// Pins the backlog for the replicas being sent an RDB, or releases it.
    fn repin(&mut self) {
        let syncing = self.inst.repl.replicas.iter().any(|r| matches!(r.state, ReplicaState::SendBulk { .. }));
        let pin = syncing.then_some(self.fork_offset);
        if let Some(b) = self.inst.repl.backlog.as_mut() {
            b.set_pin(pin);
        }
    }
}

impl Cache {
    /// A fresh 64-bit replication id: Redis draws 40 random hex characters;
    /// the model derives one from the node, its boots and a counter, so a
    /// run draws nothing more from the node's random stream than it did
    /// without replication.
    pub(super) fn fresh_replid(&mut self, ctx: &Ctx) -> u64 {
        self.disk.ids += 1;
        let mut x = (u64::from(ctx.me()) << 40) ^ (u64::from(self.disk.boots) << 20) ^ self.disk.ids;
        // splitmix64's finaliser
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (x ^ (x >> 31)) | 1
    }

    /// Starts `replicationCron` (once a second) if it is not running: only
    /// caches that take part in replication run it.
    pub(super) fn arm_repl_cron(&mut self, ctx: &mut Ctx) {
        let st = self.st();
        if !st.repl_cron {
            st.repl_cron = true;
            ctx.set_timer(NANOS_PER_SEC, Timer::ReplCron);
        }
    }

    /// `REPLICAOF primary` (`None`: `REPLICAOF NO ONE`), from an operator or
    /// a sentinel. Rewrites the configuration file, as `CONFIG REWRITE`
    /// does.
    pub fn replicaof(&mut self, ctx: &mut Ctx, primary: Option<NodeId>) {
        if self.state.is_none() || primary == Some(ctx.me()) {
            return;
        }
        let same = self.disk.replicaof == primary;
        self.disk.replicaof = primary;
        match primary {
            None => {
                if same {
                    return;
                }
                let new_id = self.fresh_replid(ctx);
                let st = self.st();
                if let Some(m) = st.master.take() {
                    ctx.send(m.node, Message::ReplReset { conn: m.conn });
                }
                st.inst.become_primary(new_id);
                st.has_history = false;
                ctx.note(Note::CacheRole { primary: None });
            }
            Some(p) => {
                if same && self.state.as_ref().is_some_and(|s| s.master.is_some()) {
                    return; // `+OK Already connected to specified master`
                }
                self.unblock_all(ctx);
                let now = Self::mono_ms(ctx);
                let st = self.st();
                let was_primary = !st.inst.is_replica();
                // Its own replicas are disconnected (they reconnect, to find
                // it a replica, and are refused).
                let replicas: Vec<ReplicaLink> = std::mem::take(&mut st.inst.repl.replicas);
                for r in replicas {
                    ctx.send(r.node, Message::ReplReset { conn: r.conn });
                }
                st.transfer = None;
                st.bgsave_waiting_since = None;
                st.repin();
                if let Some(m) = st.master.take() {
                    ctx.send(m.node, Message::ReplReset { conn: m.conn });
                }
                st.inst.become_replica();
                // A primary turned replica continues its own history
                // (`replicationCacheMasterUsingMyself`): PSYNC with its id and
                // offset, so writes its new primary never had force a full
                // resynchronisation that discards them.
                if was_primary {
                    st.has_history = st.inst.repl.backlog.is_some() || st.inst.repl.master_repl_offset > 0;
                }
                st.master = Some(MasterLink { node: p, conn: 0, state: LinkState::Connect, down_since_ms: Some(now) });
                ctx.note(Note::CacheRole { primary: Some(p) });
                self.arm_repl_cron(ctx);
                self.connect(ctx);
            }
        }
    }

    /// A replica connects to its primary: `PSYNC`.
    pub(super) fn connect(&mut self, ctx: &mut Ctx) {
        self.disk.next_conn += 1;
        let conn = self.disk.next_conn;
        let now = Self::mono_ms(ctx);
        let st = self.st();
        let (replid, offset) =
            if st.has_history { (st.inst.repl.replid, st.inst.repl.master_repl_offset + 1) } else { (0, 0) };
        st.out_of_order.clear();
        st.out_of_order_bytes = 0;
        let Some(m) = st.master.as_mut() else { return };
        m.conn = conn;
        m.state = LinkState::Handshake { since_ms: now };
        let to = m.node;
        ctx.send(to, Message::Psync { conn, replid, offset });
    }

    /// The replica's link went down: it reconnects at the next cron.
    fn link_down(&mut self, ctx: &mut Ctx, reason: LinkDown) {
        let now = Self::mono_ms(ctx);
        let st = self.st();
        let Some(m) = st.master.as_mut() else { return };
        let was = std::mem::replace(&mut m.state, LinkState::Connect);
        if matches!(was, LinkState::Connected { .. } | LinkState::Transfer { .. }) {
            let primary = m.node;
            let conn = m.conn;
            if m.down_since_ms.is_none() {
                m.down_since_ms = Some(now);
            }
            st.inst.link_up = false;
            ctx.send(primary, Message::ReplReset { conn });
            ctx.note(Note::ReplLinkDown { primary, reason });
        }
    }

    /// Messages of the replication protocol and the sentinels'.
    pub(super) fn on_replication(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        let now_ms = Self::mono_ms(ctx);
        let now_s = Self::now_s(ctx);
        match msg {
            // ----- as a primary ------------------------------------------
            Message::Psync { conn, replid, offset } => self.on_psync(ctx, from, conn, replid, offset),
            Message::ReplAck { conn, offset } => {
                let st = self.st();
                let before = st.inst.repl.replica_mut(from, conn).map(|r| (r.sent_mark, r.state));
                if st.inst.is_replica() || !st.inst.ack(from, conn, offset, now_s) {
                    // Not a connection this primary knows: reset it.
                    ctx.send(from, Message::ReplReset { conn });
                    return;
                }
                let end = st.inst.repl.master_repl_offset;
                if let Some(r) = st.inst.repl.replica_mut(from, conn) {
                    r.sent_mark = end;
                }
                // TCP retransmits what a cut or lossy link lost; the model
                // resends, from the backlog, what was sent before the
                // previous ACK and is still not acknowledged.
                if let Some((mark, ReplicaState::Online)) = before {
                    if offset < mark {
                        match st.inst.repl.backlog.as_ref().and_then(|b| b.from(offset + 1)) {
                            Some(cmds) => {
                                for (start, cmd) in cmds.into_iter().take(RESEND_BATCH) {
                                    ctx.send(from, Message::ReplStream { conn, offset: start, cmd });
                                }
                            }
                            None => {
                                st.drop_replica(ctx, from, conn);
                                ctx.note(Note::ReplicaDropped { replica: from, reason: ReplicaDrop::BacklogGap });
                            }
                        }
                    }
                }
                st.inst.refresh_good_replicas(now_s);
                self.release_waits(ctx);
            }
            Message::ReplReset { conn } => {
                let st = self.st();
                if st.master.as_ref().is_some_and(|m| m.node == from && m.conn == conn) {
                    self.link_down(ctx, LinkDown::Closed);
                } else if st.inst.repl.replica_mut(from, conn).is_some() {
                    st.drop_replica(ctx, from, conn);
                    ctx.note(Note::ReplicaDropped { replica: from, reason: ReplicaDrop::Closed });
                    st.inst.refresh_good_replicas(now_s);
                }
            }
            // ----- as a replica ------------------------------------------
            Message::PsyncContinue { conn, replid } => {
                let st = self.st();
                let Some(m) = st.master.as_mut().filter(|m| m.node == from && m.conn == conn) else {
                    ctx.send(from, Message::ReplReset { conn });
                    return;
                };
                m.state = LinkState::Connected { last_io_ms: now_ms };
                m.down_since_ms = None;
                st.inst.link_up = true;
                if replid != st.inst.repl.replid {
                    // PSYNC2: the primary's history continues ours under a
                    // new id.
                    st.inst.repl.shift_replid(replid);
                    st.inst.repl.force_select();
                }
                let offset = st.inst.repl.master_repl_offset;
                ctx.send(from, Message::ReplAck { conn, offset });
            }
            Message::FullResync { conn, replid } => {
                let st = self.st();
                let Some(m) = st.master.as_mut().filter(|m| m.node == from && m.conn == conn) else {
                    ctx.send(from, Message::ReplReset { conn });
                    return;
                };
                m.state = LinkState::Transfer { last_io_ms: now_ms, replid, keys: Vec::new() };
            }
            Message::ReplNewline { conn } => {
                if let Some(m) = self.st().master.as_mut().filter(|m| m.node == from && m.conn == conn) {
                    if let LinkState::Transfer { last_io_ms, .. } = &mut m.state {
                        *last_io_ms = now_ms;
                    }
                }
            }
            Message::RdbKey { conn, key, value, expire_at_ms } => {
                if let Some(m) = self.st().master.as_mut().filter(|m| m.node == from && m.conn == conn) {
                    match &mut m.state {
                        LinkState::Transfer { last_io_ms, keys, .. } => {
                            *last_io_ms = now_ms;
                            keys.push((format!("k{key}").into_bytes(), value.to_string().into_bytes(), expire_at_ms));
                        }
                        // `+FULLRESYNC` was lost: ask again.
                        LinkState::Handshake { .. } => self.connect(ctx),
                        _ => {}
                    }
                }
            }
            Message::RdbEnd { conn, keys: count, offset } => self.on_rdb_end(ctx, from, conn, count, offset),
            Message::ReplStream { conn, offset, cmd } => self.on_stream(ctx, from, conn, offset, cmd),
            // ----- sentinels ---------------------------------------------
            Message::SentinelPing => {
                let st = self.st();
                let (role, link_down_ms) = match &st.master {
                    None => (crate::message::InfoRole::Primary, 0),
                    Some(m) => {
                        let up = matches!(m.state, LinkState::Connected { .. });
                        let down = m.down_since_ms.map_or(0, |d| (now_ms - d).max(0) as u64);
                        (crate::message::InfoRole::Replica { of: m.node, link_up: up }, down)
                    }
                };
                let offset = st.inst.repl.master_repl_offset;
                let priority = st.inst.config().replica_priority;
                ctx.send(from, Message::SentinelInfo { role, offset, priority, link_down_ms });
            }
            _ => {}
        }
    }

    fn on_psync(&mut self, ctx: &mut Ctx, from: NodeId, conn: u32, replid: u64, offset: u64) {
        let now_s = Self::now_s(ctx);
        let now_ms = Self::mono_ms(ctx);
        let new_id = self.fresh_replid(ctx);
        let st = self.st();
        if st.inst.is_replica() {
            // The model has no chained replication: a replica refuses
            // sub-replicas (`-NOMASTERLINK`-like).
            ctx.send(from, Message::ReplReset { conn });
            return;
        }
        // A new connection from the same replica replaces the old one.
        let old: Vec<u32> = st.inst.repl.replicas.iter().filter(|r| r.node == from).map(|r| r.conn).collect();
        for c in old {
            st.drop_replica(ctx, from, c);
        }
        let answer = st.inst.repl.psync(replid, offset);
        match answer {
            PsyncAnswer::Continue(cmds) => {
                st.stats.sync_partial_ok += 1;
                st.inst.repl.replicas.push(ReplicaLink {
                    node: from,
                    conn,
                    state: ReplicaState::Online,
                    ack_offset: 0,
                    ack_time_s: now_s,
                    sent_mark: 0,
                });
                ctx.send(from, Message::PsyncContinue { conn, replid: st.inst.repl.replid });
                for (start, cmd) in cmds {
                    ctx.send(from, Message::ReplStream { conn, offset: start, cmd });
                }
                ctx.note(Note::PartialResync { replica: from, offset });
            }
            PsyncAnswer::Full => {
                if replid != 0 {
                    st.stats.sync_partial_err += 1;
                }
                st.stats.sync_full += 1;
                st.inst.repl.create_backlog(new_id);
                st.inst.repl.replicas.push(ReplicaLink {
                    node: from,
                    conn,
                    state: ReplicaState::WaitBgsave,
                    ack_offset: 0,
                    ack_time_s: now_s,
                    sent_mark: 0,
                });
                st.bgsave_waiting_since.get_or_insert(now_ms);
                ctx.send(from, Message::FullResync { conn, replid: st.inst.repl.replid });
                ctx.note(Note::FullResync { replica: from });
            }
        }
        st.no_replicas_since_ms = None;
        self.arm_repl_cron(ctx);
    }

    /// The fork of a full synchronisation: the replicas waiting get the
    /// dataset as it is now; the end of the RDB follows after the transfer
    /// time.
    fn start_transfer(&mut self, ctx: &mut Ctx) {
        let rate = self.config.rdb_transfer_rate;
        let st = self.st();
        st.next_fork += 1;
        let fork = st.next_fork;
        st.transfer = Some(fork);
        st.bgsave_waiting_since = None;
        st.fork_offset = st.inst.repl.master_repl_offset;
        let snapshot = st.inst.keyspace.snapshot();
        let bytes = st.inst.keyspace.rdb_bytes();
        let mut targets = Vec::new();
        for r in st.inst.repl.replicas.iter_mut().filter(|r| r.state == ReplicaState::WaitBgsave) {
            r.state = ReplicaState::SendBulk { fork };
            targets.push((r.node, r.conn));
        }
        st.repin();
        let mut unshippable = 0;
        for (key, value, expire_at_ms) in &snapshot {
            let (Some(key), Some(value)) = (key_number(key), value_number(value)) else {
                unshippable += 1;
                continue;
            };
            for &(node, conn) in &targets {
                ctx.send(node, Message::RdbKey { conn, key, value, expire_at_ms: *expire_at_ms });
            }
        }
        st.inst.unshippable += unshippable;
        st.sent_keys = (snapshot.len() as u64 - unshippable) as u32;
        let ns = (u128::from(bytes) * u128::from(NANOS_PER_SEC) / u128::from(rate)).max(1) as u64;
        ctx.set_timer(ns, Timer::RdbTransferDone { fork });
    }

    /// The RDB of `fork` is through: its replicas get its end, then the
    /// stream held for them since the fork, and are online.
    pub(super) fn transfer_done(&mut self, ctx: &mut Ctx, fork: u32) {
        let now_s = Self::now_s(ctx);
        let st = self.st();
        if st.transfer != Some(fork) {
            return;
        }
        st.transfer = None;
        let offset = st.fork_offset;
        let held = st.inst.repl.backlog.as_ref().and_then(|b| b.from(offset + 1)).unwrap_or_default();
        let sent_keys = st.sent_keys;
        for r in st.inst.repl.replicas.iter_mut().filter(|r| r.state == (ReplicaState::SendBulk { fork })) {
            ctx.send(r.node, Message::RdbEnd { conn: r.conn, keys: sent_keys, offset });
            for &(start, cmd) in &held {
                ctx.send(r.node, Message::ReplStream { conn: r.conn, offset: start, cmd });
            }
            r.state = ReplicaState::Online;
            r.ack_time_s = now_s;
        }
        st.repin();
    }

    fn on_rdb_end(&mut self, ctx: &mut Ctx, from: NodeId, conn: u32, count: u32, offset: u64) {
        let now = Self::now_ms(ctx);
        let now_mono = Self::mono_ms(ctx);
        let st = self.st();
        let Some(m) = st.master.as_mut().filter(|m| m.node == from && m.conn == conn) else { return };
        let LinkState::Transfer { replid, keys, .. } = std::mem::replace(&mut m.state, LinkState::Connect) else {
            m.state = LinkState::Connect;
            self.link_down(ctx, LinkDown::BrokenRdb);
            return;
        };
        if keys.len() != count as usize {
            // Part of the RDB was lost: the transfer failed.
            m.state = LinkState::Transfer { last_io_ms: now_mono, replid, keys: Vec::new() };
            self.link_down(ctx, LinkDown::BrokenRdb);
            return;
        }
        m.state = LinkState::Connected { last_io_ms: now_mono };
        m.down_since_ms = None;
        // `emptyData` then `rdbLoad`: whatever the replica had is gone, even
        // if the primary's dataset is empty.
        st.inst.keyspace.load_snapshot(&keys, now);
        st.inst.repl.reset_to(replid, offset);
        st.inst.link_up = true;
        st.has_history = true;
        ctx.note(Note::RdbLoaded { keys: count, offset });
        ctx.send(from, Message::ReplAck { conn, offset });
    }

    fn on_stream(&mut self, ctx: &mut Ctx, from: NodeId, conn: u32, offset: u64, cmd: ReplCmd) {
        let now = Self::now_ms(ctx);
        let now_mono = Self::mono_ms(ctx);
        let st = self.st();
        let Some(m) = st.master.as_mut().filter(|m| m.node == from && m.conn == conn) else {
            // A stream this node no longer follows: close it.
            ctx.send(from, Message::ReplReset { conn });
            return;
        };
        let last_io_ms = match &mut m.state {
            LinkState::Connected { last_io_ms } => last_io_ms,
            // The end of the RDB was lost: the transfer failed.
            LinkState::Transfer { .. } => return self.link_down(ctx, LinkDown::BrokenRdb),
            // The answer to PSYNC was lost: ask again.
            LinkState::Handshake { .. } => return self.connect(ctx),
            LinkState::Connect => return,
        };
        *last_io_ms = now_mono;
        let mine = st.inst.repl.master_repl_offset;
        if offset < mine {
            return; // a duplicate
        }
        if offset > mine {
            // A command after a gap (something was lost): held, as TCP's
            // receive buffer holds it, until the gap is retransmitted; past
            // the buffer's bound, dropped (it will come again).
            let len = cmd.resp_len();
            if st.out_of_order_bytes + len <= st.inst.config().repl_backlog_size
                && !st.out_of_order.contains_key(&offset)
            {
                st.out_of_order_bytes += len;
                st.out_of_order.insert(offset, cmd);
            } else {
                st.stats.stream_dropped += 1;
            }
            return;
        }
        let mut next = Some((offset, cmd));
        while let Some((start, cmd)) = next {
            if let Some(ack) = st.inst.apply_from_primary(start, cmd, now, ctx.rng()) {
                ctx.send(from, Message::ReplAck { conn, offset: ack });
            }
            // Anything held that now fits.
            let mine = st.inst.repl.master_repl_offset;
            while st.out_of_order.first_key_value().is_some_and(|(&o, _)| o < mine) {
                let (_, c) = st.out_of_order.pop_first().expect("not empty");
                st.out_of_order_bytes -= c.resp_len();
            }
            next = st.out_of_order.remove(&mine).map(|c| {
                st.out_of_order_bytes -= c.resp_len();
                (mine, c)
            });
        }
    }

    /// `replicationCron`, once a second.
    pub(super) fn replication_cron(&mut self, ctx: &mut Ctx) {
        let now_ms = Self::mono_ms(ctx);
        let now_s = Self::now_s(ctx);
        let timeout_ms = i64::from(self.config.redis.repl_timeout) * 1000;
        // ----- as a replica ----------------------------------------------
        let link = self.st().master.as_ref().map(|m| (m.state.clone(), m.node, m.conn));
        if let Some((state, primary, conn)) = link {
            match state {
                LinkState::Connect => self.connect(ctx),
                LinkState::Handshake { since_ms } if now_ms - since_ms > timeout_ms => self.connect(ctx),
                LinkState::Handshake { .. } => {}
                LinkState::Transfer { last_io_ms, .. } | LinkState::Connected { last_io_ms }
                    if now_ms - last_io_ms > timeout_ms =>
                {
                    self.link_down(ctx, LinkDown::Timeout)
                }
                LinkState::Transfer { .. } => {}
                LinkState::Connected { .. } => {
                    let offset = self.st().inst.repl.master_repl_offset;
                    ctx.send(primary, Message::ReplAck { conn, offset });
                }
            }
        }
        let delay_ms = i64::from(self.config.redis.repl_diskless_sync_delay) * 1000;
        let st = self.st();
        st.cron_loops += 1;
        if st.inst.is_replica() {
            return;
        }
        // ----- as a primary ----------------------------------------------
        // Replicas whose ACKs stopped for repl-timeout are dropped.
        let timeout_s = i64::from(st.inst.config().repl_timeout);
        let silent: Vec<ReplicaLink> = st
            .inst
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now_s - r.ack_time_s > timeout_s)
            .copied()
            .collect();
        for r in silent {
            st.drop_replica(ctx, r.node, r.conn);
            ctx.note(Note::ReplicaDropped { replica: r.node, reason: ReplicaDrop::AckTimeout });
        }
        // PING every repl-ping-replica-period seconds.
        let period = u64::from(st.inst.config().repl_ping_replica_period);
        if st.cron_loops.is_multiple_of(period) && !st.inst.repl.replicas.is_empty() {
            let out = st.inst.repl.feed(ReplCmd::Ping);
            st.ship(ctx, &out);
        }
        // A newline to the replicas waiting for their RDB.
        for r in st.inst.repl.replicas.iter().filter(|r| r.state != ReplicaState::Online) {
            ctx.send(r.node, Message::ReplNewline { conn: r.conn });
        }
        // Free the backlog after repl-backlog-ttl without replicas.
        if st.inst.repl.replicas.is_empty() && st.inst.repl.backlog.is_some() {
            let since = *st.no_replicas_since_ms.get_or_insert(now_ms);
            let ttl = i64::from(st.inst.config().repl_backlog_ttl) * 1000;
            if ttl > 0 && now_ms - since > ttl {
                st.inst.repl.free_backlog();
                ctx.note(Note::BacklogFreed);
            }
        } else {
            st.no_replicas_since_ms = None;
        }
        st.inst.refresh_good_replicas(now_s);
        let start = st.transfer.is_none() && st.bgsave_waiting_since.is_some_and(|since| now_ms - since >= delay_ms);
        if start {
            self.start_transfer(ctx);
        }
        self.release_waits(ctx);
    }

    /// `disconnectAllBlockedClients`: a primary turned replica releases its
    /// WAITs with an error.
    pub(super) fn unblock_all(&mut self, ctx: &mut Ctx) {
        let blocked: Vec<Blocked> = std::mem::take(&mut self.st().blocked);
        for b in blocked {
            if let Some(t) = b.timer {
                ctx.cancel_timer(t);
            }
            let reply = CacheReply::Error { error: CacheError::Unblocked };
            ctx.send(b.client, Message::CacheReply { id: b.id, reply });
        }
    }
}
