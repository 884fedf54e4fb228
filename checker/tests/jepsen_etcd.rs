//! The 102 Jepsen etcd histories Porcupine tests with: every verdict equals
//! the one in `expected.tsv` (Porcupine's own test suite's).

use checker::formats::etcd;
use checker::models::register::Register;
use checker::{check, Budget, Linearizable};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    // The shared data lives beside the repository (../shared/data).
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [manifest.join("../../shared/data/jepsen-etcd"), PathBuf::from("/work/shared/data/jepsen-etcd")];
    candidates
        .into_iter()
        .find(|p| p.join("expected.tsv").is_file())
        .expect("../shared/data/jepsen-etcd with expected.tsv")
}

#[test]
fn all_102_histories_get_the_expected_verdicts() {
    let dir = data_dir();
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut checked = 0;
    let mut linearizable = 0;
    for line in expected.lines().skip(1) {
        let (file, want) = line.split_once('\t').unwrap();
        let want = match want {
            "true" => Linearizable::Yes,
            "false" => Linearizable::No,
            other => panic!("{file}: expected.tsv says `{other}`"),
        };
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let history = etcd::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let verdict = check(&Register, &history, &Budget::default());
        assert_eq!(verdict.linearizable, want, "{file}: {verdict:?}");
        if want == Linearizable::No {
            let w = verdict.witness.as_ref().unwrap();
            assert!(w.blocked.is_some() && !w.explanation.is_empty(), "{file}: a witness names the operations");
        } else {
            linearizable += 1;
        }
        checked += 1;
    }
    assert_eq!((checked, linearizable), (102, 23));
}
