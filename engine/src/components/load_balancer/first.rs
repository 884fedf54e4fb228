//! HAProxy's `balance first` (`src/lb_fas.c`, semantics.md 1.3).
//!
//! * `fas_queue_srv`: servers are sorted by their numeric `id` (`puid`;
//!   by default their position in the backend, from 1).
//! * `fas_get_next_server`: the first usable server that is not saturated
//!   (HAProxy: `maxconn && (queue non-empty || served >= dynamic maxconn)`,
//!   so without `maxconn` it is always the first) and not the one to avoid.
//!   The weight is ignored, except that weight 0 makes a server unusable.
//! * `fas_set_server_status_up/down`.
//!
//! Backup servers are used only when no active server is usable; then only
//! the first usable one unless `allbackups`.

#[derive(Clone, Debug)]
pub struct First {
    /// Server indexes in (id, declaration) order.
    order: Vec<usize>,
    backup: Vec<bool>,
    /// Up (checks and admin state).
    running: Vec<bool>,
    /// Weight above zero.
    weighted: Vec<bool>,
    all_backups: bool,
}

impl First {
    /// `weights` in declaration order (only zero matters); `backup` marks
    /// backup servers; `usable` says which are up. Ids are the positions,
    /// from 1.
    pub fn new(weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> First {
        let ids: Vec<u32> = (1..=weights.len() as u32).collect();
        First::with_ids(&ids, weights, backup, usable, all_backups)
    }

    /// As [`First::new`] with explicit server `id`s.
    pub fn with_ids(ids: &[u32], weights: &[u32], backup: &[bool], usable: &[bool], all_backups: bool) -> First {
        let n = ids.len();
        assert!(weights.len() == n && backup.len() == n && usable.len() == n, "one entry per server");
        let mut order: Vec<usize> = (0..n).collect();
        checker::sort::sort_by_key(&mut order, |&i| (ids[i], i));
        First {
            order,
            backup: backup.to_vec(),
            running: usable.to_vec(),
            weighted: weights.iter().map(|&w| w > 0).collect(),
            all_backups,
        }
    }

    /// `fas_set_server_status_up`.
    pub fn set_up(&mut self, i: usize) {
        self.running[i] = true;
    }

    /// `fas_set_server_status_down`.
    pub fn set_down(&mut self, i: usize) {
        self.running[i] = false;
    }

    /// A new effective weight: only zero or not matters.
    pub fn set_eweight(&mut self, i: usize, eweight: u32) {
        self.weighted[i] = eweight > 0;
    }

    /// Up and of non-zero weight.
    pub fn is_usable(&self, i: usize) -> bool {
        self.running[i] && self.weighted[i]
    }

    /// `fas_get_next_server`: `None` if no server is usable or all are
    /// saturated; `avoid` only when it is the only choice.
    pub fn pick(&self, avoid: Option<usize>, saturated: impl Fn(usize) -> bool) -> Option<usize> {
        let n = self.backup.len();
        let backup_group = !(0..n).any(|i| self.is_usable(i) && !self.backup[i]);
        if backup_group && !self.all_backups {
            // `lbprm.fbck`, in declaration order, saturated or not.
            return (0..n).find(|&i| self.is_usable(i) && self.backup[i]);
        }
        let mut avoided = None;
        for &i in &self.order {
            if !self.is_usable(i) || self.backup[i] != backup_group || saturated(i) {
                continue;
            }
            if Some(i) != avoid {
                return Some(i);
            }
            avoided = Some(i);
        }
        avoided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// semantics.md 1.3: `first` with weights 3,2,1 and no maxconn: s1 always.
    #[test]
    fn without_maxconn_always_the_first() {
        let f = First::new(&[3, 2, 1], &[false; 3], &[true; 3], false);
        assert!((0..10).all(|_| f.pick(None, |_| false) == Some(0)));
    }

    #[test]
    fn fills_servers_in_id_order() {
        // maxconn 2 each: served counts decide saturation.
        let f = First::with_ids(&[3, 1, 2], &[1, 1, 1], &[false; 3], &[true; 3], false);
        let mut served = [0u32; 3];
        let mut picks = Vec::new();
        for _ in 0..6 {
            let s = f.pick(None, |i| served[i] >= 2).unwrap();
            served[s] += 1;
            picks.push(s);
        }
        assert_eq!(picks, [1, 1, 2, 2, 0, 0]);
        assert_eq!(f.pick(None, |i| served[i] >= 2), None);
        served[2] = 1;
        assert_eq!(f.pick(None, |i| served[i] >= 2), Some(2));
    }

    #[test]
    fn weight_zero_down_avoid_and_backups() {
        let mut f = First::new(&[0, 1, 1, 1], &[false, false, true, true], &[true; 4], false);
        assert_eq!(f.pick(None, |_| false), Some(1));
        assert_eq!(f.pick(Some(1), |_| false), Some(1));
        f.set_down(1);
        assert_eq!(f.pick(None, |_| false), Some(2));
        // Without allbackups the first backup is used even when saturated.
        assert_eq!(f.pick(None, |_| true), Some(2));
        f.set_up(0);
        assert_eq!(f.pick(None, |_| false), Some(2));
        f.set_eweight(0, 80);
        assert_eq!(f.pick(None, |_| false), Some(0));
        let f = First::new(&[1, 1, 1], &[false, true, true], &[false, true, true], true);
        assert_eq!(f.pick(None, |i| i == 1), Some(2));
        f.pick(None, |_| false);
        assert_eq!(f.pick(Some(1), |_| false), Some(2));
    }
}
