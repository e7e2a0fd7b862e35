//! The architecture's invariants that a search of the source can check (ARCHITECTURE.md):
//! review rules stay in this crate, and library code reads time only through a `Clock`.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The production source files of the workspace's library crates, the console and the UI
/// (tests, benchmarks and fuzz targets are not product code).
fn product_sources() -> Vec<PathBuf> {
    let root = workspace();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.extend([root.join("src-tauri/src"), root.join("ui/src")]);
    dirs.iter().flat_map(|d| sources(d)).collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap_or(path)
        .display()
        .to_string()
        .replace('\\', "/")
}

/// Lines outside `#[cfg(test)]` modules (which, by convention here, close the file).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .enumerate()
        .map(|(i, line)| (i + 1, line.to_owned()))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .collect()
}

fn offenders(pattern: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    product_sources()
        .iter()
        .filter(|path| !allowed(&relative(path)))
        .flat_map(|path| {
            code_lines(path)
                .into_iter()
                .filter(|(_, line)| line.contains(pattern))
                .map(move |(n, line)| format!("{}:{n}: {}", relative(path), line.trim()))
        })
        .collect()
}

#[test]
fn the_search_sees_the_workspace() {
    // A positive control: the patterns below would pass vacuously on an empty file list.
    let files = product_sources();
    assert!(files.len() > 50, "only {} source files found", files.len());
    assert!(
        !offenders("SystemClock", |_| false).is_empty(),
        "the search finds a known name"
    );
}

#[test]
fn library_code_reads_time_only_through_a_clock() {
    // Binaries (main.rs) pass the system clock in (the desktop app's composition root is
    // `run` in src-tauri/src/lib.rs, which passes `SystemClock`); the UI runs in the browser's
    // time.
    let found = offenders("Utc::now()", |file| {
        file.ends_with("/main.rs")
            || file == "crates/review/src/clock.rs"
            || file.starts_with("ui/")
    });
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn escalation_targets_and_raisers_are_named_only_by_the_review_crate() {
    for literal in ["\"role:supervisor\"", "raised_by: \"gateway\""] {
        // The embedded demo writes a policy file, whose text names its targets.
        let found = offenders(literal, |file| {
            file.starts_with("crates/review/") || file == "src-tauri/src/demo.rs"
        });
        assert!(found.is_empty(), "{literal}: {found:#?}");
    }
}

#[test]
fn only_the_store_writes_sql() {
    let found = offenders("sqlx::query", |file| file.starts_with("crates/store/"));
    assert!(found.is_empty(), "{found:#?}");
}
