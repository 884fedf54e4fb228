//! Undo and redo: a bounded history of documents, each step with a label
//! the UI can show ("Undo add web3", "Redo connect lb → web3").
//!
//! [`History::apply`] records a new document; the oldest step is dropped
//! past the limit ([`DEFAULT_LIMIT`] steps), and [`History::dropped`] /
//! [`History::is_truncated`] say so.

use std::collections::VecDeque;

/// Steps kept by [`History::new`].
pub const DEFAULT_LIMIT: usize = 100;

/// One step: its label and the document on the other side of it.
#[derive(Clone, Debug, PartialEq)]
struct Step<D> {
    label: String,
    doc: D,
}

/// The current document with the steps that led to it (to undo) and the
/// steps undone (to redo). Generic so it holds any document; the editor
/// uses it with `engine::Scenario`.
#[derive(Clone, Debug)]
pub struct History<D> {
    current: D,
    /// Oldest first: each step's label and the document before it.
    past: VecDeque<Step<D>>,
    /// Most recently undone last: each step's label and the document after it.
    future: Vec<Step<D>>,
    limit: usize,
    dropped: usize,
}

impl<D: Clone + PartialEq> History<D> {
    /// A history starting at `doc`, keeping [`DEFAULT_LIMIT`] steps.
    pub fn new(doc: D) -> Self {
        Self::with_limit(doc, DEFAULT_LIMIT)
    }

    /// A history keeping at most `limit` steps (at least 1).
    pub fn with_limit(doc: D, limit: usize) -> Self {
        History { current: doc, past: VecDeque::new(), future: Vec::new(), limit: limit.max(1), dropped: 0 }
    }

    pub fn current(&self) -> &D {
        &self.current
    }

    /// Records `doc` as the next step, labelled `label`; the steps undone
    /// are forgotten. A document equal to the current one records nothing
    /// (returns false).
    pub fn apply(&mut self, label: impl Into<String>, doc: D) -> bool {
        if doc == self.current {
            return false;
        }
        let before = std::mem::replace(&mut self.current, doc);
        self.past.push_back(Step { label: label.into(), doc: before });
        self.future.clear();
        while self.past.len() > self.limit {
            self.past.pop_front();
            self.dropped += 1;
        }
        true
    }

    /// Runs an editing operation on the current document and records its
    /// result; its error is returned and nothing changes.
    pub fn perform<E>(&mut self, label: impl Into<String>, op: impl FnOnce(&D) -> Result<D, E>) -> Result<(), E> {
        let doc = op(&self.current)?;
        self.apply(label, doc);
        Ok(())
    }

    /// Goes back one step; returns its label (`None`: nothing to undo).
    pub fn undo(&mut self) -> Option<String> {
        let step = self.past.pop_back()?;
        let after = std::mem::replace(&mut self.current, step.doc);
        self.future.push(Step { label: step.label.clone(), doc: after });
        Some(step.label)
    }

    /// Goes forward one undone step; returns its label.
    pub fn redo(&mut self) -> Option<String> {
        let step = self.future.pop()?;
        let before = std::mem::replace(&mut self.current, step.doc);
        self.past.push_back(Step { label: step.label.clone(), doc: before });
        Some(step.label)
    }

    /// The label of the step [`Self::undo`] would undo.
    pub fn undo_label(&self) -> Option<&str> {
        self.past.back().map(|s| s.label.as_str())
    }

    pub fn redo_label(&self) -> Option<&str> {
        self.future.last().map(|s| s.label.as_str())
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }

    /// Steps that can be undone.
    pub fn undo_count(&self) -> usize {
        self.past.len()
    }

    pub fn redo_count(&self) -> usize {
        self.future.len()
    }

