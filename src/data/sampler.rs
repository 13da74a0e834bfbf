//! Training patches: random crops with HiNAS' augmentation and additive white Gaussian noise,
//! batched NCHW, prepared on a background thread.
//!
//! Batch `k` is a pure function of `(seed, k)` (its own ChaCha8 stream), so the sampler's whole
//! state is [`SamplerState`] and the prefetch thread cannot change what comes out: it only
//! computes batches earlier.

use super::image::{HostBatch, Image};
use super::resize::resize_crop;
use crate::gpu::{Gpu, Tensor};
use anyhow::{bail, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// HiNAS' training augmentation (data/datasets/transforms.py), in its order: with probability
/// `rescale_prob` rescale the whole image by U(range) with PIL bicubic, crop, rotate by a
/// uniform multiple of 90 degrees, flip left-right with probability 1/2.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    pub rescale_prob: f64,
    pub rescale_range: (f64, f64),
    pub rotate: bool,
    pub flip: bool,
}

impl Augment {
    pub fn hinas() -> Augment {
        Augment {
            rescale_prob: 0.5,
            rescale_range: (0.8, 1.2),
            rotate: true,
            flip: true,
        }
    }

    pub fn none() -> Augment {
        Augment {
            rescale_prob: 0.0,
            rescale_range: (1.0, 1.0),
            rotate: false,
            flip: false,
        }
    }
}

/// How images are picked for a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SampleMode {
    /// Each batch draws `batch` images from a fresh shuffle (distinct when there are enough),
    /// like HiNAS' architecture batches ("new shuffled iterator each time").
    Random,
    /// One random crop per image per epoch, in a shuffled order; the last batch of an epoch
    /// holds the remainder (PyTorch DataLoader, drop_last=False).
    Epoch,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    pub patch: usize,
    pub batch: usize,
    /// Noise levels in 0-255 units; each patch draws one uniformly.
    pub sigmas: Vec<f32>,
    pub augment: Augment,
    pub mode: SampleMode,
    /// Host batches prepared ahead on a background thread (0: synchronous).
    pub prefetch: usize,
}

impl SamplerConfig {
    /// 64x64 patches, HiNAS augmentation, random batches, two batches prefetched.
    pub fn new(batch: usize, sigmas: &[f32]) -> SamplerConfig {
        SamplerConfig {
            patch: 64,
            batch,
            sigmas: sigmas.to_vec(),
            augment: Augment::hinas(),
            mode: SampleMode::Random,
            prefetch: 2,
        }
    }
}

/// Everything needed to resume (with the same images and [`SamplerConfig`]): batch `batches`
/// is the next one drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SamplerState {
    pub seed: u64,
    pub batches: u64,
}

/// One batch: `noisy = (clean_u8 + sigma * N(0,1)) / 255` (unclipped, unquantised) and
/// `clean = clean_u8 / 255`, both `[B, C, P, P]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchBatch {
    pub index: u64,
    pub noisy: HostBatch,
    pub clean: HostBatch,
    /// The sigma (0-255 units) of each item.
    pub sigmas: Vec<f32>,
}

impl PatchBatch {
    /// (noisy, clean) on the GPU.
    pub fn upload(&self, gpu: &Gpu) -> (Tensor, Tensor) {
        (self.noisy.upload(gpu), self.clean.upload(gpu))
    }
}

/// The deterministic part, shared with the prefetch thread.
struct Core {
    images: Vec<Image>,
    cfg: SamplerConfig,
    seed: u64,
}

const PERMUTATION_STREAMS: u64 = 1 << 63;

fn stream(seed: u64, s: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(s);
    r
}

impl Core {
    fn batches_per_epoch(&self) -> u64 {
        self.images.len().div_ceil(self.cfg.batch) as u64
    }

