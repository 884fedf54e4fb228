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

/// The course, parsed once.
pub fn course() -> &'static Course {
    static COURSE: OnceLock<Course> = OnceLock::new();
    COURSE.get_or_init(|| {
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/course.json")))
            .expect("the build script wrote the course")
    })
}
