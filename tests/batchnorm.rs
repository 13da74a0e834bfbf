//! BatchNorm: forward, running-stat updates and every gradient against an f64 CPU reference with
//! finite differences (train and eval mode, with and without affine), a large multi-chunk
//! reduction, and PyTorch fixtures.

mod common;
use common::*;
use hinas::ops::batchnorm::{batch_norm, batch_norm_act, batch_norm_raw, BnRunning};
use hinas::ops::elementwise::leaky_relu;
use hinas::tape::Tape;
use rand::Rng;

const EPS: f64 = 1e-5;
const MOM: f64 = 0.1;

struct Ref {
    y: Vec<f64>,
    rmean: Vec<f64>,
    rvar: Vec<f64>,
}

/// f64 BatchNorm over [N, C, HW]. `gb` = (gamma, beta).
fn bn_ref(
    x: &[f64],
    s: [usize; 3],
    gb: Option<(&[f64], &[f64])>,
    rm: &[f64],
    rv: &[f64],
    training: bool,
) -> Ref {
    let [n, c, hw] = s;
    let m = (n * hw) as f64;
    let mut y = vec![0.0; x.len()];
    let (mut rmean, mut rvar) = (rm.to_vec(), rv.to_vec());
    for ch in 0..c {
        let idx = |b: usize, i: usize| (b * c + ch) * hw + i;
        let (mean, var) = if training {
            let mut mean = 0.0;
            for b in 0..n {
                for i in 0..hw {
                    mean += x[idx(b, i)];
                }
            }
            mean /= m;
            let mut ss = 0.0;
            for b in 0..n {
                for i in 0..hw {
                    ss += (x[idx(b, i)] - mean).powi(2);
                }
            }
            rmean[ch] = (1.0 - MOM) * rm[ch] + MOM * mean;
            rvar[ch] = (1.0 - MOM) * rv[ch] + MOM * ss / (m - 1.0);
            (mean, ss / m)
        } else {
            (rm[ch], rv[ch])
        };
        let (g, be) = gb.map_or((1.0, 0.0), |(g, b)| (g[ch], b[ch]));
        let inv = 1.0 / (var + EPS).sqrt();
        for b in 0..n {
            for i in 0..hw {
                y[idx(b, i)] = (x[idx(b, i)] - mean) * inv * g + be;
            }
        }
    }
    Ref { y, rmean, rvar }
}

/// Analytic f64 train-mode input gradient (checked against finite differences on small shapes,
/// used alone on the large one).
fn bn_train_gx_ref(x: &[f64], gy: &[f64], s: [usize; 3], gamma: Option<&[f64]>) -> Vec<f64> {
    let [n, c, hw] = s;
    let m = (n * hw) as f64;
    let mut gx = vec![0.0; x.len()];
    for ch in 0..c {
        let ids: Vec<usize> = (0..n)
            .flat_map(|b| (0..hw).map(move |i| (b * c + ch) * hw + i))
            .collect();
        let mean = ids.iter().map(|&j| x[j]).sum::<f64>() / m;
        let var = ids.iter().map(|&j| (x[j] - mean).powi(2)).sum::<f64>() / m;
        let inv = 1.0 / (var + EPS).sqrt();
        let sg: f64 = ids.iter().map(|&j| gy[j]).sum();
        let sgx: f64 = ids.iter().map(|&j| gy[j] * (x[j] - mean) * inv).sum();
        let g = gamma.map_or(1.0, |g| g[ch]);
        for &j in &ids {
            let xh = (x[j] - mean) * inv;
            gx[j] = g * inv * (gy[j] - sg / m - xh * sgx / m);
        }
    }
    gx
}

fn dims(shape: &[usize]) -> [usize; 3] {
    [shape[0], shape[1], shape[2..].iter().product()]
}

