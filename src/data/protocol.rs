//! Test protocols: how noise is added to a test image and how a denoiser sees it.
//!
//! The denoiser is a closure from a host batch of noisy images/tiles `[N, C, H, W]` (0-1 scale,
//! unclipped) to the denoised batch of the same shape, so any model (GPU or not) plugs in.
//! Noise of image `i` comes from ChaCha8 stream `i` of the seed: results do not depend on the
//! order or the subset of images evaluated.

use super::image::{FloatImage, HostBatch, Image, NamedImage};
use super::metrics::Scores;
use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Protocol {
    /// Noise added once per image; the denoiser sees the whole image (a batch of one).
    Standard,
    /// HiNAS' tools/dn_eval.py: `tile`x`tile` tiles every `stride` pixels plus a last tile flush
    /// with the border, FRESH noise per tile, outputs averaged where tiles overlap (a mild
    /// test-time ensemble that inflates PSNR against `Standard`). Tiles go to the denoiser
    /// `batch` at a time.
    Tiled {
        tile: usize,
        stride: usize,
        batch: usize,
    },
}

impl Protocol {
    /// 64x64 tiles, stride 48 (crop - crop/4), as dn_eval.py.
    pub fn hinas_tiles() -> Protocol {
        Protocol::Tiled {
            tile: 64,
            stride: 48,
            batch: 32,
        }
    }
}

fn image_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(index as u64);
    r
}

fn add_noise(clean: &[u8], sigma: f32, rng: &mut ChaCha8Rng, out: &mut Vec<f32>) {
    for &v in clean {
        let n: f32 = rng.sample(StandardNormal);
        out.push((v as f32 + n * sigma) / 255.0);
    }
}

/// The noisy version of test image `index` under [`Protocol::Standard`]:
/// `(clean_u8 + sigma * N(0,1)) / 255`, unclipped.
pub fn noisy_image(img: &Image, index: usize, sigma: f32, seed: u64) -> FloatImage {
    let mut rng = image_rng(seed, index);
    let mut data = Vec::with_capacity(img.data.len());
    add_noise(&img.data, sigma, &mut rng, &mut data);
    FloatImage::new(img.width, img.height, img.channels, data)
}

/// Tile origins along one axis, as dn_eval.py's `crop()`: `0, stride, ...` below
/// `len - tile`, then `len - tile`. The tile is first shrunk to `len` if longer.
pub fn tile_starts(len: usize, tile: usize, stride: usize) -> Vec<usize> {
    let tile = tile.min(len);
    let mut s: Vec<usize> = (0..len - tile).step_by(stride.max(1)).collect();
    s.push(len - tile);
    s
}

fn check_output(out: &HostBatch, shape: [usize; 4]) -> Result<()> {
    if out.shape != shape || out.data.len() != shape.iter().product::<usize>() {
        bail!(
            "denoiser returned a {:?} batch for a {:?} input",
            out.shape,
            shape
        );
    }
    Ok(())
}

/// Denoises test image `index` of a set under `protocol`; returns the (unclipped) output.
pub fn denoise_image(
    img: &Image,
    index: usize,
    sigma: f32,
    seed: u64,
    protocol: Protocol,
    denoise: &mut dyn FnMut(&HostBatch) -> Result<HostBatch>,
) -> Result<FloatImage> {
    let (w, h, c) = (img.width, img.height, img.channels);
    match protocol {
        Protocol::Standard => {
            let noisy = HostBatch::from_image(&noisy_image(img, index, sigma, seed));
            let out = denoise(&noisy)?;
            check_output(&out, noisy.shape)?;
            Ok(out.item(0))
        }
        Protocol::Tiled {
            tile,
            stride,
            batch,
        } => {
            let t = tile.min(w).min(h);
            // dn_eval.py order: x outer, y inner.
            let mut origins = Vec::new();
            for &x in &tile_starts(w, t, stride) {
                for &y in &tile_starts(h, t, stride) {
                    origins.push((x, y));
                }
            }
            let mut rng = image_rng(seed, index);
            let mut sum = vec![0.0f64; w * h * c];
            let mut count = vec![0u32; w * h];
            for chunk in origins.chunks(batch.max(1)) {
                let mut data = Vec::with_capacity(chunk.len() * c * t * t);
                for &(x, y) in chunk {
                    add_noise(&img.crop(x, y, t, t).data, sigma, &mut rng, &mut data);
                }
                let shape = [chunk.len(), c, t, t];
                let out = denoise(&HostBatch::new(shape, data))?;
                check_output(&out, shape)?;
                for (n, &(x, y)) in chunk.iter().enumerate() {
                    let o = &out.data[n * c * t * t..(n + 1) * c * t * t];
                    for ch in 0..c {
                        for r in 0..t {
                            for q in 0..t {
                                sum[(ch * h + y + r) * w + x + q] += o[(ch * t + r) * t + q] as f64;
                            }
                        }
                    }
                    for r in 0..t {
                        for q in 0..t {
                            count[(y + r) * w + x + q] += 1;
                        }
                    }
                }
            }
            let data = sum
                .iter()
                .enumerate()
                .map(|(i, &s)| (s / count[i % (w * h)] as f64) as f32)
                .collect();
            Ok(FloatImage::new(w, h, c, data))
        }
    }
}

/// One scored test image.
#[derive(Clone, Debug)]
pub struct EvalImage {
    pub name: String,
    pub output: FloatImage,
    pub scores: Scores,
}

#[derive(Clone, Debug)]
pub struct EvalReport {
    pub images: Vec<EvalImage>,
    /// Mean over images.
    pub mean: Scores,
}

/// Runs `protocol` over a test set at one noise level and scores every output against its clean
/// image (PSNR and both SSIMs, output clipped to [0, 1]).
pub fn evaluate(
    images: &[NamedImage],
    sigma: f32,
    seed: u64,
    protocol: Protocol,
    denoise: impl FnMut(&HostBatch) -> Result<HostBatch>,
) -> Result<EvalReport> {
    evaluate_each(images, sigma, seed, protocol, denoise, |_, _| {})
}

/// [`evaluate`], calling `scored(index, image)` as each image is done (progress reports).
pub fn evaluate_each(
    images: &[NamedImage],
    sigma: f32,
    seed: u64,
    protocol: Protocol,
    mut denoise: impl FnMut(&HostBatch) -> Result<HostBatch>,
    mut scored: impl FnMut(usize, &EvalImage),
) -> Result<EvalReport> {
    let mut out = Vec::with_capacity(images.len());
    for (i, im) in images.iter().enumerate() {
        let output = denoise_image(&im.image, i, sigma, seed, protocol, &mut denoise)?;
        let scores = Scores::of(&output, &im.image.to_float());
        out.push(EvalImage {
            name: im.name.clone(),
            output,
            scores,
        });
        scored(i, &out[i]);
    }
    let all: Vec<Scores> = out.iter().map(|e| e.scores).collect();
    Ok(EvalReport {
        mean: Scores::mean(&all),
        images: out,
    })
}
