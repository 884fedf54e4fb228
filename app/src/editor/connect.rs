//! Connecting and disconnecting nodes. A connection is a link (the wire)
//! and the configuration that makes the run use it the way the real system
//! does:
//!
//! | connect | what it wires |
//! |---|---|
//! | client – load balancer, server, database, cache, Raft KV node | the client's `target` (a client has one: connecting it elsewhere moves it, and drops the old link) |
//! | load balancer – server | a `server` line in the load balancer's default backend |
//! | server – database | the app server's `handler.database` (a new handler); to a replica of that database: `handler.read_from`; to another database of its group: the link only (announcements after a failover) |
//! | server – cache | the handler's `cache` (cache-aside reads, write-around writes); the server needs a database first |
//! | database – database | the one with no replicas of its own becomes a replica: its `replica_of`, the primary's `replicas`, links to the other replicas |
//! | cache – cache | the same for Redis: `redis.replicaof`, links to every cache of the group, to its sentinels and to the clients following its primary |
//! | sentinel – cache | the sentinel's `monitor` (the cache's primary), links to every cache of the group and every other sentinel; its `quorum` becomes a majority of the sentinels |
//! | sentinel – sentinel | a sentinel that monitors nothing yet joins the other's primary |
//! | Raft KV – Raft KV | a node alone in its group joins the other's: every member's `members`, links to every member |
//! | Kafka controller – controller or broker, broker – broker | a node outside any cluster joins the other's: the controllers' `controllers` and `brokers`, the brokers' `controllers`, links to every controller, broker (and, for a broker, every client of the cluster); a lone controller and a lone broker start a cluster |
//! | Kafka producer or consumer – broker | the broker goes in `bootstrap`; links to every broker of the cluster (a client sends to each partition's leader) |
//!
//! Anything else is refused, saying what the node does connect to.
//! Disconnecting removes the link and these references; where that would
//! break a working scenario it is refused with what to do instead.

use super::palette::entry;
use super::util::{guard, index, link, linked, unlink};
use super::EditError;
use engine::components::Kind;
use engine::scenario::ComponentSpec as C;
use engine::Scenario;

/// What a kind of node connects to, in words.
fn connects_to(kind: Kind) -> &'static str {
    match kind {
        Kind::Client => "a client sends to a load balancer, a server, a database, a cache or a Raft KV node",
        Kind::LoadBalancer => "a load balancer forwards to app servers, and clients send to it",
        Kind::Server => "an app server calls a database and a cache, and load balancers and clients send to it",
        Kind::Cache => "a Redis cache replicates another cache, app servers and clients call it, and sentinels monitor it",
        Kind::Database => "a database replicates another database, and app servers and clients call it",
        Kind::Sentinel => "a Redis Sentinel monitors a Redis cache and talks to the other sentinels",
        Kind::RaftKv => "a Raft KV node replicates with other Raft KV nodes, and clients send to it",
        Kind::KafkaController => "a Kafka controller joins the other controllers and the brokers of its cluster",
        Kind::KafkaBroker => {
            "a Kafka broker joins its cluster's controllers and brokers, and Kafka producers and consumers bootstrap from it"
        }
        Kind::KafkaProducer => "a Kafka producer bootstraps from a Kafka broker",
        Kind::KafkaConsumer => "a Kafka consumer bootstraps from a Kafka broker",
    }
}

fn refuse(a: &str, b: &str, reason: impl Into<String>) -> EditError {
    EditError::Refused { a: a.to_string(), b: b.to_string(), reason: reason.into() }
}

fn kind_of(doc: &Scenario, name: &str) -> Kind {
    doc.nodes[index(doc, name).expect("checked")].component.kind()
}

fn comp<'a>(doc: &'a Scenario, name: &str) -> &'a C {
    &doc.nodes[index(doc, name).expect("checked")].component
}

fn comp_mut<'a>(doc: &'a mut Scenario, name: &str) -> &'a mut C {
    let i = index(doc, name).expect("checked");
    &mut doc.nodes[i].component
}

