//! 2-D convolution (NCHW, weights `[Cout, Cin/groups, kh, kw]`): forward, input, weight and bias
//! gradients, for any kernel size, stride, padding, dilation and groups (shaders/conv2d*.wgsl).
//!
//! The forward pass and the input gradient are one register-blocked gather kernel (8 channels x
//! 8 pixels per invocation, conv2d/gather.rs): the input gradient is the transposed convolution
//! over the output gradient, run once per stride phase so it never visits taps that cannot reach
//! a pixel (no scatter, no atomics). The weight gradient has its own reduction kernel
//! (conv2d/wgrad.rs) instead of transposing batch and channels of both tensors. 1x1 convolutions
//! go through a tiled GEMM ([`matmul_raw`]), depthwise ones through a one-channel-per-invocation
//! variant of the gather.
//!
//! Tuned on lavapipe, where every load with a non-constant index runs lane by lane: the kernels
//! maximise FMAs per load, and use no workgroup memory in their inner loops. On devices with
//! 8-lane subgroups, the gather switches to variants whose 8 lanes share the pixel loads through
//! subgroupBroadcast and own 16, 32, 56 or 64 channels between them (`gather16` from 10
//! destination channels per group, `gather32` from 17, `gather64` from 48 on image-sized
//! launches, `gather56` for 49-56 there; see `Variant` in conv2d/gather.rs), and so does the
//! weight gradient from 10 output channels per group (`wgrad_sg`, conv2d/wgrad.rs). There,
//! `gather8` also reads the weights in their own layout (one scalar per lane and step, so no
//! packing pass), and `gather1`/`gather8`/`wgrad8` run 8 invocations per workgroup instead of
//! 64, so the few pixel blocks of a small image are not padded to 64 lanes. A depthwise 3x3 conv
//! on an image-sized launch gives each lane four destination rows instead of two
//! (`gather1s3v_dw`). For inference, a depthwise conv can hand its output to the 1x1 conv
//! reading it as pixel blocks, each 32-pixel block's channels together (conv2d/blocks.rs).

mod blocks;
pub(crate) mod gather;
pub(crate) mod gemm;
pub(crate) mod wgrad;

pub use blocks::{
    conv2d_from_pixel_blocks, conv2d_to_pixel_blocks, pixel_blocks_len, reads_pixel_blocks,
    writes_pixel_blocks,
};

use gather::{gather, gather_weights, pieces, GatherParams, Variant};
pub use gather::{with_wide64_from, WIDE64_CHANNELS, WIDE64_PIXELS};
pub use gemm::{matmul_raw, with_packed_gemm_from, PACKED_GEMM_COLUMNS};

use crate::gpu::{Gpu, Tensor};
use crate::ops::elementwise;
use crate::tape::{Tape, Var};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dCfg {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl Conv2dCfg {
    pub fn new(stride: usize, padding: usize, dilation: usize, groups: usize) -> Self {
        Conv2dCfg {
            stride,
            padding,
            dilation,
            groups,
        }
    }
}

impl Default for Conv2dCfg {
    fn default() -> Self {
        Conv2dCfg::new(1, 0, 1, 1)
    }
}

/// Output height and width (PyTorch's formula, floor division).
pub fn conv2d_out_hw(h: usize, w: usize, kh: usize, kw: usize, cfg: Conv2dCfg) -> (usize, usize) {
    assert!(
        cfg.stride >= 1 && cfg.dilation >= 1 && cfg.groups >= 1,
        "conv2d: stride, dilation and groups must be >= 1 (got {cfg:?})"
    );
    assert!(kh >= 1 && kw >= 1, "conv2d: empty kernel {kh}x{kw}");
    let span = |k: usize| cfg.dilation * (k - 1) + 1;
    let (ph, pw) = (h + 2 * cfg.padding, w + 2 * cfg.padding);
    assert!(
        ph >= span(kh) && pw >= span(kw),
        "conv2d: padded input {ph}x{pw} is smaller than the dilated kernel {}x{} ({cfg:?})",
        span(kh),
        span(kw)
    );
    (
        (ph - span(kh)) / cfg.stride + 1,
        (pw - span(kw)) / cfg.stride + 1,
    )
}

/// Shapes of one convolution, validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    ho: usize,
    wo: usize,
    cfg: Conv2dCfg,
}

