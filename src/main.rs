use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hinas",
    version,
    about = "Hierarchical NAS for image denoising, on the GPU you have"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every GPU adapter with its limits and features.
    Info,
    /// Search a denoising architecture (HiNAS) on the built-in images or a folder.
    Search {
        /// TOML file overriding any field of the resolved config (see config.toml of a run).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Search space preset.
        #[arg(long, default_value = "cvpr2020", value_parser = ["cvpr2020", "ijcv2022"])]
        space: String,
        /// tiny: 3 minutes on a 2-core CPU with the software driver; small: under an hour
        /// there; paper: the published setting.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "small", "paper"])]
        budget: String,
        /// Training images: a folder, or builtin:train (default).
        #[arg(long, default_value = "builtin:train")]
        data: String,
        /// Output folder (default runs/search-<date>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        /// Continue the search saved in this folder.
        #[arg(long, conflicts_with = "out")]
        resume: Option<PathBuf>,
        /// Search colour (3-channel) denoisers.
        #[arg(long)]
        colour: bool,
        /// Run each cell once per incoming level (Auto-DeepLab), to measure HiNAS' memory saving.
        #[arg(long)]
        no_cell_sharing: bool,
        /// darts: the bi-level search; random: a genotype drawn uniformly from the same space
        /// (the control every NAS result needs), seeded by --seed, in well under a second.
        #[arg(long, value_parser = ["darts", "random"])]
        strategy: Option<String>,
        /// Architecture gradient: 1 = first order (HiNAS), 2 = DARTS' unrolled second order.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        arch_order: Option<u8>,
        /// No progress bars or summary.
        #[arg(long)]
        quiet: bool,
    },
    /// Retrain the network of a searched genotype and keep the best model by validation.
    Train {
        /// genotype.json written by `hinas search` (not needed with --resume).
        #[arg(long, required_unless_present = "resume")]
        genotype: Option<PathBuf>,
        /// Training noise level (0-255; default 30).
        #[arg(long, allow_negative_numbers = true)]
        sigma: Option<f32>,
        /// tiny: minutes on a CPU-only machine; paper: the published setting.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "paper"])]
        budget: String,
        /// Training images: a folder, or builtin:train (default).
        #[arg(long, default_value = "builtin:train")]
        data: String,
        /// Output folder (default runs/train-<date>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue the training saved in this folder.
        #[arg(long, conflicts_with = "out")]
        resume: Option<PathBuf>,
        /// Train a colour (3-channel) denoiser.
        #[arg(long)]
        colour: bool,
        /// TOML file overriding any field of the resolved config (see config.toml of a run).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        /// No progress bar or summary.
        #[arg(long)]
        quiet: bool,
    },
    /// Score a trained model on test images (PSNR, both SSIMs), beside the noisy input.
    Eval {
        /// model.safetensors written by `hinas train`.
        #[arg(long)]
        model: PathBuf,
        /// Test images: a folder, or builtin:test (default).
        #[arg(long, default_value = "builtin:test")]
        data: String,
        /// Noise levels, comma-separated (default: the model's training sigma).
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        sigma: Vec<f32>,
        #[arg(long, default_value = "standard", value_parser = ["standard", "hinas-tiles"])]
        protocol: String,
        /// Folder for eval.csv and eval.json (default: eval/ beside the model).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of the test noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        quiet: bool,
    },
    /// Denoise PNG/JPEG images of any size with a trained model (PNG out).
    Denoise {
        /// model.safetensors written by `hinas train`.
        #[arg(long)]
        model: PathBuf,
        /// Input images.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output folder (default: beside each input); outputs are NAME_denoised.png.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Noise level of the inputs, if known (0-255).
        #[arg(long, allow_negative_numbers = true)]
        sigma: Option<f32>,
        /// Add Gaussian noise of this sigma first and also write the noisy image (a demo pair).
        #[arg(long, allow_negative_numbers = true)]
        add_noise: Option<f32>,
        /// Seed of --add-noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Largest tile side (default: the largest the device allows). Tiles overlap by the
        /// network's receptive field and give the whole-image result.
        #[arg(long)]
        tile: Option<usize>,
        /// Also write NAME_denoised.safetensors here: the network's input and its output before
        /// clamping and quantisation (f32 tensors `input` and `denoised`, [1, C, H, W]).
        #[arg(long, hide = true)]
        raw_out: Option<PathBuf>,
        /// Overwrite existing outputs.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        quiet: bool,
    },
    /// Export a trained model as ONNX (opset 19, deformable convs as DeformConv).
    Export {
        /// model.safetensors written by `hinas train`.
        #[arg(long)]
        model: PathBuf,
        /// Output .onnx file (overwritten if it exists).
        #[arg(long)]
        onnx: PathBuf,
        #[arg(long)]
        quiet: bool,
    },
    /// Sweeps: a grid of search -> retrain -> eval tasks, locally or as a Slurm job array.
    Sweep {
        #[command(subcommand)]
        command: hinas::sweep::SweepCommand,
    },
    /// Merge a sweep folder into results.csv, summary.md and psnr.svg.
    Report(hinas::sweep::ReportArgs),
}

