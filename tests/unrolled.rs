//! Second-order DARTS: the vector kernels of the virtual step against an f64 CPU reference. The
//! architecture gradient itself is compared with a PyTorch implementation of the same unrolled
//! step in tests/supernet.rs, and with central differences of the unrolled objective
//! J(alpha) = L_val(w - xi grad_w L_train(w, alpha), alpha) below, on a supernet made smooth
//! (identity activations, no deformable op): on the real one grad_w L_train jumps wherever a
//! ReLU or a deformable sampling position crosses a kink, so J is only piecewise smooth and its
//! differences do not converge (NOTES.md has the measurement).

mod common;
use common::*;
use hinas::gpu::Tensor;
use hinas::optim::unrolled::{add_scaled_by_norm, sum_squares, virtual_sgd, ByNorm};

#[test]
fn vector_kernels_match_cpu() {
    let gpu = gpu();
    let mut r = rng(11);
    for n in [1usize, 255, 256, 1000, 70_001] {
        let (w, wh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (g, gh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (m, mh) = upload(&gpu, &[n], &uniform(&mut r, n, -1.0, 1.0));
        let (xi, mu, wd) = (0.3f32, 0.9f32, 0.01f32);
        let (xi64, mu64, wd64) = (xi as f64, mu as f64, wd as f64);
        let want: Vec<f64> = (0..n)
            .map(|i| wh[i] - xi64 * (mu64 * mh[i] + gh[i] + wd64 * wh[i]))
            .collect();
        assert_close(
            "virtual_sgd",
            &virtual_sgd(&w, &g, Some(&m), xi, mu, wd).to_vec(),
            &want,
            1e-5,
        );
        let want: Vec<f64> = (0..n)
            .map(|i| wh[i] - xi64 * (gh[i] + wd64 * wh[i]))
            .collect();
        assert_close(
            "virtual_sgd without momentum",
            &virtual_sgd(&w, &g, None, xi, mu, wd).to_vec(),
            &want,
            1e-5,
        );

        let norm2: f64 = [&wh, &gh, &mh]
            .iter()
            .flat_map(|v| v.iter())
            .map(|x| x * x)
            .sum();
        let got = sum_squares(&[&w, &g, &m]);
        assert_close("sum_squares", &got.to_vec(), &[norm2], 1e-5);
        let r2 = norm2.sqrt();
        for (by, f) in [(ByNorm::Times, -0.7 * r2), (ByNorm::Over, -0.7 / r2)] {
            let want: Vec<f64> = (0..n).map(|i| wh[i] + f * gh[i]).collect();
            let out = add_scaled_by_norm(&w, &g, &got, -0.7, by);
            assert_close(
                &format!("add_scaled_by_norm {by:?}"),
                &out.to_vec(),
                &want,
                1e-5,
            );
        }
    }
    let zero = Tensor::zeros(&gpu, &[1]);
    let (a, ah) = upload(&gpu, &[5], &uniform(&mut r, 5, -1.0, 1.0));
    let out = add_scaled_by_norm(&a, &a, &zero, 1.0, ByNorm::Over).to_vec();
    assert_close("zero norm adds nothing", &out, &ah, 1e-7);
}

/// The unrolled architecture gradient against central differences of the objective it
/// approximates, J(a) = L_val(w'(a), a) with w'(a) = w - xi (mu m + grad_w L_train(w, a) + wd w),
/// on a supernet made smooth so that J is differentiable: every activation the identity
/// (`leaky_slope = 1`) and no deformable op (bilinear sampling has kinks at integer positions).
/// What is left (convs, BatchNorm in train mode, the softmax mixing, upsampling at fixed
/// positions, the sigmoid head, MSE + SSIM) is smooth. xi is large (0.5) so that the Hessian
/// term is a sizeable part of the gradient: the first-order gradient at w' misses the
/// differences by 4-120 %, the unrolled one agrees within 0.3 % (the finite-difference
/// Hessian-vector product's own error; the differences move by 1e-4 from h = 1e-2 to 3e-3).
#[test]
fn unrolled_gradient_matches_central_differences_of_its_objective() {
    use hinas::nn::params::{Group, ParamStore};
    use hinas::nn::supernet::Supernet;
    use hinas::optim::{ParamRef, Sgd};
    use hinas::search::config::SearchConfig;
    use hinas::search::step::{gradients, unrolled_arch_gradients, Unrolled};
    use rand::SeedableRng;
    use std::collections::HashMap;

    let gpu = gpu();
    let micro = common::cli::configs().join("micro.toml");
    let mut cfg = SearchConfig::resolve("cvpr2020", "tiny", Some(&micro)).unwrap();
    cfg.space.ops = [
        "con_c_3x3",
        "sep_c_3x3",
        "dil_c_3x3",
        "skip_connect",
        "none",
    ]
    .map(String::from)
    .to_vec();
    cfg.space.leaky_slope = 1.0;
    let mut store = ParamStore::new(&gpu);
    let mut seed = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let net = Supernet::new(&mut store, &mut seed, &cfg.space).unwrap();
    let mut r = rng(12);
    // Random clean patches in [0.1, 0.9] and noisy versions, [2, 1, 16, 16] each.
    let mut batch = || {
        let clean = uniform(&mut r, 512, 0.1, 0.9);
        let noise = uniform(&mut r, 512, -0.35, 0.35);
        let noisy: Vec<f64> = clean.iter().zip(&noise).map(|(c, n)| c + n).collect();
        (
            upload(&gpu, &[2, 1, 16, 16], &noisy).0,
            upload(&gpu, &[2, 1, 16, 16], &clean).0,
        )
    };
    let (train, val) = (batch(), batch());
    let sw = cfg.search.ssim_weight as f32;
    // Random architecture logits rather than the uniform start, and one SGD step so that the
    // virtual step has momentum buffers.
    let arch: Vec<usize> = store.ids(Group::Arch).map(|id| id.0).collect();
    for &i in &arch {
        let n = store.params[i].value.numel();
        store.params[i]
            .value
            .write(&to_f32(&uniform(&mut r, n, -0.5, 0.5)));
    }
    let (mu, wd, xi) = (0.9f32, 3e-4f32, 0.5f32);
    let mut sgd = Sgd::new(mu, None);
    let (_, g) = gradients(&net, &store, &[Group::Weight], &train.0, &train.1, sw);
    let refs: Vec<ParamRef> = g
        .iter()
        .map(|(i, g)| ParamRef::new(*i, &store.params[*i].value, g).weight_decay(wd))
        .collect();
    sgd.step(0.05, &refs);

    let u = Unrolled {
        xi,
        sgd: &sgd,
        weight_decay: wd,
    };
    let (_, unrolled) = unrolled_arch_gradients(
        &net,
        &mut store,
        u,
        (&train.0, &train.1),
        (&val.0, &val.1),
        sw,
    );
    let unrolled: HashMap<usize, Vec<f32>> =
        unrolled.into_iter().map(|(i, g)| (i, g.to_vec())).collect();

    // J at the store's logits, and the first-order gradient grad_a L_val(w', a) beside it.
    let objective = |store: &mut ParamStore| -> (f64, HashMap<usize, Vec<f32>>) {
        let original: Vec<hinas::gpu::Tensor> =
            store.params.iter().map(|p| p.value.deep_clone()).collect();
        let (_, g) = gradients(&net, store, &[Group::Weight], &train.0, &train.1, sw);
        for (i, g) in g {
            let m = sgd.momentum_buffer(i);
            store.params[i].value = virtual_sgd(&original[i], &g, m, xi, mu, wd);
        }
        let (loss, g_val) = gradients(&net, store, &[Group::Arch], &val.0, &val.1, sw);
        for (p, o) in store.params.iter_mut().zip(original) {
            p.value = o;
        }
        let g_val = g_val.into_iter().map(|(i, g)| (i, g.to_vec())).collect();
        (loss.to_vec()[0] as f64, g_val)
    };
    let (_, first_order) = objective(&mut store);
    let h = 1e-2f32;
    let (mut worst_unrolled, mut worst_first) = (0.0f64, 0.0f64);
    for &i in &arch {
        let g = &unrolled[&i];
        let logits = store.params[i].value.to_vec();
        // The three logits with the largest unrolled gradient (beta's masked ones have none).
        let mut order: Vec<usize> = (0..g.len()).collect();
        order.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
        for &j in order.iter().take(3) {
            let mut at = |d: f32| {
                let mut v = logits.clone();
                v[j] += d;
                store.params[i].value.write(&v);
                let (value, _) = objective(&mut store);
                store.params[i].value.write(&logits);
                value
            };
            let fd = (at(h) - at(-h)) / (2.0 * h as f64);
            assert!(
                fd.abs() > 1e-3,
                "{}[{j}]: differences {fd:e} too small to compare",
                store.params[i].name
            );
            let err = |g: f32| (g as f64 - fd).abs() / fd.abs();
            let (eu, ef) = (err(g[j]), err(first_order[&i][j]));
            eprintln!(
                "{}[{j}]: differences {fd:.6e}, unrolled {:.6e} (rel err {eu:.1e}), first-order {:.6e} (rel err {ef:.1e})",
                store.params[i].name, g[j], first_order[&i][j]
            );
            worst_unrolled = worst_unrolled.max(eu);
            worst_first = worst_first.max(ef);
        }
    }
    assert!(
        worst_unrolled < 1e-2,
        "unrolled gradient vs central differences of J: rel err {worst_unrolled:e}"
    );
    assert!(
        worst_first > 0.1,
        "the Hessian term is too small for this check to see it (first-order rel err {worst_first:e})"
    );
}
