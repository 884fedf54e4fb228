//! Majority arithmetic (etcd's `quorum/majority.go`).

/// Votes needed out of `n`.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The largest index a majority has matched: sort the match indexes in
/// descending order and take the majority-th.
pub fn committed_index(matched: &[u64]) -> u64 {
    let mut m: Vec<u64> = matched.to_vec();
    checker::sort::sort_by(&mut m, |a, b| b.cmp(a));
    m[majority(m.len()) - 1]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    Pending,
    Won,
    Lost,
}

/// The outcome of an election given each member's vote, if cast.
pub fn vote_result(votes: &[Option<bool>]) -> VoteResult {
    let q = majority(votes.len());
    let granted = votes.iter().filter(|v| **v == Some(true)).count();
    let missing = votes.iter().filter(|v| v.is_none()).count();
    if granted >= q {
        VoteResult::Won
    } else if granted + missing >= q {
        VoteResult::Pending
    } else {
        VoteResult::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_is_the_majority_th_largest() {
        assert_eq!(committed_index(&[5]), 5);
        assert_eq!(committed_index(&[5, 3, 1]), 3);
        assert_eq!(committed_index(&[2, 9, 9, 1, 4]), 4);
        assert_eq!(committed_index(&[7, 7, 0, 0]), 0, "4 members need 3");
    }

    #[test]
    fn votes() {
        use VoteResult::*;
        assert_eq!(vote_result(&[Some(true), None, None]), Pending);
        assert_eq!(vote_result(&[Some(true), Some(true), None]), Won);
        assert_eq!(vote_result(&[Some(true), Some(false), Some(false)]), Lost);
        assert_eq!(vote_result(&[Some(true), Some(false), None, None]), Pending);
        assert_eq!(vote_result(&[Some(true), Some(false), Some(false), None]), Lost);
    }
}
