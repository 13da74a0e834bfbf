// Direct 2-D convolution as a register-blocked gather (forward, and input gradient as a
// transposed gather), plus the weight packing it reads (launchers: src/ops/conv2d.rs).
//
// Cost model on lavapipe (the software driver this was tuned on): every storage load whose index
// is not a compile-time constant runs as a loop over the SIMD lanes, so the time is set by the
// number of loads per FMA, not by the FMAs. Each invocation therefore owns 8 destination channels
// x 8 destination pixels (64 accumulators): per reduction step it loads 8 source values and two
// vec4 of packed weights and does 64 FMAs. No workgroup memory (slower there).
//
// One kernel serves the forward pass and the input gradient. Destination pixel j of a lane
// is at (out_y0 + out_mul * a, out_x0 + out_mul * (b0 + j)); tap k reads the source at
// (in_mul * a + T(ky), in_mul * (b0 + j) + T(kx)) with T(k) = (tc0 + tsgn * k * dil) / tdiv, and
// the tap is skipped when the division is not exact.
//   forward:        in_mul = stride, out_mul = 1, tc0 = -pad, tsgn = +1, tdiv = 1
//   input gradient: one dispatch per stride phase (py, px): in_mul = 1, out_mul = stride,
//                   out_y0 = py, tc0 = py + pad, tsgn = -1, tdiv = stride
// so stride-2 input gradients never visit the taps that do not reach a phase (no wasted FMAs,
// no atomics).

#include "common.wgsl"

struct Gather {
  n: u32, cin: u32, ih: u32, iw: u32,            // source [n, cin, ih, iw]
  cout: u32, oh: u32, ow: u32, red: u32,         // destination [n, cout, oh, ow]; red = reduction channels per group
  og: u32, blocks_g: u32, kh: u32, kw: u32,      // og = destination channels per group, blocks_g = ceil(og / R)
  rows: u32, cols: u32, cols_b: u32, chunks: u32,// a < rows, b < cols, cols_b = ceil(cols / 8), chunks = workgroups per image
  in_mul: u32, out_mul: u32, out_y0: u32, out_x0: u32,
  tc0y: i32, tc0x: i32, tsgn: i32, tdiv: i32,
  dil: u32, has_bias: u32, total: u32, wmode: u32,// total = n * chunks; wmode: see w8_lane
  act: u32, slope: f32, o0: u32, on: u32,        // act != 0: LeakyReLU(slope) after the bias (inference);
                                                 // gather16/32/64: destination channels o0 .. o0 + on of each group
  src_blk: u32, dst_blk: u32, add: u32, _b1: u32,// != 0: source / destination in pixel blocks (conv2d_sg.wgsl);
                                                 // add != 0: `addend` (same layout as dst) added before the activation
}

@group(0) @binding(0) var<uniform> p: Gather;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4<f32>>;   // packed, see pack_weights
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@group(0) @binding(5) var<storage, read> wp1: array<f32>;        // packed, as scalars (R = 1, subgroup loads)
@group(0) @binding(6) var<storage, read_write> dst4: array<vec4<f32>>; // = dst, for whole-vec4 stores
@group(0) @binding(7) var<storage, read> addend: array<f32>;     // p.add != 0 (gather64 only)
@group(0) @binding(8) var<storage, read> addend4: array<vec4<f32>>; // = addend
@group(0) @binding(9) var<storage, read> src4: array<vec4<f32>>;    // = src (gather1s3v only)
// = wp as a uniform block (gather56 and gather16w*; 4096 = UNIFORM_WEIGHT_FLOATS / 4 in
// src/ops/conv2d/gather.rs). lavapipe loads a uniform block lane by lane without the storage
// path's per-lane branches.
@group(0) @binding(10) var<uniform> wu: array<vec4<f32>, 4096>;

// Set by the kernel that takes an addend (gather64) from p.add: its stores then leave out the
// activation, and `add_addend` adds the addend and applies it afterwards. Every other kernel
// leaves it false, so the compiler folds it out of their stores. (Addend loads at each inlined
// store site cost ~5 s of first compiles in a search and 6 s in gather64's: docs/perf-log.md.)
var<private> with_addend: bool;

