//! A real `redis-server` for differential tests: started by the test on a
//! free loopback port, with no persistence unless asked, and killed when
//! dropped (also when the test panics). Plus a minimal RESP2 client over `TcpStream`.
//!
//! Used by `engine/tests/redis_*.rs` through `#[path]`.
#![allow(dead_code)]

use engine::redis::Reply;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SETUP_HINT: &str = "the differential tests need Debian's redis-server 7.0 \
     (/usr/bin/redis-server): run scripts/setup.sh, which installs it (apt-get install redis-server)";

/// Connection attempts while the server starts, 10 ms apart (2 s in all).
const START_ATTEMPTS: u32 = 200;
/// Ports tried, in case another process takes the free port first.
const PORT_ATTEMPTS: u32 = 5;

pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// Its working directory: a replica saves the RDB it receives there,
    /// and `--appendonly yes` keeps its append-only file there.
    dir: std::path::PathBuf,
    /// Remove `dir` when dropped.
    remove_dir: bool,
}

impl RedisServer {
    /// Starts `redis-server` on 127.0.0.1 and waits until it answers PING.
    /// Panics (failing the test) if it is not installed or not Redis 7.0.
    pub fn start() -> RedisServer {
        Self::start_with(&[], None)
    }

    /// Starts it with `args` after the defaults (later options win), in
    /// `dir` if given (a directory a killed server left), else in a fresh
    /// temporary one.
    pub fn start_with(args: &[&str], dir: Option<&std::path::Path>) -> RedisServer {
        Self::start_from(None, args, dir)
    }

    /// Starts it from the configuration file `conf` (nothing else but the
    /// port, address, directory and log): what the file does not say is
    /// Redis's default.
    pub fn start_with_conf(conf: &std::path::Path) -> RedisServer {
        Self::start_from(Some(conf), &[], None)
    }

    fn start_from(conf: Option<&std::path::Path>, args: &[&str], dir: Option<&std::path::Path>) -> RedisServer {
        for _ in 0..PORT_ATTEMPTS {
            if let Some(server) = Self::try_start(conf, args, dir) {
                server.check_version();
                return server;
            }
        }
        panic!("redis-server did not start after {PORT_ATTEMPTS} attempts on free ports");
    }

