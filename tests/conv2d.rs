//! conv2d: forward and every gradient against an f64 CPU reference (finite differences on small,
//! awkward shapes), against PyTorch fixtures, plus the GEMM and grid-folding paths.

mod common;
use common::*;
use hinas::gpu::Tensor;
use hinas::ops::conv2d::*;
use hinas::ops::with_plain_kernels;
use hinas::tape::Tape;

/// Reference convolution in f64 (PyTorch semantics).
fn conv_ref(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    b: Option<&[f64]>,
    cfg: Conv2dCfg,
) -> Vec<f64> {
    let [n, cin, h, wd] = xs;
    let [cout, cig, kh, kw] = ws;
    let (ho, wo) = conv2d_out_hw(h, wd, kh, kw, cfg);
    let cog = cout / cfg.groups;
    let mut y = vec![0.0; n * cout * ho * wo];
    for ni in 0..n {
        for co in 0..cout {
            let g = co / cog;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut s = b.map_or(0.0, |b| b[co]);
                    for c in 0..cig {
                        let ci = g * cig + c;
                        for ky in 0..kh {
                            let iy = (oy * cfg.stride + ky * cfg.dilation) as isize
                                - cfg.padding as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (ox * cfg.stride + kx * cfg.dilation) as isize
                                    - cfg.padding as isize;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                s += x[((ni * cin + ci) * h + iy as usize) * wd + ix as usize]
                                    * w[((co * cig + c) * kh + ky) * kw + kx];
                            }
                        }
                    }
                    y[((ni * cout + co) * ho + oy) * wo + ox] = s;
                }
            }
        }
    }
    y
}

struct Case {
    xs: [usize; 4],
    ws: [usize; 4],
    cfg: Conv2dCfg,
    bias: bool,
}

fn case(
    xs: [usize; 4],
    ws: [usize; 4],
    stride: usize,
    pad: usize,
    dil: usize,
    groups: usize,
    bias: bool,
) -> Case {
    Case {
        xs,
        ws,
        cfg: Conv2dCfg::new(stride, pad, dil, groups),
        bias,
    }
}

/// Runs one case through the tape and checks the forward and all gradients against the f64
/// reference, the gradients by central finite differences of it (exact up to rounding: the conv
/// is linear in each argument).
fn check(c: &Case, seed: u64) {
    let gpu = gpu();
    let mut r = rng(seed);
    let nx: usize = c.xs.iter().product();
    let nw: usize = c.ws.iter().product();
    let (xt, x) = upload(&gpu, &c.xs, &uniform(&mut r, nx, -1.0, 1.0));
    let (wt, w) = upload(&gpu, &c.ws, &uniform(&mut r, nw, -0.5, 0.5));
    let (bt, b) = upload(&gpu, &[c.ws[0]], &uniform(&mut r, c.ws[0], -1.0, 1.0));
    let (ho, wo) = conv2d_out_hw(c.xs[2], c.xs[3], c.ws[2], c.ws[3], c.cfg);
    let ys = [c.xs[0], c.ws[0], ho, wo];
    let ny: usize = ys.iter().product();
    let (gt, gy) = upload(&gpu, &ys, &uniform(&mut r, ny, -1.0, 1.0));
    let bo = c.bias.then_some(&b[..]);
    let what = format!("{:?} w {:?} {:?} bias {}", c.xs, c.ws, c.cfg, c.bias);

    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let wv = tape.leaf(wt, true);
    let bv = tape.leaf(bt, true);
    let y = conv2d(&mut tape, &xv, &wv, c.bias.then_some(&bv), c.cfg);
    assert_eq!(y.shape(), ys, "{what}: output shape");
    let want = conv_ref(&x, c.xs, &w, c.ws, bo, c.cfg);
    assert_close(
        &format!("{what}: forward"),
        &y.value().to_vec(),
        &want,
        1e-5,
    );
    let grads = tape.backward_with(&y, gt);

    let h = 1e-3;
    let nx_ = numeric_grad(&|v| conv_ref(v, c.xs, &w, c.ws, bo, c.cfg), &x, &gy, h);
    assert_close(
        &format!("{what}: grad x"),
        &grads.get(&xv).unwrap().to_vec(),
        &nx_,
        1e-4,
    );
    let nw_ = numeric_grad(&|v| conv_ref(&x, c.xs, v, c.ws, bo, c.cfg), &w, &gy, h);
    assert_close(
        &format!("{what}: grad w"),
        &grads.get(&wv).unwrap().to_vec(),
        &nw_,
        1e-4,
    );
    if c.bias {
        let nb = numeric_grad(
            &|v| conv_ref(&x, c.xs, &w, c.ws, Some(v), c.cfg),
            &b,
            &gy,
            h,
        );
        assert_close(
            &format!("{what}: grad b"),
            &grads.get(&bv).unwrap().to_vec(),
            &nb,
            1e-4,
        );
    } else {
        assert!(grads.get(&bv).is_none());
    }
}

