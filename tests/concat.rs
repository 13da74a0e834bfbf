//! Channel concat / slice / split and row bands: forward and gradients against an f64 CPU reference with
//! finite differences, and against PyTorch fixtures.

mod common;
use common::*;
use hinas::ops::concat::{
    channel_slice, concat, concat_raw, concat_rows_act_raw, row_band, row_band_raw, split,
};
use hinas::ops::elementwise::leaky_relu_raw;
use hinas::tape::{Tape, Var};

/// [N, C, HW] concat along C.
fn concat_ref(xs: &[&[f64]], cs: &[usize], n: usize, hw: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for b in 0..n {
        for (x, &c) in xs.iter().zip(cs) {
            out.extend_from_slice(&x[b * c * hw..(b + 1) * c * hw]);
        }
    }
    out
}

fn slice_ref(x: &[f64], c: usize, n: usize, hw: usize, start: usize, len: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for b in 0..n {
        out.extend_from_slice(&x[(b * c + start) * hw..(b * c + start + len) * hw]);
    }
    out
}

/// Rows [r0, r1) of every [H, W] plane of an [N, C, H, W] tensor.
fn band_ref(x: &[f64], planes: usize, h: usize, w: usize, r0: usize, r1: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for p in 0..planes {
        out.extend_from_slice(&x[(p * h + r0) * w..(p * h + r1) * w]);
    }
    out
}

/// Planes of 15 floats take the scalar copy kernels, planes of 8 their vec4 twins.
const PLANES: [(usize, usize); 2] = [(5, 3), (2, 4)];

#[test]
fn concat_forward_and_gradients() {
    for (h, w) in PLANES {
        concat_case(h, w);
    }
}

fn concat_case(h: usize, w: usize) {
    let gpu = gpu();
    // N=3, channel counts not multiples of 4, and a reused input (its gradients add).
    let n = 3;
    let hw = h * w;
    let cs = [3, 1, 6];
    let mut r = rng(31);
    let mut data = Vec::new();
    let mut tape = Tape::new(&gpu);
    let mut vars = Vec::new();
    for &c in &cs {
        let (t, d) = upload(&gpu, &[n, c, h, w], &uniform(&mut r, n * c * hw, -2.0, 2.0));
        vars.push(tape.leaf(t, true));
        data.push(d);
    }
    // inputs: x0, x1, x2, x0
    let order = [0usize, 1, 2, 0];
    let ins: Vec<&Var> = order.iter().map(|&i| &vars[i]).collect();
    let y = concat(&mut tape, &ins);
    let ctot: usize = order.iter().map(|&i| cs[i]).sum();
    assert_eq!(y.shape(), [n, ctot, h, w]);
    let f = |d: &[Vec<f64>]| {
        let xs: Vec<&[f64]> = order.iter().map(|&i| &d[i][..]).collect();
        let c: Vec<usize> = order.iter().map(|&i| cs[i]).collect();
        concat_ref(&xs, &c, n, hw)
    };
    assert_close(
        &format!("{h}x{w}: concat y"),
        &y.value().to_vec(),
        &f(&data),
        1e-6,
    );
    let (gt, gy) = upload(
        &gpu,
        &[n, ctot, h, w],
        &uniform(&mut r, n * ctot * hw, -1.0, 1.0),
    );
    let grads = tape.backward_with(&y, gt);
    for i in 0..cs.len() {
        let fi = |x: &[f64]| {
            let mut d = data.clone();
            d[i] = x.to_vec();
            f(&d)
        };
        let num = numeric_grad(&fi, &data[i], &gy, 1e-3);
        let got = grads.get(&vars[i]).unwrap().to_vec();
        assert_close(&format!("{h}x{w}: concat grad x{i}"), &got, &num, 1e-5);
    }
}

#[test]
fn concat_n1_and_single_input() {
    let gpu = gpu();
    let mut r = rng(32);
    let (a, ad) = upload(&gpu, &[1, 2, 3, 7], &uniform(&mut r, 42, -1.0, 1.0));
    let (b, bd) = upload(&gpu, &[1, 5, 3, 7], &uniform(&mut r, 105, -1.0, 1.0));
    let y = concat_raw(&[&a, &b]);
    let want = concat_ref(&[&ad, &bd], &[2, 5], 1, 21);
    assert_close("n=1 concat", &y.to_vec(), &want, 1e-6);
    let y1 = concat_raw(&[&b]);
    assert_close("single concat", &y1.to_vec(), &bd, 1e-6);
}

