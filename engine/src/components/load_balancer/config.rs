//! A load balancer's configuration, in HAProxy's own terms. Defaults follow
//! HAProxy 2.6 (`include/haproxy/defaults.h`) and, for the timeouts HAProxy
//! leaves unset, the `haproxy.cfg` Debian ships (`timeout connect 5000`,
//! `timeout server 50000`).

use super::health::CheckParams;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// `balance`. Required: HAProxy's default changed from roundrobin to random
/// in 3.3, so a scenario always says which one it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Weighted round robin, HAProxy's dynamic FWRR.
    Roundrobin,
}

/// Server options that `default-server` can also set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastinter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downinter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
}

/// One `server` line: the node it forwards to, and its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerLine {
    /// The node's name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fastinter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downinter: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    /// Used only when no active server is usable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backup: bool,
}

/// `DEF_CHKINTR`
pub const DEFAULT_INTER: Duration = Duration::from_millis(2000);
/// `DEF_RISETIME`
pub const DEFAULT_RISE: u32 = 2;
/// `DEF_FALLTIME`
pub const DEFAULT_FALL: u32 = 3;
/// `SRV_UWGHT_MAX`
pub const MAX_WEIGHT: u32 = 256;

/// A server line with every default filled in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffectiveServer {
    pub weight: u32,
    pub check: bool,
    pub params: CheckParams,
    pub backup: bool,
}

impl ServerLine {
    pub fn effective(&self, d: &ServerDefaults) -> EffectiveServer {
        let inter = self.inter.or(d.inter).unwrap_or(DEFAULT_INTER);
        EffectiveServer {
            weight: self.weight.or(d.weight).unwrap_or(1),
            check: self.check.or(d.check).unwrap_or(false),
            params: CheckParams {
                inter,
                fastinter: self.fastinter.or(d.fastinter).unwrap_or(inter),
                downinter: self.downinter.or(d.downinter).unwrap_or(inter),
                rise: self.rise.or(d.rise).unwrap_or(DEFAULT_RISE),
                fall: self.fall.or(d.fall).unwrap_or(DEFAULT_FALL),
            },
            backup: self.backup,
        }
    }
}

fn default_retries() -> u32 {
    3
}
fn default_timeout_connect() -> Duration {
    Duration::from_secs(5)
}
fn default_timeout_server() -> Duration {
    Duration::from_secs(50)
}
fn default_maxconn() -> u32 {
    2000
}
fn default_backlog() -> u32 {
    1024
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerConfig {
    pub balance: Balance,
    pub servers: Vec<ServerLine>,
    #[serde(default)]
    pub default_server: ServerDefaults,
    /// `retries`: further connection attempts after the first fails.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `option redispatch`: allow a retry to go to another server.
    #[serde(default)]
    pub redispatch: bool,
    /// `option allbackups`: use every backup server, not only the first.
    #[serde(default)]
    pub allbackups: bool,
    /// `timeout connect`; also bounds the pause before a retry (at most 1 s).
    #[serde(default = "default_timeout_connect")]
    pub timeout_connect: Duration,
    /// `timeout server`: how long to wait for a server's answer (then 504).
    #[serde(default = "default_timeout_server")]
    pub timeout_server: Duration,
    /// `timeout check`; unset, a check times out after `inter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_check: Option<Duration>,
    /// Frontend `maxconn`: connections served at once; more wait in the
    /// listen backlog.
    #[serde(default = "default_maxconn")]
    pub maxconn: u32,
    /// The listen backlog (`backlog`); connections beyond it are dropped.
    #[serde(default = "default_backlog")]
    pub backlog: u32,
}

impl LoadBalancerConfig {
    /// Checks what the types cannot; `Err` names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |field: String, msg: String| Err((field, msg));
        if self.servers.is_empty() {
            return err("servers".into(), "a load balancer needs at least one server".into());
        }
        let d = &self.default_server;
        for (i, s) in self.servers.iter().enumerate() {
            let e = s.effective(d);
            let at = |f: &str| format!("servers[{i}].{f}");
            if e.weight > MAX_WEIGHT {
                return err(at("weight"), format!("weight must be 0 to {MAX_WEIGHT}, got {}", e.weight));
            }
            if e.params.rise == 0 {
                return err(at("rise"), "rise must be at least 1".into());
            }
            if e.params.fall == 0 {
                return err(at("fall"), "fall must be at least 1".into());
            }
            for (name, v) in [("inter", e.params.inter), ("fastinter", e.params.fastinter), ("downinter", e.params.downinter)] {
                if v < Duration::from_millis(1) {
                    return err(at(name), format!("{name} must be at least 1ms, got {v}"));
                }
            }
            if self.servers[..i].iter().any(|o| o.name == s.name) {
                return err(at("name"), format!("server `{}` is listed twice", s.name));
            }
        }
        if self.maxconn == 0 {
            return err("maxconn".into(), "maxconn must be at least 1".into());
        }
        if self.timeout_server == Duration::ZERO {
            return err("timeout_server".into(), "timeout_server must be longer than 0s".into());
        }
        Ok(())
    }
}
