//! HAProxy's hash functions and hash inputs, reimplemented from their
//! descriptions (semantics.md 1.3, "Hash inputs").
//!
//! * The functions of `src/hash.c`: `hash_sdbm`, `hash_djb2`, `hash_wt6`,
//!   `hash_crc32`, and `include/haproxy/intops.h:__full_hash`, the integer
//!   avalanche applied by `hash-type ... avalanche`.
//! * `backend.c:gen_hash` picks the function named by `hash-type`.
//! * The inputs: `backend.c:get_server_sh` (`balance source`: the XOR of the
//!   address' 32-bit words, no string hash) and `get_server_uh` (`balance
//!   uri`: the path up to `?` unless `whole`, cut by `len` and `depth`).
//!
//! Both input functions skip hashing when only one server is usable
//! (`tot_used == 1`) and look up hash 0 instead; they take `tot_used` so a
//! caller cannot forget. [`super::map::Map::tot_used`] and
//! [`super::chash::Chash::tot_used`] give it.

use std::net::IpAddr;

/// `hash_sdbm`: `h = c + (h << 6) + (h << 16) - h` over the bytes.
pub fn sdbm(key: &[u8]) -> u32 {
    key.iter().fold(0u32, |h, &c| u32::from(c).wrapping_add(h << 6).wrapping_add(h << 16).wrapping_sub(h))
}

/// `hash_djb2`: `h = h * 33 + c`, starting from 5381.
pub fn djb2(key: &[u8]) -> u32 {
    key.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(u32::from(c)))
}

/// `hash_wt6`: Willy Tarreau's two-register hash with data-dependent
/// rotations.
pub fn wt6(key: &[u8]) -> u32 {
    let (mut h0, mut h1) = (0xa53c_965a_u32, 0x5ca6_953a_u32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for &c in key {
        let c = u32::from(c);
        h0 = !(h0 ^ c);
        h1 = !h1.wrapping_add(c);
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// `hash_crc32`: the standard (reflected, polynomial 0xedb88320) CRC-32,
/// bit by bit.
pub fn crc32(key: &[u8]) -> u32 {
    let mut h = !0u32;
    for &c in key {
        h ^= u32::from(c);
        for _ in 0..8 {
            h = (h >> 1) ^ if h & 1 == 1 { 0xedb8_8320 } else { 0 };
        }
    }
    !h
}

/// `__full_hash`: Bob Jenkins' 6-step integer avalanche, then a multiply by
/// 3221225473 (close to 3/4 of the 32-bit space) to spread the results.
/// A bijection on `u32`: distinct inputs give distinct outputs.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// `hash-type <method>`: how a hash picks a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashMethod {
    /// `map-based` (the default): `map[hash % total weight]`, see
    /// [`super::map::Map::pick_hash`].
    MapBased,
    /// `consistent`: the closest point on a ring, see
    /// [`super::chash::Chash::pick`].
    Consistent,
}

/// `hash-type ... <function>` (`BE_LB_HFCN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFunction {
    Sdbm,
    Djb2,
    Wt6,
    Crc32,
}

/// A backend's `hash-type <method> [<function>] [avalanche]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashType {
    pub method: HashMethod,
    pub function: HashFunction,
    /// Apply [`full_hash`] to the hash (`BE_LB_HMOD_AVAL`).
    pub avalanche: bool,
}

impl HashType {
    /// As HAProxy's parser sets it: without a function the function is
    /// sdbm, and `consistent` then also gets the avalanche modifier; with a
    /// function, avalanche only if asked for. (`hash-type consistent` is
    /// sdbm + avalanche, `hash-type consistent sdbm` is sdbm alone.)
    pub fn new(method: HashMethod, function: Option<HashFunction>, avalanche: bool) -> HashType {
        match function {
            None => HashType {
                method,
                function: HashFunction::Sdbm,
                avalanche: avalanche || method == HashMethod::Consistent,
            },
            Some(function) => HashType { method, function, avalanche },
        }
    }

    /// The default, `hash-type map-based`: sdbm, no avalanche.
    pub fn map_based() -> HashType {
        HashType::new(HashMethod::MapBased, None, false)
    }

    /// `hash-type consistent`: sdbm with avalanche.
    pub fn consistent() -> HashType {
        HashType::new(HashMethod::Consistent, None, false)
    }

    /// `gen_hash` followed by the avalanche modifier when set.
    pub fn hash(&self, key: &[u8]) -> u32 {
        self.finish(gen_hash(self.function, key))
    }

    fn finish(&self, h: u32) -> u32 {
        if self.avalanche {
            full_hash(h)
        } else {
            h
        }
    }
}

/// `gen_hash`: the configured function over `key`.
pub fn gen_hash(function: HashFunction, key: &[u8]) -> u32 {
    match function {
        HashFunction::Sdbm => sdbm(key),
        HashFunction::Djb2 => djb2(key),
        HashFunction::Wt6 => wt6(key),
        HashFunction::Crc32 => crc32(key),
    }
}