fn names_of(doc: &Scenario, pred: impl Fn(&C) -> bool) -> Vec<String> {
    doc.nodes.iter().filter(|n| pred(&n.component)).map(|n| n.name.clone()).collect()
}

fn exists_as(doc: &Scenario, name: &str, kind: Kind) -> bool {
    doc.nodes.iter().any(|n| n.name == name && n.component.kind() == kind)
}

/// Connects `a` and `b`: the link, and the configuration that makes the
/// run use it (see the module's table).
pub fn connect(doc: &Scenario, a: &str, b: &str) -> Result<Scenario, EditError> {
    index(doc, a)?;
    index(doc, b)?;
    if a == b {
        return Err(EditError::SelfConnection(a.to_string()));
    }
    let mut out = doc.clone();
    wire(&mut out, a, b)?;
    if out == *doc {
        return Err(EditError::AlreadyConnected(a.to_string(), b.to_string()));
    }
    guard(doc, out, &format!("connect `{a}` to `{b}`"))
}

fn wire(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    use Kind::*;
    match (kind_of(out, a), kind_of(out, b)) {
        (Client, LoadBalancer | Server | Database | Cache | RaftKv) => client_target(out, a, b),
        (LoadBalancer | Server | Database | Cache | RaftKv, Client) => client_target(out, b, a),
        (LoadBalancer, Server) => lb_server(out, a, b),
        (Server, LoadBalancer) => lb_server(out, b, a),
        (Server, Database) => server_database(out, a, b),
        (Database, Server) => server_database(out, b, a),
        (Server, Cache) => server_cache(out, a, b),
        (Cache, Server) => server_cache(out, b, a),
        (Database, Database) => database_replica(out, a, b),
        (Cache, Cache) => cache_replica(out, a, b),
        (Sentinel, Cache) => sentinel_monitor(out, a, b),
        (Cache, Sentinel) => sentinel_monitor(out, b, a),
        (Sentinel, Sentinel) => sentinel_pair(out, a, b),
        (RaftKv, RaftKv) => raft_join(out, a, b),
        (KafkaController | KafkaBroker, KafkaController | KafkaBroker) => kafka_join(out, a, b),
        (KafkaProducer | KafkaConsumer, KafkaBroker) => kafka_bootstrap(out, a, b),
        (KafkaBroker, KafkaProducer | KafkaConsumer) => kafka_bootstrap(out, b, a),
        (ka, kb) => {
            let label = entry(kb).label;
            let other = if ka == kb {
                format!("another {label}")
            } else if label.starts_with(['A', 'E', 'I', 'O', 'U']) {
                format!("an {label}")
            } else {
                format!("a {label}")
            };
            Err(refuse(a, b, format!("{}; not with {other}", connects_to(ka))))
        }
    }
}

// ----- clients, load balancers, app servers ---------------------------------

fn client_target(out: &mut Scenario, client: &str, target: &str) -> Result<(), EditError> {
    let to_cache = kind_of(out, target) == Kind::Cache;
    let C::Client(c) = comp_mut(out, client) else { unreachable!("a client") };
    let old = std::mem::replace(&mut c.target, target.to_string());
    if !to_cache {
        // `wait` and `follow_primary` are for clients of a cache.
        c.wait = None;
        c.follow_primary = false;
    }
    if old != target && !old.is_empty() {
        unlink(out, client, &old);
    }
    link(out, client, target);
    Ok(())
}

fn lb_server(out: &mut Scenario, lb: &str, server: &str) -> Result<(), EditError> {
    let C::LoadBalancer(cfg) = comp_mut(out, lb) else { unreachable!("a load balancer") };
    if !cfg.all_backends().any(|b| b.servers.iter().any(|s| s.name == server)) {
        cfg.servers.push(engine::scenario::from_value(serde_json::json!({ "name": server })).expect("a server line"));
    }
    link(out, lb, server);
    Ok(())
}

