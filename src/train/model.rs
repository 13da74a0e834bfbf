//! A trained denoiser as one self-describing safetensors file: the weights and BN statistics,
//! plus the genotype (with the retrained f, stem width and channel count) and the train config in
//! its metadata, so `eval` and `denoise` rebuild the network from the file alone.

use super::config::TrainConfig;
use crate::checkpoint::{self, HostTensor};
use crate::data::{FloatImage, HostBatch};
use crate::gpu::Gpu;
use crate::nn::derived::DerivedNet;
use crate::nn::genotype::Genotype;
use crate::nn::layers::Mode;
use crate::nn::params::{Group, ParamStore};
use crate::tape::Tape;
use anyhow::Context;
use rand::SeedableRng;
use std::collections::HashMap;
use std::path::Path;

pub const MODEL_FORMAT: &str = "hinas-model-1";

/// The genotype as the retrained net uses it: f, stem width and channels from the config.
pub fn retrain_genotype(g: &Genotype, cfg: &TrainConfig) -> Genotype {
    let mut g = g.clone();
    g.space.filter_multiplier = cfg.net.filter_multiplier;
    g.space.stem_channels = cfg.net.stem_channels;
    if cfg.net.channels != 0 {
        g.space.channels = cfg.net.channels;
    }
    g
}

/// A model file read from disk, before any GPU work.
pub struct ModelFile {
    pub genotype: Genotype,
    pub config: TrainConfig,
    pub tensors: Vec<HostTensor>,
    pub metadata: HashMap<String, String>,
}

impl ModelFile {
    pub fn read(path: &Path) -> anyhow::Result<ModelFile> {
        anyhow::ensure!(path.is_file(), "model {} does not exist", path.display());
        let (tensors, metadata) = checkpoint::load(path)?;
        let field = |k: &str| {
            metadata.get(k).map(String::as_str).ok_or_else(|| {
                anyhow::anyhow!(
                    "{} is not a hinas model (no {k} in its metadata)",
                    path.display()
                )
            })
        };
        anyhow::ensure!(
            field("format")? == MODEL_FORMAT,
            "{} is not a hinas model (format {:?})",
            path.display(),
            field("format")?
        );
        let genotype = Genotype::from_json(field("genotype")?)
            .with_context(|| format!("{}: malformed genotype", path.display()))?;
        genotype
            .validate()
            .with_context(|| format!("{}: invalid genotype", path.display()))?;
        let config: TrainConfig = toml::from_str(field("config")?)
            .map_err(|e| anyhow::anyhow!("{}: malformed train config: {e}", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: invalid train config in its metadata", path.display()))?;
        Ok(ModelFile {
            genotype,
            config,
            tensors,
            metadata,
        })
    }
}

pub struct Model {
    pub gpu: Gpu,
    pub store: ParamStore,
    pub net: DerivedNet,
    pub config: TrainConfig,
    /// Metadata of the file it came from (empty for a fresh model).
    pub metadata: HashMap<String, String>,
}

impl Model {
    /// A freshly initialised network for `genotype` (already passed through [`retrain_genotype`]).
    pub fn new(gpu: &Gpu, genotype: &Genotype, config: &TrainConfig) -> anyhow::Result<Model> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.train.seed);
        let mut store = ParamStore::new(gpu);
        let net = DerivedNet::new(
            &mut store,
            &mut rng,
            genotype,
            genotype.space.filter_multiplier,
        )?;
        Ok(Model {
            gpu: gpu.clone(),
            store,
            net,
            config: config.clone(),
            metadata: HashMap::new(),
        })
    }

    pub fn from_file(gpu: &Gpu, file: ModelFile, path: &Path) -> anyhow::Result<Model> {
        let mut m = Model::new(gpu, &file.genotype, &file.config)?;
        anyhow::ensure!(
            file.tensors.len() == m.store.params.len(),
            "{} holds {} tensors, its genotype's network has {}: the file does not match its genotype",
            path.display(),
            file.tensors.len(),
            m.store.params.len()
        );
        m.store.load_host(&file.tensors).with_context(|| {
            format!(
                "{} does not match the network of its genotype",
                path.display()
            )
        })?;
        m.metadata = file.metadata;
        Ok(m)
    }

    pub fn load(gpu: &Gpu, path: &Path) -> anyhow::Result<Model> {
        let file = ModelFile::read(path)?;
        Model::from_file(gpu, file, path)
    }

