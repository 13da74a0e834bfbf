// conv2d.wgsl for devices with 8-lane subgroups (kernel "conv2d_sg", src/ops/conv2d/gather.rs):
// gather8 with the 8 weights of a step loaded by one scalar load per lane (lane i of each 8
// loads weight i) and handed to every lane with subgroupBroadcast. All lanes use the same weights, and on lavapipe each non-constant-index load
// runs lane by lane, so this turns two vec4 loads into one scalar load (~17 % faster there).
// Also the kernels that exist only in this family: gather16/32/64 (lanes sharing source values)
// and the sliding gathers gather1s* (stride-1 3x3 / 5x5 with one destination channel).
// Needs subgroups of at least 8 lanes.

#include "conv2d.wgsl"
#include "broadcast8.wgsl"

// Invocations per workgroup of gather1/gather8 (one pixel block each): one 8-lane subgroup, so
// a small problem's pixel blocks are not padded to 64 (a 24x24 image has 72 blocks: 128 lanes
// at 64, 72 at 8) and spread over more workgroups (measured: forward of [2,4,24,24] 3x3 2.4x
// faster on lavapipe, no loss at [8,64,64,64]).
const GWG: u32 = 8u;

// Weights in their own layout (wp1 = the [cout, cin / groups, kh, kw] weight, no packing
// pass: each lane loads one scalar per step wherever it lies): wmode 1 for the forward pass
// (lane's channel = output channel, reduction = input channel), 2 for the input gradient
// (lane's channel = input channel, reduction = output channel).
fn w8_lane(blk: u32, sid: u32) -> WLane {
  let g = blk / p.blocks_g;
  let o = (blk % p.blocks_g) * 8u + (sid & 7u);
  let kk = p.kh * p.kw;
  let ok = o < p.og;
  let oc = min(o, p.og - 1u);
  if (p.wmode == 1u) { return WLane(((g * p.og + oc) * p.red) * kk, kk, ok); }
  return WLane((g * p.red * p.og + oc) * kk, p.og * kk, ok);
}

fn w8(wi: u32, wj: u32, ok: bool, sid: u32) -> W8 {
  let l = broadcast8(select(0.0, wp1[wj], ok));
  return W8(l.lo, l.hi);
}

@compute @workgroup_size(GWG)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8_body(wid, lid, nwg, sid);
}

// gather8 for stride-1 forward convs with 3x3 or 5x5 taps at dilation 1 or 2 (chosen by
// `sliding_entry` in src/ops/conv2d/gather.rs): per source row and reduction channel a lane
// loads its 8 pixels' window once, 8 + (kw - 1) dil values, and every tap of the row reads its
// 8 from it, instead of 8 loads per tap (5x5 at dilation 2: 16 loads instead of 40). The taps
// of a row then go inside the channel loop, so each output sums its products in the order
// (row, channel, column).
@compute @workgroup_size(GWG)
fn gather8s3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let blk = wid.y;
  let g = blk / p.blocks_g;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let lw = w8_lane(blk, sid);
  let kk = p.kh * p.kw;
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    // The row window: the leftmost tap's 8 pixels and the (kw - 1) dil after them.
    let sx = i32(b0) + tap_off(p.tc0x, 0u);
    let q0 = px(rowb, rok, sx + 0);
    let q1 = px(rowb, rok, sx + 1);
    let q2 = px(rowb, rok, sx + 2);
    let q3 = px(rowb, rok, sx + 3);
    let q4 = px(rowb, rok, sx + 4);
    let q5 = px(rowb, rok, sx + 5);
    let q6 = px(rowb, rok, sx + 6);
    let q7 = px(rowb, rok, sx + 7);
    let q8 = px(rowb, rok, sx + 8);
    let q9 = px(rowb, rok, sx + 9);
    var wj = lw.base + ky * p.kw;
    var c = 0u;
    for (var ci = 0u; ci < p.red; ci++) {
      let x0 = ld(q0, c);
      let x1 = ld(q1, c);
      let x2 = ld(q2, c);
      let x3 = ld(q3, c);
      let x4 = ld(q4, c);
      let x5 = ld(q5, c);
      let x6 = ld(q6, c);
      let x7 = ld(q7, c);
      let x8 = ld(q8, c);
      let x9 = ld(q9, c);
      { let w = w8(0u, wj + 0u, lw.ok, sid);
        a0l += w.lo * x0; a0h += w.hi * x0;
        a1l += w.lo * x1; a1h += w.hi * x1;
        a2l += w.lo * x2; a2h += w.hi * x2;
        a3l += w.lo * x3; a3h += w.hi * x3;
        a4l += w.lo * x4; a4h += w.hi * x4;
        a5l += w.lo * x5; a5h += w.hi * x5;
        a6l += w.lo * x6; a6h += w.hi * x6;
        a7l += w.lo * x7; a7h += w.hi * x7;
      }
      { let w = w8(0u, wj + 1u, lw.ok, sid);
        a0l += w.lo * x1; a0h += w.hi * x1;
        a1l += w.lo * x2; a1h += w.hi * x2;
        a2l += w.lo * x3; a2h += w.hi * x3;
        a3l += w.lo * x4; a3h += w.hi * x4;
        a4l += w.lo * x5; a4h += w.hi * x5;
        a5l += w.lo * x6; a5h += w.hi * x6;
        a6l += w.lo * x7; a6h += w.hi * x7;
        a7l += w.lo * x8; a7h += w.hi * x8;
      }
      { let w = w8(0u, wj + 2u, lw.ok, sid);
        a0l += w.lo * x2; a0h += w.hi * x2;
        a1l += w.lo * x3; a1h += w.hi * x3;
        a2l += w.lo * x4; a2h += w.hi * x4;
        a3l += w.lo * x5; a3h += w.hi * x5;
        a4l += w.lo * x6; a4h += w.hi * x6;
        a5l += w.lo * x7; a5h += w.hi * x7;
        a6l += w.lo * x8; a6h += w.hi * x8;
        a7l += w.lo * x9; a7h += w.hi * x9;
      }
      wj += lw.stride;
      c += ihw;
    }
  }
  gather8_store(n, a, b0, live, blk, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h,
                a6l, a6h, a7l, a7h);
}

@compute @workgroup_size(GWG)
fn gather8s3_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let blk = wid.y;
  let g = blk / p.blocks_g;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let lw = w8_lane(blk, sid);
  let kk = p.kh * p.kw;
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    // The row window: the leftmost tap's 8 pixels and the (kw - 1) dil after them.
    let sx = i32(b0) + tap_off(p.tc0x, 0u);
    let q0 = px(rowb, rok, sx + 0);
    let q1 = px(rowb, rok, sx + 1);
    let q2 = px(rowb, rok, sx + 2);
    let q3 = px(rowb, rok, sx + 3);
    let q4 = px(rowb, rok, sx + 4);
    let q5 = px(rowb, rok, sx + 5);
    let q6 = px(rowb, rok, sx + 6);
    let q7 = px(rowb, rok, sx + 7);
    let q8 = px(rowb, rok, sx + 8);
    let q9 = px(rowb, rok, sx + 9);
    let q10 = px(rowb, rok, sx + 10);
    let q11 = px(rowb, rok, sx + 11);
    var wj = lw.base + ky * p.kw;
    var c = 0u;
    for (var ci = 0u; ci < p.red; ci++) {
      let x0 = ld(q0, c);
      let x1 = ld(q1, c);
      let x2 = ld(q2, c);
      let x3 = ld(q3, c);
      let x4 = ld(q4, c);
      let x5 = ld(q5, c);
      let x6 = ld(q6, c);
      let x7 = ld(q7, c);
      let x8 = ld(q8, c);
      let x9 = ld(q9, c);
      let x10 = ld(q10, c);
      let x11 = ld(q11, c);
      { let w = w8(0u, wj + 0u, lw.ok, sid);
        a0l += w.lo * x0; a0h += w.hi * x0;
        a1l += w.lo * x1; a1h += w.hi * x1;
        a2l += w.lo * x2; a2h += w.hi * x2;
        a3l += w.lo * x3; a3h += w.hi * x3;
        a4l += w.lo * x4; a4h += w.hi * x4;
        a5l += w.lo * x5; a5h += w.hi * x5;
        a6l += w.lo * x6; a6h += w.hi * x6;
        a7l += w.lo * x7; a7h += w.hi * x7;
      }
      { let w = w8(0u, wj + 1u, lw.ok, sid);
        a0l += w.lo * x2; a0h += w.hi * x2;
        a1l += w.lo * x3; a1h += w.hi * x3;
        a2l += w.lo * x4; a2h += w.hi * x4;
        a3l += w.lo * x5; a3h += w.hi * x5;
        a4l += w.lo * x6; a4h += w.hi * x6;
        a5l += w.lo * x7; a5h += w.hi * x7;
        a6l += w.lo * x8; a6h += w.hi * x8;
        a7l += w.lo * x9; a7h += w.hi * x9;
      }
      { let w = w8(0u, wj + 2u, lw.ok, sid);
        a0l += w.lo * x4; a0h += w.hi * x4;
        a1l += w.lo * x5; a1h += w.hi * x5;
        a2l += w.lo * x6; a2h += w.hi * x6;
        a3l += w.lo * x7; a3h += w.hi * x7;
        a4l += w.lo * x8; a4h += w.hi * x8;
        a5l += w.lo * x9; a5h += w.hi * x9;
        a6l += w.lo * x10; a6h += w.hi * x10;
        a7l += w.lo * x11; a7h += w.hi * x11;
      }
      wj += lw.stride;
      c += ihw;
    }
  }
  gather8_store(n, a, b0, live, blk, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h,
                a6l, a6h, a7l, a7h);
}

@compute @workgroup_size(GWG)
fn gather8s5(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let blk = wid.y;
  let g = blk / p.blocks_g;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let lw = w8_lane(blk, sid);
  let kk = p.kh * p.kw;
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    // The row window: the leftmost tap's 8 pixels and the (kw - 1) dil after them.
    let sx = i32(b0) + tap_off(p.tc0x, 0u);
    let q0 = px(rowb, rok, sx + 0);
    let q1 = px(rowb, rok, sx + 1);
    let q2 = px(rowb, rok, sx + 2);
    let q3 = px(rowb, rok, sx + 3);
    let q4 = px(rowb, rok, sx + 4);
    let q5 = px(rowb, rok, sx + 5);
    let q6 = px(rowb, rok, sx + 6);
    let q7 = px(rowb, rok, sx + 7);
    let q8 = px(rowb, rok, sx + 8);
    let q9 = px(rowb, rok, sx + 9);
    let q10 = px(rowb, rok, sx + 10);
    let q11 = px(rowb, rok, sx + 11);
    var wj = lw.base + ky * p.kw;
    var c = 0u;
    for (var ci = 0u; ci < p.red; ci++) {
      let x0 = ld(q0, c);
      let x1 = ld(q1, c);
      let x2 = ld(q2, c);
      let x3 = ld(q3, c);
      let x4 = ld(q4, c);
      let x5 = ld(q5, c);
      let x6 = ld(q6, c);
      let x7 = ld(q7, c);
      let x8 = ld(q8, c);
      let x9 = ld(q9, c);
      let x10 = ld(q10, c);
      let x11 = ld(q11, c);
      { let w = w8(0u, wj + 0u, lw.ok, sid);
        a0l += w.lo * x0; a0h += w.hi * x0;
        a1l += w.lo * x1; a1h += w.hi * x1;
        a2l += w.lo * x2; a2h += w.hi * x2;
        a3l += w.lo * x3; a3h += w.hi * x3;
        a4l += w.lo * x4; a4h += w.hi * x4;
        a5l += w.lo * x5; a5h += w.hi * x5;
        a6l += w.lo * x6; a6h += w.hi * x6;
        a7l += w.lo * x7; a7h += w.hi * x7;
      }
      { let w = w8(0u, wj + 1u, lw.ok, sid);
        a0l += w.lo * x1; a0h += w.hi * x1;
        a1l += w.lo * x2; a1h += w.hi * x2;
        a2l += w.lo * x3; a2h += w.hi * x3;
        a3l += w.lo * x4; a3h += w.hi * x4;
        a4l += w.lo * x5; a4h += w.hi * x5;
        a5l += w.lo * x6; a5h += w.hi * x6;
        a6l += w.lo * x7; a6h += w.hi * x7;
        a7l += w.lo * x8; a7h += w.hi * x8;
      }
      { let w = w8(0u, wj + 2u, lw.ok, sid);
        a0l += w.lo * x2; a0h += w.hi * x2;
        a1l += w.lo * x3; a1h += w.hi * x3;
        a2l += w.lo * x4; a2h += w.hi * x4;
        a3l += w.lo * x5; a3h += w.hi * x5;
        a4l += w.lo * x6; a4h += w.hi * x6;
        a5l += w.lo * x7; a5h += w.hi * x7;
        a6l += w.lo * x8; a6h += w.hi * x8;
        a7l += w.lo * x9; a7h += w.hi * x9;
      }
      { let w = w8(0u, wj + 3u, lw.ok, sid);
        a0l += w.lo * x3; a0h += w.hi * x3;
        a1l += w.lo * x4; a1h += w.hi * x4;
        a2l += w.lo * x5; a2h += w.hi * x5;
        a3l += w.lo * x6; a3h += w.hi * x6;
        a4l += w.lo * x7; a4h += w.hi * x7;
        a5l += w.lo * x8; a5h += w.hi * x8;
        a6l += w.lo * x9; a6h += w.hi * x9;
        a7l += w.lo * x10; a7h += w.hi * x10;
      }
      { let w = w8(0u, wj + 4u, lw.ok, sid);
        a0l += w.lo * x4; a0h += w.hi * x4;
        a1l += w.lo * x5; a1h += w.hi * x5;
        a2l += w.lo * x6; a2h += w.hi * x6;
        a3l += w.lo * x7; a3h += w.hi * x7;
        a4l += w.lo * x8; a4h += w.hi * x8;
        a5l += w.lo * x9; a5h += w.hi * x9;
        a6l += w.lo * x10; a6h += w.hi * x10;
        a7l += w.lo * x11; a7h += w.hi * x11;
      }
      wj += lw.stride;
      c += ihw;
    }
  }
  gather8_store(n, a, b0, live, blk, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h,
                a6l, a6h, a7l, a7h);
}

@compute @workgroup_size(GWG)
fn gather8s5_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8s5_d2_body(wid, lid, nwg, sid, false);
}

// gather8s5_d2 for padding 4 on rows of whole vec4s (iw a multiple of 4): the window of 16
// values starts at b0 - 4, so it is exactly four aligned vec4 loads instead of 16 scalar ones
// (as gather1s3v; same products in the same order, results equal to the bit).
@compute @workgroup_size(GWG)
fn gather8s5_d2v(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8s5_d2_body(wid, lid, nwg, sid, true);
}

