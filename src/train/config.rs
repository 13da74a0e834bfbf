//! The retraining configuration (docs/method.md §5): the derived network's size and the training
//! procedure. The resolved config is written next to the results and into every model file, and
//! any field can be set from a TOML file.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetCfg {
    /// f of the retrained net (20 in the paper).
    pub filter_multiplier: usize,
    /// Stem width (64 in the paper).
    pub stem_channels: usize,
    /// 1 (grey), 3 (colour), or 0 = as the genotype was searched.
    pub channels: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureCfg {
    /// "tiny", "paper", or "custom".
    pub budget: String,
    pub iterations: usize,
    pub batch_size: usize,
    pub patch_size: usize,
    /// The single training noise level (0-255 units).
    pub sigma: f32,
    /// "sgd" (SGD-momentum, the paper's) or "adam" (torch's Adam, default betas; no clipping).
    #[serde(default = "default_optimizer")]
    pub optimizer: String,
    pub lr: f64,
    /// Poly schedule per iteration: lr * (1 - it/iterations)^power.
    pub lr_power: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    /// Biases and BN shifts: lr x this, no weight decay.
    pub bias_lr_mult: f64,
    /// Gradients are clamped to +-clip_value (0 = off).
    pub clip_value: f64,
    /// Loss = (MSE + ssim_weight * -log10 SSIM) / 2.
    pub ssim_weight: f64,
    /// The last this fraction of the iterations normalise with the BN running statistics, frozen,
    /// so the weights adapt to the statistics inference uses (0 = never, as the paper).
    #[serde(default)]
    pub bn_frozen_fraction: f64,
    /// Validate (and keep the best model) every this many iterations, and after the last.
    pub val_every: usize,
    /// Validations before this iteration do not compete for the best model (the paper: 450k).
    pub val_start: usize,
    /// The last `val_images` training images (by name) are held out for validation.
    pub val_images: usize,
    /// Validation images are centre-cropped to this size (0 = whole images).
    pub val_crop: usize,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub net: NetCfg,
    pub train: ProcedureCfg,
}

/// Ceiling on training iterations (the paper: 600,000), far above any real run: a value beyond
/// it is a typo that would otherwise run for years.
pub const MAX_ITERATIONS: usize = 100_000_000;

impl TrainConfig {
    pub fn budget(name: &str) -> anyhow::Result<TrainConfig> {
        let paper = TrainConfig {
            net: NetCfg {
                filter_multiplier: 20,
                stem_channels: 64,
                channels: 0,
            },
            train: ProcedureCfg {
                budget: "paper".into(),
                iterations: 600_000,
                batch_size: 24,
                patch_size: 64,
                sigma: 30.0,
                optimizer: "sgd".into(),
                lr: 0.05,
                lr_power: 0.9,
                momentum: 0.9,
                weight_decay: 4e-5,
                bias_lr_mult: 2.0,
                clip_value: 5.0,
                ssim_weight: 0.6,
                bn_frozen_fraction: 0.0,
                val_every: 1000,
                val_start: 450_000,
                val_images: 6,
                val_crop: 0,
                seed: 0,
            },
        };
        match name {
            "paper" => Ok(paper),
            // Sized to finish well inside 15 minutes on a 2-core CPU with the software Vulkan
            // driver (measured: see EVAL.md / the train module docs).
            "tiny" => Ok(TrainConfig {
                net: NetCfg {
                    filter_multiplier: 8,
                    stem_channels: 16,
                    channels: 0,
                },
                train: ProcedureCfg {
                    budget: "tiny".into(),
                    iterations: 480,
                    batch_size: 6,
                    patch_size: 32,
                    // 480 SGD steps are too few: SGD at 0.05 and 0.01 diverges within 60
                    // iterations at this width and batch, and at 0.005 it stays below the noisy
                    // input at half budget. Adam at 1e-3 (as the same-budget DnCNN baseline of
                    // EVAL.md) converges in this budget; see NOTES.md.
                    optimizer: "adam".into(),
                    lr: 1e-3,
                    clip_value: 0.0,
                    // Batches of six 32x32 patches give noisy BN statistics; without this, images
                    // far from the training intensities (large dark areas) fail at inference.
                    bn_frozen_fraction: 0.25,
                    val_every: 60,
                    val_start: 240,
                    val_images: 2,
                    val_crop: 96,
                    ..paper.train
                },
            }),
            other => anyhow::bail!("unknown budget {other:?} (known: tiny, paper)"),
        }
    }

    /// The defaults of a budget, overridden by a TOML file's fields if given.
    pub fn resolve(budget: &str, file: Option<&std::path::Path>) -> anyhow::Result<TrainConfig> {
        let mut cfg = TrainConfig::budget(budget)?;
        if let Some(path) = file {
            cfg = crate::config_file::apply_overrides(cfg, path)?;
        }
        Ok(cfg)
    }

