//! Deformable convolution: forward and all five gradients against an f64 CPU reference with
//! finite differences, against torchvision fixtures, chunked vs unchunked, and determinism.

mod common;
use common::*;
use hinas::gpu::{Gpu, Tensor};
use hinas::ops::deform_conv::{self as dc, DeformCfg};
use hinas::ops::{concat, elementwise};
use hinas::tape::{Tape, Var};
use rand::Rng;

/// One test configuration (square stride/padding/dilation, as the op).
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    groups: usize,
    og: usize,
    mask: bool,
    bias: bool,
}

impl Case {
    fn hout(&self) -> usize {
        (self.h + 2 * self.pad - self.dil * (self.kh - 1) - 1) / self.stride + 1
    }
    fn wout(&self) -> usize {
        (self.w + 2 * self.pad - self.dil * (self.kw - 1) - 1) / self.stride + 1
    }
    fn kk(&self) -> usize {
        self.kh * self.kw
    }
    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.cin, self.h, self.w]
    }
    fn off_shape(&self) -> [usize; 4] {
        [self.n, 2 * self.og * self.kk(), self.hout(), self.wout()]
    }
    fn mask_shape(&self) -> [usize; 4] {
        [self.n, self.og * self.kk(), self.hout(), self.wout()]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.cout, self.cin / self.groups, self.kh, self.kw]
    }
    fn y_shape(&self) -> [usize; 4] {
        [self.n, self.cout, self.hout(), self.wout()]
    }
    fn cfg(&self) -> DeformCfg {
        DeformCfg {
            stride: self.stride,
            padding: self.pad,
            dilation: self.dil,
            groups: self.groups,
            offset_groups: self.og,
        }
    }
}

fn numel(s: &[usize]) -> usize {
    s.iter().product()
}

/// torchvision's bilinear_interpolate: zero outside (-1, H) x (-1, W), missing corners zero.
fn bilinear(img: &[f64], h: usize, w: usize, y: f64, x: f64) -> f64 {
    if y <= -1.0 || y >= h as f64 || x <= -1.0 || x >= w as f64 {
        return 0.0;
    }
    let (yl, xl) = (y.floor(), x.floor());
    let (ly, lx) = (y - yl, x - xl);
    let at = |yy: f64, xx: f64| {
        if yy < 0.0 || xx < 0.0 || yy >= h as f64 || xx >= w as f64 {
            0.0
        } else {
            img[yy as usize * w + xx as usize]
        }
    };
    (1.0 - ly) * (1.0 - lx) * at(yl, xl)
        + (1.0 - ly) * lx * at(yl, xl + 1.0)
        + ly * (1.0 - lx) * at(yl + 1.0, xl)
        + ly * lx * at(yl + 1.0, xl + 1.0)
}

/// f64 deformable convolution from torchvision's definition: sample every (channel, tap,
/// position) bilinearly at its shifted point, times the mask, then contract with the weights.
fn reference(
    c: &Case,
    x: &[f64],
    off: &[f64],
    mask: Option<&[f64]>,
    w: &[f64],
    b: Option<&[f64]>,
) -> Vec<f64> {
    let (ho, wo, kk) = (c.hout(), c.wout(), c.kk());
    let (p, hw) = (ho * wo, c.h * c.w);
    let (cig, cog, cpg) = (c.cin / c.groups, c.cout / c.groups, c.cin / c.og);
    // cols[((bn * cin + ch) * kk + tap) * p + pos]
    let mut cols = vec![0.0; c.n * c.cin * kk * p];
    for bn in 0..c.n {
        for ch in 0..c.cin {
            let g = ch / cpg;
            let img = &x[(bn * c.cin + ch) * hw..][..hw];
            for i in 0..c.kh {
                for j in 0..c.kw {
                    let t = i * c.kw + j;
                    let ot = g * kk + t;
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let pos = oy * wo + ox;
                            let dy = off[((bn * 2 * c.og * kk) + 2 * ot) * p + pos];
                            let dx = off[((bn * 2 * c.og * kk) + 2 * ot + 1) * p + pos];
                            let m = mask.map_or(1.0, |m| m[(bn * c.og * kk + ot) * p + pos]);
                            let yy = (oy * c.stride + i * c.dil) as f64 - c.pad as f64 + dy;
                            let xx = (ox * c.stride + j * c.dil) as f64 - c.pad as f64 + dx;
                            cols[((bn * c.cin + ch) * kk + t) * p + pos] =
                                m * bilinear(img, c.h, c.w, yy, xx);
                        }
                    }
                }
            }
        }
    }
    let mut y = vec![0.0; c.n * c.cout * p];
    for bn in 0..c.n {
        for o in 0..c.cout {
            let grp = o / cog;
            let yo = &mut y[(bn * c.cout + o) * p..][..p];
            yo.fill(b.map_or(0.0, |b| b[o]));
            for ci in 0..cig {
                let ch = grp * cig + ci;
                for t in 0..kk {
                    let wv = w[(o * cig + ci) * kk + t];
                    let col = &cols[((bn * c.cin + ch) * kk + t) * p..][..p];
                    for (yv, cv) in yo.iter_mut().zip(col) {
                        *yv += wv * cv;
                    }
                }
            }
        }
    }
    y
}

/// Offsets whose fractional part stays in [0.05, 0.95] (bilinear sampling is not smooth on grid
/// lines) and whose integer part reaches up to `reach` pixels, so samples fall outside the image.
fn offsets(r: &mut Rng64, n: usize, reach: i32) -> Vec<f64> {
    (0..n)
        .map(|_| r.random_range(-reach..reach) as f64 + r.random_range(0.05..0.95))
        .collect()
}

