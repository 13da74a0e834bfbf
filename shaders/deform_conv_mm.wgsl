// Strided batched matmul for deformable convolution (ops/deform_conv.rs):
//   C(m, n) [= or +=] sum_{kb, k} A(m, kb, k) * B(kb, k, n) [+ bias(m)]
// with every operand addressed by explicit strides, so the forward (W x columns), the column
// gradient (W^T x gy) and the weight gradient (gy x transposed columns, one partial product per
// image, added by zsum) are the same kernel on NCHW tensors without copies.
// z = z1 * p.z2 + z2 selects (image, weight group).
//
// Register tiling for lavapipe, no workgroup memory (slower than plain loads there). Included by
// deform_conv_mm_plain.wgsl and deform_conv_mm_sg.wgsl, which define how a k step's eight A
// values are loaded (`a_rows`, `a8`) and the entry points.

#include "common.wgsl"

const ZSUM_WG: u32 = 64u;

struct Mm {
    m: u32, n: u32, k: u32, kb: u32,
    z2: u32, flags: u32, _p0: u32, _p1: u32,      // flags: 1 = accumulate into C, 2 = add bias
    a_off: u32, a_sm: u32, a_sk: u32, a_skb: u32, a_z1: u32, a_z2: u32,
    b_off: u32, b_sk: u32, b_sn: u32, b_skb: u32, b_z1: u32, b_z2: u32,
    c_off: u32, c_sm: u32, c_sn: u32, c_z1: u32, c_z2: u32,
    bias_z2: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<uniform> p: Mm;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;
// The same buffer as b, read four floats at a time (only where the launcher has checked that
// every vector load is 16-byte aligned).
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;

// Tile geometry shared by the entry points: a workgroup is 8 invocations (one SIMD row of
// lavapipe); it covers 8 rows x 64 columns, each invocation 8 rows x 8 columns. The rows come
// from the workgroup id only, so every lane needs the same A values, and consecutive workgroups
// (x fastest) share a column strip of B in the cache. Measured on lavapipe against 4x4 tiles
// with 64-wide workgroups: about 4x faster.
struct Tile {
    z1: u32,
    z2: u32,
    m0: u32,
    n0: u32,
}

fn tile(wg: vec3<u32>, lid: vec3<u32>) -> Tile {
    var t: Tile;
    t.z1 = wg.z / p.z2;
    t.z2 = wg.z % p.z2;
    t.m0 = wg.x * 8u;
    t.n0 = (wg.y * 8u + lid.x) * 8u;
    return t;
}

// Rows past the end are clamped for loading and skipped when storing.
fn a_row(t: Tile, i: u32) -> u32 {
    return p.a_off + t.z1 * p.a_z1 + t.z2 * p.a_z2 + min(t.m0 + i, p.m - 1u) * p.a_sm;
}

// A's rows m0..m0+7 of a k step, as the variant loads them.
struct A8 {
    lo: vec4<f32>,
    hi: vec4<f32>,
}

fn b_col(t: Tile, j: u32) -> u32 {
    return p.b_off + t.z1 * p.b_z1 + t.z2 * p.b_z2 + min(t.n0 + j, p.n - 1u) * p.b_sn;
}

// Stores row m0 + i of the tile (bias, accumulation, bounds).
fn store_row(t: Tile, i: u32, lo: vec4<f32>, hi: vec4<f32>) {
    let m = t.m0 + i;
    if (m >= p.m) { return; }
    var bv = 0.0;
    if ((p.flags & 2u) != 0u) { bv = bias[t.z2 * p.bias_z2 + m]; }
    let cb = p.c_off + t.z1 * p.c_z1 + t.z2 * p.c_z2 + m * p.c_sm;
    for (var j = 0u; j < 8u; j++) {
        let n = t.n0 + j;
        if (n >= p.n) { break; }
        let ci = cb + n * p.c_sn;
        var v = select(hi[j & 3u], lo[j & 3u], j < 4u) + bv;
        if ((p.flags & 1u) != 0u) { v += c[ci]; }
        c[ci] = v;
    }
}

// One invocation's 8x8 tile of C. `vec_b` is a constant at each call (the compiler inlines the
// function and drops the other branch): false reads B with any strides by scalar loads, true as
// two vec4 per k (B contiguous along n, b_sn = 1, 4-aligned offsets and strides, n % 4 == 0).
fn mm_tile(wg: vec3<u32>, lid: vec3<u32>, sid: u32, vec_b: bool) {
    let t = tile(wg, lid);
    let ar = a_rows(t, sid);
    var bc: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) { bc[j] = b_col(t, j); }
    let bc0 = bc[0]; let bc1 = bc[1]; let bc2 = bc[2]; let bc3 = bc[3];
    let bc4 = bc[4]; let bc5 = bc[5]; let bc6 = bc[6]; let bc7 = bc[7];
    let bbase = (p.b_off + t.z1 * p.b_z1 + t.z2 * p.b_z2) / 4u;
    let last4 = p.n / 4u - 1u;
    let bq0 = bbase + min(t.n0 / 4u, last4);
    let bq1 = bbase + min(t.n0 / 4u + 1u, last4);
    let bsk = select(p.b_sk, p.b_sk / 4u, vec_b);
    let bskb = select(p.b_skb, p.b_skb / 4u, vec_b);
    var c00 = vec4<f32>(0.0);
    var c01 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0);
    var c11 = vec4<f32>(0.0);
    var c20 = vec4<f32>(0.0);
    var c21 = vec4<f32>(0.0);
    var c30 = vec4<f32>(0.0);
    var c31 = vec4<f32>(0.0);
    var c40 = vec4<f32>(0.0);
    var c41 = vec4<f32>(0.0);
    var c50 = vec4<f32>(0.0);
    var c51 = vec4<f32>(0.0);
    var c60 = vec4<f32>(0.0);
    var c61 = vec4<f32>(0.0);
    var c70 = vec4<f32>(0.0);
    var c71 = vec4<f32>(0.0);
    var ao = 0u;
    var bo = 0u;
    for (var kb = 0u; kb < p.kb; kb++) {
        var ak = ao;
        var bk = bo;
        for (var k = 0u; k < p.k; k++) {
            var b0: vec4<f32>;
            var b1: vec4<f32>;
            if (vec_b) {
                b0 = b4[bq0 + bk];
                b1 = b4[bq1 + bk];
            } else {
                b0 = vec4<f32>(b[bc0 + bk], b[bc1 + bk], b[bc2 + bk], b[bc3 + bk]);
                b1 = vec4<f32>(b[bc4 + bk], b[bc5 + bk], b[bc6 + bk], b[bc7 + bk]);
            }
            let x = a8(ar, ak);
            c00 += x.lo.x * b0;
            c01 += x.lo.x * b1;
            c10 += x.lo.y * b0;
            c11 += x.lo.y * b1;
            c20 += x.lo.z * b0;
            c21 += x.lo.z * b1;
            c30 += x.lo.w * b0;
            c31 += x.lo.w * b1;
            c40 += x.hi.x * b0;
            c41 += x.hi.x * b1;
            c50 += x.hi.y * b0;
            c51 += x.hi.y * b1;
            c60 += x.hi.z * b0;
            c61 += x.hi.z * b1;
            c70 += x.hi.w * b0;
            c71 += x.hi.w * b1;
            ak += p.a_sk;
            bk += bsk;
        }
        ao += p.a_skb;
        bo += bskb;
    }
    store_row(t, 0u, c00, c01);
    store_row(t, 1u, c10, c11);
    store_row(t, 2u, c20, c21);
    store_row(t, 3u, c30, c31);
    store_row(t, 4u, c40, c41);
    store_row(t, 5u, c50, c51);
    store_row(t, 6u, c60, c61);
    store_row(t, 7u, c70, c71);
}

// c[i] [+]= sum_z a[z * k + i] for i < m: adds the per-image partial weight gradients in a
// fixed order (deterministic, unlike atomics).
@compute @workgroup_size(ZSUM_WG)
fn zsum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg, ZSUM_WG);
    if (i >= p.m) { return; }
    var s = 0.0;
    for (var z = 0u; z < p.kb; z++) { s += a[z * p.k + i]; }
    if ((p.flags & 1u) != 0u) { s += c[i]; }
    c[i] = s;
}

// C(m) = sum_{kb, k} A(m, kb, k): the bias gradient (sum of gy over images and positions).
@compute @workgroup_size(64)
fn rowsum(@builtin(global_invocation_id) gid: vec3<u32>) {
    let m = gid.x;
    if (m >= p.m) { return; }
    var s = 0.0;
    var ao = p.a_off + m * p.a_sm;
    for (var kb = 0u; kb < p.kb; kb++) {
        var ak = ao;
        for (var k = 0u; k < p.k; k++) {
            s += a[ak];
            ak += p.a_sk;
        }
        ao += p.a_skb;
    }
    c[p.c_off + m * p.c_sm] = s;
}