#[test]
fn slice_and_split_forward_and_gradients() {
    for (h, w) in PLANES {
        slice_and_split_case(h, w);
    }
}

fn slice_and_split_case(h: usize, w: usize) {
    let gpu = gpu();
    let (n, c) = (3, 7);
    let hw = h * w;
    let mut r = rng(33);
    let (xt, x) = upload(&gpu, &[n, c, h, w], &uniform(&mut r, n * c * hw, -2.0, 2.0));

    // A single slice: gradient is zero outside the slice.
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt.clone(), true);
    let y = channel_slice(&mut tape, &xv, 2, 3);
    assert_eq!(y.shape(), [n, 3, h, w]);
    assert_close(
        "slice y",
        &y.value().to_vec(),
        &slice_ref(&x, c, n, hw, 2, 3),
        1e-6,
    );
    let (gt, gy) = upload(&gpu, &[n, 3, h, w], &uniform(&mut r, n * 3 * hw, -1.0, 1.0));
    let grads = tape.backward_with(&y, gt);
    let num = numeric_grad(&|x| slice_ref(x, c, n, hw, 2, 3), &x, &gy, 1e-3);
    assert_close(
        &format!("{h}x{w}: slice grad"),
        &grads.get(&xv).unwrap().to_vec(),
        &num,
        1e-5,
    );

    // split [2, 4, 1], then a loss that uses every piece differently: y = concat(p2, p0).
    // p1 is unused, so its channels get a zero gradient.
    let sizes = [2, 4, 1];
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let parts = split(&mut tape, &xv, &sizes);
    let want = [
        slice_ref(&x, c, n, hw, 0, 2),
        slice_ref(&x, c, n, hw, 2, 4),
        slice_ref(&x, c, n, hw, 6, 1),
    ];
    for (i, pv) in parts.iter().enumerate() {
        assert_eq!(pv.shape(), [n, sizes[i], h, w]);
        assert_close(&format!("split {i}"), &pv.value().to_vec(), &want[i], 1e-6);
    }
    let y = concat(&mut tape, &[&parts[2], &parts[0]]);
    let f = |x: &[f64]| {
        let p0 = slice_ref(x, c, n, hw, 0, 2);
        let p2 = slice_ref(x, c, n, hw, 6, 1);
        concat_ref(&[&p2, &p0], &[1, 2], n, hw)
    };
    let (gt, gy) = upload(&gpu, &[n, 3, h, w], &uniform(&mut r, n * 3 * hw, -1.0, 1.0));
    let grads = tape.backward_with(&y, gt);
    let num = numeric_grad(&f, &x, &gy, 1e-3);
    assert_close(
        &format!("{h}x{w}: split grad"),
        &grads.get(&xv).unwrap().to_vec(),
        &num,
        1e-5,
    );
}

#[test]
fn row_band_forward_and_gradient() {
    // Rows of 3 floats take the scalar copy kernels, rows of 4 their vec4 twins; bands at the
    // top, inside and at the bottom.
    let gpu = gpu();
    let mut r = rng(41);
    for (h, w) in [(6, 3), (7, 4)] {
        for (r0, r1) in [(0, 2), (1, 5), (3, h), (0, h)] {
            let (n, c) = (2, 3);
            let (xt, x) = upload(
                &gpu,
                &[n, c, h, w],
                &uniform(&mut r, n * c * h * w, -2.0, 2.0),
            );
            let f = |x: &[f64]| band_ref(x, n * c, h, w, r0, r1);
            let mut tape = Tape::new(&gpu);
            let xv = tape.leaf(xt, true);
            let y = row_band(&mut tape, &xv, r0, r1);
            assert_eq!(y.shape(), [n, c, r1 - r0, w]);
            let case = format!("{h}x{w} rows [{r0}, {r1})");
            assert_close(&format!("{case}: y"), &y.value().to_vec(), &f(&x), 1e-6);
            let len = n * c * (r1 - r0) * w;
            let (gt, gy) = upload(&gpu, &[n, c, r1 - r0, w], &uniform(&mut r, len, -1.0, 1.0));
            let grads = tape.backward_with(&y, gt);
            let num = numeric_grad(&f, &x, &gy, 1e-3);
            assert_close(
                &format!("{case}: grad"),
                &grads.get(&xv).unwrap().to_vec(),
                &num,
                1e-5,
            );
        }
    }
}

