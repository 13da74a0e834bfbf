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
        /// tiny: minutes on a CPU-only machine; paper: the published setting.
        #[arg(long, default_value = "tiny", value_parser = ["tiny", "paper"])]
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
        /// No progress bars or summary.
        #[arg(long)]
        quiet: bool,
    },
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
            quiet,
        ),
    };
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
    for a in &adapters {
        print!("{}", hinas::gpu::describe(a));
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
