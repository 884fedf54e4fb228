//! A small, strict reader for the subset of EDN that Jepsen history lines
//! use: one map per line, whose keys are keywords and whose values are
//! nil, booleans, integers, strings, keywords, vectors, lists and maps.
//! Commas are whitespace. Anything else (floats, symbols, tags, sets,
//! characters) is an error saying what and where.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    /// Without its colon.
    Keyword(String),
    /// A vector or a list.
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// Short words for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Str(_) => "a string",
            Edn::Keyword(_) => "a keyword",
            Edn::Vector(_) => "a vector",
            Edn::Map(_) => "a map",
        }
    }
}

/// How deeply values may nest.
const MAX_DEPTH: usize = 32;

/// Reads a line holding one map with keyword keys. The keys come back
/// without their colons; a key given twice is an error.
pub fn parse_map_line(line: &str) -> Result<BTreeMap<String, Edn>, String> {
    let mut p = Parser { s: line.as_bytes(), at: 0 };
    p.skip_ws();
    if p.peek() != Some(b'{') {
        return Err(format!("expected a map `{{...}}` at column {}", p.at + 1));
    }
    let v = p.value(0)?;
    p.skip_ws();
    if p.at != p.s.len() {
        return Err(format!("unexpected text after the map at column {}", p.at + 1));
    }
    let Edn::Map(pairs) = v else { unreachable!("starts with a brace") };
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let Edn::Keyword(k) = k else {
            return Err(format!("map keys must be keywords, got {}", k.kind()));
        };
        if out.contains_key(&k) {
            return Err(format!("the key :{k} is given twice"));
        }
        out.insert(k, v);
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

fn is_symbol_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b".*+!-_?$%&=<>/'".contains(&c)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || c == b',' {
                self.at += 1;
            } else {
                break;
            }
        }
    }
    fn col(&self) -> usize {
        self.at + 1
    }

    fn value(&mut self, depth: usize) -> Result<Edn, String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nest more than {MAX_DEPTH} deep at column {}", self.col()));
        }
        self.skip_ws();
        let Some(c) = self.peek() else { return Err("the line ends inside a value".into()) };
        match c {
            b'{' | b'[' | b'(' => {
                let close = match c {
                    b'{' => b'}',
                    b'[' => b']',
                    _ => b')',
                };
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(format!("`{}` is never closed", c as char)),
                        Some(x) if x == close => {
                            self.at += 1;
                            break;
                        }
                        Some(b'}' | b']' | b')') => {
                            return Err(format!("unexpected `{}` at column {}", self.s[self.at] as char, self.col()))
                        }
                        Some(_) => items.push(self.value(depth + 1)?),
                    }
                }
                if c != b'{' {
                    return Ok(Edn::Vector(items));
                }
                if items.len() % 2 != 0 {
                    return Err("a map needs a value for every key".into());
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Ok(Edn::Map(pairs))
            }
            b'"' => self.string(),
            b':' => {
                self.at += 1;
                let start = self.at;
                while self.peek().is_some_and(is_symbol_char) {
                    self.at += 1;
                }
                if start == self.at {
                    return Err(format!("an empty keyword at column {start}"));
                }
                Ok(Edn::Keyword(String::from_utf8_lossy(&self.s[start..self.at]).into_owned()))
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let start = self.at;
                self.at += 1;
                while self.peek().is_some_and(is_symbol_char) {
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at]).map_err(|_| "invalid UTF-8".to_string())?;
                text.parse::<i64>().map(Edn::Int).map_err(|_| {
                    format!("`{text}` at column {} is not an integer (only integers are supported)", start + 1)
                })
            }
            _ if is_symbol_char(c) => {
                let start = self.at;
                while self.peek().is_some_and(is_symbol_char) {
                    self.at += 1;
                }
                match &self.s[start..self.at] {
                    b"nil" => Ok(Edn::Nil),
                    b"true" => Ok(Edn::Bool(true)),
                    b"false" => Ok(Edn::Bool(false)),
                    other => Err(format!(
                        "`{}` at column {} is not supported (symbols other than nil, true and false)",
                        String::from_utf8_lossy(other),
                        start + 1
                    )),
                }
            }
            other => Err(format!("unexpected `{}` at column {}", other as char, self.col())),
        }
    }

    fn string(&mut self) -> Result<Edn, String> {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(format!("the string at column {} is never closed", start + 1));
            };
            self.at += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or("the line ends inside a string escape")?;
                    self.at += 1;
                    out.push(match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => {
                            return Err(format!("unsupported escape `\\{}` at column {}", other as char, self.at - 1))
                        }
                    });
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map(Edn::Str).map_err(|_| "a string is not valid UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jepsen_lines() {
        let m = parse_map_line(r#"{:type :ok, :f :cas, :value [1 2], :process 3, :time 12, :key "a\"b", :x nil, :y (true false) :z {:a -1}}"#)
            .unwrap();
        assert_eq!(m["type"], Edn::Keyword("ok".into()));
        assert_eq!(m["value"], Edn::Vector(vec![Edn::Int(1), Edn::Int(2)]));
        assert_eq!(m["key"], Edn::Str("a\"b".into()));
        assert_eq!(m["x"], Edn::Nil);
        assert_eq!(m["y"], Edn::Vector(vec![Edn::Bool(true), Edn::Bool(false)]));
        assert_eq!(m["z"], Edn::Map(vec![(Edn::Keyword("a".into()), Edn::Int(-1))]));
    }

    #[test]
    fn says_what_is_wrong() {
        let e = |s: &str| parse_map_line(s).unwrap_err();
        assert_eq!(e("[1]"), "expected a map `{...}` at column 1");
        assert_eq!(e("{:a 1} x"), "unexpected text after the map at column 8");
        assert_eq!(e("{:a 1.5}"), "`1.5` at column 5 is not an integer (only integers are supported)");
        assert_eq!(e("{:a}"), "a map needs a value for every key");
        assert_eq!(e("{:a [1 2}"), "unexpected `}` at column 9");
        assert_eq!(e("{:a \"x}"), "the string at column 5 is never closed");
        assert_eq!(e("{:a foo}"), "`foo` at column 5 is not supported (symbols other than nil, true and false)");
        assert_eq!(e("{1 2}"), "map keys must be keywords, got an integer");
        assert_eq!(e("{:a 1 :a 2}"), "the key :a is given twice");
        assert_eq!(e("{:a #{1}}"), "unexpected `#` at column 5");
        assert!(
            e(&format!("{{:a {}1{}}}", "[".repeat(40), "]".repeat(40))).starts_with("values nest more than 32 deep")
        );
        assert_eq!(
            e("{:a 99999999999999999999}"),
            "`99999999999999999999` at column 5 is not an integer (only integers are supported)"
        );
    }
}