/// The primary of database `name`'s replication group.
fn db_primary(doc: &Scenario, name: &str) -> String {
    match comp(doc, name) {
        C::Database(d) => d.replica_of.clone().unwrap_or_else(|| name.to_string()),
        _ => name.to_string(),
    }
}

fn server_database(out: &mut Scenario, server: &str, db: &str) -> Result<(), EditError> {
    let primary = db_primary(out, db);
    let is_replica = primary != db;
    let C::Server(s) = comp(out, server) else { unreachable!("a server") };
    let handler = s.handler.clone();
    let new_handler = match handler {
        None if is_replica => {
            return Err(refuse(
                server,
                db,
                format!("`{db}` is a replica of `{primary}` and refuses writes: connect `{server}` to `{primary}` first, then to `{db}` to read from it"),
            ))
        }
        None => Some(engine::scenario::from_value(serde_json::json!({ "database": db })).expect("a handler")),
        Some(mut h) if h.database != db && db_primary(out, &h.database) == primary => {
            // Another database of the same group: read from a replica; a
            // link to the primary carries its announcements.
            if is_replica && h.read_from.is_none() {
                h.read_from = Some(db.to_string());
            }
            Some(h)
        }
        Some(h) if h.database == db => Some(h),
        Some(h) => {
            return Err(refuse(
                server,
                db,
                format!("`{server}` already writes to `{}`, of another replication group; disconnect them first", h.database),
            ))
        }
    };
    let C::Server(s) = comp_mut(out, server) else { unreachable!("a server") };
    s.handler = new_handler;
    link(out, server, db);
    Ok(())
}

fn server_cache(out: &mut Scenario, server: &str, cache: &str) -> Result<(), EditError> {
    if let C::Cache(c) = comp(out, cache) {
        if let Some(p) = &c.redis.replicaof {
            return Err(refuse(
                server,
                cache,
                format!("`{cache}` is a replica of `{p}` and refuses writes (READONLY): connect `{server}` to `{p}`"),
            ));
        }
    }
    let C::Server(s) = comp_mut(out, server) else { unreachable!("a server") };
    let Some(h) = &mut s.handler else {
        return Err(refuse(
            server,
            cache,
            format!(
                "an app server reads through a cache but writes to a database: connect `{server}` to a database first"
            ),
        ));
    };
    match &h.cache {
        Some(c) if c != cache => {
            return Err(refuse(
                server,
                cache,
                format!("`{server}` already uses the cache `{c}`; disconnect them first"),
            ))
        }
        _ => h.cache = Some(cache.to_string()),
    }
    link(out, server, cache);
    Ok(())
}

// ----- replication groups ---------------------------------------------------

fn database_replica(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    let (C::Database(da), C::Database(db)) = (comp(out, a), comp(out, b)) else { unreachable!("databases") };
    let free =
        |d: &engine::components::database::config::DatabaseConfig| d.replicas.is_empty() && d.replica_of.is_none();
    if db_primary(out, a) == db_primary(out, b) {
        // Two members of one group: they are linked for a failover.
        link(out, a, b);
        return Ok(());
    }
    // The free one joins the other's group, as a replica of its primary.
    let (replica, primary) = if free(da) {
        (a, db_primary(out, b))
    } else if free(db) {
        (b, db_primary(out, a))
    } else {
        return Err(refuse(
            a,
            b,
            "they belong to different replication groups; a database joins a group as a replica of its primary, and only a database without replicas of its own can",
        ));
    };
    if let Some(s) = out
        .nodes
        .iter()
        .find(|n| matches!(&n.component, C::Server(s) if s.handler.as_ref().is_some_and(|h| h.database == replica)))
    {
        return Err(refuse(
            a,
            b,
            format!(
                "`{}` writes to `{replica}`, and a replica refuses writes: disconnect `{}` from `{replica}` first",
                s.name, s.name
            ),
        ));
    }
    let C::Database(p) = comp_mut(out, &primary) else { unreachable!() };
    let others = p.replicas.clone();
    p.replicas.push(replica.to_string());
    let C::Database(r) = comp_mut(out, replica) else { unreachable!() };
    r.replica_of = Some(primary.clone());
    link(out, replica, &primary);
    for o in others {
        link(out, replica, &o);
    }
    Ok(())
}

