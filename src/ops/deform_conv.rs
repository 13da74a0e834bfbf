//! Deformable convolution (DCNv1, and modulated DCNv2 with a mask), with exactly the semantics
//! of `torchvision.ops.deform_conv2d`: offset channel 2*(g*kh*kw + i*kw + j) is the y shift of
//! tap (i, j) in offset group g and the next channel its x shift; samples are bilinear with zeros
//! outside the image. Forward = deform-im2col (shaders/deform_conv.wgsl) + a strided matmul
//! (shaders/deform_conv_mm.wgsl); the backward is in ops/deform_conv_backward.rs. The design and
//! its trade-offs are in docs/deform_conv.md.
//!
//! The column matrix is Cin*kh*kw times larger than the output positions, so the work runs in
//! chunks of whole images (or, for very large images, of positions of one image) small enough
//! for one storage binding (128 MiB on lavapipe).

use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};
use crate::ops::elementwise;
use crate::tape::{Tape, Var};
use std::cell::Cell;

pub(crate) const K_SAMPLE: Kernel = crate::kernel!("deform_conv");
pub(crate) const K_MM: Kernel = crate::kernel!("deform_conv_mm");
const K_PACK: Kernel = crate::kernel!("deform_conv_pack");

/// Hyper-parameters of a deformable convolution (square stride/padding/dilation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeformCfg {
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    /// Weight groups: Cin and Cout are split into this many independent convolutions.
    pub groups: usize,
    /// Offset groups: Cin is split into this many groups that share one offset (and mask) field.
    pub offset_groups: usize,
}

impl Default for DeformCfg {
    fn default() -> Self {
        DeformCfg {
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            offset_groups: 1,
        }
    }
}

/// Shapes of one call, checked once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geom {
    pub n: usize,
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub hout: usize,
    pub wout: usize,
    pub cfg: DeformCfg,
    pub has_mask: bool,
}

impl Geom {
    pub fn new(
        x: &[usize],
        offset: &[usize],
        mask: Option<&[usize]>,
        w: &[usize],
        b: Option<&[usize]>,
        cfg: DeformCfg,
    ) -> Geom {
        assert!(
            x.len() == 4 && w.len() == 4,
            "deform_conv2d: input {x:?} and weight {w:?} must be 4-D"
        );
        let (n, cin, h, wd) = (x[0], x[1], x[2], x[3]);
        let (cout, cig, kh, kw) = (w[0], w[1], w[2], w[3]);
        let DeformCfg {
            stride,
            padding,
            dilation,
            groups,
            offset_groups: og,
        } = cfg;
        assert!(
            stride > 0 && dilation > 0 && groups > 0 && og > 0,
            "deform_conv2d: stride, dilation and groups must be positive ({cfg:?})"
        );
        assert!(
            n > 0 && cin > 0 && h > 0 && wd > 0 && cout > 0 && kh > 0 && kw > 0,
            "deform_conv2d: empty input {x:?} or weight {w:?}"
        );
        assert!(
            cin % groups == 0 && cout % groups == 0 && cig == cin / groups,
            "deform_conv2d: weight {w:?} does not match input {x:?} with {groups} groups"
        );
        assert!(
            cin % og == 0,
            "deform_conv2d: {cin} input channels are not divisible by {og} offset groups"
        );
        let span_h = dilation * (kh - 1) + 1;
        let span_w = dilation * (kw - 1) + 1;
        assert!(
            h + 2 * padding >= span_h && wd + 2 * padding >= span_w,
            "deform_conv2d: kernel {kh}x{kw} (dilation {dilation}) larger than the padded input {x:?}"
        );
        let hout = (h + 2 * padding - span_h) / stride + 1;
        let wout = (wd + 2 * padding - span_w) / stride + 1;
        let want_off = [n, 2 * og * kh * kw, hout, wout];
        assert_eq!(
            offset, want_off,
            "deform_conv2d: offset shape (input {x:?}, weight {w:?}, {cfg:?})"
        );
        if let Some(m) = mask {
            let want = [n, og * kh * kw, hout, wout];
            assert_eq!(m, want, "deform_conv2d: mask shape");
        }
        if let Some(b) = b {
            assert_eq!(b, [cout], "deform_conv2d: bias shape");
        }
        Geom {
            n,
            cin,
            h,
            w: wd,
            cout,
            kh,
            kw,
            hout,
            wout,
            cfg,
            has_mask: mask.is_some(),
        }
    }

