//! Differential tests: the engine's balance algorithms and health-check
//! counter against the real HAProxy 2.6 (Debian's package, installed by
//! `scripts/setup.sh`).
//!
//! Each test starts tiny HTTP servers (std::net, one thread each) that answer
//! with their own name, writes a `haproxy.cfg` to a temporary directory and
//! runs `haproxy -f <cfg> -db` on loopback with `nbthread 1`. One frontend
//! routes each request to the backend named in its `x-be` header, so one
//! HAProxy serves many independent backends; each backend's requests are
//! sent one at a time, on a new connection each (`Connection: close`), and
//! the sequence of servers that answered is compared with the engine
//! module's. Backends run in parallel: their state is independent.
//!
//! HAProxy missing is a failure, not a skip.

use engine::components::load_balancer::chash::Chash;
use engine::components::load_balancer::first::First;
use engine::components::load_balancer::fwrr::Fwrr;
use engine::components::load_balancer::hash::{source_hash, uri_hash, HashFunction, HashMethod, HashType, UriOptions};
use engine::components::load_balancer::health::{CheckParams, Health, Transition};
use engine::components::load_balancer::leastconn::{Leastconn, Limits};
use engine::components::load_balancer::map::Map;
use engine::components::load_balancer::random::Random;
use engine::Duration;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration as WallDuration, Instant};

const HAPROXY: &str = "/usr/sbin/haproxy";
/// Every wait on HAProxy or a socket is bounded by this.
const DEADLINE: WallDuration = WallDuration::from_secs(10);

// ---------------------------------------------------------------------------
// Tiny HTTP servers

/// An HTTP server answering every request with `200 OK` and its name as
/// the body. Stopping it closes its listener, so connections are refused.
struct Backend {
    name: String,
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
        let port = listener.local_addr().unwrap().port();
        Backend::serve(name, port, listener)
    }

    fn serve(name: &str, port: u16, listener: TcpListener) -> Backend {
        Backend::serve_with(name, port, listener, answer)
    }

    /// Accepts connections on `listener` and passes each to `handle` with
    /// the server's name, until stopped.
    fn serve_with(
        name: &str,
        port: u16,
        listener: TcpListener,
        handle: impl Fn(TcpStream, &str) + Send + 'static,
    ) -> Backend {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, body) = (stop.clone(), name.to_string());
        let thread = thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    handle(conn, &body);
                }
            }
        });
        Backend { name: name.to_string(), port, stop, thread: Some(thread) }
    }

    /// A backend on a free port that reads each request head on a thread
    /// of its own and passes it, lower-cased, to `handle` with the
    /// connection (so requests can be held at once).
    fn threaded(handle: impl Fn(String, TcpStream) + Send + Sync + 'static) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
        let port = listener.local_addr().unwrap().port();
        let handle = Arc::new(handle);
        Backend::serve_with("s1", port, listener, move |mut conn, _| {
            let handle = handle.clone();
            thread::spawn(move || {
                if let Some(head) = read_head(&mut conn) {
                    handle(head, conn);
                }
            });
        })
    }

    /// Closes the listener: connections are refused from now on.
    fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the blocked accept; the thread then drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            t.join().expect("backend thread");
        }
    }

    /// Listens again on the same port (std sets SO_REUSEADDR).
    fn restart(&mut self) {
        self.stop();
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("rebind a backend");
        *self = Backend::serve(&self.name, self.port, listener);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads one request head (HAProxy sends no body here) and answers.
fn answer(mut conn: TcpStream, name: &str) {
    if read_head(&mut conn).is_some() {
        respond(conn, name);
    }
}

/// One request head, lower-cased; `None` if the connection closes first
/// (a health check connects and closes).
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let _ = conn.set_read_timeout(Some(DEADLINE));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&head).to_ascii_lowercase())
}

/// `200 OK` with `name` as the body, then closes.
fn respond(mut conn: TcpStream, name: &str) {
    let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}", name.len());
    let _ = conn.write_all(response.as_bytes());
    let _ = conn.shutdown(Shutdown::Write);
}

/// An HTTP server that answers every request with `503 Service
/// Unavailable`, or if `hangs`, reads it and never answers (until HAProxy
/// gives up, `timeout server`, and closes).
fn failing_backend(name: &str, hangs: bool) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
    let port = listener.local_addr().unwrap().port();
    Backend::serve_with(name, port, listener, move |mut conn, name| {
        if read_head(&mut conn).is_none() {
            return;
        }
        if hangs {
            let _ = conn.read_to_end(&mut Vec::new());
            return;
        }
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
            name.len()
        );
        let _ = conn.write_all(response.as_bytes());
        let _ = conn.shutdown(Shutdown::Write);
    })
}

/// A backend that dies like a killed process while it holds the first
/// request it reads: its listener and that connection close at once, so
/// HAProxy sees the connection closed unanswered, and later connections
/// are refused. Returns its port.
fn dying_backend() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = read_head(&mut conn);
            // The listener first: a retry must find nothing listening.
            drop(listener);
            drop(conn);
        }
    });
    port
}

// ---------------------------------------------------------------------------
// HAProxy

/// A running HAProxy; killed (and its directory removed) on drop, also when
/// a test panics.
struct HaProxy {
    child: Child,
    dir: PathBuf,
    port: u16,
    /// Lines HAProxy wrote on stdout (its log), as they come.
    lines: Arc<Mutex<Vec<String>>>,
    /// And on stderr (start-up messages; warnings repeating the log).
    errors: Arc<Mutex<Vec<String>>>,
}

fn haproxy_binary() -> &'static str {
    assert!(
        Path::new(HAPROXY).exists(),
        "{HAPROXY} not found: these differential tests need Debian's HAProxy 2.6; run scripts/setup.sh to install it"
    );
    let out = Command::new(HAPROXY).arg("-v").output().expect("run haproxy -v");
    let version = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        version.contains("version 2.6."),
        "these tests compare with HAProxy 2.6 (scripts/setup.sh installs Debian's); found: {version}"
    );
    HAPROXY
}

/// A free loopback port for HAProxy to bind (or, unbound, to refuse).
///
/// Not a port from `bind(0)`: that one is free only until it is released,
/// and the kernel may hand it to a backend of a test running alongside
/// before HAProxy binds it; the readiness check then reaches the backend
/// and the requests meant for HAProxy go to it. These ports come from
/// below Linux's ephemeral range (32768 and up, where `bind(0)`, the
/// backends and HAProxy's own connections take theirs), each at most once
/// per test process, so nothing else here can take one.
fn free_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    // Start where another run of these tests at the same time would not.
    let start = std::process::id() % SPAN;
    for _ in 0..SPAN {
        let port = (LOW + (start + TAKEN.fetch_add(1, Ordering::SeqCst)) % SPAN) as u16;
        // Skip a port some other program holds.
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {LOW} and {}", LOW + SPAN)
}

impl HaProxy {
    /// Starts HAProxy with `global`, `defaults` and a frontend routing on
    /// the `x-be` header (and taking the source address from `x-src` when
    /// present), followed by `backends`; waits until the frontend accepts.
    fn start(global_extra: &str, backends: &str) -> HaProxy {
        let port = free_port();
        let cfg = format!(
            "global\n    nbthread 1\n{global_extra}\
             defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
             frontend fe\n    bind 127.0.0.1:{port}\n\
             \x20   http-request set-src hdr(x-src) if {{ req.hdr(x-src) -m found }}\n\
             \x20   use_backend %[req.hdr(x-be)]\n\n{backends}"
        );
        HaProxy::launch(&cfg, port)
    }

    /// Starts HAProxy on the whole configuration `cfg`, which binds `port`.
    fn launch(cfg: &str, port: u16) -> HaProxy {
        let bin = haproxy_binary();
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "clusterlab-haproxy-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).expect("write haproxy.cfg");
        let mut child = Command::new(bin)
            .arg("-f")
            .arg(&path)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start haproxy");
        let (lines, errors) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for (stream, buf) in [(Box::new(out) as Box<dyn Read + Send>, &lines), (Box::new(err), &errors)] {
            let buf = buf.clone();
            thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    buf.lock().unwrap().push(line);
                }
            });
        }
        let mut h = HaProxy { child, dir, port, lines, errors };
        h.wait_ready(cfg);
        h
    }

    /// Bounded polling until the frontend accepts a connection.
    fn wait_ready(&mut self, cfg: &str) {
        let start = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if TcpStream::connect_timeout(&addr, WallDuration::from_millis(200)).is_ok() {
                return;
            }
            let exited = match self.child.try_wait().ok().flatten() {
                Some(status) => format!("haproxy exited ({status})"),
                None if start.elapsed() > DEADLINE => "haproxy did not listen in time".into(),
                None => {
                    thread::sleep(WallDuration::from_millis(10));
                    continue;
                }
            };
            thread::sleep(WallDuration::from_millis(100));
            panic!("{exited}; it wrote:\n{}\nconfig:\n{cfg}", self.output());
        }
    }

    fn output(&self) -> String {
        format!("{}\n{}", self.errors.lock().unwrap().join("\n"), self.lines.lock().unwrap().join("\n"))
    }

    /// Sends `GET <path>` to backend `be` on a new connection and returns
    /// the answering server's name.
    fn get(&self, be: &str, path: &str, src: Option<IpAddr>) -> String {
        let src = src.map(|a| format!("x-src: {a}\r\n")).unwrap_or_default();
        let (status, body) = self.request("GET", path, &format!("x-be: {be}\r\n{src}"));
        assert_eq!(status, 200, "backend {be}, {path}");
        body
    }

    /// Sends `<method> <path>` with extra header lines on a new connection;
    /// returns the status and the body.
    fn request(&self, method: &str, path: &str, headers: &str) -> (u16, String) {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to haproxy");
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nHost: lab\r\n{headers}Connection: close\r\n\r\n");
        conn.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        conn.read_to_string(&mut resp).expect("read the response");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{method} {path}: {head}"));
        (status, body.to_string())
    }

    /// Sends `GET /` to backend `be` with the header `x-hold: <hold>` on a
    /// thread of its own, which ends when the answer has been read (a
    /// [`HoldingBackend`] holds such a request until released).
    fn send_held(&self, be: &str, hold: &str) -> JoinHandle<()> {
        let port = self.port;
        let req = format!("GET / HTTP/1.1\r\nHost: lab\r\nx-be: {be}\r\nx-hold: {hold}\r\nConnection: close\r\n\r\n");
        thread::spawn(move || {
            let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            conn.write_all(req.as_bytes()).expect("send the held request");
            let _ = conn.read_to_end(&mut Vec::new());
        })
    }

    /// Waits (bounded polling) until a line containing `text` appears after
    /// the first `from` lines; returns its index.
    fn wait_line(&self, from: usize, text: &str) -> usize {
        let start = Instant::now();
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if let Some(i) = lines.iter().skip(from).position(|l| l.contains(text)) {
                    return from + i;
                }
                if start.elapsed() > DEADLINE {
                    drop(lines);
                    panic!("no line with {text:?} from HAProxy; it wrote:\n{}", self.output());
                }
            }
            thread::sleep(WallDuration::from_millis(10));
        }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Cases

#[derive(Clone, Copy)]
enum Algo {
    Roundrobin,
    StaticRr,
    Leastconn,
    First,
    /// `balance uri ...` with `hash-type ...` (config text, engine type).
    Uri(&'static str, &'static str, HashType, UriOptions),
    /// `balance source` with `hash-type ...`.
    Source(&'static str, HashType),
}

struct Case {
    backend: String,
    algo: Algo,
    weights: Vec<u32>,
    backup: Vec<bool>,
    /// Paths for URI hashing, else as many `/` requests as entries.
    paths: Vec<String>,
    sources: Vec<Option<IpAddr>>,
}

impl Case {
    fn new(algo: Algo, weights: &[u32], requests: usize) -> Case {
        let n = weights.len();
        Case {
            backend: String::new(),
            algo,
            weights: weights.to_vec(),
            backup: vec![false; n],
            paths: vec!["/".to_string(); requests],
            sources: vec![None; requests],
        }
    }

    fn config(&self, backends: &[Backend]) -> String {
        let (balance, hash_type) = match self.algo {
            Algo::Roundrobin => ("roundrobin".to_string(), None),
            Algo::StaticRr => ("static-rr".to_string(), None),
            Algo::Leastconn => ("leastconn".to_string(), None),
            Algo::First => ("first".to_string(), None),
            Algo::Uri(args, ht, ..) => (format!("uri{args}"), Some(ht)),
            Algo::Source(ht, _) => ("source".to_string(), Some(ht)),
        };
        let mut s = format!("backend {}\n    balance {balance}\n", self.backend);
        if let Some(ht) = hash_type {
            s += &format!("    hash-type {ht}\n");
        }
        for (i, w) in self.weights.iter().enumerate() {
            let backup = if self.backup[i] { " backup" } else { "" };
            s += &format!("    server s{} 127.0.0.1:{} weight {w}{backup}\n", i + 1, backends[i].port);
        }
        s + "\n"
    }

