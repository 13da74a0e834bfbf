//! A conv whose output goes out as two tensors (inference: a DCNv2 layer's offset predictor,
//! one tensor per offset group, src/eval/infer/split_predictor.rs).
//!
//! Why: one value of a denoise pass must fit one storage binding (128 MiB on lavapipe), so the
//! widest value sets how many pixels a pass holds. The 54-channel predictor output was the
//! widest of the cells' stage and held it to 621,378 pixels; as two tensors of 27 channels the
//! stage holds twice that. `gather64` computes the 64 channels of the padded weight (part 0 in
//! channels 0..part, part 1 in 32..32 + part, zeros between) in one launch as before and stores
//! each lane's channels into its part's tensor (shaders/conv2d.wgsl, `split_out`), so each
//! value is the same sum as in the one-tensor conv, to the bit.

use super::gather::{gather, gather_weights, Piece, Variant};
use super::{check_binding, forward_params, Conv2dCfg, Geom};
use crate::gpu::Tensor;
use crate::ops::concat;

/// Output channels of the padded weight that each part starts a block of.
pub const HALF_BLOCK: usize = 32;

/// The padded weight and bias of [`conv2d_raw_halves`] from a conv whose `2 * part` output
/// channels are part 0's then part 1's: `w` is `[2 * part, per]` row-major (per = the
/// weights of one output channel), the result `[2 * HALF_BLOCK, per]` with zero rows in
/// between. A missing bias stays missing.
pub fn pad_halves(w: &[f32], b: Option<&[f32]>, part: usize) -> (Vec<f32>, Option<Vec<f32>>) {
    assert!(
        (1..=HALF_BLOCK).contains(&part) && w.len().is_multiple_of(2 * part),
        "pad_halves: {} weights for 2 x {part} channels",
        w.len()
    );
    let per = w.len() / (2 * part);
    let mut wp = vec![0.0; 2 * HALF_BLOCK * per];
    let mut bp = b.map(|_| vec![0.0; 2 * HALF_BLOCK]);
    for half in 0..2 {
        let (from, to) = (half * part, half * HALF_BLOCK);
        wp[to * per..(to + part) * per].copy_from_slice(&w[from * per..(from + part) * per]);
        if let (Some(bp), Some(b)) = (bp.as_mut(), b) {
            bp[to..to + part].copy_from_slice(&b[from..from + part]);
        }
    }
    (wp, bp)
}

/// conv2d(x, w, b) with the padded weight of [`pad_halves`] (`[64, Cin, k, k]`, one group),
/// returned as its two parts of `part` channels each: channels 0..part and 32..32 + part of the
/// whole output. Where `gather64` runs (image-sized launches, 8-lane subgroup kernels) it
/// stores the parts directly; elsewhere the whole output is computed and its parts copied out.
pub fn conv2d_raw_halves(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    part: usize,
) -> [Tensor; 2] {
    assert!(
        w.shape()[0] == 2 * HALF_BLOCK && cfg.groups == 1 && (1..=HALF_BLOCK).contains(&part),
        "conv2d_raw_halves: weight {:?} (groups {}) for parts of {part} channels",
        w.shape(),
        cfg.groups
    );
    let g = Geom::new(x.shape(), w.shape(), cfg, "conv2d");
    let gpu = x.gpu();
    let (og, red) = (g.cout_g(), g.cin_g());
    let pixels = g.n * g.ho * g.wo;
    if Variant::for_launch(gpu, og, pixels) != Variant::Wide64 {
        let y = super::conv2d_raw_act(x, w, b, cfg, None);
        let rest = HALF_BLOCK - part;
        let mut parts = concat::split_raw(&y, &[part, rest, part, rest]).into_iter();
        let first = parts.next().unwrap();
        let second = parts.nth(1).unwrap();
        return [first, second];
    }
    let shape = [g.n, part, g.ho, g.wo];
    let parts = [Tensor::empty(gpu, &shape), Tensor::empty(gpu, &shape)];
    check_binding(gpu, x, "conv2d input");
    for (t, what) in parts
        .iter()
        .zip(["conv2d output part 0", "conv2d output part 1"])
    {
        check_binding(gpu, t, what);
    }
    let piece = Piece {
        variant: Variant::Wide64,
        o0: 0,
        on: og,
    };
    let (packed, wmode) = gather_weights(w, piece, 1, og, red, false);
    let mut p = forward_params(&g, og, red, None, false, false);
    p.wmode = wmode;
    p.split = part as u32;
    gather(x, &packed, b, None, &parts[0], Some(&parts[1]), p, piece);
    parts
}
