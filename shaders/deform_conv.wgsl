// Deformable convolution: the kernels that work per sample point (ops/deform_conv.rs).
//
// A sample point is one (offset group g, kernel tap, image bi of the chunk, output position pl of
// the chunk). Its position is (oy*stride - pad + i*dil + dy, ox*stride - pad + j*dil + dx) with
// (dy, dx) = offset[b, 2*(g*kk+tap) + {0,1}, oy, ox], exactly as torchvision. Every channel of the
// offset group is sampled at that point, so each invocation computes the bilinear footprint once
// and loops over the group's channels.
//
// Columns (and their gradient) have row r = c*kk + tap and column n = bi*np + pl; the column
// gradient and the forward's columns are stored [Cin*kk, nc] (element r*nc + n), the backward's
// recomputed columns transposed (element n*col_cs + r), see col_rs/col_cs.
// The grid is folded into two dimensions: s = gid.x + gid.y * nwg.x * 64.

#include "common.wgsl"

// Invocations per workgroup of the one-item-per-invocation entry points.
const WG: u32 = 64u;

struct Geo {
    cin: u32, h: u32, w: u32, kh: u32,
    kw: u32, hout: u32, wout: u32, stride: u32,
    pad: u32, dil: u32, og: u32, cpg: u32,      // cpg: channels per offset group
    nb: u32, b0: u32, np: u32, p0: u32,         // chunk: images b0..b0+nb, positions p0..p0+np
    nc: u32, has_mask: u32, nsamp: u32, write_col: u32,   // write_col: coord also writes columns
    col_rs: u32, col_cs: u32,                            // column element = r*col_rs + n*col_cs
    s0: u32, s1: u32,                                    // this dispatch: sample points s0..s1
    // direct4 (deform_conv_sg.wgsl) only: output channels o0..o0+on of cout. All: the offset
    // and mask tensors' channels per image, the mask's first channel in its tensor, and whether
    // the mask tensor holds logits (sigmoid applied on load, the logits' gradient written):
    // DCNv2's packed predictor output, whose gradient goff and gmask then share.
    cout: u32, o0: u32, on: u32, has_bias: u32,
    off_cs: u32, mask_cs: u32, mask_c0: u32, mask_logits: u32,
    off_slot: u32, count_dx: u32, om_np: u32, om_p0: u32,  // count_dx: coord also does
    // dx_count's counting; off_slot: max |offset| into offmax[off_slot]; NONE: not. direct4:
    // the offset and mask tensors' positions per plane and the first position they hold (a
    // band of rows; otherwise hout * wout and 0)
    has_add: u32,  // direct4: an addend of y's shape added in the store (inference's fused Add)
}

@group(0) @binding(0) var<uniform> q: Geo;
@group(0) @binding(1) var<storage, read> offset: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> col: array<f32>;
@group(0) @binding(5) var<storage, read> gcol: array<f32>;
@group(0) @binding(6) var<storage, read_write> goff: array<f32>;
@group(0) @binding(7) var<storage, read_write> gmask: array<f32>;
@group(0) @binding(8) var<storage, read_write> cnt: array<atomic<u32>>;
// binding 9: unused
@group(0) @binding(10) var<storage, read_write> ent: array<u32>;
@group(0) @binding(11) var<storage, read> offset4: array<vec4<f32>>;    // = offset (im2col4)
@group(0) @binding(12) var<storage, read> mask4: array<vec4<f32>>;      // = mask (im2col4)
@group(0) @binding(13) var<storage, read_write> col4: array<vec4<f32>>; // = col (im2col4)

struct Smp {
    b: u32,      // image index in the batch
    bi: u32,     // image index in the chunk
    g: u32,      // offset group
    tap: u32,    // i*kw + j
    n: u32,      // column in the chunk
    p: u32,      // output position oy*wout + ox
    y: f32,
    x: f32,
    m: f32,      // mask value (1 for DCNv1)
}

// Where sample point s sits: its indices, and the flat indices of its dy offset (dx is one
// image plane further) and of its mask value.
struct Where { b: u32, bi: u32, g: u32, tap: u32, n: u32, p: u32, oi: u32, mi: u32 }

