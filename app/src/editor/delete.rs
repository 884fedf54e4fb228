//! Deleting a node: the node, its links, the references to it in other
//! nodes' configuration, and the scheduled faults that name it.
//!
//! Per case:
//!
//! | the deleted node is | what happens to the nodes that referred to it |
//! |---|---|
//! | any node a client targets | refused: the client has no other target (connect it elsewhere first, or delete it) |
//! | a server | it leaves every load balancer's server lines; if that empties a backend, the scenario breaks and the deletion is refused |
//! | a database primary with replicas | the standby (its first replica) is promoted, as a failover would: the other replicas follow it, app servers write to it |
//! | another database | replicas become standalone; app servers reading from it read from their database, those writing to it lose their `handler` (they answer by themselves) |
//! | a Redis primary with replicas | its first replica is promoted: the others replicate it, sentinels monitor it, app servers use it |
//! | a Redis primary without replicas that sentinels monitor | refused: delete the sentinels first |
//! | another cache | app servers using it stop using a cache (reads and writes go to the database) |
//! | a sentinel | the others keep monitoring; a `quorum` above the sentinels left is lowered to their number |
//! | a Raft KV node | it leaves its group (every member's `members`), as `etcdctl member remove` |
//! | a Kafka controller | it leaves the quorum; refused for the last one while the cluster has brokers |
//! | a Kafka broker | it leaves the cluster; producers and consumers that bootstrapped from it keep the other brokers (or get the first one left); refused for the last broker, or when a topic's replication factor exceeds the brokers left |
//! | a Kafka producer or consumer, a client, a load balancer | nothing else refers to it |
//!
//! Scheduled faults naming the node are dropped, except partitions, which
//! lose the node from their groups (a partition left with nothing to split
//! is dropped). As every operation, deletion keeps a working scenario
//! working or is refused with the reason.

use super::util::{guard, index, link};
use super::EditError;
use engine::components::server::handler::{HandlerConfig, ReadPath, WritePath};
use engine::fault::Fault;
use engine::scenario::ComponentSpec as C;
use engine::Scenario;

/// Makes an app server's handler forget node `name`: without its database
/// the handler goes (the server answers by itself); without its cache it
/// reads and writes the database only; `read_from` falls back to the
/// database.
pub(crate) fn forget_in_handler(handler: &mut Option<HandlerConfig>, name: &str) {
    let Some(h) = handler else { return };
    if h.database == name {
        *handler = None;
        return;
    }
    if h.read_from.as_deref() == Some(name) {
        h.read_from = None;
    }
    if h.cache.as_deref() == Some(name) {
        h.cache = None;
        if !matches!(h.read, None | Some(ReadPath::Database)) {
            h.read = None;
        }
        if !matches!(h.write, None | Some(WritePath::Database)) {
            h.write = None;
        }
    }
}

fn refuse(name: &str, reason: String) -> EditError {
    EditError::WouldBreak { action: format!("delete `{name}`"), reason }
}

