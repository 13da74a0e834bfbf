//! PSNR and both SSIM conventions against scikit-image / a PyTorch re-implementation of HiNAS'
//! SSIM (tests/fixtures/metrics.safetensors, tools/fixtures/metrics.py).

mod common;
use common::*;

use hinas::data::{psnr, ssim_hinas, ssim_skimage, FloatImage, Scores};

const CASES: [&str; 6] = [
    "grey_noisy",
    "grey_blur",
    "grey_heavy",
    "grey_min",
    "color_noisy",
    "color_blur",
];

fn image(fx: &Fixture, key: &str) -> FloatImage {
    let (s, d) = fx.get(key);
    FloatImage::new(s[2], s[1], s[0], d.to_vec())
}

fn scalar(fx: &Fixture, key: &str) -> f64 {
    fx.data(key)[0]
}

#[test]
fn metrics_match_references() {
    let fx = Fixture::load("metrics");
    let mut worst = [0.0f64; 3];
    for case in CASES {
        let out = image(&fx, &format!("{case}.out"));
        let clean = image(&fx, &format!("{case}.clean"));
        let checks = [
            ("psnr", psnr(&out, &clean)),
            ("ssim_hinas", ssim_hinas(&out, &clean)),
            ("ssim_skimage", ssim_skimage(&out, &clean)),
        ];
        for (m, (what, got)) in checks.into_iter().enumerate() {
            let want = scalar(&fx, &format!("{case}.{what}"));
            worst[m] = worst[m].max((got - want).abs());
            assert!(
                (got - want).abs() < 1e-4,
                "{case} {what}: {got} vs reference {want}"
            );
        }
    }
    eprintln!(
        "max |delta|: psnr {:.2e}, ssim_hinas {:.2e}, ssim_skimage {:.2e}",
        worst[0], worst[1], worst[2]
    );
}

#[test]
fn fixtures_exercise_clipping_and_both_conventions_differ() {
    let fx = Fixture::load("metrics");
    let out = image(&fx, "grey_heavy.out");
    assert!(out.data.iter().any(|&v| !(0.0..=1.0).contains(&v)));
    let clean = image(&fx, "grey_heavy.clean");
    let s = Scores::of(&out, &clean);
    assert!((s.ssim_hinas - s.ssim_skimage).abs() > 1e-4, "{s:?}");
}

#[test]
fn identical_images_score_perfectly() {
    let mut r = rng(1);
    let data = to_f32(&uniform(&mut r, 3 * 20 * 17, 0.0, 1.0));
    let a = FloatImage::new(17, 20, 3, data);
    let s = Scores::of(&a, &a);
    assert!(s.psnr.is_infinite() && s.psnr > 0.0);
    assert!((s.ssim_hinas - 1.0).abs() < 1e-12);
    assert!((s.ssim_skimage - 1.0).abs() < 1e-12);
    let mean = Scores::mean(&[
        Scores {
            psnr: 20.0,
            ssim_hinas: 0.5,
            ssim_skimage: 0.4,
        },
        Scores {
            psnr: 30.0,
            ssim_hinas: 0.7,
            ssim_skimage: 0.6,
        },
    ]);
    assert_eq!(mean.psnr, 25.0);
    assert!((mean.ssim_hinas - 0.6).abs() < 1e-12);
}

#[test]
fn psnr_of_a_known_error() {
    // A uniform error of 5/255 gives 20 log10(255 / 5).
    let clean = FloatImage::new(4, 3, 1, vec![0.5; 12]);
    let out = FloatImage::new(4, 3, 1, vec![0.5 + 5.0 / 255.0; 12]);
    let want = 20.0 * (255.0f64 / 5.0).log10();
    assert!((psnr(&out, &clean) - want).abs() < 1e-4);
}
