//! Elementwise ops: forward and backward against an f64 CPU reference with finite differences,
//! and against PyTorch fixtures.

mod common;
use common::*;
use hinas::gpu::elementwise as gew;
use hinas::gpu::Tensor;
use hinas::ops::elementwise as ew;
use hinas::tape::Tape;

type Unary = (&'static str, fn(f64) -> f64);

const UNARY: [Unary; 4] = [
    ("relu", |x| x.max(0.0)),
    ("leaky_relu", |x| if x > 0.0 { x } else { 0.2 * x }),
    ("sigmoid", |x| 1.0 / (1.0 + (-x).exp())),
    ("scale", |x| -1.7 * x),
];

fn apply_unary(t: &mut Tape, name: &str, x: &hinas::tape::Var) -> hinas::tape::Var {
    match name {
        "relu" => ew::relu(t, x),
        "leaky_relu" => ew::leaky_relu(t, x, 0.2),
        "sigmoid" => ew::sigmoid(t, x),
        "scale" => ew::scale(t, x, -1.7),
        _ => unreachable!(),
    }
}

/// Shapes of a number of elements that is not a multiple of 4 (one element per invocation) and
/// one that is (the `*_v4` entry points, four per invocation).
const SCALAR_SHAPE: [usize; 4] = [2, 3, 5, 7];
const VEC4_SHAPE: [usize; 4] = [2, 3, 4, 6];

#[test]
fn unary_ops_match_reference_and_finite_differences() {
    for shape in [SCALAR_SHAPE, VEC4_SHAPE] {
        unary_ops_on(shape);
    }
}

fn unary_ops_on(shape: [usize; 4]) {
    let gpu = gpu();
    let n: usize = shape.iter().product();
    let mut r = rng(1);
    for (name, f) in UNARY {
        // Keep x away from the kink at 0 so finite differences are well defined.
        let x: Vec<f64> = uniform(&mut r, n, -3.0, 3.0)
            .into_iter()
            .map(|v| if v.abs() < 0.05 { v + 0.1 } else { v })
            .collect();
        let gy = uniform(&mut r, n, -1.0, 1.0);
        let (xt, x) = upload(&gpu, &shape, &x);
        let (gt, gy) = upload(&gpu, &shape, &gy);
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(xt, true);
        let y = apply_unary(&mut tape, name, &xv);
        let want: Vec<f64> = x.iter().map(|&v| f(v)).collect();
        assert_close(&format!("{name} forward"), &y.value().to_vec(), &want, 1e-5);
        let grads = tape.backward_with(&y, gt);
        let cpu = |xs: &[f64]| xs.iter().map(|&v| f(v)).collect::<Vec<_>>();
        let num = numeric_grad(&cpu, &x, &gy, 1e-6);
        assert_close(
            &format!("{name} backward"),
            &grads.get(&xv).unwrap().to_vec(),
            &num,
            1e-4,
        );
    }
}

#[test]
fn binary_ops_and_gradient_accumulation() {
    binary_ops_on([3, 1, 9, 11]);
    binary_ops_on([3, 1, 8, 12]);
}

fn binary_ops_on(shape: [usize; 4]) {
    let gpu = gpu();
    let n: usize = shape.iter().product();
    let mut r = rng(2);
    let (at, a) = upload(&gpu, &shape, &uniform(&mut r, n, -2.0, 2.0));
    let (bt, b) = upload(&gpu, &shape, &uniform(&mut r, n, -2.0, 2.0));
    let (gt, gy) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
    // y = (a*b - a) + a*a: a is used three times, so its gradient must accumulate.
    let mut tape = Tape::new(&gpu);
    let av = tape.leaf(at, true);
    let bv = tape.leaf(bt, true);
    let ab = ew::mul(&mut tape, &av, &bv);
    let d = ew::sub(&mut tape, &ab, &av);
    let aa = ew::mul(&mut tape, &av, &av);
    let y = ew::add(&mut tape, &d, &aa);
    let f = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x * y - x + x * x)
            .collect::<Vec<_>>()
    };
    assert_close("forward", &y.value().to_vec(), &f(&a, &b), 1e-5);
    let grads = tape.backward_with(&y, gt);
    let num_a = numeric_grad(&|x| f(x, &b), &a, &gy, 1e-6);
    let num_b = numeric_grad(&|x| f(&a, x), &b, &gy, 1e-6);
    assert_close("grad a", &grads.get(&av).unwrap().to_vec(), &num_a, 1e-4);
    assert_close("grad b", &grads.get(&bv).unwrap().to_vec(), &num_b, 1e-4);
}

/// A tensor used by 1 to 9 ops: its gradients meet and are summed four at a time (`sum3` /
/// `sum4`), with the roundings of a chain of `add`s.
#[test]
fn many_gradients_meeting_at_one_tensor() {
    for shape in [SCALAR_SHAPE, VEC4_SHAPE] {
        gradients_meeting_on(shape);
    }
}

