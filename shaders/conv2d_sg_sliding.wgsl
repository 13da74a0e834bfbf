// Part of conv2d_sg.wgsl (included there, after conv2d.wgsl and broadcast8.wgsl): gather1s*: the
// sliding gathers (one destination channel, source values shifted from tap to tap).

// A sliding gather lane's place: image n, first destination row a of its `per` rows, first
// column b0 of its 8, destination channel oc, and whether it holds any destination pixels.
// Pixel-block output puts the channels on x, so consecutive workgroups fill one block's
// channels.
struct LaneRows { n: u32, live: bool, a: u32, b0: u32, oc: u32 }

fn lane_rows(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>, per: u32) -> LaneRows {
  let blk = p.dst_blk != 0u;
  let flat = select(wid.x + wid.z * nwg.x, wid.y + wid.z * nwg.y, blk);
  let t = (flat % p.chunks) * GWG + lid.x;
  let live = flat < p.total && t < (p.rows + per - 1u) / per * p.cols_b;
  return LaneRows(flat / p.chunks, live, per * (t / p.cols_b), (t % p.cols_b) * 8u,
                  select(wid.y, wid.x, blk));
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
  let at = lane_rows(wid, lid, nwg, 2u);
  let n = at.n; let live = at.live; let a = at.a; let b0 = at.b0; let oc = at.oc;
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

// gather1s3v for a depthwise conv (one reduction channel per group, 3x3 taps): the decoder's
// convs over 128-176 channels at inference. The generic body gives a lane two destination rows
// of one channel: 4 source rows of 4 vec4 loads each, per-row bookkeeping (which tap rows a
// source row feeds, weight indices, a loop over one channel), and a workgroup's setup, for 16
// outputs. Here a lane takes four destination rows: 6 source rows for 32 outputs, written out,
// with the three tap rows' weights loaded once (lane k holding tap k) and broadcast. Each
// destination value sums the same products in the same order as gather1s3v (tap rows in turn,
// taps left to right): results equal to the bit.
struct Acc2 { lo: vec4<f32>, hi: vec4<f32> }

// A source row's window b0 - 1 .. b0 + 8 as the aligned vec4s at b0 - 4 .. b0 + 8.
struct Win { y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32> }

fn win_at(src0: u32, sy: i32, b0: u32, live: bool) -> Win {
  let rok = live && sy >= 0 && sy < i32(p.ih);
  let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
  let x = i32(b0);
  return Win(ld4(rowb, rok, x - 4, 0u), ld4(rowb, rok, x, 0u), ld4(rowb, rok, x + 4, 0u),
             ld4(rowb, rok, x + 8, 0u));
}

// The three taps of one row (weights w.x, w.y, w.z) added to destination pixels b0 .. b0 + 7.
fn taps3(acc: Acc2, s: Win, w: vec4<f32>) -> Acc2 {
  var lo = acc.lo;
  var hi = acc.hi;
  lo += w.x * vec4<f32>(s.y0.w, s.y1.xyz);
  hi += w.x * vec4<f32>(s.y1.w, s.y2.xyz);
  lo += w.y * s.y1;
  hi += w.y * s.y2;
  lo += w.z * vec4<f32>(s.y1.yzw, s.y2.x);
  hi += w.z * vec4<f32>(s.y2.yzw, s.y3.x);
  return Acc2(lo, hi);
}

@compute @workgroup_size(GWG)
fn gather1s3v_dw(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let at = lane_rows(wid, lid, nwg, 4u);
  let n = at.n; let live = at.live; let a = at.a; let b0 = at.b0; let oc = at.oc;
  let src0 = (min(n, p.n - 1u) * p.cin + oc / p.og) * (p.ih * p.iw);
  let wk = oc * 9u + min(sid & 7u, 2u);
  let w0 = broadcast8(wp1[wk]).lo;
  let w1 = broadcast8(wp1[wk + 3u]).lo;
  let w2 = broadcast8(wp1[wk + 6u]).lo;
  // Source row a + tc0y + i is tap row i - j of destination row a + j.
  let sy = i32(a) + p.tc0y;
  let zero = Acc2(vec4<f32>(0.0), vec4<f32>(0.0));
  var r0 = zero;
  var r1 = zero;
  var r2 = zero;
  var r3 = zero;
  var s = win_at(src0, sy, b0, live);
  r0 = taps3(r0, s, w0);
  s = win_at(src0, sy + 1, b0, live);
  r0 = taps3(r0, s, w1);
  r1 = taps3(r1, s, w0);
  s = win_at(src0, sy + 2, b0, live);
  r0 = taps3(r0, s, w2);
  r1 = taps3(r1, s, w1);
  r2 = taps3(r2, s, w0);
  s = win_at(src0, sy + 3, b0, live);
  r1 = taps3(r1, s, w2);
  r2 = taps3(r2, s, w1);
  r3 = taps3(r3, s, w0);
  s = win_at(src0, sy + 4, b0, live);
  r2 = taps3(r2, s, w2);
  r3 = taps3(r3, s, w1);
  s = win_at(src0, sy + 5, b0, live);
  r3 = taps3(r3, s, w2);
  if (!live) { return; }
  // The stores written out: as a loop over an array of the four rows the kernel took 63-66 ms
  // against 54-56 (176-channel dw at 256x256, lavapipe).
  store4_to(n, oc, a, b0, r0.lo);
  store4_to(n, oc, a, b0 + 4u, r0.hi);
  if (a + 1u < p.rows) {
    store4_to(n, oc, a + 1u, b0, r1.lo);
    store4_to(n, oc, a + 1u, b0 + 4u, r1.hi);
  }
  if (a + 2u < p.rows) {
    store4_to(n, oc, a + 2u, b0, r2.lo);
    store4_to(n, oc, a + 2u, b0 + 4u, r2.hi);
  }
  if (a + 3u < p.rows) {
    store4_to(n, oc, a + 3u, b0, r3.lo);
    store4_to(n, oc, a + 3u, b0 + 4u, r3.hi);
  }
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