    /// The engine's answers, as server names.
    fn engine(&self) -> Vec<String> {
        let (w, b) = (&self.weights[..], &self.backup[..]);
        let up = vec![true; w.len()];
        let picks: Vec<usize> = match self.algo {
            Algo::Roundrobin => {
                let mut f = Fwrr::new(w, b, &up, false);
                self.paths.iter().map(|_| f.pick(None, |_| false).unwrap()).collect()
            }
            Algo::StaticRr => {
                let mut m = Map::new(w, b, &up, false);
                self.paths.iter().map(|_| m.pick_rr(None, |_| false).unwrap()).collect()
            }
            Algo::Leastconn => {
                let mut l = Leastconn::new(w, b, &up, false);
                let mut pick = || {
                    let s = l.pick(None, |_| Limits::NONE).unwrap();
                    l.set_inflight(s, 1, 0);
                    l.set_inflight(s, 0, 0);
                    s
                };
                self.paths.iter().map(|_| pick()).collect()
            }
            Algo::First => {
                let f = First::new(w, b, &up, false);
                self.paths.iter().map(|_| f.pick(None, |_| false).unwrap()).collect()
            }
            Algo::Uri(_, _, ht, opts) if ht.method == HashMethod::MapBased => {
                let m = Map::new(w, b, &up, false);
                self.paths
                    .iter()
                    .map(|p| m.pick_hash(uri_hash(&ht, &opts, p.as_bytes(), m.tot_used())).unwrap())
                    .collect()
            }
            Algo::Uri(_, _, ht, opts) => {
                let c = Chash::new(w, b, &up, false);
                self.paths
                    .iter()
                    .map(|p| c.pick(uri_hash(&ht, &opts, p.as_bytes(), c.tot_used()), None).unwrap())
                    .collect()
            }
            Algo::Source(_, ht) => {
                let (m, c) = (Map::new(w, b, &up, false), Chash::new(w, b, &up, false));
                let src = |s: &Option<IpAddr>| s.unwrap_or(IpAddr::from([127, 0, 0, 1]));
                self.sources
                    .iter()
                    .map(|s| match ht.method {
                        HashMethod::MapBased => m.pick_hash(source_hash(&ht, src(s), m.tot_used())).unwrap(),
                        HashMethod::Consistent => c.pick(source_hash(&ht, src(s), c.tot_used()), None).unwrap(),
                    })
                    .collect()
            }
        };
        picks.into_iter().map(|i| format!("s{}", i + 1)).collect()
    }
}

/// Runs every case against one HAProxy; fails listing every backend that differs.
fn run(mut cases: Vec<Case>) {
    let servers = cases.iter().map(|c| c.weights.len()).max().unwrap();
    let backends: Vec<Backend> = (1..=servers).map(|i| Backend::start(&format!("s{i}"))).collect();
    for (i, c) in cases.iter_mut().enumerate() {
        c.backend = format!("b{i}");
    }
    let config: String = cases.iter().map(|c| c.config(&backends)).collect();
    let haproxy = HaProxy::start("", &config);
    let started = Instant::now();
    let results: Vec<Vec<String>> = thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|c| {
                let h = &haproxy;
                scope.spawn(move || {
                    c.paths.iter().zip(&c.sources).map(|(p, s)| h.get(&c.backend, p, *s)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let requests: usize = results.iter().map(Vec::len).sum();
    eprintln!("{requests} requests to {} backends in {:?}", cases.len(), started.elapsed());
    let mut failures = Vec::new();
    for (c, real) in cases.iter().zip(&results) {
        let ours = c.engine();
        if &ours != real {
            let first = ours.iter().zip(real).position(|(a, b)| a != b).unwrap_or(0);
            failures.push(format!(
                "{}: first difference at request {first} ({})\n  haproxy: {}\n  engine:  {}",
                c.config(&backends).lines().take(3).collect::<Vec<_>>().join(" / "),
                c.paths[first],
                real.join(" "),
                ours.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} backends differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Weight sets for the round-robin algorithms, incl. those semantics.md 1.3
/// lists as verified.
const WEIGHT_SETS: &[&[u32]] = &[
    &[1, 1, 1],
    &[3, 2, 1],
    &[5, 1, 1],
    &[4, 3, 2],
    &[10, 7, 3],
    &[1, 2, 3],
    &[2, 2, 1, 1],
    &[7, 5, 3, 1],
    &[256, 1, 1],
    &[13, 8, 5, 2],
    &[6, 4, 2],
    &[3, 1, 4, 1, 5],
    &[1],
];

/// Two rounds of the total weight, at least 60 requests.
fn rounds(weights: &[u32]) -> usize {
    (2 * weights.iter().sum::<u32>() as usize).clamp(60, 600)
}

#[test]
fn roundrobin_sequences_match_haproxy() {
    let mut cases: Vec<Case> = WEIGHT_SETS.iter().map(|w| Case::new(Algo::Roundrobin, w, rounds(w))).collect();
    // Backup servers only: the first one alone (unlike static-rr below).
    let mut backups = Case::new(Algo::Roundrobin, &[2, 3], 20);
    backups.backup = vec![true, true];
    cases.push(backups);
    run(cases);
}

#[test]
fn static_rr_sequences_match_haproxy() {
    let mut cases: Vec<Case> = WEIGHT_SETS.iter().map(|w| Case::new(Algo::StaticRr, w, rounds(w))).collect();
    // Backup servers only: HAProxy's map is as long as the first backup's
    // weight, but its score loop also gives the second backup entries.
    let mut backups = Case::new(Algo::StaticRr, &[2, 3], 20);
    backups.backup = vec![true, true];
    cases.push(backups);
    run(cases);
}

#[test]
fn leastconn_and_first_sequential_match_haproxy() {
    let mut cases: Vec<Case> =
        [&[1, 1, 1][..], &[3, 2, 1], &[1, 5, 10, 2]].iter().map(|w| Case::new(Algo::Leastconn, w, 40)).collect();
    cases.extend([&[3, 2, 1][..], &[1, 9]].iter().map(|w| Case::new(Algo::First, w, 20)));
    for algo in [Algo::Leastconn, Algo::First] {
        let mut backups = Case::new(algo, &[2, 3], 10);
        backups.backup = vec![true, true];
        cases.push(backups);
    }
    run(cases);
}

/// 60 distinct request URIs: paths of several depths, with and without
/// query strings (ignored unless `whole`).
fn uris() -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..60 {
        v.push(match i % 4 {
            0 => format!("/item/{i}"),
            1 => format!("/static/img/{i}.png?v={}", i * 7),
            2 => format!("/api/v{}/users/{i}/orders", i % 3),
            _ => format!("/{i}?q=x&page={i}"),
        });
    }
    v
}

#[test]
fn uri_hash_placement_matches_haproxy() {
    let map = HashType::map_based();
    let cons = HashType::consistent();
    let plain = UriOptions::default();
    let ht = |m, f, a| HashType::new(m, Some(f), a);
    let (mb, ch) = (HashMethod::MapBased, HashMethod::Consistent);
    let mut algos = Vec::new();
    for w in [&[3, 2, 1][..], &[1, 1, 1, 1], &[5, 3, 1], &[2, 7]] {
        algos.push((Algo::Uri("", "map-based", map, plain), w));
        algos.push((Algo::Uri("", "consistent", cons, plain), w));
    }
    // The other functions, modifiers and options, on 3,2,1.
    let w = &[3, 2, 1][..];
    algos.extend([
        (Algo::Uri("", "map-based djb2", ht(mb, HashFunction::Djb2, false), plain), w),
        (Algo::Uri("", "map-based wt6", ht(mb, HashFunction::Wt6, false), plain), w),
        (Algo::Uri("", "map-based crc32", ht(mb, HashFunction::Crc32, false), plain), w),
        (Algo::Uri("", "map-based sdbm avalanche", ht(mb, HashFunction::Sdbm, true), plain), w),
        (Algo::Uri("", "consistent sdbm", ht(ch, HashFunction::Sdbm, false), plain), w),
        (Algo::Uri("", "consistent djb2 avalanche", ht(ch, HashFunction::Djb2, true), plain), w),
        (Algo::Uri("", "consistent wt6", ht(ch, HashFunction::Wt6, false), plain), w),
        (Algo::Uri("", "consistent crc32", ht(ch, HashFunction::Crc32, false), plain), w),
        (Algo::Uri(" whole", "map-based", map, UriOptions { whole: true, ..plain }), w),
        (Algo::Uri(" depth 2", "map-based", map, UriOptions { depth: 2, ..plain }), w),
        (Algo::Uri(" len 9", "consistent", cons, UriOptions { len: 9, ..plain }), w),
        (Algo::Uri(" len 12 depth 3", "map-based", map, UriOptions { len: 12, depth: 3, ..plain }), w),
    ]);
    run(algos
        .into_iter()
        .map(|(a, w)| {
            let mut c = Case::new(a, w, 0);
            c.paths = uris();
            c.sources = vec![None; c.paths.len()];
            c
        })
        .collect());
}

#[test]
fn source_hash_placement_matches_haproxy() {
    let mut sources: Vec<IpAddr> =
        (0..40u32).map(|i| IpAddr::from((0x0a00_0000 + i * 0x0001_0203).to_be_bytes())).collect();
    sources.extend(
        ["127.0.0.1", "192.168.1.20", "2001:db8::1", "2001:db8:0:1::42", "::1", "fe80::1:2:3:4"]
            .map(|s| s.parse::<IpAddr>().unwrap()),
    );
    let mut cases = Vec::new();
    for w in [&[3, 2, 1][..], &[1, 1, 1, 1], &[5, 3, 1]] {
        for (cfg, ht) in [("map-based", HashType::map_based()), ("consistent", HashType::consistent())] {
            let mut c = Case::new(Algo::Source(cfg, ht), w, sources.len());
            c.sources = sources.iter().map(|&s| Some(s)).collect();
            cases.push(c);
        }
    }
    // semantics.md 1.3: the client's own 127.0.0.1, map-based, 3,2,1 -> s3.
    let local = Case::new(Algo::Source("map-based", HashType::map_based()), &[3, 2, 1], 5);
    assert_eq!(local.engine(), ["s3"; 5]);
    cases.push(local);
    run(cases);
}

// ---------------------------------------------------------------------------
// Health checks

/// A "Health check for server <server> failed|succeeded ..., status: 2/3
/// UP." line, `server` as `backend/name`: (succeeded, status).
fn check_line(line: &str, server: &str) -> Option<(bool, String)> {
    let rest = line.split(&format!("Health check for server {server} ")).nth(1)?;
    let ok = rest.starts_with("succeeded");
    let status = rest.rsplit("status: ").next()?.trim_end_matches('.').to_string();
    Some((ok, status))
}

/// HAProxy with `check inter 200 rise 2 fall 3` against a server that is
/// first refusing, then up, down and up again. Every logged check result
/// is fed to the engine's `Health`: its counter must read as HAProxy's
/// after each, and the server must go DOWN and UP on the same checks.
#[test]
fn health_check_transitions_match_haproxy() {
    let mut server = Backend::start("s1");
    let port = server.port;
    server.stop();
    let backend = format!(
        "backend be\n    option log-health-checks\n    server s1 127.0.0.1:{port} check inter 200 rise 2 fall 3\n"
    );
    let haproxy = HaProxy::start("    log stdout format raw local0\n", &backend);
    // Refused from the start: one failure takes the fresh server DOWN.
    let l1 = haproxy.wait_line(0, "Server be/s1 is DOWN");
    server.restart();
    let l2 = haproxy.wait_line(l1, "Server be/s1 is UP");
    server.stop();
    let l3 = haproxy.wait_line(l2, "Server be/s1 is DOWN");
    server.restart();
    let l4 = haproxy.wait_line(l3, "Server be/s1 is UP");
    let lines: Vec<String> = haproxy.lines.lock().unwrap()[..=l4].to_vec();
    drop(haproxy);

    let params = CheckParams {
        inter: Duration::from_millis(200),
        fastinter: Duration::from_millis(200),
        downinter: Duration::from_millis(200),
        rise: 2,
        fall: 3,
    };
    let mut health = Health::new(params);
    // For each transition: the number of checks since the previous one.
    let mut checks = 0;
    let mut transitions = Vec::new();
    let mut pending: Option<Transition> = None;
    for line in &lines {
        if let Some((ok, status)) = check_line(line, "be/s1") {
            assert!(
                pending.is_none(),
                "the engine changed state ({pending:?}) where HAProxy did not:\n{}",
                lines.join("\n")
            );
            checks += 1;
            let t = if ok { health.success() } else { health.failure() };
            assert_eq!(health.describe(), status, "after {line:?}");
            if t != Transition::Unchanged {
                transitions.push((t, checks));
                checks = 0;
                pending = Some(t);
            }
        } else if line.contains("Server be/s1 is DOWN") {
            assert_eq!(pending.take(), Some(Transition::WentDown), "{line}");
        } else if line.contains("Server be/s1 is UP") {
            assert_eq!(pending.take(), Some(Transition::WentUp), "{line}");
        }
    }
    assert_eq!(pending, None);
    // DOWN on the 1st failure of a fresh server, UP on the 2nd success,
    // DOWN on the 3rd failure once fully UP, UP again on the 2nd success.
    assert_eq!(
        transitions,
        [(Transition::WentDown, 1), (Transition::WentUp, 2), (Transition::WentDown, 3), (Transition::WentUp, 2)],
        "HAProxy's log:\n{}",
        lines.join("\n")
    );
}

/// The engine's rendering of load balancer `lb` for a local HAProxy: its
/// frontend bound to 127.0.0.1:`port`, each server at
/// 127.0.0.1:`server_port(name)` with its options kept, and
/// `global_extra` and `frontend_extra` lines added after `global` and
/// after the bind line.
fn local_cfg(
    sim: &engine::Simulation,
    lb: engine::message::NodeId,
    port: u16,
    server_port: impl Fn(&str) -> u16,
    global_extra: &str,
    frontend_extra: &str,
) -> String {
    sim.haproxy_cfg(lb)
        .unwrap()
        .lines()
        .map(|l| match l.strip_prefix("    server ").and_then(|r| r.split_once(' ')) {
            Some((name, rest)) => {
                let options = rest.split_once(' ').map_or("", |(_, o)| o);
                format!("    server {name} 127.0.0.1:{} {options}\n", server_port(name))
            }
            None if l == "global" => format!("global\n{global_extra}"),
            None if l == "    bind :80" => format!("    bind 127.0.0.1:{port}\n{frontend_extra}"),
            None => format!("{l}\n"),
        })
        .collect()
}

/// The real HAProxy on the engine's rendering of load balancer `lb`, every
/// server at 127.0.0.1:`server_port`, logging each request as `request
/// <log_format>` (which should hold `%Ta`: without a field known only at
/// the end, HAProxy logs at the request). Returns it and the config.
fn launch_logged(sim: &engine::Simulation, server_port: u16, log_format: &str) -> (HaProxy, String) {
    let port = free_port();
    let (global, frontend) = log_lines(log_format);
    let cfg = local_cfg(sim, sim.node_id("lb").unwrap(), port, |_| server_port, &global, &frontend);
    (HaProxy::launch(&cfg, port), cfg)
}

/// The `global` and frontend lines that log each request as `request
/// <log_format>` on HAProxy's stdout.
fn log_lines(log_format: &str) -> (String, String) {
    (
        "    log stdout format raw local0\n".to_string(),
        format!("    log global\n    log-format \"request {log_format}\"\n    option dontlognull\n"),
    )
}

/// Layer-7 routing: the engine's rendering of a load balancer with ACLs,
/// `use_backend` rules and named backends runs in the real HAProxy, and
/// for every (method, path) pair the backend that answers is the one the
/// engine's rules pick; without a default backend, unrouted requests get
/// HAProxy's 503.
#[test]
fn acl_routing_matches_haproxy() {
    use engine::components::load_balancer::acl::Sample;
    use engine::components::load_balancer::config::LoadBalancerConfig;
    use engine::components::load_balancer::render::haproxy_cfg;

    let config = |default_servers: serde_json::Value| -> LoadBalancerConfig {
        let named =
            |name: &str| serde_json::json!({ "name": name, "balance": "roundrobin", "servers": [ { "name": name } ] });
        let c: LoadBalancerConfig = serde_json::from_value(serde_json::json!({
            "balance": "roundrobin",
            "servers": default_servers,
            "acl": [
                "is_api path_beg /api/ /v1/",
                "is_img path_end -i .png .jpg",
                "is_img path_beg /images/",
                "is_admin path_dir admin",
                "has_v2 path_sub v2",
                "exact path /health",
                "is_put method PUT",
                "is_get method GET",
                "is_api_ci path_beg -i /API"
            ],
            "use_backend": [
                "health if exact",
                "writes if is_put !is_api",
                "api if is_api or has_v2",
                "images if is_img METH_GET",
                "admin if { path_beg -i /Admin } || is_admin",
                "legacy if is_api_ci !is_get",
                "writes unless is_get || METH_POST"
            ],
            "backends": [ named("health"), named("writes"), named("api"), named("images"), named("admin"), named("legacy") ]
        }))
        .expect("a valid config");
        c.validate().expect("valid");
        c
    };
    let paths = [
        "/",
        "/api",
        "/api/",
        "/api/users?id=1",
        "/API/users",
        "/apix",
        "/v1/x",
        "/v1",
        "/img/a.png",
        "/img/A.PNG",
        "/img/a.png?x=.jpg",
        "/a.jpg",
        "/a.jpg/",
        "/admin",
        "/admin/",
        "/x/admin/y",
        "/x/admin?y",
        "/administrator",
        "/Admin/x",
        "/v2",
        "/foo?v2",
        "/foo/v2/bar",
        "/health",
        "/health/",
        "/health?x=1",
        "/static/app.css",
        "//admin",
        "/api%2Fv2",
        "/a//b/admin",
        "/ADMIN",
        "/apI/x",
        "/images/x.gif",
    ];
    let methods = ["GET", "PUT", "POST", "DELETE"];
    let names = ["default", "health", "writes", "api", "images", "admin", "legacy"];
    let servers: Vec<Backend> = names.iter().map(|n| Backend::start(n)).collect();
    let address = |name: &str| format!("127.0.0.1:{}", servers[names.iter().position(|n| *n == name).unwrap()].port);

    for (with_default, defaults) in [(true, serde_json::json!([{ "name": "default" }])), (false, serde_json::json!([]))]
    {
        let config = config(defaults);
        let port = free_port();
        let cfg =
            haproxy_cfg("lb", &config, address).replace("    bind :80\n", &format!("    bind 127.0.0.1:{port}\n"));
        let haproxy = HaProxy::launch(&cfg, port);
        let mut failures = Vec::new();
        let mut routed = [0usize; 7];
        for method in methods {
            for path in paths {
                let backend = config.backend_for(&Sample { method, uri: path });
                let ours = match (backend, with_default) {
                    (0, false) => "503".to_string(),
                    (i, _) => names[i].to_string(),
                };
                let (status, body) = haproxy.request(method, path, "");
                let real = if status == 200 { body } else { status.to_string() };
                routed[backend] += 1;
                if ours != real {
                    failures.push(format!("{method} {path}: haproxy {real}, engine {ours}"));
                }
            }
        }
        assert!(failures.is_empty(), "{} differ:\n{}\nconfig:\n{cfg}", failures.len(), failures.join("\n"));
        // The cases reach every backend, so every rule is exercised.
        assert!(routed.iter().all(|&n| n > 0), "{routed:?}");
    }
}

/// The whole route of docs/comparing-with-real-programs.md: a scenario's
/// scripted requests run in the engine, and the server sequence read off
/// its trace equals the one the real HAProxy gives the same requests, sent
/// one at a time to the engine's own rendering of the load balancer.
#[test]
fn a_scripted_run_routes_like_haproxy() {
    use engine::message::{Message, Op};
    use engine::trace::What;

    let paths = ["/api/orders", "/static/app.js", "/static/logo.png", "/account"];
    // 120 requests 50 ms apart, mixing paths and methods.
    let requests: Vec<serde_json::Value> = (0..120)
        .map(|i| {
            let at = format!("{}ms", 10 + 50 * i);
            let path = paths[(i * 7 + i / 5) % paths.len()];
            if i % 3 == 1 {
                serde_json::json!({ "at": at, "write": i, "value": i, "path": path })
            } else {
                serde_json::json!({ "at": at, "read": i, "path": path })
            }
        })
        .collect();
    let server = |name: &str| serde_json::json!({ "name": name, "type": "server", "service_time": "1ms" });
    let names = ["web1", "web2", "api1", "api2", "api3", "st1", "st2", "w1"];
    let links: Vec<serde_json::Value> = names
        .iter()
        .map(|s| serde_json::json!({ "between": ["lb", s] }))
        .chain([serde_json::json!({ "between": ["c", "lb"] })])
        .collect();
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "1s",
              "paths": paths.iter().map(|p| serde_json::json!({ "path": p })).collect::<Vec<_>>(),
              "workload": { "kind": "script", "requests": requests } },
            { "name": "lb", "type": "load_balancer",
              "acl": [ "is_api path_beg /api/", "is_static path_beg /static/", "is_write method PUT" ],
              "use_backend": [ "writes if is_write !is_api", "api if is_api", "static if is_static" ],
              "balance": "roundrobin",
              "servers": [ { "name": "web1" }, { "name": "web2", "weight": 3 } ],
              "backends": [
                  { "name": "api", "balance": "roundrobin", "servers": [ { "name": "api1", "weight": 2 }, { "name": "api2" }, { "name": "api3", "weight": 4 } ] },
                  { "name": "static", "balance": "static-rr", "servers": [ { "name": "st1" }, { "name": "st2", "weight": 2 } ] },
                  { "name": "writes", "balance": "first", "servers": [ { "name": "w1" }, { "name": "web1" } ] }
              ] },
            server("web1"), server("web2"), server("api1"), server("api2"), server("api3"),
            server("st1"), server("st2"), server("w1")
        ],
        "links": links
    });
    let scenario = engine::Scenario::from_value(scenario).expect("valid");
    let mut sim = engine::Simulation::new(&scenario).unwrap();
    sim.run_until(7_000_000_000);
    let lb = sim.node_id("lb").unwrap();
    // The engine: which server got each request, in order (docs' jq line).
    let ours: Vec<(String, &str, String)> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { from, to, msg: Message::Request(r), .. } if *from == lb => {
                let method = if matches!(r.op, Op::Write { .. }) { "PUT" } else { "GET" };
                Some((sim.node_name(*to).to_string(), method, sim.path(r.path).to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(ours.len(), 120, "every scripted request reached a server");

    // The real HAProxy, on the engine's rendering with local addresses.
    let servers: Vec<Backend> = names.iter().map(|n| Backend::start(n)).collect();
    let port = free_port();
    let server_port = |name: &str| servers[names.iter().position(|n| *n == name).unwrap()].port;
    let cfg = local_cfg(&sim, lb, port, server_port, "", "");
    let haproxy = HaProxy::launch(&cfg, port);
    let real: Vec<String> = ours
        .iter()
        .map(|(_, method, path)| {
            let (status, body) = haproxy.request(method, path, "");
            assert_eq!(status, 200, "{method} {path}");
            body
        })
        .collect();
    let ours: Vec<&str> = ours.iter().map(|(s, ..)| s.as_str()).collect();
    assert_eq!(ours, real, "config:\n{cfg}");
}

/// One request for `path` through the real HAProxy running the engine's
/// rendering of `lb` (servers at `server_port`), which logs it as
/// `request %s %ST %rc %Ta`: the server last tried, the status, the
/// retries and the total time in ms. Returns them, with the log line and
/// the configuration for messages.
fn logged_request(
    sim: &engine::Simulation,
    method: &str,
    path: &str,
    server_port: impl Fn(&str) -> u16,
) -> ((String, u16, u32, u64), String, String) {
    let port = free_port();
    let lb = sim.node_id("lb").unwrap();
    let cfg = local_cfg(
        sim,
        lb,
        port,
        server_port,
        "    log stdout format raw local0\n",
        "    log global\n    log-format \"request %s %ST %rc %Ta\"\n    option dontlognull\n",
    );
    let haproxy = HaProxy::launch(&cfg, port);
    let (status, _) = haproxy.request(method, path, "");
    let logged = haproxy.wait_line(0, "request ");
    let line = haproxy.lines.lock().unwrap()[logged].clone();
    let words: Vec<&str> = line.split_whitespace().collect();
    let real = (
        words[1].to_string(),
        words[2].parse::<u16>().unwrap(),
        words[3].trim_start_matches('+').parse::<u32>().unwrap(),
        words[4].parse::<u64>().unwrap(),
    );
    assert_eq!(real.1, status, "{line}");
    (real, line, cfg)
}

/// One request through a load balancer (`retries 3`, `timeout connect
/// 300ms`) to `servers`, of which `s1` has crashed (its host refuses), in
/// the engine. `balance` may name a `hash_type` after a space. Returns the run (for its rendering) and what HAProxy would
/// log: the server last tried, the status, the retries, and the time to
/// the answer in ms.
fn one_refused_request(
    balance: &str,
    redispatch: bool,
    servers: &[&str],
    path: &str,
) -> (engine::Simulation, (String, u16, u32, u64)) {
    use engine::message::Message;
    use engine::trace::{Note, What};
    let server = |name: &str| serde_json::json!({ "name": name, "type": "server", "service_time": "1ms" });
    let link = |a: &str, b: &str| serde_json::json!({ "between": [a, b], "latency": "10us" });
    let (balance, hash_type) = balance.split_once(' ').unwrap_or((balance, "map-based"));
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "10s", "paths": [ { "path": path } ],
              "workload": { "kind": "script", "requests": [ { "at": "100ms", "read": 1, "path": path } ] } },
            { "name": "lb", "type": "load_balancer", "balance": balance, "hash_type": hash_type,
              "servers": servers.iter().map(|s| serde_json::json!({ "name": s })).collect::<Vec<_>>(),
              "retries": 3, "redispatch": redispatch, "timeout_connect": "300ms", "timeout_server": "5s" },
            server("s1"), server("s2")
        ],
        "links": [ link("c", "lb"), link("lb", "s1"), link("lb", "s2") ],
        "faults": [ { "at": "10ms", "action": "crash", "node": "s1" } ]
    });
    let scenario = engine::Scenario::from_value(scenario).expect("valid");
    let mut sim = engine::Simulation::new(&scenario).unwrap();
    sim.run_until(5_000_000_000);
    let (c, lb) = (sim.node_id("c").unwrap(), sim.node_id("lb").unwrap());
    let (mut retries, mut server, mut answer) = (0, String::new(), None);
    for e in sim.trace().events() {
        match &e.what {
            What::Note { note: Note::Retried { server: s, .. }, .. } => {
                retries += 1;
                server = sim.node_name(*s).to_string();
            }
            What::Deliver { from, to, msg: Message::Response(_), .. } if *to == lb => {
                server = sim.node_name(*from).to_string();
            }
            What::Deliver { to, msg: Message::Response(r), .. } if *to == c => answer = Some((r.status, e.time)),
            _ => {}
        }
    }
    let (status, at) = answer.expect("the client got an answer");
    (sim, (server, status.code(), retries, (at - 100_000_000) / 1_000_000))
}

/// After a refused connection: where the retry goes, and whether HAProxy
/// pauses first (`stream_choose_redispatch`, `back_handle_st_cer`). In
/// each case the engine's rendering of the load balancer runs in the real
/// HAProxy, with nothing listening on `s1`'s port, which logs the server
/// last tried, the status, the retries and the request's total time. The
/// engine must give the same server, status and retries, and the same
/// number of 300 ms pauses.
#[test]
fn refused_connections_are_retried_and_paused_like_haproxy() {
    const PAUSE_MS: u64 = 300;
    let pauses = |ms: u64| (ms + PAUSE_MS / 2) / PAUSE_MS;
    /// Balance, redispatch, servers, and what should be logged: server,
    /// status, retries, pauses.
    type Case<'a> = (&'a str, bool, &'a [&'a str], (&'a str, u16, u32, u64));
    let cases: [Case; 8] = [
        // Not a hash, two active servers: elsewhere at once.
        ("roundrobin", true, &["s1", "s2"], ("s2", 200, 1, 0)),
        ("static-rr", true, &["s1", "s2"], ("s2", 200, 1, 0)),
        ("leastconn", true, &["s1", "s2"], ("s2", 200, 1, 0)),
        ("first", true, &["s1", "s2"], ("s2", 200, 1, 0)),
        // A hash keeps to its server, pausing, until the last retry, which
        // goes through selection again at once: a consistent hash then
        // avoids the server that refused, a map-based one picks it again.
        ("uri consistent", true, &["s1", "s2"], ("s2", 200, 3, 2)),
        ("uri", true, &["s1", "s2"], ("s1", 503, 3, 2)),
        // No redispatch: four attempts on s1, three pauses, then 503.
        ("roundrobin", false, &["s1", "s2"], ("s1", 503, 3, 3)),
        // One active server: nowhere else to go, so every retry pauses.
        ("roundrobin", true, &["s1"], ("s1", 503, 3, 3)),
    ];
    let live = Backend::start("s2");
    let dead_port = free_port();
    for (balance, redispatch, servers, expected) in cases {
        let case = format!("balance {balance}, redispatch {redispatch}, servers {servers:?}");
        // A path the balancer sends to s1 first (a hash may not).
        let (path, sim, ours) = (0..20)
            .map(|i| format!("/{i}"))
            .map(|path| {
                let (sim, ours) = one_refused_request(balance, redispatch, servers, &path);
                (path, sim, ours)
            })
            .find(|(.., ours)| ours.2 > 0)
            .unwrap_or_else(|| panic!("{case}: no path goes to s1 first"));
        let ours = (ours.0.as_str(), ours.1, ours.2, pauses(ours.3));
        assert_eq!(ours, expected, "the engine, {case}");

        // The real HAProxy on the engine's rendering, logging the request.
        let server_port = |name: &str| if name == "s1" { dead_port } else { live.port };
        let ((server, status, retries, ms), line, cfg) = logged_request(&sim, "GET", &path, server_port);
        let real = (server.as_str(), status, retries, pauses(ms));
        assert_eq!(real, ours, "HAProxy ({line}) against the engine, {case}, path {path}; config:\n{cfg}");
    }
}

// ---------------------------------------------------------------------------
// balance random: the power of random choices, compared in distribution

/// An HTTP server that holds each request with an `x-hold` header until
/// the end of the test and answers the others at once with its name, one
/// thread per connection.
struct HoldingBackend {
    port: u16,
    /// Requests held now.
    held: Arc<AtomicU64>,
    release: Arc<(Mutex<bool>, std::sync::Condvar)>,
    /// Stops listening when dropped, after the held requests are released.
    _backend: Backend,
}

impl HoldingBackend {
    fn start(name: &str) -> HoldingBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend");
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(AtomicU64::new(0));
        let release = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let (h, r) = (held.clone(), release.clone());
        let backend = Backend::serve_with(name, port, listener, move |mut conn, name| {
            let (held, release, name) = (h.clone(), r.clone(), name.to_string());
            thread::spawn(move || {
                let Some(head) = read_head(&mut conn) else { return };
                if head.contains("\r\nx-hold:") {
                    held.fetch_add(1, Ordering::SeqCst);
                    let (lock, cvar) = &*release;
                    let _released = cvar.wait_while(lock.lock().unwrap(), |released| !*released).unwrap();
                }
                respond(conn, &name);
            });
        });
        HoldingBackend { port, held, release, _backend: backend }
    }

    /// Bounded polling until `n` requests are held here.
    fn wait_held(&self, n: u64) {
        let start = Instant::now();
        while self.held.load(Ordering::SeqCst) < n {
            assert!(start.elapsed() < DEADLINE, "only {} of {n} requests held", self.held.load(Ordering::SeqCst));
            thread::sleep(WallDuration::from_millis(5));
        }
    }
}

impl HoldingBackend {
    /// Answers the held requests; later ones are answered at once.
    fn release(&self) {
        let (lock, cvar) = &*self.release;
        *lock.lock().unwrap() = true;
        cvar.notify_all();
    }
}

impl Drop for HoldingBackend {
    fn drop(&mut self) {
        self.release();
    }
}

/// `balance random(N)` against HAProxy 2.6, in distribution: its random
/// keys are its own, so the comparison is of how often each server is
/// chosen. Requests pinned with `use-server` stay in flight on the servers
/// (s1 holds `held.0`, s2 `held.1`) while 3,000 others go one at a time
/// through the random draws. HAProxy's share for s1 must be within five
/// standard deviations of the engine's (from 1,000,000 picks). The
/// expected shares differ from case to case by far more than that: with
/// the ring's share `a` of s1, one draw gives about `a`, two draws with
/// s1 busier about `a²`, three `a³`; with weights 4 and 1, s1 with 3 in
/// flight is less loaded for its weight than s2 with 1, so it loses only
/// when every draw lands on s2 (`1 - (1-a)²`), where ignoring the weights
/// would give `a²`.
#[test]
fn random_draws_choose_like_haproxy() {
    const REQUESTS: usize = 3_000;
    const ENGINE_PICKS: usize = 1_000_000;
    type Case = (u32, [u32; 2], (u64, u64));
    let cases: [Case; 4] = [(1, [1, 1], (4, 0)), (2, [1, 1], (4, 0)), (3, [1, 1], (4, 0)), (2, [4, 1], (3, 1))];
    let results: Vec<(f64, f64)> = thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(draws, weights, held)| {
                scope.spawn(move || {
                    // The engine: the same ring and loads, its own keys.
                    let mut r = Random::new(&weights, &[false; 2], &[true; 2], false, draws);
                    r.set_served(0, held.0 as u32);
                    r.set_served(1, held.1 as u32);
                    let mut rng = engine::rng::Rng::stream(7, u64::from(draws));
                    let mut keys = vec![0u32; draws as usize];
                    let mut s1 = 0;
                    for _ in 0..ENGINE_PICKS {
                        keys.iter_mut().for_each(|k| *k = (rng.next_u64() >> 32) as u32);
                        s1 += usize::from(r.pick(&keys, None, |_| false) == Some(0));
                    }
                    let ours = s1 as f64 / ENGINE_PICKS as f64;

                    // HAProxy: the same backend, requests pinned by header.
                    let servers = [HoldingBackend::start("s1"), HoldingBackend::start("s2")];
                    // The held requests must outlast the case.
                    let mut backend = format!("backend r\n    balance random({draws})\n    timeout server 60s\n");
                    for (i, s) in servers.iter().enumerate() {
                        backend += &format!("    use-server s{0} if {{ req.hdr(x-hold) -m str s{0} }}\n", i + 1);
                        backend += &format!("    server s{} 127.0.0.1:{} weight {}\n", i + 1, s.port, weights[i]);
                    }
                    let haproxy = HaProxy::start("", &backend);
                    for (name, n) in [("s1", held.0), ("s2", held.1)] {
                        for _ in 0..n {
                            // Answered only when the servers are dropped.
                            haproxy.send_held("r", name);
                        }
                    }
                    servers[0].wait_held(held.0);
                    servers[1].wait_held(held.1);
                    let real = (0..REQUESTS).filter(|_| haproxy.get("r", "/", None) == "s1").count();
                    (ours, real as f64 / REQUESTS as f64)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("case thread")).collect()
    });
    let mut failures = Vec::new();
    for ((draws, weights, held), (ours, real)) in cases.iter().zip(&results) {
        let sd = (ours * (1.0 - ours) / REQUESTS as f64).sqrt();
        let case = format!("random({draws}), weights {weights:?}, in flight {held:?}");
        eprintln!("{case}: s1's share: engine {ours:.4}, HAProxy {real:.4} (sd {sd:.4})");
        if (ours - real).abs() > 5.0 * sd + 0.002 {
            failures.push(format!("{case}: s1's share: engine {ours:.4}, HAProxy {real:.4}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The cases tell the rules apart: each share is far from the others.
    for (i, a) in results.iter().enumerate() {
        for b in &results[i + 1..] {
            assert!((a.0 - b.0).abs() > 0.05, "{results:?}");
        }
    }
}

/// Sends one command to HAProxy's admin socket and returns its answer.
fn admin(socket: &Path, command: &str) -> String {
    // A connect failed once in a local run while stats were polled every
    // 20 ms (the cause was not found): retry until the deadline.
    let start = Instant::now();
    let mut conn = loop {
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(conn) => break conn,
            Err(e) if start.elapsed() > DEADLINE => panic!("connect to the stats socket {}: {e}", socket.display()),
            Err(_) => thread::sleep(WallDuration::from_millis(5)),
        }
    };
    conn.set_read_timeout(Some(DEADLINE)).unwrap();
    conn.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read the answer");
    answer
}

/// One server's row of `show stat` on HAProxy's admin socket: its
/// `throttle` (set only while it warms up) and `weight`.
fn server_stat(socket: &Path, backend: &str, server: &str) -> (Option<u32>, u32) {
    let csv = admin(socket, "show stat");
    let header: Vec<&str> = csv.lines().next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let column = |name: &str| header.iter().position(|&h| h == name).unwrap_or_else(|| panic!("no {name}: {csv}"));
    let row: Vec<&str> = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.len() > 1 && r[0] == backend && r[1] == server)
        .unwrap_or_else(|| panic!("no {backend}/{server} in:\n{csv}"));
    (row[column("throttle")].parse().ok(), row[column("weight")].parse().expect("a weight"))
}

/// When each throttle value was first seen, in ms from the first sample
/// that had one; `None` is the end of the window (full weight).
type Steps = Vec<(u64, Option<u32>)>;

/// `slowstart` against HAProxy 2.6: a server a check took DOWN comes back
/// UP with `weight 64 slowstart 10s`. HAProxy's stats, polled every 20 ms
/// on its admin socket, show its throttle (weight as a percentage of full)
/// step up once a second; the engine's load balancer, with the same server
/// crashed and restarted, must show the same values at the same offsets
/// from the first step, within the polling and scheduling jitter (300 ms).
/// The weight column must be the user weight times the throttle's step.
#[test]
fn slowstart_ramps_the_weight_like_haproxy() {
    const WINDOW_MS: u64 = 10_000;
    // HAProxy.
    let mut s1 = Backend::start("s1");
    let s2 = Backend::start("s2");
    let port = s1.port;
    s1.stop();
    let socket = std::env::temp_dir().join(format!("clusterlab-slowstart-{}.sock", std::process::id()));
    let backend = format!(
        "backend be\n    option log-health-checks\n    \
         server s1 127.0.0.1:{port} check inter 100 rise 1 fall 1 weight 64 slowstart 10s\n    \
         server s2 127.0.0.1:{} weight 64\n",
        s2.port
    );
    let global = format!("    log stdout format raw local0\n    stats socket {} level admin\n", socket.display());
    let haproxy = HaProxy::start(&global, &backend);
    let down = haproxy.wait_line(0, "Server be/s1 is DOWN");
    s1.restart();
    haproxy.wait_line(down, "Server be/s1 is UP");
    let mut real: Steps = Vec::new();
    let mut weights = Vec::new();
    let mut first: Option<Instant> = None;
    loop {
        let (throttle, weight) = server_stat(&socket, "be", "s1");
        let now = Instant::now();
        let at = first.get_or_insert(now).elapsed().as_millis() as u64;
        if real.last().map(|&(_, t)| t) != Some(throttle) {
            real.push((at, throttle));
            weights.push(weight);
        }
        if throttle.is_none() {
            break;
        }
        assert!(at < WINDOW_MS + 5_000, "still warming after {at} ms: {real:?}");
        thread::sleep(WallDuration::from_millis(20));
    }
    drop(haproxy);
    let _ = std::fs::remove_file(&socket);

    // The engine: s1 crashes at 1 s and restarts at 2 s.
    let mut sim = engine::Simulation::new(
        &engine::Scenario::from_value(serde_json::json!({
            "version": 1, "seed": 5,
            "nodes": [
                { "name": "c", "type": "client", "target": "lb", "workload": { "kind": "open_loop", "rate": 20 } },
                { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "servers": [
                    { "name": "s1", "weight": 64, "check": true, "inter": "100ms", "rise": 1, "fall": 1, "slowstart": "10s" },
                    { "name": "s2", "weight": 64 } ] },
                { "name": "s1", "type": "server" }, { "name": "s2", "type": "server" }
            ],
            "links": [ { "between": ["c", "lb"] }, { "between": ["lb", "s1"] }, { "between": ["lb", "s2"] } ],
            "faults": [ { "at": "1s", "action": "crash", "node": "s1" }, { "at": "2s", "action": "restart", "node": "s1" } ]
        }))
        .expect("valid scenario"),
    )
    .expect("valid scenario");
    let lb = sim.node_id("lb").unwrap();
    let mut ours: Steps = Vec::new();
    let mut first = None;
    for ms in (2_000..20_000).step_by(10) {
        sim.run_until(ms * 1_000_000);
        let engine::sim::Detail::LoadBalancer { servers, .. } = sim.node_state(lb).detail else { panic!("lb") };
        let throttle = servers[0].throttle;
        if throttle.is_none() && first.is_none() {
            continue;
        }
        let at = ms - *first.get_or_insert(ms);
        if ours.last().map(|&(_, t)| t) != Some(throttle) {
            ours.push((at, throttle));
        }
        if throttle.is_none() {
            break;
        }
    }

    eprintln!("HAProxy: {real:?}\nweights: {weights:?}\nengine:  {ours:?}");
    let values = |s: &Steps| s.iter().map(|&(_, t)| t).collect::<Vec<_>>();
    assert_eq!(values(&real), values(&ours), "HAProxy {real:?}\nengine {ours:?}");
    assert_eq!(
        values(&ours),
        [6, 12, 25, 31, 43, 56, 62, 75, 81, 93].into_iter().map(Some).chain([None]).collect::<Vec<_>>()
    );
    for (&(a, t), &(b, _)) in real.iter().zip(&ours) {
        assert!(a.abs_diff(b) <= 300, "throttle {t:?}: HAProxy at {a} ms, the engine at {b} ms");
    }
    assert_eq!(weights, [4, 8, 16, 20, 28, 36, 40, 48, 52, 60, 64], "weight 64 × (16 k + 10) / 10 / 16, rounded up");
}

/// Round robin skipping a full server, against HAProxy 2.6: `s1` has
/// `maxconn 1` and one request pinned to it (`use-server`, which picks no
/// server) is held there, so every pick passes over it and puts it back:
/// where it was due, or, once the trees have switched during that pick,
/// into `init` by weight (`fwrr_get_next_server`). After the held request
/// is answered, the next picks show where `s1` was put back. The server
/// sequence of both phases must be HAProxy's.
#[test]
fn roundrobin_passes_over_a_full_server_like_haproxy() {
    const BEFORE: usize = 9;
    const AFTER: usize = 18;
    let cases: [[u32; 3]; 5] = [[3, 2, 1], [1, 1, 1], [2, 5, 3], [4, 1, 1], [1, 3, 2]];
    let results: Vec<([u32; 3], String, String)> = thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&weights| {
                scope.spawn(move || {
                    let servers =
                        [HoldingBackend::start("s1"), HoldingBackend::start("s2"), HoldingBackend::start("s3")];
                    let mut backend = "backend r\n    balance roundrobin\n    timeout server 60s\n".to_string();
                    backend += "    use-server s1 if { req.hdr(x-hold) -m found }\n";
                    for (i, s) in servers.iter().enumerate() {
                        let maxconn = if i == 0 { " maxconn 1" } else { "" };
                        backend +=
                            &format!("    server s{} 127.0.0.1:{} weight {}{maxconn}\n", i + 1, s.port, weights[i]);
                    }
                    let haproxy = HaProxy::start("", &backend);
                    let held = haproxy.send_held("r", "1");
                    servers[0].wait_held(1);
                    let mut real: Vec<String> = (0..BEFORE).map(|_| haproxy.get("r", "/", None)).collect();
                    servers[0].release();
                    held.join().expect("the held request is answered");
                    real.extend((0..AFTER).map(|_| haproxy.get("r", "/", None)));

                    let mut f = Fwrr::new(&weights, &[false; 3], &[true; 3], false);
                    let mut pick = |full: bool| format!("s{}", f.pick(None, |i| full && i == 0).unwrap() + 1);
                    let ours: Vec<String> = (0..BEFORE + AFTER).map(|n| pick(n < BEFORE)).collect();
                    (weights, real.join(" "), ours.join(" "))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("case thread")).collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, real, ours)| real != ours)
        .map(|(w, real, ours)| format!("weights {w:?}:\n  HAProxy {real}\n  engine  {ours}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// Health analysis: observe, error-limit, on-error

/// What HAProxy's `option log-health-checks` says of `s1`'s health, in
/// order: each check line as `check(line, status)` writes it, `DOWN` and
/// `UP`.
fn health_log(lines: &[String], check: impl Fn(&str, &str) -> Option<String>) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            if let Some((_, status)) = check_line(l, "lb_servers/s1") {
                check(l, &status)
            } else if l.contains("Server lb_servers/s1 is DOWN") {
                Some("DOWN".to_string())
            } else if l.contains("Server lb_servers/s1 is UP") {
                Some("UP".to_string())
            } else {
                None
            }
        })
        .collect()
}

/// What `s1` does with a request in [`observe_case`] and
/// [`retry_on_matches_haproxy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S1 {
    /// Answers 503 (in the engine: its database has crashed).
    Answers503,
    /// Never answers, its host still accepting (the engine pauses it).
    Hangs,
    /// Nothing listens (the engine crashes it): connection refused.
    Refuses,
    /// Dies while it holds the request (`kill -9`): its connection closes
    /// unanswered, and later connections are refused.
    Dies,
}

impl S1 {
    /// The engine's fault that makes `s1` behave so (in [`s1_s2_db`]).
    fn fault(self) -> serde_json::Value {
        match self {
            S1::Answers503 => serde_json::json!({ "at": "1ms", "action": "crash", "node": "db" }),
            S1::Hangs => serde_json::json!({ "at": "1ms", "action": "pause", "node": "s1" }),
            S1::Refuses => serde_json::json!({ "at": "1ms", "action": "crash", "node": "s1" }),
            S1::Dies => serde_json::json!({ "at": "120ms", "action": "crash", "node": "s1" }),
        }
    }
}

/// Client `c`, load balancer `lb` (as given), app server `s1` (taking
/// `s1_time`, with database `db`) and `s2` (1 ms), over links of
/// `latency`, with `s1` failing as `s1` says.
fn s1_s2_db(
    client: serde_json::Value,
    lb: serde_json::Value,
    s1_time: &str,
    latency: &str,
    s1: S1,
) -> engine::Simulation {
    let link = |a: &str, b: &str| serde_json::json!({ "between": [a, b], "latency": latency });
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            client,
            lb,
            { "name": "s1", "type": "server", "service_time": s1_time, "handler": { "database": "db" } },
            { "name": "s2", "type": "server", "service_time": "1ms" },
            { "name": "db", "type": "database" }
        ],
        "links": [ link("c", "lb"), link("lb", "s1"), link("lb", "s2"), link("s1", "db") ],
        "faults": [ s1.fault() ]
    });
    engine::Simulation::new(&engine::Scenario::from_value(scenario).expect("valid")).unwrap()
}