/// The primary of cache `name`'s replication group.
fn cache_primary(doc: &Scenario, name: &str) -> String {
    match comp(doc, name) {
        C::Cache(c) => c.redis.replicaof.clone().unwrap_or_else(|| name.to_string()),
        _ => name.to_string(),
    }
}

fn cache_group(doc: &Scenario, primary: &str) -> Vec<String> {
    let mut g = vec![primary.to_string()];
    g.extend(names_of(doc, |c| matches!(c, C::Cache(x) if x.redis.replicaof.as_deref() == Some(primary))));
    g
}

fn sentinels_of(doc: &Scenario, primary: &str) -> Vec<String> {
    names_of(doc, |c| matches!(c, C::Sentinel(s) if s.monitor == primary))
}

fn cache_replica(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    let (pa, pb) = (cache_primary(out, a), cache_primary(out, b));
    if pa == pb {
        link(out, a, b);
        return Ok(());
    }
    let free =
        |x: &str| cache_primary(out, x) == x && cache_group(out, x).len() == 1 && sentinels_of(out, x).is_empty();
    let (replica, primary) = if free(a) {
        (a, pb)
    } else if free(b) {
        (b, pa)
    } else {
        return Err(refuse(
            a,
            b,
            "they belong to different replication groups; a cache joins a group as a replica of its primary, and only a cache without replicas or sentinels of its own can",
        ));
    };
    if let Some(s) = out.nodes.iter().find(|n| matches!(&n.component, C::Server(s) if s.handler.as_ref().is_some_and(|h| h.cache.as_deref() == Some(replica)))) {
        return Err(refuse(
            a,
            b,
            format!("`{}` uses `{replica}` as its cache, and a replica refuses writes (READONLY): disconnect `{}` from `{replica}` first", s.name, s.name),
        ));
    }
    let C::Cache(r) = comp_mut(out, replica) else { unreachable!() };
    r.redis.replicaof = Some(primary.clone());
    let group = cache_group(out, &primary);
    let followers = names_of(out, |c| matches!(c, C::Client(x) if x.follow_primary && group.contains(&x.target)));
    for o in group.iter().chain(&sentinels_of(out, &primary)).chain(&followers) {
        link(out, replica, o);
    }
    Ok(())
}

fn sentinel_monitor(out: &mut Scenario, sentinel: &str, cache: &str) -> Result<(), EditError> {
    let primary = cache_primary(out, cache);
    let C::Sentinel(s) = comp(out, sentinel) else { unreachable!("a sentinel") };
    let current = s.monitor.clone();
    let joins = current != primary;
    if joins && exists_as(out, &current, Kind::Cache) {
        return Err(refuse(
            sentinel,
            cache,
            format!("`{sentinel}` already monitors `{current}`; a sentinel here monitors one primary: disconnect them first"),
        ));
    }
    let C::Sentinel(s) = comp_mut(out, sentinel) else { unreachable!() };
    s.monitor = primary.clone();
    let sentinels = sentinels_of(out, &primary);
    for o in cache_group(out, &primary).iter().chain(&sentinels) {
        link(out, sentinel, o);
    }
    if joins {
        // A majority of the sentinels must agree the primary is down, as
        // Redis's documentation recommends.
        let n = sentinels.len() as u32;
        let C::Sentinel(s) = comp_mut(out, sentinel) else { unreachable!() };
        s.quorum = n / 2 + 1;
    }
    Ok(())
}

