// Optimiser updates for up to four parameter tensors per dispatch (src/optim/multi.rs): the
// same arithmetic per element as the one-tensor entry points of optim.wgsl, so the same
// results to the bit, in a quarter of the dispatches (a step of the `tiny` supernet updates
// ~300 small tensors, and on lavapipe every dispatch has a fixed cost of tens of microseconds).
//
// Workgroups [e(j-1), e(j)) of the flat grid update tensor j, so an invocation's tensor is
// uniform across its workgroup. WGSL cannot index bindings, hence one branch per tensor.

#include "common.wgsl"

const WG: u32 = 256u;

struct Params {
    n0: u32, n1: u32, n2: u32, n3: u32,     // elements of tensors 0..3
    k0: u32, k1: u32, k2: u32, k3: u32,     // their rows in hyper
    e0: u32, e1: u32, e2: u32, e3: u32,     // cumulative workgroup ends
    mode: u32,       // SGD: 0 no momentum, 1 a slot's first step, 2 momentum
    clip_on: u32,
    momentum: f32,
    clip: f32,
    beta2: f32,
    eps: f32,
    omb1: f32,
    omb2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param0: array<f32>;
@group(0) @binding(2) var<storage, read_write> param1: array<f32>;
@group(0) @binding(3) var<storage, read_write> param2: array<f32>;
@group(0) @binding(4) var<storage, read_write> param3: array<f32>;
@group(0) @binding(5) var<storage, read> grad0: array<f32>;
@group(0) @binding(6) var<storage, read> grad1: array<f32>;
@group(0) @binding(7) var<storage, read> grad2: array<f32>;
@group(0) @binding(8) var<storage, read> grad3: array<f32>;
@group(0) @binding(9) var<storage, read> hyper: array<f32>;
@group(0) @binding(10) var<storage, read_write> s1_0: array<f32>;   // momentum buffer / exp_avg
@group(0) @binding(11) var<storage, read_write> s1_1: array<f32>;
@group(0) @binding(12) var<storage, read_write> s1_2: array<f32>;
@group(0) @binding(13) var<storage, read_write> s1_3: array<f32>;
@group(0) @binding(14) var<storage, read_write> s2_0: array<f32>;   // exp_avg_sq
@group(0) @binding(15) var<storage, read_write> s2_1: array<f32>;
@group(0) @binding(16) var<storage, read_write> s2_2: array<f32>;
@group(0) @binding(17) var<storage, read_write> s2_3: array<f32>;

// (tensor, element) of an invocation; tensor 4: none (the grid's padding).
fn locate(wid: vec3<u32>, nwg: vec3<u32>, li: u32) -> vec2<u32> {
    let w = wid.x + wid.y * nwg.x;
    if (w < p.e0) { return vec2<u32>(0u, w * WG + li); }
    if (w < p.e1) { return vec2<u32>(1u, (w - p.e0) * WG + li); }
    if (w < p.e2) { return vec2<u32>(2u, (w - p.e1) * WG + li); }
    if (w < p.e3) { return vec2<u32>(3u, (w - p.e2) * WG + li); }
    return vec2<u32>(4u, 0u);
}

// optim.wgsl's sgd_plain / sgd_first / sgd on one element: (new parameter, new buffer).
fn sgd_one(pv: f32, gr: f32, s: f32, k: u32) -> vec2<f32> {
    var g = gr;
    if (p.clip_on != 0u) {
        g = clamp(g, -p.clip, p.clip);
    }
    g = g + hyper[4u * k + 1u] * pv;
    if (p.mode == 2u) {
        let b = p.momentum * s + g;
        return vec2<f32>(pv - hyper[4u * k] * b, b);
    }
    return vec2<f32>(pv - hyper[4u * k] * g, g);
}

@compute @workgroup_size(WG)
fn sgd4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let at = locate(wid, nwg, li);
    let i = at.y;
    let keep = p.mode != 0u;
    switch at.x {
        case 0u: {
            if (i >= p.n0) { return; }
            let r = sgd_one(param0[i], grad0[i], select(0.0, s1_0[i], p.mode == 2u), p.k0);
            if (keep) { s1_0[i] = r.y; }
            param0[i] = r.x;
        }
        case 1u: {
            if (i >= p.n1) { return; }
            let r = sgd_one(param1[i], grad1[i], select(0.0, s1_1[i], p.mode == 2u), p.k1);
            if (keep) { s1_1[i] = r.y; }
            param1[i] = r.x;
        }
        case 2u: {
            if (i >= p.n2) { return; }
            let r = sgd_one(param2[i], grad2[i], select(0.0, s1_2[i], p.mode == 2u), p.k2);
            if (keep) { s1_2[i] = r.y; }
            param2[i] = r.x;
        }
        case 3u: {
            if (i >= p.n3) { return; }
            let r = sgd_one(param3[i], grad3[i], select(0.0, s1_3[i], p.mode == 2u), p.k3);
            if (keep) { s1_3[i] = r.y; }
            param3[i] = r.x;
        }
        default: {}
    }
}

// optim.wgsl's adam on one element: (new parameter, exp_avg, exp_avg_sq).
fn adam_one(pv: f32, gr: f32, m0: f32, v0: f32, k: u32) -> vec3<f32> {
    let h = 4u * k;
    let g = gr + hyper[h + 1u] * pv;
    let m = m0 + p.omb1 * (g - m0);
    let v = p.beta2 * v0 + p.omb2 * (g * g);
    let denom = sqrt(v) / hyper[h + 3u] + p.eps;
    return vec3<f32>(pv - hyper[h + 2u] * (m / denom), m, v);
}

@compute @workgroup_size(WG)
fn adam4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let at = locate(wid, nwg, li);
    let i = at.y;
    switch at.x {
        case 0u: {
            if (i >= p.n0) { return; }
            let r = adam_one(param0[i], grad0[i], s1_0[i], s2_0[i], p.k0);
            s1_0[i] = r.y;
            s2_0[i] = r.z;
            param0[i] = r.x;
        }
        case 1u: {
            if (i >= p.n1) { return; }
            let r = adam_one(param1[i], grad1[i], s1_1[i], s2_1[i], p.k1);
            s1_1[i] = r.y;
            s2_1[i] = r.z;
            param1[i] = r.x;
        }
        case 2u: {
            if (i >= p.n2) { return; }
            let r = adam_one(param2[i], grad2[i], s1_2[i], s2_2[i], p.k2);
            s1_2[i] = r.y;
            s2_2[i] = r.z;
            param2[i] = r.x;
        }
        case 3u: {
            if (i >= p.n3) { return; }
            let r = adam_one(param3[i], grad3[i], s1_3[i], s2_3[i], p.k3);
            s1_3[i] = r.y;
            s2_3[i] = r.z;
            param3[i] = r.x;
        }
        default: {}
    }
}
