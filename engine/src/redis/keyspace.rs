//! The keyspace and the path every command takes through it: Redis 7.0's
//! `processCommand` (command lookup, arity, evictions and the OOM refusal,
//! the read-only replica refusal), `call` (run, count, propagate) and
//! `lookupKey` / `expireIfNeeded` (`db.c`).
//!
//! The commands themselves are in `strings.rs`, `keys.rs` and `expire.rs`;
//! background work in `active_expire.rs` and `evict.rs`.

use super::active_expire::ActiveExpireState;
use super::command::{self, Command};
use super::config::RedisConfig;
use super::errors;
use super::evict::{EvictResult, EvictionPool};
use super::lfu;
use super::lru;
use super::reply::Reply;
use super::stats::Stats;
use super::store::{SlotId, Store};
use crate::rng::Rng;

/// A command or a propagated write, as on the wire: name and arguments.
pub type Argv = Vec<Vec<u8>>;

/// Whether this server is a primary or replicates one. On a replica
/// (Redis's `masterhost != NULL`) expiry is the primary's business: reads
/// of an expired key answer "missing" but the key stays until the
/// primary's `DEL` arrives; `EXPIRE` to a past time stores the past time
/// instead of deleting; the active expire cycle does not run; clients may
/// not write (`replica-read-only`); evictions are off
/// (`replica-ignore-maxmemory`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    #[default]
    Primary,
    Replica,
}

/// `lookupKey`'s flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// `lookupKeyRead`: counts a hit or miss, updates LRU/LFU.
    Read,
    /// `LOOKUP_NOTOUCH` (`TTL`, `EXISTS`): counts, does not touch.
    ReadNoTouch,
    /// `lookupKeyWrite`: touches, does not count, and deletes an expired
    /// key even on a writable replica.
    Write,
}

/// Refusals that depend on replication, which `processCommand` checks
/// between the OOM check and the READONLY check (`NOREPLICAS`) and after
/// it (`MASTERDOWN`). The caller (the node, which knows its replicas and
/// its link) decides them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    /// A primary with `min-replicas-to-write` set and too few good
    /// replicas: writes get `-NOREPLICAS`.
    pub too_few_replicas: bool,
    /// A replica whose link is down, with `replica-serve-stale-data no`:
    /// every command but PING gets `-MASTERDOWN`.
    pub master_down: bool,
}

/// One key as a full synchronisation ships it: name, value, absolute
/// expiry in milliseconds.
pub type SnapshotEntry = (Vec<u8>, Vec<u8>, Option<i64>);

/// What one call needs besides the keyspace.
pub(crate) struct Call<'a> {
    pub now_ms: i64,
    pub rng: &'a mut Rng,
    /// The command came down the replication link from our primary
    /// (Redis's `server.master` client): expired keys still exist for it.
    pub from_primary: bool,
    /// How the command is propagated, if not as it came (`SET ... EX` as
    /// `SET ... PXAT`, `EXPIRE` as `PEXPIREAT`).
    pub rewrite: Option<Argv>,
    /// Propagate even if nothing changed (`FLUSHALL`).
    pub force_propagate: bool,
}

/// A Redis 7.0 server's keyspace (one database, strings only) as a pure
/// state machine: commands in as argv, replies out, time and randomness
/// from the caller.
#[derive(Clone, Debug)]
pub struct Keyspace {
    pub(crate) config: RedisConfig,
    pub(crate) store: Store,
    pub(crate) stats: Stats,
    pub(crate) pool: EvictionPool,
    pub(crate) expire_state: ActiveExpireState,
    pub(crate) role: Role,
    /// An eviction pass stopped on its time limit with memory still over
    /// `maxmemory` (Redis's `isEvictionProcRunning`).
    pub(crate) eviction_pending: bool,
    /// `server.dirty`: changes made, to decide what to propagate.
    pub(crate) dirty: u64,
    /// Writes to send to replicas, when propagation is on.
    propagated: Option<Vec<Argv>>,
    pub(crate) sample_buf: Vec<SlotId>,
    /// `server.lruclock`, as of the last `cron`.
    pub(crate) cached_lru_clock: Option<u32>,
}

