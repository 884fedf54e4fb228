//! Command-line arguments, checked with clear messages.

use engine::Duration;

pub const USAGE: &str = "\
usage:
  clusterlab run <scenario.json> [--seed N] [--until <duration>] [--trace <file.jsonl>]
      Runs a scenario and prints a JSON report: events processed, the trace
      hash, metrics. --seed overrides the scenario's seed; --until how much
      simulated time to run (e.g. 30s, 1500ms; default: the scenario's
      duration); --trace writes every event as JSON lines.
  clusterlab validate <scenario.json>...
      Checks scenario files and says what is wrong and where.
  clusterlab haproxy-cfg <scenario.json> <node>
      Prints the load balancer <node> as a haproxy.cfg for HAProxy 2.6, to
      run the same configuration in the real program.
  clusterlab --help | --version";

#[derive(Debug, PartialEq)]
pub struct RunArgs {
    pub scenario: String,
    pub seed: Option<u64>,
    pub until: Option<Duration>,
    pub trace: Option<String>,
}

#[derive(Debug, PartialEq)]
pub enum Command {
    Run(RunArgs),
    Validate(Vec<String>),
    HaproxyCfg { scenario: String, node: String },
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
        other => Err(format!("unknown command `{other}`")),
    }
}

fn parse_run(args: &[String]) -> Result<RunArgs, String> {
    let mut scenario = None;
    let mut seed = None;
    let mut until = None;
    let mut trace = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next().cloned()).ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "--seed" => {
                let v = value("--seed")?;
                seed = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("--seed must be a whole number from 0 to {}, got `{v}`", u64::MAX))?,
                );
            }
            "--until" => {
                let v = value("--until")?;
                let d = Duration::parse(&v).map_err(|e| format!("--until: {e}"))?;
                if d == Duration::ZERO {
                    return Err("--until must be longer than 0s".into());
                }
                until = Some(d);
            }
            "--trace" => trace = Some(value("--trace")?),
            f if f.starts_with('-') => return Err(format!("unknown option `{f}`")),
            _ => {
                if scenario.replace(arg.clone()).is_some() {
                    return Err(format!("run takes one scenario file; `{arg}` is a second one"));
                }
            }
        }
    }
    let scenario = scenario.ok_or("run needs a scenario file")?;
    Ok(RunArgs { scenario, seed, until, trace })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
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
                trace: Some("t.jsonl".into())
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
    }
}