fn gather8s5_d2_body(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>, sid: u32, v4: bool) {
  let lc = lane_coords(wid, lid, nwg);
  let n = lc.x; let a = lc.y; let b0 = lc.z; let live = lc.w != 0u;
  let blk = wid.y;
  let g = blk / p.blocks_g;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let lw = w8_lane(blk, sid);
  let kk = p.kh * p.kw;
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == NO_TAP) { continue; }
    let sy = i32(a) + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    // The row window: the leftmost tap's 8 pixels and the (kw - 1) dil after them.
    let sx = i32(b0) + tap_off(p.tc0x, 0u);
    let q0 = px(rowb, rok, sx + 0);
    let q1 = px(rowb, rok, sx + 1);
    let q2 = px(rowb, rok, sx + 2);
    let q3 = px(rowb, rok, sx + 3);
    let q4 = px(rowb, rok, sx + 4);
    let q5 = px(rowb, rok, sx + 5);
    let q6 = px(rowb, rok, sx + 6);
    let q7 = px(rowb, rok, sx + 7);
    let q8 = px(rowb, rok, sx + 8);
    let q9 = px(rowb, rok, sx + 9);
    let q10 = px(rowb, rok, sx + 10);
    let q11 = px(rowb, rok, sx + 11);
    let q12 = px(rowb, rok, sx + 12);
    let q13 = px(rowb, rok, sx + 13);
    let q14 = px(rowb, rok, sx + 14);
    let q15 = px(rowb, rok, sx + 15);
    var wj = lw.base + ky * p.kw;
    var c = 0u;
    for (var ci = 0u; ci < p.red; ci++) {
      var x0: f32; var x1: f32; var x2: f32; var x3: f32;
      var x4: f32; var x5: f32; var x6: f32; var x7: f32;
      var x8: f32; var x9: f32; var x10: f32; var x11: f32;
      var x12: f32; var x13: f32; var x14: f32; var x15: f32;
      if (v4) {
        let y0 = ld4(rowb, rok, sx, c);
        let y1 = ld4(rowb, rok, sx + 4, c);
        let y2 = ld4(rowb, rok, sx + 8, c);
        let y3 = ld4(rowb, rok, sx + 12, c);
        x0 = y0.x; x1 = y0.y; x2 = y0.z; x3 = y0.w;
        x4 = y1.x; x5 = y1.y; x6 = y1.z; x7 = y1.w;
        x8 = y2.x; x9 = y2.y; x10 = y2.z; x11 = y2.w;
        x12 = y3.x; x13 = y3.y; x14 = y3.z; x15 = y3.w;
      } else {
        x0 = ld(q0, c);
        x1 = ld(q1, c);
        x2 = ld(q2, c);
        x3 = ld(q3, c);
        x4 = ld(q4, c);
        x5 = ld(q5, c);
        x6 = ld(q6, c);
        x7 = ld(q7, c);
        x8 = ld(q8, c);
        x9 = ld(q9, c);
        x10 = ld(q10, c);
        x11 = ld(q11, c);
        x12 = ld(q12, c);
        x13 = ld(q13, c);
        x14 = ld(q14, c);
        x15 = ld(q15, c);
      }
      { let w = w8(0u, wj + 0u, lw.ok, sid);
        a0l += w.lo * x0; a0h += w.hi * x0;
        a1l += w.lo * x1; a1h += w.hi * x1;
        a2l += w.lo * x2; a2h += w.hi * x2;
        a3l += w.lo * x3; a3h += w.hi * x3;
        a4l += w.lo * x4; a4h += w.hi * x4;
        a5l += w.lo * x5; a5h += w.hi * x5;
        a6l += w.lo * x6; a6h += w.hi * x6;
        a7l += w.lo * x7; a7h += w.hi * x7;
      }
      { let w = w8(0u, wj + 1u, lw.ok, sid);
        a0l += w.lo * x2; a0h += w.hi * x2;
        a1l += w.lo * x3; a1h += w.hi * x3;
        a2l += w.lo * x4; a2h += w.hi * x4;
        a3l += w.lo * x5; a3h += w.hi * x5;
        a4l += w.lo * x6; a4h += w.hi * x6;
        a5l += w.lo * x7; a5h += w.hi * x7;
        a6l += w.lo * x8; a6h += w.hi * x8;
        a7l += w.lo * x9; a7h += w.hi * x9;
      }
      { let w = w8(0u, wj + 2u, lw.ok, sid);
        a0l += w.lo * x4; a0h += w.hi * x4;
        a1l += w.lo * x5; a1h += w.hi * x5;
        a2l += w.lo * x6; a2h += w.hi * x6;
        a3l += w.lo * x7; a3h += w.hi * x7;
        a4l += w.lo * x8; a4h += w.hi * x8;
        a5l += w.lo * x9; a5h += w.hi * x9;
        a6l += w.lo * x10; a6h += w.hi * x10;
        a7l += w.lo * x11; a7h += w.hi * x11;
      }
      { let w = w8(0u, wj + 3u, lw.ok, sid);
        a0l += w.lo * x6; a0h += w.hi * x6;
        a1l += w.lo * x7; a1h += w.hi * x7;
        a2l += w.lo * x8; a2h += w.hi * x8;
        a3l += w.lo * x9; a3h += w.hi * x9;
        a4l += w.lo * x10; a4h += w.hi * x10;
        a5l += w.lo * x11; a5h += w.hi * x11;
        a6l += w.lo * x12; a6h += w.hi * x12;
        a7l += w.lo * x13; a7h += w.hi * x13;
      }
      { let w = w8(0u, wj + 4u, lw.ok, sid);
        a0l += w.lo * x8; a0h += w.hi * x8;
        a1l += w.lo * x9; a1h += w.hi * x9;
        a2l += w.lo * x10; a2h += w.hi * x10;
        a3l += w.lo * x11; a3h += w.hi * x11;
        a4l += w.lo * x12; a4h += w.hi * x12;
        a5l += w.lo * x13; a5h += w.hi * x13;
        a6l += w.lo * x14; a6h += w.hi * x14;
        a7l += w.lo * x15; a7h += w.hi * x15;
      }
      wj += lw.stride;
      c += ihw;
    }
  }
  gather8_store(n, a, b0, live, blk, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, a4l, a4h, a5l, a5h,
                a6l, a6h, a7l, a7h);
}

// A gather16/32/64 workgroup (one 8-lane subgroup): its destination pixels (image n, row a,
// 32 pixels from b0) and this lane's channel block cb of group g (weights at block wblk).
struct WideBlock {
  lane: u32, live: bool, n: u32, a: u32, b0: u32,
  g: u32, cb: u32, wblk: u32, src0: u32, ihw: u32, m: i32,
}

fn wide_block(wid: vec3<u32>, nwg: vec3<u32>, sid: u32) -> WideBlock {
  let lane = sid & 7u;
  let flat = wid.y + wid.z * nwg.y;
  let n = min(flat / p.chunks, p.n - 1u);
  let t = flat % p.chunks;
  // Lanes per workgroup own 8 channel blocks of `R` channels (the variant's packing).
  let blocks = (p.blocks_g + 7u) / 8u;
  let g = wid.x / blocks;
  let cb = (wid.x % blocks) * 8u + lane;
  let a = t / p.cols_b;
  let b0 = (t % p.cols_b) * 32u;
  var ihw = p.ih * p.iw;
  var src0 = (n * p.cin + g * p.red) * ihw;
  if (p.src_blk != 0u) {
    // A 1x1 conv over pixel blocks, launched as one row of ih * iw pixels (src/ops/conv2d/
    // blocks.rs): the workgroup's 32 pixels are block b0 / 32, its channels 32 floats apart.
    src0 = ((n * ((ihw + 31u) / 32u) + b0 / 32u) * p.cin + g * p.red) * 32u;
    ihw = 32u;
  }
  return WideBlock(lane, flat < p.total, n, a, b0, g, cb,
                   g * p.blocks_g + min(cb, p.blocks_g - 1u), src0, ihw, i32(p.in_mul));
}

// Tap row ky: whether it reaches this phase, and the source row it reads (rok: inside).
struct WideRow { tap: bool, rok: bool, rowb: u32 }

fn wide_row(k: WideBlock, ky: u32) -> WideRow {
  let ty = tap_off(p.tc0y, ky);
  let sy = i32(k.a) * k.m + select(0, ty, ty != NO_TAP);
  let rok = k.live && sy >= 0 && sy < i32(p.ih);
  return WideRow(ty != NO_TAP, rok, k.src0 + select(0u, u32(sy) * p.iw, rok));
}

// Tap column kx of a row: whether it reaches this phase, and the lane's 4 source pixels
// (pixels lane, lane + 8, lane + 16, lane + 24 of the block).
struct WideCols { tap: bool, q0: Px, q1: Px, q2: Px, q3: Px }

fn wide_cols(k: WideBlock, row: WideRow, kx: u32) -> WideCols {
  let tx = tap_off(p.tc0x, kx);
  let sx = i32(k.b0 + k.lane) * k.m + select(0, tx, tx != NO_TAP);
  if (p.src_blk != 0u) {
    // Pixel j of the block at src0 + j, inside the (padded) block even past the last pixel.
    let q = row.rowb + k.lane;
    let w = i32(p.iw);
    return WideCols(tx != NO_TAP, Px(q, row.rok && sx < w), Px(q + 8u, row.rok && sx + 8 < w),
                    Px(q + 16u, row.rok && sx + 16 < w), Px(q + 24u, row.rok && sx + 24 < w));
  }
  return WideCols(tx != NO_TAP, px(row.rowb, row.rok, sx), px(row.rowb, row.rok, sx + 8 * k.m),
                  px(row.rowb, row.rok, sx + 16 * k.m), px(row.rowb, row.rok, sx + 24 * k.m));
}

// What a live lane of a wide gather with `r` channels per lane stores: its nc (<= r)
// destination channels from c0, and how many of its 8 groups of 4 pixels are whole vec4s.
struct WideDst { nc: u32, c0: u32, nw: u32 }

fn wide_dst(k: WideBlock, r: u32) -> WideDst {
  return WideDst(min(p.on - k.cb * r, r), k.g * p.og + p.o0 + k.cb * r, whole_groups(k.b0, 8u));
}

// 64 destination channels x 32 destination pixels per workgroup of one 8-lane subgroup, chosen
// by src/ops/conv2d/gather.rs when a group has enough destination channels: the lanes share
// the pixels and lane l owns channels 8 l .. 8 l + 7 of the block. Per reduction step each lane
// loads 4 source values (pixels lane, lane + 8, ...) and hands them to the others with
// subgroupBroadcast, and loads its own 8 weights as two vec4: 6 loads per 256 FMAs
// instead of 9 per 64 in gather8, as every source value is loaded once per subgroup.
// Grid: y/z = folded (n, row, 32-pixel block), x = 64-channel block (group-major; on x so
// that a pixel block's channel blocks run back to back, src/ops/conv2d/gather.rs).
@compute @workgroup_size(8)
fn gather64(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  with_addend = p.add != 0u;
  let k = wide_block(wid, nwg, sid);
  var a0l = vec4<f32>(0.0); var a0h = vec4<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec4<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec4<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec4<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec4<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec4<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec4<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec4<f32>(0.0);
  var a8l = vec4<f32>(0.0); var a8h = vec4<f32>(0.0);
  var a9l = vec4<f32>(0.0); var a9h = vec4<f32>(0.0);
  var a10l = vec4<f32>(0.0); var a10h = vec4<f32>(0.0);
  var a11l = vec4<f32>(0.0); var a11h = vec4<f32>(0.0);
  var a12l = vec4<f32>(0.0); var a12h = vec4<f32>(0.0);
  var a13l = vec4<f32>(0.0); var a13h = vec4<f32>(0.0);
  var a14l = vec4<f32>(0.0); var a14h = vec4<f32>(0.0);
  var a15l = vec4<f32>(0.0); var a15h = vec4<f32>(0.0);
  var a16l = vec4<f32>(0.0); var a16h = vec4<f32>(0.0);
  var a17l = vec4<f32>(0.0); var a17h = vec4<f32>(0.0);
  var a18l = vec4<f32>(0.0); var a18h = vec4<f32>(0.0);
  var a19l = vec4<f32>(0.0); var a19h = vec4<f32>(0.0);
  var a20l = vec4<f32>(0.0); var a20h = vec4<f32>(0.0);
  var a21l = vec4<f32>(0.0); var a21h = vec4<f32>(0.0);
  var a22l = vec4<f32>(0.0); var a22h = vec4<f32>(0.0);
  var a23l = vec4<f32>(0.0); var a23h = vec4<f32>(0.0);
  var a24l = vec4<f32>(0.0); var a24h = vec4<f32>(0.0);
  var a25l = vec4<f32>(0.0); var a25h = vec4<f32>(0.0);
  var a26l = vec4<f32>(0.0); var a26h = vec4<f32>(0.0);
  var a27l = vec4<f32>(0.0); var a27h = vec4<f32>(0.0);
  var a28l = vec4<f32>(0.0); var a28h = vec4<f32>(0.0);
  var a29l = vec4<f32>(0.0); var a29h = vec4<f32>(0.0);
  var a30l = vec4<f32>(0.0); var a30h = vec4<f32>(0.0);
  var a31l = vec4<f32>(0.0); var a31h = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let q = wide_cols(k, row, kx);
      if (!q.tap) { continue; }
      var wi = ((k.wblk * p.kh + ky) * p.kw + kx) * p.red * 2u;
      // Two reduction channels per pass, each accumulator taking its two products back to back:
      // the 64 vec4 accumulators (256 SIMD registers on lavapipe) live on the stack, so this halves
      // their loads and stores per FMA (-16 to -19 % on lavapipe, docs/perf-log.md). Each value
      // still sums the same products in the same order.
      var c = 0u;
      var ci = 0u;
      for (; ci + 2u <= p.red; ci += 2u) {
        let wl0 = wp[wi + 0u];
        let wh0 = wp[wi + 1u];
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        let wl1 = wp[wi + 2u];
        let wh1 = wp[wi + 3u];
        let x10 = ld(q.q0, c + k.ihw);
        let x11 = ld(q.q1, c + k.ihw);
        let x12 = ld(q.q2, c + k.ihw);
        let x13 = ld(q.q3, c + k.ihw);
        { let s = subgroupBroadcast(x00, 0u); let t = subgroupBroadcast(x10, 0u);
          a0l += wl0 * s; a0l += wl1 * t; a0h += wh0 * s; a0h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 1u); let t = subgroupBroadcast(x10, 1u);
          a1l += wl0 * s; a1l += wl1 * t; a1h += wh0 * s; a1h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 2u); let t = subgroupBroadcast(x10, 2u);
          a2l += wl0 * s; a2l += wl1 * t; a2h += wh0 * s; a2h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 3u); let t = subgroupBroadcast(x10, 3u);
          a3l += wl0 * s; a3l += wl1 * t; a3h += wh0 * s; a3h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 4u); let t = subgroupBroadcast(x10, 4u);
          a4l += wl0 * s; a4l += wl1 * t; a4h += wh0 * s; a4h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 5u); let t = subgroupBroadcast(x10, 5u);
          a5l += wl0 * s; a5l += wl1 * t; a5h += wh0 * s; a5h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 6u); let t = subgroupBroadcast(x10, 6u);
          a6l += wl0 * s; a6l += wl1 * t; a6h += wh0 * s; a6h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 7u); let t = subgroupBroadcast(x10, 7u);
          a7l += wl0 * s; a7l += wl1 * t; a7h += wh0 * s; a7h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 0u); let t = subgroupBroadcast(x11, 0u);
          a8l += wl0 * s; a8l += wl1 * t; a8h += wh0 * s; a8h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 1u); let t = subgroupBroadcast(x11, 1u);
          a9l += wl0 * s; a9l += wl1 * t; a9h += wh0 * s; a9h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 2u); let t = subgroupBroadcast(x11, 2u);
          a10l += wl0 * s; a10l += wl1 * t; a10h += wh0 * s; a10h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 3u); let t = subgroupBroadcast(x11, 3u);
          a11l += wl0 * s; a11l += wl1 * t; a11h += wh0 * s; a11h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 4u); let t = subgroupBroadcast(x11, 4u);
          a12l += wl0 * s; a12l += wl1 * t; a12h += wh0 * s; a12h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 5u); let t = subgroupBroadcast(x11, 5u);
          a13l += wl0 * s; a13l += wl1 * t; a13h += wh0 * s; a13h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 6u); let t = subgroupBroadcast(x11, 6u);
          a14l += wl0 * s; a14l += wl1 * t; a14h += wh0 * s; a14h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 7u); let t = subgroupBroadcast(x11, 7u);
          a15l += wl0 * s; a15l += wl1 * t; a15h += wh0 * s; a15h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 0u); let t = subgroupBroadcast(x12, 0u);
          a16l += wl0 * s; a16l += wl1 * t; a16h += wh0 * s; a16h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 1u); let t = subgroupBroadcast(x12, 1u);
          a17l += wl0 * s; a17l += wl1 * t; a17h += wh0 * s; a17h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 2u); let t = subgroupBroadcast(x12, 2u);
          a18l += wl0 * s; a18l += wl1 * t; a18h += wh0 * s; a18h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 3u); let t = subgroupBroadcast(x12, 3u);
          a19l += wl0 * s; a19l += wl1 * t; a19h += wh0 * s; a19h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 4u); let t = subgroupBroadcast(x12, 4u);
          a20l += wl0 * s; a20l += wl1 * t; a20h += wh0 * s; a20h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 5u); let t = subgroupBroadcast(x12, 5u);
          a21l += wl0 * s; a21l += wl1 * t; a21h += wh0 * s; a21h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 6u); let t = subgroupBroadcast(x12, 6u);
          a22l += wl0 * s; a22l += wl1 * t; a22h += wh0 * s; a22h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 7u); let t = subgroupBroadcast(x12, 7u);
          a23l += wl0 * s; a23l += wl1 * t; a23h += wh0 * s; a23h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 0u); let t = subgroupBroadcast(x13, 0u);
          a24l += wl0 * s; a24l += wl1 * t; a24h += wh0 * s; a24h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 1u); let t = subgroupBroadcast(x13, 1u);
          a25l += wl0 * s; a25l += wl1 * t; a25h += wh0 * s; a25h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 2u); let t = subgroupBroadcast(x13, 2u);
          a26l += wl0 * s; a26l += wl1 * t; a26h += wh0 * s; a26h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 3u); let t = subgroupBroadcast(x13, 3u);
          a27l += wl0 * s; a27l += wl1 * t; a27h += wh0 * s; a27h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 4u); let t = subgroupBroadcast(x13, 4u);
          a28l += wl0 * s; a28l += wl1 * t; a28h += wh0 * s; a28h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 5u); let t = subgroupBroadcast(x13, 5u);
          a29l += wl0 * s; a29l += wl1 * t; a29h += wh0 * s; a29h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 6u); let t = subgroupBroadcast(x13, 6u);
          a30l += wl0 * s; a30l += wl1 * t; a30h += wh0 * s; a30h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 7u); let t = subgroupBroadcast(x13, 7u);
          a31l += wl0 * s; a31l += wl1 * t; a31h += wh0 * s; a31h += wh1 * t; }
        wi += 4u;
        c += 2u * k.ihw;
      }
      if (ci < p.red) {  // an odd channel count's last one
        let wl0 = wp[wi + 0u];
        let wh0 = wp[wi + 1u];
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        { let s = subgroupBroadcast(x00, 0u); a0l += wl0 * s; a0h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 1u); a1l += wl0 * s; a1h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 2u); a2l += wl0 * s; a2h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 3u); a3l += wl0 * s; a3h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 4u); a4l += wl0 * s; a4h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 5u); a5l += wl0 * s; a5h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 6u); a6l += wl0 * s; a6h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 7u); a7l += wl0 * s; a7h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 0u); a8l += wl0 * s; a8h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 1u); a9l += wl0 * s; a9h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 2u); a10l += wl0 * s; a10h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 3u); a11l += wl0 * s; a11h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 4u); a12l += wl0 * s; a12h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 5u); a13l += wl0 * s; a13h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 6u); a14l += wl0 * s; a14h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 7u); a15l += wl0 * s; a15h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 0u); a16l += wl0 * s; a16h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 1u); a17l += wl0 * s; a17h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 2u); a18l += wl0 * s; a18h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 3u); a19l += wl0 * s; a19h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 4u); a20l += wl0 * s; a20h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 5u); a21l += wl0 * s; a21h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 6u); a22l += wl0 * s; a22h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 7u); a23l += wl0 * s; a23h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 0u); a24l += wl0 * s; a24h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 1u); a25l += wl0 * s; a25h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 2u); a26l += wl0 * s; a26h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 3u); a27l += wl0 * s; a27h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 4u); a28l += wl0 * s; a28h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 5u); a29l += wl0 * s; a29h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 6u); a30l += wl0 * s; a30h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 7u); a31l += wl0 * s; a31h += wh0 * s; }
      }

    }
  }
  if (!k.live || k.cb >= p.blocks_g) { return; }
  let d = wide_dst(k, 8u);
  let n = k.n; let a = k.a; let b0 = k.b0; let nc = d.nc; let c0 = d.c0; let nw = d.nw;
  let bl = bias4(c0); let bh = bias4(c0 + 4u);
  if (nw > 0u) { store8x4(n, c0, nc, a, b0 + 0u, a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, bl, bh); }
  if (nw > 1u) { store8x4(n, c0, nc, a, b0 + 4u, a4l, a4h, a5l, a5h, a6l, a6h, a7l, a7h, bl, bh); }
  if (nw > 2u) { store8x4(n, c0, nc, a, b0 + 8u, a8l, a8h, a9l, a9h, a10l, a10h, a11l, a11h, bl, bh); }
  if (nw > 3u) { store8x4(n, c0, nc, a, b0 + 12u, a12l, a12h, a13l, a13h, a14l, a14h, a15l, a15h, bl, bh); }
  if (nw > 4u) { store8x4(n, c0, nc, a, b0 + 16u, a16l, a16h, a17l, a17h, a18l, a18h, a19l, a19h, bl, bh); }
  if (nw > 5u) { store8x4(n, c0, nc, a, b0 + 20u, a20l, a20h, a21l, a21h, a22l, a22h, a23l, a23h, bl, bh); }
  if (nw > 6u) { store8x4(n, c0, nc, a, b0 + 24u, a24l, a24h, a25l, a25h, a26l, a26h, a27l, a27h, bl, bh); }
  if (nw > 7u) { store8x4(n, c0, nc, a, b0 + 28u, a28l, a28h, a29l, a29h, a30l, a30h, a31l, a31h, bl, bh); }
  if (nw < 8u) {
    let lo = array<vec4<f32>, 32>(a0l, a1l, a2l, a3l, a4l, a5l, a6l, a7l, a8l, a9l, a10l, a11l, a12l,
      a13l, a14l, a15l, a16l, a17l, a18l, a19l, a20l, a21l, a22l, a23l, a24l, a25l, a26l, a27l, a28l,
      a29l, a30l, a31l);
    let hi = array<vec4<f32>, 32>(a0h, a1h, a2h, a3h, a4h, a5h, a6h, a7h, a8h, a9h, a10h, a11h, a12h,
      a13h, a14h, a15h, a16h, a17h, a18h, a19h, a20h, a21h, a22h, a23h, a24h, a25h, a26h, a27h, a28h,
      a29h, a30h, a31h);
    for (var j = nw * 4u; j < min(32u, p.cols - b0); j++) { store8(n, c0, nc, a, b0 + j, lo[j], hi[j]); }
  }
  if (with_addend) { add_addend(n, c0, nc, a, b0, min(32u, p.cols - b0)); }
}

