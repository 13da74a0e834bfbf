//! Backward of the deformable convolution (forward in forward.rs). Per chunk:
//! - column gradient gcol = W^T gy (the strided matmul of shaders/deform_conv_mm.wgsl);
//! - weight gradient += gy columns^T, with the columns recomputed (cheaper than keeping a
//!   Cin*kh*kw-times-larger activation alive between forward and backward);
//! - offset and mask gradients: one pass over the sample points (`coord`);
//! - input gradient: the transpose of the bilinear sampling, built as per-pixel lists with
//!   integer atomics, sorted, then gathered (shaders/deform_conv_dx.wgsl; why: docs/deform_conv.md);
//! - bias gradient: a row sum of gy over images and positions.

use super::launch::{matmul, u, GeoParams, Mm, SampleBinds, K_MM, MM_ACCUMULATE};
use super::plan::{plan, Chunk, DeformCfg, Geom};
use crate::gpu::{grid_1d, Kernel, Tensor};

pub(crate) const K_DX: Kernel = crate::kernel!("deform_conv_dx");

/// Which gradients to compute.
#[derive(Clone, Copy, Debug)]
pub struct DeformNeeds {
    pub x: bool,
    pub offset: bool,
    pub mask: bool,
    pub weight: bool,
    pub bias: bool,
}

impl DeformNeeds {
    pub fn all() -> DeformNeeds {
        DeformNeeds {
            x: true,
            offset: true,
            mask: true,
            weight: true,
            bias: true,
        }
    }
}

/// Gradients of the inputs, `None` where not asked for (or where there is no mask).
#[derive(Default)]
pub struct DeformGrads {
    pub x: Option<Tensor>,
    pub offset: Option<Tensor>,
    pub mask: Option<Tensor>,
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
}

/// Gradients of `deform_conv2d_raw(x, offset, mask, w, b, cfg)` for the output gradient `gy`.
pub fn deform_conv2d_backward(
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    gy: &Tensor,
    cfg: DeformCfg,
    needs: DeformNeeds,
) -> DeformGrads {
    let g = Geom::new(
        x.shape(),
        offset.shape(),
        mask.map(|m| m.shape()),
        w.shape(),
        None,
        cfg,
    );
    backward_with(&g, x, offset, mask, w, gy, needs)
}

/// The gradients for geometry `g`. With a packed `g`, `offset` and `mask` are both the
/// predictor output, and the offset gradient is the predictor output's (offsets and mask logits
/// in one tensor; `mask` of the result is `None`).
pub(super) fn backward_with(
    g: &Geom,
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    gy: &Tensor,
    needs: DeformNeeds,
) -> DeformGrads {
    let g = *g;
    assert_eq!(
        gy.shape(),
        g.out_shape(),
        "deform_conv2d backward: gy shape"
    );
    let gpu = x.gpu();
    g.check_bindable(gpu);
    let need_mask = needs.mask && mask.is_some();
    let need_coord = needs.offset || need_mask;
    let need_gcol = needs.x || need_coord;
    let gx = needs.x.then(|| Tensor::empty(gpu, x.shape()));
    let goff = need_coord.then(|| Tensor::empty(gpu, offset.shape()));
    let gmask = match (&goff, mask) {
        (Some(goff), Some(_)) if g.packed => Some(goff.clone()),
        (Some(_), Some(m)) => Some(Tensor::empty(gpu, m.shape())),
        _ => None,
    };
    let gw = needs.weight.then(|| Tensor::empty(gpu, w.shape()));
    for (i, c) in plan(&g, gpu).iter().enumerate() {
        let gcol = need_gcol.then(|| column_grad(&g, c, w, gy));
        // Columns for the weight gradient, transposed ([positions, Cin*kk]) so the weight
        // gradient is a matmul with contiguous vector loads; written by `coord` when it runs
        // (it loads the same corners), else by im2col.
        let colt = gw
            .as_ref()
            .map(|_| Tensor::empty(gpu, &[c.cols(), g.rows()]));
        let gp = GeoParams::new(&g, c).transposed_columns(&g);
        let mut sb = SampleBinds::new(offset, mask);
        sb.x = Some(x);
        sb.col = colt.as_ref();
        // The input gradient's touch counts, taken by `coord` from the footprints it computes
        // anyway (one pass over the sample points fewer).
        let counts = (need_coord && gx.is_some()).then(|| Tensor::zeros(gpu, &[buckets(&g, c)]));
        if need_coord {
            sb.gcol = gcol.as_ref();
            sb.goff = goff.as_ref();
            sb.gmask = gmask.as_ref();
            sb.cnt = counts.as_ref();
            let mut gp = if colt.is_some() {
                gp.with_columns()
            } else {
                gp
            };
            gp.count_dx = counts.is_some() as u32;
            sb.run("coord", &gp);
        } else if colt.is_some() {
            sb.run("im2col", &gp);
        }
        if let (Some(gw), Some(colt)) = (&gw, &colt) {
            weight_grad(&g, c, gy, colt, gw, i > 0);
        }
        if let Some(gx) = &gx {
            input_grad(&g, c, offset, mask, gcol.as_ref().unwrap(), gx, counts);
        }
    }
    DeformGrads {
        x: gx,
        offset: goff.filter(|_| needs.offset),
        mask: gmask.filter(|_| need_mask && !g.packed),
        weight: gw,
        bias: needs.bias.then(|| bias_grad(&g, gy)),
    }
}

