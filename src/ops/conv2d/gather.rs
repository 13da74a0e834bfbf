//! The gather kernel launcher and weight packing (shaders/conv2d_plain.wgsl / conv2d_sg.wgsl,
//! each including conv2d.wgsl).

use super::u;
use crate::gpu::{Gpu, Kernel, Tensor};
use crate::ops::subgroup_kernels;

/// shaders/conv2d.wgsl with the file that defines `gather8` and its weight loads.
pub(crate) const K: Kernel = crate::kernel!("conv2d", "conv2d_plain");
pub(crate) const K_SG: Kernel = crate::kernel!("conv2d_sg", "conv2d_sg", subgroups);

thread_local! {
    static WIDE64_MIN_PIXELS: std::cell::Cell<usize> = const { std::cell::Cell::new(WIDE64_PIXELS) };
}

/// Destination pixels (batch x rows x columns) from which a launch with >= 48 channels per group
/// uses `gather64` rather than `gather32`. On lavapipe gather64 is 11-14 % faster at 64 channels
/// on 8x64x64 and 1x256x256 pixels (the smallest measured win is 32,768 pixels), slower on the
/// tiny search's 2x24x24, and its first launch on a machine costs ~135 s of shader compilation
/// (64 accumulators per lane spill): small-patch searches and trainings never compile it,
/// image-sized work does (BENCHMARKS.md, "Cold start of a search").
pub const WIDE64_PIXELS: usize = 32768;

/// Destination channels per group from which a launch of image size uses `gather64`.
pub const WIDE64_CHANNELS: usize = 48;

/// Floats of packed weights `gather56` and `gather16w*` read from their uniform block (`wu` in
/// shaders/conv2d.wgsl, 4096 vec4): 64 KiB, the uniform binding size every WebGPU device
/// offers. A launch whose packed weights are larger runs on gather64 / gather16.
pub(super) const UNIFORM_WEIGHT_FLOATS: usize = 16384;

/// Runs `f` with `gather64` chosen from `pixels` destination pixels on this thread, so tests
/// reach it with small tensors.
#[doc(hidden)]
pub fn with_wide64_from<R>(pixels: usize, f: impl FnOnce() -> R) -> R {
    let old = WIDE64_MIN_PIXELS.with(|c| c.replace(pixels));
    let r = f();
    WIDE64_MIN_PIXELS.with(|c| c.set(old));
    r
}

/// `GWG` of the kernel file in use: invocations per gather1/gather8 workgroup.
fn lanes_per_workgroup(gpu: &Gpu) -> u32 {
    if subgroup_kernels(gpu) {
        8
    } else {
        64
    }
}

fn gather_kernel(gpu: &Gpu) -> &'static Kernel {
    if subgroup_kernels(gpu) {
        &K_SG
    } else {
        &K
    }
}

crate::uniform! {
    struct PackParams {
        total: u32,
        r: u32,
        blocks_g: u32,
        og: u32,
        red: u32,
        kk: u32,
        trans: u32,
        /// Packs destination channels `o0 .. o0 + on` of each group (a `Piece`).
        o0: u32,
        on: u32,
        /// Floats per block and reduction channel (>= r; the rest zero).
        slot: u32,
        _p1: u32,
        _p2: u32,
    }
}

/// Floats `pack_weights` writes for `on` destination channels per group in blocks of `r`, each
/// block `slot` floats per tap and reduction channel; `fan` = groups x reduction channels x taps.
fn packed_floats(r: usize, slot: usize, on: usize, fan: usize) -> usize {
    on.div_ceil(r) * slot * fan
}

