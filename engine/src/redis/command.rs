//! The command table: each command's name, arity and the flags that
//! `processCommand` looks at before running it (Redis 7.0's
//! `src/commands/*.json`).
//!
//! Arity as in Redis: positive means exactly that many arguments (the name
//! included), negative means at least that many.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Get,
    Set,
    SetNx,
    SetEx,
    PSetEx,
    MGet,
    MSet,
    Incr,
    Decr,
    IncrBy,
    DecrBy,
    Del,
    Exists,
    Expire,
    PExpire,
    ExpireAt,
    PExpireAt,
    Ttl,
    PTtl,
    ExpireTime,
    PExpireTime,
    Persist,
    Ping,
    DbSize,
    FlushAll,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// Lower case, as Redis's `fullname` (used in error messages).
    pub name: &'static str,
    pub command: Command,
    pub arity: i32,
    /// `CMD_WRITE`: refused on a read-only replica, propagated to replicas.
    pub write: bool,
    /// `CMD_DENYOOM`: refused while memory is over `maxmemory` and cannot be
    /// freed.
    pub denyoom: bool,
}

const fn spec(name: &'static str, command: Command, arity: i32, write: bool, denyoom: bool) -> CommandSpec {
    CommandSpec { name, command, arity, write, denyoom }
}

/// Every command the model knows. Others get "unknown command", even those
/// real Redis has (lists, hashes, CONFIG, ...).
pub const COMMANDS: &[CommandSpec] = &[
    spec("get", Command::Get, 2, false, false),
    spec("set", Command::Set, -3, true, true),
    spec("setnx", Command::SetNx, 3, true, true),
    spec("setex", Command::SetEx, 4, true, true),
    spec("psetex", Command::PSetEx, 4, true, true),
    spec("mget", Command::MGet, -2, false, false),
    spec("mset", Command::MSet, -3, true, true),
    spec("incr", Command::Incr, 2, true, true),
    spec("decr", Command::Decr, 2, true, true),
    spec("incrby", Command::IncrBy, 3, true, true),
    spec("decrby", Command::DecrBy, 3, true, true),
    spec("del", Command::Del, -2, true, false),
    spec("exists", Command::Exists, -2, false, false),
    spec("expire", Command::Expire, -3, true, false),
    spec("pexpire", Command::PExpire, -3, true, false),
    spec("expireat", Command::ExpireAt, -3, true, false),
    spec("pexpireat", Command::PExpireAt, -3, true, false),
    spec("ttl", Command::Ttl, 2, false, false),
    spec("pttl", Command::PTtl, 2, false, false),
    spec("expiretime", Command::ExpireTime, 2, false, false),
    spec("pexpiretime", Command::PExpireTime, 2, false, false),
    spec("persist", Command::Persist, 2, true, false),
    spec("ping", Command::Ping, -1, false, false),
    spec("dbsize", Command::DbSize, 1, false, false),
    spec("flushall", Command::FlushAll, -1, true, false),
];

/// `lookupCommand`: case-insensitive.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

impl CommandSpec {
    /// `processCommand`'s arity check.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity > 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_arity_follows_the_sign() {
        let set = lookup(b"SeT").expect("set");
        assert_eq!(set.command, Command::Set);
        assert!(!set.arity_ok(2));
        assert!(set.arity_ok(3) && set.arity_ok(9));
        let get = lookup(b"GET").expect("get");
        assert!(get.arity_ok(2) && !get.arity_ok(3));
        assert!(lookup(b"lpush").is_none());
    }
}
