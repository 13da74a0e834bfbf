//! Differentiable ops. One file per op family: the launcher, the forward, and the backward rule
//! side by side; the WGSL of `ops/foo.rs` is `shaders/foo.wgsl`.
//!
//! Each op comes in two forms: `foo_raw` / `foo_backward_*` work on [`Tensor`]s and only launch
//! kernels; `foo` works on tape [`Var`]s and records the backward rule.
//!
//! [`Tensor`]: crate::gpu::Tensor
//! [`Var`]: crate::tape::Var

pub mod batchnorm;
pub mod concat;
pub mod conv2d;
pub mod deform_conv;
pub mod deform_conv_backward;
pub mod elementwise;
pub mod mixed;
pub mod mse;
pub mod softmax;
pub mod ssim;