// Tap offset of tap k along one axis, or i32 min when the tap does not reach this phase.
fn tap_off(c0: i32, k: u32) -> i32 {
  let num = c0 + p.tsgn * i32(k * p.dil);
  if (num % p.tdiv != 0) { return NO_TAP; }
  return num / p.tdiv;
}

// One destination pixel of a lane: source offset in the row (or 0) and whether it is inside.
struct Px { off: u32, ok: bool }

fn px(rowb: u32, rok: bool, sx: i32) -> Px {
  let ok = rok && sx >= 0 && sx < i32(p.iw);
  return Px(rowb + select(0u, u32(sx), ok), ok);
}

fn ld(q: Px, c: u32) -> f32 {
  return select(0.0, src[q.off + c], q.ok);
}

fn lane_coords(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> vec4<u32> {
  // (n, a, b0, live)
  let flat = wid.x + wid.z * nwg.x;
  let n = flat / p.chunks;
  let t = (flat % p.chunks) * GWG + lid.x;
  let live = select(0u, 1u, flat < p.total && t < p.rows * p.cols_b);
  return vec4<u32>(n, t / p.cols_b, (t % p.cols_b) * 8u, live);
}

fn store(n: u32, c: u32, a: u32, b: u32, v: f32) {
  if (b < p.cols) {
    let oy = p.out_y0 + a * p.out_mul;
    let ox = p.out_x0 + b * p.out_mul;
    var bv = 0.0;
    if (p.has_bias != 0u) { bv = bias[c]; }
    var y = v + bv;
    if (p.act != 0u && !with_addend) { y = select(p.slope * y, y, y > 0.0); }
    dst[((n * p.cout + c) * p.oh + oy) * p.ow + ox] = y;
  }
}

// Stores of four consecutive destination pixels b..b+3 (b a multiple of 4) go out as one vec4
// when the rows allow it: on lavapipe each store with a computed index runs lane by lane like a
// load, and a lane's scalar stores were up to a third of a gather's memory operations at the
// 8-16 reduction channels of a cell's convs. Same bias add and activation per component as
// `store`, so the outputs are bit-identical.
fn whole4(b: u32) -> bool {
  return p.out_mul == 1u && (p.ow & 3u) == 0u && (p.out_x0 & 3u) == 0u && b + 4u <= p.cols;
}

fn put4(n: u32, c: u32, a: u32, b: u32, v: vec4<f32>) {
  var bv = 0.0;
  if (p.has_bias != 0u) { bv = bias[c]; }
  put4b(n, c, a, b, v, bv);
}

// put4 with the channel's bias `bv` loaded by the caller (0 without a bias): the block stores
// below load a lane's biases once rather than once per 4-pixel group, since on lavapipe each
// such load runs lane by lane like the stores.
fn put4b(n: u32, c: u32, a: u32, b: u32, v: vec4<f32>, bv: f32) {
  var y = v + vec4<f32>(bv);
  if (p.act != 0u && !with_addend) { y = select(p.slope * y, y, y > vec4<f32>(0.0)); }
  dst4[(((n * p.cout + c) * p.oh + p.out_y0 + a) * p.ow + p.out_x0 + b) / 4u] = y;
}

// Four consecutive pixels of one channel; unrolled, as indexing a vector by a loop variable
// runs much slower on lavapipe.
fn store4(n: u32, c: u32, a: u32, b: u32, v: vec4<f32>) {
  if (whole4(b)) {
    put4(n, c, a, b, v);
    return;
  }
  store(n, c, a, b, v.x);
  store(n, c, a, b + 1u, v.y);
  store(n, c, a, b + 2u, v.z);
  store(n, c, a, b + 3u, v.w);
}

// After a lane stored its nc channels from c0 x np pixels from b of row a (without the
// activation): each value becomes act(addend + value), what an Add pass and an activation pass
// would give. One loop, so the addend loads are compiled once, not at every store site.
fn add_addend(n: u32, c0: u32, nc: u32, a: u32, b: u32, np: u32) {
  let v4 = p.out_mul == 1u && (p.ow & 3u) == 0u && (p.out_x0 & 3u) == 0u && (b & 3u) == 0u;
  for (var r = 0u; r < nc; r++) {
    let row = ((n * p.cout + c0 + r) * p.oh + p.out_y0 + a * p.out_mul) * p.ow + p.out_x0;
    var j = 0u;
    if (v4) {
      for (; j + 4u <= np; j += 4u) {
        let i = (row + b + j) / 4u;
        var y = addend4[i] + dst4[i];
        if (p.act != 0u) { y = select(p.slope * y, y, y > vec4<f32>(0.0)); }
        dst4[i] = y;
      }
    }
    for (; j < np; j++) {
      let i = row + (b + j) * p.out_mul;
      var y = addend[i] + dst[i];
      if (p.act != 0u) { y = select(p.slope * y, y, y > 0.0); }
      dst[i] = y;
    }
  }
}

fn store8(n: u32, c0: u32, nc: u32, a: u32, b: u32, lo: vec4<f32>, hi: vec4<f32>) {
  for (var r = 0u; r < 4u; r++) {
    if (r < nc) { store(n, c0 + r, a, b, lo[r]); }
    if (r + 4u < nc) { store(n, c0 + 4u + r, a, b, hi[r]); }
  }
}

// Channels c0 .. c0 + nc - 1 (nc <= 8) of the whole vec4 group b..b+3, from each pixel's
// accumulators (l = channels 0-3, h = 4-7): transposed with constant component indices.
fn store8x4(n: u32, c0: u32, nc: u32, a: u32, b: u32, l0: vec4<f32>, h0: vec4<f32>,
            l1: vec4<f32>, h1: vec4<f32>, l2: vec4<f32>, h2: vec4<f32>, l3: vec4<f32>, h3: vec4<f32>,
            bl: vec4<f32>, bh: vec4<f32>) {
  store4x4(n, c0, nc, a, b, l0, l1, l2, l3, bl);
  if (nc > 4u) { store4x4(n, c0 + 4u, nc - 4u, a, b, h0, h1, h2, h3, bh); }
}

// The same for 4 channels per pixel (gather32's lanes).
fn store4x4(n: u32, c0: u32, nc: u32, a: u32, b: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>,
            a3: vec4<f32>, bs: vec4<f32>) {
  put4b(n, c0, a, b, vec4<f32>(a0.x, a1.x, a2.x, a3.x), bs.x);
  if (nc > 1u) { put4b(n, c0 + 1u, a, b, vec4<f32>(a0.y, a1.y, a2.y, a3.y), bs.y); }
  if (nc > 2u) { put4b(n, c0 + 2u, a, b, vec4<f32>(a0.z, a1.z, a2.z, a3.z), bs.z); }
  if (nc > 3u) { put4b(n, c0 + 3u, a, b, vec4<f32>(a0.w, a1.w, a2.w, a3.w), bs.w); }
}

// The biases of channels c0 .. c0 + 3 (0 without a bias; indices clamped to the last channel,
// whose values the callers do not store).
fn bias4(c0: u32) -> vec4<f32> {
  if (p.has_bias == 0u) { return vec4<f32>(0.0); }
  let m = p.cout - 1u;
  return vec4<f32>(bias[min(c0, m)], bias[min(c0 + 1u, m)], bias[min(c0 + 2u, m)],
                   bias[min(c0 + 3u, m)]);
}

// How many of the `groups` 4-pixel groups from b0 go out as whole vec4 stores (`whole4`, which
// holds for a prefix of a block's groups). The gathers store those groups unrolled and the rest
// in one loop over an array of the accumulators: unrolling the scalar stores too (up to 256
// lane-by-lane stores in gather64) made lavapipe's JIT spend 5-100 s on a kernel's first launch.
fn whole_groups(b0: u32, groups: u32) -> u32 {
  if (p.out_mul != 1u || (p.ow & 3u) != 0u || (p.out_x0 & 3u) != 0u || b0 >= p.cols) { return 0u; }
  return min(groups, (p.cols - b0) / 4u);
}

// 8 destination channels x 8 destination pixels per invocation. Grid: x/z = folded (n, chunk),
// y = channel block (group-major). The entry points (gather8) are in conv2d_plain.wgsl and
// conv2d_sg.wgsl, which also define how the 8 weights of a step are loaded (`w8_lane` once,
// `w8` per step, from the packed index `wi` or the weight's own layout `wj`); every lane runs
// the whole loop (no early return) so subgroup operations stay in uniform control flow.
struct W8 { lo: vec4<f32>, hi: vec4<f32> }
// A lane's weight stream in the unpacked layout: index of (reduction channel 0, tap 0), the step
// between reduction channels, and whether the lane's destination channel exists.
struct WLane { base: u32, stride: u32, ok: bool }

fn gather8_body(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>, sid: u32) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let blk = wid.y;
  let g = blk / p.blocks_g;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let m = i32(p.in_mul);
  let lw = w8_lane(blk, sid);
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0); var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0); var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0); var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0); var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) * m + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    for (var kx = 0u; kx < p.kw; kx++) {
      let tx = tap_off(p.tc0x, kx);
      if (tx == NO_TAP) { continue; }
      let sx = i32(b0) * m + tx;
      let q0 = px(rowb, rok, sx);         let q1 = px(rowb, rok, sx + m);
      let q2 = px(rowb, rok, sx + 2 * m); let q3 = px(rowb, rok, sx + 3 * m);
      let q4 = px(rowb, rok, sx + 4 * m); let q5 = px(rowb, rok, sx + 5 * m);
      let q6 = px(rowb, rok, sx + 6 * m); let q7 = px(rowb, rok, sx + 7 * m);
      var wi = ((blk * p.kh + ky) * p.kw + kx) * p.red * 2u;
      var wj = lw.base + ky * p.kw + kx;
      var c = 0u;
      for (var ci = 0u; ci < p.red; ci++) {
        let w = w8(wi, wj, lw.ok, sid);
        let wl = w.lo; let wh = w.hi;
        let x0 = ld(q0, c); a0l += wl * x0; a0h += wh * x0;
        let x1 = ld(q1, c); a1l += wl * x1; a1h += wh * x1;
        let x2 = ld(q2, c); a2l += wl * x2; a2h += wh * x2;
        let x3 = ld(q3, c); a3l += wl * x3; a3h += wh * x3;
        let x4 = ld(q4, c); a4l += wl * x4; a4h += wh * x4;
        let x5 = ld(q5, c); a5l += wl * x5; a5h += wh * x5;
        let x6 = ld(q6, c); a6l += wl * x6; a6h += wh * x6;
        let x7 = ld(q7, c); a7l += wl * x7; a7h += wh * x7;
        wi += 2u;
        wj += lw.stride;
        c += ihw;
      }
    }
  }
  gather8_store(n, a, b0, live, blk, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h,
                a6l, a6h, a7l, a7h);
}

