//! Bicubic resize bit-exact with Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit images
//! (libImaging/Resample.c): Keys cubic with a = -0.5, support widened by the scale when
//! downscaling (antialiasing), coefficients normalised then rounded to 22-bit fixed point, a
//! horizontal pass rounded and clipped to 8 bits, then a vertical pass.
//!
//! Every output pixel depends only on its own coordinates, so [`resize_crop`] computes just a
//! window of the resized image: HiNAS rescales the whole image and then crops 64x64, which this
//! reproduces at the cost of the crop.

use super::image::Image;
use std::ops::Range;

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Fixed-point taps of the outputs `range` of one axis: output `i` reads inputs
/// `first[i] .. first[i] + taps[i].len()`.
struct Axis {
    first: Vec<usize>,
    taps: Vec<Vec<i32>>,
}

fn axis(in_size: usize, out_size: usize, range: Range<usize>) -> Axis {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let ss = 1.0 / filterscale;
    let mut first = Vec::with_capacity(range.len());
    let mut taps = Vec::with_capacity(range.len());
    for xx in range {
        let center = (xx as f64 + 0.5) * scale;
        // C's (int) truncates toward zero; negative values are clamped to 0 right after.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let w: Vec<f64> = (xmin..xmax)
            .map(|x| bicubic((x as f64 - center + 0.5) * ss))
            .collect();
        let ww: f64 = w.iter().sum();
        let k = w
            .iter()
            .map(|&v| {
                let v = if ww != 0.0 { v / ww } else { v };
                let f = v * (1u32 << PRECISION_BITS) as f64;
                (if v < 0.0 { f - 0.5 } else { f + 0.5 }) as i32
            })
            .collect();
        first.push(xmin);
        taps.push(k);
    }
    Axis { first, taps }
}

fn clip8(ss: i64) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// `Image.resize((out_w, out_h), BICUBIC)`.
pub fn resize(img: &Image, out_w: usize, out_h: usize) -> Image {
    resize_crop(img, out_w, out_h, 0, 0, out_w, out_h)
}

/// `Image.resize((out_w, out_h), BICUBIC).crop((x, y, x + w, y + h))`, computing only the crop.
pub fn resize_crop(
    img: &Image,
    out_w: usize,
    out_h: usize,
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> Image {
    assert!(out_w > 0 && out_h > 0, "empty resize target");
    assert!(
        x + w <= out_w && y + h <= out_h,
        "crop outside the resized image"
    );
    if out_w == img.width && out_h == img.height {
        return img.crop(x, y, w, h); // Pillow returns a copy
    }
    let need_h = out_w != img.width;
    let need_v = out_h != img.height;
    // Horizontal pass over the input rows the vertical pass will read, crop columns only.
    let (rows, vert) = if need_v {
        let v = axis(img.height, out_h, y..y + h);
        let lo = v.first[0];
        let hi = (0..h).map(|i| v.first[i] + v.taps[i].len()).max().unwrap();
        (lo..hi, Some(v))
    } else {
        (y..y + h, None)
    };
    let horiz = need_h.then(|| axis(img.width, out_w, x..x + w));
    let nr = rows.len();
    let mut out = Vec::with_capacity(w * h * img.channels);
    for c in 0..img.channels {
        let plane = img.plane(c);
        // temp[r][j]: row rows.start + r, output column x + j (8-bit, as in Pillow).
        let mut temp = vec![0u8; nr * w];
        for (r, row) in rows.clone().enumerate() {
            let src = &plane[row * img.width..(row + 1) * img.width];
            let dst = &mut temp[r * w..(r + 1) * w];
            match &horiz {
                Some(a) => {
                    for j in 0..w {
                        let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                        for (t, &k) in a.taps[j].iter().enumerate() {
                            ss += src[a.first[j] + t] as i64 * k as i64;
                        }
                        dst[j] = clip8(ss);
                    }
                }
                None => dst.copy_from_slice(&src[x..x + w]),
            }
        }
        match &vert {
            Some(a) => {
                for i in 0..h {
                    let base = a.first[i] - rows.start;
                    for j in 0..w {
                        let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                        for (t, &k) in a.taps[i].iter().enumerate() {
                            ss += temp[(base + t) * w + j] as i64 * k as i64;
                        }
                        out.push(clip8(ss));
                    }
                }
            }
            None => out.extend_from_slice(&temp),
        }
    }
    Image::new(w, h, img.channels, out)
}