impl Geom {
    fn new(x: &[usize], wshape: &[usize], cfg: Conv2dCfg, what: &str) -> Geom {
        assert_eq!(x.len(), 4, "{what}: input must be [N, C, H, W], got {x:?}");
        assert_eq!(
            wshape.len(),
            4,
            "{what}: weight must be [Cout, Cin/groups, kh, kw], got {wshape:?}"
        );
        let g = cfg.groups;
        assert!(g >= 1, "{what}: groups must be >= 1");
        let (n, cin, h, w) = (x[0], x[1], x[2], x[3]);
        let (cout, kh, kw) = (wshape[0], wshape[2], wshape[3]);
        assert!(
            cin % g == 0 && cout % g == 0,
            "{what}: groups {g} must divide Cin {cin} and Cout {cout}"
        );
        assert_eq!(
            wshape[1],
            cin / g,
            "{what}: weight {wshape:?} needs Cin/groups = {} in dim 1 (input {x:?}, groups {g})",
            cin / g
        );
        assert!(
            n > 0 && cin > 0 && cout > 0,
            "{what}: empty tensor ({x:?}, {wshape:?})"
        );
        let (ho, wo) = conv2d_out_hw(h, w, kh, kw, cfg);
        Geom {
            n,
            cin,
            h,
            w,
            cout,
            kh,
            kw,
            ho,
            wo,
            cfg,
        }
    }
    fn cin_g(&self) -> usize {
        self.cin / self.cfg.groups
    }
    fn cout_g(&self) -> usize {
        self.cout / self.cfg.groups
    }
    /// Weights per destination channel over all groups, for a gather reducing over `red`
    /// channels per group (`Variant::for_launch`).
    fn fan(&self, red: usize) -> usize {
        self.cfg.groups * red * self.kh * self.kw
    }
    fn y_shape(&self) -> [usize; 4] {
        [self.n, self.cout, self.ho, self.wo]
    }
    /// Whether the 1x1 GEMM path applies (a 1x1 tap with stride 1 reads exactly the output grid).
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.cfg.stride == 1 && self.cfg.padding == 0
    }
}

/// Panics with a clear message when a tensor cannot be bound in one piece.
pub(crate) fn check_binding(gpu: &Gpu, t: &Tensor, what: &str) {
    let max = gpu.max_binding_elems();
    assert!(
        t.numel() <= max,
        "{what}: tensor {:?} has {} elements, over the device's storage binding limit of {max}",
        t.shape(),
        t.numel()
    );
}

fn u(v: usize) -> u32 {
    u32::try_from(v).expect("conv2d: size does not fit in u32")
}

/// Forward convolution: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], b [Cout].
pub fn conv2d_raw(x: &Tensor, w: &Tensor, b: Option<&Tensor>, cfg: Conv2dCfg) -> Tensor {
    conv2d_raw_act(x, w, b, cfg, None)
}

/// Output rows `r0 .. r0 + rows` of [`conv2d_raw`] as a tensor of those rows, [N, Cout, rows,
/// Wout], each value the same sum as in the whole output (inference: an offset predictor whose
/// whole output would not fit one storage binding, src/eval/infer/band_predictor.rs). Needs
/// a `gather56` / `gather64` launch (8-lane subgroup kernels, at least 48 channels per group,
/// an image-sized band), which reads the rows' source rows from the whole of x.
pub fn conv2d_raw_rows(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    r0: usize,
    rows: usize,
) -> Tensor {
    let g = Geom::new(x.shape(), w.shape(), cfg, "conv2d");
    assert!(
        rows >= 1 && r0 + rows <= g.ho,
        "conv2d_raw_rows: rows {r0}..{} of {}",
        r0 + rows,
        g.ho
    );
    let gpu = x.gpu();
    let (og, red) = (g.cout_g(), g.cin_g());
    let pixels = g.n * rows * g.wo;
    let pieces = pieces(gpu, og, g.fan(red), pixels);
    assert!(
        pieces.iter().all(|pc| pc.variant.eight_lane_blocks()),
        "conv2d_raw_rows: only on gather56/64 launches ({og} channels per group, {pixels} pixels)"
    );
    let y = Tensor::empty(gpu, &[g.n, g.cout, rows, g.wo]);
    for (t, what) in [(x, "conv2d input"), (&y, "conv2d output rows")] {
        check_binding(gpu, t, what);
    }
    // Output row a of the launch is row r0 + a of the whole output: its taps start r0 * stride
    // rows further down the source.
    let p = GatherParams {
        oh: u(rows),
        rows: u(rows),
        tc0y: (r0 * cfg.stride) as i32 - cfg.padding as i32,
        ..forward_params(&g, og, red)
    };
    for piece in pieces {
        let (packed, wmode) = gather_weights(w, piece, cfg.groups, og, red, false);
        let p = GatherParams { wmode, ..p };
        gather(x, &packed, b, None, &y, p, piece);
    }
    y
}