    pub fn kk(&self) -> usize {
        self.kh * self.kw
    }
    /// Output positions per image.
    pub fn p(&self) -> usize {
        self.hout * self.wout
    }
    /// Rows of the column matrix: Cin * kh * kw.
    pub fn rows(&self) -> usize {
        self.cin * self.kk()
    }
    /// Reduction length of one weight group: Cin/groups * kh * kw.
    pub fn kg(&self) -> usize {
        self.cin / self.cfg.groups * self.kk()
    }
    /// Output channels per weight group.
    pub fn cog(&self) -> usize {
        self.cout / self.cfg.groups
    }
    pub fn og(&self) -> usize {
        self.cfg.offset_groups
    }
    pub fn out_shape(&self) -> [usize; 4] {
        [self.n, self.cout, self.hout, self.wout]
    }

    /// Every tensor is bound whole, so each must fit one storage binding.
    pub fn check_bindable(&self, gpu: &Gpu) {
        let lim = gpu.max_binding_elems();
        let (x, y) = (
            self.n * self.cin * self.h * self.w,
            self.n * self.cout * self.p(),
        );
        let off = self.n * 2 * self.og() * self.kk() * self.p();
        assert!(
            x <= lim && y <= lim && off <= lim,
            "deform_conv2d: input ({x}), output ({y}) or offset ({off} values) exceeds one GPU \
             binding ({lim} values): split the batch"
        );
    }
}

/// A slice of the work: images b0..b0+nb, output positions p0..p0+np of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub b0: usize,
    pub nb: usize,
    pub p0: usize,
    pub np: usize,
}

impl Chunk {
    /// Columns of this chunk's column matrix.
    pub fn cols(&self) -> usize {
        self.nb * self.np
    }
}

thread_local! {
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs `f` with the per-buffer chunk budget (in f32 elements) forced to `elems`, so tests can
/// exercise the chunked paths on small shapes. Thread-local; restored afterwards.
#[doc(hidden)]
pub fn with_chunk_budget<R>(elems: usize, f: impl FnOnce() -> R) -> R {
    let prev = BUDGET.with(|b| b.replace(Some(elems)));
    let r = f();
    BUDGET.with(|b| b.set(prev));
    r
}

/// Largest element count whose pooled buffer (the pool rounds up to 2^k or 1.5*2^k bytes) still
/// fits one storage binding.
fn binding_budget(gpu: &Gpu) -> usize {
    if let Some(b) = BUDGET.with(|b| b.get()) {
        return b;
    }
    let limit = gpu
        .limits()
        .max_storage_buffer_binding_size
        .min(gpu.limits().max_buffer_size)
        .max(1024);
    let mut best = 1u64 << (63 - limit.leading_zeros());
    if best / 2 * 3 <= limit {
        best = best / 2 * 3;
    }
    (best / 4) as usize
}

/// Splits the batch into chunks whose column matrix, its gradient and the input-gradient entry
/// list (8 words per sample point and offset group) each fit the budget. Also keeps workgroup
/// counts within 65535 per dimension.
pub(crate) fn plan(g: &Geom, gpu: &Gpu) -> Vec<Chunk> {
    plan_with(g, binding_budget(gpu))
}

fn plan_with(g: &Geom, budget: usize) -> Vec<Chunk> {
    let p = g.p();
    let rows = g.rows().max(8 * g.og() * g.kk());
    let buckets = g.og() * g.h * g.w;
    assert!(
        buckets < budget && rows * 4 <= budget,
        "deform_conv2d: input planes {}x{} with {} offset groups exceed one GPU binding",
        g.h,
        g.w,
        g.og()
    );
    let mut out = Vec::new();
    if rows * p <= budget {
        let most = (budget / (rows * p))
            .min((budget - 1) / buckets)
            .min(65535 / g.cfg.groups)
            .clamp(1, g.n);
        // As few chunks as the budget allows, of (nearly) equal size.
        let count = g.n.div_ceil(most);
        let nb = g.n.div_ceil(count);
        let mut b0 = 0;
        while b0 < g.n {
            let nb = nb.min(g.n - b0);
            out.push(Chunk {
                b0,
                nb,
                p0: 0,
                np: p,
            });
            b0 += nb;
        }
    } else {
        // Parts of one image; multiples of 4 positions keep the vector-load matmuls usable.
        let np = (budget / rows / 4 * 4).clamp(4, 65535 * 64);
        for b0 in 0..g.n {
            let mut p0 = 0;
            while p0 < p {
                let np = np.min(p - p0);
                out.push(Chunk { b0, nb: 1, p0, np });
                p0 += np;
            }
        }
    }
    out
}

/// Uniform block of shaders/deform_conv.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GeoParams {
    cin: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    hout: u32,
    wout: u32,
    stride: u32,
    pad: u32,
    dil: u32,
    og: u32,
    cpg: u32,
    nb: u32,
    b0: u32,
    np: u32,
    p0: u32,
    nc: u32,
    has_mask: u32,
    nsamp: u32,
    write_col: u32,
    col_rs: u32,
    col_cs: u32,
    s0: u32,
    s1: u32,
}

