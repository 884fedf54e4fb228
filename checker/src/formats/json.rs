//! The project's own history format (see docs/history-format.md): one JSON
//! object,
//!
//! ```json
//! {"format": "clusterlab-history", "version": 1, "model": "register",
//!  "ops": [{"process": 0, "f": "write", "key": 1, "value": 7,
//!           "invoke": 1000, "complete": 2000, "type": "ok"},
//!          {"process": 1, "f": "read", "key": 1, "result": 7,
//!           "invoke": 1500, "complete": 2500, "type": "ok"}]}
//! ```
//!
//! Each operation carries its invocation and completion together. `type`
//! is `ok`, `fail` or `info`; `complete` may be null or absent for an
//! operation that never completed (then `type` must be `info`). `"final":
//! true` marks a final read, made after the run once the system settled:
//! lost writes are judged by those (see `anomalies::rw`).

use super::edn::Edn;
use super::raw::RawOp;
use super::{check_size, ParseError};
use crate::history::{Outcome, MAX_OPS};
use serde_json::Value;

pub const FORMAT: &str = "clusterlab-history";
pub const VERSION: u64 = 1;

/// The model named in the file, and its operations.
pub fn parse(text: &str) -> Result<(String, Vec<RawOp>), ParseError> {
    check_size(text)?;
    let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::new(e.line(), e.to_string()))?;
    let top = |m: &str| ParseError::new(0, m.to_string());
    let obj = doc
        .as_object()
        .ok_or_else(|| top("expected a JSON object with \"format\", \"version\", \"model\" and \"ops\""))?;
    for k in obj.keys() {
        if !["format", "version", "model", "ops", "meta"].contains(&k.as_str()) {
            return Err(top(&format!("unknown field \"{k}\" (expected format, version, model, ops, meta)")));
        }
    }
    if obj.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(top(&format!("\"format\" must be \"{FORMAT}\"")));
    }
    if obj.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err(top(&format!("\"version\" must be {VERSION}")));
    }
    let model = obj.get("model").and_then(Value::as_str).ok_or_else(|| top("\"model\" must be a string"))?.to_string();
    let list = obj.get("ops").and_then(Value::as_array).ok_or_else(|| top("\"ops\" must be an array"))?;
    if list.len() > MAX_OPS {
        return Err(top(&format!("\"ops\" holds {} operations; at most {MAX_OPS}", list.len())));
    }
    let mut ops = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let err = |m: String| ParseError::new(0, format!("ops[{i}]: {m}"));
        let o = v.as_object().ok_or_else(|| err("expected an object".into()))?;
        for k in o.keys() {
            if !["process", "f", "key", "value", "result", "offset", "invoke", "complete", "type", "final"]
                .contains(&k.as_str())
            {
                return Err(err(format!("unknown field \"{k}\"")));
            }
        }
        let whole = |name: &str| -> Result<Option<u64>, ParseError> {
            match o.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| err(format!("\"{name}\" must be a whole number"))),
            }
        };
        let process = whole("process")?.ok_or_else(|| err("no \"process\"".into()))?;
        let f = o.get("f").and_then(Value::as_str).ok_or_else(|| err("\"f\" must be a string".into()))?.to_string();
        let invoke = whole("invoke")?.ok_or_else(|| err("no \"invoke\" time".into()))?;
        let complete = whole("complete")?;
        let outcome = match o.get("type").and_then(Value::as_str) {
            Some("ok") => Outcome::Ok,
            Some("fail") => Outcome::Fail,
            Some("info") => Outcome::Info,
            _ => return Err(err("\"type\" must be \"ok\", \"fail\" or \"info\"".into())),
        };
        if complete.is_none() && outcome != Outcome::Info {
            return Err(err("an operation without a \"complete\" time must be \"info\"".into()));
        }
        if complete.is_some_and(|c| c < invoke) {
            return Err(err("\"complete\" is before \"invoke\"".into()));
        }
        let final_read = match o.get("final") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) if f == "read" || f == "poll" => true,
            Some(Value::Bool(true)) => return Err(err(format!("only a read or a poll can be final, not a {f}"))),
            Some(_) => return Err(err("\"final\" must be true or false".into())),
        };
        let edn = |name: &str| -> Result<Edn, ParseError> {
            o.get(name).map_or(Ok(Edn::Nil), |v| to_edn(v, 0).map_err(|m| err(format!("\"{name}\": {m}"))))
        };
        ops.push(RawOp {
            line: i,
            process,
            f,
            key: match o.get("key") {
                None | Some(Value::Null) => None,
                Some(_) => Some(edn("key")?),
            },
            value: edn("value")?,
            result: edn("result")?,
            offset: match o.get("offset") {
                None | Some(Value::Null) => None,
                Some(_) => Some(edn("offset")?),
            },
            outcome,
            invoke,
            complete,
            final_read,
        });
    }
    Ok((model, ops))
}