// gather64 with 7 destination channels per lane (56 per workgroup), for groups of 49-56
// channels: the offset predictors' 54 (2 groups x 27) fill 54 of 56 lanes' channels where
// gather64 leaves 10 of 64 idle, and each lane updates 7 accumulators per pixel instead of 8
// (the upper three as vec3). Weights packed 7 channels per 8-float slot (pack_weights, S = 8);
// each value sums the same products in the same order as in gather64.
@compute @workgroup_size(8)
fn gather56(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  with_addend = p.add != 0u;
  let k = wide_block(wid, nwg, sid);
  var a0l = vec4<f32>(0.0); var a0h = vec3<f32>(0.0);
  var a1l = vec4<f32>(0.0); var a1h = vec3<f32>(0.0);
  var a2l = vec4<f32>(0.0); var a2h = vec3<f32>(0.0);
  var a3l = vec4<f32>(0.0); var a3h = vec3<f32>(0.0);
  var a4l = vec4<f32>(0.0); var a4h = vec3<f32>(0.0);
  var a5l = vec4<f32>(0.0); var a5h = vec3<f32>(0.0);
  var a6l = vec4<f32>(0.0); var a6h = vec3<f32>(0.0);
  var a7l = vec4<f32>(0.0); var a7h = vec3<f32>(0.0);
  var a8l = vec4<f32>(0.0); var a8h = vec3<f32>(0.0);
  var a9l = vec4<f32>(0.0); var a9h = vec3<f32>(0.0);
  var a10l = vec4<f32>(0.0); var a10h = vec3<f32>(0.0);
  var a11l = vec4<f32>(0.0); var a11h = vec3<f32>(0.0);
  var a12l = vec4<f32>(0.0); var a12h = vec3<f32>(0.0);
  var a13l = vec4<f32>(0.0); var a13h = vec3<f32>(0.0);
  var a14l = vec4<f32>(0.0); var a14h = vec3<f32>(0.0);
  var a15l = vec4<f32>(0.0); var a15h = vec3<f32>(0.0);
  var a16l = vec4<f32>(0.0); var a16h = vec3<f32>(0.0);
  var a17l = vec4<f32>(0.0); var a17h = vec3<f32>(0.0);
  var a18l = vec4<f32>(0.0); var a18h = vec3<f32>(0.0);
  var a19l = vec4<f32>(0.0); var a19h = vec3<f32>(0.0);
  var a20l = vec4<f32>(0.0); var a20h = vec3<f32>(0.0);
  var a21l = vec4<f32>(0.0); var a21h = vec3<f32>(0.0);
  var a22l = vec4<f32>(0.0); var a22h = vec3<f32>(0.0);
  var a23l = vec4<f32>(0.0); var a23h = vec3<f32>(0.0);
  var a24l = vec4<f32>(0.0); var a24h = vec3<f32>(0.0);
  var a25l = vec4<f32>(0.0); var a25h = vec3<f32>(0.0);
  var a26l = vec4<f32>(0.0); var a26h = vec3<f32>(0.0);
  var a27l = vec4<f32>(0.0); var a27h = vec3<f32>(0.0);
  var a28l = vec4<f32>(0.0); var a28h = vec3<f32>(0.0);
  var a29l = vec4<f32>(0.0); var a29h = vec3<f32>(0.0);
  var a30l = vec4<f32>(0.0); var a30h = vec3<f32>(0.0);
  var a31l = vec4<f32>(0.0); var a31h = vec3<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let q = wide_cols(k, row, kx);
      if (!q.tap) { continue; }
      var wi = ((k.wblk * p.kh + ky) * p.kw + kx) * p.red * 2u;
      // Two reduction channels per pass, each accumulator taking its two products back to back:
      // the 64 vec4 accumulators (256 SIMD registers on lavapipe) live on the stack, so this halves
      // their loads and stores per FMA (-16 to -19 % on lavapipe, docs/perf-log.md). Each value
      // still sums the same products in the same order.
      var c = 0u;
      var ci = 0u;
      for (; ci + 2u <= p.red; ci += 2u) {
        let wl0 = wp[wi + 0u];
        let wh0 = wp[wi + 1u].xyz;
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        let wl1 = wp[wi + 2u];
        let wh1 = wp[wi + 3u].xyz;
        let x10 = ld(q.q0, c + k.ihw);
        let x11 = ld(q.q1, c + k.ihw);
        let x12 = ld(q.q2, c + k.ihw);
        let x13 = ld(q.q3, c + k.ihw);
        { let s = subgroupBroadcast(x00, 0u); let t = subgroupBroadcast(x10, 0u);
          a0l += wl0 * s; a0l += wl1 * t; a0h += wh0 * s; a0h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 1u); let t = subgroupBroadcast(x10, 1u);
          a1l += wl0 * s; a1l += wl1 * t; a1h += wh0 * s; a1h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 2u); let t = subgroupBroadcast(x10, 2u);
          a2l += wl0 * s; a2l += wl1 * t; a2h += wh0 * s; a2h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 3u); let t = subgroupBroadcast(x10, 3u);
          a3l += wl0 * s; a3l += wl1 * t; a3h += wh0 * s; a3h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 4u); let t = subgroupBroadcast(x10, 4u);
          a4l += wl0 * s; a4l += wl1 * t; a4h += wh0 * s; a4h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 5u); let t = subgroupBroadcast(x10, 5u);
          a5l += wl0 * s; a5l += wl1 * t; a5h += wh0 * s; a5h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 6u); let t = subgroupBroadcast(x10, 6u);
          a6l += wl0 * s; a6l += wl1 * t; a6h += wh0 * s; a6h += wh1 * t; }
        { let s = subgroupBroadcast(x00, 7u); let t = subgroupBroadcast(x10, 7u);
          a7l += wl0 * s; a7l += wl1 * t; a7h += wh0 * s; a7h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 0u); let t = subgroupBroadcast(x11, 0u);
          a8l += wl0 * s; a8l += wl1 * t; a8h += wh0 * s; a8h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 1u); let t = subgroupBroadcast(x11, 1u);
          a9l += wl0 * s; a9l += wl1 * t; a9h += wh0 * s; a9h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 2u); let t = subgroupBroadcast(x11, 2u);
          a10l += wl0 * s; a10l += wl1 * t; a10h += wh0 * s; a10h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 3u); let t = subgroupBroadcast(x11, 3u);
          a11l += wl0 * s; a11l += wl1 * t; a11h += wh0 * s; a11h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 4u); let t = subgroupBroadcast(x11, 4u);
          a12l += wl0 * s; a12l += wl1 * t; a12h += wh0 * s; a12h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 5u); let t = subgroupBroadcast(x11, 5u);
          a13l += wl0 * s; a13l += wl1 * t; a13h += wh0 * s; a13h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 6u); let t = subgroupBroadcast(x11, 6u);
          a14l += wl0 * s; a14l += wl1 * t; a14h += wh0 * s; a14h += wh1 * t; }
        { let s = subgroupBroadcast(x01, 7u); let t = subgroupBroadcast(x11, 7u);
          a15l += wl0 * s; a15l += wl1 * t; a15h += wh0 * s; a15h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 0u); let t = subgroupBroadcast(x12, 0u);
          a16l += wl0 * s; a16l += wl1 * t; a16h += wh0 * s; a16h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 1u); let t = subgroupBroadcast(x12, 1u);
          a17l += wl0 * s; a17l += wl1 * t; a17h += wh0 * s; a17h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 2u); let t = subgroupBroadcast(x12, 2u);
          a18l += wl0 * s; a18l += wl1 * t; a18h += wh0 * s; a18h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 3u); let t = subgroupBroadcast(x12, 3u);
          a19l += wl0 * s; a19l += wl1 * t; a19h += wh0 * s; a19h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 4u); let t = subgroupBroadcast(x12, 4u);
          a20l += wl0 * s; a20l += wl1 * t; a20h += wh0 * s; a20h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 5u); let t = subgroupBroadcast(x12, 5u);
          a21l += wl0 * s; a21l += wl1 * t; a21h += wh0 * s; a21h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 6u); let t = subgroupBroadcast(x12, 6u);
          a22l += wl0 * s; a22l += wl1 * t; a22h += wh0 * s; a22h += wh1 * t; }
        { let s = subgroupBroadcast(x02, 7u); let t = subgroupBroadcast(x12, 7u);
          a23l += wl0 * s; a23l += wl1 * t; a23h += wh0 * s; a23h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 0u); let t = subgroupBroadcast(x13, 0u);
          a24l += wl0 * s; a24l += wl1 * t; a24h += wh0 * s; a24h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 1u); let t = subgroupBroadcast(x13, 1u);
          a25l += wl0 * s; a25l += wl1 * t; a25h += wh0 * s; a25h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 2u); let t = subgroupBroadcast(x13, 2u);
          a26l += wl0 * s; a26l += wl1 * t; a26h += wh0 * s; a26h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 3u); let t = subgroupBroadcast(x13, 3u);
          a27l += wl0 * s; a27l += wl1 * t; a27h += wh0 * s; a27h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 4u); let t = subgroupBroadcast(x13, 4u);
          a28l += wl0 * s; a28l += wl1 * t; a28h += wh0 * s; a28h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 5u); let t = subgroupBroadcast(x13, 5u);
          a29l += wl0 * s; a29l += wl1 * t; a29h += wh0 * s; a29h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 6u); let t = subgroupBroadcast(x13, 6u);
          a30l += wl0 * s; a30l += wl1 * t; a30h += wh0 * s; a30h += wh1 * t; }
        { let s = subgroupBroadcast(x03, 7u); let t = subgroupBroadcast(x13, 7u);
          a31l += wl0 * s; a31l += wl1 * t; a31h += wh0 * s; a31h += wh1 * t; }
        wi += 4u;
        c += 2u * k.ihw;
      }
      if (ci < p.red) {  // an odd channel count's last one
        let wl0 = wp[wi + 0u];
        let wh0 = wp[wi + 1u].xyz;
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        { let s = subgroupBroadcast(x00, 0u); a0l += wl0 * s; a0h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 1u); a1l += wl0 * s; a1h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 2u); a2l += wl0 * s; a2h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 3u); a3l += wl0 * s; a3h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 4u); a4l += wl0 * s; a4h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 5u); a5l += wl0 * s; a5h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 6u); a6l += wl0 * s; a6h += wh0 * s; }
        { let s = subgroupBroadcast(x00, 7u); a7l += wl0 * s; a7h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 0u); a8l += wl0 * s; a8h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 1u); a9l += wl0 * s; a9h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 2u); a10l += wl0 * s; a10h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 3u); a11l += wl0 * s; a11h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 4u); a12l += wl0 * s; a12h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 5u); a13l += wl0 * s; a13h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 6u); a14l += wl0 * s; a14h += wh0 * s; }
        { let s = subgroupBroadcast(x01, 7u); a15l += wl0 * s; a15h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 0u); a16l += wl0 * s; a16h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 1u); a17l += wl0 * s; a17h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 2u); a18l += wl0 * s; a18h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 3u); a19l += wl0 * s; a19h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 4u); a20l += wl0 * s; a20h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 5u); a21l += wl0 * s; a21h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 6u); a22l += wl0 * s; a22h += wh0 * s; }
        { let s = subgroupBroadcast(x02, 7u); a23l += wl0 * s; a23h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 0u); a24l += wl0 * s; a24h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 1u); a25l += wl0 * s; a25h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 2u); a26l += wl0 * s; a26h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 3u); a27l += wl0 * s; a27h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 4u); a28l += wl0 * s; a28h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 5u); a29l += wl0 * s; a29h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 6u); a30l += wl0 * s; a30h += wh0 * s; }
        { let s = subgroupBroadcast(x03, 7u); a31l += wl0 * s; a31h += wh0 * s; }
      }

    }
  }
  if (!k.live || k.cb >= p.blocks_g) { return; }
  let d = wide_dst(k, 7u);
  let n = k.n; let a = k.a; let b0 = k.b0; let nc = d.nc; let c0 = d.c0; let nw = d.nw;
  let bl = bias4(c0); let bh = bias4(c0 + 4u);
  if (nw > 0u) { store8x4(n, c0, nc, a, b0 + 0u, a0l, vec4<f32>(a0h, 0.0), a1l, vec4<f32>(a1h, 0.0), a2l, vec4<f32>(a2h, 0.0), a3l, vec4<f32>(a3h, 0.0), bl, bh); }
  if (nw > 1u) { store8x4(n, c0, nc, a, b0 + 4u, a4l, vec4<f32>(a4h, 0.0), a5l, vec4<f32>(a5h, 0.0), a6l, vec4<f32>(a6h, 0.0), a7l, vec4<f32>(a7h, 0.0), bl, bh); }
  if (nw > 2u) { store8x4(n, c0, nc, a, b0 + 8u, a8l, vec4<f32>(a8h, 0.0), a9l, vec4<f32>(a9h, 0.0), a10l, vec4<f32>(a10h, 0.0), a11l, vec4<f32>(a11h, 0.0), bl, bh); }
  if (nw > 3u) { store8x4(n, c0, nc, a, b0 + 12u, a12l, vec4<f32>(a12h, 0.0), a13l, vec4<f32>(a13h, 0.0), a14l, vec4<f32>(a14h, 0.0), a15l, vec4<f32>(a15h, 0.0), bl, bh); }
  if (nw > 4u) { store8x4(n, c0, nc, a, b0 + 16u, a16l, vec4<f32>(a16h, 0.0), a17l, vec4<f32>(a17h, 0.0), a18l, vec4<f32>(a18h, 0.0), a19l, vec4<f32>(a19h, 0.0), bl, bh); }
  if (nw > 5u) { store8x4(n, c0, nc, a, b0 + 20u, a20l, vec4<f32>(a20h, 0.0), a21l, vec4<f32>(a21h, 0.0), a22l, vec4<f32>(a22h, 0.0), a23l, vec4<f32>(a23h, 0.0), bl, bh); }
  if (nw > 6u) { store8x4(n, c0, nc, a, b0 + 24u, a24l, vec4<f32>(a24h, 0.0), a25l, vec4<f32>(a25h, 0.0), a26l, vec4<f32>(a26h, 0.0), a27l, vec4<f32>(a27h, 0.0), bl, bh); }
  if (nw > 7u) { store8x4(n, c0, nc, a, b0 + 28u, a28l, vec4<f32>(a28h, 0.0), a29l, vec4<f32>(a29h, 0.0), a30l, vec4<f32>(a30h, 0.0), a31l, vec4<f32>(a31h, 0.0), bl, bh); }
  if (nw < 8u) {
    let lo = array<vec4<f32>, 32>(a0l, a1l, a2l, a3l, a4l, a5l, a6l, a7l, a8l, a9l, a10l, a11l, a12l,
      a13l, a14l, a15l, a16l, a17l, a18l, a19l, a20l, a21l, a22l, a23l, a24l, a25l, a26l, a27l, a28l,
      a29l, a30l, a31l);
    let hi = array<vec4<f32>, 32>(vec4<f32>(a0h, 0.0), vec4<f32>(a1h, 0.0), vec4<f32>(a2h, 0.0), vec4<f32>(a3h, 0.0), vec4<f32>(a4h, 0.0), vec4<f32>(a5h, 0.0), vec4<f32>(a6h, 0.0), vec4<f32>(a7h, 0.0), vec4<f32>(a8h, 0.0), vec4<f32>(a9h, 0.0), vec4<f32>(a10h, 0.0), vec4<f32>(a11h, 0.0), vec4<f32>(a12h, 0.0),
      vec4<f32>(a13h, 0.0), vec4<f32>(a14h, 0.0), vec4<f32>(a15h, 0.0), vec4<f32>(a16h, 0.0), vec4<f32>(a17h, 0.0), vec4<f32>(a18h, 0.0), vec4<f32>(a19h, 0.0), vec4<f32>(a20h, 0.0), vec4<f32>(a21h, 0.0), vec4<f32>(a22h, 0.0), vec4<f32>(a23h, 0.0), vec4<f32>(a24h, 0.0), vec4<f32>(a25h, 0.0), vec4<f32>(a26h, 0.0), vec4<f32>(a27h, 0.0), vec4<f32>(a28h, 0.0),
      vec4<f32>(a29h, 0.0), vec4<f32>(a30h, 0.0), vec4<f32>(a31h, 0.0));
    for (var j = nw * 4u; j < min(32u, p.cols - b0); j++) { store8(n, c0, nc, a, b0 + j, lo[j], hi[j]); }
  }
  if (with_addend) { add_addend(n, c0, nc, a, b0, min(32u, p.cols - b0)); }
}