/// Requests, one every `spacing_ms`, through round robin to `s1` (with
/// `s1_options` in the scenario's words, `check inter 10s` besides) and
/// `s2`, which answers 200, in the engine and in HAProxy 2.6 on the
/// engine's rendering. Both must give the same server and status for each
/// request, and the same health statuses in the same order as HAProxy's
/// `option log-health-checks`.
fn observe_case(failing: S1, s1_options: serde_json::Value, spacing_ms: u64) {
    use engine::components::load_balancer::observe::OnError;
    use engine::message::Message;
    use engine::trace::{Note, What};
    const REQUESTS: usize = 24;
    let case = format!("s1 {failing:?}, {s1_options}");
    let mut s1 = serde_json::json!({ "name": "s1", "check": true, "inter": "10s" });
    s1.as_object_mut().unwrap().extend(s1_options.as_object().unwrap().clone());
    let requests: Vec<serde_json::Value> = (0..REQUESTS)
        .map(|i| serde_json::json!({ "at": format!("{}ms", 100 + spacing_ms * i as u64), "read": i }))
        .collect();
    let client = serde_json::json!({ "name": "c", "type": "client", "target": "lb", "timeout": "5s",
                                     "workload": { "kind": "script", "requests": requests } });
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": "roundrobin",
                                 "servers": [ s1, { "name": "s2" } ], "timeout_connect": "2s", "timeout_server": "200ms" });
    let mut sim = s1_s2_db(client, lb, "1ms", "100us", failing);
    sim.run_until((1_000 + spacing_ms * REQUESTS as u64) * 1_000_000);
    let lb = sim.node_id("lb").unwrap();
    let mut ours = Vec::new();
    let mut ours_log = Vec::new();
    let mut health = Health::new(CheckParams {
        inter: Duration::from_secs(10),
        fastinter: Duration::from_secs(10),
        downinter: Duration::from_secs(10),
        rise: 2,
        fall: 3,
    });
    for e in sim.trace().events() {
        match &e.what {
            What::Deliver { from, msg: Message::Response(r), .. } if *from == lb => {
                // The client's request ids are in order of sending.
                ours.push((r.id, r.status.code()));
            }
            // `on-error fastinter` changes no status: HAProxy logs nothing.
            What::Note { note: Note::ErrorLimit { errors, last, on_error, health: h, .. }, .. }
                if *on_error != OnError::Fastinter =>
            {
                health.health = *h;
                let detected = format!("Detected {errors} consecutive errors, last one was: {}", last.describe());
                ours_log.push(format!("{detected}: {}", health.describe()));
            }
            What::Note { note: Note::CheckPassed { health: h, .. } | Note::CheckFailed { health: h, .. }, .. } => {
                health.health = *h;
                ours_log.push(format!("check {}", health.describe()));
            }
            What::Note { note: Note::ServerDown { .. }, .. } => ours_log.push("DOWN".to_string()),
            What::Note { note: Note::ServerUp { .. }, .. } => ours_log.push("UP".to_string()),
            _ => {}
        }
    }
    assert_eq!(ours.len(), REQUESTS, "{case}: every request answered in the engine");
    ours.sort();
    // Only s2 answers 200, and only s1 fails.
    let ours: Vec<(String, u16)> =
        ours.iter().map(|&(_, st)| (if st == 200 { "s2" } else { "s1" }.to_string(), st)).collect();

    // HAProxy, on the engine's rendering of the load balancer.
    let s1 = failing_backend("s1", failing == S1::Hangs);
    let s2 = Backend::start("s2");
    let port = free_port();
    let server_port = |name: &str| if name == "s1" { s1.port } else { s2.port };
    let cfg = local_cfg(&sim, lb, port, server_port, "    log stdout format raw local0\n", "")
        .replace("balance roundrobin", "balance roundrobin\n    option log-health-checks\n    log global");
    let haproxy = HaProxy::launch(&cfg, port);
    // Its first check has passed (3/3 UP), as the engine's did at 0.
    haproxy.wait_line(0, "Health check for server");
    let start = Instant::now();
    let real: Vec<(String, u16)> = (0..REQUESTS)
        .map(|i| {
            // The schedule is part of the input: checks come between
            // requests as in the engine.
            let due = WallDuration::from_millis(spacing_ms * i as u64);
            thread::sleep(due.saturating_sub(start.elapsed()));
            let (status, body) = haproxy.request("GET", "/", "");
            // HAProxy's own 504 names no server; it was s1's turn.
            (if status == 504 { "s1".to_string() } else { body }, status)
        })
        .collect();
    let lines = haproxy.lines.lock().unwrap().clone();
    drop(haproxy);
    // A check's status (`check 2/3 UP`), or an analysis failure's
    // (`Detected 3 consecutive errors, last one was: Wrong http response:
    // 2/3 UP`).
    let real_log = health_log(&lines, |l, status| match l.split("info: \"").nth(1) {
        Some(info) if l.contains("reason: Health analyze") => Some(format!("{}: {status}", info.split('"').next()?)),
        _ => Some(format!("check {status}")),
    });
    eprintln!("{case}\n  HAProxy: {real:?}\n  {real_log:?}\n  engine:  {ours:?}\n  {ours_log:?}");
    assert_eq!(ours, real, "{case}: server and status of each request; HAProxy logged:\n{}", lines.join("\n"));
    assert_eq!(ours_log, real_log, "{case}: health statuses; HAProxy logged:\n{}", lines.join("\n"));
}

