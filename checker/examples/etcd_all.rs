//! Checks every history in a directory of Jepsen etcd logs and prints each
//! verdict with its search steps, and the total time (a quick benchmark:
//! `cargo run --release -p clusterlab-checker --example etcd_all -- DIR`).

use checker::formats::etcd;
use checker::models::register::Register;
use checker::{check, Budget};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/jepsen-etcd".into());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    let t0 = std::time::Instant::now();
    let (mut steps, mut memo) = (0u64, 0usize);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let h = etcd::parse(&text).unwrap();
        let v = check(&Register, &h, &Budget::default());
        steps += v.steps;
        memo = memo.max(v.memo_peak);
        if std::env::var_os("VERBOSE").is_some() {
            println!("{}\t{:?}\t{}\t{}", f.display(), v.linearizable, v.steps, v.memo_peak);
        }
    }
    println!("{} files, {} steps, memo peak {}, {:?}", files.len(), steps, memo, t0.elapsed());
}
