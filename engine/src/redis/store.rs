//! Where the keys live: Redis's `dict` and `expires` hash tables, rebuilt
//! from deterministic parts.
//!
//! * `index` (a `BTreeMap`) finds a key's entry;
//! * `entries` is dense, so a uniformly random entry is one `below(len)`
//!   away (`dictGetRandomKey`, `dictGetSomeKeys`); removal swaps the last
//!   entry into the hole and fixes its index;
//! * `volatile` lists the entries that have a TTL, densely too, for the
//!   `volatile-*` policies;
//! * `expire_order` holds the keys with a TTL in the order of a seeded
//!   64-bit hash: the active expire cycle walks it with a cursor, as Redis
//!   walks the buckets of `expires`, so it visits keys in an order that has
//!   nothing to do with when they were written.
//!
//! No `HashMap` anywhere: every walk is in an order fixed by the data and
//! the seed.

use super::memory::{entry_bytes, EXPIRE_OVERHEAD_BYTES};
use crate::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

/// Key names are shared (index, entries, eviction pool, cursor) and never
/// change.
pub type Key = Arc<[u8]>;
/// An entry's position in `entries`; it changes when another entry is
/// removed, so it is valid only until the next removal.
pub type SlotId = usize;

const NOT_VOLATILE: usize = usize::MAX;

#[derive(Clone, Debug)]
pub struct Entry {
    pub key: Key,
    pub value: Vec<u8>,
    /// The object's 24-bit `lru` field: the LRU clock, or LFU minutes and
    /// counter (see `lru.rs`, `lfu.rs`).
    pub lru: u32,
    /// Absolute expiry in milliseconds of the node's wall clock.
    pub expire_at_ms: Option<i64>,
    volatile_pos: usize,
}

/// The cursor of the active expire cycle: the last key visited.
pub type ExpireCursor = Option<(u64, Key)>;

#[derive(Clone, Debug)]
pub struct Store {
    index: BTreeMap<Key, SlotId>,
    entries: Vec<Entry>,
    volatile: Vec<SlotId>,
    expire_order: BTreeSet<(u64, Key)>,
    hash_seed: u64,
    used_bytes: u64,
}

impl Store {
    pub fn new(hash_seed: u64) -> Store {
        Store {
            index: BTreeMap::new(),
            entries: Vec::new(),
            volatile: Vec::new(),
            expire_order: BTreeSet::new(),
            hash_seed,
            used_bytes: 0,
        }
    }

    /// Keys, logically expired ones included (`dictSize(db->dict)`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keys with a TTL (`dictSize(db->expires)`).
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    pub fn find(&self, key: &[u8]) -> Option<SlotId> {
        self.index.get(key).copied()
    }

    pub fn entry(&self, id: SlotId) -> &Entry {
        &self.entries[id]
    }

    pub fn set_lru(&mut self, id: SlotId, lru: u32) {
        self.entries[id].lru = lru;
    }

    fn bytes_of(e: &Entry) -> u64 {
        entry_bytes(e.key.len(), e.value.len()) + if e.expire_at_ms.is_some() { EXPIRE_OVERHEAD_BYTES } else { 0 }
    }

