//! `hinas search`: the HiNAS architecture search, its outputs and checkpoints.

pub mod config;
pub mod output;
pub mod run;
pub mod state;
pub mod step;

use crate::data::Source;
use crate::gpu::Gpu;
use crate::report::progress::{duration, Mode, Progress};
use crate::report::tensorboard::EventWriter;
use config::SearchConfig;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct SearchArgs {
    pub config: SearchConfig,
    pub data: Source,
    pub out_dir: PathBuf,
    pub resume: bool,
    pub quiet: bool,
}

/// Runs a whole search; returns the outcome after writing every output file.
pub fn search(args: SearchArgs) -> anyhow::Result<run::Outcome> {
    let started = Instant::now();
    let SearchArgs {
        config,
        data,
        out_dir,
        resume,
        quiet,
    } = args;
    crate::checkpoint::check_run_dir(&out_dir, resume, "search")?;
    let config = if resume {
        state::saved_config(&out_dir)?
    } else {
        config
    };
    if config.search.strategy == "random" {
        return sample_random(&config, &out_dir, started);
    }
    // Data problems are reported before the GPU is touched.
    let split = run::load_split(&config, &data)?;
    let gpu = Gpu::open_for(config.dispatch_size())?;
    // Refused before anything is allocated or written.
    crate::gpu::check_memory(&gpu, &config.memory_estimate(), "this search")?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    crate::checkpoint::write_atomic(&out_dir.join("config.toml"), config.to_toml().as_bytes())?;
    crate::outdir::save_data(&out_dir, &data)?;
    let counts = (split.weights.len(), split.arch.len(), split.val.len());
    let mut s = run::Search::new(&gpu, config, split, &out_dir)?;
    if resume {
        s.restore()?;
    }
    let total = s.cfg.search.epochs;
    let iters = s.iters_per_epoch();
    if !quiet {
        eprintln!(
            "searching {} ({} budget) on {} | {} weight / {} arch / {} val images | {} epochs x {} iterations | {}",
            s.cfg.space.space,
            s.cfg.search.budget,
            data,
            counts.0,
            counts.1,
            counts.2,
            total,
            iters,
            gpu.adapter_line()
        );
    }
    let mut tb = EventWriter::create(&out_dir)?;
    let mut progress = Progress::new(
        Mode::detect(quiet),
        (total * iters) as u64,
        (s.progress.epoch * iters + s.progress.partial.as_ref().map_or(0, |p| p.iteration)) as u64,
    );
    progress.line(&format!(
        "(the first iterations compile the GPU pipelines; the ETA leaves them out, event file {})",
        tb.path().display()
    ));
    let mut stopped_early = false;
    let mut first_epoch = true;
    while !s.should_stop() {
        let epoch = s.progress.epoch + 1;
        let compiling = first_epoch;
        let log = match s.run_epoch(|_, loss| {
            progress.advance(1, |p| {
                let loss = loss.map(|l| format!(" loss {l:.4}")).unwrap_or_default();
                let note = if compiling && p.eta().is_none() {
                    " (compiling pipelines)"
                } else {
                    ""
                };
                format!("epoch {epoch}/{total}{loss}{note} | {}", p.times())
            });
        }) {
            Err(e) if crate::stop::is_interrupted(&e) => {
                progress.finish();
                s.checkpoint()?;
                return Err(e);
            }
            r => r?,
        };
        output::write_logs(&out_dir, &s)?;
        output::write_genotype(&out_dir, &s.result()?)?;
        s.checkpoint()?;
        tb.scalars(log.epoch as u64, &scalars(&log))?;
        progress.line(&epoch_line(&log, total, &progress, compiling));
        first_epoch = false;
        if s.progress.epoch < total && s.should_stop() {
            stopped_early = true;
            progress.line(&format!(
                "genotype unchanged for {} epochs: stopping early",
                s.cfg.search.genotype_patience
            ));
        }
    }
    progress.finish();
    let genotype = s.result()?;
    output::write_genotype(&out_dir, &genotype)?;
    let window = run::select_window(&s.cfg, &s.progress.history);
    let mean_rule = s.cfg.search.genotype_rule == "window_mean" && !window.is_empty();
    let (val_psnr_noisy, chosen) = if mean_rule {
        let noisy: Vec<f64> = window.iter().filter_map(|h| h.val_psnr_noisy).collect();
        let first = window[0].epoch;
        (
            (!noisy.is_empty()).then(|| noisy.iter().sum::<f64>() / noisy.len() as f64),
            format!(
                "the mean architecture weights of epochs {first}-{}",
                genotype.epoch
            ),
        )
    } else {
        let noisy = s
            .progress
            .history
            .iter()
            .find(|h| h.epoch == genotype.epoch)
            .and_then(|h| h.val_psnr_noisy);
        (noisy, format!("epoch {}", genotype.epoch))
    };
    let outcome = run::Outcome {
        genotype,
        out_dir: out_dir.clone(),
        epochs_run: s.progress.epoch,
        stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        first_step_seconds: s.first_step_done.map(|t| (t - started).as_secs_f64()),
        peak_bytes: gpu.memory().peak,
        seed: s.cfg.search.seed,
        val_psnr_noisy,
        chosen,
    };
    Ok(outcome)
}