impl GeoParams {
    pub fn new(g: &Geom, c: &Chunk) -> GeoParams {
        let u = |v: usize| u32::try_from(v).expect("deform_conv2d: size exceeds u32");
        GeoParams {
            cin: u(g.cin),
            h: u(g.h),
            w: u(g.w),
            kh: u(g.kh),
            kw: u(g.kw),
            hout: u(g.hout),
            wout: u(g.wout),
            stride: u(g.cfg.stride),
            pad: u(g.cfg.padding),
            dil: u(g.cfg.dilation),
            og: u(g.og()),
            cpg: u(g.cin / g.og()),
            nb: u(c.nb),
            b0: u(c.b0),
            np: u(c.np),
            p0: u(c.p0),
            nc: u(c.cols()),
            has_mask: g.has_mask as u32,
            nsamp: u(g.og() * g.kk() * c.cols()),
            write_col: 0,
            col_rs: u(c.cols()),
            col_cs: 1,
            s0: 0,
            s1: u(g.og() * g.kk() * c.cols()),
        }
    }

    /// Columns stored transposed, [chunk columns, Cin*kh*kw] (for the weight gradient).
    pub fn transposed_columns(mut self, g: &Geom) -> GeoParams {
        self.col_rs = 1;
        self.col_cs = u(g.rows());
        self
    }

    /// `coord` also writes the columns.
    pub fn with_columns(mut self) -> GeoParams {
        self.write_col = 1;
        self
    }
    pub fn nsamp(&self) -> usize {
        self.nsamp as usize
    }

    /// Restricts a dispatch to the sample points of the (offset group, tap) pairs `taps`
    /// (sample points are ordered group, tap, image, position).
    pub fn only_taps(mut self, taps: std::ops::Range<usize>) -> GeoParams {
        let per = self.nb * self.np;
        self.s0 = u(taps.start) * per;
        self.s1 = u(taps.end) * per;
        self
    }
}

/// The buffers of shaders/deform_conv.wgsl in binding order (1..=10); unused ones are `dummy`.
pub(crate) struct SampleBinds<'a> {
    pub offset: &'a Tensor,
    pub mask: Option<&'a Tensor>,
    pub x: Option<&'a Tensor>,
    pub col: Option<&'a Tensor>,
    pub gcol: Option<&'a Tensor>,
    pub goff: Option<&'a Tensor>,
    pub gmask: Option<&'a Tensor>,
    pub cnt: Option<&'a Tensor>,
    pub start: Option<&'a Tensor>,
    pub ent: Option<&'a Tensor>,
}

impl<'a> SampleBinds<'a> {
    pub fn new(offset: &'a Tensor, mask: Option<&'a Tensor>) -> Self {
        SampleBinds {
            offset,
            mask,
            x: None,
            col: None,
            gcol: None,
            goff: None,
            gmask: None,
            cnt: None,
            start: None,
            ent: None,
        }
    }

    /// Dispatches `entry` over the sample points of a chunk.
    pub fn run(&self, entry: &'static str, p: &GeoParams) {
        let gpu = self.offset.gpu();
        let o = self.offset.buffer();
        // An absent mask is never read (has_mask = 0) but still bound: the offset buffer stands
        // in for it and for the other read-only bindings an entry point does not use; a tiny
        // scratch tensor for the writable ones (a buffer may not be bound read and read-write).
        let scratch = Tensor::empty(gpu, &[1]);
        let r = |t: Option<&'a Tensor>| t.map_or(o, |t| t.buffer());
        let rw = |t: Option<&'a Tensor>| t.map_or(scratch.buffer(), |t| t.buffer());
        let bufs = [
            o,
            r(self.mask),
            r(self.x),
            rw(self.col),
            r(self.gcol),
            rw(self.goff),
            rw(self.gmask),
            rw(self.cnt),
            r(self.start),
            rw(self.ent),
        ];
        gpu.dispatch(
            &K_SAMPLE,
            entry,
            p,
            &bufs,
            grid_1d((p.s1 - p.s0) as usize, 64),
        );
    }
}