/// `observe layer7` against a server that answers 503 while its checks
/// pass, for each `on-error`, and with `fastinter`, which brings a check
/// forward after each analysis failure.
#[test]
fn observe_layer7_counts_error_statuses_like_haproxy() {
    let cases = [
        serde_json::json!({ "observe": "layer7", "error_limit": 3 }),
        serde_json::json!({ "observe": "layer7", "error_limit": 2, "on_error": "sudden-death" }),
        serde_json::json!({ "observe": "layer7", "error_limit": 4, "on_error": "mark-down" }),
        serde_json::json!({ "observe": "layer7", "error_limit": 2, "on_error": "fastinter" }),
        // A check 50 ms after each analysis failure passes and undoes it:
        // s1 is never DOWN.
        serde_json::json!({ "observe": "layer7", "error_limit": 3, "fastinter": "50ms" }),
        // layer4 looks at connections only: they all succeed.
        serde_json::json!({ "observe": "layer4", "error_limit": 1, "on_error": "mark-down" }),
    ];
    for options in cases {
        observe_case(S1::Answers503, options, 100);
    }
}

/// A hung server (its host still completes connections, so TCP checks
/// pass): `layer7` counts each `timeout server` (504) as an error,
/// `layer4` sees only connections that succeed.
#[test]
fn observe_sees_a_hung_server_at_layer7_only_like_haproxy() {
    for observe in ["layer7", "layer4"] {
        let options = serde_json::json!({ "observe": observe, "error_limit": 2, "on_error": "mark-down" });
        observe_case(S1::Hangs, options, 300);
    }
}

// ---------------------------------------------------------------------------
// HTTP checks: option httpchk

/// What `s1` does with a request in [`httpchk_matches_haproxy`], phase by
/// phase.
const ANSWERS: u8 = 0;
const HANGS: u8 = 1;
const ANSWERS_503: u8 = 2;

/// The reason a health log line gives (`Layer7 timeout`).
fn reason_of(line: &str) -> Option<String> {
    let rest = line.split("reason: ").nth(1)?;
    Some(rest.split(", check duration").next()?.to_string())
}

