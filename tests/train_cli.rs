//! `hinas train`, `eval` and `denoise` as a user meets them: search -> train -> eval -> denoise
//! end to end on tiny sizes, a model file round trip, a killed training that resumes to the same
//! model, and one-line errors on bad input.

use hinas::data::{builtin_test, Channels, HostBatch};
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};
use std::path::Path;
use std::process::Output;

mod common;
use common::cli::*;
use common::models::{micro_model, micro_setup};

/// Three 64x64 crops of the built-in test images, as PNG files; one name holds a comma and a
/// quote, which eval.csv must quote.
fn test_images(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, im) in builtin_test(Channels::Grey).iter().take(3).enumerate() {
        let png = im.image.crop(64, 64, 64, 64).to_png().unwrap();
        let name = match i {
            1 => format!("{}, \"the\" second", im.name.replace('.', "_")),
            _ => im.name.replace('.', "_"),
        };
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

fn train(genotype: &Path, out: &Path, extra: &[&str]) -> Output {
    hinas()
        .args(["train", "--quiet", "--genotype"])
        .arg(genotype)
        .arg("--config")
        .arg(configs().join("train_micro.toml"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn search_train_eval_denoise_end_to_end() {
    let root = scratch("e2e");
    let search = root.join("search");
    let o = hinas()
        .args(["search", "--quiet", "--config"])
        .arg(configs().join("micro.toml"))
        .arg("--out")
        .arg(&search)
        .output()
        .unwrap();
    assert_ok(&o);

    let run = root.join("train");
    let o = train(&search.join("genotype.json"), &run, &["--json"]);
    assert_ok(&o);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(
        j["model"].as_str(),
        Some(run.join("model.safetensors").to_str().unwrap())
    );
    assert!(j["val_psnr"].as_f64().is_some_and(f64::is_finite));
    assert!(
        j["best_iteration"]
            .as_u64()
            .is_some_and(|i| i == 20 || i == 40),
        "{j}"
    );
    for f in [
        "model.safetensors",
        "checkpoint.safetensors",
        "log.csv",
        "loss.png",
        "config.toml",
        "genotype.json",
    ] {
        let p = run.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "missing or empty {f}"
        );
    }
    let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 1 + 2, "one row per validation:\n{log}");
    // The resolved config is a valid config file again.
    let cfg = TrainConfig::resolve("tiny", Some(&run.join("config.toml"))).unwrap();
    assert_eq!(cfg.net.filter_multiplier, 4);

    let data = root.join("test");
    test_images(&data);
    // Without --out, results go to eval/ beside the model, then eval-2/: never replaced.
    let eval = |extra: &[&str]| {
        hinas()
            .args(["eval", "--model"])
            .arg(run.join("model.safetensors"))
            .arg("--data")
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = eval(&["--json"]);
    assert_ok(&o);
    let ev = run.join("eval");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(summary["out_dir"].as_str(), Some(ev.to_str().unwrap()));
    assert_eq!(
        summary["result"]["sigmas"][0]["images"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let o = eval(&["--quiet"]);
    assert_ok(&o);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        run.join("eval-2").to_str().unwrap()
    );
    assert_one_line_error(&eval(&["--out", ev.to_str().unwrap()]), "use --force");
    assert_ok(&eval(&[
        "--quiet",
        "--force",
        "--out",
        ev.to_str().unwrap(),
    ]));
    // eval.csv: one quoted-as-needed row per image, no MEAN row.
    let mut rows = csv::Reader::from_path(ev.join("eval.csv")).unwrap();
    let names: Vec<String> = rows.records().map(|r| r.unwrap()[1].to_string()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with(", \"the\" second.png")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "MEAN"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ev.join("eval.json")).unwrap()).unwrap();
    let s = &json["sigmas"][0];
    assert_eq!(s["sigma"].as_f64(), Some(50.0));
    let denoised = s["mean_denoised"]["psnr"].as_f64().unwrap();
    let noisy = s["mean_noisy"]["psnr"].as_f64().unwrap();
    assert!(
        denoised > noisy + 0.5,
        "trained model {denoised:.2} dB does not beat the noisy input {noisy:.2} dB"
    );
    assert!(json["params"].as_u64().unwrap() > 1000);

    // A non-square image bigger than one tile, with noise added, written beside a noisy copy.
    let big = root.join("big.png");
    image::GrayImage::from_fn(150, 90, |x, y| image::Luma([((x * 3 + y * 2) % 200) as u8]))
        .save(&big)
        .unwrap();
    let out = root.join("den");
    let den = |extra: &[&str]| {
        hinas()
            .args([
                "denoise",
                "--quiet",
                "--tile",
                "64",
                "--add-noise",
                "50",
                "--model",
            ])
            .arg(run.join("model.safetensors"))
            .arg(&big)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    assert_ok(&den(&[]));
    let d = image::open(out.join("big_denoised.png")).unwrap();
    assert_eq!((d.width(), d.height()), (150, 90));
    assert!(out.join("big_noisy50.png").is_file());
    // Never overwrite an existing output unless told to.
    assert_one_line_error(&den(&[]), "already exists");
    assert_ok(&den(&["--force"]));
    // The same image into a fresh folder, with `flags` instead of --quiet --add-noise.
    let den_into = |flags: &[&str], dir: &str| {
        hinas()
            .arg("denoise")
            .args(flags)
            .args(["--tile", "64", "-m"])
            .arg(run.join("model.safetensors"))
            .arg(&big)
            .arg("-o")
            .arg(root.join(dir))
            .output()
            .unwrap()
    };
    // --json: the outputs and sizes, nothing else on stdout.
    let o = den_into(&["--json"], "den-json");
    assert_ok(&o);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let img = &j["images"][0];
    assert_eq!(
        img["output"].as_str(),
        Some(root.join("den-json/big_denoised.png").to_str().unwrap())
    );
    assert_eq!(
        (img["width"].as_u64(), img["height"].as_u64()),
        (Some(150), Some(90))
    );
    // Without --json or --quiet, and stderr a pipe: progress as plain lines, tile by tile.
    let o = den_into(&[], "den-lines");
    assert_ok(&o);
    let progress = String::from_utf8_lossy(&o.stderr);
    assert!(
        progress.contains("image 1/1 ") && progress.contains(": tile 1/"),
        "no per-tile progress line on stderr: {progress}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn model_file_round_trip_gives_identical_outputs() {
    let gpu = hinas::gpu::Gpu::open().unwrap();
    let a = micro_model(&gpu);
    let dir = scratch_dir("roundtrip");
    let path = dir.join("m.safetensors");
    a.save(&path, &[]).unwrap();
    let b = Model::load(&gpu, &path).unwrap();
    assert_eq!(a.param_count(), b.param_count());
    let data: Vec<f32> = (0..2 * 20 * 28)
        .map(|i| ((i * 37 % 101) as f32 / 101.0).sin())
        .collect();
    let x = HostBatch::new([2, 1, 20, 28], data);
    assert_eq!(a.run(&x).unwrap().data, b.run(&x).unwrap().data);
    // Tiled inference of an image larger than the tile stays close to the whole-image pass.
    let img = x.item(0);
    let whole = a.run(&HostBatch::from_image(&img)).unwrap().data;
    let tiled = a.denoise_tiled(&img, 16, 8).unwrap().data;
    assert_eq!(whole.len(), tiled.len());
    assert!(tiled.iter().all(|v| v.is_finite()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_training_resumes_to_the_same_model() {
    let g = configs().join("micro_genotype.json");
    let fast = ["--seed", "3", "--sigma", "40"];
    let cfg = scratch("resume.toml");
    std::fs::write(&cfg, micro_train_toml(6, 2)).unwrap();
    let run = |out: &Path| {
        let mut c = hinas();
        c.args(["train", "--quiet", "--genotype"])
            .arg(&g)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(out)
            .args(fast);
        c
    };
    let whole = scratch("whole");
    let o = run(&whole).output().unwrap();
    assert_ok(&o);
    // --quiet still prints the model's path.
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        whole.join("model.safetensors").to_str().unwrap()
    );
    // A resumed run keeps its own settings: different ones are refused, naming the setting.
    let resume_whole = |extra: &[&str]| resume_with("train", &whole, extra);
    assert_one_line_error(&resume_whole(&["--seed", "4"]), "train.seed");
    assert_one_line_error(&resume_whole(&["--sigma", "25"]), "train.sigma");
    assert_one_line_error(&resume_whole(&["--budget", "paper"]), "train.budget");
    assert_one_line_error(&resume_whole(&["--channels", "3"]), "--channels");
    let other = scratch("other.toml");
    std::fs::write(&other, "[train]\nlr = 0.5\n").unwrap();
    assert_one_line_error(&resume_whole(&["-c", other.to_str().unwrap()]), "train.lr");
    let _ = std::fs::remove_file(&other);
    assert_ok(&resume_whole(&["--seed", "3", "--channels", "1"]));
    let cut = scratch("cut");
    // Killed once the first validation's checkpoint (iteration 2 of 6) is on disk.
    let child = run(&cut).spawn().unwrap();
    let it = kill_after_checkpoint(child, &cut.join("checkpoint.safetensors"), "iteration");
    assert!((2..6).contains(&it), "killed at iteration {it} of 6");
    resume("train", &cut);
    assert_eq!(
        model_weights(&whole),
        model_weights(&cut),
        "resumed run ended elsewhere"
    );
    for d in [&whole, &cut] {
        let _ = std::fs::remove_dir_all(d);
    }
    let _ = std::fs::remove_file(&cfg);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let root = scratch_dir("bad");
    let gpu = hinas::gpu::Gpu::open().unwrap();
    let (cfg, g) = micro_setup();
    let model = root.join("model.safetensors");
    micro_model(&gpu).save(&model, &[]).unwrap();
    let img = root.join("in.png");
    image::GrayImage::from_fn(20, 20, |x, y| image::Luma([(x * 9 + y) as u8]))
        .save(&img)
        .unwrap();
    let denoise = |m: &Path, input: &Path, extra: &[&str]| {
        hinas()
            .args(["denoise", "--quiet", "--model"])
            .arg(m)
            .arg(input)
            .args(extra)
            .output()
            .unwrap()
    };

    assert_one_line_error(
        &denoise(&root.join("missing.safetensors"), &img, &[]),
        "does not exist",
    );
    let junk = root.join("junk.safetensors");
    std::fs::write(&junk, b"definitely not a model").unwrap();
    assert_one_line_error(&denoise(&junk, &img, &[]), "not a valid safetensors");

    // The weights of one genotype with another genotype in the metadata.
    let (tensors, mut meta) = hinas::checkpoint::load(&model).unwrap();
    let mut other = retrain_genotype(&g, &cfg);
    other.path = other.path.iter().map(|&l| 1 - l.min(1)).collect();
    other.path[0] = 0;
    for c in other.cells.iter_mut() {
        for e in c.iter_mut() {
            e.op = if e.op == "con_c_3x3" {
                "sep_c_3x3"
            } else {
                "con_c_3x3"
            }
            .into();
        }
    }
    meta.insert("genotype".into(), serde_json::to_string(&other).unwrap());
    let wrong = root.join("wrong.safetensors");
    hinas::checkpoint::save(&wrong, &tensors, meta).unwrap();
    assert_one_line_error(&denoise(&wrong, &img, &[]), "match");

    let bad_png = root.join("bad.png");
    std::fs::write(&bad_png, b"\x89PNG\r\n\x1a\n truncated").unwrap();
    assert_one_line_error(&denoise(&model, &bad_png, &[]), "cannot decode");

    let blocker = root.join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let o = denoise(
        &model,
        &img,
        &["--out", blocker.join("sub").to_str().unwrap()],
    );
    assert_one_line_error(&o, "cannot create");

    assert_one_line_error(&denoise(&model, &img, &["--add-noise", "300"]), "0-255");
    let o = hinas()
        .args(["eval", "--quiet", "--sigma", "-5", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert_one_line_error(&o, "0-255");
    let o = hinas()
        .args(["train", "--quiet", "--sigma", "256", "--genotype"])
        .arg(configs().join("micro_genotype.json"))
        .arg("--out")
        .arg(root.join("t"))
        .output()
        .unwrap();
    assert_one_line_error(&o, "0-255");
    let o = hinas()
        .args(["train", "--quiet", "--genotype"])
        .arg(root.join("nope.json"))
        .arg("--out")
        .arg(root.join("t"))
        .output()
        .unwrap();
    assert_one_line_error(&o, "nope.json");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn frozen_bn_phase_keeps_running_statistics() {
    let g = configs().join("micro_genotype.json");
    let stats = |frozen: f64| {
        let cfg = scratch(&format!("frozen{frozen}.toml"));
        std::fs::write(
            &cfg,
            micro_train_toml(2, 2) + &format!("bn_frozen_fraction = {frozen}\n"),
        )
        .unwrap();
        let out = scratch(&format!("frozen{frozen}"));
        let o = hinas()
            .args(["train", "--quiet", "--genotype"])
            .arg(&g)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_ok(&o);
        let (tensors, _) = hinas::checkpoint::load(&out.join("model.safetensors")).unwrap();
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_file(&cfg);
        let running: Vec<_> = tensors
            .into_iter()
            .filter(|(n, _, _)| n.contains("running_"))
            .collect();
        assert!(!running.is_empty());
        running
    };
    // Fresh BN statistics are mean 0 / variance 1; training in batch-statistics mode moves them,
    // a run that is frozen throughout must not.
    let fresh = |(n, _, d): &(String, Vec<usize>, Vec<f32>)| {
        let want = if n.ends_with("running_mean") {
            0.0
        } else {
            1.0
        };
        d.iter().all(|v| *v == want)
    };
    assert!(stats(1.0).iter().all(fresh), "frozen BN statistics moved");
    assert!(!stats(0.0).iter().all(fresh), "BN statistics never updated");
}
