//! The replicated log (etcd's `raftLog` without compaction): entries from
//! index 1, the commit index, and how far the caller has applied.

use super::message::Entry;

#[derive(Clone, Debug, PartialEq)]
pub struct RaftLog<C> {
    /// `entries[i]` has index `i + 1`.
    entries: Vec<Entry<C>>,
    pub committed: u64,
    pub applied: u64,
}

impl<C: Clone> RaftLog<C> {
    pub fn new() -> RaftLog<C> {
        RaftLog { entries: Vec::new(), committed: 0, applied: 0 }
    }

    /// A log restored from what was persisted (entries and commit index);
    /// nothing is applied yet.
    pub fn restore(entries: Vec<Entry<C>>, committed: u64) -> RaftLog<C> {
        debug_assert!(entries.iter().enumerate().all(|(i, e)| e.index == i as u64 + 1));
        assert!(committed <= entries.len() as u64, "commit index beyond the log");
        RaftLog { entries, committed, applied: 0 }
    }

    pub fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`: 0 for index 0, `None` beyond the end.
    pub fn term(&self, index: u64) -> Option<u64> {
        match index {
            0 => Some(0),
            i => self.entries.get(i as usize - 1).map(|e| e.term),
        }
    }

    pub fn match_term(&self, index: u64, term: u64) -> bool {
        self.term(index) == Some(term)
    }

    /// Whether a log ending at (`last_index`, `last_term`) is at least as
    /// up to date as this one (Raft §5.4.1).
    pub fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        last_term > self.last_term() || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// Appends after the leader's consistency check (`index`, `log_term`);
    /// returns the index of the last new entry, or `None` when the check
    /// fails. Conflicting entries are truncated, never committed ones.
    pub fn maybe_append(&mut self, index: u64, log_term: u64, committed: u64, ents: &[Entry<C>]) -> Option<u64> {
        if !self.match_term(index, log_term) {
            return None;
        }
        let last_new = index + ents.len() as u64;
        if let Some(conflict) = self.find_conflict(ents) {
            assert!(conflict > self.committed, "entry {conflict} conflicts with committed entry {}", self.committed);
            self.entries.truncate(conflict as usize - 1);
            let from = (conflict - index - 1) as usize;
            self.entries.extend_from_slice(&ents[from..]);
        }
        self.commit_to(committed.min(last_new));
        Some(last_new)
    }

    /// The first entry of `ents` that is new or differs in term from ours.
    fn find_conflict(&self, ents: &[Entry<C>]) -> Option<u64> {
        ents.iter().find(|e| !self.match_term(e.index, e.term)).map(|e| e.index)
    }

    /// The leader's own append.
    pub fn append(&mut self, entry: Entry<C>) {
        assert_eq!(entry.index, self.last_index() + 1);
        self.entries.push(entry);
    }

    pub fn commit_to(&mut self, index: u64) {
        if index > self.committed {
            assert!(index <= self.last_index(), "commit {index} beyond the last index {}", self.last_index());
            self.committed = index;
        }
    }

    /// Commits `max_index` if a quorum matched it and its entry is of the
    /// leader's `term`: earlier terms' entries commit only indirectly
    /// (Figure 8).
    pub fn maybe_commit(&mut self, max_index: u64, term: u64) -> bool {
        if max_index > self.committed && self.term(max_index) == Some(term) {
            self.commit_to(max_index);
            true
        } else {
            false
        }
    }

    /// Up to `max` entries from `from` on.
    pub fn slice(&self, from: u64, max: usize) -> Vec<Entry<C>> {
        let start = (from.max(1) - 1) as usize;
        let end = self.entries.len().min(start.saturating_add(max));
        self.entries.get(start..end).map_or_else(Vec::new, <[Entry<C>]>::to_vec)
    }

    /// Committed entries not yet applied; marks them applied.
    pub fn take_committed(&mut self) -> &[Entry<C>] {
        let from = self.applied as usize;
        self.applied = self.committed;
        &self.entries[from..self.committed as usize]
    }
}

impl<C: Clone> Default for RaftLog<C> {
    fn default() -> Self {
        RaftLog::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(term: u64, index: u64) -> Entry<u32> {
        Entry { term, index, data: None }
    }

    fn log(terms: &[u64]) -> RaftLog<u32> {
        RaftLog::restore(terms.iter().enumerate().map(|(i, t)| e(*t, i as u64 + 1)).collect(), 0)
    }

    fn terms(l: &RaftLog<u32>) -> Vec<u64> {
        l.entries().iter().map(|e| e.term).collect()
    }

    #[test]
    fn append_checks_the_previous_entry_and_truncates_conflicts() {
        let mut l = log(&[1, 1, 2]);
        assert_eq!(l.maybe_append(3, 1, 0, &[e(3, 4)]), None, "term at 3 is 2");
        assert_eq!(l.maybe_append(4, 2, 0, &[]), None, "no entry 4");
        assert_eq!(l.maybe_append(2, 1, 0, &[e(3, 3), e(3, 4)]), Some(4));
        assert_eq!(terms(&l), [1, 1, 3, 3]);
        // A stale, shorter append of matching entries truncates nothing.
        assert_eq!(l.maybe_append(1, 1, 2, &[e(1, 2)]), Some(2));
        assert_eq!(terms(&l), [1, 1, 3, 3]);
        assert_eq!(l.committed, 2, "commit is limited to the last new entry");
    }

    #[test]
    #[should_panic(expected = "conflicts with committed")]
    fn a_conflict_with_a_committed_entry_is_a_bug() {
        let mut l = log(&[1, 1]);
        l.commit_to(2);
        l.maybe_append(1, 1, 2, &[e(2, 2)]);
    }

    #[test]
    fn up_to_date_compares_last_term_then_length() {
        let l = log(&[1, 2, 2]);
        assert!(l.is_up_to_date(1, 3));
        assert!(l.is_up_to_date(3, 2));
        assert!(!l.is_up_to_date(2, 2));
        assert!(!l.is_up_to_date(9, 1));
    }

    #[test]
    fn only_current_term_entries_commit_by_counting() {
        let mut l = log(&[1, 2, 3]);
        assert!(!l.maybe_commit(2, 3), "entry 2 is of term 2");
        assert_eq!(l.committed, 0);
        assert!(l.maybe_commit(3, 3));
        assert_eq!(l.committed, 3);
        assert_eq!(l.take_committed().len(), 3);
        assert!(l.take_committed().is_empty());
    }
}
