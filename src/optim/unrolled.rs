//! Vector kernels of the second-order DARTS architecture gradient (Liu et al., ICLR 2019,
//! eqs. 6-8; search/step.rs composes them): the virtual SGD step w' = w - xi (mu m + g + wd w),
//! the squared norm of a list of tensors, and `a + s * |v|^(+-1) * b` with the norm kept on the
//! GPU, so the finite-difference step eps = 0.01 / |v| needs no readback (shaders/unrolled.wgsl).

use crate::gpu::{Kernel, Tensor};

pub(crate) const K: Kernel = crate::kernel!("unrolled");

crate::uniform! {
    #[derive(Default)]
    struct Params {
        n: u32,
        has_momentum: u32,
        multiply: u32,
        _pad0: u32,
        xi: f32,
        momentum: f32,
        weight_decay: f32,
        scale: f32,
    }
}

fn launch(entry: &'static str, p: Params, a: &Tensor, b: &Tensor, c: &Tensor, out: &Tensor) {
    if p.n == 0 {
        return;
    }
    let gpu = a.gpu();
    let buffers = [a.buffer(), b.buffer(), c.buffer(), out.buffer()];
    if entry == "sum_squares" {
        // One workgroup accumulates a whole tensor in a fixed order.
        gpu.dispatch(&K, entry, &p, &buffers, [1, 1, 1]);
    } else {
        gpu.dispatch_1d(&K, entry, &p, &buffers, p.n as usize);
    }
}

/// DARTS' virtual step `w - xi * (momentum * buf + grad + weight_decay * w)`; without a
/// momentum buffer (before the first weight step) the momentum term is zero, as in DARTS.
pub fn virtual_sgd(
    w: &Tensor,
    grad: &Tensor,
    momentum_buffer: Option<&Tensor>,
    xi: f32,
    momentum: f32,
    weight_decay: f32,
) -> Tensor {
    assert_eq!(w.shape(), grad.shape(), "virtual_sgd: gradient shape");
    if let Some(m) = momentum_buffer {
        assert_eq!(w.shape(), m.shape(), "virtual_sgd: momentum buffer shape");
    }
    let out = Tensor::empty(w.gpu(), w.shape());
    let p = Params {
        n: w.numel() as u32,
        has_momentum: momentum_buffer.is_some() as u32,
        xi,
        momentum,
        weight_decay,
        ..Params::default()
    };
    launch(
        "virtual_sgd",
        p,
        w,
        grad,
        momentum_buffer.unwrap_or(grad),
        &out,
    );
    out
}

/// The sum of squares of every element of every tensor, as a `[1]` tensor on the GPU.
pub fn sum_squares(tensors: &[&Tensor]) -> Tensor {
    assert!(!tensors.is_empty(), "sum_squares of no tensors");
    let out = Tensor::zeros(tensors[0].gpu(), &[1]);
    for t in tensors {
        let p = Params {
            n: t.numel() as u32,
            ..Params::default()
        };
        launch("sum_squares", p, t, t, t, &out);
    }
    out
}

/// Whether `add_scaled_by_norm` multiplies or divides by the norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByNorm {
    Times,
    Over,
}

/// `a + scale * r * b` (`Times`) or `a + scale / r * b` (`Over`) with `r = sqrt(norm2[0])`
/// (`norm2` from [`sum_squares`]); a zero norm makes the `Over` term 0.
pub fn add_scaled_by_norm(
    a: &Tensor,
    b: &Tensor,
    norm2: &Tensor,
    scale: f32,
    by: ByNorm,
) -> Tensor {
    assert_eq!(a.shape(), b.shape(), "add_scaled_by_norm: shapes differ");
    assert_eq!(
        norm2.numel(),
        1,
        "add_scaled_by_norm: the norm is one value"
    );
    let out = Tensor::empty(a.gpu(), a.shape());
    let p = Params {
        n: a.numel() as u32,
        multiply: (by == ByNorm::Times) as u32,
        scale,
        ..Params::default()
    };
    launch("add_scaled_by_norm", p, a, b, norm2, &out);
    out
}
