//! Raft messages to and from their compact wire form ([`RaftWire`]).

use crate::message::RaftWire;
use crate::raft::{Entry, Message, MsgType, PeerId};

/// A command's id in the run's command table.
pub type CommandId = u32;

fn small(v: u64) -> u32 {
    // Terms and indexes stay far below 2^32: logs are bounded at a million
    // entries and a term needs an election timeout each.
    u32::try_from(v).expect("raft terms and indexes fit in 32 bits")
}

/// The wire form of `m`, which carries at most one entry (the members run
/// with `max_entries_per_msg` 1).
pub fn encode(m: &Message<CommandId>) -> RaftWire {
    debug_assert!(m.entries.len() <= 1, "one entry per message");
    let entry = m.entries.first();
    let (aux, payload) = match m.kind {
        MsgType::App => match entry {
            Some(e) => (small(e.term), e.data.map_or(0, |c| u64::from(c) + 1)),
            None => (0, 0),
        },
        MsgType::Prop => (0, entry.and_then(|e| e.data).map_or(0, |c| u64::from(c) + 1)),
        MsgType::AppResp => (small(m.reject_hint), 0),
        _ => (0, m.context),
    };
    RaftWire {
        kind: m.kind,
        reject: m.reject,
        term: small(m.term),
        index: small(m.index),
        log_term: small(m.log_term),
        commit: small(m.commit),
        aux,
        payload,
    }
}

/// The message `w` from member `from` to member `to`.
pub fn decode(w: &RaftWire, from: PeerId, to: PeerId) -> Message<CommandId> {
    let mut m = Message::new(w.kind, from, to);
    m.term = u64::from(w.term);
    m.index = u64::from(w.index);
    m.log_term = u64::from(w.log_term);
    m.commit = u64::from(w.commit);
    m.reject = w.reject;
    let data = w.payload.checked_sub(1).map(|c| c as CommandId);
    match w.kind {
        MsgType::App if w.aux != 0 => {
            m.entries.push(Entry { term: u64::from(w.aux), index: m.index + 1, data });
        }
        MsgType::App => {}
        MsgType::Prop => m.entries.push(Entry { term: 0, index: 0, data }),
        MsgType::AppResp => m.reject_hint = u64::from(w.aux),
        _ => m.context = w.payload,
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_wire() {
        let mut app = Message::new(MsgType::App, 1, 2);
        (app.term, app.index, app.log_term, app.commit) = (3, 7, 2, 6);
        app.entries.push(Entry { term: 3, index: 8, data: Some(41) });
        let mut empty = app.clone();
        empty.entries[0].data = None;
        let mut probe = app.clone();
        probe.entries.clear();
        let mut resp = Message::new(MsgType::AppResp, 2, 1);
        (resp.term, resp.index, resp.reject, resp.reject_hint) = (3, 7, true, 4);
        let mut hb = Message::new(MsgType::Heartbeat, 1, 2);
        (hb.term, hb.commit, hb.context) = (3, 6, 99);
        let mut prop = Message::propose(2, 5);
        (prop.from, prop.to) = (2, 1);
        let mut snap = Message::new(MsgType::Snap, 1, 2);
        (snap.term, snap.index, snap.log_term, snap.context) = (3, 20_000, 2, 9);
        for m in [app, empty, probe, resp, hb, prop, snap] {
            assert_eq!(decode(&encode(&m), m.from, m.to), m);
        }
        // No bigger than the largest message already on the wire (the Redis
        // replication stream's), so Raft makes no event bigger.
        assert!(std::mem::size_of::<RaftWire>() <= 32, "{}", std::mem::size_of::<RaftWire>());
    }
}