fn main() {
    // A bug should still read as one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {msg}{at}; please report it");
    }));
    let cli = Cli::parse();
    // Long commands checkpoint and exit on SIGTERM/SIGUSR1/SIGINT (see hinas::stop).
    if matches!(
        cli.command,
        Command::Search { .. } | Command::Train { .. } | Command::Sweep { .. }
    ) {
        if let Err(e) = hinas::stop::install() {
            eprintln!("warning: cannot handle stop signals: {e}");
        }
    }
    let result = match cli.command {
        Command::Info => info(),
        Command::Search {
            config,
            space,
            budget,
            data,
            out,
            seed,
            resume,
            colour,
            no_cell_sharing,
            strategy,
            arch_order,
            quiet,
        } => search(
            config,
            &space,
            &budget,
            &data,
            out,
            seed,
            resume,
            colour,
            no_cell_sharing,
            strategy,
            arch_order,
            quiet,
        ),
        Command::Train {
            genotype,
            sigma,
            budget,
            data,
            out,
            resume,
            colour,
            config,
            seed,
            quiet,
        } => train(
            genotype, sigma, &budget, &data, out, resume, colour, config, seed, quiet,
        ),
        Command::Eval {
            model,
            data,
            sigma,
            protocol,
            out,
            seed,
            quiet,
        } => eval(model, &data, sigma, &protocol, out, seed, quiet),
        Command::Denoise {
            model,
            inputs,
            out,
            sigma,
            add_noise,
            seed,
            tile,
            raw_out,
            force,
            quiet,
        } => hinas::eval::denoise::denoise(hinas::eval::denoise::DenoiseArgs {
            model,
            inputs,
            out_dir: out,
            sigma,
            add_noise,
            seed,
            tile,
            raw_out,
            force,
            quiet,
        })
        .map(|_| ()),
        Command::Export { model, onnx, quiet } => export(model, onnx, quiet),
        Command::Sweep { command } => hinas::sweep::sweep(command),
        Command::Report(args) => hinas::sweep::report::report(args),
    };
    if let Err(e) = &result {
        if hinas::stop::is_interrupted(e) {
            eprintln!("stopped: {e}");
            std::process::exit(hinas::stop::EXIT_STATUS);
        }
    }
    if let Err(e) = result {
        let msg = format!("{e:#}");
        eprintln!(
            "error: {}",
            msg.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        std::process::exit(1);
    }
}