/// Uniform block of shaders/deform_conv_mm.wgsl. Operand addressing:
/// A(m, kb, k) = a[a.off + z1*a.z1 + z2*a.z2 + m*a.sm + kb*a.skb + k*a.sk],
/// B(kb, k, n) = b[b.off + z1*b.z1 + z2*b.z2 + kb*b.skb + k*b.sk + n*b.sn],
/// C(m, n)     = c[c.off + z1*c.z1 + z2*c.z2 + m*c.sm + n*c.sn].
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Mm {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub kb: u32,
    pub z2: u32,
    pub flags: u32,
    pub _p0: [u32; 2],
    pub a_off: u32,
    pub a_sm: u32,
    pub a_sk: u32,
    pub a_skb: u32,
    pub a_z1: u32,
    pub a_z2: u32,
    pub b_off: u32,
    pub b_sk: u32,
    pub b_sn: u32,
    pub b_skb: u32,
    pub b_z1: u32,
    pub b_z2: u32,
    pub c_off: u32,
    pub c_sm: u32,
    pub c_sn: u32,
    pub c_z1: u32,
    pub c_z2: u32,
    pub bias_z2: u32,
    pub _p2: [u32; 2],
}

pub(crate) const MM_ACCUMULATE: u32 = 1;
pub(crate) const MM_BIAS: u32 = 2;

/// Launches the matmul over `z1 * p.z2` (image, group) pairs, with vector loads where the
/// strides allow them (every output position count divisible by 4, i.e. all real image sizes).
pub(crate) fn matmul(p: &Mm, z1: usize, a: &Tensor, b: &Tensor, bias: Option<&Tensor>, c: &Tensor) {
    let gpu = a.gpu();
    let al = |v: &[u32]| v.iter().all(|x| x % 4 == 0);
    let entry = if p.b_sn == 1 && al(&[p.n, p.b_off, p.b_sk, p.b_skb, p.b_z1, p.b_z2]) {
        "mm_nn4"
    } else {
        "mm"
    };
    let gx = (p.m as usize).div_ceil(8);
    let gy = (p.n as usize).div_ceil(64);
    let gz = z1 * p.z2 as usize;
    assert!(
        gx <= 65535 && gy <= 65535 && gz <= 65535,
        "deform_conv2d: matmul grid {gx}x{gy}x{gz} too large"
    );
    let bias = bias.unwrap_or(a);
    let (a, b) = (a.buffer(), b.buffer());
    gpu.dispatch(
        &K_MM,
        entry,
        p,
        &[a, b, bias.buffer(), c.buffer(), b],
        [gx as u32, gy as u32, gz as u32],
    );
}

pub(crate) fn u(v: usize) -> u32 {
    u32::try_from(v).expect("deform_conv2d: size exceeds u32")
}

/// The deform-im2col columns [Cin*kh*kw, chunk columns] of one chunk (mask applied).
fn im2col(g: &Geom, c: &Chunk, x: &Tensor, offset: &Tensor, mask: Option<&Tensor>) -> Tensor {
    let col = Tensor::empty(x.gpu(), &[g.rows(), c.cols()]);
    let mut sb = SampleBinds::new(offset, mask);
    sb.x = Some(x);
    sb.col = Some(&col);
    sb.run("im2col", &GeoParams::new(g, c));
    col
}

/// Forward: y = deform_conv2d(x, offset, mask, w, b) as torchvision computes it.
pub fn deform_conv2d_raw(
    x: &Tensor,
    offset: &Tensor,
    mask: Option<&Tensor>,
    w: &Tensor,
    b: Option<&Tensor>,
    cfg: DeformCfg,
) -> Tensor {
    let g = Geom::new(
        x.shape(),
        offset.shape(),
        mask.map(|m| m.shape()),
        w.shape(),
        b.map(|b| b.shape()),
        cfg,
    );
    let gpu = x.gpu();
    g.check_bindable(gpu);
    let y = Tensor::empty(gpu, &g.out_shape());
    let (p, cog, kg, groups) = (g.p(), g.cog(), g.kg(), g.cfg.groups);
    for c in plan(&g, gpu) {
        let col = im2col(&g, &c, x, offset, mask);
        // y[b, grp*cog + o, p0 + pl] = sum_ck W[grp*cog + o, ck] * col[grp*kg + ck, bi*np + pl]
        let mm = Mm {
            m: u(cog),
            n: u(c.np),
            k: u(kg),
            kb: 1,
            z2: u(groups),
            flags: if b.is_some() { MM_BIAS } else { 0 },
            a_sm: u(kg),
            a_sk: 1,
            a_z2: u(cog * kg),
            b_sk: u(c.cols()),
            b_sn: 1,
            b_z1: u(c.np),
            b_z2: u(kg * c.cols()),
            c_off: u(c.b0 * g.cout * p + c.p0),
            c_sm: u(p),
            c_sn: 1,
            c_z1: u(g.cout * p),
            c_z2: u(cog * p),
            bias_z2: u(cog),
            ..Mm::default()
        };
        matmul(&mm, c.nb, w, &col, b, &y);
    }
    y
}

