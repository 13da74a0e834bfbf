//! The search procedure (docs/method.md §4): warm-up, alternating first-order architecture and weight
//! steps, validation-based genotype selection over the last epochs, checkpoints every epoch.

use super::config::SearchConfig;
use super::state::{self, EpochLog, PartialEpoch, SearchProgress};
use super::step::{arch_step, arch_step_unrolled, optimizer_step, weight_step, Unrolled};
use crate::data::{
    self, LoadOptions, NamedImage, PatchSampler, Protocol, SampleMode, SamplerConfig, Source,
};
use crate::gpu::{Gpu, Tensor};
use crate::nn::genotype::{decisions, derive_cell, mean_entropy, viterbi, Genotype};
use crate::nn::layers::Mode;
use crate::nn::params::{Group, ParamStore};
use crate::nn::supernet::Supernet;
use crate::optim::{Adam, LrSchedule, Optimizer, Sgd};
use crate::tape::Tape;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct Outcome {
    pub genotype: Genotype,
    pub out_dir: PathBuf,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub seconds: f64,
    /// From the start of the command to the first finished step (pipeline compilation included;
    /// None when this run took no step).
    pub first_step_seconds: Option<f64>,
    pub peak_bytes: u64,
    /// The run's seed, and the noisy input's validation PSNR where the genotype's was measured.
    pub seed: u64,
    pub val_psnr_noisy: Option<f64>,
    /// Where the genotype came from, for the summary: "epoch 19" or "the mean architecture
    /// weights of epochs 13-24" (empty for a random sample).
    pub chosen: String,
}

/// The training images, split into weight, architecture and validation sets (by sorted name).
pub struct Split {
    pub weights: Vec<NamedImage>,
    pub arch: Vec<NamedImage>,
    pub val: Vec<NamedImage>,
}

/// Loads and splits the data; fails before any GPU work if the data cannot support the split.
pub fn load_split(cfg: &SearchConfig, source: &Source) -> anyhow::Result<Split> {
    let channels = data::Channels::from_count(cfg.space.channels).expect("validated channel count");
    let mut images = source.load(&LoadOptions::new(channels).min_size(cfg.search.patch_size))?;
    images.sort_by(|a, b| a.name.cmp(&b.name));
    let (w, a, v) = data::hinas_split(
        images.len(),
        cfg.search.val_portion,
        cfg.search.arch_portion,
    );
    anyhow::ensure!(
        !w.is_empty() && !a.is_empty() && (cfg.search.val_portion == 0.0 || !v.is_empty()),
        "{} training images from {source} are too few for the weight/architecture/validation split (need at least 3)",
        images.len()
    );
    let crop = cfg.search.val_crop;
    let val = images[v]
        .iter()
        .map(|n| {
            let im = &n.image;
            if crop == 0 || (im.width <= crop && im.height <= crop) {
                return n.clone();
            }
            let (cw, ch) = (crop.min(im.width), crop.min(im.height));
            let image = im.crop((im.width - cw) / 2, (im.height - ch) / 2, cw, ch);
            NamedImage {
                name: n.name.clone(),
                image,
            }
        })
        .collect();
    let arch = images[a].to_vec();
    images.truncate(w.end);
    Ok(Split {
        weights: images,
        arch,
        val,
    })
}

pub struct Search {
    pub cfg: SearchConfig,
    pub out_dir: PathBuf,
    pub gpu: Gpu,
    pub store: ParamStore,
    pub net: Supernet,
    pub sgd: Sgd,
    pub adam: Adam,
    /// The weights' optimiser when `weight_optimizer = "adam"`.
    pub weight_adam: Adam,
    pub weight_sampler: PatchSampler,
    pub arch_sampler: PatchSampler,
    pub val: Vec<NamedImage>,
    pub progress: SearchProgress,
    /// When this process first read a loss back, i.e. its first step had finished on the GPU.
    pub first_step_done: Option<Instant>,
}