/// Runs one forward + backward on the tape and checks everything against the reference.
fn check(shape: &[usize], affine: bool, training: bool, seed: u64) {
    let gpu = gpu();
    let s = dims(shape);
    let (n, c) = (x_len(shape), s[1]);
    let mut r = rng(seed);
    let (xt, x) = upload(&gpu, shape, &uniform(&mut r, n, -2.0, 3.0));
    let (gt, gy) = upload(&gpu, shape, &uniform(&mut r, n, -1.0, 1.0));
    let (gam_t, gam) = upload(&gpu, &[c], &uniform(&mut r, c, 0.5, 1.5));
    let (bet_t, bet) = upload(&gpu, &[c], &uniform(&mut r, c, -1.0, 1.0));
    let (rm_t, rm) = upload(&gpu, &[c], &uniform(&mut r, c, -0.5, 0.5));
    let (rv_t, rv) = upload(&gpu, &[c], &uniform(&mut r, c, 0.5, 2.0));
    let running = BnRunning {
        mean: rm_t,
        var: rv_t,
    };
    let gb = affine.then_some((&gam[..], &bet[..]));
    let want = bn_ref(&x, s, gb, &rm, &rv, training);
    let what = format!("{shape:?} affine={affine} training={training}");

    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let gv = tape.leaf(gam_t, true);
    let bv = tape.leaf(bet_t, true);
    let y = batch_norm(
        &mut tape,
        &xv,
        affine.then_some((&gv, &bv)),
        &running,
        training,
    );
    assert_close(&format!("{what} y"), &y.value().to_vec(), &want.y, 1e-5);
    assert_close(
        &format!("{what} running mean"),
        &running.mean.to_vec(),
        &want.rmean,
        1e-5,
    );
    assert_close(
        &format!("{what} running var"),
        &running.var.to_vec(),
        &want.rvar,
        1e-5,
    );
    let grads = tape.backward_with(&y, gt);

    let h = 1e-6;
    let got_x = grads.get(&xv).unwrap().to_vec();
    let ana = training.then(|| bn_train_gx_ref(&x, &gy, s, affine.then_some(&gam[..])));
    if n <= 4000 {
        let fx = |xs: &[f64]| bn_ref(xs, s, gb, &rm, &rv, training).y;
        let num_x = numeric_grad(&fx, &x, &gy, h);
        assert_close(&format!("{what} gx"), &got_x, &num_x, 1e-4);
        if let Some(ana) = &ana {
            let ana = to_f32(ana);
            assert_close(&format!("{what} analytic gx ref"), &ana, &num_x, 1e-6);
        }
    } else {
        // Finite differences over every x would be slow; the analytic reference is checked
        // against them on the small shapes.
        assert_close(&format!("{what} gx"), &got_x, &ana.unwrap(), 1e-4);
    }
    if affine {
        let fg = |g: &[f64]| bn_ref(&x, s, Some((g, &bet)), &rm, &rv, training).y;
        let fb = |b: &[f64]| bn_ref(&x, s, Some((&gam, b)), &rm, &rv, training).y;
        let num_g = numeric_grad(&fg, &gam, &gy, h);
        let num_b = numeric_grad(&fb, &bet, &gy, h);
        assert_close(
            &format!("{what} ggamma"),
            &grads.get(&gv).unwrap().to_vec(),
            &num_g,
            1e-4,
        );
        assert_close(
            &format!("{what} gbeta"),
            &grads.get(&bv).unwrap().to_vec(),
            &num_b,
            1e-4,
        );
    } else {
        assert!(grads.get(&gv).is_none() && grads.get(&bv).is_none());
    }
}

fn x_len(shape: &[usize]) -> usize {
    shape.iter().product()
}

#[test]
fn train_mode_affine_awkward_shapes() {
    check(&[3, 5, 7, 9], true, true, 11);
    check(&[1, 3, 5, 3], true, true, 12);
}

#[test]
fn train_mode_no_affine() {
    check(&[2, 7, 3, 5], false, true, 13);
    check(&[1, 2, 1, 9], false, true, 14);
}

#[test]
fn eval_mode_with_and_without_affine() {
    check(&[3, 6, 5, 5], true, false, 15);
    check(&[1, 5, 3, 7], false, false, 16);
}

/// Several reduction chunks per channel: chunks that straddle planes (hw = 1763, 2 chunks of
/// 2645), and chunks inside one plane (N = 1, hw = 8827, 3 chunks of 2943).
#[test]
fn train_mode_multi_chunk_reductions() {
    check(&[3, 2, 41, 43], true, true, 17);
    check(&[1, 3, 91, 97], false, true, 21);
}

/// Planes of a multiple of 4 elements take the vec4 kernels (the shapes above the scalar ones):
/// the fused one-chunk kernels' vec4 loops, `normalize_v4` and `bwd_dx_train_v4` with two chunks
/// per channel, and `normalize_v4` / `bwd_dx_eval_v4` in eval mode.
#[test]
fn planes_of_whole_vec4s() {
    check(&[2, 3, 4, 6], true, true, 31);
    check(&[2, 2, 48, 48], false, true, 32);
    check(&[3, 4, 4, 4], true, false, 33);
}

