//! Mean squared error over all elements (PyTorch `F.mse_loss`, reduction "mean"), and the
//! two-pass GPU sum reduction it uses (shaders/mse.wgsl), which the SSIM loss shares.
//!
//! The loss stays on the GPU as a `[1]` tensor: the backward reads the upstream gradient from
//! that buffer, so a training step never waits for a readback.

use crate::gpu::{Kernel, Tensor};
use crate::tape::{Tape, Var};

pub(crate) const K: Kernel = crate::kernel!("mse");

/// Most workgroups a partial-sum pass launches: enough to fill any GPU, and few enough that the
/// final pass (one workgroup) adds at most four partials per invocation.
pub(crate) const MAX_PARTIALS: usize = 1024;

crate::uniform! {
    struct Params {
        n: u32,
        scale: f32,
        _pad: [u32; 2],
    }
}

/// Workgroups for a grid-stride partial-sum pass over `n` items (256 invocations each).
pub(crate) fn partial_groups(n: usize) -> usize {
    n.div_ceil(256).clamp(1, MAX_PARTIALS)
}

/// `scale * sum(partials[..count])` as a `[1]` tensor (one workgroup).
pub(crate) fn sum_partials(partials: &Tensor, count: usize, scale: f32) -> Tensor {
    let gpu = partials.gpu();
    let out = Tensor::empty(gpu, &[1]);
    let p = Params {
        n: count as u32,
        scale,
        _pad: [0; 2],
    };
    let b = partials.buffer();
    gpu.dispatch(&K, "sum_partials", &p, &[b, b, b, out.buffer()], [1, 1, 1]);
    out
}

fn check(pred: &Tensor, target: &Tensor) -> usize {
    assert_eq!(
        pred.shape(),
        target.shape(),
        "mse: prediction and target shapes differ"
    );
    let n = pred.numel();
    assert!(n > 0, "mse of an empty tensor");
    assert!(
        n <= pred.gpu().max_binding_elems(),
        "mse: {n} elements exceed one storage binding"
    );
    n
}

/// mean((pred - target)^2) as a `[1]` tensor.
pub fn mse_raw(pred: &Tensor, target: &Tensor) -> Tensor {
    let n = check(pred, target);
    let gpu = pred.gpu();
    let groups = partial_groups(n);
    let partials = Tensor::empty(gpu, &[groups]);
    let p = Params {
        n: n as u32,
        scale: 0.0,
        _pad: [0; 2],
    };
    gpu.dispatch(
        &K,
        "mse_partial",
        &p,
        &[
            pred.buffer(),
            target.buffer(),
            pred.buffer(),
            partials.buffer(),
        ],
        [groups as u32, 1, 1],
    );
    sum_partials(&partials, groups, 1.0 / n as f32)
}

/// Gradient of `gy[0] * mse` with respect to `pred` (`sign = 1`) or `target` (`sign = -1`).
pub fn mse_backward(pred: &Tensor, target: &Tensor, gy: &Tensor, sign: f32) -> Tensor {
    let n = check(pred, target);
    assert_eq!(gy.numel(), 1, "mse: upstream gradient must be a scalar");
    let gpu = pred.gpu();
    let out = Tensor::empty(gpu, pred.shape());
    let p = Params {
        n: n as u32,
        scale: sign * 2.0 / n as f32,
        _pad: [0; 2],
    };
    gpu.dispatch_1d(
        &K,
        "mse_backward",
        &p,
        &[pred.buffer(), target.buffer(), gy.buffer(), out.buffer()],
        n,
    );
    out
}

/// mean((pred - target)^2), shape `[1]`, differentiable in both inputs.
pub fn mse(t: &mut Tape, pred: &Var, target: &Var) -> Var {
    let out = mse_raw(pred.value(), target.value());
    let saved = t
        .wants_grad(&[pred, target])
        .then(|| (pred.value().clone(), target.value().clone()));
    t.record(
        out,
        &[pred, target],
        Box::new(move |gy, needs| {
            let (p, q) = saved.expect("saved inputs");
            vec![
                needs[0].then(|| mse_backward(&p, &q, gy, 1.0)),
                needs[1].then(|| mse_backward(&p, &q, gy, -1.0)),
            ]
        }),
    )
}
