//! Small PNG line plots (loss curves, alpha/beta evolution) drawn with the `image` crate and an
//! 8x8 bitmap font, so no plotting stack or system font is needed.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, colour: [u8; 3]) {
    for (n, ch) in s.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    put(img, x + n as i64 * 8 + col, y + row as i64, colour);
                }
            }
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(c));
    }
}

fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3]) {
    let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        put(img, x.round() as i64, y.round() as i64, c);
        put(img, x.round() as i64, y.round() as i64 + 1, c);
    }
}

/// One panel: several series against their index (epoch), with a title, y range and legend.
pub fn panel(
    img: &mut RgbImage,
    origin: (u32, u32),
    size: (u32, u32),
    title: &str,
    series: &[Series],
) {
    let (ox, oy) = (origin.0 as f64, origin.1 as f64);
    let (w, h) = (size.0 as f64, size.1 as f64);
    let (l, r, top, bottom) = (ox + 56.0, ox + w - 150.0, oy + 20.0, oy + h - 20.0);
    text(img, ox as i64 + 4, oy as i64 + 4, title, [0, 0, 0]);
    let vals = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return;
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let n = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(1)
        .max(2);
    line(img, (l, bottom), (r, bottom), [0, 0, 0]);
    line(img, (l, top), (l, bottom), [0, 0, 0]);
    text(
        img,
        ox as i64 + 2,
        top as i64,
        &format!("{hi:.3}"),
        [0, 0, 0],
    );
    text(
        img,
        ox as i64 + 2,
        bottom as i64 - 8,
        &format!("{lo:.3}"),
        [0, 0, 0],
    );
    text(
        img,
        r as i64 - 40,
        bottom as i64 + 6,
        &format!("{}", n - 1),
        [0, 0, 0],
    );
    let px = |i: usize| l + (r - l) * i as f64 / (n - 1) as f64;
    let py = |v: f64| bottom - (bottom - top) * (v - lo) / (hi - lo);
    for (k, s) in series.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        for i in 1..s.values.len() {
            let (a, b) = (s.values[i - 1], s.values[i]);
            if a.is_finite() && b.is_finite() {
                line(img, (px(i - 1), py(a)), (px(i), py(b)), c);
            }
        }
        if s.values.len() == 1 && s.values[0].is_finite() {
            line(
                img,
                (px(0) - 2.0, py(s.values[0])),
                (px(0) + 2.0, py(s.values[0])),
                c,
            );
        }
        let ly = top as i64 + 10 * k as i64;
        line(
            img,
            (r + 8.0, ly as f64 + 4.0),
            (r + 20.0, ly as f64 + 4.0),
            c,
        );
        text(
            img,
            r as i64 + 24,
            ly,
            &s.name.chars().take(15).collect::<String>(),
            c,
        );
    }
}

/// Writes panels stacked vertically into one PNG.
pub fn save_panels(path: &std::path::Path, panels: &[(String, Vec<Series>)]) -> anyhow::Result<()> {
    let (w, ph) = (900u32, 260u32);
    let mut img = RgbImage::from_pixel(w, ph * panels.len().max(1) as u32, Rgb([255, 255, 255]));
    for (i, (title, series)) in panels.iter().enumerate() {
        panel(&mut img, (0, i as u32 * ph), (w, ph), title, series);
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )?;
    crate::checkpoint::write_atomic(path, &bytes)
}
