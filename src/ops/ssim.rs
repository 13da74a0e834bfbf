//! SSIM exactly as HiNAS codes it (one_stage_nas/modeling/loss.py, utils/evaluation_metrics.py):
//! an 11x11 Gaussian window (sigma 1.5, the outer product of the normalised 1-D kernel), "same"
//! filtering with zero padding 5 on each plane of an `[N, C, H, W]` tensor, C1 = 0.01^2,
//! C2 = 0.03^2, and the mean of the whole map over N, C, H, W (shaders/ssim.wgsl).
//!
//! The math. With `G` the zero-padded Gaussian filter and per-pixel
//!   mx = G*x, my = G*y, Exx = G*x^2, Eyy = G*y^2, Exy = G*xy,
//!   A1 = 2 mx my + C1, A2 = 2 (Exy - mx my) + C2,
//!   B1 = mx^2 + my^2 + C1, B2 = (Exx - mx^2) + (Eyy - my^2) + C2, D = B1 B2,
//!   s = A1 A2 / D,   S = (1/M) sum_p s(p)   (M = N*C*H*W),
//! the partials of s with (mx, my, Exx, Eyy, Exy) taken as independent are
//!   ds/dmx = 2 my (A2 - A1)/D + 2 mx s (1/B2 - 1/B1)   (and x <-> y for ds/dmy),
//!   ds/dExx = ds/dEyy = -s / B2,   ds/dExy = 2 A1 / D.
//! Each filtered map is linear in its input image, so by the chain rule
//!   dS/dx = (1/M) [ G^T(ds/dmx) + 2 x G^T(ds/dExx) + y G^T(ds/dExy) ]
//!   dS/dy = (1/M) [ G^T(ds/dmy) + 2 y G^T(ds/dEyy) + x G^T(ds/dExy) ].
//! G^T, the adjoint of a zero-padded correlation, is the correlation with the flipped kernel and
//! the same zero padding; the Gaussian is symmetric, so G^T = G. Every filter runs separably: a
//! horizontal 11-tap pass, then a vertical one.

use crate::gpu::{Kernel, Tensor};
use crate::ops::mse::{partial_groups, sum_partials};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("ssim");

pub const WINDOW: usize = 11;
pub const SIGMA: f64 = 1.5;

crate::uniform! {
    struct Params {
        n: u32,
        w: u32,
        h: u32,
        _pad: u32,
        taps: [f32; 12],
    }
}