/// `option httpchk` against HAProxy 2.6, through every way an HTTP check
/// ends: `s1` answers (`Layer7 check passed`), hangs with its host still
/// accepting connections (a paused process: `Layer7 timeout`, which a
/// connect-only check would pass), refuses connections (a crashed
/// process: `Layer4 connection problem`), answers again, then answers 503
/// (in the engine, an app server whose one worker is busy and whose queue
/// is full). The engine's rendering runs in HAProxy; the sequence of
/// health lines (`option log-health-checks`: each result's reason and
/// status, each DOWN and UP) must be the same.
#[test]
fn httpchk_matches_haproxy() {
    use engine::trace::{Note, What};
    use std::sync::atomic::AtomicU8;
    // (start in ms, what s1 does); the run ends at END_MS.
    const PHASES: [(u64, &str); 6] =
        [(0, "answers"), (1_000, "hangs"), (3_000, "answers"), (4_500, "refuses"), (6_000, "answers"), (7_000, "503")];
    const END_MS: u64 = 9_000;

    // The engine.
    let link = |a: &str, b: &str| serde_json::json!({ "between": [a, b], "latency": "100us" });
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "s1", "timeout": "20s",
              "workload": { "kind": "script", "requests": [ { "at": "7s", "read": 1 } ] } },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "httpchk": "GET /health",
              "servers": [ { "name": "s1", "check": true, "inter": "200ms", "rise": 2, "fall": 3 } ] },
            { "name": "s1", "type": "server", "workers": 1, "queue": 0, "service_time": "10s" }
        ],
        "links": [ link("c", "s1"), link("lb", "s1") ],
        "faults": [
            { "at": "1s", "action": "pause", "node": "s1" }, { "at": "3s", "action": "resume", "node": "s1" },
            { "at": "4500ms", "action": "crash", "node": "s1" }, { "at": "6s", "action": "restart", "node": "s1" }
        ]
    });
    let mut sim = engine::Simulation::new(&engine::Scenario::from_value(scenario).expect("valid")).unwrap();
    sim.run_until(END_MS * 1_000_000);
    let lb = sim.node_id("lb").unwrap();
    let mut health = Health::new(CheckParams {
        inter: Duration::from_millis(200),
        fastinter: Duration::from_millis(200),
        downinter: Duration::from_millis(200),
        rise: 2,
        fall: 3,
    });
    // The event log notes every failed check; HAProxy logs a result only
    // when the health or the reason changed.
    let mut ours = Vec::new();
    let mut last: Option<(u32, String)> = None;
    for e in sim.trace().events() {
        let What::Note { note, .. } = e.what else { continue };
        let (h, reason, change) = match note {
            Note::CheckPassed { health, reason, .. } | Note::CheckFailed { health, reason, .. } => {
                (health, reason, None)
            }
            Note::ServerDown { health, reason, .. } => (health, reason, Some("DOWN")),
            Note::ServerUp { health, reason, .. } => (health, reason, Some("UP")),
            _ => continue,
        };
        let now = (h, reason.describe());
        if last.as_ref() != Some(&now) {
            health.health = h;
            ours.push(format!("check {}: {}", now.1, health.describe()));
        }
        last = Some(now);
        // HAProxy logs the check that changed the state, then the change.
        ours.extend(change.map(String::from));
    }

    // HAProxy, on the engine's rendering, against a server whose
    // behaviour the test switches at the same moments.
    let mode = Arc::new(AtomicU8::new(ANSWERS));
    let handler = {
        let mode = mode.clone();
        move |mut conn: TcpStream, name: &str| {
            if read_head(&mut conn).is_none() {
                return;
            }
            match mode.load(Ordering::SeqCst) {
                // One thread serves: later connections wait in the listen
                // queue, completed by the kernel, as a paused process's do.
                HANGS => {
                    let _ = conn.read_to_end(&mut Vec::new());
                }
                ANSWERS_503 => {
                    let _ = conn.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
                _ => respond(conn, name),
            }
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let s1_port = listener.local_addr().unwrap().port();
    let mut s1 = Some(Backend::serve_with("s1", s1_port, listener, handler.clone()));
    let port = free_port();
    let cfg = local_cfg(&sim, lb, port, |_| s1_port, "    log stdout format raw local0\n", "")
        .replace("balance roundrobin", "balance roundrobin\n    option log-health-checks\n    log global");
    assert!(cfg.contains("option httpchk GET /health"), "{cfg}");
    let haproxy = HaProxy::launch(&cfg, port);
    // Its first check has passed, as the engine's did at 0.
    haproxy.wait_line(0, "Health check for server");
    let start = Instant::now();
    for &(at, what) in &PHASES[1..] {
        thread::sleep(WallDuration::from_millis(at).saturating_sub(start.elapsed()));
        match what {
            "hangs" => mode.store(HANGS, Ordering::SeqCst),
            "503" => mode.store(ANSWERS_503, Ordering::SeqCst),
            "refuses" => drop(s1.take()),
            _ => {
                mode.store(ANSWERS, Ordering::SeqCst);
                if s1.is_none() {
                    let listener = TcpListener::bind(("127.0.0.1", s1_port)).expect("rebind s1");
                    s1 = Some(Backend::serve_with("s1", s1_port, listener, handler.clone()));
                }
            }
        }
    }
    thread::sleep(WallDuration::from_millis(END_MS).saturating_sub(start.elapsed()));
    let lines = haproxy.lines.lock().unwrap().clone();
    drop(haproxy);
    // A hung handler returns once HAProxy has closed its connection.
    drop(s1);
    let real = health_log(&lines, |l, status| Some(format!("check {}: {status}", reason_of(l)?)));
    eprintln!("HAProxy:\n  {}\nengine:\n  {}", real.join("\n  "), ours.join("\n  "));
    assert_eq!(ours, real, "health lines; HAProxy logged:\n{}", lines.join("\n"));
    // Each way down was seen, in order.
    let downs: Vec<&str> =
        ours.windows(2).filter(|w| w[1] == "DOWN").map(|w| w[0].split(": 0/2").next().unwrap()).collect();
    assert_eq!(
        downs,
        [
            "check Layer7 timeout",
            "check Layer4 connection problem, info: \"Connection refused\"",
            "check Layer7 wrong status, code: 503, info: \"Service Unavailable\""
        ]
    );
}

/// A server that dies while it holds an HTTP check (`kill -9`): the
/// check's connection closes unanswered, which HAProxy 2.6 reports as
/// `Layer7 invalid response` (L7RSP), not as a timeout; the checks after
/// it are refused. In the engine, s1 is paused while a check waits in its
/// receive buffer, then crashed.
#[test]
fn a_server_dying_during_an_http_check_matches_haproxy() {
    use engine::trace::{Note, What};
    let link = |a: &str, b: &str| serde_json::json!({ "between": [a, b], "latency": "100us" });
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "httpchk": "GET /health",
              "servers": [ { "name": "s1", "check": true, "inter": "200ms", "rise": 1, "fall": 1 } ] },
            { "name": "s1", "type": "server" }
        ],
        "links": [ link("lb", "s1") ],
        "faults": [
            { "at": "100ms", "action": "pause", "node": "s1" }, { "at": "300ms", "action": "crash", "node": "s1" }
        ]
    });
    let mut sim = engine::Simulation::new(&engine::Scenario::from_value(scenario).expect("valid")).unwrap();
    sim.run_until(1_000_000_000);
    let lb = sim.node_id("lb").unwrap();
    let reasons: Vec<String> = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Note { note: Note::ServerDown { reason, .. }, .. } => Some(format!("DOWN: {}", reason.describe())),
            What::Note { note: Note::CheckFailed { reason, .. }, .. } => Some(reason.describe()),
            _ => None,
        })
        .collect();
    let ours = (reasons[0].as_str(), reasons[1].as_str());
    assert_eq!(
        ours,
        ("DOWN: Layer7 invalid response", "Layer4 connection problem, info: \"Connection refused\""),
        "{reasons:?}"
    );

    // HAProxy: its first check finds s1 dying.
    let s1_port = dying_backend();
    let port = free_port();
    let cfg = local_cfg(&sim, lb, port, |_| s1_port, "    log stdout format raw local0\n", "")
        .replace("balance roundrobin", "balance roundrobin\n    option log-health-checks\n    log global");
    let haproxy = HaProxy::launch(&cfg, port);
    // The failed check's line gives the reason, then s1 goes DOWN.
    let failed = |from: usize| haproxy.wait_line(from, "Health check for server lb_servers/s1 failed");
    let first = failed(0);
    let down = haproxy.wait_line(first, "Server lb_servers/s1 is DOWN");
    let next = failed(down);
    let lines = haproxy.lines.lock().unwrap().clone();
    let reason = |i: usize| reason_of(&lines[i]).unwrap_or_else(|| panic!("no reason in:\n{}", lines.join("\n")));
    let real = (format!("DOWN: {}", reason(first)), reason(next));
    assert_eq!((real.0.as_str(), real.1.as_str()), ours, "HAProxy logged:\n{}", lines.join("\n"));
}

// ---------------------------------------------------------------------------
// retry-on: layer-7 retries

/// One request through a load balancer (`retries 3`, `timeout server
/// 200ms`, `retry-on` as given) to `s1` and `s2`, in the engine: what
/// HAProxy would log (the server last tried, the status, the retries) and
/// the time to the answer in ms.
fn one_retried_request(
    balance: &str,
    redispatch: bool,
    retry_on: &str,
    s1: S1,
    method: &str,
    path: &str,
) -> (engine::Simulation, (String, u16, u32, u64)) {
    use engine::message::Message;
    use engine::trace::{Note, What};
    let (balance, hash_type) = balance.split_once(' ').unwrap_or((balance, "map-based"));
    let s1_time = if s1 == S1::Dies { "50ms" } else { "1ms" };
    // Reads are GETs, writes PUTs.
    let request = match method {
        "GET" => serde_json::json!({ "at": "100ms", "read": 1, "path": path }),
        _ => serde_json::json!({ "at": "100ms", "write": 1, "value": 7, "path": path }),
    };
    let client = serde_json::json!({ "name": "c", "type": "client", "target": "lb", "timeout": "10s",
                                     "paths": [ { "path": path } ],
                                     "workload": { "kind": "script", "requests": [ request ] } });
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": balance, "hash_type": hash_type,
                                 "servers": [ { "name": "s1" }, { "name": "s2" } ], "retry_on": retry_on,
                                 "http_request": [ "disable-l7-retry if METH_PUT" ],
                                 "retries": 3, "redispatch": redispatch, "timeout_connect": "2s",
                                 "timeout_server": "200ms" });
    let mut sim = s1_s2_db(client, lb, s1_time, "10us", s1);
    sim.run_until(5_000_000_000);
    let c = sim.node_id("c").unwrap();
    let mut retries = 0;
    let mut answer = None;
    for e in sim.trace().events() {
        match &e.what {
            What::Note { note: Note::Retried { .. } | Note::L7Retry { .. }, .. } => retries += 1,
            What::Deliver { to, msg: Message::Response(r), .. } if *to == c => answer = Some((r.status, e.time)),
            _ => {}
        }
    }
    let (status, at) = answer.expect("the client got an answer");
    // Only s2 answers 200; only s1 fails.
    let server = if status.code() == 200 { "s2" } else { "s1" };
    (sim, (server.to_string(), status.code(), retries, (at - 100_000_000) / 1_000_000))
}

/// `retry-on` against HAProxy 2.6: a server that answers 503, one that
/// hangs past `timeout server`, one that refuses, and one that dies
/// holding the request (502 "SH", or an `empty-response` retry), with and without
/// `option redispatch`. A layer-7 retry goes out at once (no pause), to
/// the same server or, as `stream_choose_redispatch` decides, through
/// selection again; it spends the same `retries` as a connection retry;
/// when they run out the last answer (503) or HAProxy's 504 is passed on.
/// Without `conn-failure`, a refused connection is not retried at all.
/// `http-request disable-l7-retry if METH_PUT` keeps writes from layer-7
/// retries, not from connection retries.
#[test]
fn retry_on_matches_haproxy() {
    const TIMEOUT_MS: u64 = 200;
    let periods = |ms: u64| (ms + TIMEOUT_MS / 2) / TIMEOUT_MS;
    /// Balance, redispatch, retry-on, s1, the method, and what should be logged:
    /// server, status, retries, and `timeout server` periods waited.
    type Case<'a> = (&'a str, bool, &'a str, S1, &'a str, (&'a str, u16, u32, u64));
    let cases: [Case; 16] = [
        // Elsewhere at once: round robin with two servers redispatches.
        ("roundrobin", true, "503", S1::Answers503, "GET", ("s2", 200, 1, 0)),
        // No redispatch: four times on s1, and its last 503 is passed on.
        ("roundrobin", false, "503", S1::Answers503, "GET", ("s1", 503, 3, 0)),
        // The default retries connections only: the 503 is passed on.
        ("roundrobin", true, "conn-failure", S1::Answers503, "GET", ("s1", 503, 0, 0)),
        ("roundrobin", true, "504", S1::Answers503, "GET", ("s1", 503, 0, 0)),
        ("roundrobin", true, "response-timeout", S1::Hangs, "GET", ("s2", 200, 1, 1)),
        ("roundrobin", false, "all-retryable-errors", S1::Hangs, "GET", ("s1", 504, 3, 4)),
        // A hash keeps to s1 until the last retry, which selects again:
        // a consistent hash avoids s1, a map-based one picks it again.
        ("uri consistent", true, "all-retryable-errors", S1::Answers503, "GET", ("s2", 200, 3, 0)),
        ("uri", true, "500 503", S1::Answers503, "GET", ("s1", 503, 3, 0)),
        // `none`: not even a refused connection is retried.
        ("roundrobin", true, "none", S1::Refuses, "GET", ("s1", 503, 0, 0)),
        // A server that dies holding the request: its connection closes
        // unanswered. By default that is a 502, not retried...
        ("roundrobin", true, "conn-failure", S1::Dies, "GET", ("s1", 502, 0, 0)),
        // ...`empty-response` retries it, elsewhere at once...
        ("roundrobin", true, "conn-failure empty-response", S1::Dies, "GET", ("s2", 200, 1, 0)),
        // ...or on the same, now dead, server: refused twice with a 1 s
        // pause each, then 503.
        ("roundrobin", false, "conn-failure empty-response", S1::Dies, "GET", ("s1", 503, 3, 10)),
        // Without `conn-failure`, the refusal after it ends the request.
        ("roundrobin", false, "empty-response", S1::Dies, "GET", ("s1", 503, 1, 0)),
        // `http-request disable-l7-retry if METH_PUT` (set in every case):
        // a write gets no layer-7 retry, whatever `retry-on` says...
        ("roundrobin", true, "conn-failure empty-response", S1::Dies, "PUT", ("s1", 502, 0, 0)),
        ("roundrobin", true, "503", S1::Answers503, "PUT", ("s1", 503, 0, 0)),
        // ...but a refused connection is still retried: nothing was sent.
        ("roundrobin", true, "all-retryable-errors", S1::Refuses, "PUT", ("s2", 200, 1, 0)),
    ];
    let s2 = Backend::start("s2");
    let dead_port = free_port();
    for (balance, redispatch, retry_on, s1, method, expected) in cases {
        let case = format!("balance {balance}, redispatch {redispatch}, retry-on {retry_on}, s1 {s1:?}, {method}");
        // A path the balancer sends to s1 first (a hash may not).
        let (path, sim, ours) = (0..20)
            .map(|i| format!("/{i}"))
            .map(|path| {
                let (sim, ours) = one_retried_request(balance, redispatch, retry_on, s1, method, &path);
                (path, sim, ours)
            })
            .find(|(.., ours)| !balance.starts_with("uri") || ours.2 > 0)
            .unwrap_or_else(|| panic!("{case}: no path goes to s1 first"));
        let ours = (ours.0.as_str(), ours.1, ours.2, periods(ours.3));
        assert_eq!(ours, expected, "the engine, {case}");

        // The real HAProxy on the engine's rendering, logging the request.
        let failing = failing_backend("s1", s1 == S1::Hangs);
        let dying = (s1 == S1::Dies).then(dying_backend);
        let server_port = |name: &str| match name {
            "s1" if s1 == S1::Refuses => dead_port,
            "s1" if s1 == S1::Dies => dying.expect("a dying backend"),
            "s1" => failing.port,
            _ => s2.port,
        };
        let ((server, status, retries, ms), line, cfg) = logged_request(&sim, method, &path, server_port);
        assert!(cfg.contains(&format!("retry-on {retry_on}")) || retry_on == "conn-failure", "{cfg}");
        assert!(cfg.contains("http-request disable-l7-retry if METH_PUT"), "{cfg}");
        let mut real = (server.as_str(), status, retries, periods(ms));
        // HAProxy pauses before retrying a refused connection only when
        // the refusal came asynchronously (`SI_FL_ERR` in
        // `back_handle_st_cer`), as it does over a network and in the
        // engine. On loopback the kernel may refuse within connect()
        // itself, and that retry goes at once: a whole pause (1 s, 5
        // periods) skipped is HAProxy on loopback, not a difference.
        let pause = 1000 / TIMEOUT_MS;
        if matches!(s1, S1::Dies | S1::Refuses) && real.3 < ours.3 && (ours.3 - real.3) % pause == 0 {
            real.3 = ours.3;
        }
        assert_eq!(real, ours, "HAProxy ({line}) against the engine, {case}, path {path}; config:\n{cfg}");
    }
}

// ---------------------------------------------------------------------------
// option abortonclose: clients that give up

/// The time unit of the abortonclose cases: far above HAProxy's and the
/// test threads' scheduling delays.
const U: u64 = 200;
/// Clients c1, c2, c3: when each sends its request and when it closes the
/// connection (its timeout), in units of [`U`] ms. s1 takes `maxconn 1`
/// and holds every request 10 U: c1's is sent to it, c2's and c3's wait
/// in the queue, c2 gives up while queued, c1 while s1 holds its request,
/// c3 after it reached s1.
const CLIENTS: [(u64, u64); 3] = [(1, 7), (2, 5), (3, 11)];
const HOLD: u64 = 10;

/// For one client: when its request reached s1 (in units of [`U`],
/// rounded), and the termination state of a drop for its close (`CQ`,
/// `CC`, `CH`), if the load balancer dropped it.
type GaveUp = (Option<u64>, Option<&'static str>);

/// The engine's run, and what became of each client's request.
fn clients_giving_up(abortonclose: bool) -> (engine::Simulation, Vec<GaveUp>) {
    use engine::message::{Message, Op};
    use engine::trace::{Note, What};
    let ms = |u: u64| format!("{}ms", u * U);
    let mut nodes: Vec<serde_json::Value> = CLIENTS
        .iter()
        .enumerate()
        .map(|(i, &(send, close))| {
            serde_json::json!({ "name": format!("c{}", i + 1), "type": "client", "target": "lb",
                                "timeout": ms(close - send),
                                "workload": { "kind": "script",
                                              "requests": [ { "at": ms(send), "read": i + 1 } ] } })
        })
        .collect();
    nodes.push(serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": "roundrobin",
                                   "servers": [ { "name": "s1", "maxconn": 1 } ], "abortonclose": abortonclose,
                                   "timeout_queue": "10s", "timeout_server": "10s" }));
    nodes.push(serde_json::json!({ "name": "s1", "type": "server", "workers": 10, "service_time": ms(HOLD) }));
    let link = |a: &str, b: &str| serde_json::json!({ "between": [a, b], "latency": "10us" });
    let links = vec![link("c1", "lb"), link("c2", "lb"), link("c3", "lb"), link("lb", "s1")];
    let scenario = serde_json::json!({ "version": 1, "seed": 1, "nodes": nodes, "links": links });
    let scenario = engine::Scenario::from_value(scenario).expect("valid");
    let mut sim = engine::Simulation::new(&scenario).unwrap();
    sim.run_until(40 * U * 1_000_000);
    let s1 = sim.node_id("s1").unwrap();
    let clients: Vec<_> = (1..=3).map(|i| sim.node_id(&format!("c{i}")).unwrap()).collect();
    let mut seen = vec![(None, None); 3];
    for e in sim.trace().events() {
        match &e.what {
            What::Deliver { to, msg: Message::Request(r), .. } if *to == s1 => {
                let Op::Read { key } = r.op else { panic!("reads only") };
                seen[key as usize - 1].0 = Some((e.time / 1_000_000 + U / 2) / U);
            }
            What::Note { note: Note::ClientAborted { client, at }, .. } => {
                let i = clients.iter().position(|c| c == client).expect("a client");
                seen[i].1 = Some(at.termination());
            }
            _ => {}
        }
    }
    (sim, seen)
}

