// Elementwise kernels over flat f32 arrays. One invocation per element (per vec4 in the `*_v4`
// entry points at the end); the grid is folded into two dimensions (see gpu::grid_1d), so the
// flat index is flat(gid, nwg, WG) of common.wgsl.

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
// The same buffers four floats at a time, for the `*_v4` entry points (n % 4 == 0; one
// invocation per vec4, p.n counting vec4s). On lavapipe every load and store with a computed
// index runs lane by lane, so a vec4 costs about what one scalar does. Each element gets the
// same arithmetic as in the scalar entry points, so the results are the same to the bit.
@group(0) @binding(6) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> c4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> d4: array<vec4<f32>>;

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

@compute @workgroup_size(WG)
fn add_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = a4[i] + b4[i]; }
}

@compute @workgroup_size(WG)
fn sum3_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = (a4[i] + b4[i]) + c4[i]; }
}

@compute @workgroup_size(WG)
fn sum4_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = ((a4[i] + b4[i]) + c4[i]) + d4[i]; }
}

@compute @workgroup_size(WG)
fn sub_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = a4[i] - b4[i]; }
}

@compute @workgroup_size(WG)
fn mul_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = a4[i] * b4[i]; }
}

@compute @workgroup_size(WG)
fn scale_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = p.alpha * a4[i]; }
}

@compute @workgroup_size(WG)
fn fill_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) { out4[i] = vec4<f32>(p.alpha); }
}

@compute @workgroup_size(WG)
fn leaky_relu_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let x = a4[i];
        out4[i] = select(p.alpha * x, x, x > vec4<f32>(0.0));
    }
}

@compute @workgroup_size(WG)
fn leaky_relu_backward_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let g = b4[i];
        out4[i] = select(p.alpha * g, g, a4[i] > vec4<f32>(0.0));
    }
}

@compute @workgroup_size(WG)
fn sigmoid_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let x = a4[i];
        out4[i] = vec4<f32>(logistic(x.x), logistic(x.y), logistic(x.z), logistic(x.w));
    }
}

@compute @workgroup_size(WG)
fn sigmoid_backward_v4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i < p.n) {
        let y = a4[i];
        out4[i] = b4[i] * y * (1.0 - y);
    }
}
