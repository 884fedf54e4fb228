//! The load balancer's configuration as a `haproxy.cfg`: what a learner
//! would write to get the same behaviour from a real HAProxy 2.6. The
//! tests check every rendering with `haproxy -c`.
//!
//! Node addresses follow [`crate::network::ipv4`]: node `n` is `10.x.y.z`
//! for `n + 1`, port 80.

use super::config::{LoadBalancerConfig, ServerDefaults, ServerLine};
use super::health::CheckParams;
use crate::time::Duration;
use std::fmt::Write;

/// HAProxy writes times in milliseconds by default; a unit is clearer.
fn t(d: Duration) -> String {
    let ms = d.nanos / 1_000_000;
    if !d.nanos.is_multiple_of(1_000_000) {
        format!("{}us", d.nanos / 1000)
    } else if ms.is_multiple_of(1000) && ms > 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A server's options as haproxy.cfg words (only those set).
fn options(o: &ServerDefaults) -> String {
    let mut out = String::new();
    if let Some(w) = o.weight {
        let _ = write!(out, " weight {w}");
    }
    if let Some(c) = o.check {
        out.push_str(if c { " check" } else { " no-check" });
    }
    for (k, v) in
        [("inter", o.inter), ("fastinter", o.fastinter), ("downinter", o.downinter), ("slowstart", o.slowstart)]
    {
        if let Some(v) = v {
            let _ = write!(out, " {k} {}", t(v));
        }
    }
    for (k, v) in
        [("rise", o.rise), ("fall", o.fall), ("maxconn", o.maxconn), ("minconn", o.minconn), ("maxqueue", o.maxqueue)]
    {
        if let Some(v) = v {
            let _ = write!(out, " {k} {v}");
        }
    }
    if let Some(m) = o.observe {
        let _ = write!(out, " observe {}", m.keyword());
    }
    if let Some(n) = o.error_limit {
        let _ = write!(out, " error-limit {n}");
    }
    if let Some(e) = o.on_error {
        let _ = write!(out, " on-error {}", e.keyword());
    }
    if let Some(a) = o.on_marked_down {
        let _ = write!(out, " on-marked-down {}", a.keyword());
    }
    if let Some(a) = o.on_marked_up {
        let _ = write!(out, " on-marked-up {}", a.keyword());
    }
    out
}

fn server(out: &mut String, s: &ServerLine, address: &str) {
    let backup = if s.backup { " backup" } else { "" };
    let _ = writeln!(out, "    server {} {address}{}{backup}", s.name, options(&s.options()));
}

/// Renders `config` for the load balancer node `name`; `address` gives a
/// server node's `ip:port`. Each backend section carries its own
/// settings, so named backends do not inherit the default backend's.
pub fn haproxy_cfg(name: &str, config: &LoadBalancerConfig, address: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Cluster Lab load balancer `{name}` as HAProxy 2.6 configuration.");
    let _ = writeln!(out, "global");
    let _ = writeln!(out, "    nbthread 1");
    let _ = writeln!(out);
    let _ = writeln!(out, "defaults");
    let _ = writeln!(out, "    mode http");
    let _ = writeln!(out, "    # Clients' idle time is not modelled; HAProxy needs a value.");
    let _ = writeln!(out, "    timeout client 50s");
    let watch = config.watches_clients();
    if watch {
        let _ = writeln!(out, "    # HAProxy 2.6 watches clients for a close only when the frontend has");
        let _ = writeln!(out, "    # abortonclose too (haproxy/haproxy#2344); each backend says its own.");
        let _ = writeln!(out, "    option abortonclose");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "frontend {name}");
    let _ = writeln!(out, "    bind :80");
    let _ = writeln!(out, "    maxconn {}", config.effective_maxconn());
    if let Some(b) = config.backlog {
        let _ = writeln!(out, "    backlog {b}");
    }
    for acl in &config.acl {
        let _ = writeln!(out, "    acl {}", acl.words());
    }
    // Before `use_backend`, where HAProxy evaluates them (it warns
    // otherwise).
    for rule in &config.http_request {
        let _ = writeln!(out, "    http-request {}", rule.words());
    }
    for rule in &config.use_backend {
        let _ = writeln!(out, "    use_backend {}", rule.words());
    }
    // Without servers the default backend is absent: what no rule routes
    // gets 503, as from a frontend with no `default_backend`.
    let backends: Vec<(String, &LoadBalancerConfig)> = config
        .all_backends()
        .enumerate()
        .filter(|(i, b)| *i > 0 || !b.servers.is_empty())
        .map(|(i, b)| (super::backend_name(name, config, i), b))
        .collect();
    if !config.servers.is_empty() {
        let _ = writeln!(out, "    default_backend {name}_servers");
    }
    for (section, b) in backends {
        let _ = writeln!(out);
        backend(&mut out, &section, b, watch, &address);
    }
    out
}

/// One backend section; `watch`: `defaults` has `option abortonclose`.
fn backend(out: &mut String, section: &str, b: &LoadBalancerConfig, watch: bool, address: &impl Fn(&str) -> String) {
    let _ = writeln!(out, "backend {section}");
    let _ = writeln!(out, "    balance {}", b.balance.keyword());
    if b.hash_type != Default::default() {
        let _ = writeln!(out, "    hash-type {}", b.hash_type.keyword());
    }
    if b.hash_balance_factor != 0 {
        let _ = writeln!(out, "    hash-balance-factor {}", b.hash_balance_factor);
    }
    let _ = writeln!(out, "    retries {}", b.retries);
    if let Some(f) = b.fullconn {
        let _ = writeln!(out, "    fullconn {f}");
    }
    if b.redispatch {
        let _ = writeln!(out, "    option redispatch");
    }
    if b.retry_on != Default::default() {
        let _ = writeln!(out, "    retry-on {}", b.retry_on.keywords());
    }
    if b.allbackups {
        let _ = writeln!(out, "    option allbackups");
    }
    if b.abortonclose {
        let _ = writeln!(out, "    option abortonclose");
    } else if watch {
        let _ = writeln!(out, "    no option abortonclose");
    }
    if let Some(c) = &b.httpchk {
        let _ = writeln!(out, "    option httpchk {}", c.words());
    }
    let _ = writeln!(out, "    timeout connect {}", t(b.timeout_connect));
    let _ = writeln!(out, "    timeout server {}", t(b.timeout_server));
    if let Some(q) = b.timeout_queue {
        let _ = writeln!(out, "    timeout queue {}", t(q));
    }
    if let Some(c) = b.timeout_check {
        let _ = writeln!(out, "    timeout check {}", t(c));
    }
    let defaults = options(&b.default_server);
    if !defaults.is_empty() {
        let _ = writeln!(out, "    default-server{defaults}");
    }
    for s in &b.servers {
        server(out, s, &address(&s.name));
    }
}

/// The effective check settings, in the words of a `server` line (for the
/// UI's explanations).
pub fn describe_checks(p: &CheckParams) -> String {
    format!(
        "inter {} fastinter {} downinter {} rise {} fall {}",
        t(p.inter),
        t(p.fastinter),
        t(p.downinter),
        p.rise,
        p.fall
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_unit() {
        assert_eq!(t(Duration::from_secs(2)), "2s");
        assert_eq!(t(Duration::from_millis(1500)), "1500ms");
        assert_eq!(t(Duration::from_micros(250)), "250us");
    }
}