    /// Writes the model file atomically; `extra` adds metadata (e.g. the validation score).
    pub fn save(&self, path: &Path, extra: &[(&str, String)]) -> anyhow::Result<()> {
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), MODEL_FORMAT.to_string());
        meta.insert(
            "genotype".into(),
            serde_json::to_string(&self.net.genotype)?,
        );
        meta.insert("config".into(), self.config.to_toml());
        meta.insert(
            "filter_multiplier".into(),
            self.net.genotype.space.filter_multiplier.to_string(),
        );
        meta.insert("channels".into(), self.channels().to_string());
        meta.insert("sigma".into(), self.config.train.sigma.to_string());
        for (k, v) in extra {
            meta.insert(k.to_string(), v.clone());
        }
        checkpoint::save(path, &self.store.to_host(), meta)
    }

    pub fn channels(&self) -> usize {
        self.net.genotype.space.channels
    }

    /// The training noise level recorded in the model.
    pub fn sigma(&self) -> f32 {
        self.config.train.sigma
    }

    /// Trainable scalars (BN running statistics excluded).
    pub fn param_count(&self) -> usize {
        self.store.count(Group::Weight)
    }

    /// The widest activation per pixel: bounds the tile that fits one storage binding.
    fn widest(&self) -> usize {
        let sp = &self.net.genotype.space;
        let cell = sp.widths().iter().max().copied().unwrap_or(1) * sp.nodes;
        // 176: the decoder's concat; x2 margin for the im2col-free convs' temporaries.
        cell.max(176).max(sp.stem_channels) * 2
    }

    /// The largest square tile (multiple of 16, at most `want`) whose activations fit the device.
    pub fn max_tile(&self, want: usize) -> usize {
        let limit = self.gpu.max_binding_elems() as f64 / self.widest() as f64;
        let side = (limit.sqrt() as usize / 16 * 16).max(16);
        side.min(want.max(16))
    }

    /// One forward pass (eval mode) of a batch that fits the device.
    pub fn run(&self, batch: &HostBatch) -> anyhow::Result<HostBatch> {
        anyhow::ensure!(
            batch.shape[1] == self.channels(),
            "the model takes {}-channel images, got {}",
            self.channels(),
            batch.shape[1]
        );
        let mut t = Tape::inference(&self.gpu);
        let p = self.store.bind(&mut t, None);
        let x = t.constant(batch.upload(&self.gpu));
        let y = self.net.forward(&mut t, &p, &x, Mode::Eval);
        Ok(HostBatch::new(batch.shape, y.value().to_vec()))
    }

    /// Any batch: items are grouped so each call fits the device, and items larger than `tile`
    /// are denoised in overlapping tiles.
    pub fn run_any(
        &self,
        batch: &HostBatch,
        tile: usize,
        overlap: usize,
    ) -> anyhow::Result<HostBatch> {
        let [n, c, h, w] = batch.shape;
        let tile = self.max_tile(tile);
        if h > tile || w > tile {
            let mut data = Vec::with_capacity(batch.data.len());
            for i in 0..n {
                data.extend(self.denoise_tiled(&batch.item(i), tile, overlap)?.data);
            }
            return Ok(HostBatch::new(batch.shape, data));
        }
        let per = (tile * tile / (h * w)).clamp(1, n.max(1));
        let item = c * h * w;
        let mut data = Vec::with_capacity(batch.data.len());
        for start in (0..n).step_by(per) {
            let k = per.min(n - start);
            let sub = HostBatch::new(
                [k, c, h, w],
                batch.data[start * item..(start + k) * item].to_vec(),
            );
            data.extend(self.run(&sub)?.data);
        }
        Ok(HostBatch::new(batch.shape, data))
    }

    /// Denoises one image of any size: `tile`-sized tiles overlapping by `overlap` pixels,
    /// blended with linear ramps across the overlaps so no seam shows.
    pub fn denoise_tiled(
        &self,
        img: &FloatImage,
        tile: usize,
        overlap: usize,
    ) -> anyhow::Result<FloatImage> {
        let (w, h, c) = (img.width, img.height, img.channels);
        let tile = self.max_tile(tile);
        if w <= tile && h <= tile {
            return Ok(self.run(&HostBatch::from_image(img))?.item(0));
        }
        let (tw, th) = (tile.min(w), tile.min(h));
        let overlap = overlap.min(tile / 2);
        let stride = tile - overlap;
        let xs = crate::data::tile_starts(w, tw, stride);
        let ys = crate::data::tile_starts(h, th, stride);
        let ramp = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|q| {
                    let d = q.min(len - 1 - q) as f32 + 0.5;
                    (d / overlap.max(1) as f32).min(1.0)
                })
                .collect()
        };
        let (rx, ry) = (ramp(tw), ramp(th));
        let mut sum = vec![0.0f32; w * h * c];
        let mut wsum = vec![0.0f32; w * h];
        for &y0 in &ys {
            for &x0 in &xs {
                let mut t = Vec::with_capacity(c * tw * th);
                for ch in 0..c {
                    for r in 0..th {
                        let row = (ch * h + y0 + r) * w + x0;
                        t.extend_from_slice(&img.data[row..row + tw]);
                    }
                }
                let out = self.run(&HostBatch::new([1, c, th, tw], t))?;
                for r in 0..th {
                    for q in 0..tw {
                        let wt = rx[q] * ry[r];
                        wsum[(y0 + r) * w + x0 + q] += wt;
                        for ch in 0..c {
                            sum[(ch * h + y0 + r) * w + x0 + q] +=
                                wt * out.data[(ch * th + r) * tw + q];
                        }
                    }
                }
            }
        }
        let data = sum
            .iter()
            .enumerate()
            .map(|(i, s)| s / wsum[i % (w * h)])
            .collect();
        Ok(FloatImage::new(w, h, c, data))
    }
}
