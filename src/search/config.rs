//! The search configuration: the space, the budget and the procedure (docs/method.md §4). The fully
//! resolved config is written next to the results, and any field can be set from a TOML file.

use crate::config_file::{MAX_BATCH, MAX_SIDE, MIN_PATCH};
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
    /// "sgd" (SGD-momentum, the paper's) or "adam" (torch's Adam, default betas).
    #[serde(default = "default_weight_optimizer")]
    pub weight_optimizer: String,
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
    /// How the genotype is taken from that window: "best_epoch" (the best validation score's
    /// epoch, as the official code) or "window_mean" (the architecture weights averaged over the
    /// window; NOTES.md, "Search budgets").
    #[serde(default = "default_genotype_rule")]
    pub genotype_rule: String,
    /// Stop when the derived genotype has not changed for this many epochs (0 = never).
    pub genotype_patience: usize,
    pub seed: u64,
    /// "darts" (the bi-level search) or "random" (a genotype drawn uniformly from the space,
    /// the control every NAS result needs).
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Order of the architecture gradient: 1 (first order, as HiNAS) or 2 (DARTS' unrolled
    /// approximation, Liu et al. 2019 eqs. 6-8).
    #[serde(default = "default_arch_order")]
    pub arch_order: usize,
    /// Inner learning rate xi of the order-2 virtual step (0 = the epoch's weight lr, as DARTS).
    #[serde(default)]
    pub unrolled_lr: f64,
    /// The number of architecture steps `arch_lr` was tuned for (the paper's 80 epochs x 25
    /// iterations): a budget planning fewer steps scales the lr by `arch_lr_ref_steps / steps`,
    /// so the logits can move as far in total (0 = never scale).
    #[serde(default)]
    pub arch_lr_ref_steps: usize,
}

fn default_weight_optimizer() -> String {
    "sgd".into()
}

fn default_genotype_rule() -> String {
    "best_epoch".into()
}

fn default_strategy() -> String {
    "darts".into()
}

fn default_arch_order() -> usize {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub space: SpaceCfg,
    pub search: ProcedureCfg,
}