/// gcol[grp*kg + ck, bi*np + pl] = sum_o W[grp*cog + o, ck] * gy[b0 + bi, grp*cog + o, p0 + pl].
fn column_grad(g: &Geom, c: &Chunk, w: &Tensor, gy: &Tensor) -> Tensor {
    let (p, cog, kg, nc) = (g.p(), g.cog(), g.kg(), c.cols());
    let gcol = Tensor::empty(w.gpu(), &[g.rows(), nc]);
    let mm = Mm {
        m: u(kg),
        n: u(c.np),
        k: u(cog),
        kb: 1,
        z2: u(g.cfg.groups),
        a_sm: 1,
        a_sk: u(kg),
        a_z2: u(cog * kg),
        b_off: u(c.b0 * g.cout * p + c.p0),
        b_sk: u(p),
        b_sn: 1,
        b_z1: u(g.cout * p),
        b_z2: u(cog * p),
        c_sm: u(nc),
        c_sn: 1,
        c_z1: u(c.np),
        c_z2: u(kg * nc),
        ..Mm::default()
    };
    matmul(&mm, c.nb, w, gy, None, &gcol);
    gcol
}

/// gw[grp*cog + o, ck] (+)= sum_{bi, pl} gy[b0 + bi, grp*cog + o, p0 + pl] * colt[bi*np + pl, grp*kg + ck].
/// The reduction is long and the output small, so each image of the chunk gets its own
/// partial product (parallelism) and `zsum` adds them in a fixed order.
fn weight_grad(g: &Geom, c: &Chunk, gy: &Tensor, colt: &Tensor, gw: &Tensor, accumulate: bool) {
    let (p, cog, kg, rows) = (g.p(), g.cog(), g.kg(), g.rows());
    let wn = g.cout * kg;
    let part = (c.nb > 1).then(|| Tensor::empty(gy.gpu(), &[c.nb, wn]));
    let mm = Mm {
        m: u(cog),
        n: u(kg),
        k: u(c.np),
        kb: 1,
        z2: u(g.cfg.groups),
        flags: if accumulate && part.is_none() {
            MM_ACCUMULATE
        } else {
            0
        },
        a_off: u(c.b0 * g.cout * p + c.p0),
        a_sm: u(p),
        a_sk: 1,
        a_z1: u(g.cout * p),
        a_z2: u(cog * p),
        b_sk: u(rows),
        b_sn: 1,
        b_z1: u(c.np * rows),
        b_z2: u(kg),
        c_sm: u(kg),
        c_sn: 1,
        c_z1: u(wn),
        c_z2: u(cog * kg),
        ..Mm::default()
    };
    matmul(&mm, c.nb, gy, colt, None, part.as_ref().unwrap_or(gw));
    if let Some(part) = part {
        let zs = Mm {
            m: u(wn),
            k: u(wn),
            kb: u(c.nb),
            flags: if accumulate { MM_ACCUMULATE } else { 0 },
            ..Mm::default()
        };
        let pb = part.buffer();
        gy.gpu()
            .dispatch_1d(&K_MM, "zsum", &zs, &[pb, pb, pb, gw.buffer()], wn);
    }
}

