//! Weight and bias gradients (shaders/conv2d_wgrad_plain.wgsl / conv2d_wgrad_sg.wgsl, each
//! including conv2d_wgrad.wgsl).

use super::{check_binding, u, Geom};
use crate::gpu::{Gpu, Kernel, Tensor};
use crate::ops::subgroup_kernels;

/// shaders/conv2d_wgrad.wgsl with 64-lane `wgrad8` workgroups.
pub(crate) const K: Kernel = crate::kernel!("conv2d_wgrad", "conv2d_wgrad_plain");
/// shaders/conv2d_wgrad.wgsl with the subgroup variant `wgrad_sg` (and 8-lane `wgrad8`
/// workgroups), for devices with 8-lane subgroups.
pub(crate) const K_SG: Kernel = crate::kernel!("conv2d_wgrad_sg", "conv2d_wgrad_sg", subgroups);

crate::uniform! {
    #[derive(Default)]
    struct Params {
        n: u32,
        cin: u32,
        h: u32,
        w: u32,
        cout: u32,
        ho: u32,
        wo: u32,
        cin_g: u32,
        cout_g: u32,
        blocks_g: u32,
        kh: u32,
        kw: u32,
        stride: u32,
        pad: u32,
        dil: u32,
        ntaps: u32,
        quads: u32,
        items: u32,
        ipc: u32,
        tblocks: u32,
        nblk: u32,
        chunks: u32,
        total: u32,
        lanes: u32,
        cpl: u32,
        /// This launch's output channels of each group: `o0 .. o0 + on`.
        o0: u32,
        on: u32,
        _pad: u32,
    }
}

/// Workgroups we aim for: enough to spread over many cores or GPU units, while each lane still
/// reduces several pixel quads before the once-per-workgroup cross-lane sum.
const TARGET_GROUPS: usize = 256;
const MIN_ITEMS_PER_LANE: usize = 8;
/// `TB` in the shader: weight elements per workgroup are its output channels x this many taps.
const TAPS_PER_GROUP: usize = 16;

/// The subgroup kernel (`wgrad_sg`: 64 channels x 16 taps per 8-lane workgroup, x shared by
/// subgroupBroadcast) needs subgroups of at least 8 lanes. Measured on lavapipe (CPU time), it
/// beats `wgrad8` (8 channels x 16 taps per lane) even with most of its 64-channel block as
/// padding: 3.4x at 64 output channels, 1.3-1.4x at 20, equal at 10; below 10 channels per
/// group (unmeasured) `wgrad8` is kept, as its 8-channel blocks then waste the least. Up to 32
/// channels per group `wgrad_sg32` (4 channels per lane) halves that padding: 1.85x at 10 and
/// 20 channels.
fn use_subgroups(gpu: &Gpu, cout_g: usize) -> bool {
    subgroup_kernels(gpu) && cout_g >= SG_MIN_COUT_G
}
const SG_MIN_COUT_G: usize = 10;

pub(super) fn weight_grad(gy: &Tensor, x: &Tensor, g: &Geom) -> Tensor {
    let gpu = x.gpu();
    let cout_g = g.cout_g();
    if let Some(entry) = depthwise_entry(gpu, g) {
        return depthwise_weight_grad(gy, x, g, entry);
    }
    let dw = Tensor::empty(gpu, &[g.cout, g.cin_g(), g.kh, g.kw]);
    // Every piece splits the pixels into the chunks the whole launch would use, so that each
    // weight's sum runs in the same order whatever the pieces.
    let whole_blocks = cout_g.div_ceil(lanes_per_block(gpu, cout_g) * whole_cpl(gpu, cout_g));
    for piece in channel_pieces(gpu, cout_g) {
        weight_grad_piece(gy, x, g, &dw, piece, whole_blocks);
    }
    dw
}

/// Lanes that share a wgrad workgroup's channels: wgrad_sg's 8, or wgrad8's one.
fn lanes_per_block(gpu: &Gpu, cout_g: usize) -> usize {
    if use_subgroups(gpu, cout_g) {
        8
    } else {
        1
    }
}

/// Channels per lane of the launch covering all `cout_g` channels: wgrad8's 8, wgrad_sg's 8,
/// or 4 (`wgrad_sg32`) in groups of at most 32 channels, where a 64-channel block would be
/// mostly padding.
fn whole_cpl(gpu: &Gpu, cout_g: usize) -> usize {
    if use_subgroups(gpu, cout_g) && cout_g <= 32 {
        4
    } else {
        8
    }
}

