//! Differential tests: the same command scripts go to a real `redis-server`
//! (Debian's 7.0.15, started by each test on a free loopback port) and to
//! the model (`engine::redis::Keyspace`), in lockstep; every reply must be
//! identical. The model's clock is the host's wall clock, which is what
//! Redis reads, so TTLs line up; where a reply depends on the milliseconds
//! between the two calls (PTTL), the script gives a range instead.
//!
//! A script is one command per line, optionally followed by `->` and the
//! reply Redis gives, shown as `redis-cli` would: `OK`, `(integer) 1`,
//! `"value"`, `(nil)`, `(error) ERR ...`, arrays as `["a", (nil)]`. An
//! expected integer written `~N` means "N, or up to 50 less" (time has
//! passed). `sleep N` waits N ms; `stats` compares the model's counters
//! with `INFO stats`. Arguments with spaces go in double quotes.

#[path = "common/redis_server.rs"]
mod redis_server;

use engine::redis::{Keyspace, MaxmemoryPolicy, RedisConfig, Reply};
use engine::rng::Rng;
use redis_server::{unix_ms, RedisServer, RespClient};
use std::time::Duration;

/// How far a time-dependent integer (PTTL) may be from the expected value.
const TIME_SLACK_MS: i64 = 50;

struct Pair {
    _server: RedisServer,
    real: RespClient,
    model: Keyspace,
    rng: Rng,
}

impl Pair {
    fn new() -> Pair {
        Pair::with_config(RedisConfig::default())
    }

    fn with_config(config: RedisConfig) -> Pair {
        let server = RedisServer::start();
        let mut real = server.client();
        real.ok(&["CONFIG", "SET", "maxmemory-policy", config.maxmemory_policy.name()]);
        let mut rng = Rng::stream(2024, 1);
        let model = Keyspace::new(config, &mut rng);
        Pair { _server: server, real, model, rng }
    }

    /// One command to both; (redis-server's reply, the model's).
    fn both(&mut self, argv: &[Vec<u8>]) -> (Reply, Reply) {
        let real = self.real.call(argv);
        let model = self.model.execute(argv, unix_ms(), &mut self.rng);
        self.model.assert_consistent();
        (real, model)
    }

    /// Runs a script; panics listing every line where the replies differ
    /// from each other or from the script.
    fn run(&mut self, script: &str) {
        let mut failures = Vec::new();
        for (n, raw) in script.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (command, expected) = match line.split_once("->") {
                Some((c, e)) => (c.trim(), Some(e.trim())),
                None => (line, None),
            };
            let argv = split_args(command);
            if argv[0] == b"sleep" {
                let ms: u64 = String::from_utf8_lossy(&argv[1]).parse().expect("sleep N");
                std::thread::sleep(Duration::from_millis(ms));
                continue;
            }
            if argv[0] == b"stats" {
                if let Err(e) = self.compare_stats() {
                    failures.push(format!("line {}: stats: {e}", n + 1));
                }
                continue;
            }
            let (real, model) = self.both(&argv);
            let (real_shown, model_shown) = (show(&real), show(&model));
            let problem = match expected {
                Some(e) if e.starts_with('~') || e.starts_with("(integer) ~") => {
                    let want: i64 = e.trim_start_matches("(integer) ").trim_start_matches('~').parse().expect("~N");
                    let near = |r: &Reply| matches!(r, Reply::Integer(v) if (want - TIME_SLACK_MS..=want).contains(v));
                    (!near(&real) || !near(&model)).then(|| format!("expected {e}"))
                }
                Some(e) if real_shown.trim_end() != e => {
                    Some(format!("redis-server does not answer as the script says: {e}"))
                }
                _ if real != model => Some("the model differs".to_string()),
                _ => None,
            };
            if let Some(p) = problem {
                failures.push(format!(
                    "line {}: `{command}`: {p}\n    redis-server: {real_shown}\n    model:        {model_shown}",
                    n + 1
                ));
            }
        }
        assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    }

    /// The model's counters against `INFO stats`.
    fn compare_stats(&mut self) -> Result<(), String> {
        let info = self.real.info("stats");
        let s = self.model.stats();
        let fields = [
            ("keyspace_hits", s.keyspace_hits),
            ("keyspace_misses", s.keyspace_misses),
            ("expired_keys", s.expired_keys),
            ("evicted_keys", s.evicted_keys),
        ];
        let mut wrong = Vec::new();
        for (field, model) in fields {
            let real: u64 = redis_server::info_field(&info, field).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
            if real != model {
                wrong.push(format!("{field}: redis-server {real}, model {model}"));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join(", "))
        }
    }
}

