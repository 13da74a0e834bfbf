//! BatchNorm2d with PyTorch's semantics (eps 1e-5, momentum 0.1): train mode normalises with the
//! biased batch variance and updates the running mean and unbiased running variance in place on
//! the GPU; eval mode normalises with the running statistics (shaders/batchnorm.wgsl).
//!
//! Works on any `[N, C, ...]` tensor: the trailing dims are flattened into one plane per (n, c).

use crate::gpu::{Gpu, Kernel, Tensor};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("batchnorm");

pub const EPS: f32 = 1e-5;
pub const MOMENTUM: f32 = 0.1;

/// Channel elements one reduction workgroup handles at least (64 per invocation): the tree
/// reduction at the end of a workgroup is the fixed cost this amortises; splitting a channel
/// into chunks keeps a wide GPU busy when C is small.
const CHUNK_MIN: usize = 4096;
/// At most this many chunks per channel (the combining pass loops over them serially).
const CHUNKS_MAX: usize = 64;

crate::uniform! {
    struct Params {
        c: u32,
        hw: u32,
        n: u32,
        chunks: u32,
        chunk_len: u32,
        total: u32,
        affine: u32,
        vec4: u32,
        momentum: f32,
        eps: f32,
        act: u32,
        slope: f32,
    }
}

/// Running statistics of one BatchNorm layer, updated in place by train-mode forwards.
pub struct BnRunning {
    pub mean: Tensor,
    pub var: Tensor,
}

impl BnRunning {
    /// PyTorch's initial state: mean 0, variance 1.
    pub fn new(gpu: &Gpu, c: usize) -> Self {
        BnRunning {
            mean: Tensor::zeros(gpu, &[c]),
            var: crate::ops::elementwise::full(gpu, &[c], 1.0),
        }
    }
}

/// Gradients of one BatchNorm; `None` where not asked for.
pub struct BnGrads {
    pub x: Option<Tensor>,
    pub gamma: Option<Tensor>,
    pub beta: Option<Tensor>,
}

fn params(x: &Tensor, affine: bool) -> Params {
    let s = x.shape();
    assert!(s.len() >= 2, "batch_norm: input {s:?} must be [N, C, ...]");
    let (n, c) = (s[0], s[1]);
    let hw: usize = s[2..].iter().product();
    let m = n * hw;
    assert!(
        x.numel() <= x.gpu().max_binding_elems() && x.numel() < u32::MAX as usize,
        "batch_norm: input {s:?} exceeds one storage binding"
    );
    let chunks = m.div_ceil(CHUNK_MIN).clamp(1, CHUNKS_MAX);
    Params {
        c: c as u32,
        hw: hw as u32,
        n: n as u32,
        chunks: chunks as u32,
        chunk_len: m.div_ceil(chunks) as u32,
        total: x.numel() as u32,
        affine: affine as u32,
        vec4: hw.is_multiple_of(4) as u32,
        momentum: MOMENTUM,
        eps: EPS,
        act: 0,
        slope: 0.0,
    }
}

/// Whether a train-mode BatchNorm of `x` runs as one fused dispatch each way (a channel fits one
/// reduction chunk), the only form that can also apply an activation ([`batch_norm_act`]).
fn fused_train(x: &Tensor) -> bool {
    let p = params(x, false);
    p.chunks == 1 && p.total > 0 && p.c > 0
}

/// [ceil(HW / 256), C, N]: one row of workgroups per (n, c) plane (HW / 4 for the vec4 entries).
fn elementwise_grid(p: &Params) -> [u32; 3] {
    let per_plane = if p.vec4 != 0 { p.hw / 4 } else { p.hw };
    let gx = per_plane.div_ceil(256);
    assert!(
        gx.max(p.c).max(p.n) <= 65535,
        "batch_norm: grid {gx}x{}x{} exceeds 65535 workgroups per dimension",
        p.c,
        p.n
    );
    [gx, p.c, p.n]
}

/// The elementwise entry point: its vec4 form where every (n, c) plane is a whole number of
/// vec4s (the same arithmetic per element, so the same results).
fn elementwise(p: &Params, scalar: &'static str, vec4: &'static str) -> &'static str {
    if p.vec4 != 0 {
        vec4
    } else {
        scalar
    }
}

/// Dispatches with buffers given by binding number; bindings the entry point does not use get
/// a placeholder (they are not bound). x, gy and out are also bound as their vec4 views.
fn run(entry: &'static str, p: &Params, slots: &[(usize, &Tensor)], groups: [u32; 3]) {
    let gpu = slots[0].1.gpu();
    let mut bufs = vec![slots[0].1.buffer(); OUT4];
    for &(b, t) in slots {
        bufs[b - 1] = t.buffer();
        if let Some(v) = [(X, X4), (GY, GY4), (OUT, OUT4)].iter().find(|v| v.0 == b) {
            bufs[v.1 - 1] = t.buffer();
        }
    }
    gpu.dispatch(&K, entry, p, &bufs, groups);
}