    /// `dbAdd`: the key must be absent.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>, lru: u32) -> SlotId {
        let key: Key = Arc::from(key);
        let id = self.entries.len();
        let previous = self.index.insert(key.clone(), id);
        assert!(previous.is_none(), "insert of a key that exists");
        let e = Entry { key, value, lru, expire_at_ms: None, volatile_pos: NOT_VOLATILE };
        self.used_bytes += Self::bytes_of(&e);
        self.entries.push(e);
        id
    }

    /// `dbOverwrite`: a new value; the TTL stays.
    pub fn set_value(&mut self, id: SlotId, value: Vec<u8>) {
        let e = &mut self.entries[id];
        self.used_bytes = self.used_bytes - e.value.len() as u64 + value.len() as u64;
        e.value = value;
    }

    /// `dbSyncDelete`.
    pub fn remove(&mut self, id: SlotId) -> Entry {
        self.remove_expire(id);
        let removed = self.entries.swap_remove(id);
        self.index.remove(&removed.key);
        if id < self.entries.len() {
            let moved = &self.entries[id];
            *self.index.get_mut(&moved.key).expect("moved entry is indexed") = id;
            if moved.volatile_pos != NOT_VOLATILE {
                self.volatile[moved.volatile_pos] = id;
            }
        }
        self.used_bytes -= Self::bytes_of(&removed);
        removed
    }

    /// `setExpire`.
    pub fn set_expire(&mut self, id: SlotId, when_ms: i64) {
        let e = &mut self.entries[id];
        if e.expire_at_ms.is_none() {
            e.volatile_pos = self.volatile.len();
            self.volatile.push(id);
            self.used_bytes += EXPIRE_OVERHEAD_BYTES;
            let hash = dict_hash(self.hash_seed, &e.key);
            self.expire_order.insert((hash, e.key.clone()));
        }
        self.entries[id].expire_at_ms = Some(when_ms);
    }

    /// `removeExpire`: whether the key had a TTL.
    pub fn remove_expire(&mut self, id: SlotId) -> bool {
        let pos = self.entries[id].volatile_pos;
        if pos == NOT_VOLATILE {
            return false;
        }
        self.volatile.swap_remove(pos);
        if pos < self.volatile.len() {
            let moved = self.volatile[pos];
            self.entries[moved].volatile_pos = pos;
        }
        let e = &mut self.entries[id];
        e.volatile_pos = NOT_VOLATILE;
        e.expire_at_ms = None;
        self.used_bytes -= EXPIRE_OVERHEAD_BYTES;
        let hash = dict_hash(self.hash_seed, &e.key);
        let removed = self.expire_order.remove(&(hash, e.key.clone()));
        debug_assert!(removed);
        true
    }

    /// `dictGetRandomKey` on `dict` (or on `expires` when `volatile`).
    pub fn random(&self, volatile: bool, rng: &mut Rng) -> Option<SlotId> {
        let n = if volatile { self.volatile.len() } else { self.entries.len() };
        if n == 0 {
            return None;
        }
        let i = rng.below(n as u64) as usize;
        Some(if volatile { self.volatile[i] } else { i })
    }

    /// `dictGetSomeKeys`: up to `count` distinct entries into `out`. Redis
    /// takes a run of neighbouring buckets from a random start; neighbours
    /// in a hash table are as good as random, so the model draws distinct
    /// uniform picks (or takes every key when there are no more than
    /// `count`).
    pub fn sample(&self, volatile: bool, count: usize, rng: &mut Rng, out: &mut Vec<SlotId>) {
        out.clear();
        let n = if volatile { self.volatile.len() } else { self.entries.len() };
        let pick = |i: usize| if volatile { self.volatile[i] } else { i };
        if n <= count {
            out.extend((0..n).map(pick));
            return;
        }
        while out.len() < count {
            let id = pick(rng.below(n as u64) as usize);
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }

    /// The next key with a TTL after `cursor` in hash order, wrapping round
    /// to the first; moves the cursor onto it.
    pub fn next_volatile(&self, cursor: &mut ExpireCursor) -> Option<SlotId> {
        let next = match cursor {
            Some(c) => self.expire_order.range((Bound::Excluded(c.clone()), Bound::Unbounded)).next(),
            None => None,
        };
        let (hash, key) = next.or_else(|| self.expire_order.iter().next())?;
        let id = self.find(key).expect("expire_order holds only existing keys");
        *cursor = Some((*hash, key.clone()));
        Some(id)
    }

    /// `emptyData`.
    pub fn clear(&mut self) {
        *self = Store::new(self.hash_seed);
    }

    /// Checks every cross-reference; for tests.
    pub fn assert_consistent(&self) {
        assert_eq!(self.index.len(), self.entries.len());
        assert_eq!(self.expire_order.len(), self.volatile.len());
        let mut bytes = 0;
        for (id, e) in self.entries.iter().enumerate() {
            assert_eq!(self.index.get(&e.key), Some(&id));
            bytes += Self::bytes_of(e);
            match e.expire_at_ms {
                Some(_) => {
                    assert_eq!(self.volatile[e.volatile_pos], id);
                    assert!(self.expire_order.contains(&(dict_hash(self.hash_seed, &e.key), e.key.clone())));
                }
                None => assert_eq!(e.volatile_pos, NOT_VOLATILE),
            }
        }
        assert_eq!(bytes, self.used_bytes);
    }
}

