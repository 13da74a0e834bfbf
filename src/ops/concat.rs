//! Channel concat, slice and split along dim 1 of `[N, C, ...]` tensors, and row bands along
//! dim 2 of `[N, C, H, W]` ones (shaders/concat.wgsl).
//!
//! A channel range of an NCHW tensor is one contiguous block per batch index, and a band of
//! whole rows one contiguous block per channel plane, so every op here is one strided block copy
//! per input or output: concat writes each input into its channel range of the output (one pass
//! over the output in total), and a slice's or band's gradient writes it and the zeros around it
//! in one pass.

use crate::gpu::{Kernel, Tensor};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("concat");

crate::uniform! {
    struct Params {
        nb: u32,
        blk: u32,
        src_stride: u32,
        src_off: u32,
        dst_stride: u32,
        dst_off: u32,
        leaky: u32,
        slope: f32,
    }
}

/// [ceil(block / 256), blocks]: one row of workgroups per batch index (at most 65535
/// workgroups along a row: longer blocks loop in the shader).
fn grid(block: usize, blocks: usize) -> [u32; 3] {
    let gx = block.div_ceil(256).min(65535);
    assert!(
        blocks <= 65535,
        "concat: {blocks} blocks of {block} exceed the workgroup grid"
    );
    [gx as u32, blocks as u32, 1]
}

/// (N, C, elements per channel plane).
fn dims(what: &str, x: &Tensor) -> (usize, usize, usize) {
    let s = x.shape();
    assert!(s.len() >= 2, "{what}: {s:?} must be [N, C, ...]");
    let max = x.gpu().max_binding_elems().min(u32::MAX as usize);
    assert!(
        x.numel() <= max,
        "{what}: {s:?} exceeds one storage binding"
    );
    (s[0], s[1], s[2..].iter().product())
}

/// Launches a copy kernel over `p.nb` blocks of `span` floats: `entries.1`, its vec4 twin, when
/// every size and offset in `p` is a multiple of 4 (then counted in vec4s), else `entries.0`.
fn launch(
    entries: (&'static str, &'static str),
    p: Params,
    span: usize,
    src: &Tensor,
    dst: &Tensor,
) {
    let fields = [p.blk, p.src_stride, p.src_off, p.dst_stride, p.dst_off];
    let (entry, p, span) = if fields.iter().all(|f| f % 4 == 0) {
        let q = Params {
            blk: p.blk / 4,
            src_stride: p.src_stride / 4,
            src_off: p.src_off / 4,
            dst_stride: p.dst_stride / 4,
            dst_off: p.dst_off / 4,
            ..p
        };
        (entries.1, q, span / 4)
    } else {
        (entries.0, p, span)
    };
    src.gpu().dispatch(
        &K,
        entry,
        &p,
        &[src.buffer(), dst.buffer(), src.buffer(), dst.buffer()],
        grid(span, p.nb as usize),
    );
}

/// Copies channels [src_c, src_c + len) of `src` to channels [dst_c, ..) of `dst`.
fn copy_channels(src: &Tensor, src_c: usize, dst: &Tensor, dst_c: usize, len: usize) {
    let (n, cs, hw) = dims("copy", src);
    let cd = dst.shape()[1];
    let blk = len * hw;
    if n * blk == 0 {
        return;
    }
    let p = Params {
        nb: n as u32,
        blk: blk as u32,
        src_stride: (cs * hw) as u32,
        src_off: (src_c * hw) as u32,
        dst_stride: (cd * hw) as u32,
        dst_off: (dst_c * hw) as u32,
        leaky: 0,
        slope: 0.0,
    };
    launch(("copy_blocks", "copy_blocks4"), p, blk, src, dst);
}

/// Inputs with equal N and trailing dims, joined along the channels in order.
pub fn concat_raw(xs: &[&Tensor]) -> Tensor {
    assert!(!xs.is_empty(), "concat of nothing");
    let first = xs[0].shape();
    let mut c_total = 0;
    for x in xs {
        let s = x.shape();
        dims("concat", x);
        assert!(
            s.len() == first.len() && s[0] == first[0] && s[2..] == first[2..],
            "concat: shapes {first:?} and {s:?} differ outside dim 1"
        );
        c_total += s[1];
    }
    let mut shape = first.to_vec();
    shape[1] = c_total;
    let out = Tensor::empty(xs[0].gpu(), &shape);
    dims("concat", &out);
    let mut off = 0;
    for x in xs {
        let c = x.shape()[1];
        copy_channels(x, 0, &out, off, c);
        off += c;
    }
    out
}

