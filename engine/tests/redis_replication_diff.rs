//! Differential test of replication: a real primary and a real replica
//! (Debian's `redis-server` 7.0, two processes started by the test on free
//! loopback ports) beside the model's two instances
//! (`engine::redis::Instance`), joined as the cache nodes join them. The
//! same script goes to both pairs; every reply must be identical, and the
//! replication offsets (`INFO replication`'s `master_repl_offset`, which
//! count the bytes of the replication stream) must match where they are
//! comparable.
//!
//! `redis-server` missing is a failure, not a skip: scripts/setup.sh
//! installs it.

#[path = "common/redis_server.rs"]
mod redis_server;

use engine::message::ReplCmd;
use engine::redis::errors;
use engine::redis::replication::{PsyncAnswer, ReplicaLink, ReplicaState};
use engine::redis::{Called, Instance, Outgoing, RedisConfig, Reply};
use engine::rng::Rng;
use redis_server::{info_field, unix_ms, RedisServer, RespClient};
use std::time::{Duration, Instant};

/// The model's pair: a primary and a replica whose stream is delivered at
/// once; the replica acknowledges when asked (`REPLCONF GETACK`), as the
/// real one does besides its once-a-second ACK.
struct Model {
    primary: Instance,
    replica: Instance,
    rng: Rng,
    woff: u64,
}

impl Model {
    fn new() -> Model {
        let mut rng = Rng::stream(77, 1);
        let mut primary = Instance::new(RedisConfig::default(), 1, &mut rng);
        let mut replica = Instance::new(RedisConfig::default(), 2, &mut rng);
        replica.become_replica();
        // The replica's `PSYNC ? -1`: a full synchronisation.
        assert_eq!(primary.repl.psync(0, 0), PsyncAnswer::Full);
        primary.repl.create_backlog(3);
        let offset = primary.repl.master_repl_offset;
        primary.repl.replicas.push(ReplicaLink {
            node: 1,
            conn: 1,
            state: ReplicaState::Online,
            ack_offset: offset,
            ack_time_s: unix_ms() / 1000,
            sent_mark: 0,
        });
        replica.keyspace.load_snapshot(&primary.keyspace.snapshot(), unix_ms());
        replica.repl.reset_to(primary.repl.replid, offset);
        replica.link_up = true;
        Model { primary, replica, rng, woff: 0 }
    }

    fn stream(&mut self, out: Outgoing) {
        for (start, cmd) in out {
            assert_eq!(start, self.replica.repl.master_repl_offset, "the model's stream has no gaps");
            if let Some(ack) = self.replica.apply_from_primary(start, cmd, unix_ms(), &mut self.rng) {
                self.primary.ack(1, 1, ack, unix_ms() / 1000);
            }
        }
    }

    fn on_primary(&mut self, argv: &[Vec<u8>]) -> Reply {
        let mut out = Vec::new();
        let called = self.primary.call(argv, &mut self.woff, unix_ms(), &mut self.rng, &mut out);
        self.stream(out);
        match called {
            Called::Reply(r) => r,
            Called::Blocked { offset, numreplicas, .. } => {
                // `replicationRequestAckFromSlaves`, then the replica's ACK.
                let out = self.primary.repl.feed(ReplCmd::GetAck);
                self.stream(out);
                let acked = self.primary.repl.count_acks(offset);
                assert!(acked >= numreplicas, "the model's replica acknowledged");
                Reply::Integer(i64::from(acked))
            }
        }
    }

    fn on_replica(&mut self, argv: &[Vec<u8>]) -> Reply {
        let mut woff = 0;
        match self.replica.call(argv, &mut woff, unix_ms(), &mut self.rng, &mut Vec::new()) {
            Called::Reply(r) => r,
            blocked => panic!("{blocked:?}"),
        }
    }
}

struct Real {
    _primary_server: RedisServer,
    _replica_server: RedisServer,
    primary: RespClient,
    replica: RespClient,
}