fn to_edn(v: &Value, depth: usize) -> Result<Edn, String> {
    if depth > 32 {
        return Err("nested too deep".into());
    }
    Ok(match v {
        Value::Null => Edn::Nil,
        Value::Bool(b) => Edn::Bool(*b),
        Value::Number(n) => Edn::Int(n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?),
        Value::String(s) => Edn::Str(s.clone()),
        Value::Array(a) => Edn::Vector(a.iter().map(|x| to_edn(x, depth + 1)).collect::<Result<_, _>>()?),
        Value::Object(_) => return Err("objects are not values".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_format() {
        let (model, ops) = parse(
            r#"{"format":"clusterlab-history","version":1,"model":"register","ops":[
                {"process":0,"f":"write","key":1,"value":7,"invoke":10,"complete":20,"type":"ok"},
                {"process":1,"f":"read","key":1,"result":7,"invoke":15,"complete":25,"type":"ok"},
                {"process":2,"f":"write","key":1,"value":8,"invoke":30,"type":"info"}]}"#,
        )
        .unwrap();
        assert_eq!(model, "register");
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1].result, Edn::Int(7));
        assert_eq!((ops[2].complete, ops[2].outcome), (None, Outcome::Info));
        assert!(ops.iter().all(|o| !o.final_read));
        let (_, ops) = parse(
            r#"{"format":"clusterlab-history","version":1,"model":"register","ops":[
                {"process":0,"f":"read","key":1,"result":7,"invoke":10,"complete":20,"type":"ok","final":true}]}"#,
        )
        .unwrap();
        assert!(ops[0].final_read);
    }

    #[test]
    fn says_what_is_wrong() {
        let e = |s: &str| parse(s).unwrap_err().to_string();
        let head = r#"{"format":"clusterlab-history","version":1,"model":"register","ops":"#;
        assert_eq!(e("[]"), "expected a JSON object with \"format\", \"version\", \"model\" and \"ops\"");
        assert_eq!(e(r#"{"format":"x"}"#), "\"format\" must be \"clusterlab-history\"");
        assert_eq!(e(&format!("{head}[{{}}]}}")), "ops[0]: no \"process\"");
        assert_eq!(
            e(&format!(r#"{head}[{{"process":0,"f":"read","invoke":5,"complete":4,"type":"ok"}}]}}"#)),
            "ops[0]: \"complete\" is before \"invoke\""
        );
        assert_eq!(
            e(&format!(r#"{head}[{{"process":0,"f":"read","invoke":5,"type":"ok"}}]}}"#)),
            "ops[0]: an operation without a \"complete\" time must be \"info\""
        );
        assert_eq!(
            e(&format!(r#"{head}[{{"process":0,"f":"read","invoke":5,"type":"ok","colour":1}}]}}"#)),
            "ops[0]: unknown field \"colour\""
        );
        assert!(e("{").starts_with("line 1: EOF while parsing"));
        assert_eq!(
            e(&format!(r#"{head}[{{"process":0,"f":"write","value":1,"invoke":5,"type":"info","final":true}}]}}"#)),
            "ops[0]: only a read or a poll can be final, not a write"
        );
        assert_eq!(
            e(&format!(r#"{head}[{{"process":0,"f":"read","invoke":5,"type":"info","final":1}}]}}"#)),
            "ops[0]: \"final\" must be true or false"
        );
    }
}