#[test]
fn dense_odd_sizes_and_paddings() {
    check(&case([2, 3, 7, 9], [5, 3, 3, 3], 1, 1, 1, 1, true), 1);
    check(&case([1, 5, 9, 7], [6, 5, 5, 5], 1, 2, 1, 1, false), 2);
    check(&case([1, 3, 5, 6], [4, 3, 3, 3], 1, 4, 1, 1, true), 3);
    check(&case([2, 6, 6, 5], [3, 6, 3, 3], 1, 0, 1, 1, true), 4);
    // More than 8 output channels (two channel blocks) and 9 < taps straddling tap blocks.
    check(&case([1, 10, 6, 7], [13, 10, 3, 3], 1, 1, 1, 1, true), 5);
    // 12 channels, 5x5 (gather16's row-window entry) over a row of one whole and one partial
    // 32-pixel block.
    check(&case([1, 12, 5, 37], [12, 12, 5, 5], 1, 2, 1, 1, true), 6);
}

#[test]
fn stride_two_and_dilation() {
    check(&case([2, 3, 7, 9], [5, 3, 3, 3], 2, 1, 1, 1, true), 11);
    check(&case([1, 5, 9, 8], [6, 5, 5, 5], 2, 2, 1, 1, true), 12);
    check(&case([1, 3, 10, 11], [4, 3, 3, 3], 2, 0, 1, 1, false), 13);
    check(&case([1, 6, 11, 10], [4, 6, 3, 3], 1, 2, 2, 1, true), 14);
    check(&case([1, 3, 13, 12], [5, 3, 5, 5], 2, 4, 2, 1, true), 15);
    check(&case([1, 3, 8, 7], [3, 3, 1, 1], 2, 1, 1, 1, true), 16);
}

#[test]
fn groups_and_depthwise() {
    check(&case([2, 6, 8, 7], [6, 3, 3, 3], 1, 1, 1, 2, true), 21);
    check(&case([2, 5, 9, 8], [5, 1, 5, 5], 1, 2, 1, 5, true), 22);
    check(&case([1, 3, 7, 7], [6, 1, 3, 3], 1, 1, 1, 3, false), 23);
    check(&case([1, 4, 9, 9], [4, 1, 3, 3], 2, 1, 2, 4, true), 24);
    check(&case([1, 6, 9, 7], [4, 3, 5, 5], 2, 2, 1, 2, true), 25);
    // One output channel over several input channels, and a dilated non-square depthwise
    // kernel (the windowed gather1w, forward and input gradient).
    check(&case([2, 3, 6, 7], [1, 3, 3, 3], 1, 1, 1, 1, true), 26);
    check(&case([1, 4, 8, 9], [4, 1, 3, 5], 1, 2, 2, 4, true), 27);
    // 3x3 depthwise, dilation 1 and 2 (each with its own weight-gradient entry point).
    check(&case([2, 3, 10, 11], [3, 1, 3, 3], 1, 1, 1, 3, true), 28);
    check(&case([1, 2, 9, 12], [2, 1, 3, 3], 1, 2, 2, 2, false), 29);
    // The sliding kernels take two destination rows per lane: images of one and two rows, and
    // one output channel over three input channels at 5x5.
    check(&case([1, 2, 1, 9], [2, 1, 3, 3], 1, 1, 1, 2, true), 30);
    check(&case([1, 3, 2, 5], [1, 3, 5, 5], 1, 2, 1, 1, false), 31);
}

#[test]
fn kernels_for_devices_without_subgroups() {
    // The kernel family for devices without 8-lane subgroups (the default one here uses them):
    // 64-lane gather8 and wgrad8 workgroups, more pixel blocks / quads than one workgroup holds.
    with_plain_kernels(|| {
        check(&case([2, 3, 7, 9], [5, 3, 3, 3], 1, 1, 1, 1, true), 41);
        check(&case([1, 10, 9, 8], [12, 5, 3, 3], 2, 1, 2, 2, true), 42);
        larger_shapes(51);
    });
}

#[test]
fn pointwise_gemm_paths() {
    // Here the subgroup GEMM (one A value per lane, broadcast); the plain one's A paths below.
    pointwise_gemm_cases();
}

