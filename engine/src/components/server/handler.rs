//! What an application server does with a request besides computing: read
//! and write through a cache and a database, in one of the classic
//! patterns. Each step is a real call over the network; a worker stays busy
//! (blocking I/O) until the request is answered, so the race windows of
//! each pattern are real:
//!
//! - cache-aside read: GET the cache; on a miss read the database, then SET
//!   the value in the cache with a TTL. A write that lands between the
//!   database read and the SET leaves a stale value cached until the TTL.
//! - read-through: the same calls, made by a cache library in the app
//!   server that lets only one miss per key load from the database at a
//!   time; concurrent readers of that key wait for it (single flight).
//! - write-through: write the database, then SET the cache.
//! - write-around: write the database, then DEL the cache entry.
//! - write-behind: SET the cache and answer; the database write follows
//!   later, in a batch. What is still buffered when the server crashes is
//!   lost, although it was acknowledged.

use crate::time::Duration;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPath {
    /// Read the database only.
    Database,
    CacheAside,
    ReadThrough,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePath {
    /// Write the database only.
    Database,
    WriteThrough,
    WriteAround,
    WriteBehind,
}

fn default_ttl() -> Duration {
    Duration::from_secs(60)
}
fn default_call_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_flush() -> Duration {
    Duration::from_secs(1)
}

/// What the server's health endpoint (a load balancer's `httpchk`) looks
/// at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Only that the process answers: 200 whenever a worker takes the
    /// check.
    #[default]
    Shallow,
    /// Also that its database answers: the check reads from it (where
    /// reads go) and answers 200 only if the read succeeds within
    /// `call_timeout`, else 503.
    Deep,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerConfig {
    /// The database node writes go to (until its group announces another
    /// primary).
    pub database: String,
    /// Where reads go: a replica, or (unset) wherever writes go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
    /// The cache node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<String>,
    /// Default: `cache_aside` with a cache, `database` without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadPath>,
    /// Default: `write_around` with a cache, `database` without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<WritePath>,
    /// The TTL given to cached values.
    #[serde(default = "default_ttl")]
    pub ttl: Duration,
    /// How long one call to the cache or the database may take.
    #[serde(default = "default_call_timeout")]
    pub call_timeout: Duration,
    /// Write-behind: how often buffered writes go to the database.
    #[serde(default = "default_flush")]
    pub flush_every: Duration,
    /// The health endpoint: `shallow` (the default) or `deep`.
    #[serde(default, skip_serializing_if = "is_shallow")]
    pub health: Health,
}

fn is_shallow(h: &Health) -> bool {
    *h == Health::Shallow
}

impl HandlerConfig {
    pub fn read_path(&self) -> ReadPath {
        self.read.unwrap_or(if self.cache.is_some() { ReadPath::CacheAside } else { ReadPath::Database })
    }

    pub fn write_path(&self) -> WritePath {
        self.write.unwrap_or(if self.cache.is_some() { WritePath::WriteAround } else { WritePath::Database })
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        let needs_cache =
            !matches!(self.read_path(), ReadPath::Database) || !matches!(self.write_path(), WritePath::Database);
        if needs_cache && self.cache.is_none() {
            return Err(("cache".into(), "the read or write path uses a cache: name one in `cache`".into()));
        }
        for (name, d) in [("ttl", self.ttl), ("call_timeout", self.call_timeout), ("flush_every", self.flush_every)] {
            if d < Duration::from_millis(1) {
                return Err((name.into(), format!("{name} must be at least 1ms, got {d}")));
            }
        }
        Ok(())
    }
}
