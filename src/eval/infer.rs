//! Inference (`hinas eval`, `hinas denoise`): the trained network run from its exported ONNX
//! graph, simplified for eval mode, on images of any size, with tiled output equal to the
//! whole-image output.
//!
//! **The graph.** `DerivedNet::export` writes the eval-mode network node by node as ONNX (what
//! ONNX Runtime runs); the plan here is built from that same graph, so it follows the network
//! whatever the genotype or decoder, and it is simplified where eval mode allows: repeated
//! activations of one tensor (every edge of a cell applies its own in the graph) are computed
//! once, an activation of a value its conv already passed through ReLU is dropped (the identity
//! on values >= 0), and each BatchNormalization that follows a Conv or DeformConv whose output
//! nothing else reads is folded into that conv's weights and bias (eval BN is a per-channel
//! affine map, so `BN(W*x + b) = (s W)*x + s (b - mean) + beta` with
//! `s = gamma / sqrt(var + eps)`: equal up to f32 rounding). Any other BN runs as a 1x1
//! depthwise conv with bias.
//!
//! The decoder's depthwise -> 1x1 pairs pass their value as pixel blocks where the device runs
//! both on the kernels that know that layout (ops/conv2d/blocks.rs; same values to the bit).
//!
//! **Tiles.** One pass holds at most as many pixels as the widest tensor of the graph allows in
//! one storage binding (the device's limit; 128 MiB on lavapipe: 262,144 pixels at the
//! decoder's 128 channels, once its 176-channel concat runs per input, infer/split_concat.rs).
//! Larger images are cut into tiles whose outputs are exact: every op is local,
//! BN in eval mode is per pixel, so an output pixel depends only on the input inside its
//! receptive field, and a tile that holds the field of each of its kept pixels gives exactly the
//! whole-image values there (zero padding happens only at the image's own borders, which tiles
//! keep). Each tile is therefore its kept core plus a margin of the receptive-field radius R on
//! every side inside the image (widened to a span in fours, for the vec4 kernels), and the
//! margin is discarded, not blended. R is the longest path
//! through the graph, summing per op its reach: `max(pad, (k - 1) * dilation - pad)` for a conv
//! (3x3: 1, separable 5x5: 2 per stage, dilated 5x5: 4), and for a deformable conv its taps'
//! reach plus `ceil(D) + 1`, where D bounds the learned offsets |dy|, |dx| (a bilinear sample at
//! distance D reads the pixels at floor and floor + 1).
//!
//! **The offset bound.** Learned offsets have no a-priori bound, so D is measured: every pass
//! records max |offset| of each deformable conv over the whole tile (the one-pass deformable
//! forward max-es it from its own offset loads; elsewhere ops::absmax, one small reduction per
//! deformable conv). If every deformable conv of every tile stays within
//! the D its margin was planned for, every offset that a kept pixel depends on does too (each
//! is inside the tile), so the kept pixels are exact by induction over the layers; if a tile
//! measures more, the image is tiled again with D raised to the measurement. Planning starts
//! from [`START_OFFSET_BOUND`]. Only when even the device's largest tile cannot hold the margin
//! is the margin cut to fit, with a warning that seams may differ from the whole-image result.
//!
//! **Two stages.** The decoder's 128-channel values would limit every tile to 262,144 pixels;
//! where the plan allows, the cells run on larger tiles (sized by their own widest value) and
//! the decoder, which reaches only a few pixels, in bands of rows of each tile
//! (infer/stages.rs). The cells' widest values, the deformable convs' 54-channel offset
//! predictor outputs, are no values of the pass: each deformable step computes its predictor
//! itself, in bands of rows where the output would not fit one binding
//! (infer/band_predictor.rs).

use crate::data::{FloatImage, HostBatch};
use crate::gpu::{Gpu, Tensor};
use crate::nn::layers::Act;
use crate::ops::absmax::absmax_into;
use crate::ops::conv2d::{
    conv2d_from_pixel_blocks, conv2d_raw_act, conv2d_raw_act_add, conv2d_raw_rows,
    conv2d_to_pixel_blocks, pixel_blocks_len, reads_pixel_blocks, writes_pixel_blocks, Conv2dCfg,
};
use crate::ops::deform_conv::{
    deform_conv2d_packed_bands_raw, deform_conv2d_packed_raw, deform_conv2d_raw, DeformCfg,
};
use crate::ops::{concat, elementwise as ew};

