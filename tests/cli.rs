//! The command line as a user meets it: a reduced search end to end, one-line errors on bad
//! input, and a search killed after its first checkpoint that resumes to the same result.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::cli::*;

fn micro() -> PathBuf {
    configs().join("micro.toml")
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
    let o = search(&out, &["--json"]);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    // --json: one JSON document on stdout naming the outputs and the result.
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(json["command"], "search");
    assert_eq!(json["out_dir"].as_str(), Some(out.to_str().unwrap()));
    assert_eq!(
        json["genotype"].as_str(),
        Some(out.join("genotype.json").to_str().unwrap())
    );
    assert_eq!(json["epochs_run"], 3);
    assert!(json["val_psnr"].as_f64().is_some_and(f64::is_finite));
    assert!(json["seconds"].as_f64().is_some_and(|s| s > 0.0));
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
fn window_mean_rule_takes_the_genotype_of_the_windows_mean_softmaxes() {
    let out = scratch("window-mean");
    let cfg = out.with_extension("toml");
    let micro = std::fs::read_to_string(micro()).unwrap();
    let pinned = "genotype_rule = \"best_epoch\"";
    assert!(micro.contains(pinned));
    std::fs::write(
        &cfg,
        micro.replace(pinned, "genotype_rule = \"window_mean\""),
    )
    .unwrap();
    let o = hinas()
        .args(["search", "--json", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    // 3 epochs, select_fraction 0.7: the window is epochs 2-3.
    assert_eq!(
        json["genotype_from"],
        "the mean architecture weights of epochs 2-3"
    );
    let saved = hinas::search::state::saved_config(&out).unwrap();
    assert_eq!(saved.search.genotype_rule, "window_mean");
    let gpu = hinas::gpu::Gpu::open().unwrap();
    let (_, progress) = hinas::search::state::load(&out, &gpu).unwrap();
    let want = hinas::search::run::window_mean_genotype(&saved, &progress.history).unwrap();
    let got = hinas::nn::genotype::Genotype::load(&out.join("genotype.json")).unwrap();
    assert_eq!(
        (&got.cells, &got.path, got.epoch),
        (&want.cells, &want.path, 3)
    );
    assert_eq!(got.alphas, want.alphas);
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&cfg);
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
    // A mistyped value is the one error of more than one line: the parser's caret diagram.
    let o = with_config("[search]\nepochs = \"many\"\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: bad config") && stderr(&o).contains('^'),
        "{}",
        stderr(&o)
    );

    let o = with_config("[space]\nops = [\"con_c_3x3\", \"warp_drive\"]\n");
    assert_one_line_error(&o, "warp_drive");

    let o = with_config("[search]\nbatch_size = 0\n");
    assert_one_line_error(&o, "batch_size");

    // Two images cannot be split into weight, architecture and validation sets.
    let few = scratch_dir("few");
    for i in 0..2 {
        image::GrayImage::from_fn(40, 40, |x, y| {
            image::Luma([((x * 7 + y * 3 + i) % 256) as u8])
        })
        .save(few.join(format!("{i}.png")))
        .unwrap();
    }
    let o = search(&out, &["--data", few.to_str().unwrap()]);
    assert_one_line_error(&o, "too few");

    let o = resume_with("search", &out, &[]);
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
    // --quiet still prints where the outputs are.
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        whole.to_str().unwrap()
    );

    // A resumed run keeps its own settings: a different seed, config, space or data is refused
    // (naming the setting), the same ones are accepted.
    let resume_whole = |extra: &[&str]| resume_with("search", &whole, extra);
    assert_one_line_error(&resume_whole(&["--seed", "8"]), "search.seed");
    assert_one_line_error(&resume_whole(&["--space", "ijcv2022"]), "--space");
    assert_one_line_error(
        &resume_whole(&["--colour"]),
        "--channels sets space.channels = 3",
    );
    assert_one_line_error(&resume_whole(&["--data", "/elsewhere"]), "--data");
    let other = whole.with_extension("other.toml");
    std::fs::write(&other, "[search]\nepochs = 9\n").unwrap();
    let o = resume_whole(&["--config", other.to_str().unwrap()]);
    assert_one_line_error(&o, "search.epochs");
    let _ = std::fs::remove_file(&other);
    // The same settings again: the finished run resumes to its end at once.
    let o = resume_whole(&["--seed", "7", "--config", micro().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(whole.join("genotype.json")).unwrap(),
        want
    );

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
    resume("search", &cut);
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

#[test]
fn search_without_cell_sharing_runs_through_architecture_steps() {
    let out = scratch("search-no-sharing");
    let o = search(&out, &["--no-cell-sharing"]);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    let log = std::fs::read_to_string(out.join("log.csv")).unwrap();
    // Epochs 2 and 3 take architecture steps (arch_start_epoch = 1 in micro.toml).
    let arch_losses = log
        .lines()
        .skip(1)
        .filter(|l| !l.split(',').nth(2).unwrap_or("").is_empty())
        .count();
    assert_eq!(arch_losses, 2, "log:\n{log}");
    let cfg = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(cfg.contains("cell_sharing = false"), "{cfg}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn small_searches_run_dispatches_on_the_software_drivers_queue_thread() {
    // micro.toml's batch (2 of 16x16) is a small-dispatch run: on lavapipe the search sets
    // LP_NUM_THREADS=0 before opening the device and says so in its first line; a user's own
    // setting is left alone.
    let run = |name: &str, threads: Option<&str>| {
        let out = scratch(name);
        let mut cmd = hinas();
        cmd.args(["search", "--config"])
            .arg(micro())
            .arg("--out")
            .arg(&out)
            .env_remove("LP_NUM_THREADS");
        if let Some(t) = threads {
            cmd.env("LP_NUM_THREADS", t);
        }
        let o = cmd.output().expect("run hinas");
        assert!(o.status.success(), "search failed: {}", stderr(&o));
        let _ = std::fs::remove_dir_all(&out);
        let err = stderr(&o);
        let line = err
            .lines()
            .find(|l| l.starts_with("searching "))
            .unwrap_or_else(|| panic!("no start line in:\n{err}"))
            .to_string();
        line
    };
    let line = run("search-inline", None);
    if line.contains("llvmpipe") {
        assert!(line.contains("(LP_NUM_THREADS=0)"), "{line}");
        let line = run("search-user-threads", Some("2"));
        assert!(!line.contains("LP_NUM_THREADS"), "{line}");
    } else {
        assert!(!line.contains("LP_NUM_THREADS"), "{line}");
    }
}

#[test]
fn second_order_search_runs_to_the_end() {
    let out = scratch("search-order2");
    let o = search(&out, &["--arch-order", "2"]);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    let g = hinas::nn::genotype::Genotype::load(&out.join("genotype.json")).unwrap();
    assert_eq!((g.strategy.as_str(), g.arch_order), ("darts", 2));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn random_strategy_samples_a_genotype_that_train_takes() {
    let sample = |seed: &str, name: &str| {
        let out = scratch(name);
        let o = search(&out, &["--strategy", "random", "--seed", seed]);
        assert!(o.status.success(), "random search failed: {}", stderr(&o));
        for f in ["config.toml", "genotype.json", "cell.svg", "network.svg"] {
            assert!(out.join(f).is_file(), "missing {f}");
        }
        assert!(
            !out.join("checkpoint.safetensors").exists(),
            "nothing to resume"
        );
        let g = hinas::nn::genotype::Genotype::load(&out.join("genotype.json")).unwrap();
        (out, g)
    };
    let (a, ga) = sample("5", "random-a");
    let (b, gb) = sample("5", "random-b");
    let (c, gc) = sample("6", "random-c");
    assert_eq!(ga.strategy, "random");
    assert_eq!(
        (ga.cells.clone(), ga.path.clone()),
        (gb.cells, gb.path),
        "same seed"
    );
    assert_ne!(
        (ga.cells.clone(), ga.path.clone()),
        (gc.cells, gc.path),
        "another seed"
    );
    // `hinas train` takes the sampled genotype unchanged.
    let trained = scratch("random-train");
    let o = hinas()
        .args(["train", "--quiet", "--genotype"])
        .arg(a.join("genotype.json"))
        .arg("--config")
        .arg(configs().join("train_micro.toml"))
        .arg("--out")
        .arg(&trained)
        .output()
        .unwrap();
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    assert!(trained.join("model.safetensors").is_file());
    for d in [a, b, c, trained] {
        let _ = std::fs::remove_dir_all(d);
    }
}
