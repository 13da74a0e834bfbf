//! `hinas train`: retrains the derived network of a searched genotype (docs/method.md §5) and keeps
//! the best model by validation; outputs model.safetensors (best), checkpoint.safetensors
//! (resumable), log.csv, loss.png, config.toml and genotype.json.
//!
//! The tiny budget (f = 8, stem 16, 32x32 patches, batch 6, 480 iterations, lr 0.005) is sized to finish
//! well inside 15 minutes on a 2-core CPU with lavapipe.

pub mod config;
pub mod model;
pub mod run;
pub mod state;

use crate::checkpoint::write_atomic;
use crate::data::Source;
use crate::gpu::Gpu;
use crate::nn::genotype::Genotype;
use crate::report::plot;
use crate::report::progress::{duration, Mode, Progress};
use crate::report::tensorboard::EventWriter;
use config::TrainConfig;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct TrainArgs {
    pub config: TrainConfig,
    /// The searched genotype (ignored on resume: the checkpoint's is used).
    pub genotype: Option<Genotype>,
    pub data: Source,
    pub out_dir: PathBuf,
    pub resume: bool,
    pub quiet: bool,
}

pub struct Outcome {
    pub model_path: PathBuf,
    pub best_iteration: usize,
    pub val_psnr: f64,
    pub val_ssim: f64,
    pub params: usize,
    pub seconds: f64,
}

pub fn model_path(dir: &Path) -> PathBuf {
    dir.join("model.safetensors")
}

