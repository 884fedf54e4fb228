use super::*;
use crate::editor::palette::{add_node, palette};
use engine::sim::Detail;

/// One node of every kind, complete and wired: the small document every
/// pair is tried on.
pub(crate) fn every_kind() -> Scenario {
    Scenario::from_json(
        r#"{"version":1,"duration":"10s","nodes":[
        {"name":"clients","type":"client","target":"lb","workload":{"kind":"open_loop","rate":50}},
        {"name":"lb","type":"load_balancer","balance":"roundrobin","servers":[{"name":"web1"}]},
        {"name":"web1","type":"server","handler":{"database":"db1","cache":"cache1"}},
        {"name":"db1","type":"database","replicas":["db2"]},
        {"name":"db2","type":"database","replica_of":"db1"},
        {"name":"cache1","type":"cache"},
        {"name":"cache2","type":"cache","redis":{"replicaof":"cache1"}},
        {"name":"sentinel1","type":"sentinel","monitor":"cache1","quorum":1},
        {"name":"kv1","type":"raft_kv","members":["kv1","kv2"]},
        {"name":"kv2","type":"raft_kv","members":["kv1","kv2"]},
        {"name":"ctl1","type":"kafka_controller","controllers":["ctl1"],"brokers":["b1"],"topic":{"name":"events"}},
        {"name":"b1","type":"kafka_broker","controllers":["ctl1"]},
        {"name":"producer1","type":"kafka_producer","bootstrap":["b1"],"load":{"rate":10}},
        {"name":"consumer1","type":"kafka_consumer","bootstrap":["b1"],"group":"g"}],
      "links":[
        {"between":["clients","lb"]},{"between":["lb","web1"]},{"between":["web1","db1"]},{"between":["web1","cache1"]},
        {"between":["db1","db2"]},{"between":["cache1","cache2"]},{"between":["sentinel1","cache1"]},{"between":["sentinel1","cache2"]},
        {"between":["kv1","kv2"]},{"between":["ctl1","b1"]},{"between":["producer1","b1"]},{"between":["consumer1","b1"]}]}"#,
    )
    .unwrap()
}

fn web_tier(servers: usize) -> Scenario {
    // A draft: the load balancer has no server until they are connected.
    let mut doc: Scenario = serde_json::from_str(
        r#"{"version":1,"duration":"10s","nodes":[
          {"name":"clients","type":"client","target":"lb","workload":{"kind":"open_loop","rate":400}},
          {"name":"lb","type":"load_balancer","balance":"roundrobin","servers":[]}],
          "links":[{"between":["clients","lb"]}]}"#,
    )
    .unwrap();
    for _ in 0..servers {
        let (d, name) = add_node(&doc, Kind::Server, [400.0, 200.0]).unwrap();
        doc = connect(&d, "lb", &name).unwrap();
    }
    assert_eq!(doc.validate(), Ok(()));
    doc
}

fn served(sim: &engine::Simulation, name: &str) -> u64 {
    match sim.node_state(sim.node_id(name).unwrap()).detail {
        Detail::Server { served, .. } => served,
        _ => panic!("{name} is not a server"),
    }
}

fn run(doc: &Scenario, secs: u64) -> engine::Simulation {
    let mut sim = engine::Simulation::new(doc).unwrap();
    sim.run_until(engine::Duration::from_secs(secs).as_nanos());
    sim
}