/// The launches of a weight gradient with `cout_g` output channels per group, as (first
/// channel, channels, channels per lane): wgrad_sg's 8 lanes own 8 channels each (4 in groups
/// of at most 32, `wgrad_sg32`), so 80 channels in 64-channel blocks would leave 48 lanes' worth
/// of the second block on padding; there the whole blocks run in one launch and the rest in a
/// 32-channel one (80 = 64 + 16). Each weight is still one lane's sum over the same chunks in
/// the same order, so results do not change by a bit. `cpl` 8 and no subgroups: wgrad8.
fn channel_pieces(gpu: &Gpu, cout_g: usize) -> Vec<(usize, usize, usize)> {
    let whole = vec![(0, cout_g, whole_cpl(gpu, cout_g))];
    if !use_subgroups(gpu, cout_g) || cout_g <= 32 {
        return whole;
    }
    let (full, rest) = (cout_g / 64 * 64, cout_g % 64);
    if full == 0 || rest == 0 || rest > 32 {
        return whole;
    }
    vec![(0, full, 8), (full, rest, 4)]
}

/// One launch (reduction and finish) of [`weight_grad`]: channels `o0 .. o0 + on` of each group
/// with `cpl` per lane, pixels chunked as for `whole_blocks` channel blocks per group.
fn weight_grad_piece(
    gy: &Tensor,
    x: &Tensor,
    g: &Geom,
    dw: &Tensor,
    (o0, on, cpl): (usize, usize, usize),
    whole_blocks: usize,
) {
    let gpu = x.gpu();
    let (cin_g, cout_g) = (g.cin_g(), g.cout_g());
    let sg = use_subgroups(gpu, cout_g);
    // Lanes per wgrad8 workgroup: `WL` of the fragment the kernel is built with.
    let k_sg = subgroup_kernels(gpu);
    let wl = if k_sg { 8 } else { 64 };
    // Output channels per workgroup (all kernels take TAPS_PER_GROUP taps): wgrad_sg's 8 lanes
    // own `cpl` channels each, wgrad8's one lane 8.
    let lanes = lanes_per_block(gpu, cout_g);
    let bc = lanes * cpl;
    let groups = g.cfg.groups;
    let blocks_g = on.div_ceil(bc);
    let nblk = groups * blocks_g;
    let ntaps = cin_g * g.kh * g.kw;
    let tblocks = ntaps.div_ceil(TAPS_PER_GROUP);
    let quads = g.wo.div_ceil(4);
    let items = g.n * g.ho * quads;
    let base = nblk * tblocks;
    let whole_base = groups * whole_blocks * tblocks;
    // wgrad8's lanes split a chunk's quads; wgrad_sg's all walk the same ones.
    let mut chunks = chunk_count(items, if sg { 1 } else { wl }, whole_base);
    // Partial sums: 8 slots per lane and tap, whatever `cpl`.
    let block = lanes * 8 * TAPS_PER_GROUP;
    // The partial sums must fit in one binding (the whole launch's, so pieces chunk alike).
    while chunks > 1 && chunks * whole_base * block > gpu.max_binding_elems() {
        chunks /= 2;
    }
    let ipc = items.div_ceil(chunks);
    assert!(
        nblk <= 65535 && tblocks <= 65535,
        "conv2d weight gradient: grid too large ({g:?})"
    );
    let part = Tensor::empty(gpu, &[chunks * base * block]);
    let p = Params {
        n: u(g.n),
        cin: u(g.cin),
        h: u(g.h),
        w: u(g.w),
        cout: u(g.cout),
        ho: u(g.ho),
        wo: u(g.wo),
        cin_g: u(cin_g),
        cout_g: u(cout_g),
        blocks_g: u(blocks_g),
        kh: u(g.kh),
        kw: u(g.kw),
        stride: u(g.cfg.stride),
        pad: u(g.cfg.padding),
        dil: u(g.cfg.dilation),
        ntaps: u(ntaps),
        quads: u(quads),
        items: u(items),
        ipc: u(ipc),
        tblocks: u(tblocks),
        nblk: u(nblk),
        chunks: u(chunks),
        total: u(groups * on * ntaps),
        lanes: u(lanes),
        cpl: u(cpl),
        o0: u(o0),
        on: u(on),
        _pad: 0,
    };
    let kernel = if k_sg { &K_SG } else { &K };
    let entry = match (sg, cpl, g.wo.is_multiple_of(4)) {
        (true, 4, true) => "wgrad_sg32_v4",
        (true, 4, false) => "wgrad_sg32",
        (true, _, true) => "wgrad_sg_v4",
        (true, _, false) => "wgrad_sg",
        (false, _, true) => "wgrad8_v4",
        (false, _, false) => "wgrad8",
    };
    let grid = [u(chunks), u(nblk), u(tblocks)];
    reduce_then_finish(
        kernel,
        [entry, "wgrad_finish"],
        &p,
        grid,
        [gy, x, &part, dw],
        groups * on * ntaps,
    );
}

