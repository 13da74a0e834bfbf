// Part of conv2d_sg.wgsl (included there, after conv2d.wgsl and broadcast8.wgsl): gather16 and
// gather32: 8 lanes sharing 32 pixels, 2 or 4 destination channels per lane.

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