mod band_predictor;
mod concat_act;
mod deform_add;
mod packed_deform;
mod plan;
mod split_concat;
mod stages;
mod tiles;

pub use tiles::{plan_tiles, Span, TilePlan};

/// The offset bound (pixels) the first tiling of an image assumes; raised when measured larger.
pub const START_OFFSET_BOUND: f32 = 2.0;

enum Op {
    /// Inputs: x. Weight `[Cout, Cin/groups, k, k]`; stride 1, size-preserving padding.
    Conv {
        w: Tensor,
        b: Option<Tensor>,
        cfg: Conv2dCfg,
        k: usize,
        /// An activation fused into the conv's store (LeakyReLU slope; ReLU 0).
        act: Option<f32>,
        /// Inputs x and an addend, added before the activation (infer/split_concat.rs).
        add: bool,
    },
    /// Inputs: x, offset, mask (optional); or, `packed`, x and the predictor output holding
    /// offsets and mask logits (infer/packed_deform.rs). Records max |offset| in `slot`.
    Deform {
        w: Tensor,
        b: Option<Tensor>,
        cfg: DeformCfg,
        k: usize,
        slot: usize,
        packed: bool,
        /// With `packed`: inputs x only; the step computes the predictor output from x itself,
        /// in row bands where it would not fit one binding (infer/band_predictor.rs).
        pred: Option<Pred>,
        /// The last input is added to the output in the store (infer/deform_add.rs).
        add: bool,
    },
    Act(Act),
    Add,
    Sub,
    Sigmoid,
    /// With `act`, LeakyReLU of that slope (ReLU: 0) in the copies (infer/concat_act.rs).
    Concat {
        act: Option<f32>,
    },
    Split(Vec<usize>),
}

/// A deformable conv's offset predictor run by its step (infer/band_predictor.rs).
struct Pred {
    w: Tensor,
    b: Option<Tensor>,
    cfg: Conv2dCfg,
    k: usize,
}

struct Step {
    op: Op,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

/// The eval-mode network as a list of GPU ops (see the module docs).
pub struct InferNet {
    gpu: Gpu,
    channels: usize,
    steps: Vec<Step>,
    values: usize,
    input: usize,
    output: usize,
    /// Index of the last step reading each value (`usize::MAX`: the output, never freed).
    last_use: Vec<usize>,
    deform_count: usize,
    /// Pixels one pass may hold (all items of a batch together).
    max_pixels: usize,
    /// Channels of the widest value a pass holds (sets `max_pixels`).
    widest: usize,
    /// Whether the warning about a margin cut to fit was printed.
    warned: std::cell::Cell<bool>,
    /// How the last image of [`Self::denoise`] was cut, for the command's report.
    last_tiles: std::cell::Cell<Option<Tiling>>,
    /// Where the steps are cut into two stages for images larger than one pass
    /// (infer/stages.rs).
    split: Option<stages::StageSplit>,
    /// Rows per band of a predictor run inside its deformable step (infer/band_predictor.rs):
    /// as many as one binding holds unless set smaller (tests).
    band_rows: Option<usize>,
    /// Pixels a pass may hold where a predictor cannot run in bands (infer/band_predictor.rs:
    /// bands need a tile's width or height in fours, which holds for every tile of an image
    /// with one of them in fours); `usize::MAX` without banded predictors.
    unbanded_pixels: usize,
}

/// How an image was cut: `cols` x `rows` tiles with `margin` pixels of receptive field, planned
/// for deformable offsets up to `offset_bound` pixels (measured within it); `bands` passes of
/// the network's second stage over them in all, 0 when the tiles ran the whole network
/// (infer/stages.rs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tiling {
    pub cols: usize,
    pub rows: usize,
    pub margin: usize,
    pub offset_bound: f32,
    pub bands: usize,
}

