//! The denoising loss, shared by the search and retraining.

use crate::ops::{elementwise as ew, mse, ssim};
use crate::tape::{Tape, Var};

/// (MSE + w * -log10 SSIM) / 2, the HiNAS loss (docs/method.md §4; retraining uses w = 0.6).
pub fn denoise_loss(t: &mut Tape, out: &Var, clean: &Var, ssim_weight: f32) -> Var {
    let m = mse::mse(t, out, clean);
    let s = ssim::neg_log10_ssim(t, out, clean);
    let s = ew::scale(t, &s, ssim_weight);
    let sum = ew::add(t, &m, &s);
    ew::scale(t, &sum, 0.5)
}
