//! Times retraining iterations of a derived network, and writes its initial state for
//! tools/derived_torch.py (the PyTorch re-implementation it is compared with):
//!
//!     cargo run --release --example train_step -- GENOTYPE.json [--budget tiny|paper]
//!         [--config OVERRIDES.toml] [--iters N] [--dump OUT.safetensors] [--profile]
//!
//! The timed iterations are `Trainer::step` itself (the step `hinas train` runs: a batch from the
//! sampler, forward, loss, backward, optimiser), each followed by reading its loss back. The dump
//! holds every parameter at initialisation, two batches of the budget's shape, the loss and every
//! gradient ours computes on batch A, and the genotype and config. With tests/configs/
//! micro_genotype.json and `--config tests/configs/train_micro.toml` it is the input of the
//! fixture of tests/derived.rs (`tools/derived_torch.py fixture`).
use hinas::data::{PatchSampler, SampleMode, SamplerConfig, Source};
use hinas::gpu::Gpu;
use hinas::nn::genotype::Genotype;
use hinas::nn::layers::Mode;
use hinas::nn::loss::denoise_loss;
use hinas::nn::params::Group;
use hinas::tape::Tape;
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};
use hinas::train::run::{load_split, Trainer};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let genotype_path = args.first().filter(|a| !a.starts_with("--")).ok_or_else(|| {
        anyhow::anyhow!("usage: train_step GENOTYPE.json [--budget tiny|paper] [--config FILE] [--iters N] [--dump OUT] [--profile]")
    })?;
    let budget = flag("--budget").unwrap_or_else(|| "tiny".into());
    let iters: usize = flag("--iters").map_or(Ok(3), |s| s.parse())?;
    let overrides = flag("--config").map(PathBuf::from);
    let cfg = TrainConfig::resolve(&budget, overrides.as_deref())?;
    let genotype = retrain_genotype(&Genotype::load(Path::new(genotype_path))?, &cfg);
    // The device as `hinas train` opens it for this config.
    let gpu = Gpu::open_for(cfg.dispatch_size())?;
    if let Some(out) = flag("--dump") {
        dump(&gpu, &genotype, &cfg, &PathBuf::from(out))?;
    }
    let split = load_split(&cfg, genotype.space.channels, &Source::BuiltinTrain)?;
    let out_dir = std::env::temp_dir().join(format!("hinas-train-step-{}", std::process::id()));
    let mut trainer = Trainer::new(&gpu, cfg.clone(), &genotype, split, &out_dir)?;
    let t = &cfg.train;
    println!(
        "{} | {budget}: {} parameters, batch {} x {}x{}, optimiser {}",
        gpu.adapter_line(),
        trainer.model.store.count(Group::Weight),
        t.batch_size,
        t.patch_size,
        t.patch_size,
        t.optimizer
    );
    let profile = args.iter().any(|a| a == "--profile");
    if profile {
        gpu.enable_profiler()?;
    }
    let mut times = Vec::new();
    for it in 0..=iters {
        let t0 = Instant::now();
        let loss = trainer.step().wait();
        trainer.progress.iteration += 1;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let note = if it == 0 {
            " (warm-up: pipeline compilation)"
        } else {
            ""
        };
        println!("iter {it}{note}: {ms:.1} ms, loss {:.5}", loss[0]);
        if it == 0 {
            gpu.reset_profile();
        } else {
            times.push(ms);
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    if profile {
        println!(
            "GPU time per kernel over {iters} iterations:\n{}",
            hinas::gpu::format_report(&gpu.profile())
        );
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !times.is_empty() {
        println!(
            "training iteration median {:.1} ms, best {:.1} ms over {}",
            times[times.len() / 2],
            times[0],
            times.len()
        );
    }
    Ok(())
}

type Host = (String, Vec<usize>, Vec<f32>);

/// The initial network (the trainer's seed), batches A and B, and our loss and gradients on A.
fn dump(gpu: &Gpu, genotype: &Genotype, cfg: &TrainConfig, out: &Path) -> anyhow::Result<()> {
    let t = &cfg.train;
    let model = Model::new(gpu, genotype, cfg)?;
    let images = load_split(cfg, genotype.space.channels, &Source::BuiltinTrain)?
        .train
        .into_iter()
        .map(|n| n.image)
        .collect();
    let sc = SamplerConfig {
        patch: t.patch_size,
        mode: SampleMode::Random,
        prefetch: 0,
        ..SamplerConfig::new(t.batch_size, &[t.sigma])
    };
    let sampler = PatchSampler::new(images, sc, 1234)?;
    let mut tensors: Vec<Host> = model
        .store
        .to_host()
        .into_iter()
        .map(|(n, s, d)| (format!("param/{n}"), s, d))
        .collect();
    let batches: Vec<_> = (0..2).map(|k| sampler.batch_at(k)).collect();
    for (b, name) in batches.iter().zip(["batch_a", "batch_b"]) {
        for (part, h) in [("noisy", &b.noisy), ("clean", &b.clean)] {
            tensors.push((format!("{name}.{part}"), h.shape.to_vec(), h.data.clone()));
        }
    }
    let mut tape = Tape::new(gpu);
    let p = model.store.bind(&mut tape, Some(Group::Weight));
    let (x, y) = batches[0].upload(gpu);
    let (xv, yv) = (tape.constant(x), tape.constant(y));
    let outv = model.net.forward(&mut tape, &p, &xv, Mode::Train);
    let loss = denoise_loss(&mut tape, &outv, &yv, t.ssim_weight as f32);
    tensors.push(("ours/loss_a".into(), vec![1], loss.value().to_vec()));
    let mut grads = tape.backward(&loss);
    for (param, v) in model.store.params.iter().zip(&p.vars) {
        if let Some(g) = grads.take(v) {
            tensors.push((
                format!("ours/grad_a/{}", param.name),
                g.shape().to_vec(),
                g.to_vec(),
            ));
        }
    }
    let mut meta = HashMap::new();
    meta.insert("genotype".to_string(), serde_json::to_string(genotype)?);
    meta.insert("config".to_string(), serde_json::to_string(cfg)?);
    hinas::checkpoint::save(out, &tensors, meta)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
