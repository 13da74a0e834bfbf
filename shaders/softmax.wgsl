// Softmax over the last dim of a [R, K] tensor (ops/softmax.rs). The rows are short (the
// architecture weights: K = 7 or 3), so one invocation owns one row: no reduction across
// invocations, and the max-subtraction keeps exp() in range.

#include "common.wgsl"

// Invocations per workgroup, one row each.
const WG: u32 = 64u;

struct Params {
    rows: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;   // x (forward) or y (backward)
@group(0) @binding(2) var<storage, read> b: array<f32>;   // gy (backward)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat(gid, nwg, WG);
    if (r >= p.rows) { return; }
    let o = r * p.k;
    var mx = a[o];
    for (var i = 1u; i < p.k; i++) { mx = max(mx, a[o + i]); }
    var s = 0.0;
    for (var i = 0u; i < p.k; i++) {
        let e = exp(a[o + i] - mx);
        out[o + i] = e;
        s += e;
    }
    let inv = 1.0 / s;
    for (var i = 0u; i < p.k; i++) { out[o + i] *= inv; }
}

// gx = y * (gy - sum(gy * y)).
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = flat(gid, nwg, WG);
    if (r >= p.rows) { return; }
    let o = r * p.k;
    var d = 0.0;
    for (var i = 0u; i < p.k; i++) { d += a[o + i] * b[o + i]; }
    for (var i = 0u; i < p.k; i++) { out[o + i] = a[o + i] * (b[o + i] - d); }
}