// Binding numbers (see the shader).
const X: usize = 1;
const GY: usize = 2;
const GAMMA: usize = 3;
const BETA: usize = 4;
const PART: usize = 5;
const STATS: usize = 6;
const RMEAN: usize = 7;
const RVAR: usize = 8;
const OUT: usize = 9;
const GBETA: usize = 10;
const GGAMMA: usize = 11;
const X4: usize = 12;
const GY4: usize = 13;
const OUT4: usize = 14;

/// Forward. Returns the output and the per-channel statistics `[4, C]` (mean, invstd,
/// gamma * invstd, beta) the backward needs. Train mode updates `running` in place and needs
/// more than one value per channel.
pub fn batch_norm_raw(
    x: &Tensor,
    affine: Option<(&Tensor, &Tensor)>,
    running: &BnRunning,
    training: bool,
) -> (Tensor, Tensor) {
    forward(x, affine, running, training, None)
}

/// The forward, with `act = Some(slope)` applying LeakyReLU(slope) in the fused train-mode
/// kernel (the caller checks [`fused_train`]).
fn forward(
    x: &Tensor,
    affine: Option<(&Tensor, &Tensor)>,
    running: &BnRunning,
    training: bool,
    act: Option<f32>,
) -> (Tensor, Tensor) {
    let mut p = params(x, affine.is_some());
    if let Some(slope) = act {
        (p.act, p.slope) = (1, slope);
    }
    let c = p.c as usize;
    assert_eq!(running.mean.numel(), c, "batch_norm: running mean size");
    assert_eq!(running.var.numel(), c, "batch_norm: running var size");
    if let Some((g, b)) = affine {
        assert_eq!(g.numel(), c, "batch_norm: gamma size");
        assert_eq!(b.numel(), c, "batch_norm: beta size");
    }
    let gpu = x.gpu();
    let stats = Tensor::empty(gpu, &[4, c]);
    let out = Tensor::empty(gpu, x.shape());
    if c == 0 {
        return (out, stats);
    }
    // Without affine, x stands in for gamma/beta (read only under p.affine == 1).
    let (g, b) = affine.unwrap_or((x, x));
    let fin = [
        (GAMMA, g),
        (BETA, b),
        (STATS, &stats),
        (RMEAN, &running.mean),
        (RVAR, &running.var),
    ];
    let ch_groups = [(c as u32).div_ceil(64), 1, 1];
    if training {
        assert!(
            p.n as usize * p.hw as usize > 1,
            "batch_norm: train mode needs more than one value per channel, got {:?}",
            x.shape()
        );
        if p.chunks == 1 {
            let mut slots = vec![(X, x), (OUT, &out)];
            slots.extend_from_slice(&fin);
            run("fwd_fused_train", &p, &slots, [p.c, 1, 1]);
            return (out, stats);
        }
        assert!(
            act.is_none(),
            "batch_norm: a fused activation needs one chunk per channel"
        );
        let part = Tensor::empty(gpu, &[c * p.chunks as usize * 3]);
        run(
            "fwd_partial",
            &p,
            &[(X, x), (PART, &part)],
            [p.c, p.chunks, 1],
        );
        let mut slots = vec![(PART, &part)];
        slots.extend_from_slice(&fin);
        run("fwd_finalize_train", &p, &slots, ch_groups);
    } else {
        run("fwd_finalize_eval", &p, &fin, ch_groups);
    }
    if p.total > 0 {
        run(
            elementwise(&p, "normalize", "normalize_v4"),
            &p,
            &[(X, x), (STATS, &stats), (OUT, &out)],
            elementwise_grid(&p),
        );
    }
    (out, stats)
}

/// Backward from the forward's input and statistics. In train mode the gradient to x goes
/// through the batch mean and variance; in eval mode the statistics are constants.
pub fn batch_norm_backward(
    x: &Tensor,
    gy: &Tensor,
    stats: &Tensor,
    training: bool,
    want_x: bool,
    want_affine: bool,
) -> BnGrads {
    backward(x, gy, stats, training, want_x, want_affine, None)
}