/// N*HW = 8*64*64 per channel, with a large common offset: the statistics must not suffer from
/// E[x^2] - E[x]^2 cancellation. The analytic gradient reference is validated by the checks above.
#[test]
fn large_reduction_with_offset() {
    let gpu = gpu();
    let shape = [8, 3, 64, 64];
    let s = dims(&shape);
    let n = x_len(&shape);
    let mut r = rng(18);
    let x: Vec<f64> = (0..n)
        .map(|j| {
            let ch = (j / 4096) % 3;
            100.0 * ch as f64 - 50.0 + r.random_range(-1.5..1.5)
        })
        .collect();
    let (xt, x) = upload(&gpu, &shape, &x);
    let (gt, gy) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 1.0));
    let running = BnRunning::new(&gpu, 3);
    let want = bn_ref(&x, s, None, &[0.0; 3], &[1.0; 3], true);
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let y = batch_norm(&mut tape, &xv, None, &running, true);
    assert_close("large y", &y.value().to_vec(), &want.y, 1e-4);
    assert_close("large rmean", &running.mean.to_vec(), &want.rmean, 1e-5);
    assert_close("large rvar", &running.var.to_vec(), &want.rvar, 1e-4);
    let grads = tape.backward_with(&y, gt);
    let want_gx = bn_train_gx_ref(&x, &gy, s, None);
    assert_close(
        "large gx",
        &grads.get(&xv).unwrap().to_vec(),
        &want_gx,
        1e-4,
    );
}

/// Two train steps compound the momentum; an eval step leaves the running stats alone.
#[test]
fn running_stats_accumulate_over_steps() {
    let gpu = gpu();
    let shape = [2, 3, 4, 5];
    let s = dims(&shape);
    let n = x_len(&shape);
    let mut r = rng(19);
    let running = BnRunning::new(&gpu, 3);
    let (mut rm, mut rv) = (vec![0.0; 3], vec![1.0; 3]);
    for _ in 0..2 {
        let (xt, x) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 4.0));
        let _ = batch_norm_raw(&xt, None, &running, true);
        let w = bn_ref(&x, s, None, &rm, &rv, true);
        (rm, rv) = (w.rmean, w.rvar);
    }
    let (xt, x) = upload(&gpu, &shape, &uniform(&mut r, n, -1.0, 4.0));
    let (y, _) = batch_norm_raw(&xt, None, &running, false);
    assert_close("rmean after 2 steps", &running.mean.to_vec(), &rm, 1e-5);
    assert_close("rvar after 2 steps", &running.var.to_vec(), &rv, 1e-5);
    let w = bn_ref(&x, s, None, &rm, &rv, false);
    assert_close("eval y", &y.to_vec(), &w.y, 1e-5);
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("batchnorm");
    for case in ["train_affine", "train_plain", "eval_affine"] {
        let key = |k: &str| format!("{case}.{k}");
        let affine = fx.has(&key("gamma"));
        let training = case.starts_with("train");
        let running = BnRunning {
            mean: fx.tensor(&gpu, &key("rmean_in")),
            var: fx.tensor(&gpu, &key("rvar_in")),
        };
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(fx.tensor(&gpu, &key("x")), true);
        let (gv, bv) = if affine {
            (
                Some(tape.leaf(fx.tensor(&gpu, &key("gamma")), true)),
                Some(tape.leaf(fx.tensor(&gpu, &key("beta")), true)),
            )
        } else {
            (None, None)
        };
        let aff = gv.as_ref().zip(bv.as_ref());
        let y = batch_norm(&mut tape, &xv, aff, &running, training);
        assert_close(&key("y"), &y.value().to_vec(), &fx.data(&key("y")), 1e-5);
        let rm = running.mean.to_vec();
        assert_close(&key("rmean"), &rm, &fx.data(&key("rmean_out")), 1e-5);
        let rv = running.var.to_vec();
        assert_close(&key("rvar"), &rv, &fx.data(&key("rvar_out")), 1e-5);
        let grads = tape.backward_with(&y, fx.tensor(&gpu, &key("gy")));
        let gx = grads.get(&xv).unwrap().to_vec();
        assert_close(&key("gx"), &gx, &fx.data(&key("gx")), 1e-4);
        if let (Some(gv), Some(bv)) = (&gv, &bv) {
            let gg = grads.get(gv).unwrap().to_vec();
            assert_close(&key("ggamma"), &gg, &fx.data(&key("ggamma")), 1e-4);
            let gb = grads.get(bv).unwrap().to_vec();
            assert_close(&key("gbeta"), &gb, &fx.data(&key("gbeta")), 1e-4);
        }
    }
}