/// Packs weights for the gather/GEMM kernels: `[groups][ceil(on / r)][kk][red][slot]` for the
/// destination channels `o0 .. o0 + on` of each group (`r` of them per block, each block's
/// `slot >= r` floats zero-padded), where `og` is the number of destination channels per group
/// and `red` the reduction channels per group. `trans` packs for the input gradient
/// (destination = input channels).
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_weights(
    w: &Tensor,
    r: usize,
    slot: usize,
    groups: usize,
    og: usize,
    red: usize,
    trans: bool,
    o0: usize,
    on: usize,
    min_len: usize,
) -> Tensor {
    // One destination and one reduction channel per group (depthwise, either direction) with
    // one-channel blocks: the packed layout [groups][kk] is the weight's own, so no pass.
    if r == 1 && og == 1 && red == 1 {
        return w.clone();
    }
    let kk = w.shape()[2] * w.shape()[3];
    let blocks_g = on.div_ceil(r);
    let total = packed_floats(r, slot, on, groups * kk * red);
    // A tensor bound as a uniform block must hold the block's whole declared size.
    let out = Tensor::empty(w.gpu(), &[total.max(min_len)]);
    let p = PackParams {
        total: u(total),
        r: u(r),
        blocks_g: u(blocks_g),
        og: u(og),
        red: u(red),
        kk: u(kk),
        trans: trans as u32,
        o0: u(o0),
        on: u(on),
        slot: u(slot),
        _p1: 0,
        _p2: 0,
    };
    w.gpu()
        .dispatch_1d(&K, "pack_weights", &p, &[w.buffer(), out.buffer()], total);
    out
}

crate::uniform! {
    #[derive(Default)]
    pub(super) struct GatherParams {
        pub(super) n: u32,
        pub(super) cin: u32,
        pub(super) ih: u32,
        pub(super) iw: u32,
        pub(super) cout: u32,
        pub(super) oh: u32,
        pub(super) ow: u32,
        pub(super) red: u32,
        pub(super) og: u32,
        pub(super) blocks_g: u32,
        pub(super) kh: u32,
        pub(super) kw: u32,
        pub(super) rows: u32,
        pub(super) cols: u32,
        pub(super) cols_b: u32,
        pub(super) chunks: u32,
        pub(super) in_mul: u32,
        pub(super) out_mul: u32,
        pub(super) out_y0: u32,
        pub(super) out_x0: u32,
        pub(super) tc0y: i32,
        pub(super) tc0x: i32,
        pub(super) tsgn: i32,
        pub(super) tdiv: i32,
        pub(super) dil: u32,
        pub(super) has_bias: u32,
        pub(super) total: u32,
        pub(super) wmode: u32,
        /// 1: LeakyReLU(`slope`) on the stored value (bias included); ReLU is slope 0.
        pub(super) act: u32,
        pub(super) slope: f32,
        /// gather16/32/64: the launch covers destination channels `o0 .. o0 + on` of each group
        /// (a `Piece`, set by `gather`), read from weights packed for them.
        pub(super) o0: u32,
        pub(super) on: u32,
        /// != 0: the source (a 1x1 conv on a wide gather, launched as one row of pixels) or the
        /// destination (a sliding gather's forward) is held in pixel blocks (conv2d/blocks.rs).
        pub(super) src_blk: u32,
        pub(super) dst_blk: u32,
        /// 1: the addend (the destination's layout) is added to each stored value before the
        /// activation (set by `gather` from its argument).
        pub(super) add: u32,
        pub(super) _b1: u32,
    }
}

/// Which gather kernel a launch uses, from the destination channels per group `og`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Variant {
    /// `gather1`: one channel x 8 pixels per lane (depthwise and og == 1).
    One,
    /// `gather8`: 8 channels x 8 pixels per lane, no lane shares loads with another.
    Eight,
    /// `gather16` / `gather32` / `gather56` / `gather64`: the 8 lanes of a subgroup share 32
    /// pixels and own 2 / 4 / 7 / 8 channels each, so each source value is loaded once per
    /// subgroup (subgroupBroadcast).
    Wide16,
    Wide32,
    Wide56,
    Wide64,
}

