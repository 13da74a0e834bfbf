//! Updates of up to four parameter tensors per dispatch (shaders/optim4.wgsl), for the
//! optimisers' steps: the one-tensor entry points' arithmetic, so the same results to the bit,
//! with a quarter of the dispatches. Used where the device binds the 17 storage buffers a
//! dispatch needs; elsewhere (and under [`with_single_tensor_updates`]) each tensor has its own.

use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};
use std::cell::Cell;

pub(crate) const K: Kernel = crate::kernel!("optim4");

/// Tensors per dispatch.
pub(crate) const PER: usize = 4;
/// Invocations per workgroup (`WG` in the shader).
const WG: usize = 256;

crate::uniform! {
    /// The uniform block of shaders/optim4.wgsl.
    #[derive(Default)]
    pub(crate) struct Params {
        pub n0: u32,
        pub n1: u32,
        pub n2: u32,
        pub n3: u32,
        pub k0: u32,
        pub k1: u32,
        pub k2: u32,
        pub k3: u32,
        pub e0: u32,
        pub e1: u32,
        pub e2: u32,
        pub e3: u32,
        pub mode: u32,
        pub clip_on: u32,
        pub momentum: f32,
        pub clip: f32,
        pub beta2: f32,
        pub eps: f32,
        pub omb1: f32,
        pub omb2: f32,
    }
}

thread_local! {
    static SINGLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with one dispatch per parameter tensor, so tests can compare the two ways.
/// Thread-local; restored afterwards.
#[doc(hidden)]
pub fn with_single_tensor_updates<R>(f: impl FnOnce() -> R) -> R {
    let prev = SINGLE.with(|c| c.replace(true));
    let r = f();
    SINGLE.with(|c| c.set(prev));
    r
}

/// Whether steps on `gpu` batch their tensors.
pub(crate) fn batched(gpu: &Gpu) -> bool {
    gpu.limits().max_storage_buffers_per_shader_stage as usize > 4 * PER
        && !SINGLE.with(|c| c.get())
}

/// One tensor's update: parameter (in place), gradient, state buffers (`s2` Adam's only; the
/// parameter stands in for a buffer the entry point does not write) and its row in `hyper`.
pub(crate) struct Update<'a> {
    pub param: &'a Tensor,
    pub grad: &'a Tensor,
    pub s1: &'a Tensor,
    pub s2: &'a Tensor,
    pub k: usize,
}

/// Dispatches `entry` ("sgd4" or "adam4") over `items` (1..=PER tensors, none empty) with the
/// optimiser-wide fields of `base`.
pub(crate) fn dispatch(
    gpu: &Gpu,
    entry: &'static str,
    base: Params,
    hyper: &Tensor,
    items: &[Update],
) {
    assert!(
        (1..=PER).contains(&items.len()),
        "optim4: {} tensors",
        items.len()
    );
    let mut p = base;
    let mut end = 0u32;
    let mut ends = [0u32; PER];
    let mut ns = [0u32; PER];
    let mut ks = [0u32; PER];
    for (j, it) in items.iter().enumerate() {
        let n = it.param.numel();
        assert!(n > 0, "optim4: empty tensor");
        end += n.div_ceil(WG) as u32;
        (ns[j], ks[j]) = (n as u32, it.k as u32);
        ends[j] = end;
    }
    for e in ends.iter_mut().skip(items.len()) {
        *e = end;
    }
    [p.n0, p.n1, p.n2, p.n3] = ns;
    [p.k0, p.k1, p.k2, p.k3] = ks;
    [p.e0, p.e1, p.e2, p.e3] = ends;
    // Slots without a tensor get the first one's buffers; their workgroup ranges are empty.
    let at = |j: usize| items.get(j).unwrap_or(&items[0]);
    let mut bufs: Vec<&wgpu::Buffer> = Vec::with_capacity(4 * PER + 1);
    bufs.extend((0..PER).map(|j| at(j).param.buffer()));
    bufs.extend((0..PER).map(|j| at(j).grad.buffer()));
    bufs.push(hyper.buffer());
    bufs.extend((0..PER).map(|j| at(j).s1.buffer()));
    bufs.extend((0..PER).map(|j| at(j).s2.buffer()));
    gpu.dispatch(&K, entry, &p, &bufs, grid_1d(end as usize * WG, WG as u32));
}
