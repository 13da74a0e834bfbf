// BatchNorm over NCHW (ops/batchnorm.rs). Per-channel reductions run as a grid of
// [C, S] workgroups: workgroup (c, s) reduces chunk s of channel c's N*HW elements (flat order
// j = n*HW + i) to a partial, and a second pass combines the S partials of each channel.
// The forward statistic is a shifted sum per invocation (the shift is a sample of the channel),
// merged as (count, mean, M2) with Chan's formula across the workgroup and across chunks: no
// E[x^2] - E[x]^2 cancellation in f32 even when |mean| >> std.
//
// Per-channel stats layout ([4, C]): mean, invstd, scale (= gamma * invstd, or invstd without
// affine), shift (= beta, or 0). The elementwise kernels compute (x - mean) * scale + shift.

struct Params {
    c: u32,          // channels
    hw: u32,         // elements of one (n, c) plane
    n: u32,          // batch
    chunks: u32,     // S: workgroups per channel in the reductions
    chunk_len: u32,  // elements of a channel per chunk (the last chunk may be shorter)
    total: u32,      // N * C * HW
    affine: u32,     // 1: gamma/beta are bound
    vec4: u32,       // 1: HW % 4 == 0, so the elementwise loops may move vec4s (x4, gy4, out4)
    momentum: f32,
    eps: f32,
    act: u32,        // 1: the fused train-mode kernels apply LeakyReLU(slope) after the BatchNorm
    slope: f32,      // (ReLU: slope 0), with the formulas of elementwise.wgsl's leaky_relu pair
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(8) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(9) var<storage, read_write> out: array<f32>;
@group(0) @binding(10) var<storage, read_write> gbeta: array<f32>;
@group(0) @binding(11) var<storage, read_write> ggamma: array<f32>;
// x, gy and out read as four floats at a time (bound to the same buffers; used when p.vec4 = 1,
// where no vec4 crosses an (n, c) plane). On lavapipe every load or store with a computed index
// runs lane by lane, so one vec4 in place of four scalars is a quarter of the memory operations.
@group(0) @binding(12) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read> gy4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> out4: array<vec4<f32>>;

// Reduction workgroups are small: fewer barrier levels in the tree, and on lavapipe a 64-wide
// workgroup measured faster than a 256-wide one.
const WG: u32 = 64u;

var<workgroup> sh_a: array<f32, 64>;
var<workgroup> sh_b: array<f32, 64>;
var<workgroup> sh_c: array<f32, 64>;

// Chan et al.: merges two (count, mean, M2) summaries.
fn chan(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
    if (b.x == 0.0) { return a; }
    if (a.x == 0.0) { return b; }
    let n = a.x + b.x;
    let d = b.y - a.y;
    let f = b.x / n;
    return vec3<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}

// The activation fused after a train-mode BatchNorm (p.act), forward and backward: the gradient
// goes through the activation at y = the BatchNorm's output, recomputed from x and the stats
// by the forward's expression, so it equals what leaky_relu_backward computes from the stored y.
fn act_fwd(y: f32) -> f32 {
    if (p.act == 0u) { return y; }
    return select(p.slope * y, y, y > 0.0);
}
fn act_fwd4(y: vec4<f32>) -> vec4<f32> {
    if (p.act == 0u) { return y; }
    return select(p.slope * y, y, y > vec4<f32>(0.0));
}
fn act_bwd(g: f32, xv: f32, c: u32) -> f32 {
    if (p.act == 0u) { return g; }
    let y = (xv - stats[c]) * stats[2u * p.c + c] + stats[3u * p.c + c];
    return select(p.slope * g, g, y > 0.0);
}
fn act_bwd4(g: vec4<f32>, xv: vec4<f32>, c: u32) -> vec4<f32> {
    if (p.act == 0u) { return g; }
    let y = (xv - stats[c]) * stats[2u * p.c + c] + stats[3u * p.c + c];
    return select(p.slope * g, g, y > vec4<f32>(0.0));
}

// The elementwise kernels run on a [ceil(HW / 256), C, N] grid: the channel is the workgroup's
// y, so no invocation divides (integer division is slow on GPUs and worse on lavapipe).
fn plane_index(gid: vec3<u32>) -> u32 {
    return (gid.z * p.c + gid.y) * p.hw + gid.x;
}

// (count, mean, M2) of chunk s of channel c, left in sh_a[0], sh_b[0], sh_c[0] for every
// invocation of the workgroup.
fn fwd_summary(c: u32, s: u32, t: u32) {
    let m = p.n * p.hw;
    let a = s * p.chunk_len;
    let b = min(a + p.chunk_len, m);
    var acc = vec3<f32>(0.0);
    if (a < b) {
        let n0 = a / p.hw;
        let n1 = (b - 1u) / p.hw;
        // Shifted sums: with a sample of the channel as the shift, s2 - s1^2 / n loses only
        // about (mean - shift)^2 / var ulps, and no division runs per element.
        let shift = x[(n0 * p.c + c) * p.hw + (a - n0 * p.hw)];
        var s1 = 0.0;
        var s2 = 0.0;
        for (var n = n0; n <= n1; n++) {
            let lo = select(0u, a - n * p.hw, n == n0);
            let hi = select(p.hw, b - n * p.hw, n == n1);
            let base = (n * p.c + c) * p.hw;
            for (var i = lo + t; i < hi; i += WG) {
                let d = x[base + i] - shift;
                acc.x += 1.0;
                s1 += d;
                s2 += d * d;
            }
        }
        if (acc.x > 0.0) {
            acc.y = shift + s1 / acc.x;
            acc.z = max(s2 - s1 * s1 / acc.x, 0.0);
        }
    }
    sh_a[t] = acc.x;
    sh_b[t] = acc.y;
    sh_c[t] = acc.z;
    workgroupBarrier();
    for (var off = WG / 2u; off > 0u; off >>= 1u) {
        if (t < off) {
            let r = chan(vec3<f32>(sh_a[t], sh_b[t], sh_c[t]),
                         vec3<f32>(sh_a[t + off], sh_b[t + off], sh_c[t + off]));
            sh_a[t] = r.x;
            sh_b[t] = r.y;
            sh_c[t] = r.z;
        }
        workgroupBarrier();
    }
}

// Forward partial: (count, mean, M2) of chunk s of channel c -> part[(c * S + s) * 3 ..].
@compute @workgroup_size(64)
fn fwd_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wg.x;
    let s = wg.y;
    fwd_summary(c, s, t);
    if (t == 0u) {
        let o = (c * p.chunks + s) * 3u;
        part[o] = sh_a[0];
        part[o + 1u] = sh_b[0];
        part[o + 2u] = sh_c[0];
    }
}

