//! A Redis instance: its keyspace and its replication state, and the part
//! of `processCommand` and `call` that needs both: WAIT,
//! `min-replicas-to-write` (`-NOREPLICAS`), `replica-serve-stale-data`
//! (`-MASTERDOWN`), and turning the writes the keyspace propagates into the
//! replication stream. Pure: the cache node (`components/cache`) sends
//! what this returns and feeds it what arrives.

use super::config::RedisConfig;
use super::errors;
use super::keyspace::{Gate, Keyspace, Role};
use super::replication::{parse_wait, ReplState};
use super::reply::Reply;
use crate::message::{NodeId, ReplCmd};
use crate::rng::Rng;

/// What became of a client's command.
#[derive(Clone, Debug, PartialEq)]
pub enum Called {
    Reply(Reply),
    /// WAIT blocks: answer when `numreplicas` replicas have acknowledged
    /// `offset`, or after `timeout_ms` (0: never) with the count then.
    Blocked {
        offset: u64,
        numreplicas: u32,
        timeout_ms: u64,
    },
}

/// Stream commands to send to the replicas that receive the stream, each
/// with the offset it starts after.
pub type Outgoing = Vec<(u64, ReplCmd)>;

#[derive(Clone, Debug)]
pub struct Instance {
    pub keyspace: Keyspace,
    pub repl: ReplState,
    /// As a replica: `master_link_status:up`.
    pub link_up: bool,
    /// `repl_good_slaves_count`, as of the last refresh.
    pub good_replicas: u32,
    /// Writes the keyspace propagated that the compact stream cannot carry
    /// (keys not `k<n>`, values not integers); app servers never make one.
    pub unshippable: u64,
}

impl Instance {
    /// A primary with an empty dataset and a fresh replication id.
    pub fn new(config: RedisConfig, replid: u64, rng: &mut Rng) -> Instance {
        let backlog = config.repl_backlog_size;
        let mut keyspace = Keyspace::new(config, rng);
        keyspace.set_propagation(true);
        Instance { keyspace, repl: ReplState::new(replid, backlog), link_up: false, good_replicas: 0, unshippable: 0 }
    }

    pub fn config(&self) -> &RedisConfig {
        self.keyspace.config()
    }

    pub fn is_replica(&self) -> bool {
        self.keyspace.role() == Role::Replica
    }

    /// `checkGoodReplicasStatus` and the stale-data check.
    pub fn gate(&self) -> Gate {
        let c = self.config();
        Gate {
            too_few_replicas: !self.is_replica()
                && c.min_replicas_to_write > 0
                && c.min_replicas_max_lag > 0
                && self.good_replicas < c.min_replicas_to_write,
            master_down: self.is_replica() && !self.link_up && !c.replica_serve_stale_data,
        }
    }

    /// Runs a client's command. `woff` is the client's last write offset
    /// (`c->woff`), updated when the command added to the stream; what
    /// the replicas must receive is appended to `out`.
    pub fn call<A: AsRef<[u8]>>(
        &mut self,
        argv: &[A],
        woff: &mut u64,
        now_ms: i64,
        rng: &mut Rng,
        out: &mut Outgoing,
    ) -> Called {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        if args.first().is_some_and(|name| name.eq_ignore_ascii_case(b"wait")) {
            return self.wait(&args, *woff);
        }
        let before = self.repl.master_repl_offset;
        let reply = self.keyspace.execute_gated(&args, now_ms, rng, self.gate());
        self.drain(out);
        if self.repl.master_repl_offset != before {
            *woff = self.repl.master_repl_offset;
        }
        Called::Reply(reply)
    }

    /// `waitCommand`.
    fn wait(&mut self, args: &[&[u8]], woff: u64) -> Called {
        if args.len() != 3 {
            return Called::Reply(Reply::Error(errors::wrong_arity("wait")));
        }
        if self.is_replica() {
            return Called::Reply(Reply::error(errors::WAIT_ON_REPLICA));
        }
        match parse_wait(args) {
            Err(reply) => Called::Reply(reply),
            Ok((numreplicas, timeout_ms)) => {
                let acked = self.repl.count_acks(woff);
                if i64::from(acked) >= numreplicas {
                    Called::Reply(Reply::Integer(i64::from(acked)))
                } else {
                    let numreplicas = numreplicas.min(i64::from(u32::MAX)) as u32;
                    Called::Blocked { offset: woff, numreplicas, timeout_ms: timeout_ms as u64 }
                }
            }
        }
    }