/// [`conv2d_raw`] followed by LeakyReLU(`slope`) (ReLU: 0) in the same kernel, for inference.
pub fn conv2d_raw_act(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    act: Option<f32>,
) -> Tensor {
    forward(x, w, b, cfg, act, Layouts::default())
}

/// `act(conv2d(x) + addend)` with `addend` shaped like the output, for inference (a node's sum
/// in the plan, src/eval/infer/split_concat.rs): `gather56` / `gather64` add it in one loop after
/// their stores, every other launch runs the add and the activation as passes after the conv.
/// Either way each value is `addend + (conv + bias)` before the activation, as the separate
/// passes compute it.
pub fn conv2d_raw_act_add(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    act: Option<f32>,
    addend: &Tensor,
) -> Tensor {
    let layouts = Layouts {
        addend: Some(addend),
        ..Layouts::default()
    };
    forward(x, w, b, cfg, act, layouts)
}

/// Where a forward conv's input and output lie besides NCHW (conv2d/blocks.rs), and what it
/// adds.
#[derive(Clone, Copy, Default)]
struct Layouts<'a> {
    /// The input is pixel blocks of an image of this many rows and columns.
    src_blocks: Option<(usize, usize)>,
    /// The output goes out as pixel blocks.
    dst_blocks: bool,
    /// Added to the output before the activation (NCHW, the output's shape).
    addend: Option<&'a Tensor>,
}

fn forward(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: Conv2dCfg,
    act: Option<f32>,
    layouts: Layouts,
) -> Tensor {
    // A 1x1 conv over pixel blocks runs as one over a single row of all pixels; the output
    // [n, cout, 1, h w] is the NCHW [n, cout, h, w] it stands for.
    let xs = match layouts.src_blocks {
        Some((h, wd)) => [x.shape()[0], x.shape()[2], 1, h * wd],
        None => [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]],
    };
    let g = Geom::new(&xs, w.shape(), cfg, "conv2d");
    if let Some(b) = b {
        assert_eq!(
            b.shape(),
            [g.cout],
            "conv2d: bias must be [Cout] = [{}], got {:?}",
            g.cout,
            b.shape()
        );
    }
    let gpu = x.gpu();
    let (og, red) = (g.cout_g(), g.cin_g());
    let v = Variant::for_launch(gpu, og, g.fan(red), g.n * g.ho * g.wo);
    let pieces = pieces(gpu, og, g.fan(red), g.n * g.ho * g.wo);
    let y_shape = match (layouts.src_blocks, layouts.dst_blocks) {
        (Some((h, wd)), _) => [g.n, g.cout, h, wd],
        (None, true) => blocks::shape(g.n, g.cout, g.ho * g.wo),
        (None, false) => g.y_shape(),
    };
    // Only gather56/64 take an addend (conv2d.wgsl, `with_addend`); any other launch runs the add
    // and the activation as passes after the conv, the same sums.
    if let Some(addend) = layouts.addend {
        assert_eq!(addend.shape(), y_shape, "conv2d: addend shape");
        if pieces.iter().any(|pc| !pc.variant.eight_lane_blocks()) {
            let plain = Layouts {
                addend: None,
                ..layouts
            };
            let y = forward(x, w, b, cfg, None, plain);
            let sum = elementwise::add_raw(addend, &y);
            return match act {
                Some(slope) => elementwise::leaky_relu_raw(&sum, slope),
                None => sum,
            };
        }
    }
    let y = Tensor::empty(gpu, &y_shape);
    for (t, what) in [
        (x, "conv2d input"),
        (w, "conv2d weight"),
        (&y, "conv2d output"),
    ] {
        check_binding(gpu, t, what);
    }
    if g.pointwise() && og > 1 && !v.eight_lane_blocks() {
        assert!(
            layouts.src_blocks.is_none(),
            "conv2d: pixel blocks into the GEMM"
        );
        pointwise_gemm(w, cfg.groups, og, red, false, g.n, g.h * g.w, x, &y, b, act);
        return y;
    }
    let p = GatherParams {
        act: act.is_some() as u32,
        slope: act.unwrap_or(0.0),
        src_blk: layouts.src_blocks.is_some() as u32,
        dst_blk: layouts.dst_blocks as u32,
        ..forward_params(&g, og, red)
    };
    for piece in pieces {
        let (packed, wmode) = gather_weights(w, piece, cfg.groups, og, red, false);
        let p = GatherParams { wmode, ..p };
        gather(x, &packed, b, layouts.addend, &y, p, piece);
    }
    y
}

