// Part of conv2d_sg.wgsl (included there, after conv2d.wgsl and broadcast8.wgsl): gather64 and
// gather56: 8 lanes sharing 32 pixels, 8 or 7 destination channels per lane.

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
// each value sums the same products in the same order as in gather64. The weights come from the
// uniform block `wu` (the launcher takes gather56 only where they fit its 64 KiB): on lavapipe a
// uniform load skips the storage path's bounds branch per lane and element (-7 % CPU time on
// the 8 -> 54 predictor, docs/perf-log.md).
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
        let wl0 = wu[wi + 0u];
        let wh0 = wu[wi + 1u].xyz;
        let x00 = ld(q.q0, c);
        let x01 = ld(q.q1, c);
        let x02 = ld(q.q2, c);
        let x03 = ld(q.q3, c);
        let wl1 = wu[wi + 2u];
        let wh1 = wu[wi + 3u].xyz;
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
        let wl0 = wu[wi + 0u];
        let wh0 = wu[wi + 1u].xyz;
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