fn gradients_meeting_on(shape: [usize; 4]) {
    let gpu = gpu();
    let n: usize = shape.iter().product();
    let mut r = rng(4);
    let (_, x) = upload(&gpu, &shape, &uniform(&mut r, n, -2.0, 2.0));
    let (_, gy) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
    for uses in 1..=9 {
        let coef: Vec<f32> = (0..uses).map(|i| 0.37 + 0.61 * i as f32).collect();
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(Tensor::from_slice(&gpu, &shape, &to_f32(&x)), true);
        let mut y = ew::scale(&mut tape, &xv, coef[0]);
        for &c in &coef[1..] {
            let yi = ew::scale(&mut tape, &xv, c);
            y = ew::add(&mut tape, &y, &yi);
        }
        let grads = tape.backward_with(&y, Tensor::from_slice(&gpu, &shape, &to_f32(&gy)));
        let total: f64 = coef.iter().map(|&c| c as f64).sum();
        let want: Vec<f64> = gy.iter().map(|g| g * total).collect();
        assert_close(
            &format!("{uses} uses"),
            &grads.get(&xv).unwrap().to_vec(),
            &want,
            1e-5,
        );
    }
    // The fused sums against chained adds, to the bit.
    let ts: Vec<Tensor> = (0..4)
        .map(|_| Tensor::from_slice(&gpu, &shape, &to_f32(&uniform(&mut r, n, -3.0, 3.0))))
        .collect();
    let chain3 = gew::add(&gew::add(&ts[0], &ts[1]), &ts[2]);
    let chain4 = gew::add(&chain3, &ts[3]);
    assert_eq!(
        gew::sum(&[&ts[0], &ts[1], &ts[2]]).to_vec(),
        chain3.to_vec()
    );
    assert_eq!(
        gew::sum(&[&ts[0], &ts[1], &ts[2], &ts[3]]).to_vec(),
        chain4.to_vec()
    );
}

#[test]
fn frozen_leaves_get_no_gradient_and_record_nothing() {
    let gpu = gpu();
    let mut r = rng(3);
    let (at, _) = upload(&gpu, &[4], &uniform(&mut r, 4, -1.0, 1.0));
    let (bt, _) = upload(&gpu, &[4], &uniform(&mut r, 4, -1.0, 1.0));
    let mut tape = Tape::new(&gpu);
    let a = tape.leaf(at, true);
    let b = tape.leaf(bt, false);
    let bb = ew::mul(&mut tape, &b, &b);
    assert!(
        !bb.needs_grad(),
        "an op on frozen inputs must not need a gradient"
    );
    let y = ew::mul(&mut tape, &a, &bb);
    let grads = tape.backward(&y);
    assert!(grads.get(&a).is_some());
    assert!(grads.get(&b).is_none());
}

/// The vec4 entry points give the scalar ones' results to the bit: every op on 144 values
/// (vec4 path) against the same values with one more element (scalar path).
#[test]
fn vec4_entry_points_equal_the_scalar_ones() {
    let gpu = gpu();
    let mut r = rng(5);
    let vals: Vec<Vec<f32>> = (0..5)
        .map(|_| to_f32(&uniform(&mut r, 145, -3.0, 3.0)))
        .collect();
    let run = |n: usize| -> Vec<Vec<f32>> {
        let t: Vec<Tensor> = vals
            .iter()
            .map(|v| Tensor::from_slice(&gpu, &[n], &v[..n]))
            .collect();
        let mut outs = vec![
            gew::add(&t[0], &t[1]).to_vec(),
            gew::sum(&[&t[0], &t[1], &t[2]]).to_vec(),
            gew::sum(&[&t[0], &t[1], &t[2], &t[3]]).to_vec(),
            gew::full(&gpu, &[n], 0.37).to_vec(),
        ];
        for (name, _) in UNARY {
            let mut tape = Tape::new(&gpu);
            let xv = tape.leaf(t[0].clone(), true);
            let y = apply_unary(&mut tape, name, &xv);
            outs.push(y.value().to_vec());
            let grads = tape.backward_with(&y, t[4].clone());
            outs.push(grads.get(&xv).unwrap().to_vec());
        }
        let mut tape = Tape::new(&gpu);
        let (av, bv) = (tape.leaf(t[0].clone(), true), tape.leaf(t[1].clone(), true));
        let ab = ew::mul(&mut tape, &av, &bv);
        let y = ew::sub(&mut tape, &ab, &bv);
        outs.push(y.value().to_vec());
        outs.iter_mut().for_each(|o| o.truncate(144));
        outs
    };
    let (v4, scalar) = (run(144), run(145));
    for (i, (a, b)) in v4.iter().zip(&scalar).enumerate() {
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "output {i}: the vec4 and scalar entry points differ"
        );
    }
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("elementwise");
    let x = fx.tensor(&gpu, "x");
    let gy = fx.tensor(&gpu, "gy");
    for (name, _) in UNARY {
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(x.clone(), true);
        let y = apply_unary(&mut tape, name, &xv);
        assert_close(
            &format!("{name} fwd vs torch"),
            &y.value().to_vec(),
            &fx.data(&format!("{name}.y")),
            1e-5,
        );
        let grads = tape.backward_with(&y, gy.clone());
        assert_close(
            &format!("{name} grad vs torch"),
            &grads.get(&xv).unwrap().to_vec(),
            &fx.data(&format!("{name}.gx")),
            1e-5,
        );
    }
}
