// deform_conv.wgsl for devices with 8-lane subgroups (kernel "deform_conv_sg", launcher
// src/ops/deform_conv/direct.rs): `direct4`, the whole forward in one pass, for inference-sized
// launches. The im2col + matmul forward writes Cin*kh*kw columns per position and reads them
// back; on lavapipe every store and load with a computed index runs lane by lane, so those
// column passes cost about as much as the sampling itself. Here each lane keeps 4 consecutive
// positions x up to 32 output channels in registers and multiplies each bilinear sample into
// them as soon as it is taken. Lane l loads weight (o0 + l) of the step and subgroupBroadcast
// hands it to the others (one lane-serial load per 8 weights instead of 8).
// Needs subgroups of 8 lanes and one weight group (groups = 1); any number of offset groups.

#include "deform_conv.wgsl"

const NO_SLOT: u32 = 0xffffffffu;

@group(0) @binding(14) var<storage, read> wgt: array<f32>;              // [Cout, Cin, kh, kw]
@group(0) @binding(15) var<storage, read> bias: array<f32>;             // [Cout] if has_bias
@group(0) @binding(16) var<storage, read_write> y4: array<vec4<f32>>;   // [N, Cout, Hout, Wout]
// max |offset| as f32 bits (for non-negative floats the u32 order is the float order).
@group(0) @binding(17) var<storage, read_write> offmax: array<atomic<u32>>;
@group(0) @binding(18) var<storage, read> add4: array<vec4<f32>>;      // y's shape if has_add

// Weight (o0 + first + lane, step wi) of this pass; 0 past its `on` channels.
fn wlane(first: u32, lane: u32, ckk: u32, wi: u32) -> f32 {
  let o = first + lane;
  return select(0.0, wgt[min(q.o0 + o, q.cout - 1u) * ckk + wi], o < q.on);
}

// a_j += w_j * v for the 8 output channels whose weights the lanes hold (lane j: w_j).
fn mac8(w: f32, v: vec4<f32>, a0: ptr<function, vec4<f32>>, a1: ptr<function, vec4<f32>>,
        a2: ptr<function, vec4<f32>>, a3: ptr<function, vec4<f32>>, a4: ptr<function, vec4<f32>>,
        a5: ptr<function, vec4<f32>>, a6: ptr<function, vec4<f32>>, a7: ptr<function, vec4<f32>>) {
  *a0 += subgroupBroadcast(w, 0u) * v;
  *a1 += subgroupBroadcast(w, 1u) * v;
  *a2 += subgroupBroadcast(w, 2u) * v;
  *a3 += subgroupBroadcast(w, 3u) * v;
  *a4 += subgroupBroadcast(w, 4u) * v;
  *a5 += subgroupBroadcast(w, 5u) * v;
  *a6 += subgroupBroadcast(w, 6u) * v;
  *a7 += subgroupBroadcast(w, 7u) * v;
}

// The grid has exactly one lane per 4 positions (a multiple of 8), so every lane of a subgroup
// takes part in the broadcasts; out-of-range lanes compute on clamped indices and store nothing.
@compute @workgroup_size(8)
fn direct4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(subgroup_invocation_id) sid: u32) {
  let lane = sid & 7u;
  let n_raw = 4u * flat(gid, nwg, 8u);
  let live = n_raw < q.nc;
  let n = min(n_raw, q.nc - 4u);
  let np_img = q.hout * q.wout;
  let b = q.b0 + n / q.np;
  let p = q.p0 + n % q.np;
  let kk = q.kh * q.kw;
  let hw = q.h * q.w;
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
    // Taps as (row, column) loops: no division per tap (see rows_cols4).
    for (var ti = 0u; ti < q.kh; ti++) {
      for (var tj = 0u; tj < q.kw; tj++) {
        let tap = ti * q.kw + tj;
        let ch = g * kk + tap;
        let om = tap_om(b, ch, p);
        omax = max(omax, max(abs(om.dy), abs(om.dx)));
        let bs = bil_point4_at(at, ti, tj, om.dy, om.dx, om.m);
        let c0 = g * q.cpg;
        var plane = (b * q.cin + c0) * hw;
        var wi = c0 * kk + tap;
        for (var c = 0u; c < q.cpg; c++) {
          let v = bil_sample4(bs, plane);
          let w0 = wlane(0u, lane, ckk, wi);
          mac8(w0, v, &a0, &a1, &a2, &a3, &a4, &a5, &a6, &a7);
          if (q.on > 8u) {
            let w1 = wlane(8u, lane, ckk, wi);
            mac8(w1, v, &a8, &a9, &a10, &a11, &a12, &a13, &a14, &a15);
          }
          if (q.on > 16u) {
            let w2 = wlane(16u, lane, ckk, wi);
            mac8(w2, v, &a16, &a17, &a18, &a19, &a20, &a21, &a22, &a23);
          }
          if (q.on > 24u) {
            let w3 = wlane(24u, lane, ckk, wi);
            mac8(w3, v, &a24, &a25, &a26, &a27, &a28, &a29, &a30, &a31);
          }
          plane += hw;
          wi += kk;
        }
      }
    }
  }
  if (q.off_slot != NO_SLOT) {
    // Clamped lanes repeat the last positions, which leaves the maximum unchanged.
    let m = subgroupMax(max(max(omax.x, omax.y), max(omax.z, omax.w)));
    if (lane == 0u) { atomicMax(&offmax[q.off_slot], bitcast<u32>(m)); }
  }
  if (!live) { return; }
  put32((b * q.cout + q.o0) * np_img + p, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
        a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30,
        a31);
}

