//! Tiled GEMM for 1x1 convolutions and [`matmul_raw`] (shaders/conv2d_gemm_plain.wgsl and
//! conv2d_gemm_sg.wgsl, each including conv2d_gemm.wgsl).

use super::gather::{fold, pack_weights};
use super::{check_binding, u};
use crate::gpu::{Kernel, Tensor};
use crate::ops::subgroup_kernels;

/// Every lane loads A itself (in place or from a packed copy).
pub(crate) const K: Kernel = crate::kernel!("conv2d_gemm", "conv2d_gemm_plain");
/// One scalar A load per lane per k step, shared with subgroupBroadcast (devices with 8-lane
/// subgroups; `ops::with_plain_kernels` switches it off like the other subgroup kernels).
pub(crate) const K_SG: Kernel = crate::kernel!("conv2d_gemm_sg", "conv2d_gemm_sg", subgroups);

thread_local! {
    static PACKED_MIN_COLUMNS: std::cell::Cell<usize> = const { std::cell::Cell::new(PACKED_GEMM_COLUMNS) };
}

/// Columns (images x pixels) from which a plain-kernel forward GEMM reads A from a copy packed in 8-row
/// blocks (two vec4 loads per k step) instead of in place (eight scalar loads). In place saves
/// the packing dispatch, which is what counts at training and search sizes (8 % of a `tiny`
/// search step's dispatches were packs); the scalar loads made the 64 -> 16 channel 1x1 conv
/// of a 256x256 tile 20-40 % slower, so image-sized launches pack (docs/perf-log.md).
pub const PACKED_GEMM_COLUMNS: usize = 16384;

/// Runs `f` with forward GEMMs packing A from `columns` columns on this thread, so tests reach
/// the packed path with small tensors.
#[doc(hidden)]
pub fn with_packed_gemm_from<R>(columns: usize, f: impl FnOnce() -> R) -> R {
    let old = PACKED_MIN_COLUMNS.with(|c| c.replace(columns));
    let r = f();
    PACKED_MIN_COLUMNS.with(|c| c.set(old));
    r
}

/// How the shader loads A (`a_mode`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ALoad {
    /// In place, eight scalars per k step (any strides).
    Scalars = 0,
    /// From a `pack_weights` copy, two vec4 per k step.
    Packed = 1,
    /// In place, two vec4 per k step: a column's rows are contiguous and 16-byte aligned.
    Columns4 = 2,
}

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
        a_sm: u32,
        a_sk: u32,
        a_mode: u32,
        _pad: [u32; 3],
    }
}

/// C[batch][group] = A[group] * B[batch][group], with A given as `groups` blocks of m x k,
/// row-major, or of k x m when `a_transposed` (a conv weight read for the input gradient), and
/// bias (if any) indexed by `group * m + row`.
pub(super) struct Job<'a> {
    pub a: &'a Tensor,
    pub a_transposed: bool,
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
    let sg = subgroup_kernels(j.b.gpu());
    let load = if sg {
        ALoad::Scalars
    } else if j.a_transposed {
        if j.m.is_multiple_of(4) {
            ALoad::Columns4
        } else {
            ALoad::Scalars
        }
    } else if j.batches * j.n >= PACKED_MIN_COLUMNS.with(|c| c.get()) {
        ALoad::Packed
    } else {
        ALoad::Scalars
    };
    let packed = (load == ALoad::Packed).then(|| {
        pack_weights(
            &j.a.reshape(&[j.groups * j.m, j.k, 1, 1]),
            8,
            8,
            j.groups,
            j.m,
            j.k,
            false,
            0,
            j.m,
            0,
        )
    });
    let a = packed.as_ref().unwrap_or(j.a);
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
        a_sm: if j.a_transposed { 1 } else { u(j.k) },
        a_sk: if j.a_transposed { u(j.m) } else { 1 },
        a_mode: load as u32,
        _pad: [0; 3],
    };
    let bias = j.bias.unwrap_or(a);
    j.b.gpu().dispatch(
        if sg { &K_SG } else { &K },
        if vec4 { "gemm_v4" } else { "gemm_s" },
        &p,
        &[
            a.buffer(),
            j.b.buffer(),
            j.b.buffer(),
            bias.buffer(),
            j.c.buffer(),
            j.c.buffer(),
            a.buffer(),
        ],
        fold(total, blocks, "gemm"),
    );
}

/// Plain matrix multiply C[M, N] = A[M, K] * B[K, N] (row-major), register-tiled: each invocation
/// computes 8 rows x 8 columns.
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
    gemm(&Job {
        a,
        a_transposed: false,
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