/// Inference's fused concat (src/eval/infer/concat_act.rs): `[N, C_i, H_i, W]` inputs joined
/// along the channels into `[N, sum C_i, rows, W]`, input i read from its row `xs[i].1` on (a
/// band of the tile it was computed on, or 0 for a value of the band's own height), with
/// LeakyReLU of slope `act` on the way where given (ReLU: 0; elementwise's formula, so the same
/// values as a separate activation pass). One copy launch per input and image.
pub fn concat_rows_act_raw(xs: &[(&Tensor, usize)], rows: usize, act: Option<f32>) -> Tensor {
    assert!(!xs.is_empty(), "concat of nothing");
    let first = xs[0].0.shape();
    let mut c_total = 0;
    for &(x, r0) in xs {
        let s = x.shape();
        dims("concat_rows", x);
        assert!(
            s.len() == 4 && s[0] == first[0] && s[3] == first[3] && r0 + rows <= s[2],
            "concat_rows: rows [{r0}, {}) of {s:?} beside {first:?}",
            r0 + rows
        );
        c_total += s[1];
    }
    let (n, w) = (first[0], first[3]);
    let out = Tensor::empty(xs[0].0.gpu(), &[n, c_total, rows, w]);
    dims("concat_rows", &out);
    let blk = rows * w;
    let mut c0 = 0;
    for &(x, r0) in xs {
        let (c, h) = (x.shape()[1], x.shape()[2]);
        for b in 0..n {
            let p = Params {
                nb: c as u32,
                blk: blk as u32,
                src_stride: (h * w) as u32,
                src_off: ((b * c * h + r0) * w) as u32,
                dst_stride: blk as u32,
                dst_off: ((b * c_total + c0) * blk) as u32,
                leaky: act.is_some() as u32,
                slope: act.unwrap_or(0.0),
            };
            if c * blk > 0 {
                launch(("copy_blocks", "copy_blocks4"), p, blk, x, &out);
            }
        }
        c0 += c;
    }
    out
}

/// Channels [start, start + len) of x.
pub fn channel_slice_raw(x: &Tensor, start: usize, len: usize) -> Tensor {
    let (_, c, _) = dims("channel_slice", x);
    assert!(
        start + len <= c,
        "channel_slice: [{start}, {}) out of {c} channels",
        start + len
    );
    let mut shape = x.shape().to_vec();
    shape[1] = len;
    let out = Tensor::empty(x.gpu(), &shape);
    copy_channels(x, start, &out, 0, len);
    out
}

/// The gradient of a slice: `gy` placed at channel `start` of a zero tensor of `x_shape`.
pub fn channel_slice_backward(gy: &Tensor, x_shape: &[usize], start: usize) -> Tensor {
    let (n, len, hw) = dims("channel_slice_backward", gy);
    assert!(
        x_shape.len() == gy.shape().len()
            && x_shape[0] == n
            && x_shape[2..] == gy.shape()[2..]
            && start + len <= x_shape[1],
        "channel_slice_backward: {:?} at channel {start} does not fit {x_shape:?}",
        gy.shape()
    );
    let out = Tensor::empty(gy.gpu(), x_shape);
    let total = out.numel();
    if total > 0 {
        let p = Params {
            nb: n as u32,
            blk: (len * hw) as u32,
            src_stride: (len * hw) as u32,
            src_off: 0,
            dst_stride: (x_shape[1] * hw) as u32,
            dst_off: (start * hw) as u32,
            leaky: 0,
            slope: 0.0,
        };
        launch(("pad_blocks", "pad_blocks4"), p, x_shape[1] * hw, gy, &out);
    }
    out
}

/// Checks a row band [r0, r1) of an `[N, C, H, W]` shape; returns (planes, H, W).
fn band_dims(what: &str, shape: &[usize], r0: usize, r1: usize) -> (usize, usize, usize) {
    assert!(
        shape.len() == 4 && r0 < r1 && r1 <= shape[2],
        "{what}: rows [{r0}, {r1}) of {shape:?}"
    );
    (shape[0] * shape[1], shape[2], shape[3])
}

