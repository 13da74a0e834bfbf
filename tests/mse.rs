//! MSE loss: forward and both gradients against an f64 CPU reference with finite differences,
//! the two-pass reduction on large inputs, and PyTorch fixtures.

mod common;
use common::*;
use hinas::ops::mse::{mse, mse_raw};
use hinas::tape::Tape;

fn mse_ref(p: &[f64], t: &[f64]) -> f64 {
    p.iter().zip(t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / p.len() as f64
}

#[test]
fn forward_and_gradients_match_finite_differences() {
    let gpu = gpu();
    let shape = [2, 3, 5, 7];
    let n = 210;
    let mut r = rng(11);
    let (pt, p) = upload(&gpu, &shape, &uniform(&mut r, n, -2.0, 2.0));
    let (tt, t) = upload(&gpu, &shape, &uniform(&mut r, n, 0.0, 1.0));
    let seed = 1.7;
    let mut tape = Tape::new(&gpu);
    let pv = tape.leaf(pt, true);
    let tv = tape.leaf(tt, true);
    let loss = mse(&mut tape, &pv, &tv);
    assert_eq!(loss.shape(), &[1]);
    close("forward", &loss.value().to_vec(), &[mse_ref(&p, &t)], 1e-5);
    let grads = tape.backward_with(&loss, hinas::gpu::Tensor::from_slice(&gpu, &[1], &[seed]));
    let seed = seed as f64;
    let num_p = numeric_grad(&|x| vec![mse_ref(x, &t)], &p, &[seed], 1e-6);
    let num_t = numeric_grad(&|x| vec![mse_ref(&p, x)], &t, &[seed], 1e-6);
    close("grad pred", &grads.get(&pv).unwrap().to_vec(), &num_p, 1e-4);
    close(
        "grad target",
        &grads.get(&tv).unwrap().to_vec(),
        &num_t,
        1e-4,
    );
}

#[test]
fn constant_target_gets_no_gradient() {
    let gpu = gpu();
    let mut r = rng(12);
    let (pt, p) = upload(&gpu, &[3, 1, 4, 9], &uniform(&mut r, 108, -1.0, 1.0));
    let (tt, t) = upload(&gpu, &[3, 1, 4, 9], &uniform(&mut r, 108, -1.0, 1.0));
    let mut tape = Tape::new(&gpu);
    let pv = tape.leaf(pt, true);
    let tv = tape.constant(tt);
    let loss = mse(&mut tape, &pv, &tv);
    let grads = tape.backward(&loss);
    assert!(grads.get(&tv).is_none());
    let want: Vec<f64> = p
        .iter()
        .zip(&t)
        .map(|(a, b)| 2.0 * (a - b) / 108.0)
        .collect();
    close("grad pred", &grads.get(&pv).unwrap().to_vec(), &want, 1e-5);
}

/// Sizes around the workgroup (256) and the partial cap (1024 groups x 256), and a few million.
#[test]
fn reduction_is_exact_for_many_sizes() {
    let gpu = gpu();
    let mut r = rng(13);
    for n in [
        1usize,
        255,
        256,
        257,
        70_001,
        262_144,
        262_145,
        (1 << 22) + 12_345,
    ] {
        let (pt, p) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (tt, t) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let got = mse_raw(&pt, &tt).to_vec();
        close(&format!("mse n={n}"), &got, &[mse_ref(&p, &t)], 1e-5);
    }
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("mse");
    let mut tape = Tape::new(&gpu);
    let pv = tape.leaf(fx.tensor(&gpu, "pred"), true);
    let tv = tape.leaf(fx.tensor(&gpu, "target"), true);
    let loss = mse(&mut tape, &pv, &tv);
    close(
        "loss vs torch",
        &loss.value().to_vec(),
        &fx.data("loss"),
        1e-5,
    );
    let grads = tape.backward_with(&loss, fx.tensor(&gpu, "gy"));
    close(
        "grad pred vs torch",
        &grads.get(&pv).unwrap().to_vec(),
        &fx.data("gpred"),
        1e-5,
    );
    close(
        "grad target vs torch",
        &grads.get(&tv).unwrap().to_vec(),
        &fx.data("gtarget"),
        1e-5,
    );
}