    /// Oldest steps dropped past the limit: the history no longer reaches
    /// back to where editing started.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    pub fn is_truncated(&self) -> bool {
        self.dropped > 0
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Labels for the editor's steps, so the UI says "Undo connect lb → web3".
pub mod label {
    pub fn add(name: &str) -> String {
        format!("add {name}")
    }
    pub fn delete(name: &str) -> String {
        format!("delete {name}")
    }
    pub fn connect(a: &str, b: &str) -> String {
        format!("connect {a} → {b}")
    }
    pub fn disconnect(a: &str, b: &str) -> String {
        format!("disconnect {a} → {b}")
    }
    pub fn move_node(name: &str) -> String {
        format!("move {name}")
    }
    /// `set web1 rise = 3`.
    pub fn set(node: &str, path: &str, value: &str) -> String {
        format!("set {node} {path} = {value}")
    }
    pub fn template(title: &str) -> String {
        format!("start from “{title}”")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_and_redo_walk_the_steps_with_their_labels() {
        let mut h = History::new(0);
        assert!(!h.can_undo() && !h.can_redo() && h.undo().is_none() && h.redo().is_none());
        h.apply(label::add("web3"), 1);
        h.apply(label::connect("lb", "web3"), 2);
        assert_eq!(h.undo_label(), Some("connect lb → web3"));
        assert_eq!(h.undo().as_deref(), Some("connect lb → web3"));
        assert_eq!(*h.current(), 1);
        assert_eq!(h.undo_label(), Some("add web3"));
        assert_eq!(h.redo_label(), Some("connect lb → web3"));
        assert_eq!(h.undo().as_deref(), Some("add web3"));
        assert_eq!(*h.current(), 0);
        assert!(!h.can_undo());
        assert_eq!(h.redo().as_deref(), Some("add web3"));
        assert_eq!(h.redo().as_deref(), Some("connect lb → web3"));
        assert_eq!(*h.current(), 2);
        assert!(!h.can_redo());
    }

    #[test]
    fn a_new_step_forgets_what_was_undone_and_no_op_steps_are_not_recorded() {
        let mut h = History::new(0);
        h.apply("a", 1);
        h.apply("b", 2);
        h.undo();
        assert!(h.apply("c", 3));
        assert!(!h.can_redo());
        assert!(!h.apply("same", 3));
        assert_eq!(h.undo_count(), 2);
        assert_eq!(h.undo_label(), Some("c"));
    }

    #[test]
    fn the_history_is_bounded_and_says_so() {
        let mut h = History::new(0);
        for i in 1..=(DEFAULT_LIMIT + 5) {
            h.apply(format!("step {i}"), i);
        }
        assert_eq!(h.undo_count(), DEFAULT_LIMIT);
        assert!(h.is_truncated());
        assert_eq!(h.dropped(), 5);
        while h.undo().is_some() {}
        // The oldest reachable document is the one after the dropped steps.
        assert_eq!(*h.current(), 5);
        let mut small = History::with_limit(0, 3);
        small.apply("x", 1);
        assert!(!small.is_truncated());
    }

    #[test]
    fn perform_records_only_successes() {
        let mut h = History::new(String::from("doc"));
        assert_eq!(h.perform("fail", |_| Err::<String, _>("no")), Err("no"));
        assert!(!h.can_undo());
        h.perform("grow", |d| Ok::<_, ()>(format!("{d}!"))).unwrap();
        assert_eq!(h.current(), "doc!");
        assert_eq!(h.undo_label(), Some("grow"));
    }

    #[test]
    fn scenarios_undo_through_editor_operations() {
        use crate::editor::{connect, palette};
        use engine::components::Kind;
        let doc = engine::Scenario::from_json(
            r#"{"version":1,"nodes":[{"name":"lb","type":"load_balancer","balance":"roundrobin","servers":[{"name":"web1"}]},{"name":"web1","type":"server"}],"links":[{"between":["lb","web1"]}]}"#,
        )
        .unwrap();
        let mut h = History::new(doc.clone());
        let (d, name) = palette::add_node(h.current(), Kind::Server, [400.0, 300.0]).unwrap();
        h.apply(label::add(&name), d);
        h.perform(label::connect("lb", &name), |d| connect::connect(d, "lb", &name)).unwrap();
        assert_eq!(h.undo_label(), Some("connect lb → web2"));
        h.undo();
        h.undo();
        assert_eq!(*h.current(), doc);
    }
}
