//! Composes the WGSL kernels. Every shaders/NAME.wgsl becomes $OUT_DIR/shaders/NAME.wgsl, in
//! which a line `#include "OTHER.wgsl"` is replaced by OTHER.wgsl's composed text (pasted once
//! per output; a later include of the same file adds nothing). Kernel variants share one copy of
//! their common code this way, and a variant for devices without subgroups is a file whose text
//! holds no subgroup code at all, which `override` constants cannot give. src/gpu/kernel.rs
//! embeds the results.
//!
//! A text include at build time rather than naga_oil: the output stays plain WGSL that wgpu
//! parses once per kernel, nothing is mangled (entry-point names are what the launchers ask
//! for), there is no runtime composing step on the cold start, and no second naga version to
//! keep in step with wgpu's.
//!
//! Also embeds the git commit and the wgpu version in `hinas --version`.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

fn compose(
    dir: &Path,
    name: &str,
    seen: &mut HashSet<String>,
    stack: &mut Vec<String>,
    out: &mut String,
) {
    if stack.iter().any(|s| s == name) {
        panic!("shaders: include cycle {} -> {name}", stack.join(" -> "));
    }
    if !seen.insert(name.to_string()) {
        return;
    }
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("shaders: cannot read {}: {e}", path.display()));
    stack.push(name.to_string());
    for (i, line) in text.lines().enumerate() {
        match line.trim().strip_prefix("#include") {
            Some(rest) => {
                let inc = rest.trim();
                let inc = inc
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .unwrap_or_else(|| {
                        panic!("shaders/{name}:{}: write #include \"FILE.wgsl\"", i + 1)
                    });
                compose(dir, inc, seen, stack, out);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    stack.pop();
}

fn compose_shaders() {
    // The package being built, read when the script runs: `env!` would bake in the folder the
    // script was compiled for, and checkouts that share a target folder share this script's
    // binary, so another worktree's shaders would be embedded (docs/perf-log.md, methods).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("shaders");
    println!("cargo::rerun-if-changed=shaders");
    let out_dir = Path::new(&std::env::var("OUT_DIR").unwrap()).join("shaders");
    std::fs::create_dir_all(&out_dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "wgsl") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut out = String::new();
        compose(&dir, &name, &mut HashSet::new(), &mut Vec::new(), &mut out);
        let dest = out_dir.join(&name);
        // Rewritten only when changed, so an unrelated edit does not rebuild the crate.
        if std::fs::read_to_string(&dest).ok().as_deref() != Some(out.as_str()) {
            std::fs::write(&dest, out).unwrap();
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn embed_version() {
    // Outside a git checkout (a source tarball, a vendored copy) the commit is unknown.
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BUILD_GIT_COMMIT={commit}");
    // Re-run when HEAD moves: HEAD itself (branch switches) and the branch it points at.
    for p in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
    ]
    .into_iter()
    .flatten()
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let wgpu = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wgpu\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "30".into());
    println!("cargo:rustc-env=BUILD_WGPU_VERSION={wgpu}");
}

fn main() {
    compose_shaders();
    embed_version();
}