/// A pinned, seeded 64-bit hash (a multiply-rotate fold finished with
/// SplitMix64's mixer). Redis seeds SipHash with random bytes at start-up;
/// the model seeds this from the node's random stream.
pub fn dict_hash(seed: u64, key: &[u8]) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let mut h = mix(seed ^ 0x9e37_79b9_7f4a_7c15);
    for chunk in key.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    mix(h ^ key.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(n: usize) -> Store {
        let mut s = Store::new(7);
        for i in 0..n {
            let id = s.insert(format!("k{i}").as_bytes(), vec![b'v'; i % 5], 0);
            if i % 3 == 0 {
                s.set_expire(id, i as i64);
            }
        }
        s
    }

    #[test]
    fn removal_keeps_every_index_right() {
        let mut s = store_with(50);
        s.assert_consistent();
        let mut rng = Rng::stream(5, 5);
        while s.len() > 0 {
            let id = s.random(false, &mut rng).expect("not empty");
            let key = s.entry(id).key.clone();
            let removed = s.remove(id);
            assert_eq!(removed.key, key);
            assert!(s.find(&key).is_none());
            if s.len().is_multiple_of(7) {
                if let Some(v) = s.random(true, &mut rng) {
                    assert!(s.remove_expire(v));
                    assert!(!s.remove_expire(v));
                }
            }
            s.assert_consistent();
        }
        assert_eq!(s.used_bytes(), 0);
    }

    #[test]
    fn samples_are_distinct_and_cover_small_sets() {
        let s = store_with(30);
        let mut rng = Rng::stream(6, 6);
        let mut out = Vec::new();
        for _ in 0..100 {
            s.sample(false, 5, &mut rng, &mut out);
            assert_eq!(out.len(), 5);
            let mut sorted = out.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 5);
        }
        s.sample(true, 16, &mut rng, &mut out);
        assert_eq!(out.len(), 10, "all 10 volatile keys");
        assert!(out.iter().all(|&id| s.entry(id).expire_at_ms.is_some()));
    }

    #[test]
    fn the_expire_cursor_visits_every_volatile_key_once_per_round() {
        let s = store_with(30);
        let mut cursor = None;
        let mut seen: Vec<Key> = (0..10).map(|_| s.entry(s.next_volatile(&mut cursor).unwrap()).key.clone()).collect();
        let again = s.entry(s.next_volatile(&mut cursor).unwrap()).key.clone();
        assert_eq!(again, seen[0], "wraps round");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn memory_follows_the_formula() {
        let mut s = Store::new(1);
        let id = s.insert(b"key", b"value".to_vec(), 0);
        assert_eq!(s.used_bytes(), 56 + 3 + 5);
        s.set_expire(id, 10);
        s.set_expire(id, 20);
        assert_eq!(s.used_bytes(), 56 + 3 + 5 + 32);
        s.set_value(id, b"v".to_vec());
        assert_eq!(s.used_bytes(), 56 + 3 + 1 + 32);
        assert_eq!(s.entry(id).expire_at_ms, Some(20), "overwrite keeps the TTL");
        s.remove(id);
        assert_eq!(s.used_bytes(), 0);
    }
}
