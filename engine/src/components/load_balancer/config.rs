//! A load balancer's configuration, in HAProxy's own terms. Defaults follow
//! HAProxy 2.6 (`include/haproxy/defaults.h`) and, for the timeouts HAProxy
//! leaves unset, the `haproxy.cfg` Debian ships (`timeout connect 5000`,
//! `timeout server 50000`).

use super::acl::{is_defined, Acl, Condition, HttpRequest, Sample, UseBackend};
use super::hash::{HashFunction, HashMethod, HashType, UriOptions};
use super::health::CheckParams;
use super::httpchk::HttpChk;
use super::observe::{Analysis, Observe, OnError, DEFAULT_ERROR_LIMIT, MAX_ERROR_LIMIT};
use super::on_marked_down::OnMarkedDown;
use super::on_marked_up::OnMarkedUp;
use super::random::MAX_DRAWS;
use super::retry_on::RetryOn;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// `balance`, written as in haproxy.cfg: `"roundrobin"`, `"static-rr"`,
/// `"leastconn"`, `"first"`, `"random"` (or `"random(N)"`, N draws),
/// `"source"`, `"uri"` (with `whole`, `len N`, `depth N`). Required:
/// HAProxy's default changed from roundrobin to random in 3.3, so a
/// scenario always says which one it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    /// Weighted round robin, HAProxy's dynamic FWRR.
    Roundrobin,
    /// Weighted round robin over a fixed table (`lb_map.c`).
    StaticRr,
    /// The server with the fewest connections for its weight.
    Leastconn,
    /// The first server (by id) with a free slot.
    First,
    /// The least loaded of `draws` servers drawn at random.
    Random { draws: u32 },
    /// A hash of the client's address.
    Source,
    /// A hash of the request's path.
    Uri { options: UriOptions },
}

impl Balance {
    /// The `balance` line's arguments in haproxy.cfg.
    pub fn keyword(&self) -> String {
        match self {
            Balance::Roundrobin => "roundrobin".to_string(),
            Balance::StaticRr => "static-rr".to_string(),
            Balance::Leastconn => "leastconn".to_string(),
            Balance::First => "first".to_string(),
            Balance::Random { draws: 2 } => "random".to_string(),
            Balance::Random { draws } => format!("random({draws})"),
            Balance::Source => "source".to_string(),
            Balance::Uri { options } => {
                let mut s = "uri".to_string();
                if options.len > 0 {
                    s.push_str(&format!(" len {}", options.len));
                }
                if options.depth > 0 {
                    s.push_str(&format!(" depth {}", options.depth));
                }
                if options.whole {
                    s.push_str(" whole");
                }
                s
            }
        }
    }

    pub fn parse(text: &str) -> Result<Balance, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let expected =
            "expected roundrobin, static-rr, leastconn, first, random[(N)], source or uri [len N] [depth N] [whole]";
        match words.as_slice() {
            ["roundrobin"] => Ok(Balance::Roundrobin),
            ["static-rr"] => Ok(Balance::StaticRr),
            ["leastconn"] => Ok(Balance::Leastconn),
            ["first"] => Ok(Balance::First),
            ["source"] => Ok(Balance::Source),
            [w] if w.starts_with("random") => parse_random(&w["random".len()..]),
            ["uri", rest @ ..] => {
                let mut options = UriOptions::default();
                let mut it = rest.iter();
                while let Some(&w) = it.next() {
                    match w {
                        "whole" => options.whole = true,
                        "len" | "depth" => {
                            let n = it.next().and_then(|n| n.parse::<u32>().ok()).filter(|&n| n > 0);
                            let Some(n) = n else { return Err(format!("uri: '{w}' expects a positive integer")) };
                            if w == "len" {
                                options.len = n;
                            } else {
                                options.depth = n;
                            }
                        }
                        other => return Err(format!("uri only accepts 'len', 'depth' and 'whole', got '{other}'")),
                    }
                }
                Ok(Balance::Uri { options })
            }
            _ => Err(format!("`{text}` is not a balance algorithm here: {expected}")),
        }
    }
}