impl Search {
    pub fn new(
        gpu: &Gpu,
        cfg: SearchConfig,
        split: Split,
        out_dir: &Path,
    ) -> anyhow::Result<Search> {
        let sc = &cfg.search;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(sc.seed);
        let mut store = ParamStore::new(gpu);
        let net = Supernet::new(&mut store, &mut rng, &cfg.space)?;
        let mode = if sc.iters_per_epoch == 0 {
            SampleMode::Epoch
        } else {
            SampleMode::Random
        };
        let sampler_cfg = |mode| SamplerConfig {
            patch: sc.patch_size,
            batch: sc.batch_size,
            mode,
            ..SamplerConfig::new(sc.batch_size, &sc.sigmas)
        };
        let images = |v: &[NamedImage]| v.iter().map(|n| n.image.clone()).collect::<Vec<_>>();
        let weight_sampler = PatchSampler::new(
            images(&split.weights),
            sampler_cfg(mode),
            sc.seed.wrapping_mul(3).wrapping_add(1),
        )?;
        let arch_sampler = PatchSampler::new(
            images(&split.arch),
            sampler_cfg(SampleMode::Random),
            sc.seed.wrapping_mul(3).wrapping_add(2),
        )?;
        Ok(Search {
            first_step_done: None,
            sgd: Sgd::new(sc.weight_momentum as f32, None),
            adam: Adam::new(),
            weight_adam: Adam::new(),
            cfg,
            out_dir: out_dir.to_path_buf(),
            gpu: gpu.clone(),
            store,
            net,
            weight_sampler,
            arch_sampler,
            val: split.val,
            progress: SearchProgress::default(),
        })
    }

    pub fn iters_per_epoch(&self) -> usize {
        match self.cfg.search.iters_per_epoch {
            0 => self.weight_sampler.batches_per_epoch() as usize,
            n => n,
        }
    }

    fn schedule(&self) -> LrSchedule {
        let s = &self.cfg.search;
        LrSchedule::PolyCosine {
            base: s.weight_lr,
            eta_min: s.weight_lr_min,
            t_max: s.lr_t_max,
            total: s.epochs,
            power: s.lr_power,
        }
    }

