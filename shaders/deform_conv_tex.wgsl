// deform_conv_sg.wgsl's one-pass forward with its bilinear samples taken by the texture unit
// (kernel "deform_conv_tex", launcher src/ops/deform_conv/texture.rs), for drivers whose linear
// filter blends in f32 (lavapipe; a GPU's texture unit blends with fixed-point weights, so real
// GPUs keep `direct4`). On lavapipe every storage load with a per-lane index runs lane by lane,
// with a bounds check per element, and `direct4` spends most of its time on the 4 corner loads
// of each channel and sample; the sampler instead fetches a texel's 4 channels at each corner
// with vector gathers and blends them itself. The input is first copied into an rgba32float
// array texture, 4 channels per layer (`to_texture`). A clamp-to-border sampler with a zero
// border gives torchvision's rule: corners outside the image count as 0, and a point with
// y <= -1, y >= H, x <= -1 or x >= W samples 0.

#include "deform_conv_sg.wgsl"

@group(0) @binding(19) var xt: texture_2d_array<f32>;            // x as [N * Cin / 4] layers
@group(0) @binding(20) var xs: sampler;                          // linear, clamp to zero border
@group(0) @binding(21) var xt_out: texture_storage_2d_array<rgba32float, write>;  // = xt
@group(0) @binding(22) var<storage, read> x4: array<vec4<f32>>;  // = x

// Texels (x .. x + 3, y) of layer l, from channels 4 l .. 4 l + 3 of x (w in fours).
@compute @workgroup_size(64)
fn to_texture(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg, 64u);
  let quads = q.w / 4u;
  let hw = q.h * q.w;
  if (i >= q.nb * q.cin / 4u * q.h * quads) { return; }
  let col = i % quads * 4u;
  let row = i / quads % q.h;
  let layer = i / quads / q.h;
  let at = ((layer * 4u) * hw + row * q.w + col) / 4u;
  let c0 = x4[at];
  let c1 = x4[at + hw / 4u];
  let c2 = x4[at + hw / 2u];
  let c3 = x4[at + 3u * hw / 4u];
  let l = i32(layer);
  textureStore(xt_out, vec2<i32>(i32(col), i32(row)), l, vec4<f32>(c0.x, c1.x, c2.x, c3.x));
  textureStore(xt_out, vec2<i32>(i32(col) + 1, i32(row)), l, vec4<f32>(c0.y, c1.y, c2.y, c3.y));
  textureStore(xt_out, vec2<i32>(i32(col) + 2, i32(row)), l, vec4<f32>(c0.z, c1.z, c2.z, c3.z));
  textureStore(xt_out, vec2<i32>(i32(col) + 3, i32(row)), l, vec4<f32>(c0.w, c1.w, c2.w, c3.w));
}

// Channels 4 l .. 4 l + 3 at the points (ys, xs) of positions p .. p + 3, times their masks m,
// as one vec4 over the positions per channel.
struct Quad { c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32> }

fn sample_quad(l: u32, ys: vec4<f32>, xs_: vec4<f32>, m: vec4<f32>) -> Quad {
  let size = vec2<f32>(f32(q.w), f32(q.h));
  let s0 = m.x * textureSampleLevel(xt, xs, (vec2<f32>(xs_.x, ys.x) + 0.5) / size, l, 0.0);
  let s1 = m.y * textureSampleLevel(xt, xs, (vec2<f32>(xs_.y, ys.y) + 0.5) / size, l, 0.0);
  let s2 = m.z * textureSampleLevel(xt, xs, (vec2<f32>(xs_.z, ys.z) + 0.5) / size, l, 0.0);
  let s3 = m.w * textureSampleLevel(xt, xs, (vec2<f32>(xs_.w, ys.w) + 0.5) / size, l, 0.0);
  return Quad(vec4<f32>(s0.x, s1.x, s2.x, s3.x), vec4<f32>(s0.y, s1.y, s2.y, s3.y),
              vec4<f32>(s0.z, s1.z, s2.z, s3.z), vec4<f32>(s0.w, s1.w, s2.w, s3.w));
}