impl Keyspace {
    /// An empty keyspace. Draws its hash seed from `rng` (Redis seeds its
    /// hash tables randomly at start-up), which fixes the order the active
    /// expire cycle visits keys in. Panics if `config` is out of range (see
    /// [`RedisConfig::validate`]).
    pub fn new(config: RedisConfig, rng: &mut Rng) -> Keyspace {
        if let Err((field, message)) = config.validate() {
            panic!("invalid Redis configuration: {field}: {message}");
        }
        Keyspace {
            config,
            store: Store::new(rng.next_u64()),
            stats: Stats::default(),
            pool: EvictionPool::default(),
            expire_state: ActiveExpireState::default(),
            role: Role::Primary,
            eviction_pending: false,
            dirty: 0,
            propagated: None,
            sample_buf: Vec::new(),
            cached_lru_clock: None,
        }
    }

    /// Runs one command from a client at `now_ms` (the node's wall clock,
    /// milliseconds) and returns its reply.
    ///
    /// Redis sends nothing back for an empty command; the model answers
    /// `ERR empty command`.
    pub fn execute<A: AsRef<[u8]>>(&mut self, argv: &[A], now_ms: i64, rng: &mut Rng) -> Reply {
        self.dispatch(argv, now_ms, rng, false, Gate::default())
    }

    /// [`Keyspace::execute`] with the replication refusals of `gate`.
    pub fn execute_gated<A: AsRef<[u8]>>(&mut self, argv: &[A], now_ms: i64, rng: &mut Rng, gate: Gate) -> Reply {
        self.dispatch(argv, now_ms, rng, false, gate)
    }

    /// Runs one command received from this replica's primary over the
    /// replication link: never refused as a write, and it sees keys that
    /// have expired but not yet been deleted by the primary.
    pub fn execute_from_primary<A: AsRef<[u8]>>(&mut self, argv: &[A], now_ms: i64, rng: &mut Rng) -> Reply {
        self.dispatch(argv, now_ms, rng, true, Gate::default())
    }

    fn dispatch<A: AsRef<[u8]>>(
        &mut self,
        argv: &[A],
        now_ms: i64,
        rng: &mut Rng,
        from_primary: bool,
        gate: Gate,
    ) -> Reply {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        let reply = self.process(&argv, now_ms, rng, from_primary, gate);
        if reply.is_error() {
            self.stats.total_error_replies += 1;
        }
        reply
    }