fn locate(s: u32) -> Where {
    let kk = q.kh * q.kw;
    let pl = s % q.np;
    let t1 = s / q.np;
    let bi = t1 % q.nb;
    let t2 = t1 / q.nb;
    var w: Where;
    w.tap = t2 % kk;
    w.g = t2 / kk;
    w.p = q.p0 + pl;
    w.b = q.b0 + bi;
    w.bi = bi;
    w.n = bi * q.np + pl;
    let np_img = q.hout * q.wout;
    let ch = w.g * kk + w.tap;
    w.oi = (w.b * q.off_cs + 2u * ch) * np_img + w.p;
    w.mi = (w.b * q.mask_cs + q.mask_c0 + ch) * np_img + w.p;
    return w;
}

fn decode(s: u32) -> Smp {
    let w = locate(s);
    let np_img = q.hout * q.wout;
    var r: Smp;
    r.b = w.b;
    r.bi = w.bi;
    r.g = w.g;
    r.tap = w.tap;
    r.n = w.n;
    r.p = w.p;
    let i = w.tap / q.kw;
    let j = w.tap % q.kw;
    // Integer base first, then one float add: the same rounding as torchvision.
    r.y = f32(i32(w.p / q.wout * q.stride + i * q.dil) - i32(q.pad)) + offset[w.oi];
    r.x = f32(i32(w.p % q.wout * q.stride + j * q.dil) - i32(q.pad)) + offset[w.oi + np_img];
    r.m = 1.0;
    if (q.has_mask != 0u) {
        r.m = mask[w.mi];
        if (q.mask_logits != 0u) { r.m = logistic(r.m); }
    }
    return r;
}

// The four corners of a bilinear footprint. `ok*` says whether a corner lies in the image;
// `inside` is torchvision's border rule for the sampled value (y <= -1, y >= H, ... give 0).
struct Foot {
    o00: u32, o01: u32, o10: u32, o11: u32,   // offsets inside one channel plane (clamped)
    ok00: bool, ok01: bool, ok10: bool, ok11: bool,
    ly: f32, lx: f32,
    inside: bool,
}

fn footprint(y: f32, x: f32) -> Foot {
    let yf = floor(y);
    let xf = floor(x);
    // Clamping to [-2, size] keeps far-away points out of the image (both corners invalid)
    // without overflowing the integer conversion.
    let yl = i32(clamp(yf, -2.0, f32(q.h)));
    let xl = i32(clamp(xf, -2.0, f32(q.w)));
    let yh = yl + 1;
    let xh = xl + 1;
    let hi = i32(q.h);
    let wi = i32(q.w);
    let vyl = yl >= 0 && yl < hi;
    let vyh = yh >= 0 && yh < hi;
    let vxl = xl >= 0 && xl < wi;
    let vxh = xh >= 0 && xh < wi;
    let cyl = u32(clamp(yl, 0, hi - 1));
    let cyh = u32(clamp(yh, 0, hi - 1));
    let cxl = u32(clamp(xl, 0, wi - 1));
    let cxh = u32(clamp(xh, 0, wi - 1));
    var f: Foot;
    f.o00 = cyl * q.w + cxl;
    f.o01 = cyl * q.w + cxh;
    f.o10 = cyh * q.w + cxl;
    f.o11 = cyh * q.w + cxh;
    f.ok00 = vyl && vxl;
    f.ok01 = vyl && vxh;
    f.ok10 = vyh && vxl;
    f.ok11 = vyh && vxh;
    f.ly = y - yf;
    f.lx = x - xf;
    f.inside = y > -1.0 && y < f32(q.h) && x > -1.0 && x < f32(q.w);
    return f;
}

