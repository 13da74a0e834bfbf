//! max |x| of a tensor, max-ed into one slot of a small f32 result tensor that starts at zero
//! (shaders/absmax.wgsl, two small dispatches). Inference bounds the deformable offsets of each
//! tile with it (src/eval/infer.rs); tested in tests/infer.rs.

use crate::gpu::{Kernel, Tensor};

pub(crate) const K: Kernel = crate::kernel!("absmax");

crate::uniform! {
    struct Params {
        n: u32,
        parts: u32,
        slot: u32,
        _pad: u32,
    }
}

/// `stats[slot] = max(stats[slot], max_i |x[i]|)`.
pub fn absmax_into(x: &Tensor, stats: &Tensor, slot: usize) {
    assert!(
        slot < stats.numel(),
        "absmax: slot {slot} of {}",
        stats.numel()
    );
    let gpu = x.gpu();
    let n = x.numel();
    let parts = n.div_ceil(256 * 64).clamp(1, 256);
    let part = Tensor::empty(gpu, &[parts]);
    let p = Params {
        n: n as u32,
        parts: parts as u32,
        slot: slot as u32,
        _pad: 0,
    };
    let bufs = [x.buffer(), part.buffer(), stats.buffer()];
    gpu.dispatch(&K, "partial", &p, &bufs, [parts as u32, 1, 1]);
    gpu.dispatch(&K, "finish", &p, &bufs, [1, 1, 1]);
}
