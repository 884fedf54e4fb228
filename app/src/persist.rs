//! The lab's work outside the page: the share link in the address's
//! fragment, the autosave in localStorage, and files the learner exports
//! or imports. The formats and their checks are in [`crate::share`]; this
//! is the browser's side. Whatever comes in is checked before anything is
//! replaced, so a bad link or file leaves the current work as it was.

use crate::handle::LabHandle;
use crate::share::{autosave, file, link};
use engine::Scenario;
use leptos::prelude::*;

/// How often the work is saved while the lab is open (and when the page
/// is hidden or closed).
pub const SAVE_EVERY_MS: u64 = 2_000;

/// An example's id if `scenario` is exactly that example, so the picker
/// shows it by name.
pub fn source_of(scenario: &Scenario) -> &'static str {
    crate::examples::id_of(scenario)
}

/// Opens a shared run; on error, says what is wrong and changes nothing.
pub fn open_link(h: LabHandle, text: &str) -> bool {
    let opened = link::decode_link(text)
        .map_err(|e| e.to_string())
        .and_then(|run| h.open_scenario(source_of(&run.scenario), &run.scenario, run.at_ns).map_err(|e| e.to_string()));
    match opened {
        Ok(()) => true,
        Err(e) => {
            h.notice.set(Some(format!("This link could not be opened: {e}. Your work is as it was.")));
            false
        }
    }
}

/// Says that the file `name` was not opened, and why.
pub fn refuse_file(h: LabHandle, name: &str, why: &str) {
    h.notice.set(Some(format!("`{name}` could not be opened: {why}. Your work is as it was.")));
}

/// Opens an imported scenario file's text; on error, says what is wrong
/// and changes nothing.
pub fn open_file(h: LabHandle, name: &str, text: &str) -> bool {
    let opened = file::import_scenario(text)
        .map_err(|e| e.to_string())
        .and_then(|s| h.open_scenario(source_of(&s), &s, 0).map_err(|e| e.to_string()));
    match opened {
        Ok(()) => true,
        Err(e) => {
            refuse_file(h, name, &e);
            false
        }
    }
}

/// The link to the run as it stands, at its current moment.
pub fn share_link(h: LabHandle) -> Result<String, String> {
    let (scenario, at) = h.current_work().ok_or_else(|| not_running(h))?;
    link::encode_link(&scenario, at).map_err(|e| e.to_string())
}

/// Why there is no run to share or export: a draft, and what it needs.
pub fn not_running(h: LabHandle) -> String {
    match h.draft_problem_untracked() {
        Some(p) => format!("the scenario is a draft that cannot run yet ({p}); finish it first"),
        None => "nothing is open".to_string(),
    }
}

/// Reads saved work back, as the page opens; returns what it opened (it
/// need not be saved again until it changes).
pub fn restore(h: LabHandle, store: &mut impl autosave::KeyValue) -> Option<(Scenario, u64)> {
    match autosave::load_work(store) {
        autosave::Loaded::Nothing => {}
        autosave::Loaded::Restored(work) if work.draft => {
            h.open_draft(&work.scenario);
            return Some((work.scenario.clone(), 0));
        }
        autosave::Loaded::Restored(work) => match h.open_scenario(source_of(&work.scenario), &work.scenario, work.at_ns) {
            Ok(()) => return Some((work.scenario, work.at_ns)),
            Err(e) => h.notice.set(Some(format!("Your saved work could not be opened again: {e}."))),
        },
        autosave::Loaded::SetAside { error, backup_key } => h.notice.set(Some(format!(
            "Your saved work could not be read ({error}). It is kept in this browser's storage under `{backup_key}`."
        ))),
        autosave::Loaded::Stuck { error, why } => h.notice.set(Some(format!(
            "Your saved work could not be read ({error}), and could not be set aside ({why}); it will not be overwritten."
        ))),
    }
    None
}