/// Ceilings on durations, far above any real run (the paper: 100 epochs): a value beyond them is
/// a typo that would otherwise run for years. The size ceilings are in [`crate::config_file`].
pub const MAX_EPOCHS: usize = 100_000;
pub const MAX_ITERS_PER_EPOCH: usize = 10_000_000;

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
            weight_optimizer: default_weight_optimizer(),
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
            genotype_rule: default_genotype_rule(),
            genotype_patience: 0,
            seed: 0,
            strategy: default_strategy(),
            arch_order: 1,
            unrolled_lr: 0.0,
            arch_lr_ref_steps: 2000,
        };
        // The scaled-down budgets (NOTES.md, "Search budgets"): Adam on the weights (it learns
        // in tens of steps what SGD needs hundreds for), one half-cosine over the run, every
        // planned architecture step taken (no early stop: the arch lr is scaled for them all),
        // several validation images so the score is not one crop's luck, and the genotype of
        // the window's mean architecture weights.
        let scaled = ProcedureCfg {
            weight_optimizer: "adam".into(),
            weight_lr: 3e-3,
            weight_lr_min: 1e-4,
            genotype_patience: 0,
            genotype_rule: "window_mean".into(),
            ..paper.clone()
        };
        match name {
            "paper" => Ok(paper),
            // 3 minutes on a 2-core CPU with the software Vulkan driver (built-in data). Seven
            // weight-only epochs at Adam 1e-2, so that the supernet denoises (+3 dB over its
            // noisy input) before the architecture steps it is meant to inform (NOTES.md).
            "tiny" => Ok(ProcedureCfg {
                budget: "tiny".into(),
                epochs: 15,
                arch_start_epoch: 7,
                batch_size: 2,
                patch_size: 24,
                iters_per_epoch: 5,
                val_portion: 0.125,
                val_crop: 48,
                lr_t_max: 15,
                weight_lr: 1e-2,
                ..scaled
            }),
            // Under an hour there, on tools/fetch-data's 30-scene training pool.
            "small" => Ok(ProcedureCfg {
                budget: "small".into(),
                epochs: 24,
                arch_start_epoch: 6,
                batch_size: 4,
                patch_size: 32,
                iters_per_epoch: 12,
                val_portion: 0.1,
                val_crop: 96,
                lr_t_max: 24,
                select_fraction: 0.5,
                ..scaled
            }),
            other => anyhow::bail!("unknown budget {other:?} (known: tiny, small, paper)"),
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("val_portion", self.val_portion),
            ("arch_portion", self.arch_portion),
            ("weight_lr", self.weight_lr),
            ("weight_lr_min", self.weight_lr_min),
            ("weight_momentum", self.weight_momentum),
            ("weight_decay", self.weight_decay),
            ("lr_power", self.lr_power),
            ("arch_lr", self.arch_lr),
            ("arch_weight_decay", self.arch_weight_decay),
            ("ssim_weight", self.ssim_weight),
            ("select_fraction", self.select_fraction),
        ] {
            crate::config_file::check_finite(name, v)?;
        }
        crate::config_file::check_at_most("epochs", self.epochs, MAX_EPOCHS)?;
        crate::config_file::check_at_most(
            "iters_per_epoch",
            self.iters_per_epoch,
            MAX_ITERS_PER_EPOCH,
        )?;
        crate::config_file::check_at_most("lr_t_max", self.lr_t_max, MAX_EPOCHS)?;
        crate::config_file::check_at_most("batch_size", self.batch_size, MAX_BATCH)?;
        crate::config_file::check_at_most("patch_size", self.patch_size, MAX_SIDE)?;
        crate::config_file::check_at_most("val_crop", self.val_crop, MAX_SIDE)?;
        anyhow::ensure!(self.epochs >= 1, "epochs must be at least 1");
        anyhow::ensure!(
            self.arch_start_epoch < self.epochs,
            "arch_start_epoch ({}) must be below epochs ({})",
            self.arch_start_epoch,
            self.epochs
        );
        anyhow::ensure!(self.batch_size >= 1, "batch_size must be at least 1");
        anyhow::ensure!(
            self.patch_size >= MIN_PATCH,
            "patch_size must be at least {MIN_PATCH} (the SSIM window)"
        );
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
        anyhow::ensure!(self.lr_power >= 0.0, "lr_power must be >= 0");
        anyhow::ensure!(self.ssim_weight >= 0.0, "ssim_weight must be >= 0");
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
        anyhow::ensure!(
            self.strategy == "darts" || self.strategy == "random",
            "strategy must be \"darts\" or \"random\", not {:?}",
            self.strategy
        );
        anyhow::ensure!(
            self.genotype_rule == "best_epoch" || self.genotype_rule == "window_mean",
            "genotype_rule must be \"best_epoch\" or \"window_mean\", not {:?}",
            self.genotype_rule
        );
        anyhow::ensure!(
            self.weight_optimizer == "sgd" || self.weight_optimizer == "adam",
            "weight_optimizer must be \"sgd\" or \"adam\", not {:?}",
            self.weight_optimizer
        );
        anyhow::ensure!(
            self.arch_order == 1 || self.arch_order == 2,
            "arch_order must be 1 or 2, not {}",
            self.arch_order
        );
        anyhow::ensure!(
            self.unrolled_lr.is_finite() && self.unrolled_lr >= 0.0,
            "unrolled_lr must be finite and >= 0"
        );
        Ok(())
    }

    /// Architecture steps the schedule plans (weight-only warm-up excluded), given the number of
    /// iterations per epoch.
    pub fn planned_arch_steps(&self, iters_per_epoch: usize) -> usize {
        (self.epochs - self.arch_start_epoch) * iters_per_epoch
    }

    /// The architecture learning rate after the `arch_lr_ref_steps` scaling rule.
    pub fn effective_arch_lr(&self, iters_per_epoch: usize) -> f64 {
        let planned = self.planned_arch_steps(iters_per_epoch).max(1);
        if self.arch_lr_ref_steps == 0 || planned >= self.arch_lr_ref_steps {
            self.arch_lr
        } else {
            self.arch_lr * self.arch_lr_ref_steps as f64 / planned as f64
        }
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
        match budget {
            "tiny" => {
                cfg.space.filter_multiplier = 2;
                cfg.space.stem_channels = 16;
                cfg.space.aspp_dilation = 4;
            }
            "small" => {
                cfg.space.filter_multiplier = 4;
                cfg.space.stem_channels = 16;
                cfg.space.aspp_dilation = 8;
            }
            _ => {}
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

    /// How large the supernet step's dispatches are (see [`crate::gpu::DispatchSize`]).
    pub fn dispatch_size(&self) -> crate::gpu::DispatchSize {
        let p = &self.search;
        crate::gpu::DispatchSize::for_batch(p.batch_size, p.patch_size * p.patch_size)
    }

    /// The device memory the search will need (see [`crate::gpu::MemoryEstimate`]): the
    /// activations every candidate op keeps for the backward pass, at each level's width and
    /// resolution, times a factor measured on the tiny and paper searches (intermediates,
    /// gradients; the paper search peaks at 6.2 GiB, 1.7x that without cell sharing).
    pub fn memory_estimate(&self) -> crate::gpu::MemoryEstimate {
        let (sp, p) = (&self.space, &self.search);
        let widths = sp.widths();
        let edges: u128 = (0..sp.nodes as u128).map(|i| 2 + i).sum();
        let ops = sp.ops.len() as u128;
        let batch = p.batch_size as u128;
        let mut act: u128 = 0;
        for l in 0..sp.layers {
            for (h, &w) in widths.iter().enumerate().take(sp.top_level(l) + 1) {
                let side = (p.patch_size >> h).max(1) as u128;
                act += edges * ops * batch * w as u128 * side * side;
            }
        }
        let sharing = if sp.cell_sharing { 10 } else { 17 };
        let val_side = if p.val_crop == 0 { 512 } else { p.val_crop } as u128;
        let val = edges * 4 * widths.first().copied().unwrap_or(1) as u128 * val_side * val_side;
        let total = (act * 12 * sharing / 10 + val) * 4;
        let stem = batch * sp.stem_channels as u128 * (p.patch_size as u128).pow(2) * 4;
        crate::gpu::MemoryEstimate {
            total: total.min(u64::MAX as u128) as u64,
            largest: stem.min(u64::MAX as u128) as u64,
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}