/// Per value, the receptive-field radius of `steps` from the values they read (radius 0) when
/// every deformable offset is at most `d` pixels (module docs).
fn radius_of(steps: &[Step], values: usize, d: f32) -> Vec<usize> {
    let extra = d.max(0.0).ceil() as usize + 1;
    let mut r = vec![0usize; values];
    for s in steps {
        let inr = |i: usize| r[s.inputs[i]];
        let out = match &s.op {
            Op::Conv { k, cfg, add, .. } => {
                let own = inr(0) + cfg.padding.max((k - 1) * cfg.dilation - cfg.padding);
                if *add {
                    own.max(inr(1))
                } else {
                    own
                }
            }
            Op::Deform { k, cfg, pred, .. } => {
                let taps = cfg.padding.max((k - 1) * cfg.dilation - cfg.padding);
                // The offsets come from the predictor's reach over x when the step runs it.
                let pred_r = pred.as_ref().map_or(0, |p| {
                    inr(0)
                        + p.cfg
                            .padding
                            .max((p.k - 1) * p.cfg.dilation - p.cfg.padding)
                });
                let rest = (1..s.inputs.len()).map(inr).max().unwrap_or(0).max(pred_r);
                (inr(0) + taps + extra).max(rest)
            }
            _ => (0..s.inputs.len()).map(inr).max().unwrap_or(0),
        };
        for &o in &s.outputs {
            r[o] = out;
        }
    }
    r
}

