// conv2d_wgrad.wgsl for devices with subgroups of at least 8 lanes (kernel "conv2d_wgrad_sg",
// src/ops/conv2d/wgrad.rs): the weight gradient, chosen there from 10 output channels per group.
//
// A workgroup is one subgroup of 8 lanes that walk the same output pixels of one chunk: lane l
// owns 8 output channels (cb + 8 l .. cb + 8 l + 7, so a workgroup covers 64) x the workgroup's
// TB = 16 taps. Per quad of 4 output pixels a lane loads its 8 channels of gy (8 vec4 when
// wo % 4 == 0) and x at its own two taps only (8 scalars), and gets the other 14 taps' x from its
// neighbours with subgroupBroadcast. On lavapipe each non-constant-index load runs lane by lane,
// so this is 16 loads per 512 FMAs per lane instead of 72 in wgrad8: every x value is loaded once
// per subgroup instead of once per lane. Measured alternatives: 8 taps per workgroup 1.7x
// slower, 24 the same, 32 slower; a loop over the 4 pixels indexing vector components by the
// loop variable (instead of the unrolled code below) 1.6x slower. Each lane writes its 8 x 16
// sums for the chunk straight to `part` (no workgroup memory); wgrad_finish adds the chunks in
// order.
//
// wgrad8 (small channel groups) gets 8 lanes per workgroup here: a small problem's few pixel
// quads then spread over more workgroups instead of leaving most of 64 lanes idle.

#include "conv2d_wgrad.wgsl"

const WL: u32 = 8u;

