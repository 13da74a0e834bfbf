//! Tiled GEMM for 1x1 convolutions and [`matmul_raw`] (shaders/conv2d_gemm.wgsl).

use super::gather::{fold, pack_weights};
use super::{check_binding, u};
use crate::gpu::{Kernel, Tensor};

pub(crate) const K: Kernel = crate::kernel!("conv2d_gemm");

crate::uniform! {
    struct Params {
        m: u32,
        k: u32,
        n: u32,
        blocks: u32,
        chunks: u32,
        groups: u32,
        total: u32,
        has_bias: u32,
        b_nstride: u32,
        b_gstride: u32,
        c_nstride: u32,
        c_gstride: u32,
        act: u32,
        slope: f32,
        _pad: [u32; 2],
    }
}

/// C[batch][group] = A[group] * B[batch][group], with A packed by `pack_weights` (r = 8) and
/// bias (if any) indexed by `group * m + row`.
pub(super) struct Job<'a> {
    pub a: &'a Tensor,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub groups: usize,
    pub batches: usize,
    pub b: &'a Tensor,
    pub b_nstride: usize,
    pub b_gstride: usize,
    pub c: &'a Tensor,
    pub c_nstride: usize,
    pub c_gstride: usize,
    pub bias: Option<&'a Tensor>,
    /// LeakyReLU slope applied after the bias (ReLU: 0), if any.
    pub act: Option<f32>,
}

pub(super) fn gemm(j: &Job) {
    if j.m == 0 || j.n == 0 || j.batches == 0 {
        return;
    }
    let blocks = j.m.div_ceil(8);
    let chunks = j.n.div_ceil(8).div_ceil(64);
    let total = j.batches * j.groups * chunks;
    // gemm_v4 loads B and stores C as vec4 rows: every row start must be a multiple of 4.
    let vec4 = [j.n, j.b_nstride, j.b_gstride, j.c_nstride, j.c_gstride]
        .iter()
        .all(|s| s.is_multiple_of(4));
    let p = Params {
        m: u(j.m),
        k: u(j.k),
        n: u(j.n),
        blocks: u(blocks),
        chunks: u(chunks),
        groups: u(j.groups),
        total: u(total),
        has_bias: j.bias.is_some() as u32,
        b_nstride: u(j.b_nstride),
        b_gstride: u(j.b_gstride),
        c_nstride: u(j.c_nstride),
        c_gstride: u(j.c_gstride),
        act: j.act.is_some() as u32,
        slope: j.act.unwrap_or(0.0),
        _pad: [0; 2],
    };
    let bias = j.bias.unwrap_or(j.a);
    j.b.gpu().dispatch(
        &K,
        if vec4 { "gemm_v4" } else { "gemm_s" },
        &p,
        &[
            j.a.buffer(),
            j.b.buffer(),
            j.b.buffer(),
            bias.buffer(),
            j.c.buffer(),
            j.c.buffer(),
        ],
        fold(total, blocks, "gemm"),
    );
}

/// Plain matrix multiply C[M, N] = A[M, K] * B[K, N] (row-major), register-tiled: each invocation
/// computes 8 rows x 8 columns. A is repacked once per call (cheap next to the product).
pub fn matmul_raw(a: &Tensor, b: &Tensor, m: usize, k: usize, n: usize) -> Tensor {
    assert_eq!(
        a.numel(),
        m * k,
        "matmul_raw: A {:?} is not {m}x{k}",
        a.shape()
    );
    assert_eq!(
        b.numel(),
        k * n,
        "matmul_raw: B {:?} is not {k}x{n}",
        b.shape()
    );
    let gpu = a.gpu();
    let c = Tensor::empty(gpu, &[m, n]);
    for (t, what) in [(a, "matmul A"), (b, "matmul B"), (&c, "matmul C")] {
        check_binding(gpu, t, what);
    }
    if m * n == 0 {
        return c;
    }
    if k == 0 {
        c.fill_zero();
        return c;
    }
    let ap = pack_weights(&a.reshape(&[m, k, 1, 1]), 8, 1, m, k, false);
    gemm(&Job {
        a: &ap,
        m,
        k,
        n,
        groups: 1,
        batches: 1,
        b,
        b_nstride: 0,
        b_gstride: 0,
        c: &c,
        c_nstride: 0,
        c_gstride: 0,
        bias: None,
        act: None,
    });
    c
}