#[test]
fn pointwise_gemm_paths_without_subgroups() {
    with_plain_kernels(pointwise_gemm_cases);
}

fn pointwise_gemm_cases() {
    // A read as scalars (K and M not multiples of 4). HW = 35: scalar B loads and C stores;
    // HW = 24: vec4 loads and stores; 10 rows: a partial row block; HW = 20 in groups: vec4
    // rows whose second half lies past the row's end.
    check(&case([2, 6, 5, 7], [5, 6, 1, 1], 1, 0, 1, 1, true), 31);
    check(&case([2, 5, 4, 6], [10, 5, 1, 1], 1, 0, 1, 1, true), 32);
    check(&case([1, 6, 3, 5], [4, 3, 1, 1], 1, 0, 1, 2, true), 33);
    check(&case([2, 6, 4, 5], [6, 3, 1, 1], 1, 0, 1, 2, true), 34);
    // The input gradient's A read as vec4 columns (M % 4 == 0): 8 rows, and in groups of 4
    // rows, where half of each block is past the group's last row, with scalar B loads (HW =
    // 15); the forwards have K % 4 == 0 (10 rows: a partial block).
    check(&case([2, 8, 4, 6], [10, 8, 1, 1], 1, 0, 1, 1, true), 35);
    check(&case([1, 8, 3, 5], [8, 4, 1, 1], 1, 0, 1, 2, true), 36);
}

/// The plain forward GEMM reading A from its packed copy (its path for image-sized launches),
/// forced on small tensors: the forwards of the pointwise cases against the f64 reference.
#[test]
fn packed_gemm_forward_matches_reference() {
    let gpu = gpu();
    let mut r = rng(37);
    with_plain_kernels(|| {
        with_packed_gemm_from(0, || {
            for (xs, ws, groups) in [
                ([2, 6, 5, 7], [5, 6, 1, 1], 1),
                ([2, 8, 4, 6], [10, 8, 1, 1], 1),
                ([1, 8, 3, 5], [8, 4, 1, 1], 2),
                ([2, 6, 4, 5], [6, 3, 1, 1], 2),
            ] {
                let cfg = Conv2dCfg::new(1, 0, 1, groups);
                let nx: usize = xs.iter().product();
                let nw: usize = ws.iter().product();
                let (xt, x) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
                let (wt, w) = upload(&gpu, &ws, &uniform(&mut r, nw, -0.5, 0.5));
                let (bt, b) = upload(&gpu, &[ws[0]], &uniform(&mut r, ws[0], -1.0, 1.0));
                let got = conv2d_raw(&xt, &wt, Some(&bt), cfg).to_vec();
                let want = conv_ref(&x, xs, &w, ws, Some(&b), cfg);
                assert_close(
                    &format!("packed GEMM {xs:?} w {ws:?} groups {groups}"),
                    &got,
                    &want,
                    1e-5,
                );
            }
        })
    });
}

/// The inference-only activation fused into the conv's store (`conv2d_raw_act`): LeakyReLU of
/// the biased output, on the GEMM's vec4 and scalar paths and on each gather's scalar and
/// whole-vec4 stores (rows of 4k pixels; gather64 forced on a small image).
#[test]
fn fused_activation_matches_reference() {
    with_wide64_from(0, fused_activation_cases);
}

