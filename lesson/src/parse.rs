//! Reading a lesson file: TOML front matter between `+++` lines, Markdown
//! text, a `## ` heading per step, and in each step one ```` ```step ````
//! block of TOML saying what the step starts from, its goals, hints,
//! prediction and solution. Every problem names the file, the step and
//! what is wrong.

use crate::markdown::{self, Item};
use crate::model::*;
use crate::Problem;
use toml::{Table, Value};

/// Parses one lesson file. `file` is its path as messages should show it.
pub fn lesson(file: &str, text: &str) -> Result<Lesson, Problem> {
    let whole = |message: String| Problem { file: file.to_string(), step: None, message };
    let text = text.replace("\r\n", "\n");
    let rest = text
        .strip_prefix("+++\n")
        .ok_or_else(|| whole("the file must begin with a `+++` line (front matter)".into()))?;
    let (front, body) =
        rest.split_once("\n+++\n").ok_or_else(|| whole("the front matter has no closing `+++` line".into()))?;
    let body_line = front.lines().count() + 3;
    let front: Table = front.parse().map_err(|e: toml::de::Error| whole(format!("front matter: {}", e.message())))?;
    let mut f = Fields::new(front, "front matter");
    let id = f.string("id").map_err(whole)?;
    let title = f.string("title").map_err(whole)?;
    let summary = f.string("summary").map_err(whole)?;
    f.finish().map_err(whole)?;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(whole(format!("front matter: id `{id}` must be lowercase letters, digits and `-`")));
    }

    let items = markdown::items(body, body_line).map_err(|e| whole(format!("line {}: {}", e.line, e.message)))?;
    let mut intro = Vec::new();
    let mut steps: Vec<(String, Vec<Block>, Option<String>)> = Vec::new();
    for item in items {
        match item {
            Item::StepHeading(h) => steps.push((plain(&h), Vec::new(), None)),
            Item::Block(b) => match steps.last_mut() {
                Some(s) => s.1.push(b),
                None => intro.push(b),
            },
            Item::StepData(d) => {
                let n = steps.len();
                let Some(s) = steps.last_mut() else {
                    return Err(whole("a ```step block before the first `## ` step heading".into()));
                };
                if s.2.is_some() {
                    return Err(Problem::at(file, n, &s.0, "two ```step blocks: a step has one".into()));
                }
                s.2 = Some(d);
            }
        }
    }
    if steps.is_empty() {
        return Err(whole("no steps: each step begins with a `## ` heading".into()));
    }
    let mut out = Vec::new();
    for (i, (title, text, data)) in steps.into_iter().enumerate() {
        let fail = |m: String| Problem::at(file, i + 1, &title, m);
        let data = data.ok_or_else(|| fail("no ```step block".into()))?;
        let step = step(title.clone(), text, &data).map_err(fail)?;
        if i == 0 && step.start == Start::Previous {
            return Err(fail("the first step cannot start from `previous`".into()));
        }
        out.push(step);
    }
    Ok(Lesson { id, file: file.to_string(), title, summary, intro, steps: out })
}

fn step(title: String, text: Vec<Block>, data: &str) -> Result<Step, String> {
    let table: Table = data.parse().map_err(|e: toml::de::Error| match e.span() {
        Some(span) => {
            let line = data[..span.start.min(data.len())].matches('\n').count() + 1;
            format!("```step block, line {line} of the block: {}", e.message())
        }
        None => format!("```step block: {}", e.message()),
    })?;
    let mut f = Fields::new(table, "step");
    let start = match f.string("start")?.as_str() {
        "previous" => Start::Previous,
        s => match s.split_once(':') {
            Some(("example", id)) if !id.is_empty() => Start::Example(id.into()),
            Some(("template", id)) if !id.is_empty() => Start::Template(id.into()),
            _ => return Err(format!("`start = \"{s}\"`: use `example:<id>`, `template:<id>` or `previous`")),
        },
    };
    let change = edits(f.array_opt("change")?, "change")?;
    let solution = edits(f.array_opt("solution")?, "solution")?;
    let mut goals = Vec::new();
    for (i, g) in f.tables("goal")?.into_iter().enumerate() {
        goals.push(goal(g).map_err(|m| format!("goal {}: {m}", i + 1))?);
    }
    if goals.is_empty() {
        return Err("no goals: give at least one `[[goal]]`".into());
    }
    let mut hints = Vec::new();
    for (i, h) in f.array_opt("hints")?.into_iter().enumerate() {
        let Value::String(h) = h else { return Err(format!("hint {}: must be text", i + 1)) };
        hints.push(markdown::text(&h).map_err(|m| format!("hint {}: {m}", i + 1))?);
    }
    let explain = match f.string_opt("explain")? {
        Some(t) => markdown::text(&t).map_err(|m| format!("explain: {m}"))?,
        None => Vec::new(),
    };
    let predict = match f.table_opt("predict")? {
        Some(t) => Some(predict(t).map_err(|m| format!("predict: {m}"))?),
        None => None,
    };
    f.finish()?;
    Ok(Step { title, text, start, change, goals, hints, predict, solution, explain })
}

