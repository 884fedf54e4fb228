//! Layer-7 routing as HAProxy writes it: `acl` lines that test a request,
//! and `use_backend` rules that send it to a named backend when their
//! condition holds (the first rule that matches wins; otherwise the
//! default backend).
//!
//! Both are written in haproxy.cfg words, without the keyword:
//! `"is_api path_beg /api /v1"` for `acl is_api path_beg /api /v1`, and
//! `"api if is_api !is_static"` for `use_backend api if is_api !is_static`.
//! Matching follows HAProxy 2.6's `pattern.c`: several patterns on one
//! line, and several lines with one name, are alternatives; `-i` ignores
//! ASCII case; a condition is terms joined by AND, groups joined by `||`
//! (or `or`), a term negated by `!`, and an anonymous ACL in braces.

/// What an ACL tests: a sample fetch with its match method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// `path`: the path equals a pattern.
    Path,
    /// `path_beg`: the path starts with a pattern.
    PathBeg,
    /// `path_end`: the path ends with a pattern.
    PathEnd,
    /// `path_sub`: the path contains a pattern.
    PathSub,
    /// `path_dir`: a slash-delimited part of the path equals a pattern.
    PathDir,
    /// `method`: the HTTP method (`GET` for reads, `PUT` for writes here).
    Method,
}

impl Criterion {
    const ALL: [(&'static str, Criterion); 6] = [
        ("path", Criterion::Path),
        ("path_beg", Criterion::PathBeg),
        ("path_end", Criterion::PathEnd),
        ("path_sub", Criterion::PathSub),
        ("path_dir", Criterion::PathDir),
        ("method", Criterion::Method),
    ];

    fn parse(word: &str) -> Result<Criterion, String> {
        Criterion::ALL.iter().find(|(w, _)| *w == word).map(|&(_, c)| c).ok_or_else(|| {
            format!("`{word}` is not a criterion here: expected path, path_beg, path_end, path_sub, path_dir or method")
        })
    }

    fn keyword(self) -> &'static str {
        Criterion::ALL.iter().find(|(_, c)| *c == self).map(|&(w, _)| w).expect("every criterion has a word")
    }
}

/// The request facts an ACL can test.
#[derive(Clone, Copy, Debug)]
pub struct Sample<'a> {
    pub method: &'a str,
    /// The request's URI; the `path` fetches stop at its `?`.
    pub uri: &'a str,
}

impl Sample<'_> {
    fn path(&self) -> &str {
        self.uri.split_once('?').map_or(self.uri, |(p, _)| p)
    }
}

/// A test on the request: a criterion and its patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    pub criterion: Criterion,
    /// `-i`
    pub ignore_case: bool,
    pub patterns: Vec<String>,
}

impl Test {
    /// Parses `criterion [-i] pattern...`.
    fn parse(words: &[&str]) -> Result<Test, String> {
        let Some((&first, rest)) = words.split_first() else {
            return Err("a criterion and at least one pattern are needed, e.g. `path_beg /api`".into());
        };
        let criterion = Criterion::parse(first)?;
        let mut ignore_case = false;
        let mut patterns = Vec::new();
        let mut flags_done = false;
        for &w in rest {
            match w {
                "-i" if !flags_done => ignore_case = true,
                "--" if !flags_done => flags_done = true,
                w if w.starts_with('-') && !flags_done => {
                    return Err(format!("flag `{w}` is not supported here: only `-i` (ignore case) and `--`"))
                }
                w => {
                    flags_done = true;
                    patterns.push(w.to_string());
                }
            }
        }
        if patterns.is_empty() {
            return Err(format!("`{first}` needs at least one pattern"));
        }
        Ok(Test { criterion, ignore_case, patterns })
    }