/// The backward; with `act = Some(slope)`, `gy` is the gradient of LeakyReLU(slope) of the
/// output (fused train mode only).
fn backward(
    x: &Tensor,
    gy: &Tensor,
    stats: &Tensor,
    training: bool,
    want_x: bool,
    want_affine: bool,
    act: Option<f32>,
) -> BnGrads {
    assert_eq!(x.shape(), gy.shape(), "batch_norm_backward: gradient shape");
    let mut p = params(x, false);
    if let Some(slope) = act {
        assert!(
            training && p.chunks == 1 && p.total > 0,
            "batch_norm: a fused activation needs train mode and one chunk per channel"
        );
        (p.act, p.slope) = (1, slope);
    }
    let c = p.c as usize;
    assert_eq!(stats.shape(), [4, c], "batch_norm_backward: stats shape");
    let gpu = x.gpu();
    let mut r = BnGrads {
        x: None,
        gamma: None,
        beta: None,
    };
    if c == 0 || (!want_x && !want_affine) {
        return r;
    }
    if training && (want_x || act.is_some()) && p.chunks == 1 && p.total > 0 {
        // One dispatch: the sums and the input gradient (shaders/batchnorm.wgsl).
        let (gx, gb, gg) = (
            Tensor::empty(gpu, x.shape()),
            Tensor::empty(gpu, &[c]),
            Tensor::empty(gpu, &[c]),
        );
        let slots = [
            (X, x),
            (GY, gy),
            (STATS, stats),
            (OUT, &gx),
            (GBETA, &gb),
            (GGAMMA, &gg),
        ];
        run("bwd_fused_train", &p, &slots, [p.c, 1, 1]);
        r.x = want_x.then_some(gx);
        if want_affine {
            r.beta = Some(gb);
            r.gamma = Some(gg);
        }
        return r;
    }
    let sums = (want_affine || training).then(|| {
        let part = Tensor::empty(gpu, &[c * p.chunks as usize * 2]);
        let (gb, gg) = (Tensor::empty(gpu, &[c]), Tensor::empty(gpu, &[c]));
        run(
            "bwd_partial",
            &p,
            &[(X, x), (GY, gy), (STATS, stats), (PART, &part)],
            [p.c, p.chunks, 1],
        );
        run(
            "bwd_finalize",
            &p,
            &[(PART, &part), (GBETA, &gb), (GGAMMA, &gg)],
            [(c as u32).div_ceil(64), 1, 1],
        );
        (gb, gg)
    });
    if want_x {
        let gx = Tensor::empty(gpu, x.shape());
        if p.total > 0 {
            let groups = elementwise_grid(&p);
            if training {
                let (gb, gg) = sums.as_ref().unwrap();
                let slots = [
                    (X, x),
                    (GY, gy),
                    (STATS, stats),
                    (OUT, &gx),
                    (GBETA, gb),
                    (GGAMMA, gg),
                ];
                run(
                    elementwise(&p, "bwd_dx_train", "bwd_dx_train_v4"),
                    &p,
                    &slots,
                    groups,
                );
            } else {
                run(
                    elementwise(&p, "bwd_dx_eval", "bwd_dx_eval_v4"),
                    &p,
                    &[(GY, gy), (STATS, stats), (OUT, &gx)],
                    groups,
                );
            }
        }
        r.x = Some(gx);
    }
    if want_affine {
        let (gb, gg) = sums.unwrap();
        r.beta = Some(gb);
        r.gamma = Some(gg);
    }
    r
}

/// BatchNorm on the tape. `affine` is `(gamma, beta)`, each `[C]`. The running statistics are
/// updated in train mode whether or not anything needs a gradient.
pub fn batch_norm(
    t: &mut Tape,
    x: &Var,
    affine: Option<(&Var, &Var)>,
    running: &BnRunning,
    training: bool,
) -> Var {
    record(t, x, affine, running, training, None)
}

/// LeakyReLU(slope)(BatchNorm(x)) (ReLU: slope 0), equal to `leaky_relu(batch_norm(..))` in
/// values and gradients to the bit. Where the BatchNorm runs fused (train mode, a channel in
/// one chunk) the activation runs in its kernels, forward and backward: two dispatches fewer,
/// and the BatchNorm's output is not kept for the activation's backward. Elsewhere it is that
/// composition.
pub fn batch_norm_act(
    t: &mut Tape,
    x: &Var,
    affine: Option<(&Var, &Var)>,
    running: &BnRunning,
    training: bool,
    slope: f32,
) -> Var {
    if training && fused_train(x.value()) {
        return record(t, x, affine, running, training, Some(slope));
    }
    let y = batch_norm(t, x, affine, running, training);
    crate::ops::elementwise::leaky_relu(t, &y, slope)
}

fn record(
    t: &mut Tape,
    x: &Var,
    affine: Option<(&Var, &Var)>,
    running: &BnRunning,
    training: bool,
    act: Option<f32>,
) -> Var {
    let (y, stats) = forward(
        x.value(),
        affine.map(|(g, b)| (g.value(), b.value())),
        running,
        training,
        act,
    );
    let mut inputs = vec![x];
    if let Some((g, b)) = affine {
        inputs.extend([g, b]);
    }
    let saved = t.wants_grad(&inputs).then(|| (x.value().clone(), stats));
    t.record(
        y,
        &inputs,
        Box::new(move |g, needs| {
            let (xv, stats) = saved.unwrap();
            let want_affine = needs.len() == 3 && (needs[1] || needs[2]);
            let r = backward(&xv, g, &stats, training, needs[0], want_affine, act);
            let mut out = vec![r.x];
            if needs.len() == 3 {
                out.push(r.gamma.filter(|_| needs[1]));
                out.push(r.beta.filter(|_| needs[2]));
            }
            out
        }),
    )
}
