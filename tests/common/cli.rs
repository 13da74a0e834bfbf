//! Helpers for tests that run the `hinas` binary as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn hinas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hinas"))
}

/// An empty scratch folder private to this test binary and process.
pub fn scratch(name: &str) -> PathBuf {
    let binary = module_path!().split("::").next().unwrap_or("test");
    let d = std::env::temp_dir().join(format!("hinas-{binary}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failing command must print exactly one line starting with "error:", and no panic.
#[track_caller]
pub fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success(), "command unexpectedly succeeded");
    assert_ne!(o.status.code(), Some(101), "panicked: {}", stderr(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(needle), "expected {needle:?} in {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}