    /// Puts what the keyspace propagated (writes, expired and evicted
    /// keys) into the stream.
    pub fn drain(&mut self, out: &mut Outgoing) {
        for argv in self.keyspace.take_propagated() {
            match ReplCmd::from_argv(&argv) {
                Some(cmd) => out.extend(self.repl.feed(cmd)),
                None => self.unshippable += 1,
            }
        }
    }

    /// `serverCron`'s keyspace work (active expiry, evictions), whose DELs
    /// go into the stream.
    pub fn cron(&mut self, now_ms: i64, rng: &mut Rng, out: &mut Outgoing) {
        self.keyspace.cron(now_ms, rng);
        self.drain(out);
    }

    /// `beforeSleep`'s keyspace work (the fast expire cycle, evictions),
    /// whose DELs go into the stream.
    pub fn before_sleep(&mut self, now_ms: i64, rng: &mut Rng, out: &mut Outgoing) {
        self.keyspace.before_sleep(now_ms, rng);
        self.drain(out);
    }

    /// A command of the primary's stream, starting after `start` (which
    /// must be this replica's offset). Returns the offset to acknowledge
    /// for a `REPLCONF GETACK` (the offset before it, as Redis answers
    /// before counting the GETACK itself).
    pub fn apply_from_primary(&mut self, start: u64, cmd: ReplCmd, now_ms: i64, rng: &mut Rng) -> Option<u64> {
        let ack = match cmd {
            ReplCmd::GetAck => Some(self.repl.master_repl_offset),
            ReplCmd::Select | ReplCmd::Ping => None,
            _ => {
                let argv = cmd.argv();
                self.keyspace.execute_from_primary(&argv, now_ms, rng);
                None
            }
        };
        self.repl.feed_from_primary(start, cmd);
        ack
    }

    /// `REPLCONF ACK offset` from a replica; false if no such replica
    /// connection exists.
    pub fn ack(&mut self, node: NodeId, conn: u32, offset: u64, now_s: i64) -> bool {
        match self.repl.replica_mut(node, conn) {
            Some(r) => {
                r.ack_offset = r.ack_offset.max(offset);
                r.ack_time_s = now_s;
                true
            }
            None => false,
        }
    }

    /// `CONFIG SET min-replicas-to-write` and `min-replicas-max-lag`
    /// (which refresh the count of good replicas at once).
    pub fn set_min_replicas(&mut self, to_write: u32, max_lag: u32, now_s: i64) {
        self.keyspace.config.min_replicas_to_write = to_write;
        self.keyspace.config.min_replicas_max_lag = max_lag;
        self.refresh_good_replicas(now_s);
    }

    /// `refreshGoodSlavesCount`.
    pub fn refresh_good_replicas(&mut self, now_s: i64) {
        let c = self.config();
        if c.min_replicas_to_write > 0 && c.min_replicas_max_lag > 0 {
            self.good_replicas = self.repl.good_replicas(now_s, c.min_replicas_max_lag);
        }
    }

    /// `REPLICAOF NO ONE`: a primary under a new id (the old one kept for
    /// PSYNC2).
    pub fn become_primary(&mut self, new_replid: u64) {
        if self.is_replica() {
            self.keyspace.set_role(Role::Primary);
            self.repl.shift_replid(new_replid);
        }
        self.link_up = false;
    }