/// `option abortonclose` against HAProxy 2.6: three clients give up on
/// their requests (they close their connections) at different stages,
/// with and without the option; the engine's rendering runs in the real
/// HAProxy, and for each client the time its request reached s1 and the
/// termination state HAProxy logs for a drop (`CQ`, `CH`) must be the
/// engine's. Without the option HAProxy does not notice (every request
/// reaches s1, one after the other); with it, c2's request leaves the
/// queue, c1's server connection is reset, which frees s1's slot for
/// c3's at once. The rendering also sets the option in `defaults`:
/// HAProxy 2.6 reads a client's close only if the frontend has it.
#[test]
fn abortonclose_matches_haproxy() {
    let expected = [
        (false, [(Some(1), None), (Some(11), None), (Some(21), None)]),
        (true, [(Some(1), Some("CH")), (None, Some("CQ")), (Some(7), Some("CH"))]),
    ];
    for (abortonclose, expected) in expected {
        let (sim, ours) = clients_giving_up(abortonclose);
        assert_eq!(ours, expected, "the engine, abortonclose {abortonclose}");

        // The real HAProxy: s1 records when each request arrives (by its
        // path) and answers after HOLD units, one thread per connection.
        let start = Instant::now();
        let arrivals: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
        let seen = arrivals.clone();
        let s1 = Backend::threaded(move |head, conn| {
            let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
            seen.lock().unwrap().push((path, start.elapsed().as_millis() as u64));
            thread::sleep(WallDuration::from_millis(HOLD * U));
            respond(conn, "s1");
        });
        let (haproxy, cfg) = launch_logged(&sim, s1.port, "%HP %tsc %Ta");
        assert_eq!(cfg.contains("option abortonclose"), abortonclose, "{cfg}");
        let port = haproxy.port;
        let at = |u: u64| start + WallDuration::from_millis(u * U);
        let clients: Vec<JoinHandle<()>> = CLIENTS
            .iter()
            .enumerate()
            .map(|(i, &(send, close))| {
                let (send, close) = (at(send), at(close));
                thread::spawn(move || {
                    thread::sleep(send.saturating_duration_since(Instant::now()));
                    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to haproxy");
                    let req = format!("GET /c{} HTTP/1.1\r\nHost: lab\r\n\r\n", i + 1);
                    conn.write_all(req.as_bytes()).expect("send");
                    thread::sleep(close.saturating_duration_since(Instant::now()));
                    drop(conn);
                })
            })
            .collect();
        for c in clients {
            c.join().expect("client thread");
        }
        let mut real: Vec<GaveUp> = vec![(None, None); 3];
        for (i, client) in real.iter_mut().enumerate() {
            let logged = haproxy.wait_line(0, &format!("request /c{} ", i + 1));
            let line = haproxy.lines.lock().unwrap()[logged].clone();
            let state = line.split_whitespace().nth(2).unwrap_or_default();
            // `CD` (the client had gone when the answer came) is not a drop.
            client.1 = ["CQ", "CC", "CH"].into_iter().find(|s| state.starts_with(s));
        }
        for (path, ms) in arrivals.lock().unwrap().iter() {
            let i: usize = path.trim_start_matches("/c").parse().expect("a client's path");
            real[i - 1].0 = Some((ms + U / 2) / U);
        }
        assert_eq!(
            real,
            ours,
            "HAProxy against the engine, abortonclose {abortonclose}; it wrote:\n{}\nconfig:\n{cfg}",
            haproxy.output()
        );
    }
}

// ---------------------------------------------------------------------------
// on-marked-down shutdown-sessions

/// One request that s1 holds for 1 s, while s1's HTTP checks (`inter
/// 200ms fall 1`) find it busy: in the engine an app server with one
/// worker and no queue, which answers a check 503 while the request holds
/// its worker. Returns what HAProxy would log: the status, and whether
/// the answer came before s1's (within 500 ms of the request).
fn held_while_marked_down(shutdown_sessions: bool) -> (engine::Simulation, (u16, bool)) {
    let mut s1 = serde_json::json!({ "name": "s1", "check": true, "inter": "200ms", "fall": 1, "rise": 1 });
    if shutdown_sessions {
        s1["on_marked_down"] = serde_json::json!("shutdown-sessions");
    }
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "5s",
              "workload": { "kind": "script", "requests": [ { "at": "100ms", "read": 1 } ] } },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin", "servers": [ s1 ],
              "httpchk": "GET /health", "timeout_server": "5s" },
            { "name": "s1", "type": "server", "workers": 1, "queue": 0, "service_time": "1s" }
        ],
        "links": [ { "between": ["c", "lb"], "latency": "10us" }, { "between": ["lb", "s1"], "latency": "10us" } ]
    });
    let (sim, status, at) = first_answer(scenario, 3_000_000_000);
    (sim, (status, at - 100_000_000 < 500_000_000))
}

/// Runs `scenario` until `until` (ns): the run, and the status and time of
/// the first answer client `c` got.
fn first_answer(scenario: serde_json::Value, until: u64) -> (engine::Simulation, u16, u64) {
    use engine::message::Message;
    use engine::trace::What;
    let scenario = engine::Scenario::from_value(scenario).expect("valid");
    let mut sim = engine::Simulation::new(&scenario).unwrap();
    sim.run_until(until);
    let c = sim.node_id("c").unwrap();
    let answer = sim.trace().events().iter().find_map(|e| match &e.what {
        What::Deliver { to, msg: Message::Response(r), .. } if *to == c => Some((r.status.code(), e.time)),
        _ => None,
    });
    let (status, at) = answer.expect("the client got an answer");
    (sim, status, at)
}

/// `on-marked-down shutdown-sessions` against HAProxy 2.6: s1 holds a
/// request for 1 s and fails its HTTP checks meanwhile (503: busy), so it
/// is marked DOWN. With the option HAProxy kills the request at once: a
/// 502 logged `DH` (killed because the server went down, while waiting
/// for its headers), and s1's connection is closed. Without it the
/// request waits for s1, whose answer is relayed although s1 is DOWN.
#[test]
fn on_marked_down_shutdown_sessions_matches_haproxy() {
    for (shutdown_sessions, expected) in [(false, (200, false, "--")), (true, (502, true, "DH"))] {
        let (sim, (status, early)) = held_while_marked_down(shutdown_sessions);
        assert_eq!((status, early), (expected.0, expected.1), "the engine, shutdown-sessions {shutdown_sessions}");

        // s1 answers checks 503 while it holds a request, 200 otherwise.
        let holding = Arc::new(AtomicBool::new(false));
        let checks = Arc::new(AtomicU64::new(0));
        let (busy, checked) = (holding.clone(), checks.clone());
        let s1 = Backend::threaded(move |head, mut conn| {
            if head.starts_with("get /health") {
                checked.fetch_add(1, Ordering::SeqCst);
                let status = if busy.load(Ordering::SeqCst) { "503 Service Unavailable" } else { "200 OK" };
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = conn.write_all(answer.as_bytes());
                return;
            }
            busy.store(true, Ordering::SeqCst);
            thread::sleep(WallDuration::from_secs(1));
            busy.store(false, Ordering::SeqCst);
            respond(conn, "s1");
        });
        let (haproxy, cfg) = launch_logged(&sim, s1.port, "%ST %tsc %Ta");
        assert_eq!(cfg.contains("on-marked-down shutdown-sessions"), shutdown_sessions, "{cfg}");
        // The request comes after a first check has passed.
        let start = Instant::now();
        while checks.load(Ordering::SeqCst) == 0 {
            assert!(start.elapsed() < DEADLINE, "HAProxy never checked s1");
            thread::sleep(WallDuration::from_millis(5));
        }
        let (status, _) = haproxy.request("GET", "/", "");
        let logged = haproxy.wait_line(0, "request ");
        let line = haproxy.lines.lock().unwrap()[logged].clone();
        let words: Vec<&str> = line.split_whitespace().collect();
        let ms: u64 = words[3].parse().expect("%Ta");
        let real = (status, ms < 500, &words[2][..2]);
        assert_eq!(real, expected, "HAProxy ({line}) against the engine; config:\n{cfg}");
    }
}

// ---------------------------------------------------------------------------
// on-marked-up shutdown-backup-sessions

/// s1 refuses connections (its process is dead) until 1 s, so its checks
/// (`inter 200ms fall 1 rise 1`) take it DOWN; a request at 500 ms goes to
/// the backup bk, which holds it for 2 s; s1's checks pass again after
/// 1 s. Returns the engine's answer: the status, and whether it came
/// before bk's (within a second of the request).
fn held_by_a_backup(shutdown_backup_sessions: bool) -> (engine::Simulation, (u16, bool)) {
    let mut s1 = serde_json::json!({ "name": "s1", "check": true, "inter": "200ms", "fall": 1, "rise": 1 });
    if shutdown_backup_sessions {
        s1["on_marked_up"] = serde_json::json!("shutdown-backup-sessions");
    }
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "5s",
              "workload": { "kind": "script", "requests": [ { "at": "500ms", "read": 1 } ] } },
            { "name": "lb", "type": "load_balancer", "balance": "roundrobin",
              "servers": [ s1, { "name": "bk", "backup": true } ], "timeout_server": "5s" },
            { "name": "s1", "type": "server" },
            { "name": "bk", "type": "server", "workers": 1, "service_time": "2s" }
        ],
        "links": [ { "between": ["c", "lb"], "latency": "10us" }, { "between": ["lb", "s1"], "latency": "10us" },
                   { "between": ["lb", "bk"], "latency": "10us" } ],
        "faults": [ { "at": "0s", "action": "crash", "node": "s1" }, { "at": "1s", "action": "restart", "node": "s1" } ]
    });
    let (sim, status, at) = first_answer(scenario, 4_000_000_000);
    (sim, (status, at - 500_000_000 < 1_000_000_000))
}

/// A server's `status` column in `show stat` (`UP`, `DOWN`, ...).
fn status_of(socket: &Path, backend: &str, server: &str) -> String {
    show_stat(socket, backend, &[server], &["status"]).remove(0).remove(0)
}

/// One `show stat` on the admin socket: for each of `rows` (server names,
/// or `BACKEND`) in `backend`, the values of `columns`.
fn show_stat(socket: &Path, backend: &str, rows: &[&str], columns: &[&str]) -> Vec<Vec<String>> {
    let csv = admin(socket, "show stat");
    let header: Vec<&str> = csv.lines().next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let columns: Vec<usize> = columns
        .iter()
        .map(|name| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}: {csv}")))
        .collect();
    let widest = columns.iter().max().copied().unwrap_or(0);
    rows.iter()
        .map(|row| {
            let r: Vec<&str> = csv
                .lines()
                .map(|l| l.split(',').collect::<Vec<_>>())
                .find(|r| r.len() > widest && r[0] == backend && r[1] == *row)
                .unwrap_or_else(|| panic!("no {backend}/{row} in:\n{csv}"));
            columns.iter().map(|&c| r[c].to_string()).collect()
        })
        .collect()
}

/// `on-marked-up shutdown-backup-sessions` against HAProxy 2.6: while s1
/// is DOWN a request goes to the backup bk, which holds it; when s1's
/// checks pass again, HAProxy with the option kills the backup's request
/// at once (a 502 logged `UH`: killed because a server came up, while
/// waiting for the answer); without it, bk's answer comes through.
#[test]
fn on_marked_up_shutdown_backup_sessions_matches_haproxy() {
    for (option, expected) in [(false, (200, false, "--")), (true, (502, true, "UH"))] {
        let (sim, (status, early)) = held_by_a_backup(option);
        assert_eq!((status, early), (expected.0, expected.1), "the engine, shutdown-backup-sessions {option}");
        let said: Vec<String> = sim.trace().events().iter().map(|e| sim.trace_line(e).text).collect();
        let line =
            "lb: s1 is UP: backup bk: the request it held gets a 502 at once (on-marked-up shutdown-backup-sessions)";
        assert_eq!(said.iter().any(|l| l == line), option, "{said:#?}");

        let mut s1 = Backend::threaded(|_, conn| respond(conn, "s1"));
        s1.stop();
        let bk = HoldingBackend::start("bk");
        let haproxy = AdminHaProxy::launch(&sim, |name| if name == "s1" { s1.port } else { bk.port }, Some("%ST %tsc"));
        assert_eq!(haproxy.cfg.contains("on-marked-up shutdown-backup-sessions"), option, "{}", haproxy.cfg);
        let wait_status = |want: &str| {
            let start = Instant::now();
            while status_of(&haproxy.socket, &haproxy.backend, "s1") != want {
                assert!(start.elapsed() < DEADLINE, "s1 never {want}; config:\n{}", haproxy.cfg);
                thread::sleep(WallDuration::from_millis(5));
            }
        };
        wait_status("DOWN");
        let held = haproxy.haproxy.send_held("lb", "1");
        bk.wait_held(1);
        s1.restart();
        wait_status("UP");
        if !option {
            bk.release();
        }
        held.join().expect("the held request is answered");
        let logged = haproxy.haproxy.wait_line(0, "request ");
        let line = haproxy.haproxy.lines.lock().unwrap()[logged].clone();
        let words: Vec<&str> = line.split_whitespace().collect();
        let real = (words[1].parse::<u16>().expect("%ST"), &words[2][..2]);
        assert_eq!(real, (expected.0, expected.2), "HAProxy ({line}) against the engine; config:\n{}", haproxy.cfg);
        drop(bk);
    }
}

// ---------------------------------------------------------------------------
// hash-balance-factor: consistent hashing with bounded loads

/// `balance uri` with `hash-type consistent` and `hash-balance-factor`
/// against HAProxy 2.6: requests pinned with `use-server` stay in flight
/// on s1, s2 and s3 (`held`), then 60 URIs go one at a time through the
/// hash. A URI whose server is at its bound (its share, by weight, of
/// `factor` per cent of the requests in progress) goes to the next server
/// on the ring that is not. HAProxy's server for each URI must be the
/// engine's.
#[test]
fn hash_balance_factor_matches_haproxy() {
    // (factor, requests held on s1, s2, s3): the bound leaves out s1,
    // then s1 again with fewer in flight, then s2.
    let cases: [(u32, [u64; 3]); 3] = [(150, [2, 1, 0]), (125, [1, 0, 0]), (110, [0, 2, 1])];
    for (factor, held) in cases {
        let servers = [HoldingBackend::start("s1"), HoldingBackend::start("s2"), HoldingBackend::start("s3")];
        let mut backend =
            format!("backend b\n    balance uri\n    hash-type consistent\n    hash-balance-factor {factor}\n");
        for (i, s) in servers.iter().enumerate() {
            backend += &format!("    use-server s{0} if {{ req.hdr(x-hold) -m str s{0} }}\n", i + 1);
            backend += &format!("    server s{} 127.0.0.1:{}\n", i + 1, s.port);
        }
        let haproxy = HaProxy::start("", &backend);
        let mut pinned = Vec::new();
        for (i, &n) in held.iter().enumerate() {
            for _ in 0..n {
                pinned.push(haproxy.send_held("b", &format!("s{}", i + 1)));
            }
            servers[i].wait_held(n);
        }
        let real: Vec<String> = uris().iter().map(|u| haproxy.get("b", u, None)).collect();
        for s in &servers {
            s.release();
        }
        for p in pinned {
            p.join().expect("a held request is answered");
        }

        let ring = Chash::new(&[1, 1, 1], &[false; 3], &[true; 3], false);
        let served = |i: usize| held[i] as u32;
        let total = held.iter().sum::<u64>() as u32;
        let ours: Vec<String> = uris()
            .iter()
            .map(|u| {
                let h = uri_hash(&HashType::consistent(), &UriOptions::default(), u.as_bytes(), ring.tot_used());
                let pick = ring.pick_bounded(h, None, |i| ring.under_bound(i, factor, served(i), total));
                format!("s{}", pick.unwrap() + 1)
            })
            .collect();
        // Without the bound, some URIs would go to a server at its bound.
        let plain: Vec<String> = uris()
            .iter()
            .map(|u| {
                let h = uri_hash(&HashType::consistent(), &UriOptions::default(), u.as_bytes(), ring.tot_used());
                format!("s{}", ring.pick(h, None).unwrap() + 1)
            })
            .collect();
        assert_ne!(plain, ours, "factor {factor}, held {held:?}: the bound changes nothing here");
        assert_eq!(real, ours, "factor {factor}, held {held:?}");
    }
}

