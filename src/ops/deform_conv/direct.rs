//! The one-pass forward (`direct4` of shaders/deform_conv_sg.wgsl) for launches on 8-lane
//! subgroup devices: bilinear samples go straight into per-lane accumulators instead of a
//! column matrix that a matmul reads back (the column passes cost about as much as the
//! sampling on lavapipe, docs/perf-log.md). Launches under `MIN_POSITIONS` (the `tiny` and
//! `small` training and search batches) and real GPUs keep im2col + matmul until measured there;
//! `paper`-shape batches take it in training too. The backward always recomputes what it needs
//! (backward.rs).

use super::forward::deform_conv2d_raw;
use super::launch::GeoParams;
use super::plan::{Chunk, DeformCfg, Geom};
use crate::gpu::{Gpu, Kernel, Tensor};
use crate::ops::absmax::absmax_into;
use crate::ops::{concat, elementwise as ew};
use std::cell::Cell;

pub(crate) const K_DIRECT: Kernel = crate::kernel!("deform_conv_sg", "deform_conv_sg", subgroups);

/// Output channels one `direct4` pass accumulates (its unrolled accumulators).
const PER_PASS: usize = 32;

thread_local! {
    static FORCE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `f` with the direct forward forced on or off where it can run (tests compare the two
/// paths on one shape). Thread-local; restored afterwards.
#[doc(hidden)]
pub fn with_direct_forward<R>(on: bool, f: impl FnOnce() -> R) -> R {
    let prev = FORCE.with(|c| c.replace(Some(on)));
    let r = f();
    FORCE.with(|c| c.set(prev));
    r
}

/// Whether the direct forward runs this call: 8-lane subgroup kernels, one weight group,
/// stride-1 style position counts divisible by 4 (vec4 offsets, mask and output rows), and
/// image-sized launches (`MIN_POSITIONS`) unless forced.
pub(super) fn applies(g: &Geom, gpu: &Gpu) -> bool {
    let can = crate::ops::subgroup_kernels(gpu)
        && g.cfg.groups == 1
        && g.p().is_multiple_of(4)
        && g.n * g.p() <= u32::MAX as usize / 4;
    can && FORCE
        .with(|c| c.get())
        .unwrap_or(g.n * g.p() >= MIN_POSITIONS)
}

/// Positions (all images) from which the direct forward is used without forcing.
const MIN_POSITIONS: usize = 16 * 1024;

/// y = deform_conv2d(x, offset, mask, w, b) (+ `addend`, y's shape, added in the store) in
/// `ceil(Cout / PER_PASS)` passes over all images. With a packed `g`, `offset` is DCNv2's
/// predictor output (offsets, then mask logits) and `mask` the same tensor: see
/// [`deform_conv2d_packed_raw`], also for `offset_max`.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    g: &Geom,
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    b: Option<&Tensor>,
    y: &Tensor,
    offset_max: Option<(&Tensor, usize)>,
    band: Option<(usize, usize)>,
    addend: Option<&Tensor>,
    tex: Option<&wgpu::TextureView>,
) {
    // Output rows r0 .. r0 + rows, from offsets and mask logits of those rows only.
    let (r0, rows) = band.unwrap_or((0, g.hout));
    let c = Chunk {
        b0: 0,
        nb: g.n,
        p0: r0 * g.wout,
        np: rows * g.wout,
    };
    let mut p = GeoParams::new(g, &c);
    (p.om_np, p.om_p0) = (c.np as u32, c.p0 as u32);
    p.has_bias = b.is_some() as u32;
    if let Some(a) = addend {
        assert!(
            a.shape() == y.shape(),
            "deform_conv2d: addend {:?} for output {:?}",
            a.shape(),
            y.shape()
        );
        p.has_add = 1;
    }
    if let Some((stats, slot)) = offset_max {
        assert!(
            slot < stats.numel(),
            "deform_conv2d: offset-max slot {slot} out of range"
        );
        p.off_slot = slot as u32;
    }
    let gpu = x.gpu();
    let o = offset.buffer();
    let m = mask.map_or(o, |m| m.buffer());
    let scratch = Tensor::empty(gpu, &[1]);
    let s = scratch.buffer();
    // Bindings 1..=18 of deform_conv_sg.wgsl; those direct4 does not read get stand-ins.
    let bufs = [
        o,
        m,
        x.buffer(),
        s,
        o,
        s,
        s,
        s,
        o,
        s,
        o,
        m,
        s,
        w.buffer(),
        b.map_or(w.buffer(), |b| b.buffer()),
        y.buffer(),
        offset_max.map_or(s, |(t, _)| t.buffer()),
        addend.map_or(o, |a| a.buffer()),
    ];
    let passes: Vec<GeoParams> = (0..g.cout)
        .step_by(PER_PASS)
        .map(|o0| {
            p.o0 = o0 as u32;
            p.on = PER_PASS.min(g.cout - o0) as u32;
            p
        })
        .collect();
    if let Some(tex) = tex {
        super::texture::dispatch(gpu, tex, &bufs, &passes, c.cols() / 4);
        return;
    }
    for pass in &passes {
        gpu.dispatch_1d(&K_DIRECT, "direct4", pass, &bufs, c.cols() / 4);
    }
}

/// y = deform_conv2d(x, offset, sigmoid(logits), w, b) from DCNv2's packed predictor output
/// `om` = [N, 3*og*kh*kw, H', W']: the 2*og*kh*kw offset channels, then the og*kh*kw mask
/// logits, as `nn::layers::DeformConv` cuts it. The direct path reads both in place (the sigmoid
/// on load, with the formula of the sigmoid op); elsewhere `om` is split and the sigmoid applied
/// first, then [`deform_conv2d_raw`]. With `offset_max = (stats, slot)`, max |offset| of the
/// call is max-ed into `stats[slot]` (inference bounds its tiles' offsets with it; direct4
/// records it from the loads it makes anyway, elsewhere [`absmax_into`] reads the offsets).
/// With `addend` (the output's shape), y + addend is returned, as an Add op after it would give:
/// the direct path adds it in its store (inference's fused Add, src/eval/infer/deform_add.rs).
pub fn deform_conv2d_packed_raw(
    x: &Tensor,
    om: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: DeformCfg,
    offset_max: Option<(&Tensor, usize)>,
    addend: Option<&Tensor>,
) -> Tensor {
    let g = Geom::packed(x.shape(), om.shape(), w.shape(), b.map(|b| b.shape()), cfg);
    let taps = g.og() * g.kk();
    let gpu = x.gpu();
    if applies(&g, gpu) {
        g.check_bindable(gpu);
        let y = Tensor::empty(gpu, &g.out_shape());
        let tex = super::texture::prepare(&g, x);
        forward(
            &g,
            x,
            om,
            Some(om),
            w,
            b,
            &y,
            offset_max,
            None,
            addend,
            tex.as_ref().map(|t| t.view()),
        );
        return y;
    }
    let parts = concat::split_raw(om, &[2 * taps, taps]);
    if let Some((stats, slot)) = offset_max {
        absmax_into(&parts[0], stats, slot);
    }
    let mask = ew::sigmoid_raw(&parts[1]);
    let y = deform_conv2d_raw(x, &parts[0], Some(&mask), w, b, cfg);
    match addend {
        Some(a) => ew::add_raw(&y, a),
        None => y,
    }
}

/// [`deform_conv2d_packed_raw`]'s output ([N, Cout, H', W'], written into `y`) in bands of
/// `band` output rows: `predictor(r0, rows)` gives the predictor output of rows `r0 .. r0 +
/// rows` only ([N, 3*og*kh*kw, rows, W'], e.g. `conv2d_raw_rows`), and each band's rows are
/// computed from it, so no predictor output larger than a band is ever held. The sampling still
/// reads all of x, as the offsets may reach (on the texture-sampled path x is copied into the
/// texture once for all bands). Only the direct forward does this: it needs 8-lane subgroups,
/// one weight group, and each band's first position and position count in fours. `addend` (y's
/// shape) as in [`deform_conv2d_packed_raw`].
#[allow(clippy::too_many_arguments)]
pub fn deform_conv2d_packed_bands_raw(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: DeformCfg,
    offset_max: Option<(&Tensor, usize)>,
    y: &Tensor,
    band: usize,
    addend: Option<&Tensor>,
    mut predictor: impl FnMut(usize, usize) -> Tensor,
) {
    let ys = y.shape().to_vec();
    assert!(
        ys.len() == 4 && band > 0,
        "deform_conv2d_packed_bands: output {ys:?}, band {band}"
    );
    let gpu = x.gpu();
    let mut tex = None;
    for r0 in (0..ys[2]).step_by(band) {
        let om = predictor(r0, band.min(ys[2] - r0));
        let s = om.shape();
        assert!(
            s.len() == 4,
            "deform_conv2d_packed_bands: predictor output {s:?}"
        );
        let rows = s[2];
        // The geometry of the whole output, with the band's predictor channels.
        let g = Geom::packed(
            x.shape(),
            &[s[0], s[1], ys[2], s[3]],
            w.shape(),
            b.map(|b| b.shape()),
            cfg,
        );
        assert!(
            ys == g.out_shape() && rows == band.min(g.hout - r0),
            "deform_conv2d_packed_bands: rows {r0}..{} into output {ys:?} (expected {:?})",
            r0 + rows,
            g.out_shape()
        );
        assert!(
            applies(&g, gpu)
                && (r0 * g.wout).is_multiple_of(4)
                && (rows * g.wout).is_multiple_of(4),
            "deform_conv2d_packed_bands: needs the one-pass forward and rows in fours of positions"
        );
        let lim = gpu.max_binding_elems();
        for (t, what) in [(x, "input"), (&om, "predictor rows"), (y, "output")] {
            assert!(
                t.numel() <= lim,
                "deform_conv2d_packed_bands: {what} ({} values) exceeds one GPU binding ({lim})",
                t.numel()
            );
        }
        if r0 == 0 {
            tex = super::texture::prepare(&g, x);
        }
        forward(
            &g,
            x,
            &om,
            Some(&om),
            w,
            b,
            y,
            offset_max,
            Some((r0, rows)),
            addend,
            tex.as_ref().map(|t| t.view()),
        );
    }
}
