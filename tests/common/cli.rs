//! Helpers for tests that run the `hinas` binary as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn hinas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hinas"))
}

/// tests/configs: the micro configs, genotype and sweep plan.
pub fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// A scratch path private to this test binary and process, with nothing there yet.
pub fn scratch(name: &str) -> PathBuf {
    let binary = module_path!().split("::").next().unwrap_or("test");
    let d = std::env::temp_dir().join(format!("hinas-{binary}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// [`scratch`], created as an empty folder.
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = scratch(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "command failed ({:?}): {}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// A training config small enough for a CPU device: `iterations` steps, validation every
/// `val_every` on one 16x16 crop.
pub fn micro_train_toml(iterations: usize, val_every: usize) -> String {
    format!(
        "[net]\nfilter_multiplier = 2\nstem_channels = 4\n[train]\niterations = {iterations}\nval_every = {val_every}\nbatch_size = 2\npatch_size = 16\nval_images = 1\nval_crop = 16\n"
    )
}

/// The tensors of a run folder's model file, to compare two runs.
pub fn model_weights(dir: &Path) -> Vec<hinas::checkpoint::HostTensor> {
    hinas::checkpoint::load(&dir.join("model.safetensors"))
        .unwrap()
        .0
}

/// `hinas <command> --quiet --resume <dir> <extra...>`.
pub fn resume_with(command: &str, dir: &Path, extra: &[&str]) -> Output {
    hinas()
        .args([command, "--quiet", "--resume"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

/// [`resume_with`] no extra flags, which must succeed.
#[track_caller]
pub fn resume(command: &str, dir: &Path) {
    assert_ok(&resume_with(command, dir, &[]));
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

/// Waits until `ckpt` is on disk, then SIGKILLs `child` and returns the checkpoint's `key`
/// metadata (the progress it recorded). Fails unless the kill landed mid-run: a run that ends
/// on its own before the kill (a device fast enough to outrun the poll) fails here instead of
/// passing the resume test without resuming anything.
#[track_caller]
pub fn kill_after_checkpoint(
    mut child: std::process::Child,
    ckpt: &std::path::Path,
    key: &str,
) -> usize {
    let t0 = std::time::Instant::now();
    while !ckpt.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("run ended ({status}) before writing {}", ckpt.display());
        }
        assert!(t0.elapsed().as_secs() < 600, "no checkpoint after 600 s");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL where the child still runs
    let status = child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "the run ended ({status}) before the kill landed"
        );
    }
    #[cfg(not(unix))]
    assert!(!status.success(), "the run ended before the kill landed");
    let (_, meta) = hinas::checkpoint::load(ckpt).expect("checkpoint readable after the kill");
    meta.get(key)
        .unwrap_or_else(|| panic!("checkpoint lacks {key}"))
        .parse()
        .unwrap()
}
