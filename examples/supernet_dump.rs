//! Writes a tiny supernet's parameters, two batches and its config for tools/supernet_torch.py.
//!
//!     cargo run --release --example supernet_dump -- OUT.safetensors [CONFIG.toml] [--no-cell-sharing]
//!
//! With tests/configs/micro.toml (the default) this is the input of the fixture of
//! tests/supernet.rs; with the paper budget it is the input of the PyTorch CPU benchmark.

use hinas::data::{PatchSampler, SampleMode, SamplerConfig, Source};
use hinas::gpu::Gpu;
use hinas::nn::params::ParamStore;
use hinas::nn::supernet::Supernet;
use hinas::search::config::SearchConfig;
use rand::SeedableRng;
use std::collections::HashMap;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().ok_or_else(|| {
        anyhow::anyhow!("usage: supernet_dump OUT [CONFIG] [--paper] [--no-cell-sharing]")
    })?);
    let default_cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/configs/micro.toml").to_string();
    let cfg_path = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or(default_cfg);
    let budget = if args.iter().any(|a| a == "--paper") {
        "paper"
    } else {
        "tiny"
    };
    let mut cfg = if budget == "paper" {
        SearchConfig::resolve("cvpr2020", "paper", None)?
    } else {
        SearchConfig::resolve("cvpr2020", "tiny", Some(std::path::Path::new(&cfg_path)))?
    };
    cfg.space.cell_sharing = !args.iter().any(|a| a == "--no-cell-sharing");
    let (store, batches) = build(&cfg)?;
    let mut tensors: Vec<_> = store
        .to_host()
        .into_iter()
        .map(|(n, s, d)| (format!("param/{n}"), s, d))
        .collect();
    tensors.extend(batches);
    let mut meta = HashMap::new();
    meta.insert("config".to_string(), serde_json::to_string(&cfg)?);
    meta.insert("lr".to_string(), format!("{}", cfg.search.weight_lr));
    hinas::checkpoint::save(&out, &tensors, meta)?;
    eprintln!(
        "wrote {} ({} parameters)",
        out.display(),
        store.count(hinas::nn::params::Group::Weight)
    );
    Ok(())
}

type Host = (String, Vec<usize>, Vec<f32>);

/// The supernet with seed-0 initial weights and batches A (architecture) and B (weights).
pub fn build(cfg: &SearchConfig) -> anyhow::Result<(ParamStore, Vec<Host>)> {
    let gpu = Gpu::open()?;
    let mut store = ParamStore::new(&gpu);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.search.seed);
    Supernet::new(&mut store, &mut rng, &cfg.space)?;
    let images: Vec<_> = Source::BuiltinTrain
        .load(
            &hinas::data::LoadOptions::new(hinas::data::Channels::Grey)
                .min_size(cfg.search.patch_size),
        )?
        .into_iter()
        .map(|n| n.image)
        .collect();
    let sc = SamplerConfig {
        patch: cfg.search.patch_size,
        mode: SampleMode::Random,
        prefetch: 0,
        ..SamplerConfig::new(cfg.search.batch_size, &cfg.search.sigmas)
    };
    let sampler = PatchSampler::new(images, sc, 1234)?;
    let mut out = Vec::new();
    for (k, name) in [(0u64, "batch_a"), (1, "batch_b")] {
        let b = sampler.batch_at(k);
        out.push((
            format!("{name}.noisy"),
            b.noisy.shape.to_vec(),
            b.noisy.data.clone(),
        ));
        out.push((
            format!("{name}.clean"),
            b.clean.shape.to_vec(),
            b.clean.data.clone(),
        ));
    }
    Ok((store, out))
}
