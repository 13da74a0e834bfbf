// conv2d_gemm.wgsl for devices with subgroups of >= 8 lanes (kernel "conv2d_gemm_sg",
// src/ops/conv2d/gemm.rs): a k step's eight A values are loaded by one scalar load per lane
// (lane i of each 8 loads row i, any strides, a_mode 0) and handed to every lane with
// subgroupBroadcast. Every lane of a workgroup uses the same rows, and on lavapipe a load with
// a computed index runs lane by lane, so this replaces two vec4 loads (or eight scalars) by one
// scalar load, and image-sized forwards need no packing pass.

#include "conv2d_gemm.wgsl"
#include "broadcast8.wgsl"

// A's rows m0..m0+7 at step k (`*ai` points at row m0), then `*ai` moved to step k + 1.
fn a_step(ai: ptr<function, u32>, rows: u32, sid: u32) -> Row8 {
  let l = broadcast8(a_at(*ai, sid & 7u, rows));
  *ai = *ai + p.a_sk;
  return Row8(l.lo, l.hi);
}

// Grid: x/z = folded (batch, group, column chunk), y = row block of 8.
@compute @workgroup_size(64)
fn gemm_v4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  body(wid, lid, nwg, sid, true);
}

@compute @workgroup_size(64)
fn gemm_s(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  body(wid, lid, nwg, sid, false);
}