    /// Runs one epoch (1-based number `self.progress.epoch + 1`); `on_iter` sees (iteration, last
    /// loss). On a stop request it returns [`crate::stop::Interrupted`] after the step in flight,
    /// with the progress in `self.progress.partial` (checkpoint it, then resume).
    pub fn run_epoch(
        &mut self,
        mut on_iter: impl FnMut(usize, Option<f64>),
    ) -> anyhow::Result<EpochLog> {
        let started = Instant::now();
        let e = self.progress.epoch; // 0-based epoch index
        let sc = self.cfg.search.clone();
        // The official scheduler gives epoch e (1-based) the value lr(e).
        let lr = self.schedule().lr(e + 1);
        let arch_lr = sc.effective_arch_lr(self.iters_per_epoch());
        let arch_on = e >= sc.arch_start_epoch;
        let ssim_w = sc.ssim_weight as f32;
        let done = self.progress.partial.take().unwrap_or_default();
        let (mut wsum, mut asum, mut n) = (done.weight_loss_sum, done.arch_loss_sum, done.steps);
        let mut pending: Option<(crate::gpu::PendingRead, Option<crate::gpu::PendingRead>)> = None;
        let xi = if sc.unrolled_lr > 0.0 {
            sc.unrolled_lr
        } else {
            lr
        };
        let mut stopped_at = None;
        for it in done.iteration..self.iters_per_epoch() {
            if crate::stop::requested() {
                stopped_at = Some(it);
                break;
            }
            // The samplers are independent streams, so drawing the weight batch first (the
            // order-2 step needs it too) changes no batch.
            let arch_batch = arch_on.then(|| self.arch_sampler.next_gpu(&self.gpu));
            let (x, y) = self.weight_sampler.next_gpu(&self.gpu);
            let arch_loss = arch_batch.map(|(xa, ya)| {
                if sc.arch_order == 2 {
                    let u = Unrolled {
                        xi: xi as f32,
                        sgd: &self.sgd,
                        weight_decay: sc.weight_decay as f32,
                    };
                    arch_step_unrolled(
                        &self.net,
                        &mut self.store,
                        &mut self.adam,
                        u,
                        arch_lr as f32,
                        sc.arch_weight_decay as f32,
                        (&x, &y),
                        (&xa, &ya),
                        ssim_w,
                    )
                } else {
                    arch_step(
                        &self.net,
                        &self.store,
                        &mut self.adam,
                        arch_lr as f32,
                        sc.arch_weight_decay as f32,
                        &xa,
                        &ya,
                        ssim_w,
                    )
                }
            });
            let wl = if sc.weight_optimizer == "adam" {
                optimizer_step(
                    &self.net,
                    &self.store,
                    Group::Weight,
                    &mut self.weight_adam,
                    lr as f32,
                    sc.weight_decay as f32,
                    &x,
                    &y,
                    ssim_w,
                )
            } else {
                weight_step(
                    &self.net,
                    &self.store,
                    &mut self.sgd,
                    lr as f32,
                    sc.weight_decay as f32,
                    &x,
                    &y,
                    ssim_w,
                )
            };
            // Read the previous step's losses only now, so the GPU is never idle waiting for us.
            let prev =
                pending.replace((wl.read_async(), arch_loss.map(|a: Tensor| a.read_async())));
            let mut last = None;
            if let Some((w, a)) = prev {
                let w = w.wait()[0] as f64;
                self.first_step_done.get_or_insert_with(Instant::now);
                wsum += w;
                asum += a.map(|a| a.wait()[0] as f64).unwrap_or(0.0);
                n += 1;
                last = Some(w);
            }
            on_iter(it, last);
        }
        if let Some((w, a)) = pending {
            wsum += w.wait()[0] as f64;
            self.first_step_done.get_or_insert_with(Instant::now);
            asum += a.map(|a| a.wait()[0] as f64).unwrap_or(0.0);
            n += 1;
        }
        if let Some(iteration) = stopped_at {
            self.progress.partial = Some(PartialEpoch {
                iteration,
                weight_loss_sum: wsum,
                arch_loss_sum: asum,
                steps: n,
                seconds: done.seconds + started.elapsed().as_secs_f64(),
            });
            return Err(crate::stop::Interrupted.into());
        }
        self.progress.epoch += 1;
        let epoch = self.progress.epoch;
        let (genotype, arch) = self.genotype()?;
        let changed = self
            .last_genotype()
            .is_none_or(|g| g.cells != genotype.cells || g.path != genotype.path);
        self.progress.unchanged = if changed {
            0
        } else {
            self.progress.unchanged + 1
        };
        let (mut val_psnr, mut val_ssim) = (None, None);
        let (mut val_psnr_noisy, mut val_ssim_noisy) = (None, None);
        if epoch >= sc.first_select_epoch() && !self.val.is_empty() {
            let (p, s) = self.validate()?;
            let (pn, sn) = self.validate_noisy()?;
            val_psnr = Some(p);
            val_ssim = Some(s);
            val_psnr_noisy = Some(pn);
            val_ssim_noisy = Some(sn);
            let score = s + p / 100.0;
            if self.progress.best.as_ref().is_none_or(|(b, _)| score > *b) {
                let mut g = genotype.clone();
                g.val_psnr = p;
                g.val_ssim = s;
                self.progress.best = Some((score, g));
            }
        }
        let log = EpochLog {
            epoch,
            weight_loss: wsum / n.max(1) as f64,
            arch_loss: arch_on.then(|| asum / n.max(1) as f64),
            lr,
            val_psnr,
            val_ssim,
            seconds: done.seconds + started.elapsed().as_secs_f64(),
            peak_mib: self.gpu.memory().peak as f64 / (1 << 20) as f64,
            genotype_changed: changed,
            val_psnr_noisy,
            val_ssim_noisy,
            ..diagnostics(&genotype, arch)
        };
        self.progress.history.push(log.clone());
        Ok(log)
    }

    fn last_genotype(&self) -> Option<Genotype> {
        self.progress
            .history
            .last()
            .map(|h| self.genotype_from(&h.arch))
    }

    /// The genotype the current alpha/beta give, and the flattened softmaxes.
    pub fn genotype(&self) -> anyhow::Result<(Genotype, Vec<f32>)> {
        let mut t = Tape::inference(&self.gpu);
        let p = self.store.bind(&mut t, None);
        let (a, b) = self.net.arch_weights(&mut t, &p);
        let mut arch = a.value().to_vec();
        arch.extend(b.value().to_vec());
        Ok((self.genotype_from(&arch), arch))
    }

    fn genotype_from(&self, arch: &[f32]) -> Genotype {
        genotype_from_arch(&self.cfg, arch, self.progress.epoch)
    }

    /// The validation scores of the noisy input itself: the same tiles with the same noise as
    /// `validate`, returned unchanged.
    pub fn validate_noisy(&self) -> anyhow::Result<(f64, f64)> {
        self.validate_with(|batch| Ok(batch.clone()))
    }

