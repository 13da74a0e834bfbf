// Optimiser updates, in place on the parameter buffer, one dispatch per parameter tensor.
//
// The uniform block holds only what is constant for a tensor (its size, its index k in the
// step's parameter list, momentum/betas/eps/clip), so it is cached across steps. Everything that
// changes per step (the learning rate, Adam's bias corrections) sits in `hyper`, a small storage
// buffer written once per step: hyper[4k..4k+4] = (lr, weight decay, a, b) where for Adam
// a = lr / (1 - beta1^t) and b = sqrt(1 - beta2^t).

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 256u;

struct Params {
    n: u32,
    k: u32,          // this tensor's slot in hyper
    clip_on: u32,    // SGD: clamp the gradient to [-clip, clip] first
    _pad: u32,
    momentum: f32,   // SGD
    clip: f32,       // SGD
    beta2: f32,      // Adam
    eps: f32,        // Adam
    omb1: f32,       // Adam: 1 - beta1, rounded from f64 as torch does
    omb2: f32,       // Adam: 1 - beta2
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> hyper: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;   // momentum buffer / exp_avg
@group(0) @binding(5) var<storage, read_write> s2: array<f32>;   // exp_avg_sq

// PyTorch order: clip_grad_value_ on .grad, then coupled weight decay g += wd * p.
fn sgd_grad(i: u32) -> f32 {
    var g = grad[i];
    if (p.clip_on != 0u) {
        g = clamp(g, -p.clip, p.clip);
    }
    return g + hyper[4u * p.k + 1u] * param[i];
}

// Momentum 0: no buffer.
@compute @workgroup_size(WG)
fn sgd_plain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let g = sgd_grad(i);
    param[i] = param[i] - hyper[4u * p.k] * g;
}

// First step of a slot: torch sets buf = g (no momentum term, no dampening).
@compute @workgroup_size(WG)
fn sgd_first(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let g = sgd_grad(i);
    s1[i] = g;
    param[i] = param[i] - hyper[4u * p.k] * g;
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let g = sgd_grad(i);
    let b = p.momentum * s1[i] + g;
    s1[i] = b;
    param[i] = param[i] - hyper[4u * p.k] * b;
}

// torch.optim.Adam (single-tensor path), coupled L2: g += wd * p; m = lerp(m, g, 1 - beta1);
// v = beta2 v + (1 - beta2) g^2; p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
// State buffers start at zero (torch's zeros_like), so there is no first-step variant.
@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let h = 4u * p.k;
    let pv = param[i];
    let g = grad[i] + hyper[h + 1u] * pv;
    let m0 = s1[i];
    let m = m0 + p.omb1 * (g - m0);
    let v = p.beta2 * s2[i] + p.omb2 * (g * g);
    s1[i] = m;
    s2[i] = v;
    let denom = sqrt(v) / hyper[h + 3u] + p.eps;
    param[i] = pv - hyper[h + 2u] * (m / denom);
}
