// Part of conv2d_sg.wgsl (included there, after conv2d.wgsl and broadcast8.wgsl): gather8s*:
// gather8 with each source row's window loaded once per reduction channel.

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