fn sentinel_pair(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    let monitor = |x: &str| match comp(out, x) {
        C::Sentinel(s) if exists_as(out, &s.monitor, Kind::Cache) => Some(s.monitor.clone()),
        _ => None,
    };
    match (monitor(a), monitor(b)) {
        (Some(ma), Some(mb)) if ma == mb => {
            link(out, a, b);
            Ok(())
        }
        (Some(ma), Some(mb)) => Err(refuse(
            a,
            b,
            format!("`{a}` monitors `{ma}` and `{b}` monitors `{mb}`; sentinels talk only to the sentinels of their own primary"),
        )),
        (Some(m), None) => sentinel_monitor(out, b, &m),
        (None, Some(m)) => sentinel_monitor(out, a, &m),
        (None, None) => Err(refuse(a, b, "neither monitors a Redis primary yet: connect one of them to a cache first")),
    }
}

fn raft_join(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    use engine::components::raft_kv::config::MAX_MEMBERS;
    let members = |x: &str| match comp(out, x) {
        C::RaftKv(r) => r.members.clone(),
        _ => unreachable!("a raft_kv node"),
    };
    let (ma, mb) = (members(a), members(b));
    let alone = |x: &str, m: &[String]| m.iter().all(|n| n == x);
    let (joiner, group) = if ma == mb {
        link(out, a, b);
        return Ok(());
    } else if alone(a, &ma) {
        (a, mb)
    } else if alone(b, &mb) {
        (b, ma)
    } else {
        return Err(refuse(
            a,
            b,
            "they are in different Raft groups; a node joins a group on its own (disconnect it from its group first)",
        ));
    };
    let mut new = group.clone();
    new.push(joiner.to_string());
    if new.len() > MAX_MEMBERS {
        return Err(refuse(a, b, format!("a Raft group has at most {MAX_MEMBERS} members")));
    }
    for m in &new {
        if let C::RaftKv(r) = comp_mut(out, m) {
            r.members = new.clone();
        }
    }
    for m in &group {
        link(out, joiner, m);
    }
    Ok(())
}

// ----- Kafka ----------------------------------------------------------------

/// The controllers of the Kafka cluster node `name` (a controller or a
/// broker) belongs to; `None` for a node not in a cluster yet (a lone
/// controller with no brokers, a broker naming no existing controller).
fn kafka_cluster(doc: &Scenario, name: &str) -> Option<Vec<String>> {
    match comp(doc, name) {
        C::KafkaController(c) if c.brokers.is_empty() && c.controllers.iter().all(|x| x == name) => None,
        C::KafkaController(c) => Some(c.controllers.clone()),
        C::KafkaBroker(b) => doc.kafka_cluster_of(&b.controllers).map(|c| c.controllers.clone()),
        _ => None,
    }
}

fn kafka_join(out: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    match (kafka_cluster(out, a), kafka_cluster(out, b)) {
        (Some(ca), Some(cb)) if ca == cb => {
            link(out, a, b);
            Ok(())
        }
        (Some(_), Some(_)) => Err(refuse(a, b, "they belong to different Kafka clusters")),
        (None, Some(c)) => kafka_enter(out, a, &c, b),
        (Some(c), None) => kafka_enter(out, b, &c, a),
        (None, None) => match (kind_of(out, a), kind_of(out, b)) {
            (Kind::KafkaBroker, Kind::KafkaBroker) => {
                Err(refuse(a, b, "neither belongs to a cluster yet: connect one of them to a Kafka controller first"))
            }
            // A lone controller and a lone node start a cluster.
            (Kind::KafkaController, _) => kafka_found(out, a, b),
            _ => kafka_found(out, b, a),
        },
    }
}

/// Controller `ctl` and node `other` (a controller or a broker) start a
/// cluster with `ctl`'s settings.
fn kafka_found(out: &mut Scenario, ctl: &str, other: &str) -> Result<(), EditError> {
    let C::KafkaController(cfg) = comp(out, ctl) else { unreachable!("a controller") };
    let mut cfg = cfg.clone();
    match kind_of(out, other) {
        Kind::KafkaBroker => {
            cfg.controllers = vec![ctl.to_string()];
            cfg.brokers = vec![other.to_string()];
            let C::KafkaBroker(b) = comp_mut(out, other) else { unreachable!() };
            b.controllers = cfg.controllers.clone();
        }
        _ => {
            cfg.controllers = vec![ctl.to_string(), other.to_string()];
            *comp_mut(out, other) = C::KafkaController(cfg.clone());
        }
    }
    *comp_mut(out, ctl) = C::KafkaController(cfg);
    link(out, ctl, other);
    Ok(())
}