/// Inference's fused concat: inputs of the band's own height and taller ones read from row `r0`,
/// with and without an activation, against the f64 reference and, to the bit, against the row
/// band copies, concat and activation pass it replaces.
#[test]
fn concat_rows_with_activation_matches_the_ops_it_fuses() {
    let gpu = gpu();
    let mut r = rng(43);
    for (rows, w) in [(3, 5), (2, 4)] {
        let (n, tall, r0) = (2, 7, 3);
        let cs = [3, 2, 5];
        let heights = [tall, rows, tall];
        let mut ts = Vec::new();
        let mut hs = Vec::new();
        for (&c, &h) in cs.iter().zip(&heights) {
            let (t, d) = upload(
                &gpu,
                &[n, c, h, w],
                &uniform(&mut r, n * c * h * w, -2.0, 2.0),
            );
            ts.push(t);
            hs.push(d);
        }
        let start = |h: usize| if h > rows { r0 } else { 0 };
        for act in [None, Some(0.0f32), Some(0.1)] {
            let xs: Vec<_> = ts
                .iter()
                .zip(&heights)
                .map(|(t, &h)| (t, start(h)))
                .collect();
            let got = concat_rows_act_raw(&xs, rows, act);
            assert_eq!(got.shape(), [n, 10, rows, w]);
            // The f64 reference: each input's band rows, joined per image, then the activation.
            let bands: Vec<Vec<f64>> = hs
                .iter()
                .zip(cs.iter().zip(&heights))
                .map(|(x, (&c, &h))| band_ref(x, n * c, h, w, start(h), start(h) + rows))
                .collect();
            let refs: Vec<&[f64]> = bands.iter().map(|b| b.as_slice()).collect();
            let mut want = concat_ref(&refs, &cs, n, rows * w);
            if let Some(a) = act {
                for v in &mut want {
                    *v = if *v > 0.0 { *v } else { a as f64 * *v };
                }
            }
            let case = format!("{rows}x{w}, act {act:?}");
            assert_close(&case, &got.to_vec(), &want, 1e-6);
            // The unfused ops give the same bits.
            let cut: Vec<_> = ts
                .iter()
                .zip(&heights)
                .map(|(t, &h)| row_band_raw(t, start(h), start(h) + rows))
                .collect();
            let joined = concat_raw(&cut.iter().collect::<Vec<_>>());
            let unfused = act.map_or(joined.clone(), |a| leaky_relu_raw(&joined, a));
            assert_eq!(got.to_vec(), unfused.to_vec(), "{case}: fused vs unfused");
        }
    }
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("concat");
    let mut tape = Tape::new(&gpu);
    let a = tape.leaf(fx.tensor(&gpu, "a"), true);
    let b = tape.leaf(fx.tensor(&gpu, "b"), true);
    let c = tape.leaf(fx.tensor(&gpu, "c"), true);
    let y = concat(&mut tape, &[&a, &b, &c]);
    assert_close("cat y", &y.value().to_vec(), &fx.data("cat.y"), 1e-6);
    let grads = tape.backward_with(&y, fx.tensor(&gpu, "cat.gy"));
    for (v, k) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        let want = fx.data(&format!("cat.g{k}"));
        assert_close(
            &format!("cat g{k}"),
            &grads.get(v).unwrap().to_vec(),
            &want,
            1e-6,
        );
    }

    // split(x, [3, 2, 4]), then y = cat(p2, p0): p1's channels get a zero gradient.
    let mut tape = Tape::new(&gpu);
    let x = tape.leaf(fx.tensor(&gpu, "x"), true);
    let parts = split(&mut tape, &x, &[3, 2, 4]);
    for (i, part) in parts.iter().enumerate() {
        let want = fx.data(&format!("split.p{i}"));
        assert_close(&format!("split p{i}"), &part.value().to_vec(), &want, 1e-6);
    }
    let y = concat(&mut tape, &[&parts[2], &parts[0]]);
    let grads = tape.backward_with(&y, fx.tensor(&gpu, "split.gy"));
    let want = fx.data("split.gx");
    assert_close("split gx", &grads.get(&x).unwrap().to_vec(), &want, 1e-6);

    // x[:, :, 1:4, :] of a [2, 3, 6, 5] tensor.
    let mut tape = Tape::new(&gpu);
    let x = tape.leaf(fx.tensor(&gpu, "band.x"), true);
    let y = row_band(&mut tape, &x, 1, 4);
    assert_close("band y", &y.value().to_vec(), &fx.data("band.y"), 1e-6);
    let grads = tape.backward_with(&y, fx.tensor(&gpu, "band.gy"));
    let want = fx.data("band.gx");
    assert_close("band gx", &grads.get(&x).unwrap().to_vec(), &want, 1e-6);
}
