//! String commands (`t_string.c`): GET, SET and its options, SETNX, SETEX,
//! PSETEX, MGET, MSET, INCR, DECR, INCRBY, DECRBY.

use super::errors;
use super::keyspace::{Call, Keyspace, Lookup};
use super::number::parse_i64;
use super::reply::Reply;

/// The options of `SET` (`parseExtendedStringArgumentsOrReply`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SetFlags {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    ex: bool,
    px: bool,
    exat: bool,
    pxat: bool,
}

impl SetFlags {
    fn any_expire(&self) -> bool {
        self.ex || self.px || self.exat || self.pxat
    }

    /// `EX`/`EXAT` count in seconds.
    fn in_seconds(&self) -> bool {
        self.ex || self.exat
    }
}

/// Redis's options parser: each option is accepted only if no
/// incompatible one came before it, so `NX XX`, `EX 1 PX 1` and
/// `KEEPTTL EX 1` are syntax errors, while a repeated `NX`, `GET` or even
/// `EX 1 EX 2` (the last wins) are not.
fn parse_set_options<'a>(args: &[&'a [u8]]) -> Result<(SetFlags, Option<&'a [u8]>), Reply> {
    let mut f = SetFlags::default();
    let mut expire = None;
    let mut j = 0;
    while j < args.len() {
        let opt = args[j];
        let next = args.get(j + 1).copied();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        if is("nx") && !f.xx {
            f.nx = true;
        } else if is("xx") && !f.nx {
            f.xx = true;
        } else if is("get") {
            f.get = true;
        } else if is("keepttl") && !f.any_expire() {
            f.keepttl = true;
        } else if is("ex") && !f.keepttl && !f.exat && !f.px && !f.pxat && next.is_some() {
            f.ex = true;
            expire = next;
            j += 1;
        } else if is("px") && !f.keepttl && !f.ex && !f.exat && !f.pxat && next.is_some() {
            f.px = true;
            expire = next;
            j += 1;
        } else if is("exat") && !f.keepttl && !f.ex && !f.px && !f.pxat && next.is_some() {
            f.exat = true;
            expire = next;
            j += 1;
        } else if is("pxat") && !f.keepttl && !f.ex && !f.exat && !f.px && next.is_some() {
            f.pxat = true;
            expire = next;
            j += 1;
        } else {
            return Err(Reply::error(errors::SYNTAX));
        }
        j += 1;
    }
    Ok((f, expire))
}

/// `getExpireMillisecondsOrReply`: the absolute expiry in milliseconds.
fn expire_ms(f: &SetFlags, arg: &[u8], now_ms: i64, command: &str) -> Result<i64, Reply> {
    let mut ms = parse_i64(arg).ok_or_else(|| Reply::error(errors::NOT_AN_INTEGER))?;
    if ms <= 0 || (f.in_seconds() && ms > i64::MAX / 1000) {
        return Err(Reply::Error(errors::invalid_expire_time(command)));
    }
    if f.in_seconds() {
        ms *= 1000;
    }
    if f.ex || f.px {
        // As in C, where the addition wraps and the check below catches it.
        ms = ms.wrapping_add(now_ms);
    }
    if ms <= 0 {
        return Err(Reply::Error(errors::invalid_expire_time(command)));
    }
    Ok(ms)
}

/// Replies of `setGenericCommand` that differ between SET and SETNX.
struct SetReplies {
    ok: Reply,
    abort: Reply,
}