impl Variant {
    /// Rule (CPU time on lavapipe, where loads per FMA set the time): the subgroup kernels need
    /// 8-lane subgroups; gather64 from 48 channels per group (a 64-channel block mostly full)
    /// and `WIDE64_PIXELS` destination pixels, except gather56 for 49-56 channels (the offset
    /// predictors' 54: 8 % less GPU time than gather64 on the 1 MP denoise, docs/perf-log.md)
    /// where its packed weights fit [`UNIFORM_WEIGHT_FLOATS`], gather32 from 17 and gather16
    /// from 10 (a block at least 1/2 / 5/8 full; they still do fewer loads per useful FMA than
    /// gather8 there), gather8 below. `fan` is the weights per destination channel over all
    /// groups: groups x reduction channels x taps.
    pub(super) fn for_launch(gpu: &Gpu, og: usize, fan: usize, pixels: usize) -> Variant {
        let sg = subgroup_kernels(gpu);
        let wide64 = image_sized(pixels);
        let w56 = Variant::Wide56;
        let fits_uniform = packed_floats(w56.r(), w56.slot(), og, fan) <= UNIFORM_WEIGHT_FLOATS;
        match og {
            1 => Variant::One,
            49..=56 if sg && wide64 && fits_uniform => Variant::Wide56,
            WIDE64_CHANNELS.. if sg && wide64 => Variant::Wide64,
            17.. if sg => Variant::Wide32,
            10.. if sg => Variant::Wide16,
            _ => Variant::Eight,
        }
    }
    /// Destination pixels per block: one lane's for gather1/8, the workgroup's for gather32/64
    /// (the `NP` their shaders are unrolled for; 32 measured faster than 16 for both, and 64 no
    /// better for gather32 while wasting more of narrow rows).
    fn pixels(self) -> u32 {
        match self {
            Variant::One | Variant::Eight => 8,
            Variant::Wide16 | Variant::Wide32 | Variant::Wide56 | Variant::Wide64 => 32,
        }
    }
    /// Channels per packed weight block (`R` of pack_weights).
    pub(super) fn r(self) -> usize {
        match self {
            Variant::One => 1,
            Variant::Wide16 => 2,
            Variant::Wide32 => 4,
            Variant::Wide56 => 7,
            Variant::Eight | Variant::Wide64 => 8,
        }
    }
    /// Floats per packed block and reduction channel: gather56 reads its 7 as two vec4s.
    fn slot(self) -> usize {
        match self {
            Variant::Wide56 => 8,
            v => v.r(),
        }
    }
    /// gather56 / gather64: a lane owns 7-8 channels. Only these take an addend, read pixel
    /// blocks and compute predictor row bands (conv2d.rs), and they replace the pointwise GEMM.
    pub(super) fn eight_lane_blocks(self) -> bool {
        matches!(self, Variant::Wide56 | Variant::Wide64)
    }
}

/// Folds `total` workgroups into (x, z) so neither exceeds the per-dimension limit.
pub(super) fn fold(total: usize, y: usize, what: &str) -> [u32; 3] {
    assert!(
        y <= 65535,
        "{what}: {y} channel blocks exceed the 65535 workgroups per dimension"
    );
    let total = total.max(1);
    let z = total.div_ceil(65535);
    [u(total.div_ceil(z)), u(y), u(z)]
}

/// The weights a gather reads, and the shader's `wmode`: the subgroup `gather8` reads the
/// weight in its own layout (1 forward, 2 input gradient), every other kernel a packed copy
/// of the piece's channels (`pack_weights` with the variant's block size; 0).
pub(super) fn gather_weights(
    w: &Tensor,
    piece: Piece,
    groups: usize,
    og: usize,
    red: usize,
    trans: bool,
) -> (Tensor, u32) {
    let v = piece.variant;
    if v == Variant::Eight && subgroup_kernels(w.gpu()) {
        return (w.clone(), 1 + trans as u32);
    }
    let packed = pack_weights(
        w,
        v.r(),
        v.slot(),
        groups,
        og,
        red,
        trans,
        piece.o0,
        piece.on,
        // gather56 and the forward gather16w* read the packed tensor as a uniform block.
        if v == Variant::Wide56 || (v == Variant::Wide16 && !trans) {
            UNIFORM_WEIGHT_FLOATS
        } else {
            0
        },
    );
    (packed, 0)
}

