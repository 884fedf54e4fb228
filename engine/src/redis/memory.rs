//! The model's memory accounting. Real Redis counts every byte jemalloc
//! hands out (`used_memory`); a simulation needs a cost it can compute
//! exactly and deterministically, so each key is charged a fixed overhead
//! plus its bytes. The overheads are loosely based on Redis 7.0 on 64-bit
//! Linux (`MEMORY USAGE` reports 168 bytes for a 10-byte key with a 100-byte
//! value; `INFO memory` grows by about 200 bytes per such key, hash-table
//! buckets and allocator rounding included). It is a model, not a
//! measurement:
//!
//! ```text
//! key bytes    = KEY_OVERHEAD_BYTES (56) + len(key) + len(value)
//!              + EXPIRE_OVERHEAD_BYTES (32) if the key has a TTL
//! used_memory  = sum of key bytes over all keys (no fixed baseline)
//! ```
//!
//! * 56 = `dictEntry` (24) + the value's `robj` (16) + one hash-table
//!   bucket pointer (8) + two `sds` headers with their NUL terminators
//!   (2 x 4).
//! * 32 = the `expires` table's `dictEntry` (24) + its bucket pointer (8).
//!
//! Not modelled: allocator size classes, hash-table growth in powers of
//! two, integer and `embstr` encodings, client buffers and the server's own
//! baseline (about 0.9 MB on an idle 7.0 server). `maxmemory` in the model
//! therefore bounds the data set alone.

pub const KEY_OVERHEAD_BYTES: u64 = 56;
pub const EXPIRE_OVERHEAD_BYTES: u64 = 32;

/// The modelled bytes of one key without a TTL.
pub fn entry_bytes(key_len: usize, value_len: usize) -> u64 {
    KEY_OVERHEAD_BYTES + key_len as u64 + value_len as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula() {
        assert_eq!(entry_bytes(10, 100), 166);
        assert_eq!(entry_bytes(0, 0), 56);
    }
}