/// `random`'s argument, after the word: nothing or `()` (2 draws), or
/// `(N)`, N from 1 to [`MAX_DRAWS`], with HAProxy's messages.
fn parse_random(rest: &str) -> Result<Balance, String> {
    if rest.is_empty() || rest == "()" {
        return Ok(Balance::Random { draws: 2 });
    }
    let Some(inner) = rest.strip_prefix('(') else {
        return Err(format!("`random{rest}` is not a balance algorithm here: write random or random(N)"));
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    match inner[digits..].chars().next() {
        None => return Err("random : missing closing parenthesis.".into()),
        Some(')') if digits + 1 < inner.len() => {
            return Err(format!("random : nothing may follow the closing parenthesis, got '{}'", &inner[digits + 1..]))
        }
        Some(')') => {}
        Some(c) => return Err(format!("random : unexpected character '{c}' after argument.")),
    }
    match inner[..digits].parse::<u32>() {
        Ok(0) => Err("random : number of draws must be at least 1.".into()),
        Ok(n) if n as usize <= MAX_DRAWS => Ok(Balance::Random { draws: n }),
        _ => Err(format!("random : at most {MAX_DRAWS} draws here, got {}", &inner[..digits])),
    }
}

serde_as_text!(Balance, keyword);

/// `hash-type`, written as in haproxy.cfg: `"map-based"` (the default) or
/// `"consistent"`, optionally followed by a function (`sdbm`, `djb2`,
/// `wt6`, `crc32`) and `avalanche`. `consistent` alone means sdbm with
/// avalanche, as in HAProxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashTypeConfig {
    pub consistent: bool,
    pub function: Option<HashFunction>,
    pub avalanche: bool,
}

impl HashTypeConfig {
    pub fn method(&self) -> HashMethod {
        if self.consistent {
            HashMethod::Consistent
        } else {
            HashMethod::MapBased
        }
    }

    pub fn hash_type(&self) -> HashType {
        HashType::new(self.method(), self.function, self.avalanche)
    }

    pub fn keyword(&self) -> String {
        let mut s = if self.consistent { "consistent" } else { "map-based" }.to_string();
        if let Some(f) = self.function {
            s.push_str(match f {
                HashFunction::Sdbm => " sdbm",
                HashFunction::Djb2 => " djb2",
                HashFunction::Wt6 => " wt6",
                HashFunction::Crc32 => " crc32",
            });
        }
        if self.avalanche {
            s.push_str(" avalanche");
        }
        s
    }

    pub fn parse(text: &str) -> Result<HashTypeConfig, String> {
        let mut words = text.split_whitespace();
        let consistent = match words.next() {
            Some("map-based") => false,
            Some("consistent") => true,
            _ => {
                return Err(format!(
                    "`{text}`: hash-type is `map-based` or `consistent`, then optionally a function and `avalanche`"
                ))
            }
        };
        let mut config = HashTypeConfig { consistent, function: None, avalanche: false };
        for w in words {
            match w {
                "sdbm" if config.function.is_none() => config.function = Some(HashFunction::Sdbm),
                "djb2" if config.function.is_none() => config.function = Some(HashFunction::Djb2),
                "wt6" if config.function.is_none() => config.function = Some(HashFunction::Wt6),
                "crc32" if config.function.is_none() => config.function = Some(HashFunction::Crc32),
                // HAProxy takes `avalanche` only after a function.
                "avalanche" if !config.avalanche && config.function.is_some() => config.avalanche = true,
                other => {
                    return Err(format!(
                        "hash-type: unexpected '{other}' (functions: sdbm, djb2, wt6, crc32; then `avalanche`)"
                    ))
                }
            }
        }
        Ok(config)
    }
}

