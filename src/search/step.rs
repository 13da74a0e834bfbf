//! One optimisation step of the supernet (shared by search and its tests and benchmarks).

use crate::gpu::Tensor;
use crate::nn::layers::Mode;
use crate::nn::loss::denoise_loss;
use crate::nn::params::{Group, ParamStore};
use crate::nn::supernet::Supernet;
use crate::optim::{Adam, Optimizer, ParamRef, Sgd};
use crate::tape::Tape;

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

/// The settings of DARTS' virtual step (second-order architecture gradient).
#[derive(Clone, Copy)]
pub struct Unrolled<'a> {
    /// Inner learning rate xi of the virtual step.
    pub xi: f32,
    /// The weight optimiser (its momentum buffers enter the virtual step, as in DARTS).
    pub sgd: &'a Sgd,
    pub weight_decay: f32,
}

/// Finite-difference radius of DARTS' Hessian-vector product: eps = R / |dL_val/dw'|.
const HVP_RADIUS: f32 = 0.01;

/// The second-order DARTS architecture gradient (Liu et al. 2019, eqs. 6-8, as quark0/darts
/// `architect.py`): with w' = w - xi (mu m + grad_w L_train(w) + wd w),
/// grad_alpha L_val(w', alpha) - xi [grad_alpha L_train(w+) - grad_alpha L_train(w-)] / (2 eps),
/// w+- = w +- eps grad_w' L_val(w'), eps = 0.01 / |grad_w' L_val(w')|. Returns the validation
/// loss at w' and the gradients by parameter index (alpha, beta).
///
/// The virtual steps leave no trace: weights and BatchNorm running statistics are exactly as
/// before (DARTS lets the two Hessian-vector forwards update the running statistics).
pub fn unrolled_arch_gradients(
    net: &Supernet,
    store: &mut ParamStore,
    u: Unrolled,
    train: (&Tensor, &Tensor),
    val: (&Tensor, &Tensor),
    ssim_weight: f32,
) -> (Tensor, Vec<(usize, Tensor)>) {
    use crate::optim::unrolled::{add_scaled_by_norm, sum_squares, virtual_sgd, ByNorm};
    let original: Vec<Tensor> = store.params.iter().map(|p| p.value.clone()).collect();
    let weights: Vec<usize> = store.ids(Group::Weight).map(|id| id.0).collect();
    // BatchNorm layers update their running statistics in place: keep copies to put back.
    let statistics: Vec<(usize, Tensor)> = store
        .ids(Group::Buffer)
        .map(|id| (id.0, original[id.0].deep_clone()))
        .collect();
    let set_weights = |store: &mut ParamStore, values: Vec<(usize, Tensor)>| {
        for (i, v) in values {
            store.params[i].value = v;
        }
    };

    // w' from the training loss's gradient at w.
    let (_, g_train) = gradients(net, store, &[Group::Weight], train.0, train.1, ssim_weight);
    let mut g_train: std::collections::HashMap<usize, Tensor> = g_train.into_iter().collect();
    let unrolled: Vec<(usize, Tensor)> = weights
        .iter()
        .map(|&i| {
            let w = &original[i];
            let g = g_train
                .remove(&i)
                .unwrap_or_else(|| Tensor::zeros(w.gpu(), w.shape()));
            let m = u.sgd.momentum_buffer(i);
            (
                i,
                virtual_sgd(w, &g, m, u.xi, u.sgd.momentum, u.weight_decay),
            )
        })
        .collect();
    set_weights(store, unrolled);

    // The validation loss at w': its architecture gradient and the direction v = dL_val/dw'.
    let (loss, g_val) = gradients(
        net,
        store,
        &[Group::Weight, Group::Arch],
        val.0,
        val.1,
        ssim_weight,
    );
    let (mut d_arch, mut v) = (Vec::new(), std::collections::HashMap::new());
    for (i, g) in g_val {
        match store.params[i].group {
            Group::Arch => d_arch.push((i, g)),
            _ => {
                v.insert(i, g);
            }
        }
    }
    let v: Vec<(usize, Tensor)> = weights
        .iter()
        .map(|&i| {
            let g = v
                .remove(&i)
                .unwrap_or_else(|| Tensor::zeros(original[i].gpu(), original[i].shape()));
            (i, g)
        })
        .collect();
    let norm2 = sum_squares(&v.iter().map(|(_, g)| g).collect::<Vec<_>>());

    // The Hessian-vector product by central differences around w.
    let arch_grad_at = |store: &mut ParamStore, sign: f32| {
        let moved = v
            .iter()
            .map(|(i, g)| {
                let w =
                    add_scaled_by_norm(&original[*i], g, &norm2, sign * HVP_RADIUS, ByNorm::Over);
                (*i, w)
            })
            .collect();
        set_weights(store, moved);
        let (_, g) = gradients(net, store, &[Group::Arch], train.0, train.1, ssim_weight);
        g.into_iter()
            .collect::<std::collections::HashMap<usize, Tensor>>()
    };
    let g_plus = arch_grad_at(store, 1.0);
    let g_minus = arch_grad_at(store, -1.0);
    for (i, p) in store.params.iter_mut().enumerate() {
        p.value = original[i].clone();
    }
    for (i, saved) in &statistics {
        original[*i].copy_from(saved);
    }
    // d_arch - xi (g+ - g-) / (2 eps) = d_arch - xi |v| / (2 R) (g+ - g-).
    let grads = d_arch
        .into_iter()
        .map(|(i, d)| {
            let diff = crate::ops::elementwise::sub_raw(&g_plus[&i], &g_minus[&i]);
            let scale = -u.xi / (2.0 * HVP_RADIUS);
            (
                i,
                add_scaled_by_norm(&d, &diff, &norm2, scale, ByNorm::Times),
            )
        })
        .collect();
    (loss, grads)
}

/// One Adam step on alpha and beta with the second-order gradient; returns the validation loss
/// at the virtual weights.
#[allow(clippy::too_many_arguments)]
pub fn arch_step_unrolled(
    net: &Supernet,
    store: &mut ParamStore,
    adam: &mut Adam,
    u: Unrolled,
    lr: f32,
    wd: f32,
    train: (&Tensor, &Tensor),
    val: (&Tensor, &Tensor),
    ssim_weight: f32,
) -> Tensor {
    let (loss, grads) = unrolled_arch_gradients(net, store, u, train, val, ssim_weight);
    let refs: Vec<ParamRef> = grads
        .iter()
        .map(|(i, g)| ParamRef {
            slot: *i,
            param: &store.params[*i].value,
            grad: g,
            lr_scale: 1.0,
            weight_decay: wd,
        })
        .collect();
    adam.step(lr, &refs);
    loss
}
