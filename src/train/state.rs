//! The training checkpoint: parameters and BN statistics, the optimiser state, the sampler position,
//! the interval history and the best score, in one safetensors file written atomically after
//! every validation, and after the step in flight when a stop is requested. Restoring it and continuing gives the same result as an uninterrupted run.

use super::config::TrainConfig;
use crate::checkpoint::{self, json_field, json_field_or_default, meta_field, HostTensor};
use crate::data::SamplerState;
use crate::gpu::{Gpu, Tensor};
use crate::nn::genotype::Genotype;
use std::path::Path;

const FORMAT: &str = "hinas-train-checkpoint-1";

/// One validation interval, one row of log.csv.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct IntervalLog {
    /// Iterations completed.
    pub iteration: usize,
    pub train_loss: f64,
    pub lr: f64,
    pub val_psnr: f64,
    pub val_ssim: f64,
    /// SSIM + PSNR/100, the paper's selection score.
    pub score: f64,
    /// This validation produced the best model so far.
    pub best: bool,
    pub seconds: f64,
}

/// The part of a validation interval done when a stop request interrupted it (checkpointed, so
/// the resumed run continues at the next step and ends identical to an uninterrupted one).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PartialInterval {
    pub loss_sum: f64,
    pub steps: usize,
    /// The lr at the interval's first step (what its log row reports).
    pub lr: f64,
    pub seconds: f64,
}

/// How far a training run has come: the checkpoint's metadata besides the setup and sampler.
#[derive(Clone, Debug, Default)]
pub struct TrainProgress {
    /// Iterations completed.
    pub iteration: usize,
    pub history: Vec<IntervalLog>,
    /// (score, iteration) of the best model so far.
    pub best: Option<(f64, usize)>,
    /// The interrupted interval's progress, if a stop request cut it short.
    pub partial: Option<PartialInterval>,
}

/// The run's tensors and sampler position as the checkpoint holds them.
pub struct Snapshot {
    pub params: Vec<HostTensor>,
    pub optimizer: Vec<(String, Tensor)>,
    pub sampler: SamplerState,
}

pub fn save(
    dir: &Path,
    cfg: &TrainConfig,
    genotype: &Genotype,
    snap: Snapshot,
    progress: &TrainProgress,
) -> anyhow::Result<()> {
    let mut tensors = checkpoint::prefixed("param/", snap.params);
    tensors.extend(checkpoint::host("optim/", snap.optimizer));
    let mut meta = checkpoint::metadata(FORMAT, cfg.to_toml());
    meta.insert("genotype".into(), serde_json::to_string(genotype)?);
    meta.insert("iteration".into(), progress.iteration.to_string());
    meta.insert("history".into(), serde_json::to_string(&progress.history)?);
    meta.insert("best".into(), serde_json::to_string(&progress.best)?);
    meta.insert("sampler".into(), serde_json::to_string(&snap.sampler)?);
    meta.insert("partial".into(), serde_json::to_string(&progress.partial)?);
    checkpoint::save(&checkpoint::path(dir), &tensors, meta)
}

/// The config and (retrained) genotype a saved run used; a resumed run keeps both.
pub fn saved_setup(dir: &Path) -> anyhow::Result<(TrainConfig, Genotype)> {
    let (_, m) = checkpoint::read(dir, FORMAT, "training")?;
    let cfg: TrainConfig = checkpoint::config_field(&m)?;
    cfg.validate()?;
    Ok((cfg, json_field(&m, "genotype")?))
}

pub fn load(dir: &Path, gpu: &Gpu) -> anyhow::Result<(Snapshot, TrainProgress)> {
    let (mut tensors, m) = checkpoint::read(dir, FORMAT, "training")?;
    let snap = Snapshot {
        params: checkpoint::take(&mut tensors, "param/"),
        optimizer: checkpoint::take_gpu(gpu, &mut tensors, "optim/"),
        sampler: json_field(&m, "sampler")?,
    };
    let progress = TrainProgress {
        iteration: meta_field(&m, "iteration")?.parse()?,
        history: json_field(&m, "history")?,
        best: json_field(&m, "best")?,
        partial: json_field_or_default(&m, "partial")?,
    };
    Ok((snap, progress))
}
