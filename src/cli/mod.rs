//! What each subcommand does with its parsed arguments: resolve configs, apply the overwrite rule
//! (see `hinas::outdir`), call the library, and print the human or JSON summary.

pub mod args;

use args::{Budget, Output, Space};
use hinas::config_file::first_difference;
use hinas::outdir;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Writing into a closed pipe (`hinas info | head -1`) ends the process quietly, as it does
/// for cat, cargo or ripgrep, instead of panicking in `println!`.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The message of an error: one line, except a TOML syntax error, which keeps the parser's
/// caret diagram.
pub fn error_text(e: &anyhow::Error) -> String {
    if let Some(t) = e.downcast_ref::<hinas::config_file::TomlError>() {
        return t.to_string().trim_end().to_string();
    }
    let msg = format!("{e:#}");
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialise")
    );
}

pub fn info() -> anyhow::Result<()> {
    let adapters = hinas::gpu::enumerate();
    if adapters.is_empty() {
        anyhow::bail!("{}", hinas::gpu::NO_ADAPTER_HINT);
    }
    for a in &adapters {
        print!("{}", hinas::gpu::describe(a));
    }
    let gpu = hinas::gpu::Gpu::open()?;
    println!("selected: {}", gpu.adapter_line());
    Ok(())
}

/// Where a new run writes: `--out` (checked against the overwrite rule) or a new folder under
/// runs/. Returns the folder and whether this call created it.
fn new_run_dir(run: &args::Run, kind: &str) -> anyhow::Result<(PathBuf, bool)> {
    match &run.out {
        Some(dir) => {
            let ckpt = dir.join("checkpoint.safetensors");
            if run.force {
                // Started over: a checkpoint left there must not be mistaken for this run's.
                if ckpt.is_file() {
                    std::fs::remove_file(&ckpt)
                        .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", ckpt.display()))?;
                }
            } else if !ckpt.is_file() {
                outdir::check_output_dir(dir, false)?;
            }
            Ok((dir.clone(), false))
        }
        None => Ok((outdir::claim_new_dir(Path::new("runs"), kind)?, true)),
    }
}

/// A resumed run keeps its own settings: an option given again must agree with them.
fn refuse_difference<T: serde::Serialize>(
    saved: &T,
    given: &T,
    dir: &Path,
    option: &str,
) -> anyhow::Result<()> {
    if let Some((key, old, new)) = first_difference(saved, given) {
        anyhow::bail!(
            "--resume {}: {option} sets {key} = {new}, the saved run has {key} = {old}; drop the option or start a new run",
            dir.display()
        );
    }
    Ok(())
}

/// The data of a resumed run: the saved one, and a `--data` that differs is refused.
fn resumed_data(dir: &Path, given: Option<&str>, default: &str) -> anyhow::Result<String> {
    match (outdir::saved_data(dir), given) {
        (Some(saved), Some(g)) if !outdir::same_data(&saved, g) => anyhow::bail!(
            "--resume {}: --data {g} differs from the saved run's data {saved}; drop the option or start a new run",
            dir.display()
        ),
        (Some(saved), _) => Ok(saved),
        (None, g) => Ok(g.unwrap_or(default).to_string()),
    }
}

fn check_resumable(dir: &Path, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        dir.join("checkpoint.safetensors").is_file(),
        "nothing to resume: {} holds no {what} checkpoint",
        dir.display()
    );
    Ok(())
}

/// The search options that only `hinas search` has.
pub struct SearchChoices {
    pub no_cell_sharing: bool,
    pub strategy: Option<String>,
    pub arch_order: Option<u8>,
}

