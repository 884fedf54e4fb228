//! A learner's progress through the course, kept in `localStorage` under
//! [`PROGRESS_KEY`]: per lesson, the steps done, the step last open and
//! the predictions made. Read back with every field checked; what does not
//! belong to the course is dropped; an unreadable value is copied aside,
//! never overwritten.

use crate::share::autosave::KeyValue;
use lesson::Course;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PROGRESS_KEY: &str = "clusterlab.lessons";
/// Where an unreadable value is copied before the first save overwrites it.
pub const PROGRESS_BACKUP_KEY: &str = "clusterlab.lessons.unreadable";
pub const PROGRESS_VERSION: u64 = 1;
/// The most read back: far more than the course's progress takes.
pub const MAX_PROGRESS_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonProgress {
    /// Steps (from 0) whose goals were all met at once.
    #[serde(default)]
    pub done: Vec<usize>,
    /// The step last open.
    #[serde(default)]
    pub at: usize,
    /// Step -> the option (from 0) the learner predicted.
    #[serde(default)]
    pub predicted: BTreeMap<usize, usize>,
}

impl LessonProgress {
    pub fn is_done(&self, step: usize) -> bool {
        self.done.contains(&step)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub lessons: BTreeMap<String, LessonProgress>,
    /// The lesson open in the player, to reopen after a reload.
    pub open: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u64,
    lessons: BTreeMap<String, LessonProgress>,
    #[serde(default)]
    open: Option<String>,
}

impl Progress {
    pub fn lesson(&self, id: &str) -> LessonProgress {
        self.lessons.get(id).cloned().unwrap_or_default()
    }

    pub fn lesson_mut(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }

    /// Steps done out of all steps of lesson `id`.
    pub fn count(&self, course: &Course, id: &str) -> (usize, usize) {
        let total = course.lesson(id).map_or(0, |l| l.steps.len());
        (self.lessons.get(id).map_or(0, |p| p.done.len()), total)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(&Stored {
            version: PROGRESS_VERSION,
            lessons: self.lessons.clone(),
            open: self.open.clone(),
        })
        .expect("serialises")
    }

    /// Reads kept progress: what is about lessons or steps the course does
    /// not have (an older course) is dropped.
    pub fn decode(text: &str, course: &Course) -> Result<Progress, String> {
        if text.len() > MAX_PROGRESS_BYTES {
            return Err(format!("{} bytes, more than the {MAX_PROGRESS_BYTES} read", text.len()));
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if stored.version > PROGRESS_VERSION {
            return Err(format!("saved by a newer Cluster Lab (version {})", stored.version));
        }
        let mut lessons = BTreeMap::new();
        for (id, mut p) in stored.lessons {
            let Some(l) = course.lesson(&id) else { continue };
            let steps = l.steps.len();
            p.done.retain(|&s| s < steps);
            p.done.sort_unstable();
            p.done.dedup();
            p.at = p.at.min(steps.saturating_sub(1));
            p.predicted.retain(|&s, &mut o| {
                l.steps.get(s).and_then(|st| st.predict.as_ref()).is_some_and(|q| o < q.options.len())
            });
            lessons.insert(id, p);
        }
        let open = stored.open.filter(|id| course.lesson(id).is_some());
        Ok(Progress { lessons, open })
    }
}

/// Reads the kept progress. An unreadable value is copied to
/// [`PROGRESS_BACKUP_KEY`] and the reason returned with empty progress.
pub fn load(store: &mut impl KeyValue, course: &Course) -> (Progress, Option<String>) {
    let Some(raw) = store.get(PROGRESS_KEY) else { return (Progress::default(), None) };
    match Progress::decode(&raw, course) {
        Ok(p) => (p, None),
        Err(e) => {
            let kept = match store.get(PROGRESS_BACKUP_KEY) {
                Some(held) if held != raw => Err("an earlier unreadable copy is kept there".to_string()),
                Some(_) => Ok(()),
                None => store.set(PROGRESS_BACKUP_KEY, &raw),
            };
            let why = match kept {
                Ok(()) => format!("The lesson progress kept in this browser could not be read ({e}); a copy is kept under `{PROGRESS_BACKUP_KEY}`."),
                Err(k) => format!("The lesson progress kept in this browser could not be read ({e}) nor copied aside ({k})."),
            };
            (Progress::default(), Some(why))
        }
    }
}

/// Keeps the progress.
pub fn save(store: &mut impl KeyValue, progress: &Progress) -> Result<(), String> {
    store.set(PROGRESS_KEY, &progress.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap as Map;

    #[derive(Default)]
    struct Mem(Map<String, String>);
    impl KeyValue for Mem {
        fn get(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
            self.0.insert(key.into(), value.into());
            Ok(())
        }
    }

    #[test]
    fn progress_round_trips_and_drops_what_the_course_lacks() {
        let course = super::super::course();
        let first = &course.lessons[0];
        let mut p = Progress::default();
        p.lesson_mut(&first.id).done = vec![0];
        p.lesson_mut(&first.id).at = 1;
        p.lesson_mut("no-such-lesson").done = vec![0];
        let mut store = Mem::default();
        save(&mut store, &p).unwrap();
        let (back, problem) = load(&mut store, course);
        assert_eq!(problem, None);
        assert_eq!(back.lesson(&first.id).done, vec![0]);
        assert_eq!(back.lessons.len(), 1, "the unknown lesson is dropped");
        assert_eq!(back.count(course, &first.id), (1, first.steps.len()));
    }

    #[test]
    fn unreadable_progress_is_set_aside_not_lost() {
        let course = super::super::course();
        let mut store = Mem::default();
        store.set(PROGRESS_KEY, "{not json").unwrap();
        let (p, problem) = load(&mut store, course);
        assert_eq!(p, Progress::default());
        assert!(problem.unwrap().contains(PROGRESS_BACKUP_KEY));
        assert_eq!(store.get(PROGRESS_BACKUP_KEY).as_deref(), Some("{not json"));
        let newer = r#"{"version":9,"lessons":{}}"#;
        assert!(Progress::decode(newer, course).unwrap_err().contains("newer"));
        let out_of_range =
            format!(r#"{{"version":1,"lessons":{{"{}":{{"done":[0,99],"at":99}}}}}}"#, course.lessons[0].id);
        let p = Progress::decode(&out_of_range, course).unwrap();
        assert_eq!(p.lesson(&course.lessons[0].id).done, vec![0]);
    }
}