    fn words(&self) -> String {
        let mut s = self.criterion.keyword().to_string();
        if self.ignore_case {
            s.push_str(" -i");
        }
        if self.patterns.first().is_some_and(|p| p.starts_with('-')) {
            s.push_str(" --");
        }
        for p in &self.patterns {
            s.push(' ');
            s.push_str(p);
        }
        s
    }

    pub fn matches(&self, sample: &Sample) -> bool {
        let (subject, method) = match self.criterion {
            Criterion::Method => (sample.method, true),
            _ => (sample.path(), false),
        };
        let s = subject.as_bytes();
        self.patterns.iter().any(|p| {
            let p = p.as_bytes();
            // Bytes, not chars: a pattern may end inside a UTF-8 sequence.
            let eq = |a: &[u8]| if self.ignore_case { a.eq_ignore_ascii_case(p) } else { a == p };
            match self.criterion {
                _ if method => eq(s),
                Criterion::Path => eq(s),
                Criterion::PathBeg => s.len() >= p.len() && eq(&s[..p.len()]),
                Criterion::PathEnd => s.len() >= p.len() && eq(&s[s.len() - p.len()..]),
                Criterion::PathSub => find(s, p, self.ignore_case, |_, _| true),
                Criterion::PathDir => dir_match(s, p, self.ignore_case),
                Criterion::Method => unreachable!("handled above"),
            }
        })
    }
}

/// Whether `pattern` occurs in `subject` at a place `ok(start, end)`
/// accepts.
fn find(s: &[u8], p: &[u8], ignore_case: bool, ok: impl Fn(usize, usize) -> bool) -> bool {
    if p.len() > s.len() {
        return false;
    }
    (0..=s.len() - p.len()).any(|i| {
        let window = &s[i..i + p.len()];
        let same = if ignore_case { window.eq_ignore_ascii_case(p) } else { window == p };
        same && ok(i, i + p.len())
    })
}

/// `-m dir` (`pat_match_dir`): the pattern, without its leading and
/// trailing slashes, appears in the path between delimiters (`/`, `?`) or
/// the path's ends.
fn dir_match(s: &[u8], pattern: &[u8], ignore_case: bool) -> bool {
    let delim = |b: u8| b == b'/' || b == b'?';
    let start = pattern.iter().position(|&b| !delim(b));
    let end = pattern.iter().rposition(|&b| !delim(b));
    let (Some(start), Some(end)) = (start, end) else {
        // HAProxy: a pattern of only delimiters matches any sample with one.
        return s.iter().any(|&b| delim(b));
    };
    let p = &pattern[start..=end];
    find(s, p, ignore_case, |start, end| (start == 0 || delim(s[start - 1])) && (end == s.len() || delim(s[end])))
}

/// One `acl` line: a name and a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub name: String,
    pub test: Test,
}

/// HAProxy's predefined ACLs that make sense here (`acl.c`'s
/// `default_acl_list`).
const PREDEFINED: [&str; 5] = ["TRUE", "FALSE", "METH_GET", "METH_POST", "METH_PUT"];

pub fn valid_name(name: &str) -> bool {
    // HAProxy's `invalid_char`: letters, digits, `-_.:` only.
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

impl Acl {
    pub fn parse(text: &str) -> Result<Acl, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some((&name, rest)) = words.split_first() else {
            return Err("an acl is `name criterion [-i] pattern...`, e.g. `is_api path_beg /api`".into());
        };
        if !valid_name(name) {
            return Err(format!("`{name}` is not a valid ACL name: use letters, digits, '-', '_', '.' and ':'"));
        }
        if PREDEFINED.contains(&name) {
            return Err(format!("`{name}` is a predefined ACL and cannot be redefined"));
        }
        Ok(Acl { name: name.to_string(), test: Test::parse(rest)? })
    }

    pub fn words(&self) -> String {
        format!("{} {}", self.name, self.test.words())
    }
}

serde_as_text!(Acl, words);

/// A condition's term: an ACL by name, or an anonymous one in braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Named(String),
    Anonymous(Test),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub operand: Operand,
}