serde_as_text!(HashTypeConfig, keyword);

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
    /// Connections the server takes at once (0: no limit); more wait in
    /// a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// With the backend's `fullconn`: the server's limit while the backend
    /// is lightly loaded; it grows to `maxconn` as the backend fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minconn: Option<u32>,
    /// Requests that may wait in this server's own queue (0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxqueue: Option<u32>,
    /// After a check brings the server back UP, its weight and `maxconn`
    /// grow from almost nothing to full over this time (whole seconds,
    /// rounded up; 0: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowstart: Option<Duration>,
    /// Health analysis of the server's traffic (needs `check`): `layer4`
    /// connections, `layer7` HTTP responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<Observe>,
    /// Consecutive errors that trigger `on_error` (10 unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_limit: Option<u32>,
    /// `fastinter`, `fail-check` (the default), `sudden-death` or
    /// `mark-down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    /// `shutdown-sessions`: marking the server DOWN ends the requests it
    /// holds with a 502 at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_marked_down: Option<OnMarkedDown>,
    /// `shutdown-backup-sessions`: this active server coming UP ends the
    /// requests the backend's backup servers hold with a 502 at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_marked_up: Option<OnMarkedUp>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minconn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxqueue: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slowstart: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<Observe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_marked_down: Option<OnMarkedDown>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_marked_up: Option<OnMarkedUp>,
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
/// Bounds that keep a run's memory and time sane.
pub const MAX_RETRIES: u32 = 100;
pub const MAX_BACKLOG: u32 = 1 << 20;

/// A server line with every default filled in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffectiveServer {
    pub weight: u32,
    pub check: bool,
    pub params: CheckParams,
    pub backup: bool,
    /// 0: no limit.
    pub maxconn: u32,
    /// The dynamic limit's floor: `maxconn` unless `minconn` is set (a
    /// `minconn` above `maxconn` raises `maxconn` to it, as HAProxy's
    /// `srv_minmax_conn_apply` does).
    pub minconn: u32,
    /// 0: no limit.
    pub maxqueue: u32,
    /// 0: none.
    pub slowstart: Duration,
    pub analysis: Analysis,
    /// Whether `fastinter` was given: only then does health analysis bring
    /// the next check forward (HAProxy keeps 0 for "unset").
    pub fastinter_set: bool,
    /// `on-marked-down shutdown-sessions`.
    pub shutdown_sessions: bool,
    /// `on-marked-up shutdown-backup-sessions`.
    pub shutdown_backup_sessions: bool,
}

impl ServerLine {
    fn with_options(o: ServerDefaults) -> ServerLine {
        ServerLine {
            name: String::new(),
            weight: o.weight,
            check: o.check,
            inter: o.inter,
            fastinter: o.fastinter,
            downinter: o.downinter,
            rise: o.rise,
            fall: o.fall,
            maxconn: o.maxconn,
            minconn: o.minconn,
            maxqueue: o.maxqueue,
            slowstart: o.slowstart,
            observe: o.observe,
            error_limit: o.error_limit,
            on_error: o.on_error,
            on_marked_down: o.on_marked_down,
            on_marked_up: o.on_marked_up,
            backup: false,
        }
    }

    /// The options this line sets itself.
    pub fn options(&self) -> ServerDefaults {
        ServerDefaults {
            weight: self.weight,
            check: self.check,
            inter: self.inter,
            fastinter: self.fastinter,
            downinter: self.downinter,
            rise: self.rise,
            fall: self.fall,
            maxconn: self.maxconn,
            minconn: self.minconn,
            maxqueue: self.maxqueue,
            slowstart: self.slowstart,
            observe: self.observe,
            error_limit: self.error_limit,
            on_error: self.on_error,
            on_marked_down: self.on_marked_down,
            on_marked_up: self.on_marked_up,
        }
    }

    pub fn effective(&self, d: &ServerDefaults) -> EffectiveServer {
        let inter = self.inter.or(d.inter).unwrap_or(DEFAULT_INTER);
        let (maxconn, minconn) = (self.maxconn.or(d.maxconn).unwrap_or(0), self.minconn.or(d.minconn).unwrap_or(0));
        let (maxconn, minconn) = match () {
            _ if minconn > maxconn => (minconn, minconn),
            _ if minconn == 0 => (maxconn, maxconn),
            _ => (maxconn, minconn),
        };
        let fastinter = self.fastinter.or(d.fastinter);
        EffectiveServer {
            weight: self.weight.or(d.weight).unwrap_or(1),
            check: self.check.or(d.check).unwrap_or(false),
            params: CheckParams {
                inter,
                fastinter: fastinter.unwrap_or(inter),
                downinter: self.downinter.or(d.downinter).unwrap_or(inter),
                rise: self.rise.or(d.rise).unwrap_or(DEFAULT_RISE),
                fall: self.fall.or(d.fall).unwrap_or(DEFAULT_FALL),
            },
            backup: self.backup,
            maxconn,
            minconn,
            maxqueue: self.maxqueue.or(d.maxqueue).unwrap_or(0),
            slowstart: self.slowstart.or(d.slowstart).unwrap_or_default(),
            analysis: Analysis {
                observe: self.observe.or(d.observe).unwrap_or_default(),
                error_limit: self.error_limit.or(d.error_limit).unwrap_or(DEFAULT_ERROR_LIMIT),
                on_error: self.on_error.or(d.on_error).unwrap_or_default(),
            },
            fastinter_set: fastinter.is_some(),
            shutdown_sessions: self.on_marked_down.or(d.on_marked_down) == Some(OnMarkedDown::ShutdownSessions),
            shutdown_backup_sessions: self.on_marked_up.or(d.on_marked_up) == Some(OnMarkedUp::ShutdownBackupSessions),
        }
    }
}