/// Tape-level deformable convolution. Gradients flow to every input that needs one.
pub fn deform_conv2d(
    t: &mut Tape,
    x: &Var,
    offset: &Var,
    mask: Option<&Var>,
    w: &Var,
    b: Option<&Var>,
    cfg: DeformCfg,
) -> Var {
    let out = deform_conv2d_raw(
        x.value(),
        offset.value(),
        mask.map(|m| m.value()),
        w.value(),
        b.map(|b| b.value()),
        cfg,
    );
    let mut inputs: Vec<&Var> = vec![x, offset];
    inputs.extend(mask);
    inputs.push(w);
    inputs.extend(b);
    let saved = t.wants_grad(&inputs).then(|| {
        (
            x.value().clone(),
            offset.value().clone(),
            mask.map(|m| m.value().clone()),
            w.value().clone(),
        )
    });
    let has_mask = mask.is_some();
    let has_bias = b.is_some();
    t.record(
        out,
        &inputs,
        Box::new(move |gy, needs| {
            let (x, offset, mask, w) = saved.expect("recorded without saved inputs");
            let mut it = needs.iter().copied();
            let need_x = it.next().unwrap();
            let need_off = it.next().unwrap();
            let need_mask = has_mask && it.next().unwrap();
            let need_w = it.next().unwrap();
            let need_b = has_bias && it.next().unwrap();
            let gr = super::deform_conv_backward::deform_conv2d_backward(
                &x,
                &offset,
                mask.as_ref(),
                &w,
                gy,
                cfg,
                super::deform_conv_backward::DeformNeeds {
                    x: need_x,
                    offset: need_off,
                    mask: need_mask,
                    weight: need_w,
                    bias: need_b,
                },
            );
            let mut v = vec![gr.x, gr.offset];
            if has_mask {
                v.push(gr.mask);
            }
            v.push(gr.weight);
            if has_bias {
                v.push(gr.bias);
            }
            v
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// The DCNv2 layer of the search space (HiNAS CVPR: ReLU -> DCN(k, stride 1, pad k/2,
// deformable_groups 2) -> BN, from the DCNv2 package) is composed from ops later:
//
//   pred          = conv2d(x, w_om, b_om, stride, pad, dilation)   // [N, 3*og*kh*kw, Hout, Wout]
//                   // w_om and b_om initialised to ZERO: offsets 0, mask sigmoid(0) = 0.5,
//                   // so the layer starts as a plain conv scaled by 1/2
//   (off, mask)   = split_offset_mask(t, &pred, og, kh, kw)        // chunk(3) + cat + sigmoid
//   y             = deform_conv2d(t, &x, &off, Some(&mask), &w, b, cfg)
//
// exactly as DCNv2's `DCN` module (and mmcv's ModulatedDeformConv2dPack): o1, o2, m =
// chunk(pred, 3, dim=1); offset = cat(o1, o2); mask = sigmoid(m). The predictor conv uses the
// same stride, padding and dilation as the deformable conv so its output has the output's size.
// ---------------------------------------------------------------------------------------------

/// Channels the offset/mask predictor conv of a DCNv2 layer must output: 3 * og * kh * kw.
pub fn offset_mask_channels(offset_groups: usize, kh: usize, kw: usize) -> usize {
    3 * offset_groups * kh * kw
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SliceParams {
    n: u32,
    ct: u32,
    cs: u32,
    c0: u32,
    hw: u32,
    _p: [u32; 3],
}

fn slice_params(shape: &[usize], c0: usize, cs: usize) -> SliceParams {
    SliceParams {
        n: u(shape[0] * cs * shape[2] * shape[3]),
        ct: u(shape[1]),
        cs: u(cs),
        c0: u(c0),
        hw: u(shape[2] * shape[3]),
        _p: [0; 3],
    }
}

/// Channels [c0, c0 + cs) of an NCHW tensor, as a new tensor.
pub fn channel_slice_raw(x: &Tensor, c0: usize, cs: usize) -> Tensor {
    let s = x.shape();
    assert!(
        s.len() == 4 && c0 + cs <= s[1],
        "channel_slice: {c0}+{cs} of {s:?}"
    );
    let out = Tensor::empty(x.gpu(), &[s[0], cs, s[2], s[3]]);
    let p = slice_params(s, c0, cs);
    if p.n > 0 {
        x.gpu().dispatch(
            &K_PACK,
            "slice",
            &p,
            &[x.buffer(), out.buffer()],
            grid_1d(p.n as usize, 256),
        );
    }
    out
}

/// Gradient of [`channel_slice_raw`]: `gy` placed at channels [c0, c0 + cs) of a zero tensor.
pub fn channel_slice_backward(gy: &Tensor, full_shape: &[usize], c0: usize) -> Tensor {
    let out = Tensor::zeros(gy.gpu(), full_shape);
    let p = slice_params(full_shape, c0, gy.shape()[1]);
    if p.n > 0 {
        gy.gpu().dispatch(
            &K_PACK,
            "unslice",
            &p,
            &[gy.buffer(), out.buffer()],
            grid_1d(p.n as usize, 256),
        );
    }
    out
}

pub fn channel_slice(t: &mut Tape, x: &Var, c0: usize, cs: usize) -> Var {
    let out = channel_slice_raw(x.value(), c0, cs);
    let shape = x.shape().to_vec();
    t.record(
        out,
        &[x],
        Box::new(move |g, _| vec![Some(channel_slice_backward(g, &shape, c0))]),
    )
}

/// Splits the DCNv2 predictor output [N, 3*og*kh*kw, H, W] into (offset, mask): the first
/// 2*og*kh*kw channels are the offsets, the last og*kh*kw the mask logits, through a sigmoid.
pub fn split_offset_mask(
    t: &mut Tape,
    pred: &Var,
    offset_groups: usize,
    kh: usize,
    kw: usize,
) -> (Var, Var) {
    let n_off = 2 * offset_groups * kh * kw;
    assert_eq!(
        pred.shape().get(1).copied(),
        Some(offset_mask_channels(offset_groups, kh, kw)),
        "split_offset_mask: predictor output {:?} for {offset_groups} offset groups, {kh}x{kw}",
        pred.shape()
    );
    let offset = channel_slice(t, pred, 0, n_off);
    let logits = channel_slice(t, pred, n_off, n_off / 2);
    let mask = elementwise::sigmoid(t, &logits);
    (offset, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(x: [usize; 4], k: usize, og: usize) -> Geom {
        let cfg = DeformCfg {
            padding: k / 2,
            offset_groups: og,
            ..DeformCfg::default()
        };
        let off = [x[0], 2 * og * k * k, x[2], x[3]];
        Geom::new(&x, &off, None, &[x[1], x[1], k, k], None, cfg)
    }

    /// Every (image, position) exactly once, and every chunk within the budget.
    fn check_cover(g: &Geom, chunks: &[Chunk], budget: usize) {
        let rows = g.rows().max(8 * g.og() * g.kk());
        let mut seen = vec![0u8; g.n * g.p()];
        for c in chunks {
            assert!(c.cols() * rows <= budget, "{c:?} over budget");
            assert!(c.nb * g.og() * g.h * g.w < budget);
            for b in c.b0..c.b0 + c.nb {
                for p in c.p0..c.p0 + c.np {
                    seen[b * g.p() + p] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn chunks_fit_a_128_mib_binding_and_are_balanced() {
        let budget = 1 << 25; // lavapipe: 128 MiB of f32
        let g = geom([16, 64, 64, 64], 3, 1);
        let chunks = plan_with(&g, budget);
        // 151 MB of columns: two chunks of 8 images.
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| c.nb == 8 && c.np == 4096));
        check_cover(&g, &chunks, budget);
        let g = geom([5, 3, 7, 6], 3, 1);
        assert_eq!(plan_with(&g, budget).len(), 1);
    }

    #[test]
    fn large_images_are_split_into_runs_of_positions() {
        let g = geom([2, 64, 300, 301], 3, 2);
        let budget = 1 << 22;
        let chunks = plan_with(&g, budget);
        assert!(chunks.iter().all(|c| c.nb == 1 && c.p0 % 4 == 0));
        assert!(chunks.len() > 2);
        check_cover(&g, &chunks, budget);
    }
}
