//! Reads and checks the lessons in `lessons/` and writes them, parsed, for
//! the app to build in (`$OUT_DIR/course.json`). A bad lesson stops the
//! build with its file, its step and the problem.

use std::path::Path;

fn ids(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    v.sort();
    v
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lessons = root.join("lessons");
    println!("cargo:rerun-if-changed={}", lessons.display());
    let examples = ids(&root.join("engine/scenarios"));
    let templates = ids(&root.join("app/templates"));
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    match lesson::read_course(&lessons, "lessons", &examples, &templates) {
        Ok(course) => {
            let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("course.json");
            std::fs::write(out, serde_json::to_string(&course).expect("serialises")).expect("writes course.json");
        }
        Err(problem) => {
            eprintln!("error: bad lesson: {problem}");
            println!("cargo:warning=bad lesson: {problem}");
            std::process::exit(1);
        }
    }
}
