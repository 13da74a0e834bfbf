//! Elementwise ops: add, sub, mul, scale, ReLU, LeakyReLU, sigmoid (shaders/elementwise.wgsl,
//! launched by gpu::elementwise, which the tape uses too).

use crate::gpu::elementwise::launch;
use crate::gpu::Tensor;
use crate::tape::{Tape, Var};

pub use crate::gpu::elementwise::full;

pub fn add_raw(a: &Tensor, b: &Tensor) -> Tensor {
    crate::gpu::elementwise::add(a, b)
}
pub fn sub_raw(a: &Tensor, b: &Tensor) -> Tensor {
    launch("sub", a, Some(b), 0.0)
}
pub fn mul_raw(a: &Tensor, b: &Tensor) -> Tensor {
    launch("mul", a, Some(b), 0.0)
}
pub fn scale_raw(a: &Tensor, s: f32) -> Tensor {
    launch("scale", a, None, s)
}
pub fn leaky_relu_raw(x: &Tensor, slope: f32) -> Tensor {
    launch("leaky_relu", x, None, slope)
}
pub fn leaky_relu_backward(x: &Tensor, gy: &Tensor, slope: f32) -> Tensor {
    launch("leaky_relu_backward", x, Some(gy), slope)
}
pub fn sigmoid_raw(x: &Tensor) -> Tensor {
    launch("sigmoid", x, None, 0.0)
}
pub fn sigmoid_backward(y: &Tensor, gy: &Tensor) -> Tensor {
    launch("sigmoid_backward", y, Some(gy), 0.0)
}

pub fn add(t: &mut Tape, a: &Var, b: &Var) -> Var {
    let out = add_raw(a.value(), b.value());
    t.record(
        out,
        &[a, b],
        Box::new(|g, _| vec![Some(g.clone()), Some(g.clone())]),
    )
}

pub fn sub(t: &mut Tape, a: &Var, b: &Var) -> Var {
    let out = sub_raw(a.value(), b.value());
    t.record(
        out,
        &[a, b],
        Box::new(|g, needs| vec![Some(g.clone()), needs[1].then(|| scale_raw(g, -1.0))]),
    )
}

pub fn mul(t: &mut Tape, a: &Var, b: &Var) -> Var {
    let out = mul_raw(a.value(), b.value());
    let (av, bv) = (a.value().clone(), b.value().clone());
    t.record(
        out,
        &[a, b],
        Box::new(move |g, needs| {
            vec![
                needs[0].then(|| mul_raw(g, &bv)),
                needs[1].then(|| mul_raw(g, &av)),
            ]
        }),
    )
}

pub fn scale(t: &mut Tape, a: &Var, s: f32) -> Var {
    let out = scale_raw(a.value(), s);
    t.record(out, &[a], Box::new(move |g, _| vec![Some(scale_raw(g, s))]))
}

pub fn leaky_relu(t: &mut Tape, x: &Var, slope: f32) -> Var {
    let out = leaky_relu_raw(x.value(), slope);
    let xv = t.wants_grad(&[x]).then(|| x.value().clone());
    t.record(
        out,
        &[x],
        Box::new(move |g, _| vec![Some(leaky_relu_backward(&xv.unwrap(), g, slope))]),
    )
}

pub fn relu(t: &mut Tape, x: &Var) -> Var {
    leaky_relu(t, x, 0.0)
}

pub fn sigmoid(t: &mut Tape, x: &Var) -> Var {
    let out = sigmoid_raw(x.value());
    let yv = t.wants_grad(&[x]).then(|| out.clone());
    t.record(
        out,
        &[x],
        Box::new(move |g, _| vec![Some(sigmoid_backward(&yv.unwrap(), g))]),
    )
}