/// The random-search control: a genotype drawn uniformly from the space with the run's seed, and
/// the same output files as a search (no data, no GPU).
fn sample_random(
    config: &SearchConfig,
    out_dir: &Path,
    started: Instant,
) -> anyhow::Result<run::Outcome> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.search.seed);
    let genotype = crate::nn::genotype::random_genotype(&config.space, &mut rng);
    std::fs::create_dir_all(out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    crate::checkpoint::write_atomic(&out_dir.join("config.toml"), config.to_toml().as_bytes())?;
    output::write_genotype(out_dir, &genotype)?;
    let outcome = run::Outcome {
        genotype,
        out_dir: out_dir.to_path_buf(),
        epochs_run: 0,
        stopped_early: false,
        seconds: started.elapsed().as_secs_f64(),
        first_step_seconds: None,
        peak_bytes: 0,
        seed: config.search.seed,
        val_psnr_noisy: None,
        chosen: String::new(),
    };
    Ok(outcome)
}

/// TensorBoard scalars of one epoch (step = epoch, counted from 1 as in log.csv).
fn scalars(h: &state::EpochLog) -> Vec<(&'static str, f64)> {
    let nan = f64::NAN;
    vec![
        ("loss/weight", h.weight_loss),
        ("loss/arch", h.arch_loss.unwrap_or(nan)),
        ("lr", h.lr),
        ("val/psnr", h.val_psnr.unwrap_or(nan)),
        ("val/ssim", h.val_ssim.unwrap_or(nan)),
        ("val/psnr_noisy", h.val_psnr_noisy.unwrap_or(nan)),
        ("val/ssim_noisy", h.val_ssim_noisy.unwrap_or(nan)),
        ("arch/alpha_entropy", h.alpha_entropy),
        ("arch/beta_entropy", h.beta_entropy),
        ("arch/min_margin", h.min_margin),
        ("arch/skip_none_edges", h.skip_none_edges as f64),
        ("time/epoch_seconds", h.seconds),
    ]
}

/// The line a finished epoch leaves: epoch, losses, lr, validation, time, ETA.
fn epoch_line(h: &state::EpochLog, total: usize, p: &Progress, first: bool) -> String {
    let mut l = format!("epoch {}/{total} | loss {:.4}", h.epoch, h.weight_loss);
    if let Some(a) = h.arch_loss {
        l += &format!(" arch {a:.4}");
    }
    l += &format!(" | lr {:.5}", h.lr);
    if let (Some(p), Some(q)) = (h.val_psnr, h.val_ssim) {
        l += &format!(" | val {p:.2} dB SSIM {q:.4}");
        if let (Some(np), Some(nq)) = (h.val_psnr_noisy, h.val_ssim_noisy) {
            l += &format!(" (noisy {np:.2} dB SSIM {nq:.4})");
        }
    }
    l += &format!(
        " | {} | {}{}",
        duration(h.seconds),
        p.times(),
        if first {
            " | includes pipeline compilation"
        } else {
            ""
        }
    );
    l
}

