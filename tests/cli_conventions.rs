//! The command line follows the conventions of cargo and ripgrep: every flag documented, the
//! environment variables and an example in --help, short flags, --version with the commit,
//! shell completions, and the overwrite rule (nothing replaced without --force).

use std::path::Path;
use std::process::Output;

mod common;
use common::cli::*;

const SUBCOMMANDS: &[&str] = &[
    "info",
    "search",
    "train",
    "eval",
    "denoise",
    "export",
    "completions",
];

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn help(args: &[&str]) -> String {
    let o = hinas().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn help_documents_every_flag() {
    for sub in SUBCOMMANDS {
        let h = help(&[sub, "-h"]);
        let mut options = 0;
        for line in h.lines() {
            let t = line.trim_start();
            // A flag starts its line at clap's option indent; a wrapped description that
            // happens to begin with '-' sits far deeper.
            let indent = line.len() - t.len();
            if !t.starts_with('-') || indent > 6 {
                continue;
            }
            options += 1;
            // "-q, --quiet  text": the flag spec, two or more spaces, then its description.
            // (clap shows "[default: ...]" and "[possible values: ...]" even for an
            // undocumented flag: they are not a description.)
            let described = t.split_once("  ").is_some_and(|(_, d)| {
                let d = d.trim();
                !d.is_empty() && !d.starts_with('[')
            });
            assert!(described, "`hinas {sub}`: undocumented flag: {line}");
        }
        assert!(options >= 2, "`hinas {sub} -h` lists no options:\n{h}");
    }
}

/// Every HINAS_* variable the code reads, found by scanning the sources as a reviewer would.
fn env_vars() -> Vec<String> {
    let mut vars = std::collections::BTreeSet::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack: Vec<_> = ["src", "tests", "benches", "examples"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, _) in text.match_indices("HINAS_") {
                let name: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                if name.len() > "HINAS_".len() && !name.ends_with('_') {
                    vars.insert(name);
                }
            }
        }
    }
    vars.into_iter().collect()
}

#[test]
fn help_lists_the_environment_and_an_example() {
    let h = help(&["--help"]);
    let vars = env_vars();
    assert!(vars.len() >= 5, "{vars:?}");
    for v in &vars {
        assert!(h.contains(v.as_str()), "--help does not mention {v}:\n{h}");
    }
    assert!(h.contains("Examples:") && h.contains("hinas search"), "{h}");
    for sub in ["search", "train", "eval", "denoise", "export"] {
        assert!(help(&[sub, "--help"]).contains("Example"), "{sub}");
    }
}

#[test]
fn common_flags_have_short_forms() {
    for (sub, flags) in [
        ("search", &["-o, --out", "-q, --quiet", "-c, --config"][..]),
        ("train", &["-o, --out", "-q, --quiet", "-c, --config"][..]),
        ("eval", &["-m, --model", "-o, --out", "-q, --quiet"][..]),
        ("denoise", &["-m, --model", "-o, --out", "-q, --quiet"][..]),
        ("export", &["-m, --model", "-q, --quiet"][..]),
    ] {
        let h = help(&[sub, "-h"]);
        for f in flags {
            assert!(h.contains(f), "`hinas {sub} -h` lacks {f}:\n{h}");
        }
    }
}

#[test]
fn channels_take_1_or_3_and_colour_stays_an_alias() {
    let o = hinas()
        .args(["search", "--channels", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("possible values: 1, 3"),
        "{}",
        stderr(&o)
    );
    let o = hinas()
        .args(["search", "--channels", "1", "--colour"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    // `--space` and `--budget` are closed choices too, checked by the parser.
    let o = hinas()
        .args(["search", "--budget", "huge"])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("possible values: tiny, small, paper"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn version_names_the_commit_and_wgpu() {
    let v = help(&["--version"]);
    assert!(
        v.starts_with(&format!("hinas {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(v.contains("(commit ") && v.contains(", wgpu 30."), "{v}");
    // Subcommands answer --version too.
    assert_eq!(
        help(&["search", "--version"]),
        v.replacen("hinas", "hinas-search", 1)
    );
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef hinas"),
        ("fish", "complete -c hinas"),
    ] {
        let s = help(&["completions", shell]);
        assert!(s.contains(marker), "{shell}: {s}");
        assert!(s.contains("--resume") && s.contains("denoise"), "{shell}");
    }
    let o = hinas().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn runs_never_write_into_a_users_folder_without_force() {
    let micro = configs().join("micro.toml");
    let dir = scratch_dir("users");
    std::fs::write(dir.join("thesis.tex"), b"precious").unwrap();
    for cmd in ["search", "train"] {
        let mut c = hinas();
        c.args([cmd, "--quiet", "--out"]).arg(&dir);
        if cmd == "train" {
            c.arg("--genotype")
                .arg(configs().join("micro_genotype.json"));
        } else {
            c.arg("--config").arg(&micro);
        }
        let o = c.output().unwrap();
        assert_one_line_error(&o, "is not empty; use --force");
    }
    assert_eq!(std::fs::read(dir.join("thesis.tex")).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // --resume and --force contradict each other.
    let o = hinas()
        .args(["search", "--force", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_toml_error_keeps_the_parsers_caret_diagram() {
    let cfg = scratch("caret.toml");
    std::fs::write(&cfg, "# a comment\n[search]\nepochs = \"many\"\n").unwrap();
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(scratch("caret"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("error: bad config "), "{err}");
    assert!(err.contains("3 | epochs = \"many\""), "{err}");
    assert!(err.contains("^^^"), "{err}");
    std::fs::write(&cfg, "[search\nepochs = 3\n").unwrap();
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(err.contains("1 | [search") && err.contains('^'), "{err}");
    let _ = std::fs::remove_file(&cfg);
}