fn fused_activation_cases() {
    let gpu = gpu();
    let mut r = rng(41);
    for (xs, ws, pad, groups, slope) in [
        ([2, 6, 4, 5], [10, 6, 1, 1], 0, 1, 0.2f32),
        ([1, 5, 5, 7], [9, 5, 1, 1], 0, 1, 0.0),
        // gather8 (and gather1s3 for the depthwise one), rows of 7 then 12 pixels.
        ([1, 4, 6, 7], [8, 4, 3, 3], 1, 1, 0.1),
        ([1, 4, 6, 12], [6, 4, 3, 3], 1, 1, 0.1),
        ([2, 5, 5, 12], [5, 1, 3, 3], 1, 5, 0.2),
        // gather16 (13 channels: a partial 2-channel block), gather32 (21: a partial 4-channel
        // block), gather64 (54: the offset conv of a deformable edge), each with rows of 12
        // (vec4 stores) and 10 (scalar stores) pixels.
        ([1, 4, 5, 12], [13, 4, 3, 3], 1, 1, 0.1),
        ([1, 4, 5, 10], [13, 4, 3, 3], 1, 1, 0.1),
        ([1, 4, 5, 12], [21, 4, 3, 3], 1, 1, 0.2),
        ([1, 4, 5, 10], [21, 4, 3, 3], 1, 1, 0.0),
        // gather32 over an odd number of reduction channels (its pair loop's last pass).
        ([1, 5, 5, 12], [21, 5, 3, 3], 1, 1, 0.1),
        ([1, 3, 4, 12], [54, 3, 3, 3], 1, 1, 0.0),
        ([1, 3, 4, 10], [54, 3, 3, 3], 1, 1, 0.2),
        // 80 channels: gather64 + gather16 pieces (the pixel rule is off here), whole and
        // scalar rows.
        ([1, 3, 4, 12], [80, 3, 3, 3], 1, 1, 0.1),
        ([1, 3, 4, 10], [80, 3, 3, 3], 1, 1, 0.0),
        // A 1x1 conv on gather64 (>= 48 channels), whole and scalar rows.
        ([1, 6, 4, 12], [54, 6, 1, 1], 0, 1, 0.1),
        ([1, 6, 3, 7], [54, 6, 1, 1], 0, 1, 0.0),
        // Three 64-channel blocks (the last partial), each with its own biases.
        ([1, 5, 4, 12], [140, 5, 1, 1], 0, 1, 0.1),
        ([2, 5, 3, 10], [140, 5, 3, 3], 1, 1, 0.2),
    ] {
        let cfg = Conv2dCfg::new(1, pad, 1, groups);
        let nx: usize = xs.iter().product();
        let nw: usize = ws.iter().product();
        let (xt, x) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
        let (wt, w) = upload(&gpu, &ws, &uniform(&mut r, nw, -0.5, 0.5));
        let (bt, b) = upload(&gpu, &[ws[0]], &uniform(&mut r, ws[0], -0.5, 0.5));
        let y = conv2d_raw_act(&xt, &wt, Some(&bt), cfg, Some(slope));
        let pre = conv_ref(&x, xs, &w, ws, Some(&b), cfg);
        assert!(pre.iter().any(|&v| v < 0.0) && pre.iter().any(|&v| v > 0.0));
        let want: Vec<f64> = pre
            .into_iter()
            .map(|v| if v > 0.0 { v } else { slope as f64 * v })
            .collect();
        assert_close(
            &format!("{xs:?} w {ws:?} slope {slope}"),
            &y.to_vec(),
            &want,
            1e-5,
        );
    }
}

/// `conv2d_raw_act_add` (inference: a node's sum added by gather64 after its stores, by passes
/// elsewhere) gives, to the bit, the conv, an Add pass and an activation pass: gather64 on
/// whole-vec4 and scalar rows, and the launches that run the passes (gather8/16/32, a 64 + 16
/// channel split, the sliding depthwise gather, the 1x1 GEMM).
#[test]
fn fused_add_equals_separate_passes() {
    with_wide64_from(0, || {
        let gpu = gpu();
        let mut r = rng(43);
        for (xs, ws, pad, groups, bias) in [
            ([1, 4, 5, 12], [8, 4, 3, 3], 1, 1, true),
            ([2, 4, 5, 10], [8, 4, 3, 3], 1, 1, false),
            ([1, 4, 5, 12], [13, 4, 5, 5], 2, 1, true),
            ([1, 4, 5, 10], [21, 4, 3, 3], 1, 1, true),
            ([1, 3, 4, 12], [54, 3, 3, 3], 1, 1, false),
            ([1, 5, 3, 10], [80, 5, 1, 1], 0, 1, true),
            // gather64 alone adds in its store (the others above run the passes): 64 channels,
            // rows of 12 (vec4) and 10 (scalar).
            ([1, 5, 3, 12], [64, 5, 1, 1], 0, 1, true),
            ([2, 4, 3, 10], [64, 4, 3, 3], 1, 1, false),
            ([2, 6, 5, 12], [6, 1, 3, 3], 1, 6, true),
            // 1x1 under 48 channels: the GEMM, then the add and activation passes.
            ([2, 6, 4, 12], [10, 6, 1, 1], 0, 1, true),
        ] {
            let cfg = Conv2dCfg::new(1, pad, 1, groups);
            let nx: usize = xs.iter().product();
            let nw: usize = ws.iter().product();
            let (xt, _) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
            let (wt, _) = upload(&gpu, &ws, &uniform(&mut r, nw, -0.5, 0.5));
            let (bt, _) = upload(&gpu, &[ws[0]], &uniform(&mut r, ws[0], -0.5, 0.5));
            let b = bias.then_some(&bt);
            let ys = [xs[0], ws[0], xs[2], xs[3]];
            let (at, _) = upload(&gpu, &ys, &uniform(&mut r, ys.iter().product(), -1.0, 1.0));
            for act in [None, Some(0.1f32)] {
                let y = conv2d_raw_act(&xt, &wt, b, cfg, None);
                let sum = hinas::ops::elementwise::add_raw(&at, &y);
                let want = match act {
                    Some(s) => hinas::ops::elementwise::leaky_relu_raw(&sum, s),
                    None => sum,
                }
                .to_vec();
                let got = conv2d_raw_act_add(&xt, &wt, b, cfg, act, &at).to_vec();
                assert!(want.iter().any(|&v| v < 0.0) && want.iter().any(|&v| v > 0.0));
                for (j, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(
                        g.to_bits(),
                        w.to_bits(),
                        "{xs:?} w {ws:?} act {act:?}: value {j}: {g} vs {w}"
                    );
                }
            }
        }
    });
}

