//! HAProxy's map of servers (`src/lb_map.c`), used by `balance static-rr`
//! and by hashing with `hash-type map-based` (semantics.md 1.3).
//!
//! * `init_server_map`: the weights are divided by the GCD of all the
//!   declared servers' weights, once, at start-up.
//! * `recalc_server_map`: after every state change, a table with one entry
//!   per unit of weight is filled by a score loop in which, at equal scores,
//!   the earliest declared server wins. Only the active servers are in the
//!   table if any is usable, else the backup servers.
//! * `map_get_server_rr` (static-rr) walks the table, skipping saturated
//!   servers; `map_get_server_hash` takes `table[hash % total weight]`.
//!
//! Static-rr's order is not roundrobin's (FWRR's) for the same weights.

/// `recount_servers` + `update_backend_weight`: who is in the table and
/// how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Active,
    /// No active server is usable: the backup servers are. `tot_weight` is
    /// the weight of the first usable backup only unless `allbackups`.
    Backup,
}

#[derive(Clone, Debug)]
pub struct Map {
    /// Effective weights: user weights divided by `gcd`.
    eweight: Vec<u32>,
    backup: Vec<bool>,
    usable: Vec<bool>,
    all_backups: bool,
    /// `lbprm.wmult`.
    gcd: u32,
    /// `lbprm.map.srv`: `tot_weight` entries.
    table: Vec<usize>,
    /// `lbprm.tot_used`: servers the table may use.
    tot_used: u32,
    /// `lbprm.map.rr_idx`: where static-rr goes on.
    rr_idx: usize,
}

/// Euclid's GCD of the non-zero weights, 1 if all are zero.
fn gcd_of(weights: &[u32]) -> u32 {
    let mut nonzero = weights.iter().copied().filter(|&w| w > 0);
    let Some(mut g) = nonzero.next() else { return 1 };
    for mut w in nonzero {
        while w > 0 {
            (g, w) = (w, g % w);
        }
    }
    g
}

impl Map {
    /// `weights` are user weights (0..=256) in declaration order; `backup`
    /// marks backup servers; `usable` says which are up (a server of
    /// weight 0 never is).
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> Map {
        assert!(weights.len() == backup.len() && weights.len() == usable.len(), "one entry per server");
        let gcd = gcd_of(weights);
        let mut m = Map {
            eweight: weights.iter().map(|w| w / gcd).collect(),
            backup: backup.to_vec(),
            usable: usable.to_vec(),
            all_backups,
            gcd,
            table: Vec::new(),
            tot_used: 0,
            rr_idx: 0,
        };
        m.recalc();
        m
    }

    fn is_usable(&self, i: usize) -> bool {
        self.usable[i] && self.eweight[i] > 0
    }

    /// `recount_servers`, `update_backend_weight` and `recalc_server_map`.
    fn recalc(&mut self) {
        let n = self.eweight.len();
        let active = (0..n).filter(|&i| !self.backup[i] && self.is_usable(i));
        let (group, tot_used, tot) = if active.clone().count() > 0 {
            (Group::Active, active.clone().count() as u32, active.map(|i| self.eweight[i]).sum::<u32>())
        } else {
            let backups: Vec<usize> = (0..n).filter(|&i| self.backup[i] && self.is_usable(i)).collect();
            match backups.first() {
                // Only the first backup's weight sizes the table, but the
                // score loop below runs over all usable backups, as HAProxy's
                // does: with several, later ones may get entries too.
                Some(&first) if !self.all_backups => (Group::Backup, 1, self.eweight[first]),
                _ => (Group::Backup, backups.len() as u32, backups.iter().map(|&i| self.eweight[i]).sum()),
            }
        };
        self.tot_used = tot_used;
        self.table.clear();
        if tot_used == 0 {
            return;
        }
        let members: Vec<usize> =
            (0..n).filter(|&i| self.backup[i] == (group == Group::Backup) && self.is_usable(i)).collect();
        // Scores can go negative: `best` loses `tot` each time it is chosen.
        let mut score = vec![0i64; n];
        let tot_i = i64::from(tot);
        for _ in 0..tot {
            let mut best: Option<usize> = None;
            let mut max = 0i64;
            for &s in &members {
                if tot == 1 {
                    best = Some(s);
                    break;
                }
                score[s] += i64::from(self.eweight[s]);
                // Integer division truncating toward zero, as in C.
                let v = (score[s] + tot_i) / tot_i;
                if best.is_none() || v > max {
                    max = v;
                    best = Some(s);
                }
            }
            let best = best.expect("a usable server");
            self.table.push(best);
            score[best] -= tot_i;
        }
    }

    /// `map_set_server_status_up`.
    pub fn set_up(&mut self, i: usize) {
        if !self.usable[i] {
            self.usable[i] = true;
            self.recalc();
        }
    }

    /// `map_set_server_status_down`.
    pub fn set_down(&mut self, i: usize) {
        if self.usable[i] {
            self.usable[i] = false;
            self.recalc();
        }
    }

    /// `map_get_server_rr` (static-rr): the next table entry that is not
    /// saturated (HAProxy: `maxconn && (queue non-empty || served >=
    /// dynamic maxconn)`) and not `avoid`; `avoid` only when it is the
    /// only choice. `None` if none is usable or all are saturated.
    pub fn pick_rr(&mut self, avoid: Option<usize>, saturated: impl Fn(usize) -> bool) -> Option<usize> {
        let tot = self.table.len();
        if tot == 0 {
            return None;
        }
        if self.rr_idx >= tot {
            self.rr_idx = 0;
        }
        let start = self.rr_idx;
        let mut idx = start;
        let mut avoided = None;
        loop {
            let s = self.table[idx];
            idx += 1;
            if !saturated(s) {
                if Some(s) != avoid {
                    self.rr_idx = idx;
                    return Some(s);
                }
                avoided = Some((s, idx));
            }
            if idx == tot {
                idx = 0;
            }
            if idx == start {
                break;
            }
        }
        let (s, idx) = avoided?;
        self.rr_idx = idx;
        Some(s)
    }