pub fn train(args: TrainArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let TrainArgs {
        config,
        genotype,
        data,
        out_dir,
        resume,
        quiet,
    } = args;
    crate::checkpoint::check_run_dir(&out_dir, resume, "training run")?;
    let (config, genotype) = if resume {
        state::saved_setup(&out_dir)?
    } else {
        let g = genotype.ok_or_else(|| anyhow::anyhow!("--genotype is required"))?;
        let g = model::retrain_genotype(&g, &config);
        (config, g)
    };
    config.validate()?;
    genotype.validate()?;
    // Data problems are reported before the GPU is touched.
    let split = run::load_split(&config, genotype.space.channels, &data)?;
    let gpu = Gpu::open_for(config.dispatch_size())?;
    // Refused before anything is allocated or written.
    crate::gpu::check_memory(
        &gpu,
        &config.memory_estimate(&genotype, &split.val),
        "this training",
    )?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    crate::outdir::save_data(&out_dir, &data)?;
    write_atomic(&out_dir.join("config.toml"), config.to_toml().as_bytes())?;
    write_atomic(
        &out_dir.join("genotype.json"),
        serde_json::to_string_pretty(&genotype)?.as_bytes(),
    )?;
    let counts = (split.train.len(), split.val.len());
    let mut s = run::Trainer::new(&gpu, config, &genotype, split, &out_dir)?;
    if resume {
        s.restore()?;
    }
    let t = s.cfg.train.clone();
    if !quiet {
        eprintln!(
            "training f={} ({} budget, sigma {}) on {} | {} train / {} val images | {} iterations x batch {} of {}x{} | {} parameters | {}",
            genotype.space.filter_multiplier,
            t.budget,
            t.sigma,
            data,
            counts.0,
            counts.1,
            t.iterations,
            t.batch_size,
            t.patch_size,
            t.patch_size,
            s.model.param_count(),
            gpu.adapter_line()
        );
    }
    let mut tb = EventWriter::create(&out_dir)?;
    let mut progress = Progress::new(
        Mode::detect(quiet),
        t.iterations as u64,
        s.progress.iteration as u64,
    );
    progress.line(&format!(
        "(the first iterations compile the GPU pipelines; the ETA leaves them out, event file {})",
        tb.path().display()
    ));
    let mut first = true;
    while !s.done() {
        let log = match s.run_interval(|it, loss| {
            progress.advance(1, |p| {
                let loss = loss.map(|l| format!(" loss {l:.4}")).unwrap_or_default();
                format!("iteration {it}{loss} | {}", p.times())
            });
        }) {
            Err(e) if crate::stop::is_interrupted(&e) => {
                progress.finish();
                s.checkpoint()?;
                return Err(e);
            }
            r => r?,
        };
        if log.best {
            s.model.save(
                &model_path(&out_dir),
                &[
                    ("iteration", log.iteration.to_string()),
                    ("val_psnr", format!("{:.4}", log.val_psnr)),
                    ("val_ssim", format!("{:.5}", log.val_ssim)),
                ],
            )?;
        }
        write_logs(&out_dir, &s.progress.history)?;
        s.checkpoint()?;
        tb.scalars(
            log.iteration as u64,
            &[
                ("loss/train", log.train_loss),
                ("lr", log.lr),
                ("val/psnr", log.val_psnr),
                ("val/ssim", log.val_ssim),
                ("val/score", log.score),
                ("time/interval_seconds", log.seconds),
            ],
        )?;
        progress.line(&format!(
            "iteration {}/{} | loss {:.4} | lr {:.6} | val {:.2} dB SSIM {:.4}{} | {} | {}{}",
            log.iteration,
            t.iterations,
            log.train_loss,
            log.lr,
            log.val_psnr,
            log.val_ssim,
            if log.best {
                " (best so far, saved)"
            } else {
                ""
            },
            duration(log.seconds),
            progress.times(),
            if first {
                " | includes pipeline compilation"
            } else {
                ""
            }
        ));
        first = false;
    }
    progress.finish();
    let (_, best_it) = s
        .progress
        .best
        .ok_or_else(|| anyhow::anyhow!("no validation produced a finite score"))?;
    let best = s
        .progress
        .history
        .iter()
        .find(|h| h.iteration == best_it && h.best)
        .cloned()
        .expect("best interval in history");
    let outcome = Outcome {
        model_path: model_path(&out_dir),
        best_iteration: best_it,
        val_psnr: best.val_psnr,
        val_ssim: best.val_ssim,
        params: s.model.param_count(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(outcome)
}

/// log.csv and loss.png from the interval history.
pub fn write_logs(dir: &Path, history: &[state::IntervalLog]) -> anyhow::Result<()> {
    let mut csv = String::from("iteration,train_loss,lr,val_psnr,val_ssim,score,best,seconds\n");
    for h in history {
        let _ = writeln!(
            csv,
            "{},{:.6},{:.6},{:.4},{:.5},{:.5},{},{:.3}",
            h.iteration, h.train_loss, h.lr, h.val_psnr, h.val_ssim, h.score, h.best, h.seconds
        );
    }
    write_atomic(&dir.join("log.csv"), csv.as_bytes())?;
    plot::save(dir, "loss", &loss_figure(history))
}

/// loss.png/.svg: training loss, validation PSNR and SSIM, and the learning rate, each against
/// the iterations completed at the end of a validation interval (as log.csv counts them).
pub fn loss_figure(history: &[state::IntervalLog]) -> plot::Figure {
    use plot::{Panel, Series};
    let series = |name: &str, f: fn(&state::IntervalLog) -> f64| {
        Series::new(
            name,
            history.iter().map(|h| (h.iteration as f64, f(h))).collect(),
        )
    };
    let best = Series::new(
        "new best (kept)",
        history
            .iter()
            .map(|h| {
                (
                    h.iteration as f64,
                    if h.best { h.val_psnr } else { f64::NAN },
                )
            })
            .collect(),
    );
    plot::Figure::new(vec![
        vec![
            Panel::new("training loss (mean per interval)", "iteration", "loss")
                .with(series("train loss", |h| h.train_loss)),
            Panel::new("validation PSNR", "iteration", "PSNR (dB)")
                .with(series("val PSNR", |h| h.val_psnr))
                .with(best),
        ],
        vec![
            Panel::new("validation SSIM", "iteration", "SSIM")
                .with(series("val SSIM", |h| h.val_ssim)),
            Panel::new("learning rate", "iteration", "lr").with(series("lr (start)", |h| h.lr)),
        ],
    ])
}
