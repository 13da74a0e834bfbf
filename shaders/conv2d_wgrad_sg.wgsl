// Appended to conv2d_wgrad.wgsl (see src/ops/conv2d/wgrad.rs): the weight gradient for devices
// with subgroups of at least 8 lanes, chosen there when an output-channel group is wide enough.
//
// A workgroup is one subgroup of 8 lanes that walk the same output pixels of one chunk: lane l
// owns 8 output channels (cb + 8 l .. cb + 8 l + 7, so a workgroup covers 64) x the workgroup's
// TB = 16 taps. Per quad of 4 output pixels a lane loads its 8 channels of gy (8 vec4 when
// wo % 4 == 0) and x at its own two taps only (8 scalars), and gets the other 14 taps' x from its
// neighbours with subgroupBroadcast. On lavapipe each non-constant-index load runs lane by lane,
// so this is 16 loads per 512 FMAs per lane instead of 72 in wgrad8: every x value is loaded once
// per subgroup instead of once per lane. (8 taps per workgroup measured 1.7x slower, 24 the
// same, 32 slower.) Each lane writes its 8 x 16 sums for the chunk straight to `part` (no
// workgroup memory); wgrad_finish adds the chunks in order.

fn wgrad_sg_body(wid: vec3<u32>, sid: u32, vec: bool) {
  let chunk = wid.x;
  let blk = wid.y;
  let tb = wid.z;
  let howo = q.ho * q.wo;
  let g = blk / q.blocks_g;
  let lane = sid & 7u;
  let cb = (blk % q.blocks_g) * 64u + lane * 8u;
  // Channel offsets, clamped into the group: the duplicates of padding channels are discarded.
  let cl = g * q.cout_g;
  let ch = q.cout_g - 1u;
  let o0 = (cl + min(cb, ch)) * howo;      let o1 = (cl + min(cb + 1u, ch)) * howo;
  let o2 = (cl + min(cb + 2u, ch)) * howo; let o3 = (cl + min(cb + 3u, ch)) * howo;
  let o4 = (cl + min(cb + 4u, ch)) * howo; let o5 = (cl + min(cb + 5u, ch)) * howo;
  let o6 = (cl + min(cb + 6u, ch)) * howo; let o7 = (cl + min(cb + 7u, ch)) * howo;
  // This lane's taps: tb * TB + lane and tb * TB + 8 + lane.
  let t0 = tap(blk, tb, lane);
  let t1 = tap(blk, tb, 8u + lane);
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
  let it0 = chunk * q.ipc;
  let end = min(it0 + q.ipc, q.items);
  let s = i32(q.stride);
  // Item it = (nn * ho + oy) * quads + qd, advanced without dividing in the loop.
  var qd = it0 % q.quads;
  var oy = (it0 / q.quads) % q.ho;
  var nn = it0 / (q.quads * q.ho);
  for (var it = it0; it < end; it++) {
    let gb = nn * q.cout * howo + oy * q.wo;
    let xb = nn * q.cin * q.h * q.w;
    let iy0 = i32(oy) * s;
    let ix0 = i32(qd * 4u) * s;
    let r0 = xrow(t0, xb, iy0);
    let x0 = vec4<f32>(xv(r0, t0.dx, ix0), xv(r0, t0.dx, ix0 + s), xv(r0, t0.dx, ix0 + 2 * s), xv(r0, t0.dx, ix0 + 3 * s));
    let r1 = xrow(t1, xb, iy0);
    let x1 = vec4<f32>(xv(r1, t1.dx, ix0), xv(r1, t1.dx, ix0 + s), xv(r1, t1.dx, ix0 + 2 * s), xv(r1, t1.dx, ix0 + 3 * s));
    let b0 = subgroupBroadcast(x0, 0u);
    let b1 = subgroupBroadcast(x0, 1u);
    let b2 = subgroupBroadcast(x0, 2u);
    let b3 = subgroupBroadcast(x0, 3u);
    let b4 = subgroupBroadcast(x0, 4u);
    let b5 = subgroupBroadcast(x0, 5u);
    let b6 = subgroupBroadcast(x0, 6u);
    let b7 = subgroupBroadcast(x0, 7u);
    let b8 = subgroupBroadcast(x1, 0u);
    let b9 = subgroupBroadcast(x1, 1u);
    let b10 = subgroupBroadcast(x1, 2u);
    let b11 = subgroupBroadcast(x1, 3u);
    let b12 = subgroupBroadcast(x1, 4u);
    let b13 = subgroupBroadcast(x1, 5u);
    let b14 = subgroupBroadcast(x1, 6u);
    let b15 = subgroupBroadcast(x1, 7u);
    var v0 = vec4<f32>(0.0); var v1 = vec4<f32>(0.0); var v2 = vec4<f32>(0.0); var v3 = vec4<f32>(0.0);
    var v4 = vec4<f32>(0.0); var v5 = vec4<f32>(0.0); var v6 = vec4<f32>(0.0); var v7 = vec4<f32>(0.0);
    if (vec) {
      let g4 = (gb + qd * 4u) / 4u;
      v0 = gy4[g4 + o0 / 4u]; v1 = gy4[g4 + o1 / 4u]; v2 = gy4[g4 + o2 / 4u]; v3 = gy4[g4 + o3 / 4u];
      v4 = gy4[g4 + o4 / 4u]; v5 = gy4[g4 + o5 / 4u]; v6 = gy4[g4 + o6 / 4u]; v7 = gy4[g4 + o7 / 4u];
    }
    for (var j = 0u; j < 4u; j++) {
      var gl: vec4<f32>;
      var gh: vec4<f32>;
      if (vec) {
        gl = vec4<f32>(v0[j], v1[j], v2[j], v3[j]);
        gh = vec4<f32>(v4[j], v5[j], v6[j], v7[j]);
      } else {
        let ox = qd * 4u + j;
        let pok = ox < q.wo;
        let gj = gb + select(0u, ox, pok);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok);
        gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok);
      }
      c0l += gl * b0[j]; c0h += gh * b0[j];
      c1l += gl * b1[j]; c1h += gh * b1[j];
      c2l += gl * b2[j]; c2h += gh * b2[j];
      c3l += gl * b3[j]; c3h += gh * b3[j];
      c4l += gl * b4[j]; c4h += gh * b4[j];
      c5l += gl * b5[j]; c5h += gh * b5[j];
      c6l += gl * b6[j]; c6h += gh * b6[j];
      c7l += gl * b7[j]; c7h += gh * b7[j];
      c8l += gl * b8[j]; c8h += gh * b8[j];
      c9l += gl * b9[j]; c9h += gh * b9[j];
      c10l += gl * b10[j]; c10h += gh * b10[j];
      c11l += gl * b11[j]; c11h += gh * b11[j];
      c12l += gl * b12[j]; c12h += gh * b12[j];
      c13l += gl * b13[j]; c13h += gh * b13[j];
      c14l += gl * b14[j]; c14h += gh * b14[j];
      c15l += gl * b15[j]; c15h += gh * b15[j];
    }
    qd += 1u;
    if (qd == q.quads) { qd = 0u; oy += 1u; }
    if (oy == q.ho) { oy = 0u; nn += 1u; }
  }
  // part[chunk][blk][tb][lane][tap i][channel half] as vec4: the layout wgrad_finish reads with
  // lanes = 8.
  let pb = (((chunk * q.nblk + blk) * q.tblocks + tb) * 8u + lane) * 32u;
  part[pb + 0u] = c0l; part[pb + 1u] = c0h;
  part[pb + 2u] = c1l; part[pb + 3u] = c1h;
  part[pb + 4u] = c2l; part[pb + 5u] = c2h;
  part[pb + 6u] = c3l; part[pb + 7u] = c3h;
  part[pb + 8u] = c4l; part[pb + 9u] = c4h;
  part[pb + 10u] = c5l; part[pb + 11u] = c5h;
  part[pb + 12u] = c6l; part[pb + 13u] = c6h;
  part[pb + 14u] = c7l; part[pb + 15u] = c7h;
  part[pb + 16u] = c8l; part[pb + 17u] = c8h;
  part[pb + 18u] = c9l; part[pb + 19u] = c9h;
  part[pb + 20u] = c10l; part[pb + 21u] = c10h;
  part[pb + 22u] = c11l; part[pb + 23u] = c11h;
  part[pb + 24u] = c12l; part[pb + 25u] = c12h;
  part[pb + 26u] = c13l; part[pb + 27u] = c13h;
  part[pb + 28u] = c14l; part[pb + 29u] = c14h;
  part[pb + 30u] = c15l; part[pb + 31u] = c15h;
}

// Grid: x = pixel chunk, y = 64-channel block (group-major), z = 16-tap block (TB).
@compute @workgroup_size(8)
fn wgrad_sg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_sg_body(wid, sid, false);
}

@compute @workgroup_size(8)
fn wgrad_sg_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_sg_body(wid, sid, true);
}
