//! Command-line arguments, checked with clear messages.

use engine::fault::nemesis::NemesisFault;
use engine::Duration;

pub const USAGE: &str = "\
usage:
  clusterlab run <scenario.json> [--seed N] [--until <duration>] [--trace <file.jsonl>]
                 [--history <file.json>]
      Runs a scenario and prints a JSON report: events processed, the trace
      hash, metrics, the consistency verdicts. --seed overrides the
      scenario's seed; --until how much simulated time to run (e.g. 30s,
      1500ms; default: the scenario's duration); --trace writes every event
      as JSON lines; --history writes the client history for `check`.
  clusterlab path <scenario.json> <operation|slowest|latest-failed> [--seed N]
      Follows one client operation through the system and prints its path:
      each message sent on its behalf (delivered or dropped) and each note a
      node made while working for it, with the time since it was invoked.
      <operation> is its place in the client history (from 0, as in the
      --history file); in a scenario whose clients are Kafka producers and
      consumers, a producer's send, by its place in the Kafka history.
      `slowest` picks the completed one that took longest, `latest-failed`
      the last invoked of those that failed or got no answer.
  clusterlab nemesis <scenario.json> [--faults partition,majorities-ring,kill,pause,clock]
                     [--targets a,b,...] [--from D] [--until D] [--interval D] [--seed N]
      Adds random faults to a scenario, Jepsen's way, and prints it: every
      --interval on average (default 10s) the nemesis breaks something,
      then mends it; from --from (default 0s) to --until (default: the
      scenario's duration), when all is mended. --targets: the nodes it may
      strike (default: all but clients, producers and consumers); --faults
      defaults to all but majorities-ring (it needs four targets). --seed
      sets the scenario's seed, which the faults are drawn from too.
  clusterlab validate <scenario.json>...
      Checks scenario files and says what is wrong and where.
  clusterlab haproxy-cfg <scenario.json> <node>
      Prints the load balancer <node> as a haproxy.cfg for HAProxy 2.6, to
      run the same configuration in the real program.
  clusterlab redis-conf <scenario.json> <node>
      Prints the cache <node> as a redis.conf for Redis 7.0, likewise.
  clusterlab check [--format jepsen-etcd|jepsen-edn|json] [--model register|kv|counter|set|log]
                   [--timeout <duration>] <history>...
      Checks each history for linearizability and Jepsen-style anomalies and
      prints one JSON object per file (JSON lines): `linearizable` is true,
      false, or null when the check ran out of budget (--timeout, e.g. 10s,
      per file; default: a fixed step budget). --format defaults to json
      (the format `run --history` writes; docs/history-format.md); --model
      to the json file's own, else register.
  clusterlab --help | --version";

#[derive(Debug, PartialEq)]
pub struct RunArgs {
    pub scenario: String,
    pub seed: Option<u64>,
    pub until: Option<Duration>,
    pub trace: Option<String>,
    pub history: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFormat {
    JepsenEtcd,
    JepsenEdn,
    Json,
}

#[derive(Debug, PartialEq)]
pub struct CheckArgs {
    pub format: HistoryFormat,
    pub model: Option<checker::any::ModelKind>,
    pub timeout: Option<Duration>,
    pub files: Vec<String>,
}

/// Which operation `path` follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpChoice {
    Index(u32),
    Slowest,
    LatestFailed,
}

#[derive(Debug, PartialEq)]
pub struct PathArgs {
    pub scenario: String,
    pub op: OpChoice,
    pub seed: Option<u64>,
}

/// What `nemesis` was asked for; unset options take the defaults in USAGE.
#[derive(Debug, Default, PartialEq)]
pub struct NemesisArgs {
    pub scenario: String,
    pub faults: Option<Vec<NemesisFault>>,
    pub targets: Option<Vec<String>>,
    pub from: Option<Duration>,
    pub until: Option<Duration>,
    pub interval: Option<Duration>,
    pub seed: Option<u64>,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(RunArgs),
    Path(PathArgs),
    Nemesis(NemesisArgs),
    Validate(Vec<String>),
    HaproxyCfg { scenario: String, node: String },
    RedisConf { scenario: String, node: String },
    Check(CheckArgs),
    Help,
    Version,
}

pub fn parse(argv: &[String]) -> Result<Command, String> {
    let Some(cmd) = argv.first() else {
        return Err("no command given".into());
    };
    let rest = &argv[1..];
    match cmd.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        "run" => parse_run(rest).map(Command::Run),
        "path" => parse_path(rest).map(Command::Path),
        "nemesis" => parse_nemesis(rest).map(Command::Nemesis),
        "check" => parse_check(rest).map(Command::Check),
        "validate" => {
            if rest.is_empty() {
                return Err("validate needs at least one scenario file".into());
            }
            if let Some(flag) = rest.iter().find(|a| a.starts_with("--")) {
                return Err(format!("validate takes no option `{flag}`"));
            }
            Ok(Command::Validate(rest.to_vec()))
        }
        "haproxy-cfg" => match rest {
            [scenario, node] if !scenario.starts_with('-') && !node.starts_with('-') => {
                Ok(Command::HaproxyCfg { scenario: scenario.clone(), node: node.clone() })
            }
            _ => Err("haproxy-cfg needs a scenario file and the name of a load balancer in it".into()),
        },
        "redis-conf" => match rest {
            [scenario, node] if !scenario.starts_with('-') && !node.starts_with('-') => {
                Ok(Command::RedisConf { scenario: scenario.clone(), node: node.clone() })
            }
            _ => Err("redis-conf needs a scenario file and the name of a cache in it".into()),
        },
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Walks arguments: `--flag value`, `--flag=value`, or positionals.
struct Walk<'a> {
    it: std::slice::Iter<'a, String>,
}

enum Arg<'a> {
    /// A flag, with the value given after `=` if any.
    Flag(&'a str, Option<&'a str>),
    Positional(&'a String),
}

impl<'a> Walk<'a> {
    fn new(args: &'a [String]) -> Walk<'a> {
        Walk { it: args.iter() }
    }

    fn next_arg(&mut self) -> Option<Arg<'a>> {
        let arg = self.it.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => Arg::Flag(f, Some(v)),
            // `-` alone is a file: standard input.
            _ if arg.starts_with('-') && arg != "-" => Arg::Flag(arg, None),
            _ => Arg::Positional(arg),
        })
    }

    /// The flag's value: after its `=`, or the next argument.
    fn value(&mut self, flag: &str, inline: Option<&str>) -> Result<String, String> {
        inline.map(str::to_string).or_else(|| self.it.next().cloned()).ok_or_else(|| format!("{flag} needs a value"))
    }
}

