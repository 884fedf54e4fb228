use super::*;
use crate::editor::connect::tests::every_kind;
use crate::editor::palette::add_node;
use engine::components::Kind;

fn comp<'a>(doc: &'a Scenario, name: &str) -> &'a C {
    &doc.nodes[index(doc, name).unwrap()].component
}

#[test]
fn every_node_of_the_small_document_is_deleted_or_refused_with_a_reason() {
    let doc = every_kind();
    for n in &doc.nodes {
        match delete_node(&doc, &n.name) {
            Ok(d) => {
                assert_eq!(d.validate(), Ok(()), "delete {}", n.name);
                assert!(d.nodes.iter().all(|x| x.name != n.name));
                assert!(d.links.iter().all(|l| !l.between.contains(&n.name)));
                let text = serde_json::to_string(&d).unwrap();
                assert!(!text.contains(&format!("\"{}\"", n.name)), "{} still named: {text}", n.name);
            }
            Err(e) => assert!(e.to_string().starts_with(&format!("cannot delete `{}`: ", n.name)), "{e}"),
        }
    }
    assert_eq!(
        delete_node(&doc, "lb").unwrap_err().to_string(),
        "cannot delete `lb`: `clients` sends to `lb`: connect `clients` to another target first, or delete it"
    );
    assert_eq!(
        delete_node(&doc, "web1").unwrap_err().to_string(),
        "cannot delete `web1`: `lb` forwards only to `web1`: connect another server to `lb` first, or delete it"
    );
    assert_eq!(delete_node(&doc, "zz").unwrap_err().to_string(), "no node is named `zz`");
}

#[test]
fn deleting_a_server_removes_its_server_line_and_faults() {
    let mut doc = every_kind();
    let (d, web2) = add_node(&doc, Kind::Server, [1.0, 1.0]).unwrap();
    doc = crate::editor::connect::connect(&d, "lb", &web2).unwrap();
    doc.faults = serde_json::from_str(
        r#"[{"at":"1s","action":"crash","node":"web2"},{"at":"2s","action":"partition","groups":[["web2"],["lb","web1"]]},
            {"at":"3s","action":"partition_one_way","from":["web2"],"to":["lb"]}]"#,
    )
    .unwrap();
    assert_eq!(doc.validate(), Ok(()));
    let d = delete_node(&doc, "web2").unwrap();
    let C::LoadBalancer(lb) = comp(&d, "lb") else { panic!() };
    assert_eq!(lb.servers.len(), 1);
    assert_eq!(d.faults.len(), 1, "the crash and the one-way partition go; the partition keeps its other group");
    assert!(serde_json::to_string(&d.faults[0]).unwrap().contains("partition"));
}

#[test]
fn deleting_a_primary_database_promotes_its_standby() {
    let doc = every_kind();
    let (d, db3) = add_node(&doc, Kind::Database, [1.0, 1.0]).unwrap();
    let d = crate::editor::connect::connect(&d, &db3, "db1").unwrap();
    let d = delete_node(&d, "db1").unwrap();
    let C::Database(s) = comp(&d, "db2") else { panic!() };
    assert_eq!((s.replica_of.as_deref(), s.replicas.clone()), (None, vec![db3.clone()]));
    let C::Server(w) = comp(&d, "web1") else { panic!() };
    assert_eq!(w.handler.as_ref().unwrap().database, "db2");
    assert!(crate::editor::util::linked(&d, "web1", "db2"));
    // A database alone: the app server loses its handler.
    let d = delete_node(&doc, "db2").unwrap();
    let d = delete_node(&d, "db1").unwrap();
    let C::Server(w) = comp(&d, "web1") else { panic!() };
    assert!(w.handler.is_none());
}

#[test]
fn deleting_a_redis_primary_promotes_a_replica_or_is_refused_with_sentinels() {
    let doc = every_kind();
    let d = delete_node(&doc, "cache1").unwrap();
    let C::Cache(c) = comp(&d, "cache2") else { panic!() };
    assert_eq!(c.redis.replicaof, None);
    let C::Sentinel(s) = comp(&d, "sentinel1") else { panic!() };
    assert_eq!(s.monitor, "cache2");
    let C::Server(w) = comp(&d, "web1") else { panic!() };
    assert_eq!(w.handler.as_ref().unwrap().cache.as_deref(), Some("cache2"));
    let e = delete_node(&d, "cache2").unwrap_err().to_string();
    assert!(e.contains("`sentinel1` monitor `cache2`, which has no replica to take over"), "{e}");
    let d = delete_node(&d, "sentinel1").unwrap();
    let d = delete_node(&d, "cache2").unwrap();
    let C::Server(w) = comp(&d, "web1") else { panic!() };
    assert_eq!(w.handler.as_ref().unwrap().cache, None);
}

#[test]
fn deleting_raft_and_kafka_members_shrinks_their_groups() {
    let doc = every_kind();
    let d = delete_node(&doc, "kv2").unwrap();
    let C::RaftKv(r) = comp(&d, "kv1") else { panic!() };
    assert_eq!(r.members, ["kv1"]);
    let e = delete_node(&doc, "b1").unwrap_err().to_string();
    assert!(e.contains("last broker"), "{e}");
    let e = delete_node(&doc, "ctl1").unwrap_err().to_string();
    assert!(e.contains("last controller"), "{e}");
    // With a second broker, b1 can go; the clients bootstrap from b2.
    let (d, b2) = add_node(&doc, Kind::KafkaBroker, [1.0, 1.0]).unwrap();
    let d = crate::editor::connect::connect(&d, &b2, "ctl1").unwrap();
    let d = delete_node(&d, "b1").unwrap();
    let C::KafkaProducer(p) = comp(&d, "producer1") else { panic!() };
    assert_eq!(p.bootstrap, ["b2"]);
    let C::KafkaController(c) = comp(&d, "ctl1") else { panic!() };
    assert_eq!(c.brokers, ["b2"]);
}

#[test]
fn a_topic_keeps_enough_brokers_for_its_replication_factor() {
    let doc = crate::editor::templates::load("kafka-rf3").unwrap();
    let e = delete_node(&doc, "b3").unwrap_err().to_string();
    assert!(e.contains("replication factor 3; without `b3` the cluster would have 2 brokers"), "{e}");
}

#[test]
fn deleting_a_sentinel_lowers_a_quorum_above_the_sentinels_left() {
    let doc = every_kind();
    let (d, s2) = add_node(&doc, Kind::Sentinel, [1.0, 1.0]).unwrap();
    let d = crate::editor::connect::connect(&d, &s2, "cache1").unwrap();
    let C::Sentinel(s) = comp(&d, &s2) else { panic!() };
    assert_eq!(s.quorum, 2);
    let d = delete_node(&d, "sentinel1").unwrap();
    let C::Sentinel(s) = comp(&d, &s2) else { panic!() };
    assert_eq!(s.quorum, 1);
}