// The per-channel stats: mean, invstd, scale, shift.
fn channel_stats(c: u32, mean: f32, invstd: f32) -> vec4<f32> {
    var g = 1.0;
    var sh = 0.0;
    if (p.affine == 1u) {
        g = gamma[c];
        sh = beta[c];
    }
    return vec4<f32>(mean, invstd, g * invstd, sh);
}

fn write_stats(c: u32, st: vec4<f32>) {
    stats[c] = st.x;
    stats[p.c + c] = st.y;
    stats[2u * p.c + c] = st.z;
    stats[3u * p.c + c] = st.w;
}

// Train mode from a channel's (count, mean, M2): batch statistics (biased variance), and the
// running-stat update (unbiased) when `update`.
fn train_stats(c: u32, acc: vec3<f32>, update: bool) -> vec4<f32> {
    let var_b = acc.z / acc.x;
    if (update) {
        let var_u = acc.z / (acc.x - 1.0);
        rmean[c] = (1.0 - p.momentum) * rmean[c] + p.momentum * acc.y;
        rvar[c] = (1.0 - p.momentum) * rvar[c] + p.momentum * var_u;
    }
    return channel_stats(c, acc.y, 1.0 / sqrt(var_b + p.eps));
}

// Train mode: combines the chunks of each channel, one invocation per channel.
@compute @workgroup_size(64)
fn fwd_finalize_train(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= p.c) { return; }
    var acc = vec3<f32>(0.0);
    for (var s = 0u; s < p.chunks; s++) {
        let o = (c * p.chunks + s) * 3u;
        acc = chan(acc, vec3<f32>(part[o], part[o + 1u], part[o + 2u]));
    }
    write_stats(c, train_stats(c, acc, true));
}

