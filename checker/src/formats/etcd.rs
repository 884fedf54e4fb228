//! Jepsen's etcd logs (the 102 histories Porcupine tests with): one event a
//! line, `INFO  jepsen.util - <process> :<invoke|ok|fail|info> :<read|write|cas> <value>`.
//!
//! Times are line numbers. An operation is matched to the next completion
//! of the same process. `:info` leaves it indeterminate (open to the end);
//! `:fail :read` (a timed-out read) took no effect; `:fail :cas` is a
//! compare-and-set that ran and did not match (output `Cas(false)`), as in
//! Porcupine's parser.

use super::{check_size, ParseError};
use crate::history::{Operation, Outcome, MAX_OPS};
use crate::models::register::{RegisterInput, RegisterOutput};
use std::collections::BTreeMap;

pub type RegisterOp = Operation<RegisterInput, RegisterOutput>;

pub fn parse(text: &str) -> Result<Vec<RegisterOp>, ParseError> {
    check_size(text)?;
    let mut ops: Vec<RegisterOp> = Vec::new();
    // Process -> its open operation.
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |m: String| ParseError::new(n, m);
        if line.trim().is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let prefix: Vec<&str> = words.by_ref().take(3).collect();
        if prefix != ["INFO", "jepsen.util", "-"] {
            return Err(err("expected `INFO  jepsen.util - <process> :<type> :<f> <value>`".into()));
        }
        let (Some(process), Some(kind), Some(f)) = (words.next(), words.next(), words.next()) else {
            return Err(err("expected a process, a type and a function after `INFO  jepsen.util -`".into()));
        };
        let value = words.collect::<Vec<_>>().join(" ");
        let process: u64 =
            process.parse().map_err(|_| err(format!("the process must be a whole number, got `{process}`")))?;
        let time = n as u64;
        match kind {
            ":invoke" => {
                if let Some(&prev) = open.get(&process) {
                    return Err(err(format!(
                        "process {process} invokes while its operation of line {} is still open",
                        ops[prev].invoke
                    )));
                }
                if ops.len() >= MAX_OPS {
                    return Err(err(format!("more than {MAX_OPS} operations")));
                }
                let input = match f {
                    ":read" if value == "nil" => RegisterInput::Read { key: 0 },
                    ":read" => return Err(err(format!("a read is invoked with `nil`, got `{value}`"))),
                    ":write" => RegisterInput::Write { key: 0, value: number(&value).map_err(err)? },
                    ":cas" => {
                        let (from, to) = pair(&value).map_err(err)?;
                        RegisterInput::Cas { key: 0, from, to }
                    }
                    other => return Err(err(format!("unknown function `{other}` (expected :read, :write or :cas)"))),
                };
                open.insert(process, ops.len());
                ops.push(Operation {
                    client: process,
                    input,
                    output: None,
                    invoke: time,
                    complete: None,
                    outcome: Outcome::Info,
                });
            }
            ":ok" | ":fail" | ":info" => {
                let Some(at) = open.remove(&process) else {
                    return Err(err(format!("process {process} completes an operation it never invoked")));
                };
                let op = &mut ops[at];
                let same_f = matches!(
                    (f, &op.input),
                    (":read", RegisterInput::Read { .. })
                        | (":write", RegisterInput::Write { .. })
                        | (":cas", RegisterInput::Cas { .. })
                );
                if !same_f {
                    return Err(err(format!(
                        "process {process} completes `{f}` but invoked {:?} on line {}",
                        op.input, op.invoke
                    )));
                }
                op.complete = Some(time);
                match kind {
                    ":info" => op.outcome = Outcome::Info,
                    ":ok" => {
                        op.outcome = Outcome::Ok;
                        op.output = Some(match op.input {
                            RegisterInput::Read { .. } => RegisterOutput::Read(if value == "nil" {
                                None
                            } else {
                                Some(number(&value).map_err(err)?)
                            }),
                            RegisterInput::Write { value: w, .. } => {
                                if number(&value).map_err(err)? != w {
                                    return Err(err(format!("the write of {w} completes with `{value}`")));
                                }
                                RegisterOutput::Write
                            }
                            RegisterInput::Cas { from, to, .. } => {
                                if pair(&value).map_err(err)? != (from, to) {
                                    return Err(err(format!("the cas [{from} {to}] completes with `{value}`")));
                                }
                                RegisterOutput::Cas(true)
                            }
                        });
                    }
                    _ => match op.input {
                        // The compare did not match: it ran, and saw so.
                        RegisterInput::Cas { .. } => {
                            op.outcome = Outcome::Ok;
                            op.output = Some(RegisterOutput::Cas(false));
                        }
                        _ => op.outcome = Outcome::Fail,
                    },
                }
            }
            other => return Err(err(format!("unknown type `{other}` (expected :invoke, :ok, :fail or :info)"))),
        }
    }
    Ok(ops)
}