impl InferNet {
    /// The plan of a loaded model.
    pub fn from_model(model: &crate::train::model::Model) -> anyhow::Result<InferNet> {
        let proto = crate::export::onnx_model(model);
        Self::from_graph(&model.gpu, &super::infer_graph::read(&proto)?)
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// GPU ops of one pass (for reports).
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    /// How the last image given to [`Self::denoise`] was cut (`None`: whole).
    pub fn last_tiling(&self) -> Option<Tiling> {
        self.last_tiles.get()
    }

    /// Deformable convs that take their predictor's output whole (infer/packed_deform.rs).
    pub fn packed_deforms(&self) -> usize {
        let packed = |s: &&Step| matches!(s.op, Op::Deform { packed: true, .. });
        self.steps.iter().filter(packed).count()
    }

    /// Activation steps that read a conv output already passed through ReLU by the conv (the
    /// plan drops them as identities, so 0).
    pub fn activations_of_relu_outputs(&self) -> usize {
        let relu_out = |v: usize| {
            self.steps.iter().any(|s| {
                s.outputs.contains(&v) && matches!(s.op, Op::Conv { act: Some(a), .. } if a == 0.0)
            })
        };
        let redundant = |s: &&Step| matches!(s.op, Op::Act(_)) && relu_out(s.inputs[0]);
        self.steps.iter().filter(redundant).count()
    }

    /// Deformable convs that add an Add's other operand in their store (infer/deform_add.rs).
    pub fn deforms_with_addend(&self) -> usize {
        let fused = |s: &&Step| matches!(s.op, Op::Deform { add: true, .. });
        self.steps.iter().filter(fused).count()
    }

    /// Concats that apply an activation in their copies (infer/concat_act.rs).
    pub fn activated_concats(&self) -> usize {
        let fused = |s: &&Step| matches!(s.op, Op::Concat { act: Some(_) });
        self.steps.iter().filter(fused).count()
    }

    /// Deformable convs that run their offset predictor themselves (infer/band_predictor.rs).
    pub fn banded_predictors(&self) -> usize {
        let banded = |s: &&Step| matches!(s.op, Op::Deform { pred: Some(_), .. });
        self.steps.iter().filter(banded).count()
    }

    /// Caps the rows per predictor band (tests: bands on small images; a multiple of 4).
    #[doc(hidden)]
    pub fn limit_band_rows(&mut self, rows: usize) {
        self.band_rows = Some(rows);
    }

    /// Channels of the widest value a pass holds.
    pub fn widest_channels(&self) -> usize {
        self.widest
    }

    /// Pixels one pass may hold.
    pub fn max_pixels(&self) -> usize {
        self.max_pixels
    }

    /// Caps one pass at `side` x `side` pixels (`hinas denoise --tile`; tests use it to force
    /// several tiles on a small image). Never above what the device allows.
    pub fn limit_tile(&mut self, side: usize) {
        let cap = (side * side).max(1);
        self.max_pixels = self.max_pixels.min(cap);
        if let Some(s) = &mut self.split {
            s.max_pixels_a = s.max_pixels_a.min(cap);
            s.max_pixels_b = s.max_pixels_b.min(cap);
        }
    }

    /// Pixels of one pass of each stage where the plan has two (infer/stages.rs); `None` if it
    /// has one.
    pub fn stage_pixels(&self) -> Option<(usize, usize)> {
        self.split
            .as_ref()
            .map(|s| (s.max_pixels_a, s.max_pixels_b))
    }

    /// Values of stage A that stage B's bands read in place, in their concats, instead of as
    /// copies of the band's rows (0 without two stages).
    pub fn stage_values_read_in_place(&self) -> usize {
        self.split.as_ref().map_or(0, |s| s.whole.len())
    }

    /// Caps the passes of the two stages at `a` and `b` pixels, and a one-stage pass at `b` (tests
    /// use it to cut a small image into tiles and bands).
    #[doc(hidden)]
    pub fn limit_stage_pixels(&mut self, a: usize, b: usize) {
        self.max_pixels = self.max_pixels.min(b.max(1));
        if let Some(s) = &mut self.split {
            s.max_pixels_a = s.max_pixels_a.min(a.max(1));
            s.max_pixels_b = s.max_pixels_b.min(b.max(1));
        }
    }

    /// Sets the rows each band of the second stage holds above and below its kept rows (tests
    /// show that fewer than its radius change the output).
    #[doc(hidden)]
    pub fn set_band_margin(&mut self, rows: usize) {
        if let Some(s) = &mut self.split {
            s.radius_b = rows;
        }
    }

    /// The receptive-field radius in pixels when every deformable offset is at most `d` pixels.
    pub fn radius(&self, d: f32) -> usize {
        radius_of(&self.steps, self.values, d)[self.output]
    }

    /// Which values a pass over `n` images of `h` x `w` holds as pixel blocks
    /// (ops/conv2d/blocks.rs): a conv output that can be written so, is not the network's
    /// output, fits one binding padded to whole blocks, and whose every reader is a 1x1 conv
    /// that can read it so (the decoder's depthwise -> pointwise pairs) in the same stage: steps
    /// `..at` and `at..` are the two stages (infer/stages.rs; `at` = 0 for one).
    fn pixel_block_values(&self, n: usize, h: usize, w: usize, at: usize) -> Vec<bool> {
        let gpu = &self.gpu;
        let mut blocked = vec![false; self.values];
        for (i, s) in self.steps.iter().enumerate() {
            // (A conv that adds an addend never writes blocks: only the 1x1 parts of a split
            // concat add one, and they read blocks.)
            let Op::Conv {
                w: wt,
                cfg,
                add: false,
                ..
            } = &s.op
            else {
                continue;
            };
            let o = s.outputs[0];
            if o == self.output
                || pixel_blocks_len(n, wt.shape()[0], h * w) > gpu.max_binding_elems()
                || !writes_pixel_blocks(gpu, wt.shape(), *cfg)
            {
                continue;
            }
            let mut readers = self
                .steps
                .iter()
                .enumerate()
                .filter(|(_, r)| r.inputs.contains(&o))
                .peekable();
            blocked[o] = readers.peek().is_some()
                && readers.all(|(j, r)| match &r.op {
                    Op::Conv { w: rw, cfg: rc, .. } if (j < at) == (i < at) => {
                        r.inputs[0] == o
                            && !r.inputs[1..].contains(&o)
                            && reads_pixel_blocks(gpu, rw.shape(), *rc, n * h * w)
                    }
                    _ => false,
                });
        }
        blocked
    }

    /// How many values a pass over `n` images of `h` x `w` holds as pixel blocks (for tests).
    pub fn pixel_block_count(&self, n: usize, h: usize, w: usize) -> usize {
        self.pixel_block_values(n, h, w, 0)
            .iter()
            .filter(|&&b| b)
            .count()
    }

    /// One pass over a batch that fits ([`Self::max_pixels`]); returns the output and, per
    /// deformable conv, max |offset| over the batch.
    fn pass(&self, x: Tensor) -> (Tensor, Vec<f32>) {
        let stats = Tensor::zeros(&self.gpu, &[self.deform_count.max(1)]);
        let (n, h, w) = (x.shape()[0], x.shape()[2], x.shape()[3]);
        let blocked = self.pixel_block_values(n, h, w, 0);
        let mut vals: Vec<Option<Tensor>> = vec![None; self.values];
        vals[self.input] = Some(x);
        self.run_steps(&mut vals, 0..self.steps.len(), &blocked, &stats, (0, h, w));
        let y = vals[self.output].take().expect("output computed");
        (y, self.offsets(&stats))
    }

    /// Per deformable conv, max |offset| recorded in `stats`.
    fn offsets(&self, stats: &Tensor) -> Vec<f32> {
        if self.deform_count == 0 {
            Vec::new()
        } else {
            stats.to_vec()
        }
    }

    /// One tile in two stages (infer/stages.rs): stage A over the tile `x`, then, if every
    /// offset stayed within `bound`, stage B over bands of its rows. Returns the output with the
    /// kept rows `core` (tile rows) filled and the others zero, and the band count; and per
    /// deformable conv, max |offset| over the tile.
    fn pass_staged(
        &self,
        x: Tensor,
        split: &stages::StageSplit,
        core: (usize, usize),
        bound: f32,
    ) -> (Option<(Vec<f32>, usize)>, Vec<f32>) {
        let stats = Tensor::zeros(&self.gpu, &[self.deform_count.max(1)]);
        let (h, w) = (x.shape()[2], x.shape()[3]);
        let blocked = self.pixel_block_values(1, h, w, split.at);
        let mut vals: Vec<Option<Tensor>> = vec![None; self.values];
        vals[self.input] = Some(x);
        self.run_steps(&mut vals, 0..split.at, &blocked, &stats, (0, h, w));
        let offs = self.offsets(&stats);
        let worst = offs.iter().copied().fold(0.0f32, f32::max);
        if worst > bound || worst.is_nan() {
            return (None, offs);
        }
        let bands = stages::bands(core, h, w, split.radius_b, split.max_pixels_b)
            .expect("band plan checked when the tiles were planned");
        let mut out = Vec::new();
        for band in &bands {
            let rows = band.r1 - band.r0;
            let blocked = self.pixel_block_values(1, rows, w, split.at);
            let mut bvals: Vec<Option<Tensor>> = vec![None; self.values];
            for &v in &split.cut {
                let t = vals[v].as_ref().expect("cut value computed");
                bvals[v] = Some(if split.whole.contains(&v) {
                    t.clone()
                } else {
                    concat::row_band_raw(t, band.r0, band.r1)
                });
            }
            let range = split.at..self.steps.len();
            self.run_steps(&mut bvals, range, &blocked, &stats, (band.r0, rows, w));
            let y = bvals[self.output].take().expect("output computed").to_vec();
            let c = y.len() / (rows * w);
            out.resize(c * h * w, 0.0);
            for ch in 0..c {
                let src = (ch * rows + band.k0 - band.r0) * w;
                let dst = (ch * h + band.k0) * w;
                let len = (band.k1 - band.k0) * w;
                out[dst..dst + len].copy_from_slice(&y[src..src + len]);
            }
        }
        (Some((out, bands.len())), offs)
    }

    /// A packed deformable conv with its predictor (infer/band_predictor.rs): the predictor
    /// output whole where it fits one binding, else in bands of rows, each band's predictor
    /// rows and then the conv's same rows. The bands are as even as fours of rows allow, so the
    /// last is never a sliver too small for the `gather56` / `gather64` launch the rows need.
    /// With `addend`, the conv's store adds it (infer/deform_add.rs).
    fn banded_deform(
        &self,
        x: &Tensor,
        p: &Pred,
        (w, b): (&Tensor, Option<&Tensor>),
        cfg: DeformCfg,
        offset_max: (&Tensor, usize),
        addend: Option<&Tensor>,
    ) -> Tensor {
        let &[n, _, h, wd] = x.shape() else {
            unreachable!("inference values are NCHW")
        };
        let per_row = n * p.w.shape()[0] * wd;
        let fit = (plan::binding_elems(&self.gpu) / per_row) / 4 * 4;
        let most = self.band_rows.map_or(fit, |r| r.min(fit)).max(4);
        let band = h.div_ceil(h.div_ceil(most)).next_multiple_of(4);
        if band >= h {
            let om = conv2d_raw_act(x, &p.w, p.b.as_ref(), p.cfg, None);
            return deform_conv2d_packed_raw(x, &om, w, b, cfg, Some(offset_max), addend);
        }
        let y = Tensor::empty(&self.gpu, &[n, w.shape()[0], h, wd]);
        let predictor = |r0, rows| conv2d_raw_rows(x, &p.w, p.b.as_ref(), p.cfg, r0, rows);
        let om = Some(offset_max);
        deform_conv2d_packed_bands_raw(x, w, b, cfg, om, &y, band, addend, predictor);
        y
    }

    /// Runs `range` of the plan's steps over images of `h` x `w` on `vals` (holding what they
    /// read), freeing each value after its last reader; deformable convs record max |offset| in
    /// `stats`. In a band of stage B, `r0` is the band's first row in the tile: concats read
    /// the tile's whole values (`StageSplit::whole`), taller than the band, from there.
    fn run_steps(
        &self,
        vals: &mut [Option<Tensor>],
        range: std::ops::Range<usize>,
        blocked: &[bool],
        stats: &Tensor,
        (r0, h, w_px): (usize, usize, usize),
    ) {
        for i in range {
            let s = &self.steps[i];
            let v = |j: usize| vals[s.inputs[j]].as_ref().expect("value computed");
            let outs: Vec<Tensor> = match &s.op {
                Op::Conv {
                    w,
                    b,
                    cfg,
                    act,
                    add,
                    ..
                } => {
                    let (x, b) = (v(0), b.as_ref());
                    let addend = add.then(|| v(1));
                    vec![if blocked[s.outputs[0]] {
                        conv2d_to_pixel_blocks(x, w, b, *cfg, *act)
                    } else if blocked[s.inputs[0]] {
                        conv2d_from_pixel_blocks(x, (h, w_px), w, b, *cfg, *act, addend)
                    } else if let Some(a) = addend {
                        conv2d_raw_act_add(x, w, b, *cfg, *act, a)
                    } else {
                        conv2d_raw_act(x, w, b, *cfg, *act)
                    }]
                }
                Op::Deform {
                    w,
                    b,
                    cfg,
                    slot,
                    packed: false,
                    ..
                } => {
                    let mask = (s.inputs.len() > 2).then(|| v(2));
                    let y = deform_conv2d_raw(v(0), v(1), mask, w, b.as_ref(), *cfg);
                    absmax_into(v(1), stats, *slot);
                    vec![y]
                }
                Op::Deform {
                    w,
                    b,
                    cfg,
                    slot,
                    packed: true,
                    pred: Some(p),
                    add,
                    ..
                } => {
                    let addend = add.then(|| v(1));
                    let offset_max = (stats, *slot);
                    vec![self.banded_deform(v(0), p, (w, b.as_ref()), *cfg, offset_max, addend)]
                }
                Op::Deform {
                    w,
                    b,
                    cfg,
                    slot,
                    packed: true,
                    add,
                    ..
                } => {
                    let offset_max = Some((stats, *slot));
                    let addend = add.then(|| v(2));
                    vec![deform_conv2d_packed_raw(
                        v(0),
                        v(1),
                        w,
                        b.as_ref(),
                        *cfg,
                        offset_max,
                        addend,
                    )]
                }
                Op::Act(a) => vec![ew::leaky_relu_raw(v(0), a.slope())],
                Op::Add => vec![ew::add_raw(v(0), v(1))],
                Op::Sub => vec![ew::sub_raw(v(0), v(1))],
                Op::Sigmoid => vec![ew::sigmoid_raw(v(0))],
                Op::Concat { act } => {
                    let xs: Vec<(&Tensor, usize)> = (0..s.inputs.len())
                        .map(|j| (v(j), if v(j).shape()[2] > h { r0 } else { 0 }))
                        .collect();
                    vec![concat::concat_rows_act_raw(&xs, h, *act)]
                }
                Op::Split(sizes) => concat::split_raw(v(0), sizes),
            };
            for (o, t) in s.outputs.iter().zip(outs) {
                vals[*o] = Some(t);
            }
            for &inp in &s.inputs {
                if self.last_use[inp] == i {
                    vals[inp] = None;
                }
            }
        }
    }

    /// One forward pass of a batch (items of one size) that fits one pass.
    fn run_fitting(&self, batch: &HostBatch) -> HostBatch {
        let (y, _) = self.pass(batch.upload(&self.gpu));
        HostBatch::new(batch.shape, y.to_vec())
    }

    fn check_channels(&self, c: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            c == self.channels,
            "the model takes {}-channel images, got {c}",
            self.channels
        );
        Ok(())
    }