// A gather8 lane's stores: 8 channels of block `blk` at its 8 pixels from (a, b0).
fn gather8_store(n: u32, a: u32, b0: u32, live: bool, blk: u32,
                 a0l: vec4<f32>, a0h: vec4<f32>, a1l: vec4<f32>, a1h: vec4<f32>,
                 a2l: vec4<f32>, a2h: vec4<f32>, a3l: vec4<f32>, a3h: vec4<f32>,
                 a4l: vec4<f32>, a4h: vec4<f32>, a5l: vec4<f32>, a5h: vec4<f32>,
                 a6l: vec4<f32>, a6h: vec4<f32>, a7l: vec4<f32>, a7h: vec4<f32>) {
  if (!live) { return; }
  let g = blk / p.blocks_g;
  let cb = (blk % p.blocks_g) * 8u;
  let nc = min(p.og - cb, 8u);
  let c0 = g * p.og + cb;
  let nw = whole_groups(b0, 2u);
  let bl = bias4(c0); let bh = bias4(c0 + 4u);
  if (nw > 0u) { store8x4(n, c0, nc, a, b0, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, bl, bh); }
  if (nw > 1u) { store8x4(n, c0, nc, a, b0 + 4u, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h, bl, bh); return; }
  let lo = array<vec4<f32>, 8>(a0l, a1l, a2l, a3l, a4l, a5l, a6l, a7l);
  let hi = array<vec4<f32>, 8>(a0h, a1h, a2h, a3h, a4h, a5h, a6h, a7h);
  for (var j = nw * 4u; j < min(8u, p.cols - b0); j++) { store8(n, c0, nc, a, b0 + j, lo[j], hi[j]); }
}

