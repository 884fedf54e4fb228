//! The error replies, word for word as Redis 7.0 sends them (`server.c`
//! `createSharedObjects`, and the `addReplyError*` calls of each command).

pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
pub const INCR_OVERFLOW: &str = "ERR increment or decrement would overflow";
/// `DECRBY key -9223372036854775808`: negating the decrement overflows.
pub const DECR_OVERFLOW: &str = "ERR decrement would overflow";
pub const EXPIRE_NX_CONFLICT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const EXPIRE_GT_LT_CONFLICT: &str = "ERR GT and LT options at the same time are not compatible";
/// `shared.oomerr`: a `denyoom` command while memory cannot be freed.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// `shared.roslaveerr`: a write from a client to a read-only replica.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// `shared.noreplicaserr`: a write while fewer than
/// `min-replicas-to-write` replicas acknowledged within
/// `min-replicas-max-lag` seconds.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
/// `shared.masterdownerr`: a replica whose link is down, with
/// `replica-serve-stale-data no`.
pub const MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
/// `waitCommand` on a replica.
pub const WAIT_ON_REPLICA: &str = "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.";
/// `getTimeoutFromObjectOrReply`.
pub const TIMEOUT_NOT_AN_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// `disconnectAllBlockedClients`: a primary that becomes a replica
/// releases the clients blocked in WAIT.
pub const UNBLOCKED: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
/// `acceptCommonHandler` beyond `maxclients`.
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";

/// `addReplyErrorArity`.
pub fn wrong_arity(command: &str) -> String {
    format!("ERR wrong number of arguments for '{command}' command")
}

/// `addReplyErrorExpireTime`.
pub fn invalid_expire_time(command: &str) -> String {
    format!("ERR invalid expire time in '{command}' command")
}

/// `parseExtendedExpireArgumentsOrReply`.
pub fn unsupported_option(option: &[u8]) -> String {
    format!("ERR Unsupported option {}", c_string(option))
}

/// `processCommand` for a name it does not know: the name (up to 128
/// bytes), then the arguments, each quoted and cut so the list stops once
/// it reaches 128 bytes. Newlines become spaces (`rejectCommandFormat`).
pub fn unknown_command(argv: &[&[u8]]) -> String {
    let name = truncate(&c_string(argv[0]), 128).to_string();
    let mut args = String::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(truncate(&c_string(arg), room));
        args.push_str("' ");
    }
    let message = format!("ERR unknown command '{name}', with args beginning with: {args}");
    message.replace(['\r', '\n'], " ")
}

/// An argument as C's `%s` prints it: up to the first NUL byte.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The longest prefix of at most `max` bytes (on a character boundary: the
/// model keeps messages valid UTF-8 where Redis would cut a byte sequence).
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_quotes_and_cuts_its_arguments() {
        assert_eq!(unknown_command(&[b"foo"]), "ERR unknown command 'foo', with args beginning with: ");
        assert_eq!(
            unknown_command(&[b"foo", b"a", b"b"]),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(unknown_command(&[b"foo", b"a\nb"]), "ERR unknown command 'foo', with args beginning with: 'a b' ");
        let long = vec![b'x'; 100];
        let message = unknown_command(&[b"foo", &long, &long, &long]);
        // 100 x's quoted (103 bytes), then 25 more: the list stops at 131.
        let expected =
            format!("ERR unknown command 'foo', with args beginning with: '{}' '{}' ", "x".repeat(100), "x".repeat(25));
        assert_eq!(message, expected);
    }
}
