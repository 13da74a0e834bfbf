// conv2d.wgsl for devices with 8-lane subgroups (kernel "conv2d_sg", src/ops/conv2d/gather.rs):
// gather8 with the 8 weights of a step loaded by one scalar load per lane (lane i of each 8
// loads weight i) and handed to every lane with subgroupBroadcast. All lanes use the same
// weights, and on lavapipe each non-constant-index load runs lane by lane, so this turns two
// vec4 loads into one scalar load (~17 % faster there).
// Also the kernels that exist only in this family, one family per included file at the end:
// the row-window gathers gather8s* (conv2d_sg_window8.wgsl) and gather16w*
// (conv2d_sg_window16.wgsl), the wide gathers whose lanes share source values, gather56/64
// (conv2d_sg_wide.wgsl) and gather16/32 (conv2d_sg_narrow.wgsl), and the sliding gathers
// gather1s* (stride-1 3x3 / 5x5 with one destination channel, conv2d_sg_sliding.wgsl).
// Needs subgroups of at least 8 lanes.

#include "conv2d.wgsl"
#include "broadcast8.wgsl"

// Invocations per workgroup of gather1/gather8 (one pixel block each): one 8-lane subgroup, so
// a small problem's pixel blocks are not padded to 64 (a 24x24 image has 72 blocks: 128 lanes
// at 64, 72 at 8) and spread over more workgroups (measured: forward of [2,4,24,24] 3x3 2.4x
// faster on lavapipe, no loss at [8,64,64,64]).
const GWG: u32 = 8u;

// Weights in their own layout (wp1 = the [cout, cin / groups, kh, kw] weight, no packing
// pass: each lane loads one scalar per step wherever it lies): wmode 1 for the forward pass
// (lane's channel = output channel, reduction = input channel), 2 for the input gradient
// (lane's channel = input channel, reduction = output channel).
fn w8_lane(blk: u32, sid: u32) -> WLane {
  let g = blk / p.blocks_g;
  let o = (blk % p.blocks_g) * 8u + (sid & 7u);
  let kk = p.kh * p.kw;
  let ok = o < p.og;
  let oc = min(o, p.og - 1u);
  if (p.wmode == 1u) { return WLane(((g * p.og + oc) * p.red) * kk, kk, ok); }
  return WLane((g * p.red * p.og + oc) * kk, p.og * kk, ok);
}

fn w8(wi: u32, wj: u32, ok: bool, sid: u32) -> W8 {
  let l = broadcast8(select(0.0, wp1[wj], ok));
  return W8(l.lo, l.hi);
}

@compute @workgroup_size(GWG)
fn gather8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  gather8_body(wid, lid, nwg, sid);
}

#include "conv2d_sg_window8.wgsl"
#include "conv2d_sg_wide.wgsl"
#include "conv2d_sg_window16.wgsl"
#include "conv2d_sg_narrow.wgsl"
#include "conv2d_sg_sliding.wgsl"