    /// SIGKILL, as `kill -9`: returns its directory, kept for a restart
    /// (the caller removes it).
    pub fn kill(mut self) -> std::path::PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.remove_dir = false;
        self.dir.clone()
    }

    fn try_start(conf: Option<&std::path::Path>, args: &[&str], dir: Option<&std::path::Path>) -> Option<RedisServer> {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            listener.local_addr().expect("local address").port()
        };
        let given = dir.is_some();
        let dir = dir.map_or_else(
            || std::env::temp_dir().join(format!("clusterlab-redis-{}-{port}", std::process::id())),
            std::path::Path::to_path_buf,
        );
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        let mut command = Command::new("redis-server");
        // Redis reads a configuration file only as its first argument.
        match conf {
            Some(conf) => command.arg(conf).args(["--port", &port.to_string(), "--bind", "127.0.0.1"]),
            None => {
                command.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            }
        };
        let child = command
            .args(args)
            .arg("--dir")
            .arg(&dir)
            .args(["--daemonize", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!("redis-server is not installed: {SETUP_HINT}"),
            Err(e) => panic!("cannot start redis-server ({e}): {SETUP_HINT}"),
        };
        // A directory given is not removed if this start fails (it holds
        // the files to start from); once started, the server owns it.
        let mut server = RedisServer { child, port, dir, remove_dir: !given };
        for _ in 0..START_ATTEMPTS {
            if let Ok(Some(_)) = server.child.try_wait() {
                return None; // exited: most likely the port was taken meanwhile
            }
            // Ours, not another test's server that won the port (which
            // may also close the connection as its test ends: try again).
            if let Some(info) = server_info(port) {
                if info_field(&info, "process_id") == Some(server.child.id().to_string()) {
                    server.remove_dir = true;
                    return Some(server);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not answer PING within {START_ATTEMPTS} attempts", server.port);
    }

    fn check_version(&self) {
        let info = self.client().info("server");
        let version = info_field(&info, "redis_version").unwrap_or_default();
        assert!(
            version.starts_with("7.0."),
            "the model follows Redis 7.0, but redis-server is {version}: {SETUP_HINT}"
        );
    }

    /// Waits until it has loaded its dataset (`INFO persistence` says
    /// `loading:0`): until then commands get `-LOADING`.
    pub fn wait_loaded(&self) {
        let mut c = self.client();
        for _ in 0..START_ATTEMPTS {
            if info_field(&c.info("persistence"), "loading").as_deref() == Some("0") {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not finish loading its dataset", self.port);
    }

    pub fn client(&self) -> RespClient {
        RespClient::connect(self.port).expect("connect to redis-server")
    }
}

/// `INFO server` from whatever answers on `port`, or `None` if the
/// connection fails or closes midway (no panic: the caller tries again).
fn server_info(port: u16) -> Option<String> {
    let client = RespClient::connect(port).ok()?;
    let (mut reader, mut writer) = (client.reader, client.writer);
    writer.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).ok()?;
    let len: usize = std::str::from_utf8(line.strip_prefix(b"$")?).ok()?.trim_end().parse().ok()?;
    let mut body = vec![0; len + 2];
    reader.read_exact(&mut body).ok()?;
    body.truncate(len);
    String::from_utf8(body).ok()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub struct RespClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The command being answered, for error messages.
    last: String,
}

impl RespClient {
    pub fn connect(port: u16) -> std::io::Result<RespClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(RespClient { reader: BufReader::new(stream.try_clone()?), writer: stream, last: String::new() })
    }

    /// Sends one command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> Reply {
        let mut out = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.last = argv.iter().map(|a| String::from_utf8_lossy(a.as_ref())).collect::<Vec<_>>().join(" ");
        if let Err(e) = self.writer.write_all(&out) {
            panic!("sending `{}` to redis-server: {e}", self.last);
        }
        self.read_reply()
    }

    fn read_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        if let Err(e) = self.reader.read_until(b'\n', &mut line) {
            panic!("reading the reply to `{}` from redis-server: {e}", self.last);
        }
        assert!(line.ends_with(b"\r\n"), "truncated reply line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    fn read_reply(&mut self) -> Reply {
        let line = self.read_line();
        let (kind, rest) = line.split_first().expect("empty reply line");
        let text = String::from_utf8_lossy(rest).into_owned();
        match kind {
            b'+' => Reply::Simple(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Integer(text.parse().expect("integer reply")),
            b'$' => {
                let len: i64 = text.parse().expect("bulk length");
                if len < 0 {
                    return Reply::Nil;
                }
                let mut body = vec![0; len as usize + 2];
                self.reader.read_exact(&mut body).expect("bulk body");
                body.truncate(len as usize);
                Reply::Bulk(body)
            }
            b'*' => {
                let n: i64 = text.parse().expect("array length");
                Reply::Array((0..n.max(0)).map(|_| self.read_reply()).collect())
            }
            other => panic!("unexpected RESP type byte {other:#x}"),
        }
    }

    /// `INFO section` as text.
    pub fn info(&mut self, section: &str) -> String {
        match self.call(&["INFO", section]) {
            Reply::Bulk(b) => String::from_utf8(b).expect("INFO is text"),
            other => panic!("INFO answered {other:?}"),
        }
    }

    pub fn info_u64(&mut self, section: &str, field: &str) -> u64 {
        let info = self.info(section);
        info_field(&info, field).unwrap_or_else(|| panic!("no {field} in INFO {section}")).parse().expect("a number")
    }

    pub fn ok<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let reply = self.call(argv);
        assert_eq!(
            reply,
            Reply::ok(),
            "{:?}",
            argv.iter().map(|a| String::from_utf8_lossy(a.as_ref())).collect::<Vec<_>>()
        );
    }
}

pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).map(|v| v.trim().to_string())
}

/// The host's wall clock in milliseconds: what `redis-server` reads, so
/// the model, given the same clock, sees the same expiry times.
pub fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}
