// conv2d.wgsl for devices without subgroups (kernel "conv2d", src/ops/conv2d/gather.rs):
// gather8 loading its 8 weights per step as two vec4.

#include "conv2d.wgsl"

// Invocations per workgroup of gather1/gather8 (one pixel block each): 64 fills the warps of
// real GPUs.
const GWG: u32 = 64u;

// Packed weights only (wmode 0).
fn w8_lane(blk: u32, sid: u32) -> WLane {
  return WLane(0u, 0u, false);
}

fn w8(wi: u32, wj: u32, ok: bool, sid: u32) -> W8 {
  return W8(wp[wi], wp[wi + 1u]);
}

@compute @workgroup_size(GWG)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  gather8_body(wid, lid, nwg, 0u);
}
