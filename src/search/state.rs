//! The search checkpoint: every parameter and running statistic, both optimisers' states, the
//! samplers' positions, the epoch history and the best genotype so far, in one safetensors file
//! written atomically after every epoch, and after the step in flight when a stop is requested
//! (with the interrupted epoch's progress). Restoring it and continuing gives bit-identical results
//! to a run that was never interrupted (all kernels are deterministic).

use super::config::SearchConfig;
use super::run::{EpochLog, Search};
use crate::checkpoint::{self, meta_field, HostTensor};
use crate::gpu::Tensor;
use crate::nn::genotype::Genotype;
use crate::optim::Optimizer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "hinas-search-checkpoint-1";

pub fn path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

pub fn exists(dir: &Path) -> bool {
    path(dir).is_file()
}

fn host(prefix: &str, tensors: Vec<(String, Tensor)>) -> Vec<HostTensor> {
    let pending: Vec<_> = tensors.iter().map(|(_, t)| t.read_async()).collect();
    tensors
        .into_iter()
        .zip(pending)
        .map(|((n, t), r)| (format!("{prefix}{n}"), t.shape().to_vec(), r.wait()))
        .collect()
}

pub fn save(s: &Search) -> anyhow::Result<()> {
    let mut tensors: Vec<HostTensor> = s
        .store
        .to_host()
        .into_iter()
        .map(|(n, sh, d)| (format!("param/{n}"), sh, d))
        .collect();
    tensors.extend(host("sgd/", s.sgd.state()));
    tensors.extend(host("adam/", s.adam.state()));
    tensors.extend(host("wadam/", s.weight_adam.state()));
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("config".into(), s.cfg.to_toml());
    meta.insert("epoch".into(), s.epoch.to_string());
    meta.insert("unchanged".into(), s.unchanged.to_string());
    meta.insert("history".into(), serde_json::to_string(&s.history)?);
    meta.insert("best".into(), serde_json::to_string(&s.best)?);
    meta.insert(
        "weight_sampler".into(),
        serde_json::to_string(&s.weight_sampler.state())?,
    );
    meta.insert(
        "arch_sampler".into(),
        serde_json::to_string(&s.arch_sampler.state())?,
    );
    meta.insert("partial".into(), serde_json::to_string(&s.partial)?);
    checkpoint::save(&path(&s.out_dir), &tensors, meta)
}

fn read(dir: &Path) -> anyhow::Result<(Vec<HostTensor>, HashMap<String, String>)> {
    checkpoint::load_checkpoint(&path(dir), FORMAT, "search")
}

/// The config a saved search ran with (a resumed search keeps it).
pub fn saved_config(dir: &Path) -> anyhow::Result<SearchConfig> {
    let (_, m) = read(dir)?;
    let cfg: SearchConfig = toml::from_str(meta_field(&m, "config")?)
        .map_err(|e| anyhow::anyhow!("checkpoint config: {e}"))?;
    cfg.validate()?;
    Ok(cfg)
}

pub fn load(s: &mut Search) -> anyhow::Result<()> {
    let (tensors, m) = read(&s.out_dir)?;
    let gpu = s.gpu.clone();
    let mut params = Vec::new();
    let (mut sgd, mut adam, mut wadam) = (Vec::new(), Vec::new(), Vec::new());
    for (name, shape, data) in tensors {
        if let Some(n) = name.strip_prefix("param/") {
            params.push((n.to_string(), shape, data));
        } else if let Some(n) = name.strip_prefix("sgd/") {
            sgd.push((n.to_string(), Tensor::from_slice(&gpu, &shape, &data)));
        } else if let Some(n) = name.strip_prefix("adam/") {
            adam.push((n.to_string(), Tensor::from_slice(&gpu, &shape, &data)));
        } else if let Some(n) = name.strip_prefix("wadam/") {
            wadam.push((n.to_string(), Tensor::from_slice(&gpu, &shape, &data)));
        }
    }
    s.store.load_host(&params)?;
    s.sgd.load_state(sgd)?;
    s.adam.load_state(adam)?;
    s.weight_adam.load_state(wadam)?;
    s.epoch = meta_field(&m, "epoch")?.parse()?;
    s.unchanged = meta_field(&m, "unchanged")?.parse()?;
    s.history = serde_json::from_str::<Vec<EpochLog>>(meta_field(&m, "history")?)?;
    s.best = serde_json::from_str::<Option<(f64, Genotype)>>(meta_field(&m, "best")?)?;
    s.weight_sampler
        .restore(serde_json::from_str(meta_field(&m, "weight_sampler")?)?);
    s.arch_sampler
        .restore(serde_json::from_str(meta_field(&m, "arch_sampler")?)?);
    s.partial = match m.get("partial") {
        Some(p) => serde_json::from_str(p)?,
        None => None,
    };
    Ok(())
}