/// Saves the work if it changed since `last`; returns what was saved.
pub fn save(
    h: LabHandle,
    store: &mut impl autosave::KeyValue,
    last: Option<&(Scenario, u64)>,
    now_ms: u64,
) -> Option<(Scenario, u64)> {
    // A draft that cannot run yet is kept too, at time zero.
    let (scenario, at_ns, draft) = match h.current_work() {
        Some((s, t)) => (s, t, false),
        None => (h.document()?, 0, true),
    };
    if last.is_some_and(|(s, t)| *s == scenario && *t == at_ns) {
        return None;
    }
    let work = autosave::Work { scenario, at_ns, saved_at_ms: Some(now_ms), draft };
    match autosave::save_work(store, &work) {
        Ok(()) => Some((work.scenario, work.at_ns)),
        Err(e) => {
            h.notice.set(Some(format!("Your work could not be saved in this browser: {e}")));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Memory(BTreeMap<String, String>);

    impl autosave::KeyValue for Memory {
        fn get(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
            self.0.insert(key.to_string(), value.to_string());
            Ok(())
        }
    }

    fn fingerprint(h: LabHandle) -> (u64, String) {
        h.lab.with_value(|l| {
            let l = l.as_ref().unwrap();
            (l.sim.now(), l.sim.trace_hash())
        })
    }

    fn settle(h: LabHandle) {
        h.with_lab(|l| l.finish_seek());
    }

    #[test]
    fn a_shared_link_opens_the_identical_run_at_its_moment() {
        let h = LabHandle::new();
        h.set_playing(false);
        h.seek(4_000_000_000);
        settle(h);
        h.toggle_crash("web2");
        h.seek(7_000_000_000);
        settle(h);
        let before = fingerprint(h);
        let url = share_link(h).unwrap();

        let other = LabHandle::new();
        assert!(open_link(other, &format!("http://127.0.0.1:8080/{url}")));
        settle(other);
        assert_eq!(fingerprint(other), before);
        assert_eq!(other.example.get_untracked(), "", "with a crash added it is not the example any more");
    }

    #[test]
    fn a_bad_link_or_file_changes_nothing_and_says_why() {
        let h = LabHandle::new();
        h.set_playing(false);
        h.open("db-async-failover");
        let before = (fingerprint(h), h.scenario());
        let good = share_link(h).unwrap();
        for (bad, says) in [
            (&good[..good.len() / 2], "incomplete or damaged"),
            ("#v9.AAAA", "newer"),
            ("#hello", "not a Cluster Lab share link"),
        ] {
            assert!(!open_link(h, bad));
            let notice = h.notice.get_untracked().unwrap();
            assert!(notice.contains(says) && notice.ends_with("Your work is as it was."), "{bad}: {notice}");
            assert_eq!((fingerprint(h), h.scenario()), before);
        }
        assert!(!open_file(h, "x.json", "{\"version\": 1, \"nodes\": [{\"name\": \"a\", \"type\": \"client\"}]"));
        assert!(h.notice.get_untracked().unwrap().starts_with("`x.json` could not be opened: "));
        assert!(!open_file(h, "future.json", "{\"version\": 7, \"nodes\": []}"));
        assert_eq!((fingerprint(h), h.scenario()), before);
        // A file of an example opens as that example.
        let text =
            file::export_scenario(&Scenario::from_json(crate::examples::find("link-cut").unwrap().json).unwrap());
        assert!(open_file(h, "link-cut.json", &text));
        assert_eq!(h.example.get_untracked(), "link-cut");
    }

    #[test]
    fn work_is_saved_when_it_changes_and_restored_at_its_moment() {
        let mut store = Memory::default();
        let h = LabHandle::new();
        h.set_playing(false);
        h.open("server-crash-failover");
        h.seek(3_000_000_000);
        settle(h);
        let saved = save(h, &mut store, None, 1).unwrap();
        assert!(save(h, &mut store, Some(&saved), 2).is_none(), "unchanged: not written again");
        let before = fingerprint(h);

        let again = LabHandle::new();
        let restored = restore(again, &mut store);
        assert!(save(again, &mut store, restored.as_ref(), 3).is_none(), "restored, unchanged: not written again");
        settle(again);
        assert_eq!(fingerprint(again), before);
        assert_eq!(again.example.get_untracked(), "server-crash-failover");

        // A draft (a client with no target yet) is kept and comes back as a
        // draft, not as an error.
        let drafting = LabHandle::new();
        drafting.add_node(engine::components::Kind::Client).unwrap();
        let problem = drafting.draft_problem_untracked().expect("a draft");
        let refused = share_link(drafting).unwrap_err();
        assert!(
            refused.starts_with("the scenario is a draft that cannot run yet (") && refused.contains(&problem),
            "{refused}"
        );
        let kept = save(drafting, &mut store, None, 4).unwrap();
        let back = LabHandle::new();
        assert_eq!(restore(back, &mut store), Some(kept.clone()));
        assert_eq!(back.document(), Some(kept.0));
        assert_eq!(back.draft_problem_untracked(), Some(problem));

        // Unreadable saved work is set aside, said, and not lost.
        store.0.insert(autosave::WORK_KEY.to_string(), "{not json".to_string());
        let third = LabHandle::new();
        assert!(restore(third, &mut store).is_none());
        let notice = third.notice.get_untracked().unwrap();
        assert!(notice.starts_with("Your saved work could not be read"), "{notice}");
        assert!(store.0.values().any(|v| v == "{not json"));
    }
}