/// One gather launch's share of the destination channels of each group: `on` channels from `o0`,
/// by `variant`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Piece {
    pub(super) variant: Variant,
    pub(super) o0: usize,
    pub(super) on: usize,
}

/// How a gather of `og` destination channels per group is split into launches. A wide kernel's
/// 8 lanes own 2, 4 or 8 channels each, so a group whose channels leave most of a last
/// workgroup empty wastes its lanes: 80 channels on gather64 run two workgroups of 64 for 16
/// useful channels in the second. On image-sized launches (where one more dispatch costs
/// nothing measurable) the whole workgroups go to one launch and the rest to a narrower kernel:
/// 80 = 64 (gather64) + 16 (gather16), 40 = 32 (gather32) + 8 (gather16). Each destination
/// value is still one lane's sum in the same order, so outputs do not change by a bit.
pub(super) fn pieces(gpu: &Gpu, og: usize, fan: usize, pixels: usize) -> Vec<Piece> {
    let v = Variant::for_launch(gpu, og, fan, pixels);
    let whole = vec![Piece {
        variant: v,
        o0: 0,
        on: og,
    }];
    let block = match v {
        Variant::Wide64 => 64,
        Variant::Wide32 => 32,
        _ => return whole,
    };
    let (full, rest) = (og / block * block, og % block);
    // Split only where the rest leaves at least half the last workgroup idle.
    if full == 0 || rest == 0 || rest * 2 > block || !image_sized(pixels) {
        return whole;
    }
    let narrow = if rest > 16 {
        Variant::Wide32
    } else {
        Variant::Wide16
    };
    vec![
        Piece {
            variant: v,
            o0: 0,
            on: full,
        },
        Piece {
            variant: narrow,
            o0: full,
            on: rest,
        },
    ]
}

/// The sliding gather (`gather1s*`: source values shifted through registers from tap to tap,
/// two destination rows per lane) for a launch where every tap reaches every pixel at unit
/// spacing; measured on lavapipe only, so with the 8-lane kernels (shaders/conv2d_sg.wgsl).
pub(super) fn sliding_entry(
    gpu: &Gpu,
    v: Variant,
    in_mul: u32,
    tdiv: i32,
    kw: u32,
    dil: u32,
) -> Option<&'static str> {
    if v != Variant::One || in_mul != 1 || tdiv != 1 || !subgroup_kernels(gpu) {
        return None;
    }
    match (kw, dil) {
        (3, 1) => Some("gather1s3"),
        (3, 2) => Some("gather1s3_d2"),
        (5, 1) => Some("gather1s5"),
        (5, 2) => Some("gather1s5_d2"),
        _ => None,
    }
}

