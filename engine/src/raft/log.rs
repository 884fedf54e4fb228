//! The replicated log (etcd's `raftLog`): the entries after the last
//! compaction, the commit index, and how far the caller has applied.
//! Compaction (etcd's `Compact`) drops a prefix the state machine has
//! applied and a snapshot holds; the log keeps the index and term of the
//! last entry it dropped, to check the appends that follow it.

use super::message::Entry;

#[derive(Clone, Debug, PartialEq)]
pub struct RaftLog<C> {
    /// `entries[i]` has index `offset + i + 1`.
    entries: Vec<Entry<C>>,
    /// The last compacted index (0: nothing compacted), and its term.
    offset: u64,
    offset_term: u64,
    pub committed: u64,
    pub applied: u64,
}

impl<C: Clone> RaftLog<C> {
    pub fn new() -> RaftLog<C> {
        RaftLog { entries: Vec::new(), offset: 0, offset_term: 0, committed: 0, applied: 0 }
    }

    /// A log restored from what was persisted (entries and commit index);
    /// nothing is applied yet.
    pub fn restore(entries: Vec<Entry<C>>, committed: u64) -> RaftLog<C> {
        RaftLog::restore_compacted(0, 0, entries, committed)
    }

    /// A log restored from what was persisted after a compaction at
    /// `offset` (of term `offset_term`): applied up to `offset`, which a
    /// snapshot holds.
    pub fn restore_compacted(offset: u64, offset_term: u64, entries: Vec<Entry<C>>, committed: u64) -> RaftLog<C> {
        debug_assert!(entries.iter().enumerate().all(|(i, e)| e.index == offset + i as u64 + 1));
        assert!(committed >= offset && committed <= offset + entries.len() as u64, "commit index beyond the log");
        RaftLog { entries, offset, offset_term, committed, applied: offset }
    }

    /// The entries after the last compaction.
    pub fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// Entries held (not compacted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The last compacted index and its term ((0, 0): none).
    pub fn compacted(&self) -> (u64, u64) {
        (self.offset, self.offset_term)
    }

    /// The first index the log still holds.
    pub fn first_index(&self) -> u64 {
        self.offset + 1
    }

    pub fn last_index(&self) -> u64 {
        self.offset + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.offset_term, |e| e.term)
    }

    /// The term of the entry at `index`: the compaction point's for it
    /// (0 for index 0), `None` before it (compacted) or beyond the end.
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.offset {
            return Some(self.offset_term);
        }
        let i = index.checked_sub(self.offset + 1)?;
        self.entries.get(i as usize).map(|e| e.term)
    }

    /// Drops the entries up to `index` (applied, and held by a snapshot).
    pub fn compact(&mut self, index: u64) {
        if index <= self.offset {
            return;
        }
        assert!(index <= self.applied, "compacting {index} beyond the applied index {}", self.applied);
        self.offset_term = self.term(index).expect("an applied entry is in the log");
        self.entries.drain(..(index - self.offset) as usize);
        self.offset = index;
    }

    /// Replaces the whole log with a snapshot's point (`index`, `term`):
    /// committed and applied up to it (etcd's `raftLog.restore`).
    pub fn restore_snapshot(&mut self, index: u64, term: u64) {
        self.entries.clear();
        (self.offset, self.offset_term) = (index, term);
        (self.committed, self.applied) = (index, index);
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
            self.entries.truncate((conflict - self.offset) as usize - 1);
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

    /// Up to `max` entries from `from` on (from the first held one if
    /// `from` was compacted).
    pub fn slice(&self, from: u64, max: usize) -> Vec<Entry<C>> {
        let start = (from.max(self.offset + 1) - self.offset - 1) as usize;
        let end = self.entries.len().min(start.saturating_add(max));
        self.entries.get(start..end).map_or_else(Vec::new, <[Entry<C>]>::to_vec)
    }

    /// Committed entries not yet applied; marks them applied.
    pub fn take_committed(&mut self) -> &[Entry<C>] {
        let from = (self.applied - self.offset) as usize;
        self.applied = self.committed;
        &self.entries[from..(self.committed - self.offset) as usize]
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
    fn a_compacted_log_keeps_its_indexes_and_the_term_of_its_last_dropped_entry() {
        let mut l = log(&[1, 1, 2, 2, 3]);
        l.commit_to(4);
        assert_eq!(l.take_committed().len(), 4);
        l.compact(3);
        assert_eq!((l.first_index(), l.last_index(), l.len()), (4, 5, 2));
        assert_eq!((l.term(2), l.term(3), l.term(4), l.term(6)), (None, Some(2), Some(2), None));
        assert_eq!(terms(&l), [2, 3]);
        assert_eq!(l.slice(1, 10).len(), 2, "from the first held entry");
        // Appends check against the compaction point and index on from it.
        assert_eq!(l.maybe_append(3, 2, 4, &[e(2, 4), e(4, 5), e(4, 6)]), Some(6));
        assert_eq!((terms(&l), l.last_term()), (vec![2, 4, 4], 4));
        l.commit_to(6);
        assert_eq!(l.take_committed().iter().map(|e| e.index).collect::<Vec<_>>(), [5, 6]);
        // Restored after a restart, applied up to the compaction point.
        let r = RaftLog::restore_compacted(3, 2, l.entries().to_vec(), 6);
        assert_eq!((r.applied, r.last_index(), r.term(3)), (3, 6, Some(2)));
        // A snapshot replaces everything.
        l.restore_snapshot(10, 5);
        assert_eq!((l.first_index(), l.last_index(), l.last_term(), l.committed, l.applied), (11, 10, 5, 10, 10));
        assert!(l.is_up_to_date(10, 5) && !l.is_up_to_date(9, 5));
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
