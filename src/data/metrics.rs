//! Image quality on the host in f64: PSNR and SSIM in two conventions.
//!
//! All functions take `(output, clean)` as [`FloatImage`]s in the [0, 1] scale and clip the
//! output to [0, 1] first (HiNAS clips before scoring; values are not re-quantised).

use super::image::FloatImage;

fn check(a: &FloatImage, b: &FloatImage) {
    assert!(
        a.width == b.width && a.height == b.height && a.channels == b.channels,
        "metric of a {}x{}x{} image against a {}x{}x{} one",
        a.channels,
        a.height,
        a.width,
        b.channels,
        b.height,
        b.width
    );
}

fn clipped(v: f32) -> f64 {
    v.clamp(0.0, 1.0) as f64
}

/// `10 log10(255^2 / mean((255 out - 255 clean)^2))`; infinite for identical images.
pub fn psnr(output: &FloatImage, clean: &FloatImage) -> f64 {
    check(output, clean);
    let n = output.data.len() as f64;
    let mse = output
        .data
        .iter()
        .zip(&clean.data)
        .map(|(&o, &c)| {
            let d = 255.0 * clipped(o) - 255.0 * c as f64;
            d * d
        })
        .sum::<f64>()
        / n;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// The normalised 11-tap Gaussian, sigma 1.5 (HiNAS' window; also scipy's kernel for sigma 1.5,
/// truncate 3.5).
fn gauss11() -> [f64; 11] {
    let mut g = [0.0; 11];
    for (i, v) in g.iter_mut().enumerate() {
        let x = i as f64 - 5.0;
        *v = (-x * x / (2.0 * 1.5 * 1.5)).exp();
    }
    let s: f64 = g.iter().sum();
    g.map(|v| v / s)
}

#[derive(Clone, Copy)]
enum Border {
    /// Zeros outside (PyTorch conv2d padding=5).
    Zero,
    /// scipy.ndimage mode 'reflect': d c b a | a b c d | d c b a.
    Reflect,
}

fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = i.rem_euclid(2 * n);
    (if m < n { m } else { 2 * n - 1 - m }) as usize
}

/// Separable 11x11 Gaussian filter of a w x h plane, same size.
fn filter(x: &[f64], w: usize, h: usize, border: Border) -> Vec<f64> {
    let g = gauss11();
    let tap = |len: usize, i: usize, t: usize| -> Option<usize> {
        let j = i as isize + t as isize - 5;
        match border {
            Border::Zero => (j >= 0 && j < len as isize).then_some(j as usize),
            Border::Reflect => Some(reflect(j, len)),
        }
    };
    // scipy filters axis 0 (rows) first, then axis 1; the order only changes rounding.
    let mut tmp = vec![0.0; w * h];
    for y in 0..h {
        for xx in 0..w {
            let mut s = 0.0;
            for (t, &gt) in g.iter().enumerate() {
                if let Some(yy) = tap(h, y, t) {
                    s += gt * x[yy * w + xx];
                }
            }
            tmp[y * w + xx] = s;
        }
    }
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for xx in 0..w {
            let mut s = 0.0;
            for (t, &gt) in g.iter().enumerate() {
                if let Some(xs) = tap(w, xx, t) {
                    s += gt * tmp[y * w + xs];
                }
            }
            out[y * w + xx] = s;
        }
    }
    out
}

/// The SSIM map of one plane (data range 1).
fn ssim_map(a: &[f64], b: &[f64], w: usize, h: usize, border: Border) -> Vec<f64> {
    const C1: f64 = 0.01 * 0.01;
    const C2: f64 = 0.03 * 0.03;
    let prod = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..a.len()).map(f).collect() };
    let mu_a = filter(a, w, h, border);
    let mu_b = filter(b, w, h, border);
    let aa = filter(&prod(&|i| a[i] * a[i]), w, h, border);
    let bb = filter(&prod(&|i| b[i] * b[i]), w, h, border);
    let ab = filter(&prod(&|i| a[i] * b[i]), w, h, border);
    (0..a.len())
        .map(|i| {
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let va = aa[i] - ma * ma;
            let vb = bb[i] - mb * mb;
            let cov = ab[i] - ma * mb;
            ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2))
        })
        .collect()
}

fn planes(img: &FloatImage, clip: bool) -> Vec<Vec<f64>> {
    let n = img.width * img.height;
    (0..img.channels)
        .map(|c| {
            img.data[c * n..(c + 1) * n]
                .iter()
                .map(|&v| if clip { clipped(v) } else { v as f64 })
                .collect()
        })
        .collect()
}

/// SSIM as HiNAS codes it (utils/evaluation_metrics.py): 11x11 Gaussian (sigma 1.5) with zero
/// padding, mean of the whole map including the borders, over all channels.
pub fn ssim_hinas(output: &FloatImage, clean: &FloatImage) -> f64 {
    check(output, clean);
    let (w, h) = (output.width, output.height);
    let (a, b) = (planes(output, true), planes(clean, false));
    let total: f64 = (0..a.len())
        .map(|c| {
            ssim_map(&a[c], &b[c], w, h, Border::Zero)
                .iter()
                .sum::<f64>()
        })
        .sum();
    total / (w * h * a.len()) as f64
}

/// SSIM as scikit-image computes it with `gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=255` (on 0-255 data; the same as data range 1 here):
/// scipy Gaussian filter with 'reflect' borders, the map cropped by 5 pixels on every side,
/// colour as the mean of the per-channel values. Needs images of at least 11x11.
pub fn ssim_skimage(output: &FloatImage, clean: &FloatImage) -> f64 {
    check(output, clean);
    let (w, h) = (output.width, output.height);
    assert!(
        w >= 11 && h >= 11,
        "skimage SSIM needs at least 11x11, got {w}x{h}"
    );
    let (a, b) = (planes(output, true), planes(clean, false));
    let per: Vec<f64> = (0..a.len())
        .map(|c| {
            let m = ssim_map(&a[c], &b[c], w, h, Border::Reflect);
            let mut s = 0.0;
            for y in 5..h - 5 {
                for x in 5..w - 5 {
                    s += m[y * w + x];
                }
            }
            s / ((w - 10) * (h - 10)) as f64
        })
        .collect();
    per.iter().sum::<f64>() / per.len() as f64
}

/// PSNR and both SSIMs of one image.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    pub psnr: f64,
    pub ssim_hinas: f64,
    pub ssim_skimage: f64,
}

impl Scores {
    pub fn of(output: &FloatImage, clean: &FloatImage) -> Scores {
        Scores {
            psnr: psnr(output, clean),
            ssim_hinas: ssim_hinas(output, clean),
            ssim_skimage: ssim_skimage(output, clean),
        }
    }

    /// Per-image mean (how HiNAS and the literature average over a test set).
    pub fn mean(all: &[Scores]) -> Scores {
        let n = all.len().max(1) as f64;
        Scores {
            psnr: all.iter().map(|s| s.psnr).sum::<f64>() / n,
            ssim_hinas: all.iter().map(|s| s.ssim_hinas).sum::<f64>() / n,
            ssim_skimage: all.iter().map(|s| s.ssim_skimage).sum::<f64>() / n,
        }
    }
}
