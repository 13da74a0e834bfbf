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
    let gpu = a.gpu();
    let out = Tensor::empty(gpu, a.shape());
    let n = a.numel();
    if n > 0 {
        let p = Params {
            n: n as u32,
            alpha,
            _pad: [0; 2],
        };
        let b = b.unwrap_or(a);
        gpu.dispatch_1d(&K, entry, &p, &[a.buffer(), b.buffer(), out.buffer()], n);
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
    let gpu = a.gpu();
    let out = Tensor::empty(gpu, a.shape());
    let n = a.numel();
    if n > 0 {
        let p = Params {
            n: n as u32,
            alpha: 0.0,
            _pad: [0; 2],
        };
        let c = ts.get(2).unwrap_or(a);
        let d = ts.get(3).unwrap_or(a);
        let bufs = [
            a.buffer(),
            ts[1].buffer(),
            out.buffer(),
            c.buffer(),
            d.buffer(),
        ];
        gpu.dispatch_1d(&K, entry, &p, &bufs, n);
    }
    out
}
