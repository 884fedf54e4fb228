//! `balance`: the algorithm a backend picks servers with, behind one face.
//! Each algorithm lives in its own module (fwrr, map, leastconn, first,
//! random, chash, hash), checked against HAProxy 2.6 in `tests/haproxy_diff.rs`.

use super::chash::Chash;
use super::config::{Balance, HashTypeConfig};
use super::first::First;
use super::fwrr::Fwrr;
use super::hash::{source_hash, uri_hash, HashMethod, UriOptions};
use super::leastconn::{Leastconn, Limits};
use super::map::Map;
use super::random::Random;
use std::net::{IpAddr, Ipv4Addr};

/// Where a hash-based backend keeps its servers.
#[derive(Clone, Debug)]
pub enum Table {
    Map(Map),
    /// The consistent hashing ring, and `hash-balance-factor` (0: off).
    Ring(Chash, u32),
}

#[derive(Clone, Debug)]
pub enum Balancer {
    Roundrobin(Fwrr),
    StaticRr(Map),
    Leastconn(Leastconn),
    First(First),
    Random(Random),
    Source { table: Table, hash: HashTypeConfig },
    Uri { table: Table, hash: HashTypeConfig, options: UriOptions },
}

/// What a pick may look at about the request.
#[derive(Clone, Copy, Debug)]
pub struct PickInput<'a> {
    /// The client's address (for `balance source`).
    pub source: u32,
    /// The request's path (for `balance uri`).
    pub uri: &'a str,
    /// Random keys, [`Balancer::draws`] of them (for `balance random`).
    pub keys: &'a [u32],
}

impl Balancer {
    /// `balance_factor`: `hash-balance-factor` (0: off), for a
    /// consistent hash.
    pub fn new(
        balance: &Balance,
        hash: &HashTypeConfig,
        balance_factor: u32,
        weights: &[u32],
        backup: &[bool],
        all_backups: bool,
    ) -> Balancer {
        // Servers start UP (HAProxy's default init-state).
        let usable = vec![true; weights.len()];
        let table = || match hash.method() {
            HashMethod::MapBased => Table::Map(Map::new(weights, backup, &usable, all_backups)),
            HashMethod::Consistent => Table::Ring(Chash::new(weights, backup, &usable, all_backups), balance_factor),
        };
        match balance {
            Balance::Roundrobin => Balancer::Roundrobin(Fwrr::new(weights, backup, &usable, all_backups)),
            Balance::StaticRr => Balancer::StaticRr(Map::new(weights, backup, &usable, all_backups)),
            Balance::Leastconn => Balancer::Leastconn(Leastconn::new(weights, backup, &usable, all_backups)),
            Balance::First => Balancer::First(First::new(weights, backup, &usable, all_backups)),
            Balance::Random { draws } => Balancer::Random(Random::new(weights, backup, &usable, all_backups, *draws)),
            Balance::Source => Balancer::Source { table: table(), hash: *hash },
            Balance::Uri { options } => Balancer::Uri { table: table(), hash: *hash, options: *options },
        }
    }

    /// Hash-based algorithms pick by the request, not by turn: a retry
    /// is not redispatched at once (`stream_choose_redispatch`).
    pub fn is_hash(&self) -> bool {
        matches!(self, Balancer::Source { .. } | Balancer::Uri { .. })
    }

    /// How many random keys a pick needs (0 but for `balance random`).
    pub fn draws(&self) -> usize {
        match self {
            Balancer::Random(r) => r.draws(),
            _ => 0,
        }
    }

