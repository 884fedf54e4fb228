//! Guided lessons: the course (read from `lessons/` when the app is built,
//! see `build.rs`), each step's scenario ([`setup`]), its goals checked
//! against the running simulation ([`goals`]) and the learner's progress
//! ([`progress`]). The player's views are in `ui/lesson*.rs`.

pub mod goals;
pub mod player;
pub mod progress;
pub mod setup;

use lesson::Course;
use std::sync::OnceLock;

/// The course, parsed once. Read as a JSON value first, then typed: the
/// app already holds serde_json's value parser and deserialiser, where
/// typing straight from the text would compile the course's types into
/// the text parser once more.
pub fn course() -> &'static Course {
    static COURSE: OnceLock<Course> = OnceLock::new();
    COURSE.get_or_init(|| {
        let text = include_str!(concat!(env!("OUT_DIR"), "/course.json"));
        serde_json::from_str::<serde_json::Value>(text)
            .and_then(serde_json::from_value)
            .expect("the build script wrote the course")
    })
}
