//! The lesson format. Lessons are Markdown files in `lessons/` (see
//! `lessons/README.md`); the app's build script reads and checks them with
//! the `parse` feature and builds the result into the app, which only
//! deserialises [`Course`]. Goals are checked by the app against the
//! running simulation (`app/src/lesson/`).

pub mod model;

#[cfg(feature = "parse")]
mod markdown;
#[cfg(feature = "parse")]
pub mod parse;

pub use model::*;
use std::fmt;

/// A problem with a lesson: the file, the step (number from 1 and title)
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub step: Option<(usize, String)>,
    pub message: String,
}

impl Problem {
    pub fn at(file: &str, step: usize, title: &str, message: String) -> Problem {
        Problem { file: file.to_string(), step: Some((step, title.to_string())), message }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some((n, title)) => write!(f, "{}, step {n} (\"{title}\"): {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Problem {}

/// The trace events an `event` goal can name: a node's change (as the
/// engine's `NodeChange` writes it), a component's note (as `Note` writes
/// it), or `fault` (a scheduled or injected fault took effect). A test in
/// the engine (`trace.rs`) holds this list to the trace's names.
pub const EVENTS: &[&str] = &[
    "fault",
    // Node changes.
    "started",
    "crashed",
    "restarted",
    "paused",
    "resumed",
    "clock_skewed",
    "slowed",
    // Notes.
    "server_down",
    "server_up",
    "check_failed",
    "check_passed",
    "no_server_available",
    "queue_full",
    "backlog_full",
    "queue_timeout",
    "retried",
    "promoted",
    "demoted",
    "client_overloaded",
    "cache_role",
    "full_resync",
    "partial_resync",
    "rdb_loaded",
    "repl_link_down",
    "replica_dropped",
    "wait_clients_full",
    "sdown",
    "sdown_cleared",
    "odown",
    "odown_cleared",
    "failover_started",
    "failover_leader",
    "promoting_replica",
    "failover_aborted",
    "switch_master",
    "converting_to_replica",
    "replica_output_buffer_full",
    "backlog_freed",
    "use_backend",
    "raft_role",
    "kafka_leader",
    "kafka_isr",
    "kafka_truncated",
    "kafka_fence",
    "semi_sync_off",
    "semi_sync_on",
    "kafka_registered",
    "kafka_log_recovered",
    "aof_loaded",
    "rdb_saved",
    "rdb_file_loaded",
    "kafka_request_timeout",
    "kafka_retrying",
    "error_limit",
    "l7_retry",
    "client_aborted",
    "sessions_shut_down",
    "server_admin",
    "server_weight",
    "backup_sessions_shut_down",
    "command_refused",
    "raft_refused",
    "raft_snapshot",
    "raft_snapshot_loaded",
];

/// Checks what lessons refer to outside themselves and each other: the
/// examples and templates steps start from, and every link. `examples`
/// and `templates` are the ids that exist.
pub fn check_course(course: &Course, examples: &[&str], templates: &[&str]) -> Result<(), Problem> {
    let mut seen = std::collections::BTreeSet::new();
    for lesson in &course.lessons {
        if !seen.insert(lesson.id.as_str()) {
            return Err(Problem {
                file: lesson.file.clone(),
                step: None,
                message: format!("another lesson already has the id `{}`", lesson.id),
            });
        }
    }
    for lesson in &course.lessons {
        let whole = |m: String| Problem { file: lesson.file.clone(), step: None, message: m };
        check_links(course, examples, &lesson.intro).map_err(whole)?;
        for (i, step) in lesson.steps.iter().enumerate() {
            let fail = |m: String| Problem::at(&lesson.file, i + 1, &step.title, m);
            match &step.start {
                Start::Example(id) if !examples.contains(&id.as_str()) => {
                    return Err(fail(format!("`start`: there is no example `{id}`")))
                }
                Start::Template(id) if !templates.contains(&id.as_str()) => {
                    return Err(fail(format!("`start`: there is no template `{id}`")))
                }
                _ => {}
            }
            for t in step.texts() {
                check_links(course, examples, t).map_err(fail)?;
            }
        }
    }
    Ok(())
}

fn check_links(course: &Course, examples: &[&str], blocks: &[Block]) -> Result<(), String> {
    let mut result = Ok(());
    for_each_link(blocks, &mut |target| {
        if result.is_err() {
            return;
        }
        result = resolve(course, examples, target);
    });
    result
}

/// Whether a link leads somewhere: a lesson (and step) of the course, an
/// example. Web addresses are not fetched.
pub fn resolve(course: &Course, examples: &[&str], target: &str) -> Result<(), String> {
    match Target::parse(target)? {
        Target::Lesson { id, step } => {
            let l = course.lesson(id).ok_or_else(|| format!("link `{target}`: there is no lesson `{id}`"))?;
            match step {
                Some(n) if n > l.steps.len() => {
                    Err(format!("link `{target}`: lesson `{id}` has {} steps", l.steps.len()))
                }
                _ => Ok(()),
            }
        }
        Target::Example(id) if !examples.contains(&id) => Err(format!("link `{target}`: there is no example `{id}`")),
        _ => Ok(()),
    }
}

/// Calls `f` with the target of every link in `blocks`.
pub fn for_each_link(blocks: &[Block], f: &mut impl FnMut(&str)) {
    fn inl(inlines: &[Inline], f: &mut impl FnMut(&str)) {
        for i in inlines {
            match i {
                Inline::Link { target, body } => {
                    f(target);
                    inl(body, f);
                }
                Inline::Emph(b) | Inline::Strong(b) => inl(b, f),
                _ => {}
            }
        }
    }
    for b in blocks {
        match b {
            Block::Para(i) | Block::Heading(_, i) => inl(i, f),
            Block::List { items, .. } => items.iter().for_each(|item| for_each_link(item, f)),
            Block::Quote(b) => for_each_link(b, f),
            Block::Code(_) => {}
        }
    }
}

/// Reads every lesson file (`*.md` but `README.md`) of `dir`, in file name
/// order, and checks the course.
#[cfg(feature = "parse")]
pub fn read_course(
    dir: &std::path::Path,
    shown_as: &str,
    examples: &[&str],
    templates: &[&str],
) -> Result<Course, Problem> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Problem { file: shown_as.into(), step: None, message: e.to_string() })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    let mut lessons = Vec::new();
    for path in files {
        let name = format!("{shown_as}/{}", path.file_name().unwrap_or_default().to_string_lossy());
        let text = std::fs::read_to_string(&path).map_err(|e| Problem {
            file: name.clone(),
            step: None,
            message: e.to_string(),
        })?;
        lessons.push(parse::lesson(&name, &text)?);
    }
    let course = Course { lessons };
    check_course(&course, examples, templates)?;
    Ok(course)
}
