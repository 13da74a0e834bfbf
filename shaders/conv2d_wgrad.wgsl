// Weight and bias gradients of conv2d (launchers: src/ops/conv2d.rs).
//
// dw[co, ci, ky, kx] = sum over (n, oy, ox) of gy[n, co, oy, ox] * x[n, ci', iy, ix]. Each
// workgroup owns 8 output channels x 16 "taps", a tap being one (ci, ky, kx) of the flattened
// cin/groups * kh * kw reduction axis of the weight (so 1x1 convs block over input channels and
// 3x3 ones over the 9 spatial taps alike), and reduces over one chunk of the N * Hout * Wout
// output pixels: each lane walks its own quads of 4 output pixels and keeps 8 x 16 partial sums in
// registers; the WL lanes are summed once at the end through workgroup memory. WL (lanes per
// workgroup) is set by the fragment appended to this file: conv2d_wgrad_plain.wgsl (64) or
// conv2d_wgrad_sg.wgsl (8). Chunks write
// separate partial sums and `wgrad_finish` adds them up: deterministic, no atomics, and no
// batch/channel transposition of the tensors. With subgroups and wide channel groups,
// conv2d_wgrad_sg.wgsl's `wgrad_sg` replaces wgrad8 (same partial-sum scheme).

#include "common.wgsl"

struct WGrad {
  n: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, cin_g: u32,
  cout_g: u32, blocks_g: u32, kh: u32, kw: u32,
  stride: u32, pad: u32, dil: u32, ntaps: u32,     // ntaps = cin_g * kh * kw
  quads: u32, items: u32, ipc: u32, tblocks: u32,  // quads = ceil(wo / 4), items = n * ho * quads, ipc = items per chunk
  nblk: u32, chunks: u32, total: u32, lanes: u32,  // nblk = groups * blocks_g, total = elements of dw (finish),
  cpl: u32, o0: u32, on: u32, _p0: u32,           // a block = lanes x cpl channels (each in one of 8 slots of part);
                                                   // this launch: output channels o0 .. o0 + on of each group
}

@group(0) @binding(0) var<uniform> q: WGrad;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> part_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> gy4: array<vec4<f32>>;  // gy again, when wo % 4 == 0

const TB: u32 = 16u;  // taps per workgroup

var<workgroup> red: array<vec4<f32>, 16u * WL>;
var<workgroup> red1: array<f32, 64>;

struct Tap { c: u32, dy: i32, dx: i32, ok: bool }

fn tap(blk: u32, tb: u32, i: u32) -> Tap {
  let t = tb * TB + i;
  let tt = min(t, q.ntaps - 1u);
  let kk = q.kh * q.kw;
  let ci = tt / kk;
  let r = tt % kk;
  let g = blk / q.blocks_g;
  let c = (g * q.cin_g + ci) * q.h * q.w;
  return Tap(c, i32((r / q.kw) * q.dil) - i32(q.pad), i32((r % q.kw) * q.dil) - i32(q.pad), t < q.ntaps);
}

// The row of x a tap reads for one output row: its offset, or -1 when outside the image.
fn xrow(t: Tap, xb: u32, iy0: i32) -> i32 {
  let iy = iy0 + t.dy;
  let ok = t.ok && u32(iy) < q.h;
  return select(-1, i32(xb + t.c) + iy * i32(q.w), ok);
}

fn xv(row: i32, dx: i32, ix0: i32) -> f32 {
  let ix = ix0 + dx;
  let ok = row >= 0 && u32(ix) < q.w;  // a negative ix wraps to a huge u32
  return select(0.0, x[u32(select(0, row + ix, ok))], ok);
}