// gather16 with each source row's window loaded once per pair of reduction channels
// (`gather16w*`, chosen by `window_entry` in src/ops/conv2d/gather.rs for stride-1 forward passes
// with an even channel count): the 32 pixels' window of a row, 32 + (kw - 1) dil values, is 5
// loads per lane, where gather16 loads 4 per tap (20 for a row of 5 taps); each tap takes its 32
// values by broadcast from the window's registers. Sums in the order (row, channel pair,
// column), like gather8s*.
@compute @workgroup_size(8)
fn gather16w3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);
  var a16 = vec2<f32>(0.0);
  var a17 = vec2<f32>(0.0);
  var a18 = vec2<f32>(0.0);
  var a19 = vec2<f32>(0.0);
  var a20 = vec2<f32>(0.0);
  var a21 = vec2<f32>(0.0);
  var a22 = vec2<f32>(0.0);
  var a23 = vec2<f32>(0.0);
  var a24 = vec2<f32>(0.0);
  var a25 = vec2<f32>(0.0);
  var a26 = vec2<f32>(0.0);
  var a27 = vec2<f32>(0.0);
  var a28 = vec2<f32>(0.0);
  var a29 = vec2<f32>(0.0);
  var a30 = vec2<f32>(0.0);
  var a31 = vec2<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    // The row window: 34 pixels from the leftmost tap's, pixel 8 i + lane in this lane.
    let sx = i32(k.b0 + k.lane) + tap_off(p.tc0x, 0u);
    let q0 = px(row.rowb, row.rok, sx + 0);
    let q1 = px(row.rowb, row.rok, sx + 8);
    let q2 = px(row.rowb, row.rok, sx + 16);
    let q3 = px(row.rowb, row.rok, sx + 24);
    let q4 = px(row.rowb, row.rok, sx + 32);
    let wr = (k.wblk * p.kh + ky) * p.kw * p.red * 2u;
    var c = 0u;
    for (var ci = 0u; ci + 2u <= p.red; ci += 2u) {
      let x00 = ld(q0, c);
      let x01 = ld(q1, c);
      let x02 = ld(q2, c);
      let x03 = ld(q3, c);
      let x04 = ld(q4, c);
      let x10 = ld(q0, c + k.ihw);
      let x11 = ld(q1, c + k.ihw);
      let x12 = ld(q2, c + k.ihw);
      let x13 = ld(q3, c + k.ihw);
      let x14 = ld(q4, c + k.ihw);
      { let wk = wr + 0u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
      }
      { let wk = wr + 1u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 1u); a0 += w1 * subgroupBroadcast(x10, 1u);
        a1 += w0 * subgroupBroadcast(x00, 2u); a1 += w1 * subgroupBroadcast(x10, 2u);
        a2 += w0 * subgroupBroadcast(x00, 3u); a2 += w1 * subgroupBroadcast(x10, 3u);
        a3 += w0 * subgroupBroadcast(x00, 4u); a3 += w1 * subgroupBroadcast(x10, 4u);
        a4 += w0 * subgroupBroadcast(x00, 5u); a4 += w1 * subgroupBroadcast(x10, 5u);
        a5 += w0 * subgroupBroadcast(x00, 6u); a5 += w1 * subgroupBroadcast(x10, 6u);
        a6 += w0 * subgroupBroadcast(x00, 7u); a6 += w1 * subgroupBroadcast(x10, 7u);
        a7 += w0 * subgroupBroadcast(x01, 0u); a7 += w1 * subgroupBroadcast(x11, 0u);
        a8 += w0 * subgroupBroadcast(x01, 1u); a8 += w1 * subgroupBroadcast(x11, 1u);
        a9 += w0 * subgroupBroadcast(x01, 2u); a9 += w1 * subgroupBroadcast(x11, 2u);
        a10 += w0 * subgroupBroadcast(x01, 3u); a10 += w1 * subgroupBroadcast(x11, 3u);
        a11 += w0 * subgroupBroadcast(x01, 4u); a11 += w1 * subgroupBroadcast(x11, 4u);
        a12 += w0 * subgroupBroadcast(x01, 5u); a12 += w1 * subgroupBroadcast(x11, 5u);
        a13 += w0 * subgroupBroadcast(x01, 6u); a13 += w1 * subgroupBroadcast(x11, 6u);
        a14 += w0 * subgroupBroadcast(x01, 7u); a14 += w1 * subgroupBroadcast(x11, 7u);
        a15 += w0 * subgroupBroadcast(x02, 0u); a15 += w1 * subgroupBroadcast(x12, 0u);
        a16 += w0 * subgroupBroadcast(x02, 1u); a16 += w1 * subgroupBroadcast(x12, 1u);
        a17 += w0 * subgroupBroadcast(x02, 2u); a17 += w1 * subgroupBroadcast(x12, 2u);
        a18 += w0 * subgroupBroadcast(x02, 3u); a18 += w1 * subgroupBroadcast(x12, 3u);
        a19 += w0 * subgroupBroadcast(x02, 4u); a19 += w1 * subgroupBroadcast(x12, 4u);
        a20 += w0 * subgroupBroadcast(x02, 5u); a20 += w1 * subgroupBroadcast(x12, 5u);
        a21 += w0 * subgroupBroadcast(x02, 6u); a21 += w1 * subgroupBroadcast(x12, 6u);
        a22 += w0 * subgroupBroadcast(x02, 7u); a22 += w1 * subgroupBroadcast(x12, 7u);
        a23 += w0 * subgroupBroadcast(x03, 0u); a23 += w1 * subgroupBroadcast(x13, 0u);
        a24 += w0 * subgroupBroadcast(x03, 1u); a24 += w1 * subgroupBroadcast(x13, 1u);
        a25 += w0 * subgroupBroadcast(x03, 2u); a25 += w1 * subgroupBroadcast(x13, 2u);
        a26 += w0 * subgroupBroadcast(x03, 3u); a26 += w1 * subgroupBroadcast(x13, 3u);
        a27 += w0 * subgroupBroadcast(x03, 4u); a27 += w1 * subgroupBroadcast(x13, 4u);
        a28 += w0 * subgroupBroadcast(x03, 5u); a28 += w1 * subgroupBroadcast(x13, 5u);
        a29 += w0 * subgroupBroadcast(x03, 6u); a29 += w1 * subgroupBroadcast(x13, 6u);
        a30 += w0 * subgroupBroadcast(x03, 7u); a30 += w1 * subgroupBroadcast(x13, 7u);
        a31 += w0 * subgroupBroadcast(x04, 0u); a31 += w1 * subgroupBroadcast(x14, 0u);
      }
      { let wk = wr + 2u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 2u); a0 += w1 * subgroupBroadcast(x10, 2u);
        a1 += w0 * subgroupBroadcast(x00, 3u); a1 += w1 * subgroupBroadcast(x10, 3u);
        a2 += w0 * subgroupBroadcast(x00, 4u); a2 += w1 * subgroupBroadcast(x10, 4u);
        a3 += w0 * subgroupBroadcast(x00, 5u); a3 += w1 * subgroupBroadcast(x10, 5u);
        a4 += w0 * subgroupBroadcast(x00, 6u); a4 += w1 * subgroupBroadcast(x10, 6u);
        a5 += w0 * subgroupBroadcast(x00, 7u); a5 += w1 * subgroupBroadcast(x10, 7u);
        a6 += w0 * subgroupBroadcast(x01, 0u); a6 += w1 * subgroupBroadcast(x11, 0u);
        a7 += w0 * subgroupBroadcast(x01, 1u); a7 += w1 * subgroupBroadcast(x11, 1u);
        a8 += w0 * subgroupBroadcast(x01, 2u); a8 += w1 * subgroupBroadcast(x11, 2u);
        a9 += w0 * subgroupBroadcast(x01, 3u); a9 += w1 * subgroupBroadcast(x11, 3u);
        a10 += w0 * subgroupBroadcast(x01, 4u); a10 += w1 * subgroupBroadcast(x11, 4u);
        a11 += w0 * subgroupBroadcast(x01, 5u); a11 += w1 * subgroupBroadcast(x11, 5u);
        a12 += w0 * subgroupBroadcast(x01, 6u); a12 += w1 * subgroupBroadcast(x11, 6u);
        a13 += w0 * subgroupBroadcast(x01, 7u); a13 += w1 * subgroupBroadcast(x11, 7u);
        a14 += w0 * subgroupBroadcast(x02, 0u); a14 += w1 * subgroupBroadcast(x12, 0u);
        a15 += w0 * subgroupBroadcast(x02, 1u); a15 += w1 * subgroupBroadcast(x12, 1u);
        a16 += w0 * subgroupBroadcast(x02, 2u); a16 += w1 * subgroupBroadcast(x12, 2u);
        a17 += w0 * subgroupBroadcast(x02, 3u); a17 += w1 * subgroupBroadcast(x12, 3u);
        a18 += w0 * subgroupBroadcast(x02, 4u); a18 += w1 * subgroupBroadcast(x12, 4u);
        a19 += w0 * subgroupBroadcast(x02, 5u); a19 += w1 * subgroupBroadcast(x12, 5u);
        a20 += w0 * subgroupBroadcast(x02, 6u); a20 += w1 * subgroupBroadcast(x12, 6u);
        a21 += w0 * subgroupBroadcast(x02, 7u); a21 += w1 * subgroupBroadcast(x12, 7u);
        a22 += w0 * subgroupBroadcast(x03, 0u); a22 += w1 * subgroupBroadcast(x13, 0u);
        a23 += w0 * subgroupBroadcast(x03, 1u); a23 += w1 * subgroupBroadcast(x13, 1u);
        a24 += w0 * subgroupBroadcast(x03, 2u); a24 += w1 * subgroupBroadcast(x13, 2u);
        a25 += w0 * subgroupBroadcast(x03, 3u); a25 += w1 * subgroupBroadcast(x13, 3u);
        a26 += w0 * subgroupBroadcast(x03, 4u); a26 += w1 * subgroupBroadcast(x13, 4u);
        a27 += w0 * subgroupBroadcast(x03, 5u); a27 += w1 * subgroupBroadcast(x13, 5u);
        a28 += w0 * subgroupBroadcast(x03, 6u); a28 += w1 * subgroupBroadcast(x13, 6u);
        a29 += w0 * subgroupBroadcast(x03, 7u); a29 += w1 * subgroupBroadcast(x13, 7u);
        a30 += w0 * subgroupBroadcast(x04, 0u); a30 += w1 * subgroupBroadcast(x14, 0u);
        a31 += w0 * subgroupBroadcast(x04, 1u); a31 += w1 * subgroupBroadcast(x14, 1u);
      }
      c += 2u * k.ihw;
    }
  }
  gather16_store(k, array<vec2<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31));
}