// The layer's four channels (steps wi, wi + kk, ... of the weights) into the pass's output
// channels first .. first + 7, one channel after another.
fn mac_layer(first: u32, lane: u32, ckk: u32, wi: u32, kk: u32, s: Quad,
             a0: ptr<function, vec4<f32>>, a1: ptr<function, vec4<f32>>,
             a2: ptr<function, vec4<f32>>, a3: ptr<function, vec4<f32>>,
             a4: ptr<function, vec4<f32>>, a5: ptr<function, vec4<f32>>,
             a6: ptr<function, vec4<f32>>, a7: ptr<function, vec4<f32>>) {
  mac8(wlane(first, lane, ckk, wi), s.c0, a0, a1, a2, a3, a4, a5, a6, a7);
  mac8(wlane(first, lane, ckk, wi + kk), s.c1, a0, a1, a2, a3, a4, a5, a6, a7);
  mac8(wlane(first, lane, ckk, wi + 2u * kk), s.c2, a0, a1, a2, a3, a4, a5, a6, a7);
  mac8(wlane(first, lane, ckk, wi + 3u * kk), s.c3, a0, a1, a2, a3, a4, a5, a6, a7);
}

// direct4 with texture samples: the same grid, accumulators, weights and store. Needs 4
// channels per offset group (in fours) and per image.
@compute @workgroup_size(8)
fn direct4t(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(subgroup_invocation_id) sid: u32) {
  let lane = sid & 7u;
  let n_raw = 4u * flat(gid, nwg, 8u);
  let live = n_raw < q.nc;
  let n = min(n_raw, q.nc - 4u);
  let np_img = q.hout * q.wout;
  let b = q.b0 + n / q.np;
  let p = q.p0 + n % q.np;
  let kk = q.kh * q.kw;
  let ckk = q.cin * kk;
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
  var omax = vec4<f32>(0.0);
  let at = rows_cols4(p);
  for (var g = 0u; g < q.og; g++) {
    for (var ti = 0u; ti < q.kh; ti++) {
      for (var tj = 0u; tj < q.kw; tj++) {
        let tap = ti * q.kw + tj;
        let ch = g * kk + tap;
        let om = tap_om(b, ch, p);
        omax = max(omax, max(abs(om.dy), abs(om.dx)));
        // Integer base first, then one float add: the same points as bil_point.
        let ys = vec4<f32>(vec4<i32>(at.oy * q.stride + ti * q.dil) - i32(q.pad)) + om.dy;
        let xs_ = vec4<f32>(vec4<i32>(at.ox * q.stride + tj * q.dil) - i32(q.pad)) + om.dx;
        let c0 = g * q.cpg;
        var wi = c0 * kk + tap;
        var layer = (b * q.cin + c0) / 4u;
        for (var c = 0u; c < q.cpg; c += 4u) {
          let s = sample_quad(layer, ys, xs_, om.m);
          // The layer's four channels written out, not as a loop: inside a loop lavapipe
          // blends every accumulator update with the loop's execution mask, here once per
          // accumulator and layer.
          mac_layer(0u, lane, ckk, wi, kk, s, &a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7);
          if (q.on > 8u) {
            mac_layer(8u, lane, ckk, wi, kk, s, &a8, &a9, &a10, &a11, &a12, &a13, &a14, &a15);
          }
          if (q.on > 16u) {
            mac_layer(16u, lane, ckk, wi, kk, s, &a16, &a17, &a18, &a19, &a20, &a21, &a22, &a23);
          }
          if (q.on > 24u) {
            mac_layer(24u, lane, ckk, wi, kk, s, &a24, &a25, &a26, &a27, &a28, &a29, &a30, &a31);
          }
          wi += 4u * kk;
          layer += 1u;
        }
      }
    }
  }
  if (q.off_slot != NO_SLOT) {
    let mx = subgroupMax(max(max(omax.x, omax.y), max(omax.z, omax.w)));
    if (lane == 0u) { atomicMax(&offmax[q.off_slot], bitcast<u32>(mx)); }
  }
  if (!live) { return; }
  put32((b * q.cout + q.o0) * np_img + p, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
        a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30,
        a31);
}
