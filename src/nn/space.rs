//! The search space presets (docs/method.md §1-§3): op set, widths, activation, tying, output.

use super::candidates::OpKind;
use super::layers::Act;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceCfg {
    /// Name of the preset this came from ("cvpr2020", "ijcv2022").
    pub space: String,
    /// Candidate ops by registry name (see `candidates::REGISTRY`).
    pub ops: Vec<String>,
    pub layers: usize,
    pub levels: usize,
    pub nodes: usize,
    /// Node width at level h is int(filter_multiplier * width_factors[h]).
    pub filter_multiplier: usize,
    pub width_factors: Vec<f64>,
    /// One alpha shared by every layer (CVPR 2020) or one per layer (IJCV 2022).
    pub tied_cells: bool,
    /// ReLU (0.0) or the LeakyReLU slope.
    pub leaky_slope: f32,
    /// How the head's output becomes the denoised image, the same in the supernet and in the
    /// retrained network (NOTES.md says why each preset uses its form).
    pub output: OutputForm,
    pub stem_channels: usize,
    /// 1 (grey) or 3 (colour).
    pub channels: usize,
    /// Run each cell once on the beta-weighted sum of its inputs (HiNAS), or once per input
    /// (Auto-DeepLab), for measuring the memory HiNAS saves.
    pub cell_sharing: bool,
    /// Dilation of the depthwise conv in the search-time ASPP head.
    pub aspp_dilation: usize,
}

/// The network's last step: the head predicts the noise (residual forms) or the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputForm {
    /// noisy - head: global residual learning (the official retrained net).
    Residual,
    /// sigmoid(noisy - head) (the official supernet).
    SigmoidResidual,
    /// sigmoid(head) (CVPR v1 without residual learning).
    Sigmoid,
}

impl SpaceCfg {
    pub fn preset(name: &str) -> anyhow::Result<SpaceCfg> {
        let ops = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match name {
            "cvpr2020" => Ok(SpaceCfg {
                space: name.into(),
                ops: ops(&[
                    "con_c_3x3",
                    "sep_c_3x3",
                    "sep_c_5x5",
                    "dil_c_3x3",
                    "dil_c_5x5",
                    "def_c_3x3",
                    "skip_connect",
                    "none",
                ]),
                layers: 3,
                levels: 3,
                nodes: 4,
                filter_multiplier: 10,
                width_factors: vec![1.0, 2.0, 4.0],
                tied_cells: true,
                leaky_slope: 0.0,
                output: OutputForm::Residual,
                stem_channels: 64,
                channels: 1,
                cell_sharing: true,
                aspp_dilation: 16,
            }),
            "ijcv2022" => Ok(SpaceCfg {
                space: name.into(),
                ops: ops(&[
                    "con_c_3x3",
                    "sep_c_3x3",
                    "sep_c_5x5",
                    "dil_c_3x3",
                    "dil_c_5x5",
                    "skip_connect",
                    "none",
                ]),
                layers: 3,
                levels: 3,
                nodes: 4,
                filter_multiplier: 10,
                width_factors: vec![1.0, 1.5, 2.0],
                tied_cells: false,
                leaky_slope: 0.2,
                output: OutputForm::Residual,
                stem_channels: 64,
                channels: 1,
                cell_sharing: true,
                aspp_dilation: 16,
            }),
            other => anyhow::bail!("unknown search space {other:?} (known: cvpr2020, ijcv2022)"),
        }
    }

    pub fn act(&self) -> Act {
        if self.leaky_slope == 0.0 {
            Act::Relu
        } else {
            Act::Leaky(self.leaky_slope)
        }
    }

    pub fn op_kinds(&self) -> anyhow::Result<Vec<OpKind>> {
        self.ops.iter().map(|n| OpKind::from_name(n)).collect()
    }

    pub fn widths(&self) -> Vec<usize> {
        self.width_factors
            .iter()
            .map(|w| (self.filter_multiplier as f64 * w) as usize)
            .collect()
    }

    /// Highest level a layer can reach (level l+1 at layer l, capped by the number of levels).
    pub fn top_level(&self, layer: usize) -> usize {
        (layer + 1).min(self.levels - 1)
    }

    /// Checks values a user may have written in a config file.
    pub fn validate(&self) -> anyhow::Result<()> {
        let kinds = self.op_kinds()?;
        anyhow::ensure!(
            kinds.iter().any(|k| *k != OpKind::Zero),
            "the op set needs at least one op besides 'none'"
        );
        use crate::config_file::check_at_most;
        check_at_most("layers", self.layers, 64)?;
        check_at_most("levels", self.levels, 16)?;
        check_at_most("nodes", self.nodes, 32)?;
        check_at_most("filter_multiplier", self.filter_multiplier, 65_536)?;
        check_at_most("stem_channels", self.stem_channels, 65_536)?;
        check_at_most("aspp_dilation", self.aspp_dilation, 65_536)?;
        anyhow::ensure!(
            self.width_factors
                .iter()
                .all(|w| w.is_finite() && *w > 0.0 && *w <= 1024.0),
            "every width factor must be a finite number in (0, 1024]"
        );
        anyhow::ensure!(
            self.leaky_slope.is_finite() && (0.0..=1.0).contains(&self.leaky_slope),
            "leaky_slope must lie in [0, 1]"
        );
        anyhow::ensure!(self.layers >= 1, "layers must be at least 1");
        anyhow::ensure!(self.levels >= 1, "levels must be at least 1");
        anyhow::ensure!(self.nodes >= 1, "nodes must be at least 1");
        anyhow::ensure!(
            self.width_factors.len() == self.levels,
            "width_factors has {} entries but levels is {}",
            self.width_factors.len(),
            self.levels
        );
        anyhow::ensure!(
            self.widths().iter().all(|&w| w >= 1),
            "every level width must be at least 1 channel"
        );
        anyhow::ensure!(
            self.channels == 1 || self.channels == 3,
            "channels must be 1 or 3"
        );
        anyhow::ensure!(self.leaky_slope >= 0.0, "leaky_slope must be >= 0");
        anyhow::ensure!(
            self.stem_channels >= 1 && self.aspp_dilation >= 1,
            "stem_channels and aspp_dilation must be >= 1"
        );
        Ok(())
    }
}