/// Deletes node `name` (see the module's table for what happens to the
/// nodes that referred to it).
pub fn delete_node(doc: &Scenario, name: &str) -> Result<Scenario, EditError> {
    let i = index(doc, name)?;
    if let Some(c) = doc.nodes.iter().find(|n| matches!(&n.component, C::Client(c) if c.target == name)) {
        return Err(refuse(
            name,
            format!("`{}` sends to `{name}`: connect `{}` to another target first, or delete it", c.name, c.name),
        ));
    }
    let mut out = doc.clone();
    match &doc.nodes[i].component {
        C::Server(_) => {
            for n in &mut out.nodes {
                if let C::LoadBalancer(lb) = &mut n.component {
                    let had = !lb.servers.is_empty();
                    lb.servers.retain(|s| s.name != name);
                    for b in &mut lb.backends {
                        b.servers.retain(|s| s.name != name);
                    }
                    if had && lb.servers.is_empty() && lb.backends.is_empty() {
                        return Err(refuse(
                            name,
                            format!(
                                "`{}` forwards only to `{name}`: connect another server to `{}` first, or delete it",
                                n.name, n.name
                            ),
                        ));
                    }
                }
            }
        }
        C::Database(d) => {
            let standby = d.replicas.first().cloned();
            if let Some(p) = &d.replica_of {
                set_db(&mut out, p, |x| x.replicas.retain(|r| r != name));
            }
            if let Some(s) = &standby {
                // A failover: the standby takes over the group.
                let rest: Vec<String> = d.replicas[1..].to_vec();
                set_db(&mut out, s, |x| {
                    x.replica_of = None;
                    x.replicas = rest.clone();
                });
                for r in &rest {
                    set_db(&mut out, r, |x| x.replica_of = Some(s.clone()));
                }
            } else {
                for r in &d.replicas {
                    set_db(&mut out, r, |x| x.replica_of = None);
                }
            }
            retarget_handlers(&mut out, name, standby.as_deref(), |h| &mut h.database);
        }
        C::Cache(c) => {
            let replicas: Vec<String> = doc
                .nodes
                .iter()
                .filter(|n| matches!(&n.component, C::Cache(x) if x.redis.replicaof.as_deref() == Some(name)))
                .map(|n| n.name.clone())
                .collect();
            let sentinels: Vec<String> = doc
                .nodes
                .iter()
                .filter(|n| matches!(&n.component, C::Sentinel(s) if s.monitor == name))
                .map(|n| n.name.clone())
                .collect();
            let successor = if c.redis.replicaof.is_none() { replicas.first().cloned() } else { None };
            match &successor {
                Some(s) => {
                    for n in &mut out.nodes {
                        match &mut n.component {
                            C::Cache(x) if n.name == *s => x.redis.replicaof = None,
                            C::Cache(x) if x.redis.replicaof.as_deref() == Some(name) => {
                                x.redis.replicaof = Some(s.clone())
                            }
                            C::Sentinel(x) if x.monitor == name => x.monitor = s.clone(),
                            _ => {}
                        }
                    }
                }
                None if !sentinels.is_empty() => {
                    return Err(refuse(
                        name,
                        format!(
                            "{} monitor `{name}`, which has no replica to take over: delete the sentinels first",
                            quoted(&sentinels)
                        ),
                    ));
                }
                None => {}
            }
            let servers_using: Vec<String> = doc
                .nodes
                .iter()
                .filter(|n| matches!(&n.component, C::Server(x) if x.handler.as_ref().is_some_and(|h| h.cache.as_deref() == Some(name))))
                .map(|n| n.name.clone())
                .collect();
            for srv in servers_using {
                let i = index(&out, &srv).expect("exists");
                let C::Server(x) = &mut out.nodes[i].component else { unreachable!() };
                match &successor {
                    Some(s) => {
                        x.handler.as_mut().expect("checked").cache = Some(s.clone());
                        link(&mut out, &srv, s);
                    }
                    None => forget_in_handler(&mut x.handler, name),
                }
            }
        }
        C::Sentinel(s) => {
            let left = doc
                .nodes
                .iter()
                .filter(|n| n.name != name && matches!(&n.component, C::Sentinel(x) if x.monitor == s.monitor))
                .count() as u32;
            for n in &mut out.nodes {
                if let C::Sentinel(x) = &mut n.component {
                    if x.monitor == s.monitor && x.quorum > left {
                        x.quorum = left.max(1);
                    }
                }
            }
        }
        C::RaftKv(_) => {
            for n in &mut out.nodes {
                if let C::RaftKv(x) = &mut n.component {
                    x.members.retain(|m| m != name);
                }
            }
        }
        C::KafkaController(c) => {
            if c.controllers.iter().all(|x| x == name) && !c.brokers.is_empty() {
                return Err(refuse(
                    name,
                    format!("`{name}` is the last controller of its cluster: delete its brokers and clients first"),
                ));
            }
            for n in &mut out.nodes {
                match &mut n.component {
                    C::KafkaController(x) => x.controllers.retain(|m| m != name),
                    C::KafkaBroker(x) => x.controllers.retain(|m| m != name),
                    _ => {}
                }
            }
        }
        C::KafkaBroker(b) => {
            if let Some(cluster) = doc.kafka_cluster_of(&b.controllers).filter(|c| c.brokers.iter().any(|x| x == name))
            {
                let left: Vec<String> = cluster.brokers.iter().filter(|x| *x != name).cloned().collect();
                if left.is_empty() {
                    return Err(refuse(
                        name,
                        format!("`{name}` is the last broker of its cluster: delete its controllers and clients first"),
                    ));
                }
                if let Some(t) = cluster.topic_list().iter().find(|t| t.config.replication_factor as usize > left.len())
                {
                    return Err(refuse(
                        name,
                        format!(
                            "the topic `{}` has replication factor {}; without `{name}` the cluster would have {} broker{}: lower replication_factor on the controllers first",
                            t.name,
                            t.config.replication_factor,
                            left.len(),
                            if left.len() == 1 { "" } else { "s" }
                        ),
                    ));
                }
                for n in &mut out.nodes {
                    let bootstrap = match &mut n.component {
                        C::KafkaController(x) => {
                            x.brokers.retain(|m| m != name);
                            continue;
                        }
                        C::KafkaProducer(p) => &mut p.bootstrap,
                        C::KafkaConsumer(p) => &mut p.bootstrap,
                        _ => continue,
                    };
                    if bootstrap.iter().any(|x| x == name) {
                        bootstrap.retain(|x| x != name);
                        if bootstrap.is_empty() {
                            bootstrap.push(left[0].clone());
                        }
                    }
                }
            }
        }
        C::Client(_) | C::LoadBalancer(_) | C::KafkaProducer(_) | C::KafkaConsumer(_) => {}
    }
    out.nodes.remove(index(&out, name).expect("still there"));
    out.links.retain(|l| !l.between.iter().any(|n| n == name));
    out.faults = std::mem::take(&mut out.faults).into_iter().filter_map(|f| forget_in_fault(f, name)).collect();
    guard(doc, out, &format!("delete `{name}`"))
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn set_db(doc: &mut Scenario, name: &str, f: impl FnOnce(&mut engine::components::database::config::DatabaseConfig)) {
    if let Some(n) = doc.nodes.iter_mut().find(|n| n.name == name) {
        if let C::Database(d) = &mut n.component {
            f(d);
        }
    }
}

/// App servers whose `field` (the handler's database) names `name`: to
/// `successor` (linked), or, without one, they forget it.
fn retarget_handlers(
    doc: &mut Scenario,
    name: &str,
    successor: Option<&str>,
    field: impl Fn(&mut HandlerConfig) -> &mut String,
) {
    let servers: Vec<String> = doc
        .nodes
        .iter()
        .filter(|n| matches!(&n.component, C::Server(x) if x.handler.as_ref().is_some_and(|h| h.database == name || h.read_from.as_deref() == Some(name))))
        .map(|n| n.name.clone())
        .collect();
    for srv in servers {
        let i = index(doc, &srv).expect("exists");
        let C::Server(x) = &mut doc.nodes[i].component else { unreachable!() };
        let h = x.handler.as_mut().expect("checked");
        if h.read_from.as_deref() == Some(name) {
            h.read_from = None;
        }
        match successor {
            Some(s) if *field(h) == name => {
                *field(h) = s.to_string();
                if h.read_from.as_deref() == Some(s) {
                    h.read_from = None;
                }
                link(doc, &srv, s);
            }
            _ => forget_in_handler(&mut x.handler, name),
        }
    }
}

/// A scheduled fault without node `name`: partitions lose it from their
/// groups; other faults naming it are dropped (`None`).
fn forget_in_fault(mut f: engine::fault::ScheduledFault, name: &str) -> Option<engine::fault::ScheduledFault> {
    match &mut f.fault {
        Fault::Partition { groups } => {
            for g in groups.iter_mut() {
                g.retain(|n| n != name);
            }
            groups.retain(|g| !g.is_empty());
            (!groups.is_empty()).then_some(f)
        }
        Fault::PartitionOneWay { from, to } => {
            from.retain(|n| n != name);
            to.retain(|n| n != name);
            (!from.is_empty() && !to.is_empty()).then_some(f)
        }
        other => other.resolve(|n| if n == name { Err(()) } else { Ok(()) }).is_ok().then_some(f),
    }
}

#[cfg(test)]
mod tests;
