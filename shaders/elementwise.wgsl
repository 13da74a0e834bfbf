// Elementwise kernels over flat f32 arrays. One invocation per element; the grid is folded into
// two dimensions (see gpu::grid_1d), so the flat index is flat(gid, nwg, WG) of common.wgsl.

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 256u;

struct Params {
    n: u32,
    alpha: f32,   // scale factor, LeakyReLU slope, or fill value
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> c: array<f32>;   // sum3, sum4
@group(0) @binding(5) var<storage, read> d: array<f32>;   // sum4

@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = a[i] + b[i]; }
}

// Three and four gradients that meet at one tensor, added left to right: the same roundings as
// a chain of `add`s, in one dispatch.
@compute @workgroup_size(WG)
fn sum3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = (a[i] + b[i]) + c[i]; }
}

@compute @workgroup_size(WG)
fn sum4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = ((a[i] + b[i]) + c[i]) + d[i]; }
}

@compute @workgroup_size(WG)
fn sub(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = a[i] - b[i]; }
}

@compute @workgroup_size(WG)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = a[i] * b[i]; }
}

@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = p.alpha * a[i]; }
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out[i] = p.alpha; }
}

// ReLU is LeakyReLU with slope 0.
@compute @workgroup_size(WG)
fn leaky_relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let x = a[i];
        out[i] = select(p.alpha * x, x, x > 0.0);
    }
}

// a = forward input x, b = output gradient. PyTorch's rule: slope at x == 0 is alpha.
@compute @workgroup_size(WG)
fn leaky_relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        out[i] = select(p.alpha * b[i], b[i], a[i] > 0.0);
    }
}

@compute @workgroup_size(WG)
fn sigmoid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        out[i] = logistic(a[i]);
    }
}

// a = forward output y, b = output gradient.
@compute @workgroup_size(WG)
fn sigmoid_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let y = a[i];
        out[i] = b[i] * y * (1.0 - y);
    }
}