// Train mode when a channel is one chunk (S == 1): fwd_partial, fwd_finalize_train and
// normalize in one dispatch, one workgroup per channel, with the same arithmetic (the combine
// of a single chunk returns it unchanged). On lavapipe each dispatch has a fixed cost of tens of
// microseconds that dominates small BatchNorms.
@compute @workgroup_size(64)
fn fwd_fused_train(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wg.x;
    fwd_summary(c, 0u, t);
    let st = train_stats(c, vec3<f32>(sh_a[0], sh_b[0], sh_c[0]), t == 0u);
    if (t == 0u) { write_stats(c, st); }
    if (p.vec4 != 0u) {
        let q = p.hw / 4u;
        for (var n = 0u; n < p.n; n++) {
            let base = (n * p.c + c) * q;
            for (var i = t; i < q; i += WG) {
                out4[base + i] = act_fwd4((x4[base + i] - st.x) * st.z + st.w);
            }
        }
        return;
    }
    for (var n = 0u; n < p.n; n++) {
        let base = (n * p.c + c) * p.hw;
        for (var i = t; i < p.hw; i += WG) {
            out[base + i] = act_fwd((x[base + i] - st.x) * st.z + st.w);
        }
    }
}

// Eval mode: the running statistics, unchanged.
@compute @workgroup_size(64)
fn fwd_finalize_eval(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= p.c) { return; }
    write_stats(c, channel_stats(c, rmean[c], 1.0 / sqrt(rvar[c] + p.eps)));
}

@compute @workgroup_size(256)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.y;
    let j = plane_index(gid);
    if (gid.x >= p.hw) { return; }
    out[j] = (x[j] - stats[c]) * stats[2u * p.c + c] + stats[3u * p.c + c];
}

// The vec4 form of the elementwise kernels (p.vec4 = 1), on a [ceil(HW / 4 / 256), C, N] grid.
fn plane_index_v4(gid: vec3<u32>) -> u32 {
    return (gid.z * p.c + gid.y) * (p.hw / 4u) + gid.x;
}

@compute @workgroup_size(256)
fn normalize_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.y;
    let j = plane_index_v4(gid);
    if (gid.x >= p.hw / 4u) { return; }
    out4[j] = (x4[j] - stats[c]) * stats[2u * p.c + c] + stats[3u * p.c + c];
}

// (sum g, sum g * (x - mean)) of chunk s of channel c, left in sh_a[0], sh_b[0] for every
// invocation of the workgroup.
fn bwd_summary(c: u32, s: u32, t: u32) {
    let m = p.n * p.hw;
    let a = s * p.chunk_len;
    let b = min(a + p.chunk_len, m);
    let mean = stats[c];
    var sg = 0.0;
    var sgx = 0.0;
    if (a < b) {
        let n0 = a / p.hw;
        let n1 = (b - 1u) / p.hw;
        for (var n = n0; n <= n1; n++) {
            let lo = select(0u, a - n * p.hw, n == n0);
            let hi = select(p.hw, b - n * p.hw, n == n1);
            let base = (n * p.c + c) * p.hw;
            for (var i = lo + t; i < hi; i += WG) {
                let xv = x[base + i];
                let g = act_bwd(gy[base + i], xv, c);
                sg += g;
                sgx += g * (xv - mean);
            }
        }
    }
    sh_a[t] = sg;
    sh_b[t] = sgx;
    workgroupBarrier();
    for (var off = WG / 2u; off > 0u; off >>= 1u) {
        if (t < off) {
            sh_a[t] += sh_a[t + off];
            sh_b[t] += sh_b[t + off];
        }
        workgroupBarrier();
    }
}