    /// Image indices of batch `k`.
    fn picks(&self, k: u64) -> Vec<usize> {
        let n = self.images.len();
        let b = self.cfg.batch;
        match self.cfg.mode {
            SampleMode::Random => {
                let mut rng = stream(self.seed, PERMUTATION_STREAMS | k);
                let mut picks = Vec::with_capacity(b);
                let mut order: Vec<usize> = (0..n).collect();
                while picks.len() < b {
                    order.shuffle(&mut rng);
                    picks.extend(order.iter().take(b - picks.len()));
                }
                picks
            }
            SampleMode::Epoch => {
                let bpe = self.batches_per_epoch();
                let (epoch, j) = (k / bpe, (k % bpe) as usize);
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut stream(self.seed, PERMUTATION_STREAMS | epoch));
                order[j * b..((j + 1) * b).min(n)].to_vec()
            }
        }
    }

    fn batch(&self, k: u64) -> PatchBatch {
        let picks = self.picks(k);
        let mut rng = stream(self.seed, k);
        let p = self.cfg.patch;
        let c = self.images[0].channels;
        let per = c * p * p;
        let mut noisy = Vec::with_capacity(picks.len() * per);
        let mut clean = Vec::with_capacity(picks.len() * per);
        let mut sigmas = Vec::with_capacity(picks.len());
        for &i in &picks {
            let patch = augmented_patch(&self.images[i], p, &self.cfg.augment, &mut rng);
            let sigma = self.cfg.sigmas[rng.random_range(0..self.cfg.sigmas.len())];
            for &v in &patch.data {
                let n: f32 = rng.sample(StandardNormal);
                noisy.push((v as f32 + n * sigma) / 255.0);
                clean.push(v as f32 / 255.0);
            }
            sigmas.push(sigma);
        }
        let shape = [picks.len(), c, p, p];
        PatchBatch {
            index: k,
            noisy: HostBatch::new(shape, noisy),
            clean: HostBatch::new(shape, clean),
            sigmas,
        }
    }
}

/// One augmented `p`x`p` crop of `img` (HiNAS RandomRescaleCrop, FourLRotate, RandomMirror).
pub fn augmented_patch(img: &Image, p: usize, aug: &Augment, rng: &mut impl Rng) -> Image {
    let mut scale = 1.0;
    if aug.rescale_prob > 0.0 && rng.random::<f64>() < aug.rescale_prob {
        let (lo, hi) = aug.rescale_range;
        scale = if hi > lo {
            rng.random_range(lo..hi)
        } else {
            lo
        };
    }
    let (mut w, mut h) = (
        (img.width as f64 * scale).floor() as usize,
        (img.height as f64 * scale).floor() as usize,
    );
    if w < p || h < p {
        // Too small to crop after downscaling: keep the original size.
        (w, h) = (img.width, img.height);
    }
    let y0 = ((h - p) as f64 * rng.random::<f64>()).floor() as usize;
    let x0 = ((w - p) as f64 * rng.random::<f64>()).floor() as usize;
    let mut patch = resize_crop(img, w, h, x0, y0, p, p);
    if aug.rotate {
        let quarter_turns = rng.random_range(0..4u32);
        for _ in 0..quarter_turns {
            patch = rotate90(&patch);
        }
    }
    if aug.flip && rng.random::<f64>() < 0.5 {
        patch = flip_lr(&patch);
    }
    patch
}

/// Counter-clockwise quarter turn of a square image (PIL `rotate(90)`).
pub fn rotate90(img: &Image) -> Image {
    let n = img.width;
    assert_eq!(n, img.height, "rotate90 needs a square patch");
    let mut out = vec![0u8; img.data.len()];
    for c in 0..img.channels {
        let src = img.plane(c);
        let dst = &mut out[c * n * n..(c + 1) * n * n];
        for r in 0..n {
            for col in 0..n {
                dst[r * n + col] = src[col * n + (n - 1 - r)];
            }
        }
    }
    Image::new(n, n, img.channels, out)
}

/// PIL `transpose(FLIP_LEFT_RIGHT)`.
pub fn flip_lr(img: &Image) -> Image {
    let mut out = img.data.clone();
    for row in out.chunks_exact_mut(img.width) {
        row.reverse();
    }
    Image::new(img.width, img.height, img.channels, out)
}