struct Inputs {
    x: Vec<f64>,
    off: Vec<f64>,
    mask: Option<Vec<f64>>,
    w: Vec<f64>,
    b: Option<Vec<f64>>,
    gy: Vec<f64>,
    xt: Tensor,
    offt: Tensor,
    maskt: Option<Tensor>,
    wt: Tensor,
    bt: Option<Tensor>,
    gyt: Tensor,
}

fn inputs(gpu: &Gpu, c: &Case, seed: u64, reach: i32) -> Inputs {
    let mut r = rng(seed);
    let (xt, x) = upload(
        gpu,
        &c.x_shape(),
        &uniform(&mut r, numel(&c.x_shape()), -1.0, 1.0),
    );
    let (offt, off) = upload(
        gpu,
        &c.off_shape(),
        &offsets(&mut r, numel(&c.off_shape()), reach),
    );
    let (maskt, mask) = if c.mask {
        let (t, v) = upload(
            gpu,
            &c.mask_shape(),
            &uniform(&mut r, numel(&c.mask_shape()), 0.0, 1.0),
        );
        (Some(t), Some(v))
    } else {
        (None, None)
    };
    let (wt, w) = upload(
        gpu,
        &c.w_shape(),
        &uniform(&mut r, numel(&c.w_shape()), -0.5, 0.5),
    );
    let (bt, b) = if c.bias {
        let (t, v) = upload(gpu, &[c.cout], &uniform(&mut r, c.cout, -0.5, 0.5));
        (Some(t), Some(v))
    } else {
        (None, None)
    };
    let (gyt, gy) = upload(
        gpu,
        &c.y_shape(),
        &uniform(&mut r, numel(&c.y_shape()), -1.0, 1.0),
    );
    Inputs {
        x,
        off,
        mask,
        w,
        b,
        gy,
        xt,
        offt,
        maskt,
        wt,
        bt,
        gyt,
    }
}

/// Forward output and the gradients (x, offset, mask, weight, bias) through the tape.
struct Out {
    y: Vec<f32>,
    g: [Option<Vec<f32>>; 5],
}

fn run(gpu: &Gpu, c: &Case, inp: &Inputs) -> Out {
    let mut t = Tape::new(gpu);
    let x = t.leaf(inp.xt.clone(), true);
    let off = t.leaf(inp.offt.clone(), true);
    let m = inp.maskt.clone().map(|m| t.leaf(m, true));
    let w = t.leaf(inp.wt.clone(), true);
    let b = inp.bt.clone().map(|b| t.leaf(b, true));
    let y = dc::deform_conv2d(&mut t, &x, &off, m.as_ref(), &w, b.as_ref(), c.cfg());
    let yv = y.value().to_vec();
    let grads = t.backward_with(&y, inp.gyt.clone());
    let get =
        |v: Option<&hinas::tape::Var>| v.map(|v| grads.get(v).expect("missing grad").to_vec());
    Out {
        y: yv,
        g: [
            get(Some(&x)),
            get(Some(&off)),
            get(m.as_ref()),
            get(Some(&w)),
            get(b.as_ref()),
        ],
    }
}

const NAMES: [&str; 5] = ["x", "offset", "mask", "weight", "bias"];

fn check_against_finite_differences(gpu: &Gpu, c: &Case, seed: u64) {
    let inp = inputs(gpu, c, seed, 3);
    let got = run(gpu, c, &inp);
    let (m, b) = (inp.mask.as_deref(), inp.b.as_deref());
    let want = reference(c, &inp.x, &inp.off, m, &inp.w, b);
    assert_close(&format!("{c:?} forward"), &got.y, &want, 1e-5);
    let h = 1e-5;
    let fd: [Option<Vec<f64>>; 5] = [
        Some(numeric_grad(
            &|v| reference(c, v, &inp.off, m, &inp.w, b),
            &inp.x,
            &inp.gy,
            h,
        )),
        Some(numeric_grad(
            &|v| reference(c, &inp.x, v, m, &inp.w, b),
            &inp.off,
            &inp.gy,
            h,
        )),
        m.map(|m| {
            numeric_grad(
                &|v| reference(c, &inp.x, &inp.off, Some(v), &inp.w, b),
                m,
                &inp.gy,
                h,
            )
        }),
        Some(numeric_grad(
            &|v| reference(c, &inp.x, &inp.off, m, v, b),
            &inp.w,
            &inp.gy,
            h,
        )),
        b.map(|b| {
            numeric_grad(
                &|v| reference(c, &inp.x, &inp.off, m, &inp.w, Some(v)),
                b,
                &inp.gy,
                h,
            )
        }),
    ];
    for i in 0..5 {
        match (&got.g[i], &fd[i]) {
            (Some(g), Some(f)) => assert_close(&format!("{c:?} d{}", NAMES[i]), g, f, 1e-4),
            (None, None) => {}
            _ => panic!("{c:?}: gradient of {} present on one side only", NAMES[i]),
        }
    }
}

const BASE: Case = Case {
    n: 2,
    cin: 4,
    h: 7,
    w: 6,
    cout: 4,
    kh: 3,
    kw: 3,
    stride: 1,
    pad: 1,
    dil: 1,
    groups: 1,
    og: 1,
    mask: true,
    bias: true,
};

/// Two weight groups, two offset groups, stride 2.
const GROUPED: Case = Case {
    og: 2,
    groups: 2,
    stride: 2,
    ..BASE
};