    /// `processCommand` and `call`.
    fn process(&mut self, argv: &[&[u8]], now_ms: i64, rng: &mut Rng, from_primary: bool, gate: Gate) -> Reply {
        let Some(name) = argv.first() else {
            return Reply::error("ERR empty command");
        };
        let Some(spec) = command::lookup(name) else {
            self.stats.rejected_calls += 1;
            return Reply::Error(errors::unknown_command(argv));
        };
        if !spec.arity_ok(argv.len()) {
            self.stats.rejected_calls += 1;
            return Reply::Error(errors::wrong_arity(spec.name));
        }
        // Evictions run before every command once maxmemory is set; only
        // commands that may grow memory are refused when nothing can go.
        if self.config.maxmemory > 0 {
            let out_of_memory = self.perform_evictions(now_ms, rng) == EvictResult::Fail;
            if out_of_memory && spec.denyoom {
                self.stats.rejected_calls += 1;
                return Reply::error(errors::OOM);
            }
        }
        if gate.too_few_replicas && spec.write {
            self.stats.rejected_calls += 1;
            return Reply::error(errors::NOREPLICAS);
        }
        if self.role == Role::Replica && self.config.replica_read_only && !from_primary && spec.write {
            self.stats.rejected_calls += 1;
            return Reply::error(errors::READONLY);
        }
        // Only commands flagged CMD_STALE run on a replica cut off from its
        // primary with replica-serve-stale-data no; of the model's, PING.
        if gate.master_down && spec.command != Command::Ping {
            self.stats.rejected_calls += 1;
            return Reply::error(errors::MASTERDOWN);
        }

        self.stats.total_commands_processed += 1;
        let dirty_before = self.dirty;
        let mut c = Call { now_ms, rng, from_primary, rewrite: None, force_propagate: false };
        let reply = match spec.command {
            Command::Get => self.get_command(&mut c, argv),
            Command::Set => self.set_command(&mut c, argv),
            Command::SetNx => self.setnx_command(&mut c, argv),
            Command::SetEx => self.setex_command(&mut c, argv, false),
            Command::PSetEx => self.setex_command(&mut c, argv, true),
            Command::MGet => self.mget_command(&mut c, argv),
            Command::MSet => self.mset_command(&mut c, argv),
            Command::Incr => self.incr_decr_command(&mut c, argv, 1),
            Command::Decr => self.incr_decr_command(&mut c, argv, -1),
            Command::IncrBy => self.incrby_command(&mut c, argv, false),
            Command::DecrBy => self.incrby_command(&mut c, argv, true),
            Command::Del => self.del_command(&mut c, argv),
            Command::Exists => self.exists_command(&mut c, argv),
            Command::Expire => self.expire_command(&mut c, argv, spec.name, now_ms, true),
            Command::PExpire => self.expire_command(&mut c, argv, spec.name, now_ms, false),
            Command::ExpireAt => self.expire_command(&mut c, argv, spec.name, 0, true),
            Command::PExpireAt => self.expire_command(&mut c, argv, spec.name, 0, false),
            Command::Ttl => self.ttl_command(&mut c, argv, false, false),
            Command::PTtl => self.ttl_command(&mut c, argv, true, false),
            Command::ExpireTime => self.ttl_command(&mut c, argv, false, true),
            Command::PExpireTime => self.ttl_command(&mut c, argv, true, true),
            Command::Persist => self.persist_command(&mut c, argv),
            Command::Ping => ping_command(argv),
            Command::DbSize => Reply::Integer(self.store.len() as i64),
            Command::FlushAll => self.flushall_command(&mut c, argv),
        };
        if self.dirty != dirty_before || c.force_propagate {
            let command = c.rewrite.take().unwrap_or_else(|| argv.iter().map(|a| a.to_vec()).collect());
            self.propagate(command);
        }
        reply
    }

    /// `lookupKey`: the key's entry if it exists and has not expired.
    pub(crate) fn lookup(&mut self, c: &mut Call, key: &[u8], how: Lookup) -> Option<SlotId> {
        let mut found = self.store.find(key);
        if let Some(id) = found {
            if self.expire_if_needed(c, id, how == Lookup::Write) {
                found = None;
            }
        }
        match found {
            Some(id) => {
                if how != Lookup::ReadNoTouch {
                    self.touch(c, id);
                }
                if how != Lookup::Write {
                    self.stats.keyspace_hits += 1;
                }
            }
            None => {
                if how != Lookup::Write {
                    self.stats.keyspace_misses += 1;
                }
            }
        }
        found
    }

    /// `keyIsExpired`: strictly after the expiry time.
    pub(crate) fn is_expired(&self, id: SlotId, now_ms: i64) -> bool {
        matches!(self.store.entry(id).expire_at_ms, Some(when) if now_ms > when)
    }

    /// `expireIfNeeded`: true if the key is to be treated as missing. On a
    /// primary an expired key is deleted (and `id` is no longer valid).
    pub(crate) fn expire_if_needed(&mut self, c: &Call, id: SlotId, force_delete: bool) -> bool {
        if !self.is_expired(id, c.now_ms) {
            return false;
        }
        if self.role == Role::Replica {
            if c.from_primary {
                return false;
            }
            if !force_delete {
                return true;
            }
        }
        self.delete_expired(id);
        true
    }

    /// `deleteExpiredKeyAndPropagate`.
    pub(crate) fn delete_expired(&mut self, id: SlotId) {
        let removed = self.store.remove(id);
        self.stats.expired_keys += 1;
        self.propagate(vec![b"DEL".to_vec(), removed.key.to_vec()]);
    }

    /// An access: `updateLFU` under the LFU policies, the LRU clock under
    /// all others.
    pub(crate) fn touch(&mut self, c: &mut Call, id: SlotId) {
        let lru = if self.config.maxmemory_policy.is_lfu() {
            let old = self.store.entry(id).lru;
            lfu::on_access(old, c.now_ms, self.config.lfu_log_factor, self.config.lfu_decay_time, c.rng)
        } else {
            self.lru_clock(c.now_ms)
        };
        self.store.set_lru(id, lru);
    }

