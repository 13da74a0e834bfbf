// deform_conv_mm.wgsl for devices without subgroups (kernel "deform_conv_mm",
// src/ops/deform_conv/launch.rs): every lane loads a k step's eight A values itself.

#include "deform_conv_mm.wgsl"

// The eight rows' offsets into `a` (rows past the end clamped).
struct ARows {
    r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, r6: u32, r7: u32,
}

fn a_rows(t: Tile, sid: u32) -> ARows {
    return ARows(a_row(t, 0u), a_row(t, 1u), a_row(t, 2u), a_row(t, 3u),
                 a_row(t, 4u), a_row(t, 5u), a_row(t, 6u), a_row(t, 7u));
}

fn a8(r: ARows, ak: u32) -> A8 {
    return A8(vec4<f32>(a[r.r0 + ak], a[r.r1 + ak], a[r.r2 + ak], a[r.r3 + ak]),
              vec4<f32>(a[r.r4 + ak], a[r.r5 + ak], a[r.r6 + ak], a[r.r7 + ak]));
}

// Any strides, scalar loads.
@compute @workgroup_size(8)
fn mm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    mm_tile(wg, lid, 0u, false);
}

// B contiguous along n, 4-aligned (the launcher checks): two vector loads of B per k.
@compute @workgroup_size(8)
fn mm_nn4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    mm_tile(wg, lid, 0u, true);
}