    /// Any batch: items that fit are run several per pass, larger ones in exact tiles.
    pub fn run_any(&self, batch: &HostBatch) -> anyhow::Result<HostBatch> {
        let [n, c, h, w] = batch.shape;
        self.check_channels(c)?;
        if h * w > self.max_pixels {
            let mut data = Vec::with_capacity(batch.data.len());
            for i in 0..n {
                data.extend(self.denoise(&batch.item(i))?.data);
            }
            return Ok(HostBatch::new(batch.shape, data));
        }
        let per = (self.max_pixels / (h * w)).clamp(1, n.max(1));
        let item = c * h * w;
        let mut data = Vec::with_capacity(batch.data.len());
        for start in (0..n).step_by(per) {
            let k = per.min(n - start);
            let sub = HostBatch::new(
                [k, c, h, w],
                batch.data[start * item..(start + k) * item].to_vec(),
            );
            data.extend(self.run_fitting(&sub).data);
        }
        Ok(HostBatch::new(batch.shape, data))
    }

    /// Denoises one image of any size: whole if it fits one pass, else in exact tiles (module
    /// docs).
    pub fn denoise(&self, img: &FloatImage) -> anyhow::Result<FloatImage> {
        self.denoise_observed(img, &mut |_| {})
    }

    /// [`Self::denoise`], calling `on_tile` after each tile (once for an image that fits one
    /// pass) so a long image can show progress.
    pub fn denoise_observed(
        &self,
        img: &FloatImage,
        on_tile: &mut dyn FnMut(TileDone),
    ) -> anyhow::Result<FloatImage> {
        let (w, h, c) = (img.width, img.height, img.channels);
        self.check_channels(c)?;
        self.last_tiles.set(None);
        if w * h <= self.max_pixels {
            let out = self.run_fitting(&HostBatch::from_image(img)).item(0);
            on_tile(TileDone {
                index: 0,
                count: 1,
                pixels: w * h,
            });
            return Ok(out);
        }
        let mut bound = START_OFFSET_BOUND;
        loop {
            let full = self.radius(bound);
            let (plan, staged, margin) = match self.staged_plan(w, h, full) {
                Some((plan, split)) => (plan, Some(split), full),
                None => {
                    let mut r = full;
                    let plan = loop {
                        if let Some(p) = plan_tiles(w, h, r, self.max_pixels) {
                            break p;
                        }
                        r -= 1;
                    };
                    if r < full && !self.warned.replace(true) {
                        eprintln!(
                            "warning: tiles of {} pixels cannot hold the network's receptive \
                             field ({full} px with offsets up to {bound} px); tile seams may \
                             differ slightly from a whole-image pass",
                            self.max_pixels,
                        );
                    }
                    (plan, None, r)
                }
            };
            match self.run_tiles(img, &plan, staged, bound, on_tile)? {
                Ok((out, bands)) => {
                    self.last_tiles.set(Some(Tiling {
                        cols: plan.xs.len(),
                        rows: plan.ys.len(),
                        margin,
                        offset_bound: bound,
                        bands,
                    }));
                    return Ok(out);
                }
                Err(measured) => bound = measured.ceil().max(bound + 1.0),
            }
        }
    }

