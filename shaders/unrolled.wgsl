// Vector kernels of the second-order (unrolled) DARTS architecture gradient
// (src/optim/unrolled.rs): the virtual SGD step, a squared norm accumulated over a list of
// tensors, and `a + scale * |v|^(+-1) * b` with |v| read from the GPU, so no norm is read back.

#include "common.wgsl"

struct Params {
    n: u32,
    has_momentum: u32,   // virtual_sgd: use the momentum buffer (DARTS: zeros before the first step)
    multiply: u32,       // add_scaled_by_norm: 1 = times the norm, 0 = divided by it
    _pad0: u32,
    xi: f32,             // virtual_sgd: inner learning rate
    momentum: f32,
    weight_decay: f32,
    scale: f32,          // add_scaled_by_norm
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

// w' = w - xi * (momentum * buf + grad + weight_decay * w), as DARTS' _compute_unrolled_model.
// a = w, b = grad, c = momentum buffer.
@compute @workgroup_size(256)
fn virtual_sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    var moment = 0.0;
    if (p.has_momentum == 1u) {
        moment = p.momentum * c[i];
    }
    out[i] = a[i] - p.xi * (moment + (b[i] + p.weight_decay * a[i]));
}

var<workgroup> partial: array<f32, 256>;

// out[0] += sum(a^2), in a fixed order (one workgroup): deterministic across runs.
@compute @workgroup_size(256)
fn sum_squares(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = li; i < p.n; i += WG) {
        s += a[i] * a[i];
    }
    partial[li] = s;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
        if (li < half) {
            partial[li] += partial[li + half];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        out[0] = out[0] + partial[0];
    }
}

// out = a + scale * r * b (multiply) or a + scale / r * b (divide), r = sqrt(c[0]); a zero norm
// divides to 0 rather than infinity.
@compute @workgroup_size(256)
fn add_scaled_by_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let r = sqrt(c[0]);
    var f = p.scale * r;
    if (p.multiply == 0u) {
        f = select(0.0, p.scale / r, r > 0.0);
    }
    out[i] = a[i] + f * b[i];
}