impl Keyspace {
    pub(crate) fn get_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        match self.lookup(c, argv[1], Lookup::Read) {
            Some(id) => Reply::Bulk(self.store.entry(id).value.clone()),
            None => Reply::Nil,
        }
    }

    pub(crate) fn set_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let (flags, expire) = match parse_set_options(&argv[3..]) {
            Ok(parsed) => parsed,
            Err(reply) => return reply,
        };
        let replies = SetReplies { ok: Reply::ok(), abort: Reply::Nil };
        self.set_generic(c, argv, flags, expire, "set", replies)
    }

    /// `SETNX key value`: 1 if set, 0 if the key existed.
    pub(crate) fn setnx_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let flags = SetFlags { nx: true, ..SetFlags::default() };
        let replies = SetReplies { ok: Reply::Integer(1), abort: Reply::Integer(0) };
        self.set_generic(c, &[argv[0], argv[1], argv[2]], flags, None, "setnx", replies)
    }

    /// `SETEX key seconds value`, `PSETEX key milliseconds value`.
    pub(crate) fn setex_command(&mut self, c: &mut Call, argv: &[&[u8]], millis: bool) -> Reply {
        let flags = SetFlags { ex: !millis, px: millis, ..SetFlags::default() };
        let name = if millis { "psetex" } else { "setex" };
        let replies = SetReplies { ok: Reply::ok(), abort: Reply::Nil };
        self.set_generic(c, &[argv[0], argv[1], argv[3]], flags, Some(argv[2]), name, replies)
    }

    /// `setGenericCommand`. `argv` is `[name, key, value, options...]`.
    fn set_generic(
        &mut self,
        c: &mut Call,
        argv: &[&[u8]],
        flags: SetFlags,
        expire: Option<&[u8]>,
        command: &str,
        replies: SetReplies,
    ) -> Reply {
        let (key, value) = (argv[1], argv[2]);
        let when = match expire.map(|arg| expire_ms(&flags, arg, c.now_ms, command)).transpose() {
            Ok(when) => when,
            Err(reply) => return reply,
        };
        // SET ... GET answers with the old value, read (and counted) as GET
        // would, before the write lookup below.
        let old = if flags.get { Some(self.get_command(c, &[b"get", key])) } else { None };
        let existing = self.lookup(c, key, Lookup::Write);
        if (flags.nx && existing.is_some()) || (flags.xx && existing.is_none()) {
            return old.unwrap_or(replies.abort);
        }
        self.set_key(c.now_ms, key, value.to_vec(), flags.keepttl, existing);
        self.dirty += 1;
        if let Some(when) = when {
            let id = self.store.find(key).expect("just set");
            self.store.set_expire(id, when);
            // Replicas get the absolute time, so their clocks do not matter
            // until they read it.
            c.rewrite = Some(vec![
                b"SET".to_vec(),
                key.to_vec(),
                value.to_vec(),
                b"PXAT".to_vec(),
                when.to_string().into_bytes(),
            ]);
        } else if flags.get {
            // Propagated without GET (every "get" after the value).
            let kept = argv.iter().enumerate().filter(|(j, a)| *j < 3 || !a.eq_ignore_ascii_case(b"get"));
            c.rewrite = Some(kept.map(|(_, a)| a.to_vec()).collect());
        }
        old.unwrap_or(replies.ok)
    }

    pub(crate) fn mget_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let items = argv[1..]
            .iter()
            .map(|key| match self.lookup(c, key, Lookup::Read) {
                Some(id) => Reply::Bulk(self.store.entry(id).value.clone()),
                None => Reply::Nil,
            })
            .collect();
        Reply::Array(items)
    }

    pub(crate) fn mset_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        if argv.len().is_multiple_of(2) {
            return Reply::Error(errors::wrong_arity("mset"));
        }
        for pair in argv[1..].chunks(2) {
            let existing = self.lookup(c, pair[0], Lookup::Write);
            self.set_key(c.now_ms, pair[0], pair[1].to_vec(), false, existing);
            self.dirty += 1;
        }
        Reply::ok()
    }

    /// `INCRBY`/`DECRBY`: the amount is checked before the key is looked up.
    pub(crate) fn incrby_command(&mut self, c: &mut Call, argv: &[&[u8]], decrement: bool) -> Reply {
        let Some(amount) = parse_i64(argv[2]) else {
            return Reply::error(errors::NOT_AN_INTEGER);
        };
        if !decrement {
            return self.incr_decr_command(c, argv, amount);
        }
        if amount == i64::MIN {
            return Reply::error(errors::DECR_OVERFLOW);
        }
        self.incr_decr_command(c, argv, -amount)
    }

    /// `incrDecrCommand`: a missing key counts as 0; the TTL is kept.
    pub(crate) fn incr_decr_command(&mut self, c: &mut Call, argv: &[&[u8]], by: i64) -> Reply {
        let key = argv[1];
        let existing = self.lookup(c, key, Lookup::Write);
        let old = match existing {
            Some(id) => match parse_i64(&self.store.entry(id).value) {
                Some(v) => v,
                None => return Reply::error(errors::NOT_AN_INTEGER),
            },
            None => 0,
        };
        let Some(new) = old.checked_add(by) else {
            return Reply::error(errors::INCR_OVERFLOW);
        };
        let text = new.to_string().into_bytes();
        match existing {
            Some(id) => self.overwrite(id, text, c.now_ms),
            None => {
                let lru = self.new_lru(c.now_ms);
                self.store.insert(key, text, lru);
            }
        }
        self.dirty += 1;
        Reply::Integer(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<SetFlags, Reply> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        parse_set_options(&args).map(|(f, _)| f)
    }

    #[test]
    fn set_option_conflicts_are_syntax_errors() {
        for bad in [
            &["nx", "xx"][..],
            &["xx", "nx"],
            &["ex", "1", "px", "1"],
            &["px", "1", "ex", "1"],
            &["keepttl", "ex", "1"],
            &["ex", "1", "keepttl"],
            &["exat", "1", "pxat", "1"],
            &["ex"],
            &["bogus"],
        ] {
            assert_eq!(parse(bad), Err(Reply::error(errors::SYNTAX)), "{bad:?}");
        }
        for good in [&["nx", "nx"][..], &["get", "get"], &["ex", "1", "ex", "2"], &["NX", "GET", "PX", "5"]] {
            assert!(parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn expire_times_are_checked_like_redis() {
        let ex = SetFlags { ex: true, ..SetFlags::default() };
        let pxat = SetFlags { pxat: true, ..SetFlags::default() };
        let invalid = Err(Reply::Error(errors::invalid_expire_time("set")));
        assert_eq!(expire_ms(&ex, b"10", 1000, "set"), Ok(11_000));
        assert_eq!(expire_ms(&ex, b"0", 1000, "set"), invalid);
        assert_eq!(expire_ms(&ex, b"-5", 1000, "set"), invalid);
        assert_eq!(expire_ms(&ex, b"9223372036854776", 1000, "set"), invalid);
        assert_eq!(expire_ms(&ex, b"x", 1000, "set"), Err(Reply::error(errors::NOT_AN_INTEGER)));
        assert_eq!(expire_ms(&pxat, b"5", 1000, "set"), Ok(5), "absolute, even if past");
        let px = SetFlags { px: true, ..SetFlags::default() };
        assert_eq!(expire_ms(&px, b"9223372036854775000", 10_000, "set"), invalid, "wraps");
    }
}