/// gb[o] = sum over images and positions of gy[b, o, p].
fn bias_grad(g: &Geom, gy: &Tensor) -> Tensor {
    let gb = Tensor::empty(gy.gpu(), &[g.cout]);
    let p = g.p();
    let mm = Mm {
        m: u(g.cout),
        k: u(p),
        kb: u(g.n),
        a_sm: u(p),
        a_sk: 1,
        a_skb: u(g.cout * p),
        c_sm: 1,
        ..Mm::default()
    };
    let groups = [(g.cout as u32).div_ceil(64), 1, 1];
    let b = gy.buffer();
    gy.gpu()
        .dispatch(&K_MM, "rowsum", &mm, &[b, b, b, gb.buffer()], groups);
    gb
}

crate::uniform! {
    /// Uniform block of shaders/deform_conv_dx.wgsl.
    struct DxParams {
        nbk: u32,
        nblk: u32,
        hw: u32,
        og: u32,
        cpg: u32,
        cbpg: u32,
        kk: u32,
        nc: u32,
        cin: u32,
        b0: u32,
        ngather: u32,
        accumulate: u32,
    }
}

const SCAN_BLOCK: usize = 256;

/// Buckets up to which the scan runs as one dispatch (`scan_small`, one invocation) rather than
/// three: the `tiny` and `small` searches' chunks (2,304 and 8,192 buckets).
const SMALL_SCAN: usize = 8192;

/// Sample points one `dx_fill` dispatch may cover (whole taps; at least one tap).
const FILL_SAMPLES: usize = 32768;