    /// `REPLICAOF host port`: a replica, keeping its id and offset to ask
    /// for a partial resynchronisation. Its own replicas are disconnected
    /// by the caller.
    pub fn become_replica(&mut self) {
        self.keyspace.set_role(Role::Replica);
        self.link_up = false;
        self.good_replicas = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::replication::{PsyncAnswer, ReplicaLink, ReplicaState};

    const T0: i64 = 1_767_225_600_000;

    /// A primary and one replica, joined by hand as the cache nodes join
    /// them over the network: everything the primary streams is applied at
    /// once, and the replica acknowledges when asked (and on `ack()`).
    struct Pair {
        primary: Instance,
        replica: Instance,
        rng: Rng,
        woff: u64,
        now_ms: i64,
        /// The replica's acknowledgements reach the primary.
        acking: bool,
    }

    impl Pair {
        fn new(config: RedisConfig) -> Pair {
            let mut rng = Rng::stream(3, 3);
            let mut primary = Instance::new(config.clone(), 11, &mut rng);
            let mut replica = Instance::new(config, 22, &mut rng);
            replica.become_replica();
            // The replica's PSYNC ? -1: a full synchronisation.
            assert_eq!(primary.repl.psync(0, 0), PsyncAnswer::Full);
            primary.repl.create_backlog(33);
            let offset = primary.repl.master_repl_offset;
            primary.repl.replicas.push(ReplicaLink {
                node: 1,
                conn: 1,
                state: ReplicaState::Online,
                ack_offset: 0,
                ack_time_s: T0 / 1000,
                sent_mark: 0,
            });
            replica.keyspace.load_snapshot(&primary.keyspace.snapshot(), T0);
            replica.repl.reset_to(primary.repl.replid, offset);
            replica.link_up = true;
            Pair { primary, replica, rng, woff: 0, now_ms: T0, acking: true }
        }

        fn on_primary(&mut self, cmd: &str) -> Called {
            let argv: Vec<&str> = cmd.split(' ').collect();
            let mut out = Vec::new();
            let called = self.primary.call(&argv, &mut self.woff, self.now_ms, &mut self.rng, &mut out);
            self.stream(out);
            called
        }

        fn stream(&mut self, out: Outgoing) {
            for (start, cmd) in out {
                assert_eq!(start, self.replica.repl.master_repl_offset, "the stream has no gaps");
                if let Some(offset) = self.replica.apply_from_primary(start, cmd, self.now_ms, &mut self.rng) {
                    if self.acking {
                        self.primary.ack(1, 1, offset, self.now_ms / 1000);
                    }
                }
            }
        }

        fn on_replica(&mut self, cmd: &str) -> Reply {
            let argv: Vec<&str> = cmd.split(' ').collect();
            let mut woff = 0;
            match self.replica.call(&argv, &mut woff, self.now_ms, &mut self.rng, &mut Vec::new()) {
                Called::Reply(r) => r,
                blocked => panic!("{blocked:?}"),
            }
        }

        /// The replica's once-a-second `REPLCONF ACK`.
        fn ack(&mut self) {
            let offset = self.replica.repl.master_repl_offset;
            self.primary.ack(1, 1, offset, self.now_ms / 1000);
        }
    }

    fn reply(called: Called) -> Reply {
        match called {
            Called::Reply(r) => r,
            blocked => panic!("{blocked:?}"),
        }
    }

    #[test]
    fn the_replica_follows_the_stream_byte_for_byte() {
        let mut p = Pair::new(RedisConfig::default());
        assert_eq!(reply(p.on_primary("SET k1 5 PX 60000")), Reply::ok());
        assert_eq!(p.woff, 23 + ReplCmd::Set { key: 1, value: 5, pxat_ms: Some(T0 + 60_000) }.resp_len());
        reply(p.on_primary("SET k2 7"));
        reply(p.on_primary("GET k2"));
        assert_eq!(p.woff, p.primary.repl.master_repl_offset, "a read leaves woff alone");
        reply(p.on_primary("DEL k2"));
        assert_eq!(p.replica.repl.master_repl_offset, p.primary.repl.master_repl_offset);
        assert_eq!(p.on_replica("GET k1"), Reply::Bulk(b"5".to_vec()));
        assert_eq!(p.on_replica("PTTL k1"), Reply::Integer(60_000), "PXAT: the same deadline");
        assert_eq!(p.on_replica("EXISTS k2"), Reply::Integer(0));
    }

    #[test]
    fn the_fast_expire_cycle_streams_its_dels_too() {
        let mut p = Pair::new(RedisConfig::default());
        // More expired keys than one slow cycle (25 ms at one modelled µs
        // a key) can look at, so a fast cycle is allowed after it.
        for key in 0..30_000 {
            reply(p.on_primary(&format!("SET k{key} 1 PX 10")));
        }
        p.now_ms += 11;
        let mut out = Vec::new();
        p.primary.cron(p.now_ms, &mut p.rng, &mut out);
        p.stream(out);
        let after_cron = p.primary.keyspace.stats().expired_keys;
        assert!((25_000..30_000).contains(&after_cron), "{after_cron}");
        p.now_ms += 1;
        let mut out = Vec::new();
        p.primary.before_sleep(p.now_ms, &mut p.rng, &mut out);
        let fast = p.primary.keyspace.stats().expired_keys - after_cron;
        assert!(fast > 0 && fast <= 1_000 + 320, "{fast}");
        assert_eq!(out.len() as u64, fast, "one DEL a key");
        p.stream(out);
        assert_eq!(p.replica.keyspace.len(), p.primary.keyspace.len(), "the replica deleted them as told");
    }

    #[test]
    fn replicas_are_read_only_and_refuse_wait() {
        let mut p = Pair::new(RedisConfig::default());
        assert_eq!(p.on_replica("SET k1 1"), Reply::error(errors::READONLY));
        assert_eq!(p.on_replica("WAIT 1 0"), Reply::error(errors::WAIT_ON_REPLICA));
        assert_eq!(p.on_replica("WAIT 1"), Reply::Error(errors::wrong_arity("wait")), "arity first");
        assert_eq!(p.on_replica("GET k1"), Reply::Nil);
    }

    #[test]
    fn expiry_on_a_replica_waits_for_the_primary() {
        let mut p = Pair::new(RedisConfig::default());
        reply(p.on_primary("SET k1 5 PX 100"));
        reply(p.on_primary("EXPIRE k1 100"));
        assert_eq!(p.on_replica("TTL k1"), Reply::Integer(100), "propagated as PEXPIREAT");
        reply(p.on_primary("PEXPIRE k1 100"));
        p.now_ms += 101;
        assert_eq!(p.on_replica("GET k1"), Reply::Nil, "logically expired");
        assert_eq!(p.on_replica("TTL k1"), Reply::Integer(-2));
        assert_eq!(p.replica.keyspace.len(), 1, "but the replica does not delete it");
        p.replica.cron(p.now_ms, &mut Rng::stream(1, 1), &mut Vec::new());
        assert_eq!(p.replica.keyspace.len(), 1, "nor does its cron");
        // The primary's lazy expiry deletes it and streams a DEL.
        let before = p.primary.repl.master_repl_offset;
        assert_eq!(reply(p.on_primary("GET k1")), Reply::Nil);
        assert_eq!(p.primary.repl.master_repl_offset - before, ReplCmd::Del { key: 1 }.resp_len());
        assert_eq!(p.replica.keyspace.len(), 0);
    }

    #[test]
    fn wait_returns_at_once_when_enough_replicas_acked_otherwise_blocks() {
        let mut p = Pair::new(RedisConfig::default());
        assert_eq!(reply(p.on_primary("WAIT 1 100")), Reply::Integer(1), "no write yet: offset 0 is acked");
        p.acking = false;
        reply(p.on_primary("SET k1 1"));
        let woff = p.woff;
        assert_eq!(p.on_primary("WAIT 1 100"), Called::Blocked { offset: woff, numreplicas: 1, timeout_ms: 100 });
        assert_eq!(reply(p.on_primary("WAIT 0 100")), Reply::Integer(0));
        p.ack();
        assert_eq!(reply(p.on_primary("WAIT 1 0")), Reply::Integer(1));
        assert_eq!(p.on_primary("WAIT 2 0"), Called::Blocked { offset: woff, numreplicas: 2, timeout_ms: 0 });
        assert_eq!(reply(p.on_primary("WAIT 1 -1")), Reply::error(errors::TIMEOUT_NEGATIVE));
    }

    #[test]
    fn min_replicas_to_write_refuses_writes_without_fresh_acks() {
        let config = RedisConfig { min_replicas_to_write: 1, min_replicas_max_lag: 10, ..RedisConfig::default() };
        let mut p = Pair::new(config);
        p.primary.refresh_good_replicas(p.now_ms / 1000);
        assert_eq!(reply(p.on_primary("SET k1 1")), Reply::ok());
        p.now_ms += 10_999;
        p.primary.refresh_good_replicas(p.now_ms / 1000);
        assert_eq!(reply(p.on_primary("SET k1 2")), Reply::ok(), "lag 10 s is still good");
        p.now_ms += 1_000;
        p.primary.refresh_good_replicas(p.now_ms / 1000);
        assert_eq!(reply(p.on_primary("SET k1 3")), Reply::error(errors::NOREPLICAS));
        assert_eq!(reply(p.on_primary("DEL k1")), Reply::error(errors::NOREPLICAS), "every write");
        assert_eq!(reply(p.on_primary("GET k1")), Reply::Bulk(b"2".to_vec()), "reads are served");
        p.ack();
        p.primary.refresh_good_replicas(p.now_ms / 1000);
        assert_eq!(reply(p.on_primary("SET k1 4")), Reply::ok());
    }

    #[test]
    fn a_replica_cut_off_serves_stale_data_unless_told_not_to() {
        let mut p = Pair::new(RedisConfig::default());
        reply(p.on_primary("SET k1 1"));
        p.replica.link_up = false;
        assert_eq!(p.on_replica("GET k1"), Reply::Bulk(b"1".to_vec()));
        let mut p = Pair::new(RedisConfig { replica_serve_stale_data: false, ..RedisConfig::default() });
        reply(p.on_primary("SET k1 1"));
        assert_eq!(p.on_replica("GET k1"), Reply::Bulk(b"1".to_vec()), "link up");
        p.replica.link_up = false;
        assert_eq!(p.on_replica("GET k1"), Reply::error(errors::MASTERDOWN));
        assert_eq!(p.on_replica("PING"), Reply::Simple("PONG".into()));
    }

    #[test]
    fn a_full_sync_replaces_the_replicas_dataset_even_with_nothing() {
        let mut p = Pair::new(RedisConfig::default());
        reply(p.on_primary("SET k1 1 PX 5000"));
        reply(p.on_primary("SET k2 2"));
        assert_eq!(p.replica.keyspace.len(), 2);
        let snap = p.primary.keyspace.snapshot();
        assert_eq!(snap[0], (b"k1".to_vec(), b"1".to_vec(), Some(T0 + 5000)));
        assert_eq!(p.primary.keyspace.rdb_bytes(), 18 + (1 + 3 + 2 + 9) + (1 + 3 + 2));
        // The primary restarts empty (no persistence): the replica's full
        // resynchronisation wipes it.
        let empty = Instance::new(RedisConfig::default(), 44, &mut Rng::stream(1, 1));
        p.replica.keyspace.load_snapshot(&empty.keyspace.snapshot(), T0);
        assert_eq!(p.replica.keyspace.len(), 0);
        p.replica.keyspace.assert_consistent();
    }

    #[test]
    fn promotion_keeps_the_history_for_psync2() {
        let mut p = Pair::new(RedisConfig::default());
        reply(p.on_primary("SET k1 1"));
        let old_id = p.primary.repl.replid;
        let at = p.replica.repl.master_repl_offset;
        p.replica.become_primary(99);
        assert!(!p.replica.is_replica());
        assert_eq!((p.replica.repl.replid, p.replica.repl.replid2), (99, old_id));
        let mut woff = 0;
        let mut out = Vec::new();
        let called = p.replica.call(&["SET", "k2", "2"], &mut woff, T0, &mut p.rng, &mut out);
        assert_eq!(called, Called::Reply(Reply::ok()));
        assert_eq!(out[0], (at, ReplCmd::Select));
        assert!(matches!(p.replica.repl.psync(old_id, at + 1), PsyncAnswer::Continue(v) if v.len() == 2));
    }
}