    /// How large the training step's dispatches are (see [`crate::gpu::DispatchSize`]).
    pub fn dispatch_size(&self) -> crate::gpu::DispatchSize {
        let t = &self.train;
        crate::gpu::DispatchSize::for_batch(t.batch_size, t.patch_size * t.patch_size)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let (n, t) = (&self.net, &self.train);
        use crate::config_file::{check_at_most, check_finite};
        for (name, v) in [
            ("lr", t.lr),
            ("lr_power", t.lr_power),
            ("momentum", t.momentum),
            ("weight_decay", t.weight_decay),
            ("bias_lr_mult", t.bias_lr_mult),
            ("clip_value", t.clip_value),
            ("ssim_weight", t.ssim_weight),
            ("bn_frozen_fraction", t.bn_frozen_fraction),
        ] {
            check_finite(name, v)?;
        }
        check_at_most("filter_multiplier", n.filter_multiplier, 65_536)?;
        check_at_most("stem_channels", n.stem_channels, 65_536)?;
        check_at_most("iterations", t.iterations, MAX_ITERATIONS)?;
        check_at_most("batch_size", t.batch_size, crate::config_file::MAX_BATCH)?;
        check_at_most("patch_size", t.patch_size, crate::config_file::MAX_SIDE)?;
        check_at_most("val_crop", t.val_crop, crate::config_file::MAX_SIDE)?;
        check_at_most("val_images", t.val_images, 1_000_000)?;
        anyhow::ensure!(
            n.filter_multiplier >= 1,
            "filter_multiplier must be at least 1"
        );
        anyhow::ensure!(n.stem_channels >= 1, "stem_channels must be at least 1");
        anyhow::ensure!(
            matches!(n.channels, 0 | 1 | 3),
            "channels must be 0 (as the genotype), 1 or 3"
        );
        anyhow::ensure!(t.iterations >= 1, "iterations must be at least 1");
        anyhow::ensure!(t.batch_size >= 1, "batch_size must be at least 1");
        let min = crate::config_file::MIN_PATCH;
        anyhow::ensure!(
            t.patch_size >= min,
            "patch_size must be at least {min} (the SSIM window)"
        );
        check_sigma(t.sigma)?;
        anyhow::ensure!(
            matches!(t.optimizer.as_str(), "sgd" | "adam"),
            "optimizer must be \"sgd\" or \"adam\", not {:?}",
            t.optimizer
        );
        anyhow::ensure!(
            t.optimizer == "sgd" || t.clip_value == 0.0,
            "clip_value applies to sgd only; set it to 0 with optimizer = \"adam\""
        );
        anyhow::ensure!(t.lr > 0.0 && t.lr.is_finite(), "lr must be positive");
        anyhow::ensure!(t.lr_power >= 0.0, "lr_power must be >= 0");
        anyhow::ensure!(
            (0.0..1.0).contains(&t.momentum),
            "momentum must lie in [0, 1)"
        );
        anyhow::ensure!(t.weight_decay >= 0.0, "weight_decay must be >= 0");
        anyhow::ensure!(t.bias_lr_mult > 0.0, "bias_lr_mult must be positive");
        anyhow::ensure!(t.clip_value >= 0.0, "clip_value must be >= 0");
        anyhow::ensure!(t.ssim_weight >= 0.0, "ssim_weight must be >= 0");
        anyhow::ensure!(
            (0.0..=1.0).contains(&t.bn_frozen_fraction),
            "bn_frozen_fraction must lie in [0, 1]"
        );
        anyhow::ensure!(t.val_every >= 1, "val_every must be at least 1");
        anyhow::ensure!(t.val_images >= 1, "val_images must be at least 1");
        anyhow::ensure!(
            t.val_crop == 0 || t.val_crop >= crate::config_file::MIN_PATCH,
            "val_crop must be 0 or at least {} (the SSIM window)",
            crate::config_file::MIN_PATCH
        );
        Ok(())
    }

    /// The device memory the training will need (see [`crate::gpu::MemoryEstimate`]): the
    /// activations of the derived net's edges at each layer's width and resolution for a batch,
    /// times the factor measured on the search (intermediates, gradients), plus a forward pass
    /// over the largest validation image.
    pub fn memory_estimate(
        &self,
        genotype: &crate::nn::genotype::Genotype,
        val: &[crate::data::NamedImage],
    ) -> crate::gpu::MemoryEstimate {
        let t = &self.train;
        let widths = genotype.space.widths();
        let edges = 2 * genotype.space.nodes as u128;
        let width_at = |l: usize| {
            let h = genotype.path.get(l).copied().unwrap_or(0);
            (widths.get(h).copied().unwrap_or(1) as u128, h)
        };
        let per_pixel: f64 = (0..genotype.space.layers)
            .map(|l| {
                let (w, h) = width_at(l);
                (edges * w) as f64 / 4f64.powi(h as i32)
            })
            .sum();
        let batch = t.batch_size as f64 * (t.patch_size as f64).powi(2);
        let val_area = val
            .iter()
            .map(|n| n.image.width as f64 * n.image.height as f64)
            .fold(0.0, f64::max);
        let total = (per_pixel * batch * 12.0 + per_pixel * val_area * 2.0) * 4.0;
        let stem = batch * genotype.space.stem_channels as f64 * 4.0;
        crate::gpu::MemoryEstimate {
            total: total.min(u64::MAX as f64) as u64,
            largest: stem.min(u64::MAX as f64) as u64,
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}

fn default_optimizer() -> String {
    "sgd".into()
}

/// A noise level in 0-255 units.
pub fn check_sigma(s: f32) -> anyhow::Result<()> {
    anyhow::ensure!(
        s.is_finite() && (0.0..=255.0).contains(&s),
        "sigma {s} is outside 0-255"
    );
    Ok(())
}