    /// The `lru` field of a new object (`createObject`).
    pub(crate) fn new_lru(&self, now_ms: i64) -> u32 {
        if self.config.maxmemory_policy.is_lfu() {
            lfu::initial(now_ms)
        } else {
            self.lru_clock(now_ms)
        }
    }

    /// `LRU_CLOCK()`: the clock `cron` last cached, or the caller's clock
    /// if `cron` has not run yet.
    pub(crate) fn lru_clock(&self, now_ms: i64) -> u32 {
        self.cached_lru_clock.unwrap_or_else(|| lru::lru_clock(now_ms))
    }

    /// `setKey`: store `value` under `key`; `existing` is what the caller's
    /// write lookup found. Clears the TTL unless `keep_ttl`.
    pub(crate) fn set_key(
        &mut self,
        now_ms: i64,
        key: &[u8],
        value: Vec<u8>,
        keep_ttl: bool,
        existing: Option<SlotId>,
    ) {
        match existing {
            Some(id) => {
                self.overwrite(id, value, now_ms);
                if !keep_ttl {
                    self.store.remove_expire(id);
                }
            }
            None => {
                let lru = self.new_lru(now_ms);
                self.store.insert(key, value, lru);
            }
        }
    }

    /// `dbOverwrite`: a new value object replaces the old one. Under LFU it
    /// inherits the old access counter; otherwise its LRU clock is now, when
    /// it was created. The TTL stays.
    pub(crate) fn overwrite(&mut self, id: SlotId, value: Vec<u8>, now_ms: i64) {
        if !self.config.maxmemory_policy.is_lfu() {
            self.store.set_lru(id, self.lru_clock(now_ms));
        }
        self.store.set_value(id, value);
    }

    pub(crate) fn propagate(&mut self, argv: Argv) {
        if self.role == Role::Primary {
            if let Some(out) = &mut self.propagated {
                out.push(argv);
            }
        }
    }

