//! Deformable convolution (DCNv1, and modulated DCNv2 with a mask), with exactly the semantics
//! of `torchvision.ops.deform_conv2d`: offset channel 2*(g*kh*kw + i*kw + j) is the y shift of
//! tap (i, j) in offset group g and the next channel its x shift; samples are bilinear with zeros
//! outside the image. Forward = deform-im2col (shaders/deform_conv.wgsl) + a strided matmul
//! (shaders/deform_conv_mm.wgsl). The design and its trade-offs are in docs/deform_conv.md.
//!
//! The column matrix is Cin*kh*kw times larger than the output positions, so the work runs in
//! chunks of whole images (or, for very large images, of positions of one image) small enough
//! for one storage binding (128 MiB on lavapipe).
//!
//! - plan.rs: shapes ([`DeformCfg`], `Geom`) and the chunking;
//! - launch.rs: the kernel launchers (sample-point passes, strided matmul);
//! - forward.rs: the forward pass and the tape op;
//! - direct.rs: the one-pass forward for subgroup devices (no column matrix);
//! - backward.rs: the gradients.
//!
//! The DCNv2 layer of the search space (src/nn/layers.rs, `DeformConv`) composes this op with
//! others, as DCNv2's `DCN` module does: a zero-initialised conv predicts [N, 3*og*kh*kw, H, W]
//! (offsets 0 and mask sigmoid(0) = 0.5 at the start, so the layer starts as a plain conv
//! scaled by 1/2): its 2*og*kh*kw offset channels, then og*kh*kw mask logits that go through a
//! sigmoid. [`deform_conv2d_packed`] (training) and [`deform_conv2d_packed_raw`] (inference)
//! take that output as it is: the kernels read both parts in place, apply the sigmoid on load
//! and write the gradient of the whole predictor output, with the values and gradients of
//! splitting it and applying [`deform_conv2d`] (tests/deform_conv.rs checks both to the bit).

mod backward;
mod direct;
mod forward;
mod launch;
mod plan;
mod texture;

pub(crate) use backward::K_DX;
pub use backward::{
    deform_conv2d_backward, with_fill_samples, with_three_pass_scan, DeformGrads, DeformNeeds,
};
pub(crate) use direct::K_DIRECT;
pub use direct::{deform_conv2d_packed_bands_raw, deform_conv2d_packed_raw, with_direct_forward};
pub use forward::{deform_conv2d, deform_conv2d_packed, deform_conv2d_raw};
pub(crate) use launch::{K_MM, K_MM_SG, K_SAMPLE};
pub use plan::{with_chunk_budget, DeformCfg};
pub use texture::with_texture_sampling;
pub(crate) use texture::K_TEX;
