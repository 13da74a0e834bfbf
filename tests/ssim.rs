//! SSIM (HiNAS' Gaussian-window formulation): forward against a literal f64 transcription with
//! the 11x11 window, gradients against finite differences of an f64 separable reference, and
//! forward and gradients against PyTorch fixtures (F.conv2d + autograd).

mod common;
use common::*;
use hinas::gpu::Tensor;
use hinas::ops::ssim::{neg_log10_ssim, ssim, ssim_raw};
use hinas::tape::{Tape, Var};

/// A loss on the tape: `f(pred, target)`.
type LossFn = fn(&mut Tape, &Var, &Var) -> Var;
/// A per-plane image filter of the f64 reference.
type Filter = dyn Fn(&[f64], &[usize]) -> Vec<f64>;

const C1: f64 = 1e-4;
const C2: f64 = 9e-4;

fn taps() -> Vec<f64> {
    let g: Vec<f64> = (0..11)
        .map(|i| (-((i as f64 - 5.0).powi(2)) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let s: f64 = g.iter().sum();
    g.iter().map(|v| v / s).collect()
}

/// Zero-padded "same" correlation of every plane with the 11x11 outer-product window.
fn filter2d(img: &[f64], shape: &[usize]) -> Vec<f64> {
    let (h, w) = (shape[2] as isize, shape[3] as isize);
    let g = taps();
    let plane = (h * w) as usize;
    let mut out = vec![0.0; img.len()];
    for (pi, o) in out.chunks_mut(plane).enumerate() {
        let src = &img[pi * plane..(pi + 1) * plane];
        for r in 0..h {
            for c in 0..w {
                let mut s = 0.0;
                for i in 0..11isize {
                    for j in 0..11isize {
                        let (rr, cc) = (r + i - 5, c + j - 5);
                        if rr >= 0 && rr < h && cc >= 0 && cc < w {
                            s += g[i as usize] * g[j as usize] * src[(rr * w + cc) as usize];
                        }
                    }
                }
                o[(r * w + c) as usize] = s;
            }
        }
    }
    out
}

/// The same filter done separably (cheaper, for finite differences).
fn filter_sep(img: &[f64], shape: &[usize]) -> Vec<f64> {
    let (h, w) = (shape[2] as isize, shape[3] as isize);
    let g = taps();
    let pass = |src: &[f64], step: isize, len: isize| -> Vec<f64> {
        let mut out = vec![0.0; src.len()];
        for (idx, o) in out.iter_mut().enumerate() {
            let pos = (idx as isize / step) % len;
            let mut s = 0.0;
            for (j, gj) in g.iter().enumerate() {
                let q = pos + j as isize - 5;
                if q >= 0 && q < len {
                    s += gj * src[(idx as isize + (j as isize - 5) * step) as usize];
                }
            }
            *o = s;
        }
        out
    };
    pass(&pass(img, 1, w), w, h)
}

fn ssim_with(filt: &Filter, x: &[f64], y: &[f64], shape: &[usize]) -> f64 {
    let prod = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).collect::<Vec<_>>();
    let mx = filt(x, shape);
    let my = filt(y, shape);
    let exx = filt(&prod(x, x), shape);
    let eyy = filt(&prod(y, y), shape);
    let exy = filt(&prod(x, y), shape);
    let mut sum = 0.0;
    for i in 0..x.len() {
        let (a, b) = (mx[i], my[i]);
        let sxx = exx[i] - a * a;
        let syy = eyy[i] - b * b;
        let sxy = exy[i] - a * b;
        sum += ((2.0 * a * b + C1) * (2.0 * sxy + C2)) / ((a * a + b * b + C1) * (sxx + syy + C2));
    }
    sum / x.len() as f64
}

fn ssim_ref(x: &[f64], y: &[f64], shape: &[usize]) -> f64 {
    ssim_with(&filter2d, x, y, shape)
}
fn ssim_sep(x: &[f64], y: &[f64], shape: &[usize]) -> f64 {
    ssim_with(&filter_sep, x, y, shape)
}

/// A clean image in [0, 1] with some spatial correlation and a noisy, clipped estimate of it.
fn images(seed: u64, shape: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let n: usize = shape.iter().product();
    let mut r = rng(seed);
    let u = uniform(&mut r, n, 0.0, 1.0);
    let clean: Vec<f64> = (0..n).map(|i| 0.5 * u[i] + 0.5 * u[(i + 1) % n]).collect();
    let noise = uniform(&mut r, n, -0.25, 0.25);
    let pred = clean
        .iter()
        .zip(&noise)
        .map(|(c, e)| (c + e).clamp(0.0, 1.0))
        .collect();
    (pred, clean)
}

#[test]
fn separable_reference_equals_window_reference() {
    let shape = [1, 2, 9, 14];
    let (x, y) = images(1, &shape);
    let a = ssim_ref(&x, &y, &shape);
    let b = ssim_sep(&x, &y, &shape);
    assert!((a - b).abs() < 1e-13, "{a} vs {b}");
}

#[test]
fn forward_matches_reference() {
    let gpu = gpu();
    // Planes narrower than the window, odd sizes, and one big enough for the capped grid stride.
    for (seed, shape) in [
        (2u64, [1usize, 3, 4, 6]),
        (3, [2, 2, 13, 17]),
        (4, [1, 1, 23, 19]),
        (5, [1, 2, 300, 480]),
    ] {
        let (x, y) = images(seed, &shape);
        let (xt, x) = upload(&gpu, &shape, &x);
        let (yt, y) = upload(&gpu, &shape, &y);
        let got = ssim_raw(&xt, &yt).to_vec();
        let want = ssim_ref(&x, &y, &shape);
        close(&format!("ssim {shape:?}"), &got, &[want], 1e-5);
        let one = ssim_raw(&xt, &xt).to_vec()[0];
        assert!((one - 1.0).abs() < 1e-5, "ssim(x, x) = {one}");
    }
}

/// Runs `f(pred, target)` on a tape with the chosen inputs trainable and returns the value and
/// the gradients (for the upstream gradient `seed`).
fn run(
    f: LossFn,
    x: &Tensor,
    y: &Tensor,
    train: [bool; 2],
    seed: f32,
) -> (f32, Option<Vec<f32>>, Option<Vec<f32>>) {
    let gpu = gpu();
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(x.clone(), train[0]);
    let yv = tape.leaf(y.clone(), train[1]);
    let out = f(&mut tape, &xv, &yv);
    assert_eq!(out.shape(), &[1]);
    let v = out.value().to_vec()[0];
    let grads = tape.backward_with(&out, Tensor::from_slice(&gpu, &[1], &[seed]));
    let gx = grads.get(&xv).map(|t| t.to_vec());
    let gy = grads.get(&yv).map(|t| t.to_vec());
    assert_eq!(gx.is_some(), train[0]);
    assert_eq!(gy.is_some(), train[1]);
    (v, gx, gy)
}

#[test]
fn gradients_match_finite_differences() {
    let gpu = gpu();
    for (seed, shape) in [(6u64, [2usize, 2, 13, 17]), (7, [1, 1, 23, 19])] {
        let (x, y) = images(seed, &shape);
        let (xt, x) = upload(&gpu, &shape, &x);
        let (yt, y) = upload(&gpu, &shape, &y);
        let s = 0.8;
        let sh = shape.to_vec();
        let fx = |v: &[f64]| vec![ssim_sep(v, &y, &sh)];
        let fy = |v: &[f64]| vec![ssim_sep(&x, v, &sh)];
        let num_x = numeric_grad(&fx, &x, &[s], 1e-5);
        let num_y = numeric_grad(&fy, &y, &[s], 1e-5);
        // Both inputs trainable (one fused pass), then each alone (its own entry point).
        let (v, gx, gy) = run(ssim, &xt, &yt, [true, true], s as f32);
        close("ssim value", &[v], &[ssim_sep(&x, &y, &sh)], 1e-5);
        close(
            &format!("d ssim/d pred {shape:?}"),
            &gx.unwrap(),
            &num_x,
            1e-4,
        );
        close(
            &format!("d ssim/d target {shape:?}"),
            &gy.unwrap(),
            &num_y,
            1e-4,
        );
        let (_, gx, _) = run(ssim, &xt, &yt, [true, false], s as f32);
        close("d ssim/d pred alone", &gx.unwrap(), &num_x, 1e-4);
        let (_, _, gy) = run(ssim, &xt, &yt, [false, true], s as f32);
        close("d ssim/d target alone", &gy.unwrap(), &num_y, 1e-4);

        // -log10(mean SSIM): d/dx = -1/(S ln 10) dS/dx.
        let sv = ssim_sep(&x, &y, &sh);
        let k = -1.3 / (sv * std::f64::consts::LN_10);
        let (v, gx, gy) = run(neg_log10_ssim, &xt, &yt, [true, true], 1.3);
        close("-log10 ssim", &[v], &[-sv.log10()], 1e-5);
        let want_x: Vec<f64> = num_x.iter().map(|g| g / s * k).collect();
        let want_y: Vec<f64> = num_y.iter().map(|g| g / s * k).collect();
        close("d -log10 ssim/d pred", &gx.unwrap(), &want_x, 1e-4);
        close("d -log10 ssim/d target", &gy.unwrap(), &want_y, 1e-4);
    }
}

#[test]
fn neg_log10_ssim_matches_finite_differences_directly() {
    let gpu = gpu();
    let shape = [1, 2, 7, 12];
    let (x, y) = images(8, &shape);
    let (xt, x) = upload(&gpu, &shape, &x);
    let (yt, y) = upload(&gpu, &shape, &y);
    let f = |v: &[f64]| vec![-ssim_sep(v, &y, &shape).log10()];
    let num = numeric_grad(&f, &x, &[1.0], 1e-5);
    let (_, gx, _) = run(neg_log10_ssim, &xt, &yt, [true, false], 1.0);
    close("d -log10 ssim/d pred", &gx.unwrap(), &num, 1e-4);
}

#[test]
fn inference_tape_records_nothing() {
    let gpu = gpu();
    let shape = [1, 1, 8, 8];
    let (x, y) = images(9, &shape);
    let (xt, _) = upload(&gpu, &shape, &x);
    let (yt, _) = upload(&gpu, &shape, &y);
    let mut tape = Tape::inference(&gpu);
    let xv = tape.leaf(xt, true);
    let yv = tape.leaf(yt, true);
    let out = neg_log10_ssim(&mut tape, &xv, &yv);
    assert!(!out.needs_grad());
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("ssim");
    for tag in ["a", "b"] {
        let x = fx.tensor(&gpu, &format!("{tag}.pred"));
        let y = fx.tensor(&gpu, &format!("{tag}.target"));
        let raw = ssim_raw(&x, &y).to_vec();
        close(
            &format!("{tag} ssim_raw vs torch"),
            &raw,
            &fx.data(&format!("{tag}.ssim")),
            1e-5,
        );
        let fns: [(&str, LossFn); 2] = [("ssim", ssim), ("nlog", neg_log10_ssim)];
        for (name, f) in fns {
            let key = format!("{tag}.{name}");
            let seed = fx.get(&format!("{key}.seed")).1[0];
            let (v, gx, gy) = run(f, &x, &y, [true, true], seed);
            close(&format!("{key} value vs torch"), &[v], &fx.data(&key), 1e-5);
            close(
                &format!("{key} grad pred vs torch"),
                &gx.unwrap(),
                &fx.data(&format!("{key}.gpred")),
                1e-4,
            );
            close(
                &format!("{key} grad target vs torch"),
                &gy.unwrap(),
                &fx.data(&format!("{key}.gtarget")),
                1e-4,
            );
        }
    }
}
