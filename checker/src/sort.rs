//! Sorting through one shared copy of the standard library's sort.
//!
//! `slice::sort_by` and friends are compiled once per element type and
//! comparison closure: in the browser build each copy of the stable and
//! unstable sort costs 2 to 5 KB. These functions sort a list of indices
//! with a `dyn` comparison (one copy for every caller), then move the
//! elements into that order. The result is exactly `slice::sort_by`'s:
//! the index sort is stable, so equal elements keep their order. For the
//! `sort_unstable` calls they replace, equal elements are identical
//! values, so the order among them cannot be seen.

use std::cmp::Ordering;

/// As `v.sort_by(cmp)`.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_indices(v.len(), &|i, j| cmp(&v[i], &v[j]));
    permute(v, order);
}

/// As `v.sort_by_key(key)`.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)))
}

/// As `v.sort()`, or `v.sort_unstable()` on values whose equal elements
/// are identical.
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp)
}

/// The indices `0..n` in the (stable) order `cmp` gives them.
#[inline(never)]
fn sorted_indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Puts `v[order[j]]` at `j`, for every `j`, by following each cycle of
/// the permutation with swaps.
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    for start in 0..v.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start || from == at {
                break;
            }
            v.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_order_as_the_standard_sorts() {
        // A small deterministic generator: many lengths, many ties.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in 0..200 {
            let v: Vec<(u64, usize)> = (0..n).map(|i| (next() % 7, i)).collect();
            let mut ours = v.clone();
            sort_by_key(&mut ours, |p| p.0);
            let mut std = v.clone();
            std.sort_by_key(|p| p.0);
            assert_eq!(ours, std, "stable, n = {n}");
            let mut ours = v.clone();
            sort_by(&mut ours, |a, b| b.0.cmp(&a.0));
            let mut std = v.clone();
            std.sort_by_key(|b| std::cmp::Reverse(b.0));
            assert_eq!(ours, std, "reversed, n = {n}");
            let mut ours: Vec<u64> = v.iter().map(|p| p.0 * 1000 + next() % 50).collect();
            let mut std = ours.clone();
            sort(&mut ours);
            std.sort_unstable();
            assert_eq!(ours, std, "unstable, n = {n}");
        }
    }
}