#[test]
fn dcnv2_groups_and_offset_groups_match_finite_differences() {
    let gpu = gpu();
    check_against_finite_differences(&gpu, &BASE, 1);
    let c = GROUPED;
    check_against_finite_differences(&gpu, &c, 2);
    let c = Case {
        og: 2,
        groups: 1,
        dil: 2,
        pad: 2,
        cout: 3,
        ..BASE
    };
    check_against_finite_differences(&gpu, &c, 3);
}

/// The matmul of devices without 8-lane subgroups (every lane loads its own A values; the
/// default here shares one load per lane with subgroupBroadcast), forward and gradients.
#[test]
fn kernels_for_devices_without_subgroups_match_finite_differences() {
    let gpu = gpu();
    hinas::ops::with_plain_kernels(|| {
        check_against_finite_differences(&gpu, &BASE, 4);
        let c = GROUPED;
        check_against_finite_differences(&gpu, &c, 5);
    });
}

#[test]
fn dcnv1_strides_dilations_and_odd_kernels_match_finite_differences() {
    let gpu = gpu();
    let c = Case {
        mask: false,
        groups: 2,
        stride: 2,
        dil: 2,
        pad: 0,
        cout: 2,
        ..BASE
    };
    check_against_finite_differences(&gpu, &c, 4);
    // A 2x3 kernel, one channel per offset group, no bias.
    let c = Case {
        mask: false,
        bias: false,
        og: 4,
        kh: 2,
        kw: 3,
        pad: 1,
        ..BASE
    };
    check_against_finite_differences(&gpu, &c, 5);
    // Masked, stride 2 and dilation 2 together, 5 channels in 1 group, 1 image.
    let c = Case {
        n: 1,
        cin: 5,
        cout: 3,
        stride: 2,
        dil: 2,
        pad: 2,
        ..BASE
    };
    check_against_finite_differences(&gpu, &c, 6);
}

