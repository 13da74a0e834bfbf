// deform_conv_mm.wgsl for devices with subgroups of >= 8 lanes (kernel "deform_conv_mm_sg",
// src/ops/deform_conv/launch.rs): lane i of the workgroup's 8 loads row i's A value of a k step
// and subgroupBroadcast hands the eight to every lane. All lanes need the same values, and on
// lavapipe a load with a computed index runs lane by lane, so this is one scalar load per step
// instead of eight.

#include "deform_conv_mm.wgsl"
#include "broadcast8.wgsl"

// This lane's row offset into `a` (rows past the end clamped).
struct ARows {
    lane: u32,
}

fn a_rows(t: Tile, sid: u32) -> ARows {
    return ARows(a_row(t, sid & 7u));
}

fn a8(r: ARows, ak: u32) -> A8 {
    let l = broadcast8(a[r.lane + ak]);
    return A8(l.lo, l.hi);
}

// Any strides, scalar loads.
@compute @workgroup_size(8)
fn mm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
      @builtin(subgroup_invocation_id) sid: u32) {
    mm_tile(wg, lid, sid, false);
}

// B contiguous along n, 4-aligned (the launcher checks): two vector loads of B per k.
@compute @workgroup_size(8)
fn mm_nn4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
          @builtin(subgroup_invocation_id) sid: u32) {
    mm_tile(wg, lid, sid, true);
}
