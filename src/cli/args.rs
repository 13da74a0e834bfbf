//! The argument groups the subcommands share (`#[command(flatten)]`) and the closed choices
//! (`ValueEnum`), so clap checks values and writes their help once.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Search space preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Space {
    /// HiNAS, CVPR 2020: deformable convs, tied cells, ReLU.
    Cvpr2020,
    /// HiNAS, IJCV 2022: untied cells, LeakyReLU, residual output.
    Ijcv2022,
}

/// Preset sizes of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Budget {
    /// Minutes on a CPU-only machine.
    Tiny,
    /// Search only: under an hour on a 2-core CPU (tools/fetch-data's training pool).
    Small,
    /// The published setting.
    Paper,
}

/// How test images are presented to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Noise added once per image, the whole image denoised at once.
    Standard,
    /// HiNAS' dn_eval.py: 64x64 tiles every 48 pixels, fresh noise per tile, averaged.
    HinasTiles,
}

/// Image channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Channels {
    /// Grey (one luma channel).
    #[value(name = "1")]
    Grey,
    /// Colour (RGB).
    #[value(name = "3")]
    Colour,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Grey => 1,
            Channels::Colour => 3,
        }
    }
}

/// The name clap shows and parses, which is also the library's name for the preset.
pub fn name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .expect("no skipped variants")
        .get_name()
        .to_string()
}

/// What a command prints.
#[derive(Args, Clone, Debug)]
pub struct Output {
    /// No progress or tables; only the output path(s) on stdout.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a machine-readable JSON summary (paths, metrics, times) on stdout instead of the
    /// human-readable one.
    #[arg(long)]
    pub json: bool,
}

/// Options common to the commands that run a resumable search or training.
#[derive(Args, Clone, Debug)]
pub struct Run {
    /// TOML file overriding any field of the resolved config (see config.toml of a run).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Preset sizes [default: tiny].
    #[arg(long, value_enum)]
    pub budget: Option<Budget>,
    /// Training images: a folder, or builtin:train [default: builtin:train, or the resumed run's].
    #[arg(long, value_name = "FOLDER")]
    pub data: Option<String>,
    /// Output folder [default: runs/<command>-<local date>-<time>, -2, -3... if taken].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run saved in this folder; options that differ from the saved run's are
    /// refused.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "force"])]
    pub resume: Option<PathBuf>,
    /// Seed of every random choice (initial weights, patches, noise) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image channels: 1 (grey) or 3 (colour) [default: search 1, train as the genotype].
    #[arg(long, value_enum)]
    pub channels: Option<Channels>,
    /// Same as --channels 3.
    #[arg(long, conflicts_with = "channels")]
    pub colour: bool,
    /// Write into a non-empty --out folder (a run already in it is started over).
    #[arg(long)]
    pub force: bool,
}

impl Run {
    pub fn channels(&self) -> Option<Channels> {
        if self.colour {
            Some(Channels::Colour)
        } else {
            self.channels
        }
    }
}

/// The model file that eval, denoise and export read.
#[derive(Args, Clone, Debug)]
pub struct Model {
    /// model.safetensors written by `hinas train`.
    #[arg(short, long, value_name = "FILE")]
    pub model: PathBuf,
}