impl Real {
    fn start() -> Real {
        let p = RedisServer::start();
        let r = RedisServer::start();
        let mut primary = p.client();
        let mut replica = r.client();
        // No delay before the RDB, no PING in the stream during the test
        // (the model PINGs on the same schedule; the test is shorter).
        primary.ok(&["CONFIG", "SET", "repl-diskless-sync-delay", "0"]);
        primary.ok(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]);
        replica.ok(&["REPLICAOF", "127.0.0.1", &p.port.to_string()]);
        let mut real = Real { _primary_server: p, _replica_server: r, primary, replica };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = real.replica.info("replication");
            if info_field(&info, "master_link_status").as_deref() == Some("up")
                && info_field(&info, "master_sync_in_progress").as_deref() == Some("0")
            {
                break;
            }
            assert!(Instant::now() < deadline, "the real replica did not sync: {info}");
            std::thread::sleep(Duration::from_millis(20));
        }
        real
    }

    fn offsets(&mut self) -> (u64, u64) {
        (
            self.primary.info_u64("replication", "master_repl_offset"),
            self.replica.info_u64("replication", "master_repl_offset"),
        )
    }

    /// Waits until the replica has processed everything the primary sent.
    fn sync(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (p, r) = self.offsets();
            if p == r {
                return;
            }
            assert!(Instant::now() < deadline, "the real replica is stuck at {r} of {p}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn argv(line: &str) -> Vec<Vec<u8>> {
    line.split_whitespace().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn a_primary_and_a_replica_answer_like_redis() {
    let mut real = Real::start();
    let mut model = Model::new();
    // Offsets right after the full sync: the real primary starts its
    // backlog at the sync; so does the model. Compare growth from here.
    real.sync();
    let (p0, r0) = real.offsets();
    assert_eq!(p0, r0);
    let m0 = model.primary.repl.master_repl_offset;
    let mut failures = Vec::new();
    let script: &[(char, &str, Option<Reply>)] = &[
        ('P', "SET k1 5", Some(Reply::ok())),
        ('P', "INCR k1", Some(Reply::Integer(6))),
        ('P', "EXPIRE k1 100", Some(Reply::Integer(1))),
        ('P', "SET k2 7 PX 60000", Some(Reply::ok())),
        ('P', "SET k3 8", Some(Reply::ok())),
        ('P', "DEL k3", Some(Reply::Integer(1))),
        ('S', "", None),
        ('R', "GET k1", Some(Reply::Bulk(b"6".to_vec()))),
        ('R', "TTL k1", None), // 100, or 99 if half a second passed: checked below
        ('R', "EXISTS k3", Some(Reply::Integer(0))),
        ('R', "SET k9 1", Some(Reply::error(errors::READONLY))),
        ('R', "INCR k1", Some(Reply::error(errors::READONLY))),
        ('R', "EXPIRE k1 5", Some(Reply::error(errors::READONLY))),
        ('R', "WAIT 1 0", Some(Reply::error(errors::WAIT_ON_REPLICA))),
        ('R', "WAIT 1", Some(Reply::Error(errors::wrong_arity("wait")))),
        ('P', "WAIT 1 x", Some(Reply::error(errors::TIMEOUT_NOT_AN_INTEGER))),
        ('P', "WAIT 1 -5", Some(Reply::error(errors::TIMEOUT_NEGATIVE))),
        ('P', "INCR k1", Some(Reply::Integer(7))),
        ('P', "WAIT 1 2000", Some(Reply::Integer(1))),
        ('M', "2", None),
        ('P', "SET k4 1", Some(Reply::error(errors::NOREPLICAS))),
        ('P', "INCR k1", Some(Reply::error(errors::NOREPLICAS))),
        ('P', "DEL k1", Some(Reply::error(errors::NOREPLICAS))),
        ('P', "GET k1", Some(Reply::Bulk(b"7".to_vec()))),
        ('M', "1", None),
        ('P', "SET k4 1", Some(Reply::ok())),
        ('M', "0", None),
        ('P', "PERSIST k1", Some(Reply::Integer(1))),
        ('P', "DECR k4", Some(Reply::Integer(0))),
        ('S', "", None),
        ('R', "TTL k1", Some(Reply::Integer(-1))),
        ('R', "GET k4", Some(Reply::Bulk(b"0".to_vec()))),
        ('R', "PTTL k2", None),
    ];
    let mut getacks = 0;
    for (who, line, want) in script {
        match who {
            'S' => {
                real.sync();
                let (p, r) = real.offsets();
                let (mp, mr) = (model.primary.repl.master_repl_offset, model.replica.repl.master_repl_offset);
                // The real primary may answer a WAIT at once, without a
                // GETACK, if the replica's once-a-second ACK came first.
                let real_growth = p - p0;
                let model_growth = mp - m0;
                let ok = real_growth == model_growth || real_growth + 37 * getacks == model_growth;
                if !ok || p != r || mp != mr {
                    failures.push(format!(
                        "offsets: redis-server primary {p} replica {r} (grew {real_growth}), model primary {mp} replica {mr} (grew {model_growth})"
                    ));
                }
            }
            'M' => {
                real.primary.ok(&["CONFIG", "SET", "min-replicas-to-write", line]);
                model.primary.set_min_replicas(line.parse().unwrap(), 10, unix_ms() / 1000);
            }
            'P' | 'R' => {
                let a = argv(line);
                let (r, m) = if *who == 'P' {
                    (real.primary.call(&a), model.on_primary(&a))
                } else {
                    (real.replica.call(&a), model.on_replica(&a))
                };
                if line.starts_with("WAIT 1 2000") {
                    getacks += 1;
                }
                if *line == "TTL k1" && want.is_none() {
                    // Seconds, rounded: 100 or, on a slow machine, 99.
                    if !(matches!(r, Reply::Integer(99 | 100)) && matches!(m, Reply::Integer(99 | 100))) {
                        failures.push(format!("{line}: redis-server {r:?}, model {m:?}, expected 100 (or 99)"));
                    }
                    continue;
                }
                if line.starts_with("PTTL") {
                    // Milliseconds apart: compare within a margin.
                    let (Reply::Integer(x), Reply::Integer(y)) = (&r, &m) else { panic!("{r:?} {m:?}") };
                    if (x - y).abs() > 100 || *x < 59_000 {
                        failures.push(format!("{line}: redis-server {x}, model {y}"));
                    }
                    continue;
                }
                if r != m || want.as_ref().is_some_and(|w| *w != r) {
                    failures.push(format!("{who} {line}: redis-server {r:?}, model {m:?}, expected {want:?}"));
                }
            }
            _ => unreachable!(),
        }
    }
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
    // The stream was byte for byte the same length.
    assert!(model.primary.repl.master_repl_offset > m0 + 200);
}