fn wgrad_body(wid: vec3<u32>, lid: vec3<u32>, vec: bool) {
  let chunk = wid.x;
  let blk = wid.y;
  let tb = wid.z;
  let howo = q.ho * q.wo;
  let g = blk / q.blocks_g;
  let cb = q.o0 + (blk % q.blocks_g) * 8u;
  // Channel offsets, clamped into the launch's channels: the duplicates of padding channels are
  // discarded.
  let cl = g * q.cout_g;
  let ch = q.o0 + q.on - 1u;
  let o0 = (cl + min(cb, ch)) * howo;      let o1 = (cl + min(cb + 1u, ch)) * howo;
  let o2 = (cl + min(cb + 2u, ch)) * howo; let o3 = (cl + min(cb + 3u, ch)) * howo;
  let o4 = (cl + min(cb + 4u, ch)) * howo; let o5 = (cl + min(cb + 5u, ch)) * howo;
  let o6 = (cl + min(cb + 6u, ch)) * howo; let o7 = (cl + min(cb + 7u, ch)) * howo;
  let t0 = tap(blk, tb, 0u);
  let t1 = tap(blk, tb, 1u);
  let t2 = tap(blk, tb, 2u);
  let t3 = tap(blk, tb, 3u);
  let t4 = tap(blk, tb, 4u);
  let t5 = tap(blk, tb, 5u);
  let t6 = tap(blk, tb, 6u);
  let t7 = tap(blk, tb, 7u);
  let t8 = tap(blk, tb, 8u);
  let t9 = tap(blk, tb, 9u);
  let t10 = tap(blk, tb, 10u);
  let t11 = tap(blk, tb, 11u);
  let t12 = tap(blk, tb, 12u);
  let t13 = tap(blk, tb, 13u);
  let t14 = tap(blk, tb, 14u);
  let t15 = tap(blk, tb, 15u);
  var c0l = vec4<f32>(0.0); var c0h = vec4<f32>(0.0);
  var c1l = vec4<f32>(0.0); var c1h = vec4<f32>(0.0);
  var c2l = vec4<f32>(0.0); var c2h = vec4<f32>(0.0);
  var c3l = vec4<f32>(0.0); var c3h = vec4<f32>(0.0);
  var c4l = vec4<f32>(0.0); var c4h = vec4<f32>(0.0);
  var c5l = vec4<f32>(0.0); var c5h = vec4<f32>(0.0);
  var c6l = vec4<f32>(0.0); var c6h = vec4<f32>(0.0);
  var c7l = vec4<f32>(0.0); var c7h = vec4<f32>(0.0);
  var c8l = vec4<f32>(0.0); var c8h = vec4<f32>(0.0);
  var c9l = vec4<f32>(0.0); var c9h = vec4<f32>(0.0);
  var c10l = vec4<f32>(0.0); var c10h = vec4<f32>(0.0);
  var c11l = vec4<f32>(0.0); var c11h = vec4<f32>(0.0);
  var c12l = vec4<f32>(0.0); var c12h = vec4<f32>(0.0);
  var c13l = vec4<f32>(0.0); var c13h = vec4<f32>(0.0);
  var c14l = vec4<f32>(0.0); var c14h = vec4<f32>(0.0);
  var c15l = vec4<f32>(0.0); var c15h = vec4<f32>(0.0);
  let end = min((chunk + 1u) * q.ipc, q.items);
  let s = i32(q.stride);
  // Item it = (nn * ho + oy) * quads + qd, advanced by WL per step without dividing in the loop
  // (integer division runs lane by lane on a CPU driver).
  let it0 = chunk * q.ipc + lid.x;
  var qd = it0 % q.quads;
  var oy = (it0 / q.quads) % q.ho;
  var nn = it0 / (q.quads * q.ho);
  let dq = WL % q.quads;
  let drow = WL / q.quads;
  for (var it = it0; it < end; it += WL) {
    let gb = nn * q.cout * howo + oy * q.wo;
    let xb = nn * q.cin * q.h * q.w;
    let iy0 = i32(oy) * s;
    let r0 = xrow(t0, xb, iy0);
    let r1 = xrow(t1, xb, iy0);
    let r2 = xrow(t2, xb, iy0);
    let r3 = xrow(t3, xb, iy0);
    let r4 = xrow(t4, xb, iy0);
    let r5 = xrow(t5, xb, iy0);
    let r6 = xrow(t6, xb, iy0);
    let r7 = xrow(t7, xb, iy0);
    let r8 = xrow(t8, xb, iy0);
    let r9 = xrow(t9, xb, iy0);
    let r10 = xrow(t10, xb, iy0);
    let r11 = xrow(t11, xb, iy0);
    let r12 = xrow(t12, xb, iy0);
    let r13 = xrow(t13, xb, iy0);
    let r14 = xrow(t14, xb, iy0);
    let r15 = xrow(t15, xb, iy0);
    // With wo % 4 == 0 a quad is 4 aligned pixels of one row: one vec4 load per channel.
    var v0 = vec4<f32>(0.0); var v1 = vec4<f32>(0.0); var v2 = vec4<f32>(0.0); var v3 = vec4<f32>(0.0);
    var v4 = vec4<f32>(0.0); var v5 = vec4<f32>(0.0); var v6 = vec4<f32>(0.0); var v7 = vec4<f32>(0.0);
    if (vec) {
      let g4 = (gb + qd * 4u) / 4u;
      v0 = gy4[g4 + o0 / 4u]; v1 = gy4[g4 + o1 / 4u]; v2 = gy4[g4 + o2 / 4u]; v3 = gy4[g4 + o3 / 4u];
      v4 = gy4[g4 + o4 / 4u]; v5 = gy4[g4 + o5 / 4u]; v6 = gy4[g4 + o6 / 4u]; v7 = gy4[g4 + o7 / 4u];
    }
    // Pixels j = 0..3 unrolled, so every vector component index is a constant (a loop over j
    // indexing the vectors by it runs much slower on lavapipe).
    {
      let ox = qd * 4u + 0u;
      let pok = ox < q.wo;
      var gl = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
      var gh = vec4<f32>(v4.x, v5.x, v6.x, v7.x);
      if (!vec) {
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      let ix0 = i32(ox) * s;
      let x0 = xv(r0, t0.dx, ix0); c0l += gl * x0; c0h += gh * x0;
      let x1 = xv(r1, t1.dx, ix0); c1l += gl * x1; c1h += gh * x1;
      let x2 = xv(r2, t2.dx, ix0); c2l += gl * x2; c2h += gh * x2;
      let x3 = xv(r3, t3.dx, ix0); c3l += gl * x3; c3h += gh * x3;
      let x4 = xv(r4, t4.dx, ix0); c4l += gl * x4; c4h += gh * x4;
      let x5 = xv(r5, t5.dx, ix0); c5l += gl * x5; c5h += gh * x5;
      let x6 = xv(r6, t6.dx, ix0); c6l += gl * x6; c6h += gh * x6;
      let x7 = xv(r7, t7.dx, ix0); c7l += gl * x7; c7h += gh * x7;
      let x8 = xv(r8, t8.dx, ix0); c8l += gl * x8; c8h += gh * x8;
      let x9 = xv(r9, t9.dx, ix0); c9l += gl * x9; c9h += gh * x9;
      let x10 = xv(r10, t10.dx, ix0); c10l += gl * x10; c10h += gh * x10;
      let x11 = xv(r11, t11.dx, ix0); c11l += gl * x11; c11h += gh * x11;
      let x12 = xv(r12, t12.dx, ix0); c12l += gl * x12; c12h += gh * x12;
      let x13 = xv(r13, t13.dx, ix0); c13l += gl * x13; c13h += gh * x13;
      let x14 = xv(r14, t14.dx, ix0); c14l += gl * x14; c14h += gh * x14;
      let x15 = xv(r15, t15.dx, ix0); c15l += gl * x15; c15h += gh * x15;
    }
    {
      let ox = qd * 4u + 1u;
      let pok = ox < q.wo;
      var gl = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
      var gh = vec4<f32>(v4.y, v5.y, v6.y, v7.y);
      if (!vec) {
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      let ix0 = i32(ox) * s;
      let x0 = xv(r0, t0.dx, ix0); c0l += gl * x0; c0h += gh * x0;
      let x1 = xv(r1, t1.dx, ix0); c1l += gl * x1; c1h += gh * x1;
      let x2 = xv(r2, t2.dx, ix0); c2l += gl * x2; c2h += gh * x2;
      let x3 = xv(r3, t3.dx, ix0); c3l += gl * x3; c3h += gh * x3;
      let x4 = xv(r4, t4.dx, ix0); c4l += gl * x4; c4h += gh * x4;
      let x5 = xv(r5, t5.dx, ix0); c5l += gl * x5; c5h += gh * x5;
      let x6 = xv(r6, t6.dx, ix0); c6l += gl * x6; c6h += gh * x6;
      let x7 = xv(r7, t7.dx, ix0); c7l += gl * x7; c7h += gh * x7;
      let x8 = xv(r8, t8.dx, ix0); c8l += gl * x8; c8h += gh * x8;
      let x9 = xv(r9, t9.dx, ix0); c9l += gl * x9; c9h += gh * x9;
      let x10 = xv(r10, t10.dx, ix0); c10l += gl * x10; c10h += gh * x10;
      let x11 = xv(r11, t11.dx, ix0); c11l += gl * x11; c11h += gh * x11;
      let x12 = xv(r12, t12.dx, ix0); c12l += gl * x12; c12h += gh * x12;
      let x13 = xv(r13, t13.dx, ix0); c13l += gl * x13; c13h += gh * x13;
      let x14 = xv(r14, t14.dx, ix0); c14l += gl * x14; c14h += gh * x14;
      let x15 = xv(r15, t15.dx, ix0); c15l += gl * x15; c15h += gh * x15;
    }
    {
      let ox = qd * 4u + 2u;
      let pok = ox < q.wo;
      var gl = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
      var gh = vec4<f32>(v4.z, v5.z, v6.z, v7.z);
      if (!vec) {
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      let ix0 = i32(ox) * s;
      let x0 = xv(r0, t0.dx, ix0); c0l += gl * x0; c0h += gh * x0;
      let x1 = xv(r1, t1.dx, ix0); c1l += gl * x1; c1h += gh * x1;
      let x2 = xv(r2, t2.dx, ix0); c2l += gl * x2; c2h += gh * x2;
      let x3 = xv(r3, t3.dx, ix0); c3l += gl * x3; c3h += gh * x3;
      let x4 = xv(r4, t4.dx, ix0); c4l += gl * x4; c4h += gh * x4;
      let x5 = xv(r5, t5.dx, ix0); c5l += gl * x5; c5h += gh * x5;
      let x6 = xv(r6, t6.dx, ix0); c6l += gl * x6; c6h += gh * x6;
      let x7 = xv(r7, t7.dx, ix0); c7l += gl * x7; c7h += gh * x7;
      let x8 = xv(r8, t8.dx, ix0); c8l += gl * x8; c8h += gh * x8;
      let x9 = xv(r9, t9.dx, ix0); c9l += gl * x9; c9h += gh * x9;
      let x10 = xv(r10, t10.dx, ix0); c10l += gl * x10; c10h += gh * x10;
      let x11 = xv(r11, t11.dx, ix0); c11l += gl * x11; c11h += gh * x11;
      let x12 = xv(r12, t12.dx, ix0); c12l += gl * x12; c12h += gh * x12;
      let x13 = xv(r13, t13.dx, ix0); c13l += gl * x13; c13h += gh * x13;
      let x14 = xv(r14, t14.dx, ix0); c14l += gl * x14; c14h += gh * x14;
      let x15 = xv(r15, t15.dx, ix0); c15l += gl * x15; c15h += gh * x15;
    }
    {
      let ox = qd * 4u + 3u;
      let pok = ox < q.wo;
      var gl = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
      var gh = vec4<f32>(v4.w, v5.w, v6.w, v7.w);
      if (!vec) {
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      let ix0 = i32(ox) * s;
      let x0 = xv(r0, t0.dx, ix0); c0l += gl * x0; c0h += gh * x0;
      let x1 = xv(r1, t1.dx, ix0); c1l += gl * x1; c1h += gh * x1;
      let x2 = xv(r2, t2.dx, ix0); c2l += gl * x2; c2h += gh * x2;
      let x3 = xv(r3, t3.dx, ix0); c3l += gl * x3; c3h += gh * x3;
      let x4 = xv(r4, t4.dx, ix0); c4l += gl * x4; c4h += gh * x4;
      let x5 = xv(r5, t5.dx, ix0); c5l += gl * x5; c5h += gh * x5;
      let x6 = xv(r6, t6.dx, ix0); c6l += gl * x6; c6h += gh * x6;
      let x7 = xv(r7, t7.dx, ix0); c7l += gl * x7; c7h += gh * x7;
      let x8 = xv(r8, t8.dx, ix0); c8l += gl * x8; c8h += gh * x8;
      let x9 = xv(r9, t9.dx, ix0); c9l += gl * x9; c9h += gh * x9;
      let x10 = xv(r10, t10.dx, ix0); c10l += gl * x10; c10h += gh * x10;
      let x11 = xv(r11, t11.dx, ix0); c11l += gl * x11; c11h += gh * x11;
      let x12 = xv(r12, t12.dx, ix0); c12l += gl * x12; c12h += gh * x12;
      let x13 = xv(r13, t13.dx, ix0); c13l += gl * x13; c13h += gh * x13;
      let x14 = xv(r14, t14.dx, ix0); c14l += gl * x14; c14h += gh * x14;
      let x15 = xv(r15, t15.dx, ix0); c15l += gl * x15; c15h += gh * x15;
    }
    qd += dq;
    oy += drow;
    if (qd >= q.quads) { qd -= q.quads; oy += 1u; }
    while (oy >= q.ho) { oy -= q.ho; nn += 1u; }
  }
  let l = lid.x;
  let pb = ((chunk * q.nblk + blk) * q.tblocks + tb) * 32u;
  // Two rounds of 8 taps through workgroup memory; part[chunk][blk][tb][tap i][channel half]
  // as vec4 (index 2 * i + half).
  red[0u * WL + l] = c0l; red[1u * WL + l] = c0h; red[2u * WL + l] = c1l; red[3u * WL + l] = c1h;
  red[4u * WL + l] = c2l; red[5u * WL + l] = c2h; red[6u * WL + l] = c3l; red[7u * WL + l] = c3h;
  red[8u * WL + l] = c4l; red[9u * WL + l] = c4h; red[10u * WL + l] = c5l; red[11u * WL + l] = c5h;
  red[12u * WL + l] = c6l; red[13u * WL + l] = c6h; red[14u * WL + l] = c7l; red[15u * WL + l] = c7h;
  workgroupBarrier();
  reduce_lanes(l, pb);
  workgroupBarrier();
  red[0u * WL + l] = c8l; red[1u * WL + l] = c8h; red[2u * WL + l] = c9l; red[3u * WL + l] = c9h;
  red[4u * WL + l] = c10l; red[5u * WL + l] = c10h; red[6u * WL + l] = c11l; red[7u * WL + l] = c11h;
  red[8u * WL + l] = c12l; red[9u * WL + l] = c12h; red[10u * WL + l] = c13l; red[11u * WL + l] = c13h;
  red[12u * WL + l] = c14l; red[13u * WL + l] = c14h; red[14u * WL + l] = c15l; red[15u * WL + l] = c15h;
  workgroupBarrier();
  reduce_lanes(l, pb + 16u);
}

// Sums the 16 vec4 slots of `red` over the WL lanes, in lane order, into part[pb + slot].
fn reduce_lanes(l: u32, pb: u32) {
  for (var e = l; e < 16u; e += WL) {
    var sum = vec4<f32>(0.0);
    for (var k = 0u; k < WL; k++) { sum += red[e * WL + k]; }
    part[pb + e] = sum;
  }
}

// Grid: x = pixel chunk, y = output-channel block (group-major), z = tap block.
@compute @workgroup_size(WL)
fn wgrad8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  wgrad_body(wid, lid, false);
}

@compute @workgroup_size(WL)
fn wgrad8_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  wgrad_body(wid, lid, true);
}

// dw in PyTorch layout [cout, cin_g, kh, kw]: adds the chunks' partial sums in chunk order.
// part[chunk][blk][tb][lane][tap i][r < 8]: a block is `lanes` x `cpl` channels (channel
// lane * cpl + r) and TB taps (tap tb * TB + i); wgrad8 has lanes = 1 and cpl = 8, wgrad_sg
// (conv2d_wgrad_sg.wgsl) 8 lanes of 8 channels, or of 4 (wgrad_sg32).
@compute @workgroup_size(256)
fn wgrad_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = flat(gid, nwg, 256u);
  if (e >= q.total) { return; }
  // e runs over this launch's channels (on per group); col is the channel within them.
  let co = e / q.ntaps;
  let t = e % q.ntaps;
  let g = co / q.on;
  let col = co % q.on;
  let bc = q.lanes * q.cpl;
  let blk = g * q.blocks_g + col / bc;
  let l = (col % bc) / q.cpl;
  let r = col % q.cpl;
  let inner = ((((blk * q.tblocks + t / TB) * q.lanes + l) * TB + t % TB) * 8u) + r;
  let stride = q.nblk * q.tblocks * q.lanes * 8u * TB;
  var s = 0.0;
  for (var c = 0u; c < q.chunks; c++) { s += part_in[c * stride + inner]; }
  out[(g * q.cout_g + q.o0 + col) * q.ntaps + t] = s;
}

// db[c] = sum of gy over (n, oy, ox): one workgroup per channel (grid folded over x/y).
@compute @workgroup_size(64)
fn bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = wid.x + wid.y * nwg.x;
  let howo = q.ho * q.wo;
  var s = 0.0;
  if (c < q.cout) {
    for (var n = 0u; n < q.n; n++) {
      let b = (n * q.cout + c) * howo;
      for (var i = lid.x; i < howo; i += 64u) { s += gy[b + i]; }
    }
  }
  red1[lid.x] = s;
  workgroupBarrier();
  if (lid.x == 0u && c < q.cout) {
    var t = 0.0;
    for (var k = 0u; k < 64u; k++) { t += red1[k]; }
    out[c] = t;
  }
}