@compute @workgroup_size(8)
fn gather16w3_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);
  var a16 = vec2<f32>(0.0);
  var a17 = vec2<f32>(0.0);
  var a18 = vec2<f32>(0.0);
  var a19 = vec2<f32>(0.0);
  var a20 = vec2<f32>(0.0);
  var a21 = vec2<f32>(0.0);
  var a22 = vec2<f32>(0.0);
  var a23 = vec2<f32>(0.0);
  var a24 = vec2<f32>(0.0);
  var a25 = vec2<f32>(0.0);
  var a26 = vec2<f32>(0.0);
  var a27 = vec2<f32>(0.0);
  var a28 = vec2<f32>(0.0);
  var a29 = vec2<f32>(0.0);
  var a30 = vec2<f32>(0.0);
  var a31 = vec2<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    // The row window: 36 pixels from the leftmost tap's, pixel 8 i + lane in this lane.
    let sx = i32(k.b0 + k.lane) + tap_off(p.tc0x, 0u);
    let q0 = px(row.rowb, row.rok, sx + 0);
    let q1 = px(row.rowb, row.rok, sx + 8);
    let q2 = px(row.rowb, row.rok, sx + 16);
    let q3 = px(row.rowb, row.rok, sx + 24);
    let q4 = px(row.rowb, row.rok, sx + 32);
    let wr = (k.wblk * p.kh + ky) * p.kw * p.red * 2u;
    var c = 0u;
    for (var ci = 0u; ci + 2u <= p.red; ci += 2u) {
      let x00 = ld(q0, c);
      let x01 = ld(q1, c);
      let x02 = ld(q2, c);
      let x03 = ld(q3, c);
      let x04 = ld(q4, c);
      let x10 = ld(q0, c + k.ihw);
      let x11 = ld(q1, c + k.ihw);
      let x12 = ld(q2, c + k.ihw);
      let x13 = ld(q3, c + k.ihw);
      let x14 = ld(q4, c + k.ihw);
      { let wk = wr + 0u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
      }
      { let wk = wr + 1u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 2u); a0 += w1 * subgroupBroadcast(x10, 2u);
        a1 += w0 * subgroupBroadcast(x00, 3u); a1 += w1 * subgroupBroadcast(x10, 3u);
        a2 += w0 * subgroupBroadcast(x00, 4u); a2 += w1 * subgroupBroadcast(x10, 4u);
        a3 += w0 * subgroupBroadcast(x00, 5u); a3 += w1 * subgroupBroadcast(x10, 5u);
        a4 += w0 * subgroupBroadcast(x00, 6u); a4 += w1 * subgroupBroadcast(x10, 6u);
        a5 += w0 * subgroupBroadcast(x00, 7u); a5 += w1 * subgroupBroadcast(x10, 7u);
        a6 += w0 * subgroupBroadcast(x01, 0u); a6 += w1 * subgroupBroadcast(x11, 0u);
        a7 += w0 * subgroupBroadcast(x01, 1u); a7 += w1 * subgroupBroadcast(x11, 1u);
        a8 += w0 * subgroupBroadcast(x01, 2u); a8 += w1 * subgroupBroadcast(x11, 2u);
        a9 += w0 * subgroupBroadcast(x01, 3u); a9 += w1 * subgroupBroadcast(x11, 3u);
        a10 += w0 * subgroupBroadcast(x01, 4u); a10 += w1 * subgroupBroadcast(x11, 4u);
        a11 += w0 * subgroupBroadcast(x01, 5u); a11 += w1 * subgroupBroadcast(x11, 5u);
        a12 += w0 * subgroupBroadcast(x01, 6u); a12 += w1 * subgroupBroadcast(x11, 6u);
        a13 += w0 * subgroupBroadcast(x01, 7u); a13 += w1 * subgroupBroadcast(x11, 7u);
        a14 += w0 * subgroupBroadcast(x02, 0u); a14 += w1 * subgroupBroadcast(x12, 0u);
        a15 += w0 * subgroupBroadcast(x02, 1u); a15 += w1 * subgroupBroadcast(x12, 1u);
        a16 += w0 * subgroupBroadcast(x02, 2u); a16 += w1 * subgroupBroadcast(x12, 2u);
        a17 += w0 * subgroupBroadcast(x02, 3u); a17 += w1 * subgroupBroadcast(x12, 3u);
        a18 += w0 * subgroupBroadcast(x02, 4u); a18 += w1 * subgroupBroadcast(x12, 4u);
        a19 += w0 * subgroupBroadcast(x02, 5u); a19 += w1 * subgroupBroadcast(x12, 5u);
        a20 += w0 * subgroupBroadcast(x02, 6u); a20 += w1 * subgroupBroadcast(x12, 6u);
        a21 += w0 * subgroupBroadcast(x02, 7u); a21 += w1 * subgroupBroadcast(x12, 7u);
        a22 += w0 * subgroupBroadcast(x03, 0u); a22 += w1 * subgroupBroadcast(x13, 0u);
        a23 += w0 * subgroupBroadcast(x03, 1u); a23 += w1 * subgroupBroadcast(x13, 1u);
        a24 += w0 * subgroupBroadcast(x03, 2u); a24 += w1 * subgroupBroadcast(x13, 2u);
        a25 += w0 * subgroupBroadcast(x03, 3u); a25 += w1 * subgroupBroadcast(x13, 3u);
        a26 += w0 * subgroupBroadcast(x03, 4u); a26 += w1 * subgroupBroadcast(x13, 4u);
        a27 += w0 * subgroupBroadcast(x03, 5u); a27 += w1 * subgroupBroadcast(x13, 5u);
        a28 += w0 * subgroupBroadcast(x03, 6u); a28 += w1 * subgroupBroadcast(x13, 6u);
        a29 += w0 * subgroupBroadcast(x03, 7u); a29 += w1 * subgroupBroadcast(x13, 7u);
        a30 += w0 * subgroupBroadcast(x04, 0u); a30 += w1 * subgroupBroadcast(x14, 0u);
        a31 += w0 * subgroupBroadcast(x04, 1u); a31 += w1 * subgroupBroadcast(x14, 1u);
      }
      { let wk = wr + 2u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 4u); a0 += w1 * subgroupBroadcast(x10, 4u);
        a1 += w0 * subgroupBroadcast(x00, 5u); a1 += w1 * subgroupBroadcast(x10, 5u);
        a2 += w0 * subgroupBroadcast(x00, 6u); a2 += w1 * subgroupBroadcast(x10, 6u);
        a3 += w0 * subgroupBroadcast(x00, 7u); a3 += w1 * subgroupBroadcast(x10, 7u);
        a4 += w0 * subgroupBroadcast(x01, 0u); a4 += w1 * subgroupBroadcast(x11, 0u);
        a5 += w0 * subgroupBroadcast(x01, 1u); a5 += w1 * subgroupBroadcast(x11, 1u);
        a6 += w0 * subgroupBroadcast(x01, 2u); a6 += w1 * subgroupBroadcast(x11, 2u);
        a7 += w0 * subgroupBroadcast(x01, 3u); a7 += w1 * subgroupBroadcast(x11, 3u);
        a8 += w0 * subgroupBroadcast(x01, 4u); a8 += w1 * subgroupBroadcast(x11, 4u);
        a9 += w0 * subgroupBroadcast(x01, 5u); a9 += w1 * subgroupBroadcast(x11, 5u);
        a10 += w0 * subgroupBroadcast(x01, 6u); a10 += w1 * subgroupBroadcast(x11, 6u);
        a11 += w0 * subgroupBroadcast(x01, 7u); a11 += w1 * subgroupBroadcast(x11, 7u);
        a12 += w0 * subgroupBroadcast(x02, 0u); a12 += w1 * subgroupBroadcast(x12, 0u);
        a13 += w0 * subgroupBroadcast(x02, 1u); a13 += w1 * subgroupBroadcast(x12, 1u);
        a14 += w0 * subgroupBroadcast(x02, 2u); a14 += w1 * subgroupBroadcast(x12, 2u);
        a15 += w0 * subgroupBroadcast(x02, 3u); a15 += w1 * subgroupBroadcast(x12, 3u);
        a16 += w0 * subgroupBroadcast(x02, 4u); a16 += w1 * subgroupBroadcast(x12, 4u);
        a17 += w0 * subgroupBroadcast(x02, 5u); a17 += w1 * subgroupBroadcast(x12, 5u);
        a18 += w0 * subgroupBroadcast(x02, 6u); a18 += w1 * subgroupBroadcast(x12, 6u);
        a19 += w0 * subgroupBroadcast(x02, 7u); a19 += w1 * subgroupBroadcast(x12, 7u);
        a20 += w0 * subgroupBroadcast(x03, 0u); a20 += w1 * subgroupBroadcast(x13, 0u);
        a21 += w0 * subgroupBroadcast(x03, 1u); a21 += w1 * subgroupBroadcast(x13, 1u);
        a22 += w0 * subgroupBroadcast(x03, 2u); a22 += w1 * subgroupBroadcast(x13, 2u);
        a23 += w0 * subgroupBroadcast(x03, 3u); a23 += w1 * subgroupBroadcast(x13, 3u);
        a24 += w0 * subgroupBroadcast(x03, 4u); a24 += w1 * subgroupBroadcast(x13, 4u);
        a25 += w0 * subgroupBroadcast(x03, 5u); a25 += w1 * subgroupBroadcast(x13, 5u);
        a26 += w0 * subgroupBroadcast(x03, 6u); a26 += w1 * subgroupBroadcast(x13, 6u);
        a27 += w0 * subgroupBroadcast(x03, 7u); a27 += w1 * subgroupBroadcast(x13, 7u);
        a28 += w0 * subgroupBroadcast(x04, 0u); a28 += w1 * subgroupBroadcast(x14, 0u);
        a29 += w0 * subgroupBroadcast(x04, 1u); a29 += w1 * subgroupBroadcast(x14, 1u);
        a30 += w0 * subgroupBroadcast(x04, 2u); a30 += w1 * subgroupBroadcast(x14, 2u);
        a31 += w0 * subgroupBroadcast(x04, 3u); a31 += w1 * subgroupBroadcast(x14, 3u);
      }
      c += 2u * k.ihw;
    }
  }
  gather16_store(k, array<vec2<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31));
}

@compute @workgroup_size(8)
fn gather16w5(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);
  var a16 = vec2<f32>(0.0);
  var a17 = vec2<f32>(0.0);
  var a18 = vec2<f32>(0.0);
  var a19 = vec2<f32>(0.0);
  var a20 = vec2<f32>(0.0);
  var a21 = vec2<f32>(0.0);
  var a22 = vec2<f32>(0.0);
  var a23 = vec2<f32>(0.0);
  var a24 = vec2<f32>(0.0);
  var a25 = vec2<f32>(0.0);
  var a26 = vec2<f32>(0.0);
  var a27 = vec2<f32>(0.0);
  var a28 = vec2<f32>(0.0);
  var a29 = vec2<f32>(0.0);
  var a30 = vec2<f32>(0.0);
  var a31 = vec2<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    // The row window: 36 pixels from the leftmost tap's, pixel 8 i + lane in this lane.
    let sx = i32(k.b0 + k.lane) + tap_off(p.tc0x, 0u);
    let q0 = px(row.rowb, row.rok, sx + 0);
    let q1 = px(row.rowb, row.rok, sx + 8);
    let q2 = px(row.rowb, row.rok, sx + 16);
    let q3 = px(row.rowb, row.rok, sx + 24);
    let q4 = px(row.rowb, row.rok, sx + 32);
    let wr = (k.wblk * p.kh + ky) * p.kw * p.red * 2u;
    var c = 0u;
    for (var ci = 0u; ci + 2u <= p.red; ci += 2u) {
      let x00 = ld(q0, c);
      let x01 = ld(q1, c);
      let x02 = ld(q2, c);
      let x03 = ld(q3, c);
      let x04 = ld(q4, c);
      let x10 = ld(q0, c + k.ihw);
      let x11 = ld(q1, c + k.ihw);
      let x12 = ld(q2, c + k.ihw);
      let x13 = ld(q3, c + k.ihw);
      let x14 = ld(q4, c + k.ihw);
      { let wk = wr + 0u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
      }
      { let wk = wr + 1u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 1u); a0 += w1 * subgroupBroadcast(x10, 1u);
        a1 += w0 * subgroupBroadcast(x00, 2u); a1 += w1 * subgroupBroadcast(x10, 2u);
        a2 += w0 * subgroupBroadcast(x00, 3u); a2 += w1 * subgroupBroadcast(x10, 3u);
        a3 += w0 * subgroupBroadcast(x00, 4u); a3 += w1 * subgroupBroadcast(x10, 4u);
        a4 += w0 * subgroupBroadcast(x00, 5u); a4 += w1 * subgroupBroadcast(x10, 5u);
        a5 += w0 * subgroupBroadcast(x00, 6u); a5 += w1 * subgroupBroadcast(x10, 6u);
        a6 += w0 * subgroupBroadcast(x00, 7u); a6 += w1 * subgroupBroadcast(x10, 7u);
        a7 += w0 * subgroupBroadcast(x01, 0u); a7 += w1 * subgroupBroadcast(x11, 0u);
        a8 += w0 * subgroupBroadcast(x01, 1u); a8 += w1 * subgroupBroadcast(x11, 1u);
        a9 += w0 * subgroupBroadcast(x01, 2u); a9 += w1 * subgroupBroadcast(x11, 2u);
        a10 += w0 * subgroupBroadcast(x01, 3u); a10 += w1 * subgroupBroadcast(x11, 3u);
        a11 += w0 * subgroupBroadcast(x01, 4u); a11 += w1 * subgroupBroadcast(x11, 4u);
        a12 += w0 * subgroupBroadcast(x01, 5u); a12 += w1 * subgroupBroadcast(x11, 5u);
        a13 += w0 * subgroupBroadcast(x01, 6u); a13 += w1 * subgroupBroadcast(x11, 6u);
        a14 += w0 * subgroupBroadcast(x01, 7u); a14 += w1 * subgroupBroadcast(x11, 7u);
        a15 += w0 * subgroupBroadcast(x02, 0u); a15 += w1 * subgroupBroadcast(x12, 0u);
        a16 += w0 * subgroupBroadcast(x02, 1u); a16 += w1 * subgroupBroadcast(x12, 1u);
        a17 += w0 * subgroupBroadcast(x02, 2u); a17 += w1 * subgroupBroadcast(x12, 2u);
        a18 += w0 * subgroupBroadcast(x02, 3u); a18 += w1 * subgroupBroadcast(x12, 3u);
        a19 += w0 * subgroupBroadcast(x02, 4u); a19 += w1 * subgroupBroadcast(x12, 4u);
        a20 += w0 * subgroupBroadcast(x02, 5u); a20 += w1 * subgroupBroadcast(x12, 5u);
        a21 += w0 * subgroupBroadcast(x02, 6u); a21 += w1 * subgroupBroadcast(x12, 6u);
        a22 += w0 * subgroupBroadcast(x02, 7u); a22 += w1 * subgroupBroadcast(x12, 7u);
        a23 += w0 * subgroupBroadcast(x03, 0u); a23 += w1 * subgroupBroadcast(x13, 0u);
        a24 += w0 * subgroupBroadcast(x03, 1u); a24 += w1 * subgroupBroadcast(x13, 1u);
        a25 += w0 * subgroupBroadcast(x03, 2u); a25 += w1 * subgroupBroadcast(x13, 2u);
        a26 += w0 * subgroupBroadcast(x03, 3u); a26 += w1 * subgroupBroadcast(x13, 3u);
        a27 += w0 * subgroupBroadcast(x03, 4u); a27 += w1 * subgroupBroadcast(x13, 4u);
        a28 += w0 * subgroupBroadcast(x03, 5u); a28 += w1 * subgroupBroadcast(x13, 5u);
        a29 += w0 * subgroupBroadcast(x03, 6u); a29 += w1 * subgroupBroadcast(x13, 6u);
        a30 += w0 * subgroupBroadcast(x03, 7u); a30 += w1 * subgroupBroadcast(x13, 7u);
        a31 += w0 * subgroupBroadcast(x04, 0u); a31 += w1 * subgroupBroadcast(x14, 0u);
      }
      { let wk = wr + 2u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 2u); a0 += w1 * subgroupBroadcast(x10, 2u);
        a1 += w0 * subgroupBroadcast(x00, 3u); a1 += w1 * subgroupBroadcast(x10, 3u);
        a2 += w0 * subgroupBroadcast(x00, 4u); a2 += w1 * subgroupBroadcast(x10, 4u);
        a3 += w0 * subgroupBroadcast(x00, 5u); a3 += w1 * subgroupBroadcast(x10, 5u);
        a4 += w0 * subgroupBroadcast(x00, 6u); a4 += w1 * subgroupBroadcast(x10, 6u);
        a5 += w0 * subgroupBroadcast(x00, 7u); a5 += w1 * subgroupBroadcast(x10, 7u);
        a6 += w0 * subgroupBroadcast(x01, 0u); a6 += w1 * subgroupBroadcast(x11, 0u);
        a7 += w0 * subgroupBroadcast(x01, 1u); a7 += w1 * subgroupBroadcast(x11, 1u);
        a8 += w0 * subgroupBroadcast(x01, 2u); a8 += w1 * subgroupBroadcast(x11, 2u);
        a9 += w0 * subgroupBroadcast(x01, 3u); a9 += w1 * subgroupBroadcast(x11, 3u);
        a10 += w0 * subgroupBroadcast(x01, 4u); a10 += w1 * subgroupBroadcast(x11, 4u);
        a11 += w0 * subgroupBroadcast(x01, 5u); a11 += w1 * subgroupBroadcast(x11, 5u);
        a12 += w0 * subgroupBroadcast(x01, 6u); a12 += w1 * subgroupBroadcast(x11, 6u);
        a13 += w0 * subgroupBroadcast(x01, 7u); a13 += w1 * subgroupBroadcast(x11, 7u);
        a14 += w0 * subgroupBroadcast(x02, 0u); a14 += w1 * subgroupBroadcast(x12, 0u);
        a15 += w0 * subgroupBroadcast(x02, 1u); a15 += w1 * subgroupBroadcast(x12, 1u);
        a16 += w0 * subgroupBroadcast(x02, 2u); a16 += w1 * subgroupBroadcast(x12, 2u);
        a17 += w0 * subgroupBroadcast(x02, 3u); a17 += w1 * subgroupBroadcast(x12, 3u);
        a18 += w0 * subgroupBroadcast(x02, 4u); a18 += w1 * subgroupBroadcast(x12, 4u);
        a19 += w0 * subgroupBroadcast(x02, 5u); a19 += w1 * subgroupBroadcast(x12, 5u);
        a20 += w0 * subgroupBroadcast(x02, 6u); a20 += w1 * subgroupBroadcast(x12, 6u);
        a21 += w0 * subgroupBroadcast(x02, 7u); a21 += w1 * subgroupBroadcast(x12, 7u);
        a22 += w0 * subgroupBroadcast(x03, 0u); a22 += w1 * subgroupBroadcast(x13, 0u);
        a23 += w0 * subgroupBroadcast(x03, 1u); a23 += w1 * subgroupBroadcast(x13, 1u);
        a24 += w0 * subgroupBroadcast(x03, 2u); a24 += w1 * subgroupBroadcast(x13, 2u);
        a25 += w0 * subgroupBroadcast(x03, 3u); a25 += w1 * subgroupBroadcast(x13, 3u);
        a26 += w0 * subgroupBroadcast(x03, 4u); a26 += w1 * subgroupBroadcast(x13, 4u);
        a27 += w0 * subgroupBroadcast(x03, 5u); a27 += w1 * subgroupBroadcast(x13, 5u);
        a28 += w0 * subgroupBroadcast(x03, 6u); a28 += w1 * subgroupBroadcast(x13, 6u);
        a29 += w0 * subgroupBroadcast(x03, 7u); a29 += w1 * subgroupBroadcast(x13, 7u);
        a30 += w0 * subgroupBroadcast(x04, 0u); a30 += w1 * subgroupBroadcast(x14, 0u);
        a31 += w0 * subgroupBroadcast(x04, 1u); a31 += w1 * subgroupBroadcast(x14, 1u);
      }
      { let wk = wr + 3u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 3u); a0 += w1 * subgroupBroadcast(x10, 3u);
        a1 += w0 * subgroupBroadcast(x00, 4u); a1 += w1 * subgroupBroadcast(x10, 4u);
        a2 += w0 * subgroupBroadcast(x00, 5u); a2 += w1 * subgroupBroadcast(x10, 5u);
        a3 += w0 * subgroupBroadcast(x00, 6u); a3 += w1 * subgroupBroadcast(x10, 6u);
        a4 += w0 * subgroupBroadcast(x00, 7u); a4 += w1 * subgroupBroadcast(x10, 7u);
        a5 += w0 * subgroupBroadcast(x01, 0u); a5 += w1 * subgroupBroadcast(x11, 0u);
        a6 += w0 * subgroupBroadcast(x01, 1u); a6 += w1 * subgroupBroadcast(x11, 1u);
        a7 += w0 * subgroupBroadcast(x01, 2u); a7 += w1 * subgroupBroadcast(x11, 2u);
        a8 += w0 * subgroupBroadcast(x01, 3u); a8 += w1 * subgroupBroadcast(x11, 3u);
        a9 += w0 * subgroupBroadcast(x01, 4u); a9 += w1 * subgroupBroadcast(x11, 4u);
        a10 += w0 * subgroupBroadcast(x01, 5u); a10 += w1 * subgroupBroadcast(x11, 5u);
        a11 += w0 * subgroupBroadcast(x01, 6u); a11 += w1 * subgroupBroadcast(x11, 6u);
        a12 += w0 * subgroupBroadcast(x01, 7u); a12 += w1 * subgroupBroadcast(x11, 7u);
        a13 += w0 * subgroupBroadcast(x02, 0u); a13 += w1 * subgroupBroadcast(x12, 0u);
        a14 += w0 * subgroupBroadcast(x02, 1u); a14 += w1 * subgroupBroadcast(x12, 1u);
        a15 += w0 * subgroupBroadcast(x02, 2u); a15 += w1 * subgroupBroadcast(x12, 2u);
        a16 += w0 * subgroupBroadcast(x02, 3u); a16 += w1 * subgroupBroadcast(x12, 3u);
        a17 += w0 * subgroupBroadcast(x02, 4u); a17 += w1 * subgroupBroadcast(x12, 4u);
        a18 += w0 * subgroupBroadcast(x02, 5u); a18 += w1 * subgroupBroadcast(x12, 5u);
        a19 += w0 * subgroupBroadcast(x02, 6u); a19 += w1 * subgroupBroadcast(x12, 6u);
        a20 += w0 * subgroupBroadcast(x02, 7u); a20 += w1 * subgroupBroadcast(x12, 7u);
        a21 += w0 * subgroupBroadcast(x03, 0u); a21 += w1 * subgroupBroadcast(x13, 0u);
        a22 += w0 * subgroupBroadcast(x03, 1u); a22 += w1 * subgroupBroadcast(x13, 1u);
        a23 += w0 * subgroupBroadcast(x03, 2u); a23 += w1 * subgroupBroadcast(x13, 2u);
        a24 += w0 * subgroupBroadcast(x03, 3u); a24 += w1 * subgroupBroadcast(x13, 3u);
        a25 += w0 * subgroupBroadcast(x03, 4u); a25 += w1 * subgroupBroadcast(x13, 4u);
        a26 += w0 * subgroupBroadcast(x03, 5u); a26 += w1 * subgroupBroadcast(x13, 5u);
        a27 += w0 * subgroupBroadcast(x03, 6u); a27 += w1 * subgroupBroadcast(x13, 6u);
        a28 += w0 * subgroupBroadcast(x03, 7u); a28 += w1 * subgroupBroadcast(x13, 7u);
        a29 += w0 * subgroupBroadcast(x04, 0u); a29 += w1 * subgroupBroadcast(x14, 0u);
        a30 += w0 * subgroupBroadcast(x04, 1u); a30 += w1 * subgroupBroadcast(x14, 1u);
        a31 += w0 * subgroupBroadcast(x04, 2u); a31 += w1 * subgroupBroadcast(x14, 2u);
      }
      { let wk = wr + 4u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 4u); a0 += w1 * subgroupBroadcast(x10, 4u);
        a1 += w0 * subgroupBroadcast(x00, 5u); a1 += w1 * subgroupBroadcast(x10, 5u);
        a2 += w0 * subgroupBroadcast(x00, 6u); a2 += w1 * subgroupBroadcast(x10, 6u);
        a3 += w0 * subgroupBroadcast(x00, 7u); a3 += w1 * subgroupBroadcast(x10, 7u);
        a4 += w0 * subgroupBroadcast(x01, 0u); a4 += w1 * subgroupBroadcast(x11, 0u);
        a5 += w0 * subgroupBroadcast(x01, 1u); a5 += w1 * subgroupBroadcast(x11, 1u);
        a6 += w0 * subgroupBroadcast(x01, 2u); a6 += w1 * subgroupBroadcast(x11, 2u);
        a7 += w0 * subgroupBroadcast(x01, 3u); a7 += w1 * subgroupBroadcast(x11, 3u);
        a8 += w0 * subgroupBroadcast(x01, 4u); a8 += w1 * subgroupBroadcast(x11, 4u);
        a9 += w0 * subgroupBroadcast(x01, 5u); a9 += w1 * subgroupBroadcast(x11, 5u);
        a10 += w0 * subgroupBroadcast(x01, 6u); a10 += w1 * subgroupBroadcast(x11, 6u);
        a11 += w0 * subgroupBroadcast(x01, 7u); a11 += w1 * subgroupBroadcast(x11, 7u);
        a12 += w0 * subgroupBroadcast(x02, 0u); a12 += w1 * subgroupBroadcast(x12, 0u);
        a13 += w0 * subgroupBroadcast(x02, 1u); a13 += w1 * subgroupBroadcast(x12, 1u);
        a14 += w0 * subgroupBroadcast(x02, 2u); a14 += w1 * subgroupBroadcast(x12, 2u);
        a15 += w0 * subgroupBroadcast(x02, 3u); a15 += w1 * subgroupBroadcast(x12, 3u);
        a16 += w0 * subgroupBroadcast(x02, 4u); a16 += w1 * subgroupBroadcast(x12, 4u);
        a17 += w0 * subgroupBroadcast(x02, 5u); a17 += w1 * subgroupBroadcast(x12, 5u);
        a18 += w0 * subgroupBroadcast(x02, 6u); a18 += w1 * subgroupBroadcast(x12, 6u);
        a19 += w0 * subgroupBroadcast(x02, 7u); a19 += w1 * subgroupBroadcast(x12, 7u);
        a20 += w0 * subgroupBroadcast(x03, 0u); a20 += w1 * subgroupBroadcast(x13, 0u);
        a21 += w0 * subgroupBroadcast(x03, 1u); a21 += w1 * subgroupBroadcast(x13, 1u);
        a22 += w0 * subgroupBroadcast(x03, 2u); a22 += w1 * subgroupBroadcast(x13, 2u);
        a23 += w0 * subgroupBroadcast(x03, 3u); a23 += w1 * subgroupBroadcast(x13, 3u);
        a24 += w0 * subgroupBroadcast(x03, 4u); a24 += w1 * subgroupBroadcast(x13, 4u);
        a25 += w0 * subgroupBroadcast(x03, 5u); a25 += w1 * subgroupBroadcast(x13, 5u);
        a26 += w0 * subgroupBroadcast(x03, 6u); a26 += w1 * subgroupBroadcast(x13, 6u);
        a27 += w0 * subgroupBroadcast(x03, 7u); a27 += w1 * subgroupBroadcast(x13, 7u);
        a28 += w0 * subgroupBroadcast(x04, 0u); a28 += w1 * subgroupBroadcast(x14, 0u);
        a29 += w0 * subgroupBroadcast(x04, 1u); a29 += w1 * subgroupBroadcast(x14, 1u);
        a30 += w0 * subgroupBroadcast(x04, 2u); a30 += w1 * subgroupBroadcast(x14, 2u);
        a31 += w0 * subgroupBroadcast(x04, 3u); a31 += w1 * subgroupBroadcast(x14, 3u);
      }
      c += 2u * k.ihw;
    }
  }
  gather16_store(k, array<vec2<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31));
}

