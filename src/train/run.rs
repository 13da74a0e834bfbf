//! The retraining loop (docs/method.md §5): SGD with momentum (or Adam, for short budgets), poly lr
//! per iteration, biases at a higher lr and without decay, gradients clipped by value (SGD); validation on held-out images at
//! regular intervals keeps the best model.

use super::config::TrainConfig;
use super::model::Model;
use super::state::{self, IntervalLog, PartialInterval, TrainProgress};
use crate::data::{
    self, Augment, LoadOptions, NamedImage, PatchSampler, Protocol, SampleMode, SamplerConfig,
    Source,
};
use crate::gpu::{Gpu, PendingRead};
use crate::nn::genotype::Genotype;
use crate::nn::layers::Mode;
use crate::nn::loss::denoise_loss;
use crate::nn::params::Group;
use crate::optim::{Adam, LrSchedule, Optimizer, ParamRef, Sgd};
use crate::tape::Tape;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Training and validation images.
pub struct Split {
    pub train: Vec<NamedImage>,
    pub val: Vec<NamedImage>,
}

/// Loads the images (sorted by name) and holds the last `val_images` out, centre-cropped.
pub fn load_split(cfg: &TrainConfig, channels: usize, source: &Source) -> anyhow::Result<Split> {
    let ch = data::Channels::from_count(channels).expect("validated channel count");
    let t = &cfg.train;
    let mut images = source.load(&LoadOptions::new(ch).min_size(t.patch_size))?;
    images.sort_by(|a, b| a.name.cmp(&b.name));
    anyhow::ensure!(
        images.len() > t.val_images,
        "{} images from {source} are too few to hold {} out for validation",
        images.len(),
        t.val_images
    );
    let val = images
        .split_off(images.len() - t.val_images)
        .into_iter()
        .map(|n| {
            let im = &n.image;
            let crop = t.val_crop;
            if crop == 0 || (im.width <= crop && im.height <= crop) {
                return n;
            }
            let (cw, chh) = (crop.min(im.width), crop.min(im.height));
            NamedImage {
                name: n.name.clone(),
                image: im.crop((im.width - cw) / 2, (im.height - chh) / 2, cw, chh),
            }
        })
        .collect();
    Ok(Split { train: images, val })
}

pub struct Trainer {
    pub cfg: TrainConfig,
    pub out_dir: PathBuf,
    pub gpu: Gpu,
    pub model: Model,
    pub optimizer: Box<dyn Optimizer>,
    pub sampler: PatchSampler,
    pub val: Vec<NamedImage>,
    pub progress: TrainProgress,
}

impl Trainer {
    pub fn new(
        gpu: &Gpu,
        cfg: TrainConfig,
        genotype: &Genotype,
        split: Split,
        out_dir: &Path,
    ) -> anyhow::Result<Trainer> {
        let t = &cfg.train;
        let model = Model::new(gpu, genotype, &cfg)?;
        let sampler_cfg = SamplerConfig {
            patch: t.patch_size,
            batch: t.batch_size,
            sigmas: vec![t.sigma],
            augment: Augment::hinas(),
            mode: SampleMode::Random,
            prefetch: 2,
        };
        let images = split.train.into_iter().map(|n| n.image).collect();
        let sampler =
            PatchSampler::new(images, sampler_cfg, t.seed.wrapping_mul(3).wrapping_add(1))?;
        let clip = (t.clip_value > 0.0).then_some(t.clip_value as f32);
        let optimizer: Box<dyn Optimizer> = match t.optimizer.as_str() {
            "adam" => Box::new(Adam::new()),
            _ => Box::new(Sgd::new(t.momentum as f32, clip)),
        };
        Ok(Trainer {
            optimizer,
            gpu: gpu.clone(),
            model,
            sampler,
            val: split.val,
            out_dir: out_dir.to_path_buf(),
            progress: TrainProgress::default(),
            cfg,
        })
    }

    pub fn schedule(&self) -> LrSchedule {
        LrSchedule::Poly {
            base: self.cfg.train.lr,
            power: self.cfg.train.lr_power,
            total: self.cfg.train.iterations,
        }
    }

    pub fn done(&self) -> bool {
        self.progress.iteration >= self.cfg.train.iterations
    }