// columns[c*kk + tap, n] = mask * bilinear(x[b, c], y, x) for every channel c of the group.
@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = q.s0 + flat(gid, nwg, WG);
    if (s >= q.s1) { return; }
    let d = decode(s);
    let f = footprint(d.y, d.x);
    let hy = 1.0 - f.ly;
    let hx = 1.0 - f.lx;
    let inside = f.inside;
    let w00 = select(0.0, d.m * hy * hx, inside && f.ok00);
    let w01 = select(0.0, d.m * hy * f.lx, inside && f.ok01);
    let w10 = select(0.0, d.m * f.ly * hx, inside && f.ok10);
    let w11 = select(0.0, d.m * f.ly * f.lx, inside && f.ok11);
    let kk = q.kh * q.kw;
    let hw = q.h * q.w;
    let c0 = d.g * q.cpg;
    var plane = (d.b * q.cin + c0) * hw;
    var ci = (c0 * kk + d.tap) * q.col_rs + d.n * q.col_cs;
    for (var c = 0u; c < q.cpg; c++) {
        // select() rather than weight 0 so an inf/NaN in an unused corner cannot leak in.
        let v = select(0.0, w00 * x[plane + f.o00], f.ok00)
              + select(0.0, w01 * x[plane + f.o01], f.ok01)
              + select(0.0, w10 * x[plane + f.o10], f.ok10)
              + select(0.0, w11 * x[plane + f.o11], f.ok11);
        col[ci] = v;
        plane += hw;
        ci += kk * q.col_rs;
    }
}

// im2col for four consecutive output positions per invocation, chosen by the launcher when the
// chunk's positions, its start and each image's positions are multiples of 4 (so the four share
// group, tap and image, and their offsets, mask values and columns are 4-aligned): the offsets
// and mask come in as vec4 loads and each channel's four columns go out as one vec4 store. On
// lavapipe every load or store with a computed index runs lane by lane, and the stores and the
// three loads of `decode` were a fifth of im2col's memory operations at 4-8 channels per
// offset group. Same arithmetic per sample as im2col, so the columns are bit-identical.
struct Bil { o: vec4<u32>, ok: vec4<bool>, w: vec4<f32> }   // corners 00, 01, 10, 11

fn bil_point(oy: u32, ox: u32, i: u32, j: u32, dy: f32, dx: f32, m: f32) -> Bil {
    let y = f32(i32(oy * q.stride + i * q.dil) - i32(q.pad)) + dy;
    let x = f32(i32(ox * q.stride + j * q.dil) - i32(q.pad)) + dx;
    let f = footprint(y, x);
    let hy = 1.0 - f.ly;
    let hx = 1.0 - f.lx;
    var b: Bil;
    b.o = vec4<u32>(f.o00, f.o01, f.o10, f.o11);
    b.ok = vec4<bool>(f.ok00, f.ok01, f.ok10, f.ok11);
    b.w = vec4<f32>(select(0.0, m * hy * hx, f.inside && f.ok00),
                    select(0.0, m * hy * f.lx, f.inside && f.ok01),
                    select(0.0, m * f.ly * hx, f.inside && f.ok10),
                    select(0.0, m * f.ly * f.lx, f.inside && f.ok11));
    return b;
}

fn bil_sample(b: Bil, plane: u32) -> f32 {
    return select(0.0, b.w.x * x[plane + b.o.x], b.ok.x)
         + select(0.0, b.w.y * x[plane + b.o.y], b.ok.y)
         + select(0.0, b.w.z * x[plane + b.o.z], b.ok.z)
         + select(0.0, b.w.w * x[plane + b.o.w], b.ok.w);
}

// The footprints of output positions p..p+3 at one tap, from their offsets and mask values.
struct Bil4 { p0: Bil, p1: Bil, p2: Bil, p3: Bil }

fn bil_point4(p: u32, tap: u32, dy: vec4<f32>, dx: vec4<f32>, m: vec4<f32>) -> Bil4 {
    let at = rows_cols4(p);
    return bil_point4_at(at, tap / q.kw, tap % q.kw, dy, dx, m);
}

// Output rows (.oy) and columns (.ox) of positions p..p+3. Integer division by a value the
// compiler does not know runs lane by lane on lavapipe (one idiv per lane), so loops over taps
// compute this once (direct4).
struct At4 { oy: vec4<u32>, ox: vec4<u32> }

fn rows_cols4(p: u32) -> At4 {
    let ps = vec4<u32>(p, p + 1u, p + 2u, p + 3u);
    return At4(ps / q.wout, ps % q.wout);
}

// bil_point4 at tap (i, j) for positions whose rows and columns are known.
fn bil_point4_at(at: At4, i: u32, j: u32, dy: vec4<f32>, dx: vec4<f32>, m: vec4<f32>) -> Bil4 {
    return Bil4(bil_point(at.oy.x, at.ox.x, i, j, dy.x, dx.x, m.x),
                bil_point(at.oy.y, at.ox.y, i, j, dy.y, dx.y, m.y),
                bil_point(at.oy.z, at.ox.z, i, j, dy.z, dx.z, m.z),
                bil_point(at.oy.w, at.ox.w, i, j, dy.w, dx.w, m.w));
}