/// Rows [r0, r1) of every channel plane of `[N, C, H, W]` x (inference cuts a tile's values
/// into bands this way, src/eval/infer/stages.rs).
pub fn row_band_raw(x: &Tensor, r0: usize, r1: usize) -> Tensor {
    dims("row_band", x);
    let (planes, h, w) = band_dims("row_band", x.shape(), r0, r1);
    let s = x.shape();
    let out = Tensor::empty(x.gpu(), &[s[0], s[1], r1 - r0, w]);
    let blk = (r1 - r0) * w;
    if planes * blk > 0 {
        let p = Params {
            nb: planes as u32,
            blk: blk as u32,
            src_stride: (h * w) as u32,
            src_off: (r0 * w) as u32,
            dst_stride: blk as u32,
            dst_off: 0,
            leaky: 0,
            slope: 0.0,
        };
        launch(("copy_blocks", "copy_blocks4"), p, blk, x, &out);
    }
    out
}

/// The gradient of a row band: `gy` placed at row `r0` of a zero tensor of `x_shape`.
pub fn row_band_backward(gy: &Tensor, x_shape: &[usize], r0: usize) -> Tensor {
    dims("row_band_backward", gy);
    let g = gy.shape();
    assert!(
        g.len() == 4 && x_shape.len() == 4 && g[..2] == x_shape[..2] && g[3] == x_shape[3],
        "row_band_backward: {g:?} at row {r0} does not fit {x_shape:?}"
    );
    let (planes, h, w) = band_dims("row_band_backward", x_shape, r0, r0 + g[2]);
    let out = Tensor::empty(gy.gpu(), x_shape);
    if out.numel() > 0 {
        let blk = g[2] * w;
        let p = Params {
            nb: planes as u32,
            blk: blk as u32,
            src_stride: blk as u32,
            src_off: 0,
            dst_stride: (h * w) as u32,
            dst_off: (r0 * w) as u32,
            leaky: 0,
            slope: 0.0,
        };
        launch(("pad_blocks", "pad_blocks4"), p, h * w, gy, &out);
    }
    out
}

/// Consecutive channel ranges of the given sizes (which must add up to C).
pub fn split_raw(x: &Tensor, sizes: &[usize]) -> Vec<Tensor> {
    let c = dims("split", x).1;
    assert_eq!(
        sizes.iter().sum::<usize>(),
        c,
        "split: sizes {sizes:?} of {c} channels"
    );
    let mut start = 0;
    sizes
        .iter()
        .map(|&len| {
            start += len;
            channel_slice_raw(x, start - len, len)
        })
        .collect()
}

pub fn concat(t: &mut Tape, xs: &[&Var]) -> Var {
    let vals: Vec<&Tensor> = xs.iter().map(|v| v.value()).collect();
    let out = concat_raw(&vals);
    let sizes: Vec<usize> = xs.iter().map(|v| v.shape()[1]).collect();
    t.record(
        out,
        xs,
        Box::new(move |g, needs| {
            let mut start = 0;
            sizes
                .iter()
                .zip(needs)
                .map(|(&len, &need)| {
                    start += len;
                    need.then(|| channel_slice_raw(g, start - len, len))
                })
                .collect()
        }),
    )
}

pub fn channel_slice(t: &mut Tape, x: &Var, start: usize, len: usize) -> Var {
    let out = channel_slice_raw(x.value(), start, len);
    let shape = x.shape().to_vec();
    t.record(
        out,
        &[x],
        Box::new(move |g, _| vec![Some(channel_slice_backward(g, &shape, start))]),
    )
}

/// One slice per size. Each piece is its own tape node, so a piece whose output is unused costs
/// nothing in the backward; the pieces' gradients add up on x.
pub fn split(t: &mut Tape, x: &Var, sizes: &[usize]) -> Vec<Var> {
    let c = x.shape().get(1).copied().unwrap_or(0);
    assert_eq!(
        sizes.iter().sum::<usize>(),
        c,
        "split: sizes {sizes:?} of {c} channels"
    );
    let mut start = 0;
    sizes
        .iter()
        .map(|&len| {
            start += len;
            channel_slice(t, x, start - len, len)
        })
        .collect()
}

/// Rows [r0, r1) of every channel plane of an `[N, C, H, W]` variable.
pub fn row_band(t: &mut Tape, x: &Var, r0: usize, r1: usize) -> Var {
    let out = row_band_raw(x.value(), r0, r1);
    let shape = x.shape().to_vec();
    t.record(
        out,
        &[x],
        Box::new(move |g, _| vec![Some(row_band_backward(g, &shape, r0))]),
    )
}