@compute @workgroup_size(8)
fn gather16w5_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);
  var a16 = vec2<f32>(0.0);
  var a17 = vec2<f32>(0.0);
  var a18 = vec2<f32>(0.0);
  var a19 = vec2<f32>(0.0);
  var a20 = vec2<f32>(0.0);
  var a21 = vec2<f32>(0.0);
  var a22 = vec2<f32>(0.0);
  var a23 = vec2<f32>(0.0);
  var a24 = vec2<f32>(0.0);
  var a25 = vec2<f32>(0.0);
  var a26 = vec2<f32>(0.0);
  var a27 = vec2<f32>(0.0);
  var a28 = vec2<f32>(0.0);
  var a29 = vec2<f32>(0.0);
  var a30 = vec2<f32>(0.0);
  var a31 = vec2<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    // The row window: 40 pixels from the leftmost tap's, pixel 8 i + lane in this lane.
    let sx = i32(k.b0 + k.lane) + tap_off(p.tc0x, 0u);
    let q0 = px(row.rowb, row.rok, sx + 0);
    let q1 = px(row.rowb, row.rok, sx + 8);
    let q2 = px(row.rowb, row.rok, sx + 16);
    let q3 = px(row.rowb, row.rok, sx + 24);
    let q4 = px(row.rowb, row.rok, sx + 32);
    let wr = (k.wblk * p.kh + ky) * p.kw * p.red * 2u;
    var c = 0u;
    for (var ci = 0u; ci + 2u <= p.red; ci += 2u) {
      let x00 = ld(q0, c);
      let x01 = ld(q1, c);
      let x02 = ld(q2, c);
      let x03 = ld(q3, c);
      let x04 = ld(q4, c);
      let x10 = ld(q0, c + k.ihw);
      let x11 = ld(q1, c + k.ihw);
      let x12 = ld(q2, c + k.ihw);
      let x13 = ld(q3, c + k.ihw);
      let x14 = ld(q4, c + k.ihw);
      { let wk = wr + 0u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
      }
      { let wk = wr + 1u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 2u); a0 += w1 * subgroupBroadcast(x10, 2u);
        a1 += w0 * subgroupBroadcast(x00, 3u); a1 += w1 * subgroupBroadcast(x10, 3u);
        a2 += w0 * subgroupBroadcast(x00, 4u); a2 += w1 * subgroupBroadcast(x10, 4u);
        a3 += w0 * subgroupBroadcast(x00, 5u); a3 += w1 * subgroupBroadcast(x10, 5u);
        a4 += w0 * subgroupBroadcast(x00, 6u); a4 += w1 * subgroupBroadcast(x10, 6u);
        a5 += w0 * subgroupBroadcast(x00, 7u); a5 += w1 * subgroupBroadcast(x10, 7u);
        a6 += w0 * subgroupBroadcast(x01, 0u); a6 += w1 * subgroupBroadcast(x11, 0u);
        a7 += w0 * subgroupBroadcast(x01, 1u); a7 += w1 * subgroupBroadcast(x11, 1u);
        a8 += w0 * subgroupBroadcast(x01, 2u); a8 += w1 * subgroupBroadcast(x11, 2u);
        a9 += w0 * subgroupBroadcast(x01, 3u); a9 += w1 * subgroupBroadcast(x11, 3u);
        a10 += w0 * subgroupBroadcast(x01, 4u); a10 += w1 * subgroupBroadcast(x11, 4u);
        a11 += w0 * subgroupBroadcast(x01, 5u); a11 += w1 * subgroupBroadcast(x11, 5u);
        a12 += w0 * subgroupBroadcast(x01, 6u); a12 += w1 * subgroupBroadcast(x11, 6u);
        a13 += w0 * subgroupBroadcast(x01, 7u); a13 += w1 * subgroupBroadcast(x11, 7u);
        a14 += w0 * subgroupBroadcast(x02, 0u); a14 += w1 * subgroupBroadcast(x12, 0u);
        a15 += w0 * subgroupBroadcast(x02, 1u); a15 += w1 * subgroupBroadcast(x12, 1u);
        a16 += w0 * subgroupBroadcast(x02, 2u); a16 += w1 * subgroupBroadcast(x12, 2u);
        a17 += w0 * subgroupBroadcast(x02, 3u); a17 += w1 * subgroupBroadcast(x12, 3u);
        a18 += w0 * subgroupBroadcast(x02, 4u); a18 += w1 * subgroupBroadcast(x12, 4u);
        a19 += w0 * subgroupBroadcast(x02, 5u); a19 += w1 * subgroupBroadcast(x12, 5u);
        a20 += w0 * subgroupBroadcast(x02, 6u); a20 += w1 * subgroupBroadcast(x12, 6u);
        a21 += w0 * subgroupBroadcast(x02, 7u); a21 += w1 * subgroupBroadcast(x12, 7u);
        a22 += w0 * subgroupBroadcast(x03, 0u); a22 += w1 * subgroupBroadcast(x13, 0u);
        a23 += w0 * subgroupBroadcast(x03, 1u); a23 += w1 * subgroupBroadcast(x13, 1u);
        a24 += w0 * subgroupBroadcast(x03, 2u); a24 += w1 * subgroupBroadcast(x13, 2u);
        a25 += w0 * subgroupBroadcast(x03, 3u); a25 += w1 * subgroupBroadcast(x13, 3u);
        a26 += w0 * subgroupBroadcast(x03, 4u); a26 += w1 * subgroupBroadcast(x13, 4u);
        a27 += w0 * subgroupBroadcast(x03, 5u); a27 += w1 * subgroupBroadcast(x13, 5u);
        a28 += w0 * subgroupBroadcast(x03, 6u); a28 += w1 * subgroupBroadcast(x13, 6u);
        a29 += w0 * subgroupBroadcast(x03, 7u); a29 += w1 * subgroupBroadcast(x13, 7u);
        a30 += w0 * subgroupBroadcast(x04, 0u); a30 += w1 * subgroupBroadcast(x14, 0u);
        a31 += w0 * subgroupBroadcast(x04, 1u); a31 += w1 * subgroupBroadcast(x14, 1u);
      }
      { let wk = wr + 2u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 4u); a0 += w1 * subgroupBroadcast(x10, 4u);
        a1 += w0 * subgroupBroadcast(x00, 5u); a1 += w1 * subgroupBroadcast(x10, 5u);
        a2 += w0 * subgroupBroadcast(x00, 6u); a2 += w1 * subgroupBroadcast(x10, 6u);
        a3 += w0 * subgroupBroadcast(x00, 7u); a3 += w1 * subgroupBroadcast(x10, 7u);
        a4 += w0 * subgroupBroadcast(x01, 0u); a4 += w1 * subgroupBroadcast(x11, 0u);
        a5 += w0 * subgroupBroadcast(x01, 1u); a5 += w1 * subgroupBroadcast(x11, 1u);
        a6 += w0 * subgroupBroadcast(x01, 2u); a6 += w1 * subgroupBroadcast(x11, 2u);
        a7 += w0 * subgroupBroadcast(x01, 3u); a7 += w1 * subgroupBroadcast(x11, 3u);
        a8 += w0 * subgroupBroadcast(x01, 4u); a8 += w1 * subgroupBroadcast(x11, 4u);
        a9 += w0 * subgroupBroadcast(x01, 5u); a9 += w1 * subgroupBroadcast(x11, 5u);
        a10 += w0 * subgroupBroadcast(x01, 6u); a10 += w1 * subgroupBroadcast(x11, 6u);
        a11 += w0 * subgroupBroadcast(x01, 7u); a11 += w1 * subgroupBroadcast(x11, 7u);
        a12 += w0 * subgroupBroadcast(x02, 0u); a12 += w1 * subgroupBroadcast(x12, 0u);
        a13 += w0 * subgroupBroadcast(x02, 1u); a13 += w1 * subgroupBroadcast(x12, 1u);
        a14 += w0 * subgroupBroadcast(x02, 2u); a14 += w1 * subgroupBroadcast(x12, 2u);
        a15 += w0 * subgroupBroadcast(x02, 3u); a15 += w1 * subgroupBroadcast(x12, 3u);
        a16 += w0 * subgroupBroadcast(x02, 4u); a16 += w1 * subgroupBroadcast(x12, 4u);
        a17 += w0 * subgroupBroadcast(x02, 5u); a17 += w1 * subgroupBroadcast(x12, 5u);
        a18 += w0 * subgroupBroadcast(x02, 6u); a18 += w1 * subgroupBroadcast(x12, 6u);
        a19 += w0 * subgroupBroadcast(x02, 7u); a19 += w1 * subgroupBroadcast(x12, 7u);
        a20 += w0 * subgroupBroadcast(x03, 0u); a20 += w1 * subgroupBroadcast(x13, 0u);
        a21 += w0 * subgroupBroadcast(x03, 1u); a21 += w1 * subgroupBroadcast(x13, 1u);
        a22 += w0 * subgroupBroadcast(x03, 2u); a22 += w1 * subgroupBroadcast(x13, 2u);
        a23 += w0 * subgroupBroadcast(x03, 3u); a23 += w1 * subgroupBroadcast(x13, 3u);
        a24 += w0 * subgroupBroadcast(x03, 4u); a24 += w1 * subgroupBroadcast(x13, 4u);
        a25 += w0 * subgroupBroadcast(x03, 5u); a25 += w1 * subgroupBroadcast(x13, 5u);
        a26 += w0 * subgroupBroadcast(x03, 6u); a26 += w1 * subgroupBroadcast(x13, 6u);
        a27 += w0 * subgroupBroadcast(x03, 7u); a27 += w1 * subgroupBroadcast(x13, 7u);
        a28 += w0 * subgroupBroadcast(x04, 0u); a28 += w1 * subgroupBroadcast(x14, 0u);
        a29 += w0 * subgroupBroadcast(x04, 1u); a29 += w1 * subgroupBroadcast(x14, 1u);
        a30 += w0 * subgroupBroadcast(x04, 2u); a30 += w1 * subgroupBroadcast(x14, 2u);
        a31 += w0 * subgroupBroadcast(x04, 3u); a31 += w1 * subgroupBroadcast(x14, 3u);
      }
      { let wk = wr + 3u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x00, 6u); a0 += w1 * subgroupBroadcast(x10, 6u);
        a1 += w0 * subgroupBroadcast(x00, 7u); a1 += w1 * subgroupBroadcast(x10, 7u);
        a2 += w0 * subgroupBroadcast(x01, 0u); a2 += w1 * subgroupBroadcast(x11, 0u);
        a3 += w0 * subgroupBroadcast(x01, 1u); a3 += w1 * subgroupBroadcast(x11, 1u);
        a4 += w0 * subgroupBroadcast(x01, 2u); a4 += w1 * subgroupBroadcast(x11, 2u);
        a5 += w0 * subgroupBroadcast(x01, 3u); a5 += w1 * subgroupBroadcast(x11, 3u);
        a6 += w0 * subgroupBroadcast(x01, 4u); a6 += w1 * subgroupBroadcast(x11, 4u);
        a7 += w0 * subgroupBroadcast(x01, 5u); a7 += w1 * subgroupBroadcast(x11, 5u);
        a8 += w0 * subgroupBroadcast(x01, 6u); a8 += w1 * subgroupBroadcast(x11, 6u);
        a9 += w0 * subgroupBroadcast(x01, 7u); a9 += w1 * subgroupBroadcast(x11, 7u);
        a10 += w0 * subgroupBroadcast(x02, 0u); a10 += w1 * subgroupBroadcast(x12, 0u);
        a11 += w0 * subgroupBroadcast(x02, 1u); a11 += w1 * subgroupBroadcast(x12, 1u);
        a12 += w0 * subgroupBroadcast(x02, 2u); a12 += w1 * subgroupBroadcast(x12, 2u);
        a13 += w0 * subgroupBroadcast(x02, 3u); a13 += w1 * subgroupBroadcast(x12, 3u);
        a14 += w0 * subgroupBroadcast(x02, 4u); a14 += w1 * subgroupBroadcast(x12, 4u);
        a15 += w0 * subgroupBroadcast(x02, 5u); a15 += w1 * subgroupBroadcast(x12, 5u);
        a16 += w0 * subgroupBroadcast(x02, 6u); a16 += w1 * subgroupBroadcast(x12, 6u);
        a17 += w0 * subgroupBroadcast(x02, 7u); a17 += w1 * subgroupBroadcast(x12, 7u);
        a18 += w0 * subgroupBroadcast(x03, 0u); a18 += w1 * subgroupBroadcast(x13, 0u);
        a19 += w0 * subgroupBroadcast(x03, 1u); a19 += w1 * subgroupBroadcast(x13, 1u);
        a20 += w0 * subgroupBroadcast(x03, 2u); a20 += w1 * subgroupBroadcast(x13, 2u);
        a21 += w0 * subgroupBroadcast(x03, 3u); a21 += w1 * subgroupBroadcast(x13, 3u);
        a22 += w0 * subgroupBroadcast(x03, 4u); a22 += w1 * subgroupBroadcast(x13, 4u);
        a23 += w0 * subgroupBroadcast(x03, 5u); a23 += w1 * subgroupBroadcast(x13, 5u);
        a24 += w0 * subgroupBroadcast(x03, 6u); a24 += w1 * subgroupBroadcast(x13, 6u);
        a25 += w0 * subgroupBroadcast(x03, 7u); a25 += w1 * subgroupBroadcast(x13, 7u);
        a26 += w0 * subgroupBroadcast(x04, 0u); a26 += w1 * subgroupBroadcast(x14, 0u);
        a27 += w0 * subgroupBroadcast(x04, 1u); a27 += w1 * subgroupBroadcast(x14, 1u);
        a28 += w0 * subgroupBroadcast(x04, 2u); a28 += w1 * subgroupBroadcast(x14, 2u);
        a29 += w0 * subgroupBroadcast(x04, 3u); a29 += w1 * subgroupBroadcast(x14, 3u);
        a30 += w0 * subgroupBroadcast(x04, 4u); a30 += w1 * subgroupBroadcast(x14, 4u);
        a31 += w0 * subgroupBroadcast(x04, 5u); a31 += w1 * subgroupBroadcast(x14, 5u);
      }
      { let wk = wr + 4u * p.red * 2u + ci * 2u;
        let w0 = vec2<f32>(wp1[wk], wp1[wk + 1u]);
        let w1 = vec2<f32>(wp1[wk + 2u], wp1[wk + 3u]);
        a0 += w0 * subgroupBroadcast(x01, 0u); a0 += w1 * subgroupBroadcast(x11, 0u);
        a1 += w0 * subgroupBroadcast(x01, 1u); a1 += w1 * subgroupBroadcast(x11, 1u);
        a2 += w0 * subgroupBroadcast(x01, 2u); a2 += w1 * subgroupBroadcast(x11, 2u);
        a3 += w0 * subgroupBroadcast(x01, 3u); a3 += w1 * subgroupBroadcast(x11, 3u);
        a4 += w0 * subgroupBroadcast(x01, 4u); a4 += w1 * subgroupBroadcast(x11, 4u);
        a5 += w0 * subgroupBroadcast(x01, 5u); a5 += w1 * subgroupBroadcast(x11, 5u);
        a6 += w0 * subgroupBroadcast(x01, 6u); a6 += w1 * subgroupBroadcast(x11, 6u);
        a7 += w0 * subgroupBroadcast(x01, 7u); a7 += w1 * subgroupBroadcast(x11, 7u);
        a8 += w0 * subgroupBroadcast(x02, 0u); a8 += w1 * subgroupBroadcast(x12, 0u);
        a9 += w0 * subgroupBroadcast(x02, 1u); a9 += w1 * subgroupBroadcast(x12, 1u);
        a10 += w0 * subgroupBroadcast(x02, 2u); a10 += w1 * subgroupBroadcast(x12, 2u);
        a11 += w0 * subgroupBroadcast(x02, 3u); a11 += w1 * subgroupBroadcast(x12, 3u);
        a12 += w0 * subgroupBroadcast(x02, 4u); a12 += w1 * subgroupBroadcast(x12, 4u);
        a13 += w0 * subgroupBroadcast(x02, 5u); a13 += w1 * subgroupBroadcast(x12, 5u);
        a14 += w0 * subgroupBroadcast(x02, 6u); a14 += w1 * subgroupBroadcast(x12, 6u);
        a15 += w0 * subgroupBroadcast(x02, 7u); a15 += w1 * subgroupBroadcast(x12, 7u);
        a16 += w0 * subgroupBroadcast(x03, 0u); a16 += w1 * subgroupBroadcast(x13, 0u);
        a17 += w0 * subgroupBroadcast(x03, 1u); a17 += w1 * subgroupBroadcast(x13, 1u);
        a18 += w0 * subgroupBroadcast(x03, 2u); a18 += w1 * subgroupBroadcast(x13, 2u);
        a19 += w0 * subgroupBroadcast(x03, 3u); a19 += w1 * subgroupBroadcast(x13, 3u);
        a20 += w0 * subgroupBroadcast(x03, 4u); a20 += w1 * subgroupBroadcast(x13, 4u);
        a21 += w0 * subgroupBroadcast(x03, 5u); a21 += w1 * subgroupBroadcast(x13, 5u);
        a22 += w0 * subgroupBroadcast(x03, 6u); a22 += w1 * subgroupBroadcast(x13, 6u);
        a23 += w0 * subgroupBroadcast(x03, 7u); a23 += w1 * subgroupBroadcast(x13, 7u);
        a24 += w0 * subgroupBroadcast(x04, 0u); a24 += w1 * subgroupBroadcast(x14, 0u);
        a25 += w0 * subgroupBroadcast(x04, 1u); a25 += w1 * subgroupBroadcast(x14, 1u);
        a26 += w0 * subgroupBroadcast(x04, 2u); a26 += w1 * subgroupBroadcast(x14, 2u);
        a27 += w0 * subgroupBroadcast(x04, 3u); a27 += w1 * subgroupBroadcast(x14, 3u);
        a28 += w0 * subgroupBroadcast(x04, 4u); a28 += w1 * subgroupBroadcast(x14, 4u);
        a29 += w0 * subgroupBroadcast(x04, 5u); a29 += w1 * subgroupBroadcast(x14, 5u);
        a30 += w0 * subgroupBroadcast(x04, 6u); a30 += w1 * subgroupBroadcast(x14, 6u);
        a31 += w0 * subgroupBroadcast(x04, 7u); a31 += w1 * subgroupBroadcast(x14, 7u);
      }
      c += 2u * k.ihw;
    }
  }
  gather16_store(k, array<vec2<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31));
}

