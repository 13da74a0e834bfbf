//! The command line as a user meets it: a reduced search end to end, one-line errors on bad
//! input, and a search killed after its first checkpoint that resumes to the same result.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::cli::*;

fn micro() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/micro.toml")
}

fn search(out: &Path, extra: &[&str]) -> Output {
    hinas()
        .args(["search", "--quiet", "--config"])
        .arg(micro())
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run hinas")
}

#[test]
fn reduced_search_writes_every_output() {
    let out = scratch("search");
    let o = search(&out, &[]);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    for f in [
        "config.toml",
        "genotype.json",
        "cell.svg",
        "cell.dot",
        "network.svg",
        "network.dot",
        "alphas.csv",
        "alphas.png",
        "log.csv",
        "checkpoint.safetensors",
    ] {
        let p = out.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "missing or empty {f}"
        );
    }
    let g =
        hinas::nn::genotype::Genotype::load(&out.join("genotype.json")).expect("genotype parses");
    assert_eq!(g.cells.len(), 3);
    assert!(g.cells.iter().flatten().all(|e| e.op != "none"));
    let log = std::fs::read_to_string(out.join("log.csv")).unwrap();
    assert_eq!(
        log.lines().count(),
        1 + 3,
        "header + one row per epoch:\n{log}"
    );
    // The resolved config is a valid input for another search.
    let cfg = hinas::search::config::SearchConfig::resolve(
        "cvpr2020",
        "tiny",
        Some(&out.join("config.toml")),
    )
    .unwrap();
    assert_eq!(cfg.space.filter_multiplier, 2);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let out = scratch("bad");
    let o = search(&out, &["--data", "/definitely/not/here"]);
    assert_one_line_error(&o, "/definitely/not/here");

    let cfg = out.with_extension("toml");
    let with_config = |toml: &str| {
        std::fs::write(&cfg, toml).unwrap();
        hinas()
            .args(["search", "--quiet", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = with_config("[search]\nepochs = \"many\"\n");
    assert_one_line_error(&o, "config");

    let o = with_config("[space]\nops = [\"con_c_3x3\", \"warp_drive\"]\n");
    assert_one_line_error(&o, "warp_drive");

    let o = with_config("[search]\nbatch_size = 0\n");
    assert_one_line_error(&o, "batch_size");

    // Two images cannot be split into weight, architecture and validation sets.
    let few = scratch("few");
    std::fs::create_dir_all(&few).unwrap();
    for i in 0..2 {
        image::GrayImage::from_fn(40, 40, |x, y| {
            image::Luma([((x * 7 + y * 3 + i) % 256) as u8])
        })
        .save(few.join(format!("{i}.png")))
        .unwrap();
    }
    let o = search(&out, &["--data", few.to_str().unwrap()]);
    assert_one_line_error(&o, "too few");

    let o = hinas()
        .args(["search", "--quiet", "--resume"])
        .arg(&out)
        .output()
        .unwrap();
    assert_one_line_error(&o, "nothing to resume");
    assert!(!out.join("checkpoint.safetensors").exists());
    let _ = std::fs::remove_dir_all(&few);
    let _ = std::fs::remove_file(&cfg);
}

#[test]
fn killed_search_resumes_to_the_same_genotype() {
    let whole = scratch("whole");
    let o = search(&whole, &["--seed", "7"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = std::fs::read_to_string(whole.join("genotype.json")).unwrap();

    // Kill as soon as the first epoch's checkpoint is on disk (micro.toml runs 3 epochs), then
    // resume until done.
    let cut = scratch("cut");
    let child = hinas()
        .args(["search", "--quiet", "--seed", "7", "--config"])
        .arg(micro())
        .arg("--out")
        .arg(&cut)
        .spawn()
        .unwrap();
    let epoch = kill_after_checkpoint(child, &cut.join("checkpoint.safetensors"), "epoch");
    assert!((1..3).contains(&epoch), "killed at epoch {epoch} of 3");
    let o = hinas()
        .args(["search", "--quiet", "--resume"])
        .arg(&cut)
        .output()
        .unwrap();
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    let got = std::fs::read_to_string(cut.join("genotype.json")).unwrap();
    assert_eq!(got, want, "resumed search ended with a different genotype");
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&cut);
}

#[cfg(target_os = "linux")]
#[test]
fn no_adapter_says_what_to_install() {
    // Point the Vulkan loader at a driver list that does not exist: no adapter at all.
    for cmd in [vec!["info"], vec!["search", "--quiet", "--budget", "tiny"]] {
        let out = scratch("noadapter");
        let o = hinas()
            .args(&cmd)
            .args(if cmd[0] == "search" {
                vec!["--out".to_string(), out.display().to_string()]
            } else {
                vec![]
            })
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {}", stderr(&o));
        assert_one_line_error(&o, "mesa-vulkan-drivers");
        let _ = std::fs::remove_dir_all(&out);
    }
}
