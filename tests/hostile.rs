//! Hostile input: numbers no config should hold, runs that cannot fit, images smaller than a
//! protocol needs, damaged files and closed pipes. Each is refused with one line (most before any
//! GPU work) or handled quietly; none panics.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

mod common;
use common::cli::*;

fn with_config(cmd: &str, toml: &str, tag: &str) -> Output {
    let cfg = scratch(&format!("{tag}.toml"));
    std::fs::write(&cfg, toml).unwrap();
    let out = scratch(tag);
    let mut c = hinas();
    c.args([cmd, "--quiet", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out);
    if cmd == "train" {
        c.arg("--genotype")
            .arg(configs().join("micro_genotype.json"));
    }
    let o = c.output().unwrap();
    assert!(!out.exists(), "{tag}: a refused run left {}", out.display());
    let _ = std::fs::remove_file(&cfg);
    o
}

#[test]
fn non_finite_and_out_of_range_config_numbers_are_refused() {
    let cases: &[(&str, &str, &str)] = &[
        ("search", "[search]\nweight_lr = inf\n", "weight_lr"),
        ("search", "[search]\narch_lr = nan\n", "arch_lr"),
        (
            "search",
            "[search]\nweight_momentum = nan\n",
            "weight_momentum",
        ),
        ("search", "[search]\nssim_weight = -inf\n", "ssim_weight"),
        ("search", "[search]\nlr_power = inf\n", "lr_power"),
        ("search", "[search]\nsigmas = [30.0, nan]\n", "sigma"),
        (
            "search",
            "[space]\nwidth_factors = [1.0, nan, 4.0]\n",
            "width factor",
        ),
        (
            "search",
            "[space]\nwidth_factors = [1.0, inf, 4.0]\n",
            "width factor",
        ),
        ("search", "[space]\nleaky_slope = nan\n", "leaky_slope"),
        ("search", "[space]\nlayers = 100000\n", "layers"),
        ("search", "[search]\npatch_size = 8\n", "SSIM window"),
        ("train", "[train]\nlr = inf\n", "lr"),
        ("train", "[train]\nsigma = nan\n", "sigma"),
        ("train", "[train]\nmomentum = nan\n", "momentum"),
        ("train", "[train]\nbias_lr_mult = inf\n", "bias_lr_mult"),
        (
            "train",
            "[train]\nbn_frozen_fraction = nan\n",
            "bn_frozen_fraction",
        ),
        (
            "train",
            "[net]\nfilter_multiplier = 10000000\n",
            "filter_multiplier",
        ),
    ];
    for (i, (cmd, toml, needle)) in cases.iter().enumerate() {
        let o = with_config(cmd, toml, &format!("num{i}"));
        assert_one_line_error(&o, needle);
    }
}

#[test]
fn absurd_durations_are_refused_beyond_the_ceiling() {
    let o = with_config("search", "[search]\nepochs = 1000000000000\n", "epochs");
    assert_one_line_error(&o, "ceiling");
    let o = with_config(
        "search",
        "[search]\niters_per_epoch = 1000000000000\n",
        "iters",
    );
    assert_one_line_error(&o, "iters_per_epoch");
    let o = with_config(
        "train",
        "[train]\niterations = 1000000000000\n",
        "iterations",
    );
    assert_one_line_error(&o, "ceiling");
}

#[test]
fn runs_that_cannot_fit_are_refused_with_the_estimate_before_allocating() {
    let micro = configs().join("micro.toml");
    let out = scratch("fit");
    // The micro search against a tiny declared limit: the estimate and the limit are named.
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(&micro)
        .arg("--out")
        .arg(&out)
        .env("HINAS_MEMORY_LIMIT_GIB", "0.0001")
        .output()
        .unwrap();
    assert_one_line_error(&o, "of device memory");
    assert!(
        stderr(&o).contains("this device has 0.1 MiB"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing may be written");
    // Tens of GB from the width factors and the batch, against the device's own limit.
    let huge = scratch("huge.toml");
    std::fs::write(
        &huge,
        "[space]\nfilter_multiplier = 4096\n[search]\nbatch_size = 4096\npatch_size = 64\nval_crop = 64\n",
    )
    .unwrap();
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(&huge)
        .arg("--out")
        .arg(&out)
        .env_remove("HINAS_MEMORY_LIMIT_GIB")
        .output()
        .unwrap();
    assert_one_line_error(&o, "GiB");
    assert!(stderr(&o).contains("needs"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing may be written");
    let _ = std::fs::remove_file(&huge);
}

/// A freshly initialised micro model file (no training: only its shape matters here).
fn micro_model(dir: &Path) -> PathBuf {
    let gpu = hinas::gpu::Gpu::open().unwrap();
    let path = dir.join("model.safetensors");
    common::models::micro_model(&gpu).save(&path, &[]).unwrap();
    path
}

fn grey_png(path: &Path, w: u32, h: u32) {
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 13 + y * 7) % 256) as u8]))
        .save(path)
        .unwrap();
}

