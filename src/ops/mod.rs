//! Differentiable ops. One file per op family: the launcher, the forward, and the backward rule
//! side by side; the WGSL of `ops/foo.rs` is `shaders/foo.wgsl`.
//!
//! Each op comes in two forms: `foo_raw` / `foo_backward_*` work on [`Tensor`]s and only launch
//! kernels; `foo` works on tape [`Var`]s and records the backward rule.
//!
//! [`Tensor`]: crate::gpu::Tensor
//! [`Var`]: crate::tape::Var

pub mod absmax; // not differentiable: bounds the deformable offsets at inference
pub mod batchnorm;
pub mod concat;
pub mod conv2d;
pub mod deform_conv;
pub mod elementwise;
mod family;
pub mod mixed;
pub mod mse;
pub mod softmax;
pub mod ssim;

pub(crate) use family::subgroup_kernels;
pub use family::with_plain_kernels;

use crate::gpu::Kernel;

/// Every kernel of the ops (tests/shaders.rs validates each one, the ones without subgroup
/// operations with the subgroup capabilities taken away).
pub fn kernels() -> Vec<&'static Kernel> {
    vec![
        &absmax::K,
        &batchnorm::K,
        &concat::K,
        &conv2d::gather::K,
        &conv2d::gather::K_SG,
        &conv2d::gemm::K,
        &conv2d::gemm::K_SG,
        &conv2d::wgrad::K,
        &conv2d::wgrad::K_SG,
        &deform_conv::K_SAMPLE,
        &deform_conv::K_DIRECT,
        &deform_conv::K_TEX,
        &deform_conv::K_MM,
        &deform_conv::K_MM_SG,
        &deform_conv::K_DX,
        &crate::gpu::elementwise::K,
        &mixed::K,
        &mse::K,
        &softmax::K,
        &ssim::K,
    ]
}
