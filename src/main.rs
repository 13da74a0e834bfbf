mod cli;

use clap::{CommandFactory, Parser, Subcommand};
use cli::args::{self, Protocol, Space};
use std::path::PathBuf;

const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_GIT_COMMIT"),
    ", wgpu ",
    env!("BUILD_WGPU_VERSION"),
    ")"
);

const AFTER_HELP: &str = "\
Examples:
  hinas search -o runs/s1                      search on the built-in images (tiny budget)
  hinas train --genotype runs/s1/genotype.json -o runs/t1
  hinas eval -m runs/t1/model.safetensors --sigma 15,25,50
  hinas denoise -m runs/t1/model.safetensors photo.png --sigma 25
  hinas export -m runs/t1/model.safetensors --onnx model.onnx

Environment:
  HINAS_ADAPTER=<text>|<index>  use the GPU adapter whose name contains <text>, or number <index>
                                as `hinas info` lists them
  HINAS_SUBGROUP_KERNELS=1|0    force the 8-lane subgroup kernels on or off
  HINAS_TEXTURE_SAMPLING=0      Mesa's software driver: deformable convs sample x from storage
                                buffers instead of a texture (inference)
  HINAS_PROFILE=1               print GPU time per kernel to stderr at exit
  LP_NUM_THREADS=<n>            Mesa's software driver: its thread count (search and train set 0,
                                dispatches on its queue thread, for batches of <= 2048 pixels)
  HINAS_MEMORY_LIMIT_GIB=<n>    device memory runs are checked against (default: system memory on
                                CPU adapters, unchecked elsewhere)
  HINAS_PYTHON=<python>         tests: a Python with onnxruntime/torch for the cross-checks
  HINAS_BENCH_QUICK, HINAS_BENCH_JSON   benchmarks: shorter runs, JSON results file
  HINAS_KEEP_PICTURES=<dir>     tests: keep the pictures tests/pictures.rs draws
  HINAS_TEST_STOP_AFTER=<n>     tests: request a stop at the n-th step, as a SIGTERM would";