/// A duration flag's value, which must be longer than zero.
fn positive_duration(flag: &str, v: &str) -> Result<Duration, String> {
    let d = Duration::parse(v).map_err(|e| format!("{flag}: {e}"))?;
    if d == Duration::ZERO {
        return Err(format!("{flag} must be longer than 0s"));
    }
    Ok(d)
}

fn seed(v: &str) -> Result<u64, String> {
    v.parse::<u64>().map_err(|_| format!("--seed must be a whole number from 0 to {}, got `{v}`", u64::MAX))
}

fn parse_nemesis(args: &[String]) -> Result<NemesisArgs, String> {
    let mut a = NemesisArgs::default();
    let mut scenario = None;
    let mut walk = Walk::new(args);
    while let Some(arg) = walk.next_arg() {
        match arg {
            Arg::Flag("--faults", inline) => {
                a.faults = Some(
                    NemesisFault::parse_list(&walk.value("--faults", inline)?).map_err(|e| format!("--faults: {e}"))?,
                )
            }
            Arg::Flag("--targets", inline) => {
                let v = walk.value("--targets", inline)?;
                let names: Vec<String> = v.split(',').map(|n| n.trim().to_string()).collect();
                if names.iter().any(String::is_empty) {
                    return Err(format!("--targets is a comma-separated list of node names, got `{v}`"));
                }
                a.targets = Some(names);
            }
            Arg::Flag("--from", inline) => {
                let v = walk.value("--from", inline)?;
                a.from = Some(Duration::parse(&v).map_err(|e| format!("--from: {e}"))?);
            }
            Arg::Flag("--until", inline) => {
                a.until = Some(positive_duration("--until", &walk.value("--until", inline)?)?)
            }
            Arg::Flag("--interval", inline) => {
                a.interval = Some(positive_duration("--interval", &walk.value("--interval", inline)?)?)
            }
            Arg::Flag("--seed", inline) => a.seed = Some(seed(&walk.value("--seed", inline)?)?),
            Arg::Flag(f, _) => return Err(format!("unknown option `{f}`")),
            Arg::Positional(p) => {
                if scenario.replace(p.clone()).is_some() {
                    return Err(format!("nemesis takes one scenario file; `{p}` is a second one"));
                }
            }
        }
    }
    a.scenario = scenario.ok_or("nemesis needs a scenario file")?;
    Ok(a)
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut scenario = None;
    let mut seed = None;
    let mut until = None;
    let mut trace = None;
    let mut history = None;
    let mut walk = Walk::new(args);
    while let Some(arg) = walk.next_arg() {
        match arg {
            Arg::Flag("--seed", inline) => seed = Some(self::seed(&walk.value("--seed", inline)?)?),
            Arg::Flag("--until", inline) => {
                until = Some(positive_duration("--until", &walk.value("--until", inline)?)?)
            }
            Arg::Flag("--trace", inline) => trace = Some(walk.value("--trace", inline)?),
            Arg::Flag("--history", inline) => history = Some(walk.value("--history", inline)?),
            Arg::Flag(f, _) => return Err(format!("unknown option `{f}`")),
            Arg::Positional(a) => {
                if scenario.replace(a.clone()).is_some() {
                    return Err(format!("run takes one scenario file; `{a}` is a second one"));
                }
            }
        }
    }
    let scenario = scenario.ok_or("run needs a scenario file")?;
    Ok(RunArgs { scenario, seed, until, trace, history })
}