// Channel plane `plane` sampled at the four footprints.
fn bil_sample4(b: Bil4, plane: u32) -> vec4<f32> {
    return vec4<f32>(bil_sample(b.p0, plane), bil_sample(b.p1, plane), bil_sample(b.p2, plane),
                     bil_sample(b.p3, plane));
}

@compute @workgroup_size(WG)
fn im2col4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = q.s0 + 4u * flat(gid, nwg, WG);
    if (s >= q.s1) { return; }
    let w = locate(s);
    let np_img = q.hout * q.wout;
    // oi, mi and the plane size are multiples of 4 (the launcher's condition).
    let dy = offset4[w.oi / 4u];
    let dx = offset4[(w.oi + np_img) / 4u];
    var m = vec4<f32>(1.0);
    if (q.has_mask != 0u) {
        m = mask4[w.mi / 4u];
        if (q.mask_logits != 0u) {
            m = vec4<f32>(logistic(m.x), logistic(m.y), logistic(m.z), logistic(m.w));
        }
    }
    let bs = bil_point4(w.p, w.tap, dy, dx, m);
    let kk = q.kh * q.kw;
    let hw = q.h * q.w;
    let c0 = w.g * q.cpg;
    var plane = (w.b * q.cin + c0) * hw;
    var ci = ((c0 * kk + w.tap) * q.col_rs + w.n) / 4u;
    let step = kk * q.col_rs / 4u;
    for (var c = 0u; c < q.cpg; c++) {
        col4[ci] = bil_sample4(bs, plane);
        plane += hw;
        ci += step;
    }
}

// Offset and mask gradients of one sample point from the column gradient gcol = W^T gy.
// The offset derivative is torchvision's get_coordinate_weight (one-sided at grid lines, no
// border rule); the mask derivative is the sampled value (with the border rule). With write_col
// it also writes the columns for the weight gradient: it loads the same four corners anyway.
@compute @workgroup_size(WG)
fn coord(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = q.s0 + flat(gid, nwg, WG);
    if (s >= q.s1) { return; }
    let d = decode(s);
    let f = footprint(d.y, d.x);
    let hy = 1.0 - f.ly;
    let hx = 1.0 - f.lx;
    let kk = q.kh * q.kw;
    let hw = q.h * q.w;
    let c0 = d.g * q.cpg;
    var plane = (d.b * q.cin + c0) * hw;
    var row = (c0 * kk + d.tap) * q.nc + d.n;
    var ci = (c0 * kk + d.tap) * q.col_rs + d.n * q.col_cs;
    let wmask = select(0.0, d.m, f.inside);
    var gy_acc = 0.0;
    var gx_acc = 0.0;
    var gm_acc = 0.0;
    for (var c = 0u; c < q.cpg; c++) {
        let v00 = select(0.0, x[plane + f.o00], f.ok00);
        let v01 = select(0.0, x[plane + f.o01], f.ok01);
        let v10 = select(0.0, x[plane + f.o10], f.ok10);
        let v11 = select(0.0, x[plane + f.o11], f.ok11);
        let g = gcol[row];
        let val = hy * hx * v00 + hy * f.lx * v01 + f.ly * hx * v10 + f.ly * f.lx * v11;
        gy_acc += g * (f.lx * (v11 - v01) + hx * (v10 - v00));
        gx_acc += g * (f.ly * (v11 - v10) + hy * (v01 - v00));
        gm_acc += g * val;
        if (q.write_col != 0u) { col[ci] = wmask * val; }
        plane += hw;
        row += kk * q.nc;
        ci += kk * q.col_rs;
    }
    let np_img = q.hout * q.wout;
    let ch = d.g * kk + d.tap;
    let oi = (d.b * q.off_cs + 2u * ch) * np_img + d.p;
    goff[oi] = d.m * gy_acc;
    goff[oi + np_img] = d.m * gx_acc;
    if (q.has_mask != 0u) {
        var gm = select(0.0, gm_acc, f.inside);
        // Through the sigmoid, as elementwise.wgsl's sigmoid_backward computes it.
        if (q.mask_logits != 0u) { gm = gm * d.m * (1.0 - d.m); }
        gmask[(d.b * q.mask_cs + q.mask_c0 + ch) * np_img + d.p] = gm;
    }
    if (q.count_dx != 0u) { count_touches(d, f); }
}

