//! Commands on keys of any type (`db.c`): DEL, EXISTS, FLUSHALL.

use super::errors;
use super::keyspace::{Call, Keyspace, Lookup};
use super::reply::Reply;

impl Keyspace {
    /// `DEL key...`: the number deleted. An expired key is first deleted as
    /// expired (and counted in `expired_keys`), so it does not count here.
    pub(crate) fn del_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let mut deleted = 0;
        for key in &argv[1..] {
            if let Some(id) = self.store.find(key) {
                self.expire_if_needed(c, id, false);
            }
            // Looked up again: a primary has just deleted an expired key, a
            // replica keeps it, and deletes it here.
            if let Some(id) = self.store.find(key) {
                self.store.remove(id);
                self.dirty += 1;
                deleted += 1;
            }
        }
        Reply::Integer(deleted)
    }

    /// `EXISTS key...`: counts repeated keys each time.
    pub(crate) fn exists_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        let found = argv[1..].iter().filter(|key| self.lookup(c, key, Lookup::ReadNoTouch).is_some()).count();
        Reply::Integer(found as i64)
    }

    /// `FLUSHALL [ASYNC|SYNC]`: always propagated, even when already empty.
    pub(crate) fn flushall_command(&mut self, c: &mut Call, argv: &[&[u8]]) -> Reply {
        if argv.len() > 2
            || (argv.len() == 2 && !argv[1].eq_ignore_ascii_case(b"sync") && !argv[1].eq_ignore_ascii_case(b"async"))
        {
            return Reply::error(errors::SYNTAX);
        }
        self.store.clear();
        self.expire_state.reset_db();
        self.eviction_pending = false;
        self.dirty += 1;
        c.force_propagate = true;
        Reply::ok()
    }
}