// A gather16 lane's stores (also the row-window entries'): its 2 channels at the 32 pixels.
fn gather16_store(k: WideBlock, acc: array<vec2<f32>, 32>) {
  if (!k.live || k.cb >= p.blocks_g) { return; }
  let d = wide_dst(k, 2u);
  let n = k.n; let a = k.a; let b0 = k.b0; let nc = d.nc; let c0 = d.c0; let nw = d.nw;
  let bl = bias4(c0);
  if (nw > 0u) { store2x4(n, c0, nc, a, b0 + 0u, acc[0], acc[1], acc[2], acc[3], bl); }
  if (nw > 1u) { store2x4(n, c0, nc, a, b0 + 4u, acc[4], acc[5], acc[6], acc[7], bl); }
  if (nw > 2u) { store2x4(n, c0, nc, a, b0 + 8u, acc[8], acc[9], acc[10], acc[11], bl); }
  if (nw > 3u) { store2x4(n, c0, nc, a, b0 + 12u, acc[12], acc[13], acc[14], acc[15], bl); }
  if (nw > 4u) { store2x4(n, c0, nc, a, b0 + 16u, acc[16], acc[17], acc[18], acc[19], bl); }
  if (nw > 5u) { store2x4(n, c0, nc, a, b0 + 20u, acc[20], acc[21], acc[22], acc[23], bl); }
  if (nw > 6u) { store2x4(n, c0, nc, a, b0 + 24u, acc[24], acc[25], acc[26], acc[27], bl); }
  if (nw > 7u) { store2x4(n, c0, nc, a, b0 + 28u, acc[28], acc[29], acc[30], acc[31], bl); }
  if (nw == 8u) { return; }
  for (var j = nw * 4u; j < min(32u, p.cols - b0); j++) {
    let v = acc[j];
    store(n, c0, a, b0 + j, v.x);
    if (nc > 1u) { store(n, c0 + 1u, a, b0 + j, v.y); }
  }
}

// Like gather64 with 4 channels per lane (32 per workgroup), for groups of 10-47 destination
// channels where 64-channel blocks would be mostly padding: 5 loads per 128 FMAs
// (gather8: 9 per 64). Weights packed with R = 4, as one vec4 per step.
@compute @workgroup_size(8)
fn gather32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  var a8 = vec4<f32>(0.0);
  var a9 = vec4<f32>(0.0);
  var a10 = vec4<f32>(0.0);
  var a11 = vec4<f32>(0.0);
  var a12 = vec4<f32>(0.0);
  var a13 = vec4<f32>(0.0);
  var a14 = vec4<f32>(0.0);
  var a15 = vec4<f32>(0.0);
  var a16 = vec4<f32>(0.0);
  var a17 = vec4<f32>(0.0);
  var a18 = vec4<f32>(0.0);
  var a19 = vec4<f32>(0.0);
  var a20 = vec4<f32>(0.0);
  var a21 = vec4<f32>(0.0);
  var a22 = vec4<f32>(0.0);
  var a23 = vec4<f32>(0.0);
  var a24 = vec4<f32>(0.0);
  var a25 = vec4<f32>(0.0);
  var a26 = vec4<f32>(0.0);
  var a27 = vec4<f32>(0.0);
  var a28 = vec4<f32>(0.0);
  var a29 = vec4<f32>(0.0);
  var a30 = vec4<f32>(0.0);
  var a31 = vec4<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let q = wide_cols(k, row, kx);
      if (!q.tap) { continue; }
      var wi = ((k.wblk * p.kh + ky) * p.kw + kx) * p.red;
      // Two reduction channels per pass, each accumulator taking its two products back to back
      // (as in gather64): half the loads and stores of the spilled accumulators per FMA.
      var c = 0u;
      var ci = 0u;
      for (; ci + 2u <= p.red; ci += 2u) {
        let w0 = wp[wi + 0u];
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        let w1 = wp[wi + 1u];
        let x10 = ld(q.q0, c + k.ihw);
        let x11 = ld(q.q1, c + k.ihw);
        let x12 = ld(q.q2, c + k.ihw);
        let x13 = ld(q.q3, c + k.ihw);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
        wi += 2u;
        c += 2u * k.ihw;
      }
      if (ci < p.red) {  // an odd channel count's last one
        let w0 = wp[wi + 0u];
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        a0 += w0 * subgroupBroadcast(x00, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u);
      }
    }
  }
  if (!k.live || k.cb >= p.blocks_g) { return; }
  let d = wide_dst(k, 4u);
  let n = k.n; let a = k.a; let b0 = k.b0; let nc = d.nc; let c0 = d.c0; let nw = d.nw;
  let bl = bias4(c0);
  if (nw > 0u) { store4x4(n, c0, nc, a, b0 + 0u, a0, a1, a2, a3, bl); }
  if (nw > 1u) { store4x4(n, c0, nc, a, b0 + 4u, a4, a5, a6, a7, bl); }
  if (nw > 2u) { store4x4(n, c0, nc, a, b0 + 8u, a8, a9, a10, a11, bl); }
  if (nw > 3u) { store4x4(n, c0, nc, a, b0 + 12u, a12, a13, a14, a15, bl); }
  if (nw > 4u) { store4x4(n, c0, nc, a, b0 + 16u, a16, a17, a18, a19, bl); }
  if (nw > 5u) { store4x4(n, c0, nc, a, b0 + 20u, a20, a21, a22, a23, bl); }
  if (nw > 6u) { store4x4(n, c0, nc, a, b0 + 24u, a24, a25, a26, a27, bl); }
  if (nw > 7u) { store4x4(n, c0, nc, a, b0 + 28u, a28, a29, a30, a31, bl); }
  if (nw == 8u) { return; }
  let acc = array<vec4<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14,
    a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31);
  for (var j = nw * 4u; j < min(32u, p.cols - b0); j++) {
    let v = acc[j];
    for (var r = 0u; r < nc; r++) { store(n, c0 + r, a, b0 + j, v[r]); }
  }
}