/// The gather parameters of a plain forward pass over the whole output (no activation,
/// NCHW source and destination; `gather` sets the grid fields).
fn forward_params(g: &Geom, og: usize, red: usize) -> GatherParams {
    let cfg = g.cfg;
    GatherParams {
        n: u(g.n),
        cin: u(g.cin),
        ih: u(g.h),
        iw: u(g.w),
        cout: u(g.cout),
        oh: u(g.ho),
        ow: u(g.wo),
        red: u(red),
        og: u(og),
        kh: u(g.kh),
        kw: u(g.kw),
        rows: u(g.ho),
        cols: u(g.wo),
        in_mul: u(cfg.stride),
        out_mul: 1,
        tc0y: -(cfg.padding as i32),
        tc0x: -(cfg.padding as i32),
        tsgn: 1,
        tdiv: 1,
        dil: u(cfg.dilation),
        ..Default::default()
    }
}

/// A 1x1 stride-1 conv (or its input gradient, `transposed`) as one grouped GEMM per image:
/// `dst[n, g*og..] = W_g (og x red) * src[n, g*red..]` over `hw` pixels. Not where gather56/64
/// applies (>= 48 destination channels per group on image-sized launches, subgroup kernels):
/// there its 8 lanes share each source load by broadcast, and on lavapipe a 1x1 conv at 64-176
/// channels ran about 2x faster than this GEMM's per-lane vec4 loads of B (docs/perf-log.md).
#[allow(clippy::too_many_arguments)]
fn pointwise_gemm(
    w: &Tensor,
    groups: usize,
    og: usize,
    red: usize,
    transposed: bool,
    n: usize,
    hw: usize,
    src: &Tensor,
    dst: &Tensor,
    bias: Option<&Tensor>,
    act: Option<f32>,
) {
    gemm::gemm(&gemm::Job {
        a: w,
        a_transposed: transposed,
        m: og,
        k: red,
        n: hw,
        groups,
        batches: n,
        b: src,
        b_nstride: groups * red * hw,
        b_gstride: red * hw,
        c: dst,
        c_nstride: groups * og * hw,
        c_gstride: og * hw,
        bias,
        act,
    });
}