    /// Mean PSNR and HiNAS SSIM of the supernet (eval mode) on the validation images: tiles of
    /// the patch size, stride = tile, fresh noise per tile, averaged over the sigma list.
    ///
    /// The tiles of all images and sigmas go through the supernet together: a forward pass
    /// costs dispatches more than arithmetic on small tiles, so one pass over every tile costs
    /// about what one pass per image did. The protocol runs twice: once to record its batches
    /// (the noise is seeded, so both runs draw the same), once to replay the outputs.
    pub fn validate(&self) -> anyhow::Result<(f64, f64)> {
        let mut inputs = Vec::new();
        self.validate_with(|batch| {
            inputs.push(batch.clone());
            Ok(batch.clone())
        })?;
        let mut outputs = self.forward_eval(&inputs)?.into_iter();
        let mut replayed = 0;
        let scores = self.validate_with(|batch| {
            let out = outputs
                .next()
                .filter(|o| o.shape == batch.shape)
                .ok_or_else(|| anyhow::anyhow!("validation tiles changed between two passes"))?;
            replayed += 1;
            Ok(out)
        })?;
        anyhow::ensure!(
            replayed == inputs.len(),
            "validation tiles changed between two passes"
        );
        Ok(scores)
    }

    /// The eval-mode supernet on host batches, run of equal tile shapes concatenated into
    /// passes of at most `VAL_TILES_PER_PASS` tiles; outputs in the order and shapes of `inputs`.
    fn forward_eval(&self, inputs: &[data::HostBatch]) -> anyhow::Result<Vec<data::HostBatch>> {
        const VAL_TILES_PER_PASS: usize = 32;
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut start = 0;
        while start < inputs.len() {
            let item = &inputs[start].shape[1..];
            let mut end = start;
            let mut tiles = 0;
            while end < inputs.len()
                && &inputs[end].shape[1..] == item
                && (end == start || tiles + inputs[end].shape[0] <= VAL_TILES_PER_PASS)
            {
                tiles += inputs[end].shape[0];
                end += 1;
            }
            let shape = [tiles, item[0], item[1], item[2]];
            let data: Vec<f32> = inputs[start..end]
                .iter()
                .flat_map(|b| b.data.iter().copied())
                .collect();
            let mut t = Tape::inference(&self.gpu);
            let params = self.store.bind(&mut t, None);
            let x = t.constant(data::HostBatch::new(shape, data).upload(&self.gpu));
            let y = self
                .net
                .forward(&mut t, &params, &x, Mode::Eval)
                .value()
                .to_vec();
            let mut offset = 0;
            for b in &inputs[start..end] {
                let n = b.data.len();
                outputs.push(data::HostBatch::new(
                    b.shape,
                    y[offset..offset + n].to_vec(),
                ));
                offset += n;
            }
            start = end;
        }
        Ok(outputs)
    }

    fn validate_with(
        &self,
        mut denoise: impl FnMut(&data::HostBatch) -> anyhow::Result<data::HostBatch>,
    ) -> anyhow::Result<(f64, f64)> {
        let sc = &self.cfg.search;
        let protocol = Protocol::Tiled {
            tile: sc.patch_size,
            stride: sc.patch_size,
            batch: 16,
        };
        let (mut p, mut s) = (0.0, 0.0);
        for (k, &sigma) in sc.sigmas.iter().enumerate() {
            let seed = sc.seed ^ (0x5EED_0000 + 7919 * self.progress.epoch as u64 + k as u64);
            let report = data::evaluate(&self.val, sigma, seed, protocol, &mut denoise)?;
            p += report.mean.psnr;
            s += report.mean.ssim_hinas;
        }
        let n = sc.sigmas.len() as f64;
        Ok((p / n, s / n))
    }

    /// The genotype to report under `genotype_rule`: the best validation epoch's or the
    /// selection window's mean; the current one before the window (or without validation
    /// images under `best_epoch`).
    pub fn result(&self) -> anyhow::Result<Genotype> {
        if self.cfg.search.genotype_rule == "window_mean" {
            if let Some(g) = window_mean_genotype(&self.cfg, &self.progress.history) {
                return Ok(g);
            }
        }
        match &self.progress.best {
            Some((_, g)) => Ok(g.clone()),
            None => Ok(self.genotype()?.0),
        }
    }

    pub fn should_stop(&self) -> bool {
        let p = self.cfg.search.genotype_patience;
        self.progress.epoch >= self.cfg.search.epochs
            || (p > 0
                && self.progress.epoch > self.cfg.search.arch_start_epoch
                && self.progress.unchanged >= p
                && self.progress.best.is_some())
    }

