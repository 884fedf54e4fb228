//! Helpers shared by the editing operations: finding nodes, links, and
//! the validity guard.

use super::EditError;
use engine::fault::Fault;
use engine::{Scenario, ScenarioError};

/// The index of the node named `name`.
pub(crate) fn index(doc: &Scenario, name: &str) -> Result<usize, EditError> {
    doc.nodes.iter().position(|n| n.name == name).ok_or_else(|| EditError::NoSuchNode(name.to_string()))
}

pub(crate) fn same_pair(between: &[String; 2], a: &str, b: &str) -> bool {
    (between[0] == a && between[1] == b) || (between[0] == b && between[1] == a)
}

/// Whether a link joins `a` and `b`.
pub(crate) fn linked(doc: &Scenario, a: &str, b: &str) -> bool {
    doc.links.iter().any(|l| same_pair(&l.between, a, b))
}

/// Adds a link between `a` and `b` unless there is one (or `a` is `b`).
pub(crate) fn link(doc: &mut Scenario, a: &str, b: &str) {
    if a != b && !linked(doc, a, b) {
        doc.links.push(engine::scenario::LinkSpec {
            between: [a.to_string(), b.to_string()],
            latency: None,
            jitter: None,
            loss: None,
            duplicate: None,
            ordering: None,
        });
    }
}

/// Removes the link between `a` and `b`, and the scheduled faults that act
/// on that link (they would name a link that no longer exists).
pub(crate) fn unlink(doc: &mut Scenario, a: &str, b: &str) {
    doc.links.retain(|l| !same_pair(&l.between, a, b));
    doc.faults.retain(|f| match &f.fault {
        Fault::CutLink { between }
        | Fault::HealLink { between }
        | Fault::DegradeLink { between, .. }
        | Fault::RestoreLink { between }
        | Fault::HoldLink { between }
        | Fault::ReleaseLink { between } => !same_pair(between, a, b),
        _ => true,
    });
}

/// A validation error in words: `nodes[3].handler.cache` becomes
/// "`web1`, handler.cache: ...".
pub fn describe(doc: &Scenario, e: &ScenarioError) -> String {
    if let Some(rest) = e.path.strip_prefix("nodes[") {
        if let Some((i, tail)) = rest.split_once(']') {
            if let Some(node) = i.parse::<usize>().ok().and_then(|i| doc.nodes.get(i)) {
                let field = tail.trim_start_matches('.');
                return if field.is_empty() {
                    format!("`{}`: {}", node.name, e.message)
                } else {
                    format!("`{}`, {field}: {}", node.name, e.message)
                };
            }
        }
    }
    e.to_string()
}

/// What still keeps the document from running, in words (`None`: it is
/// complete and valid).
pub fn problem(doc: &Scenario) -> Option<String> {
    doc.validate().err().map(|e| describe(doc, &e))
}

/// Accepts `after` unless `before` was valid and `after` is not: then the
/// operation (`action`, as in "delete `lb`") is refused, saying what would
/// be missing.
pub(crate) fn guard(before: &Scenario, after: Scenario, action: &str) -> Result<Scenario, EditError> {
    if before.validate().is_ok() {
        if let Err(e) = after.validate() {
            return Err(EditError::WouldBreak { action: action.to_string(), reason: describe(&after, &e) });
        }
    }
    Ok(after)
}