// Backward partial: (sum g, sum g * xhat) of chunk s of channel c -> part[(c * S + s) * 2 ..].
@compute @workgroup_size(64)
fn bwd_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wg.x;
    let s = wg.y;
    bwd_summary(c, s, t);
    if (t == 0u) {
        let o = (c * p.chunks + s) * 2u;
        part[o] = sh_a[0];
        part[o + 1u] = sh_b[0] * stats[p.c + c];
    }
}

// gbeta[c] = sum g, ggamma[c] = sum g * xhat (the affine gradients; train-mode dx needs them too).
@compute @workgroup_size(64)
fn bwd_finalize(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= p.c) { return; }
    var sg = 0.0;
    var sgx = 0.0;
    for (var s = 0u; s < p.chunks; s++) {
        let o = (c * p.chunks + s) * 2u;
        sg += part[o];
        sgx += part[o + 1u];
    }
    gbeta[c] = sg;
    ggamma[c] = sgx;
}

// Train mode: the gradient flows through the batch mean and variance too.
// dx = scale * (g - mean(g) - xhat * mean(g * xhat)).
@compute @workgroup_size(256)
fn bwd_dx_train(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.y;
    let j = plane_index(gid);
    if (gid.x >= p.hw) { return; }
    let inv_m = 1.0 / f32(p.n * p.hw);
    let xhat = (x[j] - stats[c]) * stats[p.c + c];
    out[j] = stats[2u * p.c + c] * (gy[j] - gbeta[c] * inv_m - xhat * ggamma[c] * inv_m);
}

@compute @workgroup_size(256)
fn bwd_dx_train_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.y;
    let j = plane_index_v4(gid);
    if (gid.x >= p.hw / 4u) { return; }
    let inv_m = 1.0 / f32(p.n * p.hw);
    let xhat = (x4[j] - stats[c]) * stats[p.c + c];
    out4[j] = stats[2u * p.c + c] * (gy4[j] - gbeta[c] * inv_m - xhat * ggamma[c] * inv_m);
}

// Train mode when a channel is one chunk: bwd_partial, bwd_finalize and bwd_dx_train in one
// dispatch, one workgroup per channel, with the same arithmetic.
@compute @workgroup_size(64)
fn bwd_fused_train(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wg.x;
    bwd_summary(c, 0u, t);
    let sg = sh_a[0];
    let sgx = sh_b[0] * stats[p.c + c];
    if (t == 0u) {
        gbeta[c] = sg;
        ggamma[c] = sgx;
    }
    let inv_m = 1.0 / f32(p.n * p.hw);
    let mean = stats[c];
    let invstd = stats[p.c + c];
    let scale = stats[2u * p.c + c];
    if (p.vec4 != 0u) {
        let q = p.hw / 4u;
        for (var n = 0u; n < p.n; n++) {
            let base = (n * p.c + c) * q;
            for (var i = t; i < q; i += WG) {
                let xv = x4[base + i];
                let xhat = (xv - mean) * invstd;
                let g = act_bwd4(gy4[base + i], xv, c);
                out4[base + i] = scale * (g - sg * inv_m - xhat * sgx * inv_m);
            }
        }
        return;
    }
    for (var n = 0u; n < p.n; n++) {
        let base = (n * p.c + c) * p.hw;
        for (var i = t; i < p.hw; i += WG) {
            let xv = x[base + i];
            let xhat = (xv - mean) * invstd;
            let g = act_bwd(gy[base + i], xv, c);
            out[base + i] = scale * (g - sg * inv_m - xhat * sgx * inv_m);
        }
    }
}

// Eval mode: an affine map per channel.
@compute @workgroup_size(256)
fn bwd_dx_eval(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = plane_index(gid);
    if (gid.x >= p.hw) { return; }
    out[j] = gy[j] * stats[2u * p.c + gid.y];
}

@compute @workgroup_size(256)
fn bwd_dx_eval_v4(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = plane_index_v4(gid);
    if (gid.x >= p.hw / 4u) { return; }
    out4[j] = gy4[j] * stats[2u * p.c + gid.y];
}