    pub fn checkpoint(&self) -> anyhow::Result<()> {
        let snap = state::Snapshot {
            params: self.store.to_host(),
            sgd: self.sgd.state(),
            adam: self.adam.state(),
            weight_adam: self.weight_adam.state(),
            weight_sampler: self.weight_sampler.state(),
            arch_sampler: self.arch_sampler.state(),
        };
        state::save(&self.out_dir, &self.cfg, snap, &self.progress)
    }

    /// Continues from the checkpoint in the output folder.
    pub fn restore(&mut self) -> anyhow::Result<()> {
        let (snap, progress) = state::load(&self.out_dir, &self.gpu)?;
        self.store.load_host(&snap.params)?;
        self.sgd.load_state(snap.sgd)?;
        self.adam.load_state(snap.adam)?;
        self.weight_adam.load_state(snap.weight_adam)?;
        self.weight_sampler.restore(snap.weight_sampler);
        self.arch_sampler.restore(snap.arch_sampler);
        self.progress = progress;
        Ok(())
    }
}

/// The genotype that flattened softmax(alpha) then masked softmax(beta) (as [`EpochLog::arch`]
/// holds them) give, labelled with `epoch`.
pub fn genotype_from_arch(cfg: &SearchConfig, arch: &[f32], epoch: usize) -> Genotype {
    let sp = &cfg.space;
    let k = sp.ops.len();
    let e = crate::nn::cell::edge_count(sp.nodes);
    let sets = if sp.tied_cells { 1 } else { sp.layers };
    let (a, b) = arch.split_at(sets * e * k);
    let alphas: Vec<Vec<Vec<f32>>> = a
        .chunks(e * k)
        .map(|s| s.chunks(k).map(|r| r.to_vec()).collect())
        .collect();
    let betas: Vec<[f32; 3]> = b.chunks(3).map(|r| [r[0], r[1], r[2]]).collect();
    let cells = (0..sp.layers)
        .map(|l| {
            derive_cell(
                &a[(if sp.tied_cells { 0 } else { l }) * e * k..][..e * k],
                &sp.ops,
                sp.nodes,
            )
        })
        .collect();
    Genotype {
        space: sp.clone(),
        cells,
        path: viterbi(sp, &betas),
        alphas,
        betas,
        epoch,
        val_psnr: 0.0,
        val_ssim: 0.0,
        strategy: "darts".into(),
        arch_order: cfg.search.arch_order,
    }
}

/// The epochs of the history inside the selection window.
pub fn select_window<'a>(cfg: &SearchConfig, history: &'a [EpochLog]) -> Vec<&'a EpochLog> {
    let first = cfg.search.first_select_epoch();
    history.iter().filter(|h| h.epoch >= first).collect()
}

/// The `window_mean` rule: the genotype of the architecture weights averaged over the epochs of
/// the selection window (the last `select_fraction`), labelled with the window's last epoch and
/// the mean of its validation scores. `None` before the window has begun.
///
/// Why (NOTES.md, "Search budgets"): at the `small` budget the softmaxes swing with a period of
/// about six epochs, so the best-validation epoch picks a phase of that swing by a validation
/// difference within the noise; the mean over the window keeps what the swings share.
pub fn window_mean_genotype(cfg: &SearchConfig, history: &[EpochLog]) -> Option<Genotype> {
    let window = select_window(cfg, history);
    let last = window.last()?;
    let n = window.len() as f64;
    let mut mean = vec![0f64; last.arch.len()];
    for h in &window {
        for (m, v) in mean.iter_mut().zip(&h.arch) {
            *m += f64::from(*v) / n;
        }
    }
    let arch: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let mut g = genotype_from_arch(cfg, &arch, last.epoch);
    let scored: Vec<(f64, f64)> = window
        .iter()
        .filter_map(|h| Some((h.val_psnr?, h.val_ssim?)))
        .collect();
    if !scored.is_empty() {
        let k = scored.len() as f64;
        g.val_psnr = scored.iter().map(|s| s.0).sum::<f64>() / k;
        g.val_ssim = scored.iter().map(|s| s.1).sum::<f64>() / k;
    }
    Some(g)
}