#[test]
fn matmul_matches_reference() {
    let gpu = gpu();
    let mut r = rng(40);
    for (m, k, n) in [(13, 17, 10), (16, 8, 12), (1, 5, 3), (9, 1, 33)] {
        let (at, a) = upload(&gpu, &[m, k], &uniform(&mut r, m * k, -1.0, 1.0));
        let (bt, b) = upload(&gpu, &[k, n], &uniform(&mut r, k * n, -1.0, 1.0));
        let c = matmul_raw(&at, &bt, m, k, n);
        assert_eq!(c.shape(), [m, n]);
        let mut want = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
            }
        }
        assert_close(&format!("matmul {m}x{k}x{n}"), &c.to_vec(), &want, 1e-5);
    }
}

/// Reference gradients by the adjoint formulas (for shapes too big for finite differences).
fn grads_ref(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    gy: &[f64],
    cfg: Conv2dCfg,
) -> (Vec<f64>, Vec<f64>) {
    let [n, cin, h, wd] = xs;
    let [cout, cig, kh, kw] = ws;
    let (ho, wo) = conv2d_out_hw(h, wd, kh, kw, cfg);
    let cog = cout / cfg.groups;
    let (mut gx, mut gw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    for ni in 0..n {
        for co in 0..cout {
            for c in 0..cig {
                let ci = (co / cog) * cig + c;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let wi = ((co * cig + c) * kh + ky) * kw + kx;
                        for oy in 0..ho {
                            let iy = (oy * cfg.stride + ky * cfg.dilation) as isize
                                - cfg.padding as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for ox in 0..wo {
                                let ix = (ox * cfg.stride + kx * cfg.dilation) as isize
                                    - cfg.padding as isize;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                let xi = ((ni * cin + ci) * h + iy as usize) * wd + ix as usize;
                                let g = gy[((ni * cout + co) * ho + oy) * wo + ox];
                                gx[xi] += g * w[wi];
                                gw[wi] += g * x[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (gx, gw)
}

#[test]
fn larger_shape_splits_weight_gradient_into_chunks() {
    larger_shapes(50);
}

/// 2 * 32 * 16 pixel quads: enough for the weight gradient to split the reduction in chunks, and
/// for the gather to fill several workgroups; then the shapes of a `tiny` search (24 pixels a
/// row: 3 blocks of 8, so a lane's next block is on another row). Checked against the adjoint
/// reference.
fn larger_shapes(seed: u64) {
    let gpu = gpu();
    let mut r = rng(seed);
    for (xs, ws, cfg) in [
        ([2, 3, 32, 64], [4, 3, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
        ([2, 4, 33, 62], [4, 1, 5, 5], Conv2dCfg::new(1, 4, 2, 4)),
        ([2, 4, 24, 24], [4, 1, 3, 3], Conv2dCfg::new(1, 1, 1, 4)),
        ([2, 8, 24, 24], [8, 1, 5, 5], Conv2dCfg::new(1, 4, 2, 8)),
        ([2, 4, 24, 24], [4, 4, 5, 5], Conv2dCfg::new(1, 4, 2, 1)),
        ([2, 4, 24, 24], [4, 4, 1, 1], Conv2dCfg::new(1, 0, 1, 1)),
        ([2, 4, 24, 24], [54, 4, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
    ] {
        let nx: usize = xs.iter().product();
        let nw: usize = ws.iter().product();
        let (xt, x) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
        let (wt, w) = upload(&gpu, &ws, &uniform(&mut r, nw, -0.5, 0.5));
        let (ho, wo) = conv2d_out_hw(xs[2], xs[3], ws[2], ws[3], cfg);
        let ys = [xs[0], ws[0], ho, wo];
        let (gt, gy) = upload(&gpu, &ys, &uniform(&mut r, ys.iter().product(), -1.0, 1.0));
        let y = conv2d_raw(&xt, &wt, None, cfg);
        assert_close(
            "forward",
            &y.to_vec(),
            &conv_ref(&x, xs, &w, ws, None, cfg),
            1e-5,
        );
        let (gx, gw) = grads_ref(&x, xs, &w, ws, &gy, cfg);
        let gxt = conv2d_backward_input(&gt, &wt, &xs, cfg);
        assert_close("grad x", &gxt.to_vec(), &gx, 1e-5);
        let gwt = conv2d_backward_weight(&gt, &xt, &ws, cfg);
        assert_close("grad w", &gwt.to_vec(), &gw, 1e-5);
    }
}

#[test]
fn wide_channel_groups_use_the_subgroup_kernels() {
    // Once with gather64 from any size (the rule keeps it to image-sized launches), once with
    // the rule, where these small launches take gather32 with several 32-channel blocks.
    for wide64_from in [0, WIDE64_PIXELS] {
        with_wide64_from(wide64_from, || {
            // >= 48 destination channels per group: gather64 (forward, input gradient) and
            // wgrad_sg on devices with subgroups; partial 64-channel blocks (50, 130), groups,
            // stride-2 phases, dilation, widths with and without wo % 4 == 0. Finite
            // differences on one small case, the adjoint reference on the rest.
            check(&case([1, 4, 5, 6], [50, 4, 3, 3], 1, 1, 1, 1, true), 61);
            let gpu = gpu();
            let mut r = rng(62);
            for (xs, ws, cfg) in [
                ([2, 5, 7, 9], [50, 5, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 52, 6, 8], [3, 52, 3, 3], Conv2dCfg::new(2, 1, 1, 1)),
                ([1, 100, 5, 8], [96, 50, 3, 3], Conv2dCfg::new(1, 2, 2, 2)),
                ([1, 8, 4, 12], [130, 8, 3, 3], Conv2dCfg::new(1, 0, 1, 1)),
                // 49-56 channels: gather56 reads its packed weights from a 64 KiB uniform
                // block. 54 from 28 channels (8 blocks x 9 taps x 28 x 8 floats) nearly fills
                // it; from 32 they would not fit, so that conv runs on gather64 (so does the
                // input gradient of the grouped [96, 50] conv above).
                ([1, 28, 4, 9], [54, 28, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 32, 4, 9], [54, 32, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                // 1x1 convs take gather64 instead of the GEMM at >= 48 destination channels
                // (forward only for the first, both passes for the second).
                ([1, 12, 4, 8], [50, 12, 1, 1], Conv2dCfg::new(1, 0, 1, 1)),
                ([2, 52, 3, 8], [64, 52, 1, 1], Conv2dCfg::new(1, 0, 1, 1)),
                // 10-32 channels per group: wgrad_sg32 (4 channels per lane), partial and full
                // blocks; gather32 forward at 20 and 32 channels, gather16 at 13 (grouped).
                ([2, 6, 7, 9], [20, 6, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 4, 6, 8], [32, 4, 5, 5], Conv2dCfg::new(1, 4, 2, 1)),
                ([1, 24, 5, 8], [26, 12, 3, 3], Conv2dCfg::new(1, 1, 1, 2)),
                // 10-16 channels per group: gather16 (2 channels per lane) forward and input
                // gradient, with stride-2 phases, dilated 5x5s, a partial 2-channel block, whole
                // and partial 32-pixel blocks, and one reduction channel (a stem conv).
                ([1, 16, 6, 9], [16, 16, 3, 3], Conv2dCfg::new(2, 1, 1, 1)),
                ([1, 11, 5, 12], [11, 11, 5, 5], Conv2dCfg::new(1, 4, 2, 1)),
                ([1, 16, 9, 70], [16, 16, 5, 5], Conv2dCfg::new(1, 4, 2, 1)),
                ([2, 16, 8, 64], [16, 16, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 16, 8, 512], [16, 16, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 1, 20, 40], [16, 1, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 16, 20, 40], [16, 16, 3, 3], Conv2dCfg::new(1, 2, 2, 1)),
                // gather16w* read their packed weights from a 64 KiB uniform block: 5x5 from 40
                // channels nearly fills it (8 blocks x 25 taps x 40 x 2 floats); from 48 they
                // would not fit, so that forward runs on gather16.
                ([1, 40, 4, 9], [16, 40, 5, 5], Conv2dCfg::new(1, 2, 1, 1)),
                ([1, 48, 4, 9], [16, 48, 5, 5], Conv2dCfg::new(1, 4, 2, 1)),
                // Channel pieces on image-sized launches (gather64 from any size): 40 = 32
                // (gather32) + 8 (gather16), per group of two; 80 = 64 (gather64) + 16
                // (gather16) forward and, with stride-2 phases, as input gradient; 130 = 128 +
                // 2. With the size rule these take one launch each.
                ([1, 6, 5, 12], [40, 6, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 80, 5, 12], [80, 40, 3, 3], Conv2dCfg::new(1, 1, 1, 2)),
                ([1, 8, 4, 10], [80, 8, 3, 3], Conv2dCfg::new(1, 1, 1, 1)),
                ([1, 80, 6, 9], [8, 80, 3, 3], Conv2dCfg::new(2, 1, 1, 1)),
                // Weight-gradient pieces: 80 = 64 + 16 above, and 72 = 64 + 8 per group of two.
                ([1, 12, 4, 8], [144, 6, 3, 3], Conv2dCfg::new(1, 1, 1, 2)),
            ] {
                let nx: usize = xs.iter().product();
                let nw: usize = ws.iter().product();
                let (xt, x) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
                let (wt, w) = upload(&gpu, &ws, &uniform(&mut r, nw, -0.5, 0.5));
                let (bt, b) = upload(&gpu, &[ws[0]], &uniform(&mut r, ws[0], -1.0, 1.0));
                let (ho, wo) = conv2d_out_hw(xs[2], xs[3], ws[2], ws[3], cfg);
                let ys = [xs[0], ws[0], ho, wo];
                let (gt, gy) = upload(&gpu, &ys, &uniform(&mut r, ys.iter().product(), -1.0, 1.0));
                let what = format!("{xs:?} w {ws:?} {cfg:?}");
                let y = conv2d_raw(&xt, &wt, Some(&bt), cfg);
                let want = conv_ref(&x, xs, &w, ws, Some(&b), cfg);
                assert_close(&format!("{what}: forward"), &y.to_vec(), &want, 1e-5);
                let (gx, gw) = grads_ref(&x, xs, &w, ws, &gy, cfg);
                let gxt = conv2d_backward_input(&gt, &wt, &xs, cfg);
                assert_close(&format!("{what}: grad x"), &gxt.to_vec(), &gx, 1e-5);
                let gwt = conv2d_backward_weight(&gt, &xt, &ws, cfg).to_vec();
                assert_close(&format!("{what}: grad w"), &gwt, &gw, 1e-5);
                // Fixed summation order: bit-identical on a second run.
                let again = conv2d_backward_weight(&gt, &xt, &ws, cfg).to_vec();
                assert!(
                    gwt.iter()
                        .zip(&again)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{what}: weight gradient differs between runs"
                );
            }
        });
    }
}

#[test]
fn grids_fold_past_65535_workgroups() {
    // 70000 images of one pixel: one workgroup per image in the gather, and in the GEMM.
    let gpu = gpu();
    let mut r = rng(60);
    let n = 70000;
    for c in [1usize, 2] {
        let (xt, x) = upload(&gpu, &[n, c, 1, 1], &uniform(&mut r, n * c, -1.0, 1.0));
        let (wt, w) = upload(&gpu, &[c, c, 1, 1], &uniform(&mut r, c * c, -1.0, 1.0));
        let cfg = Conv2dCfg::default();
        let y = conv2d_raw(&xt, &wt, None, cfg);
        assert_close(
            "folded forward",
            &y.to_vec(),
            &conv_ref(&x, [n, c, 1, 1], &w, [c, c, 1, 1], None, cfg),
            1e-5,
        );
        if c == 2 {
            let gx = conv2d_backward_input(&y, &wt, &[n, c, 1, 1], cfg);
            let want = to_f64(&y.to_vec());
            let (gxr, _) = grads_ref(&x, [n, c, 1, 1], &w, [c, c, 1, 1], &want, cfg);
            assert_close("folded grad x", &gx.to_vec(), &gxr, 1e-5);
        }
    }
}

#[test]
fn matches_pytorch_fixture() {
    let gpu = gpu();
    let fx = Fixture::load("conv2d");
    let cases = [
        ("pw", Conv2dCfg::new(1, 0, 1, 1)),
        ("dw5", Conv2dCfg::new(1, 2, 1, 4)),
        ("dil", Conv2dCfg::new(1, 2, 2, 1)),
        ("s2", Conv2dCfg::new(2, 1, 1, 1)),
        ("g2", Conv2dCfg::new(2, 2, 1, 2)),
    ];
    for (name, cfg) in cases {
        let k = |s: &str| format!("{name}.{s}");
        let x = fx.tensor(&gpu, &k("x"));
        let w = fx.tensor(&gpu, &k("w"));
        let b = fx.has(&k("b")).then(|| fx.tensor(&gpu, &k("b")));
        let mut tape = Tape::new(&gpu);
        let xv = tape.leaf(x, true);
        let wv = tape.leaf(w, true);
        let bv = b.map(|b| tape.leaf(b, true));
        let y = conv2d(&mut tape, &xv, &wv, bv.as_ref(), cfg);
        assert_close(
            &k("y vs torch"),
            &y.value().to_vec(),
            &fx.data(&k("y")),
            1e-5,
        );
        let grads = tape.backward_with(&y, fx.tensor(&gpu, &k("gy")));
        assert_close(
            &k("gx vs torch"),
            &grads.get(&xv).unwrap().to_vec(),
            &fx.data(&k("gx")),
            1e-4,
        );
        assert_close(
            &k("gw vs torch"),
            &grads.get(&wv).unwrap().to_vec(),
            &fx.data(&k("gw")),
            1e-4,
        );
        if let Some(bv) = &bv {
            assert_close(
                &k("gb vs torch"),
                &grads.get(bv).unwrap().to_vec(),
                &fx.data(&k("gb")),
                1e-4,
            );
        }
    }
}

#[test]
fn frozen_weights_skip_their_gradient() {
    let gpu = gpu();
    let mut r = rng(70);
    let (xt, _) = upload(&gpu, &[1, 3, 6, 6], &uniform(&mut r, 108, -1.0, 1.0));
    let (wt, _) = upload(&gpu, &[4, 3, 3, 3], &uniform(&mut r, 108, -1.0, 1.0));
    let mut tape = Tape::new(&gpu);
    let xv = tape.leaf(xt, true);
    let wv = tape.leaf(wt, false);
    let y = conv2d(&mut tape, &xv, &wv, None, Conv2dCfg::new(1, 1, 1, 1));
    let grads = tape.backward(&y);
    assert!(grads.get(&xv).is_some());
    assert!(grads.get(&wv).is_none());
}

#[test]
#[should_panic(expected = "Cin/groups")]
fn wrong_weight_shape_panics_clearly() {
    let gpu = gpu();
    let x = Tensor::zeros(&gpu, &[1, 4, 5, 5]);
    let w = Tensor::zeros(&gpu, &[4, 3, 3, 3]);
    conv2d_raw(&x, &w, None, Conv2dCfg::default());
}

#[test]
#[should_panic(expected = "smaller than the dilated kernel")]
fn kernel_larger_than_input_panics_clearly() {
    conv2d_out_hw(3, 3, 3, 3, Conv2dCfg::new(1, 0, 2, 1));
}

/// The depthwise 3x3 conv of image-sized launches (`gather1s3v_dw`, four destination rows per
/// lane) against the f64 reference and, to the bit, against the two-row gather small launches
/// take: the same products in the same order. Rows of 4k pixels, row counts that leave 1-3 rows
/// of the last quad, two images, fused LeakyReLU.
#[test]
fn depthwise_four_rows_per_lane_equals_two_rows() {
    let gpu = gpu();
    let mut r = rng(83);
    for (xs, slope) in [
        ([2, 5, 7, 12], 0.1f32),
        ([1, 3, 6, 8], 0.0),
        ([1, 4, 9, 16], 0.2),
        ([2, 2, 4, 4], 0.1),
    ] {
        let c = xs[1];
        let ws = [c, 1, 3, 3];
        let cfg = Conv2dCfg::new(1, 1, 1, c);
        let nx: usize = xs.iter().product();
        let (xt, x) = upload(&gpu, &xs, &uniform(&mut r, nx, -1.0, 1.0));
        let (wt, w) = upload(&gpu, &ws, &uniform(&mut r, c * 9, -0.5, 0.5));
        let (bt, b) = upload(&gpu, &[c], &uniform(&mut r, c, -0.5, 0.5));
        let four = with_wide64_from(0, || conv2d_raw_act(&xt, &wt, Some(&bt), cfg, Some(slope)));
        let two = conv2d_raw_act(&xt, &wt, Some(&bt), cfg, Some(slope)).to_vec();
        let want: Vec<f64> = conv_ref(&x, xs, &w, ws, Some(&b), cfg)
            .into_iter()
            .map(|v| if v > 0.0 { v } else { slope as f64 * v })
            .collect();
        let four = four.to_vec();
        assert_close(&format!("{xs:?} four rows"), &four, &want, 1e-5);
        for (j, (a, t)) in four.iter().zip(&two).enumerate() {
            assert_eq!(a.to_bits(), t.to_bits(), "{xs:?}: value {j}: {a} vs {t}");
        }
    }
}
