// Appended to conv2d.wgsl (see src/ops/conv2d.rs): gather8 with the 8 weights of a step loaded
// by one scalar load per lane (lane i of each 8 loads weight i) and handed to every lane with
// subgroupBroadcast. All lanes use the same weights, and on lavapipe each non-constant-index load
// runs lane by lane, so this turns two vec4 loads into one scalar load (~17 % faster there).
// Needs subgroups of at least 8 lanes.

fn w8(wi: u32, sid: u32) -> W8 {
  let v = wp1[wi * 4u + (sid & 7u)];
  return W8(vec4<f32>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)),
            vec4<f32>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)));
}

@compute @workgroup_size(64)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8_body(wid, lid, nwg, sid);
}

// 64 destination channels x 16 destination pixels per workgroup of one 8-lane subgroup, chosen
// by src/ops/conv2d/gather.rs when a group has enough destination channels: the lanes share
// the pixels and lane l owns channels 8 l .. 8 l + 7 of the block. Per reduction step each lane
// loads 2 source value(s) (pixels lane, lane + 8, ...) and hands them to the others with
// subgroupBroadcast, and loads its own 8 weights as two vec4: 4 loads per 128 FMAs
// instead of 9 per 64 in gather8, as every source value is loaded once per subgroup.
// Grid: x/z = folded (n, row, 16-pixel block), y = 64-channel block (group-major).
@compute @workgroup_size(8)
fn gather64(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  let lane = sid & 7u;
  let flat = wid.x + wid.z * nwg.x;
  let live = flat < p.total;
  let n = min(flat / p.chunks, p.n - 1u);
  let t = flat % p.chunks;
  let a = t / p.cols_b;
  let b0 = (t % p.cols_b) * 16u;
  let blocks64 = (p.blocks_g + 7u) / 8u;
  let g = wid.y / blocks64;
  let cb = (wid.y % blocks64) * 8u + lane;     // this lane's 8-channel block in the group
  let wblk = g * p.blocks_g + min(cb, p.blocks_g - 1u);
  let ihw = p.ih * p.iw;
  let src0 = (n * p.cin + g * p.red) * ihw;
  let m = i32(p.in_mul);
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
  for (var ky = 0u; ky < p.kh; ky++) {
    let ty = tap_off(p.tc0y, ky);
    if (ty == -2147483647 - 1) { continue; }
    let sy = i32(a) * m + ty;
    let rok = live && sy >= 0 && sy < i32(p.ih);
    let rowb = src0 + select(0u, u32(sy) * p.iw, rok);
    for (var kx = 0u; kx < p.kw; kx++) {
      let tx = tap_off(p.tc0x, kx);
      if (tx == -2147483647 - 1) { continue; }
      let sx = i32(b0 + lane) * m + tx;
      let q0 = px(rowb, rok, sx + 0 * m);
      let q1 = px(rowb, rok, sx + 8 * m);
      var wi = ((wblk * p.kh + ky) * p.kw + kx) * p.red * 2u;
      var c = 0u;
      for (var ci = 0u; ci < p.red; ci++) {
        let wl = wp[wi];
        let wh = wp[wi + 1u];
        let x0 = ld(q0, c);
        let x1 = ld(q1, c);
        let s0 = subgroupBroadcast(x0, 0u); a0l += wl * s0; a0h += wh * s0;
        let s1 = subgroupBroadcast(x0, 1u); a1l += wl * s1; a1h += wh * s1;
        let s2 = subgroupBroadcast(x0, 2u); a2l += wl * s2; a2h += wh * s2;
        let s3 = subgroupBroadcast(x0, 3u); a3l += wl * s3; a3h += wh * s3;
        let s4 = subgroupBroadcast(x0, 4u); a4l += wl * s4; a4h += wh * s4;
        let s5 = subgroupBroadcast(x0, 5u); a5l += wl * s5; a5h += wh * s5;
        let s6 = subgroupBroadcast(x0, 6u); a6l += wl * s6; a6h += wh * s6;
        let s7 = subgroupBroadcast(x0, 7u); a7l += wl * s7; a7h += wh * s7;
        let s8 = subgroupBroadcast(x1, 0u); a8l += wl * s8; a8h += wh * s8;
        let s9 = subgroupBroadcast(x1, 1u); a9l += wl * s9; a9h += wh * s9;
        let s10 = subgroupBroadcast(x1, 2u); a10l += wl * s10; a10h += wh * s10;
        let s11 = subgroupBroadcast(x1, 3u); a11l += wl * s11; a11h += wh * s11;
        let s12 = subgroupBroadcast(x1, 4u); a12l += wl * s12; a12h += wh * s12;
        let s13 = subgroupBroadcast(x1, 5u); a13l += wl * s13; a13h += wh * s13;
        let s14 = subgroupBroadcast(x1, 6u); a14l += wl * s14; a14h += wh * s14;
        let s15 = subgroupBroadcast(x1, 7u); a15l += wl * s15; a15h += wh * s15;
        wi += 2u;
        c += ihw;
      }
    }
  }
  if (!live || cb >= p.blocks_g) { return; }
  let nc = min(p.og - cb * 8u, 8u);
  let c0 = g * p.og + cb * 8u;
  store8(n, c0, nc, a, b0 + 0u, a0l, a0h);
  store8(n, c0, nc, a, b0 + 1u, a1l, a1h);
  store8(n, c0, nc, a, b0 + 2u, a2l, a2h);
  store8(n, c0, nc, a, b0 + 3u, a3l, a3h);
  store8(n, c0, nc, a, b0 + 4u, a4l, a4h);
  store8(n, c0, nc, a, b0 + 5u, a5l, a5h);
  store8(n, c0, nc, a, b0 + 6u, a6l, a6h);
  store8(n, c0, nc, a, b0 + 7u, a7l, a7h);
  store8(n, c0, nc, a, b0 + 8u, a8l, a8h);
  store8(n, c0, nc, a, b0 + 9u, a9l, a9h);
  store8(n, c0, nc, a, b0 + 10u, a10l, a10h);
  store8(n, c0, nc, a, b0 + 11u, a11l, a11h);
  store8(n, c0, nc, a, b0 + 12u, a12l, a12h);
  store8(n, c0, nc, a, b0 + 13u, a13l, a13h);
  store8(n, c0, nc, a, b0 + 14u, a14l, a14h);
  store8(n, c0, nc, a, b0 + 15u, a15l, a15h);
}
