//! A Redis 7.0 server's keyspace as a pure, deterministic state machine:
//! the cache a Redis node of the simulation holds. Commands go in as argv
//! (exactly as on the wire), replies come out as [`Reply`] (RESP2); the
//! caller passes the node's wall clock in milliseconds and its random
//! stream with every call. No I/O, no real time, no `HashMap`, and the
//! whole keyspace is `Clone` (a run's checkpoint copies it).
//!
//! The reference is Redis 7.0.15 (Debian's package), per section 2 of
//! `shared/reference/semantics.md`; `engine/tests/redis_diff.rs` sends the
//! same commands to the real `redis-server` and to this model and compares
//! the replies.
//!
//! # Use
//!
//! ```
//! use engine::redis::{Keyspace, RedisConfig, Reply};
//! use engine::rng::Rng;
//!
//! let mut rng = Rng::stream(1, 1);
//! let mut redis = Keyspace::new(RedisConfig::default(), &mut rng);
//! let now_ms = 1_000;
//! assert_eq!(redis.execute(&["SET", "k", "1", "PX", "500"], now_ms, &mut rng), Reply::ok());
//! assert_eq!(redis.execute(&["INCR", "k"], now_ms, &mut rng), Reply::Integer(2));
//! assert_eq!(redis.execute(&["PTTL", "k"], now_ms + 100, &mut rng), Reply::Integer(400));
//! assert_eq!(redis.execute(&["GET", "k"], now_ms + 501, &mut rng), Reply::Nil);
//! redis.cron(now_ms + 600, &mut rng); // every 1000/hz = 100 ms
//! assert_eq!(redis.stats().expired_keys, 1);
//! ```
//!
//! * [`Keyspace::execute`] runs a client's command;
//!   [`Keyspace::execute_from_primary`] one from the replication link.
//! * [`Keyspace::cron`] every 100 ms of node time (`serverCron` at `hz`
//!   10: the slow active-expire cycle, bounded work per call);
//!   [`Keyspace::before_sleep`] after each batch of commands (the fast
//!   cycle; optional).
//! * [`Keyspace::stats`], [`Keyspace::used_memory`], [`Keyspace::len`] and
//!   friends for displays; [`Keyspace::peek`] reads without side effects.
//!
//! # Commands
//!
//! GET, SET (EX, PX, EXAT, PXAT, NX, XX, KEEPTTL, GET), SETNX, SETEX,
//! PSETEX, MGET, MSET, INCR, DECR, INCRBY, DECRBY, DEL, EXISTS, EXPIRE,
//! PEXPIRE, EXPIREAT, PEXPIREAT (NX, XX, GT, LT), TTL, PTTL, EXPIRETIME,
//! PEXPIRETIME, PERSIST, PING, DBSIZE, FLUSHALL. Anything else answers
//! "unknown command", as Redis does for a name it does not know.
//!
//! # Expiry
//!
//! A key is expired when `now > expire_at` (`keyIsExpired`). Lazily, every
//! lookup deletes an expired key it finds (`expireIfNeeded`); actively, the
//! expire cycles walk the keys with a TTL (see `active_expire.rs`). A
//! replica ([`Role::Replica`]) never deletes on its own: it answers
//! "missing" and waits for its primary's `DEL`.
//!
//! # Memory and eviction
//!
//! Memory is a model (see `memory.rs`): each key costs
//!
//! ```text
//! 56 + len(key) + len(value)  bytes, plus 32 if it has a TTL
//! ```
//!
//! and `used_memory` is the sum over all keys, with no server baseline.
//! When it exceeds `maxmemory` (0: no limit), the next command first
//! evicts by `maxmemory-policy` as `evict.c` does: sampled, 5 keys a time,
//! through the 16-entry eviction pool, with Redis's 24-bit LRU clock of
//! one-second resolution and its 8-bit logarithmic LFU counter with decay
//! (see `evict.rs`, `lru.rs`, `lfu.rs`). Under `noeviction`, or when no key
//! may be evicted, writes that may grow memory fail with `-OOM command not
//! allowed when used memory > 'maxmemory'.`; reads, DEL and EXPIRE still
//! work.
//!
//! Access updates LRU/LFU as Redis's `lookupKey` does: reads (GET, MGET,
//! SET ... GET) and write lookups (SET, INCR, EXPIRE, PERSIST on an
//! existing key) touch the key; TTL, PTTL and EXISTS do not
//! (`LOOKUP_NOTOUCH`). Only reads count as keyspace hits or misses.
//! Overwriting a key under an LFU policy keeps its counter.
//!
//! # Not modelled
//!
//! One database (no SELECT); strings only; no MULTI, scripts, keyspace
//! notifications, client pause or lazy freeing; no hash-table buckets.
//! Redis samples eviction candidates from runs of neighbouring buckets,
//! whose chains list the newest keys first, so its samples lean towards
//! recently written keys; the model samples uniformly, which makes its
//! LRU about half a point to a point better in hit ratio than Redis's
//! (`engine/tests/redis_eviction.rs`). Writes are propagated one by one,
//! without the MULTI/EXEC Redis wraps around a command's own DELs.

mod active_expire;
mod command;
mod conf;
mod config;
pub mod errors;
mod evict;
mod expire;
pub mod instance;
mod keys;
mod keyspace;
pub mod lfu;
pub mod lru;
pub mod memory;
pub mod number;
pub mod replication;
mod reply;
mod stats;
mod store;
mod strings;

pub use active_expire::{CycleKind, CycleReport};
pub use command::{lookup as lookup_command, Command, CommandSpec, COMMANDS};
pub use conf::{redis_conf, redis_settings};
pub use config::{AppendFsync, MaxmemoryPolicy, RedisConfig};
pub use evict::{EVICTION_KEY_COST_US, EVPOOL_SIZE};
pub use instance::{Called, Instance, Outgoing};
pub use keyspace::{Argv, Gate, Keyspace, Role, SnapshotEntry};
pub use replication::{Backlog, PsyncAnswer, ReplState, ReplicaLink, ReplicaState};
pub use reply::Reply;
pub use stats::Stats;
