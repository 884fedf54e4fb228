//! RDB snapshots (`save`). `serverCron` starts a background save when,
//! for some save point (seconds, changes), at least that many changes were
//! made and more than that many seconds have passed since the last save
//! (`server.lastsave`, set when the process starts too). The child writes
//! the dataset as it stood at the fork to a temporary file, fsyncs it and
//! renames it over `dump.rdb`, so a power loss keeps it. When the process
//! starts again without `appendonly`, Redis loads `dump.rdb`: the dataset
//! of the last save, without the changes made since.
//!
//! Not modelled: the time the fork and the write take (the snapshot is on
//! disk at the tick that starts it), a save that fails, and the RDB a
//! replica writes when it synchronises in full (its `dump.rdb` here holds
//! only its own saves).

/// Whether a save is due: `changes` made and `elapsed_s` seconds passed
/// since the last one (`serverCron`: `dirty >= changes && unixtime -
/// lastsave > seconds`).
pub fn due(points: &[(u64, u64)], changes: u64, elapsed_s: i64) -> bool {
    points.iter().any(|&(seconds, at_least)| changes >= at_least && elapsed_s > seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::due;

    #[test]
    fn a_save_point_needs_both_its_changes_and_more_than_its_seconds() {
        let points = [(3600, 1), (300, 100), (60, 10_000)];
        assert!(!due(&points, 9_999, 61));
        assert!(due(&points, 10_000, 61));
        assert!(!due(&points, 10_000, 60), "more than 60 s");
        assert!(due(&points, 100, 301));
        assert!(!due(&points, 0, 100_000), "nothing changed");
        assert!(due(&[(5, 0)], 0, 6), "0 changes: every 5 s");
        assert!(!due(&[], 1_000_000, 1_000_000), "save \"\": never");
    }
}
