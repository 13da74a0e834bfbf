//! The DARTS mixed op (weighted sum): forward, gradients to every input and to the weight
//! tensor against an f64 CPU reference with finite differences, chunked launches (K > 6),
//! repeated indices, constant weights, and a PyTorch fixture chained through softmax.

mod common;
use common::*;
use hinas::ops::mixed::{weighted_sum, weighted_sum_raw};
use hinas::ops::softmax::softmax;
use hinas::tape::{Tape, Var};

fn wsum_ref(xs: &[Vec<f64>], w: &[f64], idx: &[usize]) -> Vec<f64> {
    let mut out = vec![0.0; xs[0].len()];
    for (x, &i) in xs.iter().zip(idx) {
        for (o, v) in out.iter_mut().zip(x) {
            *o += w[i] * v;
        }
    }
    out
}

/// Forward plus every gradient by finite differences. `train[k]`: whether xs[k] is trainable.
fn check(
    shape: &[usize],
    w_shape: &[usize],
    idx: &[usize],
    train: &[bool],
    w_train: bool,
    seed: u64,
) {
    let gpu = gpu();
    let n: usize = shape.iter().product();
    let wn: usize = w_shape.iter().product();
    let mut r = rng(seed);
    let (wt, w) = upload(&gpu, w_shape, &uniform(&mut r, wn, -1.0, 1.5));
    let mut tape = Tape::new(&gpu);
    let mut xs = Vec::new();
    let mut vars = Vec::new();
    for &tr in train {
        let (t, d) = upload(&gpu, shape, &uniform(&mut r, n, -2.0, 2.0));
        vars.push(tape.leaf(t, tr));
        xs.push(d);
    }
    let wv = tape.leaf(wt, w_train);
    let ins: Vec<&Var> = vars.iter().collect();
    let y = weighted_sum(&mut tape, &ins, &wv, idx);
    let what = format!("{shape:?} K={}", idx.len());
    assert_close(
        &format!("{what} y"),
        &y.value().to_vec(),
        &wsum_ref(&xs, &w, idx),
        1e-5,
    );
    let (gt, gy) = upload(&gpu, shape, &uniform(&mut r, n, -1.0, 1.0));
    let grads = tape.backward_with(&y, gt);
    for k in 0..idx.len() {
        let got = grads.get(&vars[k]);
        if !train[k] {
            assert!(got.is_none(), "{what}: frozen x{k} got a gradient");
            continue;
        }
        let f = |x: &[f64]| {
            let mut d = xs.clone();
            d[k] = x.to_vec();
            wsum_ref(&d, &w, idx)
        };
        let num = numeric_grad(&f, &xs[k], &gy, 1e-4);
        assert_close(&format!("{what} gx{k}"), &got.unwrap().to_vec(), &num, 1e-4);
    }
    if w_train {
        let num = numeric_grad(&|w| wsum_ref(&xs, w, idx), &w, &gy, 1e-4);
        assert_close(
            &format!("{what} gw"),
            &grads.get(&wv).unwrap().to_vec(),
            &num,
            1e-4,
        );
    } else {
        assert!(grads.get(&wv).is_none());
    }
}

#[test]
fn small_k_one_launch() {
    check(&[3, 5, 7, 9], &[14, 7], &[5, 20, 97], &[true; 3], true, 51);
    check(&[1, 3, 5, 3], &[6, 3], &[4], &[true], true, 52);
}

/// K = 8 runs as 6 + 2 inputs; repeated indices add their dots into one weight gradient; some
/// inputs are frozen.
#[test]
fn chunked_repeated_indices_and_frozen_inputs() {
    let idx = [3, 0, 3, 6, 1, 2, 3, 5];
    let train = [true, false, true, true, false, true, true, true];
    check(&[1, 3, 5, 5], &[7], &idx, &train, true, 53);
}

/// Weights that need no gradient (a fixed genotype's one-hot, or the weight step).
#[test]
fn constant_weights() {
    check(&[3, 2, 3, 7], &[2, 7], &[7, 8, 13], &[true; 3], false, 54);
}