/// Splits a script line into arguments: spaces separate, double quotes
/// group (with `\n`, `\"`, `\\` escapes), `""` is an empty argument.
fn split_args(line: &str) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => arg.push('\n'),
                        Some(other) => arg.push(other),
                        None => break,
                    },
                    c => arg.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        args.push(arg.into_bytes());
    }
    args
}

/// A reply as the scripts write it.
fn show(r: &Reply) -> String {
    match r {
        Reply::Simple(s) => s.clone(),
        Reply::Error(e) => format!("(error) {e}"),
        Reply::Integer(n) => format!("(integer) {n}"),
        Reply::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Reply::Nil => "(nil)".to_string(),
        Reply::Array(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
    }
}

#[test]
fn strings_counts_and_set_options() {
    Pair::new().run(
        r#"
        GET k                       -> (nil)
        SET k v                     -> OK
        GET k                       -> "v"
        set k v2                    -> OK
        gEt k                       -> "v2"
        SET k v3 NX                 -> (nil)
        SET k v3 XX                 -> OK
        SET fresh v XX              -> (nil)
        SET fresh v NX              -> OK
        SET k v4 GET                -> "v3"
        SET none v GET              -> (nil)
        SET k v5 NX GET             -> "v4"
        GET k                       -> "v4"
        SET other v NX GET          -> (nil)
        SET k v6 XX GET GET         -> "v4"
        SET gone v XX GET           -> (nil)
        EXISTS gone                 -> (integer) 0
        SETNX k x                   -> (integer) 0
        SETNX k2 x                  -> (integer) 1
        SET "" empty                -> OK
        GET ""                      -> "empty"
        SET k ""                    -> OK
        GET k                       -> ""
        MSET a 1 b 2 c 3            -> OK
        MGET a b nope c             -> ["1", "2", (nil), "3"]
        MSET a 10 a 11              -> OK
        GET a                       -> "11"
        EXISTS a b nope a           -> (integer) 3
        DEL a nope a b              -> (integer) 2
        EXISTS a b c                -> (integer) 1
        DBSIZE
        PING                        -> PONG
        PING hello                  -> "hello"
        FLUSHALL                    -> OK
        DBSIZE                      -> (integer) 0
        FLUSHALL ASYNC              -> OK
        stats
        "#,
    );
}

#[test]
fn errors_word_for_word() {
    Pair::new().run(
        r#"
        GET                         -> (error) ERR wrong number of arguments for 'get' command
        GET a b                     -> (error) ERR wrong number of arguments for 'get' command
        SET k                       -> (error) ERR wrong number of arguments for 'set' command
        MSET a                      -> (error) ERR wrong number of arguments for 'mset' command
        MSET a 1 b                  -> (error) ERR wrong number of arguments for 'mset' command
        MGET                        -> (error) ERR wrong number of arguments for 'mget' command
        DEL                         -> (error) ERR wrong number of arguments for 'del' command
        EXISTS                      -> (error) ERR wrong number of arguments for 'exists' command
        EXPIRE k                    -> (error) ERR wrong number of arguments for 'expire' command
        TTL                         -> (error) ERR wrong number of arguments for 'ttl' command
        PTTL a b                    -> (error) ERR wrong number of arguments for 'pttl' command
        PERSIST                     -> (error) ERR wrong number of arguments for 'persist' command
        INCR                        -> (error) ERR wrong number of arguments for 'incr' command
        INCRBY k                    -> (error) ERR wrong number of arguments for 'incrby' command
        DECRBY k 1 2                -> (error) ERR wrong number of arguments for 'decrby' command
        SETEX k 10                  -> (error) ERR wrong number of arguments for 'setex' command
        PING a b                    -> (error) ERR wrong number of arguments for 'ping' command
        DBSIZE x                    -> (error) ERR wrong number of arguments for 'dbsize' command
        SET k v NX XX               -> (error) ERR syntax error
        SET k v XX NX               -> (error) ERR syntax error
        SET k v EX 10 PX 100        -> (error) ERR syntax error
        SET k v PX 100 EX 10        -> (error) ERR syntax error
        SET k v KEEPTTL EX 10       -> (error) ERR syntax error
        SET k v EX 10 KEEPTTL       -> (error) ERR syntax error
        SET k v EXAT 10 PXAT 10     -> (error) ERR syntax error
        SET k v EX                  -> (error) ERR syntax error
        SET k v FOO                 -> (error) ERR syntax error
        SET k v EX 0                -> (error) ERR invalid expire time in 'set' command
        SET k v EX -1               -> (error) ERR invalid expire time in 'set' command
        SET k v PX 0                -> (error) ERR invalid expire time in 'set' command
        SET k v PXAT 0              -> (error) ERR invalid expire time in 'set' command
        SET k v EX 9223372036854776 -> (error) ERR invalid expire time in 'set' command
        SET k v PX 9223372036854775000 -> (error) ERR invalid expire time in 'set' command
        SET k v EX ten              -> (error) ERR value is not an integer or out of range
        SET k v EX 1.5              -> (error) ERR value is not an integer or out of range
        SETEX k 0 v                 -> (error) ERR invalid expire time in 'setex' command
        PSETEX k -5 v               -> (error) ERR invalid expire time in 'psetex' command
        PSETEX k abc v              -> (error) ERR value is not an integer or out of range
        EXISTS k                    -> (integer) 0
        FLUSHALL now                -> (error) ERR syntax error
        FLUSHALL SYNC ASYNC         -> (error) ERR syntax error
        FOO                         -> (error) ERR unknown command 'FOO', with args beginning with: 
        foo a "b c"                 -> (error) ERR unknown command 'foo', with args beginning with: 'a' 'b c' 
        foo "a\nb"                  -> (error) ERR unknown command 'foo', with args beginning with: 'a b' 
        "" x                        -> (error) ERR unknown command '', with args beginning with: 'x' 
        LPUSH2 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy zzz
        stats
        "#,
    );
}

#[test]
fn integers_and_overflow() {
    Pair::new().run(
        r#"
        INCR n                      -> (integer) 1
        INCR n                      -> (integer) 2
        DECR n                      -> (integer) 1
        INCRBY n 41                 -> (integer) 42
        DECRBY n 50                 -> (integer) -8
        INCRBY n -2                 -> (integer) -10
        DECR fresh                  -> (integer) -1
        GET n                       -> "-10"
        SET n 9223372036854775806   -> OK
        INCR n                      -> (integer) 9223372036854775807
        INCR n                      -> (error) ERR increment or decrement would overflow
        INCRBY n 1                  -> (error) ERR increment or decrement would overflow
        DECRBY n -1                 -> (error) ERR increment or decrement would overflow
        GET n                       -> "9223372036854775807"
        SET n -9223372036854775807  -> OK
        DECR n                      -> (integer) -9223372036854775808
        DECR n                      -> (error) ERR increment or decrement would overflow
        INCRBY n -1                 -> (error) ERR increment or decrement would overflow
        INCRBY n 9223372036854775807 -> (integer) -1
        INCRBY n -9223372036854775808 -> (error) ERR increment or decrement would overflow
        DECRBY n -9223372036854775808 -> (error) ERR decrement would overflow
        SET n 0                     -> OK
        INCRBY n -9223372036854775808 -> (integer) -9223372036854775808
        INCRBY n 9223372036854775808 -> (error) ERR value is not an integer or out of range
        INCRBY n 1.5                -> (error) ERR value is not an integer or out of range
        INCRBY n ""                 -> (error) ERR value is not an integer or out of range
        SET s abc                   -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s " 1"                  -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s 01                    -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s -0                    -> OK
        DECR s                      -> (error) ERR value is not an integer or out of range
        SET s +1                    -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s 1.0                   -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s ""                    -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        SET s 0                     -> OK
        INCR s                      -> (integer) 1
        SET s 99999999999999999999  -> OK
        INCR s                      -> (error) ERR value is not an integer or out of range
        "#,
    );
}

#[test]
fn ttl_conventions_and_expiry() {
    Pair::new().run(
        r#"
        TTL nokey                   -> (integer) -2
        PTTL nokey                  -> (integer) -2
        SET k v                     -> OK
        TTL k                       -> (integer) -1
        PTTL k                      -> (integer) -1
        EXPIRE k 100                -> (integer) 1
        TTL k                       -> (integer) 100
        PTTL k                      -> ~100000
        # SET clears the TTL, KEEPTTL keeps it, INCR keeps it.
        SET k v2                    -> OK
        TTL k                       -> (integer) -1
        SET k v EX 100              -> OK
        SET k v3 KEEPTTL            -> OK
        TTL k                       -> (integer) 100
        SET n 5 PX 100000           -> OK
        INCR n                      -> (integer) 6
        INCRBY n 4                  -> (integer) 10
        DECR n                      -> (integer) 9
        PTTL n                      -> ~100000
        MSET n 1                    -> OK
        TTL n                       -> (integer) -1
        # PERSIST
        PERSIST n                   -> (integer) 0
        PERSIST nokey               -> (integer) 0
        EXPIRE n 50                 -> (integer) 1
        PERSIST n                   -> (integer) 1
        TTL n                       -> (integer) -1
        # TTL rounds to the nearest second.
        PEXPIRE k 1400              -> (integer) 1
        TTL k                       -> (integer) 1
        PEXPIRE k 1700              -> (integer) 1
        TTL k                       -> (integer) 2
        PEXPIRE k 300               -> (integer) 1
        TTL k                       -> (integer) 0
        # A time in the past deletes at once.
        EXPIRE k 0                  -> (integer) 1
        EXISTS k                    -> (integer) 0
        SET k v                     -> OK
        PEXPIRE k -1                -> (integer) 1
        GET k                       -> (nil)
        SET k v                     -> OK
        EXPIREAT k 1                -> (integer) 1
        TTL k                       -> (integer) -2
        EXPIRE nokey 10             -> (integer) 0
        SET k v                     -> OK
        EXPIRE k 9223372036854775807 -> (error) ERR invalid expire time in 'expire' command
        EXPIRE k -9223372036854775808 -> (error) ERR invalid expire time in 'expire' command
        PEXPIRE k 9223372036854775807 -> (error) ERR invalid expire time in 'pexpire' command
        EXPIRE k 1.5                -> (error) ERR value is not an integer or out of range
        PEXPIRE k -9223372036854775808 -> (integer) 1
        EXISTS k                    -> (integer) 0
        # Absolute times.
        SET k v                     -> OK
        EXPIRETIME k                -> (integer) -1
        EXPIRETIME nokey            -> (integer) -2
        EXPIREAT k 99999999999      -> (integer) 1
        EXPIRETIME k                -> (integer) 99999999999
        PEXPIRETIME k               -> (integer) 99999999999000
        PEXPIREAT k 99999999999499  -> (integer) 1
        EXPIRETIME k                -> (integer) 99999999999
        PEXPIREAT k 99999999999500  -> (integer) 1
        EXPIRETIME k                -> (integer) 100000000000
        PEXPIREAT k 9223372036854775807 -> (integer) 1
        PEXPIRETIME k               -> (integer) 9223372036854775807
        EXPIRETIME k                -> (integer) 9223372036854776
        SET k v EXAT 99999999999    -> OK
        PEXPIRETIME k               -> (integer) 99999999999000
        SET k v PXAT 99999999999123 -> OK
        PEXPIRETIME k               -> (integer) 99999999999123
        # SET with an absolute time in the past stores the key; it is
        # expired (lazily) on the next access.
        SET old v EXAT 1            -> OK
        GET old                     -> (nil)
        SETEX k 100 v               -> OK
        TTL k                       -> (integer) 100
        PSETEX k 100000 v           -> OK
        PTTL k                      -> ~100000
        # Expiry in real time: lazily, on access.
        SET a 1 PX 100              -> OK
        SET b 2 PX 100              -> OK
        SET c 3 PX 100              -> OK
        PSETEX d 100 4              -> OK
        SET e 5                     -> OK
        PEXPIRE e 100               -> (integer) 1
        GET a                       -> "1"
        PTTL a                      -> ~100
        sleep 150
        GET a                       -> (nil)
        EXISTS b                    -> (integer) 0
        TTL c                       -> (integer) -2
        PTTL d                      -> (integer) -2
        INCR e                      -> (integer) 1
        TTL e                       -> (integer) -1
        DEL nokey                   -> (integer) 0
        stats
        "#,
    );
}

#[test]
fn expire_options_nx_xx_gt_lt() {
    Pair::new().run(
        r#"
        SET k v                     -> OK
        EXPIRE k 100 XX             -> (integer) 0
        EXPIRE k 100 GT             -> (integer) 0
        EXPIRE k 100 LT             -> (integer) 1
        TTL k                       -> (integer) 100
        EXPIRE k 200 NX             -> (integer) 0
        EXPIRE k 200 LT             -> (integer) 0
        EXPIRE k 50 GT              -> (integer) 0
        EXPIRE k 200 GT             -> (integer) 1
        TTL k                       -> (integer) 200
        EXPIRE k 150 LT             -> (integer) 1
        EXPIRE k 300 XX             -> (integer) 1
        EXPIRE k 400 xx gt          -> (integer) 1
        EXPIRE k 300 XX LT          -> (integer) 1
        TTL k                       -> (integer) 300
        PERSIST k                   -> (integer) 1
        EXPIRE k 100 NX             -> (integer) 1
        TTL k                       -> (integer) 100
        EXPIRE k 100 NX XX          -> (error) ERR NX and XX, GT or LT options at the same time are not compatible
        EXPIRE k 100 GT NX          -> (error) ERR NX and XX, GT or LT options at the same time are not compatible
        EXPIRE k 100 NX LT          -> (error) ERR NX and XX, GT or LT options at the same time are not compatible
        EXPIRE k 100 GT LT          -> (error) ERR GT and LT options at the same time are not compatible
        EXPIRE k 100 FOO            -> (error) ERR Unsupported option FOO
        EXPIRE k 100 NX FOO         -> (error) ERR Unsupported option FOO
        EXPIRE k abc NX XX          -> (error) ERR NX and XX, GT or LT options at the same time are not compatible
        EXPIRE k abc XX             -> (error) ERR value is not an integer or out of range
        EXPIRE nokey 100 XX         -> (integer) 0
        EXPIRE nokey 100 NX XX      -> (error) ERR NX and XX, GT or LT options at the same time are not compatible
        PEXPIRE k 50000 GT GT       -> (integer) 0
        PEXPIREAT k 1 GT            -> (integer) 0
        EXPIREAT k 1 LT             -> (integer) 1
        EXISTS k                    -> (integer) 0
        SET k v                     -> OK
        EXPIRE k -1 LT              -> (integer) 1
        EXISTS k                    -> (integer) 0
        SET k v                     -> OK
        EXPIRE k -1 GT              -> (integer) 0
        EXISTS k                    -> (integer) 1
        stats
        "#,
    );
}

#[test]
fn keyspace_hits_and_misses_count_reads_only() {
    Pair::new().run(
        r#"
        GET a
        SET a 1
        GET a
        MGET a b c
        EXISTS a b
        TTL a
        PTTL b
        SET a 2 GET
        SET b 2 GET
        INCR a
        EXPIRE a 100
        PERSIST a
        DEL a b
        SET x 1 PX 50
        SET y 1 PX 50
        SET z 1 PX 50
        sleep 100
        DEL x
        EXISTS y
        GET z
        stats
        "#,
    );
}

#[test]
fn noeviction_refuses_writes_but_not_reads_deletes_or_expires() {
    let mut pair =
        Pair::with_config(RedisConfig { maxmemory_policy: MaxmemoryPolicy::NoEviction, ..Default::default() });
    pair.run(
        r#"
        MSET a 1 b 2 c 3 d 4
        EXPIRE d 1000
        "#,
    );
    // Real Redis is always above 1 byte; the model, with four keys, too.
    pair.real.ok(&["CONFIG", "SET", "maxmemory", "1"]);
    pair.model.set_maxmemory(1);
    pair.run(
        r#"
        SET k v                     -> (error) OOM command not allowed when used memory > 'maxmemory'.
        SET a 1                     -> (error) OOM command not allowed when used memory > 'maxmemory'.
        SETNX new 1                 -> (error) OOM command not allowed when used memory > 'maxmemory'.
        INCR a                      -> (error) OOM command not allowed when used memory > 'maxmemory'.
        MSET a 1                    -> (error) OOM command not allowed when used memory > 'maxmemory'.
        MSET a 1 b                  -> (error) OOM command not allowed when used memory > 'maxmemory'.
        SET k                       -> (error) ERR wrong number of arguments for 'set' command
        GET a                       -> "1"
        MGET a b                    -> ["1", "2"]
        EXISTS a                    -> (integer) 1
        TTL d                       -> (integer) 1000
        EXPIRE a 100                -> (integer) 1
        PERSIST a                   -> (integer) 1
        DEL b                       -> (integer) 1
        DBSIZE                      -> (integer) 3
        PING                        -> PONG
        stats
        "#,
    );
    // volatile-lru: the keys with a TTL go, then writes fail again.
    pair.real.ok(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
    pair.model.set_policy(MaxmemoryPolicy::VolatileLru);
    pair.run(
        r#"
        SET k v                     -> (error) OOM command not allowed when used memory > 'maxmemory'.
        EXISTS d                    -> (integer) 0
        DBSIZE                      -> (integer) 2
        stats
        "#,
    );
}