fn info() -> anyhow::Result<()> {
    let adapters = hinas::gpu::enumerate();
    if adapters.is_empty() {
        anyhow::bail!("{}", hinas::gpu::NO_ADAPTER_HINT);
    }
    for (i, a) in adapters.iter().enumerate() {
        print!("[{i}] {}", hinas::gpu::describe(a));
    }
    let gpu = hinas::gpu::Gpu::open()?;
    println!("selected: {}", gpu.adapter_line());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn search(
    config: Option<PathBuf>,
    space: &str,
    budget: &str,
    data: &str,
    out: Option<PathBuf>,
    seed: Option<u64>,
    resume: Option<PathBuf>,
    colour: bool,
    no_cell_sharing: bool,
    strategy: Option<String>,
    arch_order: Option<u8>,
    quiet: bool,
) -> anyhow::Result<()> {
    use hinas::search::{config::SearchConfig, default_out_dir, SearchArgs};
    let mut cfg = SearchConfig::resolve(space, budget, config.as_deref())?;
    if let Some(s) = seed {
        cfg.search.seed = s;
    }
    if colour {
        cfg.space.channels = 3;
    }
    if no_cell_sharing {
        cfg.space.cell_sharing = false;
    }
    if let Some(s) = strategy {
        cfg.search.strategy = s;
    }
    if let Some(o) = arch_order {
        cfg.search.arch_order = o as usize;
    }
    cfg.validate()?;
    let data: hinas::data::Source = data.parse().expect("infallible");
    let (out_dir, resume) = match resume {
        Some(dir) => (dir, true),
        None => (out.unwrap_or_else(|| default_out_dir("search")), false),
    };
    hinas::search::search(SearchArgs {
        config: cfg,
        data,
        out_dir,
        resume,
        quiet,
    })?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn train(
    genotype: Option<PathBuf>,
    sigma: Option<f32>,
    budget: &str,
    data: &str,
    out: Option<PathBuf>,
    resume: Option<PathBuf>,
    colour: bool,
    config: Option<PathBuf>,
    seed: Option<u64>,
    quiet: bool,
) -> anyhow::Result<()> {
    use hinas::train::{config::TrainConfig, TrainArgs};
    let mut cfg = TrainConfig::resolve(budget, config.as_deref())?;
    if let Some(s) = sigma {
        hinas::train::config::check_sigma(s)?;
        cfg.train.sigma = s;
    }
    if let Some(s) = seed {
        cfg.train.seed = s;
    }
    if colour {
        cfg.net.channels = 3;
    }
    cfg.validate()?;
    let genotype = match (&genotype, &resume) {
        (Some(g), None) => Some(hinas::nn::genotype::Genotype::load(g)?),
        _ => None,
    };
    let data: hinas::data::Source = data.parse().expect("infallible");
    let (out_dir, resume) = match resume {
        Some(dir) => (dir, true),
        None => (
            out.unwrap_or_else(|| hinas::search::default_out_dir("train")),
            false,
        ),
    };
    hinas::train::train(TrainArgs {
        config: cfg,
        genotype,
        data,
        out_dir,
        resume,
        quiet,
    })?;
    Ok(())
}

fn eval(
    model: PathBuf,
    data: &str,
    sigmas: Vec<f32>,
    protocol: &str,
    out: Option<PathBuf>,
    seed: u64,
    quiet: bool,
) -> anyhow::Result<()> {
    let protocol = match protocol {
        "hinas-tiles" => hinas::data::Protocol::hinas_tiles(),
        _ => hinas::data::Protocol::Standard,
    };
    let out_dir = out.unwrap_or_else(|| {
        model
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .join("eval")
    });
    hinas::eval::eval(hinas::eval::EvalArgs {
        model,
        data: data.parse().expect("infallible"),
        sigmas,
        protocol,
        out_dir,
        seed,
        quiet,
    })?;
    Ok(())
}

fn export(model: PathBuf, onnx: PathBuf, quiet: bool) -> anyhow::Result<()> {
    let s = hinas::export::export(&model, &onnx)?;
    if !quiet {
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
