// The DARTS mixed op (ops/mixed.rs): out = sum_k w[idx_k] * x_k for up to SLOTS = 6 inputs per
// launch, so a launch binds at most 8 storage buffers (w, 6 inputs, out), the portable limit.
// The scalar weights are read from the weight tensor on the GPU (no readback); idx_k are the
// flat positions in it, passed in the uniform block.

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 256u;

struct Params {
    n: u32,           // elements of each x_k
    k: u32,           // inputs in this launch (1..=6)
    accumulate: u32,  // 1: add to out instead of overwriting (later chunks of a long sum)
    parts: u32,       // workgroups of the dot-product pass
    wn: u32,          // elements of w
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    idx: array<vec4<u32>, 2>,  // w position of slot s: idx[s / 4][s % 4]
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> x1: array<f32>;
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read> x3: array<f32>;
@group(0) @binding(6) var<storage, read> x4: array<f32>;
@group(0) @binding(7) var<storage, read> x5: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read> gy: array<f32>;
@group(0) @binding(10) var<storage, read_write> o0: array<f32>;
@group(0) @binding(11) var<storage, read_write> o1: array<f32>;
@group(0) @binding(12) var<storage, read_write> o2: array<f32>;
@group(0) @binding(13) var<storage, read_write> o3: array<f32>;
@group(0) @binding(14) var<storage, read_write> o4: array<f32>;
@group(0) @binding(15) var<storage, read_write> o5: array<f32>;
@group(0) @binding(16) var<storage, read_write> part: array<f32>;
@group(0) @binding(17) var<storage, read_write> gw: array<f32>;

fn slot_idx(s: u32) -> u32 {
    return p.idx[s / 4u][s % 4u];
}

fn wt(s: u32) -> f32 {
    return w[min(slot_idx(s), p.wn - 1u)];
}

// Unused slots are bound to x0 and never read (the branches are uniform).
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    var s = wt(0u) * x0[i];
    if (p.k > 1u) { s += wt(1u) * x1[i]; }
    if (p.k > 2u) { s += wt(2u) * x2[i]; }
    if (p.k > 3u) { s += wt(3u) * x3[i]; }
    if (p.k > 4u) { s += wt(4u) * x4[i]; }
    if (p.k > 5u) { s += wt(5u) * x5[i]; }
    if (p.accumulate == 1u) { s += out[i]; }
    out[i] = s;
}

// Input gradients o_s = gy * w[idx_s]: gy is read once for all outputs. Unused output slots are
// bound to a one-element dummy and never written.
@compute @workgroup_size(WG)
fn grad_inputs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let g = gy[i];
    o0[i] = g * wt(0u);
    if (p.k > 1u) { o1[i] = g * wt(1u); }
    if (p.k > 2u) { o2[i] = g * wt(2u); }
    if (p.k > 3u) { o3[i] = g * wt(3u); }
    if (p.k > 4u) { o4[i] = g * wt(4u); }
    if (p.k > 5u) { o5[i] = g * wt(5u); }
}

var<workgroup> sh: array<f32, 1536>;  // 6 slots x 256 invocations

// Partial dot(gy, x_s) of workgroup q (grid-stride over the elements) -> part[s * parts + q].
@compute @workgroup_size(WG)
fn dot_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    var a0 = 0.0;
    var a1 = 0.0;
    var a2 = 0.0;
    var a3 = 0.0;
    var a4 = 0.0;
    var a5 = 0.0;
    let stride = p.parts * 256u;
    for (var i = wg.x * 256u + t; i < p.n; i += stride) {
        let g = gy[i];
        a0 += g * x0[i];
        if (p.k > 1u) { a1 += g * x1[i]; }
        if (p.k > 2u) { a2 += g * x2[i]; }
        if (p.k > 3u) { a3 += g * x3[i]; }
        if (p.k > 4u) { a4 += g * x4[i]; }
        if (p.k > 5u) { a5 += g * x5[i]; }
    }
    sh[t] = a0;
    sh[256u + t] = a1;
    sh[512u + t] = a2;
    sh[768u + t] = a3;
    sh[1024u + t] = a4;
    sh[1280u + t] = a5;
    workgroupBarrier();
    for (var off = 128u; off > 0u; off >>= 1u) {
        if (t < off) {
            for (var s = 0u; s < p.k; s++) {
                sh[s * 256u + t] += sh[s * 256u + t + off];
            }
        }
        workgroupBarrier();
    }
    if (t < p.k) {
        part[t * p.parts + wg.x] = sh[t * 256u];
    }
}

// gw[j] += the dots of every slot s with idx_s == j (repeated indices add up); one invocation
// per element of w, which was zeroed before the first chunk.
@compute @workgroup_size(64)
fn grad_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= p.wn) { return; }
    var acc = 0.0;
    for (var s = 0u; s < p.k; s++) {
        if (slot_idx(s) == j) {
            for (var q = 0u; q < p.parts; q++) { acc += part[s * p.parts + q]; }
        }
    }
    gw[j] += acc;
}