#[test]
fn every_pair_keeps_the_small_document_valid_or_says_why_not() {
    let doc = every_kind();
    let names: Vec<String> = doc.nodes.iter().map(|n| n.name.clone()).collect();
    let mut ok = 0;
    for a in &names {
        for b in &names {
            match connect(&doc, a, b) {
                Ok(d) => {
                    assert_eq!(d.validate(), Ok(()), "connect {a} {b}");
                    assert!(linked(&d, a, b), "connect {a} {b} leaves no link");
                    ok += 1;
                }
                Err(e @ EditError::SelfConnection(_)) => assert_eq!(a, b, "{e}"),
                Err(e) => {
                    assert!(a != b);
                    let text = e.to_string();
                    assert!(text.contains(a.as_str()) || text.contains(b.as_str()), "{text}");
                    assert!(
                        matches!(
                            e,
                            EditError::Refused { .. } | EditError::AlreadyConnected(..) | EditError::WouldBreak { .. }
                        ),
                        "{e:?}"
                    );
                }
            }
            match disconnect(&doc, a, b) {
                Ok(d) => {
                    assert_eq!(d.validate(), Ok(()), "disconnect {a} {b}");
                    assert!(!linked(&d, a, b), "disconnect {a} {b}");
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
    // Some pairs do connect (a server to the load balancer's client, the
    // replicas of one group, ...).
    assert!(ok > 0);
}

#[test]
fn a_new_node_of_every_kind_is_completed_by_its_natural_connection() {
    let doc = every_kind();
    // For each kind, a node of the small document that completes it.
    let partner = |k: Kind| match k {
        Kind::Client => "lb",
        Kind::LoadBalancer => "web1",
        Kind::Server => "lb",
        Kind::Cache => "cache1",
        Kind::Database => "db1",
        Kind::Sentinel => "cache2",
        Kind::RaftKv => "kv2",
        Kind::KafkaController => "b1",
        Kind::KafkaBroker => "ctl1",
        Kind::KafkaProducer => "b1",
        Kind::KafkaConsumer => "b1",
    };
    for e in palette() {
        let (d, name) = add_node(&doc, e.kind, [300.0, 200.0]).unwrap();
        for (x, y) in [(name.as_str(), partner(e.kind)), (partner(e.kind), name.as_str())] {
            let done = connect(&d, x, y).unwrap_or_else(|err| panic!("{}: {err}", e.label));
            assert_eq!(done.validate(), Ok(()), "{} via {x} → {y}", e.label);
            engine::Simulation::new(&done).unwrap();
        }
        // Every other connection of the new node either works or says why.
        for other in doc.nodes.iter().map(|n| n.name.as_str()) {
            match connect(&d, &name, other) {
                Ok(done) => {
                    if e.needs.is_none() {
                        assert_eq!(done.validate(), Ok(()), "{name} → {other}");
                    }
                }
                Err(err) => assert!(err.to_string().contains(&name), "{err}"),
            }
        }
    }
}

#[test]
fn connecting_a_server_to_the_load_balancer_sends_it_requests() {
    let doc = web_tier(3);
    let (d, web4) = add_node(&doc, Kind::Server, [500.0, 300.0]).unwrap();
    assert_eq!(web4, "web4");
    let before = run(&d, 3);
    assert_eq!(served(&before, "web4"), 0, "not connected yet");
    let d = connect(&d, "lb", "web4").unwrap();
    let C::LoadBalancer(lb) = comp(&d, "lb") else { panic!() };
    assert_eq!(lb.servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["web1", "web2", "web3", "web4"]);
    let sim = run(&d, 3);
    for w in ["web1", "web2", "web3", "web4"] {
        assert!(served(&sim, w) > 200, "{w} served {}", served(&sim, w));
    }
    // And disconnecting stops them.
    let d = disconnect(&d, "web4", "lb").unwrap();
    assert!(!linked(&d, "lb", "web4"));
    assert_eq!(served(&run(&d, 3), "web4"), 0);
}

#[test]
fn a_client_has_one_target_and_moves_when_connected_elsewhere() {
    let doc = web_tier(2);
    let d = connect(&doc, "clients", "web2").unwrap();
    let C::Client(c) = comp(&d, "clients") else { panic!() };
    assert_eq!(c.target, "web2");
    assert!(!linked(&d, "clients", "lb"), "the old link goes");
    let sim = run(&d, 2);
    assert_eq!(served(&sim, "web1"), 0);
    assert!(served(&sim, "web2") > 100);
    let e = disconnect(&d, "clients", "web2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot disconnect `clients` from `web2`: `clients` sends only to `web2`: connect `clients` to another target (that moves it), or delete it"
    );
}

#[test]
fn refusals_say_why_in_plain_words() {
    let doc = every_kind();
    assert_eq!(
        connect(&doc, "clients", "b1").unwrap_err().to_string(),
        "cannot connect `clients` to `b1`: a client sends to a load balancer, a server, a database, a cache or a Raft KV node; not with a Kafka broker"
    );
    assert_eq!(connect(&doc, "lb", "lb").unwrap_err().to_string(), "a node cannot connect to itself (`lb`)");
    assert_eq!(connect(&doc, "lb", "web1").unwrap_err().to_string(), "`lb` and `web1` are already connected");
    assert_eq!(connect(&doc, "lb", "nope").unwrap_err().to_string(), "no node is named `nope`");
    assert!(connect(&doc, "lb", "cache1").unwrap_err().to_string().contains("a load balancer forwards to app servers"));
    assert!(connect(&doc, "producer1", "ctl1").unwrap_err().to_string().contains("bootstraps from a Kafka broker"));
    assert_eq!(disconnect(&doc, "lb", "db1").unwrap_err().to_string(), "`lb` and `db1` are not connected");
    // A load balancer's last server.
    let e = disconnect(&doc, "lb", "web1").unwrap_err().to_string();
    assert!(e.starts_with("cannot disconnect `lb` from `web1`: `lb`, servers: "), "{e}");
    // A new app server reads through a cache only once it has a database.
    let (d, web) = add_node(&doc, Kind::Server, [1.0, 1.0]).unwrap();
    let e = connect(&d, &web, "cache1").unwrap_err().to_string();
    assert!(e.contains("connect `web2` to a database first"), "{e}");
    let e = connect(&d, &web, "db2").unwrap_err().to_string();
    assert!(e.contains("`db2` is a replica of `db1` and refuses writes"), "{e}");
}

#[test]
fn app_servers_get_their_database_cache_and_read_replica() {
    let doc = every_kind();
    let (d, web) = add_node(&doc, Kind::Server, [1.0, 1.0]).unwrap();
    let d = connect(&d, &web, "db1").unwrap();
    let d = connect(&d, "cache1", &web).unwrap();
    let d = connect(&d, &web, "db2").unwrap();
    let C::Server(s) = comp(&d, &web) else { panic!() };
    let h = s.handler.as_ref().unwrap();
    assert_eq!(h.database, "db1");
    assert_eq!(h.cache.as_deref(), Some("cache1"));
    assert_eq!(h.read_from.as_deref(), Some("db2"));
    assert_eq!(d.validate(), Ok(()));
    // Disconnecting the cache goes back to the database only.
    let d2 = disconnect(&d, &web, "cache1").unwrap();
    let C::Server(s) = comp(&d2, &web) else { panic!() };
    assert_eq!(s.handler.as_ref().unwrap().cache, None);
    // Disconnecting the database removes the handler.
    let d3 = disconnect(&d2, "db1", &web).unwrap();
    let C::Server(s) = comp(&d3, &web) else { panic!() };
    assert!(s.handler.is_none());
}

#[test]
fn a_database_joins_a_group_as_a_replica() {
    let doc = every_kind();
    let (d, db) = add_node(&doc, Kind::Database, [1.0, 1.0]).unwrap();
    // Either direction: the one without replicas becomes the replica.
    let d = connect(&d, "db1", &db).unwrap();
    let C::Database(p) = comp(&d, "db1") else { panic!() };
    assert_eq!(p.replicas, ["db2", "db3"]);
    let C::Database(r) = comp(&d, "db3") else { panic!() };
    assert_eq!(r.replica_of.as_deref(), Some("db1"));
    assert!(linked(&d, "db3", "db2"), "replicas of one primary are linked");
    // Cut it off again: a standalone database.
    let d = disconnect(&d, &db, "db1").unwrap();
    let C::Database(r) = comp(&d, "db3") else { panic!() };
    assert_eq!(r.replica_of, None);
    // A replica cannot take replicas.
    let (d, db4) = add_node(&doc, Kind::Database, [1.0, 1.0]).unwrap();
    let d = connect(&d, &db4, "db2").unwrap();
    let C::Database(p) = comp(&d, "db1") else { panic!() };
    assert_eq!(p.replicas, ["db2", "db3"], "joined db2's primary's group");
}

#[test]
fn caches_and_sentinels_form_a_group() {
    let doc = every_kind();
    let (d, c3) = add_node(&doc, Kind::Cache, [1.0, 1.0]).unwrap();
    let d = connect(&d, &c3, "cache2").unwrap();
    let C::Cache(c) = comp(&d, &c3) else { panic!() };
    assert_eq!(c.redis.replicaof.as_deref(), Some("cache1"), "the group's primary, not the replica");
    for o in ["cache1", "cache2", "sentinel1"] {
        assert!(linked(&d, &c3, o), "{o}");
    }
    let (d, s2) = add_node(&d, Kind::Sentinel, [1.0, 1.0]).unwrap();
    let d = connect(&d, &s2, "sentinel1").unwrap();
    let C::Sentinel(s) = comp(&d, &s2) else { panic!() };
    assert_eq!((s.monitor.as_str(), s.quorum), ("cache1", 2));
    let (d, s3) = add_node(&d, Kind::Sentinel, [1.0, 1.0]).unwrap();
    let d = connect(&d, "cache1", &s3).unwrap();
    let C::Sentinel(s) = comp(&d, &s3) else { panic!() };
    assert_eq!(s.quorum, 2, "a majority of 3");
    assert_eq!(d.validate(), Ok(()));
    let e = disconnect(&d, &s3, "cache2").unwrap_err().to_string();
    assert!(e.contains("delete `sentinel3` to stop monitoring"), "{e}");
}

#[test]
fn raft_nodes_join_and_leave_a_group() {
    let doc = every_kind();
    let (d, kv3) = add_node(&doc, Kind::RaftKv, [1.0, 1.0]).unwrap();
    let d = connect(&d, "kv1", &kv3).unwrap();
    for m in ["kv1", "kv2", "kv3"] {
        let C::RaftKv(r) = comp(&d, m) else { panic!() };
        assert_eq!(r.members, ["kv1", "kv2", "kv3"], "{m}");
    }
    assert!(linked(&d, "kv2", "kv3"));
    let (d2, c) = add_node(&d, Kind::Client, [1.0, 1.0]).unwrap();
    let d2 = connect(&d2, &c, "kv3").unwrap();
    let sim = run(&d2, 5);
    let ok = sim.history().ops().iter().filter(|o| o.outcome == engine::history::Outcome::Ok).count();
    assert!(ok > 100, "{ok} operations ok through kv3");
    // kv3 leaves: a group of its own again.
    let d = disconnect(&d, &kv3, "kv1").unwrap();
    let C::RaftKv(r) = comp(&d, "kv1") else { panic!() };
    assert_eq!(r.members, ["kv1", "kv2"]);
    let C::RaftKv(r) = comp(&d, &kv3) else { panic!() };
    assert_eq!(r.members, ["kv3"]);
    assert!(!linked(&d, "kv2", &kv3));
}

#[test]
fn kafka_nodes_join_the_cluster_with_every_link() {
    let doc = every_kind();
    let (d, b2) = add_node(&doc, Kind::KafkaBroker, [1.0, 1.0]).unwrap();
    let (d, b3) = add_node(&d, Kind::KafkaBroker, [1.0, 1.0]).unwrap();
    let e = connect(&d, &b2, &b3).unwrap_err().to_string();
    assert!(e.contains("connect one of them to a Kafka controller first"), "{e}");
    let d = connect(&d, &b2, "ctl1").unwrap();
    let d = connect(&d, &b3, &b2).unwrap();
    let (d, ctl2) = add_node(&d, Kind::KafkaController, [1.0, 1.0]).unwrap();
    let d = connect(&d, "b1", &ctl2).unwrap();
    assert_eq!(d.validate(), Ok(()));
    for c in ["ctl1", "ctl2"] {
        let C::KafkaController(x) = comp(&d, c) else { panic!() };
        assert_eq!(x.controllers, ["ctl1", "ctl2"]);
        assert_eq!(x.brokers, ["b1", "b2", "b3"]);
    }
    for b in ["b1", "b2", "b3"] {
        let C::KafkaBroker(x) = comp(&d, b) else { panic!() };
        assert_eq!(x.controllers, ["ctl1", "ctl2"]);
        for o in ["producer1", "consumer1", "ctl1", "ctl2"] {
            assert!(linked(&d, b, o), "{b} – {o}");
        }
    }
    let d = connect(&d, "producer1", "b3").unwrap();
    let C::KafkaProducer(p) = comp(&d, "producer1") else { panic!() };
    assert_eq!(p.bootstrap, ["b1", "b3"]);
    // A new cluster: a lone controller and a lone broker.
    let (d, ctl3) = add_node(&d, Kind::KafkaController, [1.0, 1.0]).unwrap();
    let (d, b4) = add_node(&d, Kind::KafkaBroker, [1.0, 1.0]).unwrap();
    let d = connect(&d, &ctl3, &b4).unwrap();
    assert_eq!(d.validate(), Ok(()));
    let e = connect(&d, &b4, "b1").unwrap_err().to_string();
    assert!(e.contains("different Kafka clusters"), "{e}");
    let e = connect(&d, "producer1", &b4).unwrap_err().to_string();
    assert!(e.contains("of another Kafka cluster"), "{e}");
    let e = disconnect(&d, "b1", "b2").unwrap_err().to_string();
    assert!(e.contains("delete `b1`"), "{e}");
}

#[test]
fn disconnecting_drops_the_faults_on_that_link() {
    let mut doc = web_tier(2);
    doc.faults = serde_json::from_str(
        r#"[{"at":"1s","action":"cut_link","between":["lb","web2"]},{"at":"2s","action":"crash","node":"web2"}]"#,
    )
    .unwrap();
    assert_eq!(doc.validate(), Ok(()));
    let d = disconnect(&doc, "lb", "web2").unwrap();
    assert_eq!(d.faults.len(), 1);
    assert_eq!(d.validate(), Ok(()));
}

#[test]
fn disconnecting_removes_the_faults_scheduled_on_that_link_and_only_those() {
    use engine::fault::{Fault, ScheduledFault};
    let mut doc = every_kind();
    let at = |ms| engine::Duration::from_millis(ms);
    let on = |a: &str, b: &str| [a.to_string(), b.to_string()];
    doc.faults = vec![
        ScheduledFault { at: at(100), fault: Fault::HoldLink { between: on("web1", "db1") } },
        ScheduledFault { at: at(200), fault: Fault::ReleaseLink { between: on("db1", "web1") } },
        ScheduledFault { at: at(300), fault: Fault::CutLink { between: on("web1", "db1") } },
        ScheduledFault { at: at(400), fault: Fault::HoldLink { between: on("lb", "web1") } },
    ];
    let d = disconnect(&doc, "web1", "db1").unwrap();
    assert_eq!(d.faults, vec![ScheduledFault { at: at(400), fault: Fault::HoldLink { between: on("lb", "web1") } }]);
    engine::Simulation::new(&d).expect("the scenario still checks");
}
