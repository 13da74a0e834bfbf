//! The elementwise kernel's launcher (shaders/elementwise.wgsl). It sits here, below the tape,
//! because the tape itself needs two of its entry points (the unit seed of a backward pass and
//! the sum of gradients that meet); ops::elementwise builds the differentiable ops on it.

use super::{Gpu, Kernel, Tensor};

pub(crate) const K: Kernel = crate::kernel!("elementwise");

crate::uniform! {
    struct Params {
        n: u32,
        alpha: f32,
        _pad: [u32; 2],
    }
}

pub(crate) fn launch(entry: &'static str, a: &Tensor, b: Option<&Tensor>, alpha: f32) -> Tensor {
    if let Some(b) = b {
        assert_eq!(a.shape(), b.shape(), "{entry}: shapes differ");
    }
    let b = b.unwrap_or(a);
    run(entry, [a, b, a, a], alpha)
}

/// One invocation per element of a fresh output shaped like `ins[0]`; bindings a, b, out, c, d.
fn run(entry: &'static str, ins: [&Tensor; 4], alpha: f32) -> Tensor {
    let [a, b, c, d] = ins;
    let gpu = a.gpu();
    let out = Tensor::empty(gpu, a.shape());
    let n = a.numel();
    if n > 0 {
        let p = Params {
            n: n as u32,
            alpha,
            _pad: [0; 2],
        };
        let bufs = [a.buffer(), b.buffer(), out.buffer(), c.buffer(), d.buffer()];
        gpu.dispatch_1d(&K, entry, &p, &bufs, n);
    }
    out
}

/// A tensor of `shape` filled with `value`.
pub fn full(gpu: &Gpu, shape: &[usize], value: f32) -> Tensor {
    let out = Tensor::empty(gpu, shape);
    let n = out.numel();
    if n > 0 {
        let p = Params {
            n: n as u32,
            alpha: value,
            _pad: [0; 2],
        };
        gpu.dispatch_1d(
            &K,
            "fill",
            &p,
            &[out.buffer(), out.buffer(), out.buffer()],
            n,
        );
    }
    out
}

/// a + b (same shapes).
pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    launch("add", a, Some(b), 0.0)
}

/// The sum of 2 to 4 tensors of one shape, added left to right in one dispatch (the roundings
/// of `add(add(add(t0, t1), t2), t3)`).
pub fn sum(ts: &[&Tensor]) -> Tensor {
    let (entry, a) = match ts {
        [a, _] => ("add", a),
        [a, _, _] => ("sum3", a),
        [a, _, _, _] => ("sum4", a),
        _ => panic!("sum: takes 2 to 4 tensors, got {}", ts.len()),
    };
    for t in &ts[1..] {
        assert_eq!(a.shape(), t.shape(), "sum: shapes differ");
    }
    run(
        entry,
        [a, ts[1], ts.get(2).unwrap_or(a), ts.get(3).unwrap_or(a)],
        0.0,
    )
}
