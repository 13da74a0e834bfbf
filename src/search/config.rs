//! The search configuration: the space, the budget and the procedure (docs/method.md §4). The fully
//! resolved config is written next to the results, and any field can be set from a TOML file.

use crate::nn::space::SpaceCfg;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureCfg {
    /// "tiny", "paper", or "custom".
    pub budget: String,
    pub epochs: usize,
    /// Epochs of weights-only warm-up before architecture steps begin.
    pub arch_start_epoch: usize,
    pub batch_size: usize,
    pub patch_size: usize,
    /// Weight steps per epoch; 0 = one crop per weight-set image per epoch (the paper).
    pub iters_per_epoch: usize,
    /// Noise levels (0-255) drawn per patch.
    pub sigmas: Vec<f32>,
    /// Fraction of training images held out for validation (at least one image).
    pub val_portion: f64,
    /// Validation images are centre-cropped to this size (0 = whole images, the paper).
    pub val_crop: usize,
    /// Fraction of the rest used for architecture steps.
    pub arch_portion: f64,
    pub weight_lr: f64,
    pub weight_lr_min: f64,
    pub weight_momentum: f64,
    pub weight_decay: f64,
    /// Period parameter of the poly-cosine schedule (half a cosine period, in epochs).
    pub lr_t_max: usize,
    pub lr_power: f64,
    pub arch_lr: f64,
    pub arch_weight_decay: f64,
    /// Loss = (MSE + ssim_weight * -log10 SSIM) / 2.
    pub ssim_weight: f64,
    /// Validation-based genotype selection runs over the last `select_fraction` of epochs.
    pub select_fraction: f64,
    /// Stop when the derived genotype has not changed for this many epochs (0 = never).
    pub genotype_patience: usize,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub space: SpaceCfg,
    pub search: ProcedureCfg,
}

impl ProcedureCfg {
    pub fn budget(name: &str) -> anyhow::Result<ProcedureCfg> {
        let paper = ProcedureCfg {
            budget: "paper".into(),
            epochs: 100,
            arch_start_epoch: 20,
            batch_size: 6,
            patch_size: 64,
            iters_per_epoch: 0,
            sigmas: vec![30.0, 50.0, 70.0],
            val_portion: 0.02,
            val_crop: 0,
            arch_portion: 0.5,
            weight_lr: 0.025,
            weight_lr_min: 0.001,
            weight_momentum: 0.9,
            weight_decay: 3e-4,
            lr_t_max: 10,
            lr_power: 0.9,
            arch_lr: 1e-3,
            arch_weight_decay: 1e-3,
            ssim_weight: 0.5,
            select_fraction: 0.4,
            genotype_patience: 0,
            seed: 0,
        };
        match name {
            "paper" => Ok(paper),
            // Sized to finish in minutes on a 2-core CPU with the software Vulkan driver.
            "tiny" => Ok(ProcedureCfg {
                budget: "tiny".into(),
                epochs: 8,
                arch_start_epoch: 2,
                batch_size: 2,
                patch_size: 24,
                iters_per_epoch: 4,
                val_crop: 48,
                lr_t_max: 2,
                genotype_patience: 3,
                ..paper
            }),
            other => anyhow::bail!("unknown budget {other:?} (known: tiny, paper)"),
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.epochs >= 1, "epochs must be at least 1");
        anyhow::ensure!(
            self.arch_start_epoch < self.epochs,
            "arch_start_epoch ({}) must be below epochs ({})",
            self.arch_start_epoch,
            self.epochs
        );
        anyhow::ensure!(self.batch_size >= 1, "batch_size must be at least 1");
        anyhow::ensure!(self.patch_size >= 8, "patch_size must be at least 8");
        anyhow::ensure!(!self.sigmas.is_empty(), "sigmas must not be empty");
        anyhow::ensure!(
            self.sigmas.iter().all(|s| (0.0..=255.0).contains(s)),
            "every sigma must lie in 0..=255"
        );
        anyhow::ensure!(
            self.val_crop == 0 || self.val_crop >= self.patch_size,
            "val_crop must be 0 or at least patch_size"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.val_portion),
            "val_portion must lie in [0, 1)"
        );
        anyhow::ensure!(
            self.arch_portion > 0.0 && self.arch_portion < 1.0,
            "arch_portion must lie in (0, 1)"
        );
        anyhow::ensure!(
            self.weight_lr > 0.0 && self.arch_lr > 0.0,
            "learning rates must be positive"
        );
        anyhow::ensure!(
            self.weight_lr_min >= 0.0 && self.weight_lr_min <= self.weight_lr,
            "weight_lr_min must lie in [0, weight_lr]"
        );
        anyhow::ensure!(self.lr_t_max >= 1, "lr_t_max must be at least 1");
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.select_fraction),
            "select_fraction must lie in [0, 1]"
        );
        anyhow::ensure!(
            self.weight_decay >= 0.0 && self.arch_weight_decay >= 0.0,
            "weight decays must be >= 0"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.weight_momentum),
            "weight_momentum must lie in [0, 1)"
        );
        Ok(())
    }

    /// First epoch (1-based) whose validation score takes part in the genotype selection.
    pub fn first_select_epoch(&self) -> usize {
        let n = (self.epochs as f64 * self.select_fraction).round() as usize;
        (self.epochs + 1 - n.max(1)).max(1)
    }
}

impl SearchConfig {
    /// The defaults of a space and a budget, overridden by a TOML file's fields if given.
    pub fn resolve(
        space: &str,
        budget: &str,
        file: Option<&std::path::Path>,
    ) -> anyhow::Result<SearchConfig> {
        let mut cfg = SearchConfig {
            space: SpaceCfg::preset(space)?,
            search: ProcedureCfg::budget(budget)?,
        };
        if budget == "tiny" {
            cfg.space.filter_multiplier = 2;
            cfg.space.stem_channels = 16;
            cfg.space.aspp_dilation = 4;
        }
        if let Some(path) = file {
            cfg = crate::config_file::apply_overrides(cfg, path)?;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.space.validate()?;
        self.search.validate()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}
