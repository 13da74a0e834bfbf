//! The one-pass forward with its bilinear samples taken by the texture unit (`direct4t` of
//! shaders/deform_conv_tex.wgsl), where the driver's linear filter blends in f32
//! ([`Gpu::f32_filtering`]: Mesa's software driver). There each storage load with a per-lane
//! index runs lane by lane, and `direct4` spends most of its time on its 4 corner loads per
//! channel and sample; the sampler fetches a texel's 4 channels per corner with vector gathers
//! and blends them itself (docs/perf-log.md, "The deformable forward's samples by the texture
//! unit"). The input is first copied into a scratch rgba32float array texture, 4 channels per
//! layer (`to_texture`). The results are those of `direct4` up to rounding: the sampler blends
//! the corners in another order, and the sample point goes through (p + 0.5) / size.

use super::launch::GeoParams;
use super::plan::{Chunk, Geom};
use crate::gpu::{grid_1d, Binding, Gpu, Kernel, ScratchTexture, Tensor};
use std::cell::Cell;

pub(crate) const K_TEX: Kernel = crate::kernel!("deform_conv_tex", "deform_conv_tex", subgroups);

thread_local! {
    static FORCE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `f` with the texture-sampled forward turned off (`false`) where it would run, or on
/// (`true`) where it can (tests compare it with `direct4`). Thread-local; restored afterwards.
#[doc(hidden)]
pub fn with_texture_sampling<R>(on: bool, f: impl FnOnce() -> R) -> R {
    let prev = FORCE.with(|c| c.replace(Some(on)));
    let r = f();
    FORCE.with(|c| c.set(prev));
    r
}

/// Whether a call that takes the one-pass forward samples through a texture: a driver that
/// filters in f32, 4 channels per layer (channels per offset group and per image in fours),
/// rows in fours (`to_texture` reads vec4s), and the input within the device's texture limits.
pub(super) fn applies(g: &Geom, gpu: &Gpu) -> bool {
    let lim = gpu.limits();
    let cpg = g.cin / g.og();
    let can = gpu.f32_filtering()
        && cpg.is_multiple_of(4)
        && g.w.is_multiple_of(4)
        && g.w.max(g.h) <= lim.max_texture_dimension_2d as usize
        && g.n * g.cin / 4 <= lim.max_texture_array_layers as usize;
    can && FORCE.with(|c| c.get()).unwrap_or(true)
}

/// x copied into a scratch texture of its size (held until the value drops), where the call
/// samples through a texture ([`applies`]); `None` elsewhere.
pub(super) fn prepare(g: &Geom, x: &Tensor) -> Option<ScratchTexture> {
    let gpu = x.gpu();
    if !applies(g, gpu) {
        return None;
    }
    let tex = gpu.scratch_texture(g.w as u32, g.h as u32, (g.n * g.cin / 4) as u32);
    let whole = Chunk {
        b0: 0,
        nb: g.n,
        p0: 0,
        np: g.p(),
    };
    // `to_texture` binds only x (as vec4s, binding 22) and the storage view (binding 21).
    let mut bindings = [Binding::Buffer(x.buffer()); 22];
    bindings[20] = Binding::Texture(tex.view());
    let items = g.n * g.cin / 4 * g.h * g.w / 4;
    let p = GeoParams::new(g, &whole);
    gpu.dispatch_bound(&K_TEX, "to_texture", &p, &bindings, grid_1d(items, 64));
    Some(tex)
}

/// `direct4`'s dispatches with x sampled from `tex` ([`prepare`]): `buffers` are its bindings
/// 1..=18 (direct.rs), `passes` its parameters for each pass of output channels, over `quads`
/// lanes.
pub(super) fn dispatch(
    gpu: &Gpu,
    tex: &wgpu::TextureView,
    buffers: &[&wgpu::Buffer; 18],
    passes: &[GeoParams],
    quads: usize,
) {
    let sampler = gpu.border_sampler();
    let mut bindings: Vec<Binding> = buffers.iter().map(|&b| Binding::Buffer(b)).collect();
    bindings.push(Binding::Texture(tex));
    bindings.push(Binding::Sampler(&sampler));
    for pass in passes {
        gpu.dispatch_bound(&K_TEX, "direct4t", pass, &bindings, grid_1d(quads, 8));
    }
}
