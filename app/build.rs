//! Prepares the data the app builds in, in `$OUT_DIR`:
//! - the lessons in `lessons/`, read, checked and written parsed
//!   (`course.json`). A bad lesson stops the build with its file, its step
//!   and the problem;
//! - the built-in example scenarios and templates, without the whitespace
//!   between JSON tokens (the app only parses them): about 40 KB less in the
//!   wasm file. `src/examples.rs` and `src/editor/templates.rs` include them.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    minify_dir(&root.join("engine/scenarios"), &out.join("scenarios"));
    minify_dir(&root.join("app/templates"), &out.join("templates"));
    write_course(&root, &out);
}

/// Checks every lesson against the examples and templates it may start
/// from, and writes the course.
fn write_course(root: &Path, out: &Path) {
    let lessons = root.join("lessons");
    println!("cargo:rerun-if-changed={}", lessons.display());
    let examples = ids(&root.join("engine/scenarios"));
    let templates = ids(&root.join("app/templates"));
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    match lesson::read_course(&lessons, "lessons", &examples, &templates) {
        Ok(course) => {
            let text = serde_json::to_string(&course).expect("serialises");
            std::fs::write(out.join("course.json"), text).expect("writes course.json");
        }
        Err(problem) => {
            eprintln!("error: bad lesson: {problem}");
            println!("cargo:warning=bad lesson: {problem}");
            std::process::exit(1);
        }
    }
}

/// The JSON files in `dir`, by name without `.json`, sorted.
fn ids(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        json_files(dir).iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
    v.sort();
    v
}

fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect()
}

/// Writes each JSON file of `src` to `dest`, minified.
fn minify_dir(src: &Path, dest: &Path) {
    println!("cargo:rerun-if-changed={}", src.display());
    std::fs::create_dir_all(dest).expect("create the output directory");
    for path in json_files(src) {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("read a JSON file");
        std::fs::write(dest.join(path.file_name().expect("a file name")), minify(&text)).expect("write a JSON file");
    }
}

/// `text` without whitespace outside strings.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