// `half`: 4 channels per lane (32 per workgroup) for groups of 10-32 output channels, where a
// 64-channel block would be mostly padding; the upper 4 channels' loads and FMAs are compiled
// out, and wgrad_finish reads the lower 4 of each lane's 8 slots (q.cpl = 4).
fn wgrad_sg_body(wid: vec3<u32>, sid: u32, vec: bool, half: bool) {
  let chunk = wid.x;
  let blk = wid.y;
  let tb = wid.z;
  let howo = q.ho * q.wo;
  let g = blk / q.blocks_g;
  let lane = sid & 7u;
  let cpl = select(8u, 4u, half);
  let cb = q.o0 + (blk % q.blocks_g) * 8u * cpl + lane * cpl;
  // Channel offsets, clamped into the launch's channels: the duplicates of padding channels are
  // discarded.
  let cl = g * q.cout_g;
  let ch = q.o0 + q.on - 1u;
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
      if (!half) {
        v4 = gy4[g4 + o4 / 4u]; v5 = gy4[g4 + o5 / 4u]; v6 = gy4[g4 + o6 / 4u]; v7 = gy4[g4 + o7 / 4u];
      }
    }
    // Pixels j = 0..3 unrolled, so every vector component index is a constant.
    let pok = vec4<bool>(qd * 4u < q.wo, qd * 4u + 1u < q.wo, qd * 4u + 2u < q.wo, qd * 4u + 3u < q.wo);
    {
      var gl = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
      var gh = vec4<f32>(v4.x, v5.x, v6.x, v7.x);
      if (!vec) {
        let gj = gb + select(0u, qd * 4u + 0u, pok.x);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok.x);
        if (!half) {
          gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok.x);
        }
      }
      c0l += gl * b0.x;
      c1l += gl * b1.x;
      c2l += gl * b2.x;
      c3l += gl * b3.x;
      c4l += gl * b4.x;
      c5l += gl * b5.x;
      c6l += gl * b6.x;
      c7l += gl * b7.x;
      c8l += gl * b8.x;
      c9l += gl * b9.x;
      c10l += gl * b10.x;
      c11l += gl * b11.x;
      c12l += gl * b12.x;
      c13l += gl * b13.x;
      c14l += gl * b14.x;
      c15l += gl * b15.x;
      if (!half) {
        c0h += gh * b0.x;
        c1h += gh * b1.x;
        c2h += gh * b2.x;
        c3h += gh * b3.x;
        c4h += gh * b4.x;
        c5h += gh * b5.x;
        c6h += gh * b6.x;
        c7h += gh * b7.x;
        c8h += gh * b8.x;
        c9h += gh * b9.x;
        c10h += gh * b10.x;
        c11h += gh * b11.x;
        c12h += gh * b12.x;
        c13h += gh * b13.x;
        c14h += gh * b14.x;
        c15h += gh * b15.x;
      }
    }
    {
      var gl = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
      var gh = vec4<f32>(v4.y, v5.y, v6.y, v7.y);
      if (!vec) {
        let gj = gb + select(0u, qd * 4u + 1u, pok.y);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok.y);
        if (!half) {
          gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok.y);
        }
      }
      c0l += gl * b0.y;
      c1l += gl * b1.y;
      c2l += gl * b2.y;
      c3l += gl * b3.y;
      c4l += gl * b4.y;
      c5l += gl * b5.y;
      c6l += gl * b6.y;
      c7l += gl * b7.y;
      c8l += gl * b8.y;
      c9l += gl * b9.y;
      c10l += gl * b10.y;
      c11l += gl * b11.y;
      c12l += gl * b12.y;
      c13l += gl * b13.y;
      c14l += gl * b14.y;
      c15l += gl * b15.y;
      if (!half) {
        c0h += gh * b0.y;
        c1h += gh * b1.y;
        c2h += gh * b2.y;
        c3h += gh * b3.y;
        c4h += gh * b4.y;
        c5h += gh * b5.y;
        c6h += gh * b6.y;
        c7h += gh * b7.y;
        c8h += gh * b8.y;
        c9h += gh * b9.y;
        c10h += gh * b10.y;
        c11h += gh * b11.y;
        c12h += gh * b12.y;
        c13h += gh * b13.y;
        c14h += gh * b14.y;
        c15h += gh * b15.y;
      }
    }
    {
      var gl = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
      var gh = vec4<f32>(v4.z, v5.z, v6.z, v7.z);
      if (!vec) {
        let gj = gb + select(0u, qd * 4u + 2u, pok.z);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok.z);
        if (!half) {
          gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok.z);
        }
      }
      c0l += gl * b0.z;
      c1l += gl * b1.z;
      c2l += gl * b2.z;
      c3l += gl * b3.z;
      c4l += gl * b4.z;
      c5l += gl * b5.z;
      c6l += gl * b6.z;
      c7l += gl * b7.z;
      c8l += gl * b8.z;
      c9l += gl * b9.z;
      c10l += gl * b10.z;
      c11l += gl * b11.z;
      c12l += gl * b12.z;
      c13l += gl * b13.z;
      c14l += gl * b14.z;
      c15l += gl * b15.z;
      if (!half) {
        c0h += gh * b0.z;
        c1h += gh * b1.z;
        c2h += gh * b2.z;
        c3h += gh * b3.z;
        c4h += gh * b4.z;
        c5h += gh * b5.z;
        c6h += gh * b6.z;
        c7h += gh * b7.z;
        c8h += gh * b8.z;
        c9h += gh * b9.z;
        c10h += gh * b10.z;
        c11h += gh * b11.z;
        c12h += gh * b12.z;
        c13h += gh * b13.z;
        c14h += gh * b14.z;
        c15h += gh * b15.z;
      }
    }
    {
      var gl = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
      var gh = vec4<f32>(v4.w, v5.w, v6.w, v7.w);
      if (!vec) {
        let gj = gb + select(0u, qd * 4u + 3u, pok.w);
        gl = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o0], gy[gj + o1], gy[gj + o2], gy[gj + o3]), pok.w);
        if (!half) {
          gh = select(vec4<f32>(0.0), vec4<f32>(gy[gj + o4], gy[gj + o5], gy[gj + o6], gy[gj + o7]), pok.w);
        }
      }
      c0l += gl * b0.w;
      c1l += gl * b1.w;
      c2l += gl * b2.w;
      c3l += gl * b3.w;
      c4l += gl * b4.w;
      c5l += gl * b5.w;
      c6l += gl * b6.w;
      c7l += gl * b7.w;
      c8l += gl * b8.w;
      c9l += gl * b9.w;
      c10l += gl * b10.w;
      c11l += gl * b11.w;
      c12l += gl * b12.w;
      c13l += gl * b13.w;
      c14l += gl * b14.w;
      c15l += gl * b15.w;
      if (!half) {
        c0h += gh * b0.w;
        c1h += gh * b1.w;
        c2h += gh * b2.w;
        c3h += gh * b3.w;
        c4h += gh * b4.w;
        c5h += gh * b5.w;
        c6h += gh * b6.w;
        c7h += gh * b7.w;
        c8h += gh * b8.w;
        c9h += gh * b9.w;
        c10h += gh * b10.w;
        c11h += gh * b11.w;
        c12h += gh * b12.w;
        c13h += gh * b13.w;
        c14h += gh * b14.w;
        c15h += gh * b15.w;
      }
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
  wgrad_sg_body(wid, sid, false, false);
}

@compute @workgroup_size(8)
fn wgrad_sg_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_sg_body(wid, sid, true, false);
}

@compute @workgroup_size(8)
fn wgrad_sg32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_sg_body(wid, sid, false, true);
}

@compute @workgroup_size(8)
fn wgrad_sg32_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_sg_body(wid, sid, true, true);
}

