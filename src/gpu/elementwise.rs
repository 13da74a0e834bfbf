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