    /// `map_get_server_hash`: `table[hash % total weight]`.
    pub fn pick_hash(&self, hash: u32) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        Some(self.table[hash as usize % self.table.len()])
    }

    /// `lbprm.tot_used`: the hash functions skip hashing when it is 1.
    pub fn tot_used(&self) -> u32 {
        self.tot_used
    }

    /// `lbprm.tot_weight`: the table's length.
    pub fn tot_weight(&self) -> u32 {
        self.table.len() as u32
    }

    /// `lbprm.wmult`: the GCD the user weights were divided by.
    pub fn gcd(&self) -> u32 {
        self.gcd
    }

    /// The table, one server index per entry.
    pub fn table(&self) -> &[usize] {
        &self.table
    }

    pub fn is_up(&self, i: usize) -> bool {
        self.usable[i]
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::{source_hash, HashType};
    use super::*;

    fn all(weights: &[u32]) -> Map {
        Map::new(weights, &vec![false; weights.len()], &vec![true; weights.len()], false)
    }

    fn sequence(weights: &[u32], n: usize) -> String {
        let mut m = all(weights);
        (0..n).map(|_| format!("s{}", m.pick_rr(None, |_| false).unwrap() + 1)).collect::<Vec<_>>().join(" ")
    }

    /// The static-rr vectors recorded from HAProxy 2.6.12 in semantics.md 1.3.
    #[test]
    fn static_rr_matches_haproxy() {
        assert_eq!(sequence(&[3, 2, 1], 12), "s1 s1 s2 s1 s2 s3 s1 s1 s2 s1 s2 s3");
        assert_eq!(sequence(&[4, 3, 2], 18), "s1 s2 s1 s2 s3 s1 s1 s2 s3 s1 s2 s1 s2 s3 s1 s1 s2 s3");
        assert_eq!(sequence(&[1, 2, 3], 12), "s1 s3 s2 s3 s2 s3 s1 s3 s2 s3 s2 s3");
    }

    #[test]
    fn weights_are_reduced_by_their_gcd() {
        let m = all(&[6, 4, 2]);
        assert_eq!(m.gcd(), 2);
        assert_eq!(m.table(), all(&[3, 2, 1]).table());
        // Zero weights do not enter the GCD and never the table.
        let m = all(&[0, 4, 8]);
        assert_eq!((m.gcd(), m.tot_weight(), m.tot_used()), (4, 3, 2));
        assert!(!m.table().contains(&0));
        // The GCD is fixed at start-up, whoever goes down later.
        let mut m = all(&[2, 4]);
        m.set_down(0);
        assert_eq!(m.table(), [1, 1]);
    }

    /// semantics.md 1.3: client 127.0.0.1, map-based, weights 3,2,1 -> s3.
    #[test]
    fn source_hash_of_localhost_picks_s3() {
        let m = all(&[3, 2, 1]);
        let h = source_hash(&HashType::map_based(), "127.0.0.1".parse().unwrap(), m.tot_used());
        assert_eq!(h, 0x7f00_0001);
        assert_eq!(m.pick_hash(h), Some(2));
    }

    #[test]
    fn saturated_and_avoided_servers_are_skipped() {
        let mut m = all(&[1, 1, 1]);
        assert_eq!(m.pick_rr(None, |i| i == 0), Some(1));
        assert_eq!(m.pick_rr(Some(2), |_| false), Some(0));
        assert_eq!(m.pick_rr(None, |i| i != 1), Some(1));
        assert_eq!(m.pick_rr(None, |_| true), None);
        // The avoided server is returned when it is the only choice, and
        // the walk goes on after it.
        assert_eq!(m.pick_rr(Some(2), |i| i != 2), Some(2));
        assert_eq!(m.pick_rr(None, |_| false), Some(0));
    }

    #[test]
    fn down_servers_leave_the_table_and_come_back() {
        let mut m = all(&[3, 2, 1]);
        m.set_down(0);
        assert_eq!(m.table(), [1, 1, 2]);
        assert_eq!(m.tot_used(), 2);
        m.set_up(0);
        assert_eq!(m.table(), all(&[3, 2, 1]).table());
        for i in 0..3 {
            m.set_down(i);
        }
        assert_eq!((m.pick_rr(None, |_| false), m.pick_hash(7), m.tot_used()), (None, None, 0));
    }

    #[test]
    fn backups_only_without_a_usable_active_server() {
        let backup = [false, true, true];
        let mut m = Map::new(&[1, 1, 1], &backup, &[true; 3], false);
        assert_eq!(m.table(), [0]);
        m.set_down(0);
        // The first usable backup only: the table has its weight.
        assert_eq!((m.table(), m.tot_used()), (&[1][..], 1));
        let mut all_b = Map::new(&[1, 1, 1], &backup, &[false, true, true], true);
        assert_eq!(all_b.table(), [1, 2]);
        all_b.set_down(1);
        assert_eq!(all_b.table(), [2]);
        // HAProxy's quirk: without allbackups the table is as long as the
        // first backup's weight, but the score loop runs over all usable
        // backups, so a heavier later backup can get entries.
        let m = Map::new(&[2, 3], &[true, true], &[true, true], false);
        assert_eq!((m.table(), m.tot_used()), (&[0, 1][..], 1));
    }
}