/// `balance source` (`get_server_sh`): the XOR of the address' 32-bit
/// words in host order (an IPv4 address is its own `u32`), avalanched if
/// the hash type says so. The hash function of `hash-type` is not used.
/// 0 when `tot_used == 1`.
pub fn source_hash(ht: &HashType, addr: IpAddr, tot_used: u32) -> u32 {
    if tot_used == 1 {
        return 0;
    }
    let h = match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let b = a.octets();
            b.chunks_exact(4).fold(0, |h, w| h ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        }
    };
    ht.finish(h)
}

/// The arguments of `balance uri [len <n>] [depth <n>] [whole]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UriOptions {
    /// Hash at most this many characters (0 = no limit).
    pub len: u32,
    /// Hash at most this many directories: stop before the `depth + 1`-th
    /// slash (0 = no limit).
    pub depth: u32,
    /// Hash the query string too; otherwise stop at `?`.
    pub whole: bool,
}

/// The part of a request URI that `balance uri` hashes (`get_server_uh`).
pub fn uri_key<'a>(uri: &'a [u8], opts: &UriOptions) -> &'a [u8] {
    let mut rest = uri;
    if opts.len > 0 {
        rest = &rest[..rest.len().min(opts.len as usize)];
    }
    let mut slashes = 0;
    let end = rest
        .iter()
        .position(|&c| {
            if c == b'/' {
                slashes += 1;
                opts.depth > 0 && slashes == opts.depth + 1
            } else {
                c == b'?' && !opts.whole
            }
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `balance uri`: the hash of [`uri_key`]; 0 when `tot_used == 1`.
pub fn uri_hash(ht: &HashType, opts: &UriOptions, uri: &[u8], tot_used: u32) -> u32 {
    if tot_used == 1 {
        return 0;
    }
    ht.hash(uri_key(uri, opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn functions_match_known_values() {
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        // 'a' * 65599 + 'b'
        assert_eq!(sdbm(b"ab"), 97 * 65599 + 98);
        assert_eq!(djb2(b""), 5381);
        assert_eq!(djb2(b"a"), 5381 * 33 + 97);
        // The CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(wt6(b""), 0xa53c_965a ^ 0x5ca6_953a);
        // djb2's unrolled loop in HAProxy is the plain loop.
        let long = b"/some/rather/long/path/with/more/than/eight/bytes";
        let plain = long.iter().fold(5381u32, |h, &c| (h << 5).wrapping_add(h).wrapping_add(u32::from(c)));
        assert_eq!(djb2(long), plain);
    }

    #[test]
    fn full_hash_is_a_bijection_on_a_sample() {
        let mut seen: Vec<u32> = (0..100_000u32).map(full_hash).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 100_000);
        assert_ne!(full_hash(0), 0);
    }

    #[test]
    fn hash_type_defaults() {
        let m = HashType::map_based();
        assert_eq!((m.function, m.avalanche), (HashFunction::Sdbm, false));
        let c = HashType::consistent();
        assert_eq!((c.function, c.avalanche), (HashFunction::Sdbm, true));
        let c = HashType::new(HashMethod::Consistent, Some(HashFunction::Sdbm), false);
        assert!(!c.avalanche);
        assert_eq!(c.hash(b"/x"), sdbm(b"/x"));
        assert_eq!(HashType::consistent().hash(b"/x"), full_hash(sdbm(b"/x")));
    }

    #[test]
    fn source_is_an_xor_of_words_not_a_string_hash() {
        let m = HashType::map_based();
        let v4 = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(source_hash(&m, v4, 3), 0x7f00_0001);
        assert_eq!(source_hash(&m, v4, 1), 0);
        assert_eq!(source_hash(&HashType::consistent(), v4, 3), full_hash(0x7f00_0001));
        let v6: Ipv6Addr = "2001:db8::1:0:0:1".parse().unwrap();
        assert_eq!(source_hash(&m, IpAddr::V6(v6), 2), 0x2001_0db8 ^ 0x0001_0000 ^ 1);
    }

    #[test]
    fn uri_key_cuts_like_haproxy() {
        let none = UriOptions::default();
        assert_eq!(uri_key(b"/a/b/c?x=1", &none), b"/a/b/c");
        assert_eq!(uri_key(b"/a/b/c?x=1", &UriOptions { whole: true, ..none }), b"/a/b/c?x=1");
        assert_eq!(uri_key(b"/a/b/c?x=1", &UriOptions { len: 4, ..none }), b"/a/b");
        assert_eq!(uri_key(b"/a/b/c?x=1", &UriOptions { depth: 1, ..none }), b"/a");
        assert_eq!(uri_key(b"/a/b/c?x=1", &UriOptions { depth: 2, ..none }), b"/a/b");
        assert_eq!(uri_key(b"/a/b/c?x=1", &UriOptions { depth: 5, ..none }), b"/a/b/c");
        assert_eq!(uri_key(b"/a?b/c", &UriOptions { depth: 1, whole: true, ..none }), b"/a?b");
        assert_eq!(uri_key(b"", &none), b"");
        let m = HashType::map_based();
        assert_eq!(uri_hash(&m, &none, b"/a?q", 3), sdbm(b"/a"));
        assert_eq!(uri_hash(&m, &none, b"/a?q", 1), 0);
    }
}