/// Node `x` (a controller or a broker outside any cluster) joins the
/// cluster of `controllers`.
fn kafka_enter(out: &mut Scenario, x: &str, controllers: &[String], other: &str) -> Result<(), EditError> {
    use engine::components::kafka::config::MAX_CONTROLLERS;
    use engine::kafka::metadata::MAX_BROKERS;
    let mut cfg = out.kafka_cluster_of(controllers).expect("a cluster").clone();
    match kind_of(out, x) {
        Kind::KafkaController => {
            if cfg.controllers.len() >= MAX_CONTROLLERS {
                return Err(refuse(x, other, format!("a KRaft quorum has at most {MAX_CONTROLLERS} controllers")));
            }
            cfg.controllers.push(x.to_string());
        }
        _ => {
            if cfg.brokers.len() >= MAX_BROKERS {
                return Err(refuse(x, other, format!("a cluster has at most {MAX_BROKERS} brokers")));
            }
            cfg.brokers.push(x.to_string());
        }
    }
    // Every controller lists the same cluster; every broker the same
    // controllers.
    for c in &cfg.controllers {
        *comp_mut(out, c) = C::KafkaController(cfg.clone());
    }
    for b in &cfg.brokers {
        if let C::KafkaBroker(bc) = comp_mut(out, b) {
            bc.controllers = cfg.controllers.clone();
        }
    }
    for m in cfg.controllers.iter().chain(&cfg.brokers) {
        link(out, x, m);
    }
    if kind_of(out, x) == Kind::KafkaBroker {
        // Clients send to every partition's leader: they reach every broker.
        let clients = names_of(out, |c| match c {
            C::KafkaProducer(p) => p.bootstrap.first().is_some_and(|b| cfg.brokers.contains(b)),
            C::KafkaConsumer(p) => p.bootstrap.first().is_some_and(|b| cfg.brokers.contains(b)),
            _ => false,
        });
        for c in clients {
            link(out, x, &c);
        }
    }
    Ok(())
}

fn bootstrap_mut<'a>(doc: &'a mut Scenario, name: &str) -> &'a mut Vec<String> {
    match comp_mut(doc, name) {
        C::KafkaProducer(p) => &mut p.bootstrap,
        C::KafkaConsumer(c) => &mut c.bootstrap,
        _ => unreachable!("a Kafka client"),
    }
}

fn kafka_bootstrap(out: &mut Scenario, client: &str, broker: &str) -> Result<(), EditError> {
    let Some(controllers) = kafka_cluster(out, broker) else {
        return Err(refuse(
            client,
            broker,
            format!("`{broker}` belongs to no cluster yet: connect it to a Kafka controller first"),
        ));
    };
    let brokers = out.kafka_cluster_of(&controllers).expect("a cluster").brokers.clone();
    let bootstrap = bootstrap_mut(out, client).clone();
    if let Some(first) = bootstrap.iter().find(|b| exists_as(out, b, Kind::KafkaBroker)) {
        if !brokers.contains(first) {
            return Err(refuse(
                client,
                broker,
                format!("`{client}` bootstraps from `{first}`, of another Kafka cluster"),
            ));
        }
    }
    let bs = bootstrap_mut(out, client);
    bs.retain(|b| !b.is_empty());
    if !bs.iter().any(|b| b == broker) {
        bs.push(broker.to_string());
    }
    for b in &brokers {
        link(out, client, b);
    }
    Ok(())
}

// ----- disconnecting ----------------------------------------------------------

/// Whether `a`'s configuration names `b`.
fn names(doc: &Scenario, a: &str, b: &str) -> bool {
    let v = engine::scenario::to_value(comp(doc, a));
    fn any(v: &serde_json::Value, b: &str) -> bool {
        match v {
            serde_json::Value::String(s) => s == b,
            serde_json::Value::Array(x) => x.iter().any(|v| any(v, b)),
            serde_json::Value::Object(m) => m.values().any(|v| any(v, b)),
            _ => false,
        }
    }
    any(&v, b)
}

