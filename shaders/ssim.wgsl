// SSIM as HiNAS codes it: 11-tap Gaussian (sigma 1.5), zero-padded "same" filtering per plane,
// done separably (a horizontal pass into packed maps, then a vertical pass). See ops/ssim.rs for
// the math of the backward.
//
// Packed maps: map k of a [planes, H, W] image lives at [k * n, (k + 1) * n).
// Forward stats maps: 0 = G*x, 1 = G*y, 2 = G*x^2, 3 = G*y^2, 4 = G*xy.
// Backward coefficient maps: 0 = ds/dmu_x, 1 = ds/dE[x^2] (= ds/dE[y^2]), 2 = ds/dE[xy],
// 3 = ds/dmu_y, all already scaled by (upstream gradient) / n.

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 256u;

struct Params {
    n: u32,            // elements of one image (N*C*H*W)
    w: u32,
    h: u32,
    _pad: u32,
    taps: array<vec4<f32>, 3>,   // the normalised 1-D Gaussian, 11 taps + one zero
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read> gup: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst2: array<f32>;

const C1: f32 = 0.0001;   // 0.01^2
const C2: f32 = 0.0009;   // 0.03^2
const LN10: f32 = 2.302585092994046;

var<workgroup> red: array<f32, 256>;

fn tap(j: u32) -> f32 {
    return p.taps[j >> 2u][j & 3u];
}

// Taps j in [lo, hi) of the window centred on coordinate c (size `len`) fall inside the image.
fn lo_tap(c: u32) -> u32 {
    return u32(max(0, 5 - i32(c)));
}
fn hi_tap(c: u32, len: u32) -> u32 {
    return u32(min(11, i32(len) - i32(c) + 5));
}

// x, y -> dst (5 packed maps): horizontally filtered x, y, x^2, y^2, xy.
@compute @workgroup_size(WG)
fn h_stats(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let c = i % p.w;
    let base = i - 5u;   // index of tap 0 (may wrap below 0, but only taps >= lo_tap are read)
    var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0; var s4 = 0.0;
    for (var j = lo_tap(c); j < hi_tap(c, p.w); j = j + 1u) {
        let k = tap(j);
        let xv = x[base + j];
        let yv = y[base + j];
        let kx = k * xv;
        let ky = k * yv;
        s0 = s0 + kx;
        s1 = s1 + ky;
        s2 = s2 + kx * xv;
        s3 = s3 + ky * yv;
        s4 = s4 + kx * yv;
    }
    dst[i] = s0;
    dst[p.n + i] = s1;
    dst[2u * p.n + i] = s2;
    dst[3u * p.n + i] = s3;
    dst[4u * p.n + i] = s4;
}

// src (4 packed maps) -> dst (4 packed maps), each filtered horizontally.
@compute @workgroup_size(WG)
fn h_coef(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let c = i % p.w;
    let base = i - 5u;
    var s = vec4<f32>(0.0);
    for (var j = lo_tap(c); j < hi_tap(c, p.w); j = j + 1u) {
        let q = base + j;
        s = s + tap(j) * vec4<f32>(src[q], src[p.n + q], src[2u * p.n + q], src[3u * p.n + q]);
    }
    dst[i] = s.x;
    dst[p.n + i] = s.y;
    dst[2u * p.n + i] = s.z;
    dst[3u * p.n + i] = s.w;
}

struct Stats {
    mx: f32, my: f32, exx: f32, eyy: f32, exy: f32,
}

// Vertical pass over the 5 packed stats maps in src at pixel i.
fn v_stats(i: u32) -> Stats {
    let r = (i / p.w) % p.h;
    let base = i - 5u * p.w;   // may wrap below 0; only in-image taps are read
    var st = Stats(0.0, 0.0, 0.0, 0.0, 0.0);
    for (var j = lo_tap(r); j < hi_tap(r, p.h); j = j + 1u) {
        let q = base + j * p.w;
        let k = tap(j);
        st.mx = st.mx + k * src[q];
        st.my = st.my + k * src[p.n + q];
        st.exx = st.exx + k * src[2u * p.n + q];
        st.eyy = st.eyy + k * src[3u * p.n + q];
        st.exy = st.exy + k * src[4u * p.n + q];
    }
    return st;
}

// src = stats maps -> dst[workgroup] = partial sum of the SSIM map (grid-stride, capped groups).
@compute @workgroup_size(WG)
fn v_ssim_partial(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
    let stride = nwg.x * 256u;
    var acc = 0.0;
    for (var i = wg.x * 256u + li; i < p.n; i = i + stride) {
        let st = v_stats(i);
        let mxy = st.mx * st.my;
        let mxx = st.mx * st.mx;
        let myy = st.my * st.my;
        let a1 = 2.0 * mxy + C1;
        let a2 = 2.0 * (st.exy - mxy) + C2;
        let b1 = mxx + myy + C1;
        let b2 = (st.exx - mxx) + (st.eyy - myy) + C2;
        acc = acc + (a1 * a2) / (b1 * b2);
    }
    red[li] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            red[li] = red[li] + red[li + s];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        dst[wg.x] = red[0];
    }
}