/// Input gradient: the transposed convolution of `gy` [N, Cout, Hout, Wout], gathered per stride
/// phase. `x_shape` is needed because several input sizes give the same output size.
pub fn conv2d_backward_input(gy: &Tensor, w: &Tensor, x_shape: &[usize], cfg: Conv2dCfg) -> Tensor {
    let g = Geom::new(x_shape, w.shape(), cfg, "conv2d_backward_input");
    assert_eq!(
        gy.shape(),
        g.y_shape(),
        "conv2d_backward_input: output gradient must be {:?} for input {x_shape:?}",
        g.y_shape()
    );
    let gpu = gy.gpu();
    let dx = Tensor::empty(gpu, x_shape);
    for (t, what) in [
        (gy, "conv2d output gradient"),
        (w, "conv2d weight"),
        (&dx, "conv2d input gradient"),
    ] {
        check_binding(gpu, t, what);
    }
    // Destination = input channels, reduction = output channels of the group.
    let (og, red) = (g.cin_g(), g.cout_g());
    let v = Variant::for_launch(gpu, og, g.fan(red), g.n * g.h * g.w);
    if g.pointwise() && og > 1 && !v.eight_lane_blocks() {
        pointwise_gemm(
            w,
            cfg.groups,
            og,
            red,
            true,
            g.n,
            g.h * g.w,
            gy,
            &dx,
            None,
            None,
        );
        return dx;
    }
    let s = cfg.stride;
    for piece in pieces(gpu, og, g.fan(red), g.n * g.h * g.w) {
        let (packed, wmode) = gather_weights(w, piece, cfg.groups, og, red, true);
        for py in 0..s.min(g.h) {
            for pxx in 0..s.min(g.w) {
                let p = GatherParams {
                    n: u(g.n),
                    cin: u(g.cout),
                    ih: u(g.ho),
                    iw: u(g.wo),
                    cout: u(g.cin),
                    oh: u(g.h),
                    ow: u(g.w),
                    red: u(red),
                    og: u(og),
                    kh: u(g.kh),
                    kw: u(g.kw),
                    rows: u((g.h - py).div_ceil(s)),
                    cols: u((g.w - pxx).div_ceil(s)),
                    in_mul: 1,
                    out_mul: u(s),
                    out_y0: u(py),
                    out_x0: u(pxx),
                    tc0y: (py + cfg.padding) as i32,
                    tc0x: (pxx + cfg.padding) as i32,
                    tsgn: -1,
                    tdiv: s as i32,
                    dil: u(cfg.dilation),
                    wmode,
                    ..Default::default()
                };
                gather(gy, &packed, None, None, &dx, p, piece);
            }
        }
    }
    dx
}

/// Weight gradient `[Cout, Cin/groups, kh, kw]` by its own reduction kernel (see [`wgrad`]).
pub fn conv2d_backward_weight(
    gy: &Tensor,
    x: &Tensor,
    w_shape: &[usize],
    cfg: Conv2dCfg,
) -> Tensor {
    let g = Geom::new(x.shape(), w_shape, cfg, "conv2d_backward_weight");
    assert_eq!(
        gy.shape(),
        g.y_shape(),
        "conv2d_backward_weight: output gradient must be {:?} for input {:?}",
        g.y_shape(),
        x.shape()
    );
    wgrad::weight_grad(gy, x, &g)
}

/// Bias gradient `[Cout]`: the sum of `gy` over batch and pixels.
pub fn conv2d_backward_bias(gy: &Tensor) -> Tensor {
    assert_eq!(
        gy.shape().len(),
        4,
        "conv2d_backward_bias: gy must be [N, Cout, H, W], got {:?}",
        gy.shape()
    );
    wgrad::bias_grad(gy)
}

/// Differentiable convolution on the tape. Saves only what the needed gradients read.
pub fn conv2d(t: &mut Tape, x: &Var, w: &Var, b: Option<&Var>, cfg: Conv2dCfg) -> Var {
    let y = conv2d_raw(x.value(), w.value(), b.map(|b| b.value()), cfg);
    let mut inputs = vec![x, w];
    inputs.extend(b);
    let record = t.wants_grad(&inputs);
    let ws = (record && x.needs_grad()).then(|| w.value().clone());
    let xs = (record && w.needs_grad()).then(|| x.value().clone());
    let (x_shape, w_shape) = (x.shape().to_vec(), w.shape().to_vec());
    let has_bias = b.is_some();
    t.record(
        y,
        &inputs,
        Box::new(move |gy, needs| {
            let mut out = vec![
                needs[0].then(|| conv2d_backward_input(gy, ws.as_ref().unwrap(), &x_shape, cfg)),
                needs[1].then(|| conv2d_backward_weight(gy, xs.as_ref().unwrap(), &w_shape, cfg)),
            ];
            if has_bias {
                out.push(needs[2].then(|| conv2d_backward_bias(gy)));
            }
            out
        }),
    )
}
