//! One optimisation step of the supernet (shared by search and its tests and benchmarks).

use crate::gpu::Tensor;
use crate::nn::layers::Mode;
use crate::nn::params::{Group, ParamStore};
use crate::nn::supernet::Supernet;
use crate::ops::{elementwise as ew, mse, ssim};
use crate::optim::{Adam, Optimizer, ParamRef, Sgd};
use crate::tape::{Tape, Var};

/// (MSE + w * -log10 SSIM) / 2, the HiNAS loss (docs/method.md §4; retraining uses w = 0.6).
pub fn denoise_loss(t: &mut Tape, out: &Var, clean: &Var, ssim_weight: f32) -> Var {
    let m = mse::mse(t, out, clean);
    let s = ssim::neg_log10_ssim(t, out, clean);
    let s = ew::scale(t, &s, ssim_weight);
    let sum = ew::add(t, &m, &s);
    ew::scale(t, &sum, 0.5)
}

/// Forward + backward with only `groups` trainable; returns the loss and the gradients by param.
pub fn gradients(
    net: &Supernet,
    store: &ParamStore,
    groups: &[Group],
    noisy: &Tensor,
    clean: &Tensor,
    ssim_weight: f32,
) -> (Tensor, Vec<(usize, Tensor)>) {
    let mut t = Tape::new(store.gpu());
    let p = store.bind_groups(&mut t, groups);
    let x = t.constant(noisy.clone());
    let y = t.constant(clean.clone());
    let out = net.forward(&mut t, &p, &x, Mode::Train);
    let loss = denoise_loss(&mut t, &out, &y, ssim_weight);
    let loss_value = loss.value().clone();
    let mut grads = t.backward(&loss);
    let mut out = Vec::new();
    for (i, v) in p.vars.iter().enumerate() {
        if let Some(g) = grads.take(v) {
            out.push((i, g));
        }
    }
    (loss_value, out)
}

/// One optimiser step on the parameters of `group` (SGD on the weights, Adam on alpha/beta);
/// returns the loss tensor (read it asynchronously).
#[allow(clippy::too_many_arguments)]
pub fn optimizer_step(
    net: &Supernet,
    store: &ParamStore,
    group: Group,
    opt: &mut impl Optimizer,
    lr: f32,
    weight_decay: f32,
    noisy: &Tensor,
    clean: &Tensor,
    ssim_weight: f32,
) -> Tensor {
    let (loss, grads) = gradients(net, store, &[group], noisy, clean, ssim_weight);
    let refs: Vec<ParamRef> = grads
        .iter()
        .map(|(i, g)| ParamRef {
            slot: *i,
            param: &store.params[*i].value,
            grad: g,
            lr_scale: 1.0,
            weight_decay,
        })
        .collect();
    opt.step(lr, &refs);
    loss
}

/// One SGD step on the weights.
#[allow(clippy::too_many_arguments)]
pub fn weight_step(
    net: &Supernet,
    store: &ParamStore,
    sgd: &mut Sgd,
    lr: f32,
    wd: f32,
    noisy: &Tensor,
    clean: &Tensor,
    ssim_weight: f32,
) -> Tensor {
    optimizer_step(
        net,
        store,
        Group::Weight,
        sgd,
        lr,
        wd,
        noisy,
        clean,
        ssim_weight,
    )
}

/// One Adam step on alpha and beta.
#[allow(clippy::too_many_arguments)]
pub fn arch_step(
    net: &Supernet,
    store: &ParamStore,
    adam: &mut Adam,
    lr: f32,
    wd: f32,
    noisy: &Tensor,
    clean: &Tensor,
    ssim_weight: f32,
) -> Tensor {
    optimizer_step(
        net,
        store,
        Group::Arch,
        adam,
        lr,
        wd,
        noisy,
        clean,
        ssim_weight,
    )
}