/// `if`/`unless` and terms: an OR of ANDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub unless: bool,
    pub any_of: Vec<Vec<Term>>,
}

impl Condition {
    /// Parses the words after `if` or `unless`.
    fn parse(unless: bool, words: &[&str]) -> Result<Condition, String> {
        let mut any_of = vec![Vec::new()];
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            if w == "||" || w == "or" {
                if any_of.last().is_some_and(|g| g.is_empty()) {
                    return Err(format!("`{w}` needs a term on each side"));
                }
                any_of.push(Vec::new());
                i += 1;
                continue;
            }
            let (negated, w) = match w.strip_prefix('!') {
                Some("") => {
                    i += 1;
                    let Some(&next) = words.get(i) else { return Err("`!` needs a term after it".into()) };
                    (true, next)
                }
                Some(rest) => (true, rest),
                None => (false, w),
            };
            let operand = if w == "{" {
                let Some(close) = words[i + 1..].iter().position(|&x| x == "}") else {
                    return Err("an anonymous ACL opened with `{` needs a closing `}`".into());
                };
                let test = Test::parse(&words[i + 1..i + 1 + close])?;
                i += close + 1;
                Operand::Anonymous(test)
            } else if w.starts_with('{') || w.ends_with('}') {
                return Err(format!("`{w}`: put spaces around `{{` and `}}`, e.g. `{{ path_beg /api }}`"));
            } else if valid_name(w) {
                Operand::Named(w.to_string())
            } else {
                return Err(format!("`{w}` is not an ACL name"));
            };
            any_of.last_mut().expect("a group").push(Term { negated, operand });
            i += 1;
        }
        if any_of.iter().any(|g| g.is_empty()) {
            return Err("a condition needs at least one term on each side of `||`".into());
        }
        Ok(Condition { unless, any_of })
    }

    fn words(&self) -> String {
        let groups: Vec<String> = self
            .any_of
            .iter()
            .map(|g| {
                let terms: Vec<String> = g
                    .iter()
                    .map(|t| {
                        let bang = if t.negated { "!" } else { "" };
                        match &t.operand {
                            Operand::Named(n) => format!("{bang}{n}"),
                            Operand::Anonymous(test) => format!("{bang}{{ {} }}", test.words()),
                        }
                    })
                    .collect();
                terms.join(" ")
            })
            .collect();
        format!("{} {}", if self.unless { "unless" } else { "if" }, groups.join(" || "))
    }

    /// Names of the ACLs this condition uses.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.any_of.iter().flatten().filter_map(|t| match &t.operand {
            Operand::Named(n) => Some(n.as_str()),
            Operand::Anonymous(_) => None,
        })
    }

    pub fn holds(&self, acls: &[Acl], sample: &Sample) -> bool {
        let term = |t: &Term| {
            let v = match &t.operand {
                Operand::Named(n) => named(acls, n, sample),
                Operand::Anonymous(test) => test.matches(sample),
            };
            v != t.negated
        };
        self.any_of.iter().any(|g| g.iter().all(term)) != self.unless
    }
}

/// A named ACL's value: any of its lines matches (or a predefined one).
fn named(acls: &[Acl], name: &str, sample: &Sample) -> bool {
    match name {
        "TRUE" => true,
        "FALSE" => false,
        "METH_GET" => sample.method == "GET" || sample.method == "HEAD",
        "METH_POST" => sample.method == "POST",
        "METH_PUT" => sample.method == "PUT",
        _ => acls.iter().filter(|a| a.name == name).any(|a| a.test.matches(sample)),
    }
}

/// Whether `name` is defined (by an `acl` line or by HAProxy).
pub fn is_defined(acls: &[Acl], name: &str) -> bool {
    PREDEFINED.contains(&name) || acls.iter().any(|a| a.name == name)
}

