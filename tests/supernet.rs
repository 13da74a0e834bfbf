//! The whole supernet against a PyTorch re-implementation (tools/supernet_torch.py): the loss,
//! every weight gradient and the alpha/beta gradients at the same initial weights and batch,
//! then one Adam step on the architecture and one SGD step on the weights.

mod common;
use common::*;
use hinas::nn::params::{Group, ParamStore};
use hinas::nn::supernet::Supernet;
use hinas::optim::{Adam, ParamRef, Sgd};
use hinas::search::config::SearchConfig;
use hinas::search::step::{gradients, unrolled_arch_gradients, Unrolled};
use rand::SeedableRng;

#[test]
fn supernet_step_matches_pytorch() {
    let gpu = gpu();
    let fx = Fixture::load("supernet");
    let micro = common::cli::configs().join("micro.toml");
    let cfg = SearchConfig::resolve("cvpr2020", "tiny", Some(&micro)).unwrap();
    let mut store = ParamStore::new(&gpu);
    // The same initial weights as examples/supernet_dump.rs, which fed tools/supernet_torch.py.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.search.seed);
    let net = Supernet::new(&mut store, &mut rng, &cfg.space).unwrap();
    let batch = |k: &str| fx.tensor(&gpu, &format!("input/{k}"));
    let sw = cfg.search.ssim_weight as f32;
    let tol = 1e-3;

    // 1. Loss and all gradients on batch A.
    let (loss, grads) = gradients(
        &net,
        &store,
        &[Group::Weight, Group::Arch],
        &batch("batch_a.noisy"),
        &batch("batch_a.clean"),
        sw,
    );
    assert_close("loss A", &loss.to_vec(), &fx.data("loss_a"), tol);
    let mut checked = 0;
    for (i, g) in &grads {
        let name = &store.params[*i].name;
        let key = format!("grad_a/{name}");
        let want = fx.data(&key);
        // Gradients that are exactly zero in PyTorch too (e.g. the zero-initialised offset conv
        // of a deformable op before any step) are compared absolutely.
        if want.iter().all(|v| *v == 0.0) {
            assert!(
                g.to_vec().iter().all(|v| v.abs() < 1e-6),
                "{key}: expected zeros"
            );
        } else {
            assert_close(&key, &g.to_vec(), &want, tol);
        }
        checked += 1;
    }
    let n_trainable = store
        .params
        .iter()
        .filter(|p| p.group != Group::Buffer)
        .count();
    assert_eq!(
        checked, n_trainable,
        "every trainable parameter got a gradient"
    );

    // 2. Adam on alpha/beta with those gradients.
    let mut adam = Adam::new();
    let arch: Vec<ParamRef> = grads
        .iter()
        .filter(|(i, _)| store.params[*i].group == Group::Arch)
        .map(|(i, g)| ParamRef {
            slot: *i,
            param: &store.params[*i].value,
            grad: g,
            lr_scale: 1.0,
            weight_decay: cfg.search.arch_weight_decay as f32,
        })
        .collect();
    adam.step(cfg.search.arch_lr as f32, &arch);

    // 3. A weight step on batch B.
    let (loss_b, grads_b) = gradients(
        &net,
        &store,
        &[Group::Weight],
        &batch("batch_b.noisy"),
        &batch("batch_b.clean"),
        sw,
    );
    assert_close("loss B", &loss_b.to_vec(), &fx.data("loss_b"), tol);
    for (i, g) in &grads_b {
        let key = format!("grad_b/{}", store.params[*i].name);
        assert_close(&key, &g.to_vec(), &fx.data(&key), tol);
    }
    let checked_b = grads_b.len();
    let mut sgd = Sgd::new(cfg.search.weight_momentum as f32, None);
    let refs: Vec<ParamRef> = grads_b
        .iter()
        .map(|(i, g)| ParamRef {
            slot: *i,
            param: &store.params[*i].value,
            grad: g,
            lr_scale: 1.0,
            weight_decay: cfg.search.weight_decay as f32,
        })
        .collect();
    sgd.step(cfg.search.weight_lr as f32, &refs);
    // Architecture and running statistics after both steps.
    let mut checked_after = 0;
    for p in store
        .params
        .iter()
        .filter(|p| fx.has(&format!("after/{}", p.name)))
    {
        let key = format!("after/{}", p.name);
        let want = fx.data(&key);
        let got: Vec<f32> = p.value.to_vec();
        if want.iter().all(|v| v.abs() < 1e-4) {
            // A running mean of a BN fed by zero-mean data is float noise around 0 on both sides.
            let diff = got
                .iter()
                .zip(&want)
                .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
            assert!(diff < 1e-5, "{key}: abs diff {diff:e}");
        } else {
            assert_close(&key, &got, &want, tol);
        }
        checked_after += 1;
    }
    // Every fixture tensor was compared: a parameter renamed on one side only must fail here
    // rather than drop out of the comparison. The literal counts pin the fixture itself.
    let in_fixture = |prefix: &str| fx.keys().iter().filter(|k| k.starts_with(prefix)).count();
    assert_eq!(
        (checked, checked_b, checked_after),
        (
            in_fixture("grad_a/"),
            in_fixture("grad_b/"),
            in_fixture("after/")
        ),
        "compared (grad_a, grad_b, after) vs fixture tensors"
    );
    assert_eq!((checked, checked_b, checked_after), (305, 303, 348));

    // 4. The second-order architecture gradient (DARTS' unrolled step) with the momentum
    //    buffers of step 3: virtual step on batch A, validation loss on batch B, xi = weight lr.
    let before: Vec<Vec<f32>> = store.params.iter().map(|p| p.value.to_vec()).collect();
    let u = Unrolled {
        xi: cfg.search.weight_lr as f32,
        sgd: &sgd,
        weight_decay: cfg.search.weight_decay as f32,
    };
    let (loss_v, grads_2) = unrolled_arch_gradients(
        &net,
        &mut store,
        u,
        (&batch("batch_a.noisy"), &batch("batch_a.clean")),
        (&batch("batch_b.noisy"), &batch("batch_b.clean")),
        sw,
    );
    assert_close(
        "unrolled loss",
        &loss_v.to_vec(),
        &fx.data("unrolled/loss_val"),
        tol,
    );
    assert_eq!(grads_2.len(), 2, "alpha and beta");
    for (i, g) in &grads_2 {
        let key = format!("unrolled/{}", store.params[*i].name);
        assert_close(&key, &g.to_vec(), &fx.data(&key), tol);
    }
    for (p, b) in store.params.iter().zip(&before) {
        assert_eq!(
            &p.value.to_vec(),
            b,
            "{} changed by the virtual steps",
            p.name
        );
    }
}