// One destination channel x 8 pixels per invocation: the depthwise path (and any conv with at
// most a couple of destination channels per group, where 8-channel blocks would be mostly
// padding). Weights packed with R = 1. Grid y = destination channel.
@compute @workgroup_size(GWG)
fn gather1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let oc = wid.y;
  let g = oc / p.og;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let m = i32(p.in_mul);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) * m + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    for (var kx = 0u; kx < p.kw; kx++) {
      let tx = tap_off(p.tc0x, kx);
      if (tx == NO_TAP) { continue; }
      let sx = i32(b0) * m + tx;
      let q0 = px(rowb, rok, sx);         let q1 = px(rowb, rok, sx + m);
      let q2 = px(rowb, rok, sx + 2 * m); let q3 = px(rowb, rok, sx + 3 * m);
      let q4 = px(rowb, rok, sx + 4 * m); let q5 = px(rowb, rok, sx + 5 * m);
      let q6 = px(rowb, rok, sx + 6 * m); let q7 = px(rowb, rok, sx + 7 * m);
      var wi = ((oc * p.kh + ky) * p.kw + kx) * p.red;
      var c = 0u;
      for (var ci = 0u; ci < p.red; ci++) {
        let wv = wp1[wi];
        acc0 += wv * vec4<f32>(ld(q0, c), ld(q1, c), ld(q2, c), ld(q3, c));
        acc1 += wv * vec4<f32>(ld(q4, c), ld(q5, c), ld(q6, c), ld(q7, c));
        wi += 1u;
        c += ihw;
      }
    }
  }
  if (!live) { return; }
  store4(n, oc, a, b0, acc0);
  store4(n, oc, a, b0 + 4u, acc1);
}