fn is_default_retry_on(r: &RetryOn) -> bool {
    *r == RetryOn::default()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_default_hash(h: &HashTypeConfig) -> bool {
    *h == HashTypeConfig::default()
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
/// HAProxy's `DEFAULT_MAXCONN` as Debian builds it.
pub const DEFAULT_MAXCONN: u32 = 2000;
/// Bounds on layer-7 routing tables.
pub const MAX_BACKENDS: usize = 64;
pub const MAX_RULES: usize = 256;

/// A load balancer is HAProxy's `listen` section: a frontend (`maxconn`,
/// `backlog`, `acl`, `use_backend`) and its default backend (the other
/// fields). `backends` adds named `backend` sections, which take the
/// backend fields and a `name`; requests reach them by `use_backend`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerConfig {
    /// A named backend's name (only in `backends`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub balance: Balance,
    /// `hash-type`, for `source` and `uri`.
    #[serde(default, skip_serializing_if = "is_default_hash")]
    pub hash_type: HashTypeConfig,
    /// `hash-balance-factor`, for `source` and `uri` with a consistent
    /// hash: a server is passed over (the ring is walked on) while it
    /// serves its share, by weight, of this per cent of the backend's
    /// requests in progress: consistent hashing with bounded loads. 0
    /// (unset): off; otherwise above 100.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hash_balance_factor: u32,
    pub servers: Vec<ServerLine>,
    #[serde(default)]
    pub default_server: ServerDefaults,
    /// `retries`: further connection attempts after the first fails.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `option redispatch`: allow a retry to go to another server.
    #[serde(default)]
    pub redispatch: bool,
    /// `retry-on`: the failures retried within `retries`, in haproxy.cfg
    /// words (`"conn-failure 503 response-timeout"`). Unset,
    /// `conn-failure`.
    #[serde(default, skip_serializing_if = "is_default_retry_on")]
    pub retry_on: RetryOn,
    /// `option allbackups`: use every backup server, not only the first.
    #[serde(default)]
    pub allbackups: bool,
    /// `option abortonclose`: a request whose client closed its
    /// connection is dropped while it waits for a server (queued, between
    /// retries, connecting), and one a server holds has that connection
    /// reset. Unset, HAProxy stops reading a client once its request is
    /// in, and serves the request whatever the client did since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abortonclose: bool,
    /// `timeout connect`: how long to wait for a server's host to accept a
    /// connection before counting a failed attempt (retried, see
    /// `retries`). Also the pause before retrying the same server after a
    /// refused connection (`min(timeout connect, 1s)`), the default of
    /// `timeout queue`, and with `timeout check` the check timeout.
    #[serde(default = "default_timeout_connect")]
    pub timeout_connect: Duration,
    /// `timeout queue`: how long a request may wait for a server slot
    /// (then 503). Unset, it is `timeout connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_queue: Option<Duration>,
    /// `fullconn`: the backend's load (requests in it at once) at which
    /// servers with `minconn` reach their `maxconn`. Unset, 10 % of the
    /// frontend's `maxconn` if the frontend sends to this backend (HAProxy
    /// sums the `maxconn` of every frontend that does), else 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullconn: Option<u32>,
    /// `timeout server`: how long to wait for a server's answer (then 504).
    #[serde(default = "default_timeout_server")]
    pub timeout_server: Duration,
    /// `timeout check`. Unset, a check times out after `inter`; set, a
    /// check's connection must be established within `min(inter, timeout
    /// connect)`, and an HTTP check (`httpchk`) then has `timeout check`
    /// for its answer, as in HAProxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_check: Option<Duration>,
    /// `option httpchk`: checks send this HTTP request, and pass on a 2xx
    /// or 3xx answer. Unset, a check only connects. (Boxed: it is rare,
    /// and keeps the config small.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub httpchk: Option<Box<HttpChk>>,
    /// Frontend `maxconn`: connections served at once; more wait in the
    /// listen backlog. Unset, 2000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxconn: Option<u32>,
    /// The listen backlog (`backlog`); connections beyond it are dropped.
    /// Unset, HAProxy passes the frontend's `maxconn` to `listen()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    /// `acl` lines, in haproxy.cfg words without the keyword.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acl: Vec<Acl>,
    /// `use_backend` rules, tried in order; the first that applies picks
    /// the backend, else the default backend serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub use_backend: Vec<UseBackend>,
    /// `http-request` rules, in haproxy.cfg words without the keyword
    /// (`"disable-l7-retry if METH_PUT"`): requests they apply to get no
    /// layer-7 retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_request: Vec<HttpRequest>,
    /// Named `backend` sections.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<LoadBalancerConfig>,
}

impl LoadBalancerConfig {
    /// Checks what the types cannot; `Err` names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |field: String, msg: String| Err((field, msg));
        if let Some(name) = &self.name {
            return err("name".into(), format!("`name` ({name}) belongs to the entries of `backends`"));
        }
        self.validate_backend()?;
        let maxconn = self.effective_maxconn();
        if maxconn == 0 || maxconn > super::MAX_MAXCONN {
            return err("maxconn".into(), format!("maxconn must be 1 to {}, got {maxconn}", super::MAX_MAXCONN));
        }
        if let Some(b) = self.backlog {
            if b > MAX_BACKLOG {
                return err("backlog".into(), format!("backlog must be at most {MAX_BACKLOG}, got {b}"));
            }
        }
        self.validate_routing()
    }

    /// Checks the layer-7 part: named backends, ACLs and rules.
    fn validate_routing(&self) -> Result<(), (String, String)> {
        let err = |field: String, msg: String| Err((field, msg));
        if self.backends.len() > MAX_BACKENDS {
            return err("backends".into(), format!("at most {MAX_BACKENDS} backends, got {}", self.backends.len()));
        }
        for (field, len) in [
            ("acl", self.acl.len()),
            ("use_backend", self.use_backend.len()),
            ("http_request", self.http_request.len()),
        ] {
            if len > MAX_RULES {
                return err(field.into(), format!("at most {MAX_RULES} {field} lines, got {len}"));
            }
        }
        for (i, b) in self.backends.iter().enumerate() {
            let at = |f: &str| format!("backends[{i}].{f}");
            let Some(name) = &b.name else {
                return err(at("name"), "a named backend needs a `name`".into());
            };
            if !super::acl::valid_name(name) {
                return err(
                    at("name"),
                    format!("`{name}` is not a valid backend name: use letters, digits, '-', '_', '.' and ':'"),
                );
            }
            if self.backends[..i].iter().any(|o| o.name.as_ref() == Some(name)) {
                return err(at("name"), format!("backend `{name}` is defined twice"));
            }
            let frontend_only = [
                ("maxconn", b.maxconn.is_some()),
                ("backlog", b.backlog.is_some()),
                ("acl", !b.acl.is_empty()),
                ("use_backend", !b.use_backend.is_empty()),
                ("http_request", !b.http_request.is_empty()),
                ("backends", !b.backends.is_empty()),
            ];
            if let Some((f, _)) = frontend_only.iter().find(|(_, set)| *set) {
                return err(at(f), format!("`{f}` is a frontend setting; set it on the load balancer itself"));
            }
            b.validate_backend().map_err(|(f, m)| (at(&f), m))?;
        }
        for (i, rule) in self.use_backend.iter().enumerate() {
            let at = format!("use_backend[{i}]");
            if !self.backends.iter().any(|b| b.name.as_deref() == Some(rule.backend.as_str())) {
                let known: Vec<&str> = self.backends.iter().filter_map(|b| b.name.as_deref()).collect();
                let known = if known.is_empty() { "none are defined".to_string() } else { known.join(", ") };
                return err(at, format!("no backend is named `{}` (backends: {known})", rule.backend));
            }
            self.acls_defined(&rule.condition).map_err(|m| (at, m))?;
        }
        for (i, rule) in self.http_request.iter().enumerate() {
            self.acls_defined(&rule.condition).map_err(|m| (format!("http_request[{i}]"), m))?;
        }
        Ok(())
    }

    /// Checks that a rule's condition names only ACLs that exist.
    fn acls_defined(&self, condition: &Option<Condition>) -> Result<(), String> {
        match condition.iter().flat_map(|c| c.names()).find(|n| !is_defined(&self.acl, n)) {
            Some(missing) => Err(format!("no ACL is named `{missing}`; define it in `acl`")),
            None => Ok(()),
        }
    }

    /// Checks the backend part, shared by the default and named backends.
    fn validate_backend(&self) -> Result<(), (String, String)> {
        let err = |field: String, msg: String| Err((field, msg));
        // A frontend whose requests all go to named backends may have no
        // default backend (what `use_backend` does not match gets 503).
        if self.servers.is_empty() && self.backends.is_empty() {
            return err("servers".into(), "a backend needs at least one server".into());
        }
        let d = &self.default_server;
        // `default-server` first, so its mistakes are reported there.
        let defaults = ServerLine::with_options(*d);
        check_server(&defaults.effective(&ServerDefaults::default()), &|f| format!("default_server.{f}"))?;
        for (i, s) in self.servers.iter().enumerate() {
            check_server(&s.effective(d), &|f| format!("servers[{i}].{f}"))?;
            let at = |f: &str| format!("servers[{i}].{f}");
            if self.servers[..i].iter().any(|o| o.name == s.name) {
                return err(at("name"), format!("server `{}` is listed twice", s.name));
            }
        }
        if self.retries > MAX_RETRIES {
            return err("retries".into(), format!("retries must be at most {MAX_RETRIES}, got {}", self.retries));
        }
        if let Some(f) = self.fullconn.filter(|&f| f == 0 || f > super::MAX_MAXCONN) {
            return err(
                "fullconn".into(),
                format!("fullconn must be 1 to {} (leave it out for HAProxy's default), got {f}", super::MAX_MAXCONN),
            );
        }
        if let f @ 1.. = self.hash_balance_factor {
            let field = "hash_balance_factor".to_string();
            if f <= 100 {
                return err(field, format!("hash-balance-factor must be 0 or greater than 100, got {f}"));
            }
            let hashed = matches!(self.balance, Balance::Source | Balance::Uri { .. });
            if !hashed || self.hash_type.method() != HashMethod::Consistent {
                return err(
                    field,
                    "hash-balance-factor bounds the load of a consistent hash: it needs `balance` source or uri with `hash_type: consistent`".into(),
                );
            }
        }
        for (name, v) in [("timeout_server", self.timeout_server), ("timeout_connect", self.timeout_connect)] {
            if v < Duration::from_millis(1) {
                return err(name.into(), format!("{name} must be at least 1ms, got {v}"));
            }
        }
        for (name, v) in [("timeout_check", self.timeout_check), ("timeout_queue", self.timeout_queue)] {
            if let Some(v) = v {
                if v < Duration::from_millis(1) {
                    return err(name.into(), format!("{name} must be at least 1ms, got {v}"));
                }
            }
        }
        Ok(())
    }

    /// Some backend has `option abortonclose`: the frontend must watch its
    /// clients for a close (HAProxy 2.6 does so only then).
    pub fn watches_clients(&self) -> bool {
        self.all_backends().any(|b| b.abortonclose)
    }

    /// `timeout queue` in effect.
    pub fn effective_timeout_queue(&self) -> Duration {
        self.timeout_queue.unwrap_or(self.timeout_connect)
    }

    /// `fullconn` in effect for backend `b` (an index in
    /// [`Self::all_backends`]): as set, or HAProxy's default, a tenth of
    /// the frontend's `maxconn` (rounded up) if the frontend sends to it
    /// (as its default backend or by a `use_backend` rule), else 1.
    pub fn effective_fullconn(&self, b: usize) -> u32 {
        let backend = if b == 0 { self } else { &self.backends[b - 1] };
        backend.fullconn.unwrap_or_else(|| {
            let name = backend.name.as_deref();
            let referenced = b == 0 || self.use_backend.iter().any(|r| Some(r.backend.as_str()) == name);
            if referenced {
                self.effective_maxconn().div_ceil(10).max(1)
            } else {
                1
            }
        })
    }

    /// The frontend `maxconn` in effect.
    pub fn effective_maxconn(&self) -> u32 {
        self.maxconn.unwrap_or(DEFAULT_MAXCONN)
    }

    /// The listen backlog in effect.
    pub fn effective_backlog(&self) -> u32 {
        self.backlog.unwrap_or(self.effective_maxconn())
    }

    /// The backends in order: the default one (index 0), then the named.
    pub fn all_backends(&self) -> impl Iterator<Item = &LoadBalancerConfig> {
        std::iter::once(self).chain(&self.backends)
    }

    /// HAProxy's `BE_LB_PROP_DYN` unset: the algorithm fixes the servers'
    /// weights when the backend starts (`static-rr`, map-based hashing),
    /// so `set server ... weight` takes only 0% and 100%. Its name if so.
    pub fn static_weights(&self) -> Option<String> {
        match self.balance {
            Balance::StaticRr => Some("static-rr".into()),
            Balance::Source | Balance::Uri { .. } if !self.hash_type.consistent => {
                Some(format!("balance {} with a map-based hash", self.balance.keyword()))
            }
            _ => None,
        }
    }

    /// Whether an `http-request disable-l7-retry` rule applies to a request.
    pub fn l7_retry_disabled(&self, sample: &Sample) -> bool {
        self.http_request.iter().any(|r| r.applies(&self.acl, sample))
    }

    /// The index of the first `use_backend` rule that applies to a request,
    /// or `None` when the default backend takes it.
    pub fn rule_for(&self, sample: &Sample) -> Option<usize> {
        self.use_backend.iter().position(|r| r.applies(&self.acl, sample))
    }

    /// The index in [`Self::all_backends`] of the backend a request goes
    /// to (0: the default backend, which may have no servers).
    pub fn backend_for(&self, sample: &Sample) -> usize {
        self.rule_for(sample).map_or(0, |i| self.backend_index(&self.use_backend[i].backend).expect("validated"))
    }

    /// The index in [`Self::all_backends`] of the backend named `name`.
    pub fn backend_index(&self, name: &str) -> Option<usize> {
        self.backends.iter().position(|b| b.name.as_deref() == Some(name)).map(|i| i + 1)
    }
}

