//! The one rule every command follows for what it writes: never replace an existing file or write
//! into a non-empty folder that is not the command's own resumable run, unless the user passed
//! `--force`; default run folders are new folders named by local time, with `-2`, `-3`, ... when
//! that name is taken (two runs started in the same second get two folders).

use std::path::{Path, PathBuf};

/// `parent/<kind>-YYYYMMDD-HHMMSS` in local time, or the same with `-2`, `-3`, ... appended:
/// the first name that does not exist yet. Does not create it (see [`claim_new_dir`]).
pub fn fresh_name(parent: &Path, kind: &str) -> PathBuf {
    let stem = format!("{kind}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    candidates(parent, &stem)
        .find(|p| !p.exists())
        .expect("unbounded candidates")
}

fn candidates(parent: &Path, stem: &str) -> impl Iterator<Item = PathBuf> {
    let (parent, stem) = (parent.to_path_buf(), stem.to_string());
    (1u32..).map(move |k| match k {
        1 => parent.join(&stem),
        k => parent.join(format!("{stem}-{k}")),
    })
}

/// Creates and returns a new, empty folder `parent/<stem>` (or `<stem>-2`, `-3`, ...): creating
/// it is what reserves the name, so concurrent runs never share a folder.
pub fn claim_dir(parent: &Path, stem: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(parent)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
    for p in candidates(parent, stem).take(10_000) {
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("cannot create {}: {e}", p.display()),
        }
    }
    anyhow::bail!(
        "cannot find a free folder name for {} in {}",
        stem,
        parent.display()
    )
}

/// A new run folder under `parent` named `<kind>-<local date>-<time>[-N]`, created empty.
pub fn claim_new_dir(parent: &Path, kind: &str) -> anyhow::Result<PathBuf> {
    let stem = format!("{kind}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    claim_dir(parent, &stem)
}

/// Removes `dir` if it exists and is empty (a claimed folder whose command failed early).
pub fn remove_if_empty(dir: &Path) {
    if is_empty_dir(dir) {
        let _ = std::fs::remove_dir(dir);
    }
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// A folder a command is about to fill: missing or empty is fine; anything else needs `force`.
/// `what` names the command's outputs for the message ("search outputs").
pub fn check_output_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{} exists and is not a folder", dir.display());
    }
    if force || !dir.exists() || is_empty_dir(dir) {
        return Ok(());
    }
    anyhow::bail!(
        "{} is not empty; use --force to write into it, or choose another output folder",
        dir.display()
    )
}

/// A file a command is about to write: it must not exist unless `force`.
pub fn check_output_file(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!("{} is a folder", path.display());
    }
    if !force && (path.exists() || path.is_symlink()) {
        anyhow::bail!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    Ok(())
}

const RUN_FILE: &str = "run.json";

/// Records the data a run trains on (folders as absolute paths), so `--resume` uses the same.
pub fn save_data(dir: &Path, data: &crate::data::Source) -> anyhow::Result<()> {
    let text = match data {
        crate::data::Source::Folder(p) => p
            .canonicalize()
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        other => other.to_string(),
    };
    let json = serde_json::json!({ "data": text });
    crate::checkpoint::write_atomic(&dir.join(RUN_FILE), json.to_string().as_bytes())
}

/// The data a run recorded with [`save_data`] (None for runs from before it was recorded).
pub fn saved_data(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(RUN_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("data")?.as_str().map(str::to_string)
}

/// Whether `given` (as typed) names the same data as `saved` (as recorded).
pub fn same_data(saved: &str, given: &str) -> bool {
    saved == given
        || Path::new(given)
            .canonicalize()
            .is_ok_and(|p| p == Path::new(saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_dirs_are_unique_within_one_second() {
        let parent = std::env::temp_dir().join(format!("hinas-outdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let a = claim_dir(&parent, "search-x").unwrap();
        let b = claim_dir(&parent, "search-x").unwrap();
        let c = claim_dir(&parent, "search-x").unwrap();
        assert_eq!(a, parent.join("search-x"));
        assert_eq!(b, parent.join("search-x-2"));
        assert_eq!(c, parent.join("search-x-3"));
        assert_eq!(fresh_name(&parent, "k").parent(), Some(parent.as_path()));
        std::fs::write(a.join("f"), b"x").unwrap();
        assert!(check_output_dir(&a, false).is_err());
        assert!(check_output_dir(&a, true).is_ok());
        assert!(check_output_dir(&b, false).is_ok());
        assert!(check_output_file(&a.join("f"), false).is_err());
        assert!(check_output_file(&a.join("f"), true).is_ok());
        remove_if_empty(&b);
        assert!(!b.exists());
        let _ = std::fs::remove_dir_all(&parent);
    }
}
