//! The derived (retrained) network against a PyTorch re-implementation (tools/derived_torch.py):
//! the loss and every weight gradient at the same initial weights and batch, PyTorch in f64.
//!
//! Fixture: `cargo run --release --example train_step -- tests/configs/micro_genotype.json
//! --config tests/configs/train_micro.toml --iters 0 --dump IN` (the weights `Model::new` draws
//! from the config's seed, two batches), then `tools/derived_torch.py fixture IN
//! tests/fixtures/derived.safetensors`.

mod common;
use common::*;
use hinas::nn::genotype::Genotype;
use hinas::nn::layers::Mode;
use hinas::nn::loss::denoise_loss;
use hinas::nn::params::Group;
use hinas::tape::Tape;
use hinas::train::config::TrainConfig;
use hinas::train::model::{retrain_genotype, Model};

/// |got - want| / |want|, norm-wise: a network of BatchNorms sends some gradients through sums
/// that cancel, where f32 (PyTorch's own included) keeps few digits of single elements.
fn norm_rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "length mismatch");
    let diff: f64 = got
        .iter()
        .zip(want)
        .map(|(g, w)| (*g as f64 - w).powi(2))
        .sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    assert!(norm > 0.0, "the reference gradient is all zeros");
    (diff / norm).sqrt()
}

#[test]
fn derived_net_gradients_match_pytorch() {
    let gpu = gpu();
    let fx = Fixture::load("derived");
    let configs = common::cli::configs();
    let cfg = TrainConfig::resolve("tiny", Some(&configs.join("train_micro.toml"))).unwrap();
    let genotype = Genotype::load(&configs.join("micro_genotype.json")).unwrap();
    let model = Model::new(&gpu, &retrain_genotype(&genotype, &cfg), &cfg).unwrap();
    let mut tape = Tape::new(&gpu);
    let p = model.store.bind(&mut tape, Some(Group::Weight));
    let x = tape.constant(fx.tensor(&gpu, "input/batch_a.noisy"));
    let y = tape.constant(fx.tensor(&gpu, "input/batch_a.clean"));
    let out = model.net.forward(&mut tape, &p, &x, Mode::Train);
    let loss = denoise_loss(&mut tape, &out, &y, cfg.train.ssim_weight as f32);
    assert_close("loss", &loss.value().to_vec(), &fx.data("loss_a"), 1e-5);
    let mut grads = tape.backward(&loss);
    let mut checked = 0;
    for (param, var) in model.store.params.iter().zip(&p.vars) {
        if param.group != Group::Weight {
            continue;
        }
        let key = format!("grad_a/{}", param.name);
        let got = grads
            .take(var)
            .unwrap_or_else(|| panic!("no gradient for {}", param.name));
        let e = norm_rel_err(&got.to_vec(), &fx.data(&key));
        assert!(
            e < TOL,
            "{key}: norm-wise relative error {e:.2e} >= {TOL:.0e}"
        );
        checked += 1;
    }
    let in_fixture = fx
        .keys()
        .iter()
        .filter(|k| k.starts_with("grad_a/"))
        .count();
    assert_eq!(
        checked, in_fixture,
        "every gradient of the fixture compared"
    );
}

const TOL: f64 = 1e-2;