/// The per-epoch architecture diagnostics of a genotype and its flattened softmaxes.
fn diagnostics(g: &Genotype, arch: Vec<f32>) -> EpochLog {
    let k = g.space.ops.len();
    let n_alpha: usize = g.alphas.iter().map(|a| a.len() * k).sum();
    let alpha_entropy = mean_entropy(arch[..n_alpha].chunks(k));
    let beta_entropy = mean_entropy(arch[n_alpha..].chunks(3));
    let min_margin = decisions(g)
        .iter()
        .filter(|d| d.what != "path")
        .map(|d| d.margin)
        .fold(f64::INFINITY, f64::min);
    let sets = if g.space.tied_cells { 1 } else { g.cells.len() };
    let skip_none_edges = g.cells[..sets]
        .iter()
        .flatten()
        .filter(|e| e.op == "skip_connect" || e.op == "none")
        .count();
    EpochLog {
        arch,
        alpha_entropy,
        beta_entropy,
        min_margin,
        skip_none_edges,
        ..EpochLog::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::supernet::beta_mask;

    /// An epoch whose edge 0 puts `first` on op 0 and `second` on op 1 (the rest share what is
    /// left), every other edge and router uniform.
    fn epoch(cfg: &SearchConfig, epoch: usize, first: f32, second: f32, psnr: f64) -> EpochLog {
        let k = cfg.space.ops.len();
        let edges = crate::nn::cell::edge_count(cfg.space.nodes);
        let mut arch = vec![1.0 / k as f32; edges * k];
        let rest = (1.0 - first - second) / (k - 2) as f32;
        arch[..k].fill(rest);
        arch[0] = first;
        arch[1] = second;
        for row in beta_mask(&cfg.space).chunks(3) {
            let n: f32 = row.iter().sum();
            arch.extend(row.iter().map(|m| m / n));
        }
        EpochLog {
            epoch,
            val_psnr: Some(psnr),
            val_ssim: Some(0.5),
            ..diagnostics(&genotype_from_arch(cfg, &arch, epoch), arch)
        }
    }

    #[test]
    fn window_mean_keeps_what_the_swings_share() {
        let cfg = SearchConfig::resolve("cvpr2020", "small", None).unwrap();
        let first = cfg.search.first_select_epoch();
        assert_eq!(first, 13);
        let ops = &cfg.space.ops;
        // Inside the window op 0 spikes every other epoch while op 1
        // stays second-highest throughout, so its mean is the larger.
        let history: Vec<EpochLog> = (1..=24)
            .map(|e| match e {
                e if e < first => epoch(&cfg, e, 0.05, 0.05, 15.0),
                e if e % 2 == 1 => epoch(&cfg, e, 0.35, 0.25, 21.0),
                e => epoch(&cfg, e, 0.05, 0.25, 20.0),
            })
            .collect();
        let best = history
            .iter()
            .max_by(|a, b| a.val_psnr.unwrap().total_cmp(&b.val_psnr.unwrap()))
            .unwrap();
        let single = genotype_from_arch(&cfg, &best.arch, best.epoch);
        assert_eq!(
            single.cells[0][0].op, ops[0],
            "one odd epoch alone picks the spike"
        );
        let g = window_mean_genotype(&cfg, &history).unwrap();
        assert_eq!(g.cells[0][0].op, ops[1]);
        assert_eq!(g.epoch, 24);
        assert!(
            (g.alphas[0][0][0] - 0.2).abs() < 1e-6,
            "{:?}",
            g.alphas[0][0]
        );
        assert!((g.alphas[0][0][1] - 0.25).abs() < 1e-6);
        // The mean of the window's scores (six epochs at 21 dB, six at 20 dB).
        assert!((g.val_psnr - 20.5).abs() < 1e-9, "{}", g.val_psnr);
        // Before the window there is nothing to average.
        assert!(window_mean_genotype(&cfg, &history[..first - 1]).is_none());
    }

    #[test]
    fn rule_defaults_keep_old_configs_official() {
        let cfg = SearchConfig::resolve("cvpr2020", "paper", None).unwrap();
        assert_eq!(cfg.search.genotype_rule, "best_epoch");
        for budget in ["tiny", "small"] {
            let c = SearchConfig::resolve("cvpr2020", budget, None).unwrap();
            assert_eq!(c.search.genotype_rule, "window_mean", "{budget}");
        }
        // A config written before the field existed reads as the official rule.
        let old = cfg
            .to_toml()
            .replace("genotype_rule = \"best_epoch\"\n", "");
        assert!(!old.contains("genotype_rule"));
        let back: SearchConfig = toml::from_str(&old).unwrap();
        assert_eq!(back.search.genotype_rule, "best_epoch");
        let mut bad = cfg.clone();
        bad.search.genotype_rule = "median".into();
        assert!(bad.search.validate().is_err());
    }
}