/// `gather1s3v` for a `gather1s3` launch that can load its source rows as whole vec4s: a forward
/// pass at padding 1 on rows in fours (the decoder's depthwise convs at inference: 176 channels
/// at 256x256, 71.7 -> 59.2 ms CPU per forward on lavapipe, docs/perf-log.md).
fn vec4_rows(entry: &'static str, p: &GatherParams) -> &'static str {
    let forward = p.tsgn > 0 && p.tdiv == 1 && p.in_mul == 1 && p.out_mul == 1;
    if !forward || !p.iw.is_multiple_of(4) || p.src_blk != 0 {
        return entry;
    }
    match (entry, p.tc0x) {
        // A depthwise conv (one reduction channel per group) four destination rows per lane,
        // `gather1s3v_dw`: the decoder's 176-channel depthwise conv at 256x256 62-63 -> 52-55
        // ms CPU per forward on lavapipe (docs/perf-log.md). Image-sized launches only, as
        // gather64: its first compile added 5-7 s to a search's first step on an empty Mesa
        // cache, whose 64x64 patches gain little from it.
        ("gather1s3", -1) if p.red == 1 && p.kh == 3 && image_sized(launch_pixels(p)) => {
            "gather1s3v_dw"
        }
        ("gather1s3", -1) => "gather1s3v",
        // The same for `gather8s5_d2` at padding 4, whose 16-value window is four whole vec4s.
        ("gather8s5_d2", -4) => "gather8s5_d2v",
        _ => entry,
    }
}

/// Whether `pixels` destination pixels reach [`WIDE64_PIXELS`] (or the tests' lower bound,
/// [`with_wide64_from`]): the image-sized work of inference, where the large kernels
/// (`gather64`, `gather56`, `gather1s3v_dw`) pay for their first compile.
fn image_sized(pixels: usize) -> bool {
    pixels >= WIDE64_MIN_PIXELS.with(|c| c.get())
}

/// Destination pixels of a launch, all images.
fn launch_pixels(p: &GatherParams) -> usize {
    p.n as usize * p.rows as usize * p.cols as usize
}

/// `gather8` / `gather16` with each source row's window loaded once per reduction channel
/// (`gather8s*` / `gather16w*`, shaders/conv2d_sg.wgsl) for a stride-1 forward pass with 3x3
/// or 5x5 taps at dilation 1 or 2: 5x5 at dilation 2 and 256x256, 8 -> 8 channels 18.3-20.0 ->
/// 11.7-13.3 ms CPU per forward on lavapipe, 16 -> 16 50.0-53.3 -> 33.3 (docs/perf-log.md).
/// Measured on lavapipe only, so with the 8-lane kernels.
fn window_entry(gpu: &Gpu, v: Variant, p: &GatherParams) -> Option<&'static str> {
    let forward = p.in_mul == 1 && p.out_mul == 1 && p.tdiv == 1 && p.tsgn > 0;
    let planar = p.src_blk == 0 && p.dst_blk == 0;
    let pairs = p.red.is_multiple_of(2);
    // gather16w* read their packed weights from the uniform block; larger ones stay on gather16.
    let fan = (p.cout / p.og * p.kh * p.kw * p.red) as usize;
    let fits = packed_floats(v.r(), v.slot(), p.on as usize, fan) <= UNIFORM_WEIGHT_FLOATS;
    if !forward || !planar || p.kh != p.kw || !subgroup_kernels(gpu) {
        return None;
    }
    match (v, p.kw, p.dil) {
        (Variant::Eight, 3, 1) => Some("gather8s3"),
        (Variant::Eight, 3, 2) => Some("gather8s3_d2"),
        (Variant::Eight, 5, 1) => Some("gather8s5"),
        (Variant::Eight, 5, 2) => Some("gather8s5_d2"),
        // gather16w* takes reduction channels in pairs, with no single-channel tail.
        (Variant::Wide16, 3, 1) if pairs && fits => Some("gather16w3"),
        (Variant::Wide16, 3, 2) if pairs && fits => Some("gather16w3_d2"),
        (Variant::Wide16, 5, 1) if pairs && fits => Some("gather16w5"),
        (Variant::Wide16, 5, 2) if pairs && fits => Some("gather16w5_d2"),
        _ => None,
    }
}