    /// One optimiser step; returns the loss (read it asynchronously). Public for
    /// examples/train_step.rs, which times it.
    pub fn step(&mut self) -> PendingRead {
        let t = &self.cfg.train;
        let lr = self.schedule().lr(self.progress.iteration) as f32;
        let (x, y) = self.sampler.next_gpu(&self.gpu);
        let store = &self.model.store;
        let mut tape = Tape::new(&self.gpu);
        let p = store.bind(&mut tape, Some(Group::Weight));
        let xv = tape.constant(x);
        let yv = tape.constant(y);
        let frozen_from = t.iterations as f64 * (1.0 - t.bn_frozen_fraction);
        let mode = if (self.progress.iteration as f64) < frozen_from {
            Mode::Train
        } else {
            Mode::Eval
        };
        let out = self.model.net.forward(&mut tape, &p, &xv, mode);
        let loss = denoise_loss(&mut tape, &out, &yv, t.ssim_weight as f32);
        let loss_value = loss.value().clone();
        let mut grads = tape.backward(&loss);
        let grads: Vec<_> = p
            .vars
            .iter()
            .enumerate()
            .filter_map(|(i, v)| grads.take(v).map(|g| (i, g)))
            .collect();
        let refs: Vec<ParamRef> = grads
            .iter()
            .map(|(i, g)| {
                let bias = store.params[*i].is_bias;
                ParamRef {
                    slot: *i,
                    param: &store.params[*i].value,
                    grad: g,
                    lr_scale: if bias { t.bias_lr_mult as f32 } else { 1.0 },
                    weight_decay: if bias { 0.0 } else { t.weight_decay as f32 },
                }
            })
            .collect();
        self.optimizer.step(lr, &refs);
        loss_value.read_async()
    }

    /// Runs up to the next validation point, validates, and records the interval;
    /// `on_iter` sees (iterations done, last loss read). On a stop request it returns
    /// [`crate::stop::Interrupted`] after the step in flight, with the progress in
    /// `self.progress.partial`.
    pub fn run_interval(
        &mut self,
        mut on_iter: impl FnMut(usize, Option<f64>),
    ) -> anyhow::Result<IntervalLog> {
        let started = Instant::now();
        let t = self.cfg.train.clone();
        let end = ((self.progress.iteration / t.val_every + 1) * t.val_every).min(t.iterations);
        let done = self.progress.partial.take();
        let lr = done
            .as_ref()
            .map_or_else(|| self.schedule().lr(self.progress.iteration), |d| d.lr);
        let (mut sum, mut n) = done.as_ref().map_or((0.0, 0), |d| (d.loss_sum, d.steps));
        let before = done.map_or(0.0, |d| d.seconds);
        let mut pending: Option<PendingRead> = None;
        let mut stopped = false;
        while self.progress.iteration < end {
            if crate::stop::requested() {
                stopped = true;
                break;
            }
            let l = self.step();
            self.progress.iteration += 1;
            let mut last = None;
            // The previous step's loss only now, so the GPU never idles waiting for the host.
            if let Some(prev) = pending.replace(l) {
                let v = prev.wait()[0] as f64;
                sum += v;
                n += 1;
                last = Some(v);
            }
            on_iter(self.progress.iteration, last);
        }
        if let Some(prev) = pending {
            sum += prev.wait()[0] as f64;
            n += 1;
        }
        if stopped {
            self.progress.partial = Some(PartialInterval {
                loss_sum: sum,
                steps: n,
                lr,
                seconds: before + started.elapsed().as_secs_f64(),
            });
            return Err(crate::stop::Interrupted.into());
        }
        anyhow::ensure!(
            sum.is_finite(),
            "training diverged before iteration {} (the loss is not finite); try a lower lr",
            self.progress.iteration
        );
        let (psnr, ssim) = self.validate()?;
        let score = ssim + psnr / 100.0;
        let competes = self.progress.iteration >= t.val_start || self.done();
        let best =
            competes && score.is_finite() && self.progress.best.is_none_or(|(b, _)| score > b);
        if best {
            self.progress.best = Some((score, self.progress.iteration));
        }
        let log = IntervalLog {
            iteration: self.progress.iteration,
            train_loss: sum / n.max(1) as f64,
            lr,
            val_psnr: psnr,
            val_ssim: ssim,
            score,
            best,
            seconds: before + started.elapsed().as_secs_f64(),
        };
        self.progress.history.push(log.clone());
        Ok(log)
    }

    pub fn checkpoint(&self) -> anyhow::Result<()> {
        let snap = state::Snapshot {
            params: self.model.store.to_host(),
            optimizer: self.optimizer.state(),
            sampler: self.sampler.state(),
        };
        let genotype = &self.model.net.genotype;
        state::save(&self.out_dir, &self.cfg, genotype, snap, &self.progress)
    }

    /// Continues from the checkpoint in the output folder.
    pub fn restore(&mut self) -> anyhow::Result<()> {
        let (snap, progress) = state::load(&self.out_dir, &self.gpu)?;
        self.model.store.load_host(&snap.params)?;
        self.optimizer.load_state(snap.optimizer)?;
        self.sampler.restore(snap.sampler);
        self.progress = progress;
        Ok(())
    }

    /// Mean PSNR and HiNAS SSIM on the held-out images (eval mode, whole images, fixed noise).
    pub fn validate(&self) -> anyhow::Result<(f64, f64)> {
        let t = &self.cfg.train;
        let report = data::evaluate(
            &self.val,
            t.sigma,
            t.seed ^ 0x7A11_DA7E,
            Protocol::Standard,
            |batch| self.model.run_any(batch, 256, 32),
        )?;
        Ok((report.mean.psnr, report.mean.ssim_hinas))
    }
}