    // ----- What the simulation and the UI read and set -----

    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Keys held, including keys that have expired but are not yet deleted
    /// (`DBSIZE`).
    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Keys with a TTL (`INFO keyspace`'s `expires`).
    pub fn expires_count(&self) -> usize {
        self.store.volatile_len()
    }

    /// The active expire cycle's running average TTL of the keys it saw, in
    /// milliseconds (`INFO keyspace`'s `avg_ttl`).
    pub fn avg_ttl_ms(&self) -> i64 {
        self.expire_state.avg_ttl_ms
    }

    /// Modelled bytes in use (see the module documentation).
    pub fn used_memory(&self) -> u64 {
        self.store.used_bytes()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// `REPLICAOF host port` (to `Replica`) or `REPLICAOF NO ONE`.
    pub fn set_role(&mut self, role: Role) {
        self.role = role;
    }

    /// `CONFIG SET maxmemory`: when lowered below the memory in use,
    /// evictions start at the next command, `cron` or `before_sleep`.
    pub fn set_maxmemory(&mut self, bytes: u64) {
        self.config.maxmemory = bytes;
        self.eviction_pending = bytes > 0 && self.used_memory() > bytes;
    }

    /// `CONFIG SET maxmemory-policy`. As in Redis, the `lru` fields keep
    /// their old meaning until each key is next accessed or written.
    pub fn set_policy(&mut self, policy: super::config::MaxmemoryPolicy) {
        self.config.maxmemory_policy = policy;
    }

    /// An eviction pass stopped on its time limit and more memory must be
    /// freed: call `before_sleep` (Redis's eviction timer) soon.
    pub fn eviction_pending(&self) -> bool {
        self.eviction_pending
    }

    /// Turns on (or off, dropping anything not taken) the record of writes
    /// to send to replicas, in Redis's propagated form: `SET k v PXAT ms`
    /// for a `SET` with a TTL, `PEXPIREAT` for the `EXPIRE` family, `DEL`
    /// for expired and evicted keys. The caller must drain it with
    /// [`Keyspace::take_propagated`].
    pub fn set_propagation(&mut self, on: bool) {
        self.propagated = if on { Some(Vec::new()) } else { None };
    }

    /// The writes recorded since the last call, oldest first.
    pub fn take_propagated(&mut self) -> Vec<Argv> {
        self.propagated.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// A key's value and absolute expiry, with no side effect at all: no
    /// expiry, no statistics, no LRU/LFU update (for displays).
    pub fn peek(&self, key: &[u8]) -> Option<(&[u8], Option<i64>)> {
        let e = self.store.entry(self.store.find(key)?);
        Some((&e.value, e.expire_at_ms))
    }

    /// `OBJECT FREQ` without the side effects: the decayed LFU counter.
    /// `None` unless the policy is an LFU one.
    pub fn lfu_frequency(&self, key: &[u8], now_ms: i64) -> Option<u8> {
        if !self.config.maxmemory_policy.is_lfu() {
            return None;
        }
        let e = self.store.entry(self.store.find(key)?);
        Some(lfu::decayed_counter(e.lru, now_ms, self.config.lfu_decay_time))
    }

    /// `OBJECT IDLETIME` without the side effects, in milliseconds (whole
    /// seconds). `None` under the LFU policies.
    pub fn idle_ms(&self, key: &[u8], now_ms: i64) -> Option<u64> {
        if self.config.maxmemory_policy.is_lfu() {
            return None;
        }
        let e = self.store.entry(self.store.find(key)?);
        Some(lru::estimate_idle_ms(e.lru, self.lru_clock(now_ms)))
    }

    /// Every key, with expired ones not yet deleted, in key order: what an
    /// RDB of this dataset holds (`rdbSaveRio`).
    /// Changes made to the dataset so far (`server.dirty`, never reset
    /// here): what tells the append-only file it has something to write.
    pub fn changes(&self) -> u64 {
        self.dirty
    }

    pub fn snapshot(&self) -> Vec<SnapshotEntry> {
        let mut out: Vec<SnapshotEntry> = (0..self.store.len())
            .map(|id| {
                let e = self.store.entry(id);
                (e.key.to_vec(), e.value.clone(), e.expire_at_ms)
            })
            .collect();
        checker::sort::sort_by(&mut out, |a, b| a.0.cmp(&b.0));
        out
    }

    /// A replica's full synchronisation: the dataset is emptied
    /// (`emptyData`) and the primary's RDB loaded in its place, each key
    /// new as of `now_ms` for LRU and LFU. Statistics are kept, as Redis
    /// keeps `INFO stats` across a sync.
    pub fn load_snapshot(&mut self, entries: &[SnapshotEntry], now_ms: i64) {
        // A change of the whole dataset (the append-only file follows it).
        self.dirty += 1;
        self.store.clear();
        self.expire_state.reset_db();
        self.eviction_pending = false;
        let lru = self.new_lru(now_ms);
        for (key, value, expire_at_ms) in entries {
            let id = match self.store.find(key) {
                Some(id) => {
                    self.store.set_value(id, value.clone());
                    id
                }
                None => self.store.insert(key, value.clone(), lru),
            };
            if let Some(at) = expire_at_ms {
                self.store.set_expire(id, *at);
            }
        }
    }

    /// The size of this dataset's RDB in bytes, as the model counts it: a
    /// 9-byte header (`REDIS0010`), per key 1 type byte and the key and
    /// value each with a 1-byte length (lengths under 64; 2 bytes up to
    /// 16383, 5 beyond), 9 more bytes for an expiry, then the end byte
    /// and an 8-byte checksum.
    pub fn rdb_bytes(&self) -> u64 {
        fn len_bytes(n: usize) -> u64 {
            match n {
                0..=63 => 1,
                64..=16383 => 2,
                _ => 5,
            }
        }
        let mut total = 9 + 1 + 8;
        for id in 0..self.store.len() {
            let e = self.store.entry(id);
            total += 1 + len_bytes(e.key.len()) + e.key.len() as u64 + len_bytes(e.value.len()) + e.value.len() as u64;
            if e.expire_at_ms.is_some() {
                total += 9;
            }
        }
        total
    }

    /// Checks the storage's internal cross-references (for tests).
    pub fn assert_consistent(&self) {
        self.store.assert_consistent();
    }
}

/// `PING [message]`.
fn ping_command(argv: &[&[u8]]) -> Reply {
    match argv.len() {
        1 => Reply::Simple("PONG".to_string()),
        2 => Reply::Bulk(argv[1].to_vec()),
        _ => Reply::Error(errors::wrong_arity("ping")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::config::MaxmemoryPolicy;

    const T0: i64 = 1_700_000_000_000;

    fn keyspace(policy: MaxmemoryPolicy) -> (Keyspace, Rng) {
        let mut rng = Rng::stream(9, 9);
        let ks = Keyspace::new(RedisConfig { maxmemory_policy: policy, ..RedisConfig::default() }, &mut rng);
        (ks, rng)
    }

    fn run(ks: &mut Keyspace, rng: &mut Rng, now: i64, cmd: &str) -> Reply {
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        let reply = ks.execute(&argv, now, rng);
        ks.assert_consistent();
        reply
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn a_key_expires_strictly_after_its_deadline() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::NoEviction);
        assert_eq!(run(&mut ks, &mut rng, T0, "SET k v PX 100"), Reply::ok());
        assert_eq!(run(&mut ks, &mut rng, T0 + 100, "GET k"), bulk("v"));
        assert_eq!(run(&mut ks, &mut rng, T0 + 100, "PTTL k"), Reply::Integer(0));
        assert_eq!(run(&mut ks, &mut rng, T0 + 101, "GET k"), Reply::Nil);
        assert_eq!(ks.stats().expired_keys, 1);
        assert!(ks.is_empty());
    }

    #[test]
    fn ttl_conventions() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::NoEviction);
        assert_eq!(run(&mut ks, &mut rng, T0, "TTL k"), Reply::Integer(-2));
        run(&mut ks, &mut rng, T0, "SET k v");
        assert_eq!(run(&mut ks, &mut rng, T0, "TTL k"), Reply::Integer(-1));
        run(&mut ks, &mut rng, T0, "PEXPIRE k 1499");
        assert_eq!(run(&mut ks, &mut rng, T0, "TTL k"), Reply::Integer(1));
        assert_eq!(run(&mut ks, &mut rng, T0 + 999, "TTL k"), Reply::Integer(1), "500 ms left rounds up");
        assert_eq!(run(&mut ks, &mut rng, T0 + 1000, "TTL k"), Reply::Integer(0));
        assert_eq!(run(&mut ks, &mut rng, T0, "PEXPIREAT k 1"), Reply::Integer(1));
        assert_eq!(run(&mut ks, &mut rng, T0, "EXISTS k"), Reply::Integer(0));
        assert_eq!(ks.stats().expired_keys, 0, "EXPIRE to the past deletes without counting an expiry");
    }

    #[test]
    fn incr_keeps_the_ttl_set_clears_it_keepttl_keeps_it() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::NoEviction);
        run(&mut ks, &mut rng, T0, "SET n 1 EX 100");
        assert_eq!(run(&mut ks, &mut rng, T0, "INCR n"), Reply::Integer(2));
        assert_eq!(ks.peek(b"n"), Some((&b"2"[..], Some(T0 + 100_000))));
        run(&mut ks, &mut rng, T0, "SET n 5 KEEPTTL");
        assert_eq!(ks.peek(b"n").map(|p| p.1), Some(Some(T0 + 100_000)));
        run(&mut ks, &mut rng, T0, "SET n 5");
        assert_eq!(ks.peek(b"n").map(|p| p.1), Some(None));
        assert_eq!(ks.expires_count(), 0);
    }