/// Round robin after every server was DOWN, against HAProxy 2.6: some
/// picks (the position runs from the current weight towards twice it),
/// then s2 and s1 are put in maintenance (as a failed check takes a server
/// DOWN), then brought back, s2 first. The first server back starts from a
/// position HAProxy computes with a difference that can be negative
/// (wrapping in its `int`/`unsigned` arithmetic). The picks after must be
/// HAProxy's, for several points in the window and two weight sets.
#[test]
fn roundrobin_after_every_server_was_down_matches_haproxy() {
    const AFTER: usize = 12;
    for (weights, before) in [([1, 1], 25), ([1, 1], 31), ([3, 2], 50), ([3, 2], 75)] {
        let servers = [Backend::start("s1"), Backend::start("s2")];
        let socket =
            std::env::temp_dir().join(format!("clusterlab-fwrr-{}-{}-{before}.sock", std::process::id(), weights[0]));
        let mut backend = "backend b\n    balance roundrobin\n".to_string();
        for (i, s) in servers.iter().enumerate() {
            backend += &format!("    server s{} 127.0.0.1:{} weight {}\n", i + 1, s.port, weights[i]);
        }
        let haproxy = HaProxy::start(&format!("    stats socket {} level admin\n", socket.display()), &backend);
        let mut real: Vec<String> = (0..before).map(|_| haproxy.get("b", "/", None)).collect();
        for command in ["maint b/s2", "maint b/s1", "ready b/s2", "ready b/s1"] {
            let (state, server) = command.split_once(' ').unwrap();
            let answer = admin(&socket, &format!("set server {server} state {state}"));
            assert!(answer.trim().is_empty(), "{command}: {answer}");
        }
        real.extend((0..AFTER).map(|_| haproxy.get("b", "/", None)));
        drop(haproxy);
        let _ = std::fs::remove_file(&socket);

        let mut f = Fwrr::new(&weights, &[false; 2], &[true; 2], false);
        let pick = |f: &mut Fwrr| format!("s{}", f.pick(None, |_| false).unwrap() + 1);
        let mut ours: Vec<String> = (0..before).map(|_| pick(&mut f)).collect();
        f.set_down(1);
        f.set_down(0);
        f.set_up(1);
        f.set_up(0);
        ours.extend((0..AFTER).map(|_| pick(&mut f)));
        assert_eq!(real.join(" "), ours.join(" "), "weights {weights:?}, {before} picks before");
    }
}

// ---------------------------------------------------------------------------
// leastconn with server queues

/// Where a backend's requests are: each server's connections and queue,
/// and the backend's own queue.
type Occupancy = ([(u32, u32); 2], u32);

/// One step of [`leastconn_server_queues`]: a request sent (from its
/// time, in units of 100 ms), or a wait until every queue has timed out.
#[derive(Clone, Copy)]
enum LcStep {
    Send(u64),
    QueuesTimedOut,
}

const LC_STEPS: [LcStep; 10] = [
    LcStep::Send(1),
    LcStep::Send(2),
    LcStep::Send(3),
    LcStep::Send(4),
    LcStep::Send(5),
    LcStep::Send(6),
    LcStep::QueuesTimedOut,
    LcStep::Send(30),
    LcStep::Send(31),
    LcStep::Send(32),
];

/// `balance leastconn` over s1 and s2, each `maxconn 1 maxqueue 2`, with
/// `timeout queue 1s`; the servers hold every request. The engine's
/// occupancy after each step of [`LC_STEPS`].
fn leastconn_server_queues() -> (engine::Simulation, Vec<Occupancy>) {
    let sends: Vec<u64> =
        LC_STEPS.iter().filter_map(|s| if let LcStep::Send(t) = s { Some(*t) } else { None }).collect();
    let server = |name: &str| serde_json::json!({ "name": name, "maxconn": 1, "maxqueue": 2 });
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": "leastconn",
                                 "servers": [ server("s1"), server("s2") ],
                                 "timeout_queue": "1s", "timeout_server": "100s" });
    let mut sim = two_servers(&sends, lb, [("s1", "100s"), ("s2", "100s")], serde_json::json!([]));
    let mut seen = Vec::new();
    let mut last = 0;
    for step in LC_STEPS {
        // Halfway to the next unit after a send; a second and a half after
        // the last send for the timeouts.
        last = match step {
            LcStep::Send(t) => t,
            LcStep::QueuesTimedOut => last + 15,
        };
        sim.run_until((last * 100 + 50) * 1_000_000);
        seen.push(engine_occupancy(&sim));
    }
    (sim, seen)
}

/// The occupancy HAProxy's `show stat` reports for `backend`, whose
/// servers are s1 and `second`.
fn occupancy_of(socket: &Path, backend: &str, second: &str) -> Occupancy {
    let rows = show_stat(socket, backend, &["s1", second, "BACKEND"], &["scur", "qcur"]);
    let n: Vec<Vec<u32>> = rows.iter().map(|r| r.iter().map(|v| v.parse().unwrap_or(0)).collect()).collect();
    ([(n[0][0], n[0][1]), (n[1][0], n[1][1])], n[2][1])
}

fn total(o: &Occupancy) -> u32 {
    o.0.iter().map(|(s, q)| s + q).sum::<u32>() + o.1
}

/// Clients c1..cN, each sending one read (key `i + 1`) at `sends[i]`
/// units of 100 ms and waiting up to 100 s, through load balancer `lb`
/// (its node) to the app servers `servers` (name, service time), with
/// `faults`; links of 10 µs.
fn two_servers(
    sends: &[u64],
    lb: serde_json::Value,
    servers: [(&str, &str); 2],
    faults: serde_json::Value,
) -> engine::Simulation {
    let mut nodes: Vec<serde_json::Value> = sends
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({ "name": format!("c{}", i + 1), "type": "client", "target": "lb", "timeout": "100s",
                                "workload": { "kind": "script",
                                              "requests": [ { "at": format!("{}ms", t * 100), "read": i + 1 } ] } })
        })
        .collect();
    nodes.push(lb);
    for (name, service_time) in servers {
        nodes.push(serde_json::json!({ "name": name, "type": "server", "workers": 10, "service_time": service_time }));
    }
    let mut links: Vec<serde_json::Value> = (1..=sends.len())
        .map(|i| serde_json::json!({ "between": [format!("c{i}"), "lb"], "latency": "10us" }))
        .collect();
    links.extend(servers.map(|(s, _)| serde_json::json!({ "between": ["lb", s], "latency": "10us" })));
    let scenario = serde_json::json!({ "version": 1, "seed": 1, "nodes": nodes, "links": links, "faults": faults });
    engine::Simulation::new(&engine::Scenario::from_value(scenario).expect("valid")).unwrap()
}

/// The engine's occupancy of load balancer `lb`'s default backend now.
fn engine_occupancy(sim: &engine::Simulation) -> Occupancy {
    use engine::sim::Detail;
    let Detail::LoadBalancer { servers, backends, .. } = sim.node_state(sim.node_id("lb").unwrap()).detail else {
        panic!("a load balancer")
    };
    ([0, 1].map(|i| (servers[i].served, servers[i].queued as u32)), backends[0].queued as u32)
}

/// The real HAProxy on the engine's rendering of load balancer `lb`, its
/// servers at 127.0.0.1:`server_port(name)`, with an admin socket of its
/// own (tests run at the same time), and with `log_format` each request
/// logged as [`launch_logged`] does. The socket goes when it is dropped.
struct AdminHaProxy {
    haproxy: HaProxy,
    cfg: String,
    socket: PathBuf,
    /// The rendered backend's name (`lb_servers`).
    backend: String,
}

impl AdminHaProxy {
    fn launch(sim: &engine::Simulation, server_port: impl Fn(&str) -> u16, log_format: Option<&str>) -> AdminHaProxy {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let run = RUNS.fetch_add(1, Ordering::SeqCst);
        let socket = std::env::temp_dir().join(format!("clusterlab-admin-{}-{run}.sock", std::process::id()));
        let port = free_port();
        let (global, frontend) = log_format.map(log_lines).unwrap_or_default();
        let global = format!("{global}    stats socket {} level admin\n", socket.display());
        let cfg = local_cfg(sim, sim.node_id("lb").unwrap(), port, server_port, &global, &frontend);
        let backend = cfg.lines().find_map(|l| l.strip_prefix("backend ")).expect("a backend section").to_string();
        let haproxy = HaProxy::launch(&cfg, port);
        AdminHaProxy { haproxy, cfg, socket, backend }
    }

    /// `set server <backend>/<command>`, which HAProxy must take.
    fn set_server(&self, command: &str) {
        let answer = admin(&self.socket, &format!("set server {}/{command}", self.backend));
        assert!(answer.trim().is_empty(), "{command}: {answer}");
    }

    /// Bounded polling of the occupancy (servers s1 and `second`) until
    /// `done`; `step` says which wait failed.
    fn wait_occupancy(&self, second: &str, step: &str, done: impl Fn(&Occupancy) -> bool) -> Occupancy {
        let start = Instant::now();
        loop {
            let o = occupancy_of(&self.socket, &self.backend, second);
            if done(&o) {
                return o;
            }
            assert!(start.elapsed() < DEADLINE, "{step}: {o:?}; config:\n{}", self.cfg);
            thread::sleep(WallDuration::from_millis(5));
        }
    }
}

impl Drop for AdminHaProxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// `balance leastconn` with server queues against HAProxy 2.6. With
/// `maxqueue`, leastconn may pick a server that is at its `maxconn`
/// (it passes over one only when `served + queued >= maxconn +
/// maxqueue`), and the request waits in that server's queue. HAProxy
/// moves a server in its tree only when it takes or drops a connection,
/// not when its queue grows or shrinks, while its full-server test reads
/// the live counts. So s1, first at the key both share, takes the third
/// and the fourth requests into its queue (a server repositioned on
/// every queue change would have let s2 take the fourth), and once the
/// queues have timed out s1 is first again and takes two more (one whose
/// queue length was not updated on a timeout would look full, and the
/// request would wait in the backend's queue). The engine's rendering
/// runs in the real HAProxy; after each step the servers' connections
/// and queues and the backend's queue, from its `show stat`, must be the
/// engine's.
#[test]
fn leastconn_server_queues_match_haproxy() {
    let (sim, ours) = leastconn_server_queues();
    let s1_first = [([(1, 0), (0, 0)], 0), ([(1, 0), (1, 0)], 0), ([(1, 1), (1, 0)], 0), ([(1, 2), (1, 0)], 0)];
    assert_eq!(ours[..4], s1_first, "the engine");

    let servers = [HoldingBackend::start("s1"), HoldingBackend::start("s2")];
    let haproxy = AdminHaProxy::launch(&sim, |name| servers[usize::from(name == "s2")].port, None);
    let mut real = Vec::new();
    let mut sent = Vec::new();
    let mut expected_total = 0;
    for step in LC_STEPS {
        expected_total = match step {
            LcStep::Send(_) => {
                sent.push(haproxy.haproxy.send_held("lb", "1"));
                expected_total + 1
            }
            // The two held requests.
            LcStep::QueuesTimedOut => 2,
        };
        let step = format!("step {}", real.len() + 1);
        real.push(haproxy.wait_occupancy("s2", &step, |o| total(o) == expected_total));
    }
    drop(servers);
    for s in sent {
        s.join().expect("a held request is answered");
    }
    let cfg = haproxy.cfg.clone();
    drop(haproxy);
    assert_eq!(real, ours, "HAProxy (left) against the engine; config:\n{cfg}");
}

// ---------------------------------------------------------------------------
// minconn and fullconn: a server's limit follows the backend's load

/// Two servers at `maxconn 4 minconn 1` in a backend with `fullconn 8`,
/// eight requests held one after another (100 ms apart): the occupancy
/// after each. Each server may serve `max(1, beconn × 4 / 8)` at once,
/// `beconn` counting the request being placed.
fn dynamic_maxconn_occupancy(balance: &str) -> (engine::Simulation, Vec<Occupancy>) {
    let sends: Vec<u64> = (1..=8).collect();
    let server = |name: &str| serde_json::json!({ "name": name, "maxconn": 4, "minconn": 1 });
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": balance, "fullconn": 8,
                                 "servers": [ server("s1"), server("s2") ],
                                 "timeout_queue": "100s", "timeout_server": "100s" });
    let mut sim = two_servers(&sends, lb, [("s1", "100s"), ("s2", "100s")], serde_json::json!([]));
    let mut seen = Vec::new();
    for &t in &sends {
        sim.run_until((t * 100 + 50) * 1_000_000);
        seen.push(engine_occupancy(&sim));
    }
    (sim, seen)
}

/// `minconn`/`fullconn` (`srv_dynamic_maxconn`) against HAProxy 2.6: where
/// each held request goes. Round robin queues every request in the
/// backend once one waits there (`assign_server`: the backend queue means
/// every server is full), although the servers' limits have grown since;
/// leastconn places each on a server that is under its grown limit.
#[test]
fn minconn_and_fullconn_match_haproxy() {
    for balance in ["roundrobin", "leastconn"] {
        let (sim, ours) = dynamic_maxconn_occupancy(balance);
        let servers = [HoldingBackend::start("s1"), HoldingBackend::start("s2")];
        let haproxy = AdminHaProxy::launch(&sim, |name| servers[usize::from(name == "s2")].port, None);
        let mut real = Vec::new();
        let mut sent = Vec::new();
        for n in 1..=ours.len() as u32 {
            sent.push(haproxy.haproxy.send_held("lb", "1"));
            real.push(haproxy.wait_occupancy("s2", &format!("{balance}, request {n}"), |o| total(o) == n));
        }
        drop(servers);
        for s in sent {
            s.join().expect("a held request is answered");
        }
        let cfg = haproxy.cfg.clone();
        drop(haproxy);
        assert_eq!(real, ours, "{balance}: HAProxy (left) against the engine; config:\n{cfg}");
    }
}

// ---------------------------------------------------------------------------
// set server ... state ready|drain|maint

/// The commands between runs of sequential requests, and how many requests
/// follow each (the first entry has no command).
const ADMIN_PHASES: [(&str, usize); 9] = [
    ("", 7),
    ("web2 drain", 7),
    ("web1 maint", 5),
    ("web2 ready", 7),
    ("web1 ready", 9),
    ("web3 drain", 5),
    ("web3 maint", 3),
    ("web1 drain", 3),
    ("web3 ready", 6),
];

/// The weight changes between runs of sequential requests (`set server
/// ... weight`), for the algorithms whose weights can change.
const WEIGHT_PHASES: [(&str, usize); 8] = [
    ("", 7),
    ("web3 weight 4", 9),
    ("web1 weight 0", 6),
    ("web1 weight 100%", 9),
    ("web2 weight 50%", 8),
    ("web3 weight 0%", 5),
    ("web3 weight 1", 7),
    // The weight it has: nothing moves.
    ("web2 weight 1", 7),
];

/// And for `static-rr`, which takes only 0% and 100%.
const STATIC_WEIGHT_PHASES: [(&str, usize); 5] =
    [("", 7), ("web2 weight 0", 6), ("web1 weight 0%", 3), ("web2 weight 100%", 7), ("web1 weight 3", 9)];

/// A load balancer with `balance` over web1..web3 (weights 3, 2, 1,
/// HTTP checks every 100 ms), sequential requests 100 ms apart, and the
/// operator's commands of `phases` (`web2 drain`: `set server ... state`;
/// `web2 weight 4`: `set server ... weight`) between them. Returns the
/// simulation and the server of each request.
fn admin_run(balance: &str, phases: &[(&str, usize)]) -> (engine::Simulation, Vec<String>) {
    use engine::message::Message;
    use engine::trace::What;
    let mut requests = Vec::new();
    let mut faults = Vec::new();
    let mut at = 100;
    for &(command, n) in phases {
        let words: Vec<&str> = command.split_whitespace().collect();
        let at_ms = format!("{}ms", at - 50);
        match words[..] {
            [server, "weight", w] => {
                let weight = w.parse::<u32>().map_or_else(|_| serde_json::json!(w), |n| serde_json::json!(n));
                faults.push(serde_json::json!({ "at": at_ms, "action": "set_server_weight",
                                                "node": "lb", "server": server, "weight": weight }));
            }
            [server, state] => {
                faults.push(serde_json::json!({ "at": at_ms, "action": "set_server_state",
                                                "node": "lb", "server": server, "state": state }));
            }
            _ => {}
        }
        for _ in 0..n {
            requests.push(serde_json::json!({ "at": format!("{at}ms"), "read": 1 }));
            at += 100;
        }
    }
    let server = |name: &str, weight: u32| serde_json::json!({ "name": name, "weight": weight, "check": true, "inter": "100ms" });
    let backend = |name: &str| serde_json::json!({ "name": name, "type": "server", "service_time": "1ms" });
    let scenario = serde_json::json!({
        "version": 1, "seed": 1,
        "nodes": [
            { "name": "c", "type": "client", "target": "lb", "timeout": "1s",
              "workload": { "kind": "script", "requests": requests } },
            { "name": "lb", "type": "load_balancer", "balance": balance,
              "servers": [ server("web1", 3), server("web2", 2), server("web3", 1) ] },
            backend("web1"), backend("web2"), backend("web3")
        ],
        "links": [ { "between": ["c", "lb"] }, { "between": ["lb", "web1"] }, { "between": ["lb", "web2"] },
                   { "between": ["lb", "web3"] } ],
        "faults": faults
    });
    let mut sim = engine::Simulation::new(&engine::Scenario::from_value(scenario).expect("valid")).unwrap();
    sim.run_until((at + 1_000) * 1_000_000);
    let lb = sim.node_id("lb").unwrap();
    let picks = sim
        .trace()
        .events()
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver { from, to, msg: Message::Request(_), .. } if *from == lb => {
                Some(sim.node_name(*to).to_string())
            }
            _ => None,
        })
        .collect();
    (sim, picks)
}