/// Disconnects `a` and `b`: removes their link, the scheduled faults on
/// it, and the references between them. Refused where a working scenario
/// would break (a client's only target, a sentinel's primary, a Kafka
/// node's cluster), saying what to do instead.
pub fn disconnect(doc: &Scenario, a: &str, b: &str) -> Result<Scenario, EditError> {
    index(doc, a)?;
    index(doc, b)?;
    if a == b {
        return Err(EditError::SelfConnection(a.to_string()));
    }
    if !linked(doc, a, b) && !names(doc, a, b) && !names(doc, b, a) {
        return Err(EditError::NotConnected(a.to_string(), b.to_string()));
    }
    let action = format!("disconnect `{a}` from `{b}`");
    let was_valid = doc.validate().is_ok();
    let breaks = |reason: String| Err(EditError::WouldBreak { action: action.clone(), reason });
    let mut out = doc.clone();
    for (x, y) in [(a, b), (b, a)] {
        match comp(&out, x).clone() {
            C::Client(c) if c.target == y => {
                if was_valid {
                    return breaks(format!(
                        "`{x}` sends only to `{y}`: connect `{x}` to another target (that moves it), or delete it"
                    ));
                }
                let C::Client(c) = comp_mut(&mut out, x) else { unreachable!() };
                c.target.clear();
            }
            C::LoadBalancer(_) => {
                let C::LoadBalancer(lb) = comp_mut(&mut out, x) else { unreachable!() };
                lb.servers.retain(|s| s.name != y);
                for be in &mut lb.backends {
                    be.servers.retain(|s| s.name != y);
                }
            }
            C::Server(_) => {
                let C::Server(s) = comp_mut(&mut out, x) else { unreachable!() };
                super::delete::forget_in_handler(&mut s.handler, y);
            }
            C::Database(_) => {
                let C::Database(d) = comp_mut(&mut out, x) else { unreachable!() };
                d.replicas.retain(|r| r != y);
                if d.replica_of.as_deref() == Some(y) {
                    d.replica_of = None;
                }
            }
            C::Cache(c) if c.redis.replicaof.as_deref() == Some(y) => {
                let C::Cache(c) = comp_mut(&mut out, x) else { unreachable!() };
                c.redis.replicaof = None;
            }
            C::Sentinel(s) if kind_of(&out, y) == Kind::Cache && cache_primary(&out, y) == s.monitor => {
                return breaks(format!(
                    "`{x}` monitors `{}` and must reach every cache of its group: delete `{x}` to stop monitoring",
                    s.monitor
                ));
            }
            C::RaftKv(r) if x == a && r.members.iter().any(|m| m == y) => {
                // `a` leaves its group and forms a group of its own.
                let group = r.members.clone();
                let rest: Vec<String> = group.iter().filter(|m| *m != x).cloned().collect();
                for m in &rest {
                    if let C::RaftKv(o) = comp_mut(&mut out, m) {
                        o.members = rest.clone();
                    }
                    unlink(&mut out, x, m);
                }
                let C::RaftKv(me) = comp_mut(&mut out, x) else { unreachable!() };
                me.members = vec![x.to_string()];
            }
            C::KafkaController(_) | C::KafkaBroker(_) if was_valid => {
                return breaks(format!(
                    "Kafka controllers and brokers of a cluster are all linked to each other: delete `{x}` to take it out of its cluster"
                ));
            }
            C::KafkaProducer(_) | C::KafkaConsumer(_) if was_valid => {
                return breaks(format!(
                    "a Kafka client reaches every broker of its cluster (each partition's leader): change `{x}`'s `bootstrap` in its settings, or delete it"
                ));
            }
            _ => {}
        }
    }
    unlink(&mut out, a, b);
    guard(doc, out, &action)
}

#[cfg(test)]
pub(crate) mod tests;
