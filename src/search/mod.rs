//! `hinas search`: the HiNAS architecture search, its outputs and checkpoints.

pub mod config;
pub mod output;
pub mod run;
pub mod state;
pub mod step;

use crate::data::Source;
use crate::gpu::Gpu;
use config::SearchConfig;
use indicatif::{ProgressBar, ProgressStyle};
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
    crate::checkpoint::check_run_dir(&out_dir, state::exists(&out_dir), resume, "search")?;
    let config = if resume {
        state::saved_config(&out_dir)?
    } else {
        config
    };
    // Data problems are reported before the GPU is touched.
    let split = run::load_split(&config, &data)?;
    let gpu = Gpu::open()?;
    // Refused before anything is allocated or written.
    crate::gpu::check_memory(&gpu, &config.memory_estimate(), "this search")?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    crate::checkpoint::write_atomic(&out_dir.join("config.toml"), config.to_toml().as_bytes())?;
    crate::outdir::save_data(&out_dir, &data)?;
    let counts = (split.weights.len(), split.arch.len(), split.val.len());
    let mut s = run::Search::new(&gpu, config, split, &out_dir)?;
    if resume {
        state::load(&mut s)?;
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
    let mut stopped_early = false;
    while !s.should_stop() {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(iters as u64)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed} < {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{total}", s.epoch + 1));
        let log = s.run_epoch(|_, loss| {
            bar.inc(1);
            if let Some(l) = loss {
                bar.set_message(format!("loss {l:.4}"));
            }
        })?;
        let val = match (log.val_psnr, log.val_ssim) {
            (Some(p), Some(q)) => format!(" | val {p:.2} dB SSIM {q:.4}"),
            _ => String::new(),
        };
        let arch = log
            .arch_loss
            .map(|a| format!(" arch {a:.4}"))
            .unwrap_or_default();
        bar.finish_with_message(format!(
            "loss {:.4}{arch} lr {:.4}{val}",
            log.weight_loss, log.lr
        ));
        output::write_logs(&out_dir, &s)?;
        output::write_genotype(&out_dir, &s.result()?)?;
        s.checkpoint()?;
        if s.epoch < total && s.should_stop() {
            stopped_early = true;
            if !quiet {
                eprintln!(
                    "genotype unchanged for {} epochs: stopping early",
                    s.cfg.search.genotype_patience
                );
            }
        }
    }
    let genotype = s.result()?;
    output::write_genotype(&out_dir, &genotype)?;
    let outcome = run::Outcome {
        genotype,
        out_dir: out_dir.clone(),
        epochs_run: s.epoch,
        stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        first_step_seconds: s.first_step_done.map(|t| (t - started).as_secs_f64()),
        peak_bytes: gpu.memory().peak,
    };
    Ok(outcome)
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
    println!(
        "genotype from epoch {}: val PSNR {:.2} dB, SSIM {:.4}",
        g.epoch, g.val_psnr, g.val_ssim
    );
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