/// Checks one server's settings; `at` turns a field into its path.
fn check_server(e: &EffectiveServer, at: &dyn Fn(&str) -> String) -> Result<(), (String, String)> {
    if e.weight > MAX_WEIGHT {
        return Err((at("weight"), format!("weight must be 0 to {MAX_WEIGHT}, got {}", e.weight)));
    }
    if e.params.rise == 0 {
        return Err((at("rise"), "rise must be at least 1".into()));
    }
    if e.params.fall == 0 {
        return Err((at("fall"), "fall must be at least 1".into()));
    }
    for (name, v) in [("maxconn", e.maxconn), ("minconn", e.minconn), ("maxqueue", e.maxqueue)] {
        if v > super::MAX_MAXCONN {
            return Err((at(name), format!("{name} must be at most {}, got {v}", super::MAX_MAXCONN)));
        }
    }
    if e.slowstart > super::slowstart::MAX_SLOWSTART {
        return Err((
            at("slowstart"),
            format!("slowstart must be at most 2147483647ms (about 24.8 days), got {}", e.slowstart),
        ));
    }
    let limit = e.analysis.error_limit;
    if limit == 0 || limit > MAX_ERROR_LIMIT {
        return Err((at("error_limit"), format!("error_limit must be 1 to {MAX_ERROR_LIMIT}, got {limit}")));
    }
    for (name, v) in [("inter", e.params.inter), ("fastinter", e.params.fastinter), ("downinter", e.params.downinter)] {
        if v < Duration::from_millis(1) {
            return Err((at(name), format!("{name} must be at least 1ms, got {v}")));
        }
    }
    Ok(())
}
