//! Softmax over the last dim: forward and gradient against an f64 CPU reference with finite
//! differences, numerical stability for large logits, and PyTorch fixtures.

mod common;
use common::*;
use hinas::ops::softmax::{softmax, softmax_raw};
use hinas::tape::Tape;

fn softmax_ref(x: &[f64], k: usize) -> Vec<f64> {
    x.chunks(k)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(move |v| v / s)
        })
        .collect()
}

#[test]
fn forward_and_gradient_awkward_shapes() {
    let gpu = gpu();
    // [rows, k], a 3-d [3, 14, 7] whose leading dims flatten into rows, k = 3 and k = 64.
    for (seed, shape) in [
        (41u64, vec![5, 7]),
        (42, vec![3, 14, 7]),
        (43, vec![2, 3]),
        (44, vec![3, 64]),
    ] {
        let k = *shape.last().unwrap();
        let n: usize = shape.iter().product();
        let mut r = rng(seed);
        let (xt, x) = upload(&gpu, &shape, &uniform(&mut r, n, -3.0, 3.0));
        let (gt, gy) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(xt, true);
        let y = softmax(&mut tape, &xv);
        assert_close(
            &format!("{shape:?} y"),
            &y.value().to_vec(),
            &softmax_ref(&x, k),
            1e-5,
        );
        let grads = tape.backward_with(&y, gt);
        let num = numeric_grad(&|x| softmax_ref(x, k), &x, &gy, 1e-6);
        let got = grads.get(&xv).unwrap().to_vec();
        assert_close(&format!("{shape:?} gx"), &got, &num, 1e-4);
    }
}

#[test]
fn large_logits_stay_finite() {
    let gpu = gpu();
    let x = [1000.0, 999.0, -50.0, 0.0, -1000.0, -999.0, -50.0, -1001.0];
    let (xt, x) = upload(&gpu, &[2, 4], &x);
    let y = softmax_raw(&xt).to_vec();
    assert_close("large logits", &y, &softmax_ref(&x, 4), 1e-6);
}

#[test]
fn single_column_rows_are_one_with_zero_gradient() {
    let gpu = gpu();
    let (xt, _) = upload(&gpu, &[4, 1], &[0.3, -2.0, 7.0, 1.0]);
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let y = softmax(&mut tape, &xv);
    assert_eq!(y.value().to_vec(), vec![1.0; 4]);
    let (gt, _) = upload(&gpu, &[4, 1], &[1.0, -1.0, 0.5, 2.0]);
    let grads = tape.backward_with(&y, gt);
    assert!(grads
        .get(&xv)
        .unwrap()
        .to_vec()
        .iter()
        .all(|v| v.abs() < 1e-6));
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("softmax");
    for name in ["alpha", "beta"] {
        let key = |k: &str| format!("{name}.{k}");
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(fx.tensor(&gpu, &key("x")), true);
        let y = softmax(&mut tape, &xv);
        assert_close(&key("y"), &y.value().to_vec(), &fx.data(&key("y")), 1e-5);
        let grads = tape.backward_with(&y, fx.tensor(&gpu, &key("gy")));
        let gx = grads.get(&xv).unwrap().to_vec();
        assert_close(&key("gx"), &gx, &fx.data(&key("gx")), 1e-5);
    }
}
