use clap::{Parser, Subcommand};

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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info => info(),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
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