fn number(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("expected a whole number, got `{s}`"))
}

fn pair(s: &str) -> Result<(u64, u64), String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("expected `[from to]`, got `{s}`"))?;
    let mut it = inner.split_whitespace();
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), None) => Ok((number(a)?, number(b)?)),
        _ => Err(format!("expected `[from to]`, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "INFO  jepsen.util - 0\t:invoke\t:write\t4\n\
INFO  jepsen.util - 1\t:invoke\t:cas\t[4 5]\n\
INFO  jepsen.util - 0\t:ok\t:write\t4\n\
INFO  jepsen.util - 2  :invoke :read   nil\n\
INFO  jepsen.util - 1\t:fail\t:cas\t[4 5]\n\
INFO  jepsen.util - 2\t:ok\t:read\t4\n\
INFO  jepsen.util - 3\t:invoke\t:write\t9\n\
INFO  jepsen.util - 3\t:info\t:write\t:timed-out\n\
INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
INFO  jepsen.util - 4\t:fail\t:read\t:timed-out\n";

    #[test]
    fn reads_each_kind_of_event() {
        let ops = parse(LOG).unwrap();
        assert_eq!(ops.len(), 5);
        assert_eq!((ops[0].invoke, ops[0].complete, ops[0].outcome), (1, Some(3), Outcome::Ok));
        assert_eq!(ops[1].output, Some(RegisterOutput::Cas(false)));
        assert_eq!(ops[2].output, Some(RegisterOutput::Read(Some(4))));
        assert_eq!((ops[3].outcome, ops[3].end()), (Outcome::Info, u64::MAX));
        assert_eq!(ops[4].outcome, Outcome::Fail);
    }

    #[test]
    fn names_the_line_of_each_problem() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(
            e("INFO  jepsen.util - 0\t:ok\t:read\t4"),
            "line 1: process 0 completes an operation it never invoked"
        );
        assert_eq!(e("\nhello"), "line 2: expected `INFO  jepsen.util - <process> :<type> :<f> <value>`");
        assert_eq!(e("INFO  jepsen.util - 0\t:invoke\t:write\tx"), "line 1: expected a whole number, got `x`");
        assert!(e("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:invoke\t:read\tnil")
            .starts_with("line 2: process 0 invokes while"));
        assert_eq!(e("INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2 3]"), "line 1: expected `[from to]`, got `[1 2 3]`");
        assert!(e("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:read\t1")
            .starts_with("line 2: process 0 completes `:read` but invoked"));
        assert_eq!(
            e("INFO  jepsen.util - 0\t:invoke\t:write\t1\nINFO  jepsen.util - 0\t:ok\t:write\t2"),
            "line 2: the write of 1 completes with `2`"
        );
        assert!(e("INFO  jepsen.util - 0\t:done\t:write\t1").starts_with("line 1: unknown type `:done`"));
    }
}