// Depthwise weight gradient (one input and one output channel per group), stride 1, dilation
// 1 or 2, 3 or 5 taps per row, where wgrad8 would waste 7 of its 8 channels and most of its 16
// taps. Grid: x = chunk of output-pixel blocks, y = channel, z = kernel row ky. Each lane walks
// blocks of 8 output pixels of one row (items: (n, oy, block), `quads` = blocks per row): it
// loads their 8 gy values and the 8 source values of tap kx = 0, and for each further tap
// shifts the source values by `dil` through registers, loading only the new ones (as
// gather1s_body in conv2d_sg.wgsl); one dot product per tap. The 8 lanes' sums are added with
// subgroupAdd, and part[chunk][channel][ky] (two vec4: the kw <= 5 taps) is summed over chunks
// in order by wgrad_dw_finish.
fn wgrad_dw_body(wid: vec3<u32>, sid: u32, kw5: bool, dil2: bool) {
  let lane = sid & 7u;
  let chunk = wid.x;
  let c = wid.y;
  let ky = wid.z;
  let d = select(1, 2, dil2);
  let cols_b = q.quads;
  let hw = q.h * q.w;
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0; var s4 = 0.0;
  let it0 = chunk * q.ipc + lane;
  let end = min((chunk + 1u) * q.ipc, q.items);
  // Item it = (nn * ho + oy) * cols_b + bx, advanced by 8 per step without dividing in the loop.
  var bx = it0 % cols_b;
  var oy = (it0 / cols_b) % q.ho;
  var nn = it0 / (cols_b * q.ho);
  let dq = 8u % cols_b;
  let drow = 8u / cols_b;
  for (var it = it0; it < end; it += 8u) {
    let b0 = bx * 8u;
    let gb = ((nn * q.cout + c) * q.ho + oy) * q.wo;
    let gl = vec4<f32>(gv(gb, b0), gv(gb, b0 + 1u), gv(gb, b0 + 2u), gv(gb, b0 + 3u));
    let gh = vec4<f32>(gv(gb, b0 + 4u), gv(gb, b0 + 5u), gv(gb, b0 + 6u), gv(gb, b0 + 7u));
    let iy = i32(oy) - i32(q.pad) + i32(ky) * d;
    let row = select(-1, i32((nn * q.cin + c) * hw) + iy * i32(q.w), iy >= 0 && iy < i32(q.h));
    let sx = i32(b0) - i32(q.pad);
    var x0 = xv(row, 0, sx);     var x1 = xv(row, 1, sx);
    var x2 = xv(row, 2, sx);     var x3 = xv(row, 3, sx);
    var x4 = xv(row, 4, sx);     var x5 = xv(row, 5, sx);
    var x6 = xv(row, 6, sx);     var x7 = xv(row, 7, sx);
    var nx = 8;
    s0 += dot(gl, vec4<f32>(x0, x1, x2, x3)) + dot(gh, vec4<f32>(x4, x5, x6, x7));
    for (var k = 1u; k < select(3u, 5u, kw5); k++) {
      if (dil2) {
        x0 = x2; x1 = x3; x2 = x4; x3 = x5; x4 = x6; x5 = x7;
        x6 = xv(row, nx, sx); x7 = xv(row, nx + 1, sx);
        nx += 2;
      } else {
        x0 = x1; x1 = x2; x2 = x3; x3 = x4; x4 = x5; x5 = x6; x6 = x7;
        x7 = xv(row, nx, sx);
        nx += 1;
      }
      let t = dot(gl, vec4<f32>(x0, x1, x2, x3)) + dot(gh, vec4<f32>(x4, x5, x6, x7));
      // The tap's sum, by constant register (k runs 1..kw-1; unrolled by the compiler).
      s1 += select(0.0, t, k == 1u);
      s2 += select(0.0, t, k == 2u);
      s3 += select(0.0, t, k == 3u);
      s4 += select(0.0, t, k == 4u);
    }
    bx += dq;
    oy += drow;
    if (bx >= cols_b) { bx -= cols_b; oy += 1u; }
    while (oy >= q.ho) { oy -= q.ho; nn += 1u; }
  }
  let t0 = subgroupAdd(s0);
  let t1 = subgroupAdd(s1);
  let t2 = subgroupAdd(s2);
  let t3 = subgroupAdd(s3);
  let t4 = subgroupAdd(s4);
  if (lane == 0u) {
    let pb = ((chunk * q.cout + c) * q.kh + ky) * 2u;
    part[pb] = vec4<f32>(t0, t1, t2, t3);
    part[pb + 1u] = vec4<f32>(t4, 0.0, 0.0, 0.0);
  }
}

// gy at pixel b of the output row starting at gb, or 0 past the row's end.
fn gv(gb: u32, b: u32) -> f32 {
  let ok = b < q.wo;
  return select(0.0, gy[gb + select(0u, b, ok)], ok);
}

@compute @workgroup_size(8)
fn wgrad_dw3(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_dw_body(wid, sid, false, false);
}

@compute @workgroup_size(8)
fn wgrad_dw3_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_dw_body(wid, sid, false, true);
}

@compute @workgroup_size(8)
fn wgrad_dw5(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_dw_body(wid, sid, true, false);
}

@compute @workgroup_size(8)
fn wgrad_dw5_d2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  wgrad_dw_body(wid, sid, true, true);
}

// dw [channels, 1, kh, kw] from wgrad_dw's partial sums, added in chunk order.
@compute @workgroup_size(256)
fn wgrad_dw_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = flat(gid, nwg, 256u);
  if (e >= q.total) { return; }
  let kk = q.kh * q.kw;
  let c = e / kk;
  let ky = (e % kk) / q.kw;
  let kx = e % q.kw;
  let stride = q.cout * q.kh * 8u;
  let inner = (c * q.kh + ky) * 8u + kx;
  var s = 0.0;
  for (var ch = 0u; ch < q.chunks; ch++) { s += part_in[ch * stride + inner]; }
  out[e] = s;
}