    /// Tiles for the two stages (infer/stages.rs) with margin `r`, if the plan has two, they
    /// hold more than one-stage tiles, and every tile can be cut into bands.
    fn staged_plan(&self, w: usize, h: usize, r: usize) -> Option<(TilePlan, &stages::StageSplit)> {
        let split = self.split.as_ref()?;
        let max_a = if w.is_multiple_of(4) || h.is_multiple_of(4) {
            split.max_pixels_a
        } else {
            split.max_pixels_a.min(self.unbanded_pixels)
        };
        if max_a <= self.max_pixels {
            return None;
        }
        let plan = plan_tiles(w, h, r, max_a)?;
        let fits = plan.xs.iter().all(|x| {
            plan.ys.iter().all(|y| {
                let core = (y.c0 - y.t0, y.c1 - y.t0);
                let bands = stages::bands(
                    core,
                    y.t1 - y.t0,
                    x.t1 - x.t0,
                    split.radius_b,
                    split.max_pixels_b,
                );
                bands.is_some()
            })
        });
        fits.then_some((plan, split))
    }

    /// Tiles with a margin of `margin` pixels whatever the receptive field, at most
    /// [`Self::max_pixels`] each (tests show that a margin below the field changes the output).
    #[doc(hidden)]
    pub fn denoise_with_margin(
        &self,
        img: &FloatImage,
        margin: usize,
    ) -> anyhow::Result<FloatImage> {
        let plan = plan_tiles(img.width, img.height, margin, self.max_pixels)
            .ok_or_else(|| anyhow::anyhow!("no tiling with a {margin}-pixel margin fits"))?;
        Ok(self
            .run_tiles(img, &plan, None, f32::INFINITY, &mut |_| {})?
            .expect("no offset bound to exceed")
            .0)
    }