pub fn search(
    space: Option<Space>,
    choices: SearchChoices,
    run: &args::Run,
    output: &Output,
) -> anyhow::Result<()> {
    let SearchChoices {
        no_cell_sharing,
        strategy,
        arch_order,
    } = choices;
    use hinas::search::{config::SearchConfig, state, SearchArgs};
    let space_name = args::name(&space.unwrap_or(Space::Cvpr2020));
    let budget_name = args::name(&run.budget.unwrap_or(Budget::Tiny));
    let apply = |mut cfg: SearchConfig| -> anyhow::Result<SearchConfig> {
        if let Some(s) = run.seed {
            cfg.search.seed = s;
        }
        if let Some(c) = run.channels() {
            cfg.space.channels = c.count();
        }
        if no_cell_sharing {
            cfg.space.cell_sharing = false;
        }
        if let Some(s) = &strategy {
            cfg.search.strategy = s.clone();
        }
        if let Some(o) = arch_order {
            cfg.search.arch_order = o as usize;
        }
        Ok(cfg)
    };
    let (cfg, data, out_dir, resume, created) = match &run.resume {
        Some(dir) => {
            check_resumable(dir, "search")?;
            let saved = state::saved_config(dir)?;
            if space.is_some() {
                let mut given = saved.clone();
                given.space.space = space_name.clone();
                refuse_difference(&saved, &given, dir, "--space")?;
            }
            if run.budget.is_some() {
                let mut given = saved.clone();
                given.search.budget = budget_name.clone();
                refuse_difference(&saved, &given, dir, "--budget")?;
            }
            if let Some(file) = &run.config {
                let given = hinas::config_file::apply_overrides(saved.clone(), file)?;
                refuse_difference(&saved, &given, dir, "--config")?;
            }
            if let Some(seed) = run.seed {
                let mut given = saved.clone();
                given.search.seed = seed;
                refuse_difference(&saved, &given, dir, "--seed")?;
            }
            if let Some(c) = run.channels() {
                let mut given = saved.clone();
                given.space.channels = c.count();
                refuse_difference(&saved, &given, dir, "--channels")?;
            }
            if no_cell_sharing {
                let mut given = saved.clone();
                given.space.cell_sharing = false;
                refuse_difference(&saved, &given, dir, "--no-cell-sharing")?;
            }
            if let Some(s) = &strategy {
                let mut given = saved.clone();
                given.search.strategy = s.clone();
                refuse_difference(&saved, &given, dir, "--strategy")?;
            }
            if let Some(o) = arch_order {
                let mut given = saved.clone();
                given.search.arch_order = o as usize;
                refuse_difference(&saved, &given, dir, "--arch-order")?;
            }
            let data = resumed_data(dir, run.data.as_deref(), "builtin:train")?;
            (saved, data, dir.clone(), true, false)
        }
        None => {
            let mut cfg = SearchConfig::resolve(&space_name, &budget_name, run.config.as_deref())?;
            cfg = apply(cfg)?;
            cfg.validate()?;
            let data = run.data.clone().unwrap_or_else(|| "builtin:train".into());
            let (dir, created) = new_run_dir(run, "search")?;
            (cfg, data, dir, false, created)
        }
    };
    let data: hinas::data::Source = data.parse()?;
    let result = hinas::search::search(SearchArgs {
        config: cfg,
        data,
        out_dir: out_dir.clone(),
        resume,
        quiet: output.quiet || output.json,
    });
    let o = match result {
        Ok(o) => o,
        Err(e) => {
            if created {
                outdir::remove_if_empty(&out_dir);
            }
            return Err(e);
        }
    };
    if output.json {
        let g = &o.genotype;
        print_json(&json!({
            "command": "search",
            "out_dir": o.out_dir,
            "genotype": o.out_dir.join("genotype.json"),
            "epochs_run": o.epochs_run,
            "stopped_early": o.stopped_early,
            "seconds": o.seconds,
            "first_step_seconds": o.first_step_seconds,
            "peak_gpu_bytes": o.peak_bytes,
            "genotype_epoch": g.epoch,
            "genotype_from": o.chosen,
            "val_psnr": g.val_psnr,
            "val_ssim": g.val_ssim,
        }));
    } else if output.quiet {
        println!("{}", o.out_dir.display());
    } else {
        hinas::search::print_summary(&o);
    }
    Ok(())
}

pub fn train(
    genotype: Option<PathBuf>,
    sigma: Option<f32>,
    run: &args::Run,
    output: &Output,
) -> anyhow::Result<()> {
    use hinas::train::{config::TrainConfig, model::retrain_genotype, state, TrainArgs};
    let budget_name = args::name(&run.budget.unwrap_or(Budget::Tiny));
    let apply = |mut cfg: TrainConfig| -> anyhow::Result<TrainConfig> {
        if let Some(s) = sigma {
            hinas::train::config::check_sigma(s)?;
            cfg.train.sigma = s;
        }
        if let Some(s) = run.seed {
            cfg.train.seed = s;
        }
        if let Some(c) = run.channels() {
            cfg.net.channels = c.count();
        }
        Ok(cfg)
    };
    let genotype = genotype
        .map(|g| hinas::nn::genotype::Genotype::load(&g))
        .transpose()?;
    let (cfg, data, out_dir, resume, created) = match &run.resume {
        Some(dir) => {
            check_resumable(dir, "training")?;
            let (saved, saved_genotype) = state::saved_setup(dir)?;
            if run.budget.is_some() {
                let mut given = saved.clone();
                given.train.budget = budget_name.clone();
                refuse_difference(&saved, &given, dir, "--budget")?;
            }
            if let Some(file) = &run.config {
                let given = hinas::config_file::apply_overrides(saved.clone(), file)?;
                refuse_difference(&saved, &given, dir, "--config")?;
            }
            if let Some(s) = sigma {
                let mut given = saved.clone();
                given.train.sigma = s;
                refuse_difference(&saved, &given, dir, "--sigma")?;
            }
            if let Some(seed) = run.seed {
                let mut given = saved.clone();
                given.train.seed = seed;
                refuse_difference(&saved, &given, dir, "--seed")?;
            }
            // Compared with the channels the run really uses (its config may say 0, "as the
            // genotype").
            if let Some(c) = run.channels() {
                let mut given = saved_genotype.space.clone();
                given.channels = c.count();
                refuse_difference(&saved_genotype.space, &given, dir, "--channels")?;
            }
            if let Some(g) = &genotype {
                refuse_difference(
                    &saved_genotype,
                    &retrain_genotype(g, &saved),
                    dir,
                    "--genotype",
                )?;
            }
            let data = resumed_data(dir, run.data.as_deref(), "builtin:train")?;
            (saved, data, dir.clone(), true, false)
        }
        None => {
            let cfg = apply(TrainConfig::resolve(&budget_name, run.config.as_deref())?)?;
            cfg.validate()?;
            let data = run.data.clone().unwrap_or_else(|| "builtin:train".into());
            let (dir, created) = new_run_dir(run, "train")?;
            (cfg, data, dir, false, created)
        }
    };
    let data: hinas::data::Source = data.parse()?;
    let result = hinas::train::train(TrainArgs {
        config: cfg,
        genotype: if resume { None } else { genotype },
        data,
        out_dir: out_dir.clone(),
        resume,
        quiet: output.quiet || output.json,
    });
    let o = match result {
        Ok(o) => o,
        Err(e) => {
            if created {
                outdir::remove_if_empty(&out_dir);
            }
            return Err(e);
        }
    };
    if output.json {
        print_json(&json!({
            "command": "train",
            "out_dir": out_dir,
            "model": o.model_path,
            "best_iteration": o.best_iteration,
            "val_psnr": o.val_psnr,
            "val_ssim": o.val_ssim,
            "params": o.params,
            "seconds": o.seconds,
        }));
    } else if output.quiet {
        println!("{}", o.model_path.display());
    } else {
        println!(
            "\n== training finished in {:.1} s; best model at iteration {}: val PSNR {:.2} dB, SSIM {:.4} ({} parameters)\nmodel: {}",
            o.seconds,
            o.best_iteration,
            o.val_psnr,
            o.val_ssim,
            o.params,
            o.model_path.display()
        );
    }
    Ok(())
}