// ---- weight packing -------------------------------------------------------------------------
// wp[((blk * kk + t) * red + c) * S + r] = weight linking destination channel cb * R + r of
// group g (blk = g * blocks_g + cb) to reduction channel c at tap t; zero for padding channels
// and for the slots r >= R of a block (S = `slot` >= R: gather56 reads its 7 channels per lane
// as two vec4s, so they are packed 8 floats apart).
// Forward: destination = output channel, reduction = input channel of the group.
// Input gradient (trans = 1): destination = input channel, reduction = output channel.

struct Pack {
  total: u32, r: u32, blocks_g: u32, og: u32,
  red: u32, kk: u32, trans: u32, o0: u32,       // packs destination channels o0 .. o0 + on
  on: u32, slot: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> pk: Pack;
@group(0) @binding(1) var<storage, read> w_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> w_out: array<f32>;

@compute @workgroup_size(256)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg, 256u);
  if (i >= pk.total) { return; }
  let r = i % pk.slot;
  var q = i / pk.slot;
  let c = q % pk.red;
  q = q / pk.red;
  let t = q % pk.kk;
  let blk = q / pk.kk;
  let g = blk / pk.blocks_g;
  let o = pk.o0 + (blk % pk.blocks_g) * pk.r + r;
  var v = 0.0;
  if (r < pk.r && o < pk.o0 + pk.on) {
    if (pk.trans == 0u) {
      v = w_in[((g * pk.og + o) * pk.red + c) * pk.kk + t];
    } else {
      v = w_in[((g * pk.red + c) * pk.og + o) * pk.kk + t];
    }
  }
  w_out[i] = v;
}