    /// Runs every tile, in two stages where `staged` (then also returns the band count);
    /// `Err(max offset)` when a tile's offsets exceed `bound` (the caller then starts again with
    /// larger margins, and `on_tile` counts from index 0 again).
    fn run_tiles(
        &self,
        img: &FloatImage,
        plan: &TilePlan,
        staged: Option<&stages::StageSplit>,
        bound: f32,
        on_tile: &mut dyn FnMut(TileDone),
    ) -> anyhow::Result<Result<(FloatImage, usize), f32>> {
        let (w, h, c) = (img.width, img.height, img.channels);
        let mut out = vec![0.0f32; w * h * c];
        let count = plan.xs.len() * plan.ys.len();
        let (mut index, mut bands) = (0, 0);
        for ty in &plan.ys {
            for tx in &plan.xs {
                let (tw, th) = (tx.t1 - tx.t0, ty.t1 - ty.t0);
                let mut t = Vec::with_capacity(c * tw * th);
                for ch in 0..c {
                    for r in ty.t0..ty.t1 {
                        let row = (ch * h + r) * w;
                        t.extend_from_slice(&img.data[row + tx.t0..row + tx.t1]);
                    }
                }
                let x = Tensor::from_slice(&self.gpu, &[1, c, th, tw], &t);
                let (y, offs) = match staged {
                    None => {
                        let (y, offs) = self.pass(x);
                        (Some(y.to_vec()), offs)
                    }
                    Some(split) => {
                        let core = (ty.c0 - ty.t0, ty.c1 - ty.t0);
                        let (y, offs) = self.pass_staged(x, split, core, bound);
                        bands += y.as_ref().map_or(0, |(_, n)| *n);
                        (y.map(|(y, _)| y), offs)
                    }
                };
                let worst = offs.iter().copied().fold(0.0f32, f32::max);
                if worst.is_nan() {
                    anyhow::bail!("the network's deformable offsets are not finite");
                }
                let y = match y {
                    Some(y) if worst <= bound => y,
                    _ => return Ok(Err(worst)),
                };
                for ch in 0..c {
                    for r in ty.c0..ty.c1 {
                        let src = (ch * th + r - ty.t0) * tw;
                        let dst = (ch * h + r) * w;
                        out[dst + tx.c0..dst + tx.c1]
                            .copy_from_slice(&y[src + tx.c0 - tx.t0..src + tx.c1 - tx.t0]);
                    }
                }
                on_tile(TileDone {
                    index,
                    count,
                    pixels: (tx.c1 - tx.c0) * (ty.c1 - ty.c0),
                });
                index += 1;
            }
        }
        Ok(Ok((FloatImage::new(w, h, c, out), bands)))
    }
}

/// A finished tile of [`InferNet::denoise_observed`]: `index` of `count`, covering `pixels` of
/// the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileDone {
    pub index: usize,
    pub count: usize,
    pub pixels: usize,
}
