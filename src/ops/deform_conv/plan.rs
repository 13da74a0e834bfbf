//! How a deformable convolution's work is cut: the checked shapes of one call ([`Geom`]) and the
//! chunks of images or positions whose column matrix fits one storage binding ([`plan`]).

use crate::gpu::Gpu;
use std::cell::Cell;

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
    /// Offsets and mask logits read from DCNv2's packed predictor output [N, 3*og*kh*kw, H', W']
    /// (the offsets, then the logits; the sigmoid applied on load), and their gradients written
    /// into one tensor of that shape.
    pub packed: bool,
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
            packed: false,
        }
    }

    /// The geometry of a call on DCNv2's packed predictor output `om` (see `packed`).
    pub fn packed(
        x: &[usize],
        om: &[usize],
        w: &[usize],
        b: Option<&[usize]>,
        cfg: DeformCfg,
    ) -> Geom {
        assert!(
            om.len() == 4 && om[1].is_multiple_of(3),
            "deform_conv2d_packed: predictor output {om:?} must be [N, 3*og*kh*kw, H, W]"
        );
        let taps = om[1] / 3;
        let off = [om[0], 2 * taps, om[2], om[3]];
        let mask = [om[0], taps, om[2], om[3]];
        Geom {
            packed: true,
            ..Geom::new(x, &off, Some(&mask), w, b, cfg)
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