/// One `use_backend` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseBackend {
    pub backend: String,
    /// None: always.
    pub condition: Option<Condition>,
}

/// The optional `if`/`unless` condition that ends a rule, after `what`
/// (what the rule's first word is, for the message).
fn rule_condition(rest: &[&str], what: &str) -> Result<Option<Condition>, String> {
    match rest.split_first() {
        None => Ok(None),
        Some((&"if", [])) | Some((&"unless", [])) => Err(format!("`{}` needs a condition", rest[0])),
        Some((&"if", terms)) => Ok(Some(Condition::parse(false, terms)?)),
        Some((&"unless", terms)) => Ok(Some(Condition::parse(true, terms)?)),
        Some((&w, _)) => Err(format!("expected `if` or `unless` after {what}, got `{w}`")),
    }
}

impl UseBackend {
    pub fn parse(text: &str) -> Result<UseBackend, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some((&backend, rest)) = words.split_first() else {
            return Err("a rule is `backend [if|unless condition]`, e.g. `api if is_api`".into());
        };
        if !valid_name(backend) {
            return Err(format!("`{backend}` is not a valid backend name"));
        }
        let condition = rule_condition(rest, "the backend name")?;
        Ok(UseBackend { backend: backend.to_string(), condition })
    }

    pub fn words(&self) -> String {
        match &self.condition {
            None => self.backend.clone(),
            Some(c) => format!("{} {}", self.backend, c.words()),
        }
    }

    pub fn applies(&self, acls: &[Acl], sample: &Sample) -> bool {
        self.condition.as_ref().is_none_or(|c| c.holds(acls, sample))
    }
}

serde_as_text!(UseBackend, words);

/// One `http-request` rule of the frontend. Of HAProxy's actions only
/// `disable-l7-retry` is modelled: requests it applies to get no layer-7
/// retry (`retry-on` other than `conn-failure`), HAProxy's guard for
/// requests that must not run twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// None: every request.
    pub condition: Option<Condition>,
}

impl HttpRequest {
    pub fn parse(text: &str) -> Result<HttpRequest, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.split_first() {
            Some((&"disable-l7-retry", rest)) => {
                Ok(HttpRequest { condition: rule_condition(rest, "`disable-l7-retry`")? })
            }
            Some((&action, _)) => Err(format!(
                "`{action}`: of the http-request actions only `disable-l7-retry` is modelled, \
                 e.g. `disable-l7-retry if METH_PUT`"
            )),
            None => Err("a rule is `disable-l7-retry [if|unless condition]`".into()),
        }
    }

    pub fn words(&self) -> String {
        match &self.condition {
            None => "disable-l7-retry".into(),
            Some(c) => format!("disable-l7-retry {}", c.words()),
        }
    }

    pub fn applies(&self, acls: &[Acl], sample: &Sample) -> bool {
        self.condition.as_ref().is_none_or(|c| c.holds(acls, sample))
    }
}