/// The normalised 1-D Gaussian of HiNAS' `gaussian(11, 1.5)`.
pub fn gaussian_taps() -> [f32; WINDOW] {
    let c = (WINDOW / 2) as f64;
    let g: Vec<f64> = (0..WINDOW)
        .map(|i| (-((i as f64 - c).powi(2)) / (2.0 * SIGMA * SIGMA)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    std::array::from_fn(|i| (g[i] / sum) as f32)
}

fn params(shape: &[usize]) -> Params {
    let n: usize = shape.iter().product();
    let mut taps = [0.0f32; 12];
    taps[..WINDOW].copy_from_slice(&gaussian_taps());
    Params {
        n: n as u32,
        w: shape[3] as u32,
        h: shape[2] as u32,
        _pad: 0,
        taps,
    }
}

fn check(a: &Tensor, b: &Tensor) -> usize {
    assert_eq!(
        a.shape().len(),
        4,
        "ssim: expects [N, C, H, W], got {:?}",
        a.shape()
    );
    assert_eq!(a.shape(), b.shape(), "ssim: shapes differ");
    let n = a.numel();
    assert!(n > 0, "ssim of an empty tensor");
    assert!(
        5 * n <= a.gpu().max_binding_elems(),
        "ssim: {:?} is too large (5 filtered maps must fit one storage binding)",
        a.shape()
    );
    n
}

/// The five horizontally filtered maps (x, y, x^2, y^2, xy), packed.
fn h_stats(a: &Tensor, b: &Tensor, p: &Params) -> Tensor {
    let n = p.n as usize;
    let gpu = a.gpu();
    let tmp = Tensor::empty(gpu, &[5, n]);
    gpu.dispatch_1d(
        &K,
        "h_stats",
        p,
        &[a.buffer(), b.buffer(), a.buffer(), tmp.buffer()],
        n,
    );
    tmp
}

/// Mean SSIM (`[1]`) and the horizontally filtered stats `[5, numel]` that `ssim_backward`
/// takes (saving them spares the backward one of its four filter passes).
pub fn ssim_forward(a: &Tensor, b: &Tensor) -> (Tensor, Tensor) {
    let n = check(a, b);
    let p = params(a.shape());
    let gpu = a.gpu();
    let tmp = h_stats(a, b, &p);
    let groups = partial_groups(n);
    let partials = Tensor::empty(gpu, &[groups]);
    gpu.dispatch(
        &K,
        "v_ssim_partial",
        &p,
        &[a.buffer(), a.buffer(), tmp.buffer(), partials.buffer()],
        [groups as u32, 1, 1],
    );
    (sum_partials(&partials, groups, 1.0 / n as f32), tmp)
}

/// Mean SSIM of `a` against `b`, shape `[1]`, forward only (for metrics).
pub fn ssim_raw(a: &Tensor, b: &Tensor) -> Tensor {
    ssim_forward(a, b).0
}

/// Gradients of `gy[0] * mean SSIM(x, y)` with respect to x and/or y (`want`), from the stats
/// `tmp` that `ssim_forward` returned; `gy` stays on the GPU.
pub fn ssim_backward(
    x: &Tensor,
    y: &Tensor,
    tmp: &Tensor,
    gy: &Tensor,
    want: [bool; 2],
) -> (Option<Tensor>, Option<Tensor>) {
    let n = check(x, y);
    assert_eq!(gy.numel(), 1, "ssim: upstream gradient must be a scalar");
    let entry = match want {
        [true, true] => "v_grad_xy",
        [true, false] => "v_grad_x",
        [false, true] => "v_grad_y",
        [false, false] => return (None, None),
    };
    let p = params(x.shape());
    let gpu = x.gpu();
    let coef = Tensor::empty(gpu, &[4, n]);
    gpu.dispatch_1d(
        &K,
        "v_coef",
        &p,
        &[
            x.buffer(),
            y.buffer(),
            tmp.buffer(),
            coef.buffer(),
            gy.buffer(),
        ],
        n,
    );
    let hcoef = Tensor::empty(gpu, &[4, n]);
    gpu.dispatch_1d(
        &K,
        "h_coef",
        &p,
        &[x.buffer(), y.buffer(), coef.buffer(), hcoef.buffer()],
        n,
    );
    drop(coef);
    let gx = want[0].then(|| Tensor::empty(gpu, x.shape()));
    let gyy = want[1].then(|| Tensor::empty(gpu, y.shape()));
    let d1 = gx.as_ref().unwrap_or(x).buffer();
    let d2 = gyy.as_ref().unwrap_or(y).buffer();
    gpu.dispatch_1d(
        &K,
        entry,
        &p,
        &[x.buffer(), y.buffer(), hcoef.buffer(), d1, gy.buffer(), d2],
        n,
    );
    (gx, gyy)
}

/// Mean SSIM of `pred` against `target`, shape `[1]`, differentiable in both.
pub fn ssim(t: &mut Tape, pred: &Var, target: &Var) -> Var {
    let (out, tmp) = ssim_forward(pred.value(), target.value());
    let saved = t
        .wants_grad(&[pred, target])
        .then(|| (pred.value().clone(), target.value().clone(), tmp));
    t.record(
        out,
        &[pred, target],
        Box::new(move |gy, needs| {
            let (x, y, tmp) = saved.expect("saved stats");
            let (gx, gt) = ssim_backward(&x, &y, &tmp, gy, [needs[0], needs[1]]);
            vec![gx, gt]
        }),
    )
}

/// -log10 of a `[1]` tensor.
pub fn neg_log10_raw(s: &Tensor) -> Tensor {
    assert_eq!(s.numel(), 1, "neg_log10: expects a scalar");
    let out = Tensor::empty(s.gpu(), &[1]);
    let b = s.buffer();
    s.gpu().dispatch(
        &K,
        "neg_log10",
        &params(&[1, 1, 1, 1]),
        &[b, b, b, out.buffer()],
        [1, 1, 1],
    );
    out
}

/// `gy * d(-log10 s)/ds` for `[1]` tensors.
pub fn neg_log10_backward(s: &Tensor, gy: &Tensor) -> Tensor {
    let out = Tensor::empty(s.gpu(), &[1]);
    let b = s.buffer();
    s.gpu().dispatch(
        &K,
        "neg_log10_backward",
        &params(&[1, 1, 1, 1]),
        &[b, b, b, out.buffer(), gy.buffer()],
        [1, 1, 1],
    );
    out
}

/// -log10(mean SSIM), the HiNAS loss term (`log_SSIM_loss`), shape `[1]`.
pub fn neg_log10_ssim(t: &mut Tape, pred: &Var, target: &Var) -> Var {
    let s = ssim(t, pred, target);
    let out = neg_log10_raw(s.value());
    let sv = t.wants_grad(&[&s]).then(|| s.value().clone());
    t.record(
        out,
        &[&s],
        Box::new(move |gy, _| vec![Some(neg_log10_backward(&sv.expect("saved ssim"), gy))]),
    )
}
