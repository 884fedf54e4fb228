//! TTL commands (`expire.c`): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with
//! NX/XX/GT/LT; TTL, PTTL, EXPIRETIME, PEXPIRETIME; PERSIST.

use super::errors;
use super::keyspace::{Call, Keyspace, Lookup, Role};
use super::number::parse_i64;
use super::reply::Reply;

/// `EXPIRE_NX` and friends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// `parseExtendedExpireArgumentsOrReply`: any number of options, any order,
/// repeats allowed; then the conflicts.
fn parse_expire_options(args: &[&[u8]]) -> Result<ExpireFlags, Reply> {
    let mut f = ExpireFlags::default();
    for opt in args {
        if opt.eq_ignore_ascii_case(b"nx") {
            f.nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            f.xx = true;
        } else if opt.eq_ignore_ascii_case(b"gt") {
            f.gt = true;
        } else if opt.eq_ignore_ascii_case(b"lt") {
            f.lt = true;
        } else {
            return Err(Reply::Error(errors::unsupported_option(opt)));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(Reply::error(errors::EXPIRE_NX_CONFLICT));
    }
    if f.gt && f.lt {
        return Err(Reply::error(errors::EXPIRE_GT_LT_CONFLICT));
    }
    Ok(f)
}

/// The absolute time in milliseconds, with `expireGenericCommand`'s
/// overflow checks.
fn absolute_ms(arg: &[u8], base_ms: i64, seconds: bool, command: &str) -> Result<i64, Reply> {
    let mut when = parse_i64(arg).ok_or_else(|| Reply::error(errors::NOT_AN_INTEGER))?;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(Reply::Error(errors::invalid_expire_time(command)));
        }
        when *= 1000;
    }
    // Redis: `when > LLONG_MAX - basetime` (its clock is never negative).
    when.checked_add(base_ms).ok_or_else(|| Reply::Error(errors::invalid_expire_time(command)))
}

impl Keyspace {
    /// `expireGenericCommand`: `base_ms` is now for EXPIRE/PEXPIRE and 0 for
    /// the `AT` forms.
    pub(crate) fn expire_command(
        &mut self,
        c: &mut Call,
        argv: &[&[u8]],
        command: &str,
        base_ms: i64,
        seconds: bool,
    ) -> Reply {
        let flags = match parse_expire_options(&argv[3..]) {
            Ok(f) => f,
            Err(reply) => return reply,
        };
        let when = match absolute_ms(argv[2], base_ms, seconds, command) {
            Ok(when) => when,
            Err(reply) => return reply,
        };
        let key = argv[1];
        let Some(id) = self.lookup(c, key, Lookup::Write) else {
            return Reply::Integer(0);
        };
        let current = self.store.entry(id).expire_at_ms;
        // GT and LT treat "no TTL" as an infinite one.
        let refused = (flags.nx && current.is_some())
            || (flags.xx && current.is_none())
            || (flags.gt && current.is_none_or(|cur| when <= cur))
            || (flags.lt && current.is_some_and(|cur| when >= cur));
        if refused {
            return Reply::Integer(0);
        }
        // `checkAlreadyExpired`: a primary deletes at once (not counted as
        // an expired key); a replica stores the past time and waits for its
        // primary's DEL.
        if when <= c.now_ms && self.role == Role::Primary {
            self.store.remove(id);
            self.dirty += 1;
            c.rewrite = Some(vec![b"DEL".to_vec(), key.to_vec()]);
            return Reply::Integer(1);
        }
        self.store.set_expire(id, when);
        self.dirty += 1;
        c.rewrite = Some(vec![b"PEXPIREAT".to_vec(), key.to_vec(), when.to_string().into_bytes()]);
        Reply::Integer(1)
    }

    /// `ttlGenericCommand`: -2 missing, -1 no TTL; `TTL` rounds the
    /// remaining milliseconds to the nearest second (`(ms + 500) / 1000`),
    /// and so does `EXPIRETIME` with the absolute time.
    pub(crate) fn ttl_command(&mut self, c: &mut Call, argv: &[&[u8]], millis: bool, absolute: bool) -> Reply {
        let Some(id) = self.lookup(c, argv[1], Lookup::ReadNoTouch) else {
            return Reply::Integer(-2);
        };
        let Some(when) = self.store.entry(id).expire_at_ms else {
            return Reply::Integer(-1);
        };
        let ttl = if absolute { when } else { when.saturating_sub(c.now_ms) }.max(0);
        // Unsigned, as Redis's compiled code evaluates it: `EXPIRETIME` of
        // `PEXPIREAT k 9223372036854775807` is 9223372036854776.
        let rounded = ((ttl as u64 + 500) / 1000) as i64;
        Reply::Integer(if millis { ttl } else { rounded })
    }

    /// `PERSIST key`: 1 if a TTL was removed.
    pub(crate) fn persist_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let Some(id) = self.lookup(c, argv[1], Lookup::Write) else {
            return Reply::Integer(0);
        };
        if self.store.remove_expire(id) {
            self.dirty += 1;
            Reply::Integer(1)
        } else {
            Reply::Integer(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Result<ExpireFlags, Reply> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        parse_expire_options(&args)
    }

    #[test]
    fn option_conflicts() {
        let nx = Err(Reply::error(errors::EXPIRE_NX_CONFLICT));
        assert_eq!(opts(&["nx", "xx"]), nx);
        assert_eq!(opts(&["gt", "nx"]), nx);
        assert_eq!(opts(&["NX", "lt"]), nx);
        assert_eq!(opts(&["gt", "lt"]), Err(Reply::error(errors::EXPIRE_GT_LT_CONFLICT)));
        assert_eq!(opts(&["nx", "foo"]), Err(Reply::error("ERR Unsupported option foo")));
        assert_eq!(opts(&["xx", "gt", "xx"]), Ok(ExpireFlags { xx: true, gt: true, ..ExpireFlags::default() }));
    }

    #[test]
    fn overflow_checks() {
        let invalid = |cmd: &str| Err(Reply::Error(errors::invalid_expire_time(cmd)));
        assert_eq!(absolute_ms(b"9223372036854775807", 5, true, "expire"), invalid("expire"));
        assert_eq!(absolute_ms(b"-9223372036854775808", 5, true, "expire"), invalid("expire"));
        assert_eq!(absolute_ms(b"9223372036854775807", 5, false, "pexpire"), invalid("pexpire"));
        assert_eq!(absolute_ms(b"-9223372036854775808", 5, false, "pexpire"), Ok(i64::MIN + 5));
        assert_eq!(absolute_ms(b"10", 5, true, "expire"), Ok(10_005));
        assert_eq!(absolute_ms(b"1.5", 5, true, "expire"), Err(Reply::error(errors::NOT_AN_INTEGER)));
    }
}