    #[test]
    fn reads_count_and_touch_notouch_reads_count_writes_only_touch() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::AllkeysLru);
        run(&mut ks, &mut rng, T0, "SET k v");
        run(&mut ks, &mut rng, T0 + 5_000, "TTL k");
        run(&mut ks, &mut rng, T0 + 5_000, "EXISTS k nokey");
        assert_eq!(ks.idle_ms(b"k", T0 + 5_000), Some(5_000), "TTL and EXISTS do not touch");
        run(&mut ks, &mut rng, T0 + 5_000, "GET k");
        assert_eq!(ks.idle_ms(b"k", T0 + 5_000), Some(0));
        run(&mut ks, &mut rng, T0 + 9_000, "EXPIRE k 100");
        assert_eq!(ks.idle_ms(b"k", T0 + 9_000), Some(0), "a write lookup touches");
        run(&mut ks, &mut rng, T0 + 9_000, "INCR nokey");
        let s = ks.stats();
        assert_eq!((s.keyspace_hits, s.keyspace_misses), (3, 1), "TTL, EXISTS, GET hit; EXISTS nokey missed");
    }

    #[test]
    fn lfu_counter_starts_at_5_and_survives_an_overwrite() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::AllkeysLfu);
        run(&mut ks, &mut rng, T0, "SET k v");
        assert_eq!(ks.lfu_frequency(b"k", T0), Some(5));
        run(&mut ks, &mut rng, T0, "GET k");
        assert_eq!(ks.lfu_frequency(b"k", T0), Some(6));
        run(&mut ks, &mut rng, T0, "SET k other");
        assert!(ks.lfu_frequency(b"k", T0) >= Some(6), "the new value keeps the counter");
        assert_eq!(ks.lfu_frequency(b"k", T0 + 3 * 60_000).map(|f| f + 3), ks.lfu_frequency(b"k", T0));
        assert_eq!(ks.idle_ms(b"k", T0), None);
    }

    #[test]
    fn a_replica_keeps_expired_keys_until_its_primary_deletes_them() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::NoEviction);
        ks.set_role(Role::Replica);
        let from_primary = |ks: &mut Keyspace, rng: &mut Rng, now: i64, cmd: &str| {
            ks.execute_from_primary(&cmd.split_whitespace().collect::<Vec<_>>(), now, rng)
        };
        assert_eq!(from_primary(&mut ks, &mut rng, T0, "SET k v PXAT 1700000000100"), Reply::ok());
        assert_eq!(run(&mut ks, &mut rng, T0 + 200, "GET k"), Reply::Nil);
        assert_eq!(run(&mut ks, &mut rng, T0 + 200, "TTL k"), Reply::Integer(-2));
        assert_eq!(ks.len(), 1, "still there");
        assert_eq!(ks.stats().expired_keys, 0);
        assert!(!ks.cron(T0 + 200, &mut rng).ran, "no active expiry on a replica");
        assert_eq!(from_primary(&mut ks, &mut rng, T0 + 200, "PEXPIREAT k 5"), Reply::Integer(1));
        assert_eq!(ks.peek(b"k").map(|p| p.1), Some(Some(5)), "a past time is stored, not applied");
        assert_eq!(run(&mut ks, &mut rng, T0, "SET x y"), Reply::error(errors::READONLY));
        assert_eq!(run(&mut ks, &mut rng, T0, "DEL k"), Reply::error(errors::READONLY));
        assert_eq!(from_primary(&mut ks, &mut rng, T0 + 200, "DEL k"), Reply::Integer(1));
        assert!(ks.is_empty());
        ks.set_role(Role::Primary);
        assert_eq!(run(&mut ks, &mut rng, T0, "SET x y"), Reply::ok());
    }

    #[test]
    fn writes_are_propagated_in_redis_form() {
        let (mut ks, mut rng) = keyspace(MaxmemoryPolicy::NoEviction);
        ks.set_propagation(true);
        let argv = |s: &str| -> Argv { s.split_whitespace().map(|a| a.as_bytes().to_vec()).collect() };
        run(&mut ks, &mut rng, T0, "SET k v EX 10");
        run(&mut ks, &mut rng, T0, "SET k v2 GET");
        run(&mut ks, &mut rng, T0, "SET k v3 NX");
        run(&mut ks, &mut rng, T0, "EXPIRE k 10 NX");
        run(&mut ks, &mut rng, T0, "INCR n");
        run(&mut ks, &mut rng, T0, "DEL nokey");
        run(&mut ks, &mut rng, T0, "GET missing");
        run(&mut ks, &mut rng, T0, "SET t 1 PX 5");
        run(&mut ks, &mut rng, T0 + 10, "INCR t");
        run(&mut ks, &mut rng, T0 + 10, "EXPIRE k 0");
        run(&mut ks, &mut rng, T0 + 10, "FLUSHALL");
        let expected = [
            argv("SET k v PXAT 1700000010000"),
            argv("SET k v2"),
            argv("PEXPIREAT k 1700000010000"),
            argv("INCR n"),
            argv("SET t 1 PXAT 1700000000005"),
            argv("DEL t"),
            argv("INCR t"),
            argv("DEL k"),
            argv("FLUSHALL"),
        ];
        assert_eq!(ks.take_propagated(), expected);
        assert!(ks.take_propagated().is_empty());
    }

    #[test]
    fn odd_arguments_and_clocks_never_panic() {
        let words = [
            "GET",
            "SET",
            "SETEX",
            "PSETEX",
            "INCRBY",
            "DECRBY",
            "EXPIRE",
            "PEXPIRE",
            "EXPIREAT",
            "PEXPIREAT",
            "TTL",
            "EXPIRETIME",
            "PERSIST",
            "MSET",
            "MGET",
            "DEL",
            "k",
            "EX",
            "PX",
            "EXAT",
            "PXAT",
            "NX",
            "XX",
            "GT",
            "LT",
            "GET",
            "KEEPTTL",
            "0",
            "-1",
            "1",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854776",
        ];
        let config =
            RedisConfig { maxmemory: 500, maxmemory_policy: MaxmemoryPolicy::VolatileTtl, ..Default::default() };
        let mut rng = Rng::stream(6, 6);
        let mut ks = Keyspace::new(config, &mut rng);
        for i in 0..20_000 {
            let n = 1 + rng.below(6) as usize;
            let argv: Vec<&str> = (0..n).map(|_| words[rng.below(words.len() as u64) as usize]).collect();
            let now = [i64::MIN / 2, -5_000, 0, T0, i64::MAX / 2][rng.below(5) as usize] + i;
            ks.execute(&argv, now, &mut rng);
            if i % 97 == 0 {
                ks.cron(now, &mut rng);
                ks.before_sleep(now, &mut rng);
            }
        }
        ks.assert_consistent();
    }

    #[test]
    fn runs_and_clones_are_deterministic() {
        let script = |ks: &mut Keyspace, rng: &mut Rng, from: usize| -> Vec<Reply> {
            let mut out = Vec::new();
            for i in from..from + 3_000 {
                let now = T0 + i as i64 * 7;
                let key = format!("k{}", rng.below(300));
                let cmd = match rng.below(6) {
                    0 => vec!["GET".to_string(), key],
                    1 => vec!["SET".to_string(), key, "x".repeat(rng.below(40) as usize)],
                    2 => {
                        vec!["SET".to_string(), key, "v".to_string(), "PX".to_string(), rng.between(1, 500).to_string()]
                    }
                    3 => vec!["INCR".to_string(), key],
                    4 => vec!["DEL".to_string(), key],
                    _ => vec!["TTL".to_string(), key],
                };
                out.push(ks.execute(&cmd, now, rng));
                if i.is_multiple_of(14) {
                    ks.cron(now, rng);
                }
            }
            out
        };
        let config =
            RedisConfig { maxmemory: 4_000, maxmemory_policy: MaxmemoryPolicy::AllkeysLfu, ..Default::default() };
        let mut rng_a = Rng::stream(5, 1);
        let mut a = Keyspace::new(config.clone(), &mut rng_a);
        let mut rng_b = Rng::stream(5, 1);
        let mut b = Keyspace::new(config, &mut rng_b);
        assert_eq!(script(&mut a, &mut rng_a, 0), script(&mut b, &mut rng_b, 0));
        let (mut c, mut rng_c) = (a.clone(), rng_a.clone());
        assert_eq!(script(&mut a, &mut rng_a, 3_000), script(&mut c, &mut rng_c, 3_000));
        assert_eq!(a.stats(), c.stats());
        assert!(a.stats().evicted_keys > 0 && a.stats().expired_keys > 0);
        a.assert_consistent();
    }
}