thread_local! {
    static FILL: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    static THREE_PASS_SCAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the three-pass bucket scan at every size, so tests can compare it with the
/// one-dispatch scan small problems use. Thread-local; restored afterwards.
#[doc(hidden)]
pub fn with_three_pass_scan<R>(f: impl FnOnce() -> R) -> R {
    let prev = THREE_PASS_SCAN.with(|c| c.replace(true));
    let r = f();
    THREE_PASS_SCAN.with(|c| c.set(prev));
    r
}

/// Runs `f` with the one-point-per-invocation fill (`dx_fill`) on every device, at most
/// `samples` sample points per dispatch (1: one dispatch per tap), so tests can compare the ways
/// of filling: on 8-lane subgroup devices the default is `dx_fill_seq`. Thread-local; restored
/// afterwards.
#[doc(hidden)]
pub fn with_fill_samples<R>(samples: usize, f: impl FnOnce() -> R) -> R {
    let prev = FILL.with(|c| c.replace(Some(samples)));
    let r = f();
    FILL.with(|c| c.set(prev));
    r
}

/// Input-gradient buckets of a chunk: one per (image, offset group, input pixel).
fn buckets(g: &Geom, c: &Chunk) -> usize {
    c.nb * g.og() * g.h * g.w
}

/// gx[b, c, pixel] (+)= sum over the sample points touching the pixel of
/// mask * bilinear weight * gcol[c*kk + tap, column]: the transpose of the sampling, as a gather.
///
/// 1. dx_count: per (image, offset group, pixel) bucket, how many sample points touch it
///    (`counted`: already done, by `coord`);
/// 2. exclusive scan of the counts -> bucket starts;
/// 3. dx_fill: each touch writes (tap*nc + column, weight) into its bucket;
/// 4. sort each bucket by key (deterministic summation order);
/// 5. gather: one invocation per (image, 4 channels, pixel) sums its bucket.
fn input_grad(
    g: &Geom,
    c: &Chunk,
    offset: &Tensor,
    mask: Option<&Tensor>,
    gcol: &Tensor,
    gx: &Tensor,
    counted: Option<Tensor>,
) {
    let gpu = gx.gpu();
    let hw = g.h * g.w;
    let og = g.og();
    let cpg = g.cin / og;
    let cbpg = cpg.div_ceil(4);
    let nbk = buckets(g, c);
    let nblk = nbk.div_ceil(SCAN_BLOCK);
    let gp = GeoParams::new(g, c);
    let start = Tensor::empty(gpu, &[nbk + 1]);
    let bsum = Tensor::empty(gpu, &[nblk]);
    let ent = Tensor::empty(gpu, &[8 * gp.nsamp()]);

    let cnt = counted.unwrap_or_else(|| {
        let cnt = Tensor::zeros(gpu, &[nbk]);
        let mut sb = SampleBinds::new(offset, mask);
        sb.cnt = Some(&cnt);
        sb.run("dx_count", &gp);
        cnt
    });
    let mut sb = SampleBinds::new(offset, mask);
    sb.cnt = Some(&cnt);

    let p = DxParams {
        nbk: u(nbk),
        nblk: u(nblk),
        hw: u(hw),
        og: u(og),
        cpg: u(cpg),
        cbpg: u(cbpg),
        kk: u(g.kk()),
        nc: u(c.cols()),
        cin: u(g.cin),
        b0: u(c.b0),
        ngather: u(c.nb * og * cbpg * hw),
        // The first chunk of an image writes every pixel of it; later parts of the image add.
        accumulate: (c.p0 > 0) as u32,
    };
    // Bindings: 1 cnt, 2 bsum, 3 start (rw), 4 start (r), 5 ent (rw), 6 ent (r), 7 gcol, 8 gx.
    let bufs =
        |cnt: &Tensor, start_rw: &Tensor, start_r: &Tensor, ent_rw: &Tensor, ent_r: &Tensor| {
            [
                cnt.buffer().clone(),
                bsum.buffer().clone(),
                start_rw.buffer().clone(),
                start_r.buffer().clone(),
                ent_rw.buffer().clone(),
                ent_r.buffer().clone(),
                gcol.buffer().clone(),
                gx.buffer().clone(),
            ]
        };
    let run = |entry: &'static str, b: &[wgpu::Buffer; 8], groups: [u32; 3]| {
        let refs: Vec<&wgpu::Buffer> = b.iter().collect();
        gpu.dispatch(&K_DX, entry, &p, &refs, groups);
    };
    // One invocation per item: the grid of `n` items at the entry point's own workgroup size.
    let grid = |entry: &'static str, n: usize| {
        let [x, y, z] = gpu.workgroup_size(&K_DX, entry);
        grid_1d(n, x * y * z)
    };
    let scan = bufs(&cnt, &start, &start, &ent, &ent);
    if nbk <= SMALL_SCAN && !THREE_PASS_SCAN.with(|c| c.get()) {
        run("scan_small", &scan, [1, 1, 1]);
    } else {
        run("scan_blocks", &scan, grid("scan_blocks", nblk));
        run("scan_top", &scan, [1, 1, 1]);
        run("scan_apply", &scan, grid("scan_apply", nblk));
    }

    // scan_apply left each bucket's start in `cnt`: dx_fill's slot counters.
    sb.ent = Some(&ent);
    // Buckets fill in thread order and `sort` makes the order canonical, cheaply when they
    // arrive nearly sorted, i.e. key (tap) range by key range. On 8-lane subgroup devices
    // (lavapipe) `dx_fill_seq` walks the points image by image, tap by tap, in one dispatch; each
    // of the driver's threads takes a contiguous range of workgroups, so it fills its own images'
    // buckets in key order (at [4,8,32,32]: half the descents `dx_fill` left for the sort with
    // 8 taps per dispatch, whose two thread ranges interleaved their taps, and the backward a
    // third faster: docs/perf-log.md). Elsewhere one dispatch per tap would
    // keep them so on big problems (one dispatch for all taps made [6,10,64,64]'s input
    // gradient 1.8x slower on lavapipe before `dx_fill_seq`), but a dispatch has a fixed cost
    // that dominates small ones, so consecutive taps share a dispatch up to FILL_SAMPLES points.
    let taps = og * g.kk();
    let (fill, per_fill) = match (FILL.with(|f| f.get()), gpu.subgroup_kernels()) {
        (None, true) => ("dx_fill_seq", taps),
        (samples, _) => {
            let samples = samples.unwrap_or(FILL_SAMPLES);
            ("dx_fill", (samples / (c.nb * c.np)).clamp(1, taps))
        }
    };
    for first in (0..taps).step_by(per_fill) {
        sb.run(fill, &gp.only_taps(first..(first + per_fill).min(taps)));
    }

    let fin = bufs(&cnt, &start, &start, &ent, &ent);
    run("sort", &fin, grid("sort", nbk));
    run("gather", &fin, grid("gather", p.ngather as usize));
}