/// Inference tape: no node is recorded, but train mode still updates the running stats.
#[test]
fn inference_tape_still_updates_running_stats() {
    let gpu = gpu();
    let mut r = rng(20);
    let (xt, x) = upload(&gpu, &[2, 2, 3, 3], &uniform(&mut r, 36, 0.0, 2.0));
    let running = BnRunning::new(&gpu, 2);
    let mut tape = Tape::inference(&gpu);
    let xv = tape.leaf(xt, true);
    let y = batch_norm(&mut tape, &xv, None, &running, true);
    assert!(!y.needs_grad());
    let w = bn_ref(&x, [2, 2, 9], None, &[0.0; 2], &[1.0; 2], true);
    assert_close("y", &y.value().to_vec(), &w.y, 1e-5);
    assert_close("rmean", &running.mean.to_vec(), &w.rmean, 1e-5);
}

/// `batch_norm_act` (BatchNorm with LeakyReLU in its fused kernels) against the composition it
/// replaces, `leaky_relu(batch_norm(x))`: output, running statistics and the x, gamma and beta
/// gradients equal to the bit, for ReLU and LeakyReLU(0.2), planes of whole vec4s and not, with
/// and without affine, and a shape too large for the fused kernels (the composition itself);
/// plus its x gradient against finite differences of the f64 reference.
#[test]
fn fused_activation_equals_batch_norm_then_leaky_relu() {
    let gpu = gpu();
    let shapes: [&[usize]; 3] = [&[2, 3, 6, 6], &[3, 2, 5, 3], &[2, 2, 48, 48]];
    for (k, shape) in shapes.iter().enumerate() {
        for (slope, affine) in [(0.2f32, true), (0.0, false), (0.2, false)] {
            let s = dims(shape);
            let (n, c) = (x_len(shape), s[1]);
            let mut r = rng(40 + k as u64);
            let x = uniform(&mut r, n, -2.0, 3.0);
            let gy = uniform(&mut r, n, -1.0, 1.0);
            let gam = uniform(&mut r, c, 0.5, 1.5);
            let bet = uniform(&mut r, c, -1.0, 1.0);
            let what = format!("{shape:?} slope {slope} affine {affine}");
            let run = |fused: bool| {
                let running = BnRunning::new(&gpu, c);
                let mut tape = Tape::new(&gpu);
                let xv = tape.leaf(upload(&gpu, shape, &x).0, true);
                let gv = tape.leaf(upload(&gpu, &[c], &gam).0, true);
                let bv = tape.leaf(upload(&gpu, &[c], &bet).0, true);
                let aff = affine.then_some((&gv, &bv));
                let y = if fused {
                    batch_norm_act(&mut tape, &xv, aff, &running, true, slope)
                } else {
                    let y = batch_norm(&mut tape, &xv, aff, &running, true);
                    leaky_relu(&mut tape, &y, slope)
                };
                let out = y.value().to_vec();
                let g = tape.backward_with(&y, upload(&gpu, shape, &gy).0);
                let mut v = vec![out, running.mean.to_vec(), running.var.to_vec()];
                v.push(g.get(&xv).unwrap().to_vec());
                if affine {
                    v.push(g.get(&gv).unwrap().to_vec());
                    v.push(g.get(&bv).unwrap().to_vec());
                }
                v
            };
            let (want, got) = (run(false), run(true));
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let names = ["y", "running mean", "running var", "gx", "ggamma", "gbeta"];
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(bits(a), bits(b), "{what}: {} differs", names[i]);
            }
            if n <= 250 {
                let gb = affine.then_some((&gam[..], &bet[..]));
                let (rm, rv) = (vec![0.0; c], vec![1.0; c]);
                let leaky = |v: f64| if v > 0.0 { v } else { slope as f64 * v };
                let f = |xs: &[f64]| {
                    let y = bn_ref(xs, s, gb, &rm, &rv, true).y;
                    y.into_iter().map(leaky).collect::<Vec<_>>()
                };
                assert_close(&format!("{what} y"), &got[0], &f(&x), 1e-5);
                let num = numeric_grad(&f, &x, &gy, 1e-6);
                assert_close(&format!("{what} gx"), &got[3], &num, 1e-4);
            }
        }
    }
}