    /// Picks a server for a request; `saturated` says which servers are
    /// full (skipped by the turn-based algorithms), `limits` gives
    /// leastconn the servers' maxconn and maxqueue, `served` each server's
    /// requests in progress (for `hash-balance-factor`).
    pub fn pick(
        &mut self,
        input: PickInput,
        avoid: Option<usize>,
        saturated: impl Fn(usize) -> bool,
        limits: impl Fn(usize) -> Limits,
        served: impl Fn(usize) -> u32,
    ) -> Option<usize> {
        let pick_table = |table: &Table, h: u32| match table {
            Table::Map(m) => m.pick_hash(h),
            Table::Ring(r, 0) => r.pick(h, avoid),
            Table::Ring(r, factor) => {
                let total: u32 = (0..r.servers()).map(&served).sum();
                let bound = r.load_bound(*factor, total);
                r.pick_bounded(h, avoid, |i| r.within(bound, i, served(i)))
            }
        };
        let used = |table: &Table| match table {
            Table::Map(m) => m.tot_used(),
            Table::Ring(r, _) => r.tot_used(),
        };
        match self {
            Balancer::Roundrobin(f) => f.pick(avoid, saturated),
            Balancer::StaticRr(m) => m.pick_rr(avoid, saturated),
            Balancer::Leastconn(l) => l.pick(avoid, limits),
            Balancer::First(f) => f.pick(avoid, saturated),
            Balancer::Random(r) => r.pick(input.keys, avoid, saturated),
            Balancer::Source { table, hash } => {
                let addr = IpAddr::V4(Ipv4Addr::from(input.source));
                let h = source_hash(&hash.hash_type(), addr, used(table));
                pick_table(table, h)
            }
            Balancer::Uri { table, hash, options } => {
                let h = uri_hash(&hash.hash_type(), options, input.uri.as_bytes(), used(table));
                pick_table(table, h)
            }
        }
    }

    pub fn set_up(&mut self, i: usize) {
        match self {
            Balancer::Roundrobin(f) => f.set_up(i),
            Balancer::StaticRr(m) => m.set_up(i),
            Balancer::Leastconn(l) => l.set_up(i),
            Balancer::First(f) => f.set_up(i),
            Balancer::Random(r) => r.set_up(i),
            Balancer::Source { table, .. } | Balancer::Uri { table, .. } => match table {
                Table::Map(m) => m.set_up(i),
                Table::Ring(r, _) => r.set_up(i),
            },
        }
    }

    pub fn set_down(&mut self, i: usize) {
        match self {
            Balancer::Roundrobin(f) => f.set_down(i),
            Balancer::StaticRr(m) => m.set_down(i),
            Balancer::Leastconn(l) => l.set_down(i),
            Balancer::First(f) => f.set_down(i),
            Balancer::Random(r) => r.set_down(i),
            Balancer::Source { table, .. } | Balancer::Uri { table, .. } => match table {
                Table::Map(m) => m.set_down(i),
                Table::Ring(r, _) => r.set_down(i),
            },
        }
    }

    /// A server's new effective weight (user weight × 16), which
    /// `slowstart` ramps up. Only HAProxy's dynamic algorithms
    /// (`BE_LB_PROP_DYN`) take it; false for the others: the map-based
    /// ones (`static-rr`, hashing with `hash-type map-based`) cannot change
    /// a weight while running, and `first` looks at weights only for being 0.
    pub fn set_eweight(&mut self, i: usize, eweight: u32) -> bool {
        match self {
            Balancer::Roundrobin(f) => f.set_eweight(i, eweight),
            Balancer::Leastconn(l) => l.set_eweight(i, eweight),
            Balancer::Random(r) => r.set_eweight(i, eweight),
            Balancer::Source { table: Table::Ring(r, _), .. } | Balancer::Uri { table: Table::Ring(r, _), .. } => {
                r.set_eweight(i, eweight)
            }
            _ => return false,
        }
        true
    }

    /// Leastconn and random read servers' live loads: tell them when one
    /// changes.
    pub fn set_load(&mut self, i: usize, served: u32, queued: u32) {
        match self {
            Balancer::Leastconn(l) => l.set_load(i, served, queued),
            Balancer::Random(r) => r.set_served(i, served),
            _ => {}
        }
    }

    /// The server took or dropped a connection (`server_take_conn`,
    /// `server_drop_conn`): leastconn moves it to the key of its load.
    pub fn reposition(&mut self, i: usize) {
        if let Balancer::Leastconn(l) = self {
            l.reposition(i);
        }
    }
}
