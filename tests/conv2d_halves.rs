//! conv2d_raw_halves: a conv stored as two tensors (one per offset group of a DCNv2 predictor at
//! inference) equals the one-tensor conv cut in two, to the bit, on `gather64`'s split store
//! and on the fallback that copies the parts out of the whole output.

mod common;
use common::*;
use hinas::ops::concat::split_raw;
use hinas::ops::conv2d::*;
use hinas::ops::with_plain_kernels;

fn halves_equal_the_whole_conv(seed: u64) {
    let gpu = gpu();
    let mut r = rng(seed);
    // (input, parts' channels, kernel, padding, bias): rows of 12 store whole vec4s, rows of 10
    // end in scalar stores; 27 is the cvpr2020 predictor's part (18 offsets + 9 mask logits).
    for (xs, part, k, pad, bias) in [
        ([1, 8, 6, 12], 27, 3, 1, true),
        ([2, 16, 5, 10], 27, 3, 1, false),
        ([1, 5, 4, 12], 32, 1, 0, true),
        ([1, 6, 3, 10], 5, 3, 1, true),
    ] {
        let cfg = Conv2dCfg::new(1, pad, 1, 1);
        let cin = xs[1];
        let per = cin * k * k;
        let x = upload(&gpu, &xs, &uniform(&mut r, xs.iter().product(), -1.0, 1.0)).0;
        let w = to_f32(&uniform(&mut r, 2 * part * per, -0.5, 0.5));
        let b = to_f32(&uniform(&mut r, 2 * part, -0.5, 0.5));
        let b = bias.then_some(b.as_slice());
        let whole_w = hinas::gpu::Tensor::from_slice(&gpu, &[2 * part, cin, k, k], &w);
        let whole_b = b.map(|b| hinas::gpu::Tensor::from_slice(&gpu, &[2 * part], b));
        let (mut wp, bp) = pad_halves(&w, b, part);
        // Non-zero padding rows: whatever they hold must stay out of the parts.
        for half in 0..2 {
            let rows = (half * HALF_BLOCK + part) * per..(half + 1) * HALF_BLOCK * per;
            for v in &mut wp[rows] {
                *v = 9.0;
            }
        }
        let wp = hinas::gpu::Tensor::from_slice(&gpu, &[2 * HALF_BLOCK, cin, k, k], &wp);
        let bp = bp.map(|b| hinas::gpu::Tensor::from_slice(&gpu, &[2 * HALF_BLOCK], &b));
        let got = conv2d_raw_halves(&x, &wp, bp.as_ref(), cfg, part);
        // To the bit: the padded conv stored whole (the same launch's sums) and cut.
        let rest = HALF_BLOCK - part;
        let padded = conv2d_raw_act(&x, &wp, bp.as_ref(), cfg, None);
        let mut cut = split_raw(&padded, &[part, rest, part, rest]).into_iter();
        let same_sums = [cut.next().unwrap(), cut.nth(1).unwrap()];
        // Within rounding: the conv of the unpadded weight (at 10 channels another kernel, whose
        // sums run in another order).
        let plain = split_raw(
            &conv2d_raw_act(&x, &whole_w, whole_b.as_ref(), cfg, None),
            &[part, part],
        );
        for half in 0..2 {
            let g = &got[half];
            assert_eq!(
                g.shape(),
                plain[half].shape(),
                "{xs:?} part {part}: half {half} shape"
            );
            let (g, w) = (g.to_vec(), same_sums[half].to_vec());
            assert!(w.iter().any(|&v| v < 0.0) && w.iter().any(|&v| v > 0.0));
            for (j, (a, e)) in g.iter().zip(&w).enumerate() {
                assert_eq!(
                    a.to_bits(),
                    e.to_bits(),
                    "{xs:?} part {part} k {k}: half {half} value {j}: {a} vs {e}"
                );
            }
            assert_close(
                &format!("{xs:?} part {part}: half {half} vs the unpadded conv"),
                &g,
                &to_f64(&plain[half].to_vec()),
                1e-5,
            );
        }
    }
}

#[test]
fn split_store_of_gather64() {
    with_wide64_from(0, || halves_equal_the_whole_conv(61));
}

#[test]
fn whole_output_copied_out_elsewhere() {
    with_wide64_from(usize::MAX, || halves_equal_the_whole_conv(62));
    with_plain_kernels(|| halves_equal_the_whole_conv(63));
}

#[test]
fn pad_halves_places_each_part_at_its_block() {
    let w: Vec<f32> = (0..2 * 3 * 2).map(|v| v as f32 + 1.0).collect();
    let b = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0];
    let (wp, bp) = pad_halves(&w, Some(&b), 3);
    assert_eq!(wp.len(), 2 * HALF_BLOCK * 2);
    assert_eq!(&wp[..6], &w[..6]);
    assert!(wp[6..2 * HALF_BLOCK].iter().all(|&v| v == 0.0));
    assert_eq!(&wp[2 * HALF_BLOCK..2 * HALF_BLOCK + 6], &w[6..]);
    assert!(wp[2 * HALF_BLOCK + 6..].iter().all(|&v| v == 0.0));
    let bp = bp.unwrap();
    assert_eq!(
        (&bp[..3], &bp[HALF_BLOCK..HALF_BLOCK + 3]),
        (&b[..3], &b[3..])
    );
    assert_eq!(pad_halves(&w, None, 3).1, None);
}