// src = stats maps, gup = upstream gradient -> dst = 4 packed coefficient maps.
@compute @workgroup_size(WG)
fn v_coef(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let st = v_stats(i);
    let mxy = st.mx * st.my;
    let mxx = st.mx * st.mx;
    let myy = st.my * st.my;
    let a1 = 2.0 * mxy + C1;
    let a2 = 2.0 * (st.exy - mxy) + C2;
    let b1 = mxx + myy + C1;
    let b2 = (st.exx - mxx) + (st.eyy - myy) + C2;
    let d = b1 * b2;
    let s = (a1 * a2) / d;
    let g = gup[0] / f32(p.n);
    let t = 2.0 * (a2 - a1) / d;
    let u = 2.0 * s * (1.0 / b2 - 1.0 / b1);
    dst[i] = g * (st.my * t + st.mx * u);
    dst[p.n + i] = -g * s / b2;
    dst[2u * p.n + i] = g * 2.0 * a1 / d;
    dst[3u * p.n + i] = g * (st.mx * t + st.my * u);
}

// Vertical pass over the 4 packed (horizontally filtered) coefficient maps at pixel i.
fn v_coef_filtered(i: u32) -> vec4<f32> {
    let r = (i / p.w) % p.h;
    let base = i - 5u * p.w;
    var s = vec4<f32>(0.0);
    for (var j = lo_tap(r); j < hi_tap(r, p.h); j = j + 1u) {
        let q = base + j * p.w;
        s = s + tap(j) * vec4<f32>(src[q], src[p.n + q], src[2u * p.n + q], src[3u * p.n + q]);
    }
    return s;
}

// dst = gradient wrt x.
@compute @workgroup_size(WG)
fn v_grad_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let f = v_coef_filtered(i);
    dst[i] = f.x + 2.0 * x[i] * f.y + y[i] * f.z;
}

// dst2 = gradient wrt y.
@compute @workgroup_size(WG)
fn v_grad_y(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let f = v_coef_filtered(i);
    dst2[i] = f.w + 2.0 * y[i] * f.y + x[i] * f.z;
}

// Both gradients in one pass.
@compute @workgroup_size(WG)
fn v_grad_xy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, WG);
    if (i >= p.n) { return; }
    let f = v_coef_filtered(i);
    let xv = x[i];
    let yv = y[i];
    dst[i] = f.x + 2.0 * xv * f.y + yv * f.z;
    dst2[i] = f.w + 2.0 * yv * f.y + xv * f.z;
}

// dst[0] = -log10(x[0]).
@compute @workgroup_size(1)
fn neg_log10() {
    dst[0] = -log(x[0]) / LN10;
}

// dst[0] = gup[0] * d(-log10 s)/ds = -gup[0] / (s ln 10), with s = x[0].
@compute @workgroup_size(1)
fn neg_log10_backward() {
    dst[0] = -gup[0] / (x[0] * LN10);
}