fn count_touches(d: Smp, f: Foot) {
    if (!f.inside) { return; }
    let base = (d.bi * q.og + d.g) * q.h * q.w;
    if (f.ok00) { atomicAdd(&cnt[base + f.o00], 1u); }
    if (f.ok01) { atomicAdd(&cnt[base + f.o01], 1u); }
    if (f.ok10) { atomicAdd(&cnt[base + f.o10], 1u); }
    if (f.ok11) { atomicAdd(&cnt[base + f.o11], 1u); }
}

// Input gradient, step 1: count how many sample points touch each input pixel, per offset group
// (bucket (bi*og + g)*H*W + pixel). Only integer atomics: WGSL has no float atomics. When the
// offsets' gradient is also wanted, `coord` counts instead (count_dx), from the footprint it
// computes anyway.
@compute @workgroup_size(WG)
fn dx_count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = q.s0 + flat(gid, nwg, WG);
    if (s >= q.s1) { return; }
    let d = decode(s);
    count_touches(d, footprint(d.y, d.x));
}

fn put(bucket: u32, key: u32, w: f32) {
    let slot = atomicAdd(&cnt[bucket], 1u);
    ent[2u * slot] = key;
    ent[2u * slot + 1u] = bitcast<u32>(w);
}

// Step 3 (after the scan of the counts into `start`, which also set `cnt` to it): write each touch as
// (key = tap*nc + n, weight = mask * bilinear corner weight) into its pixel's bucket. The order
// inside a bucket depends on thread timing; dx_sort makes it canonical, and does little when the
// entries arrive in key order. The corners go in the order 11, 10, 01, 00: two lanes of one
// instruction that touch the same pixel then arrive in key (column) order when offsets are small.
fn fill_one(s: u32) {
    let d = decode(s);
    let f = footprint(d.y, d.x);
    if (!f.inside) { return; }
    let hy = 1.0 - f.ly;
    let hx = 1.0 - f.lx;
    let base = (d.bi * q.og + d.g) * q.h * q.w;
    let key = d.tap * q.nc + d.n;
    if (f.ok11) { put(base + f.o11, key, d.m * f.ly * f.lx); }
    if (f.ok10) { put(base + f.o10, key, d.m * f.ly * hx); }
    if (f.ok01) { put(base + f.o01, key, d.m * hy * f.lx); }
    if (f.ok00) { put(base + f.o00, key, d.m * hy * hx); }
}

// One sample point per invocation: for devices that run many workgroups at once.
@compute @workgroup_size(WG)
fn dx_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = q.s0 + flat(gid, nwg, WG);
    if (s < q.s1) { fill_one(s); }
}

// Sample points one invocation of dx_fill_seq takes, 8 apart.
const SEQ: u32 = 64u;

// For 8-lane subgroup devices (lavapipe), which run a workgroup's subgroups one after another
// and hand each thread a contiguous range of workgroups: one subgroup per workgroup walks
// 8 * SEQ sample points in order, image by image and in each image tap by tap (the sample
// points s0..s1 of dx_fill are taps-major). Each thread then fills the buckets of its own
// images in key order, and the sort has little left to do: only where a thread's range starts
// inside an image, or two lanes of one instruction touch a pixel out of order. (dx_fill's order
// made every bucket of [4,8,32,32] arrive with ~9 descents for the sort to undo: the two
// threads' tap ranges interleaved.)
@compute @workgroup_size(8)
fn dx_fill_seq(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg, 8u);
    let first = (t / 8u) * (8u * SEQ) + t % 8u;
    let per_tap = q.nb * q.np;
    let taps = (q.s1 - q.s0) / per_tap;
    for (var i = 0u; i < SEQ; i++) {
        let j = first + 8u * i;
        if (j >= q.s1 - q.s0) { return; }
        let r = j / q.np;
        let tap = r % taps;
        let bi = r / taps;
        fill_one(q.s0 + (tap * q.nb + bi) * q.np + j % q.np);
    }
}