fn predict(t: Table) -> Result<Predict, String> {
    let mut f = Fields::new(t, "predict");
    let question = f.string("question")?;
    let options: Vec<String> = f
        .array_opt("options")?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            _ => Err("every option must be text".to_string()),
        })
        .collect::<Result<_, _>>()?;
    if options.len() < 2 {
        return Err("give at least two `options`".into());
    }
    let answer = f.integer("answer")?;
    if answer < 1 || answer as usize > options.len() {
        return Err(format!("`answer = {answer}`: it is the number of the right option, from 1 to {}", options.len()));
    }
    let explain = markdown::text(&f.string("explain")?).map_err(|m| format!("explain: {m}"))?;
    f.finish()?;
    Ok(Predict { question, options, answer: answer as usize - 1, explain })
}

fn edits(list: Vec<Value>, what: &str) -> Result<Vec<Edit>, String> {
    list.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Table(t) => edit(t).map_err(|m| format!("{what} {}: {m}", i + 1)),
            _ => {
                Err(format!("{what} {}: must be a table like `{{ set = \"lb.balance\", to = \"leastconn\" }}`", i + 1))
            }
        })
        .collect()
}

fn edit(t: Table) -> Result<Edit, String> {
    let mut f = Fields::new(t, "the change");
    let e = if let Some(target) = f.string_opt("set")? {
        let (node, path) = target.split_once('.').filter(|(n, p)| !n.is_empty() && !p.is_empty()).ok_or_else(|| {
            format!("`set = \"{target}\"`: write the node, a dot, then the field (`lb.default_server.inter`)")
        })?;
        let to = f.scalar_text("to")?;
        Edit::Set { node: node.into(), path: path.into(), to }
    } else if let Some(kind) = f.string_opt("add")? {
        Edit::Add { kind, name: f.string("name")? }
    } else if let Some(pair) = f.pair_opt("connect")? {
        Edit::Connect { a: pair.0, b: pair.1 }
    } else if let Some(pair) = f.pair_opt("disconnect")? {
        Edit::Disconnect { a: pair.0, b: pair.1 }
    } else if let Some(node) = f.string_opt("delete")? {
        Edit::Delete { node }
    } else if let Some(fault) = f.table_opt("fault")? {
        if !fault.contains_key("at") || !fault.contains_key("action") {
            return Err("a fault needs `at` and `action`, as in a scenario's `faults` list".into());
        }
        Edit::Fault { fault: serde_json::to_value(&fault).map_err(|e| e.to_string())? }
    } else if let Some(faults) = f.string_opt("nemesis")? {
        let targets = f
            .array_opt("targets")?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                v => Err(format!("`targets` is a list of node names, not of {}", v.type_str())),
            })
            .collect::<Result<_, _>>()?;
        let mut time = |key: &str| {
            let text = f.string(key)?;
            duration_ns(&text).ok_or_else(|| format!("`{key} = \"{text}\"` is not a duration (`30s`, `2m`)"))?;
            Ok::<_, String>(text)
        };
        let (from, until, interval) = (time("from")?, time("until")?, time("interval")?);
        Edit::Nemesis { faults, targets, from, until, interval }
    } else if let Some(to) = f.string_opt("duration")? {
        duration_ns(&to).ok_or_else(|| format!("`duration = \"{to}\"` is not a duration (`30s`, `2m`)"))?;
        Edit::Duration { to }
    } else {
        return Err(
            "say what it does: `set`, `add`, `connect`, `disconnect`, `delete`, `fault`, `nemesis` or `duration`"
                .into(),
        );
    };
    f.finish()?;
    Ok(e)
}

