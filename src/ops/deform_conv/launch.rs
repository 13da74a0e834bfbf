//! The launchers of the deformable convolution's kernels: the per-sample-point passes of
//! shaders/deform_conv.wgsl ([`SampleBinds`]) and the strided matmul of
//! shaders/deform_conv_mm.wgsl ([`matmul`]).

use super::plan::{Chunk, Geom};
use crate::gpu::{Kernel, Tensor};

pub(crate) const K_SAMPLE: Kernel = crate::kernel!("deform_conv");
/// The strided matmul, every lane loading its A values itself.
pub(crate) const K_MM: Kernel = crate::kernel!("deform_conv_mm", "deform_conv_mm_plain");
/// The same with one A load per lane shared by subgroupBroadcast (8-lane subgroup devices).
pub(crate) const K_MM_SG: Kernel =
    crate::kernel!("deform_conv_mm_sg", "deform_conv_mm_sg", subgroups);

/// Sample points per invocation of `dx_fill_seq` (`SEQ` in shaders/deform_conv.wgsl).
const FILL_SEQ: usize = 64;

crate::uniform! {
    /// Uniform block of shaders/deform_conv.wgsl.
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
        cout: u32,
        pub o0: u32,
        pub on: u32,
        pub has_bias: u32,
        pub off_cs: u32,
        pub mask_cs: u32,
        pub mask_c0: u32,
        pub mask_logits: u32,
        pub off_slot: u32,
        /// `coord` also counts the touches per input-gradient bucket (dx_count's work).
        pub count_dx: u32,
        /// `direct4`: the predictor output's positions per channel plane and the first position
        /// it holds (a band of rows; direct.rs). The whole output: hout * wout and 0.
        pub om_np: u32,
        pub om_p0: u32,
        /// `direct4`: an addend of the output's shape is added in the store.
        pub has_add: u32,
    }
}

impl GeoParams {
    pub fn new(g: &Geom, c: &Chunk) -> GeoParams {
        let u = |v: usize| u32::try_from(v).expect("deform_conv2d: size exceeds u32");
        let taps = g.og() * g.kk();
        // Channels per image of the offset and mask tensors, and the mask's first channel.
        let (off_cs, mask_cs, mask_c0) = if g.packed {
            (3 * taps, 3 * taps, 2 * taps)
        } else {
            (2 * taps, taps, 0)
        };
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
            cout: u(g.cout),
            o0: 0,
            on: 0,
            has_bias: 0,
            off_cs: u(off_cs),
            mask_cs: u(mask_cs),
            mask_c0: u(mask_c0),
            mask_logits: g.packed as u32,
            off_slot: u32::MAX,
            count_dx: 0,
            om_np: u(g.hout * g.wout),
            om_p0: 0,
            has_add: 0,
        }
    }

    /// Columns stored transposed, [chunk columns, Cin*kh*kw] (for the weight gradient).
    pub fn transposed_columns(mut self, g: &Geom) -> GeoParams {
        self.col_rs = 1;
        self.col_cs = u(g.rows());
        self
    }

    /// Whether `im2col4` (four positions per invocation, vec4 offsets, mask and column stores)
    /// applies: untransposed columns and every position range aligned to 4.
    pub fn four_aligned(&self) -> bool {
        self.col_cs == 1
            && [
                self.np,
                self.p0,
                self.hout * self.wout,
                self.col_rs,
                self.s0,
                self.s1,
            ]
            .iter()
            .all(|v| v % 4 == 0)
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

/// The buffers of shaders/deform_conv.wgsl in binding order (1..=10, then the vec4 views 11..=13
/// of offset, mask and col); unused ones are `dummy`.
pub(crate) struct SampleBinds<'a> {
    pub offset: &'a Tensor,
    pub mask: Option<&'a Tensor>,
    pub x: Option<&'a Tensor>,
    pub col: Option<&'a Tensor>,
    pub gcol: Option<&'a Tensor>,
    pub goff: Option<&'a Tensor>,
    pub gmask: Option<&'a Tensor>,
    pub cnt: Option<&'a Tensor>,
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
            o, // binding 9: unused
            rw(self.ent),
            o,
            r(self.mask),
            rw(self.col),
        ];
        let points = (p.s1 - p.s0) as usize;
        let invocations = match entry {
            "im2col4" => points / 4,
            "dx_fill_seq" => points.div_ceil(FILL_SEQ),
            _ => points,
        };
        gpu.dispatch_1d(&K_SAMPLE, entry, p, &bufs, invocations);
    }
}

crate::uniform! {
    /// Uniform block of shaders/deform_conv_mm.wgsl. Operand addressing:
    /// A(m, kb, k) = a[a.off + z1*a.z1 + z2*a.z2 + m*a.sm + kb*a.skb + k*a.sk],
    /// B(kb, k, n) = b[b.off + z1*b.z1 + z2*b.z2 + kb*b.skb + k*b.sk + n*b.sn],
    /// C(m, n)     = c[c.off + z1*c.z1 + z2*c.z2 + m*c.sm + n*c.sn].
    #[derive(Default, Debug)]
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
    let kernel = if crate::ops::subgroup_kernels(gpu) {
        &K_MM_SG
    } else {
        &K_MM
    };
    gpu.dispatch(
        kernel,
        entry,
        p,
        &[a, b, bias.buffer(), c.buffer(), b],
        [gx as u32, gy as u32, gz as u32],
    );
}

pub(crate) fn u(v: usize) -> u32 {
    u32::try_from(v).expect("deform_conv2d: size exceeds u32")
}