/// Output positions in multiples of 4 take the forward's `im2col4` (four positions per lane,
/// vector loads of offsets and mask, one vector store per channel): masked and unmasked, several
/// offset groups, stride 2, and rows of 2 positions (a lane's four span two rows).
#[test]
fn forward_with_four_positions_per_lane_matches_the_reference() {
    let gpu = gpu();
    let cases = [
        Case {
            h: 8,
            w: 10,
            og: 2,
            ..BASE
        },
        Case {
            h: 8,
            w: 10,
            mask: false,
            bias: false,
            ..BASE
        },
        Case {
            h: 8,
            w: 10,
            stride: 2,
            cout: 5,
            ..BASE
        },
        Case {
            n: 1,
            h: 6,
            w: 2,
            cin: 6,
            og: 3,
            ..BASE
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(c.hout() * c.wout() % 4, 0, "case {i} must take im2col4");
        let inp = inputs(&gpu, c, 20 + i as u64, 3);
        let out = run(&gpu, c, &inp);
        let want = reference(
            c,
            &inp.x,
            &inp.off,
            inp.mask.as_deref(),
            &inp.w,
            inp.b.as_deref(),
        );
        assert_close(&format!("case {i}: forward"), &out.y, &want, 1e-5);
    }
}

#[test]
fn one_pass_forward_matches_the_reference_and_the_column_path() {
    let gpu = gpu();
    if !gpu.subgroup_kernels() {
        println!("skipped: the one-pass forward needs the 8-lane subgroup kernels");
        return;
    }
    let cases = [
        // one pass with 8 and with 16 output channels; two passes (16 + 4); offset groups;
        // no mask or bias; stride 2; a batch whose image count is not a multiple of 8 lanes.
        Case {
            h: 8,
            w: 10,
            cout: 8,
            og: 2,
            ..BASE
        },
        Case {
            h: 8,
            w: 10,
            cout: 16,
            cin: 6,
            og: 3,
            ..BASE
        },
        Case {
            h: 8,
            w: 10,
            cout: 20,
            mask: false,
            bias: false,
            ..BASE
        },
        Case {
            h: 8,
            w: 10,
            stride: 2,
            cout: 5,
            ..BASE
        },
        Case {
            n: 3,
            h: 4,
            w: 3,
            cout: 11,
            dil: 2,
            pad: 2,
            ..BASE
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(
            c.hout() * c.wout() % 4,
            0,
            "case {i} must take the one-pass forward"
        );
        let inp = inputs(&gpu, c, 40 + i as u64, 3);
        let fwd = || {
            dc::deform_conv2d_raw(
                &inp.xt,
                &inp.offt,
                inp.maskt.as_ref(),
                &inp.wt,
                inp.bt.as_ref(),
                c.cfg(),
            )
            .to_vec()
        };
        let direct = dc::with_direct_forward(true, fwd);
        let columns = dc::with_direct_forward(false, fwd);
        let want = reference(
            c,
            &inp.x,
            &inp.off,
            inp.mask.as_deref(),
            &inp.w,
            inp.b.as_deref(),
        );
        assert_close(&format!("case {i}: one pass"), &direct, &want, 1e-5);
        let d: f32 = direct
            .iter()
            .zip(&columns)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(d < 1e-5, "case {i}: one pass and columns differ by {d}");
    }
}

#[test]
fn packed_predictor_output_matches_split_and_sigmoid() {
    let gpu = gpu();
    // Two offset groups, a second pass of output channels, and a batch of three.
    let cases = [
        Case {
            h: 8,
            w: 10,
            og: 2,
            ..BASE
        },
        Case {
            n: 3,
            h: 4,
            w: 6,
            cout: 19,
            ..BASE
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let inp = inputs(&gpu, c, 60 + i as u64, 3);
        let mut r = rng(70 + i as u64);
        let (omt, mask) = packed_predictor(&gpu, c, &inp, &mut r);
        let want = reference(c, &inp.x, &inp.off, Some(&mask), &inp.w, inp.b.as_deref());
        let max_offset = inp.off.iter().fold(0.0f64, |m, v| m.max(v.abs())) as f32;
        for direct in [false, true] {
            // Max-into: slot 1 of 3 starts above the offsets' maximum (so it is kept) in the
            // first case and below it in the second; the others stay 0.
            let start = if i == 0 { max_offset + 1.0 } else { 0.25 };
            let stats = Tensor::from_slice(&gpu, &[3], &[0.0, start, 0.0]);
            let got = dc::with_direct_forward(direct, || {
                let offset_max = Some((&stats, 1));
                let (x, w, b) = (&inp.xt, &inp.wt, inp.bt.as_ref());
                dc::deform_conv2d_packed_raw(x, &omt, w, b, c.cfg(), offset_max, None)
            });
            let what = format!("case {i}, direct {direct}");
            assert_close(&what, &got.to_vec(), &want, 1e-5);
            let s = stats.to_vec();
            assert_eq!(s, [0.0, max_offset.max(start), 0.0], "{what}: max |offset|");
            // With an addend (inference's fused Add): the same bits as an Add pass after it.
            let len = got.numel();
            let (addend, _) = upload(&gpu, got.shape(), &uniform(&mut r, len, -2.0, 2.0));
            let summed = dc::with_direct_forward(direct, || {
                let (x, w, b) = (&inp.xt, &inp.wt, inp.bt.as_ref());
                dc::deform_conv2d_packed_raw(x, &omt, w, b, c.cfg(), None, Some(&addend))
            });
            let unfused = elementwise::add_raw(&addend, &got).to_vec();
            assert_eq!(summed.to_vec(), unfused, "{what}: fused addend");
        }
    }
}

/// Runs the op (forward + all gradients) with the chunk budget forced to `budget` elements.
fn run_with_budget(gpu: &Gpu, c: &Case, inp: &Inputs, budget: Option<usize>) -> Out {
    match budget {
        Some(b) => dc::with_chunk_budget(b, || run(gpu, c, inp)),
        None => run(gpu, c, inp),
    }
}

#[test]
fn chunked_batches_and_partial_images_give_the_same_results() {
    let gpu = gpu();
    let c = Case {
        n: 3,
        h: 8,
        w: 10,
        og: 2,
        groups: 2,
        cout: 6,
        ..BASE
    };
    let inp = inputs(&gpu, &c, 7, 3);
    let whole = run_with_budget(&gpu, &c, &inp, None);
    let want = reference(
        &c,
        &inp.x,
        &inp.off,
        inp.mask.as_deref(),
        &inp.w,
        inp.b.as_deref(),
    );
    assert_close("forward", &whole.y, &want, 1e-5);
    // Rows per column: max(Cin*kk, 8*og*kk) = 144; 80 positions per image (divisible by 4:
    // the vector-load matmuls).
    // 2 images per chunk, then parts of 20 positions of one image.
    for budget in [144 * 80 * 2, 144 * 20 + 3] {
        let part = run_with_budget(&gpu, &c, &inp, Some(budget));
        let per_tap = dc::with_fill_samples(1, || run_with_budget(&gpu, &c, &inp, Some(budget)));
        assert_eq!(
            part.g[0], per_tap.g[0],
            "budget {budget}: per-tap fill changes dx"
        );
        let three_pass = dc::with_three_pass_scan(|| run_with_budget(&gpu, &c, &inp, Some(budget)));
        assert_eq!(
            part.g[0], three_pass.g[0],
            "budget {budget}: the three-pass scan changes dx"
        );
        assert_close(
            &format!("budget {budget}: forward"),
            &part.y,
            &to_f64(&whole.y),
            1e-6,
        );
        for (i, name) in NAMES.iter().enumerate() {
            let (a, b) = (part.g[i].as_ref().unwrap(), whole.g[i].as_ref().unwrap());
            assert_close(&format!("budget {budget}: d{name}"), a, &to_f64(b), 1e-5);
        }
    }
    // And one chunked run against finite differences of the reference for x (the scatter-free
    // input gradient has to add the parts of an image).
    let part = run_with_budget(&gpu, &c, &inp, Some(144 * 20 + 3));
    let (m, b) = (inp.mask.as_deref(), inp.b.as_deref());
    let fd = numeric_grad(
        &|v| reference(&c, v, &inp.off, m, &inp.w, b),
        &inp.x,
        &inp.gy,
        1e-5,
    );
    assert_close("partial chunks: dx", part.g[0].as_ref().unwrap(), &fd, 1e-4);
}

#[test]
fn gradient_subsets_match_the_full_backward() {
    // The backward takes different paths depending on which gradients are wanted (columns from
    // `coord` or from im2col, no column gradient at all, touch counts from `coord` or
    // `dx_count`): each subset must agree with the full backward. P = 4*3 = 12 positions (vector-load matmuls) and 42 (scalar ones).
    let gpu = gpu();
    for c in [Case { stride: 2, ..BASE }, Case { og: 2, ..BASE }] {
        let inp = inputs(&gpu, &c, 13, 3);
        let full = run(&gpu, &c, &inp);
        for train in [
            [true, false, false, true, false],
            [false, true, false, false, true],
            [false, false, true, true, false],
        ] {
            let mut t = Tape::new(&gpu);
            let x = t.leaf(inp.xt.clone(), train[0]);
            let off = t.leaf(inp.offt.clone(), train[1]);
            let m = t.leaf(inp.maskt.clone().unwrap(), train[2]);
            let w = t.leaf(inp.wt.clone(), train[3]);
            let b = t.leaf(inp.bt.clone().unwrap(), train[4]);
            let y = dc::deform_conv2d(&mut t, &x, &off, Some(&m), &w, Some(&b), c.cfg());
            let grads = t.backward_with(&y, inp.gyt.clone());
            for (i, v) in [&x, &off, &m, &w, &b].into_iter().enumerate() {
                let g = grads.get(v);
                assert_eq!(
                    g.is_some(),
                    train[i],
                    "{train:?}: gradient {} presence",
                    NAMES[i]
                );
                if let Some(g) = g {
                    if i == 0 {
                        // The input gradient's buckets are counted by `coord` in the full
                        // backward and by `dx_count` here; the summation order is canonical.
                        assert_eq!(
                            &g.to_vec(),
                            full.g[0].as_ref().unwrap(),
                            "{train:?}: dx differs from the full backward's"
                        );
                    }
                    let want = to_f64(full.g[i].as_ref().unwrap());
                    assert_close(
                        &format!("{train:?} d{}", NAMES[i]),
                        &g.to_vec(),
                        &want,
                        1e-6,
                    );
                }
            }
        }
    }
}

#[test]
fn input_gradient_is_deterministic_when_samples_pile_up() {
    // Every sample point is pulled to within a pixel of (3.3, 2.6): a few input pixels collect
    // all N*kk*P touches, the worst case for the per-pixel lists.
    let gpu = gpu();
    let c = Case {
        n: 2,
        h: 8,
        w: 7,
        ..BASE
    };
    let mut inp = inputs(&gpu, &c, 8, 1);
    let (ho, wo, kk) = (c.hout(), c.wout(), c.kk());
    let mut r = rng(9);
    for bn in 0..c.n {
        for tap in 0..kk {
            let (i, j) = (tap / c.kw, tap % c.kw);
            for oy in 0..ho {
                for ox in 0..wo {
                    let base = ((bn * 2 * kk) + 2 * tap) * ho * wo + oy * wo + ox;
                    let y0 = (oy + i) as f64 - 1.0;
                    let x0 = (ox + j) as f64 - 1.0;
                    inp.off[base] = 3.3 + r.random_range(-0.2..0.2) - y0;
                    inp.off[base + ho * wo] = 2.6 + r.random_range(-0.2..0.2) - x0;
                }
            }
        }
    }
    let (offt, off) = upload(&gpu, &c.off_shape(), &inp.off);
    inp.offt = offt;
    inp.off = off;
    let a = run(&gpu, &c, &inp);
    let b = run(&gpu, &c, &inp);
    // One fill dispatch per tap (as big problems run) instead of all taps in one: the buckets
    // arrive in another order, the sort must make the sums identical.
    let per_tap = dc::with_fill_samples(1, || run(&gpu, &c, &inp));
    // The three-pass bucket scan (big problems) instead of the one-dispatch scan.
    let three_pass = dc::with_three_pass_scan(|| run(&gpu, &c, &inp));
    for (i, name) in NAMES.iter().enumerate() {
        assert_eq!(a.g[i], b.g[i], "d{name} differs between two identical runs");
        assert_eq!(a.g[i], per_tap.g[i], "d{name}: per-tap fill differs");
        assert_eq!(a.g[i], three_pass.g[i], "d{name}: three-pass scan differs");
    }
    let (m, bias) = (inp.mask.as_deref(), inp.b.as_deref());
    let fd = numeric_grad(
        &|v| reference(&c, v, &inp.off, m, &inp.w, bias),
        &inp.x,
        &inp.gy,
        1e-5,
    );
    assert_close("pile-up dx", a.g[0].as_ref().unwrap(), &fd, 1e-4);
}

#[test]
fn zero_offsets_and_unit_mask_are_a_plain_convolution() {
    let gpu = gpu();
    let c = Case {
        n: 1,
        h: 5,
        w: 5,
        ..BASE
    };
    let mut inp = inputs(&gpu, &c, 10, 1);
    inp.off = vec![0.0; inp.off.len()];
    inp.offt = Tensor::zeros(&gpu, &c.off_shape());
    let y = dc::deform_conv2d_raw(&inp.xt, &inp.offt, None, &inp.wt, inp.bt.as_ref(), c.cfg());
    // Plain 3x3 conv with zero padding.
    let mut want = vec![0.0; numel(&c.y_shape())];
    for o in 0..c.cout {
        for oy in 0..5 {
            for ox in 0..5 {
                let mut s = inp.b.as_ref().unwrap()[o];
                for ci in 0..c.cin {
                    for i in 0..3 {
                        for j in 0..3 {
                            let (yy, xx) = (oy + i, ox + j);
                            if (1..6).contains(&yy) && (1..6).contains(&xx) {
                                s += inp.w[((o * c.cin + ci) * 3 + i) * 3 + j]
                                    * inp.x[(ci * 5 + yy - 1) * 5 + xx - 1];
                            }
                        }
                    }
                }
                want[(o * 5 + oy) * 5 + ox] = s;
            }
        }
    }
    assert_close("conv", &y.to_vec(), &want, 1e-5);
}

/// The DCNv2 predictor output [N, 3 * taps, H, W] cut as `DeformConv::forward` in
/// src/nn/layers.rs cuts it: the first 2 * taps channels are the offsets, the last taps the mask
/// logits, through a sigmoid.
fn split_offset_mask(t: &mut Tape, pred: &Var, taps: usize) -> (Var, Var) {
    let parts = concat::split(t, pred, &[2 * taps, taps]);
    let mask = elementwise::sigmoid(t, &parts[1]);
    (parts[0].clone(), mask)
}

#[test]
fn split_offset_mask_feeds_a_dcnv2_layer() {
    // The DCNv2 wrapper as src/nn/layers.rs composes it: pred -> (offset, sigmoid(mask
    // logits)) -> deform_conv2d; gradient with respect to pred by finite differences of the
    // composed reference.
    let gpu = gpu();
    let c = Case { og: 2, ..BASE };
    let kk = c.kk();
    let chans = 3 * c.og * kk;
    let (ho, wo) = (c.hout(), c.wout());
    let p = ho * wo;
    let mut r = rng(11);
    let mut pred = vec![0.0; c.n * chans * p];
    for bn in 0..c.n {
        for ch in 0..chans {
            for pos in 0..p {
                pred[(bn * chans + ch) * p + pos] = if ch < 2 * c.og * kk {
                    offsets(&mut r, 1, 2)[0]
                } else {
                    r.random_range(-2.0..2.0)
                };
            }
        }
    }
    let inp = inputs(&gpu, &c, 12, 1);
    let (predt, pred) = upload(&gpu, &[c.n, chans, ho, wo], &pred);
    let split = |pr: &[f64]| {
        let mut off = Vec::new();
        let mut m = Vec::new();
        for bn in 0..c.n {
            let img = &pr[bn * chans * p..][..chans * p];
            off.extend_from_slice(&img[..2 * c.og * kk * p]);
            m.extend(
                img[2 * c.og * kk * p..]
                    .iter()
                    .map(|v| 1.0 / (1.0 + (-v).exp())),
            );
        }
        (off, m)
    };
    let f = |pr: &[f64]| {
        let (off, m) = split(pr);
        reference(&c, &inp.x, &off, Some(&m), &inp.w, inp.b.as_deref())
    };
    let mut t = Tape::new(&gpu);
    let x = t.leaf(inp.xt.clone(), false);
    let pv = t.leaf(predt, true);
    let w = t.leaf(inp.wt.clone(), false);
    let b = t.leaf(inp.bt.clone().unwrap(), false);
    let (off, m) = split_offset_mask(&mut t, &pv, c.og * kk);
    let y = dc::deform_conv2d(&mut t, &x, &off, Some(&m), &w, Some(&b), c.cfg());
    assert_close("dcnv2 forward", &y.value().to_vec(), &f(&pred), 1e-5);
    let grads = t.backward_with(&y, inp.gyt.clone());
    let fd = numeric_grad(&f, &pred, &inp.gy, 1e-5);
    assert_close("dcnv2 dpred", &grads.get(&pv).unwrap().to_vec(), &fd, 1e-4);
}

#[test]
fn matches_torchvision_fixtures() {
    let gpu = gpu();
    // Both forward paths: the one-pass forward where it can run (subgroup devices, positions in
    // fours), and im2col + matmul.
    for direct in [false, true] {
        dc::with_direct_forward(direct, || check_torchvision_fixtures(&gpu));
    }
}

fn check_torchvision_fixtures(gpu: &Gpu) {
    let gpu = gpu.clone();
    let fx = Fixture::load("deform_conv");
    let names: Vec<String> = fx
        .keys()
        .iter()
        .filter_map(|k| k.strip_suffix(".cfg").map(str::to_string))
        .collect();
    assert!(names.len() >= 4, "fixture has only {names:?}");
    for name in names {
        let key = |s: &str| format!("{name}.{s}");
        // cfg = [stride, padding, dilation, groups, offset_groups]
        let cfgv = fx.get(&key("cfg")).1.to_vec();
        let cfg = DeformCfg {
            stride: cfgv[0] as usize,
            padding: cfgv[1] as usize,
            dilation: cfgv[2] as usize,
            groups: cfgv[3] as usize,
            offset_groups: cfgv[4] as usize,
        };
        let has = |s: &str| fx.has(&key(s));
        let mut t = Tape::new(&gpu);
        let x = t.leaf(fx.tensor(&gpu, &key("x")), true);
        let w = t.leaf(fx.tensor(&gpu, &key("w")), true);
        let b = has("b").then(|| t.leaf(fx.tensor(&gpu, &key("b")), true));
        let y;
        let (mut off, mut m, mut pred) = (None, None, None);
        if has("pred") {
            // DCNv2 wrapper: offsets and mask logits packed in one predictor output.
            let pv = t.leaf(fx.tensor(&gpu, &key("pred")), true);
            let ws = fx.get(&key("w")).0;
            let (o, mk) = split_offset_mask(&mut t, &pv, cfg.offset_groups * ws[2] * ws[3]);
            y = dc::deform_conv2d(&mut t, &x, &o, Some(&mk), &w, b.as_ref(), cfg);
            // The inference op that reads the predictor output whole.
            let whole = dc::deform_conv2d_packed_raw(
                x.value(),
                pv.value(),
                w.value(),
                b.as_ref().map(|b| b.value()),
                cfg,
                None,
                None,
            );
            assert_close(
                &key("y (packed op)"),
                &whole.to_vec(),
                &fx.data(&key("y")),
                1e-4,
            );
            pred = Some(pv);
        } else {
            let o = t.leaf(fx.tensor(&gpu, &key("offset")), true);
            let mk = has("mask").then(|| t.leaf(fx.tensor(&gpu, &key("mask")), true));
            y = dc::deform_conv2d(&mut t, &x, &o, mk.as_ref(), &w, b.as_ref(), cfg);
            off = Some(o);
            m = mk;
        }
        assert_close(&key("y"), &y.value().to_vec(), &fx.data(&key("y")), 1e-4);
        let grads = t.backward_with(&y, fx.tensor(&gpu, &key("gy")));
        let check = |v: Option<&hinas::tape::Var>, k: &str| {
            if let Some(v) = v {
                assert_close(
                    &key(k),
                    &grads.get(v).unwrap().to_vec(),
                    &fx.data(&key(k)),
                    1e-4,
                );
            }
        };
        check(Some(&x), "gx");
        check(Some(&w), "gw");
        check(b.as_ref(), "gb");
        check(off.as_ref(), "goffset");
        check(m.as_ref(), "gmask");
        check(pred.as_ref(), "gpred");
    }
}

/// Runs the packed op (true) or the composition (false): output, then dx, dpred, dw, db.
type PackedRun<'a> = Box<dyn Fn(bool) -> Vec<Vec<f32>> + 'a>;

/// The packed tape op (`deform_conv2d_packed`, what `DeformConv` runs) against the composition
/// it replaces (split, sigmoid, `deform_conv2d`): the same output and the same gradients for
/// x, the predictor output, w and b, to the bit, on each forward path (vec4 and scalar
/// im2col, the one-pass forward, the kernels for devices without subgroups); and its
/// predictor-output gradient against finite differences of the f64 reference.
#[test]
fn packed_op_equals_split_sigmoid_composition_bit_for_bit() {
    let gpu = gpu();
    // 8x8 positions are whole vec4s (im2col4), 7x6 are not (im2col); two offset groups.
    let cases = [
        Case { og: 2, ..BASE },
        Case {
            h: 8,
            w: 8,
            cout: 5,
            ..BASE
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let (taps, p) = (c.og * c.kk(), c.hout() * c.wout());
        let chans = 3 * taps;
        let inp = inputs(&gpu, c, 80 + i as u64, 2);
        let mut r = rng(90 + i as u64);
        let logits = uniform(&mut r, c.n * taps * p, -4.0, 4.0);
        let mut pred = Vec::new();
        for b in 0..c.n {
            pred.extend_from_slice(&inp.off[b * 2 * taps * p..][..2 * taps * p]);
            pred.extend_from_slice(&logits[b * taps * p..][..taps * p]);
        }
        let (predt, pred) = upload(&gpu, &[c.n, chans, c.hout(), c.wout()], &pred);
        let run = |packed: bool| {
            let mut t = Tape::new(&gpu);
            let x = t.leaf(inp.xt.clone(), true);
            let pv = t.leaf(predt.clone(), true);
            let w = t.leaf(inp.wt.clone(), true);
            let b = t.leaf(inp.bt.clone().unwrap(), true);
            let y = if packed {
                dc::deform_conv2d_packed(&mut t, &x, &pv, &w, Some(&b), c.cfg())
            } else {
                let (off, m) = split_offset_mask(&mut t, &pv, taps);
                dc::deform_conv2d(&mut t, &x, &off, Some(&m), &w, Some(&b), c.cfg())
            };
            let g = t.backward_with(&y, inp.gyt.clone());
            let mut out = vec![y.value().to_vec()];
            out.extend([&x, &pv, &w, &b].map(|v| g.get(v).unwrap().to_vec()));
            out
        };
        let names = ["y", "dx", "dpred", "dw", "db"];
        let paths: [(&str, PackedRun); 3] = [
            (
                "column path",
                Box::new(|pk| dc::with_direct_forward(false, || run(pk))),
            ),
            (
                "one-pass forward",
                Box::new(|pk| dc::with_direct_forward(true, || run(pk))),
            ),
            (
                "plain kernels",
                Box::new(|pk| hinas::ops::with_plain_kernels(|| run(pk))),
            ),
        ];
        for (path, f) in paths.iter() {
            let (want, got) = (f(false), f(true));
            for (k, name) in names.iter().enumerate() {
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got[k]),
                    bits(&want[k]),
                    "case {i}, {path}: {name} differs from the composition"
                );
            }
            if *path == "column path" {
                let f64_out = |pr: &[f64]| {
                    let (mut off, mut m) = (Vec::new(), Vec::new());
                    for bn in 0..c.n {
                        let img = &pr[bn * chans * p..][..chans * p];
                        off.extend_from_slice(&img[..2 * taps * p]);
                        m.extend(img[2 * taps * p..].iter().map(|v| 1.0 / (1.0 + (-v).exp())));
                    }
                    reference(c, &inp.x, &off, Some(&m), &inp.w, inp.b.as_deref())
                };
                assert_close("packed forward", &got[0], &f64_out(&pred), 1e-5);
                let fd = numeric_grad(&f64_out, &pred, &inp.gy, 1e-5);
                assert_close("packed dpred", &got[2], &fd, 1e-4);
            }
        }
    }
}

/// The packed predictor output [N, 3*og*kk, H', W'] (offsets, then mask logits in [-4, 4]) of
/// `inp`'s offsets, and the mask the logits stand for.
fn packed_predictor(gpu: &Gpu, c: &Case, inp: &Inputs, r: &mut Rng64) -> (Tensor, Vec<f64>) {
    let (taps, p) = (c.og * c.kk(), c.hout() * c.wout());
    let logits = uniform(r, c.n * taps * p, -4.0, 4.0);
    let mut om = Vec::new();
    for b in 0..c.n {
        om.extend_from_slice(&inp.off[b * 2 * taps * p..][..2 * taps * p]);
        om.extend_from_slice(&logits[b * taps * p..][..taps * p]);
    }
    let (omt, _) = upload(gpu, &[c.n, 3 * taps, c.hout(), c.wout()], &om);
    let mask = logits.iter().map(|&l| 1.0 / (1.0 + (-l).exp())).collect();
    (omt, mask)
}

#[test]
fn texture_sampled_forward_matches_the_reference_and_direct4() {
    let gpu = gpu();
    if !gpu.subgroup_kernels() || !gpu.f32_filtering() {
        println!("skipped: the texture-sampled forward needs lavapipe's f32 linear filtering");
        return;
    }
    // 4 and 8 channels per offset group (one and two texture layers), two passes of output
    // channels, a batch of two, dilation 2, and offsets reaching 3 pixels past the borders.
    let cases = [
        Case {
            cin: 8,
            h: 8,
            w: 12,
            cout: 8,
            og: 2,
            ..BASE
        },
        Case {
            cin: 16,
            h: 6,
            w: 8,
            cout: 20,
            og: 2,
            ..BASE
        },
        Case {
            n: 1,
            cin: 4,
            h: 9,
            w: 4,
            cout: 5,
            dil: 2,
            pad: 2,
            bias: false,
            ..BASE
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let inp = inputs(&gpu, c, 110 + i as u64, 3);
        let (omt, mask) = packed_predictor(&gpu, c, &inp, &mut rng(120 + i as u64));
        let want = reference(c, &inp.x, &inp.off, Some(&mask), &inp.w, inp.b.as_deref());
        let max_offset = inp.off.iter().fold(0.0f64, |m, v| m.max(v.abs())) as f32;
        let run = |texture: bool, addend: Option<&Tensor>| {
            let stats = Tensor::from_slice(&gpu, &[2], &[0.0, 0.0]);
            let y = dc::with_direct_forward(true, || {
                dc::with_texture_sampling(texture, || {
                    let (x, w, b) = (&inp.xt, &inp.wt, inp.bt.as_ref());
                    dc::deform_conv2d_packed_raw(x, &omt, w, b, c.cfg(), Some((&stats, 1)), addend)
                })
            });
            (y.to_vec(), stats.to_vec())
        };
        let (sampled, stats) = run(true, None);
        let (direct, _) = run(false, None);
        assert_close(&format!("case {i}: texture"), &sampled, &want, 1e-5);
        let d = sampled
            .iter()
            .zip(&direct)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(d < 1e-5, "case {i}: texture and direct4 differ by {d}");
        // The sampler blends in another order than direct4, so equal bits everywhere would
        // mean the texture path did not run.
        assert_ne!(sampled, direct, "case {i}: the texture path did not run");
        assert_eq!(stats, [0.0, max_offset], "case {i}: max |offset|");
        let (addend, _) = upload(
            &gpu,
            &c.y_shape(),
            &uniform(&mut rng(7), want.len(), -2.0, 2.0),
        );
        let (summed, _) = run(true, Some(&addend));
        let unfused =
            elementwise::add_raw(&addend, &Tensor::from_slice(&gpu, &c.y_shape(), &sampled));
        assert_eq!(summed, unfused.to_vec(), "case {i}: fused addend");
    }
}

#[test]
fn banded_forward_equals_the_whole_output() {
    let gpu = gpu();
    if !gpu.subgroup_kernels() {
        println!("skipped: the banded forward needs the one-pass forward");
        return;
    }
    // Bands of 4 rows and a last band of 2, each with its own predictor rows; on lavapipe the
    // texture is filled once for all bands.
    let c = Case {
        n: 1,
        cin: 8,
        h: 10,
        w: 8,
        cout: 12,
        og: 2,
        ..BASE
    };
    let inp = inputs(&gpu, &c, 130, 3);
    let (omt, _) = packed_predictor(&gpu, &c, &inp, &mut rng(131));
    let om = omt.to_vec();
    let (x, w, b) = (&inp.xt, &inp.wt, inp.bt.as_ref());
    let whole = dc::with_direct_forward(true, || {
        dc::deform_conv2d_packed_raw(x, &omt, w, b, c.cfg(), None, None).to_vec()
    });
    let y = Tensor::empty(&gpu, &c.y_shape());
    let mut bands = Vec::new();
    let (chans, wd) = (3 * c.og * c.kk(), c.wout());
    let predictor = |r0: usize, rows: usize| {
        bands.push((r0, rows));
        let part: Vec<f32> = (0..chans)
            .flat_map(|ch| om[(ch * c.hout() + r0) * wd..][..rows * wd].to_vec())
            .collect();
        Tensor::from_slice(&gpu, &[1, chans, rows, wd], &part)
    };
    dc::with_direct_forward(true, || {
        dc::deform_conv2d_packed_bands_raw(x, w, b, c.cfg(), None, &y, 4, None, predictor)
    });
    assert_eq!(bands, [(0, 4), (4, 4), (8, 2)]);
    assert_eq!(y.to_vec(), whole, "bands vs whole");
}

#[test]
fn scratch_textures_are_held_apart_and_reused_once_returned() {
    let gpu = gpu();
    // An odd size no other test asks for (tests of one binary share the device).
    let size = (36, 20, 3);
    let a = gpu.scratch_texture(size.0, size.1, size.2);
    let b = gpu.scratch_texture(size.0, size.1, size.2);
    assert_ne!(
        a.view(),
        b.view(),
        "two holders of one size share a texture"
    );
    let first = a.view().clone();
    drop(a);
    let c = gpu.scratch_texture(size.0, size.1, size.2);
    assert_eq!(c.view(), &first, "a returned texture is not reused");
    let other = gpu.scratch_texture(size.0, size.1 + 4, size.2);
    assert_ne!(other.view(), &first, "another size got the same texture");
}