/// Enough elements for several dot-product workgroups; the weight gradient is checked against
/// f64 dot products (finite differences over every x would be slow here).
#[test]
fn multi_workgroup_dot_products() {
    let gpu = gpu();
    let shape = [2, 4, 33, 31];
    let n: usize = shape.iter().product();
    let idx = [2usize, 0, 4];
    let mut r = rng(55);
    let (wt, w) = upload(&gpu, &[5], &uniform(&mut r, 5, 0.0, 1.0));
    let mut ts = Vec::new();
    let mut xs = Vec::new();
    for _ in &idx {
        let (t, d) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
        ts.push(t);
        xs.push(d);
    }
    let (gt, gy) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
    let mut tape = Tape::new(&gpu);
    let vars: Vec<Var> = ts.iter().map(|t| tape.leaf(t.clone(), true)).collect();
    let wv = tape.leaf(wt, true);
    let ins: Vec<&Var> = vars.iter().collect();
    let y = weighted_sum(&mut tape, &ins, &wv, &idx);
    assert_close("y", &y.value().to_vec(), &wsum_ref(&xs, &w, &idx), 1e-5);
    let grads = tape.backward_with(&y, gt);
    let mut gw = vec![0.0; 5];
    for (x, &i) in xs.iter().zip(&idx) {
        gw[i] += dot(x, &gy);
    }
    assert_close("gw", &grads.get(&wv).unwrap().to_vec(), &gw, 1e-5);
    for (k, &i) in idx.iter().enumerate() {
        let want: Vec<f64> = gy.iter().map(|g| g * w[i]).collect();
        let got = grads.get(&vars[k]).unwrap().to_vec();
        assert_close(&format!("gx{k}"), &got, &want, 1e-6);
    }
    // The raw forward (no tape) agrees with the reference too.
    let refs: Vec<&hinas::gpu::Tensor> = ts.iter().collect();
    let raw = weighted_sum_raw(&refs, wv.value(), &idx);
    assert_close("raw y", &raw.to_vec(), &wsum_ref(&xs, &w, &idx), 1e-5);
}

/// w = softmax(alpha) as in a search step, against PyTorch autograd (7 inputs: two launches).
#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("mixed");
    let idx: Vec<usize> = (21..28).collect();
    let mut tape = Tape::new(&gpu);
    let alpha = tape.leaf(fx.tensor(&gpu, "alpha"), true);
    let w = softmax(&mut tape, &alpha);
    assert_close("w", &w.value().to_vec(), &fx.data("w"), 1e-5);
    let xs: Vec<Var> = (0..idx.len())
        .map(|k| tape.leaf(fx.tensor(&gpu, &format!("x{k}")), true))
        .collect();
    let ins: Vec<&Var> = xs.iter().collect();
    let y = weighted_sum(&mut tape, &ins, &w, &idx);
    assert_close("y", &y.value().to_vec(), &fx.data("y"), 1e-5);
    let grads = tape.backward_with(&y, fx.tensor(&gpu, "gy"));
    for (k, x) in xs.iter().enumerate() {
        let want = fx.data(&format!("gx{k}"));
        assert_close(
            &format!("gx{k}"),
            &grads.get(x).unwrap().to_vec(),
            &want,
            1e-5,
        );
    }
    let galpha = grads.get(&alpha).unwrap().to_vec();
    assert_close("galpha", &galpha, &fx.data("galpha"), 1e-4);

    // The weight gradient itself, with w as a leaf.
    let mut tape = Tape::new(&gpu);
    let w = tape.leaf(fx.tensor(&gpu, "w"), true);
    let xs: Vec<Var> = (0..idx.len())
        .map(|k| tape.constant(fx.tensor(&gpu, &format!("x{k}"))))
        .collect();
    let ins: Vec<&Var> = xs.iter().collect();
    let y = weighted_sum(&mut tape, &ins, &w, &idx);
    let grads = tape.backward_with(&y, fx.tensor(&gpu, "gy"));
    assert_close("gw", &grads.get(&w).unwrap().to_vec(), &fx.data("gw"), 1e-5);
}