/// Chunks the output-pixel reduction is split into: about TARGET_GROUPS workgroups in all
/// (`base` per chunk), while each of the `lanes_sharing` lanes that split a chunk's items keeps
/// at least MIN_ITEMS_PER_LANE of them.
fn chunk_count(items: usize, lanes_sharing: usize, base: usize) -> usize {
    let max_chunks = items.div_ceil(lanes_sharing * MIN_ITEMS_PER_LANE).max(1);
    TARGET_GROUPS.div_ceil(base).clamp(1, max_chunks.min(65535))
}

/// The reduction pass writing per-chunk partial sums into `part`, then the pass adding them in
/// chunk order into `dw` (one invocation per element of the launch, `finished` of them);
/// `t` = [gy, x, part, dw].
fn reduce_then_finish(
    kernel: &'static Kernel,
    entries: [&'static str; 2],
    p: &Params,
    grid: [u32; 3],
    t: [&Tensor; 4],
    finished: usize,
) {
    let [gy, x, part, dw] = t;
    let gpu = x.gpu();
    for (t, what) in [(gy, "conv2d output gradient"), (x, "conv2d input")] {
        check_binding(gpu, t, what);
    }
    let bufs = [
        gy.buffer(),
        x.buffer(),
        part.buffer(),
        part.buffer(),
        dw.buffer(),
        gy.buffer(),
    ];
    gpu.dispatch(kernel, entries[0], p, &bufs, grid);
    gpu.dispatch_1d(kernel, entries[1], p, &bufs, finished);
}

/// The `wgrad_dw*` entry for a depthwise conv it covers (one channel in and out per group,
/// stride 1, dilation 1 or 2, rows of 3 or 5 taps), on devices with 8-lane subgroups.
fn depthwise_entry(gpu: &Gpu, g: &Geom) -> Option<&'static str> {
    if !subgroup_kernels(gpu) || g.cin_g() != 1 || g.cout_g() != 1 || g.cfg.stride != 1 {
        return None;
    }
    match (g.kw, g.cfg.dilation) {
        (3, 1) => Some("wgrad_dw3"),
        (3, 2) => Some("wgrad_dw3_d2"),
        (5, 1) => Some("wgrad_dw5"),
        (5, 2) => Some("wgrad_dw5_d2"),
        _ => None,
    }
}

/// Depthwise weight gradient by `wgrad_dw*` + `wgrad_dw_finish` (conv2d_wgrad_sg.wgsl): one
/// 8-lane workgroup per (pixel chunk, channel, kernel row).
fn depthwise_weight_grad(gy: &Tensor, x: &Tensor, g: &Geom, entry: &'static str) -> Tensor {
    let gpu = x.gpu();
    let cols_b = g.wo.div_ceil(8);
    let items = g.n * g.ho * cols_b;
    let base = g.cout * g.kh;
    let chunks = chunk_count(items, 8, base);
    let ipc = items.div_ceil(chunks);
    assert!(
        g.cout <= 65535 && g.kh <= 65535,
        "conv2d weight gradient: grid too large ({g:?})"
    );
    let dw = Tensor::empty(gpu, &[g.cout, 1, g.kh, g.kw]);
    let part = Tensor::empty(gpu, &[chunks * base * 8]);
    let p = Params {
        n: u(g.n),
        cin: u(g.cin),
        h: u(g.h),
        w: u(g.w),
        cout: u(g.cout),
        ho: u(g.ho),
        wo: u(g.wo),
        kh: u(g.kh),
        kw: u(g.kw),
        pad: u(g.cfg.padding),
        quads: u(cols_b),
        items: u(items),
        ipc: u(ipc),
        chunks: u(chunks),
        total: u(dw.numel()),
        ..Default::default()
    };
    let grid = [u(chunks), u(g.cout), u(g.kh)];
    reduce_then_finish(
        &K_SG,
        [entry, "wgrad_dw_finish"],
        &p,
        grid,
        [gy, x, &part, &dw],
        dw.numel(),
    );
    dw
}

pub(super) fn bias_grad(gy: &Tensor) -> Tensor {
    let s = gy.shape();
    let gpu = gy.gpu();
    check_binding(gpu, gy, "conv2d output gradient");
    let db = Tensor::empty(gpu, &[s[1]]);
    let p = Params {
        n: u(s[0]),
        cout: u(s[1]),
        ho: u(s[2]),
        wo: u(s[3]),
        ..Default::default()
    };
    gpu.dispatch(
        &K,
        "bias_grad",
        &p,
        &[
            gy.buffer(),
            gy.buffer(),
            gy.buffer(),
            gy.buffer(),
            db.buffer(),
        ],
        crate::gpu::grid_1d(s[1], 1),
    );
    db
}