serde_as_text!(HttpRequest, words);

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str) -> Sample<'_> {
        Sample { method: "GET", uri }
    }

    fn acl(text: &str) -> Acl {
        Acl::parse(text).unwrap()
    }

    #[test]
    fn path_criteria_match_like_haproxy() {
        let beg = acl("a path_beg /api /v1");
        assert!(beg.test.matches(&get("/api/users")));
        assert!(beg.test.matches(&get("/v1")));
        assert!(!beg.test.matches(&get("/ap")));
        assert!(!beg.test.matches(&get("/API/users")));
        assert!(acl("a path_beg -i /api").test.matches(&get("/API/users")));
        // `path` stops at the query string; `path_end` sees only the path.
        assert!(acl("a path /login").test.matches(&get("/login?next=/x")));
        assert!(!acl("a path_end .css").test.matches(&get("/a?x=.css")));
        assert!(acl("a path_end .css .js").test.matches(&get("/s/app.js")));
        assert!(acl("a path_sub admin").test.matches(&get("/x/admin-panel")));
    }

    #[test]
    fn dir_matches_whole_slash_delimited_parts() {
        let dir = acl("a path_dir images");
        assert!(dir.test.matches(&get("/images/a.png")));
        assert!(dir.test.matches(&get("/static/images/a.png")));
        assert!(dir.test.matches(&get("/static/images")));
        assert!(!dir.test.matches(&get("/static/imagesx/a.png")));
        assert!(!dir.test.matches(&get("/myimages/a.png")));
        // Slashes around the pattern are ignored; inner ones must match.
        assert!(acl("a path_dir /static/images/").test.matches(&get("/x/static/images/a")));
    }

    #[test]
    fn conditions_and_or_not_and_anonymous() {
        let acls = vec![acl("is_api path_beg /api"), acl("is_api path_beg /v1"), acl("is_write method PUT")];
        let rule = UseBackend::parse("writes if is_api is_write || { path /admin }").unwrap();
        let put = Sample { method: "PUT", uri: "/v1/x" };
        assert!(rule.applies(&acls, &put));
        assert!(!rule.applies(&acls, &get("/v1/x")));
        assert!(rule.applies(&acls, &get("/admin")));
        let unless = UseBackend::parse("reads unless is_write").unwrap();
        assert!(unless.applies(&acls, &get("/x")) && !unless.applies(&acls, &put));
        let not = UseBackend::parse("web if ! is_api METH_GET").unwrap();
        assert!(not.applies(&acls, &get("/index")) && !not.applies(&acls, &get("/api")));
        assert!(UseBackend::parse("all").unwrap().applies(&acls, &put));
    }

    #[test]
    fn words_round_trip() {
        for text in ["is_api path_beg -i /api /v1", "x method GET", "neg path_beg -- -weird"] {
            assert_eq!(Acl::parse(text).unwrap().words(), text);
        }
        for text in ["api if is_api !is_static || { path_end .json }", "web unless is_api", "all"] {
            assert_eq!(UseBackend::parse(text).unwrap().words(), text);
        }
    }

    #[test]
    fn mistakes_are_named() {
        let e = |r: Result<Acl, String>| r.unwrap_err();
        assert!(e(Acl::parse("is_api path_regex ^/api")).contains("path_regex"));
        assert!(e(Acl::parse("is_api path_beg")).contains("at least one pattern"));
        assert!(e(Acl::parse("is_api path_beg -m beg /api")).contains("-m"));
        assert!(e(Acl::parse("TRUE path /")).contains("predefined"));
        assert!(e(Acl::parse("bad/name path /")).contains("not a valid ACL name"));
        let u = |t: &str| UseBackend::parse(t).unwrap_err();
        assert!(u("api when is_api").contains("`if` or `unless`"));
        assert!(u("api if").contains("needs a condition"));
        assert!(u("api if a ||").contains("each side"));
        assert!(u("api if { path_beg /api").contains("closing"));
        assert!(u("api if {path_beg /api}").contains("spaces"));
    }

    #[test]
    fn http_request_disable_l7_retry() {
        let put = Sample { method: "PUT", uri: "/a" };
        let rule = HttpRequest::parse("disable-l7-retry  if METH_PUT").unwrap();
        assert_eq!(rule.words(), "disable-l7-retry if METH_PUT");
        assert!(rule.applies(&[], &put) && !rule.applies(&[], &get("/a")));
        let always = HttpRequest::parse("disable-l7-retry").unwrap();
        assert!(always.applies(&[], &get("/a")) && always.condition.is_none());
        let e = |t: &str| HttpRequest::parse(t).unwrap_err();
        assert!(e("deny if METH_PUT").contains("only `disable-l7-retry` is modelled"));
        assert!(e("disable-l7-retry when METH_PUT").contains("`if` or `unless` after `disable-l7-retry`"));
        assert!(e("").contains("a rule is"));
    }
}
