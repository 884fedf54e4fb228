//! Jepsen histories in EDN, one event map a line:
//! `{:process 0, :type :invoke, :f :write, :key "x", :value 3, :time 12}`.
//!
//! `:process` is a whole number (lines of other processes, such as
//! `:nemesis`, are skipped); `:type` is `:invoke`, `:ok`, `:fail` or
//! `:info`; `:f` the function; `:key` optional; `:time` optional (without
//! it, times are line numbers; if one line has it, all must). An invocation
//! is matched with the next completion of its process; one never completed
//! is indeterminate.

use super::edn::{parse_map_line, Edn};
use super::raw::RawOp;
use super::{check_size, ParseError};
use crate::history::{Outcome, MAX_OPS};
use std::collections::BTreeMap;

pub fn parse(text: &str) -> Result<Vec<RawOp>, ParseError> {
    check_size(text)?;
    let mut ops: Vec<RawOp> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut timed: Option<bool> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |m: String| ParseError::new(n, m);
        if line.trim().is_empty() {
            continue;
        }
        let mut m = parse_map_line(line).map_err(err)?;
        let process = match m.remove("process") {
            Some(Edn::Int(p)) if p >= 0 => p as u64,
            Some(Edn::Keyword(_)) => continue,
            Some(other) => {
                return Err(err(format!(":process must be a whole number or a keyword, got {}", other.kind())))
            }
            None => return Err(err("no :process".into())),
        };
        let kind = match m.remove("type") {
            Some(Edn::Keyword(k)) => k,
            Some(other) => return Err(err(format!(":type must be a keyword, got {}", other.kind()))),
            None => return Err(err("no :type".into())),
        };
        let f = match m.remove("f") {
            Some(Edn::Keyword(k)) => k,
            Some(other) => return Err(err(format!(":f must be a keyword, got {}", other.kind()))),
            None => return Err(err("no :f".into())),
        };
        let time = match (m.remove("time"), timed) {
            (Some(Edn::Int(t)), None | Some(true)) if t >= 0 => {
                timed = Some(true);
                t as u64
            }
            (Some(other @ Edn::Int(_)) | Some(other), None | Some(true)) => {
                return Err(err(format!(":time must be a whole number, got {}", other.kind())))
            }
            (None, None | Some(false)) => {
                timed = Some(false);
                n as u64
            }
            (Some(_), Some(false)) => return Err(err(":time is given here but not on earlier lines".into())),
            (None, Some(true)) => return Err(err("no :time, though earlier lines have one".into())),
        };
        let value = m.remove("value").unwrap_or(Edn::Nil);
        match kind.as_str() {
            "invoke" => {
                if let Some(&prev) = open.get(&process) {
                    return Err(err(format!(
                        "process {process} invokes while its operation of line {} is still open",
                        ops[prev].line
                    )));
                }
                if ops.len() >= MAX_OPS {
                    return Err(err(format!("more than {MAX_OPS} operations")));
                }
                open.insert(process, ops.len());
                ops.push(RawOp {
                    line: n,
                    process,
                    f,
                    key: m.remove("key"),
                    value,
                    result: Edn::Nil,
                    offset: None,
                    outcome: Outcome::Info,
                    invoke: time,
                    complete: None,
                    final_read: false,
                });
            }
            "ok" | "fail" | "info" => {
                let Some(at) = open.remove(&process) else {
                    return Err(err(format!("process {process} completes an operation it never invoked")));
                };
                let op = &mut ops[at];
                if op.f != f {
                    return Err(err(format!(
                        "process {process} completes :{f} but invoked :{} on line {}",
                        op.f, op.line
                    )));
                }
                if time < op.invoke {
                    return Err(err(format!("the completion's :time {time} is before the invocation's {}", op.invoke)));
                }
                op.complete = Some(time);
                op.result = value;
                op.offset = m.remove("offset");
                op.outcome = match kind.as_str() {
                    "ok" => Outcome::Ok,
                    "fail" => Outcome::Fail,
                    _ => Outcome::Info,
                };
            }
            other => return Err(err(format!("unknown :type :{other} (expected :invoke, :ok, :fail or :info)"))),
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_invocations_with_completions() {
        let text = "{:process 0 :type :invoke :f :write :value 3}\n\
                    {:process :nemesis :type :info :f :start}\n\
                    {:process 1 :type :invoke :f :read :value nil}\n\
                    {:process 0 :type :ok :f :write :value 3}\n\
                    \n\
                    {:process 1 :type :ok :f :read :value 3}\n\
                    {:process 2 :type :invoke :f :put :key \"x\" :value \"a\"}\n";
        let ops = parse(text).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].invoke, ops[0].complete, ops[0].outcome), (1, Some(4), Outcome::Ok));
        assert_eq!(ops[1].result, Edn::Int(3));
        assert_eq!(
            (ops[2].key.clone(), ops[2].complete, ops[2].outcome),
            (Some(Edn::Str("x".into())), None, Outcome::Info)
        );
    }

    #[test]
    fn names_the_line_of_each_problem() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(e("{:type :ok :f :read}"), "line 1: no :process");
        assert_eq!(e("{:process 0 :type :ok :f :read}"), "line 1: process 0 completes an operation it never invoked");
        assert_eq!(
            e("{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :write}"),
            "line 2: process 0 completes :write but invoked :read on line 1"
        );
        assert_eq!(
            e("{:process 0 :type :invoke :f :read :time 5}\n{:process 0 :type :ok :f :read}"),
            "line 2: no :time, though earlier lines have one"
        );
        assert_eq!(
            e("{:process 0 :type :invoke :f :read :time 5}\n{:process 0 :type :ok :f :read :time 4}"),
            "line 2: the completion's :time 4 is before the invocation's 5"
        );
        assert_eq!(
            e("{:process 0 :type :done :f :read}"),
            "line 1: unknown :type :done (expected :invoke, :ok, :fail or :info)"
        );
        assert_eq!(
            e("{:process 0 :type :invoke :f :read :value 1.5}"),
            "line 1: `1.5` at column 43 is not an integer (only integers are supported)"
        );
    }
}