fn parse_path(args: &[String]) -> Result<PathArgs, String> {
    let mut positionals = Vec::new();
    let mut seed = None;
    let mut walk = Walk::new(args);
    while let Some(arg) = walk.next_arg() {
        match arg {
            Arg::Flag("--seed", inline) => seed = Some(self::seed(&walk.value("--seed", inline)?)?),
            Arg::Flag(f, _) => return Err(format!("unknown option `{f}`")),
            Arg::Positional(a) => positionals.push(a.clone()),
        }
    }
    let [scenario, op] = <[String; 2]>::try_from(positionals).map_err(|_| {
        "path needs a scenario file and an operation (a number from 0, `slowest` or `latest-failed`)".to_string()
    })?;
    let op = match op.as_str() {
        "slowest" => OpChoice::Slowest,
        "latest-failed" => OpChoice::LatestFailed,
        n => OpChoice::Index(n.parse().map_err(|_| {
            format!(
                "the operation is its place in the client history (a number from 0 to {}), `slowest` or `latest-failed`, got `{n}`",
                u32::MAX
            )
        })?),
    };
    Ok(PathArgs { scenario, op, seed })
}

fn parse_check(args: &[String]) -> Result<CheckArgs, String> {
    let mut format = HistoryFormat::Json;
    let mut model = None;
    let mut timeout = None;
    let mut files = Vec::new();
    let mut walk = Walk::new(args);
    while let Some(arg) = walk.next_arg() {
        match arg {
            Arg::Flag("--format", inline) => {
                format = match walk.value("--format", inline)?.as_str() {
                    "jepsen-etcd" => HistoryFormat::JepsenEtcd,
                    "jepsen-edn" => HistoryFormat::JepsenEdn,
                    "json" => HistoryFormat::Json,
                    other => return Err(format!("--format must be jepsen-etcd, jepsen-edn or json, got `{other}`")),
                }
            }
            Arg::Flag("--model", inline) => {
                let v = walk.value("--model", inline)?;
                model = Some(
                    checker::any::ModelKind::parse(&v)
                        .ok_or_else(|| format!("--model must be {}, got `{v}`", checker::any::ModelKind::NAMES))?,
                );
            }
            Arg::Flag("--timeout", inline) => {
                timeout = Some(positive_duration("--timeout", &walk.value("--timeout", inline)?)?)
            }
            Arg::Flag(f, _) => return Err(format!("unknown option `{f}`")),
            Arg::Positional(a) => files.push(a.clone()),
        }
    }
    if files.is_empty() {
        return Err("check needs at least one history file".into());
    }
    if format == HistoryFormat::JepsenEtcd && model.is_some_and(|m| m != checker::any::ModelKind::Register) {
        return Err("jepsen-etcd histories are registers: --model must be register (or left out)".into());
    }
    Ok(CheckArgs { format, model, timeout, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_path() {
        let c = p(&["path", "s.json", "12", "--seed=4"]).unwrap();
        assert_eq!(c, Command::Path(PathArgs { scenario: "s.json".into(), op: OpChoice::Index(12), seed: Some(4) }));
        let c = p(&["path", "slowest", "s.json"]).unwrap_err();
        assert!(c.contains("got `s.json`"), "{c}");
        assert_eq!(
            p(&["path", "s.json", "slowest"]).unwrap(),
            Command::Path(PathArgs { scenario: "s.json".into(), op: OpChoice::Slowest, seed: None })
        );
        assert_eq!(
            p(&["path", "s.json", "latest-failed"]).unwrap(),
            Command::Path(PathArgs { scenario: "s.json".into(), op: OpChoice::LatestFailed, seed: None })
        );
        assert!(p(&["path", "s.json"]).unwrap_err().starts_with("path needs a scenario file and an operation"));
        assert!(p(&["path", "s.json", "-1"]).unwrap_err().contains("unknown option `-1`"));
        assert_eq!(p(&["path", "s.json", "1", "--trace", "x"]).unwrap_err(), "unknown option `--trace`");
    }

    #[test]
    fn parses_run_with_every_option() {
        let c = p(&["run", "s.json", "--seed", "7", "--until=30s", "--trace", "t.jsonl"]).unwrap();
        assert_eq!(
            c,
            Command::Run(RunArgs {
                scenario: "s.json".into(),
                seed: Some(7),
                until: Some(Duration::from_secs(30)),
                trace: Some("t.jsonl".into()),
                history: None,
            })
        );
    }

    #[test]
    fn rejects_bad_arguments_clearly() {
        assert_eq!(p(&[]).unwrap_err(), "no command given");
        assert_eq!(p(&["fly"]).unwrap_err(), "unknown command `fly`");
        assert_eq!(p(&["run"]).unwrap_err(), "run needs a scenario file");
        assert!(p(&["run", "a", "--seed", "-1"]).unwrap_err().contains("--seed must be a whole number"));
        assert!(p(&["run", "a", "--until", "soon"]).unwrap_err().starts_with("--until:"));
        assert_eq!(p(&["run", "a", "--until", "0s"]).unwrap_err(), "--until must be longer than 0s");
        assert_eq!(p(&["run", "a", "--seed"]).unwrap_err(), "--seed needs a value");
        assert_eq!(p(&["run", "a", "b"]).unwrap_err(), "run takes one scenario file; `b` is a second one");
        assert_eq!(p(&["run", "a", "--fast"]).unwrap_err(), "unknown option `--fast`");
        assert_eq!(p(&["validate"]).unwrap_err(), "validate needs at least one scenario file");
        assert_eq!(
            p(&["haproxy-cfg", "s.json", "lb"]).unwrap(),
            Command::HaproxyCfg { scenario: "s.json".into(), node: "lb".into() }
        );
        assert!(p(&["haproxy-cfg", "s.json"]).unwrap_err().starts_with("haproxy-cfg needs a scenario file"));
        assert_eq!(
            p(&["redis-conf", "s.json", "c1"]).unwrap(),
            Command::RedisConf { scenario: "s.json".into(), node: "c1".into() }
        );
        assert!(p(&["redis-conf", "s.json", "--x"]).unwrap_err().starts_with("redis-conf needs a scenario file"));
    }

    #[test]
    fn parses_nemesis() {
        let c = p(&["nemesis", "s.json", "--faults", "kill,partition", "--targets=b1, b2", "--from", "0s"]).unwrap();
        assert_eq!(
            c,
            Command::Nemesis(NemesisArgs {
                scenario: "s.json".into(),
                faults: Some(vec![NemesisFault::Kill, NemesisFault::Partition]),
                targets: Some(vec!["b1".into(), "b2".into()]),
                from: Some(Duration::ZERO),
                ..NemesisArgs::default()
            })
        );
        let c = p(&["nemesis", "--interval", "2s", "--until=1m", "--seed", "9", "s.json"]).unwrap();
        let Command::Nemesis(a) = c else { panic!() };
        assert_eq!(
            (a.interval, a.until, a.seed),
            (Some(Duration::from_secs(2)), Some(Duration::from_secs(60)), Some(9))
        );
        assert_eq!(p(&["nemesis"]).unwrap_err(), "nemesis needs a scenario file");
        let Command::Run(r) = p(&["run", "-"]).unwrap() else { panic!() };
        assert_eq!(r.scenario, "-", "standard input");
        assert!(p(&["nemesis", "s", "--faults", "fire"])
            .unwrap_err()
            .starts_with("--faults: `fire` is not a nemesis fault"));
        assert_eq!(
            p(&["nemesis", "s", "--targets", "a,,b"]).unwrap_err(),
            "--targets is a comma-separated list of node names, got `a,,b`"
        );
        assert_eq!(p(&["nemesis", "s", "--interval", "0s"]).unwrap_err(), "--interval must be longer than 0s");
        assert!(p(&["nemesis", "s", "--from", "-1s"]).unwrap_err().starts_with("--from:"));
        assert_eq!(p(&["nemesis", "s", "t"]).unwrap_err(), "nemesis takes one scenario file; `t` is a second one");
    }

    #[test]
    fn parses_check() {
        assert_eq!(
            p(&["check", "--format", "jepsen-etcd", "a.log", "--timeout=2s", "b.log"]).unwrap(),
            Command::Check(CheckArgs {
                format: HistoryFormat::JepsenEtcd,
                model: None,
                timeout: Some(Duration::from_secs(2)),
                files: vec!["a.log".into(), "b.log".into()],
            })
        );
        let Command::Check(c) = p(&["check", "--model", "kv", "h.edn", "--format", "jepsen-edn"]).unwrap() else {
            panic!()
        };
        assert_eq!((c.format, c.model), (HistoryFormat::JepsenEdn, Some(checker::any::ModelKind::Kv)));
        assert_eq!(p(&["check"]).unwrap_err(), "check needs at least one history file");
        assert_eq!(
            p(&["check", "--format", "csv", "a"]).unwrap_err(),
            "--format must be jepsen-etcd, jepsen-edn or json, got `csv`"
        );
        assert_eq!(
            p(&["check", "--model", "graph", "a"]).unwrap_err(),
            "--model must be register, kv, counter, set or log, got `graph`"
        );
        assert_eq!(p(&["check", "--timeout", "0s", "a"]).unwrap_err(), "--timeout must be longer than 0s");
        assert_eq!(p(&["check", "a", "--fast"]).unwrap_err(), "unknown option `--fast`");
        assert!(p(&["check", "--format", "jepsen-etcd", "--model", "kv", "a"])
            .unwrap_err()
            .starts_with("jepsen-etcd histories are registers"));
    }
}