pub fn print_summary(o: &run::Outcome) {
    let g = &o.genotype;
    println!(
        "\n== search finished in {:.1} s ({} epochs{})",
        o.seconds,
        o.epochs_run,
        if o.stopped_early {
            ", stopped early"
        } else {
            ""
        }
    );
    println!(
        "space {} | widths {:?} | path (level per layer) {:?}",
        g.space.space,
        g.space.widths(),
        g.path
    );
    for (l, cell) in g.cells.iter().enumerate() {
        if g.space.tied_cells && l > 0 {
            break;
        }
        let label = if g.space.tied_cells {
            "cell (all layers)".to_string()
        } else {
            format!("layer {l}")
        };
        let edges: Vec<String> = cell
            .iter()
            .map(|e| format!("{}<-{}", e.op, e.input))
            .collect();
        println!("{label}: {}", edges.join("  "));
    }
    if g.strategy == "random" {
        println!(
            "random sample from the space (seed {}): no search, no decision margins",
            o.seed
        );
        println!("outputs in {}", o.out_dir.display());
        return;
    }
    match o.val_psnr_noisy {
        Some(noisy) => println!(
            "genotype from {}: val PSNR {:.2} dB (noisy input {noisy:.2} dB, {:+.2} dB), SSIM {:.4}",
            o.chosen,
            g.val_psnr,
            g.val_psnr - noisy,
            g.val_ssim
        ),
        None => println!(
            "genotype from {}: val PSNR {:.2} dB, SSIM {:.4}",
            o.chosen, g.val_psnr, g.val_ssim
        ),
    }
    print_decisions(g);
    println!(
        "peak GPU memory {:.1} MiB",
        o.peak_bytes as f64 / (1 << 20) as f64
    );
    if let Some(t) = o.first_step_seconds {
        println!("first step finished {t:.1} s after start (pipeline compilation included)");
    }
    println!("outputs in {}", o.out_dir.display());
}

/// runs/search-YYYYMMDD-HHMMSS in local time, with -2, -3, ... when taken (not created: the CLI
/// reserves a default folder with [`crate::outdir::claim_new_dir`]).
pub fn default_out_dir(kind: &str) -> PathBuf {
    crate::outdir::fresh_name(Path::new("runs"), kind)
}

/// Each decision's margin (chosen vs runner-up op per kept edge, chosen vs second-best path),
/// saying plainly which ones are within the noise.
fn print_decisions(g: &crate::nn::genotype::Genotype) {
    let k = g.space.ops.len();
    let all = crate::nn::genotype::decisions(g);
    if all.is_empty() {
        return;
    }
    println!(
        "decisions (chosen vs runner-up; uniform op weight {:.4}):",
        1.0 / k as f64
    );
    let mut weak = 0;
    for d in &all {
        let verdict = if d.significant(k) {
            String::new()
        } else {
            weak += 1;
            " — not significant; use a larger budget".into()
        };
        if d.what == "path" {
            println!(
                "  path: {} beat {} by {:.4} in log-probability{verdict}",
                d.chosen, d.runner_up, d.margin
            );
        } else {
            println!(
                "  {}: {} ({:.2}x uniform) beat {} by {:.4}{verdict}",
                d.what, d.chosen, d.vs_uniform, d.runner_up, d.margin
            );
        }
    }
    if let Some(alpha) = g.alphas.first() {
        let strong = crate::nn::genotype::edge_strengths(alpha, &g.space.ops)
            .iter()
            .filter(|&&x| x >= 1.5)
            .count();
        println!(
            "{strong} of {} edges have an op at >= 1.5x the uniform weight; {weak} of {} decisions within the noise",
            alpha.len(),
            all.len()
        );
    }
}
