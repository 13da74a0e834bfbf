//! Pixel blocks: an inference layout for the value between a depthwise conv and the 1x1 conv
//! that reads it (the decoder's separable convs), `[n][ceil(h w / 32)][c][32]`: each block of 32
//! consecutive pixels (in row-major order over the whole image) holds its `c` channels together.
//!
//! Why: a 1x1 conv on `gather64` reads, per reduction step, 32 pixels of one channel plane, so a
//! workgroup walks 128-176 planes about 1 MiB apart at once on a denoise tile. On lavapipe such a
//! conv ran at about half the speed it reached once each image's planes fitted in L2
//! (docs/perf-log.md, "Wide gathers"); read as pixel blocks, a workgroup's source is one run of
//! 16-22 KiB. The producing depthwise conv stores each vec4 into its block instead of its plane,
//! and the consumer runs as a 1x1 conv over one row of `h w` pixels. Each output sums the same
//! products in the same order, so the values equal the NCHW path's to the bit.
//!
//! Only the two launches that know the layout touch it: [`conv2d_to_pixel_blocks`] (a sliding
//! gather's forward, [`writes_pixel_blocks`]) and [`conv2d_from_pixel_blocks`] (a 1x1 conv on a
//! wide gather, [`reads_pixel_blocks`]). The inference plan (src/eval/infer.rs) pairs them.

use super::gather::{sliding_entry, Variant};
use super::{forward, Conv2dCfg, Layouts};
use crate::gpu::{Gpu, Tensor};

/// Pixels per block (the wide gathers' pixels per workgroup).
pub const PIXEL_BLOCK: usize = 32;

/// The shape a pixel-block value of `n` images, `c` channels and `pixels` pixels each is
/// allocated with: `[n, ceil(pixels / 32), c, 32]` (the last block padded).
pub(super) fn shape(n: usize, c: usize, pixels: usize) -> [usize; 4] {
    [n, pixels.div_ceil(PIXEL_BLOCK), c, PIXEL_BLOCK]
}

/// Elements of that allocation (what must fit one storage binding).
pub fn pixel_blocks_len(n: usize, c: usize, pixels: usize) -> usize {
    shape(n, c, pixels).iter().product()
}

/// Whether a forward conv with weight `wshape` and `cfg` can store its output as pixel blocks
/// on `gpu`: one output channel per group (depthwise) with stride 1 and a 3- or 5-tap row at
/// dilation 1 or 2, the launches of the sliding gathers (subgroup devices only).
pub fn writes_pixel_blocks(gpu: &Gpu, wshape: &[usize], cfg: Conv2dCfg) -> bool {
    let og = wshape[0] / cfg.groups;
    og == 1
        && cfg.stride == 1
        && sliding_entry(
            gpu,
            Variant::One,
            1,
            1,
            wshape[3] as u32,
            cfg.dilation as u32,
        )
        .is_some()
}

/// Whether a forward conv with weight `wshape` and `cfg` over `pixels` destination pixels (all
/// images of the launch) can read pixel blocks: a 1x1, stride-1 conv that runs on `gather56` /
/// `gather64`.
pub fn reads_pixel_blocks(gpu: &Gpu, wshape: &[usize], cfg: Conv2dCfg, pixels: usize) -> bool {
    wshape[2] == 1
        && wshape[3] == 1
        && cfg.stride == 1
        && cfg.padding == 0
        && Variant::for_launch(gpu, wshape[0] / cfg.groups, wshape[1] * cfg.groups, pixels)
            .eight_lane_blocks()
}

/// Forward conv of NCHW `x` (LeakyReLU `act` fused, as `conv2d_raw_act`) whose output is pixel
/// blocks, shaped `[n, ceil(h w / 32), cout, 32]`. Needs [`writes_pixel_blocks`].
pub fn conv2d_to_pixel_blocks(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    act: Option<f32>,
) -> Tensor {
    assert!(
        writes_pixel_blocks(x.gpu(), w.shape(), cfg),
        "conv2d: weight {:?} ({cfg:?}) cannot write pixel blocks",
        w.shape()
    );
    let layouts = Layouts {
        dst_blocks: true,
        ..Layouts::default()
    };
    forward(x, w, b, cfg, act, layouts)
}

/// 1x1 forward conv of the pixel blocks `xb` of `h` x `w` images (from
/// [`conv2d_to_pixel_blocks`]), with `addend` (NCHW, as `conv2d_raw_act_add`) if given; the
/// output is NCHW `[n, cout, h, w]`. Needs [`reads_pixel_blocks`].
pub fn conv2d_from_pixel_blocks(
    xb: &Tensor,
    (h, w): (usize, usize),
    wt: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    act: Option<f32>,
    addend: Option<&Tensor>,
) -> Tensor {
    let s = xb.shape();
    assert!(
        s.len() == 4 && s[1] == (h * w).div_ceil(PIXEL_BLOCK) && s[3] == PIXEL_BLOCK,
        "conv2d: {s:?} are not the pixel blocks of {h}x{w} images"
    );
    assert!(
        reads_pixel_blocks(xb.gpu(), wt.shape(), cfg, s[0] * h * w),
        "conv2d: weight {:?} ({cfg:?}) cannot read pixel blocks",
        wt.shape()
    );
    let layouts = Layouts {
        src_blocks: Some((h, w)),
        addend,
        ..Layouts::default()
    };
    forward(xb, wt, b, cfg, act, layouts)
}