/// An operator's `set server <backend>/<server> state ready|drain|maint`
/// against HAProxy 2.6's runtime API: for `roundrobin`, `static-rr`,
/// `leastconn` and `first`, the engine's rendering runs in the real
/// HAProxy, which gets the same commands on its admin socket between the
/// same sequential requests; the server of every request must be the
/// engine's. Drained and maintained servers get nothing, and each
/// algorithm takes them back where HAProxy does (a server leaving
/// maintenance is UP at once: its health starts at `rise`).
#[test]
fn set_server_state_matches_haproxy() {
    for balance in ["roundrobin", "static-rr", "leastconn", "first"] {
        admin_matches_haproxy(balance, &ADMIN_PHASES);
    }
}

/// `set server <backend>/<server> weight <w>[%]` against HAProxy 2.6's
/// admin socket, as [`set_server_state_matches_haproxy`] does: weights
/// raised, set to 0 (out of the rotation), back to 100% of the line's,
/// halved, for `roundrobin`, `leastconn` and `first`, and only 0 and 100%
/// for `static-rr`.
#[test]
fn set_server_weight_matches_haproxy() {
    for balance in ["roundrobin", "leastconn", "first"] {
        admin_matches_haproxy(balance, &WEIGHT_PHASES);
    }
    admin_matches_haproxy("static-rr", &STATIC_WEIGHT_PHASES);
}

/// The engine's run of `phases` and HAProxy's on its rendering, with the
/// same commands on its admin socket between the same sequential
/// requests: the server of every request must be the same.
fn admin_matches_haproxy(balance: &str, phases: &[(&str, usize)]) {
    let (sim, ours) = admin_run(balance, phases);
    let total: usize = phases.iter().map(|(_, n)| n).sum();
    assert_eq!(ours.len(), total, "{balance}: every request reached a server");

    let names = ["web1", "web2", "web3"];
    let servers: Vec<Backend> = names.iter().map(|n| Backend::start(n)).collect();
    let haproxy = AdminHaProxy::launch(&sim, |name| servers[names.iter().position(|n| *n == name).unwrap()].port, None);
    let mut real = Vec::new();
    for &(command, n) in phases {
        if let Some((server, rest)) = command.split_once(' ') {
            let rest = if rest.starts_with("weight") { rest.to_string() } else { format!("state {rest}") };
            haproxy.set_server(&format!("{server} {rest}"));
        }
        real.extend((0..n).map(|_| haproxy.haproxy.request("GET", "/", "")).map(|(status, body)| {
            assert_eq!(status, 200, "{balance}");
            body
        }));
    }
    let cfg = haproxy.cfg.clone();
    drop(haproxy);
    assert_eq!(ours.join(" "), real.join(" "), "{balance}: the engine (left) against HAProxy; config:\n{cfg}");
}

/// `set server ... state drain` on a server with requests in its own
/// queue, against HAProxy 2.6. Leastconn over s1 and s2, `maxconn 1
/// maxqueue 2`, every request held: r1 to s1, r2 to s2, r3 and r4 into
/// s1's queue; then s1 is drained, and r5, r6 go to s2's queue and r7 to
/// the backend's. The occupancy after each step (`show stat`) and, once
/// the servers answer, the server of each request (the log) must be the
/// engine's: without `redispatch` a drained server keeps its queue and
/// serves it as its slots free (`process_srv_queue`), but takes nothing
/// from the backend's queue.
#[test]
fn a_drained_server_serves_its_own_queue_like_haproxy() {
    use engine::message::{Message, Op};
    use engine::trace::What;
    const SENDS: [u64; 7] = [1, 2, 3, 4, 6, 7, 8];
    const DRAIN_AT: u64 = 5;
    let server = |name: &str| serde_json::json!({ "name": name, "maxconn": 1, "maxqueue": 2 });
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": "leastconn",
                                 "servers": [ server("s1"), server("s2") ],
                                 "timeout_queue": "100s", "timeout_server": "100s" });
    let faults = serde_json::json!([{ "at": format!("{}ms", DRAIN_AT * 100), "action": "set_server_state",
                                      "node": "lb", "server": "s1", "state": "drain" }]);
    let mut sim = two_servers(&SENDS, lb, [("s1", "2s"), ("s2", "2s")], faults);
    let lb = sim.node_id("lb").unwrap();
    let mut ours = Vec::new();
    let mut marks: Vec<u64> = SENDS.to_vec();
    marks.push(DRAIN_AT);
    marks.sort_unstable();
    for t in &marks {
        sim.run_until((t * 100 + 50) * 1_000_000);
        ours.push(engine_occupancy(&sim));
    }
    sim.run_until(60_000_000_000);
    let mut served_by = vec![String::new(); SENDS.len()];
    for e in sim.trace().events() {
        if let What::Deliver { from, to, msg: Message::Request(r), .. } = &e.what {
            if *from == lb {
                let Op::Read { key } = r.op else { panic!("reads only") };
                served_by[key as usize - 1] = sim.node_name(*to).to_string();
            }
        }
    }
    assert_eq!(served_by, ["s1", "s2", "s1", "s1", "s2", "s2", "s2"], "the engine");
    assert_eq!(ours[4], ([(1, 2), (1, 0)], 0), "the engine, just after the drain");

    // The real HAProxy.
    let servers = [HoldingBackend::start("s1"), HoldingBackend::start("s2")];
    let haproxy = AdminHaProxy::launch(&sim, |name| servers[usize::from(name == "s2")].port, Some("%HP %s %ST %Ta"));
    let mut real = Vec::new();
    let mut sent = Vec::new();
    for t in &marks {
        let want = if *t == DRAIN_AT {
            haproxy.set_server("s1 state drain");
            sent.len() as u32
        } else {
            let k = sent.len() + 1;
            let port = haproxy.haproxy.port;
            sent.push(thread::spawn(move || {
                let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                let req = format!("GET /r{k} HTTP/1.1\r\nHost: lab\r\nx-hold: 1\r\nConnection: close\r\n\r\n");
                conn.write_all(req.as_bytes()).expect("send");
                let _ = conn.read_to_end(&mut Vec::new());
            }));
            k as u32
        };
        real.push(haproxy.wait_occupancy("s2", &format!("at {t}"), |o| total(o) == want));
    }
    assert_eq!(real, ours, "occupancy: HAProxy (left) against the engine; config:\n{}", haproxy.cfg);
    for s in &servers {
        s.release();
    }
    for s in sent {
        s.join().expect("answered");
    }
    let real_served: Vec<String> = (1..=SENDS.len())
        .map(|k| {
            let i = haproxy.haproxy.wait_line(0, &format!("request /r{k} "));
            let line = haproxy.haproxy.lines.lock().unwrap()[i].clone();
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words.get(3), Some(&"200"), "{line}");
            words[2].to_string()
        })
        .collect();
    drop(haproxy);
    assert_eq!(real_served, served_by, "who served each request: HAProxy (left) against the engine");
}

/// A backup server takes nothing from the backend's queue while an active
/// server is UP (`process_srv_queue`'s `px_ok`), against HAProxy 2.6.
/// `s1` (active) and `bk` (backup), both `maxconn 1`, holding every
/// request: with `s1` in maintenance r1 goes to `bk` and r2 waits in
/// `bk`'s own queue (the only server round robin has); `s1` made ready
/// takes r3, and r4 waits in the backend's queue. Then `bk` answers r1
/// and r2: its slot is free, but r4 stays queued for `s1`. The occupancy
/// after each step must be the engine's.
#[test]
fn a_backup_server_leaves_the_backend_queue_to_active_servers_like_haproxy() {
    // Units of 100 ms: what happens at each, and when the engine is looked at.
    let (maint, sends, ready, bk_done) = (0u64, [1u64, 2, 4, 5], 3u64, 25u64);
    let lb = serde_json::json!({ "name": "lb", "type": "load_balancer", "balance": "roundrobin",
                                 "servers": [ { "name": "s1", "maxconn": 1 }, { "name": "bk", "maxconn": 1, "backup": true } ],
                                 "timeout_queue": "100s", "timeout_server": "100s" });
    let admin_at = |t: u64, state: &str| {
        serde_json::json!({ "at": format!("{}ms", t * 100 + 50), "action": "set_server_state",
                            "node": "lb", "server": "s1", "state": state })
    };
    let faults = serde_json::json!([admin_at(maint, "maint"), admin_at(ready, "ready")]);
    let mut sim = two_servers(&sends, lb, [("s1", "100s"), ("bk", "1s")], faults);
    let mut ours: Vec<Occupancy> = Vec::new();
    for t in [1, 2, 3, 4, 5, bk_done] {
        sim.run_until((t * 100 + 75) * 1_000_000);
        ours.push(engine_occupancy(&sim));
    }
    let expected = [
        ([(0, 0), (1, 0)], 0),
        ([(0, 0), (1, 1)], 0),
        ([(0, 0), (1, 1)], 0),
        ([(1, 0), (1, 1)], 0),
        ([(1, 0), (1, 1)], 1),
        ([(1, 0), (0, 0)], 1),
    ];
    assert_eq!(ours, expected, "the engine");

    // The real HAProxy: the same steps, each awaited in `show stat`.
    let servers = [HoldingBackend::start("s1"), HoldingBackend::start("bk")];
    let haproxy = AdminHaProxy::launch(&sim, |name| servers[usize::from(name == "bk")].port, None);
    let set = |state: &str| haproxy.set_server(&format!("s1 state {state}"));
    let send = || haproxy.haproxy.send_held("lb", "1");
    let wait = |step: &str, done: &dyn Fn(&Occupancy) -> bool| haproxy.wait_occupancy("bk", step, done);
    set("maint");
    let mut sent = vec![send()];
    let mut real = vec![wait("r1", &|o| total(o) == 1)];
    sent.push(send());
    real.push(wait("r2", &|o| total(o) == 2));
    // The command is done when the socket answers: nothing to wait for.
    set("ready");
    real.push(wait("ready", &|_| true));
    sent.push(send());
    real.push(wait("r3", &|o| total(o) == 3));
    sent.push(send());
    real.push(wait("r4", &|o| total(o) == 4));
    // bk answers r1, then r2 from its own queue: its slot is free.
    servers[1].release();
    real.push(wait("bk free", &|o| o.0[1].0 == 0 && total(o) <= 2));
    drop(servers);
    for s in sent {
        s.join().expect("answered");
    }
    let cfg = haproxy.cfg.clone();
    drop(haproxy);
    assert_eq!(real, ours, "HAProxy (left) against the engine; config:\n{cfg}");
}

/// What `set server ... weight` refuses, against HAProxy 2.6: on a
/// `static-rr` backend any weight but 0% and 100% of the line's (web1's
/// is 3: `3` is 100%), and anywhere an absolute weight above 256. HAProxy
/// answers each on its admin socket; the engine refuses the same as
/// faults when it reads the scenario, and takes what HAProxy takes.
#[test]
fn set_server_weight_refuses_what_haproxy_refuses() {
    let cases = [
        ("5", Some("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.")),
        ("50%", Some("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.")),
        ("257", Some("Absolute weight can only be between 0 and 256 inclusive.")),
        ("3", None),
        ("0", None),
        ("100%", None),
    ];
    let (sim, _) = admin_run("static-rr", &[("", 1)]);
    let names = ["web1", "web2", "web3"];
    let servers: Vec<Backend> = names.iter().map(|n| Backend::start(n)).collect();
    let haproxy = AdminHaProxy::launch(&sim, |name| servers[names.iter().position(|n| *n == name).unwrap()].port, None);
    for (weight, refused) in cases {
        let answer = admin(&haproxy.socket, &format!("set server {}/web1 weight {weight}", haproxy.backend));
        match refused {
            Some(message) => assert!(answer.contains(message), "HAProxy, weight {weight}: {answer}"),
            None => assert!(answer.trim().is_empty(), "HAProxy, weight {weight}: {answer}"),
        }
        let mut scenario = engine::scenario::to_value(sim.scenario());
        let w = weight.parse::<u32>().map_or_else(|_| serde_json::json!(weight), |n| serde_json::json!(n));
        scenario["faults"] = serde_json::json!([{ "at": "1s", "action": "set_server_weight", "node": "lb",
                                                  "server": "web1", "weight": w }]);
        let ours = engine::Scenario::from_value(scenario);
        match refused {
            Some(_) => {
                let e = ours.expect_err("refused").to_string();
                let expected = match weight {
                    "257" => "an absolute weight can only be between 0 and 256 inclusive",
                    _ => "accepts only weights 0% and 100%",
                };
                let at = "faults[0].weight: ";
                assert!(e.contains(at) && e.contains(expected), "the engine, weight {weight}: {e}");
            }
            None => assert!(ours.is_ok(), "the engine, weight {weight}: {:?}", ours.err()),
        }
    }
    drop(haproxy);
}

/// The state column of `<backend>/<server>` in `show stat`.
fn server_status(socket: &Path, backend: &str, server: &str) -> String {
    let csv = admin(socket, "show stat");
    let header: Vec<&str> = csv.lines().next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let status = header.iter().position(|&h| h == "status").unwrap_or_else(|| panic!("no status: {csv}"));
    let row = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r.len() > status && r[0] == backend && r[1] == server)
        .unwrap_or_else(|| panic!("no {backend}/{server} in:\n{csv}"));
    row[status].to_string()
}

/// An operator's command to a stopped HAProxy (SIGSTOP): the admin
/// socket takes the connection and the command (the kernel's), and
/// HAProxy carries it out once it continues (SIGCONT); a dead HAProxy's
/// socket refuses the connection. The engine does the same with a paused
/// and a crashed load balancer
/// (`a_paused_load_balancer_takes_a_runtime_command_when_it_resumes_and_a_dead_one_refuses_it`
/// in load_balancer.rs).
#[test]
fn a_stopped_haproxy_takes_a_runtime_command_when_it_continues() {
    let (sim, _) = admin_run("roundrobin", &[("", 1)]);
    let names = ["web1", "web2", "web3"];
    let servers: Vec<Backend> = names.iter().map(|n| Backend::start(n)).collect();
    let mut haproxy =
        AdminHaProxy::launch(&sim, |name| servers[names.iter().position(|n| *n == name).unwrap()].port, None);
    let (socket, backend) = (haproxy.socket.clone(), haproxy.backend.clone());
    assert_ne!(server_status(&socket, &backend, "web2"), "MAINT");
    let pid = haproxy.haproxy.child.id().to_string();
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success(), "kill {sig}");
    signal("-STOP");
    // Stopped: its state in /proc is `T`.
    let state =
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap().rsplit(") ").next().unwrap().chars().next();
    let start = Instant::now();
    while state() != Some('T') {
        assert!(start.elapsed() < DEADLINE, "haproxy did not stop");
        thread::yield_now();
    }
    let (written_tx, written) = std::sync::mpsc::channel();
    let (answer_tx, answer) = std::sync::mpsc::channel();
    let command = format!("set server {backend}/web2 state maint\n");
    let sock = socket.clone();
    thread::spawn(move || {
        let mut conn = std::os::unix::net::UnixStream::connect(&sock).expect("the stopped process's socket connects");
        conn.write_all(command.as_bytes()).unwrap();
        written_tx.send(()).unwrap();
        let mut text = String::new();
        conn.set_read_timeout(Some(DEADLINE)).unwrap();
        conn.read_to_string(&mut text).expect("the answer, once it continues");
        answer_tx.send(text).unwrap();
    });
    written.recv_timeout(DEADLINE).expect("the command was written while HAProxy was stopped");
    assert_eq!(state(), Some('T'), "still stopped when the command was written");
    signal("-CONT");
    let text = answer.recv_timeout(DEADLINE).expect("an answer after SIGCONT");
    assert!(text.trim().is_empty(), "{text}");
    assert_eq!(server_status(&socket, &backend, "web2"), "MAINT");
    // Dead: the socket file is there, and nothing listens on it.
    haproxy.haproxy.child.kill().unwrap();
    haproxy.haproxy.child.wait().unwrap();
    let refused = std::os::unix::net::UnixStream::connect(&socket).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused, "{refused}");
}