#[derive(Parser)]
#[command(
    name = "hinas",
    version = VERSION,
    about = "Hierarchical NAS for image denoising, on the GPU you have",
    after_help = AFTER_HELP,
    propagate_version = true
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
    #[command(
        after_help = "Example:\n  hinas search --space ijcv2022 --data images/ -o runs/s1\n  hinas search --resume runs/s1"
    )]
    Search {
        /// Search space preset [default: cvpr2020].
        #[arg(long, value_enum)]
        space: Option<Space>,
        /// Run each cell once per incoming level (Auto-DeepLab), to measure HiNAS' memory saving.
        #[arg(long)]
        no_cell_sharing: bool,
        /// darts: the bi-level search; random: a genotype drawn uniformly from the same space
        /// (the control every NAS result needs), from the run's seed, in well under a second
        /// [default: darts].
        #[arg(long, value_parser = ["darts", "random"])]
        strategy: Option<String>,
        /// Architecture gradient: 1 = first order (HiNAS), 2 = DARTS' unrolled second order
        /// [default: 1].
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        arch_order: Option<u8>,
        #[command(flatten)]
        run: args::Run,
        #[command(flatten)]
        output: args::Output,
    },
    /// Retrain the network of a searched genotype and keep the best model by validation.
    #[command(
        after_help = "Example:\n  hinas train --genotype runs/s1/genotype.json --sigma 25 -o runs/t1"
    )]
    Train {
        /// genotype.json written by `hinas search` (not needed with --resume).
        #[arg(long, value_name = "FILE", required_unless_present = "resume")]
        genotype: Option<PathBuf>,
        /// Training noise level, 0-255 [default: 30].
        #[arg(long, allow_negative_numbers = true)]
        sigma: Option<f32>,
        #[command(flatten)]
        run: args::Run,
        #[command(flatten)]
        output: args::Output,
    },
    /// Score a trained model on test images (PSNR, both SSIMs), beside the noisy input.
    #[command(
        after_help = "Example:\n  hinas eval -m runs/t1/model.safetensors --data testset/ --sigma 15,25,50 --json"
    )]
    Eval {
        #[command(flatten)]
        model: args::Model,
        /// Test images: a folder, or builtin:test.
        #[arg(long, default_value = "builtin:test", value_name = "FOLDER")]
        data: String,
        /// Noise levels, comma-separated, 0-255 [default: the model's training sigma].
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        sigma: Vec<f32>,
        /// How test images are presented to the model.
        #[arg(long, value_enum, default_value_t = Protocol::Standard)]
        protocol: Protocol,
        /// Folder for eval.csv and eval.json [default: eval/ beside the model, eval-2/... if
        /// taken].
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Seed of the test noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Replace eval.csv / eval.json in a non-empty --out folder.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        output: args::Output,
    },
    /// Denoise PNG/JPEG images of any size with a trained model (PNG out).
    #[command(
        after_help = "Example:\n  hinas denoise -m runs/t1/model.safetensors photo.jpg -o out/ --sigma 25"
    )]
    Denoise {
        #[command(flatten)]
        model: args::Model,
        /// Input images.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output folder [default: beside each input]; outputs are NAME_denoised.png.
        #[arg(short, long, value_name = "DIR")]
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
        /// Largest tile side [default: the largest the device allows]. Tiles overlap by the
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
        /// Refuse damaged inputs (e.g. a JPEG truncated mid-scan) instead of warning.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        output: args::Output,
    },
    /// Export a trained model as ONNX (opset 19, deformable convs as DeformConv).
    #[command(
        after_help = "Example:\n  hinas export -m runs/t1/model.safetensors --onnx model.onnx"
    )]
    Export {
        #[command(flatten)]
        model: args::Model,
        /// Output .onnx file.
        #[arg(long, value_name = "FILE")]
        onnx: PathBuf,
        /// Overwrite an existing output file.
        #[arg(long)]
        force: bool,
        /// Print nothing but the output path.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Sweeps: a grid of search -> retrain -> eval tasks, locally or as a Slurm job array.
    Sweep {
        #[command(subcommand)]
        command: hinas::sweep::SweepCommand,
    },
    /// Merge a sweep folder into results.csv, summary.md and psnr.svg.
    Report(hinas::sweep::ReportArgs),
    /// Print a shell completion script (e.g. `hinas completions bash > ~/.local/share/bash-completion/completions/hinas`).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() {
    cli::quiet_on_closed_pipe();
    hinas::gpu::keep_devices_until_exit();
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
        Command::Info => cli::info(),
        Command::Search {
            space,
            no_cell_sharing,
            strategy,
            arch_order,
            run,
            output,
        } => cli::search(
            space,
            cli::SearchChoices {
                no_cell_sharing,
                strategy,
                arch_order,
            },
            &run,
            &output,
        ),
        Command::Train {
            genotype,
            sigma,
            run,
            output,
        } => cli::train(genotype, sigma, &run, &output),
        Command::Eval {
            model,
            data,
            sigma,
            protocol,
            out,
            seed,
            force,
            output,
        } => cli::eval(cli::EvalCmd {
            model: model.model,
            data,
            sigmas: sigma,
            protocol,
            out,
            seed,
            force,
            output,
        }),
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
            strict,
            output,
        } => cli::denoise(
            hinas::eval::denoise::DenoiseArgs {
                model: model.model,
                inputs,
                out_dir: out,
                sigma,
                add_noise,
                seed,
                tile,
                raw_out,
                force,
                strict,
                quiet: output.quiet || output.json,
            },
            &output,
        ),
        Command::Export {
            model,
            onnx,
            force,
            quiet,
        } => cli::export(&model.model, &onnx, force, quiet),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "hinas", &mut std::io::stdout());
            Ok(())
        }
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
        eprintln!("error: {}", cli::error_text(&e));
        std::process::exit(1);
    }
}
