//! The search checkpoint: every parameter and running statistic, both optimisers' states, the
//! samplers' positions, the epoch history and the best genotype so far, in one safetensors file
//! written atomically after every epoch, and after the step in flight when a stop is requested
//! (with the interrupted epoch's progress). Restoring it and continuing gives bit-identical results
//! to a run that was never interrupted (all kernels are deterministic).

use super::config::SearchConfig;
use crate::checkpoint::{self, json_field, json_field_or_default, meta_field, HostTensor};
use crate::data::SamplerState;
use crate::gpu::{Gpu, Tensor};
use crate::nn::genotype::Genotype;
use std::path::Path;

const FORMAT: &str = "hinas-search-checkpoint-1";

/// Per-epoch record, one row of log.csv.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub weight_loss: f64,
    pub arch_loss: Option<f64>,
    pub lr: f64,
    pub val_psnr: Option<f64>,
    pub val_ssim: Option<f64>,
    pub seconds: f64,
    pub peak_mib: f64,
    /// softmax(alpha) then masked softmax(beta), flattened.
    pub arch: Vec<f32>,
    pub genotype_changed: bool,
    /// The noisy input's scores on the same validation tiles and noise (the floor to beat).
    #[serde(default)]
    pub val_psnr_noisy: Option<f64>,
    #[serde(default)]
    pub val_ssim_noisy: Option<f64>,
    /// Mean entropy (nats) of the alpha rows (edges) and of the beta rows (routers).
    #[serde(default)]
    pub alpha_entropy: f64,
    #[serde(default)]
    pub beta_entropy: f64,
    /// The genotype's smallest decision margin (an op's softmax weight over its runner-up).
    #[serde(default)]
    pub min_margin: f64,
    /// Edges of the derived cells whose op is skip_connect (none is never chosen).
    #[serde(default)]
    pub skip_none_edges: usize,
}

/// The part of an epoch done when a stop request interrupted it (saved in the checkpoint, so the
/// resumed search continues at the next step and ends identical to an uninterrupted one).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PartialEpoch {
    pub iteration: usize,
    pub weight_loss_sum: f64,
    pub arch_loss_sum: f64,
    pub steps: usize,
    pub seconds: f64,
}

/// How far a search has come: the checkpoint's metadata besides the config and samplers.
#[derive(Clone, Debug, Default)]
pub struct SearchProgress {
    /// Epochs completed.
    pub epoch: usize,
    /// Epochs in a row whose genotype did not change.
    pub unchanged: usize,
    pub history: Vec<EpochLog>,
    /// (score, genotype) of the best validation epoch so far.
    pub best: Option<(f64, Genotype)>,
    /// The interrupted epoch's progress, if a stop request cut it short.
    pub partial: Option<PartialEpoch>,
}

/// The search's tensors and sampler positions as the checkpoint holds them.
pub struct Snapshot {
    pub params: Vec<HostTensor>,
    pub sgd: Vec<(String, Tensor)>,
    pub adam: Vec<(String, Tensor)>,
    pub weight_adam: Vec<(String, Tensor)>,
    pub weight_sampler: SamplerState,
    pub arch_sampler: SamplerState,
}

pub fn save(
    dir: &Path,
    cfg: &SearchConfig,
    snap: Snapshot,
    progress: &SearchProgress,
) -> anyhow::Result<()> {
    let mut tensors = checkpoint::prefixed("param/", snap.params);
    tensors.extend(checkpoint::host("sgd/", snap.sgd));
    tensors.extend(checkpoint::host("adam/", snap.adam));
    tensors.extend(checkpoint::host("wadam/", snap.weight_adam));
    let mut meta = checkpoint::metadata(FORMAT, cfg.to_toml());
    meta.insert("epoch".into(), progress.epoch.to_string());
    meta.insert("unchanged".into(), progress.unchanged.to_string());
    meta.insert("history".into(), serde_json::to_string(&progress.history)?);
    meta.insert("best".into(), serde_json::to_string(&progress.best)?);
    meta.insert(
        "weight_sampler".into(),
        serde_json::to_string(&snap.weight_sampler)?,
    );
    meta.insert(
        "arch_sampler".into(),
        serde_json::to_string(&snap.arch_sampler)?,
    );
    meta.insert("partial".into(), serde_json::to_string(&progress.partial)?);
    checkpoint::save(&checkpoint::path(dir), &tensors, meta)
}

/// The config a saved search ran with (a resumed search keeps it).
pub fn saved_config(dir: &Path) -> anyhow::Result<SearchConfig> {
    let (_, m) = checkpoint::read(dir, FORMAT, "search")?;
    let cfg: SearchConfig = checkpoint::config_field(&m)?;
    cfg.validate()?;
    Ok(cfg)
}

pub fn load(dir: &Path, gpu: &Gpu) -> anyhow::Result<(Snapshot, SearchProgress)> {
    let (mut tensors, m) = checkpoint::read(dir, FORMAT, "search")?;
    let snap = Snapshot {
        params: checkpoint::take(&mut tensors, "param/"),
        sgd: checkpoint::take_gpu(gpu, &mut tensors, "sgd/"),
        adam: checkpoint::take_gpu(gpu, &mut tensors, "adam/"),
        weight_adam: checkpoint::take_gpu(gpu, &mut tensors, "wadam/"),
        weight_sampler: json_field(&m, "weight_sampler")?,
        arch_sampler: json_field(&m, "arch_sampler")?,
    };
    let progress = SearchProgress {
        epoch: meta_field(&m, "epoch")?.parse()?,
        unchanged: meta_field(&m, "unchanged")?.parse()?,
        history: json_field(&m, "history")?,
        best: json_field(&m, "best")?,
        partial: json_field_or_default(&m, "partial")?,
    };
    Ok((snap, progress))
}