pub struct EvalCmd {
    pub model: PathBuf,
    pub data: String,
    pub sigmas: Vec<f32>,
    pub protocol: args::Protocol,
    pub out: Option<PathBuf>,
    pub seed: u64,
    pub force: bool,
    pub output: Output,
}

pub fn eval(c: EvalCmd) -> anyhow::Result<()> {
    let protocol = match c.protocol {
        args::Protocol::HinasTiles => hinas::data::Protocol::hinas_tiles(),
        args::Protocol::Standard => hinas::data::Protocol::Standard,
    };
    for &s in &c.sigmas {
        hinas::train::config::check_sigma(s)?;
    }
    let (out_dir, created) = match &c.out {
        Some(d) => {
            outdir::check_output_dir(d, c.force)?;
            (d.clone(), false)
        }
        None => {
            anyhow::ensure!(
                c.model.is_file(),
                "model {} does not exist",
                c.model.display()
            );
            let beside = c
                .model
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            (outdir::claim_dir(beside, "eval")?, true)
        }
    };
    let result = hinas::eval::eval(hinas::eval::EvalArgs {
        model: c.model,
        data: c.data.parse()?,
        sigmas: c.sigmas,
        protocol,
        out_dir: out_dir.clone(),
        seed: c.seed,
        quiet: c.output.quiet || c.output.json,
    });
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            if created {
                outdir::remove_if_empty(&out_dir);
            }
            return Err(e);
        }
    };
    if c.output.json {
        print_json(&json!({
            "command": "eval",
            "out_dir": out_dir,
            "csv": out_dir.join("eval.csv"),
            "json": out_dir.join("eval.json"),
            "result": r,
        }));
    } else if c.output.quiet {
        println!("{}", out_dir.display());
    } else {
        print!("{}", hinas::eval::table(&r));
        println!("results in {}", out_dir.display());
    }
    Ok(())
}

pub fn denoise(a: hinas::eval::denoise::DenoiseArgs, output: &Output) -> anyhow::Result<()> {
    let done = hinas::eval::denoise::denoise(a)?;
    if output.json {
        let items: Vec<_> = done
            .iter()
            .map(|d| {
                json!({
                    "input": d.input,
                    "output": d.output,
                    "noisy": d.noisy,
                    "width": d.width,
                    "height": d.height,
                    "seconds": d.seconds,
                })
            })
            .collect();
        print_json(&json!({ "command": "denoise", "images": items }));
    } else if output.quiet {
        for d in &done {
            println!("{}", d.output.display());
        }
    }
    Ok(())
}

pub fn export(model: &Path, onnx: &Path, force: bool, quiet: bool) -> anyhow::Result<()> {
    outdir::check_output_file(onnx, force)?;
    let s = hinas::export::export(model, onnx)?;
    if quiet {
        println!("{}", onnx.display());
    } else {
        println!(
            "wrote {}: {} nodes, {} parameters, {} bytes (ONNX opset {})",
            onnx.display(),
            s.nodes,
            s.params,
            s.bytes,
            hinas::export::OPSET
        );
    }
    Ok(())
}
