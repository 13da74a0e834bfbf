//! The micro models that tests build through the library (tests/configs).

use super::cli::configs;
use super::rng;
use hinas::gpu::Gpu;
use hinas::nn::cell::Edge;
use hinas::nn::genotype::Genotype;
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};
use rand::Rng;

/// The tiny training config with train_micro.toml, and the micro genotype (not yet retrained).
pub fn micro_setup() -> (TrainConfig, Genotype) {
    let cfg = TrainConfig::resolve("tiny", Some(&configs().join("train_micro.toml"))).unwrap();
    let g = Genotype::load(&configs().join("micro_genotype.json")).unwrap();
    (cfg, g)
}

/// A freshly initialised micro model (untrained: for tests where only its shape matters).
pub fn micro_model(gpu: &Gpu) -> Model {
    let (cfg, g) = micro_setup();
    Model::new(gpu, &retrain_genotype(&g, &cfg), &cfg).unwrap()
}

fn edge(op: &str, input: usize) -> Edge {
    Edge {
        op: op.into(),
        input,
    }
}

/// Three cells with every op kind between them: deformable, separable, dilated, plain and skip.
pub fn every_op_cells() -> Vec<Vec<Edge>> {
    vec![
        vec![
            edge("def_c_3x3", 0),
            edge("sep_c_3x3", 1),
            edge("dil_c_3x3", 0),
            edge("skip_connect", 2),
        ],
        vec![
            edge("con_c_3x3", 1),
            edge("sep_c_5x5", 0),
            edge("dil_c_5x5", 2),
            edge("def_c_3x3", 1),
        ],
        vec![
            edge("skip_connect", 1),
            edge("def_c_3x3", 0),
            edge("sep_c_3x3", 2),
            edge("skip_connect", 0),
        ],
    ]
}

/// Random BN statistics, affine parameters and offset predictors (zero-initialised otherwise),
/// so nothing is trivially 0/1 and deformable samples are fractional; the offset weights are
/// bounded by `offset_scale / sqrt(fan_in)`.
pub fn randomise(m: &Model, seed: u64, offset_scale: f32) {
    let mut r = rng(seed);
    for p in &m.store.params {
        let n = p.value.numel();
        let mut u =
            |lo: f32, hi: f32| -> Vec<f32> { (0..n).map(|_| r.random_range(lo..hi)).collect() };
        let data = if p.name.ends_with(".running_mean") {
            u(-0.3, 0.3)
        } else if p.name.ends_with(".running_var") {
            u(0.4, 2.0)
        } else if p.name.ends_with(".gamma") {
            u(0.5, 1.5)
        } else if p.name.ends_with(".beta_bn") {
            u(-0.2, 0.2)
        } else if p.name.contains(".offset.") {
            let fan_in = (n / p.value.shape()[0]).max(1) as f32;
            let b = offset_scale / fan_in.sqrt();
            u(-b, b)
        } else {
            continue;
        };
        p.value.write(&data);
    }
}