fn goal(t: Table) -> Result<Goal, String> {
    let mut f = Fields::new(t, "the goal");
    let text = f.string("text")?;
    let check = if let Some(m) = f.string_opt("metric")? {
        let metric = Metric::ALL
            .iter()
            .find(|(n, _)| *n == m)
            .map(|(_, x)| *x)
            .ok_or_else(|| format!("no metric `{m}`; there are {}", names(Metric::ALL.iter().map(|(n, _)| *n))))?;
        let bound = f.bound()?.ok_or("give a bound: `below`, `at_most`, `above` or `at_least`")?;
        let over = f.string("over")?;
        let over_ns =
            duration_ns(&over).filter(|&n| n > 0).ok_or_else(|| format!("`over = \"{over}\"` is not a duration"))?;
        Check::Metric { metric, bound, over_ns }
    } else if let Some(event) = f.string_opt("event")? {
        if !crate::EVENTS.contains(&event.as_str()) {
            return Err(format!("no event `{event}`; there are {}", names(crate::EVENTS.iter().copied())));
        }
        let node = f.string_opt("node")?;
        let role = f.string_opt("role")?;
        if role.is_some() && event != "raft_role" {
            return Err("`role` goes with `event = \"raft_role\"`".into());
        }
        let after = match f.string_opt("after")? {
            None => After::Start,
            Some(a) if a == "first_fault" => After::FirstFault,
            Some(a) => After::Time(
                duration_ns(&a).ok_or_else(|| format!("`after = \"{a}\"`: use `first_fault` or a time (`20s`)"))?,
            ),
        };
        let at_least = match f.integer_opt("at_least")? {
            None => 1,
            Some(n) if n >= 1 => n as u32,
            Some(n) => return Err(format!("`at_least = {n}` must be 1 or more")),
        };
        Check::Event { event, node, role, after, at_least }
    } else if let Some(v) = f.string_opt("consistency")? {
        let verdict =
            Verdict::ALL.iter().find(|(n, _)| *n == v).map(|(_, x)| *x).ok_or_else(|| {
                format!("no verdict `{v}`; there are {}", names(Verdict::ALL.iter().map(|(n, _)| *n)))
            })?;
        Check::Consistency { verdict }
    } else if let Some(target) = f.string_opt("config")? {
        let (node, path) = target
            .split_once('.')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("`config = \"{target}\"`: write the node, a dot, then the field"))?;
        let test = if f.bool_opt("set")? == Some(true) {
            ConfigTest::Set
        } else if f.has("equals") {
            ConfigTest::Equals(f.scalar_text("equals")?)
        } else if f.has("at_least") {
            ConfigTest::AtLeast(f.quantity("at_least")?)
        } else if f.has("at_most") {
            ConfigTest::AtMost(f.quantity("at_most")?)
        } else {
            return Err("say what must hold: `set = true`, `equals`, `at_least` or `at_most`".into());
        };
        Check::Config { node: node.into(), path: path.into(), test }
    } else if let Some(kind) = f.string_opt("count")? {
        let bound = f.bound()?.ok_or("give a bound: `below`, `at_most`, `above` or `at_least`")?;
        Check::Count { kind, bound }
    } else {
        return Err("say what it checks: `metric`, `event`, `consistency`, `config` or `count`".into());
    };
    f.finish()?;
    Ok(Goal { text, check })
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// A TOML table read key by key; whatever is left at the end is a key
/// nobody asked for, which is an error (a misspelt `at_leats` must not
/// pass silently).
struct Fields {
    table: Table,
    what: &'static str,
}

impl Fields {
    fn new(table: Table, what: &'static str) -> Fields {
        Fields { table, what }
    }

    fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.table.remove(key)
    }

    fn string(&mut self, key: &str) -> Result<String, String> {
        self.string_opt(key)?.ok_or_else(|| format!("{}: `{key}` is missing", self.what))
    }

    fn string_opt(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(format!("`{key}` must be text, not {}", v.type_str())),
        }
    }

    fn integer(&mut self, key: &str) -> Result<i64, String> {
        self.integer_opt(key)?.ok_or_else(|| format!("{}: `{key}` is missing", self.what))
    }

    fn integer_opt(&mut self, key: &str) -> Result<Option<i64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Integer(n)) => Ok(Some(n)),
            Some(v) => Err(format!("`{key}` must be a whole number, not {}", v.type_str())),
        }
    }

    fn bool_opt(&mut self, key: &str) -> Result<Option<bool>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(b)),
            Some(v) => Err(format!("`{key}` must be true or false, not {}", v.type_str())),
        }
    }

    fn number(&mut self, key: &str) -> Result<Option<f64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Integer(n)) => Ok(Some(n as f64)),
            Some(Value::Float(x)) if x.is_finite() => Ok(Some(x)),
            Some(v) => Err(format!("`{key}` must be a number, not {}", v.type_str())),
        }
    }

    fn bound(&mut self) -> Result<Option<Bound>, String> {
        let found = [
            self.number("below")?.map(Bound::Below),
            self.number("at_most")?.map(Bound::AtMost),
            self.number("above")?.map(Bound::Above),
            self.number("at_least")?.map(Bound::AtLeast),
        ];
        let mut given = found.into_iter().flatten();
        let first = given.next();
        if given.next().is_some() {
            return Err("give one bound, not several".into());
        }
        Ok(first)
    }

    /// A number, or a duration written as text (`"500ms"`).
    fn quantity(&mut self, key: &str) -> Result<Quantity, String> {
        match self.take(key) {
            Some(Value::Integer(n)) => Ok(Quantity::Number(n as f64)),
            Some(Value::Float(x)) if x.is_finite() => Ok(Quantity::Number(x)),
            Some(Value::String(s)) => duration_ns(&s)
                .map(Quantity::Nanos)
                .ok_or_else(|| format!("`{key} = \"{s}\"` is neither a number nor a duration")),
            Some(v) => Err(format!("`{key}` must be a number or a duration, not {}", v.type_str())),
            None => Err(format!("`{key}` is missing")),
        }
    }

    /// A value as the configuration form would show it typed.
    fn scalar_text(&mut self, key: &str) -> Result<String, String> {
        match self.take(key) {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Integer(n)) => Ok(n.to_string()),
            Some(Value::Float(x)) => Ok(x.to_string()),
            Some(Value::Boolean(b)) => Ok(b.to_string()),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    v => Err(format!("`{key}`: a list of names, not of {}", v.type_str())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join(", ")),
            Some(v) => Err(format!("`{key}` must be a value, not {}", v.type_str())),
            None => Err(format!("`{key}` is missing")),
        }
    }

    fn pair_opt(&mut self, key: &str) -> Result<Option<(String, String)>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(a)) => match a.as_slice() {
                [Value::String(x), Value::String(y)] => Ok(Some((x.clone(), y.clone()))),
                _ => Err(format!("`{key}` must name two nodes: `{key} = [\"lb\", \"web4\"]`")),
            },
            Some(v) => Err(format!("`{key}` must name two nodes, not {}", v.type_str())),
        }
    }

    fn array_opt(&mut self, key: &str) -> Result<Vec<Value>, String> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(format!("`{key}` must be a list, not {}", v.type_str())),
        }
    }

    fn table_opt(&mut self, key: &str) -> Result<Option<Table>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(format!("`{key}` must be a table, not {}", v.type_str())),
        }
    }

    /// `[[key]]` tables.
    fn tables(&mut self, key: &str) -> Result<Vec<Table>, String> {
        self.array_opt(key)?
            .into_iter()
            .map(|v| match v {
                Value::Table(t) => Ok(t),
                v => Err(format!("`{key}` entries must be tables (`[[{key}]]`), not {}", v.type_str())),
            })
            .collect()
    }

    fn finish(self) -> Result<(), String> {
        match self.table.keys().next() {
            None => Ok(()),
            Some(k) => Err(format!("{}: unknown key `{k}`", self.what)),
        }
    }
}
