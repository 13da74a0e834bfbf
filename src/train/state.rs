//! The training checkpoint: parameters and BN statistics, the optimiser state, the sampler position,
//! the interval history and the best score, in one safetensors file written atomically after
//! every validation, and after the step in flight when a stop is requested. Restoring it and continuing gives the same result as an uninterrupted run.

use super::config::TrainConfig;
use super::run::{IntervalLog, Trainer};
use crate::checkpoint::{self, meta_field, HostTensor};
use crate::gpu::Tensor;
use crate::nn::genotype::Genotype;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT: &str = "hinas-train-checkpoint-1";

pub fn path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

pub fn exists(dir: &Path) -> bool {
    path(dir).is_file()
}

pub fn save(s: &Trainer) -> anyhow::Result<()> {
    let mut tensors: Vec<HostTensor> = s
        .model
        .store
        .to_host()
        .into_iter()
        .map(|(n, sh, d)| (format!("param/{n}"), sh, d))
        .collect();
    let state = s.optimizer.state();
    let pending: Vec<_> = state.iter().map(|(_, t)| t.read_async()).collect();
    for ((n, t), r) in state.iter().zip(pending) {
        tensors.push((format!("optim/{n}"), t.shape().to_vec(), r.wait()));
    }
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("config".into(), s.cfg.to_toml());
    meta.insert(
        "genotype".into(),
        serde_json::to_string(&s.model.net.genotype)?,
    );
    meta.insert("iteration".into(), s.iteration.to_string());
    meta.insert("history".into(), serde_json::to_string(&s.history)?);
    meta.insert("best".into(), serde_json::to_string(&s.best)?);
    meta.insert("sampler".into(), serde_json::to_string(&s.sampler.state())?);
    meta.insert("partial".into(), serde_json::to_string(&s.partial)?);
    checkpoint::save(&path(&s.out_dir), &tensors, meta)
}

fn read(dir: &Path) -> anyhow::Result<(Vec<HostTensor>, HashMap<String, String>)> {
    checkpoint::load_checkpoint(&path(dir), FORMAT, "training")
}

/// The config and (retrained) genotype a saved run used; a resumed run keeps both.
pub fn saved_setup(dir: &Path) -> anyhow::Result<(TrainConfig, Genotype)> {
    let (_, m) = read(dir)?;
    let cfg: TrainConfig = toml::from_str(meta_field(&m, "config")?)
        .map_err(|e| anyhow::anyhow!("checkpoint config: {e}"))?;
    cfg.validate()?;
    let g: Genotype = serde_json::from_str(meta_field(&m, "genotype")?)?;
    Ok((cfg, g))
}

pub fn load(s: &mut Trainer) -> anyhow::Result<()> {
    let (tensors, m) = read(&s.out_dir)?;
    let gpu = s.gpu.clone();
    let mut params = Vec::new();
    let mut optim = Vec::new();
    for (name, shape, data) in tensors {
        if let Some(n) = name.strip_prefix("param/") {
            params.push((n.to_string(), shape, data));
        } else if let Some(n) = name.strip_prefix("optim/") {
            optim.push((n.to_string(), Tensor::from_slice(&gpu, &shape, &data)));
        }
    }
    s.model.store.load_host(&params)?;
    s.optimizer.load_state(optim)?;
    s.iteration = meta_field(&m, "iteration")?.parse()?;
    s.history = serde_json::from_str::<Vec<IntervalLog>>(meta_field(&m, "history")?)?;
    s.best = serde_json::from_str::<Option<(f64, usize)>>(meta_field(&m, "best")?)?;
    s.sampler
        .restore(serde_json::from_str(meta_field(&m, "sampler")?)?);
    s.partial = match m.get("partial") {
        Some(p) => serde_json::from_str(p)?,
        None => None,
    };
    Ok(())
}