// The offsets (dy, dx) and mask values of positions p .. p + 3 at offset channel ch (group x
// taps + tap) of image b, read from the predictor output's rows this launch holds.
struct TapOM { dy: vec4<f32>, dx: vec4<f32>, m: vec4<f32> }

fn tap_om(b: u32, ch: u32, p: u32) -> TapOM {
  let oi = (b * q.off_cs + 2u * ch) * q.om_np + p - q.om_p0;
  var r: TapOM;
  r.dy = offset4[oi / 4u];
  r.dx = offset4[(oi + q.om_np) / 4u];
  r.m = vec4<f32>(1.0);
  if (q.has_mask != 0u) {
    r.m = mask4[((b * q.mask_cs + q.mask_c0 + ch) * q.om_np + p - q.om_p0) / 4u];
    if (q.mask_logits != 0u) {
      r.m = vec4<f32>(logistic(r.m.x), logistic(r.m.y), logistic(r.m.z), logistic(r.m.w));
    }
  }
  return r;
}

// The pass's output channels o0 .. o0 + on at positions base .. base + 3 of their planes.
fn put32(base: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, a4: vec4<f32>,
         a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>, a8: vec4<f32>, a9: vec4<f32>,
         a10: vec4<f32>, a11: vec4<f32>, a12: vec4<f32>, a13: vec4<f32>, a14: vec4<f32>,
         a15: vec4<f32>, a16: vec4<f32>, a17: vec4<f32>, a18: vec4<f32>, a19: vec4<f32>,
         a20: vec4<f32>, a21: vec4<f32>, a22: vec4<f32>, a23: vec4<f32>, a24: vec4<f32>,
         a25: vec4<f32>, a26: vec4<f32>, a27: vec4<f32>, a28: vec4<f32>, a29: vec4<f32>,
         a30: vec4<f32>, a31: vec4<f32>) {
  put_out(base, 0u, a0);
  put_out(base, 1u, a1);
  put_out(base, 2u, a2);
  put_out(base, 3u, a3);
  put_out(base, 4u, a4);
  put_out(base, 5u, a5);
  put_out(base, 6u, a6);
  put_out(base, 7u, a7);
  if (q.on > 8u) {
    put_out(base, 8u, a8);
    put_out(base, 9u, a9);
    put_out(base, 10u, a10);
    put_out(base, 11u, a11);
    put_out(base, 12u, a12);
    put_out(base, 13u, a13);
    put_out(base, 14u, a14);
    put_out(base, 15u, a15);
  }
  if (q.on > 16u) {
    put_out(base, 16u, a16);
    put_out(base, 17u, a17);
    put_out(base, 18u, a18);
    put_out(base, 19u, a19);
    put_out(base, 20u, a20);
    put_out(base, 21u, a21);
    put_out(base, 22u, a22);
    put_out(base, 23u, a23);
  }
  if (q.on > 24u) {
    put_out(base, 24u, a24);
    put_out(base, 25u, a25);
    put_out(base, 26u, a26);
    put_out(base, 27u, a27);
    put_out(base, 28u, a28);
    put_out(base, 29u, a29);
    put_out(base, 30u, a30);
    put_out(base, 31u, a31);
  }
}

// The addend comes last, as an Add op after the conv would add it (a + b == b + a in floats).
fn put_out(base: u32, o: u32, a: vec4<f32>) {
  if (o >= q.on) { return; }
  var v = a;
  if (q.has_bias != 0u) { v += vec4<f32>(bias[q.o0 + o]); }
  let i = (base + o * (q.hout * q.wout)) / 4u;
  if (q.has_add != 0u) { v += add4[i]; }
  y4[i] = v;
}