/// Launches one gather (forward, or one stride phase of the input gradient). `p` holds
/// everything but the grid fields; `addend` (inference) is added to the stored values before
/// the activation.
pub(super) fn gather(
    src: &Tensor,
    packed: &Tensor,
    bias: Option<&Tensor>,
    addend: Option<&Tensor>,
    dst: &Tensor,
    mut p: GatherParams,
    piece: Piece,
) {
    if p.rows == 0 || p.cols == 0 {
        return;
    }
    let gpu = src.gpu();
    let v = piece.variant;
    let groups = (p.cout / p.og) as usize;
    p.o0 = u(piece.o0);
    p.on = u(piece.on);
    p.blocks_g = p.on.div_ceil(u(v.r()));
    let wide = matches!(
        v,
        Variant::Wide16 | Variant::Wide32 | Variant::Wide56 | Variant::Wide64
    );
    p.cols_b = p.cols.div_ceil(v.pixels());
    let sliding_entry = sliding_entry(gpu, v, p.in_mul, p.tdiv, p.kw, p.dil);
    assert!(
        p.dst_blk == 0 || (sliding_entry.is_some() && p.out_mul == 1 && p.tsgn > 0),
        "conv2d: pixel-block output only from a sliding gather's forward pass"
    );
    assert!(
        p.src_blk == 0 || (wide && p.kh == 1 && p.kw == 1 && p.rows == 1 && p.in_mul == 1),
        "conv2d: pixel-block input only for a 1x1 conv on a wide gather, as one row"
    );
    let sliding_entry = sliding_entry.map(|e| vec4_rows(e, &p));
    // Destination rows per lane: 4 in `gather1s3v_dw`, 2 in the other sliding gathers.
    let block_rows = match sliding_entry {
        Some("gather1s3v_dw") => p.rows.div_ceil(4),
        Some(_) => p.rows.div_ceil(2),
        None => p.rows,
    };
    // gather1/8 put one pixel block per invocation (`GWG` of the kernel's file per workgroup),
    // gather32/64 one per workgroup.
    p.chunks = if wide {
        p.rows * p.cols_b
    } else {
        (block_rows * p.cols_b).div_ceil(lanes_per_workgroup(gpu))
    };
    p.total = p.n * p.chunks;
    p.has_bias = bias.is_some() as u32;
    p.add = addend.is_some() as u32;
    assert!(
        addend.is_none() || (v.eight_lane_blocks() && p.dst_blk == 0 && p.out_mul == 1),
        "conv2d: an addend only for gather64's forward pass into NCHW"
    );
    let (entry, y) = match v {
        Variant::One => (sliding_entry.unwrap_or("gather1"), p.cout as usize),
        Variant::Eight => (
            window_entry(gpu, v, &p).map_or("gather8", |e| vec4_rows(e, &p)),
            groups * p.blocks_g as usize,
        ),
        Variant::Wide16 => (
            window_entry(gpu, v, &p).unwrap_or("gather16"),
            groups * p.blocks_g.div_ceil(8) as usize,
        ),
        Variant::Wide32 => ("gather32", groups * p.blocks_g.div_ceil(8) as usize),
        Variant::Wide56 => ("gather56", groups * p.blocks_g.div_ceil(8) as usize),
        Variant::Wide64 => ("gather64", groups * p.blocks_g.div_ceil(8) as usize),
    };
    let b = bias.unwrap_or(packed);
    let mut grid = fold(p.total as usize, y, "conv2d");
    // The wide gathers take the channel blocks on x, so lavapipe (which walks x fastest) runs a
    // pixel block's channel blocks back to back: the second 64-channel block of a 1x1 conv then
    // reads its source from cache (1x1 176 -> 128 at 256x256: -22 % CPU time, docs/perf-log.md).
    if wide || p.dst_blk != 0 {
        grid.swap(0, 1);
    }
    gpu.dispatch(
        gather_kernel(gpu),
        entry,
        &p,
        &[
            src.buffer(),
            packed.buffer(),
            b.buffer(),
            dst.buffer(),
            packed.buffer(),
            dst.buffer(),
            addend.unwrap_or(src).buffer(),
            addend.unwrap_or(src).buffer(),
            src.buffer(),
            packed.buffer(),
        ],
        grid,
    );
}
