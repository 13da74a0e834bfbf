// Strided batched matmul for deformable convolution (ops/deform_conv.rs):
//   C(m, n) [= or +=] sum_{kb, k} A(m, kb, k) * B(kb, k, n) [+ bias(m)]
// with every operand addressed by explicit strides, so the forward (W x columns), the column
// gradient (W^T x gy) and the weight gradient (gy x columns^T, reduced over the images of a chunk)
// are the same kernel on NCHW tensors without transposes or copies. z = z1 * z2count + z2 selects
// (image, weight group) for the forward and column gradient.
//
// Register tiling for lavapipe: each invocation computes a 4x4 block; the 4 rows come from the
// workgroup id only, so the A loads are uniform across the workgroup (one scalar load broadcast
// to every lane on a CPU driver) and only the B loads are per-lane. No workgroup memory: it is
// slower than plain loads on lavapipe.

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

const WG: u32 = 64u;

@compute @workgroup_size(64)
fn mm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let z1 = wg.z / p.z2;
    let z2 = wg.z % p.z2;
    let m0 = wg.y * 4u;
    let n0 = (wg.x * WG + lid.x) * 4u;
    let mlast = p.m - 1u;
    let nlast = p.n - 1u;
    // Out-of-range rows and columns are clamped for loading and skipped when storing, so no
    // invocation returns early (that would make the uniform A loads divergent).
    let abase = p.a_off + z1 * p.a_z1 + z2 * p.a_z2;
    let ar0 = abase + min(m0, mlast) * p.a_sm;
    let ar1 = abase + min(m0 + 1u, mlast) * p.a_sm;
    let ar2 = abase + min(m0 + 2u, mlast) * p.a_sm;
    let ar3 = abase + min(m0 + 3u, mlast) * p.a_sm;
    let bbase = p.b_off + z1 * p.b_z1 + z2 * p.b_z2;
    let bc0 = bbase + min(n0, nlast) * p.b_sn;
    let bc1 = bbase + min(n0 + 1u, nlast) * p.b_sn;
    let bc2 = bbase + min(n0 + 2u, nlast) * p.b_sn;
    let bc3 = bbase + min(n0 + 3u, nlast) * p.b_sn;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var ao = 0u;
    var bo = 0u;
    for (var kb = 0u; kb < p.kb; kb++) {
        var ak = ao;
        var bk = bo;
        for (var k = 0u; k < p.k; k++) {
            let bv = vec4<f32>(b[bc0 + bk], b[bc1 + bk], b[bc2 + bk], b[bc3 + bk]);
            acc0 += a[ar0 + ak] * bv;
            acc1 += a[ar1 + ak] * bv;
            acc2 += a[ar2 + ak] * bv;
            acc3 += a[ar3 + ak] * bv;
            ak += p.a_sk;
            bk += p.b_sk;
        }
        ao += p.a_skb;
        bo += p.b_skb;
    }
    let cbase = p.c_off + z1 * p.c_z1 + z2 * p.c_z2;
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + i;
        if (m >= p.m) { break; }
        var r: vec4<f32>;
        switch i {
            case 0u: { r = acc0; }
            case 1u: { r = acc1; }
            case 2u: { r = acc2; }
            default: { r = acc3; }
        }
        if ((p.flags & 2u) != 0u) { r += vec4<f32>(bias[z2 * p.bias_z2 + m]); }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + j;
            if (n >= p.n) { break; }
            let ci = cbase + m * p.c_sm + n * p.c_sn;
            var v = r[j];
            if ((p.flags & 1u) != 0u) { v += c[ci]; }
            c[ci] = v;
        }
    }
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
