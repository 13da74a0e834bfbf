//! Pixel blocks (src/ops/conv2d/blocks.rs): a depthwise conv stored as pixel blocks and the 1x1
//! conv that reads them give the NCHW chain's values to the bit, on images whose pixel counts
//! are and are not whole blocks, rows in fours and not, several images, with biases and fused
//! activations; and only the launches that know the layout take it.

mod common;
use common::*;
use hinas::ops::conv2d::*;
use hinas::ops::with_plain_kernels;

#[test]
fn depthwise_then_pointwise_through_pixel_blocks_equals_nchw() {
    let gpu = gpu();
    if !gpu.subgroup_kernels() {
        eprintln!("no 8-lane subgroups: pixel blocks do not apply");
        assert!(!writes_pixel_blocks(
            &gpu,
            &[4, 1, 3, 3],
            Conv2dCfg::new(1, 1, 1, 4)
        ));
        return;
    }
    // gather64 from any size, so small images reach the 1x1 conv that reads blocks.
    with_wide64_from(0, || {
        let mut r = rng(71);
        // (input [n, c, h, w], depthwise taps, dilation, 1x1 output channels)
        for (xs, k, dil, cout) in [
            ([2, 13, 9, 11], 3, 1, 50), // 99 pixels: a partial last block; rows not in fours
            ([1, 6, 8, 12], 3, 1, 64),  // 96 pixels: three whole blocks; rows in fours
            ([2, 5, 7, 20], 5, 2, 130), // 140 pixels; three 64-channel pieces of the 1x1 conv
            ([1, 9, 4, 36], 3, 2, 48),  // a block that spans two rows
            ([1, 3, 10, 10], 5, 1, 49), // rows of 10: scalar stores into the blocks
        ] {
            let [n, c, h, w] = xs;
            let dw_cfg = Conv2dCfg::new(1, (k - 1) * dil / 2, dil, c);
            let pw_cfg = Conv2dCfg::new(1, 0, 1, 1);
            let (xt, _) = upload(&gpu, &xs, &uniform(&mut r, n * c * h * w, -1.0, 1.0));
            let (dwt, _) = upload(&gpu, &[c, 1, k, k], &uniform(&mut r, c * k * k, -0.5, 0.5));
            let (dbt, _) = upload(&gpu, &[c], &uniform(&mut r, c, -0.2, 0.2));
            let (pwt, _) = upload(
                &gpu,
                &[cout, c, 1, 1],
                &uniform(&mut r, cout * c, -0.5, 0.5),
            );
            let (pbt, _) = upload(&gpu, &[cout], &uniform(&mut r, cout, -0.2, 0.2));
            assert!(writes_pixel_blocks(&gpu, dwt.shape(), dw_cfg));
            assert!(reads_pixel_blocks(&gpu, pwt.shape(), pw_cfg, n * h * w));

            let mid = conv2d_raw_act(&xt, &dwt, Some(&dbt), dw_cfg, Some(0.1));
            let want = conv2d_raw_act(&mid, &pwt, Some(&pbt), pw_cfg, Some(0.0)).to_vec();

            let blocks = conv2d_to_pixel_blocks(&xt, &dwt, Some(&dbt), dw_cfg, Some(0.1));
            assert_eq!(blocks.shape(), [n, (h * w).div_ceil(32), c, 32]);
            // Each value in its block: image i, pixel f, channel ch at [i][f / 32][ch][f % 32].
            let (mv, bv) = (mid.to_vec(), blocks.to_vec());
            for i in 0..n {
                for ch in 0..c {
                    for f in 0..h * w {
                        let at = ((i * (h * w).div_ceil(32) + f / 32) * c + ch) * 32 + f % 32;
                        assert_eq!(
                            bv[at].to_bits(),
                            mv[(i * c + ch) * h * w + f].to_bits(),
                            "{xs:?}: image {i} channel {ch} pixel {f}"
                        );
                    }
                }
            }
            let got = conv2d_from_pixel_blocks(
                &blocks,
                (h, w),
                &pwt,
                Some(&pbt),
                pw_cfg,
                Some(0.0),
                None,
            );
            assert_eq!(got.shape(), [n, cout, h, w]);
            same_bits(&format!("{xs:?} -> {cout}"), &got.to_vec(), &want);
            // With an addend (the decoder's second part adding the first's sum).
            let (at, _) = upload(
                &gpu,
                &[n, cout, h, w],
                &uniform(&mut r, n * cout * h * w, -1.0, 1.0),
            );
            let want = conv2d_raw_act_add(&mid, &pwt, None, pw_cfg, Some(0.2), &at).to_vec();
            let got =
                conv2d_from_pixel_blocks(&blocks, (h, w), &pwt, None, pw_cfg, Some(0.2), Some(&at));
            same_bits(&format!("{xs:?} -> {cout} + addend"), &got.to_vec(), &want);
        }
    });
}

fn same_bits(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}");
    assert!(want.iter().any(|&v| v > 0.0), "{what}");
    for (j, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}: value {j}: {a} vs {b}");
    }
}

#[test]
fn only_the_launches_that_know_pixel_blocks_take_them() {
    let gpu = gpu();
    let dw = Conv2dCfg::new(1, 1, 1, 8);
    let pw = Conv2dCfg::new(1, 0, 1, 1);
    let sg = gpu.subgroup_kernels();
    assert_eq!(writes_pixel_blocks(&gpu, &[8, 1, 3, 3], dw), sg);
    // Not: a dense 3x3, a stride-2 depthwise, a 7-tap row.
    assert!(!writes_pixel_blocks(
        &gpu,
        &[8, 8, 3, 3],
        Conv2dCfg::new(1, 1, 1, 1)
    ));
    assert!(!writes_pixel_blocks(
        &gpu,
        &[8, 1, 3, 3],
        Conv2dCfg::new(2, 1, 1, 8)
    ));
    assert!(!writes_pixel_blocks(
        &gpu,
        &[8, 1, 7, 7],
        Conv2dCfg::new(1, 3, 1, 8)
    ));
    // 1x1 convs read them on gather64 only: image-sized launches of >= 48 channels.
    assert_eq!(
        reads_pixel_blocks(&gpu, &[64, 8, 1, 1], pw, WIDE64_PIXELS),
        sg
    );
    assert!(!reads_pixel_blocks(
        &gpu,
        &[64, 8, 1, 1],
        pw,
        WIDE64_PIXELS - 1
    ));
    assert!(!reads_pixel_blocks(&gpu, &[32, 8, 1, 1], pw, WIDE64_PIXELS));
    assert!(!reads_pixel_blocks(
        &gpu,
        &[64, 8, 3, 3],
        Conv2dCfg::new(1, 1, 1, 1),
        WIDE64_PIXELS
    ));
    with_plain_kernels(|| {
        assert!(!writes_pixel_blocks(&gpu, &[8, 1, 3, 3], dw));
        assert!(!reads_pixel_blocks(&gpu, &[64, 8, 1, 1], pw, WIDE64_PIXELS));
    });
}