/// A background thread computing batches `start, start+1, ...` into a bounded queue.
struct Prefetch {
    rx: Option<Receiver<PatchBatch>>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetch {
    fn start(core: Arc<Core>, start: u64, depth: usize) -> Prefetch {
        let (tx, rx) = sync_channel(depth);
        let handle = std::thread::Builder::new()
            .name("hinas-sampler".into())
            .spawn(move || {
                let mut k = start;
                // Stops when the receiver is dropped.
                while tx.send(core.batch(k)).is_ok() {
                    k += 1;
                }
            })
            .expect("cannot spawn the sampler thread");
        Prefetch {
            rx: Some(rx),
            handle: Some(handle),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        drop(self.rx.take()); // unblocks a send in progress
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub struct PatchSampler {
    core: Arc<Core>,
    next: u64,
    prefetch: Option<Prefetch>,
}

impl std::fmt::Debug for PatchSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchSampler")
            .field("images", &self.core.images.len())
            .field("config", &self.core.cfg)
            .field("state", &self.state())
            .finish()
    }
}

impl PatchSampler {
    /// Errors on an empty set, mixed channel counts, images smaller than the patch, an empty
    /// sigma list or a zero batch size.
    pub fn new(images: Vec<Image>, cfg: SamplerConfig, seed: u64) -> Result<PatchSampler> {
        if images.is_empty() {
            bail!("patch sampler: no training images");
        }
        if cfg.batch == 0 || cfg.patch == 0 {
            bail!("patch sampler: batch and patch size must be positive");
        }
        if cfg.sigmas.is_empty() || cfg.sigmas.iter().any(|s| !s.is_finite() || *s < 0.0) {
            bail!(
                "patch sampler: need one or more noise levels >= 0, got {:?}",
                cfg.sigmas
            );
        }
        let c = images[0].channels;
        for (i, im) in images.iter().enumerate() {
            if im.channels != c {
                bail!(
                    "patch sampler: image {i} has {} channels, image 0 has {c}",
                    im.channels
                );
            }
            if im.width < cfg.patch || im.height < cfg.patch {
                bail!(
                    "patch sampler: image {i} ({}x{}) is smaller than the {p}x{p} patch size",
                    im.width,
                    im.height,
                    p = cfg.patch
                );
            }
        }
        Ok(PatchSampler {
            core: Arc::new(Core { images, cfg, seed }),
            next: 0,
            prefetch: None,
        })
    }

    pub fn config(&self) -> &SamplerConfig {
        &self.core.cfg
    }

    pub fn state(&self) -> SamplerState {
        SamplerState {
            seed: self.core.seed,
            batches: self.next,
        }
    }

    /// Continues as the sampler whose [`state`](Self::state) this was.
    pub fn restore(&mut self, state: SamplerState) {
        self.prefetch = None;
        if state.seed != self.core.seed {
            let core = Core {
                images: self.core.images.clone(),
                cfg: self.core.cfg.clone(),
                seed: state.seed,
            };
            self.core = Arc::new(core);
        }
        self.next = state.batches;
    }

    /// Batches per epoch in [`SampleMode::Epoch`] (ceil(images / batch)).
    pub fn batches_per_epoch(&self) -> u64 {
        self.core.batches_per_epoch()
    }

    /// The epoch the next batch belongs to (Epoch mode).
    pub fn epoch(&self) -> u64 {
        self.next / self.core.batches_per_epoch()
    }

    /// Batch `k` without changing the state (what [`next_host`](Self::next_host) returns as its
    /// `k`-th batch).
    pub fn batch_at(&self, k: u64) -> PatchBatch {
        self.core.batch(k)
    }

    pub fn next_host(&mut self) -> PatchBatch {
        let k = self.next;
        self.next += 1;
        let depth = self.core.cfg.prefetch;
        if depth == 0 {
            return self.core.batch(k);
        }
        let pf = self
            .prefetch
            .get_or_insert_with(|| Prefetch::start(self.core.clone(), k, depth));
        match pf.rx.as_ref().and_then(|rx| rx.recv().ok()) {
            Some(b) => {
                debug_assert_eq!(b.index, k);
                b
            }
            None => {
                // The thread died (it cannot fail short of a panic): fall back to this thread.
                self.prefetch = None;
                self.core.batch(k)
            }
        }
    }

    /// The next batch on the GPU: (noisy, clean), `[B, C, P, P]`.
    pub fn next_gpu(&mut self, gpu: &Gpu) -> (Tensor, Tensor) {
        self.next_host().upload(gpu)
    }
}