#[test]
fn model_metadata_with_non_finite_numbers_is_refused() {
    let root = scratch_dir("meta");
    let model = micro_model(&root);
    let (tensors, meta) = hinas::checkpoint::load(&model).unwrap();
    let img = root.join("in.png");
    grey_png(&img, 24, 24);
    for (field, value) in [
        ("sigma", "nan"),
        ("sigma", "inf"),
        ("lr", "inf"),
        ("ssim_weight", "nan"),
    ] {
        let mut meta = meta.clone();
        let config = meta["config"]
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{field} =")) {
                    format!("{field} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(config, meta["config"], "{field} not in the stored config");
        meta.insert("config".into(), config);
        let bad = root.join(format!("bad-{field}-{value}.safetensors"));
        hinas::checkpoint::save(&bad, &tensors, meta).unwrap();
        for cmd in ["eval", "denoise"] {
            let mut c = hinas();
            c.args([cmd, "--quiet", "--model"]).arg(&bad);
            if cmd == "denoise" {
                c.arg(&img).arg("--out").arg(root.join("den"));
            } else {
                c.arg("--out").arg(root.join("ev"));
            }
            let o = c.output().unwrap();
            assert_one_line_error(&o, field);
            assert!(stderr(&o).contains("metadata"), "{}", stderr(&o));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn images_smaller_than_a_protocol_needs_are_refused_with_the_size() {
    let root = scratch("small");
    let data = root.join("test");
    std::fs::create_dir_all(&data).unwrap();
    let model = micro_model(&root);
    grey_png(&data.join("a.png"), 32, 32);
    grey_png(&data.join("b.png"), 10, 40);
    for protocol in ["standard", "hinas-tiles"] {
        let o = hinas()
            .args(["eval", "--quiet", "--protocol", protocol, "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(root.join("ev"))
            .output()
            .unwrap();
        assert_one_line_error(&o, "10x40 is smaller than the 11x11");
    }
    // Training images below the patch size name the patch size.
    let train = root.join("train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..4 {
        grey_png(&train.join(format!("{i}.png")), 12, 12);
    }
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(configs().join("micro.toml"))
        .arg("--data")
        .arg(&train)
        .arg("--out")
        .arg(root.join("s"))
        .output()
        .unwrap();
    assert_one_line_error(&o, "smaller than the 16x16 patch size");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_truncated_jpeg_warns_and_strict_refuses_it() {
    let root = scratch_dir("jpeg");
    let model = micro_model(&root);
    let img =
        image::GrayImage::from_fn(48, 48, |x, y| image::Luma([((x * 5 + y * 3) % 256) as u8]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    assert!(
        hinas::data::Image::damage(&jpeg).is_none(),
        "a whole JPEG is not damaged"
    );
    let cut = &jpeg[..jpeg.len() * 2 / 3];
    assert!(hinas::data::Image::damage(cut).is_some());
    let path = root.join("cut.jpg");
    std::fs::write(&path, cut).unwrap();
    let run = |extra: &[&str]| {
        hinas()
            .args(["denoise", "--quiet", "--model"])
            .arg(&model)
            .arg(&path)
            .arg("--out")
            .arg(root.join("out"))
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--strict"]);
    assert_one_line_error(&o, "truncated");
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("warning: ") && stderr(&o).contains("truncated"),
        "{}",
        stderr(&o)
    );
    assert!(root.join("out/cut_denoised.png").is_file());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [vec!["info"], vec!["--help"], vec!["completions", "bash"]] {
        let mut child = hinas()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line is written, as `| head -0` would.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_ne!(o.status.code(), Some(101), "{args:?}: {err}");
        assert!(
            !err.contains("internal error") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}