// Like gather32 with 2 channels per lane (16 per workgroup), for groups of 10-16 destination
// channels (the cells' 16-channel convs), where gather32 left half its lanes computing padding:
// the same 4 source loads per step feed 32 vec2 FMAs instead of 32 vec4 ones, and the weights
// are two scalar loads (packed with R = 2). Each output sums the same products in the same
// order as in gather32, so results are bit-identical to it.
@compute @workgroup_size(8)
fn gather16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  let k = wide_block(wid, nwg, sid);
  var a0 = vec2<f32>(0.0);
  var a1 = vec2<f32>(0.0);
  var a2 = vec2<f32>(0.0);
  var a3 = vec2<f32>(0.0);
  var a4 = vec2<f32>(0.0);
  var a5 = vec2<f32>(0.0);
  var a6 = vec2<f32>(0.0);
  var a7 = vec2<f32>(0.0);
  var a8 = vec2<f32>(0.0);
  var a9 = vec2<f32>(0.0);
  var a10 = vec2<f32>(0.0);
  var a11 = vec2<f32>(0.0);
  var a12 = vec2<f32>(0.0);
  var a13 = vec2<f32>(0.0);
  var a14 = vec2<f32>(0.0);
  var a15 = vec2<f32>(0.0);
  var a16 = vec2<f32>(0.0);
  var a17 = vec2<f32>(0.0);
  var a18 = vec2<f32>(0.0);
  var a19 = vec2<f32>(0.0);
  var a20 = vec2<f32>(0.0);
  var a21 = vec2<f32>(0.0);
  var a22 = vec2<f32>(0.0);
  var a23 = vec2<f32>(0.0);
  var a24 = vec2<f32>(0.0);
  var a25 = vec2<f32>(0.0);
  var a26 = vec2<f32>(0.0);
  var a27 = vec2<f32>(0.0);
  var a28 = vec2<f32>(0.0);
  var a29 = vec2<f32>(0.0);
  var a30 = vec2<f32>(0.0);
  var a31 = vec2<f32>(0.0);
  for (var ky = 0u; ky < p.kh; ky++) {
    let row = wide_row(k, ky);
    if (!row.tap) { continue; }
    for (var kx = 0u; kx < p.kw; kx++) {
      let q = wide_cols(k, row, kx);
      if (!q.tap) { continue; }
      var wi = ((k.wblk * p.kh + ky) * p.kw + kx) * p.red * 2u;
      // Two reduction channels per pass, each accumulator taking its two products back to back
      // (as in gather64): half the loads and stores of the spilled accumulators per FMA.
      var c = 0u;
      var ci = 0u;
      for (; ci + 2u <= p.red; ci += 2u) {
        let w0 = vec2<f32>(wp1[wi + 0u], wp1[wi + 1u]);
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        let w1 = vec2<f32>(wp1[wi + 2u], wp1[wi + 3u]);
        let x10 = ld(q.q0, c + k.ihw);
        let x11 = ld(q.q1, c + k.ihw);
        let x12 = ld(q.q2, c + k.ihw);
        let x13 = ld(q.q3, c + k.ihw);
        a0 += w0 * subgroupBroadcast(x00, 0u); a0 += w1 * subgroupBroadcast(x10, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u); a1 += w1 * subgroupBroadcast(x10, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u); a2 += w1 * subgroupBroadcast(x10, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u); a3 += w1 * subgroupBroadcast(x10, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u); a4 += w1 * subgroupBroadcast(x10, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u); a5 += w1 * subgroupBroadcast(x10, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u); a6 += w1 * subgroupBroadcast(x10, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u); a7 += w1 * subgroupBroadcast(x10, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u); a8 += w1 * subgroupBroadcast(x11, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u); a9 += w1 * subgroupBroadcast(x11, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u); a10 += w1 * subgroupBroadcast(x11, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u); a11 += w1 * subgroupBroadcast(x11, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u); a12 += w1 * subgroupBroadcast(x11, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u); a13 += w1 * subgroupBroadcast(x11, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u); a14 += w1 * subgroupBroadcast(x11, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u); a15 += w1 * subgroupBroadcast(x11, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u); a16 += w1 * subgroupBroadcast(x12, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u); a17 += w1 * subgroupBroadcast(x12, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u); a18 += w1 * subgroupBroadcast(x12, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u); a19 += w1 * subgroupBroadcast(x12, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u); a20 += w1 * subgroupBroadcast(x12, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u); a21 += w1 * subgroupBroadcast(x12, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u); a22 += w1 * subgroupBroadcast(x12, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u); a23 += w1 * subgroupBroadcast(x12, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u); a24 += w1 * subgroupBroadcast(x13, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u); a25 += w1 * subgroupBroadcast(x13, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u); a26 += w1 * subgroupBroadcast(x13, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u); a27 += w1 * subgroupBroadcast(x13, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u); a28 += w1 * subgroupBroadcast(x13, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u); a29 += w1 * subgroupBroadcast(x13, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u); a30 += w1 * subgroupBroadcast(x13, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u); a31 += w1 * subgroupBroadcast(x13, 7u);
        wi += 4u;
        c += 2u * k.ihw;
      }
      if (ci < p.red) {  // an odd channel count's last one
        let w0 = vec2<f32>(wp1[wi + 0u], wp1[wi + 1u]);
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        a0 += w0 * subgroupBroadcast(x00, 0u);
        a1 += w0 * subgroupBroadcast(x00, 1u);
        a2 += w0 * subgroupBroadcast(x00, 2u);
        a3 += w0 * subgroupBroadcast(x00, 3u);
        a4 += w0 * subgroupBroadcast(x00, 4u);
        a5 += w0 * subgroupBroadcast(x00, 5u);
        a6 += w0 * subgroupBroadcast(x00, 6u);
        a7 += w0 * subgroupBroadcast(x00, 7u);
        a8 += w0 * subgroupBroadcast(x01, 0u);
        a9 += w0 * subgroupBroadcast(x01, 1u);
        a10 += w0 * subgroupBroadcast(x01, 2u);
        a11 += w0 * subgroupBroadcast(x01, 3u);
        a12 += w0 * subgroupBroadcast(x01, 4u);
        a13 += w0 * subgroupBroadcast(x01, 5u);
        a14 += w0 * subgroupBroadcast(x01, 6u);
        a15 += w0 * subgroupBroadcast(x01, 7u);
        a16 += w0 * subgroupBroadcast(x02, 0u);
        a17 += w0 * subgroupBroadcast(x02, 1u);
        a18 += w0 * subgroupBroadcast(x02, 2u);
        a19 += w0 * subgroupBroadcast(x02, 3u);
        a20 += w0 * subgroupBroadcast(x02, 4u);
        a21 += w0 * subgroupBroadcast(x02, 5u);
        a22 += w0 * subgroupBroadcast(x02, 6u);
        a23 += w0 * subgroupBroadcast(x02, 7u);
        a24 += w0 * subgroupBroadcast(x03, 0u);
        a25 += w0 * subgroupBroadcast(x03, 1u);
        a26 += w0 * subgroupBroadcast(x03, 2u);
        a27 += w0 * subgroupBroadcast(x03, 3u);
        a28 += w0 * subgroupBroadcast(x03, 4u);
        a29 += w0 * subgroupBroadcast(x03, 5u);
        a30 += w0 * subgroupBroadcast(x03, 6u);
        a31 += w0 * subgroupBroadcast(x03, 7u);
      }
    }
  }
  gather16_store(k, array<vec2<f32>, 32>(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31));
}

// Channels c0, c0 + 1 (nc of them) of the whole vec4 group b..b+3 (gather16's lanes).
fn store2x4(n: u32, c0: u32, nc: u32, a: u32, b: u32, a0: vec2<f32>, a1: vec2<f32>, a2: vec2<f32>,
            a3: vec2<f32>, bs: vec4<f32>) {
  put4b(n, c0, a, b, vec4<f32>(a0.x, a1.x, a2.x, a3.x), bs.x);
  if (nc > 1u) { put4b(n, c0 + 1u, a, b, vec4<f32>(a0.y, a1.y, a2.y, a3.y), bs.y); }
}

// gather1 for stride-1 convolutions with rows of 3 or 5 taps at dilation 1 or 2 (forward, or the
// input gradient of a stride-1 conv: tdiv = 1, so every tap reaches every pixel): one destination
// channel x 8 pixels of two destination rows per lane. On lavapipe every load with a computed
// index runs lane by lane, so the kernel is built to load each value once per lane:
// - the taps of a row are visited left to right (right to left for the input gradient, whose
//   offsets decrease with kx), so the 8 source values of one tap are the previous tap's shifted
//   by `dil`: kept in registers, only the `dil` new ones loaded (3x3: 10 loads per source row
//   instead of 24; 5x5: 12 instead of 40);
// - the two destination rows read kh + 1 source rows between them at dilation 1 (2 kh at 2),
//   each loaded once for both;
// - a row's kw weights (the same in every lane) are one load per lane, lane k holding the k-th
//   tap visited, handed to all lanes with subgroupBroadcast.
// Each destination value sums the same products in the same order as one row per lane did
// (taps row by row, reduction channels, taps of the row), so results are unchanged to the bit.
// Grid as gather1, over pairs of destination rows.
fn gather1s_body(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>, sid: u32, kw5: bool, dil2: bool,
                 v4: bool) {
  let kw = select(3u, 5u, kw5);  // = p.kw, a constant here so the tap loop unrolls
  let dil = select(1u, 2u, dil2);  // = p.dil
  // Pixel-block output: channels on x, so consecutive workgroups fill one block's channels.
  let blk = p.dst_blk != 0u;
  let flat = select(wid.x + wid.z * nwg.x, wid.y + wid.z * nwg.y, blk);
  let n = flat / p.chunks;
  let t = (flat % p.chunks) * GWG + lid.x;
  let live = flat < p.total && t < (p.rows + 1u) / 2u * p.cols_b;
  let a = 2u * (t / p.cols_b);
  let b0 = (t % p.cols_b) * 8u;
  let oc = select(wid.y, wid.x, blk);
  let g = oc / p.og;
  let ihw = p.ih * p.iw;
  let src0 = (min(n, p.n - 1u) * p.cin + g * p.red) * ihw;
  let fwd = p.tsgn > 0;
  // Leftmost tap offset; taps k = 0.. then sit at lo + k * dil.
  let lo = p.tc0x - select(i32((kw - 1u) * dil), 0, fwd);
  let sx0 = i32(b0) + lo;
  // The weight this lane loads for a row: the (lane)-th tap visited.
  let lane = sid & 7u;
  let kxl = select(kw - 1u - min(lane, kw - 1u), min(lane, kw - 1u), fwd);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  // Source row i (of (kh - 1) dil + 2) sits at a + tc0y + u, u = i forward and 1 - i for the
  // input gradient; destination row j reads it as tap row ky with ky dil = d_j.
  let nrows = (p.kh - 1u) * dil + 2u;
  for (var i = 0u; i < nrows; i++) {
    let u = select(1 - i32(i), i32(i), fwd);
    let sy = i32(a) + p.tc0y + u;
    let d0 = select(i32(i) - 1, i32(i), fwd);
    let d1 = select(i32(i), i32(i) - 1, fwd);
    let ky0 = u32(max(d0, 0)) / dil;
    let ky1 = u32(max(d1, 0)) / dil;
    let use0 = d0 >= 0 && u32(d0) % dil == 0u && ky0 < p.kh;
    let use1 = d1 >= 0 && u32(d1) % dil == 0u && ky1 < p.kh;
    if (!use0 && !use1) { continue; }
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    let w0i = ((oc * p.kh + min(ky0, p.kh - 1u)) * kw + kxl) * p.red;
    let w1i = ((oc * p.kh + min(ky1, p.kh - 1u)) * kw + kxl) * p.red;
    var c = 0u;
    for (var ci = 0u; ci < p.red; ci++) {
      let w0 = broadcast8(select(0.0, wp1[w0i + ci], use0));
      let w1 = broadcast8(select(0.0, wp1[w1i + ci], use1));
      var x0: f32; var x1: f32; var x2: f32; var x3: f32;
      var x4: f32; var x5: f32; var x6: f32; var x7: f32;
      var e0 = 0.0;  // gather1s3v: the two values after x7, from its fourth vec4
      var e1 = 0.0;
      if (v4) {
        // The window b0 - 1 .. b0 + 8 from the aligned vec4s at b0 - 4 .. b0 + 8.
        let y0 = ld4(rowb, rok, i32(b0) - 4, c);
        let y1 = ld4(rowb, rok, i32(b0), c);
        let y2 = ld4(rowb, rok, i32(b0) + 4, c);
        let y3 = ld4(rowb, rok, i32(b0) + 8, c);
        x0 = y0.w; x1 = y1.x; x2 = y1.y; x3 = y1.z;
        x4 = y1.w; x5 = y2.x; x6 = y2.y; x7 = y2.z;
        e0 = y2.w; e1 = y3.x;
      } else {
        x0 = ld(px(rowb, rok, sx0), c);      x1 = ld(px(rowb, rok, sx0 + 1), c);
        x2 = ld(px(rowb, rok, sx0 + 2), c);  x3 = ld(px(rowb, rok, sx0 + 3), c);
        x4 = ld(px(rowb, rok, sx0 + 4), c);  x5 = ld(px(rowb, rok, sx0 + 5), c);
        x6 = ld(px(rowb, rok, sx0 + 6), c);  x7 = ld(px(rowb, rok, sx0 + 7), c);
      }
      var nx = sx0 + 8;
      for (var k = 0u; k < kw; k++) {
        let lo4 = vec4<f32>(x0, x1, x2, x3);
        let hi4 = vec4<f32>(x4, x5, x6, x7);
        if (use0) {
          let wv = select(w0.hi[k & 3u], w0.lo[k & 3u], k < 4u);
          acc0 += wv * lo4;
          acc1 += wv * hi4;
        }
        if (use1) {
          let wv = select(w1.hi[k & 3u], w1.lo[k & 3u], k < 4u);
          acc2 += wv * lo4;
          acc3 += wv * hi4;
        }
        if (dil2) {
          x0 = x2; x1 = x3; x2 = x4; x3 = x5; x4 = x6; x5 = x7;
          x6 = ld(px(rowb, rok, nx), c); x7 = ld(px(rowb, rok, nx + 1), c);
          nx += 2;
        } else if (v4) {
          x0 = x1; x1 = x2; x2 = x3; x3 = x4; x4 = x5; x5 = x6; x6 = x7;
          x7 = e0;
          e0 = e1;
        } else {
          x0 = x1; x1 = x2; x2 = x3; x3 = x4; x4 = x5; x5 = x6; x6 = x7;
          x7 = ld(px(rowb, rok, nx), c);
          nx += 1;
        }
      }
      c += ihw;
    }
  }
  if (!live) { return; }
  store4_to(n, oc, a, b0, acc0);
  store4_to(n, oc, a, b0 + 4u, acc1);
  if (a + 1u < p.rows) {
    store4_to(n, oc, a + 1u, b0, acc2);
    store4_to(n, oc, a + 1u, b0 + 4u, acc3);
  }
}

// gather1s3 for the forward pass of a 3x3 conv at dilation 1 and padding 1 on rows of whole
// vec4s (iw a multiple of 4): each source row's window of 10 values comes from 4 aligned vec4
// loads instead of 10 scalar ones. A vec4 load costs lavapipe about what a scalar one does (lane
// by lane either way), so the loads, most of a depthwise conv's time, drop ~2.5x. Same products
// in the same order as gather1s3: results equal to the bit.
@compute @workgroup_size(GWG)
fn gather1s3v(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather1s_body(wid, lid, nwg, sid, false, false, true);
}

// Four source values at column sx (a multiple of 4, as is iw) of the row at rowb, zero where the
// row or the columns lie outside the source.
fn ld4(rowb: u32, rok: bool, sx: i32, c: u32) -> vec4<f32> {
  let ok = rok && sx >= 0 && sx < i32(p.iw);
  return select(vec4<f32>(0.0), src4[(rowb + c + select(0u, u32(sx), ok)) / 4u], ok);
}

// store4 of a forward pass, or into pixel blocks when p.dst_blk != 0: [n][ceil(rows cols / 32)]
// [cout][32] by the flat pixel a * cols + b, so the 1x1 conv reading the value finds each block's
// channels together (src/ops/conv2d/blocks.rs). Same bias add and activation as `store`.
fn store4_to(n: u32, c: u32, a: u32, b: u32, v: vec4<f32>) {
  if (p.dst_blk == 0u) {
    store4(n, c, a, b, v);
    return;
  }
  var bv = 0.0;
  if (p.has_bias != 0u) { bv = bias[c]; }
  var y = v + vec4<f32>(bv);
  if (p.act != 0u) { y = select(p.slope * y, y, y > vec4<f32>(0.0)); }
  let f = a * p.cols + b;
  let img = n * ((p.rows * p.cols + 31u) / 32u);  // first block of image n
  let i = ((img + f / 32u) * p.cout + c) * 32u + f % 32u;
  if (b + 4u <= p.cols && (p.cols & 3u) == 0u) {
    dst4[i / 4u] = y;  // f is a multiple of 4, so the four stay in one block
    return;
  }
  // A row's last, partial group (or rows not in fours): pixel by pixel, each in its own block.
  for (var j = 0u; j < 4u; j++) {
    if (b + j < p.cols) {
      let fj = f + j;
      dst[((img + fj / 32u) * p.cout + c) * 32u + fj % 32u] = y[j];
    }
  }
}

@compute @workgroup_size(GWG)
fn gather1s3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather1s_body(wid, lid, nwg, sid, false, false, false);
}

@compute @workgroup_size(GWG)
fn gather1s3_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather1s_body(wid, lid, nwg, sid, false, true, false);
}

@compute @workgroup_size(GWG)
fn gather1s5(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather1s_body(wid, lid, nwg, sid, true, false, false);
}

@compute @workgroup_size(GWG)
fn gather1s5_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather1s_body(wid, lid, nwg, sid, true, true, false);
}
