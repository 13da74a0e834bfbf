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

/// The entry point's vec4 form (shaders/elementwise.wgsl): one invocation per four elements.
fn vec4_entry(entry: &str) -> &'static str {
    match entry {
        "add" => "add_v4",
        "sum3" => "sum3_v4",
        "sum4" => "sum4_v4",
        "sub" => "sub_v4",
        "mul" => "mul_v4",
        "scale" => "scale_v4",
        "fill" => "fill_v4",
        "leaky_relu" => "leaky_relu_v4",
        "leaky_relu_backward" => "leaky_relu_backward_v4",
        "sigmoid" => "sigmoid_v4",
        "sigmoid_backward" => "sigmoid_backward_v4",
        _ => panic!("elementwise: no entry point {entry}"),
    }
}

/// Dispatches `entry` over `n` elements, four per invocation when `n` is a multiple of 4 (the
/// same results: each element gets the same arithmetic). `bufs`: a, b, out, c, d.
fn dispatch(gpu: &Gpu, entry: &'static str, n: usize, alpha: f32, bufs: [&wgpu::Buffer; 5]) {
    let (entry, items) = if n.is_multiple_of(4) {
        (vec4_entry(entry), n / 4)
    } else {
        (entry, n)
    };
    let p = Params {
        n: items as u32,
        alpha,
        _pad: [0; 2],
    };
    let [a, b, out, c, d] = bufs;
    gpu.dispatch_1d(&K, entry, &p, &[a, b, out, c, d, a, b, out, c, d], items);
}

/// One invocation per element (or vec4) of a fresh output shaped like `ins[0]`; bindings a, b,
/// out, c, d.
fn run(entry: &'static str, ins: [&Tensor; 4], alpha: f32) -> Tensor {
    let [a, b, c, d] = ins;
    let gpu = a.gpu();
    let out = Tensor::empty(gpu, a.shape());
    let n = a.numel();
    if n > 0 {
        let bufs = [a.buffer(), b.buffer(), out.buffer(), c.buffer(), d.buffer()];
        dispatch(gpu, entry, n, alpha, bufs);
    }
    out
}

/// A tensor of `shape` filled with `value`.
pub fn full(gpu: &Gpu, shape: &[usize], value: f32) -> Tensor {
    let out = Tensor::empty(gpu, shape);
    let n = out.numel();
    if n > 0 {
        let o = out.buffer();
        dispatch(gpu, "fill", n, value, [o, o, o, o, o]);
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
